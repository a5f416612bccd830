/* SPDX-License-Identifier: MIT */
/*
 * commands.c — the RSP command table and its handlers (QEMU GdbCmdParseEntry style): one const
 * row per packet, matched by exact name or by prefix; anything else gets the empty reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/gdbstub-local.h"

typedef void (*gdb_cmd_fn)(struct gdb_stub *s, char *args, size_t len);

struct gdb_cmd {
	const char *name;
	bool prefix;		/* args follow the name; otherwise the payload is exactly name */
	gdb_cmd_fn fn;
};

/* ---- small parsers ---- */

int gdb_parse_thread_id(const char *s, const char **end, long *tid)
{
	uint64_t v;

	if (*s == 'p') {	/* multiprocess form pPID.TID: the pid is ignored */
		const char *dot = strchr(s, '.');
		if (!dot)
			return -EINVAL;
		s = dot + 1;
	}
	if (s[0] == '-' && s[1] == '1') {
		*tid = -1;
		*end = s + 2;
		return 0;
	}
	if (gdb_parse_hex_u64(s, end, &v) < 0 || v > 0x7fffffff)
		return -EINVAL;
	*tid = (long)v;
	return 0;
}

/* "ADDR,LEN" then the terminator term (0 for end of string). */
static int gdb_parse_addr_len(const char *s, char term, uint64_t *addr, uint64_t *len, const char **rest)
{
	const char *p;

	if (gdb_parse_hex_u64(s, &p, addr) < 0 || *p != ',')
		return -EINVAL;
	if (gdb_parse_hex_u64(p + 1, &p, len) < 0 || *p != term)
		return -EINVAL;
	if (rest)
		*rest = term ? p + 1 : p;
	return 0;
}

static unsigned gdb_nr_vcpus(struct gdb_stub *s)
{
	return s->ops->nr_vcpus(s->opaque);
}

/* Thread id to vCPU: 0 ("any") is the current one; -1 only where all is allowed. */
static int gdb_tid_to_vcpu(struct gdb_stub *s, long tid, unsigned current)
{
	if (tid == 0)
		return (int)current;
	if (tid < 0 || (unsigned long)tid > gdb_nr_vcpus(s))
		return -EINVAL;
	return (int)(tid - 1);
}

/* ---- registers ---- */

static void gdb_cmd_g(struct gdb_stub *s, char *args, size_t len)
{
	struct gdb_x86_regs regs;
	uint8_t bytes[sizeof(struct gdb_x86_regs) + 64];

	int rc = s->ops->read_regs(s->opaque, s->g_vcpu, &regs);
	if (rc < 0) {
		gdb_reply_error(s, rc);
		return;
	}
	size_t n = gdb_regs_to_bytes(&regs, bytes, sizeof(bytes));
	gdb_hex_encode(bytes, n, s->reply);
	gdb_reply_bin(s, s->reply, 2 * n);
}

