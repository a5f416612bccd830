/* SPDX-License-Identifier: MIT */
/*
 * trace_test — the tracing runtime: generated wrappers, enable/disable by pattern, the binary
 * backend's rings (several writer threads, wrap, drop accounting), round trip of every argument
 * type through the file and the reader, the log and ftrace text backends, monitor commands.
 * Set TRACE_TEST_KEEP=DIR to keep the files written (tests/fixtures/traces/ came from there).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include "tests/testutil.h"
#include "tracing/trace.h"
#include "tests/fixtures/events/trace-events.c"

struct tt_records {
	unsigned n;
	struct trace_record *rec;
	char (*text)[256];
	char (*name)[64];
};

static char tt_dir[PATH_MAX - 256];

static void tt_path(char *out, size_t len, const char *name)
{
	const char *keep = getenv("TRACE_TEST_KEEP");
	snprintf(out, len, "%s/%s", keep ? keep : tt_dir, name);
}

static int tt_setup(void **state)
{
	(void)state;
	snprintf(tt_dir, sizeof(tt_dir), "%s/trace_test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tt_dir) ? 0 : -1;
}

static int tt_teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tt_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct trace_handle *tt_open(const char *file, const char *backends, const char *patterns)
{
	struct trace_handle *h;
	char why[256] = "", path[PATH_MAX];
	assert_int_equal(trace_open(&h), 0);
	assert_int_equal(trace_set_backends(h, backends, why, sizeof(why)), 0);
	if (file) {
		tt_path(path, sizeof(path), file);
		assert_int_equal(trace_set_file(h, path), 0);
	}
	if (patterns)
		assert_true(trace_enable_patterns(h, patterns, why, sizeof(why)) > 0);
	return h;
}

static void tt_start(struct trace_handle *h)
{
	char why[256] = "";
	char *argv[] = { "trace_test", "--unit", NULL };
	int rc = trace_start(h, 2, argv, why, sizeof(why));
	if (rc)
		print_error("trace_start: %s\n", why);
	assert_int_equal(rc, 0);
}

static void tt_read(const char *file, struct tt_records *out)
{
	struct trace_reader *r;
	struct trace_record rec;
	enum trace_file_error err;
	char msg[256], path[PATH_MAX];
	unsigned cap = 1024;
	int rc;
	tt_path(path, sizeof(path), file);
	rc = trace_reader_open(path, &r, &err, msg, sizeof(msg));
	if (rc)
		print_error("%s\n", msg);
	assert_int_equal(rc, 0);
	memset(out, 0, sizeof(*out));
	out->rec = malloc(cap * sizeof(*out->rec));
	out->text = malloc(cap * sizeof(*out->text));
	out->name = malloc(cap * sizeof(*out->name));
	while ((rc = trace_reader_next(r, &rec)) == 1) {
		if (out->n == cap) {
			cap *= 2;
			out->rec = realloc(out->rec, cap * sizeof(*out->rec));
			out->text = realloc(out->text, cap * sizeof(*out->text));
			out->name = realloc(out->name, cap * sizeof(*out->name));
		}
		assert_true(trace_reader_format(r, &rec, out->text[out->n], sizeof(out->text[0])) >= 0);
		snprintf(out->name[out->n], sizeof(out->name[0]), "%s", trace_reader_event(r, rec.event)->name);
		for (unsigned a = 0; a < rec.nargs; a++)
			rec.strs[a] = NULL;	/* reader-owned */
		out->rec[out->n++] = rec;
	}
	if (rc)
		print_error("%s\n", trace_reader_message(r));
	assert_int_equal(rc, 0);
	trace_reader_close(r);
}

static void tt_free(struct tt_records *t)
{
	free(t->rec);
	free(t->text);
	free(t->name);
}

/* ---- patterns ---- */

