/* SPDX-License-Identifier: MIT */
/*
 * ioapic.c — the 82093AA-style I/O APIC at 0xfec00000 (version 0x20, 24 pins): IOREGSEL at
 * offset 0x00, IOWIN at 0x10, the EOI register at 0x40; registers ID, version, arbitration and
 * the redirection table. Edge-triggered pins deliver on a rising edge; level-triggered ones while
 * the line is high and remote IRR is clear, which the local APIC's EOI (broadcast for vectors
 * whose TMR bit was set) or a write to the EOI register clears. Polarity is recorded but the ISA
 * lines here are logical levels (1 = asserted), as in QEMU. Reset: every pin masked.
 * Called with the emu_apic lock held (apic.c).
 */
#include "emu/dev/apic-local.h"

#define IOAPIC_VERSION (((uint32_t)(EMU_IOAPIC_PINS - 1) << 16) | 0x20)
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOEOI 0x40
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10

#define RE_MASKED (1ull << 16)
#define RE_LEVEL (1ull << 15)
#define RE_REMOTE_IRR (1ull << 14)
#define RE_DELIVERY_STATUS (1ull << 12)
#define RE_LOGICAL (1ull << 11)
#define RE_READ_ONLY (RE_REMOTE_IRR | RE_DELIVERY_STATUS)
#define DM_EXTINT 7

void emu_ioapic_reset(struct emu_ioapic *io)
{
	*io = (struct emu_ioapic){ 0 };
	for (unsigned i = 0; i < EMU_IOAPIC_PINS; i++)
		io->redir[i] = RE_MASKED;
}

/* Delivers pin's interrupt if its entry and line say so. */
static void ioapic_service(struct emu_apic *a, unsigned pin)
{
	uint64_t *e = &a->io.redir[pin];
	unsigned mode = (unsigned)(*e >> 8) & 7;

	if (*e & RE_MASKED || !(a->io.pin_level & (1u << pin)) || mode == DM_EXTINT)
		return;
	if (*e & RE_LEVEL) {
		if (*e & RE_REMOTE_IRR)
			return;
		*e |= RE_REMOTE_IRR;
	}
	emu_apic_deliver_locked(a, (uint8_t)(*e >> 56), *e & RE_LOGICAL, mode, (uint8_t)*e, *e & RE_LEVEL);
}

void emu_ioapic_set_pin_locked(struct emu_apic *a, unsigned pin, int level)
{
	uint32_t bit;
	bool was;

	if (pin >= EMU_IOAPIC_PINS)
		return;
	bit = 1u << pin;
	was = a->io.pin_level & bit;
	if (level)
		a->io.pin_level |= bit;
	else
		a->io.pin_level &= ~bit;
	if (level && (!was || (a->io.redir[pin] & RE_LEVEL)))
		ioapic_service(a, pin);
}

void emu_ioapic_eoi_locked(struct emu_apic *a, uint8_t vector)
{
	for (unsigned pin = 0; pin < EMU_IOAPIC_PINS; pin++) {
		uint64_t *e = &a->io.redir[pin];
		if ((uint8_t)*e != vector || !(*e & RE_LEVEL) || !(*e & RE_REMOTE_IRR))
			continue;
		*e &= ~RE_REMOTE_IRR;
		ioapic_service(a, pin);	/* still asserted: again */
	}
}

static uint32_t ioapic_read_reg(const struct emu_ioapic *io, uint32_t reg)
{
	unsigned pin = (reg - REG_REDIR) / 2;

	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return io->id;
	case REG_VERSION:
		return IOAPIC_VERSION;
	}
	if (reg >= REG_REDIR && pin < EMU_IOAPIC_PINS)
		return (reg & 1) ? (uint32_t)(io->redir[pin] >> 32) : (uint32_t)io->redir[pin];
	return 0;
}

static void ioapic_write_reg(struct emu_apic *a, uint32_t reg, uint32_t v)
{
	unsigned pin = (reg - REG_REDIR) / 2;
	uint64_t *e;

	if (reg == REG_ID) {
		a->io.id = v & 0x0f000000;
		return;
	}
	if (reg < REG_REDIR || pin >= EMU_IOAPIC_PINS)
		return;
	e = &a->io.redir[pin];
	if (reg & 1)
		*e = (*e & 0xffffffffull) | ((uint64_t)(v & 0xff000000) << 32);
	else
		*e = (*e & (0xffffffff00000000ull | RE_READ_ONLY)) | (v & ~(uint32_t)RE_READ_ONLY);
	if (!(*e & RE_LEVEL))
		*e &= ~RE_REMOTE_IRR;
	else
		ioapic_service(a, pin);	/* unmasking a level-triggered, asserted line delivers it */
}

uint32_t emu_ioapic_read_locked(struct emu_apic *a, uint64_t offset)
{
	if (offset == IOREGSEL)
		return a->io.ioregsel;
	if (offset == IOWIN)
		return ioapic_read_reg(&a->io, a->io.ioregsel);
	return 0;
}

void emu_ioapic_write_locked(struct emu_apic *a, uint64_t offset, uint32_t value)
{
	if (offset == IOREGSEL)
		a->io.ioregsel = value & 0xff;
	else if (offset == IOWIN)
		ioapic_write_reg(a, a->io.ioregsel, value);
	else if (offset == IOEOI)
		emu_ioapic_eoi_locked(a, (uint8_t)value);
}
