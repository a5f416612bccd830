/* SPDX-License-Identifier: MIT */
/*
 * bzimage.c — the Linux x86 boot protocol (Documentation/arch/x86/boot.rst) for bzImages:
 * setup-header checks, the protected-mode kernel at 1 MiB, the initrd as high as the kernel
 * allows, the command line, boot_params (the "zero page") with an e820 map, and vCPU 0 at the
 * 64-bit entry with identity-mapped page tables (or the 32-bit entry; see loader.h).
 *
 * Every field read from the file is checked against the file length and the RAM size with
 * overflow-safe arithmetic before it is used; nothing is written before everything is checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "emu/loader/loader-local.h"

/* Setup header offsets (in the file and in boot_params alike). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_SYSSIZE 0x1f4
#define BZ_VID_MODE 0x1fa
#define BZ_BOOT_FLAG 0x1fe
#define BZ_JUMP 0x200
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_CODE32_START 0x214
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_HEAP_END_PTR 0x224
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HDR_END_MAX 0x290	/* beyond every field of protocol 2.15 */

/* boot_params outside the setup header. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 4096

#define BZ_LOADED_HIGH 0x01
#define BZ_CAN_USE_HEAP 0x80
#define BZ_XLF_KERNEL_64 0x01
#define BZ_BOOT_FLAG_MAGIC 0xaa55

#define BZ_LOW_MEM_END 0x9fc00ull
#define BZ_HIGH_MEM 0x100000ull
#define BZ_E820_RAM 1
#define BZ_E820_RESERVED 2

#define BZ_PDPT_ADDR (EMU_BZ_PML4_ADDR + 0x1000)
#define BZ_PD_ADDR (EMU_BZ_PML4_ADDR + 0x2000)
#define BZ_IDENTITY_GIB 4
#define BZ_STACK_TOP 0x8ff0ull	/* the page between boot_params and the page tables */

static uint16_t bz_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t bz_le32(const uint8_t *p) { return (uint32_t)bz_le16(p) | (uint32_t)bz_le16(p + 2) << 16; }
static uint64_t bz_le64(const uint8_t *p) { return (uint64_t)bz_le32(p) | (uint64_t)bz_le32(p + 4) << 32; }
static void bz_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }	/* x86 hosts: little endian */
static void bz_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void bz_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t bz_align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

bool emu_load_is_bzimage(const void *buf, size_t len)
{
	return len >= BZ_HEADER + 4 && bz_le32((const uint8_t *)buf + BZ_HEADER) == EMU_BZ_MAGIC;
}

/* ---- parsing ---- */

/* Magic, boot flag, protocol version and the header's own length. */
static int bz_check_magic(const uint8_t *b, size_t len, struct emu_bzimage *bz, struct emu_load_error *err)
{
	if (!emu_load_is_bzimage(b, len))
		return emu_load_fail(err, EMU_LOAD_BZ_NOT_BZIMAGE, ENOEXEC,
			       "not a Linux bzImage: no \"HdrS\" setup header magic at offset 0x202");
	if (len < BZ_VERSION + 2)
		return emu_load_fail(err, EMU_LOAD_BZ_TRUNCATED, ENOEXEC,
			       "truncated bzImage: the %zu-byte file ends inside the setup header", len);
	if (bz_le16(b + BZ_BOOT_FLAG) != BZ_BOOT_FLAG_MAGIC)
		return emu_load_fail(err, EMU_LOAD_BZ_NOT_BZIMAGE, ENOEXEC,
			       "not a Linux bzImage: boot flag at 0x1fe is 0x%04x, not 0xaa55", bz_le16(b + BZ_BOOT_FLAG));
	bz->version = bz_le16(b + BZ_VERSION);
	if (bz->version < EMU_BZ_MIN_VERSION)
		return emu_load_fail(err, EMU_LOAD_BZ_TOO_OLD, ENOTSUP,
			       "Linux boot protocol %u.%02u is too old: vmscope needs 2.06 or later (Linux 2.6.22+)",
			       bz->version >> 8, bz->version & 0xff);
	if (len < BZ_CMDLINE_SIZE + 4 || (bz->version >= 0x020a && len < BZ_INIT_SIZE + 4))
		return emu_load_fail(err, EMU_LOAD_BZ_TRUNCATED, ENOEXEC,
			       "truncated bzImage: the %zu-byte file ends inside the protocol %u.%02u setup header", len,
			       bz->version >> 8, bz->version & 0xff);
	return 0;
}

