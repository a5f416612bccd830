/* SPDX-License-Identifier: MIT */
/*
 * x87-local.h — private to emu/x86: the x87 FPU's status/control bits, the checks every x87,
 * MMX and FXSAVE-class instruction makes (CR0.EM/TS/MP/NE), and the host-FPU executor
 * (x87-host.c) that runs arithmetic x87 instructions on the host's own FPU for bit-exact results.
 */
#ifndef VMSCOPE_EMU_X86_X87_LOCAL_H
#define VMSCOPE_EMU_X86_X87_LOCAL_H

#include "emu/x86/x86-local.h"

#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_NE (1ull << 5)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)

/* FSW */
#define X87_FSW_EXC 0x003fu	/* IE DE ZE OE UE PE */
#define X87_FSW_SF 0x0040u
#define X87_FSW_ES 0x0080u
#define X87_FSW_C0 0x0100u
#define X87_FSW_C1 0x0200u
#define X87_FSW_C2 0x0400u
#define X87_FSW_TOP 0x3800u
#define X87_FSW_C3 0x4000u
#define X87_FSW_B 0x8000u

/* The MXCSR bits FXRSTOR/LDMXCSR accept (FXSAVE's MXCSR_MASK): all 16 architectural bits, DAZ included. */
#define X86_MXCSR_MASK 0x0000ffffu

static inline unsigned x87_top(const struct x86_fpu *f)
{
	return (f->fsw >> 11) & 7;
}

/* Physical register number of ST(i). */
static inline unsigned x87_phys(const struct x86_fpu *f, unsigned i)
{
	return (x87_top(f) + i) & 7;
}

/* ES and B follow the exception flags the FCW leaves unmasked (the hardware recomputes them
 * whenever the FSW or FCW is loaded). */
static inline void x87_sync_es(struct x86_fpu *f)
{
	if (f->fsw & ~f->fcw & X87_FSW_EXC)
		f->fsw |= X87_FSW_ES | X87_FSW_B;
	else
		f->fsw &= (uint16_t)~(X87_FSW_ES | X87_FSW_B);
}

/* #NM when CR0.EM or CR0.TS (x87 instructions), then #MF for a pending unmasked exception when
 * the instruction is a waiting one. */
void x87_check(struct x86_cpu *cpu, bool waiting);
/* The pending-exception check alone (fwait, emms, x87 waiting instructions). */
void x87_check_pending(struct x86_cpu *cpu);
/* FXSAVE/FXRSTOR and MMX: #UD when CR0.EM, #NM when CR0.TS. */
void x87_check_fx(struct x86_cpu *cpu);

/* Runs the x87 instruction (opcode 0xd8-0xdf, ModRM modrm; memory forms read or write mem, at
 * least 16 bytes) on the host FPU with the guest's x87 state and arithmetic flags; updates f and
 * *rflags in place. store_len: bytes a memory store writes (0: not a store). Returns true when the
 * instruction wrote mem (an unmasked exception can suppress a store). */
bool x87_host_exec(struct x86_fpu *f, uint64_t *rflags, uint8_t opcode, uint8_t modrm, uint8_t *mem,
		   unsigned store_len);

#endif
