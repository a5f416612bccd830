/* SPDX-License-Identifier: MIT */
/*
 * cpu.c — CPU lifetime, RFLAGS, the decoded-block cache (blocks keyed by physical address and
 * mode, chained per code page; a per-page byte bitmap detects self-modifying writes) and the run
 * loop: blocks between interrupt checks, or one instruction at a time when debugging.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "emu/x86/handlers.h"
#include "emu/x86/trace-events.h"

#define BLOCK_MAX 32
#define HASH_BITS 14
#define HASH_SIZE (1u << HASH_BITS)
#define ARENA_SIZE (16u << 20)
#define POLL_EVERY 64

/* A block's last successor, so its sentinel need not hash into the jump cache (same checks). */
struct x86_link {
	uint64_t lin;
	uint32_t key, gen;
	struct x86_block *blk;
};

struct x86_block {
	uint64_t gpa;
	uint32_t key;
	uint16_t n;
	uint16_t nbytes;
	bool valid;
	struct x86_block *hnext, *pnext;
	struct x86_link link;
	struct x86_insn insns[];
};

struct x86_codepage {
	uint64_t bits[64];
	struct x86_block *blocks;
};

#define JC_SIZE 4096

/* Linear RIP (+ mode, CPL-3 bit) → block, valid while no TLB flush happened (gen). */
struct x86_jc {
	uint64_t lin;
	uint32_t key, gen;
	struct x86_block *blk;
};

struct x86_blocks {
	struct x86_jc jc[JC_SIZE];
	uint8_t *arena;
	size_t used;
	struct x86_block *hash[HASH_SIZE];
	struct x86_codepage **pages;
	uint64_t npages;
};


/* ---- RFLAGS ---- */

uint64_t x86_get_rflags(struct x86_cpu *cpu)
{
	return (cpu->rflags & ~(uint64_t)X86_ARITH_FLAGS) | x86_arith(cpu) | 2;
}

/* The debugger's execute breakpoints alone do not need single-instruction mode: blocks end
 * before a breakpoint address and the run loop checks each block's first address (exec_bps).
 * Watchpoints, stepping, TF and the guest's own DR7 still do. */
static void update_slow(struct x86_cpu *cpu)
{
	cpu->watch_active = (cpu->dr7 & 0xff) != 0;
	cpu->exec_bps = cpu->nr_sw_bps != 0;
	for (unsigned i = 0; i < cpu->nr_hw_bps; i++) {
		if (cpu->hw_bps[i].kind)
			cpu->watch_active = true;
		else
			cpu->exec_bps = true;
	}
	cpu->slow = cpu->single_step || cpu->watch_active || (cpu->rflags & X86_TF);
}

void x86_set_rflags(struct x86_cpu *cpu, uint64_t v)
{
	bool tf = cpu->rflags & X86_TF;
	if ((v & X86_IF) && !(cpu->rflags & X86_IF))
		cpu->irq_check = true;
	cpu->rflags = (v & 0x3f7fd7) | 2;
	cpu->lf.op = X86_LF_NONE;
	cpu->end_block = true;
	if (tf != !!(v & X86_TF))
		update_slow(cpu);
}

/* ---- lifetime ---- */

static void seg_reset(struct x86_seg *s, uint16_t sel, uint64_t base, uint32_t ar)
{
	s->sel = sel;
	s->base = base;
	s->limit = 0xffff;
	s->ar = ar;
}

void x86_cpu_reset(struct x86_cpu *cpu)
{
	memset(cpu->r, 0, sizeof(cpu->r));
	cpu->r[X86_RDX] = 0x00030661;	/* the CPUID signature (system.c) */
	cpu->rip = 0xfff0;
	cpu->rflags = 2;
	cpu->lf.op = X86_LF_NONE;
	for (int i = 0; i < X86_NSEG; i++)
		seg_reset(&cpu->seg[i], 0, 0, 0x93);
	seg_reset(&cpu->seg[X86_CS], 0xf000, 0xffff0000, 0x9b);
	seg_reset(&cpu->seg[X86_LDTR], 0, 0, 0x82);
	seg_reset(&cpu->seg[X86_TR], 0, 0, 0x8b);
	cpu->gdt.base = cpu->idt.base = 0;
	cpu->gdt.limit = cpu->idt.limit = 0xffff;
	cpu->cr0 = 0x60000010;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = cpu->efer = 0;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr6 = 0xffff0ff0;
	cpu->dr7 = 0x400;
	cpu->apic_base = 0xfee00900;
	cpu->pat = 0x0007040600070406ull;
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));	/* power-on: FCW 0x0040, empty tags (SDM 9.1.1) */
	cpu->fpu.fcw = 0x0040;
	cpu->fpu.mxcsr = X86_MXCSR_RESET;
	cpu->cpl = 0;
	cpu->halted = cpu->shutdown = false;
	cpu->intr_shadow = false;
	cpu->exc_vec = -1;
	cpu->bp_skip = ~0ull;
	cpu->tsc_base_ns = x86_clock_ns(cpu);
	cpu->tsc_offset = cpu->tsc_adjust = 0;
	cpu->misc_enable = 1;	/* fast strings, as firmware leaves it */
	x86_update_mode(cpu);
	x86_state_changed(cpu);
}

int x86_cpu_create(const struct x86_bus *bus, struct x86_cpu **out)
{
	struct x86_cpu *cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return -ENOMEM;
	cpu->bus = *bus;
	cpu->log = stderr;
	cpu->unimpl_seen = calloc((x86_nr_mnemonics + 63) / 64, sizeof(uint64_t));
	if (!cpu->unimpl_seen || x86_blocks_create(cpu)) {
		x86_cpu_destroy(cpu);
		return -ENOMEM;
	}
	x86_cpu_reset(cpu);
	*out = cpu;
	return 0;
}

void x86_cpu_destroy(struct x86_cpu *cpu)
{
	if (!cpu)
		return;
	x86_blocks_destroy(cpu);
	free(cpu->unimpl_seen);
	free(cpu);
}

void x86_debug_changed(struct x86_cpu *cpu)
{
	bool had_bps = cpu->exec_bps;
	update_slow(cpu);
	if (had_bps || cpu->exec_bps)	/* blocks must end before the new breakpoint addresses */
		x86_blocks_flush(cpu);
	x86_tlb_flush(cpu, false);
}

void x86_state_changed(struct x86_cpu *cpu)
{
	if (cpu->cr0 & 1)
		cpu->cpl = (uint8_t)X86_AR_DPL(cpu->seg[X86_SS].ar);
	if (cpu->seg[X86_CS].sel & 3 && (cpu->cr0 & 1))
		cpu->cpl = cpu->seg[X86_CS].sel & 3;
	x86_update_mode(cpu);
	x86_tlb_flush(cpu, false);
	update_slow(cpu);
	cpu->end_block = false;
}

/* ---- block cache ---- */

int x86_blocks_create(struct x86_cpu *cpu)
{
	struct x86_blocks *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->arena = malloc(ARENA_SIZE);
	b->npages = (cpu->bus.ram_size + 4095) / 4096;
	b->pages = calloc(b->npages ? b->npages : 1, sizeof(*b->pages));
	cpu->blocks = b;
	if (!b->arena || !b->pages)
		return -ENOMEM;
	return 0;
}

void x86_blocks_destroy(struct x86_cpu *cpu)
{
	struct x86_blocks *b = cpu->blocks;
	if (!b)
		return;
	for (uint64_t i = 0; b->pages && i < b->npages; i++)
		free(b->pages[i]);
	free(b->pages);
	free(b->arena);
	free(b);
	cpu->blocks = NULL;
}

void x86_blocks_flush(struct x86_cpu *cpu)
{
	struct x86_blocks *b = cpu->blocks;
	memset(b->hash, 0, sizeof(b->hash));
	for (uint64_t i = 0; i < b->npages; i++) {
		free(b->pages[i]);
		b->pages[i] = NULL;
	}
	b->used = 0;
	memset(b->jc, 0, sizeof(b->jc));
	x86_tlb_flush(cpu, false);
}

