/* SPDX-License-Identifier: MIT */
/*
 * monitor.c — `monitor ...` commands (qRcmd): a const table, plus the commands registered at run
 * time (gdb_stub_add_monitor), and the page-table dump behind `info mem`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/gdbstub-local.h"

struct gdb_monitor_cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*fn)(struct gdb_stub *s, const char *args, struct gdb_out *out);
};

static void gdb_mon_help(struct gdb_stub *s, const char *args, struct gdb_out *out);

static void gdb_mon_info_registers(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	struct gdb_x86_regs regs;
	int rc = s->ops->read_regs(s->opaque, s->g_vcpu, &regs);

	if (rc < 0) {
		gdb_out_printf(out, "cannot read the registers of CPU#%u: %s\n", s->g_vcpu, strerror(-rc));
		return;
	}
	gdb_out_printf(out, "CPU#%u\n", s->g_vcpu);
	gdb_regs_dump(&regs, out);
	if (s->ops->sysinfo && s->ops->sysinfo(s->opaque, s->g_vcpu, out) < 0)
		gdb_out_printf(out, "(system registers not available)\n");
}

static void gdb_mon_info_mem(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	struct gdb_x86_regs regs;
	int rc = s->ops->read_regs(s->opaque, s->g_vcpu, &regs);

	if (rc < 0) {
		gdb_out_printf(out, "cannot read the registers of CPU#%u: %s\n", s->g_vcpu, strerror(-rc));
		return;
	}
	gdb_mmu_dump(s, s->g_vcpu, &regs, out);
}

/* xp [/N[b|h|w|g]] ADDR: N units of physical memory, as hex (QEMU's xp with format x). */
static int gdb_xp_parse(const char *args, uint64_t *count, unsigned *unit, uint64_t *addr)
{
	const char *p = args;

	*count = 1;
	*unit = 4;
	if (*p == '/') {
		char *end;
		p++;
		if (*p >= '0' && *p <= '9') {
			*count = strtoull(p, &end, 10);
			p = end;
		}
		for (; *p && *p != ' '; p++) {
			if (*p == 'b') *unit = 1;
			else if (*p == 'h') *unit = 2;
			else if (*p == 'w') *unit = 4;
			else if (*p == 'g') *unit = 8;
			else if (*p != 'x') return -EINVAL;
		}
		while (*p == ' ')
			p++;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	const char *end;
	if (gdb_parse_hex_u64(p, &end, addr) < 0 || *end || *count == 0 || *count > 4096)
		return -EINVAL;
	return 0;
}

static void gdb_mon_xp(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	uint64_t count, addr, v;
	unsigned unit;

	if (gdb_xp_parse(args, &count, &unit, &addr) < 0) {
		gdb_out_printf(out, "usage: xp [/N[b|h|w|g]] ADDR   (N up to 4096, ADDR in hex)\n");
		return;
	}
	for (uint64_t i = 0; i < count; i++) {
		uint64_t a = addr + i * unit;
		v = 0;
		if (i % (16 / unit) == 0)
			gdb_out_printf(out, "%s%016" PRIx64 ":", i ? "\n" : "", a);
		if (s->ops->read_mem(s->opaque, s->g_vcpu, a, &v, unit, true) < 0) {
			gdb_out_printf(out, " <cannot read physical address 0x%" PRIx64 ">", a);
			break;
		}
		gdb_out_printf(out, " 0x%0*" PRIx64, (int)unit * 2, v);
	}
	gdb_out_printf(out, "\n");
}

static int gdb_parse_on_off(const char *args, bool *on)
{
	if (!strcmp(args, "on"))
		*on = true;
	else if (!strcmp(args, "off"))
		*on = false;
	else
		return -EINVAL;
	return 0;
}

static void gdb_mon_phys(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	bool on;

	if (!*args) {
		gdb_out_printf(out, "memory accesses use %s addresses\n", s->phys ? "physical" : "virtual");
		return;
	}
	if (gdb_parse_on_off(args, &on) < 0) {
		gdb_out_printf(out, "usage: phys on|off\n");
		return;
	}
	s->phys = on;
	gdb_out_printf(out, "memory accesses now use %s addresses\n", on ? "physical" : "virtual");
}

static void gdb_mon_step_irqs(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	bool on;

	if (gdb_parse_on_off(args, &on) < 0) {
		gdb_out_printf(out, "usage: step-irqs on|off\n");
		return;
	}
	if (!s->ops->set_step_irqs || s->ops->set_step_irqs(s->opaque, on) < 0) {
		gdb_out_printf(out, "step-irqs: not supported by this target\n");
		return;
	}
	gdb_out_printf(out, "single-steps %s interrupt handlers\n", on ? "enter" : "skip");
}

static void gdb_mon_stats(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	if (!s->ops->stats || s->ops->stats(s->opaque, out) < 0)
		gdb_out_printf(out, "stats: not available from this target\n");
}

static void gdb_mon_reset(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	int rc = s->ops->reset ? s->ops->reset(s->opaque) : -EOPNOTSUPP;

	if (rc < 0)
		gdb_out_printf(out, "system_reset failed: %s\n", strerror(-rc));
	else
		gdb_out_printf(out, "system reset\n");
}

static void gdb_mon_quit(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	gdb_stub_kill(s);
}

static const struct gdb_monitor_cmd gdb_monitor_cmds[] = {
	{ "help", "", "this list", gdb_mon_help },
	{ "info registers", "", "every register of the current CPU, with system state", gdb_mon_info_registers },
	{ "info mem", "", "virtual memory mappings from the page tables", gdb_mon_info_mem },
	{ "xp", "[/N[b|h|w|g]] ADDR", "physical memory as hex", gdb_mon_xp },
	{ "phys", "on|off", "memory packets (x, print, dump) use physical addresses", gdb_mon_phys },
	{ "stats", "", "emulator counters (exits, I/O, instructions)", gdb_mon_stats },
	{ "system_reset", "", "reset the machine", gdb_mon_reset },
	{ "step-irqs", "on|off", "let single-steps enter interrupt handlers (off by default)", gdb_mon_step_irqs },
	{ "quit", "", "end the guest and vmscope", gdb_mon_quit },
};

#define GDB_NR_MONITOR (sizeof(gdb_monitor_cmds) / sizeof(gdb_monitor_cmds[0]))

static void gdb_mon_help(struct gdb_stub *s, const char *args, struct gdb_out *out)
{
	for (size_t i = 0; i < GDB_NR_MONITOR; i++) {
		const struct gdb_monitor_cmd *c = &gdb_monitor_cmds[i];
		gdb_out_printf(out, "%s %-20s %s\n", c->name, c->args, c->help);
	}
	for (unsigned i = 0; i < s->nr_extra; i++)
		gdb_out_printf(out, "%s %s\n", s->extra[i].name, s->extra[i].help);
}

/* "name" matches cmd when cmd is name, or name followed by spaces and arguments. */
static const char *gdb_mon_match(const char *cmd, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(cmd, name, n) || (cmd[n] && cmd[n] != ' '))
		return NULL;
	cmd += n;
	while (*cmd == ' ')
		cmd++;
	return cmd;
}

void gdb_monitor_run(struct gdb_stub *s, const char *cmd, struct gdb_out *out)
{
	const char *args;

	while (*cmd == ' ')
		cmd++;
	for (size_t i = 0; i < GDB_NR_MONITOR; i++) {
		if ((args = gdb_mon_match(cmd, gdb_monitor_cmds[i].name))) {
			gdb_monitor_cmds[i].fn(s, args, out);
			return;
		}
	}
	for (unsigned i = 0; i < s->nr_extra; i++) {
		if ((args = gdb_mon_match(cmd, s->extra[i].name))) {
			if (s->extra[i].fn(s->extra[i].opaque, args, out) < 0 && !out->len)
				gdb_out_printf(out, "%s: failed\n", s->extra[i].name);
			return;
		}
	}
	gdb_out_printf(out, "unknown command '%s'; try 'monitor help'\n", cmd);
}

/* ---- info mem: walk the page tables ---- */

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)

struct gdb_walk_level {
	unsigned shift;		/* address bits below this level's index */
	unsigned entries;
	unsigned entry_size;	/* 4 or 8 bytes */
	bool large_ok;		/* PS=1 ends the walk here */
};

struct gdb_walk_mode {
	const char *name;
	unsigned nr_levels;
	struct gdb_walk_level levels[4];
	uint64_t addr_mask;	/* of a table or frame address in an entry */
};

static const struct gdb_walk_mode gdb_walk_modes[] = {
	{ "32-bit", 2, { { 22, 1024, 4, true }, { 12, 1024, 4, false } }, 0xfffff000ull },
	{ "PAE", 3, { { 30, 4, 8, false }, { 21, 512, 8, true }, { 12, 512, 8, false } }, 0x000ffffffffff000ull },
	{ "4-level", 4, { { 39, 512, 8, false }, { 30, 512, 8, true }, { 21, 512, 8, true }, { 12, 512, 8, false } },
	  0x000ffffffffff000ull },
};

struct gdb_walk {
	struct gdb_stub *s;
	unsigned vcpu;
	const struct gdb_walk_mode *mode;
	struct gdb_out *out;
	bool have;		/* a range is open */
	uint64_t start, end;	/* [start, end) virtual */
	unsigned perms;		/* bit0 user, bit1 write, bit2 exec */
	unsigned lines;
	unsigned tables;	/* tables read: a hostile guest can make the tree huge */
	bool truncated;
};

/* Budgets that keep `info mem` quick on page tables that alias themselves. */
#define GDB_WALK_MAX_TABLES 4096
#define GDB_WALK_MAX_LINES 20000

static uint64_t gdb_canonical(const struct gdb_walk *w, uint64_t va)
{
	if (w->mode->nr_levels == 4 && (va >> 47 & 1))
		va |= 0xffff000000000000ull;
	return va;
}

static void gdb_walk_flush(struct gdb_walk *w)
{
	if (!w->have)
		return;
	uint64_t s = gdb_canonical(w, w->start), e = gdb_canonical(w, w->end - 1) + 1;
	gdb_out_printf(w->out, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %c%c%c%c\n", s, e, w->end - w->start,
		       w->perms & 1 ? 'u' : '-', 'r', w->perms & 2 ? 'w' : '-', w->perms & 4 ? 'x' : '-');
	w->have = false;
	w->lines++;
}

static void gdb_walk_add(struct gdb_walk *w, uint64_t va, uint64_t size, unsigned perms)
{
	if (w->have && w->end == va && w->perms == perms) {
		w->end += size;
		return;
	}
	gdb_walk_flush(w);
	w->have = true;
	w->start = va;
	w->end = va + size;
	w->perms = perms;
}

static void gdb_walk_table(struct gdb_walk *w, unsigned level, uint64_t table, uint64_t va_base, unsigned perms)
{
	const struct gdb_walk_level *l = &w->mode->levels[level];
	uint8_t buf[4096];

	if (w->truncated || w->tables >= GDB_WALK_MAX_TABLES || w->lines >= GDB_WALK_MAX_LINES) {
		w->truncated = true;
		return;
	}
	w->tables++;
	if (w->s->ops->read_mem(w->s->opaque, w->vcpu, table, buf, l->entries * l->entry_size, true) < 0) {
		gdb_walk_flush(w);
		gdb_out_printf(w->out, "(page table at physical 0x%" PRIx64 " is outside RAM)\n", table);
		return;
	}
	for (unsigned i = 0; i < l->entries; i++) {
		uint64_t e = 0;
		memcpy(&e, buf + i * l->entry_size, l->entry_size);
		if (!(e & PTE_P))
			continue;
		uint64_t va = va_base + ((uint64_t)i << l->shift);
		unsigned p = perms;
		if (w->mode->nr_levels == 3 && level == 0)
			p = perms;	/* PAE PDPTEs carry no U/W/NX */
		else
			p &= (e & PTE_U ? 1u : 0u) | (e & PTE_W ? 2u : 0u) | (e & PTE_NX ? 0u : 4u);
		if (level + 1 == w->mode->nr_levels || (l->large_ok && (e & PTE_PS)))
			gdb_walk_add(w, va, 1ull << l->shift, p);
		else
			gdb_walk_table(w, level + 1, e & w->mode->addr_mask, va, p);
	}
}

void gdb_mmu_dump(struct gdb_stub *s, unsigned vcpu, const struct gdb_x86_regs *r, struct gdb_out *out)
{
	const bool pg = r->cr0 >> 31 & 1, pae = r->cr4 >> 5 & 1, lme = r->efer >> 8 & 1;
	struct gdb_walk w = { .s = s, .vcpu = vcpu, .out = out };

	if (!pg) {
		gdb_out_printf(out, "paging is disabled (CR0.PG=0): virtual addresses are physical\n");
		return;
	}
	w.mode = &gdb_walk_modes[lme && pae ? 2 : pae ? 1 : 0];
	gdb_out_printf(out, "%s paging, CR3=0x%" PRIx64 "\n", w.mode->name, r->cr3);
	uint64_t root = r->cr3 & (w.mode->nr_levels == 3 ? 0xffffffe0ull : w.mode->addr_mask);
	gdb_walk_table(&w, 0, root, 0, 7);
	gdb_walk_flush(&w);
	if (w.truncated)
		gdb_out_printf(out, "(stopped after %u page tables and %u ranges)\n", w.tables, w.lines);
	if (!w.lines)
		gdb_out_printf(out, "no mappings\n");
}
