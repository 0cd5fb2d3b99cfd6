// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "collector.h"
#include "expo.h"
#include "funcprobe.h"
#include "gcprobe.h"
#include "labeler.h"
#include "growthpaths.h"
#include "leakdetect.h"
#include "log.h"
#include "notify.h"
#include "ruleeng.h"
#include "memprobe.h"
#include "probes.h"
#include "store.h"

struct collector {
	const struct config *cfg;
	const struct features *feat;
	struct probe **probes;
	struct funcprobe *fp;
	struct ruleeng *re;		/* NULL: no rules */
	struct notify *notify;		/* NULL: no alerting destinations */
	struct memprobe *mp;
	struct leakdetect *ld;
	struct growthpaths *grp;
	struct gcprobe *gp;
	int gc_targets;
	struct store *store;
	struct labeler *lb;
	uint64_t ticks;
	double last_duration;
	int targets[PROBE__COUNT];	/* tgids selected, -1 = no targets */
	int func_targets;
	double start_time;
	struct strbuf body;
	void *gz;
	size_t gzlen;
	char kernel[128];
	struct store_family *f_build, *f_attached, *f_feature, *f_events,
		*f_runtime, *f_errors, *f_filtered, *f_entries, *f_max_entries,
		*f_expired, *f_duration, *f_ticks, *f_series, *f_series_limit,
		*f_dropped, *f_cpu, *f_rss, *f_start, *f_fds, *f_targets,
		*f_func_attached, *f_trap, *f_overhead, *f_state, *f_ratio,
		*f_budget, *f_gc_binary, *f_gc_discovery;
};

static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define FAM(field, name, type, help) do {				\
	c->field = store__family(c->store, name, type, help);		\
	if (!c->field)							\
		goto err_free;						\
} while (0)

struct collector *collector__new(const struct config *cfg,
				 const struct features *feat,
				 struct probe **probes, struct store *store)
{
	struct collector *c = calloc(1, sizeof(*c));
	struct utsname u;

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->feat = feat;
	c->probes = probes;
	c->store = store;
	c->start_time = now_real();
	strbuf__init(&c->body);
	if (uname(&u) == 0)
		snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
	c->lb = labeler__new();
	if (!c->lb)
		goto err_free;

