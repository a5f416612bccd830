/* SPDX-License-Identifier: MIT */
/*
 * The page-table walker on page tables built here in a RAM buffer: every paging mode, large
 * pages, faults with their exact error codes, reserved bits, and Accessed/Dirty updates.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/testutil.h"
#include "emu/paging.h"

#define RAM (8u << 20)

#define P 1ull
#define RW 2ull
#define US 4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define NX (1ull << 63)

#define CR0_PE 1ull
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_SMEP (1ull << 20)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static uint8_t *ram;

static int ram_read(void *opaque, uint64_t gpa, void *buf, unsigned len)
{
	if (gpa >= RAM || len > RAM - gpa)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static int ram_write(void *opaque, uint64_t gpa, const void *buf, unsigned len)
{
	if (gpa >= RAM || len > RAM - gpa)
		return -EFAULT;
	memcpy(ram + gpa, buf, len);
	return 0;
}

static const struct emu_phys_access phys = { ram_read, ram_write, NULL };

static void set64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, ram + gpa, 8); return v; }
static void set32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, ram + gpa, 4); return v; }

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

/* 4-level tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
static const struct emu_paging_mode mode_4l = { CR0_PE | CR0_PG | CR0_WP, 0x1000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE };

static void build_4l(uint64_t leaf_flags)
{
	memset(ram, 0, 0x10000);
	set64(0x1000, 0x2000 | P | RW | US);
	set64(0x2000, 0x3000 | P | RW | US);
	set64(0x3000, 0x4000 | P | RW | US);
	set64(0x4000 + 5 * 8, 0x123000 | leaf_flags);	/* va 0x5000 -> 0x123000 */
}

static int walk(const struct emu_paging_mode *m, uint64_t va, unsigned flags, struct emu_walk *w)
{
	return emu_page_walk(m, &phys, va, flags, w);
}

static void test_no_paging(void **state)
{
	struct emu_paging_mode m = { CR0_PE, 0, 0, 0 };
	struct emu_walk w;

	assert_int_equal(walk(&m, 0x1234567, EMU_WALK_WRITE | EMU_WALK_USER, &w), 0);
	assert_int_equal(w.gpa, 0x1234567);
	assert_true(w.writable && w.user && w.executable);
	assert_int_equal(walk(&m, 0x100001234ull, 0, &w), 0);
	assert_int_equal(w.gpa, 0x1234);	/* linear addresses are 32 bits without paging */
}

static void test_4level_4k(void **state)
{
	struct emu_walk w;

	build_4l(P | RW | US);
	assert_int_equal(walk(&mode_4l, 0x5abc, 0, &w), 0);
	assert_int_equal(w.gpa, 0x123abc);
	assert_int_equal(w.page_size, 4096);
}

static void test_4level_2m_and_1g(void **state)
{
	struct emu_walk w;

	build_4l(P);
	set64(0x3000 + 1 * 8, 0x600000 | P | RW | PS);			/* va 2 MiB -> 6 MiB, 2 MiB page */
	set64(0x2000 + 1 * 8, 0x40000000ull | P | RW | PS);		/* va 1 GiB -> 1 GiB, 1 GiB page */
	assert_int_equal(walk(&mode_4l, 0x212345, 0, &w), 0);
	assert_int_equal(w.gpa, 0x612345);
	assert_int_equal(w.page_size, 2u << 20);
	assert_int_equal(walk(&mode_4l, 0x40000000ull + 0x1234567, 0, &w), 0);
	assert_int_equal(w.gpa, 0x41234567ull);
	assert_int_equal(w.page_size, 1u << 30);
}

static void test_4level_high_half(void **state)
{
	struct emu_walk w;

	build_4l(P);
	/* va 0xffff800000005000: PML4 index 256 */
	set64(0x1000 + 256 * 8, 0x2000 | P | RW);
	assert_int_equal(walk(&mode_4l, 0xffff800000005010ull, 0, &w), 0);
	assert_int_equal(w.gpa, 0x123010);
	assert_int_equal(walk(&mode_4l, 0x0000800000005010ull, 0, &w), -EINVAL);	/* non-canonical */
}

static void test_not_present_error_codes(void **state)
{
	static const struct { unsigned flags; uint32_t code; } cases[] = {
		{ 0, 0 },
		{ EMU_WALK_WRITE, EMU_PF_W },
		{ EMU_WALK_USER, EMU_PF_U },
		{ EMU_WALK_USER | EMU_WALK_WRITE, EMU_PF_U | EMU_PF_W },
		{ EMU_WALK_FETCH, EMU_PF_I },
	};
	struct emu_walk w;

	build_4l(0);	/* leaf not present */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(walk(&mode_4l, 0x5000, cases[i].flags, &w), -EFAULT);
		assert_int_equal(w.error_code, cases[i].code);
	}
	set64(0x1000, 0);	/* not present at the top level */
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_WRITE, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_W);
}

