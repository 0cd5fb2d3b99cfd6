// SPDX-License-Identifier: GPL-2.0
/*
 * bench_leaks: what `bpfwatch leaks` costs the traced process, in ns per
 * malloc(64) + free() pair of this very process (libc's allocator), for:
 *   untraced
 *   empty uprobe on malloc and on free (bpf/calib.bpf.c): the trap floor
 *   empty uprobe + uretprobe on malloc, uprobe on free: the same traps as
 *   the leaks probe, no work
 *   the leaks probe (agent/allocprobe.c), every allocation recorded
 *   the leaks probe, byte-weighted sampling at 512 KiB (64-byte blocks are
 *   then almost never recorded: what is left is the traps)
 *
 *   bench_leaks [-n PAIRS] [-r ROUNDS]     (defaults 20000, 5)
 *
 * With BPF run-time stats on, the in-kernel time per run of the leaks
 * probe's programs is shown too: the work the probe adds inside the trap.
 *
 * Configurations are attached one at a time and alternated between rounds
 * so drift hits them alike; the median and the minimum of the rounds are
 * shown.  A benchmark, not a test: nothing fails on a time; it exits
 * non-zero only when something could not be attached (needs root).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "calib.skel.h"

#include "allocprobe.h"
#include "bpfutil.h"
#include "funcprobe.h"
#include "libbpf_glue.h"
#include "log.h"

enum bench_config { UNTRACED, EMPTY_ENTRY, EMPTY_PAIR, LEAKS, LEAKS_SAMPLED, NCONFIG };

static const char *const names[NCONFIG] = {
	"untraced",
	"empty uprobe on malloc and free",
	"empty uprobe+uretprobe malloc, uprobe free",
	"leaks probe, every allocation",
	"leaks probe, --sample-bytes 512KiB",
};

void *volatile sink;

static double pairs_ns(unsigned long n)
{
	uint64_t t0 = bw_mono_ns();

	for (unsigned long i = 0; i < n; i++) {
		sink = malloc(64);
		free(sink);
	}
	return (double)(bw_mono_ns() - t0) / (double)n;
}

struct empty {
	struct calib_bpf *skel;
	struct bpf_link *l[3];
};

static int empty_attach(struct empty *e, bool ret, const char *path,
			size_t off_malloc, size_t off_free)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);
	pid_t pid = getpid();

	memset(e, 0, sizeof(*e));
	e->skel = calib_bpf__open_and_load();
	if (!e->skel)
		return -errno;
	e->l[0] = bpf_program__attach_uprobe_opts(e->skel->progs.calib_uprobe, pid,
						  path, off_malloc, &o);
	e->l[1] = bpf_program__attach_uprobe_opts(e->skel->progs.calib_uprobe, pid,
						  path, off_free, &o);
	if (ret) {
		o.retprobe = true;
		e->l[2] = bpf_program__attach_uprobe_opts(e->skel->progs.calib_uretprobe,
							  pid, path, off_malloc, &o);
	}
	if (!e->l[0] || !e->l[1] || (ret && !e->l[2]))
		return -errno ? -errno : -EINVAL;
	return 0;
}

static void empty_detach(struct empty *e)
{
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(e->l[i]);
	calib_bpf__destroy(e->skel);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long n = 20000, rounds = 5;
	double *res[NCONFIG];
	uint64_t runs[NCONFIG] = {}, run_ns[NCONFIG] = {};
	char *libc = NULL, why[768], err[1024];
	size_t off_malloc, off_free;
	int c, rc = 1, stats_fd;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: bench_leaks [-n PAIRS] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (!n || !rounds || rounds > 1000) {
		fprintf(stderr, "bench_leaks: -n and -r must be positive (-r <= 1000)\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	libbpf_glue__init();
	if (funcprobe__locate("libc.so.6", (uint32_t)getpid(), "malloc", &libc,
			      &off_malloc, why, sizeof(why))) {
		fprintf(stderr, "bench_leaks: %s\n", why);
		return 1;
	}
	free(libc);
	if (funcprobe__locate("libc.so.6", (uint32_t)getpid(), "free", &libc,
			      &off_free, why, sizeof(why))) {
		fprintf(stderr, "bench_leaks: %s\n", why);
		return 1;
	}
	for (int k = 0; k < NCONFIG; k++) {
		res[k] = calloc(rounds, sizeof(double));
		if (!res[k]) {
			fprintf(stderr, "bench_leaks: out of memory\n");
			return 1;
		}
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	pairs_ns(n / 10 + 1);	/* warm the allocator's caches */
	for (unsigned long r = 0; r < rounds; r++) {
		for (int k = 0; k < NCONFIG; k++) {
			struct allocprobe_opts ao = { .pid = (uint32_t)getpid() };
			struct allocprobe *ap = NULL;
			struct empty e = {};
			int e_err = 0;

			switch (k) {
			case EMPTY_ENTRY:
			case EMPTY_PAIR:
				e_err = empty_attach(&e, k == EMPTY_PAIR, libc,
						     off_malloc, off_free);
				break;
			case LEAKS:
			case LEAKS_SAMPLED:
				ao.sample_bytes = k == LEAKS_SAMPLED ? 512 * 1024 : 0;
				ap = allocprobe__new(&ao, err, sizeof(err));
				if (!ap) {
					fprintf(stderr, "bench_leaks: %s\n", err);
					e_err = -1;
				}
				break;
			default:
				break;
			}
			if (e_err) {
				if (k == EMPTY_ENTRY || k == EMPTY_PAIR)
					fprintf(stderr, "bench_leaks: attaching empty uprobes "
						"to %s: %s\n", libc, strerror(-e_err));
				goto out;
			}
			res[k][r] = pairs_ns(n);
			if (k == EMPTY_ENTRY || k == EMPTY_PAIR)
				empty_detach(&e);
			if (ap) {
				uint64_t cnt, t;

				allocprobe__prog_runs(ap, &cnt, &t);
				runs[k] += cnt;
				run_ns[k] += t;
			}
			allocprobe__free(ap);
		}
	}
	printf("## bench_leaks: ns per malloc(64)+free() pair in this process "
	       "(%lu pairs x %lu rounds)\n", n, rounds);
	printf("%-46s %12s %12s %12s\n", "configuration", "median ns", "min ns",
	       "vs untraced");
	for (int k = 0; k < NCONFIG; k++)
		qsort(res[k], rounds, sizeof(double), cmp_double);
	for (int k = 0; k < NCONFIG; k++) {
		double med = res[k][rounds / 2], base = res[UNTRACED][rounds / 2];

		printf("%-46s %12.1f %12.1f %11.1fx\n", names[k], med, res[k][0],
		       base > 0 ? med / base : 0);
	}
	for (int k = LEAKS; k <= LEAKS_SAMPLED; k++)
		if (runs[k] && run_ns[k])
			printf("%-46s in-kernel %.0f ns per program run (%.1f runs per "
			       "pair; BPF stats)\n", names[k],
			       (double)run_ns[k] / (double)runs[k],
			       (double)runs[k] / ((double)n * (double)rounds));
	if (stats_fd < 0)
		printf("(BPF run-time stats unavailable: %s)\n", strerror(-stats_fd));
	rc = 0;
out:
	if (stats_fd >= 0)
		close(stats_fd);
	for (int k = 0; k < NCONFIG; k++)
		free(res[k]);
	free(libc);
	return rc;
}
