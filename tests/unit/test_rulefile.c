// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the rule file loader (agent/rulefile.c).  Error cases
 * compare the whole error text, positions included.  Expressions are
 * checked by a stand-in for the PromQL parser that refuses the word
 * "BAD" at its offset, so the column mapping is tested exactly.
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
#include <sys/stat.h>
#include <unistd.h>

#include "rulefile.h"

#define ERRLEN 8192

static int ncheck;

static int check_bad(void *ctx, const char *expr, char *msg, size_t msglen, size_t *off)
{
	const char *bad = strstr(expr, "BAD");

	(void)ctx;
	ncheck++;
	if (!bad)
		return 0;
	*off = (size_t)(bad - expr);
	snprintf(msg, msglen, "1:%zu: parse error: unexpected identifier \"BAD\"",
		 *off + 1);
	return -1;
}

static struct rule_set *parse(const char *text, char *err)
{
	return rulefile__parse("r.yml", text, strlen(text), check_bad, NULL, err, ERRLEN);
}

static void expect_error(const char *text, const char *want)
{
	char err[ERRLEN];
	struct rule_set *set;

	errno = 0;
	set = parse(text, err);
	if (set) {
		print_error("input:\n%s\nparsed, want:\n%s\n", text, want);
		rule_set__free(set);
		fail();
	}
	assert_int_equal(errno, EINVAL);
	if (strcmp(err, want)) {
		print_error("input:\n%s\nwant:\n%s\ngot:\n%s\n", text, want, err);
		fail();
	}
}

static struct rule_set *expect_ok(const char *text)
{
	char err[ERRLEN] = "";
	struct rule_set *set = parse(text, err);

	if (!set) {
		print_error("input:\n%s\nunexpected error:\n%s\n", text, err);
		fail();
	}
	return set;
}

static const char good[] =
	"groups:\n"
	"  - name: node\n"
	"    interval: 30s\n"
	"    limit: 10\n"
	"    labels:\n"
	"      team: sre\n"
	"    rules:\n"
	"      - record: job:up:sum\n"
	"        expr: sum by (job) (up)\n"
	"        labels:\n"
	"          source: \"{{ not a template }}\"\n"
	"      - alert: InstanceDown\n"
	"        expr: up == 0\n"
	"        for: 5m\n"
	"        keep_firing_for: 1m\n"
	"        labels:\n"
	"          severity: page\n"
	"        annotations:\n"
	"          summary: \"{{ $labels.instance }} down\"\n"
	"          description: |\n"
	"            {{ $labels.instance }} of {{ $labels.job }} has been down\n"
	"            for more than 5 minutes ({{ $value }}).\n"
	"  - name: other\n"
	"    rules:\n"
	"      - alert: Always\n"
	"        expr: vector(1)\n"
	"  - name: empty\n"
	"    rules: []\n";

