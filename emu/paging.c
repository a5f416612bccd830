/* SPDX-License-Identifier: MIT */
/*
 * paging.c — the x86 page-table walker (emu/paging.h). One loop walks every mode; a mode is a
 * table of levels (shift, index bits, entry size, whether a large page may end the walk there).
 */
#include <errno.h>
#include <string.h>

#include "emu/paging.h"

#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_SMEP (1ull << 20)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)

#define ADDR_MASK_64 0x000ffffffffff000ull
#define ADDR_MASK_32 0xfffff000ull

struct paging_level {
	unsigned shift;		/* bits of the address below this level's index */
	unsigned bits;		/* index width */
	bool large_ok;		/* PS may end the walk here */
	bool no_perm;		/* PAE PDPTE: no R/W, U/S, NX bits */
};

struct paging_fmt {
	unsigned nr_levels;
	unsigned entry_size;	/* 4 or 8 */
	struct paging_level level[4];
};

static const struct paging_fmt paging_32 = { 2, 4, { { 22, 10, true, false }, { 12, 10, false, false } } };
static const struct paging_fmt paging_pae = { 3, 8, { { 30, 2, false, true }, { 21, 9, true, false }, { 12, 9, false, false } } };
static const struct paging_fmt paging_4l = {
	4, 8, { { 39, 9, false, false }, { 30, 9, true, false }, { 21, 9, true, false }, { 12, 9, false, false } }
};

struct paging_walk_state {
	const struct emu_paging_mode *mode;
	const struct emu_phys_access *phys;
	const struct paging_fmt *fmt;
	unsigned flags;
	bool nxe;
	uint64_t entry_gpa[4];
	uint64_t entry[4];
	unsigned depth;		/* entries read */
};

static int paging_read_entry(struct paging_walk_state *s, uint64_t gpa, uint64_t *entry)
{
	uint32_t e32;

	if (s->fmt->entry_size == 4) {
		if (s->phys->read(s->phys->opaque, gpa, &e32, 4))
			return -EIO;
		*entry = e32;
		return 0;
	}
	return s->phys->read(s->phys->opaque, gpa, entry, 8) ? -EIO : 0;
}

static int paging_write_entry(struct paging_walk_state *s, uint64_t gpa, uint64_t entry)
{
	uint32_t e32 = (uint32_t)entry;

	if (!s->phys->write)
		return -EIO;
	if (s->fmt->entry_size == 4)
		return s->phys->write(s->phys->opaque, gpa, &e32, 4) ? -EIO : 0;
	return s->phys->write(s->phys->opaque, gpa, &entry, 8) ? -EIO : 0;
}

/* The error code bits every fault of this access carries. */
static uint32_t paging_access_code(const struct paging_walk_state *s)
{
	uint32_t code = 0;

	if (s->flags & EMU_WALK_WRITE)
		code |= EMU_PF_W;
	if (s->flags & EMU_WALK_USER)
		code |= EMU_PF_U;
	if ((s->flags & EMU_WALK_FETCH) && ((s->nxe && s->fmt->entry_size == 8) || (s->mode->cr4 & CR4_SMEP)))
		code |= EMU_PF_I;
	return code;
}

static int paging_fault(const struct paging_walk_state *s, struct emu_walk *w, uint32_t bits)
{
	w->error_code = paging_access_code(s) | bits;
	return -EFAULT;
}

/* Reserved bits of an entry that is present: NX without EFER.NXE, PS where it cannot be, the
 * low address bits of a large page. */
static bool paging_entry_is_reserved(const struct paging_walk_state *s, unsigned lvl, uint64_t e)
{
	const struct paging_level *L = &s->fmt->level[lvl];

	if (s->fmt->entry_size == 8 && (e & PTE_NX) && (!s->nxe || L->no_perm))
		return true;
	if (L->no_perm && (e & 0x1e6))	/* PAE PDPTE: bits 1, 2, 5-8 reserved */
		return true;
	if ((e & PTE_PS) && lvl + 1 < s->fmt->nr_levels) {
		if (!L->large_ok)
			return s->fmt->entry_size == 8 && !L->no_perm;
		if (s->fmt->entry_size == 4)
			return (s->mode->cr4 & CR4_PSE) && (e & (1ull << 21));
		return (e & ADDR_MASK_64 & ((1ull << L->shift) - 1) & ~0x1000ull) != 0;
	}
	return false;
}

static bool paging_is_large(const struct paging_walk_state *s, unsigned lvl, uint64_t e)
{
	const struct paging_level *L = &s->fmt->level[lvl];

	if (!(e & PTE_PS) || !L->large_ok)
		return false;
	return s->fmt->entry_size == 8 || (s->mode->cr4 & CR4_PSE);
}

static uint64_t paging_large_base(const struct paging_walk_state *s, unsigned lvl, uint64_t e)
{
	uint64_t size = 1ull << s->fmt->level[lvl].shift;

	if (s->fmt->entry_size == 4)	/* PSE-36: bits 20:13 are physical bits 39:32 */
		return (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32);
	return e & ADDR_MASK_64 & ~(size - 1);
}

