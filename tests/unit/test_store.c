// SPDX-License-Identifier: GPL-2.0
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

#include "store.h"

/* foreach rendered as exposition text: checks order, names, labels and
 * values in one exact string comparison. */
static void render_family(const char *name, enum metric_type type,
			  const char *help, void *ctx)
{
	expo__family(ctx, name, type, help);
}

static void render_series(const struct store_series_view *v, void *ctx)
{
	expo__sample(ctx, v->name, v->labels, v->nlabels, v->value);
}

static char *render(const struct store *s)
{
	struct strbuf b;
	char *out;

	strbuf__init(&b);
	store__foreach(s, render_family, render_series, &b);
	out = strbuf__steal(&b, NULL);
	assert_non_null(out);
	return out;
}

static void assert_render(const struct store *s, const char *want)
{
	char *got = render(s);

	assert_string_equal(got, want);
	free(got);
}

struct hist {
	size_t n;
	int64_t ts[64];
	double v[64];
};

static void hist_cb(int64_t ts_ms, double v, void *ctx)
{
	struct hist *h = ctx;

	assert_true(h->n < 64);
	h->ts[h->n] = ts_ms;
	h->v[h->n] = v;
	h->n++;
}

static void count_series(const struct store_series_view *v, void *ctx)
{
	(void)v;
	(*(size_t *)ctx)++;
}

static void check_ts(const struct store_series_view *v, void *ctx)
{
	assert_int_equal(v->ts_ms, *(int64_t *)ctx);
}

static void test_new_invalid(void **state)
{
	(void)state;
	errno = 0;
	assert_null(store__new(1, 10));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(store__new(4, 0));
	assert_int_equal(errno, EINVAL);
	store__free(NULL);
}

static void test_append_and_foreach(void **state)
{
	struct store *s = store__new(4, 100);
	struct store_family *up, *sc;
	const struct label l1[] = { { "comm", "bash" }, { "cpu", "0" } };
	const struct label l2[] = { { "comm", "sshd" }, { "cpu", "1" } };

	(void)state;
	assert_non_null(s);
	up = store__family(s, "bpfwatch_up", METRIC_GAUGE, "Agent is up.");
	sc = store__family(s, "bpfwatch_syscalls_total", METRIC_COUNTER,
			   "Syscalls.");
	assert_non_null(up);
	assert_non_null(sc);
	assert_ptr_equal(store__family(s, "bpfwatch_up", METRIC_GAUGE, "other"), up);

	/* nothing to show before the first tick closes */
	assert_render(s, "");
	assert_int_equal(store__last_tick_ms(s), 0);

	assert_int_equal(store__begin_tick(s, 1000), 0);
	/* registered second, appended first: family order still wins */
	assert_int_equal(store__append(s, sc, "", l1, 2, 10), 0);
	assert_int_equal(store__append(s, sc, NULL, l2, 2, 20), 0);
	assert_int_equal(store__append(s, up, "", NULL, 0, 1), 0);
	/* the open tick is not visible yet */
	assert_render(s, "");
	store__end_tick(s);
	assert_int_equal(store__last_tick_ms(s), 1000);
	assert_int_equal(store__series_count(s), 3);

	assert_render(s,
		"# HELP bpfwatch_up Agent is up.\n"
		"# TYPE bpfwatch_up gauge\n"
		"bpfwatch_up 1\n"
		"# HELP bpfwatch_syscalls_total Syscalls.\n"
		"# TYPE bpfwatch_syscalls_total counter\n"
		"bpfwatch_syscalls_total{comm=\"bash\",cpu=\"0\"} 10\n"
		"bpfwatch_syscalls_total{comm=\"sshd\",cpu=\"1\"} 20\n");

	/* second tick: overwrite within a tick keeps the last value; while
	 * the tick is open foreach still shows the closed one */
	assert_int_equal(store__begin_tick(s, 2000), 0);
	assert_int_equal(store__append(s, sc, "", l1, 2, 11), 0);
	assert_int_equal(store__append(s, sc, "", l1, 2, 12), 0);
	assert_int_equal(store__append(s, sc, "", l2, 2, 21), 0);
	assert_int_equal(store__append(s, up, "", NULL, 0, 1), 0);
	{
		int64_t want = 1000;

		store__foreach(s, NULL, check_ts, &want);
	}
	store__end_tick(s);
	{
		int64_t want = 2000;

		store__foreach(s, NULL, check_ts, &want);
	}
	assert_int_equal(store__series_count(s), 3);
	assert_render(s,
		"# HELP bpfwatch_up Agent is up.\n"
		"# TYPE bpfwatch_up gauge\n"
		"bpfwatch_up 1\n"
		"# HELP bpfwatch_syscalls_total Syscalls.\n"
		"# TYPE bpfwatch_syscalls_total counter\n"
		"bpfwatch_syscalls_total{comm=\"bash\",cpu=\"0\"} 12\n"
		"bpfwatch_syscalls_total{comm=\"sshd\",cpu=\"1\"} 21\n");
	store__free(s);
}

static void test_ring_wraparound(void **state)
{
	const uint32_t cap = 5;
	struct store *s = store__new(cap, 10);
	struct store_family *g;
	const struct label l[] = { { "dev", "sda" } };
	struct hist h = { 0 };

	(void)state;
	assert_non_null(s);
	assert_int_equal(store__capacity(s), cap);
	g = store__family(s, "g", METRIC_GAUGE, NULL);
	assert_non_null(g);

	/* fewer ticks than capacity: all of them, oldest first */
	for (int t = 1; t <= 3; t++) {
		assert_int_equal(store__begin_tick(s, t * 100), 0);
		assert_int_equal(store__append(s, g, "", l, 1, t * 1.5), 0);
		store__end_tick(s);
	}
	assert_int_equal(store__history(s, "g", l, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(h.ts[i], (int64_t)(i + 1) * 100);
		assert_true(h.v[i] == (double)(i + 1) * 1.5);
	}

	/* 13 ticks in a ring of 5: exactly ticks 9..13 remain */
	for (int t = 4; t <= 13; t++) {
		assert_int_equal(store__begin_tick(s, t * 100), 0);
		assert_int_equal(store__append(s, g, "", l, 1, t * 1.5), 0);
		store__end_tick(s);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", l, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, cap);
	for (size_t i = 0; i < cap; i++) {
		assert_int_equal(h.ts[i], (int64_t)(9 + i) * 100);
		assert_true(h.v[i] == (double)(9 + i) * 1.5);
	}

	/* during an open tick: the new sample counts once appended */
	assert_int_equal(store__begin_tick(s, 1400), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", l, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, cap - 1);
	assert_int_equal(h.ts[0], 1000);
	assert_int_equal(h.ts[cap - 2], 1300);
	assert_int_equal(store__append(s, g, "", l, 1, -7), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", l, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, cap);
	assert_int_equal(h.ts[cap - 1], 1400);
	assert_true(h.v[cap - 1] == -7);
	store__end_tick(s);

	/* unknown series */
	assert_int_equal(store__history(s, "g", NULL, 0, hist_cb, &h), -ENOENT);
	assert_int_equal(store__history(s, "nope", l, 1, hist_cb, &h), -ENOENT);
	store__free(s);
}

static void test_staleness(void **state)
{
	const uint32_t cap = 4;
	struct store *s = store__new(cap, 10);
	struct store_family *g;
	const struct label a[] = { { "id", "a" } };
	const struct label b[] = { { "id", "b" } };
	struct hist h = { 0 };
	int64_t ts = 0;

	(void)state;
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, "G.");

	/* tick 1: a and b; tick 2: only a */
	assert_int_equal(store__begin_tick(s, ++ts), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 1), 0);
	assert_int_equal(store__append(s, g, "", b, 1, 2), 0);
	store__end_tick(s);
	assert_int_equal(store__begin_tick(s, ++ts), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 3), 0);
	store__end_tick(s);

	assert_render(s, "# HELP g G.\n# TYPE g gauge\ng{id=\"a\"} 3\n");
	assert_int_equal(store__series_count(s), 2);
	assert_int_equal(store__history(s, "g", b, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.ts[0], 1);
	assert_true(h.v[0] == 2);

	/* b comes back: a hole in its history, not a new series */
	assert_int_equal(store__begin_tick(s, ++ts), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 4), 0);
	assert_int_equal(store__append(s, g, "", b, 1, 5), 0);
	store__end_tick(s);
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", b, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ts[0], 1);
	assert_int_equal(h.ts[1], 3);
	assert_render(s, "# HELP g G.\n# TYPE g gauge\ng{id=\"a\"} 4\ng{id=\"b\"} 5\n");

	/* only a from now on: b's last sample is tick 3; it survives while
	 * the ring still holds it (ticks 4, 5, 6) and goes at tick 7 */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store__begin_tick(s, ++ts), 0);
		assert_int_equal(store__append(s, g, "", a, 1, 0), 0);
		store__end_tick(s);
		assert_int_equal(store__series_count(s), 2);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", b, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.ts[0], 3);

	assert_int_equal(store__begin_tick(s, ++ts), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 0), 0);
	store__end_tick(s);
	assert_int_equal(store__series_count(s), 1);
	assert_int_equal(store__history(s, "g", b, 1, hist_cb, &h), -ENOENT);

	/* a tick with no appends at all: nothing to show, a still kept */
	assert_int_equal(store__begin_tick(s, ++ts), 0);
	store__end_tick(s);
	assert_render(s, "");
	assert_int_equal(store__series_count(s), 1);
	/* a freed series can be created again, at the end of its family */
	assert_int_equal(store__begin_tick(s, ++ts), 0);
	assert_int_equal(store__append(s, g, "", b, 1, 9), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 8), 0);
	store__end_tick(s);
	assert_render(s, "# HELP g G.\n# TYPE g gauge\ng{id=\"a\"} 8\ng{id=\"b\"} 9\n");
	/* the recreated b has no trace of its old samples */
	memset(&h, 0, sizeof(h));
	assert_int_equal(store__history(s, "g", b, 1, hist_cb, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.ts[0], ts);
	store__free(s);
}

/* What a query sees: ranges with staleness markers, closed ticks only,
 * exposed names (family + suffix), time bounds, early stop. */
struct sel {
	int calls;
	char names[8][32];
	size_t n[8];
	int64_t ts[8][8];
	double v[8][8];
	int stop_after;
};

static int sel_cb(const struct store_range *r, void *ctx)
{
	struct sel *x = ctx;
	int i = x->calls++;

	snprintf(x->names[i], sizeof(x->names[i]), "%s{%s}", r->name,
		 r->nlabels ? r->labels[0].value : "");
	x->n[i] = r->n;
	for (size_t k = 0; k < r->n && k < 8; k++) {
		x->ts[i][k] = r->ts[k];
		x->v[i][k] = r->vals[k];
	}
	return x->stop_after && x->calls == x->stop_after ? 42 : 0;
}

static void test_select(void **state)
{
	struct store *s = store__new(4, 10);
	struct store_family *g, *h;
	const struct label a[] = { { "id", "a" } };
	const struct label b[] = { { "id", "b" } };
	struct sel x = { 0 };

	(void)state;
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, "G.");
	h = store__family(s, "h", METRIC_HISTOGRAM, "H.");
	/* nothing closed yet */
	assert_int_equal(store__select(s, NULL, 0, 1000, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 0);
	/* ticks at 10, 20, 30: a always, b at 10 only, h_count at 20 */
	assert_int_equal(store__begin_tick(s, 10), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 1), 0);
	assert_int_equal(store__append(s, g, "", b, 1, 7), 0);
	store__end_tick(s);
	assert_int_equal(store__begin_tick(s, 20), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 2), 0);
	assert_int_equal(store__append(s, h, "_count", a, 1, 5), 0);
	store__end_tick(s);
	assert_int_equal(store__begin_tick(s, 30), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 3), 0);
	store__end_tick(s);
	/* an open tick is read for the series appended to it so far (a),
	 * not for the others (b: its slot holds nothing of this tick) */
	assert_int_equal(store__begin_tick(s, 40), 0);
	assert_int_equal(store__append(s, g, "", a, 1, 4), 0);

	assert_int_equal(store__select(s, "g", 0, 1000, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 2);
	assert_string_equal(x.names[0], "g{a}");
	assert_int_equal(x.n[0], 4);
	assert_int_equal(x.ts[0][0], 10);
	assert_int_equal(x.ts[0][2], 30);
	assert_true(x.v[0][2] == 3);
	assert_int_equal(x.ts[0][3], 40);
	assert_true(x.v[0][3] == 4);
	/* b: its sample, then staleness markers where it was missing */
	assert_string_equal(x.names[1], "g{b}");
	assert_int_equal(x.n[1], 3);
	assert_true(x.v[1][0] == 7);
	assert_true(store__is_stale(x.v[1][1]));
	assert_true(store__is_stale(x.v[1][2]));
	assert_false(store__is_stale(NAN));
	assert_true(store__is_stale(store__stale_marker()));

	/* time bounds: b has only staleness in [15, 30], so it is left out */
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, "g", 15, 30, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.n[0], 2);
	assert_int_equal(x.ts[0][0], 20);

	/* suffixed names; a prefix of another name is not a match */
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, "h_count", 0, 1000, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 1);
	assert_string_equal(x.names[0], "h_count{a}");
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, "h_coun", 0, 1000, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 0);

	/* every series, and the callback can stop the walk */
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, NULL, 0, 1000, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 3);
	memset(&x, 0, sizeof(x));
	x.stop_after = 1;
	assert_int_equal(store__select(s, NULL, 0, 1000, NULL, sel_cb, &x), 42);
	assert_int_equal(x.calls, 1);
	store__end_tick(s);
	store__free(s);
}

