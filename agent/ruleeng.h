/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rule engine: the agent's own Prometheus rule evaluation.
 *
 * Rule files (config rule_files, Prometheus' format: rulefile.h) are
 * loaded with every expression parsed by the PromQL engine (promql.h).
 * Groups are evaluated on collection ticks, in the tick itself (after the
 * probes appended, before it closes: storequery.h), every `interval` of
 * the group (global.evaluation_interval when it has none).  Within a
 * group rules run in order, and a recording rule's output is visible to
 * the rules after it, as in Prometheus.
 *
 * Recording rules write their series into the store (families marked
 * evaluated: queryable, not in /metrics).  Alerting rules drive the
 * alert state machine (alertstate.h); ALERTS and ALERTS_FOR_STATE are
 * written like recording rule output, and alerts due for sending are
 * handed to the notifier.
 *
 * Reload (SIGHUP, POST /-/reload) reads the rule files again: a file
 * with errors keeps the old rules running and reports why; alert state
 * of rules that stay (same group, same alert name) is kept.
 */
#ifndef BPFWATCH_RULEENG_H
#define BPFWATCH_RULEENG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "expo.h"
#include "store.h"

struct ruleeng;
struct alert_notices;

/* Receives the alerts due for sending after an evaluation (borrowed
 * during the call): the notifier. */
typedef void (*ruleeng_sink_fn)(void *ctx, const struct alert_notices *due);

/*
 * Load the rule files of @cfg (borrowed; must outlive the engine).
 * NULL with every error in @err ("file:line:col: message" lines).  With
 * no rule_files the engine is valid and has nothing to do.
 */
struct ruleeng *ruleeng__new(const struct config *cfg, char *err, size_t errlen);
void ruleeng__free(struct ruleeng *re);

/* Read the rule files again.  0, or -errno with the errors in @err and
 * the old rules still in force. */
int ruleeng__reload(struct ruleeng *re, char *err, size_t errlen);

/* Evaluate the groups that are due at @ts_ms into @s (whose tick at
 * @ts_ms is open). */
void ruleeng__eval(struct ruleeng *re, struct store *s, int64_t ts_ms);

/* Where alerts due for sending go (none by default: nothing is sent). */
void ruleeng__set_sink(struct ruleeng *re, ruleeng_sink_fn fn, void *ctx);
/* Base of generatorURL and $externalURL (borrowed), default none. */
void ruleeng__set_external_url(struct ruleeng *re, const char *url);

size_t ruleeng__ngroups(const struct ruleeng *re);
size_t ruleeng__nrules(const struct ruleeng *re);
/* The farthest back any rule reads (range + offset + lookback), in ms. */
int64_t ruleeng__max_lookback_ms(const struct ruleeng *re);

/* Self-metrics (Prometheus' rule manager names, bpfwatch_ prefixed),
 * appended to the open tick of @s. */
void ruleeng__metrics(struct ruleeng *re, struct store *s);

/* GET /api/v1/rules and /api/v1/alerts bodies, in Prometheus' JSON. */
void ruleeng__rules_json(const struct ruleeng *re, struct strbuf *b);
void ruleeng__alerts_json(const struct ruleeng *re, struct strbuf *b);

#endif /* BPFWATCH_RULEENG_H */
