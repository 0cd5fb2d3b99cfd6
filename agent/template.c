// SPDX-License-Identifier: GPL-2.0
/*
 * Alert template engine: a Go text/template subset (see template.h).
 *
 * Compilation parses the source once into a tree of nodes (text, print,
 * if) whose pipelines refer to functions by table entry and to data by a
 * resolved source (labels map, external labels, URL, value), so rendering
 * never looks a name up and never meets an unknown construct: everything
 * the renderer cannot do was refused at compile time, with its offset.
 *
 * Rendering evaluates pipelines into typed values (Go's kinds: int,
 * float64, string, bool, map[string]string, nil) held in a per-render
 * arena, freed in one go at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regexcost.h"
#include "template.h"

/* --- compiled form ------------------------------------------------------ */

enum src {
	SRC_ROOT = 0,		/* $ or . : the data struct */
	SRC_LABELS,		/* $labels, .Labels */
	SRC_EXT_LABELS,		/* $externalLabels, .ExternalLabels */
	SRC_EXT_URL,		/* $externalURL, .ExternalURL */
	SRC_VALUE,		/* $value, .Value */
	SRC_DOT,		/* . inside {{with}} and {{range}} */
	SRC_VAR,		/* a variable declared in the template */
};

enum arg_type {
	ARG_FUNC = 0,		/* a function: called, with the other args */
	ARG_DATA,		/* a source, optionally one map key */
	ARG_STRING,
	ARG_INT,
	ARG_FLOAT,
	ARG_BOOL,
	ARG_NIL,
	ARG_PIPE,		/* ( pipeline ) */
};

struct pipe;
struct func;

struct arg {
	enum arg_type type;
	size_t off;
	const struct func *fn;
	enum src src;
	int var;		/* SRC_VAR: its slot */
	char *key;		/* ARG_DATA on a map: the label name */
	char *str;		/* ARG_STRING */
	size_t slen;
	long long i;
	double f;
	bool b;
	struct pipe *pipe;
};

struct cmd {
	struct arg *args;
	size_t nargs;
	size_t off;
};

struct pipe {
	struct cmd *cmds;
	size_t ncmds;
	size_t off;
};

enum node_type {
	NODE_TEXT = 0,
	NODE_PRINT,
	NODE_IF,
	NODE_WITH,
	NODE_RANGE,
	NODE_SET,		/* {{ $x := pipeline }} or {{ $x = pipeline }} */
};

struct node {
	enum node_type type;
	struct node *next;
	size_t off;
	char *text;		/* NODE_TEXT */
	size_t len;
	struct pipe *pipe;	/* NODE_PRINT, condition of NODE_IF/WITH */
	struct node *then;	/* NODE_IF, NODE_WITH, NODE_RANGE */
	struct node *els;
	int var1, var2;		/* NODE_SET: var1; NODE_RANGE: element var1,
				 * key var2 (-1: none) */
};

struct tmpl {
	struct node *list;
	bool constant;
};

/* --- values ------------------------------------------------------------- */

enum vkind {
	V_NIL = 0,
	V_BOOL,
	V_INT,
	V_FLOAT,
	V_STRING,
	V_MAP,
};

struct val {
	enum vkind k;
	bool b;
	long long i;
	double f;
	const char *s;
	size_t len;
	const struct label *m;
	size_t mn;
};

struct chunk {
	struct chunk *next;
	char data[];
};

struct rctx {
	const struct tmpl_data *d;
	struct val dot;			/* inside {{with}}, {{range}} */
	struct val vars[TMPL_MAX_VARS];
	uint64_t steps;			/* nodes executed, bounded */
	struct strbuf *out;
	struct chunk *arena;
	char *err;
	size_t errlen;
	bool failed;
	bool oom;
};

struct func {
	const char *name;
	int min, max;		/* argument count; max -1 = variadic */
	int (*call)(struct rctx *r, struct val *a, size_t n, struct val *out);
};

