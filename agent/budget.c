// SPDX-License-Identifier: GPL-2.0
/*
 * Overhead budget state machine (see budget.h).
 */
#include <math.h>

#include "budget.h"

struct budget budget__init(void)
{
	return (struct budget){ .state = BUDGET_ACTIVE, .ratio = 1.0 };
}

const char *budget_state__name(enum budget_state s)
{
	switch (s) {
	case BUDGET_ACTIVE: return "active";
	case BUDGET_SAMPLED: return "sampled";
	case BUDGET_SUSPENDED: return "suspended";
	default: return "unknown";
	}
}

double budget__cost(uint64_t traps, double trap_ns, uint64_t bpf_ns,
		    uint64_t observed_ns)
{
	if (!observed_ns)
		return -1.0;
	return ((double)traps * trap_ns + (double)bpf_ns) / (double)observed_ns;
}

/* Over the limit: sample at limit / cost, or suspend when that is less
 * than BUDGET_MIN_RATIO. */
static struct budget over(double cost, double limit)
{
	double r = limit / cost;

	if (r < BUDGET_MIN_RATIO)
		return (struct budget){ .state = BUDGET_SUSPENDED, .ratio = 0.0 };
	return (struct budget){ .state = BUDGET_SAMPLED, .ratio = r };
}

/*
 * Active entries only look at the limit.  Sampled and suspended entries
 * go back to active after BUDGET_CALM_TICKS calm estimates; over the limit
 * they get a new ratio (or are suspended); in between (under the limit,
 * not yet calm long enough) a sampled entry keeps its ratio and a
 * suspended one is sampled at BUDGET_RESTORE, which keeps it at or under
 * half its limit while the next estimates come every tick instead of
 * every BUDGET_REPROBE_NS.
 */
struct budget budget__next(struct budget cur, double cost, double limit)
{
	struct budget next = cur;

	if (cost < 0 || isnan(cost) || !(limit > 0))
		return cur;
	if (cur.state == BUDGET_ACTIVE)
		return cost > limit ? over(cost, limit) : budget__init();
	next.calm = cost < BUDGET_RESTORE * limit ? cur.calm + 1 : 0;
	if (next.calm >= BUDGET_CALM_TICKS)
		return budget__init();
	if (cost > limit) {
		next = over(cost, limit);
		return next;
	}
	if (cur.state == BUDGET_SUSPENDED) {
		next.state = BUDGET_SAMPLED;
		next.ratio = BUDGET_RESTORE;
	}
	return next;
}

uint64_t budget__next_flip(const struct budget *b, bool linked, uint64_t since,
			   uint64_t overhang_ns)
{
	uint64_t on, period = BUDGET_PERIOD_NS;

	switch (b->state) {
	case BUDGET_SAMPLED:
		on = (uint64_t)(b->ratio * (double)BUDGET_PERIOD_NS);
		if (on > BUDGET_PERIOD_NS)
			on = BUDGET_PERIOD_NS;
		if (on >= 2 * overhang_ns) {
			on -= overhang_ns;
		} else {
			on = overhang_ns;
			period = (uint64_t)(2.0 * (double)overhang_ns / b->ratio);
		}
		if (on < 1)
			on = 1;
		return since + (linked ? on : period);
	case BUDGET_SUSPENDED:
		return since + (linked ? BUDGET_WINDOW_NS : BUDGET_REPROBE_NS);
	default:
		return linked ? 0 : since;
	}
}
