/* SPDX-License-Identifier: MIT */
/* The RSP packet parser: framing, checksums, escapes, run-length encoding, interrupts. */
#include <stdlib.h>

#include "tests/testutil.h"
#include "gdbstub/gdbstub.h"

struct feed_result {
	enum gdb_parser_event events[16];
	unsigned n;
};

/* Feeds a byte string; collects every event other than NONE. */
static struct feed_result feed(struct gdb_parser *p, const char *bytes, size_t len)
{
	struct feed_result r = { .n = 0 };
	for (size_t i = 0; i < len; i++) {
		enum gdb_parser_event ev = gdb_parser_feed(p, (uint8_t)bytes[i]);
		if (ev != GDB_EV_NONE && r.n < 16)
			r.events[r.n++] = ev;
	}
	return r;
}

#define FEED(p, lit) feed(p, lit, sizeof(lit) - 1)

/* Wraps payload (raw, already escaped/encoded) as $payload#cc with a correct checksum. */
static size_t frame(const char *raw, size_t len, char *out)
{
	uint8_t sum = 0;
	out[0] = '$';
	for (size_t i = 0; i < len; i++) {
		out[1 + i] = raw[i];
		sum += (uint8_t)raw[i];
	}
	return 1 + len + (size_t)sprintf(out + 1 + len, "#%02x", sum);
}

static struct feed_result feed_framed(struct gdb_parser *p, const char *raw, size_t len)
{
	char buf[1024];
	size_t n = frame(raw, len, buf);
	return feed(p, buf, n);
}

static int setup(void **state)
{
	struct gdb_parser *p;
	if (gdb_parser_create(64, &p) < 0)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	gdb_parser_destroy(*state);
	return 0;
}

static void assert_payload(struct gdb_parser *p, const char *want, size_t want_len)
{
	size_t len;
	const uint8_t *got = gdb_parser_packet(p, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_int_equal(got[len], 0);
}

static void test_checksum_good(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "$g#67");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, "g", 1);
	r = FEED(p, "$#00");	/* empty packet */
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, "", 0);
	r = FEED(p, "$qC#B4");	/* upper-case checksum digits */
	assert_int_equal(r.events[0], GDB_EV_PACKET);
}

static void test_checksum_bad(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "$g#68");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_BAD_CHECKSUM);
	r = FEED(p, "$g#6z");	/* not hex */
	assert_int_equal(r.events[0], GDB_EV_BAD_PACKET);
	r = FEED(p, "$g#67");	/* recovers */
	assert_int_equal(r.events[0], GDB_EV_PACKET);
}

static void test_escape(void **state)
{
	struct gdb_parser *p = *state;
	/* '}' escapes '#' (0x23 ^ 0x20 = 0x03), '$', '}' and '*' */
	const char raw[] = { 'X', '}', 0x03, '}', 0x04, '}', 0x5d, '}', 0x0a, 'Z' };
	struct feed_result r = feed_framed(p, raw, sizeof(raw));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, "X#$}*Z", 6);
}

static void test_escape_at_end_is_bad(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = feed_framed(p, "ab}", 3);
	assert_int_equal(r.events[0], GDB_EV_BAD_PACKET);
}

static void test_binary_nul_and_0x03_inside(void **state)
{
	struct gdb_parser *p = *state;
	const char raw[] = { 'X', 0, 0x03, (char)0xff };
	struct feed_result r = feed_framed(p, raw, sizeof(raw));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, raw, sizeof(raw));
}

static void test_rle_basic(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = feed_framed(p, "0* ", 3);	/* ' ' = 32: 3 more */
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, "0000", 4);
	r = feed_framed(p, "ab*\"c", 5);	/* '"' = 34: 5 more */
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_payload(p, "abbbbbbc", 8);
}

static void test_rle_count_hash_and_dollar_rejected(void **state)
{
	struct gdb_parser *p = *state;
	/* a '#' count would end the packet: the packet is malformed */
	struct feed_result r = FEED(p, "$0*#5a");	/* sum('0','*') = 0x5a */
	assert_int_equal(r.events[0], GDB_EV_BAD_PACKET);
	/* a '$' count starts a new packet: the old one is dropped, the new one parses */
	r = FEED(p, "$0*$g#67");
	assert_int_equal(r.n, 2);
	assert_int_equal(r.events[0], GDB_EV_BAD_PACKET);
	assert_int_equal(r.events[1], GDB_EV_PACKET);
	assert_payload(p, "g", 1);
}