static void bz_read_fields(const uint8_t *b, struct emu_bzimage *bz)
{
	bz->setup_sects = b[BZ_SETUP_SECTS] ? b[BZ_SETUP_SECTS] : 4;
	bz->loadflags = b[BZ_LOADFLAGS];
	bz->syssize = bz_le32(b + BZ_SYSSIZE);
	bz->initrd_addr_max = bz_le32(b + BZ_INITRD_ADDR_MAX);
	bz->kernel_alignment = bz_le32(b + BZ_KERNEL_ALIGNMENT);
	bz->relocatable = b[BZ_RELOCATABLE];
	bz->cmdline_size = bz_le32(b + BZ_CMDLINE_SIZE);
	bz->xloadflags = bz->version >= 0x020c ? bz_le16(b + BZ_XLOADFLAGS) : 0;
	bz->setup_size = (uint64_t)(bz->setup_sects + 1) * 512;
	if (bz->version >= 0x020a) {
		bz->pref_address = bz_le64(b + BZ_PREF_ADDRESS);
		bz->init_size = bz_le32(b + BZ_INIT_SIZE);
	} else {
		bz->pref_address = EMU_BZ_KERNEL_ADDR;
		bz->init_size = 0;	/* unknown before 2.10: see bz_place_kernel */
	}
}

static int bz_check_sizes(size_t len, struct emu_bzimage *bz, struct emu_load_error *err)
{
	uint64_t want = bz->setup_size + (uint64_t)bz->syssize * 16;

	if (!(bz->loadflags & BZ_LOADED_HIGH))
		return emu_load_fail(err, EMU_LOAD_BZ_NOT_HIGH, ENOTSUP,
			       "a zImage (loadflags 0x%02x without LOADED_HIGH): only bzImages are supported",
			       bz->loadflags);
	if (bz->syssize == 0 || len < want)
		return emu_load_fail(err, EMU_LOAD_BZ_TRUNCATED, ENOEXEC,
			       "truncated bzImage: %u setup sectors and syssize 0x%x need %llu bytes, the file has %zu",
			       bz->setup_sects, bz->syssize, (unsigned long long)want, len);
	if (bz->kernel_alignment & (bz->kernel_alignment - 1))
		return emu_load_fail(err, EMU_LOAD_BZ_BAD_HEADER, ENOEXEC,
			       "bzImage header: kernel_alignment 0x%x is not a power of two", bz->kernel_alignment);
	if (bz->cmdline_size > 0xffff)	/* a sanity bound; Linux says 2047 */
		bz->cmdline_size = 0xffff;
	bz->kernel_size = len - bz->setup_size;
	return 0;
}

/* Where the kernel goes and how far up it reaches while it decompresses itself: from
 * max(load address aligned, pref_address) for init_size bytes (head_64.S does the same sum). */
