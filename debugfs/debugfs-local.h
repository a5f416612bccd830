/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the debugfs/ sources. */
#ifndef VMSCOPE_DEBUGFS_LOCAL_H
#define VMSCOPE_DEBUGFS_LOCAL_H

#include <stdarg.h>
#include "debugfs/debugfs.h"

/* printf into why (always NUL-terminated); returns err. */
int dbgfs_why(char *why, size_t len, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends a notice through opt->notice when set. */
void dbgfs_notice(const struct dbgfs_options *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* opt->want(name), true without a filter. */
bool dbgfs_is_wanted(const struct dbgfs_options *opt, const char *name);
/* Parses a decimal counter: -EINVAL for garbage, -ERANGE past 2^64-1. */
int dbgfs_parse_u64(const char *s, uint64_t *out);
/* Reads a whole small file into a malloc'd NUL-terminated buffer. */
int dbgfs_slurp(const char *path, char **out, size_t *len);

#endif
