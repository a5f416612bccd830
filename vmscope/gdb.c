/* SPDX-License-Identifier: MIT */
/*
 * gdb.c — the gdb stub module of vmscope: options -s, -S and --gdb, and struct gdb_target_ops
 * over emu/emu.h.
 *
 * Where the host cannot do a kind of breakpoint (emu_vm_insert_breakpoint says -EOPNOTSUPP: a
 * nested KVM that does not report int3, or never fires data watchpoints) this module falls back
 * to something that really fires:
 *   - software breakpoints become execute breakpoints in a free debug register (reported to gdb
 *     as software breakpoints);
 *   - write watchpoints are done by single-stepping every vCPU (into interrupt handlers too) and
 *     comparing the watched bytes after each step: slow, but exact for `watch`, which reports
 *     value changes;
 *   - read and access watchpoints are done by single-stepping too, decoding each instruction
 *     (Zydis, gdb-decode.c) to see whether it reads or writes the watched bytes.
 * Nothing is ever reported as set that cannot fire.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/gdbstub.h"
#include "vmscope/gdb-local.h"
#include "vmscope/vmscope.h"

#define GDB_DEFAULT_SPEC "tcp:127.0.0.1:1234"
#define VGDB_MAX_SOFT_WATCH 8
#define VGDB_MAX_SW_AS_HW 4
#define MSR_KERNEL_GS_BASE 0xc0000102u

struct vgdb_watch {
	enum gdb_bp_type type;	/* GDB_WP_WRITE, GDB_WP_READ or GDB_WP_ACCESS */
	uint64_t addr, len;
	uint8_t old[8];
	bool valid;		/* old holds the bytes (readable when last looked) */
};

struct vmscope_gdb {
	const char *spec;
	struct gdb_server *srv;
	struct emu_vm *vm;
	bool step_irqs;				/* what the user asked (monitor step-irqs) */

	pthread_mutex_t lock;
	uint64_t sw_as_hw[VGDB_MAX_SW_AS_HW];	/* software breakpoints living in debug registers */
	unsigned nr_sw_as_hw;
	struct vgdb_watch watch[VGDB_MAX_SOFT_WATCH];
	unsigned nr_watch;

	/* watch stepping: a thread steps the vCPUs while write watchpoints are emulated */
	pthread_t stepper;
	bool stepper_running;
	bool stepping;		/* the debug handler hands STEP events to the stepper */
	bool single;		/* the stepper does one step (gdb's s) */
	unsigned first_vcpu;
	bool stop_req;
	bool have_ev;
	struct emu_debug_event ev;
	pthread_cond_t cond;
};

static struct vmscope_gdb *vgdb_get(struct vmscope *vs)
{
	if (!vs->gdb) {
		vs->gdb = calloc(1, sizeof(*vs->gdb));
		if (vs->gdb) {
			pthread_mutex_init(&vs->gdb->lock, NULL);
			pthread_cond_init(&vs->gdb->cond, NULL);
		}
	}
	return vs->gdb;
}

/* ---- registers ---- */

/* One register's two-bit tag as FSTENV would store it (SDM 8.1.7): valid, zero or special. */
static uint32_t vgdb_value_tag(const uint8_t *v)
{
	uint64_t mant;
	uint16_t exp;

	memcpy(&mant, v, 8);
	memcpy(&exp, v + 8, 2);
	exp &= 0x7fff;
	if (exp == 0x7fff || (exp == 0 && mant != 0) || (exp != 0 && !(mant >> 63)))
		return 2;	/* NaN, infinity, denormal, unnormal */
	return exp == 0 ? 1 : 0;
}

/*
 * gdb's ftag is the full tag word; FXSAVE keeps only the abridged one (bit p: physical register p
 * not empty), so classify each non-empty register's value. fpr[] is in stack order (ST(i)), the
 * tags in physical order: physical p is ST((p - TOP) & 7).
 */
