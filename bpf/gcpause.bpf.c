// SPDX-License-Identifier: GPL-2.0
/*
 * GC pauses of language runtimes, timed in the kernel: a begin event
 * stores its timestamp per thread (gc_start, LRU), the matching end
 * records the pause into gc_hist keyed by (runtime, generation or kind,
 * cgroup, comm).  The agent attaches these programs per binary inode as it
 * discovers runtimes (agent/gcprobe.c); the attach cookie says which
 * runtime an event belongs to, so one program serves every binary.
 *
 *   USDT (python, hotspot, ruby)  begin/end on the same thread, which the
 *       runtimes guarantee: CPython collects under the GIL and is not
 *       reentrant, HotSpot's pauses run in the VM thread, Ruby under the
 *       GVL.
 *   Go  entry uprobes only (a uretprobe rewrites the return address on a
 *       stack Go may move): stopTheWorldWithSema opens the pause,
 *       startTheWorldWithSema closes it.  A world stop is process-wide and
 *       the goroutine may resume on another thread, so the pause is keyed
 *       by tgid.
 *
 * sched_process_exec notifies the agent of new processes through a ring
 * buffer (drained every GCPROBE_EXEC_POLL_MS), so a runtime started after
 * the agent is attached within moments, not at the next /proc scan.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "common.bpf.h"
#include "gcpause.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GC_START_ENTRIES);
	__type(key, struct gc_start_key);
	__type(value, struct gc_start);
} gc_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GC_HIST_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gc_key);
	__type(value, struct gc_val);
} gc_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GC_EXEC_RINGBUF);
} gc_execs SEC(".maps");

/* Zeroed value used to create gc_hist entries (too big for the stack). */
static struct gc_val zero_val;

static __always_inline void gc_stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&gc_stats, &idx);

	if (c)
		*c += 1;
}

/* Like bw_wanted() but silent: an end whose begin was filtered out is not
 * an error, and was counted at the begin. */
static __always_inline bool wanted_quiet(__u32 tgid)
{
	return !filter_tgid || bpf_map_lookup_elem(&bw_targets, &tgid);
}

static __always_inline __u32 clamp_gen(long v)
{
	return v < 0 ? 0 : v > GC_GEN_MAX ? GC_GEN_MAX : (__u32)v;
}

