/* SPDX-License-Identifier: MIT */
/*
 * load.c — putting a parsed image into guest RAM: segments, modules, the Multiboot information
 * (memory sizes, memory map, command line, modules, boot loader name) above the image, and the
 * initial state of vCPU 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu/loader/loader-local.h"

#define MBI_SIZE 88
#define MBI_MEM (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

#define LOW_MEM_END 0x9fc00ull		/* conventional memory below the EBDA */
#define HIGH_MEM_START 0x100000ull

int emu_load_copy(const struct emu_load_image *img, const void *buf, size_t len, uint8_t *ram, uint64_t ram_size,
		  struct emu_load_error *err)
{
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct emu_load_segment *s = &img->seg[i];

		/* parse validated these; re-check so a hand-made image cannot write out of bounds */
		if (s->addr > ram_size || s->memsz > ram_size - s->addr || s->filesz > s->memsz || s->offset > len ||
		    s->filesz > len - s->offset)
			return emu_load_fail(err, EMU_LOAD_SEG_OUTSIDE_RAM, EINVAL, "segment %u does not fit", i);
		memcpy(ram + s->addr, (const uint8_t *)buf + s->offset, s->filesz);
		memset(ram + s->addr + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

/* ---- the Multiboot information: a bump allocator over RAM above the image ---- */

struct mbi_area {
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t cur;
};

static int mbi_alloc(struct mbi_area *a, uint64_t len, uint64_t align, uint64_t *gpa, struct emu_load_error *err)
{
	uint64_t at = (a->cur + align - 1) & ~(align - 1);

	if (at < a->cur || at > a->ram_size || len > a->ram_size - at || at + len > UINT32_MAX)
		return emu_load_fail(err, EMU_LOAD_NO_ROOM, ENOSPC,
				 "no room for the boot information and modules in %llu KiB of RAM (try a larger -m)",
				 (unsigned long long)(a->ram_size >> 10));
	memset(a->ram + at, 0, len);
	a->cur = at + len;
	*gpa = at;
	return 0;
}

static int mbi_string(struct mbi_area *a, const char *s, uint32_t *gpa, struct emu_load_error *err)
{
	size_t n = strlen(s) + 1;
	uint64_t at;
	int e = mbi_alloc(a, n, 1, &at, err);

	if (e)
		return e;
	memcpy(a->ram + at, s, n);
	*gpa = (uint32_t)at;
	return 0;
}

static void mbi_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* x86 hosts only: little endian like the guest */
}

static void mbi_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* The memory map: conventional memory, the legacy hole (reserved), then RAM from 1 MiB. */
static int mbi_mmap(struct mbi_area *a, uint8_t *mbi, struct emu_load_error *err)
{
	const struct { uint64_t base, end; uint32_t type; } map[] = {
		{ 0, LOW_MEM_END, 1 },
		{ LOW_MEM_END, HIGH_MEM_START, 2 },
		{ HIGH_MEM_START, a->ram_size, 1 },
	};
	unsigned n = a->ram_size > HIGH_MEM_START ? 3 : 2;
	uint64_t at;
	int e = mbi_alloc(a, n * 24ull, 4, &at, err);

	if (e)
		return e;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = a->ram + at + i * 24;
		mbi_put32(p, 20);
		mbi_put64(p + 4, map[i].base);
		mbi_put64(p + 12, map[i].end - map[i].base);
		mbi_put32(p + 20, map[i].type);
	}
	mbi_put32(mbi + 44, n * 24);
	mbi_put32(mbi + 48, (uint32_t)at);
	return 0;
}

static int mbi_modules(struct mbi_area *a, const struct emu_boot_options *o, uint8_t *mbi, struct emu_load_error *err)
{
	uint64_t list;
	int e = mbi_alloc(a, o->nr_modules * 16ull, 4, &list, err);

	for (unsigned i = 0; !e && i < o->nr_modules; i++) {
		const struct emu_load_module *m = &o->modules[i];
		uint64_t at;
		uint32_t str = 0;

		e = mbi_alloc(a, m->size, 4096, &at, err);
		if (!e)
			e = mbi_string(a, m->cmdline ? m->cmdline : "", &str, err);
		if (e)
			break;
		memcpy(a->ram + at, m->data, m->size);
		mbi_put32(a->ram + list + i * 16, (uint32_t)at);
		mbi_put32(a->ram + list + i * 16 + 4, (uint32_t)(at + m->size));
		mbi_put32(a->ram + list + i * 16 + 8, str);
	}
	if (e)
		return e;
	mbi_put32(mbi + 20, o->nr_modules);
	mbi_put32(mbi + 24, (uint32_t)list);
	return 0;
}

