/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the first byte picks the CPU mode, the rest runs as guest code (make fuzz). */
#include <stddef.h>
#include <stdint.h>

#include "tests/unit/x86_fuzz_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xt t;
	static int ready;
	if (!ready) {
		if (xt_init(&t, XF_RAM))
			return 0;
		t.cpu->log = NULL;
		ready = 1;
	}
	if (size < 1)
		return 0;
	(void)xf_run(&t, data[0], data + 1, size - 1, 5000);
	return 0;
}
