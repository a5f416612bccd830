/* SPDX-License-Identifier: MIT */
/*
 * reader.c — reading trace files with no event-definition file: the header and the descriptor
 * block describe everything. Every offset, size and count is checked against the file before use
 * (the way kvm_binary_stats_test checks the KVM stats fd); errors are named and give the offset.
 *
 * Version 2 records come in chunks (vCPU, tick base, a (tick, ns) clock pair): at open the reader
 * walks the chunk headers into an index (stopping at the first bad one, whose error is reported
 * when reading gets there), and turns ticks into ns piecewise-linearly between the clock pairs.
 * Version 1 files (records with their own ns timestamps) are read as before.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tracing/trace.h"

struct trace_chunk {
	uint64_t off;			/* of the chunk header */
	uint64_t avail;			/* payload bytes in the file (less than declared if truncated) */
	uint64_t declared;		/* payload bytes the header declares */
	uint64_t base;			/* tick base */
	unsigned vcpu;
};

struct trace_sync {
	uint64_t tick, ns;
};

struct trace_reader {
	const uint8_t *data;
	size_t size;
	void *map;
	struct trace_file_info info;
	char *cmdline;
	struct trace_event_desc *events;
	char **names;			/* per event: one allocation holding its strings */
	uint64_t records_off, pos;
	/* version 2: */
	struct trace_chunk *chunks;
	size_t nchunks, ci;		/* ci: the chunk pos is in (SIZE_MAX: before the first, nchunks: after) */
	struct trace_sync *syncs;
	size_t nsyncs, si;		/* si: the segment last used */
	enum trace_file_error tail_err;	/* what stopped the chunk walk (reported on reaching it) */
	uint64_t tail_off;
	char tail_msg[160];
	enum trace_file_error err;
	char msg[256];
	char strs[TRACE_MAX_ARGS][TRACE_STR_MAX + 1];
};

static const char *const trace_ferr_names[] = {
	[TRACE_FERR_NONE] = "no error",
	[TRACE_FERR_IO] = "I/O error",
	[TRACE_FERR_SHORT_HEADER] = "file shorter than the trace header",
	[TRACE_FERR_MAGIC] = "not a vmscope trace file (bad magic)",
	[TRACE_FERR_VERSION] = "unsupported trace format version",
	[TRACE_FERR_ENDIAN] = "trace written on a host of the other byte order",
	[TRACE_FERR_HEADER] = "inconsistent trace header",
	[TRACE_FERR_OFFSET] = "offset or size outside the file",
	[TRACE_FERR_DESC] = "malformed event descriptor",
	[TRACE_FERR_RECORD] = "malformed record",
	[TRACE_FERR_TRUNCATED] = "file truncated inside a record",
};

const char *trace_file_error_name(enum trace_file_error e)
{
	return (unsigned)e < sizeof(trace_ferr_names) / sizeof(trace_ferr_names[0]) ? trace_ferr_names[e] : "unknown error";
}

