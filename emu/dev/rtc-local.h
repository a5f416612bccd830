/* SPDX-License-Identifier: MIT */
/* rtc-local.h — a test seam for the MC146818 model: a replacement for the host's wall clock. */
#ifndef VMSCOPE_EMU_DEV_RTC_LOCAL_H
#define VMSCOPE_EMU_DEV_RTC_LOCAL_H

#include "emu/dev/dev.h"

/* Like emu_rtc_create, with the wall clock (ns since the Unix epoch, UTC) from now_ns(opaque)
 * and no event thread: emu_rtc_poll() brings the flags and IRQ 8 up to the clock. */
EMU_MUST_CHECK int emu_rtc_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque,
					  struct emu_rtc **out);
void emu_rtc_poll(struct emu_rtc *r);

#endif
