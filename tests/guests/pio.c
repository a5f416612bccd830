/* SPDX-License-Identifier: MIT */
/*
 * pio: iters=N `out` instructions of size=1|2|4 bytes to port=P (default 0x80, the POST/delay
 * port: no vmscope device claims it, QEMU's pc machine ignores writes to it), at CPL0, or at
 * CPL3 with ring3=1. Every one is a VM exit under KVM: the benchmark for exit handling.
 */
#include "guest.h"

struct pio_args {
	uint64_t iters, port, size;
};

static uint64_t pio_loop(uint64_t argp)
{
	const struct pio_args *a = (const struct pio_args *)argp;
	uint16_t port = (uint16_t)a->port;

	for (uint64_t i = 0; i < a->iters; i++) {
		if (a->size == 1)
			g_outb(port, (uint8_t)i);
		else if (a->size == 2)
			g_outw(port, (uint16_t)i);
		else
			g_outl(port, (uint32_t)i);
	}
	return a->iters;
}

void guest_main(const char *cmdline)
{
	struct pio_args a = {
		.iters = g_arg_u64_or(cmdline, "iters", 100000),
		.port = g_arg_u64_or(cmdline, "port", 0x80),
		.size = g_arg_u64_or(cmdline, "size", 1),
	};
	uint64_t ring3 = g_arg_u64_or(cmdline, "ring3", 0), done;

	if (a.port > 0xffff || (a.size != 1 && a.size != 2 && a.size != 4) || ring3 > 1) {
		g_puts("pio: want port=0..0xffff size=1|2|4 ring3=0|1\n");
		g_exit(G_EXIT_USAGE);
	}
	if (ring3) {
		g_cpu_init();
		done = g_run_user(pio_loop, (uint64_t)&a);
	} else {
		done = pio_loop((uint64_t)&a);
	}
	g_printf("pio: %lu writes of %lu bytes to port 0x%lx at CPL%u\n", done, a.size, a.port,
		 ring3 ? 3 : 0);
	g_exit(G_EXIT_OK);
}
