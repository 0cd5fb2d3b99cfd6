// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the configuration parser (agent/config.c).  Error cases
 * compare the whole error text, positions included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define ERRLEN 8192

static struct config *parse(const char *text, char *err)
{
	return config__parse("t.yml", text, strlen(text), err, ERRLEN);
}

/* Parse @text, expect failure with EINVAL and exactly @want as errors. */
static void expect_error(const char *text, const char *want)
{
	char err[ERRLEN];
	struct config *cfg;

	errno = 0;
	cfg = parse(text, err);
	if (cfg) {
		print_error("input:\n%s\nparsed, want:\n%s\n", text, want);
		fail();
	}
	assert_int_equal(errno, EINVAL);
	if (strcmp(err, want)) {
		/* fail_msg() cuts long messages: print first */
		print_error("input:\n%s\nwant:\n%s\ngot:\n%s\n", text, want, err);
		fail();
	}
}

/* Parse @text, expect success. */
static struct config *expect_ok(const char *text)
{
	char err[ERRLEN] = "";
	struct config *cfg = parse(text, err);

	if (!cfg) {
		print_error("input:\n%s\nunexpected error:\n%s\n", text, err);
		fail();
	}
	return cfg;
}

/* The values documented in config.h. */
static void assert_defaults(const struct config *cfg)
{
	assert_int_equal(cfg->collection_interval_ms, 5000);
	assert_int_equal(cfg->retention_ms, 15 * 60 * 1000);
	assert_int_equal(cfg->idle_timeout_ms, 5 * 60 * 1000);
	assert_int_equal(cfg->max_series, 50000);
	assert_false(cfg->strict);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_float_equal(cfg->overhead_budget, 0.01, 1e-12);
	assert_string_equal(cfg->listen_address, ":9477");
	assert_string_equal(cfg->state_dir, "/var/lib/bpfwatch");
	assert_true(cfg->probes[PROBE_RUNQ].enabled);
	assert_int_equal(cfg->probes[PROBE_RUNQ].max_entries, 2048);
	assert_true(cfg->probes[PROBE_BIO].enabled);
	assert_int_equal(cfg->probes[PROBE_BIO].max_entries, 256);
	assert_false(cfg->probes[PROBE_SYSCALL].enabled);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].max_entries, 4096);
	for (int i = 0; i < PROBE__COUNT; i++) {
		const struct targets_cfg *t = &cfg->probes[i].targets;

		assert_false(t->set);
		assert_null(t->pids);
		assert_int_equal(t->npids, 0);
		assert_null(t->comm);
		assert_false(t->comm_set);
	}
}

static void test_defaults_when_empty(void **state)
{
	static const char *const texts[] = {
		"", "# only a comment\n", "\n\n", "---\n", "~\n", "---\n...\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct config *cfg = expect_ok(texts[i]);

		assert_defaults(cfg);
		assert_string_equal(cfg->source, "t.yml");
		config__free(cfg);
	}
}

static void test_null_text_and_name(void **state)
{
	char err[ERRLEN];
	struct config *cfg;
	(void)state;

	cfg = config__parse(NULL, NULL, 0, err, sizeof(err));
	assert_non_null(cfg);
	assert_defaults(cfg);
	config__free(cfg);
	/* no error buffer at all */
	errno = 0;
	assert_null(config__parse("x", "[", 1, NULL, 0));
	assert_int_equal(errno, EINVAL);
	config__free(NULL);
}

static void test_embedded_default(void **state)
{
	char err[ERRLEN] = "";
	struct config *cfg;
	(void)state;

	cfg = config__load_default(err, sizeof(err));
	if (!cfg)
		fail_msg("embedded default does not parse:\n%s", err);
	assert_string_equal(cfg->source, "<default>");
	assert_defaults(cfg);
	config__free(cfg);
	/* every key is spelled out in the teaching file */
	assert_non_null(strstr(bw_default_config, "collection_interval: 5s"));
	assert_non_null(strstr(bw_default_config, "syscall_latency:"));
	assert_non_null(strstr(bw_default_config, "#   comm: "));
	assert_true(strncmp(bw_default_config, "# SPDX-License-Identifier:", 26) == 0);
}

static void test_probe_names(void **state)
{
	(void)state;
	assert_string_equal(probe_id__name(PROBE_RUNQ), "runqueue_latency");
	assert_string_equal(probe_id__name(PROBE_BIO), "block_io_latency");
	assert_string_equal(probe_id__name(PROBE_SYSCALL), "syscall_latency");
}

static void test_override_every_field(void **state)
{
	const char *text =
		"global:\n"
		"  collection_interval: 250ms\n"
		"  retention: 1h30m\n"
		"  series_idle_timeout: 2m\n"
		"  max_series: 10000000\n"
		"  strict: true\n"
		"  log_level: debug\n"
		"  overhead_budget: 2.5%\n"
		"web:\n"
		"  listen_address: \"[::1]:9100\"\n"
		"state_dir: /tmp/bw\n"
		"probes:\n"
		"  runqueue_latency: { enabled: false, max_entries: 1 }\n"
		"  block_io_latency:\n"
		"    enabled: False\n"
		"    max_entries: 1048576\n"
		"  syscall_latency:\n"
		"    enabled: TRUE\n"
		"    max_entries: 10\n"
		"    targets:\n"
		"      pids: [1, 4194304, 77]\n"
		"      comm: \"^(nginx|postgres)$\"\n"
		"  # comment inside\n";
	struct config *cfg = expect_ok(text);
	const struct targets_cfg *t = &cfg->probes[PROBE_SYSCALL].targets;
	(void)state;

	assert_int_equal(cfg->collection_interval_ms, 250);
	assert_int_equal(cfg->retention_ms, 90 * 60 * 1000);
	assert_int_equal(cfg->idle_timeout_ms, 2 * 60 * 1000);
	assert_int_equal(cfg->max_series, 10000000);
	assert_true(cfg->strict);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_float_equal(cfg->overhead_budget, 0.025, 1e-12);
	assert_string_equal(cfg->listen_address, "[::1]:9100");
	assert_string_equal(cfg->state_dir, "/tmp/bw");
	assert_false(cfg->probes[PROBE_RUNQ].enabled);
	assert_int_equal(cfg->probes[PROBE_RUNQ].max_entries, 1);
	assert_false(cfg->probes[PROBE_RUNQ].targets.set);
	assert_false(cfg->probes[PROBE_BIO].enabled);
	assert_int_equal(cfg->probes[PROBE_BIO].max_entries, 1048576);
	assert_true(cfg->probes[PROBE_SYSCALL].enabled);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].max_entries, 10);
	assert_true(t->set);
	assert_int_equal(t->npids, 3);
	assert_int_equal(t->pids[0], 1);
	assert_int_equal(t->pids[1], 4194304);
	assert_int_equal(t->pids[2], 77);
	assert_true(t->comm_set);
	assert_string_equal(t->comm, "^(nginx|postgres)$");
	assert_int_equal(regexec(&t->comm_re, "nginx", 0, NULL, 0), 0);
	assert_int_equal(regexec(&t->comm_re, "postgres", 0, NULL, 0), 0);
	assert_int_equal(regexec(&t->comm_re, "nginx2", 0, NULL, 0), REG_NOMATCH);
	config__free(cfg);
}

