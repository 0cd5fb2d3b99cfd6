// SPDX-License-Identifier: GPL-2.0
/*
 * Resident memory per process (see memprobe.h).
 *
 * Each tick, in kernel mode:
 *   1. read every mm entry of the map; entries never owned by a process
 *      (the tracepoint fired only from other tasks: fork copying a child
 *      that has not run yet, an mm freed before its owner touched it) are
 *      freed once they have seen no event for UNOWNED_TIMEOUT_NS (the
 *      kernel stamps entries in jiffies, which user space cannot read
 *      cheaply: the agent remembers since when each one is unchanged);
 *   2. a tgid with several mm entries has exec'd (a new address space) or
 *      its pid was reused: the newest entry is the process, the older ones
 *      are freed;
 *   3. a process that no longer exists has its entry freed;
 *   4. members the kernel has not seen yet (plain tracepoint variant only)
 *      and processes the kernel has no entry for come from the start-up
 *      seed (/proc/PID/status), which stays exact until the next event.
 * Labels (comm, container) are read from /proc once per process and
 * address space.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "stats.h"
#include "memstat.h"
#include "memstat.skel.h"

#include "cgroup.h"
#include "expo.h"
#include "log.h"
#include "memprobe.h"
#include "store.h"
#include "targets.h"

_Static_assert(sizeof(struct mem_val) == 48, "struct mem_val layout");
_Static_assert(sizeof(struct mem_last) == 40, "struct mem_last layout");

#define UNOWNED_TIMEOUT_NS	(30ULL * 1000000000ULL)
#define REASON_LEN		512

enum freed_reason {
	FREED_EXITED = 0,	/* its process is gone */
	FREED_REPLACED,		/* the process has a newer address space */
	FREED_UNOWNED,		/* never seen from its owner, idle */
	FREED_UNTARGETED,	/* its process is no longer a target */
	FREED__COUNT,
};

static const char *const freed_names[FREED__COUNT] = {
	[FREED_EXITED] = "exited",
	[FREED_REPLACED] = "replaced",
	[FREED_UNOWNED] = "unowned",
	[FREED_UNTARGETED] = "untargeted",
};

struct variant {
	enum feature feat;
	const char *prefix;
};

static const struct variant variants[] = {
	{ FEAT_TP_BTF, "tp_btf_" },
	{ FEAT_RAW_TP, "raw_tp_" },
	{ FEAT_TRACEPOINT, "tp_kmem_" },
};

struct proc_vec {
	struct mem_proc *v;
	size_t n, cap;
};

struct kentry {
	uint64_t key;
	struct mem_val val;
};

/* An unowned entry and since when (CLOCK_MONOTONIC) it has not changed. */
struct idle {
	uint64_t key;
	uint64_t jiffies;
	uint64_t since_ns;
};

struct memprobe {
	const struct memory_cfg *cfg;
	struct memstat_bpf *skel;
	struct bpf_link *link;
	struct bpf_program *prog;
	bool attached;
	const char *attach_type;
	char reason[REASON_LEN];
	int map_fd, stats_fd, targets_fd, last_fd;
	bool freed_some;	/* entries freed this tick: clear mem_last */
	unsigned int page_shift;
	struct proc_vec cur, prev, seed;
	uint32_t *want;		/* tgids the targets select, sorted */
	size_t nwant;
	int ntargets;		/* -1 without targets */
	struct kentry *ents;	/* scratch for map reads */
	size_t nents, entcap;
	struct idle *idle, *idle_next;	/* unowned entries, sorted by key */
	size_t nidle, nidle_next, idlecap;
	uint64_t freed[FREED__COUNT];
	uint64_t targets_full;
	uint32_t entries;
	struct store_family *f_resident, *f_kind, *f_count, *f_freed;
};

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int proc_vec__push(struct proc_vec *a, const struct mem_proc *p)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		struct mem_proc *nv = reallocarray(a->v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = *p;
	return 0;
}

static int cmp_tgid(const void *a, const void *b)
{
	uint32_t x = ((const struct mem_proc *)a)->tgid;
	uint32_t y = ((const struct mem_proc *)b)->tgid;

	return x < y ? -1 : x > y;
}

