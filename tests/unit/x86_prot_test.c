/* SPDX-License-Identifier: MIT */
/*
 * x86_prot_test — protection features of the interpreter CPU on a flat buffer (no VM):
 * - SMAP (explicit accesses with EFLAGS.AC clear and set, implicit supervisor accesses, stac/clac
 *   at CPL 3) and SMEP in long mode, each with a control run that must not fault;
 * - call gates: a 32-bit gate from CPL 3 to CPL 0 with the TSS stack and two parameters copied,
 *   lret $8 back to CPL 3; a gate with DPL < CPL; a 64-bit gate in long mode and lretq back;
 * - hardware task switches in 32-bit protected mode: call to a TSS and iret (NT) back, jmp to a
 *   TSS, an exception through a task gate in the IDT with its error code, jmp to a busy TSS;
 * - virtual-8086 mode: entered by iret, real-mode segments, IOPL-sensitive pushf (#GP at IOPL 0),
 *   int n through a DPL-3 gate at IOPL 3 (the frame with ES/DS/FS/GS), lar is #UD.
 * Long mode: identity map of 1 GiB with 2 MiB pages, [0, 2 MiB) supervisor, [2 MiB, 4 MiB) user.
 * Both modes: GDT 0x12000, IDT 0x10000, handlers at 0x20000 (mov $vector, %al; pop %ecx/%rcx if
 * an error code; hlt), code at 0x8000.
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
#include "emu/x86/x86-local.h"

#define CODE 0x8000ull
#define IDT XT_IDT
#define TSS 0x11000ull
#define GDT 0x12000ull
#define HANDLERS XT_HANDLERS
#define KSTACK 0x70000ull
#define USER 0x200000ull	/* first byte of the user-accessible 2 MiB page */

#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)

/* Long mode at CPL 0 with the user page at USER; cr4_extra: SMEP/SMAP. */
static void setup(struct xt *t, uint32_t cr4_extra)
{
	struct x86_cpu *c;
	assert_int_equal(xt_init(t, 4 << 20), 0);
	c = t->cpu;
	c->log = NULL;
	xt_long_mode(t);
	xt_w64(t, 0x1000, 0x2007);
	xt_w64(t, 0x2000, 0x3007);
	for (uint64_t i = 0; i < 512; i++)
		xt_w64(t, 0x3000 + i * 8, (i << 21) | (i == 1 ? 0x87 : 0x83));
	xt_w64(t, GDT + 0x08, 0x00af9b000000ffffull);	/* 64-bit kernel code */
	xt_w64(t, GDT + 0x10, 0x00cf93000000ffffull);	/* kernel data */
	xt_w64(t, GDT + 0x18, 0x00cff3000000ffffull);	/* user data */
	xt_w64(t, GDT + 0x20, 0x00affb000000ffffull);	/* 64-bit user code */
	xt_w64(t, GDT + 0x28, 0x0000890000000067ull | ((TSS & 0xffffff) << 16));
	xt_w64(t, TSS + 4, KSTACK);	/* rsp0 */
	c->gdt.base = GDT;
	c->gdt.limit = 0x37;
	c->seg[X86_TR] = (struct x86_seg){ .base = TSS, .limit = 0x67, .ar = 0x8b, .sel = 0x28 };
	xt_exception_handlers(t);
	c->cr4 |= cr4_extra;
	c->r[X86_RSP] = KSTACK;
	c->r[X86_RBX] = USER;
	c->rip = CODE;
	x86_state_changed(c);
}

static enum x86_run_result run_code(struct xt *t, const uint8_t *code, size_t len)
{
	memcpy(t->ram + CODE, code, len);
	return x86_cpu_run(t->cpu, 100000);
}

static uint64_t stack64(const struct xt *t, uint64_t sp, unsigned slot)
{
	uint64_t v;
	memcpy(&v, t->ram + sp + slot * 8, 8);
	return v;
}

/* A #PF was delivered to the handler with this error code and CR2. */
static void assert_pf(struct xt *t, uint64_t err, uint64_t cr2)
{
	assert_int_equal(t->cpu->r[X86_RAX] & 0xff, 14);
	assert_int_equal(t->cpu->r[X86_RCX], err);
	assert_int_equal(t->cpu->cr2, cr2);
}

