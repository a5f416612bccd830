/* SPDX-License-Identifier: MIT */
/*
 * bzunpack.c — the host does the decompressor's work (vmscope --linux-decompress host): the
 * bzImage's payload (payload_offset/payload_length in the setup header, protocol 2.08+) is the
 * kernel proper, vmlinux, xz-compressed with its uncompressed size in the last four bytes.
 * liblzma unpacks it, its ELF64 PT_LOAD segments go to their physical addresses, and vCPU 0
 * starts at its entry, startup_64, in long mode with the same boot_params, page tables and
 * GDT as for the 64-bit entry of the compressed kernel (the way firecracker boots a vmlinux).
 * Nothing is relocated: the kernel runs where it was linked (LOAD_PHYSICAL_ADDR), without KASLR.
 */
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "emu/loader/loader-local.h"
#include "emu/loader/loader.h"

#define BZ_PAYLOAD_OFFSET 0x248
#define BZ_PAYLOAD_LENGTH 0x24c
#define BZ_UNPACK_MAX (1ull << 30)	/* a vmlinux larger than 1 GiB is not a kernel */
#define ELF_PT_LOAD 1

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The compressed payload inside the file, checked against the protected-mode kernel's bytes. */
static int unpack_payload(const struct emu_bzimage *bz, const uint8_t *b, size_t len, const uint8_t **pl,
			  size_t *pl_len, struct emu_load_error *err)
{
	uint64_t off, n;

	if (bz->version < 0x0208)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC,
				     "boot protocol %u.%02u has no payload fields (2.08+ needed to unpack on the host)",
				     bz->version >> 8, bz->version & 0xff);
	off = le32(b + BZ_PAYLOAD_OFFSET);
	n = le32(b + BZ_PAYLOAD_LENGTH);
	if (n < 16 || off > bz->kernel_size || n > bz->kernel_size - off || bz->setup_size + bz->kernel_size > len)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC,
				     "bzImage payload (offset 0x%llx, %llu bytes) is not inside the kernel's %llu bytes",
				     (unsigned long long)off, (unsigned long long)n, (unsigned long long)bz->kernel_size);
	*pl = b + bz->setup_size + off;
	*pl_len = n;
	if (memcmp(*pl, "\xfd" "7zXZ\0", 6))
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOTSUP,
				     "the kernel is not xz-compressed (payload starts %02x %02x %02x %02x): only xz is "
				     "unpacked on the host; use --linux-decompress guest", (*pl)[0], (*pl)[1], (*pl)[2],
				     (*pl)[3]);
	return 0;
}

bool emu_load_bzimage_is_xz(const struct emu_bzimage *bz, const void *buf, size_t len)
{
	struct emu_load_error err;
	const uint8_t *pl;
	size_t pl_len;

	return bz->entry64 && unpack_payload(bz, buf, len, &pl, &pl_len, &err) == 0;
}

/* xz → a malloc'd buffer of exactly the size the payload's last four bytes announce. */
static int unpack_xz(const uint8_t *pl, size_t pl_len, uint8_t **out, size_t *out_len, struct emu_load_error *err)
{
	size_t want = le32(pl + pl_len - 4), in_pos = 0, out_pos = 0;
	uint64_t memlimit = UINT64_MAX;
	lzma_ret r;
	uint8_t *o;

	if (want == 0 || want > BZ_UNPACK_MAX)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC, "the payload announces %zu bytes of vmlinux", want);
	o = malloc(want);
	if (!o)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOMEM, "cannot allocate %zu bytes for vmlinux", want);
	r = lzma_stream_buffer_decode(&memlimit, 0, NULL, pl, &in_pos, pl_len - 4, o, &out_pos, want);
	if (r != LZMA_OK || out_pos != want) {
		free(o);
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC,
				     "the xz payload does not unpack to the %zu bytes it announces (liblzma error %d, %zu bytes)",
				     want, (int)r, out_pos);
	}
	*out = o;
	*out_len = want;
	return 0;
}