static int bz_place_kernel(uint64_t ram_size, struct emu_bzimage *bz, struct emu_load_error *err)
{
	uint64_t align = bz->kernel_alignment ? bz->kernel_alignment : 1, run, need;

	bz->load_addr = EMU_BZ_KERNEL_ADDR;
	bz->entry64 = bz->xloadflags & BZ_XLF_KERNEL_64;
	bz->entry = bz->load_addr + (bz->entry64 ? 0x200 : 0);
	run = bz->relocatable ? bz_align_up(bz->load_addr, align) : bz->pref_address;
	if (run < bz->pref_address)
		run = bz->pref_address;
	need = bz->init_size ? bz->init_size : bz->kernel_size * 4;	/* pre-2.10: a guess, said in loader.h */
	if (run > (1ull << 40) || need > (1ull << 40))
		return emu_load_fail(err, EMU_LOAD_BZ_BAD_HEADER, ENOEXEC,
			       "bzImage header: pref_address 0x%llx / init_size 0x%llx are not plausible",
			       (unsigned long long)bz->pref_address, (unsigned long long)need);
	bz->end = run + need;
	if (bz->end < bz->load_addr + bz->kernel_size)
		bz->end = bz->load_addr + bz->kernel_size;
	if (bz->end > ram_size)
		return emu_load_fail(err, EMU_LOAD_BZ_NO_ROOM, ENOSPC,
			       "the kernel does not fit in %llu MiB of RAM: it runs at 0x%llx and needs %llu MiB "
			       "(init_size) there, up to 0x%llx; try -m %lluM or more",
			       (unsigned long long)(ram_size >> 20), (unsigned long long)run,
			       (unsigned long long)(need >> 20), (unsigned long long)bz->end,
			       (unsigned long long)(bz_align_up(bz->end, 1 << 20) >> 20) + 16);
	return 0;
}

int emu_load_parse_bzimage(const void *buf, size_t len, uint64_t ram_size, struct emu_bzimage *bz,
			   struct emu_load_error *err)
{
	const uint8_t *b = buf;
	int e;

	memset(bz, 0, sizeof(*bz));
	memset(err, 0, sizeof(*err));
	if (len == 0)
		return emu_load_fail(err, EMU_LOAD_EMPTY, ENOEXEC, "empty image");
	e = bz_check_magic(b, len, bz, err);
	if (e)
		return e;
	bz_read_fields(b, bz);
	e = bz_check_sizes(len, bz, err);
	if (!e)
		e = bz_place_kernel(ram_size, bz, err);
	return e;
}

int emu_load_place_initrd(const struct emu_bzimage *bz, uint64_t size, uint64_t ram_size, uint64_t *addr,
			  struct emu_load_error *err)
{
	uint64_t top = (uint64_t)bz->initrd_addr_max + 1;

	if (top > ram_size)
		top = ram_size;
	if (size > ram_size)
		return emu_load_fail(err, EMU_LOAD_BZ_INITRD_TOO_BIG, EFBIG,
			       "the initrd (%llu bytes) is larger than guest RAM (%llu MiB); try a larger -m",
			       (unsigned long long)size, (unsigned long long)(ram_size >> 20));
	if (size > (uint64_t)bz->initrd_addr_max + 1)
		return emu_load_fail(err, EMU_LOAD_BZ_INITRD_TOO_BIG, EFBIG,
			       "the initrd (%llu bytes) is larger than the kernel accepts (initrd_addr_max 0x%x)",
			       (unsigned long long)size, bz->initrd_addr_max);
	*addr = (top - size) & ~0xfffull;
	if (size > top || *addr < bz->end)
		return emu_load_fail(err, EMU_LOAD_BZ_INITRD_TOO_BIG, ENOSPC,
			       "the initrd (%llu KiB) does not fit between the kernel's end 0x%llx and 0x%llx; "
			       "try a larger -m", (unsigned long long)(size >> 10), (unsigned long long)bz->end,
			       (unsigned long long)top);
	return 0;
}

/* ---- building the guest's memory ---- */

