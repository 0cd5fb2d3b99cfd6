// SPDX-License-Identifier: GPL-2.0
/*
 * PromQL lexer and recursive-descent parser.  The whole expression is
 * lexed first so the parser can look ahead freely; keywords are plain
 * identifiers recognised by position (so "on" or "bool" stay valid label
 * names).  Precedence and type rules follow Prometheus 2.42's grammar:
 *   or < and unless < comparisons < + - < * / % atan2 < unary < ^
 * with ^ right-associative.  Errors carry the byte offset of the token at
 * fault; messages use Prometheus' token descriptions.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql_int.h"

#define V PROMQL_VECTOR
#define S PROMQL_SCALAR
#define M PROMQL_MATRIX
#define STR PROMQL_STRING

static const struct promql_func funcs[] = {
	{ F_ABS, "abs", { V }, 1, 0, V },
	{ F_ABSENT, "absent", { V }, 1, 0, V },
	{ F_ABSENT_OVER_TIME, "absent_over_time", { M }, 1, 0, V },
	{ F_ACOS, "acos", { V }, 1, 0, V },
	{ F_ACOSH, "acosh", { V }, 1, 0, V },
	{ F_ASIN, "asin", { V }, 1, 0, V },
	{ F_ASINH, "asinh", { V }, 1, 0, V },
	{ F_ATAN, "atan", { V }, 1, 0, V },
	{ F_ATANH, "atanh", { V }, 1, 0, V },
	{ F_AVG_OVER_TIME, "avg_over_time", { M }, 1, 0, V },
	{ F_CEIL, "ceil", { V }, 1, 0, V },
	{ F_CHANGES, "changes", { M }, 1, 0, V },
	{ F_CLAMP, "clamp", { V, S, S }, 3, 0, V },
	{ F_CLAMP_MAX, "clamp_max", { V, S }, 2, 0, V },
	{ F_CLAMP_MIN, "clamp_min", { V, S }, 2, 0, V },
	{ F_COS, "cos", { V }, 1, 0, V },
	{ F_COSH, "cosh", { V }, 1, 0, V },
	{ F_COUNT_OVER_TIME, "count_over_time", { M }, 1, 0, V },
	{ F_DAYS_IN_MONTH, "days_in_month", { V }, 0, 1, V },
	{ F_DAY_OF_MONTH, "day_of_month", { V }, 0, 1, V },
	{ F_DAY_OF_WEEK, "day_of_week", { V }, 0, 1, V },
	{ F_DAY_OF_YEAR, "day_of_year", { V }, 0, 1, V },
	{ F_DEG, "deg", { V }, 1, 0, V },
	{ F_DELTA, "delta", { M }, 1, 0, V },
	{ F_DERIV, "deriv", { M }, 1, 0, V },
	{ F_EXP, "exp", { V }, 1, 0, V },
	{ F_FLOOR, "floor", { V }, 1, 0, V },
	{ F_HISTOGRAM_QUANTILE, "histogram_quantile", { S, V }, 2, 0, V },
	{ F_HOLT_WINTERS, "holt_winters", { M, S, S }, 3, 0, V },
	{ F_HOUR, "hour", { V }, 0, 1, V },
	{ F_IDELTA, "idelta", { M }, 1, 0, V },
	{ F_INCREASE, "increase", { M }, 1, 0, V },
	{ F_IRATE, "irate", { M }, 1, 0, V },
	{ F_LABEL_JOIN, "label_join", { V, STR, STR, STR }, 3, -1, V },
	{ F_LABEL_REPLACE, "label_replace", { V, STR, STR, STR, STR }, 5, 0, V },
	{ F_LAST_OVER_TIME, "last_over_time", { M }, 1, 0, V },
	{ F_LN, "ln", { V }, 1, 0, V },
	{ F_LOG10, "log10", { V }, 1, 0, V },
	{ F_LOG2, "log2", { V }, 1, 0, V },
	{ F_MAX_OVER_TIME, "max_over_time", { M }, 1, 0, V },
	{ F_MIN_OVER_TIME, "min_over_time", { M }, 1, 0, V },
	{ F_MINUTE, "minute", { V }, 0, 1, V },
	{ F_MONTH, "month", { V }, 0, 1, V },
	{ F_PI, "pi", { 0 }, 0, 0, S },
	{ F_PREDICT_LINEAR, "predict_linear", { M, S }, 2, 0, V },
	{ F_PRESENT_OVER_TIME, "present_over_time", { M }, 1, 0, V },
	{ F_QUANTILE_OVER_TIME, "quantile_over_time", { S, M }, 2, 0, V },
	{ F_RAD, "rad", { V }, 1, 0, V },
	{ F_RATE, "rate", { M }, 1, 0, V },
	{ F_RESETS, "resets", { M }, 1, 0, V },
	{ F_ROUND, "round", { V, S }, 1, 1, V },
	{ F_SCALAR, "scalar", { V }, 1, 0, S },
	{ F_SGN, "sgn", { V }, 1, 0, V },
	{ F_SIN, "sin", { V }, 1, 0, V },
	{ F_SINH, "sinh", { V }, 1, 0, V },
	{ F_SORT, "sort", { V }, 1, 0, V },
	{ F_SORT_DESC, "sort_desc", { V }, 1, 0, V },
	{ F_SQRT, "sqrt", { V }, 1, 0, V },
	{ F_STDDEV_OVER_TIME, "stddev_over_time", { M }, 1, 0, V },
	{ F_STDVAR_OVER_TIME, "stdvar_over_time", { M }, 1, 0, V },
	{ F_SUM_OVER_TIME, "sum_over_time", { M }, 1, 0, V },
	{ F_TAN, "tan", { V }, 1, 0, V },
	{ F_TANH, "tanh", { V }, 1, 0, V },
	{ F_TIME, "time", { 0 }, 0, 0, S },
	{ F_TIMESTAMP, "timestamp", { V }, 1, 0, V },
	{ F_VECTOR, "vector", { S }, 1, 0, V },
	{ F_YEAR, "year", { V }, 0, 1, V },
};

const struct promql_func *promql_func_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (!strcmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

const char *const promql_op_names[] = {
	[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/",
	[OP_MOD] = "%", [OP_POW] = "^", [OP_ATAN2] = "atan2",
	[OP_EQ] = "==", [OP_NE] = "!=", [OP_GT] = ">", [OP_LT] = "<",
	[OP_GE] = ">=", [OP_LE] = "<=", [OP_AND] = "and", [OP_OR] = "or",
	[OP_UNLESS] = "unless",
};

const char *const promql_agg_names[] = {
	[AGG_SUM] = "sum", [AGG_AVG] = "avg", [AGG_MIN] = "min",
	[AGG_MAX] = "max", [AGG_COUNT] = "count", [AGG_GROUP] = "group",
	[AGG_STDDEV] = "stddev", [AGG_STDVAR] = "stdvar", [AGG_TOPK] = "topk",
	[AGG_BOTTOMK] = "bottomk", [AGG_QUANTILE] = "quantile",
	[AGG_COUNT_VALUES] = "count_values",
};

/* ---- lexer ---- */

enum tok {
	T_EOF, T_NUM, T_DUR, T_STR, T_IDENT,
	T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET,
	T_COMMA, T_COLON, T_ASSIGN, T_EQLC, T_NEQ, T_LSS, T_GTR, T_LTE, T_GTE,
	T_RE, T_NRE, T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_POW, T_AT,
	T_ERR,	/* where lexing failed; the parser reports it on reaching it */
};

