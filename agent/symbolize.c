// SPDX-License-Identifier: GPL-2.0
/*
 * User-space symbolizer (see symbolize.h).
 *
 * Mappings are an array sorted by start address (the kernel lists them so)
 * and searched by bisection.  Each mapping remembers its file's cache key
 * once known, and so do the other mappings of the same file (same device
 * and inode), so a file is opened once per key: a lookup whose key is in
 * the cache is a hit, one that opens and reads the file a miss.  The cache
 * is small (max_files) and scanned linearly; an entry holds the open ELF
 * (symbol names point into it) and its sorted function symbols.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbolize.h"

#define BUILD_ID_MAX	20	/* SHA-1; anything longer is cut */
#define KEY_LEN		(PATH_MAX + 64)
#define MAX_LOADS	16
#define NT_GNU_BUILD_ID_TYPE 3

struct sym {
	uint64_t addr, size;
	const char *name;	/* in the ELF's string table */
	int rank;		/* global 2, weak 1, local 0: kept on ties */
};

struct load_seg {
	uint64_t off, vaddr, filesz;
};

struct elf_entry {
	char key[KEY_LEN];
	char build_id[2 * BUILD_ID_MAX + 1];
	int fd;
	Elf *elf;
	struct load_seg loads[MAX_LOADS];
	int nloads;
	struct sym *syms;
	size_t nsyms;
	uint64_t last_use;
};

struct mapping {
	uint64_t start, end, off, inode;
	unsigned int dev_major, dev_minor;
	char *path;		/* as listed, without " (deleted)" */
	bool deleted;
	bool key_known;		/* key/build_id below are valid */
	bool unusable;		/* the file could not be opened or read */
	char key[KEY_LEN];
	char build_id[2 * BUILD_ID_MAX + 1];
};

struct symbolizer {
	uint32_t pid;
	struct mapping *maps;
	size_t nmaps;
	struct elf_entry *cache;
	size_t max_files, nfiles;
	uint64_t clock;
	struct symbolizer_stats st;
};

/* ---- /proc/PID/maps ------------------------------------------------------ */

static void free_maps(struct mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

/* Parse one maps line into @m; false when it is malformed. */
static bool parse_line(char *line, struct mapping *m)
{
	unsigned long long start, end, off, inode;
	unsigned int maj, min;
	char perms[8];
	int pos = 0;
	char *path;
	size_t l;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms,
		   &off, &maj, &min, &inode, &pos) < 7 || !pos)
		return false;
	path = line + pos;
	l = strcspn(path, "\n");
	path[l] = '\0';
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->off = off;
	m->dev_major = maj;
	m->dev_minor = min;
	m->inode = inode;
	if (l > 10 && strcmp(path + l - 10, " (deleted)") == 0 && path[0] == '/') {
		path[l - 10] = '\0';
		m->deleted = true;
	}
	m->path = strdup(path);
	return m->path != NULL;
}

