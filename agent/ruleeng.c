// SPDX-License-Identifier: GPL-2.0
/*
 * Rule engine (see ruleeng.h).
 *
 * A loaded set is a struct ruleset: the parsed files (rulefile.h), one
 * PromQL AST per rule, and the runtime state of groups and rules.  Reload
 * builds a new set beside the old one and swaps them only when the new
 * one loaded cleanly.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "alertstate.h"
#include "log.h"
#include "promql.h"
#include "rulefile.h"
#include "ruleeng.h"
#include "storequery.h"

#define ERR_LEN		512

enum health {
	HEALTH_UNKNOWN = 0,
	HEALTH_OK,
	HEALTH_ERR,
};

static const char *const health_names[] = { "unknown", "ok", "err" };

/* One output series of a rule: family name, then label names and values,
 * all NUL-terminated, back to back (compared as bytes). */
struct outkey {
	size_t len;
	char data[];
};

struct outset {
	struct outkey **v;
	size_t n, cap;
};

struct rt_rule {
	const struct rule *r;
	struct promql_node *ast;
	struct store_family *fam;	/* recording rules: output family */
	struct alertstate *as;		/* alerting rules */
	bool restored;			/* for-state applied after a start */
	struct outset prev;		/* series written by the last evaluation */
	enum health health;
	char last_error[ERR_LEN];
	int64_t last_eval_ms;
	double last_duration_s;
	uint64_t failures;
};

struct rt_group {
	const struct rule_group *g;
	struct rt_rule *rules;
	uint64_t interval_ms;
	int64_t next_eval_ms;		/* 0: at the first tick */
	int64_t last_eval_ms;
	double last_duration_s;
	uint64_t evaluations, missed;
};

struct ruleset {
	struct rule_set *files;
	struct rt_group *groups;
	size_t ngroups;
	int64_t max_lookback_ms;
};

/* Self-metrics (ruleeng__metrics). */
enum { M_RULES, M_ITER, M_MISSED, M_DURATION, M_FAILURES, M_RELOAD, M__COUNT };

struct ruleeng {
	const struct config *cfg;
	struct ruleset *set;
	const char *external_url;	/* --web.external-url, or NULL */
	struct for_state *for_state;	/* read at start, applied once */
	char *state_path;		/* state_dir/alerts.state */
	bool dirty;			/* alert state changed since saved */
	uint64_t notices_due, save_failures;
	ruleeng_sink_fn sink;
	void *sink_ctx;
	struct store_family *fam[M__COUNT];
	uint64_t reloads, reload_failures;
	bool last_reload_ok;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* rulefile's expression checker: the PromQL parser. */
static int check_expr(void *ctx, const char *expr, char *msg, size_t msglen,
		      size_t *off)
{
	struct promql_error e;
	struct promql_node *n;

	(void)ctx;
	n = promql_parse(expr, &e);
	if (n) {
		promql_free(n);
		return 0;
	}
	snprintf(msg, msglen, "%s", e.msg);
	*off = e.offset > 0 ? (size_t)e.offset : 0;
	return -1;
}

static void outset__free(struct outset *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i]);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static void ruleset__free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->ngroups; i++) {
		struct rt_group *g = &rs->groups[i];

		for (size_t j = 0; g->rules && j < g->g->nrules; j++) {
			promql_free(g->rules[j].ast);
			alertstate__free(g->rules[j].as);
			outset__free(&g->rules[j].prev);
		}
		free(g->rules);
	}
	free(rs->groups);
	rule_set__free(rs->files);
	free(rs);
}

