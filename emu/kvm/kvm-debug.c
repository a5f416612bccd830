/* SPDX-License-Identifier: MIT */
/*
 * kvm-debug.c — KVM_SET_GUEST_DEBUG from a struct emu_debug_state, and an honest answer to
 * "can this kind of breakpoint fire here?". Hosts differ (a nested KVM may not report int3 or
 * fire data watchpoints), so the answer comes from running a tiny probe guest once per kind:
 * a few instructions in 32-bit protected mode that must produce a KVM_EXIT_DEBUG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu/kvm/kvm-local.h"

#define DR7_FIXED 0x600u	/* GE | reserved bit 10, as QEMU writes it */

/* DR7 R/W and LEN fields for each kind and length. */
static unsigned kvm_dr7_rw(enum emu_bp_kind kind)
{
	static const unsigned rw[] = { [EMU_BP_SW] = 0, [EMU_BP_HW] = 0, [EMU_WP_WRITE] = 1,
				       [EMU_WP_READ] = 3, [EMU_WP_ACCESS] = 3 };
	return rw[kind];
}

static unsigned kvm_dr7_len(uint64_t len)
{
	return len == 2 ? 1 : len == 4 ? 3 : len == 8 ? 2 : 0;
}

static void kvm_build_guest_debug(struct kvm_vcpu_data *v, const struct emu_debug_state *st, int gd2,
				  struct kvm_guest_debug *g)
{
	memset(g, 0, sizeof(*g));
	if (st->single_step)
		g->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (st->single_step && !st->step_irqs && (gd2 & KVM_GUESTDBG_BLOCKIRQ))
		g->control |= KVM_GUESTDBG_BLOCKIRQ;
	if (st->nr_sw)
		g->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
	if (st->nr_hw) {
		g->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		g->arch.debugreg[7] = DR7_FIXED;
	}
	for (unsigned i = 0; i < st->nr_hw && i < 4; i++) {
		g->arch.debugreg[i] = st->hw[i].addr;
		g->arch.debugreg[7] |= (2u << (i * 2)) | (kvm_dr7_rw(st->hw[i].kind) << (16 + i * 4)) |
				       (kvm_dr7_len(st->hw[i].len) << (18 + i * 4));
		v->hw_addr[i] = st->hw[i].addr;
		v->hw_kind[i] = st->hw[i].kind;
	}
}

int emu_kvm_set_debug(struct emu_vcpu *vcpu, const struct emu_debug_state *st)
{
	struct kvm_vm_data *k = emu_vm_accel_data(emu_vcpu_vm(vcpu));
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);
	struct kvm_guest_debug g;

	kvm_build_guest_debug(v, st, k->guest_debug2, &g);
	if (v->debug_set && memcmp(&g, &v->last_debug, sizeof(g)) == 0)
		return 0;
	if (!v->debug_set && g.control == 0)
		return 0;	/* nothing to enable, nothing enabled before */
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &g) < 0)
		return -errno;
	v->last_debug = g;
	v->debug_set = true;
	return 0;
}

/* ---- the probe guest ---- */

#define PROBE_RAM 0x10000
#define PROBE_CODE 0x1000
#define PROBE_DATA 0x2000

struct kvm_probe {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	int run_size;
	uint8_t *ram;
};

static const struct {
	uint8_t code[8];
	unsigned len;
	uint64_t dr0;		/* watched / breakpoint address (0: a software breakpoint) */
	const char *what;
} kvm_probe_cases[] = {
	[EMU_BP_SW] = { { 0xcc, 0xf4 }, 2, 0, "int3 with KVM_GUESTDBG_USE_SW_BP" },
	[EMU_BP_HW] = { { 0x90, 0xf4 }, 2, PROBE_CODE + 1, "an execute breakpoint in DR0" },
	[EMU_WP_WRITE] = { { 0xa3, 0x00, 0x20, 0x00, 0x00, 0xf4 }, 6, PROBE_DATA, "a write watchpoint in DR0" },
	[EMU_WP_READ] = { { 0xa1, 0x00, 0x20, 0x00, 0x00, 0xf4 }, 6, PROBE_DATA, "a read watchpoint in DR0" },
	[EMU_WP_ACCESS] = { { 0xa1, 0x00, 0x20, 0x00, 0x00, 0xf4 }, 6, PROBE_DATA, "an access watchpoint in DR0" },
};

static void kvm_probe_close(struct kvm_probe *p)
{
	if (p->run && p->run != MAP_FAILED)
		munmap(p->run, p->run_size);
	if (p->ram && p->ram != MAP_FAILED)
		munmap(p->ram, PROBE_RAM);
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
}

