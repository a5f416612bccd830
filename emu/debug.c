/* SPDX-License-Identifier: MIT */
/*
 * debug.c — the breakpoint table. The debugger inserts and removes breakpoints here; every vCPU
 * turns the table into a struct emu_debug_state for its backend (emu_debug_build_state) on its
 * own thread. Software breakpoints are int3 bytes planted by the core when the backend asks for
 * it (EMU_ACCEL_PLANT_SW_BP) and hidden from emu_vm_debug_read_virt().
 */
#include <errno.h>
#include <string.h>

#include "emu/emu-local.h"

#define EMU_INT3 0xcc

void emu_vm_set_debug_handler(struct emu_vm *vm, emu_debug_handler fn, void *opaque)
{
	pthread_mutex_lock(&vm->lock);
	vm->debug_fn = fn;
	vm->debug_opaque = opaque;
	pthread_mutex_unlock(&vm->lock);
}

static void debug_request_sync(struct emu_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		emu_vcpu_request(vm->vcpus[i], EMU_REQ_DEBUG);
}

void emu_vm_set_step_irqs(struct emu_vm *vm, bool allow)
{
	pthread_mutex_lock(&vm->debug_lock);
	vm->dbg.step_irqs = allow;
	pthread_mutex_unlock(&vm->debug_lock);
	debug_request_sync(vm);
}

void emu_debug_build_state(struct emu_vm *vm, struct emu_vcpu *vcpu, struct emu_debug_state *st)
{
	struct emu_debug_table *t = &vm->dbg;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&vm->debug_lock);
	st->single_step = vcpu->stepping;
	st->step_irqs = t->step_irqs;
	st->nr_sw = t->nr_sw;
	st->sw_addrs = t->sw_addrs;	/* stable: only changed while the VM is paused or under request */
	st->nr_hw = t->nr_hw;
	for (unsigned i = 0; i < t->nr_hw; i++) {
		st->hw[i].kind = t->hw[i].kind;
		st->hw[i].addr = t->hw[i].addr;
		st->hw[i].len = t->hw[i].len;
	}
	pthread_mutex_unlock(&vm->debug_lock);
}

/* ---- software breakpoints ---- */

static int debug_sw_find(const struct emu_debug_table *t, uint64_t addr)
{
	for (unsigned i = 0; i < t->nr_sw; i++)
		if (t->sw[i].addr == addr)
			return (int)i;
	return -1;
}

static int debug_plant(struct emu_vm *vm, struct emu_sw_bp *bp)
{
	static const uint8_t int3 = EMU_INT3;
	uint64_t gpa;
	int err;

	if (!(vm->ops->flags & EMU_ACCEL_PLANT_SW_BP))
		return 0;
	err = emu_vcpu_translate(vm->vcpus[0], bp->addr, EMU_ACC_FETCH, &gpa);
	if (!err)
		err = emu_vm_read_phys(vm, gpa, &bp->orig, 1);
	if (!err)
		err = emu_vm_write_phys(vm, gpa, &int3, 1);
	if (err)
		return err;
	bp->gpa = gpa;
	bp->planted = true;
	return 0;
}

static void debug_unplant(struct emu_vm *vm, struct emu_sw_bp *bp)
{
	uint8_t cur;

	if (!bp->planted)
		return;
	/* Restore only our own byte: the guest may have rewritten its code meanwhile. */
	if (emu_vm_read_phys(vm, bp->gpa, &cur, 1) == 0 && cur == EMU_INT3)
		(void)!emu_vm_write_phys(vm, bp->gpa, &bp->orig, 1);
	bp->planted = false;
}

void emu_debug_unplant_all(struct emu_vm *vm)
{
	pthread_mutex_lock(&vm->debug_lock);
	for (unsigned i = 0; i < vm->dbg.nr_sw; i++)
		debug_unplant(vm, &vm->dbg.sw[i]);
	pthread_mutex_unlock(&vm->debug_lock);
}

void emu_debug_replant_all(struct emu_vm *vm)
{
	pthread_mutex_lock(&vm->debug_lock);
	for (unsigned i = 0; i < vm->dbg.nr_sw; i++) {
		vm->dbg.sw[i].planted = false;
		(void)!debug_plant(vm, &vm->dbg.sw[i]);	/* unmapped after the reload: stays unplanted */
	}
	pthread_mutex_unlock(&vm->debug_lock);
}

static int debug_insert_sw(struct emu_vm *vm, uint64_t addr, char *why, size_t why_len)
{
	struct emu_debug_table *t = &vm->dbg;
	struct emu_sw_bp *bp;
	int err;

	if (debug_sw_find(t, addr) >= 0)
		return 0;
	if (t->nr_sw == EMU_MAX_SW_BPS) {
		snprintf(why, why_len, "all %d software breakpoints are in use", EMU_MAX_SW_BPS);
		return -ENOSPC;
	}
	bp = &t->sw[t->nr_sw];
	*bp = (struct emu_sw_bp){ .addr = addr };
	err = debug_plant(vm, bp);
	if (err) {
		snprintf(why, why_len, "cannot plant a breakpoint at 0x%llx: address not mapped",
			 (unsigned long long)addr);
		return err;
	}
	t->sw_addrs[t->nr_sw++] = addr;
	return 0;
}

