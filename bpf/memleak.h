/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Allocation tracing (`bpfwatch leaks`): types shared by memleak.bpf.c and
 * agent/allocprobe.c.
 *
 * Outstanding allocations are kept by address in `allocs`; their user
 * stacks in `stacks`, keyed by a 64-bit hash of the frames (not a
 * BPF_MAP_TYPE_STACK_TRACE: its ids are buckets of a small hash table, and
 * a bucket taken by another stack drops the new one, -EEXIST); per stack
 * key, running totals in `stack_aggs` (key MEMLEAK_NOSTACK: allocations
 * whose stack could not be taken or kept).  Weights are fixed point
 * with MEMLEAK_W_SHIFT fractional bits: an allocation sampled with
 * probability p weighs 1/p, so sums over what was sampled estimate the
 * totals without bias.
 */
#ifndef BPFWATCH_MEMLEAK_H
#define BPFWATCH_MEMLEAK_H

#define MEMLEAK_ALLOC_ENTRIES	131072	/* outstanding allocations tracked
					 * (default; the agent may change it) */
#define MEMLEAK_STACK_ENTRIES	8192	/* distinct stacks kept (default; the
					 * agent may change it) */
#define MEMLEAK_STACK_DEPTH	64	/* user frames kept per stack */
#define MEMLEAK_NOSTACK		0	/* stack key of allocations without a
					 * stack */
#define MEMLEAK_PENDING_ENTRIES	16384	/* threads inside an allocator call */
#define MEMLEAK_W_SHIFT		16	/* fractional bits of weights */
/* Sampling probability table: p_table[k] = (1 - exp(-k / MEMLEAK_PT_STEPS))
 * * 2^32 for k = 0 .. MEMLEAK_PT_SIZE - 1, i.e. sizes up to 16 intervals;
 * larger allocations are always taken (p > 1 - 1.2e-7). */
#define MEMLEAK_PT_STEPS	64
#define MEMLEAK_PT_SPAN		16
#define MEMLEAK_PT_SIZE		(MEMLEAK_PT_STEPS * MEMLEAK_PT_SPAN + 1)

/* What an allocator call does; kept with the call in flight. */
enum memleak_kind {
	ML_MALLOC = 0,		/* malloc, calloc, valloc, pvalloc, memalign,
				 * aligned_alloc: result in the return value */
	ML_REALLOC,		/* realloc, reallocarray: frees the old block
				 * when it returns a new one (or size 0) */
	ML_POSIX_MEMALIGN,	/* result through the out-pointer, rc 0 */
	ML_MMAP,		/* MAP_FAILED on failure */
	ML_MREMAP,		/* like realloc, MAP_FAILED on failure */
};

/* Value of `allocs` (key: the address). */
struct memleak_alloc {
	__u64 size;		/* bytes asked for */
	__u64 ts;		/* bpf_ktime_get_ns() at return */
	__u64 wbytes;		/* size weighted by 1/p */
	__u64 wcount;		/* 1/p, MEMLEAK_W_SHIFT fixed point */
	__u64 stack_key;	/* key in `stacks`, MEMLEAK_NOSTACK when none;
				 * the stack starts at the allocator's caller */
};

/* Value of `stacks`: user return addresses, innermost first, 0-padded. */
struct memleak_stack {
	__u64 ips[MEMLEAK_STACK_DEPTH];
};

/* Value of `stack_aggs`: outstanding allocations of one stack. */
struct memleak_agg {
	__s64 bytes;		/* as sampled */
	__s64 count;
	__s64 wbytes;		/* weighted: estimates of the true totals */
	__s64 wcount;		/* MEMLEAK_W_SHIFT fixed point */
};

/* Value of `pending` (key: thread id): the allocator call in flight. */
struct memleak_pending {
	__u64 size;
	__u64 old;		/* ML_REALLOC, ML_MREMAP: the old block */
	__u64 memptr;		/* ML_POSIX_MEMALIGN: where the result goes */
	__u64 wbytes;
	__u64 wcount;
	__u32 pad;
	__u16 kind;		/* enum memleak_kind */
	__u8 depth;		/* allocator calls nested inside it (glibc's
				 * realloc(NULL, n) calls malloc, malloc calls
				 * mmap): not counted again */
	__u8 sampled;
};

/* Indexes of the per-CPU `memleak_stats` array. */
enum memleak_stat {
	ML_STAT_CALLS = 0,	/* allocator calls traced (entries) */
	ML_STAT_ALLOCS,		/* allocations recorded */
	ML_STAT_FREES,		/* frees of recorded allocations */
	ML_STAT_FAILED,		/* failed allocations (NULL, MAP_FAILED) */
	ML_STAT_UNSAMPLED,	/* allocations not sampled */
	ML_STAT_LOST_FREE,	/* free/realloc of an address not recorded:
				 * allocated before tracing, not sampled, or
				 * evicted */
	ML_STAT_STACK_FULL,	/* `stacks` or `stack_aggs` full: a new stack
				 * was not kept */
	ML_STAT_STACK_ERR,	/* bpf_get_stack() failed (no user stack) */
	ML_STAT_EVICTED,	/* `allocs` full: an older allocation evicted */
	ML_STAT_INSERT_FAIL,	/* `allocs` update failed: not recorded */
	ML_STAT_REPLACED,	/* address recorded twice: its free was missed */
	ML_STAT_PENDING_FULL,	/* `pending` update failed: call not traced */
	ML_STAT_MISSING,	/* return without its entry */
	ML_STAT_NESTED,		/* allocator calls inside another one */
	ML_STAT_MAX,
};

#endif /* BPFWATCH_MEMLEAK_H */
