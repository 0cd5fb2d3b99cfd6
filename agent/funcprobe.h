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
 *
 * Overhead budget (funcprobe__budget_start, budget.h): every collection
 * tick each entry's cost is estimated from the runs of its programs
 * (func_hits) and the calibrated cost of a uprobe hit (calib.h); an entry
 * over its budget is attached only part of the time (sampled) or
 * suspended.  Only its links come and go: the maps, and what they have
 * aggregated, stay, and counts are what was observed.
 */
#ifndef BPFWATCH_FUNCPROBE_H
#define BPFWATCH_FUNCPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "calib.h"
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
/*
 * Once per tick: entries whose binary is an absolute path are checked
 * (stat) and, when the file appeared, was replaced (new inode: a deploy)
 * or went away, checked and attached again (uprobes sit on an inode, so
 * the old ones would not see the new binary).  Returns how many entries
 * changed; each change is logged.
 */
int funcprobe__rescan(struct funcprobe *fp);

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

/*
 * Enforce overhead budgets from now on: @limit (share of one CPU, e.g.
 * 0.01) for entries without an overhead_budget of their own.  Measures
 * the uprobe cost first (calib.h; about 1 s, only when uprobe or USDT
 * entries are attached).  0 or -errno; without attached entries it does
 * nothing.
 */
int funcprobe__budget_start(struct funcprobe *fp, double limit);

/* The duty-cycle timer (a timerfd, CLOCK_MONOTONIC), -1 when budgets are
 * off: poll it and call funcprobe__timer() when it is readable. */
int funcprobe__timer_fd(const struct funcprobe *fp);
/* Attach or detach the entries whose time has come.  Detaching a uprobe
 * blocks for an RCU grace period (tens of ms). */
void funcprobe__timer(struct funcprobe *fp);
/* Once per collection tick: estimate each entry's cost, decide its state,
 * log changes.  No-op when budgets are off. */
void funcprobe__budget_tick(struct funcprobe *fp);

struct funcprobe_overhead {
	enum budget_state state;
	double ratio;		/* share of the time attached (1, f, 0) */
	double limit;		/* the entry's budget, share of one CPU */
	double cost;		/* last estimate at full rate, CPU seconds per
				 * second; < 0 before the first */
	double spent_s;		/* estimated CPU seconds its probes cost the
				 * traced processes since the budget started */
};
/* false when entry @i has no budget (not attached, or budgets off). */
bool funcprobe__overhead(const struct funcprobe *fp, size_t i,
			 struct funcprobe_overhead *o);
/* Calibrated cost of one uprobe hit on @insn in ns; false when it was not
 * measured (no entry needed it, or the measurement failed). */
bool funcprobe__trap_ns(const struct funcprobe *fp, enum calib_insn insn,
			double *ns);

/*
 * Where a uprobe on @symbol goes, found the way probes.functions entries
 * are: @binary a path or a library name searched like the dynamic loader
 * does (the copy @pid has mapped first, when @pid is not 0), or NULL for
 * the executable of @pid; the symbol from .symtab, else .dynsym, with
 * versions ("name@@V") and the default version preferred.  On success
 * *@path (new string, caller frees) and *@offset (file offset of the
 * symbol); else -errno and @reason says why (names binary and symbol).
 */
int funcprobe__locate(const char *binary, uint32_t pid, const char *symbol,
		      char **path, size_t *offset, char *reason, size_t len);

#endif /* BPFWATCH_FUNCPROBE_H */
