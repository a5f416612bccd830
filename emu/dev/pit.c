/* SPDX-License-Identifier: MIT */
/*
 * pit.c — the 8254 programmable interval timer at 0x40-0x43 and the port 0x61 bits it shares
 * with the PC speaker. Counters are computed from the host monotonic clock (no per-tick work);
 * a timer thread sleeps until channel 0's next rising OUT edge and pulses IRQ 0.
 * Reset state as QEMU's: every channel in mode 3 counting 65536, gate high except channel 2.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "emu/dev/pit-local.h"
#include "emu/dev/dev-local.h"
#include "emu/dev/trace-events.h"

#define PIT_BASE	0x40
#define PIT_PORT61	0x61
#define NS_PER_S	1000000000ull
#define NO_EDGE		UINT64_MAX
#define REFRESH_NS	15085		/* port 0x61 bit 4 toggles every 15.085 us */

enum pit_rw { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD0 = 3, RW_WORD1 = 4 };

struct pit_channel {
	uint32_t count;		/* reload value in binary: 1..65536 (or 10000 in BCD) */
	uint64_t load_ns;	/* when counting (re)started */
	uint64_t next_edge;	/* ticks after load_ns of the next rising OUT edge, NO_EDGE */
	uint16_t latched_count;
	uint8_t count_latched;	/* enum pit_rw of the pending latched read, 0 when none */
	uint8_t status;
	bool status_latched;
	uint8_t read_state, write_state, write_latch, rw_mode;
	uint8_t mode;		/* 0-5: what the counter does */
	uint8_t mode_bits;	/* as written (6 and 7 alias 2 and 3): the read-back status shows these */
	bool bcd, gate, null_count, armed;	/* armed: a count was written since the control word */
};

struct emu_pit {
	struct emu_vm *vm;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool has_thread, stopping;
	uint64_t (*now_ns)(void *);
	void *clock_opaque;
	struct pit_channel ch[3];
	uint8_t port61;		/* bits 0-3 as written: gate 2, speaker data, parity enables */
	uint64_t irqs;
};

static uint64_t pit_host_now(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t pit_ticks(const struct pit_channel *c, uint64_t now)
{
	return now <= c->load_ns ? 0 : (uint64_t)((unsigned __int128)(now - c->load_ns) * EMU_PIT_HZ / NS_PER_S);
}

static uint64_t pit_tick_to_ns(const struct pit_channel *c, uint64_t tick)
{
	return c->load_ns + (uint64_t)(((unsigned __int128)tick * NS_PER_S + EMU_PIT_HZ - 1) / EMU_PIT_HZ);
}

static bool pit_mode_is_triggered(unsigned mode) { return mode == 1 || mode == 5; }

/* The counting element now, as the guest reads it (binary). */
static uint32_t pit_counter(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);

	switch (c->mode) {
	case 2: return (uint32_t)(c->count - d % c->count);
	case 3: return (uint32_t)(c->count - (2 * d) % c->count);
	default: return (uint32_t)((c->count - d) & 0xffff);
	}
}

/* The OUT pin per the 8254 datasheet. */
static bool pit_out(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = pit_ticks(c, now);

	if (!c->armed)
		return c->mode != 0;		/* after a control word: low in mode 0, else high */
	switch (c->mode) {
	case 0: return d >= c->count;
	case 1: return !c->gate || d >= c->count;
	case 2: return d % c->count != c->count - 1;
	case 3: return d % c->count < (c->count + 1) / 2;
	case 4: return d != c->count;
	default: return d != c->count;	/* 5 */
	}
}

/* The first rising OUT edge at or after tick `from`, or NO_EDGE. */
static uint64_t pit_edge_after(const struct pit_channel *c, uint64_t from)
{
	uint64_t first;

	if (!c->armed || (pit_mode_is_triggered(c->mode) && !c->gate))
		return NO_EDGE;
	switch (c->mode) {
	case 2:
	case 3:
		return from <= c->count ? c->count : (from + c->count - 1) / c->count * c->count;
	case 0:
	case 1: first = c->count; break;
	default: first = (uint64_t)c->count + 1; break;	/* 4, 5: after the one-tick low pulse */
	}
	return from <= first ? first : NO_EDGE;
}

static uint32_t bcd_to_bin(uint32_t v)
{
	return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
}

static uint32_t bin_to_bcd(uint32_t v)
{
	return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10);
}

static uint16_t pit_read_value(const struct pit_channel *c, uint64_t now)
{
	uint32_t v = pit_counter(c, now);

	return (uint16_t)(c->bcd ? bin_to_bcd(v % 10000) : v);
}

