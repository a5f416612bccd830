/* SPDX-License-Identifier: MIT */
/*
 * exec-alu.c — integer arithmetic, logic, shifts, rotates, bit operations, multiply/divide and the
 * lazy-flags evaluator. Undefined flags follow what this project's host CPU (AMD Zen) does; the
 * host-comparison test (tests/unit/x86_hostcmp_test.c) is the authority.
 */
#include "emu/x86/handlers.h"

uint64_t x86_szp(uint64_t res, unsigned size)
{
	uint64_t f = 0;
	res &= x86_mask(size);
	if (!res)
		f |= X86_ZF;
	if ((res >> x86_msb_shift(size)) & 1)
		f |= X86_SF;
	if (!__builtin_parity((unsigned)(res & 0xff)))
		f |= X86_PF;
	return f;
}

static bool shift_cf(const struct x86_lazy *l)
{
	unsigned bits = l->size * 8, c = (unsigned)l->b;
	switch (l->op) {
	case X86_LF_SHL: return c > bits ? 0 : (l->a >> (bits - c)) & 1;
	case X86_LF_SHR: return c > bits ? 0 : (l->a >> (c - 1)) & 1;
	default: return ((int64_t)x86_sext(l->a, l->size) >> (c - 1 > 63 ? 63 : c - 1)) & 1;
	}
}

/* CF alone from the lazy state (adc/sbb/rcl/rcr, jb/jae need nothing else). */
bool x86_lf_cf(const struct x86_cpu *cpu)
{
	const struct x86_lazy *l = &cpu->lf;
	uint64_t m = x86_mask(l->size), a = l->a & m, b = l->b & m, r = l->res & m;
	switch (l->op) {
	case X86_LF_ADD: return r < a;
	case X86_LF_SUB: return a < b;
	case X86_LF_ADC: return l->cin ? r <= a : r < a;
	case X86_LF_SBB: return l->cin ? a <= b : a < b;
	case X86_LF_SHL: case X86_LF_SHR: case X86_LF_SAR: return shift_cf(l);
	case X86_LF_ROT: return l->rot_flags & 1;
	default: return x86_lf_eval(cpu) & X86_CF;
	}
}

static uint64_t lf_eval_state(const struct x86_lazy *l);

uint64_t x86_lf_eval(const struct x86_cpu *cpu)
{
	const struct x86_lazy *l = &cpu->lf;
	if (l->op == X86_LF_ROT) {
		struct x86_lazy p = { .res = l->pres, .a = l->pa, .b = l->pb, .op = l->pop, .size = l->psize, .cin = l->pcin };
		uint64_t f = p.op == X86_LF_NONE ? cpu->rflags & X86_ARITH_FLAGS : lf_eval_state(&p);
		return (f & ~(uint64_t)(X86_CF | X86_OF)) | (l->rot_flags & X86_CF) | ((l->rot_flags & 0x80) ? X86_OF : 0);
	}
	return lf_eval_state(l);
}

