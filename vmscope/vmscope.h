/* SPDX-License-Identifier: MIT */
/*
 * vmscope.h — the vmscope program's parts. The program is a list of modules (vmscope/main.c):
 * each contributes command-line options (a table) and hooks called at fixed points of a run.
 * core.c is the first module (kernel, memory, accelerator, serial); the gdb stub, tracing and
 * QMP each add one file and one line in main.c.
 */
#ifndef VMSCOPE_VMSCOPE_H
#define VMSCOPE_VMSCOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/emu.h"

struct trace_handle;

/* Process exit statuses. A guest's debug-exit status is (value << 1) | 1, always odd; vmscope's
 * own failures are even, so the two never collide. Documented in man/vmscope.1 (EXIT STATUS). */
enum vmscope_exit {
	VMSCOPE_EXIT_OK = 0,		/* asked to quit (QMP quit, gdb kill) */
	VMSCOPE_EXIT_USAGE = 2,		/* bad command line */
	VMSCOPE_EXIT_IMAGE = 4,		/* the kernel image cannot be read or loaded */
	VMSCOPE_EXIT_ACCEL = 6,		/* no usable accelerator, or the VM cannot be created */
	VMSCOPE_EXIT_SHUTDOWN = 8,	/* triple fault */
	VMSCOPE_EXIT_INTERNAL = 10,	/* backend internal error (KVM emulation failure, ...) */
	VMSCOPE_EXIT_FAIL_ENTRY = 12,	/* KVM refused to enter the guest: invalid state */
	VMSCOPE_EXIT_HALTED = 14,	/* hlt with interrupts disabled: the guest can never continue */
	VMSCOPE_EXIT_HOST = 16,		/* a host-side failure while running */
};

#define VMSCOPE_MAX_MODULES 16	/* --module / --initrd files */

enum vmscope_irqchip { VMSCOPE_IRQCHIP_AUTO = 0, VMSCOPE_IRQCHIP_ON, VMSCOPE_IRQCHIP_OFF };

/* Everything the command line decides, shared by every module. */
struct vmscope {
	struct emu_config cfg;
	const char *prog;
	const char *kernel;
	const char *append;
	const char *serial;		/* stdio | file:PATH | none */
	bool raw;			/* --load-addr given: raw binary */
	uint64_t load_addr, entry;
	bool entry_set;
	enum vmscope_irqchip irqchip;	/* --kernel-irqchip */
	enum vmscope_unpack { VMSCOPE_UNPACK_AUTO = 0, VMSCOPE_UNPACK_GUEST, VMSCOPE_UNPACK_HOST }
		linux_unpack;		/* --linux-decompress: who unpacks a bzImage's vmlinux */
	const char *modules[VMSCOPE_MAX_MODULES];
	unsigned nr_modules;
	struct emu_vm *vm;		/* after the VM is created */
	struct vmscope_gdb *gdb;	/* gdb.c's state, when -s or --gdb is given */
	void *image;			/* the --kernel file, kept for system_reset */
	size_t image_len;
	const struct vmscope_module *const *mods;	/* every module, for --help */
	unsigned nr_mods;
	int argc;			/* the command line, recorded in trace files */
	char **argv;
	struct trace_handle *trace;	/* tracing: set by --trace* options (vmscope/trace.c) */
};

/* One command-line option. val is the short option character, or a unique value >= 256. */
struct vmscope_option {
	const char *name;		/* long name, without "--" */
	int val;
	const char *arg;		/* argument name for --help, NULL for a flag */
	const char *help;
	/* 0, or -1 after printing a usage error; 1 means "done, exit 0" (--help, --version). */
	int (*handle)(struct vmscope *vs, const char *arg);
};

struct vmscope_module {
	const char *name;
	const struct vmscope_option *options;	/* terminated by a NULL name */
	/* After parsing: check option combinations. 0 or a VMSCOPE_EXIT_* status. */
	int (*configure)(struct vmscope *vs);
	/* VM created and loaded, vCPUs not started: attach (gdb stub, trace, QMP). */
	int (*attach)(struct vmscope *vs, struct emu_vm *vm);
	/* The guest is over, vCPU threads gone: release what attach took. */
	void (*detach)(struct vmscope *vs, struct emu_vm *vm);
};

extern const struct vmscope_module vmscope_core_module;
extern const struct vmscope_module vmscope_gdb_module;	/* gdb.c: -s, -S, --gdb */
extern const struct vmscope_module vmscope_trace_module;
/* gdb `monitor trace on|off PATTERN | list [PATTERN] | flush`: register with
 * gdb_server_add_monitor(srv, "trace", help, vmscope_trace_gdb_monitor, vs). */
struct gdb_out;
int vmscope_trace_gdb_monitor(void *opaque, const char *args, struct gdb_out *out);
/* Frees a trace handle the options made when the run never attached it (idempotent). */
void vmscope_trace_free(struct vmscope *vs);
extern const struct vmscope_module vmscope_qmp_module;	/* qmp.c: --qmp */

/* options.c: getopt_long over every module's table. 0, 1 (exit 0) or VMSCOPE_EXIT_USAGE. */
int vmscope_parse(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr, int argc,
		  char **argv);
void vmscope_usage(const struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr, FILE *out);
/* Prints "vmscope: <message>" and "Try 'vmscope --help'." on stderr; returns -1. */
int vmscope_usage_error(const struct vmscope *vs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Numbers: sizes with K/M/G/T suffixes (default unit: MiB as in QEMU), integers, addresses. */
int vmscope_parse_size(const char *s, uint64_t default_unit, uint64_t *out);
int vmscope_parse_u64(const char *s, uint64_t *out);

/* core.c: the run itself. */
int vmscope_run(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr);

#endif
