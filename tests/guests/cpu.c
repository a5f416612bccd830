/* SPDX-License-Identifier: MIT */
/* cpu.c — IDT, TSS and exception reporting for the test guests. */
#include "guest.h"

#define SEL_KCODE	0x08
#define SEL_TSS		0x28
#define GATE_INTR	0x8e	/* present, 64-bit interrupt gate */

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
	uint8_t iomap[8192 + 1];	/* every port allowed at CPL3, then the 0xff terminator */
} __attribute__((packed));

/* What cpu_asm.S exc_common hands to g_exception. */
struct g_exc_frame {
	uint64_t vec, err;
	struct g_intr_frame f;
};

extern uint64_t g_gdt[];
extern const char g_exc_stub_0[];
extern const char g_ud_entry[];
void g_exception(const struct g_exc_frame *fr);

static struct idt_entry g_idt[256] __attribute__((aligned(16)));
struct tss64 g_tss __attribute__((aligned(16)));

void g_idt_set(unsigned vec, void (*handler)(void), unsigned dpl)
{
	uint64_t a = (uint64_t)handler;

	g_idt[vec] = (struct idt_entry){
		.off_lo = (uint16_t)a, .sel = SEL_KCODE, .ist = 0,
		.type = (uint8_t)(GATE_INTR | (dpl << 5)),
		.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
	};
}

static void tss_install(void)
{
	uint64_t base = (uint64_t)&g_tss, limit = sizeof(g_tss) - 1;

	g_tss.iomap_base = offsetof(struct tss64, iomap);	/* all zero: all ports allowed */
	g_tss.iomap[8192] = 0xff;
	g_gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
			     (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	g_gdt[SEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

void g_cpu_init(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		sizeof(g_idt) - 1, (uint64_t)g_idt,
	};

	/* The stubs are 16 bytes apart (cpu_asm.S aligns each). */
	for (unsigned v = 0; v < 32; v++)
		g_idt_set(v, (void (*)(void))(g_exc_stub_0 + 16 * v), 0);
	g_idt_set(6, (void (*)(void))g_ud_entry, 0);	/* also the way back from g_run_user */
	__asm__ volatile("lidt %0" : : "m"(idtr));
	tss_install();
}

void g_exception(const struct g_exc_frame *fr)
{
	g_printf("guest: unexpected exception %u (error 0x%lx) at rip 0x%lx cs 0x%lx\n",
		 (unsigned)fr->vec, fr->err, fr->f.rip, fr->f.cs);
	g_exit(G_EXIT_EXC);
}
