/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Robust trend statistics for the analyzers: pure functions, no I/O.
 *
 * Theil-Sen: the slope is the median of the slopes of all pairs of points,
 * so up to ~29% of wild points do not move it (unlike least squares).
 * Mann-Kendall: a rank test for a monotone trend, S = sum over pairs i < j
 * of sign(x_j - x_i); under "no trend" S has mean 0 and variance
 *   (n(n-1)(2n+5) - sum_ties t(t-1)(2t+5)) / 18
 * and is close to normal for n >= 8-10 (Kendall 1975), so
 *   z = (S - sign(S)) / sqrt(var)      (continuity correction)
 * and p from the normal tail.
 */
#ifndef BPFWATCH_TREND_H
#define BPFWATCH_TREND_H

#include <stddef.h>

/*
 * Theil-Sen slope of the points (t[i], v[i]), in v units per t unit.
 * Pairs with equal t are skipped.  With more than @max_points points
 * (>= 2), @max_points of them evenly spread over the series are used, so
 * the work is bounded by max_points^2 / 2 pairs.  Returns 0 and sets
 * *slope, -EINVAL when no pair has distinct t, -ENOMEM.
 */
int trend__theil_sen(const double *t, const double *v, size_t n,
		     size_t max_points, double *slope);

struct mk_result {
	long s;			/* Kendall's S */
	double var_s;		/* its variance under H0, tie-corrected */
	double z;		/* continuity-corrected normal score */
	double p_up;		/* one-sided p-value, H1: increasing */
	double p_down;		/* one-sided p-value, H1: decreasing */
	double p_two;		/* two-sided p-value */
};

/*
 * Mann-Kendall trend test of v[0..n) (in time order).  O(n^2): callers
 * bound n.  Returns 0, -EINVAL for n < 3, -ENOMEM.  With every value tied
 * the variance is 0: z = 0 and every p-value is 1.
 */
int trend__mann_kendall(const double *v, size_t n, struct mk_result *r);

/* Upper tail of the standard normal: P(Z > z). */
double trend__normal_sf(double z);

/* Median of v[0..n) (n >= 1); sorts v. */
double trend__median(double *v, size_t n);

#endif /* BPFWATCH_TREND_H */
