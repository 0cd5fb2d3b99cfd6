// SPDX-License-Identifier: GPL-2.0
/*
 * Function latency for the probes.functions entries: user functions
 * (uprobe + uretprobe), USDT probes (count-only, or a begin/end pair) and
 * kernel functions (fentry/fexit, else kprobe/kretprobe).  One object
 * serves every entry; the entry's id comes with the attach cookie.
 *
 * Timing is per thread on a bounded stack of calls in flight, so nested
 * and recursive calls are each timed from their own entry:
 *   call_stack  uprobe frames, matched by stack pointer: the uretprobe of
 *               a call entered with sp S fires with sp S + 8 (x86-64: the
 *               return address was popped), and looks for its entry among
 *               the frames entered at S (several entries may probe one
 *               function).  Frames deeper than that were skipped by
 *               longjmp (or an exception) and are dropped as lost, at the
 *               next return or at the next entry from a shallower frame.
 *   pair_stack  USDT begin/end pairs and kernel functions, matched by id:
 *               an end closes the innermost open begin of the same id.
 * Both are LRU maps keyed by thread id, so exited threads age out.
 *
 * Results: func_hist (timed kinds; the histogram count is the number of
 * timed calls), func_calls (count-only USDT probes) and func_hits (traps
 * per entry: what the overhead budget is computed from).
 *
 * Limitation: frames are ordered by stack address, so functions running
 * on another stack of the same thread (coroutines, sigaltstack) confuse
 * the uprobe stack; what is dropped is counted in funclat_stats.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "common.bpf.h"
#include "funclat.h"

#define DEPTH_MASK (FUNCLAT_MAX_DEPTH - 1)
_Static_assert((FUNCLAT_MAX_DEPTH & DEPTH_MASK) == 0,
	       "FUNCLAT_MAX_DEPTH must be a power of two");

/* fentry/fexit objects serve one entry each: its id, set before load. */
const volatile __u32 kfunc_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FUNCLAT_STACK_ENTRIES);
	__type(key, __u32);
	__type(value, struct func_stack);
} call_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FUNCLAT_STACK_ENTRIES);
	__type(key, __u32);
	__type(value, struct func_stack);
} pair_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FUNCLAT_HIST_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct func_key);
	__type(value, struct hist);
} func_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FUNCLAT_CALLS_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct func_key);
	__type(value, struct func_count);
} func_calls SEC(".maps");

/* func id -> 1 when the entry has a target set (func_targets decides). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FUNCLAT_MAX_FUNCS);
	__type(key, __u32);
	__type(value, __u8);
} func_filtered SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FUNCLAT_TARGET_ENTRIES);
	__type(key, struct func_target);
	__type(value, __u8);
} func_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} funclat_stats SEC(".maps");

/* func id -> traps: runs of its programs, before any filter (uprobes:
 * returns only, i.e. calls).  The agent's overhead budget turns these
 * into CPU time. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FUNCLAT_MAX_FUNCS);
	__type(key, __u32);
	__type(value, __u64);
} func_hits SEC(".maps");

/* Zeroed stack used to create new map entries (too big for the stack). */
static struct func_stack zero_stack;

static __always_inline void fl_stat_add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&funclat_stats, &idx);

	if (c)
		*c += n;
}

/* Count one run of a program of entry @id; returns @id. */
static __always_inline __u32 fl_hit(__u32 id)
{
	__u64 *c = bpf_map_lookup_elem(&func_hits, &id);

	if (c)
		*c += 1;
	return id;
}

/* True when entry @id traces @tgid; an id out of range is never wanted.
 * @count: count a refusal in BW_STAT_FILTERED (entries only, so a call
 * is counted once). */
static __always_inline bool fl_wanted(__u32 id, __u32 tgid, bool count)
{
	struct func_target t = { .func_id = id, .tgid = tgid };
	__u8 *filtered = bpf_map_lookup_elem(&func_filtered, &id);

	if (!filtered)
		return false;
	if (!*filtered || bpf_map_lookup_elem(&func_targets, &t))
		return true;
	if (count)
		bw_stat_inc(BW_STAT_FILTERED);
	return false;
}

/* Stack key: the thread id; idle tasks (pid 0 on every CPU, seen by
 * kernel functions called from interrupts) get one key per CPU. */
static __always_inline __u32 stack_key(__u64 pid_tgid)
{
	__u32 tid = (__u32)pid_tgid;

	return tid ? tid : 0x80000000U | bpf_get_smp_processor_id();
}