static uint64_t lf_eval_state(const struct x86_lazy *l)
{
	unsigned sh = x86_msb_shift(l->size);
	uint64_t m = x86_mask(l->size), f = x86_szp(l->res, l->size);
	switch (l->op) {
	case X86_LF_ADD:
		f |= (l->res & m) < (l->a & m) ? X86_CF : 0;
		f |= (((l->a ^ l->res) & (l->b ^ l->res)) >> sh) & 1 ? X86_OF : 0;
		f |= (l->a ^ l->b ^ l->res) & X86_AF;
		break;
	case X86_LF_SUB:
		f |= (l->a & m) < (l->b & m) ? X86_CF : 0;
		f |= (((l->a ^ l->b) & (l->a ^ l->res)) >> sh) & 1 ? X86_OF : 0;
		f |= (l->a ^ l->b ^ l->res) & X86_AF;
		break;
	case X86_LF_ADC:
		f |= (l->cin ? (l->res & m) <= (l->a & m) : (l->res & m) < (l->a & m)) ? X86_CF : 0;
		f |= (((l->a ^ l->res) & (l->b ^ l->res)) >> sh) & 1 ? X86_OF : 0;
		f |= (l->a ^ l->b ^ l->res) & X86_AF;
		break;
	case X86_LF_SBB:
		f |= (l->cin ? (l->a & m) <= (l->b & m) : (l->a & m) < (l->b & m)) ? X86_CF : 0;
		f |= (((l->a ^ l->b) & (l->a ^ l->res)) >> sh) & 1 ? X86_OF : 0;
		f |= (l->a ^ l->b ^ l->res) & X86_AF;
		break;
	case X86_LF_SHL: {
		bool cf = shift_cf(l);
		f |= X86_AF | (cf ? X86_CF : 0) | (((l->res >> sh) & 1) ^ cf ? X86_OF : 0);
		break;
	}
	case X86_LF_SHR:
		f |= X86_AF | (shift_cf(l) ? X86_CF : 0) | ((((l->res >> sh) ^ (l->res >> (sh - 1))) & 1) ? X86_OF : 0);
		break;
	case X86_LF_SAR:
		f |= X86_AF | (shift_cf(l) ? X86_CF : 0);
		break;
	case X86_LF_INC:
		f |= l->b ? X86_CF : 0;
		f |= (l->res & m) == (1ull << sh) ? X86_OF : 0;
		f |= (l->res & 0xf) == 0 ? X86_AF : 0;
		break;
	case X86_LF_DEC:
		f |= l->b ? X86_CF : 0;
		f |= (l->res & m) == (1ull << sh) - 1 ? X86_OF : 0;
		f |= (l->res & 0xf) == 0xf ? X86_AF : 0;
		break;
	default:	/* LOGIC: CF = OF = AF = 0 */
		break;
	}
	return f;
}

static bool cond_sub(const struct x86_lazy *l, unsigned cc, bool *out)
{
	uint64_t m = x86_mask(l->size), a = l->a & m, b = l->b & m;
	int64_t sa = (int64_t)x86_sext(a, l->size), sb = (int64_t)x86_sext(b, l->size);
	bool r;
	switch (cc >> 1) {
	case 1: r = a < b; break;
	case 2: r = a == b; break;
	case 3: r = a <= b; break;
	case 6: r = sa < sb; break;
	case 7: r = sa <= sb; break;
	default: return false;
	}
	*out = r ^ (cc & 1);
	return true;
}

bool x86_cond(struct x86_cpu *cpu, unsigned cc)
{
	bool r;
	uint64_t f;
	if (cpu->lf.op == X86_LF_SUB && cond_sub(&cpu->lf, cc, &r))
		return r;
	if (cpu->lf.op != X86_LF_NONE && (cc >> 1) == 2)	/* ZF: the result is zero */
		return !(cpu->lf.res & x86_mask(cpu->lf.size)) ^ (cc & 1);
	if (cpu->lf.op != X86_LF_NONE && (cc >> 1) == 4)	/* SF: its sign */
		return ((cpu->lf.res >> x86_msb_shift(cpu->lf.size)) & 1) ^ (cc & 1);
	f = x86_arith(cpu);
	switch (cc >> 1) {
	case 0: r = f & X86_OF; break;
	case 1: r = f & X86_CF; break;
	case 2: r = f & X86_ZF; break;
	case 3: r = f & (X86_CF | X86_ZF); break;
	case 4: r = f & X86_SF; break;
	case 5: r = f & X86_PF; break;
	case 6: r = !(f & X86_SF) != !(f & X86_OF); break;
	default: r = (f & X86_ZF) || (!(f & X86_SF) != !(f & X86_OF)); break;
	}
	return r ^ (cc & 1);
}

/* ---- two-operand ALU ---- */

#define ALU_BODY(expr, lfop)                                                   \
	struct x86_rmw m;                                                      \
	unsigned s = in->op[0].size;                                           \
	uint64_t a = x86_rmw_read(cpu, in, &m);                                \
	uint64_t b = x86_rd(cpu, in, 1) & x86_mask(s);                         \
	uint64_t res = (expr) & x86_mask(s);                                   \
	x86_rmw_write(cpu, in, &m, res);                                       \
	x86_lf_set(cpu, lfop, s, res, a, b)

