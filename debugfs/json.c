/* SPDX-License-Identifier: MIT */
/* A small, bounded JSON reader (RFC 8259) and string quoting: what QMP needs, nothing more. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "debugfs/debugfs.h"

#define JSON_MAX_DEPTH 64

struct json_in {
	const char *p, *end, *start;
	int depth;
};

static struct dbgfs_json *json_parse_value(struct json_in *in);

static void json_ws(struct json_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
		in->p++;
}

static struct dbgfs_json *json_new(enum dbgfs_json_type t)
{
	struct dbgfs_json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static int json_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 32) >= 'a' && (c | 32) <= 'f')
			v |= (c | 32) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

static size_t json_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	o[0] = (char)(0xe0 | cp >> 12);
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* Parses a string literal at in->p ('"'); malloc'd result. */
static char *json_string(struct json_in *in)
{
	const char *p = in->p + 1;
	char *out = malloc((size_t)(in->end - in->p) + 1), *o = out;

	if (!out)
		return NULL;
	while (p < in->end && *p != '"') {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p >= in->end)
			goto bad;
		switch (*p) {
		case '"': case '\\': case '/': *o++ = *p; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int cp = in->end - p > 4 ? json_hex4(p + 1) : -1;
			if (cp < 0)
				goto bad;
			o += json_utf8(o, (unsigned)cp);
			p += 4;
			break;
		}
		default:
			goto bad;
		}
		p++;
	}
	if (p >= in->end)
		goto bad;
	*o = 0;
	in->p = p + 1;
	return out;
bad:
	in->p = p < in->end ? p : in->end;
	free(out);
	return NULL;
}

static struct dbgfs_json *json_number(struct json_in *in)
{
	char buf[64], *end;
	size_t n = 0;
	struct dbgfs_json *j;

	while (in->p + n < in->end && n < sizeof(buf) - 1 && strchr("+-0123456789.eE", in->p[n]))
		n++;
	if (n == 0 || n == sizeof(buf) - 1)
		return NULL;
	memcpy(buf, in->p, n);
	buf[n] = 0;
	j = json_new(DBGFS_JSON_NUMBER);
	if (!j)
		return NULL;
	j->num = strtod(buf, &end);
	if (end != buf + n || !isfinite(j->num)) {
		free(j);
		return NULL;
	}
	if (!strpbrk(buf, ".eE")) {
		errno = 0;
		j->i = strtoll(buf, &end, 10);
		j->is_int = errno == 0;
		if (!j->is_int && buf[0] != '-') {	/* u64 counters above INT64_MAX */
			errno = 0;
			j->i = (int64_t)strtoull(buf, &end, 10);
			j->is_int = errno == 0;
		}
	}
	in->p += n;
	return j;
}

static struct dbgfs_json *json_literal(struct json_in *in)
{
	static const struct { const char *text; enum dbgfs_json_type t; bool b; } lits[] = {
		{ "true", DBGFS_JSON_BOOL, true }, { "false", DBGFS_JSON_BOOL, false }, { "null", DBGFS_JSON_NULL, false },
	};

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].text);
		if ((size_t)(in->end - in->p) >= n && memcmp(in->p, lits[i].text, n) == 0) {
			struct dbgfs_json *j = json_new(lits[i].t);
			if (j)
				j->b = lits[i].b;
			in->p += n;
			return j;
		}
	}
	return NULL;
}

/* Members of an array or object, after the opening bracket. */
static struct dbgfs_json *json_container(struct json_in *in, bool object)
{
	struct dbgfs_json *j = json_new(object ? DBGFS_JSON_OBJECT : DBGFS_JSON_ARRAY), **tail, *m;
	char close = object ? '}' : ']';

	if (!j || ++in->depth > JSON_MAX_DEPTH)
		goto bad;
	tail = &j->child;
	in->p++;
	json_ws(in);
	if (in->p < in->end && *in->p == close) {
		in->p++;
		in->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;

		json_ws(in);
		if (object) {
			if (in->p >= in->end || *in->p != '"' || !(key = json_string(in)))
				goto bad;
			json_ws(in);
			if (in->p >= in->end || *in->p != ':') {
				free(key);
				goto bad;
			}
			in->p++;
		}
		m = json_parse_value(in);
		if (!m) {
			free(key);
			goto bad;
		}
		m->key = key;
		*tail = m;
		tail = &m->next;
		json_ws(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			continue;
		}
		if (in->p < in->end && *in->p == close) {
			in->p++;
			in->depth--;
			return j;
		}
		goto bad;
	}
bad:
	dbgfs_json_free(j);
	return NULL;
}

static struct dbgfs_json *json_parse_value(struct json_in *in)
{
	struct dbgfs_json *j;
	char *s;

	json_ws(in);
	if (in->p >= in->end)
		return NULL;
	switch (*in->p) {
	case '{':
		return json_container(in, true);
	case '[':
		return json_container(in, false);
	case '"':
		s = json_string(in);
		if (!s)
			return NULL;
		j = json_new(DBGFS_JSON_STRING);
		if (!j)
			free(s);
		else
			j->str = s;
		return j;
	case 't': case 'f': case 'n':
		return json_literal(in);
	default:
		return json_number(in);
	}
}

int dbgfs_json_parse(const char *text, size_t len, struct dbgfs_json **out, size_t *err_off)
{
	struct json_in in = { text, text + len, text, 0 };
	struct dbgfs_json *j = json_parse_value(&in);

	if (j) {
		json_ws(&in);
		if (in.p == in.end) {
			*out = j;
			return 0;
		}
		dbgfs_json_free(j);
	}
	if (err_off)
		*err_off = (size_t)(in.p - in.start);
	return -EINVAL;
}

void dbgfs_json_free(struct dbgfs_json *j)
{
	while (j) {
		struct dbgfs_json *next = j->next;

		dbgfs_json_free(j->child);
		free(j->str);
		free(j->key);
		free(j);
		j = next;
	}
}

const struct dbgfs_json *dbgfs_json_get(const struct dbgfs_json *obj, const char *key)
{
	if (!obj || obj->type != DBGFS_JSON_OBJECT)
		return NULL;
	for (const struct dbgfs_json *m = obj->child; m; m = m->next)
		if (m->key && strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *dbgfs_json_str(const struct dbgfs_json *obj, const char *key)
{
	const struct dbgfs_json *m = dbgfs_json_get(obj, key);

	return m && m->type == DBGFS_JSON_STRING ? m->str : NULL;
}

int dbgfs_json_quote(char *buf, size_t cap, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (len + 1 >= cap)
		return -E2BIG;
	buf[len++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (len + 7 >= cap)
			return -E2BIG;
		if (c == '"' || c == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)c;
		} else if (c < 0x20) {
			memcpy(buf + len, "\\u00", 4);
			buf[len + 4] = hex[c >> 4];
			buf[len + 5] = hex[c & 15];
			len += 6;
		} else {
			buf[len++] = (char)c;
		}
	}
	buf[len++] = '"';
	buf[len] = 0;
	return (int)len;
}