	FAM(f_build, "bpfwatch_build_info", METRIC_GAUGE,
	    "bpfwatch version, the libbpf it runs with, and the kernel.");
	FAM(f_attached, "bpfwatch_probe_attached", METRIC_GAUGE,
	    "1 if the probe is attached, 0 if not; reason says why not.");
	FAM(f_feature, "bpfwatch_kernel_feature_available", METRIC_GAUGE,
	    "1 if this kernel offers the BPF feature (probed at start-up).");
	FAM(f_events, "bpfwatch_probe_events_total", METRIC_COUNTER,
	    "Times each BPF program ran (BPF stats run_cnt).");
	FAM(f_runtime, "bpfwatch_probe_run_seconds_total", METRIC_COUNTER,
	    "CPU time spent in each BPF program (BPF stats run_time_ns).");
	FAM(f_errors, "bpfwatch_probe_errors_total", METRIC_COUNTER,
	    "Events a probe could not record because a map limit was hit.");
	FAM(f_filtered, "bpfwatch_probe_filtered_events_total", METRIC_COUNTER,
	    "Events skipped in the kernel because the process is not a target.");
	FAM(f_entries, "bpfwatch_probe_map_entries", METRIC_GAUGE,
	    "Entries in a probe's histogram map at the last collection.");
	FAM(f_max_entries, "bpfwatch_probe_map_max_entries", METRIC_GAUGE,
	    "Capacity of a probe's histogram map (probes.<name>.max_entries).");
	FAM(f_expired, "bpfwatch_probe_entries_freed_total", METRIC_COUNTER,
	    "Histogram map entries freed by the agent: idle past "
	    "series_idle_timeout, or their cgroup is gone.");
	FAM(f_func_attached, "bpfwatch_function_attached", METRIC_GAUGE,
	    "1 if a probes.functions entry is attached, 0 if not; reason says why not.");
	FAM(f_trap, "bpfwatch_uprobe_trap_seconds", METRIC_GAUGE,
	    "Cost of one uprobe hit measured at start-up, by the kind of probed "
	    "instruction (push and nop are emulated, other instructions "
	    "single-stepped; return: what a uretprobe adds per call).");
	FAM(f_overhead, "bpfwatch_function_overhead_seconds_total", METRIC_COUNTER,
	    "Estimated CPU time the probes of a probes.functions entry cost the "
	    "traced processes (uprobe traps and BPF run time).");
	FAM(f_state, "bpfwatch_probe_state", METRIC_GAUGE,
	    "1 for the current state of a probes.functions entry under its "
	    "overhead budget: active, sampled (attached part of the time) or "
	    "suspended.");
	FAM(f_ratio, "bpfwatch_function_sample_ratio", METRIC_GAUGE,
	    "Share of the time a probes.functions entry is attached: its counts "
	    "and histograms cover this share of the calls.");
	FAM(f_budget, "bpfwatch_function_overhead_budget", METRIC_GAUGE,
	    "Overhead budget of a probes.functions entry, in CPUs (0.01 = 1% of "
	    "one CPU).");
	FAM(f_gc_binary, "bpfwatch_gc_binary_attached", METRIC_GAUGE,
	    "1 if the GC probes of a language runtime found in a process are "
	    "attached (per binary or library), 0 if not; reason says why not.");
	FAM(f_gc_discovery, "bpfwatch_gc_discovery_total", METRIC_COUNTER,
	    "Work of the GC probe's runtime discovery: process maps read, ELF "
	    "files classified (once per inode).");
	FAM(f_targets, "bpfwatch_probe_targets", METRIC_GAUGE,
	    "Processes currently selected by a probe's targets (pids and comm "
	    "regex; only for probes with targets).");
	FAM(f_duration, "bpfwatch_collection_duration_seconds", METRIC_GAUGE,
	    "Time the last collection tick took.");
	FAM(f_ticks, "bpfwatch_collections_total", METRIC_COUNTER,
	    "Collection ticks run.");
	FAM(f_series, "bpfwatch_series", METRIC_GAUGE,
	    "Series currently held in the store.");
	FAM(f_series_limit, "bpfwatch_series_limit", METRIC_GAUGE,
	    "Maximum series the store holds (global.max_series).");
	FAM(f_dropped, "bpfwatch_series_dropped_total", METRIC_COUNTER,
	    "Samples of new series refused because the series limit was hit.");
	FAM(f_cpu, "process_cpu_seconds_total", METRIC_COUNTER,
	    "Total user and system CPU time spent in seconds.");
	FAM(f_rss, "process_resident_memory_bytes", METRIC_GAUGE,
	    "Resident memory size in bytes.");
	FAM(f_start, "process_start_time_seconds", METRIC_GAUGE,
	    "Start time of the process since unix epoch in seconds.");
	FAM(f_fds, "process_open_fds", METRIC_GAUGE,
	    "Number of open file descriptors.");
	return c;

err_free:
	collector__free(c);
	return NULL;
}
#undef FAM

void collector__free(struct collector *c)
{
	if (!c)
		return;
	labeler__free(c->lb);
	strbuf__free(&c->body);
	free(c->gz);
	free(c);
}

void collector__set_ruleeng(struct collector *c, struct ruleeng *re)
{
	c->re = re;
}

void collector__set_notify(struct collector *c, struct notify *n)
{
	c->notify = n;
}

void collector__set_funcprobe(struct collector *c, struct funcprobe *fp)
{
	c->fp = fp;
}

