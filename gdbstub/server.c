/* SPDX-License-Identifier: MIT */
/*
 * server.c — the transport: a tcp or unix listening socket, one client at a time, and a thread
 * that polls the client, the listening socket and a wake-up pipe. While the guest runs, the
 * thread still reads the client, so a 0x03 (Ctrl-C) stops the guest at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gdbstub/gdbstub-local.h"

struct gdb_server {
	struct gdb_stub *stub;
	int listen_fd, client_fd;
	int wake[2];		/* pipe: notify_stop and destroy wake the thread */
	pthread_t thread;
	bool started;
	atomic_bool quit;
	bool is_unix;
	bool quiet;
	char address[300];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- the --gdb spec ---- */

static int gdb_spec_tcp(const char *rest, char *host, size_t host_len, unsigned *port, char *why, size_t why_len)
{
	const char *colon = strrchr(rest, ':');
	const char *p = colon ? colon + 1 : rest;
	size_t hl = colon ? (size_t)(colon - rest) : 0;
	char *end;

	if (hl && rest[0] == '[' && rest[hl - 1] == ']') {	/* [::1]:1234 */
		rest++;
		hl -= 2;
	}
	unsigned long v = strtoul(p, &end, 10);
	if (!*p || *end || v > 65535) {
		snprintf(why, why_len, "bad port '%s' (expected 0-65535)", p);
		return -EINVAL;
	}
	if (hl >= host_len) {
		snprintf(why, why_len, "host name too long");
		return -EINVAL;
	}
	memcpy(host, rest, hl);
	host[hl] = 0;
	if (!hl)
		snprintf(host, host_len, "127.0.0.1");
	*port = (unsigned)v;
	return 0;
}

int gdb_spec_parse(const char *spec, bool *is_unix, char *host, size_t host_len, unsigned *port, char *path,
		   size_t path_len, char *why, size_t why_len)
{
	if (!strncmp(spec, "unix:", 5)) {
		size_t n = strlen(spec + 5);
		if (n == 0 || n >= path_len || n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(why, why_len, "unix socket path is empty or longer than %zu bytes",
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		memcpy(path, spec + 5, n + 1);
		*is_unix = true;
		return 0;
	}
	*is_unix = false;
	if (!strncmp(spec, "tcp:", 4))
		return gdb_spec_tcp(spec + 4, host, host_len, port, why, why_len);
	snprintf(why, why_len, "'%s': expected tcp:HOST:PORT, tcp::PORT or unix:PATH", spec);
	return -EINVAL;
}

/* ---- listening ---- */

static bool gdb_host_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int gdb_listen_tcp(struct gdb_server *srv, const char *host, unsigned port, char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	char ps[8];

	snprintf(ps, sizeof(ps), "%u", port);
	int rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc) {
		snprintf(why, why_len, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, err = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)
		err = errno;
	if (!err && !gdb_host_is_loopback(ai->ai_addr))
		fprintf(stderr, "vmscope: warning: the gdb server listens on %s:%u, not on loopback: "
				"whoever connects controls the guest\n", host, port);
	freeaddrinfo(ai);
	if (err) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_len, "cannot listen on %s:%u: %s", host, port, strerror(err));
		return -err;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char hbuf[NI_MAXHOST] = "?", pbuf[NI_MAXSERV] = "?";
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
				  NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(srv->address, sizeof(srv->address), "%s:%s", hbuf, pbuf);
	srv->listen_fd = fd;
	return 0;
}

static int gdb_listen_unix(struct gdb_server *srv, const char *path, char *why, size_t why_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = errno;
	else if (chmod(path, 0600) < 0 || listen(fd, 1) < 0)
		err = errno, unlink(path);
	if (err) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_len, "cannot listen on unix socket %s: %s%s", path, strerror(err),
			 err == EADDRINUSE ? " (remove the stale socket file)" : "");
		return -err;
	}
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	snprintf(srv->address, sizeof(srv->address), "%s", path);
	srv->is_unix = true;
	srv->listen_fd = fd;
	return 0;
}

/* ---- the client ---- */

