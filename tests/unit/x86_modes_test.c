/* SPDX-License-Identifier: MIT */
/*
 * x86_modes_test — the interpreter CPU on a flat 4 MiB buffer (no VM): small programs assembled
 * into this test (top-level asm) exercise mode switches (real → protected → long), exception
 * delivery with error codes and CR2, #DF and triple fault, privilege changes (iretq to CPL 3,
 * syscall/sysret, int from CPL 3 through a DPL-3 gate with the TSS stack), self-modifying code,
 * real-mode interrupts and instruction-fetch faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/unit/x86_test_util.h"

#define CODE 0x8000ull
#define IDT XT_IDT
#define HANDLERS XT_HANDLERS
#define KSTACK 0x70000ull
#define USTACK 0x60000ull

#define BLOB(name) extern const uint8_t name##_start[], name##_end[]
BLOB(boot);
BLOB(smc);
BLOB(smc32);
BLOB(reps);
BLOB(user);
BLOB(kern);
BLOB(lstar);
BLOB(int80);

__asm__(".pushsection .rodata\n"
	/* real mode at 0x8000 → protected → long mode; rax = 0x123456789 in 64-bit code */
	"boot_start:\n.code16\n"
	"	cli\n"
	"	lgdtl (gdtr - boot_start + 0x8000)\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $(p32 - boot_start + 0x8000)\n"
	".code32\n"
	"p32:	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %ss\n"
	"	mov $0x7000, %esp\n"
	"	mov %cr4, %eax\n"
	"	or $0x20, %eax\n"
	"	mov %eax, %cr4\n"
	"	mov $0x1000, %eax\n"
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	or $0x100, %eax\n"
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	or $0x80000000, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmp $0x18, $(p64 - boot_start + 0x8000)\n"
	".code64\n"
	"p64:	movabs $0x123456789, %rax\n"
	"	push %rax\n"
	"	pop %rbx\n"
	"	hlt\n"
	".balign 8\n"
	"gdt:	.quad 0, 0x00cf9b000000ffff, 0x00cf93000000ffff, 0x00af9b000000ffff\n"
	"gdtr:	.word 31\n"
	"	.long gdt - boot_start + 0x8000\n"
	"boot_end:\n"
	/* self-modifying code: the store patches the immediate of the next instruction */
	"smc_start:\n"
	"	movb $0x42, 1f+1(%rip)\n"
	"1:	mov $0, %al\n"
	"	hlt\n"
	"smc_end:\n"
	/* the same with a 32-bit store (the specialised store handler) patching a 32-bit immediate */
	"smc32_start:\n"
	"	movl $0x4242, 1f+1(%rip)\n"
	"1:	mov $0, %eax\n"
	"	hlt\n"
	"smc32_end:\n"
	/* rep stosq across pages; rep movsb onto its own source one byte ahead (element order smears
	 * the first byte); rep movsq across pages */
	"reps_start:\n"
	"	mov $0x100ff8, %edi\n"
	"	mov $3000, %ecx\n"
	"	movabs $0x1122334455667788, %rax\n"
	"	rep stosq\n"
	"	mov $0x200000, %esi\n"
	"	lea 1(%rsi), %rdi\n"
	"	mov $5000, %ecx\n"
	"	rep movsb\n"
	"	mov $0x100ff8, %esi\n"
	"	mov $0x300ff0, %edi\n"
	"	mov $3000, %ecx\n"
	"	rep movsq\n"
	"	hlt\n"
	"reps_end:\n"
	/* kernel at 0x8000: iretq to user code at 0x9000 (CPL 3) */
	"kern_start:\n"
	"	mov $0x30, %ax\n"
	"	ltr %ax\n"
	"	pushq $0x23\n"
	"	pushq $0x60000\n"
	"	pushq $0x2\n"
	"	pushq $0x2b\n"
	"	pushq $0x9000\n"
	"	iretq\n"
	"kern_end:\n"
	/* user at 0x9000: syscall (eax+1), then int $0x80 */
	"user_start:\n"
	"	mov $0x11, %eax\n"
	"	syscall\n"
	"	mov %eax, %ebx\n"
	"	mov %cs, %r14\n"
	"	int $0x80\n"
	"	hlt\n"
	"user_end:\n"
	/* LSTAR at 0xa000 */
	"lstar_start:\n"
	"	mov %rsp, %r12\n"
	"	add $1, %eax\n"
	"	sysretq\n"
	"lstar_end:\n"
	/* int 0x80 handler at 0xb000 */
	"int80_start:\n"
	"	mov %rsp, %r13\n"
	"	hlt\n"
	"int80_end:\n"
	".popsection\n");

static void load(struct xt *t, uint64_t addr, const uint8_t *start, const uint8_t *end)
{
	memcpy(t->ram + addr, start, (size_t)(end - start));
}

static void w16(struct xt *t, uint64_t a, uint16_t v) { memcpy(t->ram + a, &v, 2); }

