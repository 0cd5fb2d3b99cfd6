// SPDX-License-Identifier: GPL-2.0
/*
 * Resident memory per process from the kmem:rss_stat tracepoint, which the
 * kernel fires on every change of an mm's RSS counters (add_mm_counter():
 * page faults, unmaps, swap-out, exit).  Nothing is sent to user space: the
 * map holds the current counters of each address space and the agent reads
 * it every tick (see memstat.h for why the key is the mm).
 *
 * Three variants, the agent loads one:
 *   tp_btf_   the mm pointer is a trusted argument: all four counters are
 *             read from mm->rss_stat at every event, so an entry is always
 *             complete; events that change nothing this CPU has not already
 *             recorded return early (mem_last);
 *   raw_tp_   the same through bpf_probe_read_kernel();
 *   tp_kmem_  the tracepoint's record only: the one member that changed
 *             (and all four when the mm is current's, read from current).
 *
 * Time is kept in jiffies: bpf_ktime_get_ns() costs ~50 ns per event on
 * these VMs, bpf_jiffies64() a load; the agent only needs an order between
 * entries and to notice idle ones.
 *
 * The counters are percpu_counters: ->count is what get_mm_counter()
 * returns (percpu_counter_read_positive), exact to within the per-CPU
 * batch (32 pages per CPU here); /proc/PID/status reports the same value.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "memstat.h"

/* Set by the agent before load (sysconf(_SC_PAGESIZE)). */
const volatile __u32 page_shift = 12;

/* mm -> counters.  Sized by probes.memory.max_entries; a full map loses
 * the event (BW_STAT_HIST_FULL).  Entries are freed by the agent when
 * their process is gone. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mem_val);
} mem_rss SEC(".maps");

static __always_inline __u64 pages_to_bytes(__s64 pages)
{
	return pages > 0 ? (__u64)pages << page_shift : 0;
}

/*
 * The entry for @key, created if absent.  @curr: the event comes from a
 * task whose mm it is, so @tgid owns it, unless that task is a vfork
 * child (@vfork) borrowing its parent's mm until it execs.  An owned
 * entry seen from another owner is an mm freed and reallocated to another
 * process before the agent freed the entry: it changes hands.  NULL when
 * the event is not to be recorded (filtered, or map full and counted).
 */
