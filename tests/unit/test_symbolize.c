// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the symbolizer (agent/symbolize.c) on the test ELF files
 * the Makefile builds into $(OUT)/testelf/ from tests/testelf/testelf.c:
 * a shared library loaded here with dlopen (and its stripped copy), and a
 * PIE executable (and its stripped copy) run as a child that prints the
 * addresses of its functions.  Expected values come from other sources
 * than the symbolizer's: dlsym, the dynamic loader's load bias (dlinfo,
 * dl_iterate_phdr in the child), the build-ids given to the linker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbolize.h"

#define EXE_BUILD_ID "7e57e1f0000000000000000000000000000000a1"
#define LIB_BUILD_ID "7e57e1f0000000000000000000000000000000b2"

static char dir[PATH_MAX / 2];	/* $(OUT)/testelf, canonical */

static void path_of(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
}

static int setup(void **state)
{
	char exe[PATH_MAX];
	ssize_t n;

	(void)state;
	/* This test is $(OUT)/tests/test_symbolize; the files $(OUT)/testelf/. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	if (strlen(exe) >= sizeof(dir) - 16)
		return -1;
	snprintf(dir, sizeof(dir), "%.*s/../testelf", (int)(sizeof(dir) - 16),
		 dirname(exe));
	if (!realpath(dir, exe) || strlen(exe) >= sizeof(dir)) {
		fprintf(stderr, "test_symbolize: %s: %s (make build-tests builds it)\n",
			dir, strerror(errno));
		return -1;
	}
	memcpy(dir, exe, strlen(exe) + 1);
	return 0;
}

/* ---- a child running a test executable ------------------------------------ */

struct child {
	pid_t pid;
	int in;			/* its stdin: closing it ends it */
	uint64_t addr[2];	/* te_alpha, te_beta at run time */
	uint64_t vaddr[2];	/* and their ELF virtual addresses */
};

static void child_start(struct child *c, const char *path)
{
	int in[2], out[2];
	char name[32];
	FILE *f;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[1]);
		close(out[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	f = fdopen(out[0], "r");
	assert_non_null(f);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fscanf(f, "%31s %" SCNx64 " %" SCNx64, name,
					&c->addr[i], &c->vaddr[i]), 3);
	fclose(f);
}

static void child_stop(struct child *c)
{
	int status;

	close(c->in);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_pie_executable(void **state)
{
	char path[PATH_MAX];
	struct sym_info si;
	struct symbolizer *s;
	struct child c;

	(void)state;
	path_of(path, "testprog");
	child_start(&c, path);
	s = symbolizer__new((uint32_t)c.pid, 4);
	assert_non_null(s);
	assert_int_equal(symbolizer__resolve(s, c.addr[0], &si), 0);
	assert_string_equal(si.module, path);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "te_alpha");
	assert_int_equal(si.offset, 0);
	assert_string_equal(si.build_id, EXE_BUILD_ID);
	assert_false(si.deleted);
	assert_int_equal(symbolizer__resolve(s, c.addr[1] + 2, &si), 0);
	assert_string_equal(si.symbol, "te_beta");
	assert_int_equal(si.offset, 2);
	/* outside every mapping */
	assert_int_equal(symbolizer__resolve(s, 0x10, &si), -ENOENT);
	assert_null(si.module);
	symbolizer__free(s);
	child_stop(&c);
}

static void test_stripped_executable(void **state)
{
	char path[PATH_MAX], buf[PATH_MAX + 64];
	struct sym_info si;
	struct symbolizer *s;
	struct child c;

	(void)state;
	path_of(path, "testprog.stripped");
	child_start(&c, path);
	s = symbolizer__new((uint32_t)c.pid, 4);
	assert_non_null(s);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(symbolizer__resolve(s, c.addr[i] + 1, &si), 0);
		assert_string_equal(si.module, path);
		assert_null(si.symbol);
		/* module + address: the loader's bias gives the same vaddr */
		assert_int_equal(si.offset, c.vaddr[i] + 1);
		/* strip keeps the build-id note */
		assert_string_equal(si.build_id, EXE_BUILD_ID);
	}
	sym_info__format(&si, true, buf, sizeof(buf));
	snprintf(path, sizeof(path), "testprog.stripped+0x%" PRIx64, c.vaddr[1] + 1);
	assert_string_equal(buf, path);
	symbolizer__free(s);
	child_stop(&c);
}

