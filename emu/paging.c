/* SPDX-License-Identifier: MIT */
/*
 * paging.c — the x86 page-table walker (see paging.h): no paging, 32-bit with PSE/PSE-36, PAE and
 * 4-level paging; U/S, R/W, NX, CR0.WP and SMEP checks; reserved-bit faults; A/D updates.
 */
#include <errno.h>

#include "emu/paging.h"

#define PTE_P	(1ull << 0)
#define PTE_RW	(1ull << 1)
#define PTE_US	(1ull << 2)
#define PTE_A	(1ull << 5)
#define PTE_D	(1ull << 6)
#define PTE_PS	(1ull << 7)
#define PTE_G	(1ull << 8)
#define PTE_NX	(1ull << 63)

#define CR0_PG	(1ull << 31)
#define CR0_WP	(1ull << 16)
#define CR4_PSE	(1ull << 4)
#define CR4_PAE	(1ull << 5)
#define CR4_SMEP (1ull << 20)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PHYS_BITS 48
#define ADDR_MASK (((1ull << PHYS_BITS) - 1) & ~0xfffull)

struct walk_ctx {
	const struct emu_paging_mode *mode;
	const struct emu_phys_access *phys;
	unsigned flags;
	uint32_t fault_bits;	/* W/U/I bits of the access, for the error code */
};

static int walk_read(const struct walk_ctx *c, uint64_t gpa, unsigned size, uint64_t *v)
{
	*v = 0;
	return c->phys->read(c->phys->opaque, gpa, v, size) ? -EIO : 0;
}

static void walk_set_bits(const struct walk_ctx *c, uint64_t gpa, unsigned size, uint64_t old, uint64_t bits)
{
	uint64_t v = old | bits;
	if (!(c->flags & EMU_WALK_SET_AD) || v == old)
		return;
	(void)c->phys->write(c->phys->opaque, gpa, &v, size);
}

static int walk_fault(const struct walk_ctx *c, struct emu_walk *w, uint32_t extra)
{
	w->error_code = c->fault_bits | extra;
	return -EFAULT;
}

/* Reserved bits of a PAE/long-mode entry at a level (4 = PML4 ... 1 = PT), leaf or not. */
static uint64_t pae_rsvd(const struct walk_ctx *c, int level, bool large)
{
	uint64_t r = ~((1ull << PHYS_BITS) - 1) & ~PTE_NX & ~(0x7ffull << 52);
	if (!(c->mode->efer & EFER_NXE))
		r |= PTE_NX;
	if (level == 4)
		r |= PTE_PS;
	if (large)
		r |= level == 3 ? 0x3fffe000ull : 0x1fe000ull;
	return r;
}

static int walk_check(const struct walk_ctx *c, struct emu_walk *w)
{
	const struct emu_paging_mode *m = c->mode;
	unsigned f = c->flags;
	if (f & EMU_WALK_NO_CHECK)
		return 0;
	if (f & EMU_WALK_USER) {
		if (!w->user || ((f & EMU_WALK_WRITE) && !w->writable))
			return walk_fault(c, w, EMU_PF_P);
	} else {
		if ((f & EMU_WALK_WRITE) && !w->writable && (m->cr0 & CR0_WP))
			return walk_fault(c, w, EMU_PF_P);
		if ((f & EMU_WALK_FETCH) && w->user && (m->cr4 & CR4_SMEP))
			return walk_fault(c, w, EMU_PF_P);
	}
	if ((f & EMU_WALK_FETCH) && !w->executable)
		return walk_fault(c, w, EMU_PF_P);
	return 0;
}

static int walk_leaf(const struct walk_ctx *c, struct emu_walk *w, uint64_t gpa_e, unsigned esize, uint64_t e,
		     uint64_t page, uint64_t size, uint64_t va)
{
	int r;
	w->page_size = size;
	w->gpa = page + (va & (size - 1));
	w->global = e & PTE_G;
	r = walk_check(c, w);
	if (r)
		return r;
	walk_set_bits(c, gpa_e, esize, e, PTE_A | ((c->flags & EMU_WALK_WRITE) ? PTE_D : 0));
	return 0;
}

