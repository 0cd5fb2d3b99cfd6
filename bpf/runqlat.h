/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Run-queue latency: types shared by runqlat.bpf.c and the agent. */
#ifndef BPFWATCH_RUNQLAT_H
#define BPFWATCH_RUNQLAT_H

#ifndef BW_COMM_LEN
#define BW_COMM_LEN 16
#endif

/* Histogram key: the task that waited, by cgroup (v2 id) and comm. */
struct runq_key {
	__u64 cgroup_id;
	char comm[BW_COMM_LEN];
};

#endif /* BPFWATCH_RUNQLAT_H */
