// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdio.h>
#include <linux/types.h>

#include "hist.h"
#include "histexpo.h"
#include "store.h"

uint64_t histexpo__count(const struct hist *h)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < HIST_SLOTS; i++)
		total += h->slots[i];
	return total;
}

int histexpo__append(struct store *s, struct store_family *f,
		     const struct hist *h, struct label *l, size_t n)
{
	uint64_t cum = 0, total = histexpo__count(h);
	uint32_t slot = 0;
	char le[32];
	int err;

	l[n].name = "le";
	l[n].value = le;
	for (uint32_t e = HISTEXPO_E_LO; e <= HISTEXPO_E_HI; e++) {
		uint32_t end = hist_slots_below_exp2(e);

		for (; slot < end; slot++)
			cum += h->slots[slot];
		expo__format_double(le, sizeof(le), ldexp(1.0, (int)e - 30));
		err = store__append(s, f, "_bucket", l, n + 1, (double)cum);
		if (err)
			return err;
	}
	snprintf(le, sizeof(le), "+Inf");
	err = store__append(s, f, "_bucket", l, n + 1, (double)total);
	if (!err)
		err = store__append(s, f, "_sum", l, n, (double)h->sum_ns / 1e9);
	if (!err)
		err = store__append(s, f, "_count", l, n, (double)total);
	return err;
}
