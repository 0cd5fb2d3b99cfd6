// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the alert delivery configuration parser: any
 * input gives a configuration or errors, never a crash, a leak or a hang.
 */
// fuzz-sources: exporters/notify_config.c agent/config.c agent/log.c agent/default_config.S agent/regexcost.c
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "notify_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_cfg c;
	char err[4096];
	int ret;

	notify_cfg__init(&c);
	ret = notify_cfg__parse_text(&c, "fuzz", (const char *)data, size, err, sizeof(err));
	if (ret && strlen(err) >= sizeof(err))
		__builtin_trap();
	/* a configuration that parsed holds what the dispatcher relies on */
	if (!ret && (c.queue_capacity < 2 * c.batch_size || !c.batch_size))
		__builtin_trap();
	for (size_t i = 0; !ret && i < c.nams; i++)
		if (!c.ams[i].url || !c.ams[i].path_prefix)
			__builtin_trap();
	notify_cfg__free(&c);
	return 0;
}
