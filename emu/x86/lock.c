/* SPDX-License-Identifier: MIT */
/*
 * lock.c — locked read-modify-write instructions (a lock prefix, or xchg with memory), atomic
 * across vCPUs that run in parallel threads on the same guest RAM.
 *
 * The decoder routes only these instructions here (x86_h_locked), so the unlocked path is
 * untouched. The instruction's own handler runs on a copy of it whose memory operand is replaced
 * by a scratch register (X86_LOCK_REG) holding the value read; the value it leaves there is then
 * stored with a host compare-and-swap on the aligned 8- or 16-byte word that holds the operand.
 * When another vCPU changed the word in between (a locked or a plain store), the CPU state is
 * restored and the instruction runs again. Nothing is ever stored that was computed from a stale
 * value, which is what LOCK promises.
 *
 * An operand that no host word covers (split across pages or across a 16-byte boundary) or that
 * is not RAM (MMIO) runs the plain handler under the bus lock (struct x86_bus.bus_lock): atomic
 * against other such accesses, not against the compare-and-swap path or plain stores.
 */
#include "emu/x86/handlers.h"

/* The host window a compare-and-swap covers: 8 or 16 aligned bytes, the operand at off. */
struct lock_win {
	uint8_t *p;
	unsigned width, off, size;
};

static bool lock_win(uint8_t *host, unsigned size, struct lock_win *w)
{
	uintptr_t a = (uintptr_t)host;
	w->size = size;
	for (unsigned width = 8; width <= 16; width += 8) {
		uintptr_t base = a & ~(uintptr_t)(width - 1);
		if (a + size <= base + width) {
			w->p = (uint8_t *)base;
			w->width = width;
			w->off = (unsigned)(a - base);
			return true;
		}
	}
	return false;
}

typedef unsigned __int128 u128;

static u128 win_load(const struct lock_win *w)
{
	const uint64_t *q = (const uint64_t *)(const void *)w->p;
	u128 v = __atomic_load_n(&q[0], __ATOMIC_RELAXED);
	if (w->width == 16)	/* a torn pair only makes the compare-and-swap fail */
		v |= (u128)__atomic_load_n(&q[1], __ATOMIC_RELAXED) << 64;
	return v;
}

static bool cas16(uint8_t *p, u128 old, u128 new)
{
	uint64_t lo = (uint64_t)old, hi = (uint64_t)(old >> 64);
	bool ok;
	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok), "+m"(*(volatile u128 *)(void *)p), "+a"(lo), "+d"(hi)
			     : "b"((uint64_t)new), "c"((uint64_t)(new >> 64))
			     : "memory");
	return ok;
}