void x86_h_add(struct x86_cpu *cpu, const struct x86_insn *in) { ALU_BODY(a + b, X86_LF_ADD); }
void x86_h_sub(struct x86_cpu *cpu, const struct x86_insn *in) { ALU_BODY(a - b, X86_LF_SUB); }
void x86_h_and(struct x86_cpu *cpu, const struct x86_insn *in) { ALU_BODY(a & b, X86_LF_LOGIC); }
void x86_h_or(struct x86_cpu *cpu, const struct x86_insn *in) { ALU_BODY(a | b, X86_LF_LOGIC); }
void x86_h_xor(struct x86_cpu *cpu, const struct x86_insn *in) { ALU_BODY(a ^ b, X86_LF_LOGIC); }

void x86_h_cmp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t a = x86_rd(cpu, in, 0), b = x86_rd(cpu, in, 1) & x86_mask(s);
	x86_lf_set(cpu, X86_LF_SUB, s, (a - b) & x86_mask(s), a, b);
}

void x86_h_test(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t a = x86_rd(cpu, in, 0), b = x86_rd(cpu, in, 1) & x86_mask(s);
	x86_lf_set(cpu, X86_LF_LOGIC, s, a & b, a, b);
}

void x86_h_adc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool c = x86_cf(cpu);
	ALU_BODY(a + b + c, X86_LF_ADC);
	cpu->lf.cin = c;
}

void x86_h_sbb(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool c = x86_cf(cpu);
	ALU_BODY(a - b - c, X86_LF_SBB);
	cpu->lf.cin = c;
}

/* ---- one-operand ALU ---- */

void x86_h_inc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size;
	bool c = x86_cf(cpu);
	uint64_t a = x86_rmw_read(cpu, in, &m), res = (a + 1) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_INC, s, res, a, c);
}

void x86_h_dec(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size;
	bool c = x86_cf(cpu);
	uint64_t a = x86_rmw_read(cpu, in, &m), res = (a - 1) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_DEC, s, res, a, c);
}

void x86_h_neg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size;
	uint64_t a = x86_rmw_read(cpu, in, &m), res = (0 - a) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_SUB, s, res, 0, a);
}

void x86_h_not(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	uint64_t a = x86_rmw_read(cpu, in, &m);
	x86_rmw_write(cpu, in, &m, ~a & x86_mask(in->op[0].size));
}

void x86_h_xadd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size;
	uint64_t a = x86_rmw_read(cpu, in, &m), b = x86_rd(cpu, in, 1), res = (a + b) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_wr(cpu, in, 1, a);
	if (in->op[0].type == X86_OT_REG && in->op[0].reg == in->op[1].reg && in->op[0].hi8 == in->op[1].hi8)
		x86_wr(cpu, in, 0, res);
	x86_lf_set(cpu, X86_LF_ADD, s, res, a, b);
}

void x86_h_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size;
	uint64_t a = x86_rmw_read(cpu, in, &m), acc = cpu->r[X86_RAX] & x86_mask(s);
	x86_lf_set(cpu, X86_LF_SUB, s, (acc - a) & x86_mask(s), acc, a);
	if (acc == a) {
		x86_rmw_write(cpu, in, &m, x86_rd(cpu, in, 1));
	} else {
		if (in->op[0].type == X86_OT_MEM)
			x86_rmw_write(cpu, in, &m, a);
		x86_set_reg(cpu, X86_RAX, s, false, a);
	}
}

