/* SPDX-License-Identifier: MIT */
/*
 * x86_prot_test — protection features of the interpreter CPU on a flat buffer (no VM): SMAP
 * (explicit accesses with EFLAGS.AC clear and set, implicit supervisor accesses, stac/clac at
 * CPL 3) and SMEP in long mode, each with a control run that must not fault.
 * Layout: identity map of 1 GiB with 2 MiB pages, [0, 2 MiB) supervisor, [2 MiB, 4 MiB) user;
 * GDT 0x12000, IDT 0x10000, handlers at 0x20000 (mov $vector, %al; pop %rcx if an error code;
 * hlt), code at 0x8000.
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
#define IDT 0x10000ull
#define TSS 0x11000ull
#define GDT 0x12000ull
#define HANDLERS 0x20000ull
#define KSTACK 0x70000ull
#define USER 0x200000ull	/* first byte of the user-accessible 2 MiB page */

#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)

static void gate64(struct xt *t, unsigned v, uint64_t h)
{
	uint64_t lo = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) & 0xffff) << 48;
	xt_w64(t, IDT + v * 16, lo);
	xt_w64(t, IDT + v * 16 + 8, h >> 32);
}

static void exception_handlers(struct xt *t)
{
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *p = t->ram + HANDLERS + v * 16;
		bool err = v == 8 || (v >= 10 && v <= 14) || v == 17;
		*p++ = 0xb0;
		*p++ = (uint8_t)v;
		if (err)
			*p++ = 0x59;
		*p = 0xf4;
		gate64(t, v, HANDLERS + v * 16);
	}
	t->cpu->idt.base = IDT;
	t->cpu->idt.limit = 256 * 16 - 1;
}

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
	exception_handlers(t);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smap_explicit),
		cmocka_unit_test(test_smap_off_allows_everything),
		cmocka_unit_test(test_smap_implicit),
		cmocka_unit_test(test_stac_clac_user),
		cmocka_unit_test(test_smep),
		cmocka_unit_test(test_cpuid_smep_smap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
