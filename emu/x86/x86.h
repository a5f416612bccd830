/* SPDX-License-Identifier: MIT */
/*
 * x86.h — the x86 interpreter CPU as a library. It needs no VM: memory, port I/O and the INTR line
 * come through struct x86_bus (a RAM pointer for the fast path, callbacks for the rest), so unit
 * tests run it on a flat buffer. emu/x86/accel.c wraps it as emu_interp_accel_ops.
 *
 * Decoding is done by Zydis (at block-translation time only); execution is table driven
 * (emu/x86/insns.def). Guest faults never escape: they become guest exceptions.
 */
#ifndef VMSCOPE_EMU_X86_H
#define VMSCOPE_EMU_X86_H

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct x86_bus {
	uint8_t *ram;		/* guest physical [0, ram_size) */
	uint64_t ram_size;
	void *opaque;
	uint64_t (*mmio_read)(void *opaque, uint64_t gpa, unsigned size);
	void (*mmio_write)(void *opaque, uint64_t gpa, unsigned size, uint64_t value);
	uint64_t (*pio_read)(void *opaque, uint16_t port, unsigned size);
	void (*pio_write)(void *opaque, uint16_t port, unsigned size, uint64_t value);
	bool (*intr_is_pending)(void *opaque);	/* may be NULL: no interrupt controller */
	int (*intr_ack)(void *opaque);
	bool (*has_request)(void *opaque);	/* polled every few blocks; may be NULL */
	/* Shared by the vCPUs of one VM: taken by locked instructions no host atomic can do (split
	 * across pages, MMIO). NULL: one vCPU, no lock needed. */
	pthread_mutex_t *bus_lock;
	uint64_t (*clock_ns)(void *opaque);	/* the guest's time for the TSC; NULL: CLOCK_MONOTONIC */
};

enum x86_sreg { X86_ES = 0, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_LDTR, X86_TR, X86_NSEG };

/* Segment access rights in the VMX layout: type 0-3, S 4, DPL 5-6, P 7, AVL 12, L 13, DB 14, G 15. */
#define X86_AR_TYPE(ar) ((ar) & 15)
#define X86_AR_S	(1u << 4)
#define X86_AR_DPL(ar)	(((ar) >> 5) & 3)
#define X86_AR_P	(1u << 7)
#define X86_AR_AVL	(1u << 12)
#define X86_AR_L	(1u << 13)
#define X86_AR_DB	(1u << 14)
#define X86_AR_G	(1u << 15)
#define X86_AR_UNUSABLE	(1u << 16)

struct x86_seg {
	uint64_t base;
	uint32_t limit;		/* byte granular */
	uint32_t ar;
	uint16_t sel;
};

enum x86_gpr { X86_RAX = 0, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI, X86_LOCK_REG = 16 };

#define X86_CF 0x0001u
#define X86_PF 0x0004u
#define X86_AF 0x0010u
#define X86_ZF 0x0040u
#define X86_SF 0x0080u
#define X86_TF 0x0100u
#define X86_IF 0x0200u
#define X86_DF 0x0400u
#define X86_OF 0x0800u
#define X86_IOPL 0x3000u
#define X86_NT 0x4000u
#define X86_RF 0x10000u
#define X86_VM 0x20000u
#define X86_AC 0x40000u
#define X86_ID 0x200000u
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Exception vectors */
enum {
	X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OFV = 4, X86_BR = 5, X86_UD = 6, X86_NM = 7,
	X86_DF_VEC = 8, X86_TS = 10, X86_NP = 11, X86_SS_VEC = 12, X86_GP = 13, X86_PF_VEC = 14,
	X86_MF = 16, X86_AC_VEC = 17, X86_MC = 18, X86_XM = 19,
};

/* Lazy arithmetic flags: the last flag-setting operation, evaluated on demand. */
enum x86_lf_op { X86_LF_NONE = 0, X86_LF_ADD, X86_LF_SUB, X86_LF_LOGIC, X86_LF_INC, X86_LF_DEC, X86_LF_ADC, X86_LF_SBB,
		 X86_LF_SHL, X86_LF_SHR, X86_LF_SAR, X86_LF_ROT };
struct x86_lazy {
	uint64_t res, a, b;	/* INC/DEC: b is the preserved CF; ADC/SBB: cin is the carry in; shifts: b = count */
	uint8_t cin;
	uint8_t op, size;	/* size in bytes */
	/* ROT (rol/ror/rcl/rcr): CF (bit 0) and OF (bit 7) in rot_flags, the rest from the state before */
	uint8_t rot_flags, pop, psize, pcin;
	uint64_t pres, pa, pb;
};

#define X86_TLB_SIZE 256
struct x86_tlbe {
	uint64_t tag;		/* linear page | 1 when filled for CPL 3; ~0 when empty */
	uintptr_t addend;	/* host pointer = linear + addend */
	uint64_t gpa;		/* physical page */
	uint8_t global;
};

