/* SPDX-License-Identifier: MIT */
/*
 * paging.h — the x86 page-table walker shared by the interpreter's MMU (on a TLB miss) and
 * emu_vcpu_translate() (the debugger's view). Handles no paging, 32-bit (with PSE), PAE and
 * 4-level paging, with U/S, R/W, NX, CR0.WP and CR4.SMEP checked here; SMAP (which depends on
 * EFLAGS.AC) is left to the caller. Accessed/Dirty bits are set only on a successful walk.
 */
#ifndef VMSCOPE_EMU_PAGING_H
#define VMSCOPE_EMU_PAGING_H

#include <stdbool.h>
#include <stdint.h>

struct emu_paging_mode {
	uint64_t cr0, cr3, cr4, efer;
};

/* Physical memory as the walker sees it: 0 or -EFAULT. */
struct emu_phys_access {
	int (*read)(void *opaque, uint64_t gpa, void *buf, unsigned len);
	int (*write)(void *opaque, uint64_t gpa, const void *buf, unsigned len);
	void *opaque;
};

#define EMU_PF_P    (1u << 0)	/* page-fault error code bits */
#define EMU_PF_W    (1u << 1)
#define EMU_PF_U    (1u << 2)
#define EMU_PF_RSVD (1u << 3)
#define EMU_PF_I    (1u << 4)

struct emu_walk {
	uint64_t gpa;
	uint64_t page_size;	/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	bool writable, user, executable, global;
	uint32_t error_code;	/* on fault: the #PF error code */
};

enum emu_walk_flags {
	EMU_WALK_WRITE = 1 << 0,
	EMU_WALK_USER = 1 << 1,		/* CPL 3 access */
	EMU_WALK_FETCH = 1 << 2,
	EMU_WALK_SET_AD = 1 << 3,	/* set Accessed/Dirty bits as the CPU does */
	EMU_WALK_NO_CHECK = 1 << 4,	/* translate only: ignore permissions (debugger) */
};

/* 0 and *w filled, or -EFAULT with w->error_code (a #PF), or -EIO when a table is outside RAM,
 * or -EINVAL for a non-canonical address under 4-level paging (a #GP, not a #PF). */
int emu_page_walk(const struct emu_paging_mode *mode, const struct emu_phys_access *phys,
		  uint64_t va, unsigned flags, struct emu_walk *w);

#endif
