/* SPDX-License-Identifier: MIT */
/*
 * stub.c — one debugging session: bytes from the client go through the parser, packets to the
 * command table, replies back framed and checksummed; stop events from the target become stop
 * replies. Single-threaded: the server thread calls everything here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/gdbstub-local.h"
#include "gdbstub/trace-events.h"

int gdb_stub_create(const struct gdb_stub_config *cfg, struct gdb_stub **out)
{
	const struct gdb_target_ops *ops = cfg->ops;

	if (!ops || !ops->nr_vcpus || !ops->read_regs || !ops->write_regs || !ops->read_mem ||
	    !ops->write_mem || !ops->resume || !ops->stop || !cfg->write)
		return -EINVAL;
	struct gdb_stub *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->opaque = cfg->opaque;
	s->write = cfg->write;
	s->write_ctx = cfg->write_ctx;
	s->running = cfg->target_running;
	pthread_mutex_init(&s->lock, NULL);
	s->tx_cap = 2 * GDB_PACKET_SIZE + 8;
	s->tx = malloc(s->tx_cap);
	s->reply = malloc(2 * GDB_PACKET_SIZE + 8);
	int rc = gdb_parser_create(GDB_PACKET_SIZE, &s->parser);
	if (rc < 0 || !s->tx || !s->reply) {
		gdb_stub_destroy(s);
		return rc < 0 ? rc : -ENOMEM;
	}
	*out = s;
	return 0;
}

void gdb_stub_destroy(struct gdb_stub *s)
{
	if (!s)
		return;
	gdb_parser_destroy(s->parser);
	pthread_mutex_destroy(&s->lock);
	free(s->tx);
	free(s->reply);
	free(s);
}

bool gdb_stub_is_running(const struct gdb_stub *s)
{
	return s->running;
}

bool gdb_stub_has_hangup(const struct gdb_stub *s)
{
	return s->hangup;
}

int gdb_stub_add_monitor(struct gdb_stub *s, const char *name, const char *help, gdb_monitor_fn fn, void *opaque)
{
	if (!name || !fn)
		return -EINVAL;
	if (s->nr_extra >= GDB_MAX_EXTRA_MONITOR)
		return -ENOSPC;
	s->extra[s->nr_extra++] = (struct gdb_extra_monitor){ name, help ? help : "", fn, opaque };
	return 0;
}

/* ---- sending ---- */

