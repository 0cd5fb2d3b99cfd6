/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP endpoint (libmicrohttpd, driven by our epoll loop: no threads).
 *   /metrics     Prometheus text format 0.0.4, gzip when asked
 *   /-/healthy   200 while the process runs
 *   /-/ready     200 once the first collection is done, else 503
 *   /            a short index
 */
#ifndef BPFWATCH_HTTP_H
#define BPFWATCH_HTTP_H

#include <stdint.h>

struct http;
struct collector;
struct web_config;
struct api;

/*
 * Bind @listen_address ("[host]:port"; empty host = every address) and
 * start serving.  NULL with errno set and @why filled (e.g. "listen on
 * :9477: Address already in use").  @collector is borrowed, and so is
 * @wc (--web.config.file: TLS, basic auth, extra headers; NULL for plain
 * HTTP without auth).
 */
struct http *http__new(const char *listen_address, struct collector *collector,
		       struct web_config *wc, char *why, size_t len);
void http__free(struct http *h);
/* Serve the JSON API and /-/reload (api.h; borrowed, NULL = off). */
void http__set_api(struct http *h, struct api *api);
/* fd to poll for readability; call http__run() when it is readable. */
int http__fd(const struct http *h);
void http__run(struct http *h);
/* Milliseconds until http__run() must be called regardless, or -1. */
int http__timeout_ms(const struct http *h);
/* Port actually bound (useful with port 0). */
uint16_t http__port(const struct http *h);

#endif /* BPFWATCH_HTTP_H */
