/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How much a POSIX extended regex costs glibc's regcomp, estimated before
 * calling it.  regcomp copies a sub-expression once per count of a bounded
 * repetition and compiles "X+" as "XX*", so nested repetitions multiply:
 * the config fuzzer found "((a{99}){99}){99}" taking gigabytes.  Every
 * place that compiles a regex from user input (config selectors, PromQL
 * matchers and label_replace, template functions) asks this first.
 */
#ifndef BPFWATCH_REGEXCOST_H
#define BPFWATCH_REGEXCOST_H

#include <stdbool.h>
#include <stdint.h>

#define REGEX_COST_MAX_DEPTH	32	/* nested groups; deeper is refused */

/* True when the expanded size of @re exceeds @max_cost atoms, or its
 * groups nest deeper than REGEX_COST_MAX_DEPTH. */
bool regex_cost__exceeds(const char *re, uint64_t max_cost);

#endif /* BPFWATCH_REGEXCOST_H */
