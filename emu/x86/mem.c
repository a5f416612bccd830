/* SPDX-License-Identifier: MIT */
/*
 * mem.c — the MMU: segment limit checks, the software TLB (separate read, write and fetch arrays
 * of 256 direct-mapped entries, tagged with the CPL-3 bit), page walks through emu_page_walk on a
 * miss, #PF with CR2, physical accesses to RAM or MMIO callbacks, self-modifying-code detection
 * on writes to pages that hold decoded code, data watchpoints, SMAP (supervisor data accesses to
 * user pages are never cached, so EFLAGS.AC is checked on each) and the host address of a locked
 * operand (lock.c). SMEP is checked by the page walker.
 */
#include <errno.h>

#include "emu/paging.h"
#include "emu/x86/handlers.h"

#define EFER_LMA (1ull << 10)
#define CR0_PG (1ull << 31)
#define CR4_SMAP (1ull << 21)

/* ---- physical ---- */

static bool is_ram(const struct x86_cpu *cpu, uint64_t gpa, unsigned size)
{
	return gpa < cpu->bus.ram_size && size <= cpu->bus.ram_size - gpa;
}

uint64_t x86_phys_read(struct x86_cpu *cpu, uint64_t gpa, unsigned size)
{
	if (is_ram(cpu, gpa, size))
		return x86_load_host(cpu->bus.ram + gpa, size);
	cpu->nr_mmio++;
	if (!cpu->bus.mmio_read)
		return x86_mask(size);
	return cpu->bus.mmio_read(cpu->bus.opaque, gpa, size) & x86_mask(size);
}

void x86_phys_write(struct x86_cpu *cpu, uint64_t gpa, unsigned size, uint64_t v)
{
	if (is_ram(cpu, gpa, size)) {
		if (x86_code_write_hits(cpu, gpa, size))
			cpu->end_block = true;
		x86_store_host(cpu->bus.ram + gpa, size, v);
		return;
	}
	cpu->nr_mmio++;
	if (cpu->bus.mmio_write)
		cpu->bus.mmio_write(cpu->bus.opaque, gpa, size, v);
}

static int walker_read(void *opaque, uint64_t gpa, void *buf, unsigned len)
{
	struct x86_cpu *cpu = opaque;
	if (!is_ram(cpu, gpa, len))
		return -EFAULT;
	memcpy(buf, cpu->bus.ram + gpa, len);
	return 0;
}

/* The walker writes a paging entry only to set its Accessed/Dirty bits: done as a locked OR of
 * those bits, as the CPU does, so that an entry another vCPU changed meanwhile (cmpxchg on a PTE)
 * keeps that change. */
static int walker_write(void *opaque, uint64_t gpa, const void *buf, unsigned len)
{
	struct x86_cpu *cpu = opaque;
	const uint64_t ad = 0x60;
	if (!is_ram(cpu, gpa, len))
		return -EFAULT;
	(void)x86_code_write_hits(cpu, gpa, len);
	if (len == 8 && !(gpa & 7)) {
		uint64_t e;
		memcpy(&e, buf, 8);
		__atomic_fetch_or((uint64_t *)(void *)(cpu->bus.ram + gpa), e & ad, __ATOMIC_SEQ_CST);
	} else if (len == 4 && !(gpa & 3)) {
		uint32_t e;
		memcpy(&e, buf, 4);
		__atomic_fetch_or((uint32_t *)(void *)(cpu->bus.ram + gpa), e & (uint32_t)ad, __ATOMIC_SEQ_CST);
	} else {
		memcpy(cpu->bus.ram + gpa, buf, len);
	}
	return 0;
}

int x86_walk(struct x86_cpu *cpu, uint64_t lin, int acc, bool user, bool set_ad, uint64_t *gpa, int *writable,
	     uint32_t *err, bool *global, bool *user_page)
{
	struct emu_paging_mode m = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
	struct emu_phys_access pa = { walker_read, walker_write, cpu };
	struct emu_walk w;
	unsigned flags = (acc == X86_ACC_W ? EMU_WALK_WRITE : 0) | (acc == X86_ACC_X ? EMU_WALK_FETCH : 0) |
			 (user ? EMU_WALK_USER : 0) | (set_ad ? EMU_WALK_SET_AD : 0);
	int r = emu_page_walk(&m, &pa, lin, flags, &w);
	if (r) {
		*err = w.error_code;
		return r;
	}
	*gpa = w.gpa;
	*writable = w.writable && (!user ? (!(cpu->cr0 & (1ull << 16)) || w.writable) : 1);
	if (!user && !(cpu->cr0 & (1ull << 16)))
		*writable = 1;
	*global = w.global && (cpu->cr4 & (1ull << 7));
	*user_page = w.user && (cpu->cr0 & CR0_PG);
	return 0;
}

