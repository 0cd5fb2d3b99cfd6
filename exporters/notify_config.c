// SPDX-License-Identifier: GPL-2.0
/*
 * Alert delivery configuration parser (libyaml document API, so every
 * error carries its file:line:col).  Walks only `global.external_labels`
 * and `alerting`; collects every error instead of stopping at the first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "notify_config.h"

#define MAX_ERRORS	20
#define MAX_LABELS	64
#define MAX_HEADERS	32

struct np {
	const char *name;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	size_t pos;
	unsigned int nerr;
	bool oom;
};

static void np__error(struct np *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void np__error(struct np *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int w;

	if (p->nerr++ >= MAX_ERRORS || !p->err || p->pos + 1 >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		w = snprintf(p->err + p->pos, p->errlen - p->pos, "%s%s:%zu:%zu: %s",
			     p->pos ? "\n" : "", p->name, n->start_mark.line + 1,
			     n->start_mark.column + 1, msg);
	else
		w = snprintf(p->err + p->pos, p->errlen - p->pos, "%s%s: %s",
			     p->pos ? "\n" : "", p->name, msg);
	if (w > 0)
		p->pos += (size_t)w < p->errlen - p->pos ? (size_t)w : p->errlen - p->pos - 1;
}

static const char *scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE ||
	    strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* A mapping key as text; "" for a non-scalar key (reported as unknown). */
static const char *key_text(const yaml_node_t *k)
{
	const char *s = scalar(k);

	return s ? s : "";
}

static yaml_node_t *node(struct np *p, int i)
{
	return yaml_document_get_node(p->doc, i);
}

static char *dup_or_oom(struct np *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->oom = true;
	return d;
}

/* A string field; replaces *dst. */
static void get_string(struct np *p, const char *path, yaml_node_t *n, char **dst)
{
	const char *s = scalar(n);

	if (!s) {
		np__error(p, n, "%s: expected a string", path);
		return;
	}
	free(*dst);
	*dst = dup_or_oom(p, s);
}

static void get_duration(struct np *p, const char *path, yaml_node_t *n,
			 uint64_t *ms, uint64_t min, uint64_t max)
{
	const char *s = scalar(n);
	uint64_t v;

	if (!s || config__parse_duration(s, &v)) {
		np__error(p, n, "%s: expected a duration like 10s or 1m30s, got '%.40s'",
			  path, s ? s : "a collection");
		return;
	}
	if (v < min || v > max) {
		np__error(p, n, "%s: must be between %llums and %llums, got '%s'", path,
			  (unsigned long long)min, (unsigned long long)max, s);
		return;
	}
	*ms = v;
}

static void get_u64(struct np *p, const char *path, yaml_node_t *n,
		    uint64_t *out, uint64_t min, uint64_t max)
{
	const char *s = scalar(n);
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || *s < '0' || *s > '9' || (v = strtoull(s, &end, 10), *end) ||
	    errno) {
		np__error(p, n, "%s: expected a whole number, got '%.40s'", path,
			  s ? s : "a collection");
		return;
	}
	if (v < min || v > max) {
		np__error(p, n, "%s: must be between %llu and %llu, got %llu", path,
			  (unsigned long long)min, (unsigned long long)max, v);
		return;
	}
	*out = v;
}

static void get_uint(struct np *p, const char *path, yaml_node_t *n,
		     unsigned int *out, unsigned int min, unsigned int max)
{
	uint64_t v = *out;

	get_u64(p, path, n, &v, min, max);
	*out = (unsigned int)v;
}

static void get_bool(struct np *p, const char *path, yaml_node_t *n, bool *out)
{
	const char *s = scalar(n);

	if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")))
		*out = true;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
		*out = false;
	else
		np__error(p, n, "%s: expected true or false", path);
}

static bool valid_label_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* A mapping of strings to strings (labels or headers). */
static void get_string_map(struct np *p, const char *path, yaml_node_t *n,
			   struct label **out, size_t *nout, size_t max,
			   bool label_names)
{
	yaml_node_pair_t *pr;
	struct label *l;
	size_t cnt;

	if (*out) {
		np__error(p, n, "%s: given twice", path);
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		np__error(p, n, "%s: expected a mapping", path);
		return;
	}
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt > max) {
		np__error(p, n, "%s: at most %zu entries, got %zu", path, max, cnt);
		return;
	}
	l = calloc(cnt ? cnt : 1, sizeof(*l));
	if (!l) {
		p->oom = true;
		return;
	}
	*out = l;
	*nout = 0;
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *ks = scalar(k), *vs = scalar(v);

		if (!ks || !*ks || (label_names && !valid_label_name(ks)) ||
		    (!label_names && strpbrk(ks, ": \r\n"))) {
			np__error(p, k, "%s: invalid %s '%.40s'", path,
				  label_names ? "label name" : "header name", ks ? ks : "");
			continue;
		}
		if (!vs || (!label_names && strpbrk(vs, "\r\n"))) {
			np__error(p, v, "%s.%s: expected a single-line string", path, ks);
			continue;
		}
		for (size_t i = 0; i < *nout; i++)
			if (!strcmp(l[i].name, ks))
				np__error(p, k, "%s: duplicate key '%s'", path, ks);
		l[*nout].name = dup_or_oom(p, ks);
		l[*nout].value = dup_or_oom(p, vs);
		(*nout)++;
	}
	if (label_names)
		qsort(l, *nout, sizeof(*l), cmp_label);
}

