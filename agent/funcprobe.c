// SPDX-License-Identifier: GPL-2.0
/*
 * Function latency probe (see funcprobe.h).
 *
 * funcprobe__new() works in three steps, so one bad entry never costs the
 * others:
 *   1. check every entry on its own: resolve the binary, find the symbol
 *      (libelf) or the USDT note, and fill the entry's reason when that
 *      fails;
 *   2. open the one BPF object, autoload only the program kinds the good
 *      entries need, load it once;
 *   3. attach each good entry with its index as cookie; kernel entries try
 *      fentry (an object of their own sharing the main object's maps: an
 *      fentry program is bound to one function at load), then kprobe.
 * Every bpf_link and fentry object is kept in its entry; funcprobe__free()
 * destroys them all.
 *
 * Calls: for timed kinds bpfwatch_function_calls_total is the histogram's
 * count (calls that completed and were timed; no second map update on the
 * hot path); count-only USDT probes have a counter map of their own
 * (func_calls).  Calls that never completed are in the frame counters.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfutil.h"
#include "hist.h"
#include "stats.h"
#include "funclat.h"
#include "funclat.skel.h"

#include "budget.h"
#include "calib.h"
#include "expo.h"
#include "funcprobe.h"
#include "histexpo.h"
#include "labeler.h"
#include "libbpf_glue.h"
#include "log.h"
#include "store.h"
#include "targets.h"

_Static_assert(sizeof(struct func_key) == 32, "struct func_key layout");
_Static_assert(sizeof(struct func_frame) == 24, "struct func_frame layout");
_Static_assert(sizeof(struct func_stack) == 8 + 24 * FUNCLAT_MAX_DEPTH,
	       "struct func_stack layout");
_Static_assert(sizeof(struct func_count) == 16, "struct func_count layout");
_Static_assert(sizeof(struct func_target) == 8, "struct func_target layout");
_Static_assert(sizeof(struct hist) == (HIST_SLOTS + 2) * 8, "struct hist layout");
_Static_assert(FUNCLAT_MAX_FUNCS == CONFIG_MAX_FUNCTIONS,
	       "one func id per possible probes.functions entry");

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#error "unsupported architecture: set MULTIARCH"
#endif

#define REASON_LEN	768
#define LABEL_BUF	128
#define NLABELS		4	/* function, binary, comm, container */
#define NT_STAPSDT	3

struct func_entry {
	const struct func_cfg *cfg;
	char *binary;		/* resolved path; NULL for kernel entries and
				 * binaries that could not be resolved */
	/* uprobe: libbpf resolves cfg->symbol unless use_offset, then the
	 * symbol's file offset (ambiguous or versioned names) is given */
	bool use_offset;
	size_t offset;
	bool ready;		/* checks passed: attach after load */
	bool attached;
	const char *attach_type;
	char reason[REASON_LEN];
	struct bpf_link *links[2];
	struct funclat_bpf *fobj;	/* fentry: object of its own */
	/* Overhead budget (funcprobe__budget_start).  An attached entry keeps
	 * `attached` while its links come and go with the duty cycle. */
	struct budget bs;
	double limit;		/* share of one CPU it may cost */
	double hit_ns;		/* estimated cost of one hit (func_hits) */
	bool linked;		/* links up */
	bool relink_failed;	/* re-attaching failed (logged once) */
	/* Entries with an absolute binary path are watched: a binary that
	 * appears after start-up, or is replaced (a deploy writes a new
	 * inode, which the old uprobes do not cover), is attached again. */
	bool watch;
	dev_t st_dev;		/* identity of the file last checked; */
	ino_t st_ino;		/* 0/0 when it did not exist */
	uint64_t flip_at;	/* next link change (CLOCK_MONOTONIC ns), 0 none */
	uint64_t flip_since;	/* when the links last came up (a duty cycle
				 * starts), or the state last changed */
	uint64_t overhang_ns;	/* detaching: time the second link keeps
				 * trapping while the first one goes */
	uint64_t acct_from;	/* linked time counted up to here */
	uint64_t obs_ns;	/* linked time since the last estimate */
	uint64_t obs_hits;	/* program runs in that time */
	double obs_bpf_ns;	/* BPF run time of those runs */
	uint64_t hits_prev;	/* func_hits at the last tick */
	uint64_t dhits;		/* hits in the last tick */
	uint64_t fprev_cnt, fprev_ns;	/* fentry object's run stats, last tick */
	double cost;		/* last full-rate estimate, CPU s/s; < 0 none */
	double spent_s;		/* estimated CPU seconds spent, since start */
	enum calib_insn insn;	/* what its traps cost (uprobe, USDT) */
};

/* Program groups sharing the main object's programs: BPF run time per
 * run is averaged over a group. */
enum prog_group {
	GROUP_UPROBE = 0,
	GROUP_USDT,
	GROUP_PAIR,
	GROUP_KPROBE,
	GROUP__COUNT,
};

struct funcprobe {
	struct func_entry *e;
	size_t n;
	struct funclat_bpf *skel;	/* NULL when nothing needed loading */
	int hist_fd, calls_fd, stats_fd, fstats_fd, filtered_fd, targets_fd;
	struct store_family *lat_family, *calls_family;
	struct probe_counters cnt;
	struct hist *val;	/* scratch for map reads */
	struct hist *sum;	/* scratch for funcprobe__read */
	/* overhead budget: off until funcprobe__budget_start() */
	bool budget_on;
	int timer_fd;			/* duty-cycle timer, -1 when off */
	int hits_fd;			/* func_hits */
	double trap_ns[CALIB__COUNT];	/* per hit: calibrated, or assumed */
	bool trap_measured[CALIB__COUNT];
	uint64_t gprev_cnt[GROUP__COUNT], gprev_ns[GROUP__COUNT];	/* last tick */
	double default_limit;		/* global.overhead_budget */
	const struct features *feat;	/* borrowed from the caller */
};

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The `binary` label: the resolved path, or for a watched entry the path
 * configured (the same), which stays while the file is missing. */
static const char *binary_label(const struct func_entry *e)
{
	return e->watch ? e->cfg->binary : or_empty(e->binary);
}

/* ---- binary resolution ------------------------------------------------ */

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Canonical path of @path into a new string; NULL with errno set. */
static char *canonical(const char *path)
{
	char *r = realpath(path, NULL);

	if (r && !is_file(r)) {
		free(r);
		errno = EISDIR;
		return NULL;
	}
	return r;
}

/* The file @name in directory @dir, canonical, or NULL. */
static char *in_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path) || !is_file(path))
		return NULL;
	return canonical(path);
}

/*
 * Search the directories of an ld.so.conf file (and the files it
 * includes, to a few levels) for @name, in file order like ldconfig.
 */
static char *search_ldconf(const char *conf, const char *name, int level)
{
	char line[PATH_MAX], *found = NULL;
	FILE *f;

	if (level > 4)
		return NULL;
	f = fopen(conf, "re");
	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line, *end;

		p[strcspn(p, "#\n")] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*p)
			continue;
		if (strncmp(p, "include", 7) == 0 && isspace((unsigned char)p[7])) {
			char pattern[PATH_MAX];
			glob_t g;

			p += 8;
			while (isspace((unsigned char)*p))
				p++;
			if (*p == '/') {
				snprintf(pattern, sizeof(pattern), "%s", p);
			} else {
				const char *slash = strrchr(conf, '/');
				int dl = slash ? (int)(slash - conf) : 1;

				snprintf(pattern, sizeof(pattern), "%.*s/%s", dl,
					 slash ? conf : ".", p);
			}
			if (glob(pattern, 0, NULL, &g) == 0) {
				for (size_t i = 0; !found && i < g.gl_pathc; i++)
					found = search_ldconf(g.gl_pathv[i], name, level + 1);
				globfree(&g);
			}
			continue;
		}
		found = in_dir(p, name);
	}
	fclose(f);
	return found;
}

/* A library @name as mapped by process @pid (what its loader chose). */
static char *search_maps(uint32_t pid, const char *name)
{
	char path[64], line[PATH_MAX + 128], *found = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *base;

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		base = strrchr(file, '/') + 1;
		if (strcmp(base, name) == 0)
			found = canonical(file);
	}
	fclose(f);
	return found;
}

/*
 * A bare name (no '/') the way the dynamic loader finds a library: the
 * copy process @pid has mapped when a pid is given, else the ld.so.conf
 * directories (what /etc/ld.so.cache is built from) and the trusted
 * system directories; programs are found in the standard PATH.
 */