/* --- small helpers ------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

static void rerror(struct rctx *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the first execution error; later ones are consequences. */
static void rerror(struct rctx *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	if (!r->err || !r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

static char *ralloc(struct rctx *r, size_t n)
{
	struct chunk *c = malloc(sizeof(*c) + n + 1);

	if (!c) {
		r->oom = true;
		rerror(r, "out of memory");
		return NULL;
	}
	c->next = r->arena;
	r->arena = c;
	c->data[n] = '\0';
	return c->data;
}

/* A string value holding a copy of @s. */
static int vstr(struct rctx *r, struct val *v, const char *s, size_t len)
{
	char *p = ralloc(r, len);

	if (!p)
		return -1;
	memcpy(p, s, len);
	memset(v, 0, sizeof(*v));
	v->k = V_STRING;
	v->s = p;
	v->len = len;
	return 0;
}

/* A string value taking the contents of @b (which is reset). */
static int vstr_buf(struct rctx *r, struct val *v, struct strbuf *b)
{
	int ret;

	if (b->oom) {
		strbuf__free(b);
		r->oom = true;
		rerror(r, "out of memory");
		return -1;
	}
	ret = vstr(r, v, b->buf ? b->buf : "", b->len);
	strbuf__free(b);
	return ret;
}

static const char *vtype(const struct val *v)
{
	switch (v->k) {
	case V_BOOL:
		return "bool";
	case V_INT:
		return "int";
	case V_FLOAT:
		return "float64";
	case V_STRING:
		return "string";
	case V_MAP:
		return "map[string]string";
	default:
		return "<nil>";
	}
}

/* --- number formatting (Go's strconv / fmt) ------------------------------ */

/*
 * The shortest decimal that reads back as @v: the number of significant
 * digits and the decimal exponent, as strconv's shortest mode finds them.
 */
static int shortest_digits(double v, int *exp10)
{
	char buf[64];
	int p;

	for (p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
	*exp10 = atoi(strchr(buf, 'e') + 1);
	return p;
}

void tmpl__format_float(char *buf, size_t len, double v, char verb, int prec)
{
	int nd, exp10;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (prec >= 0) {
		char fmt[8] = { '%', '.', '*', verb, '\0' };

		snprintf(buf, len, fmt, prec, v);
		return;
	}
	if (v == 0) {
		snprintf(buf, len, signbit(v) ? "-0" : "0");
		return;
	}
	nd = shortest_digits(v, &exp10);
	switch (verb) {
	case 'e':
		snprintf(buf, len, "%.*e", nd - 1, v);
		return;
	case 'f':
		snprintf(buf, len, "%.*f", nd - 1 - exp10 > 0 ? nd - 1 - exp10 : 0, v);
		return;
	default:
		/* strconv 'g', shortest: %e when exp < -4 || exp >= 6 */
		if (exp10 < -4 || exp10 >= 6)
			snprintf(buf, len, "%.*e", nd - 1, v);
		else
			snprintf(buf, len, "%.*f", nd - 1 - exp10 > 0 ? nd - 1 - exp10 : 0, v);
	}
}

/* fmt.Sprintf("%.4g", v) */
static int go_g4(char *out, size_t len, double v)
{
	tmpl__format_float(out, len, v, 'g', 4);
	return (int)strlen(out);
}

void tmpl__humanize(char *out, size_t len, double v)
{
	static const char *const big[] = { "k", "M", "G", "T", "P", "E", "Z", "Y" };
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";
	size_t i;
	int n;

	if (v == 0 || isnan(v) || isinf(v)) {
		go_g4(out, len, v);
		return;
	}
	if (fabs(v) >= 1) {
		for (i = 0; i < 8 && fabs(v) >= 1000; i++) {
			prefix = big[i];
			v /= 1000;
		}
	} else {
		for (i = 0; i < 8 && fabs(v) < 1; i++) {
			prefix = small[i];
			v *= 1000;
		}
	}
	n = go_g4(out, len, v);
	if ((size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%s", prefix);
}

void tmpl__humanize1024(char *out, size_t len, double v)
{
	static const char *const big[] = { "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi" };
	const char *prefix = "";
	size_t i;
	int n;

	if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
		go_g4(out, len, v);
		return;
	}
	for (i = 0; i < 8 && fabs(v) >= 1024; i++) {
		prefix = big[i];
		v /= 1024;
	}
	n = go_g4(out, len, v);
	if ((size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%s", prefix);
}

void tmpl__humanize_duration(char *out, size_t len, double v)
{
	static const char *const small[] = { "m", "u", "n", "p", "f", "a", "z", "y" };
	const char *prefix = "";
	char num[64];
	size_t i;

	if (isnan(v) || isinf(v)) {
		go_g4(out, len, v);
		return;
	}
	if (v == 0) {
		go_g4(num, sizeof(num), v);
		snprintf(out, len, "%ss", num);
		return;
	}
	if (fabs(v) >= 1) {
		const char *sign = "";
		long long d, s, m, h, days;

		if (v < 0) {
			sign = "-";
			v = -v;
		}
		/* Go's int64(v) of a too large float is INT64_MIN on amd64,
		 * which Prometheus then prints as a negative duration */
		d = v >= 9.223372036854775807e18 ? INT64_MIN : (long long)v;
		s = d % 60;
		m = (d / 60) % 60;
		h = (d / 3600) % 24;
		days = d / 86400;
		if (days)
			snprintf(out, len, "%s%lldd %lldh %lldm %llds", sign, days, h, m, s);
		else if (h)
			snprintf(out, len, "%s%lldh %lldm %llds", sign, h, m, s);
		else if (m)
			snprintf(out, len, "%s%lldm %llds", sign, m, s);
		else {
			go_g4(num, sizeof(num), v);
			snprintf(out, len, "%s%ss", sign, num);
		}
		return;
	}
	for (i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	go_g4(num, sizeof(num), v);
	snprintf(out, len, "%s%ss", num, prefix);
}

void tmpl__humanize_percentage(char *out, size_t len, double v)
{
	char num[64];

	go_g4(num, sizeof(num), v * 100);
	snprintf(out, len, "%s%%", num);
}

/* --- printing values (fmt's %v) ----------------------------------------- */

static int label_cmp(const void *a, const void *b)
{
	const struct label *x = *(const struct label *const *)a;
	const struct label *y = *(const struct label *const *)b;

	return strcmp(x->name, y->name);
}

/* Go prints maps with their keys sorted: map[a:1 b:2]. */
static void print_map(struct strbuf *b, const struct label *m, size_t n)
{
	const struct label **sorted;
	size_t i;

	strbuf__puts(b, "map[");
	sorted = n ? calloc(n, sizeof(*sorted)) : NULL;
	if (n && !sorted) {
		b->oom = true;
		return;
	}
	for (i = 0; i < n; i++)
		sorted[i] = &m[i];
	if (n)
		qsort(sorted, n, sizeof(*sorted), label_cmp);
	for (i = 0; i < n; i++)
		strbuf__printf(b, "%s%s:%s", i ? " " : "", sorted[i]->name,
			       sorted[i]->value ? sorted[i]->value : "");
	free(sorted);
	strbuf__puts(b, "]");
}

static void print_val(struct strbuf *b, const struct val *v)
{
	char num[64];

	switch (v->k) {
	case V_NIL:
		strbuf__puts(b, "<no value>");
		break;
	case V_BOOL:
		strbuf__puts(b, v->b ? "true" : "false");
		break;
	case V_INT:
		strbuf__printf(b, "%lld", v->i);
		break;
	case V_FLOAT:
		tmpl__format_float(num, sizeof(num), v->f, 'g', -1);
		strbuf__puts(b, num);
		break;
	case V_STRING:
		strbuf__append(b, v->s, v->len);
		break;
	case V_MAP:
		print_map(b, v->m, v->mn);
		break;
	}
}

static bool truth(const struct val *v)
{
	switch (v->k) {
	case V_BOOL:
		return v->b;
	case V_INT:
		return v->i != 0;
	case V_FLOAT:
		return v->f != 0;
	case V_STRING:
		return v->len != 0;
	case V_MAP:
		return v->mn != 0;
	default:
		return false;
	}
}

/* --- functions ---------------------------------------------------------- */

/* strconv.ParseFloat: no leading/trailing space, all of the text used. */
static int to_float(struct rctx *r, const struct val *v, double *out)
{
	char *end;

	switch (v->k) {
	case V_FLOAT:
		*out = v->f;
		return 0;
	case V_INT:
		*out = (double)v->i;
		return 0;
	case V_STRING:
		if (v->len && !is_space(v->s[0]) && strlen(v->s) == v->len) {
			errno = 0;
			*out = strtod(v->s, &end);
			if (!*end && (errno != ERANGE || isinf(*out)))
				return 0;
		}
		rerror(r, "strconv.ParseFloat: parsing \"%.*s\": invalid syntax",
		       (int)(v->len > 64 ? 64 : v->len), v->s);
		return -1;
	default:
		rerror(r, "can't convert %s to float", vtype(v));
		return -1;
	}
}

static int want_string(struct rctx *r, const char *fn, const struct val *v)
{
	if (v->k == V_STRING)
		return 0;
	rerror(r, "error calling %s: wrong type for value; expected string; got %s",
	       fn, vtype(v));
	return -1;
}

static int fn_humanize_any(struct rctx *r, struct val *a, struct val *out,
			   void (*h)(char *, size_t, double))
{
	char buf[128];
	double v;

	if (to_float(r, &a[0], &v))
		return -1;
	h(buf, sizeof(buf), v);
	return vstr(r, out, buf, strlen(buf));
}

static int fn_humanize(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_humanize_any(r, a, out, tmpl__humanize);
}

static int fn_humanize1024(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_humanize_any(r, a, out, tmpl__humanize1024);
}

static int fn_humanize_duration(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_humanize_any(r, a, out, tmpl__humanize_duration);
}

static int fn_humanize_percentage(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_humanize_any(r, a, out, tmpl__humanize_percentage);
}

/*
 * Prometheus: the float is seconds, truncated to milliseconds
 * (model.TimeFromUnixNano), printed as Go's time.Time.String() in UTC:
 * "2006-01-02 15:04:05.999999999 +0000 UTC".
 */
static int fn_humanize_timestamp(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	char buf[128], frac[16];
	long long ms, sec, rem;
	struct tm tm;
	double v, ns;
	time_t t;
	int len;

	(void)n;
	if (to_float(r, &a[0], &v))
		return -1;
	if (isnan(v) || isinf(v)) {
		go_g4(buf, sizeof(buf), v);
		return vstr(r, out, buf, strlen(buf));
	}
	ns = v * 1e9;
	if (ns >= 9.223372036854775807e18 || ns < -9.223372036854775808e18) {
		tmpl__format_float(buf, sizeof(buf), v, 'g', -1);
		rerror(r, "%s cannot be represented as a nanoseconds timestamp since it overflows int64",
		       buf);
		return -1;
	}
	ms = (long long)ns / 1000000;
	sec = ms / 1000;
	rem = ms % 1000;
	if (rem < 0) {
		rem += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		rerror(r, "timestamp %lld out of range", sec);
		return -1;
	}
	frac[0] = '\0';
	if (rem) {
		snprintf(frac, sizeof(frac), ".%03lld", rem);
		len = (int)strlen(frac);
		while (frac[len - 1] == '0')
			frac[--len] = '\0';
	}
	len = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d%s +0000 UTC",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		       tm.tm_min, tm.tm_sec, frac);
	return vstr(r, out, buf, (size_t)len);
}

/*
 * Simple case mapping (unicode.ToUpper/ToLower) for ASCII, Latin-1,
 * Latin Extended-A, Greek and Cyrillic: every pair there has the same
 * UTF-8 length, so strings are mapped in place.  Other characters are
 * left as they are.
 */
static uint32_t case_map(uint32_t c, bool upper)
{
	bool pair_even = (c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) ||
			 (c >= 0x14a && c <= 0x177);
	bool pair_odd = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);

	if (upper) {
		if (c >= 'a' && c <= 'z')
			return c - 32;
		if (c == 0xb5)
			return 0x39c;
		if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
			return c - 0x20;
		if (c == 0xff)
			return 0x178;
		if ((pair_even && (c & 1)) || (pair_odd && !(c & 1)))
			return c - 1;
		if (c == 0x3c2)
			return 0x3a3;
		if (c >= 0x3b1 && c <= 0x3c9)
			return c - 0x20;
		if (c >= 0x430 && c <= 0x44f)
			return c - 0x20;
		if (c >= 0x450 && c <= 0x45f)
			return c - 0x50;
		return c;
	}
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if (c == 0x178)
		return 0xff;
	if ((pair_even && !(c & 1)) || (pair_odd && (c & 1)))
		return c + 1;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	return c;
}

/* Append code point @c as UTF-8 (@c < 0x800 here). */
static void put_cp(struct strbuf *b, uint32_t c)
{
	char u[2];

	if (c < 0x80) {
		u[0] = (char)c;
		strbuf__append(b, u, 1);
		return;
	}
	u[0] = (char)(0xc0 | c >> 6);
	u[1] = (char)(0x80 | (c & 0x3f));
	strbuf__append(b, u, 2);
}

/* mode 0: toUpper, 1: toLower, 2: title (strings.Title) */
static int fn_case(struct rctx *r, const char *name, struct val *a, struct val *out,
		   int mode)
{
	const unsigned char *p = (const unsigned char *)a[0].s;
	size_t i, len = a[0].len;
	bool word = false;
	struct strbuf b;

	if (want_string(r, name, &a[0]))
		return -1;
	strbuf__init(&b);
	for (i = 0; i < len;) {
		uint32_t c = p[i], m;
		bool letter;

		if (c >= 0xc2 && c <= 0xdf && i + 1 < len && (p[i + 1] & 0xc0) == 0x80) {
			c = (c & 0x1f) << 6 | (p[i + 1] & 0x3f);
			i += 2;
		} else if (c >= 0x80) {
			/* longer or invalid sequences: kept, and count as letters */
			size_t st = i++;

			while (i < len && (p[i] & 0xc0) == 0x80)
				i++;
			strbuf__append(&b, (const char *)p + st, i - st);
			word = true;
			continue;
		} else {
			i++;
		}
		/* strings.Title: the first letter after a separator */
		letter = c >= 0x80 || is_alnum((char)c);
		if (mode == 1)
			m = c == 0x130 ? 'i' : case_map(c, false);
		else if (mode == 0 || !word)
			m = c == 0x131 ? 'I' : c == 0x17f ? 'S' : case_map(c, true);
		else
			m = c;
		if (mode == 2)
			word = letter;
		put_cp(&b, m);
	}
	return vstr_buf(r, out, &b);
}

static int fn_to_upper(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_case(r, "toUpper", a, out, 0);
}

static int fn_to_lower(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_case(r, "toLower", a, out, 1);
}

static int fn_title(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	return fn_case(r, "title", a, out, 2);
}

static int fn_safe_html(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	if (want_string(r, "safeHtml", &a[0]))
		return -1;
	*out = a[0];
	return 0;
}

#define REGEX_MAX_COST		8192
#define REGEX_MAX_DEPTH		32

/*
 * glibc's regcomp copies a sub-expression once per count of a bounded
 * repetition (X{n,m} m times, X+ as XX*), so nested repetitions multiply
 * and "a++++...+" doubles per '+'.  Estimate the expanded size and refuse
 * patterns past REGEX_MAX_COST (the same estimate config.c uses for comm
 * regexes).
 */
static bool regex_too_costly(const char *re)
{
	return regex_cost__exceeds(re, REGEX_MAX_COST);
}

static bool is_quantifier(const char *s)
{
	return *s == '*' || *s == '+' || *s == '?' ||
	       (*s == '{' && ((s[1] >= '0' && s[1] <= '9') || s[1] == ','));
}

/* Past a quantifier at @s (a "{n,m}" bound included). */
static const char *skip_quantifier(const char *s)
{
	if (*s != '{')
		return s + 1;
	while (*s && *s != '}')
		s++;
	return *s ? s + 1 : s;
}

/*
 * Refuse what glibc's regcomp cannot compile in reasonable time, or would
 * silently read differently from Go's RE2:
 *  - a repeated group that can match the empty string ("(.*)+",
 *    "((a*|b*)+){8}"): glibc's epsilon closures explode (seconds to
 *    minutes for a 20-byte pattern, found by fuzzing);
 *  - a quantifier on a quantifier ("a**", "a+?"): RE2 refuses the first
 *    and reads the second as lazy, which POSIX cannot do;
 *  - \d and \D, which POSIX reads as the letters d and D.
 * Returns NULL or the reason.
 */
static const char *regex_unsupported(const char *re)
{
	bool nullable[REGEX_MAX_DEPTH + 2] = { false };
	unsigned int depth = 0;
	const char *s, *b;

	for (s = re; *s; s++) {
		switch (*s) {
		case '\\':
			if (s[1] == 'd' || s[1] == 'D')
				return "\\d and \\D are not supported (POSIX regex): use [0-9]";
			if (s[1])
				s++;
			continue;
		case '[':
			b = s + 1;
			if (*b == '^')
				b++;
			if (*b == ']')
				b++;
			while (*b && *b != ']') {
				char c = b[1];

				if (*b == '[' && (c == ':' || c == '.' || c == '=')) {
					for (b += 2; *b && !(b[0] == c && b[1] == ']'); b++)
						;
					if (!*b)
						break;
					b++;
				}
				b++;
			}
			s = *b ? b : b - 1;
			break;
		case '(':
			if (depth > REGEX_MAX_DEPTH)
				return "sub-expressions nested too deeply";
			nullable[++depth] = s[1] == ')' || s[1] == '|';
			continue;
		case '|':
			if (s[1] == '|' || s[1] == ')' || !s[1] || s == re || s[-1] == '(')
				nullable[depth] = true;		/* an empty branch */
			continue;
		case ')':
			if (!depth)
				break;
			depth--;
			if (is_quantifier(s + 1) && nullable[depth + 1])
				return "a repeated group that can match the empty string is "
				       "too costly to compile";
			nullable[depth] |= nullable[depth + 1];
			break;
		default:
			if (is_quantifier(s)) {
				const char *next = skip_quantifier(s);

				bool zero = *s == '{' && (s[1] == ',' ||
					    (s[1] == '0' && !(s[2] >= '0' && s[2] <= '9')));

				if (*s == '*' || *s == '?' || zero)
					nullable[depth] = true;
				if (*next == '?')
					return "lazy quantifiers are not supported (POSIX regex)";
				if (is_quantifier(next))
					return "invalid nested repetition operator";
				s = next - 1;
				continue;
			}
		}
	}
	return NULL;
}

/* Why @pat cannot be a regex (into @why), or NULL if it compiles. */
static const char *regex_check(const char *pat, size_t len, char *why, size_t whylen)
{
	regex_t re;
	int ret;

	if (strlen(pat) != len)
		return "NUL byte in pattern";
	if (regex_unsupported(pat))
		return regex_unsupported(pat);
	if (regex_too_costly(pat)) {
		snprintf(why, whylen, "too large once repetitions are expanded (limit %d)",
			 REGEX_MAX_COST);
		return why;
	}
	ret = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
	if (ret) {
		regerror(ret, &re, why, whylen);
		return why;
	}
	regfree(&re);
	return NULL;
}

static int re_compile(struct rctx *r, regex_t *re, const struct val *pat, int flags)
{
	char why[128];
	int ret;

	if (strlen(pat->s) != pat->len) {
		rerror(r, "error parsing regexp: NUL byte in pattern");
		return -1;
	}
	if (regex_unsupported(pat->s)) {
		rerror(r, "error parsing regexp: %s", regex_unsupported(pat->s));
		return -1;
	}
	if (regex_too_costly(pat->s)) {
		rerror(r, "error parsing regexp: too large once repetitions are expanded");
		return -1;
	}
	ret = regcomp(re, pat->s, REG_EXTENDED | flags);
	if (ret) {
		regerror(ret, re, why, sizeof(why));
		rerror(r, "error parsing regexp: %s: `%.64s`", why, pat->s);
		return -1;
	}
	return 0;
}

static int fn_match(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	regex_t re;

	(void)n;
	if (want_string(r, "match", &a[0]) || want_string(r, "match", &a[1]))
		return -1;
	if (re_compile(r, &re, &a[0], REG_NOSUB))
		return -1;
	memset(out, 0, sizeof(*out));
	out->k = V_BOOL;
	out->b = regexec(&re, a[1].s, 0, NULL, 0) == 0;
	regfree(&re);
	return 0;
}

/*
 * Go's Regexp.Expand: $1 / ${1} is a group, $$ a dollar; a name is as long
 * as possible ($1x is the group named "1x", which POSIX regexes never have,
 * so it is empty).
 */
static void expand_repl(struct strbuf *b, const char *repl, const char *text,
			const regmatch_t *m, size_t nm)
{
	const char *p = repl;

	while (*p) {
		const char *name, *end;
		bool braces = false;
		char *stop;
		unsigned long g;

		if (*p != '$') {
			strbuf__append(b, p++, 1);
			continue;
		}
		if (p[1] == '$') {
			strbuf__append(b, "$", 1);
			p += 2;
			continue;
		}
		name = p + 1;
		if (*name == '{') {
			braces = true;
			name++;
		}
		for (end = name; is_alnum(*end) && (unsigned char)*end < 0x80; end++)
			;
		if (end == name || (braces && *end != '}')) {
			/* not a reference: Go keeps the '$' as is */
			strbuf__append(b, p++, 1);
			continue;
		}
		g = strtoul(name, &stop, 10);
		if (stop == end && g < nm && m[g].rm_so >= 0)
			strbuf__append(b, text + m[g].rm_so,
				       (size_t)(m[g].rm_eo - m[g].rm_so));
		p = end + (braces ? 1 : 0);
	}
}

static int fn_re_replace_all(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	regmatch_t m[10];
	struct strbuf b;
	const char *text;
	size_t pos = 0, len, last_end = (size_t)-1;
	regex_t re;

	(void)n;
	for (int i = 0; i < 3; i++)
		if (want_string(r, "reReplaceAll", &a[i]))
			return -1;
	if (re_compile(r, &re, &a[0], 0))
		return -1;
	strbuf__init(&b);
	text = a[2].s;
	len = strlen(text);
	while (pos <= len) {
		size_t so, eo;

		if (b.len > TMPL_MAX_OUTPUT) {
			/* "" replaced by a long string, nested: stop growing */
			strbuf__free(&b);
			regfree(&re);
			rerror(r, "reReplaceAll: result larger than %d bytes", TMPL_MAX_OUTPUT);
			return -1;
		}

		if (regexec(&re, text + pos, 10, m, pos ? REG_NOTBOL : 0))
			break;
		so = pos + (size_t)m[0].rm_so;
		eo = pos + (size_t)m[0].rm_eo;
		/* an empty match right after the previous match is skipped */
		if (so == eo && so == last_end) {
			if (pos >= len)
				break;
			strbuf__append(&b, text + pos, 1);
			pos++;
			continue;
		}
		strbuf__append(&b, text + pos, so - pos);
		for (int i = 0; i < 10; i++) {
			if (m[i].rm_so >= 0) {
				m[i].rm_so += (regoff_t)pos;
				m[i].rm_eo += (regoff_t)pos;
			}
		}
		expand_repl(&b, a[1].s, text, m, 10);
		last_end = eo;
		if (eo == so) {
			if (so < len)
				strbuf__append(&b, text + so, 1);
			pos = so + 1;
		} else {
			pos = eo;
		}
	}
	if (pos < len)
		strbuf__append(&b, text + pos, len - pos);
	regfree(&re);
	return vstr_buf(r, out, &b);
}

/*
 * net.SplitHostPort: "host:port", "[v6]:port".  Returns false (input
 * unusable) like Go's error cases.
 */
static bool split_host_port(const char *s, size_t len, size_t *hs, size_t *hl,
			    size_t *ps)
{
	const char *colon = NULL;
	size_t i;

	for (i = len; i-- > 0;)
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	if (!colon)
		return false;		/* missing port */
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close || close + 1 != colon)
			return false;
		*hs = 1;
		*hl = (size_t)(close - s - 1);
		if (memchr(s + 1, '[', *hl) || memchr(s + 1, ']', *hl))
			return false;
	} else {
		*hs = 0;
		*hl = (size_t)(colon - s);
		if (memchr(s, ':', *hl) || memchr(s, '[', *hl) || memchr(s, ']', *hl))
			return false;	/* too many colons */
	}
	if (memchr(colon + 1, '[', len - (size_t)(colon + 1 - s)) ||
	    memchr(colon + 1, ']', len - (size_t)(colon + 1 - s)))
		return false;
	*ps = (size_t)(colon + 1 - s);
	return true;
}

static int fn_strip_port(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	size_t hs, hl, ps;

	(void)n;
	if (want_string(r, "stripPort", &a[0]))
		return -1;
	if (!split_host_port(a[0].s, a[0].len, &hs, &hl, &ps)) {
		*out = a[0];
		return 0;
	}
	return vstr(r, out, a[0].s + hs, hl);
}

/* An IPv4 or IPv6 literal, as net.ParseIP would accept it (roughly). */
static bool looks_like_ip(const char *s, size_t len)
{
	size_t i, dots = 0;
	bool hex_colon = false;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == ':')
			hex_colon = true;
		else if (s[i] == '.')
			dots++;
		else if (!((s[i] >= '0' && s[i] <= '9') ||
			   (hex_colon && ((s[i] >= 'a' && s[i] <= 'f') ||
					  (s[i] >= 'A' && s[i] <= 'F')))))
			return false;
	}
	return hex_colon || dots == 3;
}

static int fn_strip_domain(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	size_t hs = 0, hl = a[0].len, ps = 0, cut;
	struct strbuf b;
	bool port;
	const char *dot;

	(void)n;
	if (want_string(r, "stripDomain", &a[0]))
		return -1;
	port = split_host_port(a[0].s, a[0].len, &hs, &hl, &ps);
	if (!port) {
		hs = 0;
		hl = a[0].len;
	}
	if (looks_like_ip(a[0].s + hs, hl)) {
		*out = a[0];
		return 0;
	}
	dot = memchr(a[0].s + hs, '.', hl);
	cut = dot ? (size_t)(dot - (a[0].s + hs)) : hl;
	if (!port)
		return vstr(r, out, a[0].s + hs, cut);
	strbuf__init(&b);
	strbuf__append(&b, a[0].s + hs, cut);
	strbuf__puts(&b, ":");
	strbuf__append(&b, a[0].s + ps, a[0].len - ps);
	return vstr_buf(r, out, &b);
}

static int fn_not(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)r;
	(void)n;
	memset(out, 0, sizeof(*out));
	out->k = V_BOOL;
	out->b = !truth(&a[0]);
	return 0;
}

static int fn_len(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	(void)n;
	memset(out, 0, sizeof(*out));
	out->k = V_INT;
	if (a[0].k == V_STRING)
		out->i = (long long)a[0].len;
	else if (a[0].k == V_MAP)
		out->i = (long long)a[0].mn;
	else {
		rerror(r, "error calling len: len of type %s", vtype(&a[0]));
		return -1;
	}
	return 0;
}

/* index MAP KEY: the value, "" for a missing key (Go's zero value). */
static int fn_index(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	size_t i;

	if (n == 1) {
		*out = a[0];
		return 0;
	}
	if (a[0].k != V_MAP) {
		rerror(r, "error calling index: can't index item of type %s", vtype(&a[0]));
		return -1;
	}
	if (n > 2) {
		rerror(r, "error calling index: can't index item of type string");
		return -1;
	}
	if (a[1].k != V_STRING) {
		rerror(r, "error calling index: value has type %s; should be string",
		       vtype(&a[1]));
		return -1;
	}
	for (i = 0; i < a[0].mn; i++) {
		const struct label *l = &a[0].m[i];

		if (strlen(l->name) == a[1].len && !memcmp(l->name, a[1].s, a[1].len))
			return vstr(r, out, l->value ? l->value : "",
				    l->value ? strlen(l->value) : 0);
	}
	return vstr(r, out, "", 0);
}

enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

/* Three-way compare of two values of one basic kind, as Go's lt/eq do. */
static int compare(struct rctx *r, const char *fn, const struct val *x,
		   const struct val *y, bool ordered, int *res)
{
	if (x->k == V_NIL || y->k == V_NIL || x->k == V_MAP || y->k == V_MAP ||
	    (ordered && (x->k == V_BOOL || y->k == V_BOOL))) {
		rerror(r, "error calling %s: invalid type for comparison", fn);
		return -1;
	}
	if (x->k != y->k) {
		rerror(r, "error calling %s: incompatible types for comparison", fn);
		return -1;
	}
	switch (x->k) {
	case V_BOOL:
		*res = x->b == y->b ? 0 : 1;
		break;
	case V_INT:
		*res = x->i < y->i ? -1 : x->i > y->i;
		break;
	case V_FLOAT:
		/* NaN: neither less nor equal nor greater */
		*res = x->f < y->f ? -1 : x->f > y->f ? 1 : x->f == y->f ? 0 : 2;
		break;
	default: {
		size_t l = x->len < y->len ? x->len : y->len;
		int c = memcmp(x->s, y->s, l);

		*res = c < 0 ? -1 : c > 0 ? 1 : x->len < y->len ? -1 : x->len > y->len;
	}
	}
	return 0;
}

static int fn_cmp(struct rctx *r, const char *name, enum cmp_op op, struct val *a,
		  size_t n, struct val *out)
{
	bool b = false;
	size_t i;
	int c;

	memset(out, 0, sizeof(*out));
	out->k = V_BOOL;
	if (op == CMP_EQ) {
		/* eq a b c...: a equals any of the others */
		for (i = 1; i < n; i++) {
			if (compare(r, name, &a[0], &a[i], false, &c))
				return -1;
			if (c == 0) {
				b = true;
				break;
			}
		}
		out->b = b;
		return 0;
	}
	if (compare(r, name, &a[0], &a[1], op != CMP_NE, &c))
		return -1;
	switch (op) {
	case CMP_NE:
		out->b = c != 0;
		break;
	case CMP_LT:
		out->b = c == -1;
		break;
	case CMP_LE:
		out->b = c == -1 || c == 0;
		break;
	case CMP_GT:
		out->b = c == 1;
		break;
	default:
		out->b = c == 1 || c == 0;
	}
	return 0;
}

#define CMP_FN(fname, sname, op)						\
static int fname(struct rctx *r, struct val *a, size_t n, struct val *out)	\
{										\
	return fn_cmp(r, sname, op, a, n, out);					\
}
CMP_FN(fn_eq, "eq", CMP_EQ)
CMP_FN(fn_ne, "ne", CMP_NE)
CMP_FN(fn_lt, "lt", CMP_LT)
CMP_FN(fn_le, "le", CMP_LE)
CMP_FN(fn_gt, "gt", CMP_GT)
CMP_FN(fn_ge, "ge", CMP_GE)

/* fmt.Sprint: a space between operands when neither is a string. */
static int fn_print(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	struct strbuf b;
	size_t i;

	strbuf__init(&b);
	for (i = 0; i < n; i++) {
		if (i && a[i].k != V_STRING && a[i - 1].k != V_STRING)
			strbuf__puts(&b, " ");
		print_val(&b, &a[i]);
	}
	return vstr_buf(r, out, &b);
}

static int fn_println(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	struct strbuf b;
	size_t i;

	strbuf__init(&b);
	for (i = 0; i < n; i++) {
		if (i)
			strbuf__puts(&b, " ");
		print_val(&b, &a[i]);
	}
	strbuf__puts(&b, "\n");
	return vstr_buf(r, out, &b);
}

/* url.QueryEscape */
static void query_escape(struct strbuf *b, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
			strbuf__append(b, (const char *)&c, 1);
		else if (c == ' ')
			strbuf__puts(b, "+");
		else
			strbuf__printf(b, "%%%02X", c);
	}
}

