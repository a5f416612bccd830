/* SPDX-License-Identifier: MIT */
/*
 * accel.c — the interpreter as an accelerator (emu_interp_accel_ops, "interp"): one struct
 * x86_cpu per vCPU over the VM's RAM; port and MMIO accesses go straight to emu_io_dispatch()
 * from inside the run loop (no exit per access), interrupts come from the vCPU's local APIC (and
 * the PIC behind vCPU 0's LINT0).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/accel.h"
#include "emu/x86/x86.h"
#include "emu/trace-events.h"
#include "emu/x86/trace-events.h"

struct interp_vcpu {
	struct x86_cpu *cpu;
	struct emu_vcpu *vcpu;
	struct emu_vm *vm;
	unsigned polls;		/* has_request polls, for the RIP sampling period */
};

#define RIP_SAMPLE_POLLS 16	/* one RIP sample every 16 polls (the run loop polls every 64 blocks) */

static struct interp_vcpu *iv(struct emu_vcpu *vcpu)
{
	return emu_vcpu_accel_data(vcpu);
}

/* ---- the bus the CPU sees ---- */

/* Tracepoints: an access is where KVM would exit to user space, so it is traced as an exit (with
 * the RIP after the instruction, as KVM reports it) and a return to the guest: both backends give
 * the same event sequence. */
static void bus_trace_exit(struct interp_vcpu *v, const char *why)
{
	if (trace_vcpu_exit_is_enabled())
		trace_vcpu_exit(emu_vcpu_index(v->vcpu), why, v->cpu->next_rip);
}

/* Every guest port or MMIO access: traced as an exit and a re-entry, as KVM reports them. */
static inline uint64_t bus_access(struct interp_vcpu *v, enum emu_io_space space, uint64_t addr, unsigned size,
				  bool is_write, uint64_t value)
{
	bus_trace_exit(v, space == EMU_IO_MMIO ? "mmio" : "io");
	uint64_t r = emu_io_dispatch(v->vm, v->vcpu, space, addr, size, is_write, value);
	trace_vcpu_run(emu_vcpu_index(v->vcpu));
	return r;
}

static uint64_t bus_mmio_read(void *o, uint64_t gpa, unsigned size)
{
	return bus_access(o, EMU_IO_MMIO, gpa, size, false, 0);
}

/* An MMIO write (a local APIC EOI or TPR write) may uncover a pending interrupt, as port
 * writes do: look at the INTR line at the next block boundary. */
static void bus_mmio_write(void *o, uint64_t gpa, unsigned size, uint64_t value)
{
	(void)bus_access(o, EMU_IO_MMIO, gpa, size, true, value);
	((struct interp_vcpu *)o)->cpu->irq_check = true;
}

static uint64_t bus_pio_read(void *o, uint16_t port, unsigned size)
{
	return bus_access(o, EMU_IO_PIO, port, size, false, 0);
}

static void bus_pio_write(void *o, uint16_t port, unsigned size, uint64_t value)
{
	(void)bus_access(o, EMU_IO_PIO, port, size, true, value);
}

/* Each vCPU's own INTR line: its local APIC (and, for vCPU 0, the PIC behind LINT0). */
static bool bus_intr_is_pending(void *o)
{
	return emu_vcpu_intr_is_pending(((struct interp_vcpu *)o)->vcpu);
}

static int bus_intr_ack(void *o)
{
	return emu_vcpu_intr_ack(((struct interp_vcpu *)o)->vcpu);
}

/* Polled every 64 blocks by the run loop: also where the RIP is sampled for profiles. */
static bool bus_has_request(void *o)
{
	struct interp_vcpu *v = o;
	if (trace_x86_rip_sample_is_enabled() && ++v->polls % RIP_SAMPLE_POLLS == 0)
		trace_x86_rip_sample(emu_vcpu_index(v->vcpu), v->cpu->rip);
	return emu_vcpu_has_request(v->vcpu);
}

static uint64_t bus_clock_ns(void *o)
{
	return emu_vm_clock_ns(((struct interp_vcpu *)o)->vm);
}

/* ---- lifetime ---- */

static int interp_probe(char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return 0;
}

/* Per VM: the bus lock locked instructions take when no host atomic covers them (lock.c). */
struct interp_vm {
	pthread_mutex_t bus_lock;
};

