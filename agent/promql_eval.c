// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL evaluator: selectors (lookback, staleness), subqueries, unary and
 * binary operators with vector matching, aggregations.  Functions live in
 * promql_func.c.  Each node is evaluated at one timestamp; a range
 * evaluation (subqueries, promql_eval_range) evaluates at every step.
 * Semantics follow Prometheus 2.42's promql/engine.go.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql_int.h"

int promql_ev_error(struct promql_ev *ev, int ret, const char *fmt, ...)
{
	va_list ap;

	if (ev->err->msg[0])
		return ret;
	va_start(ap, fmt);
	vsnprintf(ev->err->msg, sizeof(ev->err->msg), fmt, ap);
	va_end(ap);
	return ret;
}

static int nomem(struct promql_ev *ev)
{
	return promql_ev_error(ev, -ENOMEM, "out of memory");
}

int64_t promql_at_time(const struct promql_ev *ev, const struct promql_node *n, int64_t t)
{
	if (!n->has_at)
		return t;
	if (n->at_kind)
		return n->at_kind == 1 ? ev->start_ms : ev->end_ms;
	return n->at_ms;
}

const struct promql_node *promql_unwrap_paren(const struct promql_node *n)
{
	while (n && n->kind == N_PAREN)
		n = n->a;
	return n;
}

int promql_vec_push(struct promql_result *r, struct promql_label *labels,
		    size_t nlabels, double v, int64_t t)
{
	struct promql_element *e;

	if (!(r->n & (r->n - 1)) || !r->elems) {
		size_t cap = r->n ? r->n * 2 : 4;

		e = realloc(r->elems, cap * sizeof(*e));
		if (!e) {
			promql_labels_free(labels, nlabels);
			return -ENOMEM;
		}
		r->elems = e;
	}
	e = &r->elems[r->n++];
	memset(e, 0, sizeof(*e));
	e->labels = labels;
	e->nlabels = nlabels;
	e->v = v;
	e->t = t;
	return 0;
}

int promql_labels_drop_name(const struct promql_label *l, size_t n,
			    struct promql_label **out, size_t *nout)
{
	int ret = promql_labels_dup(l, n, out);

	if (ret)
		return ret;
	*nout = n;
	promql_labels_del(*out, nout, "__name__");
	return 0;
}

/* ---- selectors ---- */

struct sel_ctx {
	struct promql_ev *ev;
	struct promql_result *out;
	int64_t ref, mint;
	bool matrix;
};

static int copy_labels(const struct promql_label *l, size_t n, struct promql_label **out)
{
	int ret = promql_labels_dup(l, n, out);

	if (!ret)
		promql_labels_sort(*out, n);
	return ret;
}

/*
 * Instant selection: the newest sample in [ref - lookback, ref], none when
 * that sample is a staleness marker.  Range selection: every sample in
 * [ref - range, ref] except staleness markers (Prometheus 2.x closed
 * interval); series left without samples are dropped.
 */
static int sel_emit(void *ectx, const struct promql_label *labels, size_t nlabels,
		    const struct promql_sample *s, size_t ns)
{
	struct sel_ctx *c = ectx;
	struct promql_label *l;
	struct promql_element *e;
	size_t i, k = 0;
	int ret;

	if (!c->matrix) {
		for (i = ns; i > 0; i--)
			if (s[i - 1].t <= c->ref)
				break;
		if (!i || s[i - 1].t < c->mint || promql_is_stale(s[i - 1].v))
			return 0;
		ret = copy_labels(labels, nlabels, &l);
		if (ret)
			return ret;
		return promql_vec_push(c->out, l, nlabels, s[i - 1].v, s[i - 1].t);
	}
	for (i = 0; i < ns; i++)
		if (s[i].t >= c->mint && s[i].t <= c->ref && !promql_is_stale(s[i].v))
			k++;
	if (!k)
		return 0;
	c->ev->samples += k;
	if (c->ev->samples > c->ev->max_samples)
		return -E2BIG;
	ret = copy_labels(labels, nlabels, &l);
	if (ret)
		return ret;
	ret = promql_vec_push(c->out, l, nlabels, 0, 0);
	if (ret)
		return ret;
	e = &c->out->elems[c->out->n - 1];
	e->samples = malloc(k * sizeof(*e->samples));
	if (!e->samples)
		return -ENOMEM;
	for (i = 0, k = 0; i < ns; i++)
		if (s[i].t >= c->mint && s[i].t <= c->ref && !promql_is_stale(s[i].v))
			e->samples[k++] = s[i];
	e->nsamples = k;
	return 0;
}

static int elem_cmp(const void *a, const void *b)
{
	const struct promql_element *x = a, *y = b;

	return promql_labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels);
}

static int select_series(struct promql_ev *ev, const struct promql_node *vs,
			 int64_t ref, int64_t mint, bool matrix,
			 struct promql_result *out)
{
	struct sel_ctx c = { .ev = ev, .out = out, .ref = ref, .mint = mint,
			     .matrix = matrix };
	int ret;

