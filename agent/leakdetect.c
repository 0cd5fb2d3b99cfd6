// SPDX-License-Identifier: GPL-2.0
/* Leak analyzer (see leakdetect.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"
#include "leakdetect.h"
#include "store.h"
#include "trend.h"

#define MIN_BLOCKS		6
#define RECENT_RATIO		0.25	/* criterion 3 */
#define FALLBACK_TOLERANCE	0.25	/* criterion 4 */
#define MIN_GROWTH_BYTES	(1024.0 * 1024.0)
#define DONE			((size_t)1 << (sizeof(size_t) * 8 - 1))	/* in order[] */

/* ---- the decision ----------------------------------------------------- */

int leak__assess(const double *t, const double *v, size_t n,
		 const struct leak_params *p, struct leak_verdict *out)
{
	double ft[LEAK_MAX_BLOCKS], fv[LEAK_MAX_BLOCKS];
	double fmax_prev = -INFINITY, flo = INFINITY, fhi = -INFINITY;
	double span, need, recent;
	struct mk_result mk;
	size_t k, half;
	int err;

	memset(out, 0, sizeof(*out));
	out->why = "too few samples";
	k = n / LEAK_MIN_BLOCK;
	if (k > LEAK_MAX_BLOCKS)
		k = LEAK_MAX_BLOCKS;
	if (k < MIN_BLOCKS)
		return -EINVAL;

	err = trend__theil_sen(t, v, n, LEAK_TS_POINTS, &out->slope);
	if (err)
		return err;

	/* the floor: each block's minimum, at the time it was reached */
	for (size_t j = 0; j < k; j++) {
		size_t lo = j * n / k, hi = (j + 1) * n / k;

		fv[j] = v[lo];
		ft[j] = t[lo];
		for (size_t i = lo + 1; i < hi; i++) {
			if (v[i] < fv[j]) {
				fv[j] = v[i];
				ft[j] = t[i];
			}
		}
		flo = flo < fv[j] ? flo : fv[j];
		fhi = fhi > fv[j] ? fhi : fv[j];
		if (j + 1 < k && fv[j] > fmax_prev)
			fmax_prev = fv[j];
	}
	err = trend__mann_kendall(fv, k, &mk);
	if (!err)
		err = trend__theil_sen(ft, fv, k, k, &out->floor_slope);
	if (err)
		return err;
	out->confidence = 1 - mk.p_up;

	if (!(mk.p_up < p->significance)) {
		out->why = "floor not rising significantly";
		return 0;
	}
	span = t[n - 1] - t[0];
	need = fmax(p->min_growth * fv[k - 1], p->min_growth_bytes);
	if (!(out->floor_slope > 0) || out->floor_slope * span < need) {
		out->why = "floor growth too small";
		return 0;
	}
	half = k / 2;
	err = trend__theil_sen(ft + half, fv + half, k - half, k, &recent);
	if (err)
		return err;
	if (recent < RECENT_RATIO * out->floor_slope) {
		out->why = "floor no longer rising";
		return 0;
	}
	if (fv[k - 1] < fmax_prev - FALLBACK_TOLERANCE * (fhi - flo)) {
		out->why = "floor fell back";
		return 0;
	}
	out->suspect = true;
	out->score = out->confidence;
	out->why = "leak";
	return 0;
}

/* ---- per-process history ------------------------------------------------ */

struct sample {
	int64_t ts_ms;
	double v;
};

struct track {
	bool used;
	uint32_t tgid;
	uint64_t key;			/* address space: reset on change */
	char comm[MEM_COMM_LEN + 1];
	char container[MEM_LABEL_LEN];
	struct sample *ring;		/* cap samples */
	uint32_t head, len;
	uint32_t pend;			/* ticks folded into the pending sample */
	struct sample pending;		/* their minimum */
	uint64_t seen_tick;		/* last tick it got a sample */
	bool judged;
	struct leak_verdict verdict;
};

struct leakdetect {
	const struct memory_cfg *cfg;
	uint64_t interval_ms;
	uint32_t cap;			/* samples per track */
	uint32_t decim;			/* ticks per stored sample */
	uint32_t judge_every;		/* ticks between judgements of a track */
	uint32_t *by_tgid;		/* used tracks' indexes, sorted by tgid */
	uint32_t nby;
	uint32_t *free_ix;		/* unused tracks (a stack) */
	uint32_t nfree;
	struct track *tracks;
	uint32_t ntracks;		/* max_processes */
	uint64_t tick;
	uint64_t skipped_total;
	uint32_t analysed;
	double *t, *v;			/* scratch, cap each */
	size_t *order;			/* scratch for update */
	size_t order_cap;
	struct store_family *f_growth, *f_conf, *f_suspect, *f_analysed,
		*f_skipped;
};

