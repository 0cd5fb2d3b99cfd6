// SPDX-License-Identifier: GPL-2.0
/*
 * `promtool test rules` runner (see ruletest.h).
 *
 * A test file is read with libyaml's document API (positions for every
 * error, unknown fields refused as promtool's strict decoding does), then
 * each test group runs on its own in-memory database (promql_mem): the
 * input series are expanded and loaded, the rule files loaded with the
 * PromQL parser as expression checker, and the groups evaluated at every
 * multiple of evaluation_interval up to the largest eval_time with the
 * Prometheus 2.42 rule manager's semantics:
 *   - a recording rule's samples get __name__ and the rule's labels (an
 *     empty value removes a label); two samples with one label set, or
 *     more than the group's limit, are evaluation errors;
 *   - an alerting rule runs through the agent's own alert state machine
 *     (alertstate.h: pending, firing after `for`, keep_firing_for,
 *     resolved; ALERTS and ALERTS_FOR_STATE), so the conformance suite
 *     tests the code the daemon runs; promtool checks the firing alerts
 *     that are not resolved;
 *   - what a rule wrote at the previous evaluation and not at this one is
 *     marked stale, so queries stop seeing it at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "alertstate.h"
#include "config.h"
#include "expo.h"
#include "promql.h"
#include "promql_mem.h"
#include "rulefile.h"
#include "ruletest.h"

/* --- the parsed test file ------------------------------------------------- */

struct rt_in_series {
	struct rt_labels labels;
	struct rt_point *pts;
	size_t npts;
};

struct rt_alert_test {
	int64_t eval_ms;
	char *alertname;
	struct rt_alert *exp;
	size_t nexp;
};

struct rt_expr_test {
	char *expr;
	int64_t eval_ms;
	struct rt_sample *exp;
	size_t nexp;
};

struct rt_group {
	char *name;
	int64_t interval_ms;
	struct rt_labels ext;
	char *ext_url;
	struct rt_in_series *series;
	size_t nseries;
	struct rt_alert_test *at;
	size_t nat;
	struct rt_expr_test *et;
	size_t net;
};

struct rt_file {
	char **rule_files;
	size_t nrule_files;
	int64_t eval_ms;
	char **order;
	size_t norder;
	struct rt_group *tests;
	size_t ntests;
};

static void alert_free(struct rt_alert *a)
{
	rt_labels__free(&a->labels);
	rt_labels__free(&a->annotations);
}

static void group_free(struct rt_group *g)
{
	size_t i, j;

	free(g->name);
	rt_labels__free(&g->ext);
	free(g->ext_url);
	for (i = 0; i < g->nseries; i++) {
		rt_labels__free(&g->series[i].labels);
		free(g->series[i].pts);
	}
	free(g->series);
	for (i = 0; i < g->nat; i++) {
		free(g->at[i].alertname);
		for (j = 0; j < g->at[i].nexp; j++)
			alert_free(&g->at[i].exp[j]);
		free(g->at[i].exp);
	}
	free(g->at);
	for (i = 0; i < g->net; i++) {
		free(g->et[i].expr);
		for (j = 0; j < g->et[i].nexp; j++)
			rt_labels__free(&g->et[i].exp[j].labels);
		free(g->et[i].exp);
	}
	free(g->et);
}

static void file_free(struct rt_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nrule_files; i++)
		free(f->rule_files[i]);
	free(f->rule_files);
	for (i = 0; i < f->norder; i++)
		free(f->order[i]);
	free(f->order);
	for (i = 0; i < f->ntests; i++)
		group_free(&f->tests[i]);
	free(f->tests);
	free(f);
}

/* --- YAML walking ----------------------------------------------------------- */

struct yp {
	const char *name;
	yaml_document_t *doc;
	size_t points;		/* expanded values so far, for the file's budget */
	char *err;
	size_t errlen, errpos;
	unsigned int nerr;
	bool oom;
};

static void yerr(struct yp *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void yerr(struct yp *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int w;

	if (p->nerr++ >= RULETEST_MAX_ERRORS || !p->err || p->errpos + 1 >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		w = snprintf(p->err + p->errpos, p->errlen - p->errpos, "%s%s:%zu:%zu: %s",
			     p->errpos ? "\n" : "", p->name, n->start_mark.line + 1,
			     n->start_mark.column + 1, msg);
	else
		w = snprintf(p->err + p->errpos, p->errlen - p->errpos, "%s%s: %s",
			     p->errpos ? "\n" : "", p->name, msg);
	if (w > 0)
		p->errpos += (size_t)w < p->errlen - p->errpos ? (size_t)w
							       : p->errlen - p->errpos - 1;
}

static const yaml_node_t *node(struct yp *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* A scalar's text (NULL for other nodes, embedded NULs) */
static const char *text(const yaml_node_t *n)
{
	const char *s;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	return strlen(s) == n->data.scalar.length ? s : NULL;
}

static char *dup_text(struct yp *p, const yaml_node_t *n, const char *what)
{
	const char *s = text(n);
	char *c;

	if (!s) {
		yerr(p, n, "%s: expected a string", what);
		return NULL;
	}
	c = strdup(is_null(n) ? "" : s);
	if (!c)
		p->oom = true;
	return c;
}

static bool duration(struct yp *p, const yaml_node_t *n, const char *what, int64_t *ms)
{
	const char *s = text(n);
	uint64_t v;

	if (is_null(n)) {
		*ms = 0;
		return true;
	}
	if (s && !strcmp(s, "0")) {
		*ms = 0;
		return true;
	}
	if (!s || config__parse_duration(s, &v) || v > INT64_MAX / 4) {
		yerr(p, n, "%s: not a valid duration string: \"%s\"", what, s ? s : "");
		return false;
	}
	*ms = (int64_t)v;
	return true;
}

/* yaml.v2's float64 decoding of a plain scalar: numbers, .inf, .nan. */
static bool yaml_float(struct yp *p, const yaml_node_t *n, const char *what, double *v)
{
	const char *s = text(n), *q;
	char *end;

	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*s)
		goto bad;
	q = s + (*s == '+' || *s == '-');
	if (!strcmp(q, ".inf") || !strcmp(q, ".Inf") || !strcmp(q, ".INF")) {
		*v = *s == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (q == s && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))) {
		*v = NAN;
		return true;
	}
	if (!(*q >= '0' && *q <= '9') && *q != '.')
		goto bad;
	errno = 0;
	if ((q[0] == '0' && (q[1] == 'x' || q[1] == 'X')))
		*v = (double)strtoll(s, &end, 16);
	else
		*v = strtod(s, &end);
	if (*end || end == s)
		goto bad;
	return true;
bad:
	yerr(p, n, "%s: cannot unmarshal \"%s\" into float64", what, s ? s : "(not a scalar)");
	return false;
}

enum { K_MAX = 8 };

/* Map @n's values to @keys (NULL-terminated); unknown or repeated keys
 * are errors, as with promtool's strict decoding. */
static bool fields(struct yp *p, const yaml_node_t *n, const char *what,
		   const char *const *keys, const yaml_node_t **vals)
{
	const yaml_node_pair_t *pair;
	bool ok = true;
	size_t i;

	for (i = 0; keys[i]; i++)
		vals[i] = NULL;
	if (is_null(n))
		return true;
	if (n->type != YAML_MAPPING_NODE) {
		yerr(p, n, "%s: expected a mapping", what);
		return false;
	}
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node(p, pair->key), *v = node(p, pair->value);
		const char *ks = text(k);

		if (!ks) {
			yerr(p, k, "%s: expected a field name", what);
			ok = false;
			continue;
		}
		for (i = 0; keys[i]; i++)
			if (!strcmp(keys[i], ks))
				break;
		if (!keys[i]) {
			yerr(p, k, "field %s not found in %s", ks, what);
			ok = false;
		} else if (vals[i]) {
			yerr(p, k, "field %s already set in %s", ks, what);
			ok = false;
		} else {
			vals[i] = v;
		}
	}
	return ok;
}