static const char *const tok_str[] = {
	[T_LBRACE] = "{", [T_RBRACE] = "}", [T_LPAREN] = "(",
	[T_RPAREN] = ")", [T_LBRACKET] = "[", [T_RBRACKET] = "]",
	[T_COMMA] = ",", [T_COLON] = ":", [T_ASSIGN] = "=", [T_EQLC] = "==",
	[T_NEQ] = "!=", [T_LSS] = "<", [T_GTR] = ">", [T_LTE] = "<=",
	[T_GTE] = ">=", [T_RE] = "=~", [T_NRE] = "!~", [T_ADD] = "+",
	[T_SUB] = "-", [T_MUL] = "*", [T_DIV] = "/", [T_MOD] = "%",
	[T_POW] = "^", [T_AT] = "@",
};

struct token {
	enum tok type;
	int pos, len;
	double num;		/* T_NUM */
	int64_t dur;		/* T_DUR, ms */
	char *str;		/* T_STR unquoted, T_IDENT text */
};

struct parser {
	const char *in;
	struct token *toks;
	size_t ntoks, cap, i;
	struct promql_error *err;
	bool failed;
	int depth;		/* parse_expr nesting, bounded */
	struct promql_error lexerr;	/* for T_ERR */
};

/* Deeper expressions are refused so neither the parser's nor the
 * evaluator's recursion can exhaust the stack. */
#define MAX_DEPTH 256
#define MAX_TOKENS 65536
#define MAX_HEIGHT 1024

static void perr(struct parser *p, int pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, int pos, const char *fmt, ...)
{
	va_list ap;
	int i, line = 1, last_nl = -1;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	for (i = 0; i < pos && p->in[i]; i++) {
		if (p->in[i] == '\n') {
			line++;
			last_nl = i;
		}
	}
	p->err->line = line;
	p->err->col = pos - last_nl;
	p->err->offset = pos;
}

static void oom(struct parser *p)
{
	perr(p, 0, "out of memory");
	errno = ENOMEM;
}

static bool is_id_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static bool is_id_char(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

/* Prometheus' model.ParseDuration: units y w d h m s ms, largest first,
 * each at most once. */
static int parse_duration(const char *s, size_t len, int64_t *out)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "y", 365LL * 86400000 }, { "w", 7LL * 86400000 },
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	size_t i = 0, u, last = 0;
	int64_t total = 0;
	bool any = false;

	while (i < len) {
		uint64_t n = 0;
		size_t start = i;

		while (i < len && isdigit((unsigned char)s[i])) {
			if (n > (uint64_t)INT64_MAX / 10)
				return -ERANGE;
			n = n * 10 + (uint64_t)(s[i++] - '0');
		}
		if (i == start)
			return -EINVAL;
		for (u = 0; u < 7; u++) {
			size_t ul = strlen(units[u].u);

			if (i + ul <= len && !strncmp(s + i, units[u].u, ul) &&
			    !(ul == 1 && units[u].u[0] == 'm' && i + 1 < len && s[i + 1] == 's'))
				break;
		}
		if (u == 7 || (any && u <= last))
			return -EINVAL;
		i += strlen(units[u].u);
		if (n > (uint64_t)INT64_MAX / (uint64_t)units[u].ms)
			return -ERANGE;
		if ((int64_t)(n * (uint64_t)units[u].ms) > INT64_MAX - total)
			return -ERANGE;
		total += (int64_t)n * units[u].ms;
		last = u;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*out = total;
	return 0;
}

static int utf8_put(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	} else if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	} else if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lex a quoted string at p->in[pos]; returns the length consumed or -1. */
static int lex_string(struct parser *p, int pos, char **out)
{
	const char *s = p->in + pos;
	char q = s[0], *o;
	int i = 1, n = 0, k;

	o = malloc(strlen(s) * 4 + 1);
	if (!o) {
		oom(p);
		return -1;
	}
	for (;;) {
		char c = s[i];

		if (!c || (c == '\n' && q != '`')) {
			perr(p, pos, "unterminated quoted string");
			goto err;
		}
		if (c == q) {
			i++;
			break;
		}
		if (c != '\\' || q == '`') {
			o[n++] = c;
			i++;
			continue;
		}
		c = s[++i];
		i++;
		switch (c) {
		case 'a': o[n++] = '\a'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'v': o[n++] = '\v'; break;
		case '\\': o[n++] = '\\'; break;
		case '\'':
		case '"':
			if (c != q) {
				perr(p, pos, "unknown escape sequence U+%04X '%c'", (unsigned char)c, c);
				goto err;
			}
			o[n++] = c;
			break;
		case 'x':
		case 'u':
		case 'U': {
			int len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t v = 0;

			for (k = 0; k < len; k++) {
				int h = hexval((unsigned char)s[i + k]);

				if (h < 0) {
					perr(p, pos + i + k, "illegal character %c in escape sequence",
					     s[i + k] ? s[i + k] : ' ');
					goto err;
				}
				v = v * 16 + (uint32_t)h;
			}
			i += len;
			if (c == 'x') {
				o[n++] = (char)v;
			} else {
				if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) {
					perr(p, pos + i - len - 2, "escape sequence is an invalid Unicode code point");
					goto err;
				}
				n += utf8_put(o + n, v);
			}
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			uint32_t v = (uint32_t)(c - '0');

			for (k = 0; k < 2; k++) {
				if (s[i + k] < '0' || s[i + k] > '7') {
					perr(p, pos + i + k, "illegal character %c in escape sequence",
					     s[i + k] ? s[i + k] : ' ');
					goto err;
				}
				v = v * 8 + (uint32_t)(s[i + k] - '0');
			}
			i += 2;
			if (v > 255) {
				perr(p, pos + i - 4, "octal escape value > 255: %u", v);
				goto err;
			}
			o[n++] = (char)v;
			break;
		}
		default:
			if (!c) {
				perr(p, pos, "unterminated quoted string");
				goto err;
			}
			perr(p, pos, "unknown escape sequence U+%04X '%c'", (unsigned char)c, c);
			goto err;
		}
	}
	o[n] = 0;
	*out = o;
	return i;
err:
	free(o);
	return -1;
}

static struct token *push_tok(struct parser *p, enum tok t, int pos, int len)
{
	struct token *nt;

	if (p->ntoks == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;

		nt = realloc(p->toks, cap * sizeof(*nt));
		if (!nt) {
			oom(p);
			return NULL;
		}
		p->toks = nt;
		p->cap = cap;
	}
	if (p->ntoks >= MAX_TOKENS) {
		perr(p, pos, "expression too long (limit %d tokens)", MAX_TOKENS);
		return NULL;
	}
	nt = &p->toks[p->ntoks++];
	memset(nt, 0, sizeof(*nt));
	nt->type = t;
	nt->pos = pos;
	nt->len = len;
	return nt;
}

