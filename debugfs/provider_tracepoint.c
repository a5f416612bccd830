/* SPDX-License-Identifier: MIT */
/*
 * The tracepoint provider: <tracefs>/events/kvm{,mmu}/EVENT counted with perf_event_open, one
 * group per CPU (every VM) or one group per thread of a pid. Per-thread groups are inherited, so
 * threads the process creates later are counted in the VM's sums from their first event on, even
 * when they end between two reads; with per_vcpu, vCPU threads found later also get groups of their
 * own for their vCPU's rows. Per-exit-reason children are the same tracepoint with a filter
 * ("exit_reason==12") set through PERF_EVENT_IOC_SET_FILTER; their names come from the running
 * kernel's format (__print_symbolic), with built-in VMX/SVM tables as the fallback.
 * Only the fields the caller wants are opened: the exit events before the open returns, the rest
 * in the background (each sample then says how long it has counted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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
	int *fd;		/* [nr_ev]; fd[0] leads the first batch, fd[nr_first] the rest */
	bool ok;		/* open (false: offline CPU, thread ended, or a thread kept without counters) */
	bool whole;		/* opened at start, inherited: counted in the VM's sums */
	bool late;		/* a vCPU thread found later: counted in its vCPU's rows only */
	bool seen;		/* in /proc/PID/task at the last rescan */
	int checks;		/* times its name was read (a new thread may not have named itself yet) */
	double t_open;		/* when its first batch was opened */
	uint64_t *final;	/* a late group whose thread ended: its last counts (fds closed) */
};

struct tp_job;
enum { TP_REST_OPENING, TP_REST_READY, TP_REST_FAILED };

struct tp_state {
	struct dbgfs_options opt;
	char events_dir[PATH_MAX];
	struct tp_event *ev;
	int nr_ev, cap_ev;
	const char *proc;
	int nr_first;		/* events [0, nr_first) are opened before the first read */
	int nr_shown;		/* events reported: nr_first until the rest counts, then nr_ev */
	struct tp_group *grp;
	int nr_grp, cap_grp;
	uint64_t *buf;		/* group read buffer: nr + values */
	uint64_t *vals;		/* one group's values */
	uint64_t *sum;		/* per event */
	uint64_t *vsum;		/* per vcpu and event, when per_vcpu */
	double *vt;		/* per vcpu: when a late group started counting it (0: at start) */
	int max_vcpu;
	/* the rest [nr_first, nr_ev), opened by background threads */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int first_left, rest_left, enable_left;	/* groups still opening the first batch, ... */
	atomic_int rest;	/* TP_REST_* */
	atomic_bool cancel;
	int rest_err;
	double t_rest;		/* when the rest started counting */
	bool rest_seen;
	struct tp_job *jobs;
	pthread_t *th;
	int nr_th;
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

/* Opened before the first read: the events that count exits and the usual reasons. */
static const char *const tp_first[] = {
	"kvm_exit", "kvm_userspace_exit", "kvm_pio", "kvm_mmio", "kvm_emulate_insn", "kvm_fpu", "kvm_msr", "kvm_page_fault",
};
#define TP_NR_FIRST (int)(sizeof(tp_first) / sizeof(tp_first[0]))
#define TP_REST_NICE 10	/* the background opening's nice value (a thread's own on Linux) */
#define TP_NAME_CHECKS 3	/* refreshes a new thread has to name itself "vcpuN" / "CPU N/KVM" */
#define TP_SMALL_REST 4	/* no background opening for fewer than this many more */

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
	if (s->nr_ev)
		qsort(s->ev, (size_t)s->nr_ev, sizeof(s->ev[0]), tp_cmp_event);
	return 0;
}

/* One perf group per CPU or thread: one read() returns every counter of it. */
static int tp_leader(const struct tp_group *g, int i)
{
	return i ? g->fd[0] : -1;
}

static int tp_perf_open(const struct tp_event *e, const struct tp_group *g, int group_fd, bool disabled)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)e->id;
	attr.read_format = PERF_FORMAT_GROUP;
	attr.inherit = g->tid > 0 && g->whole;
	attr.disabled = disabled;
	fd = (int)syscall(SYS_perf_event_open, &attr, g->tid, g->cpu, group_fd, PERF_FLAG_FD_CLOEXEC);
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
	g->ok = false;
}

