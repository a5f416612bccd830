/* SPDX-License-Identifier: MIT */
/*
 * x86_hostcmp_test — the host CPU as the oracle. Every unprivileged general-purpose instruction
 * form the interpreter implements (found by sweeping opcodes × prefixes × ModRM through Zydis and
 * keeping the forms whose mnemonic is in emu/x86/insns.def) runs natively in a sandbox page and in
 * the interpreter, with random registers, flags and memory; registers, the six arithmetic flags,
 * DF, the memory buffer and whether it faulted must agree. X86_HOSTCMP_CASES sets cases per form
 * (default 1000; make test-long uses more). A second test runs random sequences of register
 * instructions (5x that many), which exercises the blocks' flag liveness.
 *
 * Where Intel leaves a result or flag undefined (16-bit shld/shrd with a count of 16 or more, for
 * one), the interpreter matches this AMD host, and nothing is masked.
 */
#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/unit/x86_test_util.h"
#include "emu/x86/x86-local.h"

#define BUF_ADDR 0x300000ull	/* same address natively and in the guest */
#define BUF_SIZE 0x400u
#define BUF_BASE (BUF_ADDR + 0x200)	/* rbx */
#define CODE_ADDR 0x280000ull
#define MAX_FORMS 4096
#define MAX_VARIANTS 8

struct state {
	uint64_t r[16];
	uint64_t flags;
};

struct form {
	char name[64];
	uint8_t bytes[MAX_VARIANTS][16];
	uint8_t len[MAX_VARIANTS];
	unsigned nvar;
	uint16_t mnem;
	bool mem, string;
	int bt_reg;	/* register holding a bit offset into memory, or -1 */
	unsigned long cases, fails;
};

static struct form forms[MAX_FORMS];
static unsigned nforms;

/*
 * Adds encoding b to the form called name in tab (as one more variant when the form exists): the
 * new form, or NULL when b became a variant or the table is full (then *full says which).
 */
static struct form *form_table_add(struct form *tab, unsigned *n, unsigned max, const uint8_t *b, unsigned len,
				   const char *name, ZydisMnemonic m, bool mem, bool *full)
{
	struct form *fm;

	*full = false;
	for (unsigned f = 0; f < *n; f++) {
		if (strcmp(tab[f].name, name))
			continue;
		if (tab[f].nvar < MAX_VARIANTS) {
			memcpy(tab[f].bytes[tab[f].nvar], b, len);
			tab[f].len[tab[f].nvar++] = (uint8_t)len;
		}
		return NULL;
	}
	if (*n == max) {
		*full = true;
		return NULL;
	}
	fm = &tab[(*n)++];
	memset(fm, 0, sizeof(*fm));
	snprintf(fm->name, sizeof(fm->name), "%s", name);
	memcpy(fm->bytes[0], b, len);
	fm->len[0] = (uint8_t)len;
	fm->nvar = 1;
	fm->mnem = (uint16_t)m;
	fm->mem = mem;
	fm->bt_reg = -1;
	return fm;
}
static uint8_t *code_page;
static uint8_t *native_buf;
static sigjmp_buf fault_jmp;
static volatile int fault_sig;

/* ---- the native side ---- */

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

struct emit {
	uint8_t *p;
	unsigned n;
};

static void e8(struct emit *e, uint8_t b) { e->p[e->n++] = b; }
static void e32(struct emit *e, uint32_t v) { memcpy(e->p + e->n, &v, 4); e->n += 4; }

/* mov r64, [base+disp32] (load) or mov [base+disp32], r64 (store); base is rax or rdi. */
static void emit_mov(struct emit *e, bool store, unsigned reg, unsigned base, uint32_t disp)
{
	e8(e, (uint8_t)(0x48 | (reg >= 8 ? 4 : 0)));
	e8(e, store ? 0x89 : 0x8b);
	e8(e, (uint8_t)(0x80 | ((reg & 7) << 3) | base));
	e32(e, disp);
}

static void emit_riprel(struct emit *e, uint8_t op, unsigned reg, unsigned slot)
{
	e8(e, 0x48);
	e8(e, op);
	e8(e, (uint8_t)(((reg & 7) << 3) | 5));
	e32(e, (uint32_t)(slot - (e->n + 4)));
}

#define SLOT_PTR 0xf00u
#define SLOT_TMP 0xf08u

/* Extra state the stub loads from [rdi] after popfq and stores to [rax] after the instruction (SSE part). */
static void (*stub_load_more)(struct emit *e);
static void (*stub_store_more)(struct emit *e);

static unsigned build_stub(const uint8_t *insn, unsigned len)
{
	static const uint8_t prologue[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
	static const uint8_t epilogue[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
	struct emit e = { code_page, 0 };
	memcpy(e.p, prologue, sizeof(prologue));
	e.n = sizeof(prologue);
	emit_riprel(&e, 0x89, 7, SLOT_PTR);			/* mov [ptr], rdi */
	e8(&e, 0xff); e8(&e, 0xb7); e32(&e, offsetof(struct state, flags));	/* push [rdi+flags] */
	e8(&e, 0x9d);						/* popfq */
	if (stub_load_more)
		stub_load_more(&e);
	for (unsigned r = 0; r < 16; r++)
		if (r != 4 && r != 7)
			emit_mov(&e, false, r, 7, r * 8);
	emit_mov(&e, false, 7, 7, 7 * 8);
	memcpy(e.p + e.n, insn, len);
	e.n += len;
	emit_riprel(&e, 0x89, 0, SLOT_TMP);			/* mov [tmp], rax */
	emit_riprel(&e, 0x8b, 0, SLOT_PTR);			/* mov rax, [ptr] */
	if (stub_store_more)
		stub_store_more(&e);
	for (unsigned r = 1; r < 16; r++)
		if (r != 4)
			emit_mov(&e, true, r, 0, r * 8);
	e8(&e, 0x9c); e8(&e, 0x59);				/* pushfq; pop rcx */
	emit_mov(&e, true, 1, 0, offsetof(struct state, flags));
	emit_riprel(&e, 0x8b, 1, SLOT_TMP);
	emit_mov(&e, true, 1, 0, 0);
	e8(&e, 0xfc);						/* cld */
	memcpy(e.p + e.n, epilogue, sizeof(epilogue));
	return e.n + sizeof(epilogue);
}

static bool run_native(const uint8_t *insn, unsigned len, struct state *s)
{
	void (*fn)(struct state *);
	build_stub(insn, len);
	__builtin___clear_cache((char *)code_page, (char *)code_page + 4096);
	fn = (void (*)(struct state *))(uintptr_t)code_page;
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 0))
		return false;
	fn(s);
	return true;
}

/* ---- the interpreter side ---- */

static bool run_interp(struct xt *t, const uint8_t *insn, unsigned len, struct state *s)
{
	struct x86_cpu *c = t->cpu;
	enum x86_run_result r;
	memcpy(t->ram + CODE_ADDR, insn, len);
	t->ram[CODE_ADDR + len] = 0xf4;
	x86_invalidate_code(c, CODE_ADDR, 32);
	memcpy(c->r, s->r, sizeof(s->r));
	c->r[4] = BUF_ADDR + 0x3f0;	/* a stack nobody uses */
	c->rip = CODE_ADDR;
	x86_set_rflags(c, s->flags);
	c->halted = c->shutdown = false;
	c->exc_vec = -1;
	r = x86_cpu_run(c, 64);
	memcpy(s->r, c->r, sizeof(s->r));
	s->flags = x86_get_rflags(c);
	if (r == X86_RUN_SHUTDOWN) {
		c->shutdown = false;
		return false;
	}
	return r == X86_RUN_HLT && c->rip == CODE_ADDR + len + 1;
}

/* ---- form discovery ---- */

static bool excluded(ZydisMnemonic m)
{
	static const ZydisMnemonic ex[] = {
		ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_POP, ZYDIS_MNEMONIC_PUSHF, ZYDIS_MNEMONIC_PUSHFQ,
		ZYDIS_MNEMONIC_POPF, ZYDIS_MNEMONIC_POPFQ, ZYDIS_MNEMONIC_ENTER, ZYDIS_MNEMONIC_LEAVE,
		ZYDIS_MNEMONIC_CPUID, ZYDIS_MNEMONIC_RDTSC, ZYDIS_MNEMONIC_RDTSCP, ZYDIS_MNEMONIC_RDPID,
		ZYDIS_MNEMONIC_LAR, ZYDIS_MNEMONIC_LSL, ZYDIS_MNEMONIC_VERR, ZYDIS_MNEMONIC_VERW,
		ZYDIS_MNEMONIC_SLDT, ZYDIS_MNEMONIC_STR, ZYDIS_MNEMONIC_SGDT, ZYDIS_MNEMONIC_SIDT,
		ZYDIS_MNEMONIC_SMSW, ZYDIS_MNEMONIC_CLI, ZYDIS_MNEMONIC_STI, ZYDIS_MNEMONIC_IN,
		ZYDIS_MNEMONIC_OUT, ZYDIS_MNEMONIC_INSB, ZYDIS_MNEMONIC_INSW, ZYDIS_MNEMONIC_INSD,
		ZYDIS_MNEMONIC_OUTSB, ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD, ZYDIS_MNEMONIC_SYSCALL,
		ZYDIS_MNEMONIC_INT, ZYDIS_MNEMONIC_INT3, ZYDIS_MNEMONIC_INT1, ZYDIS_MNEMONIC_UD0,
		ZYDIS_MNEMONIC_UD1, ZYDIS_MNEMONIC_UD2, ZYDIS_MNEMONIC_RDFSBASE, ZYDIS_MNEMONIC_RDGSBASE,
		ZYDIS_MNEMONIC_WRFSBASE, ZYDIS_MNEMONIC_WRGSBASE, ZYDIS_MNEMONIC_CLFLUSH,
		ZYDIS_MNEMONIC_CLFLUSHOPT, ZYDIS_MNEMONIC_LFS, ZYDIS_MNEMONIC_LGS, ZYDIS_MNEMONIC_LSS,
		ZYDIS_MNEMONIC_PAUSE, ZYDIS_MNEMONIC_CLAC, ZYDIS_MNEMONIC_STAC, ZYDIS_MNEMONIC_SWAPGS,
		ZYDIS_MNEMONIC_SYSENTER, ZYDIS_MNEMONIC_SYSEXIT, ZYDIS_MNEMONIC_SYSRET, ZYDIS_MNEMONIC_IRETQ,
		ZYDIS_MNEMONIC_IRET, ZYDIS_MNEMONIC_IRETD, ZYDIS_MNEMONIC_HLT, ZYDIS_MNEMONIC_RET,
		ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_JMP, ZYDIS_MNEMONIC_XGETBV,
		/* SSE forms without XMM operands: compared with the vector state by test_hostcmp_sse */
		ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_MNEMONIC_STMXCSR, ZYDIS_MNEMONIC_CVTSS2SI, ZYDIS_MNEMONIC_CVTSD2SI,
		ZYDIS_MNEMONIC_CVTTSS2SI, ZYDIS_MNEMONIC_CVTTSD2SI,
	};
	for (unsigned i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (ex[i] == m)
			return true;
	return false;
}

static bool is_string(ZydisMnemonic m)
{
	const char *s = ZydisMnemonicGetString(m);
	return !strncmp(s, "movs", 4) || !strncmp(s, "stos", 4) || !strncmp(s, "lods", 4) ||
	       !strncmp(s, "scas", 4) || !strncmp(s, "cmps", 4);
}

static bool is_branch(ZydisMnemonic m)
{
	const char *s = ZydisMnemonicGetString(m);
	return s[0] == 'j' || !strncmp(s, "loop", 4);
}

/* x87, emms and fxsave/fxrstor: compared with the x87 state by test_hostcmp_x87. */
static bool is_x87(ZydisMnemonic m)
{
	return ZydisMnemonicGetString(m)[0] == 'f' || m == ZYDIS_MNEMONIC_EMMS;
}

/* Registers a concrete encoding under its form name; false when unusable. */
static bool consider(const ZydisDecoder *d, const uint8_t *b, unsigned len, unsigned npfx, bool modrm)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	char name[64];
	int n, bt_reg = -1;
	bool mem = false;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(d, b, len, &zi, zo)) || zi.length != len)
		return false;
	if (zi.raw.prefix_count != npfx || !!(zi.attributes & ZYDIS_ATTRIB_HAS_MODRM) != modrm)
		return false;
	if (zi.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT && zi.opcode_map != ZYDIS_OPCODE_MAP_0F)
		return false;
	if (modrm && zi.raw.modrm.mod != 3 && (zi.raw.modrm.rm != 3 || zi.raw.modrm.mod == 2))
		return false;	/* memory operands are [rbx] or [rbx+disp8] only */
	if (!x86_insn_infos[zi.mnemonic].fn || (x86_insn_infos[zi.mnemonic].flags & (X86_IF_PRIV | X86_IF_IO)) ||
	    excluded(zi.mnemonic) || is_x87(zi.mnemonic) || is_branch(zi.mnemonic))
		return false;
	n = snprintf(name, sizeof(name), "%s %s%02x", ZydisMnemonicGetString(zi.mnemonic),
		     zi.opcode_map == ZYDIS_OPCODE_MAP_0F ? "0f" : "", zi.opcode);
	if ((zi.attributes & ZYDIS_ATTRIB_HAS_MODRM) && zi.raw.modrm.mod == 3 && zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
	    (zi.opcode == 0x80 || zi.opcode == 0x81 || zi.opcode == 0x83 || zi.opcode == 0xc0 || zi.opcode == 0xc1 ||
	     zi.opcode == 0xd0 || zi.opcode == 0xd1 || zi.opcode == 0xd2 || zi.opcode == 0xd3 || zi.opcode == 0xf6 ||
	     zi.opcode == 0xf7 || zi.opcode == 0xfe || zi.opcode == 0xff))
		n += snprintf(name + n, sizeof(name) - (size_t)n, "/%u", zi.raw.modrm.reg);
	if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
		n += snprintf(name + n, sizeof(name) - (size_t)n, " lock");
	if (zi.attributes & ZYDIS_ATTRIB_HAS_REP)
		n += snprintf(name + n, sizeof(name) - (size_t)n, " rep");
	if (zi.attributes & (ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE))
		n += snprintf(name + n, sizeof(name) - (size_t)n, " rep%s", (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) ? "ne" : "e");
	for (unsigned i = 0; i < zi.operand_count; i++) {
		const ZydisDecodedOperand *o = &zo[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			ZydisRegister r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value);
			if (ZydisRegisterGetClass(o->reg.value) >= ZYDIS_REGCLASS_X87 &&
			    o->reg.value != ZYDIS_REGISTER_RFLAGS && o->reg.value != ZYDIS_REGISTER_EFLAGS &&
			    o->reg.value != ZYDIS_REGISTER_FLAGS && o->reg.value != ZYDIS_REGISTER_RIP)
				return false;
			if ((r == ZYDIS_REGISTER_RSP) || (r == ZYDIS_REGISTER_RBX && o->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT))
				return false;
			if (r == ZYDIS_REGISTER_RBX && (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
				return false;
		}
		if (o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			continue;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM && o->mem.type != ZYDIS_MEMOP_TYPE_AGEN)
				return false;
			mem = o->mem.type == ZYDIS_MEMOP_TYPE_MEM;
		}
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && i == 1 && mem && !strncmp(ZydisMnemonicGetString(zi.mnemonic), "bt", 2))
			bt_reg = ZydisRegisterGetId(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value));
		n += snprintf(name + n, sizeof(name) - (size_t)n, "%s%c%u", i ? "," : " ",
			      o->type == ZYDIS_OPERAND_TYPE_REGISTER ? 'r' : o->type == ZYDIS_OPERAND_TYPE_MEMORY ? 'm' : 'i',
			      o->size);
		if (n >= (int)sizeof(name))
			return false;
	}
	bool full;
	struct form *fm = form_table_add(forms, &nforms, MAX_FORMS, b, len, name, zi.mnemonic, mem, &full);
	if (!fm)
		return !full;
	fm->string = is_string(zi.mnemonic);
	fm->bt_reg = bt_reg;
	return true;
}

/* Prefix sets: a count, then the bytes. The lock prefix alone and with an operand size sweeps every
 * locked form (the interpreter's compare-and-swap path, lock.c). */
static const uint8_t prefixes[][3] = { { 0 }, { 1, 0x66 }, { 1, 0x48 }, { 1, 0x4c }, { 1, 0xf3 }, { 1, 0xf2 }, { 1, 0x49 },
				       { 1, 0xf0 }, { 2, 0xf0, 0x48 }, { 2, 0xf0, 0x66 } };

static void sweep_modrm(const ZydisDecoder *d, uint8_t *b, unsigned n, unsigned npfx)
{
	static const uint8_t modrms[] = { 0xc0, 0xc1, 0xc8, 0xd1, 0xd2, 0xda, 0xe9, 0xf1, 0xfe, 0x03, 0x0b, 0x13, 0x33,
					  0x3b, 0x43, 0x7b };
	for (unsigned reg = 0; reg < 8; reg++) {
		for (unsigned k = 0; k < sizeof(modrms); k++) {
			unsigned m = (modrms[k] & 0xc7) | (reg << 3), len = n + 1;
			b[n] = (uint8_t)m;
			if ((m >> 6) == 1)
				b[len++] = (uint8_t)(rand() & 0x7f);
			for (unsigned imm = 0; imm <= 4; imm++) {
				if (imm)
					b[len + imm - 1] = (uint8_t)rand();
				if (imm == 0 || imm == 1 || imm == 2 || imm == 4)
					consider(d, b, len + imm, npfx, true);
			}
		}
	}
}

