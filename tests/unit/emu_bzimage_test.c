/* SPDX-License-Identifier: MIT */
/*
 * The Linux bzImage loader on synthetic images built here (a setup header like Debian's 6.1
 * kernel's: protocol 2.15, relocatable, XLF_KERNEL_64): the good path with every boot_params
 * field the kernel reads checked in the RAM buffer, then each bad header with its exact code.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tests/testutil.h"
#include "emu/loader/loader.h"

#define MiB (1ull << 20)
#define RAM (128 * MiB)
#define SETUP_SECTS 3
#define KERNEL_BYTES 0x4000		/* syssize 0x400 paragraphs */
#define IMG_LEN ((SETUP_SECTS + 1) * 512 + KERNEL_BYTES)

static uint8_t img[IMG_LEN];
static size_t img_len;
static uint8_t *ram;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A protocol-2.15 bzImage: 3 setup sectors, a 16 KiB "kernel" whose bytes count up. */
static void mk_bzimage(void)
{
	memset(img, 0, sizeof(img));
	img_len = IMG_LEN;
	img[0x1f1] = SETUP_SECTS;
	put32(img + 0x1f4, KERNEL_BYTES / 16);	/* syssize */
	put16(img + 0x1fa, 0xfffd);		/* vid_mode: the loader sets 0xffff */
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;			/* header ends at 0x26c */
	put32(img + 0x202, EMU_BZ_MAGIC);
	put16(img + 0x206, 0x020f);
	img[0x211] = 0x01;			/* LOADED_HIGH */
	put32(img + 0x214, 0x100000);
	put32(img + 0x22c, 0x7fffffff);		/* initrd_addr_max */
	put32(img + 0x230, 0x200000);		/* kernel_alignment */
	img[0x234] = 1;				/* relocatable */
	put16(img + 0x236, 0x7f);		/* xloadflags, XLF_KERNEL_64 among them */
	put32(img + 0x238, 2047);		/* cmdline_size */
	put64(img + 0x258, 0x1000000);		/* pref_address */
	put32(img + 0x260, 0x800000);		/* init_size: 8 MiB */
	for (size_t i = (SETUP_SECTS + 1) * 512; i < IMG_LEN; i++)
		img[i] = (uint8_t)i;
}

static int setup(void **state)
{
	ram = calloc(1, RAM);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

static void assert_parse_fails(size_t len, uint64_t ram_size, enum emu_load_code code)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	int e = emu_load_parse_bzimage(img, len, ram_size, &bz, &err);

	if (e == 0 || err.code != code)
		fail_msg("want %s, got %d %s (%s)", emu_load_code_name(code), e, emu_load_code_name(err.code), err.message);
	assert_true(err.message[0] != '\0');
}

static void test_detect(void **state)
{
	mk_bzimage();
	assert_true(emu_load_is_bzimage(img, img_len));
	assert_false(emu_load_is_bzimage(img, 0x205));
	img[0x202] = 'h';
	assert_false(emu_load_is_bzimage(img, img_len));
}

static void test_parse_good(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;

	mk_bzimage();
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.setup_size, 4 * 512);
	assert_int_equal(bz.kernel_size, KERNEL_BYTES);
	assert_int_equal(bz.load_addr, 0x100000);
	assert_true(bz.entry64);
	assert_int_equal(bz.entry, 0x100200);
	assert_int_equal(bz.end, 0x1000000 + 0x800000);	/* runs at pref_address for init_size */
	assert_int_equal(bz.cmdline_size, 2047);
}

static void test_zero_setup_sects_means_four(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;

	mk_bzimage();
	img[0x1f1] = 0;
	put32(img + 0x1f4, (KERNEL_BYTES - 512) / 16);
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(bz.setup_size, 5 * 512);
}

static void test_32bit_entry_without_xlf_kernel_64(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;

	mk_bzimage();
	put16(img + 0x236, 0);
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_false(bz.entry64);
	assert_int_equal(bz.entry, 0x100000);
}

