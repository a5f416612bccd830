/* SPDX-License-Identifier: MIT */
/*
 * The tracepoint provider: <tracefs>/events/kvm{,mmu}/EVENT counted with perf_event_open, one
 * group per CPU (every VM) or one group per thread of a pid. Per-thread groups are inherited, so
 * threads the process creates later (vCPUs started after kvmstat) are counted from their first
 * event on, even when they end between two reads; they are summed into their creator's group. Per-exit-reason children are the same tracepoint with a filter
 * ("exit_reason==12") set through PERF_EVENT_IOC_SET_FILTER; their names come from the running
 * kernel's format (__print_symbolic), with built-in VMX/SVM tables as the fallback.
 * Only the fields the caller wants are opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "debugfs/debugfs-local.h"

struct tp_event {
	char name[DBGFS_NAME_MAX];	/* "kvm_exit" or "kvm_exit(HLT)" */
	int id;
	char filter[48];		/* children only */
};

struct tp_group {
	int tid;		/* -1 for a per-CPU group */
	int cpu;		/* -1 for a per-thread group */
	int vcpu;		/* from the thread name, -1 when unknown */
	int *fd;		/* [nr_events]; fd[0] leads */
	bool alive;
};

struct tp_state {
	struct dbgfs_options opt;
	char events_dir[PATH_MAX];
	struct tp_event *ev;
	int nr_ev, cap_ev;
	int nr_open;		/* events [0, nr_open) are open in every group (lazy: grows per read) */
	struct tp_group *grp;
	int nr_grp, cap_grp;
	uint64_t *buf;		/* group read buffer: nr + values */
	uint64_t *sum;		/* per event */
	uint64_t *vsum;		/* per vcpu and event, when per_vcpu */
	int max_vcpu;
};

/* Child events a parent can be split into (the drilldown). */
struct tp_split {
	const char *event;
	const char *field;
};
static const struct tp_split tp_splits[] = {
	{ "kvm_exit", "exit_reason" },
	{ "kvm_userspace_exit", "reason" },
};

static bool tp_is_split(const char *event)
{
	for (size_t i = 0; i < sizeof(tp_splits) / sizeof(tp_splits[0]); i++)
		if (strcmp(tp_splits[i].event, event) == 0)
			return true;
	return false;
}

static int tp_add_event(struct tp_state *s, const char *name, int id, const char *filter)
{
	struct tp_event *e;

	if (s->nr_ev == s->cap_ev) {
		int cap = s->cap_ev ? s->cap_ev * 2 : 128;
		struct tp_event *v = realloc(s->ev, sizeof(*v) * (size_t)cap);

		if (!v)
			return -ENOMEM;
		s->ev = v;
		s->cap_ev = cap;
	}
	e = &s->ev[s->nr_ev++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->id = id;
	snprintf(e->filter, sizeof(e->filter), "%s", filter ? filter : "");
	return 0;
}

static int tp_read_id(const char *dir, const char *sys, const char *ev)
{
	char path[PATH_MAX], *text;
	int id = -1;

	snprintf(path, sizeof(path), "%s/%s/%s/id", dir, sys, ev);
	if (dbgfs_slurp(path, &text, NULL) < 0)
		return -1;
	if (sscanf(text, "%d", &id) != 1)
		id = -1;
	free(text);
	return id;
}

/* The symbol table for a split parent: the running kernel's, else a built-in one. */
static const struct dbgfs_symtab *tp_symtab(struct tp_state *s, const char *sys, const struct tp_split *sp,
					    struct dbgfs_format *fmt, bool *have_fmt)
{
	char path[PATH_MAX], cpuinfo[PATH_MAX], *text;
	const struct dbgfs_symtab *tab = NULL;
	bool svm;

	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", s->opt.proc_root ? s->opt.proc_root : dbgfs_default_proc);
	svm = dbgfs_cpu_is_svm(cpuinfo);
	snprintf(path, sizeof(path), "%s/%s/%s/format", s->events_dir, sys, sp->event);
	*have_fmt = false;
	if (dbgfs_slurp(path, &text, NULL) == 0) {
		*have_fmt = dbgfs_format_parse(text, fmt) == 0;
		free(text);
		if (*have_fmt)
			tab = dbgfs_format_symtab(fmt, sp->field, svm);
	}
	if (tab)
		return tab;
	dbgfs_notice(&s->opt, "%s: no exit-reason table in the format; using the built-in %s names", path,
		     sp->event[4] == 'u' ? "KVM_EXIT" : svm ? "SVM" : "VMX");
	return dbgfs_builtin_exits(sp->event[4] == 'u' ? DBGFS_EXITS_USERSPACE : svm ? DBGFS_EXITS_SVM : DBGFS_EXITS_VMX);
}

static int tp_add_children(struct tp_state *s, const char *sys, const char *event, int id, bool all)
{
	struct dbgfs_format fmt;
	const struct dbgfs_symtab *tab;
	char name[DBGFS_NAME_MAX * 2], filter[64];
	bool have_fmt;
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(tp_splits) / sizeof(tp_splits[0]); i++)
		if (strcmp(tp_splits[i].event, event) == 0)
			break;
	if (i == sizeof(tp_splits) / sizeof(tp_splits[0]))
		return 0;
	tab = tp_symtab(s, sys, &tp_splits[i], &fmt, &have_fmt);
	for (size_t k = 0; k < tab->n && ret == 0; k++) {
		snprintf(name, sizeof(name), "%s(%s)", event, tab->sym[k].name);
		snprintf(filter, sizeof(filter), "%s==%lld", tp_splits[i].field, (long long)tab->sym[k].value);
		if (tab->sym[k].value < 0)	/* not a value an unsigned field can hold ("invalid_guest_state") */
			continue;
		if (all || dbgfs_is_wanted(&s->opt, name))
			ret = tp_add_event(s, name, id, filter);
	}
	if (have_fmt)
		dbgfs_format_free(&fmt);
	return ret;
}

