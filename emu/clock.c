/* SPDX-License-Identifier: MIT */
/*
 * clock.c — the guest's time. By default it is the host's: devices read CLOCK_MONOTONIC (the
 * RTC CLOCK_REALTIME) and their timer threads sleep until the next deadline. With cfg.icount
 * (--clock icount[:SHIFT], the interpreter with one vCPU) time is vCPU 0's instruction count
 * times 2^SHIFT ns plus the time skipped while it was halted; the devices run no threads and
 * register here as timer sources, which the vCPU loop polls at their deadlines. A guest then
 * sees the same times, and takes its interrupts at the same instructions, in every run.
 */
#include <errno.h>
#include <time.h>

#include "emu/emu-local.h"

/* The RTC's date at virtual time 0 under --clock icount: 2000-01-01 00:00:00 UTC. */
#define EMU_ICOUNT_EPOCH_S 946684800ull
#define NS_PER_S 1000000000ull

static uint64_t clock_host_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

bool emu_vm_clock_is_virtual(const struct emu_vm *vm)
{
	return vm->cfg.icount;
}

uint64_t emu_vm_clock_ns(struct emu_vm *vm)
{
	uint64_t insns;

	if (!vm->cfg.icount)
		return clock_host_ns(CLOCK_MONOTONIC);
	insns = vm->nr_vcpus && vm->ops->icount ? vm->ops->icount(vm->vcpus[0]) : 0;
	return (insns << vm->cfg.icount_shift) + vm->clock_warp_ns;
}

uint64_t emu_vm_clock_now(void *vm)
{
	return emu_vm_clock_ns(vm);
}

uint64_t emu_vm_clock_realtime(void *opaque)
{
	struct emu_vm *vm = opaque;

	if (!vm->cfg.icount)
		return clock_host_ns(CLOCK_REALTIME);
	return EMU_ICOUNT_EPOCH_S * NS_PER_S + emu_vm_clock_ns(vm);
}

uint64_t emu_vm_clock_from_realtime(uint64_t ns)
{
	if (ns == EMU_NO_DEADLINE)
		return ns;
	return ns - EMU_ICOUNT_EPOCH_S * NS_PER_S;
}

int emu_vm_add_timer(struct emu_vm *vm, uint64_t (*next_ns)(void *), void (*poll)(void *), void *dev)
{
	if (vm->nr_timers == EMU_MAX_TIMERS)
		return -ENOSPC;
	vm->timers[vm->nr_timers++] = (struct emu_timer_source){ .next_ns = next_ns, .poll = poll, .dev = dev };
	return 0;
}

uint64_t emu_vm_timers_next_ns(struct emu_vm *vm)
{
	uint64_t next = EMU_NO_DEADLINE;

	for (unsigned i = 0; i < vm->nr_timers; i++) {
		uint64_t t = vm->timers[i].next_ns(vm->timers[i].dev);
		if (t < next)
			next = t;
	}
	return next;
}

void emu_vm_timers_poll(struct emu_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_timers; i++)
		vm->timers[i].poll(vm->timers[i].dev);
}

void emu_vm_clock_skip_to(struct emu_vm *vm, uint64_t ns)
{
	uint64_t now = emu_vm_clock_ns(vm);

	if (vm->cfg.icount && ns > now)
		vm->clock_warp_ns += ns - now;
}
