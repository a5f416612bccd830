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
static void dev_pic_destroy(void *d) { emu_pic_destroy(d); }
static void dev_pit_destroy(void *d) { emu_pit_destroy(d); }
static void dev_rtc_destroy(void *d) { emu_rtc_destroy(d); }
static void dev_pci_destroy(void *d) { emu_pci_host_destroy(d); }
static void dev_apic_destroy(void *d) { emu_apic_destroy(d); }

static int dev_serial(struct emu_vm *vm, void **out)
{
	return emu_serial_create(vm, EMU_COM1_BASE, EMU_COM1_IRQ, vm->cfg.serial_out_fd, vm->cfg.serial_in_fd,
				 (struct emu_serial **)out);
}
static int dev_debug_exit(struct emu_vm *vm, void **out)
{
	return emu_debug_exit_create(vm, EMU_DEBUG_EXIT_BASE, EMU_DEBUG_EXIT_SIZE, (struct emu_debug_exit **)out);
}
static int dev_pic(struct emu_vm *vm, void **out) { return emu_pic_create(vm, (struct emu_pic **)out); }

/* Under --clock icount the timer devices take the virtual clock and register their deadlines
 * (emu/clock.c) instead of running timer threads on the host clock. */
static uint64_t pit_next(void *d) { return emu_pit_next_ns(d); }
static void pit_poll(void *d) { emu_pit_poll(d); }
static uint64_t rtc_next(void *d) { return emu_vm_clock_from_realtime(emu_rtc_next_ns(d)); }
static void rtc_poll(void *d) { emu_rtc_poll(d); }
static uint64_t apic_next(void *d) { return emu_apic_next_ns(d); }
static void apic_poll(void *d) { emu_apic_poll(d); }

static int dev_pit(struct emu_vm *vm, void **out)
{
	int err;

	if (!vm->cfg.icount)
		return emu_pit_create(vm, (struct emu_pit **)out);
	err = emu_pit_create_clocked(vm, emu_vm_clock_now, vm, (struct emu_pit **)out);
	return err ? err : emu_vm_add_timer(vm, pit_next, pit_poll, *out);
}
static int dev_rtc(struct emu_vm *vm, void **out)
{
	int err;

	if (!vm->cfg.icount)
		return emu_rtc_create(vm, (struct emu_rtc **)out);
	err = emu_rtc_create_clocked(vm, emu_vm_clock_realtime, vm, (struct emu_rtc **)out);
	return err ? err : emu_vm_add_timer(vm, rtc_next, rtc_poll, *out);
}
static int dev_apic(struct emu_vm *vm, void **out)
{
	int err;

	if (!vm->cfg.icount)
		return emu_apic_create(vm, vm->cfg.nr_vcpus, (struct emu_apic **)out);
	err = emu_apic_create_clocked(vm, vm->cfg.nr_vcpus, emu_vm_clock_now, vm, (struct emu_apic **)out);
	return err ? err : emu_vm_add_timer(vm, apic_next, apic_poll, *out);
}
static int dev_pci(struct emu_vm *vm, void **out) { return emu_pci_host_create(vm, (struct emu_pci_host **)out); }

/* In creation order; the PIC and PIT only when the backend has no in-kernel irqchip. */
enum dev_when { DEV_ALWAYS, DEV_NO_KERNEL_IRQCHIP, DEV_NO_KERNEL_PIT };

static const struct {
	const char *name;
	int (*create)(struct emu_vm *vm, void **out);
	void (*destroy)(void *dev);
	enum dev_when when;
} emu_standard_devices[] = {
	{ "8259 PIC", dev_pic, dev_pic_destroy, DEV_NO_KERNEL_IRQCHIP },
	{ "local APICs and I/O APIC", dev_apic, dev_apic_destroy, DEV_NO_KERNEL_IRQCHIP },
	{ "8254 PIT", dev_pit, dev_pit_destroy, DEV_NO_KERNEL_PIT },
	{ "MC146818 RTC", dev_rtc, dev_rtc_destroy, DEV_ALWAYS },
	{ "8250 UART (COM1)", dev_serial, dev_serial_destroy, DEV_ALWAYS },
	{ "isa-debug-exit", dev_debug_exit, dev_debug_exit_destroy, DEV_ALWAYS },
	{ "PCI host ports and reset register", dev_pci, dev_pci_destroy, DEV_ALWAYS },
};

int emu_devices_create(struct emu_vm *vm, char *why, size_t why_len)
{
	bool kernel_irqchip = vm->ops->has_irqchip && vm->ops->has_irqchip(vm);
	bool kernel_pit = vm->ops->has_kernel_pit ? vm->ops->has_kernel_pit(vm) : kernel_irqchip;

	for (size_t i = 0; i < sizeof(emu_standard_devices) / sizeof(emu_standard_devices[0]); i++) {
		enum dev_when when = emu_standard_devices[i].when;
		void *dev = NULL;
		int err;

		if ((when == DEV_NO_KERNEL_IRQCHIP && kernel_irqchip) || (when == DEV_NO_KERNEL_PIT && kernel_pit))
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