/* Number ("1", "1.5e3", "0x1f", ".5") or duration ("1h30m"). */
static int lex_number(struct parser *p, int pos)
{
	const char *s = p->in + pos;
	int i = 0;
	struct token *t;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
		for (i = 2; isxdigit((unsigned char)s[i]); i++)
			;
	} else {
		while (isdigit((unsigned char)s[i]))
			i++;
		if (s[i] == '.') {
			i++;
			while (isdigit((unsigned char)s[i]))
				i++;
		}
		if ((s[i] == 'e' || s[i] == 'E') &&
		    (isdigit((unsigned char)s[i + 1]) ||
		     ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
			i += 2;
			while (isdigit((unsigned char)s[i]))
				i++;
		}
	}
	if (!is_id_char((unsigned char)s[i]) && s[i] != '.') {
		char buf[64];
		double v;

		if (i >= (int)sizeof(buf)) {
			v = strtod(s, NULL);	/* long literal: strtod stops in time */
		} else {
			memcpy(buf, s, i);
			buf[i] = 0;
			v = strtod(buf, NULL);
		}
		t = push_tok(p, T_NUM, pos, i);
		if (!t)
			return -1;
		t->num = v;
		return i;
	}
	/* not a plain number: a duration? */
	for (i = 0; isalnum((unsigned char)s[i]); i++)
		;
	{
		int64_t d;

		if (parse_duration(s, i, &d)) {
			int e = i;

			while (is_id_char((unsigned char)s[e]) || s[e] == '.')
				e++;
			perr(p, pos, "bad number or duration syntax: \"%.*s\"", e, s);
			return -1;
		}
		t = push_tok(p, T_DUR, pos, i);
		if (!t)
			return -1;
		t->dur = d;
	}
	return i;
}

static int lex(struct parser *p)
{
	const char *in = p->in;
	int pos = 0, n, depth = 0, brackets = 0, braces = 0;

	while (in[pos]) {
		unsigned char c = in[pos];
		enum tok t = T_EOF;
		struct token *tk;

		if (isspace(c)) {
			pos++;
			continue;
		}
		if (c == '#') {
			while (in[pos] && in[pos] != '\n')
				pos++;
			continue;
		}
		if (braces && !is_id_start(c) && c != '"' && c != '\'' && c != '`' &&
		    c != '=' && c != '!' && c != ',' && c != '}') {
			perr(p, pos, "unexpected character inside braces: '%c'", c);
			return -1;
		}
		if (isdigit(c) || (c == '.' && isdigit((unsigned char)in[pos + 1]))) {
			n = lex_number(p, pos);
			if (n < 0)
				return -1;
			pos += n;
			continue;
		}
		/* inside [...] a colon separates range and step */
		if (is_id_start(c) && !(brackets && c == ':')) {
			for (n = pos; is_id_char((unsigned char)in[n]) &&
				      !(brackets && in[n] == ':'); n++)
				;
			tk = push_tok(p, T_IDENT, pos, n - pos);
			if (!tk)
				return -1;
			tk->str = strndup(in + pos, n - pos);
			if (!tk->str) {
				oom(p);
				return -1;
			}
			pos = n;
			continue;
		}
		if (c == '"' || c == '\'' || c == '`') {
			char *str;

			n = lex_string(p, pos, &str);
			if (n < 0)
				return -1;
			tk = push_tok(p, T_STR, pos, n);
			if (!tk) {
				free(str);
				return -1;
			}
			tk->str = str;
			pos += n;
			continue;
		}
		n = 1;
		switch (c) {
		case '{': t = T_LBRACE; braces++; break;
		case '}':
			t = T_RBRACE;
			if (!braces) {
				perr(p, pos, "unexpected character: '}'");
				return -1;
			}
			braces--;
			break;
		case '(': t = T_LPAREN; depth++; break;
		case ')':
			t = T_RPAREN;
			if (--depth < 0) {
				perr(p, pos + 1, "unexpected right parenthesis ')'");
				return -1;
			}
			break;
		case '[': t = T_LBRACKET; brackets++; break;
		case ']': t = T_RBRACKET; brackets -= brackets > 0; break;
		case ',': t = T_COMMA; break;
		case ':': t = T_COLON; break;
		case '+': t = T_ADD; break;
		case '-': t = T_SUB; break;
		case '*': t = T_MUL; break;
		case '/': t = T_DIV; break;
		case '%': t = T_MOD; break;
		case '^': t = T_POW; break;
		case '@': t = T_AT; break;
		case '=':
			if (in[pos + 1] == '=') {
				t = T_EQLC;
				n = 2;
			} else if (in[pos + 1] == '~') {
				t = T_RE;
				n = 2;
			} else {
				t = T_ASSIGN;
			}
			break;
		case '!':
			if (in[pos + 1] == '=') {
				t = T_NEQ;
				n = 2;
			} else if (in[pos + 1] == '~') {
				t = T_NRE;
				n = 2;
			} else {
				perr(p, pos, "unexpected character after '!': '%c'",
				     in[pos + 1] ? in[pos + 1] : ' ');
				return -1;
			}
			break;
		case '<':
			t = T_LSS;
			if (in[pos + 1] == '=') {
				t = T_LTE;
				n = 2;
			}
			break;
		case '>':
			t = T_GTR;
			if (in[pos + 1] == '=') {
				t = T_GTE;
				n = 2;
			}
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				perr(p, pos, "unexpected character: '%c'", c);
			else
				perr(p, pos, "unexpected character: '\\x%02x'", c);
			return -1;
		}
		if (!push_tok(p, t, pos, n))
			return -1;
		pos += n;
	}
	if (depth > 0) {
		perr(p, pos, "unclosed left parenthesis");
		return -1;
	}
	if (brackets > 0) {
		perr(p, pos, "unclosed left bracket");
		return -1;
	}
	if (braces > 0) {
		perr(p, pos, "unexpected end of input inside braces");
		return -1;
	}
	return push_tok(p, T_EOF, pos, 0) ? 0 : -1;
}

/* ---- parser ---- */

static struct token *peek(struct parser *p)
{
	return &p->toks[p->i];
}

static struct token *peek2(struct parser *p)
{
	return &p->toks[p->i + 1 < p->ntoks ? p->i + 1 : p->i];
}

static struct token *next(struct parser *p)
{
	struct token *t = &p->toks[p->i];

	if (p->i + 1 < p->ntoks)
		p->i++;
	return t;
}

static bool is_ident(const struct token *t, const char *kw)
{
	return t->type == T_IDENT && !strcmp(t->str, kw);
}

static int agg_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(promql_agg_names) / sizeof(promql_agg_names[0]); i++)
		if (!strcmp(promql_agg_names[i], name))
			return (int)i;
	return -1;
}

static const char *const keywords[] = {
	"and", "or", "unless", "atan2", "by", "without", "on", "ignoring",
	"group_left", "group_right", "bool", "offset", "start", "end",
};

/* Go's %q of a token's text, cut to 10 characters plus "..." as
 * Prometheus' Item.String() does. */
static void go_quote(const char *s, int n, const char *prefix, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%s\"", prefix);
	int i;

	for (i = 0; i < n && i < 10 && o + 6 < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		} else {
			buf[o++] = c;
		}
	}
	snprintf(buf + o, len - o, "\"%s", n > 10 ? "..." : "");
}

