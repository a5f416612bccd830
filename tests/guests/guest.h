/* SPDX-License-Identifier: MIT */
/*
 * guest.h — the tiny library every test guest links (freestanding, 64-bit, CPL0).
 *
 * A guest is one .c file defining guest_main(cmdline); boot.S gets it to long mode and
 * lib.c parses the Multiboot command line. Output goes to COM1 (0x3f8), the end to the
 * isa-debug-exit port (0xf4): the emulator process exits with (status << 1) | 1.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define G_COM1		0x3f8
#define G_DEBUG_EXIT	0xf4

/* Exit statuses the guests use (process status = (s << 1) | 1). */
#define G_EXIT_OK	0
#define G_EXIT_FAIL	1	/* a self-check failed */
#define G_EXIT_USAGE	2	/* bad command line */
#define G_EXIT_EXC	3	/* unexpected CPU exception */

/* Mapped by boot.S: RAM below G_LOW_MAP_END, MMIO window [G_MMIO_MAP_BASE, 4 GiB). */
#define G_LOW_MAP_END	0x40000000ul
#define G_MMIO_MAP_BASE	0xc0000000ul
#define G_MMIO_MAP_END	0x100000000ul

void guest_main(const char *cmdline);

/* ---- port I/O ---- */
static inline void g_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void g_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void g_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t g_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void g_mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }
static inline void g_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void g_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void g_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* Waits for the next interrupt without a window between sti and hlt. */
static inline void g_sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* ---- serial console (COM1, polled) ---- */
void g_putc(char c);
void g_puts(const char *s);
void g_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void g_vprintf(const char *fmt, va_list ap);

/* ---- command line: space-separated key=value; other words are ignored ---- */
/* 1 and *out set when key is present and numeric (decimal or 0x hex), 0 when absent, -1 when bad. */
int g_arg_u64(const char *cmdline, const char *key, uint64_t *out);
/* The value, or def when absent; a malformed value prints a message and exits G_EXIT_USAGE. */
uint64_t g_arg_u64_or(const char *cmdline, const char *key, uint64_t def);

/* ---- ending ---- */
__attribute__((noreturn)) void g_exit(unsigned status);

/* ---- CPU tables (cpu.c): IDT with exception reporting, TSS, CPL3 ---- */
void g_cpu_init(void);		/* loads IDT (exceptions 0-31 report and exit) and TSS */
void g_idt_set(unsigned vec, void (*handler)(void), unsigned dpl);
/* Runs fn(arg) at CPL3 (IOPL 3 and an all-zero TSS I/O bitmap: port I/O allowed) and returns
 * its result. Needs g_cpu_init. Returns through a #UD (see cpu_asm.S). */
uint64_t g_run_user(uint64_t (*fn)(uint64_t), uint64_t arg);

/* An interrupt frame as the CPU pushes it (for __attribute__((interrupt)) handlers). */
struct g_intr_frame {
	uint64_t rip, cs, rflags, rsp, ss;
};

#endif
