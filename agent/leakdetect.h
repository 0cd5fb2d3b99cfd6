/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Leak analyzer: reads the memory probe's per-process records every tick,
 * keeps a bounded history of each process's private memory (anon + swap:
 * what a heap leak grows; file pages come and go with the page cache and
 * shmem is shared with other processes), judges the trend over the
 * analysis window and writes derived series back into the store:
 *
 *   bpfwatch_memory_growth_bytes_per_second{comm,container}
 *       Theil-Sen slope of private memory over the window, summed over the
 *       group's processes (bytes/s; negative when shrinking)
 *   bpfwatch_memory_growth_confidence{comm,container}
 *       1 - p of a one-sided Mann-Kendall test for a rising memory floor,
 *       the largest over the group's processes, before the other leak
 *       criteria: how sure we are the floor rises at all
 *   bpfwatch_leak_suspect{comm,container}
 *       0, or for a process meeting every leak criterion (leak__assess)
 *       its confidence; the largest over the group.  > 0 means suspect
 *   bpfwatch_leak_analyzed_processes, bpfwatch_leak_skipped_processes_total
 *
 * With probes.memory.pid_label the series are per process (pid label).
 * Processes with fewer than min_samples samples in the window are not
 * judged (no series).
 *
 * Bounds: at most leak_detection.max_processes processes are tracked and
 * analysed per tick, the largest first (the others are counted as
 * skipped); each keeps at most LEAK_MAX_POINTS samples: over a long window
 * every stored sample is the minimum of several ticks, which keeps the
 * floor the analysis looks at.  A process is judged again at most
 * LEAK_JUDGE_STEPS times per window (the judgements of different
 * processes spread over the ticks): a window's verdict moves slowly, and
 * judging 256 processes every 1 s tick would cost a good share of a CPU.
 */
#ifndef BPFWATCH_LEAKDETECT_H
#define BPFWATCH_LEAKDETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "memprobe.h"

struct leakdetect;
struct store;

#define LEAK_MAX_POINTS		120	/* samples kept per process */
#define LEAK_MAX_BLOCKS		20	/* floor blocks per analysis */
#define LEAK_MIN_BLOCK		3	/* samples per floor block, at least */
#define LEAK_TS_POINTS		40	/* Theil-Sen on at most this many (780
					 * pairs): the slope of a series that
					 * long barely moves with more */
#define LEAK_JUDGE_STEPS	60	/* judgements per window, at most */

struct leak_params {
	double significance;	/* Mann-Kendall p below which the floor rises */
	double min_growth;	/* floor growth over the window, as a share of
				 * the floor at its end */
	double min_growth_bytes; /* and at least this much */
};

struct leak_verdict {
	double slope;		/* Theil-Sen slope of the samples, per second */
	double floor_slope;	/* Theil-Sen slope of the floor, per second */
	double confidence;	/* 1 - one-sided Mann-Kendall p of the floor */
	double score;		/* confidence when suspect, else 0 */
	bool suspect;
	const char *why;	/* "leak", or the first criterion not met */
};

/*
 * Judge one series: @t in seconds (increasing), @v in bytes, @n samples
 * (at least 6 blocks of LEAK_MIN_BLOCK samples: 18).
 *
 * The floor: the window is cut into k = min(20, n/3) blocks and each
 * block's minimum kept.  A leak raises the floor; a cache, a GC heap or
 * allocation churn raise the peaks and return to it.  A process is a
 * suspect when all hold:
 *   1. Mann-Kendall on the floor: rising, one-sided p < significance;
 *   2. the floor's Theil-Sen slope over the window's span is at least
 *      max(min_growth x final floor, min_growth_bytes);
 *   3. still rising: the floor's slope over the second half of the blocks
 *      is at least a quarter of the whole window's (a warm-up that
 *      levelled off, or growth that stopped, is not a leak now);
 *   4. not fallen back: the last block's floor is within a quarter of the
 *      floor's range of the highest earlier floor (rise-then-fall).
 * Mann-Kendall alone would flag a slow rise followed by a shorter fall
 * (most pairs still increase); 3 and 4 are what reject it.
 * Returns 0, -EINVAL (too few samples), -ENOMEM.
 */
int leak__assess(const double *t, const double *v, size_t n,
		 const struct leak_params *p, struct leak_verdict *out);

/* @cfg borrowed (must outlive the analyzer); @interval_ms: the collection
 * tick.  NULL with errno set. */
struct leakdetect *leakdetect__new(const struct memory_cfg *cfg,
				   uint64_t interval_ms);
void leakdetect__free(struct leakdetect *ld);

/* Feed one tick: @procs sorted by tgid (memprobe__procs()), at @ts_ms
 * (any clock that only moves forward; the agent uses CLOCK_MONOTONIC).
 * Forgets exited processes, analyses the tracked ones.  0 or -ENOMEM. */
int leakdetect__update(struct leakdetect *ld, const struct mem_proc *procs,
		       size_t n, int64_t ts_ms);
/* Append the series above to @s for the open tick.  0 or -errno. */
int leakdetect__export(struct leakdetect *ld, struct store *s);

/* The last verdict for @tgid; false when it is not tracked or has too few
 * samples. */
bool leakdetect__verdict(const struct leakdetect *ld, uint32_t tgid,
			 struct leak_verdict *out);

#endif /* BPFWATCH_LEAKDETECT_H */