/* Events of one subsystem folder (kvm, kvmmmu). all: list everything (for -f help). */
static int tp_scan_system(struct tp_state *s, const char *sys, bool all)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret = 0, id;

	snprintf(path, sizeof(path), "%s/%s", s->events_dir, sys);
	d = opendir(path);
	if (!d)
		return -errno;
	while (ret == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type == DT_REG)
			continue;
		bool want = all || dbgfs_is_wanted(&s->opt, e->d_name);
		bool split = (all || s->opt.drilldown) && tp_is_split(e->d_name);

		if (!want && !split)
			continue;
		id = tp_read_id(s->events_dir, sys, e->d_name);
		if (id < 0)
			continue;
		if (want)
			ret = tp_add_event(s, e->d_name, id, NULL);
		if (ret == 0 && (all || s->opt.drilldown))
			ret = tp_add_children(s, sys, e->d_name, id, all);
	}
	closedir(d);
	return ret;
}

/* Opened first when lazy: the events that count exits and the usual reasons. */
static const char *const tp_first[] = {
	"kvm_exit", "kvm_userspace_exit", "kvm_pio", "kvm_mmio", "kvm_emulate_insn", "kvm_fpu", "kvm_msr", "kvm_page_fault",
};
#define TP_NR_FIRST (int)(sizeof(tp_first) / sizeof(tp_first[0]))
#define TP_LAZY_BATCH 24

static int tp_rank(const char *name)
{
	size_t n = strcspn(name, "(");

	for (int i = 0; i < TP_NR_FIRST; i++)
		if (strlen(tp_first[i]) == n && strncmp(tp_first[i], name, n) == 0)
			return i;
	return TP_NR_FIRST;
}

static int tp_cmp_event(const void *a, const void *b)
{
	const char *x = ((const struct tp_event *)a)->name, *y = ((const struct tp_event *)b)->name;
	int rx = tp_rank(x), ry = tp_rank(y);

	return rx != ry ? rx - ry : strcmp(x, y);
}

static int tp_scan(struct tp_state *s, bool all, char *why, size_t why_len)
{
	DIR *d = opendir(s->events_dir);
	struct dirent *e;
	int ret = 0, systems = 0;

	if (!d) {
		ret = -errno;
		return dbgfs_why(why, why_len, ret, "%s: %s (is tracefs mounted? %s)", s->events_dir, strerror(-ret),
				 dbgfs_mount_hint("tracefs"));
	}
	while (ret == 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, "kvm", 3) != 0)
			continue;
		systems++;
		ret = tp_scan_system(s, e->d_name, all);
	}
	closedir(d);
	if (ret < 0)
		return dbgfs_why(why, why_len, ret, "%s: %s", s->events_dir, strerror(-ret));
	if (!systems)
		return dbgfs_why(why, why_len, -ENOENT, "%s: no kvm events (is the kvm module loaded? is the kernel built with CONFIG_TRACING?)",
				 s->events_dir);
	qsort(s->ev, (size_t)s->nr_ev, sizeof(s->ev[0]), tp_cmp_event);
	return 0;
}