static char *search_bare(const char *name, uint32_t pid)
{
	static const char *const dirs[] = {
		"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64", "/usr/lib64",
		"/lib", "/usr/lib", "/usr/local/sbin", "/usr/local/bin",
		"/usr/sbin", "/usr/bin", "/sbin", "/bin",
	};
	char *found = NULL;

	if (pid)
		found = search_maps(pid, name);
	if (!found)
		found = search_ldconf("/etc/ld.so.conf", name, 0);
	for (size_t i = 0; !found && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		found = in_dir(dirs[i], name);
	return found;
}

/*
 * The executable of process e->cfg->pid: /proc/PID/exe resolved with
 * realpath; when that path does not exist here (the process runs in
 * another mount namespace, e.g. a container), the same path under
 * /proc/PID/root.
 */
static int resolve_pid_exe(struct func_entry *e)
{
	uint32_t pid = e->cfg->pid;
	char link[64], target[PATH_MAX], alt[PATH_MAX + 64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		int err = -errno;

		snprintf(e->reason, sizeof(e->reason), "pid %u: cannot read %s: %s",
			 pid, link, err == -ENOENT ? "no such process" : strerror(-err));
		return err;
	}
	target[n] = '\0';
	e->binary = canonical(link);
	if (e->binary)
		return 0;
	snprintf(alt, sizeof(alt), "/proc/%u/root%s", pid, target);
	if (is_file(alt)) {
		e->binary = strdup(alt);
		if (e->binary)
			return 0;
	}
	snprintf(e->reason, sizeof(e->reason),
		 "pid %u: binary '%.600s' not found here nor under /proc/%u/root", pid,
		 target, pid);
	return -ENOENT;
}

/*
 * Resolve the entry's binary into e->binary: an absolute path as written,
 * a relative one made canonical, a bare name searched like the loader
 * does, none at all taken from /proc/PID/exe.  0 or -errno with the
 * reason filled.
 */
static int resolve_binary(struct func_entry *e)
{
	const struct func_cfg *c = e->cfg;
	int err;

	if (!c->binary) {
		if (!c->pid) {
			snprintf(e->reason, sizeof(e->reason),
				 "no binary given and no pid to take it from");
			return -EINVAL;
		}
		return resolve_pid_exe(e);
	}
	if (c->binary[0] == '/') {
		/* As written (it is what the user knows it by); the uprobe is
		 * on the file's inode, wherever symlinks lead. */
		if (!is_file(c->binary)) {
			err = access(c->binary, F_OK) ? -errno : -EISDIR;
			snprintf(e->reason, sizeof(e->reason), "binary '%s': %s",
				 c->binary, err == -EISDIR ? "not a regular file" :
				 strerror(-err));
			return err;
		}
		e->binary = strdup(c->binary);
		if (!e->binary) {
			snprintf(e->reason, sizeof(e->reason), "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	if (strchr(c->binary, '/')) {
		/* Relative to the agent's working directory: made absolute. */
		e->binary = canonical(c->binary);
		if (!e->binary) {
			err = -errno;
			snprintf(e->reason, sizeof(e->reason), "binary '%s': %s",
				 c->binary, strerror(-err));
			return err;
		}
		return 0;
	}
	e->binary = search_bare(c->binary, c->pid);
	if (!e->binary) {
		snprintf(e->reason, sizeof(e->reason),
			 "binary '%s': No such file or directory in the library "
			 "search path (ld.so.conf, /lib, /usr/lib) or PATH", c->binary);
		return -ENOENT;
	}
	return 0;
}

/* ---- ELF checks ----------------------------------------------------------- */

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_file_open(struct func_entry *e, struct elf_file *ef)
{
	int err;

	ef->elf = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(e->reason, sizeof(e->reason), "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	ef->fd = open(e->binary, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		err = -errno;
		snprintf(e->reason, sizeof(e->reason), "binary '%s': %s", e->binary,
			 strerror(-err));
		return err;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF) {
		snprintf(e->reason, sizeof(e->reason), "binary '%s': not an ELF file",
			 e->binary);
		if (ef->elf)
			elf_end(ef->elf);
		close(ef->fd);
		ef->elf = NULL;
		return -ENOEXEC;
	}
	return 0;
}

static void elf_file_close(struct elf_file *ef)
{
	if (!ef->elf)
		return;
	elf_end(ef->elf);
	close(ef->fd);
	ef->elf = NULL;
}

static Elf_Scn *find_scn(Elf *elf, uint32_t type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

/* Version names of a .dynsym: verdef index -> name. */
struct versions {
	Elf_Data *versym;	/* SHT_GNU_versym, one 16-bit word per symbol */
	const char *names[64];	/* by verdef index (vd_ndx), bounded */
};

static void load_versions(Elf *elf, struct versions *v)
{
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;
	size_t off = 0;

	memset(v, 0, sizeof(*v));
	scn = find_scn(elf, SHT_GNU_versym, &sh);
	if (scn)
		v->versym = elf_getdata(scn, NULL);
	scn = find_scn(elf, SHT_GNU_verdef, &sh);
	if (!scn || !(d = elf_getdata(scn, NULL)))
		return;
	for (size_t i = 0; i < sh.sh_info; i++) {
		GElf_Verdef vd;
		GElf_Verdaux va;

		if (!gelf_getverdef(d, (int)off, &vd))
			break;
		if (vd.vd_ndx < 64 &&
		    gelf_getverdaux(d, (int)(off + vd.vd_aux), &va))
			v->names[vd.vd_ndx] = elf_strptr(elf, sh.sh_link, va.vda_name);
		if (!vd.vd_next)
			break;
		off += vd.vd_next;
	}
}

/*
 * Does symbol @sname (with version @ver, NULL if none, and @hidden when
 * it is not the default version) match what the user wrote, @want?  A
 * plain "name" matches any version; "name@V" or "name@@V" only version
 * V.  Versions come from the name itself in .symtab ("getaddrinfo@@GLIBC_
 * 2.2.5") and from .gnu.version in .dynsym.  *@dflt tells whether the
 * match is a default (or unversioned) symbol.
 */
static bool sym_matches(const char *sname, const char *ver, bool hidden,
			const char *want, bool *dflt)
{
	const char *at = strchr(sname, '@'), *wat = strchr(want, '@');
	size_t blen = at ? (size_t)(at - sname) : strlen(sname);
	size_t wlen = wat ? (size_t)(wat - want) : strlen(want);

	if (blen != wlen || strncmp(sname, want, blen) != 0)
		return false;
	if (at) {
		hidden = at[1] != '@';
		ver = at + (hidden ? 1 : 2);
	}
	*dflt = !ver || !hidden;
	if (!wat)
		return true;
	wat += wat[1] == '@' ? 2 : 1;
	return ver && strcmp(ver, wat) == 0;
}

struct sym_pick {
	int found;		/* matching definitions */
	int best_score;
	int best_count;		/* distinct addresses with best_score */
	GElf_Addr addr;		/* of the first at best_score */
	size_t offset;
	bool ifunc;
	bool distinct;		/* matches at more than one address */
};

/* Look @want up in the symbol table @scn (sh = its header). */
static void scan_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			const char *want, struct sym_pick *p)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	struct versions v;
	GElf_Addr first = 0;
	size_t nsyms;

	if (!d || !sh->sh_entsize)
		return;
	if (sh->sh_type == SHT_DYNSYM)
		load_versions(elf, &v);
	else
		memset(&v, 0, sizeof(v));
	nsyms = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < nsyms; i++) {
		const char *sname, *ver = NULL;
		bool hidden = false, dflt;
		GElf_Shdr tsh;
		Elf_Scn *text;
		GElf_Sym sym;
		int type, score;

		if (!gelf_getsym(d, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym.st_value ||
		    sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		sname = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!sname)
			continue;
		if (v.versym && i * 2 + 2 <= v.versym->d_size) {
			uint16_t vs = ((const uint16_t *)v.versym->d_buf)[i];

			hidden = vs & 0x8000;
			if ((vs & 0x7fff) >= 2 && (vs & 0x7fff) < 64)
				ver = v.names[vs & 0x7fff];
		}
		if (!sym_matches(sname, ver, hidden, want, &dflt))
			continue;
		text = elf_getscn(elf, sym.st_shndx);
		if (!text || !gelf_getshdr(text, &tsh))
			continue;
		if (p->found++ && sym.st_value != first)
			p->distinct = true;
		else
			first = sym.st_value;
		/* Prefer the default version, then global over local. */
		score = (dflt ? 2 : 0) + (GELF_ST_BIND(sym.st_info) != STB_LOCAL);
		if (score > p->best_score || !p->best_count) {
			p->best_score = score;
			p->best_count = 1;
			p->addr = sym.st_value;
			p->offset = sym.st_value - tsh.sh_addr + tsh.sh_offset;
			p->ifunc = type == STT_GNU_IFUNC;
		} else if (score == p->best_score && sym.st_value != p->addr) {
			p->best_count++;
		}
	}
}

/* Check that e->cfg->symbol is defined in the binary: .symtab first, then
 * .dynsym.  0 or -errno with the reason filled. */
static int check_symbol(struct func_entry *e, Elf *elf)
{
	const char *want = e->cfg->symbol;
	struct sym_pick p = {};
	bool has_symtab;
	GElf_Shdr sh;
	Elf_Scn *scn;

	scn = find_scn(elf, SHT_SYMTAB, &sh);
	has_symtab = scn != NULL;
	if (scn)
		scan_symtab(elf, scn, &sh, want, &p);
	if (!p.found && (scn = find_scn(elf, SHT_DYNSYM, &sh)))
		scan_symtab(elf, scn, &sh, want, &p);
	if (!p.found) {
		snprintf(e->reason, sizeof(e->reason),
			 "binary '%s': symbol '%s' not found%s", e->binary, want,
			 has_symtab ? "" : " (stripped?)");
		return -ENOENT;
	}
	if (p.best_count > 1) {
		snprintf(e->reason, sizeof(e->reason),
			 "binary '%s': symbol '%s' is ambiguous (%d definitions at "
			 "different addresses)", e->binary, want, p.found);
		return -EINVAL;
	}
	if (p.ifunc) {
		snprintf(e->reason, sizeof(e->reason),
			 "binary '%s': symbol '%s' is an IFUNC resolver; probe the "
			 "implementation it selects instead", e->binary, want);
		return -EINVAL;
	}
	/* libbpf 1.1 refuses names defined at several addresses (versioned
	 * duplicates in .dynsym) and does not see .dynsym versions: give it
	 * the offset we chose in those cases. */
	e->use_offset = p.distinct || strchr(want, '@');
	e->offset = p.offset;
	return 0;
}

int funcprobe__locate(const char *binary, uint32_t pid, const char *symbol,
		      char **path, size_t *offset, char *reason, size_t len)
{
	struct func_cfg c = {
		.kind = FUNC_UPROBE, .binary = (char *)binary,
		.symbol = (char *)symbol, .pid = pid,
	};
	struct func_entry e = { .cfg = &c };
	struct elf_file ef;
	int err;

	*path = NULL;
	err = resolve_binary(&e);
	if (!err)
		err = elf_file_open(&e, &ef);
	if (!err) {
		err = check_symbol(&e, ef.elf);
		elf_file_close(&ef);
	}
	if (err) {
		snprintf(reason, len, "%s", e.reason);
		free(e.binary);
		return err;
	}
	*path = e.binary;
	*offset = e.offset;
	return 0;
}

/* Does the binary have a .note.stapsdt entry for @prov:@name?  *@any
 * tells whether it has USDT notes at all. */
static bool has_usdt(Elf *elf, const char *prov, const char *name, bool *any)
{
	size_t shstrndx, asz = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	*any = false;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *sname;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt") != 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)d->d_buf + desc_off;
			const char *p, *n;
			size_t plen;

			if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 ||
			    memcmp((const char *)d->d_buf + name_off, "stapsdt", 8) ||
			    nh.n_descsz < 3 * asz + 2)
				continue;
			*any = true;
			p = desc + 3 * asz;
			plen = strnlen(p, nh.n_descsz - 3 * asz);
			if (3 * asz + plen + 1 >= nh.n_descsz)
				continue;
			n = p + plen + 1;
			if (strcmp(p, prov) == 0 &&
			    strncmp(n, name, nh.n_descsz - 3 * asz - plen - 1) == 0 &&
			    strlen(name) < nh.n_descsz - 3 * asz - plen - 1 &&
			    n[strlen(name)] == '\0')
				return true;
		}
	}
	return false;
}

