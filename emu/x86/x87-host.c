/* SPDX-License-Identifier: MIT */
/*
 * x87-host.c — arithmetic x87 instructions run on the host's FPU. The guest's x87 registers,
 * control and status words go into a FXSAVE image, FXRSTOR loads it, the very instruction the
 * guest executes runs from a table of one-instruction stubs (every D8-DF opcode × ModRM, memory
 * forms addressing (%rdi), a host buffer), and FXSAVE reads the result back; the host's own FPU
 * state is saved before and restored after, in the same asm statement. Results, condition codes,
 * exception flags, tags and transcendental values are therefore the host CPU's, bit for bit.
 *
 * Pending unmasked exceptions never reach the host: the caller raises #MF first (CR0.NE), and with
 * CR0.NE clear the pending flags are held back for the run and put back after it. A new unmasked
 * exception only sets ES (the next waiting instruction would trap), and FXSAVE does not wait.
 */
#include "emu/x86/x87-local.h"

#if !defined(__x86_64__)
#error "the x87 executor runs instructions on an x86-64 host FPU"
#endif

/* 8 opcodes × 256 ModRM bytes, 4 bytes each: opcode, ModRM, ret, int3. ModRM (reg << 3) | 7 is
 * "op (%rdi)"; 0xc0-0xff are the register forms. Other ModRM values are never called. */
extern const uint8_t x87_host_stubs[];
__asm__(".pushsection .text.x87_host_stubs,\"ax\",@progbits\n"
	".balign 64\n"
	".globl x87_host_stubs\n"
	".hidden x87_host_stubs\n"
	"x87_host_stubs:\n"
	".irp op, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	".set x87_modrm, 0\n"
	".rept 256\n"
	".byte \\op, x87_modrm, 0xc3, 0xcc\n"
	".set x87_modrm, x87_modrm + 1\n"
	".endr\n"
	".endr\n"
	".popsection\n");

#define IMG_ALIGN __attribute__((aligned(16)))

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static void to_image(const struct x86_fpu *f, uint16_t fsw, uint8_t *img)
{
	unsigned top = (fsw >> 11) & 7;
	memset(img, 0, 512);
	put16(img, f->fcw);
	put16(img + 2, fsw);
	img[4] = f->ftw;
	put16(img + 24, X86_MXCSR_RESET);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, f->st[(top + i) & 7].raw, 10);
}

static void from_image(struct x86_fpu *f, const uint8_t *img, uint16_t held)
{
	unsigned top;
	f->fsw = get16(img + 2) | held;
	f->ftw = img[4];
	top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		union x86_st *s = &f->st[(top + i) & 7];
		memset(s->raw, 0, sizeof(s->raw));
		memcpy(s->raw, img + 32 + 16 * i, 10);
	}
	x87_sync_es(f);
}

/* One run of the stub on the image; *fl carries the arithmetic flags in and out. A FXSAVE image is
 * put together from the guest's x87 part (FCW..FDP and the eight registers) and the host's own
 * MXCSR and XMM registers, so one FXRSTOR loads the guest's x87 state and leaves MXCSR and XMM as
 * they were; afterwards fninit and the host's FCW leave its x87 unit as the ABI has it between
 * calls (an empty stack; the host's exception flags are not kept). One FXRSTOR and one FXSAVE per
 * instruction: about 165 ns of CPU time on this host, against 205 ns with the host's state saved
 * and restored by a second pair. */