/* Opens events [from, to) of a group (the rest disabled, enabled later one by one from the
 * thread that opened them: a local call, microseconds apart); stops early when cancelled. */
static int tp_group_extend(struct tp_state *s, struct tp_group *g, int from, int to, bool disabled)
{
	for (int i = from; i < to; i++) {
		int fd;

		if (atomic_load(&s->cancel))
			return -ECANCELED;
		fd = tp_perf_open(&s->ev[i], g, tp_leader(g, i), disabled);
		if (fd < 0)
			/* only the leader's failure can mean an offline CPU; later ones are real errors */
			return i && (fd == -ENODEV || fd == -EINVAL) ? -EIO : fd;
		g->fd[i] = fd;
	}
	return 0;
}

/* Opens the first batch of a group (all of it for a group opened after the start). */
static int tp_group_open(struct tp_state *s, struct tp_group *g, int to)
{
	int ret;

	g->fd = malloc(sizeof(int) * (size_t)s->nr_ev);
	if (!g->fd)
		return -ENOMEM;
	for (int i = 0; i < s->nr_ev; i++)
		g->fd[i] = -1;
	g->t_open = dbgfs_now();
	ret = tp_group_extend(s, g, 0, to, false);
	if (ret < 0)
		tp_group_close(s, g);
	g->ok = ret == 0;
	return ret;
}

static struct tp_group *tp_new_group(struct tp_state *s, int tid, int cpu, int vcpu, bool whole)
{
	struct tp_group *g;

	if (s->nr_grp == s->cap_grp) {
		int cap = s->cap_grp ? s->cap_grp * 2 : 8;
		struct tp_group *v = realloc(s->grp, sizeof(*v) * (size_t)cap);

		if (!v)
			return NULL;
		s->grp = v;
		s->cap_grp = cap;
	}
	g = &s->grp[s->nr_grp++];
	*g = (struct tp_group){ .tid = tid, .cpu = cpu, .vcpu = vcpu, .whole = whole };
	return g;
}

/* QEMU names vCPU threads "CPU 0/KVM", vmscope "vcpu0". */
static int tp_thread_vcpu(const struct tp_state *s, int tid)
{
	char path[PATH_MAX], comm[64];
	int n = -1, fd;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", s->proc, s->opt.pid, tid);
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

static struct tp_group *tp_find_tid(struct tp_state *s, int tid)
{
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].tid == tid)
			return &s->grp[i];
	return NULL;
}

/* At open: a group (inherited, so later threads count in their creator's) for every thread of
 * the pid, first batch only. */
static int tp_scan_threads(struct tp_state *s)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int tid, ret = 0, added = 0;

	snprintf(path, sizeof(path), "%s/%d/task", s->proc, s->opt.pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct tp_group *g;

		tid = atoi(e->d_name);
		if (tid <= 0 || tp_find_tid(s, tid))
			continue;
		g = tp_new_group(s, tid, -1, tp_thread_vcpu(s, tid), true);
		ret = g ? tp_group_open(s, g, s->nr_first) : -ENOMEM;
		if (ret == -ESRCH)	/* the thread ended meanwhile */
			ret = 0;
		if (ret < 0)
			break;
		added++;
	}
	closedir(d);
	return ret < 0 ? ret : added;
}

static void tp_group_values(struct tp_state *s, struct tp_group *g, uint64_t *vals);

/* A late vCPU thread has ended: its last counts are kept (reading them after the close would be
 * too late), its descriptors closed. */
static void tp_group_end(struct tp_state *s, struct tp_group *g)
{
	uint64_t *final = calloc((size_t)s->nr_ev, sizeof(uint64_t));

	if (final)
		tp_group_values(s, g, final);
	tp_group_close(s, g);
	g->final = final;
}

