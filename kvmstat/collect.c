/* SPDX-License-Identifier: MIT */
/*
 * The model: reads every open source, keeps one series per (name, pid, vcpu) with its baseline,
 * and aggregates the series into the rows of the current view. Counters of a VM that goes away
 * stay in the totals (they never run backwards). No terminal drawing here (see ui.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmstat/kvmstat.h"

struct kvmstat_series {
	char name[DBGFS_NAME_MAX];
	int pid, vcpu;
	int src;
	uint64_t base, last;
	uint64_t carried;	/* counted before the counter restarted (same key, new VM) */
	unsigned seen;		/* refresh count of the last sighting */
	uint64_t ns;		/* the sample's counting time (0: counted since its source opened) */
	double window;		/* seconds it counted in the last interval when shorter; 0 = all of it */
	uint64_t delta;		/* what it added at its last sighting */
	int exit_k;		/* index in kvmstat_exit_signals, -1 when it does not count exits */
	struct kvmstat_row *row;	/* its row in the view, valid while row_gen is the model's */
	unsigned row_gen;
	struct kvmstat_series *next;	/* hash chain */
	struct kvmstat_series *all;	/* every series */
};

/* Events that count VM exits, best first: the Total row sums the first one that counts. */
static const char *const kvmstat_exit_signals[] = { "exits", "kvm_exit", "kvm_userspace_exit", "vmscope.exits" };