static bool valid_url(const char *u)
{
	return !strncmp(u, "http://", 7) ? u[7] != '\0' && u[7] != '/' :
	       !strncmp(u, "https://", 8) ? u[8] != '\0' && u[8] != '/' : false;
}

static void strip_slashes(char *s)
{
	size_t l = s ? strlen(s) : 0;

	while (l && s[l - 1] == '/')
		s[--l] = '\0';
}

/* Iterate a mapping's pairs; the cursor is named after the key variable
 * so that nested loops do not shadow each other. */
#define FOR_PAIRS(p, n, k, v, ks)						\
	for (yaml_node_pair_t *k##_pr = (n)->data.mapping.pairs.start;		\
	     k##_pr < (n)->data.mapping.pairs.top &&				\
	     ((k) = node(p, k##_pr->key), (v) = node(p, k##_pr->value),		\
	      (ks) = key_text(k), 1);					\
	     k##_pr++)

static bool expect_map(struct np *p, const char *path, yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return true;
	np__error(p, n, "%s: expected a mapping", path);
	return false;
}

static void unknown(struct np *p, const char *path, yaml_node_t *k, const char *ks)
{
	np__error(p, k, "%s: unknown field '%.40s'", path, ks);
}

static void parse_am(struct np *p, const char *path, yaml_node_t *n,
		     struct notify_am_cfg *am)
{
	yaml_node_t *k, *v, *k2, *v2;
	const char *ks, *ks2;
	char sub[96];

	am->timeout_ms = 10000;
	if (!expect_map(p, path, n))
		return;
	FOR_PAIRS(p, n, k, v, ks) {
		snprintf(sub, sizeof(sub), "%s.%s", path, ks);
		if (!strcmp(ks, "url"))
			get_string(p, sub, v, &am->url);
		else if (!strcmp(ks, "path_prefix"))
			get_string(p, sub, v, &am->path_prefix);
		else if (!strcmp(ks, "timeout"))
			get_duration(p, sub, v, &am->timeout_ms, 1, 600000);
		else if (!strcmp(ks, "bearer_token_file"))
			get_string(p, sub, v, &am->bearer_token_file);
		else if (!strcmp(ks, "tls_config") && expect_map(p, sub, v)) {
			FOR_PAIRS(p, v, k2, v2, ks2) {
				if (!strcmp(ks2, "ca_file"))
					get_string(p, "tls_config.ca_file", v2, &am->ca_file);
				else if (!strcmp(ks2, "insecure_skip_verify"))
					get_bool(p, "tls_config.insecure_skip_verify", v2,
						 &am->insecure_skip_verify);
				else
					unknown(p, sub, k2, ks2);
			}
		} else if (!strcmp(ks, "basic_auth") && expect_map(p, sub, v)) {
			FOR_PAIRS(p, v, k2, v2, ks2) {
				if (!strcmp(ks2, "username"))
					get_string(p, "basic_auth.username", v2, &am->username);
				else if (!strcmp(ks2, "password_file"))
					get_string(p, "basic_auth.password_file", v2,
						   &am->password_file);
				else
					unknown(p, sub, k2, ks2);
			}
			if (!am->username)
				np__error(p, v, "%s: username is required", sub);
		} else if (strcmp(ks, "tls_config") && strcmp(ks, "basic_auth")) {
			unknown(p, path, k, ks);
		}
	}
	if (!am->url)
		np__error(p, n, "%s: url is required", path);
	else if (!valid_url(am->url))
		np__error(p, n, "%s: url '%.60s' must start with http:// or https:// and name a host",
			  path, am->url);
	if (am->bearer_token_file && am->username)
		np__error(p, n, "%s: basic_auth and bearer_token_file are mutually exclusive",
			  path);
	if (am->path_prefix && *am->path_prefix && *am->path_prefix != '/')
		np__error(p, n, "%s: path_prefix must start with '/'", path);
	strip_slashes(am->url);
	strip_slashes(am->path_prefix);
	if (!am->path_prefix)
		am->path_prefix = dup_or_oom(p, "");
}

static void parse_hook(struct np *p, const char *path, yaml_node_t *n,
		       struct notify_webhook_cfg *h)
{
	yaml_node_t *k, *v;
	const char *ks;
	char sub[96];

	h->timeout_ms = 10000;
	if (!expect_map(p, path, n))
		return;
	FOR_PAIRS(p, n, k, v, ks) {
		snprintf(sub, sizeof(sub), "%s.%s", path, ks);
		if (!strcmp(ks, "url"))
			get_string(p, sub, v, &h->url);
		else if (!strcmp(ks, "timeout"))
			get_duration(p, sub, v, &h->timeout_ms, 1, 600000);
		else if (!strcmp(ks, "headers"))
			get_string_map(p, sub, v, &h->headers, &h->nheaders, MAX_HEADERS,
				       false);
		else
			unknown(p, path, k, ks);
	}
	if (!h->url)
		np__error(p, n, "%s: url is required", path);
	else if (!valid_url(h->url))
		np__error(p, n, "%s: url '%.60s' must start with http:// or https:// and name a host",
			  path, h->url);
}

static void parse_delivery(struct np *p, yaml_node_t *n, struct notify_cfg *c)
{
	yaml_node_t *k, *v;
	const char *ks;
	char sub[96];

	if (!expect_map(p, "alerting.delivery", n))
		return;
	FOR_PAIRS(p, n, k, v, ks) {
		snprintf(sub, sizeof(sub), "alerting.delivery.%s", ks);
		if (!strcmp(ks, "batch_size"))
			get_uint(p, sub, v, &c->batch_size, 1, 1000);
		else if (!strcmp(ks, "queue_capacity"))
			get_uint(p, sub, v, &c->queue_capacity, 1, 1000000);
		else if (!strcmp(ks, "backoff_initial"))
			get_duration(p, sub, v, &c->backoff_initial_ms, 1, 3600000);
		else if (!strcmp(ks, "backoff_max"))
			get_duration(p, sub, v, &c->backoff_max_ms, 1, 24 * 3600000ULL);
		else if (!strcmp(ks, "breaker_failures"))
			get_uint(p, sub, v, &c->breaker_failures, 1, 1000);
		else if (!strcmp(ks, "breaker_cooldown"))
			get_duration(p, sub, v, &c->breaker_cooldown_ms, 1, 24 * 3600000ULL);
		else if (!strcmp(ks, "spool_max_bytes"))
			get_u64(p, sub, v, &c->spool_max_bytes, 4096, 1ULL << 40);
		else if (!strcmp(ks, "spool_max_age"))
			get_duration(p, sub, v, &c->spool_max_age_ms, 1000, 365 * 24 * 3600000ULL);
		else
			unknown(p, "alerting.delivery", k, ks);
	}
}

static void parse_alerting(struct np *p, yaml_node_t *n, struct notify_cfg *c)
{
	yaml_node_t *k, *v;
	const char *ks;

	if (!expect_map(p, "alerting", n))
		return;
	FOR_PAIRS(p, n, k, v, ks) {
		bool am = !strcmp(ks, "alertmanagers");

		if (am || !strcmp(ks, "webhooks")) {
			size_t cnt, *nout = am ? &c->nams : &c->nhooks;
			yaml_node_item_t *it;

			if (am ? c->ams != NULL : c->hooks != NULL) {
				np__error(p, k, "alerting: duplicate field '%s'", ks);
				continue;
			}
			if (v->type != YAML_SEQUENCE_NODE) {
				np__error(p, v, "alerting.%s: expected a sequence", ks);
				continue;
			}
			cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			if (cnt > NOTIFY_MAX_DESTS) {
				np__error(p, v, "alerting.%s: at most %d entries, got %zu", ks,
					  NOTIFY_MAX_DESTS, cnt);
				continue;
			}
			if (am)
				c->ams = calloc(cnt ? cnt : 1, sizeof(*c->ams));
			else
				c->hooks = calloc(cnt ? cnt : 1, sizeof(*c->hooks));
			if (am ? !c->ams : !c->hooks) {
				p->oom = true;
				continue;
			}
			for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
				char path[64];

				snprintf(path, sizeof(path), "alerting.%s[%zu]", ks, *nout);
				if (am)
					parse_am(p, path, node(p, *it), &c->ams[*nout]);
				else
					parse_hook(p, path, node(p, *it), &c->hooks[*nout]);
				(*nout)++;
			}
		} else if (!strcmp(ks, "delivery")) {
			parse_delivery(p, v, c);
		} else if (!strcmp(ks, "external_url")) {
			get_string(p, "alerting.external_url", v, &c->external_url);
		} else {
			unknown(p, "alerting", k, ks);
		}
	}
	if (c->queue_capacity < 2 * c->batch_size)
		np__error(p, n, "alerting.delivery: queue_capacity (%u) must be at least twice batch_size (%u)",
			  c->queue_capacity, c->batch_size);
	if (c->backoff_max_ms < c->backoff_initial_ms)
		np__error(p, n, "alerting.delivery: backoff_max is shorter than backoff_initial");
	/* destinations are keyed by endpoint in the spool: no two alike */
	for (size_t i = 0; i < c->nams; i++)
		for (size_t j = 0; j < i; j++)
			if (c->ams[i].url && c->ams[j].url && c->ams[i].path_prefix &&
			    c->ams[j].path_prefix && !strcmp(c->ams[i].url, c->ams[j].url) &&
			    !strcmp(c->ams[i].path_prefix, c->ams[j].path_prefix))
				np__error(p, n, "alerting.alertmanagers[%zu]: same url as [%zu]", i, j);
	for (size_t i = 0; i < c->nhooks; i++)
		for (size_t j = 0; j < i; j++)
			if (c->hooks[i].url && c->hooks[j].url &&
			    !strcmp(c->hooks[i].url, c->hooks[j].url))
				np__error(p, n, "alerting.webhooks[%zu]: same url as [%zu]", i, j);
}

void notify_cfg__init(struct notify_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->batch_size = 64;
	c->queue_capacity = 10000;
	c->backoff_initial_ms = 500;
	c->backoff_max_ms = 5 * 60 * 1000;
	c->breaker_failures = 5;
	c->breaker_cooldown_ms = 30 * 1000;
	c->spool_max_bytes = 64ULL << 20;
	c->spool_max_age_ms = 24 * 3600 * 1000ULL;
}

static void labels_free(struct label *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)l[i].name);
		free((char *)l[i].value);
	}
	free(l);
}

