// SPDX-License-Identifier: GPL-2.0
/*
 * Test workload for the function-latency probe (tests/probe/probe_funclat.c):
 * functions of known duration to put uprobes on, recursion, a longjmp out
 * of a probed function, and USDT probes.
 *
 *   funcs [-n NAME] [-r] [-w] CMD COUNT [CMD COUNT]...
 *     -n NAME     set the comm (PR_SET_NAME)
 *     -r          run SCHED_FIFO (needs root): wakeups from the sleeps are
 *                 on time even when other work keeps the CPUs busy, so
 *                 tests can compare durations with a fine histogram slot
 *     -w          after printing the pid, wait for a line (or EOF) on stdin:
 *                 the test attaches in between
 *   CMD:
 *     sleep1      bw_sleep_1ms(): 1 ms, a nanosleep finished by a spin
 *     sleep5      bw_sleep_5ms(): 5 ms, likewise
 *     recurse:D   bw_recurse(D): D nested calls, the innermost sleeps 2 ms
 *     jump        bw_jump_outer(), which calls bw_jump_inner(), which
 *                 longjmps back; then bw_sleep_1ms()
 *     usdt        bwtest:req__start, a 3 ms sleep, bwtest:req__done
 *     tick        bwtest:tick
 *     hot         bw_hot(), which does nothing, in a tight loop: the
 *                 overhead budget's test and bench load
 *     hotsec      bw_hot() in a tight loop for COUNT seconds (COUNT is a
 *                 duration here), then prints "funcs: N hot calls"
 * Commands run in order, each COUNT times.  Prints "funcs: pid N" first;
 * `hot` prints "funcs: hot N calls in S s" when done (wall time).
 *
 * The probed functions must exist under their own names in the symbol
 * table and be entered by a real call: noinline and noclone (no .isra or
 * .constprop copies), used, and an empty asm after each inner call so it is
 * not turned into a tail call (the caller's frame must still be there when
 * the callee returns).  The sleeps end at their deadline (see sleep_ns),
 * so each function takes its nominal time plus the probes' own cost.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>

#define PROBED __attribute__((noinline, noclone, used))

void bw_sleep_1ms(void);
void bw_sleep_5ms(void);
int bw_recurse(int depth);
void bw_jump_inner(void);
void bw_jump_outer(void);
void bw_hot(void);

static jmp_buf jump_env;
static volatile int jumps;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Take @ns from now: nanosleep until SPIN_NS before the deadline, then
 * spin to it.  Timer wakeups on a VM come 20-200 us late, more than a
 * fine histogram slot at 1 ms (61 us), so a plain nanosleep(1 ms) would
 * not have a known duration.
 */
#define SPIN_NS 300000L

static void sleep_ns(long ns)
{
	uint64_t deadline = mono_ns() + (uint64_t)ns;
	struct timespec ts = { 0, ns - SPIN_NS };

	if (ns > SPIN_NS) {
		ts.tv_sec = ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	while (mono_ns() < deadline)
		asm volatile("" ::: "memory");
}

PROBED void bw_sleep_1ms(void)
{
	sleep_ns(1000000L);
	asm volatile("" ::: "memory");
}

PROBED void bw_sleep_5ms(void)
{
	sleep_ns(5000000L);
	asm volatile("" ::: "memory");
}

PROBED int bw_recurse(int depth)
{
	int r;

	if (depth <= 1) {
		sleep_ns(2000000L);
		r = 1;
	} else {
		r = bw_recurse(depth - 1) + 1;
	}
	asm volatile("" : "+r"(r) :: "memory");
	return r;
}

PROBED void bw_jump_inner(void)
{
	jumps++;
	longjmp(jump_env, 1);
}

PROBED void bw_jump_outer(void)
{
	if (setjmp(jump_env) == 0)
		bw_jump_inner();
	asm volatile("" ::: "memory");
}

/* The hot function: a counter update, so its first instruction is an
 * ordinary one (not the push or nop the kernel emulates). */
static volatile unsigned long hot_calls;

PROBED void bw_hot(void)
{
	hot_calls++;
}

/* bw_hot() @count times; prints how long that took. */
static void hot_loop(long count)
{
	uint64_t t0 = mono_ns();

	for (long i = 0; i < count; i++)
		bw_hot();
	printf("funcs: hot %ld calls in %.6f s\n", count,
	       (double)(mono_ns() - t0) / 1e9);
	fflush(stdout);
}

/* bw_hot() for @seconds; the clock is read every 1024 calls. */
static void hot_for(long seconds)
{
	uint64_t end = mono_ns() + (uint64_t)seconds * 1000000000ULL;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 1024; i++)
			bw_hot();
		n += 1024;
	} while (mono_ns() < end);
	printf("funcs: %lu hot calls\n", n);
	fflush(stdout);
}

static void usdt_request(void)
{
	STAP_PROBE(bwtest, req__start);
	sleep_ns(3000000L);
	STAP_PROBE(bwtest, req__done);
}

static int run(const char *cmd, long count)
{
	long depth = 0;

	if (strncmp(cmd, "recurse:", 8) == 0) {
		char *end;

		errno = 0;
		depth = strtol(cmd + 8, &end, 10);
		if (errno || *end || end == cmd + 8 || depth < 1 || depth > 1000)
			return -1;
	} else if (!strcmp(cmd, "hot")) {
		hot_loop(count);
		return 0;
	} else if (!strcmp(cmd, "hotsec")) {
		hot_for(count);
		return 0;
	} else if (strcmp(cmd, "sleep1") && strcmp(cmd, "sleep5") &&
		   strcmp(cmd, "jump") && strcmp(cmd, "usdt") &&
		   strcmp(cmd, "tick")) {
		return -1;
	}
	for (long i = 0; i < count; i++) {
		if (depth)
			bw_recurse((int)depth);
		else if (!strcmp(cmd, "sleep1"))
			bw_sleep_1ms();
		else if (!strcmp(cmd, "sleep5"))
			bw_sleep_5ms();
		else if (!strcmp(cmd, "jump")) {
			bw_jump_outer();
			bw_sleep_1ms();
		} else if (!strcmp(cmd, "usdt"))
			usdt_request();
		else
			STAP_PROBE1(bwtest, tick, i);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: funcs [-n NAME] [-r] [-w] CMD COUNT [CMD COUNT]...\n"
		"  CMD: sleep1 sleep5 recurse:DEPTH jump usdt tick hot hotsec\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt, wait_go = 0;

	while ((opt = getopt(argc, argv, "n:rw")) != -1) {
		if (opt == 'n') {
			prctl(PR_SET_NAME, optarg);
		} else if (opt == 'r') {
			struct sched_param sp = { .sched_priority = 1 };

			if (sched_setscheduler(0, SCHED_FIFO, &sp))
				fprintf(stderr, "funcs: SCHED_FIFO: %s\n", strerror(errno));
		} else if (opt == 'w') {
			wait_go = 1;
		} else {
			usage();
		}
	}
	if (optind == argc || (argc - optind) % 2)
		usage();
	printf("funcs: pid %d\n", (int)getpid());
	fflush(stdout);
	if (wait_go) {
		char c;

		while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
			;
	}
	for (int i = optind; i < argc; i += 2) {
		char *end;
		long n;

		errno = 0;
		n = strtol(argv[i + 1], &end, 10);
		if (errno || *end || end == argv[i + 1] || n < 0)
			usage();
		if (run(argv[i], n)) {
			fprintf(stderr, "funcs: unknown command '%s'\n", argv[i]);
			return 2;
		}
	}
	return 0;
}