static __always_inline struct mem_val *entry(__u64 key, bool curr, __u32 tgid,
					     bool vfork)
{
	struct mem_val *v = bpf_map_lookup_elem(&mem_rss, &key);
	struct mem_val zero = {};
	long err;

	if (v) {
		if (curr && !vfork && v->tgid != tgid) {
			if (!bw_wanted(tgid)) {
				bpf_map_delete_elem(&mem_rss, &key);
				return NULL;
			}
			v->tgid = tgid;
			v->seen = 0;
		}
		return v;
	}
	if (curr ? !bw_wanted(tgid) : filter_tgid) {
		/* without an owner, a filtered probe cannot tell: skip */
		if (!curr)
			bw_stat_inc(BW_STAT_FILTERED);
		return NULL;
	}
	zero.tgid = curr && !vfork ? tgid : 0;
	err = bpf_map_update_elem(&mem_rss, &key, &zero, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		bw_stat_inc(BW_STAT_HIST_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&mem_rss, &key);
}

/*
 * The counters last written to the map for an mm, in a small direct-mapped
 * table (slot from the running tgid).  The shared value of a percpu_counter
 * moves only when a CPU's local delta passes the batch (32 pages here), so
 * most events find the four counters exactly as last written: those
 * return after an array lookup, before the hash lookup that is the bulk of
 * the cost.  The table is global, not per CPU, on purpose: a skipped event
 * must be one whose values the map already holds, whichever CPU wrote
 * them (a per-CPU memory could skip a return to an old state after another
 * CPU wrote a newer one, and leave the map wrong while the process idles).
 * Two CPUs writing the same mm at once may leave the slot one batch
 * behind the map until the next change: within the counter's own error.
 * Skipped events miss the timestamp (jiffies, only used to order entries
 * and age unowned ones) and the owner check (done at the next real
 * change).  All-zero counters are never remembered: a torn-down mm ends
 * there and a new mm reusing its address starts there, and that one must
 * get its entry (and owner) at once.  The agent clears the table after it
 * frees entries, so a freed entry is made again at its mm's next event.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MEM_LAST_SLOTS);
	__type(key, __u32);
	__type(value, struct mem_last);
} mem_last SEC(".maps");

SEC("tp_btf/rss_stat")
int BPF_PROG(tp_btf_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__s64 file = mm->rss_stat[MEM_FILE].count;
	__s64 anon = mm->rss_stat[MEM_ANON].count;
	__s64 swap = mm->rss_stat[MEM_SWAP].count;
	__s64 shmem = mm->rss_stat[MEM_SHMEM].count;
	/* by the running process (the verifier allows no arithmetic on the
	 * mm pointer): most events are its own page faults */
	__u32 slot = task->tgid & (MEM_LAST_SLOTS - 1);
	struct mem_last *last;
	struct mem_val *v;

	last = bpf_map_lookup_elem(&mem_last, &slot);
	if (last && last->mm == (__u64)mm && last->count[MEM_FILE] == file &&
	    last->count[MEM_ANON] == anon && last->count[MEM_SWAP] == swap &&
	    last->count[MEM_SHMEM] == shmem)
		return 0;
	v = entry((__u64)mm, task->mm == mm, task->tgid, task->vfork_done != NULL);
	if (!v)
		return 0;
	v->bytes[MEM_FILE] = pages_to_bytes(file);
	v->bytes[MEM_ANON] = pages_to_bytes(anon);
	v->bytes[MEM_SWAP] = pages_to_bytes(swap);
	v->bytes[MEM_SHMEM] = pages_to_bytes(shmem);
	v->seen = MEM_SEEN_ALL;
	v->last_jiffies = bpf_jiffies64();
	if (last && (file | anon | swap | shmem)) {
		last->mm = (__u64)mm;
		last->count[MEM_FILE] = file;
		last->count[MEM_ANON] = anon;
		last->count[MEM_SWAP] = swap;
		last->count[MEM_SHMEM] = shmem;
	}
	return 0;
}

/* All four counters of @mm (a kernel pointer read with probe_read). */
static __always_inline void read_all(struct mem_val *v, struct mm_struct *mm)
{
	v->bytes[MEM_FILE] = pages_to_bytes(BPF_CORE_READ(mm, rss_stat[MEM_FILE].count));
	v->bytes[MEM_ANON] = pages_to_bytes(BPF_CORE_READ(mm, rss_stat[MEM_ANON].count));
	v->bytes[MEM_SWAP] = pages_to_bytes(BPF_CORE_READ(mm, rss_stat[MEM_SWAP].count));
	v->bytes[MEM_SHMEM] = pages_to_bytes(BPF_CORE_READ(mm, rss_stat[MEM_SHMEM].count));
	v->seen = MEM_SEEN_ALL;
}

SEC("raw_tp/rss_stat")
int BPF_PROG(raw_tp_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mem_val *v;

	v = entry((__u64)mm, BPF_CORE_READ(task, mm) == mm,
		  bpf_get_current_pid_tgid() >> 32, BPF_CORE_READ(task, vfork_done) != NULL);
	if (!v)
		return 0;
	read_all(v, mm);
	v->last_jiffies = bpf_jiffies64();
	return 0;
}

SEC("tracepoint/kmem/rss_stat")
int tp_kmem_rss_stat(struct trace_event_raw_rss_stat *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 member = ctx->member;
	struct mem_val *v;

	v = entry(ctx->mm_id, ctx->curr, bpf_get_current_pid_tgid() >> 32,
		  ctx->curr && BPF_CORE_READ(task, vfork_done) != NULL);
	if (!v)
		return 0;
	if (ctx->curr) {
		read_all(v, BPF_CORE_READ(task, mm));
	} else if (member < MEM_MEMBERS) {
		v->bytes[member] = ctx->size > 0 ? ctx->size : 0;
		v->seen |= 1U << member;
	}
	v->last_jiffies = bpf_jiffies64();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
