/* SPDX-License-Identifier: MIT */
/*
 * parse.c — Multiboot v1 and raw-binary image parsing. Works on a byte buffer; every offset and
 * size read from the file is checked against the buffer and the RAM size with overflow-safe
 * arithmetic before anything else uses it.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "emu/loader/loader-local.h"

#define MB_FLAG_AOUT (1u << 16)
#define MB_REQUIRED_KNOWN 0x7u	/* bits 0-2: page-align modules, memory info, video (ignored) */

static const char *const load_code_names[] = {
	[EMU_LOAD_OK] = "ok",
	[EMU_LOAD_EMPTY] = "empty",
	[EMU_LOAD_NOT_MULTIBOOT] = "not-multiboot",
	[EMU_LOAD_HDR_TRUNCATED] = "header-truncated",
	[EMU_LOAD_BAD_CHECKSUM] = "bad-checksum",
	[EMU_LOAD_UNSUPPORTED_FLAGS] = "unsupported-flags",
	[EMU_LOAD_NOT_ELF] = "not-elf",
	[EMU_LOAD_ELF_TRUNCATED] = "elf-truncated",
	[EMU_LOAD_ELF_UNSUPPORTED] = "elf-unsupported",
	[EMU_LOAD_PHDRS_OUTSIDE] = "phdrs-outside",
	[EMU_LOAD_TOO_MANY_SEGMENTS] = "too-many-segments",
	[EMU_LOAD_NO_SEGMENTS] = "no-segments",
	[EMU_LOAD_SEG_PAST_EOF] = "segment-past-eof",
	[EMU_LOAD_SEG_FILESZ] = "segment-filesz",
	[EMU_LOAD_SEG_WRAP] = "segment-wraps",
	[EMU_LOAD_SEG_OUTSIDE_RAM] = "segment-outside-ram",
	[EMU_LOAD_SEG_OVERLAP] = "segment-overlap",
	[EMU_LOAD_ENTRY_OUTSIDE] = "entry-outside",
	[EMU_LOAD_AOUT_BAD] = "aout-kludge-bad",
	[EMU_LOAD_NO_ROOM] = "no-room",
	[EMU_LOAD_IO] = "io",
	[EMU_LOAD_RAW_BAD] = "raw-bad",
	[EMU_LOAD_BZ_NOT_BZIMAGE] = "not-bzimage",
	[EMU_LOAD_BZ_TRUNCATED] = "bzimage-truncated",
	[EMU_LOAD_BZ_TOO_OLD] = "bzimage-too-old",
	[EMU_LOAD_BZ_NOT_HIGH] = "bzimage-not-loaded-high",
	[EMU_LOAD_BZ_BAD_HEADER] = "bzimage-bad-header",
	[EMU_LOAD_BZ_NO_ROOM] = "bzimage-no-room",
	[EMU_LOAD_BZ_CMDLINE] = "cmdline-too-long",
	[EMU_LOAD_BZ_INITRD_TOO_BIG] = "initrd-too-big",
	[EMU_LOAD_BZ_UNPACK] = "bz-unpack",
};

const char *emu_load_code_name(enum emu_load_code code)
{
	if ((unsigned)code >= sizeof(load_code_names) / sizeof(load_code_names[0]) || !load_code_names[code])
		return "unknown";
	return load_code_names[code];
}