void collector__set_memprobe(struct collector *c, struct memprobe *mp,
			     struct leakdetect *ld)
{
	c->mp = mp;
	c->ld = ld;
}

void collector__set_growthpaths(struct collector *c, struct growthpaths *grp)
{
	c->grp = grp;
}

void collector__set_gcprobe(struct collector *c, struct gcprobe *gp)
{
	c->gp = gp;
}

uint64_t collector__ticks(const struct collector *c)
{
	return c->ticks;
}

static void put(struct collector *c, struct store_family *f,
		const struct label *l, size_t n, double v)
{
	store__append(c->store, f, "", l, n, v);
}

static void process_metrics(struct collector *c)
{
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long utime, stime;
	long rss;
	char buf[1024], *p;
	FILE *f;
	DIR *d;
	int nfd = 0;

	f = fopen("/proc/self/stat", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
			   "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &utime, &stime, &rss) == 3) {
			put(c, c->f_cpu, NULL, 0, (double)(utime + stime) / (double)tck);
			put(c, c->f_rss, NULL, 0, (double)rss * (double)page);
		}
		fclose(f);
	}
	put(c, c->f_start, NULL, 0, c->start_time);
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			nfd++;
		closedir(d);
		put(c, c->f_fds, NULL, 0, nfd - 3);	/* ., .., the dir itself */
	}
}

/* Run counts, run time, limits hit: the same families for every probe. */
static void probe_metrics(struct collector *c, const char *name,
			  const struct probe_prog_stats *st, int n,
			  const struct probe_counters *cnt)
{
	struct label l[2] = { { "probe", name } };

	for (int j = 0; j < n; j++) {
		l[1] = (struct label){ "program", st[j].name };
		put(c, c->f_events, l, 2, (double)st[j].run_cnt);
		put(c, c->f_runtime, l, 2, (double)st[j].run_time_ns / 1e9);
	}
	l[1] = (struct label){ "reason", "histogram_map_full" };
	put(c, c->f_errors, l, 2, (double)cnt->hist_full);
	l[1] = (struct label){ "reason", "start_map_full" };
	put(c, c->f_errors, l, 2, (double)cnt->start_full);
	l[1] = (struct label){ "reason", "targets_map_full" };
	put(c, c->f_errors, l, 2, (double)cnt->targets_full);
	put(c, c->f_filtered, l, 1, (double)cnt->filtered);
	put(c, c->f_entries, l, 1, cnt->entries);
	put(c, c->f_max_entries, l, 1, cnt->max_entries);
	l[1] = (struct label){ "reason", "idle" };
	put(c, c->f_expired, l, 2, (double)cnt->expired);
	l[1] = (struct label){ "reason", "cgroup_gone" };
	put(c, c->f_expired, l, 2, (double)cnt->gone);
}

/* Overhead budget of entry @i: cost so far, state, sampled share. */
static void func_budget_metrics(struct collector *c, size_t i,
				const struct funcprobe_status *fs)
{
	struct funcprobe_overhead o;
	struct label l[3];

	if (!funcprobe__overhead(c->fp, i, &o))
		return;
	l[0] = (struct label){ "function", fs->function };
	l[1] = (struct label){ "binary", fs->binary };
	put(c, c->f_overhead, l, 2, o.spent_s);
	put(c, c->f_ratio, l, 2, o.ratio);
	put(c, c->f_budget, l, 2, o.limit);
	l[0] = (struct label){ "probe", "functions" };
	l[1] = (struct label){ "function", fs->function };
	for (int s = 0; s < BUDGET__COUNT; s++) {
		l[2] = (struct label){ "state", budget_state__name((enum budget_state)s) };
		put(c, c->f_state, l, 3, o.state == (enum budget_state)s);
	}
}

