// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the trend statistics (agent/trend.c) and the leak
 * decision and analyzer (agent/leakdetect.c) on synthetic series.
 * Reference values computed by hand (the arithmetic is in the comments).
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

#include "leakdetect.h"
#include "store.h"
#include "trend.h"

#define MB (1024.0 * 1024.0)

/* ---- Theil-Sen ---------------------------------------------------------- */

static void test_theil_sen_hand(void **state)
{
	/* slopes of the 6 pairs: 1 1 10 1 14.5 28 -> median (1 + 10) / 2 */
	const double t1[] = { 0, 1, 2, 3 }, v1[] = { 0, 1, 2, 30 };
	/* a line of slope 2 with one wild point: 6 of 10 slopes are 2 */
	const double t2[] = { 0, 1, 2, 3, 4 }, v2[] = { 0, 2, 4, 6, 100 };
	double s;

	(void)state;
	assert_int_equal(trend__theil_sen(t1, v1, 4, 100, &s), 0);
	assert_float_equal(s, 5.5, 1e-12);
	assert_int_equal(trend__theil_sen(t2, v2, 5, 100, &s), 0);
	assert_float_equal(s, 2.0, 1e-12);
}

static void test_theil_sen_edges(void **state)
{
	const double t[] = { 5, 5, 5 }, v[] = { 1, 2, 3 };
	/* equal times are skipped: only (t=1 -> t=3) counts */
	const double t2[] = { 1, 1, 3 }, v2[] = { 0, 100, 4 };
	double s;

	(void)state;
	assert_int_equal(trend__theil_sen(t, v, 3, 10, &s), -EINVAL);
	assert_int_equal(trend__theil_sen(t, v, 1, 10, &s), -EINVAL);
	assert_int_equal(trend__theil_sen(t2, v2, 3, 10, &s), 0);
	/* pairs (0,2): 2 and (1,2): -48 -> median -23 */
	assert_float_equal(s, -23.0, 1e-12);
}

/* 10000 points of a line: subsampled to 50, still exact. */
static void test_theil_sen_subsample(void **state)
{
	size_t n = 10000;
	double *t = calloc(n, sizeof(*t)), *v = calloc(n, sizeof(*v)), s;

	(void)state;
	assert_non_null(t);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		t[i] = (double)i * 0.5;
		v[i] = 3 * t[i] + 7;
	}
	assert_int_equal(trend__theil_sen(t, v, n, 50, &s), 0);
	assert_float_equal(s, 3.0, 1e-9);
	free(t);
	free(v);
}

static void test_median(void **state)
{
	double a[] = { 5, 1, 4, 2, 3 }, b[] = { 4, 1, 3, 2 }, c[] = { 7 };

	(void)state;
	assert_float_equal(trend__median(a, 5), 3, 0);
	assert_float_equal(trend__median(b, 4), 2.5, 0);
	assert_float_equal(trend__median(c, 1), 7, 0);
}

/* ---- Mann-Kendall ------------------------------------------------------ */

/*
 * 1 2 3 4 5: S = 10 (every pair rises), var = 5*4*15/18 = 16.667,
 * z = (10 - 1) / 4.0825 = 2.20454, p_up = P(Z > 2.20454) = 0.0137432.
 */
static void test_mk_increasing(void **state)
{
	const double v[] = { 1, 2, 3, 4, 5 };
	struct mk_result r;

	(void)state;
	assert_int_equal(trend__mann_kendall(v, 5, &r), 0);
	assert_int_equal(r.s, 10);
	assert_float_equal(r.var_s, 50.0 / 3.0, 1e-9);
	assert_float_equal(r.z, 2.2045407663, 1e-8);
	assert_float_equal(r.p_up, 0.0137431681, 1e-8);
	assert_float_equal(r.p_two, 0.0274863363, 1e-8);
	assert_float_equal(r.p_down, 1 - 0.0137431681, 1e-8);
}

