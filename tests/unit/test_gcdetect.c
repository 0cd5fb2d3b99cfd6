// SPDX-License-Identifier: GPL-2.0
/* Runtime classification for the GC probe: USDT note roles, this test
 * binary's own python-like notes, Go build info, /proc/PID/maps lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

#include "gcdetect.h"

/* The notes CPython's --with-dtrace build has, so that this binary looks
 * like a python interpreter to gcdetect__file(). */
__attribute__((noinline)) static long fake_collect(int gen)
{
	long n = gen * 3;

	DTRACE_PROBE1(python, gc__start, gen);
	DTRACE_PROBE1(python, gc__done, n);
	return n;
}

static void test_note_roles(void **state)
{
	unsigned int rt = 99;

	(void)state;
	assert_int_equal(gcdetect__note_role("python", "gc__start", &rt), GC_NOTE_BEGIN);
	assert_int_equal(rt, GC_PYTHON);
	assert_int_equal(gcdetect__note_role("python", "gc__done", &rt), GC_NOTE_END);
	assert_int_equal(gcdetect__note_role("hotspot", "gc__begin", &rt), GC_NOTE_BEGIN);
	assert_int_equal(rt, GC_HOTSPOT);
	assert_int_equal(gcdetect__note_role("hotspot", "gc__end", &rt), GC_NOTE_END);
	assert_int_equal(gcdetect__note_role("ruby", "gc__sweep__begin", &rt),
			 GC_NOTE_SWEEP_BEGIN);
	assert_int_equal(rt, GC_RUBY);
	assert_int_equal(gcdetect__note_role("ruby", "gc__mark__end", &rt), GC_NOTE_END);
	rt = 99;
	/* same names under another provider, other probes of a runtime */
	assert_int_equal(gcdetect__note_role("node", "gc__start", &rt), GC_NOTE_NONE);
	assert_int_equal(gcdetect__note_role("python", "function__entry", &rt),
			 GC_NOTE_NONE);
	assert_int_equal(gcdetect__note_role("hotspot", "mem__pool__gc__begin", &rt),
			 GC_NOTE_NONE);
	assert_int_equal(rt, 99);
	assert_string_equal(gcdetect__begin_probe(GC_RUBY, true), "gc__sweep__begin");
	assert_string_equal(gcdetect__end_probe(GC_HOTSPOT, false), "gc__end");
	assert_null(gcdetect__begin_probe(GC_GO, false));
	assert_null(gcdetect__provider(GC__COUNT));
}

static void test_own_binary_is_python(void **state)
{
	struct gc_detect d;

	(void)state;
	assert_int_equal(fake_collect(2), 6);
	assert_int_equal(gcdetect__file("/proc/self/exe", &d), 0);
	assert_int_equal(d.runtime, GC_PYTHON);
	assert_true(d.usable);
	assert_false(d.sweep);
}

static void test_not_runtimes(void **state)
{
	struct gc_detect d;

	(void)state;
	assert_int_equal(gcdetect__file("/etc/hostname", &d), 0);	/* not ELF */
	assert_int_equal(d.runtime, -1);
	assert_int_equal(gcdetect__file("/nonexistent/bin", &d), -ENOENT);
	/* an ordinary ELF library: neither notes nor Go */
	if (access("/lib/x86_64-linux-gnu/libz.so.1", R_OK) == 0) {
		assert_int_equal(gcdetect__file("/lib/x86_64-linux-gnu/libz.so.1", &d), 0);
		assert_int_equal(d.runtime, -1);
	}
}

/* Debian's promtool (a test dependency) is a stripped Go binary: the
 * stop/start-the-world functions are found in its pclntab. */
static void test_stripped_go_binary(void **state)
{
	struct gc_detect d;

	(void)state;
	if (access("/usr/bin/promtool", R_OK)) {
		skip();
		return;
	}
	assert_int_equal(gcdetect__file("/usr/bin/promtool", &d), 0);
	assert_int_equal(d.runtime, GC_GO);
	assert_true(d.usable);
	assert_memory_equal(d.go_version, "go1.", 4);
	assert_true(d.go_stop_off > 0);
	assert_true(d.go_start_off > 0);
	assert_true(d.go_stop_off != d.go_start_off);
}

/* A minimal Go 1.18 pclntab with two functions, and broken ones. */
static void test_go_pclntab(void **state)
{
	static const char *const names[2] = { "runtime.b", "runtime.a" };
	unsigned char t[256] = {};
	uint64_t va[2], v;
	uint32_t u;

	(void)state;
	u = 0xfffffff0;
	memcpy(t, &u, 4);
	t[6] = 1;			/* quantum */
	t[7] = 8;			/* pointer size */
	v = 2;				/* nfunc */
	memcpy(t + 8, &v, 8);
	v = 100;			/* funcnametab (word 3) */
	memcpy(t + 8 + 3 * 8, &v, 8);
	v = 128;			/* functab (word 7) */
	memcpy(t + 8 + 7 * 8, &v, 8);
	memcpy(t + 100, "runtime.a\0runtime.b\0", 20);
	/* functab: {entryoff, funcoff} x 2 + end; _func at 128 + funcoff */
	u = 0x10; memcpy(t + 128, &u, 4);
	u = 40; memcpy(t + 132, &u, 4);
	u = 0x80; memcpy(t + 136, &u, 4);
	u = 60; memcpy(t + 140, &u, 4);
	u = 0x10; memcpy(t + 168, &u, 4);	/* _func a: entryoff, nameoff 0 */
	u = 0; memcpy(t + 172, &u, 4);
	u = 0x80; memcpy(t + 188, &u, 4);	/* _func b: nameoff 10 */
	u = 10; memcpy(t + 192, &u, 4);
	assert_int_equal(gcdetect__go_pclntab_find(t, sizeof(t), 0x401000, names, va, 2), 0);
	assert_int_equal(va[0], 0x401080);
	assert_int_equal(va[1], 0x401010);
	/* a name that is not there, a table cut short, an old layout */
	static const char *const other[1] = { "runtime.c" };
	assert_int_equal(gcdetect__go_pclntab_find(t, sizeof(t), 0, other, va, 1), -ENOENT);
	assert_int_equal(gcdetect__go_pclntab_find(t, 130, 0, names, va, 2), -EINVAL);
	u = 0xfffffffb;
	memcpy(t, &u, 4);
	assert_int_equal(gcdetect__go_pclntab_find(t, sizeof(t), 0, names, va, 2), -ENOTSUP);
}

