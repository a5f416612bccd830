/* SPDX-License-Identifier: MIT */
/*
 * clock.c — where record timestamps come from. rdtsc costs a third of clock_gettime here, so the
 * binary backend records TSC ticks when the TSC runs at a constant rate through sleep states
 * (constant_tsc, nonstop_tsc) and the kernel itself keeps time with it (its clocksource is tsc,
 * so the TSCs of all CPUs agree). The file then carries (tick, CLOCK_MONOTONIC ns) pairs, one in
 * the header and one per chunk, and the reader converts each record's tick to nanoseconds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "tracing/trace-local.h"

#define TRACE_CPUINFO "/proc/cpuinfo"
#define TRACE_CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"

/* Whether the first "flags" line of /proc/cpuinfo lists flag (as a whole word). */
static int trace_cpu_has_flag(const char *flag)
{
	char line[8192];
	int found = -ENOENT;
	FILE *f = fopen(TRACE_CPUINFO, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = 0;
		for (char *save, *t = strtok_r(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \t\n", &save); t;
		     t = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(t, flag))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

/* 0 when the TSC can time records, else -ENOTSUP with the reason in why. */
static int trace_tsc_check(char *why, size_t why_len)
{
#if defined(__x86_64__) || defined(__i386__)
	static const char *const flags[] = { "constant_tsc", "nonstop_tsc" };
	char src[64] = "";
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int rc = trace_cpu_has_flag(flags[i]);
		if (rc != 1) {
			snprintf(why, why_len, rc ? TRACE_CPUINFO ": %s" : TRACE_CPUINFO " has no %s flag",
				 rc ? strerror(-rc) : flags[i]);
			return -ENOTSUP;
		}
	}
	FILE *f = fopen(TRACE_CLOCKSOURCE, "r");
	if (!f || !fgets(src, sizeof(src), f)) {
		snprintf(why, why_len, "%s: %s", TRACE_CLOCKSOURCE, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return -ENOTSUP;
	}
	fclose(f);
	src[strcspn(src, "\n")] = '\0';
	if (strcmp(src, "tsc")) {
		snprintf(why, why_len, "the kernel's clocksource is %s, not tsc", src);
		return -ENOTSUP;
	}
	return 0;
#else
	snprintf(why, why_len, "no time-stamp counter on this architecture");
	return -ENOTSUP;
#endif
}

int trace_clock_choose(struct trace_handle *h, char *why, size_t why_len)
{
	h->tick_is_tsc = false;
	h->clock_why[0] = '\0';
	if (!(h->backends & TRACE_BACKEND_BINARY) || h->clock_want == TRACE_CLOCK_MONO)
		return 0;
	if (trace_tsc_check(h->clock_why, sizeof(h->clock_why)) == 0) {
		h->tick_is_tsc = true;
		return 0;
	}
#if defined(__x86_64__) || defined(__i386__)
	if (h->clock_want == TRACE_CLOCK_TSC) {
		h->tick_is_tsc = true;	/* asked for: used although a check failed */
		return 0;
	}
	fprintf(stderr, "vmscope: trace timestamps from clock_gettime, not the TSC: %s\n", h->clock_why);
	return 0;
#else
	if (h->clock_want == TRACE_CLOCK_TSC) {
		snprintf(why, why_len, "trace clock tsc: %s", h->clock_why);
		return -ENOTSUP;
	}
	return 0;
#endif
}

/* A (tick, ns) pair read together: the TSC on both sides of clock_gettime, averaged; the tightest
 * of three tries, so that a preemption between the reads does not skew the pair. The lfence keeps
 * the first rdtsc after the caller's loads (a drained ring's head). */
void trace_clock_sync(const struct trace_handle *h, uint64_t *tick, uint64_t *ns)
{
#if defined(__x86_64__) || defined(__i386__)
	if (h->tick_is_tsc) {
		uint64_t best = UINT64_MAX;
		for (int i = 0; i < 3; i++) {
			__builtin_ia32_lfence();
			uint64_t t0 = __builtin_ia32_rdtsc();
			uint64_t n = trace_now_ns();
			uint64_t t1 = __builtin_ia32_rdtsc();
			if (t1 - t0 < best) {
				best = t1 - t0;
				*tick = t0 + (t1 - t0) / 2;
				*ns = n;
			}
		}
		return;
	}
#endif
	*tick = *ns = trace_now_ns();
}
