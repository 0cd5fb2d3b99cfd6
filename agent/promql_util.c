// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL helpers: staleness markers, errors, label matchers (with a guarded
 * regcomp), sorted label sets, Go-compatible float formatting and the
 * result printer.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql_int.h"
#include "regexcost.h"

double promql_stale_nan(void)
{
	uint64_t bits = PROMQL_STALE_NAN_BITS;
	double v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

bool promql_is_stale(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits == PROMQL_STALE_NAN_BITS;
}

const char *promql_error_str(const struct promql_error *e, char *buf, size_t len)
{
	if (e->line > 0)
		snprintf(buf, len, "%d:%d: parse error: %s", e->line, e->col, e->msg);
	else
		snprintf(buf, len, "%s", e->msg);
	return buf;
}

const char *promql_type_name(enum promql_value_type t)
{
	switch (t) {
	case PROMQL_SCALAR:
		return "scalar";
	case PROMQL_VECTOR:
		return "instant vector";
	case PROMQL_MATRIX:
		return "range vector";
	case PROMQL_STRING:
		return "string";
	default:
		return "none";
	}
}

/* ---- regular expressions ---- */

#define RE_MAX_COST	65536

/*
 * glibc's regcomp copies a sub-expression once per count of a bounded
 * repetition and "X+" as "XX*", so nested repetitions multiply (the
 * config fuzzer found "((a{99}){99}){99}" taking gigabytes).  Estimate the
 * expanded size and refuse patterns past RE_MAX_COST.  Same estimate as
 * the config parser's, with a larger budget since label values are long.
 */
static bool re_too_costly(const char *re)
{
	return regex_cost__exceeds(re, RE_MAX_COST);
}

/*
 * Checks RE2 makes that glibc does not, and that keep glibc's regcomp
 * out of its exponential corners: repetition counts above 1000 ("invalid
 * repeat count") and a repetition of a repetition such as "a**" or "a+++"
 * ("invalid nested repetition operator"; "a*?" is RE2's non-greedy form
 * and allowed).  Bracket expressions are skipped.  NULL if fine, else the
 * RE2 message.
 */
static const char *re_bad_repeat(const char *re, bool *lazy)
{
	bool after_rep = false, after_lazy = false;
	const char *s;

	for (s = re; *s; s++) {
		unsigned long n;
		char *e;

		switch (*s) {
		case '\\':
			if (s[1])
				s++;
			after_rep = after_lazy = false;
			continue;
		case '[':
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
					char t = s[1];

					for (s += 2; *s && !(s[0] == t && s[1] == ']'); s++)
						;
					if (!*s)
						return NULL;
					s++;
				}
				s++;
			}
			if (!*s)
				return NULL;
			after_rep = after_lazy = false;
			continue;
		case '*':
		case '+':
		case '?':
			if (*s == '?' && after_rep && !after_lazy) {
				after_lazy = true;
				*lazy = true;
				continue;
			}
			if (after_rep)
				return "invalid nested repetition operator";
			after_rep = true;
			after_lazy = false;
			continue;
		case '{':
			if (!(s[1] >= '0' && s[1] <= '9'))
				break;
			n = strtoul(s + 1, &e, 10);
			if (n > 1000)
				return "invalid repeat count";
			if (*e == ',' && e[1] >= '0' && e[1] <= '9') {
				if (strtoul(e + 1, &e, 10) > 1000)
					return "invalid repeat count";
			} else if (*e == ',') {
				e++;
			}
			if (*e != '}')
				break;
			if (after_rep)
				return "invalid nested repetition operator";
			after_rep = true;
			after_lazy = false;
			s = e;
			continue;
		default:
			break;
		}
		after_rep = after_lazy = false;
	}
	return NULL;
}

/* RE2 class escapes that POSIX ERE lacks, in and outside brackets. */
static const char *re2_class(char c, bool in_bracket)
{
	switch (c) {
	case 'd':
		return in_bracket ? "0-9" : "[0-9]";
	case 's':
		return in_bracket ? "[:space:]" : "[[:space:]]";
	case 'w':
		return in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
	case 'D':
		return in_bracket ? NULL : "[^0-9]";
	case 'S':
		return in_bracket ? NULL : "[^[:space:]]";
	case 'W':
		return in_bracket ? NULL : "[^[:alnum:]_]";
	}
	return NULL;
}

int promql_regcomp(regex_t *out, const char *re, int cflags,
		   struct promql_re_groups *g, char *errbuf, size_t errlen)
{
	size_t len = strlen(re), i, o = 0;
	int ere = 1, re2 = 0;
	bool in_br = false, lazy = false;
	char *x;
	int ret;