static void test_partial_override_keeps_defaults(void **state)
{
	struct config *cfg;
	(void)state;

	cfg = expect_ok("global:\n  log_level: warn\nweb:\nprobes:\n  syscall_latency:\n");
	assert_int_equal(cfg->log_level, LOG_WARN);
	cfg->log_level = LOG_INFO;
	assert_defaults(cfg);
	config__free(cfg);

	/* only comm, only pids */
	cfg = expect_ok("probes:\n  runqueue_latency:\n    targets: {comm: ^bash$}\n"
			"  syscall_latency:\n    targets: {pids: [42]}\n");
	assert_true(cfg->probes[PROBE_RUNQ].targets.set);
	assert_true(cfg->probes[PROBE_RUNQ].targets.comm_set);
	assert_int_equal(cfg->probes[PROBE_RUNQ].targets.npids, 0);
	assert_true(cfg->probes[PROBE_SYSCALL].targets.set);
	assert_false(cfg->probes[PROBE_SYSCALL].targets.comm_set);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].targets.npids, 1);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].targets.pids[0], 42);
	config__free(cfg);

	/* block I/O completes in interrupt context: no per-process targets */
	expect_error("probes:\n  block_io_latency:\n    targets: {pids: [42]}\n",
		     "t.yml:3:5: unknown field 'targets' in probes.block_io_latency");
}

static void test_aliases(void **state)
{
	struct config *cfg;
	(void)state;

	cfg = expect_ok("probes:\n"
			"  runqueue_latency: &p {enabled: false, max_entries: 64,"
			" targets: {comm: x}}\n"
			"  syscall_latency: *p\n");
	for (int i = PROBE_RUNQ; i <= PROBE_SYSCALL; i += PROBE_SYSCALL - PROBE_RUNQ) {
		assert_false(cfg->probes[i].enabled);
		assert_int_equal(cfg->probes[i].max_entries, 64);
		assert_true(cfg->probes[i].targets.comm_set);
	}
	config__free(cfg);
	/* a cycle only meets unknown keys, it is not followed */
	expect_error("probes: &a {runqueue_latency: *a}\n",
		     "t.yml:1:13: unknown field 'runqueue_latency' in "
		     "probes.runqueue_latency");
}

static void test_duration_table(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} good[] = {
		{ "0s", 0 }, { "1ms", 1 }, { "250ms", 250 }, { "1s", 1000 },
		{ "5s", 5000 }, { "1m", 60000 }, { "1m30s", 90000 },
		{ "1h30m", 5400000 }, { "2h", 7200000 }, { "1d", 86400000 },
		{ "1w", 604800000 }, { "1y", 31536000000ULL },
		{ "01s", 1000 }, { "90s", 90000 }, { "1h0m", 3600000 },
		{ "1y2w3d4h5m6s7ms", 31536000000ULL + 2 * 604800000ULL +
			3 * 86400000ULL + 4 * 3600000ULL + 5 * 60000ULL + 6007 },
	};
	static const char *const bad[] = {
		"", "0", "5", "s", "ms", "1x", "1S", "1H", "1.5s", "-1s", "+1s",
		" 1s", "1s ", "1 s", "1m1h", "1s1s", "1ms1s", "1s1m", "1msm",
		"1mss", "5sec", "1h 30m", "18446744073709551616ms",
		"584942418y", "1y1y", "ms5",
	};
	uint64_t ms;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = 12345;
		if (config__parse_duration(good[i].s, &ms))
			fail_msg("'%s' rejected", good[i].s);
		if (ms != good[i].ms)
			fail_msg("'%s' = %llu, want %llu", good[i].s,
				 (unsigned long long)ms,
				 (unsigned long long)good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 12345;
		if (config__parse_duration(bad[i], &ms) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ms, 12345);	/* untouched on error */
	}
}