static size_t err_append(char *err, size_t errlen, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t err_append(char *err, size_t errlen, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || pos + 1 >= errlen)
		return pos;
	if (pos)
		err[pos++] = '\n';
	va_start(ap, fmt);
	n = vsnprintf(err + pos, errlen - pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pos;
	return pos + (size_t)n >= errlen ? errlen - 1 : pos + (size_t)n;
}

/* Load the rule files of @cfg into a new set.  NULL with @err filled. */
static struct ruleset *ruleset__load(const struct config *cfg, char *err,
				     size_t errlen)
{
	uint64_t tick = cfg->collection_interval_ms;
	struct ruleset *rs = calloc(1, sizeof(*rs));
	size_t pos = 0;

	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!cfg->nrule_files)
		return rs;
	rs->files = rulefile__load((const char *const *)cfg->rule_files,
				   cfg->nrule_files, check_expr, NULL, err, errlen);
	if (!rs->files) {
		free(rs);
		return NULL;
	}
	rs->ngroups = rs->files->ngroups;
	rs->groups = calloc(rs->ngroups ? rs->ngroups : 1, sizeof(*rs->groups));
	if (!rs->groups)
		goto oom;
	for (size_t i = 0; i < rs->ngroups; i++) {
		const struct rule_group *g = &rs->files->groups[i];
		struct rt_group *rg = &rs->groups[i];

		rg->g = g;
		rg->interval_ms = g->interval_ms ? g->interval_ms : cfg->evaluation_interval_ms;
		/* Evaluated on collection ticks: a whole number of them. */
		if (rg->interval_ms % tick)
			pos = err_append(err, errlen, pos, "%s:%u:%u: group '%s': interval "
					 "%llums is not a multiple of "
					 "global.collection_interval (%llums)",
					 g->file, g->line, g->col, g->name,
					 (unsigned long long)rg->interval_ms,
					 (unsigned long long)tick);
		rg->rules = calloc(g->nrules ? g->nrules : 1, sizeof(*rg->rules));
		if (!rg->rules)
			goto oom;
		for (size_t j = 0; j < g->nrules; j++) {
			struct rt_rule *rr = &rg->rules[j];
			struct promql_error pe;
			int64_t lb;

			rr->r = &g->rules[j];
			if (rr->r->type == RULE_ALERTING) {
				char key[1024];

				snprintf(key, sizeof(key), "%s;%s", g->file, g->name);
				rr->as = alertstate__new(key, g, rr->r);
				if (!rr->as)
					goto oom;
			}
			rr->ast = promql_parse(rr->r->expr, &pe);
			if (!rr->ast) {
				/* rulefile checked it already: only ENOMEM */
				pos = err_append(err, errlen, pos, "%s:%u:%u: %s", g->file,
						 rr->r->expr_line, rr->r->expr_col, pe.msg);
				continue;
			}
			if (promql_node_type(rr->ast) != PROMQL_VECTOR &&
			    promql_node_type(rr->ast) != PROMQL_SCALAR)
				pos = err_append(err, errlen, pos, "%s:%u:%u: expression "
						 "must be an instant vector or a scalar, "
						 "got %s", g->file, rr->r->expr_line,
						 rr->r->expr_col,
						 promql_type_name(promql_node_type(rr->ast)));
			lb = promql_max_lookback_ms(rr->ast, PROMQL_DEFAULT_LOOKBACK_MS);
			if (lb > rs->max_lookback_ms)
				rs->max_lookback_ms = lb;
		}
	}
	if (pos) {
		ruleset__free(rs);
		return NULL;
	}
	return rs;
oom:
	snprintf(err, errlen, "out of memory loading rules");
	ruleset__free(rs);
	return NULL;
}

static void warn_retention(const struct ruleeng *re)
{
	uint64_t kept = re->cfg->retention_ms;

	if (re->set->max_lookback_ms > 0 && (uint64_t)re->set->max_lookback_ms > kept)
		pr_warn("rules: some rule reads %llds back but global.retention keeps "
			"%llus: its results will differ from Prometheus' (raise "
			"retention)", (long long)(re->set->max_lookback_ms / 1000),
			(unsigned long long)(kept / 1000));
}

/* The pending clocks of the last run (alertstate.h, persistence). */
static void load_for_state(struct ruleeng *re)
{
	char err[512];
	bool corrupt = false;

	if (!ruleeng__nrules(re))
		return;
	re->for_state = for_state__load(re->state_path, &corrupt, err, sizeof(err));
	if (corrupt)
		pr_warn("rules: %s: %s (moved aside; what could be read is used)",
			re->state_path, err);
	if (!re->for_state && errno != ENOENT)
		pr_warn("rules: reading %s: %s", re->state_path, strerror(errno));
	else if (re->for_state)
		pr_info("rules: %zu pending or firing alert%s in %s from the last run",
			for_state__count(re->for_state),
			for_state__count(re->for_state) == 1 ? "" : "s", re->state_path);
}

