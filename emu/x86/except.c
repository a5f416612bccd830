/* SPDX-License-Identifier: MIT */
/*
 * except.c — raising exceptions (longjmp back to the run loop) and delivering exceptions and
 * interrupts through the real-mode IVT, the protected-mode IDT (16/32-bit interrupt and trap
 * gates, privilege-change stacks from the TSS, task gates: task.c) and the long-mode IDT (IST,
 * 16-byte gates).
 */
#include "emu/x86/handlers.h"
#include "emu/x86/trace-events.h"

#define EFER_LMA (1ull << 10)

void x86_raise(struct x86_cpu *cpu, int vec, uint32_t err, bool has_err)
{
	cpu->pend_vec = vec;
	cpu->pend_err = err;
	cpu->pend_has_err = has_err;
	longjmp(*cpu->jmp, 1);
}

void x86_raise_err(struct x86_cpu *cpu, int vec, uint32_t err)
{
	x86_raise(cpu, vec, err, true);
}

void x86_ud(struct x86_cpu *cpu)
{
	x86_raise(cpu, X86_UD, 0, false);
}

void x86_gp0(struct x86_cpu *cpu)
{
	x86_raise(cpu, X86_GP, 0, true);
}

static void snapshot(struct x86_cpu *cpu)
{
	cpu->snap.rsp = cpu->r[X86_RSP];
	cpu->snap.rflags = x86_get_rflags(cpu);
	cpu->snap.cs = cpu->seg[X86_CS];
	cpu->snap.ss = cpu->seg[X86_SS];
	cpu->snap.cpl = cpu->cpl;
}

static void restore(struct x86_cpu *cpu)
{
	cpu->r[X86_RSP] = cpu->snap.rsp;
	x86_set_rflags(cpu, cpu->snap.rflags);
	cpu->seg[X86_CS] = cpu->snap.cs;
	cpu->seg[X86_SS] = cpu->snap.ss;
	cpu->cpl = cpu->snap.cpl;
	x86_update_mode(cpu);
}

static uint32_t idt_err(int vec, int kind)
{
	return (uint32_t)vec * 8 + 2 + (kind == X86_EV_EXC || kind == X86_EV_EXT ? 1 : 0);
}

static void push_sys(struct x86_cpu *cpu, uint64_t *sp, uint64_t mask, unsigned size, uint64_t v)
{
	*sp = (*sp - size) & mask;
	x86_write_sys(cpu, cpu->seg[X86_SS].base * (cpu->mode != X86_MODE_LONG64) + *sp, size, v);
}

static void deliver_real(struct x86_cpu *cpu, int vec, uint64_t ret)
{
	uint64_t ent, sp = cpu->r[X86_RSP] & 0xffff;
	if ((uint32_t)vec * 4 + 3 > cpu->idt.limit)
		x86_raise_err(cpu, X86_GP, idt_err(vec, X86_EV_EXC));
	ent = x86_read_sys(cpu, cpu->idt.base + (uint64_t)vec * 4, 4);
	push_sys(cpu, &sp, 0xffff, 2, x86_get_rflags(cpu));
	push_sys(cpu, &sp, 0xffff, 2, cpu->seg[X86_CS].sel);
	push_sys(cpu, &sp, 0xffff, 2, ret);
	x86_set_reg(cpu, X86_RSP, 2, false, sp);
	cpu->rflags &= ~(uint64_t)(X86_IF | X86_TF | X86_AC | X86_RF);
	x86_set_cs_real(cpu, (uint16_t)(ent >> 16));
	cpu->rip = cpu->next_rip = ent & 0xffff;
}

struct gate {
	uint64_t off;
	uint16_t sel;
	unsigned type, dpl, ist;
	bool present;
};

static void read_gate(struct x86_cpu *cpu, int vec, int kind, struct gate *g)
{
	bool lm = cpu->efer & EFER_LMA;
	unsigned esz = lm ? 16 : 8;
	uint64_t lo, hi = 0;
	if ((uint32_t)vec * esz + esz - 1 > cpu->idt.limit)
		x86_raise_err(cpu, X86_GP, idt_err(vec, kind));
	lo = x86_read_sys(cpu, cpu->idt.base + (uint64_t)vec * esz, 8);
	if (lm)
		hi = x86_read_sys(cpu, cpu->idt.base + (uint64_t)vec * esz + 8, 8);
	g->off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (hi << 32);
	g->sel = (uint16_t)(lo >> 16);
	g->type = (lo >> 40) & 0x1f;
	g->dpl = (lo >> 45) & 3;
	g->present = (lo >> 47) & 1;
	g->ist = (lo >> 32) & 7;
	if (lm ? (g->type != 0xe && g->type != 0xf) : (g->type != 5 && g->type != 6 && g->type != 7 && g->type != 0xe && g->type != 0xf))
		x86_raise_err(cpu, X86_GP, idt_err(vec, kind));
	if ((kind == X86_EV_SOFT || kind == X86_EV_SOFT_EXC) && g->dpl < cpu->cpl)
		x86_raise_err(cpu, X86_GP, idt_err(vec, kind));
	if (!g->present)
		x86_raise_err(cpu, X86_NP, idt_err(vec, kind));
}

/* The handler's code segment: returns its descriptor (low 8 bytes) and target DPL. */
static uint64_t gate_code(struct x86_cpu *cpu, const struct gate *g, int kind, unsigned *dpl)
{
	uint64_t lo;
	uint32_t ext = kind == X86_EV_EXC || kind == X86_EV_EXT;
	unsigned type;
	if (!(g->sel & ~3u))
		x86_raise_err(cpu, X86_GP, ext);
	lo = x86_read_desc(cpu, g->sel, X86_GP);
	type = (lo >> 40) & 15;
	*dpl = (lo >> 45) & 3;
	if (!((lo >> 44) & 1) || !(type & 8) || *dpl > cpu->cpl)
		x86_raise_err(cpu, X86_GP, (g->sel & 0xfffc) | ext);
	if ((cpu->efer & EFER_LMA) && (!((lo >> 53) & 1) || ((lo >> 54) & 1)))
		x86_raise_err(cpu, X86_GP, (g->sel & 0xfffc) | ext);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, (g->sel & 0xfffc) | ext);
	if (type & 4)
		*dpl = cpu->cpl;	/* conforming: stays at the current level */
	return lo;
}

static void enter_handler(struct x86_cpu *cpu, const struct gate *g, uint64_t lo, unsigned dpl)
{
	x86_desc_to_seg(lo | (1ull << 40), 0, (uint16_t)((g->sel & ~3u) | dpl), &cpu->seg[X86_CS]);
	cpu->cpl = (uint8_t)dpl;
	cpu->rflags &= ~(uint64_t)(X86_TF | X86_NT | X86_RF | X86_VM);
	if (!(g->type & 1))
		cpu->rflags &= ~(uint64_t)X86_IF;
	x86_update_mode(cpu);
	cpu->rip = cpu->next_rip = g->off & ((cpu->efer & EFER_LMA) ? ~0ull : (g->type & 8) ? 0xffffffffull : 0xffff);
}

static void deliver_long(struct x86_cpu *cpu, int vec, bool has_err, uint32_t err, int kind, uint64_t ret)
{
	struct gate g;
	unsigned dpl;
	uint64_t lo, sp, fl = x86_get_rflags(cpu);
	struct x86_seg oss = cpu->seg[X86_SS], ocs = cpu->seg[X86_CS];
	read_gate(cpu, vec, kind, &g);
	lo = gate_code(cpu, &g, kind, &dpl);
	if (g.ist)
		sp = x86_read_sys(cpu, cpu->seg[X86_TR].base + 0x24 + (g.ist - 1) * 8, 8);
	else if (dpl < cpu->cpl)
		sp = x86_read_sys(cpu, cpu->seg[X86_TR].base + 4 + dpl * 8, 8);
	else
		sp = cpu->r[X86_RSP];
	sp &= ~0xfull;
	if (dpl < cpu->cpl) {
		cpu->seg[X86_SS].sel = (uint16_t)dpl;
		cpu->seg[X86_SS].ar = X86_AR_UNUSABLE | (dpl << 5);
		cpu->seg[X86_SS].base = 0;
	}
	push_sys(cpu, &sp, ~0ull, 8, oss.sel);
	push_sys(cpu, &sp, ~0ull, 8, cpu->r[X86_RSP]);
	push_sys(cpu, &sp, ~0ull, 8, fl);
	push_sys(cpu, &sp, ~0ull, 8, ocs.sel);
	push_sys(cpu, &sp, ~0ull, 8, ret);
	if (has_err)
		push_sys(cpu, &sp, ~0ull, 8, err);
	cpu->r[X86_RSP] = sp;
	enter_handler(cpu, &g, lo, dpl);
}

static void inner_stack(struct x86_cpu *cpu, unsigned dpl, uint64_t *sp, uint16_t *ss)
{
	const struct x86_seg *tr = &cpu->seg[X86_TR];
	bool tss32 = X86_AR_TYPE(tr->ar) & 8;
	if (tss32) {
		*sp = x86_read_sys(cpu, tr->base + 4 + dpl * 8, 4);
		*ss = (uint16_t)x86_read_sys(cpu, tr->base + 8 + dpl * 8, 2);
	} else {
		*sp = x86_read_sys(cpu, tr->base + 2 + dpl * 4, 2);
		*ss = (uint16_t)x86_read_sys(cpu, tr->base + 4 + dpl * 4, 2);
	}
}

static void load_inner_ss(struct x86_cpu *cpu, uint16_t ss, unsigned dpl)
{
	uint64_t lo;
	if (!(ss & ~3u) || (ss & 3) != dpl)
		x86_raise_err(cpu, X86_TS, ss & 0xfffc);
	lo = x86_read_desc(cpu, ss, X86_TS);
	if (!((lo >> 44) & 1) || (((lo >> 40) & 0xa) != 2) || ((lo >> 45) & 3) != dpl)
		x86_raise_err(cpu, X86_TS, ss & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_SS_VEC, ss & 0xfffc);
	x86_desc_to_seg(lo | (1ull << 40), 0, ss, &cpu->seg[X86_SS]);
	x86_update_mode(cpu);
}

/* Leaving virtual-8086 mode for a handler: GS, FS, DS, ES go on the new stack, then become null. */
static void v86_leave(struct x86_cpu *cpu, uint64_t *sp, uint64_t mask, unsigned size)
{
	static const int sregs[4] = { X86_GS, X86_FS, X86_DS, X86_ES };
	for (unsigned i = 0; i < 4; i++)
		push_sys(cpu, sp, mask, size, cpu->seg[sregs[i]].sel);
	for (unsigned i = 0; i < 4; i++)
		cpu->seg[sregs[i]] = (struct x86_seg){ .ar = X86_AR_UNUSABLE };
}

static void deliver_prot(struct x86_cpu *cpu, int vec, bool has_err, uint32_t err, int kind, uint64_t ret)
{
	bool v86 = cpu->rflags & X86_VM;
	struct gate g;
	unsigned dpl, size;
	uint64_t lo, sp, mask, fl = x86_get_rflags(cpu), osp = cpu->r[X86_RSP];
	uint16_t oss = cpu->seg[X86_SS].sel, ocs = cpu->seg[X86_CS].sel, nss;
	read_gate(cpu, vec, kind, &g);
	if (g.type == 5) {	/* task gate: the handler is a task */
		x86_task_switch(cpu, g.sel, X86_TS_INT, ret, has_err, err);
		cpu->rip = cpu->next_rip;
		return;
	}
	lo = gate_code(cpu, &g, kind, &dpl);
	size = (g.type & 8) ? 4 : 2;
	if (v86 && dpl != 0)
		x86_raise_err(cpu, X86_GP, g.sel & 0xfffc);	/* out of virtual-8086 mode: to CPL 0 only */
	if (dpl < cpu->cpl) {
		inner_stack(cpu, dpl, &sp, &nss);
		load_inner_ss(cpu, nss, dpl);
		mask = x86_sp_mask(cpu);
		sp &= mask;
		if (v86)
			v86_leave(cpu, &sp, mask, size);
		push_sys(cpu, &sp, mask, size, oss);
		push_sys(cpu, &sp, mask, size, osp);
	} else {
		mask = x86_sp_mask(cpu);
		sp = osp & mask;
	}
	push_sys(cpu, &sp, mask, size, fl);
	push_sys(cpu, &sp, mask, size, ocs);
	push_sys(cpu, &sp, mask, size, ret);
	if (has_err)
		push_sys(cpu, &sp, mask, size, err);
	cpu->r[X86_RSP] = mask == 0xffff ? (cpu->r[X86_RSP] & ~0xffffull) | sp : sp;
	enter_handler(cpu, &g, lo, dpl);
}

void x86_deliver(struct x86_cpu *cpu, int vec, bool has_err, uint32_t err, int kind)
{
	uint64_t ret = (kind == X86_EV_SOFT || kind == X86_EV_SOFT_EXC || kind == X86_EV_ICEBP) ? cpu->next_rip
												: cpu->rip;
	snapshot(cpu);
	cpu->end_block = true;
	cpu->halted = false;
	if (cpu->mode == X86_MODE_REAL)
		deliver_real(cpu, vec, ret);
	else if (cpu->efer & EFER_LMA)
		deliver_long(cpu, vec, has_err, err, kind, ret);
	else
		deliver_prot(cpu, vec, has_err, err, kind, ret);
}

/* ---- the run loop's side: what to do after x86_raise longjmp'd ---- */

static int exc_class(int vec)
{
	if (vec == X86_PF_VEC)
		return 2;
	if (vec == X86_DE || (vec >= X86_TS && vec <= X86_GP))
		return 1;
	return 0;
}

void x86_exception_entry(struct x86_cpu *cpu)
{
	int vec = cpu->pend_vec;
	bool has_err = cpu->pend_has_err;
	uint32_t err = cpu->pend_err;
	if (cpu->exc_vec >= 0) {	/* the delivery of exc_vec faulted */
		int first = cpu->exc_vec;
		restore(cpu);
		if (first == X86_DF_VEC) {
			cpu->shutdown = true;
			cpu->exc_vec = -1;
			return;
		}
		if (first < 0x100 && ((exc_class(first) == 1 && exc_class(vec) == 1) ||
				      (exc_class(first) == 2 && exc_class(vec) >= 1))) {
			vec = X86_DF_VEC;
			has_err = true;
			err = 0;
		}
	}
	cpu->nr_exceptions++;
	trace_x86_exception((unsigned)vec, has_err, err, cpu->rip);
	cpu->exc_vec = (int16_t)vec;
	x86_deliver(cpu, vec, has_err, err, X86_EV_EXC);
	cpu->exc_vec = -1;
}

void x86_unimplemented(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned m = in->mnem;
	cpu->nr_unimpl++;
	if (cpu->unimpl_seen && m < x86_nr_mnemonics && !(cpu->unimpl_seen[m / 64] & (1ull << (m % 64)))) {
		cpu->unimpl_seen[m / 64] |= 1ull << (m % 64);
		if (cpu->log)
			fprintf(cpu->log, "vmscope: interp: unimplemented instruction '%s' at %#" PRIx64 " (raising #UD)\n",
				x86_mnemonic_name(m), (cpu->mode == X86_MODE_LONG64 ? 0 : cpu->seg[X86_CS].base) + cpu->rip);
	}
	if ((cpu->cr0 & (1ull << 3)) && in->op[0].type == X86_OT_OTHER)
		x86_raise(cpu, X86_NM, 0, false);
	x86_ud(cpu);
}
