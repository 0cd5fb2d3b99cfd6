/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Agent configuration: YAML in the spirit of prometheus.yml.
 *
 *   global:
 *     collection_interval: 5s    # tick: maps are read this often
 *     retention: 15m             # history kept per series in memory
 *     series_idle_timeout: 5m    # a series with no new events this long is
 *                                # dropped (and its kernel map entry freed)
 *     max_series: 50000          # store-wide limit, new series past it are
 *                                # dropped and counted
 *     strict: false              # a probe that cannot attach is fatal
 *     log_level: info            # error | warn | info | debug
 *     overhead_budget: 1%        # CPU a probes.functions entry may cost,
 *                                # as a fraction of one CPU (0.01 or "1%")
 *     evaluation_interval: 15s   # rule groups without an interval of their
 *                                # own; a multiple of collection_interval
 *     external_labels: { cluster: prod-eu }   # added to alerts sent out
 *   rule_files: [ "/etc/bpfwatch/rules/<glob>.yml" ]  # relative: to this file
 *   web:
 *     listen_address: ":9477"    # [host]:port
 *   state_dir: /var/lib/bpfwatch
 *   probes:
 *     runqueue_latency: { enabled: true,  max_entries: 2048 }
 *     block_io_latency: { enabled: true,  max_entries: 256 }  # no targets:
 *                                # completions run in interrupt context
 *     syscall_latency:
 *       enabled: false
 *       max_entries: 4096
 *       targets:                 # optional; absent = every process
 *         pids: [1234]
 *         comm: "^(nginx|postgres)$"   # POSIX extended regex on comm
 *         exe: /usr/sbin/nginx         # the process's executable
 *         cgroup: /kubepods.slice      # cgroup v2 path (or a glob)
 *
 * Unknown keys, wrong types and bad values are errors reported as
 * "FILE:LINE:COL: message" (1-based line and column).
 */
#ifndef BPFWATCH_CONFIG_H
#define BPFWATCH_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "notify_config.h"

enum probe_id {
	PROBE_RUNQ = 0,		/* "runqueue_latency" */
	PROBE_BIO,		/* "block_io_latency" */
	PROBE_SYSCALL,		/* "syscall_latency" */
	PROBE__COUNT,
};

/* Limits the parser enforces (see config.c). */
#define CONFIG_MAX_FILE_SIZE	(1024 * 1024)	/* config__load_file refuses more */
#define CONFIG_MAX_ERRORS	20		/* errors reported per parse */
#define CONFIG_MAX_PIDS		1024		/* targets.pids entries per probe */

/* Config key of each probe ("runqueue_latency", ...). */
const char *probe_id__name(enum probe_id id);

/*
 * targets: which processes a probe traces.  A process is traced when any
 * selector matches it: its pid is listed, its comm matches the regex, its
 * executable is `exe`, or its cgroup v2 path matches `cgroup` (a glob, or
 * a path that also covers the cgroups below it).  Absent = every process.
 */
struct targets_cfg {
	bool set;		/* a targets: block was given */
	uint32_t *pids;
	size_t npids;
	char *comm;		/* regex source, NULL if none */
	bool comm_set;
	regex_t comm_re;	/* compiled when comm_set */
	char *exe;		/* absolute path, NULL if none */
	char *cgroup;		/* "/..." path or glob, NULL if none */
};

struct probe_cfg {
	bool enabled;
	uint32_t max_entries;	/* histogram map size: 1..1048576 */
	struct targets_cfg targets;
};

/*
 * probes.functions: what to time, one entry each (see default_config.yml).
 *   - binary: /usr/lib/x86_64-linux-gnu/libc.so.6  (or a library name,
 *     symbol: getaddrinfo                          or omitted with pid)
 *   - binary: /srv/app/bin/server
 *     usdt: app:req__count                         # single probe: counted
 *   - binary: /srv/app/bin/server
 *     usdt_begin: app:req__start                   # begin/end pair: timed
 *     usdt_end: app:req__done
 *   - kernel: vfs_read                             # fentry, else kprobe
 * Optional on every entry: name (the `function` label; default: the symbol,
 * "provider:name", or the kernel function), pid (one process), targets,
 * overhead_budget (overrides global.overhead_budget for this entry).
 */
enum func_kind {
	FUNC_UPROBE = 0,	/* uprobe + uretprobe on a symbol: timed */
	FUNC_USDT,		/* one USDT probe: counted */
	FUNC_USDT_PAIR,		/* USDT begin/end pair: timed */
	FUNC_KERNEL,		/* fentry/fexit, else kprobe/kretprobe: timed */
};

struct func_cfg {
	enum func_kind kind;
	char *name;		/* `function` label value (never NULL) */
	char *binary;		/* as written; NULL when omitted (pid given) */
	char *symbol;		/* FUNC_UPROBE */
	char *provider;		/* FUNC_USDT, begin of FUNC_USDT_PAIR */
	char *probe;
	char *end_provider;	/* FUNC_USDT_PAIR */
	char *end_probe;
	char *kernel;		/* FUNC_KERNEL */
	uint32_t pid;		/* 0 = every process */
	struct targets_cfg targets;
	double overhead_budget;	/* (0, 1] of one CPU; 0 = the global one */
	unsigned int line, col;	/* 1-based position of the entry */
};

