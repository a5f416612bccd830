/* SPDX-License-Identifier: MIT */
/* The only file that names host paths; every reader takes its root as a parameter. */
#include "debugfs/debugfs.h"

const char dbgfs_default_debugfs[] = "/sys/kernel/debug";
const char dbgfs_default_tracefs[] = "/sys/kernel/tracing";
const char dbgfs_default_mountinfo[] = "/proc/self/mountinfo";
const char dbgfs_default_proc[] = "/proc";
const char dbgfs_default_vmscope_run[] = "/run/vmscope";

const char *dbgfs_mount_hint(const char *fstype)
{
	if (fstype[0] == 't')
		return "mount it with: mount -t tracefs none /sys/kernel/tracing";
	return "mount it with: mount -t debugfs none /sys/kernel/debug";
}