/* Prometheus' Item.desc(): how a token is named in "unexpected X". */
static void tok_desc(struct parser *p, const struct token *t, char *buf, size_t len)
{
	size_t k;

	switch (t->type) {
	case T_EOF:
		snprintf(buf, len, "end of input");
		return;
	case T_NUM:
		go_quote(p->in + t->pos, t->len, "number ", buf, len);
		return;
	case T_DUR:
		go_quote(p->in + t->pos, t->len, "duration ", buf, len);
		return;
	case T_STR:
		go_quote(p->in + t->pos, t->len, "string ", buf, len);
		return;
	case T_IDENT:
		if (agg_lookup(t->str) >= 0) {
			snprintf(buf, len, "<aggr:%s>", t->str);
			return;
		}
		for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
			if (strcmp(keywords[k], t->str))
				continue;
			if (k < 4)
				snprintf(buf, len, "<op:%s>", t->str);
			else
				snprintf(buf, len, "<%s>", t->str);
			return;
		}
		snprintf(buf, len, "identifier \"%.40s\"", t->str);
		return;
	case T_LBRACE: case T_RBRACE: case T_LPAREN: case T_RPAREN:
	case T_LBRACKET: case T_RBRACKET: case T_COMMA: case T_COLON:
	case T_ASSIGN: case T_AT:
		snprintf(buf, len, "\"%s\"", tok_str[t->type]);
		return;
	default:
		snprintf(buf, len, "<op:%s>", tok_str[t->type]);
		return;
	}
}

static void unexpected(struct parser *p, const struct token *t, const char *ctx)
{
	char d[96];

	/* Prometheus lexes as it parses: a parse error before the bad input
	 * wins, and reaching the bad input reports the lexer's error */
	if (t->type == T_ERR) {
		if (!p->failed) {
			*p->err = p->lexerr;
			p->failed = true;
		}
		return;
	}
	tok_desc(p, t, d, sizeof(d));
	if (ctx)
		perr(p, t->pos, "unexpected %s%s", d, ctx);
	else
		perr(p, t->pos, "unexpected %s", d);
}

static bool expect(struct parser *p, enum tok t, const char *ctx)
{
	if (peek(p)->type == t) {
		next(p);
		return true;
	}
	unexpected(p, peek(p), ctx);
	return false;
}

static struct promql_node *node_new(struct parser *p, enum promql_node_kind k, int pos)
{
	struct promql_node *n = calloc(1, sizeof(*n));

