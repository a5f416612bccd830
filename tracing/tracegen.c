/* SPDX-License-Identifier: MIT */
/*
 * tracegen — turns a folder's trace-events file into a header of trace_NAME() inline wrappers
 * and a C file with the event descriptors, per-event enabled state and USDT probes.
 *
 *   tracegen --group NAME --header OUT.h --source OUT.c FILE
 *   tracegen --check FILE...        validate only (also across files: duplicate names)
 *
 * One event per line:   [disable] name(type arg, ...) "fmt" [PRIx64 "more" ...]
 * Errors are printed as FILE:LINE: message, and the exit status is 1.
 * Built with the host compiler before anything else; it depends only on libc.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAX_ARGS 8		/* same as TRACE_MAX_ARGS in tracing/trace.h */
#define GEN_MAX_EVENTS 512
#define GEN_MAX_LINE 1024

struct gen_type {
	const char *ctype;	/* as written in trace-events (whitespace normalised) */
	const char *ttype;	/* enum trace_type constant */
	unsigned width;		/* bytes in a record; 0 for strings (u16 length and the bytes) */
};

/* Argument types: stdint types, plus the few C types that are unambiguous on LP64. No floats. */
static const struct gen_type gen_types[] = {
	{ "uint8_t", "TRACE_T_U8", 1 },	  { "uint16_t", "TRACE_T_U16", 2 }, { "uint32_t", "TRACE_T_U32", 4 },
	{ "uint64_t", "TRACE_T_U64", 8 }, { "int8_t", "TRACE_T_I8", 1 },    { "int16_t", "TRACE_T_I16", 2 },
	{ "int32_t", "TRACE_T_I32", 4 },  { "int64_t", "TRACE_T_I64", 8 },  { "bool", "TRACE_T_BOOL", 1 },
	{ "int", "TRACE_T_I32", 4 },	  { "unsigned", "TRACE_T_U32", 4 }, { "unsigned int", "TRACE_T_U32", 4 },
	{ "size_t", "TRACE_T_U64", 8 },   { "const char *", "TRACE_T_STR", 0 },
};

static const char *const gen_props[] = { "disable" };

struct gen_arg {
	char ctype[32];
	char name[64];
	const struct gen_type *type;
};

struct gen_event {
	char name[64];
	bool disabled;
	unsigned nargs;
	struct gen_arg args[GEN_MAX_ARGS];
	char fmt[GEN_MAX_LINE];	/* the format tokens, verbatim C */
	const char *file;
	unsigned line;
};

struct gen_state {
	struct gen_event *ev;
	unsigned nr;
	unsigned errors;
};

