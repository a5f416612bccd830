/* SPDX-License-Identifier: MIT */
/*
 * ring.c — the binary backend: one lock-free single-producer/single-consumer byte ring per
 * tracing thread (records encoded in place by trace-rec-local.h), drained by a writer thread into the
 * trace file at least every 100 ms (sooner when a ring is half full). The writer walks the
 * records it drains, turns the control records into chunk headers (vCPU, tick base, and a fresh
 * (tick, ns) clock pair) and writes the records themselves unchanged. A full ring drops the
 * record and counts it; the count goes into the ring as a trace_dropped record before the
 * thread's next record that fits, or at close.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include "tracing/trace-local.h"
#include "tracing/trace-events.h"

#define TRACE_WRITER_PERIOD_MS 100
#define TRACE_CHUNK_HDR 40u
#define TRACE_DRAIN_IOV 64	/* iovecs per writev: chunk headers and record spans */

__thread struct trace_tls trace_tls = { .vcpu = -1 };

/* The ring's memory, faulted in now rather than page by page while tracing: in 2 MiB pages where
 * the kernel gives them (a 64 MiB ring is then 32 faults, not 16384), populated in one call. */
static uint8_t *trace_ring_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, size, MADV_HUGEPAGE);	/* a hint: fine to fail */
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, size, MADV_POPULATE_WRITE) == 0)
		return p;
#endif
	memset(p, 0, size);
	return p;
}

static struct trace_ring *trace_ring_new(struct trace_handle *h)
{
	struct trace_ring *r = aligned_alloc(64, (sizeof(*r) + 63) & ~(size_t)63);
	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->buf = trace_ring_map(h->ring_size);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	r->size = h->ring_size;
	r->mask = h->ring_size - 1;
	r->vcpu = r->w_vcpu = trace_tls.vcpu;
	r->next = atomic_load(&h->rings);
	while (!atomic_compare_exchange_weak(&h->rings, &r->next, r))
		;
	return r;
}

/* The calling thread's ring for h (created on first use). */
static struct trace_ring *trace_ring_self(struct trace_handle *h)
{
	if (__builtin_expect(trace_tls.ring_serial == h->serial, 1))
		return trace_tls.ring;
	struct trace_ring *r = trace_ring_new(h);
	if (r) {
		trace_tls.ring_serial = h->serial;
		trace_tls.ring = r;
	}
	return r;
}

static void trace_writer_kick(struct trace_handle *h, struct trace_ring *r)
{
	uint64_t one = 1;
	if (!atomic_load_explicit(&r->kicked, memory_order_relaxed) &&
	    !atomic_exchange_explicit(&r->kicked, 1, memory_order_relaxed) && h->efd >= 0)
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* the writer wakes on its period anyway */
		}
}

/* The fast path runs while pos + len <= soft: up to half the ring past the tail last seen (there
 * the writer is kicked), then, while it drains, up to 7/8 (there the tail is read again); never
 * across the ring's end (a record does not straddle it), and not at all while a drop waits to be
 * reported (soft = 0). */
static void trace_rec_soft(struct trace_ring *r)
{
	uint64_t lim = r->tail_seen + (r->kick_sent ? r->size - r->size / 8 : r->size / 2);
	uint64_t end = r->pos - (r->pos & r->mask) + r->size;
	r->soft = r->pending_drops ? 0 : lim < end ? lim : end;
}

/* n contiguous bytes at the ring's position (padding to its end first when they would straddle
 * it), or NULL when the ring is full. */
static uint8_t *trace_ring_room(struct trace_ring *r, size_t n)
{
	uint64_t off = r->pos & r->mask, skip = r->size - off < n ? r->size - off : 0;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (tail != r->tail_seen)
		r->kick_sent = false;	/* the writer drained since */
	r->tail_seen = tail;
	if (r->pos + skip + n - r->tail_seen > r->size)
		return NULL;
	if (skip >= TRACE_REC_HDR)
		trace_put_hdr(r->buf + off, skip, TRACE_CTL_PAD, 0);
	if (skip)	/* a pad, or fewer bytes than a header: the writer walks over it */
		atomic_store_explicit(&r->nctl, r->nctl + 1, memory_order_relaxed);
	r->pos += skip;		/* published with the record's head */
	return r->buf + (r->pos & r->mask);
}

