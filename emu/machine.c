/* SPDX-License-Identifier: MIT */
/*
 * machine.c — VM lifetime: backend selection, guest RAM (one mmap'd block at guest physical 0),
 * bounds-checked physical memory access, interrupt routing and the accessors backends use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emu/emu-local.h"
#include "emu/trace-events.h"

/* The interpreter backend (emu/x86, always linked): auto falls back to it when KVM is not usable. */

#define EMU_RAM_MIN (1ull << 20)
#define EMU_RAM_MAX (3ull << 30)	/* below the PCI hole, the TSS page and the APICs */

void emu_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static const struct accel_ops *machine_interp_ops(void)
{
	return &emu_interp_accel_ops;
}

/* Picks the backend: an explicit choice must probe ok; auto prefers KVM. */
static int machine_select_accel(enum emu_accel_kind kind, const struct accel_ops **out, char *why, size_t why_len)
{
	const struct accel_ops *interp = machine_interp_ops();
	char kvm_why[192] = "";
	int err;

	if (kind == EMU_ACCEL_INTERP) {
		if (!interp) {
			emu_why(why, why_len, "the interpreter backend is not built into this vmscope");
			return -ENOTSUP;
		}
		*out = interp;
		return interp->probe ? interp->probe(why, why_len) : 0;
	}
	err = emu_kvm_accel_ops.probe(kvm_why, sizeof(kvm_why));
	if (err == 0 || kind == EMU_ACCEL_KVM || !interp) {
		*out = &emu_kvm_accel_ops;
		if (err)
			emu_why(why, why_len, "%s", kvm_why);
		return err;
	}
	*out = interp;
	return interp->probe ? interp->probe(why, why_len) : 0;
}

static int machine_ram_alloc(struct emu_vm *vm, uint64_t size, char *why, size_t why_len)
{
	void *p;

	if (size < EMU_RAM_MIN || size > EMU_RAM_MAX || size % 4096) {
		emu_why(why, why_len, "RAM size %llu bytes: must be a multiple of 4 KiB between 1 MiB and 3 GiB",
			    (unsigned long long)size);
		return -EINVAL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		emu_why(why, why_len, "cannot map %llu bytes of guest RAM: %s", (unsigned long long)size, strerror(e));
		return -e;
	}
	vm->ram = p;
	vm->ram_size = size;
	return 0;
}

static struct emu_vm *machine_alloc(const struct emu_config *cfg)
{
	struct emu_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	snprintf(vm->name, sizeof(vm->name), "%s", cfg->name ? cfg->name : "vmscope");
	vm->cfg.name = vm->name;
	vm->step_vcpu = -1;
	vm->paused = cfg->start_paused;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->intr_lock, NULL);
	pthread_mutex_init(&vm->debug_lock, NULL);
	if (emu_bus_init(&vm->bus)) {
		free(vm);
		return NULL;
	}
	return vm;
}

/* Time from the instruction count needs a backend that counts them, one vCPU (one count), and a
 * shift that keeps 2^shift ns per instruction sensible. */
static int machine_check_icount(struct emu_vm *vm, char *why, size_t why_len)
{
	if (!vm->cfg.icount)
		return 0;
	if (!vm->ops->icount) {
		emu_why(why, why_len, "time from the instruction count needs the interpreter (--accel interp): %s runs guest "
			"code natively and cannot count instructions", vm->ops->name);
		return -EINVAL;
	}
	if (vm->cfg.nr_vcpus != 1) {
		emu_why(why, why_len, "time from the instruction count works with one vCPU (got %u): drop --smp",
			vm->cfg.nr_vcpus);
		return -EINVAL;
	}
	if (vm->cfg.icount_shift > 10) {
		emu_why(why, why_len, "instruction count shift %u: must be 0 to 10 (2^shift ns per instruction)",
			vm->cfg.icount_shift);
		return -EINVAL;
	}
	return 0;
}

