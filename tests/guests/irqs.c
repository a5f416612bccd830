/* SPDX-License-Identifier: MIT */
/*
 * irqs: real interrupt delivery through the 8259A pair with two sources the guest controls:
 * IRQ 0 (PIT channel 0, mode 0, a one-shot that fires two ticks after its count is written) and
 * IRQ 4 (COM1, THR-empty interrupt, enabled in IER). Checks the order of delivery by priority,
 * after a priority rotation, with a mask, and that a lower-priority request waits for the EOI of
 * the one in service; then IRQ 8 (the CMOS clock's periodic interrupt) through the slave PIC.
 * Every result is an order of events, never a time.
 */
#include "guest.h"

#define PIC1		0x20
#define PIC2		0xa0
#define IRQ_BASE	0x20
#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define LAPIC_SVR	0xfee000f0ul
#define LAPIC_LVT0	0xfee00350ul
#define SPIN		1000000u	/* bound on waits for what must happen (they end early) */
#define SHORT_SPIN	2000u		/* how long to give what must not happen: CPL0 is slow under KVM */

static volatile char order[16];
static volatile unsigned n_events;
static volatile bool nest_test, nest_held;

static void record(char c)
{
	if (n_events < sizeof(order) - 1)
		order[n_events++] = c;
}

static void uart_irq(bool on)
{
	g_outb(G_COM1 + 1, on ? 0x02 : 0x00);	/* IER: THR empty -> IRQ 4 rises at once */
}

static bool seen(char c)
{
	for (unsigned i = 0; i < n_events; i++)
		if (order[i] == c)
			return true;
	return false;
}

__attribute__((interrupt)) static void isr_timer(struct g_intr_frame *f)
{
	record('0');
	if (nest_test) {
		uart_irq(true);
		g_sti();
		unsigned i = 0;
		while (i < SHORT_SPIN && !seen('4'))	/* lower priority: held while 0 is in service */
			i++;
		nest_held = !seen('4');
		g_outb(PIC1, 0x20);
		for (i = 0; i < SPIN && !seen('4'); i++)	/* ...and comes once 0 is EOI'd */
			;
		g_cli();
		record('e');
		return;
	}
	g_outb(PIC1, 0x20);
}

static uint8_t cmos_read(uint8_t reg)
{
	g_outb(0x70, reg);
	return g_inb(0x71);
}

__attribute__((interrupt)) static void isr_rtc(struct g_intr_frame *f)
{
	record('8');
	g_outb(0x70, 0x0b);
	g_outb(0x71, 0x02);			/* PIE off: one is enough */
	if (cmos_read(0x0c) & 0x40)		/* reading C acknowledges it */
		record('p');
	g_outb(PIC2, 0x20);
	g_outb(PIC1, 0x20);
}

__attribute__((interrupt)) static void isr_uart(struct g_intr_frame *f)
{
	record('4');
	(void)g_inb(G_COM1 + 2);		/* reading IIR acknowledges THR empty */
	uart_irq(false);
	g_outb(PIC1, 0x20);
}

static void pic_init(uint8_t mask)
{
	static const uint8_t m[] = { 0x11, IRQ_BASE, 0x04, 0x01 }, s[] = { 0x11, IRQ_BASE + 8, 0x02, 0x01 };

	for (unsigned i = 0; i < 4; i++) {
		g_outb(i ? PIC1 + 1 : PIC1, m[i]);
		g_outb(i ? PIC2 + 1 : PIC2, s[i]);
	}
	g_outb(PIC1 + 1, mask);
	g_outb(PIC2 + 1, 0xff);
}

/* Fires IRQ 0 once and waits until the PIC has latched it (IRR bit 0). */
static void timer_fire_and_latch(void)
{
	g_outb(PIT_CMD, 0x30);			/* channel 0, lo/hi, mode 0 */
	g_outb(PIT_CH0, 2);
	g_outb(PIT_CH0, 0);
	g_outb(PIC1, 0x0a);			/* OCW3: read IRR */
	for (unsigned i = 0; i < SPIN && !(g_inb(PIC1) & 0x01); i++)
		;
}

