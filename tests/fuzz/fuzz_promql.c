// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the PromQL parser and evaluator: any input must
 * parse or give an error with a position inside the input, never crash,
 * leak or hang.  A parsed expression is printed back, and the printed form
 * must parse again and print identically (the printer emits canonical
 * PromQL); the lookback walker runs over it, and it is evaluated over a
 * small in-memory database with a low sample budget so that huge ranges
 * or tiny subquery steps end in an error rather than a timeout.
 */
// fuzz-sources: agent/promql_parse.c agent/promql_util.c agent/promql_eval.c agent/promql_func.c agent/promql_mem.c agent/regexcost.c
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql.h"
#include "promql_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct promql_mem *db;

static void db_init(void)
{
	static const char *const s[] = {
		"up{job=\"a\",instance=\"1\"}", "1 1 0 1 stale 1",
		"up{job=\"b\",instance=\"1\"}", "0 1 1 _ 1 1",
		"req_total{job=\"a\",code=\"200\"}", "0+10x5",
		"req_total{job=\"a\",code=\"500\"}", "5 7 2 9 NaN Inf",
		"lat_bucket{job=\"a\",le=\"0.1\"}", "0+1x5",
		"lat_bucket{job=\"a\",le=\"1\"}", "0+3x5",
		"lat_bucket{job=\"a\",le=\"+Inf\"}", "0+4x5",
		NULL,
	};
	char err[256];
	size_t i;

	db = promql_mem__new(0, 0);
	if (!db)
		__builtin_trap();
	for (i = 0; s[i]; i += 2)
		if (promql_mem__load(db, s[i], s[i + 1], 0, 60000, err, sizeof(err)))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_opts opts = { .max_samples = 20000, .default_step_ms = 60000 };
	struct promql_node *n, *n2;
	struct promql_storage st;
	struct promql_result r;
	struct promql_error err;
	char *in, *s, *s2;

	if (!db)
		db_init();
	if (size > 4096)
		return 0;
	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	n = promql_parse(in, &err);
	if (!n) {
		if (err.offset < 0 || (size_t)err.offset > strlen(in) || err.col < 1 ||
		    err.line < 1 || strlen(err.msg) >= sizeof(err.msg))
			__builtin_trap();
		free(in);
		return 0;
	}
	(void)promql_max_lookback_ms(n, 300000);
	s = promql_node_str(n);
	if (s) {
		n2 = promql_parse(s, &err);
		/* what we print must read back the same */
		if (!n2)
			__builtin_trap();
		s2 = promql_node_str(n2);
		if (s2 && strcmp(s, s2))
			__builtin_trap();
		free(s2);
		promql_free(n2);
	}
	free(s);
	promql_mem__storage(db, &st);
	if (!promql_eval_instant(n, &st, 240000, &opts, &r, &err)) {
		s = promql_result_str(&r);
		free(s);
		promql_result_free(&r);
	} else if (!err.msg[0]) {
		__builtin_trap();	/* every failure must say why */
	}
	promql_free(n);
	free(in);
	return 0;
}