static void test_load_good(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	struct emu_linux_layout lay;
	static const uint8_t initrd[5000] = { 1, 2, 3 };
	struct emu_linux_options o = { .cmdline = "console=ttyS0 panic=-1", .initrd = initrd, .initrd_size = sizeof(initrd) };
	const uint8_t *bp = ram + EMU_BZ_BOOT_PARAMS_ADDR;

	mk_bzimage();
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(emu_load_bzimage_ram(&bz, img, img_len, &o, ram, RAM, &lay, &err), 0);
	assert_memory_equal(ram + 0x100000, img + 4 * 512, KERNEL_BYTES);
	/* initrd: page aligned, as high as RAM allows */
	assert_int_equal(lay.initrd, (RAM - sizeof(initrd)) & ~0xfffull);
	assert_memory_equal(ram + lay.initrd, initrd, sizeof(initrd));
	assert_int_equal(get32(bp + 0x218), lay.initrd);
	assert_int_equal(get32(bp + 0x21c), sizeof(initrd));
	/* command line */
	assert_int_equal(get32(bp + 0x228), EMU_BZ_CMDLINE_ADDR);
	assert_string_equal((const char *)ram + EMU_BZ_CMDLINE_ADDR, "console=ttyS0 panic=-1");
	/* the setup header copied, then the loader's fields */
	assert_int_equal(get32(bp + 0x202), EMU_BZ_MAGIC);
	assert_int_equal(get16(bp + 0x206), 0x020f);
	assert_int_equal(get32(bp + 0x260), 0x800000);
	assert_int_equal(bp[0x210], 0xff);			/* type_of_loader */
	assert_int_equal(bp[0x211], 0x81);			/* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(get16(bp + 0x1fa), 0xffff);		/* vid_mode */
	assert_int_equal(get16(bp + 0x224), 0xfe00 - 0x200);	/* heap_end_ptr */
	assert_int_equal(bp[0x1ef], 0);				/* sentinel */
	/* e820: low RAM, the 0x9fc00-0x100000 hole, RAM from 1 MiB */
	assert_int_equal(bp[0x1e8], 3);
	assert_int_equal(get64(bp + 0x2d0), 0);
	assert_int_equal(get64(bp + 0x2d8), 0x9fc00);
	assert_int_equal(get32(bp + 0x2e0), 1);
	assert_int_equal(get64(bp + 0x2e4), 0x9fc00);
	assert_int_equal(get64(bp + 0x2ec), 0x100000 - 0x9fc00);
	assert_int_equal(get32(bp + 0x2f4), 2);
	assert_int_equal(get64(bp + 0x2f8), 0x100000);
	assert_int_equal(get64(bp + 0x300), RAM - 0x100000);
	assert_int_equal(get32(bp + 0x308), 1);
}

static void test_page_tables_and_gdt(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	struct emu_linux_layout lay;

	mk_bzimage();
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(emu_load_bzimage_ram(&bz, img, img_len, NULL, ram, RAM, &lay, &err), 0);
	assert_int_equal(lay.cr3, EMU_BZ_PML4_ADDR);
	assert_int_equal(lay.initrd_size, 0);
	/* walk a few addresses through PML4 -> PDPT -> PD (2 MiB pages): identity */
	for (uint64_t va = 0; va < (4ull << 30); va += 0x3f654321) {
		uint64_t pml4e = get64(ram + EMU_BZ_PML4_ADDR + ((va >> 39) & 511) * 8);
		uint64_t pdpte = get64(ram + (pml4e & ~0xfffull) + ((va >> 30) & 511) * 8);
		uint64_t pde = get64(ram + (pdpte & ~0xfffull) + ((va >> 21) & 511) * 8);
		assert_true(pml4e & pdpte & pde & 1);
		assert_true(pde & 0x80);
		assert_int_equal((pde & ~0x1fffffull & ((1ull << 52) - 1)) | (va & 0x1fffff), va);
	}
	/* __BOOT_CS 0x10: 64-bit code; __BOOT_DS 0x18: flat data */
	assert_int_equal(get64(ram + EMU_BZ_GDT_ADDR + 0x10), 0x00af9b000000ffffull);
	assert_int_equal(get64(ram + EMU_BZ_GDT_ADDR + 0x18), 0x00cf93000000ffffull);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The MP table Linux scans for in the last KiB of base memory: both checksums, one enabled boot
 * CPU, an ISA bus, the I/O APIC, IRQ 0 on pin 2 and 1..15 (not 2) on their own pins. */
static void test_mp_table(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	struct emu_linux_layout lay;
	const uint8_t *fp = ram + 0x9fc00, *t, *e;
	unsigned cpus = 0, buses = 0, ioapics = 0, irq_pin[16], n;

	mk_bzimage();
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(emu_load_bzimage_ram(&bz, img, img_len, NULL, ram, RAM, &lay, &err), 0);
	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(sum8(fp, 16), 0);
	t = ram + get32(fp + 4);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(sum8(t, get32(t + 4) & 0xffff), 0);
	assert_int_equal(get32(t + 36), 0xfee00000);
	memset(irq_pin, 0xff, sizeof(irq_pin));
	n = get32(t + 34) & 0xffff;
	e = t + 44;
	for (unsigned i = 0; i < n; i++) {
		switch (e[0]) {
		case 0: cpus++; assert_int_equal(e[3], 3); e += 20; break;	/* enabled, BSP */
		case 1: buses++; assert_memory_equal(e + 2, "ISA   ", 6); e += 8; break;
		case 2: ioapics++; assert_int_equal(get32(e + 4), 0xfec00000); e += 8; break;
		case 3: if (e[1] == 0 && e[5] < 16) irq_pin[e[5]] = e[7]; e += 8; break;
		case 4: e += 8; break;
		default: fail_msg("MP entry type %u", e[0]);
		}
	}
	assert_int_equal(e - t, get32(t + 4) & 0xffff);
	assert_int_equal(cpus, 1);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(irq_pin[0], 2);
	for (unsigned irq = 1; irq < 16; irq++)
		if (irq != 2)
			assert_int_equal(irq_pin[irq], irq);
}

static void test_not_bzimage(void **state)
{
	mk_bzimage();
	put32(img + 0x202, 0x12345678);
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_NOT_BZIMAGE);
	mk_bzimage();
	put16(img + 0x1fe, 0);
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_NOT_BZIMAGE);
	assert_parse_fails(0, RAM, EMU_LOAD_EMPTY);
}

static void test_truncated(void **state)
{
	mk_bzimage();
	assert_parse_fails(img_len - 1, RAM, EMU_LOAD_BZ_TRUNCATED);	/* short of syssize */
	assert_parse_fails(0x240, RAM, EMU_LOAD_BZ_TRUNCATED);		/* inside the header */
	put32(img + 0x1f4, 0);
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_TRUNCATED);	/* syssize 0 */
	mk_bzimage();
	img[0x1f1] = 200;						/* setup sectors past EOF */
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_TRUNCATED);
}

/* Just the magic, nothing after it: an exact-size buffer, so ASan sees any read past it. */
static void test_ends_after_magic(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	uint8_t *b;

	mk_bzimage();
	b = malloc(0x206);
	assert_non_null(b);
	memcpy(b, img, 0x206);
	assert_true(emu_load_is_bzimage(b, 0x206));
	assert_int_equal(emu_load_parse_bzimage(b, 0x206, RAM, &bz, &err), -ENOEXEC);
	assert_int_equal(err.code, EMU_LOAD_BZ_TRUNCATED);
	free(b);
}

static void test_too_old(void **state)
{
	mk_bzimage();
	put16(img + 0x206, 0x0205);
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_TOO_OLD);
	put16(img + 0x206, 0x0100);
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_TOO_OLD);
}

static void test_zimage(void **state)
{
	mk_bzimage();
	img[0x211] = 0;
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_NOT_HIGH);
}

static void test_bad_header(void **state)
{
	mk_bzimage();
	put32(img + 0x230, 0x300000);	/* alignment not a power of two */
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_BAD_HEADER);
	mk_bzimage();
	put64(img + 0x258, 0xffffffffffff0000ull);	/* pref_address absurd */
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_BAD_HEADER);
}

static void test_no_room(void **state)
{
	mk_bzimage();
	assert_parse_fails(img_len, 24 * MiB - 4096, EMU_LOAD_BZ_NO_ROOM);	/* needs up to 24 MiB */
	put32(img + 0x260, 0xf0000000);	/* init_size 3.75 GiB */
	assert_parse_fails(img_len, RAM, EMU_LOAD_BZ_NO_ROOM);
}