static int interp_vm_init(struct emu_vm *vm, char *why, size_t why_len)
{
	struct interp_vm *ivm = calloc(1, sizeof(*ivm));
	if (!ivm) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&ivm->bus_lock, NULL);
	emu_vm_set_accel_data(vm, ivm);
	return 0;
}

static void interp_vm_destroy(struct emu_vm *vm)
{
	struct interp_vm *ivm = emu_vm_accel_data(vm);
	if (!ivm)
		return;
	pthread_mutex_destroy(&ivm->bus_lock);
	free(ivm);
	emu_vm_set_accel_data(vm, NULL);
}

static int interp_vcpu_init(struct emu_vcpu *vcpu)
{
	struct interp_vcpu *v = calloc(1, sizeof(*v));
	struct x86_bus bus;
	int err;
	if (!v)
		return -ENOMEM;
	v->vcpu = vcpu;
	v->vm = emu_vcpu_vm(vcpu);
	memset(&bus, 0, sizeof(bus));
	bus.ram = emu_vm_ram(v->vm);
	bus.ram_size = emu_vm_ram_size(v->vm);
	bus.opaque = v;
	bus.mmio_read = bus_mmio_read;
	bus.mmio_write = bus_mmio_write;
	bus.pio_read = bus_pio_read;
	bus.pio_write = bus_pio_write;
	bus.intr_is_pending = bus_intr_is_pending;
	bus.intr_ack = bus_intr_ack;
	bus.has_request = bus_has_request;
	bus.bus_lock = &((struct interp_vm *)emu_vm_accel_data(v->vm))->bus_lock;
	if (emu_vm_config(v->vm)->icount)
		bus.clock_ns = bus_clock_ns;
	err = x86_cpu_create(&bus, &v->cpu);
	if (err) {
		free(v);
		return err;
	}
	emu_vcpu_set_accel_data(vcpu, v);
	return 0;
}

static void interp_vcpu_destroy(struct emu_vcpu *vcpu)
{
	struct interp_vcpu *v = iv(vcpu);
	if (!v)
		return;
	x86_cpu_destroy(v->cpu);
	free(v);
	emu_vcpu_set_accel_data(vcpu, NULL);
}

/* ---- running ---- */

static const enum emu_debug_reason debug_reasons[] = {
	[X86_DBG_STEP] = EMU_DBG_STEP, [X86_DBG_SWBREAK] = EMU_DBG_SWBREAK, [X86_DBG_HWBREAK] = EMU_DBG_HWBREAK,
	[X86_DBG_WATCH_WRITE] = EMU_DBG_WATCH_WRITE, [X86_DBG_WATCH_READ] = EMU_DBG_WATCH_READ,
	[X86_DBG_WATCH_ACCESS] = EMU_DBG_WATCH_ACCESS,
};

/* Longest run between two looks at the device timers under --clock icount, in instructions. */
#define ICOUNT_SLICE (1ull << 22)

/* Instructions until the clock reaches next (at least 1), at most ICOUNT_SLICE. */
static uint64_t icount_budget(uint64_t now, uint64_t next, unsigned shift)
{
	uint64_t n;

	if (next == EMU_NO_DEADLINE)
		return ICOUNT_SLICE;
	if (next <= now)
		return 1;
	n = ((next - now - 1) >> shift) + 1;
	return n < ICOUNT_SLICE ? n : ICOUNT_SLICE;
}

/*
 * --clock icount: run until the next device timer deadline, fire what is due, again; a halted
 * vCPU skips the clock to the next deadline instead of waiting for the host's time. Only when
 * no timer is armed does the core get X86_RUN_HLT (it then sleeps until a request: serial
 * input, gdb, QMP). Everything here happens at instruction counts, never at host times.
 */
static enum x86_run_result interp_run_icount(struct interp_vcpu *v)
{
	unsigned shift = emu_vm_config(v->vm)->icount_shift;