static bool gdb_byte_needs_escape(uint8_t c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

struct gdb_tx {
	uint8_t *p;
	size_t n;
	uint8_t sum;
};

static void gdb_tx_put(struct gdb_tx *t, uint8_t c)
{
	t->p[t->n++] = c;
	t->sum += c;
}

/* A repeat count n is sent as the character n + 29; '#' and '$' cannot be used. */
static size_t gdb_rle_count(size_t extra)
{
	size_t n = extra > 97 ? 97 : extra;

	return (n + 29 == '#' || n + 29 == '$') ? 5 : n;
}

/* A run of len copies of c, run-length encoded as gdbserver does ("c*N": c and N - 29 more). */
static void gdb_tx_run(struct gdb_tx *t, uint8_t c, size_t len)
{
	while (len >= 4) {
		size_t n = gdb_rle_count(len - 1);
		gdb_tx_put(t, c);
		gdb_tx_put(t, '*');
		gdb_tx_put(t, (uint8_t)(n + 29));
		len -= n + 1;
	}
	while (len--)
		gdb_tx_put(t, c);
}

/* Frames payload as $...#cc (escaped, runs encoded) and sends it; kept for a resend on '-'. */
void gdb_reply_bin(struct gdb_stub *s, const void *payload, size_t len)
{
	const uint8_t *p = payload;
	struct gdb_tx t = { s->tx, 0, 0 };

	/* Worst case: every byte escaped (2 each) plus '$', '#', two checksum digits and the NUL
	 * that snprintf writes: 2 * len + 5. Never reached with the sizes the handlers use. */
	if (2 * len + 5 > s->tx_cap)
		len = (s->tx_cap - 5) / 2;
	t.p[t.n++] = '$';
	for (size_t i = 0; i < len;) {
		if (gdb_byte_needs_escape(p[i])) {
			gdb_tx_put(&t, '}');
			gdb_tx_put(&t, p[i++] ^ 0x20);
			continue;
		}
		size_t run = 1;
		while (i + run < len && p[i + run] == p[i])
			run++;
		gdb_tx_run(&t, p[i], run);
		i += run;
	}
	t.n += (size_t)snprintf((char *)t.p + t.n, 4, "#%02x", t.sum);
	s->tx_len = t.n;
	trace_gdb_packet_out((const char *)s->tx);	/* NUL-terminated by the snprintf */
	s->write(s->write_ctx, s->tx, t.n);
}

void gdb_reply(struct gdb_stub *s, const char *payload)
{
	gdb_reply_bin(s, payload, strlen(payload));
}

void gdb_reply_error(struct gdb_stub *s, int err)
{
	char buf[8];

	if (err < 0)
		err = -err;
	snprintf(buf, sizeof(buf), "E%02x", err & 0xff);
	gdb_reply(s, buf);
}

void gdb_send_console(struct gdb_stub *s, const char *text, size_t len)
{
	const size_t chunk = GDB_PACKET_SIZE / 2 - 2;

	while (len > 0) {
		size_t n = len < chunk ? len : chunk;
		s->reply[0] = 'O';
		gdb_hex_encode((const uint8_t *)text, n, s->reply + 1);
		gdb_reply_bin(s, s->reply, 1 + 2 * n);
		text += n;
		len -= n;
	}
}

/* ---- stop replies ---- */

struct gdb_stop_desc {
	int signal;
	const char *key;	/* stop reason key in the T packet, or NULL */
	bool with_addr;
};

static const struct gdb_stop_desc gdb_stop_descs[] = {
	[GDB_STOP_SIGNAL] = { 2, NULL, false },
	[GDB_STOP_STEP] = { 5, NULL, false },
	[GDB_STOP_SWBREAK] = { 5, "swbreak", false },
	[GDB_STOP_HWBREAK] = { 5, "hwbreak", false },
	[GDB_STOP_WATCH] = { 5, "watch", true },
	[GDB_STOP_RWATCH] = { 5, "rwatch", true },
	[GDB_STOP_AWATCH] = { 5, "awatch", true },
	[GDB_STOP_EXITED] = { 0, NULL, false },
};

void gdb_reply_stop(struct gdb_stub *s, const struct gdb_stop *stop)
{
	char buf[96];
	unsigned reason = stop->reason;

	if (reason == GDB_STOP_EXITED) {
		snprintf(buf, sizeof(buf), "W%02x", stop->status & 0xff);
		gdb_reply(s, buf);
		return;
	}
	if (reason >= sizeof(gdb_stop_descs) / sizeof(gdb_stop_descs[0]))
		reason = GDB_STOP_SIGNAL;
	const struct gdb_stop_desc *d = &gdb_stop_descs[reason];
	unsigned tid = (stop->vcpu >= 0 ? (unsigned)stop->vcpu : s->g_vcpu) + 1;
	int n = snprintf(buf, sizeof(buf), "T%02xthread:%02x;", d->signal, tid);
	if (d->key && d->with_addr)
		snprintf(buf + n, sizeof(buf) - (size_t)n, "%s:%llx;", d->key, (unsigned long long)stop->addr);
	else if (d->key && ((reason == GDB_STOP_SWBREAK && s->client_swbreak) ||
			    (reason == GDB_STOP_HWBREAK && s->client_hwbreak)))
		snprintf(buf + n, sizeof(buf) - (size_t)n, "%s:;", d->key);
	gdb_reply(s, buf);
}

/* ---- run control ---- */

static bool gdb_stub_take_pending(struct gdb_stub *s, struct gdb_stop *stop)
{
	pthread_mutex_lock(&s->lock);
	bool had = s->has_pending;
	if (had)
		*stop = s->pending;
	s->has_pending = false;
	pthread_mutex_unlock(&s->lock);
	return had;
}

void gdb_stub_post_stop(struct gdb_stub *s, const struct gdb_stop *stop)
{
	pthread_mutex_lock(&s->lock);
	/* an exit outranks a stop that was not reported yet */
	if (!s->has_pending || stop->reason == GDB_STOP_EXITED)
		s->pending = *stop;
	s->has_pending = true;
	pthread_mutex_unlock(&s->lock);
}

void gdb_stub_poll_stop(struct gdb_stub *s)
{
	struct gdb_stop stop;

	if (gdb_stub_take_pending(s, &stop))
		gdb_stub_handle_stop(s, &stop);
}

int gdb_stub_resume(struct gdb_stub *s, int step_vcpu)
{
	struct gdb_stop stale;

	if (s->exited)
		return -ESRCH;
	(void)gdb_stub_take_pending(s, &stale);
	int rc = s->ops->resume(s->opaque, step_vcpu);

	if (rc < 0)
		return rc;
	s->running = true;
	return 0;
}

void gdb_stub_handle_stop(struct gdb_stub *s, const struct gdb_stop *stop)
{
	trace_gdb_stop(stop->vcpu, stop->reason, stop->addr);
	if (stop->reason == GDB_STOP_EXITED) {
		s->running = false;
		s->exited = true;
		s->last_stop = *stop;
		if (s->attached)
			gdb_reply_stop(s, stop);
		s->hangup = true;
		return;
	}
	if (!s->running)
		return;		/* stale: already reported (Ctrl-C raced with a breakpoint) */
	s->running = false;
	s->last_stop = *stop;
	if (stop->vcpu >= 0 && (unsigned)stop->vcpu < s->ops->nr_vcpus(s->opaque))
		s->g_vcpu = s->c_vcpu = (unsigned)stop->vcpu;
	if (!s->attached) {		/* nobody to tell: keep the guest running */
		if (gdb_stub_resume(s, -1) < 0)
			fprintf(stderr, "gdbstub: could not resume the guest after a stop with no client\n");
		return;
	}
	gdb_reply_stop(s, stop);
}

static void gdb_stub_interrupt(struct gdb_stub *s)
{
	if (!s->running)
		return;
	int rc = s->ops->stop(s->opaque);
	if (rc < 0) {
		fprintf(stderr, "gdbstub: could not stop the guest: %s\n", strerror(-rc));
		return;
	}
	struct gdb_stop stop = { .reason = GDB_STOP_SIGNAL, .vcpu = (int)s->c_vcpu };
	(void)gdb_stub_take_pending(s, &stop);	/* a breakpoint that won the race is reported */
	gdb_stub_handle_stop(s, &stop);
}

/* ---- connection ---- */

void gdb_stub_attach(struct gdb_stub *s)
{
	gdb_parser_reset(s->parser);
	s->no_ack = s->hangup = s->phys = false;
	s->client_swbreak = s->client_hwbreak = false;
	s->g_vcpu = s->c_vcpu = 0;
	s->tx_len = 0;
	s->attached = true;
	if (!s->exited)
		s->last_stop = (struct gdb_stop){ .reason = GDB_STOP_STEP, .vcpu = 0 };
	if (s->running && !s->exited) {
		int rc = s->ops->stop(s->opaque);
		if (rc < 0)
			fprintf(stderr, "gdbstub: could not stop the guest for gdb: %s\n", strerror(-rc));
		else
			s->running = false;
	}
}

void gdb_stub_detach(struct gdb_stub *s)
{
	if (!s->attached)
		return;
	s->attached = false;
	for (unsigned i = 0; i < s->nr_bps; i++)
		if (s->ops->remove_bp)
			(void)s->ops->remove_bp(s->opaque, s->bps[i].type, s->bps[i].addr, s->bps[i].len);
	s->nr_bps = 0;
	if (!s->running && !s->exited && gdb_stub_resume(s, -1) < 0)
		fprintf(stderr, "gdbstub: could not resume the guest after gdb left\n");
}

/* ---- receiving ---- */

static void gdb_stub_event(struct gdb_stub *s, enum gdb_parser_event ev)
{
	size_t len;

	switch (ev) {
	case GDB_EV_PACKET:
		if (!s->no_ack)
			s->write(s->write_ctx, "+", 1);
		if (s->running)
			return;	/* all-stop: only 0x03 is expected while the guest runs */
		{
			char *payload = (char *)gdb_parser_packet(s->parser, &len);
			trace_gdb_packet_in(payload);
			gdb_cmd_dispatch(s, payload, len);
		}
		return;
	case GDB_EV_BAD_CHECKSUM:
	case GDB_EV_BAD_PACKET:
		if (!s->no_ack)
			s->write(s->write_ctx, "-", 1);
		return;
	case GDB_EV_OVERLONG:
		if (!s->no_ack)
			s->write(s->write_ctx, "+", 1);
		if (!s->running)
			gdb_reply_error(s, EMSGSIZE);
		return;
	case GDB_EV_INTERRUPT:
		gdb_stub_interrupt(s);
		return;
	case GDB_EV_NAK:
		if (s->tx_len && !s->no_ack)
			s->write(s->write_ctx, s->tx, s->tx_len);
		return;
	case GDB_EV_ACK:
	case GDB_EV_NONE:
		return;
	}
}

void gdb_stub_feed(struct gdb_stub *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len && !s->hangup; i++)
		gdb_stub_event(s, gdb_parser_feed(s->parser, p[i]));
}