	if (!n) {
		oom(p);
		return NULL;
	}
	n->kind = k;
	n->pos = pos;
	return n;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void promql_free(struct promql_node *n)
{
	size_t i;

	if (!n)
		return;
	free(n->str);
	for (i = 0; i < n->nmatchers; i++)
		promql_matcher_free(n->matchers[i]);
	free(n->matchers);
	promql_free(n->a);
	promql_free(n->b);
	promql_free(n->param);
	strv_free(n->mlabels, n->nmlabels);
	strv_free(n->include, n->ninclude);
	strv_free(n->grouping, n->ngrouping);
	for (i = 0; i < n->nargs; i++)
		promql_free(n->args[i]);
	free(n->args);
	free(n);
}

enum promql_value_type promql_node_type(const struct promql_node *n)
{
	return n ? n->type : PROMQL_NONE;
}

static struct promql_node *parse_expr(struct parser *p, int min_prec);

static bool valid_label_name(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

/* "(" [label {"," label}] [","] ")" */
static int parse_label_list(struct parser *p, char ***out, size_t *nout, const char *ctx)
{
	char **v = NULL;
	size_t n = 0;
	char c[64];

	snprintf(c, sizeof(c), " in %s, expected \"(\"", ctx);
	if (!expect(p, T_LPAREN, c))
		return -1;
	while (peek(p)->type != T_RPAREN) {
		struct token *t = peek(p);
		char **nv;

		if (t->type != T_IDENT || !valid_label_name(t->str)) {
			snprintf(c, sizeof(c), " in %s, expected label", ctx);
			unexpected(p, t, c);
			goto err;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			goto err_oom;
		v = nv;
		v[n] = strdup(t->str);
		if (!v[n])
			goto err_oom;
		n++;
		next(p);
		if (peek(p)->type == T_COMMA) {
			next(p);
			continue;
		}
		if (peek(p)->type != T_RPAREN) {
			snprintf(c, sizeof(c), " in %s, expected \",\" or \")\"", ctx);
			unexpected(p, peek(p), c);
			goto err;
		}
	}
	next(p);
	*out = v;
	*nout = n;
	return 0;
err_oom:
	oom(p);
err:
	strv_free(v, n);
	return -1;
}

static int add_matcher(struct parser *p, struct promql_node *n, enum promql_match_type type,
		       const char *name, const char *value, int pos)
{
	struct promql_matcher *m, **nm;
	char e[256];

	m = promql_matcher_new(type, name, value, e, sizeof(e));
	if (!m) {
		if (errno == ENOMEM)
			oom(p);
		else
			perr(p, pos, "%s", e);
		return -1;
	}
	nm = realloc(n->matchers, (n->nmatchers + 1) * sizeof(*nm));
	if (!nm) {
		promql_matcher_free(m);
		oom(p);
		return -1;
	}
	n->matchers = nm;
	nm[n->nmatchers++] = m;
	return 0;
}

/* Vector selector: [name] ["{" matchers "}"] */
static struct promql_node *parse_selector(struct parser *p)
{
	struct token *t = peek(p);
	struct promql_node *n = node_new(p, N_VSEL, t->pos);
	size_t i;

	if (!n)
		return NULL;
	n->type = PROMQL_VECTOR;
	if (t->type == T_IDENT) {
		n->str = strdup(t->str);
		if (!n->str || add_matcher(p, n, PROMQL_MATCH_EQ, "__name__", t->str, t->pos))
			goto err;
		next(p);
	}
	if (peek(p)->type == T_LBRACE) {
		next(p);
		while (peek(p)->type != T_RBRACE) {
			struct token *ln = peek(p), *op, *val;
			enum promql_match_type mt;

			if (ln->type != T_IDENT || !valid_label_name(ln->str)) {
				unexpected(p, ln, " in label matching, expected identifier or \"}\"");
				goto err;
			}
			next(p);
			op = next(p);
			switch (op->type) {
			case T_ASSIGN: mt = PROMQL_MATCH_EQ; break;
			case T_NEQ: mt = PROMQL_MATCH_NE; break;
			case T_RE: mt = PROMQL_MATCH_RE; break;
			case T_NRE: mt = PROMQL_MATCH_NRE; break;
			default:
				unexpected(p, op, " in label matching, expected label matching operator");
				goto err;
			}
			val = next(p);
			if (val->type != T_STR) {
				unexpected(p, val, " in label matching, expected string");
				goto err;
			}
			if (n->str && !strcmp(ln->str, "__name__")) {
				perr(p, n->pos, "metric name must not be set twice: \"%s\" or \"%s\"",
				     n->str, val->str);
				goto err;
			}
			if (add_matcher(p, n, mt, ln->str, val->str, ln->pos))
				goto err;
			if (peek(p)->type == T_COMMA) {
				next(p);
				continue;
			}
			if (peek(p)->type != T_RBRACE) {
				unexpected(p, peek(p), " in label matching, expected \",\" or \"}\"");
				goto err;
			}
		}
		next(p);
	}
	for (i = 0; i < n->nmatchers; i++)
		if (!promql_matcher_matches(n->matchers[i], ""))
			break;
	if (i == n->nmatchers) {
		perr(p, t->pos, "vector selector must contain at least one non-empty matcher");
		goto err;
	}
	return n;
err:
	if (!p->failed)
		oom(p);
	promql_free(n);
	return NULL;
}

static int check_arg_type(struct parser *p, struct promql_node *arg,
			  enum promql_value_type want, const char *ctx)
{
	if (arg->type == want)
		return 0;
	perr(p, arg->pos, "expected type %s in %s, got %s", promql_type_name(want), ctx,
	     promql_type_name(arg->type));
	return -1;
}

/* sum [by|without (...)] "(" [param ","] expr ")" [by|without (...)] */
static struct promql_node *parse_agg(struct parser *p, int op)
{
	struct token *t = next(p);
	struct promql_node *n = node_new(p, N_AGG, t->pos);
	bool grouped = false, param = op == AGG_TOPK || op == AGG_BOTTOMK ||
		       op == AGG_QUANTILE || op == AGG_COUNT_VALUES;
	struct promql_node *args[2] = { NULL, NULL };
	int nargs = 0, want = param ? 2 : 1;

	if (!n)
		return NULL;
	n->agg = op;
	n->type = PROMQL_VECTOR;
	if (is_ident(peek(p), "by") || is_ident(peek(p), "without")) {
		n->without = is_ident(next(p), "without");
		if (parse_label_list(p, &n->grouping, &n->ngrouping, "grouping opts"))
			goto err;
		grouped = true;
	}
	if (!expect(p, T_LPAREN, " in aggregation"))
		goto err;
	while (peek(p)->type != T_RPAREN) {
		struct promql_node *a = parse_expr(p, 0);

		if (!a)
			goto err;
		if (nargs < 2)
			args[nargs] = a;
		else
			promql_free(a);
		nargs++;
		if (peek(p)->type == T_COMMA) {
			if (peek2(p)->type == T_RPAREN) {
				perr(p, peek(p)->pos, "trailing commas not allowed in function call args");
				goto err;
			}
			next(p);
			continue;
		}
		if (peek(p)->type != T_RPAREN) {
			unexpected(p, peek(p), " in aggregation, expected \")\" or \",\"");
			goto err;
		}
	}
	next(p);
	if (nargs != want) {
		perr(p, t->pos, "wrong number of arguments for aggregate expression provided, expected %d, got %d",
		     want, nargs);
		goto err;
	}
	if (param) {
		n->param = args[0];
		n->a = args[1];
	} else {
		n->a = args[0];
	}
	args[0] = args[1] = NULL;
	if (is_ident(peek(p), "by") || is_ident(peek(p), "without")) {
		if (grouped) {
			unexpected(p, peek(p), NULL);
			goto err;
		}
		n->without = is_ident(next(p), "without");
		if (parse_label_list(p, &n->grouping, &n->ngrouping, "grouping opts"))
			goto err;
	}
	if (check_arg_type(p, n->a, PROMQL_VECTOR, "aggregation expression"))
		goto err;
	if (n->param && check_arg_type(p, n->param,
				       op == AGG_COUNT_VALUES ? PROMQL_STRING : PROMQL_SCALAR,
				       "aggregation parameter"))
		goto err;
	return n;
err:
	promql_free(args[0]);
	promql_free(args[1]);
	promql_free(n);
	return NULL;
}

static struct promql_node *parse_call(struct parser *p, const struct promql_func *f)
{
	struct token *t = next(p);
	struct promql_node *n = node_new(p, N_CALL, t->pos);
	size_t i;
	char ctx[96];

	if (!n)
		return NULL;
	n->func = f;
	n->type = f->ret;
	next(p);	/* ( */
	while (peek(p)->type != T_RPAREN) {
		struct promql_node *a, **na;

		a = parse_expr(p, 0);
		if (!a)
			goto err;
		na = realloc(n->args, (n->nargs + 1) * sizeof(*na));
		if (!na) {
			promql_free(a);
			oom(p);
			goto err;
		}
		n->args = na;
		na[n->nargs++] = a;
		if (peek(p)->type == T_COMMA) {
			if (peek2(p)->type == T_RPAREN) {
				perr(p, peek(p)->pos, "trailing commas not allowed in function call args");
				goto err;
			}
			next(p);
			continue;
		}
		if (peek(p)->type != T_RPAREN) {
			unexpected(p, peek(p), " in call to function, expected \")\" or \",\"");
			goto err;
		}
	}
	next(p);
	if (f->variadic == 0 && (int)n->nargs != f->nargs) {
		perr(p, t->pos, "expected %d argument(s) in call to \"%s\", got %zu",
		     f->nargs, f->name, n->nargs);
		goto err;
	}
	if ((int)n->nargs < f->nargs) {
		perr(p, t->pos, "expected at least %d argument(s) in call to \"%s\", got %zu",
		     f->nargs, f->name, n->nargs);
		goto err;
	}
	if (f->variadic > 0 && (int)n->nargs > f->nargs + f->variadic) {
		perr(p, t->pos, "expected at most %d argument(s) in call to \"%s\", got %zu",
		     f->nargs + f->variadic, f->name, n->nargs);
		goto err;
	}
	snprintf(ctx, sizeof(ctx), "call to function \"%s\"", f->name);
	for (i = 0; i < n->nargs; i++) {
		enum promql_value_type want = f->args[i < 5 ? i : 5];

		if (f->variadic < 0 && i >= 3)
			want = PROMQL_STRING;
		if (check_arg_type(p, n->args[i], want, ctx))
			goto err;
	}
	return n;
err:
	promql_free(n);
	return NULL;
}

static bool parse_dur_tok(struct parser *p, int64_t *out, const char *ctx)
{
	struct token *t = peek(p);

	if (t->type == T_DUR) {
		*out = t->dur;
		next(p);
		return true;
	}
	unexpected(p, t, ctx);
	return false;
}

/* Postfix modifiers: [range], [range:step], offset, @ */
static struct promql_node *parse_postfix(struct parser *p, struct promql_node *n)
{
	for (;;) {
		struct token *t = peek(p);

		if (t->type == T_LBRACKET) {
			int64_t range, step = 0;
			struct promql_node *w;

			next(p);
			if (!parse_dur_tok(p, &range, " in subquery or range selector, expected duration"))
				goto err;
			if (peek(p)->type == T_COLON) {
				next(p);
				if (peek(p)->type == T_DUR) {
					if (!peek(p)->dur) {
						perr(p, peek(p)->pos, "duration must be greater than 0");
						goto err;
					}
					parse_dur_tok(p, &step, NULL);
				}
				if (!expect(p, T_RBRACKET, " in subquery selector, expected \"]\""))
					goto err;
				if (n->type != PROMQL_VECTOR) {
					perr(p, n->pos, "subquery is only allowed on instant vector, got %s instead",
					     promql_type_name(n->type));
					goto err;
				}
				if (range == 0) {
					perr(p, t->pos + 1, "duration must be greater than 0");
					goto err;
				}
				w = node_new(p, N_SUBQUERY, n->pos);
				if (!w)
					goto err;
				w->a = n;
				w->range_ms = range;
				w->step_ms = step;
				w->type = PROMQL_MATRIX;
				n = w;
				continue;
			}
			if (!expect(p, T_RBRACKET, " in range selector, expected \"]\" or \":\""))
				goto err;
			if (n->kind != N_VSEL) {
				perr(p, t->pos, "ranges only allowed for vector selectors");
				goto err;
			}
			if (n->offset_ms || n->has_at) {
				perr(p, t->pos, n->offset_ms ? "no offset modifiers allowed before range" :
				     "no @ modifiers allowed before range");
				goto err;
			}
			if (range == 0) {
				perr(p, t->pos + 1, "duration must be greater than 0");
				goto err;
			}
			w = node_new(p, N_MSEL, n->pos);
			if (!w)
				goto err;
			w->a = n;
			w->range_ms = range;
			w->type = PROMQL_MATRIX;
			n = w;
			continue;
		}
		if (is_ident(t, "offset")) {
			struct promql_node *target = n->kind == N_MSEL ? n->a : n;
			int64_t d;
			bool neg = false;

			next(p);
			if (peek(p)->type == T_SUB || peek(p)->type == T_ADD) {
				neg = next(p)->type == T_SUB;
			}
			if (!parse_dur_tok(p, &d, " in offset, expected duration"))
				goto err;
			if (n->kind != N_VSEL && n->kind != N_MSEL && n->kind != N_SUBQUERY) {
				perr(p, n->pos, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
				goto err;
			}
			if (target->offset_ms) {
				perr(p, n->pos, "offset may not be set multiple times");
				goto err;
			}
			target->offset_ms = neg ? -d : d;
			continue;
		}
		if (t->type == T_AT) {
			struct promql_node *target = n->kind == N_MSEL ? n->a : n;
			struct token *v;
			bool neg = false;
			double ts;

			next(p);
			if ((is_ident(peek(p), "start") || is_ident(peek(p), "end")) &&
			    peek2(p)->type == T_LPAREN) {
				int kind = is_ident(next(p), "start") ? 1 : 2;

				next(p);
				if (!expect(p, T_RPAREN, " in @, expected \")\""))
					goto err;
				if (n->kind != N_VSEL && n->kind != N_MSEL && n->kind != N_SUBQUERY) {
					perr(p, n->pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
					goto err;
				}
				if (target->has_at) {
					perr(p, n->pos, "@ <timestamp> may not be set multiple times");
					goto err;
				}
				target->has_at = true;
				target->at_kind = kind;
				continue;
			}
			if (peek(p)->type == T_SUB || peek(p)->type == T_ADD)
				neg = next(p)->type == T_SUB;
			v = next(p);
			if (v->type != T_NUM) {
				unexpected(p, v, " in @, expected timestamp");
				goto err;
			}
			ts = neg ? -v->num : v->num;
			if (n->kind != N_VSEL && n->kind != N_MSEL && n->kind != N_SUBQUERY) {
				perr(p, n->pos, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
				goto err;
			}
			if (target->has_at) {
				perr(p, n->pos, "@ <timestamp> may not be set multiple times");
				goto err;
			}
			if (!isfinite(ts) || fabs(ts * 1000) > 9.2e18) {
				perr(p, v->pos, "timestamp out of bounds for @ modifier: %g", ts);
				goto err;
			}
			target->has_at = true;
			target->at_ms = (int64_t)llround(ts * 1000);
			continue;
		}
		return n;
	}
err:
	promql_free(n);
	return NULL;
}

static struct promql_node *parse_primary(struct parser *p)
{
	struct token *t = peek(p);
	struct promql_node *n = NULL;

	switch (t->type) {
	case T_NUM:
		n = node_new(p, N_NUMBER, t->pos);
		if (!n)
			return NULL;
		n->num = t->num;
		n->type = PROMQL_SCALAR;
		next(p);
		break;
	case T_STR:
		n = node_new(p, N_STRING, t->pos);
		if (!n)
			return NULL;
		n->str = strdup(t->str);
		n->type = PROMQL_STRING;
		if (!n->str) {
			promql_free(n);
			oom(p);
			return NULL;
		}
		next(p);
		break;
	case T_LPAREN: {
		struct promql_node *in;

		next(p);
		in = parse_expr(p, 0);
		if (!in)
			return NULL;
		if (!expect(p, T_RPAREN, " in paren expression, expected \")\"")) {
			promql_free(in);
			return NULL;
		}
		n = node_new(p, N_PAREN, t->pos);
		if (!n) {
			promql_free(in);
			return NULL;
		}
		n->a = in;
		n->type = in->type;
		break;
	}
	case T_LBRACE:
		n = parse_selector(p);
		break;
	case T_IDENT: {
		const struct promql_func *f;
		int agg = agg_lookup(t->str);

		if (agg >= 0 && (peek2(p)->type == T_LPAREN || is_ident(peek2(p), "by") ||
				 is_ident(peek2(p), "without"))) {
			n = parse_agg(p, agg);
			break;
		}
		if (peek2(p)->type == T_LPAREN) {
			f = promql_func_lookup(t->str);
			if (!f) {
				perr(p, t->pos, "unknown function with name \"%s\"", t->str);
				return NULL;
			}
			n = parse_call(p, f);
			break;
		}
		if (!strcasecmp(t->str, "inf") || !strcasecmp(t->str, "nan")) {
			n = node_new(p, N_NUMBER, t->pos);
			if (!n)
				return NULL;
			n->num = tolower((unsigned char)t->str[0]) == 'i' ? INFINITY : NAN;
			n->type = PROMQL_SCALAR;
			next(p);
			break;
		}
		if (agg >= 0) {
			unexpected(p, peek2(p), " in aggregation, expected \"(\"");
			return NULL;
		}
		{
			size_t k;

			for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
				/* most keywords are valid metric names, these are not */
				if (!strcmp(keywords[k], t->str) && k >= 6 && k <= 10) {
					unexpected(p, t, NULL);
					return NULL;
				}
			}
		}
		n = parse_selector(p);
		break;
	}
	default:
		unexpected(p, t, NULL);
		return NULL;
	}
	if (!n)
		return NULL;
	return parse_postfix(p, n);
}

static int binop_of(const struct token *t, enum promql_op *op)
{
	static const struct { enum tok t; enum promql_op op; } map[] = {
		{ T_ADD, OP_ADD }, { T_SUB, OP_SUB }, { T_MUL, OP_MUL },
		{ T_DIV, OP_DIV }, { T_MOD, OP_MOD }, { T_POW, OP_POW },
		{ T_EQLC, OP_EQ }, { T_NEQ, OP_NE }, { T_GTR, OP_GT },
		{ T_LSS, OP_LT }, { T_GTE, OP_GE }, { T_LTE, OP_LE },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].t == t->type) {
			*op = map[i].op;
			return 0;
		}
	}
	if (is_ident(t, "and"))
		*op = OP_AND;
	else if (is_ident(t, "or"))
		*op = OP_OR;
	else if (is_ident(t, "unless"))
		*op = OP_UNLESS;
	else if (is_ident(t, "atan2"))
		*op = OP_ATAN2;
	else
		return -1;
	return 0;
}

static int prec_of(enum promql_op op)
{
	switch (op) {
	case OP_OR:
		return 1;
	case OP_AND:
	case OP_UNLESS:
		return 2;
	case OP_EQ: case OP_NE: case OP_GT: case OP_LT: case OP_GE: case OP_LE:
		return 3;
	case OP_ADD:
	case OP_SUB:
		return 4;
	case OP_MUL: case OP_DIV: case OP_MOD: case OP_ATAN2:
		return 5;
	case OP_POW:
		return 7;
	}
	return 0;
}

#define PREC_UNARY 6

static bool is_cmp(enum promql_op op)
{
	return op >= OP_EQ && op <= OP_LE;
}

static bool is_set(enum promql_op op)
{
	return op >= OP_AND;
}

/* Type rules of Prometheus' checkAST for a binary expression. */
static int check_binary(struct parser *p, struct promql_node *n, int op_pos)
{
	enum promql_value_type lt = n->a->type, rt = n->b->type;
	const char *opn = promql_op_names[n->op];
	size_t i, j;

	if (n->return_bool && !is_cmp(n->op)) {
		perr(p, op_pos, "bool modifier can only be used on comparison operators");
		return -1;
	}
	if ((lt != PROMQL_SCALAR && lt != PROMQL_VECTOR) ||
	    (rt != PROMQL_SCALAR && rt != PROMQL_VECTOR)) {
		perr(p, (lt != PROMQL_SCALAR && lt != PROMQL_VECTOR) ? n->a->pos : n->b->pos,
		     "binary expression must contain only scalar and instant vector types");
		return -1;
	}
	if (is_cmp(n->op) && !n->return_bool && lt == PROMQL_SCALAR && rt == PROMQL_SCALAR) {
		perr(p, op_pos, "comparisons between scalars must use BOOL modifier");
		return -1;
	}
	if ((lt != PROMQL_VECTOR || rt != PROMQL_VECTOR)) {
		if (is_set(n->op)) {
			perr(p, n->pos, "set operator \"%s\" not allowed in binary scalar expression", opn);
			return -1;
		}
		if (n->matching) {
			perr(p, n->pos, "vector matching only allowed between instant vectors");
			return -1;
		}
	}
	if (is_set(n->op)) {
		if (n->card == CARD_MANY_TO_ONE || n->card == CARD_ONE_TO_MANY) {
			perr(p, n->pos, "no grouping allowed for \"%s\" operation", opn);
			return -1;
		}
		n->card = CARD_MANY_TO_MANY;
	}
	for (i = 0; n->on && i < n->nmlabels; i++) {
		for (j = 0; j < n->ninclude; j++) {
			if (!strcmp(n->mlabels[i], n->include[j])) {
				perr(p, op_pos, "label \"%s\" must not occur in ON and GROUP clause at once",
				     n->include[j]);
				return -1;
			}
		}
	}
	n->type = (lt == PROMQL_SCALAR && rt == PROMQL_SCALAR) ? PROMQL_SCALAR : PROMQL_VECTOR;
	return 0;
}

static struct promql_node *parse_unary(struct parser *p)
{
	struct token *t = peek(p);
	struct promql_node *in, *n;

	if (t->type != T_ADD && t->type != T_SUB)
		return parse_primary(p);
	next(p);
	in = parse_expr(p, PREC_UNARY);
	if (!in)
		return NULL;
	if (in->type != PROMQL_SCALAR && in->type != PROMQL_VECTOR) {
		perr(p, t->pos, "unary expression only allowed on expressions of type scalar or instant vector, got \"%s\"",
		     promql_type_name(in->type));
		promql_free(in);
		return NULL;
	}
	/* Prometheus folds a sign into a number literal */
	if (in->kind == N_NUMBER) {
		if (t->type == T_SUB)
			in->num = -in->num;
		in->pos = t->pos;
		return in;
	}
	n = node_new(p, N_UNARY, t->pos);
	if (!n) {
		promql_free(in);
		return NULL;
	}
	n->op = t->type == T_SUB ? OP_SUB : OP_ADD;
	n->a = in;
	n->type = in->type;
	return n;
}

static struct promql_node *parse_expr_in(struct parser *p, int min_prec);

static struct promql_node *parse_expr(struct parser *p, int min_prec)
{
	struct promql_node *n;

	if (++p->depth > MAX_DEPTH) {
		perr(p, peek(p)->pos, "expression nested too deeply (limit %d)", MAX_DEPTH);
		p->depth--;
		return NULL;
	}
	n = parse_expr_in(p, min_prec);
	p->depth--;
	return n;
}

static struct promql_node *parse_expr_in(struct parser *p, int min_prec)
{
	struct promql_node *lhs = parse_unary(p);

	while (lhs) {
		struct token *t = peek(p);
		struct promql_node *n;
		enum promql_op op;
		int prec;

		if (binop_of(t, &op) || (prec = prec_of(op)) < min_prec)
			return lhs;
		next(p);
		n = node_new(p, N_BINARY, lhs->pos);
		if (!n)
			goto err;
		n->a = lhs;
		lhs = n;
		n->op = op;
		n->card = CARD_ONE_TO_ONE;
		if (is_ident(peek(p), "bool")) {
			next(p);
			n->return_bool = true;
		}
		if (is_ident(peek(p), "on") || is_ident(peek(p), "ignoring")) {
			n->matching = true;
			n->on = is_ident(next(p), "on");
			if (parse_label_list(p, &n->mlabels, &n->nmlabels, "grouping opts"))
				goto err;
			if (is_ident(peek(p), "group_left") || is_ident(peek(p), "group_right")) {
				n->card = is_ident(next(p), "group_left") ? CARD_MANY_TO_ONE :
					  CARD_ONE_TO_MANY;
				if (peek(p)->type == T_LPAREN &&
				    parse_label_list(p, &n->include, &n->ninclude, "grouping opts"))
					goto err;
			}
		} else if (is_ident(peek(p), "group_left") || is_ident(peek(p), "group_right")) {
			unexpected(p, peek(p), NULL);
			goto err;
		}
		/* ^ is right-associative: its rhs may hold another ^ */
		n->b = parse_expr(p, op == OP_POW ? prec : prec + 1);
		if (!n->b || check_binary(p, n, t->pos))
			goto err;
	}
	return NULL;
err:
	promql_free(lhs);
	return NULL;
}

static int height(const struct promql_node *n)
{
	int h = 0, x;
	size_t i;

	if (!n)
		return 0;
	x = height(n->a);
	h = x > h ? x : h;
	x = height(n->b);
	h = x > h ? x : h;
	x = height(n->param);
	h = x > h ? x : h;
	for (i = 0; i < n->nargs; i++) {
		x = height(n->args[i]);
		h = x > h ? x : h;
	}
	return h + 1;
}

struct promql_node *promql_parse(const char *expr, struct promql_error *err)
{
	struct parser p = { .in = expr, .err = err };
	struct promql_node *n = NULL;
	size_t i;

	memset(err, 0, sizeof(*err));
	errno = 0;
	if (lex(&p)) {
		if (errno == ENOMEM || p.ntoks >= MAX_TOKENS)
			goto out;
		p.lexerr = *err;
		p.failed = false;
		if (!push_tok(&p, T_ERR, err->offset, 0))
			goto out;
	}
	if (p.toks[0].type == T_ERR) {
		unexpected(&p, &p.toks[0], NULL);
		goto out;
	}
	if (p.toks[0].type == T_EOF) {
		perr(&p, 0, "no expression found in input");
		goto out;
	}
	n = parse_expr(&p, 0);
	if (n && peek(&p)->type != T_EOF) {
		unexpected(&p, peek(&p), NULL);
		promql_free(n);
		n = NULL;
	}
	/* long operator chains nest without parse recursion; the evaluator
	 * recurses on them, so bound the tree's height too */
	if (n && height(n) > MAX_HEIGHT) {
		perr(&p, 0, "expression nested too deeply (limit %d)", MAX_HEIGHT);
		promql_free(n);
		n = NULL;
	}
out:
	for (i = 0; i < p.ntoks; i++)
		free(p.toks[i].str);
	free(p.toks);
	if (!n && errno != ENOMEM)
		errno = EINVAL;
	return n;
}

/* ---- printing and walking ---- */

struct pbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void pb_add(struct pbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 128) + n;
		char *np = realloc(b->p, cap);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void pb_quoted(struct pbuf *b, const char *s)
{
	char t[8];

	pb_add(b, "\"");
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			t[0] = '\\';
			t[1] = c;
			t[2] = 0;
		} else if (c == '\n') {
			strcpy(t, "\\n");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(t, sizeof(t), "\\x%02x", c);
		} else {
			t[0] = c;
			t[1] = 0;
		}
		pb_add(b, t);
	}
	pb_add(b, "\"");
}

static void pb_dur(struct pbuf *b, int64_t ms)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "y", 365LL * 86400000 }, { "w", 7LL * 86400000 },
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 }, { "ms", 1 },
	};
	char t[32];
	size_t i;

	if (ms < 0) {
		pb_add(b, "-");
		ms = -ms;
	}
	if (!ms) {
		pb_add(b, "0s");
		return;
	}
	for (i = 0; i < 7; i++) {
		if (ms >= units[i].ms) {
			snprintf(t, sizeof(t), "%lld%s", (long long)(ms / units[i].ms), units[i].u);
			pb_add(b, t);
			ms %= units[i].ms;
		}
	}
}