/* stac; mov (%rbx),%eax; mov %eax,%esi; clac; mov (%rbx),%eax; hlt */
static const uint8_t smap_read[] = { 0x0f, 0x01, 0xcb, 0x8b, 0x03, 0x89, 0xc6, 0x0f, 0x01, 0xca, 0x8b, 0x03, 0xf4 };
/* stac; movl $5,(%rbx); clac; movl $6,(%rbx); hlt */
static const uint8_t smap_write[] = { 0x0f, 0x01, 0xcb, 0xc7, 0x03, 5, 0, 0, 0, 0x0f, 0x01, 0xca, 0xc7, 0x03, 6, 0, 0, 0, 0xf4 };

static void test_smap_explicit(void **state)
{
	struct xt t;
	(void)state;
	setup(&t, CR4_SMAP);
	xt_w64(&t, USER, 0x1234);
	assert_int_equal(run_code(&t, smap_read, sizeof(smap_read)), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RSI], 0x1234);	/* read with AC set */
	assert_pf(&t, 0x1, USER);			/* read with AC clear: P, supervisor, read */
	xt_fini(&t);

	setup(&t, CR4_SMAP);
	assert_int_equal(run_code(&t, smap_write, sizeof(smap_write)), X86_RUN_HLT);
	assert_int_equal(t.ram[USER], 5);		/* written with AC set */
	assert_pf(&t, 0x3, USER);			/* write with AC clear */
	xt_fini(&t);
}

static void test_smap_off_allows_everything(void **state)
{
	struct xt t;
	(void)state;
	setup(&t, 0);
	xt_w64(&t, USER, 0x1234);
	assert_int_equal(run_code(&t, smap_read, sizeof(smap_read)), X86_RUN_HLT);
	assert_int_equal(t.cpu->rip, CODE + sizeof(smap_read));
	assert_int_equal(t.cpu->r[X86_RAX], 0x1234);
	xt_fini(&t);
}

/* The walker sets Accessed and Dirty (a locked OR: other bits another vCPU changed stay). */
static void test_accessed_dirty(void **state)
{
	struct xt t;
	uint64_t pde;
	(void)state;
	setup(&t, 0);
	assert_int_equal(run_code(&t, smap_write, sizeof(smap_write)), X86_RUN_HLT);
	memcpy(&pde, t.ram + 0x3008, 8);
	assert_int_equal(pde, USER | 0x87 | 0x60);
	xt_fini(&t);
}

/* A descriptor-table read is an implicit supervisor access: EFLAGS.AC does not allow it. */
static void test_smap_implicit(void **state)
{
	/* stac; mov $0x0c,%ax; mov %ax,%ds; hlt (selector 0x0c: LDT entry 1, in the user page) */
	static const uint8_t code[] = { 0x0f, 0x01, 0xcb, 0x66, 0xb8, 0x0c, 0x00, 0x8e, 0xd8, 0xf4 };
	for (int smap = 0; smap < 2; smap++) {
		struct xt t;
		setup(&t, smap ? CR4_SMAP : 0);
		t.cpu->seg[X86_LDTR] = (struct x86_seg){ .base = USER, .limit = 0xff, .ar = 0x82, .sel = 0x30 };
		xt_w64(&t, USER + 8, 0x00cf93000000ffffull);
		assert_int_equal(run_code(&t, code, sizeof(code)), X86_RUN_HLT);
		if (smap) {
			assert_pf(&t, 0x1, USER + 8);
		} else {
			assert_int_equal(t.cpu->seg[X86_DS].sel, 0x0c);
			assert_int_equal(t.cpu->rip, CODE + sizeof(code));
		}
		xt_fini(&t);
	}
	(void)state;
}

/* stac and clac are #UD at CPL 3. */
static void test_stac_clac_user(void **state)
{
	static const uint8_t insns[2][4] = { { 0x0f, 0x01, 0xcb, 0xf4 }, { 0x0f, 0x01, 0xca, 0xf4 } };
	for (int i = 0; i < 2; i++) {
		struct xt t;
		setup(&t, CR4_SMAP);
		memcpy(t.ram + USER, insns[i], 4);
		xt_flat(&t.cpu->seg[X86_CS], 0x23, 0xa0fb);
		xt_flat(&t.cpu->seg[X86_SS], 0x1b, 0xc0f3);
		t.cpu->rip = USER;
		t.cpu->r[X86_RSP] = USER + 0x1000;
		x86_state_changed(t.cpu);
		assert_int_equal(t.cpu->cpl, 3);
		assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
		assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 6);
		assert_int_equal(t.cpu->cpl, 0);
		xt_fini(&t);
	}
	(void)state;
}

