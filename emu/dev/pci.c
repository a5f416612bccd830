/* SPDX-License-Identifier: MIT */
/*
 * pci.c — the PCI host's I/O ports with no PCI devices behind them:
 *   0xcf8 (dword)  CONFIG_ADDRESS of configuration mechanism #1: bit 31 enable, bus 23-16,
 *                  device 15-11, function 10-8, register 7-2; reads back what was written
 *                  (reserved bits 30-24 and 1-0 read 0), so Linux's pci_check_type1() finds
 *                  mechanism #1, then its sanity check finds no host bridge and no devices.
 *   0xcfc-0xcff    CONFIG_DATA: every read is all-ones ("no device here"), writes are ignored.
 *   0xcf9 (byte)   the reset control register (PIIX/ICH RCR): bits 1-3 read back; a write with
 *                  bit 2 (reset CPU) set is a hard reset request. vmscope does not reboot a guest:
 *                  the request ends it (EMU_END_RESET). Linux uses it with reboot=p ("pci").
 * Other byte/word accesses to 0xcf8-0xcfb read all-ones and are ignored, as on a PIIX.
 */
#include <errno.h>
#include <stdlib.h>

#include "emu/dev/dev.h"

#define PCI_BASE 0xcf8
#define PCI_LEN 8
#define PCI_ADDR_MASK 0x80fffffcu
#define PCI_RCR_OFFSET 1
#define PCI_RCR_MASK 0x0e
#define PCI_RCR_RESET 0x04

struct emu_pci_host {
	struct emu_vm *vm;
	uint32_t config_address;
	uint8_t rcr;
};

static uint64_t pci_ones(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static uint64_t pci_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_pci_host *p = opaque;

	if (offset == 0 && size == 4)
		return p->config_address;
	if (offset == PCI_RCR_OFFSET && size == 1)
		return p->rcr;
	return pci_ones(size);	/* CONFIG_DATA with no devices, and odd accesses */
}

static void pci_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_pci_host *p = opaque;

	if (offset == 0 && size == 4) {
		p->config_address = (uint32_t)value & PCI_ADDR_MASK;
	} else if (offset == PCI_RCR_OFFSET && size == 1) {
		p->rcr = (uint8_t)value & PCI_RCR_MASK;
		if (value & PCI_RCR_RESET)
			emu_vm_request_end(p->vm, EMU_END_RESET, 0,
					   "guest reset the machine (port 0xcf9): vmscope ends instead of rebooting");
	}
}

static const struct emu_io_ops pci_ops = {
	.read = pci_read,
	.write = pci_write,
};

int emu_pci_host_create(struct emu_vm *vm, struct emu_pci_host **out)
{
	struct emu_pci_host *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	err = emu_io_register(vm, EMU_IO_PIO, PCI_BASE, PCI_LEN, "pci-host", &pci_ops, p);
	if (err) {
		free(p);
		return err;
	}
	*out = p;
	return 0;
}

void emu_pci_host_destroy(struct emu_pci_host *p)
{
	free(p);
}
