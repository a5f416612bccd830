/* SPDX-License-Identifier: MIT */
/*
 * exec-x87.c — the x87 FPU: the control instructions (fninit, fnclex, fwait, fnstsw, fnstcw,
 * fldcw, fnstenv/fldenv, fnsave/frstor), FXSAVE/FXRSTOR in every layout, emms, and one handler
 * for every other x87 instruction, which runs it on the host FPU (x87-host.c) around the guest's
 * memory operand. CR0.EM/TS/MP/NE and CR4.OSFXSR behave as the SDM's tables say; an unmasked
 * exception is pending in FSW.ES and raises #MF at the next waiting instruction.
 *
 * Where vendors differ, this follows the AMD host the tests compare against: FXSAVE stores FIP,
 * FDP and FOP only while an unmasked exception is pending (fnstenv/fnsave always store them).
 */
#include <errno.h>
#include <Zydis/Zydis.h>

#include "emu/x86/handlers.h"
#include "emu/x86/x87-local.h"

#define CR0_PG (1ull << 31)
#define FCW_KEEP 0x1f3fu	/* FCW bits software can change; bit 6 reads as 1 */
#define FCW_ONE 0x0040u

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- checks ---- */

void x87_check_pending(struct x86_cpu *cpu)
{
	if (!(cpu->fpu.fsw & X87_FSW_ES))
		return;
	if (cpu->cr0 & X86_CR0_NE)
		x86_raise(cpu, X86_MF, 0, false);
	if (!cpu->ferr_noted && cpu->log) {	/* MS-DOS style reporting through FERR#/IRQ 13: not modelled */
		cpu->ferr_noted = true;
		fprintf(cpu->log, "vmscope: interp: pending x87 exception with CR0.NE clear: FERR# is not supported, "
				  "continuing as if IGNNE# were asserted\n");
	}
}

void x87_check(struct x86_cpu *cpu, bool waiting)
{
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		x86_raise(cpu, X86_NM, 0, false);
	if (waiting)
		x87_check_pending(cpu);
}

void x87_check_fx(struct x86_cpu *cpu)
{
	if (cpu->cr0 & X86_CR0_EM)
		x86_ud(cpu);
	if (cpu->cr0 & X86_CR0_TS)
		x86_raise(cpu, X86_NM, 0, false);
}

/* ---- guest memory blocks ---- */

static void mem_read(struct x86_cpu *cpu, uint64_t lin, uint8_t *buf, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		unsigned k = n - i >= 8 ? 8 : n - i >= 4 ? 4 : n - i >= 2 ? 2 : 1;
		uint64_t v = x86_read_lin(cpu, lin + i, k);
		memcpy(buf + i, &v, k);
		i += k;
	}
}

/* Page faults on every page of a store come before any byte of it is written. */
static void probe_write(struct x86_cpu *cpu, uint64_t lin, unsigned n)
{
	uint64_t last = lin + n - 1;
	if (!(cpu->cr0 & CR0_PG) || !((lin ^ last) >> 12))
		return;
	for (uint64_t p = (lin & ~0xfffull) + 0x1000; p <= last; p += 0x1000) {
		uint64_t a = cpu->mode == X86_MODE_LONG64 ? p : p & 0xffffffffull, gpa;
		uint32_t err = 0;
		int writable;
		bool global, user_page;
		if (x86_walk(cpu, a, X86_ACC_W, cpu->cpl == 3, false, &gpa, &writable, &err, &global, &user_page)) {
			cpu->cr2 = a;
			x86_raise_err(cpu, X86_PF_VEC, err);
		}
	}
}

static void mem_write(struct x86_cpu *cpu, uint64_t lin, const uint8_t *buf, unsigned n)
{
	probe_write(cpu, lin, n);
	for (unsigned i = 0; i < n;) {
		unsigned k = n - i >= 8 ? 8 : n - i >= 4 ? 4 : n - i >= 2 ? 2 : 1;
		uint64_t v = 0;
		memcpy(&v, buf + i, k);
		x86_write_lin(cpu, lin + i, k, v);
		i += k;
	}
}

static uint64_t mem_lin(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, bool write)
{
	if ((in->modrm >> 6) == 3)
		x86_ud(cpu);
	return x86_op_lin(cpu, in, size, write);
}

/* ---- state helpers ---- */

