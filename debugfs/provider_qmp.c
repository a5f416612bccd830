/* SPDX-License-Identifier: MIT */
/*
 * The QMP provider: query-stats for the "vm" and "vcpu" targets over a QMP socket, from QEMU
 * (7.2+, KVM binary stats) or vmscope (the same, plus its own counters). vCPU values are summed
 * into the VM's row and, with per_vcpu, also reported per vCPU. Histograms are skipped.
 * Each vCPU query interrupts every vCPU of a QEMU guest: the caller polls at its refresh rate.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debugfs/debugfs-local.h"

struct qp_state {
	struct dbgfs_options opt;
	struct dbgfs_qmp *q;
	int pid;
	struct dbgfs_samples vsum;	/* vCPU stats summed per name */
};

static void qp_sum(struct dbgfs_samples *s, const char *name, uint64_t v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0) {
			s->v[i].value += v;
			return;
		}
	if (dbgfs_samples_add(s, name, 0, -1, v) < 0)
		return;
}

/* One "stats" list: [{"name": n, "value": v}, ...]. vcpu -2: the vm target. */
static int qp_stats(struct qp_state *s, const struct dbgfs_json *stats, const char *prefix, int vcpu,
		    struct dbgfs_samples *out)
{
	char name[DBGFS_NAME_MAX];
	int ret = 0;

	for (const struct dbgfs_json *st = stats ? stats->child : NULL; st && ret == 0; st = st->next) {
		const char *n = dbgfs_json_str(st, "name");
		const struct dbgfs_json *v = dbgfs_json_get(st, "value");
		uint64_t val;

		if (!n || !v || (v->type != DBGFS_JSON_NUMBER && v->type != DBGFS_JSON_BOOL))
			continue;
		val = v->type == DBGFS_JSON_BOOL ? v->b : v->is_int ? (uint64_t)v->i : (uint64_t)v->num;
		snprintf(name, sizeof(name), "%s%s", prefix, n);
		if (!dbgfs_is_wanted(&s->opt, name))
			continue;
		if (vcpu == -2)
			ret = dbgfs_samples_add(out, name, s->pid, -1, val);
		else {
			qp_sum(&s->vsum, name, val);
			if (s->opt.per_vcpu)
				ret = dbgfs_samples_add(out, name, s->pid, vcpu, val);
		}
	}
	return ret;
}

/* Results: [{"provider": "kvm", "qom-path": ..., "stats": [...]}, ...]; the vcpu index is the
 * order of the qom paths (QEMU lists vCPUs in order). Non-kvm providers get "provider." names. */
static int qp_query(struct qp_state *s, const char *target, struct dbgfs_samples *out)
{
	char cmd[128], why[256], prefix[DBGFS_NAME_MAX];
	struct dbgfs_json *reply = NULL;
	int ret, vcpu = 0;
	const char *last_path = NULL;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"query-stats\",\"arguments\":{\"target\":\"%s\"}}", target);
	ret = dbgfs_qmp_call(s->q, cmd, &reply, why, sizeof(why));
	if (ret < 0)
		return ret;
	const struct dbgfs_json *ret_list = dbgfs_json_get(reply, "return");
	for (const struct dbgfs_json *r = ret_list->child; r && ret == 0; r = r->next) {
		const char *prov = dbgfs_json_str(r, "provider"), *path = dbgfs_json_str(r, "qom-path");

		snprintf(prefix, sizeof(prefix), "%s%s", prov && strcmp(prov, "kvm") ? prov : "",
			 prov && strcmp(prov, "kvm") ? "." : "");
		if (path && last_path && strcmp(path, last_path) != 0)
			vcpu++;
		if (path)
			last_path = path;
		ret = qp_stats(s, dbgfs_json_get(r, "stats"), prefix, target[0] == 'v' && target[1] == 'm' ? -2 : vcpu, out);
	}
	dbgfs_json_free(reply);
	return ret;
}

static int qp_read(void *state, struct dbgfs_samples *out)
{
	struct qp_state *s = state;
	int ret;

	dbgfs_samples_clear(&s->vsum);
	ret = qp_query(s, "vm", out);
	if (ret == 0)
		ret = qp_query(s, "vcpu", out);
	for (size_t i = 0; i < s->vsum.n && ret == 0; i++)
		ret = dbgfs_samples_add(out, s->vsum.v[i].name, s->pid, -1, s->vsum.v[i].value);
	return ret == -ECONNRESET || ret == -EPIPE ? -ESRCH : ret;
}

static void qp_close(void *state)
{
	struct qp_state *s = state;

	if (!s)
		return;
	dbgfs_qmp_close(s->q);
	dbgfs_samples_free(&s->vsum);
	free(s);
}

