// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration parser.
 *
 * The YAML text is loaded with libyaml's document API so that every node
 * keeps its position, then walked against static schema tables (struct
 * field).  Defaults are set first; each key present overrides one field.
 * Walking never stops at the first problem: every error is appended to
 * the caller's buffer as "NAME:LINE:COL: message" (1-based) until
 * CONFIG_MAX_ERRORS, so one run of the agent shows everything to fix.
 *
 * The walk only descends into nodes the schema knows, and a duplicated
 * key is reported without descending again, so the work stays linear in
 * the input even when aliases make the document a graph (or a cycle).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "regexcost.h"

#define PID_MAX			4194304		/* PID_MAX_LIMIT on 64-bit */
#define QUOTE_MAX		40		/* scalar bytes echoed in messages */
#define QUOTE_BUF		(QUOTE_MAX + 4)
#define DURATION_BUF		64
#define CONFIG_ERR_SCRATCH	8192		/* the notifier parser's errors */
#define REGEX_MAX_COST		4096

enum mark {
	MARK_NONE = 0,
	MARK_INTERVAL,
	MARK_EVAL,
	MARK_RETENTION,
	MARK_IDLE,
	MARK_LEAK_WINDOW,
	MARK__COUNT,
};

struct parser {
	const char *name;
	yaml_document_t *doc;
	struct config *cfg;
	char *err;
	size_t errlen;
	size_t errpos;
	unsigned int nerr;
	bool oom;
	/* value nodes of durations used by cross-field checks */
	const yaml_node_t *marks[MARK__COUNT];
	bool bad[MARK__COUNT];
};

/*
 * One key of a mapping.  @parse gets the containing struct as @obj and
 * finds its field at @off; @min/@max bound numbers (durations in ms);
 * @sub is the table of a nested mapping.
 */
struct field {
	const char *key;
	void (*parse)(struct parser *p, const struct field *f, const char *path,
		      const yaml_node_t *node, void *obj);
	size_t off;
	uint64_t min;
	uint64_t max;
	const struct field *sub;
	enum mark mark;
};

/* --- error reporting --------------------------------------------------- */

static void parser__append(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append to the error buffer; output past @errlen is dropped. */
static void parser__append(struct parser *p, const char *fmt, ...)
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

static void parser__error(struct parser *p, const yaml_mark_t *mark,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record one error at @mark (NULL: no position), one line each. */
static void parser__error(struct parser *p, const yaml_mark_t *mark,
			  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->nerr > CONFIG_MAX_ERRORS)
		return;
	if (p->nerr)
		parser__append(p, "\n");
	if (p->nerr++ == CONFIG_MAX_ERRORS) {
		parser__append(p, "%s: too many errors, the rest are not shown",
			       p->name);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (mark)
		parser__append(p, "%s:%zu:%zu: %s", p->name, mark->line + 1,
			       mark->column + 1, msg);
	else
		parser__append(p, "%s: %s", p->name, msg);
}

/* --- scalars ----------------------------------------------------------- */

/* A plain "", "~" or "null": what "key:" with nothing after it gives. */
static bool scalar__is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The text of a scalar, or NULL for other nodes and embedded NULs. */
static const char *scalar__text(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	return strlen(s) == n->data.scalar.length ? s : NULL;
}

/*
 * A scalar as shown in a message: at most QUOTE_MAX bytes (cut on a
 * UTF-8 boundary, "..." added), control bytes replaced by '?'.
 */
static const char *scalar__quote(const yaml_node_t *n, char *buf)
{
	const unsigned char *s = n->data.scalar.value;
	size_t len = n->data.scalar.length, i;
	bool cut = len > QUOTE_MAX;

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

/* "PATH: expected WHAT, got 'text'" (or got null, a mapping...). */
static void parser__expected(struct parser *p, const char *path,
			     const yaml_node_t *n, const char *what)
{
	char q[QUOTE_BUF];

	if (n->type == YAML_MAPPING_NODE || n->type == YAML_SEQUENCE_NODE)
		parser__error(p, &n->start_mark, "%s: expected %s, got %s",
			      path, what, n->type == YAML_MAPPING_NODE ?
			      "a mapping" : "a sequence");
	else if (scalar__is_null(n))
		parser__error(p, &n->start_mark, "%s: expected %s, got null",
			      path, what);
	else
		parser__error(p, &n->start_mark, "%s: expected %s, got '%s'",
			      path, what, scalar__quote(n, q));
}

/*
 * Parse a decimal unsigned integer: digits only, no sign, no spaces.
 * Returns 0, -ERANGE for a negative or too large number, or -EINVAL.
 */
static int parse_u64(const char *s, uint64_t *v)
{
	const char *d;
	char *end;

	if (!s)
		return -EINVAL;
	d = *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(d, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || d != s)
		return -ERANGE;
	return errno ? -EINVAL : 0;
}

/* --- durations --------------------------------------------------------- */

static const struct {
	const char *unit;
	uint64_t ms;
} duration_units[] = {
	{ "y", 365ULL * 24 * 3600 * 1000 },
	{ "w", 7ULL * 24 * 3600 * 1000 },
	{ "d", 24ULL * 3600 * 1000 },
	{ "h", 3600ULL * 1000 },
	{ "m", 60ULL * 1000 },
	{ "s", 1000 },
	{ "ms", 1 },
};

#define NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/*
 * Prometheus durations: one or more NUMBER UNIT terms, units strictly in
 * the order y w d h m s ms.  A bare number ("0", "5") has no unit and is
 * rejected; so is anything that overflows 64-bit milliseconds.
 */
int config__parse_duration(const char *s, uint64_t *ms)
{
	uint64_t total = 0, n, term;
	size_t next = 0, u;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, (uint64_t)(*s - '0'), &n))
				return -EINVAL;
		}
		if (s[0] == 'm' && s[1] == 's') {
			u = NUNITS - 1;
		} else {
			for (u = 0; u < NUNITS - 1; u++)
				if (*s == duration_units[u].unit[0])
					break;
			if (u == NUNITS - 1)
				return -EINVAL;	/* no unit, or an unknown one */
		}
		if (u < next)
			return -EINVAL;		/* out of order or repeated */
		if (__builtin_mul_overflow(n, duration_units[u].ms, &term) ||
		    __builtin_add_overflow(total, term, &total))
			return -EINVAL;
		s += strlen(duration_units[u].unit);
		next = u + 1;
	}
	*ms = total;
	return 0;
}

/* Format @ms the way Prometheus does ("1h30m", "250ms", "0s"). */
static const char *duration__format(uint64_t ms, char *buf)
{
	size_t len = 0, u;

	buf[0] = '\0';
	if (!ms)
		return strcpy(buf, "0s");
	for (u = 0; u < NUNITS; u++) {
		if (ms < duration_units[u].ms)
			continue;
		len += snprintf(buf + len, DURATION_BUF - len, "%" PRIu64 "%s",
				ms / duration_units[u].ms, duration_units[u].unit);
		ms %= duration_units[u].ms;
	}
	return buf;
}

