// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <sys/sdt.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kfeatures.h"
#include "feature_probe.skel.h"
#include "libbpf_glue.h"
#include "log.h"

#define TRACEFS_MAGIC	0x74726163
#define TRACEFS_PATH	"/sys/kernel/tracing"

static const char *const feature_names[FEAT__COUNT] = {
	[FEAT_TP_BTF] = "tp_btf",
	[FEAT_RAW_TP] = "raw_tp",
	[FEAT_TRACEPOINT] = "tracepoint",
	[FEAT_FENTRY] = "fentry",
	[FEAT_KPROBE] = "kprobe",
	[FEAT_UPROBE] = "uprobe",
	[FEAT_USDT] = "usdt",
	[FEAT_RINGBUF] = "ringbuf",
	[FEAT_BPF_STATS] = "bpf_stats",
};

const char *feature__name(enum feature f)
{
	return f < FEAT__COUNT ? feature_names[f] : "?";
}

/* Target of the uprobe and USDT probes: a function in bpfwatch itself. */
__attribute__((noinline, used)) int bw_feature_probe_target(int x);
__attribute__((noinline, used)) int bw_feature_probe_target(int x)
{
	DTRACE_PROBE1(bpfwatch, feature_probe, x);
	asm volatile("" : "+r"(x));
	return x + 1;
}

int tracefs__ensure(char *why, size_t len)
{
	struct statfs st;

	if (statfs(TRACEFS_PATH, &st) == 0 && st.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("tracefs", TRACEFS_PATH, "tracefs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
		pr_info("tracefs: mounted at %s", TRACEFS_PATH);
		return 0;
	}
	snprintf(why, len, "tracefs is not mounted and mounting it failed (%s); "
		 "run 'mount -t tracefs nodev %s' as root", strerror(errno),
		 TRACEFS_PATH);
	return -errno;
}

static bool kprobes_configured(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0 ||
	       access(TRACEFS_PATH "/kprobe_events", F_OK) == 0;
}

static struct bpf_link *attach_one(struct bpf_program *prog, enum feature f)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = "bw_feature_probe_target");

	switch (f) {
	case FEAT_UPROBE:
		return bpf_program__attach_uprobe_opts(prog, getpid(),
						       "/proc/self/exe", 0, &uopts);
	case FEAT_USDT:
		return bpf_program__attach_usdt(prog, getpid(), "/proc/self/exe",
						"bpfwatch", "feature_probe", NULL);
	default:
		return bpf_program__attach(prog);
	}
}

static void try_prog(struct features *f, enum feature feat)
{
	struct feature_probe_bpf *skel;
	struct bpf_program *prog, *want = NULL;
	struct bpf_link *link;
	char *why = f->reason[feat];
	size_t whylen = sizeof(f->reason[feat]);
	int err;

	skel = feature_probe_bpf__open();
	if (!skel) {
		snprintf(why, whylen, "cannot open probe object: %s", strerror(errno));
		return;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		const char *name = bpf_program__name(prog);
		bool mine = strcmp(name + strlen("feat_"), feature_names[feat]) == 0;

		bpf_program__set_autoload(prog, mine);
		if (mine)
			want = prog;
	}
	if (!want) {
		snprintf(why, whylen, "no probe program for %s", feature_names[feat]);
		goto out;
	}
	err = feature_probe_bpf__load(skel);
	if (err) {
		if (feat == FEAT_FENTRY && (err == -EPERM || err == -EACCES))
			snprintf(why, whylen, "loading an fentry program is not permitted "
				 "by this kernel (%s)", strerror(-err));
		else
			snprintf(why, whylen, "load failed: %s", strerror(-err));
		goto out;
	}
	link = attach_one(want, feat);
	if (!link) {
		err = -errno;
		if (feat == FEAT_KPROBE && !kprobes_configured())
			snprintf(why, whylen, "kernel built without CONFIG_KPROBES "
				 "(no kprobe PMU or kprobe_events)");
		else if (feat == FEAT_FENTRY && (err == -EPERM || err == -EACCES))
			snprintf(why, whylen, "attaching an fentry program is not "
				 "permitted by this kernel (%s)", strerror(-err));
		else
			snprintf(why, whylen, "attach failed: %s", strerror(-err));
		goto out;
	}
	if (feat == FEAT_UPROBE || feat == FEAT_USDT)
		bw_feature_probe_target(1);
	bpf_link__destroy(link);
	f->ok[feat] = true;
	why[0] = '\0';
out:
	feature_probe_bpf__destroy(skel);
}

void features__probe(struct features *f)
{
	int fd, rc;

	memset(f, 0, sizeof(*f));
	libbpf_glue__quiet(true);
	for (int i = FEAT_TP_BTF; i <= FEAT_USDT; i++)
		try_prog(f, (enum feature)i);
	libbpf_glue__quiet(false);

	rc = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (rc == 1)
		f->ok[FEAT_RINGBUF] = true;
	else if (rc == 0)
		snprintf(f->reason[FEAT_RINGBUF], sizeof(f->reason[0]),
			 "BPF_MAP_TYPE_RINGBUF not supported by this kernel");
	else
		snprintf(f->reason[FEAT_RINGBUF], sizeof(f->reason[0]),
			 "creating a ring buffer failed: %s", strerror(-rc));

	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd >= 0) {
		f->ok[FEAT_BPF_STATS] = true;
		close(fd);
	} else {
		snprintf(f->reason[FEAT_BPF_STATS], sizeof(f->reason[0]),
			 "BPF_ENABLE_STATS failed: %s", strerror(errno));
	}
}
