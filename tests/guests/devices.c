/* SPDX-License-Identifier: MIT */
/*
 * devices: pokes the PC devices' registers and prints what it finds, only the parts that do not
 * depend on timing, so every backend's device models (vmscope's, KVM's in-kernel PIC and PIT,
 * QEMU's) must print the same lines. Interrupts stay off throughout (IF = 0): requests are
 * observed in the PIC's IRR and through its poll command.
 */
#include "guest.h"

#define COM1		G_COM1
#define PIC1		0x20
#define PIC2		0xa0
#define ELCR1		0x4d0
#define ELCR2		0x4d1
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT61		0x61
#define CMOS_INDEX	0x70
#define CMOS_DATA	0x71

static void check(const char *what, unsigned got, unsigned want)
{
	g_printf("%s: 0x%02x%s\n", what, got, got == want ? "" : " (UNEXPECTED)");
}

/* ---- 8250 UART: loopback keeps the console quiet; results are printed afterwards ---- */
struct uart_results {
	uint8_t scratch, dll, dlm, ier, lsr_idle, iir_idle, iir_fifo, msr_loop, lsr_rx, rbr;
	uint8_t iir_thri, iir_after, lsr_overrun, lsr_after;
};

static void uart_probe(struct uart_results *r)
{
	g_outb(COM1 + 7, 0x5a);
	r->scratch = g_inb(COM1 + 7);
	g_outb(COM1 + 3, 0x83);			/* DLAB */
	g_outb(COM1 + 0, 0x01);
	g_outb(COM1 + 1, 0x00);
	r->dll = g_inb(COM1 + 0);
	r->dlm = g_inb(COM1 + 1);
	g_outb(COM1 + 3, 0x03);
	g_outb(COM1 + 1, 0xf0);			/* reserved IER bits do not stick */
	r->ier = g_inb(COM1 + 1);
	g_outb(COM1 + 1, 0x00);
	r->lsr_idle = g_inb(COM1 + 5);
	r->iir_idle = g_inb(COM1 + 2);
	g_outb(COM1 + 4, 0x1b);			/* loopback, OUT2, RTS, DTR */
	r->msr_loop = g_inb(COM1 + 6) & 0xf0;
	g_outb(COM1 + 0, 'A');
	r->lsr_rx = g_inb(COM1 + 5) & 0x01;
	r->rbr = g_inb(COM1 + 0);
	g_outb(COM1 + 1, 0x02);			/* THR empty interrupt */
	r->iir_thri = g_inb(COM1 + 2);
	r->iir_after = g_inb(COM1 + 2);		/* the first read acknowledged it */
	g_outb(COM1 + 1, 0x00);
	g_outb(COM1 + 2, 0x07);			/* FIFO on and cleared */
	r->iir_fifo = g_inb(COM1 + 2);
	for (int i = 0; i < 17; i++)		/* one more than the FIFO holds */
		g_outb(COM1 + 0, (uint8_t)('a' + i));
	r->lsr_overrun = g_inb(COM1 + 5) & 0x03;
	r->lsr_after = g_inb(COM1 + 5) & 0x02;
	g_outb(COM1 + 2, 0x06);			/* FIFO off, cleared */
	g_outb(COM1 + 4, 0x00);
}

static void uart_report(void)
{
	struct uart_results r;

	uart_probe(&r);
	check("uart scratch", r.scratch, 0x5a);
	check("uart divisor low", r.dll, 0x01);
	check("uart divisor high", r.dlm, 0x00);
	check("uart ier after writing 0xf0", r.ier, 0x00);
	check("uart lsr idle", r.lsr_idle, 0x60);
	check("uart iir idle", r.iir_idle, 0x01);
	check("uart msr in loopback", r.msr_loop, 0xb0);
	check("uart lsr data ready in loopback", r.lsr_rx, 0x01);
	check("uart rbr in loopback", r.rbr, 'A');
	check("uart iir thr empty", r.iir_thri, 0x02);
	check("uart iir after reading it", r.iir_after, 0x01);
	check("uart iir with fifo", r.iir_fifo, 0xc1);
	check("uart lsr after 17 bytes", r.lsr_overrun, 0x03);
	check("uart lsr overrun cleared by read", r.lsr_after, 0x00);
}

/* ---- CMOS RTC ---- */
static uint8_t cmos_read(uint8_t reg)
{
	g_outb(CMOS_INDEX, reg);
	return g_inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	g_outb(CMOS_INDEX, reg);
	g_outb(CMOS_DATA, v);
}