static struct mem_proc *proc_vec__find(const struct proc_vec *a, uint32_t tgid)
{
	struct mem_proc k = { .tgid = tgid };

	return a->n ? bsearch(&k, a->v, a->n, sizeof(k), cmp_tgid) : NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool wanted(const struct memprobe *mp, uint32_t tgid)
{
	if (!mp->cfg->targets.set)
		return true;
	return mp->nwant && bsearch(&tgid, mp->want, mp->nwant, sizeof(tgid), cmp_u32);
}

/* True while a process @tgid exists (zombies included). */
static bool alive(uint32_t tgid)
{
	return kill((pid_t)tgid, 0) == 0 || errno == EPERM;
}

/* ---- /proc ------------------------------------------------------------- */

static bool read_comm(uint32_t tgid, char *out)
{
	char path[40], buf[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%u/comm", tgid);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	buf[MEM_COMM_LEN] = '\0';
	memcpy(out, buf, MEM_COMM_LEN + 1);
	return true;
}

/* Container id from the process's cgroup v2 path ("" if none). */
static void read_container(uint32_t tgid, char *out)
{
	char path[40], line[4096];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/cgroup", tgid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (!cgroup__container_id(line + 3, out, MEM_LABEL_LEN))
				out[0] = '\0';
			break;
		}
	}
	fclose(f);
}

/* Labels of @p->tgid: false when the process is gone. */
static bool read_labels(struct mem_proc *p)
{
	if (!read_comm(p->tgid, p->comm))
		return false;
	read_container(p->tgid, p->container);
	return true;
}

/*
 * Counters of @tgid from /proc/PID/status (kB lines RssAnon, RssFile,
 * RssShmem, VmSwap).  false when gone or a kernel thread (no mm).
 */
static bool read_status(uint32_t tgid, uint64_t *bytes)
{
	static const struct {
		const char *key;
		int member;
	} keys[] = {
		{ "RssAnon:", MEM_ANON }, { "RssFile:", MEM_FILE },
		{ "RssShmem:", MEM_SHMEM }, { "VmSwap:", MEM_SWAP },
	};
	char path[40], line[256];
	unsigned int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", tgid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			unsigned long long kb;
			char *end;

			if (strncmp(line, keys[i].key, kl))
				continue;
			errno = 0;
			kb = strtoull(line + kl, &end, 10);
			if (errno || end == line + kl)
				continue;
			bytes[keys[i].member] = kb * 1024;
			found |= 1U << keys[i].member;
		}
	}
	fclose(f);
	return found == MEM_SEEN_ALL;
}

/*
 * Every process in /proc (that the targets select) into @out, sorted by
 * tgid.  The container is taken from @known when it has the process.
 */
static int scan_proc(struct memprobe *mp, const struct proc_vec *known,
		     struct proc_vec *out)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	out->n = 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct mem_proc p = { 0 };
		const struct mem_proc *k;
		unsigned long pid;
		char *end;

		pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid > UINT32_MAX)
			continue;
		p.tgid = (uint32_t)pid;
		if (!wanted(mp, p.tgid) || !read_status(p.tgid, p.bytes))
			continue;
		/* the comm is read every time (an exec keeps the pid: without
		 * the kernel's address spaces there is no other sign of it),
		 * the container only for processes not seen before */
		k = known ? proc_vec__find(known, p.tgid) : NULL;
		if (k) {
			if (!read_comm(p.tgid, p.comm))
				continue;
			memcpy(p.container, k->container, sizeof(p.container));
		} else if (!read_labels(&p)) {
			continue;
		}
		err = proc_vec__push(out, &p);
	}
	closedir(d);
	if (!err && out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_tgid);
	return err;
}

/* ---- attach ------------------------------------------------------------ */

static void detach(struct memprobe *mp)
{
	bpf_link__destroy(mp->link);
	mp->link = NULL;
	mp->prog = NULL;
	memstat_bpf__destroy(mp->skel);
	mp->skel = NULL;
	mp->map_fd = mp->stats_fd = mp->targets_fd = mp->last_fd = -1;
}