/* Rule outputs: hidden from the exposition, no sample (not stale) in the
 * ticks their rule leaves them out, stale when the engine says so. */
static void test_evaluated_family(void **state)
{
	struct store *s = store__new(8, 10);
	struct store_family *r;
	const struct label a[] = { { "id", "a" } };
	struct sel x = { 0 };

	(void)state;
	assert_non_null(s);
	r = store__family(s, "job:x:rate", METRIC_UNTYPED, NULL);
	store__family_set_evaluated(r);
	/* tick 10: a appended */
	assert_int_equal(store__begin_tick(s, 10), 0);
	assert_int_equal(store__append(s, r, "", a, 1, 1), 0);
	store__end_tick(s);
	/* tick 20: not evaluated: no sample, not stale */
	assert_int_equal(store__begin_tick(s, 20), 0);
	store__end_tick(s);
	assert_render(s, "");
	assert_int_equal(store__select(s, "job:x:rate", 0, 100, NULL, sel_cb, &x), 0);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.n[0], 1);
	assert_int_equal(x.ts[0][0], 10);
	/* tick 30: the engine marks a stale */
	assert_int_equal(store__begin_tick(s, 30), 0);
	assert_int_equal(store__append_stale(s, r, a, 1), 0);
	store__end_tick(s);
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, "job:x:rate", 0, 100, NULL, sel_cb, &x), 0);
	assert_int_equal(x.n[0], 2);
	assert_int_equal(x.ts[0][1], 30);
	assert_true(store__is_stale(x.v[0][1]));
	/* and a caller's NaN is never a staleness marker */
	assert_int_equal(store__begin_tick(s, 40), 0);
	assert_int_equal(store__append(s, r, "", a, 1, store__stale_marker()), 0);
	store__end_tick(s);
	memset(&x, 0, sizeof(x));
	assert_int_equal(store__select(s, "job:x:rate", 35, 100, NULL, sel_cb, &x), 0);
	assert_int_equal(x.n[0], 1);
	assert_true(isnan(x.v[0][0]));
	assert_false(store__is_stale(x.v[0][0]));
	store__free(s);
}

static void test_series_freed_keeps_order(void **state)
{
	struct store *s = store__new(2, 10);
	struct store_family *g;
	const struct label l[3][1] = {
		{ { "n", "1" } }, { { "n", "2" } }, { { "n", "3" } },
	};

	(void)state;
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, NULL);
	assert_int_equal(store__begin_tick(s, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store__append(s, g, "", l[i], 1, i + 1), 0);
	store__end_tick(s);
	/* drop the middle one for two ticks */
	for (int t = 2; t <= 3; t++) {
		assert_int_equal(store__begin_tick(s, t), 0);
		assert_int_equal(store__append(s, g, "", l[0], 1, t), 0);
		assert_int_equal(store__append(s, g, "", l[2], 1, t * 10), 0);
		store__end_tick(s);
	}
	assert_int_equal(store__series_count(s), 2);
	assert_render(s, "# TYPE g gauge\ng{n=\"1\"} 3\ng{n=\"3\"} 30\n");
	store__free(s);
}

