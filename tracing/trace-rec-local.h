/* SPDX-License-Identifier: MIT */
/*
 * trace-rec-local.h — private to tracing/ (and the code tracegen generates into libtracing.a): the
 * record path of the binary backend, inline so that each generated trace_fire_NAME() encodes its
 * arguments with sizes the compiler knows, straight into the calling thread's ring.
 *
 * A record (file format v2, vmscope-trace-events(5)):
 *   u16 size (whole record), u16 event id, u32 ticks since the ring's base, then the arguments
 *   packed at their natural width (u8/i8/bool 1, u16/i16 2, u32/i32 4, u64/i64 8; a string is
 *   u16 length and its bytes, at most TRACE_STR_MAX).
 * The fast path: one thread-local check (this thread's ring belongs to h and nothing changed), a
 * tick (rdtsc), one compare for "delta fits in 32 bits" and one for "fits below the soft limit",
 * the stores, and a release store of head. Everything unusual goes to trace_rec_begin_slow().
 */
#ifndef VMSCOPE_TRACING_TRACE_REC_LOCAL_H
#define VMSCOPE_TRACING_TRACE_REC_LOCAL_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#define TRACE_REC_HDR 8u
/* Control records: event ids from 0xfffd up, in the ring only (the writer consumes them). */
#define TRACE_CTL_VCPU 0xfffdu	/* size 8: i32 vCPU at +4 */
#define TRACE_CTL_BASE 0xfffeu	/* size 16: u64 tick base at +8 */
#define TRACE_CTL_PAD 0xffffu	/* size: bytes to skip to the ring's end */
#define TRACE_MAX_EVENT_IDS 0xfff0u

#define TRACE_MODE_BINARY 1u
#define TRACE_MODE_TEXT 2u

struct trace_tls {
	uint64_t fast_serial;	/* h->serial while the fast path may use ring for h */
	uint64_t ring_serial;	/* the handle ring belongs to */
	struct trace_ring *ring;
	int vcpu;		/* trace_thread_set_vcpu() */
};
extern __thread struct trace_tls trace_tls;

struct trace_wr {
	struct trace_ring *r;
	uint64_t end;
};

static inline uint64_t trace_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t trace_tick(const struct trace_handle *h)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_expect(h->tick_is_tsc, 1))
		return __builtin_ia32_rdtsc();
#endif
	return trace_now_ns();
}

static inline unsigned trace_mode(const struct trace_handle *h, unsigned id)
{
	return atomic_load_explicit(&h->mode[id], memory_order_relaxed);
}

uint8_t *trace_rec_begin_slow(struct trace_handle *h, unsigned id, size_t len, struct trace_wr *w);

static inline void trace_put_hdr(uint8_t *p, size_t len, unsigned id, uint64_t delta)
{
	uint64_t v = (uint64_t)len | (uint64_t)id << 16 | delta << 32;
	memcpy(p, &v, 8);
}

/* Room for a len-byte record (header included): a pointer to its first argument byte, or NULL
 * when the ring is full (the drop is counted). */
static inline uint8_t *trace_rec_begin(struct trace_handle *h, unsigned id, size_t len, struct trace_wr *w)
{
	struct trace_ring *r = trace_tls.ring;
	if (__builtin_expect(trace_tls.fast_serial != h->serial, 0))
		return trace_rec_begin_slow(h, id, len, w);
	uint64_t delta = trace_tick(h) - r->base, pos = r->pos;
	if (__builtin_expect((delta >> 32) != 0 || pos + len > r->soft, 0))
		return trace_rec_begin_slow(h, id, len, w);
	uint8_t *p = r->buf + (pos & r->mask);
	trace_put_hdr(p, len, id, delta);
	w->r = r;
	w->end = pos + len;
	return p + TRACE_REC_HDR;
}

/* Publishes the record (and any control records before it) to the writer. */
static inline void trace_rec_commit(const struct trace_wr *w)
{
	struct trace_ring *r = w->r;
	r->pos = w->end;
	atomic_store_explicit(&r->head, w->end, memory_order_release);
	atomic_store_explicit(&r->written, ++r->nwritten, memory_order_relaxed);
}

static inline size_t trace_str_len(const char *s)
{
	return s ? strnlen(s, TRACE_STR_MAX) : 0;
}

static inline uint8_t *trace_put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *trace_put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return p + 2;
}

static inline uint8_t *trace_put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static inline uint8_t *trace_put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
	return p + 8;
}

/* A string: its length, then its bytes, copied in a few overlapping fixed-size moves (names are
 * short: memcpy with a variable size becomes rep movs, which costs more than the record). */
static inline uint8_t *trace_put_str(uint8_t *p, const char *s, size_t n)
{
	p = trace_put_u16(p, (uint16_t)n);
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			memcpy(p + i, s + i, 8);
		memcpy(p + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(p, s, 4);
		memcpy(p + n - 4, s + n - 4, 4);
	} else if (n >= 2) {
		memcpy(p, s, 2);
		memcpy(p + n - 2, s + n - 2, 2);
	} else if (n) {
		p[0] = (uint8_t)s[0];
	}
	return p + n;
}

#endif