static void test_unknown_fields(void **state)
{
	(void)state;

	expect_error("foo: 1\n",
		     "t.yml:1:1: unknown field 'foo' at top level");
	expect_error("rule_files: [a.yml]\nalertin: {}\n",
		     "t.yml:2:1: unknown field 'alertin' at top level");
	expect_error("global:\n  collection_interval: 5s\n  colection_interval: 5s\n",
		     "t.yml:3:3: unknown field 'colection_interval' in global");
	expect_error("web: {listen: ':1'}\n",
		     "t.yml:1:7: unknown field 'listen' in web");
	expect_error("probes:\n  runqlat: {}\n",
		     "t.yml:2:3: unknown field 'runqlat' in probes");
	expect_error("probes:\n  block_io_latency:\n    enabled: true\n"
		     "      \n    max_entry: 1\n",
		     "t.yml:5:5: unknown field 'max_entry' in probes.block_io_latency");
	expect_error("probes:\n  syscall_latency:\n    targets:\n"
		     "      pids: [1]\n      container: abc\n",
		     "t.yml:5:7: unknown field 'container' in "
		     "probes.syscall_latency.targets");
	/* keys match on their full text, not a prefix */
	expect_error("global: {strictly: true, \"strict\\0\": true}\n",
		     "t.yml:1:10: unknown field 'strictly' in global\n"
		     "t.yml:1:26: unknown field 'strict?' in global");
	/* the key of a mapping must be a scalar */
	expect_error("global: {[a]: 1}\n",
		     "t.yml:1:10: global: expected a field name, got a sequence");
	/* long keys are cut in the message */
	expect_error("global:\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1\n",
		     "t.yml:2:3: unknown field "
		     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' in global");
}

static void test_wrong_types(void **state)
{
	(void)state;

	expect_error("- a\n- b\n",
		     "t.yml:1:1: top level: expected a mapping, got a sequence");
	expect_error("just text\n",
		     "t.yml:1:1: top level: expected a mapping, got 'just text'");
	expect_error("global:\n  max_series: abc\n",
		     "t.yml:2:15: global.max_series: expected an integer, got 'abc'");
	expect_error("global:\n  max_series: 1.5e3\n",
		     "t.yml:2:15: global.max_series: expected an integer, got '1.5e3'");
	expect_error("global:\n  max_series:\n",
		     "t.yml:2:14: global.max_series: expected an integer, got null");
	expect_error("global: [1, 2]\n",
		     "t.yml:1:9: global: expected a mapping, got a sequence");
	expect_error("web: \":9477\"\n",
		     "t.yml:1:6: web: expected a mapping, got ':9477'");
	expect_error("global:\n  strict: yes\n",
		     "t.yml:2:11: global.strict: expected a boolean (true or false), "
		     "got 'yes'");
	expect_error("global:\n  strict: {a: 1}\n",
		     "t.yml:2:11: global.strict: expected a boolean (true or false), "
		     "got a mapping");
	expect_error("global:\n  collection_interval: 5\n",
		     "t.yml:2:24: global.collection_interval: expected a duration "
		     "such as 5s, 1m30s or 250ms, got '5'");
	expect_error("global:\n  retention: 0\n",
		     "t.yml:2:14: global.retention: expected a duration such as "
		     "5s, 1m30s or 250ms, got '0'");
	expect_error("global:\n  log_level: loud\n",
		     "t.yml:2:14: global.log_level: expected one of error, warn, "
		     "info, debug, got 'loud'");
	expect_error("state_dir:\n",
		     "t.yml:1:11: state_dir: expected a directory path, got null");
	expect_error("state_dir: [a]\n",
		     "t.yml:1:12: state_dir: expected a directory path, got a sequence");
	expect_error("probes:\n  runqueue_latency: true\n",
		     "t.yml:2:21: probes.runqueue_latency: expected a mapping, got 'true'");
	expect_error("probes:\n  syscall_latency:\n    targets:\n      pids: 1234\n",
		     "t.yml:4:13: probes.syscall_latency.targets.pids: expected a "
		     "sequence of pids, got '1234'");
	expect_error("probes:\n  syscall_latency:\n    targets:\n      pids: [1, x, [2]]\n",
		     "t.yml:4:17: probes.syscall_latency.targets.pids[1]: expected "
		     "a pid, got 'x'\n"
		     "t.yml:4:20: probes.syscall_latency.targets.pids[2]: expected "
		     "a pid, got a sequence");
	expect_error("probes:\n  syscall_latency:\n    targets:\n",
		     "t.yml:3:13: probes.syscall_latency.targets: expected a mapping "
		     "with pids, comm, exe or cgroup, got null");
	expect_error("probes:\n  syscall_latency:\n    targets: {comm: [a]}\n",
		     "t.yml:3:21: probes.syscall_latency.targets.comm: expected a "
		     "regular expression, got a sequence");
}

static void test_out_of_range(void **state)
{
	(void)state;

	expect_error("global: {collection_interval: 99ms}\n",
		     "t.yml:1:31: global.collection_interval: must be between 100ms "
		     "and 1h, got '99ms'");
	expect_error("global: {collection_interval: 1h1ms}\n",
		     "t.yml:1:31: global.collection_interval: must be between 100ms "
		     "and 1h, got '1h1ms'");
	expect_error("global: {collection_interval: 0s}\n",
		     "t.yml:1:31: global.collection_interval: must be between 100ms "
		     "and 1h, got '0s'");
	expect_error("global: {max_series: 0}\n",
		     "t.yml:1:22: global.max_series: must be between 1 and 10000000, "
		     "got '0'");
	expect_error("global: {max_series: 10000001}\n",
		     "t.yml:1:22: global.max_series: must be between 1 and 10000000, "
		     "got '10000001'");
	expect_error("global: {max_series: -1}\n",
		     "t.yml:1:22: global.max_series: must be between 1 and 10000000, "
		     "got '-1'");
	expect_error("global: {max_series: 99999999999999999999999}\n",
		     "t.yml:1:22: global.max_series: must be between 1 and 10000000, "
		     "got '99999999999999999999999'");
	expect_error("probes: {runqueue_latency: {max_entries: 0}}\n",
		     "t.yml:1:42: probes.runqueue_latency.max_entries: must be "
		     "between 1 and 1048576, got '0'");
	expect_error("probes: {block_io_latency: {max_entries: 1048577}}\n",
		     "t.yml:1:42: probes.block_io_latency.max_entries: must be "
		     "between 1 and 1048576, got '1048577'");
	expect_error("probes: {syscall_latency: {targets: {pids: [0, 4194305]}}}\n",
		     "t.yml:1:45: probes.syscall_latency.targets.pids[0]: must be "
		     "between 1 and 4194304, got '0'\n"
		     "t.yml:1:48: probes.syscall_latency.targets.pids[1]: must be "
		     "between 1 and 4194304, got '4194305'");
	expect_error("probes: {syscall_latency: {targets: {pids: []}}}\n",
		     "t.yml:1:44: probes.syscall_latency.targets.pids: expected 1 to "
		     "1024 pids, got 0");
	expect_error("probes: {syscall_latency: {targets: {}}}\n",
		     "t.yml:1:37: probes.syscall_latency.targets: expected at least "
		     "one of pids, comm, exe, cgroup");
}

static void test_too_many_pids(void **state)
{
	size_t cap = 64 + 8 * (CONFIG_MAX_PIDS + 1);
	char *text = malloc(cap), *s = text;
	struct config *cfg;
	(void)state;

	assert_non_null(text);
	s += sprintf(s, "probes: {syscall_latency: {targets: {pids: [1");
	for (int i = 1; i < CONFIG_MAX_PIDS; i++)
		s += sprintf(s, ",%d", i + 1);
	strcpy(s, "]}}}\n");
	cfg = expect_ok(text);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].targets.npids, CONFIG_MAX_PIDS);
	assert_int_equal(cfg->probes[PROBE_SYSCALL].targets.pids[CONFIG_MAX_PIDS - 1],
			 CONFIG_MAX_PIDS);
	config__free(cfg);
	strcpy(s, ",9]}}}\n");
	expect_error(text, "t.yml:1:44: probes.syscall_latency.targets.pids: "
		     "expected 1 to 1024 pids, got 1025");
	free(text);
}