struct x86_bp {
	uint8_t kind;		/* 0 exec, 1 write, 3 read/write (DR7 RW encoding) */
	uint8_t len;
	uint64_t addr;
};

enum x86_run_result {
	X86_RUN_BUDGET = 0,	/* the instruction budget is spent */
	X86_RUN_HLT,
	X86_RUN_REQUEST,	/* kicked or bus->has_request */
	X86_RUN_DEBUG,		/* single-step, breakpoint or watchpoint: debug_reason/debug_addr */
	X86_RUN_SHUTDOWN,	/* triple fault */
};

enum x86_debug_reason { X86_DBG_STEP = 0, X86_DBG_SWBREAK, X86_DBG_HWBREAK, X86_DBG_WATCH_WRITE,
			X86_DBG_WATCH_READ, X86_DBG_WATCH_ACCESS };

struct x86_mtrr { uint64_t base, mask; };

struct x86_blocks;

/*
 * x87, MMX and SSE state, kept in the FXSAVE image's terms. st[] holds the eight physical
 * registers R0-R7 as 80-bit extended values (the low 10 bytes of each slot; the host's long
 * double has the same format, so x87 arithmetic can run on the host FPU bit-exactly); ST(i) is
 * st[(TOP + i) & 7] with TOP in fsw bits 11-13. MMX register i aliases the low 8 bytes of st[i].
 * ftw is the abridged tag (bit i set: R_i is valid), as FXSAVE stores it.
 */
union x86_st {
	long double ld;
	uint8_t raw[16];
	uint64_t mmx;
};
union x86_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double df[2];
};
struct x86_fpu {
	union x86_st st[8];
	uint16_t fcw, fsw, fop;
	uint8_t ftw;
	uint16_t fcs, fds;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	union x86_xmm xmm[16];
};
#define X86_FCW_RESET 0x037f	/* fninit */
#define X86_MXCSR_RESET 0x1f80

struct x86_cpu {
	/* ---- architectural state ---- */
	uint64_t r[17];		/* r[X86_LOCK_REG]: scratch, the memory operand of a locked instruction */
	uint64_t rip;
	uint64_t rflags;	/* arithmetic bits valid only when lf.op == X86_LF_NONE; use x86_get_rflags */
	struct x86_lazy lf;
	struct x86_seg seg[X86_NSEG];
	struct { uint64_t base; uint16_t limit; } gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t dr[4], dr6, dr7;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base, apic_base, pat, tsc_offset;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, tsc_aux, misc_enable, tsc_adjust;
	uint64_t mtrr_def_type, mtrr_fixed[11];
	struct x86_mtrr mtrr_var[8];
	uint8_t cpl;
	bool halted;
	bool shutdown;
	struct x86_fpu fpu;

	/* ---- derived mode (x86_update_mode) ---- */
	uint8_t mode;		/* X86_MODE_* */
	uint8_t code_size;	/* 2, 4, 8 */
	uint8_t stack_size;	/* 2, 4, 8 */
	uint8_t tlb_user;	/* 1 at CPL 3 */

	/* ---- execution state ---- */
	uint64_t next_rip;	/* during an instruction: the address after it */
	const struct x86_insn *resume;	/* exec_block: the instruction after the last one that ran */
	uint64_t blk_rip;	/* exec_block: RIP of the running block's first instruction */
	const struct x86_block *cur_blk;	/* exec_block: the running block (blocks link to their successors) */
	uint64_t stop_icount;	/* x86_cpu_run: the instruction budget ends here */
	unsigned poll;		/* blocks entered; the run loop polls every POLL_EVERY */
	uint64_t insn_start;	/* linear address of the current instruction */
	bool intr_shadow;	/* sti / mov ss: no interrupt before the next instruction completes */
	bool end_block;		/* stop executing the current block after this instruction */
	bool irq_check;		/* look at the INTR line at the next block boundary */
	uint8_t exc_depth;	/* nested delivery: 1 = first exception, for #DF and triple fault */
	int16_t exc_vec;	/* vector being delivered (0x100: an interrupt), -1 none */
	int pend_vec;		/* raised, not yet delivered */
	uint32_t pend_err;
	bool pend_has_err;
	struct {		/* state before a delivery, restored when the delivery itself faults */
		uint64_t rsp, rflags;
		struct x86_seg cs, ss;
		uint8_t cpl;
	} snap;
	int kick;		/* atomic (relaxed): written by other threads, polled by the run loop */
	jmp_buf *jmp;
	uint64_t icount;	/* instructions retired */
	uint64_t tsc_base_ns;