static void test_max_series(void **state)
{
	struct store *s = store__new(2, 3);
	struct store_family *g;
	const struct label l[5][1] = {
		{ { "n", "0" } }, { { "n", "1" } }, { { "n", "2" } },
		{ { "n", "3" } }, { { "n", "4" } },
	};

	(void)state;
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, NULL);
	assert_int_equal(store__begin_tick(s, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store__append(s, g, "", l[i], 1, i), 0);
	assert_int_equal(store__append(s, g, "", l[3], 1, 3), -ENOSPC);
	assert_int_equal(store__append(s, g, "", l[4], 1, 4), -ENOSPC);
	assert_int_equal(store__append(s, g, "", l[3], 1, 3), -ENOSPC);
	assert_int_equal(store__dropped_total(s), 3);
	/* existing series are still appendable at the limit */
	assert_int_equal(store__append(s, g, "", l[1], 1, 10), 0);
	assert_int_equal(store__dropped_total(s), 3);
	store__end_tick(s);
	assert_int_equal(store__series_count(s), 3);
	assert_render(s, "# TYPE g gauge\ng{n=\"0\"} 0\ng{n=\"1\"} 10\ng{n=\"2\"} 2\n");

	/* n=0 goes stale for two ticks (the capacity) and is freed */
	for (int t = 2; t <= 3; t++) {
		assert_int_equal(store__begin_tick(s, t), 0);
		assert_int_equal(store__append(s, g, "", l[1], 1, 1), 0);
		assert_int_equal(store__append(s, g, "", l[2], 1, 2), 0);
		assert_int_equal(store__append(s, g, "", l[3], 1, 3), -ENOSPC);
		store__end_tick(s);
	}
	assert_int_equal(store__dropped_total(s), 5);
	assert_int_equal(store__series_count(s), 2);

	/* the freed slot lets one new series in, not two */
	assert_int_equal(store__begin_tick(s, 4), 0);
	assert_int_equal(store__append(s, g, "", l[3], 1, 3), 0);
	assert_int_equal(store__append(s, g, "", l[4], 1, 4), -ENOSPC);
	store__end_tick(s);
	assert_int_equal(store__dropped_total(s), 6);
	assert_int_equal(store__series_count(s), 3);
	assert_render(s, "# TYPE g gauge\ng{n=\"3\"} 3\n");
	store__free(s);
}

static void test_series_identity(void **state)
{
	struct store *s = store__new(3, 100);
	struct store_family *h, *g;
	const struct label ab[] = { { "a", "1" }, { "b", "2" } };
	const struct label ab_copy[] = { { "a", "1" }, { "b", "2" } };
	const struct label ba[] = { { "b", "2" }, { "a", "1" } };
	/* the name/value split is part of the key */
	const struct label x1[] = { { "ab", "c" } };
	const struct label x2[] = { { "a", "bc" } };
	struct hist hi = { 0 };

	(void)state;
	assert_non_null(s);
	h = store__family(s, "h", METRIC_HISTOGRAM, NULL);
	g = store__family(s, "h_sum", METRIC_GAUGE, NULL);
	assert_int_equal(store__begin_tick(s, 1), 0);
	assert_int_equal(store__append(s, h, "", ab, 2, 1), 0);
	assert_int_equal(store__append(s, h, "", ab_copy, 2, 2), 0);
	assert_int_equal(store__series_count(s), 1);
	assert_int_equal(store__append(s, h, "_sum", ab, 2, 3), 0);
	assert_int_equal(store__series_count(s), 2);
	assert_int_equal(store__append(s, h, "", ba, 2, 4), 0);
	assert_int_equal(store__series_count(s), 3);
	assert_int_equal(store__append(s, h, "", ab, 1, 5), 0);
	assert_int_equal(store__series_count(s), 4);
	assert_int_equal(store__append(s, h, "", x1, 1, 6), 0);
	assert_int_equal(store__append(s, h, "", x2, 1, 7), 0);
	assert_int_equal(store__series_count(s), 6);
	/* same exposed name and labels, another family: another series */
	assert_int_equal(store__append(s, g, "", ab, 2, 8), 0);
	assert_int_equal(store__series_count(s), 7);
	store__end_tick(s);

	assert_int_equal(store__history(s, "h", ab_copy, 2, hist_cb, &hi), 0);
	assert_int_equal(hi.n, 1);
	assert_true(hi.v[0] == 2);
	memset(&hi, 0, sizeof(hi));
	assert_int_equal(store__history(s, "h_sum", ab, 2, hist_cb, &hi), 0);
	assert_int_equal(hi.n, 1);
	memset(&hi, 0, sizeof(hi));
	assert_int_equal(store__history(s, "h", ba, 2, hist_cb, &hi), 0);
	assert_true(hi.v[0] == 4);
	assert_int_equal(store__history(s, "h_count", ab, 2, hist_cb, &hi), -ENOENT);
	store__free(s);
}