/* Identity page tables for the first 1 GiB (2 MiB pages, user-accessible) at 0x1000. */
static void page_tables(struct xt *t, uint64_t flags)
{
	xt_w64(t, 0x1000, 0x2007);
	xt_w64(t, 0x2000, 0x3007);
	for (uint64_t i = 0; i < 512; i++)
		xt_w64(t, 0x3000 + i * 8, (i << 21) | flags);
}

static void setup_long(struct xt *t)
{
	assert_int_equal(xt_init(t, 4 << 20), 0);
	t->cpu->log = NULL;
	xt_long_mode(t);
	xt_w64(t, 0x12008, 0x00af9b000000ffffull);	/* GDT: 0x08 = 64-bit kernel code */
	xt_w64(t, 0x12010, 0x00cf93000000ffffull);
	t->cpu->gdt.base = 0x12000;
	t->cpu->gdt.limit = 0x17;
	xt_exception_handlers(t);
	t->cpu->r[X86_RSP] = KSTACK;
	t->cpu->rip = CODE;
	x86_state_changed(t->cpu);
}

static enum x86_run_result run(struct xt *t)
{
	return x86_cpu_run(t->cpu, 100000);
}

static uint64_t stack_at(struct xt *t, unsigned slot)
{
	uint64_t v;
	memcpy(&v, t->ram + t->cpu->r[X86_RSP] + slot * 8, 8);
	return v;
}

static void test_real_to_long(void **state)
{
	struct xt t;
	(void)state;
	assert_int_equal(xt_init(&t, 4 << 20), 0);
	page_tables(&t, 0x83);
	load(&t, CODE, boot_start, boot_end);
	t.cpu->seg[X86_CS].sel = 0;
	t.cpu->seg[X86_CS].base = 0;
	t.cpu->rip = CODE;
	x86_state_changed(t.cpu);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->mode, X86_MODE_LONG64);
	assert_true(t.cpu->efer & (1u << 10));
	assert_int_equal(t.cpu->r[X86_RBX], 0x123456789ull);
	xt_fini(&t);
}

struct exc_case {
	const char *name;
	uint8_t code[40];
	unsigned len;
	int vec;
	uint64_t err;		/* ~0: no error code */
	uint64_t fault_rip;	/* pushed RIP (relative to CODE) */
	uint64_t cr2;
};

static const struct exc_case exc_cases[] = {
	{ "#DE div by zero", { 0x31, 0xc9, 0xf7, 0xf1 }, 4, 0, ~0ull, 2, 0 },
	{ "#UD ud2", { 0x90, 0x0f, 0x0b }, 3, 6, ~0ull, 1, 0 },
	{ "#BP int3 (trap: after)", { 0xcc }, 1, 3, ~0ull, 1, 0 },
	{ "#GP non-canonical", { 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x8b, 0x00 }, 12, 13, 0, 10, 0 },
	{ "#GP ret to a non-canonical address", { 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x50, 0xc3 }, 12, 13, 0, 11, 0 },
	{ "#PF write, not present", { 0x48, 0xc7, 0xc0, 0, 0, 0, 0x40, 0xc6, 0x00, 0x01 }, 10, 14, 2, 7, 0x40000000 },
	{ "#PF read, not present", { 0x48, 0xc7, 0xc0, 0, 0x10, 0, 0x40, 0x8a, 0x00 }, 9, 14, 0, 7, 0x40001000 },
	{ "#UD lock on a register", { 0xf0, 0x01, 0xc0 }, 3, 6, ~0ull, 0, 0 },
	{ "#UD AVX (not implemented)", { 0xc5, 0xf8, 0x77 }, 3, 6, ~0ull, 0, 0 },
	{ "#GP mov to cr0 with PG without PE", { 0x48, 0xc7, 0xc0, 0, 0, 0, 0x80, 0x0f, 0x22, 0xc0 }, 10, 13, 0, 7, 0 },
	{ "#GP wrmsr of an unknown MSR", { 0xb9, 0x78, 0x56, 0x34, 0x12, 0x0f, 0x30 }, 7, 13, 0, 5, 0 },
	{ "#DE idiv overflow", { 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x48, 0x99, 0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff,
				0x48, 0xf7, 0xf9 }, 22, 0, ~0ull, 19, 0 },
};

/* x87 and FXSAVE rules (SDM vol. 3 table 2-2 and the instruction pages): each program sets CR0/CR4
 * bits (mov %cr0,%rax; or $imm8,%rax; mov %rax,%cr0 — 10 bytes), then runs the instruction. */
