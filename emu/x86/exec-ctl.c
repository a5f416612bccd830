/* SPDX-License-Identifier: MIT */
/* exec-ctl.c — data movement, stack, control transfer, flags, string and port-I/O instructions. */
#include "emu/x86/handlers.h"

/* ---- moves ---- */


void x86_h_mov(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint8_t t0 = in->op[0].type, t1 = in->op[1].type;
	if (t0 == X86_OT_CREG || t1 == X86_OT_CREG) {
		x86_mov_cr(cpu, in);
		return;
	}
	if (t0 == X86_OT_DREG || t1 == X86_OT_DREG) {
		x86_mov_dr(cpu, in);
		return;
	}
	if (t0 == X86_OT_SREG) {
		if (in->op[0].reg == X86_CS)
			x86_ud(cpu);
		x86_load_seg(cpu, in->op[0].reg, (uint16_t)x86_rd(cpu, in, 1));
		if (in->op[0].reg == X86_SS)
			cpu->intr_shadow = true;
		return;
	}
	x86_wr(cpu, in, 0, x86_rd(cpu, in, 1));
}

void x86_h_movzx(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_wr(cpu, in, 0, x86_rd(cpu, in, 1));
}

void x86_h_movsx(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_wr(cpu, in, 0, x86_sext(x86_rd(cpu, in, 1), in->op[1].size));
}

void x86_h_lea(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->op[1].type != X86_OT_MEM)
		x86_ud(cpu);
	x86_wr(cpu, in, 0, x86_ea(cpu, in));
}

void x86_h_xchg(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t a, b;
	if (in->op[0].type == X86_OT_MEM) {
		struct x86_rmw m;
		a = x86_rmw_read(cpu, in, &m);
		b = x86_rd(cpu, in, 1);
		x86_rmw_write(cpu, in, &m, b);
		x86_wr(cpu, in, 1, a);
		return;
	}
	a = x86_rd(cpu, in, 0);
	b = x86_rd(cpu, in, 1);
	x86_wr(cpu, in, 1, a);
	x86_wr(cpu, in, 0, b);
}

void x86_h_bswap(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_rd(cpu, in, 0);
	switch (in->op[0].size) {
	case 8: v = __builtin_bswap64(v); break;
	case 4: v = __builtin_bswap32((uint32_t)v); break;
	default: v = 0; break;
	}
	x86_wr(cpu, in, 0, v);
}

void x86_h_movbe(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint64_t v = x86_rd(cpu, in, 1);
	v = s == 8 ? __builtin_bswap64(v) : s == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
	x86_wr(cpu, in, 0, v);
}

void x86_h_cbw(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	x86_set_reg(cpu, X86_RAX, s, false, x86_sext(cpu->r[X86_RAX], s / 2));
}

void x86_h_cwd(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	bool neg = (cpu->r[X86_RAX] >> (s * 8 - 1)) & 1;
	x86_set_reg(cpu, X86_RDX, s, false, neg ? ~0ull : 0);
}

void x86_h_xlat(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t ea = (cpu->r[X86_RBX] + (cpu->r[X86_RAX] & 0xff)) & x86_mask(in->asz);
	x86_set_reg(cpu, X86_RAX, 1, false, x86_read_mem(cpu, in->seg, ea, 1));
}

void x86_h_lahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_arith(cpu) | 2;
	x86_set_reg(cpu, X86_RAX, 1, true, f & 0xd7);
}

void x86_h_sahf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t f = x86_arith(cpu) & X86_OF;
	f |= (cpu->r[X86_RAX] >> 8) & (X86_SF | X86_ZF | X86_AF | X86_PF | X86_CF);
	x86_set_arith(cpu, f);
}

void x86_h_nop(struct x86_cpu *cpu, const struct x86_insn *in)
{
}

void x86_h_clflush(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->op[0].type == X86_OT_MEM)
		(void)x86_op_lin(cpu, in, 1, false);
}

void x86_h_setcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_wr(cpu, in, 0, x86_cond(cpu, in->opcode & 15));
}

void x86_h_cmovcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t v = x86_rd(cpu, in, 1);
	if (x86_cond(cpu, in->opcode & 15))
		x86_wr(cpu, in, 0, v);
	else if (in->op[0].size == 4)
		cpu->r[in->op[0].reg] &= 0xffffffffull;
}

