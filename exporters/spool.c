// SPDX-License-Identifier: GPL-2.0
/*
 * Durable notification spool (see spool.h for the format and the crash
 * guarantees).  Every live NOTE is also held in memory (sorted by id), so
 * the dispatcher reads bodies without touching the disk and compaction
 * rewrites from memory; max_bytes bounds both.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "spool.h"

#define HDR_LEN		12
#define NOTE_FIXED	18		/* id, created, dest length */
#define ACK_LEN		9
#define SEG_NAME_LEN	20		/* 16 hex digits + ".seg" */
#define DEF_MAX_BYTES	(64ULL << 20)
#define DEF_SEGMENT	(8ULL << 20)
#define DEF_COMPACT_MIN	(1ULL << 20)

struct rec {
	struct spool_entry e;	/* dest and body in one allocation: mem */
	void *mem;
	uint32_t disk;		/* bytes of the NOTE record on disk */
	bool dead;
};

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

struct spool {
	char *dir;
	int dfd;
	struct spool_opts o;
	struct rec *recs;	/* sorted by id; dead ones compacted lazily */
	size_t n;
	size_t cap;
	size_t ndead;
	uint64_t next_id;
	uint64_t *segs;		/* segment numbers, ascending; last is active */
	size_t nsegs;
	size_t segcap;
	uint64_t next_seg;
	int fd;			/* active segment */
	uint64_t fd_size;	/* its committed size */
	struct buf w;		/* records not yet committed */
	struct spool_stats st;
};

static const char *const reason_names[SPOOL_REASON__COUNT] = {
	[SPOOL_DELIVERED] = "delivered",
	[SPOOL_EXPIRED] = "expired",
	[SPOOL_FULL] = "spool_full",
	[SPOOL_QUEUE_FULL] = "queue_full",
	[SPOOL_PERMANENT] = "permanent",
	[SPOOL_UNCONFIGURED] = "unconfigured",
	[SPOOL_SUPERSEDED] = "superseded",
};

const char *spool_reason__name(enum spool_reason r)
{
	return (unsigned int)r < SPOOL_REASON__COUNT ? reason_names[r] : "unknown";
}

/* --- buffers and encoding ------------------------------------------------ */

static int buf__reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static uint32_t rec_crc(uint8_t type, const uint8_t *payload, uint32_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, &type, 1);
	/* zlib takes uInt lengths: records are far below 4 GiB */
	c = crc32(c, payload, len);
	return (uint32_t)c;
}

/* Append one record (header + payload built by the caller in @pl). */
static int buf__record(struct buf *b, uint8_t type, const uint8_t *pl,
		       uint32_t len)
{
	uint32_t crc = rec_crc(type, pl, len);
	uint8_t *h;
	int err = buf__reserve(b, HDR_LEN + (size_t)len);

	if (err)
		return err;
	h = b->p + b->len;
	memcpy(h, &len, 4);
	memcpy(h + 4, &crc, 4);
	h[8] = type;
	h[9] = h[10] = h[11] = 0;
	memcpy(h + HDR_LEN, pl, len);
	b->len += HDR_LEN + (size_t)len;
	return 0;
}

static int encode_note(struct buf *b, const struct spool_entry *e)
{
	size_t dl = strlen(e->dest);
	uint32_t len = (uint32_t)(NOTE_FIXED + dl + e->len);
	uint16_t dl16 = (uint16_t)dl;
	uint8_t *pl;
	int err;

	pl = malloc(len);
	if (!pl)
		return -ENOMEM;
	memcpy(pl, &e->id, 8);
	memcpy(pl + 8, &e->created_ms, 8);
	memcpy(pl + 16, &dl16, 2);
	memcpy(pl + NOTE_FIXED, e->dest, dl);
	if (e->len)
		memcpy(pl + NOTE_FIXED + dl, e->body, e->len);
	err = buf__record(b, SPOOL_REC_NOTE, pl, len);
	free(pl);
	return err;
}

