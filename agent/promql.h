/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PromQL engine: parser and evaluator with the semantics of Prometheus 2.42
 * (float samples only, no native histograms).  The engine reads series
 * through struct promql_storage, so the agent's series store and the
 * in-memory test database (promql_mem.h) can both back it.
 *
 * Ownership: promql_parse() returns an AST owned by the caller (free with
 * promql_free()); promql_eval_*() fill a struct promql_result owned by the
 * caller (free with promql_result_free()).  Every label array in a result
 * is sorted by name and owns its strings.
 */
#ifndef BPFWATCH_PROMQL_H
#define BPFWATCH_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prometheus' staleness marker: a NaN with this exact bit pattern. */
#define PROMQL_STALE_NAN_BITS 0x7ff0000000000002ULL
double promql_stale_nan(void);
bool promql_is_stale(double v);

#define PROMQL_DEFAULT_LOOKBACK_MS 300000

struct promql_error {
	char msg[256];		/* without position, e.g. unexpected "by" */
	int line;		/* 1-based; 0 for evaluation errors */
	int col;		/* 1-based byte column */
	int offset;		/* byte offset into the expression */
};

/* "1:12: parse error: msg" for parse errors, "msg" for evaluation errors;
 * writes at most @len bytes (terminated) and returns @buf. */
const char *promql_error_str(const struct promql_error *e, char *buf, size_t len);

struct promql_label {
	char *name;
	char *value;
};

struct promql_sample {
	int64_t t;		/* milliseconds */
	double v;
};

enum promql_match_type {
	PROMQL_MATCH_EQ,	/* = */
	PROMQL_MATCH_NE,	/* != */
	PROMQL_MATCH_RE,	/* =~ (fully anchored) */
	PROMQL_MATCH_NRE,	/* !~ */
};

struct promql_matcher;

const char *promql_matcher_name(const struct promql_matcher *m);
const char *promql_matcher_value(const struct promql_matcher *m);
enum promql_match_type promql_matcher_type(const struct promql_matcher *m);
/* Whether label value @v (NULL or "" for an absent label) matches. */
bool promql_matcher_matches(const struct promql_matcher *m, const char *v);

/*
 * Storage: select() calls emit() once per series matching all @n matchers
 * (a label a series lacks has the value ""), passing its labels (including
 * __name__; any order) and its samples with mint <= t <= maxt sorted by
 * time, staleness markers included.  The engine copies what it keeps, so
 * the arrays need only live during the call.  emit() returns 0 or -errno;
 * select() returns 0, or the first non-zero emit() result, or -errno.
 */
typedef int (*promql_emit_fn)(void *ectx, const struct promql_label *labels,
			      size_t nlabels, const struct promql_sample *s,
			      size_t ns);
struct promql_storage {
	void *ctx;
	int (*select)(void *ctx, const struct promql_matcher *const *m, size_t n,
		      int64_t mint_ms, int64_t maxt_ms, promql_emit_fn emit,
		      void *ectx);
};

struct promql_node;

/* NULL and @err filled on error (errno EINVAL, or ENOMEM). */
struct promql_node *promql_parse(const char *expr, struct promql_error *err);
void promql_free(struct promql_node *n);

enum promql_value_type {
	PROMQL_NONE,
	PROMQL_SCALAR,
	PROMQL_VECTOR,
	PROMQL_MATRIX,
	PROMQL_STRING,
};
enum promql_value_type promql_node_type(const struct promql_node *n);
const char *promql_type_name(enum promql_value_type t);

/* The AST printed back as PromQL (canonical spacing), malloc'ed. */
char *promql_node_str(const struct promql_node *n);

/* The farthest back an evaluation at t reads: max over selectors of
 * range + offset (+ lookback for instant selectors, subquery ranges
 * added to what their inner expression reads). */
int64_t promql_max_lookback_ms(const struct promql_node *n, int64_t lookback_ms);

struct promql_element {
	struct promql_label *labels;	/* sorted by name, owned */
	size_t nlabels;
	double v;			/* vector */
	int64_t t;			/* vector: the evaluation time (ms) */
	struct promql_sample *samples;	/* matrix */
	size_t nsamples;
};

struct promql_result {
	enum promql_value_type type;
	double scalar;
	char *str;
	struct promql_element *elems;	/* vector or matrix */
	size_t n;
};

struct promql_opts {
	int64_t lookback_ms;		/* 0: PROMQL_DEFAULT_LOOKBACK_MS */
	int64_t default_step_ms;	/* subquery step when omitted: Prometheus
					 * uses the global evaluation_interval,
					 * promtool the test file's; 0: 60000 */
	size_t max_samples;		/* budget of points loaded by range
					 * selectors plus subquery/range steps
					 * over one evaluation; past it the query
					 * fails with -E2BIG; 0: 50 000 000 */
};

/*
 * Evaluate at @t_ms.  0 with @res filled (caller frees it), or -errno with
 * @err->msg set (line 0) and @res empty: -EINVAL for query errors
 * ("vector cannot contain metrics with the same labelset", many-to-many
 * matching, ...), -E2BIG past max_samples, -ENOMEM, or what select()
 * returned.  Parse trees are read-only here: one AST may be evaluated
 * repeatedly.
 */
int promql_eval_instant(const struct promql_node *n,
			const struct promql_storage *st, int64_t t_ms,
			const struct promql_opts *opts,
			struct promql_result *res, struct promql_error *err);
/* Evaluates at start, start+step, ... <= end; the result is a matrix
 * (scalars become a series without labels). */
int promql_eval_range(const struct promql_node *n,
		      const struct promql_storage *st, int64_t start_ms,
		      int64_t end_ms, int64_t step_ms,
		      const struct promql_opts *opts,
		      struct promql_result *res, struct promql_error *err);
void promql_result_free(struct promql_result *r);

/* Values as Go prints them: "+Inf", "-Inf", "NaN", else the shortest
 * decimal that reads back exactly, in strconv's 'f' form (never an
 * exponent; what Prometheus' query API prints) or 'g' form (exponent when
 * it is < -4 or >= 6: "1e+06", as fmt's %v and so templates print). */
#define PROMQL_FLOAT_BUF 400
const char *promql_format_float(double v, char fmt, char *buf);

/* One line per element: `{__name__="x", a="b"} => 1 @ 1000` style (matrix:
 * values listed), malloc'ed. */
char *promql_result_str(const struct promql_result *r);

/* The "data" object of Prometheus' /api/v1/query(_range) answer:
 * {"resultType":"vector","result":[{"metric":{...},"value":[1.5,"1"]}]};
 * @t_ms stamps scalar and string results.  malloc'ed; NULL on ENOMEM. */
char *promql_result_json(const struct promql_result *r, int64_t t_ms);

#endif /* BPFWATCH_PROMQL_H */
