// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL storage over the series store (see storequery.h).  A selector
 * nearly always names its metric (`__name__="x"`): that narrows the walk to
 * one family; the other matchers are applied here, a label a series lacks
 * matching as "".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storequery.h"

struct sq_walk {
	const struct promql_matcher *const *m;
	size_t nm;
	promql_emit_fn emit;
	void *ectx;
	struct promql_label *labels;	/* scratch, grown as needed */
	size_t cap_labels;
	struct promql_sample *samples;
	size_t cap_samples;
};

static int grow(void **p, size_t *cap, size_t want, size_t size)
{
	void *q;

	if (want <= *cap)
		return 0;
	q = realloc(*p, want * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = want;
	return 0;
}

static const char *label_value(const char *sname, const struct label *l, size_t n,
			       const char *name)
{
	if (!strcmp(name, "__name__"))
		return sname;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return l[i].value;
	return "";
}

/* Matchers first, before the store copies any sample. */
static bool sq_match(const char *sname, const struct label *l, size_t n, void *ctx)
{
	const struct sq_walk *w = ctx;

	for (size_t i = 0; i < w->nm; i++)
		if (!promql_matcher_matches(w->m[i], label_value(sname, l, n,
						promql_matcher_name(w->m[i]))))
			return false;
	return true;
}

static int sq_series(const struct store_range *r, void *ctx)
{
	struct sq_walk *w = ctx;

	if (grow((void **)&w->labels, &w->cap_labels, r->nlabels + 1, sizeof(*w->labels)) ||
	    grow((void **)&w->samples, &w->cap_samples, r->n ? r->n : 1, sizeof(*w->samples)))
		return -ENOMEM;
	/* The engine copies what it keeps: the strings are lent. */
	w->labels[0] = (struct promql_label){ (char *)"__name__", (char *)r->name };
	for (size_t i = 0; i < r->nlabels; i++)
		w->labels[i + 1] = (struct promql_label){ (char *)r->labels[i].name,
							  (char *)r->labels[i].value };
	for (size_t i = 0; i < r->n; i++)
		w->samples[i] = (struct promql_sample){ r->ts[i], r->vals[i] };
	return w->emit(w->ectx, w->labels, r->nlabels + 1, w->samples, r->n);
}

static int sq_select(void *ctx, const struct promql_matcher *const *m, size_t n,
		     int64_t mint_ms, int64_t maxt_ms, promql_emit_fn emit, void *ectx)
{
	struct sq_walk w = { .m = m, .nm = n, .emit = emit, .ectx = ectx };
	const char *name = NULL;
	int err;

	for (size_t i = 0; i < n; i++)
		if (promql_matcher_type(m[i]) == PROMQL_MATCH_EQ &&
		    !strcmp(promql_matcher_name(m[i]), "__name__"))
			name = promql_matcher_value(m[i]);
	err = store__select(ctx, name, mint_ms, maxt_ms, sq_match, sq_series, &w);
	free(w.labels);
	free(w.samples);
	return err;
}

void storequery__init(struct promql_storage *st, const struct store *s)
{
	st->ctx = (void *)s;
	st->select = sq_select;
}