static void test_rules_settings(void **state)
{
	struct config *cfg;

	(void)state;
	/* defaults: 15 s, rounded up to a multiple of the tick */
	cfg = expect_ok("");
	assert_int_equal(cfg->evaluation_interval_ms, 15000);
	assert_int_equal(cfg->nrule_files, 0);
	assert_int_equal(cfg->notify.nexternal, 0);
	config__free(cfg);
	cfg = expect_ok("global:\n  collection_interval: 10s\n");
	assert_int_equal(cfg->evaluation_interval_ms, 20000);
	config__free(cfg);
	cfg = expect_ok("global:\n  collection_interval: 1s\n  evaluation_interval: 30s\n"
			"  external_labels: { cluster: prod-eu, replica: \"1\" }\n"
			"rule_files: [ /etc/r/*.yml, rules/a.yml ]\n");
	assert_int_equal(cfg->evaluation_interval_ms, 30000);
	assert_int_equal(cfg->notify.nexternal, 2);
	assert_string_equal(cfg->notify.external_labels[0].name, "cluster");
	assert_string_equal(cfg->notify.external_labels[1].value, "1");
	assert_int_equal(cfg->nrule_files, 2);
	assert_string_equal(cfg->rule_files[0], "/etc/r/*.yml");
	/* relative to the config file's directory: "t.yml" has none */
	assert_string_equal(cfg->rule_files[1], "rules/a.yml");
	config__free(cfg);
	cfg = config__parse("/etc/bpfwatch/bpfwatch.yml", "rule_files: [r/*.yml]\n", 21,
			    NULL, 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->rule_files[0], "/etc/bpfwatch/r/*.yml");
	config__free(cfg);

	expect_error("global:\n  evaluation_interval: 7s\n",
		     "t.yml:2:24: global.evaluation_interval: must be a multiple of "
		     "global.collection_interval (5s), got '7s'");
	expect_error("global:\n  external_labels: { __x: a, 1y: b, ok: '' }\n",
		     "t.yml:2:22: global.external_labels: invalid label name '__x'\n"
		     "t.yml:2:30: global.external_labels: invalid label name '1y'\n"
		     "t.yml:2:41: global.external_labels: expected a non-empty label value, got ''");
	expect_error("global:\n  external_labels: [a]\n",
		     "t.yml:2:20: global.external_labels: expected a mapping of label "
		     "names to values, got a sequence");
	expect_error("rule_files: a.yml\n",
		     "t.yml:1:13: rule_files: expected a sequence of file paths or globs, "
		     "got 'a.yml'");
	expect_error("rule_files: [a.yml, '']\n",
		     "t.yml:1:21: rule_files[1]: expected a file path or glob, got ''");
}

static void test_interval_relations(void **state)
{
	struct config *cfg;
	(void)state;

	expect_error("global:\n  collection_interval: 10s\n  retention: 9s\n",
		     "t.yml:3:14: global.retention: must be at least "
		     "global.collection_interval (10s), got '9s'");
	expect_error("global:\n  series_idle_timeout: 1s\n",
		     "t.yml:2:24: global.series_idle_timeout: must be at least "
		     "global.collection_interval (5s), got '1s'");
	/* the defaults of 15m and 5m are too short for a 1h interval */
	expect_error("global:\n  collection_interval: 1h\n",
		     "t.yml:2:24: global.collection_interval: must not exceed "
		     "global.retention (default 15m), got '1h'\n"
		     "t.yml:2:24: global.collection_interval: must not exceed "
		     "global.series_idle_timeout (default 5m), got '1h'");
	/* no relation error piled on an invalid interval */
	expect_error("global:\n  collection_interval: 1x\n  retention: 1s\n",
		     "t.yml:2:24: global.collection_interval: expected a duration "
		     "such as 5s, 1m30s or 250ms, got '1x'");
	/* equal is fine, order of keys does not matter */
	cfg = expect_ok("global:\n  retention: 1h\n  series_idle_timeout: 1h\n"
			"  collection_interval: 1h\n");
	assert_int_equal(cfg->collection_interval_ms, 3600000);
	config__free(cfg);
}

static void test_bad_regex(void **state)
{
	(void)state;

	expect_error("probes:\n  syscall_latency:\n    targets:\n      comm: \"(nginx\"\n",
		     "t.yml:4:13: probes.syscall_latency.targets.comm: invalid "
		     "regex '(nginx': Unmatched ( or \\(");
	expect_error("probes: {runqueue_latency: {targets: {comm: 'a{2,1}'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: invalid "
		     "regex 'a{2,1}': Invalid content of \\{\\}");
	/* a repetition of a repetition: glibc recurses per operator (the
	 * fuzzer's "k****...": seconds), RE2 refuses it, so do we */
	expect_error("probes: {runqueue_latency: {targets: {comm: 'k***x'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: regex "
		     "'k***x': invalid nested repetition operator");
	expect_error("probes: {runqueue_latency: {targets: {comm: 'a{2}+'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: regex "
		     "'a{2}+': invalid nested repetition operator");
	expect_error("probes: {runqueue_latency: {targets: {comm: ''}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: expected a "
		     "regular expression, got ''");
	/* nested bounds would make regcomp build a million nodes */
	expect_error("probes: {runqueue_latency: {targets: {comm: '((a{99}){99}){99}'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: regex "
		     "'((a{99}){99}){99}' too large once repetitions are expanded "
		     "(limit 4096)");
	/* glibc compiles "X+" as "XX*": each '+' doubles */
	expect_error("probes: {runqueue_latency: {targets: {comm: '^k++++++++++++x'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: regex "
		     "'^k++++++++++++x' too large once repetitions are expanded "
		     "(limit 4096)");
	expect_error("probes: {runqueue_latency: {targets: {comm: 'a{,9999}'}}}\n",
		     "t.yml:1:45: probes.runqueue_latency.targets.comm: regex "
		     "'a{,9999}' too large once repetitions are expanded "
		     "(limit 4096)");
}

