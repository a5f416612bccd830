/* SPDX-License-Identifier: MIT */
/*
 * emu-local.h — libemu's private structures. Only files in emu/ (not emu/kvm, emu/x86 or
 * emu/dev, which see emu.h and accel.h) include this.
 */
#ifndef VMSCOPE_EMU_LOCAL_H
#define VMSCOPE_EMU_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "emu/accel.h"
#include "emu/emu.h"

/* ---- bus ---- */

struct emu_io_region {
	uint64_t base, len;
	const char *name;
	const struct emu_io_ops *ops;
	void *opaque;
	atomic_uint_fast64_t reads, writes;
};

struct emu_io_map {
	struct emu_io_region **regions;	/* sorted by base, never overlapping */
	size_t nr, cap;
	atomic_uint_fast64_t unassigned_reads, unassigned_writes;
};

struct emu_bus {
	pthread_rwlock_t lock;
	struct emu_io_map map[2];	/* indexed by enum emu_io_space */
};

int emu_bus_init(struct emu_bus *bus);
void emu_bus_fini(struct emu_bus *bus);
int emu_bus_register(struct emu_bus *bus, enum emu_io_space space, uint64_t base, uint64_t len,
		     const char *name, const struct emu_io_ops *ops, void *opaque);
/* The region containing [addr, addr+size) or NULL; bus lock held by the caller. */
struct emu_io_region *emu_bus_lookup(struct emu_io_map *map, uint64_t addr, unsigned size);
uint64_t emu_bus_access(struct emu_bus *bus, enum emu_io_space space, uint64_t addr, unsigned size,
			bool is_write, uint64_t value);
int emu_bus_stats(struct emu_bus *bus, struct emu_stat *out, int max);

/* ---- devices, destroyed in reverse creation order ---- */

struct emu_device {
	void (*destroy)(void *dev);
	void *dev;
};
#define EMU_MAX_DEVICES 16

/* ---- vCPUs ---- */

enum emu_vcpu_request {
	EMU_REQ_PAUSE = 1u << 0,	/* park until the VM resumes */
	EMU_REQ_END = 1u << 1,		/* the guest is over: leave the run loop */
	EMU_REQ_DEBUG = 1u << 2,	/* breakpoints or stepping changed: call set_debug */
	EMU_REQ_IRQ = 1u << 3,		/* an interrupt line changed: backend may inject */
	EMU_REQ_STARTUP = 1u << 4,	/* a startup IPI arrived (startup_vector) */
};

/* Per-vCPU exit counters, indexed by enum emu_exit_reason. */
#define EMU_NR_EXIT_REASONS 6

struct emu_vcpu {
	struct emu_vm *vm;
	unsigned index;
	pthread_t thread;
	bool thread_started;
	bool thread_alive;	/* under vm->lock: kicks go only to a live thread */
	void *accel_data;
	atomic_uint request;	/* enum emu_vcpu_request bits */
	bool stepping;		/* single-step one instruction (emu_vm_resume) */
	bool parked;		/* protected by vm->lock */
	bool wait_for_sipi;	/* an AP not started yet (by a startup IPI, emu_vcpu_startup) */
	atomic_uint startup_vector;	/* 0x100 | vector of the last startup IPI, 0: none */
	atomic_uint_fast64_t exits[EMU_NR_EXIT_REASONS];
};

/* ---- breakpoints ---- */

#define EMU_MAX_SW_BPS 64

struct emu_sw_bp {
	uint64_t addr;		/* linear */
	uint64_t gpa;		/* where the int3 byte was planted (when planted) */
	uint8_t orig;
	bool planted;
};

struct emu_debug_table {
	struct emu_sw_bp sw[EMU_MAX_SW_BPS];
	unsigned nr_sw;
	uint64_t sw_addrs[EMU_MAX_SW_BPS];
	unsigned nr_hw;
	struct {
		enum emu_bp_kind kind;
		uint64_t addr, len;
	} hw[EMU_MAX_HW_BPS];
	bool step_irqs;
};

/* ---- the VM ---- */

#define EMU_MAX_TIMERS 8

/* A device's timers under a virtual clock (clock.c): when it next needs polling, and the poll. */
struct emu_timer_source {
	uint64_t (*next_ns)(void *dev);
	void (*poll)(void *dev);
	void *dev;
};

struct emu_vm {
	struct emu_config cfg;
	char name[64];
	const struct accel_ops *ops;
	void *accel_data;

	uint8_t *ram;
	uint64_t ram_size;

	struct emu_bus bus;

	const struct emu_intr_ops *intr;
	void *intr_opaque;
	pthread_mutex_t intr_lock;

	struct emu_device devices[EMU_MAX_DEVICES];
	unsigned nr_devices;

	/* --clock icount (clock.c): written by vCPU 0's thread only */
	struct emu_timer_source timers[EMU_MAX_TIMERS];
	unsigned nr_timers;
	uint64_t clock_warp_ns;		/* virtual time skipped while halted */

	struct emu_vcpu **vcpus;
	unsigned nr_vcpus;

	/* run control: everything below under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	bool paused;
	bool reporting;		/* this pause's stop has been (or is being) reported */
	int step_vcpu;		/* -1, or the vCPU allowed to run one instruction while paused */
	unsigned nr_parked;
	unsigned nr_running_threads;
	bool ended;
	struct emu_end end;

	emu_reset_handler reset_fn;
	void *reset_opaque;

	emu_debug_handler debug_fn;
	void *debug_opaque;
	pthread_mutex_t debug_lock;	/* breakpoint table */
	struct emu_debug_table dbg;
};

/* vcpu.c. Lock order: vm->intr_lock, then vm->lock (the PIC kicks vCPUs under its lock); the
 * bus lock is taken before either (device callbacks raise IRQs and end the guest). */
int emu_vcpus_create(struct emu_vm *vm);
void emu_vcpus_stop(struct emu_vm *vm);		/* end the guest if running, join the threads */
void emu_vcpus_destroy(struct emu_vm *vm);
void emu_vcpu_request(struct emu_vcpu *vcpu, unsigned req);
/* Ends the guest (first caller wins); vm->lock must NOT be held. */
void emu_vm_end(struct emu_vm *vm, enum emu_end_reason reason, int status, int vcpu, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* debug.c */
void emu_debug_build_state(struct emu_vm *vm, struct emu_vcpu *vcpu, struct emu_debug_state *st);
void emu_debug_unplant_all(struct emu_vm *vm);
/* After RAM was cleared and reloaded: the planted bytes are gone; plant them again. */
void emu_debug_replant_all(struct emu_vm *vm);

/* devices.c */
int emu_vm_add_device(struct emu_vm *vm, void (*destroy)(void *), void *dev);
int emu_devices_create(struct emu_vm *vm, char *why, size_t why_len);
void emu_devices_destroy(struct emu_vm *vm);

/* clock.c: the clock functions devices are created with under cfg.icount (opaque: the VM), the
 * RTC's wall clock back to the VM clock, and the timer-source registry. */
uint64_t emu_vm_clock_now(void *vm);
uint64_t emu_vm_clock_realtime(void *vm);
uint64_t emu_vm_clock_from_realtime(uint64_t ns);
EMU_MUST_CHECK int emu_vm_add_timer(struct emu_vm *vm, uint64_t (*next_ns)(void *), void (*poll)(void *), void *dev);

#endif
