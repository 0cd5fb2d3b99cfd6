// SPDX-License-Identifier: GPL-2.0
/*
 * Growth attribution by code path: sampled user page faults with their
 * user stacks, counted in the kernel by (tgid, stack id).  A page fault is
 * where a process's resident memory grows (first touch of a heap, stack or
 * mmap'd page), so the stack of the faulting instruction says which code
 * path is growing memory.  See memgrowth.h for the maps' life cycle.
 *
 * Sampling: one fault in `sample_every` per CPU is taken (a per-CPU
 * counter, no random number: faults are a stream, and a stride keeps the
 * cost of the unsampled ones to one array lookup and an increment).  The
 * agent weighs each sample by sample_every pages.  The stride runs before
 * the target filter, so a target keeps 1 in sample_every of its faults.
 *
 * Three variants, the agent loads the first that attaches: tp_btf, raw_tp
 * and the plain tracepoint.  bpf_get_stackid() with BPF_F_USER_STACK
 * walks the user stack from the task's saved user registers (frame
 * pointers), whatever the program type's context.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.bpf.h"
#include "memgrowth.h"

#ifndef EFAULT
#define EFAULT 14
#endif

/* Set by the agent before load. */
const volatile __u32 sample_every = 64;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);	/* sized by the agent */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GP_MAX_FRAMES * sizeof(__u64));
} gp_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);	/* sized by the agent */
	__type(key, struct gp_key);
	__type(value, __u64);
} gp_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gp_stride SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gp_stats SEC(".maps");

static __always_inline void gp_stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&gp_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline int sample(void *ctx)
{
	struct gp_key key;
	__u32 zero = 0;
	__u64 *n, one = 1;
	long id, err;

	n = bpf_map_lookup_elem(&gp_stride, &zero);
	if (!n)
		return 0;
	if (++*n < sample_every)
		return 0;
	*n = 0;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bw_wanted(key.tgid))
		return 0;
	gp_stat_inc(GP_STAT_SAMPLED);
	id = bpf_get_stackid(ctx, &gp_stacks, BPF_F_USER_STACK);
	if (id < 0) {
		gp_stat_inc(id == -EFAULT ? GP_STAT_NO_STACK : GP_STAT_STACK_FULL);
		return 0;
	}
	key.stackid = id;
	n = bpf_map_lookup_elem(&gp_counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return 0;
	}
	err = bpf_map_update_elem(&gp_counts, &key, &one, BPF_NOEXIST);
	if (err == -EEXIST) {
		n = bpf_map_lookup_elem(&gp_counts, &key);
		if (n)
			__sync_fetch_and_add(n, 1);
	} else if (err) {
		gp_stat_inc(GP_STAT_COUNTS_FULL);
	}
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(tp_btf_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return sample(ctx);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(raw_tp_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	return sample(ctx);
}

SEC("tracepoint/exceptions/page_fault_user")
int tp_page_fault_user(void *ctx)
{
	return sample(ctx);
}

char LICENSE[] SEC("license") = "GPL";
