/* SPDX-License-Identifier: MIT */
/*
 * kvm-run.c — KVM_RUN until an exit the core must see. PIO and MMIO exits are served here
 * through emu_io_dispatch(); interrupts from a userspace PIC are injected here.
 *
 * Kicks: emu_kvm_kick() sets kvm_run.immediate_exit and signals the vCPU thread. The loop clears
 * immediate_exit *before* testing the core's request word, so a request made after the test
 * still makes the next KVM_RUN return at once.
 *
 * The kick signal is blocked in the vCPU thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK), and
 * eaten with sigtimedwait() after KVM_RUN returns: it is never delivered, so it cannot interrupt
 * a device's system call on the vCPU thread, and a debugger attached to vmscope never stops on it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "emu/kvm/kvm-local.h"
#include "emu/trace-events.h"

void emu_kvm_kick(struct emu_vcpu *vcpu)
{
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);

	if (!v || !v->run)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->thread_known))
		pthread_kill(v->thread, emu_kvm_kick_signal);
}

static void kvm_pio(struct emu_vcpu *vcpu, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t value = 0;

		if (is_write)
			memcpy(&value, data, size);
		value = emu_io_dispatch(emu_vcpu_vm(vcpu), vcpu, EMU_IO_PIO, run->io.port, size, is_write, value);
		if (!is_write)
			memcpy(data, &value, size);
	}
}

static void kvm_mmio(struct emu_vcpu *vcpu, struct kvm_run *run)
{
	unsigned len = run->mmio.len > 8 ? 8 : run->mmio.len;
	uint64_t value = 0;

	if (run->mmio.is_write)
		memcpy(&value, run->mmio.data, len);
	value = emu_io_dispatch(emu_vcpu_vm(vcpu), vcpu, EMU_IO_MMIO, run->mmio.phys_addr, len, run->mmio.is_write,
				value);
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &value, len);
}

/* Userspace PIC: inject when the guest can take it, else ask for an interrupt window. */
static void kvm_inject_irq(struct emu_vcpu *vcpu, struct kvm_vcpu_data *v)
{
	struct emu_vm *vm = emu_vcpu_vm(vcpu);
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	bool pending;

	if (k->irqchip)
		return;
	pending = emu_vcpu_intr_is_pending(vcpu);	/* vCPU 0's INTR, or its own LAPIC's */

	if (pending && v->run->ready_for_interrupt_injection && v->run->if_flag) {
		int vector = emu_vcpu_intr_ack(vcpu);
		if (vector >= 0) {
			struct kvm_interrupt irq = { .irq = (uint32_t)vector };
			(void)!ioctl(v->fd, KVM_INTERRUPT, &irq);
			trace_irq_deliver(emu_vcpu_index(vcpu), irq.irq);
		}
		pending = emu_vcpu_intr_is_pending(vcpu);
	}
	v->run->request_interrupt_window = pending;
}

static const char *const kvm_internal_suberrors[] = {
	[KVM_INTERNAL_ERROR_EMULATION] = "emulation failure",
	[KVM_INTERNAL_ERROR_SIMUL_EX] = "simultaneous exceptions",
	[KVM_INTERNAL_ERROR_DELIVERY_EV] = "exception delivery failed",
	[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected exit reason",
};

static void kvm_internal_error(const struct kvm_run *run, struct emu_exit *ex)
{
	uint32_t sub = run->internal.suberror;
	const char *name = sub < sizeof(kvm_internal_suberrors) / sizeof(kvm_internal_suberrors[0]) &&
				   kvm_internal_suberrors[sub] ? kvm_internal_suberrors[sub] : "unknown";
	int n;

	ex->reason = EMU_EXIT_INTERNAL_ERROR;
	ex->error.code = sub;
	n = snprintf(ex->error.message, sizeof(ex->error.message), "KVM_EXIT_INTERNAL_ERROR suberror %u (%s)", sub, name);
	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && n > 0 && (size_t)n < sizeof(ex->error.message); i++)
		n += snprintf(ex->error.message + n, sizeof(ex->error.message) - (size_t)n, "%s0x%llx",
			      i ? " " : ", data ", (unsigned long long)run->internal.data[i]);
}

