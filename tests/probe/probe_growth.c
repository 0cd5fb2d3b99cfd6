// SPDX-License-Identifier: GPL-2.0
/*
 * Probe test for growth attribution by code path (bpf/memgrowth.bpf.c,
 * agent/growthpaths.c): load the real program on this kernel, run the
 * memgrow workload leaking from leak_alloc(), and check that the agent
 * attributes the growth to a path naming leak_alloc, with about the bytes
 * the workload leaked.  Needs root.
 *
 * Tolerance: each page touched by leak_alloc is one user page fault (the
 * blocks are mmap'd by malloc, no fault-around on anonymous memory), and
 * the sampling stride is exact per CPU, but other processes' faults on the
 * same CPU shift it: with sample_every 1 the bytes must be within a factor
 * 2 of the leak, with a stride of 16 (about 200 samples) within 4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "bpfutil.h"
#include "config.h"
#include "growthpaths.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "memprobe.h"
#include "store.h"

static struct features feat;
static char workload[PATH_MAX];

struct wl {
	pid_t pid;
	FILE *out;
};

static void wl_start(struct wl *w, const char *const *args)
{
	const char *argv[16] = { "memgrow" };
	char line[64];
	int out[2], n = 1;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execv(workload, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	w->out = fdopen(out[0], "r");
	assert_non_null(w->out);
	if (!fgets(line, sizeof(line), w->out) || strcmp(line, "ready\n"))
		fail_msg("workload %s did not start", workload);
}

static void wl_stop(struct wl *w)
{
	int st;

	kill(w->pid, SIGKILL);
	assert_int_equal(waitpid(w->pid, &st, 0), w->pid);
	fclose(w->out);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Leak 3 s at 4 MiB/s from leak_alloc, feeding the analyzer every 250 ms
 * as the agent would, then hold: the top path must name leak_alloc and
 * carry the leak's bytes within @factor.
 */
static void check_leak(enum feature want, uint32_t every, double factor)
{
	struct memory_cfg cfg = {
		.enabled = true,
		.growth = { .enabled = true, .sample_every = every, .top_k = 5 },
	};
	const char *args[] = { "leak", "4096", "3", "30", NULL };
	struct features f = feat;
	struct growthpaths *gp;
	struct gp_path top[5];
	struct mem_proc proc = { .key = 1 };
	unsigned long long leaked;
	char line[64];
	struct wl w;
	size_t n;

	for (int i = 0; i < (int)want; i++)
		f.ok[i] = false;
	gp = growthpaths__new(&cfg, &f, 60000, -1);
	assert_non_null(gp);
	if (!growthpaths__attached(gp))
		fail_msg("not attached: %s", growthpaths__reason(gp));
	assert_string_equal(growthpaths__attach_type(gp), feature__name(want));
	wl_start(&w, args);
	proc.tgid = (uint32_t)w.pid;
	snprintf(proc.comm, sizeof(proc.comm), "memgrow");
	for (int i = 0; i < 16; i++) {
		assert_int_equal(growthpaths__update(gp, &proc, 1, bw_mono_ns() / 1000000), 0);
		sleep_ms(250);
	}
	if (!fgets(line, sizeof(line), w.out) || sscanf(line, "leaked %llu", &leaked) != 1)
		fail_msg("workload did not report its leak");
	assert_int_equal(growthpaths__update(gp, &proc, 1, bw_mono_ns() / 1000000), 0);
	n = growthpaths__top(gp, proc.tgid, top, 5);
	wl_stop(&w);
	for (size_t i = 0; i < n; i++)
		print_message("  %s: %llu bytes\n", top[i].path,
			      (unsigned long long)top[i].bytes);
	assert_true(n >= 1);
	if (!strstr(top[0].path, "leak_alloc"))
		fail_msg("top path '%s' does not name leak_alloc", top[0].path);
	if (top[0].bytes < leaked / factor || top[0].bytes > leaked * factor)
		fail_msg("top path has %llu bytes, the workload leaked %llu",
			 (unsigned long long)top[0].bytes, leaked);
	/* never an address: no "0x" in any label */
	for (size_t i = 0; i < n; i++)
		assert_null(strstr(top[i].path, "0x"));
	growthpaths__free(gp);
}

static void test_tp_btf(void **state)
{
	(void)state;
	check_leak(FEAT_TP_BTF, 1, 2);
}

static void test_raw_tp(void **state)
{
	(void)state;
	check_leak(FEAT_RAW_TP, 1, 2);
}

static void test_tracepoint(void **state)
{
	(void)state;
	check_leak(FEAT_TRACEPOINT, 1, 2);
}

static void test_sampled(void **state)
{
	(void)state;
	check_leak(FEAT_TP_BTF, 16, 4);
}

struct series_find {
	const char *name, *label, *want;
	int hits;
	double v;
};

static void series_cb(const struct store_series_view *sv, void *ctx)
{
	struct series_find *sf = ctx;

	if (strcmp(sv->name, sf->name))
		return;
	for (size_t i = 0; i < sv->nlabels; i++)
		if (!strcmp(sv->labels[i].name, sf->label) &&
		    strstr(sv->labels[i].value, sf->want)) {
			sf->hits++;
			sf->v = sv->value;
		}
}

/* Samples of a process the memory probe does not list are not attributed,
 * and are counted; the tracked one is exported with its comm. */