/*
 * Per-vCPU counts of threads that started after the open: each refresh, a vCPU thread not seen
 * before gets its own group (not inherited: its counts are already in its creator's inherited
 * group, so it feeds only its vCPU's rows, from its opening on). Threads that ended are closed
 * (other groups still hold the tracepoints: closing is cheap) and their vCPU rows keep their last
 * counts. Other threads are remembered without counters.
 */
static void tp_rescan_threads(struct tp_state *s)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/task", s->proc, s->opt.pid);
	d = opendir(path);
	if (!d)
		return;
	for (int i = 0; i < s->nr_grp; i++)
		s->grp[i].seen = false;
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name), vcpu;
		struct tp_group *g;

		if (tid <= 0)
			continue;
		if ((g = tp_find_tid(s, tid)) && (!g->late || g->vcpu >= 0 || g->checks >= TP_NAME_CHECKS)) {
			g->seen = true;
			continue;
		}
		vcpu = tp_thread_vcpu(s, tid);
		if (!g && !(g = tp_new_group(s, tid, -1, vcpu, false)))
			break;
		g->vcpu = vcpu;
		g->seen = true;
		g->late = true;
		g->checks++;
		if (vcpu >= 0 && vcpu < s->max_vcpu && tp_group_open(s, g, s->nr_shown) < 0)
			g->ok = false;	/* ended meanwhile, or out of descriptors: its counts stay in the VM's */
	}
	closedir(d);
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].late && !s->grp[i].seen && s->grp[i].ok)
			tp_group_end(s, &s->grp[i]);
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

/* ---- the rest, opened in the background ----
 * Registering a tracepoint with perf patches kernel text on every CPU (~0.3 ms each here), so
 * ~100 events cost ~30 ms. Only the first batch (the exit events) delays the first interval; the
 * rest is opened disabled by background threads, then enabled at once, and reported from the first
 * read after that with the time it has counted (never as zeros before it counts). */

/* Waits (s->lock held) until *left is 0 or the open is cancelled. */
static void tp_wait_zero(struct tp_state *s, int *left)
{
	while (*left > 0 && !atomic_load(&s->cancel))
		pthread_cond_wait(&s->cond, &s->lock);
}