/* SMEP: a supervisor fetch from a user page is #PF with I/D set (P | I = 0x11). */
static void test_smep(void **state)
{
	static const uint8_t code[] = { 0xff, 0xe3 };	/* jmp *%rbx */
	for (int smep = 0; smep < 2; smep++) {
		struct xt t;
		setup(&t, smep ? CR4_SMEP : 0);
		t.ram[USER] = 0xf4;
		assert_int_equal(run_code(&t, code, sizeof(code)), X86_RUN_HLT);
		if (smep)
			assert_pf(&t, 0x11, USER);
		else
			assert_int_equal(t.cpu->rip, USER + 1);
		xt_fini(&t);
	}
	(void)state;
}

/* CPUID leaf 7 reports SMEP and SMAP: both are implemented. */
static void test_cpuid_smep_smap(void **state)
{
	struct xt t;
	uint32_t o[4];
	(void)state;
	setup(&t, 0);
	x86_cpuid(t.cpu, 7, 0, o);
	assert_true(o[1] & (1u << 7));
	assert_true(o[1] & (1u << 20));
	xt_fini(&t);
}

/* ---- call gates and task switches ---- */

#define TSS_A 0x11000ull
#define TSS_B 0x11100ull
#define KGATE 0xa000ull
#define UCODE 0x9000ull
#define TASKB 0xb000ull
#define USTACK 0x60000ull
#define BSTACK 0x50000ull

extern const uint8_t ucall_start[], ucall_end[], kgate_start[], kgate_end[], acall_start[], acall_end[];
extern const uint8_t taskb_start[], taskb_end[], agp_start[], agp_end[], bgp_start[], bgp_end[];
extern const uint8_t u64call_start[], u64call_end[], k64gate_start[], k64gate_end[];

__asm__(".pushsection .rodata\n.code32\n"
	/* CPL 3: two parameters, far call through the gate 0x38, then #UD to stop */
	"ucall_start:\n"
	"	push $0x1111\n"
	"	push $0x2222\n"
	"	lcall $0x3b, $0\n"
	"	ud2\n"
	"ucall_end:\n"
	/* the gate's target (CPL 0): note the stack, return releasing the two parameters */
	"kgate_start:\n"
	"	mov %esp, %esi\n"
	"	mov 4(%esp), %ebx\n"
	"	mov 8(%esp), %ecx\n"
	"	mov 12(%esp), %edx\n"
	"	mov 16(%esp), %edi\n"
	"	mov 20(%esp), %ebp\n"
	"	lret $8\n"
	"kgate_end:\n"
	/* task A: call task B (TSS 0x30), then stop */
	"acall_start:\n"
	"	mov $0xaaaa, %eax\n"
	"	lcall $0x30, $0\n"
	"	hlt\n"
	"acall_end:\n"
	/* task B: look at EFLAGS (NT), return to the caller */
	"taskb_start:\n"
	"	pushf\n"
	"	pop %ecx\n"
	"	mov $0xbbbb, %edx\n"
	"	iret\n"
	"taskb_end:\n"
	/* task A: a #GP (selector 0x38 is a gate, not data) */
	"agp_start:\n"
	"	mov $0x38, %eax\n"
	"	mov %eax, %ds\n"
	"	hlt\n"
	"agp_end:\n"
	/* task B as the #GP handler: take the error code */
	"bgp_start:\n"
	"	pop %eax\n"
	"	pushf\n"
	"	pop %ecx\n"
	"	hlt\n"
	"bgp_end:\n"
	".code64\n"
	/* CPL 3 in long mode: far call through the 64-bit gate 0x38 (pointer at 0x200100) */
	"u64call_start:\n"
	"	lcall *0x100(%rbx)\n"
	"	ud2\n"
	"u64call_end:\n"
	"k64gate_start:\n"
	"	mov %rsp, %rsi\n"
	"	mov (%rsp), %r8\n"
	"	mov 8(%rsp), %r9\n"
	"	mov 16(%rsp), %r10\n"
	"	mov 24(%rsp), %r11\n"
	"	lretq\n"
	"k64gate_end:\n"
	".popsection\n");