static void bz_e820(uint8_t *bp, uint64_t ram_size)
{
	const struct { uint64_t base, end; uint32_t type; } map[] = {
		{ 0, BZ_LOW_MEM_END, BZ_E820_RAM },
		{ BZ_LOW_MEM_END, BZ_HIGH_MEM, BZ_E820_RESERVED },
		{ BZ_HIGH_MEM, ram_size, BZ_E820_RAM },
	};
	unsigned n = ram_size > BZ_HIGH_MEM ? 3 : 2;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;
		bz_put64(e, map[i].base);
		bz_put64(e + 8, map[i].end - map[i].base);
		bz_put32(e + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;
}

/* The zero page: the file's setup header, then what the loader fills in. */
static void bz_boot_params(const uint8_t *b, size_t len, const struct emu_bzimage *bz, uint8_t *bp,
			   const struct emu_linux_layout *lay, uint64_t ram_size)
{
	size_t hdr_end = BZ_HEADER + b[BZ_JUMP + 1];

	if (hdr_end > BZ_HDR_END_MAX)
		hdr_end = BZ_HDR_END_MAX;
	if (hdr_end > len)
		hdr_end = len;
	memset(bp, 0, BP_SIZE);
	memcpy(bp + BZ_SETUP_SECTS, b + BZ_SETUP_SECTS, hdr_end - BZ_SETUP_SECTS);
	bz_put16(bp + BZ_VID_MODE, 0xffff);	/* "normal": no mode change */
	bp[BZ_TYPE_OF_LOADER] = 0xff;		/* undefined loader */
	bp[BZ_LOADFLAGS] = (uint8_t)(bz->loadflags | BZ_CAN_USE_HEAP);
	bz_put16(bp + BZ_HEAP_END_PTR, 0xfe00 - 0x200);
	bz_put32(bp + BZ_CODE32_START, (uint32_t)bz->load_addr);
	bz_put32(bp + BZ_CMD_LINE_PTR, (uint32_t)lay->cmdline);
	bz_put32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(lay->cmdline >> 32));
	bz_put32(bp + BZ_RAMDISK_IMAGE, (uint32_t)lay->initrd);
	bz_put32(bp + BZ_RAMDISK_SIZE, (uint32_t)lay->initrd_size);
	bz_put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(lay->initrd >> 32));
	bz_put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(lay->initrd_size >> 32));
	bz_e820(bp, ram_size);
}