static void fninit_state(struct x86_fpu *f)
{
	f->fcw = X86_FCW_RESET;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
}

static void set_fcw(struct x86_fpu *f, uint16_t v)
{
	f->fcw = (uint16_t)((v & FCW_KEEP) | FCW_ONE);
	x87_sync_es(f);
}

/* The full tag of physical register r: 0 valid, 1 zero, 2 special, 3 empty. */
static unsigned full_tag(const struct x86_fpu *f, unsigned r)
{
	uint64_t m = get64(f->st[r].raw);
	unsigned e = get16(f->st[r].raw + 8) & 0x7fff;
	if (!((f->ftw >> r) & 1))
		return 3;
	if (e == 0x7fff)
		return 2;
	if (e == 0)
		return m ? 2 : 1;
	return (m >> 63) ? 0 : 2;
}

static uint16_t full_tag_word(const struct x86_fpu *f)
{
	uint16_t tw = 0;
	for (unsigned r = 0; r < 8; r++)
		tw |= (uint16_t)(full_tag(f, r) << (2 * r));
	return tw;
}

static uint8_t abridged_tags(uint16_t tw)
{
	uint8_t t = 0;
	for (unsigned r = 0; r < 8; r++)
		if (((tw >> (2 * r)) & 3) != 3)
			t |= (uint8_t)(1u << r);
	return t;
}

/* FIP, FCS and FOP for every non-control instruction; FDP and FDS when it has a memory operand. */
static void set_pointers(struct x86_cpu *cpu, const struct x86_insn *in, bool mem, uint64_t ea)
{
	struct x86_fpu *f = &cpu->fpu;
	f->fip = cpu->rip;
	f->fcs = cpu->seg[X86_CS].sel;
	f->fop = (uint16_t)(((in->opcode & 7u) << 8) | in->modrm);
	if (mem) {
		f->fdp = ea;
		f->fds = cpu->seg[in->seg].sel;
	}
}

static bool real_format(const struct x86_cpu *cpu)
{
	return cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM);
}

/* ---- fnstenv / fldenv images (SDM vol. 1, figures 8-9 to 8-12) ---- */

static unsigned env_store(const struct x86_cpu *cpu, uint8_t *b, bool o16)
{
	const struct x86_fpu *f = &cpu->fpu;
	uint32_t ip = (uint32_t)f->fip, dp = (uint32_t)f->fdp;
	uint16_t tw = full_tag_word(f);
	bool real = real_format(cpu);
	if (real) {
		ip = ((uint32_t)f->fcs << 4) + ip;
		dp = ((uint32_t)f->fds << 4) + dp;
	}
	if (o16) {
		uint16_t w[7] = { f->fcw, f->fsw, tw, (uint16_t)ip, f->fcs, (uint16_t)dp, f->fds };
		if (real) {
			w[4] = (uint16_t)((((ip >> 16) & 0xf) << 12) | f->fop);
			w[6] = (uint16_t)(((dp >> 16) & 0xf) << 12);
		}
		for (unsigned i = 0; i < 7; i++)
			put16(b + 2 * i, w[i]);
		return 14;
	}
	uint32_t d[7] = { 0xffff0000u | f->fcw, 0xffff0000u | f->fsw, 0xffff0000u | tw, ip,
			  f->fcs | ((uint32_t)f->fop << 16), dp, 0xffff0000u | f->fds };
	if (real) {
		d[3] = 0xffff0000u | (ip & 0xffff);
		d[4] = ((ip >> 16) << 12) | f->fop;
		d[5] = 0xffff0000u | (dp & 0xffff);
		d[6] = (dp >> 16) << 12;
	}
	for (unsigned i = 0; i < 7; i++)
		put32(b + 4 * i, d[i]);
	return 28;
}