static void run_stub(const uint8_t *stub, uint8_t *img, uint8_t *mem, uint64_t *fl)
{
	uint8_t host[512] IMG_ALIGN;
	uint64_t flags = 0x202 | (*fl & X86_ARITH_FLAGS), t;
	uint16_t cw;
	__asm__ volatile("fnstcw %[cw]\n\t"
			 "stmxcsr 24(%[scr])\n\t"
			 "movdqa %%xmm0, 160(%[scr])\n\t"
			 "movdqa %%xmm1, 176(%[scr])\n\t"
			 "movdqa %%xmm2, 192(%[scr])\n\t"
			 "movdqa %%xmm3, 208(%[scr])\n\t"
			 "movdqa %%xmm4, 224(%[scr])\n\t"
			 "movdqa %%xmm5, 240(%[scr])\n\t"
			 "movdqa %%xmm6, 256(%[scr])\n\t"
			 "movdqa %%xmm7, 272(%[scr])\n\t"
			 "movdqa %%xmm8, 288(%[scr])\n\t"
			 "movdqa %%xmm9, 304(%[scr])\n\t"
			 "movdqa %%xmm10, 320(%[scr])\n\t"
			 "movdqa %%xmm11, 336(%[scr])\n\t"
			 "movdqa %%xmm12, 352(%[scr])\n\t"
			 "movdqa %%xmm13, 368(%[scr])\n\t"
			 "movdqa %%xmm14, 384(%[scr])\n\t"
			 "movdqa %%xmm15, 400(%[scr])\n\t"
			 "mov 0(%[img]), %[t]\n\t"
			 "mov %[t], 0(%[scr])\n\t"
			 "mov 8(%[img]), %[t]\n\t"
			 "mov %[t], 8(%[scr])\n\t"
			 "mov 16(%[img]), %[t]\n\t"
			 "mov %[t], 16(%[scr])\n\t"
			 "mov 32(%[img]), %[t]\n\t"
			 "mov %[t], 32(%[scr])\n\t"
			 "mov 40(%[img]), %[t]\n\t"
			 "mov %[t], 40(%[scr])\n\t"
			 "mov 48(%[img]), %[t]\n\t"
			 "mov %[t], 48(%[scr])\n\t"
			 "mov 56(%[img]), %[t]\n\t"
			 "mov %[t], 56(%[scr])\n\t"
			 "mov 64(%[img]), %[t]\n\t"
			 "mov %[t], 64(%[scr])\n\t"
			 "mov 72(%[img]), %[t]\n\t"
			 "mov %[t], 72(%[scr])\n\t"
			 "mov 80(%[img]), %[t]\n\t"
			 "mov %[t], 80(%[scr])\n\t"
			 "mov 88(%[img]), %[t]\n\t"
			 "mov %[t], 88(%[scr])\n\t"
			 "mov 96(%[img]), %[t]\n\t"
			 "mov %[t], 96(%[scr])\n\t"
			 "mov 104(%[img]), %[t]\n\t"
			 "mov %[t], 104(%[scr])\n\t"
			 "mov 112(%[img]), %[t]\n\t"
			 "mov %[t], 112(%[scr])\n\t"
			 "mov 120(%[img]), %[t]\n\t"
			 "mov %[t], 120(%[scr])\n\t"
			 "mov 128(%[img]), %[t]\n\t"
			 "mov %[t], 128(%[scr])\n\t"
			 "mov 136(%[img]), %[t]\n\t"
			 "mov %[t], 136(%[scr])\n\t"
			 "mov 144(%[img]), %[t]\n\t"
			 "mov %[t], 144(%[scr])\n\t"
			 "mov 152(%[img]), %[t]\n\t"
			 "mov %[t], 152(%[scr])\n\t"
			 "fxrstor64 %[host]\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"	/* step over the red zone before pushing */
			 "pushfq\n\t"
			 "push %[flags]\n\t"
			 "popfq\n\t"
			 "call *%[stub]\n\t"
			 "pushfq\n\t"
			 "pop %[flags]\n\t"
			 "popfq\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fxsave64 (%[img])\n\t"
			 "fninit\n\t"
			 "fldcw %[cw]\n\t"
			 : [flags] "+r"(flags), [t] "=&r"(t), [cw] "=m"(cw), [host] "+m"(*(uint8_t(*)[512])host)
			 : [stub] "r"(stub), [img] "r"(img), [scr] "r"(host), "D"(mem)
			 : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
	*fl = (*fl & ~(uint64_t)X86_ARITH_FLAGS) | (flags & X86_ARITH_FLAGS);
}

bool x87_host_exec(struct x86_fpu *f, uint64_t *rflags, uint8_t opcode, uint8_t modrm, uint8_t *mem,
		   unsigned store_len)
{
	uint8_t img[512] IMG_ALIGN, again[512] IMG_ALIGN, probe[16];
	const uint8_t *stub = x87_host_stubs + ((opcode & 7u) * 256u + modrm) * 4u;
	uint16_t held = (f->fsw & X87_FSW_ES) ? (f->fsw & ~f->fcw & X87_FSW_EXC) : 0;
	uint16_t fsw = f->fsw & (uint16_t)~(held | X87_FSW_ES | X87_FSW_B);
	uint64_t fl = *rflags, fl2 = *rflags;
	bool wrote = store_len != 0;

	to_image(f, fsw, img);
	if (store_len) {
		memcpy(again, img, sizeof(again));
		memset(mem, 0, store_len);
	}
	run_stub(stub, img, mem, &fl);
	if (store_len && (get16(img + 2) & X87_FSW_ES) && !(fsw & X87_FSW_ES)) {
		/* A new unmasked exception may have suppressed the store: run again over another fill. */
		bool zero = true;
		for (unsigned i = 0; i < store_len; i++)
			zero &= mem[i] == 0;
		memset(probe, 0xff, sizeof(probe));
		run_stub(stub, again, probe, &fl2);
		if (zero) {
			wrote = false;
			for (unsigned i = 0; i < store_len; i++)
				wrote |= probe[i] != 0xff;
		}
	}
	from_image(f, img, held);
	*rflags = fl;
	return wrote;
}