	out->type = matrix ? PROMQL_MATRIX : PROMQL_VECTOR;
	ret = ev->st->select(ev->st->ctx, (const struct promql_matcher *const *)vs->matchers,
			     vs->nmatchers, mint, ref, sel_emit, &c);
	if (ret == -E2BIG)
		return promql_ev_error(ev, ret, "query processing would load too many samples into memory in query execution");
	if (ret == -ENOMEM)
		return nomem(ev);
	if (ret)
		return promql_ev_error(ev, ret, "select: %s", strerror(-ret));
	/* Prometheus' storage hands series over sorted by labels, and the
	 * order shows in the last bits of sums, so sort whatever ours did */
	if (out->n > 1)
		qsort(out->elems, out->n, sizeof(*out->elems), elem_cmp);
	return 0;
}

/* ---- subqueries ---- */

struct series_acc {
	char *key;
	size_t idx;
};

/* A label set as a string key, for grouping and matching. */
static char *labels_key(const struct promql_label *l, size_t n)
{
	size_t len = 1, i, o = 0;
	char *k;

	for (i = 0; i < n; i++)
		len += strlen(l[i].name) + strlen(l[i].value) + 2;
	k = malloc(len);
	if (!k)
		return NULL;
	for (i = 0; i < n; i++) {
		size_t a = strlen(l[i].name), b = strlen(l[i].value);

		memcpy(k + o, l[i].name, a);
		o += a;
		k[o++] = '\xff';
		memcpy(k + o, l[i].value, b);
		o += b;
		k[o++] = '\xfe';
	}
	k[o] = 0;
	return k;
}

/* Open-addressing string map to element indexes. */
struct smap {
	char **keys;
	size_t *vals;
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void smap_free(struct smap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Finds @key; returns its slot pointer or NULL. */
static size_t *smap_get(const struct smap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = str_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->keys[i], key))
			return &m->vals[i];
	return NULL;
}

/* Inserts @key (ownership taken, freed on failure); 0 or -ENOMEM. */
static int smap_put(struct smap *m, char *key, size_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct smap nm = { 0 };
		size_t cap = m->cap ? m->cap * 2 : 16;

		nm.keys = calloc(cap, sizeof(*nm.keys));
		nm.vals = calloc(cap, sizeof(*nm.vals));
		if (!nm.keys || !nm.vals) {
			free(nm.keys);
			free(nm.vals);
			free(key);
			return -ENOMEM;
		}
		nm.cap = cap;
		for (i = 0; i < m->cap; i++) {
			size_t j;

			if (!m->keys[i])
				continue;
			for (j = str_hash(m->keys[i]) & (cap - 1); nm.keys[j]; j = (j + 1) & (cap - 1))
				;
			nm.keys[j] = m->keys[i];
			nm.vals[j] = m->vals[i];
		}
		nm.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	for (i = str_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
	return 0;
}

static int push_point(struct promql_ev *ev, struct promql_element *e, int64_t t, double v)
{
	struct promql_sample *s;

	if (!(e->nsamples & (e->nsamples - 1)) || !e->samples) {
		size_t cap = e->nsamples ? e->nsamples * 2 : 4;

		s = realloc(e->samples, cap * sizeof(*s));
		if (!s)
			return nomem(ev);
		e->samples = s;
	}
	if (++ev->samples > ev->max_samples)
		return promql_ev_error(ev, -E2BIG, "query processing would load too many samples into memory in query execution");
	e->samples[e->nsamples].t = t;
	e->samples[e->nsamples].v = v;
	e->nsamples++;
	return 0;
}

/* Evaluates @n at start, start + step, ... <= end into a matrix. */
static int eval_steps(struct promql_ev *ev, const struct promql_node *n, int64_t start,
		      int64_t end, int64_t step, struct promql_result *out)
{
	struct smap m = { 0 };
	int64_t ts;
	int ret = 0;
	size_t i;

	out->type = PROMQL_MATRIX;
	for (ts = start; ts <= end; ts += step) {
		struct promql_result r = { 0 };

		/* each step counts as a sample so a tiny step over a long
		 * range is refused instead of running for hours */
		if (++ev->samples > ev->max_samples) {
			ret = promql_ev_error(ev, -E2BIG, "query processing would load too many samples into memory in query execution");
			goto out;
		}

		ret = promql_eval_node(ev, n, ts, &r);
		if (ret)
			goto out;
		if (r.type == PROMQL_SCALAR) {
			/* a scalar becomes a series without labels */
			ret = promql_vec_push(&r, NULL, 0, r.scalar, ts);
			if (ret) {
				ret = nomem(ev);
				goto out;
			}
		}
		for (i = 0; i < r.n; i++) {
			struct promql_element *e = &r.elems[i];
			char *key = labels_key(e->labels, e->nlabels);
			size_t *idx;

			if (!key) {
				promql_result_free(&r);
				ret = nomem(ev);
				goto out;
			}
			idx = smap_get(&m, key);
			if (idx) {
				free(key);
				if (out->elems[*idx].nsamples &&
				    out->elems[*idx].samples[out->elems[*idx].nsamples - 1].t == ts) {
					promql_result_free(&r);
					ret = promql_ev_error(ev, -EINVAL, "vector cannot contain metrics with the same labelset");
					goto out;
				}
				ret = push_point(ev, &out->elems[*idx], ts, e->v);
			} else {
				ret = smap_put(&m, key, out->n);
				if (!ret) {
					ret = promql_vec_push(out, e->labels, e->nlabels, 0, 0);
					e->labels = NULL;
					e->nlabels = 0;
				}
				if (ret)
					ret = nomem(ev);
				else
					ret = push_point(ev, &out->elems[out->n - 1], ts, e->v);
			}
			if (ret) {
				promql_result_free(&r);
				goto out;
			}
		}
		promql_result_free(&r);
		if (step <= 0 || ts > INT64_MAX - step)
			break;
	}
out:
	smap_free(&m);
	return ret;
}

static int eval_subquery(struct promql_ev *ev, const struct promql_node *n, int64_t t,
			 struct promql_result *out)
{
	int64_t ref = promql_at_time(ev, n, t) - n->offset_ms;
	int64_t step = n->step_ms ? n->step_ms : ev->default_step_ms;
	int64_t start = ref - n->range_ms;
	int64_t aligned;

	/* first step-aligned timestamp at or after ref - range, as Prometheus */
	aligned = step * (start / step);
	if (aligned < start)
		aligned += step;
	return eval_steps(ev, n->a, aligned, ref, step, out);
}

/* ---- duplicate check ---- */

static int elem_ptr_cmp(const void *a, const void *b)
{
	const struct promql_element *x = *(const struct promql_element *const *)a;
	const struct promql_element *y = *(const struct promql_element *const *)b;

	return promql_labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels);
}

static int check_dups(struct promql_ev *ev, const struct promql_result *r)
{
	const struct promql_element **p;
	size_t i;
	int ret = 0;

	if (r->type != PROMQL_VECTOR || r->n < 2)
		return 0;
	p = malloc(r->n * sizeof(*p));
	if (!p)
		return nomem(ev);
	for (i = 0; i < r->n; i++)
		p[i] = &r->elems[i];
	qsort(p, r->n, sizeof(*p), elem_ptr_cmp);
	for (i = 1; i < r->n; i++) {
		if (!elem_ptr_cmp(&p[i - 1], &p[i])) {
			ret = promql_ev_error(ev, -EINVAL, "vector cannot contain metrics with the same labelset");
			break;
		}
	}
	free(p);
	return ret;
}

/* ---- binary operators ---- */

/* Go's math.Atan (Cephes), so atan2 results match Prometheus bit for bit
 * where glibc's differ in the last place. */
static double go_xatan(double x)
{
	const double P0 = -8.750608600031904122785e-01, P1 = -1.615753718733365076637e+01,
		     P2 = -7.500855792314704667340e+01, P3 = -1.228866684490136173410e+02,
		     P4 = -6.485021904942025371773e+01, Q0 = +2.485846490142306297962e+01,
		     Q1 = +1.650270098316988542046e+02, Q2 = +4.328810604912902668951e+02,
		     Q3 = +4.853903996359136964868e+02, Q4 = +1.945506571482613964425e+02;
	double z = x * x;

	z = z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4) /
	    (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
	return x * z + x;
}

static double go_satan(double x)
{
	const double morebits = 6.123233995736765886130e-17, tan3pio8 = 2.41421356237309504880;

	if (x <= 0.66)
		return go_xatan(x);
	if (x > tan3pio8)
		return M_PI / 2 - go_xatan(1 / x) + morebits;
	return M_PI / 4 + go_xatan((x - 1) / (x + 1)) + 0.5 * morebits;
}

static double go_atan2(double y, double x)
{
	double q;

	if (isnan(y) || isnan(x))
		return NAN;
	if (y == 0) {
		if (x >= 0 && !signbit(x))
			return copysign(0, y);
		return copysign(M_PI, y);
	}
	if (x == 0)
		return copysign(M_PI / 2, y);
	if (isinf(x)) {
		if (x > 0)
			return isinf(y) ? copysign(M_PI / 4, y) : copysign(0, y);
		return isinf(y) ? copysign(3 * M_PI / 4, y) : copysign(M_PI, y);
	}
	if (isinf(y))
		return copysign(M_PI / 2, y);
	q = y / x;
	q = q == 0 ? q : q > 0 ? go_satan(q) : -go_satan(-q);
	if (x < 0)
		return q <= 0 ? q + M_PI : q - M_PI;
	return q;
}

/* Prometheus' vectorElemBinop: value, and whether a comparison holds. */
static double elem_binop(enum promql_op op, double l, double r, bool *keep)
{
	*keep = true;
	switch (op) {
	case OP_ADD: return l + r;
	case OP_SUB: return l - r;
	case OP_MUL: return l * r;
	case OP_DIV: return l / r;
	case OP_POW: return pow(l, r);
	case OP_MOD: return fmod(l, r);
	case OP_ATAN2: return go_atan2(l, r);
	case OP_EQ: *keep = l == r; return l;
	case OP_NE: *keep = l != r; return l;
	case OP_GT: *keep = l > r; return l;
	case OP_LT: *keep = l < r; return l;
	case OP_GE: *keep = l >= r; return l;
	case OP_LE: *keep = l <= r; return l;
	default: return NAN;
	}
}

static bool op_is_cmp(enum promql_op op)
{
	return op >= OP_EQ && op <= OP_LE;
}

