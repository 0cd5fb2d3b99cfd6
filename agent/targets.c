// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "targets.h"

unsigned int targets__needs(const struct targets_cfg *t)
{
	return (t->comm_set ? TARGET_NEED_COMM : 0) |
	       (t->exe ? TARGET_NEED_EXE : 0) |
	       (t->cgroup ? TARGET_NEED_CGROUP : 0);
}

bool targets__cgroup_match(const char *pattern, const char *cgroup)
{
	size_t n;

	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, cgroup, 0) == 0;
	n = strlen(pattern);
	while (n > 1 && pattern[n - 1] == '/')
		n--;
	if (strncmp(pattern, cgroup, n) != 0)
		return false;
	return cgroup[n] == '\0' || cgroup[n] == '/' || n == 1;
}

bool targets__match(const struct targets_cfg *t, const struct proc_facts *pf)
{
	for (size_t i = 0; i < t->npids; i++)
		if (t->pids[i] == pf->pid)
			return true;
	if (t->comm_set && pf->comm && regexec(&t->comm_re, pf->comm, 0, NULL, 0) == 0)
		return true;
	if (t->exe && pf->exe && strcmp(t->exe, pf->exe) == 0)
		return true;
	if (t->cgroup && pf->cgroup && targets__cgroup_match(t->cgroup, pf->cgroup))
		return true;
	return false;
}

bool targets__pid_exists(uint32_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return access(path, F_OK) == 0;
}

static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* The cgroup v2 path: the "0::/path" line of /proc/PID/cgroup. */
static bool read_cgroup(uint32_t pid, char *buf, size_t len)
{
	char path[40], line[4096];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 3);
			ok = true;
			break;
		}
	}
	fclose(f);
	return ok;
}

void targets__read_facts(uint32_t pid, unsigned int need, struct proc_facts *pf,
			 struct proc_facts_buf *buf)
{
	char path[48];
	ssize_t n;

	memset(pf, 0, sizeof(*pf));
	pf->pid = pid;
	if (need & TARGET_NEED_COMM) {
		snprintf(path, sizeof(path), "/proc/%u/comm", pid);
		if (read_line(path, buf->comm, sizeof(buf->comm)))
			pf->comm = buf->comm;
	}
	if (need & TARGET_NEED_EXE) {
		snprintf(path, sizeof(path), "/proc/%u/exe", pid);
		n = readlink(path, buf->exe, sizeof(buf->exe) - 1);
		if (n > 0) {
			buf->exe[n] = '\0';
			pf->exe = buf->exe;
		}
	}
	if ((need & TARGET_NEED_CGROUP) && read_cgroup(pid, buf->cgroup, sizeof(buf->cgroup)))
		pf->cgroup = buf->cgroup;
}

int targets__scan(unsigned int need,
		  int (*cb)(const struct proc_facts *pf, void *ctx), void *ctx)
{
	struct proc_facts_buf *buf;
	struct dirent *de;
	int err = 0;
	DIR *d;

	buf = malloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		free(buf);
		return err;
	}
	while (!err && (de = readdir(d))) {
		struct proc_facts pf;
		unsigned long pid;
		char *end;

		pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid > UINT32_MAX)
			continue;
		targets__read_facts((uint32_t)pid, need, &pf, buf);
		err = cb(&pf, ctx);
	}
	closedir(d);
	free(buf);
	return err;
}
