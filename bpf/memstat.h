/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Resident memory per address space: types shared by memstat.bpf.c and the
 * agent (agent/memprobe.c).
 *
 * The kernel map is keyed by address space (the mm_struct pointer, or the
 * tracepoint's hashed mm_id in the plain tracepoint variant), not by tgid:
 * kmem:rss_stat also fires for an mm that is not current's (fork copying
 * the child's page tables, exit tearing them down, get_user_pages from
 * another task, reclaim), and then the task running says nothing about
 * whose memory changed.  The owning tgid is learnt the first time the
 * event fires from a task whose mm it is (curr); a vfork child briefly
 * sharing its parent's mm does not take it, and an mm freed and
 * reallocated to another process (before the agent freed its entry)
 * changes hands the first time its new owner is seen.
 */
#ifndef BPFWATCH_MEMSTAT_H
#define BPFWATCH_MEMSTAT_H

/* enum NR_MM_COUNTERS members, include/linux/mm_types_task.h */
#define MEM_FILE	0	/* MM_FILEPAGES */
#define MEM_ANON	1	/* MM_ANONPAGES */
#define MEM_SWAP	2	/* MM_SWAPENTS */
#define MEM_SHMEM	3	/* MM_SHMEMPAGES */
#define MEM_MEMBERS	4
#define MEM_SEEN_ALL	((1U << MEM_MEMBERS) - 1)

struct mem_val {
	__u64 bytes[MEM_MEMBERS];	/* current value of each counter */
	__u64 last_jiffies;		/* bpf_jiffies64() at the last event */
	__u32 tgid;			/* owner; 0 until seen from it */
	__u32 seen;			/* bit per member whose bytes are known */
};

/* Counters last written for an mm (tp_btf variant, see memstat.bpf.c). */
#define MEM_LAST_SLOTS	256

struct mem_last {
	__u64 mm;
	__s64 count[MEM_MEMBERS];
};

#endif /* BPFWATCH_MEMSTAT_H */
