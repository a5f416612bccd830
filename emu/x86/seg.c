/* SPDX-License-Identifier: MIT */
/*
 * seg.c — segmentation: descriptor reads, segment-register loads with their protection checks,
 * far jmp/call/ret and iret in real, protected and long mode, far jmp/call through call gates
 * (16/32-bit with the inner stack from the TSS and the parameter copy; 64-bit in long mode), and
 * the entry points of task switches (task.c), and virtual-8086 mode: entered by iret (or a task
 * switch), left by an interrupt or exception (except.c); its segments are real-mode style.
 */
#include "emu/x86/handlers.h"

#define EFER_LMA (1ull << 10)

void x86_desc_to_seg(uint64_t lo, uint64_t hi, uint16_t sel, struct x86_seg *s)
{
	s->sel = sel;
	s->limit = (uint32_t)((lo & 0xffff) | ((lo >> 32) & 0xf0000));
	s->base = ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000ull);
	s->ar = (uint32_t)((lo >> 40) & 0xf0ff);
	if (s->ar & X86_AR_G)
		s->limit = (s->limit << 12) | 0xfff;
	if (!(s->ar & X86_AR_S))
		s->base |= (hi & 0xffffffffull) << 32;
}

uint64_t x86_read_desc(struct x86_cpu *cpu, uint16_t sel, int vec)
{
	uint64_t base, limit, idx = sel & ~7u;
	if (sel & 4) {
		const struct x86_seg *l = &cpu->seg[X86_LDTR];
		if (l->ar & X86_AR_UNUSABLE || !l->sel)
			x86_raise_err(cpu, vec, sel & 0xfffc);
		base = l->base;
		limit = l->limit;
	} else {
		base = cpu->gdt.base;
		limit = cpu->gdt.limit;
	}
	if (idx + 7 > limit)
		x86_raise_err(cpu, vec, sel & 0xfffc);
	return x86_read_sys(cpu, base + idx, 8);
}

static uint64_t desc_addr(struct x86_cpu *cpu, uint16_t sel)
{
	return ((sel & 4) ? cpu->seg[X86_LDTR].base : cpu->gdt.base) + (sel & ~7u);
}

static void set_accessed(struct x86_cpu *cpu, uint16_t sel, uint64_t lo)
{
	if (!(lo & (1ull << 40)))
		x86_write_sys(cpu, desc_addr(cpu, sel) + 5, 1, ((lo >> 40) & 0xff) | 1);
}

void x86_load_seg_real(struct x86_cpu *cpu, int sreg, uint16_t sel)
{
	struct x86_seg *s = &cpu->seg[sreg];
	s->sel = sel;
	s->base = (uint64_t)sel << 4;
	s->ar = (s->ar & ~(uint32_t)X86_AR_UNUSABLE) | X86_AR_P | X86_AR_S | (sreg == X86_CS ? 0xb : 0x3);
	if (cpu->rflags & X86_VM) {
		s->limit = 0xffff;
		s->ar = 0xf3;
	}
}

void x86_set_cs_real(struct x86_cpu *cpu, uint16_t sel)
{
	x86_load_seg_real(cpu, X86_CS, sel);
}

static void load_null(struct x86_cpu *cpu, int sreg, uint16_t sel)
{
	struct x86_seg *s = &cpu->seg[sreg];
	s->sel = sel;
	s->ar = X86_AR_UNUSABLE | (sreg == X86_SS ? (uint32_t)(sel & 3) << 5 : 0);
	if (!(cpu->mode == X86_MODE_LONG64 && (sreg == X86_FS || sreg == X86_GS)))
		s->base = 0;
	s->limit = 0;
}

