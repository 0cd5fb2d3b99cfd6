// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the alert template engine (agent/template.c).  Expected
 * strings are Prometheus' (Go text/template and Prometheus' template
 * functions); the doubtful ones were checked with promtool 2.42 rendering
 * annotations in `promtool test rules` (tests/rules/template_check.*).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

static const struct label test_labels[] = {
	{ "instance", "node1.example.com:9100" },
	{ "job", "node" },
	{ "severity", "critical" },
	{ "path", "/var/log" },
};

static const struct label test_ext[] = {
	{ "cluster", "prod-eu" },
};

static struct tmpl_data data(double v)
{
	struct tmpl_data d = {
		.labels = test_labels,
		.nlabels = 4,
		.ext_labels = test_ext,
		.next_labels = 1,
		.external_url = "http://prom.example.com:9090",
		.value = v,
	};

	return d;
}

/* Compile and render @text with $value = @v; expect exactly @want. */
static void expect_render(const char *text, double v, const char *want)
{
	struct tmpl_data d = data(v);
	char err[256];
	size_t off;
	struct tmpl *t = tmpl__compile(text, strlen(text), &off, err, sizeof(err));
	struct strbuf b;

	if (!t) {
		print_error("template %s: compile error at %zu: %s\n", text, off, err);
		fail();
	}
	strbuf__init(&b);
	if (tmpl__render(t, &d, &b, err, sizeof(err))) {
		print_error("template %s: render error: %s\n", text, err);
		fail();
	}
	if (strcmp(b.buf ? b.buf : "", want)) {
		print_error("template %s: want '%s' got '%s'\n", text, want,
			    b.buf ? b.buf : "");
		fail();
	}
	strbuf__free(&b);
	tmpl__free(t);
}

/* Expect a render-time error whose message contains @want. */
static void expect_render_error(const char *text, double v, const char *want)
{
	struct tmpl_data d = data(v);
	char err[256];
	size_t off;
	struct tmpl *t = tmpl__compile(text, strlen(text), &off, err, sizeof(err));
	struct strbuf b;
	char *x;

	if (!t) {
		print_error("template %s: compile error at %zu: %s\n", text, off, err);
		fail();
	}
	strbuf__init(&b);
	assert_int_equal(tmpl__render(t, &d, &b, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want)) {
		print_error("template %s: want error '%s' got '%s'\n", text, want, err);
		fail();
	}
	/* tmpl__expand shows it the Prometheus way */
	x = tmpl__expand(t, &d);
	assert_non_null(x);
	assert_true(!strncmp(x, "<error expanding template: ", 27));
	free(x);
	strbuf__free(&b);
	tmpl__free(t);
}

/* Expect a compile error at byte @want_off with a message containing @want. */
static void expect_compile_error(const char *text, size_t want_off, const char *want)
{
	char err[256];
	size_t off = 12345;
	struct tmpl *t;

	errno = 0;
	t = tmpl__compile(text, strlen(text), &off, err, sizeof(err));
	if (t) {
		print_error("template %s compiled, want error '%s'\n", text, want);
		fail();
	}
	assert_int_equal(errno, EINVAL);
	if (!strstr(err, want) || off != want_off) {
		print_error("template %s: want error at %zu '%s', got at %zu '%s'\n",
			    text, want_off, want, off, err);
		fail();
	}
}

