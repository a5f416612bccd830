/* SPDX-License-Identifier: MIT */
/*
 * vmtrace-profile.c — where the guest was: the values of an address argument (default "rip", as in
 * vcpu_exit) counted per function and per source line. Symbols and lines come from the guest ELF
 * through libdwfl (elfutils); a System.map or kallsyms text file gives functions only.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "tools/vmtrace-local.h"

struct vmtrace_sym {
	uint64_t addr;
	char *name;
};

struct vmtrace_symtab {
	Dwfl *dwfl;
	struct vmtrace_sym *syms;	/* System.map, sorted */
	size_t n;
};

struct vmtrace_hit {
	uint64_t addr, count;
	char where[256];	/* function+0xoff */
	char line[320];		/* file:line or ?? */
	char func[128];
};

static const Dwfl_Callbacks vmtrace_dwfl_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int vmtrace_open_map(struct vmtrace_symtab *st, const char *path);

/* An ELF file through libdwfl; a file that is not ELF is tried as a System.map. */
static int vmtrace_open_elf(struct vmtrace_symtab *st, const char *path)
{
	st->dwfl = dwfl_begin(&vmtrace_dwfl_callbacks);
	if (!st->dwfl || !dwfl_report_offline(st->dwfl, "guest", path, -1)) {
		char why[256];
		snprintf(why, sizeof(why), "%s", dwfl_errmsg(-1));
		if (st->dwfl)
			dwfl_end(st->dwfl);
		st->dwfl = NULL;
		if (vmtrace_open_map(st, path) == 0) {
			fprintf(stderr, "vmtrace: %s is not ELF (%s): read as a System.map\n", path, why);
			return 0;
		}
		fprintf(stderr, "vmtrace: %s: neither ELF (%s) nor a System.map\n", path, why);
		return -EINVAL;
	}
	dwfl_report_end(st->dwfl, NULL, NULL);
	return 0;
}

static int vmtrace_sym_cmp(const void *a, const void *b)
{
	const struct vmtrace_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* "ffffffff81000000 T _text [module]": text and weak symbols only. */
static int vmtrace_open_map(struct vmtrace_symtab *st, const char *path)
{
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "vmtrace: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3) {
			fprintf(stderr, "vmtrace: %s:%u: not a System.map line (address type name)\n", path, lineno);
			fclose(f);
			return -EINVAL;
		}
		if (!strchr("TtWw", type))
			continue;
		if (st->n == cap) {
			cap = cap ? cap * 2 : 1024;
			st->syms = realloc(st->syms, cap * sizeof(*st->syms));
			if (!st->syms) {
				fclose(f);
				return -ENOMEM;
			}
		}
		st->syms[st->n++] = (struct vmtrace_sym){ addr, strdup(name) };
	}
	fclose(f);
	if (st->n)
		qsort(st->syms, st->n, sizeof(*st->syms), vmtrace_sym_cmp);
	return 0;
}