static void func_metrics(struct collector *c)
{
	struct probe_prog_stats st[16];
	struct probe_counters cnt;
	size_t nf = funcprobe__count(c->fp);
	int n;

	for (size_t i = 0; i < nf; i++) {
		struct funcprobe_status fs;
		struct label l[4];

		funcprobe__status(c->fp, i, &fs);
		l[0] = (struct label){ "function", fs.function };
		l[1] = (struct label){ "binary", fs.binary };
		l[2] = (struct label){ "attach_type", fs.attach_type };
		l[3] = (struct label){ "reason", fs.reason };
		put(c, c->f_func_attached, l, 4, fs.attached);
		func_budget_metrics(c, i, &fs);
	}
	for (int k = 0; k < CALIB__COUNT; k++) {
		struct label l = { "insn", calib_insn__name((enum calib_insn)k) };
		double ns;

		if (funcprobe__trap_ns(c->fp, (enum calib_insn)k, &ns))
			put(c, c->f_trap, &l, 1, ns / 1e9);
	}
	n = funcprobe__prog_stats(c->fp, st, 16);
	funcprobe__counters(c->fp, &cnt);
	probe_metrics(c, "functions", st, n, &cnt);
	if (c->func_targets >= 0) {
		struct label l = { "probe", "functions" };

		put(c, c->f_targets, &l, 1, c->func_targets);
	}
}

static void mem_metrics(struct collector *c)
{
	struct probe_prog_stats st[1];
	struct probe_counters cnt;
	struct label l[3];
	int n;

	l[0] = (struct label){ "probe", "memory" };
	l[1] = (struct label){ "attach_type", memprobe__attach_type(c->mp) };
	l[2] = (struct label){ "reason", memprobe__reason(c->mp) };
	put(c, c->f_attached, l, 3, memprobe__attached(c->mp));
	if (!memprobe__attached(c->mp))
		return;
	n = memprobe__prog_stats(c->mp, st, 1);
	memprobe__counters(c->mp, &cnt);
	probe_metrics(c, "memory", st, n, &cnt);
	if (memprobe__targets(c->mp) >= 0)
		put(c, c->f_targets, l, 1, memprobe__targets(c->mp));
	if (c->grp) {
		uint64_t runs, ns;

		l[0] = (struct label){ "probe", "memory_growth" };
		l[1] = (struct label){ "attach_type", growthpaths__attach_type(c->grp) };
		l[2] = (struct label){ "reason", growthpaths__reason(c->grp) };
		put(c, c->f_attached, l, 3, growthpaths__attached(c->grp));
		if (growthpaths__prog_runs(c->grp, &runs, &ns)) {
			l[1] = (struct label){ "program", "page_fault_user" };
			put(c, c->f_events, l, 2, (double)runs);
			put(c, c->f_runtime, l, 2, (double)ns / 1e9);
		}
	}
}

/* The GC probe: attached or why not, program stats, limits hit, and the
 * attach status of each runtime binary found. */