static uint32_t vgdb_full_tag(const struct emu_fpu *f)
{
	unsigned top = f->fsw >> 11 & 7;
	uint32_t tag = 0;

	for (unsigned p = 0; p < 8; p++) {
		uint32_t t = f->ftwx >> p & 1 ? vgdb_value_tag(f->fpr[(p - top) & 7]) : 3;
		tag |= t << (2 * p);
	}
	return tag;
}

static uint8_t vgdb_abridged_tag(uint32_t full)
{
	uint8_t t = 0;

	for (unsigned i = 0; i < 8; i++)
		t |= (uint8_t)(((full >> (2 * i) & 3) != 3) << i);
	return t;
}

static void vgdb_from_emu(struct gdb_x86_regs *r, const struct emu_regs *g, const struct emu_sregs *s,
			  const struct emu_fpu *f, uint64_t kgs)
{
	memset(r, 0, sizeof(*r));
	r->rax = g->rax, r->rbx = g->rbx, r->rcx = g->rcx, r->rdx = g->rdx;
	r->rsi = g->rsi, r->rdi = g->rdi, r->rbp = g->rbp, r->rsp = g->rsp;
	r->r8 = g->r8, r->r9 = g->r9, r->r10 = g->r10, r->r11 = g->r11;
	r->r12 = g->r12, r->r13 = g->r13, r->r14 = g->r14, r->r15 = g->r15;
	r->rip = g->rip;
	r->eflags = (uint32_t)g->rflags;
	r->cs = s->cs.selector, r->ss = s->ss.selector, r->ds = s->ds.selector;
	r->es = s->es.selector, r->fs = s->fs.selector, r->gs = s->gs.selector;
	for (unsigned i = 0; i < 8; i++)
		memcpy(r->st[i], f->fpr[i], 10);
	r->fctrl = f->fcw, r->fstat = f->fsw, r->ftag = vgdb_full_tag(f);
	r->fioff = (uint32_t)f->last_ip, r->fiseg = (uint32_t)(f->last_ip >> 32);
	r->fooff = (uint32_t)f->last_dp, r->foseg = (uint32_t)(f->last_dp >> 32);
	r->fop = f->last_opcode;
	memcpy(r->xmm, f->xmm, sizeof(r->xmm));
	r->mxcsr = f->mxcsr;
	r->fs_base = s->fs.base, r->gs_base = s->gs.base, r->k_gs_base = kgs;
	r->cr0 = s->cr0, r->cr2 = s->cr2, r->cr3 = s->cr3, r->cr4 = s->cr4, r->cr8 = s->cr8;
	r->efer = s->efer;
}

static void vgdb_to_emu_regs(const struct gdb_x86_regs *r, struct emu_regs *g)
{
	g->rax = r->rax, g->rbx = r->rbx, g->rcx = r->rcx, g->rdx = r->rdx;
	g->rsi = r->rsi, g->rdi = r->rdi, g->rbp = r->rbp, g->rsp = r->rsp;
	g->r8 = r->r8, g->r9 = r->r9, g->r10 = r->r10, g->r11 = r->r11;
	g->r12 = r->r12, g->r13 = r->r13, g->r14 = r->r14, g->r15 = r->r15;
	g->rip = r->rip;
	g->rflags = (g->rflags & ~0xffffffffull) | r->eflags;
}

/* Segment selectors: only the selector changes (the descriptor cache is kept, as a debugger
 * write cannot load a descriptor). */
static void vgdb_to_emu_sregs(const struct gdb_x86_regs *r, struct emu_sregs *s)
{
	s->cs.selector = (uint16_t)r->cs, s->ss.selector = (uint16_t)r->ss, s->ds.selector = (uint16_t)r->ds;
	s->es.selector = (uint16_t)r->es, s->fs.selector = (uint16_t)r->fs, s->gs.selector = (uint16_t)r->gs;
	s->fs.base = r->fs_base, s->gs.base = r->gs_base;
	s->cr0 = r->cr0, s->cr2 = r->cr2, s->cr3 = r->cr3, s->cr4 = r->cr4, s->cr8 = r->cr8;
	s->efer = r->efer;
}