	if (g)
		memset(g, 0, sizeof(*g));

	/* "(?i)" prefix: RE2's case-insensitive flag */
	if (!strncmp(re, "(?i)", 4)) {
		cflags |= REG_ICASE;
		re += 4;
		len -= 4;
	}
	if (len > SIZE_MAX / 16 - 8) {
		snprintf(errbuf, errlen, "regex too long");
		return -EINVAL;
	}
	x = malloc(len * 14 + 8);
	if (!x) {
		snprintf(errbuf, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	x[o++] = '^';
	x[o++] = '(';
	if (g) {
		g->re2_num[1] = 0;	/* the wrapper: RE2's $0 */
		g->n = 2;
	}
	for (i = 0; i < len; i++) {
		char c = re[i];
		const char *cls;

		if (c == '\\' && i + 1 < len) {
			cls = re2_class(re[i + 1], in_br);
			if (cls) {
				memcpy(x + o, cls, strlen(cls));
				o += strlen(cls);
			} else if (in_br) {
				/* a bracket takes a backslash literally in ERE */
				if (re[i + 1] != '\\')
					x[o++] = re[i + 1];
				else
					x[o++] = '\\';
			} else {
				x[o++] = '\\';
				x[o++] = re[i + 1];
			}
			i++;
			continue;
		}
		if (!in_br && c == '[') {
			in_br = true;
			x[o++] = c;
			if (i + 1 < len && re[i + 1] == '^')
				x[o++] = re[++i];
			if (i + 1 < len && re[i + 1] == ']')
				x[o++] = re[++i];
			continue;
		}
		if (in_br && c == '[' && i + 1 < len &&
		    (re[i + 1] == ':' || re[i + 1] == '.' || re[i + 1] == '=')) {
			char t = re[i + 1];

			x[o++] = re[i++];
			x[o++] = re[i++];
			while (i < len && !(re[i] == t && i + 1 < len && re[i + 1] == ']'))
				x[o++] = re[i++];
			if (i < len) {
				x[o++] = re[i++];
				x[o++] = re[i];
			}
			continue;
		}
		if (!in_br && c == '(') {
			/* RE2 groups: (?:x) does not count, (?P<n>x) and (?<n>x)
			 * are named; ERE only has (x), so map its numbers */
			const char *name = NULL;
			size_t nlen = 0;
			bool capture = true;

			if (re[i + 1] == '?' && re[i + 2] == ':') {
				capture = false;
				i += 2;
			} else if (re[i + 1] == '?' && (re[i + 2] == '<' ||
						       (re[i + 2] == 'P' && re[i + 3] == '<'))) {
				size_t s = i + (re[i + 2] == 'P' ? 4 : 3);

				name = re + s;
				while (s < len && re[s] != '>')
					s++;
				if (s >= len) {
					snprintf(errbuf, errlen, "invalid named capture");
					free(x);
					return -EINVAL;
				}
				nlen = (size_t)(re + s - name);
				i = s;
			}
			ere++;
			if (capture)
				re2++;
			if (g && ere < PROMQL_RE_MAX_GROUPS) {
				g->re2_num[ere] = capture ? re2 : -1;
				if (name && nlen < sizeof(g->name[0])) {
					memcpy(g->name[ere], name, nlen);
					g->name[ere][nlen] = 0;
				}
				g->n = ere + 1;
			}
			x[o++] = '(';
			continue;
		}
		if (in_br && c == ']')
			in_br = false;
		x[o++] = c;
	}
	x[o++] = ')';
	x[o++] = '$';
	x[o] = 0;
	if (re_bad_repeat(x, &lazy)) {
		snprintf(errbuf, errlen, "%s", re_bad_repeat(x, &lazy));
		free(x);
		return -EINVAL;
	}
	/* ERE has no non-greedy repetition: glibc reads "*?" as greedy,
	 * which changes what groups capture (never whether a fully anchored
	 * pattern matches), so refuse it only where captures are used */
	if (lazy && !(cflags & REG_NOSUB)) {
		snprintf(errbuf, errlen, "non-greedy repetition is not supported in capturing regexes");
		free(x);
		return -EINVAL;
	}
	if (re_too_costly(x)) {
		snprintf(errbuf, errlen, "regex too large once repetitions are expanded (limit %d)",
			 RE_MAX_COST);
		free(x);
		return -EINVAL;
	}
	ret = regcomp(out, x, cflags | REG_EXTENDED);
	free(x);
	if (ret) {
		char m[128];

		regerror(ret, out, m, sizeof(m));
		snprintf(errbuf, errlen, "%s", m);
		regfree(out);
		return -EINVAL;
	}
	return 0;
}

struct promql_matcher *promql_matcher_new(enum promql_match_type type,
					  const char *name, const char *value,
					  char *errbuf, size_t errlen)
{
	struct promql_matcher *m = calloc(1, sizeof(*m));

	if (!m)
		goto err_nomem;
	m->type = type;
	m->name = strdup(name);
	m->value = strdup(value);
	if (!m->name || !m->value)
		goto err_nomem;
	if (type == PROMQL_MATCH_RE || type == PROMQL_MATCH_NRE) {
		char e[160];
		int ret = promql_regcomp(&m->re, value, REG_NOSUB, NULL, e, sizeof(e));

		if (ret) {
			if (ret == -ENOMEM)
				goto err_nomem;
			snprintf(errbuf, errlen, "error parsing regexp: %s: `%s`", e, value);
			promql_matcher_free(m);
			errno = EINVAL;
			return NULL;
		}
		m->re_ok = true;
	}
	return m;
err_nomem:
	promql_matcher_free(m);
	snprintf(errbuf, errlen, "%s", strerror(ENOMEM));
	errno = ENOMEM;
	return NULL;
}

void promql_matcher_free(struct promql_matcher *m)
{
	if (!m)
		return;
	if (m->re_ok)
		regfree(&m->re);
	free(m->name);
	free(m->value);
	free(m);
}

const char *promql_matcher_name(const struct promql_matcher *m)
{
	return m->name;
}

const char *promql_matcher_value(const struct promql_matcher *m)
{
	return m->value;
}

enum promql_match_type promql_matcher_type(const struct promql_matcher *m)
{
	return m->type;
}

bool promql_matcher_matches(const struct promql_matcher *m, const char *v)
{
	if (!v)
		v = "";
	switch (m->type) {
	case PROMQL_MATCH_EQ:
		return !strcmp(v, m->value);
	case PROMQL_MATCH_NE:
		return strcmp(v, m->value) != 0;
	case PROMQL_MATCH_RE:
		return regexec(&m->re, v, 0, NULL, 0) == 0;
	case PROMQL_MATCH_NRE:
		return regexec(&m->re, v, 0, NULL, 0) != 0;
	}
	return false;
}

/* ---- label sets ---- */

void promql_labels_free(struct promql_label *l, size_t n)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].value);
	}
	free(l);
}

