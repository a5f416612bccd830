/* SPDX-License-Identifier: MIT */
/*
 * loader.h — guest images: Multiboot v1 (ELF32, ELF64, a.out-kludge address fields), raw
 * binaries and Linux bzImages (the x86 boot protocol, bzimage.c; declarations at the end). Parsing works on a byte buffer and a RAM size only, so unit tests feed bytes; loading
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
	/* Linux bzImage (bzimage.c) */
	EMU_LOAD_BZ_NOT_BZIMAGE,	/* "HdrS" but no 0xAA55 boot flag, or no setup header at all */
	EMU_LOAD_BZ_TRUNCATED,		/* shorter than its setup sectors + syssize say */
	EMU_LOAD_BZ_TOO_OLD,		/* boot protocol below 2.06 */
	EMU_LOAD_BZ_NOT_HIGH,		/* a zImage: not LOADED_HIGH */
	EMU_LOAD_BZ_BAD_HEADER,		/* inconsistent fields (alignment, sizes, addresses) */
	EMU_LOAD_BZ_NO_ROOM,		/* the kernel (with init_size) does not fit in RAM */
	EMU_LOAD_BZ_CMDLINE,		/* command line longer than cmdline_size */
	EMU_LOAD_BZ_INITRD_TOO_BIG,	/* initrd larger than RAM, than initrd_addr_max or the room left */
	EMU_LOAD_BZ_UNPACK,		/* --linux-decompress host: no xz payload, or not a vmlinux inside */
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

/* ---- Linux bzImage: Documentation/arch/x86/boot.rst ----
 *
 * vmscope loads the protected-mode kernel at 1 MiB (as QEMU and kvmtool do) and enters it the
 * way firecracker does: at the 64-bit entry startup_64 (load address + 0x200) when the header has
 * XLF_KERNEL_64, with RSI = the boot_params ("zero page"), long mode on, the first 4 GiB identity
 * mapped with 2 MiB pages, and a GDT whose __BOOT_CS 0x10 / __BOOT_DS 0x18 are flat. Kernels
 * without XLF_KERNEL_64 (32-bit ones) are entered at code32_start in 32-bit flat protected mode,
 * paging off, ESI = boot_params. Interrupts are off in both. Fixed low-memory layout: */
#define EMU_BZ_GDT_ADDR 0x500ull		/* null, null, code 0x10, data 0x18, tss 0x20 */
#define EMU_BZ_BOOT_PARAMS_ADDR 0x7000ull	/* the zero page */
#define EMU_BZ_PML4_ADDR 0x9000ull		/* + PDPT at 0xa000, four PDs at 0xb000-0xefff */
#define EMU_BZ_CMDLINE_ADDR 0x20000ull
#define EMU_BZ_KERNEL_ADDR 0x100000ull
#define EMU_BZ_MIN_VERSION 0x0206
#define EMU_BZ_MAGIC 0x53726448u		/* "HdrS" at 0x202 */

struct emu_bzimage {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	uint8_t setup_sects;		/* 0 means 4 */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t syssize;		/* protected-mode kernel size in 16-byte units */
	uint32_t kernel_alignment;
	uint32_t init_size;		/* memory the kernel needs from where it runs */
	uint32_t cmdline_size;		/* longest command line, NUL excluded */
	uint32_t initrd_addr_max;	/* highest byte address an initrd may occupy */
	uint64_t pref_address;		/* where the kernel decompresses itself */
	uint64_t setup_size;		/* (setup_sects + 1) * 512: file offset of the kernel */
	uint64_t kernel_size;		/* bytes of the protected-mode kernel in the file */
	uint64_t load_addr;		/* EMU_BZ_KERNEL_ADDR */
	uint64_t entry;			/* startup_64 (load + 0x200) or code32_start */
	bool entry64;			/* XLF_KERNEL_64: enter in long mode */
	uint64_t end;			/* first byte above everything the kernel uses (init_size) */
};

/* What the boot needs besides the image: one initrd (several files are concatenated by the caller
 * or passed here already joined) and the command line. */
struct emu_linux_options {
	const char *cmdline;		/* may be NULL */
	const void *initrd;		/* may be NULL */
	size_t initrd_size;
};

/* Where the loader put things (for tests and messages). */
struct emu_linux_layout {
	uint64_t boot_params, cmdline, initrd, initrd_size, cr3;
};

/* True when buf has the "HdrS" magic at 0x202: vmscope then loads it as a bzImage. */
bool emu_load_is_bzimage(const void *buf, size_t len);
/* The setup header, checked against the file length and ram_size. Nothing is written. */
EMU_MUST_CHECK int emu_load_parse_bzimage(const void *buf, size_t len, uint64_t ram_size, struct emu_bzimage *bz,
					  struct emu_load_error *err);
/* The initrd's address: 4 KiB aligned, as high as RAM and initrd_addr_max allow, above bz->end. */
EMU_MUST_CHECK int emu_load_place_initrd(const struct emu_bzimage *bz, uint64_t initrd_size, uint64_t ram_size,
					 uint64_t *addr, struct emu_load_error *err);
/* Everything into a RAM buffer: kernel, initrd, command line, boot_params (e820 map matching
 * ram_size with 0x9fc00-0x100000 reserved), GDT and page tables. */
EMU_MUST_CHECK int emu_load_bzimage_ram(const struct emu_bzimage *bz, const void *buf, size_t len,
					const struct emu_linux_options *opts, uint8_t *ram, uint64_t ram_size,
					struct emu_linux_layout *out, struct emu_load_error *err);
/* vCPU 0 at the kernel's entry (see above). */
EMU_MUST_CHECK int emu_load_set_linux_cpu(struct emu_vcpu *vcpu, const struct emu_bzimage *bz,
					  const struct emu_linux_layout *lay);
/* emu_load_bzimage_ram into the VM's RAM, then emu_load_set_linux_cpu. */
EMU_MUST_CHECK int emu_load_linux(struct emu_vm *vm, const struct emu_bzimage *bz, const void *buf, size_t len,
				  const struct emu_linux_options *opts, struct emu_load_error *err);
/* The same, but the host unpacks the xz payload (bzunpack.c) and vCPU 0 starts at the kernel
 * proper's startup_64 (vmlinux's ELF entry) in long mode: the guest skips its decompressor. */
EMU_MUST_CHECK int emu_load_linux_unpacked(struct emu_vm *vm, const struct emu_bzimage *bz, const void *buf,
					   size_t len, const struct emu_linux_options *opts, struct emu_load_error *err);
/* True when emu_load_linux_unpacked can try this image: a 64-bit kernel with an xz payload. */
bool emu_load_bzimage_is_xz(const struct emu_bzimage *bz, const void *buf, size_t len);

#endif