static uint32_t kvmstat_hash(const char *s, uint32_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

bool kvmstat_model_is_wanted(const struct kvmstat_model *m, const char *name)
{
	return !m->has_re || regexec(&m->re, name, 0, NULL, 0) == 0;
}

static bool kvmstat_want_cb(void *opaque, const char *name)
{
	const struct kvmstat_model *m = opaque;
	const char *paren = strchr(name, '(');
	char parent[DBGFS_NAME_MAX];

	if (kvmstat_model_is_wanted(m, name))
		return true;
	if (!paren)
		return false;
	/* a child is shown with its parent: kvm_exit matching pulls in kvm_exit(HLT) */
	snprintf(parent, sizeof(parent), "%.*s", (int)(paren - name), name);
	return kvmstat_model_is_wanted(m, parent);
}

static void kvmstat_notice_cb(void *opaque, const char *msg)
{
	struct kvmstat_model *m = opaque;

	snprintf(m->notice, sizeof(m->notice), "%s", msg);
	if (m->on_notice)
		m->on_notice(m->notice_opaque, msg);
}

int kvmstat_regex_check(const char *text, char *why, size_t why_len)
{
	regex_t re;
	int rc = regcomp(&re, text, REG_EXTENDED | REG_NOSUB);

	if (rc) {
		char err[128];

		regerror(rc, &re, err, sizeof(err));
		snprintf(why, why_len, "\"%s\" is not a valid regular expression: %s", text, err);
		return -EINVAL;
	}
	regfree(&re);
	return 0;
}

static int kvmstat_compile(struct kvmstat_model *m, const char *text, char *why, size_t why_len)
{
	int ret;

	if (m->has_re)
		regfree(&m->re);
	m->has_re = false;
	m->re_text[0] = 0;
	if (!text || !*text)
		return 0;
	ret = kvmstat_regex_check(text, why, why_len);
	if (ret < 0)
		return ret;
	if (regcomp(&m->re, text, REG_EXTENDED | REG_NOSUB))
		return -EINVAL;
	m->has_re = true;
	snprintf(m->re_text, sizeof(m->re_text), "%s", text);
	return 0;
}

int kvmstat_model_init(struct kvmstat_model *m, const struct kvmstat_opts *opt, char *why, size_t why_len)
{
	memset(m, 0, sizeof(*m));
	m->opt = *opt;
	m->dopt.debugfs_root = opt->debugfs_root;
	m->dopt.tracefs_root = opt->tracefs_root;
	m->dopt.proc_root = opt->proc_root;
	m->dopt.qmp_path = opt->qmp;
	m->dopt.qmp_dir = opt->qmp_dir;
	m->dopt.pid = opt->pid;
	m->dopt.drilldown = opt->drilldown || (opt->fields && strchr(opt->fields, '('));
	m->dopt.per_vcpu = opt->per_vcpu;
	m->dopt.want = kvmstat_want_cb;
	m->dopt.want_opaque = m;
	m->dopt.notice = kvmstat_notice_cb;
	m->dopt.notice_opaque = m;
	m->row_gen = 1;
	m->stab_size = 4096;
	m->rtab_size = 4096;
	m->stab = calloc(m->stab_size, sizeof(*m->stab));
	m->rtab = calloc(m->rtab_size, sizeof(*m->rtab));
	if (!m->stab || !m->rtab)
		return -ENOMEM;
	return kvmstat_compile(m, opt->fields, why, why_len);
}

/* ---- sources ---- */

struct kvmstat_src_def {
	unsigned mask;
	const struct dbgfs_provider_ops *ops;
	bool since_open;
};
static const struct kvmstat_src_def kvmstat_src_defs[] = {
	{ KVMSTAT_SRC_QMP, &dbgfs_qmp_provider, false },
	{ KVMSTAT_SRC_VMSCOPE, &dbgfs_vmscope_qmp_provider, false },
	{ KVMSTAT_SRC_TRACEPOINTS, &dbgfs_tracepoint_provider, true },
	{ KVMSTAT_SRC_DEBUGFS, &dbgfs_debugfs_provider, false },
};

static int kvmstat_open_one(struct kvmstat_model *m, const struct kvmstat_src_def *d, char *why, size_t why_len)
{
	struct kvmstat_source *s = &m->src[m->nr_src];
	int ret = d->ops->open(&m->dopt, &s->state, why, why_len);

	if (ret < 0)
		return ret;
	s->ops = d->ops;
	s->since_open = d->since_open;
	m->nr_src++;
	snprintf(m->src_names + strlen(m->src_names), sizeof(m->src_names) - strlen(m->src_names), "%s%s",
		 m->src_names[0] ? "+" : "", d->ops->name);
	return ret;	/* vmscope-qmp: how many guests it found */
}

/*
 * Explicit sources (-d, -t, --qmp) must all open. Without any, take tracepoints, else debugfs,
 * and say why the others were not used. Optional ones (a vmscope guest's QMP socket, or all of
 * them) are added when they open, but never stand in for the host-wide source.
 */
int kvmstat_model_open(struct kvmstat_model *m, char *why, size_t why_len)
{
	unsigned want = (m->opt.sources | (m->opt.qmp ? KVMSTAT_SRC_QMP : 0)) & ~m->opt.optional;
	char msg[512];
	int ret = -ENOENT, picked = 0;
	bool standin = false;

	m->src_names[0] = 0;
	m->nr_src = 0;
	for (size_t i = 0; i < sizeof(kvmstat_src_defs) / sizeof(kvmstat_src_defs[0]); i++) {
		const struct kvmstat_src_def *d = &kvmstat_src_defs[i];

		bool optional = m->opt.optional & d->mask;

		if (optional) {	/* added when it works, never the reason to fail */
			int r = kvmstat_open_one(m, d, msg, sizeof(msg));

			if (r < 0)
				kvmstat_notice_cb(m, msg);
			else	/* the guest -p names, or guests found: enough on their own */
				standin |= d->mask == KVMSTAT_SRC_QMP || r > 0;
			continue;
		}
		if (want ? !(want & d->mask) : d->mask & (KVMSTAT_SRC_QMP | KVMSTAT_SRC_VMSCOPE))
			continue;
		if (!want && picked)
			break;
		ret = kvmstat_open_one(m, d, msg, sizeof(msg));
		picked += ret >= 0;
		if (ret < 0 && want) {
			snprintf(why, why_len, "%s", msg);
			kvmstat_model_close(m, true);
			return ret;
		}
		if (ret < 0)
			kvmstat_notice_cb(m, msg);
	}
	if (!picked && !standin) {
		snprintf(why, why_len, "no statistics source works (last: %s)", msg);
		kvmstat_model_close(m, true);
		return ret < 0 ? ret : -ENOENT;
	}
	return 0;
}

/*
 * Closing perf tracepoint events costs ~40 ms per tracepoint (an RCU grace period each): 4 s for
 * all kvm events. A grandchild process takes copies of every descriptor first, so this process's
 * closes are cheap, and drops them (the slow final release) once the pipe closes.
 */
static int kvmstat_handoff_begin(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char b;

		if (fork() != 0)
			_exit(0);
		close(p[1]);
		for (int fd = 0; fd < 3; fd++)
			close(fd);
		setsid();
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	waitpid(pid, NULL, 0);
	return p[1];
}

void kvmstat_model_close(struct kvmstat_model *m, bool fast)
{
	int handoff = fast && m->nr_src ? kvmstat_handoff_begin() : -1;

	for (int i = 0; i < m->nr_src; i++)
		m->src[i].ops->close(m->src[i].state);
	m->nr_src = 0;
	if (handoff >= 0)
		close(handoff);
}

static void kvmstat_free_series(struct kvmstat_model *m)
{
	while (m->series) {
		struct kvmstat_series *s = m->series;

		m->series = s->all;
		free(s);
	}
	memset(m->stab, 0, sizeof(*m->stab) * m->stab_size);
	m->nr_series = 0;
}

static void kvmstat_free_rows(struct kvmstat_model *m)
{
	m->row_gen++;	/* every series looks its row up again */
	for (unsigned i = 0; i < m->nr_rows; i++)
		free(m->rows[i]);
	memset(m->rtab, 0, sizeof(*m->rtab) * m->rtab_size);
	m->nr_rows = 0;
	m->nr_shown = 0;
}

void kvmstat_model_free(struct kvmstat_model *m)
{
	kvmstat_free_series(m);
	kvmstat_free_rows(m);
	free(m->stab);
	free(m->rtab);
	free(m->rows);
	free(m->shown);
	dbgfs_samples_free(&m->cur);
	if (m->has_re)
		regfree(&m->re);
}

/* ---- series ---- */

static int kvmstat_exit_index(const char *name)
{
	for (size_t k = 0; k < sizeof(kvmstat_exit_signals) / sizeof(kvmstat_exit_signals[0]); k++)
		if (strcmp(name, kvmstat_exit_signals[k]) == 0)
			return (int)k;
	return -1;
}

static struct kvmstat_series *kvmstat_series_get(struct kvmstat_model *m, const struct dbgfs_sample *smp, int src)
{
	uint32_t h = kvmstat_hash(smp->name, 2166136261u) ^ (uint32_t)smp->pid * 31u ^ (uint32_t)(smp->vcpu + 1) * 7919u;
	struct kvmstat_series **pp = &m->stab[h % m->stab_size], *s;

	for (s = *pp; s; s = s->next)
		if (s->pid == smp->pid && s->vcpu == smp->vcpu && s->src == src && strcmp(s->name, smp->name) == 0)
			return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->name, smp->name, sizeof(s->name));
	s->pid = smp->pid;
	s->vcpu = smp->vcpu;
	s->src = src;
	/* Counters seen at start are made relative (unless -i); a VM that appears later is new:
	 * everything it counted happened while we watched. */
	s->base = !m->src[src].since_open && !m->opt.include_past && m->refreshes == 0 ? smp->value : 0;
	s->last = s->base;
	s->exit_k = kvmstat_exit_index(s->name);
	s->next = *pp;
	*pp = s;
	s->all = m->series;
	m->series = s;
	m->nr_series++;
	return s;
}

