// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the alert state machine (agent/alertstate.c): Prometheus'
 * transitions, ALERTS series, resend timing, limits and the persistence
 * of `for` state.  Rules come from real rule file text (rulefile.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alertstate.h"

#define MIN	(60 * 1000)

static struct rule_set *load(const char *text)
{
	char err[4096];
	struct rule_set *set = rulefile__parse("t.yml", text, strlen(text), NULL, NULL,
					       err, sizeof(err));

	if (!set)
		print_error("%s\n", err);
	assert_non_null(set);
	return set;
}

static struct alertstate *state_of(struct rule_set *set, size_t g, size_t r)
{
	struct alertstate *as = alertstate__new("t.yml;g", &set->groups[g],
						&set->groups[g].rules[r]);

	assert_non_null(as);
	return as;
}

static const struct label in_a[] = {
	{ "__name__", "up" }, { "instance", "a" }, { "job", "node" },
};
static const struct label in_b[] = {
	{ "__name__", "up" }, { "instance", "b" }, { "job", "node" },
};

static int eval(struct alertstate *as, int64_t t, int which, double v,
		struct alert_series_vec *series)
{
	struct alert_input in[2] = {
		{ in_a, 3, v },
		{ in_b, 3, v },
	};
	struct alert_env env = { .external_url = "http://prom:9090" };
	char err[256];
	size_t n = 0;
	const struct alert_input *p = in;

	/* which: 0 none, 1 a, 2 b, 3 both */
	if (which == 2)
		p = &in[1];
	n = which == 0 ? 0 : which == 3 ? 2 : 1;
	return alertstate__eval(as, t, p, n, &env, series, err, sizeof(err));
}

static struct alert_view view(const struct alertstate *as, size_t i)
{
	struct alert_view v;

	alertstate__get(as, i, &v);
	return v;
}

static const char *label(const struct label *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return l[i].value;
	return NULL;
}

/* "name{a="1",b="2"} value" of a series, labels in their (sorted) order. */
static void series_str(const struct alert_series *s, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < s->nlabels; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s=\"%s\"", i ? "," : "{",
				      s->labels[i].name, s->labels[i].value);
	snprintf(buf + o, len - o, "} %g", s->value);
}

static const char rules_for[] =
	"groups:\n"
	"  - name: g\n"
	"    labels: { team: sre, severity: low }\n"
	"    rules:\n"
	"      - alert: Down\n"
	"        expr: up == 0\n"
	"        for: 5m\n"
	"        labels:\n"
	"          severity: \"{{ if gt $value 1.0 }}page{{ else }}warn{{ end }}\"\n"
	"          empty: \"{{ $labels.nosuch }}\"\n"
	"          where: \"{{ $labels.instance }}-{{ $labels.__name__ }}\"\n"
	"        annotations:\n"
	"          v: \"value {{ $value }}\"\n";

