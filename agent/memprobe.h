/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resident memory per process, always on (probes.memory).
 *
 * The kernel side (bpf/memstat.bpf.c) keeps the RSS counters of every
 * address space from the kmem:rss_stat tracepoint: an event per RSS change
 * (page fault, unmap, swap), tens of ns each, nothing per event sent to
 * user space.  Each tick the agent reads that map, keeps one record per
 * process (struct mem_proc), and exports
 *
 *   bpfwatch_process_resident_bytes{comm,container}        anon+file+shmem
 *   bpfwatch_process_memory_bytes{comm,container,kind}     kind = anon,
 *                                                          file, shmem, swap
 *   bpfwatch_memory_processes{comm,container}              processes summed
 *
 * summed over the processes of a comm and container; with
 * probes.memory.pid_label each process gets its own series (a `pid`
 * label, unbounded over time: opt-in).  The per-process records stay
 * available to the leak analyzer (leakdetect.h) either way.
 *
 * Processes that exist before the agent starts produce no event until
 * their RSS changes: they are seeded from /proc/PID/status, which reads
 * the same counters, so the numbers are right from the first tick.
 * Without any tracepoint variant the probe samples /proc for every process
 * each tick instead (reported: bpfwatch_probe_attached{probe="memory"} 0
 * with attach_type "procfs" and the reason).
 */
#ifndef BPFWATCH_MEMPROBE_H
#define BPFWATCH_MEMPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "config.h"
#include "kfeatures.h"
#include "memstat.h"
#include "probes.h"

struct memprobe;
struct store;

#define MEM_COMM_LEN	16
#define MEM_LABEL_LEN	128

/* One process at the last tick. */
struct mem_proc {
	uint32_t tgid;
	uint64_t key;			/* kernel map key (its address space);
					 * 0 when read from /proc */
	uint64_t bytes[MEM_MEMBERS];	/* MEM_FILE, MEM_ANON, MEM_SWAP, MEM_SHMEM */
	char comm[MEM_COMM_LEN + 1];	/* the process's (leader's) comm */
	char container[MEM_LABEL_LEN];	/* "" when not in a container */
};

/* Attach per @cfg (borrowed, must outlive the probe).  Never NULL unless
 * out of memory: a probe that cannot attach falls back to /proc. */
struct memprobe *memprobe__new(const struct memory_cfg *cfg,
			       const struct features *feat);
void memprobe__free(struct memprobe *mp);	/* detaches everything */

bool memprobe__enabled(const struct memprobe *mp);
bool memprobe__attached(const struct memprobe *mp);	/* BPF attached */
const char *memprobe__attach_type(const struct memprobe *mp);	/* "procfs" in fallback */
const char *memprobe__reason(const struct memprobe *mp);

/* Read the kernel map (or /proc), refresh the process records, free the
 * entries of exited processes, and append the series above to @s.
 * 0 or -errno. */
int memprobe__collect(struct memprobe *mp, struct store *s);

/* The records of the last collect, sorted by tgid (borrowed until the
 * next collect). */
const struct mem_proc *memprobe__procs(const struct memprobe *mp, size_t *n);

/* Tgids the targets selector chose at the last collect; -1 without
 * targets. */
int memprobe__targets(const struct memprobe *mp);

int memprobe__prog_stats(const struct memprobe *mp, struct probe_prog_stats *out,
			 int max);
/* hist_full: events lost to a full map; expired: entries freed (exited
 * processes, replaced address spaces, never-owned ones); entries and
 * max_entries of the kernel map. */
void memprobe__counters(const struct memprobe *mp, struct probe_counters *c);

/* For tests: the kernel map's fd (-1 without BPF), and adding a tgid to
 * the in-kernel target set. */
int memprobe__map_fd(const struct memprobe *mp);
int memprobe__last_fd(const struct memprobe *mp);	/* mem_last, tp_btf only */
int memprobe__add_target(struct memprobe *mp, uint32_t tgid);
/* The in-kernel target set (bw_targets) when probes.memory has targets,
 * for other memory programs to share; -1 otherwise. */
int memprobe__targets_fd(const struct memprobe *mp);

#endif /* BPFWATCH_MEMPROBE_H */
