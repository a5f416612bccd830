/* SPDX-License-Identifier: MIT */
/*
 * The local APICs and the I/O APIC with no backend: reset state, the PIC behind LINT0, IPIs,
 * priorities (TPR/PPR/ISR), EOI, the timer on a fake clock (one-shot, periodic, masked, divide),
 * the I/O APIC's edge and level pins with remote IRR, logical destinations, bad arguments.
 */
#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"
#include "emu/dev/apic-local.h"

#define LAPIC 0xfee00000ull
#define IOAPIC 0xfec00000ull

/* ---- a stand-in 8259: one pending vector or none ---- */
struct fake_pic {
	int pending;		/* vector, or -1 */
	unsigned set_irqs;
	unsigned last_irq;
	int last_level;
};
static void pic_set_irq(void *o, unsigned irq, int level)
{
	struct fake_pic *p = o;
	p->set_irqs++;
	p->last_irq = irq;
	p->last_level = level;
}
static bool pic_has_pending(void *o) { return ((struct fake_pic *)o)->pending >= 0; }
static int pic_ack(void *o)
{
	struct fake_pic *p = o;
	int v = p->pending;
	p->pending = -1;
	return v;
}
static const struct emu_intr_ops fake_pic_ops = { pic_set_irq, pic_has_pending, pic_ack, NULL, NULL };

static struct emu_vm *vm;
static struct emu_apic *apic;
static struct fake_pic pic;
static uint64_t now;
static struct emu_vcpu cpu[2] = { { 0 }, { 1 } };

static uint64_t fake_now(void *o) { return now; }

static int setup_n(unsigned n)
{
	vm = devtest_vm_new();
	pic = (struct fake_pic){ .pending = -1 };
	now = 0;
	devtest_current_vcpu = &cpu[0];
	emu_vm_set_intr_controller(vm, &fake_pic_ops, &pic);
	return emu_apic_create_clocked(vm, n, fake_now, NULL, &apic);
}
static int setup(void **state) { return setup_n(1); }
static int setup2(void **state) { return setup_n(2); }

static int teardown(void **state)
{
	emu_apic_destroy(apic);
	assert_ptr_equal(vm->intr_ops, &fake_pic_ops);	/* the PIC is the controller again */
	devtest_vm_free(vm);
	return 0;
}

static uint32_t rd(uint32_t reg) { return (uint32_t)devtest_mmio_read(vm, LAPIC + reg, 4); }
static void wr(uint32_t reg, uint32_t v) { devtest_mmio_write(vm, LAPIC + reg, 4, v); }
static uint32_t io_rd(uint32_t reg)
{
	devtest_mmio_write(vm, IOAPIC, 4, reg);
	return (uint32_t)devtest_mmio_read(vm, IOAPIC + 0x10, 4);
}
static void io_wr(uint32_t reg, uint32_t v)
{
	devtest_mmio_write(vm, IOAPIC, 4, reg);
	devtest_mmio_write(vm, IOAPIC + 0x10, 4, v);
}
static bool pending(unsigned v) { return vm->intr_ops->vcpu_has_pending(vm->intr_opaque, v); }
static int ack(unsigned v) { return vm->intr_ops->vcpu_ack(vm->intr_opaque, v); }
static bool irr_has(unsigned vec) { return rd(0x200 + (vec / 32) * 0x10) & (1u << (vec % 32)); }
static bool isr_has(unsigned vec) { return rd(0x100 + (vec / 32) * 0x10) & (1u << (vec % 32)); }
static void self_ipi(uint8_t vec) { wr(0x300, (1u << 18) | vec); }
/* ack on vCPU v, then its EOI written by v itself; returns the vector. */
static int ack_eoi(unsigned v)
{
	struct emu_vcpu *was = devtest_current_vcpu;
	int vec = ack(v);

	devtest_current_vcpu = &cpu[v];
	wr(0xb0, 0);
	devtest_current_vcpu = was;
	return vec;
}

