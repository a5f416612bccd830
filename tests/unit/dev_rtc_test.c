/* SPDX-License-Identifier: MIT */
/* MC146818 RTC with no backend, on a fake wall clock: formats, setting the time, flags. */
#include <stdlib.h>
#include <time.h>

#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"
#include "emu/dev/rtc-local.h"

#define NS 1000000000ull

struct fixture {
	struct emu_vm *vm;
	struct emu_rtc *rtc;
	uint64_t now;
};

static uint64_t fake_now(void *opaque) { return ((struct fixture *)opaque)->now; }

static uint64_t utc_ns(int y, int mon, int d, int h, int m, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = m, .tm_sec = s };
	return (uint64_t)timegm(&tm) * NS;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->now = utc_ns(2026, 11, 27, 18, 5, 9) + NS / 2;	/* a Friday */
	f->vm = devtest_vm_new();
	if (emu_rtc_create_clocked(f->vm, fake_now, f, &f->rtc) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_rtc_destroy(f->rtc);
	devtest_vm_free(f->vm);
	free(f);
	return 0;
}

static uint8_t cmos(struct fixture *f, uint8_t reg)
{
	devtest_out(f->vm, 0x70, 1, reg);
	return (uint8_t)devtest_in(f->vm, 0x71, 1);
}

static void cmos_set(struct fixture *f, uint8_t reg, uint8_t v)
{
	devtest_out(f->vm, 0x70, 1, reg);
	devtest_out(f->vm, 0x71, 1, v);
}

static void test_defaults_and_bcd(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos(f, 0x0a), 0x26);
	assert_int_equal(cmos(f, 0x0b), 0x02);
	assert_int_equal(cmos(f, 0x0d), 0x80);
	assert_int_equal(cmos(f, 0x00), 0x09);
	assert_int_equal(cmos(f, 0x02), 0x05);
	assert_int_equal(cmos(f, 0x04), 0x18);
	assert_int_equal(cmos(f, 0x06), 0x06);	/* Friday: day 6 of 1-7 from Sunday */
	assert_int_equal(cmos(f, 0x07), 0x27);
	assert_int_equal(cmos(f, 0x08), 0x11);
	assert_int_equal(cmos(f, 0x09), 0x26);
	assert_int_equal(cmos(f, 0x32), 0x20);
	assert_int_equal(cmos(f, 0x80 | 0x04), 0x18);	/* the NMI-disable bit is ignored */
	assert_int_equal(devtest_in(f->vm, 0x70, 1), 0xff);
}

static void test_binary_and_12_hour(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, 0x0b, 0x06);		/* binary, 24 h */
	assert_int_equal(cmos(f, 0x07), 27);
	assert_int_equal(cmos(f, 0x04), 18);
	cmos_set(f, 0x0b, 0x00);		/* BCD, 12 h */
	assert_int_equal(cmos(f, 0x04), 0x86);	/* 6 PM */
	cmos_set(f, 0x0b, 0x04);		/* binary, 12 h */
	assert_int_equal(cmos(f, 0x04), 0x86);
	f->now = utc_ns(2026, 11, 27, 0, 30, 0);
	assert_int_equal(cmos(f, 0x04), 12);	/* 12 AM */
	f->now = utc_ns(2026, 11, 27, 12, 30, 0);
	assert_int_equal(cmos(f, 0x04), 0x80 | 12);	/* 12 PM */
}

static void test_uip_window(void **state)
{
	struct fixture *f = *state;
	uint64_t sec = utc_ns(2026, 11, 27, 18, 5, 9);

	f->now = sec + NS - 100000;
	assert_int_equal(cmos(f, 0x0a) & 0x80, 0x80);
	f->now = sec + NS - 300000;
	assert_int_equal(cmos(f, 0x0a), 0x26);
	cmos_set(f, 0x0a, 0xa6);		/* UIP cannot be written */
	assert_int_equal(cmos(f, 0x0a), 0x26);
}