static void test_family_conflict(void **state)
{
	struct store *s = store__new(2, 10);
	struct store_family *f;

	(void)state;
	assert_non_null(s);
	f = store__family(s, "m", METRIC_COUNTER, "M.");
	assert_non_null(f);
	errno = 0;
	assert_null(store__family(s, "m", METRIC_GAUGE, "M."));
	assert_int_equal(errno, EEXIST);
	assert_ptr_equal(store__family(s, "m", METRIC_COUNTER, NULL), f);
	errno = 0;
	assert_null(store__family(s, "", METRIC_COUNTER, NULL));
	assert_int_equal(errno, EINVAL);
	store__free(s);
}

static void test_histogram_order(void **state)
{
	struct store *s = store__new(4, 100);
	struct store_family *h, *u;
	const struct label b1[] = { { "cpu", "0" }, { "le", "0.001" } };
	const struct label b2[] = { { "cpu", "0" }, { "le", "0.01" } };
	const struct label binf[] = { { "cpu", "0" }, { "le", "+Inf" } };
	const struct label cpu[] = { { "cpu", "0" } };

	(void)state;
	assert_non_null(s);
	u = store__family(s, "bpfwatch_up", METRIC_GAUGE, NULL);
	h = store__family(s, "bpfwatch_runq_latency_seconds", METRIC_HISTOGRAM,
			  "Run queue latency.");
	for (int t = 1; t <= 2; t++) {
		assert_int_equal(store__begin_tick(s, t), 0);
		assert_int_equal(store__append(s, h, "_bucket", b1, 2, 3 * t), 0);
		/* interleave another family's append */
		assert_int_equal(store__append(s, u, "", NULL, 0, 1), 0);
		assert_int_equal(store__append(s, h, "_bucket", b2, 2, 5 * t), 0);
		assert_int_equal(store__append(s, h, "_bucket", binf, 2, 6 * t), 0);
		assert_int_equal(store__append(s, h, "_sum", cpu, 1, 0.0125 * t), 0);
		assert_int_equal(store__append(s, h, "_count", cpu, 1, 6 * t), 0);
		store__end_tick(s);
	}
	assert_render(s,
		"# TYPE bpfwatch_up gauge\n"
		"bpfwatch_up 1\n"
		"# HELP bpfwatch_runq_latency_seconds Run queue latency.\n"
		"# TYPE bpfwatch_runq_latency_seconds histogram\n"
		"bpfwatch_runq_latency_seconds_bucket{cpu=\"0\",le=\"0.001\"} 6\n"
		"bpfwatch_runq_latency_seconds_bucket{cpu=\"0\",le=\"0.01\"} 10\n"
		"bpfwatch_runq_latency_seconds_bucket{cpu=\"0\",le=\"+Inf\"} 12\n"
		"bpfwatch_runq_latency_seconds_sum{cpu=\"0\"} 0.025\n"
		"bpfwatch_runq_latency_seconds_count{cpu=\"0\"} 12\n");
	store__free(s);
}

static void test_nan_is_a_sample(void **state)
{
	struct store *s = store__new(3, 10);
	struct store_family *g;
	struct hist h = { 0 };
	uint64_t stale_bits = 0x7ff0000000000002ULL;
	double stale_payload;

	(void)state;
	memcpy(&stale_payload, &stale_bits, sizeof(stale_payload));
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, NULL);
	assert_int_equal(store__begin_tick(s, 10), 0);
	assert_int_equal(store__append(s, g, "", NULL, 0, NAN), 0);
	store__end_tick(s);
	assert_render(s, "# TYPE g gauge\ng NaN\n");

	/* even a NaN carrying the stale payload is a real sample */
	assert_int_equal(store__begin_tick(s, 20), 0);
	assert_int_equal(store__append(s, g, "", NULL, 0, stale_payload), 0);
	store__end_tick(s);
	assert_render(s, "# TYPE g gauge\ng NaN\n");

	assert_int_equal(store__begin_tick(s, 30), 0);
	store__end_tick(s);
	assert_render(s, "");
	assert_int_equal(store__history(s, "g", NULL, 0, hist_cb, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ts[0], 10);
	assert_int_equal(h.ts[1], 20);
	assert_true(isnan(h.v[0]) && isnan(h.v[1]));
	store__free(s);
}