int symbolizer__refresh(struct symbolizer *s)
{
	struct mapping *maps = NULL, *m;
	size_t n = 0, cap = 0;
	char fn[64], *line = NULL;
	size_t llen = 0;
	FILE *f;
	int err = 0;

	snprintf(fn, sizeof(fn), "/proc/%u/maps", s->pid);
	f = fopen(fn, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &llen, f) > 0) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;

			m = reallocarray(maps, nc, sizeof(*maps));
			if (!m) {
				err = -ENOMEM;
				break;
			}
			maps = m;
			cap = nc;
		}
		if (!parse_line(line, &maps[n])) {
			if (errno == ENOMEM) {
				err = -ENOMEM;
				break;
			}
			continue;
		}
		n++;
	}
	free(line);
	fclose(f);
	if (!err && !n)
		err = -ESRCH;	/* an exited process (zombie) has no maps */
	if (err) {
		free_maps(maps, n);
		return err;
	}
	/* Keep what was learnt about files still mapped at the same place. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < s->nmaps; j++) {
			struct mapping *o = &s->maps[j];

			if (o->key_known && o->inode == maps[i].inode &&
			    o->dev_major == maps[i].dev_major &&
			    o->dev_minor == maps[i].dev_minor &&
			    o->start == maps[i].start &&
			    strcmp(o->path, maps[i].path) == 0) {
				maps[i].key_known = true;
				memcpy(maps[i].key, o->key, sizeof(o->key));
				memcpy(maps[i].build_id, o->build_id, sizeof(o->build_id));
				break;
			}
		}
	free_maps(s->maps, s->nmaps);
	s->maps = maps;
	s->nmaps = n;
	return 0;
}

struct symbolizer *symbolizer__new(uint32_t pid, size_t max_files)
{
	struct symbolizer *s;
	int err;

	if (!pid || !max_files) {
		errno = EINVAL;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOTSUP;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cache = calloc(max_files, sizeof(*s->cache));
	if (!s->cache) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->pid = pid;
	s->max_files = max_files;
	err = symbolizer__refresh(s);
	if (err) {
		symbolizer__free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static void entry_close(struct elf_entry *e)
{
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->syms);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++)
		entry_close(&s->cache[i]);
	free(s->cache);
	free_maps(s->maps, s->nmaps);
	free(s);
}

/* ---- ELF files -------------------------------------------------------------- */

/* The GNU build-id of @elf as hex into @out (2 * BUILD_ID_MAX + 1 bytes),
 * "" when it has none: from SHT_NOTE sections, else PT_NOTE segments
 * (a file stripped of its section headers). */
static void read_build_id(Elf *elf, char *out)
{
	Elf_Scn *scn = NULL;
	size_t nph = 0;

	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		size_t idx = 0;

		for (;;) {
			Elf_Data *d = NULL;
			GElf_Nhdr nh;
			size_t off = 0, noff, doff;

			if (pass == 0) {
				GElf_Shdr sh;

				scn = elf_nextscn(elf, scn);
				if (!scn)
					break;
				if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
					continue;
				d = elf_getdata(scn, NULL);
			} else {
				GElf_Phdr ph;

				if (idx == 0 && elf_getphdrnum(elf, &nph))
					break;
				if (idx >= nph)
					break;
				if (!gelf_getphdr(elf, (int)idx++, &ph) ||
				    ph.p_type != PT_NOTE)
					continue;
				d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
							 ph.p_filesz, ELF_T_NHDR);
			}
			if (!d)
				continue;
			while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
				const unsigned char *id;
				size_t len;

				if (nh.n_type != NT_GNU_BUILD_ID_TYPE || nh.n_namesz != 4 ||
				    memcmp((const char *)d->d_buf + noff, "GNU", 4))
					continue;
				id = (const unsigned char *)d->d_buf + doff;
				len = nh.n_descsz < BUILD_ID_MAX ? nh.n_descsz : BUILD_ID_MAX;
				for (size_t i = 0; i < len; i++)
					sprintf(out + 2 * i, "%02x", id[i]);
				return;
			}
		}
	}
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return y->rank - x->rank;	/* preferred name first */
}

/* Function symbols of @elf's table of @type; 0 or -ENOMEM. */
static int load_table(struct elf_entry *e, uint32_t type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e->elf, scn))) {
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		e->syms = calloc(n ? n : 1, sizeof(*e->syms));
		if (!e->syms)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			int t, b;

			if (!gelf_getsym(d, (int)i, &sym))
				break;
			t = GELF_ST_TYPE(sym.st_info);
			b = GELF_ST_BIND(sym.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC) || !sym.st_value ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e->elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			e->syms[e->nsyms++] = (struct sym){
				.addr = sym.st_value, .size = sym.st_size, .name = name,
				.rank = b == STB_GLOBAL ? 2 : b == STB_WEAK ? 1 : 0,
			};
		}
		break;
	}
	return 0;
}

