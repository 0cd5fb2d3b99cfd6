// SPDX-License-Identifier: GPL-2.0
/*
 * Probe test for the memory probe (bpf/memstat.bpf.c, agent/memprobe.c):
 * load the real programs on this kernel, run the memgrow workload leaking
 * a known amount, and check what the kernel map and the agent's records
 * say against it and against /proc/PID/status.  Needs root.
 *
 * Tolerances: the kernel's RSS counters are per-CPU counters whose shared
 * value lags the truth by up to 32 pages per CPU (percpu_counter_batch),
 * and malloc adds a header per block and its arena's own pages: growth is
 * checked within 10% + 1 MiB of what the workload says it leaked, and the
 * map against /proc within 32 pages per CPU.
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "memstat.h"

#include "config.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "memprobe.h"
#include "store.h"

static struct features feat;
static char workload[PATH_MAX];
/* The workload is an ASan build: its allocator and shadow memory add
 * their own, unsteady, pages to what it leaks. */
static bool loose;

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

/* Wait for "leaked N": N. */
static uint64_t wl_leaked(struct wl *w)
{
	char line[64];
	unsigned long long n;

	if (!fgets(line, sizeof(line), w->out) || sscanf(line, "leaked %llu", &n) != 1)
		fail_msg("workload did not report its leak");
	return n;
}

static void wl_stop(struct wl *w)
{
	int st;

	kill(w->pid, SIGKILL);
	assert_int_equal(waitpid(w->pid, &st, 0), w->pid);
	fclose(w->out);
}

/* The map entry owned by @tgid (the newest if several); false if none. */
static bool map_find(int fd, uint32_t tgid, struct mem_val *out)
{
	uint64_t key, next;
	struct mem_val v;
	bool found = false;
	int more = bpf_map_get_next_key(fd, NULL, &next) == 0;

	while (more) {
		key = next;
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(fd, &key, &v) || v.tgid != tgid)
			continue;
		if (!found || v.last_jiffies > out->last_jiffies)
			*out = v;
		found = true;
	}
	return found;
}

/* RssAnon and RssFile of @pid from /proc, bytes. */
static void status_rss(pid_t pid, uint64_t *anon, uint64_t *file)
{
	char path[64], line[256];
	unsigned long long kb;
	FILE *f;

	*anon = *file = UINT64_MAX;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			*anon = kb * 1024;
		if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			*file = kb * 1024;
	}
	fclose(f);
	assert_true(*anon != UINT64_MAX && *file != UINT64_MAX);
}

static uint64_t batch_slack(void)
{
	return 32ULL * 4096 * (uint64_t)libbpf_num_possible_cpus();
}

static void assert_near(uint64_t got, uint64_t want, uint64_t tol, const char *what)
{
	uint64_t d = got > want ? got - want : want - got;

	if (d > tol)
		fail_msg("%s: got %llu bytes, expected %llu +- %llu", what,
			 (unsigned long long)got, (unsigned long long)want,
			 (unsigned long long)tol);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const struct mem_proc *find_proc(struct memprobe *mp, uint32_t tgid)
{
	size_t n;
	const struct mem_proc *p = memprobe__procs(mp, &n);

	for (size_t i = 0; i < n; i++)
		if (p[i].tgid == tgid)
			return &p[i];
	return NULL;
}

/* Collect once into @s as a tick. */
static void collect(struct memprobe *mp, struct store *s)
{
	static int64_t ts = 1000;

	assert_int_equal(store__begin_tick(s, ts += 1000), 0);
	assert_int_equal(memprobe__collect(mp, s), 0);
	store__end_tick(s);
}

/*
 * Leak 2 MiB/s for 3 s (6 MiB) and check the map's anon bytes for the
 * workload grew by that, agree with /proc, reach the agent's records with
 * the right comm, and are freed once the process is gone.
 */
static void check_leak(struct memprobe *mp, const char *attach_type)
{
	static const char *const args[] = { "leak", "2048", "3", "30", NULL };
	struct store *s = store__new(8, 10000);
	struct probe_counters c;
	const struct mem_proc *p;
	struct mem_val v0, v1;
	uint64_t leaked, anon, file;
	struct wl w;

	assert_non_null(s);
	if (!memprobe__attached(mp))
		fail_msg("memory probe did not attach: %s", memprobe__reason(mp));
	assert_string_equal(memprobe__attach_type(mp), attach_type);
	wl_start(&w, args);
	sleep_ms(150);
	assert_true(map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v0));
	leaked = wl_leaked(&w);
	assert_int_equal(leaked, 30 * (2048 * 1024 / 10));
	sleep_ms(50);
	assert_true(map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v1));
	if (loose)
		assert_true(v1.bytes[MEM_ANON] >= v0.bytes[MEM_ANON] + leaked / 2 &&
			    v1.bytes[MEM_ANON] <= v0.bytes[MEM_ANON] + 4 * leaked);
	else
		assert_near(v1.bytes[MEM_ANON] - v0.bytes[MEM_ANON],
			    leaked - leaked / 30,	/* the first step preceded v0 */
			    leaked / 10 + (1 << 20), "anon growth in the map");
	status_rss(w.pid, &anon, &file);
	print_message("%s: leaked %llu, anon grew %llu in the map; map anon %llu, "
		      "RssAnon %llu\n", attach_type, (unsigned long long)leaked,
		      (unsigned long long)(v1.bytes[MEM_ANON] - v0.bytes[MEM_ANON]),
		      (unsigned long long)v1.bytes[MEM_ANON], (unsigned long long)anon);
	assert_near(v1.bytes[MEM_ANON], anon, batch_slack(), "map anon vs RssAnon");
	if (v1.seen & (1U << MEM_FILE))
		assert_near(v1.bytes[MEM_FILE], file, batch_slack(), "map file vs RssFile");

	collect(mp, s);
	p = find_proc(mp, (uint32_t)w.pid);
	assert_non_null(p);
	assert_string_equal(p->comm, "memgrow");
	assert_near(p->bytes[MEM_ANON], anon, batch_slack(), "record anon vs RssAnon");

	wl_stop(&w);
	collect(mp, s);
	assert_null(find_proc(mp, (uint32_t)w.pid));
	/* an entry was freed: the tp_btf program's memory of it is cleared */
	if (memprobe__last_fd(mp) >= 0) {
		for (__u32 k = 0; k < MEM_LAST_SLOTS; k++) {
			struct mem_last ml;

			assert_int_equal(bpf_map_lookup_elem(memprobe__last_fd(mp), &k, &ml), 0);
			if (ml.mm == 0)
				continue;
			/* only events after the clear may have filled it again */
			assert_true(k != ((uint32_t)w.pid & (MEM_LAST_SLOTS - 1)));
		}
	}
	assert_false(map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v1));
	memprobe__counters(mp, &c);
	assert_true(c.expired >= 1);
	assert_int_equal(c.hist_full, 0);
	store__free(s);
}

static void test_leak_tp_btf(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct memprobe *mp = memprobe__new(&cfg, &feat);

	(void)state;
	assert_non_null(mp);
	check_leak(mp, "tp_btf");
	memprobe__free(mp);
}

static void test_leak_raw_tp(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct features f = feat;
	struct memprobe *mp;

	(void)state;
	f.ok[FEAT_TP_BTF] = false;
	mp = memprobe__new(&cfg, &f);
	assert_non_null(mp);
	check_leak(mp, "raw_tp");
	memprobe__free(mp);
}

static void test_leak_tracepoint(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct features f = feat;
	struct memprobe *mp;

	(void)state;
	f.ok[FEAT_TP_BTF] = f.ok[FEAT_RAW_TP] = false;
	mp = memprobe__new(&cfg, &f);
	assert_non_null(mp);
	check_leak(mp, "tracepoint");
	memprobe__free(mp);
}

struct series_find {
	const char *name, *pid;
	double v;
	int hits;
};

static void series_cb(const struct store_series_view *sv, void *ctx)
{
	struct series_find *f = ctx;

	if (strcmp(sv->name, f->name))
		return;
	for (size_t i = 0; i < sv->nlabels; i++) {
		if (!strcmp(sv->labels[i].name, "pid") && !strcmp(sv->labels[i].value, f->pid)) {
			f->v = sv->value;
			f->hits++;
		}
	}
}

/*
 * A process that exists before the probe and whose memory does not change
 * has no event, hence no map entry: its record comes from the start-up
 * seed and equals /proc.
 */
static void test_seeded(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384,
				  .pid_label = true };
	struct series_find sf = { "bpfwatch_process_resident_bytes", NULL, 0, 0 };
	char pidstr[16];
	struct store *s = store__new(8, 10000);
	const struct mem_proc *p;
	struct memprobe *mp;
	struct mem_val v;
	uint64_t anon, file;
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	sleep_ms(200);	/* its copy-on-write faults are over */
	mp = memprobe__new(&cfg, &feat);
	assert_true(memprobe__attached(mp));
	collect(mp, s);
	p = find_proc(mp, (uint32_t)pid);
	assert_non_null(p);
	assert_false(map_find(memprobe__map_fd(mp), (uint32_t)pid, &v));
	assert_int_equal(p->key, 0);
	status_rss(pid, &anon, &file);
	assert_int_equal(p->bytes[MEM_ANON], anon);
	assert_int_equal(p->bytes[MEM_FILE], file);
	assert_true(anon > 0);
	/* pid_label: a series of its own */
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	sf.pid = pidstr;
	store__foreach(s, NULL, series_cb, &sf);
	assert_int_equal(sf.hits, 1);
	assert_float_equal(sf.v, (double)(anon + file + p->bytes[MEM_SHMEM]), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	collect(mp, s);
	assert_null(find_proc(mp, (uint32_t)pid));
	memprobe__free(mp);
	store__free(s);
}

/*
 * Memory that goes up and comes back down to exactly where it was (the
 * counters return to an earlier state), then a process that idles: the
 * map must show where it ended, not the peak (the tp_btf program skips
 * events whose counters the map already holds).
 */
static void test_rise_fall_settles(void **state)
{
	static const char *const args[] = { "risefall", "2", "16384", "30", NULL };
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct memprobe *mp = memprobe__new(&cfg, &feat);
	uint64_t anon, file, peak = 0;
	struct mem_val v;
	struct wl w;

	(void)state;
	assert_true(memprobe__attached(mp));
	wl_start(&w, args);
	for (int i = 0; i < 25; i++) {	/* 2.5 s: up, down, then idle */
		sleep_ms(100);
		if (map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v) &&
		    v.bytes[MEM_ANON] > peak)
			peak = v.bytes[MEM_ANON];
	}
	assert_true(peak >= 12ULL << 20);	/* it did go up */
	assert_true(map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v));
	status_rss(w.pid, &anon, &file);
	assert_near(v.bytes[MEM_ANON], anon, batch_slack(), "anon after the fall");
	wl_stop(&w);
	memprobe__free(mp);
}

/* With targets, only the selected process gets an entry. */
static void test_targets(void **state)
{
	static const char *const args[] = { "leak", "1024", "1", "30", NULL };
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct memprobe *mp;
	struct mem_val v;
	struct wl w;
	void *volatile mine;

	(void)state;
	cfg.targets.set = true;
	mp = memprobe__new(&cfg, &feat);
	assert_true(memprobe__attached(mp));
	wl_start(&w, args);
	assert_int_equal(memprobe__add_target(mp, (uint32_t)w.pid), 0);
	wl_leaked(&w);
	mine = malloc(4 << 20);
	assert_non_null(mine);
	memset(mine, 1, 4 << 20);
	assert_true(map_find(memprobe__map_fd(mp), (uint32_t)w.pid, &v));
	/* 1 MiB leaked, less what the shared counter may lag */
	if (v.bytes[MEM_ANON] + batch_slack() < (1 << 20))
		fail_msg("targeted workload: %llu anon bytes in the map",
			 (unsigned long long)v.bytes[MEM_ANON]);
	assert_false(map_find(memprobe__map_fd(mp), (uint32_t)getpid(), &v));
	free(mine);
	wl_stop(&w);
	memprobe__free(mp);
}

