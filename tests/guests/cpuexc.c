/* SPDX-License-Identifier: MIT */
/*
 * cpuexc: CPU exceptions, privilege changes and self-modifying code, the same on every backend.
 * Each case makes one exception happen (#DE, #UD, #GP non-canonical, #PF read and write with
 * CR2 and the error code); a handler records them and resumes after the instruction. Then code
 * in a writable page patches its own immediate and runs again. Options for what a nested PVM
 * host's KVM cannot do (the interpreter and QEMU can): softint=1 adds int3 and int n at CPL 0 and
 * int n from CPL 3 through a DPL-3 gate (TSS stack switch); syscall=1 adds syscall/sysretq from
 * CPL 3. One line per case.
 */
#include "guest.h"

#define UNMAPPED 0x0000700000000000ull	/* no page-table entry covers it */

static volatile uint64_t seen_vec, seen_err, seen_cr2, seen_cs, seen_cpl, skip;

static uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static uint64_t read_cs(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cs, %0" : "=r"(v));
	return v;
}

#define HANDLER(name, vec)                                                  \
	__attribute__((interrupt)) static void name(struct g_intr_frame *f) \
	{                                                                   \
		seen_vec = vec;                                             \
		seen_err = ~0ull;                                           \
		seen_cs = f->cs;                                            \
		seen_cpl = read_cs() & 3;                                   \
		f->rip += skip;                                             \
	}
#define HANDLER_ERR(name, vec)                                                                 \
	__attribute__((interrupt)) static void name(struct g_intr_frame *f, unsigned long err) \
	{                                                                                      \
		seen_vec = vec;                                                                \
		seen_err = err;                                                                \
		seen_cr2 = read_cr2();                                                         \
		f->rip += skip;                                                                \
	}

HANDLER(h_de, 0)
HANDLER(h_bp, 3)
HANDLER(h_ud, 6)
HANDLER(h_int81, 0x81)
HANDLER(h_int82, 0x82)
HANDLER_ERR(h_gp, 13)
HANDLER_ERR(h_pf, 14)

static void report(const char *what)
{
	g_printf("%s: vector %lu", what, seen_vec);
	if (seen_err != ~0ull)
		g_printf(" error 0x%lx", seen_err);
	if (seen_vec == 14)
		g_printf(" cr2 0x%lx", seen_cr2);
	g_printf("\n");
	seen_vec = seen_err = ~0ull;
}

static void exceptions(bool int3)
{
	uint64_t zero = 0, p = UNMAPPED, nc = 0x8000000000000000ull;
	uint32_t v = 0;

	skip = 2;
	__asm__ volatile("xor %%edx, %%edx; mov $1, %%eax; divl %0" : : "r"((uint32_t)zero) : "rax", "rdx");
	report("div by zero");
	if (int3) {	/* softint=1: a nested PVM host's KVM fails int3/int n (CPL 0: emulation error; CPL 3: #UD) */
		skip = 0;
		__asm__ volatile("int3");
		report("int3");
	}
	skip = 2;
	__asm__ volatile("ud2");
	report("ud2");
	skip = 2;
	__asm__ volatile(".byte 0x8b, 0x00" : : "a"(nc) : "memory");	/* mov (%rax), %eax */
	report("non-canonical load");
	skip = 2;
	__asm__ volatile(".byte 0x8b, 0x00" : : "a"(p) : "memory");
	report("read of an unmapped page");
	skip = 2;
	__asm__ volatile(".byte 0x89, 0x18" : : "a"(p + 8), "b"(v) : "memory");	/* mov %ebx, (%rax) */
	report("write to an unmapped page");
	if (int3) {
		skip = 0;
		__asm__ volatile("int $0x81");
		report("int $0x81");
	}
}

/* ---- CPL 3: syscall / sysretq and int through a DPL-3 gate ---- */

extern const char syscall_entry[];
__asm__(".text\n"
	"syscall_entry:\n"
	"	add $1, %rax\n"
	"	sysretq\n");

static volatile bool use_syscall, use_softint;

static uint64_t user_part(uint64_t arg)
{
	uint64_t r = arg;
	if (use_syscall)
		__asm__ volatile("syscall" : "+a"(r) : : "rcx", "r11", "memory");
	if (use_softint)
		__asm__ volatile("int $0x82" : : : "memory");
	return r;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static void privilege(void)
{
	uint64_t r;

	if (!use_syscall && !use_softint)
		return;
	wrmsr(0xc0000080, rdmsr(0xc0000080) | 1);		/* EFER.SCE */
	wrmsr(0xc0000081, (0x10ull << 48) | (0x08ull << 32));	/* STAR: sysret to 0x23/0x1b */
	wrmsr(0xc0000082, (uint64_t)syscall_entry);		/* LSTAR */
	wrmsr(0xc0000084, 0x200);				/* SFMASK: IF */
	skip = 0;
	r = g_run_user(user_part, 41);
	if (use_syscall)	/* syscall=1: a nested PVM host does not switch to CPL 0 on syscall */
		g_printf("syscall from CPL 3 returned %lu\n", r);
	if (use_softint)
		g_printf("int $0x82 from CPL 3: vector %lu, handler at CPL %lu, interrupted CS 0x%lx\n", seen_vec,
			 seen_cpl, seen_cs);
}

/* ---- self-modifying code: a function in a writable page patches its own immediate ---- */

extern uint8_t smc_fn[];
__asm__(".pushsection .data.smc, \"awx\"\n"
	"smc_fn:\n"
	"	mov $0x11111111, %eax\n"
	"	ret\n"
	".popsection\n");

static void smc(void)
{
	uint32_t (*fn)(void) = (uint32_t (*)(void))(void *)smc_fn;
	uint32_t a = fn(), b;
	uint32_t imm = 0x22222222;

	for (unsigned i = 0; i < 4; i++)
		((volatile uint8_t *)smc_fn)[1 + i] = (uint8_t)(imm >> (8 * i));
	b = fn();
	g_printf("self-modifying code: 0x%x then 0x%x\n", a, b);
}

void guest_main(const char *cmdline)
{
	g_cpu_init();
	g_idt_set(0, (void (*)(void))h_de, 0);
	g_idt_set(3, (void (*)(void))h_bp, 0);
	g_idt_set(6, (void (*)(void))h_ud, 0);
	g_idt_set(13, (void (*)(void))h_gp, 0);
	g_idt_set(14, (void (*)(void))h_pf, 0);
	g_idt_set(0x81, (void (*)(void))h_int81, 0);
	g_idt_set(0x82, (void (*)(void))h_int82, 3);
	use_syscall = g_arg_u64_or(cmdline, "syscall", 0) != 0;
	use_softint = g_arg_u64_or(cmdline, "softint", 0) != 0;
	exceptions(use_softint);
	smc();
	g_cpu_init();		/* g_run_user comes back through the stock #UD entry */
	g_idt_set(0x82, (void (*)(void))h_int82, 3);
	privilege();
	g_exit(G_EXIT_OK);
}
