/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot v1 / raw loader on byte buffers built here: good ELF32, ELF64 and a.out-kludge
 * images, then every hostile header with the exact error code it must produce.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/testutil.h"
#include "emu/loader/loader.h"

#define RAM (16u << 20)
#define IMG_MAX 0x4000
#define MB_OFF 0x800		/* where the test images keep their Multiboot header */

struct img {
	uint8_t b[IMG_MAX];
	size_t len;
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void mb_header(struct img *im, size_t off, uint32_t flags)
{
	put32(im->b + off, EMU_MB_MAGIC);
	put32(im->b + off + 4, flags);
	put32(im->b + off + 8, (uint32_t)-(EMU_MB_MAGIC + flags));
}

/* a.out kludge: the file is loaded from offset 0 at 1 MiB; header at MB_OFF. */
static void mk_aout(struct img *im, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	memset(im, 0, sizeof(*im));
	im->len = 0x1000;
	mb_header(im, MB_OFF, 0x00010003);
	put32(im->b + MB_OFF + 12, 0x100000 + MB_OFF);	/* header_addr */
	put32(im->b + MB_OFF + 16, 0x100000);		/* load_addr */
	put32(im->b + MB_OFF + 20, load_end);
	put32(im->b + MB_OFF + 24, bss_end);
	put32(im->b + MB_OFF + 28, entry);
}

/* ELF32 with nph program headers (all PT_LOAD at 1 MiB + i * 64 KiB unless changed). */
static Elf32_Phdr *mk_elf32(struct img *im, unsigned nph)
{
	Elf32_Ehdr *e = (Elf32_Ehdr *)im->b;
	Elf32_Phdr *ph = (Elf32_Phdr *)(im->b + sizeof(*e));

	memset(im, 0, sizeof(*im));
	im->len = 0x2000;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS32;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_386;
	e->e_version = EV_CURRENT;
	e->e_entry = 0x100010;
	e->e_phoff = sizeof(*e);
	e->e_phentsize = sizeof(*ph);
	e->e_phnum = (uint16_t)nph;
	for (unsigned i = 0; i < nph; i++)
		ph[i] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0x100000 + i * 0x10000,
				      .p_paddr = 0x100000 + i * 0x10000, .p_filesz = 0x100, .p_memsz = 0x2000 };
	mb_header(im, MB_OFF, 0x3);
	memset(im->b + 0x1000, 0x90, 0x100);
	return ph;
}

/* ELF64 linked high (vaddr 0xffffffff80100000) and loaded at 1 MiB: entry is translated. */
static Elf64_Phdr *mk_elf64(struct img *im, unsigned nph)
{
	Elf64_Ehdr *e = (Elf64_Ehdr *)im->b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(im->b + sizeof(*e));

	memset(im, 0, sizeof(*im));
	im->len = 0x2000;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = 0xffffffff80100020ull;
	e->e_phoff = sizeof(*e);
	e->e_phentsize = sizeof(*ph);
	e->e_phnum = (uint16_t)nph;
	for (unsigned i = 0; i < nph; i++)
		ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0xffffffff80100000ull + i * 0x10000,
				      .p_paddr = 0x100000 + i * 0x10000, .p_filesz = 0x100, .p_memsz = 0x3000 };
	mb_header(im, MB_OFF, 0x3);
	return ph;
}

static struct img im;
static struct emu_load_image li;
static struct emu_load_error le;

static int parse(void)
{
	return emu_load_parse_multiboot(im.b, im.len, RAM, &li, &le);
}

#define assert_load_fails(code_) do {                                                        \
		int r_ = parse();                                                            \
		if (le.code != (code_))                                                      \
			fail_msg("got %s (%s), want %s", emu_load_code_name(le.code), le.message, \
				 emu_load_code_name(code_));                                 \
		assert_true(r_ < 0);                                                         \
		assert_true(le.message[0] != '\0');                                          \
	} while (0)

/* ---- good images ---- */

static void test_elf32_good(void **state)
{
	mk_elf32(&im, 2);
	assert_int_equal(parse(), 0);
	assert_int_equal(li.format, EMU_IMAGE_ELF32);
	assert_int_equal(li.nr_segments, 2);
	assert_int_equal(li.entry, 0x100010);
	assert_int_equal(li.seg[1].addr, 0x110000);
	assert_int_equal(li.end, 0x112000);
}

static void test_elf64_good_entry_translated(void **state)
{
	mk_elf64(&im, 1);
	assert_int_equal(parse(), 0);
	assert_int_equal(li.format, EMU_IMAGE_ELF64);
	assert_int_equal(li.entry, 0x100020);
	assert_int_equal(li.seg[0].memsz, 0x3000);
}

static void test_elf_non_load_segments_ignored(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 3);

	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = 0xfffffff0;	/* nonsense, but not loaded */
	ph[2].p_memsz = 0;		/* empty PT_LOAD: nothing to load */
	assert_int_equal(parse(), 0);
	assert_int_equal(li.nr_segments, 1);
}

static void test_aout_good(void **state)
{
	mk_aout(&im, 0x100800, 0x104000, 0x100300);
	assert_int_equal(parse(), 0);
	assert_int_equal(li.format, EMU_IMAGE_AOUT_KLUDGE);
	assert_int_equal(li.seg[0].offset, 0);
	assert_int_equal(li.seg[0].filesz, 0x800);
	assert_int_equal(li.seg[0].memsz, 0x4000);
	assert_int_equal(li.entry, 0x100300);
}

static void test_aout_load_to_eof_no_bss(void **state)
{
	mk_aout(&im, 0, 0, 0x100300);
	assert_int_equal(parse(), 0);
	assert_int_equal(li.seg[0].filesz, im.len);
	assert_int_equal(li.seg[0].memsz, im.len);
}

static void test_aout_preferred_over_elf(void **state)
{
	/* An ELF file with bit 16 set: the a.out fields win, as the specification says. */
	mk_elf32(&im, 1);
	mb_header(&im, MB_OFF, 0x00010003);
	put32(im.b + MB_OFF + 12, 0x200000 + MB_OFF);
	put32(im.b + MB_OFF + 16, 0x200000);
	put32(im.b + MB_OFF + 20, 0x201000);
	put32(im.b + MB_OFF + 24, 0x201000);
	put32(im.b + MB_OFF + 28, 0x200400);
	assert_int_equal(parse(), 0);
	assert_int_equal(li.format, EMU_IMAGE_AOUT_KLUDGE);
	assert_int_equal(li.seg[0].addr, 0x200000);
}

static void test_copy_and_mbi(void **state)
{
	uint8_t *ram = calloc(1, RAM);
	const char mod_data[] = "module bytes";
	struct emu_load_module mod = { mod_data, sizeof(mod_data), "initrd.img arg" };
	struct emu_boot_options opts = { "kernel.elf iters=5", &mod, 1 };
	uint64_t mbi;
	uint8_t *m;

	assert_non_null(ram);
	mk_elf32(&im, 1);
	memset(ram + 0x100100, 0xaa, 0x1f00);	/* bss must come back zeroed */
	assert_int_equal(parse(), 0);
	assert_int_equal(emu_load_copy(&li, im.b, im.len, ram, RAM, &le), 0);
	assert_int_equal(ram[0x100000], 0x90);
	assert_int_equal(ram[0x100100], 0);
	assert_int_equal(ram[0x101fff], 0);
	assert_int_equal(emu_load_build_mbi(&li, &opts, ram, RAM, &mbi, &le), 0);
	assert_true(mbi >= li.end && mbi % 4096 == 0);
	m = ram + mbi;
	assert_int_equal(get32(m) & 0x24d, 0x24d);	/* mem, cmdline, mods, mmap, loader name */
	assert_int_equal(get32(m + 4), 639);
	assert_int_equal(get32(m + 8), (RAM >> 10) - 1024);
	assert_string_equal((char *)ram + get32(m + 16), "kernel.elf iters=5");
	assert_string_equal((char *)ram + get32(m + 64), "vmscope");
	assert_int_equal(get32(m + 20), 1);
	{
		const uint8_t *ml = ram + get32(m + 24);
		assert_int_equal(get32(ml) % 4096, 0);
		assert_int_equal(get32(ml + 4) - get32(ml), sizeof(mod_data));
		assert_memory_equal(ram + get32(ml), mod_data, sizeof(mod_data));
		assert_string_equal((char *)ram + get32(ml + 8), "initrd.img arg");
	}
	{
		const uint8_t *mm = ram + get32(m + 48);
		uint64_t base, len;
		assert_int_equal(get32(m + 44), 3 * 24);
		memcpy(&base, mm + 2 * 24 + 4, 8);
		memcpy(&len, mm + 2 * 24 + 12, 8);
		assert_int_equal(base, 0x100000);
		assert_int_equal(base + len, RAM);
		assert_int_equal(get32(mm + 24 + 20), 2);	/* the legacy hole is reserved */
	}
	free(ram);
}

static void test_mbi_no_room(void **state)
{
	uint8_t *ram = calloc(1, 0x102000);
	uint64_t mbi;

	assert_non_null(ram);
	mk_elf32(&im, 1);	/* ends at 0x102000: nothing left above it in a 0x102000-byte RAM */
	assert_int_equal(emu_load_parse_multiboot(im.b, im.len, 0x102000, &li, &le), 0);
	assert_int_equal(emu_load_build_mbi(&li, NULL, ram, 0x102000, &mbi, &le), -ENOSPC);
	assert_int_equal(le.code, EMU_LOAD_NO_ROOM);
	free(ram);
}

static void test_raw(void **state)
{
	assert_int_equal(emu_load_parse_raw(0x100, 0x7c00, 0x7c10, RAM, &li, &le), 0);
	assert_int_equal(li.format, EMU_IMAGE_RAW);
	assert_int_equal(li.seg[0].addr, 0x7c00);
	assert_true(emu_load_parse_raw(0x100, 0x7c00, 0x7d00, RAM, &li, &le) < 0);
	assert_int_equal(le.code, EMU_LOAD_ENTRY_OUTSIDE);
	assert_true(emu_load_parse_raw(0x100, RAM - 0x80, RAM - 0x80, RAM, &li, &le) < 0);
	assert_int_equal(le.code, EMU_LOAD_SEG_OUTSIDE_RAM);
	assert_true(emu_load_parse_raw(0, 0x7c00, 0x7c00, RAM, &li, &le) < 0);
	assert_int_equal(le.code, EMU_LOAD_EMPTY);
	assert_true(emu_load_parse_raw(0x100, 0xffffff80, 0xffffff80, UINT64_MAX, &li, &le) < 0);
	assert_int_equal(le.code, EMU_LOAD_SEG_WRAP);
}

/* ---- hostile headers ---- */

static void test_empty(void **state)
{
	im.len = 0;
	assert_load_fails(EMU_LOAD_EMPTY);
}

static void test_no_header(void **state)
{
	memset(&im, 0x5a, sizeof(im));
	im.len = sizeof(im.b);
	assert_load_fails(EMU_LOAD_NOT_MULTIBOOT);
}

static void test_header_beyond_8k_not_found(void **state)
{
	memset(&im, 0, sizeof(im));
	im.len = 0x3000;
	mb_header(&im, 0x2000, 0x3);	/* offset 8 KiB: outside the search area */
	assert_load_fails(EMU_LOAD_NOT_MULTIBOOT);
}

static void test_header_truncated(void **state)
{
	mk_aout(&im, 0, 0, 0x100300);
	im.len = MB_OFF + 8;		/* magic and flags, no checksum */
	assert_load_fails(EMU_LOAD_HDR_TRUNCATED);
	mk_aout(&im, 0, 0, 0x100300);
	im.len = MB_OFF + 20;		/* checksum, but address fields cut */
	assert_load_fails(EMU_LOAD_HDR_TRUNCATED);
}

static void test_bad_checksum(void **state)
{
	mk_aout(&im, 0, 0, 0x100300);
	put32(im.b + MB_OFF + 8, 0);
	assert_load_fails(EMU_LOAD_BAD_CHECKSUM);
}

static void test_unsupported_flags(void **state)
{
	mk_elf32(&im, 1);
	mb_header(&im, MB_OFF, 0x3 | (1u << 5));
	assert_load_fails(EMU_LOAD_UNSUPPORTED_FLAGS);
}

static void test_not_elf(void **state)
{
	mk_elf32(&im, 1);
	im.b[1] = 'X';
	assert_load_fails(EMU_LOAD_NOT_ELF);
}

static void test_elf_truncated(void **state)
{
	mk_elf64(&im, 1);
	mb_header(&im, 0x20, 0x3);	/* the header search succeeds inside the ELF header */
	im.len = 0x30;
	assert_load_fails(EMU_LOAD_ELF_TRUNCATED);
}

static void test_elf_unsupported(void **state)
{
	mk_elf32(&im, 1);
	im.b[EI_DATA] = ELFDATA2MSB;
	assert_load_fails(EMU_LOAD_ELF_UNSUPPORTED);
	mk_elf32(&im, 1);
	((Elf32_Ehdr *)im.b)->e_machine = EM_ARM;
	assert_load_fails(EMU_LOAD_ELF_UNSUPPORTED);
	mk_elf64(&im, 1);
	((Elf64_Ehdr *)im.b)->e_type = ET_DYN;
	assert_load_fails(EMU_LOAD_ELF_UNSUPPORTED);
	mk_elf32(&im, 1);
	im.b[EI_CLASS] = 7;
	assert_load_fails(EMU_LOAD_ELF_UNSUPPORTED);
}

static void test_phdrs_outside(void **state)
{
	mk_elf32(&im, 1);
	((Elf32_Ehdr *)im.b)->e_phoff = 0x1ff0;	/* one header does not fit before EOF */
	assert_load_fails(EMU_LOAD_PHDRS_OUTSIDE);
	mk_elf64(&im, 1);
	((Elf64_Ehdr *)im.b)->e_phoff = UINT64_MAX - 8;	/* wraps */
	assert_load_fails(EMU_LOAD_PHDRS_OUTSIDE);
	mk_elf64(&im, 1);
	((Elf64_Ehdr *)im.b)->e_phnum = 0xffff;		/* huge count */
	assert_load_fails(EMU_LOAD_PHDRS_OUTSIDE);
	mk_elf32(&im, 1);
	((Elf32_Ehdr *)im.b)->e_phentsize = 8;
	assert_load_fails(EMU_LOAD_PHDRS_OUTSIDE);
}

static void test_too_many_segments(void **state)
{
	mk_elf32(&im, EMU_LOAD_MAX_SEGMENTS + 1);
	assert_load_fails(EMU_LOAD_TOO_MANY_SEGMENTS);
}

static void test_no_segments(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 1);

	ph[0].p_type = PT_NOTE;
	assert_load_fails(EMU_LOAD_NO_SEGMENTS);
	mk_elf32(&im, 0);
	assert_load_fails(EMU_LOAD_NO_SEGMENTS);
}

static void test_segment_past_eof(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 1);
	Elf64_Phdr *ph64;

	ph[0].p_offset = 0x1f80;	/* 0x100 bytes from 0x1f80 run past 0x2000 */
	assert_load_fails(EMU_LOAD_SEG_PAST_EOF);
	ph64 = mk_elf64(&im, 1);
	ph64[0].p_offset = UINT64_MAX - 0x10;	/* offset + size wraps */
	assert_load_fails(EMU_LOAD_SEG_PAST_EOF);
}

static void test_segment_filesz(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 1);

	ph[0].p_filesz = 0x3000;
	assert_load_fails(EMU_LOAD_SEG_FILESZ);
}

static void test_segment_wraps(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 1);
	Elf64_Phdr *ph64;

	ph[0].p_paddr = 0xfffff000;	/* + 0x2000 wraps 2^32 */
	assert_load_fails(EMU_LOAD_SEG_WRAP);
	ph64 = mk_elf64(&im, 1);
	ph64[0].p_paddr = 0xfffffffffffff000ull;	/* + 0x3000 wraps 2^64 */
	assert_load_fails(EMU_LOAD_SEG_WRAP);
	mk_aout(&im, 0, 0xfffffff0, 0x100300);	/* bss to just below 4 GiB: fits 32 bits, not RAM */
	assert_load_fails(EMU_LOAD_SEG_OUTSIDE_RAM);
}

static void test_segment_outside_ram(void **state)
{
	Elf32_Phdr *ph = mk_elf32(&im, 1);

	ph[0].p_paddr = RAM - 0x1000;	/* starts inside, ends 4 KiB past the end */
	assert_load_fails(EMU_LOAD_SEG_OUTSIDE_RAM);
	ph[0].p_paddr = 0x80000000;
	assert_load_fails(EMU_LOAD_SEG_OUTSIDE_RAM);
}

static void test_segment_overlap(void **state)
{
	Elf64_Phdr *ph = mk_elf64(&im, 2);

	ph[1].p_paddr = 0x102fff;	/* one byte into segment 0 */
	assert_load_fails(EMU_LOAD_SEG_OVERLAP);
	ph[1].p_paddr = 0x103000;	/* adjacent is fine */
	assert_int_equal(parse(), 0);
}

static void test_entry_outside(void **state)
{
	Elf32_Ehdr *e;

	mk_elf32(&im, 1);
	e = (Elf32_Ehdr *)im.b;
	e->e_entry = 0x200000;
	assert_load_fails(EMU_LOAD_ENTRY_OUTSIDE);
	mk_aout(&im, 0x100800, 0x104000, 0x104000);	/* one past bss end */
	assert_load_fails(EMU_LOAD_ENTRY_OUTSIDE);
}

static void test_aout_bad(void **state)
{
	mk_aout(&im, 0, 0, 0x100300);
	put32(im.b + MB_OFF + 16, 0x100000 + MB_OFF + 4);	/* load_addr above header_addr */
	assert_load_fails(EMU_LOAD_AOUT_BAD);
	mk_aout(&im, 0, 0, 0x100300);
	put32(im.b + MB_OFF + 12, 0x100000 + MB_OFF + 0x1000);	/* image would start before the file */
	assert_load_fails(EMU_LOAD_AOUT_BAD);
	mk_aout(&im, 0x100000, 0, 0x100300);	/* load_end == load_addr */
	assert_load_fails(EMU_LOAD_AOUT_BAD);
	mk_aout(&im, 0x100800, 0x100400, 0x100300);	/* bss_end below load_end */
	assert_load_fails(EMU_LOAD_AOUT_BAD);
	mk_aout(&im, 0x108000, 0, 0x100300);	/* load_end past EOF */
	assert_load_fails(EMU_LOAD_SEG_PAST_EOF);
}

static void test_code_names_complete(void **state)
{
	for (int c = EMU_LOAD_OK; c <= EMU_LOAD_RAW_BAD; c++)
		assert_string_not_equal(emu_load_code_name(c), "unknown");
	assert_string_equal(emu_load_code_name(9999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32_good),
		cmocka_unit_test(test_elf64_good_entry_translated),
		cmocka_unit_test(test_elf_non_load_segments_ignored),
		cmocka_unit_test(test_aout_good),
		cmocka_unit_test(test_aout_load_to_eof_no_bss),
		cmocka_unit_test(test_aout_preferred_over_elf),
		cmocka_unit_test(test_copy_and_mbi),
		cmocka_unit_test(test_mbi_no_room),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_header_beyond_8k_not_found),
		cmocka_unit_test(test_header_truncated),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_unsupported_flags),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_elf_truncated),
		cmocka_unit_test(test_elf_unsupported),
		cmocka_unit_test(test_phdrs_outside),
		cmocka_unit_test(test_too_many_segments),
		cmocka_unit_test(test_no_segments),
		cmocka_unit_test(test_segment_past_eof),
		cmocka_unit_test(test_segment_filesz),
		cmocka_unit_test(test_segment_wraps),
		cmocka_unit_test(test_segment_outside_ram),
		cmocka_unit_test(test_segment_overlap),
		cmocka_unit_test(test_entry_outside),
		cmocka_unit_test(test_aout_bad),
		cmocka_unit_test(test_code_names_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
