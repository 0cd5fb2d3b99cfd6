// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation tracing loader (see allocprobe.h, bpf/memleak.bpf.c).
 *
 * Every entry point is found the way probes.functions finds a symbol
 * (funcprobe__locate: the library the process has mapped, .symtab else
 * .dynsym, default symbol versions) and attached by file offset.  Names
 * that are aliases of one function (glibc's aligned_alloc and memalign)
 * resolve to one offset and are attached once, or every call would be
 * counted twice.  Entry points the allocator library lacks are skipped,
 * except malloc and free.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "memleak.h"
#include "allocprobe.h"
#include "memleak.skel.h"
#include "calib.skel.h"

#include "bpfutil.h"
#include "funcprobe.h"

_Static_assert(sizeof(struct memleak_alloc) == 40, "struct memleak_alloc layout");
_Static_assert(sizeof(struct memleak_stack) == 8 * MEMLEAK_STACK_DEPTH,
	       "struct memleak_stack layout");
_Static_assert(sizeof(struct memleak_agg) == 32, "struct memleak_agg layout");
_Static_assert(sizeof(struct memleak_pending) == 48, "struct memleak_pending layout");

#define MAX_LINKS	32
#define DESC_LEN	1024

struct allocprobe {
	struct memleak_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	int allocs_fd, stacks_fd, aggs_fd, stats_fd;
	enum calib_insn malloc_insn;
	char *malloc_path, *free_path;	/* where malloc and free were attached */
	size_t malloc_off, free_off;
	char desc[DESC_LEN];
};

/* One entry point: its symbol, the program for its entry, whether it
 * has a return probe, whether it lives in libc whatever --lib says. */
struct entry_point {
	const char *sym;
	const char *prog;
	bool ret;
	bool libc;
	bool required;
};

static const struct entry_point points[] = {
	{ "malloc", "malloc_enter", true, false, true },
	{ "calloc", "calloc_enter", true, false, false },
	{ "realloc", "realloc_enter", true, false, false },
	{ "reallocarray", "reallocarray_enter", true, false, false },
	{ "posix_memalign", "posix_memalign_enter", true, false, false },
	{ "aligned_alloc", "memalign_enter", true, false, false },
	{ "memalign", "memalign_enter", true, false, false },
	{ "valloc", "malloc_enter", true, false, false },
	{ "pvalloc", "malloc_enter", true, false, false },
	{ "free", "free_enter", false, false, true },
	{ "mmap", "mmap_enter", true, true, false },
	{ "munmap", "munmap_enter", false, true, false },
	{ "mremap", "mremap_enter", true, true, false },
};
#define NPOINTS (sizeof(points) / sizeof(points[0]))

static enum calib_insn insn_at(const char *path, size_t off)
{
	uint8_t code[2];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = pread(fd, code, sizeof(code), (off_t)off);
		close(fd);
	}
	return n > 0 ? calib__classify(code, (size_t)n) : CALIB_OTHER;
}

static int attach_one(struct allocprobe *ml, const struct entry_point *ep,
		      const char *path, size_t off, uint32_t pid, char *err,
		      size_t len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);
	struct bpf_program *prog;
	int e;

	prog = bpf_object__find_program_by_name(ml->skel->obj, ep->prog);
	if (!prog || ml->nlinks + 2 > MAX_LINKS) {
		snprintf(err, len, "%s: no BPF program %s", ep->sym, ep->prog);
		return -ENOENT;
	}
	ml->links[ml->nlinks] = bpf_program__attach_uprobe_opts(prog, (pid_t)pid,
								 path, off, &o);
	if (!ml->links[ml->nlinks])
		goto err_out;
	ml->nlinks++;
	if (!ep->ret)
		return 0;
	o.retprobe = true;
	ml->links[ml->nlinks] = bpf_program__attach_uprobe_opts(
		ml->skel->progs.alloc_return, (pid_t)pid, path, off, &o);
	if (!ml->links[ml->nlinks])
		goto err_out;
	ml->nlinks++;
	return 0;
err_out:
	e = -errno;
	snprintf(err, len, "attaching %s to %s%s (pid %u): %s", ep->sym, path,
		 o.retprobe ? " (return)" : "", pid,
		 e == -ESRCH ? "no such process" : strerror(-e));
	return e;
}

/* Append @s to the description. */
static void desc_add(struct allocprobe *ml, const char *s)
{
	size_t l = strlen(ml->desc);

	snprintf(ml->desc + l, sizeof(ml->desc) - l, "%s", s);
}

