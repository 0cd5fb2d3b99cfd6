/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Durable notification spool: a directory of append-only segment files.
 *
 * On disk every segment ("%016llx.seg", replayed in that order) is a run
 * of records, each a 12-byte header then the payload, in host byte order
 * (the spool never leaves the machine):
 *
 *	u32 len		payload bytes (at most SPOOL_MAX_RECORD)
 *	u32 crc		zlib crc32 of the type byte and the payload
 *	u8  type	SPOOL_REC_NOTE or SPOOL_REC_ACK
 *	u8  pad[3]	zero
 *
 *	NOTE payload:	u64 id, i64 created (Unix ms), u16 dest length,
 *			dest bytes, body bytes (the rest)
 *	ACK payload:	u64 id, u8 reason (enum spool_reason)
 *
 * One NOTE per notification per destination: each destination
 * acknowledges on its own, and an ACK retires exactly one NOTE, so the
 * live set is "NOTEs without an ACK".  Appends and ACKs are buffered and
 * made durable by spool__commit() with one write and one fdatasync, so a
 * batch costs one sync.
 *
 * Replay (spool__open): a record cut short or with a bad CRC at the end of
 * the newest segment is a torn tail (a crash mid-write): the file is
 * truncated there and stats.torn_tails counted.  Anything else invalid
 * makes the segment corrupt: the valid records before the damage are
 * kept, the file is renamed to *.corrupt and reported, and the live set
 * is rewritten at once.  Compaction rewrites the live NOTEs into a new
 * segment (temp file, fsync, rename, fsync the directory) and deletes the
 * older ones, when dead records are most of the files; a crash at any
 * point leaves either the old segments or the new one (duplicate ids are
 * ignored on replay).
 *
 * Limits: live bytes (max_bytes, the oldest NOTEs are evicted) and age
 * (spool__expire).  Every record that leaves without being delivered
 * gets an ACK with its reason, is counted in stats and is reported to
 * the on_drop callback: nothing disappears silently.
 *
 * Not thread-safe: one owner (the dispatcher in the event loop).
 */
#ifndef BPFWATCH_SPOOL_H
#define BPFWATCH_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAX_RECORD	(1U << 20)	/* payload bytes */
#define SPOOL_MAX_DEST		1024		/* destination name bytes */

enum spool_rec_type {
	SPOOL_REC_NOTE = 1,
	SPOOL_REC_ACK = 2,
};

/* Why a NOTE was retired (the ACK's reason byte). */
enum spool_reason {
	SPOOL_DELIVERED = 0,
	SPOOL_EXPIRED,		/* older than max_age */
	SPOOL_FULL,		/* evicted by the byte limit */
	SPOOL_QUEUE_FULL,	/* the destination's queue overflowed */
	SPOOL_PERMANENT,	/* the destination refused it (4xx) */
	SPOOL_UNCONFIGURED,	/* replayed for a destination no longer configured */
	SPOOL_SUPERSEDED,	/* a newer notification of the same alert is queued */
	SPOOL_REASON__COUNT,
};

const char *spool_reason__name(enum spool_reason r);

struct spool_entry {
	uint64_t id;
	int64_t created_ms;	/* Unix ms, given by the caller */
	const char *dest;
	const void *body;
	size_t len;
};

struct spool_stats {
	uint64_t replayed;		/* live NOTEs found by spool__open */
	uint64_t torn_tails;		/* truncated torn tails */
	uint64_t corrupt_segments;	/* set aside as *.corrupt */
	uint64_t dropped[SPOOL_REASON__COUNT];	/* by reason (not DELIVERED) */
	uint64_t compactions;
	uint64_t commits;		/* fdatasync()s of a commit */
	uint64_t write_errors;		/* failed commits (kept for retry) */
	uint64_t live;			/* live NOTEs */
	uint64_t live_bytes;		/* their size on disk */
	uint64_t file_bytes;		/* every segment's size */
};

typedef void (*spool_drop_fn)(void *ctx, const struct spool_entry *e,
			      enum spool_reason r);

struct spool_opts {
	const char *dir;		/* created if missing (one level) */
	uint64_t max_bytes;		/* live bytes; 0 = 64 MiB */
	uint64_t max_age_ms;		/* 0 = no age limit */
	uint64_t segment_bytes;		/* rotate past this; 0 = 8 MiB */
	uint64_t compact_min_bytes;	/* never compact below; 0 = 1 MiB */
	spool_drop_fn on_drop;		/* may be NULL */
	void *ctx;
};

struct spool;

/*
 * Open (replaying what is there) or create the spool in @o->dir.  NULL
 * with errno set and @why filled when the directory cannot be used; a
 * corrupt segment is not an error (see stats).  Nothing is expired at
 * open: call spool__expire() when the clock is known to be right.
 */
struct spool *spool__open(const struct spool_opts *o, char *why, size_t len);
/* Close without committing what is buffered (the crash-equivalent). */
void spool__free(struct spool *s);

/*
 * Add a NOTE; buffered until spool__commit().  The id is returned in *id.
 * May evict older NOTEs to stay under max_bytes (on_drop is called).
 * -EINVAL (empty dest), -E2BIG (record over the limits), -ENOMEM.
 */
int spool__append(struct spool *s, const char *dest, int64_t created_ms,
		  const void *body, size_t len, uint64_t *id);
/* Retire NOTE @id with @r; -ENOENT if it is not live.  Buffered. on_drop
 * is called for every reason but SPOOL_DELIVERED. */
int spool__ack(struct spool *s, uint64_t id, enum spool_reason r);
/* Write and fdatasync what is buffered; may rotate or compact.  0 or
 * -errno (the buffer is kept and the file restored, so a retry is safe). */
int spool__commit(struct spool *s);
bool spool__dirty(const struct spool *s);

/* The live NOTE @id, or NULL.  Borrowed until the next call that
 * modifies the spool. */
const struct spool_entry *spool__get(const struct spool *s, uint64_t id);
/* Every live NOTE, oldest first. */
void spool__foreach(const struct spool *s,
		    void (*cb)(const struct spool_entry *e, void *ctx), void *ctx);
/* Retire every NOTE created before @now_ms - max_age; returns how many. */
size_t spool__expire(struct spool *s, int64_t now_ms);

const struct spool_stats *spool__stats(const struct spool *s);

#endif /* BPFWATCH_SPOOL_H */
