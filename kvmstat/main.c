/* SPDX-License-Identifier: MIT */
/* kvmstat: a top-like monitor of KVM exits and statistics (kvm_stat's options and keys). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmstat/kvmstat.h"

enum { OPT_JSON = 256, OPT_COUNT, OPT_QMP, OPT_QMP_DIR, OPT_DEBUGFS_ROOT, OPT_TRACEFS_ROOT, OPT_PROC_ROOT, OPT_VCPUS };

/* One table drives getopt and --help. */
struct kvmstat_optdef {
	const char *name;
	int has_arg;
	int val;
	const char *arg, *help;
};
static const struct kvmstat_optdef kvmstat_optdefs[] = {
	{ "once", 0, '1', NULL, "print one batch of counters after one interval and exit (also --batch)" },
	{ "batch", 0, '1', NULL, NULL },
	{ "csv", 0, 'c', NULL, "log in CSV format (needs -l or -L)" },
	{ "debugfs", 0, 'd', NULL, "use the debugfs counters (<debugfs>/kvm)" },
	{ "fields", 1, 'f', "REGEX", "show fields matching REGEX (unanchored POSIX ERE); \"-f help\" lists them" },
	{ "guest", 1, 'g', "NAME", "restrict to the guest named NAME (-name/--name on its command line)" },
	{ "help", 0, 'h', NULL, "show this help" },
	{ "debugfs-include-past", 0, 'i', NULL, "debugfs and QMP: include events from before kvmstat started" },
	{ "log", 0, 'l', NULL, "log one line of deltas per interval to stdout" },
	{ "log-to-file", 1, 'L', "FILE", "like -l, appending to FILE (reopened on SIGHUP)" },
	{ "pid", 1, 'p', "PID", "restrict to the VM process PID" },
	{ "set-delay", 1, 's', "SECONDS", "refresh/log interval, 0.1 to 25.5 (default 3.0; -1 uses 1.0)" },
	{ "tracepoints", 0, 't', NULL, "use the kvm tracepoints (perf_event_open)" },
	{ "drilldown", 0, 'x', NULL, "show per-exit-reason children (key x)" },
	{ "skip-zero-records", 0, 'z', NULL, "omit log lines whose deltas are all zero (needs -l or -L)" },
	{ "vcpus", 0, OPT_VCPUS, NULL, "start in the per-vCPU view (key v)" },
	{ "json", 0, OPT_JSON, NULL, "print one JSON object per interval" },
	{ "count", 1, OPT_COUNT, "N", "stop after N intervals (-l, -L, --json)" },
	{ "qmp", 1, OPT_QMP, "PATH", "read query-stats from the QMP socket PATH (QEMU or vmscope)" },
	{ "qmp-dir", 1, OPT_QMP_DIR, "DIR", "find vmscope guests' QMP sockets in DIR (default /run/vmscope, $XDG_RUNTIME_DIR)" },
	{ "debugfs-root", 1, OPT_DEBUGFS_ROOT, "DIR", "debugfs mount to read instead of the mounted one" },
	{ "tracefs-root", 1, OPT_TRACEFS_ROOT, "DIR", "tracefs mount to read instead of the mounted one" },
	{ "proc-root", 1, OPT_PROC_ROOT, "DIR", "procfs to read instead of /proc" },
};
#define KVMSTAT_NR_OPTS (sizeof(kvmstat_optdefs) / sizeof(kvmstat_optdefs[0]))

static volatile sig_atomic_t kvmstat_quit, kvmstat_hup;

double kvmstat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void kvmstat_usage(FILE *f)
{
	fprintf(f, "Usage: kvmstat [OPTION]...\n"
		   "Monitor KVM exits and statistics of the VMs on this host, like kvm_stat.\n\n");
	for (size_t i = 0; i < KVMSTAT_NR_OPTS; i++) {
		const struct kvmstat_optdef *o = &kvmstat_optdefs[i];
		char left[64];

		if (!o->help)
			continue;
		if (o->val < 128)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-30s %s\n", left, o->help);
	}
	fprintf(f, "\nSources: with none of -d, -t, --qmp, tracepoints are used, else debugfs; the one in use is\n"
		   "named on stderr and in the status line. Tracepoints need root (or CAP_PERFMON) and tracefs\n"
		   "(mount -t tracefs none /sys/kernel/tracing); debugfs needs debugfs mounted and readable\n"
		   "(kernel lockdown forbids it). Without -p, -g, --qmp, -d or -t, every running vmscope guest's\n"
		   "QMP socket is read too (vmscope-qmp: its own exact counters, per guest). The exit\n"
		   "tracepoints count from the start; the others open in the background and appear once they\n"
		   "count (their first rate is over the time they counted; -1 and logs wait for them).\n"
		   "A field with no counter behind it prints \"-\". Interactive keys: h.\n"
		   "Environment: NO_COLOR disables colours.\n");
}

static int __attribute__((format(printf, 2, 3))) kvmstat_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmstat: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static int kvmstat_parse_delay(const char *s, double *out)
{
	char *end;
	double d = strtod(s, &end);

	if (end == s || *end)
		return kvmstat_fail(2, "\"%s\": the delay must be a number of seconds", s);
	if (d < 0.1)
		return kvmstat_fail(2, "\"%s\": the delay must be >= 0.1", s);
	if (d > 25.5)
		return kvmstat_fail(2, "\"%s\": the delay must be <= 25.5", s);
	*out = d;
	return 0;
}

static int kvmstat_parse_pid(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v <= 0 || v > INT_MAX)
		return kvmstat_fail(2, "\"%s\": not a process id", s);
	*out = (int)v;
	return 0;
}

static int kvmstat_parse_count(const char *s, unsigned *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v <= 0 || v > 1000000000)
		return kvmstat_fail(2, "\"%s\": the count must be a positive number", s);
	*out = (unsigned)v;
	return 0;
}

static int kvmstat_apply(struct kvmstat_opts *o, int c, const char *arg)
{
	switch (c) {
	case '1': o->once = true; return 0;
	case 'c': o->csv = true; return 0;
	case 'd': o->sources |= KVMSTAT_SRC_DEBUGFS; return 0;
	case 'f': o->fields = arg; return 0;
	case 'g': o->guest = arg; return 0;
	case 'i': o->include_past = true; return 0;
	case 'l': o->log = true; return 0;
	case 'L': o->log_file = arg; return 0;
	case 'p': return kvmstat_parse_pid(arg, &o->pid);
	case 's': o->delay_set = true; return kvmstat_parse_delay(arg, &o->delay);
	case 't': o->sources |= KVMSTAT_SRC_TRACEPOINTS; return 0;
	case 'x': o->drilldown = true; return 0;
	case 'z': o->skip_zero = true; return 0;
	case OPT_VCPUS: o->per_vcpu = true; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_COUNT: return kvmstat_parse_count(arg, &o->count);
	case OPT_QMP: o->qmp = arg; return 0;
	case OPT_QMP_DIR: o->qmp_dir = arg; return 0;
	case OPT_DEBUGFS_ROOT: o->debugfs_root = arg; return 0;
	case OPT_TRACEFS_ROOT: o->tracefs_root = arg; return 0;
	case OPT_PROC_ROOT: o->proc_root = arg; return 0;
	default: return 2;
	}
}

