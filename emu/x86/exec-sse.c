/* SPDX-License-Identifier: MIT */
/*
 * exec-sse.c — SSE and SSE2 (and the MMX forms of the same opcodes): moves, packed integer,
 * scalar and packed floating point, conversions, MXCSR.
 *
 * Arithmetic runs on the host: each operation is the same instruction executed on host XMM
 * registers (inline asm, xmm0 = destination, xmm1 = source), with the guest's MXCSR rounding,
 * DAZ and FTZ bits loaded and every exception masked, then the host MXCSR restored. The result
 * and the exception flags are therefore bit-exact with this host, including what Intel leaves
 * undefined (rcpps/rsqrtps approximations, NaN propagation, integer indefinite). Flags the guest
 * has unmasked raise #XM (CR4.OSXMMEXCPT=1) or #UD without writing the destination; MXCSR then
 * holds every flag the masked operation set (real CPUs may omit post-computation flags there).
 *
 * MMX forms run through the same host operation on the low 64 bits of an XMM value (packs and
 * high unpacks rearrange their inputs first, see mmx_kind). Moves, shuffles and inserts are C.
 * Host requirement: x86-64 (the interpreter is only built there).
 */
#include "emu/x86/handlers.h"

#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS 0x1f80u
#define MXCSR_UE 0x10u
#define MXCSR_UM 0x800u
#define MXCSR_FTZ 0x8000u
#define MXCSR_VALID 0xffffu	/* MXCSR_MASK: DAZ supported, no AMD misaligned-SSE mode */
#define FSW_ES 0x80u
#define FSW_TOP 0x3800u

/* ---- availability (CR0/CR4) and MMX state ---- */

static void sse_avail(struct x86_cpu *cpu)
{
	if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
		x86_ud(cpu);
	if (cpu->cr0 & CR0_TS)
		x86_raise(cpu, X86_NM, 0, false);
}

/* An MMX instruction: #UD/#NM as x87 says, #MF for a pending x87 exception, then TOP=0, all tags valid. */
static void mmx_avail(struct x86_cpu *cpu)
{
	if (cpu->cr0 & CR0_EM)
		x86_ud(cpu);
	if (cpu->cr0 & CR0_TS)
		x86_raise(cpu, X86_NM, 0, false);
	if (cpu->fpu.fsw & FSW_ES)
		x86_raise(cpu, X86_MF, 0, false);
	cpu->fpu.fsw &= (uint16_t)~FSW_TOP;
	cpu->fpu.ftw = 0xff;
}

static void mm_set(struct x86_cpu *cpu, unsigned r, uint64_t v)
{
	cpu->fpu.st[r & 7].mmx = v;
	cpu->fpu.st[r & 7].raw[8] = 0xff;	/* exponent and sign all ones, as MMX writes leave them */
	cpu->fpu.st[r & 7].raw[9] = 0xff;
}

static bool has_mmx(const struct x86_insn *in)
{
	for (unsigned i = 0; i < in->nops; i++)
		if (in->op[i].type == X86_OT_MMX)
			return true;
	return false;
}

/* The checks every handler starts with: MMX rules when an operand is an MMX register, else SSE. */
static void vec_avail(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (has_mmx(in))
		mmx_avail(cpu);
	else
		sse_avail(cpu);
}

/* ---- memory ---- */

static uint64_t vec_lin(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, bool write, bool align)
{
	uint64_t lin = x86_op_lin(cpu, in, size, write);
	if (align && (lin & 15))
		x86_gp0(cpu);
	return lin;
}

static void vec_read(struct x86_cpu *cpu, uint64_t lin, unsigned size, union x86_xmm *v)
{
	memset(v, 0, sizeof(*v));
	if (size == 16) {
		v->q[0] = x86_read_lin(cpu, lin, 8);
		v->q[1] = x86_read_lin(cpu, lin + 8, 8);
	} else {
		v->q[0] = x86_read_lin(cpu, lin, size);
	}
}

/* A 16-byte store writes nothing unless both halves can be written (a page-crossing store is probed first). */
static void vec_write(struct x86_cpu *cpu, uint64_t lin, unsigned size, const union x86_xmm *v)
{
	if (size < 16) {
		x86_write_lin(cpu, lin, size, v->q[0] & x86_mask(size));
		return;
	}
	if ((lin & 0xfff) > 0xff0) {
		(void)x86_read_slow(cpu, lin, 1, X86_ACC_W);
		(void)x86_read_slow(cpu, (lin | 0xfff) + 1, 1, X86_ACC_W);
	}
	x86_write_lin(cpu, lin, 8, v->q[0]);
	x86_write_lin(cpu, lin + 8, 8, v->q[1]);
}

/* ---- operands ---- */