int emu_load_fail(struct emu_load_error *err, enum emu_load_code code, int errnum, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -errnum;
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- segments: common validation ---- */

static int load_add_segment(struct emu_load_image *img, const struct emu_load_segment *s, size_t len,
			    uint64_t addr_limit, uint64_t ram_size, struct emu_load_error *err)
{
	unsigned n = img->nr_segments;

	if (n == EMU_LOAD_MAX_SEGMENTS)
		return emu_load_fail(err, EMU_LOAD_TOO_MANY_SEGMENTS, E2BIG, "more than %d loadable segments",
				 EMU_LOAD_MAX_SEGMENTS);
	if (s->filesz > s->memsz)
		return emu_load_fail(err, EMU_LOAD_SEG_FILESZ, ENOEXEC,
				 "segment %u: file size 0x%llx larger than memory size 0x%llx", n,
				 (unsigned long long)s->filesz, (unsigned long long)s->memsz);
	if (s->offset > len || s->filesz > len - s->offset)
		return emu_load_fail(err, EMU_LOAD_SEG_PAST_EOF, ENOEXEC,
				 "segment %u: file bytes [0x%llx, +0x%llx) lie past the end of the %zu-byte image", n,
				 (unsigned long long)s->offset, (unsigned long long)s->filesz, len);
	if (s->addr > addr_limit || (s->memsz && s->memsz - 1 > addr_limit - s->addr))
		return emu_load_fail(err, EMU_LOAD_SEG_WRAP, ENOEXEC,
				 "segment %u: [0x%llx, +0x%llx) wraps around the %s address space", n,
				 (unsigned long long)s->addr, (unsigned long long)s->memsz,
				 addr_limit == UINT32_MAX ? "32-bit" : "64-bit");
	if (s->addr > ram_size || s->memsz > ram_size - s->addr)
		return emu_load_fail(err, EMU_LOAD_SEG_OUTSIDE_RAM, ENOSPC,
				 "segment %u: [0x%llx, 0x%llx) lies outside guest RAM (%llu KiB; try a larger -m)", n,
				 (unsigned long long)s->addr, (unsigned long long)(s->addr + s->memsz),
				 (unsigned long long)(ram_size >> 10));
	for (unsigned i = 0; i < n; i++) {
		const struct emu_load_segment *o = &img->seg[i];
		if (s->memsz && o->memsz && s->addr < o->addr + o->memsz && o->addr < s->addr + s->memsz)
			return emu_load_fail(err, EMU_LOAD_SEG_OVERLAP, ENOEXEC,
					 "segment %u [0x%llx, 0x%llx) overlaps segment %u [0x%llx, 0x%llx)", n,
					 (unsigned long long)s->addr, (unsigned long long)(s->addr + s->memsz), i,
					 (unsigned long long)o->addr, (unsigned long long)(o->addr + o->memsz));
	}
	img->seg[img->nr_segments++] = *s;
	if (s->addr + s->memsz > img->end)
		img->end = s->addr + s->memsz;
	return 0;
}

static bool load_entry_is_inside(const struct emu_load_image *img, uint64_t entry)
{
	for (unsigned i = 0; i < img->nr_segments; i++)
		if (entry - img->seg[i].addr < img->seg[i].memsz)
			return true;
	return false;
}

/* ---- the Multiboot header ---- */

struct load_mb_header {
	size_t offset;		/* in the file */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static int load_find_header(const uint8_t *b, size_t len, struct load_mb_header *h, struct emu_load_error *err)
{
	size_t limit = len < EMU_MB_SEARCH ? len : EMU_MB_SEARCH;

	for (size_t off = 0; off + 4 <= limit; off += 4) {
		if (load_le32(b + off) != EMU_MB_MAGIC)
			continue;
		if (off + 12 > len)
			return emu_load_fail(err, EMU_LOAD_HDR_TRUNCATED, ENOEXEC,
					 "Multiboot header at offset 0x%zx is cut off by the end of the file", off);
		h->offset = off;
		h->flags = load_le32(b + off + 4);
		if ((uint32_t)(EMU_MB_MAGIC + h->flags + load_le32(b + off + 8)) != 0)
			return emu_load_fail(err, EMU_LOAD_BAD_CHECKSUM, ENOEXEC,
					 "Multiboot header at offset 0x%zx: bad checksum 0x%08x for flags 0x%08x", off,
					 load_le32(b + off + 8), h->flags);
		return 0;
	}
	return emu_load_fail(err, EMU_LOAD_NOT_MULTIBOOT, ENOEXEC,
			 "not a Multiboot image: no header (magic 0x1badb002) in the first 8 KiB");
}

static int load_check_flags(const struct load_mb_header *h, struct emu_load_error *err)
{
	uint32_t unknown = h->flags & 0xffffu & ~MB_REQUIRED_KNOWN;

	if (unknown)
		return emu_load_fail(err, EMU_LOAD_UNSUPPORTED_FLAGS, ENOTSUP,
				 "Multiboot header requires features vmscope does not provide (flags 0x%08x, unknown "
				 "required bits 0x%04x)", h->flags, unknown);
	return 0;
}

/* ---- a.out kludge ---- */

static int load_aout_fields(const uint8_t *b, size_t len, struct load_mb_header *h, struct emu_load_error *err)
{
	const uint8_t *p = b + h->offset;

	if (h->offset + 32 > len)
		return emu_load_fail(err, EMU_LOAD_HDR_TRUNCATED, ENOEXEC,
				 "Multiboot header at offset 0x%zx: address fields cut off by the end of the file",
				 h->offset);
	h->header_addr = load_le32(p + 12);
	h->load_addr = load_le32(p + 16);
	h->load_end_addr = load_le32(p + 20);
	h->bss_end_addr = load_le32(p + 24);
	h->entry_addr = load_le32(p + 28);
	return 0;
}

static int load_aout(const uint8_t *b, size_t len, uint64_t ram_size, struct load_mb_header *h,
		     struct emu_load_image *img, struct emu_load_error *err)
{
	struct emu_load_segment s;
	uint64_t head;		/* bytes of the image before the header */
	int e = load_aout_fields(b, len, h, err);

	if (e)
		return e;
	head = (uint64_t)h->header_addr - h->load_addr;
	if (h->load_addr > h->header_addr || head > h->offset)
		return emu_load_fail(err, EMU_LOAD_AOUT_BAD, ENOEXEC,
				 "a.out kludge: load_addr 0x%x and header_addr 0x%x put the image start before the file",
				 h->load_addr, h->header_addr);
	s.offset = h->offset - head;
	if (h->load_end_addr && h->load_end_addr <= h->load_addr)
		return emu_load_fail(err, EMU_LOAD_AOUT_BAD, ENOEXEC, "a.out kludge: load_end_addr 0x%x not above load_addr 0x%x",
				 h->load_end_addr, h->load_addr);
	s.filesz = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr : len - s.offset;
	if (h->bss_end_addr && h->bss_end_addr < h->load_addr + s.filesz)
		return emu_load_fail(err, EMU_LOAD_AOUT_BAD, ENOEXEC, "a.out kludge: bss_end_addr 0x%x below the loaded data end 0x%llx",
				 h->bss_end_addr, (unsigned long long)(h->load_addr + s.filesz));
	s.memsz = h->bss_end_addr ? (uint64_t)h->bss_end_addr - h->load_addr : s.filesz;
	s.addr = h->load_addr;
	img->format = EMU_IMAGE_AOUT_KLUDGE;
	img->entry = h->entry_addr;
	return load_add_segment(img, &s, len, UINT32_MAX, ram_size, err);
}

/* ---- ELF ---- */

struct load_elf_info {
	bool is64;
	uint64_t entry, phoff;
	unsigned phnum, phentsize;
};

static int load_elf_header(const uint8_t *b, size_t len, struct load_elf_info *info, struct emu_load_error *err)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	unsigned machine, type, version;

	if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0)
		return emu_load_fail(err, EMU_LOAD_NOT_ELF, ENOEXEC,
				 "Multiboot image without a.out-kludge address fields must be an ELF file, and this is not");
	info->is64 = b[EI_CLASS] == ELFCLASS64;
	if ((b[EI_CLASS] != ELFCLASS32 && !info->is64) || b[EI_DATA] != ELFDATA2LSB || b[EI_VERSION] != EV_CURRENT)
		return emu_load_fail(err, EMU_LOAD_ELF_UNSUPPORTED, ENOEXEC,
				 "ELF class %u, data %u, version %u: need little-endian ELF32 or ELF64, version 1",
				 b[EI_CLASS], b[EI_DATA], b[EI_VERSION]);
	if (len < (info->is64 ? sizeof(e64) : sizeof(e32)))
		return emu_load_fail(err, EMU_LOAD_ELF_TRUNCATED, ENOEXEC, "ELF header cut off: the file has only %zu bytes", len);
	if (info->is64) {
		memcpy(&e64, b, sizeof(e64));
		machine = e64.e_machine, type = e64.e_type, version = e64.e_version;
		*info = (struct load_elf_info){ true, e64.e_entry, e64.e_phoff, e64.e_phnum, e64.e_phentsize };
	} else {
		memcpy(&e32, b, sizeof(e32));
		machine = e32.e_machine, type = e32.e_type, version = e32.e_version;
		*info = (struct load_elf_info){ false, e32.e_entry, e32.e_phoff, e32.e_phnum, e32.e_phentsize };
	}
	if (type != ET_EXEC || version != EV_CURRENT || machine != (info->is64 ? EM_X86_64 : EM_386))
		return emu_load_fail(err, EMU_LOAD_ELF_UNSUPPORTED, ENOEXEC,
				 "ELF type %u, machine %u: need an executable (type 2) for %s", type, machine,
				 info->is64 ? "x86-64 (62)" : "i386 (3)");
	return 0;
}