/* Open a pause of @rt/@gen under @id (thread, or tgid for Go). */
static __always_inline int pause_begin(__u32 id, __u32 slot, __u32 gen)
{
	struct gc_start_key k = { .id = id, .slot = slot };
	struct gc_start s = { .ts = bpf_ktime_get_ns(), .gen = gen };

	if (!bw_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* A begin still open means its end never came (or we attached
	 * between the two): its time is unknown, count it. */
	if (bpf_map_lookup_elem(&gc_start, &k))
		gc_stat_inc(GC_STAT_LOST);
	if (bpf_map_update_elem(&gc_start, &k, &s, BPF_ANY))
		bw_stat_inc(BW_STAT_START_FULL);
	return 0;
}

/* Close the pause open under @id/@slot and record it, with @objects
 * collected. */
static __always_inline int pause_end(__u32 id, __u32 slot, __u32 rt,
				     __u64 objects)
{
	struct gc_start_key k = { .id = id, .slot = slot };
	struct gc_key key = {};
	struct task_struct *task;
	struct gc_start *s;
	struct gc_val *v;
	__u64 now = bpf_ktime_get_ns(), ts;
	__u32 gen;
	long err;

	if (!wanted_quiet(bpf_get_current_pid_tgid() >> 32))
		return 0;
	s = bpf_map_lookup_elem(&gc_start, &k);
	if (!s) {
		gc_stat_inc(GC_STAT_MISSING);
		return 0;
	}
	ts = s->ts;
	gen = s->gen;
	bpf_map_delete_elem(&gc_start, &k);
	if (now < ts)
		return 0;
	key.cgroup_id = bpf_get_current_cgroup_id();
	key.runtime = rt;
	key.gen = gen;
	/* The process's comm, not the thread's: HotSpot pauses run in its
	 * "VM Thread", Go's in any of its threads. */
	task = (struct task_struct *)bpf_get_current_task();
	BPF_CORE_READ_STR_INTO(&key.comm, task, group_leader, comm);
	v = bpf_map_lookup_elem(&gc_hist, &key);
	if (!v) {
		err = bpf_map_update_elem(&gc_hist, &key, &zero_val, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			bw_stat_inc(BW_STAT_HIST_FULL);
			return 0;
		}
		v = bpf_map_lookup_elem(&gc_hist, &key);
		if (!v)
			return 0;
	}
	bw_hist_record(&v->hist, now - ts);
	if (objects)
		__sync_fetch_and_add(&v->objects, objects);
	return 0;
}

static __always_inline __u32 slot_of(__u64 cookie)
{
	return (__u32)(cookie & GC_COOKIE_RT_MASK) * 2 +
	       ((cookie & GC_COOKIE_RUBY_SWEEP) ? 1 : 0);
}

/* python:gc__start(generation), hotspot:gc__begin(full), ruby begins. */
SEC("usdt")
int usdt_gc_begin(struct pt_regs *ctx)
{
	__u64 cookie = bpf_usdt_cookie(ctx);
	__u32 rt = cookie & GC_COOKIE_RT_MASK, gen = 0;
	long arg = 0;

	switch (rt) {
	case GC_RT_PYTHON:
		if (bpf_usdt_arg(ctx, 0, &arg))
			gc_stat_inc(GC_STAT_ARG);
		gen = clamp_gen(arg);
		break;
	case GC_RT_HOTSPOT:
		if (bpf_usdt_arg(ctx, 0, &arg))
			gc_stat_inc(GC_STAT_ARG);
		gen = arg & 0xff ? GC_HOTSPOT_FULL : GC_HOTSPOT_MINOR;
		break;
	case GC_RT_RUBY:
		gen = (cookie & GC_COOKIE_RUBY_SWEEP) ? GC_RUBY_SWEEP : GC_RUBY_MARK;
		break;
	default:
		return 0;
	}
	return pause_begin((__u32)bpf_get_current_pid_tgid(), slot_of(cookie), gen);
}

/* python:gc__done(collected), hotspot:gc__end(), ruby ends. */
SEC("usdt")
int usdt_gc_end(struct pt_regs *ctx)
{
	__u64 cookie = bpf_usdt_cookie(ctx);
	__u32 rt = cookie & GC_COOKIE_RT_MASK;
	long arg = 0;

	if (rt >= GC_RT__COUNT)
		return 0;
	if (rt == GC_RT_PYTHON && bpf_usdt_arg(ctx, 0, &arg))
		gc_stat_inc(GC_STAT_ARG);
	return pause_end((__u32)bpf_get_current_pid_tgid(), slot_of(cookie), rt,
			 arg > 0 ? (__u64)arg : 0);
}

/* Go's register ABI (Go >= 1.17) passes the first integer argument in AX
 * on x86-64 (X0 on arm64). */
#if defined(__TARGET_ARCH_x86)
#define GO_ARG0(ctx) ((ctx)->ax)
#else
#define GO_ARG0(ctx) PT_REGS_PARM1(ctx)
#endif

/* runtime.stopTheWorldWithSema(reason stwReason) (reason: Go >= 1.21). */
SEC("uprobe")
int uprobe_go_stw_stop(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 gen = GC_GO_NO_REASON;

	if (cookie & GC_COOKIE_GO_REASON)
		gen = clamp_gen((long)(GO_ARG0(ctx) & 0xff));
	return pause_begin(bpf_get_current_pid_tgid() >> 32, GC_RT_GO * 2, gen);
}

/* runtime.startTheWorldWithSema: the world runs again. */
SEC("uprobe")
int uprobe_go_stw_start(struct pt_regs *ctx)
{
	return pause_end(bpf_get_current_pid_tgid() >> 32, GC_RT_GO * 2, GC_RT_GO, 0);
}

/* No wakeup per event: waking the agent is an IPI, which cost about 35 us
 * per exec on the build VM (a VM exit); the agent drains the ring buffer
 * on a short timer instead (gcprobe.c). */
static __always_inline int notify_exec(void)
{
	struct gc_exec e = { .pid = bpf_get_current_pid_tgid() >> 32 };

	if (bpf_ringbuf_output(&gc_execs, &e, sizeof(e), BPF_RB_NO_WAKEUP))
		gc_stat_inc(GC_STAT_EXEC_LOST);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_btf_exec)
{
	return notify_exec();
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(void *ctx)
{
	return notify_exec();
}

char LICENSE[] SEC("license") = "GPL";