#define SET_CR0(b) 0x0f, 0x20, 0xc0, 0x48, 0x83, 0xc8, (b), 0x0f, 0x22, 0xc0
#define SET_CR4_OSFXSR 0x0f, 0x20, 0xe0, 0x48, 0x0d, 0x00, 0x02, 0x00, 0x00, 0x0f, 0x22, 0xe0
/* CR0 |= ne; fninit; push $0x360; fldcw (%rsp) (only PE masked); fldz; fld1; fdivrp: 1/0, a pending #Z */
#define PENDING_ZE(ne) SET_CR0(ne), 0xdb, 0xe3, 0x68, 0x60, 0x03, 0, 0, 0xd9, 0x2c, 0x24, 0xd9, 0xee, 0xd9, 0xe8, 0xde, 0xf1
static const struct exc_case fpu_cases[] = {
	{ "#NM fld1 with CR0.TS", { SET_CR0(0x08), 0xd9, 0xe8 }, 12, 7, ~0ull, 10, 0 },
	{ "#NM fld1 with CR0.EM", { SET_CR0(0x04), 0xd9, 0xe8 }, 12, 7, ~0ull, 10, 0 },
	{ "#NM fnstsw with CR0.TS", { SET_CR0(0x08), 0xdf, 0xe0 }, 12, 7, ~0ull, 10, 0 },
	{ "#NM fwait with CR0.MP and TS", { SET_CR0(0x0a), 0x9b }, 11, 7, ~0ull, 10, 0 },
	{ "fwait runs with CR0.TS alone (then ud2)", { SET_CR0(0x08), 0x9b, 0x0f, 0x0b }, 13, 6, ~0ull, 11, 0 },
	{ "fwait runs with CR0.EM (then ud2)", { SET_CR0(0x04), 0x9b, 0x0f, 0x0b }, 13, 6, ~0ull, 11, 0 },
	{ "#UD fxsave with CR0.EM", { SET_CR0(0x04), 0x0f, 0xae, 0x04, 0x24 }, 14, 6, ~0ull, 10, 0 },
	{ "#UD emms with CR0.EM", { SET_CR0(0x04), 0x0f, 0x77 }, 12, 6, ~0ull, 10, 0 },
	{ "#NM fxrstor with CR0.TS", { SET_CR0(0x08), 0x0f, 0xae, 0x0c, 0x24 }, 14, 7, ~0ull, 10, 0 },
	{ "#GP(0) fxsave not 16-byte aligned", { 0x0f, 0xae, 0x44, 0x24, 0x08 }, 5, 13, 0, 0, 0 },
	{ "#GP(0) fxrstor64 of reserved MXCSR bits (CR4.OSFXSR)",
	  { SET_CR4_OSFXSR, 0x48, 0x0f, 0xae, 0x04, 0x24, 0xc7, 0x44, 0x24, 0x18, 0xff, 0xff, 0xff, 0xff,
	    0x48, 0x0f, 0xae, 0x0c, 0x24 }, 30, 13, 0, 25, 0 },
	{ "fxrstor ignores MXCSR without CR4.OSFXSR (then ud2)",
	  { 0x0f, 0xae, 0x04, 0x24, 0xc7, 0x44, 0x24, 0x18, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xae, 0x0c, 0x24, 0x0f, 0x0b },
	  18, 6, ~0ull, 16, 0 },
	{ "#MF at the next waiting instruction (CR0.NE)", { PENDING_ZE(0x20), 0x9b }, 27, 16, ~0ull, 26, 0 },
	{ "#MF at fld1 after a pending #Z", { PENDING_ZE(0x20), 0xd9, 0xe8 }, 28, 16, ~0ull, 26, 0 },
	{ "fnstsw does not wait (then ud2)", { PENDING_ZE(0x20), 0xdf, 0xe0, 0x0f, 0x0b }, 30, 6, ~0ull, 28, 0 },
	{ "fnclex drops the pending exception (then ud2)", { PENDING_ZE(0x20), 0xdb, 0xe2, 0x9b, 0x0f, 0x0b }, 31, 6, ~0ull, 29, 0 },
	{ "no #MF with CR0.NE clear (then ud2)", { PENDING_ZE(0x00), 0x9b, 0x0f, 0x0b }, 29, 6, ~0ull, 27, 0 },
};

static void run_exc_case(const struct exc_case *c)
{
	struct xt t;
	setup_long(&t);
	memcpy(t.ram + CODE, c->code, c->len);
	t.ram[CODE + c->len] = 0xf4;
	printf("# %s\n", c->name);
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, (uint64_t)c->vec);
	if (c->err != ~0ull)
		assert_int_equal(t.cpu->r[X86_RCX], c->err);
	assert_int_equal(stack_at(&t, 0), CODE + c->fault_rip);
	assert_int_equal(stack_at(&t, 1), 0x08);	/* CS */
	if (c->cr2)
		assert_int_equal(t.cpu->cr2, c->cr2);
	xt_fini(&t);
}

static void test_exceptions(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(exc_cases) / sizeof(exc_cases[0]); i++)
		run_exc_case(&exc_cases[i]);
}

static void test_fpu_exceptions(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(fpu_cases) / sizeof(fpu_cases[0]); i++)
		run_exc_case(&fpu_cases[i]);
}

/* A store that faults changes nothing: fld1; fstp qword [1 GiB] (not mapped) raises #PF with TOP,
 * the tag and ST(0) as fld1 left them, so the fstp can run again after the fault is fixed. */
