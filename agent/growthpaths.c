// SPDX-License-Identifier: GPL-2.0
/*
 * Memory growth attribution by code path (see growthpaths.h).
 *
 * Each tick:
 *   1. the window moves on: slices that have passed are zeroed, stacks
 *      left with nothing in the window are dropped;
 *   2. processes no longer in the memory probe's list are forgotten, and
 *      one whose address space changed (exec) starts over;
 *   3. the kernel counts are drained (lookup-and-delete, so a sample
 *      arriving meanwhile stays for the next tick), each stack read from
 *      the stack map and matched by its frames (not its id: ids are
 *      freed every tick and may come back for another stack), then the
 *      stack ids read are freed.
 * Labels are made at export, once per stack.
 *
 * A sample counted between the drain and the freeing of its stack id
 * finds its stack gone at the next tick (counted, stack_gone); were the
 * freed id taken meanwhile by another stack hashing to the same bucket,
 * that sample would go to the other stack: a rare, one-sample error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "stats.h"
#include "memgrowth.h"
#include "memgrowth.skel.h"

#include "expo.h"
#include "growthpaths.h"
#include "leakdetect.h"
#include "log.h"
#include "store.h"
#include "symbolize.h"

#define REASON_LEN	512
#define KERNEL_START	0x800000000000ULL	/* x86-64/arm64 user space ends below */

struct gp_stack {
	uint64_t ips[GP_MAX_FRAMES];
	uint32_t nips;
	uint64_t slice[GP_SLICES];	/* bytes attributed per window slice */
	uint64_t total;			/* sum of slice[] */
	char *path;			/* label; NULL until symbolized */
};

struct gp_proc {
	uint32_t tgid;
	uint64_t mm;			/* mem_proc.key: a new one is an exec */
	char comm[MEM_COMM_LEN + 1];
	char container[MEM_LABEL_LEN];
	struct gp_stack *stacks;	/* GP_MAX_STACKS, allocated on first use */
	uint32_t nstacks;
};

struct gp_sym {
	uint32_t tgid;
	uint64_t mm;
	uint64_t used;			/* tick of last use (LRU) */
	uint64_t refreshed;		/* tick maps were last re-read */
	struct symbolizer *s;
};

enum lost_reason {
	LOST_NO_STACK = 0,
	LOST_STACK_FULL,
	LOST_COUNTS_FULL,
	LOST_UNTRACKED,		/* tgid not in the memory probe's list */
	LOST_PROCS_FULL,	/* GP_MAX_PROCS reached */
	LOST_STACK_GONE,	/* stack id freed before it was read */
	LOST__COUNT,
};

static const char *const lost_names[LOST__COUNT] = {
	[LOST_NO_STACK] = "no_stack",
	[LOST_STACK_FULL] = "stack_map_full",
	[LOST_COUNTS_FULL] = "count_map_full",
	[LOST_UNTRACKED] = "untracked_process",
	[LOST_PROCS_FULL] = "process_limit",
	[LOST_STACK_GONE] = "stack_gone",
};

enum evict_bound {
	EVICT_STACK = 0,	/* a process's GP_MAX_STACKS */
	EVICT_SERIES,		/* GP_MAX_SERIES */
	EVICT_SYMBOLIZER,	/* GP_SYMBOLIZERS */
	EVICT__COUNT,
};

static const char *const evict_names[EVICT__COUNT] = {
	[EVICT_STACK] = "stacks_per_process",
	[EVICT_SERIES] = "series",
	[EVICT_SYMBOLIZER] = "symbolizers",
};

struct variant {
	enum feature feat;
	const char *prefix;
};

static const struct variant variants[] = {
	{ FEAT_TP_BTF, "tp_btf_" },
	{ FEAT_RAW_TP, "raw_tp_" },
	{ FEAT_TRACEPOINT, "tp_page" },
};

struct row {
	const char *comm, *container;
	char path[GP_PATH_LEN];
	double value;
};

