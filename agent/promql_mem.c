// SPDX-License-Identifier: GPL-2.0
/*
 * In-memory series database for the PromQL engine: a flat array of
 * series, each with its samples sorted by time.  Linear series lookup is
 * enough for rule tests (tens of series); limits keep it bounded.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql_int.h"
#include "promql_mem.h"

struct mem_series {
	struct promql_label *labels;	/* sorted */
	size_t nlabels;
	struct promql_sample *s;
	size_t n, cap;
};

struct promql_mem {
	struct mem_series *series;
	size_t nseries, cap;
	size_t nsamples;
	size_t max_series, max_samples;
	uint64_t dropped;
};

struct promql_mem *promql_mem__new(size_t max_series, size_t max_samples)
{
	struct promql_mem *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->max_series = max_series ? max_series : 100000;
	db->max_samples = max_samples ? max_samples : 10000000;
	return db;
}

void promql_mem__free(struct promql_mem *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < db->nseries; i++) {
		promql_labels_free(db->series[i].labels, db->series[i].nlabels);
		free(db->series[i].s);
	}
	free(db->series);
	free(db);
}

uint64_t promql_mem__dropped(const struct promql_mem *db)
{
	return db->dropped;
}

size_t promql_mem__series_count(const struct promql_mem *db)
{
	return db->nseries;
}

static struct mem_series *find_series(struct promql_mem *db, const struct promql_label *l,
				      size_t n)
{
	size_t i;

	for (i = 0; i < db->nseries; i++)
		if (!promql_labels_cmp(db->series[i].labels, db->series[i].nlabels, l, n))
			return &db->series[i];
	return NULL;
}

/* The series with @labels (copied, sorted), created if new; NULL with
 * *err = -ENOSPC or -ENOMEM. */
static struct mem_series *get_series(struct promql_mem *db, const struct promql_label *labels,
				     size_t n, int *err)
{
	struct promql_label *l;
	struct mem_series *s;

	if (promql_labels_dup(labels, n, &l)) {
		*err = -ENOMEM;
		return NULL;
	}
	promql_labels_sort(l, n);
	s = find_series(db, l, n);
	if (s) {
		promql_labels_free(l, n);
		return s;
	}
	if (db->nseries >= db->max_series) {
		db->dropped++;
		promql_labels_free(l, n);
		*err = -ENOSPC;
		return NULL;
	}
	if (db->nseries == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;
		struct mem_series *ns = realloc(db->series, cap * sizeof(*ns));

		if (!ns) {
			promql_labels_free(l, n);
			*err = -ENOMEM;
			return NULL;
		}
		db->series = ns;
		db->cap = cap;
	}
	s = &db->series[db->nseries++];
	memset(s, 0, sizeof(*s));
	s->labels = l;
	s->nlabels = n;
	return s;
}

static int series_add(struct promql_mem *db, struct mem_series *s, int64_t t, double v)
{
	size_t i;

	/* insertion point: samples usually arrive in order */
	for (i = s->n; i > 0 && s->s[i - 1].t > t; i--)
		;
	if (i > 0 && s->s[i - 1].t == t) {
		s->s[i - 1].v = v;
		return 0;
	}
	if (db->nsamples >= db->max_samples) {
		db->dropped++;
		return -ENOSPC;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct promql_sample *np = realloc(s->s, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		s->s = np;
		s->cap = cap;
	}
	memmove(s->s + i + 1, s->s + i, (s->n - i) * sizeof(*s->s));
	s->s[i].t = t;
	s->s[i].v = v;
	s->n++;
	db->nsamples++;
	return 0;
}

int promql_mem__add(struct promql_mem *db, const struct promql_label *labels,
		    size_t n, int64_t t, double v)
{
	int err = 0;
	struct mem_series *s = get_series(db, labels, n, &err);

	return s ? series_add(db, s, t, v) : err;
}

/* A number as promtool's series notation reads it (Go float syntax,
 * Inf/NaN in any case, optional sign). */
static const char *parse_num(const char *p, double *v)
{
	char *end;
	int sign = 1;
	const char *q = p;

	if (*q == '+' || *q == '-')
		sign = *q++ == '-' ? -1 : 1;
	if (!strncasecmp(q, "inf", 3) && !isalnum((unsigned char)q[3])) {
		*v = sign * INFINITY;
		return q + 3;
	}
	if (!strncasecmp(q, "nan", 3) && !isalnum((unsigned char)q[3])) {
		*v = NAN;
		return q + 3;
	}
	if (!isdigit((unsigned char)*q) && *q != '.')
		return NULL;
	/* the repetition marker 'x' must not be read as hex */
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X') && !isxdigit((unsigned char)q[2]))
		end = (char *)q + 1, *v = 0;
	else
		*v = strtod(q, &end);
	if (end == q)
		return NULL;
	*v *= sign;
	return end;
}

static const char *parse_count(const char *p, uint64_t *n)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p)) {
		if (v > 100000000)
			return NULL;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*n = v;
	return p;
}