/* ---- rows ---- */

const struct kvmstat_row *kvmstat_model_row(const struct kvmstat_model *m, const char *key)
{
	const struct kvmstat_row *r;

	for (r = m->rtab[kvmstat_hash(key, 2166136261u) % m->rtab_size]; r; r = r->hnext)
		if (strcmp(r->key, key) == 0)
			return r;
	return NULL;
}

static struct kvmstat_row *kvmstat_row_get(struct kvmstat_model *m, const char *key)
{
	uint32_t h = kvmstat_hash(key, 2166136261u) % m->rtab_size;
	struct kvmstat_row *r;

	for (r = m->rtab[h]; r; r = r->hnext)
		if (strcmp(r->key, key) == 0)
			return r;
	if (m->nr_rows == m->cap_rows) {
		unsigned cap = m->cap_rows ? m->cap_rows * 2 : 256;
		struct kvmstat_row **v = realloc(m->rows, sizeof(*v) * cap), **sv;

		if (!v)
			return NULL;
		m->rows = v;
		sv = realloc(m->shown, sizeof(*sv) * cap);
		if (!sv)
			return NULL;
		m->shown = sv;
		m->cap_rows = cap;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->hnext = m->rtab[h];
	m->rtab[h] = r;
	m->rows[m->nr_rows++] = r;
	return r;
}

static bool kvmstat_is_exit_signal(const struct kvmstat_model *m, const struct kvmstat_series *s)
{
	return m->exit_signal[0] && s->exit_k == m->exit_k;
}

/* The row key of a series in the current view, or false when the view does not show it. */
static bool kvmstat_row_key(const struct kvmstat_model *m, const struct kvmstat_series *s, char *key, size_t len)
{
	switch (m->view) {
	case KVMSTAT_VIEW_EVENTS:
		if (s->vcpu >= 0)
			return false;
		snprintf(key, len, "%s", s->name);
		return true;
	case KVMSTAT_VIEW_GUESTS:
		if (s->vcpu >= 0 || !kvmstat_is_exit_signal(m, s))
			return false;
		snprintf(key, len, "pid %d", s->pid);
		return true;
	case KVMSTAT_VIEW_VCPUS:
		if (s->vcpu < 0 || strchr(s->name, '('))
			return false;
		if (kvmstat_is_exit_signal(m, s))
			snprintf(key, len, "vcpu%d", s->vcpu);
		else
			snprintf(key, len, "vcpu%d/%s", s->vcpu, s->name);
		return true;
	}
	return false;
}

/* Picks the event that counts exits: the first candidate that has counted, else the first present. */
static void kvmstat_pick_exit_signal(struct kvmstat_model *m)
{
	int present = -1;
	uint64_t counted[sizeof(kvmstat_exit_signals) / sizeof(kvmstat_exit_signals[0])] = { 0 };
	bool seen[sizeof(counted) / sizeof(counted[0])] = { false };

	for (struct kvmstat_series *s = m->series; s; s = s->all)
		if (s->exit_k >= 0 && s->vcpu < 0 && s->seen == m->refreshes) {
			counted[s->exit_k] += s->last;
			seen[s->exit_k] = true;
		}
	for (int k = 0; k < (int)(sizeof(counted) / sizeof(counted[0])); k++) {
		if (seen[k] && present < 0)
			present = k;
		if (seen[k] && counted[k]) {
			present = k;
			break;
		}
	}
	if (present >= 0 && strcmp(kvmstat_exit_signals[present], m->exit_signal) != 0) {
		snprintf(m->exit_signal, sizeof(m->exit_signal), "%s", kvmstat_exit_signals[present]);
		m->exit_k = present;
		if (m->view == KVMSTAT_VIEW_GUESTS || m->view == KVMSTAT_VIEW_VCPUS)
			kvmstat_free_rows(m);
	}
}

static void kvmstat_hist_push(struct kvmstat_row *r)
{
	memmove(r->hist, r->hist + 1, sizeof(r->hist) - sizeof(r->hist[0]));
	r->hist[KVMSTAT_HIST - 1] = (float)r->rate;
}

/* Sums series into rows; vanished series keep contributing their last value. A row's delta is
 * what its series added at the last refresh, so rows built anew (another view) have theirs too. */
static void kvmstat_aggregate(struct kvmstat_model *m)
{
	char key[128];

	for (unsigned i = 0; i < m->nr_rows; i++) {
		m->rows[i]->raw = 0;
		m->rows[i]->delta = 0;
		m->rows[i]->live = false;
		m->rows[i]->window = 0;
	}
	for (struct kvmstat_series *s = m->series; s; s = s->all) {
		struct kvmstat_row *r;

		if (s->row_gen != m->row_gen) {	/* looked up once per view */
			s->row = kvmstat_row_key(m, s, key, sizeof(key)) ? kvmstat_row_get(m, key) : NULL;
			s->row_gen = m->row_gen;
		}
		if (!(r = s->row))
			continue;
		r->raw += s->carried + s->last - s->base;
		if (s->seen != m->refreshes)
			continue;
		r->live = true;
		r->delta += s->delta;
		if (s->window > r->window)
			r->window = s->window;
	}
	for (unsigned i = 0; i < m->nr_rows; i++) {
		struct kvmstat_row *r = m->rows[i];

		r->prev_raw = r->raw - r->delta;
		r->total = r->raw - r->reset_base;
		if (r->window <= 0 || r->window > m->interval)
			r->window = m->interval;
		r->rate = r->window > 0 ? (double)r->delta / r->window : 0;
		kvmstat_hist_push(r);
	}
}

static void kvmstat_update_exit_total(struct kvmstat_model *m)
{
	uint64_t raw = 0, prev = 0, base = 0;

	for (struct kvmstat_series *s = m->series; s; s = s->all)
		if (s->vcpu < 0 && kvmstat_is_exit_signal(m, s))
			raw += s->carried + s->last - s->base;
	struct kvmstat_row *r = m->exit_signal[0] && m->view == KVMSTAT_VIEW_EVENTS ? kvmstat_row_get(m, m->exit_signal) : NULL;
	if (r) {
		prev = r->prev_raw;
		base = r->reset_base;
	} else {
		prev = m->exit_total;
	}
	m->exit_delta = raw > prev ? raw - prev : 0;
	m->exit_total = raw - (base <= raw ? base : 0);
	m->exit_rate = m->interval > 0 ? (double)m->exit_delta / m->interval : 0;
}

/* A counter that began after its source opened (ns > 0) counted only part of its first interval. */
static void kvmstat_series_window(struct kvmstat_series *s, uint64_t ns)
{
	if (!ns)
		s->window = 0;
	else if (!s->seen || ns < s->ns)
		s->window = (double)ns / 1e9;
	else
		s->window = (double)(ns - s->ns) / 1e9;
	s->ns = ns;
}

static int kvmstat_read_sources(struct kvmstat_model *m)
{
	int ret = 0;

	dbgfs_samples_clear(&m->cur);
	for (int i = 0; i < m->nr_src; i++) {
		size_t mark = m->cur.n;
		int r = m->src[i].ops->read(m->src[i].state, &m->cur);

		if (r == -ESRCH)
			m->guest_gone = true;
		else if (r < 0)
			ret = r;
		for (size_t k = mark; k < m->cur.n; k++) {
			struct kvmstat_series *s = kvmstat_series_get(m, &m->cur.v[k], i);

			if (!s)
				return -ENOMEM;
			uint64_t before = s->carried + s->last - s->base;

			if (m->cur.v[k].value < s->last) {	/* a reused key (VM restarted): count anew */
				s->carried += s->last - s->base;
				s->base = 0;
			}
			s->last = m->cur.v[k].value;
			s->delta = s->carried + s->last - s->base - before;
			kvmstat_series_window(s, m->cur.v[k].ns);
			s->seen = m->refreshes + 1;
		}
	}
	return ret;
}

void kvmstat_model_settle(struct kvmstat_model *m)
{
	for (int i = 0; i < m->nr_src; i++)
		if (m->src[i].ops->settle)
			(void)!m->src[i].ops->settle(m->src[i].state);
}

int kvmstat_model_refresh(struct kvmstat_model *m, double now)
{
	int ret = kvmstat_read_sources(m);

	m->interval = m->last_time > 0 ? now - m->last_time : 0;
	m->last_time = now;
	m->refreshes++;
	kvmstat_pick_exit_signal(m);
	kvmstat_aggregate(m);
	kvmstat_update_exit_total(m);
	return ret;
}

/* ---- view ---- */

static enum kvmstat_sort kvmstat_sort_mode;

static int kvmstat_cmp_rows(const void *a, const void *b)
{
	const struct kvmstat_row *x = *(struct kvmstat_row *const *)a, *y = *(struct kvmstat_row *const *)b;

	if (kvmstat_sort_mode == KVMSTAT_SORT_RATE && x->delta != y->delta)
		return x->delta < y->delta ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* "kvm_exit(HLT)" -> parent "kvm_exit"; "vcpu0/kvm_pio" -> "vcpu0" */
static bool kvmstat_parent_of(const char *key, char *parent, size_t len)
{
	const char *p = strchr(key, '(');

	if (!p)
		p = strchr(key, '/');
	if (!p)
		return false;
	snprintf(parent, len, "%.*s", (int)(p - key), key);
	return true;
}

static void kvmstat_label(struct kvmstat_model *m, struct kvmstat_row *r, const char *parent)
{
	int pid;

	if (m->view == KVMSTAT_VIEW_GUESTS && sscanf(r->key, "pid %d", &pid) == 1) {
		char name[64];

		if (kvmstat_guest_name(m->opt.proc_root, pid, name, sizeof(name)) == 0)
			snprintf(r->label, sizeof(r->label), "%s (%d)", name, pid);
		else
			snprintf(r->label, sizeof(r->label), "pid %d", pid);
		return;
	}
	r->depth = parent ? 1 : 0;
	if (!parent)
		snprintf(r->label, sizeof(r->label), "%s", r->key);
	else if (m->view == KVMSTAT_VIEW_VCPUS)
		snprintf(r->label, sizeof(r->label), "%s", r->key + strlen(parent) + 1);
	else
		snprintf(r->label, sizeof(r->label), "%s", r->key + strlen(parent));
}

static bool kvmstat_is_shown(const struct kvmstat_row *r, bool hide_zero)
{
	return !hide_zero || r->total || r->delta;
}

/* Parents sorted, each followed by its sorted children (when drilldown is on). */
void kvmstat_model_sort(struct kvmstat_model *m, bool hide_zero)
{
	char parent[128];
	unsigned n = 0;
	bool children = m->dopt.drilldown || m->view == KVMSTAT_VIEW_VCPUS;

	kvmstat_sort_mode = m->sort;
	if (m->nr_rows)	/* m->rows is NULL before the first row (qsort's pointer must not be) */
		qsort(m->rows, m->nr_rows, sizeof(m->rows[0]), kvmstat_cmp_rows);
	for (unsigned i = 0; i < m->nr_rows; i++) {
		struct kvmstat_row *p = m->rows[i];

		if (kvmstat_parent_of(p->key, parent, sizeof(parent)) || !kvmstat_is_shown(p, hide_zero))
			continue;
		kvmstat_label(m, p, NULL);
		m->shown[n++] = p;
		for (unsigned k = 0; children && k < m->nr_rows; k++) {
			struct kvmstat_row *c = m->rows[k];

			if (kvmstat_parent_of(c->key, parent, sizeof(parent)) && strcmp(parent, p->key) == 0 &&
			    kvmstat_is_shown(c, hide_zero)) {
				kvmstat_label(m, c, parent);
				m->shown[n++] = c;
			}
		}
	}
	m->nr_shown = n;
}

/* ---- changes ---- */

static void kvmstat_restart(struct kvmstat_model *m)
{
	kvmstat_free_series(m);
	kvmstat_free_rows(m);
	m->refreshes = 0;
	m->last_time = 0;
	m->exit_total = 0;
	m->exit_signal[0] = 0;
}

static int kvmstat_reopen(struct kvmstat_model *m, char *why, size_t why_len)
{
	kvmstat_model_close(m, true);
	kvmstat_restart(m);
	return kvmstat_model_open(m, why, why_len);
}

int kvmstat_model_set_filter(struct kvmstat_model *m, const char *regex, char *why, size_t why_len)
{
	int ret = kvmstat_regex_check(regex && *regex ? regex : ".", why, why_len);

	if (ret < 0)
		return ret;
	ret = kvmstat_compile(m, regex, why, why_len);
	if (ret < 0)
		return ret;
	return kvmstat_reopen(m, why, why_len);
}

int kvmstat_model_set_pid(struct kvmstat_model *m, int pid, char *why, size_t why_len)
{
	m->opt.pid = pid;
	m->dopt.pid = pid;
	m->guest_gone = false;
	return kvmstat_reopen(m, why, why_len);
}

int kvmstat_model_set_drilldown(struct kvmstat_model *m, bool on, char *why, size_t why_len)
{
	bool tracing = false;

	m->dopt.drilldown = on;
	for (int i = 0; i < m->nr_src; i++)
		tracing |= m->src[i].ops == &dbgfs_tracepoint_provider;
	return tracing ? kvmstat_reopen(m, why, why_len) : 0;
}

void kvmstat_model_set_view(struct kvmstat_model *m, enum kvmstat_view v)
{
	m->view = v;
	kvmstat_free_rows(m);
	kvmstat_aggregate(m);
}

void kvmstat_model_reset(struct kvmstat_model *m)
{
	for (unsigned i = 0; i < m->nr_rows; i++) {
		m->rows[i]->reset_base = m->rows[i]->raw;
		m->rows[i]->total = 0;
	}
	m->exit_total = 0;
}

static int kvmstat_cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct dbgfs_sample *)a)->name, ((const struct dbgfs_sample *)b)->name);
}

int kvmstat_model_fields(struct kvmstat_model *m, bool all, struct dbgfs_samples *out, char *why, size_t why_len)
{
	size_t w = 0;

	for (int i = 0; i < m->nr_src; i++) {
		/* tracepoints report every event they count on each read: their rows name them */
		if (!all && m->src[i].ops == &dbgfs_tracepoint_provider)
			continue;
		/* a QMP server serves one client at a time: ask through the open connection */
		bool live = m->src[i].ops == &dbgfs_qmp_provider;
		int ret = live ? m->src[i].ops->read(m->src[i].state, out) : m->src[i].ops->fields(&m->dopt, out, why, why_len);

		if (ret < 0)
			return live ? (snprintf(why, why_len, "QMP: %s", strerror(-ret)), ret) : ret;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), kvmstat_cmp_names);
	for (size_t i = 0; i < out->n; i++)
		if (!w || strcmp(out->v[w - 1].name, out->v[i].name) != 0)
			out->v[w++] = out->v[i];
	out->n = w;
	return 0;
}
