/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the gdbstub packet layer and every command handler, with the fake
 * target of the unit tests. The input is a byte stream from a "client"; bytes after a 0xfe
 * marker are not sent but make the target stop, so run control paths are reached too.
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address).
 */
#include <stdlib.h>

#include "tests/unit/gdb_fake_target.h"

static void fuzz_discard(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
}

static struct fake_target *fuzz_target(void)
{
	static struct fake_target *t;	/* reused: 256 KiB per input would dominate */
	if (!t)
		t = malloc(sizeof(*t));
	memset(t, 0, sizeof(*t));
	t->last_step = -2;
	fake_build_page_tables(t, 0);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_target *t = fuzz_target();
	struct gdb_stub *stub;
	if (size == 0)
		return 0;
	t->refuse_watch = data[0] & 2;
	struct gdb_stub_config cfg = { &fake_ops, t, data[0] & 1, fuzz_discard, NULL };
	if (gdb_stub_create(&cfg, &stub) < 0)
		abort();
	gdb_stub_attach(stub);
	size_t start = 1;
	for (size_t i = 1; i <= size; i++) {
		if (i < size && data[i] != 0xfe)
			continue;
		gdb_stub_feed(stub, data + start, i - start);
		if (i + 1 < size) {	/* the marker's next byte: a stop event */
			struct gdb_stop st = { (enum gdb_stop_reason)(data[i + 1] % 8), (int)(data[i + 1] >> 4) - 1,
					       data[i + 1] * 0x101ull, data[i + 1] };
			gdb_stub_post_stop(stub, &st);
			gdb_stub_poll_stop(stub);
			i++;
		}
		start = i + 1;
	}
	gdb_stub_detach(stub);
	gdb_stub_destroy(stub);
	return 0;
}