/* --- value checks ------------------------------------------------------ */

static bool host__valid_name(const char *s, size_t len)
{
	bool numeric = true;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t i;

	if (len > 253)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (c == '.')
			continue;
		numeric = false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return false;
	}
	if (!numeric || !len)
		return true;
	/* all digits and dots: must be a dotted-quad IPv4 address */
	if (len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	return inet_pton(AF_INET, ip, &a) == 1;
}

/*
 * Check "[host]:port": host empty, a name, IPv4 or [IPv6] (an optional
 * %zone allowed); port 1..65535.  Returns NULL or what is wrong.
 */
static const char *listen_address__check(const char *s)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *port, *close;
	struct in6_addr a6;
	uint64_t v;
	size_t len;

	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close)
			return "missing ']'";
		len = (size_t)(close - s - 1);
		if (memchr(s + 1, '%', len))
			len = (size_t)((const char *)memchr(s + 1, '%', len) - s - 1);
		if (!len || len >= sizeof(ip))
			return "invalid IPv6 address";
		memcpy(ip, s + 1, len);
		ip[len] = '\0';
		if (inet_pton(AF_INET6, ip, &a6) != 1)
			return "invalid IPv6 address";
		if (close[1] != ':')
			return "missing ':port' after ']'";
		port = close + 2;
	} else {
		port = strrchr(s, ':');
		if (!port)
			return "missing ':port'";
		if (memchr(s, ':', (size_t)(port - s)))
			return "an IPv6 host must be written in brackets";
		if (!host__valid_name(s, (size_t)(port - s)))
			return "invalid host";
		port++;
	}
	if (parse_u64(port, &v) || v < 1 || v > 65535)
		return "port must be an integer in 1..65535";
	return NULL;
}

/*
 * glibc's regcomp copies a sub-expression once per count of a bounded
 * repetition ("X{n,m}" m times, "X{n,}" n + 1 times, "X+" as "XX*"), so
 * nested repetitions multiply: "((a{99}){99}){99}" builds a million nodes
 * and "a++++...+" doubles per '+'.  A comm is at most 15 bytes, so large
 * bounds buy nothing.  Estimate the expanded size (each character 1, the
 * copies above) and refuse patterns past REGEX_MAX_COST.
 */
static bool regex__too_costly(const char *re)
{
	return regex_cost__exceeds(re, REGEX_MAX_COST);
}

/*
 * A repetition of a repetition ("k**", "a+{2}"): ERE reads it as one, but
 * glibc's regcomp recurses once per operator while closing over empty
 * transitions (the config fuzzer found "k*****...*" taking seconds).  RE2
 * and so Prometheus refuse it; so do we.  Escapes and bracket expressions
 * are skipped.
 */
static bool regex__stacked_repetition(const char *re)
{
	bool quant = false;

	for (const char *s = re; *s; s++) {
		bool q = *s == '*' || *s == '+' || *s == '?' || *s == '{';

		if (q && quant)
			return true;
		if (*s == '\\' && s[1]) {
			s++;
		} else if (*s == '[') {
			const char *b = s + 1;

			if (*b == '^')
				b++;
			if (*b == ']')
				b++;
			while (*b && *b != ']')
				b++;
			s = *b ? b : b - 1;
		} else if (*s == '{') {
			const char *b = s + 1;

			while ((*b >= '0' && *b <= '9') || *b == ',')
				b++;
			if (*b == '}' && b > s + 1)
				s = b;
			else
				q = false;	/* a literal brace */
		}
		quant = q;
	}
	return false;
}

/* --- field parsers ----------------------------------------------------- */

static void parser__walk(struct parser *p, const char *path,
			 const yaml_node_t *map, const struct field *fields,
			 void *obj);

static void *field__ptr(const struct field *f, void *obj)
{
	return (char *)obj + f->off;
}

static void field__mapping(struct parser *p, const struct field *f,
			   const char *path, const yaml_node_t *n, void *obj)
{
	if (scalar__is_null(n))
		return;		/* "global:" with nothing under it */
	if (n->type != YAML_MAPPING_NODE) {
		parser__expected(p, path, n, "a mapping");
		return;
	}
	parser__walk(p, path, n, f->sub, field__ptr(f, obj));
}

static void field__bool(struct parser *p, const struct field *f,
			const char *path, const yaml_node_t *n, void *obj)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	const char *s = scalar__text(n);
	bool *dst = field__ptr(f, obj);
	size_t i;

	for (i = 0; s && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*dst = !strcmp(s, yes[i]);
			return;
		}
	}
	parser__expected(p, path, n, "a boolean (true or false)");
}

static void field__u32(struct parser *p, const struct field *f,
		       const char *path, const yaml_node_t *n, void *obj)
{
	uint32_t *dst = field__ptr(f, obj);
	char q[QUOTE_BUF];
	uint64_t v;
	int ret;

	ret = parse_u64(scalar__text(n), &v);
	if (ret == -EINVAL) {
		parser__expected(p, path, n, "an integer");
		return;
	}
	if (ret || v < f->min || v > f->max) {
		parser__error(p, &n->start_mark,
			      "%s: must be between %" PRIu64 " and %" PRIu64 ", got '%s'",
			      path, f->min, f->max, scalar__quote(n, q));
		return;
	}
	*dst = (uint32_t)v;
}

static void field__duration(struct parser *p, const struct field *f,
			    const char *path, const yaml_node_t *n, void *obj)
{
	char q[QUOTE_BUF], lo[DURATION_BUF], hi[DURATION_BUF];
	uint64_t *dst = field__ptr(f, obj), ms;
	const char *s = scalar__text(n);

	if (!s || config__parse_duration(s, &ms)) {
		p->bad[f->mark] = true;
		parser__expected(p, path, n, "a duration such as 5s, 1m30s or 250ms");
		return;
	}
	if (ms < f->min || ms > f->max) {
		p->bad[f->mark] = true;
		parser__error(p, &n->start_mark, "%s: must be between %s and %s, got '%s'",
			      path, duration__format(f->min, lo),
			      duration__format(f->max, hi), scalar__quote(n, q));
		return;
	}
	p->marks[f->mark] = n;
	*dst = ms;
}

/* Replace the string at @f with a copy of @s. */
static void field__set_string(struct parser *p, const struct field *f,
			      void *obj, const char *s)
{
	char **dst = field__ptr(f, obj), *copy;

	copy = strdup(s);
	if (!copy) {
		p->oom = true;
		return;
	}
	free(*dst);
	*dst = copy;
}