static void gen_error(const char *file, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void gen_error(const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%u: error: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *gen_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool gen_is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool gen_is_ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Copies an identifier into out; returns the character after it, or NULL when none is there. */
static const char *gen_ident(const char *p, char *out, size_t len)
{
	size_t n = 0;
	if (!gen_is_ident_start(*p))
		return NULL;
	while (gen_is_ident_char(p[n]))
		n++;
	if (n >= len)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

static const char *const gen_keywords[] = { "auto", "break", "case", "char", "const", "continue", "default",
	"do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
	"register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
	"typedef", "union", "unsigned", "void", "volatile", "while", "bool", "h" };

static bool gen_is_keyword(const char *s)
{
	for (size_t i = 0; i < sizeof(gen_keywords) / sizeof(gen_keywords[0]); i++)
		if (!strcmp(s, gen_keywords[i]))
			return true;
	return false;
}

static const struct gen_type *gen_find_type(const char *ctype)
{
	for (size_t i = 0; i < sizeof(gen_types) / sizeof(gen_types[0]); i++)
		if (!strcmp(ctype, gen_types[i].ctype))
			return &gen_types[i];
	return NULL;
}

/* "type name": the last identifier is the name, the rest (whitespace normalised) the type. */
static int gen_parse_arg(const char *s, size_t len, struct gen_arg *a, const char *file, unsigned line)
{
	char buf[128], type[64] = "";
	size_t n = 0, t = 0;
	if (len >= sizeof(buf)) {
		gen_error(file, line, "argument too long");
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	n = len;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	size_t end = n;
	while (n && gen_is_ident_char(buf[n - 1]))
		n--;
	if (n == end || !gen_is_ident_start(buf[n])) {
		gen_error(file, line, "argument '%s' has no name", gen_skip_ws(buf));
		return -1;
	}
	snprintf(a->name, sizeof(a->name), "%s", buf + n);
	buf[n] = '\0';
	for (const char *p = gen_skip_ws(buf); *p; p++) {	/* normalise: single spaces, "char *" */
		if (isspace((unsigned char)*p)) {
			if (t && type[t - 1] != ' ')
				type[t++] = ' ';
			continue;
		}
		if (*p == '*' && t && type[t - 1] != ' ')
			type[t++] = ' ';
		if (t + 2 >= sizeof(type))
			break;
		type[t++] = *p;
	}
	while (t && type[t - 1] == ' ')
		t--;
	type[t] = '\0';
	a->type = gen_find_type(type);
	if (!type[0]) {
		gen_error(file, line, "argument '%s' has no type or no name", a->name);
		return -1;
	}
	if (!a->type) {
		gen_error(file, line, "unknown type '%s' for argument '%s' (use stdint types, bool, int, unsigned, size_t or const char *)",
			  type, a->name);
		return -1;
	}
	snprintf(a->ctype, sizeof(a->ctype), "%s", a->type->ctype);
	if (gen_is_keyword(a->name) || !strncmp(a->name, "trace_", 6)) {
		gen_error(file, line, "argument name '%s' is reserved (C keywords, h, trace_*)", a->name);
		return -1;
	}
	return 0;
}

static int gen_parse_args(const char *p, const char *close, struct gen_event *e, const char *file, unsigned line)
{
	const char *q = gen_skip_ws(p);
	if (q == close || (!strncmp(q, "void", 4) && gen_skip_ws(q + 4) == close))
		return 0;
	while (p < close) {
		const char *comma = memchr(p, ',', (size_t)(close - p));
		const char *end = comma ? comma : close;
		if (e->nargs == GEN_MAX_ARGS) {
			gen_error(file, line, "too many arguments (at most %d)", GEN_MAX_ARGS);
			return -1;
		}
		if (gen_parse_arg(p, (size_t)(end - p), &e->args[e->nargs], file, line))
			return -1;
		for (unsigned i = 0; i < e->nargs; i++)
			if (!strcmp(e->args[i].name, e->args[e->nargs].name)) {
				gen_error(file, line, "duplicate argument name '%s'", e->args[i].name);
				return -1;
			}
		e->nargs++;
		p = end + 1;
	}
	return 0;
}

/* A C string literal starting at p; returns the character after it and whether it ends in \n. */
static const char *gen_string(const char *p, bool *ends_nl)
{
	const char *s = p + 1;
	*ends_nl = false;
	while (*s && *s != '"') {
		if (*s == '\\') {
			if (!s[1])
				return NULL;
			*ends_nl = s[1] == 'n' && s[2] == '"';
			s += 2;
			continue;
		}
		s++;
	}
	return *s == '"' ? s + 1 : NULL;
}

/* PRId8 .. PRIX64 */
static bool gen_is_pri_macro(const char *s)
{
	static const char *const widths[] = { "8", "16", "32", "64", "PTR" };
	if (strncmp(s, "PRI", 3) || !strchr("diouxX", s[3]))
		return false;
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		if (!strcmp(s + 4, widths[i]))
			return true;
	return false;
}

static int gen_parse_fmt(const char *p, struct gen_event *e, const char *file, unsigned line)
{
	bool nl = false, any = false;
	size_t len = 0;
	p = gen_skip_ws(p);
	while (*p) {
		const char *end;
		char ident[32];
		if (*p == '"') {
			end = gen_string(p, &nl);
			if (!end) {
				gen_error(file, line, "unterminated format string");
				return -1;
			}
			any = true;
		} else if ((end = gen_ident(p, ident, sizeof(ident))) && gen_is_pri_macro(ident)) {
			nl = false;
		} else {
			gen_error(file, line, "unexpected text after the format: '%s'", p);
			return -1;
		}
		if (len + (size_t)(end - p) + 2 >= sizeof(e->fmt)) {
			gen_error(file, line, "format too long");
			return -1;
		}
		len += (size_t)snprintf(e->fmt + len, sizeof(e->fmt) - len, "%s%.*s", len ? " " : "", (int)(end - p), p);
		p = gen_skip_ws(end);
	}
	if (!any) {
		gen_error(file, line, "missing format string");
		return -1;
	}
	if (nl) {
		gen_error(file, line, "format string must not end with a newline");
		return -1;
	}
	return 0;
}

/* [props] name(args) "fmt" */
static int gen_parse_line(const char *p, struct gen_event *e, const char *file, unsigned line)
{
	char word[64];
	const char *q;
	memset(e, 0, sizeof(*e));
	e->file = file;
	e->line = line;
	for (;;) {
		p = gen_skip_ws(p);
		q = gen_ident(p, word, sizeof(word));
		if (!q) {
			gen_error(file, line, "expected an event name");
			return -1;
		}
		if (*gen_skip_ws(q) == '(')
			break;
		bool known = false;
		for (size_t i = 0; i < sizeof(gen_props) / sizeof(gen_props[0]); i++)
			known |= !strcmp(word, gen_props[i]);
		if (!known) {
			gen_error(file, line, "unknown property '%s' (known: disable)", word);
			return -1;
		}
		e->disabled = true;
		p = q;
	}
	snprintf(e->name, sizeof(e->name), "%s", word);
	p = gen_skip_ws(q) + 1;
	const char *close = strchr(p, ')');
	if (!close) {
		gen_error(file, line, "missing ')' after the arguments");
		return -1;
	}
	if (gen_parse_args(p, close, e, file, line))
		return -1;
	return gen_parse_fmt(close + 1, e, file, line);
}

static bool gen_is_blank(const char *p)
{
	p = gen_skip_ws(p);
	return !*p || *p == '#' || *p == '\n';
}

static int gen_add(struct gen_state *st, const struct gen_event *e)
{
	for (unsigned i = 0; i < st->nr; i++)
		if (!strcmp(st->ev[i].name, e->name)) {
			gen_error(e->file, e->line, "duplicate event '%s' (first defined at %s:%u)", e->name,
				  st->ev[i].file, st->ev[i].line);
			return -1;
		}
	if (st->nr == GEN_MAX_EVENTS) {
		gen_error(e->file, e->line, "too many events (at most %d)", GEN_MAX_EVENTS);
		return -1;
	}
	st->ev[st->nr++] = *e;
	return 0;
}

static int gen_parse_file(struct gen_state *st, const char *file)
{
	char buf[GEN_MAX_LINE + 2];
	unsigned line = 0;
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		struct gen_event e;
		size_t n = strlen(buf);
		line++;
		if (n && buf[n - 1] != '\n' && !feof(f)) {
			gen_error(file, line, "line longer than %d characters", GEN_MAX_LINE);
			st->errors++;
			break;
		}
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			buf[--n] = '\0';
		if (gen_is_blank(buf))
			continue;
		if (gen_parse_line(buf, &e, file, line) || gen_add(st, &e))
			st->errors++;
	}
	fclose(f);
	return st->errors ? -1 : 0;
}

static void gen_upper(char *out, size_t len, const char *s)
{
	size_t i;
	for (i = 0; s[i] && i + 1 < len; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = '\0';
}

static void gen_params(FILE *o, const struct gen_event *e)
{
	if (!e->nargs)
		fputs("void", o);
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, "%s%s%s%s", i ? ", " : "", e->args[i].ctype,
			e->args[i].ctype[strlen(e->args[i].ctype) - 1] == '*' ? "" : " ", e->args[i].name);
}

static void gen_call_args(FILE *o, const struct gen_event *e)
{
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, ", %s", e->args[i].name);
}

static void gen_header_event(FILE *o, const char *G, const struct gen_event *e)
{
	char U[64];
	gen_upper(U, sizeof(U), e->name);
	if (e->disabled) {
		fprintf(o, "/* %s: disabled in trace-events, compiles to nothing */\n", e->name);
		fprintf(o, "static inline bool trace_%s_is_enabled(void)\n{\n\treturn false;\n}\n", e->name);
		fprintf(o, "static inline void trace_%s(", e->name);
		gen_params(o, e);
		fprintf(o, ")\n{\n");
		for (unsigned i = 0; i < e->nargs; i++)
			fprintf(o, "\t(void)%s;\n", e->args[i].name);
		fprintf(o, "}\n\n");
		return;
	}
	fprintf(o, "void trace_fire_%s(struct trace_handle *h", e->name);
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, ", %s%s%s", e->args[i].ctype, e->args[i].ctype[strlen(e->args[i].ctype) - 1] == '*' ? "" : " ",
			e->args[i].name);
	fprintf(o, ");\n");
	fprintf(o, "/* For arguments that cost something to compute: if (trace_%s_is_enabled()) ... */\n", e->name);
	fprintf(o, "static inline bool trace_%s_is_enabled(void)\n{\n\treturn __builtin_expect(__atomic_load_n(&trace_state_%s[TRACE_EV_%s], __ATOMIC_RELAXED) != NULL, 0);\n}\n",
		e->name, G, U);
	fprintf(o, "static inline void trace_%s(", e->name);
	gen_params(o, e);
	fprintf(o, ")\n{\n\tstruct trace_handle *h = __atomic_load_n(&trace_state_%s[TRACE_EV_%s], __ATOMIC_RELAXED);\n",
		G, U);
	fprintf(o, "\tif (__builtin_expect(h != NULL, 0))\n\t\ttrace_fire_%s(h", e->name);
	gen_call_args(o, e);
	fprintf(o, ");\n}\n\n");
}

static int gen_write_header(const struct gen_state *st, const char *group, const char *path, const char *src)
{
	char G[64];
	FILE *o = fopen(path, "w");
	if (!o) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	gen_upper(G, sizeof(G), group);
	fprintf(o, "/* Generated by tracegen from %s: do not edit. */\n#ifndef TRACE_GEN_%s_H\n#define TRACE_GEN_%s_H\n\n", src, G, G);
	fprintf(o, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include \"tracing/trace.h\"\n\n");
	fprintf(o, "enum trace_%s_event {\n", group);
	unsigned n = 0;
	for (unsigned i = 0; i < st->nr; i++) {
		char U[64];
		if (st->ev[i].disabled)
			continue;
		gen_upper(U, sizeof(U), st->ev[i].name);
		fprintf(o, "\tTRACE_EV_%s = %u,\n", U, n++);
	}
	fprintf(o, "\tTRACE_%s__COUNT = %u\n};\n\n", G, n);
	fprintf(o, "/* Non-NULL: the event is on, and points at the handle that turned it on. */\n");
	fprintf(o, "extern struct trace_handle *trace_state_%s[%u];\nextern struct trace_group trace_group_%s;\n\n",
		group, n ? n : 1, group);
	for (unsigned i = 0; i < st->nr; i++)
		gen_header_event(o, group, &st->ev[i]);
	fprintf(o, "#endif\n");
	return fclose(o) ? -1 : 0;
}

static void gen_source_desc(FILE *o, const struct gen_event *e)
{
	fprintf(o, "\t{ .name = \"%s\", .fmt = %s, .nargs = %u,\n\t  .arg_names = {", e->name, e->fmt, e->nargs);
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, "%s\"%s\"", i ? ", " : " ", e->args[i].name);
	fprintf(o, " },\n\t  .arg_ctypes = {");
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, "%s\"%s\"", i ? ", " : " ", e->args[i].ctype);
	fprintf(o, " },\n\t  .arg_types = {");
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, "%s%s", i ? ", " : " ", e->args[i].type->ttype);
	fprintf(o, " },\n\t  .usdt_semaphore = &vmscope_%s_semaphore },\n", e->name);
}