/* Read @fd (taken over) into @e: segments, build-id, symbols. */
static int entry_load(struct elf_entry *e, int fd)
{
	size_t nph;
	int err;

	e->fd = fd;
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (elf_getphdrnum(e->elf, &nph))
		return -ENOEXEC;
	for (size_t i = 0; i < nph && e->nloads < MAX_LOADS; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			e->loads[e->nloads++] = (struct load_seg){
				.off = ph.p_offset, .vaddr = ph.p_vaddr,
				.filesz = ph.p_filesz,
			};
	}
	read_build_id(e->elf, e->build_id);
	err = load_table(e, SHT_SYMTAB);
	if (!err && !e->nsyms) {
		free(e->syms);
		e->syms = NULL;
		err = load_table(e, SHT_DYNSYM);
	}
	if (err)
		return err;
	qsort(e->syms, e->nsyms, sizeof(*e->syms), cmp_sym);
	return 0;
}

/* Open the file of mapping @m as the process sees it; -errno. */
static int open_mapped(const struct symbolizer *s, const struct mapping *m)
{
	char path[PATH_MAX + 64];
	bool same_ino = false;
	struct stat st;
	int fd = -1;

	if (!m->deleted) {
		snprintf(path, sizeof(path), "/proc/%u/root%s", s->pid, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)	/* the process is gone: our own view */
			fd = open(m->path, O_RDONLY | O_CLOEXEC);
		same_ino = fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == m->inode;
		if (same_ino && major(st.st_dev) == m->dev_major &&
		    minor(st.st_dev) == m->dev_minor)
			return fd;
		/* replaced since it was mapped (or overlayfs reports another
		 * device): try the mapping itself */
	}
	snprintf(path, sizeof(path), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64,
		 s->pid, m->start, m->end);
	{
		int mfd = open(path, O_RDONLY | O_CLOEXEC);

		if (mfd >= 0) {
			if (fd >= 0)
				close(fd);
			return mfd;
		}
	}
	/* Same path and size but another device: overlayfs shows the
	 * upper device in maps; trust the path then. */
	if (same_ino)
		return fd;
	if (fd >= 0)
		close(fd);
	return -ENOENT;
}

static struct elf_entry *cache_find(struct symbolizer *s, const char *key)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->cache[i].key, key) == 0)
			return &s->cache[i];
	return NULL;
}

/* A free cache slot, evicting the least recently used file if needed. */
static struct elf_entry *cache_slot(struct symbolizer *s)
{
	size_t victim = 0;

	if (s->nfiles < s->max_files) {
		struct elf_entry *e = &s->cache[s->nfiles++];

		memset(e, 0, sizeof(*e));
		e->fd = -1;
		return e;
	}
	for (size_t i = 1; i < s->nfiles; i++)
		if (s->cache[i].last_use < s->cache[victim].last_use)
			victim = i;
	entry_close(&s->cache[victim]);
	s->st.evictions++;
	return &s->cache[victim];
}

/* Key a file by its build-id, else by what identifies it on disk. */
static void make_key(const struct mapping *m, const char *build_id, char *key)
{
	if (*build_id)
		snprintf(key, KEY_LEN, "b:%s", build_id);
	else
		snprintf(key, KEY_LEN, "f:%u:%u:%" PRIu64 ":%s", m->dev_major,
			 m->dev_minor, m->inode, m->path);
}

/* Share a learnt key with every mapping of the same file. */
static void spread_key(struct symbolizer *s, const struct mapping *m)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		struct mapping *o = &s->maps[i];

		if (o->key_known || o->inode != m->inode ||
		    o->dev_major != m->dev_major || o->dev_minor != m->dev_minor ||
		    strcmp(o->path, m->path))
			continue;
		o->key_known = true;
		o->unusable = m->unusable;
		memcpy(o->key, m->key, sizeof(o->key));
		memcpy(o->build_id, m->build_id, sizeof(o->build_id));
	}
}

/* The cached ELF of mapping @m, opening it on a miss; NULL when it cannot
 * be read. */
static struct elf_entry *elf_for(struct symbolizer *s, struct mapping *m)
{
	struct elf_entry *e, tmp;
	int fd, err;