static void gdb_cmd_G(struct gdb_stub *s, char *args, size_t len)
{
	struct gdb_x86_regs regs;
	uint8_t bytes[sizeof(struct gdb_x86_regs) + 64];
	size_t n = len / 2;

	if (len % 2 || n != gdb_regs_g_size() || gdb_hex_decode(args, n, bytes) < 0 ||
	    gdb_regs_from_bytes(&regs, bytes, n) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	int rc = s->ops->write_regs(s->opaque, s->g_vcpu, &regs);
	if (rc < 0)
		gdb_reply_error(s, rc);
	else
		gdb_reply(s, "OK");
}

static void gdb_cmd_p(struct gdb_stub *s, char *args, size_t len)
{
	struct gdb_x86_regs regs;
	uint64_t num;
	const char *end;

	if (gdb_parse_hex_u64(args, &end, &num) < 0 || *end || num >= gdb_x86_nr_regs()) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	const struct gdb_reg_desc *r = gdb_reg_by_num((unsigned)num);
	int rc = s->ops->read_regs(s->opaque, s->g_vcpu, &regs);
	if (rc < 0) {
		gdb_reply_error(s, rc);
		return;
	}
	gdb_hex_encode((const uint8_t *)&regs + r->offset, r->bitsize / 8, s->reply);
	gdb_reply_bin(s, s->reply, r->bitsize / 4);
}

static void gdb_cmd_P(struct gdb_stub *s, char *args, size_t len)
{
	struct gdb_x86_regs regs;
	uint64_t num;
	const char *val;

	if (gdb_parse_hex_u64(args, &val, &num) < 0 || *val != '=' || num >= gdb_x86_nr_regs()) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	const struct gdb_reg_desc *r = gdb_reg_by_num((unsigned)num);
	val++;
	if (strlen(val) != r->bitsize / 4) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	int rc = s->ops->read_regs(s->opaque, s->g_vcpu, &regs);
	if (rc == 0)
		rc = gdb_hex_decode(val, r->bitsize / 8, (uint8_t *)&regs + r->offset);
	if (rc == 0)
		rc = s->ops->write_regs(s->opaque, s->g_vcpu, &regs);
	if (rc < 0)
		gdb_reply_error(s, rc);
	else
		gdb_reply(s, "OK");
}

/* ---- memory ---- */

#define GDB_MAX_MEM (GDB_PACKET_SIZE / 2)

/* Reads as much of [addr, addr+len) as is mapped, from the start; returns the byte count. */
static size_t gdb_read_prefix(struct gdb_stub *s, uint64_t addr, uint8_t *buf, size_t len)
{
	if (s->ops->read_mem(s->opaque, s->g_vcpu, addr, buf, len, s->phys) == 0)
		return len;
	size_t done = 0;
	while (done < len) {
		size_t n = 4096 - ((addr + done) & 4095);
		if (n > len - done)
			n = len - done;
		if (s->ops->read_mem(s->opaque, s->g_vcpu, addr + done, buf + done, n, s->phys) < 0)
			break;
		done += n;
	}
	return done;
}

static void gdb_cmd_m(struct gdb_stub *s, char *args, size_t len)
{
	uint64_t addr, n;

	if (gdb_parse_addr_len(args, 0, &addr, &n, NULL) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	if (n > GDB_MAX_MEM)
		n = GDB_MAX_MEM;	/* a short reply: gdb asks again for the rest */
	if (addr + n < addr)
		n = 0 - addr;		/* stop at the top of the address space */
	uint8_t *buf = (uint8_t *)s->reply + GDB_PACKET_SIZE + 4;	/* upper half of reply */
	size_t got = gdb_read_prefix(s, addr, buf, n);
	if (got == 0 && n > 0) {
		gdb_reply_error(s, EFAULT);
		return;
	}
	gdb_hex_encode(buf, got, s->reply);
	gdb_reply_bin(s, s->reply, 2 * got);
}

static void gdb_write_mem_reply(struct gdb_stub *s, uint64_t addr, const uint8_t *data, uint64_t n)
{
	int rc = n ? s->ops->write_mem(s->opaque, s->g_vcpu, addr, data, n, s->phys) : 0;

	if (rc < 0)
		gdb_reply_error(s, rc);
	else
		gdb_reply(s, "OK");
}

static void gdb_cmd_M(struct gdb_stub *s, char *args, size_t len)
{
	uint64_t addr, n;
	const char *hex;

	if (gdb_parse_addr_len(args, ':', &addr, &n, &hex) < 0 || n > GDB_MAX_MEM ||
	    strlen(hex) != 2 * n || gdb_hex_decode(hex, n, (uint8_t *)s->reply) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	gdb_write_mem_reply(s, addr, (const uint8_t *)s->reply, n);
}

static void gdb_cmd_X(struct gdb_stub *s, char *args, size_t len)
{
	uint64_t addr, n;
	const char *data;

	if (gdb_parse_addr_len(args, ':', &addr, &n, &data) < 0 || n != len - (size_t)(data - args)) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	gdb_write_mem_reply(s, addr, (const uint8_t *)data, n);
}

/* ---- run control ---- */

static int gdb_set_pc(struct gdb_stub *s, unsigned vcpu, const char *arg)
{
	struct gdb_x86_regs regs;
	uint64_t pc;
	const char *end;

	if (!*arg)
		return 0;
	if (gdb_parse_hex_u64(arg, &end, &pc) < 0 || *end)
		return -EINVAL;
	int rc = s->ops->read_regs(s->opaque, vcpu, &regs);
	if (rc < 0)
		return rc;
	regs.rip = pc;
	return s->ops->write_regs(s->opaque, vcpu, &regs);
}

static void gdb_resume_reply(struct gdb_stub *s, int step_vcpu)
{
	int rc = gdb_stub_resume(s, step_vcpu);

	if (rc < 0)
		gdb_reply_error(s, rc);	/* no stop reply will come: tell gdb now */
}

static void gdb_cmd_c(struct gdb_stub *s, char *args, size_t len)
{
	int rc = gdb_set_pc(s, s->c_vcpu, args);

	if (rc < 0)
		gdb_reply_error(s, rc);
	else
		gdb_resume_reply(s, -1);
}

static void gdb_cmd_s(struct gdb_stub *s, char *args, size_t len)
{
	int rc = gdb_set_pc(s, s->c_vcpu, args);

	if (rc < 0)
		gdb_reply_error(s, rc);
	else
		gdb_resume_reply(s, (int)s->c_vcpu);
}

/* C sig[;addr] / S sig[;addr]: signals cannot be delivered to a machine; the address can. */
static char *gdb_skip_signal(char *args)
{
	uint64_t sig;
	const char *end;

	if (gdb_parse_hex_u64(args, &end, &sig) < 0 || (*end && *end != ';'))
		return NULL;
	return (char *)(*end ? end + 1 : end);
}

static void gdb_cmd_C(struct gdb_stub *s, char *args, size_t len)
{
	char *rest = gdb_skip_signal(args);

	if (!rest)
		gdb_reply_error(s, EINVAL);
	else
		gdb_cmd_c(s, rest, strlen(rest));
}

static void gdb_cmd_S(struct gdb_stub *s, char *args, size_t len)
{
	char *rest = gdb_skip_signal(args);

	if (!rest)
		gdb_reply_error(s, EINVAL);
	else
		gdb_cmd_s(s, rest, strlen(rest));
}

static void gdb_cmd_vcont_query(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "vCont;c;C;s;S;t");
}

/* One vCont action "a[sig][:tid]": sets *step_vcpu for s/S, *any_continue for c/C. */
static int gdb_vcont_action(struct gdb_stub *s, const char *a, int *step_vcpu, bool *any_continue)
{
	char kind = a[0];
	const char *p = a + 1;
	uint64_t sig;
	long tid = 0;

	if (kind != 'c' && kind != 's' && kind != 'C' && kind != 'S' && kind != 't')
		return -EINVAL;
	if ((kind == 'C' || kind == 'S') && gdb_parse_hex_u64(p, &p, &sig) < 0)
		return -EINVAL;
	if (*p == ':' && gdb_parse_thread_id(p + 1, &p, &tid) < 0)
		return -EINVAL;
	if (*p)
		return -EINVAL;
	int vcpu = tid == -1 ? -1 : gdb_tid_to_vcpu(s, tid, s->c_vcpu);
	if (tid != -1 && vcpu < 0)
		return -EINVAL;
	if ((kind == 's' || kind == 'S') && *step_vcpu < 0)
		*step_vcpu = vcpu < 0 ? (int)s->c_vcpu : vcpu;
	if (kind == 'c' || kind == 'C')
		*any_continue = true;
	return 0;
}

static void gdb_cmd_vcont(struct gdb_stub *s, char *args, size_t len)
{
	int step_vcpu = -1;
	bool any_continue = false;
	char *save = NULL;

	if (*args != ';') {
		gdb_reply_error(s, EINVAL);
		return;
	}
	for (char *a = strtok_r(args + 1, ";", &save); a; a = strtok_r(NULL, ";", &save)) {
		if (gdb_vcont_action(s, a, &step_vcpu, &any_continue) < 0) {
			gdb_reply_error(s, EINVAL);
			return;
		}
	}
	if (step_vcpu < 0 && !any_continue) {
		gdb_reply(s, "OK");	/* only 't': every vCPU is stopped already (all-stop) */
		return;
	}
	gdb_resume_reply(s, step_vcpu);	/* a step wins: the others stay stopped meanwhile */
}

/* ---- breakpoints ---- */

static int gdb_parse_z(const char *args, unsigned *type, uint64_t *addr, uint64_t *kind)
{
	uint64_t t;
	const char *p;

	if (gdb_parse_hex_u64(args, &p, &t) < 0 || *p != ',' || t > GDB_WP_ACCESS)
		return -EINVAL;
	if (gdb_parse_hex_u64(p + 1, &p, addr) < 0 || *p != ',')
		return -EINVAL;
	if (gdb_parse_hex_u64(p + 1, &p, kind) < 0 || (*p && *p != ';'))
		return -EINVAL;	/* ";cond_list" is accepted and ignored: no conditions advertised */
	if (*kind == 0 || *kind > 8)
		return -EINVAL;
	*type = (unsigned)t;
	return 0;
}

static void gdb_cmd_Z(struct gdb_stub *s, char *args, size_t len)
{
	unsigned type;
	uint64_t addr, kind;
	char why[160] = "";

	if (gdb_parse_z(args, &type, &addr, &kind) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	if (!s->ops->insert_bp || !s->ops->remove_bp) {
		gdb_reply(s, "");
		return;
	}
	if (s->nr_bps >= GDB_MAX_BPS) {
		fprintf(stderr, "gdbstub: more than %d breakpoints and watchpoints\n", GDB_MAX_BPS);
		gdb_reply_error(s, ENOSPC);
		return;
	}
	int rc = s->ops->insert_bp(s->opaque, type, addr, kind, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "gdbstub: cannot set Z%u at 0x%llx: %s\n", type, (unsigned long long)addr,
			why[0] ? why : strerror(-rc));
		gdb_reply_error(s, rc);
		return;
	}
	s->bps[s->nr_bps++] = (struct gdb_bp_record){ type, addr, kind };
	gdb_reply(s, "OK");
}

static void gdb_cmd_z(struct gdb_stub *s, char *args, size_t len)
{
	unsigned type;
	uint64_t addr, kind;

	if (gdb_parse_z(args, &type, &addr, &kind) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	if (!s->ops->insert_bp || !s->ops->remove_bp) {
		gdb_reply(s, "");
		return;
	}
	for (unsigned i = 0; i < s->nr_bps; i++) {
		struct gdb_bp_record *b = &s->bps[i];
		if (b->type == type && b->addr == addr && b->len == kind) {
			int rc = s->ops->remove_bp(s->opaque, type, addr, kind);
			*b = s->bps[--s->nr_bps];
			if (rc < 0)
				gdb_reply_error(s, rc);
			else
				gdb_reply(s, "OK");
			return;
		}
	}
	gdb_reply_error(s, ENOENT);
}

/* ---- threads ---- */

static void gdb_cmd_H(struct gdb_stub *s, char *args, size_t len)
{
	long tid;
	const char *end;
	char op = args[0];

	if ((op != 'g' && op != 'c') || gdb_parse_thread_id(args + 1, &end, &tid) < 0 || *end) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	if (tid == -1) {	/* all threads: keep the current one for register access */
		gdb_reply(s, "OK");
		return;
	}
	int vcpu = gdb_tid_to_vcpu(s, tid, op == 'g' ? s->g_vcpu : s->c_vcpu);
	if (vcpu < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	if (op == 'g')
		s->g_vcpu = (unsigned)vcpu;
	else
		s->c_vcpu = (unsigned)vcpu;
	gdb_reply(s, "OK");
}

static void gdb_cmd_T(struct gdb_stub *s, char *args, size_t len)
{
	long tid;
	const char *end;

	if (gdb_parse_thread_id(args, &end, &tid) < 0 || *end || tid < 1 || (unsigned long)tid > gdb_nr_vcpus(s))
		gdb_reply_error(s, ESRCH);
	else
		gdb_reply(s, "OK");
}

static void gdb_cmd_qfthreadinfo(struct gdb_stub *s, char *args, size_t len)
{
	struct gdb_out out;

	gdb_out_init(&out);
	for (unsigned i = 0; i < gdb_nr_vcpus(s); i++)
		gdb_out_printf(&out, "%c%x", i ? ',' : 'm', i + 1);
	gdb_reply(s, out.buf ? out.buf : "l");
	gdb_out_free(&out);
}

static void gdb_cmd_qsthreadinfo(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "l");
}

static void gdb_cmd_qC(struct gdb_stub *s, char *args, size_t len)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "QC%x", s->g_vcpu + 1);
	gdb_reply(s, buf);
}

static void gdb_thread_text(struct gdb_stub *s, unsigned vcpu, char *buf, size_t len)
{
	char state[64] = "";

	if (s->ops->thread_info && s->ops->thread_info(s->opaque, vcpu, state, sizeof(state)) < 0)
		state[0] = 0;
	snprintf(buf, len, "CPU#%u%s%s%s", vcpu, state[0] ? " [" : "", state, state[0] ? "]" : "");
}

static void gdb_cmd_qthreadextrainfo(struct gdb_stub *s, char *args, size_t len)
{
	long tid;
	const char *end;
	char text[96];

	if (gdb_parse_thread_id(args, &end, &tid) < 0 || *end || tid < 1 || (unsigned long)tid > gdb_nr_vcpus(s)) {
		gdb_reply_error(s, ESRCH);
		return;
	}
	gdb_thread_text(s, (unsigned)tid - 1, text, sizeof(text));
	gdb_hex_encode((const uint8_t *)text, strlen(text), s->reply);
	gdb_reply_bin(s, s->reply, 2 * strlen(text));
}

/* ---- queries ---- */

static void gdb_cmd_qsupported(struct gdb_stub *s, char *args, size_t len)
{
	char buf[256];

	s->client_swbreak = strstr(args, "swbreak+") != NULL;
	s->client_hwbreak = strstr(args, "hwbreak+") != NULL;
	snprintf(buf, sizeof(buf),
		 "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;qXfer:memory-map:read+;"
		 "qXfer:threads:read+;vContSupported+;swbreak+;hwbreak+",
		 GDB_PACKET_SIZE);
	gdb_reply(s, buf);
}

static void gdb_cmd_noack(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "OK");
	s->no_ack = true;
}

static void gdb_cmd_qattached(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "1");
}

/* qXfer reads: "ANNEX:OFFSET,LENGTH" over a generated document. */
static void gdb_xfer_reply(struct gdb_stub *s, const char *args, const char *annex, void (*gen)(struct gdb_stub *, struct gdb_out *))
{
	size_t alen = strlen(annex);
	uint64_t off, n;
	struct gdb_out doc;

	if (strncmp(args, annex, alen) || args[alen] != ':' ||
	    gdb_parse_addr_len(args + alen + 1, 0, &off, &n, NULL) < 0) {
		gdb_reply_error(s, EINVAL);
		return;
	}
	gdb_out_init(&doc);
	gen(s, &doc);
	if (doc.failed) {
		gdb_reply_error(s, ENOMEM);
	} else if (off >= doc.len) {
		gdb_reply(s, "l");
	} else {
		size_t max = GDB_PACKET_SIZE / 2 - 1;	/* escaping can double the size */
		size_t take = doc.len - off;
		if (take > n)
			take = n;
		if (take > max)
			take = max;
		s->reply[0] = (off + take < doc.len) ? 'm' : 'l';
		memcpy(s->reply + 1, doc.buf + off, take);
		gdb_reply_bin(s, s->reply, take + 1);
	}
	gdb_out_free(&doc);
}