void x86_h_cmpxchg8b(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned half = in->op[0].size / 2;
	uint64_t lin, lo, hi, f;
	if (in->op[0].type != X86_OT_MEM)
		x86_ud(cpu);
	lin = x86_op_lin(cpu, in, in->op[0].size, true);
	if (half == 8 && (lin & 15))
		x86_gp0(cpu);
	lo = x86_read_lin(cpu, lin, half);
	hi = x86_read_lin(cpu, lin + half, half);
	f = x86_arith(cpu) & ~(uint64_t)X86_ZF;
	if (lo == (cpu->r[X86_RAX] & x86_mask(half)) && hi == (cpu->r[X86_RDX] & x86_mask(half))) {
		x86_write_lin(cpu, lin, half, cpu->r[X86_RBX]);
		x86_write_lin(cpu, lin + half, half, cpu->r[X86_RCX]);
		f |= X86_ZF;
	} else {
		x86_write_lin(cpu, lin, half, lo);
		x86_set_reg(cpu, X86_RAX, half, false, lo);
		x86_set_reg(cpu, X86_RDX, half, false, hi);
	}
	x86_set_arith(cpu, f);
}

/* ---- multiply / divide ---- */

static void set_wide(struct x86_cpu *cpu, unsigned s, uint64_t lo, uint64_t hi)
{
	if (s == 1) {
		x86_set_reg(cpu, X86_RAX, 2, false, (lo & 0xff) | (hi & 0xff) << 8);
		return;
	}
	x86_set_reg(cpu, X86_RAX, s, false, lo);
	x86_set_reg(cpu, X86_RDX, s, false, hi);
}

static uint64_t mul_flags(struct x86_cpu *cpu, bool overflow, uint64_t lo, unsigned s)
{
	uint64_t f = x86_arith(cpu) & ~(uint64_t)(X86_CF | X86_OF);	/* AMD: SF ZF AF PF unchanged */
	(void)lo;
	(void)s;
	if (overflow)
		f |= X86_CF | X86_OF;
	return f;
}

void x86_h_mul(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t src = x86_rd(cpu, in, 0), acc = cpu->r[X86_RAX] & x86_mask(s);
	unsigned __int128 p = (unsigned __int128)acc * src;
	uint64_t lo = (uint64_t)p & x86_mask(s);
	uint64_t hi = s == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (s * 8)) & x86_mask(s);
	set_wide(cpu, s, lo, hi);
	x86_set_arith(cpu, mul_flags(cpu, hi != 0, lo, s));
}

static void imul_wide(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	int64_t src = (int64_t)x86_sext(x86_rd(cpu, in, 0), s);
	int64_t acc = (int64_t)x86_sext(cpu->r[X86_RAX], s);
	__int128 p = (__int128)acc * src;
	uint64_t lo = (uint64_t)p & x86_mask(s);
	uint64_t hi = s == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (s * 8)) & x86_mask(s);
	set_wide(cpu, s, lo, hi);
	x86_set_arith(cpu, mul_flags(cpu, p != (__int128)(int64_t)x86_sext(lo, s), lo, s));
}

void x86_h_imul(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	int64_t a, b;
	__int128 p;
	uint64_t lo;
	if (in->nops == 1) {
		imul_wide(cpu, in);
		return;
	}
	a = (int64_t)x86_sext(x86_rd(cpu, in, in->nops == 3 ? 1 : 0), s);
	b = (int64_t)x86_sext(in->nops == 3 ? in->imm : x86_rd(cpu, in, 1), s);
	p = (__int128)a * b;
	lo = (uint64_t)p & x86_mask(s);
	x86_wr(cpu, in, 0, lo);
	x86_set_arith(cpu, mul_flags(cpu, p != (__int128)(int64_t)x86_sext(lo, s), lo, s));
}

static void get_wide(struct x86_cpu *cpu, unsigned s, uint64_t *lo, uint64_t *hi)
{
	if (s == 1) {
		*lo = cpu->r[X86_RAX] & 0xff;
		*hi = (cpu->r[X86_RAX] >> 8) & 0xff;
		return;
	}
	*lo = cpu->r[X86_RAX] & x86_mask(s);
	*hi = cpu->r[X86_RDX] & x86_mask(s);
}