/* Items of a sequence (null: none); false (error reported) otherwise. */
static bool seq(struct yp *p, const yaml_node_t *n, const char *what, size_t *count)
{
	if (is_null(n)) {
		*count = 0;
		return true;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		yerr(p, n, "%s: expected a list", what);
		return false;
	}
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (*count > RULETEST_MAX_ITEMS) {
		yerr(p, n, "%s: more than %d entries", what, RULETEST_MAX_ITEMS);
		return false;
	}
	return true;
}

static const yaml_node_t *item(struct yp *p, const yaml_node_t *n, size_t i)
{
	return node(p, n->data.sequence.items.start[i]);
}

/* A string -> string map (exp_labels, exp_annotations, external_labels),
 * sorted; an empty value drops the label as Prometheus' labels do...
 * except that promtool keeps them in exp_labels, so @keep_empty. */
static bool string_map(struct yp *p, const yaml_node_t *n, const char *what,
		       struct rt_labels *out, bool keep_empty)
{
	const yaml_node_pair_t *pair;
	size_t cnt, i, j;

	out->l = NULL;
	out->n = 0;
	if (is_null(n))
		return true;
	if (n->type != YAML_MAPPING_NODE) {
		yerr(p, n, "%s: expected a mapping of names to strings", what);
		return false;
	}
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt > RULETEST_MAX_ITEMS) {
		yerr(p, n, "%s: too many entries", what);
		return false;
	}
	out->l = calloc(cnt ? cnt : 1, sizeof(*out->l));
	if (!out->l) {
		p->oom = true;
		return false;
	}
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node(p, pair->key), *v = node(p, pair->value);
		const char *ks = text(k), *vs = text(v);

		if (!ks || !vs) {
			yerr(p, ks ? v : k, "%s: expected a string", what);
			rt_labels__free(out);
			return false;
		}
		if (is_null(v))
			vs = "";
		for (j = 0; j < out->n; j++)
			if (!strcmp(out->l[j].name, ks)) {
				yerr(p, k, "%s: %s given twice", what, ks);
				rt_labels__free(out);
				return false;
			}
		if (!*vs && !keep_empty)
			continue;
		i = out->n;
		out->l[i].name = strdup(ks);
		out->l[i].value = strdup(vs);
		out->n++;
		if (!out->l[i].name || !out->l[i].value) {
			p->oom = true;
			rt_labels__free(out);
			return false;
		}
	}
	for (i = 1; i < out->n; i++)
		for (j = i; j > 0 && strcmp(out->l[j - 1].name, out->l[j].name) > 0; j--) {
			struct promql_label t = out->l[j];

			out->l[j] = out->l[j - 1];
			out->l[j - 1] = t;
		}
	return true;
}

/* The column of byte @off of a one-line plain or quoted scalar without
 * escapes, for errors inside series and values strings. */
static const yaml_node_t *at_offset(const yaml_node_t *n, size_t off, yaml_node_t *tmp)
{
	size_t skip;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		skip = 0;
	else if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		 n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		skip = 1;
	else
		return n;
	if (n->start_mark.line != n->end_mark.line ||
	    n->end_mark.column - n->start_mark.column != n->data.scalar.length + 2 * skip)
		return n;
	*tmp = *n;
	tmp->start_mark.column += skip + off;
	return tmp;
}

static bool parse_series(struct yp *p, const yaml_node_t *n, struct rt_in_series *s)
{
	static const char *const keys[] = { "series", "values", NULL };
	const yaml_node_t *v[3], *at;
	yaml_node_t tmp;
	char msg[512];
	size_t off = 0;
	const char *str;
	int ret;

	if (!fields(p, n, "input_series", keys, v))
		return false;
	str = v[0] ? text(v[0]) : "";
	if (!str) {
		yerr(p, v[0], "series: expected a string");
		return false;
	}
	ret = ruletest__parse_metric(is_null(v[0]) ? "" : str, &s->labels, &off, msg, sizeof(msg));
	if (ret) {
		if (ret == -ENOMEM) {
			p->oom = true;
			return false;
		}
		at = v[0] ? at_offset(v[0], off, &tmp) : n;
		yerr(p, at, "%s", msg);
		return false;
	}
	if (!s->labels.n) {
		yerr(p, v[0] ? v[0] : n, "series: no metric name or labels");
		return false;
	}
	str = v[1] ? text(v[1]) : "";
	if (!str) {
		yerr(p, v[1], "values: expected a string");
		return false;
	}
	/* the whole file shares one budget: a few bytes of "1x999999" per
	 * line must not add up to gigabytes */
	if (p->points >= RULETEST_MAX_POINTS) {
		yerr(p, v[1] ? v[1] : n, "input series expand to more than %d values in the file",
		     RULETEST_MAX_POINTS);
		return false;
	}
	ret = ruletest__expand_values(is_null(v[1]) ? "" : str,
				      RULETEST_MAX_POINTS - p->points < RULETEST_MAX_VALUES ?
				      RULETEST_MAX_POINTS - p->points : RULETEST_MAX_VALUES,
				      &s->pts, &s->npts, &off, msg, sizeof(msg));
	if (!ret)
		p->points += s->npts;
	if (ret) {
		if (ret == -ENOMEM) {
			p->oom = true;
			return false;
		}
		at = v[1] ? at_offset(v[1], off, &tmp) : n;
		yerr(p, at, "%s", msg);
		return false;
	}
	return true;
}

static bool parse_alert_test(struct yp *p, const yaml_node_t *n, struct rt_alert_test *t)
{
	static const char *const keys[] = { "eval_time", "alertname", "exp_alerts", NULL };
	static const char *const akeys[] = { "exp_labels", "exp_annotations", NULL };
	const yaml_node_t *v[4], *av[3];
	bool ok = true;
	size_t cnt, i;

	if (!fields(p, n, "alert_rule_test", keys, v))
		return false;
	if (v[0] && !duration(p, v[0], "eval_time", &t->eval_ms))
		ok = false;
	if (v[1] && !(t->alertname = dup_text(p, v[1], "alertname")))
		return false;
	if (!t->alertname || !*t->alertname) {
		char d[32];

		ruletest__model_duration(t->eval_ms, d, sizeof(d));
		yerr(p, n, "an item under alert_rule_test misses required attribute "
		     "alertname at eval_time %s", d);
		return false;
	}
	if (!seq(p, v[2], "exp_alerts", &cnt))
		return false;
	t->exp = calloc(cnt ? cnt : 1, sizeof(*t->exp));
	if (!t->exp) {
		p->oom = true;
		return false;
	}
	for (i = 0; i < cnt; i++) {
		struct rt_alert *a = &t->exp[t->nexp];
		size_t j;

		if (!fields(p, item(p, v[2], i), "exp_alerts", akeys, av)) {
			ok = false;
			continue;
		}
		t->nexp++;
		if (!string_map(p, av[0], "exp_labels", &a->labels, true) ||
		    !string_map(p, av[1], "exp_annotations", &a->annotations, true)) {
			ok = false;
			continue;
		}
		/* promtool adds alertname to what the user expects */
		for (j = 0; j < a->labels.n && strcmp(a->labels.l[j].name, "alertname"); j++)
			;
		if (j == a->labels.n) {
			struct promql_label *nl = realloc(a->labels.l,
							  (a->labels.n + 1) * sizeof(*nl));

			if (!nl) {
				p->oom = true;
				return false;
			}
			a->labels.l = nl;
			nl[j].name = strdup("alertname");
			nl[j].value = NULL;
			a->labels.n++;
			if (!nl[j].name) {
				p->oom = true;
				return false;
			}
		} else {
			free(a->labels.l[j].value);
		}
		a->labels.l[j].value = strdup(t->alertname);
		if (!a->labels.l[j].value) {
			p->oom = true;
			return false;
		}
		for (j = a->labels.n - 1; j > 0 &&
		     strcmp(a->labels.l[j - 1].name, a->labels.l[j].name) > 0; j--) {
			struct promql_label tl = a->labels.l[j];

			a->labels.l[j] = a->labels.l[j - 1];
			a->labels.l[j - 1] = tl;
		}
	}
	return ok;
}

static bool parse_expr_test(struct yp *p, const yaml_node_t *n, struct rt_expr_test *t)
{
	static const char *const keys[] = { "expr", "eval_time", "exp_samples", NULL };
	static const char *const skeys[] = { "labels", "value", NULL };
	const yaml_node_t *v[4], *sv[3];
	bool ok = true;
	size_t cnt, i;

	if (!fields(p, n, "promql_expr_test", keys, v))
		return false;
	t->expr = v[0] ? dup_text(p, v[0], "expr") : strdup("");
	if (!t->expr) {
		p->oom |= !v[0];
		return false;
	}
	if (v[1] && !duration(p, v[1], "eval_time", &t->eval_ms))
		ok = false;
	if (!seq(p, v[2], "exp_samples", &cnt))
		return false;
	t->exp = calloc(cnt ? cnt : 1, sizeof(*t->exp));
	if (!t->exp) {
		p->oom = true;
		return false;
	}
	for (i = 0; i < cnt; i++) {
		struct rt_sample *s = &t->exp[t->nexp];
		const char *ls = "";
		char msg[512];
		size_t off = 0;
		yaml_node_t tmp;
		int ret;

		if (!fields(p, item(p, v[2], i), "exp_samples", skeys, sv)) {
			ok = false;
			continue;
		}
		if (sv[0] && !is_null(sv[0]) && !(ls = text(sv[0]))) {
			yerr(p, sv[0], "labels: expected a string");
			ok = false;
			continue;
		}
		ret = ruletest__parse_metric(ls, &s->labels, &off, msg, sizeof(msg));
		if (ret == -ENOMEM) {
			p->oom = true;
			return false;
		}
		if (ret) {
			yerr(p, at_offset(sv[0], off, &tmp), "%s", msg);
			ok = false;
			continue;
		}
		t->nexp++;
		s->v = 0;
		if (sv[1] && !is_null(sv[1]) && !yaml_float(p, sv[1], "value", &s->v))
			ok = false;
	}
	return ok;
}

static bool parse_group(struct yp *p, const yaml_node_t *n, struct rt_group *g)
{
	static const char *const keys[] = {
		"interval", "input_series", "alert_rule_test", "promql_expr_test",
		"external_labels", "external_url", "name", NULL,
	};
	const yaml_node_t *v[8];
	bool ok = true;
	size_t cnt, i;

	if (!fields(p, n, "tests", keys, v))
		return false;
	if (v[0] && !duration(p, v[0], "interval", &g->interval_ms))
		ok = false;
	if (v[4] && !string_map(p, v[4], "external_labels", &g->ext, false))
		ok = false;
	if (v[5] && !is_null(v[5]) && !(g->ext_url = dup_text(p, v[5], "external_url")))
		ok = false;
	if (v[6] && !is_null(v[6]) && !(g->name = dup_text(p, v[6], "name")))
		ok = false;
	if (seq(p, v[1], "input_series", &cnt)) {
		g->series = calloc(cnt ? cnt : 1, sizeof(*g->series));
		if (!g->series) {
			p->oom = true;
			return false;
		}
		for (i = 0; i < cnt; i++, g->nseries++)
			if (!parse_series(p, item(p, v[1], i), &g->series[i]))
				ok = false;
	} else {
		ok = false;
	}
	if (seq(p, v[2], "alert_rule_test", &cnt)) {
		g->at = calloc(cnt ? cnt : 1, sizeof(*g->at));
		if (!g->at) {
			p->oom = true;
			return false;
		}
		for (i = 0; i < cnt; i++, g->nat++)
			if (!parse_alert_test(p, item(p, v[2], i), &g->at[i]))
				ok = false;
	} else {
		ok = false;
	}
	if (seq(p, v[3], "promql_expr_test", &cnt)) {
		g->et = calloc(cnt ? cnt : 1, sizeof(*g->et));
		if (!g->et) {
			p->oom = true;
			return false;
		}
		for (i = 0; i < cnt; i++, g->net++)
			if (!parse_expr_test(p, item(p, v[3], i), &g->et[i]))
				ok = false;
	} else {
		ok = false;
	}
	return ok;
}