/* Operand i as a vector value (zero-extended): XMM, MMX, memory (op size), GPR or imm8 (shift counts). */
static void opnd_get(struct x86_cpu *cpu, const struct x86_insn *in, unsigned i, bool align, union x86_xmm *v)
{
	const struct x86_opnd *o = &in->op[i];
	switch (o->type) {
	case X86_OT_XMM:
		*v = cpu->fpu.xmm[o->reg];
		return;
	case X86_OT_MMX:
		memset(v, 0, sizeof(*v));
		v->q[0] = cpu->fpu.st[o->reg & 7].mmx;
		return;
	case X86_OT_MEM:
		vec_read(cpu, vec_lin(cpu, in, o->size, false, align && o->size == 16), o->size, v);
		return;
	case X86_OT_REG:
		memset(v, 0, sizeof(*v));
		v->q[0] = x86_get_reg(cpu, o->reg, o->size, o->hi8);
		return;
	case X86_OT_IMM:
		memset(v, 0, sizeof(*v));
		v->q[0] = in->imm & 0xff;
		return;
	default:
		x86_ud(cpu);
	}
}

/* Writes the low size bytes of v to operand i: XMM/MMX registers take all of v (callers zero-extend). */
static void opnd_put(struct x86_cpu *cpu, const struct x86_insn *in, unsigned i, unsigned size, bool align,
		     const union x86_xmm *v)
{
	const struct x86_opnd *o = &in->op[i];
	switch (o->type) {
	case X86_OT_XMM:
		cpu->fpu.xmm[o->reg] = *v;
		return;
	case X86_OT_MMX:
		mm_set(cpu, o->reg, v->q[0]);
		return;
	case X86_OT_MEM:
		vec_write(cpu, vec_lin(cpu, in, size, true, align && size == 16), size, v);
		return;
	case X86_OT_REG:
		x86_set_reg(cpu, o->reg, size, false, v->q[0]);
		return;
	default:
		x86_ud(cpu);
	}
}

static unsigned xfer_size(const struct x86_insn *in)
{
	unsigned a = in->op[0].size, b = in->op[1].size;
	return a && b ? (a < b ? a : b) : a | b;
}

/* ---- host execution ---- */

typedef void (*vec_fn)(union x86_xmm *d, const union x86_xmm *s, uint32_t *mxcsr);

/* d = insn(d, s) on host xmm0/xmm1; MXCSR-independent. */
#define HOST_INT(name, insn)                                                                        \
	static void name(union x86_xmm *d, const union x86_xmm *s, uint32_t *m)                    \
	{                                                                                           \
		(void)m;                                                                            \
		__asm__("movdqu %0, %%xmm0\n\tmovdqu %1, %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"     \
			"movdqu %%xmm0, %0"                                                         \
			: "+m"(*d)                                                                  \
			: "m"(*s)                                                                   \
			: "xmm0", "xmm1");                                                          \
	}

/* d = insn(d, s) under MXCSR *m (all exceptions masked by the caller); *m gets the resulting flags. */
#define HOST_FP(name, insn)                                                                         \
	static void name(union x86_xmm *d, const union x86_xmm *s, uint32_t *m)                    \
	{                                                                                           \
		uint32_t host;                                                                      \
		__asm__ volatile("stmxcsr %2\n\tldmxcsr %1\n\tmovdqu %0, %%xmm0\n\t"                \
				 "movdqu %3, %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"                 \
				 "movdqu %%xmm0, %0\n\tstmxcsr %1\n\tldmxcsr %2"                    \
				 : "+m"(*d), "+m"(*m), "=m"(host)                                   \
				 : "m"(*s)                                                          \
				 : "xmm0", "xmm1");                                                 \
	}

/* The guest's rounding/DAZ/FTZ with every exception masked and no flags: what the host runs under. */
static uint32_t fp_mxcsr(const struct x86_cpu *cpu)
{
	return (cpu->fpu.mxcsr & ~MXCSR_FLAGS) | MXCSR_MASKS;
}