static void test_reset_state(void **state)
{
	assert_int_equal(rd(0x30), 0x00050014);
	assert_int_equal(rd(0x20), 0);
	assert_int_equal(rd(0xf0), 0xff);
	assert_int_equal(rd(0xe0), 0xffffffff);
	assert_int_equal(rd(0x320), 1u << 16);		/* timer masked */
	assert_int_equal(rd(0x350), 0x700);		/* BSP LINT0: ExtINT */
	assert_int_equal(rd(0x360), 1u << 16);
	devtest_current_vcpu = &cpu[1];
	assert_int_equal(rd(0x20), 1u << 24);		/* each vCPU sees its own */
	assert_int_equal(rd(0x350), 1u << 16);		/* APs: LINT0 masked */
	assert_int_equal(io_rd(0x01), 0x00170020);
	for (unsigned pin = 0; pin < 24; pin++)
		assert_true(io_rd(0x10 + 2 * pin) & (1u << 16));
}

static void test_pic_through_lint0(void **state)
{
	assert_false(pending(0));
	pic.pending = 0x21;
	assert_true(pending(0));
	assert_true(vm->intr_ops->has_pending(vm->intr_opaque));	/* the legacy view is vCPU 0 */
	assert_int_equal(ack(0), 0x21);
	assert_false(pending(0));
	vm->intr_ops->set_irq(vm->intr_opaque, 4, 1);			/* ISA lines reach the PIC */
	assert_int_equal(pic.last_irq, 4);
	assert_int_equal(pic.last_level, 1);
	pic.pending = 0x24;
	wr(0x350, 0x700 | (1u << 16));					/* LINT0 masked: no ExtINT */
	assert_false(pending(0));
	wr(0xf0, 0x1ff);
	wr(0x350, 0x700);
	assert_true(pending(0));
}

static void test_self_ipi_priorities_eoi(void **state)
{
	self_ipi(0x40);
	assert_true(irr_has(0x40));
	assert_false(pending(0));		/* software disabled */
	wr(0xf0, 0x1ff);
	assert_true(pending(0));
	assert_int_equal(ack(0), 0x40);
	assert_true(isr_has(0x40));
	assert_false(irr_has(0x40));
	assert_int_equal(rd(0xa0), 0x40);	/* PPR follows the ISR */
	self_ipi(0x35);				/* lower class: waits */
	assert_false(pending(0));
	self_ipi(0x51);				/* higher class: nests */
	assert_int_equal(ack(0), 0x51);
	wr(0xb0, 0);				/* EOI: the highest in service */
	assert_false(isr_has(0x51));
	assert_true(isr_has(0x40));
	wr(0xb0, 0);
	assert_int_equal(ack(0), 0x35);
	wr(0xb0, 0);
	wr(0x80, 0x50);				/* TPR blocks classes <= 5 */
	self_ipi(0x45);
	assert_false(pending(0));
	wr(0x80, 0);
	assert_true(pending(0));
	assert_true(vm->kicks > 0);
}

static void test_spurious_and_illegal_vector(void **state)
{
	wr(0xf0, 0x1ff);
	assert_int_equal(ack(0), 0xff);		/* nothing pending: the spurious vector */
	self_ipi(5);				/* vectors 0-15 are illegal */
	assert_false(irr_has(5));
	wr(0x280, 0);				/* a write latches the errors */
	assert_int_equal(rd(0x280), 0x20);
	wr(0x280, 0);
	assert_int_equal(rd(0x280), 0);
}

static void test_timer_one_shot(void **state)
{
	wr(0xf0, 0x1ff);
	wr(0x3e0, 0xb);				/* divide by 1 */
	wr(0x320, 0xec);			/* one-shot, unmasked */
	wr(0x380, 1000);
	now = 400;
	assert_int_equal(rd(0x390), 600);
	now = 999;
	emu_apic_poll(apic);
	assert_false(irr_has(0xec));
	now = 1000;
	emu_apic_poll(apic);
	assert_true(irr_has(0xec));
	assert_int_equal(rd(0x390), 0);
	assert_int_equal(ack(0), 0xec);
	wr(0xb0, 0);
	now = 5000;
	emu_apic_poll(apic);
	assert_false(irr_has(0xec));		/* one shot only */
}

