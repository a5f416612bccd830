/* SPDX-License-Identifier: MIT */
/*
 * regs.c — the x86-64 register table, and everything generated from it: target.xml, the g/G
 * packet layout, p/P lookups and the monitor `info registers` dump. No register name appears
 * anywhere else in the project.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "gdbstub/gdbstub-local.h"

enum gdb_feature_id { GDB_F_CORE = 0, GDB_F_SSE, GDB_F_SEGMENTS, GDB_F_SYS };

struct gdb_feature {
	const char *name;
	const char *types;	/* type definitions the rows of this feature use */
};

static const char gdb_vec128_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/></union>";

static const struct gdb_feature gdb_features[] = {
	[GDB_F_CORE] = { "org.gnu.gdb.i386.core", NULL },
	[GDB_F_SSE] = { "org.gnu.gdb.i386.sse", gdb_vec128_types },
	[GDB_F_SEGMENTS] = { "org.gnu.gdb.i386.segments", NULL },
	[GDB_F_SYS] = { "org.vmscope.gdb.x86.sys", NULL },
};

struct gdb_flag_bit {
	const char *name;
	unsigned bit;
};

static const struct gdb_flag_bit gdb_eflags_bits[] = {
	{ "CF", 0 }, { "", 1 }, { "PF", 2 }, { "AF", 4 }, { "ZF", 6 }, { "SF", 7 }, { "TF", 8 },
	{ "IF", 9 }, { "DF", 10 }, { "OF", 11 }, { "NT", 14 }, { "RF", 16 }, { "VM", 17 },
	{ "AC", 18 }, { "VIF", 19 }, { "VIP", 20 }, { "ID", 21 },
};

static const struct gdb_flag_bit gdb_mxcsr_bits[] = {
	{ "IE", 0 }, { "DE", 1 }, { "ZE", 2 }, { "OE", 3 }, { "UE", 4 }, { "PE", 5 }, { "DAZ", 6 },
	{ "IM", 7 }, { "DM", 8 }, { "ZM", 9 }, { "OM", 10 }, { "UM", 11 }, { "PM", 12 }, { "FZ", 15 },
};

#define R(n, bits, num, field, grp, ty, feat) \
	{ n, bits, num, offsetof(struct gdb_x86_regs, field), grp, ty, feat }
#define GPR(n, num, field) R(n, 64, num, field, "general", GDB_RT_INT, GDB_F_CORE)
#define SEG(n, num, field) R(n, 32, num, field, "general", GDB_RT_INT, GDB_F_CORE)
#define ST(n, num, i) R(n, 80, num, st[i], "float", GDB_RT_X87, GDB_F_CORE)
#define FPC(n, num, field) R(n, 32, num, field, "float", GDB_RT_INT, GDB_F_CORE)
#define XMM(n, num, i) R(n, 128, num, xmm[i], "vector", GDB_RT_VEC128, GDB_F_SSE)
#define SYS(n, num, field) R(n, 64, num, field, "system", GDB_RT_INT, GDB_F_SYS)