static void discover(void)
{
	ZydisDecoder d;
	uint8_t b[16];
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	srand(1);
	for (unsigned p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		for (unsigned map = 0; map < 2; map++) {
			for (unsigned op = 0; op < 256; op++) {
				unsigned n = prefixes[p][0];
				memcpy(b, &prefixes[p][1], n);
				if (map)
					b[n++] = 0x0f;
				b[n++] = (uint8_t)op;
				for (unsigned imm = 0; imm <= 8; imm++) {
					for (unsigned k = 0; k < imm; k++)
						b[n + k] = (uint8_t)rand();
					consider(&d, b, n + imm, prefixes[p][0], false);
				}
				sweep_modrm(&d, b, n, prefixes[p][0]);
			}
		}
	}
}

/* ---- random inputs ---- */

static uint64_t rng_state = 88172645463325252ull;

static uint64_t xrand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd64(void)
{
	static const uint64_t special[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
					    0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 63, 64, 31, 32, 8, 16 };
	uint64_t v = xrand();
	switch ((v >> 3) % 8) {
	case 0: return special[(v >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1: return v & 0xff;
	case 2: return v & 0xffff;
	case 3: return v & 0xffffffff;
	case 4: return (uint64_t)-(int64_t)(v & 0xff);
	default: return v;
	}
}

static void make_inputs(const struct form *f, struct state *s)
{
	for (unsigned r = 0; r < 16; r++)
		s->r[r] = rnd64();
	s->r[3] = BUF_BASE;
	s->r[4] = 0;
	s->flags = (uint64_t)(rand() & (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)) | 2;
	if (f->bt_reg >= 0)	/* bit offsets into memory: keep every candidate register small */
		for (unsigned r = 0; r < 16; r++)
			if (r != 3 && r != 4)
				s->r[r] = (uint64_t)(int64_t)(rand() % 2048 - 1024);
	if (f->string) {
		s->r[X86_RSI] = BUF_BASE - 0x40 + (uint64_t)(rand() % 0x40);
		s->r[X86_RDI] = BUF_BASE + 0x40 + (uint64_t)(rand() % 0x40);
		s->r[X86_RCX] = (uint64_t)(rand() % 9);
		if (rand() & 1)
			s->flags |= X86_DF;
	}
}

/* ---- comparing ---- */

static bool compare(const struct form *f, const struct state *in, const struct state *nat, const struct state *emu,
		    bool nat_ok, bool emu_ok, const uint8_t *emu_buf, const uint8_t *bytes, unsigned len)
{
	uint64_t fm = X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF | X86_DF;
	bool same = nat_ok == emu_ok;
	if (same && nat_ok) {
		for (unsigned r = 0; r < 16; r++)
			if (r != 4 && nat->r[r] != emu->r[r])
				same = false;
		if ((nat->flags & fm) != (emu->flags & fm))
			same = false;
		if (memcmp(native_buf, emu_buf, BUF_SIZE))
			same = false;
	}
	if (!same && f->fails < 3) {
		printf("# MISMATCH %s (variant bytes:", f->name);
		printf(") native %s, interp %s\n", nat_ok ? "ok" : "fault", emu_ok ? "ok" : "fault");
		for (unsigned r = 0; r < 16; r++)
			if (r != 4 && (!nat_ok || !emu_ok || nat->r[r] != emu->r[r]))
				printf("#   r%u in %#" PRIx64 " native %#" PRIx64 " interp %#" PRIx64 "\n", r, in->r[r],
				       nat->r[r], emu->r[r]);
		printf("#   flags in %#" PRIx64 " native %#" PRIx64 " interp %#" PRIx64 "\n", in->flags & fm,
		       nat->flags & fm, emu->flags & fm);
		if (nat_ok && emu_ok && memcmp(native_buf, emu_buf, BUF_SIZE))
			printf("#   memory differs\n");
	}
	return same;
}

static void run_form(struct xt *t, struct form *f, unsigned long cases)
{
	uint8_t init[BUF_SIZE];
	for (unsigned long i = 0; i < cases; i++) {
		unsigned v = (unsigned)rand() % f->nvar;
		struct state in, nat, emu;
		bool nok, eok;
		for (unsigned k = 0; k < BUF_SIZE; k += 8) {
			uint64_t r = xrand();
			memcpy(init + k, &r, 8);
		}
		make_inputs(f, &in);
		nat = emu = in;
		memcpy(native_buf, init, BUF_SIZE);
		memcpy(t->ram + BUF_ADDR, init, BUF_SIZE);
		x86_invalidate_code(t->cpu, BUF_ADDR, BUF_SIZE);
		nok = run_native(f->bytes[v], f->len[v], &nat);
		eok = run_interp(t, f->bytes[v], f->len[v], &emu);
		f->cases++;
		if (!compare(f, &in, &nat, &emu, nok, eok, t->ram + BUF_ADDR, f->bytes[v], f->len[v])) {
			if (f->fails < 3) {
				printf("#   bytes");
				for (unsigned k = 0; k < f->len[v]; k++)
					printf(" %02x", f->bytes[v][k]);
				printf("\n");
			}
			f->fails++;
		}
	}
}

/* cmocka installs its own handlers around each test: every test that runs native code installs these. */
static void install_fault_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
}

static int setup_sandbox(void)
{
	if (code_page)
		return 0;
	code_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	native_buf = mmap((void *)BUF_ADDR, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			  -1, 0);
	if (code_page == MAP_FAILED || native_buf != (void *)BUF_ADDR)
		return -1;
	install_fault_handlers();
	return 0;
}

/*
 * The start every comparison test shares: a skip with the reason off x86-64 or without the native
 * sandbox, the fault handlers installed again (cmocka puts its own back before each test), and a
 * long-mode CPU. Returns the cases per form (X86_HOSTCMP_CASES, default 1000).
 */
static unsigned long hostcmp_begin(struct xt *t)
{
	const char *env = getenv("X86_HOSTCMP_CASES");
#if !defined(__x86_64__)
	TEST_REQUIRE(0, "the host is not x86-64");
#endif
	TEST_REQUIRE(setup_sandbox() == 0, "cannot map the native sandbox at %#llx", (unsigned long long)BUF_ADDR);
	install_fault_handlers();
	assert_int_equal(xt_init(t, 4 << 20), 0);
	xt_long_mode(t);
	return env ? strtoul(env, NULL, 0) : 1000;
}

static void test_hostcmp(void **state)
{
	struct xt t;
	unsigned long cases = hostcmp_begin(&t), total = 0, bad_forms = 0;
	(void)state;
	t.cpu->log = NULL;
	discover();
	srand(12345);
	for (unsigned f = 0; f < nforms; f++) {
		run_form(&t, &forms[f], cases);
		total += forms[f].cases;
		printf("# %-40s %lu cases%s\n", forms[f].name, forms[f].cases, forms[f].fails ? " FAIL" : "");
		if (forms[f].fails) {
			printf("#   %lu of %lu cases differ\n", forms[f].fails, forms[f].cases);
			bad_forms++;
		}
	}
	printf("# hostcmp: %u instruction forms compared against the host CPU, %lu cases, %lu forms differ\n", nforms,
	       total, bad_forms);
	xt_fini(&t);
	assert_true(nforms > 300);
	assert_int_equal(bad_forms, 0);
}

/* ---- SSE/SSE2 and MMX forms (emu/x86/exec-sse.c): XMM, MMX and MXCSR state compared as well ---- */

#define MAX_VFORMS 1024

struct vcase {
	struct state g;	/* first: the stub reaches the vector state through the same pointer */
	union x86_xmm xmm[16];
	uint64_t mm[8];
	uint32_t mxcsr;
};

struct vform_info {
	bool mmx;	/* an MMX operand: mm0-7 loaded and stored too */
	bool imm8;	/* last byte is an imm8, randomized per case */
	bool maskmov;	/* implicit [rdi] store */
	bool ldmxcsr;	/* the buffer holds MXCSR candidates */
};

static struct form vforms[MAX_VFORMS];
static struct vform_info vinfo[MAX_VFORMS];
static unsigned nvforms;
static bool vstub_mmx;

/* movdqu/movq between register n and [base+disp32] (op 0x6f load, 0x7f store) */
static void emit_vreg(struct emit *e, uint8_t op, unsigned n, unsigned base, size_t disp, bool xmm)
{
	if (xmm)
		e8(e, 0xf3);
	if (n >= 8)
		e8(e, 0x44);
	e8(e, 0x0f);
	e8(e, op);
	e8(e, (uint8_t)(0x80 | ((n & 7) << 3) | base));
	e32(e, (uint32_t)disp);
}

static void vstub_load(struct emit *e)
{
	for (unsigned n = 0; n < 16; n++)
		emit_vreg(e, 0x6f, n, 7, offsetof(struct vcase, xmm) + n * 16, true);
	for (unsigned n = 0; vstub_mmx && n < 8; n++)
		emit_vreg(e, 0x6f, n, 7, offsetof(struct vcase, mm) + n * 8, false);
	e8(e, 0x0f); e8(e, 0xae); e8(e, 0x97); e32(e, offsetof(struct vcase, mxcsr));	/* ldmxcsr [rdi+] */
}

static void vstub_store(struct emit *e)
{
	e8(e, 0x0f); e8(e, 0xae); e8(e, 0x98); e32(e, offsetof(struct vcase, mxcsr));	/* stmxcsr [rax+] */
	for (unsigned n = 0; n < 16; n++)
		emit_vreg(e, 0x7f, n, 0, offsetof(struct vcase, xmm) + n * 16, true);
	for (unsigned n = 0; vstub_mmx && n < 8; n++)
		emit_vreg(e, 0x7f, n, 0, offsetof(struct vcase, mm) + n * 8, false);
	if (vstub_mmx) {
		e8(e, 0x0f); e8(e, 0x77);	/* emms */
	}
}

static bool vec_gpr_only_ok(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_LDMXCSR || m == ZYDIS_MNEMONIC_STMXCSR || m == ZYDIS_MNEMONIC_CVTSS2SI ||
	       m == ZYDIS_MNEMONIC_CVTSD2SI || m == ZYDIS_MNEMONIC_CVTTSS2SI || m == ZYDIS_MNEMONIC_CVTTSD2SI;
}

/* Operand classes of a vector form, for its name; false when the form cannot run in the sandbox. */
static bool vclassify(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo, char *name, size_t cap,
		      struct vform_info *vi, bool *vec, bool *mem)
{
	size_t n = strlen(name);
	for (unsigned i = 0; i < zi->operand_count; i++) {
		const ZydisDecodedOperand *o = &zo[i];
		char c = 'i';
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			ZydisRegisterClass k = ZydisRegisterGetClass(o->reg.value);
			ZydisRegister r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, o->reg.value);
			if (k == ZYDIS_REGCLASS_X87 || k == ZYDIS_REGCLASS_YMM || k == ZYDIS_REGCLASS_ZMM ||
			    k == ZYDIS_REGCLASS_MASK)
				return false;
			if (r == ZYDIS_REGISTER_RSP || (r == ZYDIS_REGISTER_RBX && o->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT))
				return false;
			*vec |= k == ZYDIS_REGCLASS_XMM || k == ZYDIS_REGCLASS_MMX;
			vi->mmx |= k == ZYDIS_REGCLASS_MMX;
			c = k == ZYDIS_REGCLASS_XMM ? 'x' : k == ZYDIS_REGCLASS_MMX ? 'q' : 'r';
		} else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (o->mem.type != ZYDIS_MEMOP_TYPE_MEM)
				return false;
			if (o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
				vi->maskmov = true;
				continue;
			}
			*mem = true;
			c = 'm';
		} else if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			vi->imm8 = true;
		}
		if (o->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT)
			continue;
		n += (size_t)snprintf(name + n, cap - n, "%s%c%u", i ? "," : " ", c, o->size);
		if (n >= cap)
			return false;
	}
	return true;
}