static int load_elf_phdrs_check(const struct load_elf_info *info, size_t len, struct emu_load_error *err)
{
	size_t want = info->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	if (info->phnum == 0)
		return emu_load_fail(err, EMU_LOAD_NO_SEGMENTS, ENOEXEC, "ELF file has no program headers");
	if (info->phentsize != want)
		return emu_load_fail(err, EMU_LOAD_PHDRS_OUTSIDE, ENOEXEC, "ELF program header size %u, expected %zu",
				 info->phentsize, want);
	if (info->phoff > len || (uint64_t)info->phnum * want > len - info->phoff)
		return emu_load_fail(err, EMU_LOAD_PHDRS_OUTSIDE, ENOEXEC,
				 "ELF program headers (%u at offset 0x%llx) lie past the end of the %zu-byte file",
				 info->phnum, (unsigned long long)info->phoff, len);
	return 0;
}

/* Program header i as 64-bit values; vaddr returned separately for entry translation. */
static void load_elf_phdr(const uint8_t *b, const struct load_elf_info *info, unsigned i, Elf64_Phdr *ph)
{
	if (info->is64) {
		memcpy(ph, b + info->phoff + (uint64_t)i * sizeof(Elf64_Phdr), sizeof(*ph));
		return;
	}
	Elf32_Phdr p32;
	memcpy(&p32, b + info->phoff + (uint64_t)i * sizeof(Elf32_Phdr), sizeof(p32));
	*ph = (Elf64_Phdr){ .p_type = p32.p_type, .p_offset = p32.p_offset, .p_vaddr = p32.p_vaddr,
			    .p_paddr = p32.p_paddr, .p_filesz = p32.p_filesz, .p_memsz = p32.p_memsz };
}

