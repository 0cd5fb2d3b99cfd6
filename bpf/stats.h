/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-probe error counters, kept by every BPF object in a per-CPU array
 * named `bw_stats` and exported as bpfwatch_probe_errors_total{probe,reason}.
 * Each counts a limit that was hit, so nothing is lost silently.
 */
#ifndef BPFWATCH_STATS_H
#define BPFWATCH_STATS_H

enum bw_stat {
	BW_STAT_HIST_FULL = 0,	/* histogram map full: event not recorded */
	BW_STAT_START_FULL,	/* start-timestamp map full: event not timed */
	BW_STAT_FILTERED,	/* events skipped by the target filter */
	BW_STAT_MAX,
};

#endif /* BPFWATCH_STATS_H */
