// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime classification, the parsing half: USDT note roles, Go build
 * info and pclntab, /proc/PID/maps lines.  No I/O here (fuzzed by
 * tests/fuzz/fuzz_gcdetect.c); reading ELF files is gcdetect_elf.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcdetect.h"

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

static uint64_t read_uint(const unsigned char *p, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);	/* little-endian targets only */
	return v;
}

int gcdetect__go_pclntab_find(const void *tab, size_t len, uint64_t text_addr,
			      const char *const *names, uint64_t *va, size_t n)
{
	const unsigned char *t = tab;
	uint64_t nfunc, nameoff_tab, funcoff_tab, fsz, ptrsize, found = 0;
	uint32_t magic;
	bool v118;

	if (len < 8 + 8 * 8)
		return -EINVAL;
	memcpy(&magic, t, 4);
	ptrsize = t[7];
	if ((ptrsize != 4 && ptrsize != 8) || t[4] || t[5])
		return -EINVAL;
	if (magic == 0xfffffff0 || magic == 0xfffffff1)
		v118 = true;		/* Go 1.18 .. */
	else if (magic == 0xfffffffa)
		v118 = false;		/* Go 1.16, 1.17 */
	else
		return -ENOTSUP;	/* Go <= 1.15 layout */
	nfunc = read_uint(t + 8, (unsigned int)ptrsize);
	nameoff_tab = read_uint(t + 8 + (v118 ? 3 : 2) * ptrsize, (unsigned int)ptrsize);
	funcoff_tab = read_uint(t + 8 + (v118 ? 7 : 6) * ptrsize, (unsigned int)ptrsize);
	fsz = v118 ? 4 : ptrsize;
	if (nameoff_tab >= len || funcoff_tab >= len || nfunc > len ||
	    (2 * nfunc + 1) * fsz > len - funcoff_tab)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		va[i] = 0;
	for (uint64_t i = 0; i < nfunc && found < n; i++) {
		const unsigned char *ft = t + funcoff_tab + 2 * i * fsz;
		uint64_t entry = read_uint(ft, (unsigned int)fsz);
		uint64_t foff = read_uint(ft + fsz, (unsigned int)fsz);
		uint64_t f = funcoff_tab + foff, noff;
		int32_t nameoff;
		const char *name;

		/* _func: entry (uint32 offset from text, or a pointer), then
		 * nameOff (int32 into the function name table) */
		if (f > len || fsz + 4 > len - f)
			continue;
		memcpy(&nameoff, t + f + fsz, 4);
		if (nameoff < 0)
			continue;
		noff = nameoff_tab + (uint64_t)nameoff;
		if (noff >= len)
			continue;
		name = (const char *)t + noff;
		/* NUL inside the table first: strncmp may read 8 bytes */
		if (!memchr(name, '\0', len - noff) || strncmp(name, "runtime.", 8) != 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!va[k] && !strcmp(name, names[k])) {
				va[k] = v118 ? text_addr + entry : entry;
				found++;
			}
		}
	}
	return found == n ? 0 : -ENOENT;
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