static void field__path(struct parser *p, const struct field *f,
			const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);

	if (!s || !*s || scalar__is_null(n)) {
		parser__expected(p, path, n, "a directory path");
		return;
	}
	field__set_string(p, f, obj, s);
}

static void field__listen(struct parser *p, const struct field *f,
			  const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n), *why;
	char q[QUOTE_BUF];

	if (!s || scalar__is_null(n)) {
		parser__expected(p, path, n, "an address such as \":9477\"");
		return;
	}
	why = listen_address__check(s);
	if (why) {
		parser__error(p, &n->start_mark, "%s: invalid address '%s': %s",
			      path, scalar__quote(n, q), why);
		return;
	}
	field__set_string(p, f, obj, s);
}

/* A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool label_name__valid(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int label__cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* global.external_labels, parsed here only: they live in cfg->notify,
 * where the notifier reads them, and the rule engine reads them there. */
static void field__labels(struct parser *p, const struct field *f,
			  const char *path, const yaml_node_t *n, void *obj)
{
	struct config *cfg = obj;
	struct label *ext;
	char q[QUOTE_BUF];
	size_t count;

	(void)f;
	if (scalar__is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		parser__expected(p, path, n, "a mapping of label names to values");
		return;
	}
	count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > CONFIG_MAX_EXTERNAL_LABELS) {
		parser__error(p, &n->start_mark, "%s: at most %d labels, got %zu",
			      path, CONFIG_MAX_EXTERNAL_LABELS, count);
		return;
	}
	ext = calloc(count ? count : 1, sizeof(*ext));
	cfg->notify.external_labels = ext;
	if (!ext) {
		p->oom = true;
		return;
	}
	for (const yaml_node_pair_t *kv = n->data.mapping.pairs.start;
	     kv < n->data.mapping.pairs.top; kv++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *name = k ? scalar__text(k) : NULL;
		const char *val = v ? scalar__text(v) : NULL;
		struct label *l;

		if (!k || !v)
			continue;
		if (!label_name__valid(name) || !strncmp(name, "__", 2)) {
			parser__error(p, &k->start_mark, "%s: invalid label name '%s'",
				      path, scalar__quote(k, q));
			continue;
		}
		if (!val || scalar__is_null(v) || !*val) {
			parser__expected(p, path, v, "a non-empty label value");
			continue;
		}
		for (size_t i = 0; i < cfg->notify.nexternal; i++)
			if (!strcmp(ext[i].name, name))
				parser__error(p, &k->start_mark, "%s: label '%s' given twice",
					      path, name);
		l = &ext[cfg->notify.nexternal++];
		l->name = strdup(name);
		l->value = strdup(val);
		if (!l->name || !l->value)
			p->oom = true;
	}
	/* The notifier and the templates take them sorted by name. */
	qsort(ext, cfg->notify.nexternal, sizeof(*ext), label__cmp_name);
}

/* @s as a path relative to the directory of the config file. */
static char *relative_to_config(const struct parser *p, const char *s)
{
	const char *slash = strrchr(p->name, '/');
	char *out;

	if (s[0] == '/' || !slash)
		return strdup(s);
	if (asprintf(&out, "%.*s/%s", (int)(slash - p->name), p->name, s) < 0)
		return NULL;
	return out;
}

static void field__rule_files(struct parser *p, const struct field *f,
			      const char *path, const yaml_node_t *n, void *obj)
{
	struct config *cfg = obj;
	char sub[128];
	size_t count, i = 0;

	(void)f;
	if (scalar__is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		parser__expected(p, path, n, "a sequence of file paths or globs");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CONFIG_MAX_RULE_FILES) {
		parser__error(p, &n->start_mark, "%s: at most %d entries, got %zu",
			      path, CONFIG_MAX_RULE_FILES, count);
		return;
	}
	cfg->rule_files = calloc(count ? count : 1, sizeof(*cfg->rule_files));
	if (!cfg->rule_files) {
		p->oom = true;
		return;
	}
	for (const yaml_node_item_t *item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++, i++) {
		const yaml_node_t *pn = yaml_document_get_node(p->doc, *item);
		const char *s = pn ? scalar__text(pn) : NULL;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (!s || !*s || scalar__is_null(pn)) {
			parser__expected(p, sub, pn ? pn : n, "a file path or glob");
			continue;
		}
		cfg->rule_files[cfg->nrule_files] = relative_to_config(p, s);
		if (!cfg->rule_files[cfg->nrule_files++])
			p->oom = true;
	}
}

/*
 * Top-level `alerting`: the notifier's parser (exporters/notify_config.c)
 * reads it; its errors join ours, one line each.
 */
static void field__alerting(struct parser *p, const struct field *f,
			    const char *path, const yaml_node_t *n, void *obj)
{
	struct config *cfg = obj;
	char *buf, *line, *save = NULL;
	int rc;

	(void)f;
	(void)path;
	buf = calloc(1, CONFIG_ERR_SCRATCH);
	if (!buf) {
		p->oom = true;
		return;
	}
	rc = notify_cfg__parse_alerting(&cfg->notify, p->name, p->doc,
					(yaml_node_t *)n, buf, CONFIG_ERR_SCRATCH);
	if (rc == -ENOMEM)
		p->oom = true;
	for (line = strtok_r(buf, "\n", &save); rc == -EINVAL && line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (p->nerr > CONFIG_MAX_ERRORS)
			break;
		if (p->nerr)
			parser__append(p, "\n");
		p->nerr++;
		parser__append(p, "%s", line);
	}
	free(buf);
}

static void field__log_level(struct parser *p, const struct field *f,
			     const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);

	if (!s || log_parse_level(s, field__ptr(f, obj)))
		parser__expected(p, path, n, "one of error, warn, info, debug");
}

/*
 * A share of one CPU: a decimal number ("0.01", "1e-3") or a percentage
 * ("1%", "0.5%"), in (0, 1].  Only digits, '.', and an exponent are taken
 * (strtod would also read "inf", "nan", hex and leading spaces).
 */
static void field__cpu_share(struct parser *p, const struct field *f,
			     const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);
	double *dst = field__ptr(f, obj), v;
	char q[QUOTE_BUF], *end;
	size_t len;

	len = s ? strspn(s, "0123456789.eE+-") : 0;
	if (!len || !strchr("0123456789.-", s[0]) || (s[len] && strcmp(s + len, "%"))) {
		parser__expected(p, path, n, "a share of one CPU such as 0.01 or 1%");
		return;
	}
	/* out of range (ERANGE) gives 0 or HUGE_VAL: refused below */
	v = strtod(s, &end);
	if (end != s + len) {
		parser__expected(p, path, n, "a share of one CPU such as 0.01 or 1%");
		return;
	}
	if (s[len] == '%')
		v /= 100.0;
	if (!(v > 0) || v > 1) {
		parser__error(p, &n->start_mark,
			      "%s: must be more than 0 and at most 1 (100%%), got '%s'",
			      path, scalar__quote(n, q));
		return;
	}
	*dst = v;
}

