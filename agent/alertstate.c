// SPDX-License-Identifier: GPL-2.0
/*
 * Alert state machine (see alertstate.h).
 *
 * A rule's alerts live in an array sorted by fingerprint.  An evaluation
 * builds the result's alerts, sorts them by fingerprint and merges the two
 * sorted lists into the next array, so each evaluation is O(n log n) in
 * the result size and allocation happens only for new alerts and the
 * expanded annotations.  The transitions follow Prometheus'
 * AlertingRule.Eval line by line; the comments name the Prometheus
 * behaviour they keep.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alertstate.h"
#include "template.h"

struct alert {
	uint64_t fp;
	struct label *labels;		/* owned, sorted */
	size_t nlabels;
	struct label *annotations;	/* owned, in rule order */
	size_t nannotations;
	double value;
	enum alert_state state;
	int64_t active_at;
	int64_t fired_at;
	int64_t resolved_at;
	int64_t last_sent;
	int64_t valid_until;
	int64_t keep_firing_since;
};

struct alertstate {
	char *group_key;
	const struct rule_group *group;
	const struct rule *rule;
	struct alert **alerts;		/* sorted by fingerprint */
	size_t n;
	uint64_t limit_hits;
};

const char *alert_state__name(enum alert_state s)
{
	switch (s) {
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	default:
		return "inactive";
	}
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* --- label sets ----------------------------------------------------------- */

static void labels_free(struct label *l, size_t n)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < n; i++) {
		free((char *)l[i].name);
		free((char *)l[i].value);
	}
	free(l);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/*
 * A copy of @n labels in one allocation (the array, then the strings),
 * freed with a single free(); @extra more entries are left for the caller
 * to point at strings that live elsewhere (constants).  The series and
 * notices handed out are many and short-lived: one malloc each instead
 * of two per label.
 */
static struct label *labels_pack(const struct label *l, size_t n, size_t extra)
{
	size_t bytes = (n + extra) * sizeof(*l), i, len;
	struct label *d;
	char *p;

	for (i = 0; i < n; i++)
		bytes += strlen(l[i].name) + strlen(l[i].value ? l[i].value : "") + 2;
	d = malloc(bytes ? bytes : 1);
	if (!d)
		return NULL;
	p = (char *)(d + n + extra);
	for (i = 0; i < n; i++) {
		len = strlen(l[i].name) + 1;
		d[i].name = memcpy(p, l[i].name, len);
		p += len;
		len = strlen(l[i].value ? l[i].value : "") + 1;
		d[i].value = memcpy(p, l[i].value ? l[i].value : "", len);
		p += len;
	}
	return d;
}

