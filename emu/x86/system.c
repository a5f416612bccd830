/* SPDX-License-Identifier: MIT */
/*
 * system.c — control/debug registers, MSRs, cpuid, rdtsc, descriptor-table registers, fast system
 * calls (syscall/sysret, sysenter/sysexit, swapgs), hlt and the I/O permission check.
 */
#include <errno.h>
#include <time.h>

#include "emu/x86/handlers.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_VALID (0x7ffull | CR4_FSGSBASE | (1ull << 18) | CR4_SMEP | CR4_SMAP)

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* ---- mode ---- */

void x86_update_mode(struct x86_cpu *cpu)
{
	const struct x86_seg *cs = &cpu->seg[X86_CS];
	if (!(cpu->cr0 & CR0_PE)) {
		cpu->mode = X86_MODE_REAL;
		cpu->cpl = 0;
	} else if ((cpu->efer & EFER_LMA) && (cs->ar & X86_AR_L)) {
		cpu->mode = X86_MODE_LONG64;
	} else if (cpu->efer & EFER_LMA) {
		cpu->mode = (cs->ar & X86_AR_DB) ? X86_MODE_COMPAT32 : X86_MODE_COMPAT16;
	} else {
		cpu->mode = (cs->ar & X86_AR_DB) ? X86_MODE_PROT32 : X86_MODE_PROT16;
	}
	if (cpu->mode == X86_MODE_LONG64) {
		cpu->code_size = cpu->stack_size = 8;
	} else {
		cpu->code_size = (cs->ar & X86_AR_DB) && cpu->mode != X86_MODE_REAL ? 4 : 2;
		cpu->stack_size = (cpu->seg[X86_SS].ar & X86_AR_DB) ? 4 : 2;
	}
	cpu->tlb_user = cpu->cpl == 3;
	cpu->end_block = true;
}

void x86_write_cr0(struct x86_cpu *cpu, uint64_t v)
{
	uint64_t old = cpu->cr0;
	v |= CR0_ET;
	if ((v & ~CR0_VALID) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		x86_gp0(cpu);
	if ((v & CR0_PG) && !(old & CR0_PG) && (cpu->efer & EFER_LME)) {
		if (!(cpu->cr4 & CR4_PAE) || (cpu->seg[X86_CS].ar & X86_AR_L))
			x86_gp0(cpu);
		cpu->efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (old & CR0_PG) && (cpu->efer & EFER_LMA)) {
		if (cpu->mode == X86_MODE_LONG64)
			x86_gp0(cpu);
		cpu->efer &= ~EFER_LMA;
	}
	cpu->cr0 = v;
	if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
		x86_tlb_flush(cpu, false);
	x86_update_mode(cpu);
}

void x86_write_cr3(struct x86_cpu *cpu, uint64_t v)
{
	cpu->cr3 = v;
	x86_tlb_flush(cpu, true);
}

void x86_write_cr4(struct x86_cpu *cpu, uint64_t v)
{
	if ((v & ~CR4_VALID) || ((cpu->efer & EFER_LMA) && !(v & CR4_PAE)))
		x86_gp0(cpu);
	if ((cpu->cr4 ^ v) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP))
		x86_tlb_flush(cpu, false);
	cpu->cr4 = v;
	cpu->end_block = true;
}

void x86_mov_cr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool to = in->op[0].type == X86_OT_CREG;
	unsigned cr = to ? in->op[0].reg : in->op[1].reg;
	unsigned s = cpu->mode == X86_MODE_LONG64 ? 8 : 4;
	uint64_t v;
	if (cpu->cpl)
		x86_gp0(cpu);
	if (!to) {
		switch (cr) {
		case 0: v = cpu->cr0; break;
		case 2: v = cpu->cr2; break;
		case 3: v = cpu->cr3; break;
		case 4: v = cpu->cr4; break;
		case 8: v = cpu->cr8; break;
		default: x86_ud(cpu);
		}
		x86_set_reg(cpu, in->op[0].reg, s, false, v);
		return;
	}
	v = cpu->r[in->op[1].reg] & x86_mask(s);
	switch (cr) {
	case 0: x86_write_cr0(cpu, v); break;
	case 2: cpu->cr2 = v; break;
	case 3: x86_write_cr3(cpu, v); break;
	case 4: x86_write_cr4(cpu, v); break;
	case 8: if (v & ~15ull) x86_gp0(cpu); cpu->cr8 = v; break;
	default: x86_ud(cpu);
	}
}

