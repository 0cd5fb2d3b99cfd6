// SPDX-License-Identifier: GPL-2.0
/*
 * Probe tests: load the real BPF programs through the agent's probe
 * manager on this kernel, create a known pattern, and assert on what the
 * kernel maps hold.  Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>

#include "hist.h"
#include "runqlat.h"
#include "biolat.h"
#include "syslat.h"

#include "config.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "probes.h"

static struct features feat;

static struct probe *attach(enum probe_id id, struct probe_cfg *cfg, bool filter)
{
	struct probe *p;

	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	cfg->max_entries = 4096;
	cfg->targets.set = filter;
	p = probe__new(id, cfg, &feat);
	assert_non_null(p);
	if (!probe__attached(p))
		fail_msg("probe %s did not attach: %s", probe__name(p), probe__reason(p));
	/* tp_btf is available here; the test must exercise the preferred path */
	assert_string_equal(probe__attach_type(p), "tp_btf");
	if (filter)
		assert_int_equal(probe__add_target(p, (uint32_t)getpid()), 0);
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* Sum all map entries whose comm equals @comm (runq and sys keys). */
static int sum_by_comm(int fd, size_t keysz, size_t comm_off, const char *comm,
		       int nr, struct hist *out)
{
	unsigned char key[32], next[32];
	struct hist *h = calloc(1, sizeof(*h));
	int found = 0, more;

	memset(out, 0, sizeof(*out));
	more = bpf_map_get_next_key(fd, NULL, next) == 0;
	while (more) {
		memcpy(key, next, keysz);
		more = bpf_map_get_next_key(fd, key, next) == 0;
		if (strncmp((char *)key + comm_off, comm, BW_COMM_LEN) != 0)
			continue;
		if (nr >= 0 && ((struct sys_key *)key)->nr != (uint32_t)nr)
			continue;
		if (bpf_map_lookup_elem(fd, key, h))
			continue;
		for (int i = 0; i < HIST_SLOTS; i++)
			out->slots[i] += h->slots[i];
		out->sum_ns += h->sum_ns;
		found++;
	}
	free(h);
	return found;
}

/* ---- run-queue latency ------------------------------------------------ */

static volatile int stop_spin;

static void *spinner(void *arg)
{
	cpu_set_t set;

	(void)arg;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	prctl(PR_SET_NAME, "bw-spin");
	while (!stop_spin)
		asm volatile("" ::: "memory");
	return NULL;
}

static void *sleeper(void *arg)
{
	struct timespec ts = { 0, 1000000 };

	(void)arg;
	prctl(PR_SET_NAME, "bw-sleep");
	for (int i = 0; i < 200; i++)
		nanosleep(&ts, NULL);
	return NULL;
}

/*
 * Two threads spinning on one CPU: at any moment one runs and the other
 * waits on the run queue, so together they wait about as long as the run
 * lasts.  A thread sleeping 1 ms 200 times is woken (and measured) 200
 * times.
 */
static void test_runqueue(void **state)
{
	struct probe_cfg cfg;
	struct probe *p;
	pthread_t t[3];
	struct hist *h = calloc(1, sizeof(*h));
	double t0, wall;
	uint64_t n;

	(void)state;
	p = attach(PROBE_RUNQ, &cfg, true);
	t0 = now_s();
	stop_spin = 0;
	pthread_create(&t[0], NULL, spinner, NULL);
	pthread_create(&t[1], NULL, spinner, NULL);
	pthread_create(&t[2], NULL, sleeper, NULL);
	pthread_join(t[2], NULL);
	usleep(300000);
	stop_spin = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	wall = now_s() - t0;

	assert_int_not_equal(sum_by_comm(probe__hist_fd(p), sizeof(struct runq_key),
					 offsetof(struct runq_key, comm), "bw-sleep",
					 -1, h), 0);
	n = hist_count(h);
	/* A wakeup that lands before the sleeper has left the CPU does not
	 * make it wait (it never switches out): allow 5% of those. */
	printf("# bw-sleep: %llu run-queue waits recorded (expected 190..220)\n",
	       (unsigned long long)n);
	assert_true(n >= 190 && n <= 220);

	assert_int_not_equal(sum_by_comm(probe__hist_fd(p), sizeof(struct runq_key),
					 offsetof(struct runq_key, comm), "bw-spin",
					 -1, h), 0);
	printf("# bw-spin: waited %.3f s over a %.3f s run (expected about 1x)\n",
	       (double)h->sum_ns / 1e9, wall);
	assert_true((double)h->sum_ns / 1e9 > 0.4 * wall);
	assert_true((double)h->sum_ns / 1e9 < 2.5 * wall);
	probe__free(p);
	free(h);
}