static void test_pending_to_firing(void **state)
{
	struct rule_set *set = load(rules_for);
	struct alertstate *as = state_of(set, 0, 0);
	struct alert_series_vec s = { 0 };
	struct alert_view v;
	char buf[512];

	(void)state;
	assert_int_equal(eval(as, 10 * MIN + 500, 1, 2, &s), 0);
	assert_int_equal(alertstate__count(as), 1);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_PENDING);
	assert_int_equal(v.active_at_ms, 10 * MIN + 500);
	assert_true(v.fired_at_ms == ALERT_TIME_UNSET);
	/* labels: no __name__, no empty label, group label under rule label */
	assert_int_equal(v.nlabels, 6);
	assert_string_equal(label(v.labels, v.nlabels, "alertname"), "Down");
	assert_string_equal(label(v.labels, v.nlabels, "severity"), "page");
	assert_string_equal(label(v.labels, v.nlabels, "team"), "sre");
	assert_string_equal(label(v.labels, v.nlabels, "where"), "a-up");
	assert_null(label(v.labels, v.nlabels, "empty"));
	assert_null(label(v.labels, v.nlabels, "__name__"));
	assert_string_equal(label(v.annotations, v.nannotations, "v"), "value 2");
	assert_int_equal(v.fingerprint, alert_labels__fingerprint(v.labels, v.nlabels));

	/* ALERTS and ALERTS_FOR_STATE, labels sorted */
	assert_int_equal(s.n, 2);
	series_str(&s.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "{__name__=\"ALERTS\",alertname=\"Down\",alertstate=\"pending\","
			    "instance=\"a\",job=\"node\",severity=\"page\",team=\"sre\","
			    "where=\"a-up\"} 1");
	series_str(&s.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "{__name__=\"ALERTS_FOR_STATE\",alertname=\"Down\","
			    "instance=\"a\",job=\"node\",severity=\"page\",team=\"sre\","
			    "where=\"a-up\"} 600");
	alert_series_vec__free(&s);

	/* 4m59.5s later: still pending; the value and annotations move */
	assert_int_equal(eval(as, 15 * MIN, 1, 3, &s), 0);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_PENDING);
	assert_true(v.value == 3);
	assert_string_equal(label(v.annotations, v.nannotations, "v"), "value 3");
	alert_series_vec__free(&s);

	/* a value change that changes a label makes another alert */
	assert_int_equal(eval(as, 15 * MIN + 500, 1, 3, &s), 0);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_FIRING);
	assert_int_equal(v.fired_at_ms, 15 * MIN + 500);
	series_str(&s.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "alertstate=\"firing\""));
	alert_series_vec__free(&s);

	assert_int_equal(eval(as, 16 * MIN, 1, 0.5, &s), 0);
	/* severity became "warn": the "page" alert resolved, a new one pending */
	assert_int_equal(alertstate__count(as), 2);
	assert_int_equal(s.n, 2);
	series_str(&s.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "alertstate=\"pending\""));
	assert_non_null(strstr(buf, "severity=\"warn\""));
	alert_series_vec__free(&s);

	alertstate__free(as);
	rule_set__free(set);
}

static const char rules_plain[] =
	"groups:\n"
	"  - name: g\n"
	"    rules:\n"
	"      - alert: Now\n"
	"        expr: up == 0\n"
	"      - alert: Later\n"
	"        expr: up == 0\n"
	"        for: 2m\n"
	"      - alert: Held\n"
	"        expr: up == 0\n"
	"        keep_firing_for: 2m\n";

static void test_for_zero_and_pending_gone(void **state)
{
	struct rule_set *set = load(rules_plain);
	struct alertstate *now = state_of(set, 0, 0), *later = state_of(set, 0, 1);

	(void)state;
	assert_int_equal(eval(now, 0, 1, 1, NULL), 0);
	assert_int_equal(view(now, 0).state, ALERT_FIRING);
	assert_int_equal(view(now, 0).fired_at_ms, 0);

	assert_int_equal(eval(later, 0, 3, 1, NULL), 0);
	assert_int_equal(alertstate__count(later), 2);
	/* a pending alert that goes away is forgotten */
	assert_int_equal(eval(later, MIN, 2, 1, NULL), 0);
	assert_int_equal(alertstate__count(later), 1);
	assert_string_equal(label(view(later, 0).labels, view(later, 0).nlabels, "instance"),
			    "b");
	/* and starts over when back */
	assert_int_equal(eval(later, 2 * MIN, 3, 1, NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		struct alert_view v = view(later, i);

		if (!strcmp(label(v.labels, v.nlabels, "instance"), "a")) {
			assert_int_equal(v.state, ALERT_PENDING);
			assert_int_equal(v.active_at_ms, 2 * MIN);
		} else {
			assert_int_equal(v.state, ALERT_FIRING);
			assert_int_equal(v.active_at_ms, 0);
		}
	}
	alertstate__free(now);
	alertstate__free(later);
	rule_set__free(set);
}

static void test_resolved_retention(void **state)
{
	struct rule_set *set = load(rules_plain);
	struct alertstate *as = state_of(set, 0, 0);
	struct alert_series_vec s = { 0 };
	struct alert_view v;

	(void)state;
	assert_int_equal(eval(as, 0, 1, 1, NULL), 0);
	assert_int_equal(eval(as, MIN, 0, 0, &s), 0);
	/* resolved: kept, no ALERTS series */
	assert_int_equal(s.n, 0);
	assert_int_equal(alertstate__count(as), 1);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_INACTIVE);
	assert_int_equal(v.resolved_at_ms, MIN);
	/* kept while t - ResolvedAt <= 15m */
	assert_int_equal(eval(as, 16 * MIN, 0, 0, NULL), 0);
	assert_int_equal(alertstate__count(as), 1);
	assert_int_equal(view(as, 0).resolved_at_ms, MIN);
	assert_int_equal(eval(as, 16 * MIN + 1, 0, 0, NULL), 0);
	assert_int_equal(alertstate__count(as), 0);

	/* resolved and back: a new alert */
	assert_int_equal(eval(as, 20 * MIN, 1, 1, NULL), 0);
	assert_int_equal(eval(as, 21 * MIN, 0, 0, NULL), 0);
	assert_int_equal(eval(as, 22 * MIN, 1, 1, NULL), 0);
	assert_int_equal(alertstate__count(as), 1);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_FIRING);
	assert_int_equal(v.active_at_ms, 22 * MIN);
	assert_int_equal(v.fired_at_ms, 22 * MIN);
	assert_true(v.resolved_at_ms == ALERT_TIME_UNSET);
	alertstate__free(as);
	rule_set__free(set);
}

