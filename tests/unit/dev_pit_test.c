/* SPDX-License-Identifier: MIT */
/* 8254 PIT with no backend. A fake clock makes counting exact; one test runs the real timer
 * thread and waits (handshake) for IRQ 0 edges. */
#include <stdlib.h>

#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"
#include "emu/dev/pit-local.h"

struct fixture {
	struct emu_vm *vm;
	struct emu_pit *pit;
	uint64_t now;		/* fake clock, ns */
};

static uint64_t fake_now(void *opaque) { return ((struct fixture *)opaque)->now; }

/* Advances the fake clock to exactly `ticks` PIT ticks after `base` ns. */
static void at_tick(struct fixture *f, uint64_t base, uint64_t ticks)
{
	f->now = base + (ticks * 1000000000ull + EMU_PIT_HZ - 1) / EMU_PIT_HZ;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->now = 1000000000ull;
	f->vm = devtest_vm_new();
	if (emu_pit_create_clocked(f->vm, fake_now, f, &f->pit) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_pit_destroy(f->pit);
	devtest_vm_free(f->vm);
	free(f);
	return 0;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v) { devtest_out(f->vm, port, 1, v); }
static uint8_t in8(struct fixture *f, uint16_t port) { return (uint8_t)devtest_in(f->vm, port, 1); }
static unsigned read16(struct fixture *f, uint16_t port) { unsigned lo = in8(f, port); return lo | in8(f, port) << 8; }
static void program(struct fixture *f, unsigned ch, uint8_t ctl, unsigned count)
{
	out8(f, 0x43, (uint8_t)(ch << 6 | ctl));
	out8(f, (uint16_t)(0x40 + ch), (uint8_t)count);
	out8(f, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static void test_mode2_counts_and_latch(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	program(f, 0, 0x34, 1000);		/* lobyte/hibyte, mode 2 */
	assert_int_equal(read16(f, 0x40), 1000);
	at_tick(f, t0, 250);
	out8(f, 0x43, 0x00);			/* counter latch */
	at_tick(f, t0, 400);
	assert_int_equal(read16(f, 0x40), 750);	/* the latched value, not the live one */
	assert_int_equal(read16(f, 0x40), 600);
	at_tick(f, t0, 1999);
	assert_int_equal(read16(f, 0x40), 1);
	at_tick(f, t0, 2000);
	assert_int_equal(read16(f, 0x40), 1000);	/* reloaded */
}

static void test_byte_access_modes(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	out8(f, 0x43, 0x10);			/* channel 0, lobyte only, mode 0 */
	out8(f, 0x40, 0x80);
	assert_int_equal(in8(f, 0x40), 0x80);
	assert_int_equal(in8(f, 0x40), 0x80);	/* still the low byte */
	out8(f, 0x43, 0x20);			/* hibyte only */
	out8(f, 0x40, 0x02);
	at_tick(f, t0, 0);
	assert_int_equal(in8(f, 0x40), 0x02);
	at_tick(f, f->now, 0x100);
	assert_int_equal(in8(f, 0x40), 0x01);
}

static void test_read_back_status(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x43, 0xb4);			/* channel 2, lo/hi, mode 2 */
	out8(f, 0x43, 0xe8);			/* read-back: status only, channel 2 */
	assert_int_equal(in8(f, 0x42), 0xf4);	/* OUT high, null count, lo/hi, mode 2 */
	out8(f, 0x42, 0x10);
	out8(f, 0x42, 0x00);
	out8(f, 0x43, 0xc8);			/* read-back: count and status, channel 2 */
	assert_int_equal(in8(f, 0x42), 0xb4);	/* status first; count loaded */
	assert_int_equal(read16(f, 0x42), 0x10);
	out8(f, 0x43, 0x36);			/* channel 0, mode 3 */
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40), 0xf6);	/* OUT high, null count, mode 3 */
	out8(f, 0x43, 0x3e);			/* mode 7 works as mode 3... */
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x0e, 0x0e);	/* ...but reads back as written */
	out8(f, 0x40, 100);
	out8(f, 0x40, 0);
	uint64_t t0 = f->now;
	at_tick(f, t0, 10);
	assert_int_equal(read16(f, 0x40), 80);	/* counting by two: mode 3 */
	assert_int_equal(in8(f, 0x43), 0xff);	/* the control port reads nothing */
}