static unsigned hash_of(uint64_t gpa, uint32_t key)
{
	uint64_t h = (gpa ^ ((uint64_t)key << 40)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> (64 - HASH_BITS));
}

static void unlink_hash(struct x86_blocks *b, struct x86_block *blk)
{
	struct x86_block **pp = &b->hash[hash_of(blk->gpa, blk->key)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == blk) {
			*pp = blk->hnext;
			return;
		}
}

static void invalidate_page(struct x86_cpu *cpu, uint64_t page)
{
	struct x86_blocks *b = cpu->blocks;
	struct x86_codepage *cp = b->pages[page];
	for (struct x86_block *blk = cp->blocks; blk; blk = blk->pnext) {
		blk->valid = false;
		unlink_hash(b, blk);
	}
	cp->blocks = NULL;
	memset(cp->bits, 0, sizeof(cp->bits));
	cpu->nr_smc++;
	cpu->end_block = true;
}

static bool bits_hit(const struct x86_codepage *cp, unsigned off, unsigned len)
{
	for (unsigned i = off; i < off + len && i < 4096; i++)
		if ((cp->bits[i / 64] >> (i % 64)) & 1)
			return true;
	return false;
}

bool x86_code_write_hits(struct x86_cpu *cpu, uint64_t gpa, unsigned size)
{
	struct x86_blocks *b = cpu->blocks;
	uint64_t page = gpa >> 12;
	struct x86_codepage *cp;
	if (page >= b->npages || !(cp = b->pages[page]) || !cp->blocks)
		return false;
	if (!size)
		return true;
	if ((gpa & 0xfff) + size > 4096 && x86_code_write_hits(cpu, (page + 1) << 12, (unsigned)((gpa & 0xfff) + size - 4096)))
		size = 4096 - (gpa & 0xfff);
	if (!bits_hit(cp, gpa & 0xfff, size))
		return false;
	invalidate_page(cpu, page);
	return true;
}

void x86_invalidate_code(struct x86_cpu *cpu, uint64_t gpa, uint64_t len)
{
	struct x86_blocks *b = cpu->blocks;
	for (uint64_t p = gpa >> 12; len && p <= (gpa + len - 1) >> 12 && p < b->npages; p++)
		if (b->pages[p] && b->pages[p]->blocks)
			invalidate_page(cpu, p);
}

static void mark_code(struct x86_cpu *cpu, struct x86_block *blk)
{
	struct x86_blocks *b = cpu->blocks;
	uint64_t page = blk->gpa >> 12;
	struct x86_codepage *cp = b->pages[page];
	unsigned off = blk->gpa & 0xfff;
	if (!cp) {
		cp = b->pages[page] = calloc(1, sizeof(*cp));
		if (!cp)
			abort();
	}
	if (!cp->blocks)	/* newly a code page: writes must leave the fast path */
		for (unsigned i = 0; i < X86_TLB_SIZE; i++)
			if (cpu->tlb_w[i].gpa == (page << 12))
				cpu->tlb_w[i].tag = ~0ull;
	for (unsigned i = off; i < off + blk->nbytes && i < 4096; i++)
		cp->bits[i / 64] |= 1ull << (i % 64);
	blk->pnext = cp->blocks;
	cp->blocks = blk;
}

static void priv_trampoline(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->cpl)
		x86_gp0(cpu);
	x86_insn_infos[in->mnem].fn(cpu, in);
}

/* Decodes one instruction at lin (gpa known for the first byte); -EINVAL: #UD. */
static int decode_at(struct x86_cpu *cpu, uint64_t lin, struct x86_insn *in, uint64_t *gpa, bool *crosses)
{
	uint8_t buf[15];
	unsigned got = x86_fetch_bytes(cpu, lin, buf, 15, gpa);
	int r = x86_decode(cpu, buf, got, in);
	*crosses = (lin & 0xfff) + (r ? got : in->len) > 4096;
	if (r && got < 15)	/* maybe the rest is on an unmapped page: fault on it */
		(void)x86_fetch_bytes(cpu, lin + got, buf, 1, gpa);
	if (r)
		return r;
	if ((in->flags & X86_IF_PRIV) && in->fn != x86_unimplemented)
		in->fn = priv_trampoline;
	return 0;
}

