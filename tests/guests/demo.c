/* SPDX-License-Identifier: MIT */
/*
 * demo: a tiny kernel to look at with vmscope, gdb and vmtrace. It sets up an IDT, remaps the
 * PIC to vectors 0x20-0x2f, programs PIT channel 0 at hz=100 and counts timer interrupts in
 * `ticks` (timer_handler), reads the CMOS clock, runs compute_something(), and stops by itself
 * once ticks reaches ticks=50 (half a second by default).
 *
 * Places worth a breakpoint: timer_handler, compute_something, rtc_read; watch `ticks`.
 */
#include "guest.h"

#define PIC1		0x20
#define PIC2		0xa0
#define PIC_EOI		0x20
#define IRQ_BASE	0x20
#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_HZ		1193182u
#define CMOS_INDEX	0x70
#define CMOS_DATA	0x71
#define LAPIC_SVR	0xfee000f0ul
#define LAPIC_LVT0	0xfee00350ul

volatile uint64_t ticks;		/* timer interrupts seen */
volatile uint64_t spurious;		/* spurious IRQ 7s seen */
uint64_t demo_result;			/* compute_something's last result */

struct rtc_time {
	unsigned sec, min, hour, day, mon, year;
};

__attribute__((noinline)) void timer_handler(void)
{
	ticks++;
}

__attribute__((interrupt)) static void timer_isr(struct g_intr_frame *f)
{
	timer_handler();
	g_outb(PIC1, PIC_EOI);
}

__attribute__((interrupt)) static void spurious_isr(struct g_intr_frame *f)
{
	spurious++;		/* a spurious IRQ 7 gets no EOI */
}

/*
 * Virtual-wire mode, as PC firmware leaves it: with a local APIC enabled, the PIC's INTR only
 * reaches the CPU through LINT0 programmed as ExtINT (SeaBIOS does this, qboot does not).
 * Harmless without a local APIC: the stores land on unassigned MMIO.
 */
static void lapic_virtual_wire(void)
{
	g_mmio_write32(LAPIC_SVR, 0x1ff);	/* software enable, spurious vector 0xff */
	g_mmio_write32(LAPIC_LVT0, 0x700);	/* ExtINT, unmasked */
}

static void pic_init(void)
{
	static const uint8_t icw[2][4] = {
		{ 0x11, IRQ_BASE, 0x04, 0x01 },		/* master: cascade on IRQ 2 */
		{ 0x11, IRQ_BASE + 8, 0x02, 0x01 },	/* slave: cascade identity 2 */
	};
	for (int i = 0; i < 4; i++) {
		g_outb(i ? PIC1 + 1 : PIC1, icw[0][i]);
		g_outb(i ? PIC2 + 1 : PIC2, icw[1][i]);
	}
	g_outb(PIC1 + 1, 0xfe);		/* only IRQ 0 */
	g_outb(PIC2 + 1, 0xff);
}

static void pit_init(unsigned hz)
{
	unsigned divisor = (PIT_HZ + hz / 2) / hz;

	g_outb(PIT_CMD, 0x34);		/* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	g_outb(PIT_CH0, (uint8_t)divisor);
	g_outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

static unsigned cmos_read(unsigned reg)
{
	g_outb(CMOS_INDEX, (uint8_t)reg);
	return g_inb(CMOS_DATA);
}

static unsigned from_bcd(unsigned v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

/* Reads the clock outside an update cycle; returns 0 when every field is in range. */
__attribute__((noinline)) int rtc_read(struct rtc_time *t)
{
	while (cmos_read(0x0a) & 0x80)	/* update in progress */
		;
	unsigned b = cmos_read(0x0b);
	bool bin = b & 0x04;
	unsigned hour = cmos_read(0x04);

	t->sec = from_bcd(cmos_read(0x00), bin);
	t->min = from_bcd(cmos_read(0x02), bin);
	t->hour = from_bcd(hour & 0x7f, bin);
	if (!(b & 0x02) && (hour & 0x80))	/* 12-hour clock, PM */
		t->hour = t->hour % 12 + 12;
	t->day = from_bcd(cmos_read(0x07), bin);
	t->mon = from_bcd(cmos_read(0x08), bin);
	t->year = from_bcd(cmos_read(0x09), bin);
	return t->sec < 60 && t->min < 60 && t->hour < 24 && t->day >= 1 && t->day <= 31 &&
	       t->mon >= 1 && t->mon <= 12 && t->year < 100 ? 0 : -1;
}

/* Something to step through: the sum of i*i mod 7919 for i < n. */
__attribute__((noinline)) uint64_t compute_something(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += (i * i) % 7919;
	demo_result = acc;
	return acc;
}

static void wait_ticks(uint64_t target, uint64_t every)
{
	uint64_t next = every;

	while (ticks < target) {
		g_sti_hlt();
		g_cli();
		for (; next <= ticks && next <= target; next += every)
			g_printf("demo: %lu ticks\n", next);
	}
}

void guest_main(const char *cmdline)
{
	uint64_t hz = g_arg_u64_or(cmdline, "hz", 100);
	uint64_t target = g_arg_u64_or(cmdline, "ticks", 50);
	struct rtc_time t;

	if (hz < 19 || hz > 10000 || target == 0) {
		g_puts("demo: want hz=19..10000 and ticks=1..\n");
		g_exit(G_EXIT_USAGE);
	}
	g_puts("demo: vmscope demo kernel starting\n");
	g_cpu_init();
	g_idt_set(IRQ_BASE + 0, (void (*)(void))timer_isr, 0);
	g_idt_set(IRQ_BASE + 7, (void (*)(void))spurious_isr, 0);
	g_idt_set(0xff, (void (*)(void))spurious_isr, 0);	/* local APIC spurious */
	lapic_virtual_wire();
	pic_init();
	pit_init((unsigned)hz);
	g_printf("demo: timer at %lu Hz, waiting for %lu ticks\n", hz, target);
	g_printf("demo: rtc %s\n", rtc_read(&t) == 0 ? "date and time valid" : "INVALID");
	g_printf("demo: compute_something(1000) = %lu\n", compute_something(1000));
	wait_ticks(target, 10);
	g_outb(PIC1 + 1, 0xff);		/* mask the timer again */
	g_printf("demo: done after %lu ticks\n", target);
	g_exit(G_EXIT_OK);
}