static int kvmstat_parse(int argc, char **argv, struct kvmstat_opts *o)
{
	struct option lo[KVMSTAT_NR_OPTS + 1];
	int c, ret;

	memset(lo, 0, sizeof(lo));
	for (size_t i = 0; i < KVMSTAT_NR_OPTS; i++)
		lo[i] = (struct option){ kvmstat_optdefs[i].name, kvmstat_optdefs[i].has_arg, NULL, kvmstat_optdefs[i].val };
	o->delay = KVMSTAT_DEFAULT_DELAY;
	while ((c = getopt_long(argc, argv, "1cdf:g:hilL:p:s:txz", lo, NULL)) != -1) {
		if (c == 'h') {
			kvmstat_usage(stdout);
			exit(0);
		}
		if (c == '?') {
			fprintf(stderr, "Try 'kvmstat --help'.\n");
			return 2;
		}
		ret = kvmstat_apply(o, c, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc)
		return kvmstat_fail(2, "unexpected argument \"%s\"", argv[optind]);
	if (o->csv && !o->log && !o->log_file)
		return kvmstat_fail(2, "option -c/--csv requires -l/--log or -L/--log-to-file");
	if (o->skip_zero && !o->log && !o->log_file)
		return kvmstat_fail(2, "option -z/--skip-zero-records requires -l/--log or -L/--log-to-file");
	if (o->pid && o->guest)
		return kvmstat_fail(2, "options -p/--pid and -g/--guest exclude each other");
	if (o->fields && strcmp(o->fields, "help") != 0) {
		char why[256];

		if (kvmstat_regex_check(o->fields, why, sizeof(why)) < 0)
			return kvmstat_fail(2, "%s", why);
	}
	return 0;
}

/* -g NAME -> pid; -p PID must exist. */
static int kvmstat_resolve_target(struct kvmstat_opts *o)
{
	int pids[8], n;

	if (o->pid && !kvmstat_pid_is_alive(o->proc_root, o->pid)) {
		fprintf(stderr, "kvmstat: pid %d does not exist (a thread id? use the process id)\n", o->pid);
		return 1;
	}
	if (!o->guest)
		return 0;
	n = kvmstat_find_guests(o->proc_root, o->guest, pids, 8);
	if (n < 0)
		return kvmstat_fail(1, "cannot search for guest \"%s\"; use -p PID instead", o->guest);
	if (n == 0)
		return kvmstat_fail(1, "no guest named \"%s\" found (-name/--name on a running emulator)", o->guest);
	if (n > 1) {
		fprintf(stderr, "kvmstat: several guests named \"%s\" (pids:", o->guest);
		for (int i = 0; i < n; i++)
			fprintf(stderr, " %d", pids[i]);
		fprintf(stderr, "); use -p PID\n");
		return 1;
	}
	o->pid = pids[0];
	return 0;
}

/* A vmscope guest's QMP socket (its own exact counters): /run/vmscope/PID.qmp or
 * $XDG_RUNTIME_DIR/vmscope-PID.qmp. Used next to the other sources when -p/-g names it; without
 * -p, -g, --qmp or an explicit source, every running guest's socket is read. */
static void kvmstat_find_vmscope_qmp(struct kvmstat_opts *o, char *path, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (!o->qmp && !o->pid && !o->sources) {	/* every guest's, next to the host-wide source */
		o->optional |= KVMSTAT_SRC_VMSCOPE;
		return;
	}
	if (o->qmp || !o->pid)
		return;
	snprintf(path, len, "%s/%d.qmp", o->qmp_dir ? o->qmp_dir : dbgfs_default_vmscope_run, o->pid);
	if (access(path, W_OK) != 0 && xdg && *xdg)
		snprintf(path, len, "%s/vmscope-%d.qmp", xdg, o->pid);
	if (access(path, W_OK) != 0)
		return;
	o->qmp = path;
	o->optional |= KVMSTAT_SRC_QMP;
}

/* Default roots from the mount table; a note when a filesystem is not mounted at all. */
static void kvmstat_find_roots(struct kvmstat_opts *o, char *dbg, char *trc, size_t len)
{
	if (!o->debugfs_root && dbgfs_find_mount(dbgfs_default_mountinfo, "debugfs", dbg, len) == 0)
		o->debugfs_root = dbg;
	if (!o->tracefs_root && dbgfs_find_tracefs(dbgfs_default_mountinfo, trc, len) == 0)
		o->tracefs_root = trc;
	if (!o->debugfs_root && (o->sources & KVMSTAT_SRC_DEBUGFS))
		fprintf(stderr, "kvmstat: debugfs is not mounted; %s\n", dbgfs_mount_hint("debugfs"));
	if (!o->tracefs_root && (o->sources & KVMSTAT_SRC_TRACEPOINTS || !o->sources))
		fprintf(stderr, "kvmstat: tracefs is not mounted; %s\n", dbgfs_mount_hint("tracefs"));
}

static void kvmstat_on_signal(int sig)
{
	if (sig == SIGHUP)
		kvmstat_hup = 1;
	else
		kvmstat_quit = 1;
}

static void kvmstat_signals(bool hup)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvmstat_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (hup)
		sigaction(SIGHUP, &sa, NULL);
}

