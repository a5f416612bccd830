/* SPDX-License-Identifier: MIT */
/*
 * compute: a CPU-bound loop of exactly COMPUTE_INSNS instructions per iteration (an xorshift64
 * step plus a carry-counting sum), iters=N times, seed=S, at CPL0 or (ring3=1) at CPL3, where
 * nested KVM runs it natively. Prints the checksum, which every backend must reproduce.
 * fpu=1: the loop is an x87 one instead (10 x87 instructions of the 15: x = |x*c + d -
 * round(x*c + d)| + 1 in extended precision, the doubles summed and compared), checksummed alike.
 */
#include "guest.h"

#define COMPUTE_INSNS 15

struct compute_args {
	uint64_t iters, seed;
	uint64_t x, sum, carries, count;
	uint64_t tmp;	/* a double, stored by fstl */
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

/* x87: st0 = x, st1 = c, st2 = d; the double of each x summed (its bits), fcomi x < c counted. */
static uint64_t compute_x87_loop(uint64_t argp)
{
	struct compute_args *a = (struct compute_args *)argp;
	/* doubles 1.1, 1.3, 0.3141592653589793 as bits (no FP types: -mgeneral-regs-only) */
	static const uint64_t x0 = 0x3ff199999999999a, c = 0x3ff4cccccccccccd, d = 0x3fd41b2f769cf0e0;
	uint64_t sum = 0, carries = 0, n = a->iters, t;

	if (n == 0)
		return 0;
	__asm__ volatile(
		"fninit\n\t"
		"fldl %[d]\n\t"
		"fldl %[c]\n\t"
		"fldl %[x0]\n\t"
		"1:\n\t"
		"fmul %%st(1), %%st\n\t"	/*  1 x *= c */
		"fadd %%st(2), %%st\n\t"	/*  2 x += d */
		"fld %%st(0)\n\t"		/*  3 */
		"frndint\n\t"			/*  4 */
		".byte 0xde, 0xe9\n\t"	/*  5 fsubp st(1), st: x - round(x) */
		"fabs\n\t"			/*  6 */
		"fld1\n\t"			/*  7 */
		".byte 0xde, 0xc1\n\t"	/*  8 faddp st(1), st */
		"fstl %[tmp]\n\t"		/*  9 */
		"mov %[tmp], %[t]\n\t"		/* 10 */
		"add %[t], %[sum]\n\t"		/* 11 */
		"fcomi %%st(1), %%st\n\t"	/* 12 CF: x < c */
		"adc $0, %[carries]\n\t"	/* 13 */
		"dec %[n]\n\t"			/* 14 */
		"jnz 1b\n\t"			/* 15 */
		"fstpl %[tmp]\n\t"
		"fstp %%st(0)\n\t"
		"fstp %%st(0)\n\t"
		: [sum] "+r"(sum), [carries] "+r"(carries), [n] "+r"(n), [t] "=&r"(t), [tmp] "=m"(a->tmp)
		: [x0] "m"(x0), [c] "m"(c), [d] "m"(d)
		: "cc", "memory");	/* the x87 stack is empty again (no x87 registers: -mgeneral-regs-only) */
	a->x = a->tmp;
	a->sum = sum, a->carries = carries, a->count = a->iters;
	return a->count;
}

void guest_main(const char *cmdline)
{
	struct compute_args a = {
		.iters = g_arg_u64_or(cmdline, "iters", 10000),
		.seed = g_arg_u64_or(cmdline, "seed", 0x123456789abcdef),
	};
	uint64_t ring3 = g_arg_u64_or(cmdline, "ring3", 0), fpu = g_arg_u64_or(cmdline, "fpu", 0);
	uint64_t (*loop)(uint64_t) = fpu ? compute_x87_loop : compute_loop;

	if (ring3 > 1 || fpu > 1 || a.seed == 0) {
		g_puts("compute: want ring3=0|1, fpu=0|1 and a non-zero seed=\n");
		g_exit(G_EXIT_USAGE);
	}
	if (ring3) {
		g_cpu_init();
		(void)g_run_user(loop, (uint64_t)&a);
	} else {
		(void)loop((uint64_t)&a);
	}
	g_printf("compute: %lu iterations, %u instructions each%s, at CPL%u\n", a.count, COMPUTE_INSNS,
		 fpu ? " (10 x87)" : "", ring3 ? 3 : 0);
	g_printf("compute: x=0x%016lx sum=0x%016lx carries=%lu\n", a.x, a.sum, a.carries);
	g_exit(G_EXIT_OK);
}
