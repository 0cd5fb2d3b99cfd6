// SPDX-License-Identifier: GPL-2.0
/* Trend statistics (see trend.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "trend.h"

double trend__normal_sf(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorting is O(n log n) where a selection would be O(n), but the callers
 * bound n (pairs of at most max_points points) and qsort is obviously
 * right. */
double trend__median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Index of the i-th of m points spread evenly over n (first and last kept). */
static size_t spread(size_t i, size_t m, size_t n)
{
	return m < 2 ? 0 : (size_t)((double)i * (double)(n - 1) / (double)(m - 1) + 0.5);
}

int trend__theil_sen(const double *t, const double *v, size_t n,
		     size_t max_points, double *slope)
{
	size_t m = n, np = 0;
	double *s;

	if (max_points < 2)
		max_points = 2;
	if (m > max_points)
		m = max_points;
	if (m < 2)
		return -EINVAL;
	s = malloc(m * (m - 1) / 2 * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t a = 0; a < m; a++) {
		size_t i = spread(a, m, n);

		for (size_t b = a + 1; b < m; b++) {
			size_t j = spread(b, m, n);
			double dt = t[j] - t[i];

			if (dt != 0)
				s[np++] = (v[j] - v[i]) / dt;
		}
	}
	if (!np) {
		free(s);
		return -EINVAL;
	}
	*slope = trend__median(s, np);
	free(s);
	return 0;
}

int trend__mann_kendall(const double *v, size_t n, struct mk_result *r)
{
	double nn = (double)n, ties = 0;
	double *sorted;
	long s = 0;

	if (n < 3)
		return -EINVAL;
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j < n; j++)
			s += (v[j] > v[i]) - (v[j] < v[i]);

	/* tie groups: runs of equal values in sorted order */
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sorted[i] = v[i];
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && sorted[j] == sorted[i])
			j++;
		if (j - i > 1) {
			double tk = (double)(j - i);

			ties += tk * (tk - 1) * (2 * tk + 5);
		}
		i = j;
	}
	free(sorted);

	r->s = s;
	r->var_s = (nn * (nn - 1) * (2 * nn + 5) - ties) / 18.0;
	if (r->var_s <= 0 || s == 0)
		r->z = 0;
	else
		r->z = ((double)s - (s > 0 ? 1 : -1)) / sqrt(r->var_s);
	if (r->var_s <= 0) {
		r->p_up = r->p_down = r->p_two = 1;
		return 0;
	}
	r->p_up = trend__normal_sf(r->z);
	r->p_down = trend__normal_sf(-r->z);
	r->p_two = fmin(1.0, 2 * trend__normal_sf(fabs(r->z)));
	return 0;
}