static int check_usdt(struct func_entry *e, Elf *elf, const char *prov,
		      const char *name)
{
	bool any;

	if (has_usdt(elf, prov, name, &any))
		return 0;
	snprintf(e->reason, sizeof(e->reason),
		 "binary '%s': usdt probe '%s:%s' not found%s", e->binary, prov,
		 name, any ? "" : " (the binary has no USDT probes)");
	return -ENOENT;
}

/* Step 1: everything that can be known before loading.  Marks the entry
 * ready or fills its reason. */
static void check_entry(struct func_entry *e, size_t id,
			const struct features *feat)
{
	const struct func_cfg *c = e->cfg;
	struct elf_file ef;
	int err;

	if (id >= FUNCLAT_MAX_FUNCS) {
		snprintf(e->reason, sizeof(e->reason),
			 "more than %d function entries", FUNCLAT_MAX_FUNCS);
		return;
	}
	switch (c->kind) {
	case FUNC_KERNEL:
		if (!c->kernel || !*c->kernel) {
			snprintf(e->reason, sizeof(e->reason), "no kernel function given");
			return;
		}
		e->ready = true;
		return;
	case FUNC_UPROBE:
		if (!c->symbol || !*c->symbol) {
			snprintf(e->reason, sizeof(e->reason), "no symbol given");
			return;
		}
		break;
	case FUNC_USDT:
		if (!c->provider || !c->probe) {
			snprintf(e->reason, sizeof(e->reason), "no usdt probe given");
			return;
		}
		break;
	case FUNC_USDT_PAIR:
		if (!c->provider || !c->probe || !c->end_provider || !c->end_probe) {
			snprintf(e->reason, sizeof(e->reason),
				 "usdt_begin and usdt_end are both needed");
			return;
		}
		break;
	default:
		snprintf(e->reason, sizeof(e->reason), "unknown entry kind %d",
			 (int)c->kind);
		return;
	}
	if (resolve_binary(e) || elf_file_open(e, &ef))
		return;
	if (c->kind == FUNC_UPROBE)
		err = check_symbol(e, ef.elf);
	else
		err = check_usdt(e, ef.elf, c->provider, c->probe);
	if (!err && c->kind == FUNC_USDT_PAIR)
		err = check_usdt(e, ef.elf, c->end_provider, c->end_probe);
	elf_file_close(&ef);
	if (!err && c->kind == FUNC_UPROBE && !feat->ok[FEAT_UPROBE]) {
		snprintf(e->reason, sizeof(e->reason), "binary '%s': symbol '%s': "
			 "uprobe: %s", e->binary, c->symbol, feat->reason[FEAT_UPROBE]);
		err = -EOPNOTSUPP;
	} else if (!err && c->kind != FUNC_UPROBE && !feat->ok[FEAT_USDT]) {
		snprintf(e->reason, sizeof(e->reason), "binary '%s': usdt '%s:%s': %s",
			 e->binary, c->provider, c->probe, feat->reason[FEAT_USDT]);
		err = -EOPNOTSUPP;
	}
	e->ready = !err;
}

/* ---- attach ----------------------------------------------------------------- */

static pid_t target_pid(const struct func_cfg *c)
{
	return c->pid ? (pid_t)c->pid : -1;
}

/* Reason of an attach failure: a pid that went away is said plainly. */
static const char *attach_error(const struct func_cfg *c, int err)
{
	if (c->pid && err == -ESRCH)
		return "no such process";
	return strerror(-err);
}

static int attach_uprobe(struct funcprobe *fp, struct func_entry *e, size_t id)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = id);
	const struct func_cfg *c = e->cfg;
	size_t off = e->use_offset ? e->offset : 0;
	int err;

	o.func_name = e->use_offset ? NULL : c->symbol;
	e->links[0] = bpf_program__attach_uprobe_opts(fp->skel->progs.uprobe_entry,
						      target_pid(c), e->binary,
						      off, &o);
	if (!e->links[0])
		goto err_out;
	o.retprobe = true;
	e->links[1] = bpf_program__attach_uprobe_opts(fp->skel->progs.uretprobe_return,
						      target_pid(c), e->binary,
						      off, &o);
	if (!e->links[1])
		goto err_out;
	e->attach_type = "uprobe";
	return 0;
err_out:
	err = -errno;
	snprintf(e->reason, sizeof(e->reason), "binary '%s': symbol '%s': %s%s: %s",
		 e->binary, c->symbol, e->links[0] ? "uretprobe" : "uprobe",
		 c->pid ? " (pid filter)" : "", attach_error(c, err));
	return err;
}

static struct bpf_link *attach_usdt_one(struct funcprobe *fp, struct func_entry *e,
					struct bpf_program *prog, size_t id,
					const char *prov, const char *name)
{
	LIBBPF_OPTS(bpf_usdt_opts, o, .usdt_cookie = id);
	struct bpf_link *l;
	int err;

	(void)fp;
	l = bpf_program__attach_usdt(prog, target_pid(e->cfg), e->binary, prov,
				     name, &o);
	if (!l) {
		err = -errno;
		snprintf(e->reason, sizeof(e->reason), "binary '%s': usdt '%s:%s': "
			 "attach: %s", e->binary, prov, name, attach_error(e->cfg, err));
		errno = -err;
	}
	return l;
}

static int attach_usdt(struct funcprobe *fp, struct func_entry *e, size_t id)
{
	const struct func_cfg *c = e->cfg;

	if (c->kind == FUNC_USDT) {
		e->links[0] = attach_usdt_one(fp, e, fp->skel->progs.usdt_count, id,
					      c->provider, c->probe);
	} else {
		e->links[0] = attach_usdt_one(fp, e, fp->skel->progs.usdt_begin, id,
					      c->provider, c->probe);
		if (e->links[0])
			e->links[1] = attach_usdt_one(fp, e, fp->skel->progs.usdt_end,
						      id, c->end_provider, c->end_probe);
		if (!e->links[1])
			return -errno;
	}
	if (!e->links[0])
		return -errno;
	e->attach_type = "usdt";
	return 0;
}

