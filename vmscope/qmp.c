/* SPDX-License-Identifier: MIT */
/*
 * qmp.c — vmscope's QMP socket: a faithful subset of QEMU's QMP (same command and field names),
 * so QMP clients and kvmstat work with either emulator.
 *
 *   --qmp unix:PATH   (default /run/vmscope/<pid>.qmp when writable, else
 *                      $XDG_RUNTIME_DIR/vmscope-<pid>.qmp; --qmp none for no socket)
 *
 * Commands: qmp_capabilities, query-status, stop, cont, system_reset, quit, query-stats,
 * query-stats-schemas, trace-event-get-state, trace-event-set-state (tracing/trace.h). query-stats
 * has two providers: "kvm" (the KVM binary statistics of the VM and of each vCPU, under
 * --accel kvm) and "vmscope" (emu_vm_stats: exits by reason, accesses per device, unassigned
 * accesses, the backend's own counters) for the vm target.
 *
 * One thread serves every client with poll() and non-blocking sockets: a client that does not
 * read its replies is disconnected when its output passes a limit; the vCPUs never wait for QMP.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "debugfs/debugfs.h"
#include "tracing/trace.h"
#include "vmscope/vmscope.h"

#pragma weak emu_vm_reset

#define QMP_MAX_CLIENTS 8
#define QMP_MAX_MSG (64u * 1024)	/* one request */
#define QMP_MAX_OUT (1u << 20)		/* queued replies of one client */
#define QMP_MAX_STATS 512
#define QMP_MAX_VCPUS 64
#define OPT_QMP 300

struct qmp_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

struct qmp_client {
	int fd;
	bool negotiated;
	bool resync;		/* skipping an oversized or garbled message up to a newline */
	struct qmp_buf in, out;
};

struct qmp_kvm_stats {
	int fd;
	struct dbgfs_binstats st;
	bool ok;
};

struct qmp_server {
	struct emu_vm *vm;
	struct trace_handle *trace;	/* trace-event-get/set-state (vmscope/trace.c) */
	const char *prog;
	char path[108];
	int listen_fd;
	int wake[2];
	pthread_t thread;
	bool running;
	atomic_bool ended;	/* the guest is over (--no-shutdown keeps the socket up) */
	atomic_bool quit;	/* "quit" received */
	struct qmp_client cl[QMP_MAX_CLIENTS];
	struct qmp_kvm_stats kvm_vm;
	struct qmp_kvm_stats kvm_vcpu[QMP_MAX_VCPUS];
	unsigned nr_vcpus;
};

static const char *qmp_opt_path;	/* --qmp, parsed before the server exists */
static bool qmp_opt_no_shutdown;	/* --no-shutdown: keep serving after the guest ended */
static struct qmp_server qmp_srv = { .listen_fd = -1, .wake = { -1, -1 } };

/* ---- output buffers ---- */

