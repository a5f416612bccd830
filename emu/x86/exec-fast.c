/* SPDX-License-Identifier: MIT */
/*
 * exec-fast.c — specialised handlers for the hottest forms (register/register and register/
 * immediate ALU operations, moves, inc/dec and shifts by an immediate, on 32- and 64-bit
 * registers), picked at decode time by x86_specialize(). Same semantics as the generic handlers
 * (the host-comparison test runs both: every form it sweeps decodes through here).
 */
#include "emu/x86/handlers.h"

#define R0(in) (cpu->r[(in)->op[0].reg])
#define R1(in) (cpu->r[(in)->op[1].reg])

/* 32-bit results are zero-extended into the 64-bit register. */
#define ALU_RR(name, expr, lfop, write)                                                      \
	static void name##_rr64(struct x86_cpu *cpu, const struct x86_insn *in)              \
	{                                                                                    \
		uint64_t a = R0(in), b = R1(in), res = (expr);                               \
		if (write)                                                                   \
			R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 8, res, a, b);                                         \
		x86_chain(cpu, in);                                                          \
	}                                                                                    \
	static void name##_rr32(struct x86_cpu *cpu, const struct x86_insn *in)              \
	{                                                                                    \
		uint64_t a = (uint32_t)R0(in), b = (uint32_t)R1(in), res = (uint32_t)(expr); \
		if (write)                                                                   \
			R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 4, res, a, b);                                         \
		x86_chain(cpu, in);                                                          \
	}                                                                                    \
	static void name##_ri64(struct x86_cpu *cpu, const struct x86_insn *in)              \
	{                                                                                    \
		uint64_t a = R0(in), b = in->imm, res = (expr);                              \
		if (write)                                                                   \
			R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 8, res, a, b);                                         \
		x86_chain(cpu, in);                                                          \
	}                                                                                    \
	static void name##_ri32(struct x86_cpu *cpu, const struct x86_insn *in)              \
	{                                                                                    \
		uint64_t a = (uint32_t)R0(in), b = (uint32_t)in->imm, res = (uint32_t)(expr); \
		if (write)                                                                   \
			R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 4, res, a, b);                                         \
		x86_chain(cpu, in);                                                          \
	}

ALU_RR(f_add, a + b, X86_LF_ADD, true)
ALU_RR(f_sub, a - b, X86_LF_SUB, true)
ALU_RR(f_and, a & b, X86_LF_LOGIC, true)
ALU_RR(f_or, a | b, X86_LF_LOGIC, true)
ALU_RR(f_xor, a ^ b, X86_LF_LOGIC, true)
ALU_RR(f_cmp, a - b, X86_LF_SUB, false)
ALU_RR(f_test, a & b, X86_LF_LOGIC, false)

static void f_mov_rr64(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = R1(in); x86_chain(cpu, in); }
static void f_mov_rr32(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = (uint32_t)R1(in); x86_chain(cpu, in); }
static void f_mov_ri64(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = in->imm; x86_chain(cpu, in); }
static void f_mov_ri32(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = (uint32_t)in->imm; x86_chain(cpu, in); }

#define INCDEC(name, delta, lfop)                                                    \
	static void name##64(struct x86_cpu *cpu, const struct x86_insn *in)          \
	{                                                                            \
		bool c = x86_cf(cpu);                                                \
		uint64_t a = R0(in), res = a + (delta);                              \
		R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 8, res, a, c);                                 \
		x86_chain(cpu, in);                                                  \
	}                                                                            \
	static void name##32(struct x86_cpu *cpu, const struct x86_insn *in)          \
	{                                                                            \
		bool c = x86_cf(cpu);                                                \
		uint64_t a = (uint32_t)R0(in), res = (uint32_t)(a + (delta));        \
		R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, 4, res, a, c);                                 \
		x86_chain(cpu, in);                                                  \
	}

