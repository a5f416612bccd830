/* SPDX-License-Identifier: MIT */
/* The test guests' command-line parser (tests/guests/lib.c), compiled for the host: every
 * guest relies on it, and hostile command lines must give -1, never a wrong number. */
#include <stdint.h>

#include "tests/testutil.h"
#include "tests/guests/guest.h"

void guest_main(const char *cmdline);
void guest_main(const char *cmdline) {}	/* lib.c's entry calls it; never run on the host */

static void test_values(void **state)
{
	static const struct { const char *cmdline, *key; int found; uint64_t value; } cases[] = {
		{ "/path/pio.mb iters=1000", "iters", 1, 1000 },
		{ "iters=0x10 port=0x80", "port", 1, 0x80 },
		{ "iters=0X1F", "iters", 1, 0x1f },
		{ "iters=0xAbC", "iters", 1, 0xabc },
		{ "  iters=5   iters=7 ", "iters", 1, 7 },		/* the last one wins */
		{ "iters=18446744073709551615", "iters", 1, UINT64_MAX },
		{ "0", "iters", 0, 0 },
		{ "", "iters", 0, 0 },
		{ "xiters=5 iters2=6", "iters", 0, 0 },		/* whole keys only */
		{ "iters", "iters", 0, 0 },
		{ "ring3=1", "ring3", 1, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = g_arg_u64(cases[i].cmdline, cases[i].key, &v);
		assert_int_equal(r, cases[i].found);
		assert_true(v == (cases[i].found ? cases[i].value : 12345));
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"iters=", "iters=abc", "iters=12x", "iters=0x", "iters=-1", "iters=0xg",
		"iters=18446744073709551616", "iters=0x10000000000000000", "iters=1 iters=oops",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;
		assert_int_equal(g_arg_u64(bad[i], "iters", &v), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