static void test_go_buildinfo(void **state)
{
	unsigned char b[64] = "\xff Go buildinf:";
	char v[32];

	(void)state;
	b[14] = 8;		/* pointer size */
	b[15] = 2;		/* inline strings (Go >= 1.18) */
	b[32] = 8;		/* varint length */
	memcpy(b + 33, "go1.21.5", 8);
	assert_int_equal(gcdetect__go_buildinfo_version(b, 41, v, sizeof(v)), 0);
	assert_string_equal(v, "go1.21.5");
	/* truncated string, too small output, old pointer layout, bad magic */
	assert_int_equal(gcdetect__go_buildinfo_version(b, 40, v, sizeof(v)), -EINVAL);
	assert_int_equal(gcdetect__go_buildinfo_version(b, 41, v, 8), -EINVAL);
	b[15] = 0;
	assert_int_equal(gcdetect__go_buildinfo_version(b, 41, v, sizeof(v)), -EINVAL);
	b[15] = 2;
	b[1] = 'X';
	assert_int_equal(gcdetect__go_buildinfo_version(b, 41, v, sizeof(v)), -EINVAL);
	/* a varint that never ends */
	b[1] = ' ';
	memset(b + 32, 0x80, 32);
	assert_int_equal(gcdetect__go_buildinfo_version(b, 64, v, sizeof(v)), -EINVAL);
}

static void test_go_reason(void **state)
{
	(void)state;
	assert_false(gcdetect__go_has_reason("go1.19.8"));
	assert_false(gcdetect__go_has_reason("go1.20"));
	assert_false(gcdetect__go_has_reason("go1.2"));
	assert_false(gcdetect__go_has_reason(""));
	assert_false(gcdetect__go_has_reason("go1."));
	assert_true(gcdetect__go_has_reason("go1.21"));
	assert_true(gcdetect__go_has_reason("go1.24.3"));
	assert_true(gcdetect__go_has_reason("devel go1.23-4f1e2a3 Tue"));
	assert_string_equal(gcdetect__go_reason_name(1), "mark_termination");
	assert_string_equal(gcdetect__go_reason_name(2), "sweep_termination");
	assert_string_equal(gcdetect__go_reason_name(0), "unknown");
	assert_string_equal(gcdetect__go_reason_name(200), "other");
}

static void test_maps_lines(void **state)
{
	char l1[] = "7f1c2a000000-7f1c2a1b0000 r-xp 00028000 fe:01 1837266"
		    "                    /usr/lib/x86_64-linux-gnu/libc.so.6\n";
	char l2[] = "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0 "
		    "                         [heap]\n";
	char l3[] = "7f00-8f00 r-xp 00000000 103:0a 42 /tmp/x (deleted)\n";
	char l4[] = "7f00-8f00 r-xp 00000000 fe:01\n";
	char l5[] = "7fff0000-7fff1000 rw-p 00000000 00:00 0\n";
	struct maps_entry e;

	(void)state;
	assert_true(gcdetect__parse_maps_line(l1, &e));
	assert_true(e.exec);
	assert_int_equal(e.start, 0x7f1c2a000000ULL);
	assert_int_equal(e.end, 0x7f1c2a1b0000ULL);
	assert_int_equal(e.dev_major, 0xfe);
	assert_int_equal(e.dev_minor, 1);
	assert_int_equal(e.inode, 1837266);
	assert_string_equal(e.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_true(gcdetect__parse_maps_line(l2, &e));
	assert_false(e.exec);
	assert_int_equal(e.inode, 0);
	assert_string_equal(e.path, "[heap]");
	assert_true(gcdetect__parse_maps_line(l3, &e));
	assert_int_equal(e.dev_major, 0x103);
	assert_int_equal(e.dev_minor, 0xa);
	assert_string_equal(e.path, "/tmp/x (deleted)");
	assert_false(gcdetect__parse_maps_line(l4, &e));
	assert_true(gcdetect__parse_maps_line(l5, &e));
	assert_string_equal(e.path, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_roles),
		cmocka_unit_test(test_own_binary_is_python),
		cmocka_unit_test(test_not_runtimes),
		cmocka_unit_test(test_stripped_go_binary),
		cmocka_unit_test(test_go_buildinfo),
		cmocka_unit_test(test_go_pclntab),
		cmocka_unit_test(test_go_reason),
		cmocka_unit_test(test_maps_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
