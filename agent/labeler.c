// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "labeler.h"
#include "log.h"

#define DEV_CACHE 64
#define CGROUP_CACHE_MAX 65536

extern const char *const bw_syscall_names[];
extern const size_t bw_syscall_names_len;

struct dev_name {
	uint32_t dev;
	char name[32];
};

struct labeler {
	struct cgroup_cache *cg;
	struct dev_name devs[DEV_CACHE];
	unsigned int ndevs;
};

struct labeler *labeler__new(void)
{
	struct labeler *lb = calloc(1, sizeof(*lb));

	if (!lb)
		return NULL;
	lb->cg = cgroup_cache__new(NULL, CGROUP_CACHE_MAX);
	if (!lb->cg)
		pr_warn("labeler: no cgroup2 hierarchy (%s): container labels "
			"will be empty", strerror(errno));
	return lb;
}

void labeler__free(struct labeler *lb)
{
	if (!lb)
		return;
	cgroup_cache__free(lb->cg);
	free(lb);
}

void labeler__new_tick(struct labeler *lb)
{
	if (lb->cg)
		cgroup_cache__new_tick(lb->cg);
}

bool labeler__container(struct labeler *lb, uint64_t cgroup_id, char *out,
			size_t len)
{
	const char *path;

	out[0] = '\0';
	if (!lb->cg)
		return true;
	path = cgroup_cache__path(lb->cg, cgroup_id);
	if (!path)
		return false;
	if (!cgroup__container_id(path, out, len))
		out[0] = '\0';
	return true;
}

static void read_devname(uint32_t dev, char *out, size_t len)
{
	unsigned int maj = dev >> 20, min = dev & ((1U << 20) - 1);
	char path[64], line[256];
	FILE *f;

	snprintf(out, len, "%u:%u", maj, min);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			size_t n = strcspn(line + 8, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(out, line + 8, n);
			out[n] = '\0';
			break;
		}
	}
	fclose(f);
}

void labeler__device(struct labeler *lb, uint32_t dev, char *out, size_t len)
{
	struct dev_name *d;

	for (unsigned int i = 0; i < lb->ndevs; i++) {
		if (lb->devs[i].dev == dev) {
			snprintf(out, len, "%s", lb->devs[i].name);
			return;
		}
	}
	/* Bounded: a full cache is recycled round-robin. */
	d = &lb->devs[lb->ndevs < DEV_CACHE ? lb->ndevs++ : dev % DEV_CACHE];
	d->dev = dev;
	read_devname(dev, d->name, sizeof(d->name));
	snprintf(out, len, "%s", d->name);
}

const char *labeler__block_op(uint32_t op, char *buf, size_t len)
{
	/* enum req_op, include/linux/blk_types.h */
	static const char *const names[] = {
		[0] = "read", [1] = "write", [2] = "flush", [3] = "discard",
		[5] = "secure_erase", [7] = "zone_append", [9] = "write_zeroes",
		[10] = "zone_open", [11] = "zone_close", [12] = "zone_finish",
		[13] = "zone_reset", [15] = "zone_reset_all",
		[34] = "drv_in", [35] = "drv_out",
	};

	if (op < sizeof(names) / sizeof(names[0]) && names[op])
		return names[op];
	snprintf(buf, len, "op_%u", op);
	return buf;
}

const char *labeler__syscall(uint32_t nr, char *buf, size_t len)
{
	if (nr < bw_syscall_names_len && bw_syscall_names[nr])
		return bw_syscall_names[nr];
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

uint64_t labeler__cgroup_overflows(const struct labeler *lb)
{
	return lb->cg ? cgroup_cache__overflows(lb->cg) : 0;
}
