/* SPDX-License-Identifier: MIT */
/* handlers.h — prototypes of every instruction handler named in insns.def, plus operand access. */
#ifndef VMSCOPE_EMU_X86_HANDLERS_H
#define VMSCOPE_EMU_X86_HANDLERS_H

#include "emu/x86/x86-local.h"

#define X(m, fn, fl) void fn(struct x86_cpu *cpu, const struct x86_insn *in);
#include "emu/x86/insns.def"
#undef X
void x86_mov_cr(struct x86_cpu *cpu, const struct x86_insn *in);
void x86_mov_dr(struct x86_cpu *cpu, const struct x86_insn *in);
void x86_exception_entry(struct x86_cpu *cpu);
/* Locked read-modify-write (lock prefix, xchg with memory): atomic across vCPUs (lock.c). */
void x86_h_locked(struct x86_cpu *cpu, const struct x86_insn *in);
/* SSE handlers reached through x86_sse_alias (Zydis names them like the string instructions). */
void x86_h_movsd_sse(struct x86_cpu *cpu, const struct x86_insn *in);
void x86_h_cmpsd_sse(struct x86_cpu *cpu, const struct x86_insn *in);
x86_handler x86_sse_alias(const struct x86_insn *in, x86_handler fn);
/* A faster handler for the same instruction when its operands allow one, else in->fn. */
x86_handler x86_specialize(const struct x86_insn *in);
/* Per-block flag liveness: a register-only instruction whose arithmetic flags are all
 * overwritten before anything could read them (a later instruction of the block; every handler
 * outside exec-fast.c, and the block's end, count as reading all) gets its flag-less variant. */
void x86_flags_liveness(struct x86_insn *insns, unsigned n);
/* Sets CF and OF after a rotate, keeping the other four (lazily) as they were. */
void x86_rot_flags(struct x86_cpu *cpu, bool cf, bool of);
/* Takes the relative branch of in (jcc/jmp rel): target checks, then next_rip. */
void x86_branch_rel(struct x86_cpu *cpu, const struct x86_insn *in);

/* Effective address of the instruction's memory operand (address-size wrapped). */
static inline __attribute__((always_inline)) uint64_t x86_ea(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a = (uint64_t)in->disp;
	if (in->base != X86_NOREG)
		a += in->base == X86_RIPREL ? cpu->next_rip : cpu->r[in->base];
	if (in->index != X86_NOREG)
		a += cpu->r[in->index] << in->scale;
	return a & x86_mask(in->asz);
}

static inline __attribute__((always_inline)) uint64_t x86_op_lin(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, bool write)
{
	return x86_lin(cpu, in->seg, x86_ea(cpu, in), size, write);
}

/* Read operand i (zero-extended to 64 bits). */
static inline __attribute__((always_inline)) uint64_t x86_rd(struct x86_cpu *cpu, const struct x86_insn *in, unsigned i)
{
	const struct x86_opnd *o = &in->op[i];
	switch (o->type) {
	case X86_OT_REG: return x86_get_reg(cpu, o->reg, o->size, o->hi8);
	case X86_OT_MEM: return x86_read_lin(cpu, x86_op_lin(cpu, in, o->size, false), o->size);
	case X86_OT_IMM: return in->imm & x86_mask(in->op[0].size);	/* sign-extended to the destination */
	case X86_OT_SREG: return cpu->seg[o->reg].sel;
	default: x86_ud(cpu);
	}
}

static inline __attribute__((always_inline)) void x86_wr(struct x86_cpu *cpu, const struct x86_insn *in, unsigned i, uint64_t v)
{
	const struct x86_opnd *o = &in->op[i];
	if (o->type == X86_OT_REG)
		x86_set_reg(cpu, o->reg, o->size, o->hi8, v);
	else if (o->type == X86_OT_MEM)
		x86_write_lin(cpu, x86_op_lin(cpu, in, o->size, true), o->size, v);
	else
		x86_ud(cpu);
}

/* Read-modify-write destination (operand 0): read once, write back to the same place. */
struct x86_rmw {
	uint64_t lin;
};

static inline __attribute__((always_inline)) uint64_t x86_rmw_read(struct x86_cpu *cpu, const struct x86_insn *in, struct x86_rmw *m)
{
	const struct x86_opnd *o = &in->op[0];
	m->lin = 0;
	if (o->type == X86_OT_REG)
		return x86_get_reg(cpu, o->reg, o->size, o->hi8);
	if (o->type != X86_OT_MEM)
		x86_ud(cpu);
	m->lin = x86_op_lin(cpu, in, o->size, true);
	return x86_read_lin(cpu, m->lin, o->size);
}

static inline __attribute__((always_inline)) void x86_rmw_write(struct x86_cpu *cpu, const struct x86_insn *in, const struct x86_rmw *m, uint64_t v)
{
	const struct x86_opnd *o = &in->op[0];
	if (o->type == X86_OT_REG)
		x86_set_reg(cpu, o->reg, o->size, o->hi8, v);
	else
		x86_write_lin(cpu, m->lin, o->size, v);
}

static inline unsigned x86_msb_shift(unsigned size)
{
	return size * 8 - 1;
}

#endif