static void test_good(void **state)
{
	struct rule_set *set;
	const struct rule_group *g;
	const struct rule *r;
	struct tmpl_data d = { 0 };
	struct label l[] = { { "instance", "h1" }, { "job", "node" } };
	char *s;

	(void)state;
	ncheck = 0;
	set = expect_ok(good);
	assert_int_equal(ncheck, 3);
	assert_int_equal(set->nfiles, 1);
	assert_string_equal(set->files[0], "r.yml");
	assert_int_equal(set->ngroups, 3);
	assert_int_equal(set->nrules, 3);
	g = &set->groups[0];
	assert_string_equal(g->name, "node");
	assert_ptr_equal(g->file, set->files[0]);
	assert_int_equal(g->interval_ms, 30000);
	assert_int_equal(g->limit, 10);
	assert_int_equal(g->nlabels, 1);
	assert_string_equal(g->labels[0].name, "team");
	assert_null(g->labels[0].tmpl);
	assert_int_equal(g->line, 2);
	assert_int_equal(g->col, 5);
	assert_int_equal(g->nrules, 2);

	r = &g->rules[0];
	assert_int_equal(r->type, RULE_RECORDING);
	assert_string_equal(r->name, "job:up:sum");
	assert_string_equal(r->expr, "sum by (job) (up)");
	assert_int_equal(r->expr_line, 9);
	assert_int_equal(r->expr_col, 15);
	/* recording rule labels are not templates */
	assert_string_equal(r->labels[0].value, "{{ not a template }}");
	assert_null(r->labels[0].tmpl);

	r = &g->rules[1];
	assert_int_equal(r->type, RULE_ALERTING);
	assert_string_equal(r->name, "InstanceDown");
	assert_int_equal(r->for_ms, 300000);
	assert_int_equal(r->keep_firing_for_ms, 60000);
	assert_int_equal(r->line, 12);
	assert_int_equal(r->col, 9);
	assert_int_equal(r->nlabels, 1);
	assert_non_null(r->labels[0].tmpl);
	assert_int_equal(r->nannotations, 2);
	assert_string_equal(r->annotations[0].name, "summary");
	d.labels = l;
	d.nlabels = 2;
	d.value = 0;
	s = tmpl__expand(r->annotations[0].tmpl, &d);
	assert_string_equal(s, "h1 down");
	free(s);
	s = tmpl__expand(r->annotations[1].tmpl, &d);
	assert_string_equal(s, "h1 of node has been down\nfor more than 5 minutes (0).\n");
	free(s);

	assert_int_equal(set->groups[1].interval_ms, 0);
	assert_int_equal(set->groups[1].limit, 0);
	assert_int_equal(set->groups[2].nrules, 0);
	rule_set__free(set);
}

static void test_empty(void **state)
{
	struct rule_set *set;

	(void)state;
	set = expect_ok("");
	assert_int_equal(set->ngroups, 0);
	rule_set__free(set);
	set = expect_ok("groups:\n");
	assert_int_equal(set->ngroups, 0);
	rule_set__free(set);
	set = expect_ok("# only a comment\ngroups: []\n");
	assert_int_equal(set->ngroups, 0);
	rule_set__free(set);
}

static void test_structure_errors(void **state)
{
	(void)state;
	expect_error("groupz: []\n",
		     "r.yml:1:1: unknown field 'groupz' in top level");
	expect_error("groups:\n  - name: a\n    rulez: []\n",
		     "r.yml:3:5: unknown field 'rulez' in groups[0]");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        exprr: x\n",
		     "r.yml:6:9: unknown field 'exprr' in groups[0].rules[0]");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        expr: down\n",
		     "r.yml:6:9: duplicate field 'expr' in groups[0].rules[0]");
	expect_error("groups:\n  - name: a\n  - name: a\n",
		     "r.yml:3:11: groups[1].name: group name 'a' is repeated in the same file");
	expect_error("groups:\n  - rules: []\n",
		     "r.yml:2:5: groups[0]: group name must not be empty");
	expect_error("groups:\n  - name: \"\"\n",
		     "r.yml:2:11: groups[0]: group name must not be empty");
	expect_error("groups: {}\n",
		     "r.yml:1:9: groups: expected a sequence of groups, got a mapping");
	expect_error("- a\n",
		     "r.yml:1:1: top level: expected a mapping with 'groups', got a sequence");
	expect_error("groups:\n  - name: a\n    interval: 5\n",
		     "r.yml:3:15: groups[0].interval: expected a duration such as 5m, 1h30m or 30s, got '5'");
	expect_error("groups:\n  - name: a\n    limit: -1\n",
		     "r.yml:3:12: groups[0].limit: expected a non-negative integer, got '-1'");
	expect_error("groups:\n  - name: a\n    rules: x\n",
		     "r.yml:3:12: groups[0].rules: expected a sequence of rules, got 'x'");
	expect_error("groups:\n  - name: a\n    rules:\n      - x\n",
		     "r.yml:4:9: groups[0].rules[0]: expected a rule (a mapping with alert or "
		     "record, and expr), got 'x'");
	expect_error("groups: [\n",
		     "r.yml:2:1: did not find expected node content (while parsing a flow node at 2:1)");
	expect_error("groups: []\n---\ngroups: []\n",
		     "r.yml:2:1: only one document is allowed, found another");
}

static void test_rule_errors(void **state)
{
	(void)state;
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        record: b\n"
		     "        expr: up\n",
		     "r.yml:4:9: groups[0].rules[0]: only one of 'record' and 'alert' must be set");
	expect_error("groups:\n  - name: a\n    rules:\n      - expr: up\n",
		     "r.yml:4:9: groups[0].rules[0]: one of 'record' or 'alert' must be set");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        for: 5m\n",
		     "r.yml:4:9: groups[0].rules[0]: field 'expr' must be set in rule");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: \"\"\n",
		     "r.yml:5:15: groups[0].rules[0]: field 'expr' must be set in rule");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        for: 5mins\n",
		     "r.yml:6:14: groups[0].rules[0].for: expected a duration such as 5m, 1h30m "
		     "or 30s, got '5mins'");
	expect_error("groups:\n  - name: a\n    rules:\n      - record: a-b\n        expr: up\n",
		     "r.yml:4:17: groups[0].rules[0].record: invalid recording rule name: a-b");
	expect_error("groups:\n  - name: a\n    rules:\n      - record: a\n        expr: up\n"
		     "        for: 1m\n        keep_firing_for: 1m\n        annotations:\n"
		     "          x: y\n",
		     "r.yml:6:9: groups[0].rules[0]: invalid field 'for' in recording rule\n"
		     "r.yml:7:9: groups[0].rules[0]: invalid field 'keep_firing_for' in recording rule\n"
		     "r.yml:8:9: groups[0].rules[0]: invalid field 'annotations' in recording rule");
	/* Prometheus accepts these when they mean nothing */
	rule_set__free(expect_ok("groups:\n  - name: a\n    rules:\n      - record: a\n"
				 "        expr: up\n        for: 0s\n        annotations: {}\n"));
	/* also a bare 0, and __-prefixed names other than __name__ (promtool
	 * 2.42 accepts all of these) */
	rule_set__free(expect_ok("groups:\n  - name: a\n    interval: 0\n    rules:\n"
				 "      - alert: \"spaced name \xc3\xa9\"\n        expr: up\n"
				 "        for: 0\n        labels: {__x: y}\n"
				 "        annotations: {__y: z}\n"));
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        labels:\n          1bad: x\n          __name__: y\n          ok: [1]\n"
		     "          ok2: a\n          ok2: b\n",
		     "r.yml:7:11: groups[0].rules[0].labels: invalid label name: 1bad\n"
		     "r.yml:8:11: groups[0].rules[0].labels: invalid label name: __name__\n"
		     "r.yml:9:15: groups[0].rules[0].labels.ok: expected a string, got a sequence\n"
		     "r.yml:11:11: groups[0].rules[0].labels: duplicate label 'ok2'");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        annotations:\n          a-b: x\n",
		     "r.yml:7:11: groups[0].rules[0].annotations: invalid annotation name: a-b");
	expect_error("groups:\n  - name: a\n    labels:\n      a.b: x\n",
		     "r.yml:4:7: groups[0].labels: invalid label name: a.b");
	/* several errors in several rules, all reported */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n"
		     "      - record: B\n        expr: x\n        for: 1m\n",
		     "r.yml:4:9: groups[0].rules[0]: field 'expr' must be set in rule\n"
		     "r.yml:7:9: groups[0].rules[1]: invalid field 'for' in recording rule");
}

/* Template errors point at the byte inside the value. */
static void test_template_errors(void **state)
{
	(void)state;
	/* plain scalar: column of the value + offset 12 */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        annotations:\n          summary: value is {{ nosuch $value }}\n",
		     "r.yml:7:32: groups[0].rules[0].annotations.summary: annotation 'summary': "
		     "template: function \"nosuch\" not defined");
	/* double-quoted: one more for the quote */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        labels:\n          severity: \"{{ $labelz.x }}\"\n",
		     "r.yml:7:25: groups[0].rules[0].labels.severity: label 'severity': "
		     "template: undefined variable \"$labelz\"");
	/* block scalar: the byte inside the block */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        annotations:\n          d: |\n            line one\n"
		     "            {{ if $value }}x\n",
		     "r.yml:9:13: groups[0].rules[0].annotations.d: annotation 'd': "
		     "template: unexpected EOF: {{if}} without {{end}}");
	/* escapes in a quoted string: the node */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        annotations:\n          d: \"\\t{{ end }}\"\n",
		     "r.yml:7:14: groups[0].rules[0].annotations.d: annotation 'd': "
		     "template: unexpected {{end}}");
	/* multi-byte characters count as one column, as libyaml counts */
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
		     "        annotations:\n          d: 'h\xc3\xa9 {{ . }}'\n",
		     "r.yml:7:21: groups[0].rules[0].annotations.d: annotation 'd': "
		     "template: the data itself cannot be used, only its fields ($labels, $value, ...)");
}