static void rtc_report(void)
{
	/* 2001-02-03 04:05:06, binary. The century byte (0x32, firmware's convention) too: QEMU
	 * decodes it in the current mode when SET is cleared. */
	static const uint8_t fields[][2] = {
		{ 0x32, 20 }, { 0x09, 1 }, { 0x08, 2 }, { 0x07, 3 }, { 0x04, 4 }, { 0x02, 5 }, { 0x00, 6 },
	};
	const unsigned nr_fields = sizeof(fields) / sizeof(fields[0]);
	uint8_t b = cmos_read(0x0b);
	unsigned ok = 0;

	check("rtc register a", cmos_read(0x0a) & 0x7f, 0x26);
	check("rtc register d", cmos_read(0x0d), 0x80);
	cmos_write(0x0b, 0x86);			/* SET, binary, 24 h */
	for (unsigned i = 0; i < nr_fields; i++)
		cmos_write(fields[i][0], fields[i][1]);
	for (unsigned i = 0; i < nr_fields; i++)	/* frozen while SET */
		ok += cmos_read(fields[i][0]) == fields[i][1];
	check("rtc fields read back while SET", ok, nr_fields);
	cmos_write(0x0b, 0x06);			/* run */
	check("rtc year after SET cleared", cmos_read(0x09), 1);
	check("rtc month after SET cleared", cmos_read(0x08), 2);
	cmos_write(0x0b, b);
	cmos_write(0x7e, 0xa5);
	check("cmos ram byte 0x7e", cmos_read(0x7e), 0xa5);
	check("cmos index bit 7 ignored", cmos_read(0x80 | 0x7e), 0xa5);
}

/* ---- 8254 PIT channel 2 (gate and OUT on port 0x61) ---- */
static unsigned pit_latch_ch2(void)
{
	g_outb(PIT_CMD, 0x80);			/* latch channel 2 */
	unsigned lo = g_inb(PIT_CH2);
	return lo | (unsigned)g_inb(PIT_CH2) << 8;
}

static void pit_report(void)
{
	g_outb(PORT61, (g_inb(PORT61) & 0xfc) | 0x01);	/* gate 2 on, speaker off */
	g_outb(PIT_CMD, 0xb0);			/* channel 2, lo/hi, mode 0 */
	g_outb(PIT_CH2, 0xff);
	g_outb(PIT_CH2, 0xff);
	g_outb(PIT_CMD, 0xe8);			/* read-back status of channel 2 */
	check("pit status mode/access/bcd", g_inb(PIT_CH2) & 0x3f, 0x30);
	unsigned first = pit_latch_ch2(), later = first;
	for (unsigned i = 0; i < 1000000 && later == first; i++)
		later = pit_latch_ch2();
	check("pit channel 2 counts down", later < first, 1);
	g_outb(PIT_CMD, 0xb6);			/* channel 2, mode 3 */
	g_outb(PIT_CMD, 0xe8);
	check("pit status after mode 3", g_inb(PIT_CH2) & 0x3f, 0x36);
	/* Not compared: the status after mode 6/7 (QEMU and the datasheet keep the bits as
	 * written, KVM's in-kernel PIT reports 2/3). */
	g_outb(PORT61, g_inb(PORT61) & 0xfc);
}

/* ---- 8259A PIC ---- */
static void pic_init(uint8_t mask1, uint8_t mask2)
{
	static const uint8_t icw1[] = { 0x11, 0x20, 0x04, 0x01 }, icw2[] = { 0x11, 0x28, 0x02, 0x01 };

	for (unsigned i = 0; i < 4; i++) {
		g_outb(i ? PIC1 + 1 : PIC1, icw1[i]);
		g_outb(i ? PIC2 + 1 : PIC2, icw2[i]);
	}
	g_outb(PIC1 + 1, mask1);
	g_outb(PIC2 + 1, mask2);
}

static void pic_report(void)
{
	pic_init(0xa5, 0x5a);
	check("pic master imr", g_inb(PIC1 + 1), 0xa5);
	check("pic slave imr", g_inb(PIC2 + 1), 0x5a);
	g_outb(ELCR1, 0xff);
	g_outb(ELCR2, 0xff);
	check("elcr master writable bits", g_inb(ELCR1), 0xf8);
	check("elcr slave writable bits", g_inb(ELCR2), 0xde);
	g_outb(ELCR1, 0x00);
	g_outb(ELCR2, 0x00);
	pic_init(0xef, 0xff);			/* only IRQ 4 (COM1) */
	g_outb(COM1 + 4, 0x08);			/* OUT2 */
	g_outb(COM1 + 1, 0x02);			/* THR empty: IRQ 4 rises */
	g_outb(PIC1, 0x0a);			/* OCW3: read IRR */
	check("pic irr bit 4 from the uart", g_inb(PIC1) & 0x10, 0x10);
	g_outb(PIC1, 0x0c);			/* OCW3: poll */
	check("pic poll", g_inb(PIC1), 0x84);
	/* Not compared: ISR after a poll (set as by INTA in QEMU and the datasheet, left clear
	 * by KVM's in-kernel PIC). A specific EOI clears it in both. */
	g_outb(PIC1, 0x64);			/* specific EOI 4 */
	g_outb(PIC1, 0x0b);			/* OCW3: read ISR */
	check("pic isr after specific eoi", g_inb(PIC1), 0x00);
	g_outb(COM1 + 1, 0x00);
	g_outb(COM1 + 4, 0x00);
	g_outb(PIC1 + 1, 0xff);
}

void guest_main(const char *cmdline)
{
	g_puts("devices: probing (interrupts off)\n");
	uart_report();
	rtc_report();
	pit_report();
	pic_report();
	g_puts("devices: done\n");
	g_exit(G_EXIT_OK);
}
