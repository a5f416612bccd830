/* SPDX-License-Identifier: MIT */
/*
 * reader.c — reading trace files with no event-definition file: the header and the descriptor
 * block describe everything. Every offset, size and count is checked against the file before use
 * (the way kvm_binary_stats_test checks the KVM stats fd); errors are named and give the offset.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tracing/trace.h"

struct trace_reader {
	const uint8_t *data;
	size_t size;
	void *map;
	struct trace_file_info info;
	char *cmdline;
	struct trace_event_desc *events;
	char **names;			/* per event: one allocation holding its strings */
	uint64_t records_off, pos;
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
	if (trace_get32(h + 8) != TRACE_FILE_VERSION)
		return trace_rfail(r, TRACE_FERR_VERSION, 8, "version %u, this reader knows %d", trace_get32(h + 8),
				   TRACE_FILE_VERSION);
	if (trace_get32(h + 16) != TRACE_FILE_HEADER_SIZE)
		return trace_rfail(r, TRACE_FERR_HEADER, 16, "header size %u, expected %u", trace_get32(h + 16),
				   TRACE_FILE_HEADER_SIZE);
	if (trace_get32(h + 64) != 1)
		return trace_rfail(r, TRACE_FERR_HEADER, 64, "unknown clock %u", trace_get32(h + 64));
	for (unsigned i = 84; i < TRACE_FILE_HEADER_SIZE; i++)
		if (h[i])
			return trace_rfail(r, TRACE_FERR_HEADER, i, "reserved byte is not zero");
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

static int trace_reader_setup(struct trace_reader *r, struct trace_reader **out, enum trace_file_error *err,
			      char *msg, size_t msg_len)
{
	int rc = trace_header_basic(r);
	if (!rc)
		rc = trace_header_layout(r);
	if (!rc)
		rc = trace_descs(r);
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

int trace_reader_next(struct trace_reader *r, struct trace_record *rec)
{
	uint64_t left = r->size - r->pos;
	const uint8_t *p = r->data + r->pos;
	if (r->err)
		return -EINVAL;
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

int trace_reader_format(const struct trace_reader *r, const struct trace_record *rec, char *buf, size_t len)
{
	const struct trace_event_desc *d = trace_reader_event(r, rec->event);
	if (!d)
		return -EINVAL;
	return trace_format(buf, len, d->fmt, d->nargs, d->arg_types, rec->vals, rec->strs);
}

int trace_reader_seek(struct trace_reader *r, uint64_t offset)
{
	if (offset < r->records_off || offset > r->size || (offset & 7) != (r->records_off & 7))
		return -EINVAL;
	r->err = TRACE_FERR_NONE;
	r->pos = offset;
	return 0;
}
