// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the promtool-compatible rule test runner
 * (agent/ruletest*.c): the series notation, series descriptions, Go's
 * number and duration printing, promtool's set comparisons, test file
 * errors with positions, and whole runs whose output is compared with
 * what promtool 2.42 prints for the same files (checked by hand with
 * `promtool test rules`).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ruletest.h"

/* --- series notation ------------------------------------------------------ */

struct want_pt {
	int64_t idx;
	double v;	/* NAN here means "a staleness marker" */
};

static void expect_points(const char *s, const struct want_pt *want, size_t n)
{
	struct rt_point *pts;
	size_t got, i, off = 99;
	char err[256] = "";

	assert_int_equal(ruletest__expand_values(s, 0, &pts, &got, &off, err, sizeof(err)), 0);
	if (got != n) {
		print_error("%s: %zu values, want %zu\n", s, got, n);
		fail();
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(pts[i].idx, want[i].idx);
		if (isnan(want[i].v))
			assert_true(promql_is_stale(pts[i].v));
		else if (pts[i].v != want[i].v) {
			print_error("%s: value %zu is %.17g, want %.17g\n", s, i, pts[i].v, want[i].v);
			fail();
		}
	}
	free(pts);
}

static void test_notation_basic(void **state)
{
	static const struct want_pt a[] = { { 0, 1 }, { 1, 3 }, { 2, 5 }, { 3, 7 } };
	static const struct want_pt b[] = { { 0, -2 }, { 1, -3 }, { 2, -4 } };
	static const struct want_pt c[] = { { 0, 7 }, { 1, 7 }, { 2, 7 } };
	static const struct want_pt d[] = { { 1, 1 }, { 4, 2 }, { 5, NAN }, { 6, 3 } };
	static const struct want_pt e[] = { { 0, 1000 }, { 1, 0.5 }, { 2, -0.001 }, { 3, 5 } };
	static const struct want_pt f[] = { { 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 } };
	static const struct want_pt g[] = { { 0, 1 }, { 1, 4 } };

	(void)state;
	expect_points("1+2x3", a, 4);
	expect_points("-2-1x2", b, 3);
	expect_points("7x2", c, 3);
	expect_points("_ 1 _x2 2 stale 3", d, 4);
	expect_points("1e3 .5 -1e-3 +5", e, 4);
	/* "0x3" is 0 repeated, never hexadecimal, as in promtool */
	expect_points("0x3", f, 4);
	/* _x0 skips nothing; a+bx0 is one value */
	expect_points("1+5x0 _x0 4", g, 2);
	expect_points("", NULL, 0);
	expect_points("  \t ", NULL, 0);
}

static void test_notation_special(void **state)
{
	struct rt_point *pts;
	size_t n;

	(void)state;
	assert_int_equal(ruletest__expand_values("Inf -Inf inf NaN nan +Inf", 0, &pts, &n,
						 NULL, NULL, 0), 0);
	assert_int_equal(n, 6);
	assert_true(isinf(pts[0].v) && pts[0].v > 0);
	assert_true(isinf(pts[1].v) && pts[1].v < 0);
	assert_true(isinf(pts[2].v) && pts[2].v > 0);
	assert_true(isnan(pts[3].v) && !promql_is_stale(pts[3].v));
	assert_true(isnan(pts[4].v) && !promql_is_stale(pts[4].v));
	assert_true(isinf(pts[5].v) && pts[5].v > 0);
	free(pts);
	/* steps accumulate in floating point exactly as promtool adds them */
	assert_int_equal(ruletest__expand_values("1+0.1x3", 0, &pts, &n, NULL, NULL, 0), 0);
	assert_int_equal(n, 4);
	assert_true(pts[2].v == 1.0 + 0.1 + 0.1);
	assert_true(pts[3].v == 1.0 + 0.1 + 0.1 + 0.1);
	assert_true(pts[3].v != 1.3);
	free(pts);
}

