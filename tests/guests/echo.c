/* SPDX-License-Identifier: MIT */
/*
 * echo: reads n=N bytes from COM1 and prints them back upper-cased, polling LSR (irq=0) or
 * sleeping in hlt until the UART's receive interrupt arrives through the PIC (irq=1).
 * It waits for input: not in guests.tsv; tests/integration/serial-input.sh feeds it.
 */
#include "guest.h"

#define PIC1		0x20
#define PIC2		0xa0
#define COM1_IRQ	4
#define IRQ_BASE	0x20
#define LSR_DR		0x01
#define LAPIC_SVR	0xfee000f0ul
#define LAPIC_LVT0	0xfee00350ul

static volatile unsigned rx_irqs;

__attribute__((interrupt)) static void com1_isr(struct g_intr_frame *f)
{
	rx_irqs++;
	g_outb(PIC1, 0x20);
}

static void irq_setup(void)
{
	static const uint8_t icw[] = { 0x11, IRQ_BASE, 0x04, 0x01 };

	g_cpu_init();
	g_idt_set(IRQ_BASE + COM1_IRQ, (void (*)(void))com1_isr, 0);
	g_mmio_write32(LAPIC_SVR, 0x1ff);	/* virtual-wire mode, see demo.c */
	g_mmio_write32(LAPIC_LVT0, 0x700);
	for (unsigned i = 0; i < 4; i++) {
		g_outb(i ? PIC1 + 1 : PIC1, icw[i]);
		g_outb(i ? PIC2 + 1 : PIC2, (uint8_t)(i == 1 ? IRQ_BASE + 8 : i == 2 ? 2 : icw[i]));
	}
	g_outb(PIC1 + 1, (uint8_t)~(1u << COM1_IRQ));
	g_outb(PIC2 + 1, 0xff);
	g_outb(G_COM1 + 4, 0x08);		/* MCR.OUT2: the PC's interrupt gate */
	g_outb(G_COM1 + 1, 0x01);		/* IER: received data available */
}

/* irq=1: the first byte waits for the receive interrupt (the UART raises IRQ 4 when data
 * arrives, or at once when IER is written with data already there); later ones sleep in hlt
 * until an interrupt whenever no data is ready. */
static char read_byte(bool use_irq)
{
	while (!(g_inb(G_COM1 + 5) & LSR_DR) || (use_irq && rx_irqs == 0)) {
		if (use_irq)
			g_sti_hlt();
		g_cli();
	}
	return (char)g_inb(G_COM1);
}

void guest_main(const char *cmdline)
{
	uint64_t n = g_arg_u64_or(cmdline, "n", 8), use_irq = g_arg_u64_or(cmdline, "irq", 0);

	if (n == 0 || n > 4096 || use_irq > 1) {
		g_puts("echo: want n=1..4096 irq=0|1\n");
		g_exit(G_EXIT_USAGE);
	}
	if (use_irq)
		irq_setup();
	g_puts("echo: ");
	for (uint64_t i = 0; i < n; i++) {
		char c = read_byte(use_irq);
		g_putc(c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
	}
	g_puts("\n");
	g_exit(G_EXIT_OK);
}