static void w32(struct xt *t, uint64_t a, uint32_t v) { memcpy(t->ram + a, &v, 4); }
static uint32_t r32(const struct xt *t, uint64_t a) { uint32_t v; memcpy(&v, t->ram + a, 4); return v; }

static uint64_t gate_desc(uint64_t off, uint16_t sel, unsigned type_p_dpl, unsigned params)
{
	return (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)params << 32) | ((uint64_t)type_p_dpl << 40) |
	       ((off >> 16) & 0xffff) << 48;
}

static uint64_t tss_desc32(uint64_t base, unsigned type)
{
	return 0x67 | ((base & 0xffffff) << 16) | ((uint64_t)(0x80 | type) << 40) | ((base >> 24) << 56);
}

static void blob(struct xt *t, uint64_t a, const uint8_t *start, const uint8_t *end)
{
	memcpy(t->ram + a, start, (size_t)(end - start));
}

/* A TSS image for a CPL-0 task at eip with flat segments. */
static void tss_task(struct xt *t, uint64_t tss, uint64_t eip, uint64_t esp)
{
	memset(t->ram + tss, 0, 0x68);
	w32(t, tss + 0x20, (uint32_t)eip);
	w32(t, tss + 0x24, 2);
	w32(t, tss + 0x38, (uint32_t)esp);
	w32(t, tss + 0x4c, 0x08);	/* CS */
	for (unsigned off = 0x48; off <= 0x5c; off += 4)
		if (off != 0x4c)
			w32(t, tss + off, 0x10);
}

/* 32-bit protected mode, CPL 0, TR = task A (0x28, busy); GDT: 0x08/0x10 kernel code/data,
 * 0x18/0x20 user code/data, 0x28 TSS A, 0x30 TSS B, 0x38 32-bit call gate (DPL 3, 2 params). */
static void setup32(struct xt *t)
{
	struct x86_cpu *c;
	assert_int_equal(xt_init(t, 4 << 20), 0);
	c = t->cpu;
	c->log = NULL;
	xt_prot32(t);
	xt_w64(t, GDT + 0x08, 0x00cf9b000000ffffull);
	xt_w64(t, GDT + 0x10, 0x00cf93000000ffffull);
	xt_w64(t, GDT + 0x18, 0x00cffb000000ffffull);
	xt_w64(t, GDT + 0x20, 0x00cff3000000ffffull);
	xt_w64(t, GDT + 0x28, tss_desc32(TSS_A, 0xb));
	xt_w64(t, GDT + 0x30, tss_desc32(TSS_B, 0x9));
	xt_w64(t, GDT + 0x38, gate_desc(KGATE, 0x08, 0xec, 2));
	c->gdt.base = GDT;
	c->gdt.limit = 0x3f;
	memset(t->ram + TSS_A, 0, 0x68);
	w32(t, TSS_A + 4, 0x70000);	/* esp0 */
	w32(t, TSS_A + 8, 0x10);	/* ss0 */
	c->seg[X86_TR] = (struct x86_seg){ .base = TSS_A, .limit = 0x67, .ar = 0x8b, .sel = 0x28 };
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *p = t->ram + HANDLERS + v * 16;
		*p++ = 0xb0;
		*p++ = (uint8_t)v;
		if (v == 8 || (v >= 10 && v <= 14) || v == 17)
			*p++ = 0x59;
		*p = 0xf4;
		xt_w64(t, IDT + v * 8, gate_desc(HANDLERS + v * 16, 0x08, 0x8e, 0));
	}
	c->idt.base = IDT;
	c->idt.limit = 256 * 8 - 1;
	xt_flat(&c->seg[X86_CS], 0x08, 0xc09b);
	xt_flat(&c->seg[X86_SS], 0x10, 0xc093);
	c->r[X86_RSP] = 0x70000;
	c->rip = CODE;
	x86_state_changed(c);
}

static void to_cpl3(struct xt *t, uint64_t rip, uint64_t rsp)
{
	struct x86_cpu *c = t->cpu;
	xt_flat(&c->seg[X86_CS], 0x1b, 0xc0fb);
	for (int s = X86_ES; s <= X86_GS; s++)
		if (s != X86_CS)
			xt_flat(&c->seg[s], 0x23, 0xc0f3);
	c->rip = rip;
	c->r[X86_RSP] = rsp;
	x86_state_changed(c);
	assert_int_equal(c->cpl, 3);
}

