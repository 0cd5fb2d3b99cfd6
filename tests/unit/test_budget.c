// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the overhead budget state machine (agent/budget.c): cost
 * estimates, state changes with their hysteresis, and the duty cycle; and
 * of what needs no BPF in the uprobe cost calibration (agent/calib.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>

#include "budget.h"
#include "calib.h"

#define EPS 1e-9

static struct budget state(enum budget_state s, double ratio, unsigned int calm)
{
	return (struct budget){ .state = s, .ratio = ratio, .calm = calm };
}

static void expect(struct budget b, enum budget_state s, double ratio,
		   unsigned int calm)
{
	if (b.state != s)
		fail_msg("state %s, want %s", budget_state__name(b.state),
			 budget_state__name(s));
	assert_float_equal(b.ratio, ratio, EPS);
	assert_int_equal(b.calm, calm);
}

static void test_names(void **st)
{
	(void)st;
	assert_string_equal(budget_state__name(BUDGET_ACTIVE), "active");
	assert_string_equal(budget_state__name(BUDGET_SAMPLED), "sampled");
	assert_string_equal(budget_state__name(BUDGET_SUSPENDED), "suspended");
	assert_string_equal(budget_state__name(BUDGET__COUNT), "unknown");
	expect(budget__init(), BUDGET_ACTIVE, 1.0, 0);
}

static void test_cost(void **st)
{
	(void)st;
	/* 10 000 traps of 5 us in 1 s: 5% of a CPU */
	assert_float_equal(budget__cost(10000, 5000.0, 0, 1000000000ULL), 0.05, EPS);
	/* plus 10 ms of BPF run time */
	assert_float_equal(budget__cost(10000, 5000.0, 10000000ULL, 1000000000ULL),
			   0.06, EPS);
	/* seen over 100 ms only: the full-rate cost is ten times that */
	assert_float_equal(budget__cost(1000, 5000.0, 0, 100000000ULL), 0.05, EPS);
	assert_float_equal(budget__cost(0, 5000.0, 0, 1000000000ULL), 0.0, EPS);
	assert_true(budget__cost(1000, 5000.0, 0, 0) < 0);
}

static void test_active_stays_within_budget(void **st)
{
	(void)st;
	expect(budget__next(budget__init(), 0.0, 0.01), BUDGET_ACTIVE, 1.0, 0);
	expect(budget__next(budget__init(), 0.009, 0.01), BUDGET_ACTIVE, 1.0, 0);
	/* exactly at the limit is within it */
	expect(budget__next(budget__init(), 0.01, 0.01), BUDGET_ACTIVE, 1.0, 0);
	/* unknown cost: no change */
	expect(budget__next(budget__init(), -1.0, 0.01), BUDGET_ACTIVE, 1.0, 0);
}

static void test_active_to_sampled(void **st)
{
	(void)st;
	/* 4% of a CPU against 1%: attached a quarter of the time */
	expect(budget__next(budget__init(), 0.04, 0.01), BUDGET_SAMPLED, 0.25, 0);
	/* the lowest ratio that still samples */
	expect(budget__next(budget__init(), 1.0, 0.01), BUDGET_SAMPLED, 0.01, 0);
	/* a generous budget on a busy entry */
	expect(budget__next(budget__init(), 2.0, 1.0), BUDGET_SAMPLED, 0.5, 0);
}

static void test_active_to_suspended(void **st)
{
	(void)st;
	expect(budget__next(budget__init(), 1.01, 0.01), BUDGET_SUSPENDED, 0.0, 0);
	expect(budget__next(budget__init(), 3.0, 0.001), BUDGET_SUSPENDED, 0.0, 0);
}

static void test_sampled_follows_cost(void **st)
{
	struct budget b = state(BUDGET_SAMPLED, 0.25, 0);

	(void)st;
	/* busier: lower ratio; less busy but over the limit: higher ratio */
	expect(budget__next(b, 0.05, 0.01), BUDGET_SAMPLED, 0.2, 0);
	expect(budget__next(b, 0.02, 0.01), BUDGET_SAMPLED, 0.5, 0);
	/* too busy even for 1% of the time */
	expect(budget__next(b, 2.0, 0.01), BUDGET_SUSPENDED, 0.0, 0);
	/* nothing observed: unchanged */
	expect(budget__next(b, -1.0, 0.01), BUDGET_SAMPLED, 0.25, 0);
}

static void test_sampled_hysteresis(void **st)
{
	struct budget b = state(BUDGET_SAMPLED, 0.25, 0);

	(void)st;
	/* under the limit but over half of it: keep sampling, not calm */
	b = budget__next(b, 0.008, 0.01);
	expect(b, BUDGET_SAMPLED, 0.25, 0);
	/* calm for two ticks: still sampled */
	b = budget__next(b, 0.004, 0.01);
	expect(b, BUDGET_SAMPLED, 0.25, 1);
	b = budget__next(b, 0.004, 0.01);
	expect(b, BUDGET_SAMPLED, 0.25, 2);
	/* a tick without an observation does not break the run */
	b = budget__next(b, -1.0, 0.01);
	expect(b, BUDGET_SAMPLED, 0.25, 2);
	/* a busy tick does */
	expect(budget__next(b, 0.006, 0.01), BUDGET_SAMPLED, 0.25, 0);
	expect(budget__next(b, 0.02, 0.01), BUDGET_SAMPLED, 0.5, 0);
	/* the third calm tick restores the entry */
	expect(budget__next(b, 0.0, 0.01), BUDGET_ACTIVE, 1.0, 0);
}

static void test_suspended(void **st)
{
	struct budget b = state(BUDGET_SUSPENDED, 0.0, 0);

	(void)st;
	/* between re-probes nothing is observed */
	expect(budget__next(b, -1.0, 0.01), BUDGET_SUSPENDED, 0.0, 0);
	/* still far too busy */
	expect(budget__next(b, 5.0, 0.01), BUDGET_SUSPENDED, 0.0, 0);
	/* busy, but sampling is possible again */
	expect(budget__next(b, 0.1, 0.01), BUDGET_SAMPLED, 0.1, 0);
	/* under the limit, not calm: sampled at half the time */
	expect(budget__next(b, 0.009, 0.01), BUDGET_SAMPLED, BUDGET_RESTORE, 0);
	/* calm: sampled at half the time, then active after the next two */
	b = budget__next(b, 0.001, 0.01);
	expect(b, BUDGET_SAMPLED, BUDGET_RESTORE, 1);
	b = budget__next(b, 0.001, 0.01);
	expect(b, BUDGET_SAMPLED, BUDGET_RESTORE, 2);
	expect(budget__next(b, 0.001, 0.01), BUDGET_ACTIVE, 1.0, 0);
}

static void test_bad_inputs(void **st)
{
	struct budget b = state(BUDGET_SAMPLED, 0.3, 1);

	(void)st;
	expect(budget__next(b, 0.5, 0.0), BUDGET_SAMPLED, 0.3, 1);
	expect(budget__next(b, 0.5, -1.0), BUDGET_SAMPLED, 0.3, 1);
	expect(budget__next(b, NAN, 0.01), BUDGET_SAMPLED, 0.3, 1);
}

static void test_duty_cycle(void **st)
{
	struct budget b = state(BUDGET_SAMPLED, 0.25, 0);
	const uint64_t t = 1000000000000ULL;

	(void)st;
	/* attached a quarter of each second (going down at 250 ms), up
	 * again one second after it came up */
	assert_int_equal(budget__next_flip(&b, true, t, 0), t + 250000000ULL);
	assert_int_equal(budget__next_flip(&b, false, t, 0), t + 1000000000ULL);
	/* the smallest ratio still gets its 10 ms */
	b.ratio = BUDGET_MIN_RATIO;
	assert_int_equal(budget__next_flip(&b, true, t, 0), t + 10000000ULL);
	/* suspended: a short window every 30 s */
	b = state(BUDGET_SUSPENDED, 0.0, 0);
	assert_int_equal(budget__next_flip(&b, true, t, 0), t + BUDGET_WINDOW_NS);
	assert_int_equal(budget__next_flip(&b, false, t, 0), t + BUDGET_REPROBE_NS);
	/* active: attached for good, or due now when not */
	b = budget__init();
	assert_int_equal(budget__next_flip(&b, true, t, 0), 0);
	assert_int_equal(budget__next_flip(&b, false, t, 0), t);
}

/* Detaching keeps costing for a while (the overhang): a sampled entry
 * goes down that much early, or its period is stretched. */
static void test_duty_cycle_overhang(void **st)
{
	struct budget b = state(BUDGET_SAMPLED, 0.25, 0);
	const uint64_t t = 1000000000000ULL, d = 80000000ULL;	/* 80 ms */

	(void)st;
	/* 250 ms share: down at 170 ms, costing until 250 ms */
	assert_int_equal(budget__next_flip(&b, true, t, d), t + 170000000ULL);
	assert_int_equal(budget__next_flip(&b, false, t, d), t + 1000000000ULL);
	/* exactly twice the overhang: still a one-second period */
	b.ratio = 0.16;
	assert_int_equal(budget__next_flip(&b, true, t, d), t + 80000000ULL);
	assert_int_equal(budget__next_flip(&b, false, t, d), t + 1000000000ULL);
	/* 2%: up 80 ms, costing 160 ms, of an 8 s period */
	b.ratio = 0.02;
	assert_int_equal(budget__next_flip(&b, true, t, d), t + d);
	assert_int_equal(budget__next_flip(&b, false, t, d), t + 8000000000ULL);
	/* 1% of the time, the least that is sampled: a 16 s period */
	b.ratio = BUDGET_MIN_RATIO;
	assert_int_equal(budget__next_flip(&b, false, t, d), t + 16000000000ULL);
	/* suspended and active entries do not care */
	b = state(BUDGET_SUSPENDED, 0.0, 0);
	assert_int_equal(budget__next_flip(&b, true, t, d), t + BUDGET_WINDOW_NS);
	b = budget__init();
	assert_int_equal(budget__next_flip(&b, true, t, d), 0);
}

/* Over the long run a sampled entry costs about its limit: simulate a
 * steady 5% load against a 1% budget. */
static void test_converges_to_limit(void **st)
{
	struct budget b = budget__init();
	const double full = 0.05, limit = 0.01;

	(void)st;
	for (int i = 0; i < 10; i++)
		b = budget__next(b, full, limit);
	expect(b, BUDGET_SAMPLED, 0.2, 0);
	assert_float_equal(full * b.ratio, limit, EPS);
	/* the load goes away: active after BUDGET_CALM_TICKS ticks */
	for (int i = 0; i < BUDGET_CALM_TICKS - 1; i++) {
		b = budget__next(b, 0.0, limit);
		assert_int_equal(b.state, BUDGET_SAMPLED);
	}
	expect(budget__next(b, 0.0, limit), BUDGET_ACTIVE, 1.0, 0);
}

/* What a uprobe costs depends on the probed instruction (calib.h). */
static void test_classify(void **st)
{
	static const struct {
		uint8_t code[4];
		size_t len;
		enum calib_insn want;
	} cases[] = {
		{ { 0x55 }, 1, CALIB_PUSH },			/* push %rbp */
		{ { 0x53, 0x48 }, 2, CALIB_PUSH },		/* push %rbx */
		{ { 0x41, 0x57 }, 2, CALIB_PUSH },		/* push %r15 */
		{ { 0x41, 0x54 }, 2, CALIB_PUSH },		/* push %r12 */
		{ { 0x90 }, 1, CALIB_NOP },			/* nop (USDT) */
		{ { 0xf3, 0x0f, 0x1e, 0xfa }, 4, CALIB_OTHER },	/* endbr64 */
		{ { 0x48, 0x83, 0xec, 0x08 }, 4, CALIB_OTHER },	/* sub $8,%rsp */
		{ { 0x48, 0x8b, 0x05 }, 3, CALIB_OTHER },	/* mov x(%rip),%rax */
		{ { 0xc3 }, 1, CALIB_OTHER },			/* ret */
		{ { 0x41 }, 1, CALIB_OTHER },			/* a cut REX prefix */
		{ { 0x41, 0x89 }, 2, CALIB_OTHER },		/* mov %eax,%r8d... */
		{ { 0x66, 0x90 }, 2, CALIB_OTHER },		/* xchg %ax,%ax */
		{ { 0 }, 0, CALIB_OTHER },
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum calib_insn got = calib__classify(cases[i].code, cases[i].len);

		if (got != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, calib_insn__name(got),
				 calib_insn__name(cases[i].want));
	}
	assert_string_equal(calib_insn__name(CALIB_RETURN), "return");
	assert_string_equal(calib_insn__name(CALIB__COUNT), "unknown");
	assert_string_equal(calib__target_name(CALIB_RETURN),
			    calib__target_name(CALIB_PUSH));
	assert_null(calib__target_name(CALIB__COUNT));
}

/* The targets are in this executable, at a file offset a uprobe can use
 * (no BPF needed to check that). */
static void test_calib_targets(void **st)
{
	size_t off[CALIB__COUNT];

	(void)st;
	for (int k = 0; k < CALIB__COUNT; k++) {
		assert_int_equal(calib__target_offset((enum calib_insn)k, &off[k]), 0);
		assert_true(off[k] > 0);
		/* the timed loop runs (and returns) */
		calib__time_calls((enum calib_insn)k, 10);
	}
	assert_int_equal(off[CALIB_RETURN], off[CALIB_PUSH]);
	assert_true(off[CALIB_NOP] != off[CALIB_PUSH]);
	assert_int_equal(calib__target_offset(CALIB__COUNT, &off[0]), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_active_stays_within_budget),
		cmocka_unit_test(test_active_to_sampled),
		cmocka_unit_test(test_active_to_suspended),
		cmocka_unit_test(test_sampled_follows_cost),
		cmocka_unit_test(test_sampled_hysteresis),
		cmocka_unit_test(test_suspended),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_duty_cycle),
		cmocka_unit_test(test_duty_cycle_overhang),
		cmocka_unit_test(test_converges_to_limit),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_calib_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
