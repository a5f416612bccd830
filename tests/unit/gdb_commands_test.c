/* SPDX-License-Identifier: MIT */
/*
 * Every RSP command against a fake target, hostile input, the register table round trip
 * (g -> G for every row, target.xml against the table) and, when gdb is installed, real gdb
 * against the fake target over a unix socket.
 */
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tests/testutil.h"
#include "tests/unit/gdb_fake_target.h"

#define MAX_REPLIES 64

struct session {
	struct fake_target t;
	struct gdb_stub *stub;
	struct gdb_parser *out_parser;	/* parses what the stub sends */
	char *replies[MAX_REPLIES];
	size_t reply_len[MAX_REPLIES];
	unsigned nr_replies;
	unsigned acks, naks, bad;
	char *raw;			/* everything sent, for byte-level checks */
	size_t raw_len;
};

static void clear_replies(struct session *s)
{
	for (unsigned i = 0; i < s->nr_replies; i++)
		free(s->replies[i]);
	s->nr_replies = 0;
	s->acks = s->naks = s->bad = 0;
	s->raw_len = 0;
}

static void capture(void *ctx, const void *data, size_t len)
{
	struct session *s = ctx;
	const uint8_t *p = data;
	s->raw = realloc(s->raw, s->raw_len + len + 1);
	memcpy(s->raw + s->raw_len, data, len);
	s->raw_len += len;
	s->raw[s->raw_len] = 0;
	for (size_t i = 0; i < len; i++) {
		enum gdb_parser_event ev = gdb_parser_feed(s->out_parser, p[i]);
		if (ev == GDB_EV_ACK)
			s->acks++;
		else if (ev == GDB_EV_NAK)
			s->naks++;
		else if (ev == GDB_EV_PACKET && s->nr_replies < MAX_REPLIES) {
			size_t n;
			const uint8_t *pl = gdb_parser_packet(s->out_parser, &n);
			s->replies[s->nr_replies] = malloc(n + 1);
			memcpy(s->replies[s->nr_replies], pl, n + 1);
			s->reply_len[s->nr_replies++] = n;
		} else if (ev != GDB_EV_NONE)
			s->bad++;	/* the stub sent a malformed packet */
	}
}

static struct session *session_new(const struct gdb_target_ops *ops, bool running)
{
	struct session *s = calloc(1, sizeof(*s));
	struct gdb_stub_config cfg = { ops, &s->t, running, capture, s };
	s->t.running = running;
	s->t.last_step = -2;
	s->t.regs[0].rip = 0x1000;
	s->t.regs[1].rip = 0x2000;
	for (unsigned i = 0; i < FAKE_MEM; i++)
		s->t.mem[i] = (uint8_t)(i * 7);
	assert_int_equal(gdb_parser_create(GDB_PACKET_SIZE * 2, &s->out_parser), 0);
	assert_int_equal(gdb_stub_create(&cfg, &s->stub), 0);
	gdb_stub_attach(s->stub);
	return s;
}

static void session_free(struct session *s)
{
	clear_replies(s);
	gdb_stub_destroy(s->stub);
	gdb_parser_destroy(s->out_parser);
	free(s->raw);
	free(s);
}

static int setup(void **state)
{
	*state = session_new(&fake_ops, false);
	return 0;
}

static int teardown(void **state)
{
	session_free(*state);
	return 0;
}

/* Sends one packet (payload of len bytes, escaped as gdb does) and returns the last reply. */
static const char *rspn(struct session *s, const char *payload, size_t len)
{
	char *buf = malloc(2 * len + 8);
	size_t n = 0;
	uint8_t sum = 0;
	buf[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = payload[i];
		if (c == '$' || c == '#' || c == '}' || c == '*') {
			buf[n++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		buf[n++] = c;
		sum += (uint8_t)c;
	}
	n += (size_t)sprintf(buf + n, "#%02x", sum);
	clear_replies(s);
	gdb_stub_feed(s->stub, buf, n);
	free(buf);
	assert_int_equal(s->bad, 0);
	return s->nr_replies ? s->replies[s->nr_replies - 1] : NULL;
}

static const char *rsp(struct session *s, const char *payload)
{
	return rspn(s, payload, strlen(payload));
}

static void assert_reply(struct session *s, const char *payload, const char *want)
{
	const char *got = rsp(s, payload);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void assert_error_reply(struct session *s, const char *payload)
{
	const char *got = rsp(s, payload);
	assert_non_null(got);
	assert_int_equal(got[0], 'E');
	assert_int_equal(strlen(got), 3);
}

/* ---- basics ---- */

static void test_acks_and_nak_resend(void **state)
{
	struct session *s = *state;
	rsp(s, "?");
	assert_int_equal(s->acks, 1);
	assert_string_equal(s->replies[0], "T05thread:01;");
	clear_replies(s);
	gdb_stub_feed(s->stub, "-", 1);	/* gdb did not get it: resent verbatim */
	assert_int_equal(s->nr_replies, 1);
	assert_string_equal(s->replies[0], "T05thread:01;");
	clear_replies(s);
	gdb_stub_feed(s->stub, "$?#00", 5);	/* bad checksum: nak, no reply */
	assert_int_equal(s->naks, 1);
	assert_int_equal(s->nr_replies, 0);
}

static void test_no_ack_mode(void **state)
{
	struct session *s = *state;
	assert_reply(s, "QStartNoAckMode", "OK");
	assert_int_equal(s->acks, 1);	/* that packet itself is still acked */
	rsp(s, "?");
	assert_int_equal(s->acks, 0);
	assert_int_equal(s->nr_replies, 1);
}

static void test_unknown_gets_empty(void **state)
{
	struct session *s = *state;
	assert_reply(s, "qFooBar", "");
	assert_reply(s, "vMustReplyEmpty", "");
	assert_reply(s, "gg", "");	/* 'g' takes no arguments */
	assert_reply(s, "", "");
	assert_reply(s, "!", "");
}

static void test_qsupported(void **state)
{
	struct session *s = *state;
	const char *r = rsp(s, "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+");
	assert_non_null(strstr(r, "PacketSize=20000"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "qXfer:memory-map:read+"));
	assert_non_null(strstr(r, "qXfer:threads:read+"));
	assert_non_null(strstr(r, "vContSupported+"));
	assert_null(strstr(r, "multiprocess"));
}

/* ---- registers ---- */

static void test_g_and_p(void **state)
{
	struct session *s = *state;
	s->t.regs[0].rax = 0x1122334455667788ull;
	const char *g = rsp(s, "g");
	assert_memory_equal(g, "8877665544332211", 16);
	assert_int_equal(strlen(g) % 2, 0);
	assert_reply(s, "p0", "8877665544332211");
	assert_reply(s, "p10", "0010000000000000");	/* rip */
	assert_reply(s, "Hg2", "OK");
	assert_reply(s, "p10", "0020000000000000");
}

static void test_P_and_G(void **state)
{
	struct session *s = *state;
	assert_reply(s, "P0=efbeadde00000000", "OK");
	assert_int_equal(s->t.regs[0].rax, 0xdeadbeef);
	assert_reply(s, "P11=02020000", "OK");	/* eflags, 32 bits */
	assert_int_equal(s->t.regs[0].eflags, 0x202);
	/* G with what g returned changes nothing */
	struct gdb_x86_regs before = s->t.regs[0];
	char *g = strdup(rsp(s, "g"));
	char *G = malloc(strlen(g) + 2);
	sprintf(G, "G%s", g);
	assert_reply(s, G, "OK");
	assert_memory_equal(&before, &s->t.regs[0], sizeof(before));
	free(g);
	free(G);
}

static void test_register_errors(void **state)
{
	struct session *s = *state;
	char pkt[64];
	snprintf(pkt, sizeof(pkt), "p%x", gdb_x86_nr_regs());	/* one past the table */
	assert_error_reply(s, pkt);
	assert_error_reply(s, "pffffffff");
	assert_error_reply(s, "pffffffffffffffffffff");	/* more than 64 bits */
	assert_error_reply(s, "p");
	assert_error_reply(s, "pzz");
	assert_error_reply(s, "P0=12");		/* wrong width */
	assert_error_reply(s, "P0=zz00000000000000");
	assert_error_reply(s, "P0");
	snprintf(pkt, sizeof(pkt), "P%x=00000000", gdb_x86_nr_regs() + 5);
	assert_error_reply(s, pkt);
	assert_error_reply(s, "G00");		/* wrong size */
	assert_error_reply(s, "G0");
	assert_error_reply(s, "Hg99");		/* no such thread */
	assert_error_reply(s, "Hx1");
	assert_error_reply(s, "Hgzz");
}

/* Every table row: G writes exactly that row's bytes, p reads them back. */
static void test_g_G_round_trip_every_row(void **state)
{
	struct session *s = *state;
	char *g = strdup(rsp(s, "g"));
	size_t glen = strlen(g);
	size_t off = 0;
	unsigned nregs = gdb_x86_nr_regs();
	for (unsigned i = 0; i < nregs; i++) {
		char pkt[32];
		snprintf(pkt, sizeof(pkt), "p%x", i);
		const char *p = rsp(s, pkt);
		size_t w = strlen(p);	/* hex digits of this row */
		assert_true(w == 8 || w == 16 || w == 20 || w == 32);
		assert_true(off + w <= glen);
		/* a distinct pattern in this row only */
		char *G = malloc(glen + 2);
		G[0] = 'G';
		memcpy(G + 1, g, glen + 1);
		for (size_t k = 0; k < w; k++)
			G[1 + off + k] = "0123456789abcdef"[(k + i) % 16];
		struct gdb_x86_regs before = s->t.regs[0];
		assert_reply(s, G, "OK");
		/* exactly w/2 bytes of the register file changed */
		const uint8_t *a = (const uint8_t *)&before, *b = (const uint8_t *)&s->t.regs[0];
		size_t changed = 0;
		for (size_t k = 0; k < sizeof(before); k++)
			changed += a[k] != b[k];
		assert_true(changed > 0 && changed <= w / 2);
		assert_memory_equal(rsp(s, pkt), G + 1 + off, w);
		/* and g shows it at the same place */
		assert_memory_equal(rsp(s, "g") + off, G + 1 + off, w);
		s->t.regs[0] = before;
		free(G);
		off += w;
	}
	assert_int_equal(off, glen);	/* the rows tile the g packet exactly */
	free(g);
}

/* Reads a whole qXfer object, chunk by chunk. */
static char *xfer_read(struct session *s, const char *object, const char *annex, size_t chunk)
{
	char *doc = calloc(1, 1);
	size_t len = 0;
	for (;;) {
		char pkt[128];
		snprintf(pkt, sizeof(pkt), "qXfer:%s:read:%s:%zx,%zx", object, annex, len, chunk);
		const char *r = rsp(s, pkt);
		size_t n = s->reply_len[s->nr_replies - 1];
		assert_true(r[0] == 'm' || r[0] == 'l');
		assert_true(n - 1 <= chunk);
		doc = realloc(doc, len + n);
		memcpy(doc + len, r + 1, n - 1);
		len += n - 1;
		doc[len] = 0;
		if (r[0] == 'l')
			return doc;
	}
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_target_xml_matches_table(void **state)
{
	struct session *s = *state;
	char *xml = xfer_read(s, "features", "target.xml", 100);	/* small chunks */
	char *whole = xfer_read(s, "features", "target.xml", 0x10000);
	assert_string_equal(xml, whole);
	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.core\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.sse\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.segments\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.vmscope.gdb.x86.sys\">"));
	assert_int_equal(count_str(xml, "<reg "), gdb_x86_nr_regs());
	/* regnums are 0..n-1 in order, and bitsizes add up to the g packet */
	size_t bits = 0;
	const char *p = xml;
	for (unsigned i = 0; i < gdb_x86_nr_regs(); i++) {
		p = strstr(p, "<reg ");
		unsigned bs, rn;
		assert_int_equal(sscanf(strstr(p, "bitsize="), "bitsize=\"%u\" regnum=\"%u\"", &bs, &rn), 2);
		assert_int_equal(rn, i);
		bits += bs;
		char pkt[16];
		snprintf(pkt, sizeof(pkt), "p%x", i);
		assert_int_equal(strlen(rsp(s, pkt)) * 4, bs);
		p++;
	}
	assert_int_equal(bits / 4, strlen(rsp(s, "g")));
	assert_error_reply(s, "qXfer:features:read:other.xml:0,100");
	assert_error_reply(s, "qXfer:features:read:target.xml:zz,100");
	assert_reply(s, "qXfer:features:read:target.xml:ffffff,100", "l");
	free(xml);
	free(whole);
}

/* ---- memory ---- */

static void test_m_and_M(void **state)
{
	struct session *s = *state;
	memcpy(s->t.mem + 0x1000, "\x01\x02\xab\xcd", 4);
	assert_reply(s, "m1000,4", "0102abcd");
	assert_reply(s, "M1000,2:ffee", "OK");
	assert_reply(s, "m1000,4", "ffeeabcd");
	assert_reply(s, "m1000,0", "");
	/* partial: the bytes before the unmapped page */
	assert_reply(s, "mfffe,4", "f2f9");	/* (0xfffe*7)&0xff, (0xffff*7)&0xff */
	assert_error_reply(s, "m10000,4");	/* unmapped */
	assert_error_reply(s, "mffffffffffff0000,10");
	assert_error_reply(s, "M10000,1:00");
}

/* Replies are run-length encoded (as gdbserver does): runs of every length decode exactly, and a
 * repeat count never uses the framing characters '#' or '$'. */
static void test_rle_replies(void **state)
{
	struct session *s = *state;
	char want[2 * 64 + 1];
	for (unsigned run = 1; run <= 64; run++) {
		memset(s->t.mem + 0x3000, 0x11, run);
		s->t.mem[0x3000 + run] = 0x22;
		char pkt[32];
		snprintf(pkt, sizeof(pkt), "m3000,%x", run);
		memset(want, '1', 2 * run);
		want[2 * run] = 0;
		assert_string_equal(rsp(s, pkt), want);
		/* a '#' or '$' count would end or restart the packet: the parser would flag it */
		assert_int_equal(s->bad, 0);
	}
	/* 64 KiB of zeros: a short packet on the wire */
	memset(s->t.mem + 0x20000, 0, 0x10000);
	const char *r = rsp(s, "m20000,10000");
	assert_int_equal(strlen(r), 0x20000);
	assert_true(s->raw_len < 0x20000 / 20);
}

static void test_m_limits(void **state)
{
	struct session *s = *state;
	/* a huge length: the reply is capped (gdb asks again for the rest) */
	const char *r = rsp(s, "m0,ffffffffffffffff");
	assert_non_null(r);
	assert_int_equal(strlen(r), GDB_PACKET_SIZE);
	r = rsp(s, "m20000,20000");	/* 128 KiB in the fake target: capped at 64 KiB */
	assert_int_equal(strlen(r), GDB_PACKET_SIZE);
	assert_error_reply(s, "m1000");
	assert_error_reply(s, "m,4");
	assert_error_reply(s, "m1000,");
	assert_error_reply(s, "mzz,4");
	assert_error_reply(s, "m1000,4x");
	assert_error_reply(s, "M1000,4:00");		/* fewer bytes than the length */
	assert_error_reply(s, "M1000,1:0011");		/* more */
	assert_error_reply(s, "M1000,1:zz");
	assert_error_reply(s, "M1000,ffffffffffffffff:00");
	assert_error_reply(s, "M1000,2");
}

static void test_X_binary(void **state)
{
	struct session *s = *state;
	const char pkt[] = { 'X', '1', '0', '0', '0', ',', '5', ':', '$', '#', '}', '*', 0 };
	assert_string_equal(rspn(s, pkt, sizeof(pkt)), "OK");
	assert_memory_equal(s->t.mem + 0x1000, "$#}*\0", 5);
	assert_reply(s, "X1000,0:", "OK");	/* gdb's probe for X */
	const char shortp[] = { 'X', '1', '0', '0', '0', ',', '5', ':', 'a' };
	assert_int_equal(rspn(s, shortp, sizeof(shortp))[0], 'E');
	assert_error_reply(s, "X1000,ffffffff:a");
	assert_error_reply(s, "X1000");
}

/* ---- run control ---- */

static void test_continue_and_stop_reply(void **state)
{
	struct session *s = *state;
	assert_null(rsp(s, "c"));	/* no reply until the target stops */
	assert_true(s->t.running);
	assert_int_equal(s->t.last_step, -1);
	struct gdb_stop st = { GDB_STOP_SWBREAK, 1, 0, 0 };
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "T05thread:02;");	/* client did not announce swbreak+ */
	/* the stop selected thread 2 */
	assert_reply(s, "qC", "QC2");
	rsp(s, "qSupported:swbreak+;hwbreak+");
	rsp(s, "c");
	st.reason = GDB_STOP_HWBREAK;
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "T05thread:02;hwbreak:;");
	rsp(s, "c");
	st = (struct gdb_stop){ GDB_STOP_WATCH, 0, 0x1234, 0 };
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "T05thread:01;watch:1234;");
	rsp(s, "c");
	st.reason = GDB_STOP_RWATCH;
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "T05thread:01;rwatch:1234;");
	rsp(s, "c");
	st.reason = GDB_STOP_AWATCH;
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "T05thread:01;awatch:1234;");
	/* a second (stale) stop while stopped is ignored */
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_int_equal(s->nr_replies, 0);
}