static int attach_all(struct allocprobe *ml, const struct allocprobe_opts *o,
		      char *err, size_t len)
{
	const char *lib = o->lib ? o->lib : "libc.so.6";
	char *paths[NPOINTS] = {};
	size_t offs[NPOINTS] = {};
	char why[768], *prev_path = NULL;
	int rc = 0;

	for (size_t i = 0; i < NPOINTS; i++) {
		const struct entry_point *ep = &points[i];
		int e;

		e = funcprobe__locate(ep->libc ? "libc.so.6" : lib, o->pid, ep->sym,
				      &paths[i], &offs[i], why, sizeof(why));
		if (e && ep->required) {
			snprintf(err, len, "%s", why);
			rc = e;
			goto out;
		}
	}
	for (size_t i = 0; i < NPOINTS; i++) {
		bool dup = false;

		if (!paths[i])
			continue;
		for (size_t j = 0; j < i; j++)
			if (paths[j] && offs[j] == offs[i] &&
			    strcmp(paths[j], paths[i]) == 0)
				dup = true;	/* an alias: attached already */
		if (dup)
			continue;
		rc = attach_one(ml, &points[i], paths[i], offs[i], o->pid, err, len);
		if (rc)
			goto out;
		if (!prev_path || strcmp(prev_path, paths[i])) {
			if (prev_path) {
				desc_add(ml, " in ");
				desc_add(ml, prev_path);
				desc_add(ml, "; ");
			}
			prev_path = paths[i];
		} else {
			desc_add(ml, ", ");
		}
		desc_add(ml, points[i].sym);
		if (strcmp(points[i].sym, "malloc") == 0) {
			ml->malloc_insn = insn_at(paths[i], offs[i]);
			ml->malloc_path = strdup(paths[i]);
			ml->malloc_off = offs[i];
		} else if (strcmp(points[i].sym, "free") == 0) {
			ml->free_path = strdup(paths[i]);
			ml->free_off = offs[i];
		}
	}
	if (prev_path) {
		desc_add(ml, " in ");
		desc_add(ml, prev_path);
	}
out:
	for (size_t i = 0; i < NPOINTS; i++)
		free(paths[i]);
	return rc;
}

struct allocprobe *allocprobe__new(const struct allocprobe_opts *o, char *err,
				   size_t len)
{
	struct allocprobe *ml;
	int rc;

	if (!o->pid) {
		snprintf(err, len, "a pid is needed");
		errno = EINVAL;
		return NULL;
	}
	if (kill((pid_t)o->pid, 0) && errno == ESRCH) {
		snprintf(err, len, "pid %u: no such process", o->pid);
		errno = ESRCH;
		return NULL;
	}
	ml = calloc(1, sizeof(*ml));
	if (!ml) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	ml->skel = memleak_bpf__open();
	if (!ml->skel) {
		rc = -errno;
		snprintf(err, len, "opening the BPF object: %s", strerror(-rc));
		goto err_free;
	}
	if (o->max_stacks > ALLOCPROBE_MAX_STACKS) {
		snprintf(err, len, "at most %d stacks", ALLOCPROBE_MAX_STACKS);
		rc = -EINVAL;
		goto err_free;
	}
	if (o->max_allocs) {
		ml->skel->rodata->max_allocs = o->max_allocs;
		bpf_map__set_max_entries(ml->skel->maps.allocs, o->max_allocs);
	}
	if (o->max_stacks) {
		bpf_map__set_max_entries(ml->skel->maps.stacks, o->max_stacks);
		/* one more: MEMLEAK_NOSTACK */
		bpf_map__set_max_entries(ml->skel->maps.stack_aggs, o->max_stacks + 1);
	}
	ml->skel->rodata->target_tgid = o->pid;
	ml->skel->rodata->sample_interval = o->sample_bytes;
	for (int k = 0; k < MEMLEAK_PT_SIZE; k++) {
		double p = -expm1(-(double)k / MEMLEAK_PT_STEPS) * 4294967296.0;

		ml->skel->rodata->p_table[k] = p >= 4294967295.0 ? 0xffffffffU :
					       (uint32_t)p;
	}
	rc = memleak_bpf__load(ml->skel);
	if (rc) {
		snprintf(err, len, "loading the BPF object: %s", strerror(-rc));
		goto err_free;
	}
	ml->allocs_fd = bpf_map__fd(ml->skel->maps.allocs);
	ml->stacks_fd = bpf_map__fd(ml->skel->maps.stacks);
	ml->aggs_fd = bpf_map__fd(ml->skel->maps.stack_aggs);
	ml->stats_fd = bpf_map__fd(ml->skel->maps.memleak_stats);
	rc = attach_all(ml, o, err, len);
	if (rc)
		goto err_free;
	return ml;
err_free:
	allocprobe__free(ml);
	errno = rc < 0 ? -rc : EINVAL;
	return NULL;
}

