/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers every probe family needs: the monotonic clock the agent
 * keeps time with, per-CPU counters summed, a program's run statistics.
 */
#ifndef BPFWATCH_BPFUTIL_H
#define BPFWATCH_BPFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_program;

/* CLOCK_MONOTONIC in ns (the clock bpf_ktime_get_ns() reads). */
uint64_t bw_mono_ns(void);

/* Sum over CPUs of the u64 at @idx of the per-CPU array @fd; 0 when the
 * map is missing or the lookup fails. */
uint64_t bw_percpu_sum(int fd, uint32_t idx);

/* run_cnt and run_time_ns of a loaded @prog (BPF stats; zero while they
 * are off).  false when it is not loaded. */
bool bw_prog_runs(const struct bpf_program *prog, uint64_t *cnt, uint64_t *ns);

/*
 * Bring the set of u32 keys (tgids) in hash map @fd in line with the sorted
 * array @want[@n]: keys not wanted are deleted, wanted ones inserted (u8
 * value 1).  Returns 0, 1 when the map filled up before every wanted key
 * was in (the caller counts it), or -ENOMEM.
 */
int bw_sync_u32_set(int fd, const uint32_t *want, size_t n);

#endif /* BPFWATCH_BPFUTIL_H */
