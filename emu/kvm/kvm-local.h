/* SPDX-License-Identifier: MIT */
/* kvm-local.h — the KVM backend's private state. Only emu/kvm/ includes <linux/kvm.h>. */
#ifndef VMSCOPE_EMU_KVM_LOCAL_H
#define VMSCOPE_EMU_KVM_LOCAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "emu/accel.h"

/* Support for each debug feature on this host, found by running a tiny probe guest. */
enum kvm_dbg_support { KVM_DBG_UNKNOWN = 0, KVM_DBG_WORKS, KVM_DBG_BROKEN };

struct kvm_vm_data {
	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	int run_size;
	bool irqchip;		/* in-kernel PIC/IOAPIC/LAPIC */
	bool pit;		/* in-kernel 8254 PIT */
	bool immediate_exit;
	int guest_debug2;	/* KVM_CAP_SET_GUEST_DEBUG2 flags, 0 when absent */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	pthread_mutex_t probe_lock;
	enum kvm_dbg_support dbg[5];	/* by enum emu_bp_kind */
	char dbg_why[5][160];
};

struct kvm_vcpu_data {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool thread_known;
	uint64_t hw_addr[4];		/* what each debug register watches (for reports) */
	int hw_kind[4];
	struct kvm_guest_debug last_debug;
	bool debug_set;
	atomic_uint_fast64_t io_exits, mmio_exits;	/* read by emu_vm_stats from any thread */
};

/* kvm.c */
extern int emu_kvm_kick_signal;

/* kvm-regs.c */
int emu_kvm_get_regs(struct emu_vcpu *vcpu, struct emu_regs *regs);
int emu_kvm_set_regs(struct emu_vcpu *vcpu, const struct emu_regs *regs);
int emu_kvm_get_sregs(struct emu_vcpu *vcpu, struct emu_sregs *sregs);
int emu_kvm_set_sregs(struct emu_vcpu *vcpu, const struct emu_sregs *sregs);
int emu_kvm_get_fpu(struct emu_vcpu *vcpu, struct emu_fpu *fpu);
int emu_kvm_set_fpu(struct emu_vcpu *vcpu, const struct emu_fpu *fpu);
int emu_kvm_get_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value);
int emu_kvm_set_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t value);
int emu_kvm_get_dregs(struct emu_vcpu *vcpu, struct emu_dregs *dregs);

/* kvm-run.c */
int emu_kvm_vcpu_run(struct emu_vcpu *vcpu, struct emu_exit *exit);
void emu_kvm_kick(struct emu_vcpu *vcpu);

/* kvm-debug.c */
int emu_kvm_set_debug(struct emu_vcpu *vcpu, const struct emu_debug_state *dbg);
int emu_kvm_check_debug(struct emu_vm *vm, enum emu_bp_kind kind, char *why, size_t why_len);

#endif