static void gdb_server_write(void *ctx, const void *data, size_t len)
{
	struct gdb_server *srv = ctx;
	const char *p = data;

	while (len > 0 && srv->client_fd >= 0) {
		ssize_t n = send(srv->client_fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			shutdown(srv->client_fd, SHUT_RDWR);	/* poll reports the hang-up */
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void gdb_server_drop_client(struct gdb_server *srv)
{
	gdb_stub_detach(srv->stub);
	close(srv->client_fd);
	srv->client_fd = -1;
}

static void gdb_server_refuse(int fd)
{
	static const char msg[] = "vmscope: another gdb is already attached; try later\n";
	char pkt[2 * sizeof(msg) + 8];
	uint8_t sum = 'O';

	pkt[0] = '$';
	pkt[1] = 'O';
	gdb_hex_encode((const uint8_t *)msg, sizeof(msg) - 1, pkt + 2);
	for (size_t i = 2; i < 2 * sizeof(msg); i++)
		sum += (uint8_t)pkt[i];
	int n = snprintf(pkt + 2 * sizeof(msg), 4, "#%02x", sum);
	(void)send(fd, pkt, 2 * sizeof(msg) + (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Reads what the client sent; false when there was nothing to read (would block). */
static bool gdb_server_read_client(struct gdb_server *srv, int flags)
{
	static const size_t bufsz = 65536;
	char *buf = malloc(bufsz);
	ssize_t n = buf ? recv(srv->client_fd, buf, bufsz, flags) : -1;

	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		free(buf);
		return false;
	}
	if (n <= 0) {		/* gone, possibly mid-packet: the guest keeps running */
		free(buf);
		gdb_server_drop_client(srv);
		return true;
	}
	gdb_stub_feed(srv->stub, buf, (size_t)n);
	free(buf);
	if (gdb_stub_has_hangup(srv->stub))
		gdb_server_drop_client(srv);
	return true;
}

static void gdb_server_accept(struct gdb_server *srv)
{
	int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	/* the current client may have just gone (gdb reconnecting): find out before refusing */
	while (srv->client_fd >= 0 && gdb_server_read_client(srv, MSG_DONTWAIT))
		;
	if (srv->client_fd >= 0) {
		fprintf(stderr, "vmscope: refused a second gdb connection (one client at a time)\n");
		gdb_server_refuse(fd);
		return;
	}
	if (!srv->is_unix)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	srv->client_fd = fd;
	gdb_stub_attach(srv->stub);
}

static void *gdb_server_thread(void *arg)
{
	struct gdb_server *srv = arg;

	while (!atomic_load(&srv->quit)) {
		struct pollfd pfd[3] = {
			{ srv->wake[0], POLLIN, 0 }, { srv->listen_fd, POLLIN, 0 }, { srv->client_fd, POLLIN, 0 },
		};
		int nfds = srv->client_fd >= 0 ? 3 : 2;
		if (poll(pfd, (nfds_t)nfds, -1) < 0)
			continue;
		if (pfd[0].revents) {
			char drain[64];
			(void)!read(srv->wake[0], drain, sizeof(drain));
			gdb_stub_poll_stop(srv->stub);
		}
		if (nfds == 3 && srv->client_fd >= 0 && pfd[2].revents)
			(void)gdb_server_read_client(srv, 0);
		if (srv->client_fd >= 0 && gdb_stub_has_hangup(srv->stub))
			gdb_server_drop_client(srv);
		if (pfd[1].revents)
			gdb_server_accept(srv);
	}
	return NULL;
}

/* ---- lifetime ---- */

int gdb_server_create(const struct gdb_server_config *cfg, struct gdb_server **out, char *why, size_t why_len)
{
	char host[256], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned port = 0;
	bool is_unix;
	int rc = gdb_spec_parse(cfg->spec, &is_unix, host, sizeof(host), &port, path, sizeof(path), why, why_len);

	if (rc < 0)
		return rc;
	struct gdb_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->listen_fd = srv->client_fd = srv->wake[0] = srv->wake[1] = -1;
	srv->quiet = cfg->quiet;
	struct gdb_stub_config sc = { cfg->ops, cfg->opaque, cfg->target_running, gdb_server_write, srv };
	rc = gdb_stub_create(&sc, &srv->stub);
	if (rc < 0)
		snprintf(why, why_len, "gdb stub: %s", strerror(-rc));
	else if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		rc = -errno, snprintf(why, why_len, "pipe: %s", strerror(errno));
	else
		rc = is_unix ? gdb_listen_unix(srv, path, why, why_len) : gdb_listen_tcp(srv, host, port, why, why_len);
	if (rc < 0) {
		gdb_server_destroy(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

int gdb_server_start(struct gdb_server *srv)
{
	int rc = pthread_create(&srv->thread, NULL, gdb_server_thread, srv);

	if (rc)
		return -rc;
	srv->started = true;
	if (!srv->quiet)
		fprintf(stderr, "vmscope: gdb server listening on %s\n", srv->address);
	return 0;
}

static void gdb_server_wake(struct gdb_server *srv)
{
	(void)!write(srv->wake[1], "w", 1);
}

void gdb_server_destroy(struct gdb_server *srv)
{
	if (!srv)
		return;
	if (srv->started) {
		atomic_store(&srv->quit, true);
		gdb_server_wake(srv);
		pthread_join(srv->thread, NULL);
	}
	if (srv->client_fd >= 0)
		gdb_server_drop_client(srv);	/* the guest goes on without its debugger */
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->is_unix)
		unlink(srv->path);
	for (int i = 0; i < 2; i++)
		if (srv->wake[i] >= 0)
			close(srv->wake[i]);
	gdb_stub_destroy(srv->stub);
	free(srv);
}

void gdb_server_notify_stop(struct gdb_server *srv, const struct gdb_stop *stop)
{
	gdb_stub_post_stop(srv->stub, stop);
	gdb_server_wake(srv);
}

const char *gdb_server_address(const struct gdb_server *srv)
{
	return srv->address;
}

int gdb_server_add_monitor(struct gdb_server *srv, const char *name, const char *help, gdb_monitor_fn fn,
			   void *opaque)
{
	return gdb_stub_add_monitor(srv->stub, name, help, fn, opaque);
}
