/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Matching processes against a targets: selector (config.h), shared by
 * every probe.  The agent keeps each probe's in-kernel set of wanted tgids
 * current by scanning /proc once per tick, reading only the facts some
 * selector needs.
 */
#ifndef BPFWATCH_TARGETS_H
#define BPFWATCH_TARGETS_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>

#include "config.h"

enum target_need {
	TARGET_NEED_COMM = 1,
	TARGET_NEED_EXE = 2,
	TARGET_NEED_CGROUP = 4,
};

/* What a process looks like to a selector; a fact not read is NULL. */
struct proc_facts {
	uint32_t pid;
	const char *comm;
	const char *exe;	/* readlink of /proc/PID/exe */
	const char *cgroup;	/* cgroup v2 path ("0::" line) */
};

/* Facts @t needs beyond pids (0: pids only, no scan needed). */
unsigned int targets__needs(const struct targets_cfg *t);
/* True if any selector of @t matches @pf (a NULL fact never matches). */
bool targets__match(const struct targets_cfg *t, const struct proc_facts *pf);
/* A cgroup selector: a glob (fnmatch, '*' crosses '/') or a path that
 * also covers every cgroup below it. */
bool targets__cgroup_match(const char *pattern, const char *cgroup);
bool targets__pid_exists(uint32_t pid);

/* Buffers the facts of one process point into. */
struct proc_facts_buf {
	char comm[64];
	char exe[PATH_MAX];
	char cgroup[4096];
};

/* Read the facts in @need of process @pid into @pf (pointing into @buf);
 * a fact that cannot be read stays NULL. */
void targets__read_facts(uint32_t pid, unsigned int need, struct proc_facts *pf,
			 struct proc_facts_buf *buf);

/*
 * Call @cb for every process in /proc with the facts in @need read
 * (processes that vanish mid-scan are skipped).  Stops when @cb returns
 * non-zero and returns that; 0 when done, -errno if /proc is unreadable.
 */
int targets__scan(unsigned int need,
		  int (*cb)(const struct proc_facts *pf, void *ctx), void *ctx);

#endif /* BPFWATCH_TARGETS_H */
