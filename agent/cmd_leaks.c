// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfwatch leaks --pid N`: which stacks hold the memory a process has
 * allocated and not freed, traced precisely with uprobes on its allocator
 * for a limited time (agent/allocprobe.c, bpf/memleak.bpf.c), symbolized
 * (agent/symbolize.c) and printed as a table, folded stacks or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "allocprobe.h"
#include "bpfutil.h"
#include "calib.h"
#include "cmds.h"
#include "config.h"
#include "kfeatures.h"
#include "libbpf_glue.h"
#include "log.h"
#include "symbolize.h"

#define MAX_FRAMES	64
#define SYM_FILES	64	/* ELF files the symbolizer keeps open */
#define FRAME_LEN	512

static const char leaks_usage[] =
"usage: bpfwatch leaks --pid N [--duration 60s] [--sample-bytes 512KiB]\n"
"                      [--top 10] [--lib PATH] [--format table|folded|json]\n"
"                      [--min-age 0s] [--max-allocs 131072] [--max-stacks 8192]\n"
"\n"
"Trace the allocations of process N (malloc, calloc, realloc, reallocarray,\n"
"posix_memalign, aligned_alloc, memalign, valloc, pvalloc, free in its\n"
"allocator; mmap, munmap, mremap in libc) and show which call stacks hold\n"
"the memory still allocated at the end: after --duration, at Ctrl-C, or\n"
"when the process exits.\n"
"\n"
"  --lib PATH          the allocator library: a path, or a name such as\n"
"                      libjemalloc.so.2 (default libc.so.6)\n"
"  --sample-bytes N    byte-weighted sampling: an allocation of s bytes is\n"
"                      traced with probability 1-exp(-s/N) and counted 1/p\n"
"                      times, so totals are estimates (unbiased); 0 or 1\n"
"                      traces every allocation, exactly (default 512KiB)\n"
"  --min-age D         only allocations older than D (default 0s)\n"
"  --top K             stacks shown by the table and JSON (default 10)\n"
"  --max-allocs N      outstanding allocations kept in the kernel, up to\n"
"                      1048576 (default 131072, about 100 bytes of kernel\n"
"                      memory each); past it the oldest are evicted (counted)\n"
"  --max-stacks N      distinct stacks kept, 1..65536 (default 8192, 512\n"
"                      bytes of kernel memory each); past it allocations\n"
"                      have no stack (counted)\n"
"  --format F          table (default), folded (\"frame;frame bytes\" lines\n"
"                      for flame graph tools, every stack) or json\n"
"\n"
"Stacks are walked with frame pointers: code built without them (most\n"
"distribution libraries) ends a stack early.\n"
"\n"
"Cost: every allocator call of the process traps into the kernel (a uprobe\n"
"and a uretprobe: microseconds per call, against nanoseconds for malloc\n"
"itself); sampling does not remove the trap.  Trace for a limited time.\n";

enum fmt { FMT_TABLE, FMT_FOLDED, FMT_JSON };

