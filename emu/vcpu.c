/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c — one thread per vCPU and the all-stop run control.
 *
 * The loop: handle requests (pause, end, debug-state changes) → backend vcpu_run → handle the
 * exit (HLT sleeps until an interrupt or a request, DEBUG stops the VM and reports, SHUTDOWN and
 * errors end the guest) → again. Every piece of shared state is under vm->lock; the per-vCPU
 * request word is an atomic so backends can test it cheaply between guest entries.
 *
 * Stops: the vCPU that hits a debug event pauses the others, waits until they are parked, calls
 * the debug handler once and parks itself. Only one stop is reported per pause (vm->reporting);
 * a second vCPU's simultaneous event is dropped (a breakpoint fires again on resume).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu-local.h"
#include "emu/trace-events.h"

#define EMU_RFLAGS_IF (1u << 9)

/* vm->lock held: the thread cannot exit meanwhile. */
static void vcpu_kick(struct emu_vcpu *vcpu)
{
	if (vcpu->thread_alive && vcpu->vm->ops->kick)
		vcpu->vm->ops->kick(vcpu);
}

/* vm->lock held. */
static void vcpu_request_locked(struct emu_vcpu *vcpu, unsigned req)
{
	atomic_fetch_or(&vcpu->request, req);
	vcpu_kick(vcpu);
	pthread_cond_broadcast(&vcpu->vm->cond);
}

void emu_vcpu_request(struct emu_vcpu *vcpu, unsigned req)
{
	pthread_mutex_lock(&vcpu->vm->lock);
	vcpu_request_locked(vcpu, req);
	pthread_mutex_unlock(&vcpu->vm->lock);
}

static void vm_request_all_locked(struct emu_vm *vm, unsigned req)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_request_locked(vm->vcpus[i], req);
}

void emu_vm_kick_all(struct emu_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm_request_all_locked(vm, EMU_REQ_IRQ);
	pthread_mutex_unlock(&vm->lock);
}

void emu_vm_end(struct emu_vm *vm, enum emu_end_reason reason, int status, int vcpu, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (!vm->ended) {
		vm->ended = true;
		vm->end = (struct emu_end){ .reason = reason, .status = status, .vcpu = vcpu };
		va_start(ap, fmt);
		vsnprintf(vm->end.message, sizeof(vm->end.message), fmt, ap);
		va_end(ap);
		trace_vm_end(reason, status, vm->end.message);
	}
	vm_request_all_locked(vm, EMU_REQ_END);
	pthread_mutex_unlock(&vm->lock);
}

void emu_vm_request_end(struct emu_vm *vm, enum emu_end_reason reason, int status, const char *message)
{
	emu_vm_end(vm, reason, status, -1, "%s", message ? message : "");
}

/* ---- parking and stops ---- */

/* Parks the calling vCPU while the VM is paused; vm->lock held. Leaves with stepping set when
 * emu_vm_resume() picked this vCPU for one instruction. */
static void vcpu_park_locked(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;

	vcpu->parked = true;
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->cond);
	while (!vm->ended && vm->paused && vm->step_vcpu != (int)vcpu->index)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->nr_parked--;
	vcpu->parked = false;
	if (!vm->ended && vm->paused && vm->step_vcpu == (int)vcpu->index) {
		vm->step_vcpu = -1;
		vcpu->stepping = true;
		atomic_fetch_or(&vcpu->request, EMU_REQ_DEBUG);
	}
}

/* Waits until every other live vCPU thread is parked; vm->lock held. */
static void vm_wait_parked_locked(struct emu_vm *vm, unsigned others)
{
	while (!vm->ended && vm->nr_parked < vm->nr_running_threads - others)
		pthread_cond_wait(&vm->cond, &vm->lock);
}

/* A debug event on this vCPU: stop everything, report once, park. */
static void vcpu_stop_and_report(struct emu_vcpu *vcpu, const struct emu_debug_event *ev)
{
	struct emu_vm *vm = vcpu->vm;
	bool report;

	pthread_mutex_lock(&vm->lock);
	report = !vm->reporting;
	vm->reporting = true;
	if (!vm->paused) {
		vm->paused = true;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (i != vcpu->index)
				vcpu_request_locked(vm->vcpus[i], EMU_REQ_PAUSE);
	}
	vm_wait_parked_locked(vm, 1);
	report = report && !vm->ended;
	pthread_mutex_unlock(&vm->lock);
	if (report && vm->debug_fn)
		vm->debug_fn(vm->debug_opaque, ev);
	pthread_mutex_lock(&vm->lock);
	vcpu_park_locked(vcpu);
	pthread_mutex_unlock(&vm->lock);
}