/* Folds the flags an operation raised into MXCSR; unmasked ones fault before the result is written. */
static void fp_finish(struct x86_cpu *cpu, uint32_t m)
{
	uint32_t flags = m & MXCSR_FLAGS;
	uint32_t unmasked = flags & ~(cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
	cpu->fpu.mxcsr |= flags;
	if (unmasked)
		x86_raise(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? X86_XM : X86_UD, 0, false);
}

/*
 * d = fn(d, s) under the guest's MXCSR, faulting on unmasked exceptions. An unmasked underflow traps
 * on a tiny result even when it is exact, which the masked run does not flag: when UM is clear, a
 * second run with FTZ set (which flags UE for every tiny result) finds those.
 */
static void fp_run(struct x86_cpu *cpu, vec_fn fn, union x86_xmm *d, const union x86_xmm *s)
{
	uint32_t m = fp_mxcsr(cpu);
	union x86_xmm r = *d;
	fn(&r, s, &m);
	if (!(cpu->fpu.mxcsr & MXCSR_UM) && !(m & MXCSR_UE)) {
		union x86_xmm t = *d;
		uint32_t m2 = fp_mxcsr(cpu) | MXCSR_FTZ;
		fn(&t, s, &m2);
		m |= m2 & MXCSR_UE;
	}
	fp_finish(cpu, m);
	*d = r;
}

/* How an MMX form maps onto the XMM operation (low 64 bits of the result are the MMX result). */
enum { MMX_ELEM = 0, MMX_PACK, MMX_UNPCKH, MMX_NONE };

static void mmx_binop(struct x86_cpu *cpu, const struct x86_insn *in, vec_fn fn, unsigned kind)
{
	union x86_xmm d, s;
	uint32_t m = 0;
	if (kind == MMX_NONE)
		x86_unimplemented(cpu, in);
	mmx_avail(cpu);
	opnd_get(cpu, in, 1, false, &s);
	opnd_get(cpu, in, 0, false, &d);
	if (kind == MMX_PACK) {
		d.q[1] = s.q[0];
		s.q[0] = 0;
	} else if (kind == MMX_UNPCKH) {
		d.q[1] = d.q[0] >> 32;
		s.q[1] = s.q[0] >> 32;
	}
	fn(&d, &s, &m);
	mm_set(cpu, in->op[0].reg, d.q[0]);
}

/* op0 = fn(op0, op1): integer (fp false) or floating point under the guest's MXCSR. */
static void vec_binop(struct x86_cpu *cpu, const struct x86_insn *in, vec_fn fn, unsigned kind, bool fp)
{
	union x86_xmm d, s;
	uint32_t m;
	if (in->op[0].type == X86_OT_MMX) {
		mmx_binop(cpu, in, fn, kind);
		return;
	}
	if (in->op[0].type != X86_OT_XMM || in->op[1].type == X86_OT_MMX)
		x86_unimplemented(cpu, in);
	sse_avail(cpu);
	opnd_get(cpu, in, 1, true, &s);
	d = cpu->fpu.xmm[in->op[0].reg];
	if (fp) {
		fp_run(cpu, fn, &d, &s);
	} else {
		m = 0;
		fn(&d, &s, &m);
	}
	cpu->fpu.xmm[in->op[0].reg] = d;
}

#define VEC_INT(mn, insn, kind)                                                     \
	HOST_INT(host_##mn, insn)                                                   \
	void x86_h_##mn(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                           \
		vec_binop(cpu, in, host_##mn, kind, false);                         \
	}
#define VEC_FP(mn, insn)                                                            \
	HOST_FP(host_##mn, insn)                                                    \
	void x86_h_##mn(struct x86_cpu *cpu, const struct x86_insn *in)             \
	{                                                                           \
		vec_binop(cpu, in, host_##mn, MMX_NONE, true);                      \
	}

/* logic */
VEC_INT(pand, "pand", MMX_ELEM)
VEC_INT(pandn, "pandn", MMX_ELEM)
VEC_INT(por, "por", MMX_ELEM)
VEC_INT(pxor, "pxor", MMX_ELEM)
VEC_INT(andps, "andps", MMX_NONE)
VEC_INT(andpd, "andpd", MMX_NONE)
VEC_INT(andnps, "andnps", MMX_NONE)
VEC_INT(andnpd, "andnpd", MMX_NONE)
VEC_INT(orps, "orps", MMX_NONE)
VEC_INT(orpd, "orpd", MMX_NONE)
VEC_INT(xorps, "xorps", MMX_NONE)
VEC_INT(xorpd, "xorpd", MMX_NONE)
/* packed integer arithmetic */
VEC_INT(paddb, "paddb", MMX_ELEM)
VEC_INT(paddw, "paddw", MMX_ELEM)
VEC_INT(paddd, "paddd", MMX_ELEM)
VEC_INT(paddq, "paddq", MMX_ELEM)
VEC_INT(psubb, "psubb", MMX_ELEM)
VEC_INT(psubw, "psubw", MMX_ELEM)
VEC_INT(psubd, "psubd", MMX_ELEM)
VEC_INT(psubq, "psubq", MMX_ELEM)
VEC_INT(paddsb, "paddsb", MMX_ELEM)
VEC_INT(paddsw, "paddsw", MMX_ELEM)
VEC_INT(paddusb, "paddusb", MMX_ELEM)
VEC_INT(paddusw, "paddusw", MMX_ELEM)
VEC_INT(psubsb, "psubsb", MMX_ELEM)
VEC_INT(psubsw, "psubsw", MMX_ELEM)
VEC_INT(psubusb, "psubusb", MMX_ELEM)
VEC_INT(psubusw, "psubusw", MMX_ELEM)
VEC_INT(pcmpeqb, "pcmpeqb", MMX_ELEM)
VEC_INT(pcmpeqw, "pcmpeqw", MMX_ELEM)
VEC_INT(pcmpeqd, "pcmpeqd", MMX_ELEM)
VEC_INT(pcmpgtb, "pcmpgtb", MMX_ELEM)
VEC_INT(pcmpgtw, "pcmpgtw", MMX_ELEM)
VEC_INT(pcmpgtd, "pcmpgtd", MMX_ELEM)
VEC_INT(pminub, "pminub", MMX_ELEM)
VEC_INT(pmaxub, "pmaxub", MMX_ELEM)
VEC_INT(pminsw, "pminsw", MMX_ELEM)
VEC_INT(pmaxsw, "pmaxsw", MMX_ELEM)
VEC_INT(pavgb, "pavgb", MMX_ELEM)
VEC_INT(pavgw, "pavgw", MMX_ELEM)
VEC_INT(psadbw, "psadbw", MMX_ELEM)
VEC_INT(pmullw, "pmullw", MMX_ELEM)
VEC_INT(pmulhw, "pmulhw", MMX_ELEM)
VEC_INT(pmulhuw, "pmulhuw", MMX_ELEM)
VEC_INT(pmuludq, "pmuludq", MMX_ELEM)
VEC_INT(pmaddwd, "pmaddwd", MMX_ELEM)
/* shifts by an XMM/MMX/memory count or an imm8 (the same operation: the count is the low 64 bits) */
VEC_INT(psllw, "psllw", MMX_ELEM)
VEC_INT(pslld, "pslld", MMX_ELEM)
VEC_INT(psllq, "psllq", MMX_ELEM)
VEC_INT(psrlw, "psrlw", MMX_ELEM)
VEC_INT(psrld, "psrld", MMX_ELEM)
VEC_INT(psrlq, "psrlq", MMX_ELEM)
VEC_INT(psraw, "psraw", MMX_ELEM)
VEC_INT(psrad, "psrad", MMX_ELEM)
/* unpack and pack */
VEC_INT(punpcklbw, "punpcklbw", MMX_ELEM)
VEC_INT(punpcklwd, "punpcklwd", MMX_ELEM)
VEC_INT(punpckldq, "punpckldq", MMX_ELEM)
VEC_INT(punpcklqdq, "punpcklqdq", MMX_NONE)
VEC_INT(punpckhbw, "punpckhbw", MMX_UNPCKH)
VEC_INT(punpckhwd, "punpckhwd", MMX_UNPCKH)
VEC_INT(punpckhdq, "punpckhdq", MMX_UNPCKH)
VEC_INT(punpckhqdq, "punpckhqdq", MMX_NONE)
VEC_INT(packsswb, "packsswb", MMX_PACK)
VEC_INT(packssdw, "packssdw", MMX_PACK)
VEC_INT(packuswb, "packuswb", MMX_PACK)
VEC_INT(unpcklps, "unpcklps", MMX_NONE)
VEC_INT(unpckhps, "unpckhps", MMX_NONE)
VEC_INT(unpcklpd, "unpcklpd", MMX_NONE)
VEC_INT(unpckhpd, "unpckhpd", MMX_NONE)
/* floating point arithmetic */
VEC_FP(addps, "addps")
VEC_FP(addpd, "addpd")
VEC_FP(addss, "addss")
VEC_FP(addsd, "addsd")
VEC_FP(subps, "subps")
VEC_FP(subpd, "subpd")
VEC_FP(subss, "subss")
VEC_FP(subsd, "subsd")
VEC_FP(mulps, "mulps")
VEC_FP(mulpd, "mulpd")
VEC_FP(mulss, "mulss")
VEC_FP(mulsd, "mulsd")
VEC_FP(divps, "divps")
VEC_FP(divpd, "divpd")
VEC_FP(divss, "divss")
VEC_FP(divsd, "divsd")
VEC_FP(minps, "minps")
VEC_FP(minpd, "minpd")
VEC_FP(minss, "minss")
VEC_FP(minsd, "minsd")
VEC_FP(maxps, "maxps")
VEC_FP(maxpd, "maxpd")
VEC_FP(maxss, "maxss")
VEC_FP(maxsd, "maxsd")
VEC_FP(sqrtps, "sqrtps")
VEC_FP(sqrtpd, "sqrtpd")
VEC_FP(sqrtss, "sqrtss")
VEC_FP(sqrtsd, "sqrtsd")
VEC_FP(rcpps, "rcpps")
VEC_FP(rcpss, "rcpss")
VEC_FP(rsqrtps, "rsqrtps")
VEC_FP(rsqrtss, "rsqrtss")
/* conversions between vector formats */
VEC_FP(cvtss2sd, "cvtss2sd")
VEC_FP(cvtsd2ss, "cvtsd2ss")
VEC_FP(cvtps2pd, "cvtps2pd")
VEC_FP(cvtpd2ps, "cvtpd2ps")
VEC_FP(cvtdq2ps, "cvtdq2ps")
VEC_FP(cvtps2dq, "cvtps2dq")
VEC_FP(cvttps2dq, "cvttps2dq")
VEC_FP(cvtdq2pd, "cvtdq2pd")
VEC_FP(cvtpd2dq, "cvtpd2dq")
VEC_FP(cvttpd2dq, "cvttpd2dq")

/* ---- compares with a predicate (imm8 bits 2:0; legacy encodings ignore bits 7:3) ---- */

#define CMP8(fn, op)                                                                                \
	HOST_FP(host_##fn##0, op " $0,") HOST_FP(host_##fn##1, op " $1,")                          \
	HOST_FP(host_##fn##2, op " $2,") HOST_FP(host_##fn##3, op " $3,")                          \
	HOST_FP(host_##fn##4, op " $4,") HOST_FP(host_##fn##5, op " $5,")                          \
	HOST_FP(host_##fn##6, op " $6,") HOST_FP(host_##fn##7, op " $7,")                          \
	static const vec_fn host_##fn[8] = { host_##fn##0, host_##fn##1, host_##fn##2, host_##fn##3, \
					     host_##fn##4, host_##fn##5, host_##fn##6, host_##fn##7 }; \
	void x86_h_##fn(struct x86_cpu *cpu, const struct x86_insn *in)                             \
	{                                                                                           \
		vec_binop(cpu, in, host_##fn[in->imm & 7], MMX_NONE, true);                         \
	}

CMP8(cmpps, "cmpps")
CMP8(cmppd, "cmppd")
CMP8(cmpss, "cmpss")
CMP8(cmpsd_sse, "cmpsd")

/* ---- scalar compares into EFLAGS ---- */

#define HOST_COMI(name, insn)                                                                       \
	static uint64_t name(const union x86_xmm *d, const union x86_xmm *s, uint32_t *m)          \
	{                                                                                           \
		uint32_t host;                                                                      \
		uint8_t z, p, c;                                                                    \
		__asm__ volatile("stmxcsr %4\n\tldmxcsr %3\n\tmovdqu %5, %%xmm0\n\t"                \
				 "movdqu %6, %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"                 \
				 "setz %0\n\tsetp %1\n\tsetc %2\n\tstmxcsr %3\n\tldmxcsr %4"        \
				 : "=q"(z), "=q"(p), "=q"(c), "+m"(*m), "=m"(host)                  \
				 : "m"(*d), "m"(*s)                                                 \
				 : "xmm0", "xmm1", "cc");                                           \
		return (z ? X86_ZF : 0) | (p ? X86_PF : 0) | (c ? X86_CF : 0);                      \
	}
HOST_COMI(host_comiss, "comiss")
HOST_COMI(host_comisd, "comisd")
HOST_COMI(host_ucomiss, "ucomiss")
HOST_COMI(host_ucomisd, "ucomisd")

static void vec_comi(struct x86_cpu *cpu, const struct x86_insn *in,
		     uint64_t (*fn)(const union x86_xmm *, const union x86_xmm *, uint32_t *))
{
	union x86_xmm d, s;
	uint32_t m = fp_mxcsr(cpu);
	uint64_t f;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, false, &s);
	d = cpu->fpu.xmm[in->op[0].reg];
	f = fn(&d, &s, &m);
	fp_finish(cpu, m);
	x86_set_arith(cpu, f);
}

void x86_h_comiss(struct x86_cpu *cpu, const struct x86_insn *in) { vec_comi(cpu, in, host_comiss); }
void x86_h_comisd(struct x86_cpu *cpu, const struct x86_insn *in) { vec_comi(cpu, in, host_comisd); }
void x86_h_ucomiss(struct x86_cpu *cpu, const struct x86_insn *in) { vec_comi(cpu, in, host_ucomiss); }
void x86_h_ucomisd(struct x86_cpu *cpu, const struct x86_insn *in) { vec_comi(cpu, in, host_ucomisd); }

/* ---- conversions to and from general-purpose integers ---- */

#define HOST_TOINT(name, insn, reg)                                                                 \
	static uint64_t name(const union x86_xmm *s, uint32_t *m)                                   \
	{                                                                                           \
		uint32_t host;                                                                      \
		uint64_t r = 0;                                                                     \
		__asm__ volatile("stmxcsr %2\n\tldmxcsr %1\n\tmovdqu %3, %%xmm1\n\t" insn           \
				 " %%xmm1, %" reg "0\n\tstmxcsr %1\n\tldmxcsr %2"                   \
				 : "+r"(r), "+m"(*m), "=m"(host)                                    \
				 : "m"(*s)                                                          \
				 : "xmm1");                                                         \
		return r;                                                                           \
	}
HOST_TOINT(host_cvtss2si32, "cvtss2si", "k")
HOST_TOINT(host_cvtss2si64, "cvtss2si", "q")
HOST_TOINT(host_cvtsd2si32, "cvtsd2si", "k")
HOST_TOINT(host_cvtsd2si64, "cvtsd2si", "q")
HOST_TOINT(host_cvttss2si32, "cvttss2si", "k")
HOST_TOINT(host_cvttss2si64, "cvttss2si", "q")
HOST_TOINT(host_cvttsd2si32, "cvttsd2si", "k")
HOST_TOINT(host_cvttsd2si64, "cvttsd2si", "q")

static void vec_toint(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t (*f32)(const union x86_xmm *, uint32_t *),
		      uint64_t (*f64)(const union x86_xmm *, uint32_t *))
{
	union x86_xmm s;
	uint32_t m = fp_mxcsr(cpu);
	uint64_t r;
	if (in->op[0].type != X86_OT_REG)
		x86_unimplemented(cpu, in);
	sse_avail(cpu);
	opnd_get(cpu, in, 1, false, &s);
	r = in->op[0].size == 8 ? f64(&s, &m) : f32(&s, &m);
	fp_finish(cpu, m);
	x86_set_reg(cpu, in->op[0].reg, in->op[0].size, false, r);
}

void x86_h_cvtss2si(struct x86_cpu *cpu, const struct x86_insn *in) { vec_toint(cpu, in, host_cvtss2si32, host_cvtss2si64); }
void x86_h_cvtsd2si(struct x86_cpu *cpu, const struct x86_insn *in) { vec_toint(cpu, in, host_cvtsd2si32, host_cvtsd2si64); }
void x86_h_cvttss2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
	vec_toint(cpu, in, host_cvttss2si32, host_cvttss2si64);
}
void x86_h_cvttsd2si(struct x86_cpu *cpu, const struct x86_insn *in)
{
	vec_toint(cpu, in, host_cvttsd2si32, host_cvttsd2si64);
}

#define HOST_FROMINT(name, insn, reg)                                                               \
	static void name(union x86_xmm *d, uint64_t v, uint32_t *m)                                 \
	{                                                                                           \
		uint32_t host;                                                                      \
		__asm__ volatile("stmxcsr %2\n\tldmxcsr %1\n\tmovdqu %0, %%xmm0\n\t" insn           \
				 " %" reg "3, %%xmm0\n\tmovdqu %%xmm0, %0\n\tstmxcsr %1\n\tldmxcsr %2" \
				 : "+m"(*d), "+m"(*m), "=m"(host)                                   \
				 : "r"(v)                                                           \
				 : "xmm0");                                                         \
	}
HOST_FROMINT(host_cvtsi2ss32, "cvtsi2ssl", "k")
HOST_FROMINT(host_cvtsi2ss64, "cvtsi2ssq", "q")
HOST_FROMINT(host_cvtsi2sd32, "cvtsi2sdl", "k")
HOST_FROMINT(host_cvtsi2sd64, "cvtsi2sdq", "q")

static void vec_fromint(struct x86_cpu *cpu, const struct x86_insn *in, void (*f32)(union x86_xmm *, uint64_t, uint32_t *),
			void (*f64)(union x86_xmm *, uint64_t, uint32_t *))
{
	union x86_xmm d;
	uint32_t m = fp_mxcsr(cpu);
	uint64_t v;
	if (in->op[0].type != X86_OT_XMM || (in->op[1].type != X86_OT_REG && in->op[1].type != X86_OT_MEM))
		x86_unimplemented(cpu, in);
	sse_avail(cpu);
	v = x86_rd(cpu, in, 1);
	d = cpu->fpu.xmm[in->op[0].reg];
	if (in->op[1].size == 8)
		f64(&d, v, &m);
	else
		f32(&d, v, &m);
	fp_finish(cpu, m);
	cpu->fpu.xmm[in->op[0].reg] = d;
}

void x86_h_cvtsi2ss(struct x86_cpu *cpu, const struct x86_insn *in) { vec_fromint(cpu, in, host_cvtsi2ss32, host_cvtsi2ss64); }
void x86_h_cvtsi2sd(struct x86_cpu *cpu, const struct x86_insn *in) { vec_fromint(cpu, in, host_cvtsi2sd32, host_cvtsi2sd64); }

/* ---- moves ---- */

/* Whole-register moves: movaps/movapd/movdqa/movntps/movntpd/movntdq (aligned) and the unaligned ones. */
static void vec_mov(struct x86_cpu *cpu, const struct x86_insn *in, bool align)
{
	union x86_xmm v;
	vec_avail(cpu, in);
	opnd_get(cpu, in, 1, align, &v);
	opnd_put(cpu, in, 0, in->op[0].size ? in->op[0].size : 16, align, &v);
}

void x86_h_movaps(struct x86_cpu *cpu, const struct x86_insn *in) { vec_mov(cpu, in, true); }
void x86_h_movups(struct x86_cpu *cpu, const struct x86_insn *in) { vec_mov(cpu, in, false); }

/* movntq m64, mm and movnti m32/m64, r32/r64 (no SSE state: movnti needs no CR4.OSFXSR) */
void x86_h_movntq(struct x86_cpu *cpu, const struct x86_insn *in) { vec_mov(cpu, in, false); }

void x86_h_movnti(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_wr(cpu, in, 0, x86_rd(cpu, in, 1));
}

/* movd/movq in every direction: the destination register is zero-extended past the transfer size. */
void x86_h_movd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v;
	unsigned size = xfer_size(in);
	vec_avail(cpu, in);
	opnd_get(cpu, in, 1, false, &v);
	if (size < 16)
		v.q[1] = 0;
	if (size < 8)
		v.q[0] &= x86_mask(size);
	opnd_put(cpu, in, 0, size, false, &v);
}

/* movq2dq xmm, mm / movdq2q mm, xmm */
void x86_h_movq2dq(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v;
	mmx_avail(cpu);
	if (!(cpu->cr4 & CR4_OSFXSR))
		x86_ud(cpu);
	opnd_get(cpu, in, 1, false, &v);
	v.q[1] = 0;
	opnd_put(cpu, in, 0, 8, false, &v);
}

/* movss/movsd: register to register merges the low element; a load zeroes the rest; a store writes size. */
static void vec_movs(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	union x86_xmm v;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, false, &v);
	if (in->op[0].type == X86_OT_XMM && in->op[1].type == X86_OT_XMM) {
		union x86_xmm *d = &cpu->fpu.xmm[in->op[0].reg];
		memcpy(d, &v, size);
		return;
	}
	opnd_put(cpu, in, 0, size, false, &v);
}

void x86_h_movss(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movs(cpu, in, 4); }
void x86_h_movsd_sse(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movs(cpu, in, 8); }

/* movlps/movlpd/movhps/movhpd (one qword to or from memory), movhlps, movlhps. */
static void vec_movhl(struct x86_cpu *cpu, const struct x86_insn *in, unsigned dq, unsigned sq)
{
	union x86_xmm v;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, false, &v);
	if (in->op[0].type == X86_OT_XMM) {
		cpu->fpu.xmm[in->op[0].reg].q[dq] = v.q[sq];
		return;
	}
	v.q[0] = v.q[sq];
	opnd_put(cpu, in, 0, 8, false, &v);
}

void x86_h_movlps(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movhl(cpu, in, 0, 0); }
void x86_h_movhlps(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movhl(cpu, in, 0, 1); }
void x86_h_movlhps(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movhl(cpu, in, 1, 0); }

void x86_h_movhps(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->op[0].type == X86_OT_XMM)
		vec_movhl(cpu, in, 1, 0);
	else
		vec_movhl(cpu, in, 0, 1);
}

/* ---- MXCSR ---- */

void x86_h_ldmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint32_t v;
	sse_avail(cpu);
	v = (uint32_t)x86_rd(cpu, in, 0);
	if (v & ~MXCSR_VALID)
		x86_gp0(cpu);
	cpu->fpu.mxcsr = v;
}

void x86_h_stmxcsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	sse_avail(cpu);
	x86_wr(cpu, in, 0, cpu->fpu.mxcsr);
}

/* ---- shuffles, byte shifts, inserts and extracts (C) ---- */

void x86_h_pshufd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, d;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, true, &s);
	for (unsigned i = 0; i < 4; i++)
		d.d[i] = s.d[(in->imm >> (2 * i)) & 3];
	cpu->fpu.xmm[in->op[0].reg] = d;
}