static void test_step_and_addresses(void **state)
{
	struct session *s = *state;
	assert_null(rsp(s, "s"));
	assert_int_equal(s->t.last_step, 0);
	struct gdb_stop st = { GDB_STOP_STEP, 0, 0, 0 };
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "s3000"));	/* step from an address */
	assert_int_equal(s->t.regs[0].rip, 0x3000);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "c4000"));
	assert_int_equal(s->t.regs[0].rip, 0x4000);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "C05;5000"));	/* a signal is ignored, the address is not */
	assert_int_equal(s->t.regs[0].rip, 0x5000);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "S05"));
	assert_int_equal(s->t.last_step, 0);
	gdb_stub_handle_stop(s->stub, &st);
	assert_error_reply(s, "czz");
	assert_error_reply(s, "Czz");
	assert_error_reply(s, "S05;zz");
	/* Hc selects the vCPU that steps */
	assert_reply(s, "Hc2", "OK");
	assert_null(rsp(s, "s"));
	assert_int_equal(s->t.last_step, 1);
}

static void test_vcont(void **state)
{
	struct session *s = *state;
	struct gdb_stop st = { GDB_STOP_STEP, 0, 0, 0 };
	assert_reply(s, "vCont?", "vCont;c;C;s;S;t");
	assert_null(rsp(s, "vCont;s:2;c"));
	assert_int_equal(s->t.last_step, 1);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "vCont;c"));
	assert_int_equal(s->t.last_step, -1);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "vCont;S05:1"));
	assert_int_equal(s->t.last_step, 0);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "vCont;C05:-1"));
	assert_int_equal(s->t.last_step, -1);
	gdb_stub_handle_stop(s->stub, &st);
	assert_null(rsp(s, "vCont;s:p1.1;c:p1.-1"));	/* multiprocess thread ids */
	assert_int_equal(s->t.last_step, 0);
	gdb_stub_handle_stop(s->stub, &st);
	unsigned resumes = s->t.resumes;
	assert_reply(s, "vCont;t:1", "OK");
	assert_int_equal(s->t.resumes, resumes);
	assert_error_reply(s, "vCont;x");
	assert_error_reply(s, "vCont;s:99");
	assert_error_reply(s, "vCont;s:zz");
	assert_error_reply(s, "vCont;Szz");
	assert_error_reply(s, "vCont");
	assert_error_reply(s, "vCont;s:1junk");
	assert_int_equal(s->t.resumes, resumes);
}

