/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory growth attribution by code path (probes.memory.growth_paths).
 *
 * The kernel side (bpf/memgrowth.bpf.c) samples one user page fault in
 * `sample_every` per CPU with its user stack and counts samples by (tgid,
 * stack id).  Each tick the agent drains those counts, attributes
 * count x sample_every x page size bytes to the stack in the process, and
 * keeps per process at most GP_MAX_STACKS stacks with their bytes over the
 * leak analysis window (in GP_SLICES slices; the least growing stack is
 * evicted for a new one, counted).  Stacks are symbolized once
 * (symbolize.h) and turned into a path label (growth_path__build): the
 * innermost frames outside libc and the dynamic loader, outer to inner,
 * ';'-separated, never an address.  Exported:
 *
 *   bpfwatch_memory_growth_path_bytes{comm,container,path}
 *       bytes attributed to the path over the window, for the top_k paths
 *       of each process, summed over the processes of a comm and container
 *   bpfwatch_leak_suspect_path{comm,container,path}
 *       for a leak suspect (leakdetect.h), its top path, valued with its
 *       suspect score
 *   bpfwatch_memory_growth_path_samples_total
 *   bpfwatch_memory_growth_path_lost_total{reason}
 *   bpfwatch_memory_growth_path_evictions_total{bound}
 *
 * Bounds: GP_MAX_PROCS processes, GP_MAX_STACKS stacks each, GP_MAX_SERIES
 * path series in all (the smallest dropped), GP_SYMBOLIZERS processes'
 * symbolizers open at once; each bound hit is counted.  A process with
 * stacks holds ~12 KiB (GP_MAX_STACKS x 376 bytes): 12 MiB at worst; one
 * whose stacks all left the window is dropped until it faults again.  A page fault maps
 * one page, or a few with fault-around on file mappings: bytes are an
 * estimate of where resident memory grew, not an allocation count.
 * Stacks are symbolized with the process's current maps: the faults of a
 * forked child before it execs (its parent's code) resolve nowhere and
 * show as the path "[unknown]".
 */
#ifndef BPFWATCH_GROWTHPATHS_H
#define BPFWATCH_GROWTHPATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kfeatures.h"
#include "memprobe.h"

struct growthpaths;
struct leakdetect;
struct store;

#define GP_MAX_PROCS		1024
#define GP_MAX_STACKS		32
#define GP_SLICES		12
#define GP_PATH_FRAMES		4
#define GP_PATH_LEN		256
#define GP_MAX_SERIES		2000
#define GP_SYMBOLIZERS		16
#define GP_SYM_FILES		8
#define GP_STACK_ENTRIES	4096
#define GP_COUNT_ENTRIES	8192

/* One symbolized frame: module as symbolize.h gives it (NULL: no
 * mapping), symbol NULL when unknown. */
struct gp_frame {
	const char *module;
	const char *symbol;
};

/*
 * The path label of a stack, @f[0] the innermost frame: frames in libc or
 * the dynamic loader (the allocator, memset, memcpy), [vdso] and frames
 * in no mapping (a frame-pointer walk gone astray) are skipped; each other frame is its symbol, or "[module basename]" without
 * one, "[anon]" in an anonymous mapping and "[unknown]" outside any;
 * repeats of the same label in a row count once; the innermost
 * GP_PATH_FRAMES are kept and written outer to inner, ';'-separated,
 * cut at a frame boundary to fit @len.  When every frame is skipped, the
 * innermost one is used all the same.  Returns the length written ("" and
 * 0 for no frames).
 */
size_t growth_path__build(const struct gp_frame *f, size_t n, char *buf, size_t len);

/* Attach per @cfg->growth (borrowed).  @targets_fd: the memory probe's
 * bw_targets map to share when it has targets, else -1.  NULL only out of
 * memory; a probe that cannot attach says why (growthpaths__reason). */
struct growthpaths *growthpaths__new(const struct memory_cfg *cfg,
				     const struct features *feat,
				     uint64_t window_ms, int targets_fd);
void growthpaths__free(struct growthpaths *gp);

bool growthpaths__attached(const struct growthpaths *gp);
const char *growthpaths__attach_type(const struct growthpaths *gp);
const char *growthpaths__reason(const struct growthpaths *gp);
/* Runs and ns of the BPF program (BPF stats on); false without. */
bool growthpaths__prog_runs(const struct growthpaths *gp, uint64_t *cnt, uint64_t *ns);

/* Drain the kernel counts into the processes of @procs (sorted by tgid,
 * memprobe__procs()); samples of other tgids are dropped (counted).
 * @ts_ms: a clock that only moves forward.  0 or -errno. */
int growthpaths__update(struct growthpaths *gp, const struct mem_proc *procs,
			size_t n, int64_t ts_ms);

/* Append the series above for the open tick; @ld may be NULL. */
int growthpaths__export(struct growthpaths *gp, struct store *s,
			const struct leakdetect *ld);

/* The top paths of @tgid by bytes over the window (symbolized now if
 * needed), at most @max; returns how many. */
struct gp_path {
	char path[GP_PATH_LEN];
	uint64_t bytes;
};
size_t growthpaths__top(struct growthpaths *gp, uint32_t tgid, struct gp_path *out,
			size_t max);

#endif /* BPFWATCH_GROWTHPATHS_H */