static void expect_bad(const char *s, size_t want_off, const char *want_msg)
{
	struct rt_point *pts = (void *)1;
	size_t n = 7, off = 999;
	char err[256] = "";

	assert_int_equal(ruletest__expand_values(s, 0, &pts, &n, &off, err, sizeof(err)),
			 -EINVAL);
	assert_null(pts);
	assert_int_equal(n, 0);
	if (off != want_off || !strstr(err, want_msg)) {
		print_error("%s: offset %zu \"%s\", want %zu \"%s\"\n", s, off, err, want_off,
			    want_msg);
		fail();
	}
}

static void test_notation_errors(void **state)
{
	(void)state;
	expect_bad("1 2 x3", 4, "bad value \"x3\"");
	expect_bad("1+2", 0, "bad value \"1+2\"");
	expect_bad("stale x2", 6, "bad value \"x2\"");
	expect_bad("stalex2", 0, "bad value \"stalex2\"");
	expect_bad("0xA", 0, "bad value \"0xA\"");
	expect_bad("1 0x", 2, "bad value \"0x\"");
	expect_bad("1_000", 0, "bad value \"1_000\"");
	expect_bad("abc", 0, "bad value \"abc\"");
	expect_bad("1 2 _x", 4, "bad value \"_x\"");
	expect_bad("1e", 0, "bad value \"1e\"");
	expect_bad("1x-2", 0, "bad value \"1x-2\"");
	expect_bad("Infinity", 0, "bad value \"Infinity\"");
}