void notify_cfg__free(struct notify_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nams; i++) {
		struct notify_am_cfg *a = &c->ams[i];

		free(a->url);
		free(a->path_prefix);
		free(a->ca_file);
		free(a->username);
		free(a->password_file);
		free(a->bearer_token_file);
	}
	free(c->ams);
	for (size_t i = 0; i < c->nhooks; i++) {
		free(c->hooks[i].url);
		labels_free(c->hooks[i].headers, c->hooks[i].nheaders);
	}
	free(c->hooks);
	labels_free(c->external_labels, c->nexternal);
	free(c->external_url);
	memset(c, 0, sizeof(*c));
}

int notify_cfg__parse_node(struct notify_cfg *c, const char *name,
			   yaml_document_t *doc, yaml_node_t *root,
			   char *err, size_t errlen)
{
	struct np p = { .name = name, .doc = doc, .err = err, .errlen = errlen };
	yaml_node_t *k, *v, *k2, *v2;
	const char *ks, *ks2;

	if (err && errlen)
		err[0] = '\0';
	if (!root)
		return 0;	/* an empty document: nothing configured */
	if (!expect_map(&p, "top level", root))
		return -EINVAL;
	FOR_PAIRS(&p, root, k, v, ks) {
		if (!strcmp(ks, "alerting")) {
			parse_alerting(&p, v, c);
		} else if (!strcmp(ks, "global") && v->type == YAML_MAPPING_NODE) {
			FOR_PAIRS(&p, v, k2, v2, ks2)
				if (!strcmp(ks2, "external_labels"))
					get_string_map(&p, "global.external_labels", v2,
						       &c->external_labels, &c->nexternal,
						       MAX_LABELS, true);
		}
	}
	if (p.oom) {
		np__error(&p, NULL, "out of memory");
		return -ENOMEM;
	}
	return p.nerr ? -EINVAL : 0;
}

