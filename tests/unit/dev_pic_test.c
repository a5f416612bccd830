/* SPDX-License-Identifier: MIT */
/* Dual 8259A with no backend: initialisation, priorities, EOIs, cascade, ELCR, spurious IRQs. */
#include <stdlib.h>

#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"

struct fixture {
	struct emu_vm *vm;
	struct emu_pic *pic;
};

static void out8(struct fixture *f, uint16_t port, uint8_t v) { devtest_out(f->vm, port, 1, v); }
static uint8_t in8(struct fixture *f, uint16_t port) { return (uint8_t)devtest_in(f->vm, port, 1); }
static void irq(struct fixture *f, unsigned line, int level) { f->vm->intr_ops->set_irq(f->vm->intr_opaque, line, level); }
static void pulse(struct fixture *f, unsigned line) { irq(f, line, 1); irq(f, line, 0); }
static bool pending(struct fixture *f) { return f->vm->intr_ops->has_pending(f->vm->intr_opaque); }
static int ack(struct fixture *f) { return f->vm->intr_ops->ack(f->vm->intr_opaque); }

/* The usual PC initialisation: vectors 0x20/0x28, cascade on IRQ 2, 8086 mode, icw4 extra bits. */
static void pic_init(struct fixture *f, uint8_t icw4)
{
	out8(f, 0x20, 0x11); out8(f, 0xa0, 0x11);
	out8(f, 0x21, 0x20); out8(f, 0xa1, 0x28);
	out8(f, 0x21, 0x04); out8(f, 0xa1, 0x02);
	out8(f, 0x21, icw4); out8(f, 0xa1, icw4);
	out8(f, 0x21, 0x00); out8(f, 0xa1, 0x00);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->vm = devtest_vm_new();
	if (emu_pic_create(f->vm, &f->pic) != 0 || !f->vm->intr_ops)
		return -1;
	pic_init(f, 0x01);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	emu_pic_destroy(f->pic);
	devtest_vm_free(f->vm);
	free(f);
	return 0;
}

static uint8_t isr(struct fixture *f, uint16_t cmd) { out8(f, cmd, 0x0b); return in8(f, cmd); }
static uint8_t irr(struct fixture *f, uint16_t cmd) { out8(f, cmd, 0x0a); return in8(f, cmd); }

static void test_edge_ack_eoi(void **state)
{
	struct fixture *f = *state;
	unsigned kicks = f->vm->kicks;

	assert_false(pending(f));
	pulse(f, 0);
	assert_true(pending(f));
	assert_true(f->vm->kicks > kicks);		/* a halted vCPU is woken */
	assert_int_equal(irr(f, 0x20), 0x01);
	assert_int_equal(ack(f), 0x20);
	assert_false(pending(f));
	assert_int_equal(isr(f, 0x20), 0x01);
	assert_int_equal(irr(f, 0x20), 0x00);
	pulse(f, 0);				/* same line while in service: held */
	assert_false(pending(f));
	out8(f, 0x20, 0x20);			/* non-specific EOI */
	assert_int_equal(isr(f, 0x20), 0x00);
	assert_true(pending(f));
	assert_int_equal(ack(f), 0x20);
}

static void test_priority_and_nesting(void **state)
{
	struct fixture *f = *state;

	pulse(f, 3);
	pulse(f, 1);
	assert_int_equal(ack(f), 0x21);		/* IRQ 1 outranks IRQ 3 */
	assert_false(pending(f));		/* IRQ 3 waits behind IRQ 1 in service */
	out8(f, 0x20, 0x20);
	assert_int_equal(ack(f), 0x23);
	pulse(f, 1);				/* higher priority nests over IRQ 3 */
	assert_true(pending(f));
	assert_int_equal(ack(f), 0x21);
	assert_int_equal(isr(f, 0x20), 0x0a);
	out8(f, 0x20, 0x63);			/* specific EOI for IRQ 3 */
	assert_int_equal(isr(f, 0x20), 0x02);
	out8(f, 0x20, 0x20);
	assert_int_equal(isr(f, 0x20), 0x00);
}

static void test_mask(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x21, 0xfe);
	assert_int_equal(in8(f, 0x21), 0xfe);
	pulse(f, 4);
	assert_false(pending(f));
	assert_int_equal(irr(f, 0x20), 0x10);
	out8(f, 0x21, 0x00);
	assert_true(pending(f));
	assert_int_equal(ack(f), 0x24);
}

