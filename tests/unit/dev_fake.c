/* SPDX-License-Identifier: MIT */
/* dev_fake.c — see dev_fake.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/dev_fake.h"

struct emu_vm *devtest_vm_new(void)
{
	struct emu_vm *vm = calloc(1, sizeof(*vm));
	pthread_condattr_t ca;

	if (!vm)
		abort();
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->changed, &ca);
	pthread_condattr_destroy(&ca);
	return vm;
}

void devtest_vm_free(struct emu_vm *vm)
{
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->changed);
	free(vm);
}

int emu_io_register(struct emu_vm *vm, enum emu_io_space space, uint64_t base, uint64_t len, const char *name,
		    const struct emu_io_ops *ops, void *opaque)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	for (int i = 0; i < vm->nr_regions; i++) {
		const struct devtest_region *r = &vm->regions[i];
		if (r->space == space && base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	if (vm->nr_regions == DEVTEST_MAX_REGIONS)
		return -ENOSPC;
	vm->regions[vm->nr_regions++] = (struct devtest_region){ space, base, len, name, ops, opaque };
	return 0;
}

static const struct devtest_region *find_pio(struct emu_vm *vm, uint16_t port)
{
	for (int i = 0; i < vm->nr_regions; i++) {
		const struct devtest_region *r = &vm->regions[i];
		if (r->space == EMU_IO_PIO && port >= r->base && port < r->base + r->len)
			return r;
	}
	return NULL;
}

uint64_t devtest_in(struct emu_vm *vm, uint16_t port, unsigned size)
{
	const struct devtest_region *r = find_pio(vm, port);

	if (!r)
		return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	return r->ops->read(r->opaque, port - r->base, size);
}

void devtest_out(struct emu_vm *vm, uint16_t port, unsigned size, uint64_t value)
{
	const struct devtest_region *r = find_pio(vm, port);

	if (r)
		r->ops->write(r->opaque, port - r->base, size, value);
}

void emu_vm_set_irq(struct emu_vm *vm, unsigned irq, int level)
{
	if (irq >= 16)
		abort();
	pthread_mutex_lock(&vm->lock);
	if (level && !vm->irq_level[irq])
		vm->irq_raises[irq]++;
	if (!level && vm->irq_level[irq])
		vm->irq_lowers[irq]++;
	vm->irq_level[irq] = level != 0;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->lock);
}

void emu_vm_request_end(struct emu_vm *vm, enum emu_end_reason reason, int status, const char *message)
{
	pthread_mutex_lock(&vm->lock);
	vm->end_requests++;
	vm->end_reason = reason;
	vm->end_status = status;
	snprintf(vm->end_message, sizeof(vm->end_message), "%s", message ? message : "");
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->lock);
}

void emu_vm_set_intr_controller(struct emu_vm *vm, const struct emu_intr_ops *ops, void *opaque)
{
	vm->intr_ops = ops;
	vm->intr_opaque = opaque;
}

void emu_vm_get_intr_controller(struct emu_vm *vm, const struct emu_intr_ops **ops, void **opaque)
{
	*ops = vm->intr_ops;
	*opaque = vm->intr_opaque;
}

__thread struct emu_vcpu *devtest_current_vcpu;

struct emu_vcpu *emu_io_current_vcpu(void)
{
	return devtest_current_vcpu;
}

unsigned emu_vcpu_index(const struct emu_vcpu *vcpu)
{
	return vcpu->index;
}

static const struct devtest_region *find_mmio(struct emu_vm *vm, uint64_t addr)
{
	for (int i = 0; i < vm->nr_regions; i++) {
		const struct devtest_region *r = &vm->regions[i];
		if (r->space == EMU_IO_MMIO && addr >= r->base && addr - r->base < r->len)
			return r;
	}
	return NULL;
}

uint64_t devtest_mmio_read(struct emu_vm *vm, uint64_t addr, unsigned size)
{
	const struct devtest_region *r = find_mmio(vm, addr);

	if (!r)
		return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	return r->ops->read(r->opaque, addr - r->base, size);
}

void devtest_mmio_write(struct emu_vm *vm, uint64_t addr, unsigned size, uint64_t value)
{
	const struct devtest_region *r = find_mmio(vm, addr);

	if (r)
		r->ops->write(r->opaque, addr - r->base, size, value);
}

void emu_vcpu_startup(struct emu_vm *vm, unsigned index, uint8_t vector)
{
	pthread_mutex_lock(&vm->lock);
	vm->startups++;
	vm->startup_index = index;
	vm->startup_vector = vector;
	pthread_mutex_unlock(&vm->lock);
}

void emu_vm_kick_all(struct emu_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->kicks++;
	pthread_mutex_unlock(&vm->lock);
}

int devtest_irq_level(struct emu_vm *vm, unsigned irq)
{
	pthread_mutex_lock(&vm->lock);
	int v = vm->irq_level[irq];
	pthread_mutex_unlock(&vm->lock);
	return v;
}

unsigned devtest_irq_raises(struct emu_vm *vm, unsigned irq)
{
	pthread_mutex_lock(&vm->lock);
	unsigned v = vm->irq_raises[irq];
	pthread_mutex_unlock(&vm->lock);
	return v;
}

unsigned devtest_wait_irq_raises(struct emu_vm *vm, unsigned irq, unsigned count, int max_seconds)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += max_seconds;
	pthread_mutex_lock(&vm->lock);
	while (vm->irq_raises[irq] < count &&
	       pthread_cond_timedwait(&vm->changed, &vm->lock, &deadline) != ETIMEDOUT)
		;
	unsigned v = vm->irq_raises[irq];
	pthread_mutex_unlock(&vm->lock);
	return v;
}