/*
 * fentry/fexit for one kernel function: a program is bound to its target
 * at load, so every kernel entry gets an object of its own whose maps are
 * the main object's (only the programs and .rodata are its own).
 */
static int attach_fentry(struct funcprobe *fp, struct func_entry *e, size_t id,
			 char *why, size_t len)
{
	const char *fn = e->cfg->kernel;
	struct funclat_bpf *s;
	struct bpf_program *prog;
	struct bpf_map *m;
	int err;

	s = funclat_bpf__open();
	if (!s) {
		err = -errno;
		snprintf(why, len, "open: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, s->obj)
		bpf_program__set_autoload(prog, prog == s->progs.fentry_entry ||
					  prog == s->progs.fexit_return);
	s->rodata->kfunc_id = (__u32)id;
	bpf_object__for_each_map(m, s->obj) {
		struct bpf_map *main_map;

		if (bpf_map__is_internal(m))
			continue;
		main_map = bpf_object__find_map_by_name(fp->skel->obj,
							bpf_map__name(m));
		err = main_map ? bpf_map__reuse_fd(m, bpf_map__fd(main_map)) : -ENOENT;
		if (err) {
			snprintf(why, len, "share map %s: %s", bpf_map__name(m),
				 strerror(-err));
			goto err_destroy;
		}
	}
	err = bpf_program__set_attach_target(s->progs.fentry_entry, 0, fn);
	if (!err)
		err = bpf_program__set_attach_target(s->progs.fexit_return, 0, fn);
	if (err) {
		snprintf(why, len, "%s", err == -ESRCH || err == -ENOENT ?
			 "no such function in the kernel's BTF" : strerror(-err));
		/* libbpf 1.1: the vmlinux BTF set_attach_target() loaded is
		 * freed by bpf_object__load(), never by __close(): load the
		 * object with no programs to release it. */
		bpf_object__for_each_program(prog, s->obj)
			bpf_program__set_autoload(prog, false);
		bpf_object__load(s->obj);
		goto err_destroy;
	}
	err = funclat_bpf__load(s);
	if (err) {
		snprintf(why, len, "load: %s", strerror(-err));
		goto err_destroy;
	}
	e->links[0] = bpf_program__attach(s->progs.fentry_entry);
	if (e->links[0])
		e->links[1] = bpf_program__attach(s->progs.fexit_return);
	if (!e->links[1]) {
		err = -errno;
		snprintf(why, len, "attach: %s", strerror(-err));
		goto err_unlink;
	}
	e->fobj = s;
	return 0;

err_unlink:
	bpf_link__destroy(e->links[0]);
	e->links[0] = NULL;
err_destroy:
	funclat_bpf__destroy(s);
	return err;
}

static int attach_kprobe(struct funcprobe *fp, struct func_entry *e, size_t id,
			 char *why, size_t len)
{
	LIBBPF_OPTS(bpf_kprobe_opts, o, .bpf_cookie = id);
	int err;

	e->links[0] = bpf_program__attach_kprobe_opts(fp->skel->progs.kprobe_entry,
						      e->cfg->kernel, &o);
	if (e->links[0]) {
		o.retprobe = true;
		e->links[1] = bpf_program__attach_kprobe_opts(
			fp->skel->progs.kretprobe_return, e->cfg->kernel, &o);
	}
	if (!e->links[1]) {
		err = -errno;
		snprintf(why, len, "%s: %s", e->links[0] ? "kretprobe" : "attach",
			 strerror(-err));
		bpf_link__destroy(e->links[0]);
		e->links[0] = NULL;
		return err;
	}
	return 0;
}

/* fentry, else kprobe; the reason names why each was not used. */
static int attach_kernel(struct funcprobe *fp, struct func_entry *e, size_t id,
			 const struct features *feat)
{
	char fwhy[200], kwhy[200];

	if (!feat->ok[FEAT_FENTRY]) {
		snprintf(fwhy, sizeof(fwhy), "%s", feat->reason[FEAT_FENTRY]);
	} else if (attach_fentry(fp, e, id, fwhy, sizeof(fwhy)) == 0) {
		e->attach_type = "fentry";
		return 0;
	}
	if (!feat->ok[FEAT_KPROBE]) {
		snprintf(kwhy, sizeof(kwhy), "%s", feat->reason[FEAT_KPROBE]);
	} else if (attach_kprobe(fp, e, id, kwhy, sizeof(kwhy)) == 0) {
		e->attach_type = "kprobe";
		return 0;
	}
	snprintf(e->reason, sizeof(e->reason), "kernel '%s': fentry: %s; kprobe: %s",
		 e->cfg->kernel, fwhy, kwhy);
	return -EOPNOTSUPP;
}

/*
 * Links only: the duty cycle of the overhead budget.  The entry (uprobe)
 * link goes first, so no call starts being timed whose return would then
 * be missed.  The maps, and the fentry object, stay.
 */
static void unlink_entry(struct func_entry *e)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(e->links[i]);
		e->links[i] = NULL;
	}
}

/* Attach the links of an entry that was attached before (its reason is
 * filled on failure).  0 or -errno. */
static int relink_entry(struct funcprobe *fp, struct func_entry *e, size_t id)
{
	char why[200];
	int err;

	switch (e->cfg->kind) {
	case FUNC_UPROBE:
		err = attach_uprobe(fp, e, id);
		break;
	case FUNC_USDT:
	case FUNC_USDT_PAIR:
		err = attach_usdt(fp, e, id);
		break;
	default:
		if (e->fobj) {
			e->links[0] = bpf_program__attach(e->fobj->progs.fentry_entry);
			if (e->links[0])
				e->links[1] = bpf_program__attach(e->fobj->progs.fexit_return);
			err = e->links[1] ? 0 : -errno;
			snprintf(why, sizeof(why), "attach: %s", strerror(-err));
		} else {
			err = attach_kprobe(fp, e, id, why, sizeof(why));
		}
		if (err)
			snprintf(e->reason, sizeof(e->reason), "kernel '%s': %s: %s",
				 e->cfg->kernel, e->attach_type, why);
		break;
	}
	if (err)
		unlink_entry(e);
	return err;
}

/* Record the identity of a watched entry's binary (see struct func_entry). */
static void file_identity(struct func_entry *e)
{
	const struct func_cfg *c = e->cfg;
	struct stat st;

	e->watch = c->kind != FUNC_KERNEL && c->binary && c->binary[0] == '/';
	if (!e->watch)
		return;
	if (stat(c->binary, &st) == 0) {
		e->st_dev = st.st_dev;
		e->st_ino = st.st_ino;
	} else {
		e->st_dev = 0;
		e->st_ino = 0;
	}
}

static void detach_entry(struct func_entry *e)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(e->links[i]);
		e->links[i] = NULL;
	}
	funclat_bpf__destroy(e->fobj);
	e->fobj = NULL;
}

/* ---- construction ------------------------------------------------------ */

/* Step 2: open the object with only the programs the ready (or watched)
 * entries need, size the maps nobody uses down, load.  0 or -errno. */
static int load_object(struct funcprobe *fp, const struct features *feat)
{
	bool uprobe = false, usdt = false, pair = false, kernel = false;
	struct bpf_program *prog;
	int err;

	for (size_t i = 0; i < fp->n; i++) {
		if (!fp->e[i].ready && !fp->e[i].watch)
			continue;
		switch (fp->e[i].cfg->kind) {
		case FUNC_UPROBE: uprobe = true; break;
		case FUNC_USDT: usdt = true; break;
		case FUNC_USDT_PAIR: pair = true; break;
		case FUNC_KERNEL: kernel = true; break;
		}
	}
	fp->skel = funclat_bpf__open();
	if (!fp->skel)
		return -errno;
	bpf_object__for_each_program(prog, fp->skel->obj)
		bpf_program__set_autoload(prog, false);
	bpf_program__set_autoload(fp->skel->progs.uprobe_entry, uprobe);
	bpf_program__set_autoload(fp->skel->progs.uretprobe_return, uprobe);
	bpf_program__set_autoload(fp->skel->progs.usdt_count, usdt);
	bpf_program__set_autoload(fp->skel->progs.usdt_begin, pair);
	bpf_program__set_autoload(fp->skel->progs.usdt_end, pair);
	bpf_program__set_autoload(fp->skel->progs.kprobe_entry,
				  kernel && feat->ok[FEAT_KPROBE]);
	bpf_program__set_autoload(fp->skel->progs.kretprobe_return,
				  kernel && feat->ok[FEAT_KPROBE]);
	/* The common tgid filter is not used here (per-entry filter instead),
	 * nor is a stack kind without entries: keep their memory small. */
	bpf_map__set_max_entries(fp->skel->maps.bw_targets, 1);
	if (!uprobe)
		bpf_map__set_max_entries(fp->skel->maps.call_stack, 1);
	if (!pair && !kernel)
		bpf_map__set_max_entries(fp->skel->maps.pair_stack, 1);
	err = funclat_bpf__load(fp->skel);
	if (err)
		return err;
	fp->hist_fd = bpf_map__fd(fp->skel->maps.func_hist);
	fp->calls_fd = bpf_map__fd(fp->skel->maps.func_calls);
	fp->stats_fd = bpf_map__fd(fp->skel->maps.bw_stats);
	fp->fstats_fd = bpf_map__fd(fp->skel->maps.funclat_stats);
	fp->filtered_fd = bpf_map__fd(fp->skel->maps.func_filtered);
	fp->targets_fd = bpf_map__fd(fp->skel->maps.func_targets);
	fp->hits_fd = bpf_map__fd(fp->skel->maps.func_hits);
	return 0;
}

