/* SPDX-License-Identifier: MIT */
/*
 * gdbstub.h — a GDB remote serial protocol (RSP) server for x86-64 guests.
 *
 * Three layers, each usable alone:
 *   - gdb_parser: a pure byte-fed state machine (framing, checksums, escapes, run-length
 *     encoding, the 0x03 interrupt byte, acks);
 *   - gdb_stub: one debugging session; feeds bytes to a parser, dispatches packets through a
 *     const command table and talks to the guest only through struct gdb_target_ops;
 *   - gdb_server: the transport (tcp or unix socket, one client at a time) and the thread that
 *     polls the client while the guest runs, so Ctrl-C stops it at once.
 *
 * Conventions: 0 (or a count) on success, -errno on failure. No globals: every piece of state
 * hangs off a handle.
 */
#ifndef VMSCOPE_GDBSTUB_H
#define VMSCOPE_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_MUST_CHECK __attribute__((warn_unused_result))

/* Largest packet payload accepted and sent (advertised as PacketSize). */
#define GDB_PACKET_SIZE 0x20000

/* ---- the packet parser ---- */

enum gdb_parser_event {
	GDB_EV_NONE = 0,	/* byte consumed, nothing complete yet */
	GDB_EV_PACKET,		/* a packet with a good checksum: gdb_parser_packet() */
	GDB_EV_BAD_CHECKSUM,	/* a complete packet whose checksum did not match */
	GDB_EV_BAD_PACKET,	/* malformed: bad RLE count, RLE with nothing to repeat, bad hex checksum */
	GDB_EV_OVERLONG,	/* the payload did not fit GDB_PACKET_SIZE; the packet was dropped */
	GDB_EV_INTERRUPT,	/* 0x03 outside a packet */
	GDB_EV_ACK,		/* '+' */
	GDB_EV_NAK,		/* '-': resend the last packet */
};

struct gdb_parser;

GDB_MUST_CHECK int gdb_parser_create(size_t max_payload, struct gdb_parser **out);
void gdb_parser_destroy(struct gdb_parser *p);
/* Forgets a partly received packet (client gone). */
void gdb_parser_reset(struct gdb_parser *p);
enum gdb_parser_event gdb_parser_feed(struct gdb_parser *p, uint8_t byte);
/* The decoded payload (escapes and RLE expanded) of the last GDB_EV_PACKET; NUL terminated. */
const uint8_t *gdb_parser_packet(const struct gdb_parser *p, size_t *len);

/* ---- x86-64 register file as gdb sees it ---- */

struct gdb_x86_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
	uint32_t eflags;
	uint32_t cs, ss, ds, es, fs, gs;
	uint8_t st[8][10];			/* 80-bit x87 registers */
	uint32_t fctrl, fstat, ftag;		/* ftag: the full 16-bit tag word */
	uint32_t fiseg, fioff, foseg, fooff, fop;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint64_t fs_base, gs_base, k_gs_base;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
};

/* Number of registers gdb sees (rows of the register table). */
unsigned gdb_x86_nr_regs(void);

/* ---- output buffer for monitor commands ---- */