static unsigned env_load(struct x86_cpu *cpu, const uint8_t *b, bool o16)
{
	struct x86_fpu *f = &cpu->fpu;
	bool real = real_format(cpu);
	uint32_t v[7];
	for (unsigned i = 0; i < 7; i++)
		v[i] = o16 ? get16(b + 2 * i) : get32(b + 4 * i);
	f->fsw = (uint16_t)v[1];
	f->ftw = abridged_tags((uint16_t)v[2]);
	if (real) {	/* 20-bit (16-bit format) or 32-bit linear pointers split in two */
		uint32_t hi = o16 ? 0xf : 0xffff;
		f->fip = (v[3] & 0xffff) | (((v[4] >> 12) & hi) << 16);
		f->fop = v[4] & 0x7ff;
		f->fdp = (v[5] & 0xffff) | (((v[6] >> 12) & hi) << 16);
		f->fcs = f->fds = 0;
	} else {
		f->fip = o16 ? v[3] & 0xffff : v[3];
		f->fcs = (uint16_t)v[4];
		f->fop = o16 ? 0 : (uint16_t)((v[4] >> 16) & 0x7ff);	/* no FOP in the 16-bit layout */
		f->fdp = o16 ? v[5] & 0xffff : v[5];
		f->fds = (uint16_t)v[6];
	}
	set_fcw(f, (uint16_t)v[0]);
	return o16 ? 14 : 28;
}

/* ---- control instructions ---- */

void x86_h_fninit(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check(cpu, false);
	fninit_state(&cpu->fpu);
}

void x86_h_fnclex(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check(cpu, false);
	cpu->fpu.fsw &= 0x7f00;
}

void x86_h_fwait(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if ((cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		x86_raise(cpu, X86_NM, 0, false);
	x87_check_pending(cpu);
}

/* fneni, fndisi, fnsetpm: 8087/287 leftovers, no-ops that leave FIP alone. */
void x86_h_fnop_legacy(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check(cpu, false);
}

void x86_h_fnstsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check(cpu, false);
	if (in->op[0].type == X86_OT_REG)
		x86_set_reg(cpu, X86_RAX, 2, false, cpu->fpu.fsw);
	else
		x86_write_lin(cpu, mem_lin(cpu, in, 2, true), 2, cpu->fpu.fsw);
}

void x86_h_fnstcw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check(cpu, false);
	x86_write_lin(cpu, mem_lin(cpu, in, 2, true), 2, cpu->fpu.fcw);
}

void x86_h_fldcw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	x87_check(cpu, true);
	v = x86_read_lin(cpu, mem_lin(cpu, in, 2, false), 2);
	set_fcw(&cpu->fpu, (uint16_t)v);
}

void x86_h_fnstenv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t b[28];
	bool o16 = in->osz == 2;
	unsigned n;
	uint64_t lin;
	x87_check(cpu, false);
	lin = mem_lin(cpu, in, o16 ? 14 : 28, true);
	n = env_store(cpu, b, o16);
	mem_write(cpu, lin, b, n);
	set_fcw(&cpu->fpu, cpu->fpu.fcw | X87_FSW_EXC);	/* fnstenv masks every exception afterwards */
}

void x86_h_fldenv(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t b[28];
	bool o16 = in->osz == 2;
	uint64_t lin;
	x87_check(cpu, true);
	lin = mem_lin(cpu, in, o16 ? 14 : 28, false);
	mem_read(cpu, lin, b, o16 ? 14 : 28);
	env_load(cpu, b, o16);
}

void x86_h_fnsave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t b[108];
	bool o16 = in->osz == 2;
	unsigned n;
	uint64_t lin;
	x87_check(cpu, false);
	lin = mem_lin(cpu, in, o16 ? 94 : 108, true);
	n = env_store(cpu, b, o16);
	for (unsigned i = 0; i < 8; i++)
		memcpy(b + n + 10 * i, cpu->fpu.st[x87_phys(&cpu->fpu, i)].raw, 10);
	mem_write(cpu, lin, b, n + 80);
	fninit_state(&cpu->fpu);
}

void x86_h_frstor(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t b[108];
	bool o16 = in->osz == 2;
	unsigned n;
	uint64_t lin;
	x87_check(cpu, true);
	lin = mem_lin(cpu, in, o16 ? 94 : 108, false);
	mem_read(cpu, lin, b, o16 ? 94 : 108);
	n = env_load(cpu, b, o16);
	for (unsigned i = 0; i < 8; i++) {
		union x86_st *s = &cpu->fpu.st[x87_phys(&cpu->fpu, i)];
		memset(s->raw, 0, sizeof(s->raw));
		memcpy(s->raw, b + n + 10 * i, 10);
	}
}

void x86_h_emms(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x87_check_fx(cpu);
	x87_check_pending(cpu);
	cpu->fpu.ftw = 0;
	cpu->fpu.fsw &= (uint16_t)~X87_FSW_TOP;	/* TOP = 0 as well, as this AMD host does */
}

