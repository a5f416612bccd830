/* SPDX-License-Identifier: MIT */
/* control.c — the trace handle: event table, enable/disable by pattern, options, introspection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tracing/trace-local.h"
#include "tracing/trace-events.h"

/* Every generated trace-events object puts a pointer to its group into this section. */
extern struct trace_group *const __start_trace_groups[] __attribute__((weak));
extern struct trace_group *const __stop_trace_groups[] __attribute__((weak));

static pthread_once_t trace_groups_once = PTHREAD_ONCE_INIT;
static unsigned trace_groups_total;		/* derived once from the link, then constant */
static _Atomic uint64_t trace_next_serial = 1;	/* tells handles apart in per-thread caches */

struct trace_group *trace_internal_group(void)
{
	return &trace_group_tracing;
}

static void trace_groups_init(void)
{
	unsigned base = 0;
	(void)trace_internal_group();	/* keeps the library's own events linked */
	for (struct trace_group *const *g = __start_trace_groups; g && g < __stop_trace_groups; g++) {
		(*g)->base = base;
		base += (*g)->nr_events;
	}
	trace_groups_total = base;
}

void trace_thread_set_vcpu(int vcpu)
{
	trace_tls.vcpu = vcpu;
	trace_tls.fast_serial = 0;	/* the next record checks its ring's vCPU */
}

static int trace_fill_events(struct trace_handle *h)
{
	unsigned id = 0;
	h->nr_events = trace_groups_total;
	h->ev = calloc(h->nr_events ? h->nr_events : 1, sizeof(*h->ev));
	h->on = calloc(h->nr_events ? h->nr_events : 1, sizeof(*h->on));
	h->mode = calloc(h->nr_events ? h->nr_events : 1, sizeof(*h->mode));
	h->attached = calloc(h->nr_events ? h->nr_events : 1, 1);
	if (!h->ev || !h->on || !h->mode || !h->attached)
		return -ENOMEM;
	if (h->nr_events >= TRACE_MAX_EVENT_IDS)
		return -E2BIG;
	for (struct trace_group *const *g = __start_trace_groups; g && g < __stop_trace_groups; g++)
		for (unsigned i = 0; i < (*g)->nr_events; i++)
			h->ev[id++] = (struct trace_event_ref){ *g, i };
	return 0;
}

