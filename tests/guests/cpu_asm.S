/* SPDX-License-Identifier: MIT */
/* cpu_asm.S — exception entry stubs and the CPL3 round trip used by cpu.c. */
#define SEL_KDATA	0x10
#define SEL_UDATA	0x1b
#define SEL_UCODE	0x23

	.text
	.code64

/* Exceptions 0-31: push a dummy error code where the CPU pushes none, then the vector. */
.macro EXC_STUB vec, has_err
	.balign 16
	.globl g_exc_stub_\vec
g_exc_stub_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm

	EXC_STUB 0, 0
	EXC_STUB 1, 0
	EXC_STUB 2, 0
	EXC_STUB 3, 0
	EXC_STUB 4, 0
	EXC_STUB 5, 0
	EXC_STUB 6, 0
	EXC_STUB 7, 0
	EXC_STUB 8, 1
	EXC_STUB 9, 0
	EXC_STUB 10, 1
	EXC_STUB 11, 1
	EXC_STUB 12, 1
	EXC_STUB 13, 1
	EXC_STUB 14, 1
	EXC_STUB 15, 0
	EXC_STUB 16, 0
	EXC_STUB 17, 1
	EXC_STUB 18, 0
	EXC_STUB 19, 0
	EXC_STUB 20, 0
	EXC_STUB 21, 1
	EXC_STUB 22, 0
	EXC_STUB 23, 0
	EXC_STUB 24, 0
	EXC_STUB 25, 0
	EXC_STUB 26, 0
	EXC_STUB 27, 0
	EXC_STUB 28, 0
	EXC_STUB 29, 1
	EXC_STUB 30, 1
	EXC_STUB 31, 0

exc_common:
	movq %rsp, %rdi			/* struct g_exc_frame * */
	andq $-16, %rsp
	call g_exception		/* does not return */
1:	cli
	hlt
	jmp 1b

/*
 * uint64_t g_run_user(uint64_t (*fn)(uint64_t), uint64_t arg)
 * Saves the callee-saved registers and the kernel stack, iretq's to fn at CPL3 (IOPL 3) on
 * g_user_stack_top; fn's return comes back through the #UD of the ud2 at user_return_ud2
 * (g_ud_entry). Under the nested "PVM" KVM host `int n` from CPL3 raises #UD and `syscall`
 * lands at LSTAR still at CPL3, but exceptions are delivered faithfully.
 */
	.globl g_run_user
g_run_user:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, g_kernel_rsp(%rip)
	movq %rsp, g_tss+4(%rip)	/* rsp0: interrupts at CPL3 land below the saved frame */
	movq %rdi, %rax
	movq %rsi, %rdi
	pushq $SEL_UDATA
	leaq g_user_stack_top(%rip), %rcx
	pushq %rcx
	pushfq
	orq $0x3000, (%rsp)		/* IOPL 3 */
	pushq $SEL_UCODE
	leaq user_trampoline(%rip), %rcx
	pushq %rcx
	iretq
user_trampoline:
	call *%rax
user_return_ud2:
	ud2

/* IDT vector 6: the ud2 above returns to the kernel, any other #UD is reported. */
	.globl g_ud_entry
g_ud_entry:
	cmpq $user_return_ud2, (%rsp)
	je g_user_return
	jmp g_exc_stub_6

g_user_return:
	movq g_kernel_rsp(%rip), %rsp
	movl $SEL_KDATA, %ecx
	movl %ecx, %ss
	movl %ecx, %ds
	movl %ecx, %es
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

	.bss
	.balign 8
g_kernel_rsp:
	.quad 0
	.balign 16
	.space 16384
	.globl g_user_stack_top
g_user_stack_top:
