/* SPDX-License-Identifier: MIT */
/* The PIO/MMIO bus: lookup by address, overlap rejection, unassigned accesses. No backend. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/testutil.h"
#include "emu/emu-local.h"

struct dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
	uint64_t read_value;
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct dev *d = opaque;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return d->read_value;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct dev *d = opaque;
	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = v;
}

static const struct emu_io_ops dev_ops = { dev_read, dev_write };

static int bus_setup(void **state)
{
	struct emu_bus *bus = calloc(1, sizeof(*bus));
	assert_non_null(bus);
	assert_int_equal(emu_bus_init(bus), 0);
	*state = bus;
	return 0;
}

static int bus_teardown(void **state)
{
	emu_bus_fini(*state);
	free(*state);
	return 0;
}

static void test_lookup_finds_region_and_offset(void **state)
{
	struct emu_bus *bus = *state;
	struct dev a = { .read_value = 0x1234 }, b = { .read_value = 0x55 };

	assert_int_equal(emu_bus_register(bus, EMU_IO_PIO, 0x3f8, 8, "a", &dev_ops, &a), 0);
	assert_int_equal(emu_bus_register(bus, EMU_IO_PIO, 0x20, 2, "b", &dev_ops, &b), 0);
	assert_int_equal(emu_bus_access(bus, EMU_IO_PIO, 0x3fd, 1, false, 0), 0x34);	/* masked to 1 byte */
	assert_int_equal(a.last_off, 5);
	assert_int_equal(a.last_size, 1);
	assert_int_equal(emu_bus_access(bus, EMU_IO_PIO, 0x21, 1, false, 0), 0x55);
	assert_int_equal(b.last_off, 1);
	emu_bus_access(bus, EMU_IO_PIO, 0x3f8, 2, true, 0xabcdef);
	assert_int_equal(a.writes, 1);
	assert_int_equal(a.last_val, 0xcdef);	/* masked to the access size */
}

static void test_lookup_many_regions(void **state)
{
	struct emu_bus *bus = *state;
	struct dev d[64];

	/* registered in a scrambled order: the map stays sorted */
	for (unsigned i = 0; i < 64; i++) {
		unsigned k = (i * 37) % 64;
		d[k] = (struct dev){ .read_value = k };
		assert_int_equal(emu_bus_register(bus, EMU_IO_MMIO, 0x100000 + k * 0x1000, 0x100, "d", &dev_ops, &d[k]), 0);
	}
	for (unsigned k = 0; k < 64; k++) {
		assert_int_equal(emu_bus_access(bus, EMU_IO_MMIO, 0x100000 + k * 0x1000 + 0xfc, 4, false, 0), k);
		assert_int_equal(d[k].last_off, 0xfc);
		/* just past the region: unassigned */
		assert_int_equal(emu_bus_access(bus, EMU_IO_MMIO, 0x100000 + k * 0x1000 + 0x100, 4, false, 0), 0xffffffff);
	}
}

static void test_access_straddling_end_is_unassigned(void **state)
{
	struct emu_bus *bus = *state;
	struct dev a = { .read_value = 0 };

	assert_int_equal(emu_bus_register(bus, EMU_IO_PIO, 0x70, 2, "rtc", &dev_ops, &a), 0);
	assert_int_equal(emu_bus_access(bus, EMU_IO_PIO, 0x71, 2, false, 0), 0xffff);
	assert_int_equal(a.reads, 0);
}

static void test_overlap_rejected(void **state)
{
	struct emu_bus *bus = *state;
	struct dev a = { 0 };
	static const struct { uint64_t base, len; int want; } cases[] = {
		{ 0x100, 0x10, 0 },		/* the first region */
		{ 0x100, 0x10, -EEXIST },	/* identical */
		{ 0x0f8, 0x10, -EEXIST },	/* overlaps the start */
		{ 0x10f, 0x01, -EEXIST },	/* the last byte */
		{ 0x0f0, 0x40, -EEXIST },	/* covers it */
		{ 0x104, 0x02, -EEXIST },	/* inside it */
		{ 0x0f0, 0x10, 0 },		/* adjacent below */
		{ 0x110, 0x10, 0 },		/* adjacent above */
		{ 0x200, 0, -EINVAL },		/* empty */
		{ 0xfff0, 0x20, -EINVAL },	/* past the 64 KiB port space */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(emu_bus_register(bus, EMU_IO_PIO, cases[i].base, cases[i].len, "x", &dev_ops, &a),
				 cases[i].want);
	assert_int_equal(emu_bus_register(bus, EMU_IO_MMIO, UINT64_MAX - 4, 0x10, "wrap", &dev_ops, &a), -EINVAL);
	assert_int_equal(emu_bus_register(bus, EMU_IO_MMIO, UINT64_MAX - 0xf, 0x10, "top", &dev_ops, &a), 0);
	assert_int_equal(emu_bus_register(bus, 7, 0, 1, "bad space", &dev_ops, &a), -EINVAL);
}

static uint64_t stat_value(struct emu_bus *bus, const char *name)
{
	struct emu_stat st[32];
	int n = emu_bus_stats(bus, st, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (strcmp(st[i].name, name) == 0)
			return st[i].value;
	fail_msg("no stat %s", name);
	return 0;
}

static void test_unassigned_all_ones_and_counted(void **state)
{
	struct emu_bus *bus = *state;
	static const struct { unsigned size; uint64_t want; } sizes[] = {
		{ 1, 0xff }, { 2, 0xffff }, { 4, 0xffffffff }, { 8, UINT64_MAX },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		assert_int_equal(emu_bus_access(bus, EMU_IO_MMIO, 0xfe000000, sizes[i].size, false, 0), sizes[i].want);
	assert_int_equal(emu_bus_access(bus, EMU_IO_PIO, 0x80, 1, true, 0x12), 0);
	assert_int_equal(emu_bus_access(bus, EMU_IO_PIO, 0x80, 1, true, 0x13), 0);
	assert_int_equal(stat_value(bus, "mmio_unassigned_reads"), 4);
	assert_int_equal(stat_value(bus, "mmio_unassigned_writes"), 0);
	assert_int_equal(stat_value(bus, "pio_unassigned_writes"), 2);
	assert_int_equal(stat_value(bus, "pio_unassigned_reads"), 0);
}

static void test_region_counts_accesses(void **state)
{
	struct emu_bus *bus = *state;
	struct dev a = { 0 };

	assert_int_equal(emu_bus_register(bus, EMU_IO_PIO, 0xf4, 4, "isa-debug-exit", &dev_ops, &a), 0);
	emu_bus_access(bus, EMU_IO_PIO, 0xf4, 1, true, 1);
	(void)emu_bus_access(bus, EMU_IO_PIO, 0xf5, 1, false, 0);
	assert_int_equal(stat_value(bus, "isa-debug-exit"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup_finds_region_and_offset, bus_setup, bus_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_many_regions, bus_setup, bus_teardown),
		cmocka_unit_test_setup_teardown(test_access_straddling_end_is_unassigned, bus_setup, bus_teardown),
		cmocka_unit_test_setup_teardown(test_overlap_rejected, bus_setup, bus_teardown),
		cmocka_unit_test_setup_teardown(test_unassigned_all_ones_and_counted, bus_setup, bus_teardown),
		cmocka_unit_test_setup_teardown(test_region_counts_accesses, bus_setup, bus_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
