// SPDX-License-Identifier: GPL-2.0
/* targets: selectors (pids, comm, exe, cgroup) against process facts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "targets.h"

static void test_cgroup_patterns(void **state)
{
	(void)state;
	/* a plain path covers itself and what is below it, nothing else */
	assert_true(targets__cgroup_match("/kubepods.slice", "/kubepods.slice"));
	assert_true(targets__cgroup_match("/kubepods.slice", "/kubepods.slice/pod1/ctr"));
	assert_true(targets__cgroup_match("/kubepods.slice/", "/kubepods.slice/pod1"));
	assert_false(targets__cgroup_match("/kubepods.slice", "/kubepods.slicer"));
	assert_false(targets__cgroup_match("/kubepods.slice", "/system.slice"));
	assert_true(targets__cgroup_match("/", "/anything/at/all"));
	/* globs: '*' crosses '/' so a glob can name a subtree */
	assert_true(targets__cgroup_match("/docker/*", "/docker/0123abcd"));
	assert_true(targets__cgroup_match("/system.slice/docker-*.scope",
					  "/system.slice/docker-0123.scope"));
	assert_false(targets__cgroup_match("/system.slice/docker-*.scope",
					   "/system.slice/nginx.service"));
	assert_true(targets__cgroup_match("*/cri-containerd-*",
					  "/kubepods.slice/x/cri-containerd-ab.scope"));
}

static void test_match_any_selector(void **state)
{
	uint32_t pids[] = { 10, 20 };
	struct targets_cfg t = { .set = true, .pids = pids, .npids = 2 };
	struct proc_facts pf = { .pid = 10 };

	(void)state;
	assert_true(targets__match(&t, &pf));
	pf.pid = 11;
	assert_false(targets__match(&t, &pf));
	assert_int_equal(targets__needs(&t), 0);

	assert_int_equal(regcomp(&t.comm_re, "^ngin", REG_EXTENDED | REG_NOSUB), 0);
	t.comm_set = true;
	t.exe = "/usr/sbin/postgres";
	t.cgroup = "/docker";
	assert_int_equal(targets__needs(&t),
			 TARGET_NEED_COMM | TARGET_NEED_EXE | TARGET_NEED_CGROUP);
	pf.comm = "nginx";
	assert_true(targets__match(&t, &pf));
	pf.comm = "bash";
	assert_false(targets__match(&t, &pf));
	pf.exe = "/usr/sbin/postgres";
	assert_true(targets__match(&t, &pf));
	pf.exe = "/usr/sbin/postgres2";
	assert_false(targets__match(&t, &pf));
	pf.cgroup = "/docker/abc";
	assert_true(targets__match(&t, &pf));
	/* facts that could not be read never match */
	pf.comm = pf.exe = pf.cgroup = NULL;
	assert_false(targets__match(&t, &pf));
	regfree(&t.comm_re);
}

struct find {
	uint32_t pid;
	int found;
	char comm[64], exe[4096], cgroup[4096];
};

static int find_self(const struct proc_facts *pf, void *ctx)
{
	struct find *f = ctx;

	if (pf->pid != f->pid)
		return 0;
	f->found++;
	snprintf(f->comm, sizeof(f->comm), "%s", pf->comm ? pf->comm : "(null)");
	snprintf(f->exe, sizeof(f->exe), "%s", pf->exe ? pf->exe : "(null)");
	snprintf(f->cgroup, sizeof(f->cgroup), "%s", pf->cgroup ? pf->cgroup : "(null)");
	return 0;
}

static void test_scan_reads_facts(void **state)
{
	struct find f = { .pid = (uint32_t)getpid() };
	char exe[4096];
	ssize_t n;

	(void)state;
	assert_int_equal(targets__scan(TARGET_NEED_COMM | TARGET_NEED_EXE |
				       TARGET_NEED_CGROUP, find_self, &f), 0);
	assert_int_equal(f.found, 1);
	assert_string_equal(f.comm, "test_targets");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(f.exe, exe);
	assert_int_equal(f.cgroup[0], '/');
	/* facts not asked for are not read */
	memset(&f, 0, sizeof(f));
	f.pid = (uint32_t)getpid();
	assert_int_equal(targets__scan(0, find_self, &f), 0);
	assert_string_equal(f.comm, "(null)");
	assert_true(targets__pid_exists(f.pid));
	assert_false(targets__pid_exists(4194305));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_patterns),
		cmocka_unit_test(test_match_any_selector),
		cmocka_unit_test(test_scan_reads_facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