/* pshuflw (lo = 0) and pshufhw (lo = 4): shuffle the words of one half, copy the other. */
static void pshufxw(struct x86_cpu *cpu, const struct x86_insn *in, unsigned lo)
{
	union x86_xmm s, d;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, true, &s);
	d = s;
	for (unsigned i = 0; i < 4; i++)
		d.w[lo + i] = s.w[lo + ((in->imm >> (2 * i)) & 3)];
	cpu->fpu.xmm[in->op[0].reg] = d;
}

void x86_h_pshuflw(struct x86_cpu *cpu, const struct x86_insn *in) { pshufxw(cpu, in, 0); }
void x86_h_pshufhw(struct x86_cpu *cpu, const struct x86_insn *in) { pshufxw(cpu, in, 4); }

void x86_h_pshufw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s;
	uint64_t r = 0;
	mmx_avail(cpu);
	opnd_get(cpu, in, 1, false, &s);
	for (unsigned i = 0; i < 4; i++)
		r |= (uint64_t)s.w[(in->imm >> (2 * i)) & 3] << (16 * i);
	mm_set(cpu, in->op[0].reg, r);
}

void x86_h_shufps(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, d, *x;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, true, &s);
	x = &cpu->fpu.xmm[in->op[0].reg];
	d.d[0] = x->d[in->imm & 3];
	d.d[1] = x->d[(in->imm >> 2) & 3];
	d.d[2] = s.d[(in->imm >> 4) & 3];
	d.d[3] = s.d[(in->imm >> 6) & 3];
	*x = d;
}

