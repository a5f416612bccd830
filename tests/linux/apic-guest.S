/* SPDX-License-Identifier: MIT */
/*
 * apic-guest.S — a guest in bzImage form (tests/linux/bzheader.h; the loader enters it in long
 * mode at 0x100200, linked so) that uses the local APIC and the I/O APIC the way a kernel
 * does: a self-IPI, the LAPIC timer (one-shot, then periodic), an
 * ISA interrupt (PIT IRQ 0) routed through the I/O APIC with the 8259 masked (pin 2 as on PCs,
 * and pin 0 too: KVM's default routing without QEMU's override uses it). It reports through COM1 ("I T P" as
 * interrupts arrive) and ends through isa-debug-exit with 0x11 (exit status 0x23 = 35) when all
 * arrived, or 0x40 + the failed step. The same bytes run against KVM's in-kernel APICs
 * (--kernel-irqchip on: the oracle), vmscope's own (--kernel-irqchip off) and the interpreter.
 */
#define LAPIC 0xfee00000
#define IOAPIC 0xfec00000
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4
#define V_IPI 0x41
#define V_TIMER 0x40
#define V_PIT 0x42

#include "tests/linux/bzheader.h"

	.org KERNEL_OFF
kernel:
	.org KERNEL_OFF + 0x200
	.code64
startup_64:				/* CS 0x10 (long mode), DS 0x18 from the loader's GDT */
	mov $stack_top, %esp
	mov $LAPIC, %ebp		/* the APICs lie above 2 GiB: addressed through registers */
	mov $IOAPIC, %r12d
	call fill_idt
	lidt idt_desc
	mov $0xff, %al			/* the 8259s masked: every interrupt comes through the APICs */
	out %al, $0x21
	out %al, $0xa1
	movl $0x1ff, 0xf0(%rbp)	/* SVR: software enable, spurious vector 0xff */
	sti

	/* 1: a self-IPI */
	movl $(0x00040000 | V_IPI), 0x300(%rbp)
	mov $1, %bl
	mov $n_ipi, %esi
	mov $1, %ecx
	call wait_for

	/* 2: the LAPIC timer, one-shot, divide by 1 */
	movl $0xb, 0x3e0(%rbp)
	movl $V_TIMER, 0x320(%rbp)
	movl $200000, 0x380(%rbp)
	mov $2, %bl
	mov $n_timer, %esi
	mov $1, %ecx
	call wait_for
	movl 0x390(%rbp), %eax	/* one-shot: the count stays at 0 */
	test %eax, %eax
	mov $3, %bl
	jnz fail

	/* 3: periodic, three more ticks, then masked */
	movl $(0x20000 | V_TIMER), 0x320(%rbp)
	movl $100000, 0x380(%rbp)
	mov $4, %bl
	mov $n_timer, %esi
	mov $4, %ecx
	call wait_for
	movl $(0x10000 | 0x20000 | V_TIMER), 0x320(%rbp)

	/* 4: PIT channel 0 (IRQ 0) through I/O APIC pin 2, edge, to APIC ID 0 */
	movl $0x01, (%r12)		/* version register */
	mov 0x10(%r12), %eax
	cmp $0x11, %al			/* version 0x11 or 0x20 both fine: low byte >= 0x11 */
	mov $5, %bl
	jb fail
	movl $0x15, (%r12)		/* pin 2: dest APIC 0, vector V_PIT, edge */
	movl $0, 0x10(%r12)
	movl $0x14, (%r12)
	movl $V_PIT, 0x10(%r12)
	movl $0x11, (%r12)		/* pin 0: the same */
	movl $0, 0x10(%r12)
	movl $0x10, (%r12)
	movl $V_PIT, 0x10(%r12)
	mov $0x34, %al			/* PIT channel 0, mode 2, lobyte/hibyte */
	out %al, $0x43
	mov $0x00, %al			/* count 0x1000: about 3.4 ms */
	out %al, $0x40
	mov $0x10, %al
	out %al, $0x40
	mov $6, %bl
	mov $n_pit, %esi
	mov $1, %ecx
	call wait_for
	movl $0x14, (%r12)
	movl $(0x10000 | V_PIT), 0x10(%r12)	/* masked again */
	movl $0x10, (%r12)
	movl $(0x10000 | V_PIT), 0x10(%r12)

	mov $'\n', %al
	mov $COM1, %dx
	out %al, %dx
	mov $0x11, %al
	out %al, $DEBUG_EXIT
	cli
	hlt

/* wait_for: hlt until the counter at (%esi) reaches %ecx; bl = the step, for fail. A run that
 * never gets its interrupt halts for ever (the test's timeout says so). */
wait_for:
2:	cli
	cmp %ecx, (%esi)
	jae 3f
	sti
	hlt
	jmp 2b
3:	sti
	ret

fail:
	cli
	mov $0x40, %al
	add %bl, %al
	out %al, $DEBUG_EXIT
	hlt

/* ---- interrupt handlers: count, print a letter, EOI ---- */
.macro handler name, counter, letter
\name:
	push %rax
	push %rdx
	incl \counter
	mov $\letter, %al
	mov $COM1, %dx
	out %al, %dx
	mov $(LAPIC + 0xb0), %eax
	movl $0, (%rax)
	pop %rdx
	pop %rax
	iretq
.endm
	handler h_ipi, n_ipi, 'I'
	handler h_timer, n_timer, 'T'
	handler h_pit, n_pit, 'P'

h_other:				/* any other vector: fail with 0x7f */
	mov $0x7f, %al
	out %al, $DEBUG_EXIT
	cli
	hlt
h_spurious:				/* 0xff: no EOI */
	iretq

/* Every gate to h_other, then the ones in use. */
fill_idt:
	xor %ecx, %ecx
1:	mov $h_other, %eax
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jne 1b
	mov $V_IPI, %ecx
	mov $h_ipi, %eax
	call set_gate
	mov $V_TIMER, %ecx
	mov $h_timer, %eax
	call set_gate
	mov $V_PIT, %ecx
	mov $h_pit, %eax
	call set_gate
	mov $0xff, %ecx
	mov $h_spurious, %eax
	call set_gate
	ret
/* set_gate: IDT entry ecx = 64-bit interrupt gate to eax (below 4 GiB), selector 0x10. */
set_gate:
	mov %ecx, %edx
	shl $4, %edx
	mov %ax, idt(%edx)
	movw $0x10, idt + 2(%edx)
	movw $0x8e00, idt + 4(%edx)
	shr $16, %eax
	mov %ax, idt + 6(%edx)
	movl $0, idt + 8(%edx)
	movl $0, idt + 12(%edx)
	ret

	.balign 8
idt_desc:
	.word 256 * 16 - 1
	.quad idt
n_ipi:	.long 0
n_timer:	.long 0
n_pit:	.long 0
	.balign 16
idt:	.space 256 * 16
	.space 1024
stack_top:
kernel_end:
