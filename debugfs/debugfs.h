/* SPDX-License-Identifier: MIT */
/*
 * debugfs.h — host KVM introspection for kvmstat and vmscope: where debugfs and tracefs are
 * mounted, and statistics providers behind one ops struct that return plain {name, value}
 * samples (no terminal code here):
 *   - "debugfs"     <debugfs>/kvm: global counters, per-VM <pid>-<fd> folders, vcpuN folders;
 *   - "tracepoints" <tracefs>/events/kvm*: perf_event_open counters, per CPU or per thread of
 *                   a pid, with per-exit-reason children through tracepoint filters;
 *   - "qmp"         query-stats over a QMP unix socket (QEMU or vmscope);
 *   - "vmscope-qmp" the same for every running vmscope guest's default socket;
 * plus the KVM_GET_STATS_FD binary-stats decoder, the tracefs format parser, and the small JSON
 * reader/writer QMP needs.
 *
 * Conventions: 0 (or a count) on success, -errno on failure. No path below /sys is hard-coded
 * outside defaults.c: every reader takes its root directory.
 */
#ifndef VMSCOPE_DEBUGFS_H
#define VMSCOPE_DEBUGFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DBGFS_MUST_CHECK __attribute__((warn_unused_result))
#define DBGFS_NAME_MAX 64

/* ---- defaults (the only place that knows /sys and /proc paths) ---- */

extern const char dbgfs_default_debugfs[];	/* /sys/kernel/debug */
extern const char dbgfs_default_tracefs[];	/* /sys/kernel/tracing */
extern const char dbgfs_default_mountinfo[];	/* /proc/self/mountinfo */
extern const char dbgfs_default_proc[];		/* /proc */
extern const char dbgfs_default_vmscope_run[];	/* /run/vmscope: vmscope's QMP sockets, <pid>.qmp */

/* CLOCK_MONOTONIC in seconds. */
double dbgfs_now(void);

/* The mount point of the first mount of fstype in a mountinfo file; -ENOENT if not mounted. */
DBGFS_MUST_CHECK int dbgfs_find_mount(const char *mountinfo, const char *fstype, char *out, size_t len);
/* One line telling the user how to mount fstype ("debugfs" or "tracefs"). */
const char *dbgfs_mount_hint(const char *fstype);
/* The tracefs root: a tracefs mount, else <debugfs>/tracing; -ENOENT with neither. */
DBGFS_MUST_CHECK int dbgfs_find_tracefs(const char *mountinfo, char *out, size_t len);

/* ---- samples ---- */

struct dbgfs_sample {
	char name[DBGFS_NAME_MAX];	/* "exits", "kvm_pio", child: "kvm_exit(HLT)" */
	int pid;			/* VM process; 0 = not split by VM */
	int vcpu;			/* -1 = whole VM */
	uint64_t value;			/* cumulative counter */
	uint64_t ns;			/* how long it has counted, when it began after the source opened
					 * (a tracepoint opened in the background); 0 = since the open */
};

struct dbgfs_samples {
	struct dbgfs_sample *v;
	size_t n, cap;
};

DBGFS_MUST_CHECK int dbgfs_samples_add(struct dbgfs_samples *s, const char *name, int pid, int vcpu, uint64_t value);
void dbgfs_samples_clear(struct dbgfs_samples *s);
void dbgfs_samples_free(struct dbgfs_samples *s);

/* ---- providers ---- */

struct dbgfs_options {
	const char *debugfs_root;	/* the debugfs mount (holds kvm/) */
	const char *tracefs_root;	/* the tracefs mount (holds events/) */
	const char *proc_root;		/* /proc, for threads of a pid */
	const char *qmp_path;		/* QMP unix socket */
	const char *qmp_dir;		/* vmscope-qmp: where to look instead of /run/vmscope and $XDG_RUNTIME_DIR */
	int pid;			/* 0 = every VM */
	bool drilldown;			/* tracepoints: per-exit-reason children */
	bool per_vcpu;			/* split by vCPU where the source can */
	/* Which fields to open (NULL = all). Children "p(c)" are asked for by their full name. */
	bool (*want)(void *opaque, const char *name);
	void *want_opaque;
	/* One-line notices (a file that cannot be read, a fallback taken); may be NULL. */
	void (*notice)(void *opaque, const char *msg);
	void *notice_opaque;
};

struct dbgfs_provider_ops {
	const char *name;
	/* -errno and one line (what failed, why, how to fix) in why; vmscope-qmp returns how many
	 * guests it found. */
	int (*open)(const struct dbgfs_options *opt, void **state, char *why, size_t why_len);
	/* Appends the current cumulative counters. Values of vanished VMs just stop appearing. */
	int (*read)(void *state, struct dbgfs_samples *out);
	/* Fast: the expensive part of teardown may be left to the caller's process exit. */
	void (*close)(void *state);
	/* Every field name this provider can offer (for -f help), without opening counters. */
	int (*fields)(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len);
	/* Optional: waits until every counter the source opens in the background counts. */
	int (*settle)(void *state);
};

extern const struct dbgfs_provider_ops dbgfs_debugfs_provider;
extern const struct dbgfs_provider_ops dbgfs_tracepoint_provider;
extern const struct dbgfs_provider_ops dbgfs_qmp_provider;
/* "vmscope-qmp": every running vmscope guest's QMP socket (PID.qmp in /run/vmscope,
 * vmscope-PID.qmp in $XDG_RUNTIME_DIR), rescanned on each read; stale ones skipped quietly. */
extern const struct dbgfs_provider_ops dbgfs_vmscope_qmp_provider;

/* ---- tracefs event formats ---- */

struct dbgfs_symbol {
	int64_t value;
	char name[DBGFS_NAME_MAX];
};

struct dbgfs_symtab {
	char field[DBGFS_NAME_MAX];	/* the record field the table maps ("exit_reason") */
	struct dbgfs_symbol *sym;
	size_t n;
};

struct dbgfs_format {
	char system[DBGFS_NAME_MAX];	/* "kvm" */
	char name[DBGFS_NAME_MAX];	/* "kvm_exit" */
	int id;
	char fields[32][DBGFS_NAME_MAX];/* non-common fields */
	unsigned nr_fields;
	struct dbgfs_symtab tabs[4];	/* __print_symbolic tables, in order of appearance */
	unsigned nr_tabs;
};

/* Parses a tracefs "format" file's text. -EINVAL (no name/ID) or -E2BIG (too many tables). */
DBGFS_MUST_CHECK int dbgfs_format_parse(const char *text, struct dbgfs_format *f);
void dbgfs_format_free(struct dbgfs_format *f);
/* The symbol table for field in f (for kvm_exit with VMX and SVM tables, prefer_svm picks). */
const struct dbgfs_symtab *dbgfs_format_symtab(const struct dbgfs_format *f, const char *field, bool prefer_svm);

/* Built-in exit-reason tables (fallback when the kernel's format has none). */
enum dbgfs_exit_table { DBGFS_EXITS_VMX, DBGFS_EXITS_SVM, DBGFS_EXITS_USERSPACE };
const struct dbgfs_symtab *dbgfs_builtin_exits(enum dbgfs_exit_table which);
/* True when the CPU vendor (from cpuinfo text) is AMD/Hygon: the SVM table applies. */
bool dbgfs_cpu_is_svm(const char *cpuinfo_path);

/* ---- KVM binary statistics (KVM_GET_STATS_FD) ---- */

enum dbgfs_stat_type { DBGFS_STAT_CUMULATIVE, DBGFS_STAT_INSTANT, DBGFS_STAT_PEAK,
		       DBGFS_STAT_LINEAR_HIST, DBGFS_STAT_LOG_HIST };