/* The checker's offset becomes the column inside the expression. */
static void test_expr_errors(void **state)
{
	(void)state;
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n"
		     "        expr: rate(x[5m]) > BAD\n",
		     "r.yml:5:29: groups[0].rules[0].expr: could not parse expression: "
		     "1:15: parse error: unexpected identifier \"BAD\"");
	expect_error("groups:\n  - name: a\n    rules:\n      - alert: A\n"
		     "        expr: 'up BAD'\n",
		     "r.yml:5:19: groups[0].rules[0].expr: could not parse expression: "
		     "1:4: parse error: unexpected identifier \"BAD\"");
	/* block scalars: line and column of the byte in the block */
	expect_error("groups:\n  - name: a\n    rules:\n      - record: r\n"
		     "        expr: |  # a comment\n          sum(up)\n\n            BAD\n",
		     "r.yml:8:13: groups[0].rules[0].expr: could not parse expression: "
		     "1:12: parse error: unexpected identifier \"BAD\"");
	expect_error("groups:\n  - name: a\n    rules:\n      - record: r\n"
		     "        expr: >-\n          sum(up)\n          / BAD\n",
		     "r.yml:7:13: groups[0].rules[0].expr: could not parse expression: "
		     "1:11: parse error: unexpected identifier \"BAD\"");
	/* folded plain and double-quoted scalars over several lines */
	expect_error("groups:\n  - name: a\n    rules:\n      - record: r\n"
		     "        expr: sum(rate(x[5m]))   \n          /\n\n          BAD\n",
		     "r.yml:8:11: groups[0].rules[0].expr: could not parse expression: "
		     "1:20: parse error: unexpected identifier \"BAD\"");
	expect_error("groups:\n  - name: a\n    rules:\n      - record: r\n"
		     "        expr: \"sum(x)\n           > BAD\"\n",
		     "r.yml:6:14: groups[0].rules[0].expr: could not parse expression: "
		     "1:10: parse error: unexpected identifier \"BAD\"");
	/* an escape before the error: the node */
	expect_error("groups:\n  - name: a\n    rules:\n      - record: r\n"
		     "        expr: \"x{a=\\\"b\\\"} BAD\"\n",
		     "r.yml:5:15: groups[0].rules[0].expr: could not parse expression: "
		     "1:10: parse error: unexpected identifier \"BAD\"");
	/* flow style works the same */
	expect_error("groups: [{name: a, rules: [{alert: A, expr: up BAD}]}]\n",
		     "r.yml:1:48: groups[0].rules[0].expr: could not parse expression: "
		     "1:4: parse error: unexpected identifier \"BAD\"");
}

static void test_limits(void **state)
{
	char err[ERRLEN];
	struct rule_set *set;
	size_t n = 0;
	char *big;

	(void)state;
	/* too many labels */
	big = malloc(128 * 1024);
	assert_non_null(big);
	n += (size_t)sprintf(big, "groups:\n  - name: a\n    labels:\n");
	for (int i = 0; i <= RULEFILE_MAX_LABELS; i++)
		n += (size_t)sprintf(big + n, "      l%d: x\n", i);
	set = parse(big, err);
	assert_null(set);
	assert_string_equal(err, "r.yml:4:7: groups[0].labels: at most 128 labels, got 129");
	free(big);

	/* file size */
	big = calloc(1, RULEFILE_MAX_FILE_SIZE + 1);
	assert_non_null(big);
	memset(big, '#', RULEFILE_MAX_FILE_SIZE + 1);
	set = rulefile__parse("r.yml", big, RULEFILE_MAX_FILE_SIZE + 1, NULL, NULL, err,
			      ERRLEN);
	assert_null(set);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(err, "r.yml: file too large, the limit is 4194304 bytes");
	free(big);

}

