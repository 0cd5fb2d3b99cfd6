// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfwatch trace func BINARY:SYMBOL`: a quick look at one function's
 * latency in the terminal, like funclatency, using the agent's own
 * function probe (same BPF programs, same histogram).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "hist.h"

#include "cmds.h"
#include "config.h"
#include "funcprobe.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"

static const char trace_usage[] =
"usage: bpfwatch trace func BINARY:SYMBOL [--pid N] [--duration 10s]\n"
"       bpfwatch trace func --pid N SYMBOL\n"
"\n"
"Time every call of SYMBOL in BINARY (a path, or a library name such as\n"
"libc.so.6) with a uprobe and a uretprobe, show a live progress line, and\n"
"print the latency histogram at the end (after --duration, default 10s,\n"
"or at Ctrl-C).  --pid restricts tracing to one process.\n"
"\n"
"Cost: every call of a traced function traps into the kernel (about 5 us\n"
"per call on typical VMs): tracing a hot function slows it down.\n";

/* Value (seconds) at quantile @q, interpolated inside the fine slot. */
static double quantile(const struct hist *h, uint64_t total, double q)
{
	double want = q * (double)total, cum = 0;

	for (uint32_t i = 0; i < HIST_SLOTS; i++) {
		double lo, hi;

		if (!h->slots[i] || cum + (double)h->slots[i] < want) {
			cum += (double)h->slots[i];
			continue;
		}
		lo = (double)hist_slot_lower(i);
		hi = i + 1 < HIST_SLOTS ? (double)hist_slot_lower(i + 1) : lo;
		return (lo + (hi - lo) * (want - cum) / (double)h->slots[i]) /
		       (double)HIST_UNITS_PER_SEC;
	}
	return NAN;
}

