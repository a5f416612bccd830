/* SPDX-License-Identifier: MIT */
/*
 * core.c — vmscope's own options (image, memory, accelerator, serial) and the run: create the
 * VM, load the image, attach every module, start, wait, report how the guest ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/loader/loader.h"
#include "vmscope/vmscope.h"

#ifndef VMSCOPE_VERSION
#define VMSCOPE_VERSION "0.1"
#endif

#define OPT_ACCEL 256
#define OPT_KERNEL 257
#define OPT_APPEND 258
#define OPT_SMP 259
#define OPT_NAME 260
#define OPT_SERIAL 261
#define OPT_LOAD_ADDR 262
#define OPT_ENTRY 263
#define OPT_MODULE 264
#define OPT_KERNEL_IRQCHIP 265
#define OPT_CLOCK 266
#define OPT_LINUX_DECOMPRESS 267

/* ---- option handlers ---- */

static const struct {
	const char *name;
	enum emu_accel_kind kind;
} core_accels[] = {
	{ "auto", EMU_ACCEL_AUTO },
	{ "kvm", EMU_ACCEL_KVM },
	{ "interp", EMU_ACCEL_INTERP },
};

static int opt_accel(struct vmscope *vs, const char *arg)
{
	for (size_t i = 0; i < sizeof(core_accels) / sizeof(core_accels[0]); i++) {
		if (strcmp(arg, core_accels[i].name) == 0) {
			vs->cfg.accel = core_accels[i].kind;
			return 0;
		}
	}
	return vmscope_usage_error(vs, "--accel '%s': expected kvm, interp or auto", arg);
}

static int opt_kernel(struct vmscope *vs, const char *arg) { vs->kernel = arg; return 0; }
static int opt_append(struct vmscope *vs, const char *arg) { vs->append = arg; return 0; }
static int opt_name(struct vmscope *vs, const char *arg) { vs->cfg.name = arg; return 0; }

static int opt_memory(struct vmscope *vs, const char *arg)
{
	uint64_t size;

	if (vmscope_parse_size(arg, 1ull << 20, &size) || size == 0)
		return vmscope_usage_error(vs, "-m '%s': expected a size such as 64M, 1G or 65536K", arg);
	if (size < (1ull << 20) || size > (3ull << 30) || size % 4096)
		return vmscope_usage_error(vs, "-m '%s': guest RAM must be a multiple of 4 KiB from 1M to 3G", arg);
	vs->cfg.ram_size = size;
	return 0;
}

static int opt_smp(struct vmscope *vs, const char *arg)
{
	uint64_t n;

	if (vmscope_parse_u64(arg, &n) || n < 1 || n > 64)
		return vmscope_usage_error(vs, "--smp '%s': expected a number of vCPUs from 1 to 64", arg);
	vs->cfg.nr_vcpus = (unsigned)n;
	return 0;
}

static int opt_serial(struct vmscope *vs, const char *arg)
{
	if (strcmp(arg, "stdio") && strcmp(arg, "none") && (strncmp(arg, "file:", 5) || !arg[5]))
		return vmscope_usage_error(vs, "--serial '%s': expected stdio, none or file:PATH", arg);
	vs->serial = arg;
	return 0;
}

static int opt_address(struct vmscope *vs, const char *opt, const char *arg, uint64_t *out)
{
	if (vmscope_parse_u64(arg, out) || *out > UINT32_MAX)
		return vmscope_usage_error(vs, "%s '%s': expected an address below 4 GiB, such as 0x100000", opt, arg);
	return 0;
}

static int opt_load_addr(struct vmscope *vs, const char *arg)
{
	vs->raw = true;
	return opt_address(vs, "--load-addr", arg, &vs->load_addr);
}

static int opt_entry(struct vmscope *vs, const char *arg)
{
	vs->entry_set = true;
	return opt_address(vs, "--entry", arg, &vs->entry);
}

