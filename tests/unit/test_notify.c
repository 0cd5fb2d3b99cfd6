// SPDX-License-Identifier: GPL-2.0
/*
 * Delivery logic without a network: backoff, outcome classification,
 * circuit breaker, the per-destination queue (batching, eviction),
 * payloads (Alertmanager v2, webhook v4 with Alertmanager's fingerprint),
 * the configuration parser, and the dispatcher's spool bookkeeping
 * across restarts (queue limit, replay, unconfigured destinations).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alertmanager.h"
#include "log.h"
#include "notify.h"
#include "notify_config.h"
#include "spool.h"
#include "webhook.h"

/* --- policy -------------------------------------------------------------- */

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(notify_backoff_ms(0, 500, 300000, 0.5), 0);
	assert_int_equal(notify_backoff_ms(1, 500, 300000, 0.5), 250);
	assert_int_equal(notify_backoff_ms(2, 500, 300000, 0.5), 500);
	assert_int_equal(notify_backoff_ms(3, 500, 300000, 0.5), 1000);
	/* capped, and no overflow however many attempts */
	assert_int_equal(notify_backoff_ms(20, 500, 300000, 0.5), 150000);
	assert_int_equal(notify_backoff_ms(100000, 500, 300000, 0.5), 150000);
	assert_true(notify_backoff_ms(100000, 500, 300000, 0.9999999) < 300000);
	assert_int_equal(notify_backoff_ms(5, 500, 300000, 0.0), 0);
	/* u outside [0, 1) is clamped */
	assert_true(notify_backoff_ms(1, 1000, 5000, 7.0) < 1000);
	assert_int_equal(notify_backoff_ms(1, 1000, 5000, -1.0), 0);
	/* the ceiling grows by doubling and stops at the cap */
	for (unsigned int a = 1; a < 64; a++) {
		uint64_t v = notify_backoff_ms(a, 500, 300000, 0.999999);

		assert_true(v < 300000);
		if (a > 1)
			assert_true(v >= notify_backoff_ms(a - 1, 500, 300000, 0.999999));
	}
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(notify_classify(false, 0), NOTIFY_RETRY);
	assert_int_equal(notify_classify(true, 200), NOTIFY_OK);
	assert_int_equal(notify_classify(true, 202), NOTIFY_OK);
	assert_int_equal(notify_classify(true, 204), NOTIFY_OK);
	assert_int_equal(notify_classify(true, 400), NOTIFY_PERMANENT);
	assert_int_equal(notify_classify(true, 401), NOTIFY_PERMANENT);
	assert_int_equal(notify_classify(true, 404), NOTIFY_PERMANENT);
	assert_int_equal(notify_classify(true, 422), NOTIFY_PERMANENT);
	assert_int_equal(notify_classify(true, 302), NOTIFY_PERMANENT);
	assert_int_equal(notify_classify(true, 408), NOTIFY_RETRY);
	assert_int_equal(notify_classify(true, 429), NOTIFY_RETRY);
	assert_int_equal(notify_classify(true, 500), NOTIFY_RETRY);
	assert_int_equal(notify_classify(true, 503), NOTIFY_RETRY);
}

static void test_breaker(void **state)
{
	struct breaker b = { .threshold = 3, .cooldown_ns = 1000 };

	(void)state;
	assert_true(breaker__allow(&b, 0));
	breaker__failure(&b, 10);
	breaker__failure(&b, 20);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_true(breaker__allow(&b, 30));
	breaker__failure(&b, 30);
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_false(breaker__allow(&b, 31));
	assert_false(breaker__allow(&b, 1029));
	/* cool-down over: one probe */
	assert_true(breaker__allow(&b, 1030));
	assert_int_equal(b.state, BREAKER_HALF_OPEN);
	/* the probe fails: open again for a whole cool-down */
	breaker__failure(&b, 1100);
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_false(breaker__allow(&b, 2099));
	assert_true(breaker__allow(&b, 2100));
	assert_int_equal(b.state, BREAKER_HALF_OPEN);
	breaker__success(&b);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_int_equal(b.failures, 0);
	/* a success resets the count of consecutive failures */
	breaker__failure(&b, 3000);
	breaker__failure(&b, 3000);
	breaker__success(&b);
	breaker__failure(&b, 3000);
	assert_int_equal(b.state, BREAKER_CLOSED);
}

/* --- queue ---------------------------------------------------------------- */

static bool not_four(void *ctx, uint64_t id)
{
	(void)ctx;
	return id != 4;
}

static bool all_live(void *ctx, uint64_t id)
{
	(void)ctx;
	(void)id;
	return true;
}

static uint64_t at(const struct notify_queue *q, size_t i)
{
	return q->ids[q->head + i];
}

static void test_queue(void **state)
{
	struct notify_queue q;
	uint64_t ev;

	(void)state;
	assert_int_equal(notify_queue__init(&q, 4), 0);
	for (uint64_t id = 1; id <= 4; id++) {
		notify_queue__push(&q, id, &ev);
		assert_int_equal(ev, 0);
	}
	assert_int_equal(notify_queue__take(&q, 2, all_live, NULL), 2);
	assert_int_equal(at(&q, 0), 1);
	assert_int_equal(at(&q, 1), 2);
	/* full: the oldest not in flight (3) goes */
	notify_queue__push(&q, 5, &ev);
	assert_int_equal(ev, 3);
	assert_int_equal(q.len, 4);
	assert_int_equal(at(&q, 0), 1);
	assert_int_equal(at(&q, 1), 2);
	assert_int_equal(at(&q, 2), 4);
	assert_int_equal(at(&q, 3), 5);
	/* delivered */
	notify_queue__done(&q);
	assert_int_equal(q.len, 2);
	assert_int_equal(q.inflight, 0);
	/* ids gone from the spool are skipped (and removed) on take */
	assert_int_equal(notify_queue__take(&q, 8, not_four, NULL), 1);
	assert_int_equal(at(&q, 0), 5);
	assert_int_equal(q.len, 1);
	/* failed: stays at the head for the retry */
	notify_queue__retry(&q);
	assert_int_equal(q.inflight, 0);
	assert_int_equal(q.len, 1);
	assert_int_equal(notify_queue__take(&q, 8, all_live, NULL), 1);
	assert_int_equal(at(&q, 0), 5);
	notify_queue__done(&q);
	assert_int_equal(q.len, 0);
	notify_queue__free(&q);

	/* FIFO order over many wrap-arounds of the storage */
	assert_int_equal(notify_queue__init(&q, 8), 0);
	uint64_t next_in = 1, next_out = 1;

	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 3; i++) {
			notify_queue__push(&q, next_in++, &ev);
			assert_int_equal(ev, 0);
		}
		size_t n = notify_queue__take(&q, 3, all_live, NULL);

		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(at(&q, i), next_out++);
		notify_queue__done(&q);
	}
	notify_queue__free(&q);

	/* every slot in flight: the newcomer is the one refused */
	assert_int_equal(notify_queue__init(&q, 1), 0);
	notify_queue__push(&q, 1, &ev);
	notify_queue__push(&q, 2, &ev);
	assert_int_equal(ev, 1);
	assert_int_equal(notify_queue__take(&q, 1, all_live, NULL), 1);
	notify_queue__push(&q, 3, &ev);
	assert_int_equal(ev, 0);
	assert_int_equal(q.len, 2);
	assert_int_equal(notify_queue__take(&q, 2, all_live, NULL), 2);
	notify_queue__push(&q, 4, &ev);
	assert_int_equal(ev, 4);
	notify_queue__free(&q);
}

/* --- payloads ------------------------------------------------------------- */

static const struct label alert_labels[] = {
	{ "severity", "page" }, { "alertname", "Test1" },
};
static const struct label alert_ann[] = { { "summary", "hello \"world\"" } };
static const struct label ext[] = { { "cluster", "e2e" }, { "severity", "ignored" } };

static char *sample_alert(bool resolved, const char *name)
{
	struct label l[2] = { { "severity", "page" }, { "alertname", name } };
	struct notify_alert a = {
		.labels = l, .nlabels = 2, .annotations = alert_ann, .nannotations = 1,
		.starts_at_ms = 1764689400123LL, .ends_at_ms = resolved ? 1764689460000LL : 0,
		.generator_url = "http://x/graph", .resolved = resolved,
	};
	char *s = am__alert_json(&a);

	assert_non_null(s);
	return s;
}

static void test_rfc3339(void **state)
{
	char buf[40];

	(void)state;
	am__rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	am__rfc3339(1764689400123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2025-12-02T15:30:00.123Z");
}

static void test_am_body(void **state)
{
	char *a = sample_alert(false, "Test1"), *r = sample_alert(true, "Test1");
	const char *v[] = { a, r, "not json" };
	cJSON *arr, *x, *l;
	size_t bad;
	char *body;

	(void)state;
	body = am__post_body(v, 2, ext, 2, &bad);
	assert_non_null(body);
	arr = cJSON_Parse(body);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	x = cJSON_GetArrayItem(arr, 0);
	l = cJSON_GetObjectItem(x, "labels");
	assert_string_equal(cJSON_GetObjectItem(l, "alertname")->valuestring, "Test1");
	/* external labels added, never overriding the alert's own */
	assert_string_equal(cJSON_GetObjectItem(l, "cluster")->valuestring, "e2e");
	assert_string_equal(cJSON_GetObjectItem(l, "severity")->valuestring, "page");
	assert_null(cJSON_GetObjectItem(x, "status"));
	assert_null(cJSON_GetObjectItem(x, "endsAt"));
	assert_string_equal(cJSON_GetObjectItem(x, "startsAt")->valuestring,
			    "2025-12-02T15:30:00.123Z");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "annotations"),
						"summary")->valuestring, "hello \"world\"");
	assert_string_equal(cJSON_GetObjectItem(x, "generatorURL")->valuestring, "http://x/graph");
	x = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(cJSON_GetObjectItem(x, "endsAt")->valuestring,
			    "2025-12-02T15:31:00.000Z");
	cJSON_Delete(arr);
	free(body);
	/* a broken stored alert is pointed at */
	assert_null(am__post_body(v, 3, NULL, 0, &bad));
	assert_int_equal(bad, 2);
	free(a);
	free(r);

	struct notify_alert none = { .nlabels = 0 };

	errno = 0;
	assert_null(am__alert_json(&none));
	assert_int_equal(errno, EINVAL);
	body = am__endpoint("http://am:9093", "/prefix");
	assert_string_equal(body, "http://am:9093/prefix/api/v2/alerts");
	free(body);
}

static void test_fingerprint(void **state)
{
	/* the value Alertmanager 0.25 shows for this label set */
	const struct label l[] = {
		{ "severity", "page" }, { "alertname", "Test1" }, { "cluster", "e2e" },
	};
	const struct label l2[] = {
		{ "cluster", "e2e" }, { "alertname", "Test1" }, { "severity", "page" },
	};

	(void)state;
	assert_true(webhook__fingerprint(l, 3) == 0xec0e8787620dd45bULL);
	assert_true(webhook__fingerprint(l2, 3) == 0xec0e8787620dd45bULL);
	assert_true(webhook__fingerprint(NULL, 0) == 14695981039346656037ULL);
	assert_true(webhook__fingerprint(l, 2) != webhook__fingerprint(l, 3));
}

