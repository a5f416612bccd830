/* SPDX-License-Identifier: MIT */
/*
 * apic.c — one xAPIC local APIC per vCPU at 0xfee00000 (each vCPU sees its own: the access's
 * vCPU comes from emu_io_current_vcpu()) and the glue that makes the APICs the VM's interrupt
 * controller, with the 8259 PIC behind the boot CPU's LINT0 (ExtINT) and the I/O APIC
 * (ioapic.c) at 0xfec00000 on the same ISA lines.
 *
 * Registers: ID, version (0x14, 6 LVT entries), TPR/PPR, EOI, LDR/DFR (flat and cluster logical
 * destinations), SVR (software enable), ISR/TMR/IRR, ESR (write-to-latch), ICR (fixed and
 * lowest-priority IPIs with every shorthand; a startup IPI starts an AP that has not run yet in
 * real mode at its vector (emu_vcpu_startup), INIT and NMI are counted but not acted on), the LVT,
 * and the timer: one-shot and periodic (no
 * TSC-deadline), divide configuration, initial/current count from the host clock at a 1 GHz bus
 * clock (QEMU's). Reset as QEMU's: software disabled, LVT entries masked except the boot CPU's
 * LINT0, which is ExtINT so the PIC works before (and without) any APIC programming.
 *
 * Interrupt priority as QEMU's: a LAPIC interrupt above the PPR first, then the PIC's.
 * Locking: a.lock protects everything here and in ioapic.c; it is taken under the VM's intr lock
 * (the emu_intr_ops) and never held while kicking vCPUs.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/dev/apic-local.h"
#include "emu/dev/trace-events.h"

#define LAPIC_BASE 0xfee00000ull
#define IOAPIC_BASE 0xfec00000ull
#define APIC_MMIO_LEN 0x1000
#define NS_PER_S 1000000000ull

#define LAPIC_VERSION 0x00050014u
#define SVR_ENABLE 0x100u
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_MODE_MASK (3u << 17)
#define LVT_DELIV_EXTINT 7u
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };
enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5, DM_SIPI = 6, DM_EXTINT = 7 };

/* Writable bits of each LVT entry. */
static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x000710ff, [LVT_THERMAL] = 0x000107ff, [LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff, [LVT_LINT1] = 0x0001a7ff, [LVT_ERROR] = 0x000100ff,
};