static int try_variant(struct memprobe *mp, const struct variant *v, char *why,
		       size_t len)
{
	struct bpf_program *prog;
	int err;

	mp->skel = memstat_bpf__open();
	if (!mp->skel) {
		err = -errno;
		snprintf(why, len, "open: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, mp->skel->obj) {
		bool mine = starts_with(bpf_program__name(prog), v->prefix);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			mp->prog = prog;
	}
	if (bpf_map__set_max_entries(mp->skel->maps.mem_rss, mp->cfg->max_entries)) {
		snprintf(why, len, "map mem_rss: cannot size it");
		return -EINVAL;
	}
	mp->skel->rodata->filter_tgid = mp->cfg->targets.set;
	mp->skel->rodata->page_shift = mp->page_shift;
	err = memstat_bpf__load(mp->skel);
	if (err) {
		snprintf(why, len, "load: %s", strerror(-err));
		return err;
	}
	mp->link = bpf_program__attach(mp->prog);
	if (!mp->link) {
		err = -errno;
		snprintf(why, len, "attach %s: %s", bpf_program__name(mp->prog),
			 strerror(-err));
		return err;
	}
	mp->map_fd = bpf_map__fd(mp->skel->maps.mem_rss);
	mp->stats_fd = bpf_map__fd(mp->skel->maps.bw_stats);
	mp->targets_fd = bpf_map__fd(mp->skel->maps.bw_targets);
	mp->last_fd = bpf_map__fd(mp->skel->maps.mem_last);
	return 0;
}

static int refresh_targets(struct memprobe *mp);

struct memprobe *memprobe__new(const struct memory_cfg *cfg,
			       const struct features *feat)
{
	long page = sysconf(_SC_PAGESIZE);
	struct memprobe *mp;
	size_t used = 0;

	mp = calloc(1, sizeof(*mp));
	if (!mp)
		return NULL;
	mp->cfg = cfg;
	mp->map_fd = mp->stats_fd = mp->targets_fd = mp->last_fd = -1;
	mp->attach_type = "";
	mp->ntargets = -1;
	while (page > 1 && (1L << mp->page_shift) < page)
		mp->page_shift++;
	if (!cfg->enabled) {
		snprintf(mp->reason, sizeof(mp->reason), "disabled");
		return mp;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		char why[256];

		if (!feat->ok[v->feat]) {
			snprintf(why, sizeof(why), "%s", feat->reason[v->feat]);
		} else if (try_variant(mp, v, why, sizeof(why)) == 0) {
			mp->attached = true;
			mp->attach_type = feature__name(v->feat);
			snprintf(mp->reason, sizeof(mp->reason), "ok");
			break;
		} else {
			detach(mp);
		}
		used += snprintf(mp->reason + used, sizeof(mp->reason) - used,
				 "%s%s: %s", used ? "; " : "", feature__name(v->feat), why);
		if (used >= sizeof(mp->reason))
			used = sizeof(mp->reason) - 1;
	}
	if (!mp->attached) {
		mp->attach_type = "procfs";
		snprintf(mp->reason + used, sizeof(mp->reason) - used,
			 " (sampling /proc instead)");
		return mp;
	}
	/* Seed the processes that are already there (after attaching, so no
	 * change between the two is missed: the kernel's value wins). */
	if (refresh_targets(mp) < 0 || scan_proc(mp, NULL, &mp->seed) < 0)
		pr_warn("memory: seeding from /proc failed: %s", strerror(errno));
	return mp;
}

void memprobe__free(struct memprobe *mp)
{
	if (!mp)
		return;
	detach(mp);
	free(mp->cur.v);
	free(mp->prev.v);
	free(mp->seed.v);
	free(mp->want);
	free(mp->ents);
	free(mp->idle);
	free(mp->idle_next);
	free(mp);
}

bool memprobe__enabled(const struct memprobe *mp)
{
	return mp->cfg->enabled;
}

bool memprobe__attached(const struct memprobe *mp)
{
	return mp->attached;
}

const char *memprobe__attach_type(const struct memprobe *mp)
{
	return mp->attach_type;
}

const char *memprobe__reason(const struct memprobe *mp)
{
	return mp->reason;
}

int memprobe__map_fd(const struct memprobe *mp)
{
	return mp->map_fd;
}

int memprobe__last_fd(const struct memprobe *mp)
{
	return mp->last_fd;
}

int memprobe__targets(const struct memprobe *mp)
{
	return mp->ntargets;
}

int memprobe__targets_fd(const struct memprobe *mp)
{
	return mp->cfg->targets.set ? mp->targets_fd : -1;
}

int memprobe__add_target(struct memprobe *mp, uint32_t tgid)
{
	__u8 one = 1;

	if (mp->targets_fd < 0)
		return -ENOENT;
	return bpf_map_update_elem(mp->targets_fd, &tgid, &one, BPF_ANY) ? -errno : 0;
}

const struct mem_proc *memprobe__procs(const struct memprobe *mp, size_t *n)
{
	*n = mp->prev.n;	/* swapped in at the end of a collect */
	return mp->prev.v;
}

int memprobe__prog_stats(const struct memprobe *mp, struct probe_prog_stats *out,
			 int max)
{
	if (!mp->prog || max < 1 || !bw_prog_runs(mp->prog, &out[0].run_cnt,
						  &out[0].run_time_ns))
		return 0;
	out[0].name = bpf_program__name(mp->prog);
	return 1;
}

void memprobe__counters(const struct memprobe *mp, struct probe_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->hist_full = bw_percpu_sum(mp->stats_fd, BW_STAT_HIST_FULL);
	c->filtered = bw_percpu_sum(mp->stats_fd, BW_STAT_FILTERED);
	for (int i = 0; i < FREED__COUNT; i++)
		c->expired += mp->freed[i];
	c->targets_full = mp->targets_full;
	c->entries = mp->entries;
	c->max_entries = mp->attached ? mp->cfg->max_entries : 0;
}

/* ---- targets ----------------------------------------------------------- */

struct want_ctx {
	const struct targets_cfg *t;
	uint32_t *v;
	size_t n, cap;
};

static int want_push(struct want_ctx *w, uint32_t tgid)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		uint32_t *nv = reallocarray(w->v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->v = nv;
		w->cap = nc;
	}
	w->v[w->n++] = tgid;
	return 0;
}

static int want_cb(const struct proc_facts *pf, void *ctx)
{
	struct want_ctx *w = ctx;

	return targets__match(w->t, pf) ? want_push(w, pf->pid) : 0;
}

/*
 * Recompute the tgids the targets select and bring the kernel set in line
 * (the same rules as probe__refresh_targets() for the other probes).
 * Returns the number selected, 0 without targets, or -errno.
 */
static int refresh_targets(struct memprobe *mp)
{
	const struct targets_cfg *t = &mp->cfg->targets;
	struct want_ctx w = { .t = t };
	unsigned int need = targets__needs(t);
	int err = 0;

	if (!t->set)
		return 0;
	if (need) {
		err = targets__scan(need, want_cb, &w);
	} else {
		for (size_t i = 0; !err && i < t->npids; i++)
			if (targets__pid_exists(t->pids[i]))
				err = want_push(&w, t->pids[i]);
	}
	if (err) {
		free(w.v);
		return err;
	}
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmp_u32);
	free(mp->want);
	mp->want = w.v;
	mp->nwant = w.n;
	mp->ntargets = (int)w.n;
	if (mp->targets_fd < 0)
		return (int)w.n;
	err = bw_sync_u32_set(mp->targets_fd, w.v, w.n);
	if (err < 0)
		return err;
	mp->targets_full += (uint64_t)err;
	return (int)w.n;
}

/* ---- collect ----------------------------------------------------------- */