static void load_ss_checked(struct x86_cpu *cpu, uint16_t sel, unsigned cpl, int vec)
{
	uint64_t lo, hi = 0;
	unsigned type, dpl;
	if (!(sel & ~3u)) {
		if ((cpu->efer & EFER_LMA) && cpl != 3 && (sel & 3) == cpl) {
			load_null(cpu, X86_SS, sel);
			return;
		}
		x86_raise_err(cpu, vec, 0);
	}
	lo = x86_read_desc(cpu, sel, vec);
	type = (lo >> 40) & 15;
	dpl = (lo >> 45) & 3;
	if ((sel & 3) != cpl || !((lo >> 44) & 1) || (type & 0xa) != 2 || dpl != cpl)
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_SS_VEC, sel & 0xfffc);
	set_accessed(cpu, sel, lo);
	x86_desc_to_seg(lo | (1ull << 40), hi, sel, &cpu->seg[X86_SS]);
}

void x86_load_ss(struct x86_cpu *cpu, uint16_t sel, unsigned cpl, int vec)
{
	load_ss_checked(cpu, sel, cpl, vec);
}

void x86_load_data_seg(struct x86_cpu *cpu, int sreg, uint16_t sel, int vec)
{
	uint64_t lo;
	unsigned type, dpl;
	if (!(sel & ~3u)) {
		load_null(cpu, sreg, sel);
		return;
	}
	lo = x86_read_desc(cpu, sel, vec);
	type = (lo >> 40) & 15;
	dpl = (lo >> 45) & 3;
	if (!((lo >> 44) & 1) || (type & 0xa) == 8)	/* system, or execute-only code */
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if ((!(type & 8) || !(type & 4)) && ((sel & 3) > dpl || cpu->cpl > dpl))
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	set_accessed(cpu, sel, lo);
	x86_desc_to_seg(lo | (1ull << 40), 0, sel, &cpu->seg[sreg]);
}

void x86_load_seg(struct x86_cpu *cpu, int sreg, uint16_t sel)
{
	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM))
		x86_load_seg_real(cpu, sreg, sel);
	else if (sreg == X86_SS)
		load_ss_checked(cpu, sel, cpu->cpl, X86_GP);
	else
		x86_load_data_seg(cpu, sreg, sel, X86_GP);
	if (sreg == X86_SS)
		x86_update_mode(cpu);
}

/* Checks a code-segment descriptor for a far transfer to privilege rpl/cpl; returns the low half. */
static uint64_t code_desc(struct x86_cpu *cpu, uint16_t sel, unsigned want_dpl_max, bool exact)
{
	uint64_t lo;
	unsigned type, dpl;
	if (!(sel & ~3u))
		x86_gp0(cpu);
	lo = x86_read_desc(cpu, sel, X86_GP);
	type = (lo >> 40) & 15;
	dpl = (lo >> 45) & 3;
	if (!((lo >> 44) & 1) || !(type & 8))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);	/* gates and TSS: not implemented */
	if ((type & 4) ? dpl > want_dpl_max : (exact ? dpl != want_dpl_max : dpl > want_dpl_max))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if ((cpu->efer & EFER_LMA) && ((lo >> 53) & 1) && ((lo >> 54) & 1))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	return lo;
}

