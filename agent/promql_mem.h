/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-memory series database implementing struct promql_storage: backs the
 * PromQL unit tests and the `promtool test rules`-style runner, which
 * loads input_series written in promtool's expanding notation.
 */
#ifndef BPFWATCH_PROMQL_MEM_H
#define BPFWATCH_PROMQL_MEM_H

#include "promql.h"

struct promql_mem;

/* Limits bound memory; 0 means the default (100 000 series, 10 000 000
 * samples).  NULL on ENOMEM. */
struct promql_mem *promql_mem__new(size_t max_series, size_t max_samples);
void promql_mem__free(struct promql_mem *db);

/* Add a sample to the series with @labels (any order, __name__ included;
 * copied).  Samples may come in any order; a sample at an existing
 * timestamp replaces it.  0, -ENOMEM, or -ENOSPC when a limit is hit. */
int promql_mem__add(struct promql_mem *db, const struct promql_label *labels,
		    size_t n, int64_t t_ms, double v);

/*
 * promtool input_series: @series is a selector with only "=" matchers
 * (`up{job="a"}`), @values promtool's notation: space-separated items
 * `v`, `a+bxN` / `a-bxN` (N + 1 values), `vxN` (v repeated N + 1 times),
 * `_` (no sample), `_xN` (N missing) and `stale` (a staleness marker).
 * The i-th value is at start_ms + i * interval_ms.  0 or -errno with a
 * message in @err.
 */
int promql_mem__load(struct promql_mem *db, const char *series,
		     const char *values, int64_t start_ms, int64_t interval_ms,
		     char *err, size_t errlen);

/* Counters: samples refused because a limit was hit. */
uint64_t promql_mem__dropped(const struct promql_mem *db);
size_t promql_mem__series_count(const struct promql_mem *db);

/* A storage interface reading @db (borrowed: @db must outlive it). */
void promql_mem__storage(struct promql_mem *db, struct promql_storage *st);

#endif /* BPFWATCH_PROMQL_MEM_H */