/* ---- block I/O latency -------------------------------------------------- */

/* Whole-disk dev_t (kernel encoding) holding @path. */
static uint32_t disk_of(const char *path)
{
	char sys[128], buf[64];
	unsigned int maj, min;
	struct stat st;
	FILE *f;

	assert_int_equal(stat(path, &st), 0);
	maj = major(st.st_dev);
	min = minor(st.st_dev);
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", maj, min);
	if (access(sys, F_OK) == 0) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/../dev", maj, min);
		f = fopen(sys, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_int_equal(sscanf(buf, "%u:%u", &maj, &min), 2);
	}
	return (maj << 20) | min;
}

static void test_block_io(void **state)
{
	const size_t chunk = 64 * 1024, nchunks = 64;
	struct probe_cfg cfg;
	struct probe *p;
	struct bio_key key = {};
	struct hist *h = calloc(1, sizeof(*h));
	char path[] = ".output/bw-bio-XXXXXX";
	void *buf = NULL;
	uint64_t reads, writes;
	int fd;

	(void)state;
	p = attach(PROBE_BIO, &cfg, false);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT | O_SYNC);
	if (fd < 0)
		fail_msg("O_DIRECT open of %s: %s", path, strerror(errno));
	assert_int_equal(posix_memalign(&buf, 4096, chunk), 0);
	memset(buf, 0x5a, chunk);
	for (size_t i = 0; i < nchunks; i++)
		assert_int_equal(pwrite(fd, buf, chunk, (off_t)(i * chunk)), (ssize_t)chunk);
	for (size_t i = 0; i < nchunks; i++)
		assert_int_equal(pread(fd, buf, chunk, (off_t)(i * chunk)), (ssize_t)chunk);
	close(fd);

	key.dev = disk_of(path);
	unlink(path);
	key.op = 0;	/* REQ_OP_READ */
	assert_int_equal(bpf_map_lookup_elem(probe__hist_fd(p), &key, h), 0);
	reads = hist_count(h);
	key.op = 1;	/* REQ_OP_WRITE */
	assert_int_equal(bpf_map_lookup_elem(probe__hist_fd(p), &key, h), 0);
	writes = hist_count(h);
	printf("# device %u:%u: %llu reads, %llu writes (expected >= %zu each)\n",
	       key.dev >> 20, key.dev & 0xfffff, (unsigned long long)reads,
	       (unsigned long long)writes, nchunks);
	assert_true(reads >= nchunks);
	assert_true(writes >= nchunks);
	assert_true(h->sum_ns > 0);
	free(buf);
	free(h);
	probe__free(p);
}

/* ---- syscall latency ----------------------------------------------------- */

static void test_syscall_nanosleep(void **state)
{
	struct timespec ts = { 0, 10 * 1000000 };
	struct probe_cfg cfg;
	struct probe *p;
	struct hist *h = calloc(1, sizeof(*h));
	uint32_t want, got;
	char comm[16] = "bw-nanosleep";

	(void)state;
	prctl(PR_SET_NAME, comm);
	p = attach(PROBE_SYSCALL, &cfg, true);
	for (int i = 0; i < 21; i++)
		nanosleep(&ts, NULL);
	assert_int_not_equal(sum_by_comm(probe__hist_fd(p), sizeof(struct sys_key),
					 offsetof(struct sys_key, comm), comm,
					 SYS_clock_nanosleep, h), 0);
	assert_int_equal(hist_count(h), 21);
	want = hist_slot(hist_ns_to_units(10 * 1000000ULL));
	got = hist_quantile_slot(h, 0.5);
	printf("# nanosleep(10ms): p50 in slot %u [%.3f ms, %.3f ms), 10 ms is slot %u\n",
	       got, (double)hist_slot_lower(got) / HIST_UNITS_PER_SEC * 1e3,
	       (double)hist_slot_lower(got + 1) / HIST_UNITS_PER_SEC * 1e3, want);
	assert_true(got + 1 >= want && got <= want + 1);
	/* The filter works: this process was traced, the rest were not. */
	free(h);
	probe__free(p);
}