INCDEC(f_inc, 1, X86_LF_INC)
INCDEC(f_dec, (uint64_t)-1, X86_LF_DEC)

/* Shifts by a non-zero immediate (a zero count takes the generic path). */
#define SHIFT_RI(name, expr, lfop, bits, type)                                       \
	static void name(struct x86_cpu *cpu, const struct x86_insn *in)              \
	{                                                                            \
		unsigned c = (unsigned)in->imm & (bits == 64 ? 63 : 31);             \
		uint64_t a = (type)R0(in), res = (type)(expr);                       \
		R0(in) = res;                                                        \
		x86_lf_set(cpu, lfop, bits / 8, res, a, c);                          \
		x86_chain(cpu, in);                                                  \
	}

SHIFT_RI(f_shl_ri64, a << c, X86_LF_SHL, 64, uint64_t)
SHIFT_RI(f_shl_ri32, a << c, X86_LF_SHL, 32, uint32_t)
SHIFT_RI(f_shr_ri64, a >> c, X86_LF_SHR, 64, uint64_t)
SHIFT_RI(f_shr_ri32, a >> c, X86_LF_SHR, 32, uint32_t)

/* adc/sbb with a register or immediate source */
#define CARRY_OP(name, op, lfop)                                                                 \
	static void name##_rr64(struct x86_cpu *cpu, const struct x86_insn *in)                  \
	{                                                                                        \
		bool c = x86_cf(cpu);                                                            \
		uint64_t a = R0(in), b = R1(in), res = a op b op c;                              \
		R0(in) = res;                                                                    \
		x86_lf_set(cpu, lfop, 8, res, a, b);                                             \
		cpu->lf.cin = c;                                                                 \
		x86_chain(cpu, in);                                                              \
	}                                                                                        \
	static void name##_ri64(struct x86_cpu *cpu, const struct x86_insn *in)                  \
	{                                                                                        \
		bool c = x86_cf(cpu);                                                            \
		uint64_t a = R0(in), b = in->imm, res = a op b op c;                             \
		R0(in) = res;                                                                    \
		x86_lf_set(cpu, lfop, 8, res, a, b);                                             \
		cpu->lf.cin = c;                                                                 \
		x86_chain(cpu, in);                                                              \
	}

CARRY_OP(f_adc, +, X86_LF_ADC)
CARRY_OP(f_sbb, -, X86_LF_SBB)

/* rol/ror r64 by a non-zero immediate: CF/OF only, the rest of the flags from before. */
static void f_rol_ri64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned c = (unsigned)in->imm & 63;
	uint64_t a = R0(in), res = (a << c) | (a >> ((64 - c) & 63));
	R0(in) = res;
	x86_rot_flags(cpu, res & 1, (res >> 63) ^ (res & 1));
	x86_chain(cpu, in);
}

static void f_ror_ri64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned c = (unsigned)in->imm & 63;
	uint64_t a = R0(in), res = (a >> c) | (a << ((64 - c) & 63));
	R0(in) = res;
	x86_rot_flags(cpu, res >> 63, ((res >> 63) ^ (res >> 62)) & 1);
	x86_chain(cpu, in);
}

/* lea r64, [base + disp] (no index, 64-bit addressing) */
static void f_lea_bd64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	R0(in) = cpu->r[in->base] + (uint64_t)in->disp;
	x86_chain(cpu, in);
}

/* jz/jnz rel with a 64-bit operand size: ZF straight from the lazy result. */
static void f_jz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool zf = cpu->lf.op != X86_LF_NONE ? !(cpu->lf.res & x86_mask(cpu->lf.size)) : !!(cpu->rflags & X86_ZF);
	if (zf)
		x86_branch_rel(cpu, in);
	x86_chain(cpu, in);
}

static void f_jnz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool zf = cpu->lf.op != X86_LF_NONE ? !(cpu->lf.res & x86_mask(cpu->lf.size)) : !!(cpu->rflags & X86_ZF);
	if (!zf)
		x86_branch_rel(cpu, in);
	x86_chain(cpu, in);
}

