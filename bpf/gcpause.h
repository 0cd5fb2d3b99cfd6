/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * GC pauses: types shared by gcpause.bpf.c and agent/gcprobe.c.
 *
 * Every attach point carries a cookie (USDT cookie, uprobe bpf_cookie)
 * saying which runtime it belongs to, so one set of programs serves every
 * binary.  Include after hist.h (struct gc_val embeds struct hist).
 */
#ifndef BPFWATCH_GCPAUSE_H
#define BPFWATCH_GCPAUSE_H

#ifndef BW_COMM_LEN
#define BW_COMM_LEN 16
#endif

enum gc_runtime {
	GC_RT_PYTHON = 0,	/* python:gc__start(int gen) / gc__done(long n) */
	GC_RT_HOTSPOT,		/* hotspot:gc__begin(bool full) / gc__end() */
	GC_RT_RUBY,		/* ruby:gc__{mark,sweep}__{begin,end}() */
	GC_RT_GO,		/* uprobes on runtime.{stop,start}TheWorldWithSema */
	GC_RT__COUNT,
};

/* Cookie: runtime in the low byte, flags above. */
#define GC_COOKIE_RT_MASK	0xff
#define GC_COOKIE_GO_REASON	0x100	/* Go >= 1.21: stwReason in arg 0 */
#define GC_COOKIE_RUBY_SWEEP	0x200	/* ruby sweep phase (else mark) */

/* gc_key.gen, per runtime: python: the generation (0..GC_GEN_MAX, larger
 * values are clamped); hotspot: GC_HOTSPOT_*; ruby: GC_RUBY_*; go: the
 * stwReason (clamped to GC_GEN_MAX), or GC_GO_NO_REASON when the binary's
 * Go does not pass one. */
#define GC_GEN_MAX		31
#define GC_HOTSPOT_MINOR	0
#define GC_HOTSPOT_FULL		1
#define GC_RUBY_MARK		0
#define GC_RUBY_SWEEP		1
#define GC_GO_NO_REASON		255

#define GC_HIST_ENTRIES		1024	/* default probes.gc.max_entries */
#define GC_START_ENTRIES	8192	/* pauses in flight (threads, Go tgids) */
#define GC_EXEC_RINGBUF		(64 * 1024)	/* exec notifications */

/* Key of gc_hist. */
struct gc_key {
	__u64 cgroup_id;
	__u32 runtime;
	__u32 gen;
	char comm[BW_COMM_LEN];
};

/* Value of gc_hist: pause histogram (its count is the number of
 * collections) and, for python, the objects collected. */
struct gc_val {
	struct hist hist;
	__u64 objects;
};

/* Key of gc_start: the thread id (Go: the tgid, a world stop is
 * process-wide) and a slot per runtime phase. */
struct gc_start_key {
	__u32 id;
	__u32 slot;
};

struct gc_start {
	__u64 ts;
	__u32 gen;
	__u32 pad;
};

/* An exec notification (sched_process_exec). */
struct gc_exec {
	__u32 pid;
	__u32 pad;
};

/* Indexes of the per-CPU gc_stats array (besides bw_stats). */
enum gc_stat {
	GC_STAT_MISSING = 0,	/* end without a begin (attached mid-pause,
				 * or its begin was evicted) */
	GC_STAT_LOST,		/* begin replaced by another before its end */
	GC_STAT_ARG,		/* USDT argument unreadable: recorded as 0 */
	GC_STAT_EXEC_LOST,	/* exec notification dropped: ring buffer full */
	GC_STAT_MAX,
};

#endif /* BPFWATCH_GCPAUSE_H */