static int opt_module(struct vmscope *vs, const char *arg)
{
	if (vs->nr_modules == VMSCOPE_MAX_MODULES)
		return vmscope_usage_error(vs, "at most %d modules", VMSCOPE_MAX_MODULES);
	vs->modules[vs->nr_modules++] = arg;
	return 0;
}

static int opt_kernel_irqchip(struct vmscope *vs, const char *arg)
{
	if (strcmp(arg, "on") && strcmp(arg, "off"))
		return vmscope_usage_error(vs, "--kernel-irqchip '%s': expected on or off", arg);
	vs->irqchip = strcmp(arg, "on") == 0 ? VMSCOPE_IRQCHIP_ON : VMSCOPE_IRQCHIP_OFF;
	return 0;
}

/* --clock host | icount[:SHIFT] */
static int opt_clock(struct vmscope *vs, const char *arg)
{
	uint64_t shift = 0;

	if (strcmp(arg, "host") == 0) {
		vs->cfg.icount = false;
		return 0;
	}
	if (strncmp(arg, "icount", 6) || (arg[6] && (arg[6] != ':' || vmscope_parse_u64(arg + 7, &shift) || shift > 10)))
		return vmscope_usage_error(vs, "--clock '%s': expected host, icount or icount:SHIFT (SHIFT 0 to 10)", arg);
	vs->cfg.icount = true;
	vs->cfg.icount_shift = (unsigned)shift;
	return 0;
}

static int opt_linux_decompress(struct vmscope *vs, const char *arg)
{
	static const char *const names[] = { [VMSCOPE_UNPACK_AUTO] = "auto", [VMSCOPE_UNPACK_GUEST] = "guest",
					     [VMSCOPE_UNPACK_HOST] = "host" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(arg, names[i]) == 0) {
			vs->linux_unpack = (enum vmscope_unpack)i;
			return 0;
		}
	}
	return vmscope_usage_error(vs, "--linux-decompress '%s': expected auto, guest or host", arg);
}

static int opt_help(struct vmscope *vs, const char *arg);

static int opt_version(struct vmscope *vs, const char *arg)
{
	printf("vmscope %s\n", VMSCOPE_VERSION);
	return 1;
}

static const struct vmscope_option core_options[] = {
	{ "kernel", OPT_KERNEL, "FILE", "guest image: Linux bzImage, Multiboot v1 (ELF32/ELF64/a.out kludge) or raw binary", opt_kernel },
	{ "append", OPT_APPEND, "STR", "kernel command line (Multiboot: after the image name)", opt_append },
	{ "initrd", OPT_MODULE, "FILE", "Linux initrd or Multiboot module (repeatable; Linux: joined)", opt_module },
	{ "memory", 'm', "SIZE", "guest RAM; suffix K, M (default) or G; default 128M", opt_memory },
	{ "smp", OPT_SMP, "N", "number of vCPUs (default 1)", opt_smp },
	{ "accel", OPT_ACCEL, "ACCEL", "kvm, interp or auto (default auto: KVM when usable, else the interpreter)", opt_accel },
	{ "kernel-irqchip", OPT_KERNEL_IRQCHIP, "on|off", "on: KVM's PIC, APICs and PIT; off: vmscope's PIC and PIT (default: on with --smp > 1 or Linux)", opt_kernel_irqchip },
	{ "linux-decompress", OPT_LINUX_DECOMPRESS, "WHERE", "host: vmscope unpacks a bzImage's xz vmlinux; guest: it decompresses itself; auto (default): host for xz", opt_linux_decompress },
	{ "clock", OPT_CLOCK, "SOURCE", "guest time: host (default) or icount[:SHIFT], 2^SHIFT ns per instruction (interp): repeatable runs", opt_clock },
	{ "name", OPT_NAME, "NAME", "guest name (shown by kvmstat and QMP)", opt_name },
	{ "serial", OPT_SERIAL, "DEV", "COM1: stdio (default), file:PATH or none", opt_serial },
	{ "load-addr", OPT_LOAD_ADDR, "ADDR", "load --kernel as a raw binary at ADDR", opt_load_addr },
	{ "entry", OPT_ENTRY, "ADDR", "raw binary entry point (default: the load address)", opt_entry },
	{ "help", 'h', NULL, "print this help and exit", opt_help },
	{ "version", 'V', NULL, "print the version and exit", opt_version },
	{ NULL, 0, NULL, NULL, NULL },
};

