// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "log.h"

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Match one path component; writes the id and returns true on a match. */
static bool component_id(const char *c, size_t n, bool under_runtime,
			 char *out, size_t len)
{
	static const char *const scope_prefixes[] = {
		"docker-", "cri-containerd-", "crio-", "libpod-",
	};
	const char *suffix = ".scope";
	size_t slen = strlen(suffix);

	if (n > slen && memcmp(c + n - slen, suffix, slen) == 0) {
		size_t body = n - slen;

		for (size_t i = 0; i < sizeof(scope_prefixes) / sizeof(*scope_prefixes); i++) {
			size_t plen = strlen(scope_prefixes[i]);

			if (body > plen && memcmp(c, scope_prefixes[i], plen) == 0 &&
			    is_hex64(c + plen, body - plen)) {
				snprintf(out, len, "%.*s", (int)(body - plen), c + plen);
				return true;
			}
		}
		if (body > 8 && memcmp(c, "machine-", 8) == 0) {
			/* systemd escapes '-' in machine names as \x2d. */
			size_t o = 0;

			for (size_t i = 8; i < body && o + 1 < len; i++) {
				if (i + 3 < body && c[i] == '\\' && c[i + 1] == 'x' &&
				    c[i + 2] == '2' && c[i + 3] == 'd') {
					out[o++] = '-';
					i += 3;
				} else {
					out[o++] = c[i];
				}
			}
			if (len)
				out[o] = '\0';
			return o > 0;
		}
		return false;
	}
	if (under_runtime && is_hex64(c, n)) {
		snprintf(out, len, "%.*s", (int)n, c);
		return true;
	}
	return false;
}

bool cgroup__container_id(const char *path, char *out, size_t len)
{
	bool under_runtime = false, found = false;
	const char *p = path;

	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 6 && memcmp(p, "docker", 6) == 0) ||
		    (n >= 8 && memcmp(p, "kubepods", 8) == 0) ||
		    (n >= 3 && memcmp(p, "pod", 3) == 0) ||
		    (n >= 10 && memcmp(p, "containerd", 10) == 0) ||
		    (n >= 4 && memcmp(p, "crio", 4) == 0) ||
		    (n == 6 && memcmp(p, "libpod", 6) == 0))
			under_runtime = true;
		if (component_id(p, n, under_runtime, out, len))
			found = true;
		p += n;
	}
	return found;
}

struct cg_entry {
	uint64_t id;
	char *path;
	uint64_t checked;	/* tick generation it was last verified in */
};

struct cgroup_cache {
	char *root;
	size_t rootlen;
	struct cg_entry *ents;	/* sorted by id */
	uint32_t n, cap, max;
	uint64_t overflows;
	uint64_t gen;		/* bumped by cgroup_cache__new_tick() */
	bool scanned_this_tick;
};

static int find_cgroup2_root(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char mnt[2048];

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		/* fields: id parent maj:min root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %2047s", mnt) == 1) {
			snprintf(buf, len, "%s", mnt);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

struct cgroup_cache *cgroup_cache__new(const char *root, uint32_t max_entries)
{
	struct cgroup_cache *c;
	char found[2048];
	int err;

	if (!root) {
		err = find_cgroup2_root(found, sizeof(found));
		if (err) {
			errno = -err;
			return NULL;
		}
		root = found;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->root = strdup(root);
	if (!c->root) {
		free(c);
		return NULL;
	}
	c->rootlen = strlen(c->root);
	while (c->rootlen > 1 && c->root[c->rootlen - 1] == '/')
		c->root[--c->rootlen] = '\0';
	c->max = max_entries ? max_entries : 1;
	return c;
}

static void clear(struct cgroup_cache *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		free(c->ents[i].path);
	c->n = 0;
}

void cgroup_cache__free(struct cgroup_cache *c)
{
	if (!c)
		return;
	clear(c);
	free(c->ents);
	free(c->root);
	free(c);
}

/* nftw has no context pointer; scans are single-threaded. */
static struct cgroup_cache *scanning;

static int scan_cb(const char *fpath, const struct stat *sb, int type,
		   struct FTW *ftw)
{
	struct cgroup_cache *c = scanning;
	const char *rel;
	char *path;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (c->n == c->max) {
		c->overflows++;
		return 0;
	}
	if (c->n == c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : 256;
		struct cg_entry *e;

		if (ncap > c->max)
			ncap = c->max;
		e = realloc(c->ents, (size_t)ncap * sizeof(*e));
		if (!e)
			return -1;
		c->ents = e;
		c->cap = ncap;
	}
	rel = fpath + c->rootlen;
	path = strdup(*rel ? rel : "/");
	if (!path)
		return -1;
	c->ents[c->n].id = sb->st_ino;
	c->ents[c->n].path = path;
	c->ents[c->n].checked = c->gen;
	c->n++;
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct cg_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int rescan(struct cgroup_cache *c)
{
	int err;

	clear(c);
	scanning = c;
	err = nftw(c->root, scan_cb, 32, FTW_PHYS | FTW_MOUNT);
	scanning = NULL;
	if (err) {
		pr_warn("cgroup: scanning %s failed: %s", c->root, strerror(errno));
		return -errno;
	}
	qsort(c->ents, c->n, sizeof(*c->ents), cmp_ent);
	return 0;
}

static struct cg_entry *lookup(const struct cgroup_cache *c, uint64_t id)
{
	uint32_t lo = 0, hi = c->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->ents[mid].id == id)
			return &c->ents[mid];
		if (c->ents[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A cached entry is checked once per tick: the directory must still exist
 * with the same inode (cgroup ids are not reused, but paths are). */
static bool still_there(struct cgroup_cache *c, struct cg_entry *e)
{
	char path[4096];
	struct stat st;

	if (e->checked == c->gen)
		return true;
	snprintf(path, sizeof(path), "%s%s", c->root, e->path);
	if (stat(path, &st) || st.st_ino != e->id)
		return false;
	e->checked = c->gen;
	return true;
}

const char *cgroup_cache__path(struct cgroup_cache *c, uint64_t id)
{
	struct cg_entry *e = lookup(c, id);

	if (e && still_there(c, e))
		return e->path;
	if (c->scanned_this_tick)
		return NULL;
	c->scanned_this_tick = true;
	if (rescan(c))
		return NULL;
	e = lookup(c, id);
	return e ? e->path : NULL;
}

void cgroup_cache__new_tick(struct cgroup_cache *c)
{
	c->scanned_this_tick = false;
	c->gen++;
}

uint32_t cgroup_cache__size(const struct cgroup_cache *c)
{
	return c->n;
}

uint64_t cgroup_cache__overflows(const struct cgroup_cache *c)
{
	return c->overflows;
}