int x86_translate(struct x86_cpu *cpu, uint64_t lin, bool write, uint64_t *gpa)
{
	struct emu_paging_mode m = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer };
	struct emu_phys_access pa = { walker_read, walker_write, cpu };
	struct emu_walk w;
	int r = emu_page_walk(&m, &pa, lin, EMU_WALK_NO_CHECK | (write ? EMU_WALK_WRITE : 0), &w);
	if (r)
		return -EFAULT;
	*gpa = w.gpa;
	return 0;
}

/* ---- TLB ---- */

static void tlbe_clear(struct x86_tlbe *e)
{
	e->tag = ~0ull;
}

void x86_tlb_flush(struct x86_cpu *cpu, bool keep_global)
{
	cpu->jc_gen++;
	for (unsigned i = 0; i < X86_TLB_SIZE; i++) {
		if (!keep_global || !cpu->tlb_r[i].global)
			tlbe_clear(&cpu->tlb_r[i]);
		if (!keep_global || !cpu->tlb_w[i].global)
			tlbe_clear(&cpu->tlb_w[i]);
		if (!keep_global || !cpu->tlb_x[i].global)
			tlbe_clear(&cpu->tlb_x[i]);
	}
}

void x86_tlb_flush_page(struct x86_cpu *cpu, uint64_t lin)
{
	unsigned i = (lin >> 12) & (X86_TLB_SIZE - 1);
	uint64_t page = lin & ~0xfffull;
	cpu->jc_gen++;
	if ((cpu->tlb_r[i].tag & ~1ull) == page)
		tlbe_clear(&cpu->tlb_r[i]);
	if ((cpu->tlb_w[i].tag & ~1ull) == page)
		tlbe_clear(&cpu->tlb_w[i]);
	if ((cpu->tlb_x[i].tag & ~1ull) == page)
		tlbe_clear(&cpu->tlb_x[i]);
	/* large pages cover many slots: be safe */
	if (cpu->cr4 & ((1ull << 4) | (1ull << 5)))
		x86_tlb_flush(cpu, false);
}

/*
 * SMAP: a supervisor-mode data access to a user page faults (#PF, P set, U clear) when it is
 * implicit (descriptor tables, TSS, delivery stacks: sys) or EFLAGS.AC is clear (stac/clac).
 */
static void smap_check(struct x86_cpu *cpu, uint64_t lin, int acc, bool sys)
{
	if (!sys && cpu->cpl < 3 && (cpu->rflags & X86_AC))
		return;
	cpu->cr2 = lin;
	x86_raise_err(cpu, X86_PF_VEC, 1 | (acc == X86_ACC_W ? 2 : 0));
}

/* Translates one page for an access by the current CPL; fills the TLB when the page is RAM. */
static uint64_t translate(struct x86_cpu *cpu, uint64_t lin, int acc, bool sys)
{
	uint64_t gpa, page = lin & ~0xfffull;
	uint32_t err = 0;
	int writable;
	bool global, upage, user = !sys && cpu->cpl == 3;
	struct x86_tlbe *e;
	if (cpu->mode != X86_MODE_LONG64 && !(cpu->efer & EFER_LMA))
		lin &= 0xffffffffull;
	else if ((uint64_t)((int64_t)(lin << 16) >> 16) != lin)
		x86_raise_err(cpu, X86_GP, 0);	/* non-canonical */
	if (x86_walk(cpu, lin, acc, user, true, &gpa, &writable, &err, &global, &upage)) {
		cpu->cr2 = lin;
		x86_raise_err(cpu, X86_PF_VEC, err);
	}
	if (upage && !user && acc != X86_ACC_X && (cpu->cr4 & CR4_SMAP)) {
		smap_check(cpu, lin, acc, sys);
		return gpa;	/* not cached: EFLAGS.AC is looked at on every access */
	}
	if (!sys && !cpu->watch_active && !is_ram(cpu, gpa & ~0xfffull, 4096)) {
		cpu->mmio_tlb[acc].lin = page;
		cpu->mmio_tlb[acc].gpa = gpa & ~0xfffull;
		cpu->mmio_tlb[acc].gen = cpu->jc_gen;
		cpu->mmio_tlb[acc].user = user;
		cpu->mmio_tlb[acc].valid = 1;
	}
	if (sys || !is_ram(cpu, gpa & ~0xfffull, 4096) || cpu->watch_active)
		return gpa;
	if (acc == X86_ACC_W && x86_code_write_hits(cpu, gpa, 0))
		return gpa;	/* code page: writes take the slow path (SMC checks) */
	e = acc == X86_ACC_R ? &cpu->tlb_r[(lin >> 12) & (X86_TLB_SIZE - 1)] :
	    acc == X86_ACC_W ? &cpu->tlb_w[(lin >> 12) & (X86_TLB_SIZE - 1)] :
			       &cpu->tlb_x[(lin >> 12) & (X86_TLB_SIZE - 1)];
	e->tag = page | cpu->tlb_user;
	e->addend = (uintptr_t)(cpu->bus.ram + (gpa & ~0xfffull)) - page;
	e->gpa = gpa & ~0xfffull;
	e->global = global;
	return gpa;
}