/* GDT: null, null, __BOOT_CS 0x10, __BOOT_DS 0x18, a TSS at 0x20 (for the TR KVM insists on). */
static void bz_gdt(uint8_t *ram, bool entry64)
{
	const uint64_t gdt[] = {
		0, 0, entry64 ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
		0x00008b0000000067ull,
	};

	for (size_t i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
		bz_put64(ram + EMU_BZ_GDT_ADDR + i * 8, gdt[i]);
}

/* PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 2 MiB pages: the first 4 GiB identity mapped. */
static void bz_page_tables(uint8_t *ram)
{
	memset(ram + EMU_BZ_PML4_ADDR, 0, (2 + BZ_IDENTITY_GIB) * 0x1000);
	bz_put64(ram + EMU_BZ_PML4_ADDR, BZ_PDPT_ADDR | 0x3);
	for (uint64_t g = 0; g < BZ_IDENTITY_GIB; g++) {
		bz_put64(ram + BZ_PDPT_ADDR + g * 8, (BZ_PD_ADDR + g * 0x1000) | 0x3);
		for (uint64_t i = 0; i < 512; i++)
			bz_put64(ram + BZ_PD_ADDR + g * 0x1000 + i * 8, ((g << 30) + (i << 21)) | 0x83);
	}
}

/*
 * An Intel MP table (MP specification 1.4) in the last KiB of base memory, which Linux scans:
 * the boot CPU, an ISA bus, the I/O APIC at 0xfec00000 and the ISA interrupts on its pins (IRQ 0
 * on pin 2, as on PCs), the 8259's ExtINT on LINT0, NMI on LINT1. With it Linux
 * routes interrupts through the I/O APIC and ticks on the local APIC timer; without it Linux
 * stays in virtual-wire mode on the 8259 and the PIT. One CPU only: other vCPUs are not
 * started by INIT/SIPI under the interpreter.
 */
#define BZ_MP_ADDR BZ_LOW_MEM_END
#define BZ_MP_CONFIG (BZ_MP_ADDR + 16)
#define BZ_LAPIC_ADDR 0xfee00000u
#define BZ_IOAPIC_ADDR 0xfec00000u
#define BZ_IOAPIC_ID 1

static uint8_t bz_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

/* One 8-byte interrupt entry: type 3 (I/O) or 4 (local), kind (0 INT, 1 NMI, 3 ExtINT). */
static uint8_t *bz_mp_irq(uint8_t *e, uint8_t type, uint8_t kind, uint8_t src_irq, uint8_t dst, uint8_t pin)
{
	const uint8_t v[8] = { type, kind, 0, 0, 0, src_irq, dst, pin };

	memcpy(e, v, 8);
	return e + 8;
}

static void bz_mptable(uint8_t *ram, uint32_t cpu_signature, uint32_t cpu_features)
{
	uint8_t *fp = ram + BZ_MP_ADDR, *t = ram + BZ_MP_CONFIG, *e = t + 44;
	unsigned n = 0;

	memset(fp, 0, 0x400);
	memcpy(t, "PCMP", 4);
	t[6] = 4;
	memcpy(t + 8, "VMSCOPE INTERPRETER ", 20);	/* OEM ID and product ID */
	bz_put32(t + 36, BZ_LAPIC_ADDR);
	e[0] = 0, e[1] = 0, e[2] = 0x14, e[3] = 0x3;	/* processor: LAPIC 0, enabled, the BSP */
	bz_put32(e + 4, cpu_signature);
	bz_put32(e + 8, cpu_features);
	e += 20, n++;
	memcpy(e, "\x01\x00ISA   ", 8);			/* bus 0: ISA */
	e += 8, n++;
	e[0] = 2, e[1] = BZ_IOAPIC_ID, e[2] = 0x20, e[3] = 1;	/* I/O APIC, enabled */
	bz_put32(e + 4, BZ_IOAPIC_ADDR);
	e += 8, n++;
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;			/* the cascade */
		e = bz_mp_irq(e, 3, 0, irq, BZ_IOAPIC_ID, irq == 0 ? 2 : irq), n++;
	}
	e = bz_mp_irq(e, 4, 3, 0, 0xff, 0), n++;	/* LINT0: ExtINT */
	e = bz_mp_irq(e, 4, 1, 0, 0xff, 1), n++;	/* LINT1: NMI */
	bz_put16(t + 4, (uint16_t)(e - t));
	bz_put16(t + 34, (uint16_t)n);
	t[7] = bz_checksum(t, (size_t)(e - t));
	memcpy(fp, "_MP_", 4);
	bz_put32(fp + 4, (uint32_t)BZ_MP_CONFIG);
	fp[8] = 1, fp[9] = 4;
	fp[10] = bz_checksum(fp, 16);
}

static int bz_check_cmdline(const struct emu_bzimage *bz, const char *cmdline, struct emu_load_error *err)
{
	size_t n = strlen(cmdline);

	if (n > bz->cmdline_size || n >= BZ_LOW_MEM_END - EMU_BZ_CMDLINE_ADDR)
		return emu_load_fail(err, EMU_LOAD_BZ_CMDLINE, E2BIG,
			       "the command line is %zu bytes; this kernel takes at most %u (cmdline_size)", n,
			       bz->cmdline_size);
	return 0;
}

int emu_load_bzimage_ram(const struct emu_bzimage *bz, const void *buf, size_t len,
			 const struct emu_linux_options *opts, uint8_t *ram, uint64_t ram_size,
			 struct emu_linux_layout *lay, struct emu_load_error *err)
{
	const char *cmdline = opts && opts->cmdline ? opts->cmdline : "";
	size_t initrd_size = opts && opts->initrd ? opts->initrd_size : 0;
	int e;

