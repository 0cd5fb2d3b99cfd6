// SPDX-License-Identifier: GPL-2.0
/*
 * The rule engine over the series store, without BPF: series appended by
 * hand, ticks of 1 s, groups every 2 s; what recording rules write, when
 * their series go stale, how alerts move and reach the sink, what a
 * reload keeps.
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

#include "alertstate.h"
#include "config.h"
#include "log.h"
#include "promql.h"
#include "ruleeng.h"
#include "store.h"
#include "storequery.h"

struct fixture {
	char dir[64];
	char rules[128];
	struct config *cfg;
	struct store *s;
	struct store_family *up;
	struct ruleeng *re;
	int64_t ts;
	size_t sent, resolved;		/* notices seen by the sink */
	char last_alert[64];
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void sink(void *ctx, const struct alert_notices *due)
{
	struct fixture *fx = ctx;

	for (size_t i = 0; i < due->n; i++) {
		fx->sent++;
		fx->resolved += due->v[i].resolved;
		for (size_t k = 0; k < due->v[i].nlabels; k++)
			if (!strcmp(due->v[i].labels[k].name, "alertname"))
				snprintf(fx->last_alert, sizeof(fx->last_alert), "%s",
					 due->v[i].labels[k].value);
	}
}

static const char rules_v1[] =
	"groups:\n"
	"  - name: g\n"
	"    interval: 2s\n"
	"    rules:\n"
	"      - record: job:up:sum\n"
	"        expr: sum by (job) (up)\n"
	"      - record: job:up:double\n"
	"        expr: job:up:sum * 2\n"
	"      - alert: Down\n"
	"        expr: up == 0\n"
	"        for: 2s\n"
	"        labels: { severity: page }\n"
	"        annotations: { summary: '{{ $labels.instance }} is down ({{ $value }})' }\n";

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char cfg[512], err[4096];

	assert_non_null(fx);
	log_set_level(LOG_ERROR);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/bw-ruleeng.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->rules, sizeof(fx->rules), "%s/r.yml", fx->dir);
	write_file(fx->rules, rules_v1);
	snprintf(cfg, sizeof(cfg), "global:\n  collection_interval: 1s\n"
		 "  evaluation_interval: 2s\n  external_labels: { dc: x }\n"
		 "state_dir: %s\nrule_files: [%s]\n", fx->dir, fx->rules);
	fx->cfg = config__parse("t.yml", cfg, strlen(cfg), err, sizeof(err));
	assert_non_null(fx->cfg);
	fx->re = ruleeng__new(fx->cfg, err, sizeof(err));
	if (!fx->re)
		fail_msg("ruleeng__new: %s", err);
	ruleeng__set_sink(fx->re, sink, fx);
	fx->s = store__new(600, 1000);
	assert_non_null(fx->s);
	fx->up = store__family(fx->s, "up", METRIC_GAUGE, "Up.");
	fx->ts = 1000000;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[160];

	ruleeng__free(fx->re);
	store__free(fx->s);
	config__free(fx->cfg);
	unlink(fx->rules);
	snprintf(path, sizeof(path), "%s/alerts.state", fx->dir);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* One 1 s tick with up{job="api",instance=...} = @a, @b (NAN: absent). */
static void tick(struct fixture *fx, double a, double b)
{
	struct label la[] = { { "instance", "a" }, { "job", "api" } };
	struct label lb[] = { { "instance", "b" }, { "job", "api" } };

	fx->ts += 1000;
	assert_int_equal(store__begin_tick(fx->s, fx->ts), 0);
	if (!isnan(a))
		assert_int_equal(store__append(fx->s, fx->up, "", la, 2, a), 0);
	if (!isnan(b))
		assert_int_equal(store__append(fx->s, fx->up, "", lb, 2, b), 0);
	ruleeng__eval(fx->re, fx->s, fx->ts);
	store__end_tick(fx->s);
}

/* Instant query at the last tick: number of elements, first value. */
static size_t query(struct fixture *fx, const char *q, double *v)
{
	struct promql_storage st;
	struct promql_result res = { 0 };
	struct promql_error pe;
	struct promql_node *n = promql_parse(q, &pe);
	size_t count;

	assert_non_null(n);
	storequery__init(&st, fx->s);
	assert_int_equal(promql_eval_instant(n, &st, fx->ts, NULL, &res, &pe), 0);
	count = res.type == PROMQL_VECTOR ? res.n : 1;
	if (v)
		*v = res.type == PROMQL_VECTOR ? (res.n ? res.elems[0].v : NAN) : res.scalar;
	promql_result_free(&res);
	promql_free(n);
	return count;
}

