/* SPDX-License-Identifier: MIT */
/*
 * The debugfs provider: <root>/kvm/<field> (global), <root>/kvm/<pid>-<fd>/<field> (per VM),
 * <root>/kvm/<pid>-<fd>/vcpuN/<field> (per vCPU). Files stay open and are re-read with pread.
 * A VM whose folder vanished is dropped quietly; a permission error fails open() naming the file
 * so the caller can take another provider.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debugfs/debugfs-local.h"

#define DFS_MAX_FIELDS 128
#define DFS_MAX_VCPUS 64

struct dfs_vm {
	char dir[256];		/* "<pid>-<fd>" */
	int pid;
	int dfd;		/* the VM folder */
	int fd[DFS_MAX_FIELDS];	/* per field, -1 when absent */
	int nr_vcpus;
	int *vfd;		/* [vcpu][field] */
	bool seen;
	struct dfs_vm *next;
};

struct dfs_state {
	struct dbgfs_options opt;
	char kvm[PATH_MAX];
	int kvm_dfd;
	char *field[DFS_MAX_FIELDS];
	int nr_fields;
	struct dfs_vm *vms;
	bool garbage_noticed;
};

/* Files that are not plain counters (kvm_stat skips them too). */
static const char *const dfs_skipped[] = { "halt_poll_fail_ns", "halt_poll_success_ns", "halt_wait_ns" };

static bool dfs_is_counter_name(const char *name)
{
	size_t n = strlen(name), i;

	if (name[0] == '.' || (n > 5 && strcmp(name + n - 5, "_hist") == 0))
		return false;
	for (i = 0; i < sizeof(dfs_skipped) / sizeof(dfs_skipped[0]); i++)
		if (strcmp(name, dfs_skipped[i]) == 0)
			return false;
	return true;
}

static int dfs_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files directly in kvm/ are the field names. */
static int dfs_list_fields(struct dfs_state *s)
{
	DIR *d = fdopendir(dup(s->kvm_dfd));
	struct dirent *e;
	struct stat st;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && s->nr_fields < DFS_MAX_FIELDS) {
		if (!dfs_is_counter_name(e->d_name) || fstatat(s->kvm_dfd, e->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode) || !dbgfs_is_wanted(&s->opt, e->d_name))
			continue;
		s->field[s->nr_fields] = strdup(e->d_name);
		if (!s->field[s->nr_fields]) {
			closedir(d);
			return -ENOMEM;
		}
		s->nr_fields++;
	}
	closedir(d);
	qsort(s->field, (size_t)s->nr_fields, sizeof(s->field[0]), dfs_cmp);
	return 0;
}

/* Reads one counter file; -errno, -EINVAL for garbage, -ERANGE for a number past 64 bits. */
static int dfs_pread_u64(int fd, uint64_t *v)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENODEV;	/* a removed debugfs file reads as empty */
	buf[n] = 0;
	return dbgfs_parse_u64(buf, v);
}

static int dfs_open_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_CLOEXEC);
}

/* 0 when the global counter file reads, else -errno. */
static int dfs_try_field(struct dfs_state *s, const char *name)
{
	uint64_t v;
	int fd = dfs_open_at(s->kvm_dfd, name), ret;

	if (fd < 0)
		return -errno;
	ret = dfs_pread_u64(fd, &v);
	close(fd);
	return ret == -EPERM || ret == -EACCES ? ret : 0;
}

/*
 * Under kernel lockdown only read-only debugfs files can be opened: probe each field, drop the
 * unreadable ones and say so once, naming a file. No readable field at all fails open().
 */
static int dfs_probe(struct dfs_state *s, char *why, size_t why_len)
{
	int i, w = 0, err = 0, bad = 0, total = s->nr_fields;
	char first[PATH_MAX] = "";

	if (s->nr_fields == 0)
		return dbgfs_why(why, why_len, -ENOENT, "%s: no counter files (no field matches?)", s->kvm);
	for (i = 0; i < s->nr_fields; i++) {
		int ret = dfs_try_field(s, s->field[i]);

		if (ret == 0) {
			s->field[w++] = s->field[i];
			continue;
		}
		if (!bad++) {
			err = ret;
			snprintf(first, sizeof(first), "%s/%s", s->kvm, s->field[i]);
		}
		free(s->field[i]);
	}
	s->nr_fields = w;
	if (!bad)
		return 0;
	if (!w)
		return dbgfs_why(why, why_len, err, "cannot read %s: %s%s", first, strerror(-err),
				 err == -EPERM ? " (kernel lockdown restricts debugfs; see dmesg)" : "");
	dbgfs_notice(&s->opt, "debugfs: %d of %d counter files cannot be read (%s: %s%s); showing the other %d", bad, total,
		     first, strerror(-err), err == -EPERM ? ", kernel lockdown" : "", w);
	return 0;
}