static void test_mk_decreasing(void **state)
{
	const double v[] = { 5, 4, 3, 2, 1 };
	struct mk_result r;

	(void)state;
	assert_int_equal(trend__mann_kendall(v, 5, &r), 0);
	assert_int_equal(r.s, -10);
	assert_float_equal(r.z, -2.2045407663, 1e-8);
	assert_float_equal(r.p_down, 0.0137431681, 1e-8);
	assert_float_equal(r.p_up, 1 - 0.0137431681, 1e-8);
}

/*
 * 1 2 2 3: S = 5 (5 rising pairs, one tie), var = (4*3*13 - 2*1*9) / 18
 * = 138/18 = 7.6667 (tie correction), z = 4 / 2.76887 = 1.44463,
 * p_up = 0.0742809.
 */
static void test_mk_ties(void **state)
{
	const double v[] = { 1, 2, 2, 3 }, flat[] = { 4, 4, 4, 4 };
	struct mk_result r;

	(void)state;
	assert_int_equal(trend__mann_kendall(v, 4, &r), 0);
	assert_int_equal(r.s, 5);
	assert_float_equal(r.var_s, 138.0 / 18.0, 1e-9);
	assert_float_equal(r.z, 1.4446302370, 1e-8);
	assert_float_equal(r.p_up, 0.0742808874, 1e-8);
	/* all tied: no evidence either way */
	assert_int_equal(trend__mann_kendall(flat, 4, &r), 0);
	assert_int_equal(r.s, 0);
	assert_float_equal(r.p_up, 1, 0);
	assert_float_equal(r.p_two, 1, 0);
	assert_int_equal(trend__mann_kendall(v, 2, &r), -EINVAL);
}

/* ---- leak decision ----------------------------------------------------- */

static const struct leak_params params = {
	.significance = 0.01,
	.min_growth = 0.02,
	.min_growth_bytes = MB,
};

/* Deterministic noise in [-1, 1). */
static double noise(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (double)((*seed >> 8) & 0xffff) / 32768.0 - 1.0;
}

#define N 60

static void series(double *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t[i] = (double)i;	/* 1 s ticks */
}

static struct leak_verdict assess(const double *v, size_t n)
{
	double t[200];
	struct leak_verdict r;

	series(t, n);
	assert_int_equal(leak__assess(t, v, n, &params, &r), 0);
	return r;
}

/* 1 MiB/s on 100 MiB with +-2 MiB noise: flagged, slope about right. */
static void test_leak_linear(void **state)
{
	uint32_t seed = 1;
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = 100 * MB + i * MB + 2 * MB * noise(&seed);
	r = assess(v, N);
	assert_true(r.suspect);
	assert_string_equal(r.why, "leak");
	assert_true(r.score > 0.99 && r.score <= 1);
	assert_float_equal(r.score, r.confidence, 0);
	assert_float_equal(r.slope / MB, 1.0, 0.15);
}

/* A leak under heavy churn (GC-like sawtooth of 10 MiB): the floor rises. */
static void test_leak_under_churn(void **state)
{
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = 100 * MB + 0.5 * MB * i + (i % 7) * (10 * MB / 7);
	r = assess(v, N);
	assert_true(r.suspect);
}

static void test_noise_not_flagged(void **state)
{
	double v[N];

	(void)state;
	for (uint32_t s = 1; s <= 20; s++) {
		uint32_t seed = s;
		struct leak_verdict r;

		for (int i = 0; i < N; i++)
			v[i] = 100 * MB + 5 * MB * noise(&seed);
		r = assess(v, N);
		if (r.suspect)
			fail_msg("noise seed %u flagged (confidence %f)", s, r.confidence);
	}
}

/* Sawtooth: grows 90 MiB over 10 ticks, drops back, again and again. */
static void test_sawtooth_not_flagged(void **state)
{
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = 100 * MB + (i % 10) * 10 * MB;
	r = assess(v, N);
	assert_false(r.suspect);
	assert_float_equal(r.score, 0, 0);
}

/* @up ticks rising 1 MiB each, then falling back to the start by N. */
static void rise_fall(double *v, int up)
{
	for (int i = 0; i < N; i++)
		v[i] = i < up ? 100 * MB + i * MB :
				100 * MB + (N - 1 - i) * (double)(up - 1) / (N - up) * MB;
}

