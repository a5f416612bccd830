/* SPDX-License-Identifier: MIT */
/*
 * kvmstat's internals. The model (collect.c) and the text outputs (output.c) include no curses;
 * the view (ui.c) draws the model's rows and maps keys through a table.
 */
#ifndef VMSCOPE_KVMSTAT_H
#define VMSCOPE_KVMSTAT_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "debugfs/debugfs.h"

#define KVMSTAT_HIST 24
#define KVMSTAT_MAX_SRC 4
#define KVMSTAT_DEFAULT_DELAY 3.0

enum kvmstat_view { KVMSTAT_VIEW_EVENTS, KVMSTAT_VIEW_GUESTS, KVMSTAT_VIEW_VCPUS };
enum kvmstat_sort { KVMSTAT_SORT_RATE, KVMSTAT_SORT_TOTAL };
enum kvmstat_src_mask { KVMSTAT_SRC_DEBUGFS = 1, KVMSTAT_SRC_TRACEPOINTS = 2, KVMSTAT_SRC_QMP = 4,
			KVMSTAT_SRC_VMSCOPE = 8 /* every vmscope guest's QMP socket */ };

struct kvmstat_opts {
	bool once, log, csv, json, include_past, skip_zero, drilldown, per_vcpu;
	unsigned sources;		/* enum kvmstat_src_mask; 0 = pick what works */
	unsigned optional;		/* sources to add when they work (a vmscope guest's QMP socket) */
	const char *log_file, *fields, *guest, *qmp, *qmp_dir;
	const char *debugfs_root, *tracefs_root, *proc_root;
	int pid;
	unsigned count;			/* --count: intervals before exiting, 0 = forever */
	double delay;
	bool delay_set;
};

/* One aggregated row of the current view. */
struct kvmstat_row {
	char key[128];		/* event name, "pid N", "vcpuN", or "vcpuN/event" */
	char label[128];	/* what the view prints */
	int depth;		/* 0 parent, 1 child */
	bool live;		/* reported by the last read */
	uint64_t total;		/* since start or the last reset */
	uint64_t delta;		/* over the last interval */
	double rate;		/* delta / window */
	double window;		/* seconds the delta was counted: the interval, or less for a counter
				 * that began within it (a tracepoint opened in the background) */
	uint64_t raw, prev_raw, reset_base;
	float hist[KVMSTAT_HIST];	/* rates, oldest first */
	struct kvmstat_row *hnext;
};

struct kvmstat_series;

struct kvmstat_source {
	const struct dbgfs_provider_ops *ops;
	void *state;
	bool since_open;	/* counts start at 0 when opened (tracepoints): no baseline */
};

struct kvmstat_model {
	struct kvmstat_opts opt;
	struct dbgfs_options dopt;
	struct kvmstat_source src[KVMSTAT_MAX_SRC];
	int nr_src;
	char src_names[64];		/* "tracepoints+qmp" */
	regex_t re;
	bool has_re;
	char re_text[256];
	enum kvmstat_view view;
	enum kvmstat_sort sort;
	struct dbgfs_samples cur;
	struct kvmstat_series **stab;	/* hash of (name, pid, vcpu) */
	struct kvmstat_series *series;	/* all of them, newest first */
	unsigned row_gen;		/* bumped when the rows are rebuilt (series cache their row) */
	unsigned stab_size, nr_series;
	struct kvmstat_row **rows;	/* all rows of the view (hash by key) */
	struct kvmstat_row **rtab;
	unsigned rtab_size, nr_rows, cap_rows;
	struct kvmstat_row **shown;	/* sorted display order */
	unsigned nr_shown;
	double interval;		/* seconds of the last refresh */
	double last_time;
	unsigned refreshes;
	char exit_signal[DBGFS_NAME_MAX];	/* the event the Total row sums */
	int exit_k;				/* its index in the candidates */
	uint64_t exit_total, exit_delta;
	double exit_rate;
	bool guest_gone;
	char notice[256];
	void (*on_notice)(void *opaque, const char *msg);
	void *notice_opaque;
};