	if (m->unusable)
		return NULL;
	if (m->key_known) {
		e = cache_find(s, m->key);
		if (e) {
			s->st.hits++;
			e->last_use = ++s->clock;
			return e;
		}
	}
	fd = open_mapped(s, m);
	if (fd < 0)
		goto err_out;
	memset(&tmp, 0, sizeof(tmp));
	err = entry_load(&tmp, fd);
	if (err) {
		entry_close(&tmp);
		goto err_out;
	}
	make_key(m, tmp.build_id, tmp.key);
	memcpy(m->key, tmp.key, sizeof(m->key));
	memcpy(m->build_id, tmp.build_id, sizeof(m->build_id));
	m->key_known = true;
	spread_key(s, m);
	e = cache_find(s, tmp.key);
	if (e) {
		/* Same build-id under another path: the cached copy serves. */
		entry_close(&tmp);
		s->st.hits++;
		e->last_use = ++s->clock;
		return e;
	}
	s->st.misses++;
	e = cache_slot(s);
	*e = tmp;
	e->last_use = ++s->clock;
	return e;
err_out:
	s->st.errors++;
	m->unusable = true;
	spread_key(s, m);
	return NULL;
}

/* ELF virtual address of file offset @off: through the PT_LOAD segment
 * that holds it. */
static uint64_t off_to_vaddr(const struct elf_entry *e, uint64_t off)
{
	for (int i = 0; i < e->nloads; i++) {
		const struct load_seg *l = &e->loads[i];

		if (off >= l->off && off < l->off + l->filesz)
			return off - l->off + l->vaddr;
	}
	return off;
}

static const struct sym *find_sym(const struct elf_entry *e, uint64_t vaddr)
{
	size_t lo = 0, hi = e->nsyms;
	const struct sym *best;

	while (lo < hi) {		/* first symbol above vaddr */
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	best = &e->syms[lo - 1];
	/* the first of the symbols at that address is the preferred one */
	while (best > e->syms && best[-1].addr == best->addr)
		best--;
	if (best->size && vaddr >= best->addr + best->size) {
		/* A sized symbol does not cover it; an alias with a larger
		 * size at the same address might. */
		for (const struct sym *p = best; p < e->syms + e->nsyms &&
		     p->addr == best->addr; p++)
			if (vaddr < p->addr + p->size)
				return p;
		return NULL;
	}
	return best;
}

int symbolizer__resolve(struct symbolizer *s, uint64_t addr, struct sym_info *out)
{
	size_t lo = 0, hi = s->nmaps;
	struct elf_entry *e;
	struct mapping *m;
	const struct sym *sym;
	uint64_t vaddr;

	memset(out, 0, sizeof(*out));
	out->build_id = "";
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= s->maps[lo - 1].end)
		return -ENOENT;
	m = &s->maps[lo - 1];
	out->module = m->path;
	out->deleted = m->deleted;
	out->file_offset = addr - m->start + m->off;
	out->offset = addr - m->start;
	if (m->path[0] != '/')
		return 0;
	e = elf_for(s, m);
	if (!e)
		return 0;
	out->build_id = e->build_id;
	vaddr = off_to_vaddr(e, out->file_offset);
	out->offset = vaddr;
	sym = find_sym(e, vaddr);
	if (sym) {
		out->symbol = sym->name;
		out->offset = vaddr - sym->addr;
	}
	return 0;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st)
{
	*st = s->st;
	st->open_files = s->nfiles;
}

void sym_info__format(const struct sym_info *si, bool base, char *buf, size_t len)
{
	const char *mod = si->module;

	if (!mod) {
		snprintf(buf, len, "[unknown]");
		return;
	}
	if (base && strrchr(mod, '/'))
		mod = strrchr(mod, '/') + 1;
	if (si->symbol && si->offset)
		snprintf(buf, len, "%s+0x%" PRIx64, si->symbol, si->offset);
	else if (si->symbol)
		snprintf(buf, len, "%s", si->symbol);
	else
		snprintf(buf, len, "%s+0x%" PRIx64, *mod ? mod : "[anon]", si->offset);
}
