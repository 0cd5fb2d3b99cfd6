// SPDX-License-Identifier: GPL-2.0
/* USDT notes read back from this test binary's own .note.stapsdt. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sdt.h>

#include "usdt_notes.h"

__attribute__((noinline)) static int probed(int x, long y)
{
	DTRACE_PROBE2(bwunit, two_args, x, y);
	DTRACE_PROBE(bwunit, no_args);
	return x + (int)y;
}

struct seen {
	int two, none, other;
	char args[64];
};

static int collect(const struct usdt_note *n, void *ctx)
{
	struct seen *s = ctx;

	if (strcmp(n->provider, "bwunit") != 0) {
		s->other++;
		return 0;
	}
	if (!strcmp(n->name, "two_args")) {
		s->two++;
		snprintf(s->args, sizeof(s->args), "%s", n->args);
		assert_true(n->pc != 0);
		assert_int_equal(n->semaphore, 0);
	} else if (!strcmp(n->name, "no_args")) {
		s->none++;
		assert_string_equal(n->args, "");
	}
	return 0;
}

static int stop_at_first(const struct usdt_note *n, void *ctx)
{
	(void)n;
	(*(int *)ctx)++;
	return 42;
}

static void test_own_notes(void **state)
{
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(probed(1, 2), 3);
	assert_int_equal(usdt_notes__foreach("/proc/self/exe", collect, &s), 0);
	assert_int_equal(s.two, 1);
	assert_int_equal(s.none, 1);
	/* two arguments, an int and a long, each "SIZE@LOCATION" */
	assert_non_null(strstr(s.args, "-4@"));
	assert_non_null(strstr(s.args, "8@"));
	assert_non_null(strchr(s.args, ' '));
}

static void test_stop_and_errors(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(usdt_notes__foreach("/proc/self/exe", stop_at_first, &n), 42);
	assert_int_equal(n, 1);
	assert_int_equal(usdt_notes__foreach("/nonexistent/bin", stop_at_first, &n),
			 -ENOENT);
	assert_int_equal(usdt_notes__foreach("/etc/hostname", stop_at_first, &n),
			 -ENOEXEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_notes),
		cmocka_unit_test(test_stop_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