struct leakdetect *leakdetect__new(const struct memory_cfg *cfg,
				   uint64_t interval_ms)
{
	struct leakdetect *ld = calloc(1, sizeof(*ld));
	uint64_t ticks;

	if (!ld)
		return NULL;
	ld->cfg = cfg;
	ld->interval_ms = interval_ms ? interval_ms : 1;
	ticks = cfg->leak.window_ms / ld->interval_ms + 1;
	ld->decim = (uint32_t)((ticks + LEAK_MAX_POINTS - 1) / LEAK_MAX_POINTS);
	if (!ld->decim)
		ld->decim = 1;
	ld->cap = (uint32_t)((ticks + ld->decim - 1) / ld->decim) + 1;
	ld->judge_every = (uint32_t)(ticks / LEAK_JUDGE_STEPS);
	if (!ld->judge_every)
		ld->judge_every = 1;
	ld->ntracks = cfg->leak.max_processes;
	ld->tracks = calloc(ld->ntracks, sizeof(*ld->tracks));
	ld->by_tgid = calloc(ld->ntracks, sizeof(*ld->by_tgid));
	ld->free_ix = calloc(ld->ntracks, sizeof(*ld->free_ix));
	ld->t = calloc(ld->cap, sizeof(*ld->t));
	ld->v = calloc(ld->cap, sizeof(*ld->v));
	if (!ld->tracks || !ld->by_tgid || !ld->free_ix || !ld->t || !ld->v)
		goto err_free;
	for (uint32_t i = 0; i < ld->ntracks; i++)
		ld->free_ix[ld->nfree++] = ld->ntracks - 1 - i;
	for (uint32_t i = 0; i < ld->ntracks; i++) {
		ld->tracks[i].ring = calloc(ld->cap, sizeof(struct sample));
		if (!ld->tracks[i].ring)
			goto err_free;
	}
	return ld;

err_free:
	leakdetect__free(ld);
	errno = ENOMEM;
	return NULL;
}

void leakdetect__free(struct leakdetect *ld)
{
	if (!ld)
		return;
	for (uint32_t i = 0; ld->tracks && i < ld->ntracks; i++)
		free(ld->tracks[i].ring);
	free(ld->tracks);
	free(ld->by_tgid);
	free(ld->free_ix);
	free(ld->t);
	free(ld->v);
	free(ld->order);
	free(ld);
}

static double private_bytes(const struct mem_proc *p)
{
	return (double)(p->bytes[MEM_ANON] + p->bytes[MEM_SWAP]);
}

static void track_reset(struct track *tr, const struct mem_proc *p)
{
	tr->used = true;
	tr->tgid = p->tgid;
	tr->key = p->key;
	tr->head = tr->len = tr->pend = 0;
	tr->judged = false;
}

static void track_push(struct leakdetect *ld, struct track *tr, int64_t ts,
		       double v)
{
	if (!tr->pend || v <= tr->pending.v)
		tr->pending = (struct sample){ ts, v };
	if (++tr->pend < ld->decim)
		return;
	tr->ring[(tr->head + tr->len) % ld->cap] = tr->pending;
	if (tr->len < ld->cap)
		tr->len++;
	else
		tr->head = (tr->head + 1) % ld->cap;
	tr->pend = 0;
}

static void track_judge(struct leakdetect *ld, struct track *tr, int64_t now_ms)
{
	const struct leak_cfg *c = &ld->cfg->leak;
	const struct leak_params prm = {
		.significance = c->significance,
		.min_growth = c->min_growth,
		.min_growth_bytes = MIN_GROWTH_BYTES,
	};
	size_t n = 0;

	for (uint32_t i = 0; i < tr->len; i++) {
		const struct sample *s = &tr->ring[(tr->head + i) % ld->cap];

		if (s->ts_ms < now_ms - (int64_t)c->window_ms)
			continue;
		ld->t[n] = (double)(s->ts_ms - now_ms) / 1000.0;
		ld->v[n++] = s->v;
	}
	/* min_samples counts ticks; a stored sample may hold several */
	tr->judged = n * ld->decim >= c->min_samples &&
		     leak__assess(ld->t, ld->v, n, &prm, &tr->verdict) == 0;
}

/* qsort has no context argument: the array being ordered, set just
 * before (the agent is single-threaded). */
static const struct mem_proc *sort_procs;

static int cmp_private_desc(const void *a, const void *b)
{
	double x = private_bytes(&sort_procs[*(const size_t *)a]);
	double y = private_bytes(&sort_procs[*(const size_t *)b]);

	return x > y ? -1 : x < y;
}

