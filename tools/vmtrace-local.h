/* SPDX-License-Identifier: MIT */
/* vmtrace-local.h — shared by the vmtrace subcommands. */
#ifndef VMSCOPE_TOOLS_VMTRACE_LOCAL_H
#define VMSCOPE_TOOLS_VMTRACE_LOCAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "tracing/trace.h"

/* Selection shared by every subcommand. */
struct vmtrace_filter {
	const char *events;	/* comma-separated globs; "-glob" excludes */
	int vcpu;		/* -1: all */
	uint64_t from_ns, to_ns;	/* relative to the trace start; to_ns 0: no limit */
};

struct vmtrace_ref {
	uint64_t ts;
	uint64_t offset;
};

/* A trace file opened, filtered and sorted by time. */
struct vmtrace_file {
	struct trace_reader *r;
	struct trace_file_info info;
	struct vmtrace_ref *refs;
	size_t n;
	bool damaged;		/* decoding stopped early (the message was printed) */
	uint64_t base_ns;	/* time 0 for printing */
};

int vmtrace_load(const char *path, const struct vmtrace_filter *f, struct vmtrace_file *out);
void vmtrace_unload(struct vmtrace_file *vf);
/* Decodes refs[i] again (0, or -EINVAL with the reader's message printed). */
int vmtrace_get(struct vmtrace_file *vf, size_t i, struct trace_record *rec);
const char *vmtrace_event_name(const struct vmtrace_file *vf, unsigned id);

int vmtrace_cmd_perfetto(struct vmtrace_file *vf, FILE *out);
int vmtrace_cmd_profile(struct vmtrace_file *vf, const char *elf, const char *symbols, const char *arg,
			unsigned top, FILE *out);

#endif
