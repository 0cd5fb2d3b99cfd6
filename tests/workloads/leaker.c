// SPDX-License-Identifier: GPL-2.0
/*
 * Test workload for `bpfwatch leaks` (tests/e2e/e2e_leaks.sh,
 * tests/bench/bench_leaks.c): a known set of allocations left outstanding,
 * each from its own named function, next to heavy churn that frees
 * everything it allocates.
 *
 *   leaker [-w] [-c CHURN]
 *     -w        after printing "leaker: pid N", wait for a line (or EOF) on
 *               stdin: the tracer attaches in between
 *     -c N      churn iterations (default 200000)
 *
 * Outstanding at the end (exact sizes, so totals can be asserted):
 *   leak_a     100 x malloc(4096)                         409600 B
 *   leak_b      50 x calloc(1, 65536)                    3276800 B
 *   leak_c      10 x posix_memalign(4096, 1 MiB)        10485760 B
 *   leak_d       4 x mmap(256 KiB, anonymous)            1048576 B
 *   leak_e       5 x malloc(100) grown by realloc
 *                to 200000 (the malloc'd blocks are
 *                freed by realloc)                        1000000 B
 *   leak_f   40000 x malloc(512): many small blocks, so
 *                a sampled estimate has a small error    20480000 B
 * Churn (must not show): churn_malloc, churn_calloc, churn_realloc,
 * churn_mmap allocate and free.  fail_alloc makes 3 failing mallocs.
 * Then it prints "leaker: ready" and sleeps until killed.
 *
 * Frame pointers are kept (the pragma below) so the kernel's user stack
 * walk sees every function; the functions are noinline so each is a frame.
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBED __attribute__((noinline, noclone, used))

void leak_a(void);
void leak_b(void);
void leak_c(void);
void leak_d(void);
void leak_e(void);
void leak_f(void);
void churn_malloc(unsigned int n);
void churn_calloc(unsigned int n);
void churn_realloc(unsigned int n);
void churn_mmap(unsigned int n);
void fail_alloc(void);

void *volatile kept[256];
void *volatile kept_f[40000];
/* Results stored here escape, so the compiler cannot drop a malloc/free
 * pair whose block is never used (gcc does). */
void *volatile sink;
static int nkept;

static void keep(void *p)
{
	if (!p) {
		fprintf(stderr, "leaker: allocation failed\n");
		exit(1);
	}
	kept[nkept++] = p;
}

PROBED void leak_a(void)
{
	for (int i = 0; i < 100; i++)
		keep(malloc(4096));
	asm volatile("");
}

PROBED void leak_b(void)
{
	for (int i = 0; i < 50; i++)
		keep(calloc(1, 65536));
	asm volatile("");
}

PROBED void leak_c(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = NULL;

		if (posix_memalign(&p, 4096, 1 << 20))
			p = NULL;
		keep(p);
	}
	asm volatile("");
}

PROBED void leak_d(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = mmap(NULL, 256 << 10, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		keep(p == MAP_FAILED ? NULL : p);
	}
	asm volatile("");
}

PROBED void leak_e(void)
{
	for (int i = 0; i < 5; i++) {
		char *p = malloc(100), *q;

		if (!p)
			exit(1);
		q = realloc(p, 200000);
		keep(q);
	}
	asm volatile("");
}

PROBED void leak_f(void)
{
	for (int i = 0; i < 40000; i++) {
		kept_f[i] = malloc(512);
		if (!kept_f[i])
			exit(1);
	}
	asm volatile("");
}

PROBED void churn_malloc(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		sink = malloc(16 + (i * 2654435761U) % 8192);
		free(sink);
	}
	asm volatile("");
}

PROBED void churn_calloc(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		sink = calloc(4, 32 + i % 1000);
		free(sink);
	}
	asm volatile("");
}

PROBED void churn_realloc(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		char *p = malloc(8), *q;

		sink = p;
		q = realloc(sink, 64 + i % 300000);
		sink = q ? q : p;
		free(sink);
	}
	asm volatile("");
}

PROBED void churn_mmap(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		void *p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, 64 << 10);
	}
	asm volatile("");
}

PROBED void fail_alloc(void)
{
	for (int i = 0; i < 3; i++) {
		/* a size no allocator grants; volatile so it is not folded */
		volatile size_t huge = SIZE_MAX - 4096;
		sink = malloc(huge);
		free(sink);
	}
	asm volatile("");
}

int main(int argc, char **argv)
{
	unsigned int churn = 200000;
	int c, wait_go = 0;
	char line[16];

	while ((c = getopt(argc, argv, "wc:")) != -1) {
		switch (c) {
		case 'w':
			wait_go = 1;
			break;
		case 'c':
			churn = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: leaker [-w] [-c CHURN]\n");
			return 2;
		}
	}
	printf("leaker: pid %d\n", getpid());
	fflush(stdout);
	if (wait_go && !fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	churn_malloc(churn / 2);
	leak_a();
	churn_calloc(churn / 4);
	leak_b();
	leak_c();
	churn_realloc(churn / 8);
	leak_d();
	leak_e();
	leak_f();
	churn_mmap(churn / 100);
	fail_alloc();
	churn_malloc(churn / 2);
	printf("leaker: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