struct gdb_out;
void gdb_out_printf(struct gdb_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gdb_out_write(struct gdb_out *out, const void *data, size_t len);

/* ---- the target ---- */

enum gdb_bp_type {		/* the Z packet's type field */
	GDB_BP_SW = 0,
	GDB_BP_HW = 1,
	GDB_WP_WRITE = 2,
	GDB_WP_READ = 3,
	GDB_WP_ACCESS = 4,
};

enum gdb_stop_reason {
	GDB_STOP_SIGNAL = 0,	/* stopped by request (Ctrl-C), or simply stopped */
	GDB_STOP_STEP,
	GDB_STOP_SWBREAK,
	GDB_STOP_HWBREAK,
	GDB_STOP_WATCH,
	GDB_STOP_RWATCH,
	GDB_STOP_AWATCH,
	GDB_STOP_EXITED,	/* the guest is over: status is the process exit status */
};

struct gdb_stop {
	enum gdb_stop_reason reason;
	int vcpu;		/* -1: unknown, the stub uses the current thread */
	uint64_t addr;		/* watched address */
	int status;		/* GDB_STOP_EXITED */
};

/*
 * All ops are called from the server thread. Register and memory ops are only called while the
 * target is stopped. vcpu is 0-based (gdb thread ids are vcpu + 1).
 */
struct gdb_target_ops {
	/* required */
	unsigned (*nr_vcpus)(void *opaque);
	int (*read_regs)(void *opaque, unsigned vcpu, struct gdb_x86_regs *regs);
	int (*write_regs)(void *opaque, unsigned vcpu, const struct gdb_x86_regs *regs);
	/* phys: addr is a guest physical address. Returns 0 or -errno (-EFAULT: unmapped). */
	int (*read_mem)(void *opaque, unsigned vcpu, uint64_t addr, void *buf, size_t len, bool phys);
	int (*write_mem)(void *opaque, unsigned vcpu, uint64_t addr, const void *buf, size_t len, bool phys);
	/* Starts the guest; step_vcpu >= 0: only that vCPU executes one instruction. The target
	 * reports the next stop with gdb_server_notify_stop() / gdb_stub_handle_stop(). */
	int (*resume)(void *opaque, int step_vcpu);
	/* Stops the guest; on return every vCPU is stopped. */
	int (*stop)(void *opaque);

	/* optional: a missing op gives an E or empty reply */
	/* -EOPNOTSUPP / -ENOSPC with a one-line reason in why: the E reply; never fake success. */
	int (*insert_bp)(void *opaque, enum gdb_bp_type type, uint64_t addr, uint64_t len, char *why, size_t why_len);
	int (*remove_bp)(void *opaque, enum gdb_bp_type type, uint64_t addr, uint64_t len);
	int (*kill)(void *opaque);			/* k, vKill, monitor quit */
	int (*reset)(void *opaque);			/* monitor system_reset */
	int (*set_step_irqs)(void *opaque, bool on);	/* monitor step-irqs */
	int (*stats)(void *opaque, struct gdb_out *out);	/* monitor stats */
	/* monitor info registers: what the register table does not hold (descriptor tables,
	 * segment limits, debug registers, ...) */
	int (*sysinfo)(void *opaque, unsigned vcpu, struct gdb_out *out);
	/* qThreadExtraInfo: a short state description ("running", "halted") */
	int (*thread_info)(void *opaque, unsigned vcpu, char *buf, size_t len);
};

/* An extra monitor command (the tracing helper's `trace`), registered at run time. */
typedef int (*gdb_monitor_fn)(void *opaque, const char *args, struct gdb_out *out);

/* ---- one session (no sockets: bytes in, bytes out) ---- */

struct gdb_stub;
typedef void (*gdb_write_fn)(void *ctx, const void *data, size_t len);

struct gdb_stub_config {
	const struct gdb_target_ops *ops;
	void *opaque;
	bool target_running;	/* the target runs when the stub is created */
	gdb_write_fn write;	/* where replies go */
	void *write_ctx;
};

GDB_MUST_CHECK int gdb_stub_create(const struct gdb_stub_config *cfg, struct gdb_stub **out);
void gdb_stub_destroy(struct gdb_stub *stub);
/* A client connected: stops the target (all-stop) and resets per-client state. */
void gdb_stub_attach(struct gdb_stub *stub);
/* The client is gone: removes its breakpoints and resumes the target. */
void gdb_stub_detach(struct gdb_stub *stub);
/* Bytes from the client. */
void gdb_stub_feed(struct gdb_stub *stub, const void *data, size_t len);
/* The target stopped (or ended): sends the stop reply gdb waits for. Server thread only. */
void gdb_stub_handle_stop(struct gdb_stub *stub, const struct gdb_stop *stop);
/* Any thread: records a stop for gdb_stub_poll_stop(). A stop posted before the next resume
 * is dropped by that resume (it was reported already, or raced with Ctrl-C). */
void gdb_stub_post_stop(struct gdb_stub *stub, const struct gdb_stop *stop);
/* Server thread: handles a posted stop, if any. */
void gdb_stub_poll_stop(struct gdb_stub *stub);
bool gdb_stub_is_running(const struct gdb_stub *stub);
/* True once the session asked to end the connection (D, k, vKill). */
bool gdb_stub_has_hangup(const struct gdb_stub *stub);
GDB_MUST_CHECK int gdb_stub_add_monitor(struct gdb_stub *stub, const char *name, const char *help,
					gdb_monitor_fn fn, void *opaque);

/* ---- the server: transport and thread ---- */

struct gdb_server;

struct gdb_server_config {
	const char *spec;		/* "tcp:HOST:PORT", "tcp::PORT", "unix:PATH" */
	const struct gdb_target_ops *ops;
	void *opaque;
	bool target_running;		/* false with -S */
	bool quiet;			/* no "waiting for gdb" line on stderr */
};

/* Binds and listens (the thread starts with gdb_server_start). -errno and a reason in why. */
GDB_MUST_CHECK int gdb_server_create(const struct gdb_server_config *cfg, struct gdb_server **out,
				     char *why, size_t why_len);
GDB_MUST_CHECK int gdb_server_start(struct gdb_server *srv);
/* Stops the thread, closes the sockets, removes a unix socket file. */
void gdb_server_destroy(struct gdb_server *srv);
/* From any thread: the target stopped or ended. */
void gdb_server_notify_stop(struct gdb_server *srv, const struct gdb_stop *stop);
/* The bound address as "host:port" or the socket path (tests bind port 0). */
const char *gdb_server_address(const struct gdb_server *srv);
GDB_MUST_CHECK int gdb_server_add_monitor(struct gdb_server *srv, const char *name, const char *help,
					  gdb_monitor_fn fn, void *opaque);

/* Parses a --gdb spec: 0, or -EINVAL and a reason. host/path are written into the buffers. */
GDB_MUST_CHECK int gdb_spec_parse(const char *spec, bool *is_unix, char *host, size_t host_len,
				  unsigned *port, char *path, size_t path_len, char *why, size_t why_len);

#endif