static void test_call_gate32(void **state)
{
	struct xt t;
	uint64_t inner = 0x70000 - 24;
	(void)state;
	setup32(&t);
	blob(&t, UCODE, ucall_start, ucall_end);
	blob(&t, KGATE, kgate_start, kgate_end);
	to_cpl3(&t, UCODE, USTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 6);		/* back at CPL 3: the ud2 */
	assert_int_equal(t.cpu->r[X86_RSI], inner);		/* the gate ran on the TSS stack */
	/* the gate's frame, copied by the gate: CS, the parameters in the caller's order, ESP, SS */
	assert_int_equal(t.cpu->r[X86_RBX], 0x1b);
	assert_int_equal(t.cpu->r[X86_RCX], 0x2222);
	assert_int_equal(t.cpu->r[X86_RDX], 0x1111);
	assert_int_equal(t.cpu->r[X86_RDI], USTACK - 8);
	assert_int_equal(t.cpu->r[X86_RBP], 0x23);
	/* the #UD frame (CPL 3 -> 0): EIP, CS, EFLAGS, ESP, SS; lret $8 released the parameters */
	assert_int_equal(r32(&t, 0x70000 - 20), UCODE + (ucall_end - ucall_start) - 2);
	assert_int_equal(r32(&t, 0x70000 - 16), 0x1b);
	assert_int_equal(r32(&t, 0x70000 - 8), USTACK);
	assert_int_equal(r32(&t, 0x70000 - 4), 0x23);
	xt_fini(&t);
}

/* A 16-bit call gate: 16-bit pushes of SS, SP, one parameter, CS, IP on the inner stack. */
static void test_call_gate16(void **state)
{
	struct xt t;
	/* pushw $0x5555; lcall $0x3b,$0; ud2 */
	static const uint8_t ucode[] = { 0x66, 0x68, 0x55, 0x55, 0x9a, 0, 0, 0, 0, 0x3b, 0, 0x0f, 0x0b };
	/* mov %esp,%esi; movzwl 0/2/4/6/8(%esp) to %ebx %ecx %edx %edi %ebp; lretw $2 */
	static const uint8_t kcode[] = { 0x89, 0xe6, 0x0f, 0xb7, 0x1c, 0x24, 0x0f, 0xb7, 0x4c, 0x24, 0x02,
					 0x0f, 0xb7, 0x54, 0x24, 0x04, 0x0f, 0xb7, 0x7c, 0x24, 0x06,
					 0x0f, 0xb7, 0x6c, 0x24, 0x08, 0x66, 0xca, 0x02, 0x00 };
	uint64_t inner = 0x70000 - 10;
	(void)state;
	setup32(&t);
	xt_w64(&t, GDT + 0x38, gate_desc(KGATE, 0x08, 0xe4, 1));
	memcpy(t.ram + UCODE, ucode, sizeof(ucode));
	memcpy(t.ram + KGATE, kcode, sizeof(kcode));
	to_cpl3(&t, UCODE, USTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 6);			/* back at CPL 3: the ud2 */
	assert_int_equal(t.cpu->r[X86_RSI], inner);
	assert_int_equal(t.cpu->r[X86_RBX], UCODE + 11);		/* IP, CS (copied by the gate) */
	assert_int_equal(t.cpu->r[X86_RCX], 0x1b);
	assert_int_equal(t.cpu->r[X86_RDX], 0x5555);			/* the parameter */
	assert_int_equal(t.cpu->r[X86_RDI], (USTACK - 2) & 0xffff);	/* SP, SS */
	assert_int_equal(t.cpu->r[X86_RBP], 0x23);
	xt_fini(&t);
}

static void test_call_gate_dpl(void **state)
{
	struct xt t;
	(void)state;
	setup32(&t);
	xt_w64(&t, GDT + 0x38, gate_desc(KGATE, 0x08, 0x8c, 0));	/* DPL 0 */
	blob(&t, UCODE, ucall_start, ucall_end);
	to_cpl3(&t, UCODE, USTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 13);
	assert_int_equal(t.cpu->r[X86_RCX], 0x38);
	xt_fini(&t);
}

static uint8_t desc_type(const struct xt *t, uint16_t sel)
{
	return t->ram[GDT + sel + 5] & 15;
}

