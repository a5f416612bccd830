/* SPDX-License-Identifier: MIT */
/*
 * ring.c — the binary backend: one lock-free single-producer/single-consumer byte ring per
 * tracing thread, drained by a writer thread into the trace file at least every 100 ms (sooner
 * when a ring is half full). A full ring drops the record and counts it; the count goes into
 * the ring as a trace_dropped record before the thread's next record that fits, or at close.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "tracing/trace-local.h"
#include "tracing/trace-events.h"

#define TRACE_WRITER_PERIOD_MS 100
#define TRACE_REC_MAX (TRACE_REC_HDR_SIZE + TRACE_MAX_ARGS * (8 + TRACE_STR_MAX + 8))

struct trace_ring_tls {
	uint64_t serial;
	struct trace_ring *ring;
};
static __thread struct trace_ring_tls trace_tls_ring;
/* A record is built here before it goes into the ring: a per-thread buffer rather than 8 KiB of
 * stack, which the compiler would probe page by page on every call (-fstack-clash-protection). */
static __thread uint8_t trace_tls_rec[TRACE_REC_MAX];

static struct trace_ring *trace_ring_new(struct trace_handle *h)
{
	struct trace_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->buf = malloc(h->ring_size);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	memset(r->buf, 0, h->ring_size);	/* fault the pages in now, not one by one while tracing */
	r->size = h->ring_size;
	r->vcpu = trace_thread_vcpu();
	r->next = atomic_load(&h->rings);
	while (!atomic_compare_exchange_weak(&h->rings, &r->next, r))
		;
	return r;
}

/* The calling thread's ring for h (created on first use). */
static struct trace_ring *trace_ring_self(struct trace_handle *h)
{
	if (__builtin_expect(trace_tls_ring.serial == h->serial, 1))
		return trace_tls_ring.ring;
	struct trace_ring *r = trace_ring_new(h);
	if (r) {
		trace_tls_ring.serial = h->serial;
		trace_tls_ring.ring = r;
	}
	return r;
}

static void trace_ring_copy_in(struct trace_ring *r, uint64_t pos, const uint8_t *src, size_t len)
{
	size_t off = (size_t)(pos & (r->size - 1));
	size_t first = r->size - off < len ? r->size - off : len;
	memcpy(r->buf + off, src, first);
	memcpy(r->buf, src + first, len - first);
}

static void trace_writer_kick(struct trace_handle *h, struct trace_ring *r)
{
	uint64_t one = 1;
	if (!atomic_exchange_explicit(&r->kicked, 1, memory_order_relaxed) && h->efd >= 0)
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the writer wakes on its period anyway */
		}
}

static size_t trace_dropped_encode(uint8_t *out, uint64_t count, unsigned vcpu, uint64_t ts)
{
	struct trace_group *g = trace_internal_group();
	return trace_record_encode(out, TRACE_REC_HDR_SIZE + 8, g->base + TRACE_EV_TRACE_DROPPED, vcpu, ts,
				   &g->events[TRACE_EV_TRACE_DROPPED], &count);
}

void trace_ring_put(struct trace_handle *h, unsigned id, uint64_t ts, const uint64_t *args)
{
	uint8_t *rec = trace_tls_rec, drop[TRACE_REC_HDR_SIZE + 8];
	struct trace_ring *r = trace_ring_self(h);
	int vcpu = trace_thread_vcpu();
	unsigned v = vcpu < 0 ? TRACE_VCPU_NONE : (unsigned)vcpu;
	if (!r)
		return;
	size_t len = trace_record_encode(rec, TRACE_REC_MAX, id, v, ts, &h->ev[id].group->events[h->ev[id].local], args);
	size_t dlen = r->pending_drops ? trace_dropped_encode(drop, r->pending_drops, v, ts) : 0;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - tail + len + dlen > r->size) {
		r->pending_drops++;
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		trace_writer_kick(h, r);
		return;
	}
	if (dlen) {
		trace_ring_copy_in(r, head, drop, dlen);
		head += dlen;
		r->pending_drops = 0;
	}
	trace_ring_copy_in(r, head, rec, len);
	head += len;
	atomic_store_explicit(&r->head, head, memory_order_release);
	atomic_fetch_add_explicit(&r->written, 1, memory_order_relaxed);
	if (head - tail > r->size / 2)
		trace_writer_kick(h, r);
}