struct funcprobe *funcprobe__new(const struct func_cfg *fns, size_t n,
				 const struct features *feat)
{
	struct funcprobe *fp;
	size_t nready = 0;
	int err;

	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return NULL;
	fp->hist_fd = fp->calls_fd = fp->stats_fd = fp->fstats_fd = -1;
	fp->filtered_fd = fp->targets_fd = -1;
	fp->hits_fd = fp->timer_fd = -1;
	fp->cnt.max_entries = FUNCLAT_HIST_ENTRIES;
	fp->val = calloc(1, sizeof(*fp->val));
	fp->sum = calloc(1, sizeof(*fp->sum));
	fp->e = calloc(n ? n : 1, sizeof(*fp->e));
	if (!fp->val || !fp->sum || !fp->e)
		goto err_free;
	fp->n = n;
	fp->feat = feat;

	for (size_t i = 0; i < n; i++) {
		struct func_entry *e = &fp->e[i];

		e->cfg = &fns[i];
		e->attach_type = "";
		file_identity(e);
		check_entry(e, i, feat);
		nready += e->ready || e->watch;
	}
	if (nready) {
		err = load_object(fp, feat);
		if (err) {
			pr_err("functions: load BPF object: %s", strerror(-err));
			errno = -err;
			goto err_free;
		}
	}

	for (size_t i = 0; i < n; i++) {
		struct func_entry *e = &fp->e[i];
		__u8 one = 1;
		__u32 id = (__u32)i;

		if (!e->ready)
			goto report;
		/* The filter flag goes in before any probe can fire. */
		if (e->cfg->targets.set &&
		    bpf_map_update_elem(fp->filtered_fd, &id, &one, BPF_ANY)) {
			snprintf(e->reason, sizeof(e->reason), "target filter: %s",
				 strerror(errno));
			goto report;
		}
		libbpf_glue__quiet(true);
		switch (e->cfg->kind) {
		case FUNC_UPROBE:
			err = attach_uprobe(fp, e, i);
			break;
		case FUNC_USDT:
		case FUNC_USDT_PAIR:
			err = attach_usdt(fp, e, i);
			break;
		default:
			err = attach_kernel(fp, e, i, feat);
			break;
		}
		libbpf_glue__quiet(false);
		if (err) {
			detach_entry(e);
			e->attach_type = "";
		} else {
			e->attached = true;
			snprintf(e->reason, sizeof(e->reason), "ok");
		}
report:
		/* The caller reports each entry (it knows where it came from). */
		pr_debug("function %s: %s", e->cfg->name, e->reason);
	}
	return fp;

err_free:
	funcprobe__free(fp);
	return NULL;
}

void funcprobe__free(struct funcprobe *fp)
{
	if (!fp)
		return;
	for (size_t i = 0; fp->e && i < fp->n; i++) {
		detach_entry(&fp->e[i]);
		free(fp->e[i].binary);
	}
	funclat_bpf__destroy(fp->skel);
	if (fp->timer_fd >= 0)
		close(fp->timer_fd);
	free(fp->e);
	free(fp->val);
	free(fp->sum);
	free(fp);
}

size_t funcprobe__count(const struct funcprobe *fp)
{
	return fp->n;
}

void funcprobe__status(const struct funcprobe *fp, size_t i,
		       struct funcprobe_status *st)
{
	const struct func_entry *e = &fp->e[i];

	st->function = e->cfg->name;
	st->binary = binary_label(e);
	st->attach_type = e->attach_type;
	st->attached = e->attached;
	st->reason = e->reason;
}

/* ---- targets ----------------------------------------------------------- */

static int cmp_target(const void *a, const void *b)
{
	const struct func_target *x = a, *y = b;

	if (x->func_id != y->func_id)
		return x->func_id < y->func_id ? -1 : 1;
	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

struct target_vec {
	struct func_target *v;
	size_t n, cap;
};

static int push_target(struct target_vec *t, uint32_t id, uint32_t tgid)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		void *nv = reallocarray(t->v, nc, sizeof(*t->v));

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = nc;
	}
	t->v[t->n++] = (struct func_target){ .func_id = id, .tgid = tgid };
	return 0;
}

struct want_ctx {
	const struct funcprobe *fp;
	struct target_vec *want;
};

static int want_cb(const struct proc_facts *pf, void *ctx)
{
	struct want_ctx *w = ctx;
	int err = 0;

	for (size_t i = 0; !err && i < w->fp->n; i++) {
		const struct targets_cfg *t = &w->fp->e[i].cfg->targets;

		if (w->fp->e[i].attached && t->set && targets__match(t, pf))
			err = push_target(w->want, (uint32_t)i, pf->pid);
	}
	return err;
}

/* Wanted (id, tgid) pairs: configured pids that exist, and processes
 * another selector matches (one /proc scan for every entry). */
static int wanted_targets(const struct funcprobe *fp, struct target_vec *want)
{
	struct want_ctx w = { fp, want };
	unsigned int need = 0;
	int err;

	for (size_t i = 0; i < fp->n; i++) {
		const struct targets_cfg *t = &fp->e[i].cfg->targets;

		if (!fp->e[i].attached || !t->set)
			continue;
		need |= targets__needs(t);
	}
	if (need)
		return targets__scan(need, want_cb, &w);
	for (size_t i = 0; i < fp->n; i++) {
		const struct targets_cfg *t = &fp->e[i].cfg->targets;

		if (!fp->e[i].attached || !t->set)
			continue;
		for (size_t j = 0; j < t->npids; j++) {
			if (targets__pid_exists(t->pids[j]) &&
			    (err = push_target(want, (uint32_t)i, t->pids[j])))
				return err;
		}
	}
	return 0;
}

/*
 * The wanted set is recomputed each tick and the kernel map brought in
 * line: pairs no longer wanted deleted, new ones added.  Returns the
 * number of pairs wanted, or -errno.
 */
int funcprobe__refresh_targets(struct funcprobe *fp)
{
	struct target_vec want = {}, stale = {};
	struct func_target key, next;
	__u8 one = 1;
	int err, more;

	if (fp->targets_fd < 0)
		return 0;
	err = wanted_targets(fp, &want);
	if (err)
		goto out;
	if (want.n)
		qsort(want.v, want.n, sizeof(*want.v), cmp_target);
	more = bpf_map_get_next_key(fp->targets_fd, NULL, &next) == 0;
	while (more) {
		key = next;
		more = bpf_map_get_next_key(fp->targets_fd, &key, &next) == 0;
		if (!want.n || !bsearch(&key, want.v, want.n, sizeof(*want.v), cmp_target)) {
			err = push_target(&stale, key.func_id, key.tgid);
			if (err)
				goto out;
		}
	}
	for (size_t i = 0; i < stale.n; i++)
		bpf_map_delete_elem(fp->targets_fd, &stale.v[i]);
	for (size_t i = 0; i < want.n; i++) {
		if (bpf_map_update_elem(fp->targets_fd, &want.v[i], &one, BPF_ANY)) {
			fp->cnt.targets_full++;
			break;
		}
	}
	err = (int)want.n;
out:
	free(want.v);
	free(stale.v);
	return err;
}

/* ---- reading ------------------------------------------------------------ */

static void comm_str(const char *comm, char *out)
{
	memcpy(out, comm, BW_COMM_LEN);
	out[BW_COMM_LEN] = '\0';
}

struct key_vec {
	struct func_key *v;
	size_t n, cap;
};

static int push_key(struct key_vec *k, const struct func_key *key)
{
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 64;
		void *nv = reallocarray(k->v, nc, sizeof(*k->v));

		if (!nv)
			return -ENOMEM;
		k->v = nv;
		k->cap = nc;
	}
	k->v[k->n++] = *key;
	return 0;
}

/* Labels of @key; false when its cgroup is gone. */
static bool key_labels(const struct funcprobe *fp, struct labeler *lb,
		       const struct func_key *key, struct label *l,
		       char (*buf)[LABEL_BUF])
{
	const struct func_entry *e = &fp->e[key->func_id];

	if (!labeler__container(lb, key->cgroup_id, buf[1], sizeof(buf[1])))
		return false;
	comm_str(key->comm, buf[0]);
	l[0] = (struct label){ "function", e->cfg->name };
	l[1] = (struct label){ "binary", binary_label(e) };
	l[2] = (struct label){ "comm", buf[0] };
	l[3] = (struct label){ "container", buf[1] };
	return true;
}

