// SPDX-License-Identifier: GPL-2.0
/* webconfig: exporter-toolkit web config parsing and basic auth checks. */
#include <crypt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webconfig.h"

static char err[4096];

static struct web_config *parse(const char *text)
{
	return webconfig__parse("web.yml", text, strlen(text), err, sizeof(err));
}

/* A bcrypt hash of @pass at the lowest cost (fast tests). */
static void bcrypt(const char *pass, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd = {};
	const char *h;

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	h = crypt_r(pass, salt, &cd);
	assert_non_null(h);
	assert_int_equal(strlen(h), 60);
	snprintf(out, len, "%s", h);
}

static void test_empty_file_is_plain_http(void **state)
{
	struct web_config *wc = parse("");

	(void)state;
	assert_non_null(wc);
	assert_false(webconfig__tls(wc));
	assert_false(webconfig__auth(wc));
	webconfig__free(wc);
}

static void test_errors_have_positions(void **state)
{
	(void)state;
	assert_null(parse("tls_server_config:\n  cert_file: a.crt\n"));
	assert_string_equal(err, "web.yml:2:3: tls_server_config: cert_file and "
			    "key_file go together");
	assert_null(parse("basic_auth_users:\n  alice: secret\n"));
	assert_non_null(strstr(err, "web.yml:2:10: basic_auth_users: alice: "
				    "expected a bcrypt hash"));
	assert_null(parse("tls_server_config: {}\nbogus: 1\n"));
	assert_non_null(strstr(err, "web.yml:2:1: unknown key 'bogus'"));
	assert_null(parse("tls_server_config:\n  client_auth_type: "
			  "RequireAndVerifyClientCert\n"));
	assert_non_null(strstr(err, "web.yml:2:21: client_auth_type "
				    "'RequireAndVerifyClientCert': bpfwatch does not"));
	assert_null(parse("tls_server_config:\n  client_ca_file: ca.pem\n"));
	assert_non_null(strstr(err, "web.yml:2:3: tls_server_config: 'client_ca_file' "
				    "is not supported"));
	assert_null(parse("tls_server_config:\n  min_version: TLS14\n"));
	assert_non_null(strstr(err, "web.yml:2:16: min_version: unknown TLS version"));
	assert_null(parse("tls_server_config:\n  min_version: TLS13\n"
			  "  max_version: TLS12\n"));
	assert_non_null(strstr(err, "min_version is above max_version"));
	assert_null(parse("http_server_config:\n  headers:\n    \"Bad Name\": x\n"));
	assert_non_null(strstr(err, "web.yml:3:5: headers: invalid header name"));
	assert_null(parse("http_server_config:\n  http2: true\n"));
	assert_non_null(strstr(err, "http2 is not supported"));
	assert_null(parse("- a\n"));
	assert_string_equal(err, "web.yml:1:1: expected a mapping at the top level");
	assert_null(parse("basic_auth_users: [\n"));
	assert_non_null(strstr(err, "web.yml:"));
	/* every error, not just the first */
	assert_null(parse("a: 1\nb: 2\n"));
	assert_non_null(strstr(err, "web.yml:1:1: unknown key 'a'"));
	assert_non_null(strstr(err, "\nweb.yml:2:1: unknown key 'b'"));
}

static void test_tls_files_relative_to_the_config(void **state)
{
	char dir[] = "/tmp/bw-webconfig.XXXXXX", path[256], cfg[512];
	struct web_config *wc;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tls.crt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/tls.key", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
	      "  min_version: TLS13\n", f);
	fclose(f);

	wc = webconfig__load(path, err, sizeof(err));
	assert_non_null(wc);
	assert_true(webconfig__tls(wc));
	snprintf(cfg, sizeof(cfg), "%s/tls.crt", dir);
	assert_string_equal(wc->cert_file, cfg);
	assert_non_null(strstr(wc->key_pem, "PRIVATE KEY"));
	assert_string_equal(wc->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	webconfig__free(wc);

	/* a missing key file names the file */
	snprintf(cfg, sizeof(cfg), "tls_server_config:\n  cert_file: %s/tls.crt\n"
		 "  key_file: %s/nope.key\n", dir, dir);
	assert_null(parse(cfg));
	assert_non_null(strstr(err, "web.yml:3:13: key_file '"));
	assert_non_null(strstr(err, "nope.key': No such file or directory"));

	snprintf(path, sizeof(path), "%s/tls.crt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tls.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	unlink(path);
	rmdir(dir);
}

static void test_basic_auth(void **state)
{
	char hash_a[64], hash_b[64], cfg[512];
	struct web_config *wc;

	(void)state;
	bcrypt("s3cret", hash_a, sizeof(hash_a));
	bcrypt("other", hash_b, sizeof(hash_b));
	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  alice: '%s'\n  bob: %s\n"
		 "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
		 hash_a, hash_b);
	wc = parse(cfg);
	assert_non_null(wc);
	assert_true(webconfig__auth(wc));
	assert_int_equal(wc->nusers, 2);
	assert_int_equal(wc->nheaders, 1);
	assert_string_equal(wc->headers[0].name, "X-Frame-Options");

	assert_true(webconfig__check_user(wc, "alice", "s3cret"));
	assert_int_equal(wc->cache_hits, 0);
	/* the second time comes from the cache */
	assert_true(webconfig__check_user(wc, "alice", "s3cret"));
	assert_int_equal(wc->cache_hits, 1);
	/* a cached user with a wrong password is still refused */
	assert_false(webconfig__check_user(wc, "alice", "s3cre"));
	assert_false(webconfig__check_user(wc, "alice", "s3cret!"));
	assert_false(webconfig__check_user(wc, "alice", "other"));
	assert_true(webconfig__check_user(wc, "bob", "other"));
	assert_false(webconfig__check_user(wc, "bob", "s3cret"));
	assert_false(webconfig__check_user(wc, "carol", "s3cret"));
	assert_false(webconfig__check_user(wc, NULL, NULL));
	assert_false(webconfig__check_user(wc, "alice", NULL));
	assert_false(webconfig__check_user(wc, "alice", ""));
	assert_int_equal(wc->auth_failures, 8);
	webconfig__free(wc);

	/* a duplicated user is an error */
	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  alice: '%s'\n  alice: '%s'\n",
		 hash_a, hash_b);
	assert_null(parse(cfg));
	assert_non_null(strstr(err, "web.yml:3:3: basic_auth_users: user 'alice' "
				    "given twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_is_plain_http),
		cmocka_unit_test(test_errors_have_positions),
		cmocka_unit_test(test_tls_files_relative_to_the_config),
		cmocka_unit_test(test_basic_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