static void test_mode0_one_shot_irq(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;
	unsigned before = devtest_irq_raises(f->vm, 0);

	program(f, 0, 0x30, 100);		/* mode 0 */
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x80, 0);	/* OUT low while counting */
	at_tick(f, t0, 99);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before);
	at_tick(f, t0, 100);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before + 1);
	assert_int_equal(devtest_irq_level(f->vm, 0), 0);	/* a pulse: an edge for the PIC */
	out8(f, 0x43, 0xe2);
	assert_int_equal(in8(f, 0x40) & 0x80, 0x80);
	at_tick(f, t0, 100000);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before + 1);	/* once only */
}

static void test_mode2_periodic_irq(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	program(f, 0, 0x34, 11932);		/* 100 Hz */
	unsigned before = devtest_irq_raises(f->vm, 0);
	for (unsigned i = 1; i <= 3; i++) {
		at_tick(f, t0, 11932ull * i - 1);
		emu_pit_poll(f->pit);
		assert_int_equal(devtest_irq_raises(f->vm, 0), before + i - 1);
		at_tick(f, t0, 11932ull * i);
		emu_pit_poll(f->pit);
		assert_int_equal(devtest_irq_raises(f->vm, 0), before + i);
	}
	at_tick(f, t0, 11932ull * 10 + 5);	/* late: the missed edges merge into one */
	emu_pit_poll(f->pit);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before + 4);
	at_tick(f, t0, 11932ull * 11);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before + 5);
	out8(f, 0x43, 0x34);			/* a control word stops it until the count */
	at_tick(f, t0, 11932ull * 20);
	emu_pit_poll(f->pit);
	assert_int_equal(devtest_irq_raises(f->vm, 0), before + 5);
}

static void test_mode3_square_wave(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	out8(f, 0x61, 0x01);			/* gate 2 high */
	program(f, 2, 0x36, 100);		/* channel 2, mode 3 */
	t0 = f->now;
	at_tick(f, t0, 10);
	assert_int_equal(read16(f, 0x42), 80);	/* counts by two */
	assert_int_equal(in8(f, 0x61) & 0x21, 0x21);	/* OUT 2 high in the first half */
	at_tick(f, t0, 60);
	assert_int_equal(in8(f, 0x61) & 0x20, 0);
	at_tick(f, t0, 100);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
}

static void test_bcd(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	program(f, 1, 0x31, 0x1000);		/* channel 1, mode 0, BCD 1000 */
	at_tick(f, t0, 1);
	assert_int_equal(read16(f, 0x41), 0x0999);
	program(f, 1, 0x35, 0x0000);		/* BCD 0 means 10000 */
	t0 = f->now;
	at_tick(f, t0, 1);
	assert_int_equal(read16(f, 0x41), 0x9999);
}

static void test_gate_triggers_mode1_and_port61(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x61, 0x00);
	program(f, 2, 0x32, 50);		/* channel 2, mode 1: waits for a gate edge */
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);	/* OUT high before the trigger */
	uint64_t t0 = f->now;
	out8(f, 0x61, 0x03);			/* gate rises: triggered; speaker data bit kept */
	assert_int_equal(in8(f, 0x61) & 0x2f, 0x03);	/* OUT low while counting */
	at_tick(f, t0, 50);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	program(f, 2, 0x38, 20);		/* mode 4: a one-tick low pulse at 20 */
	t0 = f->now;
	at_tick(f, t0, 19);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	at_tick(f, t0, 20);
	assert_int_equal(in8(f, 0x61) & 0x20, 0);
	at_tick(f, t0, 21);
	assert_int_equal(in8(f, 0x61) & 0x20, 0x20);
	uint8_t a = in8(f, 0x61) & 0x10;
	f->now += 15085;			/* the refresh bit toggles */
	assert_int_not_equal(in8(f, 0x61) & 0x10, a);
}

static void test_real_clock_thread(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_pit *pit = NULL;

	assert_int_equal(emu_pit_create(vm, &pit), 0);
	devtest_out(vm, 0x43, 1, 0x34);
	devtest_out(vm, 0x40, 1, 1193 & 0xff);	/* 1 kHz */
	devtest_out(vm, 0x40, 1, 1193 >> 8);
	unsigned base = devtest_irq_raises(vm, 0);
	assert_true(devtest_wait_irq_raises(vm, 0, base + 5, 20) >= base + 5);
	emu_pit_destroy(pit);			/* joins the thread */
	devtest_vm_free(vm);
}

static void test_create_twice_fails(void **state)
{
	struct fixture *f = *state;
	struct emu_pit *p2 = NULL;

	assert_int_equal(emu_pit_create(f->vm, &p2), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode2_counts_and_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_access_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_back_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode0_one_shot_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode2_periodic_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode3_square_wave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_triggers_mode1_and_port61, setup, teardown),
		cmocka_unit_test(test_real_clock_thread),
		cmocka_unit_test_setup_teardown(test_create_twice_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
