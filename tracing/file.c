/* SPDX-License-Identifier: MIT */
/*
 * file.c — writing the self-describing trace file (layout in vmscope-trace-events(5)):
 *
 *   header (128 bytes) | command line | event descriptors | chunks of records ...
 *
 * All integers in the writer's byte order; the header's endian field tells the reader which.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tracing/trace-local.h"

static void trace_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void trace_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void trace_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static size_t trace_align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Chunk header (version 2): u32 magic, u32 payload bytes, i32 vCPU (-1: none; the file stores
 * 0xffff as in version 1), u32 0, u64 tick base of the records' deltas, u64 tick and u64 ns of
 * CLOCK_MONOTONIC read together after the records were taken from the ring. */
void trace_chunk_header(uint8_t *out, uint32_t payload, int vcpu, uint64_t base, uint64_t sync_tick, uint64_t sync_ns)
{
	trace_put32(out, TRACE_CHUNK_MAGIC);
	trace_put32(out + 4, payload);
	trace_put32(out + 8, vcpu < 0 ? TRACE_VCPU_NONE : (uint32_t)vcpu);
	trace_put32(out + 12, 0);
	trace_put64(out + 16, base);
	trace_put64(out + 24, sync_tick);
	trace_put64(out + 32, sync_ns);
}

/* Descriptor: u32 size, u32 id, u16 nargs, u16 name_len, u16 fmt_len, u16 0, nargs x {u8 type,
 * u8 name_len}, then name, fmt and argument names (no NULs), padded to 8. */
static size_t trace_desc_size(const struct trace_event_desc *d)
{
	size_t n = 16 + 2 * (size_t)d->nargs + strlen(d->name) + strlen(d->fmt);
	for (unsigned i = 0; i < d->nargs; i++)
		n += strlen(d->arg_names[i]);
	return trace_align8(n);
}

static size_t trace_desc_encode(uint8_t *out, unsigned id, const struct trace_event_desc *d)
{
	size_t size = trace_desc_size(d), pos = 16 + 2 * (size_t)d->nargs;
	memset(out, 0, size);
	trace_put32(out, (uint32_t)size);
	trace_put32(out + 4, id);
	trace_put16(out + 8, (uint16_t)d->nargs);
	trace_put16(out + 10, (uint16_t)strlen(d->name));
	trace_put16(out + 12, (uint16_t)strlen(d->fmt));
	for (unsigned i = 0; i < d->nargs; i++) {
		out[16 + 2 * i] = d->arg_types[i];
		out[17 + 2 * i] = (uint8_t)strlen(d->arg_names[i]);
	}
	memcpy(out + pos, d->name, strlen(d->name));
	pos += strlen(d->name);
	memcpy(out + pos, d->fmt, strlen(d->fmt));
	pos += strlen(d->fmt);
	for (unsigned i = 0; i < d->nargs; i++) {
		memcpy(out + pos, d->arg_names[i], strlen(d->arg_names[i]));
		pos += strlen(d->arg_names[i]);
	}
	return size;
}

static uint64_t trace_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t trace_cmdline(char *buf, size_t cap, int argc, char *const *argv)
{
	size_t n = 0;
	for (int i = 0; i < argc && argv && argv[i]; i++) {
		size_t l = strlen(argv[i]);
		if (n + l + 2 > cap)
			break;
		memcpy(buf + n, argv[i], l);
		n += l;
		buf[n++] = ' ';
	}
	if (n)
		n--;	/* no trailing space */
	buf[n] = '\0';
	return n;
}

static void trace_header_fill(uint8_t *hdr, struct trace_handle *h, size_t cmd_len, size_t desc_off, size_t desc_size)
{
	memset(hdr, 0, TRACE_FILE_HEADER_SIZE);
	memcpy(hdr, TRACE_FILE_MAGIC, 8);
	trace_put32(hdr + 8, TRACE_FILE_VERSION);
	trace_put32(hdr + 12, TRACE_FILE_ENDIAN);
	trace_put32(hdr + 16, TRACE_FILE_HEADER_SIZE);
	trace_put32(hdr + 20, h->nr_events);
	trace_put64(hdr + 24, desc_off);
	trace_put64(hdr + 32, desc_size);
	trace_put64(hdr + 40, trace_align8(desc_off + desc_size));
	trace_put64(hdr + 48, h->start_mono);
	trace_put64(hdr + 56, trace_realtime_ns());
	trace_put32(hdr + 64, 1);	/* CLOCK_MONOTONIC */
	trace_put32(hdr + 68, (uint32_t)getpid());
	trace_put64(hdr + 72, TRACE_FILE_HEADER_SIZE);
	trace_put32(hdr + 80, (uint32_t)cmd_len);
	trace_put32(hdr + 84, h->tick_is_tsc ? TRACE_TICK_TSC : TRACE_TICK_NS);
	trace_put64(hdr + 88, h->start_tick);
}

int trace_file_write_header(struct trace_handle *h, int argc, char *const *argv)
{
	char cmd[4096];
	size_t cmd_len = trace_cmdline(cmd, sizeof(cmd), argc, argv);
	size_t desc_off = trace_align8(TRACE_FILE_HEADER_SIZE + cmd_len + 1), desc_size = 0;
	for (unsigned i = 0; i < h->nr_events; i++)
		desc_size += trace_desc_size(&h->ev[i].group->events[h->ev[i].local]);
	size_t total = desc_off + desc_size;
	uint8_t *buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;
	trace_header_fill(buf, h, cmd_len, desc_off, desc_size);
	memcpy(buf + TRACE_FILE_HEADER_SIZE, cmd, cmd_len + 1);
	size_t pos = desc_off;
	for (unsigned i = 0; i < h->nr_events; i++)
		pos += trace_desc_encode(buf + pos, i, &h->ev[i].group->events[h->ev[i].local]);
	int rc = 0;
	h->fd = open(h->file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (h->fd < 0)
		rc = -errno;
	for (size_t done = 0; !rc && done < total;) {
		ssize_t w = write(h->fd, buf + done, total - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	free(buf);
	return rc;
}
