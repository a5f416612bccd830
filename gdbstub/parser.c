/* SPDX-License-Identifier: MIT */
/*
 * parser.c — the RSP packet parser: a pure state machine fed one byte at a time.
 *
 *   $payload#cc   checksum cc = sum of the raw payload bytes mod 256, two hex digits
 *   }x            escape: the byte is x ^ 0x20
 *   c*n           run-length: c repeated (n - 29) more times; n is printable, not '#' or '$'
 *   0x03          interrupt, outside a packet;  '+' / '-'  ack / nak
 */
#include <errno.h>
#include <stdlib.h>

#include "gdbstub/gdbstub-local.h"

int gdb_parser_create(size_t max_payload, struct gdb_parser **out)
{
	struct gdb_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->buf = malloc(max_payload + 1);
	if (!p->buf) {
		free(p);
		return -ENOMEM;
	}
	p->cap = max_payload;
	*out = p;
	return 0;
}

void gdb_parser_destroy(struct gdb_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

void gdb_parser_reset(struct gdb_parser *p)
{
	p->state = GDB_PS_IDLE;
	p->len = 0;
	p->sum = 0;
	p->overlong = false;
	p->bad = false;
}

const uint8_t *gdb_parser_packet(const struct gdb_parser *p, size_t *len)
{
	*len = p->len;
	return p->buf;
}

static void parser_put(struct gdb_parser *p, uint8_t c)
{
	if (p->len >= p->cap) {
		p->overlong = true;
		return;
	}
	p->buf[p->len++] = c;
}

static enum gdb_parser_event parser_idle(struct gdb_parser *p, uint8_t c)
{
	switch (c) {
	case '$':
		gdb_parser_reset(p);
		p->state = GDB_PS_DATA;
		return GDB_EV_NONE;
	case 0x03:
		return GDB_EV_INTERRUPT;
	case '+':
		return GDB_EV_ACK;
	case '-':
		return GDB_EV_NAK;
	default:
		return GDB_EV_NONE;	/* noise between packets is ignored, as gdb does */
	}
}

/* A repeat count character: printable, and not one of the framing characters. */
static bool parser_rle_count_is_valid(uint8_t c)
{
	return c >= 29 + 3 && c <= 126 && c != '#' && c != '$';
}

static void parser_rle(struct gdb_parser *p, uint8_t c)
{
	if (!parser_rle_count_is_valid(c) || p->len == 0) {
		p->bad = true;
		return;
	}
	uint8_t prev = p->buf[p->len - 1];
	for (int n = c - 29; n > 0; n--)
		parser_put(p, prev);
}

static enum gdb_parser_event parser_data(struct gdb_parser *p, uint8_t c)
{
	if (c == '#') {
		if (p->state != GDB_PS_DATA)	/* '}' or '*' with nothing after it */
			p->bad = true;
		p->state = GDB_PS_CSUM1;
		return GDB_EV_NONE;
	}
	if (c == '$') {		/* a new packet starts: the old one was truncated */
		gdb_parser_reset(p);
		p->state = GDB_PS_DATA;
		return GDB_EV_BAD_PACKET;
	}
	p->sum += c;
	if (p->state == GDB_PS_ESCAPE) {
		parser_put(p, c ^ 0x20);
		p->state = GDB_PS_DATA;
	} else if (p->state == GDB_PS_RLE) {
		parser_rle(p, c);
		p->state = GDB_PS_DATA;
	} else if (c == '}') {
		p->state = GDB_PS_ESCAPE;
	} else if (c == '*') {
		p->state = GDB_PS_RLE;
	} else {
		parser_put(p, c);
	}
	return GDB_EV_NONE;
}

static enum gdb_parser_event parser_checksum(struct gdb_parser *p, uint8_t c)
{
	int v = gdb_hex_nibble(c);

	if (v < 0) {
		p->state = GDB_PS_IDLE;
		return GDB_EV_BAD_PACKET;
	}
	if (p->state == GDB_PS_CSUM1) {
		p->csum = (uint8_t)(v << 4);
		p->state = GDB_PS_CSUM2;
		return GDB_EV_NONE;
	}
	p->csum |= (uint8_t)v;
	p->state = GDB_PS_IDLE;
	p->buf[p->len] = 0;
	if (p->csum != p->sum)
		return GDB_EV_BAD_CHECKSUM;
	if (p->overlong)
		return GDB_EV_OVERLONG;
	if (p->bad)
		return GDB_EV_BAD_PACKET;
	return GDB_EV_PACKET;
}

enum gdb_parser_event gdb_parser_feed(struct gdb_parser *p, uint8_t c)
{
	switch (p->state) {
	case GDB_PS_IDLE:
		return parser_idle(p, c);
	case GDB_PS_DATA:
	case GDB_PS_ESCAPE:
	case GDB_PS_RLE:
		return parser_data(p, c);
	case GDB_PS_CSUM1:
	case GDB_PS_CSUM2:
		return parser_checksum(p, c);
	}
	return GDB_EV_NONE;
}