static void qmp_buf_add(struct qmp_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void qmp_lit(struct qmp_buf *b, const char *s)
{
	qmp_buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) qmp_printf(struct qmp_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		qmp_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void qmp_quote(struct qmp_buf *b, const char *s)
{
	char tmp[600];
	int n = dbgfs_json_quote(tmp, sizeof(tmp), 0, s);

	if (n > 0)
		qmp_buf_add(b, tmp, (size_t)n);
	else
		qmp_lit(b, "\"\"");
}

static void qmp_buf_free(struct qmp_buf *b)
{
	free(b->p);
	*b = (struct qmp_buf){ 0 };
}

/* ---- replies ---- */

/* Ends a reply: echo the request's "id" as QEMU does, newline-terminated. */
static void qmp_reply_end(struct qmp_buf *b, const struct dbgfs_json *id)
{
	if (id && id->type == DBGFS_JSON_STRING) {
		qmp_lit(b, ", \"id\": ");
		qmp_quote(b, id->str);
	} else if (id && id->type == DBGFS_JSON_NUMBER && id->is_int) {
		qmp_printf(b, ", \"id\": %lld", (long long)id->i);
	}
	qmp_lit(b, "}\r\n");
}

static void qmp_error(struct qmp_client *c, const struct dbgfs_json *id, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void qmp_error(struct qmp_client *c, const struct dbgfs_json *id, const char *cls, const char *fmt, ...)
{
	char desc[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	qmp_printf(&c->out, "{\"error\": {\"class\": \"%s\", \"desc\": ", cls);
	qmp_quote(&c->out, desc);
	qmp_lit(&c->out, "}");
	qmp_reply_end(&c->out, id);
}

static void qmp_return_empty(struct qmp_client *c, const struct dbgfs_json *id)
{
	qmp_lit(&c->out, "{\"return\": {}");
	qmp_reply_end(&c->out, id);
}

static void qmp_event(struct qmp_server *s, const char *name)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (s->cl[i].fd >= 0 && s->cl[i].negotiated)
			qmp_printf(&s->cl[i].out, "{\"timestamp\": {\"seconds\": %lld, \"microseconds\": %ld}, \"event\": \"%s\"}\r\n",
				   (long long)tv.tv_sec, (long)tv.tv_usec, name);
}

/* ---- statistics ---- */

/* The counters whose sum is "exits": what returned to the core, plus the port and memory I/O each
 * backend handled itself. A KVM exit and an interpreter I/O then count alike, so one guest shows
 * the same "exits" under both backends. */
static bool qmp_is_exit_counter(const char *name)
{
	static const char *const prefixes[] = { "exits_", "kvm_exits_", "interp_pio", "interp_mmio" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* "vmscope" provider: emu_vm_stats, plus "exits", the sum of the exit counters. */
static void qmp_stats_vmscope(struct qmp_server *s, struct qmp_buf *b, bool values)
{
	struct emu_stat st[QMP_MAX_STATS];
	int n = emu_vm_stats(s->vm, st, QMP_MAX_STATS);
	uint64_t exits = 0;

	if (n > QMP_MAX_STATS)
		n = QMP_MAX_STATS;
	qmp_lit(b, "{\"provider\": \"vmscope\", ");
	qmp_lit(b, values ? "\"stats\": [" : "\"target\": \"vm\", \"stats\": [");
	for (int i = 0; i < n; i++) {
		if (qmp_is_exit_counter(st[i].name))
			exits += st[i].value;
		qmp_lit(b, "{\"name\": ");
		qmp_quote(b, st[i].name);
		if (values)
			qmp_printf(b, ", \"value\": %llu}, ", (unsigned long long)st[i].value);
		else
			qmp_lit(b, ", \"type\": \"cumulative\", \"exponent\": 0, \"base\": 10}, ");
	}
	if (values)
		qmp_printf(b, "{\"name\": \"exits\", \"value\": %llu}]}", (unsigned long long)exits);
	else
		qmp_lit(b, "{\"name\": \"exits\", \"type\": \"cumulative\", \"exponent\": 0, \"base\": 10}]}");
}

static void qmp_stat_value(struct qmp_buf *b, const struct dbgfs_binstats *st, const struct dbgfs_stat_desc *d)
{
	const uint64_t *v = st->data + d->offset / 8;

	if (d->size == 1 && d->unit == DBGFS_UNIT_BOOLEAN) {
		qmp_lit(b, v[0] ? "true" : "false");
		return;
	}
	if (d->size == 1) {
		qmp_printf(b, "%llu", (unsigned long long)v[0]);
		return;
	}
	qmp_lit(b, "[");
	for (unsigned i = 0; i < d->size; i++)
		qmp_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)v[i]);
	qmp_lit(b, "]");
}

static void qmp_stat_schema(struct qmp_buf *b, const struct dbgfs_stat_desc *d)
{
	const char *unit = dbgfs_stat_unit_name(d->unit);

	qmp_printf(b, ", \"type\": \"%s\"", dbgfs_stat_type_name(d->type));
	if (unit)
		qmp_printf(b, ", \"unit\": \"%s\"", unit);
	qmp_printf(b, ", \"base\": %d, \"exponent\": %d", d->base, d->exponent);
	if (d->type == DBGFS_STAT_LINEAR_HIST)
		qmp_printf(b, ", \"bucket-size\": %u", d->bucket_size);
}

/* One "kvm" entry: values (re-read) or the schema. qom_path NULL for the vm target. */
static void qmp_stats_kvm(struct qmp_buf *b, struct qmp_kvm_stats *k, const char *qom_path, bool values,
			  const char *target)
{
	if (values && dbgfs_binstats_read(k->fd, &k->st) < 0)
		return;
	qmp_lit(b, "{\"provider\": \"kvm\", ");
	if (qom_path)
		qmp_printf(b, "\"qom-path\": \"%s\", ", qom_path);
	if (!values)
		qmp_printf(b, "\"target\": \"%s\", ", target);
	qmp_lit(b, "\"stats\": [");
	for (unsigned i = 0; i < k->st.nr; i++) {
		qmp_lit(b, i ? ", {\"name\": " : "{\"name\": ");
		qmp_quote(b, k->st.desc[i].name);
		if (values) {
			qmp_lit(b, ", \"value\": ");
			qmp_stat_value(b, &k->st, &k->st.desc[i]);
		} else {
			qmp_stat_schema(b, &k->st.desc[i]);
		}
		qmp_lit(b, "}");
	}
	qmp_lit(b, "]}");
}

/* The provider filter of query-stats: {"providers": [{"provider": "kvm"}, ...]} */
static bool qmp_provider_wanted(const struct dbgfs_json *args, const char *provider)
{
	const struct dbgfs_json *p = dbgfs_json_get(args, "providers");

	if (!p || p->type != DBGFS_JSON_ARRAY)
		return true;
	for (const struct dbgfs_json *e = p->child; e; e = e->next) {
		const char *name = dbgfs_json_str(e, "provider");
		if (name && strcmp(name, provider) == 0)
			return true;
	}
	return false;
}

static void qmp_sep(struct qmp_buf *b, bool *first)
{
	if (!*first)
		qmp_lit(b, ", ");
	*first = false;
}

static void qmp_cmd_query_stats(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
				const struct dbgfs_json *id)
{
	const char *target = dbgfs_json_str(args, "target");
	char path[64];
	bool first = true;

	if (!target) {
		qmp_error(c, id, "GenericError", "Parameter 'target' is missing");
		return;
	}
	if (strcmp(target, "vm") && strcmp(target, "vcpu")) {
		qmp_error(c, id, "GenericError", "Parameter 'target' does not accept value '%s'", target);
		return;
	}
	qmp_lit(&c->out, "{\"return\": [");
	if (target[1] == 'm') {
		if (s->kvm_vm.ok && qmp_provider_wanted(args, "kvm")) {
			qmp_sep(&c->out, &first);
			qmp_stats_kvm(&c->out, &s->kvm_vm, NULL, true, target);
		}
		if (qmp_provider_wanted(args, "vmscope")) {
			qmp_sep(&c->out, &first);
			qmp_stats_vmscope(s, &c->out, true);
		}
	} else if (qmp_provider_wanted(args, "kvm")) {
		for (unsigned i = 0; i < s->nr_vcpus; i++) {
			if (!s->kvm_vcpu[i].ok)
				continue;
			snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
			qmp_sep(&c->out, &first);
			qmp_stats_kvm(&c->out, &s->kvm_vcpu[i], path, true, target);
		}
	}
	qmp_lit(&c->out, "]");
	qmp_reply_end(&c->out, id);
}

static void qmp_cmd_query_stats_schemas(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
					const struct dbgfs_json *id)
{
	const char *prov = dbgfs_json_str(args, "provider");
	bool first = true;

	qmp_lit(&c->out, "{\"return\": [");
	if (s->kvm_vm.ok && (!prov || !strcmp(prov, "kvm"))) {
		qmp_sep(&c->out, &first);
		qmp_stats_kvm(&c->out, &s->kvm_vm, NULL, false, "vm");
	}
	if (s->nr_vcpus && s->kvm_vcpu[0].ok && (!prov || !strcmp(prov, "kvm"))) {
		qmp_sep(&c->out, &first);
		qmp_stats_kvm(&c->out, &s->kvm_vcpu[0], NULL, false, "vcpu");
	}
	if (!prov || !strcmp(prov, "vmscope")) {
		qmp_sep(&c->out, &first);
		qmp_stats_vmscope(s, &c->out, false);
	}
	qmp_lit(&c->out, "]");
	qmp_reply_end(&c->out, id);
}

/* ---- run control ---- */

static void qmp_cmd_query_status(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
				 const struct dbgfs_json *id)
{
	bool ended = atomic_load(&s->ended), paused = ended || emu_vm_is_paused(s->vm);

	qmp_printf(&c->out, "{\"return\": {\"status\": \"%s\", \"singlestep\": false, \"running\": %s}",
		   ended ? "shutdown" : paused ? "paused" : "running", paused ? "false" : "true");
	qmp_reply_end(&c->out, id);
}

static void qmp_cmd_stop(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			 const struct dbgfs_json *id)
{
	bool was = emu_vm_is_paused(s->vm);
	int e = emu_vm_pause(s->vm);

	if (e < 0) {
		qmp_error(c, id, "GenericError", "stop: %s", strerror(-e));
		return;
	}
	qmp_return_empty(c, id);
	if (!was)
		qmp_event(s, "STOP");
}

static void qmp_cmd_cont(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			 const struct dbgfs_json *id)
{
	int e = emu_vm_resume(s->vm, -1);

	if (e < 0) {
		qmp_error(c, id, "GenericError", "cont: %s", strerror(-e));
		return;
	}
	qmp_return_empty(c, id);
	qmp_event(s, "RESUME");
}

static void qmp_cmd_system_reset(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
				 const struct dbgfs_json *id)
{
	int e = emu_vm_reset ? emu_vm_reset(s->vm) : -EOPNOTSUPP;

	if (e < 0) {
		qmp_error(c, id, "GenericError", "system_reset: %s", strerror(-e));
		return;
	}
	qmp_return_empty(c, id);
	qmp_event(s, "RESET");
}

static void qmp_cmd_quit(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			 const struct dbgfs_json *id)
{
	qmp_return_empty(c, id);
	qmp_event(s, "SHUTDOWN");
	atomic_store(&s->quit, true);
	if (!atomic_load(&s->ended))
		emu_vm_request_end(s->vm, EMU_END_QUIT, 0, "quit requested over QMP");
}

static void qmp_cmd_capabilities(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
				 const struct dbgfs_json *id)
{
	const struct dbgfs_json *en = dbgfs_json_get(args, "enable");

	if (en && en->type == DBGFS_JSON_ARRAY && en->child) {
		const char *cap = en->child->type == DBGFS_JSON_STRING ? en->child->str : "?";
		qmp_error(c, id, "GenericError", "Capability '%s' is not available", cap);
		return;
	}
	c->negotiated = true;
	qmp_return_empty(c, id);
}

/* ---- tracing (QEMU's trace-event-get-state / trace-event-set-state, through tracing/trace.h) ---- */

static bool qmp_trace_args(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			   const struct dbgfs_json *id, const char **name)
{
	*name = dbgfs_json_str(args, "name");
	if (!*name) {
		qmp_error(c, id, "GenericError", "Parameter 'name' is missing");
		return false;
	}
	if (!s->trace) {
		qmp_error(c, id, "GenericError", "tracing is not available");
		return false;
	}
	return true;
}

static void qmp_cmd_trace_get(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			      const struct dbgfs_json *id)
{
	char list[16384];
	const char *name;
	int e;

	if (!qmp_trace_args(s, c, args, id, &name))
		return;
	e = trace_qmp_get_state(s->trace, name, list, sizeof(list));
	if (e == -ENOENT) {
		qmp_error(c, id, "GenericError", "unknown event \"%s\"", name);
		return;
	}
	qmp_lit(&c->out, "{\"return\": ");
	qmp_lit(&c->out, e < 0 ? "[]" : list);
	qmp_reply_end(&c->out, id);
}

static void qmp_cmd_trace_set(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			      const struct dbgfs_json *id)
{
	const struct dbgfs_json *en = dbgfs_json_get(args, "enable");
	const char *name;
	int e;

	if (!qmp_trace_args(s, c, args, id, &name))
		return;
	if (!en || en->type != DBGFS_JSON_BOOL) {
		qmp_error(c, id, "GenericError", "Parameter 'enable' is missing or not a boolean");
		return;
	}
	e = trace_qmp_set_state(s->trace, name, en->b);
	if (e == -ENOENT)
		qmp_error(c, id, "GenericError", "unknown event \"%s\"", name);
	else if (e < 0)
		qmp_error(c, id, "GenericError", "tracing could not start: %s", strerror(-e));
	else
		qmp_return_empty(c, id);
}

typedef void qmp_handler(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *args,
			 const struct dbgfs_json *id);

/* The command table: name, handler, and the arguments it accepts (NULL-terminated). */
static const struct qmp_command {
	const char *name;
	qmp_handler *fn;
	const char *args[5];
} qmp_commands[] = {
	{ "qmp_capabilities", qmp_cmd_capabilities, { "enable", NULL } },
	{ "query-status", qmp_cmd_query_status, { NULL } },
	{ "stop", qmp_cmd_stop, { NULL } },
	{ "cont", qmp_cmd_cont, { NULL } },
	{ "system_reset", qmp_cmd_system_reset, { NULL } },
	{ "quit", qmp_cmd_quit, { NULL } },
	{ "query-stats", qmp_cmd_query_stats, { "target", "providers", "vcpus", NULL } },
	{ "query-stats-schemas", qmp_cmd_query_stats_schemas, { "provider", NULL } },
	{ "trace-event-get-state", qmp_cmd_trace_get, { "name", "vcpu", NULL } },
	{ "trace-event-set-state", qmp_cmd_trace_set, { "name", "enable", "ignore-unavailable", "vcpu" } },
};

static const struct qmp_command *qmp_find(const char *name)
{
	for (size_t i = 0; i < sizeof(qmp_commands) / sizeof(qmp_commands[0]); i++)
		if (strcmp(qmp_commands[i].name, name) == 0)
			return &qmp_commands[i];
	return NULL;
}

/* An argument the command does not take is an error, as in QEMU. */
static const char *qmp_unexpected_arg(const struct qmp_command *cmd, const struct dbgfs_json *args)
{
	for (const struct dbgfs_json *a = args ? args->child : NULL; a; a = a->next) {
		bool ok = false;

		for (int i = 0; cmd->args[i] && !ok; i++)
			ok = strcmp(cmd->args[i], a->key) == 0;
		if (!ok)
			return a->key;
	}
	return NULL;
}

static void qmp_dispatch(struct qmp_server *s, struct qmp_client *c, const struct dbgfs_json *req)
{
	const struct dbgfs_json *id = dbgfs_json_get(req, "id"), *args = dbgfs_json_get(req, "arguments");
	const char *name = dbgfs_json_str(req, "execute"), *bad;
	const struct qmp_command *cmd;

	if (!req || req->type != DBGFS_JSON_OBJECT) {
		qmp_error(c, NULL, "GenericError", "QMP input must be a JSON object");
		return;
	}
	if (!name) {
		qmp_error(c, id, "GenericError", dbgfs_json_get(req, "execute") ? "QMP input member 'execute' must be a string"
										  : "QMP input lacks member 'execute'");
		return;
	}
	if (args && args->type != DBGFS_JSON_OBJECT) {
		qmp_error(c, id, "GenericError", "QMP input member 'arguments' must be an object");
		return;
	}
	cmd = qmp_find(name);
	if (!cmd) {
		qmp_error(c, id, "CommandNotFound", "The command %s has not been found", name);
		return;
	}
	if (!c->negotiated && cmd->fn != qmp_cmd_capabilities) {
		qmp_error(c, id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	}
	if (c->negotiated && cmd->fn == qmp_cmd_capabilities) {
		qmp_error(c, id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
		return;
	}
	if ((bad = qmp_unexpected_arg(cmd, args))) {
		qmp_error(c, id, "GenericError", "Parameter '%s' is unexpected", bad);
		return;
	}
	if (atomic_load(&s->ended) && (cmd->fn == qmp_cmd_stop || cmd->fn == qmp_cmd_cont || cmd->fn == qmp_cmd_system_reset)) {
		qmp_error(c, id, "GenericError", "the guest has ended (--no-shutdown)");
		return;
	}
	cmd->fn(s, c, args, id);
}

/* ---- input: a stream of JSON texts, split by bracket depth ---- */

/* Length of the first complete JSON object/array in buf, 0 if incomplete, -1 for a stray byte
 * at the top level (then the input is skipped to the next newline). */
static long qmp_split(const char *buf, size_t len, size_t *start)
{
	int depth = 0;
	bool str = false, esc = false;
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
		i++;
	*start = i;
	if (i < len && buf[i] != '{' && buf[i] != '[')
		return -1;
	for (; i < len; i++) {
		char ch = buf[i];

		if (str) {
			esc = !esc && ch == '\\';
			if (ch == '"' && !esc)
				str = false;
			if (ch != '\\')
				esc = false;
			continue;
		}
		if (ch == '"')
			str = true;
		else if (ch == '{' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ']') && --depth == 0)
			return (long)(i + 1 - *start);
	}
	return 0;
}

static void qmp_consume(struct qmp_buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void qmp_handle_input(struct qmp_server *s, struct qmp_client *c)
{
	for (;;) {
		size_t start;
		long n;

		if (c->out.len > QMP_MAX_OUT)	/* it does not read its replies: stop working for it */
			return;
		if (c->resync) {
			char *nl = c->in.len ? memchr(c->in.p, '\n', c->in.len) : NULL;
			if (!nl) {
				c->in.len = 0;
				return;
			}
			qmp_consume(&c->in, (size_t)(nl - c->in.p) + 1);
			c->resync = false;
		}
		n = qmp_split(c->in.p ? c->in.p : "", c->in.len, &start);
		if (n < 0) {
			qmp_error(c, NULL, "GenericError", "JSON parse error, invalid token");
			qmp_consume(&c->in, start);	/* the skip starts at the bad byte */
			c->resync = true;
			continue;
		}
		if (n == 0) {
			if (c->in.len > QMP_MAX_MSG) {
				qmp_error(c, NULL, "GenericError", "JSON message too large (limit %u bytes)", QMP_MAX_MSG);
				qmp_consume(&c->in, start);
				c->resync = true;
				continue;
			}
			return;
		}
		struct dbgfs_json *req = NULL;
		size_t off;

		if (dbgfs_json_parse(c->in.p + start, (size_t)n, &req, &off) < 0)
			qmp_error(c, NULL, "GenericError", "JSON parse error at byte %zu", off);
		else
			qmp_dispatch(s, c, req);
		dbgfs_json_free(req);
		qmp_consume(&c->in, start + (size_t)n);
	}
}

/* ---- sockets ---- */

static void qmp_drop(struct qmp_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	qmp_buf_free(&c->in);
	qmp_buf_free(&c->out);
}

static void qmp_greet(struct qmp_client *c)
{
	qmp_printf(&c->out, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
		   "\"package\": \"vmscope\"}, \"capabilities\": []}}\r\n");
}

static void qmp_accept(struct qmp_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		if (s->cl[i].fd < 0) {
			s->cl[i] = (struct qmp_client){ .fd = fd };
			qmp_greet(&s->cl[i]);
			return;
		}
	}
	static const char busy[] = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"too many QMP clients\"}}\r\n";
	(void)!write(fd, busy, sizeof(busy) - 1);
	close(fd);
}

static void qmp_read_client(struct qmp_server *s, struct qmp_client *c)
{
	char buf[8192];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		qmp_drop(c);
		return;
	}
	if (n > 0) {
		qmp_buf_add(&c->in, buf, (size_t)n);
		qmp_handle_input(s, c);
	}
}

static void qmp_write_client(struct qmp_client *c)
{
	ssize_t n;

	if (c->out.failed || c->out.len > QMP_MAX_OUT) {	/* a client that does not read */
		qmp_drop(c);
		return;
	}
	if (!c->out.len)
		return;
	n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		qmp_consume(&c->out, (size_t)n);
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		qmp_drop(c);
}

static void *qmp_thread(void *arg)
{
	struct qmp_server *s = arg;
	struct pollfd pfd[QMP_MAX_CLIENTS + 2];

	for (;;) {
		int n = 2;

		pfd[0] = (struct pollfd){ s->wake[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
		for (int i = 0; i < QMP_MAX_CLIENTS; i++)
			if (s->cl[i].fd >= 0)
				pfd[n++] = (struct pollfd){ s->cl[i].fd, (short)(POLLIN | (s->cl[i].out.len ? POLLOUT : 0)), 0 };
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			qmp_accept(s);
		for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
			if (s->cl[i].fd < 0)
				continue;
			qmp_read_client(s, &s->cl[i]);
			if (s->cl[i].fd >= 0)
				qmp_write_client(&s->cl[i]);
		}
	}
	return NULL;
}

/* ---- socket path ---- */

/* A socket file nobody listens on is stale: remove it; anything else stays and bind fails. */
static void qmp_remove_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED)
		unlink(path);
	if (fd >= 0)
		close(fd);
}

/* Sockets left in the default directory by vmscopes that were killed (SIGKILL cannot clean up):
 * those nobody listens on go, so kvmstat and users see only running guests. */
static void qmp_sweep_dir(const char *dir)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n < 5 || strcmp(e->d_name + n - 4, ".qmp") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
			qmp_remove_stale(path);
	}
	closedir(d);
}

