// SPDX-License-Identifier: GPL-2.0
/*
 * Run-queue latency: time from a task becoming runnable (wakeup, or being
 * preempted while still runnable) to it running on a CPU, aggregated in the
 * kernel into log-linear histograms keyed by cgroup and comm.
 *
 * Two variants of every program exist: tp_btf (preferred) and raw_tp; the
 * agent disables the one it does not use before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

/* pid -> enqueue timestamp.  LRU: a task that exits while runnable leaves
 * an entry behind that must not pin map space forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} runq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct runq_key);
	__type(value, struct hist);
} runq_hist SEC(".maps");

/*
 * @btf: called from a tp_btf program, where task pointers are trusted and
 * fields can be read directly (a plain load) instead of through
 * bpf_probe_read_kernel() as raw_tp needs.  A compile-time constant in each
 * inlined copy, so the other branch is never emitted.
 */
static __always_inline int enqueue(struct task_struct *p, const bool btf)
{
	__u32 pid = btf ? p->pid : BPF_CORE_READ(p, pid);
	__u64 ts;

	if (!pid || !bw_wanted(btf ? p->tgid : BPF_CORE_READ(p, tgid)))
		return 0;
	ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&runq_start, &pid, &ts, BPF_ANY))
		bw_stat_inc(BW_STAT_START_FULL);
	return 0;
}

static __always_inline int switch_to(struct task_struct *prev,
				     struct task_struct *next, const bool btf)
{
	struct runq_key key = {};
	struct hist *h;
	__u64 *tsp, delta;
	__u32 pid;

	if ((btf ? bw_task_state_btf(prev) : bw_task_state(prev)) == TASK_RUNNING)
		enqueue(prev, btf);

	pid = btf ? next->pid : BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&runq_start, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&runq_start, &pid);
	if ((__s64)delta < 0)
		return 0;

	if (btf) {
		key.cgroup_id = next->cgroups->dfl_cgrp->kn->id;
		__builtin_memcpy(key.comm, next->comm, sizeof(key.comm));
	} else {
		key.cgroup_id = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id);
		bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), next->comm);
	}
	h = bw_hist_get(&runq_hist, &key);
	if (h)
		bw_hist_record(h, delta);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tp_btf_sched_wakeup, struct task_struct *p)
{
	return enqueue(p, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tp_btf_sched_wakeup_new, struct task_struct *p)
{
	return enqueue(p, true);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_btf_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return switch_to(prev, next, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_tp_sched_wakeup, struct task_struct *p)
{
	return enqueue(p, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_tp_sched_wakeup_new, struct task_struct *p)
{
	return enqueue(p, false);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_tp_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return switch_to(prev, next, false);
}

char LICENSE[] SEC("license") = "GPL";
