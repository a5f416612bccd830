/* SPDX-License-Identifier: MIT */
/*
 * decode.c — Zydis decodes; this file turns a ZydisDecodedInstruction into the compact
 * struct x86_insn the executor runs, and owns the mnemonic → handler table (insns.def).
 */
#include <errno.h>
#include <Zydis/Zydis.h>

#include "emu/x86/x86-local.h"
#include "emu/x86/handlers.h"

#define X(m, fn, fl) [ZYDIS_MNEMONIC_##m] = { fn, fl },
const struct x86_insn_info x86_insn_infos[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
#include "emu/x86/insns.def"
};
#undef X
const unsigned x86_nr_mnemonics = ZYDIS_MNEMONIC_MAX_VALUE + 1;

#define X(m, fn, fl) ZYDIS_MNEMONIC_##m,
static const uint16_t table_rows[] = {
#include "emu/x86/insns.def"
};
#undef X

unsigned x86_insn_table_size(void)
{
	return sizeof(table_rows) / sizeof(table_rows[0]);
}

int x86_insn_table_mnemonic(unsigned i)
{
	return i < x86_insn_table_size() ? table_rows[i] : -1;
}

const char *x86_insn_table_name(unsigned i)
{
	return i < x86_insn_table_size() ? ZydisMnemonicGetString(table_rows[i]) : NULL;
}

const char *x86_mnemonic_name(unsigned mnem)
{
	const char *s = ZydisMnemonicGetString((ZydisMnemonic)mnem);
	return s ? s : "?";
}

static const ZydisMachineMode zmode[] = {
	[X86_MODE_REAL] = ZYDIS_MACHINE_MODE_REAL_16,
	[X86_MODE_PROT16] = ZYDIS_MACHINE_MODE_LEGACY_16,
	[X86_MODE_PROT32] = ZYDIS_MACHINE_MODE_LEGACY_32,
	[X86_MODE_COMPAT16] = ZYDIS_MACHINE_MODE_LONG_COMPAT_16,
	[X86_MODE_COMPAT32] = ZYDIS_MACHINE_MODE_LONG_COMPAT_32,
	[X86_MODE_LONG64] = ZYDIS_MACHINE_MODE_LONG_64,
};

static int decoder_init(const struct x86_cpu *cpu, ZydisDecoder *d)
{
	ZydisStackWidth sw = cpu->stack_size == 8 ? ZYDIS_STACK_WIDTH_64 :
			     cpu->stack_size == 4 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;
	if (ZYAN_FAILED(ZydisDecoderInit(d, zmode[cpu->mode], sw)))
		return -EINVAL;
	return 0;
}

static uint8_t gpr_number(ZydisRegister r, uint8_t *hi8)
{
	*hi8 = 0;
	if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
		*hi8 = 1;
		return (uint8_t)(r - ZYDIS_REGISTER_AH);
	}
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL)
		return (uint8_t)(r - ZYDIS_REGISTER_AL);
	if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_R15B)
		return (uint8_t)(r - ZYDIS_REGISTER_SPL + 4);
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_R15W)
		return (uint8_t)(r - ZYDIS_REGISTER_AX);
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_R15D)
		return (uint8_t)(r - ZYDIS_REGISTER_EAX);
	if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15)
		return (uint8_t)(r - ZYDIS_REGISTER_RAX);
	if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP)
		return X86_RIPREL;
	return X86_NOREG;
}

static int convert_reg(const ZydisDecodedOperand *zo, struct x86_opnd *o)
{
	ZydisRegister r = zo->reg.value;
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8: case ZYDIS_REGCLASS_GPR16: case ZYDIS_REGCLASS_GPR32: case ZYDIS_REGCLASS_GPR64:
		o->type = X86_OT_REG;
		o->reg = gpr_number(r, &o->hi8);
		return 0;
	case ZYDIS_REGCLASS_SEGMENT:
		o->type = X86_OT_SREG;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_ES);
		return 0;
	case ZYDIS_REGCLASS_CONTROL:
		o->type = X86_OT_CREG;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_CR0);
		return 0;
	case ZYDIS_REGCLASS_DEBUG:
		o->type = X86_OT_DREG;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_DR0);
		return 0;
	case ZYDIS_REGCLASS_X87:
		o->type = X86_OT_ST;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_ST0);
		return 0;
	case ZYDIS_REGCLASS_MMX:
		o->type = X86_OT_MMX;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_MM0);
		return 0;
	case ZYDIS_REGCLASS_XMM:
		o->type = X86_OT_XMM;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_XMM0);
		return 0;
	default:
		o->type = X86_OT_OTHER;	/* YMM, mask, bound, ...: the handler will not accept it */
		return 0;
	}
}

static void convert_mem(const ZydisDecodedOperand *zo, struct x86_insn *in)
{
	uint8_t hi;
	in->seg = zo->mem.segment >= ZYDIS_REGISTER_ES && zo->mem.segment <= ZYDIS_REGISTER_GS ?
		  (uint8_t)(zo->mem.segment - ZYDIS_REGISTER_ES) : X86_DS;
	in->base = zo->mem.base == ZYDIS_REGISTER_NONE ? X86_NOREG : gpr_number(zo->mem.base, &hi);
	in->index = zo->mem.index == ZYDIS_REGISTER_NONE ? X86_NOREG : gpr_number(zo->mem.index, &hi);
	in->scale = zo->mem.scale == 8 ? 3 : zo->mem.scale == 4 ? 2 : zo->mem.scale == 2 ? 1 : 0;
	in->disp = zo->mem.disp.has_displacement ? zo->mem.disp.value : 0;
}

static int convert_operand(const ZydisDecodedOperand *zo, struct x86_insn *in, unsigned i, int *nimm)
{
	struct x86_opnd *o = &in->op[i];
	o->size = zo->size / 8 > 255 ? 0 : (uint8_t)(zo->size / 8);
	switch (zo->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		return convert_reg(zo, o);
	case ZYDIS_OPERAND_TYPE_MEMORY:
		o->type = X86_OT_MEM;
		convert_mem(zo, in);
		return 0;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		o->type = X86_OT_IMM;
		if ((*nimm)++ == 0)
			in->imm = zo->imm.value.u;
		else
			in->imm2 = zo->imm.value.u;
		return 0;
	case ZYDIS_OPERAND_TYPE_POINTER:
		o->type = X86_OT_PTR;
		in->imm = zo->ptr.offset;
		in->imm2 = zo->ptr.segment;
		return 0;
	default:
		return -EINVAL;
	}
}

static uint8_t prefix_bits(const ZydisDecodedInstruction *zi)
{
	uint8_t p = 0;
	if (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		p |= X86_P_REP;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE)
		p |= X86_P_REPNE;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		p |= X86_P_LOCK;
	return p;
}

/* String instructions have no explicit memory operand: take the DS override from the prefixes. */
static uint8_t segment_override(const ZydisDecodedInstruction *zi)
{
	static const struct { uint64_t attr; uint8_t seg; } map[] = {
		{ ZYDIS_ATTRIB_HAS_SEGMENT_CS, X86_CS }, { ZYDIS_ATTRIB_HAS_SEGMENT_SS, X86_SS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_DS, X86_DS }, { ZYDIS_ATTRIB_HAS_SEGMENT_ES, X86_ES },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_FS, X86_FS }, { ZYDIS_ATTRIB_HAS_SEGMENT_GS, X86_GS },
	};
	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (zi->attributes & map[i].attr)
			return map[i].seg;
	return X86_DS;
}

static void finish_flags(struct x86_insn *in)
{
	for (unsigned i = 0; i < in->nops; i++) {
		uint8_t t = in->op[i].type;
		if (t == X86_OT_CREG || t == X86_OT_DREG)
			in->flags |= X86_IF_END | X86_IF_PRIV;
		if (t == X86_OT_SREG && i == 0)
			in->flags |= X86_IF_END;
	}
}

int x86_decode(const struct x86_cpu *cpu, const uint8_t *bytes, unsigned len, struct x86_insn *in)
{
	ZydisDecoder d;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	int nimm = 0;

	memset(in, 0, sizeof(*in));
	in->base = in->index = X86_NOREG;
	if (decoder_init(cpu, &d) || ZYAN_FAILED(ZydisDecoderDecodeFull(&d, bytes, len, &zi, zo)))
		return -EINVAL;
	if (zi.opcode_map == ZYDIS_OPCODE_MAP_0F && zi.opcode == 0x0d && zi.raw.modrm.mod == 3)
		return -EINVAL;	/* prefetch group with a register operand: #UD on real CPUs */
	in->mnem = (uint16_t)zi.mnemonic;
	in->len = zi.length;
	in->osz = zi.operand_width / 8;
	in->asz = zi.address_width / 8;
	in->pfx = prefix_bits(&zi);
	in->seg = segment_override(&zi);
	in->opcode = zi.opcode;
	in->modrm_reg = zi.raw.modrm.reg;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_MODRM)
		in->modrm = (uint8_t)(zi.raw.modrm.mod << 6 | zi.raw.modrm.reg << 3 | zi.raw.modrm.rm);
	for (unsigned i = 0; i < zi.operand_count_visible && in->nops < 3; i++) {
		if (zo[i].visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			continue;
		if (convert_operand(&zo[i], in, in->nops, &nimm))
			return -EINVAL;
		in->nops++;
	}
	if ((unsigned)zi.mnemonic < x86_nr_mnemonics && x86_insn_infos[zi.mnemonic].fn) {
		in->fn = x86_insn_infos[zi.mnemonic].fn;
		in->flags = x86_insn_infos[zi.mnemonic].flags;
	} else {
		in->fn = x86_unimplemented;
		in->flags = X86_IF_BRANCH;
	}
	finish_flags(in);
	in->fn = x86_sse_alias(in, in->fn);
	in->fn = x86_specialize(in);
	if ((in->pfx & X86_P_LOCK) || (zi.mnemonic == ZYDIS_MNEMONIC_XCHG && in->op[0].type == X86_OT_MEM))
		in->fn = x86_h_locked;	/* xchg with memory is locked without the prefix */
	return 0;
}

int x86_disasm(const struct x86_cpu *cpu, const uint8_t *buf, size_t len, uint64_t rip, char *out, size_t out_len)
{
	ZydisDecoder d;
	ZydisFormatter f;
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];

	if (decoder_init(cpu, &d) || ZYAN_FAILED(ZydisDecoderDecodeFull(&d, buf, len, &zi, zo)))
		return -EINVAL;
	if (ZYAN_FAILED(ZydisFormatterInit(&f, ZYDIS_FORMATTER_STYLE_ATT)) ||
	    ZYAN_FAILED(ZydisFormatterFormatInstruction(&f, &zi, zo, zi.operand_count_visible, out, out_len, rip,
							  ZYAN_NULL)))
		return -EINVAL;
	return zi.length;
}

const char *x86_mode_name(unsigned mode)
{
	static const char *const names[] = { "real", "prot16", "prot32", "compat16", "compat32", "long64" };
	return mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "?";
}