/*
 * A slow rise then a shorter fall back to the start: most pairs still
 * rise, so Mann-Kendall on the raw samples calls it a strong upward trend
 * (70/30: S = 667, z = 4.25; 80/20: S = 1015, z = 6.47).  The floor test
 * alone rejects the first; the second also has a significantly rising
 * floor (confidence 0.9993) and is rejected because the floor no longer
 * rises in the second half of the window.
 */
static void test_rise_then_fall(void **state)
{
	struct leak_verdict r;
	struct mk_result mk;
	double v[N];

	(void)state;
	rise_fall(v, 42);
	assert_int_equal(trend__mann_kendall(v, N, &mk), 0);
	assert_int_equal(mk.s, 667);
	assert_true(mk.p_up < 1e-4);
	r = assess(v, N);
	assert_false(r.suspect);
	assert_string_equal(r.why, "floor not rising significantly");

	rise_fall(v, 48);
	assert_int_equal(trend__mann_kendall(v, N, &mk), 0);
	assert_int_equal(mk.s, 1015);
	assert_true(mk.p_up < 1e-9);
	r = assess(v, N);
	assert_true(r.confidence > 0.999);
	assert_false(r.suspect);
	assert_string_equal(r.why, "floor no longer rising");
}

/* Growth that stopped (a warm-up, a cache that filled): not a leak now. */
static void test_plateau_not_flagged(void **state)
{
	uint32_t seed = 7;
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = 100 * MB + (i < 20 ? i : 20) * 2 * MB + 0.5 * MB * noise(&seed);
	r = assess(v, N);
	assert_false(r.suspect);
}

/* A last-minute drop after a long rise: fell back. */
static void test_fall_at_end(void **state)
{
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = i < 54 ? 100 * MB + i * MB : 110 * MB;
	r = assess(v, N);
	assert_false(r.suspect);
	assert_string_equal(r.why, "floor fell back");
}

/* Significant but tiny: 1 KiB/s on 100 MiB. */
static void test_small_growth(void **state)
{
	double v[N];
	struct leak_verdict r;

	(void)state;
	for (int i = 0; i < N; i++)
		v[i] = 100 * MB + i * 1024.0;
	r = assess(v, N);
	assert_false(r.suspect);
	assert_string_equal(r.why, "floor growth too small");
	assert_true(r.confidence > 0.99);
}

static void test_too_few(void **state)
{
	double t[17], v[17];
	struct leak_verdict r;

	(void)state;
	series(t, 17);
	for (int i = 0; i < 17; i++)
		v[i] = i * MB;
	assert_int_equal(leak__assess(t, v, 17, &params, &r), -EINVAL);
	assert_false(r.suspect);
}

/* ---- the analyzer -------------------------------------------------------- */

static void proc(struct mem_proc *p, uint32_t tgid, const char *comm, double anon)
{
	memset(p, 0, sizeof(*p));
	p->tgid = tgid;
	p->key = 0x1000 + tgid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->bytes[MEM_ANON] = (uint64_t)anon;
	p->bytes[MEM_FILE] = 1 << 20;
}

struct found {
	const char *name, *comm;
	double v;
	bool hit;
};

static void find_cb(const struct store_series_view *sv, void *ctx)
{
	struct found *f = ctx;

	if (strcmp(sv->name, f->name))
		return;
	for (size_t i = 0; i < sv->nlabels; i++) {
		if (!strcmp(sv->labels[i].name, "comm") &&
		    !strcmp(sv->labels[i].value, f->comm)) {
			f->v = sv->value;
			f->hit = true;
		}
	}
}

static bool lookup(struct store *s, const char *name, const char *comm, double *v)
{
	struct found f = { name, comm, 0, false };

	store__foreach(s, NULL, find_cb, &f);
	*v = f.v;
	return f.hit;
}

static void plain_cb(const struct store_series_view *sv, void *ctx)
{
	struct found *f = ctx;

	if (!strcmp(sv->name, f->name) && !sv->nlabels) {
		f->v = sv->value;
		f->hit = true;
	}
}

