/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pieces every bpfwatch BPF object shares: the per-CPU error counters
 * (bw_stats, see stats.h), the in-kernel target filter (bw_targets, a set of
 * wanted tgids kept current by the agent) and the histogram update.
 */
#ifndef BPFWATCH_COMMON_BPF_H
#define BPFWATCH_COMMON_BPF_H

#include "hist.h"
#include "stats.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/* Keep the compiler from proving a bound the verifier cannot see. */
#define bw_barrier_var(var) asm volatile("" : "+r"(var))

/* Set by the agent through skel->rodata before load. */
const volatile bool filter_tgid = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} bw_targets SEC(".maps");

/* Zeroed histogram used to create new map entries (too big for the stack). */
static struct hist bw_zero_hist;

static __always_inline void bw_stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&bw_stats, &idx);

	if (c)
		*c += 1;
}

/* True when @tgid should be traced under the current target filter. */
static __always_inline bool bw_wanted(__u32 tgid)
{
	if (!filter_tgid)
		return true;
	if (bpf_map_lookup_elem(&bw_targets, &tgid))
		return true;
	bw_stat_inc(BW_STAT_FILTERED);
	return false;
}

/* Find the histogram for @key in @map, creating it if absent; NULL (and
 * BW_STAT_HIST_FULL counted) when the map is full. */
static __always_inline struct hist *bw_hist_get(void *map, const void *key)
{
	struct hist *h;
	long err;

	h = bpf_map_lookup_elem(map, key);
	if (h)
		return h;
	err = bpf_map_update_elem(map, key, &bw_zero_hist, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		bw_stat_inc(BW_STAT_HIST_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void bw_hist_record(struct hist *h, __u64 ns)
{
	__u32 slot = hist_slot(hist_ns_to_units(ns));

	bw_barrier_var(slot);
	if (slot >= HIST_SLOTS)
		return;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	h->last_ns = bpf_ktime_get_ns();
}

#endif /* BPFWATCH_COMMON_BPF_H */
