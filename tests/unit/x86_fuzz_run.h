/* SPDX-License-Identifier: MIT */
/*
 * x86_fuzz_run.h — runs arbitrary bytes as guest code in one of the CPU modes, bounded by an
 * instruction budget. Shared by the make-check random-bytes test and the libFuzzer target.
 * The property: the interpreter returns (never crashes, hangs or touches host memory outside the
 * guest's RAM); guest faults become guest exceptions or a triple fault.
 */
#ifndef VMSCOPE_TESTS_X86_FUZZ_RUN_H
#define VMSCOPE_TESTS_X86_FUZZ_RUN_H

#include "tests/unit/x86_test_util.h"

#define XF_RAM (2u << 20)
#define XF_CODE 0x100000u
#define XF_MODES 5

/* IDT entries point at hlt (so some exceptions return to the run loop gracefully). */
static inline void xf_idt(struct xt *t, bool long_mode)
{
	t->ram[0x9000] = 0xf4;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t lo = 0x9000 | (0x08ull << 16) | (0x8eull << 40);
		if (long_mode) {
			xt_w64(t, 0xa000 + v * 16, lo);
			xt_w64(t, 0xa000 + v * 16 + 8, 0);
		} else {
			xt_w64(t, 0xa000 + v * 8, lo);
		}
	}
	t->cpu->idt.base = 0xa000;
	t->cpu->idt.limit = long_mode ? 4095 : 2047;
	xt_w64(t, 0xc008, long_mode ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull);
	xt_w64(t, 0xc010, 0x00cf93000000ffffull);
	t->cpu->gdt.base = 0xc000;
	t->cpu->gdt.limit = 0x17;
}

/* mode: 0 real, 1 prot16, 2 prot32, 3 long64, 4 compat32. */
static inline void xf_setup(struct xt *t, unsigned mode)
{
	struct x86_cpu *c = t->cpu;
	x86_cpu_reset(c);
	memset(t->ram, 0, 0x10000);
	switch (mode % XF_MODES) {
	case 0:
		c->seg[X86_CS].sel = 0xf000;
		c->seg[X86_CS].base = 0xf0000;
		c->rip = XF_CODE - 0xf0000;
		c->idt.limit = 0x3ff;
		break;
	case 1:
		xt_prot32(t);
		c->seg[X86_CS].ar &= ~X86_AR_DB;
		c->seg[X86_SS].ar &= ~X86_AR_DB;
		c->rip = XF_CODE;
		xf_idt(t, false);
		break;
	case 2:
		xt_prot32(t);
		c->rip = XF_CODE;
		xf_idt(t, false);
		break;
	case 3:
		xt_long_mode(t);
		c->rip = XF_CODE;
		xf_idt(t, true);
		break;
	default:
		xt_long_mode(t);
		c->seg[X86_CS].ar = 0xc09b;
		c->rip = XF_CODE;
		xf_idt(t, true);
		break;
	}
	c->r[X86_RSP] = 0x8000;
	x86_state_changed(c);
}

/* Runs len bytes of code (at most 4 KiB) in the given mode; returns the run result. */
static inline enum x86_run_result xf_run(struct xt *t, unsigned mode, const uint8_t *code, size_t len,
					 uint64_t budget)
{
	enum x86_run_result r = X86_RUN_BUDGET;
	if (len > 4096)
		len = 4096;
	xf_setup(t, mode);
	memset(t->ram + XF_CODE, 0xf4, 8192);
	memcpy(t->ram + XF_CODE, code, len);
	x86_invalidate_code(t->cpu, 0, XF_RAM);
	for (unsigned k = 0; k < 4 && r != X86_RUN_SHUTDOWN; k++) {
		r = x86_cpu_run(t->cpu, budget);
		if (r == X86_RUN_HLT) {	/* continue past hlt (a handler halted): keep going a bit */
			t->cpu->halted = false;
			t->cpu->rip = XF_CODE + (uint64_t)(k * 97 % (len ? len : 1));
			if (t->cpu->mode == X86_MODE_REAL)
				t->cpu->rip -= 0xf0000;
		}
	}
	return r;
}

#endif