static void vadd_form(const uint8_t *b, unsigned len, const char *name, ZydisMnemonic m, bool mem,
		      const struct vform_info *vi)
{
	bool full;
	if (form_table_add(vforms, &nvforms, MAX_VFORMS, b, len, name, m, mem, &full))
		vinfo[nvforms - 1] = *vi;
}

static void vconsider(const ZydisDecoder *d, const uint8_t *b, unsigned len, const char *pfx)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	struct vform_info vi = { 0 };
	char name[64];
	bool vec = false, mem = false;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(d, b, len, &zi, zo)) || zi.length != len ||
	    zi.opcode_map != ZYDIS_OPCODE_MAP_0F || !x86_insn_infos[zi.mnemonic].fn)
		return;
	if (zi.raw.modrm.mod != 3 && (zi.raw.modrm.rm != 3 || (zi.attributes & ZYDIS_ATTRIB_HAS_REX && zi.raw.rex.B)))
		return;	/* memory operands are [rbx] or [rbx+disp8] only */
	snprintf(name, sizeof(name), "%s %s0f%02x", ZydisMnemonicGetString(zi.mnemonic), pfx, zi.opcode);
	if (zi.opcode == 0x71 || zi.opcode == 0x72 || zi.opcode == 0x73 || zi.opcode == 0xae)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "/%u", zi.raw.modrm.reg);
	if (!vclassify(&zi, zo, name, sizeof(name), &vi, &vec, &mem) || (!vec && !vec_gpr_only_ok(zi.mnemonic)))
		return;
	vi.ldmxcsr = zi.mnemonic == ZYDIS_MNEMONIC_LDMXCSR;
	vadd_form(b, len, name, zi.mnemonic, mem, &vi);
}

static void vdiscover(void)
{
	static const char *const pfx_name[] = { "", "66 ", "f3 ", "f2 " };
	static const uint8_t pfx[] = { 0, 0x66, 0xf3, 0xf2 };
	static const uint8_t rex[] = { 0, 0x48, 0x44, 0x41 };
	static const uint8_t rms[] = { 0xc0, 0xc1, 0xc9, 0xd2, 0xe5, 0xf7, 0x03, 0x43 };
	ZydisDecoder d;
	uint8_t b[16];
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (unsigned p = 0; p < 4; p++)
		for (unsigned x = 0; x < 4; x++)
			for (unsigned op = 0; op < 256; op++)
				for (unsigned reg = 0; reg < 8; reg++)
					for (unsigned k = 0; k < sizeof(rms); k++) {
						unsigned n = 0;
						if (pfx[p])
							b[n++] = pfx[p];
						if (rex[x])
							b[n++] = rex[x];
						b[n++] = 0x0f;
						b[n++] = (uint8_t)op;
						b[n++] = (uint8_t)((rms[k] & 0xc7) | (reg << 3));
						if ((rms[k] >> 6) == 1)
							b[n++] = (uint8_t)(xrand() & 0x70);
						vconsider(&d, b, n, pfx_name[p]);
						b[n] = (uint8_t)xrand();
						vconsider(&d, b, n + 1, pfx_name[p]);
					}
}

