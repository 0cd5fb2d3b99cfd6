// SPDX-License-Identifier: GPL-2.0
/* Container ids from cgroup paths, and the cgroup id -> path cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect(const char *path, const char *want)
{
	char out[128] = "unset";
	bool ok = cgroup__container_id(path, out, sizeof(out));

	if (!want) {
		if (ok)
			fail_msg("%s: expected no container, got '%s'", path, out);
		return;
	}
	if (!ok)
		fail_msg("%s: expected '%s', got no container", path, want);
	assert_string_equal(out, want);
}

static void test_layouts(void **state)
{
	(void)state;
	expect("/docker/" ID64, ID64);
	expect("/system.slice/docker-" ID64 ".scope", ID64);
	expect("/kubepods/burstable/pod1234-5678/" ID64, ID64);
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/"
	       "cri-containerd-" ID64 ".scope", ID64);
	expect("/kubepods.slice/kubepods-pod1.slice/crio-" ID64 ".scope", ID64);
	expect("/machine.slice/libpod-" ID64 ".scope/container", ID64);
	expect("/machine.slice/machine-web\\x2d1.scope", "web-1");
}

static void test_not_containers(void **state)
{
	(void)state;
	expect("/", NULL);
	expect("/system.slice/nginx.service", NULL);
	expect("/user.slice/user-1000.slice/session-2.scope", NULL);
	/* conmon is cri-o's monitor, not the container */
	expect("/kubepods.slice/crio-conmon-" ID64 ".scope", NULL);
	/* a bare 64-hex directory outside any runtime tree is not trusted */
	expect("/" ID64, NULL);
	/* uppercase or short ids are not container ids */
	expect("/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL);
	expect("/system.slice/docker-0123.scope", NULL);
}

static void test_truncation(void **state)
{
	char out[8];

	(void)state;
	assert_true(cgroup__container_id("/docker/" ID64, out, sizeof(out)));
	assert_string_equal(out, "0123456");
}

static void test_cache_walk(void **state)
{
	char root[] = "/tmp/bw-cgroup-XXXXXX", path[256];
	struct cgroup_cache *c;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/docker", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/docker/" ID64, root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(stat(path, &st), 0);

	c = cgroup_cache__new(root, 16);
	assert_non_null(c);
	assert_string_equal(cgroup_cache__path(c, st.st_ino), "/docker/" ID64);
	assert_int_equal(cgroup_cache__size(c), 3);
	/* A missing id triggers at most one rescan per tick. */
	assert_null(cgroup_cache__path(c, 1));
	rmdir(path);
	assert_non_null(cgroup_cache__path(c, st.st_ino));	/* cached, checked this tick */
	cgroup_cache__new_tick(c);
	assert_null(cgroup_cache__path(c, st.st_ino));	/* re-checked: gone */
	assert_null(cgroup_cache__path(c, 12345));		/* no second rescan */
	cgroup_cache__free(c);

	/* Bounded: a cache of 1 entry counts what it could not hold. */
	c = cgroup_cache__new(root, 1);
	assert_non_null(c);
	assert_null(cgroup_cache__path(c, 424242));
	assert_int_equal(cgroup_cache__size(c), 1);
	assert_int_equal(cgroup_cache__overflows(c), 1);
	cgroup_cache__free(c);
	snprintf(path, sizeof(path), "%s/docker", root);
	rmdir(path);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_not_containers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_cache_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