/* vmlinux: ELF64 x86-64, every PT_LOAD inside the file and in RAM above 1 MiB, entry in one. */
static int unpack_parse_elf(const uint8_t *e, size_t len, uint64_t ram_size, struct emu_load_image *img,
			    struct emu_load_error *err)
{
	uint64_t phoff;
	unsigned phnum, phentsize;
	bool entry_ok = false;

	memset(img, 0, sizeof(*img));
	if (len < 64 || memcmp(e, "\177ELF\2\1", 6) || le16(e + 18) != 62)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC, "the unpacked kernel is not an x86-64 ELF file");
	phoff = le64(e + 32);
	phentsize = le16(e + 54);
	phnum = le16(e + 56);
	img->format = EMU_IMAGE_ELF64;
	img->entry = le64(e + 24);
	if (phentsize != 56 || phoff > len || (uint64_t)phnum * 56 > len - phoff)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC, "vmlinux: program headers outside the file");
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = e + phoff + i * 56ull;
		struct emu_load_segment s = { le64(ph + 8), le64(ph + 32), le64(ph + 24), le64(ph + 40) };

		if (le32(ph) != ELF_PT_LOAD || !s.memsz)
			continue;
		if (img->nr_segments == EMU_LOAD_MAX_SEGMENTS || s.filesz > s.memsz || s.offset > len ||
		    s.filesz > len - s.offset || s.addr < EMU_BZ_KERNEL_ADDR || s.addr > ram_size ||
		    s.memsz > ram_size - s.addr)
			return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOSPC,
					     "vmlinux segment %u (0x%llx, %llu bytes) does not fit in %llu MiB of RAM", i,
					     (unsigned long long)s.addr, (unsigned long long)s.memsz,
					     (unsigned long long)(ram_size >> 20));
		entry_ok |= img->entry >= s.addr && img->entry - s.addr < s.memsz;
		if (s.addr + s.memsz > img->end)
			img->end = s.addr + s.memsz;
		img->seg[img->nr_segments++] = s;
	}
	if (!entry_ok)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOEXEC,
				     "vmlinux: the entry 0x%llx is not in a loaded segment", (unsigned long long)img->entry);
	return 0;
}

int emu_load_linux_unpacked(struct emu_vm *vm, const struct emu_bzimage *bz, const void *buf, size_t len,
			    const struct emu_linux_options *opts, struct emu_load_error *err)
{
	uint64_t size = emu_vm_ram_size(vm);
	uint8_t *ram = emu_vm_phys_ptr(vm, 0, size), *vmlinux = NULL;
	struct emu_bzimage k = *bz;
	struct emu_load_image img;
	struct emu_linux_layout lay;
	const uint8_t *pl = NULL;
	size_t pl_len = 0, vm_len = 0;
	int e;

	if (!ram)
		return emu_load_fail(err, EMU_LOAD_NO_ROOM, EINVAL, "the VM has no RAM");
	if (!bz->entry64)
		return emu_load_fail(err, EMU_LOAD_BZ_UNPACK, ENOTSUP,
				     "a 32-bit kernel (no XLF_KERNEL_64) cannot be entered at its 64-bit startup_64");
	e = unpack_payload(bz, buf, len, &pl, &pl_len, err);
	if (!e)
		e = unpack_xz(pl, pl_len, &vmlinux, &vm_len, err);
	if (!e)
		e = unpack_parse_elf(vmlinux, vm_len, size, &img, err);
	if (!e && img.end > k.end)
		k.end = img.end;	/* the initrd goes above the unpacked kernel too */
	if (!e)
		e = emu_load_bzimage_ram(&k, buf, len, opts, ram, size, &lay, err);
	if (!e)
		e = emu_load_copy(&img, vmlinux, vm_len, ram, size, err);
	free(vmlinux);
	if (e)
		return e;
	k.entry = img.entry;
	e = emu_load_set_linux_cpu(emu_vm_vcpu(vm, 0), &k, &lay);
	if (e)
		return emu_load_fail(err, EMU_LOAD_IO, -e, "cannot set the boot vCPU state: %s", strerror(-e));
	return 0;
}
