/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Export of a kernel `struct hist` (bpf/hist.h) as one Prometheus
 * histogram in the series store: cumulative `_bucket` series at `le` =
 * 2^-20 s (0.95 us) .. 2^6 s (64 s) and +Inf, then `_sum` (seconds) and
 * `_count`.  The `le` bounds are exact: the fine slots nest inside them.
 * Shared by every probe family that aggregates into `struct hist`.
 */
#ifndef BPFWATCH_HISTEXPO_H
#define BPFWATCH_HISTEXPO_H

#include <stddef.h>
#include <stdint.h>

#include "expo.h"

struct hist;
struct store;
struct store_family;

/* Exported `le` boundaries, in hist units (2^-30 s): 2^LO .. 2^HI. */
#define HISTEXPO_E_LO 10
#define HISTEXPO_E_HI 36

/*
 * Append @h under @f with labels @l[0..n-1]; @l must have room for n + 1
 * entries (the `le` label is added at l[n]).  0 or the first store error
 * (-ENOSPC when the series limit is hit: counted by the store).
 */
int histexpo__append(struct store *s, struct store_family *f,
		     const struct hist *h, struct label *l, size_t n);

/* Number of events in @h (every slot, overflow included). */
uint64_t histexpo__count(const struct hist *h);

#endif /* BPFWATCH_HISTEXPO_H */