/* The record's size: the fixed part as a number, plus the string lengths computed at run time. */
static void gen_source_size(FILE *o, const struct gen_event *e)
{
	unsigned fixed = 8;	/* TRACE_REC_HDR */
	for (unsigned i = 0; i < e->nargs; i++)
		fixed += e->args[i].type->width ? e->args[i].type->width : 2;
	fprintf(o, "%u", fixed);
	for (unsigned i = 0; i < e->nargs; i++)
		if (!e->args[i].type->width)
			fprintf(o, " + trace_l%u_", i);
}

/* Encodes the arguments straight into the ring, each at its natural width. */
static void gen_source_record(FILE *o, const struct gen_event *e)
{
	fprintf(o, "\tif (__builtin_expect(trace_mode_ & TRACE_MODE_BINARY, 1)) {\n");
	for (unsigned i = 0; i < e->nargs; i++)
		if (!e->args[i].type->width)
			fprintf(o, "\t\tsize_t trace_l%u_ = trace_str_len(%s);\n", i, e->args[i].name);
	fprintf(o, "\t\tstruct trace_wr trace_w_;\n\t\tuint8_t *trace_p_ = trace_rec_begin(h, trace_id_, ");
	gen_source_size(o, e);
	fprintf(o, ", &trace_w_);\n\t\tif (trace_p_) {\n");
	for (unsigned i = 0; i < e->nargs; i++) {
		const struct gen_arg *a = &e->args[i];
		if (!a->type->width)
			fprintf(o, "\t\t\ttrace_p_ = trace_put_str(trace_p_, %s, trace_l%u_);\n", a->name, i);
		else
			fprintf(o, "\t\t\ttrace_p_ = trace_put_u%u(trace_p_, (uint%u_t)%s);\n", a->type->width * 8,
				a->type->width * 8, a->name);
	}
	fprintf(o, "\t\t\t(void)trace_p_;\n\t\t\ttrace_rec_commit(&trace_w_);\n\t\t}\n\t}\n");
}

