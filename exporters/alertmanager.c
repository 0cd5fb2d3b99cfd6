// SPDX-License-Identifier: GPL-2.0
/*
 * Alertmanager API v2 alert format: the spooled JSON form of an alert and
 * the POST body built from a batch of them (cJSON).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alertmanager.h"

void am__rfc3339(int64_t unix_ms, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
	int ms = (int)(unix_ms - (int64_t)t * 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static cJSON *label_object(const struct label *l, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!cJSON_AddStringToObject(o, l[i].name, l[i].value)) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

static bool add_time(cJSON *o, const char *key, int64_t ms)
{
	char ts[40];

	if (!ms)
		return true;
	am__rfc3339(ms, ts, sizeof(ts));
	return cJSON_AddStringToObject(o, key, ts) != NULL;
}

char *am__alert_json(const struct notify_alert *a)
{
	cJSON *o, *l, *an;
	char *text = NULL;

	if (!a->nlabels) {
		errno = EINVAL;
		return NULL;
	}
	o = cJSON_CreateObject();
	if (!o)
		goto err_oom;
	l = label_object(a->labels, a->nlabels);
	an = label_object(a->annotations, a->nannotations);
	if (!l || !an) {
		cJSON_Delete(l);
		cJSON_Delete(an);
		goto err_free;
	}
	cJSON_AddItemToObject(o, "labels", l);
	cJSON_AddItemToObject(o, "annotations", an);
	if (!cJSON_AddStringToObject(o, "status", a->resolved ? "resolved" : "firing") ||
	    !add_time(o, "startsAt", a->starts_at_ms) ||
	    !add_time(o, "endsAt", a->ends_at_ms) ||
	    !cJSON_AddStringToObject(o, "generatorURL",
				     a->generator_url ? a->generator_url : ""))
		goto err_free;
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		goto err_oom;
	return text;

err_free:
	cJSON_Delete(o);
err_oom:
	errno = ENOMEM;
	return NULL;
}

/* An object whose members are all strings. */
static bool string_map(const cJSON *o)
{
	const cJSON *it;

	if (!cJSON_IsObject(o))
		return false;
	cJSON_ArrayForEach(it, o)
		if (!cJSON_IsString(it) || !it->string)
			return false;
	return true;
}

cJSON *am__parse_alert(const char *text, const struct label *ext, size_t next)
{
	cJSON *o = cJSON_Parse(text), *l;

	if (!o)
		return NULL;
	l = cJSON_GetObjectItemCaseSensitive(o, "labels");
	if (!cJSON_IsObject(o) || !string_map(l) || !l->child ||
	    !string_map(cJSON_GetObjectItemCaseSensitive(o, "annotations"))) {
		cJSON_Delete(o);
		return NULL;
	}
	for (size_t i = 0; i < next; i++) {
		if (cJSON_GetObjectItemCaseSensitive(l, ext[i].name))
			continue;
		if (!cJSON_AddStringToObject(l, ext[i].name, ext[i].value)) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

char *am__post_body(const char *const *alerts, size_t n, const struct label *ext,
		    size_t next, size_t *bad)
{
	cJSON *arr = cJSON_CreateArray();
	char *text;

	*bad = n;
	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cJSON *a = am__parse_alert(alerts[i], ext, next);

		if (!a) {
			*bad = i;
			cJSON_Delete(arr);
			return NULL;
		}
		/* API v2 PostableAlert has no status: endsAt says it */
		cJSON_DeleteItemFromObjectCaseSensitive(a, "status");
		cJSON_AddItemToArray(arr, a);
	}
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return text;
}

char *am__endpoint(const char *url, const char *prefix)
{
	char *s;

	if (asprintf(&s, "%s%s/api/v2/alerts", url, prefix ? prefix : "") < 0)
		return NULL;
	return s;
}