/* "512KiB", "1MiB", "4096", "64k": bytes into *@v; 0 or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *v)
{
	static const struct { const char *sfx; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1ULL << 10 }, { "kb", 1ULL << 10 },
		{ "kib", 1ULL << 10 }, { "m", 1ULL << 20 }, { "mb", 1ULL << 20 },
		{ "mib", 1ULL << 20 }, { "g", 1ULL << 30 }, { "gb", 1ULL << 30 },
		{ "gib", 1ULL << 30 },
	};
	unsigned long long n;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].sfx))
			continue;
		if (n > UINT64_MAX / units[i].mul)
			return -EINVAL;
		*v = n * units[i].mul;
		return 0;
	}
	return -EINVAL;
}

static void fmt_bytes(double b, char *buf, size_t len)
{
	if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1f GiB", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MiB", b / (1024.0 * 1024));
	else if (b >= 1024.0)
		snprintf(buf, len, "%.1f KiB", b / 1024.0);
	else
		snprintf(buf, len, "%.0f B", b);
}

/* The comm of @pid, or "?". */
static void read_comm(uint32_t pid, char *buf, size_t len)
{
	char fn[64];
	FILE *f;

	snprintf(fn, sizeof(fn), "/proc/%u/comm", pid);
	snprintf(buf, len, "?");
	f = fopen(fn, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

struct leaks_opts {
	uint32_t pid;
	uint64_t dur_ms, min_age_ms, sample;
	unsigned long top, max_allocs, max_stacks;
	const char *lib;
	enum fmt fmt;
};

struct frame {
	uint64_t ip;
	struct sym_info si;
	char text[FRAME_LEN];	/* "symbol+0xoff" or "module+0xaddr" */
	char name[FRAME_LEN];	/* folded: symbol, or module+0xaddr */
	char module[FRAME_LEN];
	char build_id[48];
};

/* Symbolize the stack @id into @fr; the number of frames. */
static int stack_frames(const struct allocprobe *ap, struct symbolizer *sz,
			uint64_t id, struct frame *fr)
{
	uint64_t ips[MAX_FRAMES];
	int n = allocprobe__stack_ips(ap, id, ips, MAX_FRAMES);

	for (int i = 0; i < n; i++) {
		struct sym_info si;

		fr[i].ip = ips[i];
		symbolizer__resolve(sz, ips[i], &si);
		sym_info__format(&si, false, fr[i].text, sizeof(fr[i].text));
		if (si.symbol)
			snprintf(fr[i].name, sizeof(fr[i].name), "%s", si.symbol);
		else
			sym_info__format(&si, true, fr[i].name, sizeof(fr[i].name));
		snprintf(fr[i].module, sizeof(fr[i].module), "%s",
			 si.module ? si.module : "");
		snprintf(fr[i].build_id, sizeof(fr[i].build_id), "%s", si.build_id);
		fr[i].si = si;
		/* borrowed pointers die with the next resolve: keep copies */
		fr[i].si.symbol = si.symbol ? fr[i].name : NULL;
		fr[i].si.module = fr[i].module;
		fr[i].si.build_id = fr[i].build_id;
	}
	return n < 0 ? 0 : n;
}

struct report {
	const struct leaks_opts *o;
	struct allocprobe_stack *st;
	size_t nst;
	int64_t agg_missing;
	struct allocprobe_counters c;
	double elapsed, total_bytes, total_count;
	uint64_t now;
	bool exited;
	char comm[64];
};

static void print_table(const struct report *r, const struct allocprobe *ap,
			struct symbolizer *sz, struct frame *fr)
{
	bool sampled = r->o->sample > 1;
	char b[32];
	size_t k = r->nst < r->o->top ? r->nst : r->o->top;

	fmt_bytes(r->total_bytes, b, sizeof(b));
	printf("pid %u (%s): %s%s outstanding in %s%.0f allocations from %zu stacks",
	       r->o->pid, r->comm, sampled ? "~" : "", b, sampled ? "~" : "",
	       r->total_count, r->nst);
	if (r->o->min_age_ms)
		printf(", at least %.1f s old", (double)r->o->min_age_ms / 1e3);
	printf("\n");
	if (!r->nst) {
		printf("no outstanding allocations seen\n");
		return;
	}
	printf("top %zu by outstanding bytes%s:\n", k,
	       sampled ? " (estimated from byte-weighted samples)" : "");
	for (size_t i = 0; i < k; i++) {
		const struct allocprobe_stack *s = &r->st[i];
		int n = stack_frames(ap, sz, s->stack_key, fr);
		double age = (double)(r->now - s->oldest_ns) / 1e9;

		fmt_bytes(s->est_bytes, b, sizeof(b));
		printf("\n#%zu  %s%s (%.0f B) in %s%.0f allocations, oldest %.1f s",
		       i + 1, sampled ? "~" : "", b, s->est_bytes, sampled ? "~" : "",
		       s->est_count, age);
		if (sampled)
			printf(" [%" PRIu64 " sampled, %" PRIu64 " B]", s->count, s->bytes);
		printf("\n");
		if (!s->stack_key)
			printf("    [no stack: stack map full or no user stack]\n");
		for (int j = 0; j < n; j++)
			printf("    %-40s %s\n", fr[j].text, fr[j].si.module);
	}
}

/* Folded stacks, outermost frame first, one line per stack. */
static void print_folded(const struct report *r, const struct allocprobe *ap,
			 struct symbolizer *sz, struct frame *fr)
{
	for (size_t i = 0; i < r->nst; i++) {
		const struct allocprobe_stack *s = &r->st[i];
		int n = stack_frames(ap, sz, s->stack_key, fr);

		printf("%s", r->comm);
		if (!n)
			printf(";[no_stack]");
		for (int j = n - 1; j >= 0; j--) {
			/* ';' and ' ' separate fields: keep them out of names */
			for (char *p = fr[j].name; *p; p++)
				if (*p == ';' || *p == ' ')
					*p = '_';
			printf(";%s", fr[j].name);
		}
		printf(" %.0f\n", s->est_bytes);
	}
}

static cJSON *counters_json(const struct report *r, struct symbolizer *sz)
{
	const struct allocprobe_counters *c = &r->c;
	struct symbolizer_stats ss;
	cJSON *j = cJSON_CreateObject(), *y;

	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "calls", (double)c->calls);
	cJSON_AddNumberToObject(j, "allocations_recorded", (double)c->allocs);
	cJSON_AddNumberToObject(j, "frees_recorded", (double)c->frees);
	cJSON_AddNumberToObject(j, "allocations_failed", (double)c->failed);
	cJSON_AddNumberToObject(j, "allocations_unsampled", (double)c->unsampled);
	cJSON_AddNumberToObject(j, "frees_unknown", (double)c->lost_frees);
	cJSON_AddNumberToObject(j, "stack_map_full", (double)c->stack_full);
	cJSON_AddNumberToObject(j, "stack_errors", (double)c->stack_err);
	cJSON_AddNumberToObject(j, "evictions", (double)c->evicted);
	cJSON_AddNumberToObject(j, "evicted_by_count", (double)(r->agg_missing > 0 ?
								  r->agg_missing : 0));
	cJSON_AddNumberToObject(j, "insert_failures", (double)c->insert_fail);
	cJSON_AddNumberToObject(j, "addresses_reused", (double)c->replaced);
	cJSON_AddNumberToObject(j, "threads_map_full", (double)c->pending_full);
	cJSON_AddNumberToObject(j, "returns_unmatched", (double)c->missing);
	cJSON_AddNumberToObject(j, "nested_calls", (double)c->nested);
	symbolizer__stats(sz, &ss);
	y = cJSON_AddObjectToObject(j, "symbolizer");
	if (y) {
		cJSON_AddNumberToObject(y, "hits", (double)ss.hits);
		cJSON_AddNumberToObject(y, "misses", (double)ss.misses);
		cJSON_AddNumberToObject(y, "evictions", (double)ss.evictions);
		cJSON_AddNumberToObject(y, "errors", (double)ss.errors);
	}
	return j;
}

static int print_json(const struct report *r, const struct allocprobe *ap,
		      struct symbolizer *sz, struct frame *fr, const char *probes)
{
	cJSON *doc = cJSON_CreateObject(), *arr, *cnt;
	size_t k = r->nst < r->o->top ? r->nst : r->o->top;
	char addr[32], *text;

	if (!doc)
		return -ENOMEM;
	cJSON_AddNumberToObject(doc, "pid", r->o->pid);
	cJSON_AddStringToObject(doc, "comm", r->comm);
	cJSON_AddStringToObject(doc, "probes", probes);
	cJSON_AddNumberToObject(doc, "duration_seconds", r->elapsed);
	cJSON_AddBoolToObject(doc, "process_exited", r->exited);
	cJSON_AddNumberToObject(doc, "sample_bytes", (double)r->o->sample);
	cJSON_AddBoolToObject(doc, "estimated", r->o->sample > 1);
	cJSON_AddNumberToObject(doc, "min_age_seconds", (double)r->o->min_age_ms / 1e3);
	cJSON_AddNumberToObject(doc, "outstanding_bytes", r->total_bytes);
	cJSON_AddNumberToObject(doc, "outstanding_allocations", r->total_count);
	cJSON_AddNumberToObject(doc, "stacks_total", (double)r->nst);
	arr = cJSON_AddArrayToObject(doc, "stacks");
	for (size_t i = 0; arr && i < k; i++) {
		const struct allocprobe_stack *s = &r->st[i];
		int n = stack_frames(ap, sz, s->stack_key, fr);
		cJSON *js = cJSON_CreateObject(), *frames;

		if (!js)
			break;
		cJSON_AddItemToArray(arr, js);
		cJSON_AddNumberToObject(js, "bytes", s->est_bytes);
		cJSON_AddNumberToObject(js, "allocations", s->est_count);
		cJSON_AddNumberToObject(js, "sampled_bytes", (double)s->bytes);
		cJSON_AddNumberToObject(js, "sampled_allocations", (double)s->count);
		cJSON_AddNumberToObject(js, "oldest_age_seconds",
					(double)(r->now - s->oldest_ns) / 1e9);
		snprintf(addr, sizeof(addr), "%016" PRIx64, s->stack_key);
		cJSON_AddStringToObject(js, "stack_key", addr);
		frames = cJSON_AddArrayToObject(js, "frames");
		for (int j = 0; frames && j < n; j++) {
			cJSON *f = cJSON_CreateObject();

			if (!f)
				break;
			cJSON_AddItemToArray(frames, f);
			snprintf(addr, sizeof(addr), "0x%" PRIx64, fr[j].ip);
			cJSON_AddStringToObject(f, "address", addr);
			if (fr[j].si.symbol)
				cJSON_AddStringToObject(f, "symbol", fr[j].si.symbol);
			else
				cJSON_AddNullToObject(f, "symbol");
			cJSON_AddNumberToObject(f, "offset", (double)fr[j].si.offset);
			cJSON_AddStringToObject(f, "module", fr[j].module);
			cJSON_AddStringToObject(f, "build_id", fr[j].build_id);
		}
	}
	cnt = counters_json(r, sz);
	if (cnt)
		cJSON_AddItemToObject(doc, "counters", cnt);
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	cJSON_free(text);
	return 0;
}

/* Counters, and a warning for each that means results are incomplete. */
static void print_counters(const struct report *r, FILE *out)
{
	const struct allocprobe_counters *c = &r->c;
	uint64_t evicted = c->evicted;

	if (r->agg_missing > 0 && (uint64_t)r->agg_missing > evicted)
		evicted = (uint64_t)r->agg_missing;
	fprintf(out, "\ncounters: %" PRIu64 " calls, %" PRIu64 " allocations and %"
		PRIu64 " frees recorded, %" PRIu64 " failed allocations, %" PRIu64
		" unsampled; stack map full %" PRIu64 ", evictions %" PRIu64
		", frees of unknown addresses %" PRIu64 "\n", c->calls, c->allocs,
		c->frees, c->failed, c->unsampled, c->stack_full, evicted,
		c->lost_frees);
	if (c->stack_full || c->stack_err)
		fprintf(stderr, "bpfwatch leaks: warning: %" PRIu64 " allocations have "
			"no stack (stack map full: %" PRIu64 ", no user stack: %"
			PRIu64 "); they are under [no stack]\n",
			c->stack_full + c->stack_err, c->stack_full, c->stack_err);
	if (evicted || c->insert_fail)
		fprintf(stderr, "bpfwatch leaks: warning: the allocation map was full: "
			"%" PRIu64 " older allocations were evicted (%" PRIu64 " not "
			"recorded); outstanding totals are too low.  Use a larger "
			"--sample-bytes or --max-allocs\n", evicted, c->insert_fail);
	if (c->lost_frees)
		fprintf(stderr, "bpfwatch leaks: warning: %" PRIu64 " frees of addresses "
			"not recorded (allocated before tracing started%s, or evicted)\n",
			c->lost_frees, r->o->sample > 1 ? ", not sampled" : "");
	if (c->pending_full)
		fprintf(stderr, "bpfwatch leaks: warning: %" PRIu64 " allocator calls "
			"not traced: too many threads inside allocator calls\n",
			c->pending_full);
}

static int parse_opts(int argc, char **argv, struct leaks_opts *o)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "sample-bytes", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 't' },
		{ "lib", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "min-age", required_argument, NULL, 'm' },
		{ "max-allocs", required_argument, NULL, 'A' },
		{ "max-stacks", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:s:t:l:f:m:h", opts, NULL)) != -1) {
		unsigned long v;
		char *end;

		switch (c) {
		case 'p':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > 4194304) {
				fprintf(stderr, "bpfwatch leaks: --pid: invalid pid '%s'\n",
					optarg);
				return 2;
			}
			o->pid = (uint32_t)v;
			break;
		case 'd':
			if (config__parse_duration(optarg, &o->dur_ms) || !o->dur_ms) {
				fprintf(stderr, "bpfwatch leaks: --duration: expected a "
					"duration such as 60s or 5m, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (strcmp(optarg, "0") &&
			    config__parse_duration(optarg, &o->min_age_ms)) {
				fprintf(stderr, "bpfwatch leaks: --min-age: expected a "
					"duration such as 5s, got '%s'\n", optarg);
				return 2;
			}
			if (!strcmp(optarg, "0"))
				o->min_age_ms = 0;
			break;
		case 's':
			if (parse_bytes(optarg, &o->sample) || o->sample > (1ULL << 30)) {
				fprintf(stderr, "bpfwatch leaks: --sample-bytes: expected a "
					"size from 0 to 1GiB such as 512KiB, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v || v > 100000) {
				fprintf(stderr, "bpfwatch leaks: --top: expected a number "
					"from 1 to 100000, got '%s'\n", optarg);
				return 2;
			}
			o->top = v;
			break;
		case 'A':
		case 'S':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !v ||
			    v > (c == 'A' ? 1048576UL : (unsigned long)ALLOCPROBE_MAX_STACKS)) {
				fprintf(stderr, "bpfwatch leaks: --%s: expected a number "
					"from 1 to %d, got '%s'\n",
					c == 'A' ? "max-allocs" : "max-stacks",
					c == 'A' ? 1048576 : ALLOCPROBE_MAX_STACKS, optarg);
				return 2;
			}
			if (c == 'A')
				o->max_allocs = v;
			else
				o->max_stacks = v;
			break;
		case 'l':
			if (!*optarg) {
				fprintf(stderr, "bpfwatch leaks: --lib: empty\n");
				return 2;
			}
			o->lib = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "table")) {
				o->fmt = FMT_TABLE;
			} else if (!strcmp(optarg, "folded")) {
				o->fmt = FMT_FOLDED;
			} else if (!strcmp(optarg, "json")) {
				o->fmt = FMT_JSON;
			} else {
				fprintf(stderr, "bpfwatch leaks: --format: expected table, "
					"folded or json, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(leaks_usage, stdout);
			return 1;
		default:
			fputs(leaks_usage, stderr);
			return 2;
		}
	}
	if (optind != argc || !o->pid) {
		fprintf(stderr, "bpfwatch leaks: %s\n\n%s", o->pid ?
			"unexpected argument" : "--pid is required", leaks_usage);
		return 2;
	}
	return 0;
}

/*
 * Say what tracing costs, with the figure measured here when it can be:
 * empty probes on this process's own copy of the traced malloc and free
 * (the same file, so the same instructions trapped); else the calibrated
 * cost of a uprobe on a function of ours that starts like malloc does.
 */
static void announce_cost(const struct allocprobe *ap)
{
	double pair = 0, trap = 0, ret = 0;

	if (allocprobe__pair_cost(ap, &pair) == 0)
		fprintf(stderr, "cost: every allocator call traps into the kernel: "
			"about %.1f us per malloc+free pair measured here with empty "
			"probes (malloc alone takes tens of ns)\n", pair / 1e3);
	else if (calib__uprobe_ns(allocprobe__malloc_insn(ap), CALIB_CALLS,
				  CALIB_RUNS, &trap) == 0 &&
		 calib__uprobe_ns(CALIB_RETURN, CALIB_CALLS, CALIB_RUNS, &ret) == 0)
		fprintf(stderr, "cost: every allocator call traps into the kernel: "
			"at least %.1f us per call (uprobe %.1f us + uretprobe %.1f us "
			"measured here on a function of bpfwatch; malloc itself takes "
			"tens of ns)\n", (trap + ret) / 1e3, trap / 1e3, ret / 1e3);
	else
		fprintf(stderr, "cost: every allocator call traps into the kernel: "
			"several microseconds per call (uprobe + uretprobe; malloc "
			"itself takes tens of ns)\n");
}

int cmd_leaks(int argc, char **argv)
{
	struct leaks_opts o = {
		.dur_ms = 60000, .sample = 512 * 1024, .top = 10, .fmt = FMT_TABLE,
	};
	struct allocprobe_opts ao = {};
	struct allocprobe *ap = NULL;
	struct symbolizer *sz = NULL;
	struct frame *fr = NULL;
	struct report r = { .o = &o };
	struct timespec t0, now;
	char err[1024], why[256], b[32];
	uint64_t last_calls = 0;
	double last_t = 0;
	int sfd = -1, pfd = -1, rc;
	sigset_t mask;
	FILE *info;

	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	info = o.fmt == FMT_TABLE ? stdout : stderr;
	log_set_level(LOG_WARN);
	libbpf_glue__init();
	if (tracefs__ensure(why, sizeof(why)))
		pr_debug("%s", why);
	read_comm(o.pid, r.comm, sizeof(r.comm));
	pfd = (int)syscall(SYS_pidfd_open, (pid_t)o.pid, 0);
	if (pfd < 0) {
		fprintf(stderr, "bpfwatch leaks: pid %u: %s\n", o.pid,
			errno == ESRCH ? "no such process" : strerror(errno));
		return 1;
	}
	sz = symbolizer__new(o.pid, SYM_FILES);
	fr = calloc(MAX_FRAMES, sizeof(*fr));
	if (!sz || !fr) {
		fprintf(stderr, "bpfwatch leaks: pid %u: reading its mappings: %s\n",
			o.pid, strerror(errno));
		rc = 1;
		goto out;
	}
	ao.pid = o.pid;
	ao.lib = o.lib;
	ao.sample_bytes = o.sample;
	ao.max_allocs = (uint32_t)o.max_allocs;
	ao.max_stacks = (uint32_t)o.max_stacks;
	ap = allocprobe__new(&ao, err, sizeof(err));
	if (!ap) {
		fprintf(stderr, "bpfwatch leaks: %s\n", err);
		rc = 1;
		goto out;
	}
	announce_cost(ap);
	fmt_bytes((double)o.sample, b, sizeof(b));
	fprintf(stderr, "tracing pid %u (%s) for %.1f s (Ctrl-C to stop early): %s\n"
		"sampling: %s%s%s\n", o.pid, r.comm, (double)o.dur_ms / 1e3,
		allocprobe__describe(ap), o.sample > 1 ? "byte-weighted, one sample "
		"per " : "off, every allocation is traced", o.sample > 1 ? b : "",
		o.sample > 1 ? " allocated on average (figures are estimates)" : "");

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = sfd, .events = POLLIN }, { .fd = pfd, .events = POLLIN },
		};
		double elapsed;

		if (poll(fds, 2, 1000) > 0) {
			if (fds[1].revents)
				r.exited = true;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (double)(now.tv_sec - t0.tv_sec) +
			  (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		/* new libraries (dlopen) show up in the maps */
		symbolizer__refresh(sz);
		allocprobe__counters(ap, &r.c);
		if (isatty(STDERR_FILENO)) {
			fmt_bytes(r.c.live_bytes, b, sizeof(b));
			fprintf(stderr, "\r%6.1fs  %.0f calls/s  outstanding %s%s in %s%"
				PRId64 " allocations   ", elapsed,
				(double)(r.c.calls - last_calls) / (elapsed - last_t),
				o.sample > 1 ? "~" : "", b, o.sample > 1 ? "sampled " : "",
				r.c.live_allocs);
		}
		last_calls = r.c.calls;
		last_t = elapsed;
		if (elapsed * 1000 >= (double)o.dur_ms)
			break;
	}
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	clock_gettime(CLOCK_MONOTONIC, &now);
	r.elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
	if (!r.exited) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };

		r.exited = poll(&p, 1, 0) > 0;
	}
	if (r.exited)
		fprintf(stderr, "pid %u exited: what it had not freed is shown\n", o.pid);
	else
		symbolizer__refresh(sz);
	/* Ages count to the end of tracing; then a still frame: the walk
	 * below must not race the process. */
	r.now = bw_mono_ns();
	allocprobe__detach(ap);
	rc = allocprobe__stacks(ap, o.min_age_ms * 1000000ULL, &r.st, &r.nst,
				&r.agg_missing);
	allocprobe__counters(ap, &r.c);
	if (rc) {
		fprintf(stderr, "bpfwatch leaks: reading the allocation map: %s\n",
			strerror(-rc));
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < r.nst; i++) {
		r.total_bytes += r.st[i].est_bytes;
		r.total_count += r.st[i].est_count;
	}
	switch (o.fmt) {
	case FMT_TABLE:
		print_table(&r, ap, sz, fr);
		break;
	case FMT_FOLDED:
		print_folded(&r, ap, sz, fr);
		break;
	case FMT_JSON:
		if (print_json(&r, ap, sz, fr, allocprobe__describe(ap))) {
			fprintf(stderr, "bpfwatch leaks: out of memory\n");
			rc = 1;
			goto out;
		}
		break;
	}
	print_counters(&r, info);
	fflush(stdout);
	rc = 0;
out:
	if (sfd >= 0)
		close(sfd);
	close(pfd);
	allocprobe__free(ap);
	symbolizer__free(sz);
	free(r.st);
	free(fr);
	return rc;
}