static bool lookup_plain(struct store *s, const char *name, double *v)
{
	struct found f = { name, NULL, 0, false };

	store__foreach(s, NULL, plain_cb, &f);
	*v = f.v;
	return f.hit;
}

/*
 * Three processes over 40 one-second ticks: two "leaky" ones (same comm,
 * 1 MiB/s and 0.5 MiB/s), a "steady" one, a small "tiny" one left out by
 * max_processes = 3, and one that exits half way.
 */
static void test_analyzer(void **state)
{
	struct memory_cfg cfg = { .enabled = true };
	struct store *s = store__new(4, 1000);
	struct leak_verdict vd;
	struct leakdetect *ld;
	uint32_t seed = 3;
	double v;

	(void)state;
	cfg.leak = (struct leak_cfg){ .enabled = true, .window_ms = 30000,
				      .min_samples = 20, .max_processes = 3,
				      .significance = 0.01, .min_growth = 0.02 };
	ld = leakdetect__new(&cfg, 1000);
	assert_non_null(ld);
	assert_non_null(s);
	for (int i = 0; i < 40; i++) {
		struct mem_proc p[5];
		size_t n = 0;

		proc(&p[n++], 10, "leaky", 50 * MB + i * MB);
		proc(&p[n++], 11, "leaky", 60 * MB + i * MB / 2);
		proc(&p[n++], 12, "steady", 200 * MB + 8 * MB * noise(&seed));
		proc(&p[n++], 13, "tiny", 1 * MB + i * MB / 10);
		if (i < 20)
			proc(&p[n++], 14, "exits", 300 * MB);
		assert_int_equal(store__begin_tick(s, 1000 * (i + 1)), 0);
		assert_int_equal(leakdetect__update(ld, p, n, 1000 * (i + 1)), 0);
		assert_int_equal(leakdetect__export(ld, s), 0);
		store__end_tick(s);
		if (i == 10)	/* not enough samples yet */
			assert_false(leakdetect__verdict(ld, 10, &vd));
	}
	assert_true(leakdetect__verdict(ld, 10, &vd));
	assert_true(vd.suspect);
	assert_float_equal(vd.slope / MB, 1.0, 0.01);
	assert_true(leakdetect__verdict(ld, 12, &vd));
	assert_false(vd.suspect);
	assert_false(leakdetect__verdict(ld, 13, &vd));	/* the smallest */
	assert_false(leakdetect__verdict(ld, 14, &vd));	/* gone */

	assert_true(lookup(s, "bpfwatch_memory_growth_bytes_per_second", "leaky", &v));
	assert_float_equal(v / MB, 1.5, 0.02);	/* 1 + 0.5 */
	assert_true(lookup(s, "bpfwatch_leak_suspect", "leaky", &v));
	assert_true(v > 0.99);
	assert_true(lookup(s, "bpfwatch_leak_suspect", "steady", &v));
	assert_float_equal(v, 0, 0);
	assert_false(lookup(s, "bpfwatch_leak_suspect", "tiny", &v));
	assert_true(lookup_plain(s, "bpfwatch_leak_analyzed_processes", &v));
	assert_float_equal(v, 3, 0);
	/* 20 ticks with 5 processes (2 left out), 20 with 4 (1 left out) */
	assert_true(lookup_plain(s, "bpfwatch_leak_skipped_processes_total", &v));
	assert_float_equal(v, 60, 0);
	leakdetect__free(ld);
	store__free(s);
}

/*
 * max_processes = 2: a larger newcomer takes the track of the smaller of
 * two tracked processes; the larger keeps its history.  An exec (another
 * address space) starts a process's history again.
 */
