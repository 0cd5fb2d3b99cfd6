// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the probes.memory section of the configuration parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define ERRLEN 8192

static struct config *parse(const char *text, char *err)
{
	return config__parse("t.yml", text, strlen(text), err, ERRLEN);
}

static void expect_error(const char *text, const char *want)
{
	char err[ERRLEN];
	struct config *cfg = parse(text, err);

	if (cfg) {
		config__free(cfg);
		fail_msg("parsed: %s", text);
	}
	if (strcmp(err, want)) {
		print_error("input:\n%s\nwant:\n%s\ngot:\n%s\n", text, want, err);
		fail();
	}
}

static void test_defaults(void **state)
{
	char err[ERRLEN];
	struct config *cfg = parse("", err);
	struct config *def = config__load_default(err, ERRLEN);

	(void)state;
	assert_non_null(cfg);
	assert_non_null(def);
	for (int i = 0; i < 2; i++) {
		const struct memory_cfg *m = i ? &def->memory : &cfg->memory;

		assert_true(m->enabled);
		assert_int_equal(m->max_entries, 16384);
		assert_false(m->pid_label);
		assert_false(m->targets.set);
		assert_true(m->leak.enabled);
		assert_int_equal(m->leak.window_ms, 600000);
		assert_int_equal(m->leak.min_samples, 20);
		assert_int_equal(m->leak.max_processes, 256);
		assert_float_equal(m->leak.significance, 0.01, 1e-12);
		assert_float_equal(m->leak.min_growth, 0.02, 1e-12);
		assert_false(m->growth.enabled);
		assert_int_equal(m->growth.sample_every, 64);
		assert_int_equal(m->growth.top_k, 5);
	}
	config__free(cfg);
	config__free(def);
}

static void test_override(void **state)
{
	char err[ERRLEN];
	struct config *cfg = parse(
		"global: { collection_interval: 1s }\n"
		"probes:\n"
		"  memory:\n"
		"    enabled: false\n"
		"    max_entries: 100\n"
		"    pid_label: true\n"
		"    targets: { comm: \"^memgrow$\" }\n"
		"    leak_detection:\n"
		"      enabled: true\n"
		"      window: 30s\n"
		"      min_samples: 25\n"
		"      max_processes: 8\n"
		"      significance: 0.001\n"
		"      min_growth: 5%\n", err);

	(void)state;
	assert_non_null(cfg);
	assert_false(cfg->memory.enabled);
	assert_int_equal(cfg->memory.max_entries, 100);
	assert_true(cfg->memory.pid_label);
	assert_true(cfg->memory.targets.set);
	assert_string_equal(cfg->memory.targets.comm, "^memgrow$");
	assert_int_equal(cfg->memory.leak.window_ms, 30000);
	assert_int_equal(cfg->memory.leak.min_samples, 25);
	assert_int_equal(cfg->memory.leak.max_processes, 8);
	assert_float_equal(cfg->memory.leak.significance, 0.001, 1e-12);
	assert_float_equal(cfg->memory.leak.min_growth, 0.05, 1e-12);
	config__free(cfg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("probes:\n  memory:\n    enable: true\n",
		     "t.yml:3:5: unknown field 'enable' in probes.memory");
	expect_error("probes:\n  memory:\n    leak_detection: { min_samples: 10 }\n",
		     "t.yml:3:36: probes.memory.leak_detection.min_samples: must be "
		     "between 18 and 100000, got '10'");
	expect_error("probes:\n  memory:\n    leak_detection: { significance: often }\n",
		     "t.yml:3:37: probes.memory.leak_detection.significance: expected "
		     "a fraction such as 0.05 or 5%, got 'often'");
	expect_error("probes:\n  memory:\n    leak_detection: { min_growth: 150% }\n",
		     "t.yml:3:35: probes.memory.leak_detection.min_growth: must be "
		     "more than 0 and at most 1 (100%), got '150%'");
	/* 10s of 1s ticks is 11 samples, fewer than 20 */
	expect_error("global: { collection_interval: 1s }\n"
		     "probes:\n  memory:\n    leak_detection: { window: 10s }\n",
		     "t.yml:4:31: probes.memory.leak_detection.window: 10s holds "
		     "fewer than min_samples (20) ticks of global.collection_interval (1s)");
}

/* The default window is widened to hold min_samples long ticks. */
static void test_default_window_widened(void **state)
{
	char err[ERRLEN];
	struct config *cfg = parse("global: { collection_interval: 1m }\n", err);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->memory.leak.window_ms, 19 * 60000);
	config__free(cfg);
}

static void test_growth_paths(void **state)
{
	char err[ERRLEN];
	struct config *cfg = parse("probes:\n  memory:\n    growth_paths:\n"
				   "      enabled: true\n      sample_every: 8\n"
				   "      top_k: 10\n", err);

	(void)state;
	assert_non_null(cfg);
	assert_true(cfg->memory.growth.enabled);
	assert_int_equal(cfg->memory.growth.sample_every, 8);
	assert_int_equal(cfg->memory.growth.top_k, 10);
	config__free(cfg);
	expect_error("probes:\n  memory:\n    growth_paths: { sample_every: 0 }\n",
		     "t.yml:3:35: probes.memory.growth_paths.sample_every: must be "
		     "between 1 and 65536, got '0'");
	expect_error("probes:\n  memory:\n    growth_paths: { top_k: 101 }\n",
		     "t.yml:3:28: probes.memory.growth_paths.top_k: must be "
		     "between 1 and 100, got '101'");
	expect_error("probes:\n  memory:\n    growth_paths: { enable: true }\n",
		     "t.yml:3:21: unknown field 'enable' in probes.memory.growth_paths");
}

/* With leak detection off, the window does not matter. */
static void test_leak_off(void **state)
{
	char err[ERRLEN];
	struct config *cfg = parse("global: { collection_interval: 1m }\n"
				   "probes:\n  memory:\n    leak_detection: { enabled: false }\n",
				   err);

	(void)state;
	assert_non_null(cfg);
	assert_false(cfg->memory.leak.enabled);
	config__free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_default_window_widened),
		cmocka_unit_test(test_leak_off),
		cmocka_unit_test(test_growth_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
