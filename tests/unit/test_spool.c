// SPDX-License-Identifier: GPL-2.0
/*
 * The notification spool on a real directory: round trip, crash at every
 * byte of the last record, corrupt CRC, compaction, limits with counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

#define SEG0 "0000000000000000.seg"

struct fixture {
	char dir[64];
	char path[128];		/* dir/SEG0 */
	unsigned int drops[SPOOL_REASON__COUNT];
	char last_drop_dest[64];
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bw-spool-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" SEG0, f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->dir);
	free(f);
	return 0;
}

static void on_drop(void *ctx, const struct spool_entry *e, enum spool_reason r)
{
	struct fixture *f = ctx;

	assert_true(r > SPOOL_DELIVERED && r < SPOOL_REASON__COUNT);
	assert_non_null(e->dest);
	f->drops[r]++;
	snprintf(f->last_drop_dest, sizeof(f->last_drop_dest), "%s", e->dest);
}

static struct spool *open_with(struct fixture *f, uint64_t max_bytes,
			       uint64_t max_age, uint64_t compact_min)
{
	struct spool_opts o = {
		.dir = f->dir, .max_bytes = max_bytes, .max_age_ms = max_age,
		.compact_min_bytes = compact_min, .on_drop = on_drop, .ctx = f,
	};
	char why[256] = "";
	struct spool *s = spool__open(&o, why, sizeof(why));

	if (!s)
		fail_msg("spool__open: %s", why);
	return s;
}

static struct spool *open_spool(struct fixture *f)
{
	return open_with(f, 0, 0, 0);
}

static uint64_t add(struct spool *s, const char *dest, const char *body)
{
	uint64_t id = 0;

	assert_int_equal(spool__append(s, dest, 1000, body, strlen(body), &id), 0);
	assert_true(id > 0);
	return id;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void expect_body(const struct spool *s, uint64_t id, const char *dest,
			const char *body)
{
	const struct spool_entry *e = spool__get(s, id);

	assert_non_null(e);
	assert_string_equal(e->dest, dest);
	assert_int_equal(e->len, strlen(body));
	assert_memory_equal(e->body, body, e->len);
	assert_int_equal(e->created_ms, 1000);
}

static unsigned int count_files(const char *dir, const char *suffix)
{
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);

		if (l > sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_spool(f);
	uint64_t a, b, c, d;

	a = add(s, "am1", "{\"alert\":1}");
	b = add(s, "am2", "{\"alert\":1}");
	c = add(s, "hook", "");
	assert_true(spool__dirty(s));
	assert_int_equal(spool__ack(s, b, SPOOL_DELIVERED), 0);
	assert_int_equal(spool__ack(s, b, SPOOL_DELIVERED), -ENOENT);
	assert_int_equal(spool__commit(s), 0);
	assert_false(spool__dirty(s));
	assert_int_equal(spool__stats(s)->commits, 1);
	assert_int_equal(spool__stats(s)->live, 2);
	/* not committed: lost with the process, like a crash */
	d = add(s, "am1", "uncommitted");
	spool__free(s);

	s = open_spool(f);
	assert_int_equal(spool__stats(s)->replayed, 2);
	expect_body(s, a, "am1", "{\"alert\":1}");
	assert_null(spool__get(s, b));
	expect_body(s, c, "hook", "");
	assert_null(spool__get(s, d));
	/* ids never go back, even over lost ones' numbers */
	assert_true(add(s, "am1", "x") > c);
	assert_int_equal(spool__stats(s)->torn_tails, 0);
	assert_int_equal(spool__stats(s)->corrupt_segments, 0);
	for (unsigned int r = 0; r < SPOOL_REASON__COUNT; r++)
		assert_int_equal(f->drops[r], 0);
	spool__free(s);
}

/* Two committed NOTEs then a third record (NOTE or ACK) committed alone:
 * returns the file size before the third. */
static off_t three_records(struct fixture *f, bool last_is_ack, uint64_t ids[2])
{
	struct spool *s;
	off_t before;

	rm_rf(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	s = open_spool(f);
	ids[0] = add(s, "am", "first");
	ids[1] = add(s, "am", "second");
	assert_int_equal(spool__commit(s), 0);
	before = file_size(f->path);
	if (last_is_ack)
		assert_int_equal(spool__ack(s, ids[1], SPOOL_DELIVERED), 0);
	else
		add(s, "am", "third record");
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	return before;
}

/*
 * A crash while the last record was being written leaves any prefix of
 * it: every one must reopen with the earlier records intact, the cut one
 * gone and counted, and the file usable afterwards.
 */
static void crash_at_every_byte(struct fixture *f, bool last_is_ack)
{
	uint64_t ids[2];
	off_t start = three_records(f, last_is_ack, ids);
	off_t end = file_size(f->path);

	assert_true(end > start);
	for (off_t cut = start; cut < end; cut++) {
		struct spool *s;
		uint64_t id;

		three_records(f, last_is_ack, ids);
		assert_int_equal(truncate(f->path, cut), 0);
		s = open_spool(f);
		assert_int_equal(spool__stats(s)->torn_tails, cut > start);
		assert_int_equal(spool__stats(s)->corrupt_segments, 0);
		assert_int_equal(spool__stats(s)->live, 2);
		expect_body(s, ids[0], "am", "first");
		/* a lost ACK only means the NOTE is sent again */
		expect_body(s, ids[1], "am", "second");
		assert_int_equal(file_size(f->path), start);
		id = add(s, "am", "after the crash");
		assert_int_equal(spool__commit(s), 0);
		spool__free(s);

		s = open_spool(f);
		assert_int_equal(spool__stats(s)->torn_tails, 0);
		assert_int_equal(spool__stats(s)->live, 3);
		expect_body(s, id, "am", "after the crash");
		spool__free(s);
	}
}

static void test_torn_note(void **state)
{
	crash_at_every_byte(*state, false);
}

static void test_torn_ack(void **state)
{
	crash_at_every_byte(*state, true);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void test_corrupt_crc(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_spool(f);
	uint64_t a, b, c;
	off_t after_a;
	char aside[160];

	a = add(s, "am", "one");
	assert_int_equal(spool__commit(s), 0);
	after_a = file_size(f->path);
	b = add(s, "am", "two");
	c = add(s, "am", "three");
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);

	/* a payload byte of the middle record: not a torn tail */
	flip_byte(f->path, after_a + 14);
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->corrupt_segments, 1);
	assert_int_equal(spool__stats(s)->torn_tails, 0);
	expect_body(s, a, "am", "one");
	assert_null(spool__get(s, b));
	assert_null(spool__get(s, c));
	snprintf(aside, sizeof(aside), "%s/" SEG0 ".corrupt", f->dir);
	assert_int_equal(access(aside, F_OK), 0);
	assert_int_equal(count_files(f->dir, ".seg"), 1);
	spool__free(s);

	/* what was kept was rewritten: a clean reopen */
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->corrupt_segments, 0);
	assert_int_equal(spool__stats(s)->live, 1);
	expect_body(s, a, "am", "one");
	spool__free(s);
}

static void test_corrupt_header(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_spool(f);
	char seg[160];

	add(s, "am", "one");
	add(s, "am", "two");
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	/* the type byte of the first record */
	flip_byte(f->path, 8);
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->corrupt_segments, 1);
	assert_int_equal(spool__stats(s)->live, 0);
	add(s, "am", "three");
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->live, 1);
	spool__free(s);
	/* garbage named like a segment (the newest): cut away as a torn tail */
	snprintf(seg, sizeof(seg), "%s/00000000000000ff.seg", f->dir);
	FILE *fp = fopen(seg, "w");

	assert_non_null(fp);
	fputs("this is not a spool segment at all, it is text", fp);
	fclose(fp);
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->live, 1);
	spool__free(s);
}

static void test_compaction(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_with(f, 0, 0, 4096);
	uint64_t ids[200];
	char body[64];

	for (int i = 0; i < 200; i++) {
		snprintf(body, sizeof(body), "notification number %d", i);
		ids[i] = add(s, i % 2 ? "am" : "hook", body);
	}
	assert_int_equal(spool__commit(s), 0);
	assert_int_equal(spool__stats(s)->compactions, 0);
	/* ack all but every 20th: 190 dead */
	for (int i = 0; i < 200; i++)
		if (i % 20)
			assert_int_equal(spool__ack(s, ids[i], SPOOL_DELIVERED), 0);
	assert_int_equal(spool__commit(s), 0);
	assert_int_equal(spool__stats(s)->compactions, 1);
	assert_int_equal(spool__stats(s)->live, 10);
	assert_int_equal(spool__stats(s)->file_bytes, spool__stats(s)->live_bytes);
	assert_int_equal(count_files(f->dir, ".seg"), 1);
	assert_int_equal(count_files(f->dir, ".tmp"), 0);
	/* appends after compaction go to the compacted segment */
	uint64_t extra = add(s, "am", "after compaction");

	assert_int_equal(spool__commit(s), 0);
	spool__free(s);

	s = open_with(f, 0, 0, 4096);
	assert_int_equal(spool__stats(s)->live, 11);
	for (int i = 0; i < 200; i += 20) {
		snprintf(body, sizeof(body), "notification number %d", i);
		expect_body(s, ids[i], i % 2 ? "am" : "hook", body);
	}
	expect_body(s, extra, "am", "after compaction");
	spool__free(s);
}

/* A crash after the compacted segment was renamed but before the old ones
 * were removed: both are replayed, ids seen twice count once. */
static void test_compaction_crash(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_spool(f);
	char dup[160], tmp[160], cmd[512];
	uint64_t a, b;

	a = add(s, "am", "one");
	b = add(s, "am", "two");
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	snprintf(dup, sizeof(dup), "%s/0000000000000007.seg", f->dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", f->path, dup);
	assert_int_equal(system(cmd), 0);
	/* and an unfinished one */
	snprintf(tmp, sizeof(tmp), "%s/0000000000000008.seg.tmp", f->dir);
	snprintf(cmd, sizeof(cmd), "head -c 7 %s > %s", f->path, tmp);
	assert_int_equal(system(cmd), 0);

	s = open_spool(f);
	assert_int_equal(spool__stats(s)->live, 2);
	assert_int_equal(spool__stats(s)->corrupt_segments, 0);
	expect_body(s, a, "am", "one");
	expect_body(s, b, "am", "two");
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(spool__ack(s, a, SPOOL_DELIVERED), 0);
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	s = open_spool(f);
	assert_int_equal(spool__stats(s)->live, 1);
	assert_null(spool__get(s, a));
	spool__free(s);
}

/* Small segments: several files, replayed in order, then compacted into
 * one when most of them is dead. */
static void test_rotation(void **state)
{
	struct fixture *f = *state;
	struct spool_opts o = { .dir = f->dir, .segment_bytes = 200,
				.compact_min_bytes = 1000 };
	uint64_t ids[40];
	char why[256], body[32];
	struct spool *s = spool__open(&o, why, sizeof(why));

	assert_non_null(s);
	for (int i = 0; i < 40; i++) {
		snprintf(body, sizeof(body), "n%02d", i);
		ids[i] = add(s, "am", body);
		assert_int_equal(spool__commit(s), 0);
	}
	assert_true(count_files(f->dir, ".seg") > 5);
	spool__free(s);
	s = spool__open(&o, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(spool__stats(s)->live, 40);
	assert_int_equal(spool__stats(s)->torn_tails + spool__stats(s)->corrupt_segments, 0);
	for (int i = 0; i < 38; i++)
		assert_int_equal(spool__ack(s, ids[i], SPOOL_DELIVERED), 0);
	assert_int_equal(spool__commit(s), 0);
	assert_int_equal(spool__stats(s)->compactions, 1);
	assert_true(count_files(f->dir, ".seg") <= 2);
	spool__free(s);
	s = spool__open(&o, why, sizeof(why));
	assert_non_null(s);
	assert_int_equal(spool__stats(s)->live, 2);
	expect_body(s, ids[38], "am", "n38");
	expect_body(s, ids[39], "am", "n39");
	/* new ids continue after the highest ever given */
	assert_true(add(s, "am", "x") > ids[39]);
	spool__free(s);
}

static void test_byte_limit(void **state)
{
	struct fixture *f = *state;
	/* each record: 12 + 18 + 2 + 10 = 42 bytes; 5 fit in 210 */
	struct spool *s = open_with(f, 210, 0, 0);
	uint64_t ids[8];

	for (int i = 0; i < 8; i++)
		ids[i] = add(s, i == 2 ? "hk" : "am", "0123456789");
	assert_int_equal(spool__stats(s)->live, 5);
	assert_true(spool__stats(s)->live_bytes <= 210);
	assert_int_equal(f->drops[SPOOL_FULL], 3);
	assert_int_equal(spool__stats(s)->dropped[SPOOL_FULL], 3);
	assert_string_equal(f->last_drop_dest, "hk");
	for (int i = 0; i < 3; i++)
		assert_null(spool__get(s, ids[i]));
	for (int i = 3; i < 8; i++)
		assert_non_null(spool__get(s, ids[i]));
	/* larger than the whole limit: refused, nothing evicted */
	char big[300];

	memset(big, 'x', sizeof(big));
	uint64_t id;

	assert_int_equal(spool__append(s, "am", 0, big, sizeof(big), &id), -E2BIG);
	assert_int_equal(spool__append(s, "", 0, "x", 1, &id), -EINVAL);
	assert_int_equal(spool__stats(s)->live, 5);
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);

	/* the evictions are on disk; a lower limit applies at open */
	memset(f->drops, 0, sizeof(f->drops));
	s = open_with(f, 100, 0, 0);
	assert_int_equal(spool__stats(s)->live, 2);
	assert_int_equal(f->drops[SPOOL_FULL], 3);
	assert_non_null(spool__get(s, ids[7]));
	spool__free(s);
	s = open_with(f, 100, 0, 0);
	assert_int_equal(spool__stats(s)->live, 2);
	spool__free(s);
}

static void test_age_limit(void **state)
{
	struct fixture *f = *state;
	struct spool *s = open_with(f, 0, 60000, 0);
	uint64_t old, young;

	assert_int_equal(spool__append(s, "am", 1000, "old", 3, &old), 0);
	assert_int_equal(spool__append(s, "am", 50000, "young", 5, &young), 0);
	assert_int_equal(spool__expire(s, 61000), 0);
	assert_int_equal(spool__expire(s, 61001), 1);
	assert_int_equal(f->drops[SPOOL_EXPIRED], 1);
	assert_int_equal(spool__stats(s)->dropped[SPOOL_EXPIRED], 1);
	assert_null(spool__get(s, old));
	assert_non_null(spool__get(s, young));
	assert_int_equal(spool__commit(s), 0);
	spool__free(s);
	s = open_with(f, 0, 60000, 0);
	assert_int_equal(spool__stats(s)->live, 1);
	assert_int_equal(spool__expire(s, 200000), 1);
	assert_int_equal(spool__stats(s)->live, 0);
	spool__free(s);
	assert_string_equal(spool_reason__name(SPOOL_EXPIRED), "expired");
	assert_string_equal(spool_reason__name(SPOOL_QUEUE_FULL), "queue_full");
}

static void test_unusable_dir(void **state)
{
	struct spool_opts o = { .dir = "/proc/definitely/not/here" };
	char why[256] = "";

	(void)state;
	assert_null(spool__open(&o, why, sizeof(why)));
	assert_non_null(strstr(why, "/proc/definitely/not/here"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_age_limit, setup, teardown),
		cmocka_unit_test(test_unusable_dir),
	};

	/* the torn-tail loop would print a warning per byte */
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
