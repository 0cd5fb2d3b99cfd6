/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The alert as it is spooled and as Alertmanager's API v2 takes it.
 *
 * A notification is stored as one JSON object:
 *   {"status":"firing"|"resolved","labels":{..},"annotations":{..},
 *    "startsAt":RFC3339,"endsAt":RFC3339 (omitted when unknown),
 *    "generatorURL":".."}
 * POST <url><path_prefix>/api/v2/alerts takes a JSON array of these
 * without "status" (Alertmanager derives it from endsAt).  External
 * labels are added when a batch is built, so they follow the current
 * configuration, and never override a label the alert has.
 */
#ifndef BPFWATCH_ALERTMANAGER_H
#define BPFWATCH_ALERTMANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expo.h"

struct cJSON;

struct notify_alert {
	const struct label *labels;	/* alertname expected by Alertmanager */
	size_t nlabels;
	const struct label *annotations;
	size_t nannotations;
	int64_t starts_at_ms;		/* Unix ms; 0 = not set */
	int64_t ends_at_ms;		/* Unix ms; 0 = not set */
	const char *generator_url;	/* may be NULL */
	bool resolved;
};

/* "2026-12-02T15:31:00.123Z" into @buf (at least 32 bytes). */
void am__rfc3339(int64_t unix_ms, char *buf, size_t len);

/* The stored JSON text of @a (malloc'd), or NULL: ENOMEM, or EINVAL for
 * an alert without labels. */
char *am__alert_json(const struct notify_alert *a);

/*
 * Parse stored alert @text and add the external labels @ext[0..n-1] the
 * alert does not have.  NULL if @text is not an alert object (or ENOMEM).
 * The caller frees with cJSON_Delete.
 */
struct cJSON *am__parse_alert(const char *text, const struct label *ext, size_t next);

/*
 * The POST body for n stored alerts, malloc'd.  NULL with *bad set to the
 * index of an alert that does not parse (it can be dropped and the rest
 * retried), or with *bad == n on ENOMEM.
 */
char *am__post_body(const char *const *alerts, size_t n, const struct label *ext,
		    size_t next, size_t *bad);

/* "<url><prefix>/api/v2/alerts" (malloc'd, or NULL). */
char *am__endpoint(const char *url, const char *prefix);

#endif /* BPFWATCH_ALERTMANAGER_H */
