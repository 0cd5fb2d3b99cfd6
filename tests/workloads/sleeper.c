// SPDX-License-Identifier: GPL-2.0
/*
 * Test workload: names itself (any bytes, via PR_SET_NAME), then sleeps
 * INTERVAL_MS in a loop for SECONDS, so every probe sees it: run-queue
 * waits after each wakeup, and clock_nanosleep syscalls of known length.
 *
 *   sleeper NAME_HEX SECONDS INTERVAL_MS [TAG]
 * TAG is ignored: tests put their temp dir there to find their processes.
 * NAME_HEX is the comm as hex bytes (so tests can pass quotes, newlines
 * and invalid UTF-8 through a shell), e.g. 612262 for a"b.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static int unhex(const char *s, char *out, size_t len)
{
	size_t n = strlen(s) / 2, i;

	if (strlen(s) % 2 || n >= len)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1 || b == 0)
			return -1;
		out[i] = (char)b;
	}
	out[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	char name[17];
	struct timespec ts;
	double secs;
	long ms;
	time_t end;

	if ((argc != 4 && argc != 5) || unhex(argv[1], name, sizeof(name))) {
		fprintf(stderr, "usage: sleeper NAME_HEX(<=16 bytes, no 00) SECONDS INTERVAL_MS [TAG]\n");
		return 2;
	}
	secs = atof(argv[2]);
	ms = atol(argv[3]);
	prctl(PR_SET_NAME, name);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	end = time(NULL) + (time_t)secs;
	while (time(NULL) < end)
		nanosleep(&ts, NULL);
	return 0;
}