static void gc_metrics(struct collector *c)
{
	static const char *const reasons[] = {
		"end_without_begin", "begin_lost", "usdt_arg_unreadable",
		"exec_events_lost", "binary_cache_evicted", "binaries_limit",
		"young_processes_full",
	};
	struct probe_prog_stats st[8];
	struct gcprobe_counters gc;
	struct probe_counters cnt;
	struct label l[4];
	uint64_t v[7];
	int n;

	l[0] = (struct label){ "probe", "gc" };
	l[1] = (struct label){ "attach_type", gcprobe__attach_type(c->gp) };
	l[2] = (struct label){ "reason", gcprobe__reason(c->gp) };
	put(c, c->f_attached, l, 3, gcprobe__attached(c->gp));
	if (!gcprobe__attached(c->gp))
		return;
	n = gcprobe__prog_stats(c->gp, st, 8);
	gcprobe__counters(c->gp, &cnt);
	probe_metrics(c, "gc", st, n, &cnt);
	gcprobe__gc_counters(c->gp, &gc);
	v[0] = gc.end_without_begin;
	v[1] = gc.begin_lost;
	v[2] = gc.arg_errors;
	v[3] = gc.exec_lost;
	v[4] = gc.cache_evictions;
	v[5] = gc.binaries_refused;
	v[6] = gc.young_full;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		l[1] = (struct label){ "reason", reasons[i] };
		put(c, c->f_errors, l, 2, (double)v[i]);
	}
	if (c->gc_targets >= 0)
		put(c, c->f_targets, l, 1, c->gc_targets);
	l[0] = (struct label){ "what", "processes_checked" };
	put(c, c->f_gc_discovery, l, 1, (double)gc.processes_checked);
	l[0] = (struct label){ "what", "files_classified" };
	put(c, c->f_gc_discovery, l, 1, (double)gc.files_classified);
	for (size_t i = 0; i < gcprobe__binary_count(c->gp); i++) {
		struct gcprobe_binary b;

		gcprobe__binary(c->gp, i, &b);
		l[0] = (struct label){ "runtime", b.runtime };
		l[1] = (struct label){ "binary", b.path };
		l[2] = (struct label){ "attach_type", b.attach_type };
		l[3] = (struct label){ "reason", b.reason };
		put(c, c->f_gc_binary, l, 4, b.attached);
	}
}