static void tp_count_down(struct tp_state *s, int *left)
{
	pthread_mutex_lock(&s->lock);
	(*left)--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Opens the rest of group g, disabled (nothing counts before every group has it). */
static void tp_rest_open(struct tp_state *s, struct tp_group *g)
{
	int ret = g->ok ? tp_group_extend(s, g, s->nr_first, s->nr_ev, true) : 0;

	pthread_mutex_lock(&s->lock);
	if (ret < 0 && !s->rest_err)
		s->rest_err = ret;
	s->rest_left--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Once every group has opened the rest: enables g's and records when counting began. */
static void tp_rest_enable(struct tp_state *s, struct tp_group *g)
{
	bool skip;
	double t;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	tp_wait_zero(s, &s->rest_left);
	skip = s->rest_err || atomic_load(&s->cancel) || !g->ok;
	pthread_mutex_unlock(&s->lock);
	if (skip)
		return;
	t = dbgfs_now();
	for (int i = s->nr_first; i < s->nr_ev && !err; i++)
		if (ioctl(g->fd[i], PERF_EVENT_IOC_ENABLE, 0) < 0 && errno != ESRCH)
			err = -errno;
	pthread_mutex_lock(&s->lock);
	if (err && !s->rest_err)
		s->rest_err = err;
	if (!err && (!s->t_rest || t < s->t_rest))
		s->t_rest = t;
	pthread_mutex_unlock(&s->lock);
}

/* The last group to finish publishes the outcome. */
static void tp_rest_done(struct tp_state *s)
{
	pthread_mutex_lock(&s->lock);
	if (--s->enable_left == 0)
		atomic_store(&s->rest, s->rest_err || atomic_load(&s->cancel) ? TP_REST_FAILED : TP_REST_READY);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* One CPU's group, from a thread running on that CPU: installing a per-CPU event is then a local
 * call instead of an IPI. The first batch, then (after telling the opener) the rest. */
struct tp_job {
	struct tp_state *s;
	int first, n;		/* groups [first, first + n) */
	int ret;
};

/* The rest is opened at a lower priority than the reads that show the first batch (and never
 * under a real-time policy kvmstat may have been started with). */
static void tp_background_priority(void)
{
	struct sched_param sp = { 0 };

	(void)!sched_setscheduler(0, SCHED_OTHER, &sp);
	(void)!setpriority(PRIO_PROCESS, 0, TP_REST_NICE);
}

static void *tp_cpu_thread(void *arg)
{
	struct tp_job *j = arg;
	struct tp_state *s = j->s;
	struct tp_group *g = &s->grp[j->first];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(g->cpu, &set);
	(void)!sched_setaffinity(0, sizeof(set), &set);
	j->ret = tp_group_open(s, g, s->nr_first);
	tp_count_down(s, &s->first_left);
	if (s->nr_first < s->nr_ev) {
		/* no rest before every CPU has its first batch: a low-priority thread holding the
		 * kernel's tracepoint locks would delay another CPU's first batch */
		pthread_mutex_lock(&s->lock);
		tp_wait_zero(s, &s->first_left);
		pthread_mutex_unlock(&s->lock);
		tp_background_priority();
		tp_rest_open(s, g);
		tp_rest_enable(s, g);
		tp_rest_done(s);
	}
	return NULL;
}

/* Per-thread groups (-p): the rest of every group from one background thread. */
static void *tp_task_thread(void *arg)
{
	struct tp_job *j = arg;

	tp_background_priority();
	for (int i = j->first; i < j->first + j->n; i++)
		tp_rest_open(j->s, &j->s->grp[i]);
	for (int i = j->first; i < j->first + j->n; i++) {
		tp_rest_enable(j->s, &j->s->grp[i]);
		tp_rest_done(j->s);
	}
	return NULL;
}

static int tp_start_threads(struct tp_state *s, int n, void *(*fn)(void *), int per_thread)
{
	s->jobs = calloc((size_t)n, sizeof(*s->jobs));
	s->th = calloc((size_t)n, sizeof(*s->th));
	if (!s->jobs || !s->th)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		s->jobs[i] = (struct tp_job){ s, i * per_thread, per_thread, 0 };
		if (pthread_create(&s->th[i], NULL, fn, &s->jobs[i]) != 0) {
			atomic_store(&s->cancel, true);
			return -EAGAIN;
		}
		s->nr_th++;
	}
	return 0;
}

static void tp_join(struct tp_state *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < s->nr_th; i++)
		pthread_join(s->th[i], NULL);
	s->nr_th = 0;
}

static int tp_open_cpus(struct tp_state *s, int ncpu)
{
	int ret, opened = 0;

	s->grp = calloc((size_t)ncpu, sizeof(*s->grp));
	if (!s->grp)
		return -ENOMEM;
	s->cap_grp = ncpu;
	for (int cpu = 0; cpu < ncpu; cpu++)
		tp_new_group(s, -1, cpu, -1, true);
	s->first_left = s->rest_left = s->enable_left = ncpu;
	ret = tp_start_threads(s, ncpu, tp_cpu_thread, 1);
	pthread_mutex_lock(&s->lock);
	tp_wait_zero(s, &s->first_left);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		ret = s->jobs[cpu].ret;
		if (ret == 0)
			opened++;
		else if (ret != -ENODEV && ret != -EINVAL)	/* offline CPU */
			return ret;
	}
	return opened ? 0 : -ENODEV;
}

static int tp_open_tasks(struct tp_state *s)
{
	int ret = tp_scan_threads(s);

	if (ret < 0 || s->nr_first == s->nr_ev)
		return ret;
	s->rest_left = s->enable_left = s->nr_grp;
	return tp_start_threads(s, 1, tp_task_thread, s->nr_grp);
}