static void test_fpu_store_fault(void **state)
{
	static const uint8_t code[] = { 0xd9, 0xe8, 0x48, 0xc7, 0xc0, 0, 0, 0, 0x40, 0xdd, 0x18 };
	static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
	struct xt t;
	(void)state;
	setup_long(&t);
	memcpy(t.ram + CODE, code, sizeof(code));
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 14);
	assert_int_equal(stack_at(&t, 0), CODE + 9);	/* the faulting fstp (the handler popped the error code) */
	assert_int_equal(t.cpu->cr2, 0x40000000);
	assert_int_equal((t.cpu->fpu.fsw >> 11) & 7, 7);
	assert_int_equal(t.cpu->fpu.ftw, 0x80);
	assert_memory_equal(t.cpu->fpu.st[7].raw, one, 10);
	xt_fini(&t);
}

static void test_double_and_triple_fault(void **state)
{
	struct xt t;
	static const uint8_t pf[] = { 0x48, 0xc7, 0xc0, 0, 0, 0, 0x40, 0xc6, 0x00, 0x01, 0xf4 };
	(void)state;
	setup_long(&t);
	memcpy(t.ram + CODE, pf, sizeof(pf));
	xt_gate64(&t, 14, HANDLERS + 14 * 16, 0, false);	/* #PF gate not present: #NP while delivering #PF */
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 8);
	assert_int_equal(t.cpu->r[X86_RCX], 0);
	xt_fini(&t);

	setup_long(&t);
	memcpy(t.ram + CODE, pf, sizeof(pf));
	t.cpu->idt.limit = 0;
	assert_int_equal(run(&t), X86_RUN_SHUTDOWN);
	xt_fini(&t);
}

static void test_smc(void **state)
{
	struct xt t;
	(void)state;
	setup_long(&t);
	load(&t, CODE, smc_start, smc_end);
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 0x42);
	assert_true(t.cpu->nr_smc >= 1);
	/* run it again from the patched bytes: still 0x42, and a host-side patch is seen too */
	t.ram[CODE + 8] = 0x43;
	x86_invalidate_code(t.cpu, CODE + 8, 1);
	t.cpu->rip = CODE + 7;
	t.cpu->halted = false;
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 0x43);
	xt_fini(&t);
}

static void test_smc_wide_store(void **state)
{
	struct xt t;
	(void)state;
	setup_long(&t);
	load(&t, CODE, smc32_start, smc32_end);
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX], 0x4242);
	assert_true(t.cpu->nr_smc >= 1);
	xt_fini(&t);
}

static void test_rep_strings(void **state)
{
	struct xt t;
	uint64_t v;
	(void)state;
	setup_long(&t);
	load(&t, CODE, reps_start, reps_end);
	t.ram[0x200000] = 0x5a;
	t.ram[0x200000 + 5001] = 0xa5;
	assert_int_equal(run(&t), X86_RUN_HLT);
	for (unsigned i = 0; i < 3000; i++) {
		memcpy(&v, t.ram + 0x100ff8 + i * 8, 8);
		assert_int_equal(v, 0x1122334455667788ull);
		memcpy(&v, t.ram + 0x300ff0 + i * 8, 8);
		assert_int_equal(v, 0x1122334455667788ull);
	}
	for (unsigned i = 0; i <= 5000; i++)
		assert_int_equal(t.ram[0x200000 + i], 0x5a);
	assert_int_equal(t.ram[0x200000 + 5001], 0xa5);
	assert_int_equal(t.cpu->r[X86_RCX], 0);
	assert_int_equal(t.cpu->r[X86_RSI], 0x100ff8 + 24000);
	assert_int_equal(t.cpu->r[X86_RDI], 0x300ff0 + 24000);
	xt_fini(&t);
}

static void test_privilege_syscall_int(void **state)
{
	struct xt t;
	struct x86_cpu *c;
	uint64_t tss = 0x11000, gdt = 0x12000;
	(void)state;
	setup_long(&t);
	c = t.cpu;
	page_tables(&t, 0x87);
	xt_w64(&t, gdt + 0x00, 0);
	xt_w64(&t, gdt + 0x08, 0x00af9b000000ffffull);
	xt_w64(&t, gdt + 0x10, 0x00cf93000000ffffull);
	xt_w64(&t, gdt + 0x18, 0x00cffb000000ffffull);
	xt_w64(&t, gdt + 0x20, 0x00cff3000000ffffull);
	xt_w64(&t, gdt + 0x28, 0x00affb000000ffffull);
	xt_w64(&t, gdt + 0x30, 0x0000890000000067ull | ((tss & 0xffffff) << 16));
	xt_w64(&t, gdt + 0x38, 0);
	xt_w64(&t, tss + 4, KSTACK);	/* rsp0 */
	c->gdt.base = gdt;
	c->gdt.limit = 0x3f;
	xt_gate64(&t, 0x80, 0xb000, 3, true);
	c->star = (0x18ull << 48) | (0x08ull << 32);
	c->lstar = 0xa000;
	c->sfmask = 0x200;
	load(&t, CODE, kern_start, kern_end);
	load(&t, 0x9000, user_start, user_end);
	load(&t, 0xa000, lstar_start, lstar_end);
	load(&t, 0xb000, int80_start, int80_end);
	x86_state_changed(c);
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(c->r[12], USTACK);		/* syscall keeps the user stack */
	assert_int_equal(c->r[X86_RBX], 0x12);		/* sysret came back with eax + 1 */
	assert_int_equal(c->r[14], 0x2b);		/* 64-bit user CS after sysretq */
	assert_int_equal(c->cpl, 0);			/* int 0x80 went to CPL 0 ... */
	assert_int_equal(c->r[13], KSTACK - 5 * 8);	/* ... on the TSS stack */
	assert_int_equal(stack_at(&t, 1), 0x2b);	/* pushed CS: user */
	assert_int_equal(stack_at(&t, 3), USTACK);	/* pushed RSP */
	assert_int_equal(stack_at(&t, 4), 0x23);	/* pushed SS */
	xt_fini(&t);
}