void x86_h_shufpd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s, d, *x;
	sse_avail(cpu);
	opnd_get(cpu, in, 1, true, &s);
	x = &cpu->fpu.xmm[in->op[0].reg];
	d.q[0] = x->q[in->imm & 1];
	d.q[1] = s.q[(in->imm >> 1) & 1];
	*x = d;
}

/* pslldq/psrldq: byte shifts of the whole register; counts above 15 clear it. */
static void byte_shift(struct x86_cpu *cpu, const struct x86_insn *in, bool left)
{
	union x86_xmm *x = &cpu->fpu.xmm[in->op[0].reg], d;
	unsigned n = (unsigned)(in->imm & 0xff);
	sse_avail(cpu);
	memset(&d, 0, sizeof(d));
	if (n < 16) {
		if (left)
			memcpy(d.b + n, x->b, 16 - n);
		else
			memcpy(d.b, x->b + n, 16 - n);
	}
	*x = d;
}

void x86_h_pslldq(struct x86_cpu *cpu, const struct x86_insn *in) { byte_shift(cpu, in, true); }
void x86_h_psrldq(struct x86_cpu *cpu, const struct x86_insn *in) { byte_shift(cpu, in, false); }

void x86_h_pextrw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm s;
	unsigned lanes = in->op[1].type == X86_OT_MMX ? 4 : 8;
	if (in->op[0].type != X86_OT_REG)
		x86_unimplemented(cpu, in);	/* SSE4.1's pextrw m16 */
	vec_avail(cpu, in);
	opnd_get(cpu, in, 1, false, &s);
	x86_set_reg(cpu, in->op[0].reg, in->op[0].size, false, s.w[in->imm & (lanes - 1)]);
}