/* FNV-1a over "name\xffvalue\xff" of the labels in name order. */
uint64_t alert_labels__fingerprint(const struct label *l, size_t n)
{
	const struct label **sorted, *small[32];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i, j;

	sorted = n <= 32 ? small : calloc(n, sizeof(*sorted));
	if (!sorted)
		return 0;	/* only reachable with >32 labels and no memory */
	for (i = 0; i < n; i++) {
		/* insertion sort: label sets are small */
		for (j = i; j > 0 && strcmp(sorted[j - 1]->name, l[i].name) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &l[i];
	}
	for (i = 0; i < n; i++) {
		const unsigned char *p;

		for (p = (const unsigned char *)sorted[i]->name; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
		for (p = (const unsigned char *)(sorted[i]->value ? sorted[i]->value : "");
		     *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	if (sorted != small)
		free(sorted);
	return h;
}

static bool labels_equal(const struct label *a, size_t na, const struct label *b,
			 size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || strcmp(a[i].value, b[i].value))
			return false;
	return true;
}

/*
 * labels.Builder.Set: replace or add @name; an empty value deletes it.
 * @l has room for one more entry.  Takes ownership of @name and @value.
 */
static void builder_set(struct label *l, size_t *n, char *name, char *value)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(l[i].name, name))
			break;
	if (i < *n) {
		free((char *)l[i].value);
		free(name);
		if (!*value) {
			free((char *)l[i].name);
			free(value);
			l[i] = l[--(*n)];
			return;
		}
		l[i].value = value;
		return;
	}
	if (!*value) {
		free(name);
		free(value);
		return;
	}
	l[*n].name = name;
	l[*n].value = value;
	(*n)++;
}

/* --- alerts --------------------------------------------------------------- */

static void alert_free(struct alert *a)
{
	if (!a)
		return;
	labels_free(a->labels, a->nlabels);
	labels_free(a->annotations, a->nannotations);
	free(a);
}

struct alertstate *alertstate__new(const char *group_key, const struct rule_group *group,
				   const struct rule *rule)
{
	struct alertstate *as;

	if (!rule || rule->type != RULE_ALERTING) {
		errno = EINVAL;
		return NULL;
	}
	as = calloc(1, sizeof(*as));
	if (!as)
		return NULL;
	as->group_key = strdup(group_key ? group_key : "");
	if (!as->group_key) {
		free(as);
		return NULL;
	}
	as->group = group;
	as->rule = rule;
	return as;
}

void alertstate__rebind(struct alertstate *as, const struct rule_group *group,
			const struct rule *rule)
{
	as->group = group;
	as->rule = rule;
}

static void alerts_free(struct alert **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		alert_free(v[i]);
	free(v);
}

void alertstate__free(struct alertstate *as)
{
	if (!as)
		return;
	alerts_free(as->alerts, as->n);
	free(as->group_key);
	free(as);
}

size_t alertstate__count(const struct alertstate *as)
{
	return as->n;
}

const char *alertstate__group_key(const struct alertstate *as)
{
	return as->group_key;
}

const char *alertstate__name(const struct alertstate *as)
{
	return as->rule->name;
}

uint64_t alertstate__limit_hits(const struct alertstate *as)
{
	return as->limit_hits;
}

void alertstate__get(const struct alertstate *as, size_t i, struct alert_view *v)
{
	const struct alert *a = as->alerts[i];

	v->labels = a->labels;
	v->nlabels = a->nlabels;
	v->annotations = a->annotations;
	v->nannotations = a->nannotations;
	v->state = a->state;
	v->value = a->value;
	v->fingerprint = a->fp;
	v->active_at_ms = a->active_at;
	v->fired_at_ms = a->fired_at;
	v->resolved_at_ms = a->resolved_at;
	v->keep_firing_since_ms = a->keep_firing_since;
	v->last_sent_ms = a->last_sent;
}

/* --- evaluation ----------------------------------------------------------- */

static int alert_cmp(const void *x, const void *y)
{
	const struct alert *a = *(struct alert *const *)x, *b = *(struct alert *const *)y;

	return a->fp < b->fp ? -1 : a->fp > b->fp;
}

static char *expand(const struct tmpl *t, const char *literal, const struct tmpl_data *d)
{
	return t ? tmpl__expand(t, d) : strdup(literal);
}

/*
 * The alert for one result series: labels = series labels without
 * __name__, then the group's and the rule's labels (expanded with the
 * series as $labels), then alertname.  Annotations expanded with the same
 * data.  NULL on allocation failure.
 */
static struct alert *alert_build(const struct alertstate *as, const struct alert_input *in,
				 const struct alert_env *env)
{
	const struct rule *r = as->rule;
	size_t ngl = as->group ? as->group->nlabels : 0, cap, i;
	struct tmpl_data d = {
		.labels = in->labels,
		.nlabels = in->nlabels,
		.ext_labels = env ? env->ext_labels : NULL,
		.next_labels = env ? env->next_labels : 0,
		.external_url = env ? env->external_url : NULL,
		.value = in->value,
	};
	struct alert *a = calloc(1, sizeof(*a));
	char *name, *value;

	if (!a)
		return NULL;
	cap = in->nlabels + ngl + r->nlabels + 1;
	a->labels = calloc(cap, sizeof(*a->labels));
	if (!a->labels)
		goto err;
	for (i = 0; i < in->nlabels; i++) {
		if (!strcmp(in->labels[i].name, "__name__"))
			continue;
		name = strdup(in->labels[i].name);
		value = strdup(in->labels[i].value ? in->labels[i].value : "");
		if (!name || !value) {
			free(name);
			free(value);
			goto err;
		}
		builder_set(a->labels, &a->nlabels, name, value);
	}
	for (i = 0; i < ngl + r->nlabels; i++) {
		const struct rule_kv *kv = i < ngl ? &as->group->labels[i] :
				&r->labels[i - ngl];

		name = strdup(kv->name);
		value = expand(kv->tmpl, kv->value, &d);
		if (!name || !value) {
			free(name);
			free(value);
			goto err;
		}
		builder_set(a->labels, &a->nlabels, name, value);
	}
	name = strdup("alertname");
	value = strdup(r->name);
	if (!name || !value) {
		free(name);
		free(value);
		goto err;
	}
	builder_set(a->labels, &a->nlabels, name, value);
	qsort(a->labels, a->nlabels, sizeof(*a->labels), label_cmp);
	a->fp = alert_labels__fingerprint(a->labels, a->nlabels);

	if (r->nannotations) {
		a->annotations = calloc(r->nannotations, sizeof(*a->annotations));
		if (!a->annotations)
			goto err;
		for (i = 0; i < r->nannotations; i++) {
			const struct rule_kv *kv = &r->annotations[i];

			a->annotations[i].name = strdup(kv->name);
			a->annotations[i].value = expand(kv->tmpl, kv->value, &d);
			a->nannotations++;
			if (!a->annotations[i].name || !a->annotations[i].value)
				goto err;
		}
	}
	a->value = in->value;
	a->state = ALERT_PENDING;
	a->fired_at = a->resolved_at = a->last_sent = ALERT_TIME_UNSET;
	a->valid_until = a->keep_firing_since = ALERT_TIME_UNSET;
	return a;
err:
	alert_free(a);
	return NULL;
}

static bool vec_reserve(struct alert_series_vec *vec, size_t more)
{
	struct alert_series *v;
	size_t cap;

	if (vec->n + more <= vec->cap)
		return true;
	cap = vec->cap ? vec->cap * 2 : 16;
	while (cap < vec->n + more)
		cap *= 2;
	v = realloc(vec->v, cap * sizeof(*v));
	if (!v)
		return false;
	vec->v = v;
	vec->cap = cap;
	return true;
}

static void series_free(struct alert_series *s)
{
	free(s->labels);	/* packed */
}

void alert_series_vec__free(struct alert_series_vec *vec)
{
	size_t i;

	if (!vec)
		return;
	for (i = 0; i < vec->n; i++)
		series_free(&vec->v[i]);
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

/* ALERTS{alertstate} 1 and ALERTS_FOR_STATE ActiveAt-seconds of @a. */
static int emit_series(struct alert_series_vec *vec, const struct alert *a)
{
	int64_t secs;
	size_t k;

	if (!vec)
		return 0;
	if (!vec_reserve(vec, 2))
		return -ENOMEM;
	for (k = 0; k < 2; k++) {
		struct alert_series *s = &vec->v[vec->n];
		struct label *l = labels_pack(a->labels, a->nlabels, 2);

		if (!l)
			return -ENOMEM;
		s->labels = l;
		s->nlabels = a->nlabels;
		l[s->nlabels].name = "__name__";
		l[s->nlabels++].value = k ? "ALERTS_FOR_STATE" : "ALERTS";
		if (!k) {
			l[s->nlabels].name = "alertstate";
			l[s->nlabels++].value = alert_state__name(a->state);
		}
		vec->n++;
		qsort(l, s->nlabels, sizeof(*l), label_cmp);
		/* Go's Time.Unix(): seconds, rounded down */
		secs = a->active_at >= 0 ? a->active_at / 1000 :
			-((-a->active_at + 999) / 1000);
		s->value = k ? (double)secs : 1;
	}
	return 0;
}

int alertstate__eval(struct alertstate *as, int64_t t_ms, const struct alert_input *in,
		     size_t n, const struct alert_env *env, struct alert_series_vec *series,
		     char *err, size_t errlen)
{
	const struct rule *r = as->rule;
	uint32_t limit = as->group ? as->group->limit : 0;
	size_t series_start = series ? series->n : 0;
	struct alert **res = NULL, **next = NULL;
	size_t nres = 0, nnext = 0, i, j, active = 0;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (n > ALERTSTATE_MAX_ALERTS) {
		/* bpfwatch's own bound: the same outcome as a limit */
		as->limit_hits++;
		alerts_free(as->alerts, as->n);
		as->alerts = NULL;
		as->n = 0;
		set_err(err, errlen, "exceeded the bound of %d alerts per rule with %zu results",
			ALERTSTATE_MAX_ALERTS, n);
		return -EINVAL;
	}
	res = calloc(n ? n : 1, sizeof(*res));
	next = calloc(n + as->n ? n + as->n : 1, sizeof(*next));
	if (!res || !next) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		res[nres] = alert_build(as, &in[i], env);
		if (!res[nres]) {
			ret = -ENOMEM;
			goto out;
		}
		nres++;
	}
	qsort(res, nres, sizeof(*res), alert_cmp);
	for (i = 1; i < nres; i++) {
		if (res[i]->fp == res[i - 1]->fp) {
			set_err(err, errlen, "vector contains metrics with the same labelset "
				"after applying alert labels");
			ret = -EINVAL;
			goto out;
		}
	}

	/* merge the result (res) with the known alerts (as->alerts) */
	i = j = 0;
	while (i < as->n || j < nres) {
		struct alert *a;

		if (j >= nres || (i < as->n && as->alerts[i]->fp < res[j]->fp)) {
			/* no longer in the result */
			bool keep_firing = false, drop;

			a = as->alerts[i++];
			if (a->state == ALERT_FIRING && r->keep_firing_for_ms) {
				if (a->keep_firing_since == ALERT_TIME_UNSET)
					a->keep_firing_since = t_ms;
				if (t_ms - a->keep_firing_since < (int64_t)r->keep_firing_for_ms)
					keep_firing = true;
			}
			/* pending: forgotten; resolved: kept 15 min to be resent */
			drop = a->state == ALERT_PENDING ||
			       (a->resolved_at != ALERT_TIME_UNSET &&
				t_ms - a->resolved_at > ALERT_RESOLVED_RETENTION_MS);
			if (a->state != ALERT_INACTIVE && !keep_firing) {
				a->state = ALERT_INACTIVE;
				a->resolved_at = t_ms;
			}
			if (drop) {
				alert_free(a);
				continue;
			}
			next[nnext++] = a;
			if (!keep_firing)
				continue;
		} else if (i >= as->n || res[j]->fp < as->alerts[i]->fp) {
			/* new */
			a = res[j];
			res[j++] = NULL;
			a->active_at = t_ms;
			next[nnext++] = a;
		} else {
			struct alert *fresh = res[j];

			a = as->alerts[i++];
			if (a->state != ALERT_INACTIVE) {
				/* same alert: new value and annotations */
				struct label *ann = a->annotations;
				size_t nann = a->nannotations;

				a->value = fresh->value;
				a->annotations = fresh->annotations;
				a->nannotations = fresh->nannotations;
				fresh->annotations = ann;
				fresh->nannotations = nann;
				alert_free(fresh);
			} else {
				/* resolved and back: a new alert */
				alert_free(a);
				a = fresh;
				a->active_at = t_ms;
			}
			res[j++] = NULL;
			a->keep_firing_since = ALERT_TIME_UNSET;
			next[nnext++] = a;
		}
		active++;
		if (a->state == ALERT_PENDING && t_ms - a->active_at >= (int64_t)r->for_ms) {
			a->state = ALERT_FIRING;
			a->fired_at = t_ms;
		}
		if (!ret && emit_series(series, a))
			ret = -ENOMEM;
	}
	free(as->alerts);
	as->alerts = next;
	as->n = nnext;
	next = NULL;
	if (!ret && limit && active > limit) {
		/* Prometheus drops all of the rule's alerts */
		as->limit_hits++;
		alerts_free(as->alerts, as->n);
		as->alerts = NULL;
		as->n = 0;
		set_err(err, errlen, "exceeded limit of %" PRIu32 " with %zu alerts", limit,
			active);
		ret = -EINVAL;
	}
out:
	if (ret == -ENOMEM)
		set_err(err, errlen, "out of memory");
	if (ret && series) {
		/* no partial output */
		for (i = series_start; i < series->n; i++)
			series_free(&series->v[i]);
		series->n = series_start;
	}
	for (i = 0; i < nres; i++)
		alert_free(res[i]);
	free(res);
	free(next);
	return ret;
}

/* --- notifications -------------------------------------------------------- */

void alert_notices__free(struct alert_notices *ns)
{
	size_t i;

	if (!ns)
		return;
	for (i = 0; i < ns->n; i++) {
		free(ns->v[i].labels);		/* packed */
		free(ns->v[i].annotations);
		free(ns->v[i].generator_url);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

/* externalURL + strutil.TableLinkForExpression(expr) */
static char *generator_url(const char *base, const char *expr)
{
	struct strbuf b;
	const unsigned char *p;

	strbuf__init(&b);
	strbuf__puts(&b, base ? base : "");
	strbuf__puts(&b, "/graph?g0.expr=");
	for (p = (const unsigned char *)expr; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~')
			strbuf__append(&b, (const char *)p, 1);
		else if (*p == ' ')
			strbuf__puts(&b, "+");
		else
			strbuf__printf(&b, "%%%02X", *p);
	}
	strbuf__puts(&b, "&g0.tab=1");
	return strbuf__steal(&b, NULL);
}

/*
 * Prometheus' Alert.needsSending and AlertingRule.sendAlerts: pending
 * alerts are never sent; resolved ones as soon as they resolve; all
 * others when the last send is more than the resend delay ago.  A sent
 * firing alert is valid for 4 x max(interval, resend delay), so two
 * missed evaluations or sends do not resolve it in Alertmanager.
 */
int alertstate__due(struct alertstate *as, int64_t t_ms, uint64_t interval_ms,
		    const struct alert_env *env, struct alert_notices *out)
{
	uint64_t delta = interval_ms > ALERT_RESEND_DELAY_MS ? interval_ms :
			 ALERT_RESEND_DELAY_MS;
	int count = 0;
	size_t i;

	for (i = 0; i < as->n; i++) {
		struct alert *a = as->alerts[i];
		struct alert_notice *no;
		bool due;

		if (a->state == ALERT_PENDING)
			continue;
		if (a->resolved_at != ALERT_TIME_UNSET &&
		    (a->last_sent == ALERT_TIME_UNSET || a->resolved_at > a->last_sent))
			due = true;
		else
			due = a->last_sent == ALERT_TIME_UNSET ||
			      a->last_sent + ALERT_RESEND_DELAY_MS < t_ms;
		if (!due)
			continue;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			struct alert_notice *v = realloc(out->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			out->v = v;
			out->cap = cap;
		}
		no = &out->v[out->n];
		memset(no, 0, sizeof(*no));
		no->labels = labels_pack(a->labels, a->nlabels, 0);
		no->nlabels = a->nlabels;
		no->annotations = labels_pack(a->annotations, a->nannotations, 0);
		no->nannotations = a->nannotations;
		no->generator_url = generator_url(env ? env->external_url : NULL,
						  as->rule->expr);
		if (!no->labels || !no->annotations || !no->generator_url) {
			free(no->labels);
			free(no->annotations);
			free(no->generator_url);
			return -ENOMEM;
		}
		out->n++;
		a->last_sent = t_ms;
		a->valid_until = t_ms + 4 * (int64_t)delta;
		no->starts_at_ms = a->fired_at;
		no->resolved = a->resolved_at != ALERT_TIME_UNSET;
		no->ends_at_ms = no->resolved ? a->resolved_at : a->valid_until;
		count++;
	}
	return count;
}

/* --- persistence ---------------------------------------------------------- */

#define FOR_STATE_MAGIC	"bpfwatch-for-state"
#define FOR_STATE_VERSION 1

struct for_rec {
	char *group;
	char *rule;
	int64_t active_at;
	struct label *labels;		/* sorted */
	size_t nlabels;
	uint64_t fp;
};

struct for_state {
	int64_t saved_at;
	struct for_rec *recs;		/* sorted by fingerprint */
	size_t n;
};

static void escape(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf__puts(b, "\\\\");
		else if (*s == '\t')
			strbuf__puts(b, "\\t");
		else if (*s == '\n')
			strbuf__puts(b, "\\n");
		else
			strbuf__append(b, s, 1);
	}
}

/* One line: "crc32hex content\n", the CRC over the content. */
static void put_line(struct strbuf *out, struct strbuf *line)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)(line->buf ? line->buf : ""), (uInt)line->len);
	strbuf__printf(out, "%08lx ", crc);
	strbuf__append(out, line->buf ? line->buf : "", line->len);
	strbuf__puts(out, "\n");
	strbuf__reset(line);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int alertstate__save(const char *path, struct alertstate *const *states, size_t n,
		     int64_t now_ms, char *err, size_t errlen)
{
	struct strbuf out, line;
	char tmp[4096], dir[4096];
	int fd, ret, dfd;
	size_t s, i, k;

	if (err && errlen)
		err[0] = '\0';
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strbuf__init(&out);
	strbuf__init(&line);
	strbuf__printf(&line, "%s\t%d\t%" PRId64, FOR_STATE_MAGIC, FOR_STATE_VERSION, now_ms);
	put_line(&out, &line);
	for (s = 0; s < n; s++) {
		const struct alertstate *as = states[s];

		for (i = 0; i < as->n; i++) {
			const struct alert *a = as->alerts[i];

			if (a->state == ALERT_INACTIVE)
				continue;
			escape(&line, as->group_key);
			strbuf__puts(&line, "\t");
			escape(&line, as->rule->name);
			strbuf__printf(&line, "\t%" PRId64, a->active_at);
			for (k = 0; k < a->nlabels; k++) {
				strbuf__puts(&line, "\t");
				escape(&line, a->labels[k].name);
				strbuf__puts(&line, "\t");
				escape(&line, a->labels[k].value);
			}
			put_line(&out, &line);
		}
	}
	strbuf__free(&line);
	if (out.oom) {
		strbuf__free(&out);
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto err_report;
	}
	ret = write_all(fd, out.buf, out.len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		goto err_report;
	}
	/* the rename itself must reach the disk */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			ret = -errno;
		close(dfd);
	}
	strbuf__free(&out);
	if (ret)
		set_err(err, errlen, "%s: fsync of directory: %s", path, strerror(-ret));
	return ret;