static int fn_urlquery(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	struct strbuf b;
	struct val s;

	if (fn_print(r, a, n, &s))
		return -1;
	strbuf__init(&b);
	query_escape(&b, s.s, s.len);
	return vstr_buf(r, out, &b);
}

/* strconv.Quote, for valid UTF-8 and ASCII control bytes. */
static void go_quote(struct strbuf *b, const char *s, size_t len)
{
	size_t i;

	strbuf__puts(b, "\"");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\a': strbuf__puts(b, "\\a"); break;
		case '\b': strbuf__puts(b, "\\b"); break;
		case '\f': strbuf__puts(b, "\\f"); break;
		case '\n': strbuf__puts(b, "\\n"); break;
		case '\r': strbuf__puts(b, "\\r"); break;
		case '\t': strbuf__puts(b, "\\t"); break;
		case '\v': strbuf__puts(b, "\\v"); break;
		case '\\': strbuf__puts(b, "\\\\"); break;
		case '"': strbuf__puts(b, "\\\""); break;
		default:
			if (c < 0x20 || c == 0x7f)
				strbuf__printf(b, "\\x%02x", c);
			else
				strbuf__append(b, (const char *)&c, 1);
		}
	}
	strbuf__puts(b, "\"");
}

/* Pad @s to @width: left (flag '-') or right, with spaces or zeros. */
static void pad(struct strbuf *b, const char *s, size_t len, int width, bool minus,
		bool zero)
{
	size_t w = width > 0 ? (size_t)width : 0;

	if (minus) {
		strbuf__append(b, s, len);
		for (; len < w; len++)
			strbuf__puts(b, " ");
		return;
	}
	if (zero && len && (s[0] == '-' || s[0] == '+') && len < w) {
		strbuf__append(b, s, 1);
		s++;
		len--;
		w--;
	}
	for (size_t l = len; l < w; l++)
		strbuf__puts(b, zero ? "0" : " ");
	strbuf__append(b, s, len);
}