	for (;;) {
		uint64_t now = emu_vm_clock_ns(v->vm), next = emu_vm_timers_next_ns(v->vm);
		enum x86_run_result run;

		if (next <= now) {
			emu_vm_timers_poll(v->vm);
			next = emu_vm_timers_next_ns(v->vm);
		}
		run = x86_cpu_run(v->cpu, icount_budget(now, next, shift));
		if (run == X86_RUN_BUDGET)
			continue;
		if (run != X86_RUN_HLT)
			return run;
		emu_vm_timers_poll(v->vm);
		if (!(v->cpu->rflags & X86_IF))
			return run;	/* cli; hlt: the core decides (nothing can wake it) */
		if (emu_vcpu_intr_is_pending(v->vcpu))
			continue;
		next = emu_vm_timers_next_ns(v->vm);
		if (next == EMU_NO_DEADLINE)
			return run;
		emu_vm_clock_skip_to(v->vm, next);
	}
}

static uint64_t interp_icount(struct emu_vcpu *vcpu)
{
	struct interp_vcpu *v = iv(vcpu);

	return v ? v->cpu->icount : 0;
}

static int interp_vcpu_run(struct emu_vcpu *vcpu, struct emu_exit *ex)
{
	struct x86_cpu *cpu = iv(vcpu)->cpu;
	static const char *const exit_names[] = { "hlt", "debug", "shutdown", "request" };
	int run;

	trace_vcpu_run(emu_vcpu_index(vcpu));
	run = emu_vm_config(iv(vcpu)->vm)->icount ? interp_run_icount(iv(vcpu)) : x86_cpu_run(cpu, 0);
	trace_vcpu_exit(emu_vcpu_index(vcpu), exit_names[run == X86_RUN_HLT ? 0 : run == X86_RUN_DEBUG ? 1 :
							      run == X86_RUN_SHUTDOWN ? 2 : 3], cpu->rip);
	switch (run) {
	case X86_RUN_HLT:
		ex->reason = EMU_EXIT_HLT;
		break;
	case X86_RUN_DEBUG:
		ex->reason = EMU_EXIT_DEBUG;
		ex->debug.reason = debug_reasons[cpu->debug_reason];
		ex->debug.addr = cpu->debug_addr;
		break;
	case X86_RUN_SHUTDOWN:
		cpu->shutdown = false;
		ex->reason = EMU_EXIT_SHUTDOWN;
		break;
	default:
		ex->reason = EMU_EXIT_REQUEST;
		break;
	}
	return 0;
}

static void interp_kick(struct emu_vcpu *vcpu)
{
	struct interp_vcpu *v = iv(vcpu);
	if (v)
		__atomic_store_n(&v->cpu->kick, 1, __ATOMIC_RELAXED);
}

/* ---- registers ---- */

static int interp_get_regs(struct emu_vcpu *vcpu, struct emu_regs *r)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	uint64_t *dst[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			      &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	for (int i = 0; i < 16; i++)
		*dst[i] = c->r[i];
	r->rip = c->rip;
	r->rflags = x86_get_rflags(c);
	return 0;
}

static int interp_set_regs(struct emu_vcpu *vcpu, const struct emu_regs *r)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	const uint64_t *src[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
				    &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	for (int i = 0; i < 16; i++)
		c->r[i] = *src[i];
	c->rip = r->rip;
	x86_set_rflags(c, r->rflags);
	x86_debug_changed(c);
	return 0;
}

static void seg_out(const struct x86_seg *s, struct emu_segment *e)
{
	*e = (struct emu_segment){
		.base = s->base, .limit = s->limit, .selector = s->sel, .type = X86_AR_TYPE(s->ar),
		.present = !!(s->ar & X86_AR_P), .dpl = X86_AR_DPL(s->ar), .db = !!(s->ar & X86_AR_DB),
		.s = !!(s->ar & X86_AR_S), .l = !!(s->ar & X86_AR_L), .g = !!(s->ar & X86_AR_G),
		.avl = !!(s->ar & X86_AR_AVL), .unusable = !!(s->ar & X86_AR_UNUSABLE),
	};
}

static void seg_in(struct x86_seg *s, const struct emu_segment *e)
{
	s->base = e->base;
	s->limit = e->limit;
	s->sel = e->selector;
	s->ar = (e->type & 15u) | (e->s ? X86_AR_S : 0) | ((e->dpl & 3u) << 5) | (e->present ? X86_AR_P : 0) |
		(e->avl ? X86_AR_AVL : 0) | (e->l ? X86_AR_L : 0) | (e->db ? X86_AR_DB : 0) | (e->g ? X86_AR_G : 0) |
		(e->unusable ? X86_AR_UNUSABLE : 0);
}