/* collect.c — the model */
int kvmstat_model_init(struct kvmstat_model *m, const struct kvmstat_opts *opt, char *why, size_t why_len);
int kvmstat_model_open(struct kvmstat_model *m, char *why, size_t why_len);
void kvmstat_model_close(struct kvmstat_model *m, bool fast);
void kvmstat_model_free(struct kvmstat_model *m);
int kvmstat_model_refresh(struct kvmstat_model *m, double now);
/* Waits until every source counts everything it will (tracepoints open most events in the
 * background after the first ones). */
void kvmstat_model_settle(struct kvmstat_model *m);
/* Builds m->shown for the view: hide_zero drops rows with total and delta 0. */
void kvmstat_model_sort(struct kvmstat_model *m, bool hide_zero);
int kvmstat_model_set_filter(struct kvmstat_model *m, const char *regex, char *why, size_t why_len);
int kvmstat_model_set_pid(struct kvmstat_model *m, int pid, char *why, size_t why_len);
int kvmstat_model_set_drilldown(struct kvmstat_model *m, bool on, char *why, size_t why_len);
void kvmstat_model_set_view(struct kvmstat_model *m, enum kvmstat_view v);
void kvmstat_model_reset(struct kvmstat_model *m);
bool kvmstat_model_is_wanted(const struct kvmstat_model *m, const char *name);
/* Every field name the open sources offer, sorted, unique. all: also the tracepoints' (-f help,
 * a log's columns); without it their rows stand for them. */
int kvmstat_model_fields(struct kvmstat_model *m, bool all, struct dbgfs_samples *out, char *why, size_t why_len);
/* The row of the current view with this key, or NULL. */
const struct kvmstat_row *kvmstat_model_row(const struct kvmstat_model *m, const char *key);
/* Checks a regex; 0 or -EINVAL with regerror's text. */
int kvmstat_regex_check(const char *text, char *why, size_t why_len);

/* guest.c — processes */
/* The guest name of a process: -name/--name from its cmdline ("guest=x,..." handled). */
int kvmstat_guest_name(const char *proc, int pid, char *out, size_t len);
bool kvmstat_pid_is_alive(const char *proc, int pid);
/* Pids of guest processes (not wrappers) named name; returns how many (up to max). */
int kvmstat_find_guests(const char *proc, const char *name, int *pids, int max);
/* Process ids of running VMs (processes holding /dev/kvm VM fds are not visible without root; we
 * list processes with a -name/--name or a "kvm-vm" fd): pids and names for the g/p prompt. */
int kvmstat_list_guests(const char *proc, int *pids, char names[][64], int max);

/* output.c — batch, log, CSV, JSON */
struct kvmstat_log {
	FILE *f;
	const char *path;	/* -L: reopened on SIGHUP */
	char **cols;
	unsigned nr_cols;
	unsigned *width;
	const struct kvmstat_row **rows;	/* the columns' rows (cached per row_gen) */
	unsigned row_gen, nr_rows;
	char *line;			/* one line, written at once */
	unsigned lines;
	bool csv, json, skip_zero;
};
void kvmstat_print_batch(struct kvmstat_model *m, FILE *f);
int kvmstat_log_init(struct kvmstat_log *l, struct kvmstat_model *m, char *why, size_t why_len);
int kvmstat_log_reopen(struct kvmstat_log *l, char *why, size_t why_len);
void kvmstat_log_line(struct kvmstat_log *l, struct kvmstat_model *m, const char *timestamp);
void kvmstat_log_free(struct kvmstat_log *l);
void kvmstat_print_json(struct kvmstat_model *m, FILE *f, const char *timestamp);
void kvmstat_timestamp(char *buf, size_t len);
void kvmstat_print_fields(const struct dbgfs_samples *fields, FILE *f);

/* ui.c — curses */
int kvmstat_ui_run(struct kvmstat_model *m);

/* main.c */
double kvmstat_now(void);

#endif
