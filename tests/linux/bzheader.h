/* SPDX-License-Identifier: MIT */
/*
 * bzheader.h — the setup sectors and header of a protocol-2.15 bzImage, for the test guests in
 * tests/linux that are not Linux (tiny-bzimage.S, apic-guest.S). The includer defines the label
 * kernel (start of the protected-mode part, at KERNEL_OFF) and kernel_end; startup_64 goes at
 * KERNEL_OFF + 0x200. Define BZ_XLOADFLAGS 0 for a kernel without XLF_KERNEL_64.
 */
#define SETUP_SECTS 1
#define KERNEL_OFF ((SETUP_SECTS + 1) * 512)

	.text
	.globl _start
_start:
	.org 0x1f1
	.byte SETUP_SECTS
	.word 0				/* root_flags */
	.long (kernel_end - kernel) / 16	/* syssize */
	.word 0				/* ram_size */
	.word 0xffff			/* vid_mode */
	.word 0				/* root_dev */
	.word 0xaa55			/* boot_flag */
	.byte 0xeb, header_end - _start - 0x202	/* jump over the header */
	.ascii "HdrS"
	.word 0x020f			/* protocol 2.15 */
	.org 0x211
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.org 0x214
	.long 0x100000			/* code32_start */
	.org 0x22c
	.long 0x7fffffff		/* initrd_addr_max */
	.long 0x200000			/* kernel_alignment */
	.byte 1				/* relocatable_kernel */
	.byte 21			/* min_alignment */
#ifndef BZ_XLOADFLAGS
#define BZ_XLOADFLAGS 0x1
#endif
	.word BZ_XLOADFLAGS		/* xloadflags: XLF_KERNEL_64 unless said otherwise */
	.long 2047			/* cmdline_size */
	.org 0x258
	.quad 0x1000000			/* pref_address */
	.long 0x800000			/* init_size */
	.long 0				/* handover_offset */
	.long 0				/* kernel_info_offset */
header_end:
