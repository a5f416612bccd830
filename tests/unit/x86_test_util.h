/* SPDX-License-Identifier: MIT */
/* x86_test_util.h — a flat-memory interpreter CPU for unit tests: RAM, identity paging, modes. */
#ifndef VMSCOPE_TESTS_X86_TEST_UTIL_H
#define VMSCOPE_TESTS_X86_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "emu/x86/x86.h"

struct xt {
	struct x86_cpu *cpu;
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t pio_last_port, pio_last_val;
	unsigned pio_writes;
	char out[256];
	unsigned out_len;
};

static uint64_t xt_pio_read(void *o, uint16_t port, unsigned size)
{
	(void)o;
	(void)port;
	return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffff;
}

static void xt_pio_write(void *o, uint16_t port, unsigned size, uint64_t v)
{
	struct xt *t = o;
	(void)size;
	t->pio_last_port = port;
	t->pio_last_val = v;
	t->pio_writes++;
	if (port == 0xe9 && t->out_len + 1 < sizeof(t->out))
		t->out[t->out_len++] = (char)v;
}

static inline int xt_init(struct xt *t, uint64_t ram_size)
{
	struct x86_bus bus;
	memset(t, 0, sizeof(*t));
	t->ram = calloc(1, ram_size);
	t->ram_size = ram_size;
	if (!t->ram)
		return -1;
	memset(&bus, 0, sizeof(bus));
	bus.ram = t->ram;
	bus.ram_size = ram_size;
	bus.opaque = t;
	bus.pio_read = xt_pio_read;
	bus.pio_write = xt_pio_write;
	return x86_cpu_create(&bus, &t->cpu);
}

static inline void xt_fini(struct xt *t)
{
	x86_cpu_destroy(t->cpu);
	free(t->ram);
}

static inline void xt_w64(struct xt *t, uint64_t a, uint64_t v) { memcpy(t->ram + a, &v, 8); }

static inline void xt_flat(struct x86_seg *s, uint16_t sel, uint32_t ar)
{
	s->sel = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->ar = ar;
}

/* Long mode, CPL 0, identity map of the first 1 GiB with 2 MiB pages (tables at 0x1000-0x3fff). */
static inline void xt_long_mode(struct xt *t)
{
	struct x86_cpu *c = t->cpu;
	xt_w64(t, 0x1000, 0x2003);
	xt_w64(t, 0x2000, 0x3003);
	for (uint64_t i = 0; i < 512; i++)
		xt_w64(t, 0x3000 + i * 8, (i << 21) | 0x83);
	c->cr3 = 0x1000;
	c->cr4 = 1u << 5;
	c->efer = (1u << 8) | (1u << 10) | (1u << 11) | 1;
	c->cr0 = 0x80000011;
	xt_flat(&c->seg[X86_CS], 0x8, 0xa09b);
	for (int s = X86_ES; s <= X86_GS; s++)
		if (s != X86_CS)
			xt_flat(&c->seg[s], 0x10, 0xc093);
	c->idt.limit = 0;
	x86_state_changed(c);
}

/* 32-bit protected mode without paging, flat segments. */
static inline void xt_prot32(struct xt *t)
{
	struct x86_cpu *c = t->cpu;
	c->cr0 = 0x11;
	xt_flat(&c->seg[X86_CS], 0x8, 0xc09b);
	for (int s = X86_ES; s <= X86_GS; s++)
		if (s != X86_CS)
			xt_flat(&c->seg[s], 0x10, 0xc093);
	x86_state_changed(c);
}

#endif