/* ---- stack ---- */

uint64_t x86_sp_mask(const struct x86_cpu *cpu)
{
	return x86_mask(cpu->stack_size);
}

static void set_sp(struct x86_cpu *cpu, uint64_t v)
{
	x86_set_reg(cpu, X86_RSP, cpu->stack_size, false, v);
}

void x86_push(struct x86_cpu *cpu, unsigned size, uint64_t v)
{
	uint64_t sp = (cpu->r[X86_RSP] - size) & x86_sp_mask(cpu);
	x86_write_mem(cpu, X86_SS, sp, size, v);
	set_sp(cpu, sp);
}

uint64_t x86_pop(struct x86_cpu *cpu, unsigned size)
{
	uint64_t sp = cpu->r[X86_RSP] & x86_sp_mask(cpu);
	uint64_t v = x86_read_mem(cpu, X86_SS, sp, size);
	set_sp(cpu, sp + size);
	return v;
}

void x86_h_push(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	uint64_t v = in->op[0].type == X86_OT_IMM ? in->imm : x86_rd(cpu, in, 0);
	x86_push(cpu, s, v & x86_mask(s));
}

void x86_h_pop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	uint64_t old = cpu->r[X86_RSP], v;
	v = x86_read_mem(cpu, X86_SS, old & x86_sp_mask(cpu), s);
	if (in->op[0].type == X86_OT_SREG) {
		x86_load_seg(cpu, in->op[0].reg, (uint16_t)v);
		set_sp(cpu, old + s);
		if (in->op[0].reg == X86_SS)
			cpu->intr_shadow = true;
		return;
	}
	set_sp(cpu, old + s);
	if (in->op[0].type == X86_OT_MEM) {
		uint64_t lin = x86_op_lin(cpu, in, s, true);
		cpu->r[X86_RSP] = old;
		x86_write_lin(cpu, lin, s, v);
		set_sp(cpu, old + s);
		return;
	}
	x86_wr(cpu, in, 0, v);
}

void x86_h_pusha(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	uint64_t sp = cpu->r[X86_RSP];
	for (int r = 0; r < 8; r++)
		x86_push(cpu, s, r == X86_RSP ? sp : cpu->r[r]);
}

void x86_h_popa(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	for (int r = 7; r >= 0; r--) {
		uint64_t v = x86_pop(cpu, s);
		if (r != X86_RSP)
			x86_set_reg(cpu, r, s, false, v);
	}
}

/* pushf, popf, int n and cli/sti in virtual-8086 mode need IOPL 3 (#GP otherwise). */
static void v86_iopl(struct x86_cpu *cpu)
{
	if ((cpu->rflags & X86_VM) && ((cpu->rflags >> 12) & 3) != 3)
		x86_gp0(cpu);
}

void x86_h_pushf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	v86_iopl(cpu);
	x86_push(cpu, in->osz, x86_get_rflags(cpu) & ~(uint64_t)(X86_VM | X86_RF) & x86_mask(in->osz));
}

void x86_h_popf(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	uint64_t v, old;
	v86_iopl(cpu);
	v = x86_pop(cpu, s);
	old = x86_get_rflags(cpu);
	uint64_t chg = X86_ARITH_FLAGS | X86_TF | X86_DF | X86_NT | X86_AC | X86_ID | X86_IF | X86_IOPL;
	unsigned iopl = (old >> 12) & 3;
	if (cpu->mode != X86_MODE_REAL) {
		if (cpu->cpl > 0)
			chg &= ~(uint64_t)X86_IOPL;
		if (cpu->cpl > iopl)
			chg &= ~(uint64_t)X86_IF;
	}
	if (s == 2)
		chg &= 0xffff;
	x86_set_rflags(cpu, (old & ~chg) | (v & chg));
}

void x86_h_enter(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz, level = in->imm2 & 31;
	uint64_t size = in->imm & 0xffff, frame, bp = cpu->r[X86_RBP];
	x86_push(cpu, s, bp);
	frame = cpu->r[X86_RSP] & x86_sp_mask(cpu);
	for (unsigned i = 1; i < level; i++) {
		bp = (bp - s) & x86_mask(cpu->stack_size);
		x86_push(cpu, s, x86_read_mem(cpu, X86_SS, bp, s));
	}
	if (level)
		x86_push(cpu, s, frame);
	x86_set_reg(cpu, X86_RBP, s, false, frame);
	set_sp(cpu, cpu->r[X86_RSP] - size);
}