static void pit_load_count(struct emu_pit *p, struct pit_channel *c, uint32_t raw)
{
	uint32_t v = c->bcd ? bcd_to_bin(raw) : raw;

	c->count = v ? v : (c->bcd ? 10000 : 0x10000);
	trace_pit_count((unsigned)(c - p->ch), c->mode, c->count);
	c->load_ns = p->now_ns(p->clock_opaque);
	c->null_count = false;
	c->armed = true;
	c->next_edge = pit_edge_after(c, 0);
	if (c == &p->ch[0])
		pthread_cond_signal(&p->wake);
}

static void pit_write_count(struct emu_pit *p, struct pit_channel *c, uint8_t v)
{
	switch (c->write_state) {
	case RW_LSB: pit_load_count(p, c, v); break;
	case RW_MSB: pit_load_count(p, c, (uint32_t)v << 8); break;
	case RW_WORD0: c->write_latch = v; c->write_state = RW_WORD1; break;
	default: pit_load_count(p, c, c->write_latch | (uint32_t)v << 8); c->write_state = RW_WORD0; break;
	}
}

static uint8_t pit_read_count(struct emu_pit *p, struct pit_channel *c)
{
	uint64_t now = p->now_ns(p->clock_opaque);
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latched_count;
		uint8_t state = c->count_latched;
		c->count_latched = state == RW_WORD0 ? RW_MSB : 0;
		return (uint8_t)(state == RW_MSB ? v >> 8 : v);
	}
	v = pit_read_value(c, now);
	switch (c->read_state) {
	case RW_MSB: return (uint8_t)(v >> 8);
	case RW_WORD0: c->read_state = RW_WORD1; return (uint8_t)v;
	case RW_WORD1: c->read_state = RW_WORD0; return (uint8_t)(v >> 8);
	default: return (uint8_t)v;
	}
}

static void pit_latch_count(struct emu_pit *p, struct pit_channel *c)
{
	if (c->count_latched)
		return;
	c->latched_count = pit_read_value(c, p->now_ns(p->clock_opaque));
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct emu_pit *p, struct pit_channel *c)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((pit_out(c, p->now_ns(p->clock_opaque)) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
			      c->rw_mode << 4 | c->mode_bits << 1 | (c->bcd ? 1 : 0));
	c->status_latched = true;
}

/* Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1-3 pick channels. */
static void pit_read_back(struct emu_pit *p, uint8_t v)
{
	for (unsigned i = 0; i < 3; i++) {
		if (!(v & (2u << i)))
			continue;
		if (!(v & 0x20))
			pit_latch_count(p, &p->ch[i]);
		if (!(v & 0x10))
			pit_latch_status(p, &p->ch[i]);
	}
}

static void pit_write_control(struct emu_pit *p, uint8_t v)
{
	trace_pit_control(v);
	unsigned sel = v >> 6, access = (v >> 4) & 3;

	if (sel == 3) {
		pit_read_back(p, v);
		return;
	}
	struct pit_channel *c = &p->ch[sel];
	if (access == RW_LATCH) {
		pit_latch_count(p, c);
		return;
	}
	c->rw_mode = c->read_state = c->write_state = (uint8_t)access;
	c->mode_bits = (v >> 1) & 7;
	c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;	/* 6, 7: aliases of 2, 3 */
	c->bcd = v & 1;
	c->null_count = true;
	c->armed = false;		/* counting waits for the new count */
	c->next_edge = NO_EDGE;
}

static void pit_set_gate(struct emu_pit *p, struct pit_channel *c, bool gate)
{
	bool rising = gate && !c->gate;

	c->gate = gate;
	if (rising && c->armed && c->mode != 0 && c->mode != 4) {	/* 1, 2, 3, 5 restart on the edge */
		c->load_ns = p->now_ns(p->clock_opaque);
		c->next_edge = pit_edge_after(c, 0);
	}
}

static uint64_t pit_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_pit *p = opaque;
	uint8_t v = 0xff;		/* the control port cannot be read */

	pthread_mutex_lock(&p->lock);
	if (offset < 3)
		v = pit_read_count(p, &p->ch[offset]);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pit_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_pit *p = opaque;

	pthread_mutex_lock(&p->lock);
	if (offset < 3)
		pit_write_count(p, &p->ch[offset], (uint8_t)value);
	else
		pit_write_control(p, (uint8_t)value);
	pthread_mutex_unlock(&p->lock);
}

