// SPDX-License-Identifier: GPL-2.0
/*
 * One trivial program per attach type.  The agent loads and attaches each
 * on its own at start-up to learn what this kernel really offers, rather
 * than guessing from its version.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

SEC("tp_btf/sched_switch")
int BPF_PROG(feat_tp_btf)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(feat_raw_tp)
{
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int feat_tracepoint(void *ctx)
{
	return 0;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(feat_fentry)
{
	return 0;
}

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(feat_kprobe)
{
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(feat_uprobe)
{
	return 0;
}

SEC("usdt")
int feat_usdt(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
