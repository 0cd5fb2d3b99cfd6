/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The series store as PromQL storage: rules, /api/v1/query and the
 * analyzers query what the agent collected.  Series names are the exposed
 * names (family + suffix, e.g. x_bucket), labels the exposed labels, and
 * the store's staleness markers are Prometheus' (the same NaN bits), so
 * the lookback stops where a series went away.
 */
#ifndef BPFWATCH_STOREQUERY_H
#define BPFWATCH_STOREQUERY_H

#include "promql.h"
#include "store.h"

/* Fill @st so that it reads @s (borrowed; must outlive the queries). */
void storequery__init(struct promql_storage *st, const struct store *s);

#endif /* BPFWATCH_STOREQUERY_H */