static void bad_verb(struct strbuf *b, char verb, const struct val *v)
{
	if (v->k == V_NIL) {
		strbuf__printf(b, "%%!%c(<nil>)", verb);
		return;
	}
	strbuf__printf(b, "%%!%c(%s=", verb, vtype(v));
	print_val(b, v);
	strbuf__puts(b, ")");
}

/*
 * fmt.Sprintf for the verbs alert templates use: v s q d f F e E g G x X
 * t c %, with flags - + space 0 #, width and precision.  Mismatched
 * operands print Go's "%!d(float64=1.5)"; missing ones "%!d(MISSING)";
 * extra ones "%!(EXTRA type=value)".
 */
static int fn_printf(struct rctx *r, struct val *a, size_t n, struct val *out)
{
	struct strbuf b;
	const char *f;
	size_t argi = 1;

	if (want_string(r, "printf", &a[0]))
		return -1;
	strbuf__init(&b);
	for (f = a[0].s; f < a[0].s + a[0].len; f++) {
		bool minus = false, plus = false, space = false, zero = false, sharp = false;
		bool sharp_v;
		int width = -1, prec = -1;
		char num[512], cfmt[32], verb;
		const struct val *v;
		size_t cl;

		if (*f != '%') {
			strbuf__append(&b, f, 1);
			continue;
		}
		for (f++; *f; f++) {
			if (*f == '-')
				minus = true;
			else if (*f == '+')
				plus = true;
			else if (*f == ' ')
				space = true;
			else if (*f == '0')
				zero = !minus;
			else if (*f == '#')
				sharp = true;
			else
				break;
		}
		if (*f >= '0' && *f <= '9') {
			width = 0;
			while (*f >= '0' && *f <= '9' && width < 1000)
				width = width * 10 + (*f++ - '0');
		}
		if (*f == '.') {
			prec = 0;
			f++;
			while (*f >= '0' && *f <= '9' && prec < 1000)
				prec = prec * 10 + (*f++ - '0');
		}
		if (!*f) {
			strbuf__puts(&b, "%!(NOVERB)");
			break;
		}
		verb = *f;
		sharp_v = verb == 'v' && sharp;
		if (verb == 'v')
			plus = sharp = false;	/* Go's %+v / %#v flags, not a sign */
		if (verb == '%') {
			strbuf__puts(&b, "%");
			continue;
		}
		if (argi >= n) {
			strbuf__printf(&b, "%%!%c(MISSING)", verb);
			continue;
		}
		v = &a[argi++];
		/* a C format with the same flags, for the numeric cases */
		cl = 0;
		cfmt[cl++] = '%';
		if (minus)
			cfmt[cl++] = '-';
		if (plus)
			cfmt[cl++] = '+';
		if (space)
			cfmt[cl++] = ' ';
		if (zero)
			cfmt[cl++] = '0';
		if (sharp)
			cfmt[cl++] = '#';
		cfmt[cl++] = '*';
		if (prec >= 0) {
			cfmt[cl++] = '.';
			cfmt[cl++] = '*';
		}
		switch (verb) {
		case 'v':
			if (v->k == V_FLOAT && (plus || prec >= 0)) {
				/* %v of a float is %g */
				goto do_g;
			}
			if (v->k == V_STRING && sharp_v) {
				/* %#v: Go syntax, a quoted string */
				struct strbuf t;

				strbuf__init(&t);
				go_quote(&t, v->s, v->len);
				pad(&b, t.buf ? t.buf : "", t.len, width, minus, false);
				if (t.oom)
					b.oom = true;
				strbuf__free(&t);
				break;
			}
			if (v->k == V_INT) {
				cfmt[cl++] = 'l';
				cfmt[cl++] = 'l';
				cfmt[cl++] = 'd';
				cfmt[cl] = '\0';
				if (prec >= 0)
					snprintf(num, sizeof(num), cfmt, width, prec, v->i);
				else
					snprintf(num, sizeof(num), cfmt, width, v->i);
				strbuf__puts(&b, num);
				break;
			} else {
				struct strbuf t;

				strbuf__init(&t);
				print_val(&t, v);
				pad(&b, t.buf ? t.buf : "", t.len, width, minus,
				    zero && v->k == V_FLOAT);
				if (t.oom)
					b.oom = true;
				strbuf__free(&t);
			}
			break;
		case 's':
			if (v->k != V_STRING) {
				bad_verb(&b, verb, v);
				break;
			}
			pad(&b, v->s, prec >= 0 && (size_t)prec < v->len ? (size_t)prec : v->len,
			    width, minus, false);
			break;
		case 'q':
			if (v->k != V_STRING) {
				bad_verb(&b, verb, v);
				break;
			} else {
				struct strbuf t;

				strbuf__init(&t);
				go_quote(&t, v->s, v->len);
				pad(&b, t.buf ? t.buf : "", t.len, width, minus, false);
				if (t.oom)
					b.oom = true;
				strbuf__free(&t);
			}
			break;
		case 'd':
		case 'c':
			if (v->k != V_INT) {
				bad_verb(&b, verb, v);
				break;
			}
			if (verb == 'c') {
				char c = (char)v->i;

				pad(&b, &c, 1, width, minus, false);
				break;
			}
			cfmt[cl++] = 'l';
			cfmt[cl++] = 'l';
			cfmt[cl++] = 'd';
			cfmt[cl] = '\0';
			if (prec >= 0)
				snprintf(num, sizeof(num), cfmt, width, prec, v->i);
			else
				snprintf(num, sizeof(num), cfmt, width, v->i);
			strbuf__puts(&b, num);
			break;
		case 'x':
		case 'X':
			if (v->k == V_INT) {
				cfmt[cl++] = 'l';
				cfmt[cl++] = 'l';
				cfmt[cl++] = verb;
				cfmt[cl] = '\0';
				if (v->i < 0) {
					/* Go prints -ff, not the two's complement */
					snprintf(num, sizeof(num), "-%llx",
						 (unsigned long long)-(v->i + 1) + 1);
					if (verb == 'X')
						for (char *c = num; *c; c++)
							if (*c >= 'a' && *c <= 'f')
								*c = (char)(*c - 32);
					pad(&b, num, strlen(num), width, minus, zero);
				} else {
					if (prec >= 0)
						snprintf(num, sizeof(num), cfmt, width, prec,
							 (unsigned long long)v->i);
					else
						snprintf(num, sizeof(num), cfmt, width,
							 (unsigned long long)v->i);
					strbuf__puts(&b, num);
				}
			} else if (v->k == V_STRING) {
				struct strbuf t;

				strbuf__init(&t);
				for (size_t i = 0; i < v->len; i++)
					strbuf__printf(&t, verb == 'x' ? "%02x" : "%02X",
						       (unsigned char)v->s[i]);
				pad(&b, t.buf ? t.buf : "", t.len, width, minus, false);
				if (t.oom)
					b.oom = true;
				strbuf__free(&t);
			} else {
				bad_verb(&b, verb, v);
			}
			break;
		case 't':
			if (v->k != V_BOOL) {
				bad_verb(&b, verb, v);
				break;
			}
			pad(&b, v->b ? "true" : "false", v->b ? 4 : 5, width, minus, false);
			break;
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G':
do_g:
			if (v->k != V_FLOAT) {
				bad_verb(&b, verb, v);
				break;
			}
			if (isnan(v->f) || isinf(v->f)) {
				tmpl__format_float(num, sizeof(num), v->f, 'g', -1);
				/* Go prints "+Inf" even without the + flag */
				pad(&b, num, strlen(num), width, minus, false);
				break;
			}
			if (verb == 'v')
				verb = 'g';
			if ((verb == 'g' || verb == 'G') && prec < 0) {
				char sh[64];

				tmpl__format_float(sh, sizeof(sh), v->f, 'g', -1);
				if (verb == 'G')
					for (char *c = sh; *c; c++)
						if (*c == 'e')
							*c = 'E';
				snprintf(num, sizeof(num), "%s%s",
					 plus && v->f >= 0 ? "+" : space && v->f >= 0 ? " " : "",
					 sh);
				pad(&b, num, strlen(num), width, minus, zero);
				break;
			}
			cfmt[cl++] = verb == 'F' ? 'f' : verb;
			cfmt[cl] = '\0';
			if (prec >= 0)
				snprintf(num, sizeof(num), cfmt, width, prec, v->f);
			else
				snprintf(num, sizeof(num), cfmt, width, v->f);
			strbuf__puts(&b, num);
			break;
		default:
			bad_verb(&b, verb, v);
		}
	}
	if (argi < n) {
		strbuf__puts(&b, "%!(EXTRA ");
		for (; argi < n; argi++) {
			strbuf__printf(&b, "%s=", vtype(&a[argi]));
			print_val(&b, &a[argi]);
			if (argi + 1 < n)
				strbuf__puts(&b, ", ");
		}
		strbuf__puts(&b, ")");
	}
	return vstr_buf(r, out, &b);
}