static void test_regex_cost_accepts_reasonable(void **state)
{
	static const char *const ok[] = {
		"^(nginx|postgres)$", "^kworker/[0-9]{1,3}:[0-9]+$",
		"[{]{15}", "a\\{999}", "[[:alpha:]{]{15}", "(a{15}){15}",
		"a{15}b{15}c{15}d{15}e{15}", "x{0}", "y{3,}", "^(ba)+sh$",
		"^k+w*o?r+k+e+r+$", "(a+)+(b+)+",
	};
	char text[256];
	struct config *cfg;
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
			 "probes: {runqueue_latency: {targets: {comm: '%s'}}}\n", ok[i]);
		cfg = expect_ok(text);
		assert_true(cfg->probes[PROBE_RUNQ].targets.comm_set);
		config__free(cfg);
	}
}

static void test_listen_address(void **state)
{
	static const char *const good[] = {
		":9477", ":1", ":65535", "localhost:9477", "0.0.0.0:80",
		"127.0.0.1:9477", "[::]:9477", "[::1]:9477",
		"[fe80::1%eth0]:9477", "my-host.example.com:8080",
	};
	static const struct {
		const char *addr;
		const char *why;
	} bad[] = {
		{ "9477", "missing ':port'" },
		{ "localhost", "missing ':port'" },
		{ ":0", "port must be an integer in 1..65535" },
		{ ":65536", "port must be an integer in 1..65535" },
		{ ":", "port must be an integer in 1..65535" },
		{ ":http", "port must be an integer in 1..65535" },
		{ ":-1", "port must be an integer in 1..65535" },
		{ "::1:9477", "an IPv6 host must be written in brackets" },
		{ "[::1]9477", "missing ':port' after ']'" },
		{ "[::1:9477", "missing ']'" },
		{ "[]:9477", "invalid IPv6 address" },
		{ "[nothex]:9477", "invalid IPv6 address" },
		{ "1.2.3.256:80", "invalid host" },
		{ "bad host:80", "invalid host" },
		{ "a/b:80", "invalid host" },
	};
	char text[256], want[512];
	struct config *cfg;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "web:\n  listen_address: \"%s\"\n", good[i]);
		cfg = expect_ok(text);
		assert_string_equal(cfg->listen_address, good[i]);
		config__free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "web:\n  listen_address: \"%s\"\n",
			 bad[i].addr);
		snprintf(want, sizeof(want),
			 "t.yml:2:19: web.listen_address: invalid address '%s': %s",
			 bad[i].addr, bad[i].why);
		expect_error(text, want);
	}
	expect_error("web: {listen_address: }\n",
		     "t.yml:1:23: web.listen_address: expected an address such as "
		     "\":9477\", got null");
}

static void test_duplicate_keys(void **state)
{
	(void)state;

	expect_error("global:\n  max_series: 1\n  max_series: 2\n",
		     "t.yml:3:3: duplicate field 'max_series' in global");
	expect_error("state_dir: /a\nweb: {}\nstate_dir: /b\n",
		     "t.yml:3:1: duplicate field 'state_dir' at top level");
	/* the duplicate's value is not looked at */
	expect_error("probes:\n  syscall_latency: {enabled: true}\n"
		     "  syscall_latency: {enabled: maybe}\n",
		     "t.yml:3:3: duplicate field 'syscall_latency' in probes");
	expect_error("probes: {syscall_latency: {targets: {comm: a, comm: b}}}\n",
		     "t.yml:1:47: duplicate field 'comm' in "
		     "probes.syscall_latency.targets");
}

static void test_syntax_errors(void **state)
{
	(void)state;

	expect_error("global:\n  max_series: [1, 2\n",
		     "t.yml:3:1: did not find expected ',' or ']' (while parsing "
		     "a flow sequence at 2:15)");
	expect_error("global:\n  strict: true\n bad\n",
		     "t.yml:3:2: did not find expected key (while parsing a block "
		     "mapping at 1:1)");
	expect_error("a: b: c\n",
		     "t.yml:1:5: mapping values are not allowed in this context");
	expect_error("state_dir: 'unterminated\n",
		     "t.yml:2:1: found unexpected end of stream (while scanning a "
		     "quoted scalar at 1:12)");
	expect_error("\tglobal: {}\n",
		     "t.yml:1:1: found character that cannot start any token "
		     "(while scanning for the next token at 1:1)");
	expect_error("state_dir: *nope\n",
		     "t.yml:1:12: found undefined alias");
	/* reader errors only have an offset: line and column derived */
	expect_error("global:\n  log_level: \xc3\xa9\xff\n",
		     "t.yml:2:15: invalid leading UTF-8 octet (byte 0xff)");
	/* a second document would be silently ignored */
	expect_error("global: {}\n---\nglobal: {strict: true}\n",
		     "t.yml:2:1: only one document is allowed, found another");
}