static void set_rip_checked(struct x86_cpu *cpu, uint64_t off, unsigned osz)
{
	off &= x86_mask(osz);
	if (cpu->mode != X86_MODE_LONG64 && off > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
	cpu->next_rip = off;
}

/* ---- call gates ---- */

/* Pushes on a stack not loaded yet (ss, *sp): written before any register changes. */
static void push_on(struct x86_cpu *cpu, const struct x86_seg *ss, uint64_t *sp, uint64_t mask, unsigned size,
		    uint64_t v)
{
	*sp = (*sp - size) & mask;
	x86_write_sys(cpu, (mask == ~0ull ? 0 : ss->base) + *sp, size, v);
}

struct gate_target {
	uint16_t cs;		/* target code selector (RPL replaced by the new CPL) */
	uint64_t lo;		/* its descriptor */
	uint64_t off;
	unsigned size;		/* 2, 4 or 8: the gate's push size */
	unsigned params;	/* 16/32-bit gates: stack entries copied on a privilege change */
};

/* Reads a call gate and checks its target code segment (SDM far CALL/JMP pseudocode). */
static void gate_target(struct x86_cpu *cpu, uint16_t gsel, uint64_t glo, bool call, struct gate_target *t)
{
	bool lm = cpu->efer & EFER_LMA;
	unsigned type, dpl;
	t->cs = (uint16_t)(glo >> 16);
	t->off = (glo & 0xffff) | ((glo >> 32) & 0xffff0000ull);
	t->size = lm ? 8 : ((glo >> 40) & 8) ? 4 : 2;
	t->params = lm ? 0 : (glo >> 32) & 31;
	if (t->size == 2)
		t->off &= 0xffff;
	if (lm) {	/* 16-byte gate: the upper half's type field must be 0 */
		uint64_t hi;
		if ((gsel & 4) || (gsel & ~7u) + 15 > cpu->gdt.limit)
			x86_raise_err(cpu, X86_GP, gsel & 0xfffc);
		hi = x86_read_sys(cpu, cpu->gdt.base + (gsel & ~7u) + 8, 8);
		if ((hi >> 40) & 0x1f)
			x86_raise_err(cpu, X86_GP, gsel & 0xfffc);
		t->off |= (hi & 0xffffffffull) << 32;
	}
	if (!(t->cs & ~3u))
		x86_gp0(cpu);
	t->lo = x86_read_desc(cpu, t->cs, X86_GP);
	type = (t->lo >> 40) & 15;
	dpl = (t->lo >> 45) & 3;
	if (!((t->lo >> 44) & 1) || !(type & 8) || dpl > cpu->cpl || (!call && !(type & 4) && dpl != cpu->cpl))
		x86_raise_err(cpu, X86_GP, t->cs & 0xfffc);
	if (lm && (!((t->lo >> 53) & 1) || ((t->lo >> 54) & 1)))
		x86_raise_err(cpu, X86_GP, t->cs & 0xfffc);	/* a 64-bit code segment only */
	if (!((t->lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, t->cs & 0xfffc);
}

/* The inner stack for privilege dpl from the TSS, checked as the SDM says (#TS, #SS). */
static void gate_inner_stack(struct x86_cpu *cpu, unsigned dpl, struct x86_seg *ss, uint64_t *sp)
{
	const struct x86_seg *tr = &cpu->seg[X86_TR];
	uint16_t sel;
	uint64_t lo;
	if (cpu->efer & EFER_LMA) {
		*sp = x86_read_sys(cpu, tr->base + 4 + dpl * 8, 8);
		*ss = (struct x86_seg){ .sel = (uint16_t)dpl, .ar = X86_AR_UNUSABLE | (dpl << 5) };
		return;
	}
	if (X86_AR_TYPE(tr->ar) & 8) {
		*sp = x86_read_sys(cpu, tr->base + 4 + dpl * 8, 4);
		sel = (uint16_t)x86_read_sys(cpu, tr->base + 8 + dpl * 8, 2);
	} else {
		*sp = x86_read_sys(cpu, tr->base + 2 + dpl * 4, 2);
		sel = (uint16_t)x86_read_sys(cpu, tr->base + 4 + dpl * 4, 2);
	}
	if (!(sel & ~3u))
		x86_raise_err(cpu, X86_TS, 0);
	lo = x86_read_desc(cpu, sel, X86_TS);
	if ((sel & 3) != dpl || ((lo >> 45) & 3) != dpl || !((lo >> 44) & 1) || ((lo >> 40) & 0xa) != 2)
		x86_raise_err(cpu, X86_TS, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_SS_VEC, sel & 0xfffc);
	x86_desc_to_seg(lo | (1ull << 40), 0, sel, ss);
}

/* Enters the gate's code segment at privilege cpl. */
static void gate_enter(struct x86_cpu *cpu, const struct gate_target *t, unsigned cpl)
{
	x86_desc_to_seg(t->lo | (1ull << 40), 0, (uint16_t)((t->cs & ~3u) | cpl), &cpu->seg[X86_CS]);
	cpu->cpl = (uint8_t)cpl;
	x86_update_mode(cpu);
	if (cpu->mode != X86_MODE_LONG64 && t->off > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
	cpu->next_rip = t->off;
}

/* CALL to a more privileged non-conforming segment: new stack, old SS:SP, parameters, CS:IP. */
static void gate_call_inner(struct x86_cpu *cpu, const struct gate_target *t, unsigned dpl)
{
	struct x86_seg nss, oss = cpu->seg[X86_SS];
	uint64_t sp, osp = cpu->r[X86_RSP] & x86_sp_mask(cpu), mask;
	uint64_t param[31];
	for (unsigned i = 0; i < t->params; i++)	/* read from the caller's stack before switching */
		param[i] = x86_read_mem(cpu, X86_SS, (osp + i * t->size) & x86_sp_mask(cpu), t->size);
	gate_inner_stack(cpu, dpl, &nss, &sp);
	mask = (cpu->efer & EFER_LMA) ? ~0ull : (nss.ar & X86_AR_DB) ? 0xffffffffull : 0xffff;
	sp &= mask;
	push_on(cpu, &nss, &sp, mask, t->size, oss.sel);
	push_on(cpu, &nss, &sp, mask, t->size, cpu->r[X86_RSP]);
	for (unsigned i = t->params; i-- > 0;)
		push_on(cpu, &nss, &sp, mask, t->size, param[i]);
	push_on(cpu, &nss, &sp, mask, t->size, cpu->seg[X86_CS].sel);
	push_on(cpu, &nss, &sp, mask, t->size, cpu->next_rip);
	cpu->seg[X86_SS] = nss;
	cpu->r[X86_RSP] = mask == 0xffff ? (cpu->r[X86_RSP] & ~0xffffull) | sp : sp;
	gate_enter(cpu, t, dpl);
}

static void far_call_gate(struct x86_cpu *cpu, uint16_t gsel, uint64_t glo, bool call)
{
	struct gate_target t;
	unsigned dpl;
	uint64_t sp, mask = x86_sp_mask(cpu);
	gate_target(cpu, gsel, glo, call, &t);
	dpl = (t.lo >> 45) & 3;
	if (call && !((t.lo >> 42) & 1) && dpl < cpu->cpl) {
		gate_call_inner(cpu, &t, dpl);
		return;
	}
	if (call) {	/* same privilege: explicit pushes at this CPL, RSP changed after both */
		sp = cpu->r[X86_RSP] & mask;
		x86_write_mem(cpu, X86_SS, (sp - t.size) & mask, t.size, cpu->seg[X86_CS].sel);
		x86_write_mem(cpu, X86_SS, (sp - 2 * t.size) & mask, t.size, cpu->next_rip);
		x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, sp - 2 * t.size);
	}
	gate_enter(cpu, &t, cpu->cpl);
}

/* Far jmp/call to a system descriptor: a call gate, a task gate or a TSS. */
static void far_system(struct x86_cpu *cpu, uint16_t sel, uint64_t lo, bool call)
{
	unsigned type = (lo >> 40) & 15, dpl = (lo >> 45) & 3;
	bool lm = cpu->efer & EFER_LMA;
	if (lm ? type != 0xc : (type != 4 && type != 0xc && type != 5 && type != 9))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if (dpl < cpu->cpl || dpl < (sel & 3u))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	if (type == 5 || type == 9)
		x86_task_switch(cpu, type == 5 ? (uint16_t)(lo >> 16) : sel, call ? X86_TS_CALL : X86_TS_JMP,
				cpu->next_rip, false, 0);
	else
		far_call_gate(cpu, sel, lo, call);
}

void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, bool call, unsigned osz)
{
	uint64_t lo;
	struct x86_seg old = cpu->seg[X86_CS];
	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
		if (call) {
			x86_push(cpu, osz, cpu->seg[X86_CS].sel);
			x86_push(cpu, osz, cpu->next_rip);
		}
		x86_set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(osz);
		return;
	}
	if (sel & ~3u) {
		lo = x86_read_desc(cpu, sel, X86_GP);
		if (!((lo >> 44) & 1)) {
			far_system(cpu, sel, lo, call);
			return;
		}
	}
	lo = code_desc(cpu, sel, cpu->cpl, true);
	if (!(((lo >> 40) & 4)) && (sel & 3) > cpu->cpl)
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if (call) {
		uint64_t sp = cpu->r[X86_RSP];
		x86_push(cpu, osz, cpu->seg[X86_CS].sel);
		x86_push(cpu, osz, cpu->next_rip);
		(void)sp;
	}
	set_accessed(cpu, sel, lo);
	x86_desc_to_seg(lo | (1ull << 40), 0, (uint16_t)((sel & ~3u) | cpu->cpl), &cpu->seg[X86_CS]);
	x86_update_mode(cpu);
	if ((off & ~x86_mask(osz)) || (cpu->mode != X86_MODE_LONG64 && (off & x86_mask(osz)) > cpu->seg[X86_CS].limit)) {
		cpu->seg[X86_CS] = old;
		x86_update_mode(cpu);
		x86_gp0(cpu);
	}
	cpu->next_rip = off & x86_mask(osz);
}

/* After a return to an outer privilege level: data segments the new level may not use become null. */
static void scrub_data_segs(struct x86_cpu *cpu)
{
	static const int regs[] = { X86_ES, X86_DS, X86_FS, X86_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct x86_seg *s = &cpu->seg[regs[i]];
		unsigned type = X86_AR_TYPE(s->ar);
		bool conforming_code = (type & 0xc) == 0xc;
		if (!(s->ar & X86_AR_UNUSABLE) && !conforming_code && X86_AR_DPL(s->ar) < cpu->cpl)
			load_null(cpu, regs[i], 0);
	}
}

/* Common tail of far ret / iret in protected and long mode. */
static void return_to(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned osz, bool outer,
		      uint64_t new_sp, uint16_t new_ss)
{
	unsigned rpl = sel & 3;
	uint64_t lo = code_desc(cpu, sel, rpl, true);
	if (outer)
		load_ss_checked(cpu, new_ss, rpl, X86_GP);
	set_accessed(cpu, sel, lo);
	x86_desc_to_seg(lo | (1ull << 40), 0, sel, &cpu->seg[X86_CS]);
	cpu->cpl = (uint8_t)rpl;
	x86_update_mode(cpu);
	if (outer) {
		cpu->r[X86_RSP] = cpu->stack_size == 8 ? new_sp : new_sp & x86_mask(osz == 8 ? 8 : 4);
		if (cpu->stack_size == 2)
			cpu->r[X86_RSP] = (cpu->r[X86_RSP] & ~0xffffull) | (new_sp & 0xffff);
		scrub_data_segs(cpu);
	}
	set_rip_checked(cpu, off, osz);
}

void x86_far_ret(struct x86_cpu *cpu, unsigned osz, uint16_t extra)
{
	uint64_t sp = cpu->r[X86_RSP] & x86_sp_mask(cpu), off, nsp = 0;
	uint16_t sel, nss = 0;
	bool outer;
	off = x86_read_mem(cpu, X86_SS, sp, osz);
	sel = (uint16_t)x86_read_mem(cpu, X86_SS, (sp + osz) & x86_sp_mask(cpu), 2);
	if (cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM)) {
		x86_set_cs_real(cpu, sel);
		cpu->next_rip = off & x86_mask(osz);
		x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, sp + 2 * osz + extra);
		return;
	}
	if ((sel & 3) < cpu->cpl)
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	outer = (sel & 3) > cpu->cpl;
	if (outer) {
		uint64_t p = (sp + 2 * osz + extra) & x86_sp_mask(cpu);
		nsp = x86_read_mem(cpu, X86_SS, p, osz) + extra;
		nss = (uint16_t)x86_read_mem(cpu, X86_SS, (p + osz) & x86_sp_mask(cpu), 2);
	}
	return_to(cpu, sel, off, osz, outer, nsp, nss);
	if (!outer)
		x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, sp + 2 * osz + extra);
}