static void test_protection_faults(void **state)
{
	struct emu_paging_mode no_wp = mode_4l;
	struct emu_walk w;

	no_wp.cr0 &= ~CR0_WP;
	build_4l(P);	/* supervisor, read-only */
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_USER, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_U);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_WRITE, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_W);
	assert_int_equal(walk(&no_wp, 0x5000, EMU_WALK_WRITE, &w), 0);	/* CR0.WP=0: supervisor may write */
	build_4l(P | US);
	assert_int_equal(walk(&no_wp, 0x5000, EMU_WALK_WRITE | EMU_WALK_USER, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_W | EMU_PF_U);
	/* a read-only upper level makes the whole walk read-only */
	build_4l(P | RW | US);
	set64(0x2000, 0x3000 | P | US);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_WRITE | EMU_WALK_USER, &w), -EFAULT);
	assert_false(w.writable);
	/* the debugger's view ignores permissions */
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_WRITE | EMU_WALK_USER | EMU_WALK_NO_CHECK, &w), 0);
}

static void test_nx(void **state)
{
	struct emu_paging_mode no_nxe = mode_4l;
	struct emu_walk w;

	no_nxe.efer &= ~EFER_NXE;
	build_4l(P | RW | NX);
	assert_int_equal(walk(&mode_4l, 0x5000, 0, &w), 0);
	assert_false(w.executable);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_FETCH, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_I);
	assert_int_equal(walk(&no_nxe, 0x5000, 0, &w), -EFAULT);	/* NX set without EFER.NXE: reserved */
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_RSVD);
}

static void test_smep(void **state)
{
	struct emu_paging_mode smep = mode_4l;
	struct emu_walk w;

	smep.cr4 |= CR4_SMEP;
	build_4l(P | US);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_FETCH, &w), 0);
	assert_int_equal(walk(&smep, 0x5000, EMU_WALK_FETCH, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_I);
	assert_int_equal(walk(&smep, 0x5000, EMU_WALK_FETCH | EMU_WALK_USER, &w), 0);
}

static void test_reserved_bits(void **state)
{
	struct emu_walk w;

	build_4l(P);
	set64(0x1000, 0x2000 | P | RW | PS);	/* PS in a PML4E */
	assert_int_equal(walk(&mode_4l, 0x5000, 0, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_RSVD);
	build_4l(P);
	set64(0x3000 + 8, 0x602000 | P | PS);	/* 2 MiB page with a low address bit set */
	assert_int_equal(walk(&mode_4l, 0x200000, EMU_WALK_WRITE, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_RSVD | EMU_PF_W);
	set64(0x3000 + 8, 0x600000 | 0x1000 | P | PS);	/* bit 12 is PAT: allowed */
	assert_int_equal(walk(&mode_4l, 0x200000, 0, &w), 0);
	assert_int_equal(w.gpa, 0x600000);
}

static void test_table_outside_ram(void **state)
{
	struct emu_walk w;

	build_4l(P);
	set64(0x3000, 0x10000000ull | P | RW);	/* PT at 256 MiB: no such RAM */
	assert_int_equal(walk(&mode_4l, 0x5000, 0, &w), -EIO);
}

static void test_accessed_dirty(void **state)
{
	struct emu_walk w;

	build_4l(P | RW);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_WRITE, &w), 0);
	assert_int_equal(get64(0x4000 + 5 * 8) & (A | D), 0);	/* no SET_AD: no side effects */
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_SET_AD, &w), 0);
	assert_int_equal(get64(0x1000) & A, A);
	assert_int_equal(get64(0x2000) & A, A);
	assert_int_equal(get64(0x3000) & A, A);
	assert_int_equal(get64(0x4000 + 5 * 8) & (A | D), A);	/* read: accessed, not dirty */
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_SET_AD | EMU_WALK_WRITE, &w), 0);
	assert_int_equal(get64(0x4000 + 5 * 8) & (A | D), A | D);
	assert_int_equal(get64(0x3000) & D, 0);			/* D only in the leaf */
	/* a faulting walk changes nothing */
	build_4l(P);
	assert_int_equal(walk(&mode_4l, 0x5000, EMU_WALK_SET_AD | EMU_WALK_USER, &w), -EFAULT);
	assert_int_equal(get64(0x1000) & A, 0);
}

