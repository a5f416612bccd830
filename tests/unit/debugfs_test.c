/* SPDX-License-Identifier: MIT */
/*
 * debugfs/ library tests over fixture trees (tests/fixtures, captured from a real host) and, where
 * the host allows, the real thing (/dev/kvm binary stats). File and ioctl access is intercepted
 * at link time (-Wl,--wrap=openat,--wrap=pread) to simulate permission errors and stats fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "debugfs/debugfs.h"

#define FIX "tests/fixtures"

/* ---- link-time interception ---- */

static const char *deny_name;		/* openat of this basename fails with deny_errno */
static int deny_errno = EPERM;
static const uint8_t *fake_buf;		/* pread on FAKE_FD reads from here */
static size_t fake_len;
#define FAKE_FD 987

int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	const char *base = strrchr(path, '/');

	if (deny_name && strcmp(base ? base + 1 : path, deny_name) == 0) {
		errno = deny_errno;
		return -1;
	}
	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return __real_openat(dfd, path, flags, mode);
}

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	if (fd != FAKE_FD)
		return __real_pread(fd, buf, n, off);
	if ((size_t)off >= fake_len)
		return 0;
	if (n > fake_len - (size_t)off)
		n = fake_len - (size_t)off;
	memcpy(buf, fake_buf + off, n);
	return (ssize_t)n;
}

/* ---- helpers ---- */

static char tmpdir[64];
static char notices[8][512];
static int nr_notices;

static void note(void *opaque, const char *msg)
{
	if (nr_notices < 8)
		snprintf(notices[nr_notices], sizeof(notices[0]), "%s", msg);
	nr_notices++;
}