static void iret_flags(struct x86_cpu *cpu, uint64_t v, unsigned osz, unsigned old_cpl)
{
	uint64_t old = x86_get_rflags(cpu);
	uint64_t chg = X86_ARITH_FLAGS | X86_TF | X86_DF | X86_NT | X86_IF | X86_IOPL | X86_RF | X86_AC | X86_ID;
	if (cpu->mode != X86_MODE_REAL || cpu->cr0 & 1) {
		if (old_cpl > 0)
			chg &= ~(uint64_t)X86_IOPL;
		if (old_cpl > ((old >> 12) & 3))
			chg &= ~(uint64_t)X86_IF;
	}
	if (osz == 2)
		chg &= 0xffff;
	x86_set_rflags(cpu, (old & ~chg) | (v & chg));
}

static void iret_real(struct x86_cpu *cpu, unsigned osz)
{
	uint64_t sp = cpu->r[X86_RSP] & x86_sp_mask(cpu), m = x86_sp_mask(cpu);
	uint64_t ip = x86_read_mem(cpu, X86_SS, sp, osz);
	uint16_t cs = (uint16_t)x86_read_mem(cpu, X86_SS, (sp + osz) & m, 2);
	uint64_t fl = x86_read_mem(cpu, X86_SS, (sp + 2 * osz) & m, osz);
	if (ip & ~0xffffull)
		x86_gp0(cpu);
	x86_set_cs_real(cpu, cs);
	x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, sp + 3 * osz);
	iret_flags(cpu, fl, osz, cpu->cpl);	/* virtual-8086 (CPL 3): IOPL stays, VM too */
	cpu->next_rip = ip;
}

