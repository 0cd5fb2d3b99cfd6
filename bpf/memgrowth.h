/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Growth attribution by code path: types shared by memgrowth.bpf.c and the
 * agent (agent/growthpaths.c).
 *
 * One user page fault in `sample_every` (per CPU) is sampled with its user
 * stack; the kernel counts samples by (tgid, stack id).  The agent drains
 * the counts every tick (lookup-and-delete), reads the stacks, then frees
 * the stack ids it read, so both maps only ever hold one tick's worth of
 * distinct stacks.
 */
#ifndef BPFWATCH_MEMGROWTH_H
#define BPFWATCH_MEMGROWTH_H

/* Innermost user frames kept per stack: deeper stacks are cut at the
 * outer end (the path label only uses the innermost few anyway). */
#define GP_MAX_FRAMES	32

struct gp_key {
	__u32 tgid;
	__s32 stackid;
};

/* Per-CPU counters (gp_stats), exported by the agent. */
enum gp_stat {
	GP_STAT_SAMPLED = 0,	/* faults sampled (stack taken or not) */
	GP_STAT_NO_STACK,	/* no user stack could be read (-EFAULT...) */
	GP_STAT_STACK_FULL,	/* stack map full or bucket taken (-EEXIST,
				 * -ENOMEM): sample lost */
	GP_STAT_COUNTS_FULL,	/* count map full: sample lost */
	GP_STAT_MAX,
};

#endif /* BPFWATCH_MEMGROWTH_H */
