// SPDX-License-Identifier: GPL-2.0
/*
 * Probe tests of the function-latency probe: the real BPF object attached
 * through funcprobe__new() to the test workload (tests/workloads/funcs.c),
 * which is started waiting, attached to, released, and waited for; then
 * the kernel maps are read.  Needs root.
 *
 * The workload comes from the same build flavour as this test
 * (.output/<flavour>/workloads/funcs, given as a path relative to the
 * repository root, where tests run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>

#include "hist.h"

#include "config.h"
#include "funcprobe.h"
#include "kfeatures.h"
#include "labeler.h"
#include "libbpf_glue.h"
#include "log.h"
#include "store.h"

static struct features feat;
static char workload[PATH_MAX];		/* relative to the repository root */
static char workload_abs[PATH_MAX];

/* ---- the workload ------------------------------------------------------ */

struct wl {
	pid_t pid;
	int go;		/* its stdin: a newline releases it */
};

/* Start the workload named @comm with commands @args (NULL-terminated),
 * waiting at the start line; returns once it has printed its pid (so it
 * has exec'd: /proc/PID/exe and its comm are final).  It runs SCHED_FIFO
 * so that other load on the machine does not delay its wakeups by more
 * than the histogram slot the durations are compared with. */
static void wl_start(struct wl *w, const char *comm, const char *const *args)
{
	const char *argv[32] = { "funcs", "-r", "-w", "-n", comm };
	int in[2], out[2], n = 5, pid;
	char line[64];
	FILE *f;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(workload, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	w->go = in[1];
	f = fdopen(out[0], "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		fail_msg("workload %s did not start", workload);
	fclose(f);
	assert_int_equal(sscanf(line, "funcs: pid %d", &pid), 1);
	assert_int_equal(pid, w->pid);
}

/* Copy @from to @to (mode 0755); 0 or -1. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out, ok = 0;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			ok = -1;
	if (n < 0)
		ok = -1;
	close(in);
	close(out);
	return ok;
}

/*
 * Like wl_start, but the workload runs from a tmpfs mounted at @dir in a
 * mount namespace of its own (as in a container): its /proc/PID/exe names
 * a file that does not exist in ours.
 */
static void wl_start_ns(struct wl *w, const char *dir, const char *comm,
			const char *const *args)
{
	const char *argv[32] = { "funcs", "-r", "-w", "-n", comm };
	int in[2], out[2], n = 5, pid;
	char line[64], exe[PATH_MAX];
	FILE *f;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	snprintf(exe, sizeof(exe), "%s/funcs", dir);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=16m") ||
		    copy_file(workload, exe))
			_exit(126);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	w->go = in[1];
	f = fdopen(out[0], "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		fail_msg("workload in %s did not start", dir);
	fclose(f);
	assert_int_equal(sscanf(line, "funcs: pid %d", &pid), 1);
	assert_int_equal(pid, w->pid);
}

static void wl_go(struct wl *w)
{
	assert_int_equal(write(w->go, "\n", 1), 1);
	close(w->go);
	w->go = -1;
}

static void wl_wait(struct wl *w)
{
	int status;

	assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Start, release and wait for one workload. */
static void wl_run(const char *comm, const char *const *args)
{
	struct wl w;

	wl_start(&w, comm, args);
	wl_go(&w);
	wl_wait(&w);
}

/* ---- entries ------------------------------------------------------------- */

static struct func_cfg uprobe_cfg(const char *name, const char *binary,
				  const char *symbol, uint32_t pid)
{
	return (struct func_cfg){
		.kind = FUNC_UPROBE, .name = (char *)name, .binary = (char *)binary,
		.symbol = (char *)symbol, .pid = pid,
	};
}

static struct func_cfg usdt_cfg(const char *name, const char *binary,
				const char *prov, const char *probe)
{
	return (struct func_cfg){
		.kind = FUNC_USDT, .name = (char *)name, .binary = (char *)binary,
		.provider = (char *)prov, .probe = (char *)probe,
	};
}

static struct func_cfg pair_cfg(const char *name, const char *binary,
				const char *begin, const char *end)
{
	return (struct func_cfg){
		.kind = FUNC_USDT_PAIR, .name = (char *)name,
		.binary = (char *)binary, .provider = "bwtest",
		.probe = (char *)begin, .end_provider = "bwtest",
		.end_probe = (char *)end,
	};
}

static struct func_cfg kernel_cfg(const char *name, const char *fn)
{
	return (struct func_cfg){
		.kind = FUNC_KERNEL, .name = (char *)name, .kernel = (char *)fn,
	};
}

static struct funcprobe *attach_all(const struct func_cfg *fns, size_t n)
{
	struct funcprobe *fp = funcprobe__new(fns, n, &feat);

	assert_non_null(fp);
	assert_int_equal(funcprobe__count(fp), n);
	for (size_t i = 0; i < n; i++) {
		struct funcprobe_status st;

		funcprobe__status(fp, i, &st);
		if (!st.attached)
			fail_msg("function %s did not attach: %s", st.function, st.reason);
		assert_string_equal(st.reason, "ok");
	}
	return fp;
}

/* ---- histograms ------------------------------------------------------------ */

static uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

/* Slot holding the q-quantile of @h. */
static uint32_t hist_quantile_slot(const struct hist *h, double q)
{
	uint64_t total = hist_count(h), cum = 0;

	for (uint32_t i = 0; i < HIST_SLOTS; i++) {
		cum += h->slots[i];
		if ((double)cum >= q * (double)total && h->slots[i])
			return i;
	}
	return HIST_OVERFLOW;
}

static double slot_ms(uint32_t slot)
{
	return (double)hist_slot_lower(slot) / HIST_UNITS_PER_SEC * 1e3;
}

static uint32_t slot_of_ns(uint64_t ns)
{
	return hist_slot(hist_ns_to_units(ns));
}

/* Entry @i: exactly @calls calls, median within one slot of @ns (unless
 * @ns is 0). */
static struct hist *expect_timed(struct funcprobe *fp, size_t i, uint64_t calls,
				 uint64_t ns)
{
	struct hist *h = calloc(1, sizeof(*h));
	struct funcprobe_status st;
	uint32_t want = slot_of_ns(ns), got;
	uint64_t n;

	assert_non_null(h);
	funcprobe__status(fp, i, &st);
	assert_int_equal(funcprobe__read(fp, i, h, &n), 0);
	printf("# %s: %llu calls (expected %llu)\n", st.function,
	       (unsigned long long)n, (unsigned long long)calls);
	assert_int_equal(n, calls);
	assert_int_equal(hist_count(h), calls);
	if (!ns)
		return h;
	got = hist_quantile_slot(h, 0.5);
	printf("# %s: p50 in slot %u [%.3f ms, %.3f ms), %.3f ms is slot %u; "
	       "mean %.3f ms\n", st.function, got, slot_ms(got), slot_ms(got + 1),
	       (double)ns / 1e6, want, (double)h->sum_ns / 1e6 / (double)n);
	assert_true(got + 1 >= want && got <= want + 1);
	return h;
}

static uint64_t calls_of(struct funcprobe *fp, size_t i)
{
	struct hist *h = calloc(1, sizeof(*h));
	uint64_t n = 0;

	assert_non_null(h);
	assert_int_equal(funcprobe__read(fp, i, h, &n), 0);
	free(h);
	return n;
}

static void expect_frames(struct funcprobe *fp, uint64_t overflow, uint64_t lost,
			  uint64_t missing)
{
	struct funcprobe_frame_counters c;

	funcprobe__frame_counters(fp, &c);
	printf("# frames: %llu depth overflows, %llu lost, %llu missing "
	       "(expected %llu, %llu, %llu)\n",
	       (unsigned long long)c.depth_overflow, (unsigned long long)c.lost_frames,
	       (unsigned long long)c.missing_frames, (unsigned long long)overflow,
	       (unsigned long long)lost, (unsigned long long)missing);
	assert_int_equal(c.depth_overflow, overflow);
	assert_int_equal(c.lost_frames, lost);
	assert_int_equal(c.missing_frames, missing);
	assert_int_equal(c.calls_full, 0);
}

static void expect_contains(const char *what, const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("%s: '%s' does not mention '%s'", what, s, part);
}

/* ---- tests --------------------------------------------------------------- */

/* Two functions of known duration, no pid: every process running the
 * binary, given relative to the working directory (made absolute), and
 * absolute (kept as written) for a second entry on bw_sleep_1ms, which
 * times the same calls independently. */
static void test_uprobe_latency(void **state)
{
	struct func_cfg fns[] = {
		uprobe_cfg("sleep1", workload, "bw_sleep_1ms", 0),
		uprobe_cfg("sleep5", workload, "bw_sleep_5ms", 0),
		uprobe_cfg("sleep1-again", workload_abs, "bw_sleep_1ms", 0),
	};
	const char *args[] = { "sleep1", "40", "sleep5", "15", NULL };
	struct probe_prog_stats ps[8];
	struct funcprobe_status st;
	struct funcprobe *fp;

	(void)state;
	fp = attach_all(fns, 3);
	funcprobe__status(fp, 0, &st);
	assert_string_equal(st.attach_type, "uprobe");
	assert_string_equal(st.binary, workload_abs);
	funcprobe__status(fp, 2, &st);
	assert_string_equal(st.binary, workload_abs);
	wl_run("bw-func-lat", args);
	free(expect_timed(fp, 0, 40, 1000000));
	free(expect_timed(fp, 1, 15, 5000000));
	free(expect_timed(fp, 2, 40, 1000000));
	expect_frames(fp, 0, 0, 0);
	/* only the uprobe pair was loaded */
	assert_int_equal(funcprobe__prog_stats(fp, ps, 8), 2);
	assert_string_equal(ps[0].name, "uprobe_entry");
	assert_string_equal(ps[1].name, "uretprobe_return");
	funcprobe__free(fp);
}

/* Without uprobe or USDT support the entries say so, and nothing loads. */
static void test_features_missing(void **state)
{
	struct func_cfg fns[] = {
		uprobe_cfg("sleep1", workload, "bw_sleep_1ms", 0),
		usdt_cfg("tick", workload, "bwtest", "tick"),
	};
	struct features f = feat;
	struct funcprobe_status st;
	struct funcprobe *fp;
	struct hist *h = calloc(1, sizeof(*h));
	uint64_t n = 1;

	(void)state;
	f.ok[FEAT_UPROBE] = f.ok[FEAT_USDT] = false;
	snprintf(f.reason[FEAT_UPROBE], sizeof(f.reason[0]), "no uprobes here");
	snprintf(f.reason[FEAT_USDT], sizeof(f.reason[0]), "no usdt here");
	fp = funcprobe__new(fns, 2, &f);
	assert_non_null(fp);
	funcprobe__status(fp, 0, &st);
	assert_false(st.attached);
	expect_contains("sleep1", st.reason, "'bw_sleep_1ms': uprobe: no uprobes here");
	funcprobe__status(fp, 1, &st);
	assert_false(st.attached);
	expect_contains("tick", st.reason, "usdt 'bwtest:tick': no usdt here");
	assert_int_equal(funcprobe__read(fp, 1, h, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(funcprobe__read(fp, 2, h, &n), -EINVAL);
	funcprobe__free(fp);
	free(h);
}

/* A begin/end USDT pair is timed like a function; a single USDT probe is
 * counted exactly and has no histogram. */
static void test_usdt(void **state)
{
	struct func_cfg fns[] = {
		pair_cfg("req", workload, "req__start", "req__done"),
		usdt_cfg("tick", workload, "bwtest", "tick"),
	};
	const char *args[] = { "usdt", "25", "tick", "137", NULL };
	struct hist *h = calloc(1, sizeof(*h));
	struct funcprobe_status st;
	struct funcprobe *fp;
	uint64_t n;

	(void)state;
	fp = attach_all(fns, 2);
	funcprobe__status(fp, 0, &st);
	assert_string_equal(st.attach_type, "usdt");
	wl_run("bw-func-usdt", args);
	free(expect_timed(fp, 0, 25, 3000000));
	assert_int_equal(funcprobe__read(fp, 1, h, &n), 0);
	printf("# tick: %llu hits (expected 137)\n", (unsigned long long)n);
	assert_int_equal(n, 137);
	assert_int_equal(hist_count(h), 0);
	expect_frames(fp, 0, 0, 0);
	free(h);
	funcprobe__free(fp);
}

/* No call of @h shorter than about slot @want (one slot of tolerance: a
 * level matched with the wrong return would be near zero), none anywhere
 * near 100 ms (a frame matched with a later call's return). */
static void expect_range(const struct hist *h, uint32_t want)
{
	uint32_t lo = HIST_SLOTS, hi = 0;

	for (uint32_t i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		lo = i < lo ? i : lo;
		hi = i;
	}
	printf("# fastest call in [%.3f ms, %.3f ms), slowest in [%.3f ms, %.3f ms)\n",
	       slot_ms(lo), slot_ms(lo + 1), slot_ms(hi), slot_ms(hi + 1));
	assert_true(lo + 1 >= want);
	assert_true(slot_ms(hi) < 100.0);
}

/*
 * Recursion: every level is timed from its own entry.  bw_recurse(3) is
 * three nested calls around one 2 ms sleep: all of them last at least
 * about 2 ms (no level matched with the wrong return would be near zero)
 * and none spans more than its own call (no huge values).  Nested past
 * the 16-frame stack, the outer 16 levels are still timed and the deeper
 * ones counted as overflow, not as missing.
 */
static void test_recursion(void **state)
{
	struct func_cfg fns[] = {
		uprobe_cfg("recurse", workload, "bw_recurse", 0),
	};
	const char *args3[] = { "recurse:3", "12", NULL };
	const char *args20[] = { "recurse:20", "5", NULL };
	uint32_t want = slot_of_ns(2000000);
	struct funcprobe *fp;
	struct hist *h;

	(void)state;
	fp = attach_all(fns, 1);
	wl_run("bw-func-rec", args3);
	h = expect_timed(fp, 0, 36, 2000000);
	expect_range(h, want);
	expect_frames(fp, 0, 0, 0);
	free(h);
	funcprobe__free(fp);

	/* Each of the 16 timed levels also pays for the probes of the levels
	 * below it (about 10 us each), so only their bounds are checked. */
	fp = attach_all(fns, 1);
	wl_run("bw-func-deep", args20);
	h = expect_timed(fp, 0, 16 * 5, 0);
	expect_range(h, want);
	expect_frames(fp, 4 * 5, 0, 0);
	free(h);
	funcprobe__free(fp);
}

/*
 * longjmp: bw_jump_inner() never returns; bw_jump_outer() returns after
 * it.  Its frame is dropped as lost when the outer one returns (when
 * bw_jump_outer is probed) or when the next probed call enters from a
 * shallower frame (when it is not), and bw_sleep_1ms() called after it
 * is timed correctly either way.
 */
static void test_longjmp(void **state)
{
	struct func_cfg fns[] = {
		uprobe_cfg("inner", workload, "bw_jump_inner", 0),
		uprobe_cfg("sleep1", workload, "bw_sleep_1ms", 0),
		uprobe_cfg("outer", workload, "bw_jump_outer", 0),
	};
	const char *args[] = { "jump", "20", NULL };
	struct funcprobe *fp;
	struct hist *h = calloc(1, sizeof(*h));
	uint64_t n;

	(void)state;
	fp = attach_all(fns, 3);
	wl_run("bw-func-jmp", args);
	assert_int_equal(calls_of(fp, 0), 0);
	free(expect_timed(fp, 1, 20, 1000000));
	assert_int_equal(funcprobe__read(fp, 2, h, &n), 0);
	assert_int_equal(n, 20);
	/* the outer call only calls a function that jumps back: well under
	 * the 1 ms sleep that follows it */
	assert_true(hist_quantile_slot(h, 1.0) < slot_of_ns(1000000));
	expect_frames(fp, 0, 20, 0);
	funcprobe__free(fp);

	fp = attach_all(fns, 2);
	wl_run("bw-func-jmp2", args);
	assert_int_equal(calls_of(fp, 0), 0);
	free(expect_timed(fp, 1, 20, 1000000));
	expect_frames(fp, 0, 20, 0);
	funcprobe__free(fp);
	free(h);
}

struct find_ctx {
	const char *name;
	const char *function;
	const char *comm;	/* NULL: any */
	int found;
	double value;
	char binary[PATH_MAX];
	char other_comm[32];
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
	const char *fn = label_of(v, "function"), *comm = label_of(v, "comm");

	if (strcmp(v->name, c->name) || !fn || strcmp(fn, c->function))
		return;
	assert_non_null(comm);
	assert_non_null(label_of(v, "container"));
	assert_non_null(label_of(v, "binary"));
	if (c->comm && strcmp(comm, c->comm)) {
		snprintf(c->other_comm, sizeof(c->other_comm), "%s", comm);
		return;
	}
	c->found++;
	c->value = v->value;
	snprintf(c->binary, sizeof(c->binary), "%s", label_of(v, "binary"));
}

static void expect_series(struct store *s, const char *name, const char *function,
			  const char *comm, double value)
{
	struct find_ctx c = { .name = name, .function = function, .comm = comm };

	store__foreach(s, NULL, find_series, &c);
	printf("# %s{function=\"%s\",comm=\"%s\"}: %d series, value %g\n", name,
	       function, comm, c.found, c.value);
	if (c.other_comm[0])
		fail_msg("%s{function=\"%s\"} has a series for comm '%s'", name,
			 function, c.other_comm);
	assert_int_equal(c.found, 1);
	assert_true(c.value == value);
}

/*
 * Targeting, with two instances A and B of the workload: an entry with
 * pid A (the kernel's uprobe filter) sees only A; an entry without a
 * binary takes it from its pid; an entry with targets (pids, or a comm
 * regex) sees only what funcprobe__refresh_targets() put in the in-kernel
 * filter; a bare library name is found like the loader finds it.  Then
 * the store gets one series per (function, comm).
 */
static void test_targets(void **state)
{
	uint32_t bpids[1];
	struct func_cfg fns[] = {
		uprobe_cfg("a-sleep1", workload, "bw_sleep_1ms", 0),
		uprobe_cfg("b-sleep5", NULL, "bw_sleep_5ms", 0),
		uprobe_cfg("t-sleep1", workload, "bw_sleep_1ms", 0),
		uprobe_cfg("a-nanosleep", "libc.so.6", "nanosleep", 0),
		uprobe_cfg("re-sleep5", workload, "bw_sleep_5ms", 0),
	};
	const char *args_a[] = { "sleep1", "7", "sleep5", "3", NULL };
	const char *args_b[] = { "sleep1", "5", "sleep5", "4", NULL };
	struct funcprobe_status st;
	struct probe_counters pc;
	struct funcprobe *fp;
	struct labeler *lb;
	struct store *s;
	struct wl a, b;

	(void)state;
	wl_start(&a, "bw-func-a", args_a);
	wl_start(&b, "bw-func-b", args_b);
	fns[0].pid = (uint32_t)a.pid;
	fns[1].pid = (uint32_t)b.pid;
	bpids[0] = (uint32_t)b.pid;
	fns[2].targets = (struct targets_cfg){ .set = true, .pids = bpids, .npids = 1 };
	fns[3].pid = (uint32_t)a.pid;
	fns[4].targets = (struct targets_cfg){ .set = true, .comm_set = true,
					       .comm = "^bw-func-b$" };
	assert_int_equal(regcomp(&fns[4].targets.comm_re, fns[4].targets.comm,
				 REG_EXTENDED | REG_NOSUB), 0);

	fp = attach_all(fns, 5);
	funcprobe__status(fp, 1, &st);
	assert_string_equal(st.binary, workload_abs);
	funcprobe__status(fp, 3, &st);
	printf("# libc.so.6 resolved to %s\n", st.binary);
	assert_true(st.binary[0] == '/');
	assert_string_equal(strrchr(st.binary, '/'), "/libc.so.6");
	/* pids [B] for entry 2, comm ^bw-func-b$ for entry 4 */
	assert_int_equal(funcprobe__refresh_targets(fp), 2);

	wl_go(&a);
	wl_go(&b);
	wl_wait(&a);
	wl_wait(&b);

	free(expect_timed(fp, 0, 7, 1000000));
	free(expect_timed(fp, 1, 4, 5000000));
	free(expect_timed(fp, 2, 5, 1000000));
	assert_int_equal(calls_of(fp, 3), 7 + 3);
	free(expect_timed(fp, 4, 4, 5000000));
	/* entry 2 refused A's 7 calls of bw_sleep_1ms, entry 4 its 3 calls
	 * of bw_sleep_5ms; pid-filtered entries never run for others */
	funcprobe__counters(fp, &pc);
	printf("# filtered: %llu (expected 10)\n", (unsigned long long)pc.filtered);
	assert_int_equal(pc.filtered, 7 + 3);
	expect_frames(fp, 0, 0, 0);

	s = store__new(4, 10000);
	lb = labeler__new();
	assert_non_null(s);
	assert_non_null(lb);
	assert_int_equal(store__begin_tick(s, 1000), 0);
	assert_int_equal(funcprobe__collect(fp, s, lb, 60000), 0);
	store__end_tick(s);
	expect_series(s, "bpfwatch_function_calls_total", "a-sleep1", "bw-func-a", 7);
	expect_series(s, "bpfwatch_function_latency_seconds_count", "a-sleep1",
		      "bw-func-a", 7);
	expect_series(s, "bpfwatch_function_calls_total", "t-sleep1", "bw-func-b", 5);
	expect_series(s, "bpfwatch_function_latency_seconds_count", "b-sleep5",
		      "bw-func-b", 4);
	funcprobe__counters(fp, &pc);
	assert_int_equal(pc.entries, 5);

	/* Once the processes are gone from the target set, nothing is wanted;
	 * idle entries are freed from the kernel map. */
	assert_int_equal(funcprobe__refresh_targets(fp), 0);
	usleep(5000);
	assert_int_equal(store__begin_tick(s, 2000), 0);
	assert_int_equal(funcprobe__collect(fp, s, lb, 0), 0);
	store__end_tick(s);
	funcprobe__counters(fp, &pc);
	assert_int_equal(pc.entries, 0);
	assert_int_equal(pc.expired, 5);
	assert_int_equal(calls_of(fp, 0), 0);

	labeler__free(lb);
	store__free(s);
	funcprobe__free(fp);
	regfree(&fns[4].targets.comm_re);
}

/*
 * Entries that cannot attach report why, naming what is missing, and the
 * good entry in the same funcprobe works.
 */
static void test_bad_entries(void **state)
{
	char stripped[] = "/tmp/bw-funcs-stripped-XXXXXX", cmd[PATH_MAX + 64];
	struct func_cfg fns[] = {
		uprobe_cfg("good", workload, "bw_sleep_1ms", 0),
		uprobe_cfg("nobin", "/nonexistent/dir/app", "main", 0),
		uprobe_cfg("nosym", workload, "handle_request", 0),
		usdt_cfg("nousdt", workload, "bwtest", "nope"),
		pair_cfg("noend", workload, "req__start", "req__gone"),
		kernel_cfg("kernel", "vfs_read"),
		uprobe_cfg("nolib", "libbwnothere.so.9", "f", 0),
		uprobe_cfg("nopid", NULL, "main", 0x3ffffe),
		uprobe_cfg("stripped", stripped, "bw_sleep_1ms", 0),
	};
	const char *args[] = { "sleep1", "6", NULL };
	char want[PATH_MAX + 64];
	struct funcprobe_status st;
	struct funcprobe *fp;
	int fd;

	(void)state;
	fd = mkstemp(stripped);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "strip -o %s %s", stripped, workload);
	assert_int_equal(system(cmd), 0);

	fp = funcprobe__new(fns, sizeof(fns) / sizeof(fns[0]), &feat);
	unlink(stripped);
	assert_non_null(fp);
	for (size_t i = 0; i < funcprobe__count(fp); i++) {
		funcprobe__status(fp, i, &st);
		printf("# %-8s attached=%d type='%s' reason: %s\n", st.function,
		       st.attached, st.attach_type, st.reason);
		assert_true(st.attached == (i == 0));
		if (i)
			assert_string_equal(st.attach_type, "");
	}
	funcprobe__status(fp, 1, &st);
	assert_string_equal(st.reason,
			    "binary '/nonexistent/dir/app': No such file or directory");
	funcprobe__status(fp, 2, &st);
	snprintf(want, sizeof(want), "binary '%s': symbol 'handle_request' not found",
		 workload_abs);
	assert_string_equal(st.reason, want);
	funcprobe__status(fp, 3, &st);
	expect_contains("nousdt", st.reason, workload_abs);
	expect_contains("nousdt", st.reason, "'bwtest:nope'");
	funcprobe__status(fp, 4, &st);
	expect_contains("noend", st.reason, "'bwtest:req__gone'");
	funcprobe__status(fp, 5, &st);
	assert_string_equal(st.binary, "");
	expect_contains("kernel", st.reason, "vfs_read");
	expect_contains("kernel", st.reason, "fentry: ");
	expect_contains("kernel", st.reason, "kprobe: ");
	if (!feat.ok[FEAT_FENTRY])
		expect_contains("kernel", st.reason, feat.reason[FEAT_FENTRY]);
	if (!feat.ok[FEAT_KPROBE])
		expect_contains("kernel", st.reason, feat.reason[FEAT_KPROBE]);
	funcprobe__status(fp, 6, &st);
	expect_contains("nolib", st.reason, "binary 'libbwnothere.so.9': No such file");
	funcprobe__status(fp, 7, &st);
	expect_contains("nopid", st.reason, "pid 4194302: cannot read /proc/4194302/exe: no such process");
	funcprobe__status(fp, 8, &st);
	snprintf(want, sizeof(want), "binary '%s': symbol 'bw_sleep_1ms' not found "
		 "(stripped?)", stripped);
	assert_string_equal(st.reason, want);

	wl_run("bw-func-good", args);
	free(expect_timed(fp, 0, 6, 1000000));
	funcprobe__free(fp);
}

/*
 * Kernel functions when the features claim fentry and kprobe: each is
 * really tried, and the reason says what failed for each.
 */
static void test_kernel_tried(void **state)
{
	struct func_cfg fns[] = {
		kernel_cfg("nanosleep", "do_nanosleep"),
		kernel_cfg("nosuch", "bw_no_such_kernel_function"),
		uprobe_cfg("good", workload, "bw_sleep_1ms", 0),
	};
	const char *args[] = { "sleep1", "3", NULL };
	struct features f = feat;
	struct funcprobe_status st;
	struct funcprobe *fp;

	(void)state;
	if (feat.ok[FEAT_FENTRY] && feat.ok[FEAT_KPROBE])
		fail_msg("this kernel has fentry and kprobes: test the attached "
			 "path instead");
	f.ok[FEAT_FENTRY] = f.ok[FEAT_KPROBE] = true;
	fp = funcprobe__new(fns, 3, &f);
	assert_non_null(fp);
	for (size_t i = 0; i < 3; i++) {
		funcprobe__status(fp, i, &st);
		printf("# %-9s attached=%d type='%s' reason: %s\n", st.function,
		       st.attached, st.attach_type, st.reason);
	}
	funcprobe__status(fp, 0, &st);
	assert_false(st.attached);
	expect_contains("nanosleep", st.reason, "kernel 'do_nanosleep': fentry: ");
	expect_contains("nanosleep", st.reason, "; kprobe: ");
	funcprobe__status(fp, 1, &st);
	assert_false(st.attached);
	expect_contains("nosuch", st.reason,
			"fentry: no such function in the kernel's BTF");
	funcprobe__status(fp, 2, &st);
	assert_true(st.attached);
	wl_run("bw-func-kern", args);
	assert_int_equal(calls_of(fp, 2), 3);
	funcprobe__free(fp);
}

/*
 * Versioned symbols in libc's .dynsym: a name defined at two addresses
 * (pthread_cond_wait: @GLIBC_2.2.5 and @@GLIBC_2.3.2) resolves to the
 * default version, an explicit version picks that one, a default version
 * that is an IFUNC resolver (memcpy) is refused with the reason.  The
 * probe lands where it should: nanosleep@@GLIBC_2.2.5 counts the
 * workload's calls.  Everything is limited to the workload's pid.
 */
static void test_symbol_versions(void **state)
{
	struct func_cfg fns[] = {
		uprobe_cfg("ns", "libc.so.6", "nanosleep@@GLIBC_2.2.5", 0),
		uprobe_cfg("gai", "libc.so.6", "getaddrinfo@@GLIBC_2.2.5", 0),
		uprobe_cfg("cw", "libc.so.6", "pthread_cond_wait", 0),
		uprobe_cfg("cw-old", "libc.so.6", "pthread_cond_wait@GLIBC_2.2.5", 0),
		uprobe_cfg("memcpy", "libc.so.6", "memcpy", 0),
		uprobe_cfg("gai-bad", "libc.so.6", "getaddrinfo@GLIBC_9.9", 0),
	};
	const char *args[] = { "sleep1", "4", NULL };
	struct funcprobe_status st;
	struct funcprobe *fp;
	struct wl w;

	(void)state;
	wl_start(&w, "bw-func-ver", args);
	for (size_t i = 0; i < 6; i++)
		fns[i].pid = (uint32_t)w.pid;
	fp = funcprobe__new(fns, 6, &feat);
	assert_non_null(fp);
	for (size_t i = 0; i < 6; i++) {
		funcprobe__status(fp, i, &st);
		printf("# %-7s attached=%d reason: %s\n", st.function, st.attached,
		       st.reason);
		assert_true(st.attached == (i < 4));
	}
	funcprobe__status(fp, 4, &st);
	expect_contains("memcpy", st.reason, "symbol 'memcpy' is an IFUNC resolver");
	funcprobe__status(fp, 5, &st);
	expect_contains("gai-bad", st.reason,
			"symbol 'getaddrinfo@GLIBC_9.9' not found");
	wl_go(&w);
	wl_wait(&w);
	assert_int_equal(calls_of(fp, 0), 4);
	assert_int_equal(calls_of(fp, 1), 0);
	funcprobe__free(fp);
}

/*
 * A process in another mount namespace, found by pid only: its binary is
 * reached through /proc/PID/root, and its calls are timed.
 */
static void test_other_mount_ns(void **state)
{
	char dir[] = "/tmp/bw-funcs-ns-XXXXXX", want[PATH_MAX + 64];
	struct func_cfg fns[] = {
		uprobe_cfg("ns-sleep1", NULL, "bw_sleep_1ms", 0),
	};
	const char *args[] = { "sleep1", "9", NULL };
	struct funcprobe_status st;
	struct funcprobe *fp;
	struct wl w;

	(void)state;
	assert_non_null(mkdtemp(dir));
	wl_start_ns(&w, dir, "bw-func-ns", args);
	fns[0].pid = (uint32_t)w.pid;
	fp = attach_all(fns, 1);
	funcprobe__status(fp, 0, &st);
	snprintf(want, sizeof(want), "/proc/%d/root%s/funcs", (int)w.pid, dir);
	assert_string_equal(st.binary, want);
	wl_go(&w);
	wl_wait(&w);
	free(expect_timed(fp, 0, 9, 1000000));
	funcprobe__free(fp);
	rmdir(dir);
}

/* No entries: an object with nothing loaded, harmless to use. */
static void test_empty(void **state)
{
	struct funcprobe *fp = funcprobe__new(NULL, 0, &feat);
	struct probe_prog_stats ps[4];
	struct store *s = store__new(2, 10);
	struct probe_counters pc;

	(void)state;
	assert_non_null(fp);
	assert_non_null(s);
	assert_int_equal(funcprobe__count(fp), 0);
	assert_int_equal(funcprobe__refresh_targets(fp), 0);
	assert_int_equal(store__begin_tick(s, 1), 0);
	assert_int_equal(funcprobe__collect(fp, s, NULL, 1000), 0);
	store__end_tick(s);
	assert_int_equal(funcprobe__prog_stats(fp, ps, 4), 0);
	funcprobe__counters(fp, &pc);
	assert_int_equal(pc.entries, 0);
	store__free(s);
	funcprobe__free(fp);
}

/* .output/<flavour>/workloads/funcs for this test's flavour. */
static void find_workload(void)
{
	char self[PATH_MAX], *p;
	const char *flavour = "release";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((p = strstr(self, "/.output/asan/tests/")))
			flavour = "asan";
	}
	snprintf(workload, sizeof(workload), ".output/%s/workloads/funcs", flavour);
	if (!realpath(workload, workload_abs)) {
		fprintf(stderr, "%s: %s (run from the repository root after "
			"'make build-tests')\n", workload, strerror(errno));
		exit(1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uprobe_latency),
		cmocka_unit_test(test_features_missing),
		cmocka_unit_test(test_usdt),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_longjmp),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_kernel_tried),
		cmocka_unit_test(test_symbol_versions),
		cmocka_unit_test(test_other_mount_ns),
		cmocka_unit_test(test_empty),
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
	if (!feat.ok[FEAT_UPROBE] || !feat.ok[FEAT_USDT]) {
		fprintf(stderr, "uprobe: %s; usdt: %s\n", feat.reason[FEAT_UPROBE],
			feat.reason[FEAT_USDT]);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
