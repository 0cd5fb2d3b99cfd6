// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the alert template engine: compile the input and,
 * when it compiles, render it twice with different data.  Never a crash,
 * a leak, a hang or an unterminated message.
 */
// fuzz-sources: agent/template.c exporters/expo.c agent/regexcost.c
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct label labels[] = {
		{ "instance", "host.example.com:9100" },
		{ "job", "node" },
		{ "n", "2048" },
	};
	static const struct label ext[] = { { "cluster", "c1" } };
	struct tmpl_data d = {
		.labels = labels,
		.nlabels = 3,
		.ext_labels = ext,
		.next_labels = 1,
		.external_url = "http://prom:9090",
		.value = 1234.5,
	};
	char err[256];
	struct tmpl *t;
	size_t off;
	char *s;

	t = tmpl__compile((const char *)data, size, &off, err, sizeof(err));
	if (!t) {
		if (strlen(err) >= sizeof(err) || off > size)
			__builtin_trap();
		return 0;
	}
	s = tmpl__expand(t, &d);
	free(s);
	d.value = NAN;
	d.nlabels = 0;
	s = tmpl__expand(t, &d);
	free(s);
	tmpl__free(t);
	return 0;
}
