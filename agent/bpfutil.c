// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the probe families (see bpfutil.h). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"

uint64_t bw_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t bw_percpu_sum(int fd, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0, *vals;

	if (fd < 0 || ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (bpf_map_lookup_elem(fd, &idx, vals) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

bool bw_prog_runs(const struct bpf_program *prog, uint64_t *cnt, uint64_t *ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(prog);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	*cnt = info.run_cnt;
	*ns = info.run_time_ns;
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int bw_sync_u32_set(int fd, const uint32_t *want, size_t n)
{
	uint32_t key, next, *stale = NULL;
	size_t nstale = 0, cap = 0;
	__u8 one = 1;
	int more;

	/* Collect first, delete after: deleting while walking can restart
	 * the walk. */
	more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more) {
		key = next;
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (n && bsearch(&key, want, n, sizeof(*want), cmp_u32))
			continue;
		if (nstale == cap) {
			uint32_t *v = reallocarray(stale, cap ? cap * 2 : 64, sizeof(*v));

			if (!v) {
				free(stale);
				return -ENOMEM;
			}
			stale = v;
			cap = cap ? cap * 2 : 64;
		}
		stale[nstale++] = key;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	free(stale);
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &want[i], &one, BPF_ANY))
			return 1;
	return 0;
}
