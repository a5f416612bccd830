/* SPDX-License-Identifier: MIT */
/*
 * KVM binary statistics (KVM_GET_STATS_FD, Documentation/virt/kvm/api.rst 4.133): a header, an
 * id string, descriptors, and a data block of u64s. Validated the way the kernel's
 * kvm_binary_stats_test does before anything is trusted.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debugfs/debugfs-local.h"

static const char *const bs_type_names[] = { "cumulative", "instant", "peak", "linear-histogram", "log2-histogram" };
static const char *const bs_unit_names[] = { NULL, "bytes", "seconds", "cycles", "boolean" };

const char *dbgfs_stat_type_name(enum dbgfs_stat_type t)
{
	return (unsigned)t < sizeof(bs_type_names) / sizeof(bs_type_names[0]) ? bs_type_names[t] : "unknown";
}

const char *dbgfs_stat_unit_name(enum dbgfs_stat_unit u)
{
	return (unsigned)u < sizeof(bs_unit_names) / sizeof(bs_unit_names[0]) ? bs_unit_names[u] : NULL;
}

static int bs_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t r = pread(fd, buf, len, (off_t)off);

	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EBADMSG;
}

static bool bs_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int bs_check_header(const struct kvm_stats_header *h, char *why, size_t why_len)
{
	uint64_t hsz = sizeof(*h), dsz = (uint64_t)h->num_desc * (sizeof(struct kvm_stats_desc) + h->name_size);

	if (h->flags)
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: unknown flags 0x%x", h->flags);
	if (h->name_size == 0 || h->name_size > 4096)
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: bad name_size %u", h->name_size);
	if (h->num_desc == 0 || h->num_desc > 65536)
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: bad num_desc %u", h->num_desc);
	if (h->id_offset < hsz || h->desc_offset < hsz || h->data_offset < hsz)
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: block offset inside the header");
	if (bs_overlap(h->id_offset, h->name_size, h->desc_offset, dsz))
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: id and descriptors overlap");
	if (bs_overlap(h->desc_offset, dsz, h->data_offset, 8) || bs_overlap(h->id_offset, h->name_size, h->data_offset, 8))
		return dbgfs_why(why, why_len, -EBADMSG, "stats header: data overlaps id or descriptors");
	return 0;
}

static int bs_check_desc(const struct kvm_stats_desc *d, unsigned name_size, struct dbgfs_stat_desc *o,
			 char *why, size_t why_len)
{
	unsigned type = d->flags & KVM_STATS_TYPE_MASK, unit = (d->flags & KVM_STATS_UNIT_MASK) >> KVM_STATS_UNIT_SHIFT;
	unsigned base = (d->flags & KVM_STATS_BASE_MASK) >> KVM_STATS_BASE_SHIFT;

	if (!memchr(d->name, 0, name_size) || !d->name[0])
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor: name empty or not terminated");
	if (type > KVM_STATS_TYPE_MAX || unit > (KVM_STATS_UNIT_MAX >> KVM_STATS_UNIT_SHIFT) ||
	    base > (KVM_STATS_BASE_MAX >> KVM_STATS_BASE_SHIFT))
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor %s: bad flags 0x%x", d->name, d->flags);
	if (d->size == 0 || (type < KVM_STATS_TYPE_LINEAR_HIST && d->size != 1))
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor %s: bad size %u", d->name, d->size);
	if ((type == KVM_STATS_TYPE_LINEAR_HIST) != (d->bucket_size != 0))
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor %s: bucket_size %u", d->name, d->bucket_size);
	if (unit == KVM_STATS_UNIT_BOOLEAN >> KVM_STATS_UNIT_SHIFT && (d->size != 1 || d->exponent))
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor %s: bad boolean", d->name);
	if (d->offset % 8)
		return dbgfs_why(why, why_len, -EBADMSG, "stats descriptor %s: unaligned offset", d->name);
	snprintf(o->name, sizeof(o->name), "%s", d->name);
	o->type = (enum dbgfs_stat_type)type;
	o->unit = (enum dbgfs_stat_unit)unit;
	o->base = base ? 2 : 10;
	o->exponent = d->exponent;
	o->size = d->size;
	o->bucket_size = d->bucket_size;
	o->offset = d->offset;
	return 0;
}

static int bs_read_descs(int fd, const struct kvm_stats_header *h, struct dbgfs_binstats *st, char *why, size_t why_len)
{
	size_t dsz = sizeof(struct kvm_stats_desc) + h->name_size;
	char *raw = malloc(dsz * h->num_desc);
	uint64_t end = 0;
	int ret;

	st->desc = calloc(h->num_desc, sizeof(*st->desc));
	if (!raw || !st->desc) {
		free(raw);
		return -ENOMEM;
	}
	ret = bs_pread_all(fd, raw, dsz * h->num_desc, h->desc_offset);
	if (ret < 0)
		ret = dbgfs_why(why, why_len, ret, "stats descriptors: %s", ret == -EBADMSG ? "short read" : strerror(-ret));
	for (unsigned i = 0; i < h->num_desc && ret == 0; i++) {
		ret = bs_check_desc((const struct kvm_stats_desc *)(raw + i * dsz), h->name_size, &st->desc[i], why, why_len);
		if (ret == 0 && st->desc[i].offset + 8ull * st->desc[i].size > end)
			end = st->desc[i].offset + 8ull * st->desc[i].size;
		st->nr = i + 1;
	}
	free(raw);
	if (ret == 0 && end > (1u << 24))
		ret = dbgfs_why(why, why_len, -EBADMSG, "stats data block of %llu bytes", (unsigned long long)end);
	st->data_size = (uint32_t)end;
	return ret;
}

/* Two descriptors must not share data. */
static int bs_check_data_overlap(const struct dbgfs_binstats *st, char *why, size_t why_len)
{
	for (unsigned i = 0; i < st->nr; i++)
		for (unsigned k = i + 1; k < st->nr; k++)
			if (bs_overlap(st->desc[i].offset, 8ull * st->desc[i].size, st->desc[k].offset, 8ull * st->desc[k].size))
				return dbgfs_why(why, why_len, -EBADMSG, "stats descriptors %s and %s overlap", st->desc[i].name,
						 st->desc[k].name);
	return 0;
}

