// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcdetect.h"
#include "usdt_notes.h"

struct note_pair {
	const char *provider, *begin, *end, *sweep_begin, *sweep_end;
};

/* Indexed by enum gc_runtime_id; go has no notes. */
static const struct note_pair pairs[GC__COUNT] = {
	[GC_PYTHON] = { "python", "gc__start", "gc__done", NULL, NULL },
	[GC_HOTSPOT] = { "hotspot", "gc__begin", "gc__end", NULL, NULL },
	[GC_RUBY] = { "ruby", "gc__mark__begin", "gc__mark__end",
		      "gc__sweep__begin", "gc__sweep__end" },
};

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

enum gc_note_role gcdetect__note_role(const char *provider, const char *name,
				      unsigned int *rt)
{
	for (unsigned int i = 0; i < GC__COUNT; i++) {
		const struct note_pair *p = &pairs[i];
		enum gc_note_role r = GC_NOTE_NONE;

		if (!p->provider || !eq(provider, p->provider))
			continue;
		if (eq(name, p->begin))
			r = GC_NOTE_BEGIN;
		else if (eq(name, p->end))
			r = GC_NOTE_END;
		else if (eq(name, p->sweep_begin))
			r = GC_NOTE_SWEEP_BEGIN;
		else if (eq(name, p->sweep_end))
			r = GC_NOTE_SWEEP_END;
		if (r != GC_NOTE_NONE)
			*rt = i;
		return r;
	}
	return GC_NOTE_NONE;
}

const char *gcdetect__provider(unsigned int rt)
{
	return rt < GC__COUNT ? pairs[rt].provider : NULL;
}

const char *gcdetect__begin_probe(unsigned int rt, bool sweep)
{
	if (rt >= GC__COUNT)
		return NULL;
	return sweep ? pairs[rt].sweep_begin : pairs[rt].begin;
}

const char *gcdetect__end_probe(unsigned int rt, bool sweep)
{
	if (rt >= GC__COUNT)
		return NULL;
	return sweep ? pairs[rt].sweep_end : pairs[rt].end;
}

/* ---- Go ------------------------------------------------------------------ */

int gcdetect__go_buildinfo_version(const void *data, size_t len, char *out,
				   size_t outlen)
{
	static const char magic[14] = "\xff Go buildinf:";
	const unsigned char *b = data;
	uint64_t n = 0;
	size_t off = 32;
	unsigned int shift = 0;

	if (len < 33 || memcmp(b, magic, sizeof(magic)) != 0 || !(b[15] & 2))
		return -EINVAL;
	for (;;) {
		if (off >= len || shift > 28)
			return -EINVAL;
		n |= (uint64_t)(b[off] & 0x7f) << shift;
		shift += 7;
		if (!(b[off++] & 0x80))
			break;
	}
	if (!n || n > len - off || n >= outlen)
		return -EINVAL;
	memcpy(out, b + off, n);
	out[n] = '\0';
	return 0;
}

bool gcdetect__go_has_reason(const char *version)
{
	const char *p = strstr(version, "go1.");
	char *end;
	unsigned long minor;

	if (!p)
		return false;
	minor = strtoul(p + 4, &end, 10);
	return end != p + 4 && minor >= 21;
}

const char *gcdetect__go_reason_name(unsigned int reason)
{
	/* runtime/proc.go stwReason, Go 1.21 .. 1.24 */
	static const char *const names[] = {
		"unknown", "mark_termination", "sweep_termination", "write_heap_dump",
		"goroutine_profile", "goroutine_profile_cleanup",
		"all_goroutines_stack", "read_mem_stats", "all_threads_syscall",
		"gomaxprocs", "start_trace", "stop_trace",
	};

	if (reason < sizeof(names) / sizeof(names[0]))
		return names[reason];
	return "other";
}

/* ---- ELF --------------------------------------------------------------- */

struct note_scan {
	bool seen[GC__COUNT][5];
};

static int note_cb(const struct usdt_note *n, void *ctx)
{
	struct note_scan *s = ctx;
	unsigned int rt;
	enum gc_note_role r = gcdetect__note_role(n->provider, n->name, &rt);

	if (r != GC_NOTE_NONE)
		s->seen[rt][r] = true;
	return 0;
}

/* Look for the Go markers and the stop/start-the-world symbols. */
static void scan_go(Elf *elf, struct gc_detect *d)
{
	bool go = false, have_symtab = false, stop = false, start = false;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (eq(name, ".go.buildinfo")) {
			go = true;
			data = elf_getdata(scn, NULL);
			if (data && data->d_buf)
				gcdetect__go_buildinfo_version(data->d_buf, data->d_size,
							       d->go_version,
							       sizeof(d->go_version));
		}
		if (sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		have_symtab = true;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!s || strncmp(s, "runtime.", 8))
				continue;
			if (!strcmp(s, "runtime.buildVersion"))
				go = true;
			else if (!strcmp(s, GCDETECT_GO_STOP) && sym.st_value)
				stop = true;
			else if (!strcmp(s, GCDETECT_GO_START) && sym.st_value)
				start = true;
		}
	}
	if (!go)
		return;
	d->runtime = GC_GO;
	d->go_reason = gcdetect__go_has_reason(d->go_version);
	if (stop && start) {
		d->usable = true;
	} else if (!have_symtab) {
		snprintf(d->why, sizeof(d->why), "stripped Go binary (no symbol table): "
			 "%s not found", GCDETECT_GO_STOP);
	} else {
		snprintf(d->why, sizeof(d->why), "%s or %s not in the symbol table",
			 GCDETECT_GO_STOP, GCDETECT_GO_START);
	}
}

int gcdetect__file(const char *path, struct gc_detect *d)
{
	struct note_scan s = {};
	Elf *elf;
	int fd, err;

	memset(d, 0, sizeof(*d));
	d->runtime = -1;
	err = usdt_notes__foreach(path, note_cb, &s);
	if (err == -ENOEXEC)
		return 0;
	if (err)
		return err;
	for (unsigned int rt = 0; rt < GC__COUNT; rt++) {
		bool b = s.seen[rt][GC_NOTE_BEGIN], e = s.seen[rt][GC_NOTE_END];

		if (!b && !e)
			continue;
		d->runtime = (int)rt;
		d->usable = b && e;
		d->sweep = s.seen[rt][GC_NOTE_SWEEP_BEGIN] && s.seen[rt][GC_NOTE_SWEEP_END];
		if (!d->usable)
			snprintf(d->why, sizeof(d->why), "usdt %s:%s without %s:%s",
				 pairs[rt].provider, b ? pairs[rt].begin : pairs[rt].end,
				 pairs[rt].provider, b ? pairs[rt].end : pairs[rt].begin);
		return 0;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		scan_go(elf, d);
	if (elf)
		elf_end(elf);
	close(fd);
	return 0;
}

/* ---- /proc/PID/maps ------------------------------------------------------ */

bool gcdetect__parse_maps_line(char *line, struct maps_entry *e)
{
	char perms[8];
	uint64_t off;
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 "%n",
		   &e->start, &e->end, perms, &off, &e->dev_major, &e->dev_minor,
		   &e->inode, &n) != 7 || strlen(perms) != 4)
		return false;
	e->exec = perms[2] == 'x';
	e->path = line + n;
	while (*e->path == ' ')
		e->path++;
	return true;
}
