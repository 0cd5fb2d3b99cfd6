/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON API, in Prometheus' shapes (what Grafana and scripts read):
 *   GET|POST /api/v1/query?query=EXPR[&time=T]   instant query over the store
 *   GET /api/v1/rules                            loaded rules and their health
 *   GET /api/v1/alerts                           active alerts
 *   POST /-/reload                               read the rule files again
 * T is Unix seconds (fractions allowed) or RFC 3339; default: now.
 */
#ifndef BPFWATCH_API_H
#define BPFWATCH_API_H

#include <stdbool.h>
#include <stdint.h>

#include "expo.h"

struct ruleeng;
struct store;

struct api {
	struct ruleeng *rules;
	const struct store *store;
	/* POST /-/reload: 0, or -errno with the reason in @err */
	int (*reload)(void *ctx, char *err, size_t errlen);
	void *reload_ctx;
};

/* Argument @name of the request (query string or form body), or NULL. */
typedef const char *(*api_arg_fn)(void *ctx, const char *name);

/* True if @url is one of the API's paths. */
bool api__owns(const char *url);

/*
 * Answer @method @url: the body goes to @out, its type to *@ctype; the
 * HTTP status is returned.
 */
unsigned int api__handle(struct api *a, const char *method, const char *url,
			 api_arg_fn arg, void *argctx, struct strbuf *out,
			 const char **ctype);

/* Parse an API time: Unix seconds with optional fraction, or RFC 3339
 * ("2026-12-02T15:04:05Z", "...05.123+01:00").  0 or -EINVAL. */
int api__parse_time(const char *s, int64_t *ms);

#endif /* BPFWATCH_API_H */
