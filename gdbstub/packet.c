/* SPDX-License-Identifier: MIT */
/* packet.c — hex encoding and decoding, and the growable output buffer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/gdbstub-local.h"

static const char gdb_hex_digits[] = "0123456789abcdef";

int gdb_hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gdb_hex_decode(const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = gdb_hex_nibble((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : gdb_hex_nibble((unsigned char)hex[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void gdb_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = gdb_hex_digits[in[i] >> 4];
		out[2 * i + 1] = gdb_hex_digits[in[i] & 15];
	}
}

int gdb_parse_hex_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;
	int d;

	while ((d = gdb_hex_nibble((unsigned char)*p)) >= 0) {
		if (v >> 60)
			return -EINVAL;	/* more than 64 bits */
		v = v << 4 | (uint64_t)d;
		p++;
	}
	if (p == s)
		return -EINVAL;
	*out = v;
	if (end)
		*end = p;
	return 0;
}

/* ---- output buffer ---- */

void gdb_out_init(struct gdb_out *out)
{
	memset(out, 0, sizeof(*out));
}

void gdb_out_free(struct gdb_out *out)
{
	free(out->buf);
	gdb_out_init(out);
}

static bool gdb_out_reserve(struct gdb_out *out, size_t more)
{
	if (out->failed)
		return false;
	if (out->len + more + 1 <= out->cap)
		return true;
	size_t cap = out->cap ? out->cap : 256;
	while (cap < out->len + more + 1)
		cap *= 2;
	char *b = realloc(out->buf, cap);
	if (!b) {
		out->failed = true;
		return false;
	}
	out->buf = b;
	out->cap = cap;
	return true;
}

void gdb_out_write(struct gdb_out *out, const void *data, size_t len)
{
	if (!gdb_out_reserve(out, len))
		return;
	memcpy(out->buf + out->len, data, len);
	out->len += len;
	out->buf[out->len] = 0;
}

void gdb_out_printf(struct gdb_out *out, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		gdb_out_write(out, small, (size_t)n);
		return;
	}
	if (!gdb_out_reserve(out, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(out->buf + out->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}
