// SPDX-License-Identifier: GPL-2.0
/*
 * Probe tests of the GC pause probe: the real BPF object through
 * gcprobe__new()/gcprobe__tick(), discovering runtimes the way the agent
 * does.  Needs root.
 *
 *   python  this test binary carries python:gc__start/gc__done USDT notes
 *           (sys/sdt.h), so discovery classifies it as a CPython and
 *           attaches it; the test then fires known "collections".
 *   go      tests/workloads/fakego looks like a Go 1.22 binary (build
 *           info, runtime.{stop,start}TheWorldWithSema, stwReason in AX);
 *           it is started after the probe, found at its exec, released.
 * Then the store must hold exactly what was fired, per generation or
 * stop-the-world reason, and the error counters what was malformed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sdt.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gcprobe.h"
#include "kfeatures.h"
#include "labeler.h"
#include "libbpf_glue.h"
#include "log.h"
#include "store.h"

#define COMM "bwgc-probe"

static struct features feat;
static char workload[PATH_MAX];
static int64_t tick_ms = 1;

/* ---- this binary as a python ------------------------------------------ */

__attribute__((noinline)) static void gc_begin(int gen)
{
	DTRACE_PROBE1(python, gc__start, gen);
}

__attribute__((noinline)) static void gc_end(long collected)
{
	DTRACE_PROBE1(python, gc__done, collected);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- store helpers ---------------------------------------------------- */

struct find_ctx {
	const char *name, *runtime, *generation, *comm;
	int found;
	double value;
};

static const char *label_of(const struct store_series_view *v, const char *name)
{
	for (size_t i = 0; i < v->nlabels; i++)
		if (strcmp(v->labels[i].name, name) == 0)
			return v->labels[i].value;
	return NULL;
}

static void find_series(const struct store_series_view *v, void *arg)
{
	struct find_ctx *c = arg;
	const char *rt = label_of(v, "runtime"), *gen = label_of(v, "generation");
	const char *comm = label_of(v, "comm");

	if (strcmp(v->name, c->name) || !rt || !gen || !comm ||
	    strcmp(rt, c->runtime) || strcmp(gen, c->generation) ||
	    strcmp(comm, c->comm))
		return;
	assert_non_null(label_of(v, "container"));
	c->found++;
	c->value = v->value;
}

/* The value of series @name{runtime,generation,comm}; -1 when absent. */
static double series(struct store *s, const char *name, const char *rt,
		     const char *gen, const char *comm)
{
	struct find_ctx c = { name, rt, gen, comm, 0, -1 };

	store__foreach(s, NULL, find_series, &c);
	assert_true(c.found <= 1);
	printf("# %s{runtime=\"%s\",generation=\"%s\",comm=\"%s\"} %g\n", name, rt,
	       gen, comm, c.value);
	return c.value;
}

/* One collection tick; returns what gcprobe__tick() does (the number of
 * target processes, -1 without targets). */
static int tick(struct gcprobe *gp, struct store *s, struct labeler *lb)
{
	int n;

	assert_int_equal(store__begin_tick(s, tick_ms++), 0);
	labeler__new_tick(lb);
	n = gcprobe__tick(gp, s, lb, 60000);
	store__end_tick(s);
	return n;
}

/* Index of the binary whose path is @path, or -1. */
static int binary_index(struct gcprobe *gp, const char *path, struct gcprobe_binary *b)
{
	for (size_t i = 0; i < gcprobe__binary_count(gp); i++) {
		gcprobe__binary(gp, i, b);
		if (!strcmp(b->path, path))
			return (int)i;
	}
	return -1;
}

/* Every runtime; traced processes: @pids (the machine runs other
 * runtimes, whose pauses would disturb exact error counts). */
static struct gc_cfg default_cfg(uint32_t *pids)
{
	struct gc_cfg cfg = {};

	cfg.probe.enabled = true;
	cfg.probe.max_entries = 1024;
	cfg.runtimes = (1U << GC__COUNT) - 1;
	if (pids) {
		cfg.probe.targets.set = true;
		cfg.probe.targets.pids = pids;
		cfg.probe.targets.npids = 1;
	}
	return cfg;
}

/*
 * This binary, discovered at the first tick (a process running before the
 * probe), gets known collections: K per generation with known objects and
 * a 2 ms pause each; then an end without a begin, and a begin replaced by
 * another before its end.
 */
static void test_python_notes(void **state)
{
	uint32_t me = (uint32_t)getpid();
	struct gc_cfg cfg = default_cfg(&me);
	struct store *s = store__new(4, 10000);
	struct labeler *lb = labeler__new();
	struct gcprobe_counters gc;
	struct gcprobe_binary b;
	struct gcprobe *gp;
	char self[PATH_MAX];
	const int k = 3;

	(void)state;
	assert_non_null(s);
	assert_non_null(lb);
	assert_non_null(realpath("/proc/self/exe", self));
	gp = gcprobe__new(&cfg, &feat);
	assert_non_null(gp);
	assert_true(gcprobe__attached(gp));
	assert_true(gcprobe__fd(gp) >= 0);	/* exec notifications */
	assert_int_equal(tick(gp, s, lb), 1);	/* one target: this process */
	assert_true(binary_index(gp, self, &b) >= 0);
	assert_string_equal(b.runtime, "python");
	assert_string_equal(b.attach_type, "usdt");
	assert_true(b.attached);
	assert_string_equal(b.reason, "ok");

	for (int gen = 0; gen < 3; gen++) {
		for (int i = 0; i < k; i++) {
			gc_begin(gen);
			sleep_ms(2);
			gc_end(10 * gen + 1);
		}
	}
	gc_end(5);		/* no begin */
	gc_begin(1);		/* replaced, never ended */
	gc_begin(7);
	gc_end(0);
	tick(gp, s, lb);

	for (int gen = 0; gen < 3; gen++) {
		char g[4];

		snprintf(g, sizeof(g), "%d", gen);
		assert_true(series(s, "bpfwatch_gc_collections_total", "python", g,
				   COMM) == k);
		assert_true(series(s, "bpfwatch_gc_pause_seconds_count", "python", g,
				   COMM) == k);
		assert_true(series(s, "bpfwatch_gc_collected_objects_total", "python", g,
				   COMM) == k * (10 * gen + 1));
		/* each pause slept 2 ms */
		assert_true(series(s, "bpfwatch_gc_pause_seconds_sum", "python", g,
				   COMM) >= k * 0.002);
	}
	assert_true(series(s, "bpfwatch_gc_collections_total", "python", "7", COMM) == 1);
	gcprobe__gc_counters(gp, &gc);
	assert_int_equal(gc.end_without_begin, 1);
	assert_int_equal(gc.begin_lost, 1);
	assert_int_equal(gc.arg_errors, 0);
	assert_true(gc.processes_checked > 0);
	assert_true(gc.files_classified > 0);
	gcprobe__free(gp);
	labeler__free(lb);
	store__free(s);
}

/* runtimes: without python, this binary is not attached. */
static void test_runtime_not_selected(void **state)
{
	struct gc_cfg cfg = default_cfg(NULL);
	struct store *s = store__new(4, 10000);
	struct labeler *lb = labeler__new();
	struct gcprobe_binary b;
	struct gcprobe *gp;
	char self[PATH_MAX];

	(void)state;
	assert_non_null(realpath("/proc/self/exe", self));
	cfg.runtimes = 1U << GC_GO;
	gp = gcprobe__new(&cfg, &feat);
	assert_non_null(gp);
	assert_int_equal(tick(gp, s, lb), -1);	/* no targets */
	assert_int_equal(binary_index(gp, self, &b), -1);
	gc_begin(0);
	gc_end(1);
	tick(gp, s, lb);
	assert_true(series(s, "bpfwatch_gc_collections_total", "python", "0", COMM) < 0);
	gcprobe__free(gp);
	labeler__free(lb);
	store__free(s);
}

/* disabled: nothing loaded, the reason says so. */
static void test_disabled(void **state)
{
	struct gc_cfg cfg = default_cfg(NULL);
	struct gcprobe *gp;

	(void)state;
	cfg.probe.enabled = false;
	gp = gcprobe__new(&cfg, &feat);
	assert_non_null(gp);
	assert_false(gcprobe__attached(gp));
	assert_string_equal(gcprobe__reason(gp), "disabled");
	assert_int_equal(gcprobe__fd(gp), -1);
	gcprobe__free(gp);
}

/*
 * A "Go 1.22" process started after the probe: attached by its exec (or
 * the next tick), its stop-the-world pauses keyed by the reason it passes.
 */
static void test_go_reasons(void **state)
{
	uint32_t target = (uint32_t)getpid();	/* the workload's, once forked */
	struct gc_cfg cfg = default_cfg(&target);
	struct store *s = store__new(4, 10000);
	struct labeler *lb = labeler__new();
	struct gcprobe_counters gc;
	struct gcprobe_binary b;
	struct gcprobe *gp;
	int in[2], out[2], status;
	char line[64], abs[PATH_MAX];
	const int n = 4;
	FILE *f;
	pid_t pid;

	(void)state;
	assert_non_null(realpath(workload, abs));
	gp = gcprobe__new(&cfg, &feat);
	assert_non_null(gp);
	tick(gp, s, lb);	/* the processes already running */
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char num[8];

		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[1]);
		close(out[0]);
		snprintf(num, sizeof(num), "%d", n);
		execl(workload, "fakego", num, (char *)NULL);
		_exit(127);
	}
	target = (uint32_t)pid;	/* read by every tick, and at its exec */
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_memory_equal(line, "ready", 5);
	gcprobe__poll(gp);	/* its exec notification */
	assert_int_equal(tick(gp, s, lb), 1);	/* one target: the workload */
	assert_true(binary_index(gp, abs, &b) >= 0);
	assert_string_equal(b.runtime, "go");
	assert_string_equal(b.attach_type, "uprobe");
	assert_true(b.attached);
	assert_int_equal(write(in[1], "go\n", 3), 3);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "done\n");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fclose(f);
	close(in[1]);
	tick(gp, s, lb);
	assert_true(series(s, "bpfwatch_gc_collections_total", "go",
			   "sweep_termination", "fakego") == n);
	assert_true(series(s, "bpfwatch_gc_collections_total", "go",
			   "mark_termination", "fakego") == n);
	assert_true(series(s, "bpfwatch_gc_collections_total", "go",
			   "read_mem_stats", "fakego") == 1);
	assert_true(series(s, "bpfwatch_gc_collected_objects_total", "go",
			   "sweep_termination", "fakego") < 0);	/* python only */
	gcprobe__gc_counters(gp, &gc);
	assert_int_equal(gc.end_without_begin, 1);
	gcprobe__free(gp);
	labeler__free(lb);
	store__free(s);
}

/* .output/<flavour>/workloads/fakego for this test's flavour. */
static void find_workload(void)
{
	char self[PATH_MAX];
	const char *flavour = "release";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if (strstr(self, "/.output/asan/tests/"))
			flavour = "asan";
	}
	snprintf(workload, sizeof(workload), ".output/%s/workloads/fakego", flavour);
	if (access(workload, X_OK)) {
		fprintf(stderr, "%s: %s (run from the repository root after "
			"'make build-tests')\n", workload, strerror(errno));
		exit(1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_notes),
		cmocka_unit_test(test_runtime_not_selected),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_go_reasons),
	};
	char why[256];

	if (geteuid() != 0) {
		fprintf(stderr, "probe tests need root\n");
		return 1;
	}
	find_workload();
	prctl(PR_SET_NAME, COMM);
	libbpf_glue__init();
	log_set_level(LOG_ERROR);
	tracefs__ensure(why, sizeof(why));
	features__probe(&feat);
	if (!feat.ok[FEAT_UPROBE] || !feat.ok[FEAT_USDT]) {
		fprintf(stderr, "uprobe: %s; usdt: %s\n", feat.reason[FEAT_UPROBE],
			feat.reason[FEAT_USDT]);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
