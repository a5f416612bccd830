/* SPDX-License-Identifier: MIT */
/*
 * translate.c — guest virtual addresses through a vCPU's current paging mode, for the debugger
 * and the loaders: translation without side effects, and byte ranges split at page boundaries.
 */
#include <errno.h>

#include "emu/emu-local.h"
#include "emu/paging.h"

static int translate_phys_read(void *opaque, uint64_t gpa, void *buf, unsigned len)
{
	return emu_vm_read_phys(opaque, gpa, buf, len);
}

static int translate_phys_write(void *opaque, uint64_t gpa, const void *buf, unsigned len)
{
	return emu_vm_write_phys(opaque, gpa, buf, len);
}

int emu_vcpu_translate(struct emu_vcpu *vcpu, uint64_t gva, enum emu_access acc, uint64_t *gpa)
{
	struct emu_phys_access phys = { translate_phys_read, translate_phys_write, vcpu->vm };
	struct emu_paging_mode mode;
	struct emu_sregs sregs;
	struct emu_walk w;
	int err;

	(void)acc;
	err = emu_vcpu_get_sregs(vcpu, &sregs);
	if (err)
		return err;
	mode = (struct emu_paging_mode){ .cr0 = sregs.cr0, .cr3 = sregs.cr3, .cr4 = sregs.cr4, .efer = sregs.efer };
	err = emu_page_walk(&mode, &phys, gva, EMU_WALK_NO_CHECK, &w);
	if (err)
		return -EFAULT;
	*gpa = w.gpa;
	return 0;
}

static int translate_copy(struct emu_vcpu *vcpu, uint64_t gva, void *buf, size_t len, bool is_write)
{
	uint8_t *p = buf;

	while (len > 0) {
		size_t chunk = 4096 - (gva & 4095);
		uint64_t gpa;
		int err;

		if (chunk > len)
			chunk = len;
		err = emu_vcpu_translate(vcpu, gva, is_write ? EMU_ACC_WRITE : EMU_ACC_READ, &gpa);
		if (!err)
			err = is_write ? emu_vm_write_phys(vcpu->vm, gpa, p, chunk) : emu_vm_read_phys(vcpu->vm, gpa, p, chunk);
		if (err)
			return -EFAULT;
		gva += chunk;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

int emu_vcpu_read_virt(struct emu_vcpu *vcpu, uint64_t gva, void *buf, size_t len)
{
	return translate_copy(vcpu, gva, buf, len, false);
}

int emu_vcpu_write_virt(struct emu_vcpu *vcpu, uint64_t gva, const void *buf, size_t len)
{
	return translate_copy(vcpu, gva, (void *)buf, len, true);
}