static void test_user_cannot_halt_or_touch_kernel_pages(void **state)
{
	struct xt t;
	static const uint8_t user_hlt[] = { 0xf4 };
	(void)state;
	setup_long(&t);
	page_tables(&t, 0x83);	/* supervisor-only pages */
	memcpy(t.ram + CODE, user_hlt, 1);
	xt_w64(&t, 0x11000 + 4, KSTACK);	/* TSS.rsp0 for the switch to CPL 0 */
	t.cpu->seg[X86_TR].base = 0x11000;
	t.cpu->seg[X86_TR].limit = 0x67;
	t.cpu->seg[X86_TR].ar = 0x8b;
	xt_flat(&t.cpu->seg[X86_CS], 0x2b, 0xa0fb);
	xt_flat(&t.cpu->seg[X86_SS], 0x23, 0xc0f3);
	x86_state_changed(t.cpu);
	assert_int_equal(t.cpu->cpl, 3);
	/* the fetch itself faults: #PF with U and I set (NXE), then the handler (CPL 0) halts */
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 14);
	assert_int_equal(t.cpu->r[X86_RCX], 0x15);	/* P | U | I */
	xt_fini(&t);
}

static void test_real_mode_interrupt(void **state)
{
	struct xt t;
	static const uint8_t code[] = { 0xcd, 0x10, 0x89, 0xc3, 0xf4 };	/* int 0x10; mov bx, ax; hlt */
	static const uint8_t handler[] = { 0xb8, 0x55, 0x00, 0xcf };		/* mov ax, 0x55; iret */
	(void)state;
	assert_int_equal(xt_init(&t, 1 << 20), 0);
	memcpy(t.ram + 0x7c00, code, sizeof(code));
	memcpy(t.ram + 0x9000, handler, sizeof(handler));
	w16(&t, 0x10 * 4, 0x9000);
	w16(&t, 0x10 * 4 + 2, 0);
	t.cpu->seg[X86_CS].sel = 0;
	t.cpu->seg[X86_CS].base = 0;
	t.cpu->rip = 0x7c00;
	t.cpu->r[X86_RSP] = 0x7000;
	t.cpu->idt.base = 0;
	t.cpu->idt.limit = 0x3ff;
	x86_state_changed(t.cpu);
	assert_int_equal(x86_cpu_run(t.cpu, 100), X86_RUN_HLT);
	assert_int_equal(t.cpu->mode, X86_MODE_REAL);
	assert_int_equal(t.cpu->r[X86_RBX] & 0xffff, 0x55);
	assert_int_equal(t.cpu->r[X86_RSP], 0x7000);
	xt_fini(&t);
}

/* The CS limit holds per instruction, not per block: an instruction with any byte past the limit
 * raises #GP(0) at its own address after the ones before it ran, also when the block was decoded
 * and cached earlier under a larger limit. 32-bit protected mode, #GP gate to a hlt at 0x4000. */
static void test_cs_limit_per_instruction(void **state)
{
	static const uint8_t code[] = { 0x43, 0x43, 0x43, 0xb8, 0x01, 0, 0, 0, 0xf4 };	/* inc ebx x3; mov eax, 1; hlt */
	static const struct { uint32_t limit; uint64_t fault_eip, eax; } cases[] = {
		{ 0x8004, 0x8003, 0 },	/* mov straddles the limit */
		{ 0x8007, 0x8008, 1 },	/* mov ends on the limit; hlt lies past it */
	};
	struct xt t;
	struct x86_cpu *c;
	(void)state;
	assert_int_equal(xt_init(&t, 1 << 20), 0);
	c = t.cpu;
	c->log = NULL;
	xt_prot32(&t);
	memcpy(t.ram + CODE, code, sizeof(code));
	t.ram[0x4000] = 0xf4;
	xt_w64(&t, 0x12008, 0x00cf9b000000ffffull);
	c->gdt.base = 0x12000;
	c->gdt.limit = 0x17;
	xt_w64(&t, 0x13000 + 13 * 8, 0x00008e0000084000ull);	/* 32-bit interrupt gate, 0x08:0x4000 */
	c->idt.base = 0x13000;
	c->idt.limit = 0x7ff;
	for (unsigned i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		bool fault = i > 0;	/* run 0: no limit in the way, and the block gets cached */
		c->r[X86_RAX] = c->r[X86_RBX] = 0;
		c->r[X86_RSP] = 0x7000;
		c->rip = CODE;
		c->halted = false;
		xt_flat(&c->seg[X86_CS], 0x8, 0xc09b);
		if (fault)
			c->seg[X86_CS].limit = cases[i - 1].limit;
		x86_state_changed(c);
		assert_int_equal(x86_cpu_run(c, 1000), X86_RUN_HLT);
		assert_int_equal(c->r[X86_RBX], 3);
		if (!fault) {
			assert_int_equal(c->r[X86_RAX], 1);
			assert_int_equal(c->rip, CODE + sizeof(code));
			continue;
		}
		assert_int_equal(c->r[X86_RAX], cases[i - 1].eax);
		assert_int_equal(c->rip, 0x4001);
		assert_int_equal(c->r[X86_RSP], 0x7000 - 16);
		assert_int_equal(*(uint32_t *)(t.ram + 0x7000 - 16), 0);			/* error code */
		assert_int_equal(*(uint32_t *)(t.ram + 0x7000 - 12), cases[i - 1].fault_eip);
	}
	xt_fini(&t);
}