static void gdb_gen_features(struct gdb_stub *s, struct gdb_out *out)
{
	gdb_regs_target_xml(out);
}

static void gdb_gen_memory_map(struct gdb_stub *s, struct gdb_out *out)
{
	/* gdb refuses accesses outside the map: the whole (virtual) address space is memory */
	gdb_out_printf(out, "<?xml version=\"1.0\"?><!DOCTYPE memory-map PUBLIC \"+//IDN gnu.org//DTD GDB Memory Map V1.0//EN\" "
			    "\"http://sourceware.org/gdb/gdb-memory-map.dtd\"><memory-map>"
			    "<memory type=\"ram\" start=\"0x0\" length=\"0xffffffffffffffff\"/></memory-map>");
}

static void gdb_gen_threads(struct gdb_stub *s, struct gdb_out *out)
{
	char text[96];

	gdb_out_printf(out, "<?xml version=\"1.0\"?><threads>");
	for (unsigned i = 0; i < gdb_nr_vcpus(s); i++) {
		gdb_thread_text(s, i, text, sizeof(text));
		gdb_out_printf(out, "<thread id=\"%x\" core=\"%u\" name=\"CPU#%u\">%s</thread>", i + 1, i, i, text);
	}
	gdb_out_printf(out, "</threads>");
}

