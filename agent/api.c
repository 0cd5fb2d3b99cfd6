// SPDX-License-Identifier: GPL-2.0
/* The JSON API (see api.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "promql.h"
#include "ruleeng.h"
#include "storequery.h"

#define CT_JSON "application/json"

bool api__owns(const char *url)
{
	return !strcmp(url, "/api/v1/query") || !strcmp(url, "/api/v1/rules") ||
	       !strcmp(url, "/api/v1/alerts") || !strcmp(url, "/-/reload");
}

/* digits of @s[0..n) as a number; -1 when not all digits */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int parse_rfc3339(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, frac_ms = 0, off = 0;
	const char *p;
	time_t t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int scale = 100;

		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac_ms += scale ? (*p - '0') * scale : 0;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);

		if (oh < 0 || om < 0)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
	tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = ((int64_t)t - off) * 1000 + frac_ms;
	return 0;
}

int api__parse_time(const char *s, int64_t *ms)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	if (strchr(s, 'T') || strchr(s, 't'))
		return parse_rfc3339(s, ms);
	v = strtod(s, &end);
	if (*end || !isfinite(v) || v < -9.2e15 || v > 9.2e15)
		return -EINVAL;
	*ms = (int64_t)llround(v * 1000);
	return 0;
}

static unsigned int error(struct strbuf *out, unsigned int status, const char *type,
			  const char *msg)
{
	cJSON *root = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(root, "status", "error");
	cJSON_AddStringToObject(root, "errorType", type);
	cJSON_AddStringToObject(root, "error", msg);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text) {
		out->oom = true;
		return 500;
	}
	strbuf__puts(out, text);
	cJSON_free(text);
	return status;
}

/* [t, "v"] as Prometheus writes a sample. */
static cJSON *sample(int64_t t_ms, double v)
{
	char buf[PROMQL_FLOAT_BUF];
	cJSON *a = cJSON_CreateArray();

	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t_ms / 1000));
	cJSON_AddItemToArray(a, cJSON_CreateString(promql_format_float(v, 'f', buf)));
	return a;
}

static cJSON *metric(const struct promql_element *el)
{
	cJSON *m = cJSON_CreateObject();

	for (size_t i = 0; m && i < el->nlabels; i++)
		cJSON_AddStringToObject(m, el->labels[i].name, el->labels[i].value);
	return m;
}

/* The API's names of value types (not the parser's). */
static const char *result_type(enum promql_value_type t)
{
	switch (t) {
	case PROMQL_SCALAR: return "scalar";
	case PROMQL_VECTOR: return "vector";
	case PROMQL_MATRIX: return "matrix";
	case PROMQL_STRING: return "string";
	default: return "none";
	}
}

static unsigned int query(struct api *a, api_arg_fn arg, void *argctx,
			  struct strbuf *out)
{
	const char *q = arg(argctx, "query"), *ts = arg(argctx, "time");
	struct promql_result res = { 0 };
	struct promql_storage st;
	struct promql_error pe;
	struct promql_node *n;
	cJSON *root, *data, *result;
	struct timespec now;
	char buf[512], *text;
	int64_t t;

	if (!q || !*q)
		return error(out, 400, "bad_data", "missing query parameter 'query'");
	if (ts) {
		if (api__parse_time(ts, &t)) {
			snprintf(buf, sizeof(buf), "invalid parameter \"time\": cannot parse "
				 "\"%.200s\" to a valid timestamp", ts);
			return error(out, 400, "bad_data", buf);
		}
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		t = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	}
	n = promql_parse(q, &pe);
	if (!n)
		return error(out, 400, "bad_data", promql_error_str(&pe, buf, sizeof(buf)));
	storequery__init(&st, a->store);
	if (promql_eval_instant(n, &st, t, NULL, &res, &pe)) {
		promql_free(n);
		return error(out, 422, "execution", promql_error_str(&pe, buf, sizeof(buf)));
	}
	promql_free(n);

	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "status", "success");
	data = cJSON_AddObjectToObject(root, "data");
	cJSON_AddStringToObject(data, "resultType", result_type(res.type));
	switch (res.type) {
	case PROMQL_SCALAR:
		cJSON_AddItemToObject(data, "result", sample(t, res.scalar));
		break;
	case PROMQL_STRING:
		result = cJSON_AddArrayToObject(data, "result");
		cJSON_AddItemToArray(result, cJSON_CreateNumber((double)t / 1000));
		cJSON_AddItemToArray(result, cJSON_CreateString(res.str ? res.str : ""));
		break;
	default:
		result = cJSON_AddArrayToObject(data, "result");
		for (size_t i = 0; result && i < res.n; i++) {
			const struct promql_element *el = &res.elems[i];
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(result, o);
			cJSON_AddItemToObject(o, "metric", metric(el));
			if (res.type == PROMQL_VECTOR) {
				cJSON_AddItemToObject(o, "value", sample(t, el->v));
			} else {
				cJSON *vals = cJSON_AddArrayToObject(o, "values");

				for (size_t k = 0; vals && k < el->nsamples; k++)
					cJSON_AddItemToArray(vals, sample(el->samples[k].t,
									  el->samples[k].v));
			}
		}
		break;
	}
	promql_result_free(&res);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return error(out, 500, "internal", "out of memory");
	strbuf__puts(out, text);
	cJSON_free(text);
	return 200;
}

unsigned int api__handle(struct api *a, const char *method, const char *url,
			 api_arg_fn arg, void *argctx, struct strbuf *out,
			 const char **ctype)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	char err[8192];

	*ctype = CT_JSON;
	if (!strcmp(url, "/-/reload")) {
		*ctype = "text/plain; charset=utf-8";
		if (!post) {
			strbuf__puts(out, "use POST to reload\n");
			return 405;
		}
		if (!a->reload || a->reload(a->reload_ctx, err, sizeof(err)) == 0) {
			strbuf__puts(out, "rules reloaded\n");
			return 200;
		}
		strbuf__printf(out, "reload failed, the previous rules keep running:\n%s\n", err);
		return 500;
	}
	if (!strcmp(url, "/api/v1/query")) {
		if (!get && !post)
			return error(out, 405, "bad_data", "use GET or POST");
		return query(a, arg, argctx, out);
	}
	if (!get)
		return error(out, 405, "bad_data", "use GET");
	if (!strcmp(url, "/api/v1/rules")) {
		ruleeng__rules_json(a->rules, out);
		return 200;
	}
	if (!strcmp(url, "/api/v1/alerts")) {
		ruleeng__alerts_json(a->rules, out);
		return 200;
	}
	return error(out, 404, "not_found", "no such endpoint");
}
