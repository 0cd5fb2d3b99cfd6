// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation tracing for `bpfwatch leaks`: uprobes on an allocator's entry
 * points (malloc, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, free) and on libc's mmap,
 * munmap and mremap, for one process.
 *
 * Pairing (the lessons of bcc's memleak): the size is saved per thread at
 * entry (`pending`), the block recorded by address at return
 * (`allocs[addr] = {size, ts, stack}`), and removed on free.  realloc and
 * mremap are a free of the old block plus an allocation; posix_memalign's
 * result is read from its out-pointer; NULL and MAP_FAILED are failures,
 * not allocations.  An allocator call made inside another one (malloc's
 * own mmap, glibc's realloc(NULL, n) calling malloc) is not counted twice:
 * the outer call owns the thread's `pending` entry and the inner one only
 * bumps its depth.  free has no return probe (it cannot fail), so an
 * munmap inside free is taken for a plain munmap: it only ever finds
 * blocks recorded by mmap itself.
 *
 * Sampling is byte-weighted (jemalloc's prof_sample): a block of s bytes is
 * taken with probability p = 1 - exp(-s / sample_interval), from a table
 * the agent fills (no floating point here), and weighs 1/p, so weighted
 * sums are unbiased.  sample_interval <= 1 takes everything with weight 1.
 * Note that sampling saves map updates and stack walks, not the uprobe
 * trap, which every call pays.
 *
 * Stacks are walked at return (see take_stack) and kept under a hash of
 * their frames.  Per-stack totals (`stack_aggs`) move on every recorded
 * allocation and free: their sum against what `allocs` still holds tells
 * the agent how many blocks the LRU evicted.
 *
 * Limits: stacks are walked with frame pointers (code without them ends a
 * stack early); partial munmaps are not followed; a free that runs in a
 * context where BPF programs cannot nest (another BPF program running on
 * the CPU) is missed and its block looks leaked.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "memleak.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#define BPF_F_USER_STACK_FLAG (1ULL << 8)

/* Keep the compiler from proving a bound the verifier cannot see. */
#define ml_barrier_var(var) asm volatile("" : "+r"(var))

const volatile __u32 target_tgid = 0;
const volatile __u64 sample_interval = 0;
/* max_entries of `allocs` (the agent may size it down before load). */
const volatile __u32 max_allocs = MEMLEAK_ALLOC_ENTRIES;
const volatile __u32 p_table[MEMLEAK_PT_SIZE] = {};

/* Allocations recorded and not freed; every insert of a new address adds
 * one, every delete takes one.  More than the map holds means the LRU
 * evicted some. */
__s64 live_allocs = 0;
/* Weighted outstanding bytes (sum of the stack_aggs wbytes). */
__s64 live_wbytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEMLEAK_ALLOC_ENTRIES);
	__type(key, __u64);
	__type(value, struct memleak_alloc);
} allocs SEC(".maps");

/* Sized by the agent before load (--max-stacks); stack_aggs has one more
 * entry, for MEMLEAK_NOSTACK. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMLEAK_STACK_ENTRIES);
	__type(key, __u64);
	__type(value, struct memleak_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MEMLEAK_STACK_ENTRIES + 1);
	__type(key, __u64);
	__type(value, struct memleak_agg);
} stack_aggs SEC(".maps");

/* Where bpf_get_stack() writes (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memleak_stack);
} stack_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MEMLEAK_PENDING_ENTRIES);
	__type(key, __u32);
	__type(value, struct memleak_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ML_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} memleak_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&memleak_stats, &idx);

	if (c)
		*c += 1;
}

/* Is the current task in the traced process?  The uprobes are attached
 * for its pid already; this guards against a pid reused by another mm. */
static __always_inline bool wanted(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/*
 * Sample a block of @size bytes?  Sets *@wcount to 1/p in fixed point.
 * p interpolates p_table linearly; the weight uses the same p, so the
 * estimate is unbiased whatever the interpolation error.
 */
static __always_inline bool sample(__u64 size, __u64 *wcount)
{
	__u64 iv = sample_interval, s = size ? size : 1, x, k, rem, p, lo, hi;

	*wcount = 1ULL << MEMLEAK_W_SHIFT;
	if (iv <= 1 || s >= iv * MEMLEAK_PT_SPAN)
		return true;
	x = s * MEMLEAK_PT_STEPS;
	k = x / iv;
	rem = x - k * iv;
	if (k >= MEMLEAK_PT_SIZE - 1)
		return true;
	ml_barrier_var(k);
	if (k >= MEMLEAK_PT_SIZE - 1)
		return true;
	lo = p_table[k];
	hi = p_table[k + 1];
	p = lo + (hi > lo ? (hi - lo) * rem / iv : 0);
	if (!p)
		p = 1;
	if (p <= 0xffffffffULL && (__u64)bpf_get_prandom_u32() >= p)
		return false;
	*wcount = (1ULL << (32 + MEMLEAK_W_SHIFT)) / p;
	return true;
}

static __always_inline void agg_add(__u64 key, __s64 sign, __u64 size,
				    __u64 wbytes, __u64 wcount)
{
	struct memleak_agg *a, zero = {};

	a = bpf_map_lookup_elem(&stack_aggs, &key);
	if (!a) {
		/* take_stack() made room for it; NOSTACK may come first */
		bpf_map_update_elem(&stack_aggs, &key, &zero, BPF_NOEXIST);
		a = bpf_map_lookup_elem(&stack_aggs, &key);
		if (!a)
			return;
	}
	__sync_fetch_and_add(&a->bytes, sign * (__s64)size);
	__sync_fetch_and_add(&a->count, sign);
	__sync_fetch_and_add(&a->wbytes, sign * (__s64)wbytes);
	__sync_fetch_and_add(&a->wcount, sign * (__s64)wcount);
	__sync_fetch_and_add(&live_wbytes, sign * (__s64)wbytes);
}

/* Forget the block at @addr.  @lost: count it when it is not recorded
 * (a free; not realloc's old block, which glibc may have freed through
 * free() already). */
static __always_inline void free_addr(__u64 addr, bool lost)
{
	struct memleak_alloc *a, copy;

	if (!addr)
		return;
	a = bpf_map_lookup_elem(&allocs, &addr);
	if (!a) {
		if (lost)
			stat_inc(ML_STAT_LOST_FREE);
		return;
	}
	copy = *a;
	if (bpf_map_delete_elem(&allocs, &addr))
		return;		/* another thread freed it first */
	__sync_fetch_and_add(&live_allocs, -1);
	agg_add(copy.stack_key, -1, copy.size, copy.wbytes, copy.wcount);
	stat_inc(ML_STAT_FREES);
}

/*
 * The user stack of a sampled allocation, taken at return: the stack walk
 * follows frame pointers from the registers, and at a function's first
 * instruction the caller's frame is not linked yet (its return address is
 * only at the top of the stack), so a walk from the entry skips the very
 * function that called malloc.  At return the registers are the caller's.
 *
 * Kept under a 64-bit FNV-1a hash of its frames (our own stack map: no
 * bucket collisions; two stacks with one 64-bit hash are not expected).
 * Returns the key, or MEMLEAK_NOSTACK when the stack could not be taken
 * or kept.
 */
static __always_inline __u64 take_stack(struct pt_regs *ctx)
{
	struct memleak_agg zero = {};
	struct memleak_stack *st;
	__u32 idx = 0;
	__u64 h = 0xcbf29ce484222325ULL;
	long n, err;

	st = bpf_map_lookup_elem(&stack_buf, &idx);
	if (!st)
		return MEMLEAK_NOSTACK;
	/* the kernel zeroes what it does not fill */
	n = bpf_get_stack(ctx, st->ips, sizeof(st->ips), BPF_F_USER_STACK_FLAG);
	if (n <= 0) {
		stat_inc(ML_STAT_STACK_ERR);
		return MEMLEAK_NOSTACK;
	}
	for (int i = 0; i < MEMLEAK_STACK_DEPTH; i++) {
		if (!st->ips[i])
			break;
		h = (h ^ st->ips[i]) * 0x100000001b3ULL;
	}
	if (h == MEMLEAK_NOSTACK)
		h = 1;
	if (bpf_map_lookup_elem(&stacks, &h))
		return h;
	err = bpf_map_update_elem(&stacks, &h, st, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		stat_inc(ML_STAT_STACK_FULL);
		return MEMLEAK_NOSTACK;
	}
	err = bpf_map_update_elem(&stack_aggs, &h, &zero, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		stat_inc(ML_STAT_STACK_FULL);
		return MEMLEAK_NOSTACK;
	}
	return h;
}

static __always_inline void record(__u64 addr, __u64 stack_key,
				   const struct memleak_pending *p)
{
	struct memleak_alloc a = {
		.size = p->size,
		.ts = bpf_ktime_get_ns(),
		.wbytes = p->wbytes,
		.wcount = p->wcount,
		.stack_key = stack_key,
	};
	struct memleak_alloc *old;

	old = bpf_map_lookup_elem(&allocs, &addr);
	if (old) {
		/* Handed out again without a free we saw. */
		stat_inc(ML_STAT_REPLACED);
		free_addr(addr, false);
	}
	if (bpf_map_update_elem(&allocs, &addr, &a, BPF_NOEXIST)) {
		stat_inc(ML_STAT_INSERT_FAIL);
		return;
	}
	if (__sync_fetch_and_add(&live_allocs, 1) >= max_allocs) {
		/* The LRU made room by dropping an older block. */
		stat_inc(ML_STAT_EVICTED);
		__sync_fetch_and_add(&live_allocs, -1);
	}
	agg_add(a.stack_key, 1, a.size, a.wbytes, a.wcount);
	stat_inc(ML_STAT_ALLOCS);
}

/* Entry of an allocator call of @kind asking for @size bytes. */
static __always_inline int alloc_enter(struct pt_regs *ctx, __u16 kind, __u64 size,
				       __u64 old, __u64 memptr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct memleak_pending *p, n = {};

	if (!wanted())
		return 0;
	stat_inc(ML_STAT_CALLS);
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p) {
		if (p->depth < 255)
			p->depth++;
		stat_inc(ML_STAT_NESTED);
		return 0;
	}
	n.size = size;
	n.old = old;
	n.memptr = memptr;
	n.kind = kind;
	n.sampled = sample(size, &n.wcount);
	if (n.sampled)
		n.wbytes = (size * n.wcount) >> MEMLEAK_W_SHIFT;
	if (bpf_map_update_elem(&pending, &tid, &n, BPF_ANY))
		stat_inc(ML_STAT_PENDING_FULL);
	return 0;
}

/* Return of any allocator call (one program for every kind: the kind is
 * in the pending entry). */
SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct memleak_pending *p, c;
	__u64 addr = (__u64)ret;
	bool failed;

	if (!wanted())
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p) {
		stat_inc(ML_STAT_MISSING);
		return 0;
	}
	if (p->depth) {
		p->depth--;
		return 0;
	}
	c = *p;
	bpf_map_delete_elem(&pending, &tid);
	switch (c.kind) {
	case ML_POSIX_MEMALIGN:
		failed = ret != 0;
		addr = 0;
		if (!failed && bpf_probe_read_user(&addr, sizeof(addr),
						   (void *)c.memptr))
			return 0;
		break;
	case ML_MMAP:
	case ML_MREMAP:
		failed = ret == -1;
		break;
	default:
		/* realloc(p, 0) frees p and may return NULL: not a failure */
		failed = ret == 0 && !(c.kind == ML_REALLOC && c.size == 0);
		break;
	}
	if ((c.kind == ML_REALLOC || c.kind == ML_MREMAP) && !failed)
		free_addr(c.old, false);
	if (failed) {
		stat_inc(ML_STAT_FAILED);
		return 0;
	}
	if (!addr)
		return 0;
	if (!c.sampled) {
		stat_inc(ML_STAT_UNSAMPLED);
		return 0;
	}
	record(addr, take_stack(ctx), &c);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, __u64 size)		/* also valloc, pvalloc */
{
	return alloc_enter(ctx, ML_MALLOC, size, 0, 0);
}