/* ---- FXSAVE / FXRSTOR ---- */

#define FX_WIDE 1u	/* REX.W layout: 64-bit FIP and FDP, no FCS/FDS */
#define FX_PTRS 2u	/* FIP/FDP/FOP even without a pending exception */
#define FX_SSE 4u	/* MXCSR and the XMM registers (CR4.OSFXSR) */
#define FX_XMM16 8u	/* XMM8-15 (64-bit mode) */

static unsigned fx_end(unsigned fl)
{
	return (fl & FX_SSE) ? 160 + 16 * ((fl & FX_XMM16) ? 16 : 8) : 160;
}

static void fx_build(const struct x86_fpu *f, uint8_t *img, unsigned fl)
{
	memset(img, 0, 416);
	put16(img, f->fcw);
	put16(img + 2, f->fsw);
	img[4] = f->ftw;
	if ((fl & FX_PTRS) || (f->fsw & X87_FSW_ES)) {
		put16(img + 6, f->fop & 0x7ff);
		if (fl & FX_WIDE) {
			put64(img + 8, f->fip);
			put64(img + 16, f->fdp);
		} else {
			put32(img + 8, (uint32_t)f->fip);
			put16(img + 12, f->fcs);
			put32(img + 16, (uint32_t)f->fdp);
			put16(img + 20, f->fds);
		}
	}
	put32(img + 24, f->mxcsr);
	put32(img + 28, X86_MXCSR_MASK);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, f->st[(x87_top(f) + i) & 7].raw, 10);
	for (unsigned i = 0; i < 16; i++)
		memcpy(img + 160 + 16 * i, f->xmm[i].b, 16);
}

/* Loads an image: -EINVAL (nothing changed) when the MXCSR it would load has reserved bits set. */
static int fx_load(struct x86_fpu *f, const uint8_t *img, unsigned fl)
{
	uint32_t mxcsr = get32(img + 24);
	unsigned nxmm = (fl & FX_XMM16) ? 16 : 8;
	if ((fl & FX_SSE) && (mxcsr & ~X86_MXCSR_MASK))
		return -EINVAL;
	f->fsw = get16(img + 2);
	f->ftw = img[4];
	f->fop = get16(img + 6) & 0x7ff;
	if (fl & FX_WIDE) {
		f->fip = get64(img + 8);
		f->fdp = get64(img + 16);
	} else {
		f->fip = get32(img + 8);
		f->fcs = get16(img + 12);
		f->fdp = get32(img + 16);
		f->fds = get16(img + 20);
	}
	set_fcw(f, get16(img));
	for (unsigned i = 0; i < 8; i++) {
		union x86_st *s = &f->st[(x87_top(f) + i) & 7];
		memset(s->raw, 0, sizeof(s->raw));
		memcpy(s->raw, img + 32 + 16 * i, 10);
	}
	if (fl & FX_SSE) {
		f->mxcsr = mxcsr;
		for (unsigned i = 0; i < nxmm; i++)
			memcpy(f->xmm[i].b, img + 160 + 16 * i, 16);
	}
	return 0;
}

static unsigned fx_flags(const struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned fl = 0;
	if (in->mnem == ZYDIS_MNEMONIC_FXSAVE64 || in->mnem == ZYDIS_MNEMONIC_FXRSTOR64)
		fl |= FX_WIDE;
	if (cpu->cr4 & X86_CR4_OSFXSR)
		fl |= FX_SSE;
	if (cpu->mode == X86_MODE_LONG64)
		fl |= FX_XMM16;
	return fl;
}

static uint64_t fx_lin(struct x86_cpu *cpu, const struct x86_insn *in, bool write)
{
	uint64_t lin;
	x87_check_fx(cpu);
	lin = mem_lin(cpu, in, 512, write);
	if (lin & 15)
		x86_gp0(cpu);
	return lin;
}

void x86_h_fxsave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t img[512];
	unsigned fl = fx_flags(cpu, in), end = fx_end(fl);
	uint64_t lin = fx_lin(cpu, in, true);
	fx_build(&cpu->fpu, img, fl);
	probe_write(cpu, lin, end);
	mem_write(cpu, lin, img, 24);	/* MXCSR and its mask only with CR4.OSFXSR */
	if (fl & FX_SSE)
		mem_write(cpu, lin + 24, img + 24, end - 24);
	else
		mem_write(cpu, lin + 32, img + 32, end - 32);
}