static void test_humanize(void **state)
{
	char buf[64];

	(void)state;
	/* Prometheus template_test.go and the brief */
	tmpl__humanize(buf, sizeof(buf), 1234567);
	assert_string_equal(buf, "1.235M");
	tmpl__humanize(buf, sizeof(buf), 0.012);
	assert_string_equal(buf, "12m");
	tmpl__humanize(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	tmpl__humanize(buf, sizeof(buf), 1);
	assert_string_equal(buf, "1");
	tmpl__humanize(buf, sizeof(buf), 999);
	assert_string_equal(buf, "999");
	tmpl__humanize(buf, sizeof(buf), 1000);
	assert_string_equal(buf, "1k");
	tmpl__humanize(buf, sizeof(buf), 1e27);
	assert_string_equal(buf, "1000Y");
	tmpl__humanize(buf, sizeof(buf), 1e30);
	assert_string_equal(buf, "1e+06Y");
	tmpl__humanize(buf, sizeof(buf), -1234567);
	assert_string_equal(buf, "-1.235M");
	tmpl__humanize(buf, sizeof(buf), 0.000001);
	assert_string_equal(buf, "1u");
	tmpl__humanize(buf, sizeof(buf), 1e-30);
	assert_string_equal(buf, "1e-06y");
	tmpl__humanize(buf, sizeof(buf), INFINITY);
	assert_string_equal(buf, "+Inf");
	tmpl__humanize(buf, sizeof(buf), -INFINITY);
	assert_string_equal(buf, "-Inf");
	tmpl__humanize(buf, sizeof(buf), NAN);
	assert_string_equal(buf, "NaN");

	tmpl__humanize1024(buf, sizeof(buf), 1048576);
	assert_string_equal(buf, "1Mi");
	tmpl__humanize1024(buf, sizeof(buf), 1024);
	assert_string_equal(buf, "1ki");
	tmpl__humanize1024(buf, sizeof(buf), 1);
	assert_string_equal(buf, "1");
	tmpl__humanize1024(buf, sizeof(buf), 0.5);
	assert_string_equal(buf, "0.5");
	tmpl__humanize1024(buf, sizeof(buf), 1536);
	assert_string_equal(buf, "1.5ki");
	tmpl__humanize1024(buf, sizeof(buf), 1125899906842624.0);
	assert_string_equal(buf, "1Pi");

	tmpl__humanize_duration(buf, sizeof(buf), 90);
	assert_string_equal(buf, "1m 30s");
	tmpl__humanize_duration(buf, sizeof(buf), 0.0123);
	assert_string_equal(buf, "12.3ms");
	tmpl__humanize_duration(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0s");
	tmpl__humanize_duration(buf, sizeof(buf), 1.5);
	assert_string_equal(buf, "1.5s");
	tmpl__humanize_duration(buf, sizeof(buf), 3600);
	assert_string_equal(buf, "1h 0m 0s");
	tmpl__humanize_duration(buf, sizeof(buf), 90061);
	assert_string_equal(buf, "1d 1h 1m 1s");
	tmpl__humanize_duration(buf, sizeof(buf), -90);
	assert_string_equal(buf, "-1m 30s");
	tmpl__humanize_duration(buf, sizeof(buf), 0.000001);
	assert_string_equal(buf, "1us");
	tmpl__humanize_duration(buf, sizeof(buf), 61.9);
	assert_string_equal(buf, "1m 1s");

	tmpl__humanize_percentage(buf, sizeof(buf), 0.1234);
	assert_string_equal(buf, "12.34%");
	tmpl__humanize_percentage(buf, sizeof(buf), 1);
	assert_string_equal(buf, "100%");
	tmpl__humanize_percentage(buf, sizeof(buf), 0.123456);
	assert_string_equal(buf, "12.35%");
}

static void test_format_float(void **state)
{
	char buf[64];
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 1e6, "1e+06" },
		{ 123456, "123456" },
		{ 1234567, "1.234567e+06" },
		{ 0.0001, "0.0001" },
		{ 0.00001, "1e-05" },
		{ 0.1, "0.1" },
		{ 1.5, "1.5" },
		{ 100, "100" },
		{ 0, "0" },
		{ -2.5, "-2.5" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 1e21, "1e+21" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tmpl__format_float(buf, sizeof(buf), cases[i].v, 'g', -1);
		if (strcmp(buf, cases[i].want)) {
			print_error("%%v of %.17g: want %s got %s\n", cases[i].v,
				    cases[i].want, buf);
			fail();
		}
	}
	tmpl__format_float(buf, sizeof(buf), INFINITY, 'g', -1);
	assert_string_equal(buf, "+Inf");
}

static void test_render_basics(void **state)
{
	(void)state;
	expect_render("plain text", 1, "plain text");
	expect_render("", 1, "");
	expect_render("{{ $labels.job }} on {{ $labels.instance }}", 1,
		      "node on node1.example.com:9100");
	expect_render("{{ .Labels.job }}/{{ .Value }}", 2.5, "node/2.5");
	expect_render("{{ $value }}", 1000000, "1e+06");
	expect_render("{{ $value }}", 42, "42");
	expect_render("{{ $value }}", 0.5, "0.5");
	expect_render("{{ $value }}", NAN, "NaN");
	expect_render("[{{ $labels.nosuch }}]", 1, "[]");
	expect_render("[{{ index $labels \"job\" }}][{{ index $labels \"x\" }}]", 1,
		      "[node][]");
	expect_render("{{ $externalLabels.cluster }} {{ $externalURL }}", 1,
		      "prod-eu http://prom.example.com:9090");
	expect_render("{{ .ExternalLabels.cluster }} {{ .ExternalURL }}", 1,
		      "prod-eu http://prom.example.com:9090");
	expect_render("{{ $externalLabels }}", 1, "map[cluster:prod-eu]");
	expect_render("{{ $labels }}", 1,
		      "map[instance:node1.example.com:9100 job:node path:/var/log severity:critical]");
	expect_render("{{ \"a\\tb\\\"c\\u00e9\" }}", 1, "a\tb\"c\xc3\xa9");
	expect_render("{{ `raw\\n` }}", 1, "raw\\n");
	expect_render("{{ 12 }} {{ 1.5 }} {{ true }} {{ -3 }} {{ 0x10 }}", 1,
		      "12 1.5 true -3 16");
	expect_render("{{/* a comment */}}x{{- /* trimmed */ -}} y", 1, "xy");
}

static void test_trim(void **state)
{
	(void)state;
	expect_render("a  \n {{- $labels.job }}  b", 1, "anode  b");
	expect_render("a {{ $labels.job -}} \n\t b", 1, "a nodeb");
	expect_render("a {{- $labels.job -}} b", 1, "anodeb");
	/* "{{-3}}" is the number -3, not a trim marker */
	expect_render("a {{-3}} b", 1, "a -3 b");
	expect_render("x\n{{- if true }}\n  y\n{{- end }}\n", 1, "x\n  y\n");
}

static void test_pipelines(void **state)
{
	(void)state;
	expect_render("{{ $value | humanize }}", 1234567, "1.235M");
	expect_render("{{ humanize $value }}", 0.012, "12m");
	expect_render("{{ $value | humanize1024 }}", 1048576, "1Mi");
	expect_render("{{ $value | humanizeDuration }}", 90, "1m 30s");
	expect_render("{{ $value | humanizePercentage }}", 0.1234, "12.34%");
	expect_render("{{ humanizeTimestamp 1435065584.128 }}", 0,
		      "2015-06-23 13:19:44.128 +0000 UTC");
	expect_render("{{ humanizeTimestamp $value }}", 0, "1970-01-01 00:00:00 +0000 UTC");
	expect_render("{{ humanizeTimestamp $value }}", 1.5, "1970-01-01 00:00:01.5 +0000 UTC");
	/* humanize accepts strings (Prometheus' convertToFloat) */
	expect_render("{{ \"2048\" | humanize1024 }}", 0, "2ki");
	expect_render("{{ humanize 1000 }}", 0, "1k");
	expect_render("{{ $value | printf \"%.2f\" }}", 3.14159, "3.14");
	expect_render("{{ printf \"%s is %d%%\" $labels.job 5 }}", 0, "node is 5%");
	expect_render("{{ printf \"%v %g %e\" $value $value $value }}", 1e6,
		      "1e+06 1e+06 1.000000e+06");
	expect_render("{{ printf \"%q %x %X\" $labels.job \"hi\" 255 }}", 0,
		      "\"node\" 6869 FF");
	expect_render("{{ printf \"%5.1f|%-4s|%04d\" 2.25 \"a\" 7 }}", 0,
		      "  2.2|a   |0007");
	expect_render("{{ printf \"%d\" $value }}", 1.5, "%!d(float64=1.5)");
	expect_render("{{ printf \"%s\" 1 }}", 0, "%!s(int=1)");
	expect_render("{{ printf \"%s %s\" \"a\" }}", 0, "a %!s(MISSING)");
	expect_render("{{ printf \"%s\" \"a\" 2 }}", 0, "a%!(EXTRA int=2)");
	expect_render("{{ printf \"%v\" $labels.nosuch }}", 0, "");
	expect_render("{{ toUpper $labels.job }} {{ toLower \"ABC\" }}", 0, "NODE abc");
	expect_render("{{ title \"hello wide-world o'neil\" }}", 0, "Hello Wide-World O'Neil");
	expect_render("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}", 0,
		      "node1.example.com");
	expect_render("{{ reReplaceAll \"o\" \"0\" \"foo boo\" }}", 0, "f00 b00");
	expect_render("{{ reReplaceAll \"x*\" \"-\" \"abc\" }}", 0, "-a-b-c-");
	expect_render("{{ reReplaceAll \"(a)(b)\" \"${2}$1$$\" \"ab\" }}", 0, "ba$");
	expect_render("{{ reReplaceAll \"(a)\" \"$1x\" \"a\" }}", 0, "");
	expect_render("{{ if match \"^node\" $labels.job }}yes{{ end }}", 0, "yes");
	expect_render("{{ if match \"^x\" $labels.job }}yes{{ else }}no{{ end }}", 0, "no");
	expect_render("{{ stripPort $labels.instance }}", 0, "node1.example.com");
	expect_render("{{ stripPort \"[::1]:80\" }} {{ stripPort \"host\" }} {{ stripPort \"a:b:c\" }}",
		      0, "::1 host a:b:c");
	expect_render("{{ stripDomain $labels.instance }}", 0, "node1:9100");
	expect_render("{{ stripDomain \"10.0.0.1:80\" }} {{ stripDomain \"a.b\" }}", 0,
		      "10.0.0.1:80 a");
	expect_render("{{ len $labels }} {{ len \"abc\" }}", 0, "4 3");
	expect_render("{{ print \"a\" 1 2 \"b\" }}", 0, "a1 2b");
	expect_render("{{ urlquery \"a b&c\" }}", 0, "a+b%26c");
	expect_render("{{ (humanize $value) | printf \"<%s>\" }}", 2000, "<2k>");
	expect_render("{{ $labels.job | toUpper | printf \"%s!\" }}", 0, "NODE!");
}

static void test_if(void **state)
{
	(void)state;
	expect_render("{{ if gt $value 10.0 }}high{{ else }}low{{ end }}", 11, "high");
	expect_render("{{ if gt $value 10.0 }}high{{ else }}low{{ end }}", 9, "low");
	expect_render("{{ if gt $value 100.0 }}a{{ else if gt $value 10.0 }}b{{ else }}c{{ end }}",
		      50, "b");
	expect_render("{{ if gt $value 100.0 }}a{{ else if gt $value 10.0 }}b{{ else }}c{{ end }}",
		      5, "c");
	expect_render("{{ if gt $value 100.0 }}a{{ else if gt $value 10.0 }}b{{ end }}", 5, "");
	expect_render("{{ if $labels.severity }}sev={{ $labels.severity }}{{ end }}", 0,
		      "sev=critical");
	expect_render("{{ if $labels.nosuch }}x{{ else }}none{{ end }}", 0, "none");
	expect_render("{{ if $value }}t{{ else }}f{{ end }}", 0, "f");
	expect_render("{{ if eq $labels.job \"node\" }}y{{ end }}", 0, "y");
	expect_render("{{ if eq $labels.job \"a\" \"b\" \"node\" }}y{{ end }}", 0, "y");
	expect_render("{{ if ne $labels.job \"node\" }}y{{ else }}n{{ end }}", 0, "n");
	expect_render("{{ if and (ge $value 1.0) (le $value 2.0) }}in{{ end }}", 1.5, "in");
	expect_render("{{ if or (lt $value 1.0) (eq $labels.job \"node\") }}or{{ end }}", 5, "or");
	expect_render("{{ if not (lt $value 1.0) }}not{{ end }}", 5, "not");
	expect_render("{{ and 1 0 2 }} {{ or 0 \"\" \"x\" }} {{ and 1 2 }}", 0, "0 x 2");
	/* and short-circuits: the bad comparison is never evaluated */
	expect_render("{{ and false (gt $value 1) }}", 5, "false");
	expect_render("{{ if lt \"a\" \"b\" }}s{{ end }}", 0, "s");
	expect_render("{{ if gt 3 2 }}i{{ end }}", 0, "i");
	expect_render("{{ if gt $value 1.0 }}{{ if lt $value 3.0 }}mid{{ end }}{{ end }}", 2, "mid");
}

static void test_render_errors(void **state)
{
	(void)state;
	/* Go: int and float64 do not compare */
	expect_render_error("{{ if gt $value 1 }}x{{ end }}", 5, "incompatible types for comparison");
	expect_render_error("{{ humanize $labels.job }}", 0, "invalid syntax");
	expect_render_error("{{ toUpper $value }}", 0, "expected string; got float64");
	expect_render_error("{{ lt true false }}", 0, "invalid type for comparison");
	expect_render_error("{{ index $value \"x\" }}", 0, "can't index item of type float64");
	expect_render_error("{{ match (print \"(\") \"x\" }}", 0, "error parsing regexp");
	expect_render_error("{{ humanizeTimestamp 1e300 }}", 0, "overflows int64");
	expect_render_error("{{ nil }}", 0, "nil is not a command");
}

static void test_compile_errors(void **state)
{
	(void)state;
	expect_compile_error("abc {{ nosuch $value }}", 7, "function \"nosuch\" not defined");
	expect_compile_error("{{ query \"up\" }}", 3, "not supported");
	expect_compile_error("x {{ $foo }}", 5, "undefined variable \"$foo\"");
	expect_compile_error("x {{ .Foo }}", 5, "can't evaluate field Foo");
	expect_compile_error("{{ $value.x }}", 9, "can't evaluate field x in type float64");
	expect_compile_error("{{ $labels.a.b }}", 12, "can't evaluate field b in type string");
	expect_compile_error("ab {{ $value ", 13, "unclosed action");
	expect_compile_error("{{ if $value }}x", 0, "{{if}} without {{end}}");
	expect_compile_error("x{{ end }}", 1, "unexpected {{end}}");
	expect_compile_error("x{{ else }}", 1, "unexpected {{else}}");
	expect_compile_error("{{ define \"x\" }}{{ end }}", 3, "\"define\" is not supported");
	expect_compile_error("{{ template \"x\" }}", 3, "\"template\" is not supported");
	expect_compile_error("{{ block \"x\" . }}{{ end }}", 3, "\"block\" is not supported");
	expect_compile_error("{{ if 1 }}{{ break }}{{ end }}", 13, "\"break\" is not supported");
	expect_compile_error("{{ 1 | printf \"%d\" $x := 1 }}", 22, "can only be declared at the start");
	expect_compile_error("{{ }}", 3, "missing value for command");
	expect_compile_error("{{ humanize }}", 3, "wrong number of args for humanize: want 1 got 0");
	expect_compile_error("{{ $value | humanize 1 }}", 12, "wrong number of args for humanize");
	expect_compile_error("{{ $value 1 }}", 10, "can't give argument to non-function");
	expect_compile_error("{{ \"abc }}", 3, "unterminated quoted string");
	expect_compile_error("{{ \"a\\qb\" }}", 5, "invalid escape sequence");
	expect_compile_error("{{ 1x }}", 3, "bad number syntax");
	expect_compile_error("{{ if }}{{ end }}", 6, "missing value for if");
	expect_compile_error("{{/* open", 0, "unclosed comment");
	expect_compile_error("{{ . }}", 3, "the data itself cannot be used");
	expect_compile_error("{{ if 1 }}{{ else }}{{ else }}{{ end }}", 20, "expected end");
	expect_compile_error("{{ (humanize 1 }}", 15, "unexpected \"}}\" in parenthesized pipeline");
	expect_compile_error("{{ 1 | $value }}", 7, "non-function in pipeline stage 2");
	expect_compile_error("{{ match \"(\" \"x\" }}", 9, "error parsing regexp");
	expect_compile_error("{{ reReplaceAll \"((a+)+)+++++++++++++++++++\" \"\" \"x\" }}", 16,
			     "invalid nested repetition operator");
	expect_compile_error("{{ reReplaceAll \"((((((((((a+)+)+)+)+)+)+)+)+)+){30}\" \"\" \"x\" }}", 16,
			     "too large once repetitions are expanded");
	/* patterns that take glibc's regcomp seconds or more */
	expect_compile_error("{{ match \"((.*|a*|b*|c*|d*)+){8}\" \"x\" }}", 9,
			     "a repeated group that can match the empty string");
	expect_compile_error("{{ match \"((((((((((.*)+)+)+)+)+)+)+)+)+)+\" \"x\" }}", 9,
			     "a repeated group that can match the empty string");
	expect_compile_error("{{ match \"(a|)+\" \"x\" }}", 9,
			     "a repeated group that can match the empty string");
	expect_compile_error("{{ match \"a+?\" \"x\" }}", 9, "lazy quantifiers");
	expect_compile_error("{{ match \"\\\\d+\" \"x\" }}", 9, "use [0-9]");
	/* and what real rules use is fine */
	expect_render("{{ reReplaceAll \"([a-z]+\\\\.)+\" \"\" \"a.b.c\" }}", 0, "c");
	expect_render("{{ if match \"^(foo|bar)+[0-9]{1,3}$\" \"foobar12\" }}y{{ end }}", 0, "y");
}

/* Deep nesting and huge inputs are refused, not recursed into. */
static void test_limits(void **state)
{
	char *big, err[256];
	size_t off, i, n = 0;
	struct tmpl *t;

	(void)state;
	big = malloc(TMPL_MAX_TEXT + 2);
	assert_non_null(big);
	for (i = 0; i < 200; i++)
		n += (size_t)sprintf(big + n, "{{ if 1 }}");
	t = tmpl__compile(big, n, &off, err, sizeof(err));
	assert_null(t);
	assert_non_null(strstr(err, "nested too deeply"));
	memset(big, 'a', TMPL_MAX_TEXT + 1);
	t = tmpl__compile(big, TMPL_MAX_TEXT + 1, &off, err, sizeof(err));
	assert_null(t);
	assert_int_equal(errno, EFBIG);
	free(big);
	/* a constant template */
	t = tmpl__compile("no actions", 10, &off, err, sizeof(err));
	assert_non_null(t);
	assert_true(tmpl__is_constant(t));
	tmpl__free(t);
	t = tmpl__compile("{{ 1 }}", 7, &off, err, sizeof(err));
	assert_non_null(t);
	assert_false(tmpl__is_constant(t));
	tmpl__free(t);
}

/* with: "." is the value (checked with promtool 2.42, as golden2) */
static void test_with(void **state)
{
	(void)state;
	expect_render("{{ with $labels.cluster -}} on cluster {{ . }}{{- end }}.", 2.5, ".");
	expect_render("{{ with $labels.job -}} on job {{ . }}{{- end }}.", 2.5, "on job node.");
	expect_render("{{ with $labels }}{{ .job }}/{{ .nosuch }}{{ end }}", 2.5, "node/");
	expect_render("{{ with $value }}{{ . | humanize }}{{ else }}zero{{ end }}", 2.5, "2.5");
	expect_render("{{ with $value }}{{ . | humanize }}{{ else }}zero{{ end }}", 0, "zero");
	expect_render("{{ with $labels.job }}{{ with $labels.instance }}{{ . }}{{ end }}-{{ . }}"
		      "{{ end }}", 2.5, "node1.example.com:9100-node");
	expect_render("{{ with .Labels }}{{ .instance }}{{ end }}", 2.5, "node1.example.com:9100");
	expect_render("{{ with $value }}{{ $.Labels.job }}{{ . }}{{ end }}", 2.5, "node2.5");
	expect_render("{{ with \"\" }}a{{ else }}b{{ end }}", 2.5, "b");
	expect_render_error("{{ with $labels.job }}{{ .x }}{{ end }}", 2.5,
			    "can't evaluate field x in type string");
	expect_compile_error("{{ with 0 }}x{{ else if 1 }}y{{ end }}", 13, "unexpected <if>");
	expect_compile_error("{{ with 1 }}x", 0, "{{with}} without {{end}}");
	/* "." means the data only inside with */
	expect_compile_error("{{ with 1 }}{{ . }}{{ end }}{{ . }}", 31, "the data itself");
}

/* range and variables (outputs checked with promtool 2.42) */
static void test_range_vars(void **state)
{
	static const struct label l[] = {
		{ "__name__", "m" }, { "job", "node" }, { "instance", "h:9100" },
	};
	static const struct label e[] = { { "cluster", "c1" } };
	static const struct {
		const char *t, *want;
	} cases[] = {
		{ "{{ range $labels }}{{ . }},{{ end }}", "m,h:9100,node," },
		{ "{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}",
		  "__name__=m instance=h:9100 job=node " },
		{ "{{ range $v := $labels }}{{ $v }};{{ end }}", "m;h:9100;node;" },
		{ "{{ range $externalLabels }}x{{ else }}empty{{ end }}", "x" },
		{ "{{ $x := $value }}{{ $x }} {{ $x = humanize 1234 }}{{ $x }}", "2.5 1.234k" },
		{ "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21" },
		{ "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2" },
		{ "{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ $v | toUpper }}"
		  "{{ end }}{{ end }}", "NODE" },
		{ "{{ $labels := \"x\" }}{{ $labels }}", "x" },
		{ "{{ $m := .Labels }}{{ $m.job }}{{ range $m }}{{ end }}", "node" },
		{ "{{- range $k, $v := $labels -}} {{ $k }} {{- end -}}", "__name__instancejob" },
		{ "{{ with $x := $labels.job }}{{ $x }}{{ end }}", "node" },
		{ "{{ if $x := $labels.nosuch }}a{{ else }}[{{ $x }}]{{ end }}", "[]" },
	};
	struct tmpl_data d = { l, 3, e, 1, "", 2.5 };
	struct tmpl_data empty = { l, 0, e, 0, "", 2.5 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256], *s;
		size_t off;
		struct tmpl *t = tmpl__compile(cases[i].t, strlen(cases[i].t), &off, err,
					       sizeof(err));

		if (!t) {
			print_error("%s: compile error at %zu: %s\n", cases[i].t, off, err);
			fail();
		}
		s = tmpl__expand(t, &d);
		if (strcmp(s, cases[i].want)) {
			print_error("%s: want [%s] got [%s]\n", cases[i].t, cases[i].want, s);
			fail();
		}
		free(s);
		tmpl__free(t);
	}
	{
		const char *text = "{{ range $labels }}x{{ else }}empty{{ end }}";
		struct tmpl *t = tmpl__compile(text, strlen(text), NULL, NULL, 0);
		char *s = tmpl__expand(t, &empty);

		assert_string_equal(s, "empty");
		free(s);
		tmpl__free(t);
	}
	expect_render_error("{{ range $value }}{{ end }}", 2.5, "range can't iterate over float64");
	/* 4^12 iterations of nothing: stopped by the step bound */
	expect_render_error("{{ range $labels }}{{ range $labels }}{{ range $labels }}"
			    "{{ range $labels }}{{ range $labels }}{{ range $labels }}"
			    "{{ range $labels }}{{ range $labels }}{{ range $labels }}"
			    "{{ range $labels }}{{ range $labels }}{{ range $labels }}"
			    "{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}"
			    "{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}", 0,
			    "execution took more than 100000 steps");
	/* a variable lives until the end of its control structure */
	expect_compile_error("{{ range $i, $e := $labels }}{{ $i }}{{ end }}{{ $i }}", 49,
			     "undefined variable \"$i\"");
	expect_compile_error("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}", 38,
			     "undefined variable \"$y\"");
	expect_compile_error("{{ $z = 1 }}", 3, "undefined variable \"$z\"");
	expect_compile_error("{{ range $a, $b }}{{ end }}", 16, "expected := after range variables");
	expect_compile_error("{{ if $a, $b := 1 }}{{ end }}", 0, "too many declarations in if");
}