/* --qmp unix:PATH (or a bare PATH), none, or the default. 0 and path[0] == 0 for none. */
static int qmp_choose_path(struct qmp_server *s)
{
	const char *o = qmp_opt_path, *xdg;

	s->path[0] = 0;
	if (o && strcmp(o, "none") == 0)
		return 0;
	if (o) {
		snprintf(s->path, sizeof(s->path), "%s", strncmp(o, "unix:", 5) == 0 ? o + 5 : o);
		return 0;
	}
	if ((mkdir(dbgfs_default_vmscope_run, 0755) == 0 || errno == EEXIST) && access(dbgfs_default_vmscope_run, W_OK) == 0) {
		qmp_sweep_dir(dbgfs_default_vmscope_run);
		snprintf(s->path, sizeof(s->path), "%s/%d.qmp", dbgfs_default_vmscope_run, (int)getpid());
		return 0;
	}
	xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(s->path, sizeof(s->path), "%s/vmscope-%d.qmp", xdg, (int)getpid());
	return 0;
}

static int qmp_listen(struct qmp_server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, s->path);
	qmp_remove_stale(s->path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	/* chmod between bind and listen: nobody can connect before the mode is 0600 */
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(s->path, 0600) < 0 ||
	    listen(s->listen_fd, 16) < 0) {
		int e = -errno;

		close(s->listen_fd);
		s->listen_fd = -1;
		return e;
	}
	return 0;
}