static void test_patterns(void **state)
{
	struct trace_handle *h = tt_open(NULL, "log", NULL);
	char why[256];
	(void)state;
	assert_int_equal(trace_enable_patterns(h, "test_u*", why, sizeof(why)), 4);
	assert_int_equal(trace_enable_patterns(h, "test_i*,-test_i8", why, sizeof(why)), 6);
	struct trace_event_info info[32];
	int n = trace_event_match(h, "test_*", info, 32);
	assert_int_equal(n, TRACE_TESTS_FIXTURES_EVENTS__COUNT);
	for (int i = 0; i < n; i++) {
		bool want = !strncmp(info[i].name, "test_u", 6) || (!strncmp(info[i].name, "test_i", 6) && strcmp(info[i].name, "test_i8"));
		assert_int_equal(info[i].enabled, want);
	}
	/* not started: no tracepoint is live yet */
	assert_null(trace_state_tests_fixtures_events[TRACE_EV_TEST_U8]);
	assert_int_equal(trace_enable_patterns(h, "nothing_*", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "nothing_*"));
	assert_int_equal(trace_enable_patterns(h, "test_u8,,x", why, sizeof(why)), -EINVAL);
	assert_int_equal(trace_enable_patterns(h, "-", why, sizeof(why)), -EINVAL);
	assert_int_equal(trace_set_backends(h, "binary,bogus", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bogus"));
	trace_close(h);
}

static void test_patterns_live(void **state)
{
	struct trace_handle *h = tt_open("live.vmt", "binary", "test_u8");
	(void)state;
	tt_start(h);
	assert_ptr_equal(trace_state_tests_fixtures_events[TRACE_EV_TEST_U8], h);
	assert_null(trace_state_tests_fixtures_events[TRACE_EV_TEST_U16]);
	assert_int_equal(trace_event_set_state(h, "test_u8", false), 1);
	assert_null(trace_state_tests_fixtures_events[TRACE_EV_TEST_U8]);
	assert_int_equal(trace_event_set_state(h, "test_u1?", true), 1);
	assert_ptr_equal(trace_state_tests_fixtures_events[TRACE_EV_TEST_U16], h);
	trace_close(h);
	assert_null(trace_state_tests_fixtures_events[TRACE_EV_TEST_U16]);
}

static void test_events_file(void **state)
{
	char path[PATH_MAX], why[256];
	bool help;
	struct trace_handle *h = tt_open(NULL, "log", NULL);
	(void)state;
	tt_path(path, sizeof(path), "events.txt");
	FILE *f = fopen(path, "w");
	fprintf(f, "# comment\ntest_u*   # trailing comment\n\n-test_u64\n");
	fclose(f);
	char opt[PATH_MAX + 8];
	snprintf(opt, sizeof(opt), "events=%s", path);
	assert_int_equal(trace_parse_option(h, opt, &help, why, sizeof(why)), 0);
	assert_false(help);
	struct trace_event_info info[8];
	assert_int_equal(trace_event_match(h, "test_u*", info, 8), 4);
	assert_true(info[0].enabled && info[1].enabled && info[2].enabled && !info[3].enabled);
	f = fopen(path, "w");
	fprintf(f, "test_u8\nno_such_event\n");
	fclose(f);
	assert_int_not_equal(trace_parse_option(h, opt, &help, why, sizeof(why)), 0);
	assert_non_null(strstr(why, ":2: "));
	assert_int_equal(trace_parse_option(h, "help", &help, why, sizeof(why)), 0);
	assert_true(help);
	assert_int_equal(trace_parse_option(h, "ring=16M", &help, why, sizeof(why)), 0);
	assert_int_equal(trace_parse_option(h, "ring=64K", &help, why, sizeof(why)), 0);
	assert_int_equal(trace_parse_option(h, "ring=3M", &help, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "power of two"));
	assert_int_equal(trace_parse_option(h, "ring=32K", &help, why, sizeof(why)), -EINVAL);
	assert_int_equal(trace_parse_option(h, "ring=1X", &help, why, sizeof(why)), -EINVAL);
	assert_int_equal(trace_parse_option(h, "ring=", &help, why, sizeof(why)), -EINVAL);
	trace_close(h);
}

static void test_help_lists_signatures(void **state)
{
	struct trace_handle *h = tt_open(NULL, "log", "test_u8");
	char *buf = NULL;
	size_t len = 0;
	(void)state;
	FILE *f = open_memstream(&buf, &len);
	trace_list_events(h, f);
	fclose(f);
	assert_non_null(strstr(buf, "* test_u8(uint8_t v)"));
	assert_non_null(strstr(buf, "  test_str(const char *s, uint32_t n)"));
	assert_non_null(strstr(buf, "trace_dropped(uint64_t count)"));
	assert_null(strstr(buf, "test_disabled"));
	free(buf);
	trace_close(h);
}

static void test_monitor(void **state)
{
	struct trace_handle *h = tt_open("mon.vmt", "binary", "test_u8");
	char out[4096];
	(void)state;
	tt_start(h);
	assert_int_equal(trace_monitor_command(h, "on test_i*", out, sizeof(out)), 0);
	assert_string_equal(out, "5 events enabled\n");
	assert_ptr_equal(trace_state_tests_fixtures_events[TRACE_EV_TEST_I64], h);
	assert_int_equal(trace_monitor_command(h, "off test_i64", out, sizeof(out)), 0);
	assert_string_equal(out, "1 event disabled\n");
	assert_int_equal(trace_monitor_command(h, "list test_i*", out, sizeof(out)), 0);
	assert_string_equal(out, "test_i8 on\ntest_i16 on\ntest_i32 on\ntest_i64 off\ntest_int on\n");
	assert_int_equal(trace_monitor_command(h, "bogus", out, sizeof(out)), -EINVAL);
	assert_int_equal(trace_monitor_command(h, "on", out, sizeof(out)), -EINVAL);
	assert_int_equal(trace_monitor_command(h, "flush", out, sizeof(out)), 0);
	trace_close(h);
}

static void test_qmp_and_autostart(void **state)
{
	char out[4096], path[PATH_MAX];
	char *argv[] = { "trace_test", NULL };
	struct trace_handle *h;
	(void)state;
	assert_int_equal(trace_open(&h), 0);
	tt_path(path, sizeof(path), "auto.vmt");
	assert_int_equal(trace_set_file(h, path), 0);
	trace_set_autostart(h, 1, argv);
	assert_false(trace_is_started(h));
	assert_int_equal(trace_qmp_get_state(h, "test_u8", out, sizeof(out)), 1);
	assert_string_equal(out, "[{\"name\": \"test_u8\", \"state\": \"disabled\", \"vcpu\": false}]");
	assert_int_equal(trace_qmp_get_state(h, "nope", out, sizeof(out)), -ENOENT);
	assert_int_equal(trace_qmp_get_state(h, "nope*", out, sizeof(out)), 0);
	assert_string_equal(out, "[]");
	assert_int_equal(trace_qmp_get_state(h, "test_*", out, 8), -ENOSPC);
	assert_int_equal(trace_qmp_set_state(h, "nope", true), -ENOENT);
	assert_false(trace_is_started(h));	/* nothing matched: nothing started */
	assert_int_equal(trace_qmp_set_state(h, "test_u1?", true), 0);
	assert_true(trace_is_started(h));
	assert_ptr_equal(trace_state_tests_fixtures_events[TRACE_EV_TEST_U16], h);
	assert_int_equal(trace_qmp_get_state(h, "test_u1*", out, sizeof(out)), 1);
	assert_string_equal(out, "[{\"name\": \"test_u16\", \"state\": \"enabled\", \"vcpu\": false}]");
	trace_test_u16(7);
	assert_int_equal(trace_qmp_set_state(h, "test_u16", false), 0);
	assert_null(trace_state_tests_fixtures_events[TRACE_EV_TEST_U16]);
	trace_close(h);
	struct tt_records t;
	tt_read("auto.vmt", &t);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.text[0], "u16 0x7");
	tt_free(&t);
}

/* ---- round trip: every argument type, checked against the C library's printf ---- */

static void tt_emit_all_types(void)
{
	trace_test_u8(0);
	trace_test_u8(UINT8_MAX);
	trace_test_u16(UINT16_MAX);
	trace_test_u32(UINT32_MAX);
	trace_test_u64(UINT64_MAX);
	trace_test_i8(INT8_MIN);
	trace_test_i16(INT16_MIN);
	trace_test_i32(INT32_MIN);
	trace_test_i64(INT64_MIN);
	trace_test_i64(INT64_MAX);
	trace_test_bool(true);
	trace_test_int(-1, UINT_MAX, 7, SIZE_MAX);
	trace_test_str("hello, trace", 12);
	trace_test_str("", 0);
	trace_test_str(NULL, 1);
	trace_test_noargs();
	trace_test_max(1, 2, 3, 4, 5, 6, UINT64_MAX, "eight");
	trace_test_disabled(1);
}

static const char *const tt_all_types_text[] = {
	"u8 0", "u8 255", "u16 0xffff", "u32 4294967295", "u64 0xffffffffffffffff", "i8 -128", "i16 -32768",
	"i32 -2147483648", "i64 -9223372036854775808", "i64 9223372036854775807", "bool 1",
	"int -1 unsigned 4294967295 7 size 18446744073709551615", "str 'hello, trace' n 12", "str '' n 0",
	"str '' n 1", "no arguments", "1 2 3 4 5 6 18446744073709551615 eight",
};

static void test_round_trip_every_type(void **state)
{
	struct tt_records t;
	char expect[128];
	(void)state;
	struct trace_handle *h = tt_open("all-types.vmt", "binary", "test_*");
	tt_start(h);
	trace_thread_set_vcpu(3);
	tt_emit_all_types();
	trace_thread_set_vcpu(-1);
	trace_close(h);
	tt_read("all-types.vmt", &t);
	assert_int_equal(t.n, sizeof(tt_all_types_text) / sizeof(tt_all_types_text[0]));
	for (unsigned i = 0; i < t.n; i++) {
		assert_string_equal(t.text[i], tt_all_types_text[i]);
		assert_int_equal(t.rec[i].vcpu, 3);
		assert_true(i == 0 || t.rec[i].ts >= t.rec[i - 1].ts);
	}
	/* the C library agrees on the formatting of the signed and size types */
	snprintf(expect, sizeof(expect), "i8 %d", INT8_MIN);
	assert_string_equal(t.text[5], expect);
	snprintf(expect, sizeof(expect), "int %d unsigned %u %u size %zu", -1, UINT_MAX, 7u, SIZE_MAX);
	assert_string_equal(t.text[11], expect);
	assert_int_equal((int64_t)t.rec[8].vals[0], INT64_MIN);
	assert_string_equal(t.name[12], "test_str");
	tt_free(&t);
}

static uint64_t tt_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each timestamp source gives CLOCK_MONOTONIC ns in the file: two records 2 ms apart land between
 * clock readings taken around them (within 100 us for the TSC's conversion) and at least 2 ms
 * apart. "tsc" is used even where the auto checks would refuse it (x86 only). */
static void test_clock_sources(void **state)
{
	static const char *const clocks[] = { "monotonic", "tsc", "auto" };
	const uint64_t slack = 100000;
	char why[256];
	(void)state;
	for (size_t c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++) {
		struct tt_records t;
		struct trace_handle *h = tt_open("clock.vmt", "binary", "test_seq");
#if !defined(__x86_64__) && !defined(__i386__)
		if (!strcmp(clocks[c], "tsc")) {
			trace_close(h);
			continue;
		}
#endif
		assert_int_equal(trace_set_clock(h, clocks[c], why, sizeof(why)), 0);
		tt_start(h);
		uint64_t before = tt_mono_ns();
		trace_test_seq(0, 1);
		usleep(2000);
		trace_test_seq(0, 2);
		uint64_t after = tt_mono_ns();
		trace_close(h);
		tt_read("clock.vmt", &t);
		assert_int_equal(t.n, 2);
		if (t.rec[0].ts + slack < before || t.rec[1].ts > after + slack || t.rec[1].ts - t.rec[0].ts < 2000000)
			print_error("clock %s: before %" PRIu64 " records %" PRIu64 " %" PRIu64 " after %" PRIu64 "\n",
				    clocks[c], before, t.rec[0].ts, t.rec[1].ts, after);
		assert_true(t.rec[0].ts + slack >= before);
		assert_true(t.rec[1].ts <= after + slack);
		assert_true(t.rec[1].ts >= t.rec[0].ts + 2000000);
		tt_free(&t);
	}
	struct trace_handle *h = tt_open("clock.vmt", "binary", NULL);
	assert_int_equal(trace_set_clock(h, "sundial", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "auto, tsc, monotonic"));
	bool help;
	assert_int_equal(trace_parse_option(h, "clock=monotonic", &help, why, sizeof(why)), 0);
	trace_close(h);
}

static void test_log_backend(void **state)
{
	char path[PATH_MAX], line[512];
	(void)state;
	struct trace_handle *h = tt_open(NULL, "log", "test_u16,test_str");
	tt_path(path, sizeof(path), "log.txt");
	assert_int_equal(trace_set_log_file(h, path), 0);
	tt_start(h);
	trace_test_u16(0x1234);
	trace_test_u8(1);	/* off */
	trace_test_str("x", 1);
	trace_close(h);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, ":test_u16 u16 0x1234\n"));
	assert_true(strchr(line, '@') != NULL);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(strstr(line, ":test_str str 'x' n 1\n"));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
}