static int tp_open_groups(struct tp_state *s, char *why, size_t why_len)
{
	int ncpu = get_nprocs_conf(), ret;

	if (s->opt.pid) {
		tp_raise_nofile(s, 8 + (s->opt.per_vcpu ? 8 : 0));
		ret = tp_open_tasks(s);
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
	atomic_store(&s->cancel, true);
	tp_join(s);
	for (int i = 0; i < s->nr_grp; i++) {
		tp_group_close(s, &s->grp[i]);
		free(s->grp[i].final);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->jobs);
	free(s->th);
	free(s->grp);
	free(s->ev);
	free(s->buf);
	free(s->vals);
	free(s->sum);
	free(s->vsum);
	free(s->vt);
	free(s);
}

static int tp_init(const struct dbgfs_options *opt, struct tp_state **out)
{
	struct tp_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	s->proc = opt->proc_root ? opt->proc_root : dbgfs_default_proc;
	snprintf(s->events_dir, sizeof(s->events_dir), "%s/events",
		 opt->tracefs_root ? opt->tracefs_root : dbgfs_default_tracefs);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = s;
	return 0;
}

/* The first batch: the exit events (or the first event when none is wanted), everything when
 * there is little else. */
static int tp_first_batch(const struct tp_state *s)
{
	int first = 0;

	while (first < s->nr_ev && tp_rank(s->ev[first].name) < TP_NR_FIRST)
		first++;
	if (!first)
		first = 1;
	return s->nr_ev - first <= TP_SMALL_REST ? s->nr_ev : first;
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
		s->nr_first = tp_first_batch(s);
		s->nr_shown = s->nr_first;
		atomic_store(&s->rest, s->nr_first == s->nr_ev ? TP_REST_READY : TP_REST_OPENING);
		s->max_vcpu = 64;
		s->buf = calloc((size_t)s->nr_ev + 1, sizeof(uint64_t));
		s->vals = calloc((size_t)s->nr_ev, sizeof(uint64_t));
		s->sum = calloc((size_t)s->nr_ev, sizeof(uint64_t));
		s->vsum = calloc((size_t)s->nr_ev * (size_t)s->max_vcpu, sizeof(uint64_t));
		s->vt = calloc((size_t)s->max_vcpu, sizeof(double));
		ret = s->buf && s->vals && s->sum && s->vsum && s->vt ? tp_open_groups(s, why, why_len) : -ENOMEM;
	}
	if (ret < 0) {
		tp_close(s);
		return ret;
	}
	if (atomic_load(&s->rest) == TP_REST_READY)
		s->nr_shown = s->nr_ev;
	*state = s;
	return 0;
}

static void tp_add(struct tp_state *s, const struct tp_group *g, int i, uint64_t v)
{
	if (g->whole)
		s->sum[i] += v;
	if (g->vcpu >= 0 && g->vcpu < s->max_vcpu && (g->whole || g->late))
		s->vsum[g->vcpu * s->nr_ev + i] += v;
}

/*
 * The shown events' counts of one group, into vals: one read for the group (which may be growing:
 * the background opening adds to it). When its thread has ended the kernel breaks the group up;
 * each event is then read alone (0 when it cannot be).
 */
static void tp_group_values(struct tp_state *s, struct tp_group *g, uint64_t *vals)
{
	size_t cap = sizeof(uint64_t) * ((size_t)s->nr_ev + 1);
	ssize_t r;

	if (g->final) {	/* its thread has ended: the counts it had then */
		memcpy(vals, g->final, sizeof(uint64_t) * (size_t)s->nr_shown);
		return;
	}
	r = read(g->fd[0], s->buf, cap);
	if (r >= (ssize_t)sizeof(uint64_t) && s->buf[0] >= (uint64_t)s->nr_shown &&
	    (size_t)r == sizeof(uint64_t) * (s->buf[0] + 1)) {
		memcpy(vals, s->buf + 1, sizeof(uint64_t) * (size_t)s->nr_shown);
		return;
	}
	for (int i = 0; i < s->nr_shown; i++) {
		r = g->fd[i] >= 0 ? read(g->fd[i], s->buf, cap) : -1;
		vals[i] = r >= (ssize_t)(2 * sizeof(uint64_t)) && s->buf[0] == 1 ? s->buf[1] : 0;
	}
}

/* Adds a group's counts into s->sum (and s->vsum for a vCPU thread). */
static void tp_read_group(struct tp_state *s, struct tp_group *g)
{
	tp_group_values(s, g, s->vals);
	for (int i = 0; i < s->nr_shown; i++)
		tp_add(s, g, i, s->vals[i]);
}