/* --- the in-memory live set -------------------------------------------- */

/* Index of the first record with id >= @id. */
static size_t recs__lower(const struct spool *s, uint64_t id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->recs[mid].e.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct rec *recs__find(const struct spool *s, uint64_t id)
{
	size_t i = recs__lower(s, id);

	return i < s->n && s->recs[i].e.id == id ? &s->recs[i] : NULL;
}

/* Drop dead slots once they are half the array, keeping the order. */
static void recs__squeeze(struct spool *s)
{
	size_t j = 0;

	if (s->ndead * 2 < s->n || s->ndead < 64)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (!s->recs[i].dead)
			s->recs[j++] = s->recs[i];
	s->n = j;
	s->ndead = 0;
}

/*
 * Insert a live record (copying dest and body) at its sorted place: the
 * end, except when replay meets ids out of order.  -EEXIST if the id is
 * known (live or dead).
 */
static int recs__insert(struct spool *s, uint64_t id, int64_t created,
			const char *dest, size_t dl, const void *body,
			size_t len, uint32_t disk)
{
	size_t at = recs__lower(s, id);
	struct rec *r;
	char *mem;

	if (at < s->n && s->recs[at].e.id == id)
		return -EEXIST;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct rec *p = reallocarray(s->recs, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->recs = p;
		s->cap = cap;
	}
	mem = malloc(dl + 1 + len + 1);
	if (!mem)
		return -ENOMEM;
	memcpy(mem, dest, dl);
	mem[dl] = '\0';
	if (len)
		memcpy(mem + dl + 1, body, len);
	mem[dl + 1 + len] = '\0';	/* bodies are text: keep them C strings */
	if (at < s->n)
		memmove(&s->recs[at + 1], &s->recs[at], (s->n - at) * sizeof(*r));
	r = &s->recs[at];
	r->mem = mem;
	r->e.id = id;
	r->e.created_ms = created;
	r->e.dest = mem;
	r->e.body = mem + dl + 1;
	r->e.len = len;
	r->disk = disk;
	r->dead = false;
	s->n++;
	s->st.live++;
	s->st.live_bytes += disk;
	if (id >= s->next_id)
		s->next_id = id + 1;
	return 0;
}

static void rec__kill(struct spool *s, struct rec *r)
{
	r->dead = true;
	free(r->mem);
	r->mem = NULL;
	r->e.dest = NULL;
	r->e.body = NULL;
	s->ndead++;
	s->st.live--;
	s->st.live_bytes -= r->disk;
}

/* --- segment files ------------------------------------------------------ */

static void seg_name(char *name, uint64_t seq, const char *suffix)
{
	snprintf(name, SEG_NAME_LEN + 16, "%016" PRIx64 ".seg%s", seq, suffix);
}

static int segs__push(struct spool *s, uint64_t seq)
{
	if (s->nsegs == s->segcap) {
		size_t cap = s->segcap ? s->segcap * 2 : 16;
		uint64_t *p = reallocarray(s->segs, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->segs = p;
		s->segcap = cap;
	}
	s->segs[s->nsegs++] = seq;
	if (seq >= s->next_seg)
		s->next_seg = seq + 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Start a new, empty active segment. */
static int seg__create(struct spool *s)
{
	char name[SEG_NAME_LEN + 16];
	uint64_t seq = s->next_seg;
	int fd, err;

	seg_name(name, seq, "");
	fd = openat(s->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* the new name must survive a crash before its first record does */
	if (fsync(s->dfd)) {
		err = -errno;
		close(fd);
		unlinkat(s->dfd, name, 0);
		return err;
	}
	err = segs__push(s, seq);
	if (err) {
		close(fd);
		unlinkat(s->dfd, name, 0);
		return err;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->fd_size = 0;
	return 0;
}

/*
 * Rewrite every live NOTE into a new segment and delete the older ones.
 * Only called with nothing buffered.  On failure the old segments stay
 * as they were and the temp file is removed.
 */
static int spool__compact(struct spool *s)
{
	char tmp[SEG_NAME_LEN + 16], name[SEG_NAME_LEN + 16];
	uint64_t seq = s->next_seg, size = 0;
	struct buf b = {};
	int fd, err = 0;

	seg_name(tmp, seq, ".tmp");
	seg_name(name, seq, "");
	fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < s->n && !err; i++) {
		if (s->recs[i].dead)
			continue;
		err = encode_note(&b, &s->recs[i].e);
		if (!err && b.len >= (1U << 20)) {
			err = write_all(fd, b.p, b.len);
			size += b.len;
			b.len = 0;
		}
	}
	if (!err && b.len) {
		err = write_all(fd, b.p, b.len);
		size += b.len;
	}
	free(b.p);
	if (!err && fdatasync(fd))
		err = -errno;
	if (!err && renameat(s->dfd, tmp, s->dfd, name))
		err = -errno;
	if (err)
		goto err_unlink;
	if (fsync(s->dfd)) {
		/* the rename may or may not be durable: both states replay */
		err = -errno;
		close(fd);
		return err;
	}
	for (size_t i = 0; i < s->nsegs; i++) {
		char old[SEG_NAME_LEN + 16];

		seg_name(old, s->segs[i], "");
		if (unlinkat(s->dfd, old, 0) && errno != ENOENT)
			pr_warn("spool: %s: cannot remove %s after compaction: %s",
				s->dir, old, strerror(errno));
	}
	fsync(s->dfd);
	s->nsegs = 0;
	segs__push(s, seq);	/* cannot fail: segcap >= 1 once used */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->fd_size = size;
	s->st.file_bytes = size;
	s->st.compactions++;
	return 0;

err_unlink:
	close(fd);
	unlinkat(s->dfd, tmp, 0);
	return err;
}

static bool spool__wants_compaction(const struct spool *s)
{
	return s->st.file_bytes >= s->o.compact_min_bytes &&
	       s->st.live_bytes * 2 < s->st.file_bytes;
}

/* --- replay ------------------------------------------------------------- */

static int read_file(int dfd, const char *name, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t off = 0;
	int fd, err = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, p + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			free(p);
			goto out;
		}
		off += (size_t)n;
	}
	*out = p;
	*len = off;
out:
	close(fd);
	return err;
}

enum scan { SCAN_OK, SCAN_TORN, SCAN_CORRUPT };

/*
 * Apply the records of one segment; stops at the first invalid one and
 * says whether it looks torn (cut at the end of the file) or corrupt;
 * *good is the length of the valid prefix.
 */
static enum scan spool__scan(struct spool *s, const uint8_t *p, size_t size,
			     size_t *good, int *err)
{
	size_t off = 0;

	*err = 0;
	while (off < size) {
		uint32_t len, crc;
		const uint8_t *pl;
		uint8_t type;

		*good = off;
		if (size - off < HDR_LEN)
			return SCAN_TORN;
		memcpy(&len, p + off, 4);
		memcpy(&crc, p + off + 4, 4);
		type = p[off + 8];
		if (len > SPOOL_MAX_RECORD)
			return size - off - HDR_LEN < len ? SCAN_TORN : SCAN_CORRUPT;
		if (size - off - HDR_LEN < len)
			return SCAN_TORN;
		pl = p + off + HDR_LEN;
		if (rec_crc(type, pl, len) != crc)
			return off + HDR_LEN + len == size ? SCAN_TORN : SCAN_CORRUPT;
		if (type == SPOOL_REC_NOTE) {
			uint64_t id;
			int64_t created;
			uint16_t dl;

			if (len < NOTE_FIXED)
				return SCAN_CORRUPT;
			memcpy(&id, pl, 8);
			memcpy(&created, pl + 8, 8);
			memcpy(&dl, pl + 16, 2);
			if (!dl || dl > SPOOL_MAX_DEST || NOTE_FIXED + (size_t)dl > len ||
			    memchr(pl + NOTE_FIXED, 0, dl))
				return SCAN_CORRUPT;
			*err = recs__insert(s, id, created, (const char *)pl + NOTE_FIXED,
					    dl, pl + NOTE_FIXED + dl,
					    len - NOTE_FIXED - dl, HDR_LEN + len);
			if (*err == -EEXIST)	/* also in a compacted segment */
				*err = 0;
			if (*err)
				return SCAN_OK;
		} else if (type == SPOOL_REC_ACK) {
			struct rec *r;
			uint64_t id;

			if (len != ACK_LEN)
				return SCAN_CORRUPT;
			memcpy(&id, pl, 8);
			r = recs__find(s, id);
			if (r && !r->dead)
				rec__kill(s, r);
		} else {
			return SCAN_CORRUPT;
		}
		off += HDR_LEN + len;
	}
	*good = off;
	return SCAN_OK;
}

/* Load every segment; see spool.h for what torn and corrupt mean. */
static int spool__replay(struct spool *s, bool *set_aside, char *why, size_t wlen)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	int err = 0;

	if (!d) {
		err = -errno;
		snprintf(why, wlen, "open %s: %s", s->dir, strerror(errno));
		return err;
	}
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t l = strlen(nm);
		uint64_t seq;
		char *end;

		if (l == SEG_NAME_LEN + 4 && !strcmp(nm + SEG_NAME_LEN, ".tmp") &&
		    !strncmp(nm + 16, ".seg", 4)) {
			/* a compaction that did not finish: the old segments hold it all */
			unlinkat(s->dfd, nm, 0);
			continue;
		}
		if (l != SEG_NAME_LEN || strcmp(nm + 16, ".seg"))
			continue;
		errno = 0;
		seq = strtoull(nm, &end, 16);
		if (end != nm + 16 || errno)
			continue;
		err = segs__push(s, seq);
		if (err) {
			snprintf(why, wlen, "%s: out of memory", s->dir);
			closedir(d);
			return err;
		}
	}
	closedir(d);
	if (s->nsegs)
		qsort(s->segs, s->nsegs, sizeof(*s->segs), cmp_u64);

	for (size_t i = 0; i < s->nsegs; i++) {
		char name[SEG_NAME_LEN + 16], bad[SEG_NAME_LEN + 24];
		bool last = i + 1 == s->nsegs;
		uint8_t *p = NULL;
		size_t size = 0, good = 0;
		enum scan sc;

		seg_name(name, s->segs[i], "");
		err = read_file(s->dfd, name, &p, &size);
		if (err) {
			snprintf(why, wlen, "read %s/%s: %s", s->dir, name, strerror(-err));
			return err;
		}
		sc = spool__scan(s, p, size, &good, &err);
		free(p);
		if (err) {
			snprintf(why, wlen, "replay %s/%s: %s", s->dir, name, strerror(-err));
			return err;
		}
		if (sc == SCAN_TORN && last) {
			int fd = openat(s->dfd, name, O_WRONLY | O_CLOEXEC);

			if (fd < 0 || ftruncate(fd, (off_t)good) || fdatasync(fd)) {
				err = -errno;
				snprintf(why, wlen, "truncate torn tail of %s/%s: %s",
					 s->dir, name, strerror(errno));
				if (fd >= 0)
					close(fd);
				return err;
			}
			close(fd);
			pr_warn("spool: %s/%s: torn tail at byte %zu (%zu bytes) truncated",
				s->dir, name, good, size - good);
			s->st.torn_tails++;
			size = good;
		} else if (sc != SCAN_OK) {
			seg_name(bad, s->segs[i], ".corrupt");
			pr_err("spool: %s/%s: corrupt record at byte %zu; kept the %zu "
			       "bytes before it, set the file aside as %s",
			       s->dir, name, good, good, bad);
			if (renameat(s->dfd, name, s->dfd, bad)) {
				err = -errno;
				snprintf(why, wlen, "rename %s/%s: %s", s->dir, name,
					 strerror(errno));
				return err;
			}
			s->st.corrupt_segments++;
			*set_aside = true;
			memmove(&s->segs[i], &s->segs[i + 1],
				(s->nsegs - i - 1) * sizeof(*s->segs));
			s->nsegs--;
			i--;
			continue;
		}
		s->st.file_bytes += size;
		if (last)
			s->fd_size = size;
	}
	s->st.replayed = s->st.live;
	return 0;
}

