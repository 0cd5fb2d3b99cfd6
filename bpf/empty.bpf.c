// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs on the hooks bpfwatch uses: the floor `make bench` reports
 * every probe's cost against.  Never loaded by the agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_sched_switch)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(empty_sys_enter)
{
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(empty_rq_complete)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