static int machine_create_steps(struct emu_vm *vm, char *why, size_t why_len)
{
	int err;

	if (vm->cfg.nr_vcpus < 1 || vm->cfg.nr_vcpus > 64) {
		emu_why(why, why_len, "%u vCPUs: vmscope supports 1 to 64", vm->cfg.nr_vcpus);
		return -EINVAL;
	}
	err = machine_select_accel(vm->cfg.icount && vm->cfg.accel == EMU_ACCEL_AUTO ? EMU_ACCEL_INTERP : vm->cfg.accel,
				   &vm->ops, why, why_len);
	if (err)
		return err;
	err = machine_check_icount(vm, why, why_len);
	if (err)
		return err;
	err = machine_ram_alloc(vm, vm->cfg.ram_size, why, why_len);
	if (err)
		return err;
	err = vm->ops->vm_init(vm, why, why_len);
	if (err)
		return err;
	err = emu_vcpus_create(vm);
	if (err) {
		emu_why(why, why_len, "cannot create %u vCPUs on %s: %s", vm->cfg.nr_vcpus, vm->ops->name,
			    strerror(-err));
		return err;
	}
	return emu_devices_create(vm, why, why_len);
}

int emu_vm_create(const struct emu_config *cfg, struct emu_vm **out, char *why, size_t why_len)
{
	struct emu_vm *vm;
	int err;

	*out = NULL;
	vm = machine_alloc(cfg);
	if (!vm) {
		emu_why(why, why_len, "out of memory");
		return -ENOMEM;
	}
	err = machine_create_steps(vm, why, why_len);
	if (err) {
		emu_vm_destroy(vm);
		return err;
	}
	*out = vm;
	return 0;
}

void emu_vm_destroy(struct emu_vm *vm)
{
	if (!vm)
		return;
	emu_vcpus_stop(vm);		/* no vCPU thread runs device code any more */
	emu_devices_destroy(vm);	/* device threads (PIT, UART) stop: nobody raises IRQs */
	emu_vcpus_destroy(vm);
	if (vm->ops && vm->ops->vm_destroy && vm->accel_data)
		vm->ops->vm_destroy(vm);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	emu_bus_fini(&vm->bus);
	pthread_mutex_destroy(&vm->debug_lock);
	pthread_mutex_destroy(&vm->intr_lock);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* ---- accessors ---- */

const char *emu_vm_accel_name(const struct emu_vm *vm) { return vm->ops ? vm->ops->name : "none"; }
unsigned emu_vm_nr_vcpus(const struct emu_vm *vm) { return vm->nr_vcpus; }
struct emu_vcpu *emu_vm_vcpu(struct emu_vm *vm, unsigned index) { return index < vm->nr_vcpus ? vm->vcpus[index] : NULL; }
unsigned emu_vcpu_index(const struct emu_vcpu *vcpu) { return vcpu->index; }
struct emu_vm *emu_vcpu_vm(struct emu_vcpu *vcpu) { return vcpu->vm; }
uint64_t emu_vm_ram_size(const struct emu_vm *vm) { return vm->ram_size; }
uint8_t *emu_vm_ram(struct emu_vm *vm) { return vm->ram; }
const struct emu_config *emu_vm_config(const struct emu_vm *vm) { return &vm->cfg; }
void *emu_vm_accel_data(struct emu_vm *vm) { return vm->accel_data; }
void emu_vm_set_accel_data(struct emu_vm *vm, void *data) { vm->accel_data = data; }
void *emu_vcpu_accel_data(struct emu_vcpu *vcpu) { return vcpu->accel_data; }
void emu_vcpu_set_accel_data(struct emu_vcpu *vcpu, void *data) { vcpu->accel_data = data; }

bool emu_vcpu_has_request(const struct emu_vcpu *vcpu)
{
	return atomic_load_explicit(&vcpu->request, memory_order_relaxed) != 0;
}

/* ---- guest physical memory ---- */

void *emu_vm_phys_ptr(struct emu_vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa >= vm->ram_size || len > vm->ram_size - gpa)
		return NULL;
	return vm->ram + gpa;
}