static void gen_source_fire(FILE *o, const char *group, const struct gen_event *e)
{
	char U[64];
	gen_upper(U, sizeof(U), e->name);
	fprintf(o, "void trace_fire_%s(struct trace_handle *h", e->name);
	for (unsigned i = 0; i < e->nargs; i++)
		fprintf(o, ", %s%s%s", e->args[i].ctype, e->args[i].ctype[strlen(e->args[i].ctype) - 1] == '*' ? "" : " ",
			e->args[i].name);
	fprintf(o, ")\n{\n\tconst unsigned trace_id_ = trace_group_%s.base + TRACE_EV_%s;\n", group, U);
	fprintf(o, "\tconst unsigned trace_mode_ = trace_mode(h, trace_id_);\n");
	fprintf(o, "\tif (__builtin_expect(vmscope_%s_semaphore != 0, 0))\n\t\tSTAP_PROBE%.0u(vmscope, %s", e->name,
		e->nargs, e->name);
	gen_call_args(o, e);
	fprintf(o, ");\n");
	gen_source_record(o, e);
	fprintf(o, "\tif (__builtin_expect(trace_mode_ & TRACE_MODE_TEXT, 0))\n");
	fprintf(o, "\t\ttrace_emit_text(h, &trace_group_%s, TRACE_EV_%s, %s", group, U, e->fmt);
	gen_call_args(o, e);
	fprintf(o, ");\n}\n\n");
}