err_report:
	strbuf__free(&out);
	set_err(err, errlen, "%s: %s", path, strerror(-ret));
	return ret;
}

static void rec_free(struct for_rec *r)
{
	free(r->group);
	free(r->rule);
	labels_free(r->labels, r->nlabels);
}

void for_state__free(struct for_state *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++)
		rec_free(&fs->recs[i]);
	free(fs->recs);
	free(fs);
}

size_t for_state__count(const struct for_state *fs)
{
	return fs->n;
}

int64_t for_state__saved_at(const struct for_state *fs)
{
	return fs->saved_at;
}

/*
 * Split @line (NUL-terminated, modified in place) at tabs and unescape
 * each field.  Returns the field count, or -1 on a bad escape or too many
 * fields.
 */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *r = line, *w = line;

	f[n++] = w;
	for (; *r; r++) {
		if (*r == '\t') {
			*w++ = '\0';
			if (n == max)
				return -1;
			f[n++] = w;
		} else if (*r == '\\') {
			r++;
			if (*r == '\\')
				*w++ = '\\';
			else if (*r == 't')
				*w++ = '\t';
			else if (*r == 'n')
				*w++ = '\n';
			else
				return -1;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return n;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*end && !errno;
}

static int rec_cmp(const void *x, const void *y)
{
	const struct for_rec *a = x, *b = y;

	return a->fp < b->fp ? -1 : a->fp > b->fp;
}

/* Parse one CRC-checked line; returns NULL or why it is bad. */
static const char *parse_line(struct for_state *fs, char *line, size_t len, bool header)
{
	char *f[2 * 64 + 4], *end;
	unsigned long crc;
	int nf;

	if (len < 10 || line[8] != ' ')
		return "no checksum";
	line[8] = '\0';
	errno = 0;
	crc = strtoul(line, &end, 16);
	if (*end || errno)
		return "bad checksum field";
	if (crc != crc32(crc32(0L, Z_NULL, 0), (const Bytef *)line + 9, (uInt)(len - 9)))
		return "checksum mismatch";
	if (memchr(line + 9, '\0', len - 9))
		return "NUL byte";
	nf = split_fields(line + 9, f, (int)(sizeof(f) / sizeof(f[0])));
	if (header) {
		int64_t v;

		if (nf != 3 || strcmp(f[0], FOR_STATE_MAGIC))
			return "not a bpfwatch for-state file";
		if (!parse_i64(f[1], &v) || v != FOR_STATE_VERSION)
			return "unknown version";
		if (!parse_i64(f[2], &fs->saved_at))
			return "bad time of writing";
		return NULL;
	}
	{
		struct for_rec *r = &fs->recs[fs->n];
		size_t i;

		if (nf < 3 || (nf - 3) % 2)
			return "bad record";
		memset(r, 0, sizeof(*r));
		if (!parse_i64(f[2], &r->active_at))
			return "bad ActiveAt";
		r->group = strdup(f[0]);
		r->rule = strdup(f[1]);
		r->nlabels = (size_t)(nf - 3) / 2;
		r->labels = calloc(r->nlabels ? r->nlabels : 1, sizeof(*r->labels));
		if (!r->group || !r->rule || !r->labels) {
			rec_free(r);
			return "out of memory";
		}
		for (i = 0; i < r->nlabels; i++) {
			r->labels[i].name = strdup(f[3 + 2 * i]);
			r->labels[i].value = strdup(f[4 + 2 * i]);
			if (!r->labels[i].name || !r->labels[i].value) {
				r->nlabels = i + 1;
				rec_free(r);
				return "out of memory";
			}
		}
		qsort(r->labels, r->nlabels, sizeof(*r->labels), label_cmp);
		r->fp = alert_labels__fingerprint(r->labels, r->nlabels);
		fs->n++;
	}
	return NULL;
}

struct for_state *for_state__load(const char *path, bool *corrupt, char *err,
				  size_t errlen)
{
	struct for_state *fs = NULL;
	size_t len = 0, cap = 0, lines = 0, bad = 0, lineno = 0, first_bad = 0;
	const char *why = NULL, *first_why = NULL;
	char *buf = NULL, *p, *nl;
	struct stat st;
	ssize_t r;
	int fd, e;

	*corrupt = false;
	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e != ENOENT)
			set_err(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) || st.st_size > FOR_STATE_MAX_FILE) {
		e = errno && st.st_size <= FOR_STATE_MAX_FILE ? errno : EFBIG;
		close(fd);
		set_err(err, errlen, "%s: %s", path, e == EFBIG ?
			"file larger than the limit" : strerror(e));
		errno = e;
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (len + 1 < cap) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			close(fd);
			free(buf);
			set_err(err, errlen, "%s: %s", path, strerror(e));
			errno = e;
			return NULL;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	for (p = buf; p < buf + len; p++)
		lines += *p == '\n';
	if (lines > FOR_STATE_MAX_RECORDS + 1) {
		/* checked before sizing the record array by it */
		free(buf);
		set_err(err, errlen, "%s: more than %d records", path, FOR_STATE_MAX_RECORDS);
		errno = EFBIG;
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (fs)
		fs->recs = calloc(lines + 1, sizeof(*fs->recs));
	if (!fs || !fs->recs) {
		free(buf);
		for_state__free(fs);
		errno = ENOMEM;
		return NULL;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		lineno++;
		if (!nl) {
			why = "last line not terminated";
			bad++;
			if (!first_why) {
				first_why = why;
				first_bad = lineno;
			}
			break;
		}
		*nl = '\0';
		why = parse_line(fs, p, (size_t)(nl - p), lineno == 1);
		if (why && lineno == 1) {
			/* without a valid header nothing can be trusted */
			first_why = why;
			first_bad = 1;
			bad++;
			break;
		}
		if (why) {
			bad++;
			if (!first_why) {
				first_why = why;
				first_bad = lineno;
			}
		}
	}
	if (!len) {
		first_why = "empty file";
		first_bad = 1;
		bad = 1;
	}
	free(buf);
	if (bad) {
		char aside[4096];

		*corrupt = true;
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		if (rename(path, aside))
			set_err(err, errlen, "%s: corrupt (%zu bad lines, first: line %zu: %s), "
				"%zu records used; cannot move it aside: %s", path, bad,
				first_bad, first_why, fs->n, strerror(errno));
		else
			set_err(err, errlen, "%s: corrupt (%zu bad lines, first: line %zu: %s), "
				"%zu records used, file moved to %s", path, bad, first_bad,
				first_why, fs->n, aside);
	}
	qsort(fs->recs, fs->n, sizeof(*fs->recs), rec_cmp);
	return fs;
}

static const struct for_rec *find_rec(const struct for_state *fs, const char *group,
				      const char *rule, const struct alert *a)
{
	size_t lo = 0, hi = fs->n, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->recs[mid].fp < a->fp)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < fs->n && fs->recs[i].fp == a->fp; i++) {
		const struct for_rec *r = &fs->recs[i];

		if (!strcmp(r->group, group) && !strcmp(r->rule, rule) &&
		    labels_equal(r->labels, r->nlabels, a->labels, a->nlabels))
			return r;
	}
	return NULL;
}

size_t alertstate__restore(struct alertstate *as, const struct for_state *fs,
			   int64_t now_ms, uint64_t grace_ms, uint64_t outage_tolerance_ms)
{
	int64_t hold = (int64_t)as->rule->for_ms, down_at;
	size_t i, restored = 0;

	if (!fs)
		return 0;
	down_at = fs->saved_at;
	/* a long outage: the clocks are stale; a short `for`: not worth it */
	if (now_ms - down_at > (int64_t)outage_tolerance_ms || hold < (int64_t)grace_ms)
		return 0;
	for (i = 0; i < as->n; i++) {
		struct alert *a = as->alerts[i];
		const struct for_rec *r;
		int64_t active_at, remaining;

		if (a->state == ALERT_INACTIVE)
			continue;
		r = find_rec(fs, as->group_key, as->rule->name, a);
		if (!r)
			continue;
		active_at = r->active_at;
		remaining = hold - (down_at - active_at);
		if (remaining <= 0) {
			/* was firing: fires again at the next evaluation */
		} else if (remaining < (int64_t)grace_ms) {
			active_at = now_ms + (int64_t)grace_ms - hold;
		} else {
			active_at += now_ms - down_at;
		}
		a->active_at = active_at;
		restored++;
	}
	return restored;
}