static int cmp_kentry(const void *a, const void *b)
{
	const struct kentry *x = a, *y = b;

	if (x->val.tgid != y->val.tgid)
		return x->val.tgid < y->val.tgid ? -1 : 1;
	/* newest first */
	return x->val.last_jiffies > y->val.last_jiffies ? -1 :
	       x->val.last_jiffies < y->val.last_jiffies;
}

static void free_entry(struct memprobe *mp, uint64_t key, enum freed_reason why)
{
	if (bpf_map_delete_elem(mp->map_fd, &key) == 0) {
		mp->freed[why]++;
		mp->freed_some = true;
	}
}

/*
 * Forget what the tp_btf program remembers of the entries' last values
 * (mem_last), so that an entry freed by mistake (two address spaces of
 * one process stamped in the same jiffy) is made again at its next event
 * instead of waiting for its counters to change.  One batch update.
 */
static void clear_last(struct memprobe *mp)
{
	static struct mem_last zero[MEM_LAST_SLOTS];
	static __u32 keys[MEM_LAST_SLOTS];
	__u32 count = MEM_LAST_SLOTS;

	if (mp->last_fd < 0)
		return;
	for (__u32 i = 0; i < MEM_LAST_SLOTS; i++)
		keys[i] = i;
	if (bpf_map_update_batch(mp->last_fd, keys, zero, &count, NULL))
		pr_debug("memory: clearing mem_last: %s", strerror(errno));
}

static int cmp_idle(const void *a, const void *b)
{
	uint64_t x = ((const struct idle *)a)->key, y = ((const struct idle *)b)->key;

	return x < y ? -1 : x > y;
}

/*
 * Unowned entry @key stamped @jiffies: free it once it has stayed so for
 * UNOWNED_TIMEOUT_NS, else remember it for the next tick.  Keys come in
 * map order, so idle_next is sorted at the end of read_map().
 */
static int unowned(struct memprobe *mp, uint64_t key, uint64_t jiffies, uint64_t now)
{
	struct idle k = { .key = key }, *old;
	uint64_t since = now;

	old = mp->nidle ? bsearch(&k, mp->idle, mp->nidle, sizeof(k), cmp_idle) : NULL;
	if (old && old->jiffies == jiffies)
		since = old->since_ns;
	if (now - since > UNOWNED_TIMEOUT_NS) {
		free_entry(mp, key, FREED_UNOWNED);
		return 0;
	}
	if (mp->nidle_next == mp->idlecap) {
		size_t nc = mp->idlecap ? mp->idlecap * 2 : 64;
		struct idle *a = reallocarray(mp->idle, nc, sizeof(*a));
		struct idle *b;

		if (!a)
			return -ENOMEM;
		mp->idle = a;
		b = reallocarray(mp->idle_next, nc, sizeof(*b));
		if (!b)
			return -ENOMEM;
		mp->idle_next = b;
		mp->idlecap = nc;
	}
	mp->idle_next[mp->nidle_next++] = (struct idle){ key, jiffies, since };
	return 0;
}