/* Write the alerts' clocks to state_dir when they changed. */
static void save_state(struct ruleeng *re)
{
	struct alertstate **v;
	size_t n = 0, cap = 0;
	char err[512];

	if (!re->dirty || !re->state_path)
		return;
	for (size_t i = 0; i < re->set->ngroups; i++)
		cap += re->set->groups[i].g->nrules;
	v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < re->set->ngroups; i++)
		for (size_t j = 0; j < re->set->groups[i].g->nrules; j++)
			if (re->set->groups[i].rules[j].as)
				v[n++] = re->set->groups[i].rules[j].as;
	if (alertstate__save(re->state_path, v, n, wall_ms(), err, sizeof(err))) {
		if (!re->save_failures++)
			pr_warn("rules: saving alert state to %s: %s", re->state_path, err);
	} else {
		re->dirty = false;
	}
	free(v);
}

struct ruleeng *ruleeng__new(const struct config *cfg, char *err, size_t errlen)
{
	struct ruleeng *re = calloc(1, sizeof(*re));

	if (!re) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	re->cfg = cfg;
	re->set = ruleset__load(cfg, err, errlen);
	if (!re->set) {
		free(re);
		return NULL;
	}
	if (asprintf(&re->state_path, "%s/alerts.state", cfg->state_dir) < 0) {
		re->state_path = NULL;
		ruleeng__free(re);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	load_for_state(re);
	re->last_reload_ok = true;
	warn_retention(re);
	return re;
}

void ruleeng__free(struct ruleeng *re)
{
	if (!re)
		return;
	save_state(re);
	for_state__free(re->for_state);
	free(re->state_path);
	ruleset__free(re->set);
	free(re);
}

/* Rules that stay (same type and name in the same group) keep their
 * alerts, the series they wrote and their health. */
static void carry_rules(struct rt_group *og, struct rt_group *ng)
{
	for (size_t j = 0; j < ng->g->nrules; j++) {
		struct rt_rule *nr = &ng->rules[j];

		for (size_t k = 0; k < og->g->nrules; k++) {
			struct rt_rule *or = &og->rules[k];

			if (or->r->type != nr->r->type || strcmp(or->r->name, nr->r->name))
				continue;
			if (or->as) {
				alertstate__free(nr->as);
				nr->as = or->as;
				or->as = NULL;
				alertstate__rebind(nr->as, ng->g, nr->r);
			}
			outset__free(&nr->prev);
			nr->prev = or->prev;
			memset(&or->prev, 0, sizeof(or->prev));
			nr->fam = or->fam;
			nr->restored = or->restored;
			nr->health = or->health;
			memcpy(nr->last_error, or->last_error, sizeof(nr->last_error));
			nr->failures = or->failures;
			break;
		}
	}
}

/* Carry the runtime state of rules and groups that stay over to @to. */
static void carry_state(struct ruleset *from, struct ruleset *to)
{
	for (size_t i = 0; i < to->ngroups; i++) {
		struct rt_group *ng = &to->groups[i];

		for (size_t k = 0; k < from->ngroups; k++) {
			struct rt_group *og = &from->groups[k];

			if (strcmp(og->g->name, ng->g->name) ||
			    strcmp(og->g->file, ng->g->file))
				continue;
			ng->next_eval_ms = og->next_eval_ms;
			ng->last_eval_ms = og->last_eval_ms;
			ng->evaluations = og->evaluations;
			ng->missed = og->missed;
			carry_rules(og, ng);
			break;
		}
	}
}

int ruleeng__reload(struct ruleeng *re, char *err, size_t errlen)
{
	struct ruleset *rs;

	re->reloads++;
	rs = ruleset__load(re->cfg, err, errlen);
	if (!rs) {
		re->reload_failures++;
		re->last_reload_ok = false;
		return -EINVAL;
	}
	carry_state(re->set, rs);
	ruleset__free(re->set);
	re->set = rs;
	re->last_reload_ok = true;
	warn_retention(re);
	return 0;
}

size_t ruleeng__ngroups(const struct ruleeng *re)
{
	return re->set->ngroups;
}

size_t ruleeng__nrules(const struct ruleeng *re)
{
	return re->set->files ? re->set->files->nrules : 0;
}

int64_t ruleeng__max_lookback_ms(const struct ruleeng *re)
{
	return re->set->max_lookback_ms;
}

/* ---- evaluation ------------------------------------------------------------ */

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/*
 * The labels of output element @el: its own without __name__, with the
 * rule's labels set over them (an empty value removes a label), sorted.
 * Returns the count; @out has room for el->nlabels + rule labels.
 */
static size_t output_labels(const struct promql_element *el, const struct rule *r,
			    struct label *out)
{
	size_t n = 0;

