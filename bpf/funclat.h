/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function latency: types shared by funclat.bpf.c and agent/funcprobe.c.
 *
 * A func id is the index of a probes.functions entry; it reaches the BPF
 * programs as the attach cookie (the USDT cookie for USDT probes, a
 * read-only global for fentry objects, which are one per entry).
 */
#ifndef BPFWATCH_FUNCLAT_H
#define BPFWATCH_FUNCLAT_H

#ifndef BW_COMM_LEN
#define BW_COMM_LEN 16
#endif

#define FUNCLAT_MAX_FUNCS	256	/* func ids 0..255 (CONFIG_MAX_FUNCTIONS) */
#define FUNCLAT_MAX_DEPTH	16	/* frames per thread stack; a power of two */
#define FUNCLAT_HIST_ENTRIES	4096	/* func_hist: (func, cgroup, comm) keys */
#define FUNCLAT_CALLS_ENTRIES	1024	/* func_calls: count-only USDT keys */
#define FUNCLAT_STACK_ENTRIES	8192	/* threads with calls in flight */
#define FUNCLAT_TARGET_ENTRIES	8192	/* (func, tgid) pairs of the filter */

/* Key of func_hist and func_calls. */
struct func_key {
	__u64 cgroup_id;
	__u32 func_id;
	__u32 pad;
	char comm[BW_COMM_LEN];
};

/* One call in flight: entry time, stack pointer at entry (uprobe: it
 * points at the return address) and which entry it belongs to. */
struct func_frame {
	__u64 ts;
	__u64 sp;
	__u32 func_id;
	__u32 pad;
};

/*
 * Per-thread stack of calls in flight.  frames[0 .. depth-1] are live,
 * frames[depth-1] the innermost.  `skipped` counts calls nested past
 * FUNCLAT_MAX_DEPTH that were not pushed, so their returns are not taken
 * for missing frames.
 */
struct func_stack {
	__u32 depth;
	__u32 skipped;
	struct func_frame frames[FUNCLAT_MAX_DEPTH];
};

/* Value of func_calls (count-only USDT probes). */
struct func_count {
	__u64 calls;
	__u64 last_ns;	/* bpf_ktime_get_ns() of the latest call */
};

/* Key of func_targets: tgid wanted by entry func_id. */
struct func_target {
	__u32 func_id;
	__u32 tgid;
};

/* Indexes of the per-CPU funclat_stats array (besides bw_stats). */
enum funclat_stat {
	FL_STAT_DEPTH = 0,	/* call nested past FUNCLAT_MAX_DEPTH: not timed */
	FL_STAT_LOST,		/* frame dropped without its return (longjmp,
				 * exception, a begin without end) */
	FL_STAT_MISSING,	/* return (or end) without a matching frame */
	FL_STAT_CALLS_FULL,	/* count-only call lost: func_calls full */
	FL_STAT_MAX,
};

#endif /* BPFWATCH_FUNCLAT_H */