static void kvm_debug_exit(struct kvm_vcpu_data *v, const struct kvm_run *run, struct emu_exit *ex)
{
	const struct kvm_debug_exit_arch *d = &run->debug.arch;

	ex->reason = EMU_EXIT_DEBUG;
	ex->debug.addr = d->pc;
	if (d->exception == 3) {
		ex->debug.reason = EMU_DBG_SWBREAK;
		return;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (d->dr6 & (1u << i)) {
			static const enum emu_debug_reason by_kind[] = {
				[EMU_BP_SW] = EMU_DBG_SWBREAK, [EMU_BP_HW] = EMU_DBG_HWBREAK,
				[EMU_WP_WRITE] = EMU_DBG_WATCH_WRITE, [EMU_WP_READ] = EMU_DBG_WATCH_READ,
				[EMU_WP_ACCESS] = EMU_DBG_WATCH_ACCESS,
			};
			ex->debug.reason = by_kind[v->hw_kind[i]];
			ex->debug.addr = v->hw_addr[i];
			return;
		}
	}
	ex->debug.reason = EMU_DBG_STEP;
}

/* 1: handled here, run again; 0: ex filled for the core. */
static int kvm_handle_exit(struct emu_vcpu *vcpu, struct kvm_vcpu_data *v, struct emu_exit *ex)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		atomic_fetch_add_explicit(&v->io_exits, 1, memory_order_relaxed);
		kvm_pio(vcpu, run);
		return 1;
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&v->mmio_exits, 1, memory_order_relaxed);
		kvm_mmio(vcpu, run);
		return 1;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return 1;
	case KVM_EXIT_INTR:
		ex->reason = EMU_EXIT_REQUEST;
		return 0;
	case KVM_EXIT_HLT:
		ex->reason = EMU_EXIT_HLT;
		return 0;
	case KVM_EXIT_DEBUG:
		kvm_debug_exit(v, run, ex);
		return 0;
	case KVM_EXIT_SHUTDOWN:
		ex->reason = EMU_EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		ex->reason = EMU_EXIT_SHUTDOWN;	/* guest-requested shutdown or reset */
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		kvm_internal_error(run, ex);
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		ex->reason = EMU_EXIT_FAIL_ENTRY;
		ex->error.code = run->fail_entry.hardware_entry_failure_reason;
		snprintf(ex->error.message, sizeof(ex->error.message),
			 "KVM_EXIT_FAIL_ENTRY: invalid guest state, hardware entry failure reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return 0;
	}
	ex->reason = EMU_EXIT_INTERNAL_ERROR;
	ex->error.code = run->exit_reason;
	snprintf(ex->error.message, sizeof(ex->error.message), "unhandled KVM exit reason %u", run->exit_reason);
	return 0;
}