static __always_inline struct func_stack *stack_get(void *map, __u32 key)
{
	struct func_stack *st;
	long err;

	st = bpf_map_lookup_elem(map, &key);
	if (st)
		return st;
	err = bpf_map_update_elem(map, &key, &zero_stack, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		bw_stat_inc(BW_STAT_START_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(map, &key);
}

/* frames[i] with a bound the verifier sees (the compiler would drop a
 * mask it can prove redundant). */
static __always_inline struct func_frame *frame_at(struct func_stack *st, __u32 i)
{
	bw_barrier_var(i);
	return &st->frames[i & DEPTH_MASK];
}

static __always_inline __u32 stack_depth(const struct func_stack *st)
{
	__u32 d = st->depth;

	return d > FUNCLAT_MAX_DEPTH ? FUNCLAT_MAX_DEPTH : d;
}

static __always_inline void record(__u32 id, __u64 delta)
{
	struct func_key key = {};
	struct hist *h;

	if ((__s64)delta < 0)
		return;
	key.cgroup_id = bpf_get_current_cgroup_id();
	key.func_id = id;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	h = bw_hist_get(&func_hist, &key);
	if (h)
		bw_hist_record(h, delta);
}

/* ---- uprobe frames, matched by stack pointer ------------------------- */

/* Remove frames[idx] of a stack holding @d frames, keeping the order of
 * the ones above it; returns the new depth. */
static __always_inline __u32 stack_remove(struct func_stack *st, __u32 idx, __u32 d)
{
	for (__u32 j = 0; j < FUNCLAT_MAX_DEPTH - 1; j++) {
		if (j < idx)
			continue;
		if (j + 1 >= d)
			break;
		*frame_at(st, j) = *frame_at(st, j + 1);
	}
	return d - 1;
}

/* Drop the frames deeper than @sp (their calls were left by a longjmp)
 * from the top of a stack holding @d frames; returns the new depth and
 * counts them in *@lost. */
static __always_inline __u32 drop_deeper(struct func_stack *st, __u32 d, __u64 sp,
					 __u32 *lost)
{
	for (int i = 0; i < FUNCLAT_MAX_DEPTH; i++) {
		if (d == 0 || frame_at(st, d - 1)->sp >= sp)
			break;
		d--;
		(*lost)++;
	}
	return d;
}

/* Index of the frame of @id among the top frames entered at @sp (one
 * level: several entries on one function, or a chain of tail calls), or
 * FUNCLAT_MAX_DEPTH. */
static __always_inline __u32 find_level(struct func_stack *st, __u32 d, __u64 sp,
					__u32 id)
{
	for (__u32 i = 0; i < FUNCLAT_MAX_DEPTH; i++) {
		struct func_frame *f;
		__u32 j = d - 1 - i;

		if (i >= d)
			break;
		f = frame_at(st, j);
		if (f->sp != sp)
			break;
		if (f->func_id == id)
			return j;
	}
	return FUNCLAT_MAX_DEPTH;
}

/*
 * Push a call of @id entered with stack pointer @sp.  A frame deeper than
 * @sp cannot belong to a caller, nor can a frame of the same entry at the
 * same sp (it would be this very call): those calls ended without a
 * return (longjmp) and are dropped as lost, with every frame pushed after
 * them.
 */
static __always_inline int call_push(__u32 id, __u64 sp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct func_stack *st;
	struct func_frame *f;
	__u32 d, j, lost = 0;

	if (!fl_wanted(id, pid_tgid >> 32, true))
		return 0;
	st = stack_get(&call_stack, stack_key(pid_tgid));
	if (!st)
		return 0;
	d = drop_deeper(st, stack_depth(st), sp, &lost);
	j = find_level(st, d, sp, id);
	if (j < d) {
		lost += d - j;
		d = j;
	}
	if (lost)
		fl_stat_add(FL_STAT_LOST, lost);
	if (d >= FUNCLAT_MAX_DEPTH) {
		st->depth = d;
		st->skipped++;
		fl_stat_add(FL_STAT_DEPTH, 1);
		return 0;
	}
	f = frame_at(st, d);
	f->func_id = id;
	f->sp = sp;
	f->ts = bpf_ktime_get_ns();
	st->depth = d + 1;
	return 0;
}

/*
 * Pop the call of @id returning with stack pointer @sp (its entry sp was
 * sp - 8) and time it.  Frames deeper than that are dropped as lost; the
 * frame is searched among those entered at the same sp, since several
 * entries on one function return in no particular order.
 */
static __always_inline int call_pop(__u32 id, __u64 sp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns(), ts = 0;
	struct func_stack *st;
	__u32 d, j, key, lost = 0;
	bool found = false;

	if (!fl_wanted(id, pid_tgid >> 32, false))
		return 0;
	key = stack_key(pid_tgid);
	st = bpf_map_lookup_elem(&call_stack, &key);
	if (!st) {
		fl_stat_add(FL_STAT_MISSING, 1);
		return 0;
	}
	sp -= 8;
	d = drop_deeper(st, stack_depth(st), sp, &lost);
	j = find_level(st, d, sp, id);
	if (j < d) {
		ts = frame_at(st, j)->ts;
		found = true;
		d = stack_remove(st, j, d);
	}
	st->depth = d;
	if (lost)
		fl_stat_add(FL_STAT_LOST, lost);
	if (found) {
		/* Calls nested past the limit are over too. */
		st->skipped = 0;
		record(id, now - ts);
	} else if (st->skipped) {
		st->skipped--;
	} else {
		fl_stat_add(FL_STAT_MISSING, 1);
	}
	return 0;
}

/* ---- USDT pairs and kernel functions, matched by id ------------------- */

/* Open a begin of @id.  On a full stack the oldest open begin (most
 * likely one whose end never came) is dropped as lost. */
static __always_inline int pair_push(__u32 id, __u64 sp)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct func_stack *st;
	struct func_frame *f;
	__u32 d;

	if (!fl_wanted(id, pid_tgid >> 32, true))
		return 0;
	st = stack_get(&pair_stack, stack_key(pid_tgid));
	if (!st)
		return 0;
	d = stack_depth(st);
	if (d >= FUNCLAT_MAX_DEPTH) {
		d = stack_remove(st, 0, FUNCLAT_MAX_DEPTH);
		fl_stat_add(FL_STAT_LOST, 1);
	}
	f = frame_at(st, d);
	f->func_id = id;
	f->sp = sp;
	f->ts = bpf_ktime_get_ns();
	st->depth = d + 1;
	return 0;
}

/* Close the innermost open begin of @id and time it; begins opened after
 * it (overlapping pairs) stay open. */
static __always_inline int pair_pop(__u32 id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns(), ts;
	struct func_stack *st;
	__u32 d, key, idx = FUNCLAT_MAX_DEPTH;

	if (!fl_wanted(id, pid_tgid >> 32, false))
		return 0;
	key = stack_key(pid_tgid);
	st = bpf_map_lookup_elem(&pair_stack, &key);
	if (!st) {
		fl_stat_add(FL_STAT_MISSING, 1);
		return 0;
	}
	d = stack_depth(st);
	for (__u32 i = 0; i < FUNCLAT_MAX_DEPTH; i++) {
		__u32 j = d - 1 - i;

		if (i >= d)
			break;
		if (frame_at(st, j)->func_id == id) {
			idx = j;
			break;
		}
	}
	if (idx >= FUNCLAT_MAX_DEPTH) {
		fl_stat_add(FL_STAT_MISSING, 1);
		return 0;
	}
	ts = frame_at(st, idx)->ts;
	st->depth = stack_remove(st, idx, d);
	record(id, now - ts);
	return 0;
}

/* ---- count-only USDT -------------------------------------------------- */

static __always_inline int count(__u32 id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct func_count *c, zero = {};
	struct func_key key = {};
	long err;

	if (!fl_wanted(id, pid_tgid >> 32, true))
		return 0;
	key.cgroup_id = bpf_get_current_cgroup_id();
	key.func_id = id;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	c = bpf_map_lookup_elem(&func_calls, &key);
	if (!c) {
		err = bpf_map_update_elem(&func_calls, &key, &zero, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			fl_stat_add(FL_STAT_CALLS_FULL, 1);
			return 0;
		}
		c = bpf_map_lookup_elem(&func_calls, &key);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->calls, 1);
	c->last_ns = bpf_ktime_get_ns();
	return 0;
}

/* ---- programs --------------------------------------------------------- */

SEC("uprobe")
int BPF_KPROBE(uprobe_entry)
{
	return call_push((__u32)bpf_get_attach_cookie(ctx), PT_REGS_SP(ctx));
}

/* A uprobe entry's hits are counted on return only (one per call): its
 * return probe is detached last, so it also sees the calls that still
 * trapped while the entry probe was being detached. */
SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_return)
{
	return call_pop(fl_hit((__u32)bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("usdt")
int usdt_count(struct pt_regs *ctx)
{
	return count(fl_hit((__u32)bpf_usdt_cookie(ctx)));
}

SEC("usdt")
int usdt_begin(struct pt_regs *ctx)
{
	return pair_push(fl_hit((__u32)bpf_usdt_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("usdt")
int usdt_end(struct pt_regs *ctx)
{
	return pair_pop(fl_hit((__u32)bpf_usdt_cookie(ctx)));
}

SEC("kprobe")
int BPF_KPROBE(kprobe_entry)
{
	return pair_push(fl_hit((__u32)bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("kretprobe")
int BPF_KRETPROBE(kretprobe_return)
{
	return pair_pop(fl_hit((__u32)bpf_get_attach_cookie(ctx)));
}

/* Attach target set per object with bpf_program__set_attach_target(). */
SEC("fentry")
int BPF_PROG(fentry_entry)
{
	return pair_push(fl_hit(kfunc_id), 0);
}

SEC("fexit")
int BPF_PROG(fexit_return)
{
	return pair_pop(fl_hit(kfunc_id));
}

char LICENSE[] SEC("license") = "GPL";
