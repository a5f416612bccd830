/* SPDX-License-Identifier: MIT */
/*
 * trace.h — vmscope's static tracepoints: run-time control, backends and the trace file format.
 *
 * Events are declared in a folder's `trace-events` file (see vmscope-trace-events(5)); tracegen
 * turns it into $(B)/gen/FOLDER/trace-events.h, which code includes to call trace_NAME(...).
 *
 * State: everything hangs off a struct trace_handle, except one pointer per event
 * (trace_state_GROUP[id], generated). That pointer is NULL while the event is off and points at
 * the handle that turned it on otherwise, so a disabled tracepoint costs one load and one
 * predictable branch, and the tracepoint needs no handle argument. The tradeoff: an event can be
 * on for one handle at a time in a process (the last one to enable it); two handles may trace
 * disjoint sets of events at once.
 *
 * Conventions: 0 (or a count) on success, -errno on failure; messages go into a caller buffer.
 */
#ifndef VMSCOPE_TRACING_TRACE_H
#define VMSCOPE_TRACING_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_MUST_CHECK __attribute__((warn_unused_result))
#define TRACE_MAX_ARGS 8

/* Argument types, as stored in trace files (values are part of the file format). */
enum trace_type {
	TRACE_T_U8 = 1, TRACE_T_U16 = 2, TRACE_T_U32 = 3, TRACE_T_U64 = 4,
	TRACE_T_I8 = 5, TRACE_T_I16 = 6, TRACE_T_I32 = 7, TRACE_T_I64 = 8,
	TRACE_T_BOOL = 9, TRACE_T_STR = 10,
};
#define TRACE_T_MAX TRACE_T_STR
const char *trace_type_name(unsigned type);	/* "uint16_t", …; NULL when unknown */
bool trace_type_is_signed(unsigned type);

struct trace_event_desc {
	const char *name;
	const char *fmt;
	unsigned nargs;
	const char *arg_names[TRACE_MAX_ARGS];
	const char *arg_ctypes[TRACE_MAX_ARGS];
	uint8_t arg_types[TRACE_MAX_ARGS];
	unsigned short *usdt_semaphore;	/* raised by perf/bpftrace/gdb when they attach */
};

/* One per trace-events file, generated; collected through the "trace_groups" section. */
struct trace_handle;
struct trace_group {
	const char *name;
	const char *file;
	unsigned nr_events;
	const struct trace_event_desc *events;
	struct trace_handle **state;
	unsigned base;		/* first global id; assigned once at the first trace_open() */
};

/* Called by generated code only: the generated trace_fire_NAME() encodes the record for the
 * binary backend itself (tracing/trace-rec-local.h); when a text backend (log, ftrace) wants the event,
 * trace_emit_text formats it with the event's own format and typed arguments (which the compiler
 * checks, through the attribute). */