/* A fraction in (0, 1]: "0.05" or "5%" (the same syntax as a CPU share). */
static void field__fraction(struct parser *p, const struct field *f,
			    const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);
	double *dst = field__ptr(f, obj), v;
	char q[QUOTE_BUF], *end;
	size_t len;

	len = s ? strspn(s, "0123456789.eE+-") : 0;
	if (len && strchr("0123456789.-", s[0]) && (!s[len] || !strcmp(s + len, "%"))) {
		v = strtod(s, &end);
		if (end == s + len) {
			if (s[len] == '%')
				v /= 100.0;
			if (v > 0 && v <= 1) {
				*dst = v;
				return;
			}
			parser__error(p, &n->start_mark,
				      "%s: must be more than 0 and at most 1 (100%%), got '%s'",
				      path, scalar__quote(n, q));
			return;
		}
	}
	parser__expected(p, path, n, "a fraction such as 0.05 or 5%");
}

static void field__pids(struct parser *p, const struct field *f,
			const char *path, const yaml_node_t *n, void *obj)
{
	struct targets_cfg *t = field__ptr(f, obj);
	const yaml_node_item_t *item;
	char sub[128], q[QUOTE_BUF];
	size_t count, i = 0;
	uint64_t v;
	int ret;

	if (n->type != YAML_SEQUENCE_NODE) {
		parser__expected(p, path, n, "a sequence of pids");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!count || count > CONFIG_MAX_PIDS) {
		parser__error(p, &n->start_mark,
			      "%s: expected 1 to %d pids, got %zu", path,
			      CONFIG_MAX_PIDS, count);
		return;
	}
	t->pids = calloc(count, sizeof(*t->pids));
	if (!t->pids) {
		p->oom = true;
		return;
	}
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++, i++) {
		const yaml_node_t *pn = yaml_document_get_node(p->doc, *item);

		if (!pn)
			continue;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		ret = parse_u64(scalar__text(pn), &v);
		if (ret == -EINVAL)
			parser__expected(p, sub, pn, "a pid");
		else if (ret || v < 1 || v > PID_MAX)
			parser__error(p, &pn->start_mark,
				      "%s: must be between 1 and %d, got '%s'",
				      sub, PID_MAX, scalar__quote(pn, q));
		else
			t->pids[t->npids++] = (uint32_t)v;
	}
}

static void field__comm(struct parser *p, const struct field *f,
			const char *path, const yaml_node_t *n, void *obj)
{
	struct targets_cfg *t = field__ptr(f, obj);
	const char *s = scalar__text(n);
	char q[QUOTE_BUF], why[256];
	int ret;

	if (!s || !*s || scalar__is_null(n)) {
		parser__expected(p, path, n, "a regular expression");
		return;
	}
	if (regex__too_costly(s)) {
		parser__error(p, &n->start_mark,
			      "%s: regex '%s' too large once repetitions are expanded (limit %d)",
			      path, scalar__quote(n, q), REGEX_MAX_COST);
		return;
	}
	if (regex__stacked_repetition(s)) {
		parser__error(p, &n->start_mark,
			      "%s: regex '%s': invalid nested repetition operator",
			      path, scalar__quote(n, q));
		return;
	}
	ret = regcomp(&t->comm_re, s, REG_EXTENDED | REG_NOSUB);
	if (ret) {
		if (ret == REG_ESPACE)
			p->oom = true;
		regerror(ret, &t->comm_re, why, sizeof(why));
		parser__error(p, &n->start_mark, "%s: invalid regex '%s': %s",
			      path, scalar__quote(n, q), why);
		return;
	}
	t->comm = strdup(s);
	if (!t->comm) {
		regfree(&t->comm_re);
		p->oom = true;
		return;
	}
	t->comm_set = true;
}

/* An absolute path (exe) or cgroup path/glob: must start with '/'. */
static void field__abs_path(struct parser *p, const struct field *f,
			    const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);

	if (!s || scalar__is_null(n) || s[0] != '/') {
		parser__expected(p, path, n, "an absolute path starting with /");
		return;
	}
	field__set_string(p, f, obj, s);
}

static void field__targets(struct parser *p, const struct field *f,
			   const char *path, const yaml_node_t *n, void *obj)
{
	struct targets_cfg *t = field__ptr(f, obj);
	unsigned int nerr = p->nerr;

	if (n->type != YAML_MAPPING_NODE) {
		parser__expected(p, path, n, "a mapping with pids, comm, exe or cgroup");
		return;
	}
	t->set = true;
	parser__walk(p, path, n, f->sub, t);
	/* an empty filter would match nothing: almost surely a mistake */
	if (p->nerr == nerr && !t->npids && !t->comm_set && !t->exe && !t->cgroup &&
	    !p->oom)
		parser__error(p, &n->start_mark,
			      "%s: expected at least one of pids, comm, exe, cgroup", path);
}

/* --- probes.functions -------------------------------------------------- */

static void field__string(struct parser *p, const struct field *f,
			  const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);

	if (!s || !*s || scalar__is_null(n)) {
		parser__expected(p, path, n, "a non-empty string");
		return;
	}
	field__set_string(p, f, obj, s);
}

