// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime classification, the ELF half: gcdetect__file() reads a file's
 * USDT notes (usdt_notes.c), Go build info, symbol table and pclntab, and
 * decides with the parsers of gcdetect.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gcdetect.h"
#include "usdt_notes.h"

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

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

/* File offset of virtual address @va, from the section holding it. */
static bool va_to_offset(Elf *elf, uint64_t va, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (va >= sh.sh_addr && va < sh.sh_addr + sh.sh_size) {
			*off = va - sh.sh_addr + sh.sh_offset;
			return true;
		}
	}
	return false;
}

/* Look for the Go markers and the stop/start-the-world functions: in the
 * symbol table, else in the pclntab the runtime itself keeps (stripped
 * binaries, the usual case in production, still have it). */
static void scan_go(Elf *elf, struct gc_detect *d)
{
	static const char *const names[2] = { GCDETECT_GO_STOP, GCDETECT_GO_START };
	bool go = false, have_symtab = false, have_pcln = false;
	uint64_t va[2] = { 0, 0 }, text_addr = 0;
	Elf_Data *pcln = NULL;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err = -ENOENT;

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
		} else if (eq(name, ".gopclntab")) {
			pcln = elf_getdata(scn, NULL);
		} else if (eq(name, ".text")) {
			text_addr = sh.sh_addr;
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
			else if (!strcmp(s, GCDETECT_GO_STOP))
				va[0] = sym.st_value;
			else if (!strcmp(s, GCDETECT_GO_START))
				va[1] = sym.st_value;
		}
	}
	if (!go)
		return;
	d->runtime = GC_GO;
	d->go_reason = gcdetect__go_has_reason(d->go_version);
	if (!va[0] || !va[1]) {
		have_pcln = pcln && pcln->d_buf;
		if (have_pcln)
			err = gcdetect__go_pclntab_find(pcln->d_buf, pcln->d_size, text_addr,
							names, va, 2);
	}
	if (va[0] && va[1] && va_to_offset(elf, va[0], &d->go_stop_off) &&
	    va_to_offset(elf, va[1], &d->go_start_off)) {
		d->usable = true;
	} else if (have_pcln && err == -ENOTSUP) {
		snprintf(d->why, sizeof(d->why), "%s: Go before 1.16 (pclntab layout not "
			 "supported)", have_symtab ? "symbols missing" : "stripped");
	} else {
		snprintf(d->why, sizeof(d->why), "%s or %s not found (%s)",
			 GCDETECT_GO_STOP, GCDETECT_GO_START,
			 have_symtab ? "symbol table" : have_pcln ? "stripped; pclntab" :
			 "stripped, no pclntab");
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
				 gcdetect__provider(rt),
				 b ? gcdetect__begin_probe(rt, false) :
				     gcdetect__end_probe(rt, false),
				 gcdetect__provider(rt),
				 b ? gcdetect__end_probe(rt, false) :
				     gcdetect__begin_probe(rt, false));
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