/* emu_sregs segment fields in x86_cpu order: one table for both directions. */
static const size_t sreg_off[X86_NSEG] = {
	offsetof(struct emu_sregs, es), offsetof(struct emu_sregs, cs), offsetof(struct emu_sregs, ss),
	offsetof(struct emu_sregs, ds), offsetof(struct emu_sregs, fs), offsetof(struct emu_sregs, gs),
	offsetof(struct emu_sregs, ldt), offsetof(struct emu_sregs, tr),
};

static int interp_get_sregs(struct emu_vcpu *vcpu, struct emu_sregs *s)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	for (int i = 0; i < X86_NSEG; i++)
		seg_out(&c->seg[i], (struct emu_segment *)((char *)s + sreg_off[i]));
	s->gdt = (struct emu_dtable){ .base = c->gdt.base, .limit = c->gdt.limit };
	s->idt = (struct emu_dtable){ .base = c->idt.base, .limit = c->idt.limit };
	s->cr0 = c->cr0, s->cr2 = c->cr2, s->cr3 = c->cr3, s->cr4 = c->cr4, s->cr8 = c->cr8;
	s->efer = c->efer;
	s->apic_base = c->apic_base;
	return 0;
}

static int interp_set_sregs(struct emu_vcpu *vcpu, const struct emu_sregs *s)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	for (int i = 0; i < X86_NSEG; i++)
		seg_in(&c->seg[i], (const struct emu_segment *)((const char *)s + sreg_off[i]));
	c->gdt.base = s->gdt.base, c->gdt.limit = s->gdt.limit;
	c->idt.base = s->idt.base, c->idt.limit = s->idt.limit;
	c->cr0 = s->cr0 | 0x10, c->cr2 = s->cr2, c->cr3 = s->cr3, c->cr4 = s->cr4, c->cr8 = s->cr8;
	c->efer = s->efer;
	if ((c->efer & (1u << 8)) && (c->cr0 & (1u << 31)))
		c->efer |= 1u << 10;
	c->apic_base = s->apic_base;
	c->halted = false;
	x86_state_changed(c);
	return 0;
}

/* struct emu_fpu is KVM's kvm_fpu: the FXSAVE image's fields (64-bit layout), ST(i) in order. */
static int interp_get_fpu(struct emu_vcpu *vcpu, struct emu_fpu *f)
{
	uint8_t img[512];
	x86_fpu_save(iv(vcpu)->cpu, img, true);
	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->fpr[i], img + 32 + 16 * i, 16);
	memcpy(&f->fcw, img, 2);
	memcpy(&f->fsw, img + 2, 2);
	f->ftwx = img[4];
	memcpy(&f->last_opcode, img + 6, 2);
	memcpy(&f->last_ip, img + 8, 8);
	memcpy(&f->last_dp, img + 16, 8);
	memcpy(&f->mxcsr, img + 24, 4);
	memcpy(f->xmm, img + 160, sizeof(f->xmm));
	return 0;
}

static int interp_set_fpu(struct emu_vcpu *vcpu, const struct emu_fpu *f)
{
	uint8_t img[512];
	x86_fpu_save(iv(vcpu)->cpu, img, true);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, f->fpr[i], 10);
	memcpy(img, &f->fcw, 2);
	memcpy(img + 2, &f->fsw, 2);
	img[4] = f->ftwx;
	memcpy(img + 6, &f->last_opcode, 2);
	memcpy(img + 8, &f->last_ip, 8);
	memcpy(img + 16, &f->last_dp, 8);
	memcpy(img + 24, &f->mxcsr, 4);
	memcpy(img + 160, f->xmm, sizeof(f->xmm));
	return x86_fpu_load(iv(vcpu)->cpu, img, true);
}

static int interp_get_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t *value)
{
	return x86_msr_read(iv(vcpu)->cpu, index, value);
}

static int interp_set_msr(struct emu_vcpu *vcpu, uint32_t index, uint64_t value)
{
	return x86_msr_write(iv(vcpu)->cpu, index, value);
}