static void test_tick_rules(void **state)
{
	struct store *s = store__new(2, 10);
	struct store_family *g;

	(void)state;
	assert_non_null(s);
	g = store__family(s, "g", METRIC_GAUGE, NULL);
	/* append with no open tick */
	assert_int_equal(store__append(s, g, "", NULL, 0, 1), -EINVAL);
	assert_int_equal(store__begin_tick(s, 0), -EINVAL);
	assert_int_equal(store__begin_tick(s, -5), -EINVAL);
	assert_int_equal(store__begin_tick(s, 100), 0);
	/* a second begin without end */
	assert_int_equal(store__begin_tick(s, 200), -EINVAL);
	assert_int_equal(store__append(s, g, "", NULL, 0, 1), 0);
	store__end_tick(s);
	/* append after end */
	assert_int_equal(store__append(s, g, "", NULL, 0, 2), -EINVAL);
	/* end without begin is harmless */
	store__end_tick(s);
	assert_int_equal(store__begin_tick(s, 100), -EINVAL);
	assert_int_equal(store__begin_tick(s, 99), -EINVAL);
	assert_int_equal(store__last_tick_ms(s), 100);
	assert_int_equal(store__begin_tick(s, 101), 0);
	store__end_tick(s);
	assert_int_equal(store__last_tick_ms(s), 101);
	assert_int_equal(store__dropped_total(s), 0);
	store__free(s);
}

static void test_many_series(void **state)
{
	const int n = 20000;
	struct store *s = store__new(3, (uint32_t)n);
	struct store_family *f;
	struct label l[2] = { { "comm", NULL }, { "pid", NULL } };
	char comm[32], pid[32];
	size_t count = 0;
	struct hist h;

	(void)state;
	assert_non_null(s);
	f = store__family(s, "bpfwatch_proc_total", METRIC_COUNTER, NULL);
	l[0].value = comm;
	l[1].value = pid;
	for (int t = 1; t <= 2; t++) {
		assert_int_equal(store__begin_tick(s, t), 0);
		for (int i = 0; i < n; i++) {
			snprintf(comm, sizeof(comm), "proc-%d", i % 251);
			snprintf(pid, sizeof(pid), "%d", i);
			assert_int_equal(store__append(s, f, "", l, 2, i * t), 0);
		}
		store__end_tick(s);
		assert_int_equal(store__series_count(s), n);
	}
	/* one more is over the limit */
	assert_int_equal(store__begin_tick(s, 3), 0);
	assert_int_equal(store__append(s, f, "", NULL, 0, 1), -ENOSPC);
	store__end_tick(s);
	assert_int_equal(store__dropped_total(s), 1);

	store__foreach(s, NULL, count_series, &count);
	assert_int_equal(count, 0);	/* tick 3 had no samples */
	for (int i = 0; i < n; i += 997) {
		memset(&h, 0, sizeof(h));
		snprintf(comm, sizeof(comm), "proc-%d", i % 251);
		snprintf(pid, sizeof(pid), "%d", i);
		assert_int_equal(store__history(s, "bpfwatch_proc_total", l, 2,
						hist_cb, &h), 0);
		assert_int_equal(h.n, 2);
		assert_true(h.v[0] == i && h.v[1] == 2.0 * i);
	}
	store__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_append_and_foreach),
		cmocka_unit_test(test_ring_wraparound),
		cmocka_unit_test(test_staleness),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_evaluated_family),
		cmocka_unit_test(test_series_freed_keeps_order),
		cmocka_unit_test(test_max_series),
		cmocka_unit_test(test_series_identity),
		cmocka_unit_test(test_family_conflict),
		cmocka_unit_test(test_histogram_order),
		cmocka_unit_test(test_nan_is_a_sample),
		cmocka_unit_test(test_tick_rules),
		cmocka_unit_test(test_many_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