static int opt_help(struct vmscope *vs, const char *arg)
{
	vmscope_usage(vs, vs->mods, vs->nr_mods, stdout);
	return 1;
}

static int core_configure(struct vmscope *vs)
{
	if (!vs->kernel)
		return vmscope_usage_error(vs, "no guest image: --kernel FILE is required"), VMSCOPE_EXIT_USAGE;
	if (vs->entry_set && !vs->raw)
		return vmscope_usage_error(vs, "--entry needs --load-addr (a raw binary)"), VMSCOPE_EXIT_USAGE;
	if ((vs->raw && vs->nr_modules))
		return vmscope_usage_error(vs, "--initrd needs a Multiboot image or a Linux bzImage, not a raw binary"), VMSCOPE_EXIT_USAGE;
	if (!vs->entry_set)
		vs->entry = vs->load_addr;
	return 0;
}

const struct vmscope_module vmscope_core_module = {
	.name = "Guest",
	.options = core_options,
	.configure = core_configure,
};

/* ---- serial ---- */

static int core_serial_fds(struct vmscope *vs)
{
	struct stat st;
	const char *s = vs->serial ? vs->serial : "stdio";

	vs->cfg.serial_in_fd = -1;
	if (strcmp(s, "none") == 0) {
		vs->cfg.serial_out_fd = -1;
	} else if (strcmp(s, "stdio") == 0) {
		vs->cfg.serial_out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO) || (fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)))
			vs->cfg.serial_in_fd = STDIN_FILENO;
	} else {
		vs->cfg.serial_out_fd = open(s + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vs->cfg.serial_out_fd < 0) {
			fprintf(stderr, "%s: --serial %s: %s\n", vs->prog, s, strerror(errno));
			return VMSCOPE_EXIT_USAGE;
		}
	}
	return 0;
}

/* ---- the image ---- */

static void core_free_modules(struct emu_load_module *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free((void *)m[i].data);
}

static int core_read_modules(struct vmscope *vs, struct emu_load_module *mods, struct emu_load_error *err)
{
	for (unsigned i = 0; i < vs->nr_modules; i++) {
		void *buf;
		size_t len;
		int e = emu_load_read_file(vs->modules[i], emu_vm_ram_size(vs->vm), &buf, &len, err);
		if (e) {
			core_free_modules(mods, i);
			return e;
		}
		mods[i] = (struct emu_load_module){ .data = buf, .size = len, .cmdline = vs->modules[i] };
	}
	return 0;
}

static int core_load_image(struct vmscope *vs, const void *buf, size_t len, struct emu_load_error *err)
{
	struct emu_load_module mods[VMSCOPE_MAX_MODULES];
	struct emu_boot_options opts = { .modules = mods, .nr_modules = vs->nr_modules };
	struct emu_load_image img;
	char *cmdline = NULL;
	int e;

	e = vs->raw ? emu_load_parse_raw(len, vs->load_addr, vs->entry, emu_vm_ram_size(vs->vm), &img, err)
		    : emu_load_parse_multiboot(buf, len, emu_vm_ram_size(vs->vm), &img, err);
	if (e)
		return e;
	e = core_read_modules(vs, mods, err);
	if (e)
		return e;
	/* As QEMU does: the image name, then --append. */
	if (asprintf(&cmdline, "%s%s%s", vs->kernel, vs->append ? " " : "", vs->append ? vs->append : "") < 0)
		cmdline = NULL;
	opts.cmdline = cmdline;
	e = emu_load_boot(vs->vm, &img, buf, len, &opts, err);
	free(cmdline);
	core_free_modules(mods, vs->nr_modules);
	return e;
}

