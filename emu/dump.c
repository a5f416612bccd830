/* SPDX-License-Identifier: MIT */
/*
 * dump.c — the human-readable register dump, driven by one table of registers: every name
 * appears once, here.
 */
#include <inttypes.h>
#include <string.h>

#include "emu/emu-local.h"

enum dump_kind { DUMP_GPR, DUMP_SEG, DUMP_DT, DUMP_CTL };

struct dump_reg {
	const char *name;
	enum dump_kind kind;
	size_t off;		/* in struct emu_regs (GPR) or struct emu_sregs (the others) */
	bool newline;		/* end the line after this register */
};

#define GPR(n, f, nl) { n, DUMP_GPR, offsetof(struct emu_regs, f), nl }
#define SEG(n, f) { n, DUMP_SEG, offsetof(struct emu_sregs, f), true }
#define DT(n, f, nl) { n, DUMP_DT, offsetof(struct emu_sregs, f), nl }
#define CTL(n, f, nl) { n, DUMP_CTL, offsetof(struct emu_sregs, f), nl }

static const struct dump_reg dump_table[] = {
	GPR("rax", rax, false), GPR("rbx", rbx, false), GPR("rcx", rcx, false), GPR("rdx", rdx, true),
	GPR("rsi", rsi, false), GPR("rdi", rdi, false), GPR("rsp", rsp, false), GPR("rbp", rbp, true),
	GPR("r8", r8, false), GPR("r9", r9, false), GPR("r10", r10, false), GPR("r11", r11, true),
	GPR("r12", r12, false), GPR("r13", r13, false), GPR("r14", r14, false), GPR("r15", r15, true),
	GPR("rip", rip, false), GPR("rflags", rflags, true),
	SEG("cs", cs), SEG("ds", ds), SEG("es", es), SEG("fs", fs), SEG("gs", gs), SEG("ss", ss),
	SEG("tr", tr), SEG("ldt", ldt),
	DT("gdt", gdt, false), DT("idt", idt, true),
	CTL("cr0", cr0, false), CTL("cr2", cr2, false), CTL("cr3", cr3, true),
	CTL("cr4", cr4, false), CTL("cr8", cr8, false), CTL("efer", efer, true),
};

static void dump_one(const struct dump_reg *r, const struct emu_regs *regs, const struct emu_sregs *sregs, FILE *out)
{
	const char *base = r->kind == DUMP_GPR ? (const char *)regs : (const char *)sregs;
	const struct emu_segment *s = (const void *)(base + r->off);
	const struct emu_dtable *d = (const void *)(base + r->off);
	uint64_t v;

	switch (r->kind) {
	case DUMP_GPR:
	case DUMP_CTL:
		memcpy(&v, base + r->off, sizeof(v));
		fprintf(out, "  %-6s %016" PRIx64, r->name, v);
		break;
	case DUMP_SEG:
		fprintf(out, "  %-6s %04x base %016" PRIx64 " limit %08x type %x s%u dpl%u p%u db%u l%u g%u%s",
			r->name, s->selector, s->base, s->limit, s->type, s->s, s->dpl, s->present, s->db, s->l, s->g,
			s->unusable ? " unusable" : "");
		break;
	case DUMP_DT:
		fprintf(out, "  %-6s base %016" PRIx64 " limit %04x", r->name, d->base, d->limit);
		break;
	}
	if (r->newline)
		fputc('\n', out);
}

void emu_vcpu_dump(struct emu_vcpu *vcpu, FILE *out)
{
	struct emu_regs regs;
	struct emu_sregs sregs;
	int err = emu_vcpu_get_regs(vcpu, &regs);

	if (!err)
		err = emu_vcpu_get_sregs(vcpu, &sregs);
	if (err) {
		fprintf(out, "vCPU %u: registers unavailable: %s\n", vcpu->index, strerror(-err));
		return;
	}
	fprintf(out, "vCPU %u registers (%s):\n", vcpu->index, vcpu->vm->ops->name);
	for (size_t i = 0; i < sizeof(dump_table) / sizeof(dump_table[0]); i++)
		dump_one(&dump_table[i], &regs, &sregs, out);
}
