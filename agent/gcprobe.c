// SPDX-License-Identifier: GPL-2.0
/*
 * GC pause probe (see gcprobe.h).
 *
 * State kept by the agent, all bounded:
 *   cache   (dev, inode) of an executable mapping -> verdict: not a
 *           runtime, or the index of its runtime binary.  Open addressing,
 *           2 * GCPROBE_CACHE_MAX slots; when GCPROBE_CACHE_MAX verdicts
 *           are held the "not a runtime" ones are dropped (counted) and
 *           will be classified again if seen again.
 *   bins    runtime binaries with their links, never detached while the
 *           agent runs (a uprobe on an inode nobody maps costs nothing).
 *   young   processes started since the previous ticks, whose maps are
 *           read every tick for GCPROBE_YOUNG_TICKS ticks.
 *   pids    the sorted pid snapshot of the previous tick, to tell new
 *           processes and drive the round-robin re-read of older ones.
 * A transient failure (the process exited before its file could be opened
 * or attached) is not cached: the next process mapping the file retries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "hist.h"
#include "stats.h"
#include "gcpause.h"
#include "gcpause.skel.h"

#include "expo.h"
#include "gcdetect.h"
#include "gcprobe.h"
#include "histexpo.h"
#include "labeler.h"
#include "libbpf_glue.h"
#include "log.h"
#include "store.h"
#include "targets.h"

_Static_assert(sizeof(struct gc_key) == 32, "struct gc_key layout");
_Static_assert(sizeof(struct gc_val) == sizeof(struct hist) + 8, "struct gc_val layout");
_Static_assert(sizeof(struct gc_start_key) == 8, "struct gc_start_key layout");
_Static_assert(sizeof(struct gc_start) == 16, "struct gc_start layout");
_Static_assert(sizeof(struct gc_exec) == 8, "struct gc_exec layout");
_Static_assert((int)GC_RT_PYTHON == (int)GC_PYTHON && (int)GC_RT_HOTSPOT == (int)GC_HOTSPOT &&
	       (int)GC_RT_RUBY == (int)GC_RUBY && (int)GC_RT_GO == (int)GC_GO &&
	       (int)GC_RT__COUNT == (int)GC__COUNT, "runtime ids of config.h and gcpause.h");

#define CACHE_SLOTS	(2 * GCPROBE_CACHE_MAX)	/* a power of two */
#define VERDICT_EMPTY	(-2)
#define VERDICT_NONE	(-1)
#define LABEL_BUF	128
#define MAX_LINKS	4

struct gc_binary {
	uint64_t dev, ino;	/* identity of the file (stat) */
	unsigned int runtime;
	char *path;
	const char *attach_type;
	bool attached;
	char reason[256];
	struct bpf_link *links[MAX_LINKS];
};

struct cache_ent {
	uint64_t dev, ino;
	int verdict;		/* VERDICT_*, or an index into bins */
};

struct young {
	uint32_t pid;
	uint64_t since;		/* tick it was first seen (or exec'ed) */
};

struct u32_vec {
	uint32_t *v;
	size_t n, cap;
};

struct gcprobe {
	const struct gc_cfg *cfg;
	const struct features *feat;
	struct gcpause_bpf *skel;
	struct bpf_link *exec_link;
	struct ring_buffer *rb;
	int timer_fd;		/* drains rb, -1 without it */
	bool attached;
	const char *attach_type;
	char reason[256];
	int hist_fd, stats_fd, gstats_fd, targets_fd;
	unsigned int need;	/* facts the targets selector needs */
	struct proc_facts_buf *facts;
	struct gc_binary bins[GCPROBE_MAX_BINARIES];
	size_t nbins;
	struct cache_ent *cache;
	size_t ncache;
	struct young *young;
	size_t nyoung;
	struct u32_vec pids;	/* previous tick's snapshot, sorted */
	size_t cursor;
	uint64_t tick;
	struct gcprobe_counters cnt;	/* the agent-side ones */
	struct probe_counters pc;
	struct store_family *f_pause, *f_coll, *f_obj;
	struct gc_val *val;
};