static int debug_remove_sw(struct emu_vm *vm, uint64_t addr)
{
	struct emu_debug_table *t = &vm->dbg;
	int i = debug_sw_find(t, addr);

	if (i < 0)
		return -ENOENT;
	debug_unplant(vm, &t->sw[i]);
	t->nr_sw--;
	t->sw[i] = t->sw[t->nr_sw];
	t->sw_addrs[i] = t->sw_addrs[t->nr_sw];
	return 0;
}

/* ---- debug-register breakpoints and watchpoints ---- */

static bool debug_hw_len_is_valid(enum emu_bp_kind kind, uint64_t addr, uint64_t len)
{
	if (kind == EMU_BP_HW)
		return true;
	return (len == 1 || len == 2 || len == 4 || len == 8) && (addr & (len - 1)) == 0;
}

static int debug_hw_find(const struct emu_debug_table *t, enum emu_bp_kind kind, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < t->nr_hw; i++)
		if (t->hw[i].kind == kind && t->hw[i].addr == addr && t->hw[i].len == len)
			return (int)i;
	return -1;
}

static int debug_insert_hw(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len, char *why,
			   size_t why_len)
{
	struct emu_debug_table *t = &vm->dbg;

	if (kind == EMU_BP_HW)
		len = 1;
	if (!debug_hw_len_is_valid(kind, addr, len)) {
		snprintf(why, why_len, "a watchpoint covers 1, 2, 4 or 8 aligned bytes (got %llu at 0x%llx)",
			 (unsigned long long)len, (unsigned long long)addr);
		return -EINVAL;
	}
	if (debug_hw_find(t, kind, addr, len) >= 0)
		return 0;
	if (t->nr_hw == EMU_MAX_HW_BPS) {
		snprintf(why, why_len, "all %d debug registers are in use", EMU_MAX_HW_BPS);
		return -ENOSPC;
	}
	t->hw[t->nr_hw].kind = kind;
	t->hw[t->nr_hw].addr = addr;
	t->hw[t->nr_hw].len = len;
	t->nr_hw++;
	return 0;
}

static int debug_remove_hw(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len)
{
	struct emu_debug_table *t = &vm->dbg;
	int i = debug_hw_find(t, kind, addr, kind == EMU_BP_HW ? 1 : len);

	if (i < 0)
		return -ENOENT;
	t->nr_hw--;
	memmove(&t->hw[i], &t->hw[i + 1], (t->nr_hw - (unsigned)i) * sizeof(t->hw[0]));
	return 0;
}

int emu_vm_insert_breakpoint(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len, char *why,
			     size_t why_len)
{
	char dummy[8];
	int err;

	if (!why || !why_len) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	why[0] = '\0';
	if (kind > EMU_WP_ACCESS) {
		snprintf(why, why_len, "unknown breakpoint kind %d", kind);
		return -EINVAL;
	}
	if (vm->ops->check_debug) {
		err = vm->ops->check_debug(vm, kind, why, why_len);
		if (err)
			return err;
	}
	pthread_mutex_lock(&vm->debug_lock);
	err = kind == EMU_BP_SW ? debug_insert_sw(vm, addr, why, why_len)
				: debug_insert_hw(vm, kind, addr, len, why, why_len);
	pthread_mutex_unlock(&vm->debug_lock);
	if (!err)
		debug_request_sync(vm);
	return err;
}

int emu_vm_remove_breakpoint(struct emu_vm *vm, enum emu_bp_kind kind, uint64_t addr, uint64_t len)
{
	int err;

	pthread_mutex_lock(&vm->debug_lock);
	err = kind == EMU_BP_SW ? debug_remove_sw(vm, addr) : debug_remove_hw(vm, kind, addr, len);
	pthread_mutex_unlock(&vm->debug_lock);
	if (!err)
		debug_request_sync(vm);
	return err;
}

/* Virtual memory as the debugger sees it: planted int3 bytes show their original value. */
int emu_vm_debug_read_virt(struct emu_vm *vm, unsigned vcpu, uint64_t gva, void *buf, size_t len)
{
	struct emu_vcpu *v = emu_vm_vcpu(vm, vcpu);
	uint8_t *out = buf;
	int err;

	if (!v)
		return -EINVAL;
	err = emu_vcpu_read_virt(v, gva, buf, len);
	if (err)
		return err;
	pthread_mutex_lock(&vm->debug_lock);
	for (unsigned i = 0; i < vm->dbg.nr_sw; i++) {
		const struct emu_sw_bp *bp = &vm->dbg.sw[i];
		if (bp->planted && bp->addr - gva < len)
			out[bp->addr - gva] = bp->orig;
	}
	pthread_mutex_unlock(&vm->debug_lock);
	return 0;
}
