/* SPDX-License-Identifier: MIT */
/*
 * kvm.c — the KVM backend: probe, VM and vCPU creation (memory slot, CPUID, in-kernel irqchip
 * and PIT when offered), and the ops table. The run loop is in kvm-run.c, registers in
 * kvm-regs.c, debugging in kvm-debug.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/kvm/kvm-local.h"

#define KVM_TSS_ADDR 0xfffbd000ul
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

int emu_kvm_kick_signal;

/* EACCES: say who may open it and how to become one of them. */
static void kvm_why_access(char *why, size_t why_len)
{
	struct stat st;
	struct group *g;

	if (stat("/dev/kvm", &st) == 0 && (st.st_mode & 060) && (g = getgrgid(st.st_gid)) && st.st_gid != 0) {
		emu_why(why, why_len, "/dev/kvm: permission denied (group %s, mode %04o): add yourself to group %s "
			"(usermod -aG %s $USER, then log in again) or run as root", g->gr_name,
			(unsigned)(st.st_mode & 07777), g->gr_name, g->gr_name);
		return;
	}
	emu_why(why, why_len, "/dev/kvm: permission denied (mode %04o, only root may open it): run as root, "
		"or let group kvm use it (chgrp kvm /dev/kvm; chmod 0660 /dev/kvm; usermod -aG kvm $USER)",
		stat("/dev/kvm", &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u);
}

static int kvm_open_dev(char *why, size_t why_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int e = errno;

	if (fd >= 0)
		return fd;
	if (e == ENOENT)
		emu_why(why, why_len, "/dev/kvm does not exist: load the KVM module (modprobe kvm_intel or kvm_amd) "
			"and enable virtualization in the firmware, or use another accelerator");
	else if (e == EACCES || e == EPERM)
		kvm_why_access(why, why_len);
	else
		emu_why(why, why_len, "/dev/kvm: %s", strerror(e));
	return -e;
}

static int kvm_probe(char *why, size_t why_len)
{
	int fd = kvm_open_dev(why, why_len);
	int version;

	if (fd < 0)
		return fd;
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (version != KVM_API_VERSION) {
		emu_why(why, why_len, "/dev/kvm speaks API version %d, vmscope needs %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static void kvm_kick_handler(int sig)
{
	(void)sig;	/* only there so the signal interrupts KVM_RUN with EINTR */
}

static void kvm_install_kick_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_kick_handler;	/* no SA_RESTART: KVM_RUN must return */
	sigemptyset(&sa.sa_mask);
	emu_kvm_kick_signal = SIGRTMIN;
	sigaction(emu_kvm_kick_signal, &sa, NULL);
}

static int kvm_get_cpuid(struct kvm_vm_data *k)
{
	for (unsigned n = 256; n <= 4096; n *= 2) {	/* 256: one call on today's hosts */
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			k->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

static int kvm_check(struct kvm_vm_data *k, long cap)
{
	int r = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

/* The in-kernel PIC/IOAPIC/LAPIC and PIT, when this KVM offers both. */
static void kvm_setup_irqchip(struct emu_vm *vm, struct kvm_vm_data *k)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (emu_vm_config(vm)->userspace_irqchip || !kvm_check(k, KVM_CAP_IRQCHIP))
		return;
	k->irqchip = ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) == 0;
	if (k->irqchip && kvm_check(k, KVM_CAP_PIT2))
		k->pit = ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) == 0;
}

static int kvm_set_memory(struct emu_vm *vm, struct kvm_vm_data *k)
{
	struct kvm_userspace_memory_region mr = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = emu_vm_ram_size(vm),
		.userspace_addr = (uintptr_t)emu_vm_ram(vm),
	};

	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0 ? -errno : 0;
}

static int kvm_vm_setup(struct emu_vm *vm, struct kvm_vm_data *k, char *why, size_t why_len)
{
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	int err;

	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		emu_why(why, why_len, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	k->immediate_exit = kvm_check(k, KVM_CAP_IMMEDIATE_EXIT) > 0;
	k->guest_debug2 = kvm_check(k, KVM_CAP_SET_GUEST_DEBUG2);
	if (kvm_check(k, KVM_CAP_SET_TSS_ADDR))
		(void)!ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	if (kvm_check(k, KVM_CAP_SET_IDENTITY_MAP_ADDR))
		(void)!ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	kvm_setup_irqchip(vm, k);
	err = kvm_set_memory(vm, k);
	if (err) {
		emu_why(why, why_len, "KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
			(unsigned long long)(emu_vm_ram_size(vm) >> 20), strerror(-err));
		return err;
	}
	err = kvm_get_cpuid(k);
	if (err)
		emu_why(why, why_len, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-err));
	return err;
}

static void kvm_vm_destroy(struct emu_vm *vm)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);

	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	pthread_mutex_destroy(&k->probe_lock);
	free(k->cpuid);
	free(k);
	emu_vm_set_accel_data(vm, NULL);
}