static void pb_list(struct pbuf *b, char **v, size_t n)
{
	size_t i;

	pb_add(b, "(");
	for (i = 0; i < n; i++) {
		if (i)
			pb_add(b, ", ");
		pb_add(b, v[i]);
	}
	pb_add(b, ")");
}

static void pb_mods(struct pbuf *b, const struct promql_node *n)
{
	char t[64];

	if (n->offset_ms) {
		pb_add(b, " offset ");
		pb_dur(b, n->offset_ms);
	}
	if (n->has_at && n->at_kind) {
		pb_add(b, n->at_kind == 1 ? " @ start()" : " @ end()");
	} else if (n->has_at) {
		snprintf(t, sizeof(t), " @ %.3f", (double)n->at_ms / 1000);
		pb_add(b, t);
	}
}

static void pb_selector(struct pbuf *b, const struct promql_node *n)
{
	static const char *const ops[] = { "=", "!=", "=~", "!~" };
	bool first = true;
	size_t i;

	if (n->str)
		pb_add(b, n->str);
	for (i = 0; i < n->nmatchers; i++) {
		const struct promql_matcher *m = n->matchers[i];

		if (n->str && !strcmp(m->name, "__name__") && m->type == PROMQL_MATCH_EQ &&
		    !strcmp(m->value, n->str))
			continue;
		pb_add(b, first ? "{" : ", ");
		first = false;
		pb_add(b, m->name);
		pb_add(b, ops[m->type]);
		pb_quoted(b, m->value);
	}
	if (!first)
		pb_add(b, "}");
}

