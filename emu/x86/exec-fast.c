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

/* A 32- or 64-bit general register (not AH-BH). */
static bool plain_reg(const struct x86_opnd *o)
{
	return o->type == X86_OT_REG && !o->hi8 && (o->size == 8 || o->size == 4);
}

#define ALL_FLAGS X86_ARITH_FLAGS
#define OSZAP (X86_OF | X86_SF | X86_ZF | X86_AF | X86_PF)

/* One register ALU handler: T is the operand type (32-bit results are zero-extended into the
 * 64-bit register), SRC the second operand, FLAGS false for the variant the block's flag
 * liveness picks when a later instruction overwrites every flag this one sets. */
enum { FL_NONE, FL_LAZY, FL_CF };	/* flag-less, lazy record, only CF (eagerly) */
#define ALU_ONE(fname, T, SRC, expr, cf, lfop, write, FLAGS)                                 \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)                    \
	{                                                                                    \
		uint64_t a = (T)R0(in), b = (T)(SRC), res = (T)(expr);                       \
		if (write)                                                                   \
			R0(in) = res;                                                        \
		if (FLAGS == FL_LAZY)                                                        \
			x86_lf_set(cpu, lfop, sizeof(T), res, a, b);                         \
		else if (FLAGS == FL_CF)                                                     \
			x86_set_arith(cpu, (cf) ? X86_CF : 0);                               \
		(void)a, (void)b;                                                            \
		x86_chain(cpu, in);                                                          \
	}

