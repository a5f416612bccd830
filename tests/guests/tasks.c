/* SPDX-License-Identifier: MIT */
/*
 * tasks: hardware task switches. The guest leaves long mode for 32-bit protected mode without
 * paging (a far jump to a 32-bit code segment, then CR0.PG and EFER.LME off) and, as task A:
 * calls task B through its TSS (B sees NT and its back link, and returns with iret; A gets its
 * registers back), jumps to B through a task gate (B sees no NT and jumps back to A's TSS), then
 * divides by zero: #DE goes through a task gate in the IDT to task C, which prints what it finds
 * and ends the guest. Every line is printed by 32-bit code from values the CPU left.
 */
#include "guest.h"

#define T_KCODE 0x08
#define T_KDATA 0x10
#define T_TSS_A 0x20
#define T_TSS_B 0x28
#define T_GATE_B 0x30
#define T_TSS_C 0x38

struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt, iomap;
} __attribute__((packed, aligned(128)));

struct tss32 tss_a, tss_b, tss_c;
uint64_t gdt32[8] __attribute__((aligned(16)));
uint64_t idt32[8] __attribute__((aligned(16)));
uint8_t stack_a[4096] __attribute__((aligned(16))), stack_b[4096] __attribute__((aligned(16))),
	stack_c[4096] __attribute__((aligned(16)));
extern const char task_a[], task_b[], task_c[];

__asm__(".text\n.code32\n"
	/* puts: string at %esi (NUL-terminated); hex: %eax as 0x + 8 digits. Both keep %eax. */
	"t_puts:\n"
	"	push %eax\n"
	"	push %edx\n"
	"	mov $0x3f8, %dx\n"
	"1:	lodsb\n"
	"	test %al, %al\n"
	"	jz 2f\n"
	"	out %al, %dx\n"
	"	jmp 1b\n"
	"2:	pop %edx\n"
	"	pop %eax\n"
	"	ret\n"
	"t_hex:\n"
	"	push %eax\n"
	"	push %ecx\n"
	"	push %edx\n"
	"	mov %eax, %ecx\n"
	"	mov $0x3f8, %dx\n"
	"	mov $'0', %al\n"
	"	out %al, %dx\n"
	"	mov $'x', %al\n"
	"	out %al, %dx\n"
	"	push %ebx\n"
	"	mov $8, %ebx\n"
	"3:	rol $4, %ecx\n"
	"	mov %ecx, %eax\n"
	"	and $15, %eax\n"
	"	add $'0', %al\n"
	"	cmp $'9', %al\n"
	"	jbe 4f\n"
	"	add $('a' - '9' - 1), %al\n"
	"4:	out %al, %dx\n"
	"	dec %ebx\n"
	"	jnz 3b\n"
	"	pop %ebx\n"
	"	pop %edx\n"
	"	pop %ecx\n"
	"	pop %eax\n"
	"	ret\n"
	/* task A: entered by the far jump from long mode, leaves paging and long mode first */
	".globl task_a\n"
	"task_a:\n"
	"	mov %cr0, %eax\n"
	"	and $0x7fffffff, %eax\n"
	"	mov %eax, %cr0\n"
	"	mov $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	and $~0x100, %eax\n"
	"	wrmsr\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	mov %eax, %ss\n"
	"	mov $stack_a + 4096, %esp\n"
	"	lidt idt32_ptr\n"
	"	mov $0x20, %eax\n"
	"	ltr %ax\n"
	"	mov $s_a1, %esi\n"
	"	call t_puts\n"
	"	mov $0x1111, %eax\n"
	"	mov $0x2222, %ebx\n"
	"	lcall $0x28, $0\n"
	"	mov $s_a2, %esi\n"
	"	call t_puts\n"
	"	call t_hex\n"		/* EAX, EBX as A left them */
	"	mov %ebx, %eax\n"
	"	mov $s_sp, %esi\n"
	"	call t_puts\n"
	"	call t_hex\n"
	"	str %eax\n"
	"	mov $s_tr, %esi\n"
	"	call t_puts\n"
	"	call t_hex\n"
	"	mov $s_nl, %esi\n"
	"	call t_puts\n"
	"	ljmp $0x30, $0\n"	/* task gate to B */
	"	mov $s_a3, %esi\n"
	"	call t_puts\n"
	"	xor %edx, %edx\n"
	"	mov $1, %eax\n"
	"	xor %ecx, %ecx\n"
	"	div %ecx\n"		/* #DE: task gate to C */
	"	hlt\n"
	/* task B: first entered by call, then (after its iret) by a jump through the task gate */
	".globl task_b\n"
	"task_b:\n"
	"	mov $s_b1, %esi\n"
	"	call t_puts\n"
	"	pushf\n"
	"	pop %eax\n"
	"	and $0x4000, %eax\n"	/* NT */
	"	call t_hex\n"
	"	mov $s_link, %esi\n"
	"	call t_puts\n"
	"	movzwl tss_b, %eax\n"
	"	call t_hex\n"
	"	mov $s_nl, %esi\n"
	"	call t_puts\n"
	"	iret\n"
	"	mov $s_b2, %esi\n"
	"	call t_puts\n"
	"	pushf\n"
	"	pop %eax\n"
	"	and $0x4000, %eax\n"
	"	call t_hex\n"
	"	mov $s_nl, %esi\n"
	"	call t_puts\n"
	"	ljmp $0x20, $0\n"	/* back to A's TSS */
	/* task C: the #DE handler */
	".globl task_c\n"
	"task_c:\n"
	"	mov $s_c1, %esi\n"
	"	call t_puts\n"
	"	movzwl tss_c, %eax\n"
	"	call t_hex\n"
	"	mov $s_eip, %esi\n"
	"	call t_puts\n"
	"	mov tss_a + 0x20, %eax\n"	/* A's EIP: the div */
	"	sub $task_a, %eax\n"
	"	call t_hex\n"
	"	mov $s_busy, %esi\n"
	"	call t_puts\n"
	"	movzbl gdt32 + 0x20 + 5, %eax\n"
	"	and $2, %eax\n"
	"	call t_hex\n"
	"	mov $s_nl, %esi\n"
	"	call t_puts\n"
	"	xor %eax, %eax\n"
	"	out %eax, $0xf4\n"	/* exit status 0 */
	"	hlt\n"
	".code64\n"
	".section .rodata\n"
	"s_a1:	.asciz \"tasks: task A in 32-bit protected mode, calling task B\\n\"\n"
	"s_b1:	.asciz \"tasks: B (called): NT \"\n"
	"s_link: .asciz \", back link \"\n"
	"s_a2:	.asciz \"tasks: A again: EAX \"\n"
	"s_sp:	.asciz \", EBX \"\n"
	"s_tr:	.asciz \", TR \"\n"
	"s_b2:	.asciz \"tasks: B (jumped to through a task gate): NT \"\n"
	"s_a3:	.asciz \"tasks: A again, dividing by zero\\n\"\n"
	"s_c1:	.asciz \"tasks: C (#DE through a task gate): back link \"\n"
	"s_eip:	.asciz \", A's EIP at the div: task_a + \"\n"
	"s_busy: .asciz \", A busy \"\n"
	"s_nl:	.asciz \"\\n\"\n"
	".data\n"
	".balign 8\n"
	"idt32_ptr: .word 63\n"
	"	.long idt32\n"
	".text\n");