static void test_interrupt_while_running(void **state)
{
	struct session *s = *state;
	rsp(s, "c");
	clear_replies(s);
	gdb_stub_feed(s->stub, "\x03", 1);
	assert_false(s->t.running);
	assert_int_equal(s->nr_replies, 1);
	assert_string_equal(s->replies[0], "T02thread:01;");
	/* a 0x03 while stopped does nothing */
	clear_replies(s);
	gdb_stub_feed(s->stub, "\x03", 1);
	assert_int_equal(s->nr_replies, 0);
}

static void test_interrupt_races_breakpoint(void **state)
{
	struct session *s = *state;
	rsp(s, "qSupported:swbreak+");
	rsp(s, "c");
	struct gdb_stop st = { GDB_STOP_SWBREAK, 1, 0, 0 };
	gdb_stub_post_stop(s->stub, &st);	/* posted, not yet polled */
	clear_replies(s);
	gdb_stub_feed(s->stub, "\x03", 1);
	assert_int_equal(s->nr_replies, 1);
	assert_string_equal(s->replies[0], "T05thread:02;swbreak:;");
	/* the posted stop was consumed: polling later reports nothing */
	clear_replies(s);
	gdb_stub_poll_stop(s->stub);
	assert_int_equal(s->nr_replies, 0);
	/* a stale stop posted while stopped is dropped by the next resume */
	gdb_stub_post_stop(s->stub, &st);
	rsp(s, "c");
	clear_replies(s);
	gdb_stub_poll_stop(s->stub);
	assert_int_equal(s->nr_replies, 0);
	assert_true(gdb_stub_is_running(s->stub));
}