static int trace_rfail(struct trace_reader *r, enum trace_file_error e, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int trace_rfail(struct trace_reader *r, enum trace_file_error e, uint64_t off, const char *fmt, ...)
{
	char detail[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->err = e;
	snprintf(r->msg, sizeof(r->msg), "offset %llu (0x%llx): %s: %s", (unsigned long long)off,
		 (unsigned long long)off, trace_file_error_name(e), detail);
	return -EINVAL;
}

#define TRACE_REC_HDR_V2 8u

static uint16_t trace_get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t trace_get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t trace_get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* [off, off + len) lies in the file. */
static bool trace_range_is_ok(const struct trace_reader *r, uint64_t off, uint64_t len)
{
	return off <= r->size && len <= r->size - off;
}

static int trace_check_ident(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return -1;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return -1;
	return 0;
}

static int trace_header_basic(struct trace_reader *r)
{
	const uint8_t *h = r->data;
	if (r->size < TRACE_FILE_HEADER_SIZE)
		return trace_rfail(r, TRACE_FERR_SHORT_HEADER, 0, "%zu bytes, the header needs %u", r->size,
				   TRACE_FILE_HEADER_SIZE);
	if (memcmp(h, TRACE_FILE_MAGIC, 8))
		return trace_rfail(r, TRACE_FERR_MAGIC, 0, "expected \"%s\"", TRACE_FILE_MAGIC);
	if (trace_get32(h + 12) == __builtin_bswap32(TRACE_FILE_ENDIAN))
		return trace_rfail(r, TRACE_FERR_ENDIAN, 12, "this reader decodes little-endian files only");
	if (trace_get32(h + 12) != TRACE_FILE_ENDIAN)
		return trace_rfail(r, TRACE_FERR_HEADER, 12, "bad byte-order mark 0x%08x", trace_get32(h + 12));
	uint32_t version = trace_get32(h + 8);
	if (version != 1 && version != TRACE_FILE_VERSION)
		return trace_rfail(r, TRACE_FERR_VERSION, 8, "version %u, this reader knows 1 and %d", version,
				   TRACE_FILE_VERSION);
	if (trace_get32(h + 16) != TRACE_FILE_HEADER_SIZE)
		return trace_rfail(r, TRACE_FERR_HEADER, 16, "header size %u, expected %u", trace_get32(h + 16),
				   TRACE_FILE_HEADER_SIZE);
	if (trace_get32(h + 64) != 1)
		return trace_rfail(r, TRACE_FERR_HEADER, 64, "unknown clock %u", trace_get32(h + 64));
	uint32_t tick = version == 1 ? TRACE_TICK_NS : trace_get32(h + 84);
	if (tick != TRACE_TICK_NS && tick != TRACE_TICK_TSC)
		return trace_rfail(r, TRACE_FERR_HEADER, 84, "unknown tick source %u", tick);
	for (unsigned i = version == 1 ? 84 : 96; i < TRACE_FILE_HEADER_SIZE; i++)
		if (h[i])
			return trace_rfail(r, TRACE_FERR_HEADER, i, "reserved byte is not zero");
	r->info.tick_source = tick;
	return 0;
}

static int trace_header_layout(struct trace_reader *r)
{
	const uint8_t *h = r->data;
	uint64_t cmd_off = trace_get64(h + 72), cmd_len = trace_get32(h + 80);
	uint64_t desc_off = trace_get64(h + 24), desc_size = trace_get64(h + 32), rec_off = trace_get64(h + 40);
	uint32_t nr = trace_get32(h + 20);
	if (cmd_off < TRACE_FILE_HEADER_SIZE || !trace_range_is_ok(r, cmd_off, cmd_len + 1) || r->data[cmd_off + cmd_len])
		return trace_rfail(r, TRACE_FERR_OFFSET, 72, "command line at %llu, %llu bytes, file size %zu",
				   (unsigned long long)cmd_off, (unsigned long long)cmd_len, r->size);
	if (desc_off < cmd_off + cmd_len + 1 || desc_off % 8 || !trace_range_is_ok(r, desc_off, desc_size))
		return trace_rfail(r, TRACE_FERR_OFFSET, 24, "descriptors at %llu, %llu bytes, file size %zu",
				   (unsigned long long)desc_off, (unsigned long long)desc_size, r->size);
	if (rec_off != desc_off + desc_size || rec_off > r->size)
		return trace_rfail(r, TRACE_FERR_OFFSET, 40, "records at %llu, descriptors end at %llu, file size %zu",
				   (unsigned long long)rec_off, (unsigned long long)(desc_off + desc_size), r->size);
	if (nr > 65535 || nr > desc_size / 16)
		return trace_rfail(r, TRACE_FERR_HEADER, 20, "%u events cannot fit in %llu descriptor bytes", nr,
				   (unsigned long long)desc_size);
	r->info.version = trace_get32(h + 8);
	r->info.nr_events = nr;
	r->info.start_mono_ns = trace_get64(h + 48);
	r->info.start_real_ns = trace_get64(h + 56);
	r->info.clock = trace_get32(h + 64);
	r->info.pid = trace_get32(h + 68);
	r->records_off = r->pos = rec_off;
	r->ci = SIZE_MAX;	/* version 2: before the first chunk */
	r->cmdline = strndup((const char *)r->data + cmd_off, cmd_len);
	r->info.cmdline = r->cmdline;
	return r->cmdline ? 0 : -ENOMEM;
}

/* Copies n bytes at src into the pool as a NUL-terminated string. */
static const char *trace_pool_add(char **pool, const uint8_t *src, size_t n)
{
	char *s = *pool;
	memcpy(s, src, n);
	s[n] = '\0';
	*pool += n + 1;
	return s;
}

static int trace_desc_strings(struct trace_reader *r, unsigned id, const uint8_t *e, uint64_t off, uint32_t size)
{
	struct trace_event_desc *d = &r->events[id];
	size_t name_len = trace_get16(e + 10), fmt_len = trace_get16(e + 12), need = 16 + 2 * (size_t)d->nargs;
	size_t arg_lens = 0;
	for (unsigned a = 0; a < d->nargs; a++)
		arg_lens += e[17 + 2 * a];
	if (need + name_len + fmt_len + arg_lens > size)
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u: strings overrun the %u-byte descriptor", id, size);
	char *pool = r->names[id] = malloc(name_len + fmt_len + arg_lens + 2 + TRACE_MAX_ARGS);
	if (!pool)
		return -ENOMEM;
	const uint8_t *p = e + need;
	if (trace_check_ident((const char *)p, name_len))
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u: name is not an identifier", id);
	d->name = trace_pool_add(&pool, p, name_len);
	p += name_len;
	if (memchr(p, 0, fmt_len))
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u (%s): NUL inside the format", id, d->name);
	d->fmt = trace_pool_add(&pool, p, fmt_len);
	p += fmt_len;
	for (unsigned a = 0; a < d->nargs; a++) {
		if (trace_check_ident((const char *)p, e[17 + 2 * a]))
			return trace_rfail(r, TRACE_FERR_DESC, off, "event %u (%s): argument %u name is not an identifier", id,
					   d->name, a);
		d->arg_names[a] = trace_pool_add(&pool, p, e[17 + 2 * a]);
		p += e[17 + 2 * a];
	}
	if (trace_format_validate(d->fmt, d->nargs, d->arg_types))
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u (%s): format \"%.40s\" does not match its arguments",
				   id, d->name, d->fmt);
	return 0;
}

static int trace_desc_one(struct trace_reader *r, unsigned id, uint64_t off, uint64_t end, uint32_t *size_out)
{
	const uint8_t *e = r->data + off;
	if (end - off < 16)
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u: descriptor block ends after %llu bytes", id,
				   (unsigned long long)(end - off));
	uint32_t size = trace_get32(e);
	struct trace_event_desc *d = &r->events[id];
	if (size < 16 || size % 8 || size > end - off)
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u: descriptor size %u (block has %llu bytes left)", id,
				   size, (unsigned long long)(end - off));
	if (trace_get32(e + 4) != id)
		return trace_rfail(r, TRACE_FERR_DESC, off, "descriptor id %u where %u was expected", trace_get32(e + 4), id);
	d->nargs = trace_get16(e + 8);
	if (d->nargs > TRACE_MAX_ARGS || 16 + 2 * d->nargs > size)
		return trace_rfail(r, TRACE_FERR_DESC, off, "event %u: %u arguments (at most %d)", id, d->nargs,
				   TRACE_MAX_ARGS);
	for (unsigned a = 0; a < d->nargs; a++) {
		d->arg_types[a] = e[16 + 2 * a];
		d->arg_ctypes[a] = trace_type_name(d->arg_types[a]);
		if (!d->arg_ctypes[a])
			return trace_rfail(r, TRACE_FERR_DESC, off + 16 + 2 * a, "event %u: argument %u has unknown type %u", id,
					   a, d->arg_types[a]);
	}
	*size_out = size;
	return trace_desc_strings(r, id, e, off, size);
}