static void reset_events(void)
{
	n_events = 0;
	for (unsigned i = 0; i < sizeof(order); i++)
		order[i] = 0;
}

/* Opens an interrupt window until `want` events were recorded, then `linger` more times. */
static void take_interrupts(unsigned want, unsigned linger)
{
	for (unsigned i = 0; i < SPIN && n_events < want; i++) {
		g_sti();
		__asm__ volatile("nop");
		g_cli();
	}
	for (unsigned i = 0; i < linger; i++) {
		g_sti();
		__asm__ volatile("nop");
		g_cli();
	}
}

/* Both requests pending with interrupts off; then let them in. */
static void run_both(unsigned want, unsigned linger)
{
	reset_events();
	timer_fire_and_latch();
	uart_irq(true);
	take_interrupts(want, linger);
}

static void print_order(const char *what)
{
	g_printf("irqs: %s:", what);
	for (unsigned i = 0; i < n_events; i++)
		g_printf(" %c", order[i]);
	g_puts("\n");
}

/* The RTC's periodic interrupt (1024 Hz) on IRQ 8: slave line 0, through master line 2. */
static void rtc_periodic(void)
{
	reset_events();
	g_outb(PIC1 + 1, 0xfb);			/* only the cascade on the master */
	g_outb(PIC2 + 1, 0xfe);			/* only IRQ 8 on the slave */
	(void)cmos_read(0x0c);
	g_outb(0x70, 0x0a);
	g_outb(0x71, 0x26);
	g_outb(0x70, 0x0b);
	g_outb(0x71, 0x42);			/* PIE, 24 h BCD */
	take_interrupts(1, 0);
	g_outb(PIC2 + 1, 0xff);
	print_order("RTC periodic interrupt through the slave PIC");
}

void guest_main(const char *cmdline)
{
	g_cpu_init();
	g_idt_set(IRQ_BASE + 0, (void (*)(void))isr_timer, 0);
	g_idt_set(IRQ_BASE + 4, (void (*)(void))isr_uart, 0);
	g_idt_set(IRQ_BASE + 8, (void (*)(void))isr_rtc, 0);
	g_mmio_write32(LAPIC_SVR, 0x1ff);	/* virtual-wire mode, see demo.c */
	g_mmio_write32(LAPIC_LVT0, 0x700);
	g_outb(PIT_CMD, 0x30);			/* stop the periodic reset-time timer */
	pic_init(0xee);				/* IRQ 0 and 4 */
	g_outb(G_COM1 + 4, 0x08);		/* MCR.OUT2 */

	run_both(2, 0);
	print_order("both pending, by priority");
	g_outb(PIC1, 0xc0 | 0);			/* OCW2 set priority: IRQ 0 lowest */
	run_both(2, 0);
	print_order("after making IRQ 0 the lowest");
	g_outb(PIC1, 0xc0 | 7);			/* back to IRQ 7 lowest */
	g_outb(PIC1 + 1, 0xfe);			/* mask IRQ 4 */
	run_both(1, SHORT_SPIN);
	print_order("IRQ 4 masked");
	g_outb(PIC1 + 1, 0xee);
	take_interrupts(2, 0);
	print_order("IRQ 4 unmasked");
	reset_events();
	nest_test = true;
	timer_fire_and_latch();
	take_interrupts(3, 0);
	print_order("IRQ 4 raised inside IRQ 0's handler");
	g_printf("irqs: IRQ 4 held until IRQ 0's EOI: %s\n", nest_held ? "yes" : "NO");
	rtc_periodic();
	g_outb(PIC1 + 1, 0xff);
	g_outb(G_COM1 + 4, 0x00);
	g_exit(G_EXIT_OK);
}