static void test_alias_bomb(void **state)
{
	char err[ERRLEN];
	struct rule_set *set;
	struct strbuf b;

	(void)state;
	/* 12 groups, each with 12 copies of a 1000-rule list: 144000 rules */
	strbuf__init(&b);
	strbuf__puts(&b, "groups:\n  - name: g0\n    rules: &rs\n");
	for (int i = 0; i < 1000; i++)
		strbuf__puts(&b, "      - {alert: A, expr: up}\n");
	for (int i = 1; i < 144; i++)
		strbuf__printf(&b, "  - {name: g%d, rules: *rs}\n", i);
	assert_false(b.oom);
	set = parse(b.buf, err);
	assert_null(set);
	assert_non_null(strstr(err, "more than 10000 rules in all"));
	strbuf__free(&b);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load_glob(void **state)
{
	char err[ERRLEN], pat1[128], pat2[128], pat3[128], want[1024];
	const char *pats[3] = { pat1, pat2, pat3 };
	struct rule_set *set;

	(void)state;
	strcpy(tmpdir, "/tmp/test_rulefile.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	write_file("a.rules.yml", "groups:\n  - name: a\n    rules:\n      - alert: A\n"
		   "        expr: up\n");
	write_file("b.rules.yml", "groups:\n  - name: a\n    rules:\n      - record: b\n"
		   "        expr: up\n");
	snprintf(pat1, sizeof(pat1), "%s/*.rules.yml", tmpdir);
	snprintf(pat2, sizeof(pat2), "%s/a.rules.yml", tmpdir);	/* matched twice */
	snprintf(pat3, sizeof(pat3), "%s/none-*.yml", tmpdir);	/* matches nothing */
	set = rulefile__load(pats, 3, check_bad, NULL, err, ERRLEN);
	if (!set)
		print_error("%s\n", err);
	assert_non_null(set);
	/* same group name in two files is fine (Prometheus keys by file) */
	assert_int_equal(set->nfiles, 2);
	assert_int_equal(set->ngroups, 2);
	assert_string_equal(set->groups[0].file, set->files[0]);
	assert_string_equal(set->groups[1].file, set->files[1]);
	assert_int_equal(set->groups[1].rules[0].type, RULE_RECORDING);
	rule_set__free(set);

	/* errors in two files and a missing file: all reported */
	write_file("c.rules.yml", "groups:\n  - name: c\n    rules:\n      - alert: C\n");
	write_file("d.rules.yml", "groups:\n  - name: d\n    rules:\n      - record: d\n"
		   "        expr: BAD\n");
	snprintf(pat2, sizeof(pat2), "%s/missing.yml", tmpdir);
	set = rulefile__load(pats, 2, check_bad, NULL, err, ERRLEN);
	assert_null(set);
	assert_int_equal(errno, EINVAL);
	snprintf(want, sizeof(want),
		 "%s/c.rules.yml:4:9: groups[0].rules[0]: field 'expr' must be set in rule\n"
		 "%s/d.rules.yml:5:15: groups[0].rules[0].expr: could not parse expression: "
		 "1:1: parse error: unexpected identifier \"BAD\"\n"
		 "%s/missing.yml: No such file or directory", tmpdir, tmpdir, tmpdir);
	assert_string_equal(err, want);

	for (const char *f = "a\0b\0c\0d\0"; *f; f += 2) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s.rules.yml", tmpdir, f);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* The shipped rule files load (templates compile, names valid). */
static void test_shipped_rules(void **state)
{
	const char *pats[] = { "rules/*.rules.yml", "tests/rules/*.rules.yml" };
	char err[ERRLEN];
	struct rule_set *set;

	(void)state;
	set = rulefile__load(pats, 2, NULL, NULL, err, ERRLEN);
	if (!set)
		print_error("%s\n", err);
	assert_non_null(set);
	assert_true(set->nfiles >= 2);
	assert_true(set->nrules >= 4);
	rule_set__free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_expr_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_load_glob),
		cmocka_unit_test(test_shipped_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