/* --- public API ---------------------------------------------------------- */

static int spool__evict(struct spool *s, uint64_t room);

struct spool *spool__open(const struct spool_opts *o, char *why, size_t wlen)
{
	struct spool *s = calloc(1, sizeof(*s));
	bool set_aside = false;
	int err;

	if (!s) {
		snprintf(why, wlen, "spool: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->o = *o;
	if (!s->o.max_bytes)
		s->o.max_bytes = DEF_MAX_BYTES;
	if (!s->o.segment_bytes)
		s->o.segment_bytes = DEF_SEGMENT;
	if (!s->o.compact_min_bytes)
		s->o.compact_min_bytes = DEF_COMPACT_MIN;
	s->fd = -1;
	s->dfd = -1;
	s->next_id = 1;
	s->dir = strdup(o->dir);
	if (!s->dir) {
		err = -ENOMEM;
		snprintf(why, wlen, "spool: out of memory");
		goto err_free;
	}
	if (mkdir(s->dir, 0700) && errno != EEXIST) {
		err = -errno;
		snprintf(why, wlen, "create %s: %s", s->dir, strerror(errno));
		goto err_free;
	}
	s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0) {
		err = -errno;
		snprintf(why, wlen, "open %s: %s", s->dir, strerror(errno));
		goto err_free;
	}
	err = spool__replay(s, &set_aside, why, wlen);
	if (err)
		goto err_free;
	/* a lowered limit applies to what was there */
	spool__evict(s, 0);
	if (set_aside || s->w.len || spool__wants_compaction(s)) {
		/* evictions above were buffered: they are in the rewrite */
		s->w.len = 0;
		err = spool__compact(s);
		if (err) {
			snprintf(why, wlen, "compact %s: %s", s->dir, strerror(-err));
			goto err_free;
		}
	} else if (s->nsegs && s->fd_size < s->o.segment_bytes) {
		char name[SEG_NAME_LEN + 16];

		seg_name(name, s->segs[s->nsegs - 1], "");
		s->fd = openat(s->dfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (s->fd < 0) {
			err = -errno;
			snprintf(why, wlen, "open %s/%s: %s", s->dir, name, strerror(errno));
			goto err_free;
		}
	} else {
		err = seg__create(s);
		if (err) {
			snprintf(why, wlen, "create a segment in %s: %s", s->dir,
				 strerror(-err));
			goto err_free;
		}
	}
	return s;

err_free:
	spool__free(s);
	errno = -err;
	return NULL;
}

void spool__free(struct spool *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->recs[i].mem);
	free(s->recs);
	free(s->segs);
	free(s->w.p);
	if (s->fd >= 0)
		close(s->fd);
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->dir);
	free(s);
}