static int copy_tree(void **state)
{
	char cmd[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbgfs-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(cmd, sizeof(cmd), "cp -r " FIX "/debugfs/host/kvm %s/", tmpdir);
	assert_int_equal(system(cmd), 0);
	nr_notices = 0;
	deny_name = NULL;
	return 0;
}

static int remove_tree(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const struct dbgfs_sample *find(const struct dbgfs_samples *s, const char *name, int pid, int vcpu)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 && s->v[i].pid == pid && s->v[i].vcpu == vcpu)
			return &s->v[i];
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* ---- mounts ---- */

static void test_mounts(void **state)
{
	char out[256];

	assert_int_equal(dbgfs_find_mount(FIX "/mountinfo/both", "debugfs", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/kernel/debug");
	assert_int_equal(dbgfs_find_tracefs(FIX "/mountinfo/both", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/kernel/tracing");
	/* tracefs falls back to <debugfs>/tracing; octal escapes are undone */
	assert_int_equal(dbgfs_find_tracefs(FIX "/mountinfo/debugfs-only", out, sizeof(out)), 0);
	assert_string_equal(out, "/mnt/my debug/tracing");
	assert_int_equal(dbgfs_find_mount(FIX "/mountinfo/none", "debugfs", out, sizeof(out)), -ENOENT);
	assert_int_equal(dbgfs_find_tracefs(FIX "/mountinfo/none", out, sizeof(out)), -ENOENT);
	assert_int_equal(dbgfs_find_mount(FIX "/mountinfo/missing", "debugfs", out, sizeof(out)), -ENOENT);
	assert_int_equal(dbgfs_find_mount(FIX "/mountinfo/both", "debugfs", out, 5), -ENAMETOOLONG);
	assert_non_null(strstr(dbgfs_mount_hint("tracefs"), "mount -t tracefs"));
}

/* ---- formats ---- */

static void test_format_host(void **state)
{
	struct dbgfs_format f;
	const struct dbgfs_symtab *vmx, *svm;

	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/host/events/kvm/kvm_exit/format"), &f), 0);
	assert_string_equal(f.name, "kvm_exit");
	assert_int_equal(f.id, 103);
	assert_string_equal(f.fields[0], "exit_reason");
	assert_int_equal(f.nr_tabs, 2);
	vmx = dbgfs_format_symtab(&f, "exit_reason", false);
	svm = dbgfs_format_symtab(&f, "exit_reason", true);
	assert_non_null(vmx);
	assert_non_null(svm);
	assert_int_equal(vmx->sym[9].value, 12);
	assert_string_equal(vmx->sym[9].name, "HLT");
	/* "{ 0x040 + 13, "GP excp" }": sums and spaces handled */
	bool found = false;
	for (size_t i = 0; i < svm->n; i++)
		if (svm->sym[i].value == 0x4d)
			found = strcmp(svm->sym[i].name, "GP_excp") == 0;
	assert_true(found);
	assert_null(dbgfs_format_symtab(&f, "nonexistent", false));
	dbgfs_format_free(&f);
}

static void test_format_userspace(void **state)
{
	struct dbgfs_format f;
	const struct dbgfs_symtab *t;

	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/host/events/kvm/kvm_userspace_exit/format"), &f), 0);
	t = dbgfs_format_symtab(&f, "reason", false);
	assert_non_null(t);
	assert_string_equal(t->sym[2].name, "IO");	/* "KVM_EXIT_" "IO" -> IO */
	dbgfs_format_free(&f);
}

static void test_format_vmx_svm(void **state)
{
	struct dbgfs_format f;

	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/vmx/events/kvm/kvm_exit/format"), &f), 0);
	assert_int_equal(f.nr_tabs, 1);
	/* one table: prefer_svm cannot pick another */
	assert_string_equal(dbgfs_format_symtab(&f, "exit_reason", true)->sym[0].name, "EXCEPTION_NMI");
	dbgfs_format_free(&f);
	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/svm/events/kvm/kvm_exit/format"), &f), 0);
	assert_string_equal(dbgfs_format_symtab(&f, "exit_reason", false)->sym[0].name, "read_cr0");
	dbgfs_format_free(&f);
}

static void test_format_bad(void **state)
{
	struct dbgfs_format f;

	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/bad/no-id.format"), &f), -EINVAL);
	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/bad/unterminated-symbolic.format"), &f), -EINVAL);
	assert_int_equal(dbgfs_format_parse(slurp(FIX "/tracefs/bad/bad-value.format"), &f), -EINVAL);
	assert_int_equal(dbgfs_format_parse("", &f), -EINVAL);
}

static void test_builtin_exits(void **state)
{
	assert_string_equal(dbgfs_builtin_exits(DBGFS_EXITS_VMX)->sym[0].name, "EXCEPTION_NMI");
	assert_string_equal(dbgfs_builtin_exits(DBGFS_EXITS_SVM)->field, "exit_reason");
	assert_string_equal(dbgfs_builtin_exits(DBGFS_EXITS_USERSPACE)->sym[2].name, "IO");
	assert_true(dbgfs_cpu_is_svm(FIX "/proc/amd/cpuinfo"));
	assert_false(dbgfs_cpu_is_svm(FIX "/proc/intel/cpuinfo"));
	assert_false(dbgfs_cpu_is_svm(FIX "/proc/none/cpuinfo"));
}

/* ---- tracepoint provider: the event list from fixture trees (no perf needed) ---- */

static bool has(const struct dbgfs_samples *s, const char *name)
{
	return find(s, name, 0, -1) != NULL;
}

static void test_tracepoint_fields(void **state)
{
	struct dbgfs_samples s = { 0 };
	struct dbgfs_options o = { .tracefs_root = FIX "/tracefs/host", .proc_root = FIX "/proc/intel" };
	char why[256];

	assert_int_equal(dbgfs_tracepoint_provider.fields(&o, &s, why, sizeof(why)), 0);
	assert_true(has(&s, "kvm_pio"));
	assert_true(has(&s, "kvm_mmu_get_page"));		/* kvmmmu too */
	assert_true(has(&s, "kvm_exit(HLT)"));			/* Intel: the VMX table */
	assert_true(has(&s, "kvm_userspace_exit(IO)"));
	assert_false(has(&s, "kvm_exit(invalid_guest_state)"));	/* -1 cannot be filtered */
	dbgfs_samples_clear(&s);
	o.proc_root = FIX "/proc/amd";
	assert_int_equal(dbgfs_tracepoint_provider.fields(&o, &s, why, sizeof(why)), 0);
	assert_true(has(&s, "kvm_exit(hlt)"));			/* AMD: the SVM table */
	assert_false(has(&s, "kvm_exit(HLT)"));
	dbgfs_samples_free(&s);
}

static void test_tracepoint_fallback(void **state)
{
	struct dbgfs_samples s = { 0 };
	struct dbgfs_options o = { .tracefs_root = FIX "/tracefs/notable", .proc_root = FIX "/proc/amd", .notice = note };
	char why[256];

	nr_notices = 0;
	assert_int_equal(dbgfs_tracepoint_provider.fields(&o, &s, why, sizeof(why)), 0);
	assert_true(has(&s, "kvm_exit(hlt)"));			/* built-in SVM table */
	assert_int_equal(nr_notices, 1);
	assert_non_null(strstr(notices[0], "built-in SVM"));
	dbgfs_samples_free(&s);
}

static void test_tracepoint_no_tracefs(void **state)
{
	struct dbgfs_options o = { .tracefs_root = FIX "/nonexistent" };
	char why[256];
	void *st;

	assert_int_equal(dbgfs_tracepoint_provider.open(&o, &st, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "mount -t tracefs"));
}

/* ---- debugfs provider over a copied fixture tree ---- */

static void open_dfs(void **st, bool per_vcpu)
{
	struct dbgfs_options o = { .debugfs_root = tmpdir, .per_vcpu = per_vcpu, .notice = note };
	char why[256];

	assert_int_equal(dbgfs_debugfs_provider.open(&o, st, why, sizeof(why)), 0);
}

static void test_debugfs_read(void **state)
{
	struct dbgfs_samples s = { 0 };
	void *st;

	open_dfs(&st, true);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_int_equal(find(&s, "exits", 4242, -1)->value, 1000);
	assert_int_equal(find(&s, "exits", 4242, 1)->value, 400);
	assert_int_equal(find(&s, "exits", 5151, -1)->value, 50);
	assert_null(find(&s, "halt_poll_fail_ns", 4242, -1));	/* not a counter */
	assert_null(find(&s, "halt_wait_hist", 4242, -1));
	assert_int_equal(nr_notices, 0);
	dbgfs_debugfs_provider.close(st);
	dbgfs_samples_free(&s);
}

static void test_debugfs_vms_come_and_go(void **state)
{
	struct dbgfs_samples s = { 0 };
	char cmd[512];
	void *st;

	open_dfs(&st, false);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_non_null(find(&s, "exits", 5151, -1));
	/* one VM exits, another starts */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/kvm/5151-12 && mkdir %s/kvm/6161-3 && echo 9 > %s/kvm/6161-3/exits", tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	dbgfs_samples_clear(&s);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_null(find(&s, "exits", 5151, -1));
	assert_int_equal(find(&s, "exits", 6161, -1)->value, 9);
	assert_int_equal(find(&s, "exits", 4242, -1)->value, 1000);
	/* a folder that is not a VM is ignored */
	snprintf(cmd, sizeof(cmd), "mkdir %s/kvm/not-a-vm %s/kvm/12-x", tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	dbgfs_samples_clear(&s);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_int_equal(nr_notices, 0);
	dbgfs_debugfs_provider.close(st);
	dbgfs_samples_free(&s);
}

static void test_debugfs_garbage(void **state)
{
	struct dbgfs_samples s = { 0 };
	void *st;

	open_dfs(&st, false);
	write_file("kvm/4242-11/io_exits", "garbage\n");
	write_file("kvm/4242-11/halt_exits", "99999999999999999999999\n");
	write_file("kvm/4242-11/mmio_exits", "18446744073709551615\n");
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_null(find(&s, "io_exits", 4242, -1));		/* never reported as 0 */
	assert_null(find(&s, "halt_exits", 4242, -1));
	assert_true(find(&s, "mmio_exits", 4242, -1)->value == UINT64_MAX);
	assert_int_equal(find(&s, "exits", 4242, -1)->value, 1000);
	assert_int_equal(nr_notices, 1);			/* said once */
	dbgfs_samples_clear(&s);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_int_equal(nr_notices, 1);
	dbgfs_debugfs_provider.close(st);
	dbgfs_samples_free(&s);
}

static void test_debugfs_eperm_one(void **state)
{
	struct dbgfs_samples s = { 0 };
	void *st;

	deny_name = "exits";
	open_dfs(&st, false);
	deny_name = NULL;
	assert_int_equal(nr_notices, 1);
	assert_non_null(strstr(notices[0], "/kvm/exits: Operation not permitted"));
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_null(find(&s, "exits", 4242, -1));
	assert_non_null(find(&s, "io_exits", 4242, -1));
	dbgfs_debugfs_provider.close(st);
	dbgfs_samples_free(&s);
}

static void test_debugfs_eperm_all(void **state)
{
	struct dbgfs_options o = { .debugfs_root = tmpdir, .notice = note };
	char why[256], cmd[512];
	void *st;

	/* keep only "exits", then deny it: nothing is readable */
	snprintf(cmd, sizeof(cmd), "cd %s/kvm && find . -maxdepth 1 -type f ! -name exits -delete", tmpdir);
	assert_int_equal(system(cmd), 0);
	deny_name = "exits";
	deny_errno = EACCES;
	assert_int_equal(dbgfs_debugfs_provider.open(&o, &st, why, sizeof(why)), -EACCES);
	deny_name = NULL;
	deny_errno = EPERM;
	assert_non_null(strstr(why, "/kvm/exits: Permission denied"));
}

static void test_debugfs_missing(void **state)
{
	struct dbgfs_options o = { .debugfs_root = FIX "/nonexistent" };
	char why[256];
	void *st;

	assert_int_equal(dbgfs_debugfs_provider.open(&o, &st, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "mount -t debugfs"));
}

static void test_debugfs_pid_filter(void **state)
{
	struct dbgfs_samples s = { 0 };
	struct dbgfs_options o = { .debugfs_root = tmpdir, .pid = 5151 };
	char why[256];
	void *st;

	assert_int_equal(dbgfs_debugfs_provider.open(&o, &st, why, sizeof(why)), 0);
	assert_int_equal(dbgfs_debugfs_provider.read(st, &s), 0);
	assert_null(find(&s, "exits", 4242, -1));
	assert_non_null(find(&s, "exits", 5151, -1));
	dbgfs_debugfs_provider.close(st);
	dbgfs_samples_free(&s);
}

/* ---- binary stats ---- */

struct fake_stats {
	struct kvm_stats_header h;
	char id[16];
	struct { struct kvm_stats_desc d; char name[16]; } desc[3];
	uint64_t data[1 + 1 + 4];
};

static void fake_stats_init(struct fake_stats *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->h.name_size = 16;
	fs->h.num_desc = 3;
	fs->h.id_offset = sizeof(fs->h);
	fs->h.desc_offset = (uint32_t)offsetof(struct fake_stats, desc);
	fs->h.data_offset = (uint32_t)offsetof(struct fake_stats, data);
	strcpy(fs->id, "kvm-4242");
	fs->desc[0].d.flags = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
	fs->desc[0].d.size = 1;
	fs->desc[0].d.offset = 0;
	strcpy(fs->desc[0].name, "exits");
	fs->desc[1].d.flags = KVM_STATS_TYPE_PEAK | KVM_STATS_UNIT_BOOLEAN;
	fs->desc[1].d.size = 1;
	fs->desc[1].d.offset = 8;
	strcpy(fs->desc[1].name, "guest_mode");
	fs->desc[2].d.flags = KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS;
	fs->desc[2].d.exponent = -9;
	fs->desc[2].d.size = 4;
	fs->desc[2].d.offset = 16;
	strcpy(fs->desc[2].name, "halt_wait_hist");
	fs->data[0] = 1234;
	fs->data[1] = 1;
	fs->data[5] = 77;
	fake_buf = (const uint8_t *)fs;
	fake_len = sizeof(*fs);
}

static void test_binstats_good(void **state)
{
	struct fake_stats fs;
	struct dbgfs_binstats st;
	char why[256];

	fake_stats_init(&fs);
	assert_int_equal(dbgfs_binstats_open(FAKE_FD, &st, why, sizeof(why)), 0);
	assert_string_equal(st.id, "kvm-4242");
	assert_int_equal(st.nr, 3);
	assert_string_equal(st.desc[0].name, "exits");
	assert_int_equal(st.data[0], 1234);
	assert_int_equal(st.desc[1].unit, DBGFS_UNIT_BOOLEAN);
	assert_int_equal(st.desc[2].type, DBGFS_STAT_LOG_HIST);
	assert_int_equal(st.desc[2].exponent, -9);
	assert_int_equal(st.data[st.desc[2].offset / 8 + 3], 77);
	assert_string_equal(dbgfs_stat_type_name(st.desc[2].type), "log2-histogram");
	assert_string_equal(dbgfs_stat_unit_name(st.desc[2].unit), "seconds");
	fs.data[0] = 1300;
	assert_int_equal(dbgfs_binstats_read(FAKE_FD, &st), 0);
	assert_int_equal(st.data[0], 1300);
	dbgfs_binstats_free(&st);
}

/* Each corruption must be rejected with -EBADMSG and a reason naming the problem. */
static void expect_bad(struct fake_stats *fs, const char *reason)
{
	struct dbgfs_binstats st;
	char why[256] = "";

	assert_int_equal(dbgfs_binstats_open(FAKE_FD, &st, why, sizeof(why)), -EBADMSG);
	if (!strstr(why, reason))
		fail_msg("expected \"%s\", got \"%s\"", reason, why);
	fake_stats_init(fs);
}

static void test_binstats_bad(void **state)
{
	struct fake_stats fs;

	fake_stats_init(&fs);
	fs.h.flags = 1;
	expect_bad(&fs, "unknown flags");
	fs.h.name_size = 0;
	expect_bad(&fs, "bad name_size");
	fs.h.desc_offset = fs.h.id_offset;
	expect_bad(&fs, "id and descriptors overlap");
	fs.h.data_offset = fs.h.desc_offset + 8;
	expect_bad(&fs, "data overlaps");
	fs.h.id_offset = 4;
	expect_bad(&fs, "inside the header");
	fs.desc[0].d.size = 0;
	expect_bad(&fs, "bad size");
	fs.desc[0].d.size = 2;
	expect_bad(&fs, "bad size");
	fs.desc[0].d.flags = 7;
	expect_bad(&fs, "bad flags");
	fs.desc[1].d.offset = 0;
	expect_bad(&fs, "overlap");
	fs.desc[0].d.offset = 4;
	expect_bad(&fs, "unaligned");
	memset(fs.desc[0].name, 'x', sizeof(fs.desc[0].name));
	expect_bad(&fs, "not terminated");
	memset(fs.id, 'x', sizeof(fs.id));
	expect_bad(&fs, "id not terminated");
	fs.desc[2].d.bucket_size = 3;
	expect_bad(&fs, "bucket_size");
	fake_len = 10;
	expect_bad(&fs, "short read");
}

/* The real interface: a VM's stats fd (works in the process that owns the VM). */
static void test_binstats_kvm(void **state)
{
	struct dbgfs_binstats st;
	char why[256];
	int kvm, vm, fd;

	require_kvm();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0, "KVM_CAP_BINARY_STATS_FD not offered");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	assert_true(vm >= 0);
	fd = ioctl(vm, KVM_GET_STATS_FD, NULL);
	assert_true(fd >= 0);
	assert_int_equal(dbgfs_binstats_open(fd, &st, why, sizeof(why)), 0);
	assert_true(st.nr > 3);
	assert_non_null(strstr(st.id, "kvm-"));
	bool found = false;
	for (unsigned i = 0; i < st.nr; i++)
		found |= strcmp(st.desc[i].name, "remote_tlb_flush") == 0;
	assert_true(found);
	dbgfs_binstats_free(&st);
	close(fd);
	close(vm);
	close(kvm);
}

/* ---- JSON ---- */

static void test_json_good(void **state)
{
	const char *text = "{\"return\": [{\"provider\": \"kvm\", \"stats\": [{\"name\": \"exits\", \"value\": 18446744073709551615},"
			   "{\"name\": \"b\", \"value\": true}, {\"name\": \"h\", \"value\": [1, 2.5e3, -3]}]}], \"s\": \"a\\u00e9\\n\\\"\"}";
	struct dbgfs_json *j;
	size_t off;

	assert_int_equal(dbgfs_json_parse(text, strlen(text), &j, &off), 0);
	const struct dbgfs_json *st = dbgfs_json_get(dbgfs_json_get(j, "return")->child, "stats");
	assert_string_equal(dbgfs_json_str(st->child, "name"), "exits");
	assert_true((uint64_t)dbgfs_json_get(st->child, "value")->i == UINT64_MAX);
	assert_true(dbgfs_json_get(st->child->next, "value")->b);
	assert_string_equal(dbgfs_json_str(j, "s"), "a\xc3\xa9\n\"");
	assert_null(dbgfs_json_get(j, "missing"));
	dbgfs_json_free(j);
}

static void test_json_bad(void **state)
{
	static const struct { const char *text; size_t off; } bad[] = {
		{ "{", 1 }, { "{\"a\" 1}", 5 }, { "[1,]", 3 }, { "\"abc", 4 }, { "{} x", 3 }, { "tru", 0 },
		{ "\"\\q\"", 2 }, { "[1 2]", 3 }, { "", 0 }, { "{\"a\":nan}", 5 },
	};
	struct dbgfs_json *j;
	char deep[300];
	size_t off;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		off = 999;
		assert_int_equal(dbgfs_json_parse(bad[i].text, strlen(bad[i].text), &j, &off), -EINVAL);
		if (off != bad[i].off)
			fail_msg("\"%s\": error at %zu, expected %zu", bad[i].text, off, bad[i].off);
	}
	memset(deep, '[', sizeof(deep));
	assert_int_equal(dbgfs_json_parse(deep, sizeof(deep), &j, &off), -EINVAL);	/* depth bound */
}

static void test_json_quote(void **state)
{
	char buf[64];

	assert_int_equal(dbgfs_json_quote(buf, sizeof(buf), 0, "a\"b\\c\n"), 15);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\"");
	assert_int_equal(dbgfs_json_quote(buf, 8, 0, "0123456789"), -E2BIG);
}

static void test_samples(void **state)
{
	struct dbgfs_samples s = { 0 };
	char longname[200];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(dbgfs_samples_add(&s, i ? "x" : longname, i, -1, (uint64_t)i), 0);
	assert_int_equal(s.n, 1000);
	assert_int_equal(strlen(s.v[0].name), DBGFS_NAME_MAX - 1);
	dbgfs_samples_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_format_host),
		cmocka_unit_test(test_format_userspace),
		cmocka_unit_test(test_format_vmx_svm),
		cmocka_unit_test(test_format_bad),
		cmocka_unit_test(test_builtin_exits),
		cmocka_unit_test(test_tracepoint_fields),
		cmocka_unit_test(test_tracepoint_fallback),
		cmocka_unit_test(test_tracepoint_no_tracefs),
		cmocka_unit_test_setup_teardown(test_debugfs_read, copy_tree, remove_tree),
		cmocka_unit_test_setup_teardown(test_debugfs_vms_come_and_go, copy_tree, remove_tree),
		cmocka_unit_test_setup_teardown(test_debugfs_garbage, copy_tree, remove_tree),
		cmocka_unit_test_setup_teardown(test_debugfs_eperm_one, copy_tree, remove_tree),
		cmocka_unit_test_setup_teardown(test_debugfs_eperm_all, copy_tree, remove_tree),
		cmocka_unit_test(test_debugfs_missing),
		cmocka_unit_test_setup_teardown(test_debugfs_pid_filter, copy_tree, remove_tree),
		cmocka_unit_test(test_binstats_good),
		cmocka_unit_test(test_binstats_bad),
		cmocka_unit_test(test_binstats_kvm),
		cmocka_unit_test(test_json_good),
		cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_json_quote),
		cmocka_unit_test(test_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