/* A Linux bzImage: every --initrd file joined into one initrd (Linux unpacks concatenated
 * cpio archives; each starts 4-byte aligned), the command line is --append alone. */
static int core_join_initrds(struct vmscope *vs, uint8_t **out, size_t *out_len, struct emu_load_error *err)
{
	struct emu_load_module mods[VMSCOPE_MAX_MODULES];
	size_t total = 0;
	uint8_t *p;
	int e = core_read_modules(vs, mods, err);

	if (e)
		return e;
	for (unsigned i = 0; i < vs->nr_modules; i++)
		total = ((total + 3) & ~(size_t)3) + mods[i].size;
	p = total ? calloc(1, total) : NULL;
	for (size_t at = 0, i = 0; p && i < vs->nr_modules; at += mods[i].size, i++) {
		at = (at + 3) & ~(size_t)3;
		memcpy(p + at, mods[i].data, mods[i].size);
	}
	core_free_modules(mods, vs->nr_modules);
	if (total && !p) {
		snprintf(err->message, sizeof(err->message), "cannot allocate %zu bytes for the initrd", total);
		return -ENOMEM;
	}
	*out = p;
	*out_len = total;
	return 0;
}

static int core_load_linux(struct vmscope *vs, const void *buf, size_t len, struct emu_load_error *err)
{
	struct emu_linux_options opts = { .cmdline = vs->append };
	struct emu_bzimage bz;
	uint8_t *initrd = NULL;
	int e = emu_load_parse_bzimage(buf, len, emu_vm_ram_size(vs->vm), &bz, err);

	if (!e)
		e = core_join_initrds(vs, &initrd, &opts.initrd_size, err);
	if (e)
		return e;
	opts.initrd = initrd;
	if (vs->linux_unpack == VMSCOPE_UNPACK_HOST ||
	    (vs->linux_unpack == VMSCOPE_UNPACK_AUTO && emu_load_bzimage_is_xz(&bz, buf, len)))
		e = emu_load_linux_unpacked(vs->vm, &bz, buf, len, &opts, err);
	else
		e = emu_load_linux(vs->vm, &bz, buf, len, &opts, err);
	free(initrd);
	return e;
}

static int core_load_any(struct vmscope *vs, const void *buf, size_t len, struct emu_load_error *err)
{
	int e;

	if (!vs->raw && emu_load_is_bzimage(buf, len))
		return core_load_linux(vs, buf, len, err);
	e = core_load_image(vs, buf, len, err);
	if (e && err->code == EMU_LOAD_NOT_MULTIBOOT)
		snprintf(err->message, sizeof(err->message),
			 "not a Multiboot image (no header with magic 0x1badb002 in the first 8 KiB) nor a Linux "
			 "bzImage (no \"HdrS\" at offset 0x202); use --load-addr for a raw binary");
	return e;
}

/* system_reset (QMP): the same image, loaded again into cleared RAM. */
static int core_reset(void *opaque, struct emu_vm *vm)
{
	struct vmscope *vs = opaque;
	struct emu_load_error err;
	int e = core_load_any(vs, vs->image, vs->image_len, &err);

	if (e)
		fprintf(stderr, "%s: reset: %s: %s\n", vs->prog, vs->kernel, err.message);
	return e;
}

static void core_load_error(const struct vmscope *vs, const struct emu_load_error *err)
{
	if (err->code == EMU_LOAD_IO)	/* the message names the file */
		fprintf(stderr, "%s: %s\n", vs->prog, err->message);
	else
		fprintf(stderr, "%s: %s: %s\n", vs->prog, vs->kernel, err->message);
}

/* Before the VM exists: the image decides how interrupts are wired (core_choose_irqchip). */
static int core_read_image(struct vmscope *vs)
{
	struct emu_load_error err;
	int e = emu_load_read_file(vs->kernel, vs->cfg.ram_size, &vs->image, &vs->image_len, &err);

	if (e) {
		core_load_error(vs, &err);
		return VMSCOPE_EXIT_IMAGE;
	}
	return 0;
}

