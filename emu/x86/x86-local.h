/* SPDX-License-Identifier: MIT */
/* x86-local.h — private to emu/x86: decoded instructions, handlers, the memory fast path. */
#ifndef VMSCOPE_EMU_X86_LOCAL_H
#define VMSCOPE_EMU_X86_LOCAL_H

#include <inttypes.h>
#include <string.h>

#include "emu/x86/x86.h"

/* ---- decoded instructions ---- */

enum x86_ot { X86_OT_NONE = 0, X86_OT_REG, X86_OT_MEM, X86_OT_IMM, X86_OT_SREG, X86_OT_CREG, X86_OT_DREG,
	      X86_OT_PTR, X86_OT_ST, X86_OT_MMX, X86_OT_XMM, X86_OT_OTHER };

struct x86_opnd {
	uint8_t type;		/* X86_OT_* */
	uint8_t size;		/* bytes; 0 for memory operands over 255 bytes (fxsave: the handler knows) */
	uint8_t reg;		/* GPR / segment / control / debug register number; ST(i): i; MMX/XMM number */
	uint8_t hi8;		/* AH, CH, DH, BH */
};

#define X86_NOREG 0xff
#define X86_RIPREL 16

/* Instruction-table flags */
#define X86_IF_BRANCH	0x01	/* may change RIP non-sequentially: ends a block */
#define X86_IF_END	0x02	/* changes mode/state the decoder depends on: ends a block */
#define X86_IF_PRIV	0x04	/* CPL 0 only (#GP otherwise) */
#define X86_IF_IO	0x08	/* port I/O */

/* Prefix bits in x86_insn.pfx */
#define X86_P_REP	0x01
#define X86_P_REPNE	0x02
#define X86_P_LOCK	0x04

struct x86_cpu;
struct x86_insn;
typedef void (*x86_handler)(struct x86_cpu *cpu, const struct x86_insn *in);

struct x86_insn {
	x86_handler fn;		/* the handler: runs with cpu->rip and cpu->next_rip set for this instruction */
	x86_handler entry;	/* in a block: what dispatch calls (fn itself, or x86_enter first) */
	uint16_t mnem;		/* ZydisMnemonic */
	uint8_t len;
	uint8_t osz;		/* operand size, bytes */
	uint8_t asz;		/* address size, bytes */
	uint8_t pfx;
	uint8_t seg;		/* effective segment of the memory operand (or DS for strings) */
	uint8_t base, index, scale;	/* X86_NOREG when absent; base X86_RIPREL for rip-relative */
	uint8_t nops;
	uint8_t flags;		/* X86_IF_* */
	uint8_t opcode;
	uint8_t modrm_reg;	/* ModRM.reg: tells far from near indirect jmp/call */
	uint8_t modrm;		/* the whole ModRM byte (0 without one): x87 runs the exact form on the host */
	struct x86_opnd op[3];
	uint16_t boff;		/* in a block: offset from the block's first byte */
	int64_t disp;
	uint64_t imm;		/* first immediate, sign/zero extended per Zydis; relative: displacement */
	uint64_t imm2;		/* second immediate (enter, far pointer offset) */
};

struct x86_insn_info {
	x86_handler fn;
	uint8_t flags;
};
extern const struct x86_insn_info x86_insn_infos[];	/* indexed by ZydisMnemonic */
extern const unsigned x86_nr_mnemonics;

/*
 * Threaded dispatch. The register-only handlers of exec-fast.c end with x86_chain(), which
 * tail-calls the next decoded instruction's entry, so a run of them never returns to the run
 * loop. In a block, an instruction's entry is its handler itself when the handler needs neither
 * cpu->rip nor cpu->next_rip (x86_is_rip_free(): the non-branch handlers of exec-fast.c, which
 * cannot fault either), else x86_enter(), which sets both from the block's start
 * (cpu->blk_rip + boff) and then calls fn. So RIP is only written for instructions that may look
 * at it. Every decoded instruction array (a block, or a lone instruction) ends with a sentinel
 * (length 0) where a chain stops; cpu->resume tells the loop where to go on. Handlers outside
 * exec-fast.c need not care about any of this: they find cpu->rip and cpu->next_rip as always,
 * and return. A handler that changes cpu->next_rip must end the block (an X86_IF_BRANCH or
 * X86_IF_END row, or cpu->end_block = true).
 */
static inline __attribute__((always_inline)) void x86_chain(struct x86_cpu *cpu, const struct x86_insn *in)
{
	const struct x86_insn *n = in + 1;
	cpu->resume = n + 1;
	n->entry(cpu, n);
}

void x86_enter(struct x86_cpu *cpu, const struct x86_insn *in);
bool x86_is_rip_free(x86_handler fn);

/* The sentinel after the last instruction of a decoded array. */
void x86_insn_end(struct x86_insn *in);

/* Decodes one instruction at bytes (max 15) in the CPU's current mode: 0 or -EINVAL (#UD). */
int x86_decode(const struct x86_cpu *cpu, const uint8_t *bytes, unsigned len, struct x86_insn *in);
const char *x86_mnemonic_name(unsigned mnem);

/* ---- exceptions ---- */

/* Raise a guest exception: never returns (longjmp to the run loop). */
__attribute__((noreturn)) void x86_raise(struct x86_cpu *cpu, int vec, uint32_t err, bool has_err);
__attribute__((noreturn)) void x86_raise_err(struct x86_cpu *cpu, int vec, uint32_t err);
__attribute__((noreturn)) void x86_ud(struct x86_cpu *cpu);
__attribute__((noreturn)) void x86_gp0(struct x86_cpu *cpu);
/* Deliver an exception or interrupt through the IVT/IDT. soft: int n / int3 / into (rip = next). */
void x86_deliver(struct x86_cpu *cpu, int vec, bool has_err, uint32_t err, int kind);
enum { X86_EV_EXC = 0, X86_EV_EXT, X86_EV_SOFT, X86_EV_SOFT_EXC /* int3, into */, X86_EV_ICEBP };
void x86_unimplemented(struct x86_cpu *cpu, const struct x86_insn *in);

/* ---- mode / system ---- */
void x86_update_mode(struct x86_cpu *cpu);
void x86_tlb_flush(struct x86_cpu *cpu, bool keep_global);
void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin);
void x86_write_cr0(struct x86_cpu *cpu, uint64_t v);
void x86_write_cr3(struct x86_cpu *cpu, uint64_t v);
void x86_write_cr4(struct x86_cpu *cpu, uint64_t v);
void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4]);
uint64_t x86_rdtsc(struct x86_cpu *cpu);
uint64_t x86_clock_ns(const struct x86_cpu *cpu);	/* what the TSC counts: bus.clock_ns or CLOCK_MONOTONIC */
bool x86_exec_bp_at(const struct x86_cpu *cpu, uint64_t lin);	/* cpu.c: a debugger execute breakpoint */

/* ---- segmentation ---- */
void x86_load_seg(struct x86_cpu *cpu, int sreg, uint16_t sel);	/* mov sreg / pop sreg semantics */
void x86_load_seg_real(struct x86_cpu *cpu, int sreg, uint16_t sel);
/* LDTR from the GDT descriptor for sel (not null): faults with vec (#GP for lldt, #TS in a task
 * switch), np_vec when the descriptor is not present. */
void x86_load_ldt_desc(struct x86_cpu *cpu, uint16_t sel, int vec, int np_vec);
/* Reads the 8-byte descriptor for sel (from the GDT or LDT); raises #GP(sel) if outside the table. */
uint64_t x86_read_desc(struct x86_cpu *cpu, uint16_t sel, int vec);
void x86_desc_to_seg(uint64_t lo, uint64_t hi, uint16_t sel, struct x86_seg *s);
void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t off, bool call, unsigned osz);
void x86_far_ret(struct x86_cpu *cpu, unsigned osz, uint16_t pop_extra);
void x86_iret(struct x86_cpu *cpu, unsigned osz);
void x86_set_cs_real(struct x86_cpu *cpu, uint16_t sel);
/* Hardware task switch to the 32-bit TSS sel (task.c): eip is the old task's resume point;
 * an error code (has_err) is pushed on the new task's stack, as an exception through a task gate. */
enum { X86_TS_JMP = 0, X86_TS_CALL, X86_TS_IRET, X86_TS_INT };
void x86_task_switch(struct x86_cpu *cpu, uint16_t sel, int reason, uint64_t eip, bool has_err, uint32_t err);
/* Loads a data segment register (ES, DS, FS, GS) with the checks of mov, raising vec (#GP, #TS). */
void x86_load_data_seg(struct x86_cpu *cpu, int sreg, uint16_t sel, int vec);
void x86_load_ss(struct x86_cpu *cpu, uint16_t sel, unsigned cpl, int vec);

/* ---- memory ---- */
uint64_t x86_read_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, int acc);
void x86_write_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v);
uint8_t *x86_lock_host(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t *gpa, bool *code);
/* System accesses (descriptor tables, TSS, IDT): supervisor, no TLB. */
uint64_t x86_read_sys(struct x86_cpu *cpu, uint64_t lin, unsigned size);
void x86_write_sys(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v);
uint64_t x86_seg_check(struct x86_cpu *cpu, int sreg, uint64_t ea, unsigned size, bool write);
/* Fetch up to len code bytes at linear lin (stops at unmapped pages after the first byte). */
unsigned x86_fetch_bytes(struct x86_cpu *cpu, uint64_t lin, uint8_t *buf, unsigned len, uint64_t *gpa);
enum { X86_ACC_R = 0, X86_ACC_W = 1, X86_ACC_X = 2 };
int x86_walk(struct x86_cpu *cpu, uint64_t lin, int acc, bool user, bool set_ad, uint64_t *gpa, int *writable,
	     uint32_t *err, bool *global, bool *user_page);
uint64_t x86_phys_read(struct x86_cpu *cpu, uint64_t gpa, unsigned size);
void x86_phys_write(struct x86_cpu *cpu, uint64_t gpa, unsigned size, uint64_t v);
void x86_check_watch(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool write);

/* ---- code cache ---- */
int x86_blocks_create(struct x86_cpu *cpu);
void x86_blocks_destroy(struct x86_cpu *cpu);
void x86_blocks_flush(struct x86_cpu *cpu);
bool x86_code_write_hits(struct x86_cpu *cpu, uint64_t gpa, unsigned size);

/* ---- port I/O ---- */
void x86_io_check(struct x86_cpu *cpu, uint16_t port, unsigned size);

/* ---- registers ---- */