static uint32_t rnd_f32(void)
{
	static const uint32_t special[] = { 0, 0x80000000, 1, 0x807fffff, 0x00800000, 0x7f800000, 0xff800000, 0x7fc00000,
					    0xffc00001, 0x7f800001, 0x3f800000, 0xbf800000, 0x4f000000, 0xcf000000,
					    0x4effffff, 0x5f000000, 0xdf000000, 0x7f7fffff, 0x3f000000, 0x3fc00000,
					    0x40200000, 0xbfc00000 };
	uint64_t v = xrand();
	switch (v % 4) {
	case 0: return special[(v >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1: return (uint32_t)(((v >> 8) & 0x807fffff) | ((100 + (v >> 40) % 60) << 23));	/* moderate */
	case 2: return (uint32_t)(((v >> 8) & 0x803fffff) | ((120 + (v >> 40) % 40) << 23));
	default: return (uint32_t)(v >> 16);
	}
}

static uint64_t rnd_f64(void)
{
	static const uint64_t special[] = { 0, 1ull << 63, 1, 0x800fffffffffffffull, 0x0010000000000000ull,
					    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
					    0xfff8000000000001ull, 0x7ff0000000000001ull, 0x3ff0000000000000ull,
					    0xbff0000000000000ull, 0x41e0000000000000ull, 0xc1e0000000000000ull,
					    0x41dfffffffffffffull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
					    0x7fefffffffffffffull, 0x3fe0000000000000ull, 0x3ff8000000000000ull,
					    0x4004000000000000ull, 0x47efffffe0000000ull, 0x36a0000000000000ull,
					    0xc1e0000000100000ull };
	uint64_t v = xrand();
	switch (v % 4) {
	case 0: return special[(v >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1: return ((v >> 4) & 0x800fffffffffffffull) | ((900 + (xrand() % 250)) << 52);
	case 2: return ((v >> 4) & 0x8007ffffffffffffull) | ((1000 + (xrand() % 90)) << 52);
	default: return v;
	}
}

static void rnd_vec(union x86_xmm *x)
{
	switch (xrand() % 3) {
	case 0:
		for (unsigned i = 0; i < 4; i++)
			x->d[i] = rnd_f32();
		break;
	case 1:
		x->q[0] = rnd_f64();
		x->q[1] = rnd_f64();
		break;
	default:
		x->q[0] = rnd64();
		x->q[1] = rnd64();
		break;
	}
}

static uint32_t rnd_mxcsr(void)
{
	uint64_t v = xrand();
	uint32_t m = (uint32_t)((v & 3) << 13);
	if ((v >> 2) % 4 == 0)
		m |= 1u << 6;	/* DAZ */
	if ((v >> 4) % 4 == 0)
		m |= 1u << 15;	/* FTZ */
	m |= (v >> 6) % 8 ? 0x1f80u : (uint32_t)((v >> 10) & 0x3f) << 7;
	if ((v >> 16) & 1)
		m |= (uint32_t)(v >> 20) & 0x3f;
	return m;
}

static void vmake_inputs(const struct form *f, const struct vform_info *vi, struct vcase *c, uint8_t *buf)
{
	make_inputs(f, &c->g);
	for (unsigned i = 0; i < 16; i++)
		rnd_vec(&c->xmm[i]);
	for (unsigned i = 0; i < 8; i++)
		c->mm[i] = (xrand() & 1) ? rnd64() : rnd_f64();
	c->mxcsr = rnd_mxcsr();
	for (unsigned k = 0; k < BUF_SIZE; k += 16)
		rnd_vec((union x86_xmm *)(void *)(buf + k));
	if (vi->ldmxcsr)
		for (unsigned k = 0; k < BUF_SIZE; k += 4) {
			uint32_t m = (xrand() % 8) ? rnd_mxcsr() : (uint32_t)xrand();
			memcpy(buf + k, &m, 4);
		}
	if (vi->maskmov)
		c->g.r[X86_RDI] = BUF_BASE - 0x40 + xrand() % 0x80;
}

static bool vrun_native(const uint8_t *insn, unsigned len, struct vcase *c, bool mmx)
{
	uint32_t host_mxcsr;
	bool ok;
	__asm__ volatile("stmxcsr %0" : "=m"(host_mxcsr));
	stub_load_more = vstub_load;
	stub_store_more = vstub_store;
	vstub_mmx = mmx;
	ok = run_native(insn, len, &c->g);
	stub_load_more = stub_store_more = NULL;
	__asm__ volatile("ldmxcsr %0" : : "m"(host_mxcsr));
	if (mmx)
		__asm__ volatile("emms");
	return ok;
}

static bool vrun_interp(struct xt *t, const uint8_t *insn, unsigned len, struct vcase *c)
{
	struct x86_cpu *cpu = t->cpu;
	bool ok;
	memcpy(cpu->fpu.xmm, c->xmm, sizeof(c->xmm));
	for (unsigned i = 0; i < 8; i++) {
		cpu->fpu.st[i].mmx = c->mm[i];
		cpu->fpu.st[i].raw[8] = cpu->fpu.st[i].raw[9] = 0xff;
	}
	cpu->fpu.mxcsr = c->mxcsr;
	cpu->fpu.fsw = 0;
	ok = run_interp(t, insn, len, &c->g);
	memcpy(c->xmm, cpu->fpu.xmm, sizeof(c->xmm));
	for (unsigned i = 0; i < 8; i++)
		c->mm[i] = cpu->fpu.st[i].mmx;
	c->mxcsr = cpu->fpu.mxcsr;
	return ok;
}

static bool vcompare(struct form *f, const struct vform_info *vi, const struct vcase *in, const struct vcase *nat,
		     const struct vcase *emu, bool nok, bool eok, const uint8_t *emu_buf, const uint8_t *bytes, unsigned len)
{
	bool same = compare(f, &in->g, &nat->g, &emu->g, nok, eok, emu_buf, bytes, len);
	bool vsame = !nok || !eok ||
		     (!memcmp(nat->xmm, emu->xmm, sizeof(nat->xmm)) && nat->mxcsr == emu->mxcsr &&
		      (!vi->mmx || !memcmp(nat->mm, emu->mm, sizeof(nat->mm))));
	if (!same && vsame && f->fails < 3)
		printf("#   mxcsr in %#x native %#x interp %#x\n", in->mxcsr, nat->mxcsr, emu->mxcsr);
	if (!vsame && f->fails < 3) {
		printf("# MISMATCH %s: vector state; mxcsr in %#x native %#x interp %#x\n", f->name, in->mxcsr, nat->mxcsr,
		       emu->mxcsr);
		for (unsigned i = 0; i < 16; i++)
			if (memcmp(&nat->xmm[i], &emu->xmm[i], 16))
				printf("#   xmm%u in %016" PRIx64 "%016" PRIx64 " native %016" PRIx64 "%016" PRIx64
				       " interp %016" PRIx64 "%016" PRIx64 "\n", i, in->xmm[i].q[1], in->xmm[i].q[0],
				       nat->xmm[i].q[1], nat->xmm[i].q[0], emu->xmm[i].q[1], emu->xmm[i].q[0]);
		for (unsigned i = 0; vi->mmx && i < 8; i++)
			if (nat->mm[i] != emu->mm[i])
				printf("#   mm%u in %016" PRIx64 " native %016" PRIx64 " interp %016" PRIx64 "\n", i, in->mm[i],
				       nat->mm[i], emu->mm[i]);
	}
	return same && vsame;
}

static void vrun_form(struct xt *t, unsigned fi, unsigned long cases)
{
	struct form *f = &vforms[fi];
	const struct vform_info *vi = &vinfo[fi];
	uint8_t init[BUF_SIZE], bytes[16];
	for (unsigned long i = 0; i < cases; i++) {
		unsigned v = (unsigned)(xrand() % f->nvar), len = f->len[v];
		struct vcase in, nat, emu;
		bool nok, eok;
		memcpy(bytes, f->bytes[v], len);
		if (vi->imm8)
			bytes[len - 1] = (uint8_t)xrand();
		vmake_inputs(f, vi, &in, init);
		nat = emu = in;
		memcpy(native_buf, init, BUF_SIZE);
		memcpy(t->ram + BUF_ADDR, init, BUF_SIZE);
		x86_invalidate_code(t->cpu, BUF_ADDR, BUF_SIZE);
		nok = vrun_native(bytes, len, &nat, vi->mmx);
		eok = vrun_interp(t, bytes, len, &emu);
		f->cases++;
		if (!vcompare(f, vi, &in, &nat, &emu, nok, eok, t->ram + BUF_ADDR, bytes, len)) {
			if (f->fails < 3) {
				printf("#   bytes");
				for (unsigned k = 0; k < len; k++)
					printf(" %02x", bytes[k]);
				printf("\n");
			}
			f->fails++;
		}
	}
}

static void test_hostcmp_sse(void **state)
{
	struct xt t;
	unsigned long cases = hostcmp_begin(&t), total = 0, bad_forms = 0;
	(void)state;
	t.cpu->cr4 |= (1u << 9) | (1u << 10);	/* OSFXSR, OSXMMEXCPT: as the host kernel runs us */
	x86_state_changed(t.cpu);
	t.cpu->log = NULL;
	vdiscover();
	for (unsigned f = 0; f < nvforms; f++) {
		vrun_form(&t, f, cases);
		total += vforms[f].cases;
		printf("# %-40s %lu cases%s\n", vforms[f].name, vforms[f].cases, vforms[f].fails ? " FAIL" : "");
		if (vforms[f].fails) {
			printf("#   %lu of %lu cases differ\n", vforms[f].fails, vforms[f].cases);
			bad_forms++;
		}
	}
	printf("# hostcmp-sse: %u SSE/SSE2/MMX forms compared against the host CPU, %lu cases, %lu forms differ\n",
	       nvforms, total, bad_forms);
	xt_fini(&t);
	assert_true(nvforms > 100);
	assert_int_equal(bad_forms, 0);
}

/* ---- instruction sequences ----
 * Random runs of register instructions (the forms with fast handlers, their flag-less variants
 * picked by the block's flag liveness, and flag readers: adc/sbb, inc/dec, rol/ror, mul/imul,
 * setcc, cmovcc, jcc +0) against the host CPU: what one instruction leaves in the flags is consumed or
 * overwritten by the next ones, so a flag wrongly thought dead shows up as a mismatch. */

static unsigned seq_reg(void)
{
	static const uint8_t regs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };	/* not rsp */
	return regs[(unsigned)rand() % sizeof(regs)];
}

/* One random instruction at p; returns its length. */
static unsigned seq_insn(uint8_t *p)
{
	static const uint8_t alu[] = { 0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39, 0x85, 0x89 };
	static const uint8_t grp2[] = { 0, 1, 4, 5, 7 };	/* rol ror shl shr sar */
	unsigned d = seq_reg(), r = seq_reg(), w = rand() & 1, n = 0, k = (unsigned)rand() % 11;
	p[n++] = (uint8_t)(0x40 | (w << 3) | (r >= 8 ? 4 : 0) | (d >= 8 ? 1 : 0));
	switch (k) {
	case 0: case 1: case 2:	/* ALU r/m, r */
		p[n++] = alu[(unsigned)rand() % sizeof(alu)];
		p[n++] = (uint8_t)(0xc0 | (r & 7) << 3 | (d & 7));
		break;
	case 3: case 4:		/* ALU r/m, imm8 (/0-/7) */
		p[n++] = 0x83;
		p[n++] = (uint8_t)(0xc0 | ((unsigned)rand() % 8) << 3 | (d & 7));
		p[n++] = (uint8_t)rand();
		break;
	case 5:			/* inc / dec */
		p[n++] = 0xff;
		p[n++] = (uint8_t)(0xc0 | ((unsigned)rand() % 2) << 3 | (d & 7));
		break;
	case 6:			/* shift / rotate by imm8 */
		p[n++] = 0xc1;
		p[n++] = (uint8_t)(0xc0 | grp2[(unsigned)rand() % sizeof(grp2)] << 3 | (d & 7));
		p[n++] = (uint8_t)((unsigned)rand() % 70);
		break;
	case 7:			/* cmovcc r, r / setcc r8 */
		p[n++] = 0x0f;
		if (rand() & 1) {
			p[n++] = (uint8_t)(0x40 | (rand() & 15));
			p[n++] = (uint8_t)(0xc0 | (r & 7) << 3 | (d & 7));
		} else {
			p[n - 2] = (uint8_t)(0x40 | (d >= 8 ? 1 : 0));
			p[n++] = (uint8_t)(0x90 | (rand() & 15));
			p[n++] = (uint8_t)(0xc0 | (d & 7));
		}
		break;
	case 9:			/* mul / imul r/m (rdx:rax) */
		p[n++] = 0xf7;
		p[n++] = (uint8_t)(0xc0 | (4 + (unsigned)(rand() & 1)) << 3 | (d & 7));
		break;
	case 10:		/* imul r, r/m / imul r, r/m, imm8 */
		if (rand() & 1) {
			p[n++] = 0x0f;
			p[n++] = 0xaf;
			p[n++] = (uint8_t)(0xc0 | (d & 7) << 3 | (r & 7));
			p[0] = (uint8_t)(0x40 | (w << 3) | (d >= 8 ? 4 : 0) | (r >= 8 ? 1 : 0));
		} else {
			p[n++] = 0x6b;
			p[n++] = (uint8_t)(0xc0 | (d & 7) << 3 | (r & 7));
			p[n++] = (uint8_t)rand();
			p[0] = (uint8_t)(0x40 | (w << 3) | (d >= 8 ? 4 : 0) | (r >= 8 ? 1 : 0));
		}
		break;
	default:		/* jcc +0 (ends a block, both ways lead on) */
		n = 0;
		p[n++] = (uint8_t)(0x70 | (rand() & 15));
		p[n++] = 0;
		break;
	}
	return n;
}

static void test_hostcmp_sequences(void **state)
{
	static struct form seq = { .name = "sequence", .bt_reg = -1 };
	struct xt t;
	unsigned long cases = hostcmp_begin(&t) * 5, bad = 0;
	(void)state;
	t.cpu->log = NULL;
	srand(4242);
	for (unsigned long i = 0; i < cases; i++) {
		uint8_t code[48 * 6];	/* every 4th sequence runs past a block's 32 instructions */
		unsigned len = 0, n = 2 + (unsigned)rand() % (i % 4 ? 15 : 46);
		struct state in, nat, emu;
		bool nok, eok;
		for (unsigned k = 0; k < n; k++)
			len += seq_insn(code + len);
		make_inputs(&seq, &in);
		nat = emu = in;
		memset(native_buf, 0, BUF_SIZE);
		memset(t.ram + BUF_ADDR, 0, BUF_SIZE);
		nok = run_native(code, len, &nat);
		eok = run_interp(&t, code, len, &emu);
		if (!compare(&seq, &in, &nat, &emu, nok, eok, t.ram + BUF_ADDR, code, len)) {
			printf("#   bytes");
			for (unsigned k = 0; k < len; k++)
				printf(" %02x", code[k]);
			printf("\n");
			seq.fails++;
			bad++;
		}
	}
	printf("# hostcmp: %lu random instruction sequences compared against the host CPU, %lu differ\n", cases, bad);
	xt_fini(&t);
	assert_int_equal(bad, 0);
}

/* ---- x87 forms (emu/x86/exec-x87.c): the whole x87 part of the FXSAVE image compared as well ---- */

#define MAX_XFORMS 256
#define SLOT_HOSTFX 0xa00u	/* the test's own FPU state while the stub runs (512 bytes, in the code page) */

struct xcase {
	struct state g;	/* first: the stub reaches the image through the same pointer */
	uint8_t fx[512] __attribute__((aligned(16)));
};

/* What the memory operand holds, so that the inputs mix the special values of its format. */
enum xmem { XM_NONE = 0, XM_F32, XM_F64, XM_F80, XM_I16, XM_I32, XM_I64, XM_BCD, XM_CW, XM_ENV, XM_FX, XM_RAW };

static struct form xforms[MAX_XFORMS];
static enum xmem xkind[MAX_XFORMS];
static unsigned nxforms;

/* fxsave64 [rip+host]; fxrstor [rdi+fx] (the 32-bit layout: FCS and FDS come from the image too) */
static void xstub_load(struct emit *e)
{
	e8(e, 0x48); e8(e, 0x0f); e8(e, 0xae); e8(e, 0x05); e32(e, (uint32_t)(SLOT_HOSTFX - (e->n + 4)));
	e8(e, 0x0f); e8(e, 0xae); e8(e, 0x8f); e32(e, offsetof(struct xcase, fx));
}

/* fxsave64 [rax+fx]; fxrstor64 [rip+host] */
static void xstub_store(struct emit *e)
{
	e8(e, 0x48); e8(e, 0x0f); e8(e, 0xae); e8(e, 0x80); e32(e, offsetof(struct xcase, fx));
	e8(e, 0x48); e8(e, 0x0f); e8(e, 0xae); e8(e, 0x0d); e32(e, (uint32_t)(SLOT_HOSTFX - (e->n + 4)));
}

/* The memory operand kind of D8-DF /reg ([rbx]), from the SDM's opcode map. */
static enum xmem xmem_kind(uint8_t op, unsigned reg)
{
	static const uint8_t map[8][8] = {
		{ XM_F32, XM_F32, XM_F32, XM_F32, XM_F32, XM_F32, XM_F32, XM_F32 },
		{ XM_F32, XM_RAW, XM_RAW, XM_RAW, XM_ENV, XM_CW, XM_RAW, XM_RAW },
		{ XM_I32, XM_I32, XM_I32, XM_I32, XM_I32, XM_I32, XM_I32, XM_I32 },
		{ XM_I32, XM_RAW, XM_RAW, XM_RAW, XM_RAW, XM_F80, XM_RAW, XM_RAW },
		{ XM_F64, XM_F64, XM_F64, XM_F64, XM_F64, XM_F64, XM_F64, XM_F64 },
		{ XM_F64, XM_RAW, XM_RAW, XM_RAW, XM_ENV, XM_RAW, XM_RAW, XM_RAW },
		{ XM_I16, XM_I16, XM_I16, XM_I16, XM_I16, XM_I16, XM_I16, XM_I16 },
		{ XM_I16, XM_RAW, XM_RAW, XM_RAW, XM_BCD, XM_I64, XM_RAW, XM_RAW },
	};
	return (enum xmem)map[op & 7][reg & 7];
}

static void xadd_form(const uint8_t *b, unsigned len, const char *name, ZydisMnemonic m, enum xmem kind)
{
	bool full;
	if (form_table_add(xforms, &nxforms, MAX_XFORMS, b, len, name, m, kind != XM_NONE, &full))
		xkind[nxforms - 1] = kind;
}

/* One encoding: register forms are grouped by ModRM & 0xf8 (ST(0)..ST(7) are the variants). */
static void xconsider(const ZydisDecoder *d, const uint8_t *b, unsigned len, enum xmem kind)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	char name[64];
	unsigned p = len >= 2 ? len - 2 : 0;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(d, b, len, &zi, zo)) || zi.length != len || !x86_insn_infos[zi.mnemonic].fn)
		return;
	if (len == 1)
		snprintf(name, sizeof(name), "%s %02x", ZydisMnemonicGetString(zi.mnemonic), b[0]);
	else if (kind == XM_NONE && b[p] >= 0xd8 && b[p] <= 0xdf)
		snprintf(name, sizeof(name), "%s %02x %02x+i", ZydisMnemonicGetString(zi.mnemonic), b[p], b[p + 1] & 0xf8);
	else
		snprintf(name, sizeof(name), "%s%s %02x /%u m%u", ZydisMnemonicGetString(zi.mnemonic), len > 3 && b[0] == 0x66 ? " o16" : "",
			 b[p], (b[p + 1] >> 3) & 7, zi.operand_count ? zo[0].size : 0);
	xadd_form(b, len, name, zi.mnemonic, kind);
}