static int gen_write_source(const struct gen_state *st, const char *group, const char *path, const char *hdr,
			    const char *src)
{
	unsigned n = 0;
	FILE *o = fopen(path, "w");
	if (!o) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(o, "/* Generated by tracegen from %s: do not edit. */\n#define _SDT_HAS_SEMAPHORES 1\n", src);
	fprintf(o, "#include <inttypes.h>\n#include <sys/sdt.h>\n#include \"%s\"\n#include \"tracing/trace-local.h\"\n\n", hdr);
	for (unsigned i = 0; i < st->nr; i++)
		if (!st->ev[i].disabled) {
			fprintf(o, "__extension__ unsigned short vmscope_%s_semaphore\n\t__attribute__((unused, section(\".probes\")));\n",
				st->ev[i].name);
			n++;
		}
	fprintf(o, "\nstruct trace_handle *trace_state_%s[%u];\n\n", group, n ? n : 1);
	fprintf(o, "static const struct trace_event_desc trace_descs_%s[%u] = {\n", group, n ? n : 1);
	for (unsigned i = 0; i < st->nr; i++)
		if (!st->ev[i].disabled)
			gen_source_desc(o, &st->ev[i]);
	fprintf(o, "};\n\nstruct trace_group trace_group_%s = {\n\t.name = \"%s\", .file = \"%s\", .nr_events = %u,\n", group,
		group, src, n);
	fprintf(o, "\t.events = trace_descs_%s, .state = trace_state_%s,\n};\n", group, group);
	fprintf(o, "static struct trace_group *const trace_group_ref_%s\n\t__attribute__((used, section(\"trace_groups\"))) = &trace_group_%s;\n\n",
		group, group);
	for (unsigned i = 0; i < st->nr; i++)
		if (!st->ev[i].disabled)
			gen_source_fire(o, group, &st->ev[i]);
	return fclose(o) ? -1 : 0;
}

static int gen_usage(void)
{
	fprintf(stderr, "usage: tracegen --group NAME --header OUT.h --include INCLUDED.h --source OUT.c FILE\n"
			"       tracegen --check FILE...\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *group = NULL, *header = NULL, *source = NULL, *include = NULL;
	struct gen_state st = { 0 };
	int i = 1, rc = 0;
	bool check = false;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--check"))
			check = true;
		else if (i + 1 < argc && !strcmp(argv[i], "--group"))
			group = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--header"))
			header = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--source"))
			source = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--include"))
			include = argv[++i];
		else
			return gen_usage();
	}
	if (i >= argc || (!check && (!group || !header || !source || !include || i + 1 != argc)))
		return gen_usage();
	st.ev = calloc(GEN_MAX_EVENTS, sizeof(*st.ev));
	if (!st.ev)
		return 1;
	for (; i < argc; i++)
		if (gen_parse_file(&st, argv[i]))
			rc = 1;
	if (!rc && !check)
		if (gen_write_header(&st, group, header, argv[argc - 1]) ||
		    gen_write_source(&st, group, source, include, argv[argc - 1]))
			rc = 1;
	free(st.ev);
	return rc;
}
