/* SPDX-License-Identifier: MIT */
/*
 * smp: locked instructions across CPUs. The boot CPU starts the others with INIT and a startup
 * IPI (real mode at 0x70000, a trampoline to long mode on the boot CPU's page tables), then every
 * CPU runs the same loop `iters` times: lock inc, lock xadd, a cmpxchg loop, lock add and lock inc
 * on two fields of one 8-byte word, a cmpxchg8b loop, and two spinlocks (lock bts/btr and xchg)
 * each guarding a plain increment. Every total must be exact; the output names each check and
 * never a timing. Arguments: cpus=3 (all of them must arrive) iters=2000.
 * No cmpxchg16b: this host's nested KVM cannot emulate it at CPL 0 (an internal error);
 * tests/unit/x86_smp_test.c covers it on the interpreter.
 */
#include "guest.h"

#define TRAMPOLINE 0x70000ul	/* startup IPI vector 0x70 */
#define LAPIC 0xfee00000ul
#define MAX_CPUS 8

extern const uint8_t ap_tramp[], ap_tramp_end[], tramp_cr3[], tramp_entry[], tramp_stacks[], tramp_count[];

/* Copied to TRAMPOLINE; addresses inside are TRAMPOLINE + (label - ap_tramp). */
__asm__(".pushsection .rodata\n"
	".set T, 0x70000\n"
	".code16\n"
	".globl ap_tramp\n"
	"ap_tramp:\n"
	"	cli\n"
	"	mov %cs, %ax\n"	/* 0x7000: offsets are from the trampoline's start */
	"	mov %ax, %ds\n"
	"	lgdtl tramp_gdtr - ap_tramp\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $(T + (tramp32 - ap_tramp))\n"
	".code32\n"
	"tramp32:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	mov %cr4, %eax\n"
	"	or $0x20, %eax\n"
	"	mov %eax, %cr4\n"
	"	mov T + (tramp_cr3 - ap_tramp), %eax\n"
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	or $0x100, %eax\n"
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	or $0x80000000, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmp $0x18, $(T + (tramp64 - ap_tramp))\n"
	".code64\n"
	"tramp64:\n"
	"	mov $1, %edi\n"
	"	lock xadd %edi, T + (tramp_count - ap_tramp)\n"	/* this AP's number: 1, 2, ... */
	"	mov %edi, %eax\n"
	"	shl $12, %rax\n"
	"	add T + (tramp_stacks - ap_tramp), %rax\n"
	"	lea 4096(%rax), %rsp\n"
	"	jmp *T + (tramp_entry - ap_tramp)\n"
	".balign 8\n"
	"tramp_gdt:\n"
	"	.quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00af9a000000ffff\n"
	"tramp_gdtr:\n"
	"	.word 31\n"
	"	.long T + (tramp_gdt - ap_tramp)\n"
	".balign 8\n"
	".globl tramp_cr3, tramp_entry, tramp_stacks, tramp_count\n"
	"tramp_cr3: .quad 0\n"
	"tramp_entry: .quad 0\n"
	"tramp_stacks: .quad 0\n"
	"tramp_count: .long 1\n"
	".globl ap_tramp_end\n"
	"ap_tramp_end:\n"
	".popsection\n");

static uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));

/* The shared counters; word is one aligned 8-byte word with two fields updated separately. */
static struct {
	volatile uint64_t inc, xadd, cas;
	struct {
		volatile uint32_t add32;
		volatile uint16_t pad, inc16;
	} word __attribute__((aligned(8)));
	volatile uint64_t bts_lock, bts_count, xchg_lock, xchg_count;
	volatile uint64_t cas8;
	volatile uint64_t arrived, go, done, xadd_seen;
} c;

static uint64_t iters;