static uint32_t mode_key(const struct x86_cpu *cpu)
{
	return cpu->mode | (uint32_t)cpu->stack_size << 4;
}

static uint64_t fetch_lin(const struct x86_cpu *cpu)
{
	uint64_t lin = cpu->seg[X86_CS].base + cpu->rip;
	return cpu->mode == X86_MODE_LONG64 ? cpu->rip : lin & 0xffffffffull;
}

static struct x86_block *block_alloc(struct x86_cpu *cpu)
{
	struct x86_blocks *b = cpu->blocks;
	size_t sz = sizeof(struct x86_block) + (BLOCK_MAX + 1) * sizeof(struct x86_insn);
	struct x86_block *blk;
	if (b->used + sz > ARENA_SIZE)
		x86_blocks_flush(cpu);
	blk = (struct x86_block *)(b->arena + b->used);
	memset(blk, 0, sizeof(*blk));
	return blk;
}

static void insn_end_fn(struct x86_cpu *cpu, const struct x86_insn *in)
{
	(void)cpu;
	(void)in;
}

void x86_insn_end(struct x86_insn *in)
{
	memset(in, 0, sizeof(*in));
	in->fn = in->entry = insn_end_fn;
}

void x86_enter(struct x86_cpu *cpu, const struct x86_insn *in)
{
	uint64_t rip = cpu->blk_rip + in->boff;
	cpu->rip = rip;
	cpu->next_rip = rip + in->len;	/* block_enterable: no IP wrap inside a block */
	in->fn(cpu, in);
}

static void block_link(struct x86_cpu *cpu, const struct x86_insn *in);

/* Entries (see x86_chain), offsets and the sentinel. The sentinel sets RIP past the block when
 * the last instruction left it unset (a RIP-free handler); after any other it keeps next_rip,
 * which a branch may have changed. */
static void block_entries(struct x86_block *blk)
{
	struct x86_insn *end = &blk->insns[blk->n];
	unsigned off = 0;
	for (struct x86_insn *in = blk->insns; in < end; in++) {
		in->boff = (uint16_t)off;
		in->entry = x86_is_rip_free(in->fn) ? in->fn : x86_enter;
		off += in->len;
	}
	x86_insn_end(end);
	end->fn = end->entry = block_link;
	end->imm = (uintptr_t)blk;
	end->boff = (uint16_t)off;
	if (blk->n && end[-1].entry != x86_enter)
		end->entry = x86_enter;
}

static void block_commit(struct x86_cpu *cpu, struct x86_block *blk)
{
	struct x86_blocks *b = cpu->blocks;
	unsigned h = hash_of(blk->gpa, blk->key);
	x86_flags_liveness(blk->insns, blk->n);
	block_entries(blk);
	b->used += (sizeof(struct x86_block) + (blk->n + 1u) * sizeof(struct x86_insn) + 15) & ~(size_t)15;
	blk->valid = true;
	blk->hnext = b->hash[h];
	b->hash[h] = blk;
	mark_code(cpu, blk);
	cpu->nr_blocks_decoded++;
}