#define CONFIG_MAX_FUNCTIONS 256

#define CONFIG_MAX_EXTERNAL_LABELS	32
#define CONFIG_MAX_RULE_FILES		64

/*
 * probes.memory: resident memory per process (kmem:rss_stat) and the leak
 * analyzer that reads it (see agent/memprobe.h, agent/leakdetect.h).
 *   memory:
 *     enabled: true
 *     max_entries: 16384        # address spaces tracked in the kernel
 *     pid_label: false          # true: one series per process
 *     targets: { ... }          # optional, as for the other probes
 *     leak_detection:
 *       enabled: true
 *       window: 10m             # history each decision looks at
 *       min_samples: 20         # >= 18; a window given must hold that
 *                               # many ticks (the default one is widened)
 *       max_processes: 256      # analysed per tick, largest first
 *       significance: 0.01      # Mann-Kendall p-value to call a trend
 *       min_growth: 2%          # growth over the window, share of the floor
 *     growth_paths:             # which code paths grow memory (growthpaths.h)
 *       enabled: false
 *       sample_every: 64        # one user page fault in N per CPU, 1..65536
 *       top_k: 5                # paths exported per process, 1..100
 */
struct leak_cfg {
	bool enabled;
	uint64_t window_ms;
	uint32_t min_samples;
	uint32_t max_processes;
	double significance;
	double min_growth;
};

struct growth_cfg {
	bool enabled;
	uint32_t sample_every;
	uint32_t top_k;
};

struct memory_cfg {
	bool enabled;
	uint32_t max_entries;
	bool pid_label;
	struct targets_cfg targets;
	struct leak_cfg leak;
	struct growth_cfg growth;
};

/*
 * probes.gc: GC pauses of the language runtimes found in processes as they
 * start (USDT, Go uprobes).  `runtimes` selects which (default all).
 *   gc:
 *     enabled: true
 *     max_entries: 1024
 *     runtimes: [python, hotspot, ruby, go]
 *     targets: { comm: "^java$" }
 */
enum gc_runtime_id {
	GC_PYTHON = 0,
	GC_HOTSPOT,
	GC_RUBY,
	GC_GO,
	GC__COUNT,
};

/* "python", "hotspot", "ruby", "go"; "unknown" out of range. */
const char *gc_runtime__name(unsigned int rt);

struct gc_cfg {
	struct probe_cfg probe;	/* enabled, max_entries, targets */
	unsigned int runtimes;	/* bit (1 << enum gc_runtime_id) per runtime */
};

struct config {
	char *source;			/* file name, or "<default>" */
	uint64_t collection_interval_ms;	/* 100ms..1h, default 5s */
	uint64_t retention_ms;		/* >= collection interval, default 15m */
	uint64_t idle_timeout_ms;	/* >= collection interval, default 5m */
	uint32_t max_series;		/* 1..10000000, default 50000 */
	bool strict;
	enum log_level log_level;
	double overhead_budget;		/* (0, 1] of one CPU, default 0.01 */
	uint64_t evaluation_interval_ms;	/* multiple of the collection
						 * interval, default 15s */
	char **rule_files;		/* globs, made absolute */
	size_t nrule_files;
	struct notify_cfg notify;	/* alerting: (exporters/notify_config.h),
					 * and global.external_labels */
	char *listen_address;		/* default ":9477" */
	char *state_dir;		/* default "/var/lib/bpfwatch" */
	struct probe_cfg probes[PROBE__COUNT];
	struct func_cfg *functions;	/* probes.functions */
	size_t nfunctions;
	struct memory_cfg memory;	/* probes.memory */
	struct gc_cfg gc;		/* probes.gc */
};

/* The embedded default configuration (agent/default_config.yml). */
extern const char bw_default_config[];

/*
 * Parse a configuration.  Returns a new config (caller frees with
 * config__free) or NULL with errno set and every error found written to
 * @err as "NAME:LINE:COL: message" lines ('\n'-separated, truncated to
 * @errlen).  Keys absent from the text take the defaults above.
 */
struct config *config__parse(const char *name, const char *text, size_t len,
			     char *err, size_t errlen);
/* Read and parse @path; I/O errors are reported as "PATH: strerror". */
struct config *config__load_file(const char *path, char *err, size_t errlen);
/* Parse the embedded default. */
struct config *config__load_default(char *err, size_t errlen);
void config__free(struct config *cfg);

/* Parse a Prometheus duration ("5s", "1m30s", "250ms", "1h"); units y w d
 * h m s ms; returns 0 or -EINVAL. */
int config__parse_duration(const char *s, uint64_t *ms);

#endif /* BPFWATCH_CONFIG_H */