/* A guest DR0-DR7 write changes what the run loop must watch: the same recomputation as a
 * debugger's change (single-instruction mode for DR7 breakpoints, TLB fast paths dropped). */
static void dr7_changed(struct x86_cpu *cpu)
{
	cpu->end_block = true;
	x86_debug_changed(cpu);
}

void x86_mov_dr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool to = in->op[0].type == X86_OT_DREG;
	unsigned dr = to ? in->op[0].reg : in->op[1].reg;
	unsigned s = cpu->mode == X86_MODE_LONG64 ? 8 : 4;
	uint64_t v;
	if (cpu->cpl)
		x86_gp0(cpu);
	if ((dr == 4 || dr == 5) && (cpu->cr4 & CR4_DE))
		x86_ud(cpu);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (!to) {
		v = dr < 4 ? cpu->dr[dr] : dr == 6 ? cpu->dr6 : cpu->dr7;
		x86_set_reg(cpu, in->op[0].reg, s, false, v);
		return;
	}
	v = cpu->r[in->op[1].reg] & x86_mask(s);
	if (dr < 4) {
		cpu->dr[dr] = v;
	} else if (dr == 6) {
		if (v >> 32)
			x86_gp0(cpu);
		cpu->dr6 = (v & 0xe00f) | 0xffff0ff0ull;
	} else {
		if (v >> 32)
			x86_gp0(cpu);
		cpu->dr7 = (v & 0xffff2bffull) | 0x400;
	}
	dr7_changed(cpu);
}

/* ---- MSRs ---- */

#define MSR_TSC 0x10
#define MSR_TSC_ADJUST 0x3b
#define MSR_UCODE_REV 0x8b
#define MSR_APIC_BASE 0x1b
#define MSR_MTRRCAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_PAT 0x277
#define MSR_MTRR_DEF 0x2ff
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KGS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

static const uint32_t mtrr_fixed_msrs[11] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f };

/* Pointer to the storage of a plain read/write MSR, or NULL. */
static uint64_t *msr_slot(struct x86_cpu *cpu, uint32_t i)
{
	switch (i) {
	case MSR_SYSENTER_CS: return &cpu->sysenter_cs;
	case MSR_SYSENTER_ESP: return &cpu->sysenter_esp;
	case MSR_SYSENTER_EIP: return &cpu->sysenter_eip;
	case MSR_MISC_ENABLE: return &cpu->misc_enable;
	case MSR_PAT: return &cpu->pat;
	case MSR_MTRR_DEF: return &cpu->mtrr_def_type;
	case MSR_STAR: return &cpu->star;
	case MSR_LSTAR: return &cpu->lstar;
	case MSR_CSTAR: return &cpu->cstar;
	case MSR_SFMASK: return &cpu->sfmask;
	case MSR_FS_BASE: return &cpu->seg[X86_FS].base;
	case MSR_GS_BASE: return &cpu->seg[X86_GS].base;
	case MSR_KGS_BASE: return &cpu->kernel_gs_base;
	case MSR_TSC_AUX: return &cpu->tsc_aux;
	case MSR_APIC_BASE: return &cpu->apic_base;
	}
	for (unsigned k = 0; k < 11; k++)
		if (i == mtrr_fixed_msrs[k])
			return &cpu->mtrr_fixed[k];
	if (i >= 0x200 && i < 0x210)
		return (i & 1) ? &cpu->mtrr_var[(i - 0x200) / 2].mask : &cpu->mtrr_var[(i - 0x200) / 2].base;
	return NULL;
}

int x86_msr_read(struct x86_cpu *cpu, uint32_t index, uint64_t *value)
{
	uint64_t *p;
	switch (index) {
	case MSR_TSC: *value = x86_rdtsc(cpu); return 0;
	case MSR_TSC_ADJUST: *value = cpu->tsc_adjust; return 0;
	case MSR_UCODE_REV: *value = 0; return 0;	/* no microcode: revision 0 */
	case MSR_MTRRCAP: *value = 0x508; return 0;
	case MSR_EFER: *value = cpu->efer; return 0;
	}
	p = msr_slot(cpu, index);
	if (!p)
		return -EINVAL;
	*value = *p;
	return 0;
}

