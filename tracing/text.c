/* SPDX-License-Identifier: MIT */
/*
 * text.c — the text backends. log: one line per event, QEMU's log-backend shape
 * "PID@SEC.USEC:name args", to stderr or a file. ftrace: the same text (without the prefix) written
 * to tracefs trace_marker, so the events interleave with the kernel's kvm:* events. tracefs is
 * found in /proc/self/mountinfo; when it is missing or not writable the backend says so in one
 * line and is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tracing/trace-local.h"

#define TRACE_MOUNTINFO "/proc/self/mountinfo"

/* The tracefs mount point (or debugfs + "/tracing"), from mountinfo. */
static int trace_find_tracefs(char *out, size_t len)
{
	char line[1024], debugfs[512] = "";
	FILE *f = fopen(TRACE_MOUNTINFO, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[512], fstype[64];
		const char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (!strcmp(fstype, "tracefs")) {
			snprintf(out, len, "%s", mnt);
			fclose(f);
			return 0;
		}
		if (!strcmp(fstype, "debugfs") && !debugfs[0])
			snprintf(debugfs, sizeof(debugfs), "%s", mnt);
	}
	fclose(f);
	if (!debugfs[0])
		return -ENOENT;
	snprintf(out, len, "%s/tracing", debugfs);
	return 0;
}

static void trace_ftrace_open(struct trace_handle *h)
{
	char dir[512], path[600];
	int rc = 0;
	if (h->tracefs_dir)
		snprintf(dir, sizeof(dir), "%s", h->tracefs_dir);
	else
		rc = trace_find_tracefs(dir, sizeof(dir));
	if (rc) {
		fprintf(stderr, "vmscope: ftrace trace backend skipped: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/trace_marker", dir);
	h->marker_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (h->marker_fd < 0)
		fprintf(stderr, "vmscope: ftrace trace backend skipped: %s: %s\n", path, strerror(errno));
}

int trace_text_open(struct trace_handle *h, char *why, size_t why_len)
{
	if (h->backends & TRACE_BACKEND_FTRACE)
		trace_ftrace_open(h);
	if (!(h->backends & TRACE_BACKEND_LOG))
		return 0;
	if (!h->log_path || !strcmp(h->log_path, "-")) {
		h->log = stderr;
		return 0;
	}
	h->log = fopen(h->log_path, "we");
	if (!h->log) {
		int e = errno;
		snprintf(why, why_len, "trace log %s: %s", h->log_path, strerror(e));
		return -e;
	}
	h->log_owned = true;
	return 0;
}

void trace_emit_text(struct trace_handle *h, struct trace_group *g, unsigned local_id, const char *fmt, ...)
{
	char text[1024], line[1200];
	const char *name = g->events[local_id].name;
	int vcpu = trace_tls.vcpu;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (h->log) {
		uint64_t rel = trace_now_ns() - h->start_mono;
		int n = snprintf(line, sizeof(line), "%d@%llu.%06llu:%s %s\n", h->pid,
				 (unsigned long long)(rel / 1000000000u), (unsigned long long)(rel % 1000000000u / 1000),
				 name, text);
		fwrite(line, 1, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1, h->log);
	}
	if (h->marker_fd >= 0) {
		int n = vcpu < 0 ? snprintf(line, sizeof(line), "vmscope: %s %s\n", name, text)
				 : snprintf(line, sizeof(line), "vmscope: vcpu%d %s %s\n", vcpu, name, text);
		if (write(h->marker_fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0) {
			/* tracefs refused (buffer off, instance gone): nothing sensible to do per event */
		}
	}
}

void trace_text_close(struct trace_handle *h)
{
	if (h->log)
		fflush(h->log);
	if (h->log_owned)
		fclose(h->log);
	h->log = NULL;
	h->log_owned = false;
	if (h->marker_fd >= 0)
		close(h->marker_fd);
	h->marker_fd = -1;
}
