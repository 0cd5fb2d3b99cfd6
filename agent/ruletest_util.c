// SPDX-License-Identifier: GPL-2.0
/*
 * The pieces of the rule test runner that are pure functions (see
 * ruletest.h): promtool's series notation, series descriptions, Go's
 * number and duration printing, and promtool's set comparisons.  Kept
 * apart from the runner so the unit tests and the fuzzer reach them
 * without a database.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expo.h"
#include "ruletest.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* --- series notation ------------------------------------------------------ */

static bool item_end(char c)
{
	return !c || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * A number as Prometheus' lexer reads it inside series values: an
 * optional sign, then Inf/NaN (any case) or decimal digits with an
 * optional fraction and exponent.  Hexadecimal is not read: "0x3" is the
 * value 0 repeated, as in promtool.  Returns the end or NULL.
 */
static const char *scan_number(const char *p, bool sign_ok, double *v)
{
	const char *q = p, *start;
	bool neg = false;
	char buf[64];
	size_t digits = 0, len;

	if (sign_ok && (*q == '+' || *q == '-'))
		neg = *q++ == '-';
	if ((!strncasecmp(q, "inf", 3) || !strncasecmp(q, "nan", 3)) &&
	    !isalnum((unsigned char)q[3]) && q[3] != '_') {
		*v = tolower((unsigned char)q[0]) == 'i' ? INFINITY : NAN;
		if (neg)
			*v = -*v;
		return q + 3;
	}
	start = q;
	while (isdigit((unsigned char)*q))
		q++, digits++;
	if (*q == '.') {
		q++;
		while (isdigit((unsigned char)*q))
			q++, digits++;
	}
	if (!digits)
		return NULL;
	if (*q == 'e' || *q == 'E') {
		const char *e = q + 1;

		if (*e == '+' || *e == '-')
			e++;
		if (!isdigit((unsigned char)*e))
			return NULL;
		while (isdigit((unsigned char)*e))
			e++;
		q = e;
	}
	len = (size_t)(q - start);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;	/* more digits than a double holds */
	memcpy(buf, start, len);
	buf[len] = '\0';
	*v = strtod(buf, NULL);
	if (neg)
		*v = -*v;
	return q;
}

static const char *scan_count(const char *p, uint64_t *n)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	/* saturate: a huge count is refused by the caller's limit */
	for (; isdigit((unsigned char)*p); p++)
		v = v > UINT64_MAX / 100 ? UINT64_MAX / 100 : v * 10 + (uint64_t)(*p - '0');
	*n = v;
	return p;
}

struct pts {
	struct rt_point *p;
	size_t n, cap, max;
};

static int pts_add(struct pts *a, int64_t idx, double v)
{
	if (a->n >= a->max)
		return -E2BIG;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct rt_point *np = realloc(a->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		a->p = np;
		a->cap = cap;
	}
	a->p[a->n].idx = idx;
	a->p[a->n].v = v;
	a->n++;
	return 0;
}

int ruletest__expand_values(const char *s, size_t max, struct rt_point **out,
			    size_t *nout, size_t *err_off, char *err, size_t errlen)
{
	struct pts a = { .max = max ? max : RULETEST_MAX_VALUES };
	const char *p = s;
	int64_t idx = 0;
	int ret = 0;

	*out = NULL;
	*nout = 0;
	for (;;) {
		const char *item, *q;
		double first = 0, step = 0, v;
		uint64_t cnt = 0, k;
		bool has_step = false, has_cnt = false;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		item = p;
		if (*p == '_') {
			q = p + 1;
			if (*q == 'x') {
				q = scan_count(q + 1, &cnt);
				if (!q)
					goto bad;
			} else {
				cnt = 1;
			}
			if (!item_end(*q))
				goto bad;
			if (cnt > (uint64_t)(RULETEST_MAX_STEPS - idx)) {
				ret = -ERANGE;
				goto big;
			}
			idx += (int64_t)cnt;
			p = q;
			continue;
		}
		if (idx >= RULETEST_MAX_STEPS) {
			ret = -ERANGE;
			goto big;
		}
		if (!strncmp(p, "stale", 5) && item_end(p[5])) {
			ret = pts_add(&a, idx++, promql_stale_nan());
			if (ret)
				goto big;
			p += 5;
			continue;
		}
		q = scan_number(p, true, &first);
		if (!q)
			goto bad;
		if (*q == '+' || *q == '-') {
			q = scan_number(q, true, &step);
			if (!q || *q != 'x')
				goto bad;
			has_step = true;
		}
		if (*q == 'x') {
			q = scan_count(q + 1, &cnt);
			if (!q)
				goto bad;
			has_cnt = true;
		}
		if (!item_end(*q) || (has_step && !has_cnt))
			goto bad;
		if (cnt >= a.max) {
			ret = -E2BIG;
			goto big;
		}
		if (cnt >= (uint64_t)(RULETEST_MAX_STEPS - idx)) {
			ret = -ERANGE;
			goto big;
		}
		v = first;
		for (k = 0; k <= cnt; k++) {
			ret = pts_add(&a, idx++, v);
			if (ret)
				goto big;
			v += step;	/* accumulated, as promtool does */
		}
		p = q;
		continue;
bad:
		for (q = item; !item_end(*q); q++)
			;
		if (err_off)
			*err_off = (size_t)(item - s);
		seterr(err, errlen, "bad value \"%.*s\" in series values (expected a number, "
		       "a+bxN, a-bxN, axN, _, _xN or stale)", (int)(q - item), item);
		free(a.p);
		return -EINVAL;
	}
	*out = a.p;
	*nout = a.n;
	return 0;
big:
	if (err_off)
		*err_off = 0;
	if (ret == -E2BIG)
		seterr(err, errlen, "series values expand to more than %zu values", a.max);
	else if (ret == -ERANGE)
		seterr(err, errlen, "series values span more than %lld steps",
		       (long long)RULETEST_MAX_STEPS);
	else
		seterr(err, errlen, "%s", strerror(-ret));
	free(a.p);
	return ret;
}

