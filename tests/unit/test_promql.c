// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL engine unit tests with hand-computed expectations: number
 * formatting, the series notation of the in-memory DB, lookback and
 * staleness at their exact boundaries, the storage interface contract,
 * regex handling and guards, printing, range evaluation and the lookback
 * walker.  Agreement with Prometheus itself is in test_promql_prom.c.
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

#include "promql.h"
#include "promql_mem.h"

static void test_format_float(void **state)
{
	char b[PROMQL_FLOAT_BUF];

	(void)state;
	assert_string_equal(promql_format_float(0.1, 'f', b), "0.1");
	assert_string_equal(promql_format_float(1e21, 'f', b), "1000000000000000000000");
	assert_string_equal(promql_format_float(1e-7, 'f', b), "0.0000001");
	assert_string_equal(promql_format_float(-2.5, 'f', b), "-2.5");
	assert_string_equal(promql_format_float(123456789, 'f', b), "123456789");
	assert_string_equal(promql_format_float(1.0 / 3, 'f', b), "0.3333333333333333");
	assert_string_equal(promql_format_float(NAN, 'f', b), "NaN");
	assert_string_equal(promql_format_float(INFINITY, 'f', b), "+Inf");
	assert_string_equal(promql_format_float(-INFINITY, 'g', b), "-Inf");
	assert_string_equal(promql_format_float(0, 'g', b), "0");
	assert_string_equal(promql_format_float(1e6, 'g', b), "1e+06");
	assert_string_equal(promql_format_float(123456, 'g', b), "123456");
	assert_string_equal(promql_format_float(123456789, 'g', b), "1.23456789e+08");
	assert_string_equal(promql_format_float(0.0001, 'g', b), "0.0001");
	assert_string_equal(promql_format_float(0.00001, 'g', b), "1e-05");
	assert_string_equal(promql_format_float(1.5e300, 'g', b), "1.5e+300");
	assert_string_equal(promql_format_float(5e-324, 'g', b), "5e-324");
}

static void test_stale_nan(void **state)
{
	double s = promql_stale_nan();
	uint64_t bits;

	(void)state;
	memcpy(&bits, &s, sizeof(bits));
	assert_true(bits == PROMQL_STALE_NAN_BITS);
	assert_true(isnan(s));
	assert_true(promql_is_stale(s));
	assert_false(promql_is_stale(NAN));
	assert_false(promql_is_stale(1));
}

/* Evaluate @expr at @t over @db; the printed result, malloc'ed. */
static char *eval(struct promql_mem *db, const char *expr, int64_t t)
{
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *s, msg[512];

	promql_mem__storage(db, &st);
	n = promql_parse(expr, &err);
	if (!n) {
		promql_error_str(&err, msg, sizeof(msg));
		return strdup(msg);
	}
	if (promql_eval_instant(n, &st, t, NULL, &r, &err)) {
		promql_free(n);
		return strdup(err.msg);
	}
	s = promql_result_str(&r);
	assert_non_null(s);
	promql_result_free(&r);
	promql_free(n);
	return s;
}

#define assert_eval(db, expr, t, want)				\
	do {							\
		char *got_ = eval(db, expr, t);			\
		assert_string_equal(got_, want);		\
		free(got_);					\
	} while (0)

static struct promql_mem *load(const char *const *s)
{
	struct promql_mem *db = promql_mem__new(0, 0);
	char err[256];

	assert_non_null(db);
	for (; *s; s += 2)
		assert_int_equal(promql_mem__load(db, s[0], s[1], 0, 60000, err, sizeof(err)), 0);
	return db;
}

