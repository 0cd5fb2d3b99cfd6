// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the alert for-state file reader: the file lives
 * on disk and may be damaged, so any content must load (possibly as
 * corrupt, then moved aside) without a crash, leak or hang, and the
 * records must be usable by alertstate__restore.
 */
// fuzz-sources: agent/alertstate.c agent/rulefile.c agent/template.c agent/config.c agent/regexcost.c
// fuzz-sources: agent/log.c agent/default_config.S exporters/expo.c exporters/notify_config.c
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alertstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
	"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
	"        for: 30m\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct label l[] = { { "instance", "a" } };
	struct alert_input in = { l, 1, 1 };
	char path[64], aside[80], err[512];
	struct rule_set *set;
	struct alertstate *as;
	struct for_state *fs;
	bool corrupt;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/fuzz_forstate.%d", (int)getpid());
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	fs = for_state__load(path, &corrupt, err, sizeof(err));
	unlink(path);
	unlink(aside);
	if (!fs)
		return 0;
	set = rulefile__parse("r", rules, sizeof(rules) - 1, NULL, NULL, err, sizeof(err));
	if (!set)
		__builtin_trap();
	as = alertstate__new("g", &set->groups[0], &set->groups[0].rules[0]);
	if (as && !alertstate__eval(as, 1000, &in, 1, NULL, NULL, err, sizeof(err)))
		alertstate__restore(as, fs, for_state__saved_at(fs) + 1000,
				    ALERT_FOR_GRACE_MS, ALERT_OUTAGE_TOLERANCE_MS);
	alertstate__free(as);
	rule_set__free(set);
	for_state__free(fs);
	return 0;
}
