/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --web.config.file: TLS and basic authentication for the HTTP server, in
 * the format of the Prometheus exporter-toolkit (node_exporter and friends
 * read the same file):
 *
 *   tls_server_config:
 *     cert_file: /etc/bpfwatch/tls.crt     # PEM; both or neither
 *     key_file: /etc/bpfwatch/tls.key
 *     client_auth_type: NoClientCert       # the only type supported
 *     min_version: TLS12                   # TLS10..TLS13, default TLS12
 *     max_version: TLS13
 *   basic_auth_users:                      # user: bcrypt hash
 *     prometheus: $2y$10$...               # (htpasswd -nBC 10 "" | tr -d ':\n')
 *   http_server_config:
 *     headers:                             # added to every response
 *       X-Frame-Options: deny
 *
 * Errors are "file:line:col: message".  Relative paths are taken from the
 * file's directory, as exporter-toolkit does.  Keys exporter-toolkit has
 * and bpfwatch does not (client certificates, cipher_suites,
 * curve_preferences, http2) are errors that say so, never ignored.
 */
#ifndef BPFWATCH_WEBCONFIG_H
#define BPFWATCH_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WEBCONFIG_MAX_USERS	64
#define WEBCONFIG_MAX_HEADERS	32
#define WEBCONFIG_AUTH_CACHE	16	/* successful logins remembered */

struct web_user {
	char *name;
	char *hash;		/* bcrypt: $2a$, $2b$ or $2y$ */
};

struct web_header {
	char *name;
	char *value;
};

struct web_auth_cache {
	char user[64];
	char token[128];	/* fast keyed hash of the accepted password */
	unsigned long long last_use;
};

struct web_config {
	char *cert_file, *key_file;	/* resolved paths, or NULL */
	char *cert_pem, *key_pem;	/* their contents (TLS on when set) */
	char *priorities;		/* GnuTLS priority string */
	struct web_user users[WEBCONFIG_MAX_USERS];
	size_t nusers;
	struct web_header headers[WEBCONFIG_MAX_HEADERS];
	size_t nheaders;
	/* Verified passwords, by user: bcrypt costs ~0.1 s per check by
	 * design, the server answers on one thread, and Prometheus sends
	 * the same credentials every scrape.  The cache holds a salted
	 * SHA-512 crypt of the password (salt random per process), never
	 * the password. */
	char cache_salt[32];
	struct web_auth_cache cache[WEBCONFIG_AUTH_CACHE];
	unsigned long long uses;
	unsigned long long cache_hits, auth_failures;
};

/* Load and check @path; NULL with every error in @err. */
struct web_config *webconfig__load(const char *path, char *err, size_t errlen);
/* The same from memory (@name is used in messages and to resolve relative
 * paths: its directory). */
struct web_config *webconfig__parse(const char *name, const char *text,
				    size_t len, char *err, size_t errlen);
void webconfig__free(struct web_config *wc);

static inline bool webconfig__tls(const struct web_config *wc)
{
	return wc && wc->cert_pem;
}

static inline bool webconfig__auth(const struct web_config *wc)
{
	return wc && wc->nusers;
}

/* True when @user / @pass (either may be NULL) match a configured user. */
bool webconfig__check_user(struct web_config *wc, const char *user,
			   const char *pass);

#endif /* BPFWATCH_WEBCONFIG_H */