void allocprobe__detach(struct allocprobe *ml)
{
	/* Return probes first: a return without its entry is only counted,
	 * an entry without its return would leave a pending call behind. */
	for (int i = ml->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(ml->links[i]);
	ml->nlinks = 0;
}

void allocprobe__free(struct allocprobe *ml)
{
	if (!ml)
		return;
	allocprobe__detach(ml);
	memleak_bpf__destroy(ml->skel);
	free(ml->malloc_path);
	free(ml->free_path);
	free(ml);
}

const char *allocprobe__describe(const struct allocprobe *ml)
{
	return ml->desc;
}

enum calib_insn allocprobe__malloc_insn(const struct allocprobe *ml)
{
	return ml->malloc_insn;
}

void allocprobe__counters(const struct allocprobe *ml,
			  struct allocprobe_counters *c)
{
	uint64_t v[ML_STAT_MAX];

	for (uint32_t i = 0; i < ML_STAT_MAX; i++)
		v[i] = bw_percpu_sum(ml->stats_fd, i);
	c->calls = v[ML_STAT_CALLS];
	c->allocs = v[ML_STAT_ALLOCS];
	c->frees = v[ML_STAT_FREES];
	c->failed = v[ML_STAT_FAILED];
	c->unsampled = v[ML_STAT_UNSAMPLED];
	c->lost_frees = v[ML_STAT_LOST_FREE];
	c->stack_full = v[ML_STAT_STACK_FULL];
	c->stack_err = v[ML_STAT_STACK_ERR];
	c->evicted = v[ML_STAT_EVICTED];
	c->insert_fail = v[ML_STAT_INSERT_FAIL];
	c->replaced = v[ML_STAT_REPLACED];
	c->pending_full = v[ML_STAT_PENDING_FULL];
	c->missing = v[ML_STAT_MISSING];
	c->nested = v[ML_STAT_NESTED];
	c->live_allocs = __atomic_load_n(&ml->skel->bss->live_allocs, __ATOMIC_RELAXED);
	c->live_bytes = (double)__atomic_load_n(&ml->skel->bss->live_wbytes,
						__ATOMIC_RELAXED);
}

void allocprobe__prog_runs(const struct allocprobe *ml, uint64_t *runs,
			   uint64_t *ns)
{
	struct bpf_program *prog;

	*runs = *ns = 0;
	bpf_object__for_each_program(prog, ml->skel->obj) {
		uint64_t c, t;

		if (bw_prog_runs(prog, &c, &t)) {
			*runs += c;
			*ns += t;
		}
	}
}

static int cmp_stack(const void *a, const void *b)
{
	const struct allocprobe_stack *x = a, *y = b;

	if (x->est_bytes != y->est_bytes)
		return x->est_bytes < y->est_bytes ? 1 : -1;
	return x->stack_key < y->stack_key ? -1 : x->stack_key > y->stack_key;
}

/* One outstanding allocation, as the walk collects them. */
struct walked {
	uint64_t stack_key, size, wbytes, wcount, ts;
};

static int cmp_walked(const void *a, const void *b)
{
	const struct walked *x = a, *y = b;

	return x->stack_key < y->stack_key ? -1 : x->stack_key > y->stack_key;
}

/* Sum of the per-stack totals' counts (what the kernel believes is
 * outstanding). */
static int64_t agg_count(const struct allocprobe *ml)
{
	uint64_t key, next;
	int64_t sum = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(ml->aggs_fd, prev, &next) == 0) {
		struct memleak_agg g;

		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(ml->aggs_fd, &key, &g))
			sum += g.count;
	}
	return sum;
}

