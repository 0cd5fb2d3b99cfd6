// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for spool replay: whatever bytes a segment holds
 * (torn, corrupt, hostile), spool__open() recovers or reports, never
 * crashes, and a second open of what it left is clean.
 */
// fuzz-sources: exporters/spool.c agent/log.c
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/bw-fuzz-spool.XXXXXX", path[96], why[256];
	struct spool_opts o = { .max_bytes = 1 << 20, .compact_min_bytes = 4096 };
	struct spool *s;
	uint64_t live, id;
	int fd;

	log_set_level(LOG_ERROR - 1);
	if (!mkdtemp(dir))
		return 0;
	o.dir = dir;
	snprintf(path, sizeof(path), "%s/0000000000000000.seg", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, data, size) != (ssize_t)size)
			__builtin_trap();
		close(fd);
	}
	s = spool__open(&o, why, sizeof(why));
	if (!s)
		goto out;
	live = spool__stats(s)->live;
	if (spool__append(s, "am", 0, "x", 1, &id) || spool__commit(s))
		__builtin_trap();
	spool__free(s);
	s = spool__open(&o, why, sizeof(why));
	if (!s || spool__stats(s)->live != live + 1 ||
	    spool__stats(s)->torn_tails || spool__stats(s)->corrupt_segments)
		__builtin_trap();
	spool__free(s);
out:
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
