/* SPDX-License-Identifier: MIT */
/*
 * options.c — one getopt_long pass over the option tables of every module, --help generated
 * from the same tables, and the number parsers the options share.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/vmscope.h"

#define VMSCOPE_MAX_OPTIONS 128

int vmscope_usage_error(const struct vmscope *vs, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vs->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", vs->prog);
	return -1;
}

static bool opt_has_short(const struct vmscope_option *o)
{
	return o->val > 0 && o->val < 256 && isalnum(o->val);
}

void vmscope_usage(const struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr, FILE *out)
{
	fprintf(out, "Usage: %s [OPTION]... --kernel FILE\n"
		     "Run a guest kernel (Linux bzImage, Multiboot or raw binary) on KVM or the interpreter,\n"
		     "with its serial console on stdout;\n"
		     "the exit status is the guest's debug-exit status ((value << 1) | 1).\n",
		vs->prog);
	for (unsigned m = 0; m < nr; m++) {
		fprintf(out, "\n%s options:\n", mods[m]->name);
		for (const struct vmscope_option *o = mods[m]->options; o && o->name; o++) {
			char left[64];
			snprintf(left, sizeof(left), "%c%c%s --%s%s%s", opt_has_short(o) ? '-' : ' ',
				 opt_has_short(o) ? o->val : ' ', opt_has_short(o) ? "," : " ", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			fprintf(out, "  %-28s %s\n", left, o->help);
		}
	}
	fprintf(out, "\nSee vmscope(1) for the exit statuses and examples.\n");
}

static const struct vmscope_option *opt_find(const struct vmscope_module *const *mods, unsigned nr, int val)
{
	for (unsigned m = 0; m < nr; m++)
		for (const struct vmscope_option *o = mods[m]->options; o && o->name; o++)
			if (o->val == val)
				return o;
	return NULL;
}

/* Builds getopt_long's tables from the modules' tables. */
static int opt_build(const struct vmscope_module *const *mods, unsigned nr, struct option *longopts, char *shortopts,
		     size_t short_len)
{
	unsigned n = 0;
	size_t s = 0;

	shortopts[s++] = ':';	/* report a missing argument as ':' */
	for (unsigned m = 0; m < nr; m++) {
		for (const struct vmscope_option *o = mods[m]->options; o && o->name; o++) {
			if (n + 1 >= VMSCOPE_MAX_OPTIONS || s + 3 >= short_len)
				return -E2BIG;
			longopts[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->val };
			if (opt_has_short(o)) {
				shortopts[s++] = (char)o->val;
				if (o->arg)
					shortopts[s++] = ':';
			}
		}
	}
	longopts[n] = (struct option){ 0 };
	shortopts[s] = '\0';
	return 0;
}

static int opt_error(const struct vmscope *vs, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return vmscope_usage_error(vs, "option '%s' requires an argument", arg);
	if (optopt && optopt < 256 && isprint(optopt) && strncmp(arg, "--", 2) != 0)
		return vmscope_usage_error(vs, "unknown option '-%c'", optopt);
	return vmscope_usage_error(vs, "unknown option '%s'", arg);
}

int vmscope_parse(struct vmscope *vs, const struct vmscope_module *const *mods, unsigned nr, int argc, char **argv)
{
	struct option longopts[VMSCOPE_MAX_OPTIONS];
	char shortopts[2 * VMSCOPE_MAX_OPTIONS + 2];
	int c;

	if (opt_build(mods, nr, longopts, shortopts, sizeof(shortopts)))
		return vmscope_usage_error(vs, "internal error: too many options"), VMSCOPE_EXIT_USAGE;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct vmscope_option *o = (c == '?' || c == ':') ? NULL : opt_find(mods, nr, c);
		int r;

		if (!o)
			return opt_error(vs, c, argv), VMSCOPE_EXIT_USAGE;
		r = o->handle(vs, optarg);
		if (r)
			return r > 0 ? 1 : VMSCOPE_EXIT_USAGE;
	}
	if (optind < argc)
		return vmscope_usage_error(vs, "unexpected argument '%s'", argv[optind]), VMSCOPE_EXIT_USAGE;
	return 0;
}

/* ---- numbers ---- */

int vmscope_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return errno ? -errno : -EINVAL;
	*out = v;
	return 0;
}

int vmscope_parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	static const char units[] = "BKMGT";	/* unit i is 2^(10 i) bytes */
	uint64_t unit = default_unit, v;
	const char *u;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || !*u || end[1])
			return -EINVAL;
		unit = 1ull << (10 * (u - units));
	}
	if (v > UINT64_MAX / unit)
		return -ERANGE;
	*out = v * unit;
	return 0;
}