enum dbgfs_stat_unit { DBGFS_UNIT_NONE, DBGFS_UNIT_BYTES, DBGFS_UNIT_SECONDS, DBGFS_UNIT_CYCLES,
		       DBGFS_UNIT_BOOLEAN };

struct dbgfs_stat_desc {
	char name[DBGFS_NAME_MAX];
	enum dbgfs_stat_type type;
	enum dbgfs_stat_unit unit;
	int base;		/* 10 or 2 */
	int exponent;
	unsigned size;		/* number of u64 values (1, or the histogram's buckets) */
	unsigned bucket_size;	/* linear histograms */
	uint32_t offset;	/* byte offset in the data block */
};

struct dbgfs_binstats {
	char id[64];
	unsigned nr;
	struct dbgfs_stat_desc *desc;
	uint32_t data_offset, data_size;	/* data block size in bytes */
	uint64_t *data;
};

/* Reads header + descriptors of a stats fd (pread only). Validation failures: -EBADMSG with
 * the reason in why (overlapping blocks, bad flags, size 0, offsets out of range, no NUL in name). */
DBGFS_MUST_CHECK int dbgfs_binstats_open(int fd, struct dbgfs_binstats *st, char *why, size_t why_len);
/* Re-reads the data block (one pread). */
DBGFS_MUST_CHECK int dbgfs_binstats_read(int fd, struct dbgfs_binstats *st);
void dbgfs_binstats_free(struct dbgfs_binstats *st);
const char *dbgfs_stat_type_name(enum dbgfs_stat_type t);	/* QEMU's names: "cumulative", ... */
const char *dbgfs_stat_unit_name(enum dbgfs_stat_unit u);	/* "bytes", "seconds", ... or NULL */

/* ---- JSON (enough for QMP) ---- */

enum dbgfs_json_type { DBGFS_JSON_NULL, DBGFS_JSON_BOOL, DBGFS_JSON_NUMBER, DBGFS_JSON_STRING,
		       DBGFS_JSON_ARRAY, DBGFS_JSON_OBJECT };

struct dbgfs_json {
	enum dbgfs_json_type type;
	bool b;
	double num;
	int64_t i;		/* numbers that are integers */
	bool is_int;
	char *str;		/* STRING; also the key of an object member */
	char *key;
	struct dbgfs_json *child, *next;	/* ARRAY / OBJECT members */
};

/* Parses exactly one JSON value (trailing whitespace allowed). -EINVAL and the offset of the
 * problem in *err_off on bad input; depth and size are bounded. */
DBGFS_MUST_CHECK int dbgfs_json_parse(const char *text, size_t len, struct dbgfs_json **out, size_t *err_off);
void dbgfs_json_free(struct dbgfs_json *j);
const struct dbgfs_json *dbgfs_json_get(const struct dbgfs_json *obj, const char *key);
const char *dbgfs_json_str(const struct dbgfs_json *obj, const char *key);	/* NULL if absent */
/* Appends s as a JSON string literal (quotes, escapes) to buf; returns the new length or -E2BIG. */
DBGFS_MUST_CHECK int dbgfs_json_quote(char *buf, size_t cap, size_t len, const char *s);

/* ---- QMP client (the qmp provider uses it; tests too) ---- */

struct dbgfs_qmp;
/* Connects, reads the greeting and negotiates capabilities. */
DBGFS_MUST_CHECK int dbgfs_qmp_connect(const char *path, struct dbgfs_qmp **out, char *why, size_t why_len);
/* Sends one command (a JSON object text) and returns the "return" member's parse tree, skipping
 * events. -EPROTO with the QMP error's desc in why. The caller frees *reply. */
DBGFS_MUST_CHECK int dbgfs_qmp_call(struct dbgfs_qmp *q, const char *cmd, struct dbgfs_json **reply,
				    char *why, size_t why_len);
/* The server process (SO_PEERCRED), 0 when unknown. */
int dbgfs_qmp_peer_pid(const struct dbgfs_qmp *q);
void dbgfs_qmp_close(struct dbgfs_qmp *q);

#endif