/* and / or are evaluated lazily by eval_cmd; these entries only name them. */
static const struct func funcs[] = {
	{ "and", 1, -1, NULL },
	{ "or", 1, -1, NULL },
	{ "not", 1, 1, fn_not },
	{ "eq", 2, -1, fn_eq },
	{ "ne", 2, 2, fn_ne },
	{ "lt", 2, 2, fn_lt },
	{ "le", 2, 2, fn_le },
	{ "gt", 2, 2, fn_gt },
	{ "ge", 2, 2, fn_ge },
	{ "len", 1, 1, fn_len },
	{ "index", 1, -1, fn_index },
	{ "print", 0, -1, fn_print },
	{ "printf", 1, -1, fn_printf },
	{ "println", 0, -1, fn_println },
	{ "urlquery", 0, -1, fn_urlquery },
	{ "humanize", 1, 1, fn_humanize },
	{ "humanize1024", 1, 1, fn_humanize1024 },
	{ "humanizeDuration", 1, 1, fn_humanize_duration },
	{ "humanizePercentage", 1, 1, fn_humanize_percentage },
	{ "humanizeTimestamp", 1, 1, fn_humanize_timestamp },
	{ "toUpper", 1, 1, fn_to_upper },
	{ "toLower", 1, 1, fn_to_lower },
	{ "title", 1, 1, fn_title },
	{ "match", 2, 2, fn_match },
	{ "reReplaceAll", 3, 3, fn_re_replace_all },
	{ "stripPort", 1, 1, fn_strip_port },
	{ "stripDomain", 1, 1, fn_strip_domain },
	{ "safeHtml", 1, 1, fn_safe_html },
	{ NULL, 0, 0, NULL },
};

/* Prometheus functions that need the query engine or HTML output. */
static const char *const unsupported_funcs[] = {
	"query", "first", "label", "value", "strvalue", "sortByLabel", "args",
	"graphLink", "tableLink", "pathPrefix", "externalURL", "parseDuration",
	"html", "js", "call", "slice", "toTime", NULL,
};

/* --- parser ------------------------------------------------------------- */

enum tok_type {
	TOK_EOF = 0,		/* end of input inside an action */
	TOK_RDELIM,
	TOK_PIPE,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_STRING,
	TOK_RAW,
	TOK_NUMBER,
	TOK_IDENT,
	TOK_VAR,
	TOK_FIELD,
	TOK_DOT,
	TOK_BAD,
};

struct tok {
	enum tok_type type;
	size_t off, len;
	bool trim;		/* TOK_RDELIM: " -}}" */
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	bool failed;
	bool oom;
	size_t err_off;
	char *err;
	size_t errlen;
	unsigned int nnodes;
	unsigned int depth;
	unsigned int with_depth;	/* inside with/range: . is a value */
	struct {
		size_t off, len;	/* name in the source */
	} vars[TMPL_MAX_VARS];		/* declared variables in scope */
	unsigned int nvars;
	bool trim_next;		/* the last action ended with -}} */
	bool constant;
};

static void perror_at(struct parser *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A NUL-terminated copy of @len bytes that may themselves hold NULs. */
static char *memdup0(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static void perror_at(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err_off = off;
	if (!p->err || !p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

static void *pcalloc(struct parser *p, size_t n, size_t size)
{
	void *m;

	if (++p->nnodes > TMPL_MAX_NODES) {
		perror_at(p, p->pos, "template too complex: more than %d nodes",
			  TMPL_MAX_NODES);
		return NULL;
	}
	m = calloc(n ? n : 1, size);
	if (!m) {
		p->oom = true;
		perror_at(p, p->pos, "out of memory");
	}
	return m;
}

/* Read the next token of an action. */
static void next_tok(struct parser *p, struct tok *t)
{
	const char *s = p->s;
	size_t i = p->pos, n = p->len;
	bool spaced = false;

	while (i < n && is_space(s[i])) {
		i++;
		spaced = true;
	}
	memset(t, 0, sizeof(*t));
	t->off = i;
	if (i >= n) {
		t->type = TOK_EOF;
		p->pos = i;
		return;
	}
	if (spaced && s[i] == '-' && i + 2 < n + 0 && s[i + 1] == '}' && s[i + 2] == '}') {
		t->type = TOK_RDELIM;
		t->trim = true;
		t->len = 3;
	} else if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
		t->type = TOK_RDELIM;
		t->len = 2;
	} else if (s[i] == '|') {
		t->type = TOK_PIPE;
		t->len = 1;
	} else if (s[i] == '(') {
		t->type = TOK_LPAREN;
		t->len = 1;
	} else if (s[i] == ')') {
		t->type = TOK_RPAREN;
		t->len = 1;
	} else if (s[i] == '"') {
		size_t j = i + 1;

		while (j < n && s[j] != '"' && s[j] != '\n') {
			if (s[j] == '\\' && j + 1 < n)
				j++;
			j++;
		}
		t->type = j < n && s[j] == '"' ? TOK_STRING : TOK_BAD;
		t->len = j + 1 - i;
	} else if (s[i] == '`') {
		const char *e = memchr(s + i + 1, '`', n - i - 1);

		t->type = e ? TOK_RAW : TOK_BAD;
		t->len = e ? (size_t)(e - (s + i)) + 1 : 1;
	} else if (s[i] == '$') {
		size_t j = i + 1;

		while (j < n && is_alnum(s[j]))
			j++;
		t->type = TOK_VAR;
		t->len = j - i;
	} else if (s[i] == '.' && (i + 1 >= n || !(s[i + 1] >= '0' && s[i + 1] <= '9'))) {
		size_t j = i + 1;

		while (j < n && is_alnum(s[j]))
			j++;
		t->type = j == i + 1 ? TOK_DOT : TOK_FIELD;
		t->len = j - i;
	} else if ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		   ((s[i] == '-' || s[i] == '+') && i + 1 < n &&
		    ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '.'))) {
		size_t j = i + 1;

		while (j < n && (is_alnum(s[j]) || s[j] == '.' ||
				 ((s[j] == '+' || s[j] == '-') &&
				  strchr("eEpP", s[j - 1]))))
			j++;
		t->type = TOK_NUMBER;
		t->len = j - i;
	} else if (is_alnum(s[i])) {
		size_t j = i + 1;

		while (j < n && is_alnum(s[j]))
			j++;
		t->type = TOK_IDENT;
		t->len = j - i;
	} else {
		t->type = TOK_BAD;
		t->len = 1;
	}
	p->pos = i + t->len;
}

static void peek_tok(struct parser *p, struct tok *t)
{
	size_t pos = p->pos;

	next_tok(p, t);
	p->pos = pos;
}

static bool tok_is(const struct parser *p, const struct tok *t, const char *word)
{
	return t->len == strlen(word) && !memcmp(p->s + t->off, word, t->len);
}

static void pipe_free(struct pipe *pp);

static void arg_free(struct arg *a)
{
	free(a->key);
	free(a->str);
	pipe_free(a->pipe);
}

static void pipe_free(struct pipe *pp)
{
	size_t i, j;

	if (!pp)
		return;
	for (i = 0; i < pp->ncmds; i++) {
		for (j = 0; j < pp->cmds[i].nargs; j++)
			arg_free(&pp->cmds[i].args[j]);
		free(pp->cmds[i].args);
	}
	free(pp->cmds);
	free(pp);
}

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		free(n->text);
		pipe_free(n->pipe);
		nodes_free(n->then);
		nodes_free(n->els);
		free(n);
		n = next;
	}
}