void trace_emit_text(struct trace_handle *h, struct trace_group *g, unsigned local_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- handle and configuration ---- */

enum trace_backend {
	TRACE_BACKEND_BINARY = 1 << 0,
	TRACE_BACKEND_LOG = 1 << 1,
	TRACE_BACKEND_FTRACE = 1 << 2,
	TRACE_BACKEND_USDT = 1 << 3,
};

TRACE_MUST_CHECK int trace_open(struct trace_handle **out);
/* Stops the writer, flushes, turns off every event this handle turned on, frees. Call after the
 * threads that trace have stopped (or they may lose their last records, never crash). */
void trace_close(struct trace_handle *h);

/* "binary,log": -EINVAL and a message for unknown names. */
TRACE_MUST_CHECK int trace_set_backends(struct trace_handle *h, const char *list, char *why, size_t why_len);
unsigned trace_backends(const struct trace_handle *h);
/* Binary file (default "vmscope-PID.vmt") or log destination (default stderr; "-" is stderr). */
TRACE_MUST_CHECK int trace_set_file(struct trace_handle *h, const char *path);
TRACE_MUST_CHECK int trace_set_log_file(struct trace_handle *h, const char *path);
/* Per-thread ring size in bytes (power of two, 64 KiB to 1 GiB, default 4 MiB); before trace_start. */
TRACE_MUST_CHECK int trace_set_ring_size(struct trace_handle *h, size_t bytes);
/* Timestamps: "auto" (the TSC where it is constant, nonstop and the kernel's clocksource, else
 * CLOCK_MONOTONIC, and the reason goes to stderr), "tsc" (even if the checks fail; an error where
 * there is no TSC), "monotonic" (clock_gettime). The file holds nanoseconds either way. */
TRACE_MUST_CHECK int trace_set_clock(struct trace_handle *h, const char *name, char *why, size_t why_len);
/* tracefs directory for the ftrace backend (default: found in /proc/self/mountinfo). */
TRACE_MUST_CHECK int trace_set_tracefs(struct trace_handle *h, const char *dir);

/*
 * The --trace option: "PATTERN[,PATTERN]" (globs, "-PATTERN" disables), "events=FILE" (patterns,
 * one a line, # comments), "file=PATH", "backend=LIST", "log=PATH", "tracefs=DIR" (a tracefs or
 * tracefs instance directory for the ftrace backend), "ring=SIZE" (per-thread ring, 64K..1G),
 * "clock=auto|tsc|monotonic" (trace_set_clock), "help" (sets *want_help). Returns 0 or
 * -errno with a message. Patterns may be given before or after trace_start.
 */
TRACE_MUST_CHECK int trace_parse_option(struct trace_handle *h, const char *arg, bool *want_help, char *why,
					size_t why_len);
/* Pattern list ("a*,-b"): returns how many events changed state, or -ENOENT when a pattern
 * matched nothing (the others still apply), -EINVAL for an empty pattern. */
TRACE_MUST_CHECK int trace_enable_patterns(struct trace_handle *h, const char *patterns, char *why, size_t why_len);
TRACE_MUST_CHECK int trace_enable_file(struct trace_handle *h, const char *path, char *why, size_t why_len);

/* Opens the backends (file, tracefs) and starts the writer thread. argv is recorded in the file. */
TRACE_MUST_CHECK int trace_start(struct trace_handle *h, int argc, char *const *argv, char *why, size_t why_len);
/* Start tracing by itself when trace_event_set_state() first turns an event on (QMP, gdb): a
 * handle nobody asked for writes no file until then. argv must outlive the handle. */
void trace_set_autostart(struct trace_handle *h, int argc, char *const *argv);
bool trace_is_started(const struct trace_handle *h);
/* Writes everything traced so far (the writer also does, at least once a second). */
TRACE_MUST_CHECK int trace_flush(struct trace_handle *h);

/* Marks the calling thread's records with this vCPU index (-1: none). Thread-local, cheap. */
void trace_thread_set_vcpu(int vcpu);

/* ---- introspection: gdb `monitor trace`, QMP trace-event-get/set-state, --trace help ---- */

struct trace_event_info {
	unsigned id;
	const char *name;
	const char *group;
	const struct trace_event_desc *desc;
	bool enabled;
};
unsigned trace_event_count(const struct trace_handle *h);
TRACE_MUST_CHECK int trace_event_get(const struct trace_handle *h, unsigned id, struct trace_event_info *info);
bool trace_event_is_enabled(const struct trace_handle *h, unsigned id);
/* Every event whose name matches the glob: fills up to max infos, returns the number matched. */
int trace_event_match(const struct trace_handle *h, const char *glob, struct trace_event_info *out, int max);
/* Sets every event matching glob; returns the number matched (0: none), or -errno when an
 * autostart failed (the reason is printed on stderr). */
int trace_event_set_state(struct trace_handle *h, const char *glob, bool enable);
/* QMP trace-event-get-state: the "return" value (a JSON array of {"name", "state", "vcpu"}) for
 * name (a glob). -ENOENT when name is not a glob and names no event (QEMU: "unknown event"). */
int trace_qmp_get_state(const struct trace_handle *h, const char *name, char *out, size_t len);
/* QMP trace-event-set-state: 0, -ENOENT as above, or -errno from an autostart. */
int trace_qmp_set_state(struct trace_handle *h, const char *name, bool enable);
/* "name(type arg, ...) fmt" for every event, one a line (--trace help). */
void trace_list_events(const struct trace_handle *h, FILE *out);
/* gdb `monitor trace ...`: "on PATTERN", "off PATTERN", "list [PATTERN]", "flush". Writes a
 * human reply into out; returns 0 or -EINVAL (usage in out). */
int trace_monitor_command(struct trace_handle *h, const char *args, char *out, size_t out_len);
/* Records written / dropped so far (all threads). */
void trace_get_counts(const struct trace_handle *h, uint64_t *written, uint64_t *dropped);

/* ---- text formatting shared by the log backend and vmtrace ---- */

/* Formats with a printf-style fmt taken from a trace file (untrusted): only %d %i %u %o %x %X %c
 * %s %p %% with flags, width, precision and length modifiers; each conversion is checked against
 * the argument's type. strs[i] is used for TRACE_T_STR arguments. Returns the length written or
 * -EINVAL (fmt does not match the arguments). */
int trace_format(char *buf, size_t len, const char *fmt, unsigned nargs, const uint8_t *types,
		 const uint64_t *vals, const char *const *strs);
/* 0 when fmt is usable with these argument types (trace_format cannot fail), else -EINVAL. */
int trace_format_validate(const char *fmt, unsigned nargs, const uint8_t *types);
bool trace_glob_is_match(const char *glob, const char *name);

/* ---- the trace file (see vmscope-trace-events(5)) ---- */

#define TRACE_FILE_MAGIC "VMSTRACE"
#define TRACE_FILE_VERSION 2	/* written; the reader also reads version 1 */
#define TRACE_FILE_ENDIAN 0x01020304u
#define TRACE_FILE_HEADER_SIZE 128u
#define TRACE_REC_HDR_SIZE 16u	/* version 1 records */
#define TRACE_CHUNK_MAGIC 0x4b4e4843u	/* "CHNK": version 2 records come in chunks */
#define TRACE_TICK_NS 1u	/* version 2 tick sources: CLOCK_MONOTONIC ns */
#define TRACE_TICK_TSC 2u	/* the CPU's time-stamp counter, converted through (tick, ns) pairs */
#define TRACE_VCPU_NONE 0xffffu
#define TRACE_STR_MAX 1024u	/* longer strings are cut */

/* Named reader errors (trace_reader_strerror gives the text). */
enum trace_file_error {
	TRACE_FERR_NONE = 0,
	TRACE_FERR_IO,		/* open/read/mmap failed */
	TRACE_FERR_SHORT_HEADER,	/* file smaller than the header */
	TRACE_FERR_MAGIC,		/* not a vmscope trace file */
	TRACE_FERR_VERSION,	/* unknown format version */
	TRACE_FERR_ENDIAN,	/* written on a host of the other byte order */
	TRACE_FERR_HEADER,		/* header fields inconsistent (sizes, reserved bits) */
	TRACE_FERR_OFFSET,		/* an offset or size points outside the file or overlaps */
	TRACE_FERR_DESC,		/* a malformed event descriptor */
	TRACE_FERR_RECORD,		/* a malformed record */
	TRACE_FERR_TRUNCATED,	/* the file ends inside a record */
};

struct trace_reader;
struct trace_record {
	uint64_t offset;	/* in the file (trace_reader_seek takes it back) */
	uint64_t ts;		/* ns, the file's clock */
	unsigned event;
	unsigned vcpu;		/* TRACE_VCPU_NONE: not a vCPU thread */
	unsigned nargs;
	uint64_t vals[TRACE_MAX_ARGS];
	const char *strs[TRACE_MAX_ARGS];	/* NUL-terminated copies for TRACE_T_STR */
};
struct trace_file_info {
	unsigned version;
	unsigned pid;
	unsigned clock;		/* 1 = CLOCK_MONOTONIC */
	unsigned tick_source;	/* version 2: TRACE_TICK_*; version 1: TRACE_TICK_NS */
	uint64_t start_mono_ns, start_real_ns;
	const char *cmdline;	/* arguments joined by spaces */
	unsigned nr_events;
};

/* Opens and validates header and descriptors. On failure: -errno, and *err/msg say what and where. */
TRACE_MUST_CHECK int trace_reader_open(const char *path, struct trace_reader **out, enum trace_file_error *err,
				       char *msg, size_t msg_len);
/* The same over a caller's buffer, which must outlive the reader. */
TRACE_MUST_CHECK int trace_reader_open_mem(const void *data, size_t size, struct trace_reader **out,
					   enum trace_file_error *err, char *msg, size_t msg_len);
void trace_reader_close(struct trace_reader *r);
enum trace_file_error trace_reader_error(const struct trace_reader *r);
const char *trace_file_error_name(enum trace_file_error e);
void trace_reader_info(const struct trace_reader *r, struct trace_file_info *info);
const struct trace_event_desc *trace_reader_event(const struct trace_reader *r, unsigned id);
/* Next record in file order: 1 and *rec filled, 0 at a clean end, -EINVAL on a bad or truncated
 * record (message via trace_reader_message, which names the offset). rec->strs point into the
 * reader and stay valid until the next call. */
TRACE_MUST_CHECK int trace_reader_next(struct trace_reader *r, struct trace_record *rec);
const char *trace_reader_message(const struct trace_reader *r);
/* Continue reading at a record offset an earlier trace_reader_next returned (-EINVAL otherwise). */
TRACE_MUST_CHECK int trace_reader_seek(struct trace_reader *r, uint64_t offset);
/* Formats a record's arguments with its event's format. */
int trace_reader_format(const struct trace_reader *r, const struct trace_record *rec, char *buf, size_t len);
/* Index of the argument named name in event id, or -1. */
int trace_reader_arg_index(const struct trace_reader *r, unsigned id, const char *name);

#endif
