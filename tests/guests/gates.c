/* SPDX-License-Identifier: MIT */
/*
 * gates: a 64-bit call gate. Code at CPL 3 (g_run_user) makes a far call through a DPL-3 call
 * gate in the GDT to a 64-bit code segment at CPL 0, which notes what the CPU gave it (its own
 * CS, the caller's CS and SS from the frame, whether RSP came from TSS.rsp0) and returns to CPL 3
 * with lretq. With dpl0=1 the gate's DPL is 0: the far call is #GP with the gate's selector as
 * the error code, from CPL 3 (the #GP handler prints both and ends the guest).
 */
#include "guest.h"

#define SEL_GATE 0x38
#define SEL_KCODE 0x08

extern uint64_t g_gdt[];
extern uint8_t g_tss[];		/* cpu.c: rsp0 at offset 4 */
extern const char g_user_stack_top[];

/* Filled by gate_entry (CPL 0). */
volatile uint64_t gate_rsp, gate_own_cs, gate_caller_cs, gate_caller_ss, gate_caller_rsp;

__asm__(".text\n"
	".globl gate_entry\n"
	"gate_entry:\n"
	"	movq %rsp, gate_rsp(%rip)\n"
	"	movq 8(%rsp), %rax\n"
	"	movq %rax, gate_caller_cs(%rip)\n"
	"	movq 16(%rsp), %rax\n"
	"	movq %rax, gate_caller_rsp(%rip)\n"
	"	movq 24(%rsp), %rax\n"
	"	movq %rax, gate_caller_ss(%rip)\n"
	"	movl %cs, %eax\n"
	"	movq %rax, gate_own_cs(%rip)\n"
	"	lretq\n");
extern const char gate_entry[];

static uint64_t gdt[10] __attribute__((aligned(16)));
static struct { uint32_t off; uint16_t sel; } __attribute__((packed)) gate_ptr = { 0, SEL_GATE | 3 };

/* A copy of the boot GDT (TSS included) with a 16-byte call gate at SEL_GATE. */
static void install_gate(unsigned dpl)
{
	uint64_t a = (uint64_t)gate_entry;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };
	for (unsigned i = 0; i < 7; i++)
		gdt[i] = g_gdt[i];
	gdt[SEL_GATE / 8] = (a & 0xffff) | ((uint64_t)SEL_KCODE << 16) | ((uint64_t)(0x8c | (dpl << 5)) << 40) |
			    ((a >> 16) & 0xffff) << 48;
	gdt[SEL_GATE / 8 + 1] = a >> 32;
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
}

__attribute__((interrupt)) static void gp_handler(struct g_intr_frame *f, unsigned long err)
{
	g_printf("gates: #GP, error code 0x%lx, from CPL %lu\n", err, f->cs & 3);
	g_exit(G_EXIT_OK);
}

static uint64_t user_call(uint64_t arg)
{
	uint64_t cs;
	__asm__ volatile("lcall *%0" : : "m"(gate_ptr) : "rax", "memory");
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs;
}

void guest_main(const char *cmdline)
{
	uint64_t dpl0 = g_arg_u64_or(cmdline, "dpl0", 0), cs, rsp0, utop = (uint64_t)g_user_stack_top;
	g_cpu_init();
	g_idt_set(13, (void (*)(void))gp_handler, 0);
	install_gate(dpl0 ? 0 : 3);
	cs = g_run_user(user_call, 0);
	__builtin_memcpy(&rsp0, g_tss + 4, 8);
	g_printf("gates: handler ran with CS 0x%lx (CPL %lu)\n", gate_own_cs, gate_own_cs & 3);
	g_printf("gates: caller CS 0x%lx, SS 0x%lx in the frame\n", gate_caller_cs, gate_caller_ss);
	g_printf("gates: handler stack %s TSS.rsp0, caller RSP %s\n",
		 gate_rsp == rsp0 - 32 ? "right below" : "not at",
		 gate_caller_rsp < utop && gate_caller_rsp > utop - 16384 ? "on the user stack" : "lost");
	g_printf("gates: back with CS 0x%lx (CPL %lu)\n", cs, cs & 3);
	g_exit(gate_own_cs == SEL_KCODE && (cs & 3) == 3 ? G_EXIT_OK : G_EXIT_FAIL);
}