static bool string_list(struct yp *p, const yaml_node_t *n, const char *what,
			char ***out, size_t *nout)
{
	size_t cnt, i;

	if (!seq(p, n, what, &cnt))
		return false;
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out) {
		p->oom = true;
		return false;
	}
	for (i = 0; i < cnt; i++) {
		(*out)[i] = dup_text(p, item(p, n, i), what);
		if (!(*out)[i])
			return false;
		(*nout)++;
	}
	return true;
}

static struct rt_file *parse_file(struct yp *p, const char *txt, size_t len)
{
	static const char *const keys[] = {
		"rule_files", "evaluation_interval", "group_eval_order", "tests", NULL,
	};
	const yaml_node_t *root, *v[5];
	yaml_parser_t parser;
	yaml_document_t doc;
	struct rt_file *f;
	size_t cnt, i, j;

	f = calloc(1, sizeof(*f));
	if (!f) {
		p->oom = true;
		return NULL;
	}
	f->eval_ms = 60000;
	if (!yaml_parser_initialize(&parser)) {
		p->oom = true;
		free(f);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)txt, len);
	if (!yaml_parser_load(&parser, &doc)) {
		p->nerr++;
		if (p->err)
			snprintf(p->err, p->errlen, "%s:%zu:%zu: yaml: %s%s%s", p->name,
				 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				 parser.context ? parser.context : "",
				 parser.context ? ": " : "",
				 parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		free(f);
		return NULL;
	}
	yaml_parser_delete(&parser);
	p->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		goto out;	/* an empty file: nothing to test */
	if (!fields(p, root, "the test file", keys, v))
		goto out;
	if (v[0])
		string_list(p, v[0], "rule_files", &f->rule_files, &f->nrule_files);
	if (v[1] && !is_null(v[1])) {
		if (duration(p, v[1], "evaluation_interval", &f->eval_ms) && !f->eval_ms)
			f->eval_ms = 60000;
	}
	if (v[2]) {
		string_list(p, v[2], "group_eval_order", &f->order, &f->norder);
		for (i = 0; i < f->norder; i++)
			for (j = 0; j < i; j++)
				if (!strcmp(f->order[i], f->order[j])) {
					yerr(p, v[2], "group name repeated in evaluation order: %s",
					     f->order[i]);
					i = f->norder;
					break;
				}
	}
	if (v[3] && seq(p, v[3], "tests", &cnt)) {
		f->tests = calloc(cnt ? cnt : 1, sizeof(*f->tests));
		if (!f->tests) {
			p->oom = true;
			goto out;
		}
		for (i = 0; i < cnt; i++, f->ntests++)
			parse_group(p, item(p, v[3], i), &f->tests[i]);
	}
out:
	yaml_document_delete(&doc);
	p->doc = NULL;
	if (p->oom || p->nerr) {
		file_free(f);
		return NULL;
	}
	return f;
}

int ruletest__check_text(const char *name, const char *txt, size_t len, char *err,
			 size_t errlen)
{
	struct yp p = { .name = name, .err = err, .errlen = errlen };
	struct rt_file *f;

	if (err && errlen)
		err[0] = '\0';
	if (len > RULETEST_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %d bytes", name, RULETEST_MAX_FILE_SIZE);
		return -EFBIG;
	}
	f = parse_file(&p, txt, len);
	if (f) {
		file_free(f);
		return 0;
	}
	return p.oom ? -ENOMEM : -EINVAL;
}

/* --- running ---------------------------------------------------------------- */

/* An error line of the test group, in promtool's wording. */
struct errs {
	char **s;
	size_t n, cap;
	bool oom;
};

static void errs_add(struct errs *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		e->oom = true;
		return;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		char **ns = realloc(e->s, cap * sizeof(*ns));

		if (!ns) {
			free(s);
			e->oom = true;
			return;
		}
		e->s = ns;
		e->cap = cap;
	}
	e->s[e->n++] = s;
}

struct rstate {
	struct rule *rule;
	const struct rule_group *group;
	struct promql_node *expr;
	struct rt_labels *prev;		/* series written at the last evaluation */
	size_t nprev;
	struct alertstate *as;		/* alerting rules */
};

struct runner {
	const struct rt_file *file;
	const struct rt_group *tg;
	struct promql_mem *db;
	struct promql_storage st;
	struct promql_opts opts;
	struct rstate *rs;
	size_t nrs;
	struct label *ext;
	size_t next;
	struct errs *errs;
	size_t *cursor;		/* next point of each input series; SIZE_MAX: replaced */
};

static void rstate_free(struct rstate *r)
{
	size_t i;

	promql_free(r->expr);
	for (i = 0; i < r->nprev; i++)
		rt_labels__free(&r->prev[i]);
	free(r->prev);
	alertstate__free(r->as);
}

/* Builder over a sorted label set: set (empty value deletes), take. */
static int lset(struct rt_labels *ls, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < ls->n && strcmp(ls->l[i].name, name) < 0; i++)
		;
	if (i < ls->n && !strcmp(ls->l[i].name, name)) {
		if (!*value) {
			free(ls->l[i].name);
			free(ls->l[i].value);
			memmove(ls->l + i, ls->l + i + 1, (ls->n - i - 1) * sizeof(*ls->l));
			ls->n--;
			return 0;
		}
		char *v = strdup(value);

		if (!v)
			return -ENOMEM;
		free(ls->l[i].value);
		ls->l[i].value = v;
		return 0;
	}
	if (!*value)
		return 0;
	{
		struct promql_label *nl = realloc(ls->l, (ls->n + 1) * sizeof(*nl));
		char *n, *v;

		if (!nl)
			return -ENOMEM;
		ls->l = nl;
		n = strdup(name);
		v = strdup(value);
		if (!n || !v) {
			free(n);
			free(v);
			return -ENOMEM;
		}
		memmove(ls->l + i + 1, ls->l + i, (ls->n - i) * sizeof(*ls->l));
		ls->l[i].name = n;
		ls->l[i].value = v;
		ls->n++;
	}
	return 0;
}

static int lcopy(struct rt_labels *dst, const struct promql_label *l, size_t n)
{
	size_t i;

	dst->n = 0;
	dst->l = calloc(n ? n : 1, sizeof(*dst->l));
	if (!dst->l)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		dst->l[i].name = strdup(l[i].name);
		dst->l[i].value = strdup(l[i].value);
		dst->n++;
		if (!dst->l[i].name || !dst->l[i].value) {
			rt_labels__free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

static int lcopy_label(struct rt_labels *dst, const struct label *l, size_t n)
{
	size_t i;

	dst->n = 0;
	dst->l = calloc(n ? n : 1, sizeof(*dst->l));
	if (!dst->l)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		dst->l[i].name = strdup(l[i].name);
		dst->l[i].value = strdup(l[i].value);
		dst->n++;
		if (!dst->l[i].name || !dst->l[i].value) {
			rt_labels__free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The samples a rule wrote this evaluation. */
struct outvec {
	struct rt_labels *ls;
	double *v;
	size_t n, cap;
};

static void outvec_free(struct outvec *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		rt_labels__free(&o->ls[i]);
	free(o->ls);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* Takes @ls. */
static int outvec_add(struct outvec *o, struct rt_labels *ls, double v)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct rt_labels *nl = realloc(o->ls, cap * sizeof(*nl));
		double *nv;

		if (!nl)
			goto oom;
		o->ls = nl;
		nv = realloc(o->v, cap * sizeof(*nv));
		if (!nv)
			goto oom;
		o->v = nv;
		o->cap = cap;
	}
	o->ls[o->n] = *ls;
	o->v[o->n] = v;
	o->n++;
	ls->l = NULL;
	ls->n = 0;
	return 0;
oom:
	rt_labels__free(ls);
	return -ENOMEM;
}

static bool outvec_dup(const struct outvec *o)
{
	size_t i, j;

	for (i = 0; i < o->n; i++)
		for (j = 0; j < i; j++)
			if (!rt_labels__cmp(&o->ls[i], &o->ls[j]))
				return true;
	return false;
}

/* Evaluate @expr at @t as promtool's query(): a vector, or a scalar as
 * one sample without labels. */
static int query(struct runner *rn, const struct promql_node *expr, int64_t t,
		 struct outvec *out, char *err, size_t errlen)
{
	struct promql_result res = { 0 };
	struct promql_error pe;
	size_t i;
	int ret;

	ret = promql_eval_instant(expr, &rn->st, t, &rn->opts, &res, &pe);
	if (ret) {
		if (ret == -ENOMEM)
			return ret;
		promql_error_str(&pe, err, errlen);
		return -EINVAL;
	}
	if (res.type == PROMQL_SCALAR) {
		struct rt_labels none = { .l = NULL, .n = 0 };

		ret = outvec_add(out, &none, res.scalar);
	} else if (res.type == PROMQL_VECTOR) {
		for (i = 0; i < res.n && !ret; i++) {
			struct rt_labels ls;

			ret = lcopy(&ls, res.elems[i].labels, res.elems[i].nlabels);
			if (!ret)
				ret = outvec_add(out, &ls, res.elems[i].v);
		}
	} else {
		snprintf(err, errlen, "rule result is not a vector or scalar");
		ret = -EINVAL;
	}
	promql_result_free(&res);
	return ret;
}

static int append(struct runner *rn, const struct rt_labels *ls, int64_t t, double v)
{
	int ret = promql_mem__add(rn->db, ls->l, ls->n, t, v);

	return ret == -ENOSPC ? -E2BIG : ret;
}

/*
 * An alerting rule at @ts through the agent's own state machine
 * (alertstate.h): the query result in, ALERTS and ALERTS_FOR_STATE out.
 */
static int eval_alerting(struct runner *rn, struct rstate *rs, int64_t ts,
			 struct outvec *res, struct outvec *out, char *err, size_t errlen)
{
	struct alert_series_vec series = { 0 };
	struct alert_input *in;
	struct label *lab = NULL;
	struct alert_env env = {
		.ext_labels = rn->ext,
		.next_labels = rn->next,
		.external_url = rn->tg->ext_url,
	};
	size_t i, j, total = 0, k = 0;
	int ret;

	in = calloc(res->n ? res->n : 1, sizeof(*in));
	for (i = 0; i < res->n; i++)
		total += res->ls[i].n;
	lab = calloc(total ? total : 1, sizeof(*lab));
	if (!in || !lab) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < res->n; i++) {
		in[i].labels = lab + k;
		in[i].nlabels = res->ls[i].n;
		in[i].value = res->v[i];
		for (j = 0; j < res->ls[i].n; j++, k++) {
			lab[k].name = res->ls[i].l[j].name;
			lab[k].value = res->ls[i].l[j].value;
		}
	}
	ret = alertstate__eval(rs->as, ts, in, res->n, &env, &series, err, errlen);
	for (i = 0; !ret && i < series.n; i++) {
		struct rt_labels ls = { 0 };

		ret = lcopy_label(&ls, series.v[i].labels, series.v[i].nlabels);
		if (!ret)
			ret = outvec_add(out, &ls, series.v[i].value);
	}
out:
	alert_series_vec__free(&series);
	free(lab);
	free(in);
	return ret;
}

/* One rule at @ts: query, build what it writes, append it and mark what
 * disappeared stale.  -EINVAL with the message in @err is a rule error. */
static int eval_rule(struct runner *rn, struct rstate *rs, uint32_t limit, int64_t ts,
		     char *err, size_t errlen)
{
	const struct rule *r = rs->rule;
	struct outvec res = { 0 }, out = { 0 };
	size_t i, j;
	int ret;

	ret = query(rn, rs->expr, ts, &res, err, errlen);
	if (ret)
		goto out;
	if (r->type == RULE_RECORDING) {
		for (i = 0; i < res.n && !ret; i++) {
			ret = lset(&res.ls[i], "__name__", r->name);
			/* group labels (newer Prometheus), then the rule's */
			for (j = 0; !ret && j < rs->group->nlabels; j++)
				ret = lset(&res.ls[i], rs->group->labels[j].name,
					   rs->group->labels[j].value);
			for (j = 0; !ret && j < r->nlabels; j++)
				ret = lset(&res.ls[i], r->labels[j].name, r->labels[j].value);
		}
		if (ret)
			goto out;
		if (outvec_dup(&res)) {
			snprintf(err, errlen, "vector contains metrics with the same labelset after applying rule labels");
			ret = -EINVAL;
			goto out;
		}
		if (limit && res.n > limit) {
			snprintf(err, errlen, "exceeded limit of %u with %zu series", limit, res.n);
			ret = -EINVAL;
			goto out;
		}
		out = res;
		memset(&res, 0, sizeof(res));
	} else {
		/* the group's limit is alertstate's to enforce */
		ret = eval_alerting(rn, rs, ts, &res, &out, err, errlen);
		if (ret)
			goto out;
	}
	for (i = 0; i < out.n; i++) {
		ret = append(rn, &out.ls[i], ts, out.v[i]);
		if (ret)
			goto out;
	}
	for (i = 0; i < rs->nprev; i++) {
		for (j = 0; j < out.n; j++)
			if (!rt_labels__cmp(&rs->prev[i], &out.ls[j]))
				break;
		if (j == out.n) {
			ret = append(rn, &rs->prev[i], ts, promql_stale_nan());
			if (ret)
				goto out;
		}
	}
	for (i = 0; i < rs->nprev; i++)
		rt_labels__free(&rs->prev[i]);
	free(rs->prev);
	rs->prev = out.ls;
	rs->nprev = out.n;
	free(out.v);
	memset(&out, 0, sizeof(out));
out:
	if (ret == -E2BIG)
		snprintf(err, errlen, "the test database is full (%s)", "series or sample limit");
	outvec_free(&res);
	outvec_free(&out);
	return ret == -E2BIG ? -EINVAL : ret;
}

static int check_expr(void *ctx, const char *expr, char *msg, size_t msglen, size_t *off)
{
	struct promql_error pe;
	struct promql_node *n;

	(void)ctx;
	n = promql_parse(expr, &pe);
	if (n) {
		promql_free(n);
		return 0;
	}
	snprintf(msg, msglen, "%s", pe.msg);
	*off = pe.offset > 0 ? (size_t)pe.offset : 0;
	return -1;
}

int ruletest__rulefile_check(void *ctx, const char *expr, char *msg, size_t msglen,
			     size_t *off)
{
	return check_expr(ctx, expr, msg, msglen, off);
}

static void print_lines(struct errs *e, const char *text)
{
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		errs_add(e, "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
		p = nl ? nl + 1 : NULL;
	}
}

static int group_order(const struct rt_file *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->norder; i++)
		if (!strcmp(f->order[i], name))
			return (int)i;
	return 0;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct promql_label *)a)->name,
		      ((const struct promql_label *)b)->name);
}

/* Annotations in name order, as Prometheus' labels.Labels hold them. */
static void sort_labels(struct rt_labels *ls)
{
	if (ls->n > 1)
		qsort(ls->l, ls->n, sizeof(*ls->l), label_cmp);
}

static int alert_time_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Firing alerts of every rule named @name, as promtool collects them. */
static int collect_firing(struct runner *rn, const char *name, struct rt_alert **out,
			  size_t *nout)
{
	size_t i, j, n = 0, cap = 0;
	struct rt_alert *a = NULL;

	for (i = 0; i < rn->nrs; i++) {
		struct rstate *rs = &rn->rs[i];

		if (rs->rule->type != RULE_ALERTING || strcmp(rs->rule->name, name))
			continue;
		for (j = 0; j < alertstate__count(rs->as); j++) {
			struct alert_view al;

			/* promtool: ActiveAlerts() (not resolved) that are firing */
			alertstate__get(rs->as, j, &al);
			if (al.resolved_at_ms != ALERT_TIME_UNSET || al.state != ALERT_FIRING)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct rt_alert *na = realloc(a, ncap * sizeof(*na));

				if (!na)
					goto oom;
				a = na;
				cap = ncap;
			}
			memset(&a[n], 0, sizeof(a[n]));
			n++;
			if (lcopy_label(&a[n - 1].labels, al.labels, al.nlabels) ||
			    lcopy_label(&a[n - 1].annotations, al.annotations, al.nannotations))
				goto oom;
			sort_labels(&a[n - 1].annotations);
		}
	}
	*out = a;
	*nout = n;
	return 0;
oom:
	for (i = 0; i < n; i++)
		alert_free(&a[i]);
	free(a);
	return -ENOMEM;
}

static int check_alerts(struct runner *rn, int64_t t)
{
	const struct rt_group *tg = rn->tg;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < tg->nat; i++) {
		const struct rt_alert_test *at = &tg->at[i];
		struct rt_alert *got = NULL, *exp = NULL;
		size_t ngot = 0;

		if (at->eval_ms != t)
			continue;
		ret = collect_firing(rn, at->alertname, &got, &ngot);
		if (ret)
			return ret;
		/* compare on copies: the sort must not reorder the test */
		exp = calloc(at->nexp ? at->nexp : 1, sizeof(*exp));
		if (!exp) {
			ret = -ENOMEM;
		} else {
			memcpy(exp, at->exp, at->nexp * sizeof(*exp));
			if (!ruletest__alerts_equal(exp, at->nexp, got, ngot)) {
				char *es = ruletest__alerts_str(exp, at->nexp, "            ");
				char *gs = ruletest__alerts_str(got, ngot, "            ");
				char d[32];

				ruletest__model_duration(at->eval_ms, d, sizeof(d));
				if (!es || !gs)
					ret = -ENOMEM;
				else
					errs_add(rn->errs, "%s%s%s    alertname: %s, time: %s, \n"
						 "        exp:%s, \n        got:%s",
						 tg->name ? "    name: " : "", tg->name ? tg->name : "",
						 tg->name ? ",\n" : "", at->alertname, d, es, gs);
				free(es);
				free(gs);
			}
		}
		free(exp);
		for (k = 0; k < ngot; k++)
			alert_free(&got[k]);
		free(got);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_exprs(struct runner *rn)
{
	const struct rt_group *tg = rn->tg;
	char *qe = NULL;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < tg->net && !ret; i++) {
		const struct rt_expr_test *et = &tg->et[i];
		struct outvec got = { 0 };
		struct promql_error pe;
		struct promql_node *n;
		struct rt_sample *gs = NULL, *es = NULL;
		char err[1024], d[32];

		ruletest__model_duration(et->eval_ms, d, sizeof(d));
		free(qe);
		qe = ruletest__quote(et->expr);
		if (!qe)
			return -ENOMEM;
		n = promql_parse(et->expr, &pe);
		if (!n) {
			if (errno == ENOMEM) {
				ret = -ENOMEM;
				break;
			}
			errs_add(rn->errs, "    expr: %s, time: %s, err: %s", qe, d,
				 promql_error_str(&pe, err, sizeof(err)));
			continue;
		}
		ret = query(rn, n, et->eval_ms, &got, err, sizeof(err));
		promql_free(n);
		if (ret == -EINVAL) {
			errs_add(rn->errs, "    expr: %s, time: %s, err: %s", qe, d, err);
			outvec_free(&got);
			ret = 0;
			continue;
		}
		if (ret)
			break;
		gs = calloc(got.n ? got.n : 1, sizeof(*gs));
		es = calloc(et->nexp ? et->nexp : 1, sizeof(*es));
		if (!gs || !es) {
			ret = -ENOMEM;
		} else {
			for (k = 0; k < got.n; k++) {
				gs[k].labels = got.ls[k];
				gs[k].v = got.v[k];
			}
			memcpy(es, et->exp, et->nexp * sizeof(*es));
			if (!ruletest__samples_equal(es, et->nexp, gs, got.n)) {
				char *xs = ruletest__samples_str(es, et->nexp);
				char *ys = ruletest__samples_str(gs, got.n);

				if (!xs || !ys)
					ret = -ENOMEM;
				else
					errs_add(rn->errs, "    expr: %s, time: %s,\n"
						 "        exp: %s\n        got: %s", qe, d, xs, ys);
				free(xs);
				free(ys);
			}
			/* the labels still belong to @got */
		}
		free(gs);
		free(es);
		outvec_free(&got);
	}
	free(qe);
	return ret;
}