static inline uint64_t x86_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t x86_sext(uint64_t v, unsigned size)
{
	switch (size) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

static inline __attribute__((always_inline)) uint64_t x86_get_reg(const struct x86_cpu *cpu, unsigned r, unsigned size, bool hi8)
{
	if (hi8)
		return (cpu->r[r] >> 8) & 0xff;
	return cpu->r[r] & x86_mask(size);
}

static inline __attribute__((always_inline)) void x86_set_reg(struct x86_cpu *cpu, unsigned r, unsigned size, bool hi8, uint64_t v)
{
	uint64_t *p = &cpu->r[r];
	switch (size) {
	case 1:
		if (hi8)
			*p = (*p & ~0xff00ull) | ((v & 0xff) << 8);
		else
			*p = (*p & ~0xffull) | (v & 0xff);
		break;
	case 2: *p = (*p & ~0xffffull) | (v & 0xffff); break;
	case 4: *p = (uint32_t)v; break;
	default: *p = v; break;
	}
}

/* ---- lazy flags ---- */

static inline void x86_lf_set(struct x86_cpu *cpu, int op, unsigned size, uint64_t res, uint64_t a, uint64_t b)
{
	cpu->lf.op = (uint8_t)op;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.res = res;
	cpu->lf.a = a;
	cpu->lf.b = b;
}

uint64_t x86_lf_eval(const struct x86_cpu *cpu);	/* the six arithmetic flags */

static inline uint64_t x86_arith(struct x86_cpu *cpu)
{
	if (cpu->lf.op == X86_LF_NONE)
		return cpu->rflags & X86_ARITH_FLAGS;
	return x86_lf_eval(cpu);
}

/* Replace the arithmetic flags with f (eager evaluation). */
static inline void x86_set_arith(struct x86_cpu *cpu, uint64_t f)
{
	cpu->rflags = (cpu->rflags & ~(uint64_t)X86_ARITH_FLAGS) | (f & X86_ARITH_FLAGS);
	cpu->lf.op = X86_LF_NONE;
}

bool x86_lf_cf(const struct x86_cpu *cpu);

static inline bool x86_cf(struct x86_cpu *cpu)
{
	const struct x86_lazy *l = &cpu->lf;
	uint64_t m = x86_mask(l->size);
	switch (l->op) {
	case X86_LF_NONE: return cpu->rflags & X86_CF;
	case X86_LF_LOGIC: return false;
	case X86_LF_INC: case X86_LF_DEC: return l->b;
	case X86_LF_ADD: return (l->res & m) < (l->a & m);
	case X86_LF_SUB: return (l->a & m) < (l->b & m);
	case X86_LF_ROT: return l->rot_flags & 1;
	default: return x86_lf_cf(cpu);
	}
}

bool x86_cond(struct x86_cpu *cpu, unsigned cc);
uint64_t x86_szp(uint64_t res, unsigned size);

/* Real mode or virtual-8086 mode: segments are base = selector << 4, no descriptors. */
static inline bool x86_real_or_v86(const struct x86_cpu *cpu)
{
	return cpu->mode == X86_MODE_REAL || (cpu->rflags & X86_VM);
}

/* ---- memory fast path ---- */

static inline uint64_t x86_load_host(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void x86_store_host(uint8_t *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static inline uint64_t x86_read_lin(struct x86_cpu *cpu, uint64_t lin, unsigned size)
{
	struct x86_tlbe *e = &cpu->tlb_r[(lin >> 12) & (X86_TLB_SIZE - 1)];
	if (__builtin_expect(e->tag == ((lin & ~0xfffull) | cpu->tlb_user) && (lin & 0xfff) + size <= 4096, 1))
		return x86_load_host((const uint8_t *)(uintptr_t)(lin + e->addend), size);
	return x86_read_slow(cpu, lin, size, X86_ACC_R);
}

static inline void x86_write_lin(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v)
{
	struct x86_tlbe *e = &cpu->tlb_w[(lin >> 12) & (X86_TLB_SIZE - 1)];
	if (__builtin_expect(e->tag == ((lin & ~0xfffull) | cpu->tlb_user) && (lin & 0xfff) + size <= 4096, 1)) {
		x86_store_host((uint8_t *)(uintptr_t)(lin + e->addend), size, v);
		return;
	}
	x86_write_slow(cpu, lin, size, v);
}

/* Segment base + effective address, with the limit check outside 64-bit mode. */
static inline uint64_t x86_lin(struct x86_cpu *cpu, int sreg, uint64_t ea, unsigned size, bool write)
{
	if (cpu->mode == X86_MODE_LONG64)
		return (sreg >= X86_FS ? cpu->seg[sreg].base : 0) + ea;
	return x86_seg_check(cpu, sreg, ea, size, write);
}

static inline uint64_t x86_read_mem(struct x86_cpu *cpu, int sreg, uint64_t ea, unsigned size)
{
	return x86_read_lin(cpu, x86_lin(cpu, sreg, ea, size, false), size);
}

static inline void x86_write_mem(struct x86_cpu *cpu, int sreg, uint64_t ea, unsigned size, uint64_t v)
{
	x86_write_lin(cpu, x86_lin(cpu, sreg, ea, size, true), size, v);
}

/* ---- stack ---- */
void x86_push(struct x86_cpu *cpu, unsigned size, uint64_t v);
uint64_t x86_pop(struct x86_cpu *cpu, unsigned size);
uint64_t x86_sp_mask(const struct x86_cpu *cpu);

#endif