void x86_h_leave(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->osz;
	uint64_t bp = cpu->r[X86_RBP] & x86_sp_mask(cpu);
	uint64_t v = x86_read_mem(cpu, X86_SS, bp, s);
	set_sp(cpu, bp + s);
	x86_set_reg(cpu, X86_RBP, s, false, v);
}

/* ---- control transfer ---- */

static void branch(struct x86_cpu *cpu, uint64_t target, unsigned osz)
{
	if (cpu->mode == X86_MODE_LONG64) {
		if (osz == 8 && (uint64_t)((int64_t)(target << 16) >> 16) != target)
			x86_gp0(cpu);
		target &= x86_mask(osz);
	} else {
		target &= x86_mask(osz);
		if (target > cpu->seg[X86_CS].limit)
			x86_gp0(cpu);
	}
	cpu->next_rip = target;
}

void x86_branch_rel(struct x86_cpu *cpu, const struct x86_insn *in)
{
	branch(cpu, cpu->next_rip + in->imm, in->osz);
}

void x86_h_jcc(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (x86_cond(cpu, in->opcode & 15))
		branch(cpu, cpu->next_rip + in->imm, in->osz);
}

void x86_h_jcxz(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (!(cpu->r[X86_RCX] & x86_mask(in->asz)))
		branch(cpu, cpu->next_rip + in->imm, in->osz);
}

void x86_h_loop(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t c = (cpu->r[X86_RCX] - 1) & x86_mask(in->asz);
	bool take = c != 0;
	x86_set_reg(cpu, X86_RCX, in->asz, false, c);
	if (in->opcode == 0xe1)
		take = take && (x86_arith(cpu) & X86_ZF);
	else if (in->opcode == 0xe0)
		take = take && !(x86_arith(cpu) & X86_ZF);
	if (take)
		branch(cpu, cpu->next_rip + in->imm, in->osz);
}

static bool is_far_indirect(const struct x86_insn *in)
{
	return in->opcode == 0xff && (in->modrm_reg == 3 || in->modrm_reg == 5);
}

static void far_target(struct x86_cpu *cpu, const struct x86_insn *in, uint16_t *sel, uint64_t *off)
{
	unsigned os;
	uint64_t lin;
	if (in->op[0].type == X86_OT_PTR) {
		*sel = (uint16_t)in->imm2;
		*off = in->imm;
		return;
	}
	if (in->op[0].type != X86_OT_MEM)
		x86_ud(cpu);
	os = in->op[0].size - 2;
	lin = x86_op_lin(cpu, in, os + 2, false);
	*off = x86_read_lin(cpu, lin, os);
	*sel = (uint16_t)x86_read_lin(cpu, lin + os, 2);
}

void x86_h_jmp(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (in->op[0].type == X86_OT_PTR || is_far_indirect(in)) {
		uint16_t sel;
		uint64_t off;
		far_target(cpu, in, &sel, &off);
		x86_far_jump(cpu, sel, off, false, in->op[0].type == X86_OT_PTR ? in->osz : in->op[0].size - 2u);
		return;
	}
	if (in->op[0].type == X86_OT_IMM)
		branch(cpu, cpu->next_rip + in->imm, in->osz);
	else
		branch(cpu, x86_rd(cpu, in, 0), in->osz);
}

void x86_h_call(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t target, ret = cpu->next_rip;
	if (in->op[0].type == X86_OT_PTR || is_far_indirect(in)) {
		uint16_t sel;
		uint64_t off;
		far_target(cpu, in, &sel, &off);
		x86_far_jump(cpu, sel, off, true, in->op[0].type == X86_OT_PTR ? in->osz : in->op[0].size - 2u);
		return;
	}
	target = in->op[0].type == X86_OT_IMM ? cpu->next_rip + in->imm : x86_rd(cpu, in, 0);
	branch(cpu, target, in->osz);
	x86_push(cpu, in->osz, ret);
}