void x86_h_pinsrw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t w;
	unsigned lanes = in->op[0].type == X86_OT_MMX ? 4 : 8;
	vec_avail(cpu, in);
	w = (uint16_t)x86_rd(cpu, in, 1);
	if (in->op[0].type == X86_OT_MMX) {
		unsigned sh = 16 * (unsigned)(in->imm & 3);
		uint64_t v = cpu->fpu.st[in->op[0].reg & 7].mmx;
		mm_set(cpu, in->op[0].reg, (v & ~(0xffffull << sh)) | ((uint64_t)w << sh));
		return;
	}
	cpu->fpu.xmm[in->op[0].reg].w[in->imm & (lanes - 1)] = w;
}

/* pmovmskb / movmskps / movmskpd: the sign bit of each element (esize bytes) into a GPR. */
static void vec_movmsk(struct x86_cpu *cpu, const struct x86_insn *in, unsigned esize)
{
	union x86_xmm s;
	unsigned n = (in->op[1].type == X86_OT_MMX ? 8 : 16) / esize;
	uint64_t r = 0;
	vec_avail(cpu, in);
	opnd_get(cpu, in, 1, false, &s);
	for (unsigned i = 0; i < n; i++)
		r |= (uint64_t)(s.b[i * esize + esize - 1] >> 7) << i;
	x86_set_reg(cpu, in->op[0].reg, in->op[0].size, false, r);
}