/* "provider:name", both non-empty C identifiers (as USDT notes are). */
static bool usdt__valid(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s || !colon[1] || strchr(colon + 1, ':'))
		return false;
	for (const char *c = s; *c; c++)
		if (c != colon && !(*c == '_' || (*c >= 'a' && *c <= 'z') ||
				    (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			return false;
	return true;
}

static void field__usdt(struct parser *p, const struct field *f,
			const char *path, const yaml_node_t *n, void *obj)
{
	const char *s = scalar__text(n);
	char q[QUOTE_BUF];

	if (!s || scalar__is_null(n) || !usdt__valid(s)) {
		parser__error(p, &n->start_mark,
			      "%s: expected provider:name (e.g. python:function__entry), got '%s'",
			      path, s ? scalar__quote(n, q) : "null");
		return;
	}
	field__set_string(p, f, obj, s);
}

/* Raw strings of one entry before they become a struct func_cfg. */
struct func_raw {
	char *name, *binary, *symbol, *usdt, *usdt_begin, *usdt_end, *kernel;
	uint32_t pid;
	double overhead_budget;
	struct targets_cfg targets;
};

static const struct field targets_fields[];

static const struct field func_fields[] = {
	{ .key = "name", .parse = field__string, .off = offsetof(struct func_raw, name) },
	{ .key = "binary", .parse = field__string, .off = offsetof(struct func_raw, binary) },
	{ .key = "symbol", .parse = field__string, .off = offsetof(struct func_raw, symbol) },
	{ .key = "usdt", .parse = field__usdt, .off = offsetof(struct func_raw, usdt) },
	{ .key = "usdt_begin", .parse = field__usdt,
	  .off = offsetof(struct func_raw, usdt_begin) },
	{ .key = "usdt_end", .parse = field__usdt, .off = offsetof(struct func_raw, usdt_end) },
	{ .key = "kernel", .parse = field__string, .off = offsetof(struct func_raw, kernel) },
	{ .key = "pid", .parse = field__u32, .off = offsetof(struct func_raw, pid),
	  .min = 1, .max = PID_MAX },
	{ .key = "overhead_budget", .parse = field__cpu_share,
	  .off = offsetof(struct func_raw, overhead_budget) },
	{ .key = "targets", .parse = field__targets,
	  .off = offsetof(struct func_raw, targets), .sub = targets_fields },
	{ 0 },
};

/* Split "provider:name" into two new strings; false on allocation failure. */
static bool usdt__split(const char *s, char **provider, char **name)
{
	const char *colon = strchr(s, ':');

	*provider = strndup(s, (size_t)(colon - s));
	*name = strdup(colon + 1);
	return *provider && *name;
}

/*
 * Turn a parsed entry into a func_cfg: exactly one of symbol, usdt,
 * usdt_begin + usdt_end, kernel; binary (or pid) for user-space kinds,
 * neither for kernel functions.  Moves the strings out of @r.
 */
static void func__finish(struct parser *p, const char *path, const yaml_node_t *n,
			 struct func_raw *r, struct func_cfg *fn)
{
	int kinds = !!r->symbol + !!r->usdt + !!(r->usdt_begin || r->usdt_end) + !!r->kernel;
	bool ok = true;

	fn->line = (unsigned int)n->start_mark.line + 1;
	fn->col = (unsigned int)n->start_mark.column + 1;
	if (kinds != 1) {
		parser__error(p, &n->start_mark,
			      "%s: expected exactly one of symbol, usdt, usdt_begin/usdt_end "
			      "or kernel, got %d", path, kinds);
		return;
	}
	if ((r->usdt_begin || r->usdt_end) && !(r->usdt_begin && r->usdt_end)) {
		parser__error(p, &n->start_mark, "%s: usdt_begin and usdt_end go together",
			      path);
		return;
	}
	if (r->kernel && (r->binary || r->pid)) {
		parser__error(p, &n->start_mark,
			      "%s: a kernel function takes no binary or pid", path);
		return;
	}
	if (!r->kernel && !r->binary && !r->pid) {
		parser__error(p, &n->start_mark,
			      "%s: expected binary (a path or library name), or pid", path);
		return;
	}
	if (r->symbol) {
		fn->kind = FUNC_UPROBE;
		fn->symbol = r->symbol;
		r->symbol = NULL;
	} else if (r->usdt) {
		fn->kind = FUNC_USDT;
		ok = usdt__split(r->usdt, &fn->provider, &fn->probe);
	} else if (r->usdt_begin) {
		fn->kind = FUNC_USDT_PAIR;
		ok = usdt__split(r->usdt_begin, &fn->provider, &fn->probe) &&
		     usdt__split(r->usdt_end, &fn->end_provider, &fn->end_probe);
	} else {
		fn->kind = FUNC_KERNEL;
		fn->kernel = r->kernel;
		r->kernel = NULL;
	}
	fn->binary = r->binary;
	r->binary = NULL;
	fn->pid = r->pid;
	fn->overhead_budget = r->overhead_budget;
	fn->targets = r->targets;
	memset(&r->targets, 0, sizeof(r->targets));
	if (r->name) {
		fn->name = r->name;
		r->name = NULL;
	} else {
		fn->name = strdup(fn->symbol ? fn->symbol : fn->kernel ? fn->kernel :
				  r->usdt ? r->usdt : r->usdt_begin);
	}
	if (!ok || !fn->name)
		p->oom = true;
}

static void targets__free(struct targets_cfg *t)
{
	if (t->comm_set)
		regfree(&t->comm_re);
	free(t->comm);
	free(t->pids);
	free(t->exe);
	free(t->cgroup);
	memset(t, 0, sizeof(*t));
}

static void func_raw__free(struct func_raw *r)
{
	free(r->name);
	free(r->binary);
	free(r->symbol);
	free(r->usdt);
	free(r->usdt_begin);
	free(r->usdt_end);
	free(r->kernel);
	targets__free(&r->targets);
}

static void field__functions(struct parser *p, const struct field *f,
			     const char *path, const yaml_node_t *n, void *obj)
{
	struct config *cfg = obj;
	const yaml_node_item_t *item;
	char sub[128];
	size_t count, i = 0;

	(void)f;
	if (scalar__is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		parser__expected(p, path, n, "a sequence of functions");
		return;
	}
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > CONFIG_MAX_FUNCTIONS) {
		parser__error(p, &n->start_mark, "%s: at most %d functions, got %zu",
			      path, CONFIG_MAX_FUNCTIONS, count);
		return;
	}
	if (!count)
		return;
	cfg->functions = calloc(count, sizeof(*cfg->functions));
	if (!cfg->functions) {
		p->oom = true;
		return;
	}
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++, i++) {
		const yaml_node_t *fn = yaml_document_get_node(p->doc, *item);
		struct func_raw raw = { 0 };
		unsigned int nerr = p->nerr;

		if (!fn)
			continue;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (fn->type != YAML_MAPPING_NODE) {
			parser__expected(p, sub, fn, "a mapping");
			continue;
		}
		parser__walk(p, sub, fn, func_fields, &raw);
		if (p->nerr == nerr && !p->oom)
			func__finish(p, sub, fn, &raw, &cfg->functions[cfg->nfunctions++]);
		func_raw__free(&raw);
	}
}

/* --- schema ------------------------------------------------------------ */

static const struct field targets_fields[] = {
	{ .key = "pids", .parse = field__pids },
	{ .key = "comm", .parse = field__comm },
	{ .key = "exe", .parse = field__abs_path, .off = offsetof(struct targets_cfg, exe) },
	{ .key = "cgroup", .parse = field__abs_path,
	  .off = offsetof(struct targets_cfg, cgroup) },
	{ 0 },
};

static const struct field probe_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct probe_cfg, enabled) },
	{ .key = "max_entries", .parse = field__u32,
	  .off = offsetof(struct probe_cfg, max_entries),
	  .min = 1, .max = 1048576 },
	{ .key = "targets", .parse = field__targets,
	  .off = offsetof(struct probe_cfg, targets), .sub = targets_fields },
	{ 0 },
};

/* Block I/O completes in interrupt context, not in the process that asked
 * for it, so that probe has no per-process targets. */