static int interp_get_dregs(struct emu_vcpu *vcpu, struct emu_dregs *d)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	memcpy(d->db, c->dr, sizeof(d->db));
	d->dr6 = c->dr6;
	d->dr7 = c->dr7;
	return 0;
}

/* ---- debugging ---- */

static uint8_t bp_kind(enum emu_bp_kind k)
{
	switch (k) {
	case EMU_WP_WRITE: return 1;
	case EMU_WP_READ: return 2;
	case EMU_WP_ACCESS: return 3;
	default: return 0;
	}
}

static int interp_set_debug(struct emu_vcpu *vcpu, const struct emu_debug_state *d)
{
	struct x86_cpu *c = iv(vcpu)->cpu;
	unsigned n = d->nr_sw < 64 ? d->nr_sw : 64;
	c->single_step = d->single_step;
	c->step_irqs = d->step_irqs;
	c->nr_sw_bps = n;
	if (n)
		memcpy(c->sw_bps, d->sw_addrs, n * sizeof(uint64_t));
	c->nr_hw_bps = d->nr_hw < 4 ? d->nr_hw : 4;
	for (unsigned i = 0; i < c->nr_hw_bps; i++) {
		c->hw_bps[i].kind = bp_kind(d->hw[i].kind);
		c->hw_bps[i].addr = d->hw[i].addr;
		c->hw_bps[i].len = (uint8_t)(d->hw[i].len ? d->hw[i].len : 1);
	}
	x86_debug_changed(c);
	return 0;
}

static void interp_phys_written(struct emu_vm *vm, uint64_t gpa, size_t len)
{
	for (unsigned i = 0; i < emu_vm_nr_vcpus(vm); i++) {
		struct interp_vcpu *v = emu_vcpu_accel_data(emu_vm_vcpu(vm, i));
		if (v)
			x86_invalidate_code(v->cpu, gpa, len);
	}
}

/* ---- statistics ---- */

static int interp_stats(struct emu_vm *vm, struct emu_stat *out, int max)
{
	struct x86_stat_sum { const char *name; size_t off; };
	static const struct x86_stat_sum rows[] = {
		{ "interp_instructions", offsetof(struct x86_cpu, icount) },
		{ "interp_blocks_decoded", offsetof(struct x86_cpu, nr_blocks_decoded) },
		{ "interp_exceptions", offsetof(struct x86_cpu, nr_exceptions) },
		{ "interp_interrupts", offsetof(struct x86_cpu, nr_interrupts) },
		{ "interp_pio", offsetof(struct x86_cpu, nr_pio) },
		{ "interp_mmio", offsetof(struct x86_cpu, nr_mmio) },
		{ "interp_smc_invalidations", offsetof(struct x86_cpu, nr_smc) },
		{ "interp_unimplemented", offsetof(struct x86_cpu, nr_unimpl) },
	};
	int n = (int)(sizeof(rows) / sizeof(rows[0]));
	for (int i = 0; i < n && i < max; i++) {
		uint64_t sum = 0;
		for (unsigned k = 0; k < emu_vm_nr_vcpus(vm); k++) {
			struct interp_vcpu *v = emu_vcpu_accel_data(emu_vm_vcpu(vm, k));
			if (v)
				sum += *(const uint64_t *)((const char *)v->cpu + rows[i].off);
		}
		out[i] = (struct emu_stat){ rows[i].name, sum };
	}
	return n;
}

const struct accel_ops emu_interp_accel_ops = {
	.name = "interp",
	.probe = interp_probe,
	.vm_init = interp_vm_init,
	.vm_destroy = interp_vm_destroy,
	.vcpu_init = interp_vcpu_init,
	.vcpu_destroy = interp_vcpu_destroy,
	.vcpu_run = interp_vcpu_run,
	.kick = interp_kick,
	.get_regs = interp_get_regs,
	.set_regs = interp_set_regs,
	.get_sregs = interp_get_sregs,
	.set_sregs = interp_set_sregs,
	.get_fpu = interp_get_fpu,
	.set_fpu = interp_set_fpu,
	.get_msr = interp_get_msr,
	.set_msr = interp_set_msr,
	.get_dregs = interp_get_dregs,
	.set_debug = interp_set_debug,
	.phys_written = interp_phys_written,
	.icount = interp_icount,
	.stats = interp_stats,
};