static void test_set_time(void **state)
{
	struct fixture *f = *state;
	static const uint8_t when[][2] = {	/* 1999-12-31 23:59:58 in BCD */
		{ 0x32, 0x19 }, { 0x09, 0x99 }, { 0x08, 0x12 }, { 0x07, 0x31 },
		{ 0x04, 0x23 }, { 0x02, 0x59 }, { 0x00, 0x58 },
	};

	cmos_set(f, 0x0b, 0x82 | 0x10);		/* SET (clears UIE) */
	assert_int_equal(cmos(f, 0x0b), 0x82);
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++)
		cmos_set(f, when[i][0], when[i][1]);
	f->now += 5 * NS;			/* frozen while SET */
	assert_int_equal(cmos(f, 0x00), 0x58);
	cmos_set(f, 0x0b, 0x02);
	assert_int_equal(cmos(f, 0x06), 0x06);	/* 1999-12-31 was a Friday */
	f->now += 3 * NS;
	assert_int_equal(cmos(f, 0x00), 0x01);	/* rolled over into 2000 */
	assert_int_equal(cmos(f, 0x09), 0x00);
	assert_int_equal(cmos(f, 0x32), 0x20);
	assert_int_equal(cmos(f, 0x08), 0x01);
	cmos_set(f, 0x0b, 0x00);		/* 12 h: write 11 PM */
	cmos_set(f, 0x04, 0x91);
	cmos_set(f, 0x0b, 0x02);
	assert_int_equal(cmos(f, 0x04), 0x23);
}

static void test_register_c_flags(void **state)
{
	struct fixture *f = *state;

	(void)cmos(f, 0x0c);
	assert_int_equal(cmos(f, 0x0c), 0x00);
	f->now += NS;
	assert_int_equal(cmos(f, 0x0c), 0x50);	/* UF and PF (1024 Hz), no IRQF */
	assert_int_equal(cmos(f, 0x0c), 0x00);	/* cleared by the read */
	cmos_set(f, 0x0b, 0x02 | 0x10);		/* UIE */
	f->now += NS;
	assert_int_equal(cmos(f, 0x0c), 0xd0);
	cmos_set(f, 0x0a, 0x20);		/* periodic off */
	f->now += NS;
	assert_int_equal(cmos(f, 0x0c), 0x90);
}

static void test_ram_and_read_only(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, 0x40, 0xa5);
	cmos_set(f, 0x7f, 0x5a);
	assert_int_equal(cmos(f, 0x40), 0xa5);
	assert_int_equal(cmos(f, 0x7f), 0x5a);
	assert_int_equal(cmos(f, 0xc0), 0xa5);	/* index bit 7 dropped */
	cmos_set(f, 0x0d, 0x00);
	assert_int_equal(cmos(f, 0x0d), 0x80);
	cmos_set(f, 0x0c, 0xff);
	assert_int_equal(cmos(f, 0x0c) & 0x0f, 0);
}

static void test_garbage_writes(void **state)
{
	struct fixture *f = *state;

	for (unsigned reg = 0; reg < 0x0a; reg++)
		cmos_set(f, (uint8_t)reg, 0xff);
	cmos_set(f, 0x32, 0xff);
	/* Whatever the guest wrote, the clock reads as a valid BCD date. */
	assert_true(cmos(f, 0x08) >= 0x01 && cmos(f, 0x08) <= 0x12);
	assert_true(cmos(f, 0x00) <= 0x59);
	assert_true((cmos(f, 0x07) & 0x0f) <= 9);
}

static void test_periodic_interrupt(void **state)
{
	struct fixture *f = *state;

	(void)cmos(f, 0x0c);
	cmos_set(f, 0x0b, 0x02 | 0x40);		/* PIE, 1024 Hz */
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);
	f->now += 1000000;			/* a little over one 976.5625 us period */
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 1);
	assert_int_equal(devtest_irq_raises(f->vm, 8), 1);
	assert_int_equal(cmos(f, 0x0c), 0xc0);	/* IRQF | PF */
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);	/* reading C lowers it */
	cmos_set(f, 0x0a, 0x2f);		/* rate 15: 2 Hz */
	f->now += 1000000;
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);
	f->now += 500000000;
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 1);
	cmos_set(f, 0x0b, 0x02);		/* disabling PIE drops the line, the flag stays */
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);
	assert_int_equal(cmos(f, 0x0c) & 0xc0, 0x40);	/* PF, no IRQF (UF too: a second passed) */
	cmos_set(f, 0x0a, 0x60 | 0x06);		/* divider in reset: no periodic flag */
	f->now += 2 * NS;
	assert_int_equal(cmos(f, 0x0c) & 0x50, 0);
}

