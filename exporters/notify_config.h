/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alert delivery configuration, in the spirit of prometheus.yml:
 *
 *   global:
 *     external_labels: { cluster: prod-eu }
 *   alerting:
 *     external_url: http://bpfwatch.example:9477   # webhook externalURL
 *     alertmanagers:
 *       - url: http://alertmanager:9093
 *         path_prefix: /am          # optional
 *         timeout: 10s
 *         tls_config: { ca_file: ca.pem, insecure_skip_verify: false }
 *         basic_auth: { username: u, password_file: pw }
 *         bearer_token_file: token  # or basic_auth, not both
 *     webhooks:
 *       - url: https://hooks.example/bpfwatch
 *         headers: { X-Token: abc }
 *         timeout: 10s
 *     delivery:                     # every key optional
 *       batch_size: 64              # alerts per POST
 *       queue_capacity: 10000       # per destination; oldest dropped
 *       backoff_initial: 500ms      # full jitter, doubling...
 *       backoff_max: 5m             # ...up to this
 *       breaker_failures: 5         # consecutive failures open the breaker
 *       breaker_cooldown: 30s       # then one probe request
 *       spool_max_bytes: 67108864
 *       spool_max_age: 24h
 *
 * Only `global.external_labels` and `alerting` are read; every other
 * top-level key belongs to the agent's main configuration and is left
 * alone, so the same document can be handed to both parsers.  Relative
 * file paths are kept as written.
 */
#ifndef BPFWATCH_NOTIFY_CONFIG_H
#define BPFWATCH_NOTIFY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "expo.h"

#define NOTIFY_MAX_DESTS	32

struct notify_am_cfg {
	char *url;			/* scheme://host[:port], no trailing '/' */
	char *path_prefix;		/* "" or "/prefix" */
	uint64_t timeout_ms;
	char *ca_file;
	bool insecure_skip_verify;
	char *username;
	char *password_file;
	char *bearer_token_file;
};

struct notify_webhook_cfg {
	char *url;
	struct label *headers;		/* owned names and values */
	size_t nheaders;
	uint64_t timeout_ms;
};

struct notify_cfg {
	struct notify_am_cfg *ams;
	size_t nams;
	struct notify_webhook_cfg *hooks;
	size_t nhooks;
	struct label *external_labels;	/* owned, sorted by name */
	size_t nexternal;
	char *external_url;
	unsigned int batch_size;
	unsigned int queue_capacity;
	uint64_t backoff_initial_ms;
	uint64_t backoff_max_ms;
	unsigned int breaker_failures;
	uint64_t breaker_cooldown_ms;
	uint64_t spool_max_bytes;
	uint64_t spool_max_age_ms;
};

/* Defaults (no destinations). */
void notify_cfg__init(struct notify_cfg *c);
void notify_cfg__free(struct notify_cfg *c);

/*
 * Parse the top-level mapping @root of @doc (as the main config parser
 * holds it) into @c, which must have been initialised.  0, or -EINVAL
 * with every error written to @err as "NAME:LINE:COL: message" lines.
 */
int notify_cfg__parse_node(struct notify_cfg *c, const char *name,
			   yaml_document_t *doc, yaml_node_t *root,
			   char *err, size_t errlen);
/*
 * Only the `alerting` mapping @alerting, for a caller that parses
 * global.external_labels itself (agent/config.c, which then owns them in
 * c->external_labels, sorted by name).  Same errors and return values.
 */
int notify_cfg__parse_alerting(struct notify_cfg *c, const char *name,
			       yaml_document_t *doc, yaml_node_t *alerting,
			       char *err, size_t errlen);
/* The same on YAML text. */
int notify_cfg__parse_text(struct notify_cfg *c, const char *name,
			   const char *text, size_t len, char *err, size_t errlen);
/* Read and parse @path; I/O errors are "PATH: strerror". */
int notify_cfg__load_file(struct notify_cfg *c, const char *path,
			  char *err, size_t errlen);

#endif /* BPFWATCH_NOTIFY_CONFIG_H */