int emu_vm_pause(struct emu_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->paused) {
		vm->paused = true;
		vm->reporting = true;
		vm_request_all_locked(vm, EMU_REQ_PAUSE);
	}
	if (vm->started)
		vm_wait_parked_locked(vm, 0);
	pthread_mutex_unlock(&vm->lock);
	return vm->ended ? -ESRCH : 0;
}

int emu_vm_resume(struct emu_vm *vm, int step_vcpu)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->ended) {
		err = -ESRCH;
	} else if (step_vcpu >= (int)vm->nr_vcpus) {
		err = -EINVAL;
	} else if (step_vcpu >= 0 && !vm->paused) {
		err = -EBUSY;	/* stepping one vCPU needs the others stopped first */
	} else if (step_vcpu >= 0) {
		vm->reporting = false;
		vm->step_vcpu = step_vcpu;
	} else {
		vm->paused = false;
		vm->reporting = false;
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return err;
}

bool emu_vm_is_paused(const struct emu_vm *vm)
{
	struct emu_vm *m = (struct emu_vm *)vm;
	bool paused;

	pthread_mutex_lock(&m->lock);
	paused = m->paused;
	pthread_mutex_unlock(&m->lock);
	return paused;
}

/* ---- the run loop ---- */

static void vcpu_sync_debug(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;
	struct emu_debug_state st;
	int err;

	if (!vm->ops->set_debug)
		return;
	emu_debug_build_state(vm, vcpu, &st);
	err = vm->ops->set_debug(vcpu, &st);
	if (err)
		emu_vm_end(vm, EMU_END_HOST_ERROR, 0, (int)vcpu->index, "vCPU %u: cannot set debug state on %s: %s",
			   vcpu->index, vm->ops->name, strerror(-err));
}

/* Returns true when the thread must leave the loop. */
static bool vcpu_handle_requests(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;
	unsigned req;

	while ((req = atomic_exchange(&vcpu->request, 0)) != 0) {
		if (req & EMU_REQ_END)
			return true;
		if (req & EMU_REQ_PAUSE) {
			pthread_mutex_lock(&vm->lock);
			vcpu_park_locked(vcpu);
			pthread_mutex_unlock(&vm->lock);
		}
		if (req & EMU_REQ_DEBUG)
			vcpu_sync_debug(vcpu);
	}
	return false;
}

void emu_vcpu_startup(struct emu_vm *vm, unsigned index, uint8_t vector)
{
	if (index == 0 || index >= vm->nr_vcpus)
		return;
	atomic_store(&vm->vcpus[index]->startup_vector, 0x100u | vector);
	emu_vcpu_request(vm->vcpus[index], EMU_REQ_STARTUP);
}

/* On the AP's own thread: real mode at vector << 12, as a startup IPI leaves it. */
static int vcpu_start_at(struct emu_vcpu *vcpu, uint8_t vector)
{
	struct emu_vm *vm = vcpu->vm;
	struct emu_sregs sregs;
	struct emu_regs regs;
	int err = vm->ops->get_sregs(vcpu, &sregs);

	if (!err) {
		sregs.cs.selector = (uint16_t)(vector << 8);
		sregs.cs.base = (uint64_t)vector << 12;
		err = vm->ops->set_sregs(vcpu, &sregs);
	}
	if (!err)
		err = vm->ops->get_regs(vcpu, &regs);
	if (!err) {
		regs.rip = 0;
		err = vm->ops->set_regs(vcpu, &regs);
	}
	return err;
}

/* An AP not started yet: sleep until asked; true when it may run now (a startup IPI came). */
static bool vcpu_wait_startup(struct emu_vcpu *vcpu)
{
	unsigned v = atomic_exchange(&vcpu->startup_vector, 0);
	int err;

	if (!v)
		return false;
	err = vcpu_start_at(vcpu, (uint8_t)v);
	if (err) {
		emu_vm_end(vcpu->vm, EMU_END_HOST_ERROR, 0, (int)vcpu->index, "vCPU %u: cannot start: %s",
			   vcpu->index, strerror(-err));
		return false;
	}
	vcpu->wait_for_sipi = false;
	return true;
}