/*
 * Golden outputs of Prometheus 2.42 (promtool test rules, reproduced by
 * tests/rules/template_golden.*): the same two templates rendered with
 * $value set to each of these numbers.
 */
static const struct {
	double v;
	const char *x, *y;
} golden[] = {
	{ 1234567, "v=1.234567e+06 h=1.235M h1024=1.177Mi hd=14d 6h 56m 7s hp=1.235e+08%",
	  "2.048k [] Hello Wide-World 1234567.00 1.2e+06|1.234567E+06" },
	{ 0.012, "v=0.012 h=12m h1024=0.012 hd=12ms hp=1.2%",
	  "2.048k [] Hello Wide-World 0.01 0.012|0.012" },
	{ 1048576, "v=1.048576e+06 h=1.049M h1024=1Mi hd=12d 3h 16m 16s hp=1.049e+08%",
	  "2.048k [] Hello Wide-World 1048576.00 1e+06|1.048576E+06" },
	{ 90, "v=90 h=90 h1024=90 hd=1m 30s hp=9000%",
	  "2.048k [] Hello Wide-World 90.00    90|90" },
	{ 0.0123, "v=0.0123 h=12.3m h1024=0.0123 hd=12.3ms hp=1.23%",
	  "2.048k [] Hello Wide-World 0.01 0.012|0.0123" },
	{ 0.1234, "v=0.1234 h=123.4m h1024=0.1234 hd=123.4ms hp=12.34%",
	  "2.048k [] Hello Wide-World 0.12  0.12|0.1234" },
	{ 0, "v=0 h=0 h1024=0 hd=0s hp=0%",
	  "2.048k [] Hello Wide-World 0.00     0|0" },
	{ -90, "v=-90 h=-90 h1024=-90 hd=-1m 30s hp=-9000%",
	  "2.048k [] Hello Wide-World -90.00   -90|-90" },
	{ 61.9, "v=61.9 h=61.9 h1024=61.9 hd=1m 1s hp=6190%",
	  "2.048k [] Hello Wide-World 61.90    62|61.9" },
	{ 1e30, "v=1e+30 h=1e+06Y h1024=8.272e+05Yi hd=-106751991167300d -15h -30m -8s hp=1e+32%",
	  "2.048k [] Hello Wide-World 1000000000000000019884624838656.00 1e+30|1E+30" },
	{ 1e-30, "v=1e-30 h=1e-06y h1024=1e-30 hd=1e-06ys hp=1e-28%",
	  "2.048k [] Hello Wide-World 0.00 1e-30|1E-30" },
	{ 1536, "v=1536 h=1.536k h1024=1.5ki hd=25m 36s hp=1.536e+05%",
	  "2.048k [] Hello Wide-World 1536.00 1.5e+03|1536" },
	{ -1234567, "v=-1.234567e+06 h=-1.235M h1024=-1.177Mi hd=-14d 6h 56m 7s hp=-1.235e+08%",
	  "2.048k [] Hello Wide-World -1234567.00 -1.2e+06|-1.234567E+06" },
	{ 0.000001, "v=1e-06 h=1u h1024=1e-06 hd=1us hp=0.0001%",
	  "2.048k [] Hello Wide-World 0.00 1e-06|1E-06" },
	{ 3600, "v=3600 h=3.6k h1024=3.516ki hd=1h 0m 0s hp=3.6e+05%",
	  "2.048k [] Hello Wide-World 3600.00 3.6e+03|3600" },
	{ 90061, "v=90061 h=90.06k h1024=87.95ki hd=1d 1h 1m 1s hp=9.006e+06%",
	  "2.048k [] Hello Wide-World 90061.00 9e+04|90061" },
	{ 1.5, "v=1.5 h=1.5 h1024=1.5 hd=1.5s hp=150%",
	  "2.048k [] Hello Wide-World 1.50   1.5|1.5" },
	{ 123456, "v=123456 h=123.5k h1024=120.6ki hd=1d 10h 17m 36s hp=1.235e+07%",
	  "2.048k [] Hello Wide-World 123456.00 1.2e+05|123456" },
	{ 0.00001, "v=1e-05 h=10u h1024=1e-05 hd=10us hp=0.001%",
	  "2.048k [] Hello Wide-World 0.00 1e-05|1E-05" },
	{ 0.3333333333333333, "v=0.3333333333333333 h=333.3m h1024=0.3333 hd=333.3ms hp=33.33%",
	  "2.048k [] Hello Wide-World 0.33  0.33|0.3333333333333333" },
	{ NAN, "v=NaN h=NaN h1024=NaN hd=NaN hp=NaN%",
	  "2.048k [] Hello Wide-World NaN   NaN|NaN" },
	{ INFINITY, "v=+Inf h=+Inf h1024=+Inf hd=+Inf hp=+Inf%",
	  "2.048k [] Hello Wide-World +Inf  +Inf|+Inf" },
};

static void test_promtool_golden(void **state)
{
	static const char *const tx =
		"v={{ $value }} h={{ $value | humanize }} h1024={{ $value | humanize1024 }} "
		"hd={{ $value | humanizeDuration }} hp={{ $value | humanizePercentage }}";
	static const char *const ty =
		"{{ humanize \"2048\" }} [{{ printf \"%v\" $labels.nosuch }}] "
		"{{ title \"hello wide-world\" }} {{ printf \"%.2f\" $value }} "
		"{{ printf \"%5.2g|%G\" $value $value }}";

	(void)state;
	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		expect_render(tx, golden[i].v, golden[i].x);
		expect_render(ty, golden[i].v, golden[i].y);
	}
}

/*
 * More golden outputs of Prometheus 2.42 (tests/rules/template_golden2.*):
 * each template rendered for the series m{instance="h:9100",job="node"}
 * = 2.5 with external label cluster="c1" and an empty external URL.
 */
static const struct {
	const char *t, *want;
} golden2[] = {
	{ "{{ printf \"%x\" 255 }}",
	  "ff" },
	{ "{{ printf \"%5s|%-5d|%+d\" \"ab\" 3 4 }}",
	  "   ab|3    |+4" },
	{ "{{ printf \"%.3s\" \"abcdef\" }}",
	  "abc" },
	{ "{{ printf \"%t %v\" true false }}",
	  "true false" },
	{ "{{ printf \"%c\" 65 }}",
	  "A" },
	{ "{{ printf \"%e\" 1234.5678 }}",
	  "1.234568e+03" },
	{ "{{ printf \"%08.3f\" -3.14159 }}",
	  "-003.142" },
	{ "{{ printf \"%+.2e\" 12345.678 }}",
	  "+1.23e+04" },
	{ "{{ printf \"%v\" $labels }}",
	  "map[__name__:m instance:h:9100 job:node]" },
	{ "{{ printf \"%d\" \"x\" }}",
	  "%!d(string=x)" },
	{ "{{ printf \"%\" }}",
	  "%!(NOVERB)" },
	{ "{{ printf \"%z\" 1 }}",
	  "%!z(int=1)" },
	{ "{{ printf \"%5.1f%%\" 99.44 }}",
	  " 99.4%" },
	{ "{{ printf \"%g\" 100000000.0 }}",
	  "1e+08" },
	{ "{{ printf \"%G\" 1e-7 }}",
	  "1E-07" },
	{ "{{ printf \"%.0f\" 2.5 }}",
	  "2" },
	{ "{{ printf \"%6.2f|%-8.3f|\" 3.14159 2.0 }}",
	  "  3.14|2.000   |" },
	{ "{{ printf \"%s\" $value }}",
	  "%!s(float64=2.5)" },
	{ "{{ printf \"%v\" $value }}",
	  "2.5" },
	{ "{{ printf \"%f\" $value }}",
	  "2.500000" },
	{ "{{ printf \"%q\" \"a\\\"b\\n\" }}",
	  "\"a\\\"b\\n\"" },
	{ "{{ printf \"%x\" \"hi\" }}",
	  "6869" },
	{ "{{ printf \"%X\" -255 }}",
	  "-FF" },
	{ "{{ printf \"%d %d\" 1 }}",
	  "1 %!d(MISSING)" },
	{ "{{ printf \"%3c|\" 66 }}",
	  "  B|" },
	{ "{{ printf \"%+v\" 1.5 }}",
	  "1.5" },
	{ "{{ printf \"%05d\" -42 }}",
	  "-0042" },
	{ "{{ printf \"%.2f\" 1e100 }}",
	  "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.00" },
	{ "{{ print 1 2 }}",
	  "1 2" },
	{ "{{ print \"a\" \"b\" 1 2 \"c\" }}",
	  "ab1 2c" },
	{ "{{ println \"a\" 1 }}",
	  "a 1\n" },
	{ "{{ print $value }}",
	  "2.5" },
	{ "{{ print true 1.5 }}",
	  "true 1.5" },
	{ "{{ len \"h\xc3""\xa9""llo\" }}",
	  "6" },
	{ "{{ index $labels \"job\" | toUpper }}",
	  "NODE" },
	{ "{{ humanize \"1e3\" }}",
	  "1k" },
	{ "{{ humanize -0.001 }}",
	  "-1m" },
	{ "{{ humanize1024 -2048 }}",
	  "-2ki" },
	{ "{{ humanizePercentage \"0.5\" }}",
	  "50%" },
	{ "{{ humanizeTimestamp -1.5 }}",
	  "1969-12-31 23:59:58.5 +0000 UTC" },
	{ "{{ humanizeTimestamp 0.0005 }}",
	  "1970-01-01 00:00:00 +0000 UTC" },
	{ "{{ humanizeDuration -0.5 }}",
	  "-500ms" },
	{ "{{ humanizeDuration 59.999 }}",
	  "60s" },
	{ "{{ humanizeDuration 86400 }}",
	  "1d 0h 0m 0s" },
	{ "{{ humanize 999.95 }}",
	  "1000" },
	{ "{{ humanize 1234.5 }}",
	  "1.234k" },
	{ "{{ humanize 0.00012345 }}",
	  "123.4u" },
	{ "{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1.5 1.5 }} {{ lt 1 2 }} {{ ge \"b\" \"a\" }}",
	  "true true false true true" },
	{ "{{ eq true true }} {{ ne true false }}",
	  "true true" },
	{ "{{ if and 1 \"\" }}t{{ else }}f{{ end }}",
	  "f" },
	{ "{{ or 0 0.0 \"\" }}",
	  "" },
	{ "{{ not \"\" }} {{ not 0.0 }} {{ not $labels }}",
	  "true true false" },
	{ "{{ reReplaceAll \"[aeiou]\" \"_\" \"education\" }}",
	  "_d_c_t__n" },
	{ "{{ reReplaceAll \"^\" \"X\" \"abc\" }}",
	  "Xabc" },
	{ "{{ reReplaceAll \"$\" \"X\" \"abc\" }}",
	  "abcX" },
	{ "{{ reReplaceAll \"b*\" \"X\" \"abc\" }}",
	  "XaXcX" },
	{ "{{ reReplaceAll \"(\\\\w+)@(\\\\w+)\" \"$2 at $1\" \"user@host\" }}",
	  "host at user" },
	{ "{{ match \"a.c\" \"xabcx\" }} {{ match \"^abc$\" \"xabcx\" }}",
	  "true false" },
	{ "{{ title \"hello_world foo-bar 3rd x.y\" }}",
	  "Hello_world Foo-Bar 3rd X.Y" },
	{ "{{ stripPort \"host:\" }} {{ stripPort \":80\" }} {{ stripPort \"[::1]\" }}",
	  "host  [::1]" },
	{ "{{ urlquery \"a/b?c=d e\" }}",
	  "a%2Fb%3Fc%3Dd+e" },
	{ "{{ 1.0 }} {{ 1e3 }} {{ .5 }} {{ 0.1 }} {{ -0 }} {{ 1_000 }}",
	  "1 1000 0.5 0.1 0 1000" },
	{ "{{ \"\\x41\\101\\u00e9\" }}",
	  "AA\xc3""\xa9""" },
	{ "{{ $externalURL }}|{{ .ExternalURL }}",
	  "|" },
	{ "{{ $labels.job }}{{/* mid */}}{{ $labels.job }}",
	  "nodenode" },
	{ "{{ if eq $labels.job \"node\" -}}   trimmed   {{- end }}",
	  "trimmed" },
	{ "a {{- /* x */ -}} b",
	  "ab" },
	{ "{{ safeHtml \"<b>\" }}",
	  "<b>" },
	{ "{{ len $externalLabels }}",
	  "1" },
	{ "{{ toLower \"\xc3""\x80""BC\" }}",
	  "\xc3""\xa0""bc" },
	{ "{{ 0x1F }} {{ 1e-3 }} {{ 0755 }}",
	  "31 0.001 493" },
	{ "{{ toUpper \"stra\xc3""\x9f""e \xc3""\xbf"" \xc2""\xb5"" \xcf""\x82"" \xc5""\xbe"" \xc4""\xb1""i\" }}",
	  "STRA\xc3""\x9f""E \xc5""\xb8"" \xce""\x9c"" \xce""\xa3"" \xc5""\xbd"" II" },
	{ "{{ toLower \"\xce""\x91""\xce""\x92""\xce""\x93"" \xd0""\x96""\xd0""\x81"" \xc5""\xb8"" \xc5""\xbd"" \xc4""\xb0""\" }}",
	  "\xce""\xb1""\xce""\xb2""\xce""\xb3"" \xd0""\xb6""\xd1""\x91"" \xc3""\xbf"" \xc5""\xbe"" i" },
	{ "{{ title \"\xc3""\xa9""lan \xc3""\xb1""u \xc3""\xbc""ber-cool\" }}",
	  "\xc3""\x89""lan \xc3""\x91""u \xc3""\x9c""ber-Cool" },
	{ "{{ printf \"%+v|%#v|%+d\" 3 \"s\" 3 }}",
	  "3|\"s\"|+3" },
};