/* iret from CPL 0 with VM set in the popped EFLAGS: into virtual-8086 mode. The 32-bit frame
 * continues with ESP, SS, ES, DS, FS, GS; segments become real-mode style at CPL 3. */
static void iret_to_v86(struct x86_cpu *cpu, uint64_t sp, uint64_t ip, uint16_t cs, uint64_t fl)
{
	static const int sregs[5] = { X86_SS, X86_ES, X86_DS, X86_FS, X86_GS };
	uint64_t m = x86_sp_mask(cpu), esp = x86_read_mem(cpu, X86_SS, (sp + 12) & m, 4);
	uint16_t sel[5];
	for (unsigned i = 0; i < 5; i++)	/* read all before changing anything */
		sel[i] = (uint16_t)x86_read_mem(cpu, X86_SS, (sp + 16 + 4 * i) & m, 2);
	x86_set_rflags(cpu, fl);
	cpu->cpl = 3;
	x86_load_seg_real(cpu, X86_CS, cs);
	for (unsigned i = 0; i < 5; i++)
		x86_load_seg_real(cpu, sregs[i], sel[i]);
	cpu->r[X86_RSP] = (uint32_t)esp;
	x86_update_mode(cpu);
	cpu->next_rip = ip & 0xffff;
}

void x86_iret(struct x86_cpu *cpu, unsigned osz)
{
	uint64_t sp, m, ip, fl, nsp = 0;
	uint16_t cs, nss = 0;
	unsigned old_cpl = cpu->cpl;
	bool outer;
	if (cpu->mode == X86_MODE_REAL) {
		iret_real(cpu, osz);
		return;
	}
	if (cpu->rflags & X86_VM) {	/* virtual-8086: as in real mode with IOPL 3, else #GP */
		if (((cpu->rflags >> 12) & 3) != 3)
			x86_gp0(cpu);
		iret_real(cpu, osz);
		return;
	}
	if ((cpu->rflags & X86_NT) && !(cpu->efer & EFER_LMA)) {	/* return to the task that called */
		x86_task_switch(cpu, (uint16_t)x86_read_sys(cpu, cpu->seg[X86_TR].base, 2), X86_TS_IRET,
				cpu->next_rip, false, 0);
		return;
	}
	if (cpu->rflags & X86_NT)
		x86_gp0(cpu);	/* NT in long mode */
	sp = cpu->r[X86_RSP] & x86_sp_mask(cpu);
	m = x86_sp_mask(cpu);
	ip = x86_read_mem(cpu, X86_SS, sp, osz);
	cs = (uint16_t)x86_read_mem(cpu, X86_SS, (sp + osz) & m, 2);
	fl = x86_read_mem(cpu, X86_SS, (sp + 2 * osz) & m, osz);
	if ((fl & X86_VM) && cpu->cpl == 0 && osz == 4 && !(cpu->efer & EFER_LMA)) {
		iret_to_v86(cpu, sp, ip, cs, fl);
		return;
	}
	if ((cs & 3) < cpu->cpl)
		x86_raise_err(cpu, X86_GP, cs & 0xfffc);
	outer = (cs & 3) > cpu->cpl || cpu->mode == X86_MODE_LONG64;
	if (outer) {
		nsp = x86_read_mem(cpu, X86_SS, (sp + 3 * osz) & m, osz);
		nss = (uint16_t)x86_read_mem(cpu, X86_SS, (sp + 4 * osz) & m, 2);
	}
	if ((cs & 3) == cpu->cpl && cpu->mode == X86_MODE_LONG64) {
		/* same privilege in 64-bit mode: SS:RSP still popped, SS may be null at CPL 0 */
		return_to(cpu, cs, ip, osz, false, 0, 0);
		if (!(nss & ~3u) && cpu->cpl != 3)
			load_null(cpu, X86_SS, nss);
		else
			load_ss_checked(cpu, nss, cpu->cpl, X86_GP);
		x86_update_mode(cpu);
		cpu->r[X86_RSP] = osz == 8 ? nsp : nsp & x86_mask(osz);
	} else {
		return_to(cpu, cs, ip, osz, (cs & 3) > old_cpl, nsp, nss);
		if ((cs & 3) == old_cpl)
			x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, sp + 3 * osz);
	}
	iret_flags(cpu, fl, osz, old_cpl);
}

