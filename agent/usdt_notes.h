/* SPDX-License-Identifier: GPL-2.0 */
/*
 * USDT probes of an ELF file, read from its .note.stapsdt notes (the
 * format sys/sdt.h emits): provider, name, address, semaphore, arguments.
 */
#ifndef BPFWATCH_USDT_NOTES_H
#define BPFWATCH_USDT_NOTES_H

#include <stdint.h>

struct usdt_note {
	const char *provider;
	const char *name;
	const char *args;	/* e.g. "-4@%edi 8@%rsi" */
	uint64_t pc;		/* probe address (link-time) */
	uint64_t semaphore;	/* 0 if none */
};

/*
 * Call @cb for every USDT note of @path (stop early when it returns
 * non-zero, and return that).  0 when done, -errno when the file cannot
 * be read, -ENOEXEC when it is not ELF.
 */
int usdt_notes__foreach(const char *path,
			int (*cb)(const struct usdt_note *n, void *ctx), void *ctx);

#endif /* BPFWATCH_USDT_NOTES_H */
