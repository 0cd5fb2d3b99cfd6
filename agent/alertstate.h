/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alert state machine of one alerting rule, with Prometheus' semantics
 * (rules/alerting.go), and persistence of the `for` clocks.
 *
 * Each evaluation hands the rule's query result (series labels + value)
 * to alertstate__eval, which builds every alert's label set (result
 * labels without __name__, plus the rule's expanded labels, plus
 * alertname; a label expanded to "" is removed), expands annotations, and
 * moves the alerts along:
 *
 *   new result              -> pending, ActiveAt = t
 *   pending, t - ActiveAt >= for -> firing, FiredAt = t (for 0: at once)
 *   pending, gone           -> deleted
 *   firing, gone            -> resolved (ResolvedAt = t), unless
 *                              keep_firing_for holds it firing since the
 *                              first evaluation it was gone
 *   resolved                -> kept 15 min for re-sending, then deleted;
 *                              back in the result: a new pending alert
 *
 * Value and annotations of an active alert are refreshed every
 * evaluation.  More active alerts than the rule's limit is an error that
 * clears the rule's alerts (as Prometheus does).  Results that collide
 * after the labels are applied are an error too.
 *
 * The evaluation outputs the synthetic series ALERTS{alertstate=...} 1 and
 * ALERTS_FOR_STATE <ActiveAt in seconds> of every active alert.
 * alertstate__due lists the alerts to send to Alertmanager, by
 * Prometheus' resend rules (see there).
 *
 * Nothing here does I/O except alertstate__save and for_state__load.
 *
 * How the rule engine is expected to drive it, per group evaluation:
 *
 *   for each alerting rule R of the group:
 *       result = PromQL(R->expr) at t                 (series + values)
 *       alertstate__eval(state[R], t, result, n, &env, &series, err, len)
 *       (append `series` to the store: ALERTS, ALERTS_FOR_STATE)
 *       alertstate__due(state[R], t, group interval, &env, &notices)
 *   hand `notices` to the Alertmanager client
 *   alertstate__save(STATE_DIR "/alerts_for_state", states, n, t, ...)
 *
 * and once after start, after the first evaluation of each group:
 *   fs = for_state__load(...); alertstate__restore(state[R], fs, t,
 *   ALERT_FOR_GRACE_MS, ALERT_OUTAGE_TOLERANCE_MS) for each rule.
 */
#ifndef BPFWATCH_ALERTSTATE_H
#define BPFWATCH_ALERTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expo.h"
#include "rulefile.h"

#define ALERT_RESOLVED_RETENTION_MS	(15 * 60 * 1000)	/* resend resolved */
#define ALERT_RESEND_DELAY_MS		(60 * 1000)	/* --rules.alert.resend-delay */
/* Prometheus' --rules.alert.for-grace-period and for-outage-tolerance */
#define ALERT_FOR_GRACE_MS		(10 * 60 * 1000)
#define ALERT_OUTAGE_TOLERANCE_MS	(60 * 60 * 1000)
#define ALERTSTATE_MAX_ALERTS		10000	/* per rule when it has no limit */
#define FOR_STATE_MAX_RECORDS		100000	/* records read from a state file */
#define FOR_STATE_MAX_FILE		(64 * 1024 * 1024)

enum alert_state {
	ALERT_INACTIVE = 0,	/* resolved, kept for re-sending */
	ALERT_PENDING,
	ALERT_FIRING,
};

const char *alert_state__name(enum alert_state s);	/* "inactive", ... */

/* One series of the rule's query result (borrowed during the call). */
struct alert_input {
	const struct label *labels;
	size_t nlabels;
	double value;
};

/* What templates see besides the alert itself. */
struct alert_env {
	const struct label *ext_labels;
	size_t next_labels;
	const char *external_url;	/* also the generatorURL base */
};

/* A series with owned labels (sorted by name, __name__ included; one
 * allocation, freed by alert_series_vec__free). */
struct alert_series {
	struct label *labels;
	size_t nlabels;
	double value;
};

struct alert_series_vec {
	struct alert_series *v;
	size_t n;
	size_t cap;
};

void alert_series_vec__free(struct alert_series_vec *vec);	/* keeps @vec */

/* An alert as Alertmanager's API v2 takes it; everything owned (label
 * and annotation arrays are one allocation each, see alert_notices__free). */
struct alert_notice {
	struct label *labels;		/* sorted, alertname included */
	size_t nlabels;
	struct label *annotations;
	size_t nannotations;
	int64_t starts_at_ms;		/* FiredAt */
	int64_t ends_at_ms;		/* ResolvedAt, or now + 4 x max(interval,
					 * resend delay) while firing */
	char *generator_url;		/* externalURL/graph?g0.expr=...&g0.tab=1 */
	bool resolved;
};

struct alert_notices {
	struct alert_notice *v;
	size_t n;
	size_t cap;
};

void alert_notices__free(struct alert_notices *ns);	/* keeps @ns */

