/* SPDX-License-Identifier: MIT */
/*
 * debug_exit.c — QEMU's isa-debug-exit: a write of V (masked to the access size) ends the guest
 * with status (V << 1) | 1, so a guest's 0 ("success") makes the emulator exit 1. Reads give 0.
 */
#include <errno.h>
#include <stdlib.h>

#include "emu/dev/dev.h"

struct emu_debug_exit {
	struct emu_vm *vm;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_debug_exit *d = opaque;
	uint64_t v = size >= 8 ? value : value & ((1ull << (size * 8)) - 1);
	char msg[96];

	snprintf(msg, sizeof(msg), "guest wrote 0x%llx to the debug-exit port: exit status %d",
		 (unsigned long long)v, (int)((v << 1) | 1));
	emu_vm_request_end(d->vm, EMU_END_DEBUG_EXIT, (int)((v << 1) | 1), msg);
}

static const struct emu_io_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

int emu_debug_exit_create(struct emu_vm *vm, uint16_t base, unsigned size, struct emu_debug_exit **out)
{
	struct emu_debug_exit *d;
	int err;

	if (size == 0 || base + size > 0x10000)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	err = emu_io_register(vm, EMU_IO_PIO, base, size, "isa-debug-exit", &debug_exit_ops, d);
	if (err) {
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

void emu_debug_exit_destroy(struct emu_debug_exit *d)
{
	free(d);
}