static void test_many_errors_together(void **state)
{
	const char *text =
		"global:\n"
		"  collection_interval: 5\n"
		"  max_series: lots\n"
		"  strict: maybe\n"
		"  color: true\n"
		"web:\n"
		"  listen_address: \":99999\"\n"
		"probes:\n"
		"  syscall_latency:\n"
		"    enabled: true\n"
		"    max_entries: 0\n"
		"    targets:\n"
		"      pids: [12, 0]\n"
		"      comm: \"(x\"\n"
		"extra: 1\n";
	(void)state;

	expect_error(text,
		     "t.yml:2:24: global.collection_interval: expected a duration "
		     "such as 5s, 1m30s or 250ms, got '5'\n"
		     "t.yml:3:15: global.max_series: expected an integer, got 'lots'\n"
		     "t.yml:4:11: global.strict: expected a boolean (true or false), "
		     "got 'maybe'\n"
		     "t.yml:5:3: unknown field 'color' in global\n"
		     "t.yml:7:19: web.listen_address: invalid address ':99999': port "
		     "must be an integer in 1..65535\n"
		     "t.yml:11:18: probes.syscall_latency.max_entries: must be "
		     "between 1 and 1048576, got '0'\n"
		     "t.yml:13:18: probes.syscall_latency.targets.pids[1]: must be "
		     "between 1 and 4194304, got '0'\n"
		     "t.yml:14:13: probes.syscall_latency.targets.comm: invalid "
		     "regex '(x': Unmatched ( or \\(\n"
		     "t.yml:15:1: unknown field 'extra' at top level");
}

static void test_error_cap_and_truncation(void **state)
{
	char text[4096], *s = text, err[ERRLEN], small[40];
	struct config *cfg;
	int lines = 1;
	(void)state;

	s += sprintf(s, "global:\n");
	for (int i = 0; i < 30; i++)
		s += sprintf(s, "  k%d: 1\n", i);
	cfg = parse(text, err);
	assert_null(cfg);
	for (s = err; *s; s++)
		lines += *s == '\n';
	assert_int_equal(lines, CONFIG_MAX_ERRORS + 1);
	assert_non_null(strstr(err, "t.yml:21:3: unknown field 'k19' in global\n"
				    "t.yml: too many errors, the rest are not shown"));
	assert_null(strstr(err, "k20"));

	/* a short buffer gets the start of the text, NUL-terminated */
	memset(small, 'x', sizeof(small));
	cfg = config__parse("t.yml", "foo: 1\n", 7, small, sizeof(small));
	assert_null(cfg);
	assert_string_equal(small, "t.yml:1:1: unknown field 'foo' at top l");
	cfg = config__parse("t.yml", "foo: 1\n", 7, small, 1);
	assert_null(cfg);
	assert_string_equal(small, "");
}

static void test_error_message_quoting(void **state)
{
	(void)state;

	/* control characters never reach the log, long values are cut */
	expect_error("global: {log_level: \"de\\tbug\\n\"}\n",
		     "t.yml:1:21: global.log_level: expected one of error, warn, "
		     "info, debug, got 'de?bug?'");
	expect_error("global: {max_series: \"1\\0\"}\n",
		     "t.yml:1:22: global.max_series: expected an integer, got '1?'");
	expect_error("state_dir: \"/a\\0b\"\n",
		     "t.yml:1:12: state_dir: expected a directory path, got '/a?b'");
	expect_error("global: {log_level: \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9z}\n",
		     "t.yml:1:21: global.log_level: expected one of error, warn, "
		     "info, debug, got '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...'");
}

/* The current temp file, removed by remove_temp() even if a test fails. */
static char temp_path[64];

static int remove_temp(void **state)
{
	(void)state;
	if (temp_path[0])
		unlink(temp_path);
	temp_path[0] = '\0';
	return 0;
}

/* Write @len bytes of @text (repeated) to a new temp file; returns path. */
static const char *write_temp(const char *text, size_t len)
{
	size_t tlen = strlen(text), done = 0;
	char *path = temp_path;
	int fd;

	remove_temp(NULL);
	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	while (done < len) {
		size_t n = len - done < tlen ? len - done : tlen;

		assert_int_equal(write(fd, text, n), (ssize_t)n);
		done += n;
	}
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	const char *text = "global:\n  max_series: 7\n  bogus: 1\n";
	char err[ERRLEN], want[512];
	struct config *cfg;
	const char *path;
	(void)state;

	path = write_temp("global: {max_series: 7}\n", 24);
	cfg = config__load_file(path, err, sizeof(err));
	assert_non_null(cfg);
	assert_string_equal(cfg->source, path);
	assert_int_equal(cfg->max_series, 7);
	config__free(cfg);

	/* errors are named after the path */
	path = write_temp(text, strlen(text));
	errno = 0;
	assert_null(config__load_file(path, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want), "%s:3:3: unknown field 'bogus' in global", path);
	assert_string_equal(err, want);
}

