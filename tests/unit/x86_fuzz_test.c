/* SPDX-License-Identifier: MIT */
/*
 * x86_fuzz_test — a bounded random-bytes run (make check): random code in real, 16- and 32-bit
 * protected, 64-bit and compatibility mode. Under make SANITIZE=1 check-sanitize it runs with
 * ASan/UBSan. X86_FUZZ_RUNS sets the number of programs per mode (default 300).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/unit/x86_fuzz_run.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_random_bytes_every_mode(void **state)
{
	struct xt t;
	uint8_t code[512];
	unsigned long runs = 300, results[5] = { 0 };
	const char *env = getenv("X86_FUZZ_RUNS");
	(void)state;
	if (env)
		runs = strtoul(env, NULL, 0);
	assert_int_equal(xt_init(&t, XF_RAM), 0);
	t.cpu->log = NULL;
	for (unsigned mode = 0; mode < XF_MODES; mode++) {
		for (unsigned long i = 0; i < runs; i++) {
			for (unsigned k = 0; k < sizeof(code); k += 8) {
				uint64_t v = next();
				memcpy(code + k, &v, 8);
			}
			results[xf_run(&t, mode, code, sizeof(code), 2000)]++;
		}
		printf("# mode %s: %lu random programs ran\n", x86_mode_name(mode == 4 ? X86_MODE_COMPAT32 :
									    mode == 3 ? X86_MODE_LONG64 : mode), runs);
	}
	printf("# results: budget %lu, hlt %lu, request %lu, debug %lu, shutdown %lu; %" PRIu64 " exceptions, "
	       "%" PRIu64 " unimplemented\n", results[0], results[1], results[2], results[3], results[4],
	       t.cpu->nr_exceptions, t.cpu->nr_unimpl);
	assert_true(t.cpu->nr_exceptions > 0);
	xt_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_random_bytes_every_mode) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