static const struct field untargeted_probe_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct probe_cfg, enabled) },
	{ .key = "max_entries", .parse = field__u32,
	  .off = offsetof(struct probe_cfg, max_entries),
	  .min = 1, .max = 1048576 },
	{ 0 },
};

static const struct field leak_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct leak_cfg, enabled) },
	{ .key = "window", .parse = field__duration,
	  .off = offsetof(struct leak_cfg, window_ms),
	  .min = 1000, .max = 7 * 24 * 3600 * 1000ULL, .mark = MARK_LEAK_WINDOW },
	{ .key = "min_samples", .parse = field__u32,
	  .off = offsetof(struct leak_cfg, min_samples), .min = 18, .max = 100000 },
	{ .key = "max_processes", .parse = field__u32,
	  .off = offsetof(struct leak_cfg, max_processes), .min = 1, .max = 65536 },
	{ .key = "significance", .parse = field__fraction,
	  .off = offsetof(struct leak_cfg, significance) },
	{ .key = "min_growth", .parse = field__fraction,
	  .off = offsetof(struct leak_cfg, min_growth) },
	{ 0 },
};

static const struct field growth_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct growth_cfg, enabled) },
	{ .key = "sample_every", .parse = field__u32,
	  .off = offsetof(struct growth_cfg, sample_every), .min = 1, .max = 65536 },
	{ .key = "top_k", .parse = field__u32,
	  .off = offsetof(struct growth_cfg, top_k), .min = 1, .max = 100 },
	{ 0 },
};

static const struct field memory_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct memory_cfg, enabled) },
	{ .key = "max_entries", .parse = field__u32,
	  .off = offsetof(struct memory_cfg, max_entries),
	  .min = 1, .max = 1048576 },
	{ .key = "pid_label", .parse = field__bool,
	  .off = offsetof(struct memory_cfg, pid_label) },
	{ .key = "targets", .parse = field__targets,
	  .off = offsetof(struct memory_cfg, targets), .sub = targets_fields },
	{ .key = "leak_detection", .parse = field__mapping,
	  .off = offsetof(struct memory_cfg, leak), .sub = leak_fields },
	{ .key = "growth_paths", .parse = field__mapping,
	  .off = offsetof(struct memory_cfg, growth), .sub = growth_fields },
	{ 0 },
};

/* --- probes.gc ----------------------------------------------------------- */

static const char *const gc_runtime_names[GC__COUNT] = {
	[GC_PYTHON] = "python",
	[GC_HOTSPOT] = "hotspot",
	[GC_RUBY] = "ruby",
	[GC_GO] = "go",
};

const char *gc_runtime__name(unsigned int rt)
{
	return rt < GC__COUNT ? gc_runtime_names[rt] : "unknown";
}

static void field__gc_runtimes(struct parser *p, const struct field *f,
			       const char *path, const yaml_node_t *n, void *obj)
{
	unsigned int *dst = field__ptr(f, obj), set = 0;
	const yaml_node_item_t *item;
	char sub[128], q[QUOTE_BUF];
	size_t i = 0;

	if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top ==
	    n->data.sequence.items.start) {
		parser__expected(p, path, n, "a sequence of runtimes (python, hotspot, "
				 "ruby, go)");
		return;
	}
	for (item = n->data.sequence.items.start;
	     item < n->data.sequence.items.top; item++, i++) {
		const yaml_node_t *rn = yaml_document_get_node(p->doc, *item);
		const char *s;
		unsigned int rt;

		if (!rn)
			continue;
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		s = scalar__text(rn);
		for (rt = 0; s && rt < GC__COUNT; rt++)
			if (!strcmp(s, gc_runtime_names[rt]))
				break;
		if (!s || rt == GC__COUNT) {
			parser__expected(p, sub, rn, "one of python, hotspot, ruby, go");
			continue;
		}
		if (set & (1U << rt)) {
			parser__error(p, &rn->start_mark, "%s: runtime '%s' listed twice",
				      sub, scalar__quote(rn, q));
			continue;
		}
		set |= 1U << rt;
	}
	*dst = set;
}

static const struct field gc_fields[] = {
	{ .key = "enabled", .parse = field__bool,
	  .off = offsetof(struct gc_cfg, probe.enabled) },
	{ .key = "max_entries", .parse = field__u32,
	  .off = offsetof(struct gc_cfg, probe.max_entries),
	  .min = 1, .max = 1048576 },
	{ .key = "targets", .parse = field__targets,
	  .off = offsetof(struct gc_cfg, probe.targets), .sub = targets_fields },
	{ .key = "runtimes", .parse = field__gc_runtimes,
	  .off = offsetof(struct gc_cfg, runtimes) },
	{ 0 },
};

#define PROBE_FIELD(id, name, fields)					\
	[id] = { .key = name, .parse = field__mapping,			\
		 .off = offsetof(struct config, probes) +		\
			(id) * sizeof(struct probe_cfg),		\
		 .sub = fields }

/* Indexed by enum probe_id, then the list of functions. */
static const struct field probes_fields[PROBE__COUNT + 4] = {
	PROBE_FIELD(PROBE_RUNQ, "runqueue_latency", probe_fields),
	PROBE_FIELD(PROBE_BIO, "block_io_latency", untargeted_probe_fields),
	PROBE_FIELD(PROBE_SYSCALL, "syscall_latency", probe_fields),
	[PROBE__COUNT] = { .key = "functions", .parse = field__functions },
	[PROBE__COUNT + 1] = { .key = "memory", .parse = field__mapping,
			       .off = offsetof(struct config, memory),
			       .sub = memory_fields },
	[PROBE__COUNT + 2] = { .key = "gc", .parse = field__mapping,
			       .off = offsetof(struct config, gc), .sub = gc_fields },
	[PROBE__COUNT + 3] = { 0 },
};

static const struct field global_fields[] = {
	{ .key = "collection_interval", .parse = field__duration,
	  .off = offsetof(struct config, collection_interval_ms),
	  .min = 100, .max = 3600 * 1000, .mark = MARK_INTERVAL },
	{ .key = "retention", .parse = field__duration,
	  .off = offsetof(struct config, retention_ms),
	  .max = UINT64_MAX, .mark = MARK_RETENTION },
	{ .key = "series_idle_timeout", .parse = field__duration,
	  .off = offsetof(struct config, idle_timeout_ms),
	  .max = UINT64_MAX, .mark = MARK_IDLE },
	{ .key = "max_series", .parse = field__u32,
	  .off = offsetof(struct config, max_series),
	  .min = 1, .max = 10000000 },
	{ .key = "strict", .parse = field__bool,
	  .off = offsetof(struct config, strict) },
	{ .key = "log_level", .parse = field__log_level,
	  .off = offsetof(struct config, log_level) },
	{ .key = "overhead_budget", .parse = field__cpu_share,
	  .off = offsetof(struct config, overhead_budget) },
	{ .key = "evaluation_interval", .parse = field__duration,
	  .off = offsetof(struct config, evaluation_interval_ms),
	  .min = 100, .max = 24 * 3600 * 1000ULL, .mark = MARK_EVAL },
	{ .key = "external_labels", .parse = field__labels },
	{ 0 },
};