/* Port 0x61: bit 0 gate 2, bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT 2. */
static uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_pit *p = opaque;

	pthread_mutex_lock(&p->lock);
	uint64_t now = p->now_ns(p->clock_opaque);
	uint8_t v = (uint8_t)((p->port61 & 0x0f) | ((now / REFRESH_NS) & 1) << 4 |
			      (pit_out(&p->ch[2], now) ? 0x20 : 0));
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pit_port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_pit *p = opaque;

	pthread_mutex_lock(&p->lock);
	p->port61 = (uint8_t)value & 0x0f;
	pit_set_gate(p, &p->ch[2], value & 1);
	pthread_mutex_unlock(&p->lock);
}

static const struct emu_io_ops pit_ops = { .read = pit_io_read, .write = pit_io_write };
static const struct emu_io_ops pit_port61_ops = { .read = pit_port61_read, .write = pit_port61_write };

/* Whether channel 0's edge is due at now; if so schedules the next one (missed edges merge, as
 * they would in the PIC's single IRR bit). *next_ns: the next edge, or NO_EDGE. */
static bool pit_edge_is_due(struct emu_pit *p, uint64_t now, uint64_t *next_ns)
{
	struct pit_channel *c = &p->ch[0];

	*next_ns = NO_EDGE;
	if (c->next_edge == NO_EDGE)
		return false;
	*next_ns = pit_tick_to_ns(c, c->next_edge);
	if (now < *next_ns)
		return false;
	p->irqs++;
	c->next_edge = pit_edge_after(c, pit_ticks(c, now) + 1);
	*next_ns = c->next_edge == NO_EDGE ? NO_EDGE : pit_tick_to_ns(c, c->next_edge);
	return true;
}

/* IRQ 0 is pulsed without the PIT lock held: the interrupt controller takes its own. */
static void pit_pulse_irq0(struct emu_pit *p)
{
	emu_vm_set_irq(p->vm, 0, 1);
	emu_vm_set_irq(p->vm, 0, 0);
}

void emu_pit_poll(struct emu_pit *p)
{
	uint64_t next;

	pthread_mutex_lock(&p->lock);
	bool due = pit_edge_is_due(p, p->now_ns(p->clock_opaque), &next);
	pthread_mutex_unlock(&p->lock);
	if (due)
		pit_pulse_irq0(p);
}

uint64_t emu_pit_next_ns(struct emu_pit *p)
{
	const struct pit_channel *c = &p->ch[0];
	uint64_t next;

	pthread_mutex_lock(&p->lock);
	next = c->next_edge == NO_EDGE ? UINT64_MAX : pit_tick_to_ns(c, c->next_edge);
	pthread_mutex_unlock(&p->lock);
	return next;
}

static void *pit_thread_main(void *opaque)
{
	struct emu_pit *p = opaque;
	uint64_t next;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (pit_edge_is_due(p, p->now_ns(p->clock_opaque), &next)) {
			pthread_mutex_unlock(&p->lock);
			pit_pulse_irq0(p);
			pthread_mutex_lock(&p->lock);
		} else if (next == NO_EDGE) {
			pthread_cond_wait(&p->wake, &p->lock);
		} else {
			struct timespec ts = { .tv_sec = (time_t)(next / NS_PER_S), .tv_nsec = (long)(next % NS_PER_S) };
			pthread_cond_timedwait(&p->wake, &p->lock, &ts);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pit_reset(struct emu_pit *p)
{
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];
		*c = (struct pit_channel){ .mode = 3, .mode_bits = 3, .gate = i != 2, .rw_mode = RW_WORD0,
					   .read_state = RW_WORD0, .write_state = RW_WORD0 };
		pit_load_count(p, c, 0);
	}
}

static int pit_create(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque, bool thread,
		      struct emu_pit **out)
{
	struct emu_pit *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	int err;

	if (!p)
		return -ENOMEM;
	*p = (struct emu_pit){ .vm = vm, .now_ns = now_ns, .clock_opaque = opaque };
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	pit_reset(p);
	err = emu_io_register(vm, EMU_IO_PIO, PIT_BASE, 4, "pit", &pit_ops, p);
	if (!err)
		err = emu_io_register(vm, EMU_IO_PIO, PIT_PORT61, 1, "pit-port61", &pit_port61_ops, p);
	if (!err && thread) {
		err = emu_dev_thread_create(&p->thread, pit_thread_main, p);
		p->has_thread = !err;
	}
	if (err) {
		emu_pit_destroy(p);
		return err;
	}
	*out = p;
	return 0;
}

int emu_pit_create(struct emu_vm *vm, struct emu_pit **out)
{
	return pit_create(vm, pit_host_now, NULL, true, out);
}

int emu_pit_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque, struct emu_pit **out)
{
	return pit_create(vm, now_ns, opaque, false, out);
}

void emu_pit_destroy(struct emu_pit *p)
{
	if (!p)
		return;
	if (p->has_thread) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
