/* SPDX-License-Identifier: GPL-2.0 */
/*
 * GC pause probe (probes.gc): finds language runtimes in processes as they
 * start and times their garbage-collector pauses in the kernel
 * (bpf/gcpause.bpf.c).
 *
 * Discovery.  A sched_process_exec tracepoint tells the agent about
 * every new program (within GCPROBE_EXEC_POLL_MS), whose executable is
 * classified at once; the libraries a
 * process maps later (libjvm.so is dlopen'ed by the java launcher) are
 * found by reading its /proc/PID/maps on every tick while it is young
 * (GCPROBE_YOUNG_TICKS), and every process's maps are re-read round-robin
 * (GCPROBE_RESCAN_PER_TICK per tick) for libraries loaded much later.
 * Each executable mapping is classified once per inode (gcdetect.h) and the
 * verdict cached (GCPROBE_CACHE_MAX, evictions counted); a runtime binary
 * is attached once per inode, which covers every process that maps it,
 * now or later (GCPROBE_MAX_BINARIES, refusals counted).
 *
 * Exported: bpfwatch_gc_pause_seconds{runtime,generation,comm,container}
 * (histogram), bpfwatch_gc_collections_total{...},
 * bpfwatch_gc_collected_objects_total{...} (python); per binary found,
 * bpfwatch_gc_binary_attached{runtime,binary,reason} (collector.c).
 */
#ifndef BPFWATCH_GCPROBE_H
#define BPFWATCH_GCPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kfeatures.h"
#include "probes.h"

#define GCPROBE_CACHE_MAX	4096	/* inode verdicts kept */
#define GCPROBE_MAX_BINARIES	64	/* runtime binaries attached or refused */
#define GCPROBE_MAX_YOUNG	4096	/* processes watched for new libraries */
#define GCPROBE_YOUNG_TICKS	6	/* ticks a new process is watched for */
#define GCPROBE_RESCAN_PER_TICK	32	/* older processes re-read per tick */
#define GCPROBE_EXEC_POLL_MS	100	/* exec notifications drained this often */

struct gcprobe;
struct store;
struct labeler;

/* Load and attach the exec tracepoint per @cfg (borrowed, must outlive the
 * result).  Never NULL unless out of memory: a probe that cannot load is
 * returned with gcprobe__attached() false and the reason set. */
struct gcprobe *gcprobe__new(const struct gc_cfg *cfg, const struct features *feat);
void gcprobe__free(struct gcprobe *gp);		/* detaches everything */

bool gcprobe__enabled(const struct gcprobe *gp);
bool gcprobe__attached(const struct gcprobe *gp);
const char *gcprobe__attach_type(const struct gcprobe *gp);	/* "" if none */
const char *gcprobe__reason(const struct gcprobe *gp);

/* A timer (timerfd) firing every GCPROBE_EXEC_POLL_MS, -1 without exec
 * notifications: call gcprobe__poll() when it is readable.  (The BPF
 * side never wakes the agent: a wakeup per exec costs an IPI.) */
int gcprobe__fd(const struct gcprobe *gp);
/* Classify the executables of the processes that exec'ed since the last
 * call, attaching runtimes found. */
void gcprobe__poll(struct gcprobe *gp);

/* One tick: discover runtimes (see above), bring the in-kernel target set
 * in line, and append the pause series to the store (entries idle for
 * @idle_timeout_ms, or whose cgroup is gone, are freed).  Returns the
 * number of target processes selected (-1 without targets) or -errno. */
int gcprobe__tick(struct gcprobe *gp, struct store *s, struct labeler *lb,
		  uint64_t idle_timeout_ms);

/* Runtime binaries found so far, attached or not (at most
 * GCPROBE_MAX_BINARIES). */
size_t gcprobe__binary_count(const struct gcprobe *gp);
struct gcprobe_binary {
	const char *runtime;	/* "python", "hotspot", "ruby", "go" */
	const char *path;	/* as the first process that mapped it sees it */
	const char *attach_type;	/* "usdt", "uprobe", "" */
	bool attached;
	const char *reason;	/* "ok" or why not */
};
void gcprobe__binary(const struct gcprobe *gp, size_t i, struct gcprobe_binary *b);

int gcprobe__prog_stats(const struct gcprobe *gp, struct probe_prog_stats *out,
			int max);
void gcprobe__counters(const struct gcprobe *gp, struct probe_counters *c);

/* Limits hit and events that could not be timed, since gcprobe__new(). */
struct gcprobe_counters {
	uint64_t end_without_begin;	/* pause ends whose begin was not seen */
	uint64_t begin_lost;		/* begins replaced before their end */
	uint64_t arg_errors;		/* USDT arguments unreadable */
	uint64_t exec_lost;		/* exec notifications dropped (ring full) */
	uint64_t cache_evictions;	/* inode verdicts dropped (cache full) */
	uint64_t binaries_refused;	/* runtimes past GCPROBE_MAX_BINARIES */
	uint64_t young_full;		/* new processes not watched (list full) */
	uint64_t processes_checked;	/* /proc/PID/maps reads */
	uint64_t files_classified;	/* ELF files inspected */
};
void gcprobe__gc_counters(const struct gcprobe *gp, struct gcprobe_counters *c);

#endif /* BPFWATCH_GCPROBE_H */
