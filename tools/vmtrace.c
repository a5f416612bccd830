/* SPDX-License-Identifier: MIT */
/*
 * vmtrace — reads vmscope trace files with no event-definition file: print, stats,
 * convert --perfetto, profile --elf, info. Damaged files: the records before the damage are used,
 * the error names the offset, and the exit status is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "tools/vmtrace-local.h"

#define VMTRACE_USAGE                                                                                \
	"usage: vmtrace COMMAND [OPTIONS] FILE\n"                                                    \
	"commands:\n"                                                                                \
	"  print FILE                 one line per record, in time order\n"                          \
	"  stats FILE                 counts, rates, per-port/address tables, latency percentiles\n" \
	"  convert --perfetto FILE    Chrome trace-event JSON (ui.perfetto.dev) to stdout or -o\n"   \
	"  profile FILE --elf ELF     guest addresses (argument 'rip') by function and source line\n" \
	"  profile FILE --symbols MAP the same from a System.map or /proc/kallsyms copy\n"           \
	"  info FILE                  header and event descriptors\n"                                \
	"options:\n"                                                                                 \
	"  -e, --event GLOB[,GLOB]    only these events (-GLOB excludes)\n"                          \
	"  -c, --vcpu N               only records of vCPU N\n"                                      \
	"      --from TIME, --to TIME time range from the trace start (ns, us, ms, s; default s)\n" \
	"  -o, --output FILE          write to FILE instead of stdout\n"                             \
	"      --elf FILE, --symbols FILE, --arg NAME (default rip), --top N (default 20)\n"         \
	"  -h, --help                 this text\n"

struct vmtrace_opts {
	struct vmtrace_filter filter;
	const char *output, *elf, *symbols, *arg;
	unsigned top;
	bool perfetto;
};

static int vmtrace_parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	static const struct {
		const char *suffix;
		double mult;
	} units[] = { { "", 1e9 }, { "s", 1e9 }, { "ms", 1e6 }, { "us", 1e3 }, { "ns", 1 } };
	if (end == s || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].suffix)) {
			*ns = (uint64_t)(v * units[i].mult + 0.5);
			return 0;
		}
	return -EINVAL;
}

/* Globs in order, the last that matches decides; with only "-GLOB"s everything else is in. */
static bool vmtrace_event_is_selected(const char *events, const char *name)
{
	bool selected = true;
	if (!events)
		return true;
	for (const char *p = events; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
		if (*p != '-')
			selected = false;
	for (const char *p = events; *p;) {
		char glob[128];
		size_t n = strcspn(p, ",");
		bool neg = *p == '-';
		snprintf(glob, sizeof(glob), "%.*s", (int)(n - neg), p + neg);
		if (trace_glob_is_match(glob, name))
			selected = !neg;
		p += n + (p[n] == ',');
	}
	return selected;
}

static int vmtrace_ref_cmp(const void *a, const void *b)
{
	const struct vmtrace_ref *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool vmtrace_record_is_selected(const struct vmtrace_file *vf, const struct vmtrace_filter *f,
				       const bool *event_on, const struct trace_record *rec)
{
	uint64_t rel = rec->ts > vf->base_ns ? rec->ts - vf->base_ns : 0;
	if (!event_on[rec->event])
		return false;
	if (f->vcpu >= 0 && rec->vcpu != (unsigned)f->vcpu)
		return false;
	return rel >= f->from_ns && (!f->to_ns || rel <= f->to_ns);
}

static int vmtrace_push(struct vmtrace_file *vf, size_t *cap, const struct trace_record *rec)
{
	if (vf->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		struct vmtrace_ref *n = realloc(vf->refs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		vf->refs = n;
		*cap = ncap;
	}
	vf->refs[vf->n++] = (struct vmtrace_ref){ rec->ts, rec->offset };
	return 0;
}

int vmtrace_load(const char *path, const struct vmtrace_filter *f, struct vmtrace_file *vf)
{
	char msg[512];
	struct trace_record rec;
	size_t cap = 0;
	int rc;
	memset(vf, 0, sizeof(*vf));
	if (trace_reader_open(path, &vf->r, NULL, msg, sizeof(msg))) {
		fprintf(stderr, "vmtrace: %s: %s\n", path, msg);
		return -EINVAL;
	}
	trace_reader_info(vf->r, &vf->info);
	vf->base_ns = vf->info.start_mono_ns;
	bool *event_on = calloc(vf->info.nr_events + 1, sizeof(bool));
	if (!event_on)
		return -ENOMEM;
	for (unsigned i = 0; i < vf->info.nr_events; i++)
		event_on[i] = vmtrace_event_is_selected(f->events, trace_reader_event(vf->r, i)->name);
	while ((rc = trace_reader_next(vf->r, &rec)) == 1)
		if (vmtrace_record_is_selected(vf, f, event_on, &rec) && vmtrace_push(vf, &cap, &rec)) {
			rc = -ENOMEM;
			break;
		}
	free(event_on);
	if (rc < 0) {
		fprintf(stderr, "vmtrace: %s: %s\n", path, rc == -ENOMEM ? "out of memory" : trace_reader_message(vf->r));
		vf->damaged = true;
	}
	if (vf->n)
		qsort(vf->refs, vf->n, sizeof(*vf->refs), vmtrace_ref_cmp);
	return 0;
}

void vmtrace_unload(struct vmtrace_file *vf)
{
	trace_reader_close(vf->r);
	free(vf->refs);
	memset(vf, 0, sizeof(*vf));
}

int vmtrace_get(struct vmtrace_file *vf, size_t i, struct trace_record *rec)
{
	if (trace_reader_seek(vf->r, vf->refs[i].offset) || trace_reader_next(vf->r, rec) != 1) {
		fprintf(stderr, "vmtrace: %s\n", trace_reader_message(vf->r));
		return -EINVAL;
	}
	return 0;
}

const char *vmtrace_event_name(const struct vmtrace_file *vf, unsigned id)
{
	const struct trace_event_desc *d = trace_reader_event(vf->r, id);
	return d ? d->name : "?";
}

static void vmtrace_print_time(FILE *out, const struct vmtrace_file *vf, uint64_t ts)
{
	uint64_t rel = ts > vf->base_ns ? ts - vf->base_ns : 0;
	fprintf(out, "%6llu.%09llu", (unsigned long long)(rel / 1000000000u), (unsigned long long)(rel % 1000000000u));
}

static int vmtrace_cmd_print(struct vmtrace_file *vf, FILE *out)
{
	for (size_t i = 0; i < vf->n; i++) {
		struct trace_record rec;
		char text[2048];
		if (vmtrace_get(vf, i, &rec))
			return -EINVAL;
		if (trace_reader_format(vf->r, &rec, text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "(unformattable)");
		vmtrace_print_time(out, vf, rec.ts);
		if (rec.vcpu == TRACE_VCPU_NONE)
			fprintf(out, "     - ");
		else
			fprintf(out, " %5u ", rec.vcpu);
		fprintf(out, "%-20s %s\n", vmtrace_event_name(vf, rec.event), text);
	}
	return 0;
}

static int vmtrace_cmd_info(struct vmtrace_file *vf, FILE *out)
{
	fprintf(out, "format version %u, pid %u, clock CLOCK_MONOTONIC%s\ncommand: %s\nevents: %u\n", vf->info.version,
		vf->info.pid, vf->info.tick_source == TRACE_TICK_TSC ? " (recorded as TSC ticks)" : "", vf->info.cmdline,
		vf->info.nr_events);
	for (unsigned i = 0; i < vf->info.nr_events; i++) {
		const struct trace_event_desc *d = trace_reader_event(vf->r, i);
		fprintf(out, "%5u %s(", i, d->name);
		for (unsigned a = 0; a < d->nargs; a++)
			fprintf(out, "%s%s%s%s", a ? ", " : "", d->arg_ctypes[a],
				d->arg_ctypes[a][strlen(d->arg_ctypes[a]) - 1] == '*' ? "" : " ", d->arg_names[a]);
		fprintf(out, ") \"%s\"\n", d->fmt);
	}
	fprintf(out, "records selected: %zu\n", vf->n);
	return 0;
}

/* ---- stats ---- */

struct vmtrace_evstat {
	uint64_t count, last_ts;
	uint64_t *deltas;	/* inter-event intervals */
	size_t nd, cap;
	int key_arg;		/* an argument named port/addr/gpa, tabulated */
	uint64_t *keys;
	size_t nk, kcap;
};

static int vmtrace_push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		uint64_t *p = realloc(*v, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = ncap;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int vmtrace_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t vmtrace_percentile(const uint64_t *v, size_t n, unsigned pct)
{
	size_t i = (n * pct + 99) / 100;
	return n ? v[i ? i - 1 : 0] : 0;
}

static void vmtrace_print_ns(FILE *out, uint64_t ns)
{
	if (ns < 10000)
		fprintf(out, " %9lluns", (unsigned long long)ns);
	else if (ns < 10000000)
		fprintf(out, " %9.1fus", ns / 1e3);
	else
		fprintf(out, " %9.1fms", ns / 1e6);
}

static int vmtrace_key_arg(const struct vmtrace_file *vf, unsigned id)
{
	static const char *const names[] = { "port", "addr", "gpa", "irq", "vector" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int a = trace_reader_arg_index(vf->r, id, names[i]);
		if (a >= 0 && trace_reader_event(vf->r, id)->arg_types[a] != TRACE_T_STR)
			return a;
	}
	return -1;
}

static int vmtrace_stats_collect(struct vmtrace_file *vf, struct vmtrace_evstat *st, uint64_t *dropped)
{
	for (size_t i = 0; i < vf->n; i++) {
		struct trace_record rec;
		if (vmtrace_get(vf, i, &rec))
			return -EINVAL;
		struct vmtrace_evstat *s = &st[rec.event];
		if (s->count && vmtrace_push_u64(&s->deltas, &s->nd, &s->cap, rec.ts - s->last_ts))
			return -ENOMEM;
		s->count++;
		s->last_ts = rec.ts;
		if (s->key_arg >= 0 && vmtrace_push_u64(&s->keys, &s->nk, &s->kcap, rec.vals[s->key_arg]))
			return -ENOMEM;
		if (!strcmp(vmtrace_event_name(vf, rec.event), "trace_dropped"))
			*dropped += rec.vals[0];
	}
	return 0;
}

struct vmtrace_keycount {
	uint64_t key, count;
};

static int vmtrace_keycount_cmp(const void *a, const void *b)
{
	const struct vmtrace_keycount *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The ten most frequent values of the event's key argument (port, address, ...). */
static void vmtrace_stats_keys(FILE *out, const struct vmtrace_file *vf, unsigned id, struct vmtrace_evstat *s)
{
	struct vmtrace_keycount *runs = malloc(s->nk * sizeof(*runs));
	size_t nr = 0;
	if (!runs)
		return;
	qsort(s->keys, s->nk, sizeof(*s->keys), vmtrace_u64_cmp);
	for (size_t i = 0, j; i < s->nk; i = j) {
		for (j = i; j < s->nk && s->keys[j] == s->keys[i]; j++)
			;
		runs[nr++] = (struct vmtrace_keycount){ s->keys[i], j - i };
	}
	qsort(runs, nr, sizeof(*runs), vmtrace_keycount_cmp);
	const struct trace_event_desc *d = trace_reader_event(vf->r, id);
	fprintf(out, "\n%s by %s (%zu distinct):\n", d->name, d->arg_names[s->key_arg], nr);
	for (size_t k = 0; k < nr && k < 10; k++)
		fprintf(out, "  0x%-16llx %10llu %6.2f%%\n", (unsigned long long)runs[k].key, (unsigned long long)runs[k].count,
			100.0 * (double)runs[k].count / (double)s->nk);
	free(runs);
}

static void vmtrace_stats_print(FILE *out, struct vmtrace_file *vf, struct vmtrace_evstat *st, uint64_t dropped)
{
	uint64_t span = vf->n > 1 ? vf->refs[vf->n - 1].ts - vf->refs[0].ts : 0;
	double secs = span / 1e9;
	fprintf(out, "pid %u: %s\nrecords: %zu in %.6f s, dropped: %llu%s\n\n", vf->info.pid, vf->info.cmdline, vf->n, secs,
		(unsigned long long)dropped, vf->damaged ? " (file damaged: counts stop at the damage)" : "");
	fprintf(out, "%-24s %10s %12s %11s %11s %11s %11s\n", "event", "count", "rate/s", "p50", "p90", "p99", "max");
	for (unsigned id = 0; id < vf->info.nr_events; id++) {
		struct vmtrace_evstat *s = &st[id];
		if (!s->count)
			continue;
		if (s->nd)
			qsort(s->deltas, s->nd, sizeof(*s->deltas), vmtrace_u64_cmp);
		fprintf(out, "%-24s %10llu %12.1f", vmtrace_event_name(vf, id), (unsigned long long)s->count,
			secs > 0 ? (double)s->count / secs : 0.0);
		if (s->nd) {
			vmtrace_print_ns(out, vmtrace_percentile(s->deltas, s->nd, 50));
			vmtrace_print_ns(out, vmtrace_percentile(s->deltas, s->nd, 90));
			vmtrace_print_ns(out, vmtrace_percentile(s->deltas, s->nd, 99));
			vmtrace_print_ns(out, s->deltas[s->nd - 1]);
		}
		fputc('\n', out);
	}
	fprintf(out, "(p50..max: time between consecutive records of the event)\n");
	for (unsigned id = 0; id < vf->info.nr_events; id++)
		if (st[id].nk)
			vmtrace_stats_keys(out, vf, id, &st[id]);
}

static int vmtrace_cmd_stats(struct vmtrace_file *vf, FILE *out)
{
	uint64_t dropped = 0;
	struct vmtrace_evstat *st = calloc(vf->info.nr_events + 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (unsigned id = 0; id < vf->info.nr_events; id++)
		st[id].key_arg = vmtrace_key_arg(vf, id);
	int rc = vmtrace_stats_collect(vf, st, &dropped);
	if (!rc)
		vmtrace_stats_print(out, vf, st, dropped);
	for (unsigned id = 0; id < vf->info.nr_events; id++) {
		free(st[id].deltas);
		free(st[id].keys);
	}
	free(st);
	return rc;
}

/* ---- command line ---- */

static int vmtrace_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int vmtrace_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vmtrace: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(vmtrace --help for usage)\n");
	return 2;
}

static int vmtrace_parse(int argc, char **argv, struct vmtrace_opts *o)
{
	enum { OPT_FROM = 256, OPT_TO, OPT_ELF, OPT_SYMS, OPT_ARG, OPT_TOP, OPT_PERFETTO };
	static const struct option longopts[] = {
		{ "event", required_argument, NULL, 'e' },   { "vcpu", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, OPT_FROM }, { "to", required_argument, NULL, OPT_TO },
		{ "output", required_argument, NULL, 'o' },  { "elf", required_argument, NULL, OPT_ELF },
		{ "symbols", required_argument, NULL, OPT_SYMS }, { "arg", required_argument, NULL, OPT_ARG },
		{ "top", required_argument, NULL, OPT_TOP }, { "perfetto", no_argument, NULL, OPT_PERFETTO },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "e:c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o->filter.events = optarg; break;
		case 'c':
			o->filter.vcpu = (int)strtol(optarg, &end, 0);
			if (*end || o->filter.vcpu < 0)
				return vmtrace_usage_error("bad vCPU number '%s'", optarg);
			break;
		case OPT_FROM:
			if (vmtrace_parse_time(optarg, &o->filter.from_ns))
				return vmtrace_usage_error("bad time '%s' (e.g. 1.5, 200ms, 30us, 100ns)", optarg);
			break;
		case OPT_TO:
			if (vmtrace_parse_time(optarg, &o->filter.to_ns))
				return vmtrace_usage_error("bad time '%s' (e.g. 1.5, 200ms, 30us, 100ns)", optarg);
			break;
		case 'o': o->output = optarg; break;
		case OPT_ELF: o->elf = optarg; break;
		case OPT_SYMS: o->symbols = optarg; break;
		case OPT_ARG: o->arg = optarg; break;
		case OPT_TOP:
			o->top = (unsigned)strtoul(optarg, &end, 0);
			if (*end || !o->top)
				return vmtrace_usage_error("bad --top '%s'", optarg);
			break;
		case OPT_PERFETTO: o->perfetto = true; break;
		case 'h': fputs(VMTRACE_USAGE, stdout); exit(0);
		default: return 2;
		}
	}
	return 0;
}

static int vmtrace_run(const char *cmd, struct vmtrace_file *vf, const struct vmtrace_opts *o, FILE *out)
{
	if (!strcmp(cmd, "print"))
		return vmtrace_cmd_print(vf, out);
	if (!strcmp(cmd, "stats"))
		return vmtrace_cmd_stats(vf, out);
	if (!strcmp(cmd, "info"))
		return vmtrace_cmd_info(vf, out);
	if (!strcmp(cmd, "convert"))
		return vmtrace_cmd_perfetto(vf, out);
	return vmtrace_cmd_profile(vf, o->elf, o->symbols, o->arg, o->top, out);
}

static int vmtrace_check_cmd(const char *cmd, const struct vmtrace_opts *o)
{
	static const char *const cmds[] = { "print", "stats", "convert", "profile", "info" };
	bool known = false;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(cmd, cmds[i]);
	if (!known)
		return vmtrace_usage_error("unknown command '%s'", cmd);
	if (!strcmp(cmd, "convert") && !o->perfetto)
		return vmtrace_usage_error("%s: say the output format (--perfetto)", cmd);
	if (!strcmp(cmd, "profile") && !o->elf == !o->symbols)
		return vmtrace_usage_error("%s needs --elf FILE or --symbols FILE", cmd);
	return 0;
}

int main(int argc, char **argv)
{
	struct vmtrace_opts o = { .filter.vcpu = -1, .arg = "rip", .top = 20 };
	struct vmtrace_file vf;
	if (argc < 2)
		return vmtrace_usage_error("%s", "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(VMTRACE_USAGE, stdout);
		return 0;
	}
	const char *cmd = argv[1];
	int rc = vmtrace_parse(argc - 1, argv + 1, &o);
	if (rc || (rc = vmtrace_check_cmd(cmd, &o)))
		return rc;
	if (optind + 1 != argc - 1)
		return vmtrace_usage_error("%s: give exactly one trace file", cmd);
	FILE *out = o.output ? fopen(o.output, "w") : stdout;
	if (!out) {
		fprintf(stderr, "vmtrace: %s: %s\n", o.output, strerror(errno));
		return 1;
	}
	if (vmtrace_load(argv[optind + 1], &o.filter, &vf))
		return 1;
	rc = vmtrace_run(cmd, &vf, &o, out);
	bool damaged = vf.damaged;
	vmtrace_unload(&vf);
	if (fclose(out) && !rc) {
		fprintf(stderr, "vmtrace: write error: %s\n", strerror(errno));
		rc = -EIO;
	}
	return rc || damaged ? 1 : 0;
}
