/* SPDX-License-Identifier: MIT */
/*
 * pic.c — two cascaded 8259A interrupt controllers (master 0x20/0x21, slave 0xa0/0xa1, the
 * slave on master IRQ 2) and the ELCR edge/level registers at 0x4d0/0x4d1, as in a PC.
 * Registers itself as the VM's interrupt controller: the vCPUs ask has_pending() and ack()
 * (the INTA cycle), devices call emu_vm_set_irq() which lands in pic_set_irq().
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "emu/dev/dev.h"
#include "emu/dev/trace-events.h"

#define PIC_MASTER_BASE	0x20
#define PIC_SLAVE_BASE	0xa0
#define PIC_ELCR_BASE	0x4d0
#define PIC_CASCADE_IRQ	2
#define PIC_NO_IRQ	-1

/* One 8259A. Field names follow the datasheet. */
struct pic_chip {
	uint8_t last_irr;	/* input levels, for edge detection */
	uint8_t irr, imr, isr;
	uint8_t priority_add;	/* rotation: the lowest-priority line is priority_add - 1 */
	uint8_t irq_base;
	uint8_t read_isr;	/* OCW3 RR/RIS: IRR (0) or ISR (1) on the command port */
	bool poll, special_mask, auto_eoi, rotate_on_auto_eoi, special_fully_nested;
	uint8_t init_state;	/* 0 ready, 1-3 expecting ICW2-ICW4 */
	bool init4, single_mode, ltim;
	uint8_t elcr, elcr_mask;
	bool is_master;
};

struct emu_pic {
	struct emu_vm *vm;
	pthread_mutex_t lock;
	struct pic_chip chip[2];	/* 0 master, 1 slave */
	bool intr;			/* the master's INTR output */
	uint64_t spurious;
};

/* Priority (0 highest) of the highest-priority bit in mask, or 8 when mask is empty. */
static int pic_priority(const struct pic_chip *c, uint8_t mask)
{
	if (!mask)
		return 8;
	int p = 0;
	while (!(mask & (1u << ((p + c->priority_add) & 7))))
		p++;
	return p;
}

static bool chip_is_level(const struct pic_chip *c, unsigned line)
{
	return c->ltim || (c->elcr & (1u << line));
}

/* The line this chip would present to the CPU now, or PIC_NO_IRQ. */
static int pic_chip_output(const struct pic_chip *c)
{
	int p = pic_priority(c, c->irr & ~c->imr);

	if (p == 8)
		return PIC_NO_IRQ;
	uint8_t in_service = c->isr;
	if (c->special_mask)		/* special mask mode: masked lines do not block */
		in_service &= (uint8_t)~c->imr;
	if (c->special_fully_nested && c->is_master)	/* the slave may interrupt its own service */
		in_service &= (uint8_t)~(1u << PIC_CASCADE_IRQ);
	if (p < pic_priority(c, in_service))
		return (p + c->priority_add) & 7;
	return PIC_NO_IRQ;
}

static void pic_chip_set_line(struct pic_chip *c, unsigned line, bool level)
{
	uint8_t bit = (uint8_t)(1u << line);

	if (chip_is_level(c, line)) {
		if (level)
			c->irr |= bit, c->last_irr |= bit;
		else
			c->irr &= (uint8_t)~bit, c->last_irr &= (uint8_t)~bit;
	} else {
		if (level && !(c->last_irr & bit))	/* rising edge */
			c->irr |= bit;
		if (level)
			c->last_irr |= bit;
		else
			c->last_irr &= (uint8_t)~bit;
	}
}

/* Propagates the slave's output to master IRQ 2 and recomputes INTR; true when INTR rose. */
static bool pic_update(struct emu_pic *p)
{
	bool was = p->intr;

	pic_chip_set_line(&p->chip[0], PIC_CASCADE_IRQ, pic_chip_output(&p->chip[1]) != PIC_NO_IRQ);
	p->intr = pic_chip_output(&p->chip[0]) != PIC_NO_IRQ;
	return p->intr && !was;
}

static void pic_unlock_and_kick(struct emu_pic *p, bool rose)
{
	pthread_mutex_unlock(&p->lock);
	if (rose)
		emu_vm_kick_all(p->vm);
}

