/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Durable alert delivery: the dispatcher.
 *
 * notify__enqueue() spools one NOTE per destination (every Alertmanager
 * and every webhook gets every alert) and queues it; notify__run()
 * commits the spool (one fdatasync for everything enqueued or acked since
 * the last run), then POSTs batches with libcurl's multi interface.  All
 * I/O is non-blocking and driven by the caller's epoll loop, like
 * http.h: poll notify__fd() for readability, wait at most
 * notify__timeout_ms(), call notify__run() when either fires.  The spool
 * and the password/token files are the only blocking I/O (local files).
 *
 * A notification supersedes the queued, not yet sent one of the same
 * alert (same label set) for the same destination: only the newest state
 * of each alert waits (counted in bpfwatch_notifications_superseded_total).
 *
 * Per destination: one request in flight (so order is kept), batches of
 * batch_size, retries with exponential backoff and full jitter, and a
 * circuit breaker (open after breaker_failures consecutive failures; one
 * probe request after breaker_cooldown).  2xx acks the batch; 4xx but
 * 429 drops it (permanent, counted); 5xx, 429 and network errors retry.
 *
 * On start-up the spool is replayed: what was not acknowledged is sent
 * again (Alertmanager deduplicates).  Re-sending firing alerts every
 * resend interval and resolved ones for 15 minutes is the alert state
 * machine's job: it calls notify__enqueue() each time.
 */
#ifndef BPFWATCH_NOTIFY_H
#define BPFWATCH_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alertmanager.h"
#include "expo.h"
#include "notify_config.h"

struct notify;
struct hist;

/*
 * Open the spool in @spool_dir (replaying it) and set up one destination
 * per configured Alertmanager and webhook.  @cfg is copied from as needed
 * and must outlive the dispatcher (it is borrowed).  NULL with errno set
 * and @why filled on failure.
 */
struct notify *notify__new(const struct notify_cfg *cfg, const char *spool_dir,
			   char *why, size_t len);
/* Stops transfers; what was not committed is lost like in a crash, what
 * was committed is sent after the next start. */
void notify__free(struct notify *n);

/*
 * Queue @a for every destination; durable once notify__run() (or
 * notify__commit()) has committed.  0, or -EINVAL (no labels), -ENOMEM,
 * -E2BIG (over the spool's limits: counted as dropped spool_full).
 */
int notify__enqueue(struct notify *n, const struct notify_alert *a);
/* Make everything enqueued so far durable now (one fdatasync). */
int notify__commit(struct notify *n);

int notify__fd(const struct notify *n);
/* Milliseconds until notify__run() must be called, or -1. */
int notify__timeout_ms(const struct notify *n);
void notify__run(struct notify *n);

/* Notifications not yet delivered nor dropped, over every destination. */
size_t notify__pending(const struct notify *n);

/* One destination's self-metrics (borrowed: valid until notify__free). */
struct notify_dest_stats {
	const char *name;		/* endpoint URL, the `destination` label */
	bool webhook;			/* else an Alertmanager */
	bool up;			/* breaker closed, latest request (if any) ok */
	uint64_t sent;
	uint64_t failed;
	uint64_t dropped_expired;
	uint64_t dropped_spool_full;
	uint64_t dropped_queue_full;
	uint64_t dropped_permanent;
	uint64_t superseded;		/* replaced by a newer copy: not lost */
	uint64_t queue_length;
	const struct hist *latency;	/* bpf/hist.h, request durations */
};

size_t notify__ndests(const struct notify *n);
/* Fill @st for destination @i < notify__ndests(). */
void notify__dest_stats(const struct notify *n, size_t i, struct notify_dest_stats *st);

/* Self-metrics in the text exposition format (HELP/TYPE included):
 * append them to the /metrics body after the store's families. */
void notify__expose(const struct notify *n, struct strbuf *b);

/* --- policy, exposed for the unit tests ---------------------------------- */

/* Full jitter: u * min(cap, base * 2^(attempt-1)), u in [0, 1). */
uint64_t notify_backoff_ms(unsigned int attempt, uint64_t base_ms, uint64_t cap_ms,
			   double u);

enum notify_outcome {
	NOTIFY_OK,		/* 2xx */
	NOTIFY_RETRY,		/* network error, 5xx, 429, 408 */
	NOTIFY_PERMANENT,	/* other 4xx, and 1xx/3xx that curl did not follow */
};

/* @transport_ok: the transfer completed (curl said CURLE_OK). */
enum notify_outcome notify_classify(bool transport_ok, long http_status);

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	enum breaker_state state;
	unsigned int failures;		/* consecutive */
	unsigned int threshold;
	uint64_t cooldown_ns;
	uint64_t open_until_ns;
};

/* May a request start at @now?  Moves OPEN to HALF_OPEN once the
 * cool-down is over (then exactly one request is the probe). */
bool breaker__allow(struct breaker *b, uint64_t now_ns);
void breaker__success(struct breaker *b);
void breaker__failure(struct breaker *b, uint64_t now_ns);

/*
 * A destination's FIFO of spool ids, bounded by @cap.  The first
 * @inflight entries are in the request being sent.
 */
struct notify_queue {
	uint64_t *ids;
	size_t head;
	size_t len;
	size_t size;		/* allocated slots (2 * cap) */
	size_t cap;
	size_t inflight;
};

int notify_queue__init(struct notify_queue *q, size_t cap);
void notify_queue__free(struct notify_queue *q);
/* Append @id; when full, the oldest entry not in flight is removed first
 * and returned in *evicted (0 when nothing was; @id itself if every slot
 * is in flight).  Never allocates: the storage is sized at init. */
void notify_queue__push(struct notify_queue *q, uint64_t id, uint64_t *evicted);
/* Mark up to @max ids in flight, dropping on the way those @live says are
 * gone; returns how many are in flight. */
size_t notify_queue__take(struct notify_queue *q, size_t max,
			  bool (*live)(void *ctx, uint64_t id), void *ctx);
/* The request is over: remove the in-flight ids (delivered or dropped). */
void notify_queue__done(struct notify_queue *q);
/* The request failed and will be retried: they stay at the head. */
void notify_queue__retry(struct notify_queue *q);

#endif /* BPFWATCH_NOTIFY_H */