/* The debugger's view: single-step, software and hardware breakpoints, watchpoints, guest TF. */
static void test_debug_events(void **state)
{
	struct xt t;
	struct x86_cpu *c;
	/* nop; nop; mov %eax, 0x5000; nop; hlt */
	static const uint8_t code[] = { 0x90, 0x90, 0x89, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, 0x90, 0xf4 };
	(void)state;
	setup_long(&t);
	c = t.cpu;
	memcpy(t.ram + CODE, code, sizeof(code));
	c->single_step = true;
	x86_debug_changed(c);
	assert_int_equal(run(&t), X86_RUN_DEBUG);
	assert_int_equal(c->debug_reason, X86_DBG_STEP);
	assert_int_equal(c->rip, CODE + 1);
	assert_int_equal(c->debug_addr, CODE + 1);
	c->single_step = false;
	c->nr_sw_bps = 1;
	c->sw_bps[0] = CODE + 9;
	c->nr_hw_bps = 1;
	c->hw_bps[0] = (struct x86_bp){ .kind = 1, .len = 4, .addr = 0x5000 };
	x86_debug_changed(c);
	assert_int_equal(run(&t), X86_RUN_DEBUG);	/* the write: reported after the instruction */
	assert_int_equal(c->debug_reason, X86_DBG_WATCH_WRITE);
	assert_int_equal(c->debug_addr, 0x5000);
	assert_int_equal(c->rip, CODE + 9);
	assert_int_equal(run(&t), X86_RUN_DEBUG);	/* then the breakpoint, before its instruction */
	assert_int_equal(c->debug_reason, X86_DBG_SWBREAK);
	assert_int_equal(c->debug_addr, CODE + 9);
	assert_int_equal(c->rip, CODE + 9);
	assert_int_equal(run(&t), X86_RUN_HLT);		/* resuming runs the breakpointed instruction */
	xt_fini(&t);

	/* guest TF: pushf; or $0x100,(%rsp); popf; nop -> #DB (vector 1) after the nop */
	static const uint8_t tf[] = { 0x9c, 0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90, 0xf4 };
	setup_long(&t);
	memcpy(t.ram + CODE, tf, sizeof(tf));
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 1);
	assert_int_equal(stack_at(&t, 0), CODE + 11);
	assert_true(t.cpu->dr6 & (1u << 14));
	xt_fini(&t);

	/* the guest's own DR0/DR7 write watchpoint: mov $0x5000,%eax; mov %rax,%dr0;
	 * mov $0xd0001,%eax (L0, RW0 = write, LEN0 = 4); mov %rax,%dr7; mov %eax,0x5000; nop; hlt
	 * -> #DB (vector 1) after the store, DR6.B0 set */
	static const uint8_t dr[] = { 0xb8, 0x00, 0x50, 0x00, 0x00, 0x0f, 0x23, 0xc0, 0xb8, 0x01, 0x00, 0x0d, 0x00,
				      0x0f, 0x23, 0xf8, 0x89, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00, 0x90, 0xf4 };
	setup_long(&t);
	memcpy(t.ram + CODE, dr, sizeof(dr));
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 1);
	assert_int_equal(stack_at(&t, 0), CODE + 23);
	assert_true(t.cpu->dr6 & 1);
	xt_fini(&t);
}

static unsigned hlt_step_acks;
static bool hlt_step_pending(void *opaque)
{
	(void)opaque;
	return true;	/* an interrupt is always waiting, as the PIT makes one in the demo guest */
}
static int hlt_step_ack(void *opaque)
{
	(void)opaque;
	hlt_step_acks++;
	return 0x20;
}

/* gdb's stepi over "sti; hlt" with interrupts held off: the pending interrupt wakes the hlt
 * without being delivered, so the next step runs the nop (it used to spin in X86_RUN_HLT). */