static int spool__retire(struct spool *s, struct rec *r, enum spool_reason why)
{
	uint8_t pl[ACK_LEN];
	int err;

	memcpy(pl, &r->e.id, 8);
	pl[8] = (uint8_t)why;
	err = buf__record(&s->w, SPOOL_REC_ACK, pl, ACK_LEN);
	if (err)
		return err;
	if (why != SPOOL_DELIVERED) {
		s->st.dropped[why]++;
		if (s->o.on_drop)
			s->o.on_drop(s->o.ctx, &r->e, why);
	}
	rec__kill(s, r);
	return 0;
}

/* Evict the oldest NOTEs until @room more bytes fit under max_bytes. */
static int spool__evict(struct spool *s, uint64_t room)
{
	for (size_t i = 0; i < s->n && s->st.live_bytes + room > s->o.max_bytes; i++) {
		int err;

		if (s->recs[i].dead)
			continue;
		err = spool__retire(s, &s->recs[i], SPOOL_FULL);
		if (err)
			return err;
	}
	return 0;
}

int spool__append(struct spool *s, const char *dest, int64_t created_ms,
		  const void *body, size_t len, uint64_t *id)
{
	struct spool_entry e;
	size_t dl = dest ? strlen(dest) : 0, before = s->w.len;
	uint64_t disk;
	int err;

	if (!dl)
		return -EINVAL;
	if (dl > SPOOL_MAX_DEST || len > SPOOL_MAX_RECORD - NOTE_FIXED - dl)
		return -E2BIG;
	disk = HDR_LEN + NOTE_FIXED + dl + len;
	if (disk > s->o.max_bytes)
		return -E2BIG;
	e.id = s->next_id;
	e.created_ms = created_ms;
	e.dest = dest;
	e.body = body;
	e.len = len;
	err = encode_note(&s->w, &e);
	if (err)
		return err;
	err = recs__insert(s, e.id, created_ms, dest, dl, body, len, (uint32_t)disk);
	if (err) {
		s->w.len = before;
		return err;
	}
	/* evict after inserting: the new NOTE is the youngest, never chosen
	 * while older ones remain; its own size was checked above */
	err = spool__evict(s, 0);
	recs__squeeze(s);
	*id = e.id;
	return err;
}

