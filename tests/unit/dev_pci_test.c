/* SPDX-License-Identifier: MIT */
/* The PCI host ports with no backend: Linux's mechanism #1 probe, "no devices" reads, and the
 * 0xcf9 reset control register's reset request. */
#include "tests/testutil.h"
#include "tests/unit/dev_fake.h"

static struct emu_vm *vm;
static struct emu_pci_host *pci;

static int setup(void **state)
{
	vm = devtest_vm_new();
	return emu_pci_host_create(vm, &pci);
}

static int teardown(void **state)
{
	emu_pci_host_destroy(pci);
	devtest_vm_free(vm);
	return 0;
}

/* arch/x86/pci/direct.c pci_check_type1(), step by step. */
static void test_linux_type1_probe(void **state)
{
	uint32_t saved;

	devtest_out(vm, 0xcfb, 1, 0x01);
	saved = (uint32_t)devtest_in(vm, 0xcf8, 4);
	devtest_out(vm, 0xcf8, 4, 0x80000000);
	assert_int_equal(devtest_in(vm, 0xcf8, 4), 0x80000000);
	devtest_out(vm, 0xcf8, 4, saved);
	assert_int_equal(devtest_in(vm, 0xcf8, 4), saved);
	assert_int_equal(vm->end_requests, 0);
}

static void test_config_address_reserved_bits(void **state)
{
	devtest_out(vm, 0xcf8, 4, 0xffffffff);
	assert_int_equal(devtest_in(vm, 0xcf8, 4), 0x80fffffc);
	devtest_out(vm, 0xcf8, 4, 0x7f000003);
	assert_int_equal(devtest_in(vm, 0xcf8, 4), 0);
}

static void test_no_devices(void **state)
{
	/* bus 0 device 0 function 0: vendor/device, class; then a device further out */
	devtest_out(vm, 0xcf8, 4, 0x80000000);
	assert_int_equal(devtest_in(vm, 0xcfc, 4), 0xffffffff);
	assert_int_equal(devtest_in(vm, 0xcfc, 2), 0xffff);
	assert_int_equal(devtest_in(vm, 0xcfe, 2), 0xffff);
	assert_int_equal(devtest_in(vm, 0xcff, 1), 0xff);
	devtest_out(vm, 0xcf8, 4, 0x80000008);
	assert_int_equal(devtest_in(vm, 0xcfc, 4), 0xffffffff);
	devtest_out(vm, 0xcfc, 4, 0x12345678);	/* a write to nothing */
	assert_int_equal(devtest_in(vm, 0xcfc, 4), 0xffffffff);
	devtest_out(vm, 0xcf8, 4, 0);		/* disabled: still all-ones */
	assert_int_equal(devtest_in(vm, 0xcfc, 4), 0xffffffff);
	assert_int_equal(devtest_in(vm, 0xcfa, 2), 0xffff);	/* odd accesses */
	assert_int_equal(vm->end_requests, 0);
}

static void test_reset_register(void **state)
{
	assert_int_equal(devtest_in(vm, 0xcf9, 1), 0);
	devtest_out(vm, 0xcf9, 1, 0x02);	/* "request hard reset" armed, not yet */
	assert_int_equal(devtest_in(vm, 0xcf9, 1), 0x02);
	assert_int_equal(vm->end_requests, 0);
	devtest_out(vm, 0xcf8, 4, 0x80000400);	/* a dword at 0xcf8 is not an RCR write */
	assert_int_equal(vm->end_requests, 0);
	devtest_out(vm, 0xcf9, 1, 0x06);	/* Linux reboot=p: cf9 | 2, then cf9 | 6 */
	assert_int_equal(vm->end_requests, 1);
	assert_int_equal(vm->end_reason, EMU_END_RESET);
	assert_int_equal(vm->end_status, 0);
	assert_non_null(strstr(vm->end_message, "0xcf9"));
}

static void test_bad_create(void **state)
{
	struct emu_pci_host *p2 = NULL;

	assert_int_equal(emu_pci_host_create(vm, &p2), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_type1_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_address_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_create, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