static void test_keep_firing_for(void **state)
{
	struct rule_set *set = load(rules_plain);
	struct alertstate *as = state_of(set, 0, 2);
	struct alert_series_vec s = { 0 };
	struct alert_view v;

	(void)state;
	assert_int_equal(eval(as, 0, 1, 1, NULL), 0);
	assert_int_equal(view(as, 0).state, ALERT_FIRING);
	/* gone, held firing, ALERTS still says firing */
	assert_int_equal(eval(as, MIN, 0, 0, &s), 0);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_FIRING);
	assert_int_equal(v.keep_firing_since_ms, MIN);
	assert_int_equal(s.n, 2);
	alert_series_vec__free(&s);
	assert_int_equal(eval(as, 2 * MIN, 0, 0, NULL), 0);
	assert_int_equal(view(as, 0).state, ALERT_FIRING);
	/* back: the hold is reset */
	assert_int_equal(eval(as, 3 * MIN, 1, 1, NULL), 0);
	assert_true(view(as, 0).keep_firing_since_ms == ALERT_TIME_UNSET);
	assert_int_equal(eval(as, 4 * MIN, 0, 0, NULL), 0);
	assert_int_equal(eval(as, 5 * MIN + 59999, 0, 0, NULL), 0);
	assert_int_equal(view(as, 0).state, ALERT_FIRING);
	/* 2m after it went away: resolved */
	assert_int_equal(eval(as, 6 * MIN, 0, 0, NULL), 0);
	v = view(as, 0);
	assert_int_equal(v.state, ALERT_INACTIVE);
	assert_int_equal(v.resolved_at_ms, 6 * MIN);
	alertstate__free(as);
	rule_set__free(set);
}