void x86_h_lxs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	static const struct { uint16_t mnem_opcode; int sreg; } map[] = {
		{ 0xc5, X86_DS }, { 0xc4, X86_ES }, { 0xb4, X86_FS }, { 0xb5, X86_GS }, { 0xb2, X86_SS },
	};
	unsigned s = in->op[0].size;
	int sreg = X86_DS;
	uint64_t lin, off;
	uint16_t sel;
	if (in->op[1].type != X86_OT_MEM)
		x86_ud(cpu);
	for (unsigned i = 0; i < 5; i++)
		if (map[i].mnem_opcode == in->opcode)
			sreg = map[i].sreg;
	lin = x86_op_lin(cpu, in, s + 2, false);
	off = x86_read_lin(cpu, lin, s);
	sel = (uint16_t)x86_read_lin(cpu, lin + s, 2);
	x86_load_seg(cpu, sreg, sel);
	x86_wr(cpu, in, 0, off);
	if (sreg == X86_SS)
		cpu->intr_shadow = true;
}

void x86_h_arpl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_rmw m;
	uint64_t d, s, f;
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	d = x86_rmw_read(cpu, in, &m);
	s = x86_rd(cpu, in, 1);
	f = x86_arith(cpu) & ~(uint64_t)X86_ZF;
	if ((d & 3) < (s & 3)) {
		x86_rmw_write(cpu, in, &m, (d & ~3ull) | (s & 3));
		f |= X86_ZF;
	}
	x86_set_arith(cpu, f);
}

