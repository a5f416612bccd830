/* SPDX-License-Identifier: MIT */
/* Text outputs over the model: batch (-1), log (-l/-L, vmstat-like), CSV (-c), JSON (--json). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvmstat/kvmstat.h"

#define KVMSTAT_BANNER_EVERY 20

void kvmstat_timestamp(char *buf, size_t len)
{
	const char *fixed = getenv("KVMSTAT_TIMESTAMP");	/* golden tests */
	time_t t = time(NULL);
	struct tm tm;

	if (fixed) {
		snprintf(buf, len, "%s", fixed);
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const struct kvmstat_row *kvmstat_find_row(const struct kvmstat_model *m, const char *key)
{
	return kvmstat_model_row(m, key);
}

/* The columns: every field the sources offer that is wanted (children only with drilldown),
 * plus any row that appeared without being listed. listed: ask the tracepoints for their names
 * too (a log's header, before every event has been read once); else their rows name them. */
static int kvmstat_columns(struct kvmstat_model *m, bool listed, char ***cols, unsigned *n)
{
	struct dbgfs_samples f = { 0 };
	char why[256];
	int ret = kvmstat_model_fields(m, listed, &f, why, sizeof(why));
	unsigned k = 0;

	*cols = calloc(f.n + m->nr_rows + 1, sizeof(char *));
	if (!*cols) {
		dbgfs_samples_free(&f);
		return -ENOMEM;
	}
	for (size_t i = 0; ret == 0 && i < f.n; i++) {
		const char *name = f.v[i].name;

		if ((strchr(name, '(') && !m->dopt.drilldown) || !m->dopt.want(m, name))
			continue;
		(*cols)[k++] = strdup(name);
	}
	for (unsigned i = 0; i < m->nr_rows; i++) {
		bool dup = false;

		for (unsigned j = 0; j < k && !dup; j++)
			dup = strcmp((*cols)[j], m->rows[i]->key) == 0;
		if (!dup)
			(*cols)[k++] = strdup(m->rows[i]->key);
	}
	dbgfs_samples_free(&f);
	*n = k;
	return 0;
}

static int kvmstat_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void kvmstat_print_batch(struct kvmstat_model *m, FILE *f)
{
	char **cols;
	unsigned n;

	if (kvmstat_columns(m, false, &cols, &n) < 0)
		return;
	qsort(cols, n, sizeof(cols[0]), kvmstat_cmp_str);
	for (unsigned i = 0; i < n; i++) {
		const struct kvmstat_row *r = kvmstat_find_row(m, cols[i]);

		/* a field that has not counted (not open yet, or unreadable) is "-", never 0 */
		if (r)
			fprintf(f, "%-42s%10llu%10llu\n", cols[i], (unsigned long long)r->total,
				(unsigned long long)r->delta);
		else
			fprintf(f, "%-42s%10s%10s\n", cols[i], "-", "-");
		free(cols[i]);
	}
	free(cols);
	fflush(f);
}

void kvmstat_print_fields(const struct dbgfs_samples *fields, FILE *f)
{
	char last[DBGFS_NAME_MAX] = "";

	/* like kvm_stat -f help: children folded into their parent, one name per line */
	for (size_t i = 0; i < fields->n; i++) {
		char name[DBGFS_NAME_MAX];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(fields->v[i].name, "("), fields->v[i].name);
		if (strcmp(name, last) != 0)
			fprintf(f, "%s\n", name);
		snprintf(last, sizeof(last), "%s", name);
	}
}

int kvmstat_log_init(struct kvmstat_log *l, struct kvmstat_model *m, char *why, size_t why_len)
{
	size_t line = 64 + 1;	/* the timestamp (at most 63 characters), the newline */
	int ret = kvmstat_columns(m, true, &l->cols, &l->nr_cols);

	if (ret < 0)
		return ret;
	l->width = calloc(l->nr_cols + 1, sizeof(unsigned));
	l->rows = calloc(l->nr_cols + 1, sizeof(*l->rows));
	if (!l->width || !l->rows)
		return -ENOMEM;
	for (unsigned i = 0; i < l->nr_cols; i++) {
		size_t w = strlen(l->cols[i]);
		l->width[i] = w > 9 ? (unsigned)w : 9;
		line += 1 + (l->width[i] > 20 ? l->width[i] : 20);
	}
	l->line = malloc(line);
	if (!l->line)
		return -ENOMEM;
	return l->path ? kvmstat_log_reopen(l, why, why_len) : 0;
}

int kvmstat_log_reopen(struct kvmstat_log *l, char *why, size_t why_len)
{
	FILE *f;

	if (!l->path)
		return 0;
	f = fopen(l->path, "ae");
	if (!f) {
		int e = -errno;
		snprintf(why, why_len, "Could not open file %s: %s", l->path, strerror(-e));
		return e;
	}
	if (l->f && l->f != stdout)
		fclose(l->f);
	l->f = f;
	/* a CSV header only at the top of an empty file; a text banner right away */
	l->lines = l->csv && ftell(f) > 0 ? 1 : 0;
	return 0;
}