static void set_divres(struct x86_cpu *cpu, unsigned s, uint64_t q, uint64_t r)
{
	if (s == 1)
		x86_set_reg(cpu, X86_RAX, 2, false, (q & 0xff) | (r & 0xff) << 8);
	else {
		x86_set_reg(cpu, X86_RAX, s, false, q);
		x86_set_reg(cpu, X86_RDX, s, false, r);
	}
}

/* AMD: OF and CF kept, AF set, SF ZF PF cleared. */
static void div_flags(struct x86_cpu *cpu)
{
	x86_set_arith(cpu, (x86_arith(cpu) & (X86_OF | X86_CF)) | X86_AF);
}

void x86_h_div(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t d = x86_rd(cpu, in, 0), lo, hi;
	unsigned __int128 n, q;
	get_wide(cpu, s, &lo, &hi);
	if (!d)
		x86_raise(cpu, X86_DE, 0, false);
	n = ((unsigned __int128)hi << (s * 8)) | lo;
	q = n / d;
	if (q > x86_mask(s))
		x86_raise(cpu, X86_DE, 0, false);
	set_divres(cpu, s, (uint64_t)q, (uint64_t)(n % d));
	div_flags(cpu);
}

void x86_h_idiv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size, bits = s * 8;
	uint64_t dr = x86_rd(cpu, in, 0), lo, hi;
	int64_t d = (int64_t)x86_sext(dr, s);
	unsigned __int128 n, un, ud, uq, ur, lim;
	bool nneg, neg;
	get_wide(cpu, s, &lo, &hi);
	if (!d)
		x86_raise(cpu, X86_DE, 0, false);
	n = ((unsigned __int128)hi << bits) | lo;	/* 2*bits wide two's complement */
	nneg = (hi >> (bits - 1)) & 1;
	if (nneg)
		un = (bits == 64 ? 0 : ((unsigned __int128)1 << (2 * bits))) - n;
	else
		un = n;
	ud = d < 0 ? (unsigned __int128)(-(__int128)d) : (unsigned __int128)d;
	neg = nneg != (d < 0);
	uq = un / ud;
	ur = un % ud;
	lim = (unsigned __int128)1 << (bits - 1);
	if (neg ? uq > lim : uq >= lim)
		x86_raise(cpu, X86_DE, 0, false);
	set_divres(cpu, s, neg ? (uint64_t)(0 - uq) : (uint64_t)uq, nneg ? (uint64_t)(0 - ur) : (uint64_t)ur);
	div_flags(cpu);
}

/* ---- shifts and rotates ---- */

/* A masked count of 0 changes no flags, but a 32-bit register destination is still written. */
static void zero_count(struct x86_cpu *cpu, const struct x86_insn *in, const struct x86_rmw *m, uint64_t a)
{
	if (in->op[0].type == X86_OT_REG)
		x86_rmw_write(cpu, in, m, a);
}

static unsigned shift_count(struct x86_cpu *cpu, const struct x86_insn *in, unsigned s)
{
	return (unsigned)(x86_rd(cpu, in, 1) & (s == 8 ? 63 : 31));
}

static uint64_t msb(uint64_t v, unsigned s)
{
	return (v >> x86_msb_shift(s)) & 1;
}

static void shift_finish(struct x86_cpu *cpu, unsigned s, uint64_t res, bool cf, bool of)
{
	uint64_t f = x86_szp(res, s) | (cf ? X86_CF : 0) | (of ? X86_OF : 0) | X86_AF;	/* AMD sets AF */
	x86_set_arith(cpu, f);
}

void x86_h_shl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), res;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	res = c >= bits ? 0 : (a << c) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_SHL, s, res, a, c);
}

void x86_h_shr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), res;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	res = c >= bits ? 0 : a >> c;
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_SHR, s, res, a, c);
}

void x86_h_sar(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), res;
	int64_t sa = (int64_t)x86_sext(a, s);
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	res = (uint64_t)(sa >> (c > 63 ? 63 : c)) & x86_mask(s);
	x86_rmw_write(cpu, in, &m, res);
	x86_lf_set(cpu, X86_LF_SAR, s, res, a, c);
}

