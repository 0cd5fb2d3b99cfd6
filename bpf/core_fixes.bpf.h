/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CO-RE shims for kernel structure changes, each naming the change. */
#ifndef BPFWATCH_CORE_FIXES_BPF_H
#define BPFWATCH_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * Kernel 5.14 (commit 2f064a59a11f "sched: Change task_struct::state")
 * renamed task_struct::state to __state and made it unsigned int.
 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __s64 bw_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

/* The same for a trusted (tp_btf) task pointer: plain loads. */
static __always_inline __s64 bw_task_state_btf(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___o *)task)->state;
}

/*
 * Kernel 5.17 (commit f3fa33acca9f "block: remove the ->rq_disk field in
 * struct request") moved the disk to request->q->disk.
 */
struct request___x {
	struct request_queue *q;
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *bw_rq_disk(void *rq)
{
	struct request___x *r = rq;

	if (bpf_core_field_exists(r->rq_disk))
		return BPF_CORE_READ(r, rq_disk);
	return BPF_CORE_READ(r, q, disk);
}

#endif /* BPFWATCH_CORE_FIXES_BPF_H */
