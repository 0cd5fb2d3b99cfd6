// SPDX-License-Identifier: GPL-2.0
/*
 * Alertmanager-style (version 4) webhook payloads.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertmanager.h"
#include "webhook.h"

#define FNV64_OFFSET	14695981039346656037ULL
#define FNV64_PRIME	1099511628211ULL
#define LABEL_SEP	0xff	/* prometheus/common model.SeparatorByte */

static uint64_t fnv_add(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV64_PRIME;
	}
	h ^= LABEL_SEP;
	return h * FNV64_PRIME;
}

static int cmp_ptr_label(const void *a, const void *b)
{
	const struct label *x = *(const struct label *const *)a;
	const struct label *y = *(const struct label *const *)b;

	return strcmp(x->name, y->name);
}

uint64_t webhook__fingerprint(const struct label *labels, size_t n)
{
	const struct label *stack[64], **v = stack;
	uint64_t h = FNV64_OFFSET;

	if (n > 64) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return 0;	/* caller sees a constant: never for n <= 64 */
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &labels[i];
	qsort(v, n, sizeof(*v), cmp_ptr_label);
	for (size_t i = 0; i < n; i++) {
		h = fnv_add(h, v[i]->name);
		h = fnv_add(h, v[i]->value);
	}
	if (v != stack)
		free(v);
	return h;
}

/* The labels of a JSON string map as struct label (borrowed strings). */
static size_t json_labels(const cJSON *o, struct label *out, size_t max)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, o) {
		if (n == max)
			break;
		out[n].name = it->string;
		out[n].value = it->valuestring;
		n++;
	}
	return n;
}

uint64_t webhook__alert_fingerprint(const cJSON *alert)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(alert, "labels");
	size_t n = (size_t)cJSON_GetArraySize(l);
	struct label *v = calloc(n ? n : 1, sizeof(*v));
	uint64_t fp;

	if (!v)
		return 0;
	n = json_labels(l, v, n);
	fp = webhook__fingerprint(v, n);
	free(v);
	return fp;
}

/* Remove from @common every pair @o lacks or holds with another value. */
static void intersect(cJSON *common, const cJSON *o)
{
	cJSON *it = common->child;

	while (it) {
		cJSON *next = it->next;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, it->string);

		if (!cJSON_IsString(v) || strcmp(v->valuestring, it->valuestring))
			cJSON_Delete(cJSON_DetachItemViaPointer(common, it));
		it = next;
	}
}

/* "{}:{alertname=\"X\"}" like Alertmanager's route-prefixed group key. */
static char *group_key(const cJSON *group)
{
	const cJSON *it;
	size_t len = 8;
	char *s, *p;

	cJSON_ArrayForEach(it, group)
		len += strlen(it->string) + 2 * strlen(it->valuestring) + 5;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s + sprintf(s, "{}:{");
	cJSON_ArrayForEach(it, group) {
		p += sprintf(p, "%s%s=\"", it == group->child ? "" : ",", it->string);
		for (const char *c = it->valuestring; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	strcpy(p, "}");
	return s;
}

char *webhook__body(const char *const *alerts, size_t n, const struct label *ext,
		    size_t next, const char *external_url, size_t *bad)
{
	cJSON *root = cJSON_CreateObject(), *arr, *cl = NULL, *ca = NULL, *gl;
	bool firing = false;
	char *text = NULL, *gk;

	*bad = n;
	if (!root)
		return NULL;
	arr = cJSON_AddArrayToObject(root, "alerts");
	if (!arr)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cJSON *a = am__parse_alert(alerts[i], ext, next), *st, *l;
		struct label lv[256];
		char fp[24];
		size_t nl;

		if (!a) {
			*bad = i;
			goto out;
		}
		cJSON_AddItemToArray(arr, a);
		st = cJSON_GetObjectItemCaseSensitive(a, "status");
		if (!cJSON_IsString(st)) {
			cJSON_DeleteItemFromObjectCaseSensitive(a, "status");
			st = cJSON_AddStringToObject(a, "status", "firing");
			if (!st)
				goto out;
		}
		if (!strcmp(st->valuestring, "firing"))
			firing = true;
		if (!cJSON_GetObjectItemCaseSensitive(a, "endsAt") &&
		    !cJSON_AddStringToObject(a, "endsAt", "0001-01-01T00:00:00Z"))
			goto out;
		l = cJSON_GetObjectItemCaseSensitive(a, "labels");
		nl = json_labels(l, lv, 256);
		snprintf(fp, sizeof(fp), "%016" PRIx64, webhook__fingerprint(lv, nl));
		if (!cJSON_AddStringToObject(a, "fingerprint", fp))
			goto out;
		if (!cl) {
			cl = cJSON_Duplicate(l, 1);
			ca = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "annotations"), 1);
			if (!cl || !ca)
				goto out;
		} else {
			intersect(cl, l);
			intersect(ca, cJSON_GetObjectItemCaseSensitive(a, "annotations"));
		}
	}
	if (!cl && (!(cl = cJSON_CreateObject()) || !(ca = cJSON_CreateObject())))
		goto out;
	gl = cJSON_CreateObject();
	if (!gl)
		goto out;
	cJSON_AddItemToObject(root, "groupLabels", gl);
	{
		const cJSON *an = cJSON_GetObjectItemCaseSensitive(cl, "alertname");

		if (cJSON_IsString(an) && !cJSON_AddStringToObject(gl, "alertname", an->valuestring))
			goto out;
	}
	gk = group_key(gl);
	if (!gk)
		goto out;
	cJSON_AddItemToObject(root, "commonLabels", cl);
	cJSON_AddItemToObject(root, "commonAnnotations", ca);
	cl = ca = NULL;
	if (!cJSON_AddStringToObject(root, "receiver", WEBHOOK_RECEIVER) ||
	    !cJSON_AddStringToObject(root, "status", firing ? "firing" : "resolved") ||
	    !cJSON_AddStringToObject(root, "externalURL", external_url ? external_url : "") ||
	    !cJSON_AddStringToObject(root, "version", "4") ||
	    !cJSON_AddStringToObject(root, "groupKey", gk) ||
	    !cJSON_AddNumberToObject(root, "truncatedAlerts", 0)) {
		free(gk);
		goto out;
	}
	free(gk);
	text = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(cl);
	cJSON_Delete(ca);
	cJSON_Delete(root);
	return text;
}
