/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probe manager: opens, loads and attaches each configured probe family,
 * choosing the best attach type the kernel offers (kfeatures.h) and falling
 * back in order; a probe that cannot attach is reported with its reason and
 * the rest keep running (unless strict mode makes it fatal).
 *
 * Every family here aggregates latency into `struct hist` values in one
 * hash map keyed by a small fixed-size key; probe__collect() turns the map
 * into histogram series in the store.
 */
#ifndef BPFWATCH_PROBES_H
#define BPFWATCH_PROBES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "kfeatures.h"

struct store;
struct store_family;
struct labeler;
struct probe;

#define PROBE_MAX_PROGS 8

/* Attach @id per @cfg; never NULL unless out of memory (an unattached
 * probe is returned with probe__attached() false and the reason set). */
struct probe *probe__new(enum probe_id id, const struct probe_cfg *cfg,
			 const struct features *feat);
void probe__free(struct probe *p);		/* detaches everything */

bool probe__attached(const struct probe *p);
bool probe__enabled(const struct probe *p);
const char *probe__name(const struct probe *p);
const char *probe__attach_type(const struct probe *p);	/* "" if none */
const char *probe__reason(const struct probe *p);	/* "ok", "disabled", or why not */
/* Metric family this probe exports (e.g. bpfwatch_runqueue_latency_seconds). */
const char *probe__metric(const struct probe *p);
/* fd of the histogram map, -1 when not attached (for tests). */
int probe__hist_fd(const struct probe *p);

/* Keep bw_targets current from the probe's targets config (pids + comm
 * regex over /proc); no-op without targets.  Returns tgids selected. */
int probe__refresh_targets(struct probe *p);
/* Add one tgid to the in-kernel target set (tests). 0 or -errno. */
int probe__add_target(struct probe *p, uint32_t tgid);

struct probe_prog_stats {
	const char *name;
	uint64_t run_cnt;
	uint64_t run_time_ns;
};
/* Per-program BPF stats (meaningful while BPF stats are enabled). */
int probe__prog_stats(const struct probe *p, struct probe_prog_stats *out,
		      int max);

struct probe_counters {
	uint64_t hist_full;	/* events lost: histogram map full */
	uint64_t start_full;	/* events lost: start map full */
	uint64_t filtered;	/* events skipped by the target filter */
	uint64_t expired;	/* idle entries freed by the agent */
	uint64_t gone;		/* entries freed because their cgroup went away */
	uint64_t targets_full;	/* target tgids that did not fit the map */
	uint32_t entries;	/* histogram map entries at the last collect */
	uint32_t max_entries;
};
void probe__counters(const struct probe *p, struct probe_counters *c);

/*
 * Read the histogram map and append one histogram per key to the store.
 * Entries idle for longer than @idle_timeout_ms and entries whose cgroup
 * no longer exists are deleted from the kernel map.  0 or -errno.
 */
int probe__collect(struct probe *p, struct store *s, struct labeler *lb,
		   uint64_t idle_timeout_ms);

#endif /* BPFWATCH_PROBES_H */