/* A hit in the one-entry MMIO translation cache: the device page translated last time. */
static bool mmio_hit(const struct x86_cpu *cpu, uint64_t lin, unsigned size, int acc, uint64_t *gpa)
{
	const __typeof__(cpu->mmio_tlb[0]) *m = &cpu->mmio_tlb[acc];
	if (!m->valid || m->gen != cpu->jc_gen || m->lin != (lin & ~0xfffull) || m->user != (cpu->cpl == 3) ||
	    (lin & 0xfff) + size > 4096 || cpu->mode != X86_MODE_LONG64)
		return false;
	*gpa = m->gpa | (lin & 0xfff);
	return true;
}

uint64_t x86_read_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, int acc)
{
	uint64_t v = 0, gpa;
	if (mmio_hit(cpu, lin, size, acc, &gpa))
		return x86_phys_read(cpu, gpa, size);
	if (cpu->watch_active)
		x86_check_watch(cpu, lin, size, false);
	if ((lin & 0xfff) + size > 4096) {
		uint64_t g0 = translate(cpu, lin, acc, false);
		unsigned n0 = 4096 - (lin & 0xfff);
		uint64_t g1 = translate(cpu, lin + n0, acc, false);
		for (unsigned i = 0; i < size; i++)
			v |= x86_phys_read(cpu, i < n0 ? g0 + i : g1 + i - n0, 1) << (8 * i);
		return v;
	}
	return x86_phys_read(cpu, translate(cpu, lin, acc, false), size);
}

void x86_write_slow(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v)
{
	uint64_t gpa;
	if (mmio_hit(cpu, lin, size, X86_ACC_W, &gpa)) {
		x86_phys_write(cpu, gpa, size, v);
		return;
	}
	if (cpu->watch_active)
		x86_check_watch(cpu, lin, size, true);
	if ((lin & 0xfff) + size > 4096) {
		uint64_t g0 = translate(cpu, lin, X86_ACC_W, false);
		unsigned n0 = 4096 - (lin & 0xfff);
		uint64_t g1 = translate(cpu, lin + n0, X86_ACC_W, false);
		for (unsigned i = 0; i < size; i++)
			x86_phys_write(cpu, i < n0 ? g0 + i : g1 + i - n0, 1, v >> (8 * i));
		return;
	}
	x86_phys_write(cpu, translate(cpu, lin, X86_ACC_W, false), size, v);
}

/*
 * The host address of a locked read-modify-write of [lin, lin + size): translated as a write (so
 * #PF, A/D bits and watchpoints happen as for the access itself), or NULL when the bytes are not
 * one RAM range (MMIO, or split across pages: the caller takes the bus lock). *gpa gets the
 * physical address; *code tells a page holding decoded code (the caller reports the write).
 */
uint8_t *x86_lock_host(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t *gpa, bool *code)
{
	const struct x86_tlbe *e = &cpu->tlb_w[(lin >> 12) & (X86_TLB_SIZE - 1)];
	*code = false;
	if ((lin & 0xfff) + size > 4096) {
		(void)translate(cpu, lin, X86_ACC_W, false);
		(void)translate(cpu, (lin | 0xfff) + 1, X86_ACC_W, false);
		return NULL;
	}
	if (e->tag == ((lin & ~0xfffull) | cpu->tlb_user)) {	/* RAM, not a code page, no watchpoints */
		*gpa = e->gpa | (lin & 0xfff);
		return (uint8_t *)(uintptr_t)(lin + e->addend);
	}
	if (cpu->watch_active)
		x86_check_watch(cpu, lin, size, true);
	*gpa = translate(cpu, lin, X86_ACC_W, false);
	if (!is_ram(cpu, *gpa, size))
		return NULL;
	*code = x86_code_write_hits(cpu, *gpa & ~0xfffull, 0);
	return cpu->bus.ram + *gpa;
}

uint64_t x86_read_sys(struct x86_cpu *cpu, uint64_t lin, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size;) {
		uint64_t a = lin + i;
		unsigned n = 4096 - (a & 0xfff);
		uint64_t g = translate(cpu, a, X86_ACC_R, true);
		if (n > size - i)
			n = size - i;
		for (unsigned k = 0; k < n; k++)
			v |= x86_phys_read(cpu, g + k, 1) << (8 * (i + k));
		i += n;
	}
	return v;
}