static void test_cascade(void **state)
{
	struct fixture *f = *state;

	pulse(f, 10);
	assert_true(pending(f));
	assert_int_equal(ack(f), 0x2a);
	assert_int_equal(isr(f, 0xa0), 0x04);
	assert_int_equal(isr(f, 0x20), 0x04);
	pulse(f, 9);				/* fully nested off: the slave waits for the master EOI */
	assert_false(pending(f));
	out8(f, 0xa0, 0x20);
	out8(f, 0x20, 0x20);
	assert_true(pending(f));
	assert_int_equal(ack(f), 0x29);
	out8(f, 0xa1, 0x02);			/* mask IRQ 9 on the slave: nothing pending */
	pulse(f, 9);
	out8(f, 0xa0, 0x20);
	out8(f, 0x20, 0x20);
	assert_false(pending(f));
}

static void test_spurious(void **state)
{
	struct fixture *f = *state;

	irq(f, 5, 1);
	assert_true(pending(f));
	out8(f, 0x21, 0x20);			/* masked between INTR and INTA */
	assert_int_equal(ack(f), 0x27);
	assert_int_equal(isr(f, 0x20), 0x00);	/* a spurious IRQ 7 is not in service */
	out8(f, 0x21, 0x00);
	irq(f, 5, 0);

	irq(f, 12, 1);
	assert_true(pending(f));
	out8(f, 0xa1, 0x10);
	irq(f, 12, 0);
	/* The slave withdrew but the master latched its cascade edge: spurious IRQ 15. */
	assert_int_equal(ack(f), 0x2f);
	assert_int_equal(isr(f, 0xa0), 0x00);
}

static void test_level_triggered_elcr(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x4d0, 0xff);
	out8(f, 0x4d1, 0xff);
	assert_int_equal(in8(f, 0x4d0), 0xf8);	/* IRQ 0-2 cannot be level */
	assert_int_equal(in8(f, 0x4d1), 0xde);	/* nor IRQ 8 and 13 */
	out8(f, 0x4d0, 0x20);			/* IRQ 5 level */
	irq(f, 5, 1);
	assert_int_equal(ack(f), 0x25);
	out8(f, 0x20, 0x20);
	assert_true(pending(f));		/* still asserted: requested again */
	assert_int_equal(ack(f), 0x25);
	irq(f, 5, 0);
	out8(f, 0x20, 0x20);
	assert_false(pending(f));
	irq(f, 6, 1);				/* edge: held high raises once */
	assert_int_equal(ack(f), 0x26);
	out8(f, 0x20, 0x20);
	assert_false(pending(f));
}

static void test_auto_eoi(void **state)
{
	struct fixture *f = *state;

	pic_init(f, 0x03);
	pulse(f, 1);
	assert_int_equal(ack(f), 0x21);
	assert_int_equal(isr(f, 0x20), 0x00);
	pulse(f, 1);
	assert_int_equal(ack(f), 0x21);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x20, 0xc0 | 3);		/* IRQ 3 lowest: IRQ 4 highest */
	pulse(f, 1);
	pulse(f, 5);
	assert_int_equal(ack(f), 0x25);
	out8(f, 0x20, 0xa0);			/* rotate on non-specific EOI: 5 becomes lowest */
	assert_int_equal(ack(f), 0x21);
	out8(f, 0x20, 0xe0 | 1);		/* rotate on specific EOI 1 */
	pulse(f, 1);
	pulse(f, 3);
	assert_int_equal(ack(f), 0x23);
}

static void test_poll_mode(void **state)
{
	struct fixture *f = *state;

	out8(f, 0x21, 0xff);
	pulse(f, 6);
	out8(f, 0x20, 0x0c);
	assert_int_equal(in8(f, 0x20), 0x00);	/* masked: nothing to poll */
	out8(f, 0x21, 0x00);
	out8(f, 0x20, 0x0c);
	assert_int_equal(in8(f, 0x20), 0x86);
	assert_int_equal(isr(f, 0x20), 0x40);
	assert_int_equal(in8(f, 0x21), 0x00);	/* poll is one read only */
}

static void test_reinit_and_bad_input(void **state)
{
	struct fixture *f = *state;
	struct emu_pic *p2 = NULL;

	irq(f, 16, 1);				/* no such line: ignored */
	irq(f, 1000, 1);
	assert_false(pending(f));
	pulse(f, 4);
	pic_init(f, 0x01);			/* ICW1 resets IRR (edge), IMR, ISR */
	assert_false(pending(f));
	assert_int_equal(emu_pic_create(f->vm, &p2), -EEXIST);
	out8(f, 0x20, 0x11);
	out8(f, 0x21, 0x40);			/* single mode, no ICW4: ICW2 ends the sequence */
	out8(f, 0x20, 0x12);			/* ICW1 again, mid-sequence: restarts it */
	out8(f, 0x21, 0x40);
	out8(f, 0x21, 0xfe);			/* this is OCW1 now */
	assert_int_equal(in8(f, 0x21), 0xfe);
	pulse(f, 0);
	assert_int_equal(ack(f), 0x40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_edge_ack_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_and_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spurious, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_triggered_elcr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinit_and_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