/* ---- LLDT / LTR / LAR / LSL / VERR / VERW ---- */

static uint64_t sys_desc_hi(struct x86_cpu *cpu, uint16_t sel)
{
	if (!(cpu->efer & EFER_LMA))
		return 0;
	if ((sel & ~7u) + 15 > cpu->gdt.limit)
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	return x86_read_sys(cpu, cpu->gdt.base + (sel & ~7u) + 8, 8);
}

void x86_load_ldt_desc(struct x86_cpu *cpu, uint16_t sel, int vec, int np_vec)
{
	uint64_t lo;
	if (sel & 4)
		x86_raise_err(cpu, vec, sel & 0xfffc);
	lo = x86_read_desc(cpu, sel, vec);
	if (((lo >> 44) & 1) || ((lo >> 40) & 15) != 2)
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, np_vec, sel & 0xfffc);
	x86_desc_to_seg(lo, sys_desc_hi(cpu, sel), sel, &cpu->seg[X86_LDTR]);
}

void x86_h_lldt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)x86_rd(cpu, in, 0);
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	if (!(sel & ~3u)) {
		cpu->seg[X86_LDTR].sel = sel;
		cpu->seg[X86_LDTR].ar = X86_AR_UNUSABLE;
		return;
	}
	x86_load_ldt_desc(cpu, sel, X86_GP, X86_NP);
}