/* KVM's in-kernel irqchip and PIT cost start-up and tear-down time (SRCU grace periods: tens of
 * milliseconds on a busy nested host) that a one-vCPU Multiboot kernel does not need: vmscope's
 * own PIC and PIT serve it. More vCPUs need KVM's local APICs (INIT/SIPI), Linux wants APICs. */
static void core_choose_irqchip(struct vmscope *vs)
{
	bool kernel = vs->irqchip == VMSCOPE_IRQCHIP_ON;

	if (vs->irqchip == VMSCOPE_IRQCHIP_AUTO)
		kernel = vs->cfg.nr_vcpus > 1 || (!vs->raw && emu_load_is_bzimage(vs->image, vs->image_len));
	vs->cfg.userspace_irqchip = !kernel;
}

static int core_load(struct vmscope *vs)
{
	struct emu_load_error err;
	int e = core_load_any(vs, vs->image, vs->image_len, &err);

	if (e) {
		core_load_error(vs, &err);
		return VMSCOPE_EXIT_IMAGE;
	}
	emu_vm_set_reset_handler(vs->vm, core_reset, vs);
	return 0;
}

/* ---- signals: SIGINT/SIGTERM/SIGHUP end the guest from a dedicated thread ----
 *
 * Our threads block these signals; the signal thread unblocks them, and a handler forwards each
 * one through a pipe that the thread reads. A handler rather than sigwait(): threads we did not
 * create (a sanitizer runtime starts one before main) keep an empty mask, and with the default
 * disposition a SIGTERM landing there would kill the process without a word. The disposition is
 * process-wide by nature, so the pipe is too.
 */

static int core_signal_pipe[2] = { -1, -1 };

static void core_on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	(void)!write(core_signal_pipe[1], &b, 1);
	errno = saved;
}

struct core_signals {
	sigset_t set;
	struct emu_vm *vm;
	pthread_t thread;
};

static void *core_signal_thread(void *arg)
{
	struct core_signals *s = arg;
	unsigned char b = 0;
	char msg[64];

	pthread_sigmask(SIG_UNBLOCK, &s->set, NULL);
	while (read(core_signal_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	if (b != 0) {	/* 0: the guest ended on its own, the thread is told to go */
		snprintf(msg, sizeof(msg), "stopped by signal %s", strsignal(b));
		emu_vm_request_end(s->vm, EMU_END_QUIT, 128 + b, msg);
	}
	return NULL;
}

static void core_signals_block(struct core_signals *s)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = core_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&s->set);
	if (core_signal_pipe[0] < 0 && pipe2(core_signal_pipe, O_CLOEXEC) < 0)
		return;	/* default dispositions stay: a signal still ends the process */
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&s->set, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	pthread_sigmask(SIG_BLOCK, &s->set, NULL);
}

static void core_signals_stop(struct core_signals *s)
{
	unsigned char b = 0;

	(void)!write(core_signal_pipe[1], &b, 1);
	pthread_join(s->thread, NULL);
}

/* ---- ending ---- */

static const struct {
	int status;
	const char *what;
} core_end_status[] = {
	[EMU_END_DEBUG_EXIT] = { 0, NULL },
	[EMU_END_SHUTDOWN] = { VMSCOPE_EXIT_SHUTDOWN, "guest shut down" },
	[EMU_END_INTERNAL_ERROR] = { VMSCOPE_EXIT_INTERNAL, "internal error" },
	[EMU_END_FAIL_ENTRY] = { VMSCOPE_EXIT_FAIL_ENTRY, "invalid guest state" },
	[EMU_END_HALTED] = { VMSCOPE_EXIT_HALTED, "guest halted for ever" },
	[EMU_END_QUIT] = { VMSCOPE_EXIT_OK, NULL },
	[EMU_END_HOST_ERROR] = { VMSCOPE_EXIT_HOST, "host error" },
	[EMU_END_RESET] = { VMSCOPE_EXIT_OK, "guest reset" },
};