static void test_task_call_iret(void **state)
{
	struct xt t;
	(void)state;
	setup32(&t);
	blob(&t, CODE, acall_start, acall_end);
	blob(&t, TASKB, taskb_start, taskb_end);
	tss_task(&t, TSS_B, TASKB, BSTACK);
	w32(&t, TSS_B + 0x28, 0xb0);	/* task B's EAX */
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->rip, CODE + acall_end - acall_start);	/* task A resumed after the call */
	assert_int_equal(t.cpu->r[X86_RAX], 0xaaaa);			/* A's registers back */
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x28);
	assert_int_equal(x86_get_rflags(t.cpu) & X86_NT, 0);
	assert_true(t.cpu->cr0 & 8);					/* CR0.TS */
	/* task B saved by its iret: NT was set in B, EDX, EIP after the iret; back link to A */
	assert_true(r32(&t, TSS_B + 0x2c) & X86_NT);
	assert_int_equal(r32(&t, TSS_B + 0x30), 0xbbbb);
	assert_int_equal(r32(&t, TSS_B + 0x20), TASKB + taskb_end - taskb_start);
	assert_int_equal(r32(&t, TSS_B + 0x28), 0xb0);
	assert_int_equal(r32(&t, TSS_B + 0) & 0xffff, 0x28);
	assert_int_equal(desc_type(&t, 0x30), 9);			/* B available again, A busy */
	assert_int_equal(desc_type(&t, 0x28), 0xb);
	xt_fini(&t);
}

static void test_task_jmp(void **state)
{
	struct xt t;
	static const uint8_t jmp_b[] = { 0xb8, 0x77, 0, 0, 0, 0xea, 0, 0, 0, 0, 0x30, 0 };	/* mov $0x77,%eax; ljmp $0x30,$0 */
	static const uint8_t hlt = 0xf4;
	(void)state;
	setup32(&t);
	memcpy(t.ram + CODE, jmp_b, sizeof(jmp_b));
	memcpy(t.ram + TASKB, &hlt, 1);
	tss_task(&t, TSS_B, TASKB, BSTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->rip, TASKB + 1);
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x30);
	assert_int_equal(t.cpu->r[X86_RSP], BSTACK);
	assert_int_equal(x86_get_rflags(t.cpu) & X86_NT, 0);		/* jmp: not nested */
	assert_int_equal(desc_type(&t, 0x28), 9);			/* A no longer busy */
	assert_int_equal(desc_type(&t, 0x30), 0xb);
	assert_int_equal(r32(&t, TSS_A + 0x28), 0x77);			/* A's EAX and EIP saved */
	assert_int_equal(r32(&t, TSS_A + 0x20), CODE + sizeof(jmp_b));
	xt_fini(&t);
}

static void test_task_gate_exception(void **state)
{
	struct xt t;
	(void)state;
	setup32(&t);
	blob(&t, CODE, agp_start, agp_end);
	blob(&t, TASKB, bgp_start, bgp_end);
	tss_task(&t, TSS_B, TASKB, BSTACK);
	xt_w64(&t, IDT + 13 * 8, gate_desc(0, 0x30, 0x85, 0));	/* #GP: task gate to TSS B */
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x30);
	assert_int_equal(t.cpu->r[X86_RAX], 0x38);			/* the error code, on B's stack */
	assert_int_equal(t.cpu->r[X86_RSP], BSTACK);
	assert_true(t.cpu->r[X86_RCX] & X86_NT);			/* nested in A */
	assert_int_equal(r32(&t, TSS_B) & 0xffff, 0x28);
	assert_int_equal(r32(&t, TSS_A + 0x20), CODE + 5);		/* A's EIP: the faulting mov */
	xt_fini(&t);
}

static void test_task_busy(void **state)
{
	struct xt t;
	static const uint8_t jmp_a[] = { 0xea, 0, 0, 0, 0, 0x28, 0 };	/* ljmp $0x28,$0: A is busy */
	(void)state;
	setup32(&t);
	memcpy(t.ram + CODE, jmp_a, sizeof(jmp_a));
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 13);
	assert_int_equal(t.cpu->r[X86_RCX], 0x28);
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x28);
	xt_fini(&t);
}

/* call through a task gate in the GDT (0x40 -> TSS B), iret back; then a TSS below the minimum
 * limit (0x67) is #TS with its selector. */