int trace_open(struct trace_handle **out)
{
	struct trace_handle *h = calloc(1, sizeof(*h));
	*out = NULL;
	if (!h)
		return -ENOMEM;
	pthread_once(&trace_groups_once, trace_groups_init);
	h->serial = atomic_fetch_add(&trace_next_serial, 1);
	h->fd = h->marker_fd = h->efd = -1;
	h->ring_size = 4u << 20;
	h->backends = TRACE_BACKEND_BINARY;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->drain_lock, NULL);
	int rc = trace_fill_events(h);
	if (rc) {
		trace_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* Publishes event id's state into its generated pointer: on for this handle once it has started
 * and the user or an attached USDT consumer wants it; and which backends record it (none when only
 * a USDT consumer wants it: the probe fires before the backends are asked). */
void trace_state_update(struct trace_handle *h, unsigned id)
{
	struct trace_handle **slot = &h->ev[id].group->state[h->ev[id].local];
	bool on = h->started && atomic_load_explicit(&h->on[id], memory_order_relaxed);
	bool want = on || (h->started && h->attached[id]);
	unsigned mode = (h->backends & TRACE_BACKEND_BINARY ? TRACE_MODE_BINARY : 0) |
			(h->backends & (TRACE_BACKEND_LOG | TRACE_BACKEND_FTRACE) ? TRACE_MODE_TEXT : 0);
	atomic_store_explicit(&h->mode[id], on ? mode : 0, memory_order_relaxed);
	if (want) {
		__atomic_store_n(slot, h, __ATOMIC_RELEASE);
	} else {
		struct trace_handle *expect = h;
		__atomic_compare_exchange_n(slot, &expect, NULL, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

void trace_close(struct trace_handle *h)
{
	if (!h)
		return;
	if (h->started) {
		h->started = false;
		for (unsigned i = 0; h->ev && i < h->nr_events; i++)
			trace_state_update(h, i);
		trace_writer_stop(h);
		trace_text_close(h);
	}
	trace_rings_free(h);
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->drain_lock);
	free(h->ev);
	free((void *)h->on);
	free((void *)h->mode);
	free(h->attached);
	free(h->file_path);
	free(h->log_path);
	free(h->tracefs_dir);
	free(h);
}

static const struct {
	const char *name;
	unsigned bit;
} trace_backend_names[] = {
	{ "binary", TRACE_BACKEND_BINARY },
	{ "log", TRACE_BACKEND_LOG },
	{ "ftrace", TRACE_BACKEND_FTRACE },
	{ "usdt", TRACE_BACKEND_USDT },
};

int trace_set_backends(struct trace_handle *h, const char *list, char *why, size_t why_len)
{
	unsigned set = 0;
	const char *p = list;
	if (h->started) {
		snprintf(why, why_len, "backends cannot change once tracing has started");
		return -EBUSY;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof(trace_backend_names) / sizeof(trace_backend_names[0]); i++)
			if (strlen(trace_backend_names[i].name) == n && !strncmp(p, trace_backend_names[i].name, n)) {
				set |= trace_backend_names[i].bit;
				found = true;
			}
		if (!found) {
			snprintf(why, why_len, "unknown trace backend '%.*s' (known: binary, log, ftrace, usdt)", (int)n, p);
			return -EINVAL;
		}
		p += n + (p[n] == ',');
	}
	if (!set) {
		snprintf(why, why_len, "empty trace backend list");
		return -EINVAL;
	}
	h->backends = set;
	return 0;
}

unsigned trace_backends(const struct trace_handle *h)
{
	return h->backends;
}

static int trace_set_str(char **slot, const char *s)
{
	char *c = strdup(s);
	if (!c)
		return -ENOMEM;
	free(*slot);
	*slot = c;
	return 0;
}

int trace_set_file(struct trace_handle *h, const char *path)
{
	return h->started ? -EBUSY : trace_set_str(&h->file_path, path);
}

int trace_set_log_file(struct trace_handle *h, const char *path)
{
	return h->started ? -EBUSY : trace_set_str(&h->log_path, path);
}

int trace_set_tracefs(struct trace_handle *h, const char *dir)
{
	return h->started ? -EBUSY : trace_set_str(&h->tracefs_dir, dir);
}

int trace_set_clock(struct trace_handle *h, const char *name, char *why, size_t why_len)
{
	static const char *const names[] = { [TRACE_CLOCK_AUTO] = "auto", [TRACE_CLOCK_TSC] = "tsc",
					     [TRACE_CLOCK_MONO] = "monotonic" };
	if (h->started) {
		snprintf(why, why_len, "the trace clock cannot change once tracing has started");
		return -EBUSY;
	}
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(name, names[i])) {
			h->clock_want = i;
			return 0;
		}
	snprintf(why, why_len, "unknown trace clock '%s' (known: auto, tsc, monotonic)", name);
	return -EINVAL;
}

int trace_set_ring_size(struct trace_handle *h, size_t bytes)
{
	if (h->started)
		return -EBUSY;
	if (bytes < 65536 || (bytes & (bytes - 1)) || bytes > (1u << 30))
		return -EINVAL;
	h->ring_size = bytes;
	return 0;
}

static const char *trace_event_name(const struct trace_handle *h, unsigned id)
{
	return h->ev[id].group->events[h->ev[id].local].name;
}

/* Applies one glob; returns the number of events it matched. */
static int trace_apply_glob(struct trace_handle *h, const char *glob, bool enable)
{
	int matched = 0;
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->nr_events; i++) {
		if (!trace_glob_is_match(glob, trace_event_name(h, i)))
			continue;
		atomic_store_explicit(&h->on[i], enable, memory_order_relaxed);
		trace_state_update(h, i);
		matched++;
	}
	pthread_mutex_unlock(&h->lock);
	return matched;
}

