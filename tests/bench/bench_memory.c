// SPDX-License-Identifier: GPL-2.0
/*
 * bench_memory: what the always-on memory probe (probes.memory,
 * bpf/memstat.bpf.c on kmem:rss_stat) costs the processes it watches.
 *
 * kmem:rss_stat fires on every change of an mm's RSS counters: every page
 * fault that maps a page, and each batch of pages unmapped.  The worst
 * case is a process faulting in fresh anonymous memory page after page,
 * so the workload is: mmap -m MiB of anonymous memory (4 KiB pages,
 * MADV_NOHUGEPAGE: one fault per page), write one byte per page, munmap.
 * Three configurations, alternated every round so drift hits them alike:
 *   untraced    no program on the hook
 *   empty       an empty tp_btf program on rss_stat (the floor any
 *               program on this hook costs)
 *   memstat     the memory probe as the agent loads it (memprobe__new)
 * For each: the workload's CPU ns per page (its thread's CPU time, which
 * includes the fault handling and the BPF program; median of -r rounds),
 * and for the two traced ones the in-kernel ns per event from BPF stats
 * (run_time_ns / run_cnt), which the agent keeps enabled, so they are on
 * in every round.  The programs see every process's events: events/page
 * counts those of the rest of the machine too.
 *
 * A benchmark, not a test: nothing fails on a time.  It exits non-zero
 * only when something could not be measured (not root, no attach).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "empty.skel.h"

#include "config.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "memprobe.h"

#define MAX_ROUNDS 64

enum conf { UNTRACED = 0, EMPTY, MEMSTAT, CONF__COUNT };

static const char *const conf_names[CONF__COUNT] = {
	[UNTRACED] = "untraced", [EMPTY] = "empty prog", [MEMSTAT] = "memstat",
};

struct result {
	double ns_per_page;
	uint64_t runs, run_ns;	/* BPF stats over the round */
};

/* CPU time of this thread: page faults are handled on it, and unlike the
 * wall clock it does not count the time other load on the machine (two
 * cores shared by several people) keeps it off the CPU. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Where a round's BPF stats come from: an empty program's fd, or the
 * memory probe; neither when untraced. */
struct traced {
	int fd;
	struct memprobe *mp;
};

static int prog_runs(const struct traced *t, uint64_t *cnt, uint64_t *ns)
{
	struct bpf_prog_info info = {};
	struct probe_prog_stats st;
	__u32 len = sizeof(info);

	*cnt = *ns = 0;
	if (t->mp) {
		if (memprobe__prog_stats(t->mp, &st, 1) != 1)
			return -ENOENT;
		*cnt = st.run_cnt;
		*ns = st.run_time_ns;
	} else if (t->fd >= 0) {
		if (bpf_obj_get_info_by_fd(t->fd, &info, &len))
			return -errno;
		*cnt = info.run_cnt;
		*ns = info.run_time_ns;
	}
	return 0;
}

/* Fault in @bytes of fresh anonymous memory page by page; ns taken. */
static int fault_in(size_t bytes, uint64_t *ns)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t t0;
	char *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	t0 = cpu_ns();
	for (size_t i = 0; i < bytes; i += (size_t)page)
		((volatile char *)p)[i] = 1;
	munmap(p, bytes);
	*ns = cpu_ns() - t0;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One round under @t. */
static int run(size_t bytes, const struct traced *t, struct result *r)
{
	uint64_t c0, n0, c1, n1, ns = 0;
	int err;

	err = prog_runs(t, &c0, &n0);
	if (!err)
		err = fault_in(bytes, &ns);
	if (!err)
		err = prog_runs(t, &c1, &n1);
	if (err)
		return err;
	r->ns_per_page = (double)ns / (double)(bytes / (size_t)sysconf(_SC_PAGESIZE));
	r->runs = c1 - c0;
	r->run_ns = n1 - n0;
	return 0;
}

static int attach_empty(struct empty_bpf **skel, struct bpf_link **link)
{
	struct bpf_program *prog;
	int err;

	*skel = empty_bpf__open();
	if (!*skel)
		return -errno;
	bpf_object__for_each_program(prog, (*skel)->obj)
		bpf_program__set_autoload(prog, prog == (*skel)->progs.empty_sys_enter);
	err = bpf_program__set_attach_target((*skel)->progs.empty_sys_enter, 0,
					     "rss_stat");
	if (!err)
		err = empty_bpf__load(*skel);
	if (!err) {
		*link = bpf_program__attach((*skel)->progs.empty_sys_enter);
		if (!*link)
			err = -errno;
	}
	return err;
}

