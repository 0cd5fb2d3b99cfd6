// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the configuration parser: any input must give
 * either a config or errors, never a crash, a leak or a hang.
 * The default config is linked only because config.c refers to it.
 */
// fuzz-sources: agent/config.c agent/log.c agent/default_config.S exporters/notify_config.c agent/regexcost.c
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char err[4096];

	cfg = config__parse("fuzz", (const char *)data, size, err, sizeof(err));
	/* the error text must always be a terminated string */
	if (!cfg && strlen(err) >= sizeof(err))
		__builtin_trap();
	config__free(cfg);
	return 0;
}