static void vgdb_to_emu_fpu(const struct gdb_x86_regs *r, struct emu_fpu *f)
{
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->fpr[i], r->st[i], 10);
	f->fcw = (uint16_t)r->fctrl, f->fsw = (uint16_t)r->fstat, f->ftwx = vgdb_abridged_tag(r->ftag);
	f->last_ip = (uint64_t)r->fiseg << 32 | r->fioff;
	f->last_dp = (uint64_t)r->foseg << 32 | r->fooff;
	f->last_opcode = (uint16_t)r->fop;
	memcpy(f->xmm, r->xmm, sizeof(f->xmm));
	f->mxcsr = r->mxcsr;
}

struct vgdb_state {
	struct emu_regs g;
	struct emu_sregs s;
	struct emu_fpu f;
	uint64_t kgs;
};

static int vgdb_get_state(struct vmscope_gdb *d, unsigned vcpu, struct vgdb_state *st)
{
	struct emu_vcpu *v = emu_vm_vcpu(d->vm, vcpu);
	int rc;

	if (!v)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	rc = emu_vcpu_get_regs(v, &st->g);
	if (!rc)
		rc = emu_vcpu_get_sregs(v, &st->s);
	if (!rc)
		rc = emu_vcpu_get_fpu(v, &st->f);
	if (!rc && emu_vcpu_get_msr(v, MSR_KERNEL_GS_BASE, &st->kgs) < 0)
		st->kgs = 0;	/* not every backend has it: shown as 0 */
	return rc;
}

static int vgdb_read_regs(void *o, unsigned vcpu, struct gdb_x86_regs *r)
{
	struct vgdb_state st;
	int rc = vgdb_get_state(o, vcpu, &st);

	if (!rc)
		vgdb_from_emu(r, &st.g, &st.s, &st.f, st.kgs);
	return rc;
}

/* Writes back only the parts that changed. */
static int vgdb_write_regs(void *o, unsigned vcpu, const struct gdb_x86_regs *r)
{
	struct vmscope_gdb *d = o;
	struct emu_vcpu *v = emu_vm_vcpu(d->vm, vcpu);
	struct vgdb_state st, nw;
	int rc = vgdb_get_state(d, vcpu, &st);

	if (rc)
		return rc;
	nw = st;
	vgdb_to_emu_regs(r, &nw.g);
	vgdb_to_emu_sregs(r, &nw.s);
	vgdb_to_emu_fpu(r, &nw.f);
	if (memcmp(&nw.g, &st.g, sizeof(st.g)))
		rc = emu_vcpu_set_regs(v, &nw.g);
	if (!rc && memcmp(&nw.s, &st.s, sizeof(st.s)))
		rc = emu_vcpu_set_sregs(v, &nw.s);
	if (!rc && memcmp(&nw.f, &st.f, sizeof(st.f)))
		rc = emu_vcpu_set_fpu(v, &nw.f);
	if (!rc && r->k_gs_base != st.kgs)
		rc = emu_vcpu_set_msr(v, MSR_KERNEL_GS_BASE, r->k_gs_base);
	return rc;
}

/* ---- memory ---- */

static int vgdb_read_mem(void *o, unsigned vcpu, uint64_t addr, void *buf, size_t len, bool phys)
{
	struct vmscope_gdb *d = o;

	if (phys)
		return emu_vm_read_phys(d->vm, addr, buf, len);
	return emu_vm_debug_read_virt(d->vm, vcpu, addr, buf, len);
}

