// SPDX-License-Identifier: GPL-2.0
/*
 * Rule file loader (see rulefile.h).
 *
 * Like the configuration parser, each file is loaded with libyaml's
 * document API so every node keeps its position, then walked by hand:
 * the schema is small and fixed (groups -> rules -> labels), so the walk
 * has a fixed depth and cannot loop on alias cycles.  Aliases can still
 * make one node count many times; the group, rule and RULEFILE_MAX_WORK
 * bounds keep the work linear in what is accepted.
 *
 * Every error is appended to the caller's buffer and the walk goes on, so
 * one load shows every mistake in every file.  The rule_set is filled as
 * the walk goes and dropped at the end if anything was wrong: a partial
 * set is never returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "rulefile.h"

#define QUOTE_MAX	40
#define QUOTE_BUF	(QUOTE_MAX + 4)
#define PATH_BUF	256

struct parser {
	const char *name;		/* file being parsed */
	const char *text;
	size_t len;
	yaml_document_t *doc;
	struct rule_set *set;
	const char *file;		/* set->files entry for this file */
	size_t first_group;		/* this file's groups start here */
	rulefile_check_fn check;
	void *ctx;
	char *err;
	size_t errlen;
	size_t errpos;
	unsigned int nerr;
	bool oom;
	uint64_t work;
	bool work_reported;
	bool groups_reported;
	bool rules_reported;
};

/* --- errors --------------------------------------------------------------- */

