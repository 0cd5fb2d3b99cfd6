// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the PromQL parser: any input must parse or give
 * an error with a position inside the input, never crash, leak or hang.
 * A parsed expression is printed back, and the printed form must parse
 * again and print identically (the printer emits canonical PromQL); the
 * lookback walker runs over it too.
 */
// fuzz-sources: agent/promql_parse.c agent/promql_util.c
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct promql_node *n, *n2;
	struct promql_error err;
	char *in, *s, *s2;

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
	promql_free(n);
	free(in);
	return 0;
}
