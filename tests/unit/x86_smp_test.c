/* SPDX-License-Identifier: MIT */
/*
 * x86_smp_test — locked instructions are atomic across interpreter CPUs running in parallel
 * threads on one guest RAM (emu/x86/lock.c). Three CPUs in long mode run the same loop: lock inc,
 * lock xadd (each CPU sums the values it got back), cmpxchg, cmpxchg8b and cmpxchg16b increment
 * loops, lock add and lock inc on neighbouring fields of one 8-byte word, a lock inc that crosses
 * an 8-byte boundary, a lock inc split across two pages (the bus-lock path), lock dec, and two
 * spinlocks (lock bts / lock btr, and xchg) each guarding a plain increment. Every total must be
 * exact. Without atomic locked instructions the counts come out short (checked by hand: this
 * test fails when the decoder does not route them to lock.c).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/unit/x86_test_util.h"

#define NCPU 3
#define ITERS 100000u
#define CODE 0x8000ull
#define DATA 0x100000ull	/* %rbp: the shared counters */
#define STACKS 0x70000ull
#define MAX_INSNS 1000000000ull	/* per CPU: a lock that is never released ends the test, not a hang */

extern const uint8_t smp_loop_start[], smp_loop_end[];

__asm__(".pushsection .rodata\n"
	"smp_loop_start:\n"
	"1:	lock incq (%rbp)\n"
	"	mov $1, %eax\n"
	"	lock xaddq %rax, 8(%rbp)\n"
	"	add %rax, %r8\n"
	"2:	mov 16(%rbp), %rax\n"
	"	lea 1(%rax), %rdx\n"
	"	lock cmpxchgq %rdx, 16(%rbp)\n"
	"	jnz 2b\n"
	"	lock addl $3, 24(%rbp)\n"
	"	lock incw 30(%rbp)\n"
	"3:	lock btsq $0, 32(%rbp)\n"
	"	jc 3b\n"
	"	incq 40(%rbp)\n"
	"	lock btrq $0, 32(%rbp)\n"
	"4:	mov $1, %eax\n"
	"	xchg %eax, 48(%rbp)\n"
	"	test %eax, %eax\n"
	"	jnz 4b\n"
	"	incq 56(%rbp)\n"
	"	movl $0, 48(%rbp)\n"
	"6:	mov 64(%rbp), %eax\n"
	"	mov 68(%rbp), %edx\n"
	"	mov %eax, %ebx\n"
	"	mov %edx, %ecx\n"
	"	add $1, %ebx\n"
	"	adc $0, %ecx\n"
	"	lock cmpxchg8b 64(%rbp)\n"
	"	jnz 6b\n"
	"7:	mov 80(%rbp), %rax\n"
	"	mov 88(%rbp), %rdx\n"
	"	mov %rax, %rbx\n"
	"	mov %rdx, %rcx\n"
	"	add $1, %rbx\n"
	"	adc $0, %rcx\n"
	"	lock cmpxchg16b 80(%rbp)\n"
	"	jnz 7b\n"
	"	lock incl 102(%rbp)\n"
	"	lock incl 0xffe(%rbp)\n"
	"	lock decq 128(%rbp)\n"
	"	dec %r15\n"
	"	jnz 1b\n"
	"	hlt\n"
	"smp_loop_end:\n"
	".popsection\n");

struct smp_cpu {
	struct x86_cpu *cpu;
	pthread_barrier_t *start;
	pthread_t thread;
	int result;
};

static void *cpu_thread(void *arg)
{
	struct smp_cpu *s = arg;
	uint64_t start = s->cpu->icount;
	pthread_barrier_wait(s->start);	/* all run at once: as much overlap as the host gives */
	do
		s->result = (int)x86_cpu_run(s->cpu, 1000000);
	while (s->result == X86_RUN_BUDGET && s->cpu->icount - start < MAX_INSNS);
	return NULL;
}