static int vgdb_write_mem(void *o, unsigned vcpu, uint64_t addr, const void *buf, size_t len, bool phys)
{
	struct vmscope_gdb *d = o;
	struct emu_vcpu *v = emu_vm_vcpu(d->vm, vcpu);

	if (phys)
		return emu_vm_write_phys(d->vm, addr, buf, len);
	return v ? emu_vcpu_write_virt(v, addr, buf, len) : -EINVAL;
}

/* ---- watchpoints by stepping ---- */

/* Any watched bytes changed? Refreshes the copies; lock held. */
static int vgdb_watch_changed(struct vmscope_gdb *d, unsigned vcpu)
{
	int hit = -1;

	for (unsigned i = 0; i < d->nr_watch; i++) {
		struct vgdb_watch *w = &d->watch[i];
		uint8_t now[8];
		if (w->type == GDB_WP_READ)
			continue;
		bool valid = emu_vm_debug_read_virt(d->vm, vcpu, w->addr, now, w->len) == 0;
		if (valid != w->valid || (valid && memcmp(now, w->old, w->len)))
			hit = hit < 0 ? (int)i : hit;
		w->valid = valid;
		if (valid)
			memcpy(w->old, now, w->len);
	}
	return hit;
}

static void vgdb_watch_snapshot(struct vmscope_gdb *d)
{
	(void)vgdb_watch_changed(d, 0);
}

static void vgdb_report(struct vmscope_gdb *d, enum gdb_stop_reason reason, int vcpu, uint64_t addr)
{
	struct gdb_stop stop = { .reason = reason, .vcpu = vcpu, .addr = addr };

	gdb_server_notify_stop(d->srv, &stop);
}

static enum gdb_stop_reason vgdb_stop_reason(struct vmscope_gdb *d, const struct emu_debug_event *ev);

static bool vgdb_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The read or access watchpoint the next instruction of vcpu touches, or -1; lock held. */
static int vgdb_next_insn_hit(struct vmscope_gdb *d, unsigned vcpu)
{
	struct emu_vcpu *v = emu_vm_vcpu(d->vm, vcpu);
	struct emu_regs g;
	struct emu_sregs s;
	struct vgdb_access acc[8];
	uint8_t code[15];
	size_t len = sizeof(code);
	bool any = false;

	for (unsigned i = 0; i < d->nr_watch; i++)
		any |= d->watch[i].type != GDB_WP_WRITE;
	if (!any || emu_vcpu_get_regs(v, &g) < 0 || emu_vcpu_get_sregs(v, &s) < 0)
		return -1;
	uint64_t pc = g.rip + (s.cs.l ? 0 : s.cs.base);
	while (len > 0 && emu_vm_debug_read_virt(d->vm, vcpu, pc, code, len) < 0)
		len = len > 4096 - (pc & 4095) ? 4096 - (pc & 4095) : len - 1;	/* up to the page end */
	int n = vmscope_gdb_insn_accesses(&g, &s, code, len, acc, 8);
	for (int k = 0; k < n; k++) {
		for (unsigned i = 0; i < d->nr_watch; i++) {
			const struct vgdb_watch *w = &d->watch[i];
			bool kind = w->type == GDB_WP_READ ? acc[k].read : w->type == GDB_WP_ACCESS;
			if (kind && vgdb_ranges_overlap(acc[k].addr, acc[k].len, w->addr, w->len))
				return (int)i;
		}
	}
	return -1;
}

