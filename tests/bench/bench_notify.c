// SPDX-License-Identifier: GPL-2.0
/*
 * bench_notify: alert delivery throughput and latency.
 *
 *   bench_notify [-d DIR] [-n N] [-b BATCH] [-a ALERTMANAGER_URL] [-m M]
 *
 * (1) Throughput: N notifications (default 20000) enqueued BATCH at a time
 *     (default 64), each batch committed to the spool with one fdatasync,
 *     delivered by the dispatcher to a minimal HTTP receiver served in the
 *     same epoll loop (so the figure is the dispatcher's and the spool's,
 *     not a slow peer's).  Reports notifications/s, fsyncs (spool commits,
 *     acknowledgements included) and enqueue-to-receipt latency
 *     percentiles measured per notification.
 * (2) With -a: M (default 50) single alerts, one at a time, to a real
 *     Alertmanager: time from enqueue (spool commit included) to
 *     Alertmanager's 2xx answer.
 *
 * The spool lives in DIR (default: a fresh directory under $OUT or .), on
 * a real disk, so the fsyncs cost what they cost.  A benchmark, not a
 * test: it fails only if the notifications do not all arrive.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#define MAX_CONNS	16
#define CONN_BUF	(16U << 20)

struct conn {
	int fd;
	char *buf;
	size_t len;
};

struct bench {
	int lfd;
	struct conn conns[MAX_CONNS];
	double *t_enq;		/* by seq */
	double *lat;		/* receipt - enqueue, by arrival */
	size_t nlat;
	size_t n;
	size_t received;
	size_t requests;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

/* Count the alerts of one request body and their latencies. */
static void on_request(struct bench *b, const char *body, size_t len)
{
	cJSON *arr = cJSON_ParseWithLength(body, len), *a;
	double t = now_s();

	b->requests++;
	cJSON_ArrayForEach(a, arr) {
		cJSON *seq = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "labels"), "seq");
		long i;

		if (!cJSON_IsString(seq))
			continue;
		i = strtol(seq->valuestring, NULL, 10);
		if (i < 0 || (size_t)i >= b->n)
			continue;
		b->lat[b->nlat++] = t - b->t_enq[i];
		b->received++;
	}
	cJSON_Delete(arr);
}

/* Serve what @c holds: complete requests get "200 OK" (keep-alive). */
static int conn_serve(struct bench *b, struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	for (;;) {
		char *end, *cl;
		size_t hdr, blen = 0;

		c->buf[c->len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
		if (!end)
			return 0;
		hdr = (size_t)(end - c->buf) + 4;
		*end = '\0';
		cl = strcasestr(c->buf, "\r\nContent-Length:");
		if (cl)
			blen = strtoul(cl + 17, NULL, 10);
		*end = '\r';
		if (c->len < hdr + blen)
			return 0;
		on_request(b, c->buf + hdr, blen);
		if (write(c->fd, ok, sizeof(ok) - 1) != sizeof(ok) - 1)
			return -EIO;
		memmove(c->buf, c->buf + hdr + blen, c->len - hdr - blen);
		c->len -= hdr + blen;
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = 0;
}

static void on_event(struct bench *b, int ep, int fd)
{
	if (fd == b->lfd) {
		int cfd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = cfd };

		for (int i = 0; cfd >= 0 && i < MAX_CONNS; i++) {
			if (b->conns[i].fd >= 0)
				continue;
			b->conns[i].fd = cfd;
			b->conns[i].buf = malloc(CONN_BUF + 1);
			if (!b->conns[i].buf || epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev))
				conn_close(&b->conns[i]);
			return;
		}
		if (cfd >= 0)
			close(cfd);
		return;
	}
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &b->conns[i];
		ssize_t r;

		if (c->fd != fd)
			continue;
		r = read(fd, c->buf + c->len, CONN_BUF - c->len);
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		c->len += (size_t)r;
		if (conn_serve(b, c) || c->len == CONN_BUF)
			conn_close(c);
		return;
	}
}

static int listen_local(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		perror("bench_notify: listen");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static void enqueue(struct notify *n, size_t seq, const char *name)
{
	char s[32];
	struct label l[3] = {
		{ "alertname", name }, { "seq", s }, { "severity", "bench" },
	};
	struct label ann = { "summary", "bpfwatch notification benchmark" };
	struct notify_alert a = {
		.labels = l, .nlabels = 3, .annotations = &ann, .nannotations = 1,
		.generator_url = "http://bench/graph",
	};
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	a.starts_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	a.ends_at_ms = a.starts_at_ms + 300000;
	snprintf(s, sizeof(s), "%zu", seq);
	if (notify__enqueue(n, &a)) {
		fprintf(stderr, "bench_notify: enqueue failed\n");
		exit(1);
	}
}

/* A sample of the dispatcher's own metrics. */
static double self_metric(const struct notify *n, const char *name)
{
	struct strbuf sb;
	char key[128], *p;
	double v = -1;

	/* the sample line, not the HELP/TYPE lines that name it too */
	snprintf(key, sizeof(key), "\n%s ", name);
	strbuf__init(&sb);
	notify__expose(n, &sb);
	if (!sb.oom && (p = strstr(sb.buf, key)))
		v = strtod(p + strlen(key), NULL);
	strbuf__free(&sb);
	return v;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static struct notify *open_notify(struct notify_cfg *cfg, const char *yml,
				  const char *dir)
{
	char err[4096];
	struct notify *n;

	notify_cfg__init(cfg);
	if (notify_cfg__parse_text(cfg, "bench", yml, strlen(yml), err, sizeof(err))) {
		fprintf(stderr, "bench_notify: %s\n", err);
		exit(1);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	n = notify__new(cfg, dir, err, sizeof(err));
	if (!n) {
		fprintf(stderr, "bench_notify: %s\n", err);
		exit(1);
	}
	return n;
}

static int throughput(const char *dir, size_t total, size_t batch)
{
	struct bench b = { .n = total };
	struct epoll_event ev = { .events = EPOLLIN };
	struct notify_cfg cfg;
	struct notify *n;
	char yml[512];
	uint16_t port;
	size_t enq = 0;
	double t0, t1, c0;
	int ep;

	b.t_enq = calloc(total, sizeof(double));
	b.lat = calloc(total, sizeof(double));
	if (!b.t_enq || !b.lat)
		return 1;
	for (int i = 0; i < MAX_CONNS; i++)
		b.conns[i].fd = -1;
	b.lfd = listen_local(&port);
	snprintf(yml, sizeof(yml),
		 "alerting:\n"
		 "  alertmanagers: [ { url: 'http://127.0.0.1:%u' } ]\n"
		 "  delivery: { batch_size: 64, queue_capacity: %zu }\n",
		 port, total + 128);
	n = open_notify(&cfg, yml, dir);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = b.lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, b.lfd, &ev);
	ev.data.fd = notify__fd(n);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);

	c0 = self_metric(n, "bpfwatch_notification_spool_commits_total");
	t0 = now_s();
	while (b.received < total) {
		struct epoll_event evs[16];
		int cnt, timeout = notify__timeout_ms(n);

		/* a producer that keeps up to 1024 in flight, BATCH per commit */
		if (enq < total && notify__pending(n) < 1024) {
			size_t k = batch < total - enq ? batch : total - enq;

			for (size_t i = 0; i < k; i++) {
				b.t_enq[enq] = now_s();
				enqueue(n, enq++, "BwBench");
			}
			notify__commit(n);
			timeout = 0;
		}
		if (now_s() - t0 > 600) {
			fprintf(stderr, "bench_notify: only %zu of %zu arrived in 600 s\n",
				b.received, total);
			return 1;
		}
		cnt = epoll_wait(ep, evs, 16, timeout < 0 || timeout > 100 ? 100 : timeout);
		for (int i = 0; i < cnt; i++)
			if (evs[i].data.fd != notify__fd(n))
				on_event(&b, ep, evs[i].data.fd);
		notify__run(n);
	}
	t1 = now_s();
	/* let the last acknowledgements reach the spool */
	while (notify__pending(n)) {
		epoll_wait(ep, &ev, 1, 10);
		notify__run(n);
	}
	qsort(b.lat, b.nlat, sizeof(double), cmp_d);
	printf("Spool -> local HTTP receiver, %zu notifications per enqueue commit\n", batch);
	printf("  %-50s %zu in %.3f s\n", "notifications delivered", b.received, t1 - t0);
	printf("  %-50s %.0f /s\n", "throughput (spool + HTTP POST + ack)",
	       (double)b.received / (t1 - t0));
	printf("  %-50s %zu (%.1f alerts per POST)\n", "POST requests", b.requests,
	       (double)b.received / (double)b.requests);
	printf("  %-50s %.0f (%.3f per notification)\n", "spool fdatasyncs (enqueue + ack commits)",
	       self_metric(n, "bpfwatch_notification_spool_commits_total") - c0,
	       (self_metric(n, "bpfwatch_notification_spool_commits_total") - c0) /
	       (double)b.received);
	printf("  %-50s %.2f / %.2f / %.2f / %.2f ms\n",
	       "enqueue -> receipt p50 / p90 / p99 / max",
	       pct(b.lat, b.nlat, 0.5) * 1e3, pct(b.lat, b.nlat, 0.9) * 1e3,
	       pct(b.lat, b.nlat, 0.99) * 1e3, b.lat[b.nlat - 1] * 1e3);
	notify__free(n);
	notify_cfg__free(&cfg);
	for (int i = 0; i < MAX_CONNS; i++)
		if (b.conns[i].fd >= 0)
			conn_close(&b.conns[i]);
	close(b.lfd);
	close(ep);
	free(b.t_enq);
	free(b.lat);
	return 0;
}

static int to_alertmanager(const char *dir, const char *url, size_t m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct notify_cfg cfg;
	struct notify *n;
	double *lat = calloc(m, sizeof(double));
	char yml[512];
	int ep;

	if (!lat)
		return 1;
	snprintf(yml, sizeof(yml), "alerting:\n  alertmanagers: [ { url: '%s' } ]\n", url);
	n = open_notify(&cfg, yml, dir);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = notify__fd(n);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	for (size_t i = 0; i < m; i++) {
		double t0 = now_s();

		enqueue(n, i, "BwBenchAm");
		notify__commit(n);
		notify__run(n);
		while (notify__pending(n)) {
			int t = notify__timeout_ms(n);

			if (now_s() - t0 > 60) {
				fprintf(stderr, "bench_notify: %s did not take alert %zu in 60 s\n",
					url, i);
				return 1;
			}
			epoll_wait(ep, &ev, 1, t < 0 || t > 100 ? 100 : t);
			notify__run(n);
		}
		lat[i] = now_s() - t0;
	}
	qsort(lat, m, sizeof(double), cmp_d);
	printf("%s\n", "Alertmanager (real), one alert at a time");
	printf("  %-50s %s\n", "destination", url);
	printf("  %-50s %.2f / %.2f / %.2f ms (n=%zu)\n",
	       "enqueue+fsync -> Alertmanager 2xx p50 / p90 / max",
	       pct(lat, m, 0.5) * 1e3, pct(lat, m, 0.9) * 1e3, lat[m - 1] * 1e3, m);
	notify__free(n);
	notify_cfg__free(&cfg);
	close(ep);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *am = NULL;
	size_t total = 20000, batch = 64, m = 50;
	char buf[4096];
	int c, rc;

	while ((c = getopt(argc, argv, "d:n:b:a:m:")) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'a': am = optarg; break;
		case 'm': m = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [-d DIR] [-n N] [-b BATCH] [-a URL] [-m M]\n",
				argv[0]);
			return 64;
		}
	}
	if (!total || !batch || !m) {
		fprintf(stderr, "bench_notify: -n, -b and -m must be positive\n");
		return 64;
	}
	if (!dir) {
		snprintf(buf, sizeof(buf), "%s/bench-notify-spool.%d",
			 getenv("OUT") ? getenv("OUT") : ".", (int)getpid());
		dir = buf;
	}
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	rc = throughput(dir, total, batch);
	if (!rc && am)
		rc = to_alertmanager(dir, am, m);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