/* An AP nobody has started (no startup IPI yet): sleep until asked. */
static void vcpu_sleep(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->lock);
	while (!vm->ended && !emu_vcpu_has_request(vcpu))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

/* HLT without an in-kernel irqchip: sleep until an interrupt is pending or someone asks. */
static bool vcpu_halt(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;
	struct emu_regs regs;
	int err = vm->ops->get_regs(vcpu, &regs);

	if (err) {
		emu_vm_end(vm, EMU_END_HOST_ERROR, 0, (int)vcpu->index, "vCPU %u: cannot read registers: %s",
			   vcpu->index, strerror(-err));
		return true;
	}
	if (!(regs.rflags & EMU_RFLAGS_IF) && vm->nr_vcpus == 1) {
		emu_vm_end(vm, EMU_END_HALTED, 0, (int)vcpu->index,
			   "vCPU %u: hlt with interrupts disabled at rip 0x%llx: nothing can wake it", vcpu->index,
			   (unsigned long long)regs.rip);
		return true;
	}
	/* Lock order is intr_lock, then vm->lock (the PIC kicks under its lock): test the INTR line
	 * first, unlocked; an interrupt raised later comes with a request (emu_vm_set_irq), which
	 * the wait below sees under vm->lock, so no wake-up is lost. */
	if (emu_vcpu_intr_is_pending(vcpu))
		return false;
	pthread_mutex_lock(&vm->lock);
	while (!vm->ended && !emu_vcpu_has_request(vcpu))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return false;
}

static bool vcpu_debug_exit(struct emu_vcpu *vcpu, const struct emu_exit *ex)
{
	struct emu_debug_event ev = { .reason = ex->debug.reason, .vcpu = vcpu->index, .addr = ex->debug.addr };

	if (vcpu->stepping) {
		vcpu->stepping = false;
		atomic_fetch_or(&vcpu->request, EMU_REQ_DEBUG);
	}
	vcpu_stop_and_report(vcpu, &ev);
	return false;
}

static bool vcpu_handle_exit(struct emu_vcpu *vcpu, const struct emu_exit *ex)
{
	struct emu_vm *vm = vcpu->vm;
	unsigned i = vcpu->index;

	switch (ex->reason) {
	case EMU_EXIT_REQUEST:
		return false;
	case EMU_EXIT_HLT:
		return vcpu_halt(vcpu);
	case EMU_EXIT_DEBUG:
		return vcpu_debug_exit(vcpu, ex);
	case EMU_EXIT_SHUTDOWN:
		emu_vm_end(vm, EMU_END_SHUTDOWN, 0, (int)i, "vCPU %u: triple fault (shutdown)", i);
		return true;
	case EMU_EXIT_INTERNAL_ERROR:
		emu_vm_end(vm, EMU_END_INTERNAL_ERROR, 0, (int)i, "vCPU %u: %s internal error: %s", i, vm->ops->name,
			   ex->error.message);
		return true;
	case EMU_EXIT_FAIL_ENTRY:
		emu_vm_end(vm, EMU_END_FAIL_ENTRY, 0, (int)i, "vCPU %u: %s", i, ex->error.message);
		return true;
	}
	emu_vm_end(vm, EMU_END_HOST_ERROR, 0, (int)i, "vCPU %u: unknown exit reason %d from %s", i, ex->reason,
		   vm->ops->name);
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct emu_vcpu *vcpu = arg;
	struct emu_vm *vm = vcpu->vm;
	char name[16];

	/* "vcpuN", as kvmstat (and top -H) see it: its per-vCPU view finds vCPU threads by name */
	snprintf(name, sizeof(name), "vcpu%u", (unsigned)vcpu->index);
	(void)!pthread_setname_np(pthread_self(), name);
	trace_thread_set_vcpu((int)vcpu->index);
	for (;;) {
		struct emu_exit ex;
		int err;

		if (vcpu_handle_requests(vcpu))
			break;
		if (vcpu->wait_for_sipi && !vcpu_wait_startup(vcpu)) {
			vcpu_sleep(vcpu);
			continue;
		}
		memset(&ex, 0, sizeof(ex));
		err = vm->ops->vcpu_run(vcpu, &ex);
		if (err) {
			emu_vm_end(vm, EMU_END_HOST_ERROR, 0, (int)vcpu->index, "vCPU %u: %s run failed: %s",
				   vcpu->index, vm->ops->name, strerror(-err));
			break;
		}
		if ((unsigned)ex.reason < EMU_NR_EXIT_REASONS)
			atomic_fetch_add_explicit(&vcpu->exits[ex.reason], 1, memory_order_relaxed);
		if (vcpu_handle_exit(vcpu, &ex))
			break;
	}
	pthread_mutex_lock(&vm->lock);
	vcpu->thread_alive = false;
	vm->nr_running_threads--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* ---- lifetime ---- */

int emu_vcpus_create(struct emu_vm *vm)
{
	vm->vcpus = calloc(vm->cfg.nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->cfg.nr_vcpus; i++) {
		struct emu_vcpu *vcpu = calloc(1, sizeof(*vcpu));
		int err;

		if (!vcpu)
			return -ENOMEM;
		vcpu->vm = vm;
		vcpu->index = i;
		vcpu->wait_for_sipi = i > 0 && !(vm->ops->has_irqchip && vm->ops->has_irqchip(vm));
		atomic_init(&vcpu->request, EMU_REQ_DEBUG);
		vm->vcpus[vm->nr_vcpus++] = vcpu;
		err = vm->ops->vcpu_init(vcpu);
		if (err)
			return err;
	}
	return 0;
}

static void vcpus_join(struct emu_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->thread_started)
			pthread_join(vm->vcpus[i]->thread, NULL);
		vm->vcpus[i]->thread_started = false;
	}
}