int promql_labels_dup(const struct promql_label *src, size_t n,
		      struct promql_label **out)
{
	struct promql_label *l;
	size_t i;

	*out = NULL;
	l = calloc(n ? n : 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		l[i].name = strdup(src[i].name);
		l[i].value = strdup(src[i].value);
		if (!l[i].name || !l[i].value) {
			promql_labels_free(l, i + 1);
			return -ENOMEM;
		}
	}
	*out = l;
	return 0;
}

static int label_cmp(const void *a, const void *b)
{
	const struct promql_label *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void promql_labels_sort(struct promql_label *l, size_t n)
{
	size_t i;

	/* Series mostly come with their labels in order already: check
	 * before paying for a sort. */
	for (i = 1; i < n && strcmp(l[i - 1].name, l[i].name) < 0; i++)
		;
	if (i < n)
		qsort(l, n, sizeof(*l), label_cmp);
}

const char *promql_labels_get(const struct promql_label *l, size_t n,
			      const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return l[i].value;
	return NULL;
}

void promql_labels_del(struct promql_label *l, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(l[i].name, name))
			continue;
		free(l[i].name);
		free(l[i].value);
		memmove(l + i, l + i + 1, (*n - i - 1) * sizeof(*l));
		(*n)--;
		return;
	}
}

