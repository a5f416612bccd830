/* SPDX-License-Identifier: MIT */
/*
 * devices.c — the standard PC devices every VM gets, created in order and destroyed in reverse.
 * The userspace PIC and PIT exist only when the backend has no in-kernel irqchip.
 */
#include <errno.h>
#include <string.h>

#include "emu/dev/dev.h"
#include "emu/emu-local.h"

#define EMU_COM1_BASE 0x3f8
#define EMU_COM1_IRQ 4
#define EMU_DEBUG_EXIT_BASE 0xf4
#define EMU_DEBUG_EXIT_SIZE 4

int emu_vm_add_device(struct emu_vm *vm, void (*destroy)(void *), void *dev)
{
	if (vm->nr_devices == EMU_MAX_DEVICES)
		return -ENOSPC;
	vm->devices[vm->nr_devices++] = (struct emu_device){ .destroy = destroy, .dev = dev };
	return 0;
}

void emu_devices_destroy(struct emu_vm *vm)
{
	while (vm->nr_devices > 0) {
		struct emu_device *d = &vm->devices[--vm->nr_devices];
		d->destroy(d->dev);
	}
}

static void dev_serial_destroy(void *d) { emu_serial_destroy(d); }
static void dev_debug_exit_destroy(void *d) { emu_debug_exit_destroy(d); }

static int dev_serial(struct emu_vm *vm, void **out)
{
	return emu_serial_create(vm, EMU_COM1_BASE, EMU_COM1_IRQ, vm->cfg.serial_out_fd, vm->cfg.serial_in_fd,
				 (struct emu_serial **)out);
}
static int dev_debug_exit(struct emu_vm *vm, void **out)
{
	return emu_debug_exit_create(vm, EMU_DEBUG_EXIT_BASE, EMU_DEBUG_EXIT_SIZE, (struct emu_debug_exit **)out);
}

/* The PIC and PIT (userspace_irqchip_only) and the RTC join this table as emu/dev provides them. */
static const struct {
	const char *name;
	int (*create)(struct emu_vm *vm, void **out);
	void (*destroy)(void *dev);
	bool userspace_irqchip_only;
} emu_standard_devices[] = {
	{ "8250 UART (COM1)", dev_serial, dev_serial_destroy, false },
	{ "isa-debug-exit", dev_debug_exit, dev_debug_exit_destroy, false },
};

int emu_devices_create(struct emu_vm *vm, char *why, size_t why_len)
{
	bool kernel_irqchip = vm->ops->has_irqchip && vm->ops->has_irqchip(vm);

	for (size_t i = 0; i < sizeof(emu_standard_devices) / sizeof(emu_standard_devices[0]); i++) {
		void *dev = NULL;
		int err;

		if (emu_standard_devices[i].userspace_irqchip_only && kernel_irqchip)
			continue;
		err = emu_standard_devices[i].create(vm, &dev);
		if (!err)
			err = emu_vm_add_device(vm, emu_standard_devices[i].destroy, dev);
		if (err) {
			if (dev && err == -ENOSPC)
				emu_standard_devices[i].destroy(dev);
			snprintf(why, why_len, "cannot create the %s: %s", emu_standard_devices[i].name, strerror(-err));
			return err;
		}
	}
	return 0;
}