static void test_step_over_hlt_without_irqs(void **state)
{
	struct xt t;
	struct x86_cpu *c;
	static const uint8_t code[] = { 0xfb, 0xf4, 0x90, 0xf4 };	/* sti; hlt; nop; hlt */
	(void)state;
	setup_long(&t);
	c = t.cpu;
	memcpy(t.ram + CODE, code, sizeof(code));
	c->bus.intr_is_pending = hlt_step_pending;
	c->bus.intr_ack = hlt_step_ack;
	c->single_step = true;
	c->step_irqs = false;
	x86_debug_changed(c);
	hlt_step_acks = 0;
	assert_int_equal(run(&t), X86_RUN_DEBUG);	/* sti */
	assert_int_equal(c->rip, CODE + 1);
	assert_int_equal(run(&t), X86_RUN_DEBUG);	/* hlt retires; the CPU is halted */
	assert_int_equal(c->rip, CODE + 2);
	assert_int_equal(run(&t), X86_RUN_DEBUG);	/* woken, the nop */
	assert_int_equal(c->rip, CODE + 3);
	assert_int_equal(hlt_step_acks, 0);		/* never delivered while stepping */
	xt_fini(&t);
}

/* ---- SSE/MMX availability and faults (emu/x86/exec-sse.c) ---- */

#define SSE_DATA 0x50000ull
#define CR0_EM 0x4u
#define CR0_TS 0x8u
#define CR4_OSFXSR 0x200u
#define CR4_OSXMMEXCPT 0x400u

struct sse_case {
	const char *name;
	uint8_t code[8];
	unsigned len;
	uint32_t cr0_set, cr4_clear, mxcsr;
	uint64_t rbx;
	int vec;		/* -1: no exception */
	uint32_t xmm0, xmm1;	/* low lanes in */
	uint32_t want_xmm0, want_mxcsr;
};

static const struct sse_case sse_cases[] = {
	{ "movaps misaligned load: #GP(0)", { 0x0f, 0x28, 0x03 }, 3, 0, 0, 0x1f80, SSE_DATA + 8, 13, 7, 0, 7, 0x1f80 },
	{ "movaps misaligned store: #GP(0)", { 0x0f, 0x29, 0x03 }, 3, 0, 0, 0x1f80, SSE_DATA + 4, 13, 7, 0, 7, 0x1f80 },
	{ "movups misaligned load", { 0x0f, 0x10, 0x03 }, 3, 0, 0, 0x1f80, SSE_DATA + 8, -1, 7, 0, 0x33333333, 0x1f80 },
	{ "movaps aligned load", { 0x0f, 0x28, 0x03 }, 3, 0, 0, 0x1f80, SSE_DATA, -1, 7, 0, 0x11111111, 0x1f80 },
	{ "CR4.OSFXSR=0: #UD", { 0x66, 0x0f, 0xef, 0xc0 }, 4, 0, CR4_OSFXSR, 0x1f80, 0, 6, 7, 0, 7, 0x1f80 },
	{ "CR0.EM=1: #UD", { 0x0f, 0x58, 0xc1 }, 3, CR0_EM, 0, 0x1f80, 0, 6, 7, 0, 7, 0x1f80 },
	{ "CR0.TS=1: #NM", { 0x0f, 0x58, 0xc1 }, 3, CR0_TS, 0, 0x1f80, 0, 7, 7, 0, 7, 0x1f80 },
	{ "MMX, CR0.TS=1: #NM", { 0x0f, 0xfc, 0xc1 }, 3, CR0_TS, 0, 0x1f80, 0, 7, 7, 0, 7, 0x1f80 },
	{ "MMX, CR0.EM=1: #UD", { 0x0f, 0xfc, 0xc1 }, 3, CR0_EM, 0, 0x1f80, 0, 6, 7, 0, 7, 0x1f80 },
	{ "MMX needs no OSFXSR", { 0x0f, 0xfc, 0xc1 }, 3, 0, CR4_OSFXSR, 0x1f80, 0, -1, 7, 0, 7, 0x1f80 },
	{ "divss by 0, ZE masked", { 0xf3, 0x0f, 0x5e, 0xc1 }, 4, 0, 0, 0x1f80, 0, -1, 0x3f800000, 0, 0x7f800000, 0x1f84 },
	{ "divss by 0, ZE unmasked: #XM", { 0xf3, 0x0f, 0x5e, 0xc1 }, 4, 0, 0, 0x1d80, 0, 19, 0x3f800000, 0, 0x3f800000, 0x1d84 },
	{ "divss by 0, no OSXMMEXCPT: #UD", { 0xf3, 0x0f, 0x5e, 0xc1 }, 4, 0, CR4_OSXMMEXCPT, 0x1d80, 0, 6, 0x3f800000, 0,
	  0x3f800000, 0x1d84 },
	{ "exact tiny result, UE masked", { 0xf3, 0x0f, 0x59, 0xc1 }, 4, 0, 0, 0x1f80, 0, -1, 0x00800000, 0x3f000000,
	  0x00400000, 0x1f80 },
	{ "exact tiny result, UE unmasked: #XM", { 0xf3, 0x0f, 0x59, 0xc1 }, 4, 0, 0, 0x1780, 0, 19, 0x00800000, 0x3f000000,
	  0x00800000, 0x1790 },
	{ "ldmxcsr reserved bit: #GP(0)", { 0x0f, 0xae, 0x13 }, 3, 0, 0, 0x1f80, SSE_DATA + 16, 13, 7, 0, 7, 0x1f80 },
	{ "ldmxcsr", { 0x0f, 0xae, 0x13 }, 3, 0, 0, 0x1f80, SSE_DATA + 20, -1, 7, 0, 7, 0x9fc0 },
	{ "16-byte store across into a missing page: #PF, nothing written", { 0x0f, 0x11, 0x03 }, 3, 0, 0, 0x1f80,
	  0x1ffff8, 14, 7, 0, 7, 0x1f80 },
};

