/* SPDX-License-Identifier: MIT */
/*
 * accel.h — the backend interface. Exactly two definitions of struct accel_ops exist:
 * emu/kvm (KVM, /dev/kvm) and emu/x86 (the interpreter). The core (emu/machine.c) owns the
 * vCPU loop: it calls vcpu_run, handles the exit, and calls vcpu_run again. Backends deliver
 * guest PIO/MMIO through emu_io_dispatch() and never call devices directly.
 */
#ifndef VMSCOPE_EMU_ACCEL_H
#define VMSCOPE_EMU_ACCEL_H

#include "emu/emu.h"

enum emu_exit_reason {
	EMU_EXIT_REQUEST = 0,	/* kicked, or emu_vcpu_has_request(): the core looks at its flags */
	EMU_EXIT_HLT,		/* hlt: the core sleeps until an interrupt or request arrives */
	EMU_EXIT_DEBUG,		/* single-step / breakpoint / watchpoint: exit.debug */
	EMU_EXIT_SHUTDOWN,	/* triple fault */
	EMU_EXIT_INTERNAL_ERROR,/* exit.error.message says what */
	EMU_EXIT_FAIL_ENTRY,
};

struct emu_exit {
	enum emu_exit_reason reason;
	union {
		struct {
			enum emu_debug_reason reason;
			uint64_t addr;
		} debug;
		struct {
			uint64_t code;		/* backend specific (KVM suberror, hardware entry reason) */
			char message[160];
		} error;
	};
};

/* What the debugger wants from a vCPU; the core builds it from its breakpoint table. */
#define EMU_MAX_HW_BPS 4
struct emu_debug_state {
	bool single_step;
	bool step_irqs;		/* deliver interrupts while single-stepping */
	unsigned nr_sw;
	const uint64_t *sw_addrs;	/* linear addresses */
	unsigned nr_hw;
	struct {
		enum emu_bp_kind kind;	/* EMU_BP_HW or EMU_WP_* */
		uint64_t addr;
		uint64_t len;		/* 1, 2, 4 or 8 */
	} hw[EMU_MAX_HW_BPS];
};

struct accel_ops {
	const char *name;
	/* 0 when usable here; otherwise -errno and one line (what, why, how to fix) in why. */
	int (*probe)(char *why, size_t why_len);
	int (*vm_init)(struct emu_vm *vm, char *why, size_t why_len);
	void (*vm_destroy)(struct emu_vm *vm);
	int (*vcpu_init)(struct emu_vcpu *vcpu);
	void (*vcpu_destroy)(struct emu_vcpu *vcpu);
	/* Runs the guest until an exit the core must see. Called on the vCPU's own thread. */
	int (*vcpu_run)(struct emu_vcpu *vcpu, struct emu_exit *exit);
	/* Any thread: make vcpu_run return EMU_EXIT_REQUEST soon. */
	void (*kick)(struct emu_vcpu *vcpu);

	int (*get_regs)(struct emu_vcpu *vcpu, struct emu_regs *regs);
	int (*set_regs)(struct emu_vcpu *vcpu, const struct emu_regs *regs);
	int (*get_sregs)(struct emu_vcpu *vcpu, struct emu_sregs *sregs);
	int (*set_sregs)(struct emu_vcpu *vcpu, const struct emu_sregs *sregs);
	int (*get_fpu)(struct emu_vcpu *vcpu, struct emu_fpu *fpu);
	int (*set_fpu)(struct emu_vcpu *vcpu, const struct emu_fpu *fpu);
	int (*get_msr)(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value);
	int (*set_msr)(struct emu_vcpu *vcpu, uint32_t index, uint64_t value);
	int (*get_dregs)(struct emu_vcpu *vcpu, struct emu_dregs *dregs);

	int (*set_debug)(struct emu_vcpu *vcpu, const struct emu_debug_state *dbg);
	/* Optional, any thread: 0 when breakpoints of this kind can fire on this host, else
	 * -EOPNOTSUPP and the reason in why. NULL means every kind works. */
	int (*check_debug)(struct emu_vm *vm, enum emu_bp_kind kind, char *why, size_t why_len);
	/* EMU_ACCEL_* flags below. */
	unsigned flags;

	/* In-kernel irqchip: has_irqchip is true after vm_init when the backend routes IRQ lines
	 * itself (then no userspace PIC/PIT is created). */
	bool (*has_irqchip)(struct emu_vm *vm);
	/* Whether the backend also emulates the 8254 PIT itself (NULL: same as has_irqchip). With an
	 * irqchip but no PIT, the core's PIT model drives IRQ 0 through set_irq_line. */
	bool (*has_kernel_pit)(struct emu_vm *vm);
	void (*set_irq_line)(struct emu_vm *vm, unsigned irq, int level);

	/* Optional: guest RAM [gpa, gpa+len) was written by the host (loader, debugger); a backend
	 * that caches decoded code drops it. */
	void (*phys_written)(struct emu_vm *vm, uint64_t gpa, size_t len);

	/* Instructions the vCPU has retired: the virtual clock of cfg.icount. NULL: the backend
	 * cannot count them (cfg.icount is then refused). */
	uint64_t (*icount)(struct emu_vcpu *vcpu);
	/* Backend counters appended to emu_vm_stats (may be NULL). */
	int (*stats)(struct emu_vm *vm, struct emu_stat *out, int max);
	/* A new KVM binary-statistics fd (KVM_GET_STATS_FD) of the VM (vcpu < 0) or a vCPU; may be NULL. */
	int (*stats_fd)(struct emu_vm *vm, int vcpu);
};

/* The core plants an int3 (0xcc) byte at each software breakpoint, hides it from debugger reads
 * and expects the backend to report the #BP as EMU_DBG_SWBREAK (KVM). Without the flag the
 * backend matches emu_debug_state.sw_addrs itself (the interpreter). */
#define EMU_ACCEL_PLANT_SW_BP (1u << 0)

extern const struct accel_ops emu_kvm_accel_ops;
extern const struct accel_ops emu_interp_accel_ops;

/* ---- what the core offers backends ---- */
/* Formats one line (what, why, how to fix) into why when the caller gave a buffer. */
void emu_why(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint8_t *emu_vm_ram(struct emu_vm *vm);
const struct emu_config *emu_vm_config(const struct emu_vm *vm);
void *emu_vm_accel_data(struct emu_vm *vm);
void emu_vm_set_accel_data(struct emu_vm *vm, void *data);
void *emu_vcpu_accel_data(struct emu_vcpu *vcpu);
void emu_vcpu_set_accel_data(struct emu_vcpu *vcpu, void *data);
/* Under cfg.icount (emu/clock.c), for the backend's run loop on vCPU 0: the earliest device
 * timer deadline (EMU_NO_DEADLINE: none), firing every timer that is due, and skipping the
 * virtual clock forward to ns while the vCPU is halted. */
#define EMU_NO_DEADLINE UINT64_MAX
uint64_t emu_vm_timers_next_ns(struct emu_vm *vm);
void emu_vm_timers_poll(struct emu_vm *vm);
void emu_vm_clock_skip_to(struct emu_vm *vm, uint64_t ns);

/* Cheap (one relaxed atomic load): the core wants vcpu_run to return EMU_EXIT_REQUEST. */
bool emu_vcpu_has_request(const struct emu_vcpu *vcpu);

#endif
