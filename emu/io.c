/* SPDX-License-Identifier: MIT */
/*
 * io.c — the PIO and MMIO bus: regions kept sorted by base, found by binary search. Overlapping
 * registrations are rejected; unassigned accesses read as all-ones and are counted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu-local.h"
#include "emu/trace-events.h"

int emu_bus_init(struct emu_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void emu_bus_fini(struct emu_bus *bus)
{
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < bus->map[s].nr; i++)
			free(bus->map[s].regions[i]);
		free(bus->map[s].regions);
	}
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first region whose base is > addr. */
static size_t io_upper_bound(const struct emu_io_map *map, uint64_t addr)
{
	size_t lo = 0, hi = map->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (map->regions[mid]->base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct emu_io_region *emu_bus_lookup(struct emu_io_map *map, uint64_t addr, unsigned size)
{
	size_t i = io_upper_bound(map, addr);
	struct emu_io_region *r;

	if (i == 0)
		return NULL;
	r = map->regions[i - 1];
	if (addr - r->base >= r->len || size > r->len - (addr - r->base))
		return NULL;
	return r;
}

/* True when [base, base+len) intersects a region already in the map; i is the insert position. */
static bool io_overlaps(const struct emu_io_map *map, size_t i, uint64_t base, uint64_t len)
{
	if (i > 0) {
		const struct emu_io_region *p = map->regions[i - 1];
		if (base - p->base < p->len)
			return true;
	}
	if (i < map->nr && map->regions[i]->base - base < len)
		return true;
	return false;
}

static int io_insert(struct emu_io_map *map, size_t i, struct emu_io_region *r)
{
	if (map->nr == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 16;
		struct emu_io_region **n = realloc(map->regions, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		map->regions = n;
		map->cap = cap;
	}
	memmove(&map->regions[i + 1], &map->regions[i], (map->nr - i) * sizeof(*map->regions));
	map->regions[i] = r;
	map->nr++;
	return 0;
}

int emu_bus_register(struct emu_bus *bus, enum emu_io_space space, uint64_t base, uint64_t len,
		     const char *name, const struct emu_io_ops *ops, void *opaque)
{
	struct emu_io_map *map;
	struct emu_io_region *r;
	size_t i;
	int err;

	if ((space != EMU_IO_PIO && space != EMU_IO_MMIO) || !ops || len == 0 || base + len - 1 < base)
		return -EINVAL;
	if (space == EMU_IO_PIO && base + len > 0x10000)
		return -EINVAL;
	map = &bus->map[space];
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct emu_io_region){ .base = base, .len = len, .name = name ? name : "?", .ops = ops, .opaque = opaque };
	pthread_rwlock_wrlock(&bus->lock);
	i = io_upper_bound(map, base);
	err = io_overlaps(map, i, base, len) ? -EEXIST : io_insert(map, i, r);
	pthread_rwlock_unlock(&bus->lock);
	if (err)
		free(r);
	return err;
}

static uint64_t io_all_ones(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

/* Tracepoints for one access (emu/trace-events); each is one predictable branch while off. */
static void io_trace(enum emu_io_space space, const struct emu_io_region *r, uint64_t addr, unsigned size,
		     bool is_write, uint64_t value)
{
	const char *dev = r ? r->name : "unassigned";

	if (space == EMU_IO_PIO) {
		if (is_write)
			trace_pio_write(dev, (uint16_t)addr, size, value);
		else
			trace_pio_read(dev, (uint16_t)addr, size, value);
		if (!r)
			trace_pio_unassigned((uint16_t)addr, size, is_write);
	} else {
		if (is_write)
			trace_mmio_write(dev, addr, size, value);
		else
			trace_mmio_read(dev, addr, size, value);
		if (!r)
			trace_mmio_unassigned(addr, size, is_write);
	}
}

uint64_t emu_bus_access(struct emu_bus *bus, enum emu_io_space space, uint64_t addr, unsigned size,
			bool is_write, uint64_t value)
{
	struct emu_io_map *map = &bus->map[space & 1];
	struct emu_io_region *r;
	uint64_t ret = 0;

	if (size == 0 || size > 8)
		size = 8;
	pthread_rwlock_rdlock(&bus->lock);
	r = emu_bus_lookup(map, addr, size);
	if (!r) {
		atomic_fetch_add_explicit(is_write ? &map->unassigned_writes : &map->unassigned_reads, 1,
					  memory_order_relaxed);
		ret = is_write ? 0 : io_all_ones(size);
	} else if (is_write) {
		atomic_fetch_add_explicit(&r->writes, 1, memory_order_relaxed);
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, size, value & io_all_ones(size));
	} else {
		atomic_fetch_add_explicit(&r->reads, 1, memory_order_relaxed);
		ret = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size) & io_all_ones(size)
				   : io_all_ones(size);
	}
	pthread_rwlock_unlock(&bus->lock);
	io_trace(space, r, addr, size, is_write, is_write ? value & io_all_ones(size) : ret);
	return ret;
}

static __thread struct emu_vcpu *io_current_vcpu;

struct emu_vcpu *emu_io_current_vcpu(void)
{
	return io_current_vcpu;
}

uint64_t emu_io_dispatch(struct emu_vm *vm, struct emu_vcpu *vcpu, enum emu_io_space space,
			 uint64_t addr, unsigned size, bool is_write, uint64_t value)
{
	struct emu_vcpu *prev = io_current_vcpu;
	uint64_t ret;

	io_current_vcpu = vcpu;
	ret = emu_bus_access(&vm->bus, space, addr, size, is_write, value);
	io_current_vcpu = prev;
	return ret;
}

int emu_io_register(struct emu_vm *vm, enum emu_io_space space, uint64_t base, uint64_t len,
		    const char *name, const struct emu_io_ops *ops, void *opaque)
{
	return emu_bus_register(&vm->bus, space, base, len, name, ops, opaque);
}

static int io_stat_add(struct emu_stat *out, int n, int max, const char *name, uint64_t value)
{
	if (n < max)
		out[n] = (struct emu_stat){ .name = name, .value = value };
	return n + 1;
}

/* Counters: unassigned accesses, then accesses per region ("<region>.reads" style names are the
 * region names themselves: the value is reads + writes). */
int emu_bus_stats(struct emu_bus *bus, struct emu_stat *out, int max)
{
	static const char *const unassigned[2][2] = {
		{ "pio_unassigned_reads", "pio_unassigned_writes" },
		{ "mmio_unassigned_reads", "mmio_unassigned_writes" },
	};
	int n = 0;

	pthread_rwlock_rdlock(&bus->lock);
	for (int s = 0; s < 2; s++) {
		struct emu_io_map *map = &bus->map[s];
		n = io_stat_add(out, n, max, unassigned[s][0], atomic_load(&map->unassigned_reads));
		n = io_stat_add(out, n, max, unassigned[s][1], atomic_load(&map->unassigned_writes));
		for (size_t i = 0; i < map->nr; i++)
			n = io_stat_add(out, n, max, map->regions[i]->name,
					atomic_load(&map->regions[i]->reads) + atomic_load(&map->regions[i]->writes));
	}
	pthread_rwlock_unlock(&bus->lock);
	return n;
}