int notify_cfg__parse_alerting(struct notify_cfg *c, const char *name,
			       yaml_document_t *doc, yaml_node_t *alerting,
			       char *err, size_t errlen)
{
	struct np p = { .name = name, .doc = doc, .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	if (alerting)
		parse_alerting(&p, alerting, c);
	if (p.oom) {
		np__error(&p, NULL, "out of memory");
		return -ENOMEM;
	}
	return p.nerr ? -EINVAL : 0;
}

int notify_cfg__parse_text(struct notify_cfg *c, const char *name,
			   const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	ret = notify_cfg__parse_node(c, name, &doc, yaml_document_get_root_node(&doc),
				     err, errlen);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int notify_cfg__load_file(struct notify_cfg *c, const char *path,
			  char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		size_t n;

		if (len + 4096 > cap) {
			char *t = realloc(text, cap = cap ? cap * 2 : 8192);

			if (!t || cap > (16U << 20)) {
				free(t ? t : text);
				fclose(f);
				snprintf(err, errlen, "%s: %s", path,
					 t ? "larger than 16 MiB" : strerror(ENOMEM));
				return t ? -EFBIG : -ENOMEM;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		fclose(f);
		free(text);
		return ret;
	}
	fclose(f);
	ret = notify_cfg__parse_text(c, path, text ? text : "", len, err, errlen);
	free(text);
	return ret;
}
