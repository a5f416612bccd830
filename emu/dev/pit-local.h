/* SPDX-License-Identifier: MIT */
/* pit-local.h — a test seam for the 8254 model: a replacement clock instead of the host's. */
#ifndef VMSCOPE_EMU_DEV_PIT_LOCAL_H
#define VMSCOPE_EMU_DEV_PIT_LOCAL_H

#include "emu/dev/dev.h"

#define EMU_PIT_HZ 1193182ull

/* emu_pit_create_clocked, emu_pit_next_ns and emu_pit_poll are in dev.h (--clock icount uses them). */

#endif
