/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the promql_*.c files: AST, labels, regex helpers. */
#ifndef BPFWATCH_PROMQL_INT_H
#define BPFWATCH_PROMQL_INT_H

#include <regex.h>

#include "promql.h"

struct promql_matcher {
	enum promql_match_type type;
	char *name;
	char *value;
	regex_t re;
	bool re_ok;
};

enum promql_node_kind {
	N_NUMBER,
	N_STRING,
	N_VSEL,		/* vector selector */
	N_MSEL,		/* matrix selector: a[5m]; sel = the vector selector */
	N_SUBQUERY,	/* expr[range:step] */
	N_PAREN,
	N_UNARY,
	N_BINARY,
	N_AGG,
	N_CALL,
};

enum promql_op {
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW, OP_ATAN2,
	OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE,
	OP_AND, OP_OR, OP_UNLESS,
};

enum promql_agg {
	AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_COUNT, AGG_GROUP, AGG_STDDEV,
	AGG_STDVAR, AGG_TOPK, AGG_BOTTOMK, AGG_QUANTILE, AGG_COUNT_VALUES,
};

enum promql_card { CARD_ONE_TO_ONE, CARD_MANY_TO_ONE, CARD_ONE_TO_MANY,
		   CARD_MANY_TO_MANY };

struct promql_func;

struct promql_node {
	enum promql_node_kind kind;
	int pos;			/* byte offset of the node's start */
	enum promql_value_type type;
	double num;
	char *str;			/* string literal; selector metric name */
	/* selectors */
	struct promql_matcher **matchers;
	size_t nmatchers;
	int64_t offset_ms;
	bool has_at;
	int at_kind;			/* 0: at_ms, 1: @ start(), 2: @ end() */
	int64_t at_ms;
	int64_t range_ms;		/* N_MSEL, N_SUBQUERY */
	int64_t step_ms;		/* N_SUBQUERY; 0 = default */
	/* children: N_MSEL/N_SUBQUERY/N_PAREN/N_UNARY/N_AGG arg in a */
	struct promql_node *a, *b, *param;
	enum promql_op op;		/* N_BINARY; N_UNARY (OP_ADD/OP_SUB) */
	bool return_bool;
	bool matching;			/* on()/ignoring() given */
	bool on;
	enum promql_card card;
	char **mlabels;			/* on/ignoring labels */
	size_t nmlabels;
	char **include;			/* group_left/right labels */
	size_t ninclude;
	enum promql_agg agg;
	bool without;
	char **grouping;
	size_t ngrouping;
	const struct promql_func *func;
	struct promql_node **args;
	size_t nargs;
};

enum promql_func_id {
	F_ABS, F_ABSENT, F_ABSENT_OVER_TIME, F_ACOS, F_ACOSH, F_ASIN, F_ASINH,
	F_ATAN, F_ATANH, F_AVG_OVER_TIME, F_CEIL, F_CHANGES, F_CLAMP,
	F_CLAMP_MAX, F_CLAMP_MIN, F_COS, F_COSH, F_COUNT_OVER_TIME,
	F_DAYS_IN_MONTH, F_DAY_OF_MONTH, F_DAY_OF_WEEK, F_DAY_OF_YEAR, F_DEG,
	F_DELTA, F_DERIV, F_EXP, F_FLOOR, F_HISTOGRAM_QUANTILE, F_HOLT_WINTERS,
	F_HOUR, F_IDELTA, F_INCREASE, F_IRATE, F_LABEL_JOIN, F_LABEL_REPLACE,
	F_LAST_OVER_TIME, F_LN, F_LOG10, F_LOG2, F_MAX_OVER_TIME,
	F_MIN_OVER_TIME, F_MINUTE, F_MONTH, F_PI, F_PREDICT_LINEAR,
	F_PRESENT_OVER_TIME, F_QUANTILE_OVER_TIME, F_RAD, F_RATE, F_RESETS,
	F_ROUND, F_SCALAR, F_SGN, F_SIN, F_SINH, F_SORT, F_SORT_DESC, F_SQRT,
	F_STDDEV_OVER_TIME, F_STDVAR_OVER_TIME, F_SUM_OVER_TIME, F_TAN,
	F_TANH, F_TIME, F_TIMESTAMP, F_VECTOR, F_YEAR,
};

