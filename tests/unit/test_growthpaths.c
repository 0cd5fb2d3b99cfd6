// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the growth path labels (growth_path__build in
 * agent/growthpaths.c) on synthetic symbolized frames, innermost first:
 * libc, loader, vDSO and unmapped frames skipped, modules without a
 * symbol named by base name, never an address, at most GP_PATH_FRAMES
 * frames, outer to inner, repeats collapsed, cut to fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "growthpaths.h"

#define EXE	"/usr/local/bin/memgrow"
#define LIBC	"/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LD	"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
#define APP_LIB	"/opt/app/lib/libapp.so.1"

static void expect(const struct gp_frame *f, size_t n, const char *want)
{
	char buf[GP_PATH_LEN];
	size_t len = growth_path__build(f, n, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));
	assert_null(strstr(buf, "0x"));
}

static void test_skips_libc(void **state)
{
	/* memset in libc faulting for leak_alloc called from main */
	const struct gp_frame f[] = {
		{ LIBC, "__memset_avx2_unaligned_erms" },
		{ LIBC, NULL },
		{ EXE, "leak_alloc" },
		{ EXE, "run" },
		{ EXE, "main" },
		{ LIBC, "__libc_start_call_main" },
		{ EXE, "_start" },
	};

	(void)state;
	expect(f, 7, "_start;main;run;leak_alloc");
}

static void test_at_most_four_innermost(void **state)
{
	const struct gp_frame f[] = {
		{ EXE, "f1" }, { EXE, "f2" }, { APP_LIB, "f3" }, { EXE, "f4" },
		{ EXE, "f5" }, { EXE, "main" },
	};

	(void)state;
	expect(f, 6, "f4;f3;f2;f1");
}

static void test_no_addresses(void **state)
{
	/* stripped library, anonymous (JIT) code, [heap], a frame in no
	 * mapping (skipped), the loader and the vDSO (skipped) */
	const struct gp_frame f[] = {
		{ "[vdso]", NULL },
		{ APP_LIB, NULL },
		{ NULL, NULL },
		{ "", NULL },
		{ LD, "_dl_start" },
		{ "[heap]", NULL },
	};

	(void)state;
	expect(f, 6, "[heap];[anon];[libapp.so.1]");
}

static void test_repeats_collapse(void **state)
{
	/* three frames of one stripped module count once */
	const struct gp_frame f[] = {
		{ EXE, "leak_alloc" }, { APP_LIB, NULL }, { APP_LIB, NULL },
		{ APP_LIB, NULL }, { EXE, "main" },
	};

	(void)state;
	expect(f, 5, "main;[libapp.so.1];leak_alloc");
}

static void test_all_skipped(void **state)
{
	/* only libc (its walk stopped there): the innermost frame all the
	 * same, by symbol or by module */
	const struct gp_frame a[] = { { LIBC, "malloc" }, { LIBC, NULL } };
	const struct gp_frame b[] = { { LIBC, NULL } };
	const struct gp_frame c[] = { { NULL, NULL } };

	(void)state;
	expect(a, 2, "malloc");
	expect(b, 1, "[libc.so.6]");
	expect(c, 1, "[unknown]");
	expect(a, 0, "");
}

static void test_cut_to_fit(void **state)
{
	char big[246], buf[GP_PATH_LEN], small[16];
	struct gp_frame f[3];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f[0] = (struct gp_frame){ EXE, "inner" };
	f[1] = (struct gp_frame){ EXE, big };
	f[2] = (struct gp_frame){ EXE, "outer" };
	/* "outer;xxx...;inner" is longer than GP_PATH_LEN: outer frames go
	 * first, the innermost stay */
	growth_path__build(f, 3, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 245 + 1 + 5);
	assert_true(!strncmp(buf, "xxx", 3));
	assert_string_equal(buf + 246, "inner");
	/* a single frame longer than the buffer is cut */
	assert_int_equal(growth_path__build(&f[1], 1, small, sizeof(small)), 15);
	assert_int_equal(strlen(small), 15);
	/* outer frames dropped to fit 12 bytes: "inner" alone */
	growth_path__build(f, 3, small, 12);
	assert_string_equal(small, "inner");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skips_libc),
		cmocka_unit_test(test_at_most_four_innermost),
		cmocka_unit_test(test_no_addresses),
		cmocka_unit_test(test_repeats_collapse),
		cmocka_unit_test(test_all_skipped),
		cmocka_unit_test(test_cut_to_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
