/* SPDX-License-Identifier: MIT */
/* trace-local.h — private to tracing/: the handle, per-thread rings, the writer. */
#ifndef VMSCOPE_TRACING_TRACE_LOCAL_H
#define VMSCOPE_TRACING_TRACE_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "tracing/trace.h"

/*
 * A single-producer (the tracing thread) single-consumer (the writer) byte ring. head and tail
 * count bytes since creation. The producer's fields sit on their own cache lines, away from the
 * consumer's: the producer reads tail only when its cached view says the ring is more than half
 * full (it then kicks the writer), so the writer's stores do not bounce its line on every record.
 * Counters have one writer each: plain (relaxed) stores, no atomic read-modify-write.
 *
 * Records are encoded straight into the ring in the file's v2 layout (trace_rec.h); a record never
 * straddles the ring's end (a pad record, or fewer than 8 bytes, fill the rest). Control records
 * (TRACE_CTL_*) set the tick base and the vCPU of the records after them: the writer turns them
 * into chunk headers and never copies them into the file.
 */
struct trace_ring {
	/* producer: */
	uint8_t *buf;
	uint64_t mask;			/* size - 1; size is a power of two */
	uint64_t pos;			/* producer's copy of head */
	uint64_t soft;			/* fast path while pos + len <= soft (see trace_rec_soft) */
	uint64_t tail_seen;		/* the tail the producer last read */
	uint64_t base;			/* tick the next record's delta is counted from */
	int vcpu;			/* vCPU of the records being written */
	bool kick_sent;			/* the writer was kicked and tail has not moved since */
	uint64_t pending_drops;		/* drops not yet followed by a trace_dropped record */
	uint64_t nwritten, ndropped;	/* producer's counts, published below */
	_Atomic uint64_t nctl;		/* control records and pads written (the writer reads it after head) */
	_Atomic uint64_t head;
	_Atomic uint64_t written;	/* records put (one writer: relaxed stores) */
	_Atomic uint64_t dropped;	/* all drops, for trace_get_counts */
	/* consumer (the writer, or trace_flush under drain_lock): */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic int kicked;		/* the writer was woken since it last drained */
	uint64_t w_base;		/* tick base in effect at tail */
	int w_vcpu;			/* vCPU in effect at tail */
	uint64_t w_nctl;		/* control records and pads the writer has walked over */
	uint64_t size;
	struct trace_ring *next;
};

struct trace_event_ref {
	struct trace_group *group;
	unsigned local;
};

struct trace_handle {
	/* read by every enabled tracepoint (trace_rec.h): */
	uint64_t serial;		/* tells a thread's cached ring apart from a new handle's */
	_Atomic uint8_t *mode;		/* per event: TRACE_MODE_* bits, 0 while off */
	bool tick_is_tsc;		/* ticks are TSC cycles (else CLOCK_MONOTONIC ns) */
	/* the rest: */
	unsigned nr_events;
	struct trace_event_ref *ev;
	_Atomic uint8_t *on;		/* enabled by the user */
	uint8_t *attached;		/* a USDT consumer is attached (writer thread only) */
	pthread_mutex_t lock;		/* configuration and state changes */
	pthread_mutex_t drain_lock;	/* one consumer at a time: the writer or trace_flush */
	unsigned backends;
	char *file_path, *log_path, *tracefs_dir;
	size_t ring_size;
	bool started;
	int fd;				/* binary file */
	FILE *log;
	bool log_owned;
	int marker_fd;			/* tracefs trace_marker */
	int efd;			/* eventfd waking the writer */
	pthread_t writer;
	bool writer_running;
	atomic_bool stop;
	_Atomic(struct trace_ring *) rings;
	uint64_t start_mono;
	uint64_t start_tick;		/* tick read with start_mono */
	int clock_want;			/* TRACE_CLOCK_*: what --trace clock= asked for */
	char clock_why[160];		/* why the TSC is not used, when it is not */
	int pid;			/* for the log backend's lines (getpid() is a system call) */
	uint64_t file_bytes;		/* bytes of records written to the file */
	int write_error;		/* first -errno from writing the file */
	bool autostart;			/* start on the first run-time enable */
	int argc;
	char *const *argv;
};

/* control.c */
void trace_state_update(struct trace_handle *h, unsigned id);
struct trace_group *trace_internal_group(void);

/* clock.c: ticks are TSC cycles where the TSC is constant, nonstop and the kernel's clocksource,
 * else CLOCK_MONOTONIC ns; the file carries (tick, ns) pairs and the reader converts. */
enum { TRACE_CLOCK_AUTO, TRACE_CLOCK_TSC, TRACE_CLOCK_MONO };
int trace_clock_choose(struct trace_handle *h, char *why, size_t why_len);
void trace_clock_sync(const struct trace_handle *h, uint64_t *tick, uint64_t *ns);

/* ring.c */
int trace_writer_start(struct trace_handle *h, char *why, size_t why_len);
void trace_writer_stop(struct trace_handle *h);
int trace_writer_drain(struct trace_handle *h);
void trace_rings_free(struct trace_handle *h);
void trace_usdt_poll(struct trace_handle *h);

/* file.c */
int trace_file_write_header(struct trace_handle *h, int argc, char *const *argv);
void trace_chunk_header(uint8_t *out, uint32_t payload, int vcpu, uint64_t base, uint64_t sync_tick, uint64_t sync_ns);

/* text.c */
int trace_text_open(struct trace_handle *h, char *why, size_t why_len);
void trace_text_close(struct trace_handle *h);

#include "tracing/trace-rec-local.h"

#endif