static uint64_t rotl(uint64_t a, unsigned c, unsigned bits)
{
	uint64_t m = x86_mask(bits / 8);
	c %= bits;
	return c ? ((a << c) | (a >> (bits - c))) & m : a & m;
}


/* Rotates change only CF and OF: the previous lazy state is kept for the other four. */
void x86_rot_flags(struct x86_cpu *cpu, bool cf, bool of)
{
	struct x86_lazy *l = &cpu->lf;
	if (l->op == X86_LF_NONE) {
		cpu->rflags = (cpu->rflags & ~(uint64_t)(X86_CF | X86_OF)) | (cf ? X86_CF : 0) | (of ? X86_OF : 0);
		return;
	}
	if (l->op != X86_LF_ROT) {
		l->pres = l->res, l->pa = l->a, l->pb = l->b;
		l->pop = l->op, l->psize = l->size, l->pcin = l->cin;
		l->op = X86_LF_ROT;
	}
	l->rot_flags = (uint8_t)((cf ? X86_CF : 0) | (of ? 0x80 : 0));
}

void x86_h_rol(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), res;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	res = rotl(a, c, bits);
	x86_rmw_write(cpu, in, &m, res);
	x86_rot_flags(cpu, res & 1, msb(res, s) ^ (res & 1));
}

void x86_h_ror(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), res;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	res = rotl(a, bits - c % bits, bits);
	x86_rmw_write(cpu, in, &m, res);
	x86_rot_flags(cpu, msb(res, s), msb(res, s) ^ ((res >> (bits - 2)) & 1));
}

void x86_h_rcl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m);
	bool cf = x86_cf(cpu);
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	if (s < 4)
		c %= bits + 1;
	for (unsigned i = 0; i < c; i++) {
		bool n = msb(a, s);
		a = ((a << 1) | cf) & x86_mask(s);
		cf = n;
	}
	x86_rmw_write(cpu, in, &m, a);
	x86_rot_flags(cpu, cf, msb(a, s) ^ cf);
}

void x86_h_rcr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shift_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m);
	bool cf = x86_cf(cpu);
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	if (s < 4)
		c %= bits + 1;
	for (unsigned i = 0; i < c; i++) {
		bool n = a & 1;
		a = (a >> 1) | ((uint64_t)cf << (bits - 1));
		cf = n;
	}
	x86_rmw_write(cpu, in, &m, a);
	x86_rot_flags(cpu, cf, msb(a, s) ^ ((a >> (bits - 2)) & 1));
}

static unsigned shd_count(struct x86_cpu *cpu, const struct x86_insn *in, unsigned s)
{
	uint64_t c = in->op[2].type == X86_OT_IMM ? in->imm : cpu->r[X86_RCX];
	return (unsigned)(c & (s == 8 ? 63 : 31));
}

void x86_h_shld(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shd_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), b = x86_rd(cpu, in, 1), res;
	unsigned __int128 w;
	bool cf, of;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	if (s == 2) {	/* AMD: a 16-bit count above 16 shifts through a:b:b */
		uint64_t t = (a << 32) | (b << 16) | b;
		res = (t >> (32 - c)) & 0xffff;
		cf = c <= 16 && ((t >> (48 - c)) & 1);	/* AMD: CF = OF = 0 above 16, OF = CF at 16 */
		of = c < 16 ? msb(res, s) ^ cf : cf;
	} else {
		w = ((unsigned __int128)a << bits) | b;
		res = (uint64_t)(w >> (bits - c)) & x86_mask(s);
		cf = (a >> (bits - c)) & 1;
		of = msb(res, s) ^ cf;
	}
	x86_rmw_write(cpu, in, &m, res);
	shift_finish(cpu, s, res, cf, of);
}