static void test_recording_rules(void **state)
{
	struct fixture *fx = *state;
	double v;

	tick(fx, 1, 1);
	assert_int_equal(query(fx, "job:up:sum", &v), 1);
	assert_true(v == 2);
	/* the second rule sees the first one's output of the same round */
	assert_int_equal(query(fx, "job:up:double{job=\"api\"}", &v), 1);
	assert_true(v == 4);
	/* between evaluations the output is still there (no staleness) */
	tick(fx, 1, 0);
	assert_int_equal(query(fx, "job:up:sum", &v), 1);
	assert_true(v == 2);
	tick(fx, 1, 0);
	assert_int_equal(query(fx, "job:up:sum", &v), 1);
	assert_true(v == 1);
	/* api disappears: its recorded series goes stale at the next
	 * evaluation, not five minutes later */
	tick(fx, NAN, NAN);
	tick(fx, NAN, NAN);
	assert_int_equal(query(fx, "job:up:sum", NULL), 0);
	assert_int_equal(query(fx, "count(job:up:sum offset 2s)", &v), 1);
}

static void test_alert_lifecycle(void **state)
{
	struct fixture *fx = *state;
	double v;

	tick(fx, 1, 0);		/* evaluation: b pending */
	assert_int_equal(query(fx, "ALERTS{alertstate=\"pending\",instance=\"b\"}", &v), 1);
	assert_int_equal(fx->sent, 0);
	tick(fx, 1, 0);
	tick(fx, 1, 0);		/* 2 s later: firing, sent */
	assert_int_equal(query(fx, "ALERTS{alertstate=\"firing\",alertname=\"Down\","
			       "severity=\"page\"}", &v), 1);
	/* the pending series went stale when it turned firing */
	assert_int_equal(query(fx, "ALERTS{alertstate=\"pending\"}", NULL), 0);
	assert_int_equal(query(fx, "ALERTS_FOR_STATE{instance=\"b\"}", &v), 1);
	assert_true(v == 1001);		/* ActiveAt in seconds: the first tick */
	assert_int_equal(fx->sent, 1);
	assert_string_equal(fx->last_alert, "Down");
	/* b back up: resolved, sent as such; ALERTS gone */
	tick(fx, 1, 1);
	tick(fx, 1, 1);
	assert_int_equal(query(fx, "ALERTS", NULL), 0);
	assert_int_equal(fx->resolved, 1);
}

static void test_reload(void **state)
{
	struct fixture *fx = *state;
	char err[4096];
	struct strbuf b;

	tick(fx, 1, 0);
	tick(fx, 1, 0);
	tick(fx, 1, 0);
	assert_int_equal(query(fx, "ALERTS{alertstate=\"firing\"}", NULL), 1);
	/* a broken file: refused with its position, the old rules stay */
	write_file(fx->rules, "groups:\n  - name: g\n    rules:\n"
		   "      - record: x\n        expr: sum(\n");
	assert_int_equal(ruleeng__reload(fx->re, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "r.yml:5:"));
	assert_int_equal(ruleeng__nrules(fx->re), 3);
	/* a good one with the same alert: its state is kept (still firing,
	 * not pending again), and the new rule runs */
	write_file(fx->rules, "groups:\n  - name: g\n    interval: 2s\n    rules:\n"
		   "      - alert: Down\n        expr: up == 0\n        for: 2s\n"
		   "        labels: { severity: page }\n"
		   "      - record: api:up:count\n        expr: count(up)\n");
	assert_int_equal(ruleeng__reload(fx->re, err, sizeof(err)), 0);
	assert_int_equal(ruleeng__nrules(fx->re), 2);
	tick(fx, 1, 0);
	tick(fx, 1, 0);
	assert_int_equal(query(fx, "ALERTS{alertstate=\"firing\"}", NULL), 1);
	assert_int_equal(query(fx, "ALERTS{alertstate=\"pending\"}", NULL), 0);
	assert_int_equal(query(fx, "api:up:count", NULL), 1);
	strbuf__init(&b);
	ruleeng__rules_json(fx->re, &b);
	assert_non_null(strstr(b.buf, "\"name\":\"Down\""));
	assert_non_null(strstr(b.buf, "\"state\":\"firing\""));
	strbuf__reset(&b);
	ruleeng__alerts_json(fx->re, &b);
	assert_non_null(strstr(b.buf, "\"alertname\":\"Down\""));
	strbuf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_recording_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
