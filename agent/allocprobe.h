/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation tracing for `bpfwatch leaks` (bpf/memleak.bpf.c): uprobes on
 * an allocator's entry points and libc's mmap family, for one process,
 * with the outstanding allocations kept by address and grouped by user
 * stack in the kernel.
 *
 * Cost: every traced call traps into the kernel (uprobe + uretprobe, a few
 * microseconds): opt-in, one process, for a limited time.  Byte-weighted
 * sampling (sample_bytes) saves the map updates and stack walks of most
 * small allocations, not the traps.
 */
#ifndef BPFWATCH_ALLOCPROBE_H
#define BPFWATCH_ALLOCPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calib.h"

struct allocprobe;

#define ALLOCPROBE_MAX_STACKS	65536	/* 512 bytes of kernel memory each */

struct allocprobe_opts {
	uint32_t pid;
	const char *lib;	/* allocator library: a path or a name searched
				 * like the loader does; NULL = libc.so.6 */
	uint64_t sample_bytes;	/* mean bytes between samples; <= 1: every
				 * allocation (exact counts) */
	uint32_t max_allocs;	/* outstanding allocations kept (0: 131072) */
	uint32_t max_stacks;	/* distinct stacks kept, 1..ALLOCPROBE_MAX_STACKS
				 * (0: 8192) */
};

/* Load and attach.  NULL with errno set and @err (a sentence naming what
 * failed) on failure: no such process, no malloc/free in the library, no
 * uprobe support. */
struct allocprobe *allocprobe__new(const struct allocprobe_opts *o, char *err,
				   size_t len);
void allocprobe__free(struct allocprobe *ap);		/* detaches; NULL is fine */
/* Stop tracing, keep the maps: what is read afterwards no longer moves
 * (a walk of a map that changes under it may see entries twice).  Takes
 * an RCU grace period per probe (tens of ms each). */
void allocprobe__detach(struct allocprobe *ap);

/* "malloc, calloc, ... in /lib/x86_64-linux-gnu/libc.so.6; mmap, ... in
 * ..." (borrowed, lives as long as @ml). */
const char *allocprobe__describe(const struct allocprobe *ap);
/* The kind of malloc's first instruction (what its uprobe trap costs). */
enum calib_insn allocprobe__malloc_insn(const struct allocprobe *ap);

/*
 * What the traps of one malloc(64)+free() pair cost here, in ns: empty
 * programs (bpf/calib.bpf.c) on the very malloc and free traced (uprobe +
 * uretprobe on malloc, uprobe on free), timed in this process (a few
 * thousand pairs, tens of ms).  -ENOENT when this process does not map
 * the allocator library; -ERANGE when noise swamped the difference.
 */
int allocprobe__pair_cost(const struct allocprobe *ap, double *ns);

/* Counters since allocprobe__new() (bpf/memleak.h ML_STAT_*). */
struct allocprobe_counters {
	uint64_t calls, allocs, frees, failed, unsampled;
	uint64_t lost_frees, stack_full, stack_err, evicted, insert_fail;
	uint64_t replaced, pending_full, missing, nested;
	int64_t live_allocs;	/* recorded allocations outstanding */
	double live_bytes;	/* their weighted bytes (estimate of the total) */
};
void allocprobe__counters(const struct allocprobe *ap,
			  struct allocprobe_counters *c);

/* Runs of all its BPF programs and their in-kernel run time (BPF stats:
 * zero unless BPF_STATS_RUN_TIME is on).  The trap around each run costs
 * far more and is not in it. */
void allocprobe__prog_runs(const struct allocprobe *ap, uint64_t *runs,
			   uint64_t *ns);

/* Outstanding allocations of one stack. */
struct allocprobe_stack {
	uint64_t stack_key;	/* 0: allocations whose stack was not taken
				 * (or not kept: stack map full) */
	uint64_t count;		/* recorded (sampled) allocations */
	uint64_t bytes;		/* their bytes */
	double est_count;	/* weighted by 1/p: estimates of the totals */
	double est_bytes;
	uint64_t oldest_ns;	/* bpf_ktime_get_ns() of the oldest one */
};

/*
 * Walk the outstanding allocations older than @min_age_ns and group them
 * by stack into *@out (new array, caller frees), sorted by est_bytes,
 * largest first.  Exact after allocprobe__detach(); while attached, a
 * busy process may make the walk see an entry twice or miss one.  *@agg_missing: allocations the per-stack totals count
 * but the address map no longer holds (evicted), over all ages.  0 or
 * -errno.
 */
int allocprobe__stacks(const struct allocprobe *ap, uint64_t min_age_ns,
		       struct allocprobe_stack **out, size_t *n,
		       int64_t *agg_missing);

/* The user stack @stack_key, innermost frame first, into @ips; the number
 * of frames, or -errno. */
int allocprobe__stack_ips(const struct allocprobe *ap, uint64_t stack_key,
			  uint64_t *ips, size_t max);

#endif /* BPFWATCH_ALLOCPROBE_H */
