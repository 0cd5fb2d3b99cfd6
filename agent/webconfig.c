// SPDX-License-Identifier: GPL-2.0
/*
 * exporter-toolkit web configuration (see webconfig.h).
 *
 * Passwords are checked with crypt_r() from libxcrypt, which knows
 * bcrypt; a successful check is remembered as a SHA-512 crypt of the
 * password under a per-process random salt (about 1 ms to recompute)
 * so that a scrape every 15 s does not cost a bcrypt each time.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "webconfig.h"

#define MAX_FILE	(1 << 20)	/* web config, certificate or key */

struct wparser {
	const char *name;
	yaml_document_t *doc;
	struct web_config *wc;
	char *err;
	size_t errlen, errpos;
	unsigned int nerr;
};

__attribute__((format(printf, 3, 4)))
static void werr(struct wparser *p, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	p->nerr++;
	if (!p->err || p->errpos + 1 >= p->errlen)
		return;
	k = snprintf(p->err + p->errpos, p->errlen - p->errpos, "%s%s:%zu:%zu: ",
		     p->errpos ? "\n" : "", p->name,
		     n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1);
	if (k < 0 || (size_t)k >= p->errlen - p->errpos) {
		p->errpos = p->errlen - 1;
		return;
	}
	p->errpos += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(p->err + p->errpos, p->errlen - p->errpos, fmt, ap);
	va_end(ap);
	p->errpos = k < 0 || (size_t)k >= p->errlen - p->errpos ? p->errlen - 1 :
		    p->errpos + (size_t)k;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null"));
}

/* A non-empty string value, or NULL with an error. */
static const char *want_string(struct wparser *p, const yaml_node_t *n,
			       const char *key)
{
	const char *s = scalar(n);

	if (!s || !*s || is_null(n)) {
		werr(p, n, "%s: expected a non-empty string", key);
		return NULL;
	}
	return s;
}

static char *read_small(const char *path, char *why, size_t len)
{
	struct stat st;
	char *buf;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		snprintf(why, len, "%s", S_ISREG(st.st_mode) ? "larger than 1 MiB" :
			 "not a regular file");
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(why, len, "out of memory");
		close(fd);
		return NULL;
	}
	got = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (got != st.st_size) {
		snprintf(why, len, "short read");
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	return buf;
}

/* @s as a path relative to the config file's directory. */
static char *resolve(const struct wparser *p, const char *s)
{
	const char *slash = strrchr(p->name, '/');
	char *out;

	if (s[0] == '/' || !slash)
		return strdup(s);
	if (asprintf(&out, "%.*s/%s", (int)(slash - p->name), p->name, s) < 0)
		return NULL;
	return out;
}

static const char *const tls_versions[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
static const char *const gnutls_versions[] = {
	"VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2", "VERS-TLS1.3",
};

static int tls_version(struct wparser *p, const yaml_node_t *n, const char *key)
{
	const char *s = want_string(p, n, key);

	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, tls_versions[i]))
			return i;
	if (s)
		werr(p, n, "%s: unknown TLS version '%s' (TLS10, TLS11, TLS12, TLS13)",
		     key, s);
	return -1;
}