static int trace_write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Moves everything in r to the file: whole records only, in one writev. */
static int trace_ring_drain(struct trace_handle *h, struct trace_ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t len = (size_t)(head - tail), off = (size_t)(tail & (r->size - 1));
	struct iovec iov[2];
	int n = 0, rc = 0;
	atomic_store_explicit(&r->kicked, 0, memory_order_relaxed);
	if (!len)
		return 0;
	iov[n++] = (struct iovec){ r->buf + off, r->size - off < len ? r->size - off : len };
	if (iov[0].iov_len < len)
		iov[n++] = (struct iovec){ r->buf, len - iov[0].iov_len };
	if (h->fd >= 0)
		rc = trace_write_all(h->fd, iov, n);
	if (!rc)
		h->file_bytes += len;
	atomic_store_explicit(&r->tail, head, memory_order_release);
	return rc;
}

int trace_writer_drain(struct trace_handle *h)
{
	int rc = 0;
	pthread_mutex_lock(&h->drain_lock);
	for (struct trace_ring *r = atomic_load(&h->rings); r; r = r->next) {
		int e = trace_ring_drain(h, r);
		if (e && !rc)
			rc = e;
	}
	if (rc && !h->write_error) {
		h->write_error = rc;
		fprintf(stderr, "vmscope: trace file %s: %s; records are being lost\n", h->file_path, strerror(-rc));
	}
	pthread_mutex_unlock(&h->drain_lock);
	return rc;
}

/* USDT: an attached consumer (perf, bpftrace, gdb) raises the event's semaphore; turn the
 * tracepoint on so the probe fires, and off again when it detaches. */
void trace_usdt_poll(struct trace_handle *h)
{
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->nr_events; i++) {
		const struct trace_event_desc *d = &h->ev[i].group->events[h->ev[i].local];
		uint8_t att = d->usdt_semaphore && __atomic_load_n(d->usdt_semaphore, __ATOMIC_RELAXED) != 0;
		if (att != h->attached[i]) {
			h->attached[i] = att;
			trace_state_update(h, i);
		}
	}
	pthread_mutex_unlock(&h->lock);
}

static void *trace_writer_main(void *opaque)
{
	struct trace_handle *h = opaque;
	while (!atomic_load(&h->stop)) {
		struct pollfd pfd = { .fd = h->efd, .events = POLLIN };
		uint64_t v;
		if (poll(&pfd, 1, TRACE_WRITER_PERIOD_MS) > 0 && read(h->efd, &v, sizeof(v)) < 0) {
			/* spurious: nothing to read */
		}
		if (h->backends & TRACE_BACKEND_USDT)
			trace_usdt_poll(h);
		if (h->backends & TRACE_BACKEND_BINARY)
			(void)trace_writer_drain(h);
	}
	return NULL;
}

int trace_writer_start(struct trace_handle *h, char *why, size_t why_len)
{
	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->efd < 0) {
		int e = errno;
		snprintf(why, why_len, "trace writer: eventfd: %s", strerror(e));
		return -e;
	}
	int rc = pthread_create(&h->writer, NULL, trace_writer_main, h);
	if (rc) {
		snprintf(why, why_len, "trace writer thread: %s", strerror(rc));
		return -rc;
	}
	h->writer_running = true;
	return 0;
}

/* After the producers stopped: records their last unreported drops, then drains. */
static void trace_rings_final_drops(struct trace_handle *h)
{
	for (struct trace_ring *r = atomic_load(&h->rings); r; r = r->next) {
		uint8_t drop[TRACE_REC_HDR_SIZE + 8];
		if (!r->pending_drops)
			continue;
		unsigned v = r->vcpu < 0 ? TRACE_VCPU_NONE : (unsigned)r->vcpu;
		size_t n = trace_dropped_encode(drop, r->pending_drops, v, trace_now_ns());
		struct iovec iov = { drop, n };
		if (h->fd >= 0 && !trace_write_all(h->fd, &iov, 1))
			h->file_bytes += n;
		r->pending_drops = 0;
	}
}

void trace_writer_stop(struct trace_handle *h)
{
	uint64_t one = 1;
	if (h->writer_running) {
		atomic_store(&h->stop, true);
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the writer notices stop on its next period */
		}
		pthread_join(h->writer, NULL);
		h->writer_running = false;
	}
	if (h->backends & TRACE_BACKEND_BINARY) {
		(void)trace_writer_drain(h);
		trace_rings_final_drops(h);
	}
	if (h->efd >= 0)
		close(h->efd);
	h->efd = -1;
}

void trace_rings_free(struct trace_handle *h)
{
	struct trace_ring *r = atomic_exchange(&h->rings, NULL);
	while (r) {
		struct trace_ring *next = r->next;
		free(r->buf);
		free(r);
		r = next;
	}
}