int spool__ack(struct spool *s, uint64_t id, enum spool_reason r)
{
	struct rec *rec = recs__find(s, id);
	int err;

	if (!rec || rec->dead)
		return -ENOENT;
	err = spool__retire(s, rec, r);
	recs__squeeze(s);
	return err;
}

bool spool__dirty(const struct spool *s)
{
	return s->w.len > 0;
}

int spool__commit(struct spool *s)
{
	int err;

	if (!s->w.len)
		return 0;
	err = write_all(s->fd, s->w.p, s->w.len);
	if (!err && fdatasync(s->fd))
		err = -errno;
	if (err) {
		/* no half record may stay in front of the next attempt */
		if (ftruncate(s->fd, (off_t)s->fd_size))
			pr_err("spool: %s: cannot undo a failed write: %s",
			       s->dir, strerror(errno));
		s->st.write_errors++;
		return err;
	}
	s->fd_size += s->w.len;
	s->st.file_bytes += s->w.len;
	s->w.len = 0;
	s->st.commits++;
	if (spool__wants_compaction(s)) {
		err = spool__compact(s);
		if (err)
			pr_warn("spool: %s: compaction failed: %s", s->dir, strerror(-err));
	}
	if (s->fd_size >= s->o.segment_bytes) {
		err = seg__create(s);
		if (err)
			pr_warn("spool: %s: cannot start a new segment: %s", s->dir,
				strerror(-err));
	}
	return 0;
}

const struct spool_entry *spool__get(const struct spool *s, uint64_t id)
{
	const struct rec *r = recs__find(s, id);

	return r && !r->dead ? &r->e : NULL;
}

void spool__foreach(const struct spool *s,
		    void (*cb)(const struct spool_entry *e, void *ctx), void *ctx)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->recs[i].dead)
			cb(&s->recs[i].e, ctx);
}

size_t spool__expire(struct spool *s, int64_t now_ms)
{
	size_t n = 0;

	if (!s->o.max_age_ms)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		struct rec *r = &s->recs[i];

		if (r->dead || now_ms - r->e.created_ms <= (int64_t)s->o.max_age_ms)
			continue;
		if (spool__retire(s, r, SPOOL_EXPIRED))
			break;
		n++;
	}
	recs__squeeze(s);
	return n;
}

const struct spool_stats *spool__stats(const struct spool *s)
{
	return &s->st;
}