/* Copy test file @name to a new temporary file; its path into @tmp
 * (a mkstemp template). */
static void copy_to_tmp(const char *name, char *tmp)
{
	char src[PATH_MAX];
	struct stat st;
	int in, out;

	path_of(src, name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	out = mkstemp(tmp);
	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(in, &st), 0);
	assert_int_equal(sendfile(out, in, NULL, (size_t)st.st_size), st.st_size);
	assert_int_equal(fchmod(out, 0700), 0);
	close(in);
	close(out);
}

/*
 * A deleted executable, or one replaced by another file at its path (an
 * upgrade: rename over it), is read through /proc/PID/map_files (root
 * only): the file now at the path is a stripped copy, which would lose
 * the symbols, or resolve wrong ones.
 */
static void run_gone(bool replace)
{
	char tmp[] = "/tmp/bw-symtest.XXXXXX", tmp2[] = "/tmp/bw-symtest.XXXXXX";
	struct sym_info si;
	struct symbolizer *s;
	struct child c;

	if (geteuid() != 0) {
		skip();	/* map_files needs CAP_SYS_ADMIN */
		return;
	}
	copy_to_tmp("testprog", tmp);
	child_start(&c, tmp);
	if (replace) {
		copy_to_tmp("testprog.stripped", tmp2);
		assert_int_equal(rename(tmp2, tmp), 0);
	} else {
		assert_int_equal(unlink(tmp), 0);
	}
	s = symbolizer__new((uint32_t)c.pid, 4);
	assert_non_null(s);
	assert_int_equal(symbolizer__resolve(s, c.addr[0] + 3, &si), 0);
	assert_true(si.deleted);
	assert_string_equal(si.module, tmp);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "te_alpha");
	assert_int_equal(si.offset, 3);
	assert_string_equal(si.build_id, EXE_BUILD_ID);
	symbolizer__free(s);
	child_stop(&c);
	if (replace)
		unlink(tmp);
}

static void test_deleted_executable(void **state)
{
	(void)state;
	run_gone(false);
}

static void test_replaced_executable(void **state)
{
	(void)state;
	run_gone(true);
}

/* The library's address of @sym and its load bias (from the loader). */
static void *lib_open(const char *name, char *path, uintptr_t *bias)
{
	struct link_map *lm;
	void *h;

	path_of(path, name);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	assert_int_equal(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
	*bias = lm->l_addr;
	return h;
}

static void test_shared_library(void **state)
{
	char path[PATH_MAX];
	struct symbolizer_stats st;
	struct sym_info si;
	struct symbolizer *s;
	uintptr_t bias, alpha, hidden;
	void *(*hidden_addr)(void);
	void *h;

	(void)state;
	/* Mapped after the symbolizer read the maps: unknown until refresh. */
	s = symbolizer__new((uint32_t)getpid(), 8);
	assert_non_null(s);
	h = lib_open("libtestelf.so", path, &bias);
	alpha = (uintptr_t)dlsym(h, "te_lib_alpha");
	assert_true(alpha != 0);
	assert_int_equal(symbolizer__resolve(s, alpha, &si), -ENOENT);
	assert_int_equal(symbolizer__refresh(s), 0);

	assert_int_equal(symbolizer__resolve(s, alpha + 5, &si), 0);
	assert_string_equal(si.module, path);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "te_lib_alpha");
	assert_int_equal(si.offset, 5);
	assert_string_equal(si.build_id, LIB_BUILD_ID);

	/* a static function: in .symtab only */
	*(void **)&hidden_addr = dlsym(h, "te_lib_hidden_addr");
	assert_non_null(hidden_addr);
	hidden = (uintptr_t)hidden_addr();
	assert_int_equal(symbolizer__resolve(s, hidden, &si), 0);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "te_lib_hidden");
	assert_int_equal(si.offset, 0);

	/* a function of this test itself (PIE or not) */
	assert_int_equal(symbolizer__resolve(s, (uintptr_t)symbolizer__resolve + 1,
					     &si), 0);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "symbolizer__resolve");
	assert_int_equal(si.offset, 1);

	symbolizer__stats(s, &st);
	assert_int_equal(st.misses, 2);		/* the library, this test */
	assert_int_equal(st.hits, 1);		/* the library again */
	assert_int_equal(st.evictions, 0);
	symbolizer__free(s);
	dlclose(h);
}

