/* SPDX-License-Identifier: MIT */
/* gdb-local.h — private to the gdb module of vmscope (gdb.c, gdb-decode.c). */
#ifndef VMSCOPE_GDB_LOCAL_H
#define VMSCOPE_GDB_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/emu.h"

struct vgdb_access {
	uint64_t addr, len;	/* linear address */
	bool read, write;
};

/* Memory operands of the instruction in code (at g->rip): up to max of them, or -1 when the
 * bytes do not decode. */
int vmscope_gdb_insn_accesses(const struct emu_regs *g, const struct emu_sregs *s, const uint8_t *code, size_t len,
		       struct vgdb_access *out, int max);

#endif