static void test_limit_and_collisions(void **state)
{
	static const char text[] =
		"groups:\n"
		"  - name: g\n"
		"    limit: 1\n"
		"    rules:\n"
		"      - alert: A\n"
		"        expr: up\n"
		"      - alert: B\n"
		"        expr: up\n"
		"        labels: { instance: same }\n";
	struct rule_set *set = load(text);
	struct alertstate *a = state_of(set, 0, 0), *b = state_of(set, 0, 1);
	struct alert_series_vec s = { 0 };
	struct alert_input in[2] = { { in_a, 3, 1 }, { in_b, 3, 1 } };
	char err[256];

	(void)state;
	assert_int_equal(alertstate__eval(a, 0, in, 1, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(alertstate__eval(a, MIN, in, 2, NULL, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "exceeded limit of 1 with 2 alerts");
	/* no series from the failed evaluation, all alerts dropped */
	assert_int_equal(s.n, 2);
	assert_int_equal(alertstate__count(a), 0);
	assert_int_equal(alertstate__limit_hits(a), 1);
	alert_series_vec__free(&s);

	/* two series that become one alert after "instance: same" */
	assert_int_equal(alertstate__eval(b, 0, in, 2, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vector contains metrics with the same labelset after "
			    "applying alert labels");
	alertstate__free(a);
	alertstate__free(b);
	rule_set__free(set);
}

static void test_resend(void **state)
{
	struct rule_set *set = load(rules_plain);
	struct alertstate *as = state_of(set, 0, 0), *later = state_of(set, 0, 1);
	struct alert_env env = { .external_url = "http://prom:9090" };
	struct alert_notices ns = { 0 };
	const uint64_t iv = MIN;

	(void)state;
	/* pending alerts are not sent */
	assert_int_equal(eval(later, 0, 1, 1, NULL), 0);
	assert_int_equal(alertstate__due(later, 0, iv, &env, &ns), 0);

	assert_int_equal(eval(as, 0, 1, 1, NULL), 0);
	assert_int_equal(alertstate__due(as, 0, iv, &env, &ns), 1);
	assert_int_equal(ns.n, 1);
	assert_int_equal(ns.v[0].starts_at_ms, 0);
	assert_int_equal(ns.v[0].ends_at_ms, 4 * MIN);
	assert_false(ns.v[0].resolved);
	assert_string_equal(ns.v[0].generator_url,
			    "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
	assert_string_equal(label(ns.v[0].labels, ns.v[0].nlabels, "alertname"), "Now");
	alert_notices__free(&ns);

	/* Prometheus: due when LastSentAt + 1m is strictly before now */
	assert_int_equal(eval(as, MIN, 1, 1, NULL), 0);
	assert_int_equal(alertstate__due(as, MIN, iv, &env, &ns), 0);
	assert_int_equal(eval(as, 2 * MIN, 1, 1, NULL), 0);
	assert_int_equal(alertstate__due(as, 2 * MIN, iv, &env, &ns), 1);
	assert_int_equal(ns.v[0].ends_at_ms, 6 * MIN);
	alert_notices__free(&ns);
	/* a 5m group interval: endsAt = now + 4 x 5m */
	assert_int_equal(alertstate__due(as, 3 * MIN + 1, 5 * MIN, &env, &ns), 1);
	assert_int_equal(ns.v[0].ends_at_ms, 23 * MIN + 1);
	alert_notices__free(&ns);

	/* resolved: sent at once with ResolvedAt as endsAt */
	assert_int_equal(eval(as, 3 * MIN + 2, 0, 0, NULL), 0);
	assert_int_equal(alertstate__due(as, 3 * MIN + 2, iv, &env, &ns), 1);
	assert_true(ns.v[0].resolved);
	assert_int_equal(ns.v[0].starts_at_ms, 0);
	assert_int_equal(ns.v[0].ends_at_ms, 3 * MIN + 2);
	alert_notices__free(&ns);
	/* then every minute while kept (15 min) */
	assert_int_equal(alertstate__due(as, 4 * MIN + 2, iv, &env, &ns), 0);
	assert_int_equal(alertstate__due(as, 4 * MIN + 3, iv, &env, &ns), 1);
	assert_true(ns.v[0].resolved);
	assert_int_equal(ns.v[0].ends_at_ms, 3 * MIN + 2);
	alert_notices__free(&ns);
	assert_int_equal(eval(as, 18 * MIN + 3, 0, 0, NULL), 0);
	assert_int_equal(alertstate__count(as), 0);
	assert_int_equal(alertstate__due(as, 18 * MIN + 3, iv, &env, &ns), 0);
	alertstate__free(as);
	alertstate__free(later);
	rule_set__free(set);
}

static const char rules_long_for[] =
	"groups:\n"
	"  - name: g\n"
	"    rules:\n"
	"      - alert: Slow\n"
	"        expr: up == 0\n"
	"        for: 30m\n"
	"      - alert: Quick\n"
	"        expr: up == 0\n"
	"        for: 5m\n";

static char dir[64];

static void test_persistence(void **state)
{
	struct rule_set *set = load(rules_long_for);
	struct alertstate *slow = state_of(set, 0, 0), *quick = state_of(set, 0, 1);
	struct alertstate *states[2] = { slow, quick };
	char path[128], err[512];
	struct for_state *fs;
	bool corrupt;

	(void)state;
	strcpy(dir, "/tmp/test_alertstate.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/alerts_for_state", dir);

	/* no file yet: a normal first start */
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_null(fs);
	assert_int_equal(errno, ENOENT);
	assert_false(corrupt);

	/* a (instance a) active since 0, b since -25m; saved at 10m */
	assert_int_equal(eval(slow, -25 * MIN, 2, 1, NULL), 0);
	assert_int_equal(eval(slow, 0, 3, 1, NULL), 0);
	assert_int_equal(eval(quick, 0, 1, 1, NULL), 0);
	assert_int_equal(alertstate__save(path, states, 2, 10 * MIN, err, sizeof(err)), 0);

	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_non_null(fs);
	assert_false(corrupt);
	assert_int_equal(for_state__count(fs), 3);
	assert_int_equal(for_state__saved_at(fs), 10 * MIN);

	/* restart at 12m: fresh states, first evaluation, then restore */
	alertstate__free(slow);
	alertstate__free(quick);
	slow = state_of(set, 0, 0);
	quick = state_of(set, 0, 1);
	assert_int_equal(eval(slow, 12 * MIN, 3, 1, NULL), 0);
	assert_int_equal(eval(quick, 12 * MIN, 1, 1, NULL), 0);
	assert_int_equal(alertstate__restore(slow, fs, 12 * MIN, ALERT_FOR_GRACE_MS,
					     ALERT_OUTAGE_TOLERANCE_MS), 2);
	/* `for` (5m) below the grace period: not restored */
	assert_int_equal(alertstate__restore(quick, fs, 12 * MIN, ALERT_FOR_GRACE_MS,
					     ALERT_OUTAGE_TOLERANCE_MS), 0);
	for (size_t i = 0; i < 2; i++) {
		struct alert_view v = view(slow, i);

		if (!strcmp(label(v.labels, v.nlabels, "instance"), "a"))
			/* 10m spent, 20m left: resumes, shifted by the 2m down */
			assert_int_equal(v.active_at_ms, 2 * MIN);
		else
			/* 35m spent: fires at the next evaluation */
			assert_int_equal(v.active_at_ms, -25 * MIN);
	}
	assert_int_equal(eval(slow, 13 * MIN, 3, 1, NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		struct alert_view v = view(slow, i);
		bool is_a = !strcmp(label(v.labels, v.nlabels, "instance"), "a");

		assert_int_equal(v.state, is_a ? ALERT_PENDING : ALERT_FIRING);
	}
	/* with 5m left (less than the grace period): fires 10m after restart */
	{
		struct alertstate *s2 = state_of(set, 0, 0);

		assert_int_equal(eval(s2, 12 * MIN, 1, 1, NULL), 0);
		assert_int_equal(alertstate__restore(s2, fs, 12 * MIN, 25 * MIN,
						     ALERT_OUTAGE_TOLERANCE_MS), 1);
		assert_int_equal(view(s2, 0).active_at_ms, 12 * MIN + 25 * MIN - 30 * MIN);
		/* after an outage longer than the tolerance: nothing */
		alertstate__free(s2);
		s2 = state_of(set, 0, 0);
		assert_int_equal(eval(s2, 71 * MIN, 1, 1, NULL), 0);
		assert_int_equal(alertstate__restore(s2, fs, 71 * MIN, ALERT_FOR_GRACE_MS,
						     ALERT_OUTAGE_TOLERANCE_MS), 0);
		assert_int_equal(view(s2, 0).active_at_ms, 71 * MIN);
		alertstate__free(s2);
	}
	for_state__free(fs);
	alertstate__free(slow);
	alertstate__free(quick);
	rule_set__free(set);
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void test_corrupt(void **state)
{
	struct rule_set *set = load(rules_long_for);
	struct alertstate *slow = state_of(set, 0, 0);
	char path[128], aside[160], err[512], *text;
	struct for_state *fs;
	struct stat st;
	bool corrupt;
	size_t len;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/alerts_for_state", dir);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	assert_int_equal(eval(slow, 0, 3, 1, NULL), 0);
	assert_int_equal(alertstate__save(path, &slow, 1, MIN, err, sizeof(err)), 0);

	/* flip one byte of the last record */
	f = fopen(path, "r");
	assert_non_null(f);
	text = calloc(1, 4096);
	len = fread(text, 1, 4095, f);
	fclose(f);
	text[len - 3] ^= 0x01;
	write_text(path, text, len);
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_non_null(fs);
	assert_true(corrupt);
	assert_int_equal(for_state__count(fs), 1);
	assert_non_null(strstr(err, "corrupt (1 bad lines, first: line 3: checksum mismatch), "
			       "1 records used, file moved to"));
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(stat(aside, &st), 0);
	for_state__free(fs);

	/* garbage, a torn last line, an empty file: never a crash */
	write_text(path, "\x00\xff garbage\n", 11);
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_non_null(fs);
	assert_true(corrupt);
	assert_int_equal(for_state__count(fs), 0);
	for_state__free(fs);
	write_text(path, text, len - 1);
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_non_null(fs);
	assert_true(corrupt);
	assert_non_null(strstr(err, "last line not terminated"));
	for_state__free(fs);
	write_text(path, "", 0);
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	assert_non_null(fs);
	assert_true(corrupt);
	for_state__free(fs);

	/* too many lines: refused before anything is sized by them */
	{
		size_t big = FOR_STATE_MAX_RECORDS + 2;
		char *nl = malloc(big);

		assert_non_null(nl);
		memset(nl, '\n', big);
		write_text(path, nl, big);
		free(nl);
		fs = for_state__load(path, &corrupt, err, sizeof(err));
		assert_null(fs);
		assert_int_equal(errno, EFBIG);
		assert_non_null(strstr(err, "more than 100000 records"));
		unlink(path);
	}

	/* saving over a state directory that vanished fails cleanly */
	unlink(aside);
	rmdir(dir);
	assert_int_equal(alertstate__save(path, &slow, 1, MIN, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
	free(text);
	alertstate__free(slow);
	rule_set__free(set);
}

static void test_fingerprint(void **state)
{
	static const struct label x[] = { { "a", "1" }, { "b", "2" } };
	static const struct label y[] = { { "b", "2" }, { "a", "1" } };
	static const struct label z[] = { { "a", "12" } };
	static const struct label w[] = { { "a", "1" }, { "2", "" } };

	(void)state;
	assert_int_equal(alert_labels__fingerprint(x, 2), alert_labels__fingerprint(y, 2));
	assert_int_not_equal(alert_labels__fingerprint(x, 2), alert_labels__fingerprint(z, 1));
	assert_int_not_equal(alert_labels__fingerprint(x, 2), alert_labels__fingerprint(w, 2));
	/* stable across runs and builds: FNV-1a of "a\xff1\xffb\xff2\xff" */
	assert_int_equal(alert_labels__fingerprint(x, 2), 0x1cc37fac8a64ae01ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_to_firing),
		cmocka_unit_test(test_for_zero_and_pending_gone),
		cmocka_unit_test(test_resolved_retention),
		cmocka_unit_test(test_keep_firing_for),
		cmocka_unit_test(test_limit_and_collisions),
		cmocka_unit_test(test_resend),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
