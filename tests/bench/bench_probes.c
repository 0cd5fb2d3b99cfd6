// SPDX-License-Identifier: GPL-2.0
/*
 * bench_probes: what each bpfwatch probe costs per event, next to the floor
 * of an empty BPF program on the same hook, measured in the same run.
 *
 *   (a) empty tp_btf program on each hook: run_time_ns / run_cnt
 *   (b) each bpfwatch program (agent probe manager, all processes traced):
 *       run_time_ns / run_cnt, under the same load
 *   (c) syscalls end to end: ns per getppid() untraced, with empty programs
 *       attached, and with the syscall probe attached (with and without
 *       BPF run-time stats, which the agent keeps on; and restricted to
 *       targets that do not include the caller)
 *   (d) uprobes end to end: ns per call of a function of this binary (the
 *       agent's calibration targets, agent/calib.c, one starting with an
 *       instruction the kernel emulates, one with an instruction it
 *       single-steps) untraced, with an empty uprobe, an empty uprobe +
 *       uretprobe, and bpfwatch's function probe; next to what the
 *       agent's calibration estimates for the function probe, and how
 *       long detaching takes
 *
 * A benchmark, not a test: nothing fails on a time.  It exits non-zero only
 * when something could not be measured (not root, a probe did not attach).
 *
 * Configurations are attached one at a time and alternated between rounds,
 * so they never add up and slow drift hits all of them alike.  BPF links
 * are fd-based: the kernel detaches everything when this process dies,
 * however it dies.  The block I/O scratch file is unlinked as soon as it is
 * open.  SIGINT/SIGTERM/SIGHUP only set a flag; the load loops check it and
 * the normal cleanup path runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "calib.skel.h"
#include "empty.skel.h"

#include "calib.h"
#include "config.h"
#include "funcprobe.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "probes.h"

#define MAX_ROUNDS	15
#define MAX_HOOKS	4
#define BIO_BLOCK	4096
#define BIO_FILE_BLOCKS	256		/* 1 MiB scratch file */
#define FEW_EVENTS	100		/* below this, a per-event figure is noise */

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* Bench parameters (command line) and the state the load generators share. */
struct bench {
	unsigned int rounds;		/* rounds of (a)/(b), median reported */
	unsigned long long syscalls;	/* getppid per (c) run and per (a)/(b) round */
	unsigned int e2e_runs;		/* (c): best of this many */
	unsigned long long switches;	/* ping-pong round trips per round */
	unsigned int bio_ops;		/* 4 KiB writes, then as many reads */
	unsigned int uprobe_calls;	/* (d): calls per run */
	const char *dir;		/* where the block I/O scratch file lives */
	int bio_fd;			/* O_DIRECT|O_SYNC, unlinked */
	void *bio_buf;
	int stats_fd;			/* BPF_STATS_RUN_TIME held while >= 0 */
	struct features feat;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- load generators: 0, or -EINTR when interrupted ------------------- */

static int load_syscalls(struct bench *b)
{
	for (unsigned long long i = 0; i < b->syscalls; i++) {
		if ((i & 4095) == 0 && stop_sig)
			return -EINTR;
		syscall(SYS_getppid);
	}
	return 0;
}

struct pong {
	int rd, wr;
};

/* Echo every byte back until the other side closes its end. */
static void *pong_thread(void *arg)
{
	struct pong *p = arg;
	char c;

	while (read(p->rd, &c, 1) == 1)
		if (write(p->wr, &c, 1) != 1)
			break;
	return NULL;
}

/*
 * Two threads bouncing a byte over two pipes: every round trip is two
 * wakeups and at least two context switches.  The pong thread blocks all
 * signals, so an interrupt lands here, breaks the loop, and closing our
 * write end ends the pong thread.
 */
static int load_switches(struct bench *b)
{
	int to_pong[2], to_ping[2], err = 0;
	sigset_t all, old;
	struct pong p;
	pthread_t t;
	char c = 'x';

	if (pipe2(to_pong, O_CLOEXEC))
		return -errno;
	if (pipe2(to_ping, O_CLOEXEC)) {
		err = -errno;
		goto err_close_pong;
	}
	p.rd = to_pong[0];
	p.wr = to_ping[1];
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&t, NULL, pong_thread, &p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto err_close_ping;
	for (unsigned long long i = 0; i < b->switches && !stop_sig; i++) {
		if (write(to_pong[1], &c, 1) != 1 || read(to_ping[0], &c, 1) != 1) {
			err = errno == EINTR ? 0 : -errno;
			break;
		}
	}
	close(to_pong[1]);
	to_pong[1] = -1;
	pthread_join(t, NULL);
	if (!err && stop_sig)
		err = -EINTR;
err_close_ping:
	close(to_ping[0]);
	close(to_ping[1]);
err_close_pong:
	close(to_pong[0]);
	if (to_pong[1] >= 0)
		close(to_pong[1]);
	return err;
}

/* bio_ops synchronous 4 KiB direct writes, then as many direct reads. */
static int load_blockio(struct bench *b)
{
	for (unsigned int i = 0; i < 2 * b->bio_ops; i++) {
		off_t off = (off_t)(i % BIO_FILE_BLOCKS) * BIO_BLOCK;
		ssize_t n;

		if (stop_sig)
			return -EINTR;
		if (i < b->bio_ops)
			n = pwrite(b->bio_fd, b->bio_buf, BIO_BLOCK, off);
		else
			n = pread(b->bio_fd, b->bio_buf, BIO_BLOCK, off);
		if (n != BIO_BLOCK)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/*
 * Scratch file for block I/O in @b->dir: written once through the page
 * cache and synced (so the measured writes overwrite allocated blocks),
 * reopened O_DIRECT|O_SYNC and unlinked at once, so it cannot outlive us.
 */
static int bio_setup(struct bench *b)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/bench-bio-XXXXXX", b->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	b->bio_fd = open(path, O_RDWR | O_DIRECT | O_SYNC | O_CLOEXEC);
	if (b->bio_fd < 0)
		err = -errno;
	unlink(path);
	if (err)
		goto err_close;
	err = posix_memalign(&b->bio_buf, BIO_BLOCK, BIO_BLOCK);
	if (err) {
		b->bio_buf = NULL;
		err = -err;
		goto err_close;
	}
	memset(b->bio_buf, 0x5a, BIO_BLOCK);
	for (int i = 0; i < BIO_FILE_BLOCKS; i++) {
		if (write(fd, b->bio_buf, BIO_BLOCK) != BIO_BLOCK) {
			err = -errno;
			goto err_close;
		}
	}
	if (fsync(fd)) {
		err = -errno;
		goto err_close;
	}
	if (fstat(fd, &st) == 0 && major(st.st_dev) == 0)
		printf("# warning: %s is not on a block device (tmpfs?): block events "
		       "come only from other activity\n", b->dir);
	close(fd);
	return 0;

err_close:
	close(fd);
	return err;
}

static void bio_teardown(struct bench *b)
{
	if (b->bio_fd >= 0)
		close(b->bio_fd);
	b->bio_fd = -1;
	free(b->bio_buf);
	b->bio_buf = NULL;
}

/* ---- BPF run-time stats ------------------------------------------------- */

struct sample {
	uint64_t cnt, ns;
};

static int prog_sample(int fd, struct sample *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	s->cnt = info.run_cnt;
	s->ns = info.run_time_ns;
	return 0;
}

static int stats_on(struct bench *b)
{
	if (b->stats_fd >= 0)
		return 0;
	b->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return b->stats_fd < 0 ? b->stats_fd : 0;
}

static void stats_off(struct bench *b)
{
	if (b->stats_fd >= 0)
		close(b->stats_fd);
	b->stats_fd = -1;
}

/* ---- empty programs ------------------------------------------------------ */

struct empty {
	struct empty_bpf *skel;
	struct bpf_program *prog;
	struct bpf_link *link;
};

/*
 * Load one program of empty.bpf.o and attach it to tp_btf/@hook.  The
 * object has one program per hook family; for the other hooks of a family
 * (sched_wakeup, sys_exit, block_rq_issue) the same empty body is retargeted
 * with bpf_program__set_attach_target() before load, so every hook has its
 * own floor.  0 or -errno.
 */
static int empty__attach(struct empty *e, const char *hook)
{
	struct bpf_program *prog;
	int err;

	memset(e, 0, sizeof(*e));
	e->skel = empty_bpf__open();
	if (!e->skel)
		return -errno;
	if (strncmp(hook, "sched_", 6) == 0)
		e->prog = e->skel->progs.empty_sched_switch;
	else if (strncmp(hook, "block_", 6) == 0)
		e->prog = e->skel->progs.empty_rq_complete;
	else
		e->prog = e->skel->progs.empty_sys_enter;
	bpf_object__for_each_program(prog, e->skel->obj)
		bpf_program__set_autoload(prog, prog == e->prog);
	err = bpf_program__set_attach_target(e->prog, 0, hook);
	if (!err)
		err = empty_bpf__load(e->skel);
	if (err)
		goto err_destroy;
	e->link = bpf_program__attach(e->prog);
	if (!e->link) {
		err = -errno;
		goto err_destroy;
	}
	return 0;

err_destroy:
	empty_bpf__destroy(e->skel);
	e->skel = NULL;
	return err;
}

static void empty__detach(struct empty *e)
{
	bpf_link__destroy(e->link);
	empty_bpf__destroy(e->skel);
	memset(e, 0, sizeof(*e));
}

static int empty__sample(const struct empty *e, struct sample *s)
{
	return prog_sample(bpf_program__fd(e->prog), s);
}

/* ---- (a) + (b): per-event cost, per hook --------------------------------- */

struct family {
	enum probe_id id;
	const char *object;		/* runqlat, biolat, syslat */
	const char *hooks[MAX_HOOKS];	/* tracepoints its programs use */
	int (*load)(struct bench *b);
	const char *load_desc;
};

static const struct family families[] = {
	{ PROBE_RUNQ, "runqlat", { "sched_wakeup", "sched_wakeup_new", "sched_switch" },
	  load_switches, "two threads ping-ponging a byte over pipes" },
	{ PROBE_BIO, "biolat", { "block_rq_issue", "block_rq_complete" },
	  load_blockio, "O_DIRECT|O_SYNC 4 KiB pwrite then pread" },
	{ PROBE_SYSCALL, "syslat", { "sys_enter", "sys_exit" },
	  load_syscalls, "getppid() loop" },
};

struct row {
	const struct family *fam;
	const char *hook;
	char prog[64];
	int hook_idx;
	struct sample probe[MAX_ROUNDS];
	struct sample empty[MAX_ROUNDS];
};

static double per_event(const struct sample *s)
{
	return s->cnt ? (double)s->ns / (double)s->cnt : 0.0;
}

/* Index of the round with the median ns/event (lower median). */
static unsigned int median_round(const struct sample *s, unsigned int n)
{
	unsigned int idx[MAX_ROUNDS];

	for (unsigned int i = 0; i < n; i++)
		idx[i] = i;
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j > 0 &&
		     per_event(&s[idx[j - 1]]) > per_event(&s[idx[j]]); j--) {
			unsigned int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return idx[(n - 1) / 2];
}

static bool ends_with_hook(const char *prog, const char *hook)
{
	size_t lp = strlen(prog), lh = strlen(hook);

	return lp > lh && prog[lp - lh - 1] == '_' && strcmp(prog + lp - lh, hook) == 0;
}

/* One round with the empty programs on every hook of @f. */
static int round_empty(struct bench *b, const struct family *f, int nhooks,
		       struct sample *out)
{
	struct empty e[MAX_HOOKS] = {};
	struct sample before[MAX_HOOKS] = {}, after;
	int err = 0, n;

	for (n = 0; n < nhooks; n++) {
		err = empty__attach(&e[n], f->hooks[n]);
		if (err) {
			fprintf(stderr, "bench: empty program on tp_btf/%s: attach: %s\n",
				f->hooks[n], strerror(-err));
			goto out;
		}
	}
	for (int i = 0; i < nhooks; i++)
		empty__sample(&e[i], &before[i]);
	err = f->load(b);
	for (int i = 0; !err && i < nhooks; i++) {
		err = empty__sample(&e[i], &after);
		out[i].cnt = after.cnt - before[i].cnt;
		out[i].ns = after.ns - before[i].ns;
	}
out:
	while (n-- > 0)
		empty__detach(&e[n]);
	return err;
}

/* One round with the bpfwatch probe of @f; rows are created in round 0. */
static int round_probe(struct bench *b, const struct family *f, unsigned int r,
		       struct row *rows, int *nrows, int maxrows)
{
	struct probe_cfg cfg = { .enabled = true, .max_entries = 4096 };
	struct probe_prog_stats st0[PROBE_MAX_PROGS], st1[PROBE_MAX_PROGS];
	struct probe *p;
	int n0, n1, err;

	p = probe__new(f->id, &cfg, &b->feat);
	if (!p)
		return -errno;
	if (!probe__attached(p)) {
		fprintf(stderr, "bench: probe %s did not attach: %s\n", probe__name(p),
			probe__reason(p));
		probe__free(p);
		return -ENOENT;
	}
	if (r == 0 && strcmp(probe__attach_type(p), "tp_btf") != 0)
		printf("# note: %s attached as %s, the empty floor is tp_btf\n",
		       probe__name(p), probe__attach_type(p));
	n0 = probe__prog_stats(p, st0, PROBE_MAX_PROGS);
	err = f->load(b);
	n1 = probe__prog_stats(p, st1, PROBE_MAX_PROGS);
	for (int i = 0; !err && i < n1; i++) {
		struct row *row = NULL;

		for (int j = 0; j < *nrows; j++)
			if (rows[j].fam == f && strcmp(rows[j].prog, st1[i].name) == 0)
				row = &rows[j];
		if (!row && r == 0 && *nrows < maxrows) {
			row = &rows[(*nrows)++];
			row->fam = f;
			snprintf(row->prog, sizeof(row->prog), "%s", st1[i].name);
			row->hook = "?";
			row->hook_idx = -1;
			for (int h = 0; h < MAX_HOOKS && f->hooks[h]; h++)
				if (ends_with_hook(st1[i].name, f->hooks[h])) {
					row->hook = f->hooks[h];
					row->hook_idx = h;
				}
		}
		if (!row)
			continue;
		row->probe[r].cnt = st1[i].run_cnt;
		row->probe[r].ns = st1[i].run_time_ns;
		for (int j = 0; j < n0; j++)
			if (strcmp(st0[j].name, st1[i].name) == 0) {
				row->probe[r].cnt -= st0[j].run_cnt;
				row->probe[r].ns -= st0[j].run_time_ns;
			}
	}
	probe__free(p);
	return err;
}

static int bench_per_event(struct bench *b)
{
	struct row rows[16] = {};
	struct sample empty[MAX_ROUNDS][sizeof(families) / sizeof(families[0])][MAX_HOOKS] = {};
	int nrows = 0, err = 0;
	uint64_t t0 = mono_ns();
	bool few = false;

	err = stats_on(b);
	if (err) {
		fprintf(stderr, "bench: BPF_ENABLE_STATS: %s\n", strerror(-err));
		return err;
	}
	for (size_t fi = 0; fi < sizeof(families) / sizeof(families[0]); fi++) {
		const struct family *f = &families[fi];
		int nhooks = 0;

		while (nhooks < MAX_HOOKS && f->hooks[nhooks])
			nhooks++;
		fprintf(stderr, "bench: %s: %u rounds\n", f->object, b->rounds);
		/* Alternate which goes first so drift hits both alike. */
		for (unsigned int r = 0; r < b->rounds; r++) {
			if (r % 2 == 0)
				err = round_empty(b, f, nhooks, empty[r][fi]);
			if (!err)
				err = round_probe(b, f, r, rows, &nrows,
						  sizeof(rows) / sizeof(rows[0]));
			if (!err && r % 2 == 1)
				err = round_empty(b, f, nhooks, empty[r][fi]);
			if (err)
				return err;
		}
		for (int i = 0; i < nrows; i++) {
			if (rows[i].fam != f || rows[i].hook_idx < 0)
				continue;
			for (unsigned int r = 0; r < b->rounds; r++)
				rows[i].empty[r] = empty[r][fi][rows[i].hook_idx];
		}
	}

	printf("\n## In-kernel cost per event (BPF run-time stats, all processes traced)\n");
	printf("# median of %u rounds; range = min..max ns/event of the bpfwatch program "
	       "over the rounds; %.0f s\n", b->rounds, (double)(mono_ns() - t0) / 1e9);
	for (size_t fi = 0; fi < sizeof(families) / sizeof(families[0]); fi++)
		printf("# %s load: %s\n", families[fi].object, families[fi].load_desc);
	printf("\n%-18s %-26s %9s %9s %15s %14s %22s\n", "hook", "program", "events",
	       "ns/event", "range", "empty ns/event", "overhead over empty");
	for (int i = 0; i < nrows; i++) {
		struct row *row = &rows[i];
		unsigned int mp = median_round(row->probe, b->rounds);
		unsigned int me = median_round(row->empty, b->rounds);
		double lo = 1e18, hi = 0, pe = per_event(&row->probe[mp]);
		double ee = per_event(&row->empty[me]);
		char range[32], over[32];

		for (unsigned int r = 0; r < b->rounds; r++) {
			double v = per_event(&row->probe[r]);

			if (!row->probe[r].cnt)
				continue;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		if (!row->probe[mp].cnt) {
			printf("%-18s %-26s %9d %9s %15s %14s %22s\n", row->hook, row->prog,
			       0, "-", "-", "-", "no events");
			continue;
		}
		snprintf(range, sizeof(range), "%.1f..%.1f", lo, hi);
		if (row->empty[me].cnt)
			snprintf(over, sizeof(over), "%+.1f ns (%.1fx)", pe - ee, pe / ee);
		else
			snprintf(over, sizeof(over), "no empty events");
		printf("%-18s %-26s %9llu %9.1f %15s %14.1f %22s%s\n", row->hook, row->prog,
		       (unsigned long long)row->probe[mp].cnt, pe, range, ee, over,
		       row->probe[mp].cnt < FEW_EVENTS ? " *" : "");
		few |= row->probe[mp].cnt < FEW_EVENTS;
	}
	if (few)
		printf("# * fewer than %d events in the round: the figure is anecdotal\n",
		       FEW_EVENTS);
	return 0;
}

/* ---- (c): a syscall end to end ------------------------------------------- */

enum e2e_cfg {
	E2E_UNTRACED = 0,
	E2E_EMPTY_ENTER,
	E2E_EMPTY_BOTH,
	E2E_SYSLAT,
	E2E_SYSLAT_NOSTATS,
	E2E_SYSLAT_FILTERED,
	E2E__COUNT,
};

static const char *const e2e_names[E2E__COUNT] = {
	[E2E_UNTRACED] = "untraced",
	[E2E_EMPTY_ENTER] = "empty prog on sys_enter",
	[E2E_EMPTY_BOTH] = "empty progs on sys_enter+sys_exit",
	[E2E_SYSLAT] = "bpfwatch syslat (all processes)",
	[E2E_SYSLAT_NOSTATS] = "bpfwatch syslat, BPF stats off",
	[E2E_SYSLAT_FILTERED] = "bpfwatch syslat, caller not a target",
};

/* ns per getppid() over b->syscalls calls, or a negative errno. */
static double time_getppid(struct bench *b)
{
	uint64_t t0 = mono_ns();

	if (load_syscalls(b))
		return -EINTR;
	return (double)(mono_ns() - t0) / (double)b->syscalls;
}

/*
 * One run of configuration @c: attach, time the loop, detach.  *stats_leak
 * is set when the syscall probe accumulated run time although we had
 * turned stats off (another process holds them on): that run did not
 * measure what it says.
 */
static int e2e_run(struct bench *b, enum e2e_cfg c, double *ns, bool *stats_leak)
{
	struct probe_cfg cfg = { .enabled = true, .max_entries = 4096 };
	struct probe_prog_stats st0[PROBE_MAX_PROGS], st1[PROBE_MAX_PROGS];
	struct empty e[2] = {};
	struct probe *p = NULL;
	int ne = 0, n0 = 0, n1, err = 0;

	*stats_leak = false;
	if (c == E2E_EMPTY_ENTER || c == E2E_EMPTY_BOTH) {
		err = empty__attach(&e[0], "sys_enter");
		if (!err)
			ne = 1;
		if (!err && c == E2E_EMPTY_BOTH) {
			err = empty__attach(&e[1], "sys_exit");
			if (!err)
				ne = 2;
		}
	} else if (c != E2E_UNTRACED) {
		/* A targets block with no process in it: what a process that is
		 * not a target pays when the probe is restricted. */
		cfg.targets.set = c == E2E_SYSLAT_FILTERED;
		p = probe__new(PROBE_SYSCALL, &cfg, &b->feat);
		if (!p)
			err = -errno;
		else if (!probe__attached(p))
			err = -ENOENT;
	}
	if (err)
		goto out;
	if (c == E2E_SYSLAT_NOSTATS) {
		stats_off(b);
		n0 = probe__prog_stats(p, st0, PROBE_MAX_PROGS);
	}
	*ns = time_getppid(b);
	if (*ns < 0)
		err = -EINTR;
	if (c == E2E_SYSLAT_NOSTATS) {
		n1 = probe__prog_stats(p, st1, PROBE_MAX_PROGS);
		for (int i = 0; i < n0 && i < n1; i++)
			if (st1[i].run_time_ns != st0[i].run_time_ns)
				*stats_leak = true;
		if (!err)
			err = stats_on(b);
	}
out:
	while (ne-- > 0)
		empty__detach(&e[ne]);
	probe__free(p);
	return err;
}

static int bench_syscall_e2e(struct bench *b)
{
	double best[E2E__COUNT];
	unsigned int leaked = 0;
	uint64_t t0 = mono_ns();
	int err;

	for (int c = 0; c < E2E__COUNT; c++)
		best[c] = 1e18;
	fprintf(stderr, "bench: syscall end to end: %u runs x %d configurations x %llu calls\n",
		b->e2e_runs, E2E__COUNT, b->syscalls);
	/* Round-robin over configurations: a noisy second hurts one run of
	 * each, and best-of-N discards it. */
	for (unsigned int r = 0; r < b->e2e_runs; r++) {
		for (int c = 0; c < E2E__COUNT; c++) {
			bool leak;
			double ns = 0;

			err = e2e_run(b, (enum e2e_cfg)c, &ns, &leak);
			if (err) {
				if (err != -EINTR)
					fprintf(stderr, "bench: %s: %s\n", e2e_names[c],
						strerror(-err));
				return err;
			}
			if (leak)
				leaked++;
			else if (ns < best[c])
				best[c] = ns;
		}
	}

	printf("\n## Syscall end to end: ns per getppid() seen by the caller\n");
	printf("# best of %u runs of %llu calls each, configurations attached one at a "
	       "time, round-robin; BPF stats on (as the agent runs) unless said; %.0f s\n",
	       b->e2e_runs, b->syscalls, (double)(mono_ns() - t0) / 1e9);
	printf("\n%-36s %12s %18s\n", "configuration", "ns/getppid", "over untraced");
	for (int c = 0; c < E2E__COUNT; c++) {
		char over[32] = "-";

		if (best[c] >= 1e18) {
			printf("%-36s %12s %18s\n", e2e_names[c], "-", "no valid run");
			continue;
		}
		if (c != E2E_UNTRACED)
			snprintf(over, sizeof(over), "%+.1f ns (%+.1f%%)",
				 best[c] - best[E2E_UNTRACED],
				 100.0 * (best[c] / best[E2E_UNTRACED] - 1.0));
		printf("%-36s %12.1f %18s\n", e2e_names[c], best[c], over);
	}
	if (leaked)
		printf("# note: in %u of %u 'stats off' runs another process (a running "
		       "bpfwatch?) held BPF stats on; those runs were discarded\n",
		       leaked, b->e2e_runs);
	return 0;
}

/* ---- (d): uprobes end to end ---------------------------------------------- */

enum up_cfg {
	UP_UNTRACED = 0,
	UP_UPROBE,
	UP_BOTH,
	UP_FUNCPROBE,
	UP__COUNT,
};

static const char *const up_names[UP__COUNT] = {
	[UP_UNTRACED] = "untraced",
	[UP_UPROBE] = "empty uprobe",
	[UP_BOTH] = "empty uprobe + uretprobe",
	[UP_FUNCPROBE] = "bpfwatch function probe",
};

/* The targets measured: one the kernel emulates, one it single-steps. */
static const enum calib_insn up_targets[] = { CALIB_PUSH, CALIB_OTHER };
#define UP_NTARGETS (sizeof(up_targets) / sizeof(up_targets[0]))

struct up_result {
	double best[UP__COUNT];		/* ns per call, best run */
	double detach_ms[UP__COUNT];	/* longest detach of a configuration */
	double bpf_ns;			/* function probe: in-kernel ns per call */
	double estimate;		/* calibration: uprobe + return, ns */
};

static double now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

/*
 * One run of configuration @c on @insn's target: attach, time the calls,
 * detach (timed: a uprobe detach waits for an RCU grace period).
 * *@bpf_ns: in-kernel ns per call of the function probe's programs.
 */
static int up_run(struct bench *b, struct calib_bpf *skel, const char *exe,
		  enum calib_insn insn, enum up_cfg c, double *ns, double *detach_ms,
		  double *bpf_ns)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);
	struct probe_prog_stats st0[4], st1[4];
	struct func_cfg fn = {
		.kind = FUNC_UPROBE, .name = "bench", .binary = (char *)exe,
		.symbol = (char *)calib__target_name(insn),
	};
	struct bpf_link *l[2] = {};
	struct funcprobe *fp = NULL;
	struct funcprobe_status fs;
	uint64_t t;
	size_t off;
	int err, n0 = 0, n1;
	double t0;

	err = calib__target_offset(insn, &off);
	if (err)
		return err;
	if (c == UP_UPROBE || c == UP_BOTH) {
		l[0] = bpf_program__attach_uprobe_opts(skel->progs.calib_uprobe, getpid(),
						       "/proc/self/exe", off, &o);
		if (!l[0])
			return -errno;
		o.retprobe = true;
		if (c == UP_BOTH) {
			l[1] = bpf_program__attach_uprobe_opts(skel->progs.calib_uretprobe,
							       getpid(), "/proc/self/exe",
							       off, &o);
			if (!l[1]) {
				err = -errno;
				bpf_link__destroy(l[0]);
				return err;
			}
		}
	} else if (c == UP_FUNCPROBE) {
		fp = funcprobe__new(&fn, 1, &b->feat);
		if (!fp)
			return -errno;
		funcprobe__status(fp, 0, &fs);
		if (!fs.attached) {
			fprintf(stderr, "bench: function probe on %s: %s\n", fn.symbol,
				fs.reason);
			funcprobe__free(fp);
			return -ENOENT;
		}
		n0 = funcprobe__prog_stats(fp, st0, 4);
	}
	if (stop_sig) {
		err = -EINTR;
		goto out;
	}
	t = calib__time_calls(insn, b->uprobe_calls);
	*ns = (double)t / (double)b->uprobe_calls;
	if (fp) {
		uint64_t run_ns = 0;

		n1 = funcprobe__prog_stats(fp, st1, 4);
		for (int i = 0; i < n1; i++)
			run_ns += st1[i].run_time_ns - (i < n0 ? st0[i].run_time_ns : 0);
		*bpf_ns = (double)run_ns / (double)b->uprobe_calls;
	}
out:
	t0 = now_ms();
	bpf_link__destroy(l[1]);
	bpf_link__destroy(l[0]);
	funcprobe__free(fp);
	*detach_ms = now_ms() - t0;
	return err;
}

static int bench_uprobes(struct bench *b)
{
	struct up_result res[UP_NTARGETS] = {};
	char exe[PATH_MAX];
	struct calib_bpf *skel;
	uint64_t t0 = mono_ns();
	int err = 0;

	if (!realpath("/proc/self/exe", exe))
		return -errno;
	skel = calib_bpf__open_and_load();
	if (!skel)
		return -errno;
	fprintf(stderr, "bench: uprobes end to end: %u runs x %d configurations x %zu "
		"functions x %u calls\n", b->e2e_runs, UP__COUNT, UP_NTARGETS,
		b->uprobe_calls);
	for (size_t t = 0; t < UP_NTARGETS; t++) {
		double ret;

		for (int c = 0; c < UP__COUNT; c++)
			res[t].best[c] = 1e18;
		/* What the agent would estimate per call: its calibration. */
		err = calib__uprobe_ns(up_targets[t], CALIB_CALLS, CALIB_RUNS,
				       &res[t].estimate);
		if (!err)
			err = calib__uprobe_ns(CALIB_RETURN, CALIB_CALLS, CALIB_RUNS, &ret);
		if (err) {
			fprintf(stderr, "bench: calibration (%s): %s\n",
				calib_insn__name(up_targets[t]), strerror(-err));
			goto out;
		}
		res[t].estimate += ret;
	}
	for (unsigned int r = 0; r < b->e2e_runs; r++) {
		for (size_t t = 0; t < UP_NTARGETS; t++) {
			for (int c = 0; c < UP__COUNT; c++) {
				double ns = 0, dms = 0, bpf = 0;

				err = up_run(b, skel, exe, up_targets[t], (enum up_cfg)c,
					     &ns, &dms, &bpf);
				if (err) {
					if (err != -EINTR)
						fprintf(stderr, "bench: %s on %s: %s\n",
							up_names[c],
							calib__target_name(up_targets[t]),
							strerror(-err));
					goto out;
				}
				if (ns < res[t].best[c]) {
					res[t].best[c] = ns;
					if (c == UP_FUNCPROBE)
						res[t].bpf_ns = bpf;
				}
				if (dms > res[t].detach_ms[c])
					res[t].detach_ms[c] = dms;
			}
		}
	}

	printf("\n## Uprobes end to end: ns per call of a function that does nothing\n");
	printf("# best of %u runs of %u calls each, configurations attached one at a "
	       "time, round-robin, to this process only; BPF stats on; %.0f s\n",
	       b->e2e_runs, b->uprobe_calls, (double)(mono_ns() - t0) / 1e9);
	printf("# detach = longest time bpf_link__destroy() took for the configuration "
	       "(all its links)\n");
	for (size_t t = 0; t < UP_NTARGETS; t++) {
		const struct up_result *u = &res[t];

		printf("\n%s (first instruction: %s)\n", calib__target_name(up_targets[t]),
		       up_targets[t] == CALIB_PUSH ? "push %rbp, emulated by the kernel" :
		       "sub $8,%rsp, single-stepped");
		printf("%-36s %12s %18s %12s\n", "configuration", "ns/call", "over untraced",
		       "detach ms");
		for (int c = 0; c < UP__COUNT; c++) {
			char over[32] = "-", det[16] = "-";

			if (c != UP_UNTRACED) {
				snprintf(over, sizeof(over), "%+.0f ns",
					 u->best[c] - u->best[UP_UNTRACED]);
				snprintf(det, sizeof(det), "%.1f", u->detach_ms[c]);
			}
			printf("%-36s %12.1f %18s %12s\n", up_names[c], u->best[c], over, det);
		}
		printf("%-36s %12s %+15.0f ns  (calibrated uprobe + uretprobe %.0f ns, "
		       "its BPF run time %.0f ns)\n", "agent's estimate, function probe", "",
		       u->estimate + u->bpf_ns, u->estimate, u->bpf_ns);
	}
out:
	calib_bpf__destroy(skel);
	return err;
}

/* ---- machine description and interference check --------------------------- */

/* Tracing programs loaded by someone else add to every figure here. */
static int foreign_tracing_progs(void)
{
	__u32 id = 0;
	int n = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (info.type == BPF_PROG_TYPE_TRACING ||
		     info.type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
		     info.type == BPF_PROG_TYPE_TRACEPOINT ||
		     info.type == BPF_PROG_TYPE_KPROBE ||
		     info.type == BPF_PROG_TYPE_PERF_EVENT))
			n++;
		close(fd);
	}
	return n;
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	printf("# bench_probes: kernel %s, %s, %ld CPUs online, libbpf %u.%u\n",
	       u.release, model, sysconf(_SC_NPROCESSORS_ONLN),
	       libbpf_major_version(), libbpf_minor_version());
	/* Other work on the machine competes for the CPUs: say how much. */
	f = fopen("/proc/loadavg", "re");
	if (f && fgets(line, sizeof(line), f))
		printf("# load average at start: %s", line);
	if (f)
		fclose(f);
}

/* ---- main ------------------------------------------------------------------ */

static int parse_u64(const char *s, unsigned long long min, unsigned long long max,
		     unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

static const char usage[] =
"usage: bench_probes [-r ROUNDS] [-n SYSCALLS] [-e RUNS] [-s SWITCHES] [-b IOS] [-u CALLS]\n"
"                    [-d DIR]\n"
"  -r ROUNDS    rounds per probe family, median reported (default 3, max 15)\n"
"  -n SYSCALLS  getppid calls per run (default 2000000)\n"
"  -e RUNS      end-to-end syscall and uprobe runs per configuration, best\n"
"               reported (default 5)\n"
"  -s SWITCHES  ping-pong round trips per round (default 200000)\n"
"  -b IOS       4 KiB direct writes (and as many reads) per round (default 1000)\n"
"  -u CALLS     calls of the probed function per uprobe run (default 20000)\n"
"  -d DIR       directory for the block I/O scratch file, on a disk, not tmpfs\n"
"               (default $OUT, else .output)\n";

int main(int argc, char **argv)
{
	struct bench b = {
		.rounds = 3, .syscalls = 2000000, .e2e_runs = 5, .switches = 200000,
		.bio_ops = 1000, .uprobe_calls = 20000, .bio_fd = -1, .stats_fd = -1,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long v;
	int opt, err, n;

	b.dir = getenv("OUT") ? getenv("OUT") : ".output";
	while ((opt = getopt(argc, argv, "r:n:e:s:b:u:d:h")) != -1) {
		err = 0;
		switch (opt) {
		case 'r':
			err = parse_u64(optarg, 1, MAX_ROUNDS, &v);
			b.rounds = (unsigned int)v;
			break;
		case 'n':
			err = parse_u64(optarg, 1000, 1000000000ULL, &b.syscalls);
			break;
		case 'e':
			err = parse_u64(optarg, 1, 100, &v);
			b.e2e_runs = (unsigned int)v;
			break;
		case 's':
			err = parse_u64(optarg, 100, 100000000ULL, &b.switches);
			break;
		case 'b':
			err = parse_u64(optarg, 10, 10000000, &v);
			b.bio_ops = (unsigned int)v;
			break;
		case 'u':
			err = parse_u64(optarg, 100, 100000000, &v);
			b.uprobe_calls = (unsigned int)v;
			break;
		case 'd':
			b.dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
		if (err) {
			fprintf(stderr, "bench: -%c %s: invalid value\n%s", opt, optarg, usage);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench: needs root (BPF programs on kernel tracepoints)\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	libbpf_glue__init();
	log_set_level(LOG_WARN);
	/* No tracefs__ensure(): every program here is tp_btf (raw_tp as the
	 * fallback), and the bench leaves no mounts behind. */
	features__probe(&b.feat);
	if (!b.feat.ok[FEAT_BPF_STATS]) {
		fprintf(stderr, "bench: BPF run-time stats unavailable: %s\n",
			b.feat.reason[FEAT_BPF_STATS]);
		return 1;
	}

	print_machine();
	n = foreign_tracing_progs();
	if (n)
		printf("# note: %d tracing BPF program(s) of other processes are loaded; "
		       "if attached, their cost is in every figure below\n", n);
	err = bio_setup(&b);
	if (err) {
		fprintf(stderr, "bench: block I/O scratch file in %s: %s\n", b.dir,
			strerror(-err));
		return 1;
	}
	err = bench_per_event(&b);
	if (!err)
		err = bench_syscall_e2e(&b);
	if (!err)
		err = bench_uprobes(&b);
	stats_off(&b);
	/* Ours are detached; their ids go away after an RCU grace period, so
	 * give them a moment before counting what belongs to someone else. */
	for (int i = 0; i < 30 && (n = foreign_tracing_progs()) > 0; i++)
		usleep(100 * 1000);
	if (n && !stop_sig)
		printf("# note: %d tracing BPF program(s) of other processes loaded at the "
		       "end of the run\n", n);
	bio_teardown(&b);
	if (stop_sig) {
		fprintf(stderr, "bench: interrupted by signal %d, probes detached\n",
			(int)stop_sig);
		return 128 + stop_sig;
	}
	return err ? 1 : 0;
}