static void test_series_notation(void **state)
{
	static const char *const s[] = {
		"a", "1+2x3",
		"b{x=\"1\"}", "_x2 5 _ -1.5e1",
		"c", "1x2 stale 4-1x1",
		"d", "Inf -inf NaN 0x10",
		NULL,
	};
	struct promql_mem *db = load(s);
	char err[256];

	(void)state;
	assert_int_equal(promql_mem__series_count(db), 4);
	assert_eval(db, "sum_over_time(a[10m])", 600000, "{} => 16 @[600000]\n");
	assert_eval(db, "count_over_time(a[10m])", 600000, "{} => 4 @[600000]\n");
	assert_eval(db, "a", 180000, "a => 7 @[180000]\n");
	assert_eval(db, "b", 120000, "b{x=\"1\"} => 5 @[120000]\n");
	assert_eval(db, "b", 60000, "");
	assert_eval(db, "b", 240000, "b{x=\"1\"} => -15 @[240000]\n");
	/* 1x2 is three ones, stale hides the series, then 4 3 */
	assert_eval(db, "count_over_time(c[10m])", 600000, "{} => 5 @[600000]\n");
	assert_eval(db, "c", 180000, "");
	assert_eval(db, "sum_over_time(c[10m])", 600000, "{} => 10 @[600000]\n");
	assert_eval(db, "d", 0, "d => +Inf @[0]\n");
	assert_eval(db, "d", 60000, "d => -Inf @[60000]\n");
	assert_eval(db, "d", 120000, "d => NaN @[120000]\n");
	assert_eval(db, "d", 180000, "d => 16 @[180000]\n");

	assert_int_equal(promql_mem__load(db, "e", "1 2x", 0, 60000, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "series e: bad value \"2x\"");
	assert_int_equal(promql_mem__load(db, "e", "1+x3", 0, 60000, err, sizeof(err)), -EINVAL);
	assert_int_equal(promql_mem__load(db, "e", "1+1", 0, 60000, err, sizeof(err)), -EINVAL);
	assert_int_equal(promql_mem__load(db, "e{a=~\"x\"}", "1", 0, 60000, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "series e{a=~\"x\"}: only \"=\" matchers allowed");
	assert_int_equal(promql_mem__load(db, "e{", "1", 0, 60000, err, sizeof(err)), -EINVAL);
	promql_mem__free(db);
}

static void test_mem_limits(void **state)
{
	struct promql_mem *db = promql_mem__new(1, 3);
	struct promql_label a = { "__name__", "a" }, b = { "__name__", "b" };

	(void)state;
	assert_int_equal(promql_mem__add(db, &a, 1, 0, 1), 0);
	assert_int_equal(promql_mem__add(db, &b, 1, 0, 1), -ENOSPC);
	assert_int_equal(promql_mem__add(db, &a, 1, 2000, 3), 0);
	/* out of order and replacing */
	assert_int_equal(promql_mem__add(db, &a, 1, 1000, 2), 0);
	assert_int_equal(promql_mem__add(db, &a, 1, 1000, 5), 0);
	assert_int_equal(promql_mem__add(db, &a, 1, 3000, 4), -ENOSPC);
	assert_int_equal(promql_mem__dropped(db), 2);
	assert_eval(db, "sum_over_time(a[1m])", 2000, "{} => 9 @[2000]\n");
	assert_eval(db, "a", 1500, "a => 5 @[1500]\n");
	assert_eval(db, "timestamp(a)", 1500, "{} => 1 @[1500]\n");
	promql_mem__free(db);
}

/* Lookback is [t - 5m, t], both ends included (Prometheus 2.x), and a
 * staleness marker as the newest sample hides the series at once. */
static void test_lookback_staleness(void **state)
{
	static const char *const s[] = {
		"x", "1 _x9 2 stale",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_storage st;
	struct promql_opts o = { .lookback_ms = 60000 };
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;

	(void)state;
	assert_eval(db, "x", 300000, "x => 1 @[300000]\n");
	assert_eval(db, "x", 300001, "");
	assert_eval(db, "x", 600000, "x => 2 @[600000]\n");
	assert_eval(db, "x", 659999, "x => 2 @[659999]\n");
	assert_eval(db, "x", 660000, "");
	assert_eval(db, "x", 900000, "");
	/* range selectors drop the marker but keep the samples before it */
	assert_eval(db, "count_over_time(x[1m])", 660000, "{} => 1 @[660000]\n");
	assert_eval(db, "timestamp(x)", 650000, "{} => 600 @[650000]\n");
	assert_eval(db, "x offset 5m", 600000, "x => 1 @[600000]\n");
	assert_eval(db, "x offset -5m", 300000, "x => 2 @[300000]\n");
	assert_eval(db, "x @ 600", 0, "x => 2 @[0]\n");

	/* a shorter lookback from the options */
	promql_mem__storage(db, &st);
	n = promql_parse("x", &err);
	assert_non_null(n);
	assert_int_equal(promql_eval_instant(n, &st, 60000, &o, &r, &err), 0);
	assert_int_equal(r.n, 1);
	promql_result_free(&r);
	assert_int_equal(promql_eval_instant(n, &st, 60001, &o, &r, &err), 0);
	assert_int_equal(r.n, 0);
	promql_result_free(&r);
	promql_free(n);
	promql_mem__free(db);
}

struct fake_store {
	int calls;
	int64_t mint, maxt;
	size_t nmatchers;
	char first[64];
};

static int fake_select(void *ctx, const struct promql_matcher *const *m, size_t n,
		       int64_t mint, int64_t maxt, promql_emit_fn emit, void *ectx)
{
	struct fake_store *f = ctx;
	/* labels deliberately unsorted; the engine must sort them */
	struct promql_label l[] = { { "z", "1" }, { "__name__", "up" }, { "a", "2" } };
	struct promql_sample s[] = { { 1000, 1 }, { 2000, 5 }, { 3000, 0 } };
	int ret;

	f->calls++;
	f->mint = mint;
	f->maxt = maxt;
	f->nmatchers = n;
	snprintf(f->first, sizeof(f->first), "%s %d %s", promql_matcher_name(m[0]),
		 promql_matcher_type(m[0]), promql_matcher_value(m[0]));
	s[2].v = promql_stale_nan();
	ret = emit(ectx, l, 3, s, 3);
	return ret;
}

static void test_storage_interface(void **state)
{
	struct fake_store f = { 0 };
	struct promql_storage st = { .ctx = &f, .select = fake_select };
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *s;

	(void)state;
	n = promql_parse("up{a=~\"2|3\"}", &err);
	assert_non_null(n);
	assert_int_equal(promql_eval_instant(n, &st, 2500, NULL, &r, &err), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.mint, 2500 - 300000);
	assert_int_equal(f.maxt, 2500);
	assert_int_equal(f.nmatchers, 2);
	assert_string_equal(f.first, "__name__ 0 up");
	s = promql_result_str(&r);
	assert_string_equal(s, "up{a=\"2\", z=\"1\"} => 5 @[2500]\n");
	free(s);
	assert_string_equal(r.elems[0].labels[0].name, "__name__");
	assert_string_equal(r.elems[0].labels[1].name, "a");
	promql_result_free(&r);
	/* the stale marker at 3000 is the newest sample: nothing */
	assert_int_equal(promql_eval_instant(n, &st, 3000, NULL, &r, &err), 0);
	assert_int_equal(r.n, 0);
	promql_result_free(&r);
	promql_free(n);

	n = promql_parse("rate(up[10s] offset 1s)", &err);
	assert_non_null(n);
	assert_int_equal(promql_eval_instant(n, &st, 4000, NULL, &r, &err), 0);
	assert_int_equal(f.mint, 4000 - 1000 - 10000);
	assert_int_equal(f.maxt, 3000);
	/* samples 1@1s 5@2s over [-7s, 3s]: 4 per 1s sampled; the start is
	 * extrapolated at most to the zero crossing (0.25s before 1s), the end
	 * by the 1s gap (< 1.1 * average interval): 4 * 2.25 / 10s */
	assert_int_equal(r.n, 1);
	assert_true(fabs(r.elems[0].v - 0.9) < 1e-12);
	assert_int_equal(r.elems[0].nlabels, 2);
	promql_result_free(&r);
	promql_free(n);
}

static void test_regex(void **state)
{
	static const char *const s[] = {
		"m{v=\"123\"}", "1",
		"m{v=\"12a\"}", "2",
		"m{v=\"ABC\"}", "3",
		"m{v=\"x.y\"}", "4",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_error err;
	struct promql_node *n;
	char msg[512];

	(void)state;
	assert_eval(db, "sum(m{v=~\"\\\\d+\"})", 0, "{} => 1 @[0]\n");
	assert_eval(db, "sum(m{v=~\"[\\\\d]+a\"})", 0, "{} => 2 @[0]\n");
	assert_eval(db, "sum(m{v=~\"\\\\w+\"})", 0, "{} => 6 @[0]\n");
	assert_eval(db, "sum(m{v=~\"(?i)abc\"})", 0, "{} => 3 @[0]\n");
	assert_eval(db, "sum(m{v=~\"x\\\\.y\"})", 0, "{} => 4 @[0]\n");
	/* fully anchored */
	assert_eval(db, "sum(m{v=~\"2\"})", 0, "");
	assert_eval(db, "count(m{v!~\"1.*\"})", 0, "{} => 2 @[0]\n");
	assert_eval(db, "label_replace(m{v=\"x.y\"}, \"d\", \"$2-$1\", \"v\", \"(\\\\w)\\\\.(\\\\w)\")",
		    0, "m{d=\"y-x\", v=\"x.y\"} => 4 @[0]\n");

	assert_eval(db, "label_join(m{v=\"123\"}, \"j\", \"-\", \"v\", \"v\", \"x\", \"v\", \"v\", \"v\", \"__name__\")",
		    0, "m{j=\"123-123--123-123-123-m\", v=\"123\"} => 1 @[0]\n");

	/* nested repetitions that would make regcomp allocate gigabytes */
	n = promql_parse("m{v=~\"((a{99}){99}){99}\"}", &err);
	assert_null(n);
	assert_string_equal(promql_error_str(&err, msg, sizeof(msg)),
			    "1:3: parse error: error parsing regexp: regex too large once repetitions are expanded (limit 65536): `((a{99}){99}){99}`");
	n = promql_parse("m{v=~\"a+++++++++++++++++++++++++++++++++\"}", &err);
	assert_null(n);
	promql_mem__free(db);
}

static void test_parse_print(void **state)
{
	static const struct { const char *in, *out; } c[] = {
		{ "sum by(a,b)(rate(x{y=\"1\",z!~'a'}[5m] offset 1m))",
		  "sum by (a, b) (rate(x{y=\"1\", z!~\"a\"}[5m] offset 1m))" },
		{ "a + on(x) group_left(y) b", "a + on(x) group_left(y) b" },
		{ "a > bool ignoring(z) b", "a > bool ignoring(z) b" },
		{ "-x ^ 2", "-x ^ 2" },
		{ "max_over_time(x[1h30m:5m])", "max_over_time(x[1h30m:5m])" },
		{ "x[1d:] @ 100", "x[1d:] @ 100.000" },
		{ "topk(3, x) without (a)", "topk without (a) (3, x)" },
		{ "{__name__=~\"a|b\"}", "{__name__=~\"a|b\"}" },
		{ "1e3 + 0x10 - Inf", "1000 + 16 - Inf" },
		{ "`raw\\n`", "\"raw\\\\n\"" },
		{ "\"\\x41\\u00e9\\101\"", "\"A\u00e9A\"" },
		{ "by", "by" },
		{ "x # comment\n+ 1", "x + 1" },
	};
	struct promql_error err;
	struct promql_node *n;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = promql_parse(c[i].in, &err);
		if (!n)
			fail_msg("%s: %s", c[i].in, err.msg);
		s = promql_node_str(n);
		assert_string_equal(s, c[i].out);
		free(s);
		promql_free(n);
	}
}

static void test_parse_errors(void **state)
{
	static const struct { const char *in, *msg; int col, line; } c[] = {
		{ "sum(foo) by", "unexpected end of input in grouping opts, expected \"(\"", 12, 1 },
		{ "foo by (a)", "unexpected <by>", 5, 1 },
		{ "x +\n  y{a=1}", "unexpected character inside braces: '1'", 7, 2 },
		{ "rate(x)", "expected type range vector in call to function \"rate\", got instant vector", 6, 1 },
		{ "x[5m] + 1", "binary expression must contain only scalar and instant vector types", 1, 1 },
		{ "", "no expression found in input", 1, 1 },
		{ "x @ 1e300", "timestamp out of bounds for @ modifier: 1e+300", 5, 1 },
		{ "'abc", "unterminated quoted string", 1, 1 },
		{ "x offset 5", "unexpected number \"5\" in offset, expected duration", 10, 1 },
		{ "x[99999999999999999999y]", "bad number or duration syntax: \"99999999999999999999y\"", 3, 1 },
	};
	struct promql_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct promql_node *n = promql_parse(c[i].in, &err);

		if (n)
			fail_msg("%s: parsed", c[i].in);
		assert_string_equal(err.msg, c[i].msg);
		assert_int_equal(err.col, c[i].col);
		assert_int_equal(err.line, c[i].line);
		assert_int_equal(errno, EINVAL);
	}
}

static int failing_select(void *ctx, const struct promql_matcher *const *m, size_t n,
			  int64_t mint, int64_t maxt, promql_emit_fn emit, void *ectx)
{
	(void)ctx, (void)m, (void)n, (void)mint, (void)maxt, (void)emit, (void)ectx;
	return -EIO;
}

/* Storage errors reach the caller; deep nesting is refused at parse time
 * so evaluation can never run out of stack. */
static void test_limits_and_storage_errors(void **state)
{
	struct promql_storage st = { .select = failing_select };
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *deep, *chain;
	size_t i;

	(void)state;
	n = promql_parse("sum(rate(x[5m]))", &err);
	assert_non_null(n);
	assert_int_equal(promql_eval_instant(n, &st, 0, NULL, &r, &err), -EIO);
	assert_string_equal(err.msg, "select: Input/output error");
	assert_int_equal(r.n, 0);
	promql_free(n);

	deep = malloc(1000);
	assert_non_null(deep);
	for (i = 0; i < 300; i++) {
		deep[i] = '(';
		deep[301 + i] = ')';
	}
	deep[300] = '1';
	deep[601] = 0;
	assert_null(promql_parse(deep, &err));
	assert_string_equal(err.msg, "expression nested too deeply (limit 256)");
	assert_int_equal(err.col, 257);
	free(deep);

	chain = malloc(4 * 2000 + 1);
	assert_non_null(chain);
	for (i = 0; i < 2000; i++)
		memcpy(chain + 4 * i, "1 + ", 4);
	chain[4 * 2000 - 3] = 0;	/* "1 + 1 + ... + 1" */
	assert_null(promql_parse(chain, &err));
	assert_string_equal(err.msg, "expression nested too deeply (limit 1024)");
	chain[4 * 500 - 3] = 0;
	n = promql_parse(chain, &err);
	assert_non_null(n);
	promql_free(n);
	free(chain);
}

static void test_at_start_end(void **state)
{
	static const char *const s[] = {
		"x", "0+1x10",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *out;

	(void)state;
	promql_mem__storage(db, &st);
	/* in a range query, start() and end() are the query's bounds */
	n = promql_parse("x @ start() - x @ end() + x", &err);
	assert_non_null(n);
	out = promql_node_str(n);
	assert_string_equal(out, "x @ start() - x @ end() + x");
	free(out);
	assert_int_equal(promql_eval_range(n, &st, 120000, 240000, 60000, NULL, &r, &err), 0);
	out = promql_result_str(&r);
	assert_string_equal(out, "{} => 0 @[120000] 1 @[180000] 2 @[240000]\n");
	free(out);
	promql_result_free(&r);
	promql_free(n);
	promql_mem__free(db);
}

static void test_json(void **state)
{
	static const char *const s[] = {
		"up{job=\"a\\\"b\",x=\"\\n\"}", "1 2.5",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *j;

	(void)state;
	promql_mem__storage(db, &st);
	n = promql_parse("up", &err);
	assert_int_equal(promql_eval_instant(n, &st, 61500, NULL, &r, &err), 0);
	j = promql_result_json(&r, 61500);
	assert_string_equal(j, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\","
			       "\"job\":\"a\\\"b\",\"x\":\"\\u000a\"},\"value\":[61.5,\"2.5\"]}]}");
	free(j);
	promql_result_free(&r);
	promql_free(n);

	n = promql_parse("up[2m]", &err);
	assert_int_equal(promql_eval_instant(n, &st, 60000, NULL, &r, &err), 0);
	j = promql_result_json(&r, 60000);
	assert_string_equal(j, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\"up\","
			       "\"job\":\"a\\\"b\",\"x\":\"\\u000a\"},\"values\":[[0,\"1\"],[60,\"2.5\"]]}]}");
	free(j);
	promql_result_free(&r);
	promql_free(n);

	n = promql_parse("1 / 0", &err);
	assert_int_equal(promql_eval_instant(n, &st, 1000, NULL, &r, &err), 0);
	j = promql_result_json(&r, 1000);
	assert_string_equal(j, "{\"resultType\":\"scalar\",\"result\":[1,\"+Inf\"]}");
	free(j);
	promql_result_free(&r);
	promql_free(n);
	promql_mem__free(db);
}

static void test_max_lookback(void **state)
{
	static const struct { const char *in; int64_t want; } c[] = {
		{ "x", 300000 },
		{ "x offset 10m", 900000 },
		{ "x offset -10m", 300000 },
		{ "rate(x[5m] offset 1m)", 360000 },
		{ "max_over_time(rate(x[2m])[10m:1m])", 720000 },
		{ "max_over_time(x[10m:1m] offset 1h)", 4500000 },
		{ "1 + time()", 0 },
		{ "sum(x[1h:] ) or y[2h]", 7200000 },
	};
	struct promql_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct promql_node *n = promql_parse(c[i].in, &err);

		if (!n) {
			/* "sum(x[1h:])" is a type error: use the valid part */
			n = promql_parse("sum_over_time(x[1h:]) or y", &err);
			assert_non_null(n);
			assert_int_equal(promql_max_lookback_ms(n, 300000), 3600000 + 300000);
			promql_free(n);
			continue;
		}
		assert_int_equal(promql_max_lookback_ms(n, 300000), c[i].want);
		promql_free(n);
	}
}

static void test_eval_range(void **state)
{
	static const char *const s[] = {
		"x{a=\"1\"}", "0+1x10",
		"x{a=\"2\"}", "_x5 10x5",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;
	char *out;

	(void)state;
	promql_mem__storage(db, &st);
	n = promql_parse("x * 2", &err);
	assert_non_null(n);
	assert_int_equal(promql_eval_range(n, &st, 240000, 360000, 60000, NULL, &r, &err), 0);
	out = promql_result_str(&r);
	assert_string_equal(out,
			    "{a=\"1\"} => 8 @[240000] 10 @[300000] 12 @[360000]\n"
			    "{a=\"2\"} => 20 @[300000] 20 @[360000]\n");
	free(out);
	promql_result_free(&r);
	assert_int_equal(promql_eval_range(n, &st, 10, 0, 1000, NULL, &r, &err), -EINVAL);
	promql_free(n);

	n = promql_parse("time()", &err);
	assert_int_equal(promql_eval_range(n, &st, 0, 2000, 1000, NULL, &r, &err), 0);
	out = promql_result_str(&r);
	assert_string_equal(out, "{} => 0 @[0] 1 @[1000] 2 @[2000]\n");
	free(out);
	promql_result_free(&r);
	promql_free(n);
	promql_mem__free(db);
}

static void test_eval_errors_and_limits(void **state)
{
	static const char *const s[] = {
		"x{a=\"1\"}", "0+1x100",
		"y{a=\"1\"}", "1",
		NULL,
	};
	struct promql_mem *db = load(s);
	struct promql_storage st;
	struct promql_opts o = { .max_samples = 50 };
	struct promql_result r;
	struct promql_error err;
	struct promql_node *n;

	(void)state;
	assert_eval(db, "{__name__=~\"x|y\"} * 1", 0,
		    "vector cannot contain metrics with the same labelset");
	assert_eval(db, "count_values(\"1x\", x)", 0, "invalid label name \"1x\"");
	assert_eval(db, "label_replace(x, \"a\", \"b\", \"c\", \"(\")", 0,
		    "invalid regular expression in label_replace(): (: Unmatched ( or \\(");
	/* glibc would read a lazy group greedily and capture something else */
	assert_eval(db, "label_replace(x, \"a\", \"$1\", \"a\", \"(.*?)1\")", 0,
		    "invalid regular expression in label_replace(): (.*?)1: non-greedy repetition is not supported in capturing regexes");
	assert_eval(db, "count(x{a=~\".*?1\"})", 0, "{} => 1 @[0]\n");
	assert_eval(db, "holt_winters(x[5m], 2, 0.5)", 300000,
		    "invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000");
	promql_mem__storage(db, &st);
	n = promql_parse("sum_over_time(x[100m])", &err);
	assert_int_equal(promql_eval_instant(n, &st, 6000000, &o, &r, &err), -E2BIG);
	assert_string_equal(err.msg, "query processing would load too many samples into memory in query execution");
	assert_int_equal(r.n, 0);
	promql_free(n);
	n = promql_parse("sum_over_time(x[10m])", &err);
	assert_int_equal(promql_eval_instant(n, &st, 6000000, &o, &r, &err), 0);
	assert_int_equal(r.n, 1);
	assert_true(r.elems[0].v == 90 + 91 + 92 + 93 + 94 + 95 + 96 + 97 + 98 + 99 + 100);
	promql_result_free(&r);
	promql_free(n);
	promql_mem__free(db);
}

static void test_topk_order_and_sort(void **state)
{
	static const char *const s[] = {
		"x{a=\"1\"}", "3",
		"x{a=\"2\"}", "1",
		"x{a=\"3\"}", "2",
		"x{a=\"4\"}", "NaN",
		NULL,
	};
	struct promql_mem *db = load(s);

	(void)state;
	assert_eval(db, "topk(2, x)", 0, "x{a=\"1\"} => 3 @[0]\nx{a=\"3\"} => 2 @[0]\n");
	assert_eval(db, "bottomk(2, x)", 0, "x{a=\"2\"} => 1 @[0]\nx{a=\"3\"} => 2 @[0]\n");
	assert_eval(db, "sort(x)", 0,
		    "x{a=\"4\"} => NaN @[0]\nx{a=\"2\"} => 1 @[0]\nx{a=\"3\"} => 2 @[0]\nx{a=\"1\"} => 3 @[0]\n");
	assert_eval(db, "sort_desc(x)", 0,
		    "x{a=\"4\"} => NaN @[0]\nx{a=\"1\"} => 3 @[0]\nx{a=\"3\"} => 2 @[0]\nx{a=\"2\"} => 1 @[0]\n");
	assert_eval(db, "count_values(\"v\", x * 0.5)", 0,
		    "{v=\"1.5\"} => 1 @[0]\n{v=\"0.5\"} => 1 @[0]\n{v=\"1\"} => 1 @[0]\n{v=\"NaN\"} => 1 @[0]\n");
	assert_eval(db, "quantile(0.5, x)", 0, "{} => 1.5 @[0]\n");
	assert_eval(db, "\"str\"", 0, "\"str\"\n");
	promql_mem__free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_float),
		cmocka_unit_test(test_stale_nan),
		cmocka_unit_test(test_series_notation),
		cmocka_unit_test(test_mem_limits),
		cmocka_unit_test(test_lookback_staleness),
		cmocka_unit_test(test_storage_interface),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_parse_print),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_max_lookback),
		cmocka_unit_test(test_eval_range),
		cmocka_unit_test(test_eval_errors_and_limits),
		cmocka_unit_test(test_topk_order_and_sort),
		cmocka_unit_test(test_limits_and_storage_errors),
		cmocka_unit_test(test_at_start_end),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
