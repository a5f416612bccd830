/* SPDX-License-Identifier: MIT */
/* Mount discovery from a mountinfo file (proc(5)): "id parent maj:min root mountpoint opts
 * [optional fields] - fstype source superopts". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "debugfs/debugfs.h"

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void mounts_unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

/* Fills mountpoint and fstype from one line; false for a malformed line. */
static bool mounts_parse_line(char *line, char **mnt, char **fstype)
{
	char *save = NULL, *tok;
	int field = 0;
	bool after_sep = false;

	*mnt = *fstype = NULL;
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 4)
			*mnt = tok;
		else if (after_sep) {
			*fstype = tok;
			break;
		} else if (field > 5 && strcmp(tok, "-") == 0)
			after_sep = true;
	}
	return *mnt && *fstype;
}

int dbgfs_find_mount(const char *mountinfo, const char *fstype, char *out, size_t len)
{
	char line[4096], *mnt, *type;
	FILE *f = fopen(mountinfo, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret == -ENOENT && fgets(line, sizeof(line), f)) {
		if (!mounts_parse_line(line, &mnt, &type) || strcmp(type, fstype) != 0)
			continue;
		mounts_unescape(mnt);
		if (strlen(mnt) >= len)
			ret = -ENAMETOOLONG;
		else {
			strcpy(out, mnt);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

int dbgfs_find_tracefs(const char *mountinfo, char *out, size_t len)
{
	int ret = dbgfs_find_mount(mountinfo, "tracefs", out, len);

	if (ret != -ENOENT)
		return ret;
	ret = dbgfs_find_mount(mountinfo, "debugfs", out, len);
	if (ret < 0)
		return ret;
	if (strlen(out) + sizeof("/tracing") > len)
		return -ENAMETOOLONG;
	strcat(out, "/tracing");
	return 0;
}