static void kvmstat_log_banner(struct kvmstat_log *l)
{
	if (l->csv) {
		if (l->lines)
			return;
		fputs("timestamp", l->f);
		for (unsigned i = 0; i < l->nr_cols; i++)
			fprintf(l->f, ",%s", l->cols[i]);
		fputc('\n', l->f);
		return;
	}
	if (l->lines % KVMSTAT_BANNER_EVERY)
		return;
	fprintf(l->f, "%-19s", "timestamp");
	for (unsigned i = 0; i < l->nr_cols; i++)
		fprintf(l->f, " %*s", (int)l->width[i], l->cols[i]);
	fputc('\n', l->f);
}

/* The columns' rows, looked up again only when the model rebuilt or added rows. */
static void kvmstat_log_rows(struct kvmstat_log *l, struct kvmstat_model *m)
{
	if (l->row_gen == m->row_gen && l->nr_rows == m->nr_rows)
		return;
	for (unsigned i = 0; i < l->nr_cols; i++)
		l->rows[i] = kvmstat_find_row(m, l->cols[i]);
	l->row_gen = m->row_gen;
	l->nr_rows = m->nr_rows;
}

/* Appends " %*llu" (or ",%llu") to p; the line buffer has room for every column. */
static char *kvmstat_put_u64(char *p, uint64_t v, unsigned width, bool csv)
{
	char d[24];
	unsigned n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	*p++ = csv ? ',' : ' ';
	for (unsigned i = n; !csv && i < width; i++)
		*p++ = ' ';
	while (n)
		*p++ = d[--n];
	return p;
}

static char *kvmstat_put_none(char *p, unsigned width, bool csv)
{
	*p++ = csv ? ',' : ' ';	/* not counting: an empty CSV field, "-" in text */
	for (unsigned i = 1; !csv && i < width; i++)
		*p++ = ' ';
	if (!csv)
		*p++ = '-';
	return p;
}

void kvmstat_log_line(struct kvmstat_log *l, struct kvmstat_model *m, const char *timestamp)
{
	bool any = false;
	char *p;

	kvmstat_log_rows(l, m);
	for (unsigned i = 0; i < l->nr_cols; i++)
		any |= l->rows[i] && l->rows[i]->delta;
	if (l->skip_zero && !any)
		return;
	kvmstat_log_banner(l);
	p = l->line + snprintf(l->line, 64, "%.63s", timestamp);
	for (unsigned i = 0; i < l->nr_cols; i++)
		p = l->rows[i] ? kvmstat_put_u64(p, l->rows[i]->delta, l->width[i], l->csv)
			       : kvmstat_put_none(p, l->width[i], l->csv);
	*p++ = '\n';
	fwrite(l->line, 1, (size_t)(p - l->line), l->f);
	fflush(l->f);
	l->lines++;
}

void kvmstat_log_free(struct kvmstat_log *l)
{
	for (unsigned i = 0; i < l->nr_cols; i++)
		free(l->cols[i]);
	free(l->cols);
	free(l->width);
	free(l->rows);
	free(l->line);
	if (l->f && l->f != stdout)
		fclose(l->f);
}

static void kvmstat_json_str(FILE *f, const char *s)
{
	char buf[512];

	if (dbgfs_json_quote(buf, sizeof(buf), 0, s) > 0)
		fputs(buf, f);
	else
		fputs("\"\"", f);
}

/* One object per interval: {"timestamp", "interval", "sources", "total": {...}, "events": [...]} */
void kvmstat_print_json(struct kvmstat_model *m, FILE *f, const char *timestamp)
{
	fputs("{\"timestamp\":", f);
	kvmstat_json_str(f, timestamp);
	fprintf(f, ",\"interval\":%.3f,\"sources\":", getenv("KVMSTAT_TIMESTAMP") ? 0.0 : m->interval);
	kvmstat_json_str(f, m->src_names);
	fputs(",\"total\":{\"event\":", f);
	kvmstat_json_str(f, m->exit_signal);
	fprintf(f, ",\"total\":%llu,\"delta\":%llu},\"events\":[", (unsigned long long)m->exit_total,
		(unsigned long long)m->exit_delta);
	for (unsigned i = 0; i < m->nr_shown; i++) {
		const struct kvmstat_row *r = m->shown[i];

		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		kvmstat_json_str(f, r->key);
		fprintf(f, ",\"total\":%llu,\"delta\":%llu", (unsigned long long)r->total, (unsigned long long)r->delta);
		/* a counter that began within the interval: how long its delta was counted */
		if (r->window > 0 && r->window < m->interval - 0.0005 && !getenv("KVMSTAT_TIMESTAMP"))
			fprintf(f, ",\"seconds\":%.6f", r->window);
		fputc('}', f);
	}
	fputs("]}\n", f);
	fflush(f);
}
