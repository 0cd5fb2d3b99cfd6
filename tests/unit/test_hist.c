// SPDX-License-Identifier: GPL-2.0
/* The log-linear bucket function shared by BPF and user space. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "hist.h"

static void test_small_values_exact(void **state)
{
	(void)state;
	for (__u64 v = 0; v < 32; v++)
		assert_int_equal(hist_slot(v), v);
}

static void test_octave_edges(void **state)
{
	(void)state;
	for (__u32 k = 4; k < HIST_MAX_EXP; k++) {
		__u64 lo = 1ULL << k;

		/* First value of an octave opens a new group of 16 slots. */
		assert_int_equal(hist_slot(lo), HIST_SUB * (k - 3));
		/* Last value of the previous octave is the slot just before. */
		assert_int_equal(hist_slot(lo - 1), HIST_SUB * (k - 3) - 1);
		/* Last value of this octave is the 16th slot of the group. */
		assert_int_equal(hist_slot((lo << 1) - 1), HIST_SUB * (k - 3) + 15);
	}
}

static void test_overflow(void **state)
{
	(void)state;
	assert_int_equal(hist_slot(1ULL << HIST_MAX_EXP), HIST_OVERFLOW);
	assert_int_equal(hist_slot(~0ULL), HIST_OVERFLOW);
	assert_int_equal(hist_slot((1ULL << HIST_MAX_EXP) - 1), HIST_OVERFLOW - 1);
	assert_true(HIST_OVERFLOW < HIST_SLOTS);
}

static void test_lower_bounds_roundtrip(void **state)
{
	(void)state;
	for (__u32 i = 0; i < HIST_SLOTS; i++) {
		__u64 lo = hist_slot_lower(i);

		assert_int_equal(hist_slot(lo), i);
		if (i > 0 && i < HIST_OVERFLOW) {
			/* contiguous: the value below belongs to the previous slot */
			assert_int_equal(hist_slot(lo - 1), i - 1);
		}
	}
}

static void test_width_bound(void **state)
{
	(void)state;
	/* Every slot at or above 16 is at most 1/16 = 6.25% of its lower edge. */
	for (__u32 i = HIST_SUB; i < HIST_OVERFLOW; i++) {
		__u64 lo = hist_slot_lower(i), hi = hist_slot_lower(i + 1);

		assert_true(hi > lo);
		assert_true((hi - lo) * 16 <= lo);
	}
}

static void test_exp2_prefix(void **state)
{
	(void)state;
	/* hist_slots_below_exp2(e) slots hold exactly the values < 2^e. */
	for (__u32 e = 0; e <= HIST_MAX_EXP; e++) {
		__u32 n = hist_slots_below_exp2(e);

		assert_int_equal(hist_slot((1ULL << e) - 1 + (e == 0)), e == 0 ? 1 : n - 1);
		if (e < HIST_MAX_EXP || n == HIST_OVERFLOW)
			assert_int_equal(hist_slot_lower(n), 1ULL << e);
	}
}

static void test_ns_to_units(void **state)
{
	(void)state;
	/* 1 s is exactly 2^30 units; 0.5 s is 2^29. */
	assert_int_equal(hist_ns_to_units(1000000000ULL), 1ULL << 30);
	assert_int_equal(hist_ns_to_units(500000000ULL), 1ULL << 29);
	assert_int_equal(hist_ns_to_units(0), 0);
	/* floor: 1 ns is 1.07 units */
	assert_int_equal(hist_ns_to_units(1), 1);
	assert_int_equal(hist_ns_to_units(1000), 1073);
	/* largest convertible value and clamping */
	assert_true(hist_ns_to_units(HIST_NS_LIMIT - 1) > (1ULL << HIST_MAX_EXP));
	assert_int_equal(hist_ns_to_units(HIST_NS_LIMIT), ~0ULL);
	assert_int_equal(hist_slot(hist_ns_to_units(HIST_NS_LIMIT)), HIST_OVERFLOW);
	/* 10 ms lands in octave 23 (2^23 units = 7.8 ms .. 15.6 ms) */
	assert_int_equal(hist_msb64(hist_ns_to_units(10000000ULL)), 23);
}

static void test_msb(void **state)
{
	(void)state;
	assert_int_equal(hist_msb64(1), 0);
	for (__u32 k = 0; k < 64; k++) {
		assert_int_equal(hist_msb64(1ULL << k), k);
		if (k > 1)
			assert_int_equal(hist_msb64((1ULL << k) - 1), k - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_octave_edges),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_lower_bounds_roundtrip),
		cmocka_unit_test(test_width_bound),
		cmocka_unit_test(test_exp2_prefix),
		cmocka_unit_test(test_ns_to_units),
		cmocka_unit_test(test_msb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
