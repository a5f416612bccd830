/* SPDX-License-Identifier: MIT */
/* pit-local.h — a test seam for the 8254 model: a replacement clock instead of the host's. */
#ifndef VMSCOPE_EMU_DEV_PIT_LOCAL_H
#define VMSCOPE_EMU_DEV_PIT_LOCAL_H

#include "emu/dev/dev.h"

#define EMU_PIT_HZ 1193182ull

/* Like emu_pit_create, but time comes from now_ns(opaque) and no timer thread runs:
 * emu_pit_poll() raises the IRQ 0 edge that is due, if any. */
EMU_MUST_CHECK int emu_pit_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque,
					  struct emu_pit **out);
void emu_pit_poll(struct emu_pit *p);

#endif