/* --- label sets ----------------------------------------------------------- */

void rt_labels__free(struct rt_labels *ls)
{
	size_t i;

	if (!ls)
		return;
	for (i = 0; i < ls->n; i++) {
		free(ls->l[i].name);
		free(ls->l[i].value);
	}
	free(ls->l);
	ls->l = NULL;
	ls->n = 0;
}

int rt_labels__cmp(const struct rt_labels *a, const struct rt_labels *b)
{
	size_t i;
	int c;

	for (i = 0; i < a->n && i < b->n; i++) {
		c = strcmp(a->l[i].name, b->l[i].name);
		if (c)
			return c;
		c = strcmp(a->l[i].value, b->l[i].value);
		if (c)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

/* strconv.Quote for the byte strings label values are. */
static void go_quote(struct strbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf__append(b, "\"", 1);
	for (; *p; p++) {
		switch (*p) {
		case '"':  strbuf__puts(b, "\\\""); break;
		case '\\': strbuf__puts(b, "\\\\"); break;
		case '\a': strbuf__puts(b, "\\a"); break;
		case '\b': strbuf__puts(b, "\\b"); break;
		case '\f': strbuf__puts(b, "\\f"); break;
		case '\n': strbuf__puts(b, "\\n"); break;
		case '\r': strbuf__puts(b, "\\r"); break;
		case '\t': strbuf__puts(b, "\\t"); break;
		case '\v': strbuf__puts(b, "\\v"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				strbuf__printf(b, "\\x%02x", *p);
			else
				strbuf__append(b, (const char *)p, 1);
		}
	}
	strbuf__append(b, "\"", 1);
}

char *ruletest__quote(const char *s)
{
	struct strbuf b;

	strbuf__init(&b);
	go_quote(&b, s);
	return strbuf__steal(&b, NULL);
}

static void labels_str(struct strbuf *b, const struct rt_labels *ls)
{
	size_t i;

	strbuf__append(b, "{", 1);
	for (i = 0; i < ls->n; i++) {
		if (i)
			strbuf__puts(b, ", ");
		strbuf__puts(b, ls->l[i].name);
		strbuf__append(b, "=", 1);
		go_quote(b, ls->l[i].value);
	}
	strbuf__append(b, "}", 1);
}

char *rt_labels__str(const struct rt_labels *ls)
{
	struct strbuf b;

	strbuf__init(&b);
	labels_str(&b, ls);
	return strbuf__steal(&b, NULL);
}

static int label_name_cmp(const void *a, const void *b)
{
	const struct promql_label *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* A quoted PromQL string ("...", '...' with Go escapes, `raw`) at *@pp;
 * the unquoted text malloc'ed, or NULL with errno (EINVAL, ENOMEM). */
static char *scan_string(const char **pp)
{
	const char *p = *pp;
	char quote = *p++;
	struct strbuf b;

	if (quote != '"' && quote != '\'' && quote != '`') {
		errno = EINVAL;
		return NULL;
	}
	strbuf__init(&b);
	for (; *p && *p != quote; p++) {
		char c = *p;

		if (c == '\n' && quote != '`')
			break;
		if (c == '\\' && quote != '`') {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'v': c = '\v'; break;
			case '\\': case '"': case '\'': c = *p; break;
			case 'x':
				if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
					char hex[3] = { p[1], p[2], 0 };

					c = (char)strtol(hex, NULL, 16);
					p += 2;
					break;
				}
				/* fallthrough */
			default:
				strbuf__free(&b);
				errno = EINVAL;
				return NULL;
			}
		}
		strbuf__append(&b, &c, 1);
	}
	if (*p != quote) {
		strbuf__free(&b);
		errno = EINVAL;
		return NULL;
	}
	*pp = p + 1;
	return strbuf__steal(&b, NULL);	/* NULL with errno ENOMEM */
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == ':';
}

static int push_label(struct rt_labels *ls, size_t *cap, char *name, char *value)
{
	if (ls->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct promql_label *nl = realloc(ls->l, ncap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		ls->l = nl;
		*cap = ncap;
	}
	ls->l[ls->n].name = name;
	ls->l[ls->n].value = value;
	ls->n++;
	return 0;
}

int ruletest__parse_metric(const char *s, struct rt_labels *out, size_t *err_off,
			   char *err, size_t errlen)
{
	struct rt_labels ls = { 0 };
	const char *p = s, *start;
	size_t cap = 0, i;
	char *name = NULL, *value = NULL;
	const char *what;

	out->l = NULL;
	out->n = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (name_start(*p)) {
		start = p;
		while (name_char(*p))
			p++;
		name = strndup("__name__", 8);
		value = strndup(start, (size_t)(p - start));
		if (!name || !value || push_label(&ls, &cap, name, value))
			goto oom;
		name = value = NULL;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{') {
		p++;
		for (;;) {
			while (isspace((unsigned char)*p))
				p++;
			if (*p == '}') {
				p++;
				break;
			}
			if (!name_start(*p) || *p == ':') {
				what = "expected a label name";
				goto bad;
			}
			start = p;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			name = strndup(start, (size_t)(p - start));
			if (!name)
				goto oom;
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '=' || p[1] == '~') {
				what = "expected \"=\" (series take only equality matchers)";
				goto bad;
			}
			p++;
			while (isspace((unsigned char)*p))
				p++;
			value = scan_string(&p);
			if (!value) {
				if (errno == ENOMEM)
					goto oom;
				what = "expected a quoted label value";
				goto bad;
			}
			if (push_label(&ls, &cap, name, value))
				goto oom;
			name = value = NULL;
			while (isspace((unsigned char)*p))
				p++;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p != '}') {
				what = "expected \",\" or \"}\"";
				goto bad;
			}
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p) {
		what = "unexpected text after the series";
		goto bad;
	}
	if (ls.n > 1)
		qsort(ls.l, ls.n, sizeof(*ls.l), label_name_cmp);
	for (i = 1; i < ls.n; i++)
		if (!strcmp(ls.l[i].name, ls.l[i - 1].name)) {
			p = s;
			what = "label given twice";
			goto bad;
		}
	/* an empty value is the absence of the label */
	for (i = 0; i < ls.n;) {
		if (!*ls.l[i].value) {
			free(ls.l[i].name);
			free(ls.l[i].value);
			memmove(ls.l + i, ls.l + i + 1, (ls.n - i - 1) * sizeof(*ls.l));
			ls.n--;
		} else {
			i++;
		}
	}
	*out = ls;
	return 0;
bad:
	free(name);
	free(value);
	rt_labels__free(&ls);
	if (err_off)
		*err_off = (size_t)(p - s);
	seterr(err, errlen, "bad series %s at column %zu: %s", s, (size_t)(p - s) + 1, what);
	return -EINVAL;
oom:
	free(name);
	free(value);
	rt_labels__free(&ls);
	seterr(err, errlen, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

/* --- printing ------------------------------------------------------------- */

const char *ruletest__format_E(double v, char *buf, size_t len)
{
	int prec;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return buf;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return buf;
	}
	/* the shortest digits that read back as @v, as Go's -1 precision */
	for (prec = 0; prec < 17; prec++) {
		snprintf(buf, len, "%.*E", prec, v);
		if (strtod(buf, NULL) == v)
			return buf;
	}
	snprintf(buf, len, "%.17E", v);
	return buf;
}

void ruletest__go_duration(int64_t ms, char *buf, size_t len)
{
	uint64_t u = ms < 0 ? -(uint64_t)ms : (uint64_t)ms, h, m, s, f;
	const char *sign = ms < 0 ? "-" : "";
	char sec[32];

	if (!u) {
		snprintf(buf, len, "0s");
		return;
	}
	if (u < 1000) {
		snprintf(buf, len, "%s%" PRIu64 "ms", sign, u);
		return;
	}
	h = u / 3600000;
	m = u / 60000 % 60;
	s = u / 1000 % 60;
	f = u % 1000;
	if (f) {
		int n = snprintf(sec, sizeof(sec), "%" PRIu64 ".%03" PRIu64, s, f);

		while (n > 0 && sec[n - 1] == '0')
			sec[--n] = '\0';
	} else {
		snprintf(sec, sizeof(sec), "%" PRIu64, s);
	}
	if (h)
		snprintf(buf, len, "%s%" PRIu64 "h%" PRIu64 "m%ss", sign, h, m, sec);
	else if (m)
		snprintf(buf, len, "%s%" PRIu64 "m%ss", sign, m, sec);
	else
		snprintf(buf, len, "%s%ss", sign, sec);
}

void ruletest__model_duration(int64_t ms, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t mult; bool exact; } units[] = {
		{ "y", 365ULL * 24 * 3600000, true },
		{ "w", 7ULL * 24 * 3600000, true },
		{ "d", 24ULL * 3600000, false },
		{ "h", 3600000, false },
		{ "m", 60000, false },
		{ "s", 1000, false },
		{ "ms", 1, false },
	};
	uint64_t u = ms < 0 ? 0 : (uint64_t)ms;
	size_t o = 0, i;

	if (!u || !len) {
		snprintf(buf, len, "0s");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t v;

		if (units[i].exact && u % units[i].mult)
			continue;
		v = u / units[i].mult;
		if (!v)
			continue;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "%s", v, units[i].unit);
		u -= v * units[i].mult;
	}
}

/* --- comparisons ---------------------------------------------------------- */

static int sample_cmp(const void *a, const void *b)
{
	const struct rt_sample *x = a, *y = b;

	return rt_labels__cmp(&x->labels, &y->labels);
}

bool ruletest__samples_equal(struct rt_sample *exp, size_t nexp,
			     struct rt_sample *got, size_t ngot)
{
	size_t i;

	if (nexp)
		qsort(exp, nexp, sizeof(*exp), sample_cmp);
	if (ngot)
		qsort(got, ngot, sizeof(*got), sample_cmp);
	if (nexp != ngot)
		return false;
	for (i = 0; i < nexp; i++)
		if (rt_labels__cmp(&exp[i].labels, &got[i].labels) ||
		    !(exp[i].v == got[i].v))
			return false;
	return true;
}

char *ruletest__samples_str(const struct rt_sample *s, size_t n)
{
	struct strbuf b;
	char f[64];
	size_t i;

	strbuf__init(&b);
	if (!n)
		strbuf__puts(&b, "nil");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf__puts(&b, ", ");
		labels_str(&b, &s[i].labels);
		strbuf__append(&b, " ", 1);
		strbuf__puts(&b, ruletest__format_E(s[i].v, f, sizeof(f)));
	}
	return strbuf__steal(&b, NULL);
}

static int alert_cmp(const void *a, const void *b)
{
	const struct rt_alert *x = a, *y = b;
	int c = rt_labels__cmp(&x->labels, &y->labels);

	return c ? c : rt_labels__cmp(&x->annotations, &y->annotations);
}

bool ruletest__alerts_equal(struct rt_alert *exp, size_t nexp,
			    struct rt_alert *got, size_t ngot)
{
	size_t i;

	if (nexp)
		qsort(exp, nexp, sizeof(*exp), alert_cmp);
	if (ngot)
		qsort(got, ngot, sizeof(*got), alert_cmp);
	if (nexp != ngot)
		return false;
	for (i = 0; i < nexp; i++)
		if (alert_cmp(&exp[i], &got[i]))
			return false;
	return true;
}

char *ruletest__alerts_str(const struct rt_alert *a, size_t n, const char *indent)
{
	struct strbuf b;
	size_t i;

	strbuf__init(&b);
	if (!n) {
		strbuf__puts(&b, "[]");
		return strbuf__steal(&b, NULL);
	}
	strbuf__puts(&b, "[");
	for (i = 0; i < n; i++) {
		strbuf__printf(&b, "%s\n%s%zu:\n%s  Labels:", i ? "," : "", indent, i, indent);
		labels_str(&b, &a[i].labels);
		strbuf__printf(&b, "\n%s  Annotations:", indent);
		labels_str(&b, &a[i].annotations);
	}
	strbuf__printf(&b, "\n%s]", indent);
	return strbuf__steal(&b, NULL);
}