int emu_load_build_mbi(const struct emu_load_image *img, const struct emu_boot_options *opts, uint8_t *ram,
		       uint64_t ram_size, uint64_t *mbi_gpa, struct emu_load_error *err)
{
	struct mbi_area a = { ram, ram_size, img->end };
	uint32_t flags = MBI_MEM | MBI_MMAP | MBI_LOADER_NAME | MBI_CMDLINE, str;
	uint64_t at;
	uint8_t *mbi;
	int e = mbi_alloc(&a, MBI_SIZE, 4096, &at, err);

	if (e)
		return e;
	mbi = ram + at;
	mbi_put32(mbi + 4, (uint32_t)((ram_size < LOW_MEM_END ? ram_size : LOW_MEM_END) >> 10));
	mbi_put32(mbi + 8, ram_size > HIGH_MEM_START ? (uint32_t)((ram_size - HIGH_MEM_START) >> 10) : 0);
	e = mbi_mmap(&a, mbi, err);
	if (!e)
		e = mbi_string(&a, opts && opts->cmdline ? opts->cmdline : "", &str, err);
	if (!e)
		mbi_put32(mbi + 16, str);
	if (!e)
		e = mbi_string(&a, "vmscope", &str, err);
	if (!e)
		mbi_put32(mbi + 64, str);
	if (!e && opts && opts->nr_modules) {
		flags |= MBI_MODS;
		e = mbi_modules(&a, opts, mbi, err);
	}
	if (e)
		return e;
	mbi_put32(mbi, flags);
	*mbi_gpa = at;
	return 0;
}

/* ---- vCPU 0 ---- */

int emu_load_set_boot_cpu(struct emu_vcpu *vcpu, uint64_t entry, uint64_t mbi)
{
	struct emu_segment code = { .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb, .present = 1,
				    .db = 1, .s = 1, .g = 1 };
	struct emu_segment data = code;
	struct emu_regs regs = { .rax = EMU_MB_BOOT_MAGIC, .rbx = mbi, .rip = entry, .rflags = 0x2 };
	struct emu_sregs s;
	int err = emu_vcpu_get_sregs(vcpu, &s);

	if (err)
		return err;
	data.selector = 0x18;
	data.type = 0x3;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct emu_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s.ldt = (struct emu_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s.gdt = (struct emu_dtable){ 0, 0 };
	s.idt = (struct emu_dtable){ 0, 0 };
	s.cr0 = 0x11;	/* PE | ET */
	s.cr2 = s.cr3 = s.cr4 = 0;
	s.efer = 0;
	err = emu_vcpu_set_sregs(vcpu, &s);
	if (!err)
		err = emu_vcpu_set_regs(vcpu, &regs);
	return err;
}

int emu_load_boot(struct emu_vm *vm, const struct emu_load_image *img, const void *buf, size_t len,
		  const struct emu_boot_options *opts, struct emu_load_error *err)
{
	uint64_t size = emu_vm_ram_size(vm), mbi;
	uint8_t *ram = emu_vm_phys_ptr(vm, 0, size);
	int e;

	if (!ram)
		return emu_load_fail(err, EMU_LOAD_NO_ROOM, EINVAL, "the VM has no RAM");
	e = emu_load_copy(img, buf, len, ram, size, err);
	if (!e)
		e = emu_load_build_mbi(img, opts, ram, size, &mbi, err);
	if (e)
		return e;
	e = emu_load_set_boot_cpu(emu_vm_vcpu(vm, 0), img->entry, mbi);
	if (e)
		return emu_load_fail(err, EMU_LOAD_IO, -e, "cannot set the boot vCPU state: %s", strerror(-e));
	return 0;
}

/* ---- files ---- */

static int load_read_all(int fd, uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, p + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

int emu_load_read_file(const char *path, size_t max, void **buf, size_t *len, struct emu_load_error *err)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	memset(err, 0, sizeof(*err));
	if (fd < 0)
		return emu_load_fail(err, EMU_LOAD_IO, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return emu_load_fail(err, EMU_LOAD_IO, EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return emu_load_fail(err, EMU_LOAD_IO, EFBIG, "%s: %lld bytes, larger than guest RAM", path, (long long)st.st_size);
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	e = p ? load_read_all(fd, p, (size_t)st.st_size) : -ENOMEM;
	close(fd);
	if (e) {
		free(p);
		return emu_load_fail(err, EMU_LOAD_IO, -e, "%s: %s", path, strerror(-e));
	}
	*buf = p;
	*len = (size_t)st.st_size;
	return 0;
}
