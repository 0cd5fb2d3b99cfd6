// SPDX-License-Identifier: GPL-2.0
/*
 * Alert delivery dispatcher (see notify.h).
 *
 * libcurl's multi interface runs inside our own epoll instance: curl tells
 * us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it
 * back (CURLMOPT_TIMERFUNCTION); the agent's loop only sees one fd, the
 * epoll fd, which is readable whenever one of curl's sockets is ready.
 *
 * Coalescing: the alert state machine re-sends every firing alert each
 * resend interval, so during an outage a destination's queue would fill
 * with stale copies of the same alerts.  A new notification supersedes the
 * queued one of the same alert (same label set) that is not in flight:
 * only the latest state of each alert waits, in order.  The lookup is a
 * direct-mapped table fingerprint -> newest id per destination; a slot
 * overwritten by another alert only means a copy is not coalesced.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "alertmanager.h"
#include "hist.h"
#include "log.h"
#include "notify.h"
#include "spool.h"
#include "webhook.h"

#define EXPIRE_EVERY_NS		(10ULL * 1000000000)
#define COMMIT_RETRY_NS		(1000ULL * 1000000)
#define ERR_BODY_MAX		256
#define SECRET_MAX		4096
#define LAT_E_LO		20	/* 2^-10 s: about 1 ms */
#define LAT_E_HI		36	/* 2^6 s */

#ifndef BPFWATCH_VERSION
#define BPFWATCH_VERSION "dev"
#endif

enum dest_kind { DEST_ALERTMANAGER, DEST_WEBHOOK };

struct latest {
	uint64_t fp;		/* label set fingerprint */
	uint64_t id;		/* newest queued notification of it; 0: none */
};

struct dest {
	struct notify *n;
	enum dest_kind kind;
	char *name;			/* the endpoint URL: spool key and label */
	const struct notify_am_cfg *am;
	const struct notify_webhook_cfg *hook;
	uint64_t timeout_ms;
	struct notify_queue q;
	uint64_t live;			/* queued NOTEs still in the spool */
	/* the request in flight */
	CURL *easy;
	bool busy;
	struct curl_slist *hdrs;
	char *body;
	char *password;
	uint64_t started_ns;
	char errbuf[CURL_ERROR_SIZE];
	char resp[ERR_BODY_MAX + 1];
	size_t resp_len;
	/* retry state */
	unsigned int attempt;		/* failures since the last success */
	uint64_t next_ns;		/* no request before this */
	struct breaker br;
	bool last_failed;		/* the latest request failed */
	struct latest *latest;		/* coalescing table, latest_mask + 1 slots */
	size_t latest_mask;
	/* self-metrics */
	uint64_t superseded;
	uint64_t sent;
	uint64_t failed;
	uint64_t dropped[SPOOL_REASON__COUNT];
	struct hist lat;
};

