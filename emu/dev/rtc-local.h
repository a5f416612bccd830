/* SPDX-License-Identifier: MIT */
/* rtc-local.h — a test seam for the MC146818 model: a replacement for the host's wall clock. */
#ifndef VMSCOPE_EMU_DEV_RTC_LOCAL_H
#define VMSCOPE_EMU_DEV_RTC_LOCAL_H

#include "emu/dev/dev.h"

/* emu_rtc_create_clocked, emu_rtc_next_ns and emu_rtc_poll are in dev.h (--clock icount uses them). */

#endif