/* One step of vcpu; false when the stepping must end (stop requested, something to report). */
static bool vgdb_step_once(struct vmscope_gdb *d, unsigned vcpu)
{
	int pre = vgdb_next_insn_hit(d, vcpu);

	d->have_ev = false;
	pthread_mutex_unlock(&d->lock);
	int rc = emu_vm_resume(d->vm, (int)vcpu);
	pthread_mutex_lock(&d->lock);
	if (rc < 0)
		return false;	/* the guest ended: emu_vm_wait's caller reports it */
	while (!d->have_ev && !d->stop_req)
		pthread_cond_wait(&d->cond, &d->lock);
	if (d->stop_req)
		return false;
	if (d->ev.reason != EMU_DBG_STEP) {
		vgdb_report(d, vgdb_stop_reason(d, &d->ev), (int)d->ev.vcpu, d->ev.addr);
		return false;
	}
	if (pre >= 0) {
		vgdb_report(d, d->watch[pre].type == GDB_WP_READ ? GDB_STOP_RWATCH : GDB_STOP_AWATCH, (int)vcpu,
			    d->watch[pre].addr);
		return false;
	}
	int w = vgdb_watch_changed(d, vcpu);
	if (w >= 0) {
		vgdb_report(d, d->watch[w].type == GDB_WP_ACCESS ? GDB_STOP_AWATCH : GDB_STOP_WATCH, (int)vcpu,
			    d->watch[w].addr);
		return false;
	}
	if (d->single) {
		vgdb_report(d, GDB_STOP_STEP, (int)vcpu, 0);
		return false;
	}
	return true;
}

static void *vgdb_stepper(void *arg)
{
	struct vmscope_gdb *d = arg;
	unsigned n = emu_vm_nr_vcpus(d->vm), vcpu = d->first_vcpu;

	pthread_mutex_lock(&d->lock);
	while (vgdb_step_once(d, vcpu))
		vcpu = (vcpu + 1) % n;
	d->stepping = false;
	pthread_mutex_unlock(&d->lock);
	emu_vm_set_step_irqs(d->vm, d->step_irqs);
	return NULL;
}

static void vgdb_stepper_join(struct vmscope_gdb *d)
{
	if (!d->stepper_running)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop_req = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->stepper, NULL);
	d->stepper_running = false;
	d->stop_req = false;
}

/* ---- run control ---- */

static int vgdb_resume(void *o, int step_vcpu)
{
	struct vmscope_gdb *d = o;

	vgdb_stepper_join(d);
	pthread_mutex_lock(&d->lock);
	bool watching = d->nr_watch > 0;
	if (watching)
		vgdb_watch_snapshot(d);
	d->stepping = watching;
	d->single = step_vcpu >= 0;
	d->first_vcpu = step_vcpu >= 0 ? (unsigned)step_vcpu : 0;
	pthread_mutex_unlock(&d->lock);
	if (!d->stepping)
		return emu_vm_resume(d->vm, step_vcpu);
	/* watchpoints by stepping: every instruction, interrupt handlers included (except for
	 * gdb's own single steps, which keep the user's step-irqs setting) */
	if (!d->single)
		emu_vm_set_step_irqs(d->vm, true);
	int rc = pthread_create(&d->stepper, NULL, vgdb_stepper, d);
	if (rc) {
		d->stepping = false;
		emu_vm_set_step_irqs(d->vm, d->step_irqs);
		return -rc;
	}
	d->stepper_running = true;
	return 0;
}

static int vgdb_stop(void *o)
{
	struct vmscope_gdb *d = o;

	vgdb_stepper_join(d);
	return emu_vm_pause(d->vm);
}

static enum gdb_stop_reason vgdb_stop_reason(struct vmscope_gdb *d, const struct emu_debug_event *ev)
{
	static const enum gdb_stop_reason map[] = {
		[EMU_DBG_STEP] = GDB_STOP_STEP, [EMU_DBG_SWBREAK] = GDB_STOP_SWBREAK,
		[EMU_DBG_HWBREAK] = GDB_STOP_HWBREAK, [EMU_DBG_WATCH_WRITE] = GDB_STOP_WATCH,
		[EMU_DBG_WATCH_READ] = GDB_STOP_RWATCH, [EMU_DBG_WATCH_ACCESS] = GDB_STOP_AWATCH,
		[EMU_DBG_PAUSED] = GDB_STOP_SIGNAL,
	};
	if ((unsigned)ev->reason >= sizeof(map) / sizeof(map[0]))
		return GDB_STOP_SIGNAL;
	if (ev->reason == EMU_DBG_HWBREAK) {
		for (unsigned i = 0; i < d->nr_sw_as_hw; i++)
			if (d->sw_as_hw[i] == ev->addr)
				return GDB_STOP_SWBREAK;	/* gdb set it with Z0 */
	}
	return map[ev->reason];
}