static void test_stripped_library(void **state)
{
	char path[PATH_MAX];
	struct sym_info si;
	struct symbolizer *s;
	uintptr_t bias, alpha, hidden;
	void *(*hidden_addr)(void);
	void *h;

	(void)state;
	h = lib_open("libtestelf-stripped.so", path, &bias);
	s = symbolizer__new((uint32_t)getpid(), 8);
	assert_non_null(s);
	/* exported: still in .dynsym */
	alpha = (uintptr_t)dlsym(h, "te_lib_alpha");
	assert_int_equal(symbolizer__resolve(s, alpha + 1, &si), 0);
	assert_string_equal(si.module, path);
	assert_non_null(si.symbol);
	assert_string_equal(si.symbol, "te_lib_alpha");
	assert_int_equal(si.offset, 1);
	assert_string_equal(si.build_id, LIB_BUILD_ID);
	/* static: gone, so module + address (the loader's bias agrees) */
	*(void **)&hidden_addr = dlsym(h, "te_lib_hidden_addr");
	hidden = (uintptr_t)hidden_addr();
	assert_int_equal(symbolizer__resolve(s, hidden, &si), 0);
	assert_null(si.symbol);
	assert_int_equal(si.offset, hidden - bias);
	symbolizer__free(s);
	dlclose(h);
}

/* A one-file cache: alternating modules evict each other. */
static void test_cache_eviction(void **state)
{
	char path[PATH_MAX];
	struct symbolizer_stats st;
	struct sym_info si;
	struct symbolizer *s;
	uintptr_t bias, alpha, self = (uintptr_t)symbolizer__new;
	void *h;

	(void)state;
	h = lib_open("libtestelf.so", path, &bias);
	alpha = (uintptr_t)dlsym(h, "te_lib_alpha");
	s = symbolizer__new((uint32_t)getpid(), 1);
	assert_non_null(s);
	assert_int_equal(symbolizer__resolve(s, alpha, &si), 0);	/* miss */
	assert_int_equal(symbolizer__resolve(s, alpha, &si), 0);	/* hit */
	assert_string_equal(si.symbol, "te_lib_alpha");
	assert_int_equal(symbolizer__resolve(s, self, &si), 0);	/* miss, evict */
	assert_string_equal(si.symbol, "symbolizer__new");
	assert_int_equal(symbolizer__resolve(s, alpha, &si), 0);	/* miss, evict */
	assert_string_equal(si.symbol, "te_lib_alpha");
	symbolizer__stats(s, &st);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.open_files, 1);
	assert_int_equal(st.errors, 0);
	symbolizer__free(s);
	dlclose(h);
}

static void test_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_null(symbolizer__new(0, 4));
	assert_int_equal(errno, EINVAL);
	assert_null(symbolizer__new((uint32_t)getpid(), 0));
	assert_int_equal(errno, EINVAL);
	/* pid_max is at most 4194304 */
	assert_null(symbolizer__new(4194304 + 1, 4));
	assert_int_equal(errno, ESRCH);
	symbolizer__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pie_executable),
		cmocka_unit_test(test_stripped_executable),
		cmocka_unit_test(test_deleted_executable),
		cmocka_unit_test(test_replaced_executable),
		cmocka_unit_test(test_shared_library),
		cmocka_unit_test(test_stripped_library),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