	memset(lay, 0, sizeof(*lay));
	if (bz->end > ram_size || bz->setup_size > len || bz->kernel_size > len - bz->setup_size ||
	    bz->load_addr + bz->kernel_size > ram_size)
		return emu_load_fail(err, EMU_LOAD_BZ_NO_ROOM, ENOSPC, "the kernel does not fit in RAM");
	e = bz_check_cmdline(bz, cmdline, err);
	if (!e && initrd_size)
		e = emu_load_place_initrd(bz, initrd_size, ram_size, &lay->initrd, err);
	if (e)
		return e;
	lay->initrd_size = initrd_size;
	lay->boot_params = EMU_BZ_BOOT_PARAMS_ADDR;
	lay->cmdline = EMU_BZ_CMDLINE_ADDR;
	lay->cr3 = bz->entry64 ? EMU_BZ_PML4_ADDR : 0;
	memcpy(ram + bz->load_addr, (const uint8_t *)buf + bz->setup_size, bz->kernel_size);
	if (initrd_size)
		memcpy(ram + lay->initrd, opts->initrd, initrd_size);
	memcpy(ram + lay->cmdline, cmdline, strlen(cmdline) + 1);
	bz_boot_params(buf, len, bz, ram + lay->boot_params, lay, ram_size);
	bz_gdt(ram, bz->entry64);
	if (bz->entry64)
		bz_page_tables(ram);
	/* family 6 model 0x36 and FPU/PSE/TSC/MSR/PAE/CX8/APIC/SEP/PGE/CMOV/FXSR/SSE/SSE2: what
	 * the interpreter's CPUID says; Linux takes its CPU features from CPUID, not from here */
	bz_mptable(ram, 0x00030661u, 0x0780a37du);
	return 0;
}

/* ---- vCPU 0 ---- */

static void bz_boot_sregs(struct emu_sregs *s, const struct emu_bzimage *bz, const struct emu_linux_layout *lay)
{
	struct emu_segment code = { .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .present = 1, .s = 1, .g = 1,
				    .db = !bz->entry64, .l = bz->entry64 };
	struct emu_segment data = { .limit = 0xffffffff, .selector = 0x18, .type = 0x3, .present = 1, .s = 1, .g = 1,
				    .db = 1 };

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct emu_segment){ .selector = 0x20, .limit = 0x67, .type = 0xb, .present = 1 };
	s->ldt = (struct emu_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s->gdt = (struct emu_dtable){ EMU_BZ_GDT_ADDR, 5 * 8 - 1 };
	s->idt = (struct emu_dtable){ 0, 0 };
	s->cr2 = 0;
	if (bz->entry64) {
		s->cr0 = 0x80000011;	/* PG | ET | PE */
		s->cr3 = lay->cr3;
		s->cr4 = 0x20;		/* PAE */
		s->efer = 0x500;	/* LMA | LME */
	} else {
		s->cr0 = 0x11;
		s->cr3 = s->cr4 = s->efer = 0;
	}
}

int emu_load_set_linux_cpu(struct emu_vcpu *vcpu, const struct emu_bzimage *bz, const struct emu_linux_layout *lay)
{
	struct emu_regs regs = { .rsi = lay->boot_params, .rip = bz->entry, .rsp = BZ_STACK_TOP, .rflags = 0x2 };
	struct emu_sregs s;
	int err = emu_vcpu_get_sregs(vcpu, &s);

	if (err)
		return err;
	bz_boot_sregs(&s, bz, lay);
	err = emu_vcpu_set_sregs(vcpu, &s);
	if (!err)
		err = emu_vcpu_set_regs(vcpu, &regs);
	return err;
}

int emu_load_linux(struct emu_vm *vm, const struct emu_bzimage *bz, const void *buf, size_t len,
		   const struct emu_linux_options *opts, struct emu_load_error *err)
{
	uint64_t size = emu_vm_ram_size(vm);
	uint8_t *ram = emu_vm_phys_ptr(vm, 0, size);
	struct emu_linux_layout lay;
	int e;

	if (!ram)
		return emu_load_fail(err, EMU_LOAD_NO_ROOM, EINVAL, "the VM has no RAM");
	e = emu_load_bzimage_ram(bz, buf, len, opts, ram, size, &lay, err);
	if (e)
		return e;
	e = emu_load_set_linux_cpu(emu_vm_vcpu(vm, 0), bz, &lay);
	if (e)
		return emu_load_fail(err, EMU_LOAD_IO, -e, "cannot set the boot vCPU state: %s", strerror(-e));
	return 0;
}