static int cmp_tgid(const void *a, const void *b)
{
	uint32_t x = ((const struct mem_proc *)a)->tgid;
	uint32_t y = ((const struct mem_proc *)b)->tgid;

	return x < y ? -1 : x > y;
}

/* qsort/bsearch context: the tracks by_tgid indexes (single-threaded). */
static const struct track *sort_tracks;

static int cmp_ix_tgid(const void *a, const void *b)
{
	uint32_t x = sort_tracks[*(const uint32_t *)a].tgid;
	uint32_t y = sort_tracks[*(const uint32_t *)b].tgid;

	return x < y ? -1 : x > y;
}

static int cmp_key_ix(const void *key, const void *b)
{
	uint32_t x = *(const uint32_t *)key, y = sort_tracks[*(const uint32_t *)b].tgid;

	return x < y ? -1 : x > y;
}

/* A track of the tick's start (by_tgid), or NULL. */
static struct track *find_track(struct leakdetect *ld, uint32_t tgid)
{
	uint32_t *ix;

	sort_tracks = ld->tracks;
	ix = ld->nby ? bsearch(&tgid, ld->by_tgid, ld->nby, sizeof(*ix), cmp_key_ix) : NULL;
	return ix ? &ld->tracks[*ix] : NULL;
}

/* A free track, else the one updated longest ago (never one of this tick:
 * the caller tracks at most ntracks processes per tick). */
static struct track *new_track(struct leakdetect *ld)
{
	struct track *best = NULL;

	if (ld->nfree)
		return &ld->tracks[ld->free_ix[--ld->nfree]];
	for (uint32_t i = 0; i < ld->ntracks; i++) {
		struct track *tr = &ld->tracks[i];

		if (tr->seen_tick != ld->tick && (!best || tr->seen_tick < best->seen_tick))
			best = tr;
	}
	return best;
}

int leakdetect__update(struct leakdetect *ld, const struct mem_proc *procs,
		       size_t n, int64_t ts_ms)
{
	size_t top = n < ld->ntracks ? n : ld->ntracks;

	ld->tick++;
	/* forget processes that are gone; index the others by tgid */
	ld->nby = 0;
	for (uint32_t i = 0; i < ld->ntracks; i++) {
		struct track *tr = &ld->tracks[i];
		struct mem_proc k = { .tgid = tr->tgid };

		if (!tr->used)
			continue;
		if (!n || !bsearch(&k, procs, n, sizeof(k), cmp_tgid)) {
			tr->used = false;
			ld->free_ix[ld->nfree++] = i;
			continue;
		}
		ld->by_tgid[ld->nby++] = i;
	}
	sort_tracks = ld->tracks;
	if (ld->nby)
		qsort(ld->by_tgid, ld->nby, sizeof(*ld->by_tgid), cmp_ix_tgid);
	if (n > ld->order_cap) {
		size_t *no = reallocarray(ld->order, n, sizeof(*no));

		if (!no)
			return -ENOMEM;
		ld->order = no;
		ld->order_cap = n;
	}
	for (size_t i = 0; i < n; i++)
		ld->order[i] = i;
	/* the largest first: a leak makes a process large */
	sort_procs = procs;
	if (top < n)
		qsort(ld->order, n, sizeof(*ld->order), cmp_private_desc);
	ld->skipped_total += n - top;

	/* first the processes already tracked (the tgid index stays valid),
	 * then new ones, which may take over tracks of processes that are
	 * not among the largest this tick */
	ld->analysed = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < top; i++) {
			const struct mem_proc *p = &procs[ld->order[i] & ~DONE];
			struct track *tr;

			if (ld->order[i] & DONE)
				continue;
			/* pass 1 changes tracks' tgids: no lookups then */
			tr = pass == 0 ? find_track(ld, p->tgid) : NULL;
			if (pass == 0 && !tr)
				continue;
			ld->order[i] |= DONE;
			if (pass == 1) {
				tr = new_track(ld);
				if (!tr)
					continue;	/* cannot happen: top <= ntracks */
				track_reset(tr, p);
			} else if (tr->key && p->key && tr->key != p->key) {
				track_reset(tr, p);	/* exec: another program now */
			}
			if (p->key)
				tr->key = p->key;
			memcpy(tr->comm, p->comm, sizeof(tr->comm));
			memcpy(tr->container, p->container, sizeof(tr->container));
			tr->seen_tick = ld->tick;
			track_push(ld, tr, ts_ms, private_bytes(p));
			/* judgements spread over ticks by tgid; new ones at once */
			if (!tr->judged || (ld->tick + tr->tgid) % ld->judge_every == 0)
				track_judge(ld, tr, ts_ms);
			ld->analysed++;
		}
	}
	/* tracks of live processes not in the top this tick keep their
	 * history but have no verdict until they are back */
	for (uint32_t i = 0; i < ld->ntracks; i++)
		if (ld->tracks[i].used && ld->tracks[i].seen_tick != ld->tick)
			ld->tracks[i].judged = false;
	return 0;
}