/* Builds a block at the current RIP; NULL when the first instruction must run uncached (*single). */
static struct x86_block *block_translate(struct x86_cpu *cpu, uint64_t lin, uint64_t gpa, uint32_t key,
					 struct x86_insn single[2])
{
	struct x86_block *blk = block_alloc(cpu);
	uint64_t g;
	bool crosses;
	blk->gpa = gpa;
	blk->key = key;
	while (blk->n < BLOCK_MAX) {
		struct x86_insn *in = &blk->insns[blk->n];
		uint64_t a = lin + blk->nbytes;
		if (((a ^ lin) & ~0xfffull) != 0 || (blk->n && cpu->exec_bps && x86_exec_bp_at(cpu, a)))
			break;
		if (decode_at(cpu, a, in, &g, &crosses)) {
			if (blk->n)
				break;
			x86_ud(cpu);
		}
		if (crosses || gpa >= cpu->bus.ram_size) {
			if (blk->n)
				break;
			single[0] = *in;
			x86_insn_end(&single[1]);
			return NULL;
		}
		blk->n++;
		blk->nbytes = (uint16_t)(blk->nbytes + in->len);
		if (in->flags & (X86_IF_BRANCH | X86_IF_END))
			break;
	}
	block_commit(cpu, blk);
	return blk;
}

static struct x86_block *block_lookup(struct x86_cpu *cpu, uint64_t lin, struct x86_tlbe *e, uint32_t key,
				      struct x86_insn *single);

/* Decodes the instruction at lin into single[0] (single[1]: its sentinel); #UD when undecodable. */
static void decode_single(struct x86_cpu *cpu, uint64_t lin, struct x86_insn single[2])
{
	uint64_t gpa;
	bool crosses;
	if (decode_at(cpu, lin, single, &gpa, &crosses))
		x86_ud(cpu);
	x86_insn_end(&single[1]);
}

static uint64_t ip_mask(const struct x86_cpu *cpu)
{
	return cpu->mode == X86_MODE_LONG64 ? ~0ull : x86_mask(cpu->code_size);
}

/* Outside 64-bit mode a block is entered only when it fits: the CS limit then holds for every
 * instruction in it (the block is one straight run of bytes, so checking its last byte is enough),
 * and IP does not wrap inside it (the run loop adds lengths without masking). Otherwise (a block
 * decoded under another CS, running past the limit or the top of the IP range) its first
 * instruction runs alone; exec_one checks that instruction's own extent, so a #GP comes at the
 * right instruction. */
static inline bool block_fits(const struct x86_cpu *cpu, const struct x86_block *blk)
{
	return __builtin_expect(cpu->mode == X86_MODE_LONG64, 1) ||
	       (cpu->rip + blk->nbytes - 1 <= cpu->seg[X86_CS].limit && cpu->rip + blk->nbytes <= ip_mask(cpu));
}

static inline struct x86_block *block_enterable(struct x86_cpu *cpu, struct x86_block *blk, uint64_t lin,
						struct x86_insn single[2])
{
	if (block_fits(cpu, blk))
		return blk;
	decode_single(cpu, lin, single);
	return NULL;
}

static inline uint32_t block_key(const struct x86_cpu *cpu)
{
	return mode_key(cpu) | (uint32_t)cpu->tlb_user << 8;
}

static inline struct x86_jc *jc_slot(const struct x86_cpu *cpu, uint64_t lin)
{
	return &cpu->blocks->jc[(lin ^ (lin >> 12)) & (JC_SIZE - 1)];
}

/* The jump cache's block for lin, or NULL. */
static inline struct x86_block *jc_probe(const struct x86_cpu *cpu, uint64_t lin, uint32_t key)
{
	const struct x86_jc *jc = jc_slot(cpu, lin);
	if (jc->lin == lin && jc->key == key && jc->gen == cpu->jc_gen && jc->blk->valid)
		return jc->blk;
	return NULL;
}

