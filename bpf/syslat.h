/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Syscall latency: types shared by syslat.bpf.c and the agent. */
#ifndef BPFWATCH_SYSLAT_H
#define BPFWATCH_SYSLAT_H

#ifndef BW_COMM_LEN
#define BW_COMM_LEN 16
#endif

struct sys_key {
	__u64 cgroup_id;
	__u32 nr;
	__u32 pad;
	char comm[BW_COMM_LEN];
};

/* Per-thread state between sys_enter and sys_exit. */
struct sys_start {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

#endif /* BPFWATCH_SYSLAT_H */