static bool tp_has_vcpu(const struct tp_state *s, int vcpu)
{
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].vcpu == vcpu && (s->grp[i].ok || s->grp[i].final) && (s->grp[i].whole || s->grp[i].late))
			return true;
	return false;
}

/* Nanoseconds event i has counted when it started after the first read (0: since the open). */
static uint64_t tp_counted_ns(const struct tp_state *s, int i, double vt, double now)
{
	double t0 = i >= s->nr_first ? s->t_rest : 0;

	if (vt > t0)
		t0 = vt;
	return t0 > 0 && now > t0 ? (uint64_t)((now - t0) * 1e9) : 0;
}

static int tp_emit(struct tp_state *s, struct dbgfs_samples *out, double now)
{
	int i, v, ret = 0;

	for (i = 0; i < s->nr_shown && ret == 0; i++)
		if ((ret = dbgfs_samples_add(out, s->ev[i].name, s->opt.pid, -1, s->sum[i])) == 0)
			out->v[out->n - 1].ns = tp_counted_ns(s, i, 0, now);
	if (!s->opt.per_vcpu || !s->opt.pid)
		return ret;
	for (v = 0; v < s->max_vcpu; v++)
		for (i = 0; i < s->nr_shown && ret == 0; i++)
			if ((s->vsum[v * s->nr_ev + i] || tp_has_vcpu(s, v)) &&
			    (ret = dbgfs_samples_add(out, s->ev[i].name, s->opt.pid, v, s->vsum[v * s->nr_ev + i])) == 0)
				out->v[out->n - 1].ns = tp_counted_ns(s, i, s->vt[v], now);
	return ret;
}

/* Once the background opening has ended: join its threads; show the rest, or say why not. */
static void tp_rest_settled(struct tp_state *s)
{
	int st = atomic_load(&s->rest);

	if (st == TP_REST_OPENING || s->nr_shown == s->nr_ev || s->rest_seen)
		return;
	tp_join(s);
	s->rest_seen = true;
	if (st == TP_REST_READY) {
		s->nr_shown = s->nr_ev;
		return;
	}
	dbgfs_notice(&s->opt, "perf_event_open(kvm tracepoint): %s; showing %d of %d events", strerror(-s->rest_err),
		     s->nr_first, s->nr_ev);
}

static int tp_settle(void *state)
{
	struct tp_state *s = state;

	pthread_mutex_lock(&s->lock);
	while (atomic_load(&s->rest) == TP_REST_OPENING)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	tp_rest_settled(s);
	return 0;
}

/* A vCPU thread's group opened after the start: its rows count from then. */
static void tp_note_late(struct tp_state *s)
{
	for (int i = 0; i < s->nr_grp; i++)
		if (s->grp[i].late && s->grp[i].ok && s->grp[i].vcpu >= 0 && s->grp[i].vcpu < s->max_vcpu &&
		    !s->vt[s->grp[i].vcpu])
			s->vt[s->grp[i].vcpu] = s->grp[i].t_open;
}

static int tp_read(void *state, struct dbgfs_samples *out)
{
	struct tp_state *s = state;
	char path[PATH_MAX];
	bool gone = false;
	double now;
	int ret;

	tp_rest_settled(s);
	if (s->opt.pid) {
		snprintf(path, sizeof(path), "%s/%d", s->proc, s->opt.pid);
		gone = access(path, F_OK) < 0;
		if (!gone && s->opt.per_vcpu && s->nr_th == 0)
			tp_rescan_threads(s);
		tp_note_late(s);
	}
	memset(s->sum, 0, sizeof(uint64_t) * (size_t)s->nr_ev);
	if (s->opt.per_vcpu)
		memset(s->vsum, 0, sizeof(uint64_t) * (size_t)s->nr_ev * (size_t)s->max_vcpu);
	now = dbgfs_now();
	for (int i = 0; i < s->nr_grp; i++) {
		if (!s->grp[i].ok && !s->grp[i].final)
			continue;
		tp_read_group(s, &s->grp[i]);
	}
	ret = tp_emit(s, out, now);
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
	.settle = tp_settle,
};
