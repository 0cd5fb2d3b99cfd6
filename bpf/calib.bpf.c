// SPDX-License-Identifier: GPL-2.0
/*
 * Empty uprobe and uretprobe programs: what a trap into a uprobe costs
 * before any work is done.  The agent attaches calib_uprobe to a function
 * of its own to calibrate the per-hit cost its overhead budget uses
 * (agent/calib.c); `make bench` puts both on one function next to the
 * function probe.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uprobe")
int BPF_KPROBE(calib_uprobe)
{
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(calib_uretprobe)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
