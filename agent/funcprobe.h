/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Function latency: the probes.functions entries of the configuration,
 * all served by one BPF object (bpf/funclat.bpf.c).  Each entry gets an id
 * (its index) passed to the BPF programs as the attach cookie; latency is
 * aggregated in the kernel per (entry, cgroup, comm).
 *
 *   FUNC_UPROBE     uprobe + uretprobe on a symbol of an ELF file; nested
 *                   and recursive calls are timed per thread on a bounded
 *                   stack that also survives longjmp (frames are matched by
 *                   stack pointer)
 *   FUNC_USDT       a USDT probe: counted, not timed
 *   FUNC_USDT_PAIR  begin/end USDT probes: timed like a function
 *   FUNC_KERNEL     fentry/fexit, else kprobe/kretprobe, else reported
 *
 * An entry that cannot attach (no such binary, symbol stripped, no such
 * USDT probe, no kernel support) is reported with its reason; the others
 * keep working.
 *
 * Exported: bpfwatch_function_latency_seconds{function,binary,comm,container}
 * (timed kinds) and bpfwatch_function_calls_total{...} (every kind).
 */
#ifndef BPFWATCH_FUNCPROBE_H
#define BPFWATCH_FUNCPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kfeatures.h"
#include "probes.h"

struct funcprobe;
struct store;
struct labeler;
struct hist;

/* Attach every entry it can.  @fns is borrowed and must outlive the
 * result.  NULL (errno set) only on allocation failure or when the BPF
 * object itself cannot load; n == 0 gives an object with nothing loaded. */
struct funcprobe *funcprobe__new(const struct func_cfg *fns, size_t n,
				 const struct features *feat);
void funcprobe__free(struct funcprobe *fp);	/* detaches everything */

size_t funcprobe__count(const struct funcprobe *fp);

struct funcprobe_status {
	const char *function;	/* the `function` label */
	const char *binary;	/* resolved path; "" for kernel entries */
	const char *attach_type; /* "uprobe", "usdt", "fentry", "kprobe", "" */
	bool attached;
	const char *reason;	/* "ok", or why not: names binary and symbol */
};
void funcprobe__status(const struct funcprobe *fp, size_t i,
		       struct funcprobe_status *st);

/* Keep each entry's in-kernel target set current (pids + comm regex over
 * /proc, like probe__refresh_targets); entries without targets trace every
 * process (or their pid). */
int funcprobe__refresh_targets(struct funcprobe *fp);

/* Append histograms and call counters for every entry to the store;
 * entries idle for @idle_timeout_ms or whose cgroup is gone are freed
 * from the kernel map. */
int funcprobe__collect(struct funcprobe *fp, struct store *s,
		       struct labeler *lb, uint64_t idle_timeout_ms);

/* Sum of all kernel histogram entries of entry @i (every comm and cgroup)
 * into @out, and the number of calls (for count-only USDT entries the
 * histogram stays empty).  0 or -errno. */
int funcprobe__read(const struct funcprobe *fp, size_t i, struct hist *out,
		    uint64_t *calls);

int funcprobe__prog_stats(const struct funcprobe *fp,
			  struct probe_prog_stats *out, int max);
void funcprobe__counters(const struct funcprobe *fp, struct probe_counters *c);

/* What the per-thread call stacks could not time (bpf/funclat.h
 * FL_STAT_*), summed over CPUs since funcprobe__new(). */
struct funcprobe_frame_counters {
	uint64_t depth_overflow;	/* calls nested deeper than the stack
					 * (16 frames): not timed */
	uint64_t lost_frames;		/* calls that never returned (longjmp,
					 * exception, a begin without end) */
	uint64_t missing_frames;	/* returns or ends without their entry */
	uint64_t calls_full;		/* count-only USDT hits lost: map full */
};
void funcprobe__frame_counters(const struct funcprobe *fp,
			       struct funcprobe_frame_counters *c);

#endif /* BPFWATCH_FUNCPROBE_H */
