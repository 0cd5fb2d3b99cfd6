// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "expo.h"

#define FFFD "\xef\xbf\xbd"

static char *escape(const char *in)
{
	struct strbuf b;
	char *out;

	strbuf__init(&b);
	expo__escape_label_value(&b, in);
	out = strbuf__steal(&b, NULL);
	assert_non_null(out);
	return out;
}

static void assert_escape(const char *in, const char *want)
{
	char *got = escape(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_escape_plain(void **state)
{
	(void)state;
	assert_escape("", "");
	assert_escape("bash", "bash");
	assert_escape("a b\tc", "a b\tc");
}

static void test_escape_specials(void **state)
{
	(void)state;
	assert_escape("\"", "\\\"");
	assert_escape("\\", "\\\\");
	assert_escape("\n", "\\n");
	assert_escape("a\"b", "a\\\"b");
	assert_escape("C:\\temp\\", "C:\\\\temp\\\\");
	assert_escape("line1\nline2\n", "line1\\nline2\\n");
	/* A value that tries to close the label and inject a sample. */
	assert_escape("x\"} 1\nevil_metric{a=\"\\",
		      "x\\\"} 1\\nevil_metric{a=\\\"\\\\");
	assert_escape("\\\"\n\\n", "\\\\\\\"\\n\\\\n");
	/* Carriage return and other controls are valid UTF-8: kept. */
	assert_escape("a\rb\x01", "a\rb\x01");
}

static void test_escape_invalid_utf8(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		/* lone continuation bytes */
		{ "\x80", FFFD },
		{ "a\xbfz", "a" FFFD "z" },
		/* bytes that never start a sequence */
		{ "\xc0\xaf", FFFD FFFD },		/* overlong '/' */
		{ "\xc1\xbf", FFFD FFFD },
		{ "\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xff", FFFD },
		{ "\xfe\xfe", FFFD FFFD },
		/* truncated sequences, at the end and before ASCII */
		{ "\xc3", FFFD },
		{ "\xe2\x82", FFFD FFFD },
		{ "\xe2\x82" "A", FFFD FFFD "A" },
		{ "\xf0\x9f\x98", FFFD FFFD FFFD },
		{ "\xf0\x9f\x98\"", FFFD FFFD FFFD "\\\"" },
		/* overlongs */
		{ "\xe0\x80\xaf", FFFD FFFD FFFD },
		{ "\xe0\x9f\xbf", FFFD FFFD FFFD },
		{ "\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD },
		{ "\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD },
		/* surrogates U+D800, U+DBFF, U+DC00, U+DFFF */
		{ "\xed\xa0\x80", FFFD FFFD FFFD },
		{ "\xed\xaf\xbf", FFFD FFFD FFFD },
		{ "\xed\xb0\x80", FFFD FFFD FFFD },
		{ "\xed\xbf\xbf", FFFD FFFD FFFD },
		/* above U+10FFFF */
		{ "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
		{ "\xf7\xbf\xbf\xbf", FFFD FFFD FFFD FFFD },
		/* a valid char directly after an invalid lead byte survives */
		{ "\xe2\xc3\xa9", FFFD "\xc3\xa9" },
		{ "ok\xc3(\\", "ok" FFFD "(\\\\" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escape(cases[i].in);

		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: got '%s' want '%s'", i, got,
				 cases[i].want);
		free(got);
	}
}

static void test_escape_valid_utf8(void **state)
{
	(void)state;
	/* boundaries of each length class, all kept byte for byte */
	assert_escape("\xc2\x80", "\xc2\x80");			/* U+0080 */
	assert_escape("caf\xc3\xa9", "caf\xc3\xa9");		/* é */
	assert_escape("\xdf\xbf", "\xdf\xbf");			/* U+07FF */
	assert_escape("\xe0\xa0\x80", "\xe0\xa0\x80");		/* U+0800 */
	assert_escape("\xe2\x82\xac", "\xe2\x82\xac");		/* € */
	assert_escape("\xed\x9f\xbf", "\xed\x9f\xbf");		/* U+D7FF */
	assert_escape("\xee\x80\x80", "\xee\x80\x80");		/* U+E000 */
	assert_escape(FFFD, FFFD);
	assert_escape("\xef\xbf\xbf", "\xef\xbf\xbf");		/* U+FFFF */
	assert_escape("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");	/* U+10000 */
	assert_escape("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");	/* 😀 */
	assert_escape("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	assert_escape("\xe6\x97\xa5\xe6\x9c\xac \"\xf0\x9f\x94\xa5\"",
		      "\xe6\x97\xa5\xe6\x9c\xac \\\"\xf0\x9f\x94\xa5\\\"");
}

static void test_family_lines(void **state)
{
	static const struct {
		enum metric_type type;
		const char *want;
	} cases[] = {
		{ METRIC_COUNTER, "# HELP m_total Help text.\n# TYPE m_total counter\n" },
		{ METRIC_GAUGE, "# HELP m_total Help text.\n# TYPE m_total gauge\n" },
		{ METRIC_HISTOGRAM, "# HELP m_total Help text.\n# TYPE m_total histogram\n" },
		{ METRIC_UNTYPED, "# HELP m_total Help text.\n# TYPE m_total untyped\n" },
	};
	struct strbuf b;

	(void)state;
	strbuf__init(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strbuf__reset(&b);
		expo__family(&b, "m_total", cases[i].type, "Help text.");
		assert_false(b.oom);
		assert_string_equal(b.buf, cases[i].want);
	}
	assert_string_equal(metric_type__name(METRIC_HISTOGRAM), "histogram");
	assert_string_equal(metric_type__name((enum metric_type)42), "untyped");

	/* no help: no HELP line */
	strbuf__reset(&b);
	expo__family(&b, "up", METRIC_GAUGE, NULL);
	assert_string_equal(b.buf, "# TYPE up gauge\n");
	strbuf__free(&b);
}

static void test_help_escaping(void **state)
{
	struct strbuf b;

	(void)state;
	strbuf__init(&b);
	expo__family(&b, "x", METRIC_GAUGE,
		     "a \"quoted\" C:\\path\nsecond line \xff");
	assert_string_equal(b.buf,
		"# HELP x a \"quoted\" C:\\\\path\\nsecond line " FFFD "\n"
		"# TYPE x gauge\n");
	strbuf__free(&b);
}

static void test_sample_lines(void **state)
{
	const struct label two[] = {
		{ "comm", "we\"ird\nname\\" },
		{ "cpu", "3" },
	};
	const struct label one[] = { { "le", "+Inf" } };
	struct strbuf b;

	(void)state;
	strbuf__init(&b);
	expo__sample(&b, "bpfwatch_up", NULL, 0, 1);
	expo__sample(&b, "bpfwatch_runq_seconds_bucket", one, 1, 12345);
	expo__sample(&b, "bpfwatch_syscalls_total", two, 2, 0.25);
	expo__sample(&b, "g", NULL, 0, -INFINITY);
	expo__sample(&b, "g", NULL, 0, NAN);
	assert_false(b.oom);
	assert_string_equal(b.buf,
		"bpfwatch_up 1\n"
		"bpfwatch_runq_seconds_bucket{le=\"+Inf\"} 12345\n"
		"bpfwatch_syscalls_total{comm=\"we\\\"ird\\nname\\\\\",cpu=\"3\"} 0.25\n"
		"g -Inf\n"
		"g NaN\n");
	assert_int_equal(b.len, strlen(b.buf));
	strbuf__free(&b);
}

static void test_format_double(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0.0, "0" },
		{ -0.0, "0" },
		{ 1.0, "1" },
		{ -1.0, "-1" },
		{ 42.0, "42" },
		{ -3.0, "-3" },
		{ 0.1, "0.1" },
		{ 0.25, "0.25" },
		{ 1e-9, "1e-09" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 9007199254740991.0, "9007199254740991" },	/* 2^53 - 1 */
		{ 9007199254740992.0, "9007199254740992" },	/* 2^53 */
		{ 9007199254740994.0, "9007199254740994" },	/* 2^53 + 2 */
		{ 1e300, "1e+300" },
		{ -1e300, "-1e+300" },
		{ 9.5367431640625e-07, "9.5367431640625e-07" },
		{ 5e-324, "4.94065645841247e-324" },	/* %.15g round-trips */
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
		{ NAN, "NaN" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = expo__format_double(buf, sizeof(buf), cases[i].v);

		if (strcmp(buf, cases[i].want))
			fail_msg("case %zu: got '%s' want '%s'", i, buf,
				 cases[i].want);
		assert_int_equal(n, strlen(cases[i].want));
		/* whatever is printed parses back to the same value */
		if (!isnan(cases[i].v) && !isinf(cases[i].v))
			assert_true(strtod(buf, NULL) == cases[i].v);
	}
}

static void test_accepts_gzip(void **state)
{
	static const struct {
		const char *hdr;
		bool want;
	} cases[] = {
		{ "gzip", true },
		{ "GZip", true },
		{ "x-gzip", true },
		{ "gzip;q=0", false },
		{ "gzip; q=0.000", false },
		{ "gzip ; Q=0", false },
		{ "gzip;q=0.001", true },
		{ "gzip;q=1.0", true },
		{ "deflate, gzip;q=0.5", true },
		{ "deflate, gzip;q=0", false },
		{ "  deflate ,\tgzip ", true },
		{ "deflate", false },
		{ "identity", false },
		{ "", false },
		{ "*", true },
		{ "*;q=0", false },
		{ "gzip;q=0, *", false },	/* explicit gzip beats * */
		{ "*, gzip;q=0", false },
		{ "*;q=0, gzip", true },
		{ "br, deflate, *;q=0.1", true },
		{ "gzipx", false },
		{ "xgzip", false },
		{ "gzip;q=2", false },		/* malformed q: ignored */
		{ "gzip;q=abc", false },
		{ "gzip;q=0.5x", false },
		{ "gzip;level=9", true },	/* unknown parameter */
		{ ",,gzip,,", true },
		{ "br;q=1, gzip;q=0.8, *;q=0.1", true },
	};

	(void)state;
	assert_false(expo__accepts_gzip(NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (expo__accepts_gzip(cases[i].hdr) != cases[i].want)
			fail_msg("case %zu '%s': want %d", i, cases[i].hdr,
				 cases[i].want);
	}
}

static void *gunzip(const void *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 16;
	unsigned char *out = malloc(cap);
	z_stream zs;
	int ret;

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		ret = inflate(&zs, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
	} while (ret != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	*outlen = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void gzip_round_trip(const void *data, size_t len)
{
	void *gz, *back;
	size_t gzlen, backlen;

	assert_int_equal(expo__gzip(data, len, &gz, &gzlen), 0);
	assert_non_null(gz);
	assert_true(gzlen >= 18);
	/* gzip magic, deflate method */
	assert_int_equal(((unsigned char *)gz)[0], 0x1f);
	assert_int_equal(((unsigned char *)gz)[1], 0x8b);
	assert_int_equal(((unsigned char *)gz)[2], 8);
	back = gunzip(gz, gzlen, &backlen);
	assert_int_equal(backlen, len);
	if (len)
		assert_memory_equal(back, data, len);
	free(back);
	free(gz);
}

static void test_gzip_round_trip(void **state)
{
	struct strbuf b;
	unsigned char *noise;
	uint32_t x = 2463534242u;
	size_t nlen = 300000;

	(void)state;
	gzip_round_trip("", 0);
	gzip_round_trip("a", 1);

	strbuf__init(&b);
	for (int i = 0; i < 20000; i++)
		strbuf__printf(&b, "bpfwatch_syscalls_total{comm=\"proc%d\"} %d\n",
			       i % 97, i);
	assert_false(b.oom);
	gzip_round_trip(b.buf, b.len);
	strbuf__free(&b);

	/* incompressible input: the output must still fit */
	noise = malloc(nlen);
	assert_non_null(noise);
	for (size_t i = 0; i < nlen; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		noise[i] = (unsigned char)x;
	}
	gzip_round_trip(noise, nlen);
	free(noise);
}

static void test_strbuf_growth(void **state)
{
	struct strbuf b;
	char *big, *out;
	size_t len, biglen = 100000;

	(void)state;
	strbuf__init(&b);
	for (int i = 0; i < 10000; i++)
		strbuf__append(&b, "0123456789", 10);
	assert_false(b.oom);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	for (size_t i = 0; i < b.len; i++) {
		if (b.buf[i] != (char)('0' + i % 10))
			fail_msg("byte %zu is '%c'", i, b.buf[i]);
	}
	assert_int_equal(b.buf[b.len], '\0');

	/* printf longer than the free space, repeatedly */
	big = malloc(biglen + 1);
	assert_non_null(big);
	memset(big, 'x', biglen);
	big[biglen] = '\0';
	strbuf__reset(&b);
	assert_int_equal(b.len, 0);
	strbuf__puts(&b, "head:");
	for (int i = 0; i < 3; i++)
		strbuf__printf(&b, "[%s|%d]", big, i);
	assert_false(b.oom);
	assert_int_equal(b.len, 5 + 3 * (biglen + 4));
	assert_memory_equal(b.buf, "head:[x", 7);
	assert_memory_equal(b.buf + 5 + biglen + 1, "|0][x", 5);
	assert_string_equal(b.buf + b.len - 4, "x|2]");
	assert_int_equal(strlen(b.buf), b.len);

	out = strbuf__steal(&b, &len);
	assert_non_null(out);
	assert_int_equal(len, 5 + 3 * (biglen + 4));
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	free(out);
	free(big);

	/* printf into a fresh buffer, then steal an empty one */
	strbuf__printf(&b, "%s=%d", "n", 7);
	assert_string_equal(b.buf, "n=7");
	strbuf__reset(&b);
	out = strbuf__steal(&b, &len);
	assert_non_null(out);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
	free(out);
	strbuf__free(&b);
	strbuf__free(NULL);
}

static void test_strbuf_oom_is_sticky(void **state)
{
	struct strbuf b;
	size_t len = 123;

	(void)state;
	strbuf__init(&b);
	strbuf__puts(&b, "abc");
	/* a size that overflows puts the buffer in the oom state */
	strbuf__append(&b, "x", SIZE_MAX);
	assert_true(b.oom);
	strbuf__puts(&b, "def");
	assert_int_equal(b.len, 3);
	assert_null(strbuf__steal(&b, &len));
	assert_int_equal(len, 0);
	assert_false(b.oom);
	strbuf__puts(&b, "ok");
	assert_string_equal(b.buf, "ok");
	strbuf__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_valid_utf8),
		cmocka_unit_test(test_family_lines),
		cmocka_unit_test(test_help_escaping),
		cmocka_unit_test(test_sample_lines),
		cmocka_unit_test(test_format_double),
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_strbuf_growth),
		cmocka_unit_test(test_strbuf_oom_is_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