static uint64_t tss_desc(const struct tss32 *t)
{
	uint64_t base = (uint64_t)t;
	return 0x67 | ((base & 0xffffff) << 16) | (0x89ull << 40) | ((base >> 24) << 56);
}

static void tss_init(struct tss32 *t, const char *eip, uint8_t *stack)
{
	*t = (struct tss32){ .eip = (uint32_t)(uint64_t)eip, .eflags = 2, .esp = (uint32_t)(uint64_t)(stack + 4096),
			     .cs = T_KCODE, .ss = T_KDATA, .ds = T_KDATA, .es = T_KDATA, .fs = T_KDATA, .gs = T_KDATA,
			     .iomap = sizeof(struct tss32) };
}

void guest_main(const char *cmdline)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr = { sizeof(gdt32) - 1, (uint64_t)gdt32 };
	struct { uint32_t off; uint16_t sel; } __attribute__((packed)) target = { (uint32_t)(uint64_t)task_a, T_KCODE };
	gdt32[T_KCODE / 8] = 0x00cf9a000000ffffull;
	gdt32[T_KDATA / 8] = 0x00cf92000000ffffull;
	gdt32[0x18 / 8] = 0x00af9a000000ffffull;
	gdt32[T_TSS_A / 8] = tss_desc(&tss_a);
	gdt32[T_TSS_B / 8] = tss_desc(&tss_b);
	gdt32[T_GATE_B / 8] = ((uint64_t)T_TSS_B << 16) | (0x85ull << 40);
	gdt32[T_TSS_C / 8] = tss_desc(&tss_c);
	idt32[0] = ((uint64_t)T_TSS_C << 16) | (0x85ull << 40);	/* #DE: task gate to C */
	tss_init(&tss_b, task_b, stack_b);
	tss_init(&tss_c, task_c, stack_c);
	__asm__ volatile("lgdt %0\n\t"
			 "ljmpl *%1" : : "m"(gdtr), "m"(target) : "memory");
	for (;;)
		;
}