struct promql_func {
	enum promql_func_id id;
	const char *name;
	enum promql_value_type args[6];
	int nargs;		/* required */
	int variadic;		/* extra optional args: -1 unlimited */
	enum promql_value_type ret;
};

const struct promql_func *promql_func_lookup(const char *name);
extern const char *const promql_op_names[];
extern const char *const promql_agg_names[];

/* Matchers */
struct promql_matcher *promql_matcher_new(enum promql_match_type type,
					  const char *name, const char *value,
					  char *errbuf, size_t errlen);
void promql_matcher_free(struct promql_matcher *m);
/* How ERE group numbers map to RE2's: re2_num[ere] is the RE2 number
 * (0 for the whole match, -1 for a non-capturing group), name[ere] the
 * RE2 group name or "". */
#define PROMQL_RE_MAX_GROUPS 32
struct promql_re_groups {
	int n;
	int re2_num[PROMQL_RE_MAX_GROUPS];
	char name[PROMQL_RE_MAX_GROUPS][32];
};

/* Compile RE2-syntax @re as a fully anchored POSIX ERE ("^(re)$"): the
 * escapes \d \s \w (and upper case) and (?:x), (?P<n>x), a leading (?i)
 * are translated; RE2's repetition rules and a size guard keep glibc's
 * regcomp bounded.  @g (may be NULL) receives the group mapping. */
int promql_regcomp(regex_t *out, const char *re, int cflags,
		   struct promql_re_groups *g, char *errbuf, size_t errlen);

/* Label sets: arrays of struct promql_label sorted by name. */
void promql_labels_free(struct promql_label *l, size_t n);
int promql_labels_dup(const struct promql_label *src, size_t n,
		      struct promql_label **out);
void promql_labels_sort(struct promql_label *l, size_t n);
const char *promql_labels_get(const struct promql_label *l, size_t n,
			      const char *name);
/* Set (value "" deletes) / delete a label in place; 0 or -ENOMEM. */
int promql_labels_set(struct promql_label **l, size_t *n, const char *name,
		      const char *value);
void promql_labels_del(struct promql_label *l, size_t *n, const char *name);
int promql_labels_cmp(const struct promql_label *a, size_t na,
		      const struct promql_label *b, size_t nb);

/* Evaluation state of one query. */
struct promql_ev {
	const struct promql_storage *st;
	int64_t lookback_ms;
	int64_t default_step_ms;
	size_t max_samples;
	size_t samples;			/* points loaded so far */
	int64_t start_ms, end_ms;	/* the query's, for @ start() / end() */
	struct promql_error *err;
};

/* The time a selector or subquery with an @ modifier is evaluated at. */
int64_t promql_at_time(const struct promql_ev *ev, const struct promql_node *n, int64_t t);
int promql_ev_error(struct promql_ev *ev, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int promql_eval_node(struct promql_ev *ev, const struct promql_node *n,
		     int64_t t, struct promql_result *out);
int promql_eval_call(struct promql_ev *ev, const struct promql_node *n,
		     int64_t t, struct promql_result *out);
/* Append an element taking ownership of @labels (freed on failure). */
int promql_vec_push(struct promql_result *r, struct promql_label *labels,
		    size_t nlabels, double v, int64_t t);
/* Labels without __name__, copied. */
int promql_labels_drop_name(const struct promql_label *l, size_t n,
			    struct promql_label **out, size_t *nout);
/* quantile of values (sorted in place with NaN first) as Prometheus. */
double promql_quantile(double q, double *v, size_t n);
const struct promql_node *promql_unwrap_paren(const struct promql_node *n);

#endif /* BPFWATCH_PROMQL_INT_H */