static void test_notation_limit(void **state)
{
	struct rt_point *pts;
	size_t n;
	char err[128];

	(void)state;
	assert_int_equal(ruletest__expand_values("1x9", 10, &pts, &n, NULL, err, sizeof(err)), 0);
	assert_int_equal(n, 10);
	free(pts);
	assert_int_equal(ruletest__expand_values("1x10", 10, &pts, &n, NULL, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "more than 10 values"));
	assert_int_equal(ruletest__expand_values("1x99999999999999999", 0, &pts, &n, NULL, err,
						 sizeof(err)), -E2BIG);
	/* blanks cost nothing but must not overflow the index */
	assert_int_equal(ruletest__expand_values("_x4611686018427387000 _x4611686018427387000",
						 0, &pts, &n, NULL, err, sizeof(err)), -ERANGE);
	assert_int_equal(ruletest__expand_values("_x999999999 1 2", 0, &pts, &n, NULL, err,
						 sizeof(err)), -ERANGE);
	assert_int_equal(ruletest__expand_values("_x999999998 1", 0, &pts, &n, NULL, err,
						 sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pts[0].idx, 999999998);
	free(pts);
}

/* --- series descriptions -------------------------------------------------- */

static void expect_metric(const char *s, const char *want)
{
	struct rt_labels ls;
	char err[256];
	char *str;

	if (ruletest__parse_metric(s, &ls, NULL, err, sizeof(err))) {
		print_error("%s: %s\n", s, err);
		fail();
	}
	str = rt_labels__str(&ls);
	if (strcmp(str, want)) {
		print_error("%s: got %s, want %s\n", s, str, want);
		fail();
	}
	free(str);
	rt_labels__free(&ls);
}

static void test_parse_metric(void **state)
{
	struct rt_labels ls;
	size_t off;
	char err[256];

	(void)state;
	expect_metric("up", "{__name__=\"up\"}");
	expect_metric("up{job=\"a\", instance='b:1'}",
		      "{__name__=\"up\", instance=\"b:1\", job=\"a\"}");
	expect_metric("{b=\"2\",a=\"1\",}", "{a=\"1\", b=\"2\"}");
	expect_metric("{}", "{}");
	expect_metric("", "{}");
	expect_metric("job:rate:sum{x=`raw\\n`}", "{__name__=\"job:rate:sum\", x=\"raw\\\\n\"}");
	expect_metric("m{q=\"a\\\"b\\n\"}", "{__name__=\"m\", q=\"a\\\"b\\n\"}");
	/* an empty value is no label */
	expect_metric("m{a=\"\", b=\"x\"}", "{__name__=\"m\", b=\"x\"}");
	expect_metric("{__name__=\"x\"}", "{__name__=\"x\"}");

	assert_int_equal(ruletest__parse_metric("m{a=~\"x\"}", &ls, &off, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(off, 3);
	assert_int_equal(ruletest__parse_metric("m{a=\"x\" b=\"y\"}", &ls, &off, err,
						sizeof(err)), -EINVAL);
	assert_int_equal(off, 8);
	assert_int_equal(ruletest__parse_metric("m{a=\"x\"", &ls, &off, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ruletest__parse_metric("m{a=x}", &ls, &off, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ruletest__parse_metric("m{a=\"1\",a=\"2\"}", &ls, &off, err,
						sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "label given twice"));
	assert_int_equal(ruletest__parse_metric("m n", &ls, &off, err, sizeof(err)), -EINVAL);
	assert_int_equal(off, 2);
}

/* --- printing ------------------------------------------------------------- */

static void test_format_E(void **state)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0.3, "3E-01" },
		{ 0.1 + 0.2, "3.0000000000000004E-01" },
		{ 1, "1E+00" },
		{ 0, "0E+00" },
		{ -2.5, "-2.5E+00" },
		{ 1234567, "1.234567E+06" },
		{ 1e100, "1E+100" },
		{ 5e-324, "5E-324" },
		{ 1.2000000000000002, "1.2000000000000002E+00" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(ruletest__format_E(cases[i].v, buf, sizeof(buf)),
				    cases[i].want);
	assert_string_equal(ruletest__format_E(INFINITY, buf, sizeof(buf)), "+Inf");
	assert_string_equal(ruletest__format_E(-INFINITY, buf, sizeof(buf)), "-Inf");
	assert_string_equal(ruletest__format_E(NAN, buf, sizeof(buf)), "NaN");
}

static void test_durations(void **state)
{
	char b[64];

	(void)state;
	ruletest__go_duration(0, b, sizeof(b));
	assert_string_equal(b, "0s");
	ruletest__go_duration(500, b, sizeof(b));
	assert_string_equal(b, "500ms");
	ruletest__go_duration(1500, b, sizeof(b));
	assert_string_equal(b, "1.5s");
	ruletest__go_duration(240000, b, sizeof(b));
	assert_string_equal(b, "4m0s");
	ruletest__go_duration(3600000, b, sizeof(b));
	assert_string_equal(b, "1h0m0s");
	ruletest__go_duration(3723250, b, sizeof(b));
	assert_string_equal(b, "1h2m3.25s");

	ruletest__model_duration(0, b, sizeof(b));
	assert_string_equal(b, "0s");
	ruletest__model_duration(240000, b, sizeof(b));
	assert_string_equal(b, "4m");
	ruletest__model_duration(5400000, b, sizeof(b));
	assert_string_equal(b, "1h30m");
	ruletest__model_duration(86400000, b, sizeof(b));
	assert_string_equal(b, "1d");
	ruletest__model_duration(7 * 86400000LL, b, sizeof(b));
	assert_string_equal(b, "1w");
	ruletest__model_duration(8 * 86400000LL, b, sizeof(b));
	assert_string_equal(b, "8d");
	ruletest__model_duration(359999, b, sizeof(b));
	assert_string_equal(b, "5m59s999ms");
}

/* --- comparisons ---------------------------------------------------------- */

static struct rt_labels mk(const char *s)
{
	struct rt_labels ls;

	assert_int_equal(ruletest__parse_metric(s, &ls, NULL, NULL, 0), 0);
	return ls;
}

static void test_samples_equal(void **state)
{
	struct rt_sample exp[2], got[2];
	char *s;

	(void)state;
	exp[0].labels = mk("{a=\"2\"}");
	exp[0].v = 2;
	exp[1].labels = mk("{a=\"1\"}");
	exp[1].v = 1;
	got[0].labels = mk("{a=\"1\"}");
	got[0].v = 1;
	got[1].labels = mk("{a=\"2\"}");
	got[1].v = 2;
	/* sets: order does not matter */
	assert_true(ruletest__samples_equal(exp, 2, got, 2));
	assert_false(ruletest__samples_equal(exp, 2, got, 1));
	assert_true(ruletest__samples_equal(exp, 0, got, 0));
	/* exact values: no epsilon, -0 == 0, NaN never equal */
	got[1].v = 2.0000000000000004;
	assert_false(ruletest__samples_equal(exp, 2, got, 2));
	exp[0].v = 0;
	got[0].v = -0.0;
	got[1].v = 2;
	assert_true(ruletest__samples_equal(exp, 2, got, 2));
	exp[0].v = got[0].v = NAN;
	assert_false(ruletest__samples_equal(exp, 2, got, 2));
	/* a label difference */
	exp[0].v = got[0].v = 1;
	rt_labels__free(&got[0].labels);
	got[0].labels = mk("{a=\"1\", b=\"x\"}");
	assert_false(ruletest__samples_equal(exp, 2, got, 2));

	s = ruletest__samples_str(got, 2);
	assert_string_equal(s, "{a=\"1\", b=\"x\"} 1E+00, {a=\"2\"} 2E+00");
	free(s);
	s = ruletest__samples_str(got, 0);
	assert_string_equal(s, "nil");
	free(s);
	rt_labels__free(&exp[0].labels);
	rt_labels__free(&exp[1].labels);
	rt_labels__free(&got[0].labels);
	rt_labels__free(&got[1].labels);
}

static void test_alerts_equal(void **state)
{
	struct rt_alert exp[2], got[2];
	char *s;

	(void)state;
	exp[0].labels = mk("{alertname=\"A\", i=\"2\"}");
	exp[0].annotations = mk("{s=\"x\"}");
	exp[1].labels = mk("{alertname=\"A\", i=\"1\"}");
	exp[1].annotations = mk("{}");
	got[0].labels = mk("{alertname=\"A\", i=\"1\"}");
	got[0].annotations = mk("{}");
	got[1].labels = mk("{alertname=\"A\", i=\"2\"}");
	got[1].annotations = mk("{s=\"x\"}");
	assert_true(ruletest__alerts_equal(exp, 2, got, 2));
	assert_false(ruletest__alerts_equal(exp, 1, got, 2));
	rt_labels__free(&got[1].annotations);
	got[1].annotations = mk("{s=\"y\"}");
	assert_false(ruletest__alerts_equal(exp, 2, got, 2));

	s = ruletest__alerts_str(got, 2, "    ");
	assert_string_equal(s, "[\n    0:\n      Labels:{alertname=\"A\", i=\"1\"}\n"
			    "      Annotations:{},\n    1:\n      Labels:{alertname=\"A\", i=\"2\"}\n"
			    "      Annotations:{s=\"y\"}\n    ]");
	free(s);
	s = ruletest__alerts_str(got, 0, "    ");
	assert_string_equal(s, "[]");
	free(s);
	for (int i = 0; i < 2; i++) {
		rt_labels__free(&exp[i].labels);
		rt_labels__free(&exp[i].annotations);
		rt_labels__free(&got[i].labels);
		rt_labels__free(&got[i].annotations);
	}
}

/* --- test files ------------------------------------------------------------ */

static void expect_file_error(const char *text, const char *want)
{
	char err[4096] = "";
	int ret = ruletest__check_text("t.yml", text, strlen(text), err, sizeof(err));

	assert_int_equal(ret, -EINVAL);
	if (!strstr(err, want)) {
		print_error("input:\n%s\nwant: %s\ngot:  %s\n", text, want, err);
		fail();
	}
}

static void test_file_errors(void **state)
{
	char err[1024];
	const char *ok = "rule_files: [a.yml]\nevaluation_interval: 30s\ntests:\n"
			 "  - interval: 1m\n    input_series:\n      - series: 'm{a=\"b\"}'\n"
			 "        values: '1 2'\n    promql_expr_test:\n      - expr: m\n"
			 "        eval_time: 1m\n        exp_samples:\n"
			 "          - labels: 'm{a=\"b\"}'\n            value: 2\n";

	(void)state;
	assert_int_equal(ruletest__check_text("t.yml", ok, strlen(ok), err, sizeof(err)), 0);
	assert_int_equal(ruletest__check_text("t.yml", "", 0, err, sizeof(err)), 0);
	expect_file_error("tests:\n  - intervall: 1m\n",
			  "t.yml:2:5: field intervall not found in tests");
	expect_file_error("evaluation_interval: 1x\n",
			  "t.yml:1:22: evaluation_interval: not a valid duration string");
	expect_file_error("tests:\n  - input_series:\n      - series: m\n        values: '1 2 bad'\n",
			  "t.yml:4:22: bad value \"bad\"");
	expect_file_error("tests:\n  - input_series:\n      - series: 'm{a=~\"x\"}'\n",
			  "t.yml:3:21: bad series");
	expect_file_error("tests:\n  - promql_expr_test:\n      - expr: m\n        exp_samples:\n"
			  "          - value: NaN\n",
			  "t.yml:5:20: value: cannot unmarshal \"NaN\" into float64");
	expect_file_error("tests:\n  - alert_rule_test:\n      - eval_time: 5m\n",
			  "t.yml:3:9: an item under alert_rule_test misses required attribute "
			  "alertname at eval_time 5m");
	expect_file_error("group_eval_order: [a, b, a]\n",
			  "group name repeated in evaluation order: a");
	expect_file_error("tests: [1\n", "t.yml:2:1: yaml:");
	expect_file_error("tests: {}\n", "t.yml:1:8: tests: expected a list");
}

/* A whole run: a temporary directory with a rule file and a test file. */
static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int run(const char *name, char **out, char **err)
{
	char path[256];
	size_t ol, el;
	FILE *o = open_memstream(out, &ol), *e = open_memstream(err, &el);
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = ruletest__run_file(path, o, e);
	fclose(o);
	fclose(e);
	return ret;
}

static const char rules[] =
	"groups:\n"
	"  - name: g\n"
	"    rules:\n"
	"      - record: job:x:sum\n"
	"        expr: sum by (job) (x)\n"
	"      - alert: XHigh\n"
	"        expr: job:x:sum > 5\n"
	"        for: 2m\n"
	"        labels: {severity: page}\n"
	"        annotations: {summary: 'x is {{ $value }} for {{ $labels.job }}'}\n";

static void test_run(void **state)
{
	char *out, *err, want[512];
	int ret;

	(void)state;
	strcpy(dir, "/tmp/test_ruletest.XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_file("r.yml", rules);
	write_file("pass.yml",
		   "rule_files: [r.yml]\n"
		   "tests:\n"
		   "  - interval: 1m\n"
		   "    input_series:\n"
		   "      - series: 'x{job=\"a\", i=\"1\"}'\n"
		   "        values: '1 3 3 3 3'\n"
		   "      - series: 'x{job=\"a\", i=\"2\"}'\n"
		   "        values: '1 3 3 3 3'\n"
		   "    alert_rule_test:\n"
		   "      - eval_time: 2m\n"
		   "        alertname: XHigh\n"
		   "        exp_alerts: []\n"
		   "      - eval_time: 3m30s\n"
		   "        alertname: XHigh\n"
		   "        exp_alerts:\n"
		   "          - exp_labels: {job: a, severity: page}\n"
		   "            exp_annotations: {summary: 'x is 6 for a'}\n"
		   "    promql_expr_test:\n"
		   "      - expr: job:x:sum\n"
		   "        eval_time: 4m\n"
		   "        exp_samples:\n"
		   "          - labels: 'job:x:sum{job=\"a\"}'\n"
		   "            value: 6\n"
		   "      - expr: ALERTS\n"
		   "        eval_time: 2m\n"
		   "        exp_samples:\n"
		   "          - labels: 'ALERTS{alertname=\"XHigh\", alertstate=\"pending\", job=\"a\", severity=\"page\"}'\n"
		   "            value: 1\n");
	ret = run("pass.yml", &out, &err);
	assert_int_equal(ret, 0);
	snprintf(want, sizeof(want), "Unit Testing:  %s/pass.yml\n  SUCCESS\n\n", dir);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(out);
	free(err);

	/* the failure report is promtool's, byte for byte */
	write_file("fail.yml",
		   "rule_files: [r.yml]\n"
		   "tests:\n"
		   "  - interval: 1m\n"
		   "    input_series:\n"
		   "      - series: 'x{job=\"a\"}'\n"
		   "        values: '9 9 9'\n"
		   "    alert_rule_test:\n"
		   "      - eval_time: 1m\n"
		   "        alertname: XHigh\n"
		   "        exp_alerts:\n"
		   "          - exp_labels: {job: a, severity: page}\n"
		   "    promql_expr_test:\n"
		   "      - expr: job:x:sum * 2\n"
		   "        eval_time: 1m\n"
		   "        exp_samples:\n"
		   "          - labels: '{job=\"a\"}'\n"
		   "            value: 18.5\n"
		   "      - expr: x[1m]\n");
	ret = run("fail.yml", &out, &err);
	assert_int_equal(ret, 1);
	snprintf(want, sizeof(want), "Unit Testing:  %s/fail.yml\n\n\n\n\n", dir);
	assert_string_equal(out, want);
	assert_string_equal(err,
		"  FAILED:\n"
		"    alertname: XHigh, time: 1m, \n"
		"        exp:[\n"
		"            0:\n"
		"              Labels:{alertname=\"XHigh\", job=\"a\", severity=\"page\"}\n"
		"              Annotations:{}\n"
		"            ], \n"
		"        got:[]\n"
		"    expr: \"job:x:sum * 2\", time: 1m,\n"
		"        exp: {job=\"a\"} 1.85E+01\n"
		"        got: {job=\"a\"} 1.8E+01\n"
		"    expr: \"x[1m]\", time: 0s, err: rule result is not a vector or scalar\n");
	free(out);
	free(err);

	/* a rule file error fails the file and is reported with its position */
	write_file("badrules.yml", "groups:\n  - name: g\n    rules:\n      - record: r\n"
		   "        expr: sum(\n");
	write_file("bad.yml", "rule_files: [badrules.yml]\ntests:\n  - input_series: []\n");
	ret = run("bad.yml", &out, &err);
	assert_int_equal(ret, 1);
	snprintf(want, sizeof(want), "%s/badrules.yml:5:19:", dir);
	if (!strstr(err, want)) {
		print_error("want %s in:\n%s\n", want, err);
		fail();
	}
	free(out);
	free(err);

	/* an evaluation error stops the group, as in promtool */
	write_file("dup.yml", "groups:\n  - name: g\n    rules:\n      - record: r\n"
		   "        expr: x\n        labels: {job: same}\n");
	write_file("evalerr.yml",
		   "rule_files: [dup.yml]\n"
		   "tests:\n"
		   "  - interval: 1m\n"
		   "    input_series:\n"
		   "      - series: 'x{job=\"a\"}'\n"
		   "        values: '1'\n"
		   "      - series: 'x{job=\"b\"}'\n"
		   "        values: '1'\n"
		   "    promql_expr_test:\n"
		   "      - expr: '1'\n"
		   "        eval_time: 2m\n"
		   "        exp_samples: [{value: 1}]\n");
	ret = run("evalerr.yml", &out, &err);
	assert_int_equal(ret, 1);
	assert_string_equal(err, "  FAILED:\n    rule: r, time: 0s, err: vector contains metrics "
			    "with the same labelset after applying rule labels\n");
	free(out);
	free(err);

	/* a missing test file */
	ret = run("nonexistent.yml", &out, &err);
	assert_int_equal(ret, 1);
	assert_non_null(strstr(err, "No such file or directory"));
	free(out);
	free(err);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notation_basic),
		cmocka_unit_test(test_notation_special),
		cmocka_unit_test(test_notation_errors),
		cmocka_unit_test(test_notation_limit),
		cmocka_unit_test(test_parse_metric),
		cmocka_unit_test(test_format_E),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_samples_equal),
		cmocka_unit_test(test_alerts_equal),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