/* KVM binary statistics of the VM and each vCPU, when the backend has them. */
static void qmp_open_kvm_stats(struct qmp_server *s)
{
	char why[256];

	s->kvm_vm.fd = emu_vm_stats_fd(s->vm, -1);
	s->kvm_vm.ok = s->kvm_vm.fd >= 0 && dbgfs_binstats_open(s->kvm_vm.fd, &s->kvm_vm.st, why, sizeof(why)) == 0;
	s->nr_vcpus = emu_vm_nr_vcpus(s->vm);
	if (s->nr_vcpus > QMP_MAX_VCPUS)
		s->nr_vcpus = QMP_MAX_VCPUS;
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct qmp_kvm_stats *k = &s->kvm_vcpu[i];

		k->fd = emu_vm_stats_fd(s->vm, (int)i);
		k->ok = k->fd >= 0 && dbgfs_binstats_open(k->fd, &k->st, why, sizeof(why)) == 0;
	}
}

static void qmp_close_kvm_stats(struct qmp_kvm_stats *k)
{
	if (k->ok)
		dbgfs_binstats_free(&k->st);
	if (k->fd >= 0)
		close(k->fd);
	*k = (struct qmp_kvm_stats){ .fd = -1 };
}

static int qmp_attach(struct vmscope *vs, struct emu_vm *vm)
{
	struct qmp_server *s = &qmp_srv;
	int e;

	*s = (struct qmp_server){ .vm = vm, .trace = vs->trace, .prog = vs->prog, .listen_fd = -1, .wake = { -1, -1 } };
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		s->cl[i].fd = -1;
	qmp_choose_path(s);
	if (!s->path[0])
		return 0;
	e = qmp_listen(s);
	if (e < 0) {
		fprintf(stderr, "%s: --qmp %s: %s\n", vs->prog, s->path, strerror(-e));
		s->path[0] = 0;
		/* an explicit socket that cannot be made is an error; the default one is optional */
		return qmp_opt_path ? VMSCOPE_EXIT_USAGE : 0;
	}
	qmp_open_kvm_stats(s);
	if (pipe2(s->wake, O_CLOEXEC) < 0 || pthread_create(&s->thread, NULL, qmp_thread, s) != 0) {
		fprintf(stderr, "%s: QMP: cannot start its thread\n", vs->prog);
		return VMSCOPE_EXIT_HOST;
	}
	s->running = true;
	return 0;
}