static int trace_descs(struct trace_reader *r)
{
	uint64_t off = trace_get64(r->data + 24), end = off + trace_get64(r->data + 32);
	unsigned nr = r->info.nr_events;
	r->events = calloc(nr ? nr : 1, sizeof(*r->events));
	r->names = calloc(nr ? nr : 1, sizeof(*r->names));
	if (!r->events || !r->names)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++) {
		uint32_t size = 0;
		int rc = trace_desc_one(r, i, off, end, &size);
		if (rc)
			return rc;
		off += size;
	}
	if (off != end)
		return trace_rfail(r, TRACE_FERR_DESC, off, "%llu bytes left over after %u descriptors",
				   (unsigned long long)(end - off), nr);
	return 0;
}

static int trace_chunk_index(struct trace_reader *r);

static int trace_reader_setup(struct trace_reader *r, struct trace_reader **out, enum trace_file_error *err,
			      char *msg, size_t msg_len)
{
	int rc = trace_header_basic(r);
	if (!rc)
		rc = trace_header_layout(r);
	if (!rc)
		rc = trace_descs(r);
	if (!rc && r->info.version >= 2)
		rc = trace_chunk_index(r);
	if (rc) {
		if (err)
			*err = r->err;
		snprintf(msg, msg_len, "%s", rc == -ENOMEM ? "out of memory" : r->msg);
		trace_reader_close(r);
		return rc;
	}
	if (err)
		*err = TRACE_FERR_NONE;
	*out = r;
	return 0;
}