static uint64_t apic_host_now(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- 256-bit vectors (IRR, ISR, TMR) ---- */

static void vec_set(uint32_t *v, unsigned n) { v[n >> 5] |= 1u << (n & 31); }
static void vec_clear(uint32_t *v, unsigned n) { v[n >> 5] &= ~(1u << (n & 31)); }
static bool vec_test(const uint32_t *v, unsigned n) { return v[n >> 5] & (1u << (n & 31)); }

static int vec_highest(const uint32_t *v)
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

/* ---- priorities ---- */

static uint32_t lapic_ppr(const struct emu_lapic *l)
{
	int isrv = vec_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

static bool lapic_is_enabled(const struct emu_lapic *l) { return l->svr & SVR_ENABLE; }

/* The vector the LAPIC would deliver now, or -1. */
static int lapic_pending_vector(const struct emu_lapic *l)
{
	int irrv = vec_highest(l->irr);

	if (irrv < 0 || !lapic_is_enabled(l))
		return -1;
	return ((uint32_t)irrv & 0xf0) > (lapic_ppr(l) & 0xf0) ? irrv : -1;
}

static void lapic_accept(struct emu_lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		l->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
		return;
	}
	trace_apic_accept(l->id >> 24, vector, level);
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
}

static bool apic_extint_is_pending(struct emu_apic *a, unsigned idx)
{
	uint32_t lint0 = a->lapic[idx].lvt[LVT_LINT0];

	return !(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == LVT_DELIV_EXTINT && a->pic_ops &&
	       a->pic_ops->has_pending(a->pic_opaque);
}

/* ---- delivery ---- */

static bool lapic_matches(const struct emu_lapic *l, uint8_t dest, bool logical)
{
	uint8_t ldr = (uint8_t)(l->ldr >> 24);

	if (dest == 0xff)
		return true;
	if (!logical)
		return (l->id >> 24) == dest;
	if ((l->dfr >> 28) == 0xf)		/* flat */
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);	/* cluster */
}

static void lapic_deliver_one(struct emu_apic *a, struct emu_lapic *l, unsigned mode, uint8_t vector, bool level)
{
	unsigned idx = (unsigned)(l - a->lapic);

	switch (mode) {
	case DM_FIXED:
	case DM_LOWEST:
		lapic_accept(l, vector, level);
		break;
	case DM_NMI:
		l->nmi_ipis++;
		break;
	case DM_INIT:
		l->init_ipis++;
		break;
	case DM_SIPI:
		l->sipi_ipis++;
		a->startup_pending |= 1ull << idx;
		a->startup_vector[idx] = vector;
		break;
	default:	/* SMI, ExtINT: not modelled */
		break;
	}
}

void emu_apic_deliver_locked(struct emu_apic *a, uint8_t dest, bool logical, unsigned mode, uint8_t vector,
			     bool level)
{
	for (unsigned i = 0; i < a->nr_vcpus; i++) {
		if (!lapic_matches(&a->lapic[i], dest, logical))
			continue;
		lapic_deliver_one(a, &a->lapic[i], mode, vector, level);
		if (mode == DM_LOWEST)	/* one target: the first match, no arbitration */
			return;
	}
}

static void lapic_send_ipi(struct emu_apic *a, unsigned self)
{
	struct emu_lapic *l = &a->lapic[self];
	uint8_t vector = (uint8_t)l->icr_lo;
	unsigned mode = (l->icr_lo >> 8) & 7, shorthand = (l->icr_lo >> 18) & 3;
	bool logical = l->icr_lo & (1u << 11);

	if (mode == DM_INIT && !(l->icr_lo & (1u << 14)))	/* INIT level de-assert: nothing */
		return;
	if ((mode == DM_FIXED || mode == DM_LOWEST) && vector < 16) {
		l->esr_pending |= ESR_SEND_ILLEGAL_VECTOR;
		return;
	}
	switch (shorthand) {
	case 0:
		emu_apic_deliver_locked(a, (uint8_t)(l->icr_hi >> 24), logical, mode, vector, false);
		break;
	case 1:
		lapic_deliver_one(a, l, mode, vector, false);
		break;
	default:
		for (unsigned i = 0; i < a->nr_vcpus; i++)
			if (shorthand == 2 || i != self)
				lapic_deliver_one(a, &a->lapic[i], mode, vector, false);
		break;
	}
}

static void lapic_eoi(struct emu_apic *a, struct emu_lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	trace_apic_eoi(l->id >> 24, (uint8_t)v);
	vec_clear(l->isr, (unsigned)v);
	if (vec_test(l->tmr, (unsigned)v)) {
		vec_clear(l->tmr, (unsigned)v);
		emu_ioapic_eoi_locked(a, (uint8_t)v);	/* level-triggered: the I/O APIC's remote IRR */
	}
}

/* ---- the timer ---- */

static uint64_t lapic_divisor(const struct emu_lapic *l)
{
	unsigned v = ((l->timer_dcr & 8) >> 1) | (l->timer_dcr & 3);

	return v == 7 ? 1 : 2ull << v;
}

static bool lapic_timer_is_running(const struct emu_lapic *l)
{
	return l->timer_initial && (l->lvt[LVT_TIMER] & LVT_TIMER_MODE_MASK) <= LVT_TIMER_PERIODIC;
}

static uint32_t lapic_current_count(const struct emu_lapic *l, uint64_t now)
{
	uint64_t ticks;

	if (!lapic_timer_is_running(l) || now < l->timer_start_ns)
		return l->timer_initial;
	ticks = (now - l->timer_start_ns) / lapic_divisor(l);
	if (l->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC)
		return l->timer_initial - (uint32_t)(ticks % l->timer_initial);
	return ticks >= l->timer_initial ? 0 : l->timer_initial - (uint32_t)ticks;
}

static void lapic_timer_arm(struct emu_lapic *l)
{
	l->timer_deadline_ns = lapic_timer_is_running(l)
				       ? l->timer_start_ns + (uint64_t)l->timer_initial * lapic_divisor(l)
				       : EMU_APIC_NO_DEADLINE;
}

/* Fires every timer due at now; true when an interrupt was raised. Lock held. */
static bool apic_fire_due(struct emu_apic *a, uint64_t now)
{
	bool raised = false;

	for (unsigned i = 0; i < a->nr_vcpus; i++) {
		struct emu_lapic *l = &a->lapic[i];
		uint64_t period;

		if (l->timer_deadline_ns > now)
			continue;
		if (!(l->lvt[LVT_TIMER] & LVT_MASKED)) {
			lapic_accept(l, (uint8_t)l->lvt[LVT_TIMER], false);
			raised = true;
		}
		period = (uint64_t)l->timer_initial * lapic_divisor(l);
		if (!(l->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) || !period) {
			l->timer_deadline_ns = EMU_APIC_NO_DEADLINE;
			continue;
		}
		l->timer_deadline_ns += period;
		if (l->timer_deadline_ns <= now)	/* fell behind: missed ticks coalesce into one */
			l->timer_deadline_ns = now + period - (now - l->timer_start_ns) % period;
	}
	return raised;
}

static uint64_t apic_next_deadline(const struct emu_apic *a)
{
	uint64_t next = EMU_APIC_NO_DEADLINE;

	for (unsigned i = 0; i < a->nr_vcpus; i++)
		if (a->lapic[i].timer_deadline_ns < next)
			next = a->lapic[i].timer_deadline_ns;
	return next;
}

void emu_apic_poll(struct emu_apic *a)
{
	bool raised;

	pthread_mutex_lock(&a->lock);
	raised = apic_fire_due(a, a->now_ns(a->clock_opaque));
	pthread_mutex_unlock(&a->lock);
	if (raised)
		emu_vm_kick_all(a->vm);
}

uint64_t emu_apic_next_ns(struct emu_apic *a)
{
	uint64_t next;

	pthread_mutex_lock(&a->lock);
	next = apic_next_deadline(a);
	pthread_mutex_unlock(&a->lock);
	return next;
}

static void *apic_thread_main(void *opaque)
{
	struct emu_apic *a = opaque;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		uint64_t next = apic_next_deadline(a);
		if (next <= a->now_ns(a->clock_opaque)) {
			bool raised = apic_fire_due(a, a->now_ns(a->clock_opaque));
			pthread_mutex_unlock(&a->lock);
			if (raised)
				emu_vm_kick_all(a->vm);
			pthread_mutex_lock(&a->lock);
		} else if (next == EMU_APIC_NO_DEADLINE) {
			pthread_cond_wait(&a->wake, &a->lock);
		} else {
			struct timespec ts = { .tv_sec = (time_t)(next / NS_PER_S), .tv_nsec = (long)(next % NS_PER_S) };
			pthread_cond_timedwait(&a->wake, &a->lock, &ts);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- registers ---- */

static unsigned apic_current_index(const struct emu_apic *a)
{
	struct emu_vcpu *v = emu_io_current_vcpu();
	unsigned i = v ? emu_vcpu_index(v) : 0;

	return i < a->nr_vcpus ? i : 0;
}

static uint32_t lapic_read_reg(struct emu_apic *a, struct emu_lapic *l, unsigned reg)
{
	switch (reg) {
	case 0x02: return l->id;
	case 0x03: return LAPIC_VERSION;
	case 0x08: return l->tpr;
	case 0x0a: return lapic_ppr(l);
	case 0x0d: return l->ldr;
	case 0x0e: return l->dfr;
	case 0x0f: return l->svr;
	case 0x28: return l->esr;
	case 0x30: return l->icr_lo;
	case 0x31: return l->icr_hi;
	case 0x38: return l->timer_initial;
	case 0x39: return lapic_current_count(l, a->now_ns(a->clock_opaque));
	case 0x3e: return l->timer_dcr;
	}
	if (reg >= 0x10 && reg < 0x18)
		return l->isr[reg - 0x10];
	if (reg >= 0x18 && reg < 0x20)
		return l->tmr[reg - 0x18];
	if (reg >= 0x20 && reg < 0x28)
		return l->irr[reg - 0x20];
	if (reg >= 0x32 && reg < 0x32 + LVT_COUNT)
		return l->lvt[reg - 0x32];
	return 0;
}

static void lapic_write_svr(struct emu_lapic *l, uint32_t v)
{
	l->svr = v & 0x1ff;
	if (!lapic_is_enabled(l))	/* software disable masks every LVT entry */
		for (unsigned i = 0; i < LVT_COUNT; i++)
			l->lvt[i] |= LVT_MASKED;
}

static void lapic_write_lvt(struct emu_apic *a, struct emu_lapic *l, unsigned i, uint32_t v)
{
	l->lvt[i] = v & lvt_writable[i];
	if (!lapic_is_enabled(l))
		l->lvt[i] |= LVT_MASKED;
	if (i == LVT_TIMER) {
		l->timer_start_ns = a->now_ns(a->clock_opaque);
		lapic_timer_arm(l);
	}
}

/* Returns true when vCPUs must be kicked (a new interrupt may be deliverable). */
static bool lapic_write_reg(struct emu_apic *a, struct emu_lapic *l, unsigned reg, uint32_t v)
{
	switch (reg) {
	case 0x02: l->id = v & 0xff000000; return false;
	case 0x08: l->tpr = v & 0xff; return true;
	case 0x0b: lapic_eoi(a, l); return true;
	case 0x0d: l->ldr = v & 0xff000000; return false;
	case 0x0e: l->dfr = v | 0x0fffffff; return false;
	case 0x0f: lapic_write_svr(l, v); return true;
	case 0x28: l->esr = l->esr_pending; l->esr_pending = 0; return false;
	case 0x30: l->icr_lo = v & ~(1u << 12); lapic_send_ipi(a, (unsigned)(l - a->lapic)); return true;
	case 0x31: l->icr_hi = v & 0xff000000; return false;
	case 0x38:
		l->timer_initial = v;
		l->timer_start_ns = a->now_ns(a->clock_opaque);
		lapic_timer_arm(l);
		return false;
	case 0x3e: l->timer_dcr = v & 0xb; lapic_timer_arm(l); return false;
	}
	if (reg >= 0x32 && reg < 0x32 + LVT_COUNT)
		lapic_write_lvt(a, l, reg - 0x32, v);
	return false;
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_apic *a = opaque;
	uint32_t v;

	if (offset & 0xf)	/* only the 32-bit register at each 16-byte boundary */
		return 0;
	pthread_mutex_lock(&a->lock);
	v = lapic_read_reg(a, &a->lapic[apic_current_index(a)], (unsigned)(offset >> 4));
	pthread_mutex_unlock(&a->lock);
	return v;
}

static void lapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_apic *a = opaque;
	uint8_t vectors[EMU_APIC_MAX_VCPUS];
	uint64_t startup;
	bool kick;

	if (offset & 0xf)
		return;
	pthread_mutex_lock(&a->lock);
	kick = lapic_write_reg(a, &a->lapic[apic_current_index(a)], (unsigned)(offset >> 4), (uint32_t)value);
	pthread_cond_signal(&a->wake);	/* the timer may have a new deadline */
	startup = a->startup_pending;
	a->startup_pending = 0;
	memcpy(vectors, a->startup_vector, sizeof(vectors));
	pthread_mutex_unlock(&a->lock);
	for (unsigned i = 0; startup; i++, startup >>= 1)	/* outside the lock: it takes vm->lock */
		if (startup & 1)
			emu_vcpu_startup(a->vm, i, vectors[i]);
	if (kick)
		emu_vm_kick_all(a->vm);
}

static const struct emu_io_ops lapic_mmio_ops = { .read = lapic_mmio_read, .write = lapic_mmio_write };

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_apic *a = opaque;
	uint32_t v;

	pthread_mutex_lock(&a->lock);
	v = emu_ioapic_read_locked(a, offset);
	pthread_mutex_unlock(&a->lock);
	return v;
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_apic *a = opaque;

	pthread_mutex_lock(&a->lock);
	emu_ioapic_write_locked(a, offset, (uint32_t)value);
	pthread_mutex_unlock(&a->lock);
	emu_vm_kick_all(a->vm);
}

static const struct emu_io_ops ioapic_mmio_ops = { .read = ioapic_mmio_read, .write = ioapic_mmio_write };

/* ---- the VM's interrupt controller ---- */

static void apic_set_irq(void *opaque, unsigned irq, int level)
{
	struct emu_apic *a = opaque;

	if (a->pic_ops)
		a->pic_ops->set_irq(a->pic_opaque, irq, level);
	pthread_mutex_lock(&a->lock);
	emu_ioapic_set_pin_locked(a, irq == 0 ? 2 : irq, level);	/* ISA IRQ 0 is GSI 2, as on PCs */
	pthread_mutex_unlock(&a->lock);
}

static bool apic_vcpu_has_pending(void *opaque, unsigned vcpu)
{
	struct emu_apic *a = opaque;
	bool pending;

	if (vcpu >= a->nr_vcpus)
		return false;
	pthread_mutex_lock(&a->lock);
	pending = lapic_pending_vector(&a->lapic[vcpu]) >= 0 || apic_extint_is_pending(a, vcpu);
	pthread_mutex_unlock(&a->lock);
	return pending;
}

static int apic_vcpu_ack(void *opaque, unsigned vcpu)
{
	struct emu_apic *a = opaque;
	struct emu_lapic *l;
	int v;

	if (vcpu >= a->nr_vcpus)
		return -ENOENT;
	l = &a->lapic[vcpu];
	pthread_mutex_lock(&a->lock);
	v = lapic_pending_vector(l);
	if (v >= 0) {
		vec_clear(l->irr, (unsigned)v);
		vec_set(l->isr, (unsigned)v);
	} else if (apic_extint_is_pending(a, vcpu)) {
		v = a->pic_ops->ack(a->pic_opaque);	/* the 8259's own INTA: no ISR bit here */
	} else {
		v = lapic_is_enabled(l) ? (int)(l->svr & 0xff) : -ENOENT;	/* spurious */
	}
	pthread_mutex_unlock(&a->lock);
	return v;
}

static bool apic_has_pending(void *opaque) { return apic_vcpu_has_pending(opaque, 0); }
static int apic_ack(void *opaque) { return apic_vcpu_ack(opaque, 0); }

static const struct emu_intr_ops apic_intr_ops = {
	.set_irq = apic_set_irq,
	.has_pending = apic_has_pending,
	.ack = apic_ack,
	.vcpu_has_pending = apic_vcpu_has_pending,
	.vcpu_ack = apic_vcpu_ack,
};

/* ---- lifetime ---- */

static void apic_reset(struct emu_apic *a)
{
	for (unsigned i = 0; i < a->nr_vcpus; i++) {
		struct emu_lapic *l = &a->lapic[i];
		*l = (struct emu_lapic){ .id = i << 24, .dfr = 0xffffffff, .svr = 0xff,
					 .timer_deadline_ns = EMU_APIC_NO_DEADLINE };
		for (unsigned j = 0; j < LVT_COUNT; j++)
			l->lvt[j] = LVT_MASKED;
		if (i == 0)
			l->lvt[LVT_LINT0] = LVT_DELIV_EXTINT << 8;	/* virtual wire: the PIC reaches the BSP */
	}
	emu_ioapic_reset(&a->io);
}

/* The timer thread starts with every signal blocked: signals belong to vmscope's own thread. */
static int apic_start_thread(struct emu_apic *a)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&a->thread, NULL, apic_thread_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	a->has_thread = !err;
	return err;
}