int promql_labels_set(struct promql_label **lp, size_t *n, const char *name,
		      const char *value)
{
	struct promql_label *l = *lp;
	size_t i;
	char *v, *nm;

	if (!value || !*value) {
		promql_labels_del(l, n, name);
		return 0;
	}
	for (i = 0; i < *n; i++) {
		if (strcmp(l[i].name, name))
			continue;
		v = strdup(value);
		if (!v)
			return -ENOMEM;
		free(l[i].value);
		l[i].value = v;
		return 0;
	}
	l = realloc(l, (*n + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	*lp = l;
	nm = strdup(name);
	v = strdup(value);
	if (!nm || !v) {
		free(nm);
		free(v);
		return -ENOMEM;
	}
	for (i = *n; i > 0 && strcmp(l[i - 1].name, name) > 0; i--)
		l[i] = l[i - 1];
	l[i].name = nm;
	l[i].value = v;
	(*n)++;
	return 0;
}

int promql_labels_cmp(const struct promql_label *a, size_t na,
		      const struct promql_label *b, size_t nb)
{
	size_t i;
	int c;

	for (i = 0; i < na && i < nb; i++) {
		c = strcmp(a[i].name, b[i].name);
		if (c)
			return c;
		c = strcmp(a[i].value, b[i].value);
		if (c)
			return c;
	}
	return na < nb ? -1 : na > nb ? 1 : 0;
}

/* ---- float formatting ---- */

/*
 * Shortest decimal digits that read back as @v (v finite, > 0): fills
 * @digits (no dot) and returns the decimal exponent of the first digit.
 */
static int shortest_digits(double v, char *digits, int *nd)
{
	char tmp[64];
	int p, e, i, o = 0;

	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	for (i = 0; tmp[i] && tmp[i] != 'e'; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[o++] = tmp[i];
	e = atoi(tmp + i + 1);
	while (o > 1 && digits[o - 1] == '0')
		o--;
	digits[o] = 0;
	*nd = o;
	return e;
}

const char *promql_format_float(double v, char fmt, char *buf)
{
	char dg[32];
	int nd, e, o = 0, i;

	if (isnan(v))
		return strcpy(buf, "NaN");
	if (isinf(v))
		return strcpy(buf, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return strcpy(buf, signbit(v) ? "-0" : "0");
	if (v < 0) {
		buf[o++] = '-';
		v = -v;
	}
	e = shortest_digits(v, dg, &nd);
	if (fmt != 'f' && (e < -4 || e >= 6)) {
		buf[o++] = dg[0];
		if (nd > 1) {
			buf[o++] = '.';
			memcpy(buf + o, dg + 1, nd - 1);
			o += nd - 1;
		}
		o += sprintf(buf + o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
		return buf;
	}
	if (e < 0) {
		buf[o++] = '0';
		buf[o++] = '.';
		for (i = 0; i < -e - 1; i++)
			buf[o++] = '0';
		memcpy(buf + o, dg, nd);
		o += nd;
	} else {
		for (i = 0; i <= e || i < nd; i++) {
			if (i == e + 1)
				buf[o++] = '.';
			buf[o++] = i < nd ? dg[i] : '0';
		}
	}
	buf[o] = 0;
	return buf;
}

/* ---- result printing ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	char *np;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 128) + n;

		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A label value as a Go %q string (enough for printing and tests). */
static void sb_quoted(struct sbuf *b, const char *s)
{
	char t[8];

	sb_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			t[0] = '\\';
			t[1] = c;
			sb_add(b, t, 2);
		} else if (c == '\n') {
			sb_str(b, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(t, sizeof(t), "\\x%02x", c);
			sb_str(b, t);
		} else {
			sb_add(b, s, 1);
		}
	}
	sb_add(b, "\"", 1);
}

static void sb_labels(struct sbuf *b, const struct promql_label *l, size_t n)
{
	const char *name = promql_labels_get(l, n, "__name__");
	bool first = true;
	size_t i;

	if (name)
		sb_str(b, name);
	if (name && n == 1)
		return;
	sb_str(b, "{");
	for (i = 0; i < n; i++) {
		if (!strcmp(l[i].name, "__name__"))
			continue;
		if (!first)
			sb_str(b, ", ");
		first = false;
		sb_str(b, l[i].name);
		sb_str(b, "=");
		sb_quoted(b, l[i].value);
	}
	sb_str(b, "}");
}

char *promql_result_str(const struct promql_result *r)
{
	struct sbuf b = { 0 };
	char f[PROMQL_FLOAT_BUF], t[32];
	size_t i, j;

	sb_str(&b, "");
	switch (r->type) {
	case PROMQL_SCALAR:
		sb_str(&b, promql_format_float(r->scalar, 'f', f));
		sb_str(&b, "\n");
		break;
	case PROMQL_STRING:
		sb_quoted(&b, r->str);
		sb_str(&b, "\n");
		break;
	case PROMQL_VECTOR:
		for (i = 0; i < r->n; i++) {
			sb_labels(&b, r->elems[i].labels, r->elems[i].nlabels);
			sb_str(&b, " => ");
			sb_str(&b, promql_format_float(r->elems[i].v, 'f', f));
			snprintf(t, sizeof(t), " @[%lld]\n", (long long)r->elems[i].t);
			sb_str(&b, t);
		}
		break;
	case PROMQL_MATRIX:
		for (i = 0; i < r->n; i++) {
			sb_labels(&b, r->elems[i].labels, r->elems[i].nlabels);
			sb_str(&b, " =>");
			for (j = 0; j < r->elems[i].nsamples; j++) {
				sb_str(&b, " ");
				sb_str(&b, promql_format_float(r->elems[i].samples[j].v, 'f', f));
				snprintf(t, sizeof(t), " @[%lld]",
					 (long long)r->elems[i].samples[j].t);
				sb_str(&b, t);
			}
			sb_str(&b, "\n");
		}
		break;
	default:
		break;
	}
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void sb_json_str(struct sbuf *b, const char *s)
{
	char t[8];

	sb_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			t[0] = '\\';
			t[1] = c;
			sb_add(b, t, 2);
		} else if (c < 0x20) {
			snprintf(t, sizeof(t), "\\u%04x", c);
			sb_str(b, t);
		} else {
			sb_add(b, s, 1);
		}
	}
	sb_add(b, "\"", 1);
}

/* [<seconds>,"<value>"] as the Prometheus HTTP API writes a point. */
static void sb_json_point(struct sbuf *b, int64_t t, double v)
{
	char f[PROMQL_FLOAT_BUF];

	sb_str(b, "[");
	sb_str(b, promql_format_float((double)t / 1000, 'f', f));
	sb_str(b, ",\"");
	sb_str(b, promql_format_float(v, 'f', f));
	sb_str(b, "\"]");
}

static void sb_json_metric(struct sbuf *b, const struct promql_element *e)
{
	size_t i;

	sb_str(b, "{\"metric\":{");
	for (i = 0; i < e->nlabels; i++) {
		if (i)
			sb_str(b, ",");
		sb_json_str(b, e->labels[i].name);
		sb_str(b, ":");
		sb_json_str(b, e->labels[i].value);
	}
	sb_str(b, "},");
}

char *promql_result_json(const struct promql_result *r, int64_t t_ms)
{
	static const char *const types[] = {
		[PROMQL_SCALAR] = "scalar", [PROMQL_VECTOR] = "vector",
		[PROMQL_MATRIX] = "matrix", [PROMQL_STRING] = "string",
	};
	struct sbuf b = { 0 };
	char f[PROMQL_FLOAT_BUF];
	size_t i, j;

	if (r->type < PROMQL_SCALAR || r->type > PROMQL_STRING) {
		errno = EINVAL;
		return NULL;
	}
	sb_str(&b, "{\"resultType\":\"");
	sb_str(&b, types[r->type]);
	sb_str(&b, "\",\"result\":");
	switch (r->type) {
	case PROMQL_SCALAR:
		sb_json_point(&b, t_ms, r->scalar);
		break;
	case PROMQL_STRING:
		sb_str(&b, "[");
		sb_str(&b, promql_format_float((double)t_ms / 1000, 'f', f));
		sb_str(&b, ",");
		sb_json_str(&b, r->str);
		sb_str(&b, "]");
		break;
	case PROMQL_VECTOR:
		sb_str(&b, "[");
		for (i = 0; i < r->n; i++) {
			if (i)
				sb_str(&b, ",");
			sb_json_metric(&b, &r->elems[i]);
			sb_str(&b, "\"value\":");
			sb_json_point(&b, r->elems[i].t, r->elems[i].v);
			sb_str(&b, "}");
		}
		sb_str(&b, "]");
		break;
	default:
		sb_str(&b, "[");
		for (i = 0; i < r->n; i++) {
			if (i)
				sb_str(&b, ",");
			sb_json_metric(&b, &r->elems[i]);
			sb_str(&b, "\"values\":[");
			for (j = 0; j < r->elems[i].nsamples; j++) {
				if (j)
					sb_str(&b, ",");
				sb_json_point(&b, r->elems[i].samples[j].t, r->elems[i].samples[j].v);
			}
			sb_str(&b, "]}");
		}
		sb_str(&b, "]");
		break;
	}
	sb_str(&b, "}");
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

void promql_result_free(struct promql_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		promql_labels_free(r->elems[i].labels, r->elems[i].nlabels);
		free(r->elems[i].samples);
	}
	free(r->elems);
	free(r->str);
	memset(r, 0, sizeof(*r));
}