/* Rows in gdb register-number order: row i has regnum i (checked by the unit test). */
static const struct gdb_reg_desc gdb_regs[] = {
	GPR("rax", 0, rax), GPR("rbx", 1, rbx), GPR("rcx", 2, rcx), GPR("rdx", 3, rdx),
	GPR("rsi", 4, rsi), GPR("rdi", 5, rdi),
	R("rbp", 64, 6, rbp, "general", GDB_RT_DATA_PTR, GDB_F_CORE),
	R("rsp", 64, 7, rsp, "general", GDB_RT_DATA_PTR, GDB_F_CORE),
	GPR("r8", 8, r8), GPR("r9", 9, r9), GPR("r10", 10, r10), GPR("r11", 11, r11),
	GPR("r12", 12, r12), GPR("r13", 13, r13), GPR("r14", 14, r14), GPR("r15", 15, r15),
	R("rip", 64, 16, rip, "general", GDB_RT_CODE_PTR, GDB_F_CORE),
	R("eflags", 32, 17, eflags, "general", GDB_RT_EFLAGS, GDB_F_CORE),
	SEG("cs", 18, cs), SEG("ss", 19, ss), SEG("ds", 20, ds), SEG("es", 21, es),
	SEG("fs", 22, fs), SEG("gs", 23, gs),
	ST("st0", 24, 0), ST("st1", 25, 1), ST("st2", 26, 2), ST("st3", 27, 3),
	ST("st4", 28, 4), ST("st5", 29, 5), ST("st6", 30, 6), ST("st7", 31, 7),
	FPC("fctrl", 32, fctrl), FPC("fstat", 33, fstat), FPC("ftag", 34, ftag), FPC("fiseg", 35, fiseg),
	FPC("fioff", 36, fioff), FPC("foseg", 37, foseg), FPC("fooff", 38, fooff), FPC("fop", 39, fop),
	XMM("xmm0", 40, 0), XMM("xmm1", 41, 1), XMM("xmm2", 42, 2), XMM("xmm3", 43, 3),
	XMM("xmm4", 44, 4), XMM("xmm5", 45, 5), XMM("xmm6", 46, 6), XMM("xmm7", 47, 7),
	XMM("xmm8", 48, 8), XMM("xmm9", 49, 9), XMM("xmm10", 50, 10), XMM("xmm11", 51, 11),
	XMM("xmm12", 52, 12), XMM("xmm13", 53, 13), XMM("xmm14", 54, 14), XMM("xmm15", 55, 15),
	R("mxcsr", 32, 56, mxcsr, "vector", GDB_RT_MXCSR, GDB_F_SSE),
	R("fs_base", 64, 57, fs_base, "system", GDB_RT_INT, GDB_F_SEGMENTS),
	R("gs_base", 64, 58, gs_base, "system", GDB_RT_INT, GDB_F_SEGMENTS),
	SYS("k_gs_base", 59, k_gs_base),
	SYS("cr0", 60, cr0), SYS("cr2", 61, cr2), SYS("cr3", 62, cr3), SYS("cr4", 63, cr4),
	SYS("cr8", 64, cr8), SYS("efer", 65, efer),
};

#define GDB_NR_REGS (sizeof(gdb_regs) / sizeof(gdb_regs[0]))

const struct gdb_reg_desc *gdb_reg_table(unsigned *count)
{
	*count = GDB_NR_REGS;
	return gdb_regs;
}

unsigned gdb_x86_nr_regs(void)
{
	return GDB_NR_REGS;
}

const struct gdb_reg_desc *gdb_reg_by_num(unsigned regnum)
{
	return regnum < GDB_NR_REGS ? &gdb_regs[regnum] : NULL;
}

const struct gdb_reg_desc *gdb_reg_by_name(const char *name)
{
	for (unsigned i = 0; i < GDB_NR_REGS; i++)
		if (!strcmp(gdb_regs[i].name, name))
			return &gdb_regs[i];
	return NULL;
}

size_t gdb_regs_g_size(void)
{
	size_t n = 0;

	for (unsigned i = 0; i < GDB_NR_REGS; i++)
		n += gdb_regs[i].bitsize / 8;
	return n;
}

/* The struct fields are little endian on the host (x86-64), as gdb expects them. */
size_t gdb_regs_to_bytes(const struct gdb_x86_regs *regs, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		size_t sz = gdb_regs[i].bitsize / 8;
		if (n + sz > cap)
			break;
		memcpy(out + n, (const uint8_t *)regs + gdb_regs[i].offset, sz);
		n += sz;
	}
	return n;
}

int gdb_regs_from_bytes(struct gdb_x86_regs *regs, const uint8_t *in, size_t len)
{
	size_t n = 0;

	if (len != gdb_regs_g_size())
		return -EINVAL;
	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		size_t sz = gdb_regs[i].bitsize / 8;
		memcpy((uint8_t *)regs + gdb_regs[i].offset, in + n, sz);
		n += sz;
	}
	return 0;
}

/* ---- target.xml ---- */

static const char *gdb_reg_type_name(const struct gdb_reg_desc *r)
{
	switch (r->type) {
	case GDB_RT_CODE_PTR: return "code_ptr";
	case GDB_RT_DATA_PTR: return "data_ptr";
	case GDB_RT_EFLAGS: return "i386_eflags";
	case GDB_RT_MXCSR: return "i386_mxcsr";
	case GDB_RT_X87: return "i387_ext";
	case GDB_RT_VEC128: return "vec128";
	case GDB_RT_INT: break;
	}
	return r->bitsize == 64 ? "int64" : "int32";
}

static void gdb_xml_flags(struct gdb_out *out, const char *id, const struct gdb_flag_bit *bits, size_t n)
{
	gdb_out_printf(out, "<flags id=\"%s\" size=\"4\">", id);
	for (size_t i = 0; i < n; i++)
		gdb_out_printf(out, "<field name=\"%s\" start=\"%u\" end=\"%u\"/>", bits[i].name, bits[i].bit,
			       bits[i].bit);
	gdb_out_printf(out, "</flags>");
}

static void gdb_xml_feature(struct gdb_out *out, unsigned f)
{
	gdb_out_printf(out, "<feature name=\"%s\">", gdb_features[f].name);
	if (gdb_features[f].types)
		gdb_out_printf(out, "%s", gdb_features[f].types);
	if (f == GDB_F_CORE)
		gdb_xml_flags(out, "i386_eflags", gdb_eflags_bits, sizeof(gdb_eflags_bits) / sizeof(gdb_eflags_bits[0]));
	if (f == GDB_F_SSE)
		gdb_xml_flags(out, "i386_mxcsr", gdb_mxcsr_bits, sizeof(gdb_mxcsr_bits) / sizeof(gdb_mxcsr_bits[0]));
	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		const struct gdb_reg_desc *r = &gdb_regs[i];
		if (r->feature != f)
			continue;
		gdb_out_printf(out, "<reg name=\"%s\" bitsize=\"%u\" regnum=\"%u\" type=\"%s\" group=\"%s\"/>",
			       r->name, r->bitsize, r->regnum, gdb_reg_type_name(r), r->group);
	}
	gdb_out_printf(out, "</feature>");
}

void gdb_regs_target_xml(struct gdb_out *out)
{
	gdb_out_printf(out, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
			    "<target version=\"1.0\"><architecture>i386:x86-64</architecture>");
	for (unsigned f = 0; f < sizeof(gdb_features) / sizeof(gdb_features[0]); f++)
		gdb_xml_feature(out, f);
	gdb_out_printf(out, "</target>");
}

/* ---- the human-readable dump ---- */

static void gdb_dump_flags(struct gdb_out *out, uint32_t v, const struct gdb_flag_bit *bits, size_t n)
{
	gdb_out_printf(out, " [");
	for (size_t i = 0; i < n; i++)
		if (bits[i].name[0] && (v >> bits[i].bit & 1))
			gdb_out_printf(out, " %s", bits[i].name);
	gdb_out_printf(out, " ]");
}

static void gdb_dump_bytes(struct gdb_out *out, const uint8_t *p, unsigned n)
{
	gdb_out_printf(out, "0x");
	for (unsigned i = n; i > 0; i--)	/* most significant byte first */
		gdb_out_printf(out, "%02x", p[i - 1]);
}

static void gdb_dump_row(const struct gdb_reg_desc *r, const struct gdb_x86_regs *regs, struct gdb_out *out)
{
	const uint8_t *p = (const uint8_t *)regs + r->offset;
	uint64_t v64;
	uint32_t v32;

	gdb_out_printf(out, "%-10s ", r->name);
	if (r->bitsize == 64) {
		memcpy(&v64, p, 8);
		gdb_out_printf(out, "0x%016llx", (unsigned long long)v64);
	} else if (r->bitsize == 32) {
		memcpy(&v32, p, 4);
		gdb_out_printf(out, "0x%08x", v32);
		if (r->type == GDB_RT_EFLAGS)
			gdb_dump_flags(out, v32, gdb_eflags_bits, sizeof(gdb_eflags_bits) / sizeof(gdb_eflags_bits[0]));
		if (r->type == GDB_RT_MXCSR)
			gdb_dump_flags(out, v32, gdb_mxcsr_bits, sizeof(gdb_mxcsr_bits) / sizeof(gdb_mxcsr_bits[0]));
	} else {
		gdb_dump_bytes(out, p, r->bitsize / 8);
	}
	gdb_out_printf(out, "\n");
}

void gdb_regs_dump(const struct gdb_x86_regs *regs, struct gdb_out *out)
{
	for (unsigned i = 0; i < GDB_NR_REGS; i++)
		gdb_dump_row(&gdb_regs[i], regs, out);
}
