// SPDX-License-Identifier: GPL-2.0
/*
 * Test workload that looks like a Go >= 1.21 binary to the GC probe: a
 * .go.buildinfo section saying go1.22.0, and functions named
 * runtime.stopTheWorldWithSema / runtime.startTheWorldWithSema (plain
 * `ret`s) called the way Go's register ABI passes a stwReason: in AX.
 *
 *   fakego N
 * prints "ready", waits for a line on stdin, then stops and starts the
 * "world" N times with reason 2 (sweep termination) and N times with
 * reason 1 (mark termination), once with reason 7 (read mem stats), and
 * starts it once without a stop; prints "done".
 */
#include <stdio.h>
#include <stdlib.h>

#if !defined(__x86_64__)
#error "fakego passes the stwReason in AX: x86-64 only"
#endif

/* Go >= 1.18 inline build info: magic, pointer size, flags (2: inline
 * strings), padding to 32, then a varint-prefixed version string. */
__attribute__((section(".go.buildinfo"), used, aligned(16)))
static const unsigned char buildinfo[48] =
	"\xff Go buildinf:\x08\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x08go1.22.0";

__asm__(".text\n"
	".globl runtime.stopTheWorldWithSema\n"
	".type runtime.stopTheWorldWithSema, @function\n"
	"runtime.stopTheWorldWithSema:\n"
	"	nop\n"
	"	ret\n"
	".size runtime.stopTheWorldWithSema, .-runtime.stopTheWorldWithSema\n"
	".globl runtime.startTheWorldWithSema\n"
	".type runtime.startTheWorldWithSema, @function\n"
	"runtime.startTheWorldWithSema:\n"
	"	nop\n"
	"	ret\n"
	".size runtime.startTheWorldWithSema, .-runtime.startTheWorldWithSema\n");

/* Call @fn with @reason in EAX; the red zone below the stack pointer is
 * stepped over, since the compiler may keep data there. */
#define GO_CALL(fn, reason)						\
	__asm__ volatile("sub $128, %%rsp\n\t"				\
			 "call " fn "\n\t"				\
			 "add $128, %%rsp"				\
			 : : "a"(reason) : "memory", "cc")

static void stop(unsigned int reason)
{
	GO_CALL("runtime.stopTheWorldWithSema", reason);
}

static void start(void)
{
	GO_CALL("runtime.startTheWorldWithSema", 0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char line[16];

	printf("ready %d\n", buildinfo[0]);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (int i = 0; i < n; i++) {
		stop(2);
		start();
	}
	for (int i = 0; i < n; i++) {
		stop(1);
		start();
	}
	stop(7);
	start();
	start();	/* an end without its begin */
	printf("done\n");
	fflush(stdout);
	return 0;
}
