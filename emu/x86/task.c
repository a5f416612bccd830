/* SPDX-License-Identifier: MIT */
/*
 * task.c — hardware task switching in 32-bit protected mode (SDM vol. 3, 8.3): far jmp/call to a
 * TSS descriptor or a task gate, an interrupt or exception through a task gate in the IDT, and
 * iret with EFLAGS.NT back to the task in the back link. The current state goes to the old TSS,
 * busy bits and the back link/NT are kept as the SDM says, CR0.TS is set, and the new state is
 * loaded from the new TSS: CR3, EFLAGS, EIP, the general registers, the LDT and the segment
 * registers with their checks (#TS, #NP, #SS, raised in the new task once it is committed).
 * A new task with EFLAGS.VM runs in virtual-8086 mode. 32-bit TSSs only (a 16-bit TSS is #GP);
 * the T (debug trap) bit is not implemented.
 */
#include "emu/x86/handlers.h"

#define EFER_LMA (1ull << 10)
#define CR0_TS (1ull << 3)
#define CR0_PG (1ull << 31)
#define TSS32_MIN_LIMIT 0x67
#define TSS_DWORDS 25	/* 0x00 back link ... 0x60 LDT selector */

enum { TSS_LINK = 0, TSS_CR3 = 7, TSS_EIP = 8, TSS_EFLAGS = 9, TSS_EAX = 10, TSS_ES = 18, TSS_LDT = 24 };
static const int tss_sregs[6] = { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS };	/* TSS order */

