/* SPDX-License-Identifier: MIT */
/* trace-local.h — private to tracing/: the handle, per-thread rings, the writer. */
#ifndef VMSCOPE_TRACING_TRACE_LOCAL_H
#define VMSCOPE_TRACING_TRACE_LOCAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "tracing/trace.h"

/* A single-producer (the tracing thread) single-consumer (the writer) byte ring. head and tail
 * count bytes since creation; the producer owns head and pending_drops, the consumer tail. */
struct trace_ring {
	struct trace_ring *next;
	uint8_t *buf;
	size_t size;			/* power of two */
	_Atomic uint64_t head;
	_Atomic uint64_t tail;
	uint64_t pending_drops;		/* drops not yet followed by a trace_dropped record */
	_Atomic uint64_t dropped;	/* all drops, for trace_get_counts */
	_Atomic uint64_t written;	/* records put */
	_Atomic int kicked;		/* the writer was woken since it last drained */
	int vcpu;
};

struct trace_event_ref {
	struct trace_group *group;
	unsigned local;
};

struct trace_handle {
	uint64_t serial;		/* tells a thread's cached ring apart from a new handle's */
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
	int pid;			/* for the log backend's lines (getpid() is a system call) */
	uint64_t file_bytes;		/* bytes of records written to the file */
	int write_error;		/* first -errno from writing the file */
	bool autostart;			/* start on the first run-time enable */
	int argc;
	char *const *argv;
};

/* control.c */
void trace_state_update(struct trace_handle *h, unsigned id);
uint64_t trace_now_ns(void);
struct trace_group *trace_internal_group(void);

/* ring.c */
void trace_ring_put(struct trace_handle *h, unsigned id, uint64_t ts, const uint64_t *args);
int trace_writer_start(struct trace_handle *h, char *why, size_t why_len);
void trace_writer_stop(struct trace_handle *h);
int trace_writer_drain(struct trace_handle *h);
void trace_rings_free(struct trace_handle *h);
void trace_usdt_poll(struct trace_handle *h);

/* file.c */
int trace_file_write_header(struct trace_handle *h, int argc, char *const *argv);
size_t trace_record_encode(uint8_t *out, size_t cap, unsigned id, unsigned vcpu, uint64_t ts,
			   const struct trace_event_desc *d, const uint64_t *args);

/* text.c */
int trace_text_open(struct trace_handle *h, char *why, size_t why_len);
void trace_text_close(struct trace_handle *h);

/* Calling thread's vCPU (thread-local). */
int trace_thread_vcpu(void);

#endif