struct growthpaths {
	const struct memory_cfg *cfg;
	struct memgrowth_bpf *skel;
	struct bpf_link *link;
	struct bpf_program *prog;
	const char *attach_type;
	char reason[REASON_LEN];
	int counts_fd, stacks_fd, stats_fd;
	uint64_t page;
	uint64_t slice_ms;
	int64_t cur_slice;		/* -1 before the first tick */
	uint64_t tick;
	struct gp_proc *procs;		/* sorted by tgid */
	size_t nprocs;
	struct gp_proc *next;		/* scratch for the merge */
	struct gp_key *keys;		/* scratch: GP_COUNT_ENTRIES */
	uint32_t *ids;			/* scratch: stack ids to free */
	struct gp_sym syms[GP_SYMBOLIZERS];
	uint64_t lost[LOST__COUNT];
	uint64_t evicted[EVICT__COUNT];
	uint64_t sym_errors;
	struct row *rows;
	size_t nrows, rowcap;
	struct store_family *f_bytes, *f_suspect, *f_samples, *f_lost, *f_evict;
};

/* ---- path labels -------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool prefixed(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* libc, the dynamic loader and the vDSO: where the allocator, memset and
 * memcpy run, not the code that wants the memory.  And frames in no
 * mapping: a frame-pointer walk through code built without them (libc
 * is) reads a stale frame pointer, and what follows is noise. */
static bool skipped(const struct gp_frame *f)
{
	const char *b;

	if (!f->module)
		return true;
	b = base_name(f->module);
	return prefixed(b, "libc.so") || prefixed(b, "libc-") ||
	       prefixed(b, "ld-linux") || prefixed(b, "ld.so") ||
	       prefixed(b, "ld64.so") || !strcmp(b, "[vdso]");
}

static void frame_label(const struct gp_frame *f, char *out, size_t len)
{
	if (f->symbol && *f->symbol)
		snprintf(out, len, "%s", f->symbol);
	else if (!f->module)
		snprintf(out, len, "[unknown]");
	else if (!*f->module)
		snprintf(out, len, "[anon]");
	else if (f->module[0] == '[')
		snprintf(out, len, "%s", f->module);	/* [heap], [stack] */
	else
		snprintf(out, len, "[%s]", base_name(f->module));
}

size_t growth_path__build(const struct gp_frame *f, size_t n, char *buf, size_t len)
{
	char lab[GP_PATH_FRAMES][GP_PATH_LEN];
	size_t k = 0, used = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && k < GP_PATH_FRAMES; i++) {
		if (skipped(&f[i]))
			continue;
		frame_label(&f[i], lab[k], sizeof(lab[k]));
		if (k && !strcmp(lab[k], lab[k - 1]))
			continue;
		k++;
	}
	if (!k && n)
		frame_label(&f[0], lab[k++], sizeof(lab[0]));
	/* outer to inner; the innermost frames matter most, so when the
	 * whole does not fit, outer frames go first */
	while (k) {
		size_t need = 0;

		for (size_t i = 0; i < k; i++)
			need += strlen(lab[i]) + (i ? 1 : 0);
		if (need < len || k == 1)
			break;
		k--;
	}
	for (size_t i = k; i-- > 0;) {
		int w = snprintf(buf + used, len - used, "%s%s",
				 i == k - 1 ? "" : ";", lab[i]);

		if (w < 0 || (size_t)w >= len - used) {
			used = len - 1;	/* one frame longer than @len: cut */
			break;
		}
		used += (size_t)w;
	}
	return used;
}

/* ---- attach ------------------------------------------------------------- */

static void detach(struct growthpaths *gp)
{
	bpf_link__destroy(gp->link);
	gp->link = NULL;
	gp->prog = NULL;
	memgrowth_bpf__destroy(gp->skel);
	gp->skel = NULL;
	gp->counts_fd = gp->stacks_fd = gp->stats_fd = -1;
}