static void test_webhook_body(void **state)
{
	char *a = sample_alert(false, "Test1"), *b = sample_alert(true, "Test1");
	char *c = sample_alert(true, "Other");
	const char *v[] = { a, b, c };
	cJSON *o, *al, *x;
	size_t bad;
	char *body;

	(void)state;
	(void)alert_labels;
	body = webhook__body(v, 2, ext, 1, "http://agent:9477", &bad);
	assert_non_null(body);
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "version")->valuestring, "4");
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(o, "receiver")->valuestring, "bpfwatch");
	assert_string_equal(cJSON_GetObjectItem(o, "externalURL")->valuestring,
			    "http://agent:9477");
	assert_string_equal(cJSON_GetObjectItem(o, "groupKey")->valuestring,
			    "{}:{alertname=\"Test1\"}");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "groupLabels"),
						"alertname")->valuestring, "Test1");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "commonLabels"),
						"cluster")->valuestring, "e2e");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "commonAnnotations"),
					    "summary"));
	al = cJSON_GetObjectItem(o, "alerts");
	assert_int_equal(cJSON_GetArraySize(al), 2);
	x = cJSON_GetArrayItem(al, 0);
	assert_string_equal(cJSON_GetObjectItem(x, "status")->valuestring, "firing");
	assert_string_equal(cJSON_GetObjectItem(x, "endsAt")->valuestring,
			    "0001-01-01T00:00:00Z");
	assert_string_equal(cJSON_GetObjectItem(x, "fingerprint")->valuestring,
			    "ec0e8787620dd45b");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(al, 1), "status")->valuestring,
			    "resolved");
	cJSON_Delete(o);
	free(body);

	/* only resolved, two alertnames: resolved, no group label */
	body = webhook__body(v + 1, 2, NULL, 0, NULL, &bad);
	assert_non_null(body);
	o = cJSON_Parse(body);
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "resolved");
	assert_string_equal(cJSON_GetObjectItem(o, "groupKey")->valuestring, "{}:{}");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "commonLabels"), "alertname"));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "commonLabels"),
						"severity")->valuestring, "page");
	cJSON_Delete(o);
	free(body);

	const char *broken[] = { a, "{\"labels\":{}}" };

	assert_null(webhook__body(broken, 2, NULL, 0, NULL, &bad));
	assert_int_equal(bad, 1);
	free(a);
	free(b);
	free(c);
}

/* --- configuration ------------------------------------------------------- */

static int parse(struct notify_cfg *c, const char *text, char *err, size_t len)
{
	notify_cfg__init(c);
	return notify_cfg__parse_text(c, "n.yml", text, strlen(text), err, len);
}

static void test_config(void **state)
{
	struct notify_cfg c;
	char err[4096];

	(void)state;
	assert_int_equal(parse(&c,
		"global:\n"
		"  scrape_interval: 15s\n"
		"  external_labels: { zone: b, cluster: prod }\n"
		"probes: {}\n"
		"alerting:\n"
		"  alertmanagers:\n"
		"    - url: https://am.example:9093/\n"
		"      path_prefix: /am/\n"
		"      timeout: 3s\n"
		"      tls_config: { ca_file: /ca.pem, insecure_skip_verify: true }\n"
		"      basic_auth: { username: u, password_file: /pw }\n"
		"    - url: http://am2:9093\n"
		"      bearer_token_file: /tok\n"
		"  webhooks:\n"
		"    - url: http://hook/x\n"
		"      headers: { X-A: b }\n"
		"  delivery: { batch_size: 10, queue_capacity: 20, breaker_failures: 2,\n"
		"              breaker_cooldown: 1m, backoff_initial: 1s, backoff_max: 10s,\n"
		"              spool_max_bytes: 100000, spool_max_age: 2h }\n",
		err, sizeof(err)), 0);
	assert_int_equal(c.nams, 2);
	assert_string_equal(c.ams[0].url, "https://am.example:9093");
	assert_string_equal(c.ams[0].path_prefix, "/am");
	assert_int_equal(c.ams[0].timeout_ms, 3000);
	assert_string_equal(c.ams[0].ca_file, "/ca.pem");
	assert_true(c.ams[0].insecure_skip_verify);
	assert_string_equal(c.ams[0].username, "u");
	assert_string_equal(c.ams[0].password_file, "/pw");
	assert_string_equal(c.ams[1].path_prefix, "");
	assert_int_equal(c.ams[1].timeout_ms, 10000);
	assert_string_equal(c.ams[1].bearer_token_file, "/tok");
	assert_int_equal(c.nhooks, 1);
	assert_string_equal(c.hooks[0].headers[0].name, "X-A");
	assert_int_equal(c.nexternal, 2);
	/* sorted */
	assert_string_equal(c.external_labels[0].name, "cluster");
	assert_string_equal(c.external_labels[1].value, "b");
	assert_int_equal(c.batch_size, 10);
	assert_int_equal(c.queue_capacity, 20);
	assert_int_equal(c.breaker_failures, 2);
	assert_int_equal(c.breaker_cooldown_ms, 60000);
	assert_int_equal(c.backoff_initial_ms, 1000);
	assert_int_equal(c.backoff_max_ms, 10000);
	assert_int_equal(c.spool_max_bytes, 100000);
	assert_int_equal(c.spool_max_age_ms, 7200000);
	notify_cfg__free(&c);

	/* nothing about alerting: defaults, no destinations */
	assert_int_equal(parse(&c, "global: { scrape_interval: 1s }\n", err, sizeof(err)), 0);
	assert_int_equal(c.nams + c.nhooks, 0);
	assert_int_equal(c.batch_size, 64);
	notify_cfg__free(&c);

	/* every error, with its position */
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers:\n"
		"    - url: ftp://am\n"
		"      timout: 3s\n"
		"    - url: http://b\n"
		"      basic_auth: { username: u }\n"
		"      bearer_token_file: /t\n"
		"    - url: http://b\n"
		"  webhooks:\n"
		"    - headers: { 'bad header': x }\n"
		"  delivery: { batch_size: 0, queue_capacity: 1 }\n"
		"global:\n"
		"  external_labels: { 0bad: x }\n",
		err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "n.yml:4:7: alerting.alertmanagers[0]: unknown field 'timout'"));
	assert_non_null(strstr(err, "n.yml:3:7: alerting.alertmanagers[0]: url 'ftp://am' must start with http:// or https://"));
	assert_non_null(strstr(err, "n.yml:5:7: alerting.alertmanagers[1]: basic_auth and bearer_token_file are mutually exclusive"));
	assert_non_null(strstr(err, "alerting.alertmanagers[2]: same url as [1]"));
	assert_non_null(strstr(err, "n.yml:10:18: alerting.webhooks[0].headers: invalid header name 'bad header'"));
	assert_non_null(strstr(err, "n.yml:10:7: alerting.webhooks[0]: url is required"));
	assert_non_null(strstr(err, "n.yml:11:27: alerting.delivery.batch_size: must be between 1 and 1000, got 0"));
	assert_non_null(strstr(err, "n.yml:13:22: global.external_labels: invalid label name '0bad'"));
	notify_cfg__free(&c);

	/* keys given twice: reported, never merged */
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: http://a } ]\n"
		"  alertmanagers: [ { url: http://b }, { url: http://c } ]\n"
		"global:\n"
		"  external_labels: { a: b }\n"
		"  external_labels: { a: b }\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "n.yml:3:3: alerting: duplicate field 'alertmanagers'"));
	assert_non_null(strstr(err, "n.yml:6:20: global.external_labels: given twice"));
	assert_int_equal(c.nams, 1);
	notify_cfg__free(&c);

	assert_int_equal(parse(&c, "alerting: [\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "n.yml:2:1: "));
	notify_cfg__free(&c);
	assert_int_equal(parse(&c, "alerting:\n  delivery: { batch_size: 64, queue_capacity: 100 }\n",
			       err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "queue_capacity (100) must be at least twice batch_size (64)"));
	notify_cfg__free(&c);
}

/* --- the dispatcher's bookkeeping, without sending -------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static char *expose(const struct notify *n)
{
	struct strbuf b;

	strbuf__init(&b);
	notify__expose(n, &b);
	return strbuf__steal(&b, NULL);
}

static void enqueue(struct notify *n, const char *name)
{
	struct label l = { "alertname", name };
	struct notify_alert a = { .labels = &l, .nlabels = 1, .starts_at_ms = 1 };

	assert_int_equal(notify__enqueue(n, &a), 0);
}

static void test_dispatcher_bookkeeping(void **state)
{
	char dir[] = "/tmp/bw-notify-test.XXXXXX", spool[64], err[4096], *m;
	struct notify_cfg c;
	struct notify *n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	/* nothing listens on port 1; nothing is run anyway */
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: 'http://127.0.0.1:1' } ]\n"
		"  webhooks: [ { url: 'http://127.0.0.1:1/hook' } ]\n"
		"  delivery: { batch_size: 1, queue_capacity: 3 }\n", err, sizeof(err)), 0);
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify__pending(n), 0);
	enqueue(n, "A");
	enqueue(n, "B");
	assert_int_equal(notify__pending(n), 4);
	/* not committed yet: the loop must come back at once to commit */
	assert_int_equal(notify__timeout_ms(n), 0);
	assert_int_equal(notify__commit(n), 0);
	assert_true(notify__fd(n) >= 0);
	notify__free(n);

	/* a restart finds both alerts for both destinations */
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify__pending(n), 4);
	/* over the queue's capacity: the oldest are dropped and counted */
	enqueue(n, "C");
	enqueue(n, "D");
	enqueue(n, "E");
	assert_int_equal(notify__pending(n), 6);
	m = expose(n);
	assert_non_null(strstr(m, "bpfwatch_notifications_dropped_total{destination="
				  "\"http://127.0.0.1:1/api/v2/alerts\",reason=\"queue_full\"} 2\n"));
	assert_non_null(strstr(m, "bpfwatch_notifications_dropped_total{destination="
				  "\"http://127.0.0.1:1/hook\",reason=\"queue_full\"} 2\n"));
	assert_non_null(strstr(m, "bpfwatch_notifications_queue_length{destination="
				  "\"http://127.0.0.1:1/hook\"} 3\n"));
	assert_non_null(strstr(m, "# TYPE bpfwatch_notification_latency_seconds histogram\n"));
	/* nothing tried yet: nothing says it is down */
	assert_non_null(strstr(m, "bpfwatch_alertmanager_up{destination="
				  "\"http://127.0.0.1:1/api/v2/alerts\"} 1\n"));
	assert_non_null(strstr(m, "bpfwatch_notification_spool_records 6\n"));
	free(m);
	struct notify_dest_stats ds;

	assert_int_equal(notify__ndests(n), 2);
	notify__dest_stats(n, 1, &ds);
	assert_string_equal(ds.name, "http://127.0.0.1:1/hook");
	assert_true(ds.webhook);
	assert_true(ds.up);
	assert_int_equal(ds.queue_length, 3);
	assert_int_equal(ds.dropped_queue_full, 2);
	assert_int_equal(ds.sent, 0);
	assert_non_null(ds.latency);
	assert_int_equal(notify__commit(n), 0);
	notify__free(n);
	notify_cfg__free(&c);

	/* the webhook is no longer configured: its notifications are dropped,
	 * counted, and the Alertmanager keeps its own */
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: 'http://127.0.0.1:1' } ]\n"
		"  delivery: { batch_size: 1, queue_capacity: 3 }\n", err, sizeof(err)), 0);
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify__pending(n), 3);
	m = expose(n);
	assert_non_null(strstr(m, "bpfwatch_notifications_dropped_total{destination=\"\","
				  "reason=\"unconfigured\"} 3\n"));
	assert_non_null(strstr(m, "bpfwatch_notification_spool_records 3\n"));
	free(m);
	notify__free(n);
	notify_cfg__free(&c);

	/* url + path_prefix spelled two ways: the same endpoint, refused */
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: 'http://a/x' }, { url: 'http://a', path_prefix: /x } ]\n",
		err, sizeof(err)), 0);
	errno = 0;
	assert_null(notify__new(&c, spool, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "notify: two destinations post to http://a/x/api/v2/alerts");
	notify_cfg__free(&c);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void enqueue_v(struct notify *n, const char *name, const char *version)
{
	struct label l[2] = { { "alertname", name }, { "instance", "x:1" } };
	struct label ann = { "version", version };
	struct notify_alert a = { .labels = l, .nlabels = 2, .annotations = &ann,
				  .nannotations = 1, .starts_at_ms = 1 };

	assert_int_equal(notify__enqueue(n, &a), 0);
}

struct bodies {
	char text[8][256];
	size_t n;
};

static void collect_body(const struct spool_entry *e, void *ctx)
{
	struct bodies *b = ctx;

	assert_true(b->n < 8);
	snprintf(b->text[b->n++], sizeof(b->text[0]), "%s", (const char *)e->body);
}

/* Re-sends of an alert that is still waiting replace it: only the newest
 * state of each alert stays queued, in order, across restarts too. */
static void test_dispatcher_coalesce(void **state)
{
	char dir[] = "/tmp/bw-notify-coal.XXXXXX", spool[64], err[4096], *m;
	struct spool_opts so = { 0 };
	struct notify_dest_stats ds;
	struct bodies b = { .n = 0 };
	struct notify_cfg c;
	struct notify *n;
	struct spool *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: 'http://127.0.0.1:1' } ]\n", err, sizeof(err)), 0);
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	enqueue_v(n, "A", "1");
	enqueue_v(n, "A", "2");
	enqueue_v(n, "B", "1");
	enqueue_v(n, "A", "3");
	assert_int_equal(notify__pending(n), 2);
	notify__dest_stats(n, 0, &ds);
	assert_int_equal(ds.superseded, 2);
	assert_int_equal(ds.dropped_queue_full + ds.dropped_spool_full, 0);
	m = expose(n);
	assert_non_null(strstr(m, "bpfwatch_notifications_superseded_total{destination="
				  "\"http://127.0.0.1:1/api/v2/alerts\"} 2\n"));
	free(m);
	assert_int_equal(notify__commit(n), 0);
	notify__free(n);

	/* the newest of each, oldest first */
	so.dir = spool;
	s = spool__open(&so, err, sizeof(err));
	assert_non_null(s);
	spool__foreach(s, collect_body, &b);
	spool__free(s);
	assert_int_equal(b.n, 2);
	assert_non_null(strstr(b.text[0], "\"alertname\":\"B\""));
	assert_non_null(strstr(b.text[1], "\"alertname\":\"A\""));
	assert_non_null(strstr(b.text[1], "\"version\":\"3\""));

	/* after a restart the replayed ones are known too */
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify__pending(n), 2);
	enqueue_v(n, "B", "2");
	assert_int_equal(notify__pending(n), 2);
	notify__dest_stats(n, 0, &ds);
	assert_int_equal(ds.superseded, 1);
	notify__free(n);
	notify_cfg__free(&c);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Notifications older than spool_max_age found at start-up are dropped as
 * expired before anything is sent, and counted for their destination. */