void x86_h_pmovmskb(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movmsk(cpu, in, 1); }
void x86_h_movmskps(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movmsk(cpu, in, 4); }
void x86_h_movmskpd(struct x86_cpu *cpu, const struct x86_insn *in) { vec_movmsk(cpu, in, 8); }

/* maskmovdqu / maskmovq: the bytes of op0 whose mask byte (op1) has bit 7 set go to DS:rDI. */
void x86_h_maskmovdqu(struct x86_cpu *cpu, const struct x86_insn *in)
{
	union x86_xmm v, mask;
	unsigned n = in->op[0].type == X86_OT_MMX ? 8 : 16;
	uint64_t ea = cpu->r[X86_RDI] & x86_mask(in->asz);
	vec_avail(cpu, in);
	opnd_get(cpu, in, 0, false, &v);
	opnd_get(cpu, in, 1, false, &mask);
	for (unsigned i = 0; i < n; i++)
		if (mask.b[i] & 0x80)
			x86_write_mem(cpu, in->seg, (ea + i) & x86_mask(in->asz), 1, v.b[i]);
}

/* ---- decoding aid ---- */

/* Zydis names the SSE movsd/cmpsd like the string instructions: pick the SSE handler for XMM forms. */
x86_handler x86_sse_alias(const struct x86_insn *in, x86_handler fn)
{
	bool xmm = false;
	for (unsigned i = 0; i < in->nops; i++)
		if (in->op[i].type == X86_OT_XMM)
			xmm = true;
	if (!xmm)
		return fn;
	if (fn == x86_h_movs)
		return x86_h_movsd_sse;
	if (fn == x86_h_cmps)
		return x86_h_cmpsd_sse;
	return fn;
}