/* Read the whole kernel map into mp->ents, freeing unowned idle entries. */
static int read_map(struct memprobe *mp)
{
	uint64_t key, next, now = bw_mono_ns();
	uint32_t entries = 0;
	struct idle *swap;
	int more, err;

	mp->nents = 0;
	mp->nidle_next = 0;
	more = bpf_map_get_next_key(mp->map_fd, NULL, &next) == 0;
	while (more) {
		struct mem_val val;

		key = next;
		more = bpf_map_get_next_key(mp->map_fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(mp->map_fd, &key, &val))
			continue;	/* deleted under us */
		entries++;
		if (!val.tgid) {
			err = unowned(mp, key, val.last_jiffies, now);
			if (err)
				return err;
			continue;
		}
		if (mp->nents == mp->entcap) {
			size_t nc = mp->entcap ? mp->entcap * 2 : 256;
			struct kentry *ne = reallocarray(mp->ents, nc, sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			mp->ents = ne;
			mp->entcap = nc;
		}
		mp->ents[mp->nents].key = key;
		mp->ents[mp->nents++].val = val;
	}
	mp->entries = entries;
	if (mp->nidle_next)
		qsort(mp->idle_next, mp->nidle_next, sizeof(*mp->idle_next), cmp_idle);
	swap = mp->idle;
	mp->idle = mp->idle_next;
	mp->idle_next = swap;
	mp->nidle = mp->nidle_next;
	if (mp->nents)
		qsort(mp->ents, mp->nents, sizeof(*mp->ents), cmp_kentry);
	return 0;
}

#define SEED_DONE	UINT64_MAX	/* seed->key: superseded by the kernel */

/* Kernel entries + seeds -> mp->cur (sorted by tgid). */
static int collect_kernel(struct memprobe *mp)
{
	size_t nseed = 0, nkernel;
	int err;

	err = read_map(mp);
	if (err)
		return err;
	mp->cur.n = 0;
	for (size_t i = 0; i < mp->nents; i++) {
		const struct kentry *e = &mp->ents[i];
		struct mem_proc p = { .tgid = e->val.tgid, .key = e->key };
		const struct mem_proc *old;
		struct mem_proc *seed;

		if (i > 0 && mp->ents[i - 1].val.tgid == p.tgid) {
			free_entry(mp, e->key, FREED_REPLACED);
			continue;
		}
		if (!alive(p.tgid)) {
			free_entry(mp, e->key, FREED_EXITED);
			continue;
		}
		if (!wanted(mp, p.tgid)) {
			free_entry(mp, e->key, FREED_UNTARGETED);
			continue;
		}
		old = proc_vec__find(&mp->prev, p.tgid);
		if (old && (old->key == p.key || !old->key)) {
			memcpy(p.comm, old->comm, sizeof(p.comm));
			memcpy(p.container, old->container, sizeof(p.container));
		} else if (!read_labels(&p)) {
			free_entry(mp, e->key, FREED_EXITED);
			continue;
		}
		memcpy(p.bytes, e->val.bytes, sizeof(p.bytes));
		seed = proc_vec__find(&mp->seed, p.tgid);
		if (seed && e->val.seen == MEM_SEEN_ALL)
			seed->key = SEED_DONE;
		else if (seed)
			for (int m = 0; m < MEM_MEMBERS; m++)
				if (!(e->val.seen & (1U << m)))
					p.bytes[m] = seed->bytes[m];
		err = proc_vec__push(&mp->cur, &p);
		if (err)
			return err;
	}

	/* Processes only the seed knows (no RSS change since start-up) stay
	 * on it; seeds of complete kernel entries and of exited processes are
	 * dropped.  Both lists are sorted by tgid and stay so. */
	nkernel = mp->cur.n;
	for (size_t i = 0; i < mp->seed.n; i++) {
		struct mem_proc s = mp->seed.v[i];

		if (s.key == SEED_DONE || !alive(s.tgid) || !wanted(mp, s.tgid))
			continue;
		mp->seed.v[nseed++] = s;
		if (mp->cur.n && bsearch(&s, mp->cur.v, nkernel, sizeof(s), cmp_tgid))
			continue;
		err = proc_vec__push(&mp->cur, &s);
		if (err)
			return err;
	}
	mp->seed.n = nseed;
	if (mp->freed_some)
		clear_last(mp);
	mp->freed_some = false;
	if (mp->cur.n > nkernel)
		qsort(mp->cur.v, mp->cur.n, sizeof(*mp->cur.v), cmp_tgid);
	return 0;
}

/* ---- export ------------------------------------------------------------ */

static int cmp_group(const void *a, const void *b)
{
	const struct mem_proc *x = *(const struct mem_proc *const *)a;
	const struct mem_proc *y = *(const struct mem_proc *const *)b;
	int c = strcmp(x->comm, y->comm);

	return c ? c : strcmp(x->container, y->container);
}

static const char *const kind_names[MEM_MEMBERS] = {
	[MEM_FILE] = "file", [MEM_ANON] = "anon", [MEM_SWAP] = "swap",
	[MEM_SHMEM] = "shmem",
};

/* Append one group's sums (@nproc processes) with labels @l (@n of them). */
static void put_group(struct memprobe *mp, struct store *s, struct label *l,
		      size_t n, const uint64_t *sum, size_t nproc, bool count)
{
	store__append(s, mp->f_resident, "", l, n,
		      (double)(sum[MEM_ANON] + sum[MEM_FILE] + sum[MEM_SHMEM]));
	for (int m = 0; m < MEM_MEMBERS; m++) {
		l[n] = (struct label){ "kind", kind_names[m] };
		store__append(s, mp->f_kind, "", l, n + 1, (double)sum[m]);
	}
	if (count)
		store__append(s, mp->f_count, "", l, n, (double)nproc);
}

static int export(struct memprobe *mp, struct store *s)
{
	const struct proc_vec *pv = &mp->cur;
	const struct mem_proc **order;
	struct label l[4];

	if (!mp->f_resident) {
		mp->f_resident = store__family(s, "bpfwatch_process_resident_bytes",
			METRIC_GAUGE, "Resident memory (anon + file + shmem pages, "
			"as VmRSS) of the processes of a comm and container, from "
			"kmem:rss_stat.");
		mp->f_kind = store__family(s, "bpfwatch_process_memory_bytes",
			METRIC_GAUGE, "Memory of the processes of a comm and "
			"container by kind: anon, file and shmem (resident) and "
			"swap (swapped-out anon).");
		mp->f_count = store__family(s, "bpfwatch_memory_processes",
			METRIC_GAUGE, "Processes summed into the memory series of "
			"a comm and container.");
		mp->f_freed = store__family(s, "bpfwatch_memory_entries_freed_total",
			METRIC_COUNTER, "Address spaces freed from the memory "
			"probe's kernel map: process exited, replaced by a newer "
			"one (exec), never owned and idle, or no longer a target.");
		if (!mp->f_resident || !mp->f_kind || !mp->f_count || !mp->f_freed)
			return -errno;
	}
	for (int i = 0; i < FREED__COUNT; i++) {
		l[0] = (struct label){ "reason", freed_names[i] };
		store__append(s, mp->f_freed, "", l, 1, (double)mp->freed[i]);
	}
	if (!pv->n)
		return 0;
	if (mp->cfg->pid_label) {
		for (size_t i = 0; i < pv->n; i++) {
			char pid[16];

			snprintf(pid, sizeof(pid), "%u", pv->v[i].tgid);
			l[0] = (struct label){ "comm", pv->v[i].comm };
			l[1] = (struct label){ "container", pv->v[i].container };
			l[2] = (struct label){ "pid", pid };
			put_group(mp, s, l, 3, pv->v[i].bytes, 1, false);
		}
		return 0;
	}
	order = calloc(pv->n, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < pv->n; i++)
		order[i] = &pv->v[i];
	qsort(order, pv->n, sizeof(*order), cmp_group);
	for (size_t i = 0; i < pv->n;) {
		uint64_t sum[MEM_MEMBERS] = { 0 };
		size_t j = i;

		for (; j < pv->n && !cmp_group(&order[i], &order[j]); j++)
			for (int m = 0; m < MEM_MEMBERS; m++)
				sum[m] += order[j]->bytes[m];
		l[0] = (struct label){ "comm", order[i]->comm };
		l[1] = (struct label){ "container", order[i]->container };
		put_group(mp, s, l, 2, sum, j - i, true);
		i = j;
	}
	free(order);
	return 0;
}

int memprobe__collect(struct memprobe *mp, struct store *s)
{
	struct proc_vec tmp;
	int err, n;

	if (!mp->cfg->enabled)
		return 0;
	n = refresh_targets(mp);
	if (n < 0)
		pr_warn("memory: refreshing targets failed: %s", strerror(-n));
	if (mp->attached)
		err = collect_kernel(mp);
	else
		err = scan_proc(mp, &mp->prev, &mp->cur);
	if (err)
		return err;
	err = export(mp, s);
	/* this tick's records become the previous ones (labels, procs()) */
	tmp = mp->prev;
	mp->prev = mp->cur;
	mp->cur = tmp;
	mp->cur.n = 0;
	return err;
}
