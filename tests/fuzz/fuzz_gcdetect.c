// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the GC probe's parsers of outside data: a Go
 * pclntab and .go.buildinfo (from any binary a process maps), and a line
 * of /proc/PID/maps.  Any input must be refused or parsed, never read out
 * of bounds, crash or hang.
 */
// fuzz-sources: agent/gcdetect.c
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcdetect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[2] = { GCDETECT_GO_STOP, GCDETECT_GO_START };
	struct maps_entry e;
	uint64_t va[2];
	char version[32], *line;
	void *copy;

	/* exact-size copies, so that ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	gcdetect__go_pclntab_find(copy, size, 0x401000, names, va, 2);
	if (gcdetect__go_buildinfo_version(copy, size, version, sizeof(version)) == 0) {
		if (strlen(version) >= sizeof(version))
			__builtin_trap();
		gcdetect__go_has_reason(version);
	}
	free(copy);
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (gcdetect__parse_maps_line(line, &e) &&
	    (e.path < line || e.path > line + size))
		__builtin_trap();
	free(line);
	return 0;
}
