/* SPDX-License-Identifier: MIT */
/*
 * gdb-decode.c — which memory an instruction is about to read or write, decoded with Zydis from
 * the vCPU's registers. The gdb module uses it to emulate read and access watchpoints by
 * single-stepping on hosts whose KVM never fires data breakpoints: the watchpoint is reported
 * after the instruction that touched the watched bytes, as a debug register would.
 * (A single-step runs one iteration of a REP string instruction, so one element per step.)
 */
#include <Zydis/Zydis.h>
#include <string.h>

#include "vmscope/gdb-local.h"

static void vgdb_zydis_mode(const struct emu_sregs *s, ZydisMachineMode *mode, ZydisStackWidth *width)
{
	if (s->cs.l && (s->efer & (1u << 10))) {
		*mode = ZYDIS_MACHINE_MODE_LONG_64;
		*width = ZYDIS_STACK_WIDTH_64;
	} else if (s->cs.db) {
		*mode = (s->efer & (1u << 10)) ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 : ZYDIS_MACHINE_MODE_LEGACY_32;
		*width = ZYDIS_STACK_WIDTH_32;
	} else {
		*mode = (s->cr0 & 1) ? ZYDIS_MACHINE_MODE_LEGACY_16 : ZYDIS_MACHINE_MODE_REAL_16;
		*width = ZYDIS_STACK_WIDTH_16;
	}
}

/* General registers in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). */
static void vgdb_zydis_context(const struct emu_regs *g, ZydisRegisterContext *ctx)
{
	const uint64_t gpr[16] = { g->rax, g->rcx, g->rdx, g->rbx, g->rsp, g->rbp, g->rsi, g->rdi,
				   g->r8, g->r9, g->r10, g->r11, g->r12, g->r13, g->r14, g->r15 };

	memset(ctx, 0, sizeof(*ctx));
	for (int i = 0; i < 16; i++) {
		ctx->values[ZYDIS_REGISTER_RAX + i] = gpr[i];
		ctx->values[ZYDIS_REGISTER_EAX + i] = (uint32_t)gpr[i];
		ctx->values[ZYDIS_REGISTER_AX + i] = (uint16_t)gpr[i];
	}
	ctx->values[ZYDIS_REGISTER_RIP] = g->rip;
	ctx->values[ZYDIS_REGISTER_EIP] = (uint32_t)g->rip;
}

static uint64_t vgdb_seg_base(const struct emu_sregs *s, ZydisRegister seg, bool long64)
{
	switch (seg) {
	case ZYDIS_REGISTER_FS: return s->fs.base;
	case ZYDIS_REGISTER_GS: return s->gs.base;
	case ZYDIS_REGISTER_ES: return long64 ? 0 : s->es.base;
	case ZYDIS_REGISTER_CS: return long64 ? 0 : s->cs.base;
	case ZYDIS_REGISTER_SS: return long64 ? 0 : s->ss.base;
	case ZYDIS_REGISTER_DS: return long64 ? 0 : s->ds.base;
	default: return 0;
	}
}

int vmscope_gdb_insn_accesses(const struct emu_regs *g, const struct emu_sregs *s, const uint8_t *code, size_t len,
		       struct vgdb_access *out, int max)
{
	ZydisMachineMode mode;
	ZydisStackWidth width;
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisRegisterContext ctx;
	int n = 0;

	vgdb_zydis_mode(s, &mode, &width);
	if (ZYAN_FAILED(ZydisDecoderInit(&dec, mode, width)) ||
	    ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, code, len, &insn, ops)))
		return -1;
	vgdb_zydis_context(g, &ctx);
	for (unsigned i = 0; i < insn.operand_count && n < max; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		ZyanU64 addr;
		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type != ZYDIS_MEMOP_TYPE_MEM)
			continue;	/* lea and friends compute an address without touching it */
		if (ZYAN_FAILED(ZydisCalcAbsoluteAddressEx(&insn, op, g->rip, &ctx, &addr)))
			continue;
		out[n].addr = addr + vgdb_seg_base(s, op->mem.segment, mode == ZYDIS_MACHINE_MODE_LONG_64);
		out[n].len = op->size / 8 ? op->size / 8 : 1;
		out[n].read = op->actions & ZYDIS_OPERAND_ACTION_MASK_READ;
		out[n].write = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
		n++;
	}
	return n;
}