/* ---- small containers ------------------------------------------------- */

static int u32_vec__push(struct u32_vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		uint32_t *nv = reallocarray(a->v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = x;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool u32_vec__has(const struct u32_vec *a, uint32_t x)
{
	return a->n && bsearch(&x, a->v, a->n, sizeof(*a->v), cmp_u32);
}

static size_t cache_slot(uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);

	return (size_t)(h ^ (h >> 29)) & (CACHE_SLOTS - 1);
}

static struct cache_ent *cache_find(struct gcprobe *gp, uint64_t dev, uint64_t ino)
{
	for (size_t i = cache_slot(dev, ino), n = 0; n < CACHE_SLOTS;
	     i = (i + 1) & (CACHE_SLOTS - 1), n++) {
		struct cache_ent *e = &gp->cache[i];

		if (e->verdict == VERDICT_EMPTY)
			return NULL;
		if (e->dev == dev && e->ino == ino)
			return e;
	}
	return NULL;
}

static void cache_insert(struct gcprobe *gp, uint64_t dev, uint64_t ino, int verdict)
{
	size_t i = cache_slot(dev, ino);

	while (gp->cache[i].verdict != VERDICT_EMPTY)
		i = (i + 1) & (CACHE_SLOTS - 1);
	gp->cache[i] = (struct cache_ent){ dev, ino, verdict };
	gp->ncache++;
}

/* Drop the "not a runtime" verdicts: rebuild the table with the others. */
static void cache_evict(struct gcprobe *gp)
{
	struct cache_ent keep[GCPROBE_MAX_BINARIES * 4];
	size_t nkeep = 0;

	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_ent *e = &gp->cache[i];

		if (e->verdict >= 0 && nkeep < sizeof(keep) / sizeof(keep[0]))
			keep[nkeep++] = *e;
		else if (e->verdict != VERDICT_EMPTY)
			gp->cnt.cache_evictions++;
		e->verdict = VERDICT_EMPTY;
	}
	gp->ncache = 0;
	for (size_t i = 0; i < nkeep; i++)
		cache_insert(gp, keep[i].dev, keep[i].ino, keep[i].verdict);
}

static void cache_put(struct gcprobe *gp, uint64_t dev, uint64_t ino, int verdict)
{
	if (gp->ncache >= GCPROBE_CACHE_MAX)
		cache_evict(gp);
	cache_insert(gp, dev, ino, verdict);
}

/* ---- attach ------------------------------------------------------------ */

static void binary_detach(struct gc_binary *b)
{
	for (int i = 0; i < MAX_LINKS; i++) {
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
	}
}