/* vcpu_exit tracepoint: the exit's name and the guest RIP (one KVM_GET_REGS, only while it is on). */
static void kvm_trace_exit(struct emu_vcpu *vcpu, const struct kvm_vcpu_data *v)
{
	static const char *const names[] = {
		[KVM_EXIT_IO] = "io", [KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_HLT] = "hlt", [KVM_EXIT_DEBUG] = "debug",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open", [KVM_EXIT_SHUTDOWN] = "shutdown",
		[KVM_EXIT_FAIL_ENTRY] = "fail_entry", [KVM_EXIT_INTR] = "intr", [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
		[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	};
	uint32_t r = v->run->exit_reason;
	struct kvm_regs regs = { 0 };

	(void)!ioctl(v->fd, KVM_GET_REGS, &regs);
	trace_vcpu_exit(emu_vcpu_index(vcpu), r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "other",
			regs.rip);
}

/* Kicks that arrived are pending (blocked): take them, or every KVM_RUN would return at once. */
static void kvm_eat_kicks(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, emu_kvm_kick_signal);
	while (sigtimedwait(&kick, NULL, &zero) > 0)
		;
}

/* An IN or MMIO read completes on the next KVM_RUN: do that now (with immediate_exit) so the
 * registers are right before the core looks at them. */
static void kvm_complete_io(struct kvm_vcpu_data *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	(void)!ioctl(v->fd, KVM_RUN, 0);
	kvm_eat_kicks();
}

/* Single-stepping an instruction that exited to user space (in/out, MMIO): complete it now and
 * report the step. KVM normally reports the step while completing; a nested PVM KVM loses it and
 * runs the next instruction too, so when no debug exit comes, the step is reported here. */
static int kvm_finish_step(struct emu_vcpu *vcpu, struct kvm_vcpu_data *v, struct emu_exit *ex)
{
	struct kvm_regs regs = { 0 };
	int r;

	for (;;) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		r = ioctl(v->fd, KVM_RUN, 0);
		kvm_eat_kicks();
		if (r < 0 || (v->run->exit_reason != KVM_EXIT_IO && v->run->exit_reason != KVM_EXIT_MMIO))
			break;
		(void)kvm_handle_exit(vcpu, v, ex);	/* a rep string instruction goes on */
	}
	if (r == 0 && v->run->exit_reason == KVM_EXIT_DEBUG) {
		kvm_debug_exit(v, v->run, ex);
		return 0;
	}
	if (r == 0)
		return kvm_handle_exit(vcpu, v, ex) == 0 ? 0 : kvm_finish_step(vcpu, v, ex);
	(void)!ioctl(v->fd, KVM_GET_REGS, &regs);
	ex->reason = EMU_EXIT_DEBUG;
	ex->debug.reason = EMU_DBG_STEP;
	ex->debug.addr = regs.rip;
	return 0;
}

/* Once, on the vCPU thread: block the kick signal, except while in KVM_RUN. */
static int kvm_thread_setup(struct kvm_vcpu_data *v)
{
	enum { KERNEL_SIGSET = 8 };	/* the kernel's sigset_t on x86-64 */
	struct kvm_signal_mask *m = calloc(1, sizeof(*m) + KERNEL_SIGSET);
	sigset_t kick, during_run;
	int r;

	if (!m)
		return -ENOMEM;
	sigemptyset(&kick);
	sigaddset(&kick, emu_kvm_kick_signal);
	pthread_sigmask(SIG_BLOCK, &kick, &during_run);
	sigdelset(&during_run, emu_kvm_kick_signal);
	m->len = KERNEL_SIGSET;
	memcpy(m->sigset, &during_run, KERNEL_SIGSET);
	r = ioctl(v->fd, KVM_SET_SIGNAL_MASK, m) < 0 ? -errno : 0;
	free(m);
	if (r)
		return r;
	v->thread = pthread_self();
	atomic_store(&v->thread_known, true);
	return 0;
}

int emu_kvm_vcpu_run(struct emu_vcpu *vcpu, struct emu_exit *ex)
{
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);
	bool io_pending = false;

	if (!atomic_load(&v->thread_known)) {
		int err = kvm_thread_setup(v);
		if (err)
			return err;
	}
	for (;;) {
		int r;

		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (emu_vcpu_has_request(vcpu)) {
			if (io_pending)
				kvm_complete_io(v);
			ex->reason = EMU_EXIT_REQUEST;
			return 0;
		}
		kvm_inject_irq(vcpu, v);
		trace_vcpu_run(emu_vcpu_index(vcpu));
		r = ioctl(v->fd, KVM_RUN, 0);
		io_pending = false;
		if (r >= 0 && trace_vcpu_exit_is_enabled())
			kvm_trace_exit(vcpu, v);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				kvm_eat_kicks();
				ex->reason = EMU_EXIT_REQUEST;
				return 0;
			}
			return -errno;
		}
		r = kvm_handle_exit(vcpu, v, ex);
		if (r == 0)
			return 0;
		if (v->last_debug.control & KVM_GUESTDBG_SINGLESTEP)
			return kvm_finish_step(vcpu, v, ex);
		io_pending = true;
	}
}