static void perr_append(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void perr_append(struct parser *p, const char *fmt, ...)
{
	size_t room;
	va_list ap;
	int n;

	if (!p->err || p->errpos + 1 >= p->errlen)
		return;
	room = p->errlen - p->errpos;
	va_start(ap, fmt);
	n = vsnprintf(p->err + p->errpos, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	p->errpos += (size_t)n < room ? (size_t)n : room - 1;
}

static void perr(struct parser *p, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One error at @mark (NULL: the file as a whole). */
static void perr(struct parser *p, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (p->nerr > RULEFILE_MAX_ERRORS)
		return;
	if (p->nerr)
		perr_append(p, "\n");
	if (p->nerr++ == RULEFILE_MAX_ERRORS) {
		perr_append(p, "%s: too many errors, the rest are not shown", p->name);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (mark)
		perr_append(p, "%s:%zu:%zu: %s", p->name, mark->line + 1,
			    mark->column + 1, msg);
	else
		perr_append(p, "%s: %s", p->name, msg);
}

static void poom(struct parser *p)
{
	p->oom = true;
}

/* A message path ("groups[0].rules[1].expr"); long ones are cut. */
static void subpath(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void subpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- scalars -------------------------------------------------------------- */

static bool scalar_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The text of a scalar; NULL for other nodes and embedded NULs. */
static const char *scalar_text(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	return strlen(s) == n->data.scalar.length ? s : NULL;
}

static const char *quote(const char *src, size_t len, char *buf)
{
	const unsigned char *s = (const unsigned char *)src;
	bool cut = len > QUOTE_MAX;
	size_t i;

	if (cut) {
		len = QUOTE_MAX;
		while (len && (s[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++)
		buf[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	strcpy(buf + len, cut ? "..." : "");
	return buf;
}

static const char *scalar_quote(const yaml_node_t *n, char *buf)
{
	return quote((const char *)n->data.scalar.value, n->data.scalar.length, buf);
}

static void expected(struct parser *p, const char *path, const yaml_node_t *n,
		     const char *what)
{
	char q[QUOTE_BUF];

	if (n->type == YAML_MAPPING_NODE || n->type == YAML_SEQUENCE_NODE)
		perr(p, &n->start_mark, "%s: expected %s, got %s", path, what,
		     n->type == YAML_MAPPING_NODE ? "a mapping" : "a sequence");
	else if (scalar_is_null(n))
		perr(p, &n->start_mark, "%s: expected %s, got null", path, what);
	else
		perr(p, &n->start_mark, "%s: expected %s, got '%s'", path, what,
		     scalar_quote(n, q));
}

/* Count scalar bytes against RULEFILE_MAX_WORK; false once over. */
static bool charge(struct parser *p, size_t bytes)
{
	p->work += bytes;
	if (p->work <= RULEFILE_MAX_WORK)
		return true;
	if (!p->work_reported) {
		p->work_reported = true;
		perr(p, NULL, "more than %d bytes of rule text to process (aliases?)",
		     RULEFILE_MAX_WORK);
	}
	return false;
}

static bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = u[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (u[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

bool rulefile__valid_label_name(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

bool rulefile__valid_metric_name(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!(c == '_' || c == ':' || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The position of byte @off of a scalar's value, found by walking the
 * source and the value side by side: bytes that are the same advance
 * both, and a run of white space (line folding, the indentation of block
 * and continuation lines) is skipped on both sides at once; only literal
 * blocks (|) keep their line breaks one for one.  Anything
 * else (an escape sequence, '' in a single-quoted string) gives up and
 * returns the position of the node, as do offsets the walk cannot reach.
 */
static yaml_mark_t scalar_offset_mark(const struct parser *p, const yaml_node_t *n,
				      size_t off)
{
	const char *value = (const char *)n->data.scalar.value, *t = p->text;
	size_t vlen = n->data.scalar.length, i, j, k = 0, line = 0, indent = 0, s;
	yaml_mark_t m = n->start_mark, cur;

	if (off > vlen)
		return m;
	/* the node's byte offset, from its line and column (characters) */
	for (i = 0; i < p->len && line < m.line; i++)
		if (t[i] == '\n')
			line++;
	for (line = 0; line < m.column && i < p->len; i++)
		if (((unsigned char)t[i] & 0xc0) != 0x80)
			line++;
	while (i < p->len && ((unsigned char)t[i] & 0xc0) == 0x80)
		i++;
	cur = m;
	switch (n->data.scalar.style) {
	case YAML_PLAIN_SCALAR_STYLE:
		break;
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		i++;
		cur.column++;
		break;
	default:
		/* block scalar: the content starts on the line after | or > */
		while (i < p->len && t[i] != '\n')
			i++;
		if (i >= p->len)
			return m;
		i++;
		cur.line++;
		cur.column = 0;
		/* its indentation: that of the first non-blank line */
		for (j = i; j < p->len; j++) {
			for (s = 0; j < p->len && t[j] == ' '; j++)
				s++;
			if (j < p->len && t[j] != '\n') {
				indent = s;
				break;
			}
		}
		for (s = 0; s < indent && i < p->len && t[i] == ' '; s++, i++)
			cur.column++;
	}
	while (k < off) {
		if (i >= p->len)
			return m;
		if (t[i] == value[k] && t[i] != '\n') {
			if (((unsigned char)t[i] & 0xc0) != 0x80)
				cur.column++;
			i++;
			k++;
		} else if (t[i] == '\n' && value[k] == '\n' &&
			   n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE) {
			cur.line++;
			cur.column = 0;
			i++;
			k++;
			for (s = 0; s < indent && i < p->len && t[i] == ' '; s++, i++)
				cur.column++;
		} else if (is_ws(t[i])) {
			/* folded or indentation: skip the source's run, and the
			 * value's run if it has one here */
			while (i < p->len && is_ws(t[i])) {
				if (t[i] == '\n') {
					cur.line++;
					cur.column = 0;
				} else {
					cur.column++;
				}
				i++;
			}
			while (k < vlen && is_ws(value[k]))
				k++;
		} else {
			return m;
		}
	}
	/* indentation in front of the byte is not part of the value */
	while (i < p->len && (t[i] == ' ' || t[i] == '\t') && !(k < vlen && is_ws(value[k]))) {
		cur.column++;
		i++;
	}
	m.line = cur.line;
	m.column = cur.column;
	return m;
}

/* --- mappings ------------------------------------------------------------- */

/*
 * Collect the values of @map's keys listed in @keys (at most 16) into
 * @vals (and their key nodes into @knodes); unknown keys, non-scalar keys
 * and repeated keys are errors.
 */
static void walk_keys(struct parser *p, const char *path, const yaml_node_t *map,
		      const char *const *keys, const yaml_node_t **knodes,
		      const yaml_node_t **vals)
{
	const yaml_node_pair_t *pair;
	char q[QUOTE_BUF];
	size_t i;

	for (i = 0; keys[i]; i++)
		knodes[i] = vals[i] = NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			expected(p, path, k, "a field name");
			continue;
		}
		for (i = 0; keys[i]; i++)
			if (strlen(keys[i]) == k->data.scalar.length &&
			    !memcmp(keys[i], k->data.scalar.value, k->data.scalar.length))
				break;
		if (!keys[i]) {
			perr(p, &k->start_mark, "unknown field '%s' in %s",
			     scalar_quote(k, q), path);
			continue;
		}
		if (vals[i]) {
			perr(p, &k->start_mark, "duplicate field '%s' in %s", keys[i], path);
			continue;
		}
		knodes[i] = k;
		vals[i] = v;
	}
}

/* A non-empty string scalar, copied; NULL (error reported) otherwise. */
static char *dup_string(struct parser *p, const char *path, const yaml_node_t *n,
			bool allow_empty)
{
	const char *s = scalar_text(n);
	char *copy;

	if (!s || (scalar_is_null(n) && !allow_empty) || (!allow_empty && !*s)) {
		expected(p, path, n, "a non-empty string");
		return NULL;
	}
	if (scalar_is_null(n))
		s = "";
	if (!charge(p, strlen(s)))
		return NULL;
	copy = strdup(s);
	if (!copy)
		poom(p);
	return copy;
}

static bool parse_duration(struct parser *p, const char *path, const yaml_node_t *n,
			   uint64_t *ms)
{
	const char *s = scalar_text(n);

	/* Prometheus' model.ParseDuration takes a bare "0" */
	if (s && !strcmp(s, "0")) {
		*ms = 0;
		return true;
	}
	if (!s || config__parse_duration(s, ms)) {
		expected(p, path, n, "a duration such as 5m, 1h30m or 30s");
		return false;
	}
	return true;
}

static void kv_free(struct rule_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kv[i].name);
		free(kv[i].value);
		tmpl__free(kv[i].tmpl);
	}
	free(kv);
}

enum kv_kind {
	KV_GROUP_LABELS = 0,
	KV_RECORD_LABELS,
	KV_ALERT_LABELS,
	KV_ANNOTATIONS,
};

/*
 * labels / annotations: a mapping of names to string values.  Templates
 * of alerting rules are compiled; a compile error points at the byte of
 * the value where the template goes wrong.
 */
static void parse_kv(struct parser *p, const char *path, const yaml_node_t *n,
		     enum kv_kind kind, struct rule_kv **out, size_t *nout)
{
	const char *what = kind == KV_ANNOTATIONS ? "annotation" : "label";
	const yaml_node_pair_t *pair;
	struct rule_kv *kv;
	char q[QUOTE_BUF], sub[PATH_BUF + 64];
	size_t count, i;

	*out = NULL;
	*nout = 0;
	if (scalar_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		expected(p, path, n, "a mapping of names to strings");
		return;
	}
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > RULEFILE_MAX_LABELS) {
		perr(p, &n->start_mark, "%s: at most %d %ss, got %zu", path,
		     RULEFILE_MAX_LABELS, what, count);
		return;
	}
	if (!count)
		return;
	kv = calloc(count, sizeof(*kv));
	if (!kv) {
		poom(p);
		return;
	}
	*out = kv;
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *name, *value;
		struct rule_kv *e;
		char terr[256];
		size_t off;

		if (!k || !v)
			continue;
		name = scalar_text(k);
		if (!name) {
			expected(p, path, k, "a name");
			continue;
		}
		if (!rulefile__valid_label_name(name) ||
		    (kind != KV_ANNOTATIONS && !strcmp(name, "__name__"))) {
			perr(p, &k->start_mark, "%s: invalid %s name: %s", path, what,
			     scalar_quote(k, q));
			continue;
		}
		for (i = 0; i < *nout; i++)
			if (!strcmp(kv[i].name, name))
				break;
		if (i < *nout) {
			perr(p, &k->start_mark, "%s: duplicate %s '%s'", path, what, name);
			continue;
		}
		subpath(sub, sizeof(sub), "%s.%s", path, name);
		if (v->type != YAML_SCALAR_NODE || !scalar_text(v)) {
			expected(p, sub, v, "a string");
			continue;
		}
		value = scalar_is_null(v) ? "" : scalar_text(v);
		if (!utf8_valid(value, strlen(value))) {
			perr(p, &v->start_mark, "%s: invalid %s value: not valid UTF-8", sub,
			     what);
			continue;
		}
		if (!charge(p, strlen(name) + strlen(value)))
			continue;
		e = &kv[*nout];
		e->line = (unsigned int)v->start_mark.line + 1;
		e->col = (unsigned int)v->start_mark.column + 1;
		e->name = strdup(name);
		e->value = strdup(value);
		(*nout)++;
		if (!e->name || !e->value) {
			poom(p);
			continue;
		}
		if (kind != KV_ALERT_LABELS && kind != KV_ANNOTATIONS)
			continue;
		e->tmpl = tmpl__compile(value, strlen(value), &off, terr, sizeof(terr));
		if (!e->tmpl) {
			yaml_mark_t m;

			if (errno == ENOMEM) {
				poom(p);
				continue;
			}
			m = scalar_offset_mark(p, v, off);
			perr(p, &m, "%s: %s '%s': template: %s", sub, what, name, terr);
		}
	}
}

/* --- rules ---------------------------------------------------------------- */

enum {
	RK_RECORD = 0, RK_ALERT, RK_EXPR, RK_FOR, RK_KEEP, RK_LABELS, RK_ANNOTATIONS,
	RK__COUNT,
};

static const char *const rule_keys[] = {
	"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations",
	NULL,
};

static void rule_free(struct rule *r)
{
	free(r->name);
	free(r->expr);
	kv_free(r->labels, r->nlabels);
	kv_free(r->annotations, r->nannotations);
	memset(r, 0, sizeof(*r));
}

static void check_expr(struct parser *p, const char *path, const yaml_node_t *n,
		       const char *expr)
{
	char msg[512] = "";
	size_t off = 0;
	yaml_mark_t m;

	if (!p->check)
		return;
	if (!p->check(p->ctx, expr, msg, sizeof(msg), &off))
		return;
	msg[sizeof(msg) - 1] = '\0';
	m = scalar_offset_mark(p, n, off);
	perr(p, &m, "%s: could not parse expression: %s", path, msg[0] ? msg : "invalid");
}

/* Returns true if @r was filled (no error in this rule). */
static bool parse_rule(struct parser *p, const char *path, const yaml_node_t *n,
		       struct rule *r)
{
	const yaml_node_t *k[RK__COUNT], *v[RK__COUNT];
	unsigned int nerr = p->nerr;
	char sub[PATH_BUF], q[QUOTE_BUF];
	memset(r, 0, sizeof(*r));
	if (n->type != YAML_MAPPING_NODE) {
		expected(p, path, n, "a rule (a mapping with alert or record, and expr)");
		return false;
	}
	r->line = (unsigned int)n->start_mark.line + 1;
	r->col = (unsigned int)n->start_mark.column + 1;
	walk_keys(p, path, n, rule_keys, k, v);
	if (v[RK_RECORD] && v[RK_ALERT]) {
		perr(p, &n->start_mark, "%s: only one of 'record' and 'alert' must be set",
		     path);
		return false;
	}
	if (!v[RK_RECORD] && !v[RK_ALERT]) {
		perr(p, &n->start_mark, "%s: one of 'record' or 'alert' must be set", path);
		return false;
	}
	r->type = v[RK_ALERT] ? RULE_ALERTING : RULE_RECORDING;
	subpath(sub, sizeof(sub), "%s.%s", path, r->type == RULE_ALERTING ? "alert" : "record");
	r->name = dup_string(p, sub, v[RK_ALERT] ? v[RK_ALERT] : v[RK_RECORD], false);
	if (r->name && r->type == RULE_RECORDING && !rulefile__valid_metric_name(r->name))
		perr(p, &v[RK_RECORD]->start_mark, "%s: invalid recording rule name: %s",
		     sub, scalar_quote(v[RK_RECORD], q));
	if (r->name && r->type == RULE_ALERTING && !utf8_valid(r->name, strlen(r->name)))
		perr(p, &v[RK_ALERT]->start_mark, "%s: invalid alert name: not valid UTF-8",
		     sub);

	subpath(sub, sizeof(sub), "%s.expr", path);
	if (!v[RK_EXPR]) {
		perr(p, &n->start_mark, "%s: field 'expr' must be set in rule", path);
	} else if (v[RK_EXPR]->type != YAML_SCALAR_NODE || !scalar_text(v[RK_EXPR])) {
		expected(p, sub, v[RK_EXPR], "an expression");
	} else if (scalar_is_null(v[RK_EXPR]) || !*scalar_text(v[RK_EXPR])) {
		perr(p, &v[RK_EXPR]->start_mark, "%s: field 'expr' must be set in rule", path);
	} else if (v[RK_EXPR]->data.scalar.length > RULEFILE_MAX_EXPR) {
		perr(p, &v[RK_EXPR]->start_mark, "%s: expression longer than %d bytes",
		     sub, RULEFILE_MAX_EXPR);
	} else {
		r->expr_line = (unsigned int)v[RK_EXPR]->start_mark.line + 1;
		r->expr_col = (unsigned int)v[RK_EXPR]->start_mark.column + 1;
		r->expr = dup_string(p, sub, v[RK_EXPR], false);
		if (r->expr)
			check_expr(p, sub, v[RK_EXPR], r->expr);
	}

	if (v[RK_FOR]) {
		subpath(sub, sizeof(sub), "%s.for", path);
		parse_duration(p, sub, v[RK_FOR], &r->for_ms);
	}
	if (v[RK_KEEP]) {
		subpath(sub, sizeof(sub), "%s.keep_firing_for", path);
		parse_duration(p, sub, v[RK_KEEP], &r->keep_firing_for_ms);
	}
	if (r->type == RULE_RECORDING) {
		/* Prometheus refuses these only when they would mean something */
		if (r->for_ms)
			perr(p, &k[RK_FOR]->start_mark,
			     "%s: invalid field 'for' in recording rule", path);
		if (r->keep_firing_for_ms)
			perr(p, &k[RK_KEEP]->start_mark,
			     "%s: invalid field 'keep_firing_for' in recording rule", path);
		if (v[RK_ANNOTATIONS] && !scalar_is_null(v[RK_ANNOTATIONS]) &&
		    !(v[RK_ANNOTATIONS]->type == YAML_MAPPING_NODE &&
		      v[RK_ANNOTATIONS]->data.mapping.pairs.top ==
		      v[RK_ANNOTATIONS]->data.mapping.pairs.start))
			perr(p, &k[RK_ANNOTATIONS]->start_mark,
			     "%s: invalid field 'annotations' in recording rule", path);
	}
	if (v[RK_LABELS]) {
		subpath(sub, sizeof(sub), "%s.labels", path);
		parse_kv(p, sub, v[RK_LABELS],
			 r->type == RULE_ALERTING ? KV_ALERT_LABELS : KV_RECORD_LABELS,
			 &r->labels, &r->nlabels);
	}
	if (v[RK_ANNOTATIONS] && r->type == RULE_ALERTING) {
		subpath(sub, sizeof(sub), "%s.annotations", path);
		parse_kv(p, sub, v[RK_ANNOTATIONS], KV_ANNOTATIONS, &r->annotations,
			 &r->nannotations);
	}
	return p->nerr == nerr && !p->oom;
}

/* --- groups --------------------------------------------------------------- */

enum { GK_NAME = 0, GK_INTERVAL, GK_LIMIT, GK_LABELS, GK_RULES, GK__COUNT };

static const char *const group_keys[] = {
	"name", "interval", "limit", "labels", "rules", NULL,
};

static void group_free(struct rule_group *g)
{
	size_t i;

	free(g->name);
	kv_free(g->labels, g->nlabels);
	for (i = 0; i < g->nrules; i++)
		rule_free(&g->rules[i]);
	free(g->rules);
	memset(g, 0, sizeof(*g));
}

static void parse_rules(struct parser *p, const char *path, const yaml_node_t *n,
			struct rule_group *g)
{
	const yaml_node_item_t *item;
	char sub[PATH_BUF];
	size_t count, i = 0;

	if (scalar_is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		expected(p, path, n, "a sequence of rules");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count)
		return;
	if (p->set->nrules + count > RULEFILE_MAX_RULES) {
		if (!p->rules_reported)
			perr(p, &n->start_mark, "%s: more than %d rules in all", path,
			     RULEFILE_MAX_RULES);
		p->rules_reported = true;
		return;
	}
	g->rules = calloc(count, sizeof(*g->rules));
	if (!g->rules) {
		poom(p);
		return;
	}
	for (item = n->data.sequence.items.start; item < n->data.sequence.items.top;
	     item++, i++) {
		const yaml_node_t *rn = yaml_document_get_node(p->doc, *item);
		struct rule *r = &g->rules[g->nrules];

		if (!rn)
			continue;
		subpath(sub, sizeof(sub), "%s[%zu]", path, i);
		if (parse_rule(p, sub, rn, r)) {
			g->nrules++;
			p->set->nrules++;
		} else {
			rule_free(r);
		}
	}
}

static void parse_group(struct parser *p, const char *path, const yaml_node_t *n)
{
	const yaml_node_t *k[GK__COUNT], *v[GK__COUNT];
	struct rule_set *set = p->set;
	char sub[PATH_BUF], q[QUOTE_BUF];
	struct rule_group *g;
	uint64_t limit;
	size_t i;

	if (n->type != YAML_MAPPING_NODE) {
		expected(p, path, n, "a group (a mapping with name and rules)");
		return;
	}
	g = &set->groups[set->ngroups];
	memset(g, 0, sizeof(*g));
	g->file = p->file;
	g->line = (unsigned int)n->start_mark.line + 1;
	g->col = (unsigned int)n->start_mark.column + 1;
	walk_keys(p, path, n, group_keys, k, v);
	if (!v[GK_NAME] || scalar_is_null(v[GK_NAME]) ||
	    (scalar_text(v[GK_NAME]) && !*scalar_text(v[GK_NAME]))) {
		perr(p, v[GK_NAME] ? &v[GK_NAME]->start_mark : &n->start_mark,
		     "%s: group name must not be empty", path);
	} else {
		subpath(sub, sizeof(sub), "%s.name", path);
		g->name = dup_string(p, sub, v[GK_NAME], false);
		for (i = p->first_group; g->name && i < set->ngroups; i++) {
			if (!strcmp(set->groups[i].name, g->name)) {
				perr(p, &v[GK_NAME]->start_mark,
				     "%s: group name '%s' is repeated in the same file",
				     sub, scalar_quote(v[GK_NAME], q));
				break;
			}
		}
	}
	if (v[GK_INTERVAL]) {
		subpath(sub, sizeof(sub), "%s.interval", path);
		parse_duration(p, sub, v[GK_INTERVAL], &g->interval_ms);
	}
	if (v[GK_LIMIT]) {
		const char *s = scalar_text(v[GK_LIMIT]);
		char *end;

		subpath(sub, sizeof(sub), "%s.limit", path);
		errno = 0;
		limit = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
		if (!s || *s < '0' || *s > '9' || *end || errno || limit > UINT32_MAX)
			expected(p, sub, v[GK_LIMIT], "a non-negative integer");
		else
			g->limit = (uint32_t)limit;
	}
	if (v[GK_LABELS]) {
		subpath(sub, sizeof(sub), "%s.labels", path);
		parse_kv(p, sub, v[GK_LABELS], KV_GROUP_LABELS, &g->labels, &g->nlabels);
	}
	if (v[GK_RULES]) {
		subpath(sub, sizeof(sub), "%s.rules", path);
		parse_rules(p, sub, v[GK_RULES], g);
	}
	/* kept even if wrong, so its name still catches duplicates */
	if (g->name)
		set->ngroups++;
	else
		group_free(g);
}

static void parse_root(struct parser *p, const yaml_node_t *root)
{
	static const char *const top_keys[] = { "groups", NULL };
	const yaml_node_t *k[1], *v[1];
	const yaml_node_item_t *item;
	struct rule_set *set = p->set;
	struct rule_group *groups;
	char sub[PATH_BUF];
	size_t count, i = 0;

	if (!root || scalar_is_null(root))
		return;		/* an empty file has no groups */
	if (root->type != YAML_MAPPING_NODE) {
		expected(p, "top level", root, "a mapping with 'groups'");
		return;
	}
	walk_keys(p, "top level", root, top_keys, k, v);
	if (!v[0] || scalar_is_null(v[0]))
		return;
	if (v[0]->type != YAML_SEQUENCE_NODE) {
		expected(p, "groups", v[0], "a sequence of groups");
		return;
	}
	count = (size_t)(v[0]->data.sequence.items.top - v[0]->data.sequence.items.start);
	if (!count)
		return;
	if (set->ngroups + count > RULEFILE_MAX_GROUPS) {
		if (!p->groups_reported)
			perr(p, &v[0]->start_mark, "groups: more than %d groups in all",
			     RULEFILE_MAX_GROUPS);
		p->groups_reported = true;
		return;
	}
	groups = realloc(set->groups, (set->ngroups + count) * sizeof(*groups));
	if (!groups) {
		poom(p);
		return;
	}
	set->groups = groups;
	for (item = v[0]->data.sequence.items.start; item < v[0]->data.sequence.items.top;
	     item++, i++) {
		const yaml_node_t *gn = yaml_document_get_node(p->doc, *item);

		if (!gn)
			continue;
		subpath(sub, sizeof(sub), "groups[%zu]", i);
		parse_group(p, sub, gn);
	}
}

static void yaml_error(struct parser *p, const yaml_parser_t *yp)
{
	yaml_mark_t mark = yp->problem_mark;
	const char *problem = yp->problem ? yp->problem : "unknown error";
	size_t i, end;

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		poom(p);
		return;
	case YAML_READER_ERROR:
		memset(&mark, 0, sizeof(mark));
		end = yp->problem_offset < p->len ? yp->problem_offset : p->len;
		for (i = 0; i < end; i++) {
			if (p->text[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if ((p->text[i] & 0xc0) != 0x80) {
				mark.column++;
			}
		}
		if (yp->problem_value != -1)
			perr(p, &mark, "%s (byte 0x%02x)", problem,
			     (unsigned int)yp->problem_value & 0xff);
		else
			perr(p, &mark, "%s", problem);
		return;
	default:
		if (yp->context)
			perr(p, &mark, "%s (%s at %zu:%zu)", problem, yp->context,
			     yp->context_mark.line + 1, yp->context_mark.column + 1);
		else
			perr(p, &mark, "%s", problem);
	}
}

/* Parse one file's text into p->set. */
static void parse_text(struct parser *p, const char *name, const char *text, size_t len)
{
	yaml_parser_t yp;
	yaml_document_t doc;
	char **files;

	p->name = name;
	p->text = text ? text : "";
	p->len = text ? len : 0;
	p->first_group = p->set->ngroups;
	files = realloc(p->set->files, (p->set->nfiles + 1) * sizeof(*files));
	if (!files) {
		poom(p);
		return;
	}
	p->set->files = files;
	files[p->set->nfiles] = strdup(name);
	if (!files[p->set->nfiles]) {
		poom(p);
		return;
	}
	p->file = files[p->set->nfiles++];
	if (!yaml_parser_initialize(&yp)) {
		poom(p);
		return;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)p->text, p->len);
	if (!yaml_parser_load(&yp, &doc)) {
		yaml_error(p, &yp);
		yaml_parser_delete(&yp);
		return;
	}
	p->doc = &doc;
	parse_root(p, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	p->doc = NULL;
	/* a second document would be silently ignored: refuse it */
	if (!p->oom) {
		if (!yaml_parser_load(&yp, &doc)) {
			yaml_error(p, &yp);
		} else {
			if (yaml_document_get_root_node(&doc))
				perr(p, &doc.start_mark,
				     "only one document is allowed, found another");
			yaml_document_delete(&doc);
		}
	}
	yaml_parser_delete(&yp);
}

void rule_set__free(struct rule_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->ngroups; i++)
		group_free(&set->groups[i]);
	free(set->groups);
	for (i = 0; i < set->nfiles; i++)
		free(set->files[i]);
	free(set->files);
	free(set);
}

/* Hand over the set, or free it and report failure. */
static struct rule_set *finish(struct parser *p)
{
	if (!p->oom && !p->nerr)
		return p->set;
	if (p->oom) {
		perr(p, NULL, "out of memory");
		errno = ENOMEM;
	} else {
		errno = EINVAL;
	}
	rule_set__free(p->set);
	return NULL;
}

struct rule_set *rulefile__parse(const char *name, const char *text, size_t len,
				 rulefile_check_fn check, void *ctx,
				 char *err, size_t errlen)
{
	struct parser p = {
		.name = name ? name : "<rules>",
		.check = check,
		.ctx = ctx,
		.err = err,
		.errlen = errlen,
	};

	if (err && errlen)
		err[0] = '\0';
	p.set = calloc(1, sizeof(*p.set));
	if (!p.set) {
		errno = ENOMEM;
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", p.name);
		return NULL;
	}
	if (len > RULEFILE_MAX_FILE_SIZE) {
		perr(&p, NULL, "file too large, the limit is %d bytes",
		     RULEFILE_MAX_FILE_SIZE);
		rule_set__free(p.set);
		errno = EFBIG;
		return NULL;
	}
	parse_text(&p, p.name, text, len);
	return finish(&p);
}

/*
 * Read @path whole, at most RULEFILE_MAX_FILE_SIZE bytes.  Returns the
 * buffer (caller frees) or NULL with the error reported.
 */
static char *read_file(struct parser *p, const char *path, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd;

	p->name = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perr(p, NULL, "%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > RULEFILE_MAX_FILE_SIZE + 1)
				cap = RULEFILE_MAX_FILE_SIZE + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				poom(p);
				goto err;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perr(p, NULL, "%s", strerror(errno));
			goto err;
		}
		if (!r)
			break;
		n += (size_t)r;
		if (n > RULEFILE_MAX_FILE_SIZE) {
			perr(p, NULL, "file too large, the limit is %d bytes",
			     RULEFILE_MAX_FILE_SIZE);
			goto err;
		}
	}
	close(fd);
	*len = n;
	return buf;
err:
	free(buf);
	close(fd);
	return NULL;
}

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

struct rule_set *rulefile__load(const char *const *patterns, size_t npatterns,
				rulefile_check_fn check, void *ctx,
				char *err, size_t errlen)
{
	struct parser p = {
		.name = "rule_files",
		.check = check,
		.ctx = ctx,
		.err = err,
		.errlen = errlen,
	};
	size_t i, j, nfiles = 0;

	if (err && errlen)
		err[0] = '\0';
	p.set = calloc(1, sizeof(*p.set));
	if (!p.set) {
		errno = ENOMEM;
		if (err && errlen)
			snprintf(err, errlen, "rule_files: out of memory");
		return NULL;
	}
	for (i = 0; i < npatterns && !p.oom; i++) {
		glob_t g;
		int ret;

		ret = glob(patterns[i], GLOB_ERR, NULL, &g);
		if (ret == GLOB_NOMATCH) {
			/* a literal path must exist; a pattern may match nothing */
			if (!has_wildcard(patterns[i])) {
				p.name = patterns[i];
				perr(&p, NULL, "%s", strerror(ENOENT));
			}
			continue;
		}
		if (ret) {
			p.name = patterns[i];
			if (ret == GLOB_NOSPACE)
				poom(&p);
			else
				perr(&p, NULL, "cannot expand pattern: %s",
				     ret == GLOB_ABORTED ? "read error" : "glob failed");
			globfree(&g);
			continue;
		}
		for (j = 0; j < g.gl_pathc && !p.oom; j++) {
			const char *path = g.gl_pathv[j];
			bool dup = false;
			size_t len = 0;
			char *text;

			for (size_t f = 0; f < p.set->nfiles; f++)
				if (!strcmp(p.set->files[f], path))
					dup = true;
			if (dup)
				continue;	/* two patterns matched it */
			if (++nfiles > RULEFILE_MAX_FILES) {
				p.name = patterns[i];
				perr(&p, NULL, "more than %d rule files", RULEFILE_MAX_FILES);
				break;
			}
			text = read_file(&p, path, &len);
			if (!text)
				continue;
			parse_text(&p, path, text, len);
			free(text);
		}
		globfree(&g);
	}
	return finish(&p);
}