static void test_dispatcher_expiry(void **state)
{
	/* two alerts (one of each would coalesce) */
	static const char alert[] = "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{}}";
	static const char alert_b[] = "{\"labels\":{\"alertname\":\"B\"},\"annotations\":{}}";
	char dir[] = "/tmp/bw-notify-exp.XXXXXX", spool[64], err[4096], *m;
	struct spool_opts so = { 0 };
	struct notify_cfg c;
	struct notify *n;
	struct spool *s;
	uint64_t id;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	so.dir = spool;
	s = spool__open(&so, err, sizeof(err));
	assert_non_null(s);
	/* created in 1970 and just now */
	assert_int_equal(spool__append(s, "http://127.0.0.1:1/api/v2/alerts", 1000,
				       alert, strlen(alert), &id), 0);
	assert_int_equal(spool__append(s, "http://127.0.0.1:1/api/v2/alerts",
				       (int64_t)time(NULL) * 1000, alert_b, strlen(alert_b), &id), 0);
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);

	assert_int_equal(parse(&c,
		"alerting:\n"
		"  alertmanagers: [ { url: 'http://127.0.0.1:1' } ]\n"
		"  delivery: { spool_max_age: 1h }\n", err, sizeof(err)), 0);
	n = notify__new(&c, spool, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(notify__pending(n), 2);
	assert_int_equal(notify__timeout_ms(n), 0);
	notify__run(n);
	assert_int_equal(notify__pending(n), 1);
	m = expose(n);
	assert_non_null(strstr(m, "bpfwatch_notifications_dropped_total{destination="
				  "\"http://127.0.0.1:1/api/v2/alerts\",reason=\"expired\"} 1\n"));
	free(m);
	notify__free(n);
	notify_cfg__free(&c);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_am_body),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_webhook_body),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_dispatcher_bookkeeping),
		cmocka_unit_test(test_dispatcher_expiry),
		cmocka_unit_test(test_dispatcher_coalesce),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
