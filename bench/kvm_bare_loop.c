/* SPDX-License-Identifier: MIT */
/*
 * kvm_bare_loop — the physical limit for exit-heavy guests on this host: the smallest VMM that
 * runs the same hot loop as the pio/mmio test guests (64-bit, CPL0, 4 instructions per
 * iteration: out or 32-bit store, add, cmp, jne) and does nothing on each exit but KVM_RUN again.
 *
 *   kvm_bare_loop pio|mmio ITERATIONS
 * prints "exits N seconds S rate R" (the loop alone, from the first KVM_RUN to the hlt).
 * Exit status: 0 done, 1 usage, 2 KVM unusable (the reason on stderr), 3 unexpected exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE	0x200000ul
#define PML4		0x1000
#define PDPT		0x2000
#define PD_LOW		0x3000
#define PD_MMIO		0x4000
#define CODE		0x10000
#define STACK_TOP	0x20000
#define PIO_PORT	0x80
#define MMIO_ADDR	0xd0000000ul

/* rax = 0, rcx = iterations, rdx = port or address. */
static const uint8_t code_pio[] = {
	0xee,				/* 1: out %al,(%dx) */
	0x48, 0x83, 0xc0, 0x01,		/* add $1,%rax */
	0x48, 0x39, 0xc8,		/* cmp %rcx,%rax */
	0x75, 0xf6,			/* jne 1b */
	0xf4,				/* hlt */
};
static const uint8_t code_mmio[] = {
	0x89, 0x02,			/* 1: mov %eax,(%rdx) */
	0x48, 0x83, 0xc0, 0x01,		/* add $1,%rax */
	0x48, 0x39, 0xc8,		/* cmp %rcx,%rax */
	0x75, 0xf5,			/* jne 1b */
	0xf4,				/* hlt */
};

struct bare_vm {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
};

static void die(int status, const char *what)
{
	fprintf(stderr, "kvm_bare_loop: %s: %s\n", what, strerror(errno));
	exit(status);
}

static void bare_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4), *pdpt = (uint64_t *)(mem + PDPT);
	uint64_t *pd_low = (uint64_t *)(mem + PD_LOW), *pd_mmio = (uint64_t *)(mem + PD_MMIO);

	pml4[0] = PDPT | 3;
	pdpt[0] = PD_LOW | 3;
	pdpt[3] = PD_MMIO | 3;
	pd_low[0] = 0x83;					/* 2 MiB at 0 */
	pd_mmio[(MMIO_ADDR - 0xc0000000ul) >> 21] = MMIO_ADDR | 0x9b;	/* uncached */
}

static void bare_set_cpuid(struct bare_vm *b)
{
	int n = 128;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		die(2, "calloc");
	c->nent = (uint32_t)n;
	if (ioctl(b->kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
		die(2, "KVM_GET_SUPPORTED_CPUID");
	if (ioctl(b->vcpu, KVM_SET_CPUID2, c) < 0)	/* long mode needs CPUID.LM */
		die(2, "KVM_SET_CPUID2");
	free(c);
}

static void bare_long_mode(struct bare_vm *b)
{
	struct kvm_sregs s;
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
				  .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = cs;

	if (ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
		die(2, "KVM_GET_SREGS");
	ds.selector = 16, ds.type = 3, ds.l = 0, ds.db = 1;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.cr3 = PML4;
	s.cr4 = 0x20;				/* PAE */
	s.cr0 = 0x80000011;			/* PG | ET | PE */
	s.efer = 0x500;				/* LME | LMA */
	if (ioctl(b->vcpu, KVM_SET_SREGS, &s) < 0)
		die(2, "KVM_SET_SREGS (long mode)");
}

static void bare_create(struct bare_vm *b, const uint8_t *code, size_t len)
{
	struct kvm_userspace_memory_region r = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE };
	int run_size;

	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm < 0)
		die(2, "/dev/kvm");
	b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		die(2, "KVM_CREATE_VM");
	b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED)
		die(2, "mmap");
	r.userspace_addr = (uint64_t)b->mem;
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die(2, "KVM_SET_USER_MEMORY_REGION");
	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0)
		die(2, "KVM_CREATE_VCPU");
	run_size = ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die(2, "KVM_GET_VCPU_MMAP_SIZE");
	b->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu, 0);
	if (b->run == MAP_FAILED)
		die(2, "mmap vcpu");
	bare_page_tables(b->mem);
	memcpy(b->mem + CODE, code, len);
	bare_set_cpuid(b);
	bare_long_mode(b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct bare_vm b;
	struct kvm_regs regs = { .rip = CODE, .rsp = STACK_TOP, .rflags = 2 };
	char *end;
	int is_mmio;
	unsigned long long n, exits = 0;

	if (argc != 3 || (strcmp(argv[1], "pio") && strcmp(argv[1], "mmio")) ||
	    (n = strtoull(argv[2], &end, 0)) == 0 || *end) {
		fprintf(stderr, "usage: kvm_bare_loop pio|mmio ITERATIONS (> 0)\n");
		return 1;
	}
	is_mmio = !strcmp(argv[1], "mmio");
	bare_create(&b, is_mmio ? code_mmio : code_pio, is_mmio ? sizeof(code_mmio) : sizeof(code_pio));
	regs.rcx = n;
	regs.rdx = is_mmio ? MMIO_ADDR : PIO_PORT;
	if (ioctl(b.vcpu, KVM_SET_REGS, &regs) < 0)
		die(2, "KVM_SET_REGS");
	double t0 = now_s();
	for (;;) {
		if (ioctl(b.vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die(3, "KVM_RUN");
		}
		if (b.run->exit_reason == KVM_EXIT_IO || b.run->exit_reason == KVM_EXIT_MMIO) {
			exits++;
			continue;
		}
		if (b.run->exit_reason == KVM_EXIT_HLT)
			break;
		fprintf(stderr, "kvm_bare_loop: unexpected exit reason %u after %llu exits\n",
			b.run->exit_reason, exits);
		return 3;
	}
	double t = now_s() - t0;
	printf("exits %llu seconds %.6f rate %.0f\n", exits, t, exits / t);
	return exits == n ? 0 : 3;
}