static void test_initrd_errors(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	uint64_t at;

	mk_bzimage();
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(emu_load_place_initrd(&bz, RAM + 1, RAM, &at, &err), -EFBIG);
	assert_int_equal(err.code, EMU_LOAD_BZ_INITRD_TOO_BIG);
	assert_non_null(strstr(err.message, "larger than guest RAM"));
	/* fits in RAM but not above the kernel's end (24 MiB) */
	assert_int_equal(emu_load_place_initrd(&bz, RAM - 20 * MiB, RAM, &at, &err), -ENOSPC);
	assert_int_equal(err.code, EMU_LOAD_BZ_INITRD_TOO_BIG);
	/* initrd_addr_max below the kernel: nowhere to go */
	bz.initrd_addr_max = 0xffffff;
	assert_int_equal(emu_load_place_initrd(&bz, 4096, RAM, &at, &err), -ENOSPC);
	bz.initrd_addr_max = 0x3ffffff;	/* 64 MiB: placed below it, not at the top of RAM */
	assert_int_equal(emu_load_place_initrd(&bz, 8192, RAM, &at, &err), 0);
	assert_int_equal(at, 0x4000000 - 8192);
	bz.initrd_addr_max = 0xfff;
	assert_int_equal(emu_load_place_initrd(&bz, 8192, RAM, &at, &err), -EFBIG);
	assert_non_null(strstr(err.message, "initrd_addr_max"));
}

static void test_cmdline_too_long(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	struct emu_linux_layout lay;
	char line[64];
	struct emu_linux_options o = { .cmdline = line };

	mk_bzimage();
	put32(img + 0x238, 10);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(emu_load_parse_bzimage(img, img_len, RAM, &bz, &err), 0);
	assert_int_equal(emu_load_bzimage_ram(&bz, img, img_len, &o, ram, RAM, &lay, &err), -E2BIG);
	assert_int_equal(err.code, EMU_LOAD_BZ_CMDLINE);
	line[10] = '\0';
	assert_int_equal(emu_load_bzimage_ram(&bz, img, img_len, &o, ram, RAM, &lay, &err), 0);
}

/* Hostile headers: random bytes over the setup header fields and random lengths never crash
 * (ASan in make check-sanitize), and what parses also loads or fails with a code. */
static void test_random_headers(void **state)
{
	struct emu_bzimage bz;
	struct emu_load_error err;
	struct emu_linux_layout lay;
	static const uint8_t initrd[300];
	struct emu_linux_options o = { .cmdline = "x", .initrd = initrd, .initrd_size = sizeof(initrd) };
	unsigned seed = 12345;

	for (int i = 0; i < 3000; i++) {
		size_t len;
		mk_bzimage();
		for (int k = 0; k < 6; k++)
			img[0x1f1 + rand_r(&seed) % (0x270 - 0x1f1)] = (uint8_t)rand_r(&seed);
		if (i % 3 == 0)
			put32(img + 0x202, EMU_BZ_MAGIC);
		len = (i % 5 == 0) ? (size_t)rand_r(&seed) % IMG_LEN : IMG_LEN;
		if (emu_load_parse_bzimage(img, len, RAM, &bz, &err) == 0) {
			int e = emu_load_bzimage_ram(&bz, img, len, &o, ram, RAM, &lay, &err);
			assert_true(e == 0 || err.code != EMU_LOAD_OK);
		} else {
			assert_int_not_equal(err.code, EMU_LOAD_OK);
		}
	}
}

static void test_code_names(void **state)
{
	for (int c = EMU_LOAD_BZ_NOT_BZIMAGE; c <= EMU_LOAD_BZ_INITRD_TOO_BIG; c++)
		assert_string_not_equal(emu_load_code_name(c), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_zero_setup_sects_means_four),
		cmocka_unit_test(test_32bit_entry_without_xlf_kernel_64),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_page_tables_and_gdt),
		cmocka_unit_test(test_mp_table),
		cmocka_unit_test(test_not_bzimage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_ends_after_magic),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_zimage),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_no_room),
		cmocka_unit_test(test_initrd_errors),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_random_headers),
		cmocka_unit_test(test_code_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