void trace_set_autostart(struct trace_handle *h, int argc, char *const *argv)
{
	h->autostart = true;
	h->argc = argc;
	h->argv = argv;
}

bool trace_is_started(const struct trace_handle *h)
{
	return h->started;
}

static int trace_autostart(struct trace_handle *h)
{
	char why[512] = "";
	int rc = 0;
	pthread_mutex_lock(&h->drain_lock);	/* no writer yet: serialises QMP and gdb callers */
	if (!h->started && h->autostart) {
		rc = trace_start(h, h->argc, h->argv, why, sizeof(why));
		if (rc)
			fprintf(stderr, "vmscope: tracing: %s\n", why);
	}
	pthread_mutex_unlock(&h->drain_lock);
	return rc;
}

int trace_event_set_state(struct trace_handle *h, const char *glob, bool enable)
{
	if (enable && !h->started && h->autostart && trace_event_match(h, glob, NULL, 0) > 0) {
		int rc = trace_autostart(h);
		if (rc)
			return rc;
	}
	return trace_apply_glob(h, glob, enable);
}

static bool trace_glob_has_meta(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int trace_qmp_get_state(const struct trace_handle *h, const char *name, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "[");
	int matched = 0;
	for (unsigned i = 0; i < h->nr_events; i++) {
		if (!trace_glob_is_match(name, trace_event_name(h, i)))
			continue;
		if (n < len)
			n += (size_t)snprintf(out + n, len - n, "%s{\"name\": \"%s\", \"state\": \"%s\", \"vcpu\": false}",
					      matched ? ", " : "", trace_event_name(h, i),
					      trace_event_is_enabled(h, i) ? "enabled" : "disabled");
		matched++;
	}
	if (n < len)
		snprintf(out + n, len - n, "]");
	if (n + 1 >= len)
		return -ENOSPC;
	return !matched && !trace_glob_has_meta(name) ? -ENOENT : matched;
}

int trace_qmp_set_state(struct trace_handle *h, const char *name, bool enable)
{
	int m = trace_event_set_state(h, name, enable);
	if (m < 0)
		return m;
	return !m && !trace_glob_has_meta(name) ? -ENOENT : 0;
}

int trace_enable_patterns(struct trace_handle *h, const char *patterns, char *why, size_t why_len)
{
	int total = 0, rc = 0;
	const char *p = patterns;
	do {
		char glob[128];
		size_t n = strcspn(p, ",");
		bool enable = *p != '-';
		size_t skip = enable ? 0 : 1;
		if (n <= skip || n - skip >= sizeof(glob)) {
			snprintf(why, why_len, "empty or too long trace pattern in '%s'", patterns);
			return -EINVAL;
		}
		memcpy(glob, p + skip, n - skip);
		glob[n - skip] = '\0';
		int m = trace_apply_glob(h, glob, enable);
		if (!m && !rc) {
			snprintf(why, why_len, "trace pattern '%s' matches no event (see --trace help)", glob);
			rc = -ENOENT;
		}
		total += m;
		p += n;
	} while (*p++ == ',');
	return rc ? rc : total;
}

int trace_enable_file(struct trace_handle *h, const char *path, char *why, size_t why_len)
{
	char line[256];
	unsigned lineno = 0;
	int total = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(why, why_len, "%s: %s", path, strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");
		lineno++;
		s[strcspn(s, " \t\r\n#")] = '\0';
		if (!*s)
			continue;
		int rc = trace_enable_patterns(h, s, why, why_len);
		if (rc < 0) {
			char inner[200];
			snprintf(inner, sizeof(inner), "%s", why);
			snprintf(why, why_len, "%s:%u: %s", path, lineno, inner);
			fclose(f);
			return rc;
		}
		total += rc;
	}
	fclose(f);
	return total;
}

