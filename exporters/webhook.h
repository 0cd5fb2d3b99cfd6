/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Webhook payload in Alertmanager's webhook shape (version "4"), for
 * receivers that are not Alertmanager:
 *   {"receiver","status","alerts":[{"status","labels","annotations",
 *    "startsAt","endsAt","generatorURL","fingerprint"}],"groupLabels",
 *    "commonLabels","commonAnnotations","externalURL","version":"4",
 *    "groupKey","truncatedAlerts":0}
 * One POST carries one batch.  The batch is the group: groupLabels hold
 * the alertname when every alert shares it, commonLabels/Annotations the
 * pairs every alert has with the same value, status is "firing" when any
 * alert fires.  fingerprint is Alertmanager's own: FNV-1a 64 over the
 * label names in byte order, each name and value followed by 0xff,
 * printed as 16 hex digits.
 */
#ifndef BPFWATCH_WEBHOOK_H
#define BPFWATCH_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "expo.h"

#define WEBHOOK_RECEIVER "bpfwatch"

struct cJSON;

/* Fingerprint of a label set (any order; names must be distinct). */
uint64_t webhook__fingerprint(const struct label *labels, size_t n);
/* The same of a parsed alert's "labels" object (am__parse_alert()). */
uint64_t webhook__alert_fingerprint(const struct cJSON *alert);

/* The POST body for n stored alerts (see alertmanager.h), malloc'd; NULL
 * with *bad as am__post_body(). */
char *webhook__body(const char *const *alerts, size_t n, const struct label *ext,
		    size_t next, const char *external_url, size_t *bad);

#endif /* BPFWATCH_WEBHOOK_H */
