// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: the rule engine at scale.  10 000 series with an hour of
 * 15 s samples (241 per series) in the agent's own store, and 1 000 rules
 * in 10 groups (alerting and recording; rate, histogram_quantile,
 * *_over_time, aggregations, comparisons) loaded from a rule file by the
 * agent's own rule engine; every rule evaluated at each of the last
 * rounds.  Prints the time of a full evaluation round (target: well under
 * the 15 s interval) and the store's memory per series (malloc'ed bytes,
 * mallinfo2, measured around filling the store).
 *
 * A benchmark: nothing fails on a figure; it exits non-zero only when
 * something could not be set up.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "ruleeng.h"
#include "store.h"

#define STEP_MS		15000
#define CAPACITY	241		/* 1 h of 15 s samples, both ends */
#define ROUNDS		5		/* evaluation rounds timed */
#define INSTANCES	100
#define PATHS		50		/* requests: INSTANCES x PATHS = 5000 */
#define QUEUES		37		/* queue depth: 3700 */
#define NLE		11		/* latency buckets incl. +Inf: 1100, + 200 */

static const char *const les[NLE] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: what an evaluation costs, whatever else the
 * machine is doing (wall time is printed next to it). */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fams {
	struct store_family *req, *lat, *queue;
};

/* One tick's samples of every series: counters grow at per-series rates
 * with a little noise; queue depths wander. */
static int append_tick(struct store *s, const struct fams *f, int64_t ts, int k)
{
	char inst[16], path[16], q[16];
	int n = 0;

	if (store__begin_tick(s, ts))
		return -1;
	for (int i = 0; i < INSTANCES; i++) {
		struct label l[2] = { { "instance", inst }, { "path", path } };
		double seen = 0;

		snprintf(inst, sizeof(inst), "i%d", i);
		for (int p = 0; p < PATHS; p++) {
			snprintf(path, sizeof(path), "/p%d", p);
			n += !store__append(s, f->req, "", l, 2,
					    (double)k * (1 + i % 7 + p % 5) * 15 + rand() % 3);
		}
		for (int b = 0; b < NLE; b++) {
			struct label lb[2] = { { "instance", inst }, { "le", les[b] } };

			seen += (double)k * (b + 1) * (1 + i % 3);
			n += !store__append(s, f->lat, "_bucket", lb, 2, seen);
		}
		n += !store__append(s, f->lat, "_sum", l, 1, (double)k * 12.5 * (1 + i % 3));
		n += !store__append(s, f->lat, "_count", l, 1, seen);
		l[1].name = "queue";
		l[1].value = q;
		for (int j = 0; j < QUEUES; j++) {
			snprintf(q, sizeof(q), "q%d", j);
			n += !store__append(s, f->queue, "", l, 2,
					    (double)((k * 7 + i * 13 + j * 29) % 200));
		}
	}
	return n;
}

