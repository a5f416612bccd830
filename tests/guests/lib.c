/* SPDX-License-Identifier: MIT */
/* lib.c — guest library: Multiboot entry glue, COM1 output, printf, command line, debug-exit. */
#include "guest.h"

#define MB_BOOT_MAGIC	0x2badb002u
#define MB_INFO_CMDLINE	(1u << 2)
#define LSR_THRE	0x20

void guest_start(uint64_t mbi, uint64_t magic);

/* Multiboot information: flags at +0, cmdline (physical address) at +16. */
void guest_start(uint64_t mbi, uint64_t magic)
{
	const char *cmdline = "";

	if ((uint32_t)magic == MB_BOOT_MAGIC && mbi != 0 && mbi < G_LOW_MAP_END) {
		const volatile uint32_t *info = (const volatile uint32_t *)mbi;
		if ((info[0] & MB_INFO_CMDLINE) && info[4] != 0 && info[4] < G_LOW_MAP_END)
			cmdline = (const char *)(uint64_t)info[4];
	}
	guest_main(cmdline);
	g_exit(G_EXIT_OK);
}

void g_putc(char c)
{
	while (!(g_inb(G_COM1 + 5) & LSR_THRE))
		;
	g_outb(G_COM1, (uint8_t)c);
}

void g_puts(const char *s)
{
	while (*s)
		g_putc(*s++);
}

static void put_unsigned(uint64_t v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		unsigned d = (unsigned)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (width-- > n)
		g_putc(pad);
	while (n)
		g_putc(buf[--n]);
}

static void put_signed(int64_t v, int width, char pad)
{
	if (v < 0) {
		g_putc('-');
		put_unsigned((uint64_t)-(v + 1) + 1, 10, width - 1, pad);
	} else {
		put_unsigned((uint64_t)v, 10, width, pad);
	}
}

/* %[0][width][l|ll|z](d|u|x|s|c|%) */
void g_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			g_putc(*fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, longs = 0;
		if (*++fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z')
			longs++, fmt++;
		switch (*fmt) {
		case 'd': put_signed(longs ? va_arg(ap, int64_t) : va_arg(ap, int), width, pad); break;
		case 'u': put_unsigned(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad); break;
		case 'x': put_unsigned(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad); break;
		case 's': g_puts(va_arg(ap, const char *)); break;
		case 'c': g_putc((char)va_arg(ap, int)); break;
		case '%': g_putc('%'); break;
		default: g_putc('?'); if (!*fmt) return; break;
		}
	}
}

void g_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_vprintf(fmt, ap);
	va_end(ap);
}

static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (s == end)
		return -1;
	for (; s < end; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 1;
}

/* The last occurrence wins, as on Linux's command line. */
int g_arg_u64(const char *cmdline, const char *key, uint64_t *out)
{
	int found = 0;
	size_t klen = 0;

	while (key[klen])
		klen++;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t i = 0;
		while (i < klen && w + i < p && w[i] == key[i])
			i++;
		if (i == klen && w + klen < p && w[klen] == '=')
			found = parse_u64(w + klen + 1, p, out);
	}
	return found;
}

uint64_t g_arg_u64_or(const char *cmdline, const char *key, uint64_t def)
{
	uint64_t v = def;
	int r = g_arg_u64(cmdline, key, &v);

	if (r < 0) {
		g_printf("bad value for %s= (want a decimal or 0x hex number)\n", key);
		g_exit(G_EXIT_USAGE);
	}
	return v;
}

void g_exit(unsigned status)
{
	g_outl(G_DEBUG_EXIT, status);
	for (;;) {
		g_cli();
		g_hlt();
	}
}
