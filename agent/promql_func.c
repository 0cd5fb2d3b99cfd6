// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL functions, ported from the definitions in Prometheus 2.42's
 * promql/functions.go so that results match to the last bit where users
 * compare them (rate extrapolation, Kahan sums, histogram_quantile).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql_int.h"

static int nomem(struct promql_ev *ev)
{
	return promql_ev_error(ev, -ENOMEM, "out of memory");
}

/* Go's math.Max / math.Min: NaN wins, unlike fmax/fmin. */
static double go_max(double a, double b)
{
	if (isinf(a) && a > 0)
		return a;
	if (isinf(b) && b > 0)
		return b;
	if (isnan(a) || isnan(b))
		return NAN;
	return a > b ? a : b;
}

static double go_min(double a, double b)
{
	if (isinf(a) && a < 0)
		return a;
	if (isinf(b) && b < 0)
		return b;
	if (isnan(a) || isnan(b))
		return NAN;
	return a < b ? a : b;
}

/* Neumaier's improved Kahan summation step (kahanSumInc). */
static double kahan_inc(double inc, double sum, double *c)
{
	double t = sum + inc;

	if (fabs(sum) >= fabs(inc))
		*c += (sum - t) + inc;
	else
		*c += (inc - t) + sum;
	return t;
}

/* ---- range vector functions ---- */

struct mctx {
	int64_t ts;		/* evaluation time of the range's end, before offset */
	int64_t range_ms, offset_ms;
	double arg;		/* scalar argument, if any */
	double arg2;
};

/* Prometheus' extrapolatedRate: rate(), increase(), delta(). */
static bool extrapolated_rate(const struct mctx *c, const struct promql_sample *s, size_t n,
			      bool counter, bool is_rate, double *out)
{
	double result, last = 0, to_start, to_end, sampled, avg, thresh, interval, factor;
	int64_t range_start = c->ts - c->range_ms - c->offset_ms;
	int64_t range_end = c->ts - c->offset_ms;
	size_t i;

	if (n < 2)
		return false;
	result = s[n - 1].v - s[0].v;
	if (counter) {
		for (i = 0; i < n; i++) {
			if (s[i].v < last)
				result += last;
			last = s[i].v;
		}
	}
	to_start = (double)(s[0].t - range_start) / 1000;
	to_end = (double)(range_end - s[n - 1].t) / 1000;
	sampled = (double)(s[n - 1].t - s[0].t) / 1000;
	avg = sampled / (double)(n - 1);
	if (counter && result > 0 && s[0].v >= 0) {
		/* a counter cannot go below zero: extrapolate at most to 0 */
		double to_zero = sampled * (s[0].v / result);

		if (to_zero < to_start)
			to_start = to_zero;
	}
	thresh = avg * 1.1;
	interval = sampled;
	interval += to_start < thresh ? to_start : avg / 2;
	interval += to_end < thresh ? to_end : avg / 2;
	/* one factor, applied once, as Prometheus rounds it */
	factor = interval / sampled;
	if (is_rate)
		factor /= (double)c->range_ms / 1000;
	*out = result * factor;
	return true;
}

static bool instant_value(const struct promql_sample *s, size_t n, bool is_rate, double *out)
{
	const struct promql_sample *l, *p;
	double r;

	if (n < 2)
		return false;
	l = &s[n - 1];
	p = &s[n - 2];
	if (is_rate && l->v < p->v)
		r = l->v;	/* counter reset */
	else
		r = l->v - p->v;
	if (l->t == p->t)
		return false;
	if (is_rate)
		r /= (double)(l->t - p->t) / 1000;
	*out = r;
	return true;
}