/* The TSS descriptor for sel, checked for the switch (wrong kind: #GP, or #TS for iret). */
static uint64_t tss_desc(struct x86_cpu *cpu, uint16_t sel, int reason)
{
	int vec = reason == X86_TS_IRET ? X86_TS : X86_GP;
	uint64_t lo;
	unsigned type;
	struct x86_seg s;
	if ((sel & 4) || !(sel & ~3u))
		x86_raise_err(cpu, vec, sel & 0xfffc);
	lo = x86_read_desc(cpu, sel, vec);
	type = (lo >> 40) & 15;
	if (((lo >> 44) & 1) || (type & ~2u) != 9)	/* a 32-bit TSS, available or busy */
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if (reason == X86_TS_IRET ? !(type & 2) : (type & 2))
		x86_raise_err(cpu, vec, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	x86_desc_to_seg(lo, 0, sel, &s);
	if (s.limit < TSS32_MIN_LIMIT)
		x86_raise_err(cpu, X86_TS, sel & 0xfffc);
	return lo;
}

static void set_busy(struct x86_cpu *cpu, uint16_t sel, bool busy)
{
	uint64_t a = cpu->gdt.base + (sel & ~7u) + 5;
	uint8_t b = (uint8_t)x86_read_sys(cpu, a, 1);
	x86_write_sys(cpu, a, 1, busy ? (b | 2) : (b & ~2));
}

/* The current state into the old TSS (only the dynamic fields). */
static void save_state(struct x86_cpu *cpu, uint64_t base, uint64_t eip, uint64_t eflags)
{
	x86_write_sys(cpu, base + TSS_EIP * 4, 4, eip);
	x86_write_sys(cpu, base + TSS_EFLAGS * 4, 4, eflags);
	for (unsigned i = 0; i < 8; i++)
		x86_write_sys(cpu, base + (TSS_EAX + i) * 4, 4, cpu->r[i]);
	for (unsigned i = 0; i < 6; i++)
		x86_write_sys(cpu, base + (TSS_ES + i) * 4, 2, cpu->seg[tss_sregs[i]].sel);
}

static void load_ldt(struct x86_cpu *cpu, uint16_t sel)
{
	if (!(sel & ~3u)) {
		cpu->seg[X86_LDTR] = (struct x86_seg){ .sel = sel, .ar = X86_AR_UNUSABLE };
		return;
	}
	x86_load_ldt_desc(cpu, sel, X86_TS, X86_TS);	/* 32-bit only: no high descriptor half */
}

static void load_cs(struct x86_cpu *cpu, uint16_t sel)
{
	uint64_t lo;
	unsigned type, dpl;
	if (!(sel & ~3u))
		x86_raise_err(cpu, X86_TS, 0);
	lo = x86_read_desc(cpu, sel, X86_TS);
	type = (lo >> 40) & 15;
	dpl = (lo >> 45) & 3;
	if (!((lo >> 44) & 1) || !(type & 8) || ((type & 4) ? dpl > (sel & 3u) : dpl != (sel & 3u)))
		x86_raise_err(cpu, X86_TS, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		x86_raise_err(cpu, X86_NP, sel & 0xfffc);
	x86_desc_to_seg(lo | (1ull << 40), 0, sel, &cpu->seg[X86_CS]);
}

/* The new state from the TSS image t; faults from here on belong to the new task. */
static void load_state(struct x86_cpu *cpu, const uint32_t *t, uint64_t eflags)
{
	static const unsigned data_slot[4] = { 0, 3, 4, 5 };
	if (cpu->cr0 & CR0_PG)
		x86_write_cr3(cpu, t[TSS_CR3]);
	for (unsigned i = 0; i < 8; i++)
		cpu->r[i] = t[TSS_EAX + i];
	x86_set_rflags(cpu, eflags);
	cpu->next_rip = cpu->rip = t[TSS_EIP];
	/* selectors first, unusable, so that a fault below leaves them as the new task has them */
	for (unsigned i = 0; i < 6; i++) {
		struct x86_seg *s = &cpu->seg[tss_sregs[i]];
		s->sel = (uint16_t)t[TSS_ES + i];
		s->ar |= X86_AR_UNUSABLE;
	}
	load_ldt(cpu, (uint16_t)t[TSS_LDT]);
	if (eflags & X86_VM) {	/* a virtual-8086 task: real-mode segments at CPL 3 */
		cpu->cpl = 3;
		for (unsigned i = 0; i < 6; i++)
			x86_load_seg_real(cpu, tss_sregs[i], (uint16_t)t[TSS_ES + i]);
		x86_update_mode(cpu);
		return;
	}
	cpu->cpl = t[TSS_ES + 1] & 3;
	load_cs(cpu, (uint16_t)t[TSS_ES + 1]);
	x86_load_ss(cpu, (uint16_t)t[TSS_ES + 2], cpu->cpl, X86_TS);
	x86_update_mode(cpu);
	for (unsigned i = 0; i < 4; i++)
		x86_load_data_seg(cpu, tss_sregs[data_slot[i]], (uint16_t)t[TSS_ES + data_slot[i]], X86_TS);
	if (cpu->rip > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
}

void x86_task_switch(struct x86_cpu *cpu, uint16_t sel, int reason, uint64_t eip, bool has_err, uint32_t err)
{
	struct x86_seg *tr = &cpu->seg[X86_TR];
	uint64_t lo, nbase, eflags = x86_get_rflags(cpu), neflags;
	uint32_t t[TSS_DWORDS];
	uint16_t old_sel = tr->sel;
	if (cpu->efer & EFER_LMA)
		x86_raise_err(cpu, X86_GP, sel & 0xfffc);	/* no task switches in IA-32e mode */
	lo = tss_desc(cpu, sel, reason);
	nbase = ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000ull);
	if (tr->limit < TSS32_MIN_LIMIT || (X86_AR_TYPE(tr->ar) & ~2u) != 9)
		x86_raise_err(cpu, X86_TS, old_sel & 0xfffc);
	for (unsigned i = 0; i < TSS_DWORDS; i++)	/* read all of it before changing anything */
		t[i] = (uint32_t)x86_read_sys(cpu, nbase + i * 4, 4);
	if (reason == X86_TS_IRET)
		eflags &= ~(uint64_t)X86_NT;
	save_state(cpu, tr->base, eip, eflags);
	if (reason == X86_TS_JMP || reason == X86_TS_IRET)
		set_busy(cpu, old_sel, false);
	neflags = t[TSS_EFLAGS];
	if (reason == X86_TS_CALL || reason == X86_TS_INT) {
		x86_write_sys(cpu, nbase + TSS_LINK * 4, 2, old_sel);
		neflags |= X86_NT;
	}
	if (reason != X86_TS_IRET)
		set_busy(cpu, sel, true);
	x86_desc_to_seg(lo | (2ull << 40), 0, sel, tr);
	cpu->cr0 |= CR0_TS;
	cpu->end_block = true;
	load_state(cpu, t, neflags);
	if (has_err)
		x86_push(cpu, 4, err);
}
