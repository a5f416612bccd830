/* SPDX-License-Identifier: MIT */
/*
 * format.c — printf-style formatting of trace arguments held as 64-bit slots, for formats that
 * come from trace files (untrusted): each conversion is parsed, checked against its argument's
 * type and handed to snprintf alone, with a fixed length modifier. Also globs and type names.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include "tracing/trace.h"

/* Each spec is built here from a checked conversion: not a caller-controlled format. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static const struct {
	const char *name;
	unsigned bits;
	bool is_signed;
} trace_type_table[TRACE_T_MAX + 1] = {
	[TRACE_T_U8] = { "uint8_t", 8, false },	  [TRACE_T_U16] = { "uint16_t", 16, false },
	[TRACE_T_U32] = { "uint32_t", 32, false }, [TRACE_T_U64] = { "uint64_t", 64, false },
	[TRACE_T_I8] = { "int8_t", 8, true },	  [TRACE_T_I16] = { "int16_t", 16, true },
	[TRACE_T_I32] = { "int32_t", 32, true },   [TRACE_T_I64] = { "int64_t", 64, true },
	[TRACE_T_BOOL] = { "bool", 8, false },	  [TRACE_T_STR] = { "const char *", 0, false },
};

const char *trace_type_name(unsigned type)
{
	return type && type <= TRACE_T_MAX ? trace_type_table[type].name : NULL;
}

bool trace_type_is_signed(unsigned type)
{
	return type && type <= TRACE_T_MAX && trace_type_table[type].is_signed;
}

bool trace_glob_is_match(const char *glob, const char *name)
{
	return fnmatch(glob, name, 0) == 0;
}

struct trace_conv {
	char spec[24];		/* "%-08.3" without length or conversion */
	char conv;		/* d i u o x X c s p */
	size_t len;		/* characters of fmt consumed, from the '%' */
};

/* Parses one conversion at fmt (which points at '%', not "%%"). 0 or -EINVAL. */
static int trace_conv_parse(const char *fmt, struct trace_conv *c)
{
	size_t i = 1, n = 1;
	c->spec[0] = '%';
	while (fmt[i] && strchr("-+ #0", fmt[i]) && n < 8)
		c->spec[n++] = fmt[i++];
	for (int d = 0; fmt[i] >= '0' && fmt[i] <= '9'; d++) {
		if (d == 3)
			return -EINVAL;
		c->spec[n++] = fmt[i++];
	}
	if (fmt[i] == '.') {
		c->spec[n++] = fmt[i++];
		for (int d = 0; fmt[i] >= '0' && fmt[i] <= '9'; d++) {
			if (d == 3)
				return -EINVAL;
			c->spec[n++] = fmt[i++];
		}
	}
	c->spec[n] = '\0';
	while (fmt[i] && strchr("hljztqL", fmt[i]))
		i++;
	if (!fmt[i] || !strchr("diuoxXcsp", fmt[i]))
		return -EINVAL;
	c->conv = fmt[i];
	c->len = i + 1;
	return 0;
}

static bool trace_conv_fits(char conv, unsigned type)
{
	if (!type || type > TRACE_T_MAX)
		return false;
	return conv == 's' ? type == TRACE_T_STR : type != TRACE_T_STR;
}

/* Value as C would have printed it: sign-extended for d/i, truncated to its width otherwise. */
static uint64_t trace_conv_value(char conv, unsigned type, uint64_t v)
{
	unsigned bits = trace_type_table[type].bits;
	if (bits == 0 || bits == 64)
		return v;
	uint64_t mask = (1ull << bits) - 1;
	if ((conv == 'd' || conv == 'i') && trace_type_table[type].is_signed && (v >> (bits - 1)) & 1)
		return v | ~mask;
	return v & mask;
}

static int trace_conv_print(char *buf, size_t len, const struct trace_conv *c, unsigned type, uint64_t v,
			    const char *s)
{
	char spec[32];
	uint64_t x = trace_conv_value(c->conv, type, v);
	switch (c->conv) {
	case 's':
		snprintf(spec, sizeof(spec), "%ss", c->spec);
		return snprintf(buf, len, spec, s ? s : "(null)");
	case 'c':
		snprintf(spec, sizeof(spec), "%sc", c->spec);
		return snprintf(buf, len, spec, (int)(unsigned char)x);
	case 'p':
		return snprintf(buf, len, "0x%llx", (unsigned long long)x);
	case 'd':
	case 'i':
		snprintf(spec, sizeof(spec), "%slld", c->spec);
		return snprintf(buf, len, spec, (long long)x);
	default:
		snprintf(spec, sizeof(spec), "%sll%c", c->spec, c->conv);
		return snprintf(buf, len, spec, (unsigned long long)x);
	}
}

int trace_format_validate(const char *fmt, unsigned nargs, const uint8_t *types)
{
	unsigned a = 0;
	for (const char *p = fmt; *p; p++) {
		struct trace_conv c;
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		if (trace_conv_parse(p, &c) || a >= nargs || !trace_conv_fits(c.conv, types[a]))
			return -EINVAL;
		a++;
		p += c.len - 1;
	}
	return a == nargs ? 0 : -EINVAL;
}

int trace_format(char *buf, size_t len, const char *fmt, unsigned nargs, const uint8_t *types,
		 const uint64_t *vals, const char *const *strs)
{
	size_t n = 0;
	unsigned a = 0;
	if (!len || trace_format_validate(fmt, nargs, types))
		return -EINVAL;
	for (const char *p = fmt; *p; p++) {
		struct trace_conv c;
		int w;
		if (*p != '%' || p[1] == '%') {
			if (n + 1 < len)
				buf[n++] = *p;
			p += *p == '%';
			continue;
		}
		(void)trace_conv_parse(p, &c);	/* validated above */
		w = trace_conv_print(buf + n, len - n, &c, types[a], vals[a], strs ? strs[a] : NULL);
		a++;
		p += c.len - 1;
		if (w > 0)
			n = n + (size_t)w < len ? n + (size_t)w : len - 1;
	}
	buf[n] = '\0';
	return (int)n;
}
