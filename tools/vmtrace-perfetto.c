/* SPDX-License-Identifier: MIT */
/*
 * vmtrace-perfetto.c — Chrome trace-event JSON ("JSON Object Format"), which ui.perfetto.dev and
 * chrome://tracing load. One track per vCPU (tid = vCPU, "host" threads on tid 1000000); every
 * record is an instant event with its arguments; the pairs in vmtrace_slices become slices.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "tools/vmtrace-local.h"

#define VMTRACE_HOST_TID 1000000u

/* Events that open and close a slice on their vCPU's track. */
static const struct {
	const char *begin, *end, *slice;
} vmtrace_slices[] = {
	{ "vcpu_run", "vcpu_exit", "guest" },
};

static void vmtrace_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);	/* bytes as Latin-1: always valid JSON */
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void vmtrace_json_args(FILE *out, const struct trace_event_desc *d, const struct trace_record *rec)
{
	fputs("\"args\":{", out);
	for (unsigned a = 0; a < d->nargs; a++) {
		fprintf(out, "%s", a ? "," : "");
		vmtrace_json_string(out, d->arg_names[a]);
		fputc(':', out);
		if (d->arg_types[a] == TRACE_T_STR)
			vmtrace_json_string(out, rec->strs[a] ? rec->strs[a] : "");
		else if (trace_type_is_signed(d->arg_types[a]))
			fprintf(out, "%" PRId64, (int64_t)rec->vals[a]);
		else if (rec->vals[a] > (1ull << 53))	/* beyond a double's exact range: keep it exact */
			fprintf(out, "\"0x%" PRIx64 "\"", rec->vals[a]);
		else
			fprintf(out, "%" PRIu64, rec->vals[a]);
	}
	fputc('}', out);
}

/* -1 none, else 2*i for a begin, 2*i+1 for an end of vmtrace_slices[i]. */
static int vmtrace_slice_role(const char *name)
{
	for (size_t i = 0; i < sizeof(vmtrace_slices) / sizeof(vmtrace_slices[0]); i++) {
		if (!strcmp(name, vmtrace_slices[i].begin))
			return (int)(2 * i);
		if (!strcmp(name, vmtrace_slices[i].end))
			return (int)(2 * i + 1);
	}
	return -1;
}

static void vmtrace_json_event(FILE *out, const struct vmtrace_file *vf, const struct trace_record *rec, bool *first,
			       uint8_t *open_slices)
{
	const struct trace_event_desc *d = trace_reader_event(vf->r, rec->event);
	unsigned tid = rec->vcpu == TRACE_VCPU_NONE ? VMTRACE_HOST_TID : rec->vcpu;
	double us = (double)(rec->ts > vf->base_ns ? rec->ts - vf->base_ns : 0) / 1000.0;
	int role = vmtrace_slice_role(d->name);
	uint8_t *open = rec->vcpu < 256 ? &open_slices[rec->vcpu] : NULL;
	if (role >= 0 && open && (role & 1) == 0 && !*open) {
		fprintf(out, "%s\n{\"name\":\"%s\",\"cat\":\"vmscope\",\"ph\":\"B\",\"ts\":%.3f,\"pid\":%u,\"tid\":%u}",
			*first ? "" : ",", vmtrace_slices[role / 2].slice, us, vf->info.pid, tid);
		*open = 1;
		*first = false;
	}
	fprintf(out, "%s\n{\"name\":", *first ? "" : ",");
	vmtrace_json_string(out, d->name);
	fprintf(out, ",\"cat\":\"vmscope\",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,\"pid\":%u,\"tid\":%u,", us, vf->info.pid, tid);
	vmtrace_json_args(out, d, rec);
	fputc('}', out);
	*first = false;
	if (role >= 0 && open && (role & 1) == 1 && *open) {
		fprintf(out, ",\n{\"name\":\"%s\",\"cat\":\"vmscope\",\"ph\":\"E\",\"ts\":%.3f,\"pid\":%u,\"tid\":%u}",
			vmtrace_slices[role / 2].slice, us, vf->info.pid, tid);
		*open = 0;
	}
}

static void vmtrace_json_thread_names(FILE *out, const struct vmtrace_file *vf, const uint8_t *seen, bool *first)
{
	for (unsigned v = 0; v < 256; v++)
		if (seen[v]) {
			fprintf(out, "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":\"vCPU %u\"}}",
				*first ? "" : ",", vf->info.pid, v, v);
			*first = false;
		}
	fprintf(out, "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":\"host\"}}",
		*first ? "" : ",", vf->info.pid, VMTRACE_HOST_TID);
	fprintf(out, ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,\"args\":{\"name\":", vf->info.pid);
	vmtrace_json_string(out, vf->info.cmdline[0] ? vf->info.cmdline : "vmscope");
	fputs("}}", out);
}

int vmtrace_cmd_perfetto(struct vmtrace_file *vf, FILE *out)
{
	uint8_t open_slices[256] = { 0 }, seen[256] = { 0 };
	bool first = true;
	int rc = 0;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", out);
	for (size_t i = 0; i < vf->n && !rc; i++) {
		struct trace_record rec;
		rc = vmtrace_get(vf, i, &rec);
		if (rc)
			break;
		if (rec.vcpu < 256)
			seen[rec.vcpu] = 1;
		vmtrace_json_event(out, vf, &rec, &first, open_slices);
	}
	vmtrace_json_thread_names(out, vf, seen, &first);
	fputs("\n]}\n", out);
	return rc;
}