static bool win_cas(const struct lock_win *w, u128 old, u128 new)
{
	if (w->width == 8) {
		uint64_t expect = (uint64_t)old;
		return __atomic_compare_exchange_n((uint64_t *)(void *)w->p, &expect, (uint64_t)new, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	return cas16(w->p, old, new);
}

static u128 field_mask(unsigned size)
{
	return size >= 16 ? ~(u128)0 : (((u128)1 << (size * 8)) - 1);
}

static u128 win_get(const struct lock_win *w, u128 word)
{
	return (word >> (w->off * 8)) & field_mask(w->size);
}

static u128 win_put(const struct lock_win *w, u128 word, u128 v)
{
	u128 m = field_mask(w->size) << (w->off * 8);
	return (word & ~m) | ((v << (w->off * 8)) & m);
}

/* ---- the register state an attempt may change ---- */

struct lock_save {
	uint64_t r[16];
	uint64_t rflags;
	struct x86_lazy lf;
};

static void save_state(const struct x86_cpu *cpu, struct lock_save *s)
{
	memcpy(s->r, cpu->r, sizeof(s->r));
	s->rflags = cpu->rflags;
	s->lf = cpu->lf;
}

static void restore_state(struct x86_cpu *cpu, const struct lock_save *s)
{
	memcpy(cpu->r, s->r, sizeof(s->r));
	cpu->rflags = s->rflags;
	cpu->lf = s->lf;
}

/* ---- the operand ---- */

static bool is_bt(x86_handler fn)
{
	return fn == x86_h_bts || fn == x86_h_btr || fn == x86_h_btc;
}

/* Linear address of operand 0; bts/btr/btc with a register offset address the word holding the bit. */
static uint64_t operand_lin(struct x86_cpu *cpu, const struct x86_insn *in, x86_handler fn)
{
	unsigned s = in->op[0].size, bits = s * 8;
	uint64_t ea = x86_ea(cpu, in);
	if (is_bt(fn) && in->op[1].type == X86_OT_REG) {
		int64_t so = (int64_t)x86_sext(x86_rd(cpu, in, 1), in->op[1].size);
		ea += (uint64_t)((so >> (bits == 64 ? 6 : bits == 32 ? 5 : 4)) * (int64_t)s);
	}
	return x86_lin(cpu, in->seg, ea & x86_mask(in->asz), s, true);
}

/* The bus lock around the plain handler; an exception inside releases it on the way out. */
static void run_bus_locked(struct x86_cpu *cpu, const struct x86_insn *in, x86_handler fn)
{
	pthread_mutex_t *bl = cpu->bus.bus_lock;
	jmp_buf jb;
	jmp_buf *volatile saved = cpu->jmp;
	if (!bl) {
		fn(cpu, in);
		return;
	}
	pthread_mutex_lock(bl);
	cpu->jmp = &jb;
	if (setjmp(jb)) {
		cpu->jmp = saved;
		pthread_mutex_unlock(bl);
		longjmp(*cpu->jmp, 1);
	}
	fn(cpu, in);
	cpu->jmp = saved;
	pthread_mutex_unlock(bl);
}

/* One locked RMW through the scratch register, retried until its compare-and-swap succeeds. */
static void run_cas(struct x86_cpu *cpu, const struct x86_insn *in, x86_handler fn, const struct lock_win *w)
{
	struct x86_insn copy = *in;
	struct lock_save s;
	copy.op[0] = (struct x86_opnd){ .type = X86_OT_REG, .size = in->op[0].size, .reg = X86_LOCK_REG };
	save_state(cpu, &s);
	for (;;) {
		u128 word = win_load(w), v;
		cpu->r[X86_LOCK_REG] = (uint64_t)win_get(w, word);
		fn(cpu, &copy);
		v = cpu->r[X86_LOCK_REG] & x86_mask(in->op[0].size);
		if (win_cas(w, word, win_put(w, word, v)))
			return;
		restore_state(cpu, &s);
	}
}

/* cmpxchg8b / cmpxchg16b: edx:eax (rdx:rax) against the operand, ecx:ebx (rcx:rbx) stored. */
static void run_cmpxchg_wide(struct x86_cpu *cpu, const struct x86_insn *in, const struct lock_win *w)
{
	unsigned half = w->size / 2;
	u128 m = field_mask(half);
	u128 expect = ((u128)cpu->r[X86_RDX] & m) << (half * 8) | ((u128)cpu->r[X86_RAX] & m);
	u128 repl = ((u128)cpu->r[X86_RCX] & m) << (half * 8) | ((u128)cpu->r[X86_RBX] & m);
	uint64_t f = x86_arith(cpu) & ~(uint64_t)X86_ZF;
	for (;;) {
		u128 word = win_load(w), cur = win_get(w, word);
		if (cur != expect) {
			x86_set_reg(cpu, X86_RAX, half, false, (uint64_t)(cur & m));
			x86_set_reg(cpu, X86_RDX, half, false, (uint64_t)(cur >> (half * 8)));
			break;
		}
		if (win_cas(w, word, win_put(w, word, repl))) {
			f |= X86_ZF;
			break;
		}
	}
	x86_set_arith(cpu, f);
}

void x86_h_locked(struct x86_cpu *cpu, const struct x86_insn *in)
{
	x86_handler fn = x86_insn_infos[in->mnem].fn;
	bool wide = fn == x86_h_cmpxchg8b, code;
	unsigned size = in->op[0].size;
	struct lock_win w;
	uint64_t lin, gpa;
	uint8_t *host;
	if (in->op[0].type != X86_OT_MEM) {
		fn(cpu, in);	/* the decoder sends memory forms only; be safe */
		return;
	}
	lin = operand_lin(cpu, in, fn);
	if (wide && size == 16 && (lin & 15))
		x86_gp0(cpu);
	host = x86_lock_host(cpu, lin, size, &gpa, &code);
	if (!host || !lock_win(host, size, &w)) {
		run_bus_locked(cpu, in, fn);
		return;
	}
	if (wide)
		run_cmpxchg_wide(cpu, in, &w);
	else
		run_cas(cpu, in, fn, &w);
	if (code)
		(void)x86_code_write_hits(cpu, gpa, size);	/* self-modifying: drop the decoded blocks */
}

/* mfence orders earlier stores before later loads; the host's plain stores need the same. */
void x86_h_mfence(struct x86_cpu *cpu, const struct x86_insn *in)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
