/* SPDX-License-Identifier: MIT */
/*
 * emu.h — the public interface of libemu: one guest (a VM), its vCPUs, guest memory, the
 * PIO/MMIO bus and run/stop control. Programs (vmscope), the gdb stub glue, tracing and QMP
 * use only this header. Backends (emu/kvm, emu/x86) additionally use emu/accel.h.
 *
 * Conventions: functions return 0 (or a count) on success and -errno on failure; bool only for
 * *_is_* / *_has_* predicates. Guest addresses are uint64_t and never host pointers.
 */
#ifndef VMSCOPE_EMU_H
#define VMSCOPE_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EMU_MUST_CHECK __attribute__((warn_unused_result))

struct emu_vm;
struct emu_vcpu;

/* ---- architectural state (mirrors KVM's layout without including <linux/kvm.h>) ---- */

struct emu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct emu_segment {
	uint64_t base;
	uint32_t limit;		/* byte granular, already scaled by G */
	uint16_t selector;
	uint8_t type;		/* descriptor type field (4 bits) */
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct emu_dtable {
	uint64_t base;
	uint16_t limit;
};

struct emu_sregs {
	struct emu_segment cs, ds, es, fs, gs, ss;
	struct emu_segment tr, ldt;
	struct emu_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

struct emu_fpu {
	uint8_t fpr[8][16];	/* 80-bit values, 16-byte slots as in FXSAVE */
	uint16_t fcw, fsw;
	uint8_t ftwx;		/* abridged tag word */
	uint16_t last_opcode;
	uint64_t last_ip, last_dp;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};

struct emu_dregs {
	uint64_t db[4];
	uint64_t dr6, dr7;
};

/* ---- guest description ---- */

enum emu_accel_kind {
	EMU_ACCEL_AUTO = 0,	/* KVM when usable, the interpreter otherwise */
	EMU_ACCEL_KVM,
	EMU_ACCEL_INTERP,
};

struct emu_config {
	enum emu_accel_kind accel;
	uint64_t ram_size;	/* bytes */
	unsigned nr_vcpus;
	const char *name;	/* --name, may be NULL */
	bool start_paused;	/* -S: vCPUs wait for emu_vm_resume() */
	int serial_out_fd;	/* COM1 transmit: stdout, a file, or -1 (--serial none) */
	int serial_in_fd;	/* COM1 receive, or -1 */
	bool userspace_irqchip;	/* use the userspace PIC/PIT even when the backend has its own */
	/* Guest time from the instruction count instead of the host clock (the interpreter, one
	 * vCPU): each instruction is 2^icount_shift ns, a halted vCPU skips to the next timer
	 * deadline, the RTC starts at 2000-01-01 00:00:00 UTC. Runs are then repeatable. */
	bool icount;
	unsigned icount_shift;	/* 0..10 */
};

/* Why emu_vm_wait() returned: the guest is over. Each maps to a distinct process exit status. */
enum emu_end_reason {
	EMU_END_DEBUG_EXIT = 0,	/* guest wrote to the debug-exit port; status = (value << 1) | 1 */
	EMU_END_SHUTDOWN,	/* triple fault / shutdown */
	EMU_END_INTERNAL_ERROR,	/* backend could not continue (KVM internal error, emulation failure) */
	EMU_END_FAIL_ENTRY,	/* KVM_EXIT_FAIL_ENTRY: invalid guest state */
	EMU_END_HALTED,		/* hlt with interrupts disabled: nothing can ever wake the vCPU */
	EMU_END_QUIT,		/* asked to quit (QMP quit, gdb kill, signal) */
	EMU_END_HOST_ERROR,	/* a host-side failure (ioctl, thread) */
	EMU_END_RESET,		/* the guest reset the machine (port 0xcf9): vmscope ends, it does not reboot */
};

struct emu_end {
	enum emu_end_reason reason;
	int status;		/* for DEBUG_EXIT: the guest's status; otherwise 0 */
	int vcpu;		/* the vCPU involved, or -1 */
	char message[256];	/* one human line: what happened */
};

/* ---- VM lifetime ---- */

/* Creates the VM with its RAM and vCPUs and the standard PC devices; -errno and a reason in why. */
EMU_MUST_CHECK int emu_vm_create(const struct emu_config *cfg, struct emu_vm **out, char *why, size_t why_len);
void emu_vm_destroy(struct emu_vm *vm);

const char *emu_vm_accel_name(const struct emu_vm *vm);	/* "kvm" or "interp" */
unsigned emu_vm_nr_vcpus(const struct emu_vm *vm);
struct emu_vcpu *emu_vm_vcpu(struct emu_vm *vm, unsigned index);
unsigned emu_vcpu_index(const struct emu_vcpu *vcpu);
struct emu_vm *emu_vcpu_vm(struct emu_vcpu *vcpu);

/* ---- guest physical memory: every host access is bounds checked ---- */

uint64_t emu_vm_ram_size(const struct emu_vm *vm);
EMU_MUST_CHECK int emu_vm_read_phys(struct emu_vm *vm, uint64_t gpa, void *buf, size_t len);	/* -EFAULT outside RAM */
EMU_MUST_CHECK int emu_vm_write_phys(struct emu_vm *vm, uint64_t gpa, const void *buf, size_t len);
/* A host pointer to [gpa, gpa+len) when it lies wholly in RAM, else NULL. For loaders and backends. */
void *emu_vm_phys_ptr(struct emu_vm *vm, uint64_t gpa, uint64_t len);

/* ---- PIO / MMIO bus ---- */

struct emu_io_ops {
	/* offset is relative to the region base; size is 1, 2, 4 or 8 */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

enum emu_io_space { EMU_IO_PIO = 0, EMU_IO_MMIO = 1 };

/* -EEXIST when the range overlaps a registered region, -EINVAL for an empty or wrapping range. */
EMU_MUST_CHECK int emu_io_register(struct emu_vm *vm, enum emu_io_space space, uint64_t base, uint64_t len,
				   const char *name, const struct emu_io_ops *ops, void *opaque);

/*
 * Every guest PIO/MMIO access from either backend goes through here. Unassigned accesses read as
 * all-ones, are counted (emu_vm_stats) and never fatal. Returns the value read (reads) or 0.
 */
uint64_t emu_io_dispatch(struct emu_vm *vm, struct emu_vcpu *vcpu, enum emu_io_space space,
			 uint64_t addr, unsigned size, bool is_write, uint64_t value);
/* Inside a device's read/write: the vCPU whose access emu_io_dispatch is serving on this thread
 * (NULL when the access did not come from a vCPU). Per-vCPU devices (the local APIC) use it. */
struct emu_vcpu *emu_io_current_vcpu(void);

/* ---- time ---- */

/* The guest's clock in ns: CLOCK_MONOTONIC, or the virtual time under cfg.icount. Any thread. */
uint64_t emu_vm_clock_ns(struct emu_vm *vm);
bool emu_vm_clock_is_virtual(const struct emu_vm *vm);

/* ---- interrupts ---- */

/* Drive an ISA IRQ line (0-15): to the in-kernel irqchip or the userspace PIC. Any thread. */
void emu_vm_set_irq(struct emu_vm *vm, unsigned irq, int level);

/* The userspace interrupt controller (the 8259 PIC model registers itself; the APICs (emu/dev/
 * apic.c) register on top of it and keep it behind the boot CPU's LINT0).
 * Not used when the backend has an in-kernel irqchip. */
struct emu_intr_ops {
	void (*set_irq)(void *opaque, unsigned irq, int level);
	bool (*has_pending)(void *opaque);	/* INTR line asserted (the boot CPU's, with APICs) */
	int (*ack)(void *opaque);		/* INTA cycle: returns the vector */
	/* Optional (local APICs): each vCPU's own interrupt line. NULL: only vCPU 0 has one. */
	bool (*vcpu_has_pending)(void *opaque, unsigned vcpu);
	int (*vcpu_ack)(void *opaque, unsigned vcpu);
};
void emu_vm_set_intr_controller(struct emu_vm *vm, const struct emu_intr_ops *ops, void *opaque);
/* The controller registered now (NULLs when none): a new controller chains to the old one. */
void emu_vm_get_intr_controller(struct emu_vm *vm, const struct emu_intr_ops **ops, void **opaque);
/* The backends' view of the INTR line (false when there is no userspace controller). */
bool emu_vm_intr_is_pending(struct emu_vm *vm);
int emu_vm_intr_ack(struct emu_vm *vm);
/* Per-vCPU view, for the local APICs: a backend should ask for its own vCPU with these (for
 * vCPU 0 without per-vCPU ops they equal the two above; other vCPUs then have nothing). */
bool emu_vcpu_intr_is_pending(struct emu_vcpu *vcpu);
int emu_vcpu_intr_ack(struct emu_vcpu *vcpu);
/* Wakes vCPUs that are halted or running so they notice new interrupts or requests. */
void emu_vm_kick_all(struct emu_vm *vm);
/* A startup IPI from a userspace local APIC: an AP still waiting for one starts in real mode at
 * vector << 12 (CS = vector << 8, IP = 0), on its own thread. Ignored for a vCPU already running
 * (and for vCPU 0). Call without device locks held. */
void emu_vcpu_startup(struct emu_vm *vm, unsigned index, uint8_t vector);

/* ---- registers (vCPU must be stopped, or the caller is the vCPU's own thread) ---- */

EMU_MUST_CHECK int emu_vcpu_get_regs(struct emu_vcpu *vcpu, struct emu_regs *regs);
EMU_MUST_CHECK int emu_vcpu_set_regs(struct emu_vcpu *vcpu, const struct emu_regs *regs);
EMU_MUST_CHECK int emu_vcpu_get_sregs(struct emu_vcpu *vcpu, struct emu_sregs *sregs);
EMU_MUST_CHECK int emu_vcpu_set_sregs(struct emu_vcpu *vcpu, const struct emu_sregs *sregs);
EMU_MUST_CHECK int emu_vcpu_get_fpu(struct emu_vcpu *vcpu, struct emu_fpu *fpu);
EMU_MUST_CHECK int emu_vcpu_set_fpu(struct emu_vcpu *vcpu, const struct emu_fpu *fpu);
EMU_MUST_CHECK int emu_vcpu_get_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value);
EMU_MUST_CHECK int emu_vcpu_set_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t value);

/* Prints a full register dump (general, segment, control registers) in one block. */
void emu_vcpu_dump(struct emu_vcpu *vcpu, FILE *out);

/* ---- virtual addresses (through the vCPU's current paging mode) ---- */

enum emu_access { EMU_ACC_READ = 0, EMU_ACC_WRITE = 1, EMU_ACC_FETCH = 2 };

/* Translate without side effects (no A/D updates). -EFAULT when not mapped. */
EMU_MUST_CHECK int emu_vcpu_translate(struct emu_vcpu *vcpu, uint64_t gva, enum emu_access acc, uint64_t *gpa);
/* Byte ranges by virtual address, split at page boundaries; -EFAULT on the first unmapped page. */
EMU_MUST_CHECK int emu_vcpu_read_virt(struct emu_vcpu *vcpu, uint64_t gva, void *buf, size_t len);
EMU_MUST_CHECK int emu_vcpu_write_virt(struct emu_vcpu *vcpu, uint64_t gva, const void *buf, size_t len);

/* ---- run control (all-stop) ---- */

/* Starts the vCPU threads (paused if cfg.start_paused). */
EMU_MUST_CHECK int emu_vm_start(struct emu_vm *vm);
/* Blocks until the guest is over. */
void emu_vm_wait(struct emu_vm *vm, struct emu_end *end);
/* Ends the guest from any thread (QMP quit, gdb kill, SIGINT). */
void emu_vm_request_end(struct emu_vm *vm, enum emu_end_reason reason, int status, const char *message);

/* Stops every vCPU; returns once all are parked outside guest mode. Idempotent. The caller knows
 * the VM stopped: the debug handler is not called (EMU_DBG_PAUSED is for the caller's own stop
 * reply). Not from the debug handler itself (it runs on a vCPU thread that is not parked yet).
 * A debug event racing with a pause is dropped; a breakpoint fires again after resume. */
EMU_MUST_CHECK int emu_vm_pause(struct emu_vm *vm);
/* Resumes all vCPUs. With step_vcpu >= 0 only that vCPU executes one instruction and the VM stops
 * again (reported through the debug handler as EMU_DBG_STEP); -EBUSY unless the VM is paused,
 * -EINVAL for no such vCPU, -ESRCH once the guest is over. */
EMU_MUST_CHECK int emu_vm_resume(struct emu_vm *vm, int step_vcpu);
bool emu_vm_is_paused(const struct emu_vm *vm);
/* system_reset: pauses the VM, clears RAM, calls the reset handler (which reloads the image and
 * sets the boot vCPU up again), re-plants software breakpoints and resumes unless the VM was
 * paused. -EOPNOTSUPP without a handler. Devices keep their state; with --smp the APs are not
 * reset. */
EMU_MUST_CHECK int emu_vm_reset(struct emu_vm *vm);
typedef int (*emu_reset_handler)(void *opaque, struct emu_vm *vm);
void emu_vm_set_reset_handler(struct emu_vm *vm, emu_reset_handler fn, void *opaque);

/* ---- debugging ---- */

enum emu_bp_kind {
	EMU_BP_SW = 0,		/* software breakpoint (int3 under KVM, a table lookup in the interpreter) */
	EMU_BP_HW,		/* execute breakpoint in a debug register */
	EMU_WP_WRITE,
	EMU_WP_READ,
	EMU_WP_ACCESS,
};

enum emu_debug_reason {
	EMU_DBG_STEP = 0,
	EMU_DBG_SWBREAK,
	EMU_DBG_HWBREAK,
	EMU_DBG_WATCH_WRITE,
	EMU_DBG_WATCH_READ,
	EMU_DBG_WATCH_ACCESS,
	EMU_DBG_PAUSED,		/* stopped by emu_vm_pause() (gdb Ctrl-C) */
};

struct emu_debug_event {
	enum emu_debug_reason reason;
	unsigned vcpu;
	uint64_t addr;		/* breakpoint / watched address */
};

/* Called once per stop, from a vCPU thread, after every other vCPU has been parked; the VM stays
 * paused until emu_vm_resume(), which may be called from the handler or any other thread.
 * Host quirk: under a nested PVM KVM, stepping over an instruction that exits to user space
 * (in/out, MMIO) may execute the next instruction too before the step is reported. */
typedef void (*emu_debug_handler)(void *opaque, const struct emu_debug_event *ev);
void emu_vm_set_debug_handler(struct emu_vm *vm, emu_debug_handler fn, void *opaque);

/* -ENOSPC when no debug register is free, -EOPNOTSUPP when the backend/host cannot do that kind
 * (the reason is in why). A breakpoint is never reported as set when it cannot fire. */
EMU_MUST_CHECK int emu_vm_insert_breakpoint(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len,
					    char *why, size_t why_len);
EMU_MUST_CHECK int emu_vm_remove_breakpoint(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len);
/* When false (the default), single-steps do not enter interrupt handlers. */
void emu_vm_set_step_irqs(struct emu_vm *vm, bool allow);
/* Memory as the debugger sees it: software breakpoint bytes planted by the backend are hidden. */
EMU_MUST_CHECK int emu_vm_debug_read_virt(struct emu_vm *vm, unsigned vcpu, uint64_t gva, void *buf, size_t len);

/* ---- statistics (for QMP query-stats, gdb monitor stats, kvmstat) ---- */

struct emu_stat {
	const char *name;
	uint64_t value;
};
/* Fills up to max counters (exits by reason, io by device, instructions, unassigned accesses);
 * returns how many there are. */
int emu_vm_stats(struct emu_vm *vm, struct emu_stat *out, int max);
/* A new file descriptor on the KVM binary statistics of the VM (vcpu < 0) or of one vCPU
 * (decode with debugfs/debugfs.h dbgfs_binstats_*); -EOPNOTSUPP without KVM. The caller closes it. */
EMU_MUST_CHECK int emu_vm_stats_fd(struct emu_vm *vm, int vcpu);

#endif