static bool is_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static int efer_write(struct x86_cpu *cpu, uint64_t v)
{
	uint64_t keep = cpu->efer & EFER_LMA;
	if (v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return -EINVAL;
	if ((cpu->cr0 & CR0_PG) && ((v ^ cpu->efer) & EFER_LME))
		return -EINVAL;
	cpu->efer = (v & ~EFER_LMA) | keep;
	x86_tlb_flush(cpu, false);
	return 0;
}

int x86_msr_write(struct x86_cpu *cpu, uint32_t index, uint64_t value)
{
	uint64_t *p;
	switch (index) {
	case MSR_TSC:	/* SDM 17.17.3: a TSC write moves TSC_ADJUST by the same amount */
		value -= x86_rdtsc(cpu);
		cpu->tsc_adjust += value;
		cpu->tsc_offset += value;
		return 0;
	case MSR_TSC_ADJUST:
		cpu->tsc_offset += value - cpu->tsc_adjust;
		cpu->tsc_adjust = value;
		return 0;
	case MSR_UCODE_REV: return 0;	/* the microcode loader's "write 0, cpuid, read" */
	case MSR_EFER: return efer_write(cpu, value);
	case MSR_MTRRCAP: return -EINVAL;
	case MSR_LSTAR: case MSR_CSTAR: case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KGS_BASE:
	case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP:
		if (!is_canonical(value))
			return -EINVAL;
		break;
	}
	p = msr_slot(cpu, index);
	if (!p)
		return -EINVAL;
	*p = value;
	return 0;
}

void x86_h_rdmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	if (x86_msr_read(cpu, (uint32_t)cpu->r[X86_RCX], &v))
		x86_gp0(cpu);
	x86_set_reg(cpu, X86_RAX, 4, false, v);
	x86_set_reg(cpu, X86_RDX, 4, false, v >> 32);
}

void x86_h_wrmsr(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = (cpu->r[X86_RAX] & 0xffffffffull) | (cpu->r[X86_RDX] << 32);
	if (x86_msr_write(cpu, (uint32_t)cpu->r[X86_RCX], v))
		x86_gp0(cpu);
}

/* ---- cpuid / tsc ---- */

struct cpuid_leaf {
	uint32_t leaf, eax, ebx, ecx, edx;
};

/*
 * The identity: "GenuineIntel" family 6 model 0x36 (Atom "Saltwell"), an in-order core that
 * Linux knows does not speculate (cpu_vuln_whitelist: NO_SPECULATION), which is what an
 * interpreter is: no Spectre/Meltdown mitigations (retpolines, return thunks, page-table
 * isolation) that would only cost time. Leaf 0x15 gives the TSC and the local APIC timer their
 * frequency (1 GHz: both count host or virtual nanoseconds), so Linux calibrates neither.
 */
#define X86_CPUID_SIGNATURE 0x00030661u	/* family 6, model 0x36, stepping 1 */
#define X86_CPUID_EDX_APIC (1u << 9)
/* FPU (0) and FXSR (24): x87 and FXSAVE/FXRSTOR (exec-x87.c) (an Intel identity: not repeated in 0x80000001 as AMD does). */
#define X86_CPUID_EDX_X87 ((1u << 0) | (1u << 24))
/* CPUID.1:EDX SSE (25) and SSE2 (26): emu/x86/exec-sse.c. Nothing of SSE3 and later. */
#define X86_CPUID_EDX_SSE ((1u << 25) | (1u << 26))
/* MMX (23): the MMX forms in exec-sse.c, emms in exec-x87.c. */
#define X86_CPUID_EDX_MMX (1u << 23)

/* What the interpreter implements, and nothing more. */
static const struct cpuid_leaf cpuid_table[] = {
	{ 0x0, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 },	/* "GenuineIntel" */
	{ 0x1, X86_CPUID_SIGNATURE, 0x00000800, (1u << 13) | (1u << 22) | (1u << 23) | (1u << 31),
	  (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 11) | (1u << 12) | (1u << 13) |
	  (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19) | X86_CPUID_EDX_APIC | X86_CPUID_EDX_X87 | X86_CPUID_EDX_MMX | X86_CPUID_EDX_SSE },
	{ 0x6, 1u << 2, 0, 0, 0 },				/* ARAT: the APIC timer never stops */
	{ 0x7, 0, (1u << 0) | (1u << 1) | (1u << 7) | (1u << 20), 1u << 22, 0 },	/* FSGSBASE TSC_ADJUST SMEP SMAP; RDPID */
	{ 0x15, 1, 1, 1000000000, 0 },				/* TSC = 1/1 x 1 GHz crystal */
	{ 0x16, 1000, 1000, 1000, 0 },				/* base, max, bus MHz */
	{ 0x80000000, 0x80000008, 0, 0, 0 },
	{ 0x80000001, 0, 0, (1u << 0) | (1u << 5), (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29) },
	{ 0x80000002, 0x63736d76, 0x2065706f, 0x20363878, 0x65746e69 },	/* "vmscope x86 inte" */
	{ 0x80000003, 0x65727072, 0x00726574, 0, 0 },			/* "rpreter" */
	{ 0x80000004, 0, 0, 0, 0 },
	{ 0x80000007, 0, 0, 0, 1u << 8 },			/* invariant TSC */
	{ 0x80000008, 0x3030, 0, 0, 0 },
};

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf == 7 && sub != 0)
		return;
	for (unsigned i = 0; i < sizeof(cpuid_table) / sizeof(cpuid_table[0]); i++) {
		if (cpuid_table[i].leaf != leaf)
			continue;
		out[0] = cpuid_table[i].eax;
		out[1] = cpuid_table[i].ebx;
		out[2] = cpuid_table[i].ecx;
		out[3] = cpuid_table[i].edx;
	}
}

void x86_h_cpuid(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint32_t o[4];
	x86_cpuid(cpu, (uint32_t)cpu->r[X86_RAX], (uint32_t)cpu->r[X86_RCX], o);
	cpu->r[X86_RAX] = o[0];
	cpu->r[X86_RBX] = o[1];
	cpu->r[X86_RCX] = o[2];
	cpu->r[X86_RDX] = o[3];
}

/* The time the TSC counts (1 GHz): the bus's clock, else the host's monotonic clock. */
uint64_t x86_clock_ns(const struct x86_cpu *cpu)
{
	struct timespec ts;
	if (cpu->bus.clock_ns)
		return cpu->bus.clock_ns(cpu->bus.opaque);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t x86_rdtsc(struct x86_cpu *cpu)
{
	return x86_clock_ns(cpu) - cpu->tsc_base_ns + cpu->tsc_offset;
}

void x86_h_rdtsc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t;
	if ((cpu->cr4 & CR4_TSD) && cpu->cpl)
		x86_gp0(cpu);
	t = x86_rdtsc(cpu);
	cpu->r[X86_RAX] = (uint32_t)t;
	cpu->r[X86_RDX] = t >> 32;
}

void x86_h_rdtscp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_h_rdtsc(cpu, in);
	cpu->r[X86_RCX] = (uint32_t)cpu->tsc_aux;
}

void x86_h_rdpid(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_wr(cpu, in, 0, (uint32_t)cpu->tsc_aux);
}

void x86_h_hlt(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->halted = true;
	cpu->end_block = true;
}

void x86_h_nop_priv(struct x86_cpu *cpu, const struct x86_insn *in)
{
}

/* ---- descriptor-table registers ---- */

static void load_dtr(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t *base, uint16_t *limit)
{
	uint64_t lin, b;
	if (in->op[0].type != X86_OT_MEM)
		x86_ud(cpu);
	lin = x86_op_lin(cpu, in, cpu->mode == X86_MODE_LONG64 ? 10 : 6, false);
	*limit = (uint16_t)x86_read_lin(cpu, lin, 2);
	if (cpu->mode == X86_MODE_LONG64)
		b = x86_read_lin(cpu, lin + 2, 8);
	else
		b = x86_read_lin(cpu, lin + 2, 4) & (in->osz == 2 ? 0xffffff : 0xffffffff);
	*base = b;
}

static void store_dtr(struct x86_cpu *cpu, const struct x86_insn *in, uint64_t base, uint16_t limit)
{
	uint64_t lin;
	if (in->op[0].type != X86_OT_MEM)
		x86_ud(cpu);
	lin = x86_op_lin(cpu, in, cpu->mode == X86_MODE_LONG64 ? 10 : 6, true);
	x86_write_lin(cpu, lin, 2, limit);
	x86_write_lin(cpu, lin + 2, cpu->mode == X86_MODE_LONG64 ? 8 : 4, base);
}

void x86_h_lgdt(struct x86_cpu *cpu, const struct x86_insn *in) { load_dtr(cpu, in, &cpu->gdt.base, &cpu->gdt.limit); }
void x86_h_lidt(struct x86_cpu *cpu, const struct x86_insn *in) { load_dtr(cpu, in, &cpu->idt.base, &cpu->idt.limit); }
void x86_h_sgdt(struct x86_cpu *cpu, const struct x86_insn *in) { store_dtr(cpu, in, cpu->gdt.base, cpu->gdt.limit); }
void x86_h_sidt(struct x86_cpu *cpu, const struct x86_insn *in) { store_dtr(cpu, in, cpu->idt.base, cpu->idt.limit); }

static void store_sel(struct x86_cpu *cpu, const struct x86_insn *in, uint16_t sel)
{
	if (x86_real_or_v86(cpu))
		x86_ud(cpu);	/* sldt, str */
	if (in->op[0].type == X86_OT_MEM)
		x86_write_lin(cpu, x86_op_lin(cpu, in, 2, true), 2, sel);
	else
		x86_wr(cpu, in, 0, sel);
}

void x86_h_sldt(struct x86_cpu *cpu, const struct x86_insn *in) { store_sel(cpu, in, cpu->seg[X86_LDTR].sel); }
void x86_h_str(struct x86_cpu *cpu, const struct x86_insn *in) { store_sel(cpu, in, cpu->seg[X86_TR].sel); }

void x86_h_smsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->op[0].type == X86_OT_MEM)
		x86_write_lin(cpu, x86_op_lin(cpu, in, 2, true), 2, cpu->cr0 & 0xffff);
	else
		x86_wr(cpu, in, 0, cpu->cr0);
}

void x86_h_lmsw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_rd(cpu, in, 0) & 0xf;
	x86_write_cr0(cpu, (cpu->cr0 & ~0xeull) | v | (cpu->cr0 & CR0_PE));
}

void x86_h_clts(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->cr0 &= ~CR0_TS;
}

void x86_h_invlpg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = x86_ea(cpu, in);
	uint64_t lin = cpu->mode == X86_MODE_LONG64 ? ea + (in->seg >= X86_FS ? cpu->seg[in->seg].base : 0)
						    : cpu->seg[in->seg].base + ea;
	x86_tlb_flush_page(cpu, lin);
}

/* ---- fast system calls ---- */

static void flat_seg(struct x86_seg *s, uint16_t sel, unsigned dpl, bool code, bool l)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->ar = (code ? 0xb : 0x3) | X86_AR_S | (dpl << 5) | X86_AR_P | X86_AR_G | (l ? X86_AR_L : X86_AR_DB);
}

static void enter_cpl(struct x86_cpu *cpu, unsigned cpl, uint64_t rip)
{
	cpu->cpl = (uint8_t)cpl;
	cpu->next_rip = rip;
	x86_update_mode(cpu);
}

void x86_h_syscall(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)(cpu->star >> 32) & 0xfffc;
	uint64_t fl = x86_get_rflags(cpu);
	if (!(cpu->efer & EFER_SCE) || cpu->mode == X86_MODE_REAL)
		x86_ud(cpu);
	if (cpu->efer & EFER_LMA) {
		cpu->r[X86_RCX] = cpu->next_rip;
		cpu->r[11] = fl & ~(uint64_t)X86_RF;
		flat_seg(&cpu->seg[X86_CS], sel, 0, true, true);
		flat_seg(&cpu->seg[X86_SS], sel + 8, 0, false, false);
		x86_set_rflags(cpu, fl & ~cpu->sfmask & ~(uint64_t)X86_RF);
		enter_cpl(cpu, 0, cpu->mode == X86_MODE_LONG64 ? cpu->lstar : cpu->cstar);
		return;
	}
	cpu->r[X86_RCX] = (uint32_t)cpu->next_rip;
	flat_seg(&cpu->seg[X86_CS], sel, 0, true, false);
	flat_seg(&cpu->seg[X86_SS], sel + 8, 0, false, false);
	x86_set_rflags(cpu, fl & ~(uint64_t)(X86_VM | X86_IF | X86_RF));
	enter_cpl(cpu, 0, (uint32_t)cpu->star);
}

void x86_h_sysret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)(cpu->star >> 48);
	bool to64 = in->osz == 8;
	uint64_t rip = to64 ? cpu->r[X86_RCX] : (uint32_t)cpu->r[X86_RCX];
	if (!(cpu->efer & EFER_SCE))
		x86_ud(cpu);
	if (to64 && !is_canonical(rip))
		x86_gp0(cpu);
	if (cpu->efer & EFER_LMA) {
		flat_seg(&cpu->seg[X86_CS], (uint16_t)((to64 ? sel + 16 : sel) | 3), 3, true, to64);
		x86_set_rflags(cpu, (cpu->r[11] & 0x3c7fd7) | 2);
	} else {
		flat_seg(&cpu->seg[X86_CS], sel | 3, 3, true, false);
		cpu->rflags |= X86_IF;
	}
	flat_seg(&cpu->seg[X86_SS], (uint16_t)((sel + 8) | 3), 3, false, false);
	enter_cpl(cpu, 3, rip);
}

void x86_h_sysenter(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	bool lm = cpu->efer & EFER_LMA;
	if (cpu->mode == X86_MODE_REAL || !sel)
		x86_gp0(cpu);
	flat_seg(&cpu->seg[X86_CS], sel, 0, true, lm);
	flat_seg(&cpu->seg[X86_SS], sel + 8, 0, false, false);
	x86_set_rflags(cpu, x86_get_rflags(cpu) & ~(uint64_t)(X86_VM | X86_IF | X86_RF));
	cpu->r[X86_RSP] = lm ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
	enter_cpl(cpu, 0, lm ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip);
}

void x86_h_sysexit(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
	bool to64 = in->osz == 8;
	if (cpu->mode == X86_MODE_REAL || !sel)
		x86_gp0(cpu);
	flat_seg(&cpu->seg[X86_CS], (uint16_t)((sel + (to64 ? 32 : 16)) | 3), 3, true, to64);
	flat_seg(&cpu->seg[X86_SS], (uint16_t)((sel + (to64 ? 40 : 24)) | 3), 3, false, false);
	cpu->r[X86_RSP] = to64 ? cpu->r[X86_RCX] : (uint32_t)cpu->r[X86_RCX];
	enter_cpl(cpu, 3, to64 ? cpu->r[X86_RDX] : (uint32_t)cpu->r[X86_RDX]);
}

void x86_h_swapgs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t t = cpu->seg[X86_GS].base;
	cpu->seg[X86_GS].base = cpu->kernel_gs_base;
	cpu->kernel_gs_base = t;
}

static void need_fsgsbase(struct x86_cpu *cpu)
{
	if (!(cpu->cr4 & CR4_FSGSBASE) || cpu->mode != X86_MODE_LONG64)
		x86_ud(cpu);
}

void x86_h_rdfsbase(struct x86_cpu *cpu, const struct x86_insn *in)
{
	need_fsgsbase(cpu);
	x86_wr(cpu, in, 0, cpu->seg[in->modrm_reg == 1 ? X86_GS : X86_FS].base);
}

void x86_h_wrfsbase(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v;
	need_fsgsbase(cpu);
	v = x86_rd(cpu, in, 0);
	if (!is_canonical(v))
		x86_gp0(cpu);
	cpu->seg[in->modrm_reg == 3 ? X86_GS : X86_FS].base = v;
}

/* ---- I/O permission ---- */

void x86_io_check(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
	const struct x86_seg *tr = &cpu->seg[X86_TR];
	uint64_t base;
	unsigned type = X86_AR_TYPE(tr->ar);
	if (cpu->mode == X86_MODE_REAL || (cpu->cpl <= ((cpu->rflags >> 12) & 3) && !(cpu->rflags & X86_VM)))
		return;
	if ((type != 9 && type != 11) || tr->limit < 0x67)
		x86_gp0(cpu);
	base = x86_read_sys(cpu, tr->base + 0x66, 2);
	if (base + port / 8 + 1 > tr->limit)
		x86_gp0(cpu);
	if ((x86_read_sys(cpu, tr->base + base + port / 8, 2) >> (port & 7)) & ((1u << size) - 1))
		x86_gp0(cpu);
}