static void parse_tls(struct wparser *p, const yaml_node_t *m)
{
	const yaml_node_t *certn = NULL, *keyn = NULL;
	int minv = 2, maxv = 3;
	char why[128];

	if (m->type != YAML_MAPPING_NODE) {
		werr(p, m, "tls_server_config: expected a mapping");
		return;
	}
	for (yaml_node_pair_t *kv = m->data.mapping.pairs.start;
	     kv < m->data.mapping.pairs.top; kv++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *key = scalar(k);

		if (!key) {
			werr(p, k, "tls_server_config: keys must be strings");
		} else if (!strcmp(key, "cert_file")) {
			certn = v;
		} else if (!strcmp(key, "key_file")) {
			keyn = v;
		} else if (!strcmp(key, "client_auth_type")) {
			const char *s = want_string(p, v, key);

			if (s && strcmp(s, "NoClientCert"))
				werr(p, v, "client_auth_type '%s': bpfwatch does not "
				     "verify client certificates; only NoClientCert is "
				     "supported", s);
		} else if (!strcmp(key, "min_version")) {
			minv = tls_version(p, v, key);
		} else if (!strcmp(key, "max_version")) {
			maxv = tls_version(p, v, key);
		} else if (!strcmp(key, "client_ca_file") || !strcmp(key, "cipher_suites") ||
			   !strcmp(key, "curve_preferences") ||
			   !strcmp(key, "prefer_server_cipher_suites") ||
			   !strcmp(key, "cert") || !strcmp(key, "key") ||
			   !strcmp(key, "client_allowed_sans")) {
			werr(p, k, "tls_server_config: '%s' is not supported by bpfwatch", key);
		} else {
			werr(p, k, "tls_server_config: unknown key '%s'", key);
		}
	}
	if (!certn != !keyn) {
		werr(p, m, "tls_server_config: cert_file and key_file go together");
		return;
	}
	if (minv >= 0 && maxv >= 0 && minv > maxv)
		werr(p, m, "tls_server_config: min_version is above max_version");
	if (!certn)
		return;
	if (want_string(p, certn, "cert_file") && want_string(p, keyn, "key_file")) {
		p->wc->cert_file = resolve(p, scalar(certn));
		p->wc->key_file = resolve(p, scalar(keyn));
		if (!p->wc->cert_file || !p->wc->key_file) {
			werr(p, m, "out of memory");
			return;
		}
		p->wc->cert_pem = read_small(p->wc->cert_file, why, sizeof(why));
		if (!p->wc->cert_pem)
			werr(p, certn, "cert_file '%s': %s", p->wc->cert_file, why);
		p->wc->key_pem = read_small(p->wc->key_file, why, sizeof(why));
		if (!p->wc->key_pem)
			werr(p, keyn, "key_file '%s': %s", p->wc->key_file, why);
		if (p->wc->cert_pem && !strstr(p->wc->cert_pem, "-----BEGIN CERTIFICATE-----"))
			werr(p, certn, "cert_file '%s': not a PEM certificate", p->wc->cert_file);
		if (p->wc->key_pem && !strstr(p->wc->key_pem, "PRIVATE KEY-----"))
			werr(p, keyn, "key_file '%s': not a PEM private key", p->wc->key_file);
	}
	if (minv >= 0 && maxv >= 0) {
		char prio[160] = "NORMAL:-VERS-ALL";
		size_t off = strlen(prio);

		for (int v = minv; v <= maxv; v++)
			off += (size_t)snprintf(prio + off, sizeof(prio) - off, ":+%s",
						gnutls_versions[v]);
		p->wc->priorities = strdup(prio);
		if (!p->wc->priorities)
			werr(p, m, "out of memory");
	}
}

static bool bcrypt_hash(const char *h)
{
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' &&
	       (h[2] == 'a' || h[2] == 'b' || h[2] == 'y') && h[3] == '$';
}

static void parse_users(struct wparser *p, const yaml_node_t *m)
{
	if (is_null(m))
		return;
	if (m->type != YAML_MAPPING_NODE) {
		werr(p, m, "basic_auth_users: expected a mapping of user: bcrypt hash");
		return;
	}
	for (yaml_node_pair_t *kv = m->data.mapping.pairs.start;
	     kv < m->data.mapping.pairs.top; kv++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *user = scalar(k), *hash = scalar(v);
		struct web_user *u;

		if (!user || !*user || strchr(user, ':') ||
		    strlen(user) >= sizeof(p->wc->cache[0].user)) {
			werr(p, k, "basic_auth_users: a user name is a string of 1 to 63 "
			     "bytes without ':'");
			continue;
		}
		if (!hash || !bcrypt_hash(hash)) {
			werr(p, v, "basic_auth_users: %s: expected a bcrypt hash "
			     "($2y$..., 60 characters: htpasswd -nBC 10 %s)", user, user);
			continue;
		}
		for (size_t i = 0; i < p->wc->nusers; i++)
			if (!strcmp(p->wc->users[i].name, user))
				werr(p, k, "basic_auth_users: user '%s' given twice", user);
		if (p->wc->nusers == WEBCONFIG_MAX_USERS) {
			werr(p, k, "basic_auth_users: more than %d users",
			     WEBCONFIG_MAX_USERS);
			return;
		}
		u = &p->wc->users[p->wc->nusers];
		u->name = strdup(user);
		u->hash = strdup(hash);
		p->wc->nusers++;
		if (!u->name || !u->hash)
			werr(p, k, "out of memory");
	}
}