/* 32-bit paging: PD at 0x1000, PT at 0x2000. */
static void test_32bit(void **state)
{
	struct emu_paging_mode m = { CR0_PE | CR0_PG | CR0_WP, 0x1000, 0, 0 };
	struct emu_paging_mode pse = { CR0_PE | CR0_PG | CR0_WP, 0x1000, CR4_PSE, 0 };
	struct emu_walk w;

	memset(ram, 0, 0x10000);
	set32(0x1000, 0x2000 | P | RW);
	set32(0x2000 + 3 * 4, 0x345000 | P | RW | US);
	assert_int_equal(walk(&m, 0x3456, 0, &w), 0);
	assert_int_equal(w.gpa, 0x345456);
	assert_false(w.user);	/* the PDE is supervisor */
	/* a 4 MiB page with PSE-36 bits: PDE 1 -> physical 0x1_00400000 */
	set32(0x1000 + 4, 0x00400000 | (1u << 13) | P | RW | PS);
	assert_int_equal(walk(&pse, 0x0040abcd, 0, &w), 0);
	assert_int_equal(w.gpa, 0x10040abcdull);
	assert_int_equal(w.page_size, 4u << 20);
	/* without CR4.PSE the PS bit is ignored: PDE 1 points at a page table at 0x402000 */
	set32(0x402000, 0x777000 | P);
	assert_int_equal(walk(&m, 0x00400123, 0, &w), 0);
	assert_int_equal(w.gpa, 0x777123);
	/* NX does not exist here: a fetch fault has no I bit */
	set32(0x2000 + 3 * 4, 0);
	assert_int_equal(walk(&m, 0x3456, EMU_WALK_FETCH | EMU_WALK_WRITE, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_W);
	/* A/D on 4-byte entries */
	set32(0x2000 + 3 * 4, 0x345000 | P | RW);
	assert_int_equal(walk(&m, 0x3000, EMU_WALK_SET_AD | EMU_WALK_WRITE, &w), 0);
	assert_int_equal(get32(0x2000 + 3 * 4) & (A | D), A | D);
	assert_int_equal(get32(0x1000) & A, A);
}

/* PAE: PDPT at 0x1020 (32-byte aligned), PD at 0x2000, PT at 0x3000. */
static void test_pae(void **state)
{
	struct emu_paging_mode m = { CR0_PE | CR0_PG, 0x1020, CR4_PAE, EFER_NXE };
	struct emu_walk w;

	memset(ram, 0, 0x10000);
	set64(0x1020 + 3 * 8, 0x2000 | P);			/* va 3 GiB.. */
	set64(0x2000 + 2 * 8, 0x3000 | P | RW | US);
	set64(0x3000 + 1 * 8, 0x456000 | P | RW | US | NX);
	set64(0x2000 + 3 * 8, 0x800000 | P | PS);		/* 2 MiB page */
	assert_int_equal(walk(&m, 0xc0401234ull, 0, &w), 0);
	assert_int_equal(w.gpa, 0x456234);
	assert_false(w.executable);
	assert_int_equal(walk(&m, 0xc0600010ull, 0, &w), 0);
	assert_int_equal(w.gpa, 0x800010);
	assert_int_equal(w.page_size, 2u << 20);
	assert_int_equal(walk(&m, 0xc0401234ull, EMU_WALK_FETCH | EMU_WALK_USER, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_I | EMU_PF_U);
	set64(0x1020 + 3 * 8, 0x2000 | P | RW);		/* R/W is reserved in a PAE PDPTE */
	assert_int_equal(walk(&m, 0xc0401234ull, 0, &w), -EFAULT);
	assert_int_equal(w.error_code, EMU_PF_P | EMU_PF_RSVD);
	set64(0x1020, 0);
	assert_int_equal(walk(&m, 0x1000, 0, &w), -EFAULT);	/* PDPTE 0 not present */
	assert_int_equal(w.error_code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_paging),
		cmocka_unit_test(test_4level_4k),
		cmocka_unit_test(test_4level_2m_and_1g),
		cmocka_unit_test(test_4level_high_half),
		cmocka_unit_test(test_not_present_error_codes),
		cmocka_unit_test(test_protection_faults),
		cmocka_unit_test(test_nx),
		cmocka_unit_test(test_smep),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_table_outside_ram),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_32bit),
		cmocka_unit_test(test_pae),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