/* targets.pids through the agent's own refresh: only that process is
 * recorded, and the selection is reported. */
static void test_targets_pids(void **state)
{
	static const char *const args[] = { "leak", "1024", "1", "30", NULL };
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16384 };
	struct store *s = store__new(8, 10000);
	struct memprobe *mp;
	uint32_t pid;
	size_t n;
	struct wl w;

	(void)state;
	wl_start(&w, args);
	pid = (uint32_t)w.pid;
	cfg.targets.set = true;
	cfg.targets.pids = &pid;
	cfg.targets.npids = 1;
	mp = memprobe__new(&cfg, &feat);
	assert_true(memprobe__attached(mp));
	wl_leaked(&w);
	collect(mp, s);
	assert_int_equal(memprobe__targets(mp), 1);
	assert_non_null(find_proc(mp, pid));
	memprobe__procs(mp, &n);
	assert_int_equal(n, 1);
	wl_stop(&w);
	memprobe__free(mp);
	store__free(s);
}

/* Without any tracepoint variant: /proc sampling, reported as such. */
static void test_procfs_fallback(void **state)
{
	struct memory_cfg cfg = { .enabled = true, .max_entries = 16 };
	struct store *s = store__new(8, 100000);
	struct features none = {};
	const struct mem_proc *p;
	struct memprobe *mp;
	uint64_t anon, file;

	(void)state;
	snprintf(none.reason[FEAT_TP_BTF], sizeof(none.reason[0]), "no BTF");
	snprintf(none.reason[FEAT_RAW_TP], sizeof(none.reason[0]), "no raw_tp");
	snprintf(none.reason[FEAT_TRACEPOINT], sizeof(none.reason[0]), "no tracefs");
	mp = memprobe__new(&cfg, &none);
	assert_non_null(mp);
	assert_false(memprobe__attached(mp));
	assert_string_equal(memprobe__attach_type(mp), "procfs");
	assert_string_equal(memprobe__reason(mp), "tp_btf: no BTF; raw_tp: no raw_tp; "
			    "tracepoint: no tracefs (sampling /proc instead)");
	collect(mp, s);
	p = find_proc(mp, (uint32_t)getpid());
	assert_non_null(p);
	status_rss(getpid(), &anon, &file);
	assert_near(p->bytes[MEM_ANON], anon, 1 << 20, "procfs anon");
	memprobe__free(mp);
	store__free(s);
}

static void test_disabled(void **state)
{
	struct memory_cfg cfg = { .enabled = false, .max_entries = 16 };
	struct memprobe *mp = memprobe__new(&cfg, &feat);

	(void)state;
	assert_false(memprobe__attached(mp));
	assert_string_equal(memprobe__reason(mp), "disabled");
	assert_int_equal(memprobe__map_fd(mp), -1);
	memprobe__free(mp);
}

/*
 * The memgrow workload: the release build's when there is one (the test
 * checks the probe, and an ASan build of the workload adds allocator and
 * shadow pages to its leak), else the one built with this test.
 */
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
	snprintf(workload, sizeof(workload), "%s/../release/workloads/memgrow", out);
	if (access(workload, X_OK) == 0)
		return;
	snprintf(workload, sizeof(workload), "%s/workloads/memgrow", out);
	if (access(workload, X_OK)) {
		fprintf(stderr, "%s: %s (run 'make build-tests')\n", workload,
			strerror(errno));
		exit(1);
	}
	loose = strstr(workload, "/asan/") != NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leak_tp_btf),
		cmocka_unit_test(test_leak_raw_tp),
		cmocka_unit_test(test_leak_tracepoint),
		cmocka_unit_test(test_seeded),
		cmocka_unit_test(test_rise_fall_settles),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_pids),
		cmocka_unit_test(test_procfs_fallback),
		cmocka_unit_test(test_disabled),
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
