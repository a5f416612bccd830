/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debugfs/debugfs.h"

int dbgfs_samples_add(struct dbgfs_samples *s, const char *name, int pid, int vcpu, uint64_t value)
{
	struct dbgfs_sample *e;
	size_t n;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct dbgfs_sample *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	n = strnlen(name, sizeof(e->name) - 1);
	memcpy(e->name, name, n);
	e->name[n] = 0;
	e->pid = pid;
	e->vcpu = vcpu;
	e->value = value;
	e->ns = 0;
	return 0;
}

void dbgfs_samples_clear(struct dbgfs_samples *s)
{
	s->n = 0;
}

void dbgfs_samples_free(struct dbgfs_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