void x86_h_ret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint16_t extra = in->nops ? (uint16_t)in->imm : 0;
	uint64_t sp, target;
	if (in->opcode == 0xca || in->opcode == 0xcb) {
		x86_far_ret(cpu, in->osz, extra);
		return;
	}
	sp = cpu->r[X86_RSP] & x86_sp_mask(cpu);
	target = x86_read_mem(cpu, X86_SS, sp, in->osz);
	branch(cpu, target, in->osz);
	set_sp(cpu, sp + in->osz + extra);
}

void x86_h_int(struct x86_cpu *cpu, const struct x86_insn *in)
{
	v86_iopl(cpu);
	x86_deliver(cpu, (int)(in->imm & 0xff), false, 0, X86_EV_SOFT);
}

void x86_h_int3(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_deliver(cpu, X86_BP, false, 0, X86_EV_SOFT_EXC);
}

void x86_h_into(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (x86_arith(cpu) & X86_OF)
		x86_deliver(cpu, X86_OFV, false, 0, X86_EV_SOFT_EXC);
}

void x86_h_int1(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_deliver(cpu, X86_DB, false, 0, X86_EV_ICEBP);
}

void x86_h_iret(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_iret(cpu, in->osz);
}

void x86_h_ud(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_ud(cpu);
}

void x86_h_bound(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	int64_t idx = (int64_t)x86_sext(x86_rd(cpu, in, 0), s), lo, hi;
	uint64_t lin;
	if (in->op[1].type != X86_OT_MEM)
		x86_ud(cpu);
	lin = x86_op_lin(cpu, in, 2 * s, false);
	lo = (int64_t)x86_sext(x86_read_lin(cpu, lin, s), s);
	hi = (int64_t)x86_sext(x86_read_lin(cpu, lin + s, s), s);
	if (idx < lo || idx > hi)
		x86_raise(cpu, X86_BR, 0, false);
}

/* ---- flags ---- */

static void set_cf(struct x86_cpu *cpu, int v)
{
	uint64_t f = x86_arith(cpu);
	if (v < 0)
		f ^= X86_CF;
	else
		f = (f & ~(uint64_t)X86_CF) | (v ? X86_CF : 0);
	x86_set_arith(cpu, f);
}

void x86_h_clc(struct x86_cpu *cpu, const struct x86_insn *in) { set_cf(cpu, 0); }
void x86_h_stc(struct x86_cpu *cpu, const struct x86_insn *in) { set_cf(cpu, 1); }
void x86_h_cmc(struct x86_cpu *cpu, const struct x86_insn *in) { set_cf(cpu, -1); }
void x86_h_cld(struct x86_cpu *cpu, const struct x86_insn *in) { cpu->rflags &= ~(uint64_t)X86_DF; }
void x86_h_std(struct x86_cpu *cpu, const struct x86_insn *in) { cpu->rflags |= X86_DF; }
/* stac/clac: #UD (not #GP) above CPL 0 */
void x86_h_clac(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl)
		x86_ud(cpu);
	cpu->rflags &= ~(uint64_t)X86_AC;
}

void x86_h_stac(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl)
		x86_ud(cpu);
	cpu->rflags |= X86_AC;
}

static void check_iopl(struct x86_cpu *cpu)
{
	if (cpu->mode != X86_MODE_REAL && cpu->cpl > ((cpu->rflags >> 12) & 3))
		x86_gp0(cpu);
}

void x86_h_cli(struct x86_cpu *cpu, const struct x86_insn *in)
{
	check_iopl(cpu);
	cpu->rflags &= ~(uint64_t)X86_IF;
}

void x86_h_sti(struct x86_cpu *cpu, const struct x86_insn *in)
{
	check_iopl(cpu);
	if (!(cpu->rflags & X86_IF)) {
		cpu->intr_shadow = true;
		cpu->irq_check = true;
	}
	cpu->rflags |= X86_IF;
}

/* ---- strings ---- */

#define REP_CHUNK 4096u	/* iterations per execution before giving interrupts a chance */

static unsigned elem_size(const struct x86_insn *in)
{
	return in->osz ? in->osz : 1;
}

static void advance(struct x86_cpu *cpu, const struct x86_insn *in, int reg, unsigned size)
{
	uint64_t d = (cpu->rflags & X86_DF) ? (uint64_t)-(int64_t)size : size;
	x86_set_reg(cpu, reg, in->asz, false, cpu->r[reg] + d);
}

typedef bool (*string_step)(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size);