static int core_report_end(struct vmscope *vs, const struct emu_end *end)
{
	struct emu_vcpu *vcpu = end->vcpu >= 0 ? emu_vm_vcpu(vs->vm, (unsigned)end->vcpu) : NULL;

	if (end->reason == EMU_END_DEBUG_EXIT)
		return end->status & 0xff;
	if (end->reason == EMU_END_QUIT) {
		if (end->status)
			fprintf(stderr, "%s: %s\n", vs->prog, end->message);
		return end->status;
	}
	fprintf(stderr, "%s: %s\n", vs->prog, end->message);
	if (end->reason == EMU_END_RESET)
		return VMSCOPE_EXIT_OK;	/* the guest's reboot: its clean end (man/vmscope.1) */
	if (vcpu)
		emu_vcpu_dump(vcpu, stderr);
	if ((unsigned)end->reason < sizeof(core_end_status) / sizeof(core_end_status[0]))
		return core_end_status[end->reason].status;
	return VMSCOPE_EXIT_HOST;
}

static int core_create_vm(struct vmscope *vs)
{
	char why[256] = "";
	int e = core_serial_fds(vs);

	if (e)
		return e;
	e = emu_vm_create(&vs->cfg, &vs->vm, why, sizeof(why));
	if (e) {
		fprintf(stderr, "%s: cannot create the VM: %s\n", vs->prog, why[0] ? why : strerror(-e));
		return VMSCOPE_EXIT_ACCEL;
	}
	/* auto names its choice when it is not the usual one (KVM), so scripts see no noise */
	if (vs->cfg.accel == EMU_ACCEL_AUTO && strcmp(emu_vm_accel_name(vs->vm), "kvm"))
		fprintf(stderr, "%s: --accel auto: KVM is not usable here, using %s\n", vs->prog,
			emu_vm_accel_name(vs->vm));
	return 0;
}

static int core_attach_all(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr,
			   unsigned *attached)
{
	for (*attached = 0; *attached < nr; (*attached)++) {
		const struct vmscope_module *m = mods[*attached];
		int e = m->attach ? m->attach(vs, vs->vm) : 0;
		if (e)
			return e;
	}
	return 0;
}

static int core_run_vm(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr,
		       struct core_signals *sig_)
{
	struct core_signals sig = *sig_;
	struct emu_end end;
	unsigned attached;
	int status;

	sig.vm = vs->vm;
	status = core_attach_all(vs, mods, nr, &attached);
	if (!status && emu_vm_start(vs->vm)) {
		fprintf(stderr, "%s: cannot start the vCPUs\n", vs->prog);
		status = VMSCOPE_EXIT_HOST;
	}
	if (!status) {
		pthread_create(&sig.thread, NULL, core_signal_thread, &sig);
		emu_vm_wait(vs->vm, &end);
		core_signals_stop(&sig);
		status = core_report_end(vs, &end);
	}
	while (attached-- > 0)
		if (mods[attached]->detach)
			mods[attached]->detach(vs, vs->vm);
	return status;
}

int vmscope_run(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr)
{
	struct core_signals sig = { 0 };
	int status;

	/* Before any thread exists (devices and modules start some): they all inherit the mask, so
	 * SIGINT/SIGTERM/SIGHUP reach only the signal thread and end the guest cleanly. */
	core_signals_block(&sig);
	for (unsigned i = 0; i < nr; i++) {
		status = mods[i]->configure ? mods[i]->configure(vs) : 0;
		if (status)
			return status;
	}
	status = core_read_image(vs);
	if (!status) {
		core_choose_irqchip(vs);
		status = core_create_vm(vs);
	}
	if (!status)
		status = core_load(vs);
	if (!status)
		status = core_run_vm(vs, mods, nr, &sig);
	emu_vm_destroy(vs->vm);
	vs->vm = NULL;
	free(vs->image);
	vs->image = NULL;
	if (vs->cfg.serial_out_fd > STDERR_FILENO)
		close(vs->cfg.serial_out_fd);
	return status;
}
