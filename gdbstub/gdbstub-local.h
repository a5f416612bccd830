/* SPDX-License-Identifier: MIT */
/* gdbstub-local.h — private structures of the gdbstub library. */
#ifndef VMSCOPE_GDBSTUB_LOCAL_H
#define VMSCOPE_GDBSTUB_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "gdbstub/gdbstub.h"

enum gdb_parser_state {
	GDB_PS_IDLE = 0,
	GDB_PS_DATA,
	GDB_PS_ESCAPE,		/* after '}' */
	GDB_PS_RLE,		/* after '*': the count character */
	GDB_PS_CSUM1,
	GDB_PS_CSUM2,
};

struct gdb_parser {
	enum gdb_parser_state state;
	uint8_t *buf;
	size_t cap;		/* payload bytes that fit (buf has cap + 1 for the NUL) */
	size_t len;
	uint8_t sum;		/* running checksum of the raw bytes */
	uint8_t csum;		/* received checksum (high nibble first) */
	bool overlong;
	bool bad;		/* malformed (bad RLE); reported at the end of the packet */
};

/* Growable output buffer (monitor output, XML documents). */
struct gdb_out {
	char *buf;
	size_t len, cap;
	bool failed;		/* allocation failed: content truncated */
};

void gdb_out_init(struct gdb_out *out);
void gdb_out_free(struct gdb_out *out);

/* ---- registers (regs.c) ---- */

enum gdb_reg_type {
	GDB_RT_INT = 0,		/* printed as hex */
	GDB_RT_CODE_PTR,
	GDB_RT_DATA_PTR,
	GDB_RT_EFLAGS,
	GDB_RT_MXCSR,
	GDB_RT_X87,		/* 80-bit */
	GDB_RT_VEC128,
};

struct gdb_reg_desc {
	const char *name;
	unsigned bitsize;
	unsigned regnum;
	size_t offset;		/* offsetof(struct gdb_x86_regs, ...) */
	const char *group;
	enum gdb_reg_type type;
	unsigned feature;	/* index into the feature table */
};

const struct gdb_reg_desc *gdb_reg_table(unsigned *count);
const struct gdb_reg_desc *gdb_reg_by_num(unsigned regnum);
/* g packet: every row in regnum order, little endian bytes. Returns bytes written. */
size_t gdb_regs_to_bytes(const struct gdb_x86_regs *regs, uint8_t *out, size_t cap);
/* G packet: -EINVAL when len is not the exact g size. */
int gdb_regs_from_bytes(struct gdb_x86_regs *regs, const uint8_t *in, size_t len);
size_t gdb_regs_g_size(void);
void gdb_regs_target_xml(struct gdb_out *out);
void gdb_regs_dump(const struct gdb_x86_regs *regs, struct gdb_out *out);
/* Rows whose name matches (for monitor info registers NAME). NULL when none. */
const struct gdb_reg_desc *gdb_reg_by_name(const char *name);

/* ---- hex and packet encoding (packet.c) ---- */

int gdb_hex_nibble(int c);
/* Decodes exactly 2*n hex digits into n bytes; -EINVAL on a bad digit. */
int gdb_hex_decode(const char *hex, size_t n, uint8_t *out);
void gdb_hex_encode(const uint8_t *in, size_t n, char *out);
/* Parses a hex number up to a delimiter; 0 and *end set, or -EINVAL (no digits, overflow). */
int gdb_parse_hex_u64(const char *s, const char **end, uint64_t *out);

/* ---- the session (stub.c) ---- */

#define GDB_MAX_BPS 64
#define GDB_MAX_EXTRA_MONITOR 8

struct gdb_bp_record {
	enum gdb_bp_type type;
	uint64_t addr, len;
};

struct gdb_extra_monitor {
	const char *name, *help;
	gdb_monitor_fn fn;
	void *opaque;
};

struct gdb_stub {
	const struct gdb_target_ops *ops;
	void *opaque;
	gdb_write_fn write;
	void *write_ctx;
	struct gdb_parser *parser;

	bool running;		/* the target runs: the stub waits for a stop */
	bool waiting_stop;	/* gdb waits for a stop reply (after c/s/vCont) */
	bool no_ack;		/* QStartNoAckMode */
	bool hangup;		/* D, k: end the connection */
	bool phys;		/* monitor phys on: memory packets use physical addresses */
	bool attached;
	unsigned g_vcpu, c_vcpu;	/* Hg, Hc selections (0-based) */
	bool exited;		/* the guest is over */
	bool client_swbreak, client_hwbreak;	/* qSupported: gdb understands these stop reasons */
	struct gdb_stop last_stop;

	pthread_mutex_t lock;	/* guards pending: posted by vCPU threads */
	bool has_pending;
	struct gdb_stop pending;

	struct gdb_bp_record bps[GDB_MAX_BPS];
	unsigned nr_bps;
	struct gdb_extra_monitor extra[GDB_MAX_EXTRA_MONITOR];
	unsigned nr_extra;

	uint8_t *tx;		/* framed packet being sent (kept for '-' resend) */
	size_t tx_len, tx_cap;
	char *reply;		/* reply payload being built */
	size_t reply_len;
};

/* Replies (stub.c) */
void gdb_reply(struct gdb_stub *stub, const char *payload);
void gdb_reply_bin(struct gdb_stub *stub, const void *payload, size_t len);
void gdb_reply_error(struct gdb_stub *stub, int err);
void gdb_reply_stop(struct gdb_stub *stub, const struct gdb_stop *stop);
/* An O packet with console output (hex encoded). */
void gdb_send_console(struct gdb_stub *stub, const char *text, size_t len);
int gdb_stub_resume(struct gdb_stub *stub, int step_vcpu);
/* k, vKill, monitor quit: ends the guest and the connection. */
void gdb_stub_kill(struct gdb_stub *stub);

/* Command dispatch (commands.c); payload is NUL terminated, len excludes the NUL. */
void gdb_cmd_dispatch(struct gdb_stub *stub, char *payload, size_t len);
/* Thread ids: "-1" / "0" / hex, optionally "pPID.TID"; -1 all, 0 any, n = vcpu + 1. */
int gdb_parse_thread_id(const char *s, const char **end, long *tid);

/* Monitor commands (monitor.c) */
void gdb_monitor_run(struct gdb_stub *stub, const char *cmd, struct gdb_out *out);
/* Page-table mappings of a vCPU (monitor info mem), from its CR0/CR3/CR4/EFER. */
void gdb_mmu_dump(struct gdb_stub *stub, unsigned vcpu, const struct gdb_x86_regs *regs, struct gdb_out *out);

#endif
