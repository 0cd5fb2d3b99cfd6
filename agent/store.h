/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Series store: a short in-memory history of every series.
 *
 * Time advances in ticks shared by all series: store__begin_tick() opens a
 * new tick with its timestamp, the collector appends one sample per live
 * series, store__end_tick() closes it.  Each series keeps a ring of
 * `capacity` samples aligned with the shared ring of tick timestamps; a
 * tick in which a series got no sample holds a stale marker for it (the
 * series went away, like a Prometheus staleness marker).
 *
 * A series is a family (metric name, type, help) plus a suffix ("",
 * "_bucket", "_sum", "_count") plus an ordered label list.  Two appends
 * with equal family, suffix and labels (same order) hit the same series.
 * Series are kept per family in creation order, so a histogram's
 * _bucket/_sum/_count series written together stay together.
 *
 * Bounds: at most `max_series` series; an append that would create one
 * more is refused with -ENOSPC and counted in store__dropped_total().  A
 * series with no sample in the whole ring (stale for `capacity` ticks) is
 * freed at store__end_tick().
 */
#ifndef BPFWATCH_STORE_H
#define BPFWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expo.h"

struct store;
struct store_family;
struct store_series;

/* @capacity: samples kept per series (>= 2); @max_series >= 1. */
struct store *store__new(uint32_t capacity, uint32_t max_series);
void store__free(struct store *s);

/* Get or create a family; the returned pointer is borrowed and lives as
 * long as the store.  NULL with errno set on failure; a name already
 * registered with another type gives EEXIST. */
struct store_family *store__family(struct store *s, const char *name,
				   enum metric_type type, const char *help);

/* Open a tick at @ts_ms (must be > the previous tick's); 0 or -EINVAL. */
int store__begin_tick(struct store *s, int64_t ts_ms);
/* Append @v for the series at the open tick; 0, -ENOSPC (series limit,
 * counted), -ENOMEM, or -EINVAL (no open tick).  Appending twice to one
 * series in a tick overwrites. */
int store__append(struct store *s, struct store_family *f, const char *suffix,
		  const struct label *labels, size_t nlabels, double v);
/* Close the tick: series without a sample this tick get a stale marker;
 * series stale over the whole ring are freed. */
void store__end_tick(struct store *s);

uint32_t store__series_count(const struct store *s);
uint64_t store__dropped_total(const struct store *s);
uint32_t store__capacity(const struct store *s);
int64_t store__last_tick_ms(const struct store *s);	/* 0 before any */

/* A read-only view of a series, valid during the callback. */
struct store_series_view {
	const char *name;		/* family name + suffix */
	const struct label *labels;
	size_t nlabels;
	double value;			/* sample at the last closed tick */
	int64_t ts_ms;			/* that tick's timestamp */
};

/*
 * Walk families in creation order and, in each, the series that have a
 * sample at the last closed tick, in creation order.  @family_cb is called
 * once before a family's first such series (families without any are
 * skipped).  Either callback may be NULL.
 */
void store__foreach(const struct store *s,
		    void (*family_cb)(const char *name, enum metric_type type,
				      const char *help, void *ctx),
		    void (*series_cb)(const struct store_series_view *v,
				      void *ctx),
		    void *ctx);

/*
 * History of one series, oldest first: calls @cb for every non-stale
 * sample still in the ring.  Returns -ENOENT if no such series.
 */
int store__history(const struct store *s, const char *name_with_suffix,
		   const struct label *labels, size_t nlabels,
		   void (*cb)(int64_t ts_ms, double v, void *ctx), void *ctx);

/*
 * Families written by rule evaluations (recording rules, ALERTS): left
 * out of store__foreach (so out of /metrics: Prometheus evaluates the same
 * rules itself), and a series of theirs not appended in a tick has no
 * sample there (as between two scrapes) rather than a staleness marker:
 * the rule engine marks a series stale itself when an evaluation leaves
 * it out (store__append_stale), as Prometheus does.
 */
void store__family_set_evaluated(struct store_family *f);
/* Append a staleness marker for a series of @f (suffix "") in the open
 * tick.  Same errors as store__append. */
int store__append_stale(struct store *s, struct store_family *f,
			const struct label *labels, size_t nlabels);

/* Staleness: the NaN payload Prometheus uses for staleness markers, which
 * the store writes for a series in every tick it got no sample. */
bool store__is_stale(double v);
double store__stale_marker(void);

/* One series over a time range, as queries read it (valid during the
 * callback only). */
struct store_range {
	const char *name;		/* family name + suffix */
	const struct label *labels;
	size_t nlabels;
	size_t n;
	const int64_t *ts;		/* n tick timestamps, ascending (ms) */
	const double *vals;		/* n values; staleness markers included
					 * (store__is_stale): a query's lookback
					 * must stop at them */
};

/*
 * Every series exposed as @name (NULL: every series) with at least one
 * real sample in the ticks whose timestamps are in [@mint, @maxt]: @cb gets
 * those ticks' values.  An open tick counts for the series appended to it
 * already (rules evaluated during a tick see its samples so far).  @match
 * (may be NULL) sees each series' name and labels first: only those it
 * accepts are read.  Stops at and returns the first non-zero
 * value of @cb; 0, or -ENOMEM.
 */
typedef bool (*store_match_fn)(const char *name, const struct label *labels,
			       size_t nlabels, void *ctx);
int store__select(const struct store *s, const char *name, int64_t mint,
		  int64_t maxt, store_match_fn match,
		  int (*cb)(const struct store_range *r, void *ctx), void *ctx);

#endif /* BPFWATCH_STORE_H */
