/* SPDX-License-Identifier: MIT */
/*
 * trace-writer — writes a trace file through the real runtime, for the vmtrace tests:
 *   trace-writer OUT.vmt ADDR[*COUNT]...   test_sample(rip=ADDR) COUNT times (default once),
 *                                          alternating vCPUs 0 and 1
 */
#include <stdlib.h>
#include <string.h>
#include "tracing/trace.h"
#include "tests/fixtures/events/trace-events.c"

int main(int argc, char **argv)
{
	struct trace_handle *h;
	char why[256];
	if (argc < 2) {
		fprintf(stderr, "usage: trace-writer OUT.vmt ADDR[*COUNT]...\n");
		return 2;
	}
	if (trace_open(&h) || trace_set_file(h, argv[1]) || trace_enable_patterns(h, "test_sample", why, sizeof(why)) < 0 ||
	    trace_start(h, argc, argv, why, sizeof(why))) {
		fprintf(stderr, "trace-writer: cannot start tracing\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char *end;
		uint64_t addr = strtoull(argv[i], &end, 0), count = 1;
		if (*end == '*')
			count = strtoull(end + 1, &end, 0);
		if (*end) {
			fprintf(stderr, "trace-writer: bad sample '%s'\n", argv[i]);
			return 2;
		}
		for (uint64_t k = 0; k < count; k++) {
			trace_thread_set_vcpu((int)(k & 1));
			trace_test_sample(addr, (uint32_t)k);
		}
	}
	trace_close(h);
	return 0;
}
