/* SPDX-License-Identifier: MIT */
/* A QMP client over a unix socket: greeting, qmp_capabilities, one command at a time. Lines are
 * JSON objects separated by newlines; asynchronous events are skipped. Every wait is bounded. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "debugfs/debugfs-local.h"

#define QMP_TIMEOUT_MS 3000
#define QMP_MAX_LINE (4u << 20)

struct dbgfs_qmp {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Reads one line (without the newline) into a fresh parse tree. */
static int qmp_read_msg(struct dbgfs_qmp *q, struct dbgfs_json **out)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - q->buf);
			int ret = dbgfs_json_parse(q->buf, n, out, NULL);

			memmove(q->buf, nl + 1, q->len - n - 1);
			q->len -= n + 1;
			return ret;
		}
		if (q->len + 4096 > q->cap) {
			if (q->cap >= QMP_MAX_LINE)
				return -EMSGSIZE;
			char *nb = realloc(q->buf, q->cap ? q->cap * 2 : 65536);
			if (!nb)
				return -ENOMEM;
			q->buf = nb;
			q->cap = q->cap ? q->cap * 2 : 65536;
		}
		struct pollfd pfd = { q->fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, QMP_TIMEOUT_MS);
		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0)
			return -errno;
		ssize_t r = read(q->fd, q->buf + q->len, q->cap - q->len);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return errno == EINTR ? -EINTR : -errno;
		q->len += (size_t)r;
	}
}

static int qmp_send(struct dbgfs_qmp *q, const char *cmd)
{
	size_t n = strlen(cmd), off = 0;

	while (off < n) {
		ssize_t w = send(q->fd, cmd + off, n - off, MSG_NOSIGNAL);
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return send(q->fd, "\n", 1, MSG_NOSIGNAL) == 1 ? 0 : -EPIPE;
}

int dbgfs_qmp_call(struct dbgfs_qmp *q, const char *cmd, struct dbgfs_json **reply, char *why, size_t why_len)
{
	struct dbgfs_json *msg = NULL;
	int ret = qmp_send(q, cmd);

	if (ret < 0)
		return dbgfs_why(why, why_len, ret, "QMP send: %s", strerror(-ret));
	for (;;) {
		ret = qmp_read_msg(q, &msg);
		if (ret < 0)
			return dbgfs_why(why, why_len, ret, "QMP read: %s", strerror(-ret));
		if (dbgfs_json_get(msg, "event")) {
			dbgfs_json_free(msg);
			continue;
		}
		break;
	}
	const struct dbgfs_json *err = dbgfs_json_get(msg, "error");
	if (err) {
		const char *desc = dbgfs_json_str(err, "desc");
		ret = dbgfs_why(why, why_len, -EPROTO, "QMP error: %s", desc ? desc : "(no description)");
		dbgfs_json_free(msg);
		return ret;
	}
	if (!dbgfs_json_get(msg, "return")) {
		dbgfs_json_free(msg);
		return dbgfs_why(why, why_len, -EPROTO, "QMP reply without \"return\"");
	}
	*reply = msg;
	return 0;
}

static int qmp_handshake(struct dbgfs_qmp *q, char *why, size_t why_len)
{
	struct dbgfs_json *msg = NULL;
	int ret = qmp_read_msg(q, &msg);

	if (ret < 0)
		return dbgfs_why(why, why_len, ret, "QMP greeting: %s", strerror(-ret));
	if (!dbgfs_json_get(msg, "QMP")) {
		dbgfs_json_free(msg);
		return dbgfs_why(why, why_len, -EPROTO, "not a QMP server (no greeting)");
	}
	dbgfs_json_free(msg);
	msg = NULL;
	ret = dbgfs_qmp_call(q, "{\"execute\":\"qmp_capabilities\"}", &msg, why, why_len);
	dbgfs_json_free(msg);
	return ret;
}

int dbgfs_qmp_connect(const char *path, struct dbgfs_qmp **out, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dbgfs_qmp *q;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return dbgfs_why(why, why_len, -ENAMETOOLONG, "%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		dbgfs_qmp_close(q);
		return dbgfs_why(why, why_len, ret, "QMP %s: %s", path, strerror(-ret));
	}
	ret = qmp_handshake(q, why, why_len);
	if (ret < 0) {
		dbgfs_qmp_close(q);
		return ret;
	}
	*out = q;
	return 0;
}

int dbgfs_qmp_peer_pid(const struct dbgfs_qmp *q)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.pid;
}

void dbgfs_qmp_close(struct dbgfs_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}