int dbgfs_binstats_open(int fd, struct dbgfs_binstats *st, char *why, size_t why_len)
{
	struct kvm_stats_header h;
	char *id;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = bs_pread_all(fd, &h, sizeof(h), 0);
	if (ret < 0)
		return dbgfs_why(why, why_len, ret, "stats header: %s", ret == -EBADMSG ? "short read" : strerror(-ret));
	ret = bs_check_header(&h, why, why_len);
	if (ret < 0)
		return ret;
	id = calloc(1, h.name_size + 1);
	if (!id)
		return -ENOMEM;
	ret = bs_pread_all(fd, id, h.name_size, h.id_offset);
	if (ret == 0 && !memchr(id, 0, h.name_size))
		ret = dbgfs_why(why, why_len, -EBADMSG, "stats id not terminated");
	if (ret == 0) {
		snprintf(st->id, sizeof(st->id), "%s", id);
		ret = bs_read_descs(fd, &h, st, why, why_len);
	}
	free(id);
	if (ret == 0)
		ret = bs_check_data_overlap(st, why, why_len);
	st->data_offset = h.data_offset;
	if (ret == 0 && !(st->data = calloc(1, st->data_size + 8)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = dbgfs_binstats_read(fd, st);
	if (ret < 0)
		dbgfs_binstats_free(st);
	return ret;
}

int dbgfs_binstats_read(int fd, struct dbgfs_binstats *st)
{
	return bs_pread_all(fd, st->data, st->data_size, st->data_offset);
}

void dbgfs_binstats_free(struct dbgfs_binstats *st)
{
	free(st->desc);
	free(st->data);
	st->desc = NULL;
	st->data = NULL;
	st->nr = 0;
}