/* 10 groups of 100 rules, the shapes real rule files have. */
static int write_rules(const char *path)
{
	FILE *out = fopen(path, "w");

	if (!out)
		return -errno;
	fprintf(out, "groups:\n");
	for (int g = 0; g < 10; g++) {
		fprintf(out, "  - name: g%d\n    rules:\n", g);
		for (int r = 0; r < 100; r++) {
			int id = g * 100 + r;

			switch (r % 5) {
			case 0:
				fprintf(out, "      - record: instance:requests:rate5m_%d\n"
					"        expr: sum by (instance) (rate(bench_requests_total"
					"{path=\"/p%d\"}[5m]))\n", id, id % PATHS);
				break;
			case 1:
				fprintf(out, "      - alert: HighRequestRate%d\n"
					"        expr: sum by (instance) (rate(bench_requests_total"
					"{path=~\"/p%d.*\"}[5m])) > %d\n        for: 5m\n"
					"        labels: { severity: warning }\n"
					"        annotations: { summary: \"{{ $labels.instance }}: "
					"{{ $value | humanize }} req/s\" }\n", id, id % 10, 50 + id % 100);
				break;
			case 2:
				fprintf(out, "      - alert: SlowP99_%d\n"
					"        expr: histogram_quantile(0.99, sum by (le, instance) "
					"(rate(bench_latency_seconds_bucket[5m]))) > %g\n"
					"        for: 10m\n", id, 0.5 + (id % 10) / 10.0);
				break;
			case 3:
				fprintf(out, "      - alert: QueueBacklog%d\n"
					"        expr: avg_over_time(bench_queue_depth{queue=\"q%d\"}"
					"[10m]) > %d\n", id, id % QUEUES, 100 + id % 50);
				break;
			default:
				fprintf(out, "      - record: instance:latency:mean5m_%d\n"
					"        expr: rate(bench_latency_seconds_sum[5m]) / "
					"rate(bench_latency_seconds_count[5m]) > %g\n",
					id, (id % 10) / 100.0);
				break;
			}
		}
	}
	return fclose(out) ? -errno : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	char dir[] = "/tmp/bpfwatch-bench-rules.XXXXXX", rules[128], cfgtext[512];
	char err[8192];
	struct mallinfo2 m0, m1;
	struct fams f;
	struct store *s;
	struct config *cfg;
	struct ruleeng *re;
	double t[ROUNDS], w[ROUNDS], t0, w0;
	int64_t ts = 1700000000000LL;
	int k = 0, n = 0;

	log_set_level(LOG_WARN);
	if (!mkdtemp(dir)) {
		perror("bench_rules: mkdtemp");
		return 1;
	}
	snprintf(rules, sizeof(rules), "%s/rules.yml", dir);
	if (write_rules(rules)) {
		perror("bench_rules: writing the rule file");
		return 1;
	}
	snprintf(cfgtext, sizeof(cfgtext),
		 "global:\n  collection_interval: 15s\n  evaluation_interval: 15s\n"
		 "  retention: 1h\n  max_series: 100000\nstate_dir: %s\nrule_files: [%s]\n",
		 dir, rules);
	cfg = config__parse("bench.yml", cfgtext, strlen(cfgtext), err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "bench_rules: config: %s\n", err);
		return 1;
	}
	m0 = mallinfo2();
	s = store__new(CAPACITY, 100000);
	f.req = s ? store__family(s, "bench_requests_total", METRIC_COUNTER, "Requests.") : NULL;
	f.lat = s ? store__family(s, "bench_latency_seconds", METRIC_HISTOGRAM, "Latency.") : NULL;
	f.queue = s ? store__family(s, "bench_queue_depth", METRIC_GAUGE, "Depth.") : NULL;
	if (!f.req || !f.lat || !f.queue) {
		fprintf(stderr, "bench_rules: store: %s\n", strerror(errno));
		return 1;
	}
	t0 = now_s();
	for (k = 0; k < CAPACITY; k++, ts += STEP_MS) {
		n = append_tick(s, &f, ts, k);
		store__end_tick(s);
	}
	m1 = mallinfo2();
	fprintf(stderr, "bench: store filled: %u series x %d samples in %.1f s\n",
		store__series_count(s), CAPACITY, now_s() - t0);

	re = ruleeng__new(cfg, err, sizeof(err));
	if (!re) {
		fprintf(stderr, "bench_rules: rules: %s\n", err);
		return 1;
	}
	/* A warm-up round, then ROUNDS timed ones, each on a new tick. */
	for (int r = -1; r < ROUNDS; r++, k++, ts += STEP_MS) {
		append_tick(s, &f, ts, k);
		t0 = cpu_s();
		w0 = now_s();
		ruleeng__eval(re, s, ts);
		if (r >= 0) {
			t[r] = cpu_s() - t0;
			w[r] = now_s() - w0;
		}
		store__end_tick(s);
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
	qsort(w, ROUNDS, sizeof(w[0]), cmp_double);

	printf("\n## Rule engine: %zu rules in %zu groups over %d series with 1 h of 15 s samples\n",
	       ruleeng__nrules(re), ruleeng__ngroups(re), n);
	printf("# one round = every rule evaluated once at one tick; %d rounds after a warm-up\n",
	       ROUNDS);
	printf("%-44s %s\n", "metric", "value");
	printf("%-44s %.1f / %.1f / %.1f ms\n", "evaluation round, CPU: min / median / max",
	       t[0] * 1e3, t[ROUNDS / 2] * 1e3, t[ROUNDS - 1] * 1e3);
	printf("%-44s %.1f / %.1f / %.1f ms\n", "evaluation round, wall: min / median / max",
	       w[0] * 1e3, w[ROUNDS / 2] * 1e3, w[ROUNDS - 1] * 1e3);
	printf("%-44s %.1f us\n", "CPU per rule (median round / rules)",
	       t[ROUNDS / 2] * 1e6 / (double)ruleeng__nrules(re));
	printf("%-44s %.2f %% of the 15 s interval\n", "median round (CPU) vs interval",
	       100 * t[ROUNDS / 2] / 15.0);
	printf("%-44s %u (of which rule outputs: %u)\n", "series in the store",
	       store__series_count(s), store__series_count(s) - (unsigned)n);
	printf("%-44s %.0f bytes (%d samples x 8 = %d of them)\n",
	       "store memory per series (malloc'ed)",
	       (double)(m1.uordblks - m0.uordblks) / n, CAPACITY, CAPACITY * 8);
	ruleeng__free(re);
	store__free(s);
	config__free(cfg);
	unlink(rules);
	snprintf(rules, sizeof(rules), "%s/alerts.state", dir);
	unlink(rules);
	rmdir(dir);
	return 0;
}