static void gdb_cmd_xfer_features(struct gdb_stub *s, char *args, size_t len)
{
	gdb_xfer_reply(s, args, "target.xml", gdb_gen_features);
}

static void gdb_cmd_xfer_memmap(struct gdb_stub *s, char *args, size_t len)
{
	gdb_xfer_reply(s, args, "", gdb_gen_memory_map);
}

static void gdb_cmd_xfer_threads(struct gdb_stub *s, char *args, size_t len)
{
	gdb_xfer_reply(s, args, "", gdb_gen_threads);
}

static void gdb_cmd_qrcmd(struct gdb_stub *s, char *args, size_t len)
{
	size_t n = len / 2;
	char *cmd = malloc(n + 1);
	struct gdb_out out;

	if (!cmd || len % 2 || gdb_hex_decode(args, n, (uint8_t *)cmd) < 0) {
		free(cmd);
		gdb_reply_error(s, EINVAL);
		return;
	}
	cmd[n] = 0;
	gdb_out_init(&out);
	gdb_monitor_run(s, cmd, &out);
	free(cmd);
	if (out.len)
		gdb_send_console(s, out.buf, out.len);
	gdb_out_free(&out);
	if (!s->hangup)
		gdb_reply(s, "OK");
}

/* ---- session ---- */

static void gdb_cmd_question(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply_stop(s, &s->last_stop);
}

static void gdb_cmd_D(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "OK");
	gdb_stub_detach(s);
	s->hangup = true;
}

void gdb_stub_kill(struct gdb_stub *s)
{
	if (s->ops->kill && s->ops->kill(s->opaque) < 0)
		fprintf(stderr, "gdbstub: could not end the guest\n");
	s->exited = true;
	s->hangup = true;
}

/* k has no reply */
static void gdb_cmd_kill(struct gdb_stub *s, char *args, size_t len)
{
	gdb_stub_kill(s);
}

static void gdb_cmd_vkill(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "OK");
	gdb_stub_kill(s);
}

static void gdb_cmd_vmustreplyempty(struct gdb_stub *s, char *args, size_t len)
{
	gdb_reply(s, "");
}

/* Ordered: a longer name comes before a shorter one it starts with. */
static const struct gdb_cmd gdb_cmds[] = {
	{ "?", false, gdb_cmd_question },
	{ "g", false, gdb_cmd_g },
	{ "G", true, gdb_cmd_G },
	{ "p", true, gdb_cmd_p },
	{ "P", true, gdb_cmd_P },
	{ "m", true, gdb_cmd_m },
	{ "M", true, gdb_cmd_M },
	{ "X", true, gdb_cmd_X },
	{ "c", true, gdb_cmd_c },
	{ "s", true, gdb_cmd_s },
	{ "C", true, gdb_cmd_C },
	{ "S", true, gdb_cmd_S },
	{ "vCont?", false, gdb_cmd_vcont_query },
	{ "vCont", true, gdb_cmd_vcont },
	{ "vKill", true, gdb_cmd_vkill },
	{ "vMustReplyEmpty", false, gdb_cmd_vmustreplyempty },
	{ "Z", true, gdb_cmd_Z },
	{ "z", true, gdb_cmd_z },
	{ "H", true, gdb_cmd_H },
	{ "T", true, gdb_cmd_T },
	{ "D", true, gdb_cmd_D },
	{ "k", false, gdb_cmd_kill },
	{ "qSupported", true, gdb_cmd_qsupported },
	{ "qXfer:features:read:", true, gdb_cmd_xfer_features },
	{ "qXfer:memory-map:read:", true, gdb_cmd_xfer_memmap },
	{ "qXfer:threads:read:", true, gdb_cmd_xfer_threads },
	{ "qfThreadInfo", false, gdb_cmd_qfthreadinfo },
	{ "qsThreadInfo", false, gdb_cmd_qsthreadinfo },
	{ "qC", false, gdb_cmd_qC },
	{ "qAttached", true, gdb_cmd_qattached },
	{ "qThreadExtraInfo,", true, gdb_cmd_qthreadextrainfo },
	{ "qRcmd,", true, gdb_cmd_qrcmd },
	{ "QStartNoAckMode", false, gdb_cmd_noack },
};

void gdb_cmd_dispatch(struct gdb_stub *s, char *payload, size_t len)
{
	for (size_t i = 0; i < sizeof(gdb_cmds) / sizeof(gdb_cmds[0]); i++) {
		const struct gdb_cmd *c = &gdb_cmds[i];
		size_t n = strlen(c->name);
		if (c->prefix ? strncmp(payload, c->name, n) != 0 : strcmp(payload, c->name) != 0)
			continue;
		if (!c->prefix && len != n)
			continue;	/* a NUL inside the payload */
		c->fn(s, payload + n, len - n);
		return;
	}
	gdb_reply(s, "");
}
