/* SPDX-License-Identifier: MIT */
/*
 * x87-host.c — arithmetic x87 instructions run on the host's FPU. The guest's registers are
 * loaded into the host's x87 unit (fninit, fldt of the eight physical registers, ffree of the
 * empty ones, fincstp up to the guest's TOP, fldcw of the guest's FCW), the very instruction the
 * guest executes runs from a table of one-instruction stubs (every D8-DF opcode × ModRM, memory
 * forms addressing (%rdi), a host buffer), FXSAVE reads the registers, tags and status word back,
 * and fninit plus the host's FCW leave the x87 unit as the ABI has it between calls (an empty
 * stack; the host's own x87 exception flags are not kept; MXCSR and XMM are never touched).
 * Results, exception flags, tags and transcendental values are therefore the host CPU's, bit for
 * bit. fldt of an 80-bit value loads its bits as they are (no #IA, no #D for that format).
 *
 * The status word the instruction starts from is not loaded (FLDENV and FXRSTOR cost about as much
 * as everything else together): the host runs it from a clear one, the guest's sticky exception
 * flags are or-ed back, and of C0-C3 the guest keeps the bits the instruction does not write
 * (x87_cc_written, checked against the host by x86_hostcmp_test). Pending unmasked exceptions
 * never reach the host: the caller raises #MF first (CR0.NE). A new unmasked exception only sets
 * ES (the next waiting instruction would trap), and FXSAVE does not wait.
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
#define CC_ALL (X87_FSW_C0 | X87_FSW_C1 | X87_FSW_C2 | X87_FSW_C3)
#define CC_C12 (X87_FSW_C1 | X87_FSW_C2)

/* Register forms whose C0-C3 writes are not "C1 only", as this AMD host does them (the SDM
 * leaves many undefined): cc without a fault, cc_ie after an invalid operation, cc_sf after a
 * stack fault. Compares, ftst, fxam write all four; the trigonometric ones C1 and C2 (incomplete
 * reduction); fcmovcc and fcomi/fucomi(p) only C1, and only on a stack fault; fnop none. fprem and
 * fprem1 keep C0 and C3 in cases no simple rule covers: they start from the guest's status word
 * (x87_exact). */
static const struct { uint8_t op, lo, hi; uint16_t cc, cc_ie, cc_sf; } x87_cc_rows[] = {
	{ 0xd8, 0xd0, 0xdf, CC_ALL, CC_ALL, CC_ALL },	/* fcom, fcomp */
	{ 0xdc, 0xd0, 0xdf, CC_ALL, CC_ALL, CC_ALL },	/* their aliases */
	{ 0xde, 0xd0, 0xd7, CC_ALL, CC_ALL, CC_ALL },	/* fcomp alias */
	{ 0xde, 0xd9, 0xd9, CC_ALL, CC_ALL, CC_ALL },	/* fcompp */
	{ 0xdd, 0xe0, 0xef, CC_ALL, CC_ALL, CC_ALL },	/* fucom, fucomp */
	{ 0xda, 0xe9, 0xe9, CC_ALL, CC_ALL, CC_ALL },	/* fucompp */
	{ 0xd9, 0xe4, 0xe5, CC_ALL, CC_ALL, CC_ALL },	/* ftst, fxam */
	{ 0xd9, 0xf2, 0xf2, CC_C12, CC_C12, CC_C12 },	/* fptan */
	{ 0xd9, 0xfb, 0xfb, CC_C12, CC_C12, CC_C12 },	/* fsincos */
	{ 0xd9, 0xfe, 0xff, CC_C12, CC_C12, CC_C12 },	/* fsin, fcos */
	{ 0xda, 0xc0, 0xdf, 0, 0, X87_FSW_C1 },		/* fcmovb/e/be/u */
	{ 0xdb, 0xc0, 0xdf, 0, 0, X87_FSW_C1 },		/* fcmovnb/ne/nbe/nu */
	{ 0xdb, 0xe8, 0xf7, 0, 0, X87_FSW_C1 },		/* fucomi, fcomi */
	{ 0xdf, 0xe8, 0xf7, 0, 0, X87_FSW_C1 },		/* fucomip, fcomip */
	{ 0xd9, 0xd0, 0xd0, 0, 0, 0 },			/* fnop */
};