	/* ---- debugging ---- */
	bool single_step;	/* the debugger's step: one instruction then X86_RUN_DEBUG */
	bool step_irqs;
	unsigned nr_sw_bps;
	uint64_t sw_bps[64];
	unsigned nr_hw_bps;
	struct x86_bp hw_bps[4];
	bool watch_active;	/* hw data breakpoints (debugger) or DR7 data breakpoints: slow memory path */
	bool debug_hit;
	bool guest_db;		/* a guest DR0-DR3 data breakpoint matched: #DB after the instruction */
	uint8_t debug_reason;
	uint64_t debug_addr;
	bool slow;		/* single-instruction mode (TF, watchpoints, stepping) */
	bool exec_bps;		/* the debugger has execute breakpoints: blocks end before them */
	uint64_t bp_skip;	/* linear address of the breakpoint just reported: run it once */

	/* ---- memory ---- */
	struct x86_bus bus;
	struct x86_tlbe tlb_r[X86_TLB_SIZE], tlb_w[X86_TLB_SIZE], tlb_x[X86_TLB_SIZE];
	struct x86_blocks *blocks;
	uint32_t jc_gen;	/* bumped by every TLB flush: invalidates the jump cache */
	struct {		/* the last MMIO page translated, per access kind (valid while gen == jc_gen) */
		uint64_t lin, gpa;
		uint32_t gen;
		uint8_t user, valid;
	} mmio_tlb[3];

	/* ---- statistics ---- */
	uint64_t nr_exceptions, nr_interrupts, nr_pio, nr_mmio, nr_blocks_decoded, nr_smc, nr_unimpl;
	uint64_t *unimpl_seen;	/* bitmap over Zydis mnemonics: named on stderr once */
	FILE *log;		/* unimplemented-instruction messages (stderr by default) */
	bool ferr_noted;	/* the FERR# (CR0.NE clear) note was printed */
};

enum { X86_MODE_REAL = 0, X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_COMPAT16, X86_MODE_COMPAT32, X86_MODE_LONG64 };

#define X86_MUST_CHECK __attribute__((warn_unused_result))

/* Allocates a CPU in its reset state (real mode, CS:IP = F000:FFF0). */
X86_MUST_CHECK int x86_cpu_create(const struct x86_bus *bus, struct x86_cpu **out);
void x86_cpu_destroy(struct x86_cpu *cpu);
void x86_cpu_reset(struct x86_cpu *cpu);

/* Runs up to max_insns instructions (0: no limit) until something the caller must see. */
enum x86_run_result x86_cpu_run(struct x86_cpu *cpu, uint64_t max_insns);

/* Full RFLAGS with lazy flags folded in; setting it also checks the mode. */
uint64_t x86_get_rflags(struct x86_cpu *cpu);
void x86_set_rflags(struct x86_cpu *cpu, uint64_t v);

/* After changing CR0/CR4/EFER/segments from outside: recompute mode, flush TLB and caches. */
void x86_state_changed(struct x86_cpu *cpu);
/* After changing the debug fields (single_step, breakpoints) or RFLAGS.TF from outside. */
void x86_debug_changed(struct x86_cpu *cpu);
/* Drop decoded code for [gpa, gpa+len): call after writing guest RAM behind the CPU's back. */
void x86_invalidate_code(struct x86_cpu *cpu, uint64_t gpa, uint64_t len);

/* MSR access as the guest sees it: 0, or -EINVAL for an unknown MSR (#GP in the guest). */
X86_MUST_CHECK int x86_msr_read(struct x86_cpu *cpu, uint32_t index, uint64_t *value);
X86_MUST_CHECK int x86_msr_write(struct x86_cpu *cpu, uint32_t index, uint64_t value);

/* Linear → physical without side effects, for debuggers: 0 or -EFAULT. */
X86_MUST_CHECK int x86_translate(struct x86_cpu *cpu, uint64_t lin, bool write, uint64_t *gpa);

/* Disassembles one instruction at buf (in the CPU's current mode); returns its length or -EINVAL. */
int x86_disasm(const struct x86_cpu *cpu, const uint8_t *buf, size_t len, uint64_t rip, char *out, size_t out_len);
/* The interpreter's name for the current mode ("real", "prot32", "long64", ...). */
const char *x86_mode_name(unsigned mode);

/*
 * The x87/MMX/SSE state as a 512-byte FXSAVE image (the 64-bit REX.W layout when wide: FIP and FDP
 * as 64-bit offsets), FIP/FDP/FOP always included; and back: -EINVAL, nothing changed, when the
 * image's MXCSR has bits set that MXCSR_MASK does not allow.
 */
void x86_fpu_save(const struct x86_cpu *cpu, uint8_t img[512], bool wide);
X86_MUST_CHECK int x86_fpu_load(struct x86_cpu *cpu, const uint8_t img[512], bool wide);

/* Number of instruction-table rows (mnemonics with a handler), and the name of row i. */
unsigned x86_insn_table_size(void);
const char *x86_insn_table_name(unsigned i);
/* Zydis mnemonic of row i (for tests that walk the table). */
int x86_insn_table_mnemonic(unsigned i);

#endif