void x86_h_fxrstor(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t img[512];
	unsigned fl = fx_flags(cpu, in);
	uint64_t lin = fx_lin(cpu, in, false);
	mem_read(cpu, lin, img, fx_end(fl));
	if (fx_load(&cpu->fpu, img, fl))
		x86_gp0(cpu);
}

void x86_fpu_save(const struct x86_cpu *cpu, uint8_t img[512], bool wide)
{
	memset(img + 416, 0, 96);
	fx_build(&cpu->fpu, img, FX_PTRS | FX_SSE | FX_XMM16 | (wide ? FX_WIDE : 0));
}

int x86_fpu_load(struct x86_cpu *cpu, const uint8_t img[512], bool wide)
{
	return fx_load(&cpu->fpu, img, FX_SSE | FX_XMM16 | (wide ? FX_WIDE : 0));
}

/* ---- everything else: on the host FPU ---- */

/* Memory operand of D8-DF /reg: bytes, and whether the instruction stores it. The control forms
 * (D9 /4-/7, DD /4 /6 /7) have their own handlers. */
static const struct { uint8_t size, store; } x87_memops[8][8] = {
	{ { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 } },	/* D8 m32fp arith */
	{ { 4, 0 }, { 0, 0 }, { 4, 1 }, { 4, 1 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },	/* D9 fld fst fstp */
	{ { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 }, { 4, 0 } },	/* DA m32int arith */
	{ { 4, 0 }, { 4, 1 }, { 4, 1 }, { 4, 1 }, { 0, 0 }, { 10, 0 }, { 0, 0 }, { 10, 1 } },	/* DB fild fisttp fist fistp fld fstp */
	{ { 8, 0 }, { 8, 0 }, { 8, 0 }, { 8, 0 }, { 8, 0 }, { 8, 0 }, { 8, 0 }, { 8, 0 } },	/* DC m64fp arith */
	{ { 8, 0 }, { 8, 1 }, { 8, 1 }, { 8, 1 }, { 0, 0 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },	/* DD fld fisttp fst fstp */
	{ { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 } },	/* DE m16int arith */
	{ { 2, 0 }, { 2, 1 }, { 2, 1 }, { 2, 1 }, { 10, 0 }, { 8, 0 }, { 10, 1 }, { 8, 1 } },	/* DF fild fisttp fist fistp fbld fild fbstp fistp */
};

void x86_h_x87(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t mem[16] = { 0 };
	bool is_mem = (in->modrm >> 6) != 3;
	/* fcmovcc (DA/DB C0-DF) read EFLAGS, fcomi/fucomi(p) (DB/DF E8-F7) write them */
	bool eflags = !is_mem && (in->opcode == 0xda || in->opcode == 0xdb || in->opcode == 0xdf);
	unsigned size = 0, store = 0;
	uint64_t ea = 0, lin = 0, fl;
	uint8_t modrm;
	x87_check(cpu, true);
	if (is_mem) {
		size = x87_memops[in->opcode & 7][(in->modrm >> 3) & 7].size;
		store = x87_memops[in->opcode & 7][(in->modrm >> 3) & 7].store ? size : 0;
		if (!size)
			x86_ud(cpu);
		ea = x86_ea(cpu, in);
		lin = x86_lin(cpu, in->seg, ea, size, store != 0);
		if (!store)
			mem_read(cpu, lin, mem, size);
	}
	fl = eflags ? x86_arith(cpu) : 0;
	/* the host stub of a memory form addresses (%rdi): ModRM mod 00, rm 111. A store runs on a
	 * copy: the state changes only once the store has not faulted. */
	modrm = is_mem ? (uint8_t)((in->modrm & 0x38) | 7) : in->modrm;
	if (store) {
		struct x86_fpu f = cpu->fpu;
		if (x87_host_exec(&f, &fl, in->opcode, modrm, mem, store))
			mem_write(cpu, lin, mem, store);
		cpu->fpu = f;
	} else {
		(void)x87_host_exec(&cpu->fpu, &fl, in->opcode, modrm, mem, 0);
	}
	set_pointers(cpu, in, is_mem, ea);
	if (eflags && (fl & X86_ARITH_FLAGS) != x86_arith(cpu))
		x86_set_arith(cpu, fl);
}