/* The condition-code bits the instruction wrote, given the exception flags it raised (host); the
 * others keep the guest's values. */
static uint16_t x87_cc_written(uint8_t op, uint8_t modrm, uint16_t host)
{
	unsigned reg = (modrm >> 3) & 7;
	if ((modrm >> 6) != 3)	/* fcom, fcomp, ficom, ficomp with a memory operand */
		return (!(op & 1) && (reg == 2 || reg == 3)) ? CC_ALL : X87_FSW_C1;
	for (unsigned i = 0; i < sizeof(x87_cc_rows) / sizeof(x87_cc_rows[0]); i++)
		if (x87_cc_rows[i].op == op && modrm >= x87_cc_rows[i].lo && modrm <= x87_cc_rows[i].hi)
			return (host & X87_FSW_SF) ? x87_cc_rows[i].cc_sf :
			       (host & 1) ? x87_cc_rows[i].cc_ie : x87_cc_rows[i].cc;
	return X87_FSW_C1;
}

/* fprem, fprem1: run from the guest's whole status word (loaded with fldenv, which costs about as
 * much as the rest of a run). */
static bool x87_exact(uint8_t op, uint8_t modrm)
{
	return op == 0xd9 && (modrm == 0xf5 || modrm == 0xf8);
}

struct x87_run {
	uint8_t regs[8][16];	/* R7 .. R0: the order the eight pushes fill them */
	uint32_t empty;		/* bit i: R_i empty */
	uint32_t top;
	uint32_t env[7];	/* fldenv image (32-bit layout) when exact */
	uint16_t fcw;
	uint8_t exact;
};

static void run_prepare(const struct x86_fpu *f, struct x87_run *r, bool exact)
{
	uint32_t tags = 0;
	for (unsigned k = 0; k < 8; k++)
		memcpy(r->regs[k], f->st[7 - k].raw, 10);
	r->empty = ~(uint32_t)f->ftw & 0xff;
	r->top = x87_top(f);
	r->fcw = f->fcw;
	r->exact = exact;
	if (!exact)
		return;
	for (unsigned i = 0; i < 8; i++)
		tags |= ((r->empty >> i) & 1 ? 3u : 0u) << (2 * i);
	memset(r->env, 0, sizeof(r->env));
	r->env[0] = 0xffff0000u | f->fcw;	/* the status word without pending unmasked exceptions */
	r->env[1] = 0xffff0000u | (f->fsw & ~(X87_FSW_ES | X87_FSW_B | (X87_FSW_EXC & ~f->fcw)));
	r->env[2] = 0xffff0000u | tags;
}

/* One run of the stub from the prepared state; the FXSAVE64 image of the result lands in img and
 * *fl carries the arithmetic flags in and out. The asm costs about 80 ns of CPU time on this host
 * where a FXRSTOR-based load took 155 ns; a whole interpreted fadd about 137 ns (was 163). */