static struct x86_block *block_find(struct x86_cpu *cpu, struct x86_insn *single)
{
	uint64_t lin = fetch_lin(cpu);
	uint32_t key = block_key(cpu);
	struct x86_jc *jc;
	struct x86_block *blk;
	if (cpu->mode != X86_MODE_LONG64 && cpu->rip > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
	if ((blk = jc_probe(cpu, lin, key)))
		return block_enterable(cpu, blk, lin, single);
	blk = block_lookup(cpu, lin, &cpu->tlb_x[(lin >> 12) & (X86_TLB_SIZE - 1)], key & 0xff, single);
	if (blk) {
		jc = jc_slot(cpu, lin);
		jc->lin = lin;
		jc->key = key;
		jc->gen = cpu->jc_gen;
		jc->blk = blk;
	}
	return blk ? block_enterable(cpu, blk, lin, single) : NULL;
}

static struct x86_block *block_lookup(struct x86_cpu *cpu, uint64_t lin, struct x86_tlbe *e, uint32_t key,
				      struct x86_insn *single)
{
	uint64_t gpa;
	struct x86_block *blk;
	if (e->tag == ((lin & ~0xfffull) | cpu->tlb_user)) {
		gpa = e->gpa | (lin & 0xfff);
	} else {
		uint8_t b;
		(void)x86_fetch_bytes(cpu, lin, &b, 1, &gpa);
	}
	for (blk = cpu->blocks->hash[hash_of(gpa, key)]; blk; blk = blk->hnext)
		if (blk->gpa == gpa && blk->key == key)
			return blk;
	return block_translate(cpu, lin, gpa, key, single);
}

/* ---- execution ---- */

/* One lone instruction; in[1] is its sentinel. Outside 64-bit mode, #GP(0) when any of its
 * bytes lies beyond the CS limit. */
static inline void exec_one(struct x86_cpu *cpu, const struct x86_insn *in)
{
	if (cpu->mode != X86_MODE_LONG64 && cpu->rip + in->len - 1 > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
	cpu->next_rip = (cpu->rip + in->len) & ip_mask(cpu);
	in->fn(cpu, in);
	cpu->rip = cpu->next_rip;
	cpu->icount++;
}

/* The hot loop: each pass runs one instruction's entry, or a chain of them (x86_chain), and
 * goes on at cpu->resume; a block's sentinel may go straight on into the next block
 * (block_link), so cpu->cur_blk is the block running now. Instructions retired are counted per
 * block (an exception in the middle of a block leaves the count short by the instructions
 * before it). */
static void exec_block(struct x86_cpu *cpu, const struct x86_block *blk)
{
	const struct x86_insn *in = blk->insns, *end;
	cpu->blk_rip = cpu->rip;
	cpu->cur_blk = blk;
	cpu->end_block = false;
	do {
		cpu->resume = in + 1;
		in->entry(cpu, in);
		in = cpu->resume;
	} while (!cpu->end_block);
	cpu->rip = cpu->next_rip;
	blk = cpu->cur_blk;
	end = blk->insns + blk->n;
	if (in <= end)	/* stopped inside the block (else its sentinel counted it) */
		cpu->icount += (uint64_t)(in - blk->insns);
}

/* Whether the sentinel may go on into the next block: nothing for the run loop to look at.
 * (Not looked at: shutdown, which longjmps; slow, under which no block runs and which only
 * changes with end_block set or from outside a run; debug_hit, set only when slow.) */
static inline bool may_link(struct x86_cpu *cpu)
{
	return !(cpu->halted | cpu->intr_shadow) && cpu->icount < cpu->stop_icount &&
	       !(cpu->irq_check && (cpu->rflags & X86_IF)) && (cpu->poll + 1) % POLL_EVERY != 0 &&
	       !__atomic_load_n(&cpu->kick, __ATOMIC_RELAXED) && !(cpu->exec_bps && x86_exec_bp_at(cpu, fetch_lin(cpu)));
}

/* The block that runs next (from the block's link, else the jump cache), or NULL. */
static inline struct x86_block *next_block(struct x86_cpu *cpu, struct x86_block *blk)
{
	uint64_t lin = fetch_lin(cpu);
	uint32_t key = block_key(cpu);
	struct x86_link *l = &blk->link;
	struct x86_block *next;
	if (l->lin == lin && l->key == key && l->gen == cpu->jc_gen && l->blk && l->blk->valid)
		return l->blk;
	if (!(next = jc_probe(cpu, lin, key)))
		return NULL;
	l->lin = lin;
	l->key = key;
	l->gen = cpu->jc_gen;
	l->blk = next;
	return next;
}

/* A block's sentinel: counts the block, then enters the next one when it is in the jump cache
 * and nothing needs the run loop (as QEMU chains translation blocks); else ends the run. */
static void block_link(struct x86_cpu *cpu, const struct x86_insn *in)
{
	struct x86_block *blk = (struct x86_block *)(uintptr_t)in->imm, *next;
	cpu->rip = cpu->next_rip;
	cpu->icount += blk->n;
	if (!may_link(cpu) || !(next = next_block(cpu, blk)) || !block_fits(cpu, next)) {
		cpu->end_block = true;
		return;
	}
	cpu->poll++;
	cpu->blk_rip = cpu->rip;
	cpu->cur_blk = next;
	cpu->resume = next->insns + 1;
	next->insns[0].entry(cpu, next->insns);
}

/* The INTR line is looked at only when something may have changed it or the ability to take it:
 * entry to x86_cpu_run (kicks end a run), IF set, port writes (EOI, mask changes), and every
 * POLL_EVERY blocks as a backstop. The controller's lock stays off the hot path. */
static bool intr_ready(struct x86_cpu *cpu)
{
	if (!cpu->irq_check || !(cpu->rflags & X86_IF) || cpu->intr_shadow || !cpu->bus.intr_is_pending)
		return false;
	if (cpu->single_step && !cpu->step_irqs)
		return false;
	if (cpu->bus.intr_is_pending(cpu->bus.opaque))
		return true;
	cpu->irq_check = false;
	return false;
}

/* Single-stepping with interrupts held off (gdb's default) must still get past hlt: as in QEMU,
 * a pending interrupt wakes the CPU without being delivered, so the step ends after the hlt
 * and the interrupt is taken on the next continue. Without this the step spun for ever. */
static bool hlt_wakes_for_step(struct x86_cpu *cpu)
{
	return cpu->single_step && !cpu->step_irqs && (cpu->rflags & X86_IF) && cpu->bus.intr_is_pending &&
	       cpu->bus.intr_is_pending(cpu->bus.opaque);
}

static void take_interrupt(struct x86_cpu *cpu)
{
	int vec = cpu->bus.intr_ack(cpu->bus.opaque);
	if (vec < 0)
		return;
	cpu->nr_interrupts++;
	trace_x86_interrupt((unsigned)vec & 0xff, cpu->rip);
	cpu->exc_vec = 0x100;
	cpu->next_rip = cpu->rip;
	x86_deliver(cpu, vec & 0xff, false, 0, X86_EV_EXT);
	cpu->exc_vec = -1;
}

static bool sw_bp_at(const struct x86_cpu *cpu, uint64_t lin)
{
	for (unsigned i = 0; i < cpu->nr_sw_bps; i++)
		if (cpu->sw_bps[i] == lin)
			return true;
	return false;
}

static bool hw_bp_at(const struct x86_cpu *cpu, uint64_t lin)
{
	for (unsigned i = 0; i < cpu->nr_hw_bps; i++)
		if (cpu->hw_bps[i].kind == 0 && cpu->hw_bps[i].addr == lin)
			return true;
	return false;
}

/* A debugger execute breakpoint (software or hardware) at lin. */
bool x86_exec_bp_at(const struct x86_cpu *cpu, uint64_t lin)
{
	return sw_bp_at(cpu, lin) || hw_bp_at(cpu, lin);
}

/* Guest DR0-DR3 execute breakpoints: #DB fault before the instruction. */
static void guest_exec_bp(struct x86_cpu *cpu, uint64_t lin)
{
	if (cpu->rflags & X86_RF)
		return;
	for (unsigned i = 0; i < 4; i++) {
		unsigned en = (cpu->dr7 >> (i * 2)) & 3, rw = (cpu->dr7 >> (16 + i * 4)) & 3;
		if (en && rw == 0 && cpu->dr[i] == lin) {
			cpu->dr6 = (cpu->dr6 & ~0xfull) | (1ull << i);
			x86_raise(cpu, X86_DB, 0, false);
		}
	}
}

/* One instruction with every debug check; returns true when the debugger must see a stop. */
static bool step_slow(struct x86_cpu *cpu)
{
	uint64_t lin = fetch_lin(cpu), gpa;
	struct x86_insn in[2];
	bool crosses, tf = cpu->rflags & X86_TF;
	if (lin != cpu->bp_skip && (sw_bp_at(cpu, lin) || hw_bp_at(cpu, lin))) {
		cpu->debug_reason = sw_bp_at(cpu, lin) ? X86_DBG_SWBREAK : X86_DBG_HWBREAK;
		cpu->debug_addr = lin;
		cpu->bp_skip = lin;
		return true;
	}
	cpu->bp_skip = ~0ull;
	guest_exec_bp(cpu, lin);
	if (cpu->mode != X86_MODE_LONG64 && cpu->rip > cpu->seg[X86_CS].limit)
		x86_gp0(cpu);
	if (decode_at(cpu, lin, in, &gpa, &crosses))
		x86_ud(cpu);
	x86_insn_end(&in[1]);
	cpu->end_block = false;
	cpu->guest_db = false;
	exec_one(cpu, in);
	cpu->rflags &= ~(uint64_t)X86_RF;
	if (cpu->guest_db || (tf && !cpu->debug_hit)) {	/* data breakpoint or single-step trap */
		if (tf)
			cpu->dr6 |= 1ull << 14;
		x86_deliver(cpu, X86_DB, false, 0, X86_EV_EXT);
	}
	if (cpu->debug_hit)
		return true;
	if (cpu->single_step) {
		cpu->debug_reason = X86_DBG_STEP;
		cpu->debug_addr = fetch_lin(cpu);
		return true;
	}
	return false;
}

enum x86_run_result x86_cpu_run(struct x86_cpu *cpu, uint64_t max_insns)
{
	jmp_buf jb;
	uint64_t stop = max_insns ? cpu->icount + max_insns : ~0ull;
	struct x86_insn single[2];
	cpu->jmp = &jb;
	cpu->irq_check = true;
	cpu->stop_icount = stop;
	if (setjmp(jb)) {
		cpu->end_block = false;
		x86_exception_entry(cpu);
	}
	for (;;) {
		struct x86_block *blk;
		if (cpu->shutdown)
			return X86_RUN_SHUTDOWN;
		if (cpu->debug_hit) {
			cpu->debug_hit = false;
			return X86_RUN_DEBUG;
		}
		if (cpu->icount >= stop)
			return X86_RUN_BUDGET;
		if (__atomic_load_n(&cpu->kick, __ATOMIC_RELAXED)) {	/* set by interp_kick from any thread */
			__atomic_store_n(&cpu->kick, 0, __ATOMIC_RELAXED);
			return X86_RUN_REQUEST;
		}
		if (++cpu->poll % POLL_EVERY == 0) {
			cpu->irq_check = true;
			if (cpu->bus.has_request && cpu->bus.has_request(cpu->bus.opaque))
				return X86_RUN_REQUEST;
		}
		if (intr_ready(cpu))
			take_interrupt(cpu);
		if (cpu->halted && hlt_wakes_for_step(cpu))
			cpu->halted = false;
		if (cpu->halted)
			return X86_RUN_HLT;
		if (cpu->slow || cpu->intr_shadow) {
			cpu->intr_shadow = false;
			if (!cpu->slow) {
				decode_single(cpu, fetch_lin(cpu), single);
				exec_one(cpu, single);
				continue;
			}
			if (step_slow(cpu)) {
				cpu->debug_hit = false;
				return X86_RUN_DEBUG;
			}
			continue;
		}
		if (cpu->exec_bps && x86_exec_bp_at(cpu, fetch_lin(cpu))) {	/* report it, or run it once */
			if (step_slow(cpu)) {
				cpu->debug_hit = false;
				return X86_RUN_DEBUG;
			}
			continue;
		}
		blk = block_find(cpu, single);
		if (blk)
			exec_block(cpu, blk);
		else
			exec_one(cpu, single);
	}
}