static const struct field web_fields[] = {
	{ .key = "listen_address", .parse = field__listen,
	  .off = offsetof(struct config, listen_address) },
	{ 0 },
};

static const struct field top_fields[] = {
	{ .key = "global", .parse = field__mapping, .sub = global_fields },
	{ .key = "web", .parse = field__mapping, .sub = web_fields },
	{ .key = "state_dir", .parse = field__path,
	  .off = offsetof(struct config, state_dir) },
	{ .key = "probes", .parse = field__mapping, .sub = probes_fields },
	{ .key = "rule_files", .parse = field__rule_files },
	{ .key = "alerting", .parse = field__alerting },
	{ 0 },
};

const char *probe_id__name(enum probe_id id)
{
	if ((unsigned int)id >= PROBE__COUNT)
		return "unknown";
	return probes_fields[id].key;
}

/*
 * Walk the pairs of mapping @map against @fields (at most 64).  Keys are
 * matched by their full length, so "strict\0x" is not "strict".
 */
static void parser__walk(struct parser *p, const char *path,
			 const yaml_node_t *map, const struct field *fields,
			 void *obj)
{
	const char *where = path ? path : "top level";
	const yaml_node_pair_t *pair;
	char sub[128], q[QUOTE_BUF];
	uint64_t seen = 0;

	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const struct field *f;
		uint64_t bit;

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			parser__expected(p, where, k, "a field name");
			continue;
		}
		for (f = fields; f->key; f++)
			if (strlen(f->key) == k->data.scalar.length &&
			    !memcmp(f->key, k->data.scalar.value, k->data.scalar.length))
				break;
		if (!f->key) {
			parser__error(p, &k->start_mark, "unknown field '%s' %s%s",
				      scalar__quote(k, q), path ? "in " : "at ",
				      where);
			continue;
		}
		bit = 1ULL << (f - fields);
		if (seen & bit) {
			parser__error(p, &k->start_mark, "duplicate field '%s' %s%s",
				      f->key, path ? "in " : "at ", where);
			continue;
		}
		seen |= bit;
		snprintf(sub, sizeof(sub), "%s%s%s", path ? path : "",
			 path ? "." : "", f->key);
		f->parse(p, f, sub, v, obj);
	}
}

/* Retention and idle timeout must be at least the collection interval. */
static void parser__check_min_interval(struct parser *p, enum mark m,
				       const char *path, uint64_t v)
{
	uint64_t iv = p->cfg->collection_interval_ms;
	char a[DURATION_BUF], q[QUOTE_BUF];
	const yaml_node_t *n = p->marks[m];

	if (p->bad[MARK_INTERVAL] || p->bad[m] || v >= iv)
		return;
	if (n) {
		parser__error(p, &n->start_mark,
			      "%s: must be at least global.collection_interval (%s), got '%s'",
			      path, duration__format(iv, a), scalar__quote(n, q));
		return;
	}
	/* @v is the default: the interval is what moved past it */
	n = p->marks[MARK_INTERVAL];
	if (n)
		parser__error(p, &n->start_mark,
			      "global.collection_interval: must not exceed %s (default %s), got '%s'",
			      path, duration__format(v, a), scalar__quote(n, q));
}

/* Rules are evaluated on collection ticks: their interval must be a
 * whole number of them.  Not given, it is 15 s rounded up to one. */
static void parser__check_eval(struct parser *p)
{
	uint64_t iv = p->cfg->collection_interval_ms, v = p->cfg->evaluation_interval_ms;
	char a[DURATION_BUF], q[QUOTE_BUF];
	const yaml_node_t *n = p->marks[MARK_EVAL];

	if (p->bad[MARK_INTERVAL] || p->bad[MARK_EVAL] || !iv)
		return;
	if (!n) {
		p->cfg->evaluation_interval_ms = (v + iv - 1) / iv * iv;
		return;
	}
	if (v % iv)
		parser__error(p, &n->start_mark,
			      "global.evaluation_interval: must be a multiple of "
			      "global.collection_interval (%s), got '%s'",
			      duration__format(iv, a), scalar__quote(n, q));
}

/*
 * The leak window must hold min_samples collection ticks.  A window given
 * in the file that does not is an error; the default one is widened, so a
 * long collection_interval alone needs no leak_detection section.
 */
static void parser__check_leak_window(struct parser *p)
{
	struct leak_cfg *l = &p->cfg->memory.leak;
	const yaml_node_t *n = p->marks[MARK_LEAK_WINDOW];
	char a[DURATION_BUF], b[DURATION_BUF];
	uint64_t iv = p->cfg->collection_interval_ms;

	if (!l->enabled || p->bad[MARK_INTERVAL] || p->bad[MARK_LEAK_WINDOW] ||
	    l->window_ms / iv + 1 >= l->min_samples)
		return;
	if (!n) {
		l->window_ms = (uint64_t)(l->min_samples - 1) * iv;
		return;
	}
	parser__error(p, &n->start_mark,
		      "probes.memory.leak_detection.window: %s holds fewer than "
		      "min_samples (%u) ticks of global.collection_interval (%s)",
		      duration__format(l->window_ms, a), l->min_samples,
		      duration__format(iv, b));
}

static void parser__root(struct parser *p, const yaml_node_t *root)
{
	if (!root || scalar__is_null(root))
		return;		/* empty document: all defaults */
	if (root->type != YAML_MAPPING_NODE) {
		parser__expected(p, "top level", root, "a mapping");
		return;
	}
	parser__walk(p, NULL, root, top_fields, p->cfg);
	parser__check_min_interval(p, MARK_RETENTION, "global.retention",
				   p->cfg->retention_ms);
	parser__check_min_interval(p, MARK_IDLE, "global.series_idle_timeout",
				   p->cfg->idle_timeout_ms);
	parser__check_eval(p);
	parser__check_leak_window(p);
}

