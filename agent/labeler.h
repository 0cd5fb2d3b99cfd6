/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Turns kernel identifiers into label values: cgroup id -> container,
 * dev_t -> device name, syscall number -> name, REQ_OP -> operation.
 * Caches are bounded.
 */
#ifndef BPFWATCH_LABELER_H
#define BPFWATCH_LABELER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct labeler;

/* Never NULL unless out of memory: without cgroup2 the container label is
 * always empty. */
struct labeler *labeler__new(void);
void labeler__free(struct labeler *lb);
void labeler__new_tick(struct labeler *lb);

/* Container id for a cgroup ("" when not a container).  Returns false if
 * the cgroup no longer exists. */
bool labeler__container(struct labeler *lb, uint64_t cgroup_id,
			char *out, size_t len);
/* Disk name for a kernel dev_t (major << 20 | minor), e.g. "vda"; falls
 * back to "MAJ:MIN". */
void labeler__device(struct labeler *lb, uint32_t dev, char *out, size_t len);
/* "read", "write", "flush", "discard", ... or "op_N". */
const char *labeler__block_op(uint32_t op, char *buf, size_t len);
/* "read", "clock_nanosleep", ... or "syscall_N". */
const char *labeler__syscall(uint32_t nr, char *buf, size_t len);

uint64_t labeler__cgroup_overflows(const struct labeler *lb);

#endif /* BPFWATCH_LABELER_H */