static int tp_perf_open(const struct tp_event *e, int tid, int cpu, int group_fd)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)e->id;
	attr.read_format = PERF_FORMAT_GROUP;
	attr.inherit = tid > 0;
	fd = (int)syscall(SYS_perf_event_open, &attr, tid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (e->filter[0] && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, e->filter) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static void tp_group_close(struct tp_state *s, struct tp_group *g)
{
	int i;

	for (i = s->nr_ev - 1; i >= 0 && g->fd; i--)
		if (g->fd[i] >= 0)
			close(g->fd[i]);
	free(g->fd);
	g->fd = NULL;
}

/* Opens events [from, to) of a group; the first one leads. */
static int tp_group_extend(struct tp_state *s, struct tp_group *g, int from, int to)
{
	for (int i = from; i < to; i++) {
		int fd = tp_perf_open(&s->ev[i], g->tid, g->cpu, i ? g->fd[0] : -1);

		if (fd < 0)
			/* only the leader's failure can mean an offline CPU; later ones are real errors */
			return i && (fd == -ENODEV || fd == -EINVAL) ? -EIO : fd;
		g->fd[i] = fd;
	}
	return 0;
}

static int tp_group_open(struct tp_state *s, struct tp_group *g)
{
	int ret;

	g->fd = malloc(sizeof(int) * (size_t)s->nr_ev);
	if (!g->fd)
		return -ENOMEM;
	for (int i = 0; i < s->nr_ev; i++)
		g->fd[i] = -1;
	ret = tp_group_extend(s, g, 0, s->nr_open);
	if (ret < 0)
		tp_group_close(s, g);
	return ret;
}

static int tp_add_group(struct tp_state *s, int tid, int cpu, int vcpu)
{
	struct tp_group *g;
	int ret;

	if (s->nr_grp == s->cap_grp) {
		int cap = s->cap_grp ? s->cap_grp * 2 : 8;
		struct tp_group *v = realloc(s->grp, sizeof(*v) * (size_t)cap);

		if (!v)
			return -ENOMEM;
		s->grp = v;
		s->cap_grp = cap;
	}
	g = &s->grp[s->nr_grp];
	g->tid = tid;
	g->cpu = cpu;
	g->vcpu = vcpu;
	g->alive = true;
	ret = tp_group_open(s, g);
	if (ret == 0)
		s->nr_grp++;
	return ret;
}

/* QEMU names vCPU threads "CPU 0/KVM", vmscope "vcpu0". */
static int tp_thread_vcpu(const struct tp_state *s, int tid)
{
	char path[PATH_MAX], comm[64];
	int n = -1, fd;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", s->opt.proc_root ? s->opt.proc_root : dbgfs_default_proc,
		 s->opt.pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	comm[r] = 0;
	if (sscanf(comm, "CPU %d/KVM", &n) == 1 || sscanf(comm, "vcpu%d", &n) == 1)
		return n;
	return -1;
}

static bool tp_has_tid(const struct tp_state *s, int tid)
{
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].tid == tid)
			return true;
	return false;
}

/* Opens a group for every thread of the pid (at open; later threads are inherited). */
static int tp_scan_threads(struct tp_state *s)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int tid, ret = 0, added = 0;

	snprintf(path, sizeof(path), "%s/%d/task", s->opt.proc_root ? s->opt.proc_root : dbgfs_default_proc, s->opt.pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		tid = atoi(e->d_name);
		if (tid <= 0 || tp_has_tid(s, tid))
			continue;
		ret = tp_add_group(s, tid, -1, tp_thread_vcpu(s, tid));
		if (ret == -ESRCH)	/* the thread ended meanwhile */
			ret = 0;
		if (ret < 0)
			break;
		added++;
	}
	closedir(d);
	return ret < 0 ? ret : added;
}