static int apic_create(struct emu_vm *vm, unsigned nr_vcpus, uint64_t (*now_ns)(void *), void *opaque, bool thread,
		       struct emu_apic **out)
{
	struct emu_apic *a;
	pthread_condattr_t ca;
	int err;

	if (nr_vcpus == 0 || nr_vcpus > EMU_APIC_MAX_VCPUS)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	*a = (struct emu_apic){ .vm = vm, .nr_vcpus = nr_vcpus, .now_ns = now_ns, .clock_opaque = opaque };
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	apic_reset(a);
	emu_vm_get_intr_controller(vm, &a->pic_ops, &a->pic_opaque);
	err = emu_io_register(vm, EMU_IO_MMIO, LAPIC_BASE, APIC_MMIO_LEN, "lapic", &lapic_mmio_ops, a);
	if (!err)
		err = emu_io_register(vm, EMU_IO_MMIO, IOAPIC_BASE, APIC_MMIO_LEN, "ioapic", &ioapic_mmio_ops, a);
	if (!err && thread)
		err = apic_start_thread(a);
	if (err) {
		emu_apic_destroy(a);
		return err;
	}
	emu_vm_set_intr_controller(vm, &apic_intr_ops, a);
	a->is_controller = true;
	*out = a;
	return 0;
}

int emu_apic_create(struct emu_vm *vm, unsigned nr_vcpus, struct emu_apic **out)
{
	return apic_create(vm, nr_vcpus, apic_host_now, NULL, true, out);
}

int emu_apic_create_clocked(struct emu_vm *vm, unsigned nr_vcpus, uint64_t (*now_ns)(void *), void *opaque,
			    struct emu_apic **out)
{
	return apic_create(vm, nr_vcpus, now_ns, opaque, false, out);
}

void emu_apic_destroy(struct emu_apic *a)
{
	if (!a)
		return;
	if (a->is_controller)	/* hand the INTR line back to the PIC */
		emu_vm_set_intr_controller(a->vm, a->pic_ops, a->pic_opaque);
	if (a->has_thread) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