static void run_stub(const uint8_t *stub, const struct x87_run *r, uint8_t *img, uint8_t *mem, uint64_t *fl)
{
	uint64_t flags = 0x202 | (*fl & X86_ARITH_FLAGS);
	uint32_t top = r->top;
	uint16_t cw;
	__asm__ volatile("fnstcw %[cw]\n\t"
			 "fninit\n\t"
			 "fldt 0(%[regs])\n\t"
			 "fldt 16(%[regs])\n\t"
			 "fldt 32(%[regs])\n\t"
			 "fldt 48(%[regs])\n\t"
			 "fldt 64(%[regs])\n\t"
			 "fldt 80(%[regs])\n\t"
			 "fldt 96(%[regs])\n\t"
			 "fldt 112(%[regs])\n\t"
			 "bt $0, %[empty]\n\t"
			 "jnc 10f\n\t"
			 "ffree %%st(0)\n\t"
			 "10:\n\t"
			 "bt $1, %[empty]\n\t"
			 "jnc 11f\n\t"
			 "ffree %%st(1)\n\t"
			 "11:\n\t"
			 "bt $2, %[empty]\n\t"
			 "jnc 12f\n\t"
			 "ffree %%st(2)\n\t"
			 "12:\n\t"
			 "bt $3, %[empty]\n\t"
			 "jnc 13f\n\t"
			 "ffree %%st(3)\n\t"
			 "13:\n\t"
			 "bt $4, %[empty]\n\t"
			 "jnc 14f\n\t"
			 "ffree %%st(4)\n\t"
			 "14:\n\t"
			 "bt $5, %[empty]\n\t"
			 "jnc 15f\n\t"
			 "ffree %%st(5)\n\t"
			 "15:\n\t"
			 "bt $6, %[empty]\n\t"
			 "jnc 16f\n\t"
			 "ffree %%st(6)\n\t"
			 "16:\n\t"
			 "bt $7, %[empty]\n\t"
			 "jnc 17f\n\t"
			 "ffree %%st(7)\n\t"
			 "17:\n\t"
			 "test %[top], %[top]\n\t"
			 "jz 21f\n\t"
			 "20:\n\t"
			 "fincstp\n\t"
			 "dec %[top]\n\t"
			 "jnz 20b\n\t"
			 "21:\n\t"
			 "cmpb $0, %[exact]\n\t"
			 "je 30f\n\t"
			 "fldenv %[env]\n\t"
			 "jmp 31f\n\t"
			 "30:\n\t"
			 "fldcw %[gcw]\n\t"
			 "31:\n\t"
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
			 : [flags] "+r"(flags), [top] "+r"(top), [cw] "=m"(cw)
			 : [stub] "r"(stub), [img] "r"(img), [regs] "r"(r->regs), [empty] "r"(r->empty),
			   [gcw] "m"(r->fcw), [env] "m"(r->env), [exact] "m"(r->exact), "D"(mem)
			 : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
	*fl = (*fl & ~(uint64_t)X86_ARITH_FLAGS) | (flags & X86_ARITH_FLAGS);
}

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* The guest's state after the run: registers and tags from the image; the status word the host's
 * TOP, exception flags and written condition codes, with the guest's sticky flags and unwritten
 * condition codes kept. */
static void from_image(struct x86_fpu *f, const uint8_t *img, uint16_t cc)
{
	uint16_t host = get16(img + 2);
	unsigned top;
	f->fsw = (uint16_t)((host & (X87_FSW_TOP | cc | X87_FSW_EXC | X87_FSW_SF)) |
			    (f->fsw & ((CC_ALL & ~cc) | X87_FSW_EXC | X87_FSW_SF)));
	f->ftw = img[4];
	top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		union x86_st *s = &f->st[(top + i) & 7];
		memset(s->raw, 0, sizeof(s->raw));
		memcpy(s->raw, img + 32 + 16 * i, 10);
	}
	x87_sync_es(f);
}

bool x87_host_exec(struct x86_fpu *f, uint64_t *rflags, uint8_t opcode, uint8_t modrm, uint8_t *mem,
		   unsigned store_len)
{
	uint8_t img[512] IMG_ALIGN, probe[16];
	const uint8_t *stub = x87_host_stubs + ((opcode & 7u) * 256u + modrm) * 4u;
	struct x87_run r;
	uint64_t fl = *rflags, fl2 = *rflags;
	bool wrote = store_len != 0;

	bool exact = x87_exact(opcode, modrm);

	run_prepare(f, &r, exact);
	if (store_len)
		memset(mem, 0, store_len);
	run_stub(stub, &r, img, mem, &fl);
	if (store_len && (get16(img + 2) & X87_FSW_ES)) {
		/* A new unmasked exception may have suppressed the store: run again over another fill. */
		uint8_t again[512] IMG_ALIGN;
		bool zero = true;
		for (unsigned i = 0; i < store_len; i++)
			zero &= mem[i] == 0;
		memset(probe, 0xff, sizeof(probe));
		run_stub(stub, &r, again, probe, &fl2);
		if (zero) {
			wrote = false;
			for (unsigned i = 0; i < store_len; i++)
				wrote |= probe[i] != 0xff;
		}
	}
	from_image(f, img, exact ? CC_ALL : x87_cc_written(opcode, modrm, get16(img + 2)));
	*rflags = fl;
	return wrote;
}