static void self_metrics(struct collector *c)
{
	char ver[32];
	struct label l[4];

	snprintf(ver, sizeof(ver), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	l[0] = (struct label){ "version", BPFWATCH_VERSION };
	l[1] = (struct label){ "libbpf_version", ver };
	l[2] = (struct label){ "kernel", c->kernel };
	put(c, c->f_build, l, 3, 1);

	for (int i = 0; i < FEAT__COUNT; i++) {
		l[0] = (struct label){ "feature", feature__name((enum feature)i) };
		put(c, c->f_feature, l, 1, c->feat->ok[i]);
	}

	for (int i = 0; i < PROBE__COUNT; i++) {
		struct probe *p = c->probes[i];
		struct probe_prog_stats st[PROBE_MAX_PROGS];
		struct probe_counters cnt;
		int n;

		if (!p)
			continue;
		l[0] = (struct label){ "probe", probe__name(p) };
		l[1] = (struct label){ "attach_type", probe__attach_type(p) };
		l[2] = (struct label){ "reason", probe__reason(p) };
		put(c, c->f_attached, l, 3, probe__attached(p));
		if (!probe__attached(p))
			continue;

		n = probe__prog_stats(p, st, PROBE_MAX_PROGS);
		probe__counters(p, &cnt);
		probe_metrics(c, probe__name(p), st, n, &cnt);
		if (c->targets[i] >= 0)
			put(c, c->f_targets, l, 1, c->targets[i]);
	}
	if (c->fp)
		func_metrics(c);
	if (c->mp)
		mem_metrics(c);
	if (c->gp)
		gc_metrics(c);
	put(c, c->f_ticks, NULL, 0, (double)c->ticks);
	put(c, c->f_duration, NULL, 0, c->last_duration);
	put(c, c->f_series, NULL, 0, store__series_count(c->store));
	put(c, c->f_series_limit, NULL, 0, c->cfg->max_series);
	put(c, c->f_dropped, NULL, 0, (double)store__dropped_total(c->store));
	process_metrics(c);
}

static void render_family(const char *name, enum metric_type type,
			  const char *help, void *ctx)
{
	expo__family(ctx, name, type, help);
}

static void render_series(const struct store_series_view *v, void *ctx)
{
	expo__sample(ctx, v->name, v->labels, v->nlabels, v->value);
}

int collector__tick(struct collector *c)
{
	double t0 = now_mono();
	int64_t ts = (int64_t)(now_real() * 1000);
	int err;

	/* Tick timestamps must increase even if the wall clock steps back. */
	if (ts <= store__last_tick_ms(c->store))
		ts = store__last_tick_ms(c->store) + 1;
	err = store__begin_tick(c->store, ts);
	if (err)
		return err;
	labeler__new_tick(c->lb);
	for (int i = 0; i < PROBE__COUNT; i++) {
		struct probe *p = c->probes[i];
		int n;

		if (!p || !probe__attached(p))
			continue;
		n = probe__refresh_targets(p);
		if (n < 0)
			pr_warn("probe %s: refreshing targets failed: %s",
				probe__name(p), strerror(-n));
		c->targets[i] = c->cfg->probes[i].targets.set ? n : -1;
		err = probe__collect(p, c->store, c->lb, c->cfg->idle_timeout_ms);
		if (err)
			pr_warn("probe %s: collecting failed: %s", probe__name(p),
				strerror(-err));
	}
	if (c->fp) {
		int n;

		funcprobe__rescan(c->fp);
		n = funcprobe__refresh_targets(c->fp);

		if (n < 0)
			pr_warn("functions: refreshing targets failed: %s", strerror(-n));
		c->func_targets = -1;
		for (size_t i = 0; i < c->cfg->nfunctions; i++)
			if (c->cfg->functions[i].targets.set)
				c->func_targets = n;
		err = funcprobe__collect(c->fp, c->store, c->lb, c->cfg->idle_timeout_ms);
		if (err)
			pr_warn("functions: collecting failed: %s", strerror(-err));
		funcprobe__budget_tick(c->fp);
	}
	if (c->mp) {
		err = memprobe__collect(c->mp, c->store);
		if (err)
			pr_warn("memory: collecting failed: %s", strerror(-err));
	}
	if (c->mp && c->ld) {
		const struct mem_proc *procs;
		size_t n;

		/* monotonic: a wall clock step must not empty the window */
		procs = memprobe__procs(c->mp, &n);
		err = leakdetect__update(c->ld, procs, n,
					 (int64_t)(bw_mono_ns() / 1000000));
		if (!err)
			err = leakdetect__export(c->ld, c->store);
		if (err)
			pr_warn("leak analyzer: %s", strerror(-err));
	}
	if (c->mp && c->grp) {
		const struct mem_proc *procs;
		size_t n;

		procs = memprobe__procs(c->mp, &n);
		err = growthpaths__update(c->grp, procs, n,
					  (int64_t)(bw_mono_ns() / 1000000));
		if (!err)
			err = growthpaths__export(c->grp, c->store, c->ld);
		if (err)
			pr_warn("growth paths: %s", strerror(-err));
	}
	if (c->gp)
		c->gc_targets = gcprobe__tick(c->gp, c->store, c->lb,
					      c->cfg->idle_timeout_ms);
	c->ticks++;
	self_metrics(c);
	/* Rules last: they read this tick's probe and self metrics. */
	if (c->re) {
		ruleeng__eval(c->re, c->store, ts);
		ruleeng__metrics(c->re, c->store);
	}
	store__end_tick(c->store);
	c->last_duration = now_mono() - t0;

	strbuf__reset(&c->body);
	store__foreach(c->store, render_family, render_series, &c->body);
	if (c->notify)
		notify__expose(c->notify, &c->body);
	free(c->gz);
	c->gz = NULL;
	if (c->body.oom) {
		pr_err("collector: out of memory rendering metrics");
		strbuf__free(&c->body);
		strbuf__init(&c->body);
		return -ENOMEM;
	}
	return 0;
}

const char *collector__metrics(struct collector *c, size_t *len)
{
	if (!c->ticks)
		return NULL;
	*len = c->body.len;
	return c->body.buf ? c->body.buf : "";
}

const void *collector__metrics_gzip(struct collector *c, size_t *len)
{
	if (!c->ticks)
		return NULL;
	if (!c->gz && expo__gzip(c->body.buf ? c->body.buf : "", c->body.len,
				 &c->gz, &c->gzlen))
		return NULL;
	*len = c->gzlen;
	return c->gz;
}