int trace_reader_open_mem(const void *data, size_t size, struct trace_reader **out, enum trace_file_error *err,
			  char *msg, size_t msg_len)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->data = data;
	r->size = size;
	return trace_reader_setup(r, out, err, msg, msg_len);
}

int trace_reader_open(const char *path, struct trace_reader **out, enum trace_file_error *err, char *msg,
		      size_t msg_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	if (err)
		*err = TRACE_FERR_IO;
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;
		snprintf(msg, msg_len, "%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msg_len, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	struct trace_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->size = (size_t)st.st_size;
	if (r->size) {
		r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (r->map == MAP_FAILED) {
			int e = errno;
			snprintf(msg, msg_len, "%s: mmap: %s", path, strerror(e));
			close(fd);
			free(r);
			return -e;
		}
	}
	close(fd);
	r->data = r->size ? r->map : (const uint8_t *)"";
	return trace_reader_setup(r, out, err, msg, msg_len);
}

void trace_reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->size);
	for (unsigned i = 0; r->names && i < r->info.nr_events; i++)
		free(r->names[i]);
	free(r->names);
	free(r->events);
	free(r->chunks);
	free(r->syncs);
	free(r->cmdline);
	free(r);
}

enum trace_file_error trace_reader_error(const struct trace_reader *r)
{
	return r->err;
}

const char *trace_reader_message(const struct trace_reader *r)
{
	return r->msg;
}

void trace_reader_info(const struct trace_reader *r, struct trace_file_info *info)
{
	*info = r->info;
}

const struct trace_event_desc *trace_reader_event(const struct trace_reader *r, unsigned id)
{
	return id < r->info.nr_events ? &r->events[id] : NULL;
}

int trace_reader_arg_index(const struct trace_reader *r, unsigned id, const char *name)
{
	const struct trace_event_desc *d = trace_reader_event(r, id);
	for (unsigned a = 0; d && a < d->nargs; a++)
		if (!strcmp(d->arg_names[a], name))
			return (int)a;
	return -1;
}

static int trace_record_strings(struct trace_reader *r, struct trace_record *rec, const uint8_t *p, uint32_t size)
{
	const struct trace_event_desc *d = &r->events[rec->event];
	size_t pos = TRACE_REC_HDR_SIZE + 8 * (size_t)d->nargs;
	for (unsigned a = 0; a < d->nargs; a++) {
		rec->strs[a] = NULL;
		if (d->arg_types[a] != TRACE_T_STR)
			continue;
		uint64_t n = rec->vals[a];
		if (n > TRACE_STR_MAX || ((n + 7) & ~7ull) > size - pos)
			return trace_rfail(r, TRACE_FERR_RECORD, rec->offset, "%s: string argument %u of %llu bytes overruns the record",
					   d->name, a, (unsigned long long)n);
		memcpy(r->strs[a], p + pos, n);
		r->strs[a][n] = '\0';
		rec->strs[a] = r->strs[a];
		pos += (n + 7) & ~7ull;
	}
	if (pos != size)
		return trace_rfail(r, TRACE_FERR_RECORD, rec->offset, "%s: record size %u, its arguments take %zu", d->name,
				   size, pos);
	return 0;
}