static void test_exit_reply(void **state)
{
	struct session *s = *state;
	rsp(s, "c");
	struct gdb_stop st = { GDB_STOP_EXITED, -1, 0, 3 };
	clear_replies(s);
	gdb_stub_handle_stop(s->stub, &st);
	assert_string_equal(s->replies[0], "W03");
	assert_true(gdb_stub_has_hangup(s->stub));
	/* a new client learns that the guest is over */
	gdb_stub_attach(s->stub);
	assert_reply(s, "?", "W03");
	assert_error_reply(s, "c");
}

/* ---- breakpoints ---- */

static void test_breakpoints(void **state)
{
	struct session *s = *state;
	assert_reply(s, "Z0,1000,1", "OK");
	assert_reply(s, "Z1,2000,1", "OK");
	assert_reply(s, "Z2,3000,4", "OK");
	assert_reply(s, "Z3,3000,8", "OK");
	assert_reply(s, "Z4,3000,2", "OK");
	assert_int_equal(s->t.nr_bps, 5);
	assert_int_equal(s->t.bps[2].type, GDB_WP_WRITE);
	assert_int_equal(s->t.bps[2].len, 4);
	assert_reply(s, "z0,1000,1", "OK");
	assert_int_equal(s->t.nr_bps, 4);
	assert_error_reply(s, "z0,1000,1");	/* not set */
	assert_error_reply(s, "Z5,1000,1");
	assert_error_reply(s, "Z0,zz,1");
	assert_error_reply(s, "Z0,1000,0");
	assert_error_reply(s, "Z2,1000,ffffffffffffffff");
	assert_error_reply(s, "Z0,1000");
	assert_reply(s, "Z0,1000,1;X1,0", "OK");	/* conditions are ignored */
	/* refused by the target: an E reply, never OK */
	s->t.refuse_watch = true;
	assert_error_reply(s, "Z2,4000,4");
	/* the stub removes what gdb left behind when the client goes away */
	gdb_stub_detach(s->stub);
	assert_int_equal(s->t.nr_bps, 0);
	assert_true(s->t.running);
}

static void test_breakpoint_table_full(void **state)
{
	struct session *s = *state;
	char pkt[64];
	unsigned ok = 0;
	for (unsigned i = 0; i < FAKE_MAX_BPS + 4; i++) {
		snprintf(pkt, sizeof(pkt), "Z0,%x,1", 0x1000 + i);
		ok += strcmp(rsp(s, pkt), "OK") == 0;
	}
	assert_int_equal(ok, FAKE_MAX_BPS);	/* the target's limit is reached first */
	assert_int_equal(s->t.nr_bps, FAKE_MAX_BPS);
}

static void test_minimal_target(void **state)
{
	struct session *s = session_new(&fake_ops_minimal, false);
	assert_reply(s, "Z0,1000,1", "");	/* gdb then knows it is not supported */
	assert_reply(s, "z0,1000,1", "");
	const char *r = rsp(s, "qRcmd,7374617473");	/* stats */
	assert_string_equal(r, "OK");
	assert_true(s->nr_replies >= 2 && s->replies[0][0] == 'O');
	assert_reply(s, "qThreadExtraInfo,1", "4350552330");	/* CPU#0 */
	session_free(s);
	(void)state;
}

/* ---- threads ---- */

static void test_threads(void **state)
{
	struct session *s = *state;
	assert_reply(s, "qfThreadInfo", "m1,2");
	assert_reply(s, "qsThreadInfo", "l");
	assert_reply(s, "qC", "QC1");
	assert_reply(s, "qAttached", "1");
	assert_reply(s, "qAttached:1", "1");
	assert_reply(s, "T1", "OK");
	assert_reply(s, "T2", "OK");
	assert_error_reply(s, "T3");
	assert_error_reply(s, "T0");
	assert_error_reply(s, "Tzz");
	assert_reply(s, "Hg0", "OK");
	assert_reply(s, "Hc-1", "OK");
	assert_reply(s, "Hgp1.2", "OK");
	assert_reply(s, "qC", "QC2");
	/* "CPU#1 [stopped]" */
	assert_reply(s, "qThreadExtraInfo,2", "4350552331205b73746f707065645d");
	assert_error_reply(s, "qThreadExtraInfo,9");
	char *threads = xfer_read(s, "threads", "", 4096);
	assert_non_null(strstr(threads, "<thread id=\"1\" core=\"0\""));
	assert_non_null(strstr(threads, "<thread id=\"2\" core=\"1\""));
	free(threads);
	char *map = xfer_read(s, "memory-map", "", 4096);
	assert_non_null(strstr(map, "<memory type=\"ram\" start=\"0x0\""));
	free(map);
}