static int qp_open(const struct dbgfs_options *opt, void **state, char *why, size_t why_len)
{
	struct qp_state *s;
	struct dbgfs_json *reply = NULL;
	int ret;

	if (!opt->qmp_path)
		return dbgfs_why(why, why_len, -EINVAL, "no QMP socket given (--qmp PATH)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	ret = dbgfs_qmp_connect(opt->qmp_path, &s->q, why, why_len);
	if (ret == 0)
		ret = dbgfs_qmp_call(s->q, "{\"execute\":\"query-stats-schemas\"}", &reply, why, why_len);
	dbgfs_json_free(reply);
	if (ret < 0) {
		qp_close(s);
		return ret;
	}
	s->pid = dbgfs_qmp_peer_pid(s->q);
	*state = s;
	return 0;
}

static int qp_fields(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len)
{
	struct dbgfs_options o = *opt;
	void *st;
	int ret;

	o.want = NULL;
	o.per_vcpu = false;
	ret = qp_open(&o, &st, why, why_len);
	if (ret < 0)
		return ret;
	ret = qp_read(st, out);
	qp_close(st);
	return ret;
}

const struct dbgfs_provider_ops dbgfs_qmp_provider = {
	.name = "qmp",
	.open = qp_open,
	.read = qp_read,
	.close = qp_close,
	.fields = qp_fields,
};

/*
 * Every vmscope guest on the host: the QMP sockets vmscope creates by default, <run>/PID.qmp
 * (/run/vmscope) and $XDG_RUNTIME_DIR/vmscope-PID.qmp (or opt->qmp_dir alone), rescanned on each
 * read. Sockets of processes that are gone (stale files), that refuse the connection or that
 * close it are skipped quietly; each guest's samples carry its pid.
 */
struct qa_guest {
	char path[PATH_MAX];
	struct qp_state *qp;	/* NULL: it refused; not retried while the file stays */
	bool seen;
};

struct qa_state {
	struct dbgfs_options opt;
	struct qa_guest *g;
	int n, cap;
};

/* The pid in a socket name "PID.qmp" or "vmscope-PID.qmp"; 0 when it is neither. */
static int qa_pid_of(const char *name)
{
	const char *p = strncmp(name, "vmscope-", 8) == 0 ? name + 8 : name;
	char *end;
	long pid = strtol(p, &end, 10);

	return end != p && strcmp(end, ".qmp") == 0 && pid > 0 && pid <= INT_MAX ? (int)pid : 0;
}

static bool qa_alive(int pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static struct qa_guest *qa_find(struct qa_state *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->g[i].path, path) == 0)
			return &s->g[i];
	return NULL;
}

static void qa_add(struct qa_state *s, const char *path)
{
	struct dbgfs_options o = s->opt;
	struct qa_guest *g;
	char why[256];
	void *qp = NULL;

	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 8;
		struct qa_guest *v = realloc(s->g, sizeof(*v) * (size_t)cap);

		if (!v)
			return;
		s->g = v;
		s->cap = cap;
	}
	o.qmp_path = path;
	if (qp_open(&o, &qp, why, sizeof(why)) < 0)
		qp = NULL;
	g = &s->g[s->n++];
	snprintf(g->path, sizeof(g->path), "%s", path);
	g->qp = qp;
	g->seen = true;
}

static void qa_scan_dir(struct qa_state *s, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct qa_guest *g;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid = qa_pid_of(e->d_name);

		if (!pid || (s->opt.pid && pid != s->opt.pid) || !qa_alive(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((g = qa_find(s, path)))
			g->seen = true;
		else
			qa_add(s, path);
	}
	closedir(d);
}

static void qa_drop(struct qa_state *s, int i)
{
	qp_close(s->g[i].qp);
	s->g[i] = s->g[--s->n];
}

static void qa_scan(struct qa_state *s)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	for (int i = 0; i < s->n; i++)
		s->g[i].seen = false;
	if (s->opt.qmp_dir) {
		qa_scan_dir(s, s->opt.qmp_dir);
	} else {
		qa_scan_dir(s, dbgfs_default_vmscope_run);
		if (xdg && *xdg)
			qa_scan_dir(s, xdg);
	}
	for (int i = s->n - 1; i >= 0; i--)
		if (!s->g[i].seen)
			qa_drop(s, i);
}

static int qa_read(void *state, struct dbgfs_samples *out)
{
	struct qa_state *s = state;
	int ret = 0;

	qa_scan(s);
	for (int i = s->n - 1; i >= 0 && ret >= 0; i--) {
		size_t mark = out->n;

		if (!s->g[i].qp)
			continue;
		ret = qp_read(s->g[i].qp, out);
		if (ret < 0 && ret != -ENOMEM) {	/* ended, or went astray: not retried */
			out->n = mark;
			qp_close(s->g[i].qp);
			s->g[i].qp = NULL;
			ret = 0;
		}
	}
	return ret;
}

static void qa_close(void *state)
{
	struct qa_state *s = state;

	if (!s)
		return;
	while (s->n)
		qa_drop(s, s->n - 1);
	free(s->g);
	free(s);
}

static int qa_open(const struct dbgfs_options *opt, void **state, char *why, size_t why_len)
{
	struct qa_state *s = calloc(1, sizeof(*s));
	int n = 0;

	(void)why, (void)why_len;
	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	qa_scan(s);
	*state = s;
	for (int i = 0; i < s->n; i++)
		n += s->g[i].qp != NULL;
	return n;
}

static int qa_fields(const struct dbgfs_options *opt, struct dbgfs_samples *out, char *why, size_t why_len)
{
	struct dbgfs_options o = *opt;
	void *st;
	int ret;

	o.want = NULL;
	o.per_vcpu = false;
	ret = qa_open(&o, &st, why, why_len);
	if (ret < 0)
		return ret;
	ret = qa_read(st, out);
	qa_close(st);
	return ret;
}

const struct dbgfs_provider_ops dbgfs_vmscope_qmp_provider = {
	.name = "vmscope-qmp",
	.open = qa_open,
	.read = qa_read,
	.close = qa_close,
	.fields = qa_fields,
};
