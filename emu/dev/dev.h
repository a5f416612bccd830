/* SPDX-License-Identifier: MIT */
/*
 * dev.h — PC device models. A device sees only emu/emu.h: it registers PIO/MMIO regions with
 * emu_io_register() and raises interrupts with emu_vm_set_irq(); it never sees a backend.
 * Each *_create returns 0 or -errno; the device lives until emu_vm_destroy (which calls the
 * matching *_destroy in reverse order).
 */
#ifndef VMSCOPE_EMU_DEV_H
#define VMSCOPE_EMU_DEV_H

#include "emu/emu.h"

struct emu_serial;
struct emu_pic;
struct emu_pit;
struct emu_rtc;
struct emu_debug_exit;
struct emu_pci_host;
struct emu_apic;

/* 8250/16550A UART: tx to out_fd (or nowhere when -1), rx from in_fd when it is a tty/pipe. */
EMU_MUST_CHECK int emu_serial_create(struct emu_vm *vm, uint16_t base, unsigned irq, int out_fd, int in_fd,
				     struct emu_serial **out);
void emu_serial_destroy(struct emu_serial *s);

/* isa-debug-exit: a write of V ends the guest with status (V << 1) | 1, as QEMU's device does. */
EMU_MUST_CHECK int emu_debug_exit_create(struct emu_vm *vm, uint16_t base, unsigned size, struct emu_debug_exit **out);
void emu_debug_exit_destroy(struct emu_debug_exit *d);

/* Two cascaded 8259A PICs at 0x20/0xa0 (+ ELCR 0x4d0); registers itself as the intr controller. */
EMU_MUST_CHECK int emu_pic_create(struct emu_vm *vm, struct emu_pic **out);
void emu_pic_destroy(struct emu_pic *p);

/* 8254 PIT at 0x40-0x43 (+ port 0x61 speaker gate); channel 0 drives IRQ 0 from the host clock. */
EMU_MUST_CHECK int emu_pit_create(struct emu_vm *vm, struct emu_pit **out);
void emu_pit_destroy(struct emu_pit *p);

/* MC146818 CMOS RTC at 0x70/0x71, time from the host clock. */
EMU_MUST_CHECK int emu_rtc_create(struct emu_vm *vm, struct emu_rtc **out);
void emu_rtc_destroy(struct emu_rtc *r);

/* The local APICs (one per vCPU, xAPIC at 0xfee00000) and the I/O APIC (0xfec00000, 24 pins,
 * ISA IRQ n on pin n, IRQ 0 on pin 2). Create after the PIC: the APICs become the interrupt
 * controller and keep the PIC behind vCPU 0's LINT0 (ExtINT, unmasked at reset as in QEMU), so a
 * guest that never touches the APICs sees the PIC alone. A timer thread follows the host clock. */
EMU_MUST_CHECK int emu_apic_create(struct emu_vm *vm, unsigned nr_vcpus, struct emu_apic **out);
void emu_apic_destroy(struct emu_apic *a);

/* PCI configuration mechanism #1 ports 0xcf8/0xcfc with no devices (reads all-ones), and the
 * reset control register 0xcf9 (bit 2 ends the guest with EMU_END_RESET). */
EMU_MUST_CHECK int emu_pci_host_create(struct emu_vm *vm, struct emu_pci_host **out);
void emu_pci_host_destroy(struct emu_pci_host *p);

/*
 * Clocked variants (the device's time is now_ns(opaque) and it runs no timer thread): for unit
 * tests and for --clock icount, where the vCPU loop asks *_next_ns when the device next needs a
 * poll (UINT64_MAX: never, in the now_ns clock) and calls *_poll then. The RTC's clock is a
 * wall clock (ns since the Unix epoch), the others' any monotonic ns.
 */
EMU_MUST_CHECK int emu_pit_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque,
					  struct emu_pit **out);
uint64_t emu_pit_next_ns(struct emu_pit *p);
void emu_pit_poll(struct emu_pit *p);
EMU_MUST_CHECK int emu_rtc_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque,
					  struct emu_rtc **out);
uint64_t emu_rtc_next_ns(struct emu_rtc *r);
void emu_rtc_poll(struct emu_rtc *r);
EMU_MUST_CHECK int emu_apic_create_clocked(struct emu_vm *vm, unsigned nr_vcpus, uint64_t (*now_ns)(void *),
					   void *opaque, struct emu_apic **out);
uint64_t emu_apic_next_ns(struct emu_apic *a);
void emu_apic_poll(struct emu_apic *a);

#endif