static int try_variant(struct growthpaths *gp, const struct variant *v,
		       int targets_fd, char *why, size_t len)
{
	struct bpf_program *prog;
	int err;

	gp->skel = memgrowth_bpf__open();
	if (!gp->skel) {
		err = -errno;
		snprintf(why, len, "open: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, gp->skel->obj) {
		bool mine = prefixed(bpf_program__name(prog), v->prefix);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			gp->prog = prog;
	}
	if (bpf_map__set_max_entries(gp->skel->maps.gp_stacks, GP_STACK_ENTRIES) ||
	    bpf_map__set_max_entries(gp->skel->maps.gp_counts, GP_COUNT_ENTRIES)) {
		snprintf(why, len, "cannot size the maps");
		return -EINVAL;
	}
	if (targets_fd >= 0) {
		err = bpf_map__reuse_fd(gp->skel->maps.bw_targets, targets_fd);
		if (err) {
			snprintf(why, len, "sharing the targets map: %s", strerror(-err));
			return err;
		}
		gp->skel->rodata->filter_tgid = true;
	}
	gp->skel->rodata->sample_every = gp->cfg->growth.sample_every;
	err = memgrowth_bpf__load(gp->skel);
	if (err) {
		snprintf(why, len, "load: %s", strerror(-err));
		return err;
	}
	gp->link = bpf_program__attach(gp->prog);
	if (!gp->link) {
		err = -errno;
		snprintf(why, len, "attach %s: %s", bpf_program__name(gp->prog),
			 strerror(-err));
		return err;
	}
	gp->counts_fd = bpf_map__fd(gp->skel->maps.gp_counts);
	gp->stacks_fd = bpf_map__fd(gp->skel->maps.gp_stacks);
	gp->stats_fd = bpf_map__fd(gp->skel->maps.gp_stats);
	return 0;
}

struct growthpaths *growthpaths__new(const struct memory_cfg *cfg,
				     const struct features *feat,
				     uint64_t window_ms, int targets_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	struct growthpaths *gp;
	size_t used = 0;

	gp = calloc(1, sizeof(*gp));
	if (!gp)
		return NULL;
	gp->cfg = cfg;
	gp->counts_fd = gp->stacks_fd = gp->stats_fd = -1;
	gp->attach_type = "";
	gp->page = page > 0 ? (uint64_t)page : 4096;
	gp->slice_ms = window_ms / GP_SLICES ? window_ms / GP_SLICES : 1;
	gp->cur_slice = -1;
	gp->procs = calloc(GP_MAX_PROCS, sizeof(*gp->procs));
	gp->next = calloc(GP_MAX_PROCS, sizeof(*gp->next));
	gp->keys = calloc(GP_COUNT_ENTRIES, sizeof(*gp->keys));
	gp->ids = calloc(GP_COUNT_ENTRIES, sizeof(*gp->ids));
	if (!gp->procs || !gp->next || !gp->keys || !gp->ids) {
		growthpaths__free(gp);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		char why[256];

		if (!feat->ok[v->feat]) {
			snprintf(why, sizeof(why), "%s", feat->reason[v->feat]);
		} else if (try_variant(gp, v, targets_fd, why, sizeof(why)) == 0) {
			gp->attach_type = feature__name(v->feat);
			snprintf(gp->reason, sizeof(gp->reason), "ok");
			return gp;
		} else {
			detach(gp);
		}
		used += snprintf(gp->reason + used, sizeof(gp->reason) - used,
				 "%s%s: %s", used ? "; " : "", feature__name(v->feat), why);
		if (used >= sizeof(gp->reason))
			used = sizeof(gp->reason) - 1;
	}
	return gp;
}

static void proc_clear(struct gp_proc *p)
{
	for (uint32_t i = 0; i < p->nstacks; i++)
		free(p->stacks[i].path);
	free(p->stacks);
	p->stacks = NULL;
	p->nstacks = 0;
}

void growthpaths__free(struct growthpaths *gp)
{
	if (!gp)
		return;
	detach(gp);
	if (gp->procs)
		for (size_t i = 0; i < gp->nprocs; i++)
			proc_clear(&gp->procs[i]);
	for (int i = 0; i < GP_SYMBOLIZERS; i++)
		symbolizer__free(gp->syms[i].s);
	free(gp->procs);
	free(gp->next);
	free(gp->keys);
	free(gp->ids);
	free(gp->rows);
	free(gp);
}

bool growthpaths__attached(const struct growthpaths *gp)
{
	return gp->link != NULL;
}

const char *growthpaths__attach_type(const struct growthpaths *gp)
{
	return gp->attach_type;
}

const char *growthpaths__reason(const struct growthpaths *gp)
{
	return gp->reason;
}

bool growthpaths__prog_runs(const struct growthpaths *gp, uint64_t *cnt, uint64_t *ns)
{
	return gp->prog && bw_prog_runs(gp->prog, cnt, ns);
}

/* ---- update ------------------------------------------------------------- */

static struct gp_proc *find_proc(struct growthpaths *gp, uint32_t tgid)
{
	size_t lo = 0, hi = gp->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (gp->procs[mid].tgid == tgid)
			return &gp->procs[mid];
		if (gp->procs[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void drop_stack(struct gp_proc *p, uint32_t i)
{
	free(p->stacks[i].path);
	p->stacks[i] = p->stacks[--p->nstacks];
}

/* Zero the slices entered since the last tick. */
static void advance(struct growthpaths *gp, int64_t ts_ms)
{
	int64_t now = ts_ms / (int64_t)gp->slice_ms;

	if (gp->cur_slice < 0)
		gp->cur_slice = now;
	for (int64_t s = gp->cur_slice + 1; s <= now && s <= gp->cur_slice + GP_SLICES; s++) {
		uint32_t ix = (uint32_t)(s % GP_SLICES);

		for (size_t i = 0; i < gp->nprocs; i++) {
			struct gp_proc *p = &gp->procs[i];

			for (uint32_t j = 0; j < p->nstacks;) {
				struct gp_stack *st = &p->stacks[j];

				st->total -= st->slice[ix];
				st->slice[ix] = 0;
				if (!st->total)
					drop_stack(p, j);
				else
					j++;
			}
		}
	}
	if (now > gp->cur_slice)
		gp->cur_slice = now;
}

/* Keep the processes of @procs we track, in tgid order; an exec'd one
 * starts over.  New ones are added when they have samples. */
static void merge_procs(struct growthpaths *gp, const struct mem_proc *procs, size_t n)
{
	size_t i = 0, j = 0, k = 0;

	while (i < gp->nprocs) {
		struct gp_proc *p = &gp->procs[i];

		while (j < n && procs[j].tgid < p->tgid)
			j++;
		/* a process whose stacks all left the window frees its
		 * slot (and its stack array) until it faults again */
		if (j < n && procs[j].tgid == p->tgid && p->nstacks) {
			if (procs[j].key != p->mm)
				proc_clear(p);
			p->mm = procs[j].key;
			snprintf(p->comm, sizeof(p->comm), "%s", procs[j].comm);
			snprintf(p->container, sizeof(p->container), "%s",
				 procs[j].container);
			gp->next[k++] = *p;
		} else {
			proc_clear(p);
		}
		i++;
	}
	memcpy(gp->procs, gp->next, k * sizeof(*gp->procs));
	gp->nprocs = k;
}

static const struct mem_proc *find_mem(const struct mem_proc *procs, size_t n,
				       uint32_t tgid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (procs[mid].tgid == tgid)
			return &procs[mid];
		if (procs[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct gp_proc *add_proc(struct growthpaths *gp, const struct mem_proc *m)
{
	size_t at = 0;

	if (gp->nprocs >= GP_MAX_PROCS)
		return NULL;
	while (at < gp->nprocs && gp->procs[at].tgid < m->tgid)
		at++;
	memmove(&gp->procs[at + 1], &gp->procs[at],
		(gp->nprocs - at) * sizeof(*gp->procs));
	gp->nprocs++;
	memset(&gp->procs[at], 0, sizeof(gp->procs[at]));
	gp->procs[at].tgid = m->tgid;
	gp->procs[at].mm = m->key;
	snprintf(gp->procs[at].comm, sizeof(gp->procs[at].comm), "%s", m->comm);
	snprintf(gp->procs[at].container, sizeof(gp->procs[at].container), "%s",
		 m->container);
	return &gp->procs[at];
}

/* The process's entry for @ips, made (evicting the least growing stack
 * when full) if absent; NULL out of memory. */
static struct gp_stack *stack_for(struct growthpaths *gp, struct gp_proc *p,
				  const uint64_t *ips, uint32_t nips)
{
	struct gp_stack *st;
	uint32_t least = 0;

	if (!p->stacks) {
		p->stacks = calloc(GP_MAX_STACKS, sizeof(*p->stacks));
		if (!p->stacks)
			return NULL;
	}
	for (uint32_t i = 0; i < p->nstacks; i++) {
		st = &p->stacks[i];
		if (st->nips == nips && !memcmp(st->ips, ips, nips * sizeof(*ips)))
			return st;
		if (st->total < p->stacks[least].total)
			least = i;
	}
	if (p->nstacks == GP_MAX_STACKS) {
		drop_stack(p, least);
		gp->evicted[EVICT_STACK]++;
	}
	st = &p->stacks[p->nstacks++];
	memset(st, 0, sizeof(*st));
	memcpy(st->ips, ips, nips * sizeof(*ips));
	st->nips = nips;
	return st;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int growthpaths__update(struct growthpaths *gp, const struct mem_proc *procs,
			size_t n, int64_t ts_ms)
{
	size_t nkeys = 0, nids = 0;
	struct gp_key key, next;
	uint32_t slice;
	int err = 0;

	gp->tick++;
	advance(gp, ts_ms);
	merge_procs(gp, procs, n);
	if (gp->counts_fd < 0)
		return 0;
	slice = (uint32_t)(gp->cur_slice % GP_SLICES);
	/* the keys first: deleting while walking would restart the walk */
	if (bpf_map_get_next_key(gp->counts_fd, NULL, &next) == 0) {
		do {
			gp->keys[nkeys++] = next;
			key = next;
		} while (nkeys < GP_COUNT_ENTRIES &&
			 bpf_map_get_next_key(gp->counts_fd, &key, &next) == 0);
	}
	for (size_t i = 0; i < nkeys; i++) {
		const struct mem_proc *m;
		uint64_t ips[GP_MAX_FRAMES], count;
		struct gp_proc *p;
		struct gp_stack *st;
		uint32_t nips = 0;

		if (bpf_map_lookup_and_delete_elem(gp->counts_fd, &gp->keys[i], &count))
			continue;
		gp->ids[nids++] = (uint32_t)gp->keys[i].stackid;
		if (bpf_map_lookup_elem(gp->stacks_fd, &gp->keys[i].stackid, ips)) {
			gp->lost[LOST_STACK_GONE] += count;
			continue;
		}
		while (nips < GP_MAX_FRAMES && ips[nips])
			nips++;
		p = find_proc(gp, gp->keys[i].tgid);
		if (!p) {
			m = find_mem(procs, n, gp->keys[i].tgid);
			if (!m) {
				gp->lost[LOST_UNTRACKED] += count;
				continue;
			}
			p = add_proc(gp, m);
			if (!p) {
				gp->lost[LOST_PROCS_FULL] += count;
				continue;
			}
		}
		st = stack_for(gp, p, ips, nips);
		if (!st) {
			err = -ENOMEM;
			continue;
		}
		count *= gp->cfg->growth.sample_every * gp->page;
		st->slice[slice] += count;
		st->total += count;
	}
	/* free the stack ids read: the map holds one tick's stacks */
	qsort(gp->ids, nids, sizeof(*gp->ids), cmp_u32);
	for (size_t i = 0; i < nids; i++)
		if (!i || gp->ids[i] != gp->ids[i - 1])
			bpf_map_delete_elem(gp->stacks_fd, &gp->ids[i]);
	/* a process added for its samples may have been dropped again by
	 * the eviction of its only stack: nothing more to do */
	return err;
}

/* ---- symbolize and export ------------------------------------------------ */

static struct gp_sym *sym_for(struct growthpaths *gp, const struct gp_proc *p)
{
	struct gp_sym *slot = NULL;

	for (int i = 0; i < GP_SYMBOLIZERS; i++) {
		struct gp_sym *y = &gp->syms[i];

		if (y->s && y->tgid == p->tgid && y->mm == p->mm) {
			y->used = gp->tick;
			return y;
		}
		if (!slot || !y->s || (slot->s && y->used < slot->used))
			slot = y;
	}
	if (slot->s) {
		symbolizer__free(slot->s);
		gp->evicted[EVICT_SYMBOLIZER]++;
	}
	memset(slot, 0, sizeof(*slot));
	slot->s = symbolizer__new(p->tgid, GP_SYM_FILES);
	if (!slot->s) {
		gp->sym_errors++;
		return NULL;
	}
	slot->tgid = p->tgid;
	slot->mm = p->mm;
	slot->used = gp->tick;
	slot->refreshed = gp->tick;
	return slot;
}

/* Label every stack of @p that has none yet.  Module and symbol strings
 * are borrowed from the symbolizer until its next call: each frame's are
 * copied out. */
static int label_stacks(struct growthpaths *gp, struct gp_proc *p)
{
	char mods[GP_MAX_FRAMES][128], syms[GP_MAX_FRAMES][128];
	struct gp_frame f[GP_MAX_FRAMES];
	char path[GP_PATH_LEN];
	struct gp_sym *y = NULL;

	for (uint32_t i = 0; i < p->nstacks; i++) {
		struct gp_stack *st = &p->stacks[i];
		size_t nf = 0;

		if (st->path)
			continue;
		if (!y) {
			y = sym_for(gp, p);
			if (!y)
				return -ESRCH;
		}
		for (uint32_t j = 0; j < st->nips; j++) {
			/* return addresses point after the call: look up the
			 * call itself, or a call ending its function would
			 * resolve to the next one */
			uint64_t ip = st->ips[j] - (j ? 1 : 0);
			struct sym_info si;
			int rc;

			if (st->ips[j] >= KERNEL_START)
				continue;
			rc = symbolizer__resolve(y->s, ip, &si);
			if (rc == -ENOENT && y->refreshed != gp->tick) {
				y->refreshed = gp->tick;
				symbolizer__refresh(y->s);
				rc = symbolizer__resolve(y->s, ip, &si);
			}
			f[nf].module = NULL;
			f[nf].symbol = NULL;
			if (rc == 0 && si.module) {
				snprintf(mods[nf], sizeof(mods[nf]), "%s", si.module);
				f[nf].module = mods[nf];
				if (si.symbol) {
					snprintf(syms[nf], sizeof(syms[nf]), "%s", si.symbol);
					f[nf].symbol = syms[nf];
				}
			}
			nf++;
		}
		growth_path__build(f, nf, path, sizeof(path));
		st->path = strdup(path[0] ? path : "[unknown]");
		if (!st->path)
			return -ENOMEM;
	}
	return 0;
}

struct pathsum {
	const char *path;
	uint64_t bytes;
};

static int cmp_pathsum_name(const void *a, const void *b)
{
	return strcmp(((const struct pathsum *)a)->path, ((const struct pathsum *)b)->path);
}

static int cmp_pathsum_bytes(const void *a, const void *b)
{
	uint64_t x = ((const struct pathsum *)a)->bytes, y = ((const struct pathsum *)b)->bytes;

	if (x != y)
		return x > y ? -1 : 1;
	return cmp_pathsum_name(a, b);
}

/* The paths of @p (labelled stacks summed by path), largest first. */
static size_t proc_paths(const struct gp_proc *p, struct pathsum *out)
{
	size_t n = 0, k = 0;

	for (uint32_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].path && p->stacks[i].total)
			out[n++] = (struct pathsum){ p->stacks[i].path, p->stacks[i].total };
	qsort(out, n, sizeof(*out), cmp_pathsum_name);
	for (size_t i = 0; i < n; i++) {
		if (k && !strcmp(out[k - 1].path, out[i].path))
			out[k - 1].bytes += out[i].bytes;
		else
			out[k++] = out[i];
	}
	qsort(out, k, sizeof(*out), cmp_pathsum_bytes);
	return k;
}

size_t growthpaths__top(struct growthpaths *gp, uint32_t tgid, struct gp_path *out,
			size_t max)
{
	struct pathsum ps[GP_MAX_STACKS];
	struct gp_proc *p = find_proc(gp, tgid);
	size_t n;

	if (!p)
		return 0;
	label_stacks(gp, p);
	n = proc_paths(p, ps);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		snprintf(out[i].path, sizeof(out[i].path), "%s", ps[i].path);
		out[i].bytes = ps[i].bytes;
	}
	return n;
}

static int push_row(struct growthpaths *gp, const struct gp_proc *p,
		    const char *path, double v)
{
	struct row *r;

	if (gp->nrows == gp->rowcap) {
		size_t cap = gp->rowcap ? gp->rowcap * 2 : 64;
		struct row *nr = realloc(gp->rows, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		gp->rows = nr;
		gp->rowcap = cap;
	}
	r = &gp->rows[gp->nrows++];
	r->comm = p->comm;
	r->container = p->container;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->value = v;
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->comm, y->comm);

	if (!c)
		c = strcmp(x->container, y->container);
	return c ? c : strcmp(x->path, y->path);
}

static int cmp_row_value(const void *a, const void *b)
{
	double x = ((const struct row *)a)->value, y = ((const struct row *)b)->value;

	return x > y ? -1 : x < y;
}

/* Merge rows with the same labels (@sum: add, else keep the largest),
 * cap them at GP_MAX_SERIES (the smallest dropped, counted), append. */
static void emit_rows(struct growthpaths *gp, struct store *s, struct store_family *f,
		      bool sum)
{
	size_t k = 0;

	qsort(gp->rows, gp->nrows, sizeof(*gp->rows), cmp_row);
	for (size_t i = 0; i < gp->nrows; i++) {
		if (k && !cmp_row(&gp->rows[k - 1], &gp->rows[i])) {
			if (sum)
				gp->rows[k - 1].value += gp->rows[i].value;
			else if (gp->rows[i].value > gp->rows[k - 1].value)
				gp->rows[k - 1].value = gp->rows[i].value;
		} else {
			gp->rows[k++] = gp->rows[i];
		}
	}
	if (k > GP_MAX_SERIES) {
		qsort(gp->rows, k, sizeof(*gp->rows), cmp_row_value);
		gp->evicted[EVICT_SERIES] += k - GP_MAX_SERIES;
		k = GP_MAX_SERIES;
	}
	for (size_t i = 0; i < k; i++) {
		struct label l[3] = {
			{ "comm", gp->rows[i].comm },
			{ "container", gp->rows[i].container },
			{ "path", gp->rows[i].path },
		};

		store__append(s, f, "", l, 3, gp->rows[i].value);
	}
	gp->nrows = 0;
}

static int families(struct growthpaths *gp, struct store *s)
{
	if (gp->f_bytes)
		return 0;
	gp->f_bytes = store__family(s, "bpfwatch_memory_growth_path_bytes",
		METRIC_GAUGE, "Bytes of resident memory growth attributed to a "
		"code path over the leak window (sampled user page faults x "
		"sample_every x page size), for the top_k paths of each process, "
		"summed over the processes of a comm and container.  The path: "
		"innermost non-libc frames, outer to inner.");
	gp->f_suspect = store__family(s, "bpfwatch_leak_suspect_path",
		METRIC_GAUGE, "The top growth path of each leak suspect, valued "
		"with its bpfwatch_leak_suspect score (largest over the group).");
	gp->f_samples = store__family(s, "bpfwatch_memory_growth_path_samples_total",
		METRIC_COUNTER, "User page faults sampled for growth attribution.");
	gp->f_lost = store__family(s, "bpfwatch_memory_growth_path_lost_total",
		METRIC_COUNTER, "Sampled page faults not attributed, by reason: "
		"no user stack, stack or count map full, process not tracked by "
		"the memory probe or over the process limit, stack freed before "
		"it was read.");
	gp->f_evict = store__family(s, "bpfwatch_memory_growth_path_evictions_total",
		METRIC_COUNTER, "Bounds hit: least growing stack of a process "
		"evicted, path series dropped over the global cap, symbolizer "
		"closed for another process.");
	if (!gp->f_bytes || !gp->f_suspect || !gp->f_samples || !gp->f_lost ||
	    !gp->f_evict)
		return -errno;
	return 0;
}

int growthpaths__export(struct growthpaths *gp, struct store *s,
			const struct leakdetect *ld)
{
	struct pathsum ps[GP_MAX_STACKS];
	uint64_t kl[LOST__COUNT] = { 0 };
	struct label l[1];
	int err = families(gp, s);

	if (err)
		return err;
	if (gp->stats_fd >= 0) {
		store__append(s, gp->f_samples, "", NULL, 0,
			      (double)bw_percpu_sum(gp->stats_fd, GP_STAT_SAMPLED));
		kl[LOST_NO_STACK] = bw_percpu_sum(gp->stats_fd, GP_STAT_NO_STACK);
		kl[LOST_STACK_FULL] = bw_percpu_sum(gp->stats_fd, GP_STAT_STACK_FULL);
		kl[LOST_COUNTS_FULL] = bw_percpu_sum(gp->stats_fd, GP_STAT_COUNTS_FULL);
	}
	for (int i = 0; i < LOST__COUNT; i++) {
		l[0] = (struct label){ "reason", lost_names[i] };
		store__append(s, gp->f_lost, "", l, 1, (double)(gp->lost[i] + kl[i]));
	}
	for (int i = 0; i < EVICT__COUNT; i++) {
		l[0] = (struct label){ "bound", evict_names[i] };
		store__append(s, gp->f_evict, "", l, 1, (double)gp->evicted[i]);
	}
	for (size_t i = 0; i < gp->nprocs; i++) {
		struct gp_proc *p = &gp->procs[i];
		size_t n;

		if (!p->nstacks)
			continue;
		if (label_stacks(gp, p) == -ENOMEM)
			return -ENOMEM;
		n = proc_paths(p, ps);
		if (n > gp->cfg->growth.top_k)
			n = gp->cfg->growth.top_k;
		for (size_t j = 0; j < n; j++)
			if (push_row(gp, p, ps[j].path, (double)ps[j].bytes))
				return -ENOMEM;
	}
	emit_rows(gp, s, gp->f_bytes, true);
	if (!ld)
		return 0;
	for (size_t i = 0; i < gp->nprocs; i++) {
		struct gp_proc *p = &gp->procs[i];
		struct leak_verdict v;

		if (!p->nstacks || !leakdetect__verdict(ld, p->tgid, &v) || !v.suspect)
			continue;
		if (proc_paths(p, ps) && push_row(gp, p, ps[0].path, v.score))
			return -ENOMEM;
	}
	emit_rows(gp, s, gp->f_suspect, false);
	return 0;
}
