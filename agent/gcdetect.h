/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which language runtime, if any, a binary or library carries, and how its
 * GC pauses can be probed (pure logic over ELF files and /proc text, so it
 * is unit-tested apart from the probe):
 *   python   python:gc__start / python:gc__done USDT notes
 *   hotspot  hotspot:gc__begin / hotspot:gc__end (libjvm.so)
 *   ruby     ruby:gc__mark__begin / __end (and gc__sweep__begin / __end)
 *   go       a .go.buildinfo section (or runtime.buildVersion symbol);
 *            runtime.stopTheWorldWithSema / startTheWorldWithSema are
 *            looked up in the symbol table, else (stripped binaries) in
 *            the .gopclntab function table (Go >= 1.16 layouts)
 */
#ifndef BPFWATCH_GCDETECT_H
#define BPFWATCH_GCDETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define GCDETECT_GO_STOP	"runtime.stopTheWorldWithSema"
#define GCDETECT_GO_START	"runtime.startTheWorldWithSema"

/* Role of one USDT note for GC timing. */
enum gc_note_role {
	GC_NOTE_NONE = 0,
	GC_NOTE_BEGIN,		/* python gc__start, hotspot gc__begin, ruby mark begin */
	GC_NOTE_END,
	GC_NOTE_SWEEP_BEGIN,	/* ruby only */
	GC_NOTE_SWEEP_END,
};

/* Role of @provider:@name; *@rt gets the runtime (enum gc_runtime_id)
 * when the role is not GC_NOTE_NONE. */
enum gc_note_role gcdetect__note_role(const char *provider, const char *name,
				      unsigned int *rt);

/* Begin/end probe names of USDT runtime @rt (NULL for go); @sweep: ruby's
 * sweep pair. */
const char *gcdetect__begin_probe(unsigned int rt, bool sweep);
const char *gcdetect__end_probe(unsigned int rt, bool sweep);
const char *gcdetect__provider(unsigned int rt);

struct gc_detect {
	int runtime;		/* enum gc_runtime_id, -1: not a runtime */
	bool usable;		/* probes can be attached; else see why */
	char why[160];		/* why not, when runtime >= 0 && !usable */
	bool sweep;		/* ruby: the sweep pair is there too */
	char go_version[32];	/* "go1.21.5", "" when unknown */
	bool go_reason;		/* Go >= 1.21 passes a stwReason */
	uint64_t go_stop_off;	/* file offsets of the two functions */
	uint64_t go_start_off;
};

/*
 * Inspect the ELF file @path (read only: notes, section names, symbol
 * table).  0 with @d filled (d->runtime -1 for anything else, including
 * non-ELF files), or -errno when it cannot be opened.
 */
int gcdetect__file(const char *path, struct gc_detect *d);

/*
 * Go version from the contents of a .go.buildinfo section (Go >= 1.18
 * inline format: 16-byte magic "\xff Go buildinf:" + ptr size + flags
 * with bit 2, then a varint-prefixed version string at offset 32).  0, or
 * -EINVAL for other layouts (older Go: the version sits behind pointers).
 */
int gcdetect__go_buildinfo_version(const void *data, size_t len, char *out,
				   size_t outlen);
/*
 * Look @n function @names up in a Go pclntab (@tab, @len bytes: the
 * .gopclntab section) and store their virtual addresses in @va; @text_addr
 * is the address of .text, which Go >= 1.18 tables are relative to.  0
 * when all were found, -ENOENT when some were not, -ENOTSUP for layouts
 * before Go 1.16, -EINVAL for a malformed table.
 */
int gcdetect__go_pclntab_find(const void *tab, size_t len, uint64_t text_addr,
			      const char *const *names, uint64_t *va, size_t n);
/* Does Go @version ("go1.21", "go1.22.3", "devel go1.23-...") pass a
 * stwReason to stopTheWorldWithSema (Go >= 1.21)? */
bool gcdetect__go_has_reason(const char *version);
/* Label for a Go stwReason ("sweep_termination", "mark_termination", ...). */
const char *gcdetect__go_reason_name(unsigned int reason);

/* One line of /proc/PID/maps. */
struct maps_entry {
	uint64_t start, end;
	bool exec;		/* 'x' in perms */
	uint32_t dev_major, dev_minor;
	uint64_t inode;		/* 0: anonymous */
	const char *path;	/* points into the line; "" when none; a
				 * trailing " (deleted)" is kept */
};
/* Parse @line (modified: the newline is cut).  false on malformed lines. */
bool gcdetect__parse_maps_line(char *line, struct maps_entry *e);

#endif /* BPFWATCH_GCDETECT_H */
