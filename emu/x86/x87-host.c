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

/* One run of the stub on the image; *fl carries the arithmetic flags in and out. */
static void run_stub(const uint8_t *stub, uint8_t *img, uint8_t *mem, uint64_t *fl)
{
	uint8_t host[512] IMG_ALIGN;
	uint64_t flags = 0x202 | (*fl & X86_ARITH_FLAGS);
	__asm__ volatile("fxsave64 %[host]\n\t"
			 "fxrstor64 %[img]\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"	/* step over the red zone before pushing */
			 "pushfq\n\t"
			 "push %[flags]\n\t"
			 "popfq\n\t"
			 "call *%[stub]\n\t"
			 "pushfq\n\t"
			 "pop %[flags]\n\t"
			 "popfq\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fxsave64 %[img]\n\t"
			 "fxrstor64 %[host]\n\t"
			 : [flags] "+r"(flags), [host] "=m"(*(uint8_t(*)[512])host), [img] "+m"(*(uint8_t(*)[512])img)
			 : [stub] "r"(stub), "D"(mem)
			 : "memory", "cc");
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