static void sse_case_setup(struct xt *t, const struct sse_case *c)
{
	static const uint32_t data[] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x20000, 0x9fc0 };
	setup_long(t);
	memcpy(t->ram + SSE_DATA, data, sizeof(data));
	memset(t->ram + 0x1ffff0, 0x5a, 16);
	xt_w64(t, 0x3000 + 8, 0);	/* 2-4 MiB not present */
	memcpy(t->ram + CODE, c->code, c->len);
	t->ram[CODE + c->len] = 0xf4;
	t->cpu->cr0 |= c->cr0_set;
	t->cpu->cr4 = (t->cpu->cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT) & ~(uint64_t)c->cr4_clear;
	t->cpu->fpu.mxcsr = c->mxcsr;
	t->cpu->fpu.xmm[0].d[0] = c->xmm0;
	t->cpu->fpu.xmm[1].d[0] = c->xmm1;
	t->cpu->r[X86_RBX] = c->rbx;
	t->cpu->r[X86_RAX] = 0xee;
	x86_state_changed(t->cpu);
}

static void test_sse_faults(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(sse_cases) / sizeof(sse_cases[0]); i++) {
		const struct sse_case *c = &sse_cases[i];
		struct xt t;
		uint8_t before[16];
		sse_case_setup(&t, c);
		memcpy(before, t.ram + 0x1ffff0, 16);
		printf("# %s\n", c->name);
		assert_int_equal(run(&t), X86_RUN_HLT);
		assert_int_equal(t.cpu->r[X86_RAX] & 0xff, c->vec < 0 ? 0xee : (uint64_t)c->vec);
		if (c->vec >= 0)
			assert_int_equal(stack_at(&t, 0), CODE);
		assert_int_equal(t.cpu->fpu.xmm[0].d[0], c->want_xmm0);
		assert_int_equal(t.cpu->fpu.mxcsr, c->want_mxcsr);
		assert_memory_equal(t.ram + 0x1ffff0, before, 16);
		if (c->vec == 14)
			assert_int_equal(t.cpu->cr2, 0x200000);
		xt_fini(&t);
	}
}

/* SSE3 and later are not advertised: #UD, and the first one of each is named on the log once. */
static void test_sse3_is_unimplemented(void **state)
{
	static const uint8_t code[] = { 0xf2, 0x0f, 0xd0, 0xc1, 0xf2, 0x0f, 0xd0, 0xc1 };	/* addsubps x2 */
	char *log = NULL;
	size_t log_len = 0;
	struct xt t;
	(void)state;
	setup_long(&t);
	t.cpu->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	t.cpu->log = open_memstream(&log, &log_len);
	assert_non_null(t.cpu->log);
	memcpy(t.ram + CODE, code, sizeof(code));
	x86_state_changed(t.cpu);
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 6);
	assert_int_equal(stack_at(&t, 0), CODE);
	t.cpu->rip = CODE + 4;
	t.cpu->halted = false;
	t.cpu->r[X86_RSP] = KSTACK;
	assert_int_equal(run(&t), X86_RUN_HLT);
	assert_int_equal(stack_at(&t, 0), CODE + 4);
	fclose(t.cpu->log);
	t.cpu->log = NULL;
	printf("# log: %s", log);
	assert_non_null(strstr(log, "unimplemented instruction 'addsubps' at 0x8000"));
	assert_null(strstr(strchr(log, '\n') + 1, "addsub"));	/* once */
	free(log);
	xt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_to_long),
		cmocka_unit_test(test_exceptions),
		cmocka_unit_test(test_fpu_exceptions),
		cmocka_unit_test(test_fpu_store_fault),
		cmocka_unit_test(test_double_and_triple_fault),
		cmocka_unit_test(test_smc),
		cmocka_unit_test(test_smc_wide_store),
		cmocka_unit_test(test_rep_strings),
		cmocka_unit_test(test_privilege_syscall_int),
		cmocka_unit_test(test_user_cannot_halt_or_touch_kernel_pages),
		cmocka_unit_test(test_real_mode_interrupt),
		cmocka_unit_test(test_debug_events),
		cmocka_unit_test(test_step_over_hlt_without_irqs),
		cmocka_unit_test(test_cs_limit_per_instruction),
		cmocka_unit_test(test_sse_faults),
		cmocka_unit_test(test_sse3_is_unimplemented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
