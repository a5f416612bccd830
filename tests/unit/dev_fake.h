/* SPDX-License-Identifier: MIT */
/*
 * dev_fake.h — a stand-in for libemu's VM so the device models (emu/dev/) are unit-tested with
 * no backend linked: dev_fake.c defines emu_io_register, emu_vm_set_irq, emu_vm_request_end,
 * emu_vm_set_intr_controller (and _get_), emu_vm_kick_all, emu_vcpu_startup, emu_io_current_vcpu and
 * emu_vcpu_index over a recording struct emu_vm.
 */
#ifndef VMSCOPE_TESTS_DEV_FAKE_H
#define VMSCOPE_TESTS_DEV_FAKE_H

#include <pthread.h>

#include "emu/dev/dev.h"

#define DEVTEST_MAX_REGIONS 16

struct devtest_region {
	enum emu_io_space space;
	uint64_t base, len;
	const char *name;
	const struct emu_io_ops *ops;
	void *opaque;
};

struct emu_vm {
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* signalled on every IRQ level change and end request */
	struct devtest_region regions[DEVTEST_MAX_REGIONS];
	int nr_regions;
	int irq_level[16];
	unsigned irq_raises[16], irq_lowers[16];
	unsigned end_requests;
	enum emu_end_reason end_reason;
	int end_status;
	char end_message[256];
	const struct emu_intr_ops *intr_ops;
	void *intr_opaque;
	unsigned kicks;
	unsigned startups;		/* emu_vcpu_startup calls, and the last one's arguments */
	unsigned startup_index;
	uint8_t startup_vector;
};

/* Per-vCPU devices (the LAPIC): emu_io_current_vcpu() returns devtest_current_vcpu, and
 * emu_vcpu_index() reads this struct. */
struct emu_vcpu {
	unsigned index;
};
extern __thread struct emu_vcpu *devtest_current_vcpu;

struct emu_vm *devtest_vm_new(void);
/* An MMIO access through the registered regions (unassigned: all-ones). */
uint64_t devtest_mmio_read(struct emu_vm *vm, uint64_t addr, unsigned size);
void devtest_mmio_write(struct emu_vm *vm, uint64_t addr, unsigned size, uint64_t value);
void devtest_vm_free(struct emu_vm *vm);
/* A port access through the registered regions, as emu_io_dispatch does (unassigned: all-ones). */
uint64_t devtest_in(struct emu_vm *vm, uint16_t port, unsigned size);
void devtest_out(struct emu_vm *vm, uint16_t port, unsigned size, uint64_t value);
/* Snapshot readers (take the lock). */
int devtest_irq_level(struct emu_vm *vm, unsigned irq);
unsigned devtest_irq_raises(struct emu_vm *vm, unsigned irq);
/* Waits (handshake, not timing: the bound only keeps a broken device from hanging the test)
 * until irq has risen at least `count` times in all; returns the count seen. */
unsigned devtest_wait_irq_raises(struct emu_vm *vm, unsigned irq, unsigned count, int max_seconds);

#endif