static void pb_node(struct pbuf *b, const struct promql_node *n)
{
	char f[PROMQL_FLOAT_BUF];
	size_t i;

	switch (n->kind) {
	case N_NUMBER:
		/* "Inf", not "+Inf": a sign would read back as a unary operator */
		pb_add(b, isinf(n->num) && n->num > 0 ? "Inf" : promql_format_float(n->num, 'g', f));
		break;
	case N_STRING:
		pb_quoted(b, n->str);
		break;
	case N_VSEL:
		pb_selector(b, n);
		pb_mods(b, n);
		break;
	case N_MSEL:
		pb_selector(b, n->a);
		pb_add(b, "[");
		pb_dur(b, n->range_ms);
		pb_add(b, "]");
		pb_mods(b, n->a);
		break;
	case N_SUBQUERY:
		pb_node(b, n->a);
		pb_add(b, "[");
		pb_dur(b, n->range_ms);
		pb_add(b, ":");
		if (n->step_ms)
			pb_dur(b, n->step_ms);
		pb_add(b, "]");
		pb_mods(b, n);
		break;
	case N_PAREN:
		pb_add(b, "(");
		pb_node(b, n->a);
		pb_add(b, ")");
		break;
	case N_UNARY:
		pb_add(b, n->op == OP_SUB ? "-" : "+");
		pb_node(b, n->a);
		break;
	case N_BINARY:
		pb_node(b, n->a);
		pb_add(b, " ");
		pb_add(b, promql_op_names[n->op]);
		if (n->return_bool)
			pb_add(b, " bool");
		if (n->matching) {
			pb_add(b, n->on ? " on" : " ignoring");
			pb_list(b, n->mlabels, n->nmlabels);
		}
		if (n->card == CARD_MANY_TO_ONE || n->card == CARD_ONE_TO_MANY) {
			pb_add(b, n->card == CARD_MANY_TO_ONE ? " group_left" : " group_right");
			if (n->ninclude)
				pb_list(b, n->include, n->ninclude);
		}
		pb_add(b, " ");
		pb_node(b, n->b);
		break;
	case N_AGG:
		pb_add(b, promql_agg_names[n->agg]);
		if (n->ngrouping || n->without) {
			pb_add(b, n->without ? " without " : " by ");
			pb_list(b, n->grouping, n->ngrouping);
			pb_add(b, " ");
		}
		pb_add(b, "(");
		if (n->param) {
			pb_node(b, n->param);
			pb_add(b, ", ");
		}
		pb_node(b, n->a);
		pb_add(b, ")");
		break;
	case N_CALL:
		pb_add(b, n->func->name);
		pb_add(b, "(");
		for (i = 0; i < n->nargs; i++) {
			if (i)
				pb_add(b, ", ");
			pb_node(b, n->args[i]);
		}
		pb_add(b, ")");
		break;
	}
}