/* The entry point is a virtual address: translate it through the segment that holds it. */
static uint64_t load_elf_entry_phys(const uint8_t *b, const struct load_elf_info *info)
{
	for (unsigned i = 0; i < info->phnum; i++) {
		Elf64_Phdr ph;
		load_elf_phdr(b, info, i, &ph);
		if (ph.p_type == PT_LOAD && info->entry - ph.p_vaddr < ph.p_memsz)
			return info->entry - ph.p_vaddr + ph.p_paddr;
	}
	return info->entry;
}

static int load_elf(const uint8_t *b, size_t len, uint64_t ram_size, struct emu_load_image *img,
		    struct emu_load_error *err)
{
	struct load_elf_info info = { 0 };
	int e = load_elf_header(b, len, &info, err);

	if (!e)
		e = load_elf_phdrs_check(&info, len, err);
	if (e)
		return e;
	img->format = info.is64 ? EMU_IMAGE_ELF64 : EMU_IMAGE_ELF32;
	for (unsigned i = 0; i < info.phnum; i++) {
		Elf64_Phdr ph;
		struct emu_load_segment s;

		load_elf_phdr(b, &info, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		s = (struct emu_load_segment){ ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz };
		e = load_add_segment(img, &s, len, info.is64 ? UINT64_MAX : UINT32_MAX, ram_size, err);
		if (e)
			return e;
	}
	if (img->nr_segments == 0)
		return emu_load_fail(err, EMU_LOAD_NO_SEGMENTS, ENOEXEC, "ELF file has no loadable segment");
	img->entry = load_elf_entry_phys(b, &info);
	return 0;
}

int emu_load_parse_multiboot(const void *buf, size_t len, uint64_t ram_size, struct emu_load_image *img,
			     struct emu_load_error *err)
{
	const uint8_t *b = buf;
	struct load_mb_header h = { 0 };
	int e;

	memset(img, 0, sizeof(*img));
	memset(err, 0, sizeof(*err));
	if (len == 0)
		return emu_load_fail(err, EMU_LOAD_EMPTY, ENOEXEC, "the image is empty");
	e = load_find_header(b, len, &h, err);
	if (!e)
		e = load_check_flags(&h, err);
	if (e)
		return e;
	img->mb_flags = h.flags;
	e = (h.flags & MB_FLAG_AOUT) ? load_aout(b, len, ram_size, &h, img, err) : load_elf(b, len, ram_size, img, err);
	if (e)
		return e;
	if (!load_entry_is_inside(img, img->entry))
		return emu_load_fail(err, EMU_LOAD_ENTRY_OUTSIDE, ENOEXEC, "entry point 0x%llx is not inside a loaded segment",
				 (unsigned long long)img->entry);
	return 0;
}

int emu_load_parse_raw(size_t len, uint64_t load_addr, uint64_t entry, uint64_t ram_size,
		       struct emu_load_image *img, struct emu_load_error *err)
{
	struct emu_load_segment s = { .offset = 0, .filesz = len, .addr = load_addr, .memsz = len };
	int e;

	memset(img, 0, sizeof(*img));
	memset(err, 0, sizeof(*err));
	if (len == 0)
		return emu_load_fail(err, EMU_LOAD_EMPTY, ENOEXEC, "the image is empty");
	img->format = EMU_IMAGE_RAW;
	e = load_add_segment(img, &s, len, UINT32_MAX, ram_size, err);
	if (e)
		return e;
	img->entry = entry;
	if (entry > UINT32_MAX || !load_entry_is_inside(img, entry))
		return emu_load_fail(err, EMU_LOAD_ENTRY_OUTSIDE, ENOEXEC,
				 "entry point 0x%llx is not inside the loaded image [0x%llx, 0x%llx)",
				 (unsigned long long)entry, (unsigned long long)load_addr,
				 (unsigned long long)(load_addr + len));
	return 0;
}
