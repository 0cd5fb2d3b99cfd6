// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL engine against the real Prometheus: every case below is an
 * expression over promtool-notation input series whose expected result
 * was printed by `promtool test rules` (Debian 12's Prometheus 2.42).
 * The engine's result is printed the way promtool prints "got:" (labels
 * sorted, values in Go's shortest %E form, errors with their text), so a
 * case passes only when we agree with Prometheus to the last bit.
 *
 * To add cases: put them in a promtool test file with empty exp_samples,
 * run promtool and paste what it prints after "got:" or "err:".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql.h"
#include "promql_mem.h"

struct prom_case {
	const char *const *series;	/* pairs: selector, values; NULL */
	int64_t t_ms;
	const char *expr;
	const char *want;		/* promtool's "got" or "ERR msg" */
};

/* Generated from promtool (Prometheus 2.42) answers: each expected string is
 * what `promtool test rules` printed as "got" (or its error) for the
 * expression over the series, evaluated at the given time. */
static const char *const series_0[] = {
	"http_requests{job=\"a\",instance=\"1\"}", "0+10x10",
	"http_requests{job=\"a\",instance=\"2\"}", "5 15 3 8 20 _ 30 stale",
	"http_requests{job=\"b\",instance=\"1\"}", "1 2 3 4 5 6 7 8 9 10",
	NULL,
};
static const char *const series_1[] = {
	"req_bucket{le=\"0.1\",job=\"a\"}", "0+1x10",
	"req_bucket{le=\"0.5\",job=\"a\"}", "0+3x10",
	"req_bucket{le=\"1\",job=\"a\"}", "0+4x10",
	"req_bucket{le=\"+Inf\",job=\"a\"}", "0+5x10",
	"req_bucket{le=\"0.1\",job=\"b\"}", "0+2x10",
	"req_bucket{le=\"1\",job=\"b\"}", "0+1x10",
	"req_bucket{le=\"+Inf\",job=\"b\"}", "0+3x10",
	"req_bucket{le=\"0.2\",job=\"c\"}", "0+2x10",
	"req_bucket{le=\"0.4\",job=\"c\"}", "0+2x10",
	"noinf_bucket{le=\"0.2\",job=\"d\"}", "0+2x10",
	"neg_bucket{le=\"-1\",job=\"e\"}", "0+2x10",
	"neg_bucket{le=\"+Inf\",job=\"e\"}", "0+2x10",
	"g{i=\"1\"}", "1 NaN 3 Inf -Inf 5",
	"g{i=\"2\"}", "NaN NaN NaN NaN NaN NaN",
	"g{i=\"3\"}", "Inf Inf Inf Inf Inf 7",
	"g{i=\"4\"}", "-1 2 -3 4 -5 0.25",
	"c{i=\"1\"}", "10 20 5 15 3 30",
	"c{i=\"2\"}", "100 110 120 130 140 150",
	"d1{a=\"x\",b=\"1\"}", "1 2 3 4 5 6",
	"d1{a=\"x\",b=\"2\"}", "1 2 3 4 5 6",
	"d2{a=\"x\"}", "10 20 30 40 50 60",
	"d2{a=\"y\"}", "10 20 30 40 50 60",
	"st{a=\"1\"}", "1 2 stale 4 stale",
	"sparse{a=\"1\"}", "1 _ _ _ _ _ _ 8",
	NULL,
};
static const char *const series_2[] = {
	"m{a=\"1\"}", "1 2 3",
	NULL,
};

static const struct prom_case prom_cases[] = {
	{ series_0, 300000, "rate(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666669E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 1.25E-01" },
	{ series_0, 450000, "increase(http_requests[3m])",
	  "{instance=\"1\", job=\"a\"} 3E+01, {instance=\"1\", job=\"b\"} 3E+00" },
	{ series_0, 300000, "irate(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666666E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 2E-01" },
	{ series_0, 300000, "delta(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 5E+01, {instance=\"1\", job=\"b\"} 5E+00, {instance=\"2\", job=\"a\"} 1.875E+01" },
	{ series_0, 300000, "idelta(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1E+01, {instance=\"1\", job=\"b\"} 1E+00, {instance=\"2\", job=\"a\"} 1.2E+01" },
	{ series_0, 480000, "http_requests",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 8E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 9E+00" },
	{ series_0, 420000, "http_requests",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 7E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 8E+00" },
	{ series_0, 780000, "http_requests",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 1E+02, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 1E+01" },
	{ series_0, 900000, "http_requests",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 1E+02" },
	{ series_0, 300000, "sum(http_requests)",
	  "{} 7.6E+01" },
	{ series_0, 300000, "sum by (job) (http_requests)",
	  "{job=\"a\"} 7E+01, {job=\"b\"} 6E+00" },
	{ series_0, 300000, "avg without (instance) (http_requests)",
	  "{job=\"a\"} 3.5E+01, {job=\"b\"} 6E+00" },
	{ series_0, 300000, "count(http_requests)",
	  "{} 3E+00" },
	{ series_0, 300000, "max(http_requests)",
	  "{} 5E+01" },
	{ series_0, 300000, "min(http_requests) by (instance)",
	  "{instance=\"1\"} 6E+00, {instance=\"2\"} 2E+01" },
	{ series_0, 300000, "stddev(http_requests)",
	  "{} 1.8354533197248273E+01" },
	{ series_0, 300000, "stdvar(http_requests)",
	  "{} 3.3688888888888886E+02" },
	{ series_0, 300000, "topk(2, http_requests)",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "bottomk(1, http_requests)",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"b\"} 6E+00" },
	{ series_0, 300000, "quantile(0.3, http_requests)",
	  "{} 1.44E+01" },
	{ series_0, 300000, "count_values(\"v\", http_requests)",
	  "{v=\"20\"} 1E+00, {v=\"50\"} 1E+00, {v=\"6\"} 1E+00" },
	{ series_0, 300000, "group(http_requests)",
	  "{} 1E+00" },
	{ series_0, 300000, "http_requests + 1",
	  "{instance=\"1\", job=\"a\"} 5.1E+01, {instance=\"1\", job=\"b\"} 7E+00, {instance=\"2\", job=\"a\"} 2.1E+01" },
	{ series_0, 300000, "http_requests > 5",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 6E+00, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "http_requests > bool 5",
	  "{instance=\"1\", job=\"a\"} 1E+00, {instance=\"1\", job=\"b\"} 1E+00, {instance=\"2\", job=\"a\"} 1E+00" },
	{ series_0, 300000, "5 < http_requests",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 6E+00, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "http_requests / 0",
	  "{instance=\"1\", job=\"a\"} +Inf, {instance=\"1\", job=\"b\"} +Inf, {instance=\"2\", job=\"a\"} +Inf" },
	{ series_0, 300000, "-http_requests",
	  "{instance=\"1\", job=\"a\"} -5E+01, {instance=\"1\", job=\"b\"} -6E+00, {instance=\"2\", job=\"a\"} -2E+01" },
	{ series_0, 300000, "http_requests{job=\"a\"} + on(instance) http_requests{job=\"b\"}",
	  "{instance=\"1\"} 5.6E+01" },
	{ series_0, 300000, "http_requests{job=\"a\"} + ignoring(job) http_requests{job=\"b\"}",
	  "{instance=\"1\"} 5.6E+01" },
	{ series_0, 300000, "http_requests{job=\"a\"} and http_requests{instance=\"1\"}",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01" },
	{ series_0, 300000, "http_requests{job=\"a\"} or http_requests{instance=\"1\"}",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 6E+00, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "http_requests unless http_requests{instance=\"1\"}",
	  "{__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "http_requests + on(job) group_left sum by (job) (http_requests)",
	  "{instance=\"1\", job=\"a\"} 1.2E+02, {instance=\"1\", job=\"b\"} 1.2E+01, {instance=\"2\", job=\"a\"} 9E+01" },
	{ series_0, 300000, "http_requests + on(job) sum by (job) (http_requests)",
	  "ERR multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)" },
	{ series_0, 300000, "sum by (job) (http_requests) + on(job) group_right http_requests",
	  "{instance=\"1\", job=\"a\"} 1.2E+02, {instance=\"1\", job=\"b\"} 1.2E+01, {instance=\"2\", job=\"a\"} 9E+01" },
	{ series_0, 300000, "avg_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 2.5E+01, {instance=\"1\", job=\"b\"} 3.5E+00, {instance=\"2\", job=\"a\"} 1.02E+01" },
	{ series_0, 300000, "sum_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1.5E+02, {instance=\"1\", job=\"b\"} 2.1E+01, {instance=\"2\", job=\"a\"} 5.1E+01" },
	{ series_0, 300000, "min_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 0E+00, {instance=\"1\", job=\"b\"} 1E+00, {instance=\"2\", job=\"a\"} 3E+00" },
	{ series_0, 300000, "max_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 5E+01, {instance=\"1\", job=\"b\"} 6E+00, {instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "count_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 6E+00, {instance=\"1\", job=\"b\"} 6E+00, {instance=\"2\", job=\"a\"} 5E+00" },
	{ series_0, 300000, "last_over_time(http_requests[5m])",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 6E+00, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "stddev_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1.707825127659933E+01, {instance=\"1\", job=\"b\"} 1.707825127659933E+00, {instance=\"2\", job=\"a\"} 6.368673331236264E+00" },
	{ series_0, 300000, "stdvar_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 2.916666666666667E+02, {instance=\"1\", job=\"b\"} 2.9166666666666665E+00, {instance=\"2\", job=\"a\"} 4.056E+01" },
	{ series_0, 300000, "quantile_over_time(0.7, http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 3.5E+01, {instance=\"1\", job=\"b\"} 4.5E+00, {instance=\"2\", job=\"a\"} 1.3599999999999998E+01" },
	{ series_0, 300000, "present_over_time(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1E+00, {instance=\"1\", job=\"b\"} 1E+00, {instance=\"2\", job=\"a\"} 1E+00" },
	{ series_0, 300000, "changes(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 5E+00, {instance=\"1\", job=\"b\"} 5E+00, {instance=\"2\", job=\"a\"} 4E+00" },
	{ series_0, 300000, "resets(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 0E+00, {instance=\"1\", job=\"b\"} 0E+00, {instance=\"2\", job=\"a\"} 1E+00" },
	{ series_0, 300000, "deriv(http_requests[5m])",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666666E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 3.833333333333333E-02" },
	{ series_0, 300000, "predict_linear(http_requests[5m], 600)",
	  "{instance=\"1\", job=\"a\"} 1.5E+02, {instance=\"1\", job=\"b\"} 1.6E+01, {instance=\"2\", job=\"a\"} 4.01E+01" },
	{ series_0, 300000, "absent(nonexistent{job=\"x\",foo=~\"y\"})",
	  "{job=\"x\"} 1E+00" },
	{ series_0, 300000, "absent(http_requests)",
	  "" },
	{ series_0, 300000, "absent_over_time(nonexistent{job=\"x\"}[5m])",
	  "{job=\"x\"} 1E+00" },
	{ series_0, 300000, "scalar(http_requests{job=\"b\"})",
	  "{} 6E+00" },
	{ series_0, 300000, "vector(1) + time()",
	  "{} 3.01E+02" },
	{ series_0, 300000, "timestamp(http_requests)",
	  "{instance=\"1\", job=\"a\"} 3E+02, {instance=\"1\", job=\"b\"} 3E+02, {instance=\"2\", job=\"a\"} 2.4E+02" },
	{ series_0, 300000, "label_replace(http_requests, \"foo\", \"$1-x\", \"job\", \"(.*)\")",
	  "{__name__=\"http_requests\", foo=\"a-x\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", foo=\"a-x\", instance=\"2\", job=\"a\"} 2E+01, {__name__=\"http_requests\", foo=\"b-x\", instance=\"1\", job=\"b\"} 6E+00" },
	{ series_0, 300000, "label_join(http_requests, \"foo\", \",\", \"job\", \"instance\")",
	  "{__name__=\"http_requests\", foo=\"a,1\", instance=\"1\", job=\"a\"} 5E+01, {__name__=\"http_requests\", foo=\"a,2\", instance=\"2\", job=\"a\"} 2E+01, {__name__=\"http_requests\", foo=\"b,1\", instance=\"1\", job=\"b\"} 6E+00" },
	{ series_0, 300000, "rate(http_requests[5m:1m])",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666669E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 1E-01" },
	{ series_0, 300000, "max_over_time(rate(http_requests[2m])[5m:30s])",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666666E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 2E-01" },
	{ series_0, 300000, "http_requests offset 2m",
	  "{__name__=\"http_requests\", instance=\"1\", job=\"a\"} 3E+01, {__name__=\"http_requests\", instance=\"1\", job=\"b\"} 4E+00, {__name__=\"http_requests\", instance=\"2\", job=\"a\"} 8E+00" },
	{ series_0, 300000, "rate(http_requests[3m] offset 1m)",
	  "{instance=\"1\", job=\"a\"} 1.6666666666666669E-01, {instance=\"1\", job=\"b\"} 1.6666666666666666E-02, {instance=\"2\", job=\"a\"} 1.1111111111111112E-01" },
	{ series_0, 300000, "round(http_requests / 3)",
	  "{instance=\"1\", job=\"a\"} 1.7E+01, {instance=\"1\", job=\"b\"} 2E+00, {instance=\"2\", job=\"a\"} 7E+00" },
	{ series_0, 300000, "round(http_requests / 3, 0.5)",
	  "{instance=\"1\", job=\"a\"} 1.65E+01, {instance=\"1\", job=\"b\"} 2E+00, {instance=\"2\", job=\"a\"} 6.5E+00" },
	{ series_0, 300000, "clamp(http_requests, 2, 10)",
	  "{instance=\"1\", job=\"a\"} 1E+01, {instance=\"1\", job=\"b\"} 6E+00, {instance=\"2\", job=\"a\"} 1E+01" },
	{ series_0, 300000, "clamp_min(http_requests, 10)",
	  "{instance=\"1\", job=\"a\"} 5E+01, {instance=\"1\", job=\"b\"} 1E+01, {instance=\"2\", job=\"a\"} 2E+01" },
	{ series_0, 300000, "holt_winters(http_requests[5m], 0.5, 0.5)",
	  "{instance=\"1\", job=\"a\"} 5E+01, {instance=\"1\", job=\"b\"} 6E+00, {instance=\"2\", job=\"a\"} 1.75625E+01" },
	{ series_0, 300000, "sum(http_requests) by (job) > 20",
	  "{job=\"a\"} 7E+01" },
	{ series_0, 300000, "2 ^ 3 ^ 2",
	  "{} 5.12E+02" },
	{ series_0, 300000, "-2 ^ 2",
	  "{} -4E+00" },
	{ series_1, 300000, "histogram_quantile(0.5, rate(req_bucket[5m]))",
	  "{job=\"a\"} 4E-01, {job=\"b\"} 7.500000000000001E-02, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(0.9, rate(req_bucket[5m]))",
	  "{job=\"a\"} 1E+00, {job=\"b\"} 1E+00, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(0.99, req_bucket)",
	  "{job=\"a\"} 1E+00, {job=\"b\"} 1E+00, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(0, req_bucket)",
	  "{job=\"a\"} 0E+00, {job=\"b\"} 0E+00, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(1, req_bucket)",
	  "{job=\"a\"} 1E+00, {job=\"b\"} 1E+00, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(-1, req_bucket)",
	  "{job=\"a\"} -Inf, {job=\"b\"} -Inf, {job=\"c\"} -Inf" },
	{ series_1, 300000, "histogram_quantile(2, req_bucket)",
	  "{job=\"a\"} +Inf, {job=\"b\"} +Inf, {job=\"c\"} +Inf" },
	{ series_1, 300000, "histogram_quantile(NaN, req_bucket)",
	  "{job=\"a\"} NaN, {job=\"b\"} NaN, {job=\"c\"} NaN" },
	{ series_1, 300000, "histogram_quantile(0.5, noinf_bucket)",
	  "{job=\"d\"} NaN" },
	{ series_1, 300000, "histogram_quantile(0.5, neg_bucket)",
	  "{job=\"e\"} -1E+00" },
	{ series_1, 300000, "histogram_quantile(0.5, sum by (le) (rate(req_bucket[5m])))",
	  "{} 7.500000000000002E-01" },
	{ series_1, 300000, "histogram_quantile(0.5, {__name__=~\"req_bucket|neg_bucket\"})",
	  "{job=\"a\"} 4E-01, {job=\"b\"} 7.500000000000001E-02, {job=\"c\"} NaN, {job=\"e\"} -1E+00" },
	{ series_1, 300000, "sum(g)",
	  "{} NaN" },
	{ series_1, 300000, "avg(g)",
	  "{} NaN" },
	{ series_1, 180000, "avg(g)",
	  "{} NaN" },
	{ series_1, 240000, "avg(g)",
	  "{} NaN" },
	{ series_1, 300000, "max(g)",
	  "{} 7E+00" },
	{ series_1, 120000, "max(g)",
	  "{} +Inf" },
	{ series_1, 120000, "min(g)",
	  "{} -3E+00" },
	{ series_1, 300000, "topk(2, g)",
	  "{__name__=\"g\", i=\"1\"} 5E+00, {__name__=\"g\", i=\"3\"} 7E+00" },
	{ series_1, 60000, "topk(2, g)",
	  "{__name__=\"g\", i=\"3\"} +Inf, {__name__=\"g\", i=\"4\"} 2E+00" },
	{ series_1, 60000, "bottomk(2, g)",
	  "{__name__=\"g\", i=\"3\"} +Inf, {__name__=\"g\", i=\"4\"} 2E+00" },
	{ series_1, 60000, "topk(1, g)",
	  "{__name__=\"g\", i=\"3\"} +Inf" },
	{ series_1, 60000, "quantile(0.5, g)",
	  "{} NaN" },
	{ series_1, 60000, "quantile(0.25, g)",
	  "{} NaN" },
	{ series_1, 60000, "stddev(g)",
	  "{} NaN" },
	{ series_1, 180000, "stddev(g)",
	  "{} NaN" },
	{ series_1, 300000, "count_values(\"val\", g)",
	  "{val=\"0.25\"} 1E+00, {val=\"5\"} 1E+00, {val=\"7\"} 1E+00, {val=\"NaN\"} 1E+00" },
	{ series_1, 120000, "count_values(\"val\", g / 7)",
	  "{val=\"+Inf\"} 1E+00, {val=\"-0.42857142857142855\"} 1E+00, {val=\"0.42857142857142855\"} 1E+00, {val=\"NaN\"} 1E+00" },
	{ series_1, 120000, "count_values(\"i\", g)",
	  "{i=\"+Inf\"} 1E+00, {i=\"-3\"} 1E+00, {i=\"3\"} 1E+00, {i=\"NaN\"} 1E+00" },
	{ series_1, 300000, "g > 1",
	  "{__name__=\"g\", i=\"1\"} 5E+00, {__name__=\"g\", i=\"3\"} 7E+00" },
	{ series_1, 60000, "g == NaN",
	  "" },
	{ series_1, 60000, "g != NaN",
	  "{__name__=\"g\", i=\"1\"} NaN, {__name__=\"g\", i=\"2\"} NaN, {__name__=\"g\", i=\"3\"} +Inf, {__name__=\"g\", i=\"4\"} 2E+00" },
	{ series_1, 60000, "g != bool NaN",
	  "{i=\"1\"} 1E+00, {i=\"2\"} 1E+00, {i=\"3\"} 1E+00, {i=\"4\"} 1E+00" },
	{ series_1, 300000, "g % 2",
	  "{i=\"1\"} 1E+00, {i=\"2\"} NaN, {i=\"3\"} 1E+00, {i=\"4\"} 2.5E-01" },
	{ series_1, 300000, "g ^ 0.5",
	  "{i=\"1\"} 2.23606797749979E+00, {i=\"2\"} NaN, {i=\"3\"} 2.6457513110645907E+00, {i=\"4\"} 5E-01" },
	{ series_1, 300000, "g atan2 1",
	  "{__name__=\"g\", i=\"1\"} 1.3734007669450157E+00, {__name__=\"g\", i=\"2\"} NaN, {__name__=\"g\", i=\"3\"} 1.4288992721907325E+00, {__name__=\"g\", i=\"4\"} 2.4497866312686414E-01" },
	{ series_1, 300000, "rate(c[5m])",
	  "{i=\"1\"} 1.8333333333333335E-01, {i=\"2\"} 1.6666666666666669E-01" },
	{ series_1, 300000, "increase(c[5m])",
	  "{i=\"1\"} 5.5E+01, {i=\"2\"} 5E+01" },
	{ series_1, 300000, "resets(c[5m])",
	  "{i=\"1\"} 2E+00, {i=\"2\"} 0E+00" },
	{ series_1, 300000, "irate(c[5m])",
	  "{i=\"1\"} 4.5E-01, {i=\"2\"} 1.6666666666666666E-01" },
	{ series_1, 300000, "increase(c[2m])",
	  "{i=\"1\"} 3E+01, {i=\"2\"} 2E+01" },
	{ series_1, 270000, "rate(c[3m])",
	  "{i=\"1\"} 1.0833333333333334E-01, {i=\"2\"} 1.6666666666666666E-01" },
	{ series_1, 300000, "delta(c[4m])",
	  "{i=\"1\"} 1E+01, {i=\"2\"} 4E+01" },
	{ series_1, 300000, "d1 + on(a) group_left d2",
	  "{a=\"x\", b=\"1\"} 6.6E+01, {a=\"x\", b=\"2\"} 6.6E+01" },
	{ series_1, 300000, "d1 + on(a) d2",
	  "ERR multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)" },
	{ series_1, 300000, "d2 + on(a) d1",
	  "ERR found duplicate series for the match group {a=\"x\"} on the right hand-side of the operation: [{__name__=\"d1\", a=\"x\", b=\"2\"}, {__name__=\"d1\", a=\"x\", b=\"1\"}];many-to-many matching not allowed: matching labels must be unique on one side" },
	{ series_1, 300000, "d2 * on(a) group_right d1",
	  "{a=\"x\", b=\"1\"} 3.6E+02, {a=\"x\", b=\"2\"} 3.6E+02" },
	{ series_1, 300000, "d2 * on(a) group_right(b) d1",
	  "ERR multiple matches for labels: grouping labels must ensure unique matches" },
	{ series_1, 300000, "sum(d1) + sum(d2)",
	  "{} 1.32E+02" },
	{ series_1, 300000, "d1 - ignoring(b) group_left d2",
	  "{a=\"x\", b=\"1\"} -5.4E+01, {a=\"x\", b=\"2\"} -5.4E+01" },
	{ series_1, 300000, "rate({__name__=~\"d1|d2\"}[5m])",
	  "{a=\"x\"} 1.6666666666666669E-01, {a=\"x\", b=\"1\"} 1.6666666666666666E-02, {a=\"x\", b=\"2\"} 1.6666666666666666E-02, {a=\"y\"} 1.6666666666666669E-01" },
	{ series_1, 300000, "{__name__=~\"d1|d2\"} + 1",
	  "{a=\"x\"} 6.1E+01, {a=\"x\", b=\"1\"} 7E+00, {a=\"x\", b=\"2\"} 7E+00, {a=\"y\"} 6.1E+01" },
	{ series_1, 300000, "{__name__=~\"d1|d2\"} > 1",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00, {__name__=\"d2\", a=\"x\"} 6E+01, {__name__=\"d2\", a=\"y\"} 6E+01" },
	{ series_1, 60000, "st",
	  "{__name__=\"st\", a=\"1\"} 2E+00" },
	{ series_1, 120000, "st",
	  "" },
	{ series_1, 180000, "st",
	  "{__name__=\"st\", a=\"1\"} 4E+00" },
	{ series_1, 240000, "st",
	  "" },
	{ series_1, 360000, "st",
	  "" },
	{ series_1, 300000, "count_over_time(st[5m])",
	  "{a=\"1\"} 3E+00" },
	{ series_1, 300000, "sparse",
	  "{__name__=\"sparse\", a=\"1\"} 1E+00" },
	{ series_1, 360000, "sparse",
	  "" },
	{ series_1, 361000, "sparse",
	  "" },
	{ series_1, 420000, "sparse",
	  "{__name__=\"sparse\", a=\"1\"} 8E+00" },
	{ series_1, 420000, "rate(sparse[10m])",
	  "{a=\"1\"} 1.3333333333333332E-02" },
	{ series_1, 600000, "absent(st)",
	  "{} 1E+00" },
	{ series_1, 600000, "absent(nope)",
	  "{} 1E+00" },
	{ series_1, 600000, "absent(nope{a=\"1\",a=\"2\"})",
	  "{} 1E+00" },
	{ series_1, 600000, "absent(nope{a=\"1\",a=~\"2\"})",
	  "{} 1E+00" },
	{ series_1, 600000, "absent(sum(nope))",
	  "{} 1E+00" },
	{ series_1, 600000, "absent_over_time(st[2m])",
	  "{} 1E+00" },
	{ series_1, 600000, "absent_over_time(st[6m])",
	  "{} 1E+00" },
	{ series_1, 300000, "label_replace(d1, \"dst\", \"$1$2\", \"b\", \"(\\\\d)(.*)\")",
	  "{__name__=\"d1\", a=\"x\", b=\"1\", dst=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\", dst=\"2\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"a\", \"\", \"b\", \"1\")",
	  "{__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00, {__name__=\"d1\", b=\"1\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"dst\", \"x${1}y$1z\", \"b\", \"(.)\")",
	  "{__name__=\"d1\", a=\"x\", b=\"1\", dst=\"x1y\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\", dst=\"x2y\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"dst\", \"$1x\", \"b\", \"(.)\")",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"dst\", \"$$1\", \"b\", \"(.)\")",
	  "{__name__=\"d1\", a=\"x\", b=\"1\", dst=\"$1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\", dst=\"$1\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"dst\", \"x\", \"b\", \"no\")",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"a\", \"z\", \"b\", \".*\")",
	  "{__name__=\"d1\", a=\"z\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"z\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "label_replace(d1, \"1bad\", \"z\", \"b\", \".*\")",
	  "ERR invalid destination label name in label_replace(): 1bad" },
	{ series_1, 300000, "label_join(d1, \"a\", \"\")",
	  "{__name__=\"d1\", b=\"1\"} 6E+00, {__name__=\"d1\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "sort(g)",
	  "{__name__=\"g\", i=\"1\"} 5E+00, {__name__=\"g\", i=\"2\"} NaN, {__name__=\"g\", i=\"3\"} 7E+00, {__name__=\"g\", i=\"4\"} 2.5E-01" },
	{ series_1, 300000, "day_of_week()",
	  "{} 4E+00" },
	{ series_1, 300000, "days_in_month(vector(1709251200))",
	  "{} 3.1E+01" },
	{ series_1, 300000, "hour(vector(1709251200+3600*5))",
	  "{} 5E+00" },
	{ series_1, 300000, "year(vector(1e10))",
	  "{} 2.286E+03" },
	{ series_1, 300000, "timestamp(d1 offset 1m)",
	  "{a=\"x\", b=\"1\"} 2.4E+02, {a=\"x\", b=\"2\"} 2.4E+02" },
	{ series_1, 300000, "timestamp(sum(d1))",
	  "{} 3E+02" },
	{ series_1, 300000, "vector(time()) @ 100",
	  "ERR 1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ series_1, 300000, "d1 @ 120",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 3E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 3E+00" },
	{ series_1, 300000, "sum_over_time(d1[2m] @ 180)",
	  "{a=\"x\", b=\"1\"} 9E+00, {a=\"x\", b=\"2\"} 9E+00" },
	{ series_1, 300000, "max_over_time(d1[5m:2m])",
	  "{a=\"x\", b=\"1\"} 5E+00, {a=\"x\", b=\"2\"} 5E+00" },
	{ series_1, 300000, "count_over_time(d1[5m:2m])",
	  "{a=\"x\", b=\"1\"} 3E+00, {a=\"x\", b=\"2\"} 3E+00" },
	{ series_1, 300000, "count_over_time(d1[5m:2m] offset 1m)",
	  "{a=\"x\", b=\"1\"} 3E+00, {a=\"x\", b=\"2\"} 3E+00" },
	{ series_1, 300000, "count_over_time(rate(c[2m])[5m:])",
	  "{i=\"1\"} 5E+00, {i=\"2\"} 5E+00" },
	{ series_1, 300000, "sum_over_time(sum(d1)[3m:1m])",
	  "{} 3.6E+01" },
	{ series_1, 300000, "1 + 2 * 3 - 4 / 2 % 3",
	  "{} 5E+00" },
	{ series_1, 300000, "-(1) ^ 2",
	  "{} -1E+00" },
	{ series_1, 300000, "2 ^ -1",
	  "{} 5E-01" },
	{ series_1, 300000, "1 > bool 2 or 3",
	  "ERR 1:1: parse error: set operator \"or\" not allowed in binary scalar expression" },
	{ series_1, 300000, "0x1f + 1e3",
	  "{} 1.031E+03" },
	{ series_1, 300000, "-Inf",
	  "{} -Inf" },
	{ series_1, 300000, "1/0",
	  "{} +Inf" },
	{ series_1, 300000, "-1/0",
	  "{} -Inf" },
	{ series_1, 300000, "0/0",
	  "{} NaN" },
	{ series_1, 300000, "d1 and on() vector(1)",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "d1 unless on(b) d2",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00" },
	{ series_1, 300000, "d1 or on(a) d2",
	  "{__name__=\"d1\", a=\"x\", b=\"1\"} 6E+00, {__name__=\"d1\", a=\"x\", b=\"2\"} 6E+00, {__name__=\"d2\", a=\"y\"} 6E+01" },
	{ series_1, 300000, "(d1 + 1) and ignoring(b) d2",
	  "{a=\"x\", b=\"1\"} 7E+00, {a=\"x\", b=\"2\"} 7E+00" },
	{ series_1, 300000, "sum without (b) (d1)",
	  "{a=\"x\"} 1.2E+01" },
	{ series_1, 300000, "sum by (__name__) (d1)",
	  "{__name__=\"d1\"} 1.2E+01" },
	{ series_1, 300000, "count without () (d1)",
	  "{a=\"x\", b=\"1\"} 1E+00, {a=\"x\", b=\"2\"} 1E+00" },
	{ series_1, 300000, "quantile(2, d1)",
	  "{} +Inf" },
	{ series_1, 300000, "quantile(-1, d1)",
	  "{} -Inf" },
	{ series_1, 300000, "topk(0, d1)",
	  "" },
	{ series_1, 300000, "topk(1e100, d1)",
	  "ERR Scalar value 1e+100 overflows int64" },
	{ series_1, 300000, "predict_linear(c[5m], 3600)",
	  "{i=\"1\"} 1.191904761904762E+02, {i=\"2\"} 7.5E+02" },
	{ series_1, 300000, "deriv(g[5m])",
	  "{i=\"1\"} NaN, {i=\"2\"} NaN, {i=\"3\"} NaN, {i=\"4\"} -3.6904761904761906E-03" },
	{ series_1, 300000, "holt_winters(c[5m], 0.1, 0.9)",
	  "{i=\"1\"} 3.73899225E+01, {i=\"2\"} 1.5E+02" },
	{ series_1, 300000, "holt_winters(c[5m], 1, 0.9)",
	  "ERR invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000" },
	{ series_1, 300000, "changes(g[5m])",
	  "{i=\"1\"} 5E+00, {i=\"2\"} 0E+00, {i=\"3\"} 1E+00, {i=\"4\"} 5E+00" },
	{ series_1, 300000, "quantile_over_time(0.5, g[5m])",
	  "{i=\"1\"} 2E+00, {i=\"2\"} NaN, {i=\"3\"} +Inf, {i=\"4\"} -3.75E-01" },
	{ series_1, 300000, "min_over_time(g[5m])",
	  "{i=\"1\"} -Inf, {i=\"2\"} NaN, {i=\"3\"} 7E+00, {i=\"4\"} -5E+00" },
	{ series_1, 300000, "max_over_time(g[5m])",
	  "{i=\"1\"} +Inf, {i=\"2\"} NaN, {i=\"3\"} +Inf, {i=\"4\"} 4E+00" },
	{ series_1, 300000, "avg_over_time(g[5m])",
	  "{i=\"1\"} NaN, {i=\"2\"} NaN, {i=\"3\"} +Inf, {i=\"4\"} -4.5833333333333337E-01" },
	{ series_1, 300000, "sum_over_time(g[5m])",
	  "{i=\"1\"} NaN, {i=\"2\"} NaN, {i=\"3\"} +Inf, {i=\"4\"} -2.75E+00" },
	{ series_1, 300000, "stddev_over_time(g[5m])",
	  "{i=\"1\"} NaN, {i=\"2\"} NaN, {i=\"3\"} NaN, {i=\"4\"} 2.994497268138492E+00" },
	{ series_1, 300000, "sgn(g)",
	  "{i=\"1\"} 1E+00, {i=\"2\"} NaN, {i=\"3\"} 1E+00, {i=\"4\"} 1E+00" },
	{ series_1, 300000, "clamp(g, 5, 1)",
	  "" },
	{ series_1, 300000, "clamp_max(g, NaN)",
	  "{i=\"1\"} NaN, {i=\"2\"} NaN, {i=\"3\"} NaN, {i=\"4\"} NaN" },
	{ series_1, 300000, "round(g)",
	  "{i=\"1\"} 5E+00, {i=\"2\"} NaN, {i=\"3\"} 7E+00, {i=\"4\"} 0E+00" },
	{ series_1, 300000, "exp(g)",
	  "{i=\"1\"} 1.484131591025766E+02, {i=\"2\"} NaN, {i=\"3\"} 1.0966331584284585E+03, {i=\"4\"} 1.2840254166877414E+00" },
	{ series_1, 300000, "ln(g)",
	  "{i=\"1\"} 1.6094379124341003E+00, {i=\"2\"} NaN, {i=\"3\"} 1.9459101490553132E+00, {i=\"4\"} -1.3862943611198906E+00" },
	{ series_1, 300000, "sqrt(c)",
	  "{i=\"1\"} 5.477225575051661E+00, {i=\"2\"} 1.224744871391589E+01" },
	{ series_2, 60000, "sum(m) by",
	  "ERR 1:10: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ series_2, 60000, "m +",
	  "ERR 1:4: parse error: unexpected end of input" },
	{ series_2, 60000, "foo(m)",
	  "ERR 1:1: parse error: unknown function with name \"foo\"" },
	{ series_2, 60000, "rate(m)",
	  "ERR 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector" },
	{ series_2, 60000, "rate(m[5m], 1)",
	  "ERR 1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2" },
	{ series_2, 60000, "sum by (a) m",
	  "ERR 1:12: parse error: unexpected identifier \"m\" in aggregation" },
	{ series_2, 60000, "{a=\"\"}",
	  "ERR 1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ series_2, 60000, "{}",
	  "ERR 1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ series_2, 60000, "m{a=\"1\",}",
	  "{__name__=\"m\", a=\"1\"} 2E+00" },
	{ series_2, 60000, "m{a=\"1\" b=\"2\"}",
	  "ERR 1:9: parse error: unexpected identifier \"b\" in label matching, expected \",\" or \"}\"" },
	{ series_2, 60000, "m{a=1}",
	  "ERR 1:5: parse error: unexpected character inside braces: '1'" },
	{ series_2, 60000, "m{a~\"1\"}",
	  "ERR 1:4: parse error: unexpected character inside braces: '~'" },
	{ series_2, 60000, "m[5m] + 1",
	  "ERR 1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ series_2, 60000, "(m + 1)[5m]",
	  "ERR 1:8: parse error: ranges only allowed for vector selectors" },
	{ series_2, 60000, "m offset 5m [5m]",
	  "ERR 1:13: parse error: no offset modifiers allowed before range" },
	{ series_2, 60000, "m[5m] offset 1m offset 2m",
	  "ERR 1:1: parse error: offset may not be set multiple times" },
	{ series_2, 60000, "1 == 1",
	  "ERR 1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ series_2, 60000, "m and 1",
	  "ERR 1:1: parse error: set operator \"and\" not allowed in binary scalar expression" },
	{ series_2, 60000, "m + on(a) 1",
	  "ERR 1:1: parse error: vector matching only allowed between instant vectors" },
	{ series_2, 60000, "m + bool 1",
	  "ERR 1:3: parse error: bool modifier can only be used on comparison operators" },
	{ series_2, 60000, "m and on(a) group_left m",
	  "ERR 1:1: parse error: no grouping allowed for \"and\" operation" },
	{ series_2, 60000, "m + on(a) group_left(a) m",
	  "ERR 1:3: parse error: label \"a\" must not occur in ON and GROUP clause at once" },
	{ series_2, 60000, "topk(m)",
	  "ERR 1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1" },
	{ series_2, 60000, "topk(\"a\", m)",
	  "ERR 1:6: parse error: expected type scalar in aggregation parameter, got string" },
	{ series_2, 60000, "count_values(1, m)",
	  "ERR 1:14: parse error: expected type string in aggregation parameter, got scalar" },
	{ series_2, 60000, "sum(m[5m])",
	  "ERR 1:5: parse error: expected type instant vector in aggregation expression, got range vector" },
	{ series_2, 60000, "histogram_quantile(m, m)",
	  "ERR 1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got instant vector" },
	{ series_2, 60000, "m{__name__=\"x\"}",
	  "ERR 1:1: parse error: metric name must not be set twice: \"m\" or \"x\"" },
	{ series_2, 60000, "\"foo\" + 1",
	  "ERR 1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ series_2, 60000, "1 +",
	  "ERR 1:4: parse error: unexpected end of input" },
	{ series_2, 60000, "(m",
	  "ERR 1:3: parse error: unclosed left parenthesis" },
	{ series_2, 60000, "m)",
	  "ERR 1:3: parse error: unexpected right parenthesis ')'" },
	{ series_2, 60000, "m @ \"x\"",
	  "ERR 1:5: parse error: unexpected string \"\\\"x\\\"\" in @, expected timestamp" },
	{ series_2, 60000, "-\"a\"",
	  "ERR 1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"" },
	{ series_2, 60000, "m $ 1",
	  "ERR 1:3: parse error: unexpected character: '$'" },
	{ series_2, 60000, "m{a=\"\\q\"}",
	  "ERR 1:5: parse error: unknown escape sequence U+0071 'q'" },
	{ series_2, 60000, "m{a=\"1",
	  "ERR 1:5: parse error: unterminated quoted string" },
	{ series_2, 60000, "label_replace(m, \"a\", \"b\", \"c\")",
	  "ERR 1:1: parse error: expected 5 argument(s) in call to \"label_replace\", got 4" },
	{ series_2, 60000, "round(m, 1, 2)",
	  "ERR 1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3" },
	{ series_2, 60000, "sum(m) without (a) by (b)",
	  "ERR 1:20: parse error: unexpected <by>" },
	{ series_2, 60000, "by",
	  "" },
	{ series_2, 60000, "sum(m,)",
	  "ERR 1:6: parse error: trailing commas not allowed in function call args" },
	{ series_2, 60000, "m[0s]",
	  "ERR 1:3: parse error: duration must be greater than 0" },
	{ series_2, 60000, "m[1m:0s]",
	  "ERR 1:6: parse error: duration must be greater than 0" },
	{ series_2, 60000, "1 ^",
	  "ERR 1:4: parse error: unexpected end of input" },
	{ series_2, 60000, "m{a=\"1\"}{b=\"2\"}",
	  "ERR 1:9: parse error: unexpected \"{\"" },
	{ series_2, 60000, "m by (a)",
	  "ERR 1:3: parse error: unexpected <by>" },
	{ series_2, 60000, "m +",
	  "ERR 1:4: parse error: unexpected end of input" },
	{ series_2, 60000, "abs(m, m)",
	  "ERR 1:1: parse error: expected 1 argument(s) in call to \"abs\", got 2" },
	{ series_2, 60000, "time(1)",
	  "ERR 1:1: parse error: expected 0 argument(s) in call to \"time\", got 1" },
	{ series_2, 60000, "day_of_week(m, m)",
	  "ERR 1:1: parse error: expected at most 1 argument(s) in call to \"day_of_week\", got 2" },
	{ series_2, 60000, "m[5m:",
	  "ERR 1:6: parse error: unclosed left bracket" },
	{ series_2, 60000, "m[5m",
	  "ERR 1:5: parse error: unclosed left bracket" },
	{ series_2, 60000, "m offset",
	  "ERR 1:9: parse error: unexpected end of input in offset, expected duration" },
	{ series_2, 60000, "sum by (a,) (m)",
	  "{a=\"1\"} 2E+00" },
	{ series_2, 60000, "sum by (1) (m)",
	  "ERR 1:9: parse error: unexpected number \"1\" in grouping opts, expected label" },
	{ series_2, 60000, "on",
	  "ERR 1:1: parse error: unexpected <on>" },
	{ series_2, 60000, "absent(m[5m])",
	  "ERR 1:8: parse error: expected type instant vector in call to function \"absent\", got range vector" },
};

/* Go's %E with the shortest precision that reads back exactly. */
static void fmt_e(double v, char *buf, size_t len)
{
	int p;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (p = 0; p < 17; p++) {
		snprintf(buf, len, "%.*E", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
}

static int elem_cmp(const void *a, const void *b)
{
	const struct promql_element *x = a, *y = b;
	size_t i;
	int c;

	for (i = 0; i < x->nlabels && i < y->nlabels; i++) {
		c = strcmp(x->labels[i].name, y->labels[i].name);
		if (!c)
			c = strcmp(x->labels[i].value, y->labels[i].value);
		if (c)
			return c;
	}
	return x->nlabels < y->nlabels ? -1 : x->nlabels > y->nlabels;
}

/* The result as promtool prints it; malloc'ed. */
static char *promtool_str(struct promql_result *r)
{
	size_t cap = 4096, o = 0, i, j;
	char *s = malloc(cap), num[64];

	assert_non_null(s);
	s[0] = 0;
	if (r->type == PROMQL_SCALAR) {
		fmt_e(r->scalar, num, sizeof(num));
		snprintf(s, cap, "{} %s", num);
		return s;
	}
	assert_int_equal(r->type, PROMQL_VECTOR);
	if (r->n > 1)
		qsort(r->elems, r->n, sizeof(*r->elems), elem_cmp);
	for (i = 0; i < r->n; i++) {
		const struct promql_element *e = &r->elems[i];

		assert_true(cap - o > 1024);
		o += snprintf(s + o, cap - o, "%s{", i ? ", " : "");
		for (j = 0; j < e->nlabels; j++)
			o += snprintf(s + o, cap - o, "%s%s=\"%s\"", j ? ", " : "",
				      e->labels[j].name, e->labels[j].value);
		fmt_e(e->v, num, sizeof(num));
		o += snprintf(s + o, cap - o, "} %s", num);
	}
	return s;
}

static bool run_case(const struct prom_case *c)
{
	struct promql_mem *db = promql_mem__new(0, 0);
	struct promql_opts opts = { .default_step_ms = 60000 };
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char got[4096], msg[512], *s;
	size_t i;

	assert_non_null(db);
	for (i = 0; c->series[i]; i += 2)
		assert_int_equal(promql_mem__load(db, c->series[i], c->series[i + 1], 0, 60000,
						  msg, sizeof(msg)), 0);
	promql_mem__storage(db, &st);
	n = promql_parse(c->expr, &err);
	if (!n) {
		snprintf(got, sizeof(got), "ERR %s", promql_error_str(&err, msg, sizeof(msg)));
	} else if (promql_eval_instant(n, &st, c->t_ms, &opts, &r, &err)) {
		snprintf(got, sizeof(got), "ERR %s", promql_error_str(&err, msg, sizeof(msg)));
	} else {
		s = promtool_str(&r);
		snprintf(got, sizeof(got), "%s", s);
		free(s);
		promql_result_free(&r);
	}
	promql_free(n);
	promql_mem__free(db);
	if (!strcmp(got, c->want))
		return true;
	print_error("%s @ %lldms\n  prometheus: %s\n  bpfwatch:   %s\n", c->expr,
		    (long long)c->t_ms, c->want, got);
	return false;
}

static void test_against_promtool(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(prom_cases) / sizeof(prom_cases[0]); i++)
		bad += !run_case(&prom_cases[i]);
	/* all mismatches are printed above before failing */
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
