// SPDX-License-Identifier: GPL-2.0
/*
 * Block I/O latency: time from a request being issued to the device driver
 * to its completion, aggregated in the kernel by disk and operation.
 * tp_btf variants are preferred; raw_tp variants are the fallback.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "biolat.h"

#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1U << REQ_OP_BITS) - 1)
#define MINORBITS 20

/* request -> issue timestamp.  LRU: a request that never completes (a
 * device reset, a requeue that is freed elsewhere) must not pin space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct request *);
	__type(value, __u64);
} bio_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bio_key);
	__type(value, struct hist);
} bio_hist SEC(".maps");

static __always_inline int issue(struct request *rq)
{
	__u64 ts = bpf_ktime_get_ns();

	if (bpf_map_update_elem(&bio_start, &rq, &ts, BPF_ANY))
		bw_stat_inc(BW_STAT_START_FULL);
	return 0;
}

static __always_inline int complete(struct request *rq)
{
	struct bio_key key = {};
	struct gendisk *disk;
	struct hist *h;
	__u64 *tsp, delta;

	tsp = bpf_map_lookup_elem(&bio_start, &rq);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&bio_start, &rq);
	if ((__s64)delta < 0)
		return 0;

	disk = bw_rq_disk(rq);
	if (disk)
		key.dev = ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) |
			  (__u32)BPF_CORE_READ(disk, first_minor);
	key.op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
	h = bw_hist_get(&bio_hist, &key);
	if (h)
		bw_hist_record(h, delta);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tp_btf_block_rq_issue, struct request *rq)
{
	return issue(rq);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(tp_btf_block_rq_complete, struct request *rq, int error,
	     unsigned int nr_bytes)
{
	return complete(rq);
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(raw_tp_block_rq_issue, struct request *rq)
{
	return issue(rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(raw_tp_block_rq_complete, struct request *rq, int error,
	     unsigned int nr_bytes)
{
	return complete(rq);
}

char LICENSE[] SEC("license") = "GPL";