static void report(struct result res[CONF__COUNT][MAX_ROUNDS], unsigned int rounds,
		   size_t mib)
{
	double page[CONF__COUNT], ev[CONF__COUNT], per_page[CONF__COUNT];
	double v[MAX_ROUNDS];

	for (int cf = 0; cf < CONF__COUNT; cf++) {
		for (unsigned int r = 0; r < rounds; r++)
			v[r] = res[cf][r].ns_per_page;
		page[cf] = median(v, rounds);
		for (unsigned int r = 0; r < rounds; r++)
			v[r] = res[cf][r].runs ? (double)res[cf][r].run_ns /
						 (double)res[cf][r].runs : 0;
		ev[cf] = median(v, rounds);
		for (unsigned int r = 0; r < rounds; r++)
			v[r] = (double)res[cf][r].runs / (double)((mib << 20) / 4096);
		per_page[cf] = median(v, rounds);
	}
	printf("# workload: fault in %zu MiB of 4 KiB anonymous pages, then munmap; "
	       "median of %u rounds; BPF stats on\n", mib, rounds);
	printf("# ns/page: the workload thread's CPU time; events: every process's\n");
	printf("%-12s %12s %22s %12s %14s\n", "config", "ns/page", "vs untraced",
	       "events/page", "BPF ns/event");
	for (int cf = 0; cf < CONF__COUNT; cf++) {
		char over[32] = "-", evs[32] = "-", epp[32] = "-";

		if (cf != UNTRACED) {
			snprintf(over, sizeof(over), "%+.1f ns (%+.1f%%)",
				 page[cf] - page[UNTRACED],
				 100 * (page[cf] - page[UNTRACED]) / page[UNTRACED]);
			snprintf(evs, sizeof(evs), "%.1f", ev[cf]);
			snprintf(epp, sizeof(epp), "%.3f", per_page[cf]);
		}
		printf("%-12s %12.1f %22s %12s %14s\n", conf_names[cf], page[cf], over,
		       epp, evs);
	}
	printf("# memstat over the empty floor: %+.1f ns per event in the kernel\n",
	       ev[MEMSTAT] - ev[EMPTY]);
}

int main(int argc, char **argv)
{
	struct result res[CONF__COUNT][MAX_ROUNDS];
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	unsigned int rounds = 9;
	size_t mib = 256;
	struct features feat;
	char why[256];
	int c, stats_fd;

	while ((c = getopt(argc, argv, "r:m:h")) != -1) {
		switch (c) {
		case 'r': rounds = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'm': mib = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_memory [-r ROUNDS (1..%d)] [-m MiB]\n",
				MAX_ROUNDS);
			return 2;
		}
	}
	if (!rounds || rounds > MAX_ROUNDS || !mib) {
		fprintf(stderr, "bench_memory: -r 1..%d, -m > 0\n", MAX_ROUNDS);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_memory: needs root\n");
		return 1;
	}
	libbpf_glue__init();
	log_set_level(LOG_WARN);
	tracefs__ensure(why, sizeof(why));
	features__probe(&feat);
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "bench_memory: BPF stats: %s\n", strerror(errno));
		return 1;
	}

	for (unsigned int r = 0; r < rounds; r++) {
		for (int k = 0; k < CONF__COUNT; k++) {
			enum conf cf = (enum conf)((k + r) % CONF__COUNT);
			struct empty_bpf *skel = NULL;
			struct bpf_link *link = NULL;
			struct traced t = { .fd = -1 };
			int err = 0;

			if (cf == EMPTY) {
				err = attach_empty(&skel, &link);
				if (!err)
					t.fd = bpf_program__fd(skel->progs.empty_sys_enter);
			} else if (cf == MEMSTAT) {
				t.mp = memprobe__new(&cfg, &feat);
				if (!t.mp || !memprobe__attached(t.mp) ||
				    strcmp(memprobe__attach_type(t.mp), "tp_btf"))
					err = -ENOENT;
			}
			if (!err)
				err = run(mib << 20, &t, &res[cf][r]);
			bpf_link__destroy(link);
			empty_bpf__destroy(skel);
			memprobe__free(t.mp);
			if (err) {
				fprintf(stderr, "bench_memory: %s: %s\n", conf_names[cf],
					strerror(-err));
				return 1;
			}
		}
	}
	close(stats_fd);
	report(res, rounds, mib);
	return 0;
}
