/* SPDX-License-Identifier: MIT */
/*
 * tracefs "format" files: name, ID, record fields and the __print_symbolic() tables of the
 * print fmt (the running kernel's exit-reason names).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debugfs/debugfs-local.h"

#define FMT_MAX_SYMBOLS 512

static void fmt_copy(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < DBGFS_NAME_MAX && i < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/* "field:unsigned int exit_reason;\toffset:8;..." -> "exit_reason" */
static void fmt_add_field(struct dbgfs_format *f, const char *line)
{
	const char *semi = strchr(line, ';'), *p;

	if (!semi || f->nr_fields >= sizeof(f->fields) / sizeof(f->fields[0]))
		return;
	p = semi;
	while (p > line && (p[-1] == ']' || isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '['))
		p--;
	if (strncmp(p, "common_", 7) == 0)
		return;
	fmt_copy(f->fields[f->nr_fields], p, strcspn(p, "[;"));
	f->nr_fields++;
}

/* A value expression: integer literals joined by '+' ("0x040 + 13", "-1"). */
static bool fmt_eval(const char **pp, int64_t *out)
{
	const char *p = *pp;
	char *end;
	int64_t sum = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		long long v = strtoll(p, &end, 0);
		if (end == p)
			return false;
		if (*end == 'u' || *end == 'U' || *end == 'l' || *end == 'L')
			end++;
		sum += (int64_t)v;
		p = end;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '+')
			break;
		p++;
	}
	*pp = p;
	*out = sum;
	return true;
}

/* One or more adjacent string literals ("KVM_EXIT_" "IO"), spaces turned into '_'. */
static bool fmt_strings(const char **pp, char *out)
{
	const char *p = *pp;
	size_t n = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p != '"')
		return false;
	while (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (n + 1 < DBGFS_NAME_MAX)
				out[n++] = *p == ' ' ? '_' : *p;
		if (*p != '"')
			return false;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	out[n] = 0;
	if (n > 9 && strncmp(out, "KVM_EXIT_", 9) == 0)
		memmove(out, out + 9, n - 9 + 1);
	*pp = p;
	return n > 0;
}

/* The record field named in the first argument: "REC->exit_reason & 0xffff" -> exit_reason. */
static void fmt_symtab_field(const char *arg, size_t n, char *out)
{
	const char *rec = strstr(arg, "REC->");
	size_t len = 0;

	out[0] = 0;
	if (!rec || rec >= arg + n)
		return;
	rec += 5;
	while (isalnum((unsigned char)rec[len]) || rec[len] == '_')
		len++;
	fmt_copy(out, rec, len);
}

/* Parses "{ V, "N" }, ... )" into tab; returns the position after ')' or NULL. */
static const char *fmt_entries(const char *p, struct dbgfs_symtab *tab)
{
	struct dbgfs_symbol *sym = calloc(FMT_MAX_SYMBOLS, sizeof(*sym));

	if (!sym)
		return NULL;
	tab->sym = sym;
	tab->n = 0;
	for (;;) {
		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (*p == ')')
			return p + 1;
		if (*p != '{' || tab->n >= FMT_MAX_SYMBOLS)
			return NULL;
		p++;
		if (!fmt_eval(&p, &sym[tab->n].value) || *p != ',')
			return NULL;
		p++;
		if (!fmt_strings(&p, sym[tab->n].name) || *p != '}')
			return NULL;
		p++;
		tab->n++;
	}
}

static int fmt_parse_symbolic(const char *fmt, struct dbgfs_format *f)
{
	const char *p = fmt, *arg, *comma;

	while ((p = strstr(p, "__print_symbolic("))) {
		struct dbgfs_symtab *tab;

		if (f->nr_tabs >= sizeof(f->tabs) / sizeof(f->tabs[0]))
			return -E2BIG;
		tab = &f->tabs[f->nr_tabs];
		arg = p + strlen("__print_symbolic(");
		comma = strchr(arg, ',');
		if (!comma)
			return -EINVAL;
		fmt_symtab_field(arg, (size_t)(comma - arg), tab->field);
		p = fmt_entries(comma + 1, tab);
		f->nr_tabs++;
		if (!p)
			return -EINVAL;
	}
	return 0;
}

int dbgfs_format_parse(const char *text, struct dbgfs_format *f)
{
	const char *line = text, *nl;
	bool has_id = false;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	for (; line && *line && ret == 0; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, "name: ", 6) == 0)
			fmt_copy(f->name, line + 6, nl ? (size_t)(nl - line - 6) : strlen(line + 6));
		else if (strncmp(line, "ID: ", 4) == 0)
			has_id = sscanf(line + 4, "%d", &f->id) == 1;
		else if (strncmp(line, "field:", 6) == 0)
			fmt_add_field(f, line);
		else if (strncmp(line, "print fmt:", 10) == 0)
			ret = fmt_parse_symbolic(line, f);
	}
	if (ret == 0 && (!f->name[0] || !has_id))
		ret = -EINVAL;
	if (ret < 0)
		dbgfs_format_free(f);
	return ret;
}

void dbgfs_format_free(struct dbgfs_format *f)
{
	unsigned i;

	for (i = 0; i < f->nr_tabs; i++) {
		free(f->tabs[i].sym);
		f->tabs[i].sym = NULL;
		f->tabs[i].n = 0;
	}
	f->nr_tabs = 0;
}

const struct dbgfs_symtab *dbgfs_format_symtab(const struct dbgfs_format *f, const char *field, bool prefer_svm)
{
	const struct dbgfs_symtab *first = NULL, *second = NULL;
	unsigned i;

	for (i = 0; i < f->nr_tabs; i++) {
		if (strcmp(f->tabs[i].field, field) != 0 || f->tabs[i].n == 0)
			continue;
		if (!first)
			first = &f->tabs[i];
		else if (!second)
			second = &f->tabs[i];
	}
	/* Kernels that print both ISAs list VMX first (isa == 1 ? VMX : SVM). */
	return prefer_svm && second ? second : first;
}