static uint64_t r64(const struct xt *t, uint64_t a)
{
	uint64_t v;
	memcpy(&v, t->ram + a, 8);
	return v;
}

/* A second CPU on the first one's RAM and bus, in the same long-mode state. */
static void add_cpu(struct xt *t, const struct x86_bus *bus, struct smp_cpu *s, unsigned i)
{
	struct xt view = *t;
	assert_int_equal(x86_cpu_create(bus, &view.cpu), 0);
	view.cpu->log = NULL;
	xt_long_mode(&view);
	view.cpu->rip = CODE;
	view.cpu->r[X86_RSP] = STACKS + i * 0x1000;
	view.cpu->r[X86_RBP] = DATA;
	view.cpu->r[15] = ITERS;
	x86_state_changed(view.cpu);
	s->cpu = view.cpu;
}

static void test_locked_counters(void **state)
{
	pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_barrier_t start;
	struct smp_cpu cpus[NCPU];
	struct x86_bus bus;
	struct xt t;
	uint64_t total = (uint64_t)NCPU * ITERS, xadd_sum = 0;
	uint16_t w16;
	uint32_t w32;
	(void)state;
	assert_int_equal(xt_init(&t, 4 << 20), 0);
	memcpy(t.ram + CODE, smp_loop_start, (size_t)(smp_loop_end - smp_loop_start));
	bus = t.cpu->bus;
	bus.bus_lock = &bus_lock;
	assert_int_equal(pthread_barrier_init(&start, NULL, NCPU), 0);
	for (unsigned i = 0; i < NCPU; i++) {
		add_cpu(&t, &bus, &cpus[i], i);
		cpus[i].start = &start;
	}
	for (unsigned i = 0; i < NCPU; i++)
		assert_int_equal(pthread_create(&cpus[i].thread, NULL, cpu_thread, &cpus[i]), 0);
	for (unsigned i = 0; i < NCPU; i++)
		pthread_join(cpus[i].thread, NULL);
	for (unsigned i = 0; i < NCPU; i++) {
		assert_int_equal(cpus[i].result, X86_RUN_HLT);
		xadd_sum += cpus[i].cpu->r[8];
	}
	assert_int_equal(r64(&t, DATA + 0), total);		/* lock inc */
	assert_int_equal(r64(&t, DATA + 8), total);		/* lock xadd ... */
	assert_int_equal(xadd_sum, total * (total - 1) / 2);	/* ... each old value seen once */
	assert_int_equal(r64(&t, DATA + 16), total);		/* cmpxchg loop */
	memcpy(&w32, t.ram + DATA + 24, 4);
	memcpy(&w16, t.ram + DATA + 30, 2);
	assert_int_equal(w32, (uint32_t)(3 * total));		/* lock add, 32-bit ... */
	assert_int_equal(w16, (uint16_t)total);			/* ... and lock inc, 16-bit, same word */
	assert_int_equal(r64(&t, DATA + 40), total);		/* guarded by lock bts / lock btr */
	assert_int_equal(r64(&t, DATA + 56), total);		/* guarded by xchg */
	assert_int_equal(r64(&t, DATA + 64), total);		/* cmpxchg8b */
	assert_int_equal(r64(&t, DATA + 80), total);		/* cmpxchg16b, low ... */
	assert_int_equal(r64(&t, DATA + 88), 0);		/* ... and high half */
	memcpy(&w32, t.ram + DATA + 102, 4);
	assert_int_equal(w32, total);				/* across an 8-byte boundary */
	memcpy(&w32, t.ram + DATA + 0xffe, 4);
	assert_int_equal(w32, total);				/* split across pages: bus lock */
	assert_int_equal(r64(&t, DATA + 128), -total);		/* lock dec */
	for (unsigned i = 0; i < NCPU; i++)
		x86_cpu_destroy(cpus[i].cpu);
	pthread_barrier_destroy(&start);
	xt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locked_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