/* A disabled probe is reported, not attached, and costs nothing. */
static void test_disabled(void **state)
{
	struct probe_cfg cfg = { .enabled = false, .max_entries = 16 };
	struct probe *p = probe__new(PROBE_SYSCALL, &cfg, &feat);

	(void)state;
	assert_non_null(p);
	assert_false(probe__attached(p));
	assert_string_equal(probe__reason(p), "disabled");
	assert_int_equal(probe__hist_fd(p), -1);
	probe__free(p);
}

/* Without any usable attach type, the reason names each one tried. */
static void test_no_attach_type(void **state)
{
	struct features none = {};
	struct probe_cfg cfg = { .enabled = true, .max_entries = 16 };
	struct probe *p;

	(void)state;
	snprintf(none.reason[FEAT_TP_BTF], sizeof(none.reason[0]), "no BTF here");
	snprintf(none.reason[FEAT_RAW_TP], sizeof(none.reason[0]), "no raw_tp here");
	p = probe__new(PROBE_RUNQ, &cfg, &none);
	assert_non_null(p);
	assert_false(probe__attached(p));
	assert_string_equal(probe__reason(p), "tp_btf: no BTF here; raw_tp: no raw_tp here");
	probe__free(p);
}

/* The raw_tp fallback loads and records too. */
static void test_raw_tp_fallback(void **state)
{
	struct features f = feat;
	struct probe_cfg cfg = { .enabled = true, .max_entries = 64 };
	struct probe *p;
	struct hist *h = calloc(1, sizeof(*h));

	(void)state;
	f.ok[FEAT_TP_BTF] = false;
	snprintf(f.reason[FEAT_TP_BTF], sizeof(f.reason[0]), "pretend missing");
	cfg.targets.set = true;
	p = probe__new(PROBE_SYSCALL, &cfg, &f);
	assert_true(probe__attached(p));
	assert_string_equal(probe__attach_type(p), "raw_tp");
	assert_int_equal(probe__add_target(p, (uint32_t)getpid()), 0);
	prctl(PR_SET_NAME, "bw-rawtp");
	for (int i = 0; i < 10; i++)
		syscall(SYS_getppid);
	assert_int_not_equal(sum_by_comm(probe__hist_fd(p), sizeof(struct sys_key),
					 offsetof(struct sys_key, comm), "bw-rawtp",
					 SYS_getppid, h), 0);
	assert_int_equal(hist_count(h), 10);
	probe__free(p);

	/* The other families' raw_tp variants load and record as well. */
	p = probe__new(PROBE_RUNQ, &cfg, &f);
	assert_true(probe__attached(p));
	assert_string_equal(probe__attach_type(p), "raw_tp");
	assert_int_equal(probe__add_target(p, (uint32_t)getpid()), 0);
	for (int i = 0; i < 10; i++)
		usleep(1000);
	/* Each sleep is a wakeup then a switch in, recorded; on a loaded
	 * machine a timer can expire before the task gets to sleep, so not
	 * necessarily all ten. */
	assert_true(sum_by_comm(probe__hist_fd(p), sizeof(struct runq_key),
				offsetof(struct runq_key, comm), "bw-rawtp", -1, h) > 0);
	assert_true(hist_count(h) >= 5);
	probe__free(p);
	cfg.targets.set = false;
	p = probe__new(PROBE_BIO, &cfg, &f);
	assert_true(probe__attached(p));
	assert_string_equal(probe__attach_type(p), "raw_tp");
	probe__free(p);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runqueue),
		cmocka_unit_test(test_block_io),
		cmocka_unit_test(test_syscall_nanosleep),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_no_attach_type),
		cmocka_unit_test(test_raw_tp_fallback),
	};
	char why[256];

	if (geteuid() != 0) {
		fprintf(stderr, "probe tests need root\n");
		return 1;
	}
	libbpf_glue__init();
	log_set_level(LOG_WARN);
	tracefs__ensure(why, sizeof(why));
	features__probe(&feat);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