static void test_rle_counts_out_of_range(void **state)
{
	struct gdb_parser *p = *state;
	const char over[] = { 'a', '*', 127 };		/* > 126 */
	const char high[] = { 'a', '*', (char)200 };
	const char low[] = { 'a', '*', 31 };		/* not printable */
	assert_int_equal(feed_framed(p, over, 3).events[0], GDB_EV_BAD_PACKET);
	assert_int_equal(feed_framed(p, high, 3).events[0], GDB_EV_BAD_PACKET);
	assert_int_equal(feed_framed(p, low, 3).events[0], GDB_EV_BAD_PACKET);
	/* nothing to repeat */
	assert_int_equal(feed_framed(p, "* ", 2).events[0], GDB_EV_BAD_PACKET);
	/* 126 is the largest: 97 repeats, more than the 64-byte buffer holds */
	assert_int_equal(feed_framed(p, "a*~", 3).events[0], GDB_EV_OVERLONG);
	/* 126 fits in a larger parser */
	struct gdb_parser *big;
	assert_int_equal(gdb_parser_create(200, &big), 0);
	assert_int_equal(feed_framed(big, "a*~", 3).events[0], GDB_EV_PACKET);
	size_t len;
	(void)gdb_parser_packet(big, &len);
	assert_int_equal(len, 98);
	gdb_parser_destroy(big);
}

static void test_split_across_feeds(void **state)
{
	struct gdb_parser *p = *state;
	const char *pkt = "$m1000,4#8e";
	unsigned packets = 0;
	for (const char *c = pkt; *c; c++) {
		struct feed_result r = feed(p, c, 1);
		packets += r.n == 1 && r.events[0] == GDB_EV_PACKET;
		assert_true(r.n == 0 || c[1] == 0);
	}
	assert_int_equal(packets, 1);
	assert_payload(p, "m1000,4", 7);
}

static void test_glued_packets(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "+$g#67+$?#3f-");
	assert_int_equal(r.n, 5);
	assert_int_equal(r.events[0], GDB_EV_ACK);
	assert_int_equal(r.events[1], GDB_EV_PACKET);
	assert_int_equal(r.events[2], GDB_EV_ACK);
	assert_int_equal(r.events[3], GDB_EV_PACKET);
	assert_int_equal(r.events[4], GDB_EV_NAK);
	assert_payload(p, "?", 1);
}

static void test_interrupt_between_packets(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "$c#63\x03$g#67");
	assert_int_equal(r.n, 3);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	assert_int_equal(r.events[1], GDB_EV_INTERRUPT);
	assert_int_equal(r.events[2], GDB_EV_PACKET);
}

static void test_overlong(void **state)
{
	struct gdb_parser *p = *state;
	char raw[200];
	memset(raw, 'a', sizeof(raw));
	struct feed_result r = feed_framed(p, raw, sizeof(raw));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_OVERLONG);
	/* exactly the capacity fits */
	r = feed_framed(p, raw, 64);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	r = feed_framed(p, raw, 65);
	assert_int_equal(r.events[0], GDB_EV_OVERLONG);
	r = FEED(p, "$g#67");
	assert_int_equal(r.events[0], GDB_EV_PACKET);
}

static void test_truncated_then_reset(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "$m10");	/* the client vanished mid-packet */
	assert_int_equal(r.n, 0);
	gdb_parser_reset(p);
	r = FEED(p, "$g#67");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
	/* truncated by a new '$' without a reset */
	r = FEED(p, "$m10$g#67");
	assert_int_equal(r.events[0], GDB_EV_BAD_PACKET);
	assert_int_equal(r.events[1], GDB_EV_PACKET);
}

static void test_noise_ignored(void **state)
{
	struct gdb_parser *p = *state;
	struct feed_result r = FEED(p, "xyz\n#00$g#67");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0], GDB_EV_PACKET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checksum_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape_at_end_is_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_nul_and_0x03_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_count_hash_and_dollar_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rle_counts_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_across_feeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glued_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_between_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_then_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noise_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