/* The ftrace backend writes to DIR/trace_marker; a plain file stands in for tracefs here (the
 * end-to-end test uses the real one). */
static void test_ftrace_backend_marker(void **state)
{
	char marker[PATH_MAX], line[256];
	(void)state;
	struct trace_handle *h = tt_open(NULL, "ftrace", "test_u32");
	tt_path(marker, sizeof(marker), "trace_marker");
	FILE *f = fopen(marker, "w");
	fclose(f);
	assert_int_equal(trace_set_tracefs(h, tt_dir), 0);
	if (getenv("TRACE_TEST_KEEP"))
		skip();
	tt_start(h);
	trace_thread_set_vcpu(1);
	trace_test_u32(77);
	trace_thread_set_vcpu(-1);
	trace_close(h);
	f = fopen(marker, "r");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "vmscope: vcpu1 test_u32 u32 77\n");
	fclose(f);
}

/* ---- rings ---- */

#define TT_THREADS 4
struct tt_thread {
	unsigned index;
	unsigned count;
	bool flush_often;
	struct trace_handle *h;
};

static void *tt_producer(void *opaque)
{
	struct tt_thread *t = opaque;
	trace_thread_set_vcpu((int)t->index);
	for (unsigned i = 0; i < t->count; i++) {
		trace_test_seq(t->index, i);
		if (t->flush_often && i % 500 == 499)
			assert_int_equal(trace_flush(t->h), 0);
	}
	return NULL;
}

