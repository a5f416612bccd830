/* SPDX-License-Identifier: MIT */
/* kvm-regs.c — architectural state between KVM's structures and emu.h's. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "emu/kvm/kvm-local.h"

/* struct emu_regs mirrors struct kvm_regs field for field. */
_Static_assert(sizeof(struct emu_regs) == sizeof(struct kvm_regs), "emu_regs layout");
_Static_assert(offsetof(struct emu_regs, r8) == offsetof(struct kvm_regs, r8), "emu_regs layout");
_Static_assert(offsetof(struct emu_regs, rip) == offsetof(struct kvm_regs, rip), "emu_regs layout");
_Static_assert(offsetof(struct emu_regs, rflags) == offsetof(struct kvm_regs, rflags), "emu_regs layout");

static int kvm_vcpu_ioctl(struct emu_vcpu *vcpu, unsigned long req, void *arg)
{
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);

	return ioctl(v->fd, req, arg) < 0 ? -errno : 0;
}

int emu_kvm_get_regs(struct emu_vcpu *vcpu, struct emu_regs *regs)
{
	struct kvm_regs k;
	int err = kvm_vcpu_ioctl(vcpu, KVM_GET_REGS, &k);

	if (!err)
		memcpy(regs, &k, sizeof(*regs));
	return err;
}

int emu_kvm_set_regs(struct emu_vcpu *vcpu, const struct emu_regs *regs)
{
	struct kvm_regs k;

	memcpy(&k, regs, sizeof(k));
	return kvm_vcpu_ioctl(vcpu, KVM_SET_REGS, &k);
}

static void kvm_seg_from(struct emu_segment *e, const struct kvm_segment *k)
{
	*e = (struct emu_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector, .type = k->type,
		.present = k->present, .dpl = k->dpl, .db = k->db, .s = k->s, .l = k->l, .g = k->g,
		.avl = k->avl, .unusable = k->unusable,
	};
}

static void kvm_seg_to(struct kvm_segment *k, const struct emu_segment *e)
{
	*k = (struct kvm_segment){
		.base = e->base, .limit = e->limit, .selector = e->selector, .type = e->type,
		.present = e->present, .dpl = e->dpl, .db = e->db, .s = e->s, .l = e->l, .g = e->g,
		.avl = e->avl, .unusable = e->unusable,
	};
}

/* The segment registers in one table, so the two directions cannot disagree. */
static const struct {
	size_t emu_off, kvm_off;
} kvm_seg_map[] = {
	{ offsetof(struct emu_sregs, cs), offsetof(struct kvm_sregs, cs) },
	{ offsetof(struct emu_sregs, ds), offsetof(struct kvm_sregs, ds) },
	{ offsetof(struct emu_sregs, es), offsetof(struct kvm_sregs, es) },
	{ offsetof(struct emu_sregs, fs), offsetof(struct kvm_sregs, fs) },
	{ offsetof(struct emu_sregs, gs), offsetof(struct kvm_sregs, gs) },
	{ offsetof(struct emu_sregs, ss), offsetof(struct kvm_sregs, ss) },
	{ offsetof(struct emu_sregs, tr), offsetof(struct kvm_sregs, tr) },
	{ offsetof(struct emu_sregs, ldt), offsetof(struct kvm_sregs, ldt) },
};

int emu_kvm_get_sregs(struct emu_vcpu *vcpu, struct emu_sregs *s)
{
	struct kvm_sregs k;
	int err = kvm_vcpu_ioctl(vcpu, KVM_GET_SREGS, &k);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(kvm_seg_map) / sizeof(kvm_seg_map[0]); i++)
		kvm_seg_from((struct emu_segment *)((char *)s + kvm_seg_map[i].emu_off),
			     (const struct kvm_segment *)((const char *)&k + kvm_seg_map[i].kvm_off));
	s->gdt = (struct emu_dtable){ .base = k.gdt.base, .limit = k.gdt.limit };
	s->idt = (struct emu_dtable){ .base = k.idt.base, .limit = k.idt.limit };
	s->cr0 = k.cr0, s->cr2 = k.cr2, s->cr3 = k.cr3, s->cr4 = k.cr4, s->cr8 = k.cr8;
	s->efer = k.efer, s->apic_base = k.apic_base;
	return 0;
}