static void dfs_vm_free(struct dfs_vm *vm, int nr_fields)
{
	int i;

	for (i = 0; i < nr_fields; i++)
		if (vm->fd[i] >= 0)
			close(vm->fd[i]);
	for (i = 0; i < vm->nr_vcpus * nr_fields; i++)
		if (vm->vfd[i] >= 0)
			close(vm->vfd[i]);
	free(vm->vfd);
	if (vm->dfd >= 0)
		close(vm->dfd);
	free(vm);
}

static int dfs_open_vcpus(struct dfs_state *s, struct dfs_vm *vm)
{
	char name[32];
	int n, i, dfd;

	for (n = 0; n < DFS_MAX_VCPUS; n++) {
		snprintf(name, sizeof(name), "vcpu%d", n);
		if (faccessat(vm->dfd, name, F_OK, 0) < 0)
			break;
	}
	vm->nr_vcpus = n;
	vm->vfd = malloc(sizeof(int) * (size_t)(n * s->nr_fields + 1));
	if (!vm->vfd)
		return -ENOMEM;
	for (n = 0; n < vm->nr_vcpus; n++) {
		snprintf(name, sizeof(name), "vcpu%d", n);
		dfd = openat(vm->dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		for (i = 0; i < s->nr_fields; i++)
			vm->vfd[n * s->nr_fields + i] = dfd < 0 ? -1 : dfs_open_at(dfd, s->field[i]);
		if (dfd >= 0)
			close(dfd);
	}
	return 0;
}

static struct dfs_vm *dfs_vm_open(struct dfs_state *s, const char *dir, int pid)
{
	struct dfs_vm *vm = calloc(1, sizeof(*vm));
	int i;

	if (!vm)
		return NULL;
	snprintf(vm->dir, sizeof(vm->dir), "%s", dir);
	vm->pid = pid;
	vm->dfd = openat(s->kvm_dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < s->nr_fields; i++)
		vm->fd[i] = vm->dfd < 0 ? -1 : dfs_open_at(vm->dfd, s->field[i]);
	if (vm->dfd < 0 || (s->opt.per_vcpu && dfs_open_vcpus(s, vm) < 0)) {
		dfs_vm_free(vm, s->nr_fields);
		return NULL;
	}
	return vm;
}

static struct dfs_vm *dfs_find_vm(struct dfs_state *s, const char *dir)
{
	struct dfs_vm *vm;

	for (vm = s->vms; vm; vm = vm->next)
		if (strcmp(vm->dir, dir) == 0)
			return vm;
	return NULL;
}

/* "<pid>-<fd>" folders; the pid filter keeps only that process's VMs. */
static int dfs_vm_pid(const struct dfs_state *s, const char *name)
{
	int pid, fd, end = 0;

	if (sscanf(name, "%d-%d%n", &pid, &fd, &end) != 2 || name[end] || pid <= 0)
		return 0;
	if (s->opt.pid && pid != s->opt.pid)
		return 0;
	return pid;
}

static void dfs_rescan(struct dfs_state *s)
{
	DIR *d = fdopendir(dup(s->kvm_dfd));
	struct dirent *e;
	struct dfs_vm *vm;
	int pid;

	for (vm = s->vms; vm; vm = vm->next)
		vm->seen = false;
	if (!d)
		return;
	rewinddir(d);
	while ((e = readdir(d))) {
		pid = dfs_vm_pid(s, e->d_name);
		if (!pid)
			continue;
		vm = dfs_find_vm(s, e->d_name);
		if (!vm && (vm = dfs_vm_open(s, e->d_name, pid))) {
			vm->next = s->vms;
			s->vms = vm;
		}
		if (vm)
			vm->seen = true;
	}
	closedir(d);
}

static void dfs_note_garbage(struct dfs_state *s, const struct dfs_vm *vm, int field, int err)
{
	if (s->garbage_noticed)
		return;
	s->garbage_noticed = true;
	dbgfs_notice(&s->opt, "%s/%s/%s: %s; value skipped", s->kvm, vm->dir, s->field[field],
		     err == -ERANGE ? "number larger than 64 bits" : "not a number");
}

/* Reads one VM; false when its files are gone (the VM exited). */
static bool dfs_read_vm(struct dfs_state *s, struct dfs_vm *vm, struct dbgfs_samples *out)
{
	uint64_t v;
	int i, n, ret;

	for (i = 0; i < s->nr_fields; i++) {
		if (vm->fd[i] < 0)
			continue;
		ret = dfs_pread_u64(vm->fd[i], &v);
		if (ret == -EINVAL || ret == -ERANGE) {
			dfs_note_garbage(s, vm, i, ret);
			continue;
		}
		if (ret < 0)
			return false;
		if (dbgfs_samples_add(out, s->field[i], vm->pid, -1, v) < 0)
			return true;
	}
	for (n = 0; n < vm->nr_vcpus; n++)
		for (i = 0; i < s->nr_fields; i++) {
			int fd = vm->vfd[n * s->nr_fields + i];

			if (fd >= 0 && dfs_pread_u64(fd, &v) == 0 &&
			    dbgfs_samples_add(out, s->field[i], vm->pid, n, v) < 0)
				return true;
		}
	return true;
}

static int dfs_read(void *state, struct dbgfs_samples *out)
{
	struct dfs_state *s = state;
	struct dfs_vm **pp = &s->vms, *vm;

	dfs_rescan(s);
	while ((vm = *pp)) {
		size_t mark = out->n;

		if (vm->seen && dfs_read_vm(s, vm, out)) {
			pp = &vm->next;
			continue;
		}
		out->n = mark;	/* gone between readdir and read: drop it quietly */
		*pp = vm->next;
		dfs_vm_free(vm, s->nr_fields);
	}
	return 0;
}

static void dfs_close(void *state)
{
	struct dfs_state *s = state;
	struct dfs_vm *vm;
	int i;

	if (!s)
		return;
	while ((vm = s->vms)) {
		s->vms = vm->next;
		dfs_vm_free(vm, s->nr_fields);
	}
	for (i = 0; i < s->nr_fields; i++)
		free(s->field[i]);
	if (s->kvm_dfd >= 0)
		close(s->kvm_dfd);
	free(s);
}

static int dfs_init(const struct dbgfs_options *opt, struct dfs_state **out, char *why, size_t why_len)
{
	struct dfs_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	snprintf(s->kvm, sizeof(s->kvm), "%s/kvm", opt->debugfs_root ? opt->debugfs_root : dbgfs_default_debugfs);
	s->kvm_dfd = open(s->kvm, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->kvm_dfd < 0) {
		ret = -errno;
		dbgfs_why(why, why_len, ret, "%s: %s (is debugfs mounted? %s; is the kvm module loaded?)",
			  s->kvm, strerror(-ret), dbgfs_mount_hint("debugfs"));
		dfs_close(s);	/* after the message: it names s->kvm */
		return ret;
	}
	ret = dfs_list_fields(s);
	if (ret < 0) {
		dbgfs_why(why, why_len, ret, "%s: %s", s->kvm, strerror(-ret));
		dfs_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

static int dfs_open(const struct dbgfs_options *opt, void **state, char *why, size_t why_len)
{
	struct dfs_state *s;
	int ret = dfs_init(opt, &s, why, why_len);

	if (ret < 0)
		return ret;
	ret = dfs_probe(s, why, why_len);
	if (ret < 0) {
		dfs_close(s);
		return ret;
	}
	*state = s;
	return 0;
}

static int dfs_fields(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len)
{
	struct dbgfs_options o = *opt;
	struct dfs_state *s;
	int i, ret;

	o.want = NULL;
	o.notice = NULL;
	ret = dfs_init(&o, &s, why, why_len);
	if (ret < 0)
		return ret;
	ret = dfs_probe(s, why, why_len);	/* only the counters that can be read */
	for (i = 0; i < s->nr_fields && ret == 0; i++)
		ret = dbgfs_samples_add(out, s->field[i], 0, -1, 0);
	dfs_close(s);
	return ret;
}

const struct dbgfs_provider_ops dbgfs_debugfs_provider = {
	.name = "debugfs",
	.open = dfs_open,
	.read = dfs_read,
	.close = dfs_close,
	.fields = dfs_fields,
};
