/* SPDX-License-Identifier: MIT */
/*
 * trace-bench — cost of a tracepoint: disabled (one load and a predictable branch), and enabled
 * into the binary backend from 1 and 2 threads. Medians of 5 runs; records dropped are reported
 * (a run that drops measures the drop path, so the ring is sized to avoid it).
 *   trace-bench [DIR]   (trace files go to DIR, default /tmp)
 *   trace-bench --events N [DIR [CLOCK]]   only N enabled events from one thread: for
 *       valgrind --tool=callgrind --toggle-collect=tb_producer (instructions per event);
 *       CLOCK is --trace clock= (auto, tsc, monotonic)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tracing/trace.h"
#include "tests/fixtures/events/trace-events.c"

#define RUNS 5

/* The calling thread's CPU time: on a shared machine, time spent descheduled is not the
 * tracepoint's cost (wall-clock medians are printed by the guest benchmark). */
static double tb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double tb_median(double *v)
{
	qsort(v, RUNS, sizeof(*v), tb_cmp);
	return v[RUNS / 2];
}

static double tb_disabled_once(void)
{
	const uint64_t n = 200000000;
	double t0 = tb_now();
	for (uint64_t i = 0; i < n; i++)
		trace_test_sample(i, 1);	/* off: the state pointer is NULL */
	return (tb_now() - t0) * 1e9 / (double)n;
}

static double tb_empty_once(void)
{
	const uint64_t n = 200000000;
	volatile uint64_t sink = 0;
	double t0 = tb_now();
	for (uint64_t i = 0; i < n; i++)
		sink = i;
	(void)sink;
	return (tb_now() - t0) * 1e9 / (double)n;
}

struct tb_thread {
	uint64_t n;
	double ns;
};

static void *tb_producer(void *opaque)
{
	struct tb_thread *t = opaque;
	trace_test_sample(0, 0);	/* creates this thread's ring outside the timing */
	double t0 = tb_now();
	for (uint64_t i = 0; i < t->n; i++)
		trace_test_sample(i, 1);
	t->ns = (tb_now() - t0) * 1e9 / (double)t->n;
	return NULL;
}

static uint64_t tb_events = 1000000;
static const char *tb_clock = "auto";

/* ns per event per thread (the slowest thread), and drops. */
static double tb_enabled_once(const char *dir, unsigned threads, uint64_t *dropped)
{
	struct trace_handle *h;
	char why[256], path[512];
	pthread_t th[2];
	struct tb_thread t[2];
	uint64_t written;
	double worst = 0;
	snprintf(path, sizeof(path), "%s/trace-bench-%d.vmt", dir, (int)getpid());
	if (trace_open(&h) || trace_set_file(h, path) || trace_set_ring_size(h, 64u << 20) ||
	    trace_set_clock(h, tb_clock, why, sizeof(why)) ||
	    trace_enable_patterns(h, "test_sample", why, sizeof(why)) < 0 || trace_start(h, 0, NULL, why, sizeof(why))) {
		fprintf(stderr, "trace-bench: cannot start tracing\n");
		exit(1);
	}
	for (unsigned i = 0; i < threads; i++) {
		t[i].n = tb_events;
		pthread_create(&th[i], NULL, tb_producer, &t[i]);
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		worst = t[i].ns > worst ? t[i].ns : worst;
	}
	trace_get_counts(h, &written, dropped);
	trace_close(h);
	unlink(path);
	return worst;
}

int main(int argc, char **argv)
{
	double dis[RUNS], base[RUNS], en1[RUNS], en2[RUNS];
	uint64_t drops = 0, d;
	if (argc > 2 && !strcmp(argv[1], "--events")) {
		tb_events = strtoull(argv[2], NULL, 0);
		tb_clock = argc > 4 ? argv[4] : tb_clock;
		double ns = tb_enabled_once(argc > 3 ? argv[3] : "/tmp", 1, &d);
		printf("trace-bench: %llu events, %.2f ns/event, %llu dropped\n", (unsigned long long)tb_events, ns,
		       (unsigned long long)d);
		return 0;
	}
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	for (int r = 0; r < RUNS; r++) {
		base[r] = tb_empty_once();
		dis[r] = tb_disabled_once();
		en1[r] = tb_enabled_once(dir, 1, &d);
		drops += d;
		en2[r] = tb_enabled_once(dir, 2, &d);
		drops += d;
	}
	printf("trace-bench: medians of %d runs, thread CPU time per iteration\n", RUNS);
	printf("  empty loop iteration              %6.2f ns\n", tb_median(base));
	printf("  disabled tracepoint (loop incl.)  %6.2f ns   (%+.2f ns over the empty loop; target <= 1 ns)\n",
	       tb_median(dis), tb_median(dis) - tb_median(base));
	printf("  enabled, binary, 1 thread         %6.2f ns/event   (target <= 50 ns)\n", tb_median(en1));
	printf("  enabled, binary, 2 threads        %6.2f ns/event per thread (%.1f M events/s when each has a CPU)\n", tb_median(en2),
	       2e3 / tb_median(en2));
	printf("  records dropped in all runs       %llu\n", (unsigned long long)drops);
	return 0;
}