static void test_load_file_missing(void **state)
{
	char err[ERRLEN];
	(void)state;

	errno = 0;
	assert_null(config__load_file("/nonexistent/bpfwatch.yml", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "/nonexistent/bpfwatch.yml: No such file or directory");

	errno = 0;
	assert_null(config__load_file("/tmp", err, sizeof(err)));
	assert_int_equal(errno, EISDIR);
	assert_string_equal(err, "/tmp: Is a directory");
}

static void test_load_file_size_limit(void **state)
{
	char err[ERRLEN], want[512];
	struct config *cfg;
	const char *path;
	(void)state;

	/* exactly the limit: a valid (comment-only) config */
	path = write_temp("# 16 bytes line\n", CONFIG_MAX_FILE_SIZE);
	cfg = config__load_file(path, err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_defaults(cfg);
	config__free(cfg);

	/* one byte more is refused before parsing */
	path = write_temp("# 16 bytes line\n", CONFIG_MAX_FILE_SIZE + 1);
	errno = 0;
	assert_null(config__load_file(path, err, sizeof(err)));
	assert_int_equal(errno, EFBIG);
	snprintf(want, sizeof(want), "%s: file too large, the limit is 1048576 bytes",
		 path);
	assert_string_equal(err, want);
}

static void test_functions(void **state)
{
	struct config *cfg;
	(void)state;

	cfg = expect_ok("probes:\n"
			"  functions:\n"
			"    - binary: /usr/lib/x86_64-linux-gnu/libc.so.6\n"
			"      symbol: getaddrinfo\n"
			"    - binary: /srv/app\n"
			"      symbol: handle_request\n"
			"      pid: 4242\n"
			"      name: handler\n"
			"    - binary: python3.11\n"
			"      usdt: python:function__entry\n"
			"    - binary: /srv/app\n"
			"      usdt_begin: app:req__start\n"
			"      usdt_end: app:req__done\n"
			"      targets: {comm: ^app$}\n"
			"    - kernel: vfs_read\n"
			"    - pid: 7\n"
			"      symbol: main\n");
	assert_int_equal(cfg->nfunctions, 6);
	assert_int_equal(cfg->functions[0].kind, FUNC_UPROBE);
	assert_string_equal(cfg->functions[0].binary, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(cfg->functions[0].symbol, "getaddrinfo");
	assert_string_equal(cfg->functions[0].name, "getaddrinfo");
	assert_int_equal(cfg->functions[0].pid, 0);
	assert_int_equal(cfg->functions[0].line, 3);
	assert_int_equal(cfg->functions[0].col, 7);
	assert_string_equal(cfg->functions[1].name, "handler");
	assert_int_equal(cfg->functions[1].pid, 4242);
	assert_int_equal(cfg->functions[2].kind, FUNC_USDT);
	assert_string_equal(cfg->functions[2].provider, "python");
	assert_string_equal(cfg->functions[2].probe, "function__entry");
	assert_string_equal(cfg->functions[2].name, "python:function__entry");
	assert_int_equal(cfg->functions[3].kind, FUNC_USDT_PAIR);
	assert_string_equal(cfg->functions[3].provider, "app");
	assert_string_equal(cfg->functions[3].probe, "req__start");
	assert_string_equal(cfg->functions[3].end_provider, "app");
	assert_string_equal(cfg->functions[3].end_probe, "req__done");
	assert_string_equal(cfg->functions[3].name, "app:req__start");
	assert_true(cfg->functions[3].targets.comm_set);
	assert_int_equal(cfg->functions[4].kind, FUNC_KERNEL);
	assert_string_equal(cfg->functions[4].kernel, "vfs_read");
	assert_null(cfg->functions[4].binary);
	assert_null(cfg->functions[5].binary);
	assert_int_equal(cfg->functions[5].pid, 7);
	config__free(cfg);

	cfg = expect_ok("probes:\n  syscall_latency:\n"
			"    targets: {exe: /usr/sbin/nginx, cgroup: '/docker/*'}\n");
	assert_true(cfg->probes[PROBE_SYSCALL].targets.set);
	assert_string_equal(cfg->probes[PROBE_SYSCALL].targets.exe, "/usr/sbin/nginx");
	assert_string_equal(cfg->probes[PROBE_SYSCALL].targets.cgroup, "/docker/*");
	config__free(cfg);

	cfg = expect_ok("probes:\n  functions: []\n");
	assert_int_equal(cfg->nfunctions, 0);
	config__free(cfg);
}

static void test_function_errors(void **state)
{
	(void)state;
	expect_error("probes:\n  functions:\n    - binary: /x\n",
		     "t.yml:3:7: probes.functions[0]: expected exactly one of symbol, "
		     "usdt, usdt_begin/usdt_end or kernel, got 0");
	expect_error("probes:\n  functions:\n    - {binary: /x, symbol: a, kernel: b}\n",
		     "t.yml:3:7: probes.functions[0]: expected exactly one of symbol, "
		     "usdt, usdt_begin/usdt_end or kernel, got 2");
	expect_error("probes:\n  functions:\n    - {symbol: main}\n",
		     "t.yml:3:7: probes.functions[0]: expected binary (a path or "
		     "library name), or pid");
	expect_error("probes:\n  functions:\n    - {kernel: vfs_read, pid: 3}\n",
		     "t.yml:3:7: probes.functions[0]: a kernel function takes no binary or pid");
	expect_error("probes:\n  functions:\n    - {binary: /x, usdt_begin: a:b}\n",
		     "t.yml:3:7: probes.functions[0]: usdt_begin and usdt_end go together");
	expect_error("probes:\n  functions:\n    - {binary: /x, usdt: nocolon}\n",
		     "t.yml:3:26: probes.functions[0].usdt: expected provider:name "
		     "(e.g. python:function__entry), got 'nocolon'");
	expect_error("probes:\n  functions:\n    - {binary: /x, usdt: 'a:b:c'}\n",
		     "t.yml:3:26: probes.functions[0].usdt: expected provider:name "
		     "(e.g. python:function__entry), got 'a:b:c'");
	expect_error("probes:\n  functions:\n    - {binary: /x, symbol: f, sym: g}\n",
		     "t.yml:3:31: unknown field 'sym' in probes.functions[0]");
	expect_error("probes:\n  functions:\n    - {binary: /x, symbol: f, pid: 0}\n",
		     "t.yml:3:36: probes.functions[0].pid: must be between 1 and 4194304, got '0'");
	expect_error("probes:\n  syscall_latency:\n    targets: {exe: nginx}\n",
		     "t.yml:3:20: probes.syscall_latency.targets.exe: expected an absolute "
		     "path starting with /, got 'nginx'");
	expect_error("probes:\n  syscall_latency:\n    targets: {}\n",
		     "t.yml:3:14: probes.syscall_latency.targets: expected at least one "
		     "of pids, comm, exe, cgroup");
	expect_error("probes:\n  functions: {binary: /x}\n",
		     "t.yml:2:14: probes.functions: expected a sequence of functions, got a mapping");
	expect_error("probes:\n  functions:\n    - {binary: /x, symbol: f, targets: {comm: '('}}\n",
		     "t.yml:3:47: probes.functions[0].targets.comm: invalid regex '(': "
		     "Unmatched ( or \\(");
}

/* global.overhead_budget and the per-entry override: a number or a
 * percentage, in (0, 1]. */
static void test_overhead_budget(void **state)
{
	static const struct {
		const char *text;
		double want;
	} good[] = {
		{ "0.01", 0.01 }, { "1", 1.0 }, { "1.0", 1.0 }, { ".5", 0.5 },
		{ "1e-3", 0.001 }, { "1%", 0.01 }, { "0.5%", 0.005 }, { "100%", 1.0 },
		{ "'2.5%'", 0.025 }, { "\"25%\"", 0.25 }, { "0.0001", 0.0001 },
	};
	char text[256];
	struct config *cfg;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "global:\n  overhead_budget: %s\n",
			 good[i].text);
		cfg = expect_ok(text);
		assert_float_equal(cfg->overhead_budget, good[i].want, 1e-12);
		config__free(cfg);
	}
	cfg = expect_ok("global:\n  overhead_budget: 5%\n"
			"probes:\n  functions:\n"
			"    - {binary: /x, symbol: hot, overhead_budget: 0.2}\n"
			"    - {binary: /x, symbol: cold}\n"
			"    - {binary: /x, usdt: a:b, overhead_budget: 100%}\n");
	assert_float_equal(cfg->overhead_budget, 0.05, 1e-12);
	assert_int_equal(cfg->nfunctions, 3);
	assert_float_equal(cfg->functions[0].overhead_budget, 0.2, 1e-12);
	/* 0: the entry follows the global budget */
	assert_float_equal(cfg->functions[1].overhead_budget, 0.0, 0.0);
	assert_float_equal(cfg->functions[2].overhead_budget, 1.0, 1e-12);
	config__free(cfg);
}

static void test_overhead_budget_errors(void **state)
{
	static const char *const not_a_share[] = {
		"abc", "1%%", "%1", "1 %", " 0.1", "0x0.1", "inf", "nan", "1e", "1.2.3",
		"+0.5", "5s", "true", "[0.1]",
	};
	static const char *const out_of_range[] = {
		"0", "0%", "0.0", "1.01", "101%", "2", "-0.5", "-1%", "1e-400", "1e400",
	};
	char text[256], want[512];
	(void)state;

	for (size_t i = 0; i < sizeof(not_a_share) / sizeof(not_a_share[0]); i++) {
		const char *v = not_a_share[i];

		snprintf(text, sizeof(text), "global:\n  overhead_budget: '%s'\n", v);
		snprintf(want, sizeof(want), "t.yml:2:20: global.overhead_budget: "
			 "expected a share of one CPU such as 0.01 or 1%%, got '%s'", v);
		expect_error(text, want);
	}
	for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
		const char *v = out_of_range[i];

		snprintf(text, sizeof(text), "global:\n  overhead_budget: %s\n", v);
		snprintf(want, sizeof(want), "t.yml:2:20: global.overhead_budget: "
			 "must be more than 0 and at most 1 (100%%), got '%s'", v);
		expect_error(text, want);
	}
	expect_error("global:\n  overhead_budget: [1]\n",
		     "t.yml:2:20: global.overhead_budget: expected a share of one "
		     "CPU such as 0.01 or 1%, got a sequence");
	expect_error("global:\n  overhead_budget:\n",
		     "t.yml:2:19: global.overhead_budget: expected a share of one "
		     "CPU such as 0.01 or 1%, got null");
	expect_error("probes:\n  functions:\n"
		     "    - {binary: /x, symbol: f, overhead_budget: 0}\n"
		     "    - {binary: /x, symbol: g, overhead_budget: 1/2}\n",
		     "t.yml:3:48: probes.functions[0].overhead_budget: must be more "
		     "than 0 and at most 1 (100%), got '0'\n"
		     "t.yml:4:48: probes.functions[1].overhead_budget: expected a "
		     "share of one CPU such as 0.01 or 1%, got '1/2'");
}