static inline uint64_t xadd64(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline void lock_inc(volatile uint64_t *p) { __asm__ volatile("lock incq %0" : "+m"(*p) : : "memory"); }

static void cas_inc(volatile uint64_t *p)
{
	uint64_t old, ok;
	do {
		old = *p;
		__asm__ volatile("lock cmpxchgq %3, %1; sete %b2"
				 : "+a"(old), "+m"(*p), "=q"(ok) : "r"(old + 1) : "memory", "cc");
	} while (!(ok & 1));
}

static void cas8_inc(volatile uint64_t *p)
{
	uint32_t lo, hi, ok;
	do {
		lo = (uint32_t)*p;
		hi = (uint32_t)(*p >> 32);
		uint64_t n = (((uint64_t)hi << 32) | lo) + 1;
		__asm__ volatile("lock cmpxchg8b %1; sete %b2"
				 : "+a"(lo), "+m"(*p), "=q"(ok), "+d"(hi)
				 : "b"((uint32_t)n), "c"((uint32_t)(n >> 32)) : "memory", "cc");
	} while (!(ok & 1));
}

#define SPIN_MAX 50000000ul	/* a lock that is never released ends the guest, not the test's timeout */

static void stuck(const char *what)
{
	g_printf("%s: stuck\n", what);
	g_exit(G_EXIT_FAIL);
}

static void bts_locked_inc(void)
{
	uint8_t was;
	uint64_t spin = 0;
	do
		__asm__ volatile("lock btsq $0, %0; setc %1" : "+m"(c.bts_lock), "=q"(was) : : "memory", "cc");
	while (was && ++spin < SPIN_MAX);
	if (was)
		stuck("lock bts/btr spinlock");
	c.bts_count++;
	__asm__ volatile("lock btrq $0, %0" : "+m"(c.bts_lock) : : "memory", "cc");
}

static void xchg_locked_inc(void)
{
	uint64_t v, spin = 0;
	do {
		v = 1;
		__asm__ volatile("xchgq %0, %1" : "+r"(v), "+m"(c.xchg_lock) : : "memory");
	} while (v && ++spin < SPIN_MAX);
	if (v)
		stuck("xchg spinlock");
	c.xchg_count++;
	__asm__ volatile("movq $0, %0" : "=m"(c.xchg_lock) : : "memory");
}

static void work(void)
{
	uint64_t seen = 0;
	for (uint64_t i = 0; i < iters; i++) {
		lock_inc(&c.inc);
		seen += xadd64(&c.xadd, 1);
		cas_inc(&c.cas);
		__asm__ volatile("lock addl $3, %0" : "+m"(c.word.add32) : : "memory", "cc");
		__asm__ volatile("lock incw %0" : "+m"(c.word.inc16) : : "memory", "cc");
		bts_locked_inc();
		xchg_locked_inc();
		cas8_inc(&c.cas8);
	}
	xadd64(&c.xadd_seen, seen);
}

/* Every AP lands here from the trampoline, in long mode on its own stack. */
static void __attribute__((noreturn, used)) ap_main(void)
{
	lock_inc(&c.arrived);
	while (!c.go)
		__asm__ volatile("pause");
	work();
	lock_inc(&c.done);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void lapic_icr(uint32_t lo)
{
	g_mmio_write32(LAPIC + 0x310, 0);
	g_mmio_write32(LAPIC + 0x300, lo);
}

/* INIT and one startup IPI to all but self; waits (bounded) for cpus - 1 arrivals. */
static uint64_t start_aps(uint64_t cpus)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	for (const uint8_t *s = ap_tramp; s < ap_tramp_end; s++)
		((volatile uint8_t *)TRAMPOLINE)[s - ap_tramp] = *s;
	*(volatile uint64_t *)(TRAMPOLINE + (tramp_cr3 - ap_tramp)) = cr3;
	*(volatile uint64_t *)(TRAMPOLINE + (tramp_entry - ap_tramp)) = (uint64_t)ap_main;
	*(volatile uint64_t *)(TRAMPOLINE + (tramp_stacks - ap_tramp)) = (uint64_t)ap_stacks;
	g_mmio_write32(LAPIC + 0xf0, 0x1ff);		/* software enable */
	lapic_icr(0x000c4500);				/* INIT, assert, all excluding self */
	lapic_icr(0x000c4600 | (TRAMPOLINE >> 12));	/* startup */
	for (uint64_t spin = 0; c.arrived < cpus - 1 && spin < 20000000; spin++)
		__asm__ volatile("pause");
	return c.arrived + 1;
}

static bool check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want) {
		g_printf("%s: ok\n", what);
		return true;
	}
	g_printf("%s: %lu, want %lu\n", what, got, want);
	return false;
}

void guest_main(const char *cmdline)
{
	uint64_t cpus = g_arg_u64_or(cmdline, "cpus", 3), n, total;
	bool ok = true;
	iters = g_arg_u64_or(cmdline, "iters", 2000);
	if (cpus < 1 || cpus > MAX_CPUS) {
		g_printf("smp: cpus=%lu: 1 to %d\n", cpus, MAX_CPUS);
		g_exit(G_EXIT_USAGE);
	}
	n = cpus > 1 ? start_aps(cpus) : 1;
	g_printf("smp: %lu of %lu CPUs running\n", n, cpus);
	if (n != cpus)
		g_exit(G_EXIT_FAIL);
	c.go = 1;
	work();
	for (uint64_t spin = 0; c.done < cpus - 1; spin++)
		if (spin == SPIN_MAX)
			stuck("waiting for the other CPUs to finish");
		else
			__asm__ volatile("pause");
	total = cpus * iters;
	ok &= check("lock inc", c.inc, total);
	ok &= check("lock xadd", c.xadd, total);
	ok &= check("lock xadd, values seen", c.xadd_seen, total * (total - 1) / 2);
	ok &= check("cmpxchg loop", c.cas, total);
	ok &= check("lock add, 32-bit field", c.word.add32, (uint32_t)(3 * total));
	ok &= check("lock inc, 16-bit field of the same word", c.word.inc16, (uint16_t)total);
	ok &= check("lock bts/btr spinlock", c.bts_count, total);
	ok &= check("xchg spinlock", c.xchg_count, total);
	ok &= check("cmpxchg8b loop", c.cas8, total);
	g_exit(ok ? G_EXIT_OK : G_EXIT_FAIL);
}
