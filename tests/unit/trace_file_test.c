/* SPDX-License-Identifier: MIT */
/*
 * trace_file_test — the trace file reader: fixtures written by earlier versions decode with no
 * event-definition file (version 1, and version 2 with its chunks and TSC ticks); every validator
 * has known-bad twins rejected with a named error and an offset; a bounded fuzz loop (mutations
 * and truncations) of each version never crashes or hangs the reader.
 */
#include <errno.h>
#include <stdlib.h>
#include "tests/testutil.h"
#include "tracing/trace.h"

#define FIXTURES "tests/fixtures/traces/"

static uint8_t *tf_load(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 20);
	*size = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Decodes every record; returns the reader's final status (0 clean end, -EINVAL damaged). */
static int tf_decode_all(struct trace_reader *r, unsigned *count)
{
	struct trace_record rec;
	char text[2048];
	int rc;
	*count = 0;
	while ((rc = trace_reader_next(r, &rec)) == 1) {
		assert_true(trace_reader_format(r, &rec, text, sizeof(text)) >= 0);
		(*count)++;
	}
	return rc;
}

static const char *const tf_v1_text[] = {
	"test_u8 u8 0", "test_u8 u8 255", "test_u16 u16 0xffff", "test_u32 u32 4294967295",
	"test_u64 u64 0xffffffffffffffff", "test_i8 i8 -128", "test_i16 i16 -32768", "test_i32 i32 -2147483648",
	"test_i64 i64 -9223372036854775808", "test_i64 i64 9223372036854775807", "test_bool bool 1",
	"test_int int -1 unsigned 4294967295 7 size 18446744073709551615", "test_str str 'hello, trace' n 12",
	"test_str str '' n 0", "test_str str '' n 1", "test_noargs no arguments",
	"test_max 1 2 3 4 5 6 18446744073709551615 eight",
};

/* Both fixtures hold the same 17 records (v1: ns timestamps; v2: chunks, TSC ticks). */
static void tf_fixture_decodes(const char *file, unsigned version, unsigned nr_events)
{
	struct trace_reader *r;
	struct trace_record rec;
	struct trace_file_info info;
	enum trace_file_error err;
	char msg[256], line[2100], text[2048];
	uint64_t last_ts = 0, first_off = 0;
	unsigned n = 0;
	assert_int_equal(trace_reader_open(file, &r, &err, msg, sizeof(msg)), 0);
	trace_reader_info(r, &info);
	assert_int_equal(info.version, version);
	assert_string_equal(info.cmdline, "trace_test --unit");
	assert_int_equal(info.nr_events, nr_events);
	while (trace_reader_next(r, &rec) == 1) {
		assert_true(n < sizeof(tf_v1_text) / sizeof(tf_v1_text[0]));
		assert_true(trace_reader_format(r, &rec, text, sizeof(text)) >= 0);
		snprintf(line, sizeof(line), "%s %s", trace_reader_event(r, rec.event)->name, text);
		assert_string_equal(line, tf_v1_text[n]);
		assert_int_equal(rec.vcpu, 3);
		assert_true(rec.ts >= last_ts && rec.ts >= info.start_mono_ns);
		last_ts = rec.ts;
		first_off = n ? first_off : rec.offset;
		n++;
	}
	assert_int_equal(n, sizeof(tf_v1_text) / sizeof(tf_v1_text[0]));
	assert_int_equal(trace_reader_arg_index(r, 10, "s"), 0);
	assert_string_equal(trace_reader_event(r, 12)->arg_names[7], "h2");
	/* seek back to the first record: the same record again */
	assert_int_equal(trace_reader_seek(r, first_off), 0);
	assert_int_equal(trace_reader_next(r, &rec), 1);
	assert_true(trace_reader_format(r, &rec, text, sizeof(text)) >= 0);
	assert_string_equal(text, "u8 0");
	trace_reader_close(r);
}

static void test_v1_fixture_decodes(void **state)
{
	(void)state;
	tf_fixture_decodes(FIXTURES "v1-all-types.vmt", 1, 16);
}

