// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the rule file loader: any input must give either
 * a rule set or errors, never a crash, a leak or a hang.  A stand-in
 * expression checker refuses "BAD" so the error-position code runs too.
 */
// fuzz-sources: agent/rulefile.c agent/template.c agent/config.c agent/log.c agent/regexcost.c
// fuzz-sources: agent/default_config.S exporters/expo.c exporters/notify_config.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rulefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const char *expr, char *msg, size_t msglen, size_t *off)
{
	const char *bad = strstr(expr, "BAD");

	(void)ctx;
	if (!bad)
		return 0;
	*off = (size_t)(bad - expr);
	snprintf(msg, msglen, "unexpected BAD");
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_set *set;
	char err[8192];

	set = rulefile__parse("fuzz", (const char *)data, size, check, NULL, err,
			      sizeof(err));
	if (!set && strlen(err) >= sizeof(err))
		__builtin_trap();
	rule_set__free(set);
	return 0;
}
