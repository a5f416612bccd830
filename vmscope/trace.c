/* SPDX-License-Identifier: MIT */
/*
 * trace.c — the tracing module of vmscope: --trace, --trace-file, --trace-backend, --trace-log.
 * The handle (vs->trace) is created by the first of these options (or at attach) and started
 * when the VM is attached, so the gdb stub (`monitor trace`, vmscope_trace_gdb_monitor) and QMP
 * (trace-event-get-state, trace-event-set-state) turn events on and off at run time through it.
 */
#include <errno.h>
#include <string.h>

#include "gdbstub/gdbstub.h"
#include "tracing/trace.h"
#include "vmscope/vmscope.h"

#define OPT_TRACE 0x300
#define OPT_TRACE_FILE 0x301
#define OPT_TRACE_BACKEND 0x302
#define OPT_TRACE_LOG 0x303

static struct trace_handle *trace_module_handle(struct vmscope *vs)
{
	if (!vs->trace && trace_open(&vs->trace)) {
		fprintf(stderr, "%s: cannot set up tracing: out of memory\n", vs->prog);
		vs->trace = NULL;
	}
	return vs->trace;
}

static int opt_trace(struct vmscope *vs, const char *arg)
{
	struct trace_handle *h = trace_module_handle(vs);
	char why[512] = "";
	bool help = false;

	if (!h)
		return -1;
	if (trace_parse_option(h, arg, &help, why, sizeof(why)))
		return vmscope_usage_error(vs, "--trace '%s': %s", arg, why[0] ? why : "invalid");
	if (!help)
		return 0;
	printf("Events (enable with --trace PATTERN[,PATTERN], -PATTERN disables; * marks enabled):\n");
	trace_list_events(h, stdout);
	return 1;
}

static int opt_trace_file(struct vmscope *vs, const char *arg)
{
	struct trace_handle *h = trace_module_handle(vs);

	if (!h || trace_set_file(h, arg))
		return vmscope_usage_error(vs, "--trace-file '%s': cannot be used", arg);
	return 0;
}

static int opt_trace_backend(struct vmscope *vs, const char *arg)
{
	struct trace_handle *h = trace_module_handle(vs);
	char why[256] = "";

	if (!h || trace_set_backends(h, arg, why, sizeof(why)))
		return vmscope_usage_error(vs, "--trace-backend '%s': %s", arg, why);
	return 0;
}

static int opt_trace_log(struct vmscope *vs, const char *arg)
{
	struct trace_handle *h = trace_module_handle(vs);

	if (!h || trace_set_log_file(h, arg))
		return vmscope_usage_error(vs, "--trace-log '%s': cannot be used", arg);
	return 0;
}

static const struct vmscope_option trace_options[] = {
	{ "trace", OPT_TRACE, "PATTERN", "enable events by glob (a,b*,-c; events=FILE; help lists them)", opt_trace },
	{ "trace-file", OPT_TRACE_FILE, "FILE", "binary trace file (default vmscope-PID.vmt)", opt_trace_file },
	{ "trace-backend", OPT_TRACE_BACKEND, "LIST", "binary (default), log, ftrace, usdt; comma-separated", opt_trace_backend },
	{ "trace-log", OPT_TRACE_LOG, "FILE", "log backend output (default stderr)", opt_trace_log },
	{ NULL, 0, NULL, NULL, NULL },
};

/* With no --trace* option the handle still exists, idle: QMP trace-event-set-state or gdb's
 * monitor trace on starts it (and its file) when they first turn an event on. */
static int trace_module_attach(struct vmscope *vs, struct emu_vm *vm)
{
	char why[512] = "";
	bool asked = vs->trace != NULL;

	(void)vm;
	if (!trace_module_handle(vs))
		return VMSCOPE_EXIT_HOST;
	if (!asked) {
		trace_set_autostart(vs->trace, vs->argc, vs->argv);
		return 0;
	}
	if (trace_start(vs->trace, vs->argc, vs->argv, why, sizeof(why))) {
		fprintf(stderr, "%s: tracing: %s\n", vs->prog, why);
		return VMSCOPE_EXIT_HOST;
	}
	return 0;
}

void vmscope_trace_free(struct vmscope *vs)
{
	trace_close(vs->trace);
	vs->trace = NULL;
}

static void trace_module_detach(struct vmscope *vs, struct emu_vm *vm)
{
	(void)vm;
	vmscope_trace_free(vs);
}

int vmscope_trace_gdb_monitor(void *opaque, const char *args, struct gdb_out *out)
{
	struct vmscope *vs = opaque;
	char reply[4096];
	int rc;

	if (!vs->trace) {
		gdb_out_printf(out, "tracing is not available\n");
		return -ENODEV;
	}
	rc = trace_monitor_command(vs->trace, args, reply, sizeof(reply));
	gdb_out_printf(out, "%s", reply);
	return rc;
}

const struct vmscope_module vmscope_trace_module = {
	.name = "Tracing",
	.options = trace_options,
	.attach = trace_module_attach,
	.detach = trace_module_detach,
};