static int trace_next_v1(struct trace_reader *r, struct trace_record *rec)
{
	uint64_t left = r->size - r->pos;
	const uint8_t *p = r->data + r->pos;
	if (!left)
		return 0;
	rec->offset = r->pos;
	if (left < TRACE_REC_HDR_SIZE)
		return trace_rfail(r, TRACE_FERR_TRUNCATED, r->pos, "%llu bytes left, a record header needs %u",
				   (unsigned long long)left, TRACE_REC_HDR_SIZE);
	uint32_t size = trace_get16(p);
	rec->event = trace_get16(p + 2);
	rec->vcpu = trace_get16(p + 4);
	rec->nargs = trace_get16(p + 6);
	rec->ts = trace_get64(p + 8);
	if (size < TRACE_REC_HDR_SIZE || size % 8)
		return trace_rfail(r, TRACE_FERR_RECORD, r->pos, "record size %u", size);
	if (size > left)
		return trace_rfail(r, TRACE_FERR_TRUNCATED, r->pos, "record of %u bytes, %llu left in the file", size,
				   (unsigned long long)left);
	if (rec->event >= r->info.nr_events)
		return trace_rfail(r, TRACE_FERR_RECORD, r->pos, "event id %u, the file describes %u", rec->event,
				   r->info.nr_events);
	if (rec->nargs != r->events[rec->event].nargs || TRACE_REC_HDR_SIZE + 8u * rec->nargs > size)
		return trace_rfail(r, TRACE_FERR_RECORD, r->pos, "%s: %u arguments, its descriptor says %u",
				   r->events[rec->event].name, rec->nargs, r->events[rec->event].nargs);
	for (unsigned a = 0; a < rec->nargs; a++)
		rec->vals[a] = trace_get64(p + TRACE_REC_HDR_SIZE + 8 * a);
	int rc = trace_record_strings(r, rec, p, size);
	if (rc)
		return rc;
	r->pos += size;
	return 1;
}


/* ---- version 2: chunks ---- */

#define TRACE_CHUNK_HDR 40u

