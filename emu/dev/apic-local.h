/* SPDX-License-Identifier: MIT */
/*
 * apic-local.h — the local APICs' and the I/O APIC's shared state (apic.c, ioapic.c) and a test
 * seam: a replacement clock instead of the host's, with no timer thread.
 */
#ifndef VMSCOPE_EMU_DEV_APIC_LOCAL_H
#define VMSCOPE_EMU_DEV_APIC_LOCAL_H

#include <pthread.h>

#include "emu/dev/dev.h"

#define EMU_APIC_MAX_VCPUS 64
#define EMU_IOAPIC_PINS 24
#define EMU_APIC_NO_DEADLINE UINT64_MAX

struct emu_lapic {
	uint32_t id;			/* APIC ID register (ID in bits 31-24) */
	uint32_t tpr, ldr, dfr, svr, esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[6];		/* timer, thermal, perf, LINT0, LINT1, error */
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_initial, timer_dcr;
	uint64_t timer_start_ns;	/* when the count was (re)loaded */
	uint64_t timer_deadline_ns;	/* next expiry, EMU_APIC_NO_DEADLINE */
	uint64_t init_ipis, sipi_ipis, nmi_ipis;	/* received (only SIPIs are acted on, see apic.c) */
};

struct emu_ioapic {
	uint32_t id, ioregsel;
	uint64_t redir[EMU_IOAPIC_PINS];
	uint32_t pin_level;		/* bit per pin: input line asserted */
};

struct emu_apic {
	struct emu_vm *vm;
	unsigned nr_vcpus;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool has_thread, stopping, is_controller;
	uint64_t (*now_ns)(void *);
	void *clock_opaque;
	const struct emu_intr_ops *pic_ops;	/* the 8259 behind LINT0 (ExtINT), may be NULL */
	void *pic_opaque;
	struct emu_ioapic io;
	struct emu_lapic lapic[EMU_APIC_MAX_VCPUS];
	uint64_t startup_pending;	/* startup IPIs received, bit per vCPU: started after unlocking */
	uint8_t startup_vector[EMU_APIC_MAX_VCPUS];
};

/* emu_apic_create_clocked, emu_apic_next_ns and emu_apic_poll are in dev.h (--clock icount uses them). */

/* apic.c, lock held: deliver one interrupt message to the local APICs. */
void emu_apic_deliver_locked(struct emu_apic *a, uint8_t dest, bool logical, unsigned mode, uint8_t vector,
			     bool level);
/* ioapic.c, lock held */
void emu_ioapic_reset(struct emu_ioapic *io);
uint32_t emu_ioapic_read_locked(struct emu_apic *a, uint64_t offset);
void emu_ioapic_write_locked(struct emu_apic *a, uint64_t offset, uint32_t value);
void emu_ioapic_set_pin_locked(struct emu_apic *a, unsigned pin, int level);
void emu_ioapic_eoi_locked(struct emu_apic *a, uint8_t vector);

#endif