/* Decode a Go interpreted string literal (quotes included in @s). */
static bool unquote(struct parser *p, const char *s, size_t len, struct arg *a)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;

	if (!out) {
		p->oom = true;
		perror_at(p, p->pos, "out of memory");
		return false;
	}
	for (i = 1; i + 1 < len; i++) {
		char c = s[i];
		unsigned long v;
		char hex[9];
		int digits;

		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		c = s[++i];
		switch (c) {
		case 'a': out[o++] = '\a'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'v': out[o++] = '\v'; break;
		case '\\': out[o++] = '\\'; break;
		case '"': out[o++] = '"'; break;
		case 'x':
		case 'u':
		case 'U':
			digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			if (i + (size_t)digits >= len - 1 + 1 || i + (size_t)digits > len - 2)
				goto bad;
			memcpy(hex, s + i + 1, (size_t)digits);
			hex[digits] = '\0';
			for (int k = 0; k < digits; k++)
				if (!strchr("0123456789abcdefABCDEF", hex[k]))
					goto bad;
			v = strtoul(hex, NULL, 16);
			i += (size_t)digits;
			if (c == 'x') {
				out[o++] = (char)v;
			} else if (v < 0x80) {
				out[o++] = (char)v;
			} else if (v < 0x800) {
				out[o++] = (char)(0xc0 | (v >> 6));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else if (v < 0x10000 && !(v >= 0xd800 && v < 0xe000)) {
				out[o++] = (char)(0xe0 | (v >> 12));
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else if (v >= 0x10000 && v < 0x110000) {
				out[o++] = (char)(0xf0 | (v >> 18));
				out[o++] = (char)(0x80 | ((v >> 12) & 0x3f));
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else {
				goto bad;
			}
			break;
		default:
			if (c >= '0' && c <= '7' && i + 2 < len - 1 &&
			    s[i + 1] >= '0' && s[i + 1] <= '7' &&
			    s[i + 2] >= '0' && s[i + 2] <= '7') {
				v = (unsigned long)((c - '0') * 64 + (s[i + 1] - '0') * 8 +
						    (s[i + 2] - '0'));
				if (v > 255)
					goto bad;
				out[o++] = (char)v;
				i += 2;
				break;
			}
			goto bad;
		}
	}
	out[o] = '\0';
	a->str = out;
	a->slen = o;
	return true;
bad:
	free(out);
	perror_at(p, (size_t)(s - p->s) + i - 1, "invalid escape sequence in string");
	return false;
}

static bool parse_number(struct parser *p, const struct tok *t, struct arg *a)
{
	const char *s = p->s + t->off;
	char buf[128], *end;
	bool is_float;

	if (t->len >= sizeof(buf)) {
		perror_at(p, t->off, "bad number syntax: \"%.*s...\"", 20, s);
		return false;
	}
	/* Go allows '_' between digits: 1_000 */
	for (size_t i = 0, o = 0; i <= t->len; i++) {
		if (i < t->len && s[i] == '_') {
			if (!i || i + 1 >= t->len || !is_alnum(s[i - 1]) || s[i - 1] == '_' ||
			    !is_alnum(s[i + 1])) {
				perror_at(p, t->off, "bad number syntax: \"%.*s\"", (int)t->len, s);
				return false;
			}
			continue;
		}
		buf[o++] = i < t->len ? s[i] : '\0';
	}
	is_float = !((buf[0] == '0' || ((buf[0] == '-' || buf[0] == '+') && buf[1] == '0')) &&
		     strchr(buf, 'x')) && strpbrk(buf, ".eE");
	errno = 0;
	if (is_float) {
		a->type = ARG_FLOAT;
		a->f = strtod(buf, &end);
	} else {
		a->type = ARG_INT;
		a->i = strtoll(buf, &end, 0);
	}
	if (*end || errno || !strcmp(buf, "-") || isinf(a->f) || isnan(a->f)) {
		perror_at(p, t->off, "bad number syntax: \"%s\"", buf);
		return false;
	}
	return true;
}

static struct pipe *parse_pipe(struct parser *p, enum tok_type close, size_t off);

/* A variable or .Field chain: the source, and a map key if any. */
static bool parse_data(struct parser *p, const struct tok *t, struct arg *a)
{
	static const struct {
		const char *var, *field;
		enum src src;
	} names[] = {
		{ "$labels", ".Labels", SRC_LABELS },
		{ "$externalLabels", ".ExternalLabels", SRC_EXT_LABELS },
		{ "$externalURL", ".ExternalURL", SRC_EXT_URL },
		{ "$value", ".Value", SRC_VALUE },
	};
	struct tok f;
	size_t i;

	a->type = ARG_DATA;
	a->src = SRC_ROOT;
	if (t->type == TOK_VAR) {
		for (i = p->nvars; i-- > 0;)
			if (p->vars[i].len == t->len &&
			    !memcmp(p->s + p->vars[i].off, p->s + t->off, t->len))
				break;
		if (t->len == 1) {
			a->src = SRC_ROOT;
		} else if (i != (size_t)-1) {
			a->src = SRC_VAR;
			a->var = (int)i;
		} else {
			for (i = 0; i < 4; i++)
				if (tok_is(p, t, names[i].var))
					break;
			if (i == 4) {
				size_t j = t->off + t->len;

				while (j < p->len && is_space(p->s[j]))
					j++;
				if (j < p->len && (p->s[j] == '=' ||
						   (p->s[j] == ':' && j + 1 < p->len &&
						    p->s[j + 1] == '='))) {
					perror_at(p, j, "a variable can only be declared at the "
						  "start of an action or a range");
					return false;
				}
				perror_at(p, t->off, "undefined variable \"%.*s\"",
					  (int)t->len, p->s + t->off);
				return false;
			}
			a->src = names[i].src;
		}
	} else {
		/* a .Field: of the root, or of the value of the {{with}} */
		p->pos = t->off;
		if (p->with_depth)
			a->src = SRC_DOT;
	}
	/* field chain: only directly attached ".name" (no space before) */
	for (;;) {
		size_t save = p->pos;

		if (p->pos >= p->len || p->s[p->pos] != '.')
			break;
		next_tok(p, &f);
		if (f.type != TOK_FIELD) {
			p->pos = save;
			break;
		}
		if (a->src == SRC_ROOT) {
			for (i = 0; i < 4; i++)
				if (f.len == strlen(names[i].field) &&
				    !memcmp(p->s + f.off, names[i].field, f.len))
					break;
			if (i == 4) {
				perror_at(p, f.off, "can't evaluate field %.*s: the data has "
					  "Labels, ExternalLabels, ExternalURL and Value",
					  (int)f.len - 1, p->s + f.off + 1);
				return false;
			}
			a->src = names[i].src;
		} else if ((a->src == SRC_LABELS || a->src == SRC_EXT_LABELS ||
			    a->src == SRC_DOT || a->src == SRC_VAR) && !a->key) {
			a->key = strndup(p->s + f.off + 1, f.len - 1);
			if (!a->key) {
				p->oom = true;
				perror_at(p, f.off, "out of memory");
				return false;
			}
		} else {
			perror_at(p, f.off, "can't evaluate field %.*s in type %s",
				  (int)f.len - 1, p->s + f.off + 1,
				  a->key || a->src == SRC_EXT_URL ? "string" : "float64");
			return false;
		}
	}
	if (a->src == SRC_ROOT) {
		perror_at(p, t->off, "the data itself cannot be used, only its fields "
			  "($labels, $value, ...)");
		return false;
	}
	return true;
}

static bool is_keyword(const struct parser *p, const struct tok *t)
{
	static const char *const kw[] = {
		"if", "else", "end", "range", "with", "define", "template",
		"block", "break", "continue", NULL,
	};

	for (size_t i = 0; kw[i]; i++)
		if (tok_is(p, t, kw[i]))
			return true;
	return false;
}

static bool parse_operand(struct parser *p, const struct tok *t, struct arg *a)
{
	size_t i;

	a->off = t->off;
	switch (t->type) {
	case TOK_IDENT:
		if (tok_is(p, t, "true") || tok_is(p, t, "false")) {
			a->type = ARG_BOOL;
			a->b = tok_is(p, t, "true");
			return true;
		}
		if (tok_is(p, t, "nil")) {
			a->type = ARG_NIL;
			return true;
		}
		if (is_keyword(p, t)) {
			perror_at(p, t->off, "unexpected keyword \"%.*s\" in operand",
				  (int)t->len, p->s + t->off);
			return false;
		}
		for (i = 0; funcs[i].name; i++)
			if (tok_is(p, t, funcs[i].name))
				break;
		if (!funcs[i].name) {
			for (size_t u = 0; unsupported_funcs[u]; u++)
				if (tok_is(p, t, unsupported_funcs[u])) {
					perror_at(p, t->off, "function \"%s\" is not supported "
						  "by bpfwatch", unsupported_funcs[u]);
					return false;
				}
			perror_at(p, t->off, "function \"%.*s\" not defined",
				  (int)t->len, p->s + t->off);
			return false;
		}
		a->type = ARG_FUNC;
		a->fn = &funcs[i];
		return true;
	case TOK_VAR:
	case TOK_FIELD:
		return parse_data(p, t, a);
	case TOK_DOT:
		if (p->with_depth) {
			a->type = ARG_DATA;
			a->src = SRC_DOT;
			return true;
		}
		perror_at(p, t->off, "the data itself cannot be used, only its fields "
			  "($labels, $value, ...)");
		return false;
	case TOK_STRING:
		a->type = ARG_STRING;
		return unquote(p, p->s + t->off, t->len, a);
	case TOK_RAW:
		a->type = ARG_STRING;
		a->str = memdup0(p->s + t->off + 1, t->len - 2);
		a->slen = t->len - 2;
		if (!a->str) {
			p->oom = true;
			perror_at(p, t->off, "out of memory");
			return false;
		}
		return true;
	case TOK_NUMBER:
		return parse_number(p, t, a);
	case TOK_LPAREN:
		if (++p->depth > TMPL_MAX_DEPTH) {
			perror_at(p, t->off, "template nested too deeply");
			return false;
		}
		a->type = ARG_PIPE;
		a->pipe = parse_pipe(p, TOK_RPAREN, t->off);
		p->depth--;
		if (a->pipe && p->pos < p->len && p->s[p->pos] == '.') {
			perror_at(p, p->pos,
				  "fields of a parenthesized pipeline are not supported");
			return false;
		}
		return a->pipe != NULL;
	case TOK_EOF:
		perror_at(p, t->off, "unclosed action");
		return false;
	case TOK_BAD:
		if (p->s[t->off] == '"' || p->s[t->off] == '`')
			perror_at(p, t->off, "unterminated quoted string");
		else if (p->s[t->off] == ':' || p->s[t->off] == '=')
			perror_at(p, t->off, "variable declarations are not supported");
		else if (p->s[t->off] == '\'')
			perror_at(p, t->off, "character constants are not supported");
		else
			perror_at(p, t->off, "unexpected \"%c\" in operand", p->s[t->off]);
		return false;
	default:
		perror_at(p, t->off, "unexpected \"%.*s\" in operand", (int)t->len,
			  p->s + t->off);
		return false;
	}
}

/*
 * pipeline := command { '|' command } CLOSE.  A command is operands up to
 * '|' or CLOSE; its first operand is a function, or the command is that
 * single value.  Function arity is checked here, counting the value piped
 * in for every command but the first.
 */
static struct pipe *parse_pipe(struct parser *p, enum tok_type close, size_t off)
{
	struct pipe *pp = pcalloc(p, 1, sizeof(*pp));
	struct tok t;

	if (!pp)
		return NULL;
	pp->off = off;
	for (;;) {
		struct cmd *c, *cmds;
		struct arg *args;
		size_t nin;

		cmds = realloc(pp->cmds, (pp->ncmds + 1) * sizeof(*cmds));
		if (!cmds || pp->ncmds >= 64) {
			free(cmds == pp->cmds ? NULL : cmds);
			if (!cmds)
				p->oom = true;
			perror_at(p, p->pos, cmds ? "pipeline too long" : "out of memory");
			if (cmds)
				pp->cmds = cmds;
			goto err;
		}
		pp->cmds = cmds;
		c = &pp->cmds[pp->ncmds++];
		memset(c, 0, sizeof(*c));
		peek_tok(p, &t);
		c->off = t.off;
		for (;;) {
			next_tok(p, &t);
			if (t.type == close || t.type == TOK_PIPE)
				break;
			if (t.type == TOK_RDELIM || t.type == TOK_RPAREN) {
				perror_at(p, t.off, "unexpected \"%.*s\" in %s", (int)t.len,
					  p->s + t.off, close == TOK_RPAREN ?
					  "parenthesized pipeline" : "command");
				goto err;
			}
			if (c->nargs >= 32) {
				perror_at(p, t.off, "too many arguments");
				goto err;
			}
			args = realloc(c->args, (c->nargs + 1) * sizeof(*args));
			if (!args) {
				p->oom = true;
				perror_at(p, t.off, "out of memory");
				goto err;
			}
			c->args = args;
			memset(&c->args[c->nargs], 0, sizeof(*args));
			c->nargs++;
			if (!parse_operand(p, &t, &c->args[c->nargs - 1]))
				goto err;
		}
		if (!c->nargs) {
			perror_at(p, t.off, pp->ncmds > 1 || t.type == TOK_PIPE ?
				  "missing command in pipeline" : "missing value for command");
			goto err;
		}
		nin = c->nargs - 1 + (pp->ncmds > 1);
		if (c->args[0].type != ARG_FUNC) {
			if (c->nargs > 1) {
				perror_at(p, c->args[1].off, "can't give argument to non-function");
				goto err;
			}
			if (pp->ncmds > 1) {
				perror_at(p, c->off, "non-function in pipeline stage %zu: "
					  "only functions take a piped value", pp->ncmds);
				goto err;
			}
		} else if ((int)nin < c->args[0].fn->min ||
			   (c->args[0].fn->max >= 0 && (int)nin > c->args[0].fn->max)) {
			if (c->args[0].fn->max < 0)
				perror_at(p, c->args[0].off, "wrong number of args for %s: "
					  "want at least %d got %zu", c->args[0].fn->name,
					  c->args[0].fn->min, nin);
			else
				perror_at(p, c->args[0].off, "wrong number of args for %s: "
					  "want %d got %zu", c->args[0].fn->name,
					  c->args[0].fn->max, nin);
			goto err;
		}
		if (c->args[0].type == ARG_FUNC && c->nargs > 1 &&
		    c->args[1].type == ARG_STRING &&
		    (!strcmp(c->args[0].fn->name, "match") ||
		     !strcmp(c->args[0].fn->name, "reReplaceAll"))) {
			/* a literal pattern is checked now, not at every alert */
			char why[128];
			const char *bad = regex_check(c->args[1].str, c->args[1].slen, why,
						      sizeof(why));

			if (bad) {
				perror_at(p, c->args[1].off, "error parsing regexp: %s", bad);
				goto err;
			}
		}
		for (size_t i = 1; i < c->nargs; i++) {
			/* a function as an argument is called with no arguments */
			const struct arg *x = &c->args[i];

			if (x->type == ARG_FUNC && x->fn->min > 0) {
				perror_at(p, x->off, "wrong number of args for %s: want %d got 0",
					  x->fn->name, x->fn->min);
				goto err;
			}
		}
		if (t.type == close) {
			if (close == TOK_RDELIM)
				p->trim_next = t.trim;
			return pp;
		}
	}
err:
	pipe_free(pp);
	return NULL;
}

enum term {
	TERM_EOF = 0,
	TERM_END,
	TERM_ELSE,
	TERM_ELSE_IF,
	TERM_ERROR,
};

static enum term parse_list(struct parser *p, struct node **list, size_t *term_off);

/*
 * After "{{ if" or "{{ with": the pipeline, the branches, up to and
 * including {{end}}.  Inside the first branch of a with, "." is the
 * pipeline's value; "{{ else if" chains a nested if.
 */
static bool parse_range_vars(struct parser *p, struct node *n, unsigned int *nvars);

static struct node *parse_branch(struct parser *p, size_t off, enum node_type type)
{
	const char *what = type == NODE_WITH ? "with" : type == NODE_RANGE ? "range" : "if";
	unsigned int nvars = p->nvars, body_vars;
	struct node *n;
	enum term term;
	size_t toff;

	if (++p->depth > TMPL_MAX_DEPTH) {
		perror_at(p, off, "template nested too deeply");
		return NULL;
	}
	n = pcalloc(p, 1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = type;
	n->off = off;
	n->var1 = n->var2 = -1;
	body_vars = nvars;
	if (!parse_range_vars(p, n, &body_vars))
		goto err;
	if (type != NODE_RANGE && n->var2 >= 0) {
		perror_at(p, off, "too many declarations in %s", what);
		goto err;
	}
	{
		struct tok t;

		peek_tok(p, &t);
		if (t.type == TOK_RDELIM) {
			perror_at(p, t.off, "missing value for %s", what);
			goto err;
		}
	}
	n->pipe = parse_pipe(p, TOK_RDELIM, off);
	if (!n->pipe)
		goto err;
	/* variables: those of the range header, and any declared in a
	 * branch, live until the branch ends */
	p->nvars = body_vars;
	if (type != NODE_IF)
		p->with_depth++;
	term = parse_list(p, &n->then, &toff);
	if (type != NODE_IF)
		p->with_depth--;
	p->nvars = nvars;
	switch (term) {
	case TERM_END:
		break;
	case TERM_ELSE:
		p->nvars = body_vars;
		term = parse_list(p, &n->els, &toff);
		p->nvars = nvars;
		if (term == TERM_END)
			break;
		if (term == TERM_ELSE || term == TERM_ELSE_IF)
			perror_at(p, toff, "expected end; found {{else}}");
		else if (term == TERM_EOF)
			perror_at(p, off, "unexpected EOF: {{%s}} without {{end}}", what);
		goto err;
	case TERM_ELSE_IF:
		if (type != NODE_IF) {
			/* Go (before 1.23) allows "else if" in if only */
			perror_at(p, toff, "unexpected <if> in input: {{else if}} only "
				  "continues an {{if}}");
			goto err;
		}
		n->els = parse_branch(p, toff, NODE_IF);
		if (!n->els)
			goto err;
		break;
	case TERM_EOF:
		perror_at(p, off, "unexpected EOF: {{%s}} without {{end}}", what);
		goto err;
	default:
		goto err;
	}
	p->depth--;
	return n;
err:
	nodes_free(n);
	return NULL;
}

/* Read "$name" at p->pos (after spaces); false if there is none. */
static bool read_var(struct parser *p, struct tok *t)
{
	size_t save = p->pos;

	next_tok(p, t);
	if (t->type == TOK_VAR && t->len > 1)
		return true;
	p->pos = save;
	return false;
}

static void skip_spaces(struct parser *p)
{
	while (p->pos < p->len && is_space(p->s[p->pos]))
		p->pos++;
}

static bool declare(struct parser *p, const struct tok *t, int *slot)
{
	if (p->nvars >= TMPL_MAX_VARS) {
		perror_at(p, t->off, "too many variables (limit %d)", TMPL_MAX_VARS);
		return false;
	}
	p->vars[p->nvars].off = t->off;
	p->vars[p->nvars].len = t->len;
	*slot = (int)p->nvars++;
	return true;
}

/*
 * "{{ range $e := X }}", "{{ range $k, $v := X }}", "{{ if $x := X }}":
 * declare the variables for the branches (into *nvars); without ":="
 * nothing is read.
 */
static bool parse_range_vars(struct parser *p, struct node *n, unsigned int *nvars)
{
	size_t save = p->pos, saved_n = p->nvars;
	struct tok a, b;
	bool two = false;

	if (!read_var(p, &a)) {
		*nvars = p->nvars;
		return true;
	}
	skip_spaces(p);
	if (p->pos < p->len && p->s[p->pos] == ',') {
		p->pos++;
		if (!read_var(p, &b)) {
			perror_at(p, p->pos, "range can only initialize variables");
			return false;
		}
		two = true;
		skip_spaces(p);
	}
	if (p->pos + 1 >= p->len || p->s[p->pos] != ':' || p->s[p->pos + 1] != '=') {
		if (two) {
			perror_at(p, p->pos, "expected := after range variables");
			return false;
		}
		p->pos = save;		/* a pipeline starting with a variable */
		*nvars = p->nvars;
		return true;
	}
	p->pos += 2;
	/* declared after the pipeline is parsed: it cannot see them */
	if (!declare(p, two ? &b : &a, &n->var1) || (two && !declare(p, &a, &n->var2)))
		return false;
	*nvars = p->nvars;
	p->nvars = (unsigned int)saved_n;
	return true;
}

/*
 * "{{ $x := pipeline }}" (declare) or "{{ $x = pipeline }}" (assign) at the
 * start of an action.  Returns the node, NULL on error, or sets *none
 * when the action is not one.
 */
static struct node *parse_set(struct parser *p, size_t act, bool *none)
{
	size_t save = p->pos, i;
	struct node *n;
	bool decl;
	struct tok t;
	int slot;

	*none = false;
	if (!read_var(p, &t)) {
		*none = true;
		return NULL;
	}
	skip_spaces(p);
	decl = p->pos + 1 < p->len && p->s[p->pos] == ':' && p->s[p->pos + 1] == '=';
	if (!decl && !(p->pos < p->len && p->s[p->pos] == '=' &&
		       (p->pos + 1 >= p->len || p->s[p->pos + 1] != '='))) {
		p->pos = save;
		*none = true;
		return NULL;
	}
	p->pos += decl ? 2 : 1;
	if (!decl) {
		for (i = p->nvars; i-- > 0;)
			if (p->vars[i].len == t.len &&
			    !memcmp(p->s + p->vars[i].off, p->s + t.off, t.len))
				break;
		if (i == (size_t)-1) {
			perror_at(p, t.off, "undefined variable \"%.*s\"", (int)t.len,
				  p->s + t.off);
			return NULL;
		}
		slot = (int)i;
	}
	n = pcalloc(p, 1, sizeof(*n));
	if (!n)
		return NULL;
	n->type = NODE_SET;
	n->off = act;
	n->var2 = -1;
	n->pipe = parse_pipe(p, TOK_RDELIM, act);
	if (!n->pipe || (decl && !declare(p, &t, &slot))) {
		nodes_free(n);
		return NULL;
	}
	n->var1 = slot;
	return n;
}

/* Expect the closing }} of a keyword action (else, end). */
static bool expect_rdelim(struct parser *p, const char *what)
{
	struct tok t;

	next_tok(p, &t);
	if (t.type != TOK_RDELIM) {
		perror_at(p, t.off, "unexpected \"%.*s\" in %s", (int)t.len, p->s + t.off,
			  what);
		return false;
	}
	p->trim_next = t.trim;
	return true;
}

static bool append_node(struct node ***tail, struct node *n)
{
	if (!n)
		return false;
	**tail = n;
	*tail = &n->next;
	return true;
}

/*
 * Parse text and actions up to the end of input or a {{else}} / {{end}}
 * that belongs to an enclosing if (the caller decides whether that is
 * legal).  Returns what ended the list and where.
 */
static enum term parse_list(struct parser *p, struct node **list, size_t *term_off)
{
	struct node **tail = list;

	for (;;) {
		const char *open = NULL;
		size_t start = p->pos, end, act;
		bool ltrim = false;
		struct node *n;
		struct tok t;

		if (p->pos < p->len)
			open = memmem(p->s + p->pos, p->len - p->pos, "{{", 2);
		end = open ? (size_t)(open - p->s) : p->len;
		act = end;
		if (open && end + 3 < p->len && p->s[end + 2] == '-' && is_space(p->s[end + 3]))
			ltrim = true;
		if (p->trim_next)
			while (start < end && is_space(p->s[start]))
				start++;
		p->trim_next = false;
		if (ltrim)
			while (end > start && is_space(p->s[end - 1]))
				end--;
		if (end > start) {
			n = pcalloc(p, 1, sizeof(*n));
			if (!n)
				return TERM_ERROR;
			n->type = NODE_TEXT;
			n->off = start;
			n->text = memdup0(p->s + start, end - start);
			n->len = end - start;
			append_node(&tail, n);
			if (!n->text) {
				p->oom = true;
				perror_at(p, start, "out of memory");
				return TERM_ERROR;
			}
		}
		if (!open) {
			p->pos = p->len;
			return TERM_EOF;
		}
		p->constant = false;
		p->pos = act + 2 + (ltrim ? 2 : 0);
		/* a comment action, trim markers allowed around it */
		if (p->pos + 1 < p->len && p->s[p->pos] == '/' && p->s[p->pos + 1] == '*') {
			const char *close = memmem(p->s + p->pos + 2, p->len - p->pos - 2,
						   "*/", 2);
			size_t c;

			if (!close) {
				perror_at(p, act, "unclosed comment");
				return TERM_ERROR;
			}
			c = (size_t)(close - p->s) + 2;
			if (c + 1 < p->len && p->s[c] == '}' && p->s[c + 1] == '}') {
				p->pos = c + 2;
			} else if (c + 3 < p->len && is_space(p->s[c]) && p->s[c + 1] == '-' &&
				   p->s[c + 2] == '}' && p->s[c + 3] == '}') {
				p->pos = c + 4;
				p->trim_next = true;
			} else {
				perror_at(p, c, "comment ends before closing delimiter");
				return TERM_ERROR;
			}
			continue;
		}
		peek_tok(p, &t);
		if (t.type == TOK_IDENT && is_keyword(p, &t)) {
			next_tok(p, &t);
			if (tok_is(p, &t, "if") || tok_is(p, &t, "with") ||
			    tok_is(p, &t, "range")) {
				enum node_type type = tok_is(p, &t, "if") ? NODE_IF :
						      tok_is(p, &t, "with") ? NODE_WITH :
						      NODE_RANGE;

				if (!append_node(&tail, parse_branch(p, act, type)))
					return TERM_ERROR;
				continue;
			}
			if (tok_is(p, &t, "end")) {
				*term_off = act;
				return expect_rdelim(p, "end") ? TERM_END : TERM_ERROR;
			}
			if (tok_is(p, &t, "else")) {
				struct tok t2;

				*term_off = act;
				peek_tok(p, &t2);
				if (t2.type == TOK_IDENT && tok_is(p, &t2, "if")) {
					next_tok(p, &t2);
					return TERM_ELSE_IF;
				}
				return expect_rdelim(p, "else") ? TERM_ELSE : TERM_ERROR;
			}
			perror_at(p, t.off, "\"%.*s\" is not supported in alert templates",
				  (int)t.len, p->s + t.off);
			return TERM_ERROR;
		}
		if (t.type == TOK_VAR) {
			bool none;

			n = parse_set(p, act, &none);
			if (n) {
				append_node(&tail, n);
				continue;
			}
			if (!none)
				return TERM_ERROR;
		}
		n = pcalloc(p, 1, sizeof(*n));
		if (!n)
			return TERM_ERROR;
		n->type = NODE_PRINT;
		n->off = act;
		append_node(&tail, n);
		n->pipe = parse_pipe(p, TOK_RDELIM, act);
		if (!n->pipe)
			return TERM_ERROR;
	}
}

struct tmpl *tmpl__compile(const char *text, size_t len, size_t *err_off,
			   char *err, size_t errlen)
{
	struct parser p = {
		.s = text ? text : "",
		.len = text ? len : 0,
		.err = err,
		.errlen = errlen,
		.constant = true,
	};
	struct tmpl *t;
	enum term term;
	size_t toff = 0;

	if (err && errlen)
		err[0] = '\0';
	if (err_off)
		*err_off = 0;
	if (p.len > TMPL_MAX_TEXT) {
		perror_at(&p, 0, "template too large: %zu bytes, the limit is %d",
			  p.len, TMPL_MAX_TEXT);
		errno = EFBIG;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		perror_at(&p, 0, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	term = parse_list(&p, &t->list, &toff);
	if (term == TERM_END || term == TERM_ELSE || term == TERM_ELSE_IF)
		perror_at(&p, toff, "unexpected {{%s}}", term == TERM_END ? "end" : "else");
	if (p.failed) {
		if (err_off)
			*err_off = p.err_off;
		nodes_free(t->list);
		free(t);
		errno = p.oom ? ENOMEM : EINVAL;
		return NULL;
	}
	t->constant = p.constant;
	return t;
}

bool tmpl__is_constant(const struct tmpl *t)
{
	return t->constant;
}

void tmpl__free(struct tmpl *t)
{
	if (!t)
		return;
	nodes_free(t->list);
	free(t);
}

/* --- execution ---------------------------------------------------------- */

static int eval_pipe(struct rctx *r, const struct pipe *pp, struct val *out);

static int eval_data(struct rctx *r, const struct arg *a, struct val *out)
{
	const struct tmpl_data *d = r->d;
	const struct label *m;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	switch (a->src) {
	case SRC_VALUE:
		out->k = V_FLOAT;
		out->f = d->value;
		return 0;
	case SRC_EXT_URL:
		out->k = V_STRING;
		out->s = d->external_url ? d->external_url : "";
		out->len = strlen(out->s);
		return 0;
	case SRC_LABELS:
	case SRC_EXT_LABELS:
		m = a->src == SRC_LABELS ? d->labels : d->ext_labels;
		n = a->src == SRC_LABELS ? d->nlabels : d->next_labels;
		if (!a->key) {
			out->k = V_MAP;
			out->m = m;
			out->mn = n;
			return 0;
		}
		out->k = V_STRING;
		out->s = "";	/* missingkey=zero */
		for (i = 0; i < n; i++)
			if (!strcmp(m[i].name, a->key)) {
				out->s = m[i].value ? m[i].value : "";
				break;
			}
		out->len = strlen(out->s);
		return 0;
	case SRC_DOT:
	case SRC_VAR: {
		const struct val *v = a->src == SRC_DOT ? &r->dot : &r->vars[a->var];

		if (!a->key) {
			*out = *v;
			return 0;
		}
		if (v->k != V_MAP) {
			rerror(r, "can't evaluate field %s in type %s", a->key, vtype(v));
			return -1;
		}
		out->k = V_STRING;
		out->s = "";	/* missingkey=zero */
		for (i = 0; i < v->mn; i++)
			if (!strcmp(v->m[i].name, a->key)) {
				out->s = v->m[i].value ? v->m[i].value : "";
				break;
			}
		out->len = strlen(out->s);
		return 0;
	}
	default:
		rerror(r, "internal error: bad data source");
		return -1;
	}
}

static int eval_arg(struct rctx *r, const struct arg *a, struct val *out)
{
	memset(out, 0, sizeof(*out));
	switch (a->type) {
	case ARG_DATA:
		return eval_data(r, a, out);
	case ARG_STRING:
		out->k = V_STRING;
		out->s = a->str;
		out->len = a->slen;
		return 0;
	case ARG_INT:
		out->k = V_INT;
		out->i = a->i;
		return 0;
	case ARG_FLOAT:
		out->k = V_FLOAT;
		out->f = a->f;
		return 0;
	case ARG_BOOL:
		out->k = V_BOOL;
		out->b = a->b;
		return 0;
	case ARG_NIL:
		out->k = V_NIL;
		return 0;
	case ARG_PIPE:
		return eval_pipe(r, a->pipe, out);
	case ARG_FUNC:
		if (!a->fn->call) {
			rerror(r, "wrong number of args for %s: want at least 1 got 0",
			       a->fn->name);
			return -1;
		}
		return a->fn->call(r, NULL, 0, out);
	}
	return -1;
}

/*
 * One command: a value, or a function call on the evaluated operands plus
 * the piped value.  and/or evaluate lazily and return the deciding
 * operand, as Go's do.
 */
static int eval_cmd(struct rctx *r, const struct cmd *c, const struct val *piped,
		    struct val *out)
{
	struct val args[34];
	const struct func *fn;
	size_t n = 0, i;

	if (c->args[0].type == ARG_NIL) {
		/* Go accepts it at parse time and fails here */
		rerror(r, "nil is not a command");
		return -1;
	}
	if (c->args[0].type != ARG_FUNC)
		return eval_arg(r, &c->args[0], out);
	fn = c->args[0].fn;
	if (!fn->call) {
		bool is_and = !strcmp(fn->name, "and");
		size_t total = c->nargs - 1 + (piped != NULL);

		for (i = 0; i < total; i++) {
			if (i < c->nargs - 1) {
				if (eval_arg(r, &c->args[i + 1], out))
					return -1;
			} else {
				*out = *piped;
			}
			if (truth(out) != is_and)
				return 0;
		}
		return 0;
	}
	for (i = 1; i < c->nargs; i++)
		if (eval_arg(r, &c->args[i], &args[n++]))
			return -1;
	if (piped)
		args[n++] = *piped;
	return fn->call(r, args, n, out);
}

static int eval_pipe(struct rctx *r, const struct pipe *pp, struct val *out)
{
	struct val cur;
	size_t i;

	for (i = 0; i < pp->ncmds; i++) {
		if (eval_cmd(r, &pp->cmds[i], i ? &cur : NULL, out))
			return -1;
		cur = *out;
	}
	return 0;
}

static int exec_list(struct rctx *r, const struct node *n);

/*
 * range over a map: keys in sorted order (as Go), "." the value, the
 * optional variables the value (and the key).  An empty map or a false
 * value runs the else branch; other values cannot be ranged over.
 */
static int exec_range(struct rctx *r, const struct node *n, const struct val *v)
{
	const struct label **sorted;
	struct val saved = r->dot;
	size_t i;
	int ret = 0;

	if (v->k == V_NIL || (v->k == V_MAP && !v->mn))
		return exec_list(r, n->els);
	if (v->k != V_MAP) {
		rerror(r, "range can't iterate over %s", vtype(v));
		return -1;
	}
	sorted = calloc(v->mn, sizeof(*sorted));
	if (!sorted) {
		r->oom = true;
		rerror(r, "out of memory");
		return -1;
	}
	for (i = 0; i < v->mn; i++)
		sorted[i] = &v->m[i];
	qsort(sorted, v->mn, sizeof(*sorted), label_cmp);
	for (i = 0; i < v->mn && !ret; i++) {
		struct val e = { .k = V_STRING };

		if (++r->steps > TMPL_MAX_STEPS) {
			rerror(r, "execution took more than %d steps", TMPL_MAX_STEPS);
			ret = -1;
			break;
		}
		e.s = sorted[i]->value ? sorted[i]->value : "";
		e.len = strlen(e.s);
		r->dot = e;
		if (n->var1 >= 0)
			r->vars[n->var1] = e;
		if (n->var2 >= 0) {
			struct val k = { .k = V_STRING };

			k.s = sorted[i]->name;
			k.len = strlen(k.s);
			r->vars[n->var2] = k;
		}
		ret = exec_list(r, n->then);
	}
	free(sorted);
	r->dot = saved;
	return ret;
}

static int exec_list(struct rctx *r, const struct node *n)
{
	struct val v;

	for (; n; n = n->next) {
		/* nested ranges multiply: bound the work, not only the output */
		if (++r->steps > TMPL_MAX_STEPS) {
			rerror(r, "execution took more than %d steps", TMPL_MAX_STEPS);
			return -1;
		}
		switch (n->type) {
		case NODE_TEXT:
			strbuf__append(r->out, n->text, n->len);
			break;
		case NODE_PRINT:
			if (eval_pipe(r, n->pipe, &v))
				return -1;
			print_val(r->out, &v);
			break;
		case NODE_IF:
			if (eval_pipe(r, n->pipe, &v))
				return -1;
			if (n->var1 >= 0)
				r->vars[n->var1] = v;
			if (exec_list(r, truth(&v) ? n->then : n->els))
				return -1;
			break;
		case NODE_WITH:
			if (eval_pipe(r, n->pipe, &v))
				return -1;
			if (n->var1 >= 0)
				r->vars[n->var1] = v;
			if (truth(&v)) {
				struct val saved = r->dot;

				r->dot = v;
				if (exec_list(r, n->then))
					return -1;
				r->dot = saved;
			} else if (exec_list(r, n->els)) {
				return -1;
			}
			break;
		case NODE_SET:
			if (eval_pipe(r, n->pipe, &v))
				return -1;
			r->vars[n->var1] = v;
			break;
		case NODE_RANGE:
			if (eval_pipe(r, n->pipe, &v) || exec_range(r, n, &v))
				return -1;
			break;
		}
		if (r->out->oom) {
			r->oom = true;
			rerror(r, "out of memory");
			return -1;
		}
		if (r->out->len > TMPL_MAX_OUTPUT) {
			rerror(r, "output larger than %d bytes", TMPL_MAX_OUTPUT);
			return -1;
		}
	}
	return 0;
}

int tmpl__render(const struct tmpl *t, const struct tmpl_data *d,
		 struct strbuf *out, char *err, size_t errlen)
{
	struct rctx r = {
		.d = d,
		.out = out,
		.err = err,
		.errlen = errlen,
	};
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = exec_list(&r, t->list);
	while (r.arena) {
		struct chunk *next = r.arena->next;

		free(r.arena);
		r.arena = next;
	}
	if (!ret)
		return 0;
	return r.oom ? -ENOMEM : -EINVAL;
}

char *tmpl__expand(const struct tmpl *t, const struct tmpl_data *d)
{
	char err[256];
	struct strbuf b;
	int ret;

	strbuf__init(&b);
	ret = tmpl__render(t, d, &b, err, sizeof(err));
	if (ret == -ENOMEM) {
		strbuf__free(&b);
		return NULL;
	}
	if (ret) {
		strbuf__reset(&b);
		strbuf__printf(&b, "<error expanding template: %s>", err);
	}
	return strbuf__steal(&b, NULL);
}