void x86_h_shrd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	unsigned s = in->op[0].size, bits = s * 8, c = shd_count(cpu, in, s);
	uint64_t a = x86_rmw_read(cpu, in, &m), b = x86_rd(cpu, in, 1), res;
	unsigned __int128 w;
	bool cf;
	if (!c) {
		zero_count(cpu, in, &m, a);
		return;
	}
	if (s == 2) {
		uint64_t t = a | (b << 16) | (b << 32);
		res = (t >> c) & 0xffff;
		cf = c <= 16 && ((t >> (c - 1)) & 1);	/* AMD: CF = 0 above 16 */
	} else {
		w = ((unsigned __int128)b << bits) | a;
		res = (uint64_t)(w >> c) & x86_mask(s);
		cf = (a >> (c - 1)) & 1;
	}
	x86_rmw_write(cpu, in, &m, res);
	shift_finish(cpu, s, res, cf, msb(res, s) ^ ((res >> (s * 8 - 2)) & 1));
}

/* ---- bit test / scan ---- */

enum bt_op { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static void bt_common(struct x86_cpu *cpu, const struct x86_insn *in, enum bt_op op)
{
	unsigned s = in->op[0].size, bits = s * 8;
	uint64_t off = x86_rd(cpu, in, 1), v, lin = 0, bit;
	uint64_t f;
	if (in->op[0].type == X86_OT_MEM && in->op[1].type == X86_OT_REG) {
		int64_t so = (int64_t)x86_sext(off, in->op[1].size);
		lin = x86_lin(cpu, in->seg, (x86_ea(cpu, in) + (uint64_t)((so >> (bits == 64 ? 6 : bits == 32 ? 5 : 4)) * (int64_t)s)) & x86_mask(in->asz),
			      s, op != BT_TEST);
	} else if (in->op[0].type == X86_OT_MEM) {
		lin = x86_op_lin(cpu, in, s, op != BT_TEST);
	}
	bit = off & (bits - 1);
	v = in->op[0].type == X86_OT_MEM ? x86_read_lin(cpu, lin, s) : x86_rd(cpu, in, 0);
	f = x86_arith(cpu) & ~(uint64_t)X86_CF;
	if ((v >> bit) & 1)
		f |= X86_CF;
	switch (op) {
	case BT_SET: v |= 1ull << bit; break;
	case BT_RESET: v &= ~(1ull << bit); break;
	case BT_COMPLEMENT: v ^= 1ull << bit; break;
	default: break;
	}
	if (op != BT_TEST) {
		if (in->op[0].type == X86_OT_MEM)
			x86_write_lin(cpu, lin, s, v);
		else
			x86_wr(cpu, in, 0, v);
	}
	x86_set_arith(cpu, f);
}

void x86_h_bt(struct x86_cpu *cpu, const struct x86_insn *in) { bt_common(cpu, in, BT_TEST); }
void x86_h_bts(struct x86_cpu *cpu, const struct x86_insn *in) { bt_common(cpu, in, BT_SET); }
void x86_h_btr(struct x86_cpu *cpu, const struct x86_insn *in) { bt_common(cpu, in, BT_RESET); }
void x86_h_btc(struct x86_cpu *cpu, const struct x86_insn *in) { bt_common(cpu, in, BT_COMPLEMENT); }

static void bitscan(struct x86_cpu *cpu, const struct x86_insn *in, bool reverse)
{
	unsigned s = in->op[0].size;
	uint64_t v = x86_rd(cpu, in, 1) & x86_mask(s), r;
	if (!v) {	/* AMD: destination unchanged, ZF and PF set, the rest cleared */
		x86_set_arith(cpu, X86_ZF | X86_PF);
		return;
	}
	r = reverse ? 63 - (unsigned)__builtin_clzll(v) : (unsigned)__builtin_ctzll(v);
	x86_wr(cpu, in, 0, r);
	x86_set_arith(cpu, x86_szp(r, 1) & X86_PF);
}

void x86_h_bsf(struct x86_cpu *cpu, const struct x86_insn *in) { bitscan(cpu, in, false); }
void x86_h_bsr(struct x86_cpu *cpu, const struct x86_insn *in) { bitscan(cpu, in, true); }

void x86_h_tzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t v = x86_rd(cpu, in, 1) & x86_mask(s), r = v ? (uint64_t)__builtin_ctzll(v) : s * 8;
	uint64_t f = x86_arith(cpu) & X86_OF;
	x86_wr(cpu, in, 0, r);
	x86_set_arith(cpu, f | (v ? 0 : X86_CF) | (r ? 0 : X86_ZF));
}

