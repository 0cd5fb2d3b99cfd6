/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space symbolizer: address of a process -> (module, symbol, offset).
 *
 * The process's mappings come from /proc/PID/maps (kept from the last
 * successful read, so stacks of a process that just exited still resolve
 * while its files exist).  An address is turned into a file offset through
 * its mapping, then into the module's ELF virtual address through the
 * PT_LOAD segment holding that offset: this handles PIE executables,
 * shared libraries and non-PIE executables alike, whatever their load
 * bias.  Symbols come from .symtab, else .dynsym (functions only); a
 * stripped module gives module + address.
 *
 * Files are opened as the process sees them: /proc/PID/root/PATH (its
 * mount namespace), or /proc/PID/map_files/START-END when the file was
 * deleted or replaced (different inode) since it was mapped (needs
 * CAP_SYS_ADMIN; without it such modules resolve to module + offset).
 *
 * Opened ELF files are cached by build-id (by device, inode and path when
 * they have none), at most `max_files` of them, least recently used
 * evicted first; hits, misses and evictions are counted.
 */
#ifndef BPFWATCH_SYMBOLIZE_H
#define BPFWATCH_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;

/* A symbolizer for process @pid, its maps read now; at most @max_files
 * ELF files open at once (>= 1).  NULL with errno set (ESRCH: no such
 * process). */
struct symbolizer *symbolizer__new(uint32_t pid, size_t max_files);
void symbolizer__free(struct symbolizer *s);	/* NULL is fine */

/* Read /proc/PID/maps again (after dlopen, or periodically).  0, or
 * -errno with the previous mappings kept. */
int symbolizer__refresh(struct symbolizer *s);

/* Pointers are borrowed: valid until the next call into @s. */
struct sym_info {
	const char *module;	/* mapped path, or "[vdso]", "[heap]", ""
				 * (anonymous) */
	const char *symbol;	/* NULL when unknown (stripped, no symbol
				 * covers it, not an ELF file) */
	uint64_t offset;	/* from the symbol's start; without a symbol,
				 * the module's ELF virtual address of @addr
				 * (what nm and addr2line use), or the offset
				 * into the mapping for non-files */
	uint64_t file_offset;	/* offset of @addr in the mapped file */
	const char *build_id;	/* lowercase hex, "" when none or unread */
	bool deleted;		/* the file was deleted since it was mapped */
};

/* 0, or -ENOENT when @addr is in no mapping (out->module NULL). */
int symbolizer__resolve(struct symbolizer *s, uint64_t addr, struct sym_info *out);

struct symbolizer_stats {
	uint64_t hits;		/* lookups served by an open ELF file */
	uint64_t misses;	/* ELF files opened and read */
	uint64_t evictions;	/* files closed to stay within max_files */
	uint64_t errors;	/* files that could not be opened or read */
	size_t open_files;
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st);

/* Write "symbol+0xoff" or "module+0xaddr" ("[unknown]" for unmapped)
 * into @buf; module names are shortened to their base name when @base. */
void sym_info__format(const struct sym_info *si, bool base, char *buf, size_t len);

#endif /* BPFWATCH_SYMBOLIZE_H */
