/* SPDX-License-Identifier: MIT */
/*
 * tiny-bzimage.S — a bzImage that is not Linux: a protocol-2.15 setup header like Debian's kernel
 * and a "kernel" that checks what the boot loader promised (Documentation/arch/x86/boot.rst),
 * prints the command line and the initrd on COM1, and ends through isa-debug-exit (0xf4) with
 * value 3 (vmscope exit status 7) when every check passed, or 0x40 + the number of the failed
 * check. Built flat with objcopy -O binary. With -DENTRY32 the header lacks XLF_KERNEL_64, so the
 * loader enters at code32_start in 32-bit protected mode instead of startup_64.
 */
#ifdef ENTRY32
#define BZ_XLOADFLAGS 0
#endif
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

#include "tests/linux/bzheader.h"

	.org KERNEL_OFF
kernel:
/* ---- 32-bit entry (code32_start): flat protected mode, paging off, ESI = boot_params ---- */
	.code32
startup_32:
	mov %cr0, %eax
	test $1, %al			/* check 1: protected mode */
	mov $1, %bl
	jz fail32
	test $0x80000000, %eax		/* check 2: paging off */
	mov $2, %bl
	jnz fail32
	mov %cs, %ax
	cmp $0x10, %ax			/* check 3: __BOOT_CS */
	mov $3, %bl
	jne fail32
	mov %ds, %ax
	cmp $0x18, %ax			/* check 4: __BOOT_DS */
	mov $4, %bl
	jne fail32
	mov $'3', %al
	mov $COM1, %dx
	out %al, %dx
	mov $'2', %al
	out %al, %dx
	mov $' ', %al
	out %al, %dx
	movzbl 0x1e8(%esi), %eax	/* check 5: three e820 entries */
	cmp $3, %al
	mov $5, %bl
	jne fail32
	mov $DEBUG_EXIT, %dx
	out %al, %dx
	hlt
fail32:
	mov $0x40, %al
	add %bl, %al
	mov $DEBUG_EXIT, %dx
	out %al, %dx
	hlt

/* ---- 64-bit entry (startup_64 = load address + 0x200): long mode, identity mapped ---- */
	.org KERNEL_OFF + 0x200
	.code64
startup_64:
	movabs $0x1234567800000000, %rax	/* check 1: 64-bit operands */
	shr $32, %rax
	cmp $0x12345678, %eax
	mov $1, %bl
	jne fail
	mov %cs, %ax			/* check 2: __BOOT_CS */
	cmp $0x10, %ax
	mov $2, %bl
	jne fail
	push %rsi			/* check 3: a usable stack */
	pop %rcx
	cmp %rsi, %rcx
	mov $3, %bl
	jne fail
	cmpb $0xff, 0x210(%rsi)		/* check 4: type_of_loader */
	mov $4, %bl
	jne fail
	cmpb $3, 0x1e8(%rsi)		/* check 5: e820: 3 entries, RAM from 1 MiB */
	mov $5, %bl
	jne fail
	cmpq $0x100000, 0x2d0 + 2 * 20(%rsi)
	jne fail
	cmpl $1, 0x2d0 + 2 * 20 + 16(%rsi)
	jne fail
	cmpl $0x9fc00, 0x2d0 + 20(%rsi)	/* the reserved hole */
	jne fail
	mov $COM1, %dx
	mov 0x228(%rsi), %ebx		/* the command line */
1:	mov (%rbx), %al
	test %al, %al
	jz 2f
	out %al, %dx
	inc %rbx
	jmp 1b
2:	mov $'\n', %al
	out %al, %dx
	mov 0x218(%rsi), %ebx		/* the initrd: ramdisk_image, ramdisk_size */
	mov 0x21c(%rsi), %ecx
3:	jrcxz 4f
	mov (%rbx), %al
	out %al, %dx
	inc %rbx
	dec %rcx
	jmp 3b
4:	mov $3, %al
	mov $DEBUG_EXIT, %dx
	out %al, %dx
	hlt
fail:
	mov $0x40, %al
	add %bl, %al
	mov $DEBUG_EXIT, %dx
	out %al, %dx
	hlt
	.balign 16
kernel_end:
