/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What one uprobe hit costs on this machine, measured at start-up with an
 * empty uprobe (bpf/calib.bpf.c) on functions of bpfwatch itself, calls
 * timed with and without it.  The overhead budget of probes.functions
 * entries (funcprobe.c, budget.h) multiplies their hits by this; `make
 * bench` measures on the same functions.
 *
 * The cost depends on the probed instruction: x86 kernels emulate a few
 * (push, nop: one trap) and single-step the others out of line (a second
 * trap: 3.5x to 17x the cost on the build VMs, and endbr64, the first
 * instruction of every function built with CET, is one of them).  So
 * there is one target per kind of first instruction, and what the kernel
 * emulates is measured, never assumed.  The return probe is measured on
 * its own: on recent kernels it is cheaper than a trap.
 */
#ifndef BPFWATCH_CALIB_H
#define BPFWATCH_CALIB_H

#include <stddef.h>
#include <stdint.h>

#define CALIB_CALLS	10000	/* calls per timed run */
#define CALIB_RUNS	3	/* runs with and without the probe, best kept */

enum calib_insn {
	CALIB_PUSH = 0,	/* uprobe on `push %rbp` (frame-pointer prologue) */
	CALIB_NOP,	/* uprobe on `nop` (a USDT probe site) */
	CALIB_OTHER,	/* uprobe on `sub $8, %rsp`: what most other first
			 * instructions cost (mov, sub, endbr64...) */
	CALIB_RETURN,	/* what a uretprobe adds to a uprobe on CALIB_PUSH */
	CALIB__COUNT,
};

/* "push", "nop", "other", "return" (the `insn` label). */
const char *calib_insn__name(enum calib_insn insn);

/* The kind of the instruction at the start of @code (@len bytes, at
 * least 1): CALIB_PUSH, CALIB_NOP or CALIB_OTHER. */
enum calib_insn calib__classify(const uint8_t *code, size_t len);

/* Symbol of the target function of @insn (CALIB_RETURN: CALIB_PUSH's).
 * The targets do nothing and are never inlined. */
const char *calib__target_name(enum calib_insn insn);

/* Nanoseconds @calls calls of @insn's target take. */
uint64_t calib__time_calls(enum calib_insn insn, unsigned int calls);

/* File offset of @insn's target in /proc/self/exe, for uprobes (taken
 * from its address and /proc/self/maps: works on a stripped binary).
 * 0 or -errno. */
int calib__target_offset(enum calib_insn insn, size_t *off);

/*
 * Per-hit cost of an empty uprobe on @insn's target in ns (CALIB_RETURN:
 * what adding an empty uretprobe costs per call): best of @runs runs of
 * @calls calls with the probe attached (to this process only) minus the
 * best without.  Needs CAP_BPF and CAP_PERFMON.  0, or -errno (-ERANGE
 * when noise made the difference meaningless).
 */
int calib__uprobe_ns(enum calib_insn insn, unsigned int calls, unsigned int runs,
		     double *ns);

#endif /* BPFWATCH_CALIB_H */