static bool header_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
			return false;
	return true;
}

static void parse_http(struct wparser *p, const yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE) {
		werr(p, m, "http_server_config: expected a mapping");
		return;
	}
	for (yaml_node_pair_t *kv = m->data.mapping.pairs.start;
	     kv < m->data.mapping.pairs.top; kv++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *key = scalar(k);

		if (key && !strcmp(key, "http2")) {
			werr(p, k, "http_server_config: http2 is not supported by bpfwatch");
			continue;
		}
		if (!key || strcmp(key, "headers")) {
			werr(p, k, "http_server_config: unknown key '%s'", key ? key : "");
			continue;
		}
		if (v->type != YAML_MAPPING_NODE) {
			werr(p, v, "headers: expected a mapping of name: value");
			continue;
		}
		for (yaml_node_pair_t *h = v->data.mapping.pairs.start;
		     h < v->data.mapping.pairs.top; h++) {
			const yaml_node_t *hk = yaml_document_get_node(p->doc, h->key);
			const yaml_node_t *hv = yaml_document_get_node(p->doc, h->value);
			const char *name = scalar(hk), *val = scalar(hv);
			struct web_header *wh;

			if (!name || !header_token(name)) {
				werr(p, hk, "headers: invalid header name");
				continue;
			}
			if (!val || strpbrk(val, "\r\n")) {
				werr(p, hv, "headers: %s: expected a one-line string", name);
				continue;
			}
			if (p->wc->nheaders == WEBCONFIG_MAX_HEADERS) {
				werr(p, hk, "headers: more than %d", WEBCONFIG_MAX_HEADERS);
				return;
			}
			wh = &p->wc->headers[p->wc->nheaders++];
			wh->name = strdup(name);
			wh->value = strdup(val);
			if (!wh->name || !wh->value)
				werr(p, hk, "out of memory");
		}
	}
}

static void parse_root(struct wparser *p, const yaml_node_t *root)
{
	if (!root || is_null(root))
		return;	/* an empty file: plain HTTP, no auth */
	if (root->type != YAML_MAPPING_NODE) {
		werr(p, root, "expected a mapping at the top level");
		return;
	}
	for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
	     kv < root->data.mapping.pairs.top; kv++) {
		const yaml_node_t *k = yaml_document_get_node(p->doc, kv->key);
		const yaml_node_t *v = yaml_document_get_node(p->doc, kv->value);
		const char *key = scalar(k);

		for (yaml_node_pair_t *o = root->data.mapping.pairs.start; o < kv; o++) {
			const char *ok = scalar(yaml_document_get_node(p->doc, o->key));

			if (key && ok && !strcmp(key, ok))
				werr(p, k, "'%s' given twice", key);
		}
		if (!key)
			werr(p, k, "keys must be strings");
		else if (!strcmp(key, "tls_server_config"))
			parse_tls(p, v);
		else if (!strcmp(key, "basic_auth_users"))
			parse_users(p, v);
		else if (!strcmp(key, "http_server_config"))
			parse_http(p, v);
		else
			werr(p, k, "unknown key '%s' (tls_server_config, "
			     "basic_auth_users, http_server_config)", key);
	}
}