/* The host address of lin when the TLB maps its page for this access (RAM, no watchpoint, for
 * writes not a code page), else NULL. */
static uint8_t *string_host(struct x86_cpu *cpu, const struct x86_tlbe *tlb, uint64_t lin)
{
	const struct x86_tlbe *e = &tlb[(lin >> 12) & (X86_TLB_SIZE - 1)];
	return e->tag == ((lin & ~0xfffull) | cpu->tlb_user) ? (uint8_t *)(uintptr_t)(lin + e->addend) : NULL;
}

/* rep movs/stos in 64-bit mode with DF clear, up to max elements (and RCX): those that lie in one page on
 * each side, in one go. Anything else (no TLB entry: a fault, MMIO, a watchpoint or a code page
 * to come; an element across a page; a copy onto its own source ahead, which element order
 * smears) is left to the element-by-element path. Returns the elements done. */
static uint64_t string_fast(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size, bool movs, uint64_t max)
{
	uint64_t dl = cpu->r[X86_RDI], sl = 0, k, n;
	uint8_t *d, *src = NULL;
	if (cpu->mode != X86_MODE_LONG64 || in->asz != 8 || (cpu->rflags & X86_DF))
		return 0;
	k = (4096 - (dl & 0xfff)) / size;
	if (movs) {
		sl = cpu->r[X86_RSI] + (in->seg >= X86_FS ? cpu->seg[in->seg].base : 0);
		k = k < (4096 - (sl & 0xfff)) / size ? k : (4096 - (sl & 0xfff)) / size;
	}
	k = k < max ? k : max;
	k = k < cpu->r[X86_RCX] ? k : cpu->r[X86_RCX];
	n = k * size;
	if (!k || !(d = string_host(cpu, cpu->tlb_w, dl)) || (movs && !(src = string_host(cpu, cpu->tlb_r, sl))))
		return 0;
	if (movs && d > src && d < src + n)
		return 0;
	if (movs)
		memmove(d, src, n);
	else if (size == 1)
		memset(d, (int)(cpu->r[X86_RAX] & 0xff), n);
	else
		for (uint64_t i = 0; i < n; i += size)
			x86_store_host(d + i, size, cpu->r[X86_RAX]);
	cpu->r[X86_RDI] += n;
	if (movs)
		cpu->r[X86_RSI] += n;
	cpu->r[X86_RCX] -= k;
	return k;
}

static bool step_movs(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size);
static bool step_stos(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size);

/* Runs one element (no rep) or a rep loop in chunks; a step returns false to stop (repe/repne). */
static void string_run(struct x86_cpu *cpu, const struct x86_insn *in, string_step step)
{
	unsigned size = elem_size(in);
	uint64_t am = x86_mask(in->asz);
	if (!(in->pfx & (X86_P_REP | X86_P_REPNE))) {
		step(cpu, in, size);
		return;
	}
	for (unsigned n = 0; cpu->r[X86_RCX] & am; n++, cpu->icount++) {	/* iterations count as work */
		uint64_t k;
		if (n == REP_CHUNK) {
			cpu->next_rip = cpu->rip;	/* resume later: interrupts may come in between */
			cpu->end_block = true;
			return;
		}
		if ((step == step_movs || step == step_stos) &&
		    (k = string_fast(cpu, in, size, step == step_movs, REP_CHUNK - n))) {
			n += (unsigned)k - 1;
			cpu->icount += k - 1;
			continue;
		}
		bool go = step(cpu, in, size);
		x86_set_reg(cpu, X86_RCX, in->asz, false, cpu->r[X86_RCX] - 1);
		if (!go)
			return;
	}
}

static bool rep_cond(struct x86_cpu *cpu, const struct x86_insn *in)
{
	bool zf = x86_arith(cpu) & X86_ZF;
	if (in->pfx & X86_P_REPNE)
		return !zf;
	return zf;
}

static bool step_movs(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint64_t am = x86_mask(in->asz);
	uint64_t v = x86_read_mem(cpu, in->seg, cpu->r[X86_RSI] & am, size);
	x86_write_mem(cpu, X86_ES, cpu->r[X86_RDI] & am, size, v);
	advance(cpu, in, X86_RSI, size);
	advance(cpu, in, X86_RDI, size);
	return true;
}