/* ring=SIZE: bytes, with a K, M or G suffix. */
static int trace_parse_ring(struct trace_handle *h, const char *s, char *why, size_t why_len)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = !*end ? 0 : !strcmp(end, "K") ? 10 : !strcmp(end, "M") ? 20 : !strcmp(end, "G") ? 30 : -1;
	if (end == s || shift < 0 || v > (1ull << 30) || trace_set_ring_size(h, (size_t)(v << shift))) {
		snprintf(why, why_len, "ring size '%s': a power of two from 64K to 1G per thread", s);
		return -EINVAL;
	}
	return 0;
}

int trace_parse_option(struct trace_handle *h, const char *arg, bool *want_help, char *why, size_t why_len)
{
	*want_help = false;
	if (!strcmp(arg, "help")) {
		*want_help = true;
		return 0;
	}
	if (!strncmp(arg, "events=", 7))
		return trace_enable_file(h, arg + 7, why, why_len) < 0 ? -EINVAL : 0;
	if (!strncmp(arg, "file=", 5))
		return trace_set_file(h, arg + 5);
	if (!strncmp(arg, "backend=", 8))
		return trace_set_backends(h, arg + 8, why, why_len);
	if (!strncmp(arg, "log=", 4))
		return trace_set_log_file(h, arg + 4);
	if (!strncmp(arg, "tracefs=", 8))
		return trace_set_tracefs(h, arg + 8);
	if (!strncmp(arg, "ring=", 5))
		return trace_parse_ring(h, arg + 5, why, why_len);
	if (!strncmp(arg, "clock=", 6))
		return trace_set_clock(h, arg + 6, why, why_len);
	int rc = trace_enable_patterns(h, arg, why, why_len);
	return rc < 0 ? rc : 0;
}

unsigned trace_event_count(const struct trace_handle *h)
{
	return h->nr_events;
}

bool trace_event_is_enabled(const struct trace_handle *h, unsigned id)
{
	return id < h->nr_events && atomic_load_explicit(&h->on[id], memory_order_relaxed);
}

int trace_event_get(const struct trace_handle *h, unsigned id, struct trace_event_info *info)
{
	if (id >= h->nr_events)
		return -ENOENT;
	info->id = id;
	info->desc = &h->ev[id].group->events[h->ev[id].local];
	info->name = info->desc->name;
	info->group = h->ev[id].group->name;
	info->enabled = trace_event_is_enabled(h, id);
	return 0;
}

int trace_event_match(const struct trace_handle *h, const char *glob, struct trace_event_info *out, int max)
{
	int n = 0;
	for (unsigned i = 0; i < h->nr_events; i++) {
		if (!trace_glob_is_match(glob, trace_event_name(h, i)))
			continue;
		if (n < max && trace_event_get(h, i, &out[n]))
			break;
		n++;
	}
	return n;
}

static void trace_print_signature(const struct trace_event_desc *d, FILE *out)
{
	fprintf(out, "%s(", d->name);
	for (unsigned a = 0; a < d->nargs; a++)
		fprintf(out, "%s%s%s%s", a ? ", " : "", d->arg_ctypes[a],
			d->arg_ctypes[a][strlen(d->arg_ctypes[a]) - 1] == '*' ? "" : " ", d->arg_names[a]);
	fprintf(out, ")");
}

void trace_list_events(const struct trace_handle *h, FILE *out)
{
	for (unsigned i = 0; i < h->nr_events; i++) {
		const struct trace_event_desc *d = &h->ev[i].group->events[h->ev[i].local];
		fprintf(out, "%c ", trace_event_is_enabled(h, i) ? '*' : ' ');
		trace_print_signature(d, out);
		fprintf(out, "  [%s]\n", h->ev[i].group->file);
	}
}