void emu_vcpus_stop(struct emu_vm *vm)
{
	if (vm->started)
		emu_vm_end(vm, EMU_END_QUIT, 0, -1, "the VM was destroyed");
	vcpus_join(vm);
}

void emu_vcpus_destroy(struct emu_vm *vm)
{
	emu_vcpus_stop(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->accel_data && vm->ops->vcpu_destroy)
			vm->ops->vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus[i]);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
}

int emu_vm_start(struct emu_vm *vm)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->started) {
		pthread_mutex_unlock(&vm->lock);
		return -EALREADY;
	}
	vm->started = true;
	if (vm->paused) {
		vm->reporting = true;
		vm_request_all_locked(vm, EMU_REQ_PAUSE);
	}
	for (unsigned i = 0; i < vm->nr_vcpus && !err; i++) {
		err = -pthread_create(&vm->vcpus[i]->thread, NULL, vcpu_thread, vm->vcpus[i]);
		if (!err) {
			vm->vcpus[i]->thread_started = true;
			vm->vcpus[i]->thread_alive = true;
			vm->nr_running_threads++;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (err)
		emu_vm_end(vm, EMU_END_HOST_ERROR, 0, -1, "cannot start vCPU threads: %s", strerror(-err));
	return err;
}

void emu_vm_wait(struct emu_vm *vm, struct emu_end *end)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->ended || vm->nr_running_threads > 0)
		pthread_cond_wait(&vm->cond, &vm->lock);
	*end = vm->end;
	pthread_mutex_unlock(&vm->lock);
	vcpus_join(vm);
}

/* ---- registers: straight to the backend ---- */

int emu_vcpu_get_regs(struct emu_vcpu *vcpu, struct emu_regs *regs) { return vcpu->vm->ops->get_regs(vcpu, regs); }
int emu_vcpu_set_regs(struct emu_vcpu *vcpu, const struct emu_regs *regs) { return vcpu->vm->ops->set_regs(vcpu, regs); }
int emu_vcpu_get_sregs(struct emu_vcpu *vcpu, struct emu_sregs *s) { return vcpu->vm->ops->get_sregs(vcpu, s); }
int emu_vcpu_set_sregs(struct emu_vcpu *vcpu, const struct emu_sregs *s) { return vcpu->vm->ops->set_sregs(vcpu, s); }
int emu_vcpu_get_fpu(struct emu_vcpu *vcpu, struct emu_fpu *fpu) { return vcpu->vm->ops->get_fpu(vcpu, fpu); }
int emu_vcpu_set_fpu(struct emu_vcpu *vcpu, const struct emu_fpu *fpu) { return vcpu->vm->ops->set_fpu(vcpu, fpu); }
int emu_vcpu_get_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value) { return vcpu->vm->ops->get_msr(vcpu, index, value); }
int emu_vcpu_set_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t value) { return vcpu->vm->ops->set_msr(vcpu, index, value); }