static void linear_regression(const struct promql_sample *s, size_t n, int64_t at,
			      double *slope, double *icept)
{
	double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
	double init = s[0].v, cov, var;
	bool const_y = true;
	size_t i;

	for (i = 0; i < n; i++) {
		double x = (double)(s[i].t - at) / 1e3;

		if (const_y && i > 0 && s[i].v != init)
			const_y = false;
		cnt += 1;
		sx = kahan_inc(x, sx, &cx);
		sy = kahan_inc(s[i].v, sy, &cy);
		sxy = kahan_inc(x * s[i].v, sxy, &cxy);
		sx2 = kahan_inc(x * x, sx2, &cx2);
	}
	if (const_y) {
		if (isinf(init)) {
			*slope = NAN;
			*icept = NAN;
		} else {
			*slope = 0;
			*icept = init;
		}
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	cov = sxy - sx * sy / cnt;
	var = sx2 - sx * sx / cnt;
	*slope = cov / var;
	*icept = sy / cnt - *slope * sx / cnt;
}

/* holt_winters(m, sf, tf): double exponential smoothing (funcHoltWinters). */
static bool holt_winters(const struct promql_sample *s, size_t n, double sf, double tf,
			 double *out)
{
	double s0 = 0, s1, b, x, y;
	size_t i;

	if (n < 2)
		return false;
	s1 = s[0].v;
	b = s[1].v - s[0].v;
	for (i = 1; i < n; i++) {
		x = sf * s[i].v;
		if (i > 1)
			b = tf * (s1 - s0) + (1 - tf) * b;
		y = (1 - sf) * (s1 + b);
		s0 = s1;
		s1 = x + y;
	}
	*out = s1;
	return true;
}

/* One value from the samples of a series, or false to emit nothing. */
static bool range_fn(const struct promql_node *n, const struct mctx *c,
		     const struct promql_sample *s, size_t ns, double *out)
{
	double v = 0, cmp, *vals;
	size_t i;

	switch (n->func->id) {
	case F_RATE:
		return extrapolated_rate(c, s, ns, true, true, out);
	case F_INCREASE:
		return extrapolated_rate(c, s, ns, true, false, out);
	case F_DELTA:
		return extrapolated_rate(c, s, ns, false, false, out);
	case F_IRATE:
		return instant_value(s, ns, true, out);
	case F_IDELTA:
		return instant_value(s, ns, false, out);
	case F_DERIV: {
		double icept;

		if (ns < 2)
			return false;
		/* regress around the first sample for accuracy (prometheus#2674) */
		linear_regression(s, ns, s[0].t, out, &icept);
		return true;
	}
	case F_PREDICT_LINEAR: {
		double slope, icept;

		if (ns < 2)
			return false;
		linear_regression(s, ns, c->ts, &slope, &icept);
		*out = slope * c->arg + icept;
		return true;
	}
	case F_HOLT_WINTERS:
		return holt_winters(s, ns, c->arg, c->arg2, out);
	case F_CHANGES:
		for (i = 1; i < ns; i++)
			if (s[i].v != s[i - 1].v && !(isnan(s[i].v) && isnan(s[i - 1].v)))
				v++;
		*out = v;
		return true;
	case F_RESETS:
		for (i = 1; i < ns; i++)
			if (s[i].v < s[i - 1].v)
				v++;
		*out = v;
		return true;
	case F_AVG_OVER_TIME: {
		double mean = 0, cnt = 0, cc = 0;

		for (i = 0; i < ns; i++) {
			cnt++;
			if (isinf(mean)) {
				if (isinf(s[i].v) && (mean > 0) == (s[i].v > 0))
					continue;
				if (!isinf(s[i].v) && !isnan(s[i].v))
					continue;
			}
			mean = kahan_inc(s[i].v / cnt - mean / cnt, mean, &cc);
		}
		*out = isinf(mean) ? mean : mean + cc;
		return true;
	}
	case F_SUM_OVER_TIME: {
		double sum = 0, cc = 0;

		for (i = 0; i < ns; i++)
			sum = kahan_inc(s[i].v, sum, &cc);
		*out = isinf(sum) ? sum : sum + cc;
		return true;
	}
	case F_COUNT_OVER_TIME:
		*out = (double)ns;
		return true;
	case F_MIN_OVER_TIME:
	case F_MAX_OVER_TIME:
		cmp = s[0].v;
		for (i = 0; i < ns; i++) {
			if (n->func->id == F_MAX_OVER_TIME ? (s[i].v > cmp) : (s[i].v < cmp))
				cmp = s[i].v;
			else if (isnan(cmp))
				cmp = s[i].v;
		}
		*out = cmp;
		return true;
	case F_LAST_OVER_TIME:
		*out = s[ns - 1].v;
		return true;
	case F_PRESENT_OVER_TIME:
		*out = 1;
		return true;
	case F_STDDEV_OVER_TIME:
	case F_STDVAR_OVER_TIME: {
		double cnt = 0, mean = 0, cm = 0, aux = 0, ca = 0, d;

		for (i = 0; i < ns; i++) {
			cnt++;
			d = s[i].v - (mean + cm);
			mean = kahan_inc(d / cnt, mean, &cm);
			aux = kahan_inc(d * (s[i].v - (mean + cm)), aux, &ca);
		}
		v = (aux + ca) / cnt;
		*out = n->func->id == F_STDDEV_OVER_TIME ? sqrt(v) : v;
		return true;
	}
	case F_QUANTILE_OVER_TIME:
		vals = malloc(ns * sizeof(*vals));
		if (!vals) {
			*out = NAN;	/* caller checks errno */
			errno = ENOMEM;
			return false;
		}
		for (i = 0; i < ns; i++)
			vals[i] = s[i].v;
		*out = promql_quantile(c->arg, vals, ns);
		free(vals);
		return true;
	default:
		return false;
	}
}

/* Labels for absent()/absent_over_time(): the equality matchers, minus
 * any label also matched otherwise (createLabelsForAbsentFunction). */
static int absent_labels(const struct promql_node *arg, struct promql_label **out,
			 size_t *nout)
{
	const struct promql_node *vs = promql_unwrap_paren(arg);
	struct promql_label *l = NULL;
	size_t n = 0, i;

	*out = NULL;
	*nout = 0;
	if (vs->kind == N_MSEL)
		vs = vs->a;
	if (vs->kind != N_VSEL)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (i = 0; i < vs->nmatchers; i++) {
		const struct promql_matcher *m = vs->matchers[i];

		if (!strcmp(m->name, "__name__"))
			continue;
		if (m->type == PROMQL_MATCH_EQ && !promql_labels_get(l, n, m->name) &&
		    promql_labels_set(&l, &n, m->name, m->value))
			goto err;
	}
	for (i = 0; i < vs->nmatchers; i++) {
		const struct promql_matcher *m = vs->matchers[i];
		size_t j;
		bool first_eq = false;

		if (!strcmp(m->name, "__name__"))
			continue;
		/* the first equality matcher of a name sets it; any other deletes */
		for (j = 0; j < i; j++)
			if (!strcmp(vs->matchers[j]->name, m->name) &&
			    vs->matchers[j]->type == PROMQL_MATCH_EQ)
				break;
		first_eq = m->type == PROMQL_MATCH_EQ && j == i;
		if (!first_eq)
			promql_labels_del(l, &n, m->name);
	}
	*out = l;
	*nout = n;
	return 0;
err:
	promql_labels_free(l, n);
	return -ENOMEM;
}

static int eval_range_call(struct promql_ev *ev, const struct promql_node *n, int64_t t,
			   size_t midx, struct promql_result *out)
{
	const struct promql_node *ma = promql_unwrap_paren(n->args[midx]);
	struct promql_result m = { 0 }, a = { 0 };
	struct mctx c = { .ts = t };
	size_t i, j;
	int ret = 0;

	out->type = PROMQL_VECTOR;
	if (ma->kind == N_MSEL) {
		c.range_ms = ma->range_ms;
		c.offset_ms = ma->a->offset_ms;
		c.ts = promql_at_time(ev, ma->a, t);
	} else {
		c.range_ms = ma->range_ms;
		c.offset_ms = ma->offset_ms;
		c.ts = promql_at_time(ev, ma, t);
	}
	for (i = 0, j = 0; i < n->nargs; i++) {
		if (i == midx)
			continue;
		ret = promql_eval_node(ev, n->args[i], t, &a);
		if (ret)
			return ret;
		if (j++ == 0)
			c.arg = a.scalar;
		else
			c.arg2 = a.scalar;
		promql_result_free(&a);
	}
	if (n->func->id == F_HOLT_WINTERS) {
		if (!(c.arg > 0 && c.arg < 1))
			return promql_ev_error(ev, -EINVAL, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", c.arg);
		if (!(c.arg2 > 0 && c.arg2 < 1))
			return promql_ev_error(ev, -EINVAL, "invalid trend factor. Expected: 0 < tf < 1, got: %f", c.arg2);
	}
	ret = promql_eval_node(ev, n->args[midx], t, &m);
	if (ret)
		return ret;
	if (n->func->id == F_ABSENT_OVER_TIME) {
		struct promql_label *l;
		size_t nl;

		if (m.n)
			goto out;
		if (absent_labels(ma, &l, &nl) || promql_vec_push(out, l, nl, 1, t))
			ret = nomem(ev);
		goto out;
	}
	for (i = 0; i < m.n; i++) {
		struct promql_element *e = &m.elems[i];
		double v;

		if (!e->nsamples)
			continue;
		errno = 0;
		if (!range_fn(n, &c, e->samples, e->nsamples, &v)) {
			if (errno == ENOMEM) {
				ret = nomem(ev);
				goto out;
			}
			continue;
		}
		if (n->func->id != F_LAST_OVER_TIME)
			promql_labels_del(e->labels, &e->nlabels, "__name__");
		if (promql_vec_push(out, e->labels, e->nlabels, v, t)) {
			e->labels = NULL;
			ret = nomem(ev);
			goto out;
		}
		e->labels = NULL;
		e->nlabels = 0;
	}
out:
	promql_result_free(&m);
	return ret;
}

/* ---- histogram_quantile ---- */

struct bucket {
	double upper, count;
};

static int bucket_cmp(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	return x->upper < y->upper ? -1 : x->upper > y->upper ? 1 : 0;
}

/* Prometheus' bucketQuantile (classic histograms). */
static double bucket_quantile(double q, struct bucket *b, size_t n)
{
	double max = -INFINITY, obs, rank, start = 0, end, count;
	size_t i, k;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof(*b), bucket_cmp);
	if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
		return NAN;
	/* coalesce buckets with the same upper bound */
	for (i = 1, k = 0; i < n; i++) {
		if (b[i].upper == b[k].upper)
			b[k].count += b[i].count;
		else
			b[++k] = b[i];
	}
	n = k + 1;
	/* ensure monotonic counts */
	for (i = 0; i < n; i++) {
		if (b[i].count > max)
			max = b[i].count;
		else if (b[i].count < max)
			b[i].count = max;
	}
	if (n < 2)
		return NAN;
	obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	rank = q * obs;
	/* sort.Search over the first n - 1 buckets */
	for (k = 0; k < n - 1; k++)
		if (b[k].count >= rank)
			break;
	if (k == n - 1)
		return b[n - 2].upper;
	if (k == 0 && b[0].upper <= 0)
		return b[0].upper;
	end = b[k].upper;
	count = b[k].count;
	if (k > 0) {
		start = b[k - 1].upper;
		count -= b[k - 1].count;
		rank -= b[k - 1].count;
	}
	return start + (end - start) * (rank / count);
}

struct hgroup {
	struct promql_label *labels;
	size_t nlabels;
	struct bucket *b;
	size_t n;
};

static bool parse_go_float(const char *s, double *out)
{
	char *end;

	if (!*s || *s == ' ' || *s == '\t' || *s == '\n')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	if (*end)
		return false;
	if (errno == ERANGE && !isinf(*out) && *out != 0)
		return false;
	return true;
}

static int histogram_quantile(struct promql_ev *ev, double q, struct promql_result *in,
			      int64_t t, struct promql_result *out)
{
	struct hgroup *g = calloc(in->n ? in->n : 1, sizeof(*g));
	size_t ng = 0, i, j;
	int ret = 0;

	if (!g)
		return nomem(ev);
	for (i = 0; i < in->n; i++) {
		struct promql_element *e = &in->elems[i];
		const char *le = promql_labels_get(e->labels, e->nlabels, "le");
		double upper;
		struct bucket *nb;

		if (!le || !parse_go_float(le, &upper))
			continue;
		/* group by all labels but le (the metric name included) */
		promql_labels_del(e->labels, &e->nlabels, "le");
		for (j = 0; j < ng; j++)
			if (!promql_labels_cmp(g[j].labels, g[j].nlabels, e->labels, e->nlabels))
				break;
		if (j == ng) {
			g[ng].labels = e->labels;
			g[ng].nlabels = e->nlabels;
			e->labels = NULL;
			e->nlabels = 0;
			ng++;
		}
		nb = realloc(g[j].b, (g[j].n + 1) * sizeof(*nb));
		if (!nb) {
			ret = nomem(ev);
			goto out;
		}
		g[j].b = nb;
		nb[g[j].n].upper = upper;
		nb[g[j].n].count = e->v;
		g[j].n++;
	}
	for (j = 0; j < ng; j++) {
		double v = bucket_quantile(q, g[j].b, g[j].n);

		promql_labels_del(g[j].labels, &g[j].nlabels, "__name__");
		if (promql_vec_push(out, g[j].labels, g[j].nlabels, v, t)) {
			g[j].labels = NULL;
			ret = nomem(ev);
			goto out;
		}
		g[j].labels = NULL;
	}
out:
	for (j = 0; j < ng; j++) {
		promql_labels_free(g[j].labels, g[j].nlabels);
		free(g[j].b);
	}
	free(g);
	return ret;
}

/* ---- label_replace / label_join ---- */

static bool valid_label_name(const char *s)
{
	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; an unknown group
 * expands to nothing, a malformed reference is copied literally. */
static char *expand(const char *tmpl, const char *src, const regmatch_t *pm, size_t npm,
		    const struct promql_re_groups *g)
{
	size_t cap = strlen(tmpl) + 1, o = 0, i, k;
	char *out = malloc(cap), *np;

	if (!out)
		return NULL;
	for (i = 0; tmpl[i];) {
		const char *add = tmpl + i;
		size_t addlen = 1;

		if (tmpl[i] == '$' && tmpl[i + 1] == '$') {
			add = "$";
			i += 2;
		} else if (tmpl[i] == '$') {
			size_t s = i + 1, e;
			bool brace = tmpl[s] == '{';

			if (brace)
				s++;
			for (e = s; (tmpl[e] >= 'a' && tmpl[e] <= 'z') ||
				    (tmpl[e] >= 'A' && tmpl[e] <= 'Z') ||
				    (tmpl[e] >= '0' && tmpl[e] <= '9') || tmpl[e] == '_'; e++)
				;
			if (e == s || (brace && tmpl[e] != '}')) {
				i++;	/* malformed: '$' copied literally */
			} else {
				size_t num = 0;
				bool digits = true;
				int want = -2;

				for (k = s; k < e; k++) {
					if (tmpl[k] < '0' || tmpl[k] > '9') {
						digits = false;
						break;
					}
					if (num < 100000)
						num = num * 10 + (size_t)(tmpl[k] - '0');
				}
				if (digits)
					want = num < 100000 ? (int)num : -2;
				addlen = 0;
				add = "";
				for (k = 1; k < (size_t)g->n && k < npm; k++) {
					bool hit = digits ? g->re2_num[k] == want :
						   (strlen(g->name[k]) == e - s &&
						    !strncmp(g->name[k], tmpl + s, e - s));

					if (hit && pm[k].rm_so >= 0) {
						add = src + pm[k].rm_so;
						addlen = (size_t)(pm[k].rm_eo - pm[k].rm_so);
						break;
					}
				}
				i = brace ? e + 1 : e;
			}
		} else {
			i++;
		}
		if (o + addlen + 1 > cap) {
			cap = (cap + addlen) * 2;
			np = realloc(out, cap);
			if (!np) {
				free(out);
				return NULL;
			}
			out = np;
		}
		memcpy(out + o, add, addlen);
		o += addlen;
	}
	out[o] = 0;
	return out;
}

static int label_replace(struct promql_ev *ev, const struct promql_node *n,
			 struct promql_result *in, struct promql_result *args,
			 int64_t t, struct promql_result *out)
{
	const char *dst = args[1].str, *repl = args[2].str, *src = args[3].str;
	regmatch_t pm[PROMQL_RE_MAX_GROUPS];
	struct promql_re_groups g;
	regex_t re;
	char e[160];
	size_t i;
	int ret;

	(void)n;
	ret = promql_regcomp(&re, args[4].str, 0, &g, e, sizeof(e));
	if (ret == -ENOMEM)
		return nomem(ev);
	if (ret)
		return promql_ev_error(ev, -EINVAL, "invalid regular expression in label_replace(): %s: %s",
				       args[4].str, e);
	if (!valid_label_name(dst)) {
		regfree(&re);
		return promql_ev_error(ev, -EINVAL, "invalid destination label name in label_replace(): %s", dst);
	}
	for (i = 0; i < in->n; i++) {
		struct promql_element *el = &in->elems[i];
		const char *sv = promql_labels_get(el->labels, el->nlabels, src);

		if (!sv)
			sv = "";
		if (!regexec(&re, sv, PROMQL_RE_MAX_GROUPS, pm, 0)) {
			char *res = expand(repl, sv, pm, PROMQL_RE_MAX_GROUPS, &g);

			if (!res || promql_labels_set(&el->labels, &el->nlabels, dst, res)) {
				free(res);
				regfree(&re);
				return nomem(ev);
			}
			free(res);
		}
		if (promql_vec_push(out, el->labels, el->nlabels, el->v, t)) {
			el->labels = NULL;
			regfree(&re);
			return nomem(ev);
		}
		el->labels = NULL;
		el->nlabels = 0;
	}
	regfree(&re);
	return 0;
}

static int label_join(struct promql_ev *ev, struct promql_result *in,
		      struct promql_result *args, size_t nargs, int64_t t,
		      struct promql_result *out)
{
	const char *dst = args[1].str, *sep = args[2].str;
	size_t i, j;

	for (j = 3; j < nargs; j++)
		if (!valid_label_name(args[j].str))
			return promql_ev_error(ev, -EINVAL, "invalid source label name in label_join(): %s",
					       args[j].str);
	if (!valid_label_name(dst))
		return promql_ev_error(ev, -EINVAL, "invalid destination label name in label_join(): %s", dst);
	for (i = 0; i < in->n; i++) {
		struct promql_element *el = &in->elems[i];
		size_t len = 1;
		char *res;

		for (j = 3; j < nargs; j++) {
			const char *v = promql_labels_get(el->labels, el->nlabels, args[j].str);

			len += (v ? strlen(v) : 0) + strlen(sep);
		}
		res = malloc(len);
		if (!res)
			return nomem(ev);
		res[0] = 0;
		for (j = 3; j < nargs; j++) {
			const char *v = promql_labels_get(el->labels, el->nlabels, args[j].str);

			if (j > 3)
				strcat(res, sep);
			strcat(res, v ? v : "");
		}
		if (promql_labels_set(&el->labels, &el->nlabels, dst, res)) {
			free(res);
			return nomem(ev);
		}
		free(res);
		if (promql_vec_push(out, el->labels, el->nlabels, el->v, t)) {
			el->labels = NULL;
			return nomem(ev);
		}
		el->labels = NULL;
		el->nlabels = 0;
	}
	return 0;
}

/* ---- instant vector functions ---- */

static int sort_cmp(const void *a, const void *b, void *arg)
{
	const struct promql_element *x = a, *y = b;
	bool desc = *(const bool *)arg;

	/* Prometheus' Less puts NaN first in both directions */
	if (isnan(x->v))
		return isnan(y->v) ? 0 : -1;
	if (isnan(y->v))
		return 1;
	if (x->v == y->v)
		return 0;
	return (x->v < y->v) != desc ? -1 : 1;
}

static double date_fn(enum promql_func_id id, double v)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	time_t ts;

	if (!(v > -1e15 && v < 1e15))
		return NAN;
	ts = (time_t)v;
	if (!gmtime_r(&ts, &tm))
		return NAN;
	switch (id) {
	case F_DAY_OF_MONTH: return tm.tm_mday;
	case F_DAY_OF_WEEK: return tm.tm_wday;
	case F_DAY_OF_YEAR: return tm.tm_yday + 1;
	case F_HOUR: return tm.tm_hour;
	case F_MINUTE: return tm.tm_min;
	case F_MONTH: return tm.tm_mon + 1;
	case F_YEAR: return tm.tm_year + 1900;
	case F_DAYS_IN_MONTH: {
		int y = tm.tm_year + 1900;
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		return tm.tm_mon == 1 && leap ? 29 : mdays[tm.tm_mon];
	}
	default:
		return NAN;
	}
}

static double math_fn(enum promql_func_id id, double v, double a, double b)
{
	switch (id) {
	case F_ABS: return fabs(v);
	case F_CEIL: return ceil(v);
	case F_FLOOR: return floor(v);
	case F_EXP: return exp(v);
	case F_SQRT: return sqrt(v);
	case F_LN: return log(v);
	case F_LOG2: return log2(v);
	case F_LOG10: return log10(v);
	case F_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
	case F_ACOS: return acos(v);
	case F_ACOSH: return acosh(v);
	case F_ASIN: return asin(v);
	case F_ASINH: return asinh(v);
	case F_ATAN: return atan(v);
	case F_ATANH: return atanh(v);
	case F_COS: return cos(v);
	case F_COSH: return cosh(v);
	case F_SIN: return sin(v);
	case F_SINH: return sinh(v);
	case F_TAN: return tan(v);
	case F_TANH: return tanh(v);
	case F_DEG: return v * 180 / M_PI;
	case F_RAD: return v * M_PI / 180;
	case F_CLAMP: return go_max(a, go_min(b, v));
	case F_CLAMP_MAX: return go_min(a, v);
	case F_CLAMP_MIN: return go_max(a, v);
	case F_ROUND: return floor(v * (1.0 / a) + 0.5) / (1.0 / a);
	case F_TIMESTAMP: return v;
	default: return date_fn(id, v);
	}
}

int promql_eval_call(struct promql_ev *ev, const struct promql_node *n, int64_t t,
		     struct promql_result *out)
{
	enum promql_func_id id = n->func->id;
	struct promql_result *args;
	size_t i, nargs = n->nargs;
	int ret = 0;
	double a = 0, b = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nargs; i++)
		if (n->args[i]->type == PROMQL_MATRIX)
			return eval_range_call(ev, n, t, i, out);
	if (id == F_TIME || id == F_PI) {
		out->type = PROMQL_SCALAR;
		out->scalar = id == F_PI ? M_PI : (double)t / 1000;
		return 0;
	}
	/* at least 3 slots: the switch below reads args[0..2] */
	args = calloc(nargs > 3 ? nargs : 3, sizeof(*args));
	if (!args)
		return nomem(ev);
	for (i = 0; i < nargs; i++) {
		ret = promql_eval_node(ev, n->args[i], t, &args[i]);
		if (ret)
			goto out;
	}
	out->type = n->func->ret;
	switch (id) {
	case F_VECTOR:
		ret = promql_vec_push(out, NULL, 0, args[0].scalar, t) ? nomem(ev) : 0;
		goto out;
	case F_SCALAR:
		out->scalar = args[0].n == 1 ? args[0].elems[0].v : NAN;
		goto out;
	case F_ABSENT: {
		struct promql_label *l;
		size_t nl;

		if (args[0].n)
			goto out;
		if (absent_labels(n->args[0], &l, &nl) || promql_vec_push(out, l, nl, 1, t))
			ret = nomem(ev);
		goto out;
	}
	case F_HISTOGRAM_QUANTILE:
		ret = histogram_quantile(ev, args[0].scalar, &args[1], t, out);
		goto out;
	case F_LABEL_REPLACE:
		ret = label_replace(ev, n, &args[0], args, t, out);
		goto out;
	case F_LABEL_JOIN:
		ret = label_join(ev, &args[0], args, n->nargs, t, out);
		goto out;
	case F_SORT:
	case F_SORT_DESC:
		*out = args[0];
		memset(&args[0], 0, sizeof(args[0]));
		if (out->n > 1) {
			bool desc = id == F_SORT_DESC;

			qsort_r(out->elems, out->n, sizeof(*out->elems), sort_cmp, &desc);
		}
		for (i = 0; i < out->n; i++)
			out->elems[i].t = t;
		goto out;
	case F_CLAMP:
		a = args[1].scalar;
		b = args[2].scalar;
		if (b < a)
			goto out;
		break;
	case F_CLAMP_MAX:
	case F_CLAMP_MIN:
		a = args[1].scalar;
		break;
	case F_ROUND:
		a = n->nargs > 1 ? args[1].scalar : 1;
		break;
	default:
		break;
	}
	/* element-wise functions; date functions default to vector(time()) */
	if (!n->nargs) {
		ret = promql_vec_push(out, NULL, 0, date_fn(id, (double)t / 1000), t) ? nomem(ev) : 0;
		goto out;
	}
	{
		bool sel = id == F_TIMESTAMP &&
			   promql_unwrap_paren(n->args[0])->kind == N_VSEL;

		for (i = 0; i < args[0].n; i++) {
			struct promql_element *e = &args[0].elems[i];
			double v = e->v;

			if (id == F_TIMESTAMP)
				v = (double)(sel ? e->t : t) / 1000;
			promql_labels_del(e->labels, &e->nlabels, "__name__");
			if (promql_vec_push(out, e->labels, e->nlabels, math_fn(id, v, a, b), t)) {
				e->labels = NULL;
				ret = nomem(ev);
				goto out;
			}
			e->labels = NULL;
			e->nlabels = 0;
		}
	}
out:
	for (i = 0; i < nargs; i++)
		promql_result_free(&args[i]);
	free(args);
	return ret;
}