static int kvm_probe_open(struct kvm_vm_data *k, struct kvm_probe *p)
{
	struct kvm_userspace_memory_region mr = { .memory_size = PROBE_RAM };

	*p = (struct kvm_probe){ .vm_fd = -1, .vcpu_fd = -1, .run_size = k->run_size };
	p->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0)
		return -errno;
	p->ram = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->ram == MAP_FAILED)
		return -errno;
	mr.userspace_addr = (uintptr_t)p->ram;
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		return -errno;
	(void)!ioctl(p->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0);
	if (p->vcpu_fd < 0)
		return -errno;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
	if (p->run == MAP_FAILED)
		return -errno;
	return ioctl(p->vcpu_fd, KVM_SET_CPUID2, k->cpuid) < 0 ? -errno : 0;
}

/* Flat 32-bit protected mode, no IDT: any exception ends in a shutdown. */
static int kvm_probe_state(struct kvm_probe *p)
{
	struct kvm_segment code = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
				    .db = 1, .s = 1, .g = 1 };
	struct kvm_segment data = code;
	struct kvm_regs regs = { .rip = PROBE_CODE, .rflags = 2, .rsp = 0x8000 };
	struct kvm_sregs s;

	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	data.type = 3;
	data.selector = 16;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = 0x11;
	s.idt.limit = 0;
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) < 0 || ioctl(p->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static const char *kvm_probe_exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_HLT: return "the guest ran past it to hlt";
	case KVM_EXIT_SHUTDOWN: return "a triple fault instead";
	case KVM_EXIT_INTERNAL_ERROR: return "a KVM internal error instead";
	default: return "another exit instead";
	}
}

/* 1: works, 0: broken (why filled), <0: the probe itself failed. */
static int kvm_probe_kind(struct kvm_vm_data *k, enum emu_bp_kind kind, char *why, size_t why_len)
{
	struct emu_debug_state st = { .nr_sw = kind == EMU_BP_SW };
	struct kvm_vcpu_data scratch = { .fd = -1 };
	struct kvm_guest_debug g;
	struct kvm_probe p;
	int err = kvm_probe_open(k, &p);

	if (!err)
		err = kvm_probe_state(&p);
	if (err)
		goto out;
	memcpy(p.ram + PROBE_CODE, kvm_probe_cases[kind].code, kvm_probe_cases[kind].len);
	if (kind != EMU_BP_SW) {
		st.nr_hw = 1;
		st.hw[0].kind = kind;
		st.hw[0].addr = kvm_probe_cases[kind].dr0;
		st.hw[0].len = kind == EMU_BP_HW ? 1 : 4;
	}
	kvm_build_guest_debug(&scratch, &st, 0, &g);
	if (ioctl(p.vcpu_fd, KVM_SET_GUEST_DEBUG, &g) < 0 || ioctl(p.vcpu_fd, KVM_RUN, 0) < 0) {
		err = -errno;
		goto out;
	}
	err = p.run->exit_reason == KVM_EXIT_DEBUG;
	if (!err)
		snprintf(why, why_len, "this host's KVM does not report %s (a probe guest got %s)",
			 kvm_probe_cases[kind].what, kvm_probe_exit_name(p.run->exit_reason));
out:
	kvm_probe_close(&p);
	return err;
}

int emu_kvm_check_debug(struct emu_vm *vm, enum emu_bp_kind kind, char *why, size_t why_len)
{
	struct kvm_vm_data *k = emu_vm_accel_data(vm);
	int r = 0;

	if ((unsigned)kind > EMU_WP_ACCESS)
		return -EINVAL;
	pthread_mutex_lock(&k->probe_lock);
	if (k->dbg[kind] == KVM_DBG_UNKNOWN) {
		r = kvm_probe_kind(k, kind, k->dbg_why[kind], sizeof(k->dbg_why[kind]));
		if (r >= 0)
			k->dbg[kind] = r ? KVM_DBG_WORKS : KVM_DBG_BROKEN;
		else
			snprintf(why, why_len, "cannot probe debug support: %s", strerror(-r));
	}
	if (k->dbg[kind] == KVM_DBG_BROKEN) {
		snprintf(why, why_len, "%s", k->dbg_why[kind]);
		r = -EOPNOTSUPP;
	} else if (r > 0) {
		r = 0;
	}
	pthread_mutex_unlock(&k->probe_lock);
	return r;
}
