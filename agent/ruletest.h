/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rule unit tests in `promtool test rules` format (Prometheus 2.42), run
 * by `bpfwatch test rules` with bpfwatch's own PromQL engine, rule file
 * loader, templates and alert state logic, so the same test files give
 * the same verdicts under both tools:
 *
 *   rule_files: [a.rules.yml]        # relative to the test file, globs
 *   evaluation_interval: 1m          # default 1m
 *   group_eval_order: [g1, g2]       # optional
 *   tests:
 *     - interval: 1m                 # input series step; promtool 2.42
 *                                    # defaults it to 0 (all samples at 0)
 *       name: optional
 *       external_labels: {k: v}
 *       external_url: http://...
 *       input_series:
 *         - series: 'up{job="a"}'
 *           values: '1+2x10 _ stale 5 -2-1x3 _x2 Inf'
 *       alert_rule_test:
 *         - eval_time: 5m
 *           alertname: X
 *           exp_alerts: [{exp_labels: {...}, exp_annotations: {...}}]
 *       promql_expr_test:
 *         - expr: sum(up)
 *           eval_time: 5m
 *           exp_samples: [{labels: '{job="a"}', value: 3}]
 *
 * Semantics (promtool's): every rule group is evaluated at 0, 1, 2, ...
 * times evaluation_interval up to the largest eval_time, groups in
 * group_eval_order (then file order), rule results and ALERTS series
 * appended to the test's database and marked stale when they disappear.
 * Input samples are loaded up to each evaluation time only, so queries
 * never see samples after the last evaluation; a query may load at most
 * 10000 samples (promtool's test engine limit).
 * An alert test at eval_time checks the firing alerts as of the last
 * evaluation at or before it; samples and alerts compare as sets, values
 * exactly (NaN never equals, as Go's reflect.DeepEqual).  An error while
 * evaluating a rule stops the test group at that time.
 *
 * The output mimics promtool's: "Unit Testing:  FILE", then "  SUCCESS"
 * or "  FAILED:" followed by every failure (expected vs got), on stdout
 * and stderr the way promtool splits them.  Mistakes in a test file are
 * reported as FILE:LINE:COL: message.
 */
#ifndef BPFWATCH_RULETEST_H
#define BPFWATCH_RULETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "promql.h"

#define RULETEST_MAX_FILE_SIZE	(4 * 1024 * 1024)	/* test file bytes */
#define RULETEST_MAX_VALUES	1000000		/* expanded values per series line */
#define RULETEST_MAX_STEPS	1000000000LL	/* steps (values and blanks) per line */
#define RULETEST_MAX_POINTS	10000000	/* expanded values per test file */
#define RULETEST_MAX_EVALS	1000000		/* evaluation steps per test group */
#define RULETEST_MAX_ITEMS	100000		/* list entries (series, tests) per list */
#define RULETEST_MAX_ERRORS	50		/* file errors reported */
#define RULETEST_QUERY_MAX_SAMPLES 10000	/* per query, as promtool's engine */

/* One expanded value: the index-th step of the series (stale markers
 * carry PROMQL_STALE_NAN_BITS). */
struct rt_point {
	int64_t idx;
	double v;
};

/*
 * promtool's expanding notation: space-separated items
 *   N            a number (Go float syntax, Inf/NaN in any case, a sign)
 *   A+BxN A-BxN  N + 1 values A, A+B, ... (B added N times, in floats)
 *   AxN          N + 1 times A
 *   _            no sample at this step;  _xN  N steps without samples
 *   stale        a staleness marker
 * Returns 0 with a malloc'ed array in *@pts (NULL when empty) and its
 * length in *@n; -EINVAL with a message and the byte offset of the bad
 * item in *@err_off; -E2BIG past @max values (0: RULETEST_MAX_VALUES);
 * -ERANGE past RULETEST_MAX_STEPS steps; -ENOMEM.
 */
int ruletest__expand_values(const char *s, size_t max, struct rt_point **pts,
			    size_t *n, size_t *err_off, char *err, size_t errlen);

/* A label set: sorted by name, names and values owned. */
struct rt_labels {
	struct promql_label *l;
	size_t n;
};

void rt_labels__free(struct rt_labels *ls);
int rt_labels__cmp(const struct rt_labels *a, const struct rt_labels *b);
/* Go's labels.Labels.String(): {a="b", c="d"} (values quoted as Go does). */
char *rt_labels__str(const struct rt_labels *ls);

/*
 * A series description as Prometheus' parser.ParseMetric reads it:
 * `name`, `name{a="b", c='d'}`, `{__name__="x"}`, `{}`, or "" (no
 * labels); "=" only, a trailing comma allowed.  0, -EINVAL (message,
 * *@err_off) or -ENOMEM.
 */
int ruletest__parse_metric(const char *s, struct rt_labels *out, size_t *err_off,
			   char *err, size_t errlen);

struct rt_sample {
	struct rt_labels labels;
	double v;
};

/* Go's strconv.Quote (%q) of @s, malloc'ed. */
char *ruletest__quote(const char *s);

/* Go's strconv.FormatFloat(v, 'E', -1, 64): "3E-01", "+Inf", "NaN". */
const char *ruletest__format_E(double v, char *buf, size_t len);

/*
 * promtool's comparison of a promql_expr_test: both lists sorted by
 * labels (in place), then equal length, equal labels and exactly equal
 * values (NaN equals nothing, -0 equals 0).
 */
bool ruletest__samples_equal(struct rt_sample *exp, size_t nexp,
			     struct rt_sample *got, size_t ngot);
/* "{a="b"} 1E+00, {} 2E+00" or "nil", malloc'ed. */
char *ruletest__samples_str(const struct rt_sample *s, size_t n);

struct rt_alert {
	struct rt_labels labels;
	struct rt_labels annotations;
};

/* Alerts as sets: both sorted (labels, then annotations) and compared. */
bool ruletest__alerts_equal(struct rt_alert *exp, size_t nexp,
			    struct rt_alert *got, size_t ngot);
/* promtool's listing ("[]" or "[\n0:\n  Labels:{...}\n  Annotations:{...}\n]"),
 * every line after the first prefixed with @indent; malloc'ed. */
char *ruletest__alerts_str(const struct rt_alert *a, size_t n, const char *indent);

/* Go's time.Duration and Prometheus' model.Duration String() of @ms. */
void ruletest__go_duration(int64_t ms, char *buf, size_t len);
void ruletest__model_duration(int64_t ms, char *buf, size_t len);

/*
 * Run one test file.  Progress and verdicts go to @out, failures to
 * @errout (promtool's split).  Returns 0 if every test passed, 1 if any
 * failed or the file is invalid, -ENOMEM.
 */
int ruletest__run_file(const char *path, FILE *out, FILE *errout);

/* rulefile_check_fn plugging the PromQL parser into rulefile.h. */
int ruletest__rulefile_check(void *ctx, const char *expr, char *msg, size_t msglen,
			     size_t *off);

/*
 * Parse a test file from memory without running it (for the fuzzer and
 * `check`): 0, or -EINVAL with every error (FILE:LINE:COL: message, '\n'
 * separated) in @err, or -ENOMEM / -EFBIG.
 */
int ruletest__check_text(const char *name, const char *text, size_t len,
			 char *err, size_t errlen);

#endif /* BPFWATCH_RULETEST_H */
