// SPDX-License-Identifier: GPL-2.0
/*
 * Test workload for the memory probe and the leak analyzer.
 *
 *   memgrow leak RATE_KB_PER_S SECONDS [HOLD_SECONDS] [TAG]
 *       allocates RATE/10 KiB every 100 ms from leak_alloc() and touches
 *       it, never frees; then holds the memory for HOLD_SECONDS (default 0)
 *   memgrow steady SECONDS [FOOTPRINT_KB] [TAG]
 *       churns: frees and allocates small blocks all the time and keeps a
 *       random number of large (mmap'd, so really returned) blocks around
 *       a constant footprint (default 16384 KiB): RSS goes up and down,
 *       with no trend
 *   memgrow risefall SECONDS [PEAK_KB] [HOLD_SECONDS] [TAG]
 *       grows to PEAK_KB (default 16384) over the first 60% of SECONDS,
 *       then frees back to the start over the rest, and stays there for
 *       HOLD_SECONDS (default 0)
 *
 * Prints "ready" once started (and after leaking, "leaked N"), line
 * buffered, so tests can synchronise.  TAG is ignored: tests put their
 * temp dir there to find their processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define STEP_NS		100000000L	/* 100 ms */
#define BIG		(256 * 1024)	/* above glibc's mmap threshold */
#define MAX_BIG		4096
#define SMALL_SLOTS	512

static void sleep_step(struct timespec *next)
{
	next->tv_nsec += STEP_NS;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

static void touch(char *p, size_t n)
{
	/* one write per page makes it resident */
	for (size_t i = 0; i < n; i += 4096)
		p[i] = (char)i;
	if (n)
		p[n - 1] = 1;
}

/* Built with ASan (make SANITIZE=1), the leak is the point: no report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* The leak: a named function, so allocation tracing can point at it. */
__attribute__((noinline)) static void *leak_alloc(size_t n)
{
	char *p = malloc(n);

	if (p)
		touch(p, n);
	return p;
}

static int leak(long rate_kb, long seconds, long hold)
{
	size_t step = (size_t)rate_kb * 1024 / 10, total = 0;
	struct timespec next;
	void *volatile sink;

	clock_gettime(CLOCK_MONOTONIC, &next);
	printf("ready\n");
	for (long i = 0; i < seconds * 10; i++) {
		sink = leak_alloc(step);
		if (!sink) {
			fprintf(stderr, "memgrow: out of memory\n");
			return 1;
		}
		total += step;
		sleep_step(&next);
	}
	printf("leaked %zu\n", total);
	for (long i = 0; i < hold * 10; i++)
		sleep_step(&next);
	return 0;
}

static void *big_alloc(void)
{
	void *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	touch(p, BIG);
	return p;
}

static int steady(long seconds, long footprint_kb)
{
	static void *big[MAX_BIG], *small[SMALL_SLOTS];
	long nbig = 0, target = footprint_kb * 1024 / BIG;
	struct timespec next;

	if (target > MAX_BIG / 2)
		target = MAX_BIG / 2;
	srand(42);
	clock_gettime(CLOCK_MONOTONIC, &next);
	printf("ready\n");
	for (long i = 0; i < seconds * 10; i++) {
		/* big blocks: a random walk held around target, +-50% */
		long want = target / 2 + rand() % (target + 1);

		while (nbig < want && (big[nbig] = big_alloc()))
			nbig++;
		while (nbig > want)
			munmap(big[--nbig], BIG);
		/* small blocks: constant churn inside the heap */
		for (int k = 0; k < 2000; k++) {
			int s = rand() % SMALL_SLOTS;

			free(small[s]);
			small[s] = malloc(64 + (size_t)(rand() % 4096));
			if (small[s])
				touch(small[s], 64);
		}
		sleep_step(&next);
	}
	return 0;
}

static int risefall(long seconds, long peak_kb, long hold)
{
	static void *big[MAX_BIG];
	long steps = seconds * 10, up = steps * 6 / 10, n = 0;
	long peak = peak_kb * 1024 / BIG;
	struct timespec next;

	if (peak > MAX_BIG)
		peak = MAX_BIG;
	clock_gettime(CLOCK_MONOTONIC, &next);
	printf("ready\n");
	for (long i = 0; i < steps; i++) {
		long want = i < up ? peak * (i + 1) / up :
				     peak * (steps - 1 - i) / (steps - up);

		while (n < want && (big[n] = big_alloc()))
			n++;
		while (n > want)
			munmap(big[--n], BIG);
		sleep_step(&next);
	}
	for (long i = 0; i < hold * 10; i++)
		sleep_step(&next);
	return 0;
}

static long arg(int argc, char **argv, int i, long def)
{
	char *end;
	long v;

	if (i >= argc)
		return def;
	v = strtol(argv[i], &end, 10);
	if (*end || v < 0) {
		fprintf(stderr, "memgrow: bad number '%s'\n", argv[i]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "leak"))
		return leak(arg(argc, argv, 2, 0), arg(argc, argv, 3, 0),
			    arg(argc, argv, 4, 0));
	if (argc >= 3 && !strcmp(argv[1], "steady"))
		return steady(arg(argc, argv, 2, 0), arg(argc, argv, 3, 16384));
	if (argc >= 3 && !strcmp(argv[1], "risefall"))
		return risefall(arg(argc, argv, 2, 0), arg(argc, argv, 3, 16384),
				arg(argc, argv, 4, 0));
	fprintf(stderr, "usage: memgrow leak RATE_KB_PER_S SECONDS [HOLD_SECONDS] [TAG]\n"
		"       memgrow steady SECONDS [FOOTPRINT_KB] [TAG]\n"
		"       memgrow risefall SECONDS [PEAK_KB] [HOLD_SECONDS] [TAG]\n");
	return 2;
}
