/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Log-linear (HDR-style) histogram shared by BPF programs and user space.
 *
 * Values are recorded in "binary nanoseconds": units of 2^-30 s (about
 * 0.93 ns), so that every power-of-two bucket boundary is an exact power of
 * two in seconds.  Prometheus `le` boundaries at 2^k seconds therefore nest
 * exactly inside the fine buckets, and match native-histogram schema 0.
 *
 * Slot layout: values 0..15 get one slot each; every octave [2^k, 2^(k+1))
 * for k >= 4 is split into 16 linear sub-buckets (at most 6.25% wide).
 * Values >= 2^HIST_MAX_EXP units (1024 s) land in the overflow slot, which
 * only the +Inf bucket counts.
 *
 * This header is included by BPF C (after vmlinux.h) and by user space
 * (after <linux/types.h>); it has no includes of its own.
 */
#ifndef BPFWATCH_HIST_H
#define BPFWATCH_HIST_H

#define HIST_SUB_BITS	4
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_MAX_EXP	40
#define HIST_OVERFLOW	(HIST_SUB * (HIST_MAX_EXP - HIST_SUB_BITS + 1))
#define HIST_SLOTS	(HIST_OVERFLOW + 1)
#define HIST_UNITS_PER_SEC	(1ULL << 30)

/* ns -> units is ns * 2^30 / 10^9 = ns * 2^21 / 5^9, exact floor while
 * ns < 2^43 (2.4 hours); anything longer is clamped into the overflow. */
#define HIST_NS_LIMIT	(1ULL << 43)

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 sum_ns;
	__u64 last_ns;	/* bpf_ktime_get_ns() of the latest event: lets the
			 * agent free entries that went idle */
};

static __always_inline __u32 hist_msb64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

static __always_inline __u64 hist_ns_to_units(__u64 ns)
{
	if (ns >= HIST_NS_LIMIT)
		return ~0ULL;
	return (ns << 21) / 1953125;
}

/* Index of the slot that counts @v (in units); always < HIST_SLOTS. */
static __always_inline __u32 hist_slot(__u64 v)
{
	__u32 k;

	if (v < HIST_SUB)
		return (__u32)v;
	if (v >= (1ULL << HIST_MAX_EXP))
		return HIST_OVERFLOW;
	k = hist_msb64(v);
	return HIST_SUB * (k - HIST_SUB_BITS + 1) +
	       (__u32)((v >> (k - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Smallest value (units) counted by slot @i; for the overflow slot this is
 * 2^HIST_MAX_EXP. */
static __always_inline __u64 hist_slot_lower(__u32 i)
{
	__u32 k;

	if (i < HIST_SUB)
		return i;
	if (i >= HIST_OVERFLOW)
		return 1ULL << HIST_MAX_EXP;
	k = i / HIST_SUB + HIST_SUB_BITS - 1;
	return (__u64)(HIST_SUB + i % HIST_SUB) << (k - HIST_SUB_BITS);
}

/* Number of slots whose values are all < 2^e units, i.e. the prefix a
 * cumulative bucket with upper bound 2^e covers; 0 <= e <= HIST_MAX_EXP. */
static __always_inline __u32 hist_slots_below_exp2(__u32 e)
{
	if (e <= HIST_SUB_BITS)
		return 1U << e;
	return HIST_SUB * (e - HIST_SUB_BITS + 1);
}

#endif /* BPFWATCH_HIST_H */