static void test_v2_fixture_decodes(void **state)
{
	(void)state;
	tf_fixture_decodes(FIXTURES "v2-all-types.vmt", 2, 17);
}

/* Committed known-bad files: each fails with its named error. */
static void test_bad_fixtures(void **state)
{
	static const struct {
		const char *file;
		enum trace_file_error err;
		const char *offset;
	} cases[] = {
		{ FIXTURES "bad-magic.vmt", TRACE_FERR_MAGIC, "offset 0 " },
		{ FIXTURES "big-endian.vmt", TRACE_FERR_ENDIAN, "offset 12 " },
		{ FIXTURES "bad-desc-offset.vmt", TRACE_FERR_OFFSET, "offset 24 " },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct trace_reader *r = NULL;
		enum trace_file_error err;
		char msg[256];
		assert_int_equal(trace_reader_open(cases[i].file, &r, &err, msg, sizeof(msg)), -EINVAL);
		assert_null(r);
		assert_int_equal(err, cases[i].err);
		assert_non_null(strstr(msg, cases[i].offset));
		assert_non_null(strstr(msg, trace_file_error_name(cases[i].err)));
	}
}

static void test_truncated_fixture(void **state)
{
	struct trace_reader *r;
	enum trace_file_error err;
	char msg[256];
	unsigned n;
	(void)state;
	assert_int_equal(trace_reader_open(FIXTURES "truncated.vmt", &r, &err, msg, sizeof(msg)), 0);
	assert_int_equal(tf_decode_all(r, &n), -EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(trace_reader_error(r), TRACE_FERR_TRUNCATED);
	assert_non_null(strstr(trace_reader_message(r), "offset 912 (0x390)"));
	trace_reader_close(r);
	assert_int_equal(trace_reader_open("/nonexistent/x.vmt", &r, &err, msg, sizeof(msg)), -ENOENT);
	assert_int_equal(err, TRACE_FERR_IO);
	assert_int_equal(trace_reader_open("tests", &r, &err, msg, sizeof(msg)), -EINVAL);
}

/* ---- targeted corruptions of the v1 fixture ---- */

static uint64_t tf_get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void tf_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void tf_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void tf_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

enum tf_where { TF_HDR, TF_DESC0, TF_REC0, TF_STRREC, TF_CHUNK0, TF_V2REC0, TF_V2STRREC };

struct tf_case {
	const char *what;
	enum tf_where where;
	size_t off;
	unsigned width;		/* 1, 2, 4, 8 */
	uint64_t value;
	enum trace_file_error err;
	bool at_open;		/* fails in trace_reader_open (else in trace_reader_next) */
};

static const struct tf_case tf_cases[] = {
	{ "version 3", TF_HDR, 8, 4, 3, TRACE_FERR_VERSION, true },
	{ "byte-order mark garbage", TF_HDR, 12, 4, 0xdeadbeef, TRACE_FERR_HEADER, true },
	{ "header size 64", TF_HDR, 16, 4, 64, TRACE_FERR_HEADER, true },
	{ "unknown clock", TF_HDR, 64, 4, 7, TRACE_FERR_HEADER, true },
	{ "reserved byte set", TF_HDR, 100, 1, 1, TRACE_FERR_HEADER, true },
	{ "too many events", TF_HDR, 20, 4, 60000, TRACE_FERR_HEADER, true },
	{ "descriptor size past the end", TF_HDR, 32, 8, 1ull << 62, TRACE_FERR_OFFSET, true },
	{ "descriptors misaligned", TF_HDR, 24, 8, 0x99, TRACE_FERR_OFFSET, true },
	{ "records offset mismatch", TF_HDR, 40, 8, 0x398, TRACE_FERR_OFFSET, true },
	{ "command line past the end", TF_HDR, 80, 4, 0xfffffff0u, TRACE_FERR_OFFSET, true },
	{ "command line offset inside the header", TF_HDR, 72, 8, 8, TRACE_FERR_OFFSET, true },
	{ "descriptor size 0", TF_DESC0, 0, 4, 0, TRACE_FERR_DESC, true },
	{ "descriptor size unaligned", TF_DESC0, 0, 4, 33, TRACE_FERR_DESC, true },
	{ "descriptor id out of order", TF_DESC0, 4, 4, 5, TRACE_FERR_DESC, true },
	{ "descriptor with 9 arguments", TF_DESC0, 8, 2, 9, TRACE_FERR_DESC, true },
	{ "descriptor name overruns", TF_DESC0, 10, 2, 200, TRACE_FERR_DESC, true },
	{ "unknown argument type", TF_DESC0, 16, 1, 99, TRACE_FERR_DESC, true },
	{ "argument type string for %u", TF_DESC0, 16, 1, TRACE_T_STR, TRACE_FERR_DESC, true },
	{ "name not an identifier", TF_DESC0, 18, 1, '-', TRACE_FERR_DESC, true },
	{ "format %u becomes %n", TF_DESC0, 29, 1, 'n', TRACE_FERR_DESC, true },
	{ "record size 12", TF_REC0, 0, 2, 12, TRACE_FERR_RECORD, false },
	{ "record size unaligned", TF_REC0, 0, 2, 26, TRACE_FERR_RECORD, false },
	{ "record size past the end", TF_REC0, 0, 2, 60000, TRACE_FERR_TRUNCATED, false },
	{ "record event id unknown", TF_REC0, 2, 2, 999, TRACE_FERR_RECORD, false },
	{ "record argument count wrong", TF_REC0, 6, 2, 2, TRACE_FERR_RECORD, false },
	{ "record size larger than its arguments", TF_REC0, 0, 2, 32, TRACE_FERR_RECORD, false },
	{ "string length overruns the record", TF_STRREC, 16, 8, 4096, TRACE_FERR_RECORD, false },
	{ "string length short of the record", TF_STRREC, 16, 8, 3, TRACE_FERR_RECORD, false },
};

static const struct tf_case tf_v2_cases[] = {
	{ "version 3", TF_HDR, 8, 4, 3, TRACE_FERR_VERSION, true },
	{ "unknown tick source", TF_HDR, 84, 4, 7, TRACE_FERR_HEADER, true },
	{ "reserved byte set", TF_HDR, 100, 1, 1, TRACE_FERR_HEADER, true },
	{ "chunk magic garbage", TF_CHUNK0, 0, 4, 0x12345678, TRACE_FERR_RECORD, false },
	{ "chunk vCPU out of range", TF_CHUNK0, 8, 4, 0x10000, TRACE_FERR_RECORD, false },
	{ "chunk reserved field set", TF_CHUNK0, 12, 4, 1, TRACE_FERR_RECORD, false },
	{ "chunk longer than the file", TF_CHUNK0, 4, 4, 1u << 30, TRACE_FERR_TRUNCATED, false },
	{ "chunk ends inside a record", TF_CHUNK0, 4, 4, 5, TRACE_FERR_RECORD, false },
	{ "record size 7", TF_V2REC0, 0, 2, 7, TRACE_FERR_RECORD, false },
	{ "record size past its chunk", TF_V2REC0, 0, 2, 60000, TRACE_FERR_RECORD, false },
	{ "record event id unknown", TF_V2REC0, 2, 2, 999, TRACE_FERR_RECORD, false },
	{ "record size larger than its arguments", TF_V2REC0, 0, 2, 10, TRACE_FERR_RECORD, false },
	{ "record size smaller than its arguments", TF_V2STRREC, 0, 2, 9, TRACE_FERR_RECORD, false },
	{ "string length overruns the record", TF_V2STRREC, 8, 2, 1000, TRACE_FERR_RECORD, false },
	{ "string length over 1024", TF_V2STRREC, 8, 2, 4096, TRACE_FERR_RECORD, false },
};

static size_t tf_base(const uint8_t *d, enum tf_where w)
{
	size_t rec = tf_get64(d + 40);
	switch (w) {
	case TF_CHUNK0: return rec;
	case TF_V2REC0: return rec + 40;
	case TF_V2STRREC:	/* the 13th record: test_str "hello, trace" */
		rec += 40;
		for (int i = 0; i < 12; i++)
			rec += d[rec] | d[rec + 1] << 8;
		return rec;
	case TF_HDR: return 0;
	case TF_DESC0: return tf_get64(d + 24);
	case TF_REC0: return rec;
	case TF_STRREC:	/* the 13th record: test_str "hello, trace" */
		for (int i = 0; i < 12; i++)
			rec += d[rec] | d[rec + 1] << 8;
		return rec;
	}
	return 0;
}

static void tf_apply(uint8_t *d, const struct tf_case *c)
{
	uint8_t *p = d + tf_base(d, c->where) + c->off;
	switch (c->width) {
	case 1: *p = (uint8_t)c->value; break;
	case 2: tf_put16(p, (uint16_t)c->value); break;
	case 4: tf_put32(p, (uint32_t)c->value); break;
	default: tf_put64(p, c->value); break;
	}
}

static void tf_corruptions_named(const char *file, const struct tf_case *cases, size_t ncases)
{
	size_t size;
	uint8_t *orig = tf_load(file, &size);
	for (size_t i = 0; i < ncases; i++) {
		const struct tf_case *c = &cases[i];
		uint8_t *d = malloc(size);
		struct trace_reader *r = NULL;
		enum trace_file_error err = TRACE_FERR_NONE;
		char msg[256] = "";
		unsigned n;
		memcpy(d, orig, size);
		tf_apply(d, c);
		int rc = trace_reader_open_mem(d, size, &r, &err, msg, sizeof(msg));
		if (!c->at_open) {
			assert_int_equal(rc, 0);
			assert_int_equal(tf_decode_all(r, &n), -EINVAL);
			err = trace_reader_error(r);
			snprintf(msg, sizeof(msg), "%s", trace_reader_message(r));
			trace_reader_close(r);
		} else if (rc == 0) {
			trace_reader_close(r);
		}
		if (err != c->err || !strstr(msg, "offset "))
			print_error("case '%s': got error %d (%s), want %d\n", c->what, err, msg, c->err);
		assert_int_equal(err, c->err);
		assert_non_null(strstr(msg, "offset "));
		free(d);
	}
	free(orig);
}

static void test_corruptions_named(void **state)
{
	(void)state;
	tf_corruptions_named(FIXTURES "v1-all-types.vmt", tf_cases, sizeof(tf_cases) / sizeof(tf_cases[0]));
}

static void test_v2_corruptions_named(void **state)
{
	(void)state;
	tf_corruptions_named(FIXTURES "v2-all-types.vmt", tf_v2_cases, sizeof(tf_v2_cases) / sizeof(tf_v2_cases[0]));
}

/* Every truncation point: either a named error or a clean prefix of the records. */
static void tf_every_truncation(const char *file)
{
	size_t size;
	uint8_t *orig = tf_load(file, &size);
	size_t rec_off = tf_get64(orig + 40);
	for (size_t len = 0; len < size; len++) {
		struct trace_reader *r;
		enum trace_file_error err;
		char msg[256];
		unsigned n;
		uint8_t *d = malloc(len + 1);	/* exact size: ASan catches a read past it */
		memcpy(d, orig, len);
		int rc = trace_reader_open_mem(d, len, &r, &err, msg, sizeof(msg));
		if (len < rec_off) {
			assert_int_equal(rc, -EINVAL);
			assert_true(err == TRACE_FERR_SHORT_HEADER || err == TRACE_FERR_OFFSET);
		} else {
			assert_int_equal(rc, 0);
			rc = tf_decode_all(r, &n);
			assert_true(rc == 0 || trace_reader_error(r) == TRACE_FERR_TRUNCATED);
			trace_reader_close(r);
		}
		free(d);
	}
	free(orig);
}

static void test_every_truncation(void **state)
{
	(void)state;
	tf_every_truncation(FIXTURES "v1-all-types.vmt");
	tf_every_truncation(FIXTURES "v2-all-types.vmt");
}

static uint64_t tf_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Bounded fuzz: random byte flips, word stores and truncations. The reader must return, and any
 * failure must carry a name and an offset. TRACE_FUZZ_ITERATIONS overrides the count. */
static void tf_fuzz(const char *file)
{
	size_t size;
	uint8_t *orig = tf_load(file, &size);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned iters = getenv("TRACE_FUZZ_ITERATIONS") ? (unsigned)atoi(getenv("TRACE_FUZZ_ITERATIONS")) : 20000;
	unsigned failures_open = 0, failures_next = 0;
	for (unsigned it = 0; it < iters; it++) {
		size_t len = tf_rand(&seed) % 8 == 0 ? tf_rand(&seed) % (size + 1) : size;
		uint8_t *d = malloc(len + 1);
		memcpy(d, orig, len);
		for (unsigned k = 1 + tf_rand(&seed) % 6; len && k; k--) {
			size_t at = tf_rand(&seed) % len;
			if (tf_rand(&seed) % 2 || at + 8 > len)
				d[at] ^= (uint8_t)(1u << (tf_rand(&seed) % 8));
			else
				tf_put64(d + at, tf_rand(&seed) % 3 ? tf_rand(&seed) % 4096 : tf_rand(&seed));
		}
		struct trace_reader *r;
		enum trace_file_error err;
		char msg[256];
		unsigned n;
		if (trace_reader_open_mem(d, len, &r, &err, msg, sizeof(msg))) {
			assert_int_not_equal(err, TRACE_FERR_NONE);
			assert_non_null(strstr(msg, "offset "));
			failures_open++;
		} else {
			if (tf_decode_all(r, &n)) {
				assert_int_not_equal(trace_reader_error(r), TRACE_FERR_NONE);
				assert_non_null(strstr(trace_reader_message(r), "offset "));
				failures_next++;
			}
			trace_reader_close(r);
		}
		free(d);
	}
	printf("# fuzz %s: %u iterations, %u rejected at open, %u in the records\n", file, iters, failures_open,
	       failures_next);
	assert_true(failures_open > 0 && failures_next > 0);
	free(orig);
}

static void test_fuzz(void **state)
{
	(void)state;
	tf_fuzz(FIXTURES "v1-all-types.vmt");
	tf_fuzz(FIXTURES "v2-all-types.vmt");
}

static void test_format_untrusted(void **state)
{
	char buf[64];
	uint8_t t_u32[] = { TRACE_T_U32 }, t_str[] = { TRACE_T_STR }, t_i8[] = { TRACE_T_I8 }, t_u16[] = { TRACE_T_U16 };
	uint64_t v = (uint64_t)-5;
	const char *strs[] = { "abc" };
	(void)state;
	assert_int_equal(trace_format_validate("%n", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("%*d", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("%d %d", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("%s", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("%d", 1, t_str), -EINVAL);
	assert_int_equal(trace_format_validate("%9999d", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("%f", 1, t_u32), -EINVAL);
	assert_int_equal(trace_format_validate("100%% %", 0, t_u32), -EINVAL);
	assert_int_equal(trace_format(buf, sizeof(buf), "%d|%x|%u", 0, t_i8, &v, NULL), -EINVAL);
	assert_int_equal(trace_format(buf, sizeof(buf), "[%-5d] %%", 1, t_i8, &v, NULL), 9);
	assert_string_equal(buf, "[-5   ] %");
	assert_true(trace_format(buf, sizeof(buf), "%x %hhx", 0, t_i8, &v, NULL) < 0);
	assert_true(trace_format(buf, sizeof(buf), "%x", 1, t_i8, &v, NULL) > 0);
	assert_string_equal(buf, "fb");	/* int8_t -5 printed as C would through %x of an int8 */
	uint64_t w = 0x12345;
	assert_true(trace_format(buf, sizeof(buf), "%04x", 1, t_u16, &w, NULL) > 0);
	assert_string_equal(buf, "2345");
	assert_true(trace_format(buf, 4, "%s", 1, t_str, &v, strs) >= 0);
	assert_string_equal(buf, "abc");
	assert_true(trace_format(buf, 3, "%s", 1, t_str, &v, strs) >= 0);
	assert_string_equal(buf, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_fixture_decodes),
		cmocka_unit_test(test_v2_fixture_decodes),
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_truncated_fixture),
		cmocka_unit_test(test_corruptions_named),
		cmocka_unit_test(test_v2_corruptions_named),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_format_untrusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