static void test_timer_periodic_divide_masked(void **state)
{
	wr(0xf0, 0x1ff);
	wr(0x3e0, 0x0);				/* divide by 2 */
	wr(0x320, (1u << 17) | 0xef);		/* periodic */
	wr(0x380, 100);				/* period 200 ns */
	now = 199;
	emu_apic_poll(apic);
	assert_false(irr_has(0xef));
	now = 200;
	emu_apic_poll(apic);
	assert_int_equal(ack(0), 0xef);
	wr(0xb0, 0);
	now = 350;
	emu_apic_poll(apic);
	assert_false(irr_has(0xef));
	assert_int_equal(rd(0x390), 100 - (175 % 100));
	now = 400;
	emu_apic_poll(apic);
	assert_true(irr_has(0xef));
	assert_int_equal(ack(0), 0xef);
	wr(0xb0, 0);
	now = 10000;				/* far behind: one interrupt, not fifty */
	emu_apic_poll(apic);
	assert_int_equal(ack(0), 0xef);
	wr(0xb0, 0);
	assert_false(pending(0));
	wr(0x320, (1u << 16) | (1u << 17) | 0xef);	/* masked: counts, never raises */
	now = 20000;
	emu_apic_poll(apic);
	assert_false(irr_has(0xef));
	wr(0x380, 0);				/* count 0 stops it */
	assert_int_equal(rd(0x390), 0);
}

static void test_software_disable_masks_lvt(void **state)
{
	wr(0xf0, 0x1ff);
	wr(0x320, 0xec);
	assert_int_equal(rd(0x320), 0xec);
	wr(0xf0, 0xff);
	assert_true(rd(0x320) & (1u << 16));
	wr(0x320, 0xec);			/* cannot unmask while disabled */
	assert_true(rd(0x320) & (1u << 16));
}

static void test_ioapic_edge(void **state)
{
	wr(0xf0, 0x1ff);
	io_wr(0x10 + 2 * 4, 0x34);		/* pin 4: vector 0x34, edge, fixed, physical */
	io_wr(0x11 + 2 * 4, 0);			/* dest APIC 0 */
	vm->intr_ops->set_irq(vm->intr_opaque, 4, 1);
	assert_int_equal(ack(0), 0x34);
	wr(0xb0, 0);
	vm->intr_ops->set_irq(vm->intr_opaque, 4, 1);	/* no new edge */
	assert_false(pending(0));
	vm->intr_ops->set_irq(vm->intr_opaque, 4, 0);
	vm->intr_ops->set_irq(vm->intr_opaque, 4, 1);
	assert_int_equal(ack(0), 0x34);
	wr(0xb0, 0);
	io_wr(0x10 + 2 * 2, 0x30);		/* ISA IRQ 0 arrives on pin 2 */
	vm->intr_ops->set_irq(vm->intr_opaque, 0, 1);
	assert_int_equal(ack(0), 0x30);
	io_wr(0x10 + 2 * 5, 0x35 | (1u << 16));	/* masked */
	vm->intr_ops->set_irq(vm->intr_opaque, 5, 1);
	wr(0xb0, 0);
	assert_false(pending(0));
	io_wr(0x00, 0xff000000);
	assert_int_equal(io_rd(0x00), 0x0f000000);
}

static void test_ioapic_level_remote_irr(void **state)
{
	wr(0xf0, 0x1ff);
	io_wr(0x10 + 2 * 9, 0x39 | (1u << 15));	/* level triggered */
	vm->intr_ops->set_irq(vm->intr_opaque, 9, 1);
	assert_true(io_rd(0x10 + 2 * 9) & (1u << 14));	/* remote IRR */
	assert_int_equal(ack(0), 0x39);
	assert_true(rd(0x180 + (0x39 / 32) * 0x10) & (1u << (0x39 % 32)));	/* TMR */
	wr(0xb0, 0);				/* EOI while still asserted: delivered again */
	assert_true(io_rd(0x10 + 2 * 9) & (1u << 14));
	assert_int_equal(ack(0), 0x39);
	vm->intr_ops->set_irq(vm->intr_opaque, 9, 0);
	wr(0xb0, 0);
	assert_false(io_rd(0x10 + 2 * 9) & (1u << 14));
	assert_false(pending(0));
	io_wr(0x10 + 2 * 9, 0x39 | (1u << 15) | (1u << 16));	/* masked while asserted... */
	vm->intr_ops->set_irq(vm->intr_opaque, 9, 1);
	assert_false(pending(0));
	io_wr(0x10 + 2 * 9, 0x39 | (1u << 15));	/* ...unmasking delivers */
	assert_int_equal(ack(0), 0x39);
	devtest_mmio_write(vm, IOAPIC + 0x40, 4, 0x39);	/* the EOI register */
	assert_true(irr_has(0x39));			/* line still high: again (0x39 still in service) */
	assert_false(pending(0));
}