static void pic_chip_intack(struct pic_chip *c, int line)
{
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (uint8_t)((line + 1) & 7);
	} else {
		c->isr |= (uint8_t)(1u << line);
	}
	if (!chip_is_level(c, (unsigned)line))	/* a level stays requested while asserted */
		c->irr &= (uint8_t)~(1u << line);
}

/* ---- struct emu_intr_ops ---- */

static void pic_set_irq(void *opaque, unsigned irq, int level)
{
	struct emu_pic *p = opaque;

	if (irq > 15)
		return;
	pthread_mutex_lock(&p->lock);
	pic_chip_set_line(&p->chip[irq >> 3], irq & 7, level != 0);
	pic_unlock_and_kick(p, pic_update(p));
}

static bool pic_has_pending(void *opaque)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	bool v = p->intr;
	pthread_mutex_unlock(&p->lock);
	return v;
}

/* The INTA cycle: the vector of the highest-priority request; IRQ 7/15 when it vanished. */
static int pic_ack_locked(struct emu_pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int line = pic_chip_output(m), vec;

	if (line == PIC_NO_IRQ) {
		p->spurious++;
		return m->irq_base + 7;
	}
	if (line == PIC_CASCADE_IRQ) {
		int sline = pic_chip_output(s);
		if (sline == PIC_NO_IRQ) {
			p->spurious++;
			sline = 7;
		} else {
			pic_chip_intack(s, sline);
		}
		vec = s->irq_base + sline;
	} else {
		vec = m->irq_base + line;
	}
	pic_chip_intack(m, line);
	return vec;
}

static int pic_ack(void *opaque)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	int vec = pic_ack_locked(p);
	pic_unlock_and_kick(p, pic_update(p));
	return vec;
}

static const struct emu_intr_ops pic_intr_ops = {
	.set_irq = pic_set_irq,
	.has_pending = pic_has_pending,
	.ack = pic_ack,
};

/* ---- port I/O ---- */

static void pic_chip_reset(struct pic_chip *c)
{
	uint8_t elcr = c->elcr, elcr_mask = c->elcr_mask;
	bool is_master = c->is_master;

	*c = (struct pic_chip){ .elcr = elcr, .elcr_mask = elcr_mask, .is_master = is_master };
}

static void pic_write_icw1(struct pic_chip *c, uint8_t v)
{
	pic_chip_reset(c);
	c->irr &= c->elcr;
	c->init_state = 1;
	c->init4 = v & 0x01;
	c->single_mode = v & 0x02;
	c->ltim = v & 0x08;
}

static void pic_write_ocw2(struct pic_chip *c, uint8_t v)
{
	unsigned cmd = v >> 5;
	int line;

	switch (cmd) {
	case 0: c->rotate_on_auto_eoi = false; break;
	case 4: c->rotate_on_auto_eoi = true; break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		if (pic_priority(c, c->isr) == 8)
			break;
		line = (pic_priority(c, c->isr) + c->priority_add) & 7;
		c->isr &= (uint8_t)~(1u << line);
		if (cmd == 5)
			c->priority_add = (uint8_t)((line + 1) & 7);
		break;
	case 3:		/* specific EOI */
		c->isr &= (uint8_t)~(1u << (v & 7));
		break;
	case 6:		/* set priority: line v&7 becomes the lowest */
		c->priority_add = (uint8_t)((v + 1) & 7);
		break;
	case 7:		/* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << (v & 7));
		c->priority_add = (uint8_t)((v + 1) & 7);
		break;
	default:	/* 2: no operation */
		break;
	}
	trace_pic_eoi(v, c->isr);
}

static void pic_write_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & 0x04)
		c->poll = true;
	if (v & 0x02)
		c->read_isr = v & 0x01;
	if (v & 0x40)
		c->special_mask = (v >> 5) & 1;
}

static void pic_write_data(struct pic_chip *c, uint8_t v)
{
	switch (c->init_state) {
	case 0:		/* OCW1 */
		c->imr = v;
		break;
	case 1:		/* ICW2 */
		c->irq_base = v & 0xf8;
		c->init_state = c->single_mode ? (c->init4 ? 3 : 0) : 2;
		break;
	case 2:		/* ICW3: the cascade wiring is fixed */
		c->init_state = c->init4 ? 3 : 0;
		break;
	default:	/* ICW4 */
		c->special_fully_nested = (v >> 4) & 1;
		c->auto_eoi = (v >> 1) & 1;
		c->init_state = 0;
		break;
	}
}