/* + - * / % ^ drop the metric name (shouldDropMetricName); atan2 keeps
 * it in Prometheus 2.42. */
static bool op_drops_name(enum promql_op op)
{
	return op <= OP_POW;
}

static int vec_scalar(struct promql_ev *ev, const struct promql_node *n,
		      struct promql_result *vec, double s, bool swap,
		      struct promql_result *out)
{
	size_t i;

	out->type = PROMQL_VECTOR;
	for (i = 0; i < vec->n; i++) {
		struct promql_element *e = &vec->elems[i];
		double l = e->v, r = s, v;
		bool keep;

		if (swap) {
			l = s;
			r = e->v;
		}
		v = elem_binop(n->op, l, r, &keep);
		if (op_is_cmp(n->op) && swap)
			v = r;
		if (n->return_bool) {
			v = keep ? 1 : 0;
			keep = true;
		}
		if (!keep)
			continue;
		if (op_drops_name(n->op) || n->return_bool)
			promql_labels_del(e->labels, &e->nlabels, "__name__");
		if (promql_vec_push(out, e->labels, e->nlabels, v, e->t))
			return nomem(ev);
		e->labels = NULL;
		e->nlabels = 0;
	}
	return 0;
}

static bool in_list(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Matching signature: on(...) keeps only the listed labels, ignoring(...)
 * (or no modifier) drops them and the metric name. */
static char *match_key(const struct promql_node *n, const struct promql_element *e)
{
	struct promql_label *l = malloc((e->nlabels + 1) * sizeof(*l));
	size_t i, k = 0;
	char *key;

	if (!l)
		return NULL;
	for (i = 0; i < e->nlabels; i++) {
		bool listed = in_list(n->mlabels, n->nmlabels, e->labels[i].name);

		if (n->on ? listed : (!listed && strcmp(e->labels[i].name, "__name__")))
			l[k++] = e->labels[i];
	}
	key = labels_key(l, k);
	free(l);
	return key;
}

static int set_op(struct promql_ev *ev, const struct promql_node *n,
		  struct promql_result *lhs, struct promql_result *rhs,
		  struct promql_result *out)
{
	struct smap m = { 0 };
	size_t i;
	int ret = 0;
	char *key;

	out->type = PROMQL_VECTOR;
	if (n->op == OP_AND && (!lhs->n || !rhs->n))
		return 0;
	/* and, unless: the right side's signatures; or: the left side's */
	{
		struct promql_result *src = n->op == OP_OR ? lhs : rhs;

		for (i = 0; i < src->n; i++) {
			key = match_key(n, &src->elems[i]);
			if (!key)
				goto err_nomem;
			if (smap_get(&m, key)) {
				free(key);
				continue;
			}
			if (smap_put(&m, key, i))
				goto err_nomem;
		}
	}
	for (i = 0; i < lhs->n; i++) {
		struct promql_element *e = &lhs->elems[i];
		bool found;

		if (n->op != OP_OR) {
			key = match_key(n, e);
			if (!key)
				goto err_nomem;
			found = smap_get(&m, key) != NULL;
			free(key);
			if (found != (n->op == OP_AND))
				continue;
		}
		if (promql_vec_push(out, e->labels, e->nlabels, e->v, e->t))
			goto err_nomem;
		e->labels = NULL;
		e->nlabels = 0;
	}
	if (n->op == OP_OR) {
		for (i = 0; i < rhs->n; i++) {
			struct promql_element *e = &rhs->elems[i];
			bool found;

			key = match_key(n, e);
			if (!key)
				goto err_nomem;
			found = smap_get(&m, key) != NULL;
			free(key);
			if (found)
				continue;
			if (promql_vec_push(out, e->labels, e->nlabels, e->v, e->t))
				goto err_nomem;
			e->labels = NULL;
			e->nlabels = 0;
		}
	}
	smap_free(&m);
	return ret;
err_nomem:
	smap_free(&m);
	return nomem(ev);
}

static void labels_str(const struct promql_label *l, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	o += snprintf(buf + o, len - o, "{");
	for (i = 0; i < n && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s=\"%s\"", i ? ", " : "", l[i].name,
			      l[i].value);
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

/* The labels a pair is matched on, printed (MatchLabels().String()). */
static void match_group_str(const struct promql_node *n, const struct promql_element *e,
			    char *buf, size_t len)
{
	struct promql_label l[64];
	size_t i, k = 0;

	for (i = 0; i < e->nlabels && k < 64; i++) {
		bool listed = in_list(n->mlabels, n->nmlabels, e->labels[i].name);

		if (n->on ? listed : (!listed && strcmp(e->labels[i].name, "__name__")))
			l[k++] = e->labels[i];
	}
	labels_str(l, k, buf, len);
}

/* Result labels of a matched pair (Prometheus' resultMetric). */
static int result_labels(const struct promql_node *n, const struct promql_element *ls,
			 const struct promql_element *rs, struct promql_label **out,
			 size_t *nout)
{
	struct promql_label *l;
	size_t nl = ls->nlabels, i;
	const char *v;

	if (promql_labels_dup(ls->labels, ls->nlabels, &l))
		return -ENOMEM;
	if (op_drops_name(n->op) || n->return_bool)
		promql_labels_del(l, &nl, "__name__");
	if (n->card == CARD_ONE_TO_ONE) {
		for (i = 0; i < nl;) {
			bool listed = in_list(n->mlabels, n->nmlabels, l[i].name);

			if (n->on ? !listed : listed)
				promql_labels_del(l, &nl, l[i].name);
			else
				i++;
		}
	}
	for (i = 0; i < n->ninclude; i++) {
		v = promql_labels_get(rs->labels, rs->nlabels, n->include[i]);
		if (promql_labels_set(&l, &nl, n->include[i], v)) {
			promql_labels_free(l, nl);
			return -ENOMEM;
		}
	}
	*out = l;
	*nout = nl;
	return 0;
}

static int vec_vec(struct promql_ev *ev, const struct promql_node *n,
		   struct promql_result *lhs, struct promql_result *rhs,
		   struct promql_result *out)
{
	struct smap right = { 0 }, matched = { 0 }, inserted = { 0 };
	struct promql_result *l = lhs, *r = rhs;
	size_t i, *idx;
	int ret = 0;

	out->type = PROMQL_VECTOR;
	if (!lhs->n || !rhs->n)
		return 0;
	if (n->card == CARD_ONE_TO_MANY) {
		l = rhs;
		r = lhs;
	}
	for (i = 0; i < r->n; i++) {
		char *key = match_key(n, &r->elems[i]);

		if (!key)
			goto err_nomem;
		idx = smap_get(&right, key);
		if (idx) {
			char a[96], b[96], g[96];

			free(key);
			labels_str(r->elems[i].labels, r->elems[i].nlabels, a, sizeof(a));
			labels_str(r->elems[*idx].labels, r->elems[*idx].nlabels, b, sizeof(b));
			match_group_str(n, &r->elems[i], g, sizeof(g));
			ret = promql_ev_error(ev, -EINVAL,
					      "found duplicate series for the match group %s on the %s hand-side of the operation: [%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
					      g, n->card == CARD_ONE_TO_MANY ? "left" : "right", a, b);
			goto out;
		}
		if (smap_put(&right, key, i))
			goto err_nomem;
	}
	for (i = 0; i < l->n; i++) {
		struct promql_element *ls = &l->elems[i], *rs;
		struct promql_label *ml;
		size_t nml;
		char *key = match_key(n, ls), *mkey;
		double vl, vr, v;
		bool keep;

		if (!key)
			goto err_nomem;
		idx = smap_get(&right, key);
		if (!idx) {
			free(key);
			continue;
		}
		rs = &r->elems[*idx];
		vl = ls->v;
		vr = rs->v;
		if (n->card == CARD_ONE_TO_MANY) {
			vl = rs->v;
			vr = ls->v;
		}
		v = elem_binop(n->op, vl, vr, &keep);
		if (n->return_bool) {
			v = keep ? 1 : 0;
		} else if (!keep) {
			free(key);
			continue;
		}
		if (result_labels(n, ls, rs, &ml, &nml)) {
			free(key);
			goto err_nomem;
		}
		if (n->card == CARD_ONE_TO_ONE) {
			if (smap_get(&matched, key)) {
				free(key);
				promql_labels_free(ml, nml);
				ret = promql_ev_error(ev, -EINVAL, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
				goto out;
			}
			if (smap_put(&matched, key, 0)) {
				promql_labels_free(ml, nml);
				goto err_nomem;
			}
		} else {
			/* grouping labels must make the results unique per match group */
			char *lk = labels_key(ml, nml);
			size_t kl = strlen(key);

			mkey = lk ? malloc(kl + strlen(lk) + 2) : NULL;
			if (!mkey) {
				free(lk);
				free(key);
				promql_labels_free(ml, nml);
				goto err_nomem;
			}
			memcpy(mkey, key, kl);
			mkey[kl] = '\xfd';
			strcpy(mkey + kl + 1, lk);
			free(lk);
			free(key);
			if (smap_get(&inserted, mkey)) {
				free(mkey);
				promql_labels_free(ml, nml);
				ret = promql_ev_error(ev, -EINVAL, "multiple matches for labels: grouping labels must ensure unique matches");
				goto out;
			}
			if (smap_put(&inserted, mkey, 0)) {
				promql_labels_free(ml, nml);
				goto err_nomem;
			}
		}
		if (promql_vec_push(out, ml, nml, v, 0))
			goto err_nomem;
	}
out:
	smap_free(&right);
	smap_free(&matched);
	smap_free(&inserted);
	return ret;
err_nomem:
	ret = nomem(ev);
	goto out;
}

static int eval_binary(struct promql_ev *ev, const struct promql_node *n, int64_t t,
		       struct promql_result *out)
{
	struct promql_result l = { 0 }, r = { 0 };
	int ret;
	size_t i;

	ret = promql_eval_node(ev, n->a, t, &l);
	if (!ret)
		ret = promql_eval_node(ev, n->b, t, &r);
	if (ret)
		goto out;
	if (l.type == PROMQL_SCALAR && r.type == PROMQL_SCALAR) {
		bool keep;
		double v = elem_binop(n->op, l.scalar, r.scalar, &keep);

		out->type = PROMQL_SCALAR;
		out->scalar = op_is_cmp(n->op) ? (keep ? 1 : 0) : v;
	} else if (l.type == PROMQL_VECTOR && r.type == PROMQL_SCALAR) {
		ret = vec_scalar(ev, n, &l, r.scalar, false, out);
	} else if (l.type == PROMQL_SCALAR && r.type == PROMQL_VECTOR) {
		ret = vec_scalar(ev, n, &r, l.scalar, true, out);
	} else if (n->op >= OP_AND) {
		ret = set_op(ev, n, &l, &r, out);
	} else {
		ret = vec_vec(ev, n, &l, &r, out);
	}
	if (!ret && out->type == PROMQL_VECTOR) {
		for (i = 0; i < out->n; i++)
			out->elems[i].t = t;
		ret = check_dups(ev, out);
	}
out:
	promql_result_free(&l);
	promql_result_free(&r);
	return ret;
}

/* ---- aggregations ---- */

struct group {
	struct promql_label *labels;
	size_t nlabels;
	double value, mean;
	size_t count;
	struct promql_element **heap;	/* topk, bottomk, quantile members */
	size_t nheap, capheap;
};

/* Go's container/heap ordering used by topk (min-heap, NaN lowest) and
 * bottomk (max-heap, NaN "lowest" too). */
static bool heap_less(struct promql_element *a, struct promql_element *b, bool reverse)
{
	if (isnan(a->v))
		return true;
	return reverse ? a->v > b->v : a->v < b->v;
}

static void heap_down(struct group *g, size_t i, bool rev)
{
	for (;;) {
		size_t l = 2 * i + 1, j = l, r = l + 1;
		struct promql_element *tmp;

		if (l >= g->nheap)
			break;
		if (r < g->nheap && heap_less(g->heap[r], g->heap[l], rev))
			j = r;
		if (!heap_less(g->heap[j], g->heap[i], rev))
			break;
		tmp = g->heap[i];
		g->heap[i] = g->heap[j];
		g->heap[j] = tmp;
		i = j;
	}
}

static void heap_up(struct group *g, size_t i, bool rev)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct promql_element *tmp;

		if (!heap_less(g->heap[i], g->heap[p], rev))
			break;
		tmp = g->heap[i];
		g->heap[i] = g->heap[p];
		g->heap[p] = tmp;
		i = p;
	}
}

static int heap_add(struct group *g, struct promql_element *e)
{
	if (g->nheap == g->capheap) {
		size_t cap = g->capheap ? g->capheap * 2 : 4;
		struct promql_element **h = realloc(g->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		g->heap = h;
		g->capheap = cap;
	}
	g->heap[g->nheap++] = e;
	return 0;
}

static int heap_push(struct group *g, struct promql_element *e, bool rev)
{
	if (heap_add(g, e))
		return -ENOMEM;
	heap_up(g, g->nheap - 1, rev);
	return 0;
}

static void heap_pop(struct group *g, bool rev)
{
	g->heap[0] = g->heap[--g->nheap];
	heap_down(g, 0, rev);
}

static int heap_sort_cmp(const void *a, const void *b, void *arg)
{
	struct promql_element *x = *(struct promql_element *const *)a;
	struct promql_element *y = *(struct promql_element *const *)b;
	bool rev_sort = *(const bool *)arg;

	/* sort.Reverse: descending by heap_less */
	if (heap_less(y, x, rev_sort))
		return -1;
	if (heap_less(x, y, rev_sort))
		return 1;
	return 0;
}

static int dbl_nan_first(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y ? 1 : 0;
}

double promql_quantile(double q, double *v, size_t n)
{
	double rank, lo, hi, w;

	if (!n || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(v, n, sizeof(*v), dbl_nan_first);
	rank = q * (double)(n - 1);
	lo = fmax(0, floor(rank));
	hi = fmin((double)n - 1, lo + 1);
	w = rank - floor(rank);
	return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

/* Grouping key of a label set and, if @out, the group's labels. */
static int group_key_labels(const struct promql_node *n, const struct promql_label *l,
			    size_t nl, const char *extra, char **key,
			    struct promql_label **out, size_t *nout)
{
	struct promql_label *g = malloc((nl + 1) * sizeof(*g));
	size_t i, k = 0;

	if (!g)
		return -ENOMEM;
	for (i = 0; i < nl; i++) {
		bool listed = in_list(n->grouping, n->ngrouping, l[i].name) ||
			      (extra && !strcmp(l[i].name, extra));

		if (n->without ? (!listed && strcmp(l[i].name, "__name__")) : listed)
			g[k++] = l[i];
	}
	*key = labels_key(g, k);
	if (!*key) {
		free(g);
		return -ENOMEM;
	}
	if (out) {
		if (promql_labels_dup(g, k, out)) {
			free(g);
			free(*key);
			return -ENOMEM;
		}
		*nout = k;
	}
	free(g);
	return 0;
}

static bool valid_label(const char *s)
{
	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static int eval_agg(struct promql_ev *ev, const struct promql_node *n, int64_t t,
		    struct promql_result *out)
{
	struct promql_result in = { 0 }, pr = { 0 };
	struct smap m = { 0 };
	struct group *groups = NULL;
	size_t ngroups = 0, i, j;
	int64_t k = 0;
	double q = 0;
	const char *vlabel = NULL;
	bool topk = n->agg == AGG_TOPK, botk = n->agg == AGG_BOTTOMK;
	int ret;

	out->type = PROMQL_VECTOR;
	if (n->param) {
		ret = promql_eval_node(ev, n->param, t, &pr);
		if (ret)
			goto out;
	}
	ret = promql_eval_node(ev, n->a, t, &in);
	if (ret)
		goto out;
	if (topk || botk) {
		if (!(pr.scalar >= -9.2233720368547758e18 && pr.scalar <= 9.2233720368547758e18)) {
			ret = promql_ev_error(ev, -EINVAL, "Scalar value %g overflows int64", pr.scalar);
			goto out;
		}
		k = (int64_t)pr.scalar;
		if (k < 1)
			goto out;
	}
	if (n->agg == AGG_QUANTILE)
		q = pr.scalar;
	if (n->agg == AGG_COUNT_VALUES) {
		vlabel = pr.str;
		if (!valid_label(vlabel)) {
			ret = promql_ev_error(ev, -EINVAL, "invalid label name \"%s\"", vlabel);
			goto out;
		}
	}
	groups = calloc(in.n ? in.n : 1, sizeof(*groups));
	if (!groups)
		goto err_nomem;
	for (i = 0; i < in.n; i++) {
		struct promql_element *e = &in.elems[i];
		struct group *g;
		size_t *idx;
		char *key;
		double v = e->v;

		if (vlabel) {
			char f[PROMQL_FLOAT_BUF];

			if (promql_labels_set(&e->labels, &e->nlabels, vlabel,
					      promql_format_float(v, 'f', f)))
				goto err_nomem;
		}
		g = &groups[ngroups];
		if (group_key_labels(n, e->labels, e->nlabels, n->without ? NULL : vlabel, &key,
				     &g->labels, &g->nlabels))
			goto err_nomem;
		idx = smap_get(&m, key);
		if (!idx) {
			if (smap_put(&m, key, ngroups))
				goto err_nomem;
			ngroups++;
			g->value = v;
			g->mean = v;
			g->count = 1;
			if (n->agg == AGG_STDDEV || n->agg == AGG_STDVAR)
				g->value = 0;
			else if (n->agg == AGG_GROUP)
				g->value = 1;
			if (topk || botk || n->agg == AGG_QUANTILE)
				if (heap_add(g, e))
					goto err_nomem;
			continue;
		}
		free(key);
		promql_labels_free(g->labels, g->nlabels);
		g->labels = NULL;
		g->nlabels = 0;
		g = &groups[*idx];
		switch (n->agg) {
		case AGG_SUM:
			g->value += v;
			break;
		case AGG_AVG:
			g->count++;
			if (isinf(g->mean)) {
				if (isinf(v) && (g->mean > 0) == (v > 0))
					break;
				if (!isinf(v) && !isnan(v))
					break;
			}
			g->mean += v / (double)g->count - g->mean / (double)g->count;
			break;
		case AGG_GROUP:
			break;
		case AGG_MAX:
			if (g->value < v || isnan(g->value))
				g->value = v;
			break;
		case AGG_MIN:
			if (g->value > v || isnan(g->value))
				g->value = v;
			break;
		case AGG_COUNT:
		case AGG_COUNT_VALUES:
			g->count++;
			break;
		case AGG_STDVAR:
		case AGG_STDDEV: {
			double d;

			g->count++;
			d = v - g->mean;
			g->mean += d / (double)g->count;
			g->value += d * (v - g->mean);
			break;
		}
		case AGG_TOPK:
		case AGG_BOTTOMK:
			if ((int64_t)g->nheap < k || heap_less(g->heap[0], e, botk) ||
			    isnan(g->heap[0]->v)) {
				if ((int64_t)g->nheap == k) {
					if (k == 1) {
						g->heap[0] = e;
						break;
					}
					heap_pop(g, botk);
				}
				if (heap_push(g, e, botk))
					goto err_nomem;
			}
			break;
		case AGG_QUANTILE:
			if (heap_add(g, e))
				goto err_nomem;
			break;
		}
	}
	for (i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		double v = g->value;

		switch (n->agg) {
		case AGG_AVG:
			v = g->mean;
			break;
		case AGG_COUNT:
		case AGG_COUNT_VALUES:
			v = (double)g->count;
			break;
		case AGG_STDVAR:
			v = g->value / (double)g->count;
			break;
		case AGG_STDDEV:
			v = sqrt(g->value / (double)g->count);
			break;
		case AGG_TOPK:
		case AGG_BOTTOMK:
			qsort_r(g->heap, g->nheap, sizeof(*g->heap), heap_sort_cmp, &botk);
			for (j = 0; j < g->nheap; j++) {
				struct promql_element *e = g->heap[j];
				struct promql_label *l;

				if (promql_labels_dup(e->labels, e->nlabels, &l) ||
				    promql_vec_push(out, l, e->nlabels, e->v, t))
					goto err_nomem;
			}
			continue;
		case AGG_QUANTILE: {
			double *vals = malloc(g->nheap * sizeof(*vals));

			if (!vals)
				goto err_nomem;
			for (j = 0; j < g->nheap; j++)
				vals[j] = g->heap[j]->v;
			v = promql_quantile(q, vals, g->nheap);
			free(vals);
			break;
		}
		default:
			break;
		}
		if (promql_vec_push(out, g->labels, g->nlabels, v, t))
			goto err_nomem;
		g->labels = NULL;
		g->nlabels = 0;
	}
	ret = check_dups(ev, out);
	goto out;
err_nomem:
	ret = nomem(ev);
out:
	for (i = 0; groups && i < in.n; i++) {
		promql_labels_free(groups[i].labels, groups[i].nlabels);
		free(groups[i].heap);
	}
	free(groups);
	smap_free(&m);
	promql_result_free(&in);
	promql_result_free(&pr);
	return ret;
}

/* ---- dispatch ---- */

int promql_eval_node(struct promql_ev *ev, const struct promql_node *n, int64_t t,
		     struct promql_result *out)
{
	int64_t ref;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	switch (n->kind) {
	case N_NUMBER:
		out->type = PROMQL_SCALAR;
		out->scalar = n->num;
		return 0;
	case N_STRING:
		out->type = PROMQL_STRING;
		out->str = strdup(n->str);
		return out->str ? 0 : nomem(ev);
	case N_PAREN:
		return promql_eval_node(ev, n->a, t, out);
	case N_VSEL:
		ref = promql_at_time(ev, n, t) - n->offset_ms;
		ret = select_series(ev, n, ref, ref - ev->lookback_ms, false, out);
		break;
	case N_MSEL:
		ref = promql_at_time(ev, n->a, t) - n->a->offset_ms;
		ret = select_series(ev, n->a, ref, ref - n->range_ms, true, out);
		break;
	case N_SUBQUERY:
		ret = eval_subquery(ev, n, t, out);
		break;
	case N_UNARY:
		ret = promql_eval_node(ev, n->a, t, out);
		if (ret || n->op != OP_SUB)
			break;
		if (out->type == PROMQL_SCALAR) {
			out->scalar = -out->scalar;
			break;
		}
		for (i = 0; i < out->n; i++) {
			out->elems[i].v = -out->elems[i].v;
			out->elems[i].t = t;
			promql_labels_del(out->elems[i].labels, &out->elems[i].nlabels, "__name__");
		}
		ret = check_dups(ev, out);
		break;
	case N_BINARY:
		ret = eval_binary(ev, n, t, out);
		break;
	case N_AGG:
		ret = eval_agg(ev, n, t, out);
		break;
	case N_CALL:
		ret = promql_eval_call(ev, n, t, out);
		if (!ret)
			ret = check_dups(ev, out);
		break;
	default:
		ret = promql_ev_error(ev, -EINVAL, "unknown node");
		break;
	}
	if (ret)
		promql_result_free(out);
	return ret;
}

static void ev_init(struct promql_ev *ev, const struct promql_storage *st,
		    const struct promql_opts *opts, struct promql_error *err)
{
	memset(err, 0, sizeof(*err));
	memset(ev, 0, sizeof(*ev));
	ev->st = st;
	ev->err = err;
	ev->lookback_ms = opts && opts->lookback_ms > 0 ? opts->lookback_ms :
			  PROMQL_DEFAULT_LOOKBACK_MS;
	ev->default_step_ms = opts && opts->default_step_ms > 0 ? opts->default_step_ms : 60000;
	ev->max_samples = opts && opts->max_samples ? opts->max_samples : 50000000;
}

int promql_eval_instant(const struct promql_node *n, const struct promql_storage *st,
			int64_t t_ms, const struct promql_opts *opts,
			struct promql_result *res, struct promql_error *err)
{
	struct promql_ev ev;

	size_t i;
	int ret;

	ev_init(&ev, st, opts, err);
	ev.start_ms = ev.end_ms = t_ms;
	ret = promql_eval_node(&ev, n, t_ms, res);
	/* a query's samples carry the evaluation time, as in Prometheus */
	for (i = 0; !ret && res->type == PROMQL_VECTOR && i < res->n; i++)
		res->elems[i].t = t_ms;
	return ret;
}

int promql_eval_range(const struct promql_node *n, const struct promql_storage *st,
		      int64_t start_ms, int64_t end_ms, int64_t step_ms,
		      const struct promql_opts *opts, struct promql_result *res,
		      struct promql_error *err)
{
	struct promql_ev ev;
	int ret;

	ev_init(&ev, st, opts, err);
	ev.start_ms = start_ms;
	ev.end_ms = end_ms;
	memset(res, 0, sizeof(*res));
	if (step_ms <= 0 || end_ms < start_ms)
		return promql_ev_error(&ev, -EINVAL, "invalid range: step must be > 0 and end >= start");
	if (n->type != PROMQL_SCALAR && n->type != PROMQL_VECTOR)
		return promql_ev_error(&ev, -EINVAL, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
				       promql_type_name(n->type));
	ret = eval_steps(&ev, n, start_ms, end_ms, step_ms, res);
	if (ret)
		promql_result_free(res);
	return ret;
}