void x86_h_ltr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)x86_rd(cpu, in, 0);
	uint64_t lo, hi;
	unsigned type;
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	if (!(sel & ~3u) || (sel & 4))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	lo = x86_read_desc(cpu, sel, X86_GP);
	type = (lo >> 40) & 15;
	if (((lo >> 44) & 1) || (type != 1 && type != 9) || ((cpu->efer & EFER_LMA) && type != 9))
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	hi = sys_desc_hi(cpu, sel);
	lo |= 2ull << 40;	/* busy */
	x86_write_sys(cpu, cpu->gdt.base + (sel & ~7u) + 5, 1, (lo >> 40) & 0xff);
	x86_desc_to_seg(lo, hi, sel, &cpu->seg[X86_TR]);
}

/* Whether sel names a descriptor LAR/LSL/VERR/VERW may look at from here; *lo gets it. */
static bool desc_visible(struct x86_cpu *cpu, uint16_t sel, uint64_t *lo)
{
	uint64_t base, limit;
	unsigned type, dpl;
	if (!(sel & ~3u))
		return false;
	base = (sel & 4) ? cpu->seg[X86_LDTR].base : cpu->gdt.base;
	limit = (sel & 4) ? cpu->seg[X86_LDTR].limit : cpu->gdt.limit;
	if ((sel & ~7u) + 7 > limit)
		return false;
	*lo = x86_read_sys(cpu, base + (sel & ~7u), 8);
	type = (*lo >> 40) & 15;
	dpl = (*lo >> 45) & 3;
	if (((*lo >> 44) & 1) && (type & 0xc) == 0xc)	/* conforming code */
		return true;
	return dpl >= cpu->cpl && dpl >= (sel & 3u);
}

static void set_zf(struct x86_cpu *cpu, bool z)
{
	x86_set_arith(cpu, (x86_arith(cpu) & ~(uint64_t)X86_ZF) | (z ? X86_ZF : 0));
}

static bool sys_type_ok(uint64_t lo, bool for_lsl)
{
	unsigned type = (lo >> 40) & 15;
	if ((lo >> 44) & 1)
		return true;
	return type == 1 || type == 2 || type == 3 || type == 9 || type == 11 || (!for_lsl && (type == 4 || type == 5 || type == 12));
}

void x86_h_lar(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t lo;
	bool ok;
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	ok = desc_visible(cpu, (uint16_t)x86_rd(cpu, in, 1), &lo) && sys_type_ok(lo, false);
	if (ok)
		x86_wr(cpu, in, 0, (lo >> 32) & 0x00f0ff00);
	set_zf(cpu, ok);
}

void x86_h_lsl(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t lo;
	struct x86_seg s;
	bool ok;
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	ok = desc_visible(cpu, (uint16_t)x86_rd(cpu, in, 1), &lo) && sys_type_ok(lo, true);
	if (ok) {
		x86_desc_to_seg(lo, 0, 0, &s);
		x86_wr(cpu, in, 0, s.limit);
	}
	set_zf(cpu, ok);
}

static void verify(struct x86_cpu *cpu, const struct x86_insn *in, bool write)
{
	uint64_t lo;
	unsigned type;
	bool ok;
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);
	ok = desc_visible(cpu, (uint16_t)x86_rd(cpu, in, 0), &lo) && ((lo >> 44) & 1);
	type = (lo >> 40) & 15;
	if (ok)
		ok = write ? (type & 0xa) == 2 : (!(type & 8) || (type & 2));
	set_zf(cpu, ok);
}

void x86_h_verr(struct x86_cpu *cpu, const struct x86_insn *in) { verify(cpu, in, false); }
void x86_h_verw(struct x86_cpu *cpu, const struct x86_insn *in) { verify(cpu, in, true); }