static void tp_raise_nofile(struct tp_state *s, int groups)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)groups * (rlim_t)s->nr_ev + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need)
		dbgfs_notice(&s->opt, "RLIMIT_NOFILE is %llu; %llu file descriptors wanted (filter fields with -f)",
			     (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

/* Opens one CPU's group from a thread running on that CPU: installing a per-CPU event is then a
 * local call instead of an IPI (costly when that CPU runs a guest, and serial otherwise). */
struct tp_cpu_job {
	struct tp_state *s;
	struct tp_group *g;
	int ret;
};

static void *tp_cpu_thread(void *arg)
{
	struct tp_cpu_job *j = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(j->g->cpu, &set);
	(void)!sched_setaffinity(0, sizeof(set), &set);
	j->ret = tp_group_open(j->s, j->g);
	return NULL;
}

static int tp_open_cpus(struct tp_state *s, int ncpu)
{
	struct tp_cpu_job *jobs = calloc((size_t)ncpu, sizeof(*jobs));
	pthread_t *th = calloc((size_t)ncpu, sizeof(*th));
	bool *started = calloc((size_t)ncpu, sizeof(*started));
	int cpu, ret = 0, opened = 0;

	s->grp = calloc((size_t)ncpu, sizeof(*s->grp));
	if (!jobs || !th || !started || !s->grp) {
		free(jobs), free(th), free(started);
		return -ENOMEM;
	}
	s->cap_grp = ncpu;
	for (cpu = 0; cpu < ncpu; cpu++) {
		s->grp[cpu] = (struct tp_group){ .tid = -1, .cpu = cpu, .vcpu = -1, .alive = true };
		jobs[cpu] = (struct tp_cpu_job){ s, &s->grp[cpu], 0 };
		started[cpu] = pthread_create(&th[cpu], NULL, tp_cpu_thread, &jobs[cpu]) == 0;
		if (!started[cpu])
			tp_cpu_thread(&jobs[cpu]);
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		if (started[cpu])
			pthread_join(th[cpu], NULL);
		if (jobs[cpu].ret == 0)
			s->grp[opened++] = s->grp[cpu];
		else if (jobs[cpu].ret != -ENODEV && jobs[cpu].ret != -EINVAL && !ret)	/* offline CPU */
			ret = jobs[cpu].ret;
	}
	s->nr_grp = opened;
	free(jobs), free(th), free(started);
	if (ret == 0 && !opened)
		ret = -ENODEV;
	return ret;
}

static int tp_open_groups(struct tp_state *s, char *why, size_t why_len)
{
	int ncpu = get_nprocs_conf(), ret;

	if (s->opt.pid) {
		tp_raise_nofile(s, 8);
		ret = tp_scan_threads(s);
		if (ret == -ENOENT)
			return dbgfs_why(why, why_len, -ESRCH, "pid %d: no such process", s->opt.pid);
	} else {
		tp_raise_nofile(s, ncpu);
		ret = tp_open_cpus(s, ncpu);
	}
	if (ret >= 0)
		return 0;
	return dbgfs_why(why, why_len, ret, "perf_event_open(kvm tracepoint): %s%s", strerror(-ret),
			 ret == -EACCES || ret == -EPERM ? " (needs root or CAP_PERFMON, or kernel.perf_event_paranoid <= -1)"
			 : ret == -EMFILE ? " (too many fields: filter with -f)" : "");
}

static void tp_close(void *state)
{
	struct tp_state *s = state;

	if (!s)
		return;
	for (int i = 0; i < s->nr_grp; i++)
		tp_group_close(s, &s->grp[i]);
	free(s->grp);
	free(s->ev);
	free(s->buf);
	free(s->sum);
	free(s->vsum);
	free(s);
}

static int tp_init(const struct dbgfs_options *opt, struct tp_state **out)
{
	struct tp_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	snprintf(s->events_dir, sizeof(s->events_dir), "%s/events",
		 opt->tracefs_root ? opt->tracefs_root : dbgfs_default_tracefs);
	*out = s;
	return 0;
}

static int tp_open(const struct dbgfs_options *opt, void **state, char *why, size_t why_len)
{
	struct tp_state *s;
	int ret = tp_init(opt, &s);

	if (ret < 0)
		return ret;
	ret = tp_scan(s, false, why, why_len);
	if (ret == 0 && s->nr_ev == 0)
		ret = dbgfs_why(why, why_len, -ENOENT, "no kvm tracepoint matches the field filter");
	if (ret == 0) {
		s->nr_open = s->nr_ev;
		if (opt->lazy) {
			int first = 0;

			while (first < s->nr_ev && tp_rank(s->ev[first].name) < TP_NR_FIRST)
				first++;
			s->nr_open = first ? first : 1;
		}
		s->max_vcpu = 64;
		s->buf = calloc((size_t)s->nr_ev + 1, sizeof(uint64_t));
		s->sum = calloc((size_t)s->nr_ev, sizeof(uint64_t));
		s->vsum = calloc((size_t)s->nr_ev * (size_t)s->max_vcpu, sizeof(uint64_t));
		ret = s->buf && s->sum && s->vsum ? tp_open_groups(s, why, why_len) : -ENOMEM;
	}
	if (ret < 0) {
		tp_close(s);
		return ret;
	}
	*state = s;
	return 0;
}

static void tp_add(struct tp_state *s, const struct tp_group *g, int i, uint64_t v)
{
	s->sum[i] += v;
	if (g->vcpu >= 0 && g->vcpu < s->max_vcpu)
		s->vsum[g->vcpu * s->nr_ev + i] += v;
}

/*
 * Adds one group's counters into s->sum (and s->vsum for a vCPU thread): one read for the whole
 * group. When its thread has ended the kernel breaks the group up; each event is then read alone.
 */
static void tp_read_group(struct tp_state *s, struct tp_group *g)
{
	size_t want = sizeof(uint64_t) * ((size_t)s->nr_open + 1);
	ssize_t r = read(g->fd[0], s->buf, want);

	if (r == (ssize_t)want && s->buf[0] == (uint64_t)s->nr_open) {
		for (int i = 0; i < s->nr_open; i++)
			tp_add(s, g, i, s->buf[1 + i]);
		return;
	}
	for (int i = 0; i < s->nr_open; i++) {
		r = read(g->fd[i], s->buf, want);
		if (r >= (ssize_t)(2 * sizeof(uint64_t)) && s->buf[0] == 1)
			tp_add(s, g, i, s->buf[1]);
	}
}

static bool tp_has_vcpu(const struct tp_state *s, int vcpu)
{
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].vcpu == vcpu)
			return true;
	return false;
}