static void pic_chip_write(struct pic_chip *c, uint64_t offset, uint8_t v)
{
	if (offset == 1)
		pic_write_data(c, v);
	else if (v & 0x10)
		pic_write_icw1(c, v);
	else if (v & 0x08)
		pic_write_ocw3(c, v);
	else
		pic_write_ocw2(c, v);
}

/* Poll mode: the next request as 0x80 | line, acknowledged as by INTA; 0 when none. */
static uint8_t pic_poll_read(struct emu_pic *p, unsigned idx)
{
	struct pic_chip *c = &p->chip[idx];
	int line = pic_chip_output(c);

	c->poll = false;
	if (line == PIC_NO_IRQ)
		return 0;
	pic_chip_intack(c, line);
	return (uint8_t)(0x80 | line);
}

static uint8_t pic_chip_read(struct emu_pic *p, unsigned idx, uint64_t offset)
{
	struct pic_chip *c = &p->chip[idx];

	if (c->poll)
		return pic_poll_read(p, idx);
	if (offset == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static uint64_t pic_io_read(void *opaque, uint64_t offset, unsigned size, unsigned idx)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	uint8_t v = pic_chip_read(p, idx, offset & 1);
	pic_unlock_and_kick(p, pic_update(p));
	return v;
}

static void pic_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned idx)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	trace_pic_write(idx, (unsigned)(offset & 1), (uint8_t)value);
	pic_chip_write(&p->chip[idx], offset & 1, (uint8_t)value);
	pic_unlock_and_kick(p, pic_update(p));
}

static uint64_t pic_master_read(void *o, uint64_t off, unsigned size) { return pic_io_read(o, off, size, 0); }
static uint64_t pic_slave_read(void *o, uint64_t off, unsigned size) { return pic_io_read(o, off, size, 1); }
static void pic_master_write(void *o, uint64_t off, unsigned size, uint64_t v) { pic_io_write(o, off, v, 0); }
static void pic_slave_write(void *o, uint64_t off, unsigned size, uint64_t v) { pic_io_write(o, off, v, 1); }

static uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	uint64_t v = p->chip[offset & 1].elcr;
	if (size >= 2 && offset == 0)
		v |= (uint64_t)p->chip[1].elcr << 8;
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pic_elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct emu_pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		struct pic_chip *c = &p->chip[offset + i];
		c->elcr = (uint8_t)(value >> (8 * i)) & c->elcr_mask;
	}
	pic_unlock_and_kick(p, pic_update(p));
}

static const struct emu_io_ops pic_master_ops = { .read = pic_master_read, .write = pic_master_write };
static const struct emu_io_ops pic_slave_ops = { .read = pic_slave_read, .write = pic_slave_write };
static const struct emu_io_ops pic_elcr_ops = { .read = pic_elcr_read, .write = pic_elcr_write };

static const struct {
	uint16_t base;
	uint16_t len;
	const char *name;
	const struct emu_io_ops *ops;
} pic_regions[] = {
	{ PIC_MASTER_BASE, 2, "pic-master", &pic_master_ops },
	{ PIC_SLAVE_BASE, 2, "pic-slave", &pic_slave_ops },
	{ PIC_ELCR_BASE, 2, "elcr", &pic_elcr_ops },
};

int emu_pic_create(struct emu_vm *vm, struct emu_pic **out)
{
	struct emu_pic *p = calloc(1, sizeof(*p));
	int err = 0;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	p->chip[0] = (struct pic_chip){ .is_master = true, .elcr_mask = 0xf8 };	/* IRQ 0-2 edge only */
	p->chip[1] = (struct pic_chip){ .elcr_mask = 0xde };			/* IRQ 8, 13 edge only */
	for (size_t i = 0; i < sizeof(pic_regions) / sizeof(pic_regions[0]) && !err; i++)
		err = emu_io_register(vm, EMU_IO_PIO, pic_regions[i].base, pic_regions[i].len,
				      pic_regions[i].name, pic_regions[i].ops, p);
	if (err) {
		emu_pic_destroy(p);
		return err;
	}
	emu_vm_set_intr_controller(vm, &pic_intr_ops, p);
	*out = p;
	return 0;
}

void emu_pic_destroy(struct emu_pic *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
