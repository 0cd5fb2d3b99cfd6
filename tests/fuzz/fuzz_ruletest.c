// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the `bpfwatch test rules` file parser: any input
 * must parse or give errors (the series notation and series descriptions
 * included), never crash, leak or hang; an error is never longer than its
 * buffer.
 */
// fuzz-sources: agent/ruletest.c agent/ruletest_util.c agent/promql_parse.c agent/regexcost.c
// fuzz-sources: agent/promql_eval.c agent/promql_func.c agent/promql_util.c
// fuzz-sources: agent/promql_mem.c agent/rulefile.c agent/template.c
// fuzz-sources: agent/alertstate.c agent/config.c agent/log.c agent/default_config.S
// fuzz-sources: exporters/expo.c exporters/notify_config.c
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ruletest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[4096];
	struct rt_point *pts;
	size_t n;

	if (ruletest__check_text("fuzz", (const char *)data, size, err, sizeof(err)) &&
	    strlen(err) >= sizeof(err))
		__builtin_trap();
	/* the notation parser alone, on NUL-terminated input */
	if (size < 4096) {
		char buf[4096];

		memcpy(buf, data, size);
		buf[size] = '\0';
		if (!ruletest__expand_values(buf, 100000, &pts, &n, NULL, err, sizeof(err)))
			free(pts);
	}
	return 0;
}