int emu_vm_read_phys(struct emu_vm *vm, uint64_t gpa, void *buf, size_t len)
{
	void *p = emu_vm_phys_ptr(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int emu_vm_write_phys(struct emu_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	void *p = emu_vm_phys_ptr(vm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	if (vm->ops && vm->ops->phys_written)
		vm->ops->phys_written(vm, gpa, len);
	return 0;
}

/* ---- system reset ---- */

void emu_vm_set_reset_handler(struct emu_vm *vm, emu_reset_handler fn, void *opaque)
{
	pthread_mutex_lock(&vm->lock);
	vm->reset_fn = fn;
	vm->reset_opaque = opaque;
	pthread_mutex_unlock(&vm->lock);
}

int emu_vm_reset(struct emu_vm *vm)
{
	bool was_paused = emu_vm_is_paused(vm);
	int err;

	if (!vm->reset_fn)
		return -EOPNOTSUPP;
	err = emu_vm_pause(vm);
	if (err)
		return err;
	/* A private anonymous mapping reads back as zeros; KVM follows through its MMU notifier. */
	if (madvise(vm->ram, vm->ram_size, MADV_DONTNEED) < 0)
		memset(vm->ram, 0, vm->ram_size);
	err = vm->reset_fn(vm->reset_opaque, vm);
	emu_debug_replant_all(vm);
	if (!was_paused) {
		int e = emu_vm_resume(vm, -1);
		if (!err)
			err = e;
	}
	return err;
}

/* ---- interrupts ---- */

void emu_vm_set_irq(struct emu_vm *vm, unsigned irq, int level)
{
	if (irq > 15)
		return;
	trace_irq_set(irq, level);
	if (vm->ops->has_irqchip && vm->ops->has_irqchip(vm)) {
		vm->ops->set_irq_line(vm, irq, level);
		return;
	}
	pthread_mutex_lock(&vm->intr_lock);
	if (vm->intr)
		vm->intr->set_irq(vm->intr_opaque, irq, level);
	pthread_mutex_unlock(&vm->intr_lock);
	/* Wake only the vCPUs that have something to take (the 8259's INTR goes to the boot CPU). */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (emu_vcpu_intr_is_pending(vm->vcpus[i]))
			emu_vcpu_request(vm->vcpus[i], EMU_REQ_IRQ);
}

void emu_vm_set_intr_controller(struct emu_vm *vm, const struct emu_intr_ops *ops, void *opaque)
{
	pthread_mutex_lock(&vm->intr_lock);
	vm->intr = ops;
	vm->intr_opaque = opaque;
	pthread_mutex_unlock(&vm->intr_lock);
}

void emu_vm_get_intr_controller(struct emu_vm *vm, const struct emu_intr_ops **ops, void **opaque)
{
	pthread_mutex_lock(&vm->intr_lock);
	*ops = vm->intr;
	*opaque = vm->intr_opaque;
	pthread_mutex_unlock(&vm->intr_lock);
}

bool emu_vcpu_intr_is_pending(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;
	bool pending = false;

	pthread_mutex_lock(&vm->intr_lock);
	if (vm->intr && vm->intr->vcpu_has_pending)
		pending = vm->intr->vcpu_has_pending(vm->intr_opaque, vcpu->index);
	else if (vm->intr && vcpu->index == 0)
		pending = vm->intr->has_pending(vm->intr_opaque);
	pthread_mutex_unlock(&vm->intr_lock);
	return pending;
}

int emu_vcpu_intr_ack(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;
	int vector = -ENOENT;

	pthread_mutex_lock(&vm->intr_lock);
	if (vm->intr && vm->intr->vcpu_ack)
		vector = vm->intr->vcpu_ack(vm->intr_opaque, vcpu->index);
	else if (vm->intr && vcpu->index == 0)
		vector = vm->intr->ack(vm->intr_opaque);
	pthread_mutex_unlock(&vm->intr_lock);
	return vector;
}

bool emu_vm_intr_is_pending(struct emu_vm *vm)
{
	bool pending;

	pthread_mutex_lock(&vm->intr_lock);
	pending = vm->intr && vm->intr->has_pending(vm->intr_opaque);
	pthread_mutex_unlock(&vm->intr_lock);
	return pending;
}

int emu_vm_intr_ack(struct emu_vm *vm)
{
	int vector = -ENOENT;

	pthread_mutex_lock(&vm->intr_lock);
	if (vm->intr)
		vector = vm->intr->ack(vm->intr_opaque);
	pthread_mutex_unlock(&vm->intr_lock);
	return vector;
}