static void xdiscover(void)
{
	ZydisDecoder d;
	uint8_t b[4];
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (unsigned op = 0xd8; op <= 0xdf; op++) {
		for (unsigned reg = 0; reg < 8; reg++) {	/* [rbx] */
			b[0] = (uint8_t)op;
			b[1] = (uint8_t)(reg << 3 | 3);
			xconsider(&d, b, 2, xmem_kind((uint8_t)op, reg));
		}
		for (unsigned m = 0xc0; m <= 0xff; m++) {
			b[0] = (uint8_t)op;
			b[1] = (uint8_t)m;
			xconsider(&d, b, 2, XM_NONE);
		}
	}
	static const struct { uint8_t b[4]; uint8_t len, kind; } extra[] = {
		{ { 0x9b }, 1, XM_NONE },			/* fwait */
		{ { 0x0f, 0x77 }, 2, XM_NONE },			/* emms */
		{ { 0x0f, 0xae, 0x03 }, 3, XM_RAW },		/* fxsave [rbx] */
		{ { 0x48, 0x0f, 0xae, 0x03 }, 4, XM_RAW },	/* fxsave64 */
		{ { 0x0f, 0xae, 0x0b }, 3, XM_FX },		/* fxrstor */
		{ { 0x48, 0x0f, 0xae, 0x0b }, 4, XM_FX },	/* fxrstor64 */
		{ { 0x66, 0xd9, 0x33 }, 3, XM_RAW },		/* fnstenv, 16-bit layout */
		{ { 0x66, 0xd9, 0x23 }, 3, XM_ENV },		/* fldenv, 16-bit layout */
		{ { 0x66, 0xdd, 0x33 }, 3, XM_RAW },		/* fnsave, 16-bit layout */
		{ { 0x66, 0xdd, 0x23 }, 3, XM_ENV },		/* frstor, 16-bit layout */
	};
	for (unsigned i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		xconsider(&d, extra[i].b, extra[i].len, (enum xmem)extra[i].kind);
}

/* ---- x87 inputs: special values weighted well above their share of random bits ---- */

static void x87_rand80(uint8_t *p)
{
	static const uint16_t near_exp[] = { 0x3fff, 0x3ffe, 0x4000, 0x401d, 0x401e, 0x403d, 0x403e, 0x400e, 0x400f,
					     0x3f80, 0x407e, 0x3c00, 0x43fe, 0x0001, 0x7ffe, 0x3f6a, 0x4097 };
	uint64_t r = xrand(), m = xrand();
	uint16_t se = (uint16_t)((r & 1) << 15);
	switch ((r >> 1) % 16) {
	case 0: m = 0; break;						/* ±0 */
	case 1: m &= ~(1ull << 63); break;				/* denormal / pseudo-denormal below */
	case 2: m |= 1ull << 63; break;					/* pseudo-denormal */
	case 3: se |= 0x7fff; m = 1ull << 63; break;			/* ±inf */
	case 4: se |= 0x7fff; m |= 3ull << 62; break;			/* QNaN */
	case 5: se |= 0x7fff; m = (m | 1) & ~(1ull << 62); m |= 1ull << 63; break;	/* SNaN */
	case 6: se |= 0x7fff; m = 3ull << 62; break;			/* indefinite */
	case 7: se |= (uint16_t)(1 + (r >> 8) % 0x7ffe); m &= ~(1ull << 63); break;	/* unnormal */
	case 8: se |= 0x7fff; m &= ~(1ull << 63); break;		/* pseudo-NaN / pseudo-inf */
	case 9: se |= (uint16_t)(0x3fff + (r >> 8) % 64); m = (1ull << 63) | ((m >> 20) << 20); break;	/* integers */
	case 10: se |= near_exp[(r >> 8) % (sizeof(near_exp) / sizeof(near_exp[0]))]; m |= 1ull << 63; break;
	case 11: se |= (uint16_t)(1 + (r >> 8) % 0x7ffe); m |= 1ull << 63; break;	/* any normal */
	case 12: se |= (uint16_t)(0x3fff + (int)((r >> 8) % 129) - 64); m = (1ull << 63) | (m & (0xffull << ((r >> 20) % 57))); break;
	case 13: se |= (uint16_t)((r >> 8) % 48 + 1); m |= 1ull << 63; break;	/* tiny */
	case 14: se |= (uint16_t)(0x7ffe - (r >> 8) % 48); m |= 1ull << 63; break;	/* huge */
	default: se |= (uint16_t)(0x3fff + (int)((r >> 8) % 65) - 32); m |= 1ull << 63; break;
	}
	memcpy(p, &m, 8);
	memcpy(p + 8, &se, 2);
}

/* A float of 4 or 8 bytes: exponent field all 0, all 1, near the bias, or anything. */
static uint64_t x87_randfp(unsigned bytes)
{
	unsigned ebits = bytes == 4 ? 8 : 11, mbits = bytes == 4 ? 23 : 52;
	uint64_t r = xrand(), m = xrand() & ((1ull << mbits) - 1), emax = (1ull << ebits) - 1, e;
	switch ((r >> 1) % 8) {
	case 0: e = 0; m = (r & 2) ? 0 : m; break;
	case 1: e = emax; m = (r & 2) ? 0 : (r & 4) ? m | (1ull << (mbits - 1)) : m; break;
	case 2: e = (emax >> 1) + (r >> 8) % 64; m &= ~0ull << (mbits / 2); break;
	case 3: e = 1 + (r >> 8) % 8; break;
	case 4: e = emax - 1 - (r >> 8) % 8; break;
	default: e = (emax >> 1) - 32 + (r >> 8) % 64; break;
	}
	return ((r & 1) << (bytes * 8 - 1)) | (e << mbits) | m;
}

static uint64_t x87_randint(unsigned bytes)
{
	uint64_t v = rnd64(), lim = 1ull << (bytes * 8 - 1);
	switch (xrand() % 4) {
	case 0: return lim;			/* the integer indefinite / min */
	case 1: return lim - 1 - xrand() % 3;
	case 2: return (uint64_t)((int64_t)(xrand() % 2001) - 1000);
	default: return v;
	}
}

static void x87_randbcd(uint8_t *p)
{
	for (unsigned i = 0; i < 9; i++) {
		unsigned lo = (unsigned)(xrand() % 10), hi = (unsigned)(xrand() % 10);
		if (xrand() % 64 == 0)
			lo = 10 + (unsigned)(xrand() % 6);	/* an invalid digit */
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	p[9] = (xrand() & 1) ? 0x80 : (xrand() % 16 == 0) ? (uint8_t)xrand() : 0;
}

/* FCW: every precision (01 is reserved but loadable) and rounding mode; usually all exceptions masked. */
static uint16_t x87_randcw(void)
{
	uint64_t r = xrand();
	uint16_t masks = (r & 3) ? 0x3f : (uint16_t)(r >> 2) & 0x3f;
	return (uint16_t)(masks | 0x40 | ((r >> 8) & 0xf00) | ((r >> 12) & 0x1000));
}

/* A whole x87 state as a 32-bit-layout FXSAVE image. */
static void x87_rand_state(uint8_t *fx)
{
	uint64_t r = xrand();
	uint16_t cw = x87_randcw(), sw;
	memset(fx, 0, 512);
	sw = (uint16_t)(r & 0x7f00);		/* TOP, C0-C3 */
	sw |= (uint16_t)((r >> 16) & 0x7f) & (r & (1ull << 40) ? 0x7f : (0x40 | (cw & 0x3f)));	/* SF, flags (rarely pending) */
	memcpy(fx, &cw, 2);
	memcpy(fx + 2, &sw, 2);
	fx[4] = (r >> 24) % 8 == 0 ? 0xff : (r >> 24) % 8 == 1 ? 0 : (uint8_t)(xrand() & xrand() ? xrand() : ~(xrand() & xrand()));
	r = xrand();
	memcpy(fx + 6, &r, 2);
	fx[7] &= 7;
	memcpy(fx + 8, &r, 6);			/* FIP, FCS */
	r = xrand();
	memcpy(fx + 16, &r, 6);			/* FDP, FDS */
	fx[24] = 0x80;				/* MXCSR 0x1f80 */
	fx[25] = 0x1f;
	for (unsigned i = 0; i < 8; i++)
		x87_rand80(fx + 32 + 16 * i);
}

static void x87_fill_mem(enum xmem kind, uint8_t *p)
{
	uint64_t v;
	uint16_t w;
	switch (kind) {
	case XM_F32: v = x87_randfp(4); memcpy(p, &v, 4); break;
	case XM_F64: v = x87_randfp(8); memcpy(p, &v, 8); break;
	case XM_F80: x87_rand80(p); break;
	case XM_I16: v = x87_randint(2); memcpy(p, &v, 2); break;
	case XM_I32: v = x87_randint(4); memcpy(p, &v, 4); break;
	case XM_I64: v = x87_randint(8); memcpy(p, &v, 8); break;
	case XM_BCD: x87_randbcd(p); break;
	case XM_CW: w = x87_randcw(); memcpy(p, &w, 2); break;
	case XM_ENV:	/* a plausible environment, then the registers fnsave would have stored */
		w = x87_randcw(); memcpy(p, &w, 2);
		for (unsigned i = 0; i < 8; i++)
			x87_rand80(p + 28 + 10 * i);
		break;
	case XM_FX:
		x87_rand_state(p);
		if (xrand() % 16 == 0)
			p[26] = (uint8_t)(xrand() | 1);	/* reserved MXCSR bits: #GP (not bit 17 alone: AMD's MM) */
		break;
	default: break;
	}
}

static void xmake_inputs(const struct form *f, enum xmem kind, struct xcase *c, uint8_t *init)
{
	for (unsigned k = 0; k < BUF_SIZE; k += 8) {
		uint64_t r = xrand();
		memcpy(init + k, &r, 8);
	}
	make_inputs(f, &c->g);
	x87_rand_state(c->fx);
	x87_fill_mem(kind, init + (BUF_BASE - BUF_ADDR));
}

static bool xrun_native(const uint8_t *insn, unsigned len, struct xcase *c)
{
	bool ok;
	stub_load_more = xstub_load;
	stub_store_more = xstub_store;
	ok = run_native(insn, len, &c->g);
	stub_load_more = stub_store_more = NULL;
	return ok;
}

static bool xrun_interp(struct xt *t, const uint8_t *insn, unsigned len, struct xcase *c)
{
	bool ok;
	if (x86_fpu_load(t->cpu, c->fx, false))
		return false;
	ok = run_interp(t, insn, len, &c->g);
	x86_fpu_save(t->cpu, c->fx, true);
	return ok;
}

/* FXSAVE64 images: FCW/FSW/FTW, the registers, MXCSR; FOP/FIP/FDP only while an exception is pending
 * (this AMD host saves them only then). FIP may be the instruction's own address: compared as an
 * offset from it. */
static bool xsame(const uint8_t *nat, const uint8_t *emu, uint64_t nat_insn)
{
	uint64_t nf, ef;
	uint16_t sw;
	memcpy(&sw, nat + 2, 2);
	if (memcmp(nat, emu, 6) || memcmp(nat + 24, emu + 24, 4))
		return false;
	for (unsigned i = 0; i < 8; i++)
		if (memcmp(nat + 32 + 16 * i, emu + 32 + 16 * i, 10))
			return false;
	if (!(sw & 0x80))
		return true;
	memcpy(&nf, nat + 8, 8);
	memcpy(&ef, emu + 8, 8);
	return !memcmp(nat + 6, emu + 6, 2) && !memcmp(nat + 16, emu + 16, 8) &&
	       (nf == ef || nf - nat_insn == ef - CODE_ADDR);
}

static void xdump(const char *what, const uint8_t *fx)
{
	uint16_t cw, sw, op;
	uint64_t ip, dp;
	memcpy(&cw, fx, 2);
	memcpy(&sw, fx + 2, 2);
	memcpy(&op, fx + 6, 2);
	memcpy(&ip, fx + 8, 8);
	memcpy(&dp, fx + 16, 8);
	printf("#   %-6s fcw %04x fsw %04x ftw %02x fop %03x fip %" PRIx64 " fdp %" PRIx64 " st:", what, cw, sw, fx[4], op, ip, dp);
	for (unsigned i = 0; i < 8; i++) {
		uint16_t se;
		uint64_t m;
		memcpy(&m, fx + 32 + 16 * i, 8);
		memcpy(&se, fx + 40 + 16 * i, 2);
		printf(" %04x:%016" PRIx64, se, m);
	}
	printf("\n");
}

/* Where the instruction lands in the x87 stub (FIP is its address). */
static unsigned xinsn_offset(void)
{
	static const uint8_t marker[] = { 0x0f, 0x0b, 0x0f, 0x0b, 0x0f, 0x0b, 0x0f, 0x0b };
	unsigned n;
	stub_load_more = xstub_load;
	stub_store_more = xstub_store;
	n = build_stub(marker, sizeof(marker));
	stub_load_more = stub_store_more = NULL;
	for (unsigned i = 0; i + sizeof(marker) <= n; i++)
		if (!memcmp(code_page + i, marker, sizeof(marker)))
			return i;
	return 0;
}

/* One native run of form f on input in (into nat and native_buf). */
static bool xnative_case(const struct form *f, unsigned v, const struct xcase *in, const uint8_t *init, struct xcase *nat)
{
	bool ok;
	*nat = *in;
	memcpy(native_buf, init, BUF_SIZE);
	ok = xrun_native(f->bytes[v], f->len[v], nat);
	if (f->mnem == ZYDIS_MNEMONIC_FXSAVE || f->mnem == ZYDIS_MNEMONIC_FXSAVE64)
		native_buf[BUF_BASE - BUF_ADDR + 30] &= (uint8_t)~2;	/* MXCSR_MASK bit 17: AMD's misaligned-SSE MM */
	return ok;
}

static bool xsame_case(struct form *f, const struct xcase *in, const struct xcase *nat, const struct xcase *emu, bool nok,
		       bool eok, struct xt *t, unsigned v, uint64_t nat_insn)
{
	bool same = compare(f, &in->g, &nat->g, &emu->g, nok, eok, t->ram + BUF_ADDR, f->bytes[v], f->len[v]);
	if (same && nok && eok && !xsame(nat->fx, emu->fx, nat_insn)) {
		same = false;
		if (f->fails < 3)
			printf("# MISMATCH %s: x87 state\n", f->name);
	}
	return same;
}

static void xreport(const struct form *f, unsigned v, const struct xcase *in, const struct xcase *nat,
		    const struct xcase *emu, const uint8_t *init, const uint8_t *emu_buf)
{
	xdump("in", in->fx);
	xdump("native", nat->fx);
	xdump("interp", emu->fx);
	printf("#   bytes");
	for (unsigned k = 0; k < f->len[v]; k++)
		printf(" %02x", f->bytes[v][k]);
	printf("; memory at rbx");
	for (unsigned k = 0; k < 16; k++)
		printf(" %02x", init[BUF_BASE - BUF_ADDR + k]);
	printf("\n#   memory differs at rbx +");
	for (unsigned k = 0; k < BUF_SIZE; k++)
		if (native_buf[k] != emu_buf[k])
			printf(" %d (%02x/%02x)", (int)k - (int)(BUF_BASE - BUF_ADDR), native_buf[k], emu_buf[k]);
	printf("\n");
}

/* A mismatch is run natively once more before it counts: on this AMD host a context switch
 * between the stub's fxrstor and the instruction drops FIP/FDP/FOP (XSAVE keeps them only while
 * an exception is pending), which fnstenv/fnsave then store. */
static void xrun_form(struct xt *t, unsigned fi, unsigned long cases, uint64_t nat_insn)
{
	struct form *f = &xforms[fi];
	uint8_t init[BUF_SIZE];
	for (unsigned long i = 0; i < cases; i++) {
		unsigned v = (unsigned)(xrand() % f->nvar);
		struct xcase in, nat, emu;
		unsigned long quiet;
		bool nok, eok, same;
		xmake_inputs(f, xkind[fi], &in, init);
		emu = in;
		memcpy(t->ram + BUF_ADDR, init, BUF_SIZE);
		x86_invalidate_code(t->cpu, BUF_ADDR, BUF_SIZE);
		eok = xrun_interp(t, f->bytes[v], f->len[v], &emu);
		nok = xnative_case(f, v, &in, init, &nat);
		f->cases++;
		quiet = f->fails;
		f->fails = 3;	/* compare() reports only the first few mismatches: not this first try */
		same = xsame_case(f, &in, &nat, &emu, nok, eok, t, v, nat_insn);
		f->fails = quiet;
		if (same)
			continue;
		nok = xnative_case(f, v, &in, init, &nat);
		if (xsame_case(f, &in, &nat, &emu, nok, eok, t, v, nat_insn))
			continue;
		if (f->fails < 3)
			xreport(f, v, &in, &nat, &emu, init, t->ram + BUF_ADDR);
		f->fails++;
	}
}

static void test_hostcmp_x87(void **state)
{
	struct xt t;
	unsigned long cases = hostcmp_begin(&t), total = 0, bad_forms = 0;
	uint64_t nat_insn;
	(void)state;
	t.cpu->cr0 |= (1u << 1) | (1u << 5);	/* MP, NE; OSFXSR, OSXMMEXCPT: as the host kernel runs us */
	t.cpu->cr4 |= (1u << 9) | (1u << 10);
	x86_state_changed(t.cpu);
	t.cpu->log = NULL;
	nat_insn = (uint64_t)(uintptr_t)code_page + xinsn_offset();
	xdiscover();
	for (unsigned f = 0; f < nxforms; f++) {
		xrun_form(&t, f, cases, nat_insn);
		total += xforms[f].cases;
		printf("# %-40s %lu cases%s\n", xforms[f].name, xforms[f].cases, xforms[f].fails ? " FAIL" : "");
		if (xforms[f].fails) {
			printf("#   %lu of %lu cases differ\n", xforms[f].fails, xforms[f].cases);
			bad_forms++;
		}
	}
	printf("# hostcmp-x87: %u x87 forms compared against the host CPU, %lu cases, %lu forms differ\n", nxforms, total,
	       bad_forms);
	xt_fini(&t);
	assert_true(nxforms > 100);
	assert_int_equal(bad_forms, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_hostcmp), cmocka_unit_test(test_hostcmp_sse),
					    cmocka_unit_test(test_hostcmp_sequences),
					    cmocka_unit_test(test_hostcmp_x87) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
