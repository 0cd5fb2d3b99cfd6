/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probing: every attach type bpfwatch may use is tried for
 * real at start-up (load a trivial program, attach it, detach it), never
 * inferred from the kernel version.  Probes then pick their variant from
 * the result: tp_btf > raw_tp > tracepoint, fentry > kprobe.
 */
#ifndef BPFWATCH_KFEATURES_H
#define BPFWATCH_KFEATURES_H

#include <stdbool.h>

enum feature {
	FEAT_TP_BTF = 0,
	FEAT_RAW_TP,
	FEAT_TRACEPOINT,
	FEAT_FENTRY,
	FEAT_KPROBE,
	FEAT_UPROBE,
	FEAT_USDT,
	FEAT_RINGBUF,
	FEAT_BPF_STATS,
	FEAT__COUNT,
};

struct features {
	bool ok[FEAT__COUNT];
	/* Why a feature is missing ("" when ok): one line, no period. */
	char reason[FEAT__COUNT][160];
};

const char *feature__name(enum feature f);
/* Probe everything; never fails (a feature that cannot be tried is
 * reported missing with the reason). */
void features__probe(struct features *f);

/* Make sure tracefs is mounted (tracepoint attach needs it); mounts it at
 * /sys/kernel/tracing when absent.  0 or -errno with @why filled. */
int tracefs__ensure(char *why, size_t len);

#endif /* BPFWATCH_KFEATURES_H */