/*
 * Walk one map (func_hist when @is_hist, else func_calls) appending its
 * entries; keys to delete (idle, cgroup gone, unknown id) go to @del.
 * Returns the number of entries seen, or -errno.
 */
static int collect_map(struct funcprobe *fp, struct store *s, struct labeler *lb,
		       uint64_t idle_timeout_ms, bool is_hist, struct key_vec *del)
{
	int fd = is_hist ? fp->hist_fd : fp->calls_fd;
	struct func_key key, next;
	struct func_count cnt;
	uint64_t now = bw_mono_ns(), last;
	int more, seen = 0, err;

	more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more) {
		struct label l[NLABELS + 1];
		char buf[2][LABEL_BUF];
		bool idle, gone = false;
		uint64_t calls;

		key = next;
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(fd, &key, is_hist ? (void *)fp->val : (void *)&cnt))
			continue;	/* deleted under us */
		seen++;
		last = is_hist ? fp->val->last_ns : cnt.last_ns;
		calls = is_hist ? histexpo__count(fp->val) : cnt.calls;
		idle = now > last && (now - last) / 1000000 > idle_timeout_ms;
		if (key.func_id >= fp->n)
			gone = true;
		else if (!idle && !key_labels(fp, lb, &key, l, buf))
			gone = true;
		if (idle || gone) {
			err = push_key(del, &key);
			if (err)
				return err;
			if (idle)
				fp->cnt.expired++;
			else
				fp->cnt.gone++;
			continue;
		}
		/* A full store is counted there; keep collecting the rest. */
		if (is_hist)
			histexpo__append(s, fp->lat_family, fp->val, l, NLABELS);
		store__append(s, fp->calls_family, "", l, NLABELS, (double)calls);
	}
	return seen;
}

int funcprobe__collect(struct funcprobe *fp, struct store *s,
		       struct labeler *lb, uint64_t idle_timeout_ms)
{
	struct key_vec hdel = {}, cdel = {};
	int nh, nc, err = 0;

	if (!fp->skel)
		return 0;
	if (!fp->lat_family) {
		fp->lat_family = store__family(s, "bpfwatch_function_latency_seconds",
					       METRIC_HISTOGRAM,
					       "Latency of configured functions (uprobe, "
					       "USDT begin/end, kernel function), by "
					       "function, binary, comm and container.");
		if (!fp->lat_family)
			return -errno;
	}
	if (!fp->calls_family) {
		fp->calls_family = store__family(s, "bpfwatch_function_calls_total",
						 METRIC_COUNTER,
						 "Calls of configured functions and hits "
						 "of USDT probes, by function, binary, "
						 "comm and container.");
		if (!fp->calls_family)
			return -errno;
	}
	nh = collect_map(fp, s, lb, idle_timeout_ms, true, &hdel);
	nc = collect_map(fp, s, lb, idle_timeout_ms, false, &cdel);
	for (size_t i = 0; i < hdel.n; i++)
		bpf_map_delete_elem(fp->hist_fd, &hdel.v[i]);
	for (size_t i = 0; i < cdel.n; i++)
		bpf_map_delete_elem(fp->calls_fd, &cdel.v[i]);
	if (nh < 0 || nc < 0)
		err = nh < 0 ? nh : nc;
	else
		fp->cnt.entries = (uint32_t)(nh + nc) - (uint32_t)(hdel.n + cdel.n);
	free(hdel.v);
	free(cdel.v);
	return err;
}

int funcprobe__read(const struct funcprobe *fp, size_t i, struct hist *out,
		    uint64_t *calls)
{
	struct func_key key, next;
	struct func_count cnt;
	uint64_t n = 0;
	int more;

	if (i >= fp->n)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	*calls = 0;
	if (!fp->skel)
		return 0;
	more = bpf_map_get_next_key(fp->hist_fd, NULL, &next) == 0;
	while (more) {
		key = next;
		more = bpf_map_get_next_key(fp->hist_fd, &key, &next) == 0;
		if (key.func_id != i || bpf_map_lookup_elem(fp->hist_fd, &key, fp->sum))
			continue;
		for (int j = 0; j < HIST_SLOTS; j++)
			out->slots[j] += fp->sum->slots[j];
		out->sum_ns += fp->sum->sum_ns;
		if (fp->sum->last_ns > out->last_ns)
			out->last_ns = fp->sum->last_ns;
	}
	n = histexpo__count(out);
	more = bpf_map_get_next_key(fp->calls_fd, NULL, &next) == 0;
	while (more) {
		key = next;
		more = bpf_map_get_next_key(fp->calls_fd, &key, &next) == 0;
		if (key.func_id == i && bpf_map_lookup_elem(fp->calls_fd, &key, &cnt) == 0)
			n += cnt.calls;
	}
	*calls = n;
	return 0;
}

/* ---- statistics ------------------------------------------------------------ */

static int add_prog_stats(struct bpf_program *prog, struct probe_prog_stats *out)
{
	if (!bw_prog_runs(prog, &out->run_cnt, &out->run_time_ns))
		return 0;
	out->name = bpf_program__name(prog);
	return 1;
}

int funcprobe__prog_stats(const struct funcprobe *fp,
			  struct probe_prog_stats *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	if (fp->skel)
		bpf_object__for_each_program(prog, fp->skel->obj)
			if (n < max && bpf_program__autoload(prog))
				n += add_prog_stats(prog, &out[n]);
	for (size_t i = 0; i < fp->n; i++) {
		const struct funclat_bpf *s = fp->e[i].fobj;

		if (s && n < max)
			n += add_prog_stats(s->progs.fentry_entry, &out[n]);
		if (s && n < max)
			n += add_prog_stats(s->progs.fexit_return, &out[n]);
	}
	return n;
}

void funcprobe__counters(const struct funcprobe *fp, struct probe_counters *c)
{
	*c = fp->cnt;
	c->hist_full = bw_percpu_sum(fp->stats_fd, BW_STAT_HIST_FULL);
	c->start_full = bw_percpu_sum(fp->stats_fd, BW_STAT_START_FULL);
	c->filtered = bw_percpu_sum(fp->stats_fd, BW_STAT_FILTERED);
}

void funcprobe__frame_counters(const struct funcprobe *fp,
			       struct funcprobe_frame_counters *c)
{
	c->depth_overflow = bw_percpu_sum(fp->fstats_fd, FL_STAT_DEPTH);
	c->lost_frames = bw_percpu_sum(fp->fstats_fd, FL_STAT_LOST);
	c->missing_frames = bw_percpu_sum(fp->fstats_fd, FL_STAT_MISSING);
	c->calls_full = bw_percpu_sum(fp->fstats_fd, FL_STAT_CALLS_FULL);
}

/* ---- overhead budget ------------------------------------------------------ */

/*
 * Per-hit costs assumed when calibration fails: what the build VM measured
 * (BENCHMARKS.md), so that the budget still means something.
 */
static const double trap_fallback_ns[CALIB__COUNT] = {
	[CALIB_PUSH] = 5000.0,
	[CALIB_NOP] = 5000.0,
	[CALIB_OTHER] = 18500.0,
	[CALIB_RETURN] = 1500.0,
};

static const char *const insn_desc[CALIB__COUNT] = {
	[CALIB_PUSH] = "on push, which the kernel emulates",
	[CALIB_NOP] = "on a USDT nop",
	[CALIB_OTHER] = "on other instructions, which the kernel single-steps",
	[CALIB_RETURN] = "a uretprobe adds",
};

static uint64_t hits_of(const struct funcprobe *fp, size_t i)
{
	return bw_percpu_sum(fp->hits_fd, (__u32)i);
}

/* run_cnt and run_time_ns of @prog added to *cnt and *ns (0 when it is not
 * loaded or BPF stats are off). */
static void prog_runs(const struct bpf_program *prog, uint64_t *cnt, uint64_t *ns)
{
	uint64_t c, t;

	if (bw_prog_runs(prog, &c, &t)) {
		*cnt += c;
		*ns += t;
	}
}

static void group_runs(const struct funcprobe *fp, enum prog_group g,
		       uint64_t *cnt, uint64_t *ns)
{
	const struct funclat_bpf *s = fp->skel;

	*cnt = *ns = 0;
	switch (g) {
	case GROUP_UPROBE:
		prog_runs(s->progs.uprobe_entry, cnt, ns);
		prog_runs(s->progs.uretprobe_return, cnt, ns);
		break;
	case GROUP_USDT:
		prog_runs(s->progs.usdt_count, cnt, ns);
		break;
	case GROUP_PAIR:
		prog_runs(s->progs.usdt_begin, cnt, ns);
		prog_runs(s->progs.usdt_end, cnt, ns);
		break;
	default:
		prog_runs(s->progs.kprobe_entry, cnt, ns);
		prog_runs(s->progs.kretprobe_return, cnt, ns);
		break;
	}
}