static int rs_order_cmp(const void *a, const void *b, void *ctx)
{
	const struct rt_file *f = ctx;
	const struct rstate *x = a, *y = b;

	return group_order(f, x->group->name) - group_order(f, y->group->name);
}

/* Stable insertion sort of rule states by group order (file order among
 * equals; rules keep their order within a group). */
static void sort_rules(struct runner *rn)
{
	size_t i, j;

	for (i = 1; i < rn->nrs; i++)
		for (j = i; j > 0 && rs_order_cmp(&rn->rs[j - 1], &rn->rs[j], (void *)rn->file) > 0; j--) {
			struct rstate t = rn->rs[j];

			rn->rs[j] = rn->rs[j - 1];
			rn->rs[j - 1] = t;
		}
}

/*
 * Append the input samples up to @ts, as promtool's lazy loader does
 * before each evaluation: queries never see input samples past the last
 * evaluation (not even a promql_expr_test between two evaluations, nor a
 * negative offset).  A timestamp keeps its first sample (interval 0).
 * 0, 1 (a failure was reported) or -ENOMEM.
 */
static int load_until(struct runner *rn, int64_t ts)
{
	const struct rt_group *tg = rn->tg;
	size_t i;
	int ret;

	for (i = 0; i < tg->nseries; i++) {
		const struct rt_in_series *s = &tg->series[i];
		int64_t prev = INT64_MIN;

		if (rn->cursor[i] == SIZE_MAX)
			continue;
		if (rn->cursor[i] > 0)
			prev = s->pts[rn->cursor[i] - 1].idx * tg->interval_ms;
		for (; rn->cursor[i] < s->npts; rn->cursor[i]++) {
			int64_t t;

			if (__builtin_mul_overflow(s->pts[rn->cursor[i]].idx, tg->interval_ms, &t)) {
				errs_add(rn->errs, "    input series: sample %" PRId64
					 " lies past the end of time", s->pts[rn->cursor[i]].idx);
				return 1;
			}
			if (t > ts)
				break;
			if (t == prev)
				continue;
			prev = t;
			ret = promql_mem__add(rn->db, s->labels.l, s->labels.n, t,
					      s->pts[rn->cursor[i]].v);
			if (ret == -ENOSPC) {
				char *ls = rt_labels__str(&s->labels);

				errs_add(rn->errs, "    series %s: more than %d samples in the test",
					 ls ? ls : "?", RULETEST_MAX_POINTS);
				free(ls);
				return 1;
			}
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* One test group; failures appended to @e.  0 or -ENOMEM. */
static int run_group(const struct rt_file *f, const struct rt_group *tg, char **rule_files,
		     size_t nrule_files, struct errs *e)
{
	struct runner rn = { .file = f, .tg = tg, .errs = e };
	struct rule_set *set = NULL;
	int64_t maxt = 0, *times = NULL, ts;
	size_t i, j, ntimes = 0, curr = 0;
	char *lerr = NULL;
	int ret = 0;

	rn.db = promql_mem__new(0, RULETEST_MAX_POINTS);
	if (!rn.db)
		return -ENOMEM;
	promql_mem__storage(rn.db, &rn.st);
	rn.opts.lookback_ms = PROMQL_DEFAULT_LOOKBACK_MS;
	rn.opts.default_step_ms = f->eval_ms;
	/* promtool's test engine refuses queries that load more samples */
	rn.opts.max_samples = RULETEST_QUERY_MAX_SAMPLES;
	rn.next = tg->ext.n;
	rn.ext = calloc(tg->ext.n ? tg->ext.n : 1, sizeof(*rn.ext));
	if (!rn.ext) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tg->ext.n; i++) {
		rn.ext[i].name = tg->ext.l[i].name;
		rn.ext[i].value = tg->ext.l[i].value;
	}
	/* input series: a later line for the same series replaces an earlier
	 * one; loaded as the evaluation advances (load_until) */
	rn.cursor = calloc(tg->nseries ? tg->nseries : 1, sizeof(*rn.cursor));
	if (!rn.cursor) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tg->nseries; i++) {
		for (j = i + 1; j < tg->nseries; j++)
			if (!rt_labels__cmp(&tg->series[i].labels, &tg->series[j].labels))
				break;
		rn.cursor[i] = j < tg->nseries ? SIZE_MAX : 0;
	}
	/* rule files */
	if (nrule_files) {
		size_t errlen = 64 * 1024;

		lerr = calloc(1, errlen);
		if (!lerr) {
			ret = -ENOMEM;
			goto out;
		}
		set = rulefile__load((const char *const *)rule_files, nrule_files, check_expr,
				     NULL, lerr, errlen);
		if (!set) {
			if (errno == ENOMEM) {
				ret = -ENOMEM;
				goto out;
			}
			print_lines(e, lerr);
			goto out;
		}
		rn.rs = calloc(set->nrules ? set->nrules : 1, sizeof(*rn.rs));
		if (!rn.rs) {
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < set->ngroups; i++)
			for (j = 0; j < set->groups[i].nrules; j++) {
				struct rstate *rs = &rn.rs[rn.nrs];
				struct promql_error pe;

				rs->rule = &set->groups[i].rules[j];
				rs->group = &set->groups[i];
				rs->expr = promql_parse(rs->rule->expr, &pe);
				if (!rs->expr) {
					ret = -ENOMEM;	/* it parsed at load time */
					goto out;
				}
				rn.nrs++;
				if (rs->rule->type == RULE_ALERTING) {
					char *key;

					if (asprintf(&key, "%s;%s", set->groups[i].file,
						     set->groups[i].name) < 0) {
						ret = -ENOMEM;
						goto out;
					}
					rs->as = alertstate__new(key, &set->groups[i], rs->rule);
					free(key);
					if (!rs->as) {
						ret = -ENOMEM;
						goto out;
					}
				}
			}
		sort_rules(&rn);
	}
	/* alert test times, sorted and unique */
	times = calloc(tg->nat ? tg->nat : 1, sizeof(*times));
	if (!times) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tg->nat; i++) {
		for (j = 0; j < ntimes && times[j] != tg->at[i].eval_ms; j++)
			;
		if (j == ntimes)
			times[ntimes++] = tg->at[i].eval_ms;
		if (tg->at[i].eval_ms > maxt)
			maxt = tg->at[i].eval_ms;
	}
	qsort(times, ntimes, sizeof(*times), alert_time_cmp);
	for (i = 0; i < tg->net; i++)
		if (tg->et[i].eval_ms > maxt)
			maxt = tg->et[i].eval_ms;
	if (maxt / f->eval_ms > RULETEST_MAX_EVALS) {
		errs_add(e, "    more than %d evaluations up to the largest eval_time",
			 RULETEST_MAX_EVALS);
		goto out;
	}
	for (ts = 0; ts <= maxt; ts += f->eval_ms) {
		bool failed = false;
		size_t g;

		ret = load_until(&rn, ts);
		if (ret) {
			ret = ret == 1 ? 0 : ret;
			goto out;
		}

		/* groups in order: every rule of a group, then the next group */
		for (g = 0; g < rn.nrs; g++) {
			struct rstate *rs = &rn.rs[g];
			char err[1024], d[32];

			ret = eval_rule(&rn, rs, rs->group->limit, ts, err, sizeof(err));
			if (ret == -EINVAL) {
				ruletest__go_duration(ts, d, sizeof(d));
				errs_add(e, "    rule: %s, time: %s, err: %s", rs->rule->name, d, err);
				failed = true;
				ret = 0;
			}
			if (ret)
				goto out;
		}
		if (failed)
			goto out;
		while (curr < ntimes && ts <= times[curr] && times[curr] < ts + f->eval_ms) {
			ret = check_alerts(&rn, times[curr]);
			if (ret)
				goto out;
			curr++;
		}
	}
	ret = check_exprs(&rn);
out:
	if (rn.rs) {
		for (i = 0; i < rn.nrs; i++)
			rstate_free(&rn.rs[i]);
		free(rn.rs);
	}
	rule_set__free(set);
	free(lerr);
	free(times);
	free(rn.ext);
	free(rn.cursor);
	promql_mem__free(rn.db);
	return ret;
}

