/* SPDX-License-Identifier: MIT */
/* isa-debug-exit with no backend: QEMU's status encoding, access-size masking, bad arguments. */
#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"

static void test_status_encoding(void **state)
{
	static const struct { unsigned size; uint64_t value; int status; } cases[] = {
		{ 4, 0, 1 }, { 4, 1, 3 }, { 1, 0x21, 0x43 }, { 1, 0x1ff, 0x1ff },
		{ 2, 0x12345, (0x2345 << 1) | 1 }, { 4, 0x7f, 0xff },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_vm *vm = devtest_vm_new();
		struct emu_debug_exit *d = NULL;
		assert_int_equal(emu_debug_exit_create(vm, 0xf4, 4, &d), 0);
		devtest_out(vm, 0xf4, cases[i].size, cases[i].value);
		assert_int_equal(vm->end_requests, 1);
		assert_int_equal(vm->end_reason, EMU_END_DEBUG_EXIT);
		assert_int_equal(vm->end_status, cases[i].status);
		assert_non_null(strstr(vm->end_message, "debug-exit"));
		emu_debug_exit_destroy(d);
		devtest_vm_free(vm);
	}
}

static void test_reads_zero_and_whole_range(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_debug_exit *d = NULL;

	assert_int_equal(emu_debug_exit_create(vm, 0xf4, 4, &d), 0);
	assert_int_equal(devtest_in(vm, 0xf4, 1), 0);
	assert_int_equal(devtest_in(vm, 0xf7, 1), 0);
	assert_int_equal(devtest_in(vm, 0xf8, 1), 0xff);	/* outside: unassigned */
	assert_int_equal(vm->end_requests, 0);
	devtest_out(vm, 0xf7, 1, 2);
	assert_int_equal(vm->end_status, 5);
	emu_debug_exit_destroy(d);
	devtest_vm_free(vm);
}

static void test_bad_arguments(void **state)
{
	struct emu_vm *vm = devtest_vm_new();
	struct emu_debug_exit *d = NULL, *d2 = NULL;

	assert_int_equal(emu_debug_exit_create(vm, 0xf4, 0, &d), -EINVAL);
	assert_int_equal(emu_debug_exit_create(vm, 0xfffe, 4, &d), -EINVAL);
	assert_int_equal(emu_debug_exit_create(vm, 0xf4, 4, &d), 0);
	assert_int_equal(emu_debug_exit_create(vm, 0xf6, 4, &d2), -EEXIST);
	emu_debug_exit_destroy(d);
	devtest_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_encoding),
		cmocka_unit_test(test_reads_zero_and_whole_range),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