static enum prog_group group_of(const struct func_entry *e)
{
	switch (e->cfg->kind) {
	case FUNC_UPROBE: return GROUP_UPROBE;
	case FUNC_USDT: return GROUP_USDT;
	case FUNC_USDT_PAIR: return GROUP_PAIR;
	default: return GROUP_KPROBE;
	}
}

/* The kind of instruction a uprobe entry traps on, from the binary (USDT
 * probes sit on a nop). */
static enum calib_insn first_insn(const struct func_entry *e)
{
	uint8_t code[2];
	ssize_t n = -1;
	int fd;

	if (e->cfg->kind != FUNC_UPROBE)
		return CALIB_NOP;
	fd = open(e->binary, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, code, sizeof(code), (off_t)e->offset);
		close(fd);
	}
	return n > 0 ? calib__classify(code, (size_t)n) : CALIB_OTHER;
}

static bool uses_traps(const struct func_entry *e)
{
	return e->cfg->kind != FUNC_KERNEL;
}

/* Measure what @need asks for; what cannot be measured is assumed. */
static void calibrate(struct funcprobe *fp, const bool *need)
{
	const enum calib_insn order[] = { CALIB_PUSH, CALIB_OTHER, CALIB_NOP };
	char more[512] = "";
	size_t len = 0;
	int first = -1, err;

	for (int k = 0; k < CALIB__COUNT; k++) {
		if (!need[k])
			continue;
		err = calib__uprobe_ns((enum calib_insn)k, CALIB_CALLS, CALIB_RUNS,
				       &fp->trap_ns[k]);
		fp->trap_measured[k] = !err;
		if (err) {
			fp->trap_ns[k] = trap_fallback_ns[k];
			pr_warn("functions: measuring the uprobe cost (%s) failed: %s; "
				"assuming %.1f us", calib_insn__name((enum calib_insn)k),
				strerror(-err), fp->trap_ns[k] / 1000);
		}
	}
	for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++) {
		enum calib_insn k = order[j];

		if (!fp->trap_measured[k])
			continue;
		if (first < 0)
			first = k;
		else
			len += (size_t)snprintf(more + len, sizeof(more) - len,
						"; %.1f us %s", fp->trap_ns[k] / 1000,
						insn_desc[k]);
	}
	if (fp->trap_measured[CALIB_RETURN] && len < sizeof(more))
		snprintf(more + len, sizeof(more) - len, "; %s %.1f us per call",
			 insn_desc[CALIB_RETURN], fp->trap_ns[CALIB_RETURN] / 1000);
	if (first >= 0)
		pr_info("functions: uprobe costs %.1f us per hit here (%s%s)",
			fp->trap_ns[first] / 1000, insn_desc[first], more);
}

/* When the next link change of any entry is due: arm the timer for it,
 * or disarm it. */