char *promql_node_str(const struct promql_node *n)
{
	struct pbuf b = { 0 };

	pb_add(&b, "");
	pb_node(&b, n);
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	return b.p;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

int64_t promql_max_lookback_ms(const struct promql_node *n, int64_t lookback_ms)
{
	int64_t m = 0, x;
	size_t i;

	if (!n)
		return 0;
	switch (n->kind) {
	case N_VSEL:
		return sat_add(lookback_ms, n->offset_ms > 0 ? n->offset_ms : 0);
	case N_MSEL:
		return sat_add(n->range_ms, n->a->offset_ms > 0 ? n->a->offset_ms : 0);
	case N_SUBQUERY:
		x = sat_add(n->range_ms, n->offset_ms > 0 ? n->offset_ms : 0);
		return sat_add(x, promql_max_lookback_ms(n->a, lookback_ms));
	default:
		break;
	}
	x = promql_max_lookback_ms(n->a, lookback_ms);
	m = x > m ? x : m;
	x = promql_max_lookback_ms(n->b, lookback_ms);
	m = x > m ? x : m;
	x = promql_max_lookback_ms(n->param, lookback_ms);
	m = x > m ? x : m;
	for (i = 0; i < n->nargs; i++) {
		x = promql_max_lookback_ms(n->args[i], lookback_ms);
		m = x > m ? x : m;
	}
	return m;
}