void x86_write_sys(struct x86_cpu *cpu, uint64_t lin, unsigned size, uint64_t v)
{
	uint64_t g0 = translate(cpu, lin, X86_ACC_W, true), g1 = g0;
	unsigned n0 = 4096 - (lin & 0xfff);
	if (n0 < size)
		g1 = translate(cpu, lin + n0, X86_ACC_W, true);
	for (unsigned i = 0; i < size; i++)
		x86_phys_write(cpu, i < n0 ? g0 + i : g1 + i - n0, 1, v >> (8 * i));
}

/* Translation of a later page of an instruction: false (no fault raised) when unmapped. */
static bool try_translate_fetch(struct x86_cpu *cpu, uint64_t a, uint64_t *g)
{
	jmp_buf jb;
	jmp_buf *volatile saved = cpu->jmp;
	volatile uint64_t cr2 = cpu->cr2;
	cpu->jmp = &jb;
	if (setjmp(jb)) {
		cpu->jmp = saved;
		cpu->cr2 = cr2;
		return false;
	}
	*g = translate(cpu, a, X86_ACC_X, false);
	cpu->jmp = saved;
	return true;
}

/* Fetches instruction bytes; stops at the first byte it cannot translate (after >= 1 byte). */
unsigned x86_fetch_bytes(struct x86_cpu *cpu, uint64_t lin, uint8_t *buf, unsigned len, uint64_t *gpa)
{
	unsigned got = 0;
	while (got < len) {
		uint64_t a = lin + got, g;
		unsigned n = 4096 - (a & 0xfff);
		if (cpu->mode != X86_MODE_LONG64)
			a &= 0xffffffffull;
		if (!got)
			g = *gpa = translate(cpu, a, X86_ACC_X, false);
		else if (!try_translate_fetch(cpu, a, &g))
			break;
		if (n > len - got)
			n = len - got;
		for (unsigned k = 0; k < n; k++)
			buf[got + k] = (uint8_t)x86_phys_read(cpu, g + k, 1);
		got += n;
	}
	return got;
}

/* ---- segmentation ---- */

uint64_t x86_seg_check(struct x86_cpu *cpu, int sreg, uint64_t ea, unsigned size, bool write)
{
	const struct x86_seg *s = &cpu->seg[sreg];
	int vec = sreg == X86_SS ? X86_SS_VEC : X86_GP;
	unsigned type = X86_AR_TYPE(s->ar);
	if (cpu->mode == X86_MODE_REAL) {
		if (ea + size - 1 > s->limit)
			x86_raise_err(cpu, vec, 0);
		return (s->base + ea) & 0xffffffffull;
	}
	if (s->ar & X86_AR_UNUSABLE)
		x86_raise_err(cpu, vec, 0);
	if (write ? ((type & 8) || !(type & 2)) : ((type & 0xa) == 8))
		x86_raise_err(cpu, vec, 0);
	if ((type & 0xc) == 4) {	/* expand-down data */
		uint64_t top = (s->ar & X86_AR_DB) ? 0xffffffffull : 0xffff;
		if (ea <= s->limit || ea + size - 1 > top)
			x86_raise_err(cpu, vec, 0);
	} else if (s->limit != 0xffffffff && ea + size - 1 > s->limit) {
		x86_raise_err(cpu, vec, 0);
	}
	return (s->base + ea) & 0xffffffffull;
}

/* ---- watchpoints (debugger hw watchpoints and guest DR7 data breakpoints) ---- */

static bool overlaps(uint64_t a, unsigned alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

void x86_check_watch(struct x86_cpu *cpu, uint64_t lin, unsigned size, bool write)
{
	for (unsigned i = 0; i < cpu->nr_hw_bps; i++) {
		const struct x86_bp *bp = &cpu->hw_bps[i];
		if (bp->kind == 0 || (bp->kind == 1 && !write) || (bp->kind == 2 && write))
			continue;
		if (!overlaps(lin, size, bp->addr, bp->len))
			continue;
		if (!cpu->debug_hit) {
			cpu->debug_hit = true;
			cpu->debug_reason = bp->kind == 1 ? X86_DBG_WATCH_WRITE : bp->kind == 2 ? X86_DBG_WATCH_READ
											: X86_DBG_WATCH_ACCESS;
			cpu->debug_addr = bp->addr;
		}
	}
	for (unsigned i = 0; i < 4; i++) {
		unsigned en = (cpu->dr7 >> (i * 2)) & 3, rw = (cpu->dr7 >> (16 + i * 4)) & 3;
		unsigned len = ((cpu->dr7 >> (18 + i * 4)) & 3) + 1;
		if (!en || rw == 0 || rw == 2 || (rw == 1 && !write))
			continue;
		if (len == 3)
			len = 8;
		if (overlaps(lin, size, cpu->dr[i] & ~(uint64_t)(len - 1), len)) {
			cpu->dr6 |= 1ull << i;
			cpu->guest_db = true;
		}
	}
}
