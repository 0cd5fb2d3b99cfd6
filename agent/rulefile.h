/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus rule files, loaded for bpfwatch's own rule engine.
 *
 *   groups:
 *     - name: example             # required, unique within the file
 *       interval: 30s             # optional, 0 = the global interval
 *       limit: 10                 # optional, 0 = no limit
 *       labels: { team: sre }     # optional (newer Prometheus); added to
 *                                 # every rule of the group
 *       rules:
 *         - alert: HighLatency    # or record: job:latency:p99
 *           expr: job:latency:p99 > 0.5
 *           for: 10m              # alerting only
 *           keep_firing_for: 5m   # alerting only
 *           labels: { severity: page }       # templates (alerting)
 *           annotations: { summary: "..." }  # templates, alerting only
 *
 * Validation follows Prometheus' rulefmt: exactly one of alert/record,
 * expr required, a recording rule's name is a metric name, label and
 * annotation names match [a-zA-Z_][a-zA-Z0-9_]*, `__name__` is not a rule
 * label, for/keep_firing_for/annotations are refused on recording rules,
 * unknown and duplicate keys are errors.  Label and annotation templates
 * of alerting rules are compiled (template.h) and expressions are handed
 * to a checker callback (the PromQL parser), so every mistake in a file is
 * found at load time.
 *
 * Errors are reported as "FILE:LINE:COL: PATH: message" (1-based), all of
 * them (up to RULEFILE_MAX_ERRORS), for every file loaded.  A template
 * or expression error is reported at the line and column of the
 * offending byte inside the value, through line folding and block
 * indentation (plain, quoted, | and > scalars); after an escape sequence
 * in a quoted string it falls back to the position of the value.
 */
#ifndef BPFWATCH_RULEFILE_H
#define BPFWATCH_RULEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "template.h"

#define RULEFILE_MAX_FILE_SIZE	(4 * 1024 * 1024)	/* bytes per file */
#define RULEFILE_MAX_FILES	256		/* files per load (after globbing) */
#define RULEFILE_MAX_GROUPS	1024		/* groups per load */
#define RULEFILE_MAX_RULES	10000		/* rules per load */
#define RULEFILE_MAX_LABELS	128		/* labels or annotations per map */
#define RULEFILE_MAX_EXPR	(64 * 1024)	/* bytes of one expression */
#define RULEFILE_MAX_WORK	(64 * 1024 * 1024)	/* scalar bytes processed per
							 * load: aliases cannot
							 * multiply work */
#define RULEFILE_MAX_ERRORS	50		/* errors reported per load */

/* A label or annotation: name, value, and its template (alerting rules). */
struct rule_kv {
	char *name;
	char *value;
	struct tmpl *tmpl;	/* NULL for recording rules and group labels */
	unsigned int line, col;	/* position of the value */
};

enum rule_type {
	RULE_ALERTING = 0,
	RULE_RECORDING,
};

struct rule {
	enum rule_type type;
	char *name;			/* alert name or recorded metric name */
	char *expr;
	uint64_t for_ms;
	uint64_t keep_firing_for_ms;
	struct rule_kv *labels;
	size_t nlabels;
	struct rule_kv *annotations;
	size_t nannotations;
	unsigned int line, col;		/* the rule's mapping */
	unsigned int expr_line, expr_col;	/* the expr value */
};

struct rule_group {
	char *name;
	const char *file;		/* borrowed from the rule_set */
	uint64_t interval_ms;		/* 0 = global evaluation interval */
	uint32_t limit;			/* 0 = none */
	struct rule_kv *labels;
	size_t nlabels;
	struct rule *rules;
	size_t nrules;
	unsigned int line, col;
};

/* Everything loaded; owned as a whole, freed by rule_set__free. */
struct rule_set {
	char **files;			/* files read, in load order */
	size_t nfiles;
	struct rule_group *groups;	/* in file order, then file position */
	size_t ngroups;
	size_t nrules;			/* over all groups */
};

/*
 * Expression checker: returns 0 if @expr is valid; otherwise non-zero
 * with a message in @msg and the byte offset of the error in @expr in
 * *@off (0 if unknown).
 */
typedef int (*rulefile_check_fn)(void *ctx, const char *expr, char *msg,
				 size_t msglen, size_t *off);

/*
 * Parse one file from memory (@name is used in messages).  Returns a new
 * rule_set or NULL with errno set (EINVAL: errors in @err, '\n'
 * separated; ENOMEM; EFBIG).  @check may be NULL (expressions are then
 * only checked for presence).
 */
struct rule_set *rulefile__parse(const char *name, const char *text, size_t len,
				 rulefile_check_fn check, void *ctx,
				 char *err, size_t errlen);

/*
 * Load every file matching @patterns (glob(3), like Prometheus'
 * rule_files; a pattern without wildcards must name an existing file).
 * All files are parsed and all errors reported; any error fails the load.
 */
struct rule_set *rulefile__load(const char *const *patterns, size_t npatterns,
				rulefile_check_fn check, void *ctx,
				char *err, size_t errlen);

void rule_set__free(struct rule_set *set);

/* Prometheus' name rules. */
bool rulefile__valid_label_name(const char *s);
bool rulefile__valid_metric_name(const char *s);

#endif /* BPFWATCH_RULEFILE_H */
