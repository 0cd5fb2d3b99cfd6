// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "hist.h"
#include "stats.h"
#include "runqlat.h"
#include "biolat.h"
#include "syslat.h"
#include "runqlat.skel.h"
#include "biolat.skel.h"
#include "syslat.skel.h"

#include "expo.h"
#include "histexpo.h"
#include "labeler.h"
#include "log.h"
#include "probes.h"
#include "store.h"
#include "targets.h"

_Static_assert(sizeof(struct hist) == (HIST_SLOTS + 2) * 8, "struct hist layout");
_Static_assert(sizeof(struct runq_key) == 24, "struct runq_key layout");
_Static_assert(sizeof(struct bio_key) == 8, "struct bio_key layout");
_Static_assert(sizeof(struct sys_key) == 32, "struct sys_key layout");

#define MAX_KEY_SIZE 32
#define MAX_LABELS 4
#define LABEL_BUF 128	/* a 64-hex container id and more */

struct variant {
	enum feature feat;
	const char *prefix;	/* program name prefix of this variant */
};

struct probe_desc {
	const char *metric;
	const char *help;
	const char *hist_map;
	size_t key_size;
	struct variant variants[3];
	/* Skeleton glue: open, rodata, destroy. */
	void *(*open)(struct bpf_object **obj);
	void (*set_filter)(void *skel, bool on);
	void (*destroy)(void *skel);
	/* Fill label values for @key; false when the key's subject is gone. */
	bool (*labels)(struct labeler *lb, const void *key, struct label *l,
		       size_t *n, char (*buf)[LABEL_BUF]);
};

struct probe {
	enum probe_id id;
	const struct probe_desc *desc;
	const struct probe_cfg *cfg;
	void *skel;
	struct bpf_object *obj;
	struct bpf_link *links[PROBE_MAX_PROGS];
	struct bpf_program *progs[PROBE_MAX_PROGS];
	int nprogs;
	const char *attach_type;
	bool attached;
	char reason[512];
	int hist_fd, stats_fd, targets_fd;
	struct store_family *family;
	struct probe_counters cnt;
	struct hist *val;	/* scratch for map reads */
};

