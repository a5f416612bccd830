/* SPDX-License-Identifier: MIT */
/*
 * clock: prints every time it can read — the CMOS date, the TSC, PIT channel 2's count, the
 * local APIC timer's count — and how much work fits between timer interrupts (PIT channel 0 at
 * 1 kHz through the 8259, waited for with hlt and with a busy loop). On the host clock the
 * numbers change from run to run; under vmscope --clock icount two runs print the same bytes
 * (tests/integration/clock-icount.sh). Not in guests.tsv: its output is not backend-independent.
 */
#include "guest.h"

#define PIC1		0x20
#define PIC2		0xa0
#define IRQ_BASE	0x20
#define PIT_CH0		0x40
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT61		0x61
#define LAPIC		0xfee00000ul
#define PIT_1KHZ	1193

static volatile unsigned ticks;

__attribute__((interrupt)) static void isr_timer(struct g_intr_frame *f)
{
	ticks++;
	g_outb(PIC1, 0x20);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint8_t cmos_read(uint8_t reg)
{
	g_outb(0x70, reg);
	return g_inb(0x71);
}

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static void rtc_report(void)
{
	g_printf("clock: rtc %02x%02x-%02x-%02x %02x:%02x:%02x (register b 0x%02x)\n", cmos_read(0x32),
		 cmos_read(0x09), cmos_read(0x08), cmos_read(0x07), cmos_read(0x04), cmos_read(0x02), cmos_read(0x00),
		 cmos_read(0x0b));
}

static void pit2_report(void)
{
	unsigned lo, hi;

	g_outb(PORT61, (g_inb(PORT61) & 0xfc) | 0x01);	/* gate 2 on */
	g_outb(PIT_CMD, 0xb0);				/* channel 2, lo/hi, mode 0 */
	g_outb(PIT_CH2, 0xff);
	g_outb(PIT_CH2, 0xff);
	spin(20000);
	g_outb(PIT_CMD, 0x80);				/* latch channel 2 */
	lo = g_inb(PIT_CH2);
	hi = g_inb(PIT_CH2);
	g_printf("clock: pit channel 2 after a loop: %u\n", lo | hi << 8);
}

static void lapic_report(void)
{
	g_mmio_write32(LAPIC + 0xf0, 0x1ff);		/* software enable */
	g_mmio_write32(LAPIC + 0x320, 0x10040);		/* timer masked, one-shot */
	g_mmio_write32(LAPIC + 0x3e0, 0xb);		/* divide by 1 */
	g_mmio_write32(LAPIC + 0x380, 100000000);	/* initial count */
	spin(20000);
	g_printf("clock: lapic timer after a loop: %u\n", *(volatile uint32_t *)(LAPIC + 0x390));
}

static void pic_init(void)
{
	static const uint8_t m[] = { 0x11, IRQ_BASE, 0x04, 0x01 }, s[] = { 0x11, IRQ_BASE + 8, 0x02, 0x01 };

	for (unsigned i = 0; i < 4; i++) {
		g_outb(i ? PIC1 + 1 : PIC1, m[i]);
		g_outb(i ? PIC2 + 1 : PIC2, s[i]);
	}
	g_outb(PIC1 + 1, 0xfe);				/* IRQ 0 only */
	g_outb(PIC2 + 1, 0xff);
}

static void ticks_report(void)
{
	uint64_t t0, n = 0;

	g_idt_set(IRQ_BASE, (void (*)(void))isr_timer, 0);
	pic_init();
	g_outb(PIT_CMD, 0x34);				/* channel 0, lo/hi, mode 2 */
	g_outb(PIT_CH0, PIT_1KHZ & 0xff);
	g_outb(PIT_CH0, PIT_1KHZ >> 8);
	t0 = rdtsc();
	for (unsigned i = 0; i < 3; i++) {
		g_sti_hlt();
		g_cli();
		g_printf("clock: hlt %u woke at tick %u, tsc +%lu\n", i, ticks, (unsigned long)(rdtsc() - t0));
	}
	for (unsigned want = ticks + 3; ticks < want; n++) {
		g_sti();
		__asm__ volatile("nop");
		g_cli();
	}
	g_printf("clock: busy loop rounds for 3 ticks: %lu, tsc +%lu\n", (unsigned long)n, (unsigned long)(rdtsc() - t0));
	g_outb(PIC1 + 1, 0xff);
}

void guest_main(const char *cmdline)
{
	uint64_t t0;

	g_cpu_init();
	t0 = rdtsc();
	rtc_report();
	spin(100000);
	g_printf("clock: tsc across a loop: %lu\n", (unsigned long)(rdtsc() - t0));
	pit2_report();
	lapic_report();
	ticks_report();
	g_exit(G_EXIT_OK);
}