/* A read-only view of one alert, for APIs and tests. */
struct alert_view {
	const struct label *labels;
	size_t nlabels;
	const struct label *annotations;
	size_t nannotations;
	enum alert_state state;
	double value;
	uint64_t fingerprint;
	int64_t active_at_ms;
	int64_t fired_at_ms;		/* ALERT_TIME_UNSET if never */
	int64_t resolved_at_ms;		/* ALERT_TIME_UNSET if not resolved */
	int64_t keep_firing_since_ms;	/* ALERT_TIME_UNSET unless held */
	int64_t last_sent_ms;		/* ALERT_TIME_UNSET if never */
};

#define ALERT_TIME_UNSET	INT64_MIN

struct alertstate;

/*
 * State of one alerting rule.  @group_key names the group (Prometheus
 * uses "file;group"); @rule and @group are borrowed and must outlive the
 * state (alertstate__rebind after a reload).  Group labels apply under
 * the rule's own labels.  Returns NULL with errno set.
 */
struct alertstate *alertstate__new(const char *group_key, const struct rule_group *group,
				   const struct rule *rule);
/* Point the state at the reloaded rule (same name); alerts are kept. */
void alertstate__rebind(struct alertstate *as, const struct rule_group *group,
			const struct rule *rule);
void alertstate__free(struct alertstate *as);

/*
 * Evaluate at @t_ms with the query result @in[@n].  Appends the ALERTS and
 * ALERTS_FOR_STATE series to @series (may be NULL).  Returns 0, -EINVAL
 * (limit exceeded, colliding label sets; message in @err) or -ENOMEM.
 */
int alertstate__eval(struct alertstate *as, int64_t t_ms, const struct alert_input *in,
		     size_t n, const struct alert_env *env, struct alert_series_vec *series,
		     char *err, size_t errlen);

/*
 * Append to @out the alerts due for sending at @t_ms, and mark them sent:
 * not pending, and either resolved since the last send or last sent more
 * than ALERT_RESEND_DELAY_MS before @t_ms.  @interval_ms is the group's
 * evaluation interval.  Returns the number appended or -ENOMEM.
 */
int alertstate__due(struct alertstate *as, int64_t t_ms, uint64_t interval_ms,
		    const struct alert_env *env, struct alert_notices *out);

size_t alertstate__count(const struct alertstate *as);
/* Alerts in fingerprint order; @i < alertstate__count. */
void alertstate__get(const struct alertstate *as, size_t i, struct alert_view *v);
const char *alertstate__group_key(const struct alertstate *as);
const char *alertstate__name(const struct alertstate *as);
/* Times an evaluation hit ALERTSTATE_MAX_ALERTS or the rule's limit. */
uint64_t alertstate__limit_hits(const struct alertstate *as);

/* Prometheus-style stable 64-bit fingerprint of a label set (any order). */
uint64_t alert_labels__fingerprint(const struct label *l, size_t n);

/* --- persistence of `for` state -------------------------------------------
 *
 * Prometheus restores pending clocks from its own ALERTS_FOR_STATE series
 * in the TSDB.  bpfwatch has no TSDB, so it writes the same information
 * to a file in state_dir: for every active alert, (group key, rule name,
 * label set, ActiveAt), plus the time of writing.  The file is replaced
 * atomically (temp file, fsync, rename, fsync of the directory); each
 * line carries a CRC32 of its content.  A file that fails to parse is
 * reported, renamed to PATH.corrupt and its valid lines still used.
 *
 * Restoring applies Prometheus' rules (RestoreForState), with the time of
 * writing as the time the agent went down: nothing is restored after an
 * outage longer than ALERT_OUTAGE_TOLERANCE_MS, nor for rules whose `for`
 * is shorter than the grace period; an alert that had already waited its
 * `for` keeps its ActiveAt (it fires at the next evaluation); one with
 * less than the grace period left fires a grace period after the restart;
 * otherwise the clock resumes where it stopped (ActiveAt moves forward by
 * the downtime).
 */
struct for_state;

/* Write the active alerts of @states to @path.  Returns 0 or -errno. */
int alertstate__save(const char *path, struct alertstate *const *states, size_t n,
		     int64_t now_ms, char *err, size_t errlen);

/*
 * Read @path.  Returns the records (possibly none) or NULL with errno
 * (ENOENT: no file, a normal first start; ENOMEM; EIO...).  A corrupt
 * file sets *@corrupt, writes the reason to @err and is moved aside.
 */
struct for_state *for_state__load(const char *path, bool *corrupt, char *err,
				  size_t errlen);
size_t for_state__count(const struct for_state *fs);
int64_t for_state__saved_at(const struct for_state *fs);
void for_state__free(struct for_state *fs);

/*
 * After the first evaluation following a start: move the ActiveAt of the
 * active alerts found in @fs (same group key, rule, label set).  Returns
 * the number of alerts restored.
 */
size_t alertstate__restore(struct alertstate *as, const struct for_state *fs,
			   int64_t now_ms, uint64_t grace_ms, uint64_t outage_tolerance_ms);

#endif /* BPFWATCH_ALERTSTATE_H */
