// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall latency: time from sys_enter to sys_exit per thread, aggregated
 * in the kernel by syscall number, cgroup and comm.  It fires on every
 * syscall, so the agent keeps it off unless configured, and usually
 * restricts it to target processes (bw_targets).
 * Variants: tp_btf > raw_tp > tracepoint (raw_syscalls).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "syslat.h"

/* tid -> start.  LRU: exit_group and a successful execve never return
 * from the thread's point of view, and their entries must age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sys_start);
} sys_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sys_key);
	__type(value, struct hist);
} sys_hist SEC(".maps");

static __always_inline int enter(long nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sys_start st = {};
	__u32 tid = (__u32)id;

	if (nr < 0 || !bw_wanted(id >> 32))
		return 0;
	st.ts = bpf_ktime_get_ns();
	st.nr = (__u32)nr;
	if (bpf_map_update_elem(&sys_start, &tid, &st, BPF_ANY))
		bw_stat_inc(BW_STAT_START_FULL);
	return 0;
}

static __always_inline int leave(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_key key = {};
	struct sys_start *st;
	struct hist *h;
	__u64 delta;

	st = bpf_map_lookup_elem(&sys_start, &tid);
	if (!st)
		return 0;
	delta = bpf_ktime_get_ns() - st->ts;
	key.nr = st->nr;
	bpf_map_delete_elem(&sys_start, &tid);
	if ((__s64)delta < 0)
		return 0;
	key.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	h = bw_hist_get(&sys_hist, &key);
	if (h)
		bw_hist_record(h, delta);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_btf_sys_enter, struct pt_regs *regs, long id)
{
	return enter(id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_btf_sys_exit, struct pt_regs *regs, long ret)
{
	return leave();
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_tp_sys_enter, struct pt_regs *regs, long id)
{
	return enter(id);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_tp_sys_exit, struct pt_regs *regs, long ret)
{
	return leave();
}

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->id);
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave();
}

char LICENSE[] SEC("license") = "GPL";