int allocprobe__stacks(const struct allocprobe *ml, uint64_t min_age_ns,
		       struct allocprobe_stack **out, size_t *n,
		       int64_t *agg_missing)
{
	uint64_t now = bw_mono_ns(), key, next, seen = 0;
	struct allocprobe_stack *s = NULL;
	struct walked *w = NULL, *nw;
	size_t nwalk = 0, cap = 0, m = 0;
	void *prev = NULL;
	int err;

	*out = NULL;
	*n = 0;
	/* Walk by key; a key freed meanwhile only ends one lookup early. */
	while ((err = bpf_map_get_next_key(ml->allocs_fd, prev, &next)) == 0) {
		struct memleak_alloc a;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(ml->allocs_fd, &key, &a))
			continue;
		seen++;
		if (a.ts > now || now - a.ts < min_age_ns)
			continue;
		if (nwalk == cap) {
			cap = cap ? cap * 2 : 1024;
			nw = reallocarray(w, cap, sizeof(*w));
			if (!nw) {
				free(w);
				return -ENOMEM;
			}
			w = nw;
		}
		w[nwalk++] = (struct walked){
			.stack_key = a.stack_key, .size = a.size, .wbytes = a.wbytes,
			.wcount = a.wcount, .ts = a.ts,
		};
	}
	if (err != -ENOENT) {
		free(w);
		return err;
	}
	*agg_missing = agg_count(ml) - (int64_t)seen;
	if (!nwalk) {
		free(w);
		return 0;
	}
	qsort(w, nwalk, sizeof(*w), cmp_walked);
	s = calloc(nwalk, sizeof(*s));	/* at most one stack per block */
	if (!s) {
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nwalk; i++) {
		struct allocprobe_stack *st;

		if (!m || s[m - 1].stack_key != w[i].stack_key)
			s[m++].stack_key = w[i].stack_key;
		st = &s[m - 1];
		st->count++;
		st->bytes += w[i].size;
		st->est_bytes += (double)w[i].wbytes;
		st->est_count += (double)w[i].wcount / (1 << MEMLEAK_W_SHIFT);
		if (!st->oldest_ns || w[i].ts < st->oldest_ns)
			st->oldest_ns = w[i].ts;
	}
	free(w);
	qsort(s, m, sizeof(*s), cmp_stack);
	*out = s;
	*n = m;
	return 0;
}

int allocprobe__stack_ips(const struct allocprobe *ml, uint64_t stack_key,
			  uint64_t *ips, size_t max)
{
	struct memleak_stack st;
	size_t n = 0;

	if (stack_key == MEMLEAK_NOSTACK)
		return 0;
	if (bpf_map_lookup_elem(ml->stacks_fd, &stack_key, &st))
		return -errno;
	while (n < MEMLEAK_STACK_DEPTH && n < max && st.ips[n]) {
		ips[n] = st.ips[n];
		n++;
	}
	return (int)n;
}

/* ---- what a traced malloc+free costs ------------------------------------ */

#define PAIR_CALLS	2000
#define PAIR_RUNS	3

void *volatile allocprobe_sink;

/* Does this process map @path? */
static bool self_maps(const char *path)
{
	char line[PATH_MAX + 128];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p) {
			p[strcspn(p, "\n")] = '\0';
			found = strcmp(p, path) == 0;
		}
	}
	fclose(f);
	return found;
}

/* Best of PAIR_RUNS runs: ns for PAIR_CALLS malloc(64)+free() pairs. */
static uint64_t time_pairs(void)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < PAIR_RUNS; r++) {
		uint64_t t0 = bw_mono_ns(), t;

		for (int i = 0; i < PAIR_CALLS; i++) {
			allocprobe_sink = malloc(64);
			free(allocprobe_sink);
		}
		t = bw_mono_ns() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

int allocprobe__pair_cost(const struct allocprobe *ml, double *ns)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);
	struct bpf_link *l[3] = {};
	struct calib_bpf *cs;
	uint64_t base, traced = 0;
	pid_t self = getpid();
	int err = 0;

	if (!ml->malloc_path || !ml->free_path || !self_maps(ml->malloc_path) ||
	    !self_maps(ml->free_path))
		return -ENOENT;
	cs = calib_bpf__open_and_load();
	if (!cs)
		return -errno;
	base = time_pairs();
	l[0] = bpf_program__attach_uprobe_opts(cs->progs.calib_uprobe, self,
					       ml->malloc_path, ml->malloc_off, &o);
	l[1] = bpf_program__attach_uprobe_opts(cs->progs.calib_uprobe, self,
					       ml->free_path, ml->free_off, &o);
	o.retprobe = true;
	l[2] = bpf_program__attach_uprobe_opts(cs->progs.calib_uretprobe, self,
					       ml->malloc_path, ml->malloc_off, &o);
	if (!l[0] || !l[1] || !l[2])
		err = -errno ? -errno : -EINVAL;
	else
		traced = time_pairs();
	for (int i = 2; i >= 0; i--)
		bpf_link__destroy(l[i]);
	calib_bpf__destroy(cs);
	if (err)
		return err;
	if (traced <= base)
		return -ERANGE;
	*ns = (double)(traced - base) / PAIR_CALLS;
	return 0;
}