static int kvm_vm_init(struct emu_vm *vm, char *why, size_t why_len)
{
	struct kvm_vm_data *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	k->vm_fd = -1;
	pthread_mutex_init(&k->probe_lock, NULL);
	emu_vm_set_accel_data(vm, k);
	k->sys_fd = kvm_open_dev(why, why_len);
	if (k->sys_fd < 0)
		return k->sys_fd;
	err = kvm_vm_setup(vm, k, why, why_len);
	if (err)
		return err;
	kvm_install_kick_signal();
	return 0;
}

/* CPUID as KVM supports it, with this vCPU's APIC id. */
static int kvm_vcpu_set_cpuid(struct kvm_vm_data *k, struct kvm_vcpu_data *v, unsigned index)
{
	size_t sz = sizeof(*k->cpuid) + k->cpuid->nent * sizeof(k->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int r;

	if (!c)
		return -ENOMEM;
	memcpy(c, k->cpuid, sz);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (index << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = index;
	}
	r = ioctl(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? -errno : 0;
}

static void kvm_vcpu_destroy(struct emu_vcpu *vcpu)
{
	struct kvm_vm_data *k = emu_vm_accel_data(emu_vcpu_vm(vcpu));
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);

	if (!v)
		return;
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, k->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
	emu_vcpu_set_accel_data(vcpu, NULL);
}

static int kvm_vcpu_init(struct emu_vcpu *vcpu)
{
	struct kvm_vm_data *k = emu_vm_accel_data(emu_vcpu_vm(vcpu));
	struct kvm_vcpu_data *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	emu_vcpu_set_accel_data(vcpu, v);
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)emu_vcpu_index(vcpu));
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	return kvm_vcpu_set_cpuid(k, v, emu_vcpu_index(vcpu));
}

static bool kvm_has_irqchip(struct emu_vm *vm)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	return k && k->irqchip;
}

static bool kvm_has_kernel_pit(struct emu_vm *vm)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	return k && k->pit;
}

static void kvm_set_irq_line(struct emu_vm *vm, unsigned irq, int level)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	(void)!ioctl(k->vm_fd, KVM_IRQ_LINE, &l);
}

/* Hook for the KVM binary statistics (KVM_GET_STATS_FD): backend counters appended to
 * emu_vm_stats(). For now: exits this backend handled without returning to the core. */
static int kvm_stats(struct emu_vm *vm, struct emu_stat *out, int max)
{
	uint64_t io = 0, mmio = 0;

	for (unsigned i = 0; i < emu_vm_nr_vcpus(vm); i++) {
		struct kvm_vcpu_data *v = emu_vcpu_accel_data(emu_vm_vcpu(vm, i));
		if (v) {
			io += atomic_load_explicit(&v->io_exits, memory_order_relaxed);
			mmio += atomic_load_explicit(&v->mmio_exits, memory_order_relaxed);
		}
	}
	if (max > 0)
		out[0] = (struct emu_stat){ .name = "kvm_exits_io", .value = io };
	if (max > 1)
		out[1] = (struct emu_stat){ .name = "kvm_exits_mmio", .value = mmio };
	return 2;
}

static int kvm_stats_fd(struct emu_vm *vm, int vcpu)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	struct kvm_vcpu_data *v = vcpu >= 0 ? emu_vcpu_accel_data(emu_vm_vcpu(vm, (unsigned)vcpu)) : NULL;
	int fd;

	if (!k || (vcpu >= 0 && !v))
		return -ENODEV;
	if (ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0)
		return -EOPNOTSUPP;
	fd = ioctl(v ? v->fd : k->vm_fd, KVM_GET_STATS_FD, NULL);
	return fd < 0 ? -errno : fd;
}

const struct accel_ops emu_kvm_accel_ops = {
	.name = "kvm",
	.probe = kvm_probe,
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = emu_kvm_vcpu_run,
	.kick = emu_kvm_kick,
	.get_regs = emu_kvm_get_regs,
	.set_regs = emu_kvm_set_regs,
	.get_sregs = emu_kvm_get_sregs,
	.set_sregs = emu_kvm_set_sregs,
	.get_fpu = emu_kvm_get_fpu,
	.set_fpu = emu_kvm_set_fpu,
	.get_msr = emu_kvm_get_msr,
	.set_msr = emu_kvm_set_msr,
	.get_dregs = emu_kvm_get_dregs,
	.set_debug = emu_kvm_set_debug,
	.check_debug = emu_kvm_check_debug,
	.flags = EMU_ACCEL_PLANT_SW_BP,
	.has_irqchip = kvm_has_irqchip,
	.has_kernel_pit = kvm_has_kernel_pit,
	.set_irq_line = kvm_set_irq_line,
	.stats = kvm_stats,
	.stats_fd = kvm_stats_fd,
};