static void test_analyzer_eviction_and_exec(void **state)
{
	struct memory_cfg cfg = { .enabled = true };
	struct leak_verdict vd;
	struct leakdetect *ld;

	(void)state;
	cfg.leak = (struct leak_cfg){ .enabled = true, .window_ms = 30000,
				      .min_samples = 20, .max_processes = 2,
				      .significance = 0.01, .min_growth = 0.02 };
	ld = leakdetect__new(&cfg, 1000);
	assert_non_null(ld);
	for (int i = 0; i < 50; i++) {
		struct mem_proc p[3];
		size_t n = 0;

		proc(&p[n++], 20, "a", 100 * MB + i * MB);
		proc(&p[n++], 21, "b", 50 * MB + i * MB);
		if (i >= 25)
			proc(&p[n++], 22, "c", 300 * MB + i * MB);
		if (i >= 40)
			p[0].key = 0x9999;	/* "a" exec'd */
		assert_int_equal(leakdetect__update(ld, p, n, 1000 * (i + 1)), 0);
		if (i == 24) {
			assert_true(leakdetect__verdict(ld, 20, &vd));
			assert_true(leakdetect__verdict(ld, 21, &vd));
		}
		if (i == 26) {
			assert_true(leakdetect__verdict(ld, 20, &vd));
			assert_false(leakdetect__verdict(ld, 21, &vd));
			assert_false(leakdetect__verdict(ld, 22, &vd));
		}
		if (i == 39)
			assert_true(leakdetect__verdict(ld, 20, &vd));
		if (i == 40)
			assert_false(leakdetect__verdict(ld, 20, &vd));
	}
	assert_true(leakdetect__verdict(ld, 22, &vd));
	assert_true(vd.suspect);
	assert_false(leakdetect__verdict(ld, 21, &vd));
	leakdetect__free(ld);
}

static void pid_cb(const struct store_series_view *sv, void *ctx)
{
	int *hits = ctx;

	if (!strcmp(sv->name, "bpfwatch_leak_suspect") && sv->nlabels == 3 &&
	    !strcmp(sv->labels[2].name, "pid") &&
	    (!strcmp(sv->labels[2].value, "30") || !strcmp(sv->labels[2].value, "31")))
		(*hits)++;
}

/* pid_label: one series per process, even under one comm. */
static void test_analyzer_pid_label(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .pid_label = true };
	struct store *s = store__new(4, 1000);
	struct leakdetect *ld;
	int hits = 0;

	(void)state;
	cfg.leak = (struct leak_cfg){ .enabled = true, .window_ms = 30000,
				      .min_samples = 20, .max_processes = 8,
				      .significance = 0.01, .min_growth = 0.02 };
	ld = leakdetect__new(&cfg, 1000);
	assert_non_null(ld);
	for (int i = 0; i < 25; i++) {
		struct mem_proc p[2];

		proc(&p[0], 30, "same", 10 * MB + i * MB);
		proc(&p[1], 31, "same", 10 * MB);
		assert_int_equal(store__begin_tick(s, 1000 * (i + 1)), 0);
		assert_int_equal(leakdetect__update(ld, p, 2, 1000 * (i + 1)), 0);
		assert_int_equal(leakdetect__export(ld, s), 0);
		store__end_tick(s);
	}
	store__foreach(s, NULL, pid_cb, &hits);
	assert_int_equal(hits, 2);
	leakdetect__free(ld);
	store__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_theil_sen_hand),
		cmocka_unit_test(test_theil_sen_edges),
		cmocka_unit_test(test_theil_sen_subsample),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_mk_increasing),
		cmocka_unit_test(test_mk_decreasing),
		cmocka_unit_test(test_mk_ties),
		cmocka_unit_test(test_leak_linear),
		cmocka_unit_test(test_leak_under_churn),
		cmocka_unit_test(test_noise_not_flagged),
		cmocka_unit_test(test_sawtooth_not_flagged),
		cmocka_unit_test(test_rise_then_fall),
		cmocka_unit_test(test_plateau_not_flagged),
		cmocka_unit_test(test_fall_at_end),
		cmocka_unit_test(test_small_growth),
		cmocka_unit_test(test_too_few),
		cmocka_unit_test(test_analyzer),
		cmocka_unit_test(test_analyzer_eviction_and_exec),
		cmocka_unit_test(test_analyzer_pid_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