static void rearm(struct funcprobe *fp)
{
	struct itimerspec its = {};
	uint64_t next = 0;

	for (size_t i = 0; i < fp->n; i++) {
		uint64_t t = fp->e[i].flip_at;

		if (t && (!next || t < next))
			next = t;
	}
	its.it_value.tv_sec = (time_t)(next / 1000000000ULL);
	its.it_value.tv_nsec = (long)(next % 1000000000ULL);
	if (timerfd_settime(fp->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		pr_warn("functions: arming the duty-cycle timer failed: %s",
			strerror(errno));
}

/* Start the budget of attached entry @i: active, linked, accounting from
 * @now.  Its trap cost must be known (calibrate() first). */
static void budget_entry_start(struct funcprobe *fp, struct func_entry *e,
			       size_t i, uint64_t now)
{
	e->limit = e->cfg->overhead_budget > 0 ? e->cfg->overhead_budget :
		   fp->default_limit;
	e->bs = budget__init();
	e->linked = true;
	e->cost = -1;
	e->flip_at = 0;
	e->obs_ns = e->obs_hits = 0;
	e->obs_bpf_ns = 0;
	e->flip_since = e->acct_from = now;
	e->hits_prev = hits_of(fp, i);
	/* A uprobe hit is a call (counted on return): entry trap and
	 * return; kernel entries are costed by their BPF run time. */
	e->hit_ns = 0;
	if (e->cfg->kind == FUNC_UPROBE)
		e->hit_ns = fp->trap_ns[e->insn] + fp->trap_ns[CALIB_RETURN];
	else if (uses_traps(e))
		e->hit_ns = fp->trap_ns[e->insn];
	if (e->fobj) {
		e->fprev_cnt = e->fprev_ns = 0;
		prog_runs(e->fobj->progs.fentry_entry, &e->fprev_cnt, &e->fprev_ns);
		prog_runs(e->fobj->progs.fexit_return, &e->fprev_cnt, &e->fprev_ns);
	}
}

/* What calibrating entry @e needs, added to @need; false when it needs
 * nothing that is not measured yet. */
static bool calib_needs(const struct funcprobe *fp, struct func_entry *e, bool *need)
{
	bool more = false;

	if (!uses_traps(e))
		return false;
	e->insn = first_insn(e);
	if (!fp->trap_ns[e->insn])
		more = need[e->insn] = true;
	if (e->cfg->kind == FUNC_UPROBE && !fp->trap_ns[CALIB_RETURN])
		more = need[CALIB_RETURN] = true;
	return more;
}

int funcprobe__budget_start(struct funcprobe *fp, double limit)
{
	bool need[CALIB__COUNT] = {}, any_need = false;
	size_t n = 0, watched = 0;
	uint64_t now;

	if (fp->budget_on || !fp->skel || !(limit > 0))
		return 0;
	for (size_t i = 0; i < fp->n; i++) {
		struct func_entry *e = &fp->e[i];

		watched += e->watch;
		if (!e->attached)
			continue;
		n++;
		any_need |= calib_needs(fp, e, need);
	}
	/* Watched entries may attach later (funcprobe__rescan). */
	if (!n && !watched)
		return 0;
	fp->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fp->timer_fd < 0)
		return -errno;
	fp->default_limit = limit;
	if (any_need)
		calibrate(fp, need);
	for (int g = 0; g < GROUP__COUNT; g++)
		group_runs(fp, (enum prog_group)g, &fp->gprev_cnt[g], &fp->gprev_ns[g]);
	now = bw_mono_ns();
	for (size_t i = 0; i < fp->n; i++)
		if (fp->e[i].attached)
			budget_entry_start(fp, &fp->e[i], i, now);
	fp->budget_on = true;
	return 0;
}

/* Attach watched entry @i again after its binary changed: checks from
 * scratch (the symbol may have moved or gone), links, budget.  The
 * entry's maps and what they aggregated stay. */
static void reattach(struct funcprobe *fp, struct func_entry *e, size_t i,
		     const char *what)
{
	bool need[CALIB__COUNT] = {};
	__u8 one = 1;
	__u32 id = (__u32)i;
	int err;

	unlink_entry(e);
	e->attached = e->linked = e->ready = e->use_offset = false;
	e->relink_failed = false;
	e->offset = 0;
	e->limit = 0;		/* no budget figures while detached */
	e->flip_at = 0;
	e->attach_type = "";
	free(e->binary);
	e->binary = NULL;
	check_entry(e, i, fp->feat);
	if (!e->ready)
		goto out;
	if (e->cfg->targets.set &&
	    bpf_map_update_elem(fp->filtered_fd, &id, &one, BPF_ANY)) {
		snprintf(e->reason, sizeof(e->reason), "target filter: %s",
			 strerror(errno));
		goto out;
	}
	libbpf_glue__quiet(true);
	err = e->cfg->kind == FUNC_UPROBE ? attach_uprobe(fp, e, i) :
					    attach_usdt(fp, e, i);
	libbpf_glue__quiet(false);
	if (err) {
		unlink_entry(e);
		e->attach_type = "";
		goto out;
	}
	e->attached = e->linked = true;
	snprintf(e->reason, sizeof(e->reason), "ok");
	if (fp->budget_on) {
		if (calib_needs(fp, e, need))
			calibrate(fp, need);
		budget_entry_start(fp, e, i, bw_mono_ns());
	}
out:
	if (e->attached)
		pr_info("function %s: binary %s %s: attached", e->cfg->name,
			e->cfg->binary, what);
	else
		pr_warn("function %s: binary %s %s: not attached: %s", e->cfg->name,
			e->cfg->binary, what, e->reason);
}

int funcprobe__rescan(struct funcprobe *fp)
{
	int changed = 0;

	if (!fp || !fp->skel)
		return 0;
	for (size_t i = 0; i < fp->n; i++) {
		struct func_entry *e = &fp->e[i];
		dev_t dev = e->st_dev;
		ino_t ino = e->st_ino;

		if (!e->watch)
			continue;
		file_identity(e);
		if (e->st_dev == dev && e->st_ino == ino)
			continue;
		reattach(fp, e, i, !ino ? "appeared" : !e->st_ino ? "is gone" :
				   "was replaced");
		changed++;
	}
	if (changed && fp->budget_on)
		rearm(fp);
	return changed;
}

int funcprobe__timer_fd(const struct funcprobe *fp)
{
	return fp ? fp->timer_fd : -1;
}

/*
 * Take the links of @e down.  Closing a uprobe link waits for an RCU
 * grace period (about 80 ms on the build VM) and the entry's other link
 * keeps trapping meanwhile: that time counts as attached, and its
 * average is the overhang budget__next_flip() plans with.
 */
static void unlink_measured(struct func_entry *e)
{
	uint64_t t0 = bw_mono_ns(), t1, d;
	bool two = e->links[1] != NULL;

	bpf_link__destroy(e->links[0]);
	e->links[0] = NULL;
	t1 = bw_mono_ns();
	e->obs_ns += (two ? t1 : t0) - e->acct_from;
	if (two) {
		d = t1 - t0;
		e->overhang_ns = e->overhang_ns ? (3 * e->overhang_ns + d) / 4 : d;
	}
	unlink_entry(e);
	e->linked = false;
}

/* Bring the links of entry @id up or down, and schedule the next change. */
static void flip(struct funcprobe *fp, struct func_entry *e, size_t id)
{
	int err;

	if (e->linked) {
		unlink_measured(e);
	} else {
		libbpf_glue__quiet(true);
		err = relink_entry(fp, e, id);
		libbpf_glue__quiet(false);
		if (err) {
			if (!e->relink_failed)
				pr_warn("function %s: attaching again failed: %s; retrying "
					"every second", e->cfg->name, e->reason);
			e->relink_failed = true;
			e->attached = false;
			e->flip_at = bw_mono_ns() + BUDGET_PERIOD_NS;
			return;
		}
		if (e->relink_failed)
			pr_info("function %s: attached again", e->cfg->name);
		e->relink_failed = false;
		e->attached = true;
		snprintf(e->reason, sizeof(e->reason), "ok");
		e->linked = true;
		e->acct_from = e->flip_since = bw_mono_ns();
	}
	e->flip_at = budget__next_flip(&e->bs, e->linked, e->flip_since,
				       e->overhang_ns);
}

void funcprobe__timer(struct funcprobe *fp)
{
	uint64_t expirations;

	if (fp->timer_fd < 0)
		return;
	if (read(fp->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		pr_debug("functions: reading the duty-cycle timer: %s", strerror(errno));
	for (size_t i = 0; i < fp->n; i++) {
		struct func_entry *e = &fp->e[i];

		/* bw_mono_ns() each time: a detach waits for an RCU grace period */
		if (e->flip_at && e->flip_at <= bw_mono_ns())
			flip(fp, e, i);
	}
	rearm(fp);
}

/* "4.3%" of a share of one CPU. */
static const char *pct(double share, char *buf, size_t len)
{
	if (share <= 0)
		snprintf(buf, len, "0%%");
	else
		snprintf(buf, len, "%.*f%%", share < 0.001 ? 3 : share < 0.1 ? 2 : 1,
			 share * 100);
	return buf;
}

static void log_change(const struct func_entry *e, const struct budget *prev)
{
	char c[32], b[32];

	pct(e->cost, c, sizeof(c));
	snprintf(b, sizeof(b), "%g%%", e->limit * 100);
	switch (e->bs.state) {
	case BUDGET_SAMPLED:
		pr_warn("function %s: cost %s of a CPU exceeds its %s budget: sampling "
			"%.0f%% of the time", e->cfg->name, c, b, e->bs.ratio * 100);
		break;
	case BUDGET_SUSPENDED:
		pr_warn("function %s: cost %s of a CPU exceeds its %s budget even "
			"sampled %.0f%% of the time: suspended, measuring again every "
			"%llu s", e->cfg->name, c, b, BUDGET_MIN_RATIO * 100,
			(unsigned long long)(BUDGET_REPROBE_NS / 1000000000ULL));
		break;
	default:
		pr_info("function %s: cost %s of a CPU is within its %s budget again "
			"(was %s): active", e->cfg->name, c, b,
			budget_state__name(prev->state));
		break;
	}
}

/* Apply a new budget state to entry @e: schedule the link changes. */
static void budget_apply(struct func_entry *e, struct budget next, uint64_t now)
{
	struct budget prev = e->bs;

	e->bs = next;
	if (next.state == prev.state && next.ratio == prev.ratio)
		return;
	if (next.state != prev.state)
		log_change(e, &prev);
	else
		pr_debug("function %s: cost %.4f of a CPU: sampling %.1f%% of the time",
			 e->cfg->name, e->cost, next.ratio * 100);
	/* A new state starts its cycle now: a sampled entry that is up
	 * stays up for its share, anything else is brought in line at once
	 * (the re-probe of a suspended entry comes a full period later). */
	if (next.state != prev.state) {
		e->flip_since = now;
		if (next.state == BUDGET_SAMPLED && e->linked)
			e->flip_at = budget__next_flip(&next, true, now, e->overhang_ns);
		else if (next.state == BUDGET_SUSPENDED && !e->linked)
			e->flip_at = budget__next_flip(&next, false, now, e->overhang_ns);
		else
			e->flip_at = next.state == BUDGET_ACTIVE && e->linked ? 0 : now;
		return;
	}
	e->flip_at = budget__next_flip(&next, e->linked, e->flip_since, e->overhang_ns);
}

/*
 * Once per collection tick: each entry's hits since the last tick (func_hits)
 * give its cost (hits x calibrated cost of a hit, plus its share of its
 * programs' BPF run time), added to what it spent; once it was attached
 * long enough for an estimate, its full-rate cost decides its next state
 * (budget.h).
 */
void funcprobe__budget_tick(struct funcprobe *fp)
{
	double per_hit[GROUP__COUNT], group_ns[GROUP__COUNT];
	uint64_t group_hits[GROUP__COUNT] = {}, now;

	if (!fp || !fp->budget_on)
		return;
	for (int g = 0; g < GROUP__COUNT; g++) {
		uint64_t cnt, ns;

		group_runs(fp, (enum prog_group)g, &cnt, &ns);
		group_ns[g] = (double)(ns - fp->gprev_ns[g]);
		fp->gprev_cnt[g] = cnt;
		fp->gprev_ns[g] = ns;
	}
	/* The run time of a group's programs is shared by its entries in
	 * proportion to their hits. */
	for (size_t i = 0; i < fp->n; i++) {
		struct func_entry *e = &fp->e[i];
		uint64_t hits;

		if (!(e->limit > 0))
			continue;
		hits = hits_of(fp, i);
		e->dhits = hits - e->hits_prev;
		e->hits_prev = hits;
		if (!e->fobj)
			group_hits[group_of(e)] += e->dhits;
	}
	for (int g = 0; g < GROUP__COUNT; g++)
		per_hit[g] = group_hits[g] ? group_ns[g] / (double)group_hits[g] : 0;
	now = bw_mono_ns();
	for (size_t i = 0; i < fp->n; i++) {
		struct func_entry *e = &fp->e[i];
		uint64_t dh = e->dhits, cnt = 0, ns = 0;
		double bpf;

		if (!(e->limit > 0))
			continue;
		if (e->fobj) {
			prog_runs(e->fobj->progs.fentry_entry, &cnt, &ns);
			prog_runs(e->fobj->progs.fexit_return, &cnt, &ns);
			bpf = (double)(ns - e->fprev_ns);
			e->fprev_cnt = cnt;
			e->fprev_ns = ns;
		} else {
			bpf = (double)dh * per_hit[group_of(e)];
		}
		if (e->linked) {
			e->obs_ns += now - e->acct_from;
			e->acct_from = now;
		}
		e->obs_hits += dh;
		e->obs_bpf_ns += bpf;
		e->spent_s += ((double)dh * e->hit_ns + bpf) / 1e9;
		if (e->obs_ns < BUDGET_MIN_OBSERVE_NS)
			continue;
		e->cost = budget__cost(e->obs_hits, e->hit_ns, (uint64_t)e->obs_bpf_ns,
				       e->obs_ns);
		e->obs_ns = e->obs_hits = 0;
		e->obs_bpf_ns = 0;
		budget_apply(e, budget__next(e->bs, e->cost, e->limit), now);
	}
	rearm(fp);
}

bool funcprobe__overhead(const struct funcprobe *fp, size_t i,
			 struct funcprobe_overhead *o)
{
	const struct func_entry *e;

	if (!fp->budget_on || i >= fp->n || !(fp->e[i].limit > 0))
		return false;
	e = &fp->e[i];
	o->state = e->bs.state;
	o->ratio = e->bs.ratio;
	o->limit = e->limit;
	o->cost = e->cost;
	o->spent_s = e->spent_s;
	return true;
}

bool funcprobe__trap_ns(const struct funcprobe *fp, enum calib_insn insn, double *ns)
{
	if (!fp->budget_on || (unsigned int)insn >= CALIB__COUNT ||
	    !fp->trap_measured[insn])
		return false;
	*ns = fp->trap_ns[insn];
	return true;
}