#define SKEL_GLUE(x)							\
static void *x##_open(struct bpf_object **obj)				\
{									\
	struct x##_bpf *s = x##_bpf__open();				\
	if (s)								\
		*obj = s->obj;						\
	return s;							\
}									\
static void x##_set_filter(void *skel, bool on)				\
{									\
	((struct x##_bpf *)skel)->rodata->filter_tgid = on;		\
}									\
static void x##_destroy(void *skel)					\
{									\
	x##_bpf__destroy(skel);						\
}

SKEL_GLUE(runqlat)
SKEL_GLUE(biolat)
SKEL_GLUE(syslat)

static void comm_str(const char *comm, char *out)
{
	memcpy(out, comm, BW_COMM_LEN);
	out[BW_COMM_LEN] = '\0';
}

static bool runq_labels(struct labeler *lb, const void *k, struct label *l,
			size_t *n, char (*buf)[LABEL_BUF])
{
	const struct runq_key *key = k;

	if (!labeler__container(lb, key->cgroup_id, buf[1], sizeof(buf[1])))
		return false;
	comm_str(key->comm, buf[0]);
	l[0] = (struct label){ "comm", buf[0] };
	l[1] = (struct label){ "container", buf[1] };
	*n = 2;
	return true;
}

static bool bio_labels(struct labeler *lb, const void *k, struct label *l,
		       size_t *n, char (*buf)[LABEL_BUF])
{
	const struct bio_key *key = k;

	labeler__device(lb, key->dev, buf[0], sizeof(buf[0]));
	l[0] = (struct label){ "device", buf[0] };
	l[1] = (struct label){ "operation",
			       labeler__block_op(key->op, buf[1], sizeof(buf[1])) };
	*n = 2;
	return true;
}

static bool sys_labels(struct labeler *lb, const void *k, struct label *l,
		       size_t *n, char (*buf)[LABEL_BUF])
{
	const struct sys_key *key = k;

	if (!labeler__container(lb, key->cgroup_id, buf[2], sizeof(buf[2])))
		return false;
	comm_str(key->comm, buf[1]);
	l[0] = (struct label){ "syscall",
			       labeler__syscall(key->nr, buf[0], sizeof(buf[0])) };
	l[1] = (struct label){ "comm", buf[1] };
	l[2] = (struct label){ "container", buf[2] };
	*n = 3;
	return true;
}

static const struct probe_desc descs[PROBE__COUNT] = {
	[PROBE_RUNQ] = {
		.metric = "bpfwatch_runqueue_latency_seconds",
		.help = "Time tasks spent runnable waiting for a CPU (wakeup or "
			"preemption to running), by comm and container.",
		.hist_map = "runq_hist",
		.key_size = sizeof(struct runq_key),
		.variants = { { FEAT_TP_BTF, "tp_btf_" }, { FEAT_RAW_TP, "raw_tp_" } },
		.open = runqlat_open, .set_filter = runqlat_set_filter,
		.destroy = runqlat_destroy, .labels = runq_labels,
	},
	[PROBE_BIO] = {
		.metric = "bpfwatch_block_io_latency_seconds",
		.help = "Block I/O latency from issue to the driver to completion, "
			"by device and operation.",
		.hist_map = "bio_hist",
		.key_size = sizeof(struct bio_key),
		.variants = { { FEAT_TP_BTF, "tp_btf_" }, { FEAT_RAW_TP, "raw_tp_" } },
		.open = biolat_open, .set_filter = biolat_set_filter,
		.destroy = biolat_destroy, .labels = bio_labels,
	},
	[PROBE_SYSCALL] = {
		.metric = "bpfwatch_syscall_latency_seconds",
		.help = "System call latency from entry to exit, by syscall, comm "
			"and container.",
		.hist_map = "sys_hist",
		.key_size = sizeof(struct sys_key),
		.variants = { { FEAT_TP_BTF, "tp_btf_" }, { FEAT_RAW_TP, "raw_tp_" },
			      { FEAT_TRACEPOINT, "tp_sys_" } },
		.open = syslat_open, .set_filter = syslat_set_filter,
		.destroy = syslat_destroy, .labels = sys_labels,
	},
};

static void detach(struct probe *p)
{
	for (int i = 0; i < p->nprogs; i++) {
		bpf_link__destroy(p->links[i]);
		p->links[i] = NULL;
		p->progs[i] = NULL;
	}
	p->nprogs = 0;
	if (p->skel)
		p->desc->destroy(p->skel);
	p->skel = NULL;
	p->obj = NULL;
	p->hist_fd = p->stats_fd = p->targets_fd = -1;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Try one variant: 0 when attached, else -errno with @why filled. */
static int try_variant(struct probe *p, const struct variant *v, char *why,
		       size_t len)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	p->skel = p->desc->open(&p->obj);
	if (!p->skel) {
		err = -errno;
		snprintf(why, len, "open: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, p->obj)
		bpf_program__set_autoload(prog,
					  starts_with(bpf_program__name(prog), v->prefix));
	map = bpf_object__find_map_by_name(p->obj, p->desc->hist_map);
	if (!map || bpf_map__set_max_entries(map, p->cfg->max_entries)) {
		snprintf(why, len, "map %s: cannot size it", p->desc->hist_map);
		return -EINVAL;
	}
	p->desc->set_filter(p->skel, p->cfg->targets.set);
	err = bpf_object__load(p->obj);
	if (err) {
		snprintf(why, len, "load: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, p->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (p->nprogs == PROBE_MAX_PROGS) {
			snprintf(why, len, "too many programs");
			return -E2BIG;
		}
		p->links[p->nprogs] = bpf_program__attach(prog);
		if (!p->links[p->nprogs]) {
			err = -errno;
			snprintf(why, len, "attach %s: %s", bpf_program__name(prog),
				 strerror(-err));
			return err;
		}
		p->progs[p->nprogs++] = prog;
	}
	p->hist_fd = bpf_map__fd(map);
	p->stats_fd = bpf_object__find_map_fd_by_name(p->obj, "bw_stats");
	p->targets_fd = bpf_object__find_map_fd_by_name(p->obj, "bw_targets");
	return 0;
}

struct probe *probe__new(enum probe_id id, const struct probe_cfg *cfg,
			 const struct features *feat)
{
	struct probe *p;
	size_t used = 0;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->val = calloc(1, sizeof(*p->val));
	if (!p->val) {
		free(p);
		return NULL;
	}
	p->id = id;
	p->desc = &descs[id];
	p->cfg = cfg;
	p->hist_fd = p->stats_fd = p->targets_fd = -1;
	p->attach_type = "";
	p->cnt.max_entries = cfg->max_entries;

	if (!cfg->enabled) {
		snprintf(p->reason, sizeof(p->reason), "disabled");
		return p;
	}
	for (size_t i = 0; i < 3 && p->desc->variants[i].prefix; i++) {
		const struct variant *v = &p->desc->variants[i];
		char why[256];

		if (!feat->ok[v->feat]) {
			snprintf(why, sizeof(why), "%s", feat->reason[v->feat]);
		} else if (try_variant(p, v, why, sizeof(why)) == 0) {
			p->attached = true;
			p->attach_type = feature__name(v->feat);
			snprintf(p->reason, sizeof(p->reason), "ok");
			return p;
		} else {
			detach(p);
		}
		used += snprintf(p->reason + used, sizeof(p->reason) - used, "%s%s: %s",
				 used ? "; " : "", feature__name(v->feat), why);
		if (used >= sizeof(p->reason))
			used = sizeof(p->reason) - 1;
	}
	return p;
}

void probe__free(struct probe *p)
{
	if (!p)
		return;
	detach(p);
	free(p->val);
	free(p);
}

bool probe__attached(const struct probe *p)
{
	return p->attached;
}

bool probe__enabled(const struct probe *p)
{
	return p->cfg->enabled;
}

const char *probe__name(const struct probe *p)
{
	return probe_id__name(p->id);
}

const char *probe__attach_type(const struct probe *p)
{
	return p->attach_type;
}

const char *probe__reason(const struct probe *p)
{
	return p->reason;
}

const char *probe__metric(const struct probe *p)
{
	return p->desc->metric;
}

int probe__hist_fd(const struct probe *p)
{
	return p->hist_fd;
}

int probe__add_target(struct probe *p, uint32_t tgid)
{
	__u8 one = 1;

	if (p->targets_fd < 0)
		return -ENOENT;
	return bpf_map_update_elem(p->targets_fd, &tgid, &one, BPF_ANY) ? -errno : 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct u32_vec {
	uint32_t *v;
	size_t n, cap;
};

static int u32_vec__push(struct u32_vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		uint32_t *nv = reallocarray(a->v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = x;
	return 0;
}

struct want_ctx {
	const struct targets_cfg *t;
	struct u32_vec *want;
};

static int want_cb(const struct proc_facts *pf, void *ctx)
{
	struct want_ctx *w = ctx;

	return targets__match(w->t, pf) ? u32_vec__push(w->want, pf->pid) : 0;
}

/*
 * The wanted set is recomputed from scratch each tick (configured pids
 * that exist, plus processes another selector matches), then the kernel
 * map is brought in line: stale tgids deleted, new ones added.
 */
int probe__refresh_targets(struct probe *p)
{
	const struct targets_cfg *t = &p->cfg->targets;
	struct u32_vec want = { 0 };
	struct want_ctx w = { t, &want };
	unsigned int need = targets__needs(t);
	int err = 0;

	if (!p->attached || !t->set || p->targets_fd < 0)
		return 0;
	if (need) {
		err = targets__scan(need, want_cb, &w);
	} else {
		for (size_t i = 0; !err && i < t->npids; i++)
			if (targets__pid_exists(t->pids[i]))
				err = u32_vec__push(&want, t->pids[i]);
	}
	if (err)
		goto out;
	if (want.n)
		qsort(want.v, want.n, sizeof(*want.v), cmp_u32);

	err = bw_sync_u32_set(p->targets_fd, want.v, want.n);
	if (err < 0)
		goto out;
	if (err)
		p->cnt.targets_full++;
	err = (int)want.n;
out:
	free(want.v);
	return err;
}

int probe__prog_stats(const struct probe *p, struct probe_prog_stats *out, int max)
{
	int n = 0;

	for (int i = 0; i < p->nprogs && n < max; i++) {
		if (!bw_prog_runs(p->progs[i], &out[n].run_cnt, &out[n].run_time_ns))
			continue;
		out[n].name = bpf_program__name(p->progs[i]);
		n++;
	}
	return n;
}

void probe__counters(const struct probe *p, struct probe_counters *c)
{
	*c = p->cnt;
	c->hist_full = bw_percpu_sum(p->stats_fd, BW_STAT_HIST_FULL);
	c->start_full = bw_percpu_sum(p->stats_fd, BW_STAT_START_FULL);
	c->filtered = bw_percpu_sum(p->stats_fd, BW_STAT_FILTERED);
}

int probe__collect(struct probe *p, struct store *s, struct labeler *lb,
		   uint64_t idle_timeout_ms)
{
	unsigned char key[MAX_KEY_SIZE], next[MAX_KEY_SIZE];
	unsigned char (*del)[MAX_KEY_SIZE] = NULL;
	size_t ndel = 0, delcap = 0;
	uint64_t now = bw_mono_ns();
	uint32_t entries = 0;
	int more, err = 0;

	if (!p->attached)
		return 0;
	if (!p->family) {
		p->family = store__family(s, p->desc->metric, METRIC_HISTOGRAM,
					  p->desc->help);
		if (!p->family)
			return -errno;
	}
	more = bpf_map_get_next_key(p->hist_fd, NULL, next) == 0;
	while (more) {
		struct label l[MAX_LABELS + 1];
		char buf[MAX_LABELS][LABEL_BUF];
		size_t n = 0;
		bool gone = false, idle;

		memcpy(key, next, p->desc->key_size);
		more = bpf_map_get_next_key(p->hist_fd, key, next) == 0;
		if (bpf_map_lookup_elem(p->hist_fd, key, p->val))
			continue;	/* deleted under us */
		entries++;
		idle = now > p->val->last_ns &&
		       (now - p->val->last_ns) / 1000000 > idle_timeout_ms;
		if (!idle && !p->desc->labels(lb, key, l, &n, buf))
			gone = true;
		if (idle || gone) {
			if (ndel == delcap) {
				size_t nc = delcap ? delcap * 2 : 64;
				void *nd = realloc(del, nc * sizeof(*del));

				if (!nd) {
					err = -ENOMEM;
					break;
				}
				del = nd;
				delcap = nc;
			}
			memcpy(del[ndel++], key, p->desc->key_size);
			if (idle)
				p->cnt.expired++;
			else
				p->cnt.gone++;
			continue;
		}
		/* A full store is counted there; keep collecting the rest. */
		histexpo__append(s, p->family, p->val, l, n);
	}
	for (size_t i = 0; i < ndel; i++)
		bpf_map_delete_elem(p->hist_fd, del[i]);
	free(del);
	p->cnt.entries = entries - (uint32_t)ndel;
	return err;
}