static int trace_push_chunk(struct trace_reader *r, size_t *cap, const struct trace_chunk *c)
{
	if (r->nchunks == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct trace_chunk *n = realloc(r->chunks, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->chunks = n;
		*cap = ncap;
	}
	r->chunks[r->nchunks++] = *c;
	return 0;
}

/* Clock pairs must rise in ticks (and not fall in ns) to be used: a damaged one is skipped. */
static int trace_push_sync(struct trace_reader *r, size_t *cap, uint64_t tick, uint64_t ns)
{
	if (r->nsyncs && (tick <= r->syncs[r->nsyncs - 1].tick || ns < r->syncs[r->nsyncs - 1].ns))
		return 0;
	if (r->nsyncs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct trace_sync *n = realloc(r->syncs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->syncs = n;
		*cap = ncap;
	}
	r->syncs[r->nsyncs++] = (struct trace_sync){ tick, ns };
	return 0;
}

static void trace_tail_error(struct trace_reader *r, enum trace_file_error e, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void trace_tail_error(struct trace_reader *r, enum trace_file_error e, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->tail_msg, sizeof(r->tail_msg), fmt, ap);
	va_end(ap);
	r->tail_err = e;
	r->tail_off = off;
}

/* Walks the chunk headers from the records offset to the end of the file or the first bad one. */
static int trace_chunk_index(struct trace_reader *r)
{
	size_t ccap = 0, scap = 0;
	uint64_t off = r->records_off;
	if (trace_push_sync(r, &scap, trace_get64(r->data + 88), r->info.start_mono_ns))
		return -ENOMEM;
	while (off < r->size) {
		const uint8_t *p = r->data + off;
		uint64_t left = r->size - off;
		if (left < TRACE_CHUNK_HDR) {
			trace_tail_error(r, TRACE_FERR_TRUNCATED, off, "%llu bytes left, a chunk header needs %u",
					 (unsigned long long)left, TRACE_CHUNK_HDR);
			return 0;
		}
		struct trace_chunk c = { .off = off, .declared = trace_get32(p + 4), .vcpu = trace_get32(p + 8),
					 .base = trace_get64(p + 16) };
		if (trace_get32(p) != TRACE_CHUNK_MAGIC || c.vcpu > TRACE_VCPU_NONE || trace_get32(p + 12)) {
			trace_tail_error(r, TRACE_FERR_RECORD, off, "bad chunk header (magic 0x%08x, vcpu %u)",
					 trace_get32(p), c.vcpu);
			return 0;
		}
		c.avail = c.declared < left - TRACE_CHUNK_HDR ? c.declared : left - TRACE_CHUNK_HDR;
		if (trace_push_chunk(r, &ccap, &c) || trace_push_sync(r, &scap, trace_get64(p + 24), trace_get64(p + 32)))
			return -ENOMEM;
		if (c.avail < c.declared) {
			trace_tail_error(r, TRACE_FERR_TRUNCATED, off, "chunk of %llu bytes, %llu left in the file",
					 (unsigned long long)c.declared, (unsigned long long)c.avail);
			return 0;
		}
		off += TRACE_CHUNK_HDR + c.declared;
	}
	return 0;
}

/* Ticks to ns: linear between the clock pairs around the tick, extended from the nearest segment
 * outside them. Monotonic in the tick; exact for TRACE_TICK_NS. */
static uint64_t trace_tick_ns(struct trace_reader *r, uint64_t tick)
{
	if (r->info.tick_source == TRACE_TICK_NS || r->nsyncs < 2)
		return r->info.tick_source == TRACE_TICK_NS || !r->nsyncs ? tick : r->syncs[0].ns + (tick - r->syncs[0].tick);
	size_t i = r->si < r->nsyncs - 1 ? r->si : 0;
	if (tick < r->syncs[i].tick || tick >= r->syncs[i + 1].tick) {
		size_t lo = 0, hi = r->nsyncs - 1;	/* the last pair with tick <= tick, at most nsyncs - 2 */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (r->syncs[mid].tick <= tick)
				lo = mid;
			else
				hi = mid;
		}
		i = r->si = lo;
	}
	const struct trace_sync *a = &r->syncs[i], *b = &r->syncs[i + 1];
	unsigned __int128 span = b->ns - a->ns;
	if (tick < a->tick) {
		uint64_t back = (uint64_t)(((unsigned __int128)(a->tick - tick) * span) / (b->tick - a->tick));
		return back < a->ns ? a->ns - back : 0;
	}
	return a->ns + (uint64_t)(((unsigned __int128)(tick - a->tick) * span) / (b->tick - a->tick));
}

/* Moves to the next chunk that has records; 0 at a clean end, -EINVAL at the damage that ended
 * the chunk walk. */
static int trace_chunk_next(struct trace_reader *r)
{
	size_t i = r->ci == SIZE_MAX ? 0 : r->ci + 1;
	for (; i < r->nchunks; i++)
		if (r->chunks[i].avail) {
			r->ci = i;
			r->pos = r->chunks[i].off + TRACE_CHUNK_HDR;
			return 1;
		}
	r->ci = r->nchunks;
	r->pos = r->size;
	if (r->tail_err)
		return trace_rfail(r, r->tail_err, r->tail_off, "%s", r->tail_msg);
	return 0;
}

static uint64_t trace_arg_get(const uint8_t *p, unsigned width, bool is_signed)
{
	switch (width) {
	case 1: return is_signed ? (uint64_t)(int64_t)(int8_t)p[0] : p[0];
	case 2: return is_signed ? (uint64_t)(int64_t)(int16_t)trace_get16(p) : trace_get16(p);
	case 4: return is_signed ? (uint64_t)(int64_t)(int32_t)trace_get32(p) : trace_get32(p);
	default: return trace_get64(p);
	}
}

static unsigned trace_type_width(unsigned type)
{
	static const uint8_t width[TRACE_T_MAX + 1] = { [TRACE_T_U8] = 1, [TRACE_T_U16] = 2, [TRACE_T_U32] = 4,
		[TRACE_T_U64] = 8, [TRACE_T_I8] = 1, [TRACE_T_I16] = 2, [TRACE_T_I32] = 4, [TRACE_T_I64] = 8,
		[TRACE_T_BOOL] = 1 };
	return type <= TRACE_T_MAX ? width[type] : 0;
}

/* The arguments of a v2 record of size bytes at p (its header already checked). */
static int trace_v2_args(struct trace_reader *r, struct trace_record *rec, const uint8_t *p, size_t size)
{
	const struct trace_event_desc *d = &r->events[rec->event];
	size_t pos = TRACE_REC_HDR_V2;
	rec->nargs = d->nargs;
	for (unsigned a = 0; a < d->nargs; a++) {
		unsigned w = trace_type_width(d->arg_types[a]);
		size_t need = w ? w : 2;
		rec->strs[a] = NULL;
		if (need > size - pos)
			return trace_rfail(r, TRACE_FERR_RECORD, rec->offset, "%s: record size %zu, argument %u does not fit",
					   d->name, size, a);
		if (w) {
			rec->vals[a] = trace_arg_get(p + pos, w, trace_type_is_signed(d->arg_types[a]));
			pos += w;
			continue;
		}
		uint64_t n = trace_get16(p + pos);
		if (n > TRACE_STR_MAX || n > size - pos - 2)
			return trace_rfail(r, TRACE_FERR_RECORD, rec->offset, "%s: string argument %u of %llu bytes overruns the record",
					   d->name, a, (unsigned long long)n);
		memcpy(r->strs[a], p + pos + 2, n);
		r->strs[a][n] = '\0';
		rec->strs[a] = r->strs[a];
		rec->vals[a] = n;
		pos += 2 + n;
	}
	if (pos != size)
		return trace_rfail(r, TRACE_FERR_RECORD, rec->offset, "%s: record size %zu, its arguments take %zu", d->name,
				   size, pos);
	return 0;
}

static int trace_next_v2(struct trace_reader *r, struct trace_record *rec)
{
	const struct trace_chunk *c = r->ci < r->nchunks ? &r->chunks[r->ci] : NULL;
	uint64_t end = c ? c->off + TRACE_CHUNK_HDR + c->avail : 0;
	if (!c || r->pos >= end) {
		int rc = trace_chunk_next(r);
		if (rc <= 0)
			return rc;
		c = &r->chunks[r->ci];
		end = c->off + TRACE_CHUNK_HDR + c->avail;
	}
	uint64_t left = end - r->pos;
	bool cut = c->avail < c->declared;
	const uint8_t *p = r->data + r->pos;
	rec->offset = r->pos;
	if (left < TRACE_REC_HDR_V2)
		return trace_rfail(r, cut ? TRACE_FERR_TRUNCATED : TRACE_FERR_RECORD, r->pos,
				   "%llu bytes left in the chunk, a record header needs %u", (unsigned long long)left,
				   TRACE_REC_HDR_V2);
	uint32_t size = trace_get16(p);
	rec->event = trace_get16(p + 2);
	if (size < TRACE_REC_HDR_V2)
		return trace_rfail(r, TRACE_FERR_RECORD, r->pos, "record size %u", size);
	if (size > left)
		return trace_rfail(r, cut && size <= left + (c->declared - c->avail) ? TRACE_FERR_TRUNCATED : TRACE_FERR_RECORD,
				   r->pos, "record of %u bytes, %llu left in its chunk", size, (unsigned long long)left);
	if (rec->event >= r->info.nr_events)
		return trace_rfail(r, TRACE_FERR_RECORD, r->pos, "event id %u, the file describes %u", rec->event,
				   r->info.nr_events);
	rec->vcpu = c->vcpu;
	rec->ts = trace_tick_ns(r, c->base + trace_get32(p + 4));
	int rc = trace_v2_args(r, rec, p, size);
	if (rc)
		return rc;
	r->pos += size;
	return 1;
}

/* The chunk whose payload holds offset, or nchunks. */
static size_t trace_chunk_find(const struct trace_reader *r, uint64_t offset)
{
	size_t lo = 0, hi = r->nchunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->chunks[mid].off + TRACE_CHUNK_HDR + r->chunks[mid].avail <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nchunks && offset >= r->chunks[lo].off + TRACE_CHUNK_HDR ? lo : r->nchunks;
}

int trace_reader_format(const struct trace_reader *r, const struct trace_record *rec, char *buf, size_t len)
{
	const struct trace_event_desc *d = trace_reader_event(r, rec->event);
	if (!d)
		return -EINVAL;
	return trace_format(buf, len, d->fmt, d->nargs, d->arg_types, rec->vals, rec->strs);
}

int trace_reader_next(struct trace_reader *r, struct trace_record *rec)
{
	if (r->err)
		return -EINVAL;
	return r->info.version == 1 ? trace_next_v1(r, rec) : trace_next_v2(r, rec);
}

int trace_reader_seek(struct trace_reader *r, uint64_t offset)
{
	if (r->info.version == 1) {
		if (offset < r->records_off || offset > r->size || (offset & 7) != (r->records_off & 7))
			return -EINVAL;
	} else {
		size_t ci = trace_chunk_find(r, offset);
		if (ci == r->nchunks)
			return -EINVAL;
		r->ci = ci;
	}
	r->err = TRACE_FERR_NONE;
	r->pos = offset;
	return 0;
}