static void test_update_and_alarm_interrupts(void **state)
{
	struct fixture *f = *state;

	(void)cmos(f, 0x0c);
	cmos_set(f, 0x0a, 0x20);		/* no periodic rate */
	cmos_set(f, 0x01, 0x12);		/* alarm at 18:05:12 (now 18:05:09.5) */
	cmos_set(f, 0x03, 0x05);
	cmos_set(f, 0x05, 0x18);
	cmos_set(f, 0x0b, 0x02 | 0x20);		/* AIE */
	f->now += 2 * NS;			/* 18:05:11.5 */
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);
	assert_int_equal(cmos(f, 0x0c), 0x10);	/* UF (not enabled) only */
	f->now += NS;				/* 18:05:12.5 */
	emu_rtc_poll(f->rtc);
	assert_int_equal(devtest_irq_level(f->vm, 8), 1);
	assert_int_equal(cmos(f, 0x0c), 0xb0);	/* IRQF | AF | UF */
	cmos_set(f, 0x01, 0xc0);		/* don't-care seconds: every second of 18:05 */
	cmos_set(f, 0x0b, 0x02 | 0x10);		/* UIE instead */
	f->now += NS;
	emu_rtc_poll(f->rtc);
	assert_int_equal(cmos(f, 0x0c), 0xb0);
	cmos_set(f, 0x0b, 0x82);		/* SET: no updates, no UF */
	f->now += 3 * NS;
	emu_rtc_poll(f->rtc);
	assert_int_equal(cmos(f, 0x0c), 0x00);
	assert_int_equal(devtest_irq_level(f->vm, 8), 0);
}

static void test_interrupt_thread(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_rtc *r = NULL;

	assert_int_equal(emu_rtc_create(vm, &r), 0);
	devtest_out(vm, 0x70, 1, 0x0b);
	devtest_out(vm, 0x71, 1, 0x42);		/* PIE at 1024 Hz */
	assert_int_equal(devtest_wait_irq_raises(vm, 8, 1, 20), 1);
	devtest_out(vm, 0x70, 1, 0x0c);
	assert_int_equal(devtest_in(vm, 0x71, 1) & 0xc0, 0xc0);
	assert_int_equal(devtest_irq_level(vm, 8), 0);
	assert_int_equal(devtest_wait_irq_raises(vm, 8, 2, 20), 2);	/* and again after the ack */
	emu_rtc_destroy(r);			/* joins the thread */
	devtest_vm_free(vm);
}

/* Many ack/raise rounds at the fastest rate, racing the timer thread against register-C reads:
 * the line must never get stuck low while the device believes it is high. */
static void test_interrupt_thread_ack_race(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_rtc *r = NULL;

	assert_int_equal(emu_rtc_create(vm, &r), 0);
	devtest_out(vm, 0x70, 1, 0x0a);
	devtest_out(vm, 0x71, 1, 0x23);		/* divider on, rate 3: 8192 Hz */
	devtest_out(vm, 0x70, 1, 0x0b);
	devtest_out(vm, 0x71, 1, 0x42);		/* PIE */
	for (unsigned i = 1; i <= 300; i++) {
		assert_int_equal(devtest_wait_irq_raises(vm, 8, i, 10), i);
		devtest_out(vm, 0x70, 1, 0x0c);
		(void)devtest_in(vm, 0x71, 1);	/* ack: the thread may raise again at once */
	}
	emu_rtc_destroy(r);
	devtest_vm_free(vm);
}

static void test_real_clock(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_rtc *r = NULL;
	struct emu_rtc *r2 = NULL;

	assert_int_equal(emu_rtc_create(vm, &r), 0);
	assert_int_equal(emu_rtc_create(vm, &r2), -EEXIST);
	devtest_out(vm, 0x70, 1, 0x32);
	uint8_t century = (uint8_t)devtest_in(vm, 0x71, 1);
	assert_true(century == 0x20 || century == 0x21);
	emu_rtc_destroy(r);
	devtest_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_and_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_c_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram_and_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_and_alarm_interrupts, setup, teardown),
		cmocka_unit_test(test_interrupt_thread),
		cmocka_unit_test(test_interrupt_thread_ack_race),
		cmocka_unit_test(test_real_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