/* nmemb * size, or ~0 on overflow (the call then fails and is counted as
 * failed).  The barrier keeps clang from turning the check into a 128-bit
 * multiply, which BPF does not have. */
static __always_inline __u64 mul_sat(__u64 nmemb, __u64 size)
{
	__u64 lim;

	if (!nmemb)
		return 0;
	lim = ~0ULL / nmemb;
	ml_barrier_var(lim);
	return size > lim ? ~0ULL : nmemb * size;
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, __u64 nmemb, __u64 size)
{
	return alloc_enter(ctx, ML_MALLOC, mul_sat(nmemb, size), 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, __u64 ptr, __u64 size)
{
	return alloc_enter(ctx, ML_REALLOC, size, ptr, 0);
}

SEC("uprobe")
int BPF_KPROBE(reallocarray_enter, __u64 ptr, __u64 nmemb, __u64 size)
{
	return alloc_enter(ctx, ML_REALLOC, mul_sat(nmemb, size), ptr, 0);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, __u64 memptr, __u64 align, __u64 size)
{
	return alloc_enter(ctx, ML_POSIX_MEMALIGN, size, 0, memptr);
}

SEC("uprobe")
int BPF_KPROBE(memalign_enter, __u64 align, __u64 size)	/* aligned_alloc */
{
	return alloc_enter(ctx, ML_MALLOC, size, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(mmap_enter, __u64 addr, __u64 len)
{
	return alloc_enter(ctx, ML_MMAP, len, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(mremap_enter, __u64 old, __u64 old_len, __u64 new_len)
{
	return alloc_enter(ctx, ML_MREMAP, new_len, old, 0);
}

SEC("uprobe")
int BPF_KPROBE(free_enter, __u64 ptr)
{
	if (!wanted())
		return 0;
	stat_inc(ML_STAT_CALLS);
	free_addr(ptr, true);
	return 0;
}

/* munmap of a whole block mmap returned; partial unmaps are not followed.
 * Inside an allocator call it is the allocator's own business. */
SEC("uprobe")
int BPF_KPROBE(munmap_enter, __u64 addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!wanted())
		return 0;
	stat_inc(ML_STAT_CALLS);
	if (bpf_map_lookup_elem(&pending, &tid)) {
		stat_inc(ML_STAT_NESTED);
		return 0;
	}
	free_addr(addr, false);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