/* Sleeps until the deadline or a signal. */
static void kvmstat_sleep_until(double deadline)
{
	double left;

	while (!kvmstat_quit && !kvmstat_hup && (left = deadline - kvmstat_now()) > 0) {
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

static void kvmstat_stderr_notice(void *opaque, const char *msg)
{
	fprintf(stderr, "kvmstat: %s\n", msg);
}

static int kvmstat_run_batch(struct kvmstat_model *m)
{
	double delay = m->opt.delay_set ? m->opt.delay : 1.0;
	int ret = kvmstat_model_refresh(m, kvmstat_now());

	if (ret >= 0) {
		double end = kvmstat_now() + delay;

		/* with -p, a process that ends early has final counts: print them right away */
		while (!kvmstat_quit && kvmstat_now() < end &&
		       (!m->opt.pid || kvmstat_pid_is_alive(m->opt.proc_root, m->opt.pid)))
			kvmstat_sleep_until(m->opt.pid && end - kvmstat_now() > 0.05 ? kvmstat_now() + 0.05 : end);
		kvmstat_model_settle(m);
		ret = kvmstat_model_refresh(m, kvmstat_now());
	}
	if (m->opt.json) {
		char ts[64];

		kvmstat_timestamp(ts, sizeof(ts));
		kvmstat_model_sort(m, false);
		kvmstat_print_json(m, stdout, ts);
	} else {
		kvmstat_print_batch(m, stdout);
	}
	return ret < 0 && ret != -ESRCH ? 1 : 0;
}

/* --count: true while more intervals are wanted */
static bool kvmstat_more(const struct kvmstat_model *m, unsigned *done)
{
	return !m->opt.count || (*done)++ < m->opt.count;
}

static int kvmstat_run_log(struct kvmstat_model *m)
{
	struct kvmstat_log l = { .f = stdout, .path = m->opt.log_file, .csv = m->opt.csv, .skip_zero = m->opt.skip_zero };
	char why[512], ts[64];
	int ret;
	unsigned done = 0;
	double next;

	if (l.path)
		l.f = NULL;
	ret = kvmstat_model_refresh(m, kvmstat_now());
	next = kvmstat_now() + m->opt.delay;
	kvmstat_model_settle(m);	/* every column counts before the header is printed */
	if (ret >= 0)
		ret = kvmstat_log_init(&l, m, why, sizeof(why));
	if (ret < 0) {
		fprintf(stderr, "kvmstat: %s\n", ret == -ENOMEM ? strerror(ENOMEM) : why);
		kvmstat_log_free(&l);
		return 1;
	}
	for (; !kvmstat_quit && kvmstat_more(m, &done); next += m->opt.delay) {
		kvmstat_sleep_until(next);
		if (kvmstat_hup) {
			kvmstat_hup = 0;
			if (kvmstat_log_reopen(&l, why, sizeof(why)) < 0)
				fprintf(stderr, "kvmstat: %s\n", why);
			next -= m->opt.delay;
			continue;
		}
		if (kvmstat_quit)
			break;
		kvmstat_model_refresh(m, kvmstat_now());
		kvmstat_timestamp(ts, sizeof(ts));
		kvmstat_log_line(&l, m, ts);
	}
	kvmstat_log_free(&l);
	return 0;
}

static int kvmstat_run_json(struct kvmstat_model *m)
{
	char ts[64];
	double next = kvmstat_now() + m->opt.delay;
	unsigned done = 0;

	kvmstat_model_refresh(m, kvmstat_now());
	for (; !kvmstat_quit && kvmstat_more(m, &done); next += m->opt.delay) {
		kvmstat_sleep_until(next);
		if (kvmstat_quit)
			break;
		kvmstat_model_refresh(m, kvmstat_now());
		kvmstat_model_sort(m, true);
		kvmstat_timestamp(ts, sizeof(ts));
		kvmstat_print_json(m, stdout, ts);
	}
	return 0;
}

static int kvmstat_field_help(struct kvmstat_model *m)
{
	struct dbgfs_samples f = { 0 };
	char why[512];
	int ret = kvmstat_model_fields(m, true, &f, why, sizeof(why));

	if (ret < 0) {
		fprintf(stderr, "kvmstat: %s\n", why);
		return 1;
	}
	kvmstat_print_fields(&f, stdout);
	dbgfs_samples_free(&f);
	return 0;
}

static int kvmstat_main(struct kvmstat_opts *o)
{
	struct kvmstat_model m;
	char why[512];
	int ret, status;
	bool help = o->fields && strcmp(o->fields, "help") == 0;
	bool interactive = !o->once && !o->log && !o->log_file && !o->json;

	if (help)
		o->fields = NULL;
	if (kvmstat_model_init(&m, o, why, sizeof(why)) < 0)
		return kvmstat_fail(2, "%s", why);
	if (!interactive || help)
		m.on_notice = kvmstat_stderr_notice;
	if (o->per_vcpu)
		m.view = KVMSTAT_VIEW_VCPUS;
	ret = kvmstat_model_open(&m, why, sizeof(why));
	if (ret < 0) {
		kvmstat_model_free(&m);
		return kvmstat_fail(1, "%s", why);
	}
	if (!help)
		fprintf(stderr, "kvmstat: reading %s%s\n", m.src_names, interactive ? "" : "");
	kvmstat_signals(o->log_file != NULL);
	if (help)
		status = kvmstat_field_help(&m);
	else if (o->once)
		status = kvmstat_run_batch(&m);
	else if (o->log || o->log_file)
		status = kvmstat_run_log(&m);
	else if (o->json)
		status = kvmstat_run_json(&m);
	else
		status = kvmstat_ui_run(&m);
	fflush(stdout);
	kvmstat_model_close(&m, true);
	kvmstat_model_free(&m);
	return status;
}

int main(int argc, char **argv)
{
	struct kvmstat_opts o;
	char dbg[PATH_MAX], trc[PATH_MAX], qmp[PATH_MAX];
	int ret;

	memset(&o, 0, sizeof(o));
	ret = kvmstat_parse(argc, argv, &o);
	if (ret)
		return ret;
	ret = kvmstat_resolve_target(&o);
	if (ret)
		return ret;
	kvmstat_find_roots(&o, dbg, trc, sizeof(dbg));
	kvmstat_find_vmscope_qmp(&o, qmp, sizeof(qmp));
	return kvmstat_main(&o);
}
