/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collector: on every tick reads all probes' maps, resolves labels, and
 * appends one sample per series (probe series and bpfwatch's own metrics)
 * to the store; then renders the /metrics body once for all scrapes of
 * that tick.
 */
#ifndef BPFWATCH_COLLECTOR_H
#define BPFWATCH_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kfeatures.h"

struct collector;
struct funcprobe;
struct notify;
struct leakdetect;
struct memprobe;
struct gcprobe;
struct probe;
struct ruleeng;
struct store;

/* Borrowed: @cfg, @feat, @probes (array of PROBE__COUNT) and @store must
 * outlive the collector. */
struct collector *collector__new(const struct config *cfg,
				 const struct features *feat,
				 struct probe **probes, struct store *store);
void collector__free(struct collector *c);
/* Also collect the function-latency probe @fp (borrowed; NULL = none). */
void collector__set_funcprobe(struct collector *c, struct funcprobe *fp);
/* Also collect the memory probe @mp and feed its records to the leak
 * analyzer @ld (both borrowed; NULL = none). */
void collector__set_memprobe(struct collector *c, struct memprobe *mp,
			     struct leakdetect *ld);
/* Also attribute memory growth to code paths with @grp (borrowed; NULL =
 * none), for the memory probe's processes: needs collector__set_memprobe. */
struct growthpaths;
void collector__set_growthpaths(struct collector *c, struct growthpaths *grp);

/* Evaluate the rules of @re (borrowed; NULL = none) at the end of every
 * tick, before it closes. */
void collector__set_ruleeng(struct collector *c, struct ruleeng *re);

/* Append the notifier's self-metrics to /metrics (borrowed; NULL = none). */
void collector__set_notify(struct collector *c, struct notify *n);
/* Also run the GC pause probe @gp (borrowed; NULL = none). */
void collector__set_gcprobe(struct collector *c, struct gcprobe *gp);

/* One collection: 0 or -errno (a probe's failure is logged, not fatal). */
int collector__tick(struct collector *c);
uint64_t collector__ticks(const struct collector *c);

/* The /metrics body rendered at the last tick (borrowed until the next
 * tick); gzip variant compressed lazily on first request.  NULL before the
 * first tick. */
const char *collector__metrics(struct collector *c, size_t *len);
const void *collector__metrics_gzip(struct collector *c, size_t *len);

#endif /* BPFWATCH_COLLECTOR_H */