/* ---- monitor ---- */

static char *monitor(struct session *s, const char *cmd)
{
	char *pkt = malloc(2 * strlen(cmd) + 8);
	strcpy(pkt, "qRcmd,");
	for (size_t i = 0; cmd[i]; i++)
		sprintf(pkt + 6 + 2 * i, "%02x", (unsigned char)cmd[i]);
	rsp(s, pkt);
	free(pkt);
	char *text = calloc(1, 1);
	size_t len = 0;
	for (unsigned i = 0; i < s->nr_replies; i++) {
		const char *r = s->replies[i];
		if (r[0] != 'O' || !strcmp(r, "OK"))
			continue;
		size_t n = strlen(r + 1) / 2;
		text = realloc(text, len + n + 1);
		for (size_t k = 0; k < n; k++) {
			unsigned v;
			sscanf(r + 1 + 2 * k, "%2x", &v);
			text[len + k] = (char)v;
		}
		len += n;
		text[len] = 0;
	}
	return text;
}

static void test_monitor_commands(void **state)
{
	struct session *s = *state;
	char *t = monitor(s, "help");
	assert_non_null(strstr(t, "info registers"));
	assert_non_null(strstr(t, "info mem"));
	assert_non_null(strstr(t, "step-irqs"));
	assert_string_equal(s->replies[s->nr_replies - 1], "OK");
	free(t);
	s->t.regs[0].rax = 0xabcdef;
	s->t.regs[0].eflags = 0x246;
	t = monitor(s, "info registers");
	assert_non_null(strstr(t, "0x0000000000abcdef"));
	assert_non_null(strstr(t, "[ PF ZF IF ]"));
	free(t);
	t = monitor(s, "stats");
	assert_string_equal(t, "fake_exits 42\n");
	free(t);
	t = monitor(s, "step-irqs on");
	assert_true(s->t.step_irqs);
	free(t);
	t = monitor(s, "step-irqs maybe");
	assert_non_null(strstr(t, "usage"));
	free(t);
	t = monitor(s, "system_reset");
	assert_int_equal(s->t.resets, 1);
	free(t);
	t = monitor(s, "frobnicate");
	assert_non_null(strstr(t, "unknown command"));
	free(t);
	assert_error_reply(s, "qRcmd,zz");
	assert_error_reply(s, "qRcmd,6");
}

static void test_monitor_phys_and_xp(void **state)
{
	struct session *s = *state;
	memcpy(s->t.mem + FAKE_HOLE, "\x11\x22\x33\x44", 4);
	assert_error_reply(s, "m10000,4");
	free(monitor(s, "phys on"));
	assert_reply(s, "m10000,4", "11223344");
	free(monitor(s, "phys off"));
	assert_error_reply(s, "m10000,4");
	char *t = monitor(s, "xp /2w 0x10000");
	assert_non_null(strstr(t, "0000000000010000: 0x44332211"));
	free(t);
	t = monitor(s, "xp /1g 10000");
	assert_non_null(strstr(t, "0x"));
	free(t);
	t = monitor(s, "xp /9999999w 0");
	assert_non_null(strstr(t, "usage"));
	free(t);
	t = monitor(s, "xp 7fffffff0");
	assert_non_null(strstr(t, "cannot read"));
	free(t);
	t = monitor(s, "xp /q 0");
	assert_non_null(strstr(t, "usage"));
	free(t);
}

static void test_monitor_info_mem(void **state)
{
	struct session *s = *state;
	char *t = monitor(s, "info mem");
	assert_non_null(strstr(t, "paging is disabled"));
	free(t);
	fake_build_page_tables(&s->t, 0);
	t = monitor(s, "info mem");
	assert_non_null(strstr(t, "4-level"));
	assert_non_null(strstr(t, "0000000000400000-0000000000600000 0000000000200000 urwx"));
	assert_non_null(strstr(t, "ffffffff80001000-ffffffff80002000 0000000000001000 -r--"));
	free(t);
	/* a PML4 whose every entry points to itself: bounded, and says so */
	for (unsigned i = 0; i < 512; i++)
		fake_put64(&s->t, 0x30000 + 8 * i, 0x30000 | 7);
	s->t.regs[0].cr3 = 0x30000;
	t = monitor(s, "info mem");
	assert_non_null(strstr(t, "stopped after"));
	free(t);
	s->t.regs[0].cr3 = 0x7ffff000;	/* tables outside memory: reported, no crash */
	t = monitor(s, "info mem");
	assert_non_null(strstr(t, "outside RAM"));
	free(t);
}

static int extra_cmd(void *opaque, const char *args, struct gdb_out *out)
{
	gdb_out_printf(out, "extra got '%s'\n", args);
	*(int *)opaque += 1;
	return 0;
}

static void test_monitor_extension(void **state)
{
	struct session *s = *state;
	int calls = 0;
	assert_int_equal(gdb_stub_add_monitor(s->stub, "trace", "trace events", extra_cmd, &calls), 0);
	char *t = monitor(s, "trace enable pio*");
	assert_string_equal(t, "extra got 'enable pio*'\n");
	assert_int_equal(calls, 1);
	free(t);
	t = monitor(s, "help");
	assert_non_null(strstr(t, "trace trace events"));
	free(t);
	t = monitor(s, "tracex");
	assert_non_null(strstr(t, "unknown"));
	free(t);
}