struct notify {
	const struct notify_cfg *cfg;
	struct spool *spool;
	struct dest *dests;
	size_t ndests;
	CURLM *multi;
	int ep;
	uint64_t timer_ns;		/* curl wants a call at this time; 0: no */
	bool timer_set;
	uint64_t next_expire_ns;
	uint64_t commit_retry_ns;	/* after a failed commit */
	uint64_t unconfigured;
	uint64_t rejected;		/* enqueues refused (-E2BIG) */
	uint64_t rng;
	bool curl_init;			/* curl_global_init() to undo */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: jitter needs no cryptographic quality, just independence
 * between agents (seeded from getrandom). */
static double rnd_unit(struct notify *n)
{
	n->rng ^= n->rng >> 12;
	n->rng ^= n->rng << 25;
	n->rng ^= n->rng >> 27;
	return (double)((n->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* --- policy -------------------------------------------------------------- */

uint64_t notify_backoff_ms(unsigned int attempt, uint64_t base_ms, uint64_t cap_ms,
			   double u)
{
	uint64_t ceil = base_ms;

	if (!attempt)
		return 0;
	for (unsigned int i = 1; i < attempt && ceil < cap_ms; i++)
		ceil = ceil > cap_ms / 2 ? cap_ms : ceil * 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return (uint64_t)(u * (double)ceil);
}

enum notify_outcome notify_classify(bool transport_ok, long status)
{
	if (!transport_ok)
		return NOTIFY_RETRY;
	if (status >= 200 && status < 300)
		return NOTIFY_OK;
	if (status == 429 || status == 408 || status >= 500 || status == 0)
		return NOTIFY_RETRY;
	return NOTIFY_PERMANENT;
}

bool breaker__allow(struct breaker *b, uint64_t now_ns)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return true;
	case BREAKER_OPEN:
		if (now_ns < b->open_until_ns)
			return false;
		b->state = BREAKER_HALF_OPEN;
		return true;
	case BREAKER_HALF_OPEN:
		/* the probe is the caller's one request in flight */
		return true;
	}
	return false;
}

void breaker__success(struct breaker *b)
{
	b->state = BREAKER_CLOSED;
	b->failures = 0;
}

void breaker__failure(struct breaker *b, uint64_t now_ns)
{
	b->failures++;
	if (b->state == BREAKER_HALF_OPEN || b->failures >= b->threshold) {
		b->state = BREAKER_OPEN;
		b->open_until_ns = now_ns + b->cooldown_ns;
	}
}

/* --- queue ---------------------------------------------------------------- */

int notify_queue__init(struct notify_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->ids = calloc(cap * 2, sizeof(*q->ids));
	if (!q->ids)
		return -ENOMEM;
	q->size = cap * 2;
	q->cap = cap;
	return 0;
}

void notify_queue__free(struct notify_queue *q)
{
	free(q->ids);
	q->ids = NULL;
}

void notify_queue__push(struct notify_queue *q, uint64_t id, uint64_t *evicted)
{
	uint64_t *v;

	*evicted = 0;
	if (q->len == q->cap && q->len > q->inflight) {
		v = q->ids + q->head;
		*evicted = v[q->inflight];
		/* slide the in-flight prefix over the evicted slot */
		memmove(v + 1, v, q->inflight * sizeof(*v));
		q->head++;
		q->len--;
	}
	if (q->len == q->size) {
		/* everything is in flight (batch_size >= capacity, which the
		 * config forbids): the new one is the one that cannot stay */
		*evicted = id;
		return;
	}
	if (q->head + q->len == q->size) {
		memmove(q->ids, q->ids + q->head, q->len * sizeof(*q->ids));
		q->head = 0;
	}
	q->ids[q->head + q->len++] = id;
}

size_t notify_queue__take(struct notify_queue *q, size_t max,
			  bool (*live)(void *ctx, uint64_t id), void *ctx)
{
	uint64_t *v = q->ids + q->head;
	size_t j = 0, k = 0;

	while (k < q->len && j < max) {
		if (live(ctx, v[k]))
			v[j++] = v[k];
		k++;
	}
	memmove(v + j, v + k, (q->len - k) * sizeof(*v));
	q->len -= k - j;
	q->inflight = j;
	return j;
}

void notify_queue__done(struct notify_queue *q)
{
	q->head += q->inflight;
	q->len -= q->inflight;
	q->inflight = 0;
	if (!q->len)
		q->head = 0;
}

void notify_queue__retry(struct notify_queue *q)
{
	q->inflight = 0;
}

/* --- destinations -------------------------------------------------------- */

static struct dest *dest__find(struct notify *n, const char *name)
{
	for (size_t i = 0; i < n->ndests; i++)
		if (!strcmp(n->dests[i].name, name))
			return &n->dests[i];
	return NULL;
}

/* The spool retired a NOTE without delivery: count it where it belongs. */
static void on_drop(void *ctx, const struct spool_entry *e, enum spool_reason r)
{
	struct notify *n = ctx;
	struct dest *d = n->dests ? dest__find(n, e->dest) : NULL;

	if (!d) {
		n->unconfigured++;
		return;
	}
	if (d->live)
		d->live--;
	if (r == SPOOL_SUPERSEDED) {
		d->superseded++;
		return;
	}
	d->dropped[r]++;
	if (r != SPOOL_PERMANENT)
		pr_warn("notify: %s: notification %" PRIu64 " dropped: %s",
			d->name, e->id, spool_reason__name(r));
}

static bool id_live(void *ctx, uint64_t id)
{
	return spool__get(ctx, id) != NULL;
}

/* Fingerprint of a stored alert's labels; 0 if it does not parse. */
static uint64_t body_fingerprint(const char *body)
{
	struct cJSON *a = am__parse_alert(body, NULL, 0);
	uint64_t fp;

	if (!a)
		return 0;
	fp = webhook__alert_fingerprint(a);
	cJSON_Delete(a);
	return fp;
}

static bool dest__in_flight(const struct dest *d, uint64_t id)
{
	for (size_t i = 0; i < d->q.inflight; i++)
		if (d->q.ids[d->q.head + i] == id)
			return true;
	return false;
}

/* @id is the newest notification of alert @fp: retire the one it replaces. */
static void dest__supersede(struct dest *d, uint64_t fp, uint64_t id)
{
	struct latest *l;

	if (!fp)
		return;
	l = &d->latest[fp & d->latest_mask];
	if (l->id && l->fp == fp && !dest__in_flight(d, l->id))
		spool__ack(d->n->spool, l->id, SPOOL_SUPERSEDED);	/* -ENOENT if gone */
	l->fp = fp;
	l->id = id;
}

static void dest__queue(struct dest *d, uint64_t id, uint64_t fp)
{
	uint64_t evicted;

	dest__supersede(d, fp, id);
	notify_queue__push(&d->q, id, &evicted);
	d->live++;
	/* a stale id (already gone from the spool) is not counted twice */
	if (evicted)
		spool__ack(d->n->spool, evicted, SPOOL_QUEUE_FULL);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct dest *d = ctx;
	size_t len = size * nmemb, room = ERR_BODY_MAX - d->resp_len;

	if (room) {
		memcpy(d->resp + d->resp_len, p, len < room ? len : room);
		d->resp_len += len < room ? len : room;
		d->resp[d->resp_len] = '\0';
	}
	return len;
}

/* First line of a small secret file (password, token). */
static int read_secret(const char *path, char **out)
{
	char buf[SECRET_MAX + 1];
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, SECRET_MAX);
	err = len < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static void dest__clear_request(struct dest *d)
{
	curl_slist_free_all(d->hdrs);
	d->hdrs = NULL;
	free(d->body);
	d->body = NULL;
	if (d->password) {
		explicit_bzero(d->password, strlen(d->password));
		free(d->password);
		d->password = NULL;
	}
	d->busy = false;
}

/* Set up the transfer of the in-flight batch; 0 or -errno. */
static int dest__prepare(struct dest *d)
{
	const struct notify_am_cfg *am = d->am;
	struct curl_slist *h = NULL, *t;
	char hdr[4200];
	int err = 0;

#define ADD_HDR(s) do { t = curl_slist_append(h, (s)); if (!t) { err = -ENOMEM; goto err_free; } h = t; } while (0)
	ADD_HDR("Content-Type: application/json");
	ADD_HDR("User-Agent: bpfwatch/" BPFWATCH_VERSION);
	/* no "Expect: 100-continue" round trip for big batches */
	ADD_HDR("Expect:");
	if (d->hook)
		for (size_t i = 0; i < d->hook->nheaders; i++) {
			snprintf(hdr, sizeof(hdr), "%s: %s", d->hook->headers[i].name,
				 d->hook->headers[i].value);
			ADD_HDR(hdr);
		}
	if (am && am->bearer_token_file) {
		char *tok = NULL;

		err = read_secret(am->bearer_token_file, &tok);
		if (err) {
			pr_warn("notify: %s: bearer_token_file %s: %s", d->name,
				am->bearer_token_file, strerror(-err));
			goto err_free;
		}
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
		explicit_bzero(tok, strlen(tok));
		free(tok);
		t = curl_slist_append(h, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (!t) {
			err = -ENOMEM;
			goto err_free;
		}
		h = t;
	}
#undef ADD_HDR
	if (am && am->username) {
		if (am->password_file) {
			err = read_secret(am->password_file, &d->password);
			if (err) {
				pr_warn("notify: %s: password_file %s: %s", d->name,
					am->password_file, strerror(-err));
				goto err_free;
			}
		}
		curl_easy_setopt(d->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(d->easy, CURLOPT_USERNAME, am->username);
		curl_easy_setopt(d->easy, CURLOPT_PASSWORD, d->password ? d->password : "");
	}
	if (am) {
		if (am->ca_file)
			curl_easy_setopt(d->easy, CURLOPT_CAINFO, am->ca_file);
		if (am->insecure_skip_verify) {
			curl_easy_setopt(d->easy, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(d->easy, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	d->hdrs = h;
	curl_easy_setopt(d->easy, CURLOPT_URL, d->name);
	curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
	curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
	curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	return 0;

err_free:
	curl_slist_free_all(h);
	return err;
}

/* Start the next batch of @d if it may go now. */
static void dest__start(struct dest *d, uint64_t now)
{
	struct notify *n = d->n;
	const char *bodies[1000];
	size_t cnt, bad, max = n->cfg->batch_size;
	int err;

	if (d->busy || !d->q.len || now < d->next_ns)
		return;
	if (!breaker__allow(&d->br, now))
		return;
	if (d->br.state == BREAKER_HALF_OPEN)
		max = 1;	/* a small probe */
	for (;;) {
		cnt = notify_queue__take(&d->q, max, id_live, n->spool);
		if (!cnt)
			return;
		for (size_t i = 0; i < cnt; i++)
			bodies[i] = spool__get(n->spool, d->q.ids[d->q.head + i])->body;
		if (d->kind == DEST_ALERTMANAGER)
			d->body = am__post_body(bodies, cnt, n->cfg->external_labels,
						n->cfg->nexternal, &bad);
		else
			d->body = webhook__body(bodies, cnt, n->cfg->external_labels,
						n->cfg->nexternal, n->cfg->external_url, &bad);
		if (d->body)
			break;
		notify_queue__retry(&d->q);
		if (bad == cnt) {	/* out of memory: try again later */
			d->next_ns = now + COMMIT_RETRY_NS;
			return;
		}
		/* cannot happen unless the spool was edited: drop, say so */
		pr_err("notify: %s: spooled notification %" PRIu64 " is not an alert, dropped",
		       d->name, d->q.ids[d->q.head + bad]);
		spool__ack(n->spool, d->q.ids[d->q.head + bad], SPOOL_PERMANENT);
	}
	d->resp_len = 0;
	d->resp[0] = '\0';
	d->errbuf[0] = '\0';
	err = dest__prepare(d);
	if (!err && curl_multi_add_handle(n->multi, d->easy) != CURLM_OK)
		err = -EIO;
	if (err) {
		dest__clear_request(d);
		notify_queue__retry(&d->q);
		d->attempt++;
		d->failed += cnt;
		d->last_failed = true;
		breaker__failure(&d->br, now);
		d->next_ns = now + notify_backoff_ms(d->attempt, n->cfg->backoff_initial_ms,
						     n->cfg->backoff_max_ms, rnd_unit(n)) * 1000000ULL;
		return;
	}
	d->busy = true;
	d->started_ns = now;
}

/* A transfer of @d is over. */
static void dest__finish(struct dest *d, CURLcode rc, uint64_t now)
{
	struct notify *n = d->n;
	size_t cnt = d->q.inflight;
	long status = 0;
	enum notify_outcome o;
	uint64_t ns = now - d->started_ns;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(n->multi, d->easy);
	o = notify_classify(rc == CURLE_OK, status);
	if (rc == CURLE_OK) {
		uint64_t u = hist_ns_to_units(ns);

		d->lat.slots[hist_slot(u)]++;
		d->lat.sum_ns += ns;
	}
	if (o == NOTIFY_OK) {
		for (size_t i = 0; i < cnt; i++)
			if (!spool__ack(n->spool, d->q.ids[d->q.head + i], SPOOL_DELIVERED) &&
			    d->live)
				d->live--;
		notify_queue__done(&d->q);
		d->sent += cnt;
		d->attempt = 0;
		d->next_ns = 0;
		d->last_failed = false;
		breaker__success(&d->br);
	} else if (o == NOTIFY_PERMANENT) {
		pr_warn("notify: %s: HTTP %ld, %zu notifications dropped (not retried): %.200s",
			d->name, status, cnt, d->resp);
		d->failed += cnt;
		for (size_t i = 0; i < cnt; i++)
			spool__ack(n->spool, d->q.ids[d->q.head + i], SPOOL_PERMANENT);
		notify_queue__done(&d->q);
		d->last_failed = true;
		/* the endpoint answers: no backoff, no breaker */
	} else {
		enum breaker_state was = d->br.state;

		d->failed += cnt;
		d->attempt++;
		d->last_failed = true;
		notify_queue__retry(&d->q);
		breaker__failure(&d->br, now);
		d->next_ns = now + notify_backoff_ms(d->attempt, n->cfg->backoff_initial_ms,
						     n->cfg->backoff_max_ms, rnd_unit(n)) * 1000000ULL;
		if (rc != CURLE_OK)
			pr_warn("notify: %s: %s (attempt %u, retrying)", d->name,
				d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc), d->attempt);
		else
			pr_warn("notify: %s: HTTP %ld (attempt %u, retrying): %.200s",
				d->name, status, d->attempt, d->resp);
		/* once per outage: a failed probe only re-opens it */
		if (d->br.state == BREAKER_OPEN && was == BREAKER_CLOSED)
			pr_warn("notify: %s: circuit breaker open for %" PRIu64 " ms after %u failures",
				d->name, n->cfg->breaker_cooldown_ms, d->br.failures);
	}
	dest__clear_request(d);
}

/* --- curl <-> epoll ------------------------------------------------------ */

static int on_socket(CURL *e, curl_socket_t s, int what, void *ctx, void *sockp)
{
	struct notify *n = ctx;
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		/* curl may have closed it already: ENOENT/EBADF are fine */
		epoll_ctl(n->ep, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(n->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(n->ep, sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev)) {
		if (errno == EEXIST)
			epoll_ctl(n->ep, EPOLL_CTL_MOD, s, &ev);
		else if (errno == ENOENT)
			epoll_ctl(n->ep, EPOLL_CTL_ADD, s, &ev);
		else
			pr_err("notify: epoll_ctl on curl socket %d: %s", s, strerror(errno));
	}
	curl_multi_assign(n->multi, s, (void *)1);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ctx)
{
	struct notify *n = ctx;

	(void)m;
	if (timeout_ms < 0) {
		n->timer_set = false;
		return 0;
	}
	n->timer_set = true;
	n->timer_ns = mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	return 0;
}

static void notify__completions(struct notify *n)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(n->multi, &left))) {
		struct dest *d = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
		if (d)
			dest__finish(d, msg->data.result, mono_ns());
	}
}

/* --- public API ---------------------------------------------------------- */

static int dest__init(struct notify *n, struct dest *d, enum dest_kind kind,
		      const struct notify_am_cfg *am, const struct notify_webhook_cfg *hook)
{
	d->n = n;
	d->kind = kind;
	d->am = am;
	d->hook = hook;
	d->name = am ? am__endpoint(am->url, am->path_prefix) : strdup(hook->url);
	d->timeout_ms = am ? am->timeout_ms : hook->timeout_ms;
	d->br.threshold = n->cfg->breaker_failures;
	d->br.cooldown_ns = n->cfg->breaker_cooldown_ms * 1000000ULL;
	d->easy = curl_easy_init();
	d->latest_mask = 1;
	while (d->latest_mask < n->cfg->queue_capacity)
		d->latest_mask <<= 1;
	d->latest = calloc(d->latest_mask, sizeof(*d->latest));
	d->latest_mask--;
	if (!d->name || !d->easy || !d->latest ||
	    notify_queue__init(&d->q, n->cfg->queue_capacity))
		return -ENOMEM;
	return 0;
}

struct replay {
	uint64_t *ids;
	size_t n;
};

static void collect(const struct spool_entry *e, void *ctx)
{
	struct replay *r = ctx;

	r->ids[r->n++] = e->id;
}

/* Queue what the spool holds; what belongs to no destination is retired. */
static int notify__replay(struct notify *n)
{
	const struct spool_stats *st = spool__stats(n->spool);
	struct replay r = { .ids = calloc(st->live ? st->live : 1, sizeof(uint64_t)) };
	size_t unconf = 0;

	if (!r.ids)
		return -ENOMEM;
	spool__foreach(n->spool, collect, &r);
	for (size_t i = 0; i < r.n; i++) {
		const struct spool_entry *e = spool__get(n->spool, r.ids[i]);
		struct dest *d;

		if (!e)		/* evicted by an earlier queue overflow */
			continue;
		d = dest__find(n, e->dest);
		if (d) {
			dest__queue(d, e->id, body_fingerprint(e->body));
		} else {
			unconf++;
			spool__ack(n->spool, e->id, SPOOL_UNCONFIGURED);
		}
	}
	free(r.ids);
	if (unconf)
		pr_warn("notify: %zu spooled notifications are for destinations no longer "
			"configured: dropped", unconf);
	if (r.n)
		pr_info("notify: %zu notifications replayed from the spool", r.n - unconf);
	return 0;
}

struct notify *notify__new(const struct notify_cfg *cfg, const char *spool_dir,
			   char *why, size_t len)
{
	struct notify *n = calloc(1, sizeof(*n));
	struct spool_opts so = {
		.dir = spool_dir, .max_bytes = cfg->spool_max_bytes,
		.max_age_ms = cfg->spool_max_age_ms, .on_drop = on_drop,
	};
	size_t nd = cfg->nams + cfg->nhooks, k = 0;
	int err = -ENOMEM;

	if (!n) {
		snprintf(why, len, "notify: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	n->cfg = cfg;
	n->ep = -1;
	if (getrandom(&n->rng, sizeof(n->rng), GRND_NONBLOCK) != sizeof(n->rng) || !n->rng)
		n->rng = mono_ns() | 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(why, len, "notify: libcurl initialisation failed");
		err = -EIO;
		goto err_free;
	}
	n->curl_init = true;
	n->dests = calloc(nd ? nd : 1, sizeof(*n->dests));
	if (!n->dests)
		goto err_oom;
	for (size_t i = 0; i < cfg->nams; i++)
		if (dest__init(n, &n->dests[k++], DEST_ALERTMANAGER, &cfg->ams[i], NULL))
			goto err_oom_count;
	for (size_t i = 0; i < cfg->nhooks; i++)
		if (dest__init(n, &n->dests[k++], DEST_WEBHOOK, NULL, &cfg->hooks[i]))
			goto err_oom_count;
	n->ndests = k;
	/* the endpoint keys a destination's records in the spool */
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(n->dests[i].name, n->dests[j].name)) {
				snprintf(why, len, "notify: two destinations post to %s",
					 n->dests[i].name);
				err = -EINVAL;
				goto err_free;
			}
	n->ep = epoll_create1(EPOLL_CLOEXEC);
	n->multi = curl_multi_init();
	if (n->ep < 0 || !n->multi) {
		err = n->ep < 0 ? -errno : -ENOMEM;
		snprintf(why, len, "notify: set up the event loop: %s", strerror(-err));
		goto err_free;
	}
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	so.ctx = n;
	n->spool = spool__open(&so, why, len);
	if (!n->spool) {
		err = -errno;
		goto err_free;
	}
	err = notify__replay(n);
	if (err)
		goto err_oom;
	/* retirements of the replay become durable now */
	notify__commit(n);
	return n;

err_oom_count:
	n->ndests = k;
err_oom:
	snprintf(why, len, "notify: out of memory");
	err = -ENOMEM;
err_free:
	notify__free(n);
	errno = -err;
	return NULL;
}

void notify__free(struct notify *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->ndests; i++) {
		struct dest *d = &n->dests[i];

		if (d->busy)
			curl_multi_remove_handle(n->multi, d->easy);
		dest__clear_request(d);
		if (d->easy)
			curl_easy_cleanup(d->easy);
		notify_queue__free(&d->q);
		free(d->latest);
		free(d->name);
	}
	free(n->dests);
	if (n->multi)
		curl_multi_cleanup(n->multi);
	if (n->curl_init)
		curl_global_cleanup();
	if (n->ep >= 0)
		close(n->ep);
	spool__free(n->spool);
	free(n);
}

int notify__enqueue(struct notify *n, const struct notify_alert *a)
{
	int64_t now = unix_ms();
	char *body = am__alert_json(a);
	uint64_t fp;
	int err = 0;

	if (!body)
		return -errno;
	fp = webhook__fingerprint(a->labels, a->nlabels);
	for (size_t i = 0; i < n->ndests; i++) {
		struct dest *d = &n->dests[i];
		uint64_t id;

		err = spool__append(n->spool, d->name, now, body, strlen(body), &id);
		if (err) {
			if (err == -E2BIG) {
				d->dropped[SPOOL_FULL]++;
				n->rejected++;
			}
			pr_warn("notify: %s: cannot spool a notification: %s", d->name,
				strerror(-err));
			continue;
		}
		dest__queue(d, id, fp);
	}
	free(body);
	return err;
}

int notify__commit(struct notify *n)
{
	int err = spool__commit(n->spool);

	if (err) {
		pr_err("notify: spool commit failed: %s (retrying)", strerror(-err));
		n->commit_retry_ns = mono_ns() + COMMIT_RETRY_NS;
	} else {
		n->commit_retry_ns = 0;
	}
	return err;
}

int notify__fd(const struct notify *n)
{
	return n->ep;
}

static uint64_t min_ns(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

int notify__timeout_ms(const struct notify *n)
{
	uint64_t now = mono_ns(), at = 0;

	if (spool__dirty(n->spool))
		at = n->commit_retry_ns ? n->commit_retry_ns : now;
	if (n->timer_set)
		at = min_ns(at, n->timer_ns ? n->timer_ns : now);
	for (size_t i = 0; i < n->ndests; i++) {
		const struct dest *d = &n->dests[i];
		uint64_t t;

		if (d->busy || !d->q.len)
			continue;
		t = d->next_ns ? d->next_ns : now;
		if (d->br.state == BREAKER_OPEN && d->br.open_until_ns > t)
			t = d->br.open_until_ns;
		at = min_ns(at, t);
	}
	if (n->cfg->spool_max_age_ms && spool__stats(n->spool)->live)
		at = min_ns(at, n->next_expire_ns ? n->next_expire_ns : now);
	if (!at)
		return -1;
	if (at <= now)
		return 0;
	/* round up: waking early would only spin once more */
	return (int)((at - now + 999999) / 1000000 > 600000 ? 600000 :
		     (at - now + 999999) / 1000000);
}

void notify__run(struct notify *n)
{
	struct epoll_event evs[16];
	uint64_t now;
	int running, cnt;

	cnt = epoll_wait(n->ep, evs, 16, 0);
	for (int i = 0; i < cnt; i++) {
		int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			    (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			    (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		curl_multi_socket_action(n->multi, evs[i].data.fd, flags, &running);
	}
	now = mono_ns();
	if (n->timer_set && now >= n->timer_ns) {
		n->timer_set = false;
		curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	notify__completions(n);
	now = mono_ns();
	if (n->cfg->spool_max_age_ms && now >= n->next_expire_ns) {
		spool__expire(n->spool, unix_ms());
		n->next_expire_ns = now + EXPIRE_EVERY_NS;
	}
	/* durable before it leaves: what is sent is in the spool */
	if (spool__dirty(n->spool) && (!n->commit_retry_ns || now >= n->commit_retry_ns))
		notify__commit(n);
	for (size_t i = 0; i < n->ndests; i++)
		dest__start(&n->dests[i], now);
	/* drops made while starting */
	if (spool__dirty(n->spool) && !n->commit_retry_ns)
		notify__commit(n);
}

size_t notify__pending(const struct notify *n)
{
	size_t total = 0;

	for (size_t i = 0; i < n->ndests; i++)
		total += n->dests[i].live;
	return total;
}

/* --- self-metrics --------------------------------------------------------- */

size_t notify__ndests(const struct notify *n)
{
	return n->ndests;
}

void notify__dest_stats(const struct notify *n, size_t i, struct notify_dest_stats *st)
{
	const struct dest *d = &n->dests[i];

	st->name = d->name;
	st->webhook = d->kind == DEST_WEBHOOK;
	st->up = d->br.state == BREAKER_CLOSED && !d->last_failed;
	st->sent = d->sent;
	st->failed = d->failed;
	st->dropped_expired = d->dropped[SPOOL_EXPIRED];
	st->dropped_spool_full = d->dropped[SPOOL_FULL];
	st->dropped_queue_full = d->dropped[SPOOL_QUEUE_FULL];
	st->dropped_permanent = d->dropped[SPOOL_PERMANENT];
	st->superseded = d->superseded;
	st->queue_length = d->live;
	st->latency = &d->lat;
}

static void per_dest(struct strbuf *b, const struct notify *n, const char *name,
		     enum metric_type type, const char *help, size_t off)
{
	expo__family(b, name, type, help);
	for (size_t i = 0; i < n->ndests; i++) {
		const struct dest *d = &n->dests[i];
		struct label l = { "destination", d->name };

		expo__sample(b, name, &l, 1, (double)*(const uint64_t *)((const char *)d + off));
	}
}

void notify__expose(const struct notify *n, struct strbuf *b)
{
	const struct spool_stats *st = spool__stats(n->spool);
	static const enum spool_reason reasons[] = {
		SPOOL_EXPIRED, SPOOL_FULL, SPOOL_QUEUE_FULL, SPOOL_PERMANENT,
	};
	const char *nm;
	struct label l[2];

	per_dest(b, n, "bpfwatch_notifications_sent_total", METRIC_COUNTER,
		 "Notifications delivered (2xx), by destination.",
		 offsetof(struct dest, sent));
	per_dest(b, n, "bpfwatch_notifications_failed_total", METRIC_COUNTER,
		 "Notifications in requests that failed (each retry counts again).",
		 offsetof(struct dest, failed));
	nm = "bpfwatch_notifications_dropped_total";
	expo__family(b, nm, METRIC_COUNTER,
		     "Notifications given up without delivery, by destination and reason.");
	for (size_t i = 0; i < n->ndests; i++) {
		l[0].name = "destination";
		l[0].value = n->dests[i].name;
		l[1].name = "reason";
		for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++) {
			l[1].value = spool_reason__name(reasons[r]);
			expo__sample(b, nm, l, 2, (double)n->dests[i].dropped[reasons[r]]);
		}
	}
	l[0].value = "";
	l[1].value = spool_reason__name(SPOOL_UNCONFIGURED);
	expo__sample(b, nm, l, 2, (double)n->unconfigured);
	per_dest(b, n, "bpfwatch_notifications_superseded_total", METRIC_COUNTER,
		 "Queued notifications replaced by a newer one of the same alert "
		 "before they were sent (not a loss: the newest state is sent).",
		 offsetof(struct dest, superseded));
	per_dest(b, n, "bpfwatch_notifications_queue_length", METRIC_GAUGE,
		 "Notifications waiting for delivery, by destination.",
		 offsetof(struct dest, live));

	nm = "bpfwatch_notification_latency_seconds";
	expo__family(b, nm, METRIC_HISTOGRAM,
		     "Duration of delivery requests that got an HTTP answer.");
	for (size_t i = 0; i < n->ndests; i++) {
		const struct dest *d = &n->dests[i];
		uint64_t cum = 0, total = 0;
		uint32_t slot = 0;
		char le[32];

		for (uint32_t s = 0; s < HIST_SLOTS; s++)
			total += d->lat.slots[s];
		l[0].name = "destination";
		l[0].value = d->name;
		l[1].name = "le";
		l[1].value = le;
		for (uint32_t e = LAT_E_LO; e <= LAT_E_HI; e++) {
			for (uint32_t end = hist_slots_below_exp2(e); slot < end; slot++)
				cum += d->lat.slots[slot];
			expo__format_double(le, sizeof(le), ldexp(1.0, (int)e - 30));
			expo__sample(b, "bpfwatch_notification_latency_seconds_bucket", l, 2,
				     (double)cum);
		}
		snprintf(le, sizeof(le), "+Inf");
		expo__sample(b, "bpfwatch_notification_latency_seconds_bucket", l, 2,
			     (double)total);
		expo__sample(b, "bpfwatch_notification_latency_seconds_sum", l, 1,
			     (double)d->lat.sum_ns / 1e9);
		expo__sample(b, "bpfwatch_notification_latency_seconds_count", l, 1,
			     (double)total);
	}

	nm = "bpfwatch_alertmanager_up";
	expo__family(b, nm, METRIC_GAUGE,
		     "0 while the destination's circuit breaker is open or its latest "
		     "request failed, else 1 (Alertmanagers and webhooks).");
	for (size_t i = 0; i < n->ndests; i++) {
		struct notify_dest_stats ds;

		notify__dest_stats(n, i, &ds);
		l[0].name = "destination";
		l[0].value = ds.name;
		expo__sample(b, nm, l, 1, ds.up ? 1 : 0);
	}

	expo__family(b, "bpfwatch_notification_spool_bytes", METRIC_GAUGE,
		     "Size of the notification spool's segment files.");
	expo__sample(b, "bpfwatch_notification_spool_bytes", NULL, 0, (double)st->file_bytes);
	expo__family(b, "bpfwatch_notification_spool_records", METRIC_GAUGE,
		     "Notifications held in the spool (not yet delivered nor dropped).");
	expo__sample(b, "bpfwatch_notification_spool_records", NULL, 0, (double)st->live);
	expo__family(b, "bpfwatch_notification_spool_torn_tails_total", METRIC_COUNTER,
		     "Torn records (crash mid-write) truncated when the spool was opened.");
	expo__sample(b, "bpfwatch_notification_spool_torn_tails_total", NULL, 0,
		     (double)st->torn_tails);
	expo__family(b, "bpfwatch_notification_spool_corrupt_segments_total", METRIC_COUNTER,
		     "Spool segments set aside as *.corrupt when the spool was opened.");
	expo__sample(b, "bpfwatch_notification_spool_corrupt_segments_total", NULL, 0,
		     (double)st->corrupt_segments);
	expo__family(b, "bpfwatch_notification_spool_commits_total", METRIC_COUNTER,
		     "Spool commits made durable (one fdatasync each).");
	expo__sample(b, "bpfwatch_notification_spool_commits_total", NULL, 0,
		     (double)st->commits);
	expo__family(b, "bpfwatch_notification_spool_write_errors_total", METRIC_COUNTER,
		     "Spool commits that failed (retried).");
	expo__sample(b, "bpfwatch_notification_spool_write_errors_total", NULL, 0,
		     (double)st->write_errors);
}