static void test_task_gate_call_and_ts(void **state)
{
	struct xt t;
	static const uint8_t call_gate[] = { 0x9a, 0, 0, 0, 0, 0x40, 0, 0xf4 };	/* lcall $0x40,$0; hlt */
	(void)state;
	setup32(&t);
	xt_w64(&t, GDT + 0x40, gate_desc(0, 0x30, 0x85, 0));
	t.cpu->gdt.limit = 0x47;
	memcpy(t.ram + CODE, call_gate, sizeof(call_gate));
	blob(&t, TASKB, taskb_start, taskb_end);
	tss_task(&t, TSS_B, TASKB, BSTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->rip, CODE + sizeof(call_gate));
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x28);
	assert_int_equal(r32(&t, TSS_B + 0x30), 0xbbbb);		/* task B ran */
	assert_int_equal(r32(&t, TSS_B) & 0xffff, 0x28);
	xt_fini(&t);

	setup32(&t);
	xt_w64(&t, GDT + 0x30, tss_desc32(TSS_B, 0x9) - 0x67 + 0x50);	/* limit 0x50 */
	memcpy(t.ram + CODE, call_gate, sizeof(call_gate));
	t.ram[CODE + 5] = 0x30;	/* lcall $0x30,$0 */
	tss_task(&t, TSS_B, TASKB, BSTACK);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 10);			/* #TS(0x30) in task A */
	assert_int_equal(t.cpu->r[X86_RCX], 0x30);
	assert_int_equal(t.cpu->seg[X86_TR].sel, 0x28);
	xt_fini(&t);
}

/* Long mode: a 64-bit call gate from CPL 3 to CPL 0 (RSP from TSS.rsp0, SS null) and lretq back. */
static void test_call_gate64(void **state)
{
	struct xt t;
	struct x86_cpu *c;
	uint64_t inner = KSTACK - 32;
	(void)state;
	setup(&t, 0);
	c = t.cpu;
	xt_w64(&t, GDT + 0x38, gate_desc(KGATE, 0x08, 0xec, 0));
	xt_w64(&t, GDT + 0x40, 0);
	c->gdt.limit = 0x47;
	blob(&t, USER, u64call_start, u64call_end);
	blob(&t, KGATE, k64gate_start, k64gate_end);
	w32(&t, USER + 0x100, 0);
	t.ram[USER + 0x104] = 0x3b;
	t.ram[USER + 0x105] = 0;
	xt_flat(&c->seg[X86_CS], 0x23, 0xa0fb);
	xt_flat(&c->seg[X86_SS], 0x1b, 0xc0f3);
	c->rip = USER;
	c->r[X86_RSP] = USER + 0x1000;
	x86_state_changed(c);
	assert_int_equal(x86_cpu_run(c, 1000), X86_RUN_HLT);
	assert_int_equal(c->r[X86_RAX] & 0xff, 6);			/* back at CPL 3: the ud2 */
	assert_int_equal(c->r[X86_RSI], inner);
	assert_int_equal(c->r[8], USER + (u64call_end - u64call_start) - 2);	/* RIP after the lcall */
	assert_int_equal(c->r[9], 0x23);					/* CS, RSP, SS */
	assert_int_equal(c->r[10], USER + 0x1000);
	assert_int_equal(c->r[11], 0x1b);
	assert_int_equal(stack64(&t, KSTACK - 40, 1), 0x23);		/* the #UD frame: from CPL 3 */
	assert_int_equal(stack64(&t, KSTACK - 40, 3), USER + 0x1000);
	xt_fini(&t);
}

/* ---- virtual-8086 mode ---- */

#define V86_CODE 0x9000ull	/* CS 0x0900 */

extern const uint8_t v86_enter_start[], v86_enter_end[];

__asm__(".pushsection .rodata\n.code32\n"
	/* CPL 0: iret into virtual-8086 mode with EFLAGS = %ebx, CS:IP 0900:0000, SS:SP 2000:0100 */
	"v86_enter_start:\n"
	"	push $0\n"		/* GS */
	"	push $0\n"		/* FS */
	"	push $0x1000\n"		/* DS */
	"	push $0\n"		/* ES */
	"	push $0x2000\n"		/* SS */
	"	push $0x100\n"		/* ESP */
	"	push %ebx\n"		/* EFLAGS */
	"	push $0x0900\n"		/* CS */
	"	push $0\n"		/* EIP */
	"	iret\n"
	"v86_enter_end:\n"
	".code64\n"
	".popsection\n");

/* mov $0x1234,%ax; mov %ax,0x10; pushf; pop %dx; int $0x21 (16-bit) */
static const uint8_t v86_code[] = { 0xb8, 0x34, 0x12, 0xa3, 0x10, 0x00, 0x9c, 0x5a, 0xcd, 0x21 };