int promql_mem__load(struct promql_mem *db, const char *series, const char *values,
		     int64_t start, int64_t interval, char *err, size_t errlen)
{
	struct promql_error pe;
	struct promql_node *sel = promql_parse(series, &pe);
	struct promql_label *l = NULL;
	struct mem_series *ms;
	size_t nl = 0, i;
	const char *p = values;
	int64_t idx = 0;
	int ret = 0;

	if (!sel) {
		char m[300];

		snprintf(err, errlen, "series %s: %s", series, promql_error_str(&pe, m, sizeof(m)));
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (sel->kind != N_VSEL || sel->offset_ms || sel->has_at) {
		snprintf(err, errlen, "series %s: not a series selector", series);
		ret = -EINVAL;
		goto out;
	}
	l = calloc(sel->nmatchers + 1, sizeof(*l));
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sel->nmatchers; i++) {
		if (sel->matchers[i]->type != PROMQL_MATCH_EQ) {
			snprintf(err, errlen, "series %s: only \"=\" matchers allowed", series);
			ret = -EINVAL;
			goto out;
		}
		l[nl].name = sel->matchers[i]->name;
		l[nl].value = sel->matchers[i]->value;
		if (*l[nl].value)
			nl++;
	}
	ms = get_series(db, l, nl, &ret);
	if (!ms)
		goto full;
	for (;;) {
		const char *item;
		double a, b = 0, v;
		uint64_t cnt = 0, k;
		bool blank = false, stale = false, step = false;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		item = p;
		if (*p == '_') {
			blank = true;
			p++;
		} else if (!strncmp(p, "stale", 5) && (!p[5] || isspace((unsigned char)p[5]))) {
			stale = true;
			p += 5;
		} else {
			p = parse_num(p, &a);
			if (!p)
				goto bad;
			if ((*p == '+' || *p == '-') && p[1] != 'x') {
				p = parse_num(p, &b);
				if (!p)
					goto bad;
				step = true;
			}
		}
		if (*p == 'x' && !stale) {
			p = parse_count(p + 1, &cnt);
			if (!p)
				goto bad;
		} else if (step) {
			goto bad;
		}
		if (*p && !isspace((unsigned char)*p))
			goto bad;
		if (blank) {
			idx += cnt ? (int64_t)cnt : 1;
			continue;
		}
		if (stale) {
			ret = series_add(db, ms, start + idx * interval, promql_stale_nan());
			if (ret)
				goto full;
			idx++;
			continue;
		}
		v = a;
		for (k = 0; k <= cnt; k++) {
			ret = series_add(db, ms, start + idx * interval, v);
			if (ret)
				goto full;
			idx++;
			v += b;
		}
		continue;
bad:
		{
			const char *e = item;

			while (*e && !isspace((unsigned char)*e))
				e++;
			snprintf(err, errlen, "series %s: bad value \"%.*s\"", series,
				 (int)(e - item), item);
			ret = -EINVAL;
			goto out;
		}
	}
	goto out;
full:
	snprintf(err, errlen, "series %s: %s", series,
		 ret == -ENOSPC ? "series or sample limit reached" : strerror(-ret));
out:
	free(l);
	promql_free(sel);
	return ret;
}

static int mem_select(void *ctx, const struct promql_matcher *const *m, size_t n,
		      int64_t mint, int64_t maxt, promql_emit_fn emit, void *ectx)
{
	struct promql_mem *db = ctx;
	size_t i, j, lo, hi;
	int ret;

	for (i = 0; i < db->nseries; i++) {
		struct mem_series *s = &db->series[i];

		for (j = 0; j < n; j++)
			if (!promql_matcher_matches(m[j], promql_labels_get(s->labels, s->nlabels,
									     promql_matcher_name(m[j]))))
				break;
		if (j < n)
			continue;
		/* first sample at or after mint: binary search */
		for (lo = 0, hi = s->n; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->s[mid].t < mint)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < s->n && s->s[hi].t <= maxt; hi++)
			;
		if (hi == lo)
			continue;
		ret = emit(ectx, s->labels, s->nlabels, s->s + lo, hi - lo);
		if (ret)
			return ret;
	}
	return 0;
}

void promql_mem__storage(struct promql_mem *db, struct promql_storage *st)
{
	st->ctx = db;
	st->select = mem_select;
}