#define ALU_RR(name, expr, cf, lfop, write)                                               \
	ALU_ONE(name##_rr64, uint64_t, R1(in), expr, cf, lfop, write, FL_LAZY)            \
	ALU_ONE(name##_rr32, uint32_t, R1(in), expr, cf, lfop, write, FL_LAZY)            \
	ALU_ONE(name##_ri64, uint64_t, in->imm, expr, cf, lfop, write, FL_LAZY)           \
	ALU_ONE(name##_ri32, uint32_t, in->imm, expr, cf, lfop, write, FL_LAZY)           \
	ALU_ONE(name##_rr64_nf, uint64_t, R1(in), expr, cf, lfop, write, FL_NONE)         \
	ALU_ONE(name##_rr32_nf, uint32_t, R1(in), expr, cf, lfop, write, FL_NONE)         \
	ALU_ONE(name##_ri64_nf, uint64_t, in->imm, expr, cf, lfop, write, FL_NONE)        \
	ALU_ONE(name##_ri32_nf, uint32_t, in->imm, expr, cf, lfop, write, FL_NONE)        \
	ALU_ONE(name##_rr64_cf, uint64_t, R1(in), expr, cf, lfop, write, FL_CF)           \
	ALU_ONE(name##_rr32_cf, uint32_t, R1(in), expr, cf, lfop, write, FL_CF)           \
	ALU_ONE(name##_ri64_cf, uint64_t, in->imm, expr, cf, lfop, write, FL_CF)          \
	ALU_ONE(name##_ri32_cf, uint32_t, in->imm, expr, cf, lfop, write, FL_CF)

/* The CF expressions are on the operand-sized values a, b and res. */
ALU_RR(f_add, a + b, res < a, X86_LF_ADD, true)
ALU_RR(f_sub, a - b, a < b, X86_LF_SUB, true)
ALU_RR(f_and, a & b, 0, X86_LF_LOGIC, true)
ALU_RR(f_or, a | b, 0, X86_LF_LOGIC, true)
ALU_RR(f_xor, a ^ b, 0, X86_LF_LOGIC, true)
ALU_RR(f_cmp, a - b, a < b, X86_LF_SUB, false)
ALU_RR(f_test, a & b, 0, X86_LF_LOGIC, false)

static void f_mov_rr64(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = R1(in); x86_chain(cpu, in); }
static void f_mov_rr32(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = (uint32_t)R1(in); x86_chain(cpu, in); }
static void f_mov_ri64(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = in->imm; x86_chain(cpu, in); }
static void f_mov_ri32(struct x86_cpu *cpu, const struct x86_insn *in) { R0(in) = (uint32_t)in->imm; x86_chain(cpu, in); }

static const uint64_t size_mask[16] = { 0, 0xff, 0xffff, 0, 0xffffffff, 0, 0, 0, ~0ull };

/* CF from the common lazy states, inline; false for the others (the caller then takes the
 * generic handler: a tail call, so the fast path needs no stack frame). */
static inline __attribute__((always_inline)) bool quick_cf(const struct x86_cpu *cpu, bool *cf)
{
	const struct x86_lazy *l = &cpu->lf;
	uint64_t m = size_mask[l->size & 15];
	if (l->op == X86_LF_NONE) {	/* eager: after a CF-only variant, or a rotate */
		*cf = cpu->rflags & X86_CF;
		return true;
	}
	switch (l->op) {
	case X86_LF_LOGIC: *cf = false; return true;
	case X86_LF_INC: case X86_LF_DEC: *cf = l->b; return true;
	case X86_LF_ROT: *cf = l->rot_flags & 1; return true;
	case X86_LF_ADD: *cf = (l->res & m) < (l->a & m); return true;
	case X86_LF_SUB: *cf = (l->a & m) < (l->b & m); return true;
	case X86_LF_ADC: *cf = l->cin ? (l->res & m) <= (l->a & m) : (l->res & m) < (l->a & m); return true;
	case X86_LF_SBB: *cf = l->cin ? (l->a & m) <= (l->b & m) : (l->a & m) < (l->b & m); return true;
	default: return false;
	}
}

/* inc/dec keep CF: the lazy record carries it in b. The flag-less variant leaves the lazy state
 * as it was, CF included. */
#define INCDEC_ONE(fname, T, delta, lfop, FLAGS, generic)                            \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		uint64_t a = (T)R0(in), res = (T)(a + (delta));                      \
		bool c = false;                                                      \
		if (FLAGS && !quick_cf(cpu, &c)) {                                   \
			generic(cpu, in);                                            \
			return;                                                      \
		}                                                                    \
		R0(in) = res;                                                        \
		if (FLAGS)                                                           \
			x86_lf_set(cpu, lfop, sizeof(T), res, a, c);                 \
		x86_chain(cpu, in);                                                  \
	}

#define INCDEC(name, delta, lfop, generic)                             \
	INCDEC_ONE(name##64, uint64_t, delta, lfop, true, generic)     \
	INCDEC_ONE(name##32, uint32_t, delta, lfop, true, generic)     \
	INCDEC_ONE(name##64_nf, uint64_t, delta, lfop, false, generic) \
	INCDEC_ONE(name##32_nf, uint32_t, delta, lfop, false, generic)

INCDEC(f_inc, 1, X86_LF_INC, x86_h_inc)
INCDEC(f_dec, (uint64_t)-1, X86_LF_DEC, x86_h_dec)

/* Shifts by a non-zero immediate (a zero count takes the generic path). */
#define SHIFT_ONE(fname, T, expr, lfop, FLAGS)                                       \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		unsigned c = (unsigned)in->imm & (sizeof(T) == 8 ? 63 : 31);         \
		uint64_t a = (T)R0(in), res = (T)(expr);                             \
		R0(in) = res;                                                        \
		if (FLAGS)                                                           \
			x86_lf_set(cpu, lfop, sizeof(T), res, a, c);                 \
		x86_chain(cpu, in);                                                  \
	}

#define SHIFT_RI(name, expr, lfop)                                     \
	SHIFT_ONE(name##64, uint64_t, expr, lfop, true)                \
	SHIFT_ONE(name##32, uint32_t, expr, lfop, true)                \
	SHIFT_ONE(name##64_nf, uint64_t, expr, lfop, false)            \
	SHIFT_ONE(name##32_nf, uint32_t, expr, lfop, false)

SHIFT_RI(f_shl_ri, a << c, X86_LF_SHL)
SHIFT_RI(f_shr_ri, a >> c, X86_LF_SHR)

/* adc/sbb with a register or immediate source */
#define CARRY_ONE(fname, SRC, op, lfop, FLAGS, generic)                                          \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)                        \
	{                                                                                        \
		bool c;                                                                          \
		if (!quick_cf(cpu, &c)) {                                                        \
			generic(cpu, in);                                                        \
			return;                                                                  \
		}                                                                                \
		uint64_t a = R0(in), b = (SRC), res = a op b op c;                               \
		R0(in) = res;                                                                    \
		if (FLAGS) {                                                                     \
			x86_lf_set(cpu, lfop, 8, res, a, b);                                     \
			cpu->lf.cin = c;                                                         \
		}                                                                                \
		x86_chain(cpu, in);                                                              \
	}

#define CARRY_OP(name, op, lfop, generic)                              \
	CARRY_ONE(name##_rr64, R1(in), op, lfop, true, generic)        \
	CARRY_ONE(name##_ri64, in->imm, op, lfop, true, generic)       \
	CARRY_ONE(name##_rr64_nf, R1(in), op, lfop, false, generic)    \
	CARRY_ONE(name##_ri64_nf, in->imm, op, lfop, false, generic)

CARRY_OP(f_adc, +, X86_LF_ADC, x86_h_adc)
CARRY_OP(f_sbb, -, X86_LF_SBB, x86_h_sbb)

/* rol/ror r64 by a non-zero immediate: CF/OF only, the rest of the flags from before. Three
 * flavours: both kept (lazily), only CF/OF live (the rest overwritten later: set eagerly), and
 * CF/OF dead (the lazy state stays as it was, which still gives the other four). */
enum { ROT_LAZY, ROT_EAGER, ROT_NF };
#define ROT_ONE(fname, RES, CF, OF, KIND)                                            \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		unsigned c = (unsigned)in->imm & 63;                                 \
		uint64_t a = R0(in), res = (RES);                                    \
		R0(in) = res;                                                        \
		(void)c, (void)a;                                                    \
		if (KIND == ROT_LAZY)                                                \
			x86_rot_flags(cpu, (CF), (OF));                              \
		else if (KIND == ROT_EAGER)                                          \
			x86_set_arith(cpu, ((CF) ? X86_CF : 0) | ((OF) ? X86_OF : 0)); \
		x86_chain(cpu, in);                                                  \
	}

#define ROL_RES ((a << c) | (a >> ((64 - c) & 63)))
#define ROR_RES ((a >> c) | (a << ((64 - c) & 63)))
ROT_ONE(f_rol_ri64, ROL_RES, res & 1, (res >> 63) ^ (res & 1), ROT_LAZY)
ROT_ONE(f_rol_ri64_eager, ROL_RES, res & 1, (res >> 63) ^ (res & 1), ROT_EAGER)
ROT_ONE(f_rol_ri64_nf, ROL_RES, res & 1, (res >> 63) ^ (res & 1), ROT_NF)
ROT_ONE(f_ror_ri64, ROR_RES, res >> 63, ((res >> 63) ^ (res >> 62)) & 1, ROT_LAZY)
ROT_ONE(f_ror_ri64_eager, ROR_RES, res >> 63, ((res >> 63) ^ (res >> 62)) & 1, ROT_EAGER)
ROT_ONE(f_ror_ri64_nf, ROR_RES, res >> 63, ((res >> 63) ^ (res >> 62)) & 1, ROT_NF)

/* mul r64 (rdx:rax = rax * r64) and imul r, r / imul r, r, imm (32/64-bit registers): CF = OF =
 * the product did not fit; the other four flags stay as they were (this AMD host, as the generic
 * handlers), so the flags go like a rotate's (three flavours, see ROT_ONE). */
#define MUL_FLAGS(KIND, ovf)                                                         \
	do {                                                                         \
		if (KIND == ROT_LAZY)                                                \
			x86_rot_flags(cpu, (ovf), (ovf));                            \
		else if (KIND == ROT_EAGER)                                          \
			x86_set_arith(cpu, (ovf) ? X86_CF | X86_OF : 0);             \
	} while (0)

#define MUL_ONE(fname, KIND)                                                         \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		unsigned __int128 p = (unsigned __int128)cpu->r[X86_RAX] * R0(in);   \
		uint64_t hi = (uint64_t)(p >> 64);                                   \
		cpu->r[X86_RAX] = (uint64_t)p;                                       \
		cpu->r[X86_RDX] = hi;                                                \
		MUL_FLAGS(KIND, hi != 0);                                            \
		x86_chain(cpu, in);                                                  \
	}

MUL_ONE(f_mul_r64, ROT_LAZY)
MUL_ONE(f_mul_r64_eager, ROT_EAGER)
MUL_ONE(f_mul_r64_nf, ROT_NF)

/* ST: signed type, WT: twice as wide, UT: unsigned; SRC the second factor */
#define IMUL_ONE(fname, ST, WT, UT, SRC, KIND)                                       \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		WT p = (WT)(ST)(SRC) * (ST)(in->nops == 3 ? R1(in) : R0(in));        \
		UT lo = (UT)p;                                                       \
		R0(in) = lo;                                                         \
		MUL_FLAGS(KIND, p != (WT)(ST)lo);                                    \
		x86_chain(cpu, in);                                                  \
	}

#define IMUL(name, ST, WT, UT, SRC)                                     \
	IMUL_ONE(name, ST, WT, UT, SRC, ROT_LAZY)                       \
	IMUL_ONE(name##_eager, ST, WT, UT, SRC, ROT_EAGER)              \
	IMUL_ONE(name##_nf, ST, WT, UT, SRC, ROT_NF)

IMUL(f_imul_rr64, int64_t, __int128, uint64_t, R1(in))
IMUL(f_imul_rr32, int32_t, int64_t, uint32_t, R1(in))
IMUL(f_imul_rri64, int64_t, __int128, uint64_t, in->imm)
IMUL(f_imul_rri32, int32_t, int64_t, uint32_t, in->imm)

static x86_handler specialize_mul(const struct x86_insn *in)
{
	const struct x86_opnd *a = &in->op[0], *b = &in->op[1];
	if (in->fn == x86_h_mul && in->nops == 1 && plain_reg(a) && a->size == 8)
		return f_mul_r64;
	if (in->fn != x86_h_imul || !plain_reg(a) || !plain_reg(b) || b->size != a->size)
		return NULL;
	if (in->nops == 2)
		return a->size == 8 ? f_imul_rr64 : f_imul_rr32;
	if (in->nops == 3 && in->op[2].type == X86_OT_IMM)
		return a->size == 8 ? f_imul_rri64 : f_imul_rri32;
	return NULL;
}

/* lea r64, [base + disp] (no index, 64-bit addressing) */
static void f_lea_bd64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	R0(in) = cpu->r[in->base] + (uint64_t)in->disp;
	x86_chain(cpu, in);
}

/* jz/jnz rel. ZF straight from the lazy result; with a 64-bit operand size (64-bit mode) the
 * branch is taken inline (a non-canonical target: #GP(0)). */
static inline __attribute__((always_inline)) bool quick_zf(const struct x86_cpu *cpu)
{
	return cpu->lf.op != X86_LF_NONE ? !(cpu->lf.res & size_mask[cpu->lf.size & 15]) : !!(cpu->rflags & X86_ZF);
}

static inline __attribute__((always_inline)) void branch64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t = cpu->next_rip + in->imm;
	if ((uint64_t)((int64_t)(t << 16) >> 16) != t)
		x86_gp0(cpu);
	cpu->next_rip = t;
}

static void f_jz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (quick_zf(cpu))
		x86_branch_rel(cpu, in);
	x86_chain(cpu, in);
}

static void f_jnz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!quick_zf(cpu))
		x86_branch_rel(cpu, in);
	x86_chain(cpu, in);
}

static void f_jz64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (quick_zf(cpu))
		branch64(cpu, in);
	x86_chain(cpu, in);
}

static void f_jnz64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!quick_zf(cpu))
		branch64(cpu, in);
	x86_chain(cpu, in);
}

/* Any jcc with a 64-bit operand size: after cmp/sub (the common case) the condition comes
 * straight from the operands, else from x86_cond. */
static void f_jcc64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const uint8_t sh[16] = { 0, 56, 48, 0, 32, 0, 0, 0, 0 };
	const struct x86_lazy *l = &cpu->lf;
	unsigned cc = in->opcode & 15, z = l->size & 15;
	bool r;
	uint64_t a = l->a & size_mask[z], b = l->b & size_mask[z];
	int64_t sa = (int64_t)(a << sh[z]) >> sh[z], sb = (int64_t)(b << sh[z]) >> sh[z];
	switch (l->op == X86_LF_SUB ? cc >> 1 : 0) {
	case 1: r = (a < b) ^ (cc & 1); break;
	case 2: r = (a == b) ^ (cc & 1); break;
	case 3: r = (a <= b) ^ (cc & 1); break;
	case 6: r = (sa < sb) ^ (cc & 1); break;
	case 7: r = (sa <= sb) ^ (cc & 1); break;
	default: r = x86_cond(cpu, cc); break;
	}
	if (r)
		branch64(cpu, in);
	x86_chain(cpu, in);
}

/* ---- the stack in 64-bit mode (operand size 8: SS base 0, 64-bit RSP) ----
 * RSP changes only once the memory access went through (a fault leaves it as it was). */
static void f_push64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t sp = cpu->r[X86_RSP] - 8;
	x86_write_lin(cpu, sp, 8, R0(in));
	cpu->r[X86_RSP] = sp;
	if (__builtin_expect(cpu->end_block, 0))
		return;
	x86_chain(cpu, in);
}

static void f_pop64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_read_lin(cpu, cpu->r[X86_RSP], 8);
	cpu->r[X86_RSP] += 8;
	R0(in) = v;	/* pop rsp: the value popped */
	x86_chain(cpu, in);
}

static void f_call_rel64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ret = cpu->next_rip, sp = cpu->r[X86_RSP] - 8;
	branch64(cpu, in);
	x86_write_lin(cpu, sp, 8, ret);
	cpu->r[X86_RSP] = sp;
	if (__builtin_expect(cpu->end_block, 0))
		return;
	x86_chain(cpu, in);
}

static void f_ret64(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t = x86_read_lin(cpu, cpu->r[X86_RSP], 8);
	if ((uint64_t)((int64_t)(t << 16) >> 16) != t)
		x86_gp0(cpu);
	cpu->next_rip = t;
	cpu->r[X86_RSP] += 8;
	x86_chain(cpu, in);
}

static x86_handler specialize_stack64(const struct x86_insn *in)
{
	const struct x86_opnd *a = &in->op[0];
	if (in->osz != 8)
		return NULL;
	if (in->fn == x86_h_push && in->nops == 1 && plain_reg(a) && a->size == 8)
		return f_push64;
	if (in->fn == x86_h_pop && in->nops == 1 && plain_reg(a) && a->size == 8)
		return f_pop64;
	if (in->fn == x86_h_call && in->nops == 1 && a->type == X86_OT_IMM)
		return f_call_rel64;
	if (in->fn == x86_h_ret && in->nops == 0 && in->opcode == 0xc3)
		return f_ret64;
	return NULL;
}

/* ---- memory moves with 64-bit addressing (64-bit mode) ----
 * The TLB fast path inline. They may fault, so they are not RIP-free (they run through
 * x86_enter) and count as reading all flags. A store can hit a code page (self-modifying code
 * ends the block), so it chains only when the block goes on. */
static inline __attribute__((always_inline)) uint64_t lin64(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a = (uint64_t)in->disp;
	if (in->base != X86_NOREG)
		a += in->base == X86_RIPREL ? cpu->next_rip : cpu->r[in->base];
	if (in->index != X86_NOREG)
		a += cpu->r[in->index] << in->scale;
	if (in->seg >= X86_FS)
		a += cpu->seg[in->seg].base;
	return a;
}

#define LOAD64(fname, size)                                                          \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		R0(in) = x86_read_lin(cpu, lin64(cpu, in), size);                    \
		x86_chain(cpu, in);                                                  \
	}

LOAD64(f_ld8_64, 8)	/* mov r64, m64 */
LOAD64(f_ld4_64, 4)	/* mov r32, m32; movzx r32/r64, m16 / m8 (zero-extended to 64 bits) */
LOAD64(f_ld2_64, 2)
LOAD64(f_ld1_64, 1)

#define STORE64(fname, size, val)                                                    \
	static void fname(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                            \
		x86_write_lin(cpu, lin64(cpu, in), size, (val));                     \
		if (__builtin_expect(cpu->end_block, 0))                             \
			return;                                                      \
		x86_chain(cpu, in);                                                  \
	}

STORE64(f_st8_64, 8, R1(in))
STORE64(f_st4_64, 4, R1(in))
STORE64(f_sti8_64, 8, in->imm)
STORE64(f_sti4_64, 4, in->imm)

static x86_handler specialize_mem64(const struct x86_insn *in)
{
	const struct x86_opnd *a = &in->op[0], *b = &in->op[1];
	static const x86_handler loads[9] = { [1] = f_ld1_64, [2] = f_ld2_64, [4] = f_ld4_64, [8] = f_ld8_64 };
	if (in->asz != 8 || in->nops != 2)
		return NULL;
	if (plain_reg(a) && b->type == X86_OT_MEM && b->size <= a->size &&
	    ((in->fn == x86_h_mov && b->size == a->size) || (in->fn == x86_h_movzx && b->size < 4)))
		return loads[b->size];
	if (in->fn == x86_h_mov && a->type == X86_OT_MEM && (a->size == 8 || a->size == 4)) {
		if (plain_reg(b) && b->size == a->size)
			return a->size == 8 ? f_st8_64 : f_st4_64;
		if (b->type == X86_OT_IMM)
			return a->size == 8 ? f_sti8_64 : f_sti4_64;
	}
	return NULL;
}

/* ---- flag liveness, RIP-free handlers ----
 * What each register-only handler reads and writes of the six arithmetic flags, and its
 * variants for when what it writes is dead. Every other handler counts as reading all six: it
 * may read them, or fault (the exception frame holds RFLAGS). The handlers in this table (and
 * their variants) are also the RIP-free ones (x86_is_rip_free): they never look at cpu->rip or
 * cpu->next_rip and cannot fault (inc/dec/adc/sbb's fall-back to the generic handler included:
 * register operands only). */
struct flag_row {
	x86_handler fn;
	uint16_t rd, wr;
	x86_handler nf;		/* nothing it writes is live */
	x86_handler eager;	/* rol/ror: CF/OF live, the flags it keeps dead */
	x86_handler cf;		/* of what it writes only CF is live: CF set eagerly */
};

#define FL4(name, rd, wr)                                                                              \
	{ name##_rr64, rd, wr, name##_rr64_nf, NULL, name##_rr64_cf },                                 \
	{ name##_rr32, rd, wr, name##_rr32_nf, NULL, name##_rr32_cf },                                 \
	{ name##_ri64, rd, wr, name##_ri64_nf, NULL, name##_ri64_cf },                                 \
	{ name##_ri32, rd, wr, name##_ri32_nf, NULL, name##_ri32_cf }
#define FL2(name, rd, wr) { name##64, rd, wr, name##64_nf, NULL, NULL }, { name##32, rd, wr, name##32_nf, NULL, NULL }

static const struct flag_row flag_rows[] = {
	FL4(f_add, 0, ALL_FLAGS), FL4(f_sub, 0, ALL_FLAGS), FL4(f_and, 0, ALL_FLAGS), FL4(f_or, 0, ALL_FLAGS),
	FL4(f_xor, 0, ALL_FLAGS), FL4(f_cmp, 0, ALL_FLAGS), FL4(f_test, 0, ALL_FLAGS),
	FL2(f_inc, 0, OSZAP), FL2(f_dec, 0, OSZAP), FL2(f_shl_ri, 0, ALL_FLAGS), FL2(f_shr_ri, 0, ALL_FLAGS),
	{ f_adc_rr64, X86_CF, ALL_FLAGS, f_adc_rr64_nf, NULL, NULL },
	{ f_adc_ri64, X86_CF, ALL_FLAGS, f_adc_ri64_nf, NULL, NULL },
	{ f_sbb_rr64, X86_CF, ALL_FLAGS, f_sbb_rr64_nf, NULL, NULL },
	{ f_sbb_ri64, X86_CF, ALL_FLAGS, f_sbb_ri64_nf, NULL, NULL },
	{ f_rol_ri64, 0, X86_CF | X86_OF, f_rol_ri64_nf, f_rol_ri64_eager, NULL },
	{ f_ror_ri64, 0, X86_CF | X86_OF, f_ror_ri64_nf, f_ror_ri64_eager, NULL },
	{ f_mul_r64, 0, X86_CF | X86_OF, f_mul_r64_nf, f_mul_r64_eager, NULL },
	{ f_imul_rr64, 0, X86_CF | X86_OF, f_imul_rr64_nf, f_imul_rr64_eager, NULL },
	{ f_imul_rr32, 0, X86_CF | X86_OF, f_imul_rr32_nf, f_imul_rr32_eager, NULL },
	{ f_imul_rri64, 0, X86_CF | X86_OF, f_imul_rri64_nf, f_imul_rri64_eager, NULL },
	{ f_imul_rri32, 0, X86_CF | X86_OF, f_imul_rri32_nf, f_imul_rri32_eager, NULL },
	{ f_mov_rr64, 0, 0, NULL, NULL, NULL }, { f_mov_rr32, 0, 0, NULL, NULL, NULL }, { f_mov_ri64, 0, 0, NULL, NULL, NULL },
	{ f_mov_ri32, 0, 0, NULL, NULL, NULL }, { f_lea_bd64, 0, 0, NULL, NULL, NULL },
};

static const struct flag_row *flag_row(x86_handler fn)
{
	for (unsigned i = 0; i < sizeof(flag_rows) / sizeof(flag_rows[0]); i++)
		if (flag_rows[i].fn == fn)
			return &flag_rows[i];
	return NULL;
}

bool x86_is_rip_free(x86_handler fn)
{
	for (unsigned i = 0; i < sizeof(flag_rows) / sizeof(flag_rows[0]); i++) {
		const struct flag_row *r = &flag_rows[i];
		if (fn == r->fn || (r->nf && fn == r->nf) || (r->eager && fn == r->eager) || (r->cf && fn == r->cf))
			return true;
	}
	return false;
}

/* The variant of in for the flags live after it; updates live to the flags live before it. */
static x86_handler flags_variant(const struct x86_insn *in, uint16_t *live)
{
	const struct flag_row *r = flag_row(in->fn);
	x86_handler fn = in->fn;
	if (!r) {
		*live = ALL_FLAGS;
		return fn;
	}
	if (r->wr && !(*live & r->wr) && r->nf)
		fn = r->nf;
	else if (r->eager && !(*live & ALL_FLAGS & ~r->wr))
		fn = r->eager;
	else if (r->cf && (*live & r->wr) == X86_CF && !(*live & ALL_FLAGS & ~r->wr))
		fn = r->cf;
	*live = (uint16_t)((*live & ~r->wr) | r->rd);
	return fn;
}

void x86_flags_liveness(struct x86_insn *insns, unsigned n)
{
	uint16_t live = ALL_FLAGS;	/* at the block's exits */
	for (unsigned i = n; i-- > 0;)
		insns[i].fn = flags_variant(&insns[i], &live);
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

x86_handler x86_specialize(const struct x86_insn *in)
{
	const struct x86_opnd *a = &in->op[0], *b = &in->op[1];
	x86_handler m;
	if (in->pfx & X86_P_LOCK)
		return in->fn;
	if ((m = specialize_mem64(in)))
		return m;
	if (in->fn != x86_h_jcc && (m = specialize_stack64(in)))
		return m;
	if ((m = specialize_mul(in)))
		return m;
	if (in->fn == x86_h_inc && in->nops == 1 && plain_reg(a))
		return a->size == 8 ? f_inc64 : f_inc32;
	if (in->fn == x86_h_dec && in->nops == 1 && plain_reg(a))
		return a->size == 8 ? f_dec64 : f_dec32;
	if (in->fn == x86_h_jcc && (in->opcode & 15) == 4)
		return in->osz == 8 ? f_jz64 : f_jz;
	if (in->fn == x86_h_jcc && (in->opcode & 15) == 5)
		return in->osz == 8 ? f_jnz64 : f_jnz;
	if (in->fn == x86_h_jcc && in->osz == 8)
		return f_jcc64;
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