static void test_logical_destinations_two_vcpus(void **state)
{
	devtest_current_vcpu = &cpu[1];
	wr(0xf0, 0x1ff);
	wr(0xd0, 0x02000000);			/* flat logical ID bit 1 */
	devtest_current_vcpu = &cpu[0];
	wr(0xf0, 0x1ff);
	wr(0xd0, 0x01000000);
	wr(0x310, 0x02000000);
	wr(0x300, (1u << 11) | 0x61);		/* logical, to bit 1: vCPU 1 */
	assert_false(pending(0));
	assert_true(pending(1));
	assert_int_equal(ack_eoi(1), 0x61);
	wr(0x310, 0x01000000);
	wr(0x300, 0x62);			/* physical dest 1: vCPU 1 */
	assert_int_equal(ack_eoi(1), 0x62);
	wr(0x300, (3u << 18) | 0x63);		/* all but self */
	assert_false(pending(0));
	assert_int_equal(ack_eoi(1), 0x63);
	wr(0x300, (2u << 18) | 0x64);		/* all including self */
	assert_int_equal(ack_eoi(0), 0x64);
	assert_int_equal(ack_eoi(1), 0x64);
	/* cluster model: cluster 1, member bit 0 is vCPU 1 */
	devtest_current_vcpu = &cpu[1];
	wr(0xe0, 0x0fffffff);
	wr(0xd0, 0x11000000);
	devtest_current_vcpu = &cpu[0];
	wr(0xe0, 0x0fffffff);
	wr(0x310, 0x11000000);
	wr(0x300, (1u << 11) | 0x65);
	assert_false(pending(0));
	assert_int_equal(ack_eoi(1), 0x65);
	wr(0x300, (1u << 11) | (5u << 8) | (1u << 14));	/* INIT to vCPU 1's cluster address: counted only */
	assert_int_equal(apic->lapic[1].init_ipis, 1);
	assert_int_equal(vm->startups, 0);
	wr(0x300, (1u << 11) | (6u << 8) | 0x08);		/* startup IPI: vCPU 1 starts at 0x8000 */
	assert_int_equal(apic->lapic[1].sipi_ipis, 1);
	assert_int_equal(vm->startups, 1);
	assert_int_equal(vm->startup_index, 1);
	assert_int_equal(vm->startup_vector, 0x08);
	/* the I/O APIC to vCPU 1 by physical ID */
	io_wr(0x10 + 2 * 3, 0x43);
	io_wr(0x11 + 2 * 3, 1u << 24);
	vm->intr_ops->set_irq(vm->intr_opaque, 3, 1);
	assert_int_equal(ack_eoi(1), 0x43);
	assert_false(pending(0));
}

static void test_odd_accesses_and_bad_create(void **state)
{
	struct emu_apic *a2 = NULL;
	struct emu_vm *vm2 = devtest_vm_new();

	assert_int_equal(devtest_mmio_read(vm, LAPIC + 0x31, 1), 0);	/* not on a 16-byte boundary */
	devtest_mmio_write(vm, LAPIC + 0xf4, 4, 0);			/* ignored */
	assert_int_equal(rd(0xf0), 0xff);
	assert_int_equal(rd(0x7f0), 0);					/* reserved */
	assert_int_equal(ack(5), -ENOENT);				/* no such vCPU */
	assert_false(pending(5));
	assert_int_equal(emu_apic_create_clocked(vm2, 0, fake_now, NULL, &a2), -EINVAL);
	assert_int_equal(emu_apic_create_clocked(vm2, EMU_APIC_MAX_VCPUS + 1, fake_now, NULL, &a2), -EINVAL);
	assert_int_equal(emu_apic_create_clocked(vm, 1, fake_now, NULL, &a2), -EEXIST);	/* MMIO taken */
	devtest_vm_free(vm2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_pic_through_lint0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_ipi_priorities_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spurious_and_illegal_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_periodic_divide_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_software_disable_masks_lvt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioapic_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioapic_level_remote_irr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logical_destinations_two_vcpus, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_odd_accesses_and_bad_create, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