static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t r;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size > RULETEST_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, RULETEST_MAX_FILE_SIZE);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* rule_files joined to the test file's directory, then globbed. */
static int resolve_rule_files(const char *path, const struct rt_file *f, char ***out,
			      size_t *nout, FILE *errout)
{
	char *copy = strdup(path), *dir;
	size_t i, k, n = 0, cap = 0;
	char **list = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	for (i = 0; i < f->nrule_files && !ret; i++) {
		char *pat;
		glob_t g;
		int gr;

		if (!f->rule_files[i][0])
			continue;
		if (f->rule_files[i][0] == '/')
			pat = strdup(f->rule_files[i]);
		else if (asprintf(&pat, "%s/%s", dir, f->rule_files[i]) < 0)
			pat = NULL;
		if (!pat) {
			ret = -ENOMEM;
			break;
		}
		gr = glob(pat, 0, NULL, &g);
		if (gr == GLOB_NOMATCH || (gr == 0 && !g.gl_pathc)) {
			fprintf(errout, "  WARNING: no file match pattern %s\n", pat);
		} else if (gr) {
			ret = -ENOMEM;
		} else {
			for (k = 0; k < g.gl_pathc && !ret; k++) {
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 8;
					char **nl = realloc(list, ncap * sizeof(*nl));

					if (!nl) {
						ret = -ENOMEM;
						break;
					}
					list = nl;
					cap = ncap;
				}
				list[n] = strdup(g.gl_pathv[k]);
				if (!list[n])
					ret = -ENOMEM;
				else
					n++;
			}
		}
		if (!gr)
			globfree(&g);
		free(pat);
	}
	free(copy);
	if (ret) {
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return ret;
	}
	*out = list;
	*nout = n;
	return 0;
}

int ruletest__run_file(const char *path, FILE *out, FILE *errout)
{
	struct errs e = { 0 };
	struct rt_file *f = NULL;
	char **rf = NULL;
	size_t nrf = 0, len = 0, i;
	char *txt, *err;
	int ret = 0;

	fprintf(out, "Unit Testing:  %s\n", path);
	fflush(out);
	err = calloc(1, 64 * 1024);
	if (!err)
		return -ENOMEM;
	txt = read_all(path, &len, err, 64 * 1024);
	if (txt) {
		struct yp p = { .name = path, .err = err, .errlen = 64 * 1024 };

		f = parse_file(&p, txt, len);
		if (!f && p.oom)
			ret = -ENOMEM;
		free(txt);
	}
	if (!f) {
		if (!ret)
			print_lines(&e, err);
	} else {
		ret = resolve_rule_files(path, f, &rf, &nrf, errout);
		for (i = 0; !ret && i < f->ntests; i++)
			ret = run_group(f, &f->tests[i], rf, nrf, &e);
	}
	free(err);
	if (!ret && e.oom)
		ret = -ENOMEM;
	if (!ret) {
		if (e.n) {
			fflush(out);
			fprintf(errout, "  FAILED:\n");
			for (i = 0; i < e.n; i++) {
				fprintf(errout, "%s\n", e.s[i]);
				fflush(errout);
				fprintf(out, "\n");
				fflush(out);
			}
			ret = 1;
		} else {
			fprintf(out, "  SUCCESS\n");
		}
		fprintf(out, "\n");
	}
	for (i = 0; i < e.n; i++)
		free(e.s[i]);
	free(e.s);
	for (i = 0; i < nrf; i++)
		free(rf[i]);
	free(rf);
	file_free(f);
	return ret;
}