static void test_promtool_golden2(void **state)
{
	static const struct label l[] = {
		{ "__name__", "m" }, { "instance", "h:9100" }, { "job", "node" },
	};
	static const struct label e[] = { { "cluster", "c1" } };
	struct tmpl_data d = { l, 3, e, 1, "", 2.5 };
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(golden2) / sizeof(golden2[0]); i++) {
		char err[256];
		size_t off;
		struct tmpl *t = tmpl__compile(golden2[i].t, strlen(golden2[i].t), &off,
					       err, sizeof(err));
		char *s;

		if (!t) {
			print_error("%s: compile error at %zu: %s\n", golden2[i].t, off, err);
			bad++;
			continue;
		}
		s = tmpl__expand(t, &d);
		assert_non_null(s);
		if (strcmp(s, golden2[i].want)) {
			print_error("%s:\n want [%s]\n got  [%s]\n", golden2[i].t,
				    golden2[i].want, s);
			bad++;
		}
		free(s);
		tmpl__free(t);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_humanize),
		cmocka_unit_test(test_format_float),
		cmocka_unit_test(test_render_basics),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_pipelines),
		cmocka_unit_test(test_if),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_with),
		cmocka_unit_test(test_range_vars),
		cmocka_unit_test(test_promtool_golden),
		cmocka_unit_test(test_promtool_golden2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