static void vmtrace_resolve_map(const struct vmtrace_symtab *st, struct vmtrace_hit *h)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {	/* the last symbol at or below addr */
		size_t mid = (lo + hi) / 2;
		if (st->syms[mid].addr <= h->addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return;
	snprintf(h->func, sizeof(h->func), "%s", st->syms[lo - 1].name);
	snprintf(h->where, sizeof(h->where), "%s+0x%" PRIx64, h->func, h->addr - st->syms[lo - 1].addr);
}

static void vmtrace_resolve_dwfl(const struct vmtrace_symtab *st, struct vmtrace_hit *h)
{
	Dwfl_Module *m = dwfl_addrmodule(st->dwfl, h->addr);
	GElf_Off off = 0;
	GElf_Sym sym;
	int lineno = 0;
	if (!m)
		return;
	const char *name = dwfl_module_addrinfo(m, h->addr, &off, &sym, NULL, NULL, NULL);
	if (name) {
		snprintf(h->func, sizeof(h->func), "%s", name);
		snprintf(h->where, sizeof(h->where), "%s+0x%llx", name, (unsigned long long)off);
	}
	Dwfl_Line *line = dwfl_module_getsrc(m, h->addr);
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (file)
		snprintf(h->line, sizeof(h->line), "%s:%d", file, lineno);
}

static void vmtrace_resolve(const struct vmtrace_symtab *st, struct vmtrace_hit *h)
{
	snprintf(h->where, sizeof(h->where), "0x%" PRIx64, h->addr);
	snprintf(h->func, sizeof(h->func), "??");
	snprintf(h->line, sizeof(h->line), "??");
	if (st->dwfl)
		vmtrace_resolve_dwfl(st, h);
	else
		vmtrace_resolve_map(st, h);
}

static int vmtrace_hit_cmp(const void *a, const void *b)
{
	const struct vmtrace_hit *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int vmtrace_u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* All values of argument arg, sorted. */
static int vmtrace_collect_addrs(struct vmtrace_file *vf, const char *arg, uint64_t **out, size_t *n)
{
	uint64_t *v = malloc((vf->n + 1) * sizeof(*v));
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < vf->n; i++) {
		struct trace_record rec;
		if (vmtrace_get(vf, i, &rec)) {
			free(v);
			return -EINVAL;
		}
		int a = trace_reader_arg_index(vf->r, rec.event, arg);
		if (a >= 0 && trace_reader_event(vf->r, rec.event)->arg_types[a] != TRACE_T_STR)
			v[(*n)++] = rec.vals[a];
	}
	qsort(v, *n, sizeof(*v), vmtrace_u64cmp);
	*out = v;
	return 0;
}

static void vmtrace_print_hits(FILE *out, struct vmtrace_hit *hits, size_t nh, size_t total, unsigned top)
{
	qsort(hits, nh, sizeof(*hits), vmtrace_hit_cmp);
	fprintf(out, "by address:\n%10s %7s  %-18s %-32s %s\n", "samples", "%", "address", "function", "source");
	for (size_t k = 0; k < nh && k < top; k++)
		fprintf(out, "%10llu %6.2f%%  0x%-16" PRIx64 " %-32s %s\n", (unsigned long long)hits[k].count,
			100.0 * (double)hits[k].count / (double)total, hits[k].addr, hits[k].where, hits[k].line);
}

/* Per function: sums of the per-address hits. */
static void vmtrace_print_functions(FILE *out, const struct vmtrace_hit *hits, size_t nh, size_t total, unsigned top)
{
	struct vmtrace_hit *fn = calloc(nh + 1, sizeof(*fn));
	size_t nf = 0;
	if (!fn)
		return;
	for (size_t k = 0; k < nh; k++) {
		size_t j = 0;
		while (j < nf && strcmp(fn[j].func, hits[k].func))
			j++;
		if (j == nf)
			snprintf(fn[nf++].func, sizeof(fn[0].func), "%s", hits[k].func);
		fn[j].count += hits[k].count;
	}
	qsort(fn, nf, sizeof(*fn), vmtrace_hit_cmp);
	fprintf(out, "%zu samples, %zu distinct addresses\n\nby function:\n", total, nh);
	for (size_t k = 0; k < nf && k < top; k++)
		fprintf(out, "%10llu %6.2f%%  %s\n", (unsigned long long)fn[k].count, 100.0 * (double)fn[k].count / (double)total,
			fn[k].func);
	free(fn);
}

static void vmtrace_symtab_free(struct vmtrace_symtab *st)
{
	if (st->dwfl)
		dwfl_end(st->dwfl);
	for (size_t i = 0; i < st->n; i++)
		free(st->syms[i].name);
	free(st->syms);
}

int vmtrace_cmd_profile(struct vmtrace_file *vf, const char *elf, const char *symbols, const char *arg,
			unsigned top, FILE *out)
{
	struct vmtrace_symtab st = { 0 };
	uint64_t *addrs = NULL;
	size_t n = 0, nh = 0;
	int rc = elf ? vmtrace_open_elf(&st, elf) : vmtrace_open_map(&st, symbols);
	if (!rc)
		rc = vmtrace_collect_addrs(vf, arg, &addrs, &n);
	struct vmtrace_hit *hits = rc ? NULL : calloc(n + 1, sizeof(*hits));
	if (!rc && !hits)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		if (nh && hits[nh - 1].addr == addrs[i]) {
			hits[nh - 1].count++;
			continue;
		}
		hits[nh].addr = addrs[i];
		hits[nh].count = 1;
		vmtrace_resolve(&st, &hits[nh++]);
	}
	if (!rc && !n)
		fprintf(stderr, "vmtrace: no record has an argument named '%s' (trace vcpu_exit, or pick --arg)\n", arg);
	if (!rc && n) {
		vmtrace_print_functions(out, hits, nh, n, top);
		fputc('\n', out);
		vmtrace_print_hits(out, hits, nh, n, top);
	}
	free(hits);
	free(addrs);
	vmtrace_symtab_free(&st);
	return rc ? rc : (n ? 0 : -ENOENT);
}
