/* SPDX-License-Identifier: MIT */
/*
 * loader.h — guest images: Multiboot v1 (ELF32, ELF64, a.out-kludge address fields) and raw
 * binaries. Parsing works on a byte buffer and a RAM size only, so unit tests feed bytes; loading
 * copies into a RAM buffer; emu_load_boot() puts the result into a VM and sets vCPU 0 up in
 * 32-bit flat protected mode with EAX = 0x2BADB002 and EBX = the Multiboot information.
 *
 * Every function returns 0 or -errno; on failure err->code says exactly what is wrong and
 * err->message says it for humans (values included).
 */
#ifndef VMSCOPE_EMU_LOADER_H
#define VMSCOPE_EMU_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "emu/emu.h"

enum emu_load_code {
	EMU_LOAD_OK = 0,
	EMU_LOAD_EMPTY,			/* zero-length image */
	EMU_LOAD_NOT_MULTIBOOT,		/* no Multiboot header in the first 8 KiB */
	EMU_LOAD_HDR_TRUNCATED,		/* the header (or its address fields) is cut off by EOF */
	EMU_LOAD_BAD_CHECKSUM,
	EMU_LOAD_UNSUPPORTED_FLAGS,	/* a required feature (flags bits 3-15) we do not provide */
	EMU_LOAD_NOT_ELF,		/* no a.out-kludge fields and not an ELF file */
	EMU_LOAD_ELF_TRUNCATED,		/* shorter than its ELF header */
	EMU_LOAD_ELF_UNSUPPORTED,	/* class, byte order, version, type or machine */
	EMU_LOAD_PHDRS_OUTSIDE,		/* program header table past EOF or wrong entry size */
	EMU_LOAD_TOO_MANY_SEGMENTS,
	EMU_LOAD_NO_SEGMENTS,
	EMU_LOAD_SEG_PAST_EOF,		/* file bytes of a segment lie past EOF */
	EMU_LOAD_SEG_FILESZ,		/* file size larger than memory size */
	EMU_LOAD_SEG_WRAP,		/* address + size wraps 2^32 (32-bit formats) or 2^64 */
	EMU_LOAD_SEG_OUTSIDE_RAM,
	EMU_LOAD_SEG_OVERLAP,
	EMU_LOAD_ENTRY_OUTSIDE,		/* entry point not inside a loaded segment */
	EMU_LOAD_AOUT_BAD,		/* inconsistent a.out-kludge address fields */
	EMU_LOAD_NO_ROOM,		/* no RAM left for the boot information or modules */
	EMU_LOAD_IO,			/* reading a file failed */
	EMU_LOAD_RAW_BAD,		/* raw binary: bad --load-addr / --entry */
};

struct emu_load_error {
	enum emu_load_code code;
	char message[256];
};

enum emu_image_format { EMU_IMAGE_ELF32, EMU_IMAGE_ELF64, EMU_IMAGE_AOUT_KLUDGE, EMU_IMAGE_RAW };

#define EMU_LOAD_MAX_SEGMENTS 32
#define EMU_MB_SEARCH 8192		/* the header lies in the first 8 KiB, 4-byte aligned */
#define EMU_MB_MAGIC 0x1badb002u
#define EMU_MB_BOOT_MAGIC 0x2badb002u	/* EAX at entry */

struct emu_load_segment {
	uint64_t offset;	/* in the file */
	uint64_t filesz;
	uint64_t addr;		/* guest physical */
	uint64_t memsz;		/* filesz bytes copied, the rest zeroed */
};

struct emu_load_image {
	enum emu_image_format format;
	uint32_t mb_flags;
	uint64_t entry;		/* guest physical */
	uint64_t end;		/* first byte above every segment */
	unsigned nr_segments;
	struct emu_load_segment seg[EMU_LOAD_MAX_SEGMENTS];
};

struct emu_load_module {
	const void *data;
	size_t size;
	const char *cmdline;	/* the module's string, may be NULL */
};

struct emu_boot_options {
	const char *cmdline;	/* the kernel command line (may be NULL) */
	const struct emu_load_module *modules;
	unsigned nr_modules;
};

/* Parsing: where everything goes, validated against ram_size. Nothing is written. */
EMU_MUST_CHECK int emu_load_parse_multiboot(const void *buf, size_t len, uint64_t ram_size,
					    struct emu_load_image *img, struct emu_load_error *err);
EMU_MUST_CHECK int emu_load_parse_raw(size_t len, uint64_t load_addr, uint64_t entry, uint64_t ram_size,
				      struct emu_load_image *img, struct emu_load_error *err);

/* Copies the segments of a parsed image into ram (bss zeroed). */
EMU_MUST_CHECK int emu_load_copy(const struct emu_load_image *img, const void *buf, size_t len, uint8_t *ram,
				 uint64_t ram_size, struct emu_load_error *err);

/* Writes modules, strings, the memory map and the Multiboot information above img->end;
 * *mbi is the information's guest physical address. */
EMU_MUST_CHECK int emu_load_build_mbi(const struct emu_load_image *img, const struct emu_boot_options *opts,
				      uint8_t *ram, uint64_t ram_size, uint64_t *mbi, struct emu_load_error *err);

/* All of the above into a VM, then vCPU 0's registers. */
EMU_MUST_CHECK int emu_load_boot(struct emu_vm *vm, const struct emu_load_image *img, const void *buf, size_t len,
				 const struct emu_boot_options *opts, struct emu_load_error *err);

/* The initial vCPU state: 32-bit flat protected mode, paging off, interrupts off. */
EMU_MUST_CHECK int emu_load_set_boot_cpu(struct emu_vcpu *vcpu, uint64_t entry, uint64_t mbi);

/* Reads a whole file into a malloc'd buffer (at most max bytes). */
EMU_MUST_CHECK int emu_load_read_file(const char *path, size_t max, void **buf, size_t *len,
				      struct emu_load_error *err);

/* A short name for a code ("seg-overlap") for messages and tests. */
const char *emu_load_code_name(enum emu_load_code code);

#endif
