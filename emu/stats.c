/* SPDX-License-Identifier: MIT */
/*
 * stats.c — emu_vm_stats(): exits by reason summed over the vCPUs, bus counters (unassigned
 * accesses, accesses per device region), then the backend's own counters.
 */
#include <errno.h>

#include "emu/emu-local.h"

static const char *const stats_exit_names[EMU_NR_EXIT_REASONS] = {
	[EMU_EXIT_REQUEST] = "exits_request",
	[EMU_EXIT_HLT] = "exits_hlt",
	[EMU_EXIT_DEBUG] = "exits_debug",
	[EMU_EXIT_SHUTDOWN] = "exits_shutdown",
	[EMU_EXIT_INTERNAL_ERROR] = "exits_internal_error",
	[EMU_EXIT_FAIL_ENTRY] = "exits_fail_entry",
};

int emu_vm_stats(struct emu_vm *vm, struct emu_stat *out, int max)
{
	int n = 0;

	if (max < 0)
		max = 0;
	for (int r = 0; r < EMU_NR_EXIT_REASONS; r++, n++) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			sum += atomic_load_explicit(&vm->vcpus[i]->exits[r], memory_order_relaxed);
		if (n < max)
			out[n] = (struct emu_stat){ .name = stats_exit_names[r], .value = sum };
	}
	n += emu_bus_stats(&vm->bus, n < max ? out + n : NULL, n < max ? max - n : 0);
	if (vm->ops && vm->ops->stats)
		n += vm->ops->stats(vm, n < max ? out + n : NULL, n < max ? max - n : 0);
	return n;
}

int emu_vm_stats_fd(struct emu_vm *vm, int vcpu)
{
	if (vcpu >= (int)vm->nr_vcpus)
		return -EINVAL;
	if (!vm->ops || !vm->ops->stats_fd)
		return -EOPNOTSUPP;
	return vm->ops->stats_fd(vm, vcpu);
}