static uint8_t *trace_put_ctl(struct trace_ring *r, uint8_t *p, unsigned kind, uint64_t arg)
{
	atomic_store_explicit(&r->nctl, r->nctl + 1, memory_order_relaxed);	/* one writer */
	if (kind == TRACE_CTL_VCPU) {
		trace_put_hdr(p, TRACE_REC_HDR, kind, (uint32_t)arg);
		return p + TRACE_REC_HDR;
	}
	trace_put_hdr(p, TRACE_REC_HDR + 8, kind, 0);
	return trace_put_u64(p + TRACE_REC_HDR, arg);
}

static void trace_rec_drop(struct trace_handle *h, struct trace_ring *r)
{
	r->pending_drops++;
	atomic_store_explicit(&r->dropped, ++r->ndropped, memory_order_relaxed);
	trace_writer_kick(h, r);
	r->kick_sent = true;
	trace_rec_soft(r);
}

/* Everything the fast path does not do: the thread's first record, a vCPU change, a tick base
 * that no longer fits 32 bits, a drop to report, the ring's end, a ring more than half full. */
uint8_t *trace_rec_begin_slow(struct trace_handle *h, unsigned id, size_t len, struct trace_wr *w)
{
	struct trace_ring *r = trace_ring_self(h);
	if (!r)
		return NULL;
	trace_tls.fast_serial = h->serial;
	uint64_t tick = trace_tick(h);
	bool vcpu = r->vcpu != trace_tls.vcpu, base = (tick - r->base) >> 32 != 0;
	size_t n = len + (vcpu ? TRACE_REC_HDR : 0) + (base ? 16 : 0) + (r->pending_drops ? 16 : 0);
	uint8_t *p = trace_ring_room(r, n);
	if (!p) {
		trace_rec_drop(h, r);
		return NULL;
	}
	if (vcpu)
		p = trace_put_ctl(r, p, TRACE_CTL_VCPU, (uint32_t)(r->vcpu = trace_tls.vcpu));
	if (base)
		p = trace_put_ctl(r, p, TRACE_CTL_BASE, r->base = tick);
	if (r->pending_drops) {
		struct trace_group *g = trace_internal_group();
		trace_put_hdr(p, 16, g->base + TRACE_EV_TRACE_DROPPED, tick - r->base);
		p = trace_put_u64(p + TRACE_REC_HDR, r->pending_drops);
		r->pending_drops = 0;
	}
	uint64_t end = r->pos + n;
	if (end - r->tail_seen > r->size / 2 && !r->kick_sent) {
		trace_writer_kick(h, r);
		r->kick_sent = true;
	}
	trace_rec_soft(r);
	trace_put_hdr(p, len, id, tick - r->base);
	w->r = r;
	w->end = end;
	return p + TRACE_REC_HDR;
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

/* One drain's output: chunk headers and the record spans they describe, written in batches. */
struct trace_out {
	struct trace_handle *h;
	struct iovec iov[TRACE_DRAIN_IOV];
	uint8_t hdr[TRACE_DRAIN_IOV / 2][TRACE_CHUNK_HDR];
	int n;
	uint64_t sync_tick, sync_ns;
	int rc;
};

static void trace_out_flush(struct trace_out *o)
{
	size_t len = 0;
	for (int i = 0; i < o->n; i++)
		len += o->iov[i].iov_len;
	if (o->n && !o->rc && o->h->fd >= 0)
		o->rc = trace_write_all(o->h->fd, o->iov, o->n);
	if (o->n && !o->rc)
		o->h->file_bytes += len;
	o->n = 0;
}

static void trace_out_chunk(struct trace_out *o, struct trace_ring *r, const uint8_t *span, size_t len)
{
	if (!len)
		return;
	if (o->n + 2 > TRACE_DRAIN_IOV)
		trace_out_flush(o);
	uint8_t *hdr = o->hdr[o->n / 2];
	trace_chunk_header(hdr, (uint32_t)len, r->w_vcpu, r->w_base, o->sync_tick, o->sync_ns);
	o->iov[o->n++] = (struct iovec){ hdr, TRACE_CHUNK_HDR };
	o->iov[o->n++] = (struct iovec){ (void *)span, len };
}

static uint16_t trace_get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Moves [tail, head) of r to the file: runs of records become chunks; control records end a run
 * and change what the next chunk header says. Everything is written before tail moves on. When
 * the producer wrote no control record since the writer last saw one (its count, published with
 * head, says so), the records are one run, split only at the ring's end: no walk. */
static int trace_ring_drain(struct trace_handle *h, struct trace_ring *r, struct trace_out *o)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t run = pos;	/* start of the current run of records */
	atomic_store_explicit(&r->kicked, 0, memory_order_relaxed);
	if (pos == head)
		return 0;
	trace_clock_sync(h, &o->sync_tick, &o->sync_ns);	/* after head: every record drained is older */
	if (atomic_load_explicit(&r->nctl, memory_order_relaxed) == r->w_nctl) {	/* counted before head moved */
		uint64_t lap = head - (head & r->mask);	/* where head's pass over the ring began */
		if (lap > run && lap < head) {
			trace_out_chunk(o, r, r->buf + (run & r->mask), lap - run);
			run = lap;
		}
		pos = head;
	}
	while (pos < head) {
		uint64_t off = pos & r->mask;
		const uint8_t *p = r->buf + off;
		if (!off && pos != run) {	/* a run ends at the ring's end */
			trace_out_chunk(o, r, r->buf + (run & r->mask), pos - run);
			run = pos;
		}
		size_t left = r->size - off, size = left < TRACE_REC_HDR ? left : trace_get16(p);
		unsigned kind = left < TRACE_REC_HDR ? TRACE_CTL_PAD : trace_get16(p + 2);
		if (kind >= TRACE_CTL_VCPU) {
			r->w_nctl++;
			trace_out_chunk(o, r, r->buf + (run & r->mask), pos - run);
			if (kind == TRACE_CTL_VCPU)
				memcpy(&r->w_vcpu, p + 4, 4);
			else if (kind == TRACE_CTL_BASE)
				memcpy(&r->w_base, p + 8, 8);
			run = pos + size;
		}
		pos += size;
	}
	trace_out_chunk(o, r, r->buf + (run & r->mask), pos - run);
	trace_out_flush(o);
	atomic_store_explicit(&r->tail, head, memory_order_release);
	return o->rc;
}

int trace_writer_drain(struct trace_handle *h)
{
	int rc = 0;
	pthread_mutex_lock(&h->drain_lock);
	for (struct trace_ring *r = atomic_load(&h->rings); r; r = r->next) {
		struct trace_out o = { .h = h };
		int e = trace_ring_drain(h, r, &o);
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

/* After the producers stopped: records their last unreported drops, each in a chunk of its own. */
static void trace_rings_final_drops(struct trace_handle *h)
{
	struct trace_group *g = trace_internal_group();
	for (struct trace_ring *r = atomic_load(&h->rings); r; r = r->next) {
		struct trace_out o = { .h = h };
		uint8_t rec[16];
		if (!r->pending_drops)
			continue;
		trace_clock_sync(h, &o.sync_tick, &o.sync_ns);
		r->w_base = o.sync_tick;
		r->w_vcpu = r->vcpu;
		trace_put_hdr(rec, sizeof(rec), g->base + TRACE_EV_TRACE_DROPPED, 0);
		trace_put_u64(rec + TRACE_REC_HDR, r->pending_drops);
		trace_out_chunk(&o, r, rec, sizeof(rec));
		trace_out_flush(&o);
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
		munmap(r->buf, r->size);
		free(r);
		r = next;
	}
}