static int attach_usdt(struct gcprobe *gp, struct gc_binary *b, const char *path,
		       int slot, bool sweep)
{
	const char *prov = gcdetect__provider(b->runtime);
	const char *names[2] = { gcdetect__begin_probe(b->runtime, sweep),
				 gcdetect__end_probe(b->runtime, sweep) };
	struct bpf_program *progs[2] = { gp->skel->progs.usdt_gc_begin,
					 gp->skel->progs.usdt_gc_end };
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = b->runtime |
		    (sweep ? GC_COOKIE_RUBY_SWEEP : 0));
	int err;

	for (int i = 0; i < 2; i++) {
		b->links[slot + i] = bpf_program__attach_usdt(progs[i], -1, path, prov,
							      names[i], &o);
		if (!b->links[slot + i]) {
			err = -errno;
			snprintf(b->reason, sizeof(b->reason), "usdt %s:%s: %s", prov,
				 names[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

static int attach_go(struct gcprobe *gp, struct gc_binary *b, const char *path,
		     const struct gc_detect *d)
{
	const char *fns[2] = { GCDETECT_GO_STOP, GCDETECT_GO_START };
	uint64_t offs[2] = { d->go_stop_off, d->go_start_off };
	struct bpf_program *progs[2] = { gp->skel->progs.uprobe_go_stw_stop,
					 gp->skel->progs.uprobe_go_stw_start };
	int err;

	for (int i = 0; i < 2; i++) {
		/* By offset: stripped binaries have the functions only in
		 * their pclntab, where libbpf does not look. */
		LIBBPF_OPTS(bpf_uprobe_opts, o,
			    .bpf_cookie = GC_RT_GO | (d->go_reason ? GC_COOKIE_GO_REASON : 0));

		b->links[i] = bpf_program__attach_uprobe_opts(progs[i], -1, path,
							      (size_t)offs[i], &o);
		if (!b->links[i]) {
			err = -errno;
			snprintf(b->reason, sizeof(b->reason), "uprobe %s: %s", fns[i],
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Attach @b (classified as @d) through @path; 0 or -errno, reason set. */
static int binary_attach(struct gcprobe *gp, struct gc_binary *b,
			 const struct gc_detect *d, const char *path)
{
	enum feature f = b->runtime == GC_GO ? FEAT_UPROBE : FEAT_USDT;
	int err;

	if (!d->usable) {
		snprintf(b->reason, sizeof(b->reason), "%s", d->why);
		return -ENOENT;
	}
	if (!gp->feat->ok[f]) {
		snprintf(b->reason, sizeof(b->reason), "%s: %s", feature__name(f),
			 gp->feat->reason[f]);
		return -EOPNOTSUPP;
	}
	libbpf_glue__quiet(true);
	if (b->runtime == GC_GO) {
		err = attach_go(gp, b, path, d);
	} else {
		err = attach_usdt(gp, b, path, 0, false);
		if (!err && d->sweep)
			err = attach_usdt(gp, b, path, 2, true);
	}
	libbpf_glue__quiet(false);
	if (err) {
		binary_detach(b);
		return err;
	}
	b->attach_type = b->runtime == GC_GO ? "uprobe" : "usdt";
	b->attached = true;
	snprintf(b->reason, sizeof(b->reason), "ok");
	return 0;
}

static void strip_deleted(char *path)
{
	size_t n = strlen(path), d = strlen(" (deleted)");

	if (n > d && !strcmp(path + n - d, " (deleted)"))
		path[n - d] = '\0';
}

/*
 * Classify the file open-able at @open_path (a /proc magic link), known to
 * the caller as (@dev, @ino) and to the process as @label, and attach it
 * when it is a wanted runtime.  Verdicts are cached unless the failure
 * may be transient.
 */
static void check_file(struct gcprobe *gp, uint64_t dev, uint64_t ino,
		       const char *open_path, const char *label)
{
	struct gc_binary *b;
	struct gc_detect d;
	struct stat st;
	int err;

	if (cache_find(gp, dev, ino))
		return;
	gp->cnt.files_classified++;
	if (gcdetect__file(open_path, &d) || stat(open_path, &st))
		return;		/* gone meanwhile: retried when seen again */
	if (d.runtime < 0 || !(gp->cfg->runtimes & (1U << d.runtime))) {
		cache_put(gp, dev, ino, VERDICT_NONE);
		return;
	}
	/* The same file seen under another identity (maps vs stat). */
	for (size_t i = 0; i < gp->nbins; i++) {
		if (gp->bins[i].dev == st.st_dev && gp->bins[i].ino == st.st_ino) {
			cache_put(gp, dev, ino, (int)i);
			return;
		}
	}
	if (gp->nbins == GCPROBE_MAX_BINARIES) {
		gp->cnt.binaries_refused++;
		pr_warn("gc: %s runtime in %s not attached: %d runtime binaries "
			"already", gc_runtime__name((unsigned int)d.runtime), label,
			GCPROBE_MAX_BINARIES);
		cache_put(gp, dev, ino, VERDICT_NONE);
		return;
	}
	b = &gp->bins[gp->nbins];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->runtime = (unsigned int)d.runtime;
	b->attach_type = "";
	b->path = strdup(label);
	if (!b->path)
		return;
	strip_deleted(b->path);
	err = binary_attach(gp, b, &d, open_path);
	if (err == -ENOENT && d.usable) {
		/* the process went away under us: try again later */
		free(b->path);
		b->path = NULL;
		return;
	}
	if (err)
		pr_warn("gc: %s runtime in %s: not attached: %s",
			gc_runtime__name(b->runtime), b->path, b->reason);
	else
		pr_info("gc: %s runtime in %s: attached (%s%s%s)",
			gc_runtime__name(b->runtime), b->path, b->attach_type,
			d.go_version[0] ? ", " : "", d.go_version);
	cache_put(gp, dev, ino, (int)gp->nbins++);
}

/* The executable of @pid (what an exec event tells about). */
static void check_exe(struct gcprobe *gp, uint32_t pid)
{
	char link[48], label[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	if (stat(link, &st) || !S_ISREG(st.st_mode))
		return;
	if (cache_find(gp, st.st_dev, st.st_ino))
		return;
	n = readlink(link, label, sizeof(label) - 1);
	if (n <= 0)
		return;
	label[n] = '\0';
	check_file(gp, st.st_dev, st.st_ino, link, label);
}

/* Every executable file mapping of @pid. */
static void check_maps(struct gcprobe *gp, uint32_t pid)
{
	char path[48], line[PATH_MAX + 128], open_path[96];
	uint64_t last_dev = 0, last_ino = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	gp->cnt.processes_checked++;
	while (fgets(line, sizeof(line), f)) {
		struct maps_entry e;
		uint64_t dev;

		if (!gcdetect__parse_maps_line(line, &e) || !e.exec || !e.inode ||
		    e.path[0] != '/')
			continue;
		dev = makedev(e.dev_major, e.dev_minor);
		if (dev == last_dev && e.inode == last_ino)
			continue;
		last_dev = dev;
		last_ino = e.inode;
		if (cache_find(gp, dev, e.inode))
			continue;
		snprintf(open_path, sizeof(open_path), "/proc/%u/map_files/%llx-%llx",
			 pid, (unsigned long long)e.start, (unsigned long long)e.end);
		check_file(gp, dev, e.inode, open_path, e.path);
	}
	fclose(f);
}

/* ---- young processes ---------------------------------------------------- */

static void young_add(struct gcprobe *gp, uint32_t pid)
{
	for (size_t i = 0; i < gp->nyoung; i++) {
		if (gp->young[i].pid == pid) {
			gp->young[i].since = gp->tick;	/* exec'ed again */
			return;
		}
	}
	if (gp->nyoung == GCPROBE_MAX_YOUNG) {
		gp->cnt.young_full++;
		return;
	}
	gp->young[gp->nyoung++] = (struct young){ pid, gp->tick };
}

/* An exec'ed process is selected at once when it matches the targets. */
static void target_new(struct gcprobe *gp, uint32_t pid)
{
	const struct targets_cfg *t = &gp->cfg->probe.targets;
	struct proc_facts pf;
	__u8 one = 1;

	if (!t->set)
		return;
	targets__read_facts(pid, gp->need, &pf, gp->facts);
	if (targets__match(t, &pf) &&
	    bpf_map_update_elem(gp->targets_fd, &pid, &one, BPF_ANY))
		gp->pc.targets_full++;
}

static int exec_cb(void *ctx, void *data, size_t len)
{
	struct gcprobe *gp = ctx;
	const struct gc_exec *e = data;

	if (len < sizeof(*e))
		return 0;
	target_new(gp, e->pid);
	check_exe(gp, e->pid);
	young_add(gp, e->pid);
	return 0;
}

void gcprobe__poll(struct gcprobe *gp)
{
	uint64_t expirations;

	if (!gp || !gp->rb)
		return;
	if (read(gp->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		pr_debug("gc: reading the exec poll timer: %s", strerror(errno));
	ring_buffer__consume(gp->rb);
}

/* ---- tick ------------------------------------------------------------- */

struct scan_ctx {
	struct gcprobe *gp;
	struct u32_vec pids, want;
};

static int scan_cb(const struct proc_facts *pf, void *ctx)
{
	struct scan_ctx *s = ctx;
	const struct targets_cfg *t = &s->gp->cfg->probe.targets;
	int err = u32_vec__push(&s->pids, pf->pid);

	if (!err && t->set && targets__match(t, pf))
		err = u32_vec__push(&s->want, pf->pid);
	return err;
}

/* Bring bw_targets in line with @want (sorted). */
static void sync_targets(struct gcprobe *gp, const struct u32_vec *want)
{
	if (bw_sync_u32_set(gp->targets_fd, want->v, want->n) > 0)
		gp->pc.targets_full++;
}

static int discover(struct gcprobe *gp)
{
	struct scan_ctx s = { .gp = gp };
	bool first = gp->tick == 0;
	size_t j = 0;
	int err;

	gp->tick++;
	err = targets__scan(gp->cfg->probe.targets.set ? gp->need : 0, scan_cb, &s);
	if (err)
		goto out;
	if (s.pids.n)
		qsort(s.pids.v, s.pids.n, sizeof(*s.pids.v), cmp_u32);
	if (s.want.n)
		qsort(s.want.v, s.want.n, sizeof(*s.want.v), cmp_u32);
	if (gp->cfg->probe.targets.set)
		sync_targets(gp, &s.want);
	/* The processes running at start-up are read once; later ones are
	 * watched while young. */
	for (size_t i = 0; i < s.pids.n; i++) {
		if (first)
			check_maps(gp, s.pids.v[i]);
		else if (!u32_vec__has(&gp->pids, s.pids.v[i]))
			young_add(gp, s.pids.v[i]);
	}
	for (size_t i = 0; i < gp->nyoung; i++) {
		struct young y = gp->young[i];

		if (!u32_vec__has(&s.pids, y.pid) ||
		    gp->tick - y.since > GCPROBE_YOUNG_TICKS)
			continue;
		check_maps(gp, y.pid);
		gp->young[j++] = y;
	}
	gp->nyoung = j;
	for (size_t k = 0; !first && s.pids.n && k < GCPROBE_RESCAN_PER_TICK &&
	     k < s.pids.n; k++)
		check_maps(gp, s.pids.v[gp->cursor++ % s.pids.n]);
	free(gp->pids.v);
	gp->pids = s.pids;
	s.pids.v = NULL;
	err = gp->cfg->probe.targets.set ? (int)s.want.n : -1;
out:
	free(s.pids.v);
	free(s.want.v);
	return err;
}

static const char *gen_label(uint32_t rt, uint32_t gen, char *buf, size_t len)
{
	switch (rt) {
	case GC_RT_PYTHON:
		snprintf(buf, len, "%u", gen);
		return buf;
	case GC_RT_HOTSPOT:
		return gen == GC_HOTSPOT_FULL ? "full" : "minor";
	case GC_RT_RUBY:
		return gen == GC_RUBY_SWEEP ? "sweep" : "mark";
	default:
		return gen == GC_GO_NO_REASON ? "stw" : gcdetect__go_reason_name(gen);
	}
}

static int families(struct gcprobe *gp, struct store *s)
{
	if (gp->f_pause)
		return 0;
	gp->f_pause = store__family(s, "bpfwatch_gc_pause_seconds", METRIC_HISTOGRAM,
				    "Garbage-collector pauses of language runtimes, by "
				    "runtime, generation (python: 0-2; hotspot: minor, "
				    "full; ruby: mark, sweep; go: the stop-the-world "
				    "reason), comm and container.");
	gp->f_coll = store__family(s, "bpfwatch_gc_collections_total", METRIC_COUNTER,
				   "Garbage collections (pauses) timed, by runtime, "
				   "generation, comm and container.");
	gp->f_obj = store__family(s, "bpfwatch_gc_collected_objects_total",
				  METRIC_COUNTER,
				  "Objects the collector found unreachable (python's "
				  "gc__done), by runtime, generation, comm and container.");
	return gp->f_pause && gp->f_coll && gp->f_obj ? 0 : -errno;
}

static int collect(struct gcprobe *gp, struct store *s, struct labeler *lb,
		   uint64_t idle_timeout_ms)
{
	struct gc_key key, next, *del = NULL;
	size_t ndel = 0, delcap = 0;
	uint64_t now = bw_mono_ns();
	uint32_t entries = 0;
	int more, err;

	err = families(gp, s);
	if (err)
		return err;
	more = bpf_map_get_next_key(gp->hist_fd, NULL, &next) == 0;
	while (more) {
		char comm[BW_COMM_LEN + 1], cont[LABEL_BUF], gen[16];
		struct label l[5];
		bool idle, gone = false;

		key = next;
		more = bpf_map_get_next_key(gp->hist_fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(gp->hist_fd, &key, gp->val))
			continue;
		entries++;
		idle = now > gp->val->hist.last_ns &&
		       (now - gp->val->hist.last_ns) / 1000000 > idle_timeout_ms;
		if (!idle && !labeler__container(lb, key.cgroup_id, cont, sizeof(cont)))
			gone = true;
		if (idle || gone || key.runtime >= GC_RT__COUNT) {
			if (ndel == delcap) {
				size_t nc = delcap ? delcap * 2 : 32;
				void *nd = reallocarray(del, nc, sizeof(*del));

				if (!nd) {
					err = -ENOMEM;
					break;
				}
				del = nd;
				delcap = nc;
			}
			del[ndel++] = key;
			if (gone)
				gp->pc.gone++;
			else
				gp->pc.expired++;
			continue;
		}
		memcpy(comm, key.comm, BW_COMM_LEN);
		comm[BW_COMM_LEN] = '\0';
		l[0] = (struct label){ "runtime", gc_runtime__name(key.runtime) };
		l[1] = (struct label){ "generation", gen_label(key.runtime, key.gen, gen,
							       sizeof(gen)) };
		l[2] = (struct label){ "comm", comm };
		l[3] = (struct label){ "container", cont };
		/* A full store is counted there; keep collecting the rest. */
		histexpo__append(s, gp->f_pause, &gp->val->hist, l, 4);
		store__append(s, gp->f_coll, "", l, 4,
			      (double)histexpo__count(&gp->val->hist));
		if (key.runtime == GC_RT_PYTHON)
			store__append(s, gp->f_obj, "", l, 4, (double)gp->val->objects);
	}
	for (size_t i = 0; i < ndel; i++)
		bpf_map_delete_elem(gp->hist_fd, &del[i]);
	free(del);
	gp->pc.entries = entries - (uint32_t)ndel;
	return err;
}

int gcprobe__tick(struct gcprobe *gp, struct store *s, struct labeler *lb,
		  uint64_t idle_timeout_ms)
{
	int n, err;

	if (!gp->attached)
		return -1;
	gcprobe__poll(gp);
	n = discover(gp);
	if (n < -1)
		pr_warn("gc: scanning processes failed: %s", strerror(-n));
	err = collect(gp, s, lb, idle_timeout_ms);
	if (err)
		pr_warn("gc: collecting failed: %s", strerror(-err));
	return n;
}

/* ---- construction ------------------------------------------------------ */

static int load(struct gcprobe *gp)
{
	struct itimerspec its = {
		.it_interval.tv_nsec = GCPROBE_EXEC_POLL_MS * 1000000L,
		.it_value.tv_nsec = GCPROBE_EXEC_POLL_MS * 1000000L,
	};
	const struct features *feat = gp->feat;
	bool rb = feat->ok[FEAT_RINGBUF];
	struct bpf_program *exec_prog = NULL;
	int err;

	gp->skel = gcpause_bpf__open();
	if (!gp->skel) {
		err = -errno;
		snprintf(gp->reason, sizeof(gp->reason), "open: %s", strerror(-err));
		return err;
	}
	if (rb && feat->ok[FEAT_TP_BTF])
		exec_prog = gp->skel->progs.tp_btf_exec;
	else if (rb && feat->ok[FEAT_TRACEPOINT])
		exec_prog = gp->skel->progs.tp_exec;
	bpf_program__set_autoload(gp->skel->progs.tp_btf_exec,
				  exec_prog == gp->skel->progs.tp_btf_exec);
	bpf_program__set_autoload(gp->skel->progs.tp_exec,
				  exec_prog == gp->skel->progs.tp_exec);
	if (!exec_prog)
		bpf_map__set_autocreate(gp->skel->maps.gc_execs, false);
	bpf_map__set_max_entries(gp->skel->maps.gc_hist, gp->cfg->probe.max_entries);
	gp->skel->rodata->filter_tgid = gp->cfg->probe.targets.set;
	err = gcpause_bpf__load(gp->skel);
	if (err) {
		snprintf(gp->reason, sizeof(gp->reason), "load: %s", strerror(-err));
		return err;
	}
	gp->hist_fd = bpf_map__fd(gp->skel->maps.gc_hist);
	gp->stats_fd = bpf_map__fd(gp->skel->maps.bw_stats);
	gp->gstats_fd = bpf_map__fd(gp->skel->maps.gc_stats);
	gp->targets_fd = bpf_map__fd(gp->skel->maps.bw_targets);
	if (!exec_prog) {
		pr_info("gc: no exec notifications (%s): runtimes are found at the "
			"next tick", !rb ? feat->reason[FEAT_RINGBUF] :
			"no tracepoint attach type");
		return 0;
	}
	gp->exec_link = bpf_program__attach(exec_prog);
	if (!gp->exec_link) {
		err = -errno;
		snprintf(gp->reason, sizeof(gp->reason), "attach %s: %s",
			 bpf_program__name(exec_prog), strerror(-err));
		return err;
	}
	gp->rb = ring_buffer__new(bpf_map__fd(gp->skel->maps.gc_execs), exec_cb, gp,
				  NULL);
	if (!gp->rb) {
		err = -errno;
		snprintf(gp->reason, sizeof(gp->reason), "ring buffer: %s", strerror(-err));
		return err;
	}
	gp->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (gp->timer_fd < 0 || timerfd_settime(gp->timer_fd, 0, &its, NULL)) {
		err = -errno;
		snprintf(gp->reason, sizeof(gp->reason), "exec poll timer: %s",
			 strerror(-err));
		return err;
	}
	return 0;
}

struct gcprobe *gcprobe__new(const struct gc_cfg *cfg, const struct features *feat)
{
	struct gcprobe *gp = calloc(1, sizeof(*gp));

	if (!gp)
		return NULL;
	gp->cfg = cfg;
	gp->feat = feat;
	gp->attach_type = "";
	gp->hist_fd = gp->stats_fd = gp->gstats_fd = gp->targets_fd = -1;
	gp->timer_fd = -1;
	gp->pc.max_entries = cfg->probe.max_entries;
	gp->need = targets__needs(&cfg->probe.targets);
	gp->val = calloc(1, sizeof(*gp->val));
	gp->facts = calloc(1, sizeof(*gp->facts));
	gp->cache = calloc(CACHE_SLOTS, sizeof(*gp->cache));
	gp->young = calloc(GCPROBE_MAX_YOUNG, sizeof(*gp->young));
	if (!gp->val || !gp->facts || !gp->cache || !gp->young) {
		gcprobe__free(gp);
		return NULL;
	}
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		gp->cache[i].verdict = VERDICT_EMPTY;
	if (!cfg->probe.enabled) {
		snprintf(gp->reason, sizeof(gp->reason), "disabled");
		return gp;
	}
	if (load(gp)) {
		if (gp->timer_fd >= 0)
			close(gp->timer_fd);
		gp->timer_fd = -1;
		ring_buffer__free(gp->rb);
		gp->rb = NULL;
		bpf_link__destroy(gp->exec_link);
		gp->exec_link = NULL;
		gcpause_bpf__destroy(gp->skel);
		gp->skel = NULL;
		gp->hist_fd = gp->stats_fd = gp->gstats_fd = gp->targets_fd = -1;
		return gp;
	}
	gp->attached = true;
	gp->attach_type = feat->ok[FEAT_USDT] ? "usdt" : "uprobe";
	snprintf(gp->reason, sizeof(gp->reason), "ok");
	return gp;
}

void gcprobe__free(struct gcprobe *gp)
{
	if (!gp)
		return;
	for (size_t i = 0; i < gp->nbins; i++) {
		binary_detach(&gp->bins[i]);
		free(gp->bins[i].path);
	}
	if (gp->timer_fd >= 0)
		close(gp->timer_fd);
	ring_buffer__free(gp->rb);
	bpf_link__destroy(gp->exec_link);
	gcpause_bpf__destroy(gp->skel);
	free(gp->pids.v);
	free(gp->young);
	free(gp->cache);
	free(gp->facts);
	free(gp->val);
	free(gp);
}

bool gcprobe__enabled(const struct gcprobe *gp)
{
	return gp->cfg->probe.enabled;
}

bool gcprobe__attached(const struct gcprobe *gp)
{
	return gp->attached;
}

const char *gcprobe__attach_type(const struct gcprobe *gp)
{
	return gp->attach_type;
}

const char *gcprobe__reason(const struct gcprobe *gp)
{
	return gp->reason;
}

int gcprobe__fd(const struct gcprobe *gp)
{
	return gp ? gp->timer_fd : -1;
}

size_t gcprobe__binary_count(const struct gcprobe *gp)
{
	return gp->nbins;
}

void gcprobe__binary(const struct gcprobe *gp, size_t i, struct gcprobe_binary *b)
{
	const struct gc_binary *g = &gp->bins[i];

	b->runtime = gc_runtime__name(g->runtime);
	b->path = g->path;
	b->attach_type = g->attach_type;
	b->attached = g->attached;
	b->reason = g->reason;
}

int gcprobe__prog_stats(const struct gcprobe *gp, struct probe_prog_stats *out,
			int max)
{
	struct bpf_program *prog;
	int n = 0;

	if (!gp->skel)
		return 0;
	bpf_object__for_each_program(prog, gp->skel->obj) {
		if (n < max && bpf_program__autoload(prog) &&
		    bw_prog_runs(prog, &out[n].run_cnt, &out[n].run_time_ns))
			out[n++].name = bpf_program__name(prog);
	}
	return n;
}

void gcprobe__counters(const struct gcprobe *gp, struct probe_counters *c)
{
	*c = gp->pc;
	c->hist_full = bw_percpu_sum(gp->stats_fd, BW_STAT_HIST_FULL);
	c->start_full = bw_percpu_sum(gp->stats_fd, BW_STAT_START_FULL);
	c->filtered = bw_percpu_sum(gp->stats_fd, BW_STAT_FILTERED);
}

void gcprobe__gc_counters(const struct gcprobe *gp, struct gcprobe_counters *c)
{
	*c = gp->cnt;
	c->end_without_begin = bw_percpu_sum(gp->gstats_fd, GC_STAT_MISSING);
	c->begin_lost = bw_percpu_sum(gp->gstats_fd, GC_STAT_LOST);
	c->arg_errors = bw_percpu_sum(gp->gstats_fd, GC_STAT_ARG);
	c->exec_lost = bw_percpu_sum(gp->gstats_fd, GC_STAT_EXEC_LOST);
}