static void walk_accumulate(struct emu_walk *w, uint64_t e)
{
	w->writable &= !!(e & PTE_RW);
	w->user &= !!(e & PTE_US);
	if (e & PTE_NX)
		w->executable = false;
}

static int walk_pae(const struct walk_ctx *c, uint64_t va, struct emu_walk *w)
{
	bool lm = c->mode->efer & EFER_LMA;
	int level = lm ? 4 : 3;
	uint64_t table = lm ? c->mode->cr3 & ADDR_MASK : c->mode->cr3 & 0xffffffe0ull;
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		unsigned idx = (va >> shift) & (level == 3 && !lm ? 3 : 511);
		uint64_t ga = table + idx * 8, e;
		if (walk_read(c, ga, 8, &e))
			return walk_fault(c, w, 0);
		if (!(e & PTE_P))
			return walk_fault(c, w, 0);
		if (!lm && level == 3) {	/* PDPTE: only P and the address matter */
			if (e & 0x1e6ull)
				return walk_fault(c, w, EMU_PF_P | EMU_PF_RSVD);
			table = e & ADDR_MASK;
			continue;
		}
		bool large = (level == 2 || level == 3) && (e & PTE_PS);
		if (e & pae_rsvd(c, level, large))
			return walk_fault(c, w, EMU_PF_P | EMU_PF_RSVD);
		walk_accumulate(w, e);
		if (large || level == 1) {
			uint64_t size = 1ull << shift;
			return walk_leaf(c, w, ga, 8, e, e & ADDR_MASK & ~(size - 1), size, va);
		}
		walk_set_bits(c, ga, 8, e, PTE_A);
		table = e & ADDR_MASK;
	}
	return walk_fault(c, w, 0);
}

static int walk_32(const struct walk_ctx *c, uint64_t va, struct emu_walk *w)
{
	uint64_t pde_a = (c->mode->cr3 & 0xfffff000ull) + ((va >> 22) & 1023) * 4, pde, pte_a, pte;
	if (walk_read(c, pde_a, 4, &pde) || !(pde & PTE_P))
		return walk_fault(c, w, 0);
	walk_accumulate(w, pde);
	if ((pde & PTE_PS) && (c->mode->cr4 & CR4_PSE)) {
		uint64_t page = (pde & 0xffc00000ull) | ((pde >> 13) & 0xffull) << 32;
		if (pde & (1ull << 21))
			return walk_fault(c, w, EMU_PF_P | EMU_PF_RSVD);
		return walk_leaf(c, w, pde_a, 4, pde, page, 4ull << 20, va);
	}
	walk_set_bits(c, pde_a, 4, pde, PTE_A);
	pte_a = (pde & 0xfffff000ull) + ((va >> 12) & 1023) * 4;
	if (walk_read(c, pte_a, 4, &pte) || !(pte & PTE_P))
		return walk_fault(c, w, 0);
	walk_accumulate(w, pte);
	return walk_leaf(c, w, pte_a, 4, pte, pte & 0xfffff000ull, 4096, va);
}

int emu_page_walk(const struct emu_paging_mode *mode, const struct emu_phys_access *phys, uint64_t va,
		  unsigned flags, struct emu_walk *w)
{
	struct walk_ctx c = { mode, phys, flags, 0 };
	w->writable = w->user = w->executable = true;
	w->global = false;
	w->error_code = 0;
	if (flags & EMU_WALK_WRITE)
		c.fault_bits |= EMU_PF_W;
	if (flags & EMU_WALK_USER)
		c.fault_bits |= EMU_PF_U;
	if ((flags & EMU_WALK_FETCH) &&
	    (((mode->cr4 & CR4_PAE) && (mode->efer & EFER_NXE)) || (mode->cr4 & CR4_SMEP)))
		c.fault_bits |= EMU_PF_I;
	if (!(mode->cr0 & CR0_PG)) {
		w->gpa = va & 0xffffffffull;
		w->page_size = 4096;
		return 0;
	}
	if (mode->cr4 & CR4_PAE)
		return walk_pae(&c, va, w);
	return walk_32(&c, va, w);
}