void x86_h_lzcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t v = x86_rd(cpu, in, 1) & x86_mask(s);
	uint64_t r = v ? (uint64_t)__builtin_clzll(v) - (64 - s * 8) : s * 8;
	uint64_t f = x86_arith(cpu) & X86_OF;
	x86_wr(cpu, in, 0, r);
	x86_set_arith(cpu, f | (v ? 0 : X86_CF) | (r ? 0 : X86_ZF));
}

void x86_h_popcnt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t v = x86_rd(cpu, in, 1) & x86_mask(s);
	x86_wr(cpu, in, 0, (uint64_t)__builtin_popcountll(v));
	x86_set_arith(cpu, v ? 0 : X86_ZF);
}

/* ---- BCD (16/32-bit modes only; Zydis rejects them in 64-bit mode) ---- */

static void bcd_finish(struct x86_cpu *cpu, uint64_t al, bool cf, bool af)
{
	x86_set_reg(cpu, X86_RAX, 1, false, al);
	x86_set_arith(cpu, x86_szp(al, 1) | (cf ? X86_CF : 0) | (af ? X86_AF : 0));
}

void x86_h_daa(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_arith(cpu), al = cpu->r[X86_RAX] & 0xff, old = al;
	bool cf = false, af = false;
	if ((al & 0xf) > 9 || (f & X86_AF)) {
		al = (al + 6) & 0xff;
		af = true;
	}
	if (old > 0x99 || (f & X86_CF)) {
		al = (al + 0x60) & 0xff;
		cf = true;
	}
	bcd_finish(cpu, al, cf, af);
}

void x86_h_das(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_arith(cpu), al = cpu->r[X86_RAX] & 0xff, old = al;
	bool cf = false, af = false;
	if ((al & 0xf) > 9 || (f & X86_AF)) {
		cf = al < 6 || (f & X86_CF);
		al = (al - 6) & 0xff;
		af = true;
	}
	if (old > 0x99 || (f & X86_CF)) {
		al = (al - 0x60) & 0xff;
		cf = true;
	}
	bcd_finish(cpu, al, cf, af);
}

static void ascii_adjust(struct x86_cpu *cpu, bool sub)
{
	uint64_t f = x86_arith(cpu), ax = cpu->r[X86_RAX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || (f & X86_AF);
	if (adj)
		ax = sub ? ((ax - 6) & 0xff) | (((ax >> 8) - 1) & 0xff) << 8 : (ax + 0x106) & 0xffff;
	x86_set_reg(cpu, X86_RAX, 2, false, ax & 0xff0f);
	x86_set_arith(cpu, (x86_szp(ax, 1) & ~(uint64_t)0) | (adj ? X86_CF | X86_AF : 0));
}

void x86_h_aaa(struct x86_cpu *cpu, const struct x86_insn *in) { ascii_adjust(cpu, false); }
void x86_h_aas(struct x86_cpu *cpu, const struct x86_insn *in) { ascii_adjust(cpu, true); }

void x86_h_aam(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d = in->imm & 0xff, al = cpu->r[X86_RAX] & 0xff;
	if (!d)
		x86_raise(cpu, X86_DE, 0, false);
	x86_set_reg(cpu, X86_RAX, 2, false, ((al / d) << 8) | (al % d));
	x86_set_arith(cpu, x86_szp(al % d, 1));
}

void x86_h_aad(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t d = in->imm & 0xff, ax = cpu->r[X86_RAX];
	uint64_t al = ((ax & 0xff) + ((ax >> 8) & 0xff) * d) & 0xff;
	x86_set_reg(cpu, X86_RAX, 2, false, al);
	x86_set_arith(cpu, x86_szp(al, 1));
}