/* probes.gc: on by default with every runtime; runtimes, targets, errors. */
static void test_gc_section(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = expect_ok("");
	assert_true(cfg->gc.probe.enabled);
	assert_int_equal(cfg->gc.probe.max_entries, 1024);
	assert_int_equal(cfg->gc.runtimes, (1U << GC__COUNT) - 1);
	assert_false(cfg->gc.probe.targets.set);
	config__free(cfg);
	cfg = expect_ok("probes:\n  gc:\n    enabled: false\n    max_entries: 64\n"
			"    runtimes: [go, python]\n    targets: { comm: \"^java$\" }\n");
	assert_false(cfg->gc.probe.enabled);
	assert_int_equal(cfg->gc.probe.max_entries, 64);
	assert_int_equal(cfg->gc.runtimes, (1U << GC_GO) | (1U << GC_PYTHON));
	assert_true(cfg->gc.probe.targets.set);
	assert_string_equal(cfg->gc.probe.targets.comm, "^java$");
	config__free(cfg);
	assert_string_equal(gc_runtime__name(GC_HOTSPOT), "hotspot");
	assert_string_equal(gc_runtime__name(GC__COUNT), "unknown");
	expect_error("probes:\n  gc:\n    runtimes: [python, jvm, python]\n",
		     "t.yml:3:24: probes.gc.runtimes[1]: expected one of python, hotspot, "
		     "ruby, go, got 'jvm'\n"
		     "t.yml:3:29: probes.gc.runtimes[2]: runtime 'python' listed twice");
	expect_error("probes:\n  gc:\n    runtimes: []\n",
		     "t.yml:3:15: probes.gc.runtimes: expected a sequence of runtimes "
		     "(python, hotspot, ruby, go), got a sequence");
	expect_error("probes:\n  gc:\n    runtime: [go]\n",
		     "t.yml:3:5: unknown field 'runtime' in probes.gc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_when_empty),
		cmocka_unit_test(test_gc_section),
		cmocka_unit_test(test_null_text_and_name),
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_probe_names),
		cmocka_unit_test(test_override_every_field),
		cmocka_unit_test(test_partial_override_keeps_defaults),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_function_errors),
		cmocka_unit_test(test_overhead_budget),
		cmocka_unit_test(test_overhead_budget_errors),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_duration_table),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_too_many_pids),
		cmocka_unit_test(test_interval_relations),
		cmocka_unit_test(test_rules_settings),
		cmocka_unit_test(test_bad_regex),
		cmocka_unit_test(test_regex_cost_accepts_reasonable),
		cmocka_unit_test(test_listen_address),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_many_errors_together),
		cmocka_unit_test(test_error_cap_and_truncation),
		cmocka_unit_test(test_error_message_quoting),
		cmocka_unit_test_teardown(test_load_file, remove_temp),
		cmocka_unit_test(test_load_file_missing),
		cmocka_unit_test_teardown(test_load_file_size_limit, remove_temp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