static void fmt_seconds(double s, char *buf, size_t len)
{
	if (isnan(s))
		snprintf(buf, len, "-");
	else if (s < 1e-6)
		snprintf(buf, len, "%.0f ns", s * 1e9);
	else if (s < 1e-3)
		snprintf(buf, len, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.3f s", s);
}

/* One row per power of two that holds calls, with a bar. */
static void print_hist(const struct hist *h, uint64_t total)
{
	uint64_t rows[HIST_MAX_EXP + 1] = { 0 }, max = 0;
	int first = -1, last = -1;

	for (uint32_t i = 0; i < HIST_SLOTS; i++) {
		uint32_t e = i < HIST_SUB ? (i ? hist_msb64(i) : 0) :
			     i >= HIST_OVERFLOW ? HIST_MAX_EXP :
			     i / HIST_SUB + HIST_SUB_BITS - 1;

		rows[e] += h->slots[i];
	}
	for (int e = 0; e <= HIST_MAX_EXP; e++) {
		if (!rows[e])
			continue;
		if (first < 0)
			first = e;
		last = e;
		if (rows[e] > max)
			max = rows[e];
	}
	printf("\n%21s : %-10s %s\n", "latency", "calls", "distribution");
	for (int e = first; e >= 0 && e <= last; e++) {
		char lo[32], hi[32];
		int bar = max ? (int)((rows[e] * 40 + max - 1) / max) : 0;

		fmt_seconds(ldexp(1.0, e - 30), lo, sizeof(lo));
		if (e == HIST_MAX_EXP)
			snprintf(hi, sizeof(hi), "inf");
		else
			fmt_seconds(ldexp(1.0, e + 1 - 30), hi, sizeof(hi));
		printf("%9s -> %-9s : %-10llu |%-40.*s|\n", lo, hi,
		       (unsigned long long)rows[e], bar,
		       "****************************************");
	}
	if (total) {
		char p50[32], p90[32], p99[32], avg[32];

		fmt_seconds(quantile(h, total, 0.5), p50, sizeof(p50));
		fmt_seconds(quantile(h, total, 0.9), p90, sizeof(p90));
		fmt_seconds(quantile(h, total, 0.99), p99, sizeof(p99));
		fmt_seconds((double)h->sum_ns / 1e9 / (double)total, avg, sizeof(avg));
		printf("\ncalls %llu, avg %s, p50 %s, p90 %s, p99 %s\n",
		       (unsigned long long)total, avg, p50, p90, p99);
	}
}

static int trace_func(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct func_cfg fn = { .kind = FUNC_UPROBE };
	struct funcprobe_status st;
	struct funcprobe *fp = NULL;
	struct features feat;
	struct hist *h = NULL;
	uint64_t dur_ms = 10000, calls = 0;
	char *spec, *colon, why[256];
	struct timespec t0, now;
	sigset_t mask;
	int c, sfd = -1, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:h", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'p':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > 4194304) {
				fprintf(stderr, "bpfwatch trace func: --pid: invalid pid '%s'\n",
					optarg);
				return 2;
			}
			fn.pid = (uint32_t)v;
			break;
		case 'd':
			if (config__parse_duration(optarg, &dur_ms) || !dur_ms) {
				fprintf(stderr, "bpfwatch trace func: --duration: expected a "
					"duration such as 10s or 1m, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(trace_usage, stdout);
			return 0;
		default:
			fputs(trace_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(trace_usage, stderr);
		return 2;
	}
	spec = argv[optind];
	colon = strrchr(spec, ':');
	if (colon) {
		*colon = '\0';
		fn.binary = spec;
		fn.symbol = colon + 1;
	} else if (fn.pid) {
		fn.symbol = spec;
	}
	if (!fn.symbol || !*fn.symbol || (fn.binary && !*fn.binary)) {
		fprintf(stderr, "bpfwatch trace func: expected BINARY:SYMBOL (or SYMBOL "
			"with --pid), got '%s'\n", argv[optind]);
		return 2;
	}
	fn.name = fn.symbol;

	log_set_level(LOG_WARN);
	libbpf_glue__init();
	if (tracefs__ensure(why, sizeof(why)))
		pr_debug("%s", why);
	features__probe(&feat);
	fp = funcprobe__new(&fn, 1, &feat);
	if (!fp) {
		fprintf(stderr, "bpfwatch trace func: loading the function probe failed: "
			"%s\n", strerror(errno));
		return 1;
	}
	funcprobe__status(fp, 0, &st);
	if (!st.attached) {
		fprintf(stderr, "bpfwatch trace func: %s\n", st.reason);
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto out;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	fprintf(stderr, "tracing %s in %s%s (%.1f s, Ctrl-C to stop early)\n",
		st.function, st.binary, fn.pid ? " for one pid" : "",
		(double)dur_ms / 1e3);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		double elapsed;
		char p50[32];

		if (poll(&pfd, 1, 1000) > 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (double)(now.tv_sec - t0.tv_sec) +
			  (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (funcprobe__read(fp, 0, h, &calls) == 0) {
			fmt_seconds(calls ? quantile(h, calls, 0.5) : NAN, p50, sizeof(p50));
			if (isatty(STDERR_FILENO))
				fprintf(stderr, "\r%6.1fs  %llu calls  p50 %s   ", elapsed,
					(unsigned long long)calls, p50);
		}
		if (elapsed * 1000 >= (double)dur_ms)
			break;
	}
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	if (funcprobe__read(fp, 0, h, &calls)) {
		fprintf(stderr, "bpfwatch trace func: reading the histogram failed\n");
		goto out;
	}
	printf("%s in %s\n", st.function, st.binary);
	if (!calls)
		printf("no calls seen\n");
	else
		print_hist(h, calls);
	rc = 0;
out:
	if (sfd >= 0)
		close(sfd);
	free(h);
	funcprobe__free(fp);
	return rc;
}

int cmd_trace(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "func") == 0)
		return trace_func(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(trace_usage, stdout);
		return 0;
	}
	fputs(trace_usage, stderr);
	return 2;
}