static void setup_v86(struct xt *t, unsigned iopl)
{
	setup32(t);
	blob(t, CODE, v86_enter_start, v86_enter_end);
	memcpy(t->ram + V86_CODE, v86_code, sizeof(v86_code));
	xt_w64(t, IDT + 0x21 * 8, gate_desc(HANDLERS + 0x21 * 16, 0x08, 0xee, 0));	/* DPL 3 */
	t->ram[HANDLERS + 0x21 * 16] = 0xb0;
	t->ram[HANDLERS + 0x21 * 16 + 1] = 0x21;
	t->ram[HANDLERS + 0x21 * 16 + 2] = 0xf4;
	t->cpu->r[X86_RBX] = X86_VM | (iopl << 12) | 2;
}

/* The frame an interrupt out of virtual-8086 mode leaves (from EIP up): EIP, CS, EFLAGS, ESP, SS,
 * ES, DS, FS, GS; the data segment registers are null afterwards. */
static void assert_v86_frame(struct xt *t, uint64_t eip)
{
	uint64_t f = 0x70000 - 36;
	assert_int_equal(r32(t, f + 0), eip);
	assert_int_equal(r32(t, f + 4), 0x0900);
	assert_true(r32(t, f + 8) & X86_VM);
	assert_int_equal(r32(t, f + 12), 0x100);
	assert_int_equal(r32(t, f + 16), 0x2000);
	assert_int_equal(r32(t, f + 20), 0);
	assert_int_equal(r32(t, f + 24), 0x1000);
	assert_int_equal(t->cpu->cpl, 0);
	assert_int_equal(x86_get_rflags(t->cpu) & X86_VM, 0);
	assert_int_equal(t->cpu->seg[X86_DS].sel, 0);
	assert_int_equal(r32(t, 0x10010) & 0xffff, 0x1234);	/* DS base 0x10000 in virtual-8086 mode */
}

/* IOPL 0: pushf is #GP(0), delivered to CPL 0 with the segment registers on the stack. */
static void test_v86_iopl0(void **state)
{
	struct xt t;
	(void)state;
	setup_v86(&t, 0);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 13);
	assert_int_equal(t.cpu->r[X86_RCX], 0);
	assert_v86_frame(&t, 6);	/* the pushf */
	xt_fini(&t);
}

/* IOPL 3: pushf works (IOPL 3 in the image), int $0x21 goes through a DPL-3 gate to CPL 0. */
static void test_v86_iopl3_int(void **state)
{
	struct xt t;
	(void)state;
	setup_v86(&t, 3);
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 0x21);
	assert_int_equal(t.cpu->r[X86_RDX] & 0x3000, 0x3000);
	assert_v86_frame(&t, sizeof(v86_code));	/* after the int */
	xt_fini(&t);
}

/* Descriptor instructions are #UD in virtual-8086 mode. */
static void test_v86_lar_ud(void **state)
{
	struct xt t;
	static const uint8_t lar[] = { 0x0f, 0x02, 0xc0 };	/* lar %ax,%ax */
	(void)state;
	setup_v86(&t, 0);
	memcpy(t.ram + V86_CODE, lar, sizeof(lar));
	assert_int_equal(x86_cpu_run(t.cpu, 1000), X86_RUN_HLT);
	assert_int_equal(t.cpu->r[X86_RAX] & 0xff, 6);
	xt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smap_explicit),
		cmocka_unit_test(test_smap_off_allows_everything),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_smap_implicit),
		cmocka_unit_test(test_stac_clac_user),
		cmocka_unit_test(test_smep),
		cmocka_unit_test(test_cpuid_smep_smap),
		cmocka_unit_test(test_call_gate32),
		cmocka_unit_test(test_call_gate16),
		cmocka_unit_test(test_call_gate_dpl),
		cmocka_unit_test(test_call_gate64),
		cmocka_unit_test(test_task_call_iret),
		cmocka_unit_test(test_task_jmp),
		cmocka_unit_test(test_task_gate_exception),
		cmocka_unit_test(test_task_busy),
		cmocka_unit_test(test_task_gate_call_and_ts),
		cmocka_unit_test(test_v86_iopl0),
		cmocka_unit_test(test_v86_iopl3_int),
		cmocka_unit_test(test_v86_lar_ud),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
