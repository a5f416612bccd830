/* SPDX-License-Identifier: MIT */
/*
 * boot.S — shared entry of every test guest.
 *
 * A Multiboot v1 header (ELF and a.out-kludge address fields both valid), a 32-bit entry that
 * switches to long mode with page tables built at link time (no loop runs at boot: CPL0 code is
 * slow under nested KVM), and the 64-bit trampoline into guest_start(mbi, magic).
 *
 * Memory map seen by guests: [0, 1 GiB) identity mapped RAM (2 MiB pages, user-accessible so
 * g_run_user() code can touch it); [3 GiB, 4 GiB) identity mapped uncached for MMIO.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00010003	/* page-align modules, memory info, a.out kludge */

#define SEL_KCODE	0x08
#define SEL_KDATA	0x10

	.section .multiboot, "a"
	.balign 4
	.globl g_multiboot_header
g_multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long g_multiboot_header	/* header_addr */
	.long __image_start		/* load_addr */
	.long __image_data_end		/* load_end_addr */
	.long __image_end		/* bss_end_addr */
	.long _start			/* entry_addr */

	.section .text.boot32, "ax"
	.code32
	.globl _start
_start:
	cli
	movl %eax, %esi			/* Multiboot magic */
	movl %ebx, %edi			/* Multiboot information (physical) */
	lgdt g_gdt_ptr32
	movl $g_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	ljmp $SEL_KCODE, $long_entry

	.code64
long_entry:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	leaq g_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	call guest_start		/* guest_start(mbi = edi, magic = esi) */
1:	cli
	hlt
	jmp 1b

/* ---- page tables, built by the assembler ---- */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl g_pml4
g_pml4:
	.quad g_pdpt + 0x7
	.fill 511, 8, 0
g_pdpt:
	.quad g_pd_low + 0x7		/* [0, 1 GiB) */
	.quad 0
	.quad 0
	.quad g_pd_mmio + 0x7		/* [3 GiB, 4 GiB) */
	.fill 508, 8, 0
g_pd_low:
	.set addr, 0
	.rept 512
	.quad addr + 0x87		/* P | RW | US | PS */
	.set addr, addr + 0x200000
	.endr
g_pd_mmio:
	.set addr, 0xc0000000
	.rept 512
	.quad addr + 0x9f		/* P | RW | US | PWT | PCD | PS */
	.set addr, addr + 0x200000
	.endr

/* ---- GDT: kernel code/data, user data/code, TSS (filled by g_cpu_init) ---- */
	.section .data.gdt, "aw"
	.balign 16
	.globl g_gdt
g_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cff2000000ffff	/* 0x18 user data */
	.quad 0x00affa000000ffff	/* 0x20 user code, 64-bit */
	.quad 0, 0			/* 0x28 TSS (16 bytes) */
g_gdt_end:
	.balign 4
g_gdt_ptr32:
	.word g_gdt_end - g_gdt - 1
	.long g_gdt
	.balign 8
	.globl g_gdt_ptr
g_gdt_ptr:
	.word g_gdt_end - g_gdt - 1
	.quad g_gdt

	.section .bss.stack, "aw", @nobits
	.balign 16
	.space 16384
	.globl g_stack_top
g_stack_top:
