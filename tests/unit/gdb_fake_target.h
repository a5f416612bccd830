/* SPDX-License-Identifier: MIT */
/*
 * gdb_fake_target.h — an in-memory target for the gdbstub unit tests and fuzzer: two vCPUs,
 * 256 KiB of "physical" memory, virtual = physical except one unmapped page at FAKE_HOLE, a
 * breakpoint log and a resume log. Also builds 4-level page tables for `info mem`.
 */
#ifndef VMSCOPE_GDB_FAKE_TARGET_H
#define VMSCOPE_GDB_FAKE_TARGET_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdbstub/gdbstub.h"

#define FAKE_NR_VCPUS 2
#define FAKE_MEM (256 * 1024)
#define FAKE_HOLE 0x10000	/* virtual page that is not mapped */
#define FAKE_MAX_BPS 16

struct fake_bp {
	enum gdb_bp_type type;
	uint64_t addr, len;
};

struct fake_target {
	struct gdb_x86_regs regs[FAKE_NR_VCPUS];
	uint8_t mem[FAKE_MEM];
	struct fake_bp bps[FAKE_MAX_BPS];
	unsigned nr_bps;
	bool running;
	int last_step;		/* step_vcpu of the last resume */
	unsigned resumes, stops, kills, resets;
	bool step_irqs;
	bool refuse_watch;	/* insert_bp of watchpoints fails with a reason */
};

static unsigned fake_nr_vcpus(void *o)
{
	(void)o;
	return FAKE_NR_VCPUS;
}

static int fake_read_regs(void *o, unsigned vcpu, struct gdb_x86_regs *r)
{
	struct fake_target *t = o;
	if (vcpu >= FAKE_NR_VCPUS)
		return -EINVAL;
	*r = t->regs[vcpu];
	return 0;
}

static int fake_write_regs(void *o, unsigned vcpu, const struct gdb_x86_regs *r)
{
	struct fake_target *t = o;
	if (vcpu >= FAKE_NR_VCPUS)
		return -EINVAL;
	t->regs[vcpu] = *r;
	return 0;
}

static int fake_check(uint64_t addr, size_t len, bool phys)
{
	if (addr >= FAKE_MEM || len > FAKE_MEM - addr)
		return -EFAULT;
	if (!phys && addr < FAKE_HOLE + 4096 && addr + len > FAKE_HOLE)
		return -EFAULT;
	return 0;
}

static int fake_read_mem(void *o, unsigned vcpu, uint64_t addr, void *buf, size_t len, bool phys)
{
	struct fake_target *t = o;
	int rc = fake_check(addr, len, phys);
	(void)vcpu;
	if (rc == 0)
		memcpy(buf, t->mem + addr, len);
	return rc;
}

static int fake_write_mem(void *o, unsigned vcpu, uint64_t addr, const void *buf, size_t len, bool phys)
{
	struct fake_target *t = o;
	int rc = fake_check(addr, len, phys);
	(void)vcpu;
	if (rc == 0)
		memcpy(t->mem + addr, buf, len);
	return rc;
}

static int fake_resume(void *o, int step_vcpu)
{
	struct fake_target *t = o;
	t->running = true;
	t->last_step = step_vcpu;
	t->resumes++;
	return 0;
}

static int fake_stop(void *o)
{
	struct fake_target *t = o;
	t->running = false;
	t->stops++;
	return 0;
}

static int fake_insert_bp(void *o, enum gdb_bp_type type, uint64_t addr, uint64_t len, char *why, size_t why_len)
{
	struct fake_target *t = o;
	if (t->refuse_watch && type >= GDB_WP_WRITE) {
		snprintf(why, why_len, "fake: watchpoints refused");
		return -EOPNOTSUPP;
	}
	if (t->nr_bps >= FAKE_MAX_BPS)
		return -ENOSPC;
	t->bps[t->nr_bps++] = (struct fake_bp){ type, addr, len };
	return 0;
}

static int fake_remove_bp(void *o, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct fake_target *t = o;
	for (unsigned i = 0; i < t->nr_bps; i++) {
		if (t->bps[i].type == type && t->bps[i].addr == addr && t->bps[i].len == len) {
			t->bps[i] = t->bps[--t->nr_bps];
			return 0;
		}
	}
	return -ENOENT;
}

static int fake_kill(void *o)
{
	((struct fake_target *)o)->kills++;
	return 0;
}

static int fake_reset(void *o)
{
	((struct fake_target *)o)->resets++;
	return 0;
}

static int fake_set_step_irqs(void *o, bool on)
{
	((struct fake_target *)o)->step_irqs = on;
	return 0;
}

static int fake_stats(void *o, struct gdb_out *out)
{
	gdb_out_printf(out, "fake_exits 42\n");
	return 0;
}

static int fake_thread_info(void *o, unsigned vcpu, char *buf, size_t len)
{
	snprintf(buf, len, "%s", ((struct fake_target *)o)->running ? "running" : "stopped");
	return 0;
}

static const struct gdb_target_ops fake_ops = {
	.nr_vcpus = fake_nr_vcpus,
	.read_regs = fake_read_regs,
	.write_regs = fake_write_regs,
	.read_mem = fake_read_mem,
	.write_mem = fake_write_mem,
	.resume = fake_resume,
	.stop = fake_stop,
	.insert_bp = fake_insert_bp,
	.remove_bp = fake_remove_bp,
	.kill = fake_kill,
	.reset = fake_reset,
	.set_step_irqs = fake_set_step_irqs,
	.stats = fake_stats,
	.thread_info = fake_thread_info,
};

/* Only the required ops: every optional command must answer E or empty. */
static const struct gdb_target_ops fake_ops_minimal = {
	.nr_vcpus = fake_nr_vcpus,
	.read_regs = fake_read_regs,
	.write_regs = fake_write_regs,
	.read_mem = fake_read_mem,
	.write_mem = fake_write_mem,
	.resume = fake_resume,
	.stop = fake_stop,
};

static void fake_put64(struct fake_target *t, uint64_t pa, uint64_t v)
{
	memcpy(t->mem + pa, &v, 8);
}

/* 4-level tables at 0x20000..0x23fff: virtual 0x400000-0x5fffff -> physical 0 (2 MiB page, rw, user)
 * and 0xffffffff80001000 -> 0x1000 (4 KiB page, read-only, no-exec). */
static void fake_build_page_tables(struct fake_target *t, unsigned vcpu)
{
	fake_put64(t, 0x20000 + 0 * 8, 0x21000 | 7);		/* PML4[0] -> PDPT 0x21000 */
	fake_put64(t, 0x21000 + 0 * 8, 0x22000 | 7);		/* PDPT[0] -> PD 0x22000 */
	fake_put64(t, 0x22000 + 2 * 8, 0x0 | 0x80 | 7);		/* PD[2]: 2 MiB at 4 MiB */
	fake_put64(t, 0x20000 + 511 * 8, 0x23000 | 3);		/* PML4[511] -> PDPT 0x23000 */
	fake_put64(t, 0x23000 + 510 * 8, 0x24000 | 3);		/* PDPT[510] -> PD 0x24000 */
	fake_put64(t, 0x24000 + 0 * 8, 0x25000 | 3);		/* PD[0] -> PT 0x25000 */
	fake_put64(t, 0x25000 + 1 * 8, 0x1000 | 1 | (1ull << 63));	/* PT[1]: ro, nx */
	t->regs[vcpu].cr0 = 0x80000011;
	t->regs[vcpu].cr3 = 0x20000;
	t->regs[vcpu].cr4 = 0x20;
	t->regs[vcpu].efer = 0x500;
}

#endif