static void test_monitor_quit_and_kill(void **state)
{
	struct session *s = *state;
	free(monitor(s, "quit"));
	assert_int_equal(s->t.kills, 1);
	assert_true(gdb_stub_has_hangup(s->stub));
	struct session *s2 = session_new(&fake_ops, false);
	assert_reply(s2, "vKill;1", "OK");
	assert_int_equal(s2->t.kills, 1);
	session_free(s2);
	s2 = session_new(&fake_ops, false);
	assert_null(rsp(s2, "k"));
	assert_int_equal(s2->t.kills, 1);
	session_free(s2);
}

static void test_detach_resumes(void **state)
{
	struct session *s = *state;
	assert_reply(s, "Z1,1000,1", "OK");
	assert_reply(s, "D", "OK");
	assert_true(gdb_stub_has_hangup(s->stub));
	assert_true(s->t.running);
	assert_int_equal(s->t.nr_bps, 0);
	/* a new client stops the target again */
	gdb_stub_attach(s->stub);
	assert_false(s->t.running);
	assert_reply(s, "?", "T05thread:01;");
}

static void test_attach_to_running_target(void **state)
{
	struct session *s = session_new(&fake_ops, true);
	assert_false(s->t.running);	/* all-stop: attaching stops the guest */
	assert_int_equal(s->t.stops, 1);
	session_free(s);
	(void)state;
}

static void test_packets_while_running_ignored(void **state)
{
	struct session *s = *state;
	rsp(s, "c");
	assert_null(rsp(s, "g"));	/* acked, but no register access while running */
	assert_int_equal(s->acks, 1);
}

static void test_overlong_packet_gets_error(void **state)
{
	struct session *s = *state;
	size_t n = GDB_PACKET_SIZE + 100;
	char *big = malloc(n + 1);
	memset(big, '0', n);
	big[0] = 'M';
	big[n] = 0;
	assert_error_reply(s, big);
	free(big);
	assert_reply(s, "?", "T05thread:01;");	/* and the session goes on */
}

static void test_client_closes_mid_packet(void **state)
{
	struct session *s = *state;
	rsp(s, "c");
	gdb_stub_feed(s->stub, "$m1000,", 7);
	gdb_stub_detach(s->stub);	/* connection gone */
	assert_true(s->t.running);	/* guest keeps running */
	gdb_stub_attach(s->stub);	/* a new client does not see the old half packet */
	assert_reply(s, "?", "T05thread:01;");
}

/* ---- real gdb against the fake target ---- */

