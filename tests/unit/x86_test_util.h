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

/* Where xt_exception_handlers() puts the IDT and its handlers (tests keep clear of them). */
#define XT_IDT 0x10000ull
#define XT_HANDLERS 0x20000ull

/* A 64-bit interrupt gate in the IDT at XT_IDT: vector v to handler h, DPL dpl. */
static inline void xt_gate64(struct xt *t, unsigned v, uint64_t h, unsigned dpl, bool present)
{
	uint64_t lo = (h & 0xffff) | (0x08ull << 16) | ((0x8eull | (dpl << 5)) << 40) | ((h >> 16) & 0xffff) << 48;
	if (!present)
		lo &= ~(1ull << 47);
	xt_w64(t, XT_IDT + v * 16, lo);
	xt_w64(t, XT_IDT + v * 16 + 8, h >> 32);
}

/* Handlers for vectors 0-31 (mov $v, %al; pop %rcx if an error code; hlt) and the IDT for them. */
static inline void xt_exception_handlers(struct xt *t)
{
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *p = t->ram + XT_HANDLERS + v * 16;
		bool err = v == 8 || (v >= 10 && v <= 14) || v == 17;
		*p++ = 0xb0;
		*p++ = (uint8_t)v;
		if (err)
			*p++ = 0x59;
		*p = 0xf4;
		xt_gate64(t, v, XT_HANDLERS + v * 16, 0, true);
	}
	t->cpu->idt.base = XT_IDT;
	t->cpu->idt.limit = 256 * 16 - 1;
}

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