static void test_export_untracked(void **state)
{
	struct memory_cfg cfg = {
		.enabled = true,
		.growth = { .enabled = true, .sample_every = 1, .top_k = 2 },
	};
	const char *args[] = { "leak", "4096", "2", "30", NULL };
	struct series_find lost = { "bpfwatch_memory_growth_path_lost_total",
				    "reason", "untracked_process", 0, 0 };
	struct series_find path = { "bpfwatch_memory_growth_path_bytes",
				    "path", "leak_alloc", 0, 0 };
	struct mem_proc proc = { .key = 1 };
	struct growthpaths *gp;
	struct store *s;
	struct wl w;

	(void)state;
	gp = growthpaths__new(&cfg, &feat, 60000, -1);
	s = store__new(16, 1000);
	assert_non_null(gp);
	assert_non_null(s);
	wl_start(&w, args);
	proc.tgid = (uint32_t)w.pid;
	snprintf(proc.comm, sizeof(proc.comm), "bw-grow-test");
	for (int i = 0; i < 12; i++) {
		assert_int_equal(growthpaths__update(gp, &proc, 1, bw_mono_ns() / 1000000), 0);
		sleep_ms(250);
	}
	/* labels are made at export, from the live process's maps */
	store__begin_tick(s, 1000);
	assert_int_equal(growthpaths__export(gp, s, NULL), 0);
	store__end_tick(s);
	wl_stop(&w);
	store__foreach(s, NULL, series_cb, &lost);
	store__foreach(s, NULL, series_cb, &path);
	assert_int_equal(lost.hits, 1);
	/* everything else faulting on this machine meanwhile */
	assert_true(lost.v > 0);
	assert_int_equal(path.hits, 1);
	assert_true(path.v > 0);
	store__free(s);
	growthpaths__free(gp);
}

/*
 * With memory probe targets, the growth program shares the memory probe's
 * in-kernel target set: the targeted workload's faults are attributed, and
 * this process's own (listed too, but not a target) are not even sampled.
 */
static void test_targets(void **state)
{
	struct memory_cfg cfg = {
		.enabled = true, .max_entries = 16384,
		.growth = { .enabled = true, .sample_every = 1, .top_k = 5 },
	};
	const char *args[] = { "leak", "4096", "2", "30", NULL };
	struct mem_proc procs[2] = { { .key = 1 }, { .key = 2 } };
	struct growthpaths *gp;
	struct memprobe *mp;
	struct gp_path top[5];
	struct wl w;
	void *volatile mine;

	(void)state;
	cfg.targets.set = true;
	mp = memprobe__new(&cfg, &feat);
	assert_non_null(mp);
	assert_true(memprobe__attached(mp));
	assert_true(memprobe__targets_fd(mp) >= 0);
	gp = growthpaths__new(&cfg, &feat, 60000, memprobe__targets_fd(mp));
	assert_non_null(gp);
	assert_true(growthpaths__attached(gp));
	wl_start(&w, args);
	assert_int_equal(memprobe__add_target(mp, (uint32_t)w.pid), 0);
	/* sorted by tgid, as memprobe__procs() gives them */
	procs[0].tgid = (uint32_t)getpid();
	procs[1].tgid = (uint32_t)w.pid;
	if (procs[1].tgid < procs[0].tgid) {
		procs[0].tgid = (uint32_t)w.pid;
		procs[1].tgid = (uint32_t)getpid();
	}
	for (int i = 0; i < 12; i++) {
		/* 4 MiB of our own faults per round, not a target */
		mine = malloc(4 << 20);
		assert_non_null(mine);
		memset(mine, 1, 4 << 20);
		free(mine);
		assert_int_equal(growthpaths__update(gp, procs, 2, bw_mono_ns() / 1000000), 0);
		sleep_ms(250);
	}
	assert_true(growthpaths__top(gp, (uint32_t)w.pid, top, 5) >= 1);
	if (!strstr(top[0].path, "leak_alloc"))
		fail_msg("targeted workload's top path '%s'", top[0].path);
	assert_int_equal(growthpaths__top(gp, (uint32_t)getpid(), top, 5), 0);
	wl_stop(&w);
	growthpaths__free(gp);
	memprobe__free(mp);
}

static void find_workload(void)
{
	char self[PATH_MAX], *out;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0) {
		perror("readlink /proc/self/exe");
		exit(1);
	}
	self[n] = '\0';
	out = dirname(dirname(self));	/* .output/<flavour> */
	snprintf(workload, sizeof(workload), "%s/workloads/memgrow", out);
	if (access(workload, X_OK)) {
		fprintf(stderr, "%s: %s (run 'make build-tests')\n", workload,
			strerror(errno));
		exit(1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tp_btf),
		cmocka_unit_test(test_raw_tp),
		cmocka_unit_test(test_tracepoint),
		cmocka_unit_test(test_sampled),
		cmocka_unit_test(test_export_untracked),
		cmocka_unit_test(test_targets),
	};
	char why[256];

	if (geteuid() != 0) {
		fprintf(stderr, "probe tests need root\n");
		return 1;
	}
	find_workload();
	libbpf_glue__init();
	log_set_level(LOG_WARN);
	tracefs__ensure(why, sizeof(why));
	features__probe(&feat);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
