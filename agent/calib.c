// SPDX-License-Identifier: GPL-2.0
/*
 * Uprobe cost calibration (see calib.h).
 *
 * The targets are written in assembly so that the probed instruction is
 * the same whatever the compiler and its flags.  Of the runs with and
 * without the probe the best of each is kept, since noise (preemption,
 * steal time) only ever adds time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "calib.skel.h"

#include "bpfutil.h"
#include "calib.h"

#if !defined(__x86_64__)
#error "calibration targets are x86-64 assembly: add the architecture's"
#endif

void bw_calib_push(void);
void bw_calib_nop(void);
void bw_calib_other(void);

#define TARGET(name, body)					\
	".globl " name "\n"					\
	".type " name ", @function\n"				\
	".p2align 4\n"						\
	name ":\n"						\
	body							\
	"	ret\n"						\
	".size " name ", .-" name "\n"

asm(".pushsection .text\n"
    TARGET("bw_calib_push", "	push %rbp\n	mov %rsp, %rbp\n	pop %rbp\n")
    TARGET("bw_calib_nop", "	nop\n")
    TARGET("bw_calib_other", "	sub $8, %rsp\n	add $8, %rsp\n")
    ".popsection\n");

/* Called through volatile pointers: the compiler cannot drop the calls. */
static void (*volatile const targets[CALIB__COUNT])(void) = {
	[CALIB_PUSH] = bw_calib_push,
	[CALIB_NOP] = bw_calib_nop,
	[CALIB_OTHER] = bw_calib_other,
	[CALIB_RETURN] = bw_calib_push,
};

static const char *const target_names[CALIB__COUNT] = {
	[CALIB_PUSH] = "bw_calib_push",
	[CALIB_NOP] = "bw_calib_nop",
	[CALIB_OTHER] = "bw_calib_other",
	[CALIB_RETURN] = "bw_calib_push",
};

static const char *const insn_names[CALIB__COUNT] = {
	[CALIB_PUSH] = "push",
	[CALIB_NOP] = "nop",
	[CALIB_OTHER] = "other",
	[CALIB_RETURN] = "return",
};

const char *calib_insn__name(enum calib_insn insn)
{
	return (unsigned int)insn < CALIB__COUNT ? insn_names[insn] : "unknown";
}

const char *calib__target_name(enum calib_insn insn)
{
	return (unsigned int)insn < CALIB__COUNT ? target_names[insn] : NULL;
}

/* push r64 (0x50+r, with REX.B 0x41 for r8-r15) and the one-byte nop are
 * what x86 kernels emulate; anything else is taken as single-stepped. */
enum calib_insn calib__classify(const uint8_t *code, size_t len)
{
	if (!len)
		return CALIB_OTHER;
	if (code[0] >= 0x50 && code[0] <= 0x57)
		return CALIB_PUSH;
	if (len > 1 && code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57)
		return CALIB_PUSH;
	if (code[0] == 0x90)
		return CALIB_NOP;
	return CALIB_OTHER;
}

uint64_t calib__time_calls(enum calib_insn insn, unsigned int calls)
{
	void (*fn)(void) = targets[(unsigned int)insn < CALIB__COUNT ? insn : 0];
	uint64_t t0 = bw_mono_ns();

	for (unsigned int i = 0; i < calls; i++)
		fn();
	return bw_mono_ns() - t0;
}

int calib__target_offset(enum calib_insn insn, size_t *off)
{
	uintptr_t addr;
	char line[512];
	int err = -ENOENT;
	FILE *f;

	if ((unsigned int)insn >= CALIB__COUNT)
		return -EINVAL;
	addr = (uintptr_t)targets[insn];
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start, end;
		unsigned long long foff;
		char perm[8];

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx", &start, &end,
			   perm, &foff) != 4)
			continue;
		if (addr >= start && addr < end && perm[2] == 'x') {
			*off = (size_t)(addr - start + foff);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static struct bpf_link *attach(struct bpf_program *prog, size_t off, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret);

	return bpf_program__attach_uprobe_opts(prog, getpid(), "/proc/self/exe",
					       off, &o);
}

static void keep_min(uint64_t *best, uint64_t t)
{
	if (t < *best)
		*best = t;
}

/*
 * Without the probe @runs times, then attached once (a detach waits for an
 * RCU grace period: tens of ms), with it @runs times.  CALIB_RETURN: the
 * uprobe is the baseline, the uprobe and the uretprobe the probed runs.
 */
int calib__uprobe_ns(enum calib_insn insn, unsigned int calls, unsigned int runs,
		     double *ns)
{
	uint64_t best_base = UINT64_MAX, best_probed = UINT64_MAX;
	bool ret = insn == CALIB_RETURN;
	struct bpf_link *entry = NULL, *uret = NULL;
	struct calib_bpf *skel;
	size_t off;
	int err;

	if (!calls || !runs || (unsigned int)insn >= CALIB__COUNT)
		return -EINVAL;
	err = calib__target_offset(insn, &off);
	if (err)
		return err;
	skel = calib_bpf__open();
	if (!skel)
		return -errno;
	bpf_program__set_autoload(skel->progs.calib_uretprobe, ret);
	err = calib_bpf__load(skel);
	if (err)
		goto out;
	/* Warm caches and the branch predictor before the first run. */
	calib__time_calls(insn, calls);
	for (unsigned int r = 0; !ret && r < runs; r++)
		keep_min(&best_base, calib__time_calls(insn, calls));
	entry = attach(skel->progs.calib_uprobe, off, false);
	if (!entry)
		goto err_attach;
	for (unsigned int r = 0; ret && r < runs; r++)
		keep_min(&best_base, calib__time_calls(insn, calls));
	if (ret) {
		uret = attach(skel->progs.calib_uretprobe, off, true);
		if (!uret)
			goto err_attach;
	}
	for (unsigned int r = 0; r < runs; r++)
		keep_min(&best_probed, calib__time_calls(insn, calls));
	if (best_probed <= best_base) {
		err = -ERANGE;
		goto out;
	}
	*ns = (double)(best_probed - best_base) / (double)calls;
	goto out;

err_attach:
	err = -errno;
out:
	bpf_link__destroy(uret);
	bpf_link__destroy(entry);
	calib_bpf__destroy(skel);
	return err;
}