/* --no-shutdown: the guest is over; serve QMP (stats stay readable) until "quit" or a signal. */
static void qmp_linger(struct qmp_server *s)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	sigset_t set;

	atomic_store(&s->ended, true);
	qmp_event(s, "SHUTDOWN");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)!write(s->wake[1], "", 0);
	while (!atomic_load(&s->quit) && sigtimedwait(&set, NULL, &ts) < 0)
		;
}

static void qmp_detach(struct vmscope *vs, struct emu_vm *vm)
{
	struct qmp_server *s = &qmp_srv;

	if (s->running && qmp_opt_no_shutdown && !atomic_load(&s->quit))
		qmp_linger(s);
	if (s->running) {
		(void)!write(s->wake[1], "x", 1);
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		if (s->cl[i].fd >= 0)
			qmp_write_client(&s->cl[i]);	/* the reply to "quit", best effort */
		qmp_drop(&s->cl[i]);
	}
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	qmp_close_kvm_stats(&s->kvm_vm);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		qmp_close_kvm_stats(&s->kvm_vcpu[i]);
	s->listen_fd = -1;
}

static int qmp_opt(struct vmscope *vs, const char *arg)
{
	if (strcmp(arg, "none") && strncmp(arg, "unix:", 5) && arg[0] != '/' && arg[0] != '.')
		return vmscope_usage_error(vs, "--qmp '%s': expected unix:PATH or none", arg);
	if (strncmp(arg, "unix:", 5) == 0 && !arg[5])
		return vmscope_usage_error(vs, "--qmp '%s': the socket path is empty", arg);
	qmp_opt_path = arg;
	return 0;
}

static int qmp_opt_noshut(struct vmscope *vs, const char *arg)
{
	qmp_opt_no_shutdown = true;
	return 0;
}

static const struct vmscope_option qmp_options[] = {
	{ "qmp", OPT_QMP, "unix:PATH", "QMP socket (default /run/vmscope/PID.qmp, else $XDG_RUNTIME_DIR; none: no socket)",
	  qmp_opt },
	{ "no-shutdown", OPT_QMP + 1, NULL, "when the guest ends, keep serving QMP (statistics) until quit or a signal",
	  qmp_opt_noshut },
	{ NULL, 0, NULL, NULL, NULL },
};

const struct vmscope_module vmscope_qmp_module = {
	.name = "QMP",
	.options = qmp_options,
	.attach = qmp_attach,
	.detach = qmp_detach,
};