static int tp_emit(struct tp_state *s, struct dbgfs_samples *out)
{
	int i, v, ret = 0;

	for (i = 0; i < s->nr_open && ret == 0; i++)
		ret = dbgfs_samples_add(out, s->ev[i].name, s->opt.pid, -1, s->sum[i]);
	if (!s->opt.per_vcpu || !s->opt.pid)
		return ret;
	for (v = 0; v < s->max_vcpu; v++)
		for (i = 0; i < s->nr_open && ret == 0; i++)
			if (s->vsum[v * s->nr_ev + i] || tp_has_vcpu(s, v))
				ret = dbgfs_samples_add(out, s->ev[i].name, s->opt.pid, v, s->vsum[v * s->nr_ev + i]);
	return ret;
}

/* Lazy opening: the next batch of events in every group (they count from the next read on). */
static void tp_open_more(struct tp_state *s)
{
	int to = s->nr_open + TP_LAZY_BATCH < s->nr_ev ? s->nr_open + TP_LAZY_BATCH : s->nr_ev;

	for (int i = 0; i < s->nr_grp; i++) {
		int ret = tp_group_extend(s, &s->grp[i], s->nr_open, to);

		if (ret < 0) {
			dbgfs_notice(&s->opt, "perf_event_open(kvm tracepoint): %s; showing %d of %d events", strerror(-ret),
				     s->nr_open, s->nr_ev);
			for (int k = 0; k <= i; k++)	/* keep what is open everywhere, nothing more */
				for (int e = s->nr_open; e < to; e++)
					if (s->grp[k].fd[e] >= 0) {
						close(s->grp[k].fd[e]);
						s->grp[k].fd[e] = -1;
					}
			s->nr_ev = s->nr_open;
			return;
		}
	}
	s->nr_open = to;
}

static int tp_read(void *state, struct dbgfs_samples *out)
{
	struct tp_state *s = state;
	int ret;

	char path[PATH_MAX];
	bool gone = false;

	if (s->opt.pid) {
		snprintf(path, sizeof(path), "%s/%d", s->opt.proc_root ? s->opt.proc_root : dbgfs_default_proc, s->opt.pid);
		gone = access(path, F_OK) < 0;
	}
	memset(s->sum, 0, sizeof(uint64_t) * (size_t)s->nr_ev);
	if (s->opt.per_vcpu)
		memset(s->vsum, 0, sizeof(uint64_t) * (size_t)s->nr_ev * (size_t)s->max_vcpu);
	for (int i = 0; i < s->nr_grp; i++)
		tp_read_group(s, &s->grp[i]);
	ret = tp_emit(s, out);
	if (ret == 0 && s->nr_open < s->nr_ev)
		tp_open_more(s);
	return ret == 0 && gone ? -ESRCH : ret;	/* the counts of a finished process stay readable */
}

static int tp_fields(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len)
{
	struct tp_state *s;
	int ret = tp_init(opt, &s);

	if (ret < 0)
		return ret;
	ret = tp_scan(s, true, why, why_len);
	for (int i = 0; i < s->nr_ev && ret == 0; i++)
		ret = dbgfs_samples_add(out, s->ev[i].name, 0, -1, 0);
	tp_close(s);
	return ret;
}

const struct dbgfs_provider_ops dbgfs_tracepoint_provider = {
	.name = "tracepoints",
	.open = tp_open,
	.read = tp_read,
	.close = tp_close,
	.fields = tp_fields,
};
