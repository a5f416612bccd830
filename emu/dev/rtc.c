/* SPDX-License-Identifier: MIT */
/*
 * rtc.c — MC146818 CMOS real-time clock at 0x70 (index; bit 7, NMI disable, ignored) and 0x71
 * (data). The time is the host's UTC clock plus an offset the guest changes by writing the time
 * registers; BCD or binary (B.DM) and 12 or 24 hours (B.24/12) are applied on every access.
 * Register A's UIP bit is set in the last 244 us before each second. C's flags (PF periodic,
 * AF alarm, UF update-ended) are derived from the clock whenever the RTC is accessed; IRQ 8 follows
 * C.IRQF (raised when an enabled flag is set, lowered when C is read), and a thread sleeps until
 * the next enabled event so the interrupt arrives without any access. Not modelled: square wave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "emu/dev/rtc-local.h"
#include "emu/dev/dev-local.h"
#include "emu/dev/trace-events.h"

#define RTC_BASE	0x70
#define CMOS_SIZE	128
#define NS_PER_S	1000000000ull
#define UIP_NS		244000ull

enum rtc_reg {
	RTC_SEC = 0x00, RTC_MIN = 0x02, RTC_HOUR = 0x04, RTC_WDAY = 0x06, RTC_MDAY = 0x07,
	RTC_MON = 0x08, RTC_YEAR = 0x09, RTC_A = 0x0a, RTC_B = 0x0b, RTC_C = 0x0c, RTC_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define B_SET	0x80
#define B_PIE	0x40
#define B_AIE	0x20
#define B_UIE	0x10
#define B_DM	0x04	/* binary */
#define B_24H	0x02
#define C_IRQF	0x80
#define C_PF	0x40
#define C_AF	0x20
#define C_UF	0x10
#define RTC_IRQ	8
#define NO_EVENT UINT64_MAX
#define ALARM_DONT_CARE	0xc0
#define D_VRT	0x80

struct emu_rtc {
	struct emu_vm *vm;
	pthread_mutex_t lock;
	uint64_t (*now_ns)(void *);
	void *clock_opaque;
	uint8_t index;
	uint8_t cmos[CMOS_SIZE];	/* RAM, alarms and registers A-D; time fields are computed */
	int64_t offset_s;		/* guest time = host time + offset */
	bool frozen;			/* B.SET: the clock stands still at frozen_s */
	int64_t frozen_s;
	uint8_t flags;			/* C's PF/AF/UF set since C was last read */
	uint64_t last_ns;		/* the flags account for the time up to here */
	bool irq_level;
	pthread_cond_t wake;		/* register writes and C reads wake the event thread */
	pthread_t thread;
	bool has_thread, stopping;
};

static uint64_t rtc_host_now(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int64_t rtc_guest_seconds(const struct emu_rtc *r, uint64_t now)
{
	return r->frozen ? r->frozen_s : (int64_t)(now / NS_PER_S) + r->offset_s;
}

static void rtc_set_guest_seconds(struct emu_rtc *r, int64_t t, uint64_t now)
{
	if (r->frozen)
		r->frozen_s = t;
	else
		r->offset_s = t - (int64_t)(now / NS_PER_S);
}

static bool rtc_is_binary(const struct emu_rtc *r) { return r->cmos[RTC_B] & B_DM; }

static uint8_t rtc_encode(const struct emu_rtc *r, int v)
{
	return (uint8_t)(rtc_is_binary(r) ? v : (v / 10) << 4 | v % 10);
}

static int rtc_decode(const struct emu_rtc *r, uint8_t v)
{
	return rtc_is_binary(r) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hour(const struct emu_rtc *r, int hour)
{
	if (r->cmos[RTC_B] & B_24H)
		return rtc_encode(r, hour);
	int h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(rtc_encode(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static int rtc_decode_hour(const struct emu_rtc *r, uint8_t v)
{
	if (r->cmos[RTC_B] & B_24H)
		return rtc_decode(r, v);
	return rtc_decode(r, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

/* The guest's broken-down time; a clock set beyond what gmtime handles reads as the epoch. */
static void rtc_guest_tm(const struct emu_rtc *r, uint64_t now, struct tm *tm)
{
	time_t t = (time_t)rtc_guest_seconds(r, now), epoch = 0;

	if (!gmtime_r(&t, tm))
		gmtime_r(&epoch, tm);
}

static uint8_t rtc_read_time(const struct emu_rtc *r, unsigned reg, uint64_t now)
{
	struct tm tm;

	rtc_guest_tm(r, now, &tm);
	switch (reg) {
	case RTC_SEC: return rtc_encode(r, tm.tm_sec);
	case RTC_MIN: return rtc_encode(r, tm.tm_min);
	case RTC_HOUR: return rtc_encode_hour(r, tm.tm_hour);
	case RTC_WDAY: return rtc_encode(r, tm.tm_wday + 1);
	case RTC_MDAY: return rtc_encode(r, tm.tm_mday);
	case RTC_MON: return rtc_encode(r, tm.tm_mon + 1);
	case RTC_YEAR: return rtc_encode(r, tm.tm_year % 100);
	default: return rtc_encode(r, (tm.tm_year + 1900) / 100);	/* RTC_CENTURY */
	}
}

/* A guest write of one time field moves the clock; the other fields keep their values. */
static void rtc_write_time(struct emu_rtc *r, unsigned reg, uint8_t v, uint64_t now)
{
	struct tm tm;

	rtc_guest_tm(r, now, &tm);
	switch (reg) {
	case RTC_SEC: tm.tm_sec = rtc_decode(r, v); break;
	case RTC_MIN: tm.tm_min = rtc_decode(r, v); break;
	case RTC_HOUR: tm.tm_hour = rtc_decode_hour(r, v); break;
	case RTC_WDAY: return;		/* derived from the date */
	case RTC_MDAY: tm.tm_mday = rtc_decode(r, v); break;
	case RTC_MON: tm.tm_mon = rtc_decode(r, v) - 1; break;
	case RTC_YEAR: tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + rtc_decode(r, v) - 1900; break;
	default: tm.tm_year = rtc_decode(r, v) * 100 + (tm.tm_year + 1900) % 100 - 1900; break;
	}
	rtc_set_guest_seconds(r, (int64_t)timegm(&tm), now);
}

static bool rtc_is_time_reg(unsigned reg)
{
	return reg == RTC_SEC || reg == RTC_MIN || reg == RTC_HOUR || reg == RTC_WDAY || reg == RTC_MDAY ||
	       reg == RTC_MON || reg == RTC_YEAR || reg == RTC_CENTURY;
}

static uint64_t rtc_periodic_ns(uint8_t a)
{
	unsigned rate = a & 0x0f;

	if (rate == 0)
		return 0;
	if (rate < 3)
		rate += 7;		/* rates 1 and 2 are 256 Hz and 128 Hz */
	return (NS_PER_S << (rate - 1)) / 32768;
}

/* Divider bits 6-4 at 0-2 (010: the 32.768 kHz crystal); 11x holds the chain in reset. */
static bool rtc_divider_runs(const struct emu_rtc *r) { return (r->cmos[RTC_A] & 0x70) <= 0x20; }
static bool rtc_is_ticking(const struct emu_rtc *r) { return !r->frozen && rtc_divider_runs(r); }

static bool rtc_alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

/* Whether the alarm registers match any guest second in (from, to]; a day covers them all. */
static bool rtc_alarm_between(const struct emu_rtc *r, int64_t from, int64_t to)
{
	if (to - from > 86400)
		to = from + 86400;
	for (int64_t t = from + 1; t <= to; t++) {
		time_t tt = (time_t)t;
		struct tm tm;
		if (!gmtime_r(&tt, &tm))
			return false;
		if (rtc_alarm_field_matches(r->cmos[0x01], rtc_encode(r, tm.tm_sec)) &&
		    rtc_alarm_field_matches(r->cmos[0x03], rtc_encode(r, tm.tm_min)) &&
		    rtc_alarm_field_matches(r->cmos[0x05], rtc_encode_hour(r, tm.tm_hour)))
			return true;
	}
	return false;
}

/* Brings C's flags up to now: the periodic boundaries and seconds that passed since last_ns. */
static void rtc_update_flags(struct emu_rtc *r, uint64_t now)
{
	uint64_t period = rtc_periodic_ns(r->cmos[RTC_A]);

	if (now <= r->last_ns)
		return;
	if (rtc_divider_runs(r) && period && now / period != r->last_ns / period)
		r->flags |= C_PF;
	if (rtc_is_ticking(r) && now / NS_PER_S != r->last_ns / NS_PER_S) {
		r->flags |= C_UF;
		if (rtc_alarm_between(r, (int64_t)(r->last_ns / NS_PER_S) + r->offset_s,
				      (int64_t)(now / NS_PER_S) + r->offset_s))
			r->flags |= C_AF;
	}
	r->last_ns = now;
}

static bool rtc_irqf(const struct emu_rtc *r)
{
	uint8_t b = r->cmos[RTC_B];

	return ((r->flags & C_PF) && (b & B_PIE)) || ((r->flags & C_AF) && (b & B_AIE)) ||
	       ((r->flags & C_UF) && (b & B_UIE));
}

/* Updates the IRQ 8 level under the lock; returns 1 to raise, 0 to lower, -1 for no change. */
/*
 * Drives IRQ 8 when its level changes. Called with the lock held, as the serial port does: the
 * interrupt controller's lock nests inside ours and never the other way round. Driving the line
 * after unlocking let a register-C read on a vCPU and the timer thread apply their levels out of
 * order, leaving the line low while irq_level said high — and then no interrupt ever again.
 */
static void rtc_update_irq(struct emu_rtc *r)
{
	bool level = rtc_irqf(r);

	if (level == r->irq_level)
		return;
	r->irq_level = level;
	emu_vm_set_irq(r->vm, RTC_IRQ, level);
}

/* When the next enabled event is due, or NO_EVENT (nothing enabled, or IRQ 8 already up). */
static uint64_t rtc_next_event(const struct emu_rtc *r, uint64_t now)
{
	uint64_t next = NO_EVENT, period = rtc_periodic_ns(r->cmos[RTC_A]);
	uint8_t b = r->cmos[RTC_B];

	if (r->irq_level)
		return NO_EVENT;		/* nothing new to signal until C is read */
	if ((b & B_PIE) && period && rtc_divider_runs(r))
		next = (now / period + 1) * period;
	if ((b & (B_UIE | B_AIE)) && rtc_is_ticking(r)) {
		uint64_t second = (now / NS_PER_S + 1) * NS_PER_S;
		next = second < next ? second : next;
	}
	return next;
}

/* C: the flags, IRQF when an enabled one is set; reading clears them (and lowers IRQ 8). */
static uint8_t rtc_read_c(struct emu_rtc *r)
{
	uint8_t c = (uint8_t)(r->flags | (rtc_irqf(r) ? C_IRQF : 0));

	r->flags = 0;
	pthread_cond_signal(&r->wake);
	return c;
}

static uint8_t rtc_read_reg(struct emu_rtc *r, unsigned reg)
{
	uint64_t now = r->now_ns(r->clock_opaque);

	rtc_update_flags(r, now);
	if (rtc_is_time_reg(reg))
		return rtc_read_time(r, reg, now);
	switch (reg) {
	case RTC_A: {
		bool uip = !r->frozen && now % NS_PER_S >= NS_PER_S - UIP_NS;
		return (uint8_t)((r->cmos[RTC_A] & 0x7f) | (uip ? 0x80 : 0));
	}
	case RTC_C: return rtc_read_c(r);
	case RTC_D: return D_VRT;
	default: return r->cmos[reg];
	}
}

static void rtc_write_b(struct emu_rtc *r, uint8_t v, uint64_t now)
{
	if ((v & B_SET) && !r->frozen) {
		r->frozen_s = rtc_guest_seconds(r, now);
		r->frozen = true;
		v &= (uint8_t)~B_UIE;		/* SET clears UIE */
	} else if (!(v & B_SET) && r->frozen) {
		r->frozen = false;
		r->offset_s = r->frozen_s - (int64_t)(now / NS_PER_S);
	}
	r->cmos[RTC_B] = v;
}

static void rtc_write_reg(struct emu_rtc *r, unsigned reg, uint8_t v)
{
	uint64_t now = r->now_ns(r->clock_opaque);

	rtc_update_flags(r, now);
	pthread_cond_signal(&r->wake);		/* rates, enables and the time may change */
	if (rtc_is_time_reg(reg)) {
		rtc_write_time(r, reg, v, now);
		return;
	}
	switch (reg) {
	case RTC_A: r->cmos[RTC_A] = v & 0x7f; break;	/* UIP is read-only */
	case RTC_B: rtc_write_b(r, v, now); break;
	case RTC_C:
	case RTC_D: break;				/* read-only */
	default: r->cmos[reg] = v; break;
	}
}

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_rtc *r = opaque;
	uint8_t v = 0xff;		/* the index port reads as QEMU's: all ones */

	pthread_mutex_lock(&r->lock);
	if (offset == 1)
		v = rtc_read_reg(r, r->index);
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	if (offset == 0)
		r->index = (uint8_t)value & 0x7f;	/* bit 7 masks NMIs on a PC: ignored */
	else {
		trace_rtc_write(r->index, (uint8_t)value);
		rtc_write_reg(r, r->index, (uint8_t)value);
	}
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

void emu_rtc_poll(struct emu_rtc *r)
{
	pthread_mutex_lock(&r->lock);
	rtc_update_flags(r, r->now_ns(r->clock_opaque));
	rtc_update_irq(r);
	pthread_mutex_unlock(&r->lock);
}

uint64_t emu_rtc_next_ns(struct emu_rtc *r)
{
	uint64_t next;

	pthread_mutex_lock(&r->lock);
	next = rtc_next_event(r, r->now_ns(r->clock_opaque));
	pthread_mutex_unlock(&r->lock);
	return next;
}

/* Sleeps until the next enabled event (or a register access), then raises IRQ 8 if due. */
static void *rtc_thread_main(void *opaque)
{
	struct emu_rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		uint64_t now = r->now_ns(r->clock_opaque);
		rtc_update_flags(r, now);
		rtc_update_irq(r);
		uint64_t next = rtc_next_event(r, now);
		if (next == NO_EVENT) {
			pthread_cond_wait(&r->wake, &r->lock);
		} else {
			/* The wall clock can jump: wait on the monotonic clock for the same interval. */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t at = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec + (next - now);
			ts = (struct timespec){ .tv_sec = (time_t)(at / NS_PER_S), .tv_nsec = (long)(at % NS_PER_S) };
			pthread_cond_timedwait(&r->wake, &r->lock, &ts);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static const struct emu_io_ops rtc_ops = { .read = rtc_io_read, .write = rtc_io_write };

static int rtc_create(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque, bool thread,
		      struct emu_rtc **out)
{
	struct emu_rtc *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int err;

	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->now_ns = now_ns;
	r->clock_opaque = opaque;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	r->cmos[RTC_A] = 0x26;		/* 32.768 kHz time base, 1024 Hz periodic rate */
	r->cmos[RTC_B] = B_24H;		/* 24-hour BCD, as PC firmware leaves it */
	r->last_ns = now_ns(opaque);
	err = emu_io_register(vm, EMU_IO_PIO, RTC_BASE, 2, "rtc", &rtc_ops, r);
	if (!err && thread) {
		err = emu_dev_thread_create(&r->thread, rtc_thread_main, r);
		r->has_thread = !err;
	}
	if (err) {
		emu_rtc_destroy(r);
		return err;
	}
	*out = r;
	return 0;
}

int emu_rtc_create_clocked(struct emu_vm *vm, uint64_t (*now_ns)(void *), void *opaque, struct emu_rtc **out)
{
	return rtc_create(vm, now_ns, opaque, false, out);
}

int emu_rtc_create(struct emu_vm *vm, struct emu_rtc **out)
{
	return rtc_create(vm, rtc_host_now, NULL, true, out);
}

void emu_rtc_destroy(struct emu_rtc *r)
{
	if (!r)
		return;
	if (r->has_thread) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
