/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup (v2) id -> path -> container id.
 *
 * BPF programs see a task's cgroup v2 id (kernfs node id, which is the
 * inode number of the cgroup directory); the agent resolves it by walking
 * the cgroup2 mount, caching up to a bounded number of entries, and derives
 * the `container` label from the path.
 */
#ifndef BPFWATCH_CGROUP_H
#define BPFWATCH_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Container id from a cgroup path, for the layouts in use:
 *   docker (cgroupfs)          /docker/<64 hex>
 *   docker (systemd driver)    /system.slice/docker-<64 hex>.scope
 *   containerd / k8s           /kubepods/.../<64 hex>,
 *                              /kubepods.slice/.../cri-containerd-<64 hex>.scope
 *   cri-o                      .../crio-<64 hex>.scope (not crio-conmon-)
 *   podman                     .../libpod-<64 hex>.scope
 *   systemd-nspawn / machined  /machine.slice/machine-<name>.scope
 * The innermost match wins.  Returns true and writes the id (hex, or the
 * machine name) to @out; false when the path is not a container's.
 */
bool cgroup__container_id(const char *path, char *out, size_t len);

struct cgroup_cache;

/* @root: cgroup2 mount point, NULL to find it in /proc/self/mountinfo.
 * Returns NULL with errno set (ENOENT when no cgroup2 is mounted). */
struct cgroup_cache *cgroup_cache__new(const char *root, uint32_t max_entries);
void cgroup_cache__free(struct cgroup_cache *c);

/*
 * Path of cgroup @id relative to the cgroup2 root ("/" for the root),
 * borrowed until the next rescan.  On a miss the hierarchy is rescanned at
 * most once per cgroup_cache__new_tick() period; NULL if the cgroup does
 * not exist (anymore).
 */
const char *cgroup_cache__path(struct cgroup_cache *c, uint64_t id);
/* Allow one more rescan (called once per collection tick). */
void cgroup_cache__new_tick(struct cgroup_cache *c);
/* Entries cached, and times the max_entries limit dropped an entry. */
uint32_t cgroup_cache__size(const struct cgroup_cache *c);
uint64_t cgroup_cache__overflows(const struct cgroup_cache *c);

#endif /* BPFWATCH_CGROUP_H */
