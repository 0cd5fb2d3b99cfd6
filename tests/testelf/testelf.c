// SPDX-License-Identifier: GPL-2.0
/*
 * Source of the test ELF files of tests/unit/test_symbolize.c, built by
 * the Makefile into $(OUT)/testelf/:
 *   testprog              PIE executable with a fixed build-id
 *   testprog.stripped     the same, strip --strip-all (no .symtab)
 *   libtestelf.so         shared library (-DTESTELF_LIB), fixed build-id
 *   libtestelf-stripped.so  the same, stripped: exported functions remain
 *                         in .dynsym, static ones are gone
 *
 * The executable prints, for te_alpha and te_beta, "NAME ADDRESS VADDR":
 * the run-time address and the ELF virtual address computed from the
 * load bias the dynamic loader reports (dl_iterate_phdr), then waits
 * for EOF on stdin so the test can symbolize it while it runs.
 */
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define KEEP __attribute__((noinline, used))

#ifdef TESTELF_LIB
int te_lib_alpha(int x);
int te_lib_beta(int x);
void *te_lib_hidden_addr(void);

static KEEP int te_lib_hidden(int x)
{
	asm volatile("" : "+r"(x));
	return x * 7 + 1;
}

KEEP int te_lib_alpha(int x)
{
	asm volatile("" : "+r"(x));
	return te_lib_hidden(x) + 3;
}

KEEP int te_lib_beta(int x)
{
	asm volatile("" : "+r"(x));
	return x * x - 5;
}

/* The address of a function that has no dynamic symbol. */
KEEP void *te_lib_hidden_addr(void)
{
	return (void *)te_lib_hidden;
}
#else
int te_alpha(int x);
int te_beta(int x);

KEEP int te_alpha(int x)
{
	asm volatile("" : "+r"(x));
	return x + 11;
}

KEEP int te_beta(int x)
{
	asm volatile("" : "+r"(x));
	return x * 13;
}

/* The executable is the first object dl_iterate_phdr reports. */
static int first_bias(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = (uintptr_t)info->dlpi_addr;
	return 1;
}

int main(void)
{
	uintptr_t bias = 0;
	char buf[64];

	dl_iterate_phdr(first_bias, &bias);
	printf("te_alpha %#lx %#lx\n", (unsigned long)(uintptr_t)te_alpha,
	       (unsigned long)((uintptr_t)te_alpha - bias));
	printf("te_beta %#lx %#lx\n", (unsigned long)(uintptr_t)te_beta,
	       (unsigned long)((uintptr_t)te_beta - bias));
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return te_alpha(1) == 12 && te_beta(1) == 13 ? 0 : 1;
}
#endif