static void new_salt(struct web_config *wc)
{
	static const char b64[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[16];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)random();
	i = (size_t)snprintf(wc->cache_salt, sizeof(wc->cache_salt), "$6$rounds=1000$");
	for (size_t j = 0; j < sizeof(rnd) && i + 1 < sizeof(wc->cache_salt); j++)
		wc->cache_salt[i++] = b64[rnd[j] & 63];
	wc->cache_salt[i] = '\0';
}

struct web_config *webconfig__parse(const char *name, const char *text,
				    size_t len, char *err, size_t errlen)
{
	struct wparser p = { .name = name, .err = err, .errlen = errlen };
	yaml_parser_t yp;
	yaml_document_t doc;

	if (err && errlen)
		err[0] = '\0';
	p.wc = calloc(1, sizeof(*p.wc));
	if (!p.wc) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	if (!yaml_parser_initialize(&yp)) {
		snprintf(err, errlen, "%s: out of memory", name);
		free(p.wc);
		return NULL;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, yp.problem_mark.line + 1,
			 yp.problem_mark.column + 1,
			 yp.problem ? yp.problem : "invalid YAML");
		yaml_parser_delete(&yp);
		free(p.wc);
		return NULL;
	}
	p.doc = &doc;
	parse_root(&p, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	if (p.nerr) {
		webconfig__free(p.wc);
		return NULL;
	}
	new_salt(p.wc);
	return p.wc;
}

struct web_config *webconfig__load(const char *path, char *err, size_t errlen)
{
	struct web_config *wc;
	char why[128];
	char *text = read_small(path, why, sizeof(why));

	if (!text) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	wc = webconfig__parse(path, text, strlen(text), err, errlen);
	free(text);
	return wc;
}

void webconfig__free(struct web_config *wc)
{
	if (!wc)
		return;
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->cert_pem);
	if (wc->key_pem) {
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
		free(wc->key_pem);
	}
	free(wc->priorities);
	for (size_t i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	for (size_t i = 0; i < wc->nheaders; i++) {
		free(wc->headers[i].name);
		free(wc->headers[i].value);
	}
	explicit_bzero(wc->cache, sizeof(wc->cache));
	free(wc);
}

/* Equal strings, in time independent of where they differ. */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

bool webconfig__check_user(struct web_config *wc, const char *user,
			   const char *pass)
{
	struct crypt_data cd;
	const struct web_user *u = NULL;
	struct web_auth_cache *slot = NULL;
	char token[sizeof(wc->cache[0].token)] = "";
	const char *h;
	bool ok;

	if (!wc || !user || !pass)
		goto fail;
	for (size_t i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, user))
			u = &wc->users[i];
	if (!u)
		goto fail;
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pass, wc->cache_salt, &cd);
	if (h && h[0] == '$' && strlen(h) < sizeof(token))
		strcpy(token, h);
	wc->uses++;
	for (size_t i = 0; token[0] && i < WEBCONFIG_AUTH_CACHE; i++) {
		struct web_auth_cache *c = &wc->cache[i];

		if (c->user[0] && !strcmp(c->user, user) && same(c->token, token)) {
			c->last_use = wc->uses;
			wc->cache_hits++;
			explicit_bzero(&cd, sizeof(cd));
			return true;
		}
	}
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pass, u->hash, &cd);
	ok = h && h[0] == '$' && same(h, u->hash);
	explicit_bzero(&cd, sizeof(cd));
	if (!ok)
		goto fail;
	if (token[0]) {
		/* Remember it in the least recently used slot. */
		for (size_t i = 0; i < WEBCONFIG_AUTH_CACHE; i++)
			if (!slot || wc->cache[i].last_use < slot->last_use)
				slot = &wc->cache[i];
		snprintf(slot->user, sizeof(slot->user), "%s", user);
		snprintf(slot->token, sizeof(slot->token), "%s", token);
		slot->last_use = wc->uses;
	}
	return true;
fail:
	if (wc)
		wc->auth_failures++;
	return false;
}