/* Every thread's records arrive in order; received + recorded drops == sent. */
static void tt_check_accounting(const struct tt_records *t, unsigned threads, unsigned count, uint64_t *drops_out)
{
	uint64_t next[TT_THREADS] = { 0 }, got[TT_THREADS] = { 0 }, drops[TT_THREADS] = { 0 };
	for (unsigned i = 0; i < t->n; i++) {
		const struct trace_record *r = &t->rec[i];
		assert_true(r->vcpu < threads);
		if (!strcmp(t->name[i], "trace_dropped")) {
			drops[r->vcpu] += r->vals[0];
			continue;
		}
		assert_string_equal(t->name[i], "test_seq");
		assert_int_equal(r->vals[0], r->vcpu);
		assert_true(r->vals[1] >= next[r->vcpu]);
		next[r->vcpu] = r->vals[1] + 1;
		got[r->vcpu]++;
	}
	*drops_out = 0;
	for (unsigned k = 0; k < threads; k++) {
		assert_int_equal(got[k] + drops[k], count);
		*drops_out += drops[k];
	}
}

static void tt_run_threads(struct trace_handle *h, unsigned threads, unsigned count, bool flush_often)
{
	pthread_t th[TT_THREADS];
	struct tt_thread args[TT_THREADS];
	for (unsigned i = 0; i < threads; i++) {
		args[i] = (struct tt_thread){ i, count, flush_often, h };
		assert_int_equal(pthread_create(&th[i], NULL, tt_producer, &args[i]), 0);
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
}

static void test_ring_threads(void **state)
{
	struct tt_records t;
	uint64_t drops, written, dropped;
	(void)state;
	struct trace_handle *h = tt_open("threads.vmt", "binary", "test_seq");
	assert_int_equal(trace_set_ring_size(h, 1u << 16), 0);
	tt_start(h);
	tt_run_threads(h, TT_THREADS, 50000, false);
	trace_get_counts(h, &written, &dropped);
	assert_int_equal(written + dropped, TT_THREADS * 50000);
	trace_close(h);
	tt_read("threads.vmt", &t);
	tt_check_accounting(&t, TT_THREADS, 50000, &drops);
	assert_int_equal(drops, dropped);
	tt_free(&t);
}

/* A 64 KiB ring wraps dozens of times; flushing from the producer keeps it from dropping. */
static void test_ring_wrap_no_drop(void **state)
{
	struct tt_records t;
	uint64_t drops;
	(void)state;
	struct trace_handle *h = tt_open("wrap.vmt", "binary", "test_seq");
	assert_int_equal(trace_set_ring_size(h, 1u << 16), 0);
	tt_start(h);
	tt_run_threads(h, 1, 100000, true);
	trace_close(h);
	tt_read("wrap.vmt", &t);
	tt_check_accounting(&t, 1, 100000, &drops);
	assert_int_equal(drops, 0);
	assert_int_equal(t.n, 100000);
	tt_free(&t);
}

/* 16-byte records fill a 64 KiB ring exactly: every wrap happens without a pad, so the writer
 * drains without walking the records and must split its chunks at the ring's end itself. */
static void test_ring_wrap_exact(void **state)
{
	struct tt_records t;
	struct trace_handle *h = tt_open("exact.vmt", "binary", "test_u64");
	(void)state;
	assert_int_equal(trace_set_ring_size(h, 1u << 16), 0);
	tt_start(h);
	for (uint64_t i = 0; i < 100000; i++) {
		trace_test_u64(i);
		if (i % 1000 == 999)
			assert_int_equal(trace_flush(h), 0);
	}
	trace_close(h);
	tt_read("exact.vmt", &t);
	assert_int_equal(t.n, 100000);
	for (unsigned i = 0; i < t.n; i++) {
		assert_string_equal(t.name[i], "test_u64");
		assert_int_equal(t.rec[i].vals[0], i);
	}
	tt_free(&t);
}

struct tt_fifo_reader {
	int fd;
	atomic_bool done;
	uint8_t *buf;
	size_t len, cap;
};

static void *tt_fifo_drain(void *opaque)
{
	struct tt_fifo_reader *f = opaque;
	for (;;) {
		if (f->len + 65536 > f->cap) {
			f->cap = f->cap ? f->cap * 2 : 1 << 20;
			f->buf = realloc(f->buf, f->cap);
		}
		ssize_t n = read(f->fd, f->buf + f->len, f->cap - f->len);
		if (n > 0) {
			f->len += (size_t)n;
			continue;
		}
		if (atomic_load(&f->done))
			break;
		usleep(1000);
	}
	return NULL;
}

/* The file is a pipe nobody reads: the writer blocks, the ring fills, records must drop and be
 * counted; then the pipe is drained and the drops must be in the file as trace_dropped records. */
static void test_ring_drops_recorded(void **state)
{
	char path[PATH_MAX];
	struct tt_fifo_reader f = { 0 };
	pthread_t th;
	uint64_t written, dropped, drops;
	struct tt_records t;
	(void)state;
	tt_path(path, sizeof(path), "fifo");
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	f.fd = open(path, O_RDWR | O_NONBLOCK);
	assert_true(f.fd >= 0);
	struct trace_handle *h = tt_open("fifo", "binary", "test_seq");
	assert_int_equal(trace_set_ring_size(h, 1u << 16), 0);
	tt_start(h);
	tt_run_threads(h, 1, 20000, false);	/* 640 KB: more than the pipe and the ring hold */
	trace_get_counts(h, &written, &dropped);
	assert_true(dropped > 0);
	assert_int_equal(written + dropped, 20000);
	assert_int_equal(pthread_create(&th, NULL, tt_fifo_drain, &f), 0);
	trace_close(h);
	atomic_store(&f.done, true);
	pthread_join(th, NULL);
	close(f.fd);
	unlink(path);
	tt_path(path, sizeof(path), "drops.vmt");
	FILE *out = fopen(path, "w");
	fwrite(f.buf, 1, f.len, out);
	fclose(out);
	free(f.buf);
	tt_read("drops.vmt", &t);
	tt_check_accounting(&t, 1, 20000, &drops);
	assert_int_equal(drops, dropped);
	tt_free(&t);
}

/* A file is readable while the emulator runs: the writer flushes by itself within a second.
 * (No time is asserted: the test polls the file until the records appear.) */
static void test_periodic_flush(void **state)
{
	char path[PATH_MAX];
	(void)state;
	struct trace_handle *h = tt_open("periodic.vmt", "binary", "test_u8");
	tt_start(h);
	trace_test_u8(42);
	tt_path(path, sizeof(path), "periodic.vmt");
	for (;;) {
		struct tt_records t;
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		if (st.st_size == 0)
			continue;
		tt_read("periodic.vmt", &t);
		unsigned n = t.n;
		tt_free(&t);
		if (n == 1)
			break;
		usleep(10000);
	}
	trace_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_patterns_live),
		cmocka_unit_test(test_events_file),
		cmocka_unit_test(test_help_lists_signatures),
		cmocka_unit_test(test_monitor),
		cmocka_unit_test(test_qmp_and_autostart),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_clock_sources),
		cmocka_unit_test(test_log_backend),
		cmocka_unit_test(test_ftrace_backend_marker),
		cmocka_unit_test(test_ring_threads),
		cmocka_unit_test(test_ring_wrap_no_drop),
		cmocka_unit_test(test_ring_wrap_exact),
		cmocka_unit_test(test_ring_drops_recorded),
		cmocka_unit_test(test_periodic_flush),
	};
	return cmocka_run_group_tests(tests, tt_setup, tt_teardown);
}
