/* SPDX-License-Identifier: MIT */
/*
 * mmio: iters=N 32-bit stores to addr=A (default 0xd0000000: unassigned, above any RAM size the
 * tests use, inside boot.S's uncached [3 GiB, 4 GiB) mapping), at CPL0 or with ring3=1 at CPL3.
 */
#include "guest.h"

struct mmio_args {
	uint64_t iters, addr;
};

static uint64_t mmio_loop(uint64_t argp)
{
	const struct mmio_args *a = (const struct mmio_args *)argp;

	for (uint64_t i = 0; i < a->iters; i++)
		g_mmio_write32(a->addr, (uint32_t)i);
	return a->iters;
}

void guest_main(const char *cmdline)
{
	struct mmio_args a = {
		.iters = g_arg_u64_or(cmdline, "iters", 100000),
		.addr = g_arg_u64_or(cmdline, "addr", 0xd0000000),
	};
	uint64_t ring3 = g_arg_u64_or(cmdline, "ring3", 0), done;

	if (a.addr < G_MMIO_MAP_BASE || a.addr > G_MMIO_MAP_END - 4 || (a.addr & 3) || ring3 > 1) {
		g_printf("mmio: want a 4-byte aligned addr= in [0x%lx, 0x%lx) and ring3=0|1\n",
			 G_MMIO_MAP_BASE, G_MMIO_MAP_END);
		g_exit(G_EXIT_USAGE);
	}
	if (ring3) {
		g_cpu_init();
		done = g_run_user(mmio_loop, (uint64_t)&a);
	} else {
		done = mmio_loop((uint64_t)&a);
	}
	g_printf("mmio: %lu 32-bit writes to 0x%lx at CPL%u\n", done, a.addr, ring3 ? 3 : 0);
	g_exit(G_EXIT_OK);
}