	for (size_t i = 0; i < el->nlabels; i++)
		if (strcmp(el->labels[i].name, "__name__"))
			out[n++] = (struct label){ el->labels[i].name, el->labels[i].value };
	for (size_t i = 0; i < r->nlabels; i++) {
		size_t k;

		for (k = 0; k < n && strcmp(out[k].name, r->labels[i].name); k++)
			;
		if (k == n)
			out[n++] = (struct label){ r->labels[i].name, r->labels[i].value };
		else
			out[k].value = r->labels[i].value;
	}
	/* drop empty values */
	for (size_t i = 0; i < n;)
		if (!out[i].value[0])
			out[i] = out[--n];
		else
			i++;
	qsort(out, n, sizeof(*out), cmp_label);
	return n;
}

static bool same_labels(const struct label *a, size_t na, const struct label *b,
			size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || strcmp(a[i].value, b[i].value))
			return false;
	return true;
}

/* A scalar result is a vector of one sample without labels. */
static void as_vector(struct promql_result *res, struct promql_element *one)
{
	if (res->type != PROMQL_SCALAR)
		return;
	memset(one, 0, sizeof(*one));
	one->v = res->scalar;
	res->elems = one;
	res->n = 1;
}

static void rule_fail(struct rt_rule *rr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rule_fail(struct rt_rule *rr, const char *fmt, ...)
{
	va_list ap;
	bool was_ok = rr->health != HEALTH_ERR;

	va_start(ap, fmt);
	vsnprintf(rr->last_error, sizeof(rr->last_error), fmt, ap);
	va_end(ap);
	rr->health = HEALTH_ERR;
	rr->failures++;
	if (was_ok)
		pr_warn("rules: %s: %s", rr->r->name, rr->last_error);
}

/* ---- output series and their staleness -------------------------------- */

static struct outkey *outkey__new(const char *fam, const struct label *l, size_t n)
{
	size_t len = strlen(fam) + 1, off;
	struct outkey *k;

	for (size_t i = 0; i < n; i++)
		len += strlen(l[i].name) + strlen(l[i].value) + 2;
	k = malloc(sizeof(*k) + len);
	if (!k)
		return NULL;
	k->len = len;
	off = (size_t)sprintf(k->data, "%s", fam) + 1;
	for (size_t i = 0; i < n; i++) {
		off += (size_t)sprintf(k->data + off, "%s", l[i].name) + 1;
		off += (size_t)sprintf(k->data + off, "%s", l[i].value) + 1;
	}
	return k;
}

static int outkey__cmp(const void *a, const void *b)
{
	const struct outkey *x = *(struct outkey *const *)a, *y = *(struct outkey *const *)b;
	int c = memcmp(x->data, y->data, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int outset__add(struct outset *o, struct outkey *k)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct outkey **v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = k;
	return 0;
}

/* Write one output series of @rr and remember it for the next evaluation. */
static int emit(struct store *s, struct store_family *f, const char *fam,
		const struct label *l, size_t n, double v, struct outset *cur)
{
	struct outkey *k;
	int err = store__append(s, f, "", l, n, v);

	if (err)
		return err == -ENOSPC ? 0 : err;	/* counted by the store */
	k = outkey__new(fam, l, n);
	if (!k || outset__add(cur, k)) {
		free(k);
		return -ENOMEM;
	}
	return 0;
}

/* Family @name for rule output (evaluated: hidden, no automatic staleness). */
static struct store_family *out_family(struct store *s, const char *name)
{
	struct store_family *f = store__family(s, name, METRIC_UNTYPED, NULL);

	if (f)
		store__family_set_evaluated(f);
	return f;
}

/*
 * The evaluation wrote @cur: series of the previous one missing from it
 * get a staleness marker (Prometheus writes them too, so an instant query
 * stops seeing them at once instead of 5 minutes later).  @cur becomes the
 * previous set.
 */
static void finish_outputs(struct rt_rule *rr, struct store *s, struct outset *cur)
{
	struct label l[RULEFILE_MAX_LABELS * 2 + 64];

	if (cur->n)
		qsort(cur->v, cur->n, sizeof(*cur->v), outkey__cmp);
	for (size_t i = 0; i < rr->prev.n; i++) {
		const struct outkey *k = rr->prev.v[i];
		const char *p = k->data, *end = k->data + k->len, *fam = p;
		struct store_family *f;
		size_t n = 0;

		if (cur->n && bsearch(&rr->prev.v[i], cur->v, cur->n, sizeof(*cur->v),
				      outkey__cmp))
			continue;
		for (p += strlen(p) + 1; p < end && n < sizeof(l) / sizeof(l[0]); n++) {
			l[n].name = p;
			p += strlen(p) + 1;
			l[n].value = p;
			p += strlen(p) + 1;
		}
		f = out_family(s, fam);
		if (f)
			store__append_stale(s, f, l, n);
	}
	outset__free(&rr->prev);
	rr->prev = *cur;
	memset(cur, 0, sizeof(*cur));
}

/* ---- evaluation ------------------------------------------------------------ */

static void rule_ok(struct rt_rule *rr)
{
	if (rr->health == HEALTH_ERR)
		pr_info("rules: %s: evaluates again", rr->r->name);
	rr->health = HEALTH_OK;
	rr->last_error[0] = '\0';
}

static void eval_recording(struct rt_group *rg, struct rt_rule *rr,
			   struct promql_result *res, struct store *s)
{
	struct outset cur = { 0 };
	struct label **seen = NULL;
	size_t *nseen = NULL;

	if (!rr->fam) {
		rr->fam = out_family(s, rr->r->name);
		if (!rr->fam) {
			rule_fail(rr, "metric %s exists with another type", rr->r->name);
			return;
		}
	}
	if (rg->g->limit && res->n > rg->g->limit) {
		rule_fail(rr, "exceeded limit of %u with %zu series", rg->g->limit, res->n);
		return;
	}
	seen = calloc(res->n ? res->n : 1, sizeof(*seen));
	nseen = calloc(res->n ? res->n : 1, sizeof(*nseen));
	if (!seen || !nseen) {
		rule_fail(rr, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < res->n; i++) {
		const struct promql_element *el = &res->elems[i];

		seen[i] = calloc(el->nlabels + rr->r->nlabels + 1, sizeof(**seen));
		if (!seen[i]) {
			rule_fail(rr, "out of memory");
			goto out;
		}
		nseen[i] = output_labels(el, rr->r, seen[i]);
		for (size_t k = 0; k < i; k++) {
			if (same_labels(seen[k], nseen[k], seen[i], nseen[i])) {
				rule_fail(rr, "vector contains metrics with the same "
					  "labelset after applying rule labels");
				goto out;
			}
		}
	}
	for (size_t i = 0; i < res->n; i++) {
		int err = emit(s, rr->fam, rr->r->name, seen[i], nseen[i],
			       res->elems[i].v, &cur);

		if (err) {
			rule_fail(rr, "storing the result: %s", strerror(-err));
			goto out;
		}
	}
	finish_outputs(rr, s, &cur);
	rule_ok(rr);
out:
	outset__free(&cur);
	for (size_t i = 0; seen && i < res->n; i++)
		free(seen[i]);
	free(seen);
	free(nseen);
}

/* What templates and notifications see of the configuration. */
static void alert_env(const struct ruleeng *re, struct alert_env *env)
{
	*env = (struct alert_env){
		.ext_labels = re->cfg->notify.external_labels,
		.next_labels = re->cfg->notify.nexternal,
		.external_url = re->external_url,
	};
}

static void eval_alerting(struct ruleeng *re, struct rt_group *rg,
			  struct rt_rule *rr, struct promql_result *res,
			  struct store *s, int64_t ts)
{
	struct alert_series_vec series = { 0 };
	struct alert_notices due = { 0 };
	struct alert_input *in;
	struct outset cur = { 0 };
	struct alert_env env;
	struct label *lbuf;
	size_t total = 0, off = 0;
	char err[ERR_LEN];
	int rc;

	for (size_t i = 0; i < res->n; i++)
		total += res->elems[i].nlabels;
	in = calloc(res->n ? res->n : 1, sizeof(*in));
	lbuf = calloc(total ? total : 1, sizeof(*lbuf));
	if (!in || !lbuf) {
		rule_fail(rr, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < res->n; i++) {
		const struct promql_element *el = &res->elems[i];

		in[i].labels = lbuf + off;
		in[i].nlabels = el->nlabels;
		in[i].value = el->v;
		for (size_t k = 0; k < el->nlabels; k++)
			lbuf[off++] = (struct label){ el->labels[k].name, el->labels[k].value };
	}
	alert_env(re, &env);
	rc = alertstate__eval(rr->as, ts, in, res->n, &env, &series, err, sizeof(err));
	if (rc) {
		rule_fail(rr, "%s", rc == -ENOMEM ? "out of memory" : err);
		goto out;
	}
	if (!rr->restored && re->for_state) {
		size_t n = alertstate__restore(rr->as, re->for_state, ts, ALERT_FOR_GRACE_MS,
					       ALERT_OUTAGE_TOLERANCE_MS);

		if (n)
			pr_info("rules: %s: restored the pending time of %zu alert%s",
				rr->r->name, n, n == 1 ? "" : "s");
	}
	rr->restored = true;
	for (size_t i = 0; i < series.n; i++) {
		const struct alert_series *as = &series.v[i];
		struct label l[RULEFILE_MAX_LABELS * 2 + 64];
		const char *name = NULL;
		struct store_family *f;
		size_t n = 0;

		for (size_t k = 0; k < as->nlabels && n < sizeof(l) / sizeof(l[0]); k++) {
			if (!strcmp(as->labels[k].name, "__name__"))
				name = as->labels[k].value;
			else
				l[n++] = as->labels[k];
		}
		f = name ? out_family(s, name) : NULL;
		if (f && emit(s, f, name, l, n, as->value, &cur)) {
			rule_fail(rr, "out of memory");
			goto out;
		}
	}
	finish_outputs(rr, s, &cur);
	re->dirty = true;
	if (alertstate__due(rr->as, ts, rg->interval_ms, &env, &due) < 0) {
		rule_fail(rr, "out of memory");
		goto out;
	}
	if (due.n) {
		re->notices_due += due.n;
		if (re->sink)
			re->sink(re->sink_ctx, &due);
	}
	rule_ok(rr);
out:
	alert_notices__free(&due);
	alert_series_vec__free(&series);
	outset__free(&cur);
	free(in);
	free(lbuf);
}

static void eval_rule(struct ruleeng *re, struct rt_group *rg, struct rt_rule *rr,
		      const struct promql_storage *st, struct store *s, int64_t ts)
{
	struct promql_opts opts = { .default_step_ms = (int64_t)rg->interval_ms };
	struct promql_result res = { 0 };
	struct promql_element one;
	struct promql_error pe;

	if (promql_eval_instant(rr->ast, st, ts, &opts, &res, &pe)) {
		rule_fail(rr, "%s", pe.msg);
		return;
	}
	as_vector(&res, &one);
	if (rr->r->type == RULE_RECORDING)
		eval_recording(rg, rr, &res, s);
	else
		eval_alerting(re, rg, rr, &res, s, ts);
	if (res.elems == &one) {
		res.elems = NULL;
		res.n = 0;
	}
	promql_result_free(&res);
}

static void eval_group(struct ruleeng *re, struct rt_group *rg,
		       const struct promql_storage *st, struct store *s, int64_t ts)
{
	double g0 = mono_s();

	for (size_t j = 0; j < rg->g->nrules; j++) {
		struct rt_rule *rr = &rg->rules[j];
		double r0 = mono_s();

		if (!rr->ast)
			continue;
		eval_rule(re, rg, rr, st, s, ts);
		rr->last_eval_ms = ts;
		rr->last_duration_s = mono_s() - r0;
	}
	rg->last_eval_ms = ts;
	rg->last_duration_s = mono_s() - g0;
	rg->evaluations++;
}

void ruleeng__eval(struct ruleeng *re, struct store *s, int64_t ts)
{
	struct promql_storage st;

	storequery__init(&st, s);
	for (size_t i = 0; i < re->set->ngroups; i++) {
		struct rt_group *rg = &re->set->groups[i];

		if (rg->next_eval_ms && ts < rg->next_eval_ms)
			continue;
		/* Late by whole intervals (a stalled loop): those are missed,
		 * as Prometheus counts them; the schedule keeps its phase. */
		if (rg->next_eval_ms) {
			uint64_t late = (uint64_t)(ts - rg->next_eval_ms) / rg->interval_ms;

			rg->missed += late;
			rg->next_eval_ms += (int64_t)((late + 1) * rg->interval_ms);
		} else {
			rg->next_eval_ms = ts + (int64_t)rg->interval_ms;
		}
		/* A tick a few ms early must not skip a whole interval. */
		rg->next_eval_ms -= (int64_t)(re->cfg->collection_interval_ms / 2);
		eval_group(re, rg, &st, s, ts);
		rg->next_eval_ms += (int64_t)(re->cfg->collection_interval_ms / 2);
	}
	save_state(re);
}

/* ---- self-metrics and JSON ----------------------------------------------- */

static const struct {
	const char *name;
	enum metric_type type;
	const char *help;
} metric_desc[M__COUNT] = {
	[M_RULES] = { "bpfwatch_rule_group_rules", METRIC_GAUGE,
		      "Rules in each loaded rule group." },
	[M_ITER] = { "bpfwatch_rule_group_iterations_total", METRIC_COUNTER,
		     "Evaluations of each rule group." },
	[M_MISSED] = { "bpfwatch_rule_group_iterations_missed_total", METRIC_COUNTER,
		       "Evaluations of each rule group skipped because the agent "
		       "fell behind." },
	[M_DURATION] = { "bpfwatch_rule_group_last_duration_seconds", METRIC_GAUGE,
			 "How long the last evaluation of each rule group took." },
	[M_FAILURES] = { "bpfwatch_rule_evaluation_failures_total", METRIC_COUNTER,
			 "Failed rule evaluations, per rule group." },
	[M_RELOAD] = { "bpfwatch_rules_last_reload_successful", METRIC_GAUGE,
		       "1 if the last reload of the rule files worked (0: the "
		       "previous rules still run)." },
};

void ruleeng__metrics(struct ruleeng *re, struct store *s)
{
	const struct ruleset *rs = re->set;

	for (int m = 0; m < M__COUNT; m++)
		if (!re->fam[m])
			re->fam[m] = store__family(s, metric_desc[m].name,
						   metric_desc[m].type,
						   metric_desc[m].help);
	for (size_t i = 0; i < rs->ngroups; i++) {
		const struct rt_group *rg = &rs->groups[i];
		struct label l[] = { { "file", rg->g->file }, { "rule_group", rg->g->name } };
		uint64_t f = 0;

		for (size_t j = 0; j < rg->g->nrules; j++)
			f += rg->rules[j].failures;
		store__append(s, re->fam[M_RULES], "", l, 2, (double)rg->g->nrules);
		store__append(s, re->fam[M_ITER], "", l, 2, (double)rg->evaluations);
		store__append(s, re->fam[M_MISSED], "", l, 2, (double)rg->missed);
		store__append(s, re->fam[M_DURATION], "", l, 2, rg->last_duration_s);
		store__append(s, re->fam[M_FAILURES], "", l, 2, (double)f);
	}
	store__append(s, re->fam[M_RELOAD], "", NULL, 0, re->last_reload_ok ? 1 : 0);
}

static void json_out(struct strbuf *b, cJSON *root)
{
	char *text = cJSON_PrintUnformatted(root);

	if (text) {
		strbuf__puts(b, text);
		cJSON_free(text);
	} else {
		b->oom = true;
	}
	cJSON_Delete(root);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
	char buf[96];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms) {
		cJSON_AddStringToObject(o, key, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (int)(ms % 1000));
	cJSON_AddStringToObject(o, key, buf);
}

static cJSON *kv_object(const struct rule_kv *kv, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < n; i++)
		cJSON_AddStringToObject(o, kv[i].name, kv[i].value);
	return o;
}

static cJSON *labels_object(const struct label *l, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < n; i++)
		cJSON_AddStringToObject(o, l[i].name, l[i].value);
	return o;
}

/* Active (pending or firing) alerts of @as appended to @arr; returns the
 * highest state among them. */
static enum alert_state alert_items(cJSON *arr, const struct alertstate *as)
{
	enum alert_state top = ALERT_INACTIVE;

	for (size_t i = 0; as && i < alertstate__count(as); i++) {
		struct alert_view v;
		char buf[PROMQL_FLOAT_BUF];
		cJSON *a;

		alertstate__get(as, i, &v);
		if (v.state == ALERT_INACTIVE)
			continue;
		if (v.state > top)
			top = v.state;
		a = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, a);
		cJSON_AddItemToObject(a, "labels", labels_object(v.labels, v.nlabels));
		cJSON_AddItemToObject(a, "annotations",
				      labels_object(v.annotations, v.nannotations));
		cJSON_AddStringToObject(a, "state", alert_state__name(v.state));
		add_time(a, "activeAt", v.active_at_ms);
		if (v.keep_firing_since_ms != ALERT_TIME_UNSET)
			add_time(a, "keepFiringSince", v.keep_firing_since_ms);
		cJSON_AddStringToObject(a, "value", promql_format_float(v.value, 'g', buf));
	}
	return top;
}

static void add_alerts(cJSON *rule, const struct alertstate *as, bool with_state)
{
	cJSON *arr = cJSON_CreateArray();
	enum alert_state top = alert_items(arr, as);

	if (with_state)
		cJSON_AddStringToObject(rule, "state", alert_state__name(top));
	cJSON_AddItemToObject(rule, "alerts", arr);
}

void ruleeng__rules_json(const struct ruleeng *re, struct strbuf *b)
{
	cJSON *root = cJSON_CreateObject(), *data, *groups;
	const struct ruleset *rs = re->set;

	cJSON_AddStringToObject(root, "status", "success");
	data = cJSON_AddObjectToObject(root, "data");
	groups = cJSON_AddArrayToObject(data, "groups");
	for (size_t i = 0; groups && i < rs->ngroups; i++) {
		const struct rt_group *rg = &rs->groups[i];
		cJSON *g = cJSON_CreateObject(), *rules;

		cJSON_AddItemToArray(groups, g);
		cJSON_AddStringToObject(g, "name", rg->g->name);
		cJSON_AddStringToObject(g, "file", rg->g->file);
		cJSON_AddNumberToObject(g, "interval", (double)rg->interval_ms / 1000);
		cJSON_AddNumberToObject(g, "limit", rg->g->limit);
		add_time(g, "lastEvaluation", rg->last_eval_ms);
		cJSON_AddNumberToObject(g, "evaluationTime", rg->last_duration_s);
		rules = cJSON_AddArrayToObject(g, "rules");
		for (size_t j = 0; rules && j < rg->g->nrules; j++) {
			const struct rt_rule *rr = &rg->rules[j];
			cJSON *r = cJSON_CreateObject();
			char *q = rr->ast ? promql_node_str(rr->ast) : NULL;

			cJSON_AddItemToArray(rules, r);
			cJSON_AddStringToObject(r, "name", rr->r->name);
			cJSON_AddStringToObject(r, "query", q ? q : rr->r->expr);
			free(q);
			cJSON_AddItemToObject(r, "labels", kv_object(rr->r->labels,
								   rr->r->nlabels));
			cJSON_AddStringToObject(r, "health", health_names[rr->health]);
			if (rr->health == HEALTH_ERR)
				cJSON_AddStringToObject(r, "lastError", rr->last_error);
			add_time(r, "lastEvaluation", rr->last_eval_ms);
			cJSON_AddNumberToObject(r, "evaluationTime", rr->last_duration_s);
			if (rr->r->type == RULE_RECORDING) {
				cJSON_AddStringToObject(r, "type", "recording");
				continue;
			}
			cJSON_AddStringToObject(r, "type", "alerting");
			cJSON_AddNumberToObject(r, "duration", (double)rr->r->for_ms / 1000);
			cJSON_AddNumberToObject(r, "keepFiringFor",
						(double)rr->r->keep_firing_for_ms / 1000);
			cJSON_AddItemToObject(r, "annotations",
					      kv_object(rr->r->annotations,
							rr->r->nannotations));
			add_alerts(r, rr->as, true);
		}
	}
	json_out(b, root);
}

void ruleeng__alerts_json(const struct ruleeng *re, struct strbuf *b)
{
	cJSON *root = cJSON_CreateObject(), *data, *alerts;
	const struct ruleset *rs = re->set;

	cJSON_AddStringToObject(root, "status", "success");
	data = cJSON_AddObjectToObject(root, "data");
	alerts = cJSON_AddArrayToObject(data, "alerts");
	for (size_t i = 0; alerts && i < rs->ngroups; i++)
		for (size_t j = 0; j < rs->groups[i].g->nrules; j++)
			if (rs->groups[i].rules[j].as)
				alert_items(alerts, rs->groups[i].rules[j].as);
	json_out(b, root);
}

void ruleeng__set_sink(struct ruleeng *re, ruleeng_sink_fn fn, void *ctx)
{
	re->sink = fn;
	re->sink_ctx = ctx;
}

void ruleeng__set_external_url(struct ruleeng *re, const char *url)
{
	re->external_url = url;
}