static bool step_stos(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	x86_write_mem(cpu, X86_ES, cpu->r[X86_RDI] & x86_mask(in->asz), size, cpu->r[X86_RAX]);
	advance(cpu, in, X86_RDI, size);
	return true;
}

static bool step_lods(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint64_t v = x86_read_mem(cpu, in->seg, cpu->r[X86_RSI] & x86_mask(in->asz), size);
	x86_set_reg(cpu, X86_RAX, size, false, v);
	advance(cpu, in, X86_RSI, size);
	return true;
}

static bool step_scas(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint64_t a = cpu->r[X86_RAX] & x86_mask(size);
	uint64_t b = x86_read_mem(cpu, X86_ES, cpu->r[X86_RDI] & x86_mask(in->asz), size);
	x86_lf_set(cpu, X86_LF_SUB, size, (a - b) & x86_mask(size), a, b);
	advance(cpu, in, X86_RDI, size);
	return rep_cond(cpu, in);
}

static bool step_cmps(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint64_t am = x86_mask(in->asz);
	uint64_t a = x86_read_mem(cpu, in->seg, cpu->r[X86_RSI] & am, size);
	uint64_t b = x86_read_mem(cpu, X86_ES, cpu->r[X86_RDI] & am, size);
	x86_lf_set(cpu, X86_LF_SUB, size, (a - b) & x86_mask(size), a, b);
	advance(cpu, in, X86_RSI, size);
	advance(cpu, in, X86_RDI, size);
	return rep_cond(cpu, in);
}

static bool step_ins(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint16_t port = (uint16_t)cpu->r[X86_RDX];
	uint64_t lin = x86_lin(cpu, X86_ES, cpu->r[X86_RDI] & x86_mask(in->asz), size, true);
	uint64_t v;
	(void)x86_read_lin(cpu, lin, size);	/* fault before the port is read */
	cpu->nr_pio++;
	v = cpu->bus.pio_read(cpu->bus.opaque, port, size);
	x86_write_lin(cpu, lin, size, v);
	advance(cpu, in, X86_RDI, size);
	return true;
}

static bool step_outs(struct x86_cpu *cpu, const struct x86_insn *in, unsigned size)
{
	uint64_t v = x86_read_mem(cpu, in->seg, cpu->r[X86_RSI] & x86_mask(in->asz), size);
	cpu->nr_pio++;
	cpu->bus.pio_write(cpu->bus.opaque, (uint16_t)cpu->r[X86_RDX], size, v);
	advance(cpu, in, X86_RSI, size);
	return true;
}

void x86_h_movs(struct x86_cpu *cpu, const struct x86_insn *in) { string_run(cpu, in, step_movs); }
void x86_h_stos(struct x86_cpu *cpu, const struct x86_insn *in) { string_run(cpu, in, step_stos); }
void x86_h_lods(struct x86_cpu *cpu, const struct x86_insn *in) { string_run(cpu, in, step_lods); }
void x86_h_scas(struct x86_cpu *cpu, const struct x86_insn *in) { string_run(cpu, in, step_scas); }
void x86_h_cmps(struct x86_cpu *cpu, const struct x86_insn *in) { string_run(cpu, in, step_cmps); }

void x86_h_ins(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_io_check(cpu, (uint16_t)cpu->r[X86_RDX], elem_size(in));
	string_run(cpu, in, step_ins);
}

void x86_h_outs(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_io_check(cpu, (uint16_t)cpu->r[X86_RDX], elem_size(in));
	string_run(cpu, in, step_outs);
	cpu->end_block = true;
	cpu->irq_check = true;
}

/* ---- port I/O ---- */

void x86_h_in(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[0].size;
	uint16_t port = (uint16_t)x86_rd(cpu, in, 1);
	x86_io_check(cpu, port, s);
	cpu->nr_pio++;
	x86_set_reg(cpu, X86_RAX, s, false, cpu->bus.pio_read(cpu->bus.opaque, port, s));
}

void x86_h_out(struct x86_cpu *cpu, const struct x86_insn *in)
{
	unsigned s = in->op[1].size;
	uint16_t port = (uint16_t)x86_rd(cpu, in, 0);
	x86_io_check(cpu, port, s);
	cpu->nr_pio++;
	cpu->bus.pio_write(cpu->bus.opaque, port, s, cpu->r[X86_RAX] & x86_mask(s));
	cpu->irq_check = true;
}