int emu_kvm_set_sregs(struct emu_vcpu *vcpu, const struct emu_sregs *s)
{
	struct kvm_sregs k;
	int err = kvm_vcpu_ioctl(vcpu, KVM_GET_SREGS, &k);	/* keeps the pending-interrupt bitmap */

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(kvm_seg_map) / sizeof(kvm_seg_map[0]); i++)
		kvm_seg_to((struct kvm_segment *)((char *)&k + kvm_seg_map[i].kvm_off),
			   (const struct emu_segment *)((const char *)s + kvm_seg_map[i].emu_off));
	k.gdt.base = s->gdt.base, k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base, k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0, k.cr2 = s->cr2, k.cr3 = s->cr3, k.cr4 = s->cr4, k.cr8 = s->cr8;
	k.efer = s->efer, k.apic_base = s->apic_base;
	return kvm_vcpu_ioctl(vcpu, KVM_SET_SREGS, &k);
}

int emu_kvm_get_fpu(struct emu_vcpu *vcpu, struct emu_fpu *f)
{
	struct kvm_fpu k;
	int err = kvm_vcpu_ioctl(vcpu, KVM_GET_FPU, &k);

	if (err)
		return err;
	memcpy(f->fpr, k.fpr, sizeof(f->fpr));
	memcpy(f->xmm, k.xmm, sizeof(f->xmm));
	f->fcw = k.fcw, f->fsw = k.fsw, f->ftwx = k.ftwx, f->last_opcode = k.last_opcode;
	f->last_ip = k.last_ip, f->last_dp = k.last_dp, f->mxcsr = k.mxcsr;
	return 0;
}

int emu_kvm_set_fpu(struct emu_vcpu *vcpu, const struct emu_fpu *f)
{
	struct kvm_fpu k;

	memset(&k, 0, sizeof(k));
	memcpy(k.fpr, f->fpr, sizeof(k.fpr));
	memcpy(k.xmm, f->xmm, sizeof(k.xmm));
	k.fcw = f->fcw, k.fsw = f->fsw, k.ftwx = f->ftwx, k.last_opcode = f->last_opcode;
	k.last_ip = f->last_ip, k.last_dp = f->last_dp, k.mxcsr = f->mxcsr;
	return kvm_vcpu_ioctl(vcpu, KVM_SET_FPU, &k);
}

/* One MSR through KVM_GET_MSRS / KVM_SET_MSRS: 1 when KVM handled it, 0 when it does not know it,
 * -errno on failure. */
static int kvm_msr_io(struct emu_vcpu *vcpu, unsigned long req, uint32_t index, uint64_t *value)
{
	struct kvm_vcpu_data *v = emu_vcpu_accel_data(vcpu);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	int r;

	if (!m)
		return -ENOMEM;
	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = *value;
	r = ioctl(v->fd, req, m);
	if (r < 0)
		r = -errno;
	*value = m->entries[0].data;
	free(m);
	return r;
}

int emu_kvm_get_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value)
{
	uint64_t v = 0;
	int r = kvm_msr_io(vcpu, KVM_GET_MSRS, index, &v);

	if (r < 0)
		return r;
	if (r != 1)
		return -ENOENT;	/* KVM does not know this MSR */
	*value = v;
	return 0;
}

int emu_kvm_set_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t value)
{
	int r = kvm_msr_io(vcpu, KVM_SET_MSRS, index, &value);

	if (r < 0)
		return r;
	return r == 1 ? 0 : -EINVAL;
}

int emu_kvm_get_dregs(struct emu_vcpu *vcpu, struct emu_dregs *d)
{
	struct kvm_debugregs k;
	int err = kvm_vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &k);

	if (err)
		return err;
	memcpy(d->db, k.db, sizeof(d->db));
	d->dr6 = k.dr6;
	d->dr7 = k.dr7;
	return 0;
}