bool leakdetect__verdict(const struct leakdetect *ld, uint32_t tgid,
			 struct leak_verdict *out)
{
	for (uint32_t i = 0; i < ld->ntracks; i++) {
		const struct track *tr = &ld->tracks[i];

		if (tr->used && tr->tgid == tgid && tr->judged) {
			*out = tr->verdict;
			return true;
		}
	}
	return false;
}

/* ---- export ------------------------------------------------------------ */

static int cmp_group(const void *a, const void *b)
{
	const struct track *x = *(const struct track *const *)a;
	const struct track *y = *(const struct track *const *)b;
	int c = strcmp(x->comm, y->comm);

	return c ? c : strcmp(x->container, y->container);
}

static void put(struct leakdetect *ld, struct store *s, const struct label *l,
		size_t n, double growth, double conf, double score)
{
	store__append(s, ld->f_growth, "", l, n, growth);
	store__append(s, ld->f_conf, "", l, n, conf);
	store__append(s, ld->f_suspect, "", l, n, score);
}

int leakdetect__export(struct leakdetect *ld, struct store *s)
{
	const struct track **g;
	struct label l[3];
	size_t ng = 0;

	if (!ld->f_growth) {
		ld->f_growth = store__family(s, "bpfwatch_memory_growth_bytes_per_second",
			METRIC_GAUGE, "Growth of private memory (anon + swap) over "
			"the leak analysis window: Theil-Sen slope, summed over the "
			"processes of a comm and container.");
		ld->f_conf = store__family(s, "bpfwatch_memory_growth_confidence",
			METRIC_GAUGE, "Confidence that a process's memory floor is "
			"rising: 1 - p of a one-sided Mann-Kendall test on the "
			"window's block minima (largest of the group), whether or "
			"not the other leak criteria hold.");
		ld->f_suspect = store__family(s, "bpfwatch_leak_suspect",
			METRIC_GAUGE, "Leak suspicion in [0,1]: the growth confidence "
			"of a process whose memory floor rises significantly, by "
			"at least leak_detection.min_growth, is still rising and has "
			"not fallen back; 0 otherwise (largest of the group).");
		ld->f_analysed = store__family(s, "bpfwatch_leak_analyzed_processes",
			METRIC_GAUGE, "Processes the leak analyzer looked at in the "
			"last tick (at most leak_detection.max_processes).");
		ld->f_skipped = store__family(s, "bpfwatch_leak_skipped_processes_total",
			METRIC_COUNTER, "Process samples left out because more "
			"processes than leak_detection.max_processes were running "
			"(the smallest are left out).");
		if (!ld->f_growth || !ld->f_conf || !ld->f_suspect ||
		    !ld->f_analysed || !ld->f_skipped)
			return -errno;
	}
	store__append(s, ld->f_analysed, "", NULL, 0, ld->analysed);
	store__append(s, ld->f_skipped, "", NULL, 0, (double)ld->skipped_total);

	g = calloc(ld->ntracks, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (uint32_t i = 0; i < ld->ntracks; i++)
		if (ld->tracks[i].used && ld->tracks[i].judged)
			g[ng++] = &ld->tracks[i];
	if (ld->cfg->pid_label) {
		for (size_t i = 0; i < ng; i++) {
			char pid[16];

			snprintf(pid, sizeof(pid), "%u", g[i]->tgid);
			l[0] = (struct label){ "comm", g[i]->comm };
			l[1] = (struct label){ "container", g[i]->container };
			l[2] = (struct label){ "pid", pid };
			put(ld, s, l, 3, g[i]->verdict.slope, g[i]->verdict.confidence,
			    g[i]->verdict.score);
		}
		free(g);
		return 0;
	}
	if (ng)
		qsort(g, ng, sizeof(*g), cmp_group);
	for (size_t i = 0; i < ng;) {
		double growth = 0, conf = 0, score = 0;
		size_t j = i;

		for (; j < ng && !cmp_group(&g[i], &g[j]); j++) {
			growth += g[j]->verdict.slope;
			conf = fmax(conf, g[j]->verdict.confidence);
			score = fmax(score, g[j]->verdict.score);
		}
		l[0] = (struct label){ "comm", g[i]->comm };
		l[1] = (struct label){ "container", g[i]->container };
		put(ld, s, l, 2, growth, conf, score);
		i = j;
	}
	free(g);
	return 0;
}