void trace_get_counts(const struct trace_handle *h, uint64_t *written, uint64_t *dropped)
{
	*written = *dropped = 0;
	for (struct trace_ring *r = atomic_load(&((struct trace_handle *)h)->rings); r; r = r->next) {
		*written += atomic_load_explicit(&r->written, memory_order_relaxed);
		*dropped += atomic_load_explicit(&r->dropped, memory_order_relaxed);
	}
}

static int trace_monitor_list(struct trace_handle *h, const char *glob, char *out, size_t out_len)
{
	size_t n = 0;
	int matched = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < h->nr_events; i++) {
		if (!trace_glob_is_match(glob, trace_event_name(h, i)))
			continue;
		matched++;
		if (n < out_len)
			n += (size_t)snprintf(out + n, out_len - n, "%s %s\n", trace_event_name(h, i),
					      trace_event_is_enabled(h, i) ? "on" : "off");
	}
	if (!matched)
		snprintf(out, out_len, "no event matches '%s'\n", glob);
	return 0;
}

int trace_monitor_command(struct trace_handle *h, const char *args, char *out, size_t out_len)
{
	const char *usage = "usage: monitor trace on PATTERN | off PATTERN | list [PATTERN] | flush\n";
	char verb[16] = "", pat[128] = "*";
	if (sscanf(args, " %15s %127s", verb, pat) < 1) {
		snprintf(out, out_len, "%s", usage);
		return -EINVAL;
	}
	if (!strcmp(verb, "list"))
		return trace_monitor_list(h, pat, out, out_len);
	if (!strcmp(verb, "flush")) {
		int rc = trace_flush(h);
		snprintf(out, out_len, rc ? "flush failed: %s\n" : "flushed\n", strerror(-rc));
		return rc;
	}
	if ((strcmp(verb, "on") && strcmp(verb, "off")) || sscanf(args, " %*s %127s", pat) != 1) {
		snprintf(out, out_len, "%s", usage);
		return -EINVAL;
	}
	int m = trace_event_set_state(h, pat, !strcmp(verb, "on"));
	snprintf(out, out_len, "%d event%s %s\n", m, m == 1 ? "" : "s", !strcmp(verb, "on") ? "enabled" : "disabled");
	return 0;
}

int trace_start(struct trace_handle *h, int argc, char *const *argv, char *why, size_t why_len)
{
	int rc;
	if (h->started)
		return -EBUSY;
	rc = trace_clock_choose(h, why, why_len);
	if (rc)
		return rc;
	trace_clock_sync(h, &h->start_tick, &h->start_mono);
	h->pid = (int)getpid();
	if (h->backends & TRACE_BACKEND_BINARY) {
		if (!h->file_path) {
			char name[64];
			snprintf(name, sizeof(name), "vmscope-%d.vmt", (int)getpid());
			if ((rc = trace_set_file(h, name)))
				return rc;
		}
		rc = trace_file_write_header(h, argc, argv);
		if (rc) {
			snprintf(why, why_len, "trace file %s: %s", h->file_path, strerror(-rc));
			return rc;
		}
	}
	rc = trace_text_open(h, why, why_len);
	if (rc)
		return rc;
	rc = trace_writer_start(h, why, why_len);
	if (rc)
		return rc;
	pthread_mutex_lock(&h->lock);
	h->started = true;
	for (unsigned i = 0; i < h->nr_events; i++)
		trace_state_update(h, i);
	pthread_mutex_unlock(&h->lock);
	if (h->backends & TRACE_BACKEND_USDT)
		trace_usdt_poll(h);	/* consumers attached before the start (gdb) fire from the first event */
	return 0;
}

int trace_flush(struct trace_handle *h)
{
	return h->started ? trace_writer_drain(h) : 0;
}