static uint64_t paging_table_base(const struct paging_walk_state *s, uint64_t e)
{
	return e & (s->fmt->entry_size == 4 ? ADDR_MASK_32 : ADDR_MASK_64);
}

static uint64_t paging_root(const struct paging_walk_state *s)
{
	if (s->fmt == &paging_pae)
		return s->mode->cr3 & 0xffffffe0ull;
	return paging_table_base(s, s->mode->cr3);
}

/* Permission checks on the combined rights of the walk. */
static int paging_check(const struct paging_walk_state *s, struct emu_walk *w)
{
	unsigned f = s->flags;

	if (f & EMU_WALK_NO_CHECK)
		return 0;
	if ((f & EMU_WALK_USER) && !w->user)
		return paging_fault(s, w, EMU_PF_P);
	if ((f & EMU_WALK_WRITE) && !w->writable && ((f & EMU_WALK_USER) || (s->mode->cr0 & CR0_WP)))
		return paging_fault(s, w, EMU_PF_P);
	if ((f & EMU_WALK_FETCH) && !w->executable)
		return paging_fault(s, w, EMU_PF_P);
	if ((f & EMU_WALK_FETCH) && !(f & EMU_WALK_USER) && w->user && (s->mode->cr4 & CR4_SMEP))
		return paging_fault(s, w, EMU_PF_P);
	return 0;
}

static int paging_set_ad(struct paging_walk_state *s)
{
	for (unsigned i = 0; i < s->depth; i++) {
		uint64_t e = s->entry[i] | PTE_A;
		bool last = i + 1 == s->depth;

		if (last && (s->flags & EMU_WALK_WRITE))
			e |= PTE_D;
		if (s->fmt->level[i].no_perm)
			continue;	/* PAE PDPTEs have no A bit the CPU sets */
		if (e != s->entry[i] && paging_write_entry(s, s->entry_gpa[i], e))
			return -EIO;
	}
	return 0;
}

static void paging_accumulate(const struct paging_walk_state *s, unsigned lvl, uint64_t e, struct emu_walk *w)
{
	if (s->fmt->level[lvl].no_perm)
		return;
	w->writable &= (e & PTE_RW) != 0;
	w->user &= (e & PTE_US) != 0;
	if (s->nxe && (e & PTE_NX))
		w->executable = false;
}

static int paging_walk_levels(struct paging_walk_state *s, uint64_t va, struct emu_walk *w)
{
	uint64_t table = paging_root(s);

	for (unsigned lvl = 0; lvl < s->fmt->nr_levels; lvl++) {
		const struct paging_level *L = &s->fmt->level[lvl];
		uint64_t idx = (va >> L->shift) & ((1ull << L->bits) - 1);
		uint64_t e;
		int err;

		s->entry_gpa[lvl] = table + idx * s->fmt->entry_size;
		err = paging_read_entry(s, s->entry_gpa[lvl], &e);
		if (err)
			return err;
		s->entry[lvl] = e;
		s->depth = lvl + 1;
		if (!(e & PTE_P))
			return paging_fault(s, w, 0);
		if (paging_entry_is_reserved(s, lvl, e))
			return paging_fault(s, w, EMU_PF_P | EMU_PF_RSVD);
		paging_accumulate(s, lvl, e, w);
		if (paging_is_large(s, lvl, e) || lvl + 1 == s->fmt->nr_levels) {
			uint64_t size = 1ull << L->shift;
			uint64_t base = lvl + 1 == s->fmt->nr_levels ? paging_table_base(s, e) : paging_large_base(s, lvl, e);
			w->page_size = size;
			w->gpa = base | (va & (size - 1));
			w->global = (e & PTE_G) != 0;
			return 0;
		}
		table = paging_table_base(s, e);
	}
	return -EINVAL;	/* not reached: the last level always ends the walk */
}

static bool paging_is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

int emu_page_walk(const struct emu_paging_mode *mode, const struct emu_phys_access *phys, uint64_t va,
		  unsigned flags, struct emu_walk *w)
{
	struct paging_walk_state s = { .mode = mode, .phys = phys, .flags = flags };
	int err;

	memset(w, 0, sizeof(*w));
	w->writable = w->user = w->executable = true;
	if (!(mode->cr0 & CR0_PG)) {
		w->gpa = va & 0xffffffffull;
		w->page_size = 4096;
		return 0;
	}
	if (!(mode->cr4 & CR4_PAE))
		s.fmt = &paging_32;
	else if (mode->efer & EFER_LMA)
		s.fmt = &paging_4l;
	else
		s.fmt = &paging_pae;
	if (s.fmt == &paging_4l && !paging_is_canonical(va))
		return -EINVAL;
	if (s.fmt != &paging_4l)
		va &= 0xffffffffull;
	s.nxe = (mode->efer & EFER_NXE) && s.fmt->entry_size == 8;
	err = paging_walk_levels(&s, va, w);
	if (!err)
		err = paging_check(&s, w);
	if (!err && (flags & EMU_WALK_SET_AD))
		err = paging_set_ad(&s);
	return err;
}