/* Prints text as TAP diagnostics, one "# " line per line. */
static void print_diag(const char *tag, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		printf("# %s: %.*s\n", tag, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

struct srv_ctx {
	struct fake_target t;
	struct gdb_server *srv;
};

static void test_real_gdb_accepts_target_description(void **state)
{
	(void)state;
	TEST_REQUIRE(system("gdb --version >/dev/null 2>&1") == 0, "gdb not installed");
	struct srv_ctx *c = calloc(1, sizeof(*c));
	char dir[] = "/tmp/gdbstub-test-XXXXXX", spec[128], why[256], cmd[1024];
	assert_non_null(mkdtemp(dir));
	snprintf(spec, sizeof(spec), "unix:%s/sock", dir);
	c->t.regs[0].rip = 0x1000;
	c->t.regs[0].cr3 = 0x123000;
	c->t.regs[0].rax = 0x4242;
	struct gdb_server_config cfg = { spec, &fake_ops, &c->t, false, true };
	assert_int_equal(gdb_server_create(&cfg, &c->srv, why, sizeof(why)), 0);
	assert_int_equal(gdb_server_start(c->srv), 0);
	snprintf(cmd, sizeof(cmd),
		 "gdb -batch -nx -ex 'set architecture i386:x86-64' -ex 'target remote %s/sock' "
		 "-ex 'p/x $cr3' -ex 'p/x $rax' -ex 'p/x $fs_base' -ex 'p $xmm0.v4_int32' -ex 'p/x $efer' "
		 "-ex 'set $rax = 0x99' -ex 'x/2xb 0x1000' -ex 'info threads' -ex 'detach' 2>&1",
		 dir);
	FILE *f = popen(cmd, "r");
	char out[8192] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	print_diag("gdb", out);
	assert_non_null(strstr(out, "$1 = 0x123000"));
	assert_non_null(strstr(out, "$2 = 0x4242"));
	assert_non_null(strstr(out, "$3 = 0x0"));
	assert_non_null(strstr(out, "$4 = {0, 0, 0, 0}"));
	assert_non_null(strstr(out, "CPU#1"));
	assert_null(strstr(out, "XML"));	/* gdb accepted target.xml */
	assert_null(strstr(out, "ndefined"));
	assert_int_equal(c->t.regs[0].rax, 0x99);
	gdb_server_destroy(c->srv);
	rmdir(dir);
	free(c);
}

static void test_second_client_refused(void **state)
{
	(void)state;
	struct srv_ctx *c = calloc(1, sizeof(*c));
	char dir[] = "/tmp/gdbstub-test-XXXXXX", spec[128], why[256];
	assert_non_null(mkdtemp(dir));
	snprintf(spec, sizeof(spec), "unix:%s/sock", dir);
	struct gdb_server_config cfg = { spec, &fake_ops, &c->t, true, true };
	assert_int_equal(gdb_server_create(&cfg, &c->srv, why, sizeof(why)), 0);
	assert_int_equal(gdb_server_start(c->srv), 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	int a = socket(AF_UNIX, SOCK_STREAM, 0), b = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(a, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* the first client is served (handshake: a reply to '?') */
	assert_int_equal(write(a, "$?#3f", 5), 5);
	char buf[256];
	size_t got = 0;
	while (got < 5 || !memchr(buf, '#', got)) {
		ssize_t n = read(a, buf + got, sizeof(buf) - got - 1);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(connect(b, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* the second gets a console message and end-of-file */
	got = 0;
	for (;;) {
		ssize_t n = read(b, buf + got, sizeof(buf) - got - 1);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	assert_true(got > 2 && buf[0] == '$' && buf[1] == 'O');
	/* the first goes away mid-packet: the target resumes, and a new client is served */
	assert_int_equal(write(a, "$m10", 4), 4);
	close(a);
	close(b);
	int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(c3, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(c3, "$?#3f", 5), 5);
	got = 0;
	while (got < 5 || !memchr(buf, '#', got)) {
		ssize_t n = read(c3, buf + got, sizeof(buf) - got - 1);
		assert_true(n > 0);
		got += (size_t)n;
	}
	buf[got] = 0;
	assert_non_null(strstr(buf, "T05thread:01;"));
	assert_int_equal(c->t.resumes, 1);	/* the first client's detach */
	close(c3);
	gdb_server_destroy(c->srv);
	struct stat st;
	assert_int_not_equal(stat(sa.sun_path, &st), 0);	/* socket file removed */
	rmdir(dir);
	free(c);
}

static void test_spec_parse(void **state)
{
	(void)state;
	bool is_unix;
	char host[64], path[108], why[128];
	unsigned port;
	assert_int_equal(gdb_spec_parse("tcp::1234", &is_unix, host, 64, &port, path, 108, why, 128), 0);
	assert_false(is_unix);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 1234);
	assert_int_equal(gdb_spec_parse("tcp:0.0.0.0:99", &is_unix, host, 64, &port, path, 108, why, 128), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(gdb_spec_parse("tcp:[::1]:5", &is_unix, host, 64, &port, path, 108, why, 128), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(gdb_spec_parse("unix:/tmp/x", &is_unix, host, 64, &port, path, 108, why, 128), 0);
	assert_true(is_unix);
	assert_string_equal(path, "/tmp/x");
	assert_int_equal(gdb_spec_parse("tcp::99999", &is_unix, host, 64, &port, path, 108, why, 128), -EINVAL);
	assert_non_null(strstr(why, "bad port"));
	assert_int_equal(gdb_spec_parse("tcp:host:", &is_unix, host, 64, &port, path, 108, why, 128), -EINVAL);
	assert_int_equal(gdb_spec_parse("udp::1", &is_unix, host, 64, &port, path, 108, why, 128), -EINVAL);
	assert_int_equal(gdb_spec_parse("unix:", &is_unix, host, 64, &port, path, 108, why, 128), -EINVAL);
	char longp[300];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "unix:", 5);
	longp[299] = 0;
	assert_int_equal(gdb_spec_parse(longp, &is_unix, host, 64, &port, path, 108, why, 128), -EINVAL);
	/* a server on a free port reports the real one */
	struct fake_target *t = calloc(1, sizeof(*t));
	struct gdb_server *srv;
	struct gdb_server_config cfg = { "tcp:127.0.0.1:0", &fake_ops, t, true, true };
	assert_int_equal(gdb_server_create(&cfg, &srv, why, sizeof(why)), 0);
	assert_non_null(strstr(gdb_server_address(srv), "127.0.0.1:"));
	assert_string_not_equal(gdb_server_address(srv), "127.0.0.1:0");
	gdb_server_destroy(srv);
	free(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_acks_and_nak_resend),
		T(test_no_ack_mode),
		T(test_unknown_gets_empty),
		T(test_qsupported),
		T(test_g_and_p),
		T(test_P_and_G),
		T(test_register_errors),
		T(test_g_G_round_trip_every_row),
		T(test_target_xml_matches_table),
		T(test_m_and_M),
		T(test_rle_replies),
		T(test_m_limits),
		T(test_X_binary),
		T(test_continue_and_stop_reply),
		T(test_step_and_addresses),
		T(test_vcont),
		T(test_interrupt_while_running),
		T(test_interrupt_races_breakpoint),
		T(test_exit_reply),
		T(test_breakpoints),
		T(test_breakpoint_table_full),
		T(test_minimal_target),
		T(test_threads),
		T(test_monitor_commands),
		T(test_monitor_phys_and_xp),
		T(test_monitor_info_mem),
		T(test_monitor_extension),
		T(test_monitor_quit_and_kill),
		T(test_detach_resumes),
		T(test_attach_to_running_target),
		T(test_packets_while_running_ignored),
		T(test_overlong_packet_gets_error),
		T(test_client_closes_mid_packet),
		cmocka_unit_test(test_real_gdb_accepts_target_description),
		cmocka_unit_test(test_second_client_refused),
		cmocka_unit_test(test_spec_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
