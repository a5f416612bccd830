/* SPDX-License-Identifier: MIT */
/* Helpers for cmocka tests: requirements that skip() with a printed reason, never pass silently. */
#ifndef VMSCOPE_TESTUTIL_H
#define VMSCOPE_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* Call from a test body (not a setup: cmocka counts setup failures as errors). */
#define TEST_REQUIRE(cond, ...)                                        \
	do {                                                           \
		if (!(cond)) {                                         \
			printf("# SKIP reason: ");                     \
			printf(__VA_ARGS__);                           \
			printf("\n");                                  \
			skip();                                        \
		}                                                      \
	} while (0)

static inline int testutil_kvm_errno(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

#define require_kvm()                                                                   \
	do {                                                                            \
		int e_ = testutil_kvm_errno();                                          \
		TEST_REQUIRE(e_ == 0, "/dev/kvm not usable: %s", strerror(e_));          \
	} while (0)

#define require_root() TEST_REQUIRE(geteuid() == 0, "needs root (euid %u)", (unsigned)geteuid())

#endif
