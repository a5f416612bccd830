/* SPDX-License-Identifier: MIT */
/*
 * vmscope — run a guest on KVM or the x86 interpreter with its serial console on stdout.
 *
 * The program is a list of modules, each with its own options and hooks (vmscope/vmscope.h).
 * To add one (gdb stub, tracing, QMP): write vmscope/NAME.c defining vmscope_NAME_module,
 * declare it in vmscope.h and add one line to vmscope_modules below.
 */
#include <stdlib.h>

#include "vmscope/vmscope.h"

static const struct vmscope_module *const vmscope_modules[] = {
	&vmscope_core_module,
	&vmscope_trace_module,
	&vmscope_gdb_module,	/* after trace: its detach tells gdb the exit while tracing still runs */
	&vmscope_qmp_module,
};

int main(int argc, char **argv)
{
	struct vmscope vs = {
		.cfg = { .accel = EMU_ACCEL_AUTO, .ram_size = 128ull << 20, .nr_vcpus = 1,
			 .serial_out_fd = 1, .serial_in_fd = -1 },
		.prog = "vmscope",
		.mods = vmscope_modules,
		.nr_mods = sizeof(vmscope_modules) / sizeof(vmscope_modules[0]),
		.argc = argc,
		.argv = argv,
	};
	int r = vmscope_parse(&vs, vs.mods, vs.nr_mods, argc, argv);

	if (r)
		r = r == 1 ? EXIT_SUCCESS : r;
	else
		r = vmscope_run(&vs, vs.mods, vs.nr_mods);
	vmscope_trace_free(&vs);	/* options may have made a trace handle that was never attached */
	return r;
}