/* Report a libyaml failure: the problem text at its position. */
static void parser__yaml_error(struct parser *p, const yaml_parser_t *yp,
			       const char *text, size_t len)
{
	yaml_mark_t mark = yp->problem_mark;
	const char *problem = yp->problem ? yp->problem : "unknown error";
	size_t i, end;

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		p->oom = true;
		return;
	case YAML_READER_ERROR:
		/* only a byte offset is known: derive line and column */
		memset(&mark, 0, sizeof(mark));
		end = yp->problem_offset < len ? yp->problem_offset : len;
		for (i = 0; i < end; i++) {
			if (text[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if ((text[i] & 0xc0) != 0x80) {
				mark.column++;
			}
		}
		if (yp->problem_value != -1)
			parser__error(p, &mark, "%s (byte 0x%02x)", problem,
				      (unsigned int)yp->problem_value & 0xff);
		else
			parser__error(p, &mark, "%s", problem);
		return;
	default:
		if (yp->context)
			parser__error(p, &mark, "%s (%s at %zu:%zu)", problem,
				      yp->context, yp->context_mark.line + 1,
				      yp->context_mark.column + 1);
		else
			parser__error(p, &mark, "%s", problem);
		return;
	}
}

static struct config *config__new_default(const char *name)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->collection_interval_ms = 5 * 1000;
	cfg->retention_ms = 15 * 60 * 1000;
	cfg->idle_timeout_ms = 5 * 60 * 1000;
	cfg->max_series = 50000;
	cfg->strict = false;
	cfg->log_level = LOG_INFO;
	cfg->overhead_budget = 0.01;
	cfg->evaluation_interval_ms = 15 * 1000;
	notify_cfg__init(&cfg->notify);
	cfg->probes[PROBE_RUNQ].enabled = true;
	cfg->probes[PROBE_RUNQ].max_entries = 2048;
	cfg->probes[PROBE_BIO].enabled = true;
	cfg->probes[PROBE_BIO].max_entries = 256;
	cfg->probes[PROBE_SYSCALL].enabled = false;
	cfg->probes[PROBE_SYSCALL].max_entries = 4096;
	cfg->memory.enabled = true;
	cfg->memory.max_entries = 16384;
	cfg->memory.leak.enabled = true;
	cfg->memory.leak.window_ms = 10 * 60 * 1000;
	cfg->memory.leak.min_samples = 20;
	cfg->memory.leak.max_processes = 256;
	cfg->memory.leak.significance = 0.01;
	cfg->memory.leak.min_growth = 0.02;
	cfg->memory.growth.sample_every = 64;
	cfg->memory.growth.top_k = 5;
	cfg->gc.probe.enabled = true;
	cfg->gc.probe.max_entries = 1024;
	cfg->gc.runtimes = (1U << GC__COUNT) - 1;
	cfg->source = strdup(name);
	cfg->listen_address = strdup(":9477");
	cfg->state_dir = strdup("/var/lib/bpfwatch");
	if (!cfg->source || !cfg->listen_address || !cfg->state_dir) {
		config__free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * Only the first document is the configuration; a second one would be
 * silently ignored, so it is an error.
 */
static void parser__rest(struct parser *p, yaml_parser_t *yp,
			 const char *text, size_t len)
{
	yaml_document_t doc;

	if (!yaml_parser_load(yp, &doc)) {
		parser__yaml_error(p, yp, text, len);
		return;
	}
	if (yaml_document_get_root_node(&doc))
		parser__error(p, &doc.start_mark,
			      "only one document is allowed, found another");
	yaml_document_delete(&doc);
}

struct config *config__parse(const char *name, const char *text, size_t len,
			     char *err, size_t errlen)
{
	struct parser p = {
		.name = name ? name : "<config>",
		.err = err,
		.errlen = errlen,
	};
	yaml_parser_t yp;
	yaml_document_t doc;

	if (err && errlen)
		err[0] = '\0';
	if (!text) {
		text = "";
		len = 0;
	}
	p.cfg = config__new_default(p.name);
	if (!p.cfg) {
		p.oom = true;
		goto err_out;
	}
	if (!yaml_parser_initialize(&yp)) {
		p.oom = true;
		goto err_free_cfg;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &doc)) {
		parser__yaml_error(&p, &yp, text, len);
		goto err_delete_parser;
	}
	p.doc = &doc;
	parser__root(&p, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	p.doc = NULL;
	if (!p.oom)
		parser__rest(&p, &yp, text, len);
	if (p.nerr || p.oom)
		goto err_delete_parser;
	yaml_parser_delete(&yp);
	return p.cfg;

err_delete_parser:
	yaml_parser_delete(&yp);
err_free_cfg:
	config__free(p.cfg);
err_out:
	if (p.oom && !p.nerr)
		parser__error(&p, NULL, "out of memory");
	errno = p.oom ? ENOMEM : EINVAL;
	return NULL;
}

/*
 * The whole file is read into memory, so it is bounded: more than
 * CONFIG_MAX_FILE_SIZE bytes is refused (errno EFBIG) before parsing.
 */
struct config *config__load_file(const char *path, char *err, size_t errlen)
{
	bool too_large = false;
	struct config *cfg;
	size_t len = 0;
	char *buf;
	ssize_t n;
	int fd, ret;

	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		goto err_report;
	}
	/* read one byte past the limit to tell "exactly 1 MiB" from "more" */
	buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
	if (!buf) {
		ret = ENOMEM;
		goto err_close_fd;
	}
	while (len <= CONFIG_MAX_FILE_SIZE) {
		n = read(fd, buf + len, CONFIG_MAX_FILE_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno;
			goto err_free_buf;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_FILE_SIZE) {
		too_large = true;
		ret = EFBIG;
		goto err_free_buf;
	}
	close(fd);
	cfg = config__parse(path, buf, len, err, errlen);
	ret = errno;
	free(buf);
	errno = ret;
	return cfg;

err_free_buf:
	free(buf);
err_close_fd:
	close(fd);
err_report:
	if (err && errlen && too_large)
		snprintf(err, errlen, "%s: file too large, the limit is %d bytes",
			 path, CONFIG_MAX_FILE_SIZE);
	else if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(ret));
	errno = ret;
	return NULL;
}

struct config *config__load_default(char *err, size_t errlen)
{
	return config__parse("<default>", bw_default_config,
			     strlen(bw_default_config), err, errlen);
}

void config__free(struct config *cfg)
{
	int i;

	if (!cfg)
		return;
	for (i = 0; i < PROBE__COUNT; i++)
		targets__free(&cfg->probes[i].targets);
	targets__free(&cfg->gc.probe.targets);
	for (size_t j = 0; j < cfg->nfunctions; j++) {
		struct func_cfg *fn = &cfg->functions[j];

		free(fn->name);
		free(fn->binary);
		free(fn->symbol);
		free(fn->provider);
		free(fn->probe);
		free(fn->end_provider);
		free(fn->end_probe);
		free(fn->kernel);
		targets__free(&fn->targets);
	}
	free(cfg->functions);
	for (size_t j = 0; j < cfg->nrule_files; j++)
		free(cfg->rule_files[j]);
	free(cfg->rule_files);
	notify_cfg__free(&cfg->notify);
	targets__free(&cfg->memory.targets);
	free(cfg->source);
	free(cfg->listen_address);
	free(cfg->state_dir);
	free(cfg);
}
