/* SPDX-License-Identifier: MIT */
/*
 * compute: a CPU-bound loop of exactly COMPUTE_INSNS instructions per iteration (an xorshift64
 * step plus a carry-counting sum), iters=N times, seed=S, at CPL0 or (ring3=1) at CPL3, where
 * nested KVM runs it natively. Prints the checksum, which every backend must reproduce.
 */
#include "guest.h"

#define COMPUTE_INSNS 15

struct compute_args {
	uint64_t iters, seed;
	uint64_t x, sum, carries, count;
};

static uint64_t compute_loop(uint64_t argp)
{
	struct compute_args *a = (struct compute_args *)argp;
	uint64_t x = a->seed, sum = 0, carries = 0, count = 0, n = a->iters, t;

	if (n == 0)
		return 0;
	__asm__ volatile(
		"1:\n\t"
		"mov %[x], %[t]\n\t"		/*  1 */
		"shl $13, %[t]\n\t"		/*  2 */
		"xor %[t], %[x]\n\t"		/*  3 */
		"mov %[x], %[t]\n\t"		/*  4 */
		"shr $7, %[t]\n\t"		/*  5 */
		"xor %[t], %[x]\n\t"		/*  6 */
		"mov %[x], %[t]\n\t"		/*  7 */
		"shl $17, %[t]\n\t"		/*  8 */
		"xor %[t], %[x]\n\t"		/*  9 */
		"add %[x], %[sum]\n\t"		/* 10 */
		"adc $0, %[carries]\n\t"	/* 11 */
		"rol $5, %[sum]\n\t"		/* 12 */
		"lea 1(%[count]), %[count]\n\t"	/* 13 */
		"dec %[n]\n\t"			/* 14 */
		"jnz 1b\n\t"			/* 15 */
		: [x] "+r"(x), [sum] "+r"(sum), [carries] "+r"(carries), [count] "+r"(count),
		  [n] "+r"(n), [t] "=&r"(t)
		:
		: "cc");
	a->x = x, a->sum = sum, a->carries = carries, a->count = count;
	return count;
}

void guest_main(const char *cmdline)
{
	struct compute_args a = {
		.iters = g_arg_u64_or(cmdline, "iters", 10000),
		.seed = g_arg_u64_or(cmdline, "seed", 0x123456789abcdef),
	};
	uint64_t ring3 = g_arg_u64_or(cmdline, "ring3", 0);

	if (ring3 > 1 || a.seed == 0) {
		g_puts("compute: want ring3=0|1 and a non-zero seed=\n");
		g_exit(G_EXIT_USAGE);
	}
	if (ring3) {
		g_cpu_init();
		(void)g_run_user(compute_loop, (uint64_t)&a);
	} else {
		(void)compute_loop((uint64_t)&a);
	}
	g_printf("compute: %lu iterations, %u instructions each, at CPL%u\n", a.count, COMPUTE_INSNS,
		 ring3 ? 3 : 0);
	g_printf("compute: x=0x%016lx sum=0x%016lx carries=%lu\n", a.x, a.sum, a.carries);
	g_exit(G_EXIT_OK);
}
