/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Overhead budget of a probes.functions entry: pure logic, no I/O.
 *
 * Once per collection tick funcprobe.c estimates what an entry would cost
 * attached all the time (its traps per second while attached times the
 * calibrated cost of a trap, plus its share of the BPF run time), and
 * budget__next() decides how the entry runs from then on:
 *
 *   active     attached all the time (ratio 1)
 *   sampled    attached a fraction `ratio` of every BUDGET_PERIOD_NS:
 *              ratio = limit / cost, so the entry costs about its limit
 *   suspended  sampling would need a ratio under BUDGET_MIN_RATIO:
 *              detached, except a BUDGET_WINDOW_NS window every
 *              BUDGET_REPROBE_NS to measure the call rate again
 *
 * Back to active only once the full-rate cost has stayed under
 * BUDGET_RESTORE x limit for BUDGET_CALM_TICKS estimates in a row, so an
 * entry near its limit does not flap.  budget__next_flip() says when the
 * links of a sampled or suspended entry come and go.
 */
#ifndef BPFWATCH_BUDGET_H
#define BPFWATCH_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define BUDGET_DEFAULT		0.01	/* global.overhead_budget: 1% of a CPU */
#define BUDGET_MIN_RATIO	0.01	/* sampling less than this: suspend */
#define BUDGET_RESTORE		0.5	/* active again under this share of the */
#define BUDGET_CALM_TICKS	3	/* limit, this many estimates in a row */
#define BUDGET_PERIOD_NS	1000000000ULL	/* duty cycle of a sampled entry */
#define BUDGET_REPROBE_NS	30000000000ULL	/* suspended: detached this long, */
#define BUDGET_WINDOW_NS	100000000ULL	/* then attached this long */
/* Attached time an estimate needs; shorter observations are carried over
 * to the next tick (a window cut by a tick boundary, a tiny ratio). */
#define BUDGET_MIN_OBSERVE_NS	10000000ULL

enum budget_state {
	BUDGET_ACTIVE = 0,
	BUDGET_SAMPLED,
	BUDGET_SUSPENDED,
	BUDGET__COUNT,
};

struct budget {
	enum budget_state state;
	double ratio;		/* share of the time attached: 1 when active,
				 * in [BUDGET_MIN_RATIO, 1) when sampled, 0
				 * when suspended */
	unsigned int calm;	/* estimates in a row under BUDGET_RESTORE x
				 * limit (sampled and suspended only) */
};

/* The initial state: active, ratio 1. */
struct budget budget__init(void);

/* "active", "sampled", "suspended" (the `state` label). */
const char *budget_state__name(enum budget_state s);

/*
 * Estimated cost at full rate, in CPU seconds per second, of @traps traps
 * of @trap_ns each plus @bpf_ns of BPF run time seen while attached for
 * @observed_ns.  Negative (unknown) when @observed_ns is 0.
 */
double budget__cost(uint64_t traps, double trap_ns, uint64_t bpf_ns,
		    uint64_t observed_ns);

/*
 * The state after one estimate.  @cost: estimated full-rate cost in CPU
 * seconds per second, negative when nothing was observed (the state is
 * kept); @limit: the entry's budget in (0, 1].
 */
struct budget budget__next(struct budget cur, double cost, double limit);

/*
 * When the links of an entry in state @b must next come up (@linked
 * false) or go down (@linked true), given that they last came up at
 * @since (CLOCK_MONOTONIC ns).  0: never (an active entry that is
 * attached).  An active entry that is not attached is due at @since.
 *
 * @overhang_ns: how long the entry keeps costing once told to go down
 * (detaching a uprobe waits for an RCU grace period, and an entry's
 * second link traps meanwhile).  A sampled entry goes down that much
 * early, and when its share of BUDGET_PERIOD_NS would not even cover
 * twice that, the period is stretched instead (up @overhang_ns, then
 * going down for @overhang_ns), so the share attached stays `ratio`.
 */
uint64_t budget__next_flip(const struct budget *b, bool linked, uint64_t since,
			   uint64_t overhang_ns);

#endif /* BPFWATCH_BUDGET_H */
