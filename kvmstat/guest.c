/* SPDX-License-Identifier: MIT */
/*
 * Guests by name: /proc/PID/cmdline's -name/--name (QEMU's "guest=NAME,..." and ",," escapes).
 * Only the emulator process itself counts: wrappers such as timeout, sudo or taskset carry the
 * same argument but neither hold a KVM VM nor are an emulator binary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmstat/kvmstat.h"

static const char *kvmstat_proc(const char *proc)
{
	return proc ? proc : dbgfs_default_proc;
}

/* argv as NUL-separated strings; returns the byte count or -errno. */
static ssize_t kvmstat_cmdline(const char *proc, int pid, char *buf, size_t len)
{
	char path[PATH_MAX];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/cmdline", kvmstat_proc(proc), pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

/* "guest=vm1,debug-threads=on" or "vm1" -> "vm1", undoing ",," */
static void kvmstat_name_value(const char *v, char *out, size_t len)
{
	size_t n = 0;

	if (strncmp(v, "guest=", 6) == 0)
		v += 6;
	for (; *v && n + 1 < len; v++) {
		if (*v == ',' && v[1] == ',')
			v++;
		else if (*v == ',')
			break;
		out[n++] = *v;
	}
	out[n] = 0;
}

int kvmstat_guest_name(const char *proc, int pid, char *out, size_t len)
{
	char buf[8192];
	ssize_t n = kvmstat_cmdline(proc, pid, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		char *next = a + strlen(a) + 1;

		if ((strcmp(a, "-name") == 0 || strcmp(a, "--name") == 0) && next < buf + n) {
			kvmstat_name_value(next, out, len);
			return 0;
		}
		if (strncmp(a, "--name=", 7) == 0) {
			kvmstat_name_value(a + 7, out, len);
			return 0;
		}
	}
	return -ENOENT;
}

bool kvmstat_pid_is_alive(const char *proc, int pid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%d", kvmstat_proc(proc), pid);
	return pid > 0 && access(path, F_OK) == 0;
}

/* A process holding a KVM VM fd (needs permission to read its fd links). */
static bool kvmstat_has_kvm_vm(const char *proc, int pid)
{
	char path[PATH_MAX], link[64];
	struct dirent *e;
	DIR *d;
	bool found = false;

	snprintf(path, sizeof(path), "%s/%d/fd", kvmstat_proc(proc), pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char fdpath[PATH_MAX];
		ssize_t n;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			found = strcmp(link, "anon_inode:kvm-vm") == 0;
		}
	}
	closedir(d);
	return found;
}

/* The emulator itself, not a wrapper: holds a VM, or argv[0] is an emulator binary. */
static bool kvmstat_is_emulator(const char *proc, int pid)
{
	static const char *const emulators[] = { "qemu", "vmscope", "kvm", "lkvm", "crosvm", "firecracker" };
	char buf[4096], *base;

	if (kvmstat_has_kvm_vm(proc, pid))
		return true;
	if (kvmstat_cmdline(proc, pid, buf, sizeof(buf)) <= 0)
		return false;
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	for (size_t i = 0; i < sizeof(emulators) / sizeof(emulators[0]); i++)
		if (strncmp(base, emulators[i], strlen(emulators[i])) == 0)
			return true;
	return false;
}

int kvmstat_list_guests(const char *proc, int *pids, char names[][64], int max)
{
	DIR *d = opendir(kvmstat_proc(proc));
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while (n < max && (e = readdir(d))) {
		int pid = atoi(e->d_name);

		if (pid <= 0 || kvmstat_guest_name(proc, pid, names[n], 64) < 0 || !kvmstat_is_emulator(proc, pid))
			continue;
		pids[n++] = pid;
	}
	closedir(d);
	return n;
}

int kvmstat_find_guests(const char *proc, const char *name, int *pids, int max)
{
	char names[64][64];
	int all[64], n = kvmstat_list_guests(proc, all, names, 64), k = 0;

	for (int i = 0; i < n && k < max; i++)
		if (strcmp(names[i], name) == 0)
			pids[k++] = all[i];
	return n < 0 ? n : k;
}
