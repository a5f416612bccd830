/* SPDX-License-Identifier: MIT */
/*
 * kvm_vm_cost — what a VM costs to create and to tear down on this host, without and with the
 * in-kernel irqchip and PIT: the floor under any VMM's start-to-exit time.
 *
 *   kvm_vm_cost [RUNS]     (default 5) prints medians in ms, one line per configuration.
 * Exit status: 0, 1 usage, 2 KVM unusable (the reason on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 100

struct vm_config {
	const char *name;
	int irqchip, pit;
};

static const struct vm_config configs[] = {
	{ "no in-kernel irqchip", 0, 0 },
	{ "KVM_CREATE_IRQCHIP", 1, 0 },
	{ "KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2", 1, 1 },
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One VM with one vCPU: creation and teardown times in ms; -1 when an ioctl fails. */
static int measure(int kvm, const struct vm_config *c, double *create, double *teardown)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	double t0 = now_ms();
	int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu;

	if (vm < 0)
		return -1;
	if ((c->irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) || (c->pit && ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) {
		close(vm);
		return -1;
	}
	double t1 = now_ms();
	close(vcpu);
	close(vm);
	*create = t1 - t0;
	*teardown = now_ms() - t1;
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	int kvm;

	if (argc > 2 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: kvm_vm_cost [RUNS 1..%d]\n", MAX_RUNS);
		return 1;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm_vm_cost: /dev/kvm: %s\n", strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		double create[MAX_RUNS], teardown[MAX_RUNS];
		int n = 0;
		for (int r = 0; r < runs; r++)
			if (measure(kvm, &configs[i], &create[n], &teardown[n]) == 0)
				n++;
		if (n == 0) {
			printf("  %-40s not available: %s\n", configs[i].name, strerror(errno));
			continue;
		}
		printf("  %-40s create %6.2f ms  teardown %6.2f ms\n", configs[i].name, median(create, n),
		       median(teardown, n));
	}
	close(kvm);
	return 0;
}
