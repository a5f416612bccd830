/* SPDX-License-Identifier: MIT */
/* loader-local.h — shared by the loader's own files (Multiboot parse/load, bzImage). */
#ifndef VMSCOPE_EMU_LOADER_LOCAL_H
#define VMSCOPE_EMU_LOADER_LOCAL_H

#include "emu/loader/loader.h"

/* Fills err (code and one formatted line) and returns -errnum: every loader error goes here. */
int emu_load_fail(struct emu_load_error *err, enum emu_load_code code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