/* From a vCPU thread, every other vCPU parked. */
static void vgdb_debug_handler(void *opaque, const struct emu_debug_event *ev)
{
	struct vmscope_gdb *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (d->stepping) {
		d->ev = *ev;
		d->have_ev = true;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	enum gdb_stop_reason reason = vgdb_stop_reason(d, ev);
	pthread_mutex_unlock(&d->lock);
	vgdb_report(d, reason, (int)ev->vcpu, ev->addr);
}

/* ---- breakpoints ---- */

static const enum emu_bp_kind vgdb_kinds[] = {
	[GDB_BP_SW] = EMU_BP_SW, [GDB_BP_HW] = EMU_BP_HW, [GDB_WP_WRITE] = EMU_WP_WRITE,
	[GDB_WP_READ] = EMU_WP_READ, [GDB_WP_ACCESS] = EMU_WP_ACCESS,
};

static int vgdb_sw_as_hw(struct vmscope_gdb *d, uint64_t addr, char *why, size_t why_len)
{
	char hw_why[160] = "";

	if (d->nr_sw_as_hw >= VGDB_MAX_SW_AS_HW) {
		snprintf(why, why_len, "int3 is not reported on this host and every debug register is in use");
		return -ENOSPC;
	}
	int rc = emu_vm_insert_breakpoint(d->vm, EMU_BP_HW, addr, 1, hw_why, sizeof(hw_why));
	if (rc < 0) {
		snprintf(why, why_len, "int3 is not reported on this host, and no debug register: %s", hw_why);
		return rc;
	}
	d->sw_as_hw[d->nr_sw_as_hw++] = addr;
	return 0;
}

static int vgdb_soft_watch(struct vmscope_gdb *d, enum gdb_bp_type type, uint64_t addr, uint64_t len, char *why,
			   size_t why_len)
{
	if (len == 0 || len > 8) {
		snprintf(why, why_len, "a watchpoint covers 1 to 8 bytes");
		return -EINVAL;
	}
	if (d->nr_watch >= VGDB_MAX_SOFT_WATCH) {
		snprintf(why, why_len, "all %d stepped watchpoints are in use", VGDB_MAX_SOFT_WATCH);
		return -ENOSPC;
	}
	d->watch[d->nr_watch++] = (struct vgdb_watch){ .type = type, .addr = addr, .len = len };
	fprintf(stderr, "vmscope: gdb: this host's KVM never fires data watchpoints; watching 0x%llx by "
			"single-stepping (slow)\n", (unsigned long long)addr);
	return 0;
}

static int vgdb_insert_bp(void *o, enum gdb_bp_type type, uint64_t addr, uint64_t len, char *why, size_t why_len)
{
	struct vmscope_gdb *d = o;
	char emu_why[160] = "";

	if ((unsigned)type > GDB_WP_ACCESS)
		return -EINVAL;
	int rc = emu_vm_insert_breakpoint(d->vm, vgdb_kinds[type], addr, len, emu_why, sizeof(emu_why));
	if (rc != -EOPNOTSUPP) {
		snprintf(why, why_len, "%s", emu_why);
		return rc;
	}
	pthread_mutex_lock(&d->lock);
	if (type == GDB_BP_SW)
		rc = vgdb_sw_as_hw(d, addr, why, why_len);
	else if (type != GDB_BP_HW)
		rc = vgdb_soft_watch(d, type, addr, len, why, why_len);
	else
		snprintf(why, why_len, "%s", emu_why);	/* no fallback for an execute breakpoint */
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int vgdb_remove_fallback(struct vmscope_gdb *d, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	if (type == GDB_BP_SW) {
		for (unsigned i = 0; i < d->nr_sw_as_hw; i++) {
			if (d->sw_as_hw[i] == addr) {
				d->sw_as_hw[i] = d->sw_as_hw[--d->nr_sw_as_hw];
				return emu_vm_remove_breakpoint(d->vm, EMU_BP_HW, addr, 1);
			}
		}
	}
	for (unsigned i = 0; i < d->nr_watch; i++) {
		if (d->watch[i].type == type && d->watch[i].addr == addr && d->watch[i].len == len) {
			d->watch[i] = d->watch[--d->nr_watch];
			return 0;
		}
	}
	return -ENOENT;
}

static int vgdb_remove_bp(void *o, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct vmscope_gdb *d = o;

	if ((unsigned)type > GDB_WP_ACCESS)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	int rc = vgdb_remove_fallback(d, type, addr, len);
	pthread_mutex_unlock(&d->lock);
	if (rc == -ENOENT)
		rc = emu_vm_remove_breakpoint(d->vm, vgdb_kinds[type], addr, len);
	return rc;
}

/* ---- the rest ---- */

static unsigned vgdb_nr_vcpus(void *o)
{
	return emu_vm_nr_vcpus(((struct vmscope_gdb *)o)->vm);
}

static int vgdb_kill(void *o)
{
	struct vmscope_gdb *d = o;

	emu_vm_request_end(d->vm, EMU_END_QUIT, 0, "ended by gdb");
	return 0;
}

static int vgdb_reset(void *o)
{
	return emu_vm_reset(((struct vmscope_gdb *)o)->vm);
}

static int vgdb_set_step_irqs(void *o, bool on)
{
	struct vmscope_gdb *d = o;

	d->step_irqs = on;
	emu_vm_set_step_irqs(d->vm, on);
	return 0;
}

static int vgdb_stats(void *o, struct gdb_out *out)
{
	struct vmscope_gdb *d = o;
	struct emu_stat st[256];
	int n = emu_vm_stats(d->vm, st, 256);

	if (n < 0)
		return n;
	for (int i = 0; i < n && i < 256; i++)
		gdb_out_printf(out, "%-32s %llu\n", st[i].name, (unsigned long long)st[i].value);
	return 0;
}

/* The core's full dump (segments with their descriptor caches, tables, control registers). */
static int vgdb_sysinfo(void *o, unsigned vcpu, struct gdb_out *out)
{
	struct vmscope_gdb *d = o;
	struct emu_vcpu *v = emu_vm_vcpu(d->vm, vcpu);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!v || !f) {
		if (f)
			fclose(f);
		free(text);
		return -EINVAL;
	}
	emu_vcpu_dump(v, f);
	fclose(f);
	gdb_out_printf(out, "--- system state ---\n");
	gdb_out_write(out, text, len);
	free(text);
	return 0;
}

static int vgdb_thread_info(void *o, unsigned vcpu, char *buf, size_t len)
{
	struct vmscope_gdb *d = o;

	snprintf(buf, len, "%s, %s", emu_vm_accel_name(d->vm), emu_vm_is_paused(d->vm) ? "stopped" : "running");
	return 0;
}

static const struct gdb_target_ops vgdb_ops = {
	.nr_vcpus = vgdb_nr_vcpus,
	.read_regs = vgdb_read_regs,
	.write_regs = vgdb_write_regs,
	.read_mem = vgdb_read_mem,
	.write_mem = vgdb_write_mem,
	.resume = vgdb_resume,
	.stop = vgdb_stop,
	.insert_bp = vgdb_insert_bp,
	.remove_bp = vgdb_remove_bp,
	.kill = vgdb_kill,
	.reset = vgdb_reset,
	.set_step_irqs = vgdb_set_step_irqs,
	.stats = vgdb_stats,
	.sysinfo = vgdb_sysinfo,
	.thread_info = vgdb_thread_info,
};

/* ---- the module: options and hooks ---- */

static int vgdb_opt_s(struct vmscope *vs, const char *arg)
{
	struct vmscope_gdb *d = vgdb_get(vs);

	if (!d)
		return vmscope_usage_error(vs, "out of memory");
	d->spec = GDB_DEFAULT_SPEC;
	return 0;
}

static int vgdb_opt_gdb(struct vmscope *vs, const char *arg)
{
	struct vmscope_gdb *d = vgdb_get(vs);
	char host[256], path[256], why[256];
	unsigned port;
	bool is_unix;

	if (!d)
		return vmscope_usage_error(vs, "out of memory");
	if (gdb_spec_parse(arg, &is_unix, host, sizeof(host), &port, path, sizeof(path), why, sizeof(why)) < 0)
		return vmscope_usage_error(vs, "--gdb %s", why);
	d->spec = arg;
	return 0;
}

static int vgdb_opt_S(struct vmscope *vs, const char *arg)
{
	vs->cfg.start_paused = true;
	return 0;
}

static const struct vmscope_option vgdb_options[] = {
	{ "gdb-default", 's', NULL, "gdb server on tcp 127.0.0.1:1234 (same as --gdb tcp:127.0.0.1:1234)", vgdb_opt_s },
	{ "gdb", 256 + 'g', "SPEC", "gdb server on tcp:HOST:PORT or unix:PATH (mode 0600)", vgdb_opt_gdb },
	{ "start-paused", 'S', NULL, "do not start the vCPUs until gdb (or QMP cont) resumes them", vgdb_opt_S },
	{ NULL, 0, NULL, NULL, NULL },
};

static int vgdb_attach(struct vmscope *vs, struct emu_vm *vm)
{
	struct vmscope_gdb *d = vs->gdb;
	char why[256];

	if (!d || !d->spec)
		return 0;
	d->vm = vm;
	struct gdb_server_config cfg = { .spec = d->spec, .ops = &vgdb_ops, .opaque = d,
					 .target_running = !vs->cfg.start_paused };
	int rc = gdb_server_create(&cfg, &d->srv, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "%s: gdb server: %s\n", vs->prog, why);
		return VMSCOPE_EXIT_HOST;
	}
	emu_vm_set_debug_handler(vm, vgdb_debug_handler, d);
	/* monitor commands of other modules: registered before the server thread starts */
	if (gdb_server_add_monitor(d->srv, "trace", "on|off PATTERN | list [PATTERN] | flush: trace events",
				   vmscope_trace_gdb_monitor, vs) < 0)
		fprintf(stderr, "%s: gdb server: cannot add monitor trace\n", vs->prog);
	if (gdb_server_start(d->srv) < 0) {
		fprintf(stderr, "%s: gdb server: cannot start its thread\n", vs->prog);
		return VMSCOPE_EXIT_HOST;
	}
	return 0;
}

static void vgdb_detach(struct vmscope *vs, struct emu_vm *vm)
{
	struct vmscope_gdb *d = vs->gdb;
	struct emu_end end;

	if (!d)
		return;
	if (d->srv) {
		vgdb_stepper_join(d);
		emu_vm_wait(vm, &end);	/* already over: just the reason */
		struct gdb_stop stop = { .reason = GDB_STOP_EXITED, .vcpu = -1,
					 .status = end.reason == EMU_END_DEBUG_EXIT ? end.status : 0 };
		gdb_server_notify_stop(d->srv, &stop);	/* a waiting gdb gets W */
		emu_vm_set_debug_handler(vm, NULL, NULL);
		gdb_server_destroy(d->srv);
	}
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
	vs->gdb = NULL;
}

const struct vmscope_module vmscope_gdb_module = {
	.name = "gdb",
	.options = vgdb_options,
	.attach = vgdb_attach,
	.detach = vgdb_detach,
};