struct fast_row {
	x86_handler generic;
	x86_handler rr64, rr32, ri64, ri32;
};

static const struct fast_row fast_rows[] = {
	{ x86_h_add, f_add_rr64, f_add_rr32, f_add_ri64, f_add_ri32 },
	{ x86_h_sub, f_sub_rr64, f_sub_rr32, f_sub_ri64, f_sub_ri32 },
	{ x86_h_and, f_and_rr64, f_and_rr32, f_and_ri64, f_and_ri32 },
	{ x86_h_or, f_or_rr64, f_or_rr32, f_or_ri64, f_or_ri32 },
	{ x86_h_xor, f_xor_rr64, f_xor_rr32, f_xor_ri64, f_xor_ri32 },
	{ x86_h_cmp, f_cmp_rr64, f_cmp_rr32, f_cmp_ri64, f_cmp_ri32 },
	{ x86_h_test, f_test_rr64, f_test_rr32, f_test_ri64, f_test_ri32 },
	{ x86_h_mov, f_mov_rr64, f_mov_rr32, f_mov_ri64, f_mov_ri32 },
	{ x86_h_adc, f_adc_rr64, NULL, f_adc_ri64, NULL },
	{ x86_h_sbb, f_sbb_rr64, NULL, f_sbb_ri64, NULL },
	{ x86_h_rol, NULL, NULL, f_rol_ri64, NULL },
	{ x86_h_ror, NULL, NULL, f_ror_ri64, NULL },
	{ x86_h_inc, NULL, NULL, NULL, NULL },
	{ x86_h_dec, NULL, NULL, NULL, NULL },
	{ x86_h_shl, NULL, NULL, f_shl_ri64, f_shl_ri32 },
	{ x86_h_shr, NULL, NULL, f_shr_ri64, f_shr_ri32 },
};

static bool plain_reg(const struct x86_opnd *o)
{
	return o->type == X86_OT_REG && !o->hi8 && (o->size == 8 || o->size == 4);
}

x86_handler x86_specialize(const struct x86_insn *in)
{
	const struct x86_opnd *a = &in->op[0], *b = &in->op[1];
	if (in->pfx & X86_P_LOCK)
		return in->fn;
	if (in->fn == x86_h_inc && in->nops == 1 && plain_reg(a))
		return a->size == 8 ? f_inc64 : f_inc32;
	if (in->fn == x86_h_dec && in->nops == 1 && plain_reg(a))
		return a->size == 8 ? f_dec64 : f_dec32;
	if (in->fn == x86_h_jcc && (in->opcode & 15) == 4)
		return f_jz;
	if (in->fn == x86_h_jcc && (in->opcode & 15) == 5)
		return f_jnz;
	if (in->fn == x86_h_lea && plain_reg(a) && a->size == 8 && in->asz == 8 && in->index == X86_NOREG &&
	    in->base != X86_NOREG && in->base != X86_RIPREL)
		return f_lea_bd64;
	if (in->nops != 2 || !plain_reg(a))
		return in->fn;
	for (unsigned i = 0; i < sizeof(fast_rows) / sizeof(fast_rows[0]); i++) {
		const struct fast_row *r = &fast_rows[i];
		if (r->generic != in->fn)
			continue;
		x86_handler rr = a->size == 8 ? r->rr64 : r->rr32, ri = a->size == 8 ? r->ri64 : r->ri32;
		bool shift = r->generic == x86_h_shl || r->generic == x86_h_shr || r->generic == x86_h_rol || r->generic == x86_h_ror;
		if (plain_reg(b) && b->size == a->size && rr)
			return rr;
		if (b->type == X86_OT_IMM && ri && (!shift || (in->imm & (a->size == 8 ? 63 : 31)) != 0))
			return ri;
		break;
	}
	return in->fn;
}
