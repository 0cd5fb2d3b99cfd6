// SPDX-License-Identifier: GPL-2.0
/*
 * Series store.
 *
 * Layout: one ring of `capacity` tick timestamps shared by all series, and
 * per series a ring of `capacity` doubles at the same indices.  A slot
 * holding STALE_BITS (the NaN payload Prometheus uses for staleness
 * markers) means "no sample in that tick"; a NaN appended by a caller is
 * stored with the ordinary quiet-NaN payload so the two never mix.
 *
 * Every series is one allocation: the struct, its value ring, its label
 * array and the strings those labels point to.  Series are found through a
 * chained hash table keyed by FNV-1a 64 over the exposed name (family name
 * followed by suffix, so store__history() can look a series up by the name
 * it is exported under) and each label name and value, NUL-separated.
 * They are also on a doubly linked list per family, in creation order,
 * which is the export order and survives removals.
 *
 * Appending to an existing series is a hash, a chain walk and one store;
 * only creating a series allocates.  store__end_tick() walks every series
 * once to write stale markers and free the dead ones.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define STALE_BITS	0x7ff0000000000002ULL
/* Rule outputs between two evaluations: no sample, but not gone either. */
#define MISSING_BITS	0x7ff0000000000003ULL
#define HASH_MIN_BUCKETS	64

#define FNV64_OFFSET	0xcbf29ce484222325ULL
#define FNV64_PRIME	0x100000001b3ULL

struct store_family {
	struct store_family *next;	/* creation order */
	struct store_series *head, *tail;
	const char *name;
	const char *help;		/* NULL if none */
	size_t namelen;
	enum metric_type type;
	bool evaluated;			/* written by rule evaluations */
	char strings[];			/* name and help */
};

struct store_series {
	struct store_series *hnext;	/* hash chain */
	struct store_series *prev, *next;	/* family list */
	struct store_family *fam;
	uint64_t hash;
	uint64_t last_seq;		/* tick of the newest real sample */
	const char *name;		/* family name + suffix */
	const char *suffix;		/* points into name */
	struct label *labels;
	size_t nlabels;
	double vals[];			/* capacity, then labels, then strings */
};

struct store {
	uint32_t capacity;
	uint32_t max_series;
	uint32_t nseries;
	uint32_t head;			/* slot of the newest tick */
	uint64_t seq;			/* ticks begun so far; newest tick's number */
	bool open;
	int64_t last_begun_ms;
	int64_t last_closed_ms;
	uint64_t dropped;
	int64_t *ticks;			/* capacity timestamps */
	struct store_series **buckets;
	size_t nbuckets;		/* power of two */
	struct store_family *families, *families_tail;
};

static inline uint64_t dbl_bits(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static inline bool is_stale(double v)
{
	return dbl_bits(v) == STALE_BITS;
}

static inline bool is_missing(double v)
{
	return dbl_bits(v) == MISSING_BITS;
}

/* No sample in the slot, for whatever reason. */
static inline bool is_absent(double v)
{
	return is_stale(v) || is_missing(v);
}

static inline double missing_marker(void)
{
	uint64_t u = MISSING_BITS;
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static inline double stale_marker(void)
{
	uint64_t u = STALE_BITS;
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static inline uint64_t fnv1a(uint64_t h, const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	while (*p) {
		h ^= *p++;
		h *= FNV64_PRIME;
	}
	return h;
}

/* The NUL separator: no C string contains one, so the key is unambiguous. */
static inline uint64_t fnv1a_sep(uint64_t h)
{
	return h * FNV64_PRIME;		/* h ^= 0 */
}

static uint64_t series_hash(const char *name, const char *suffix,
			    const struct label *labels, size_t n)
{
	uint64_t h = fnv1a(FNV64_OFFSET, name);

	h = fnv1a_sep(fnv1a(h, suffix));
	for (size_t i = 0; i < n; i++) {
		h = fnv1a_sep(fnv1a(h, labels[i].name));
		h = fnv1a_sep(fnv1a(h, labels[i].value));
	}
	return h;
}

static bool labels_equal(const struct label *a, const struct label *b,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(a[i].name, b[i].name) || strcmp(a[i].value, b[i].value))
			return false;
	}
	return true;
}

static bool labels_valid(const struct label *labels, size_t n)
{
	if (n && !labels)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].name || !labels[i].value)
			return false;
	}
	return true;
}

static inline size_t bucket_of(const struct store *s, uint64_t hash)
{
	return (size_t)(hash & (s->nbuckets - 1));
}

struct store *store__new(uint32_t capacity, uint32_t max_series)
{
	struct store *s;
	size_t vals_size;

	if (capacity < 2 || max_series < 1 ||
	    __builtin_mul_overflow((size_t)capacity, sizeof(double), &vals_size)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->capacity = capacity;
	s->max_series = max_series;
	s->head = capacity - 1;		/* the first tick goes to slot 0 */
	s->ticks = calloc(capacity, sizeof(*s->ticks));
	if (!s->ticks)
		goto err_free_store;
	s->nbuckets = HASH_MIN_BUCKETS;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		goto err_free_ticks;
	return s;

err_free_ticks:
	free(s->ticks);
err_free_store:
	free(s);
	errno = ENOMEM;
	return NULL;
}

void store__free(struct store *s)
{
	struct store_family *f, *fnext;
	struct store_series *ser, *snext;

	if (!s)
		return;
	for (f = s->families; f; f = fnext) {
		fnext = f->next;
		for (ser = f->head; ser; ser = snext) {
			snext = ser->next;
			free(ser);
		}
		free(f);
	}
	free(s->buckets);
	free(s->ticks);
	free(s);
}

/*
 * Families are few and looked up rarely (callers keep the pointer), so a
 * list searched linearly is enough.  The first registration's help text
 * wins; a later one with another help is not an error.
 */
struct store_family *store__family(struct store *s, const char *name,
				   enum metric_type type, const char *help)
{
	struct store_family *f;
	size_t namelen, helplen = 0, size;

	if (!s || !name || !*name) {
		errno = EINVAL;
		return NULL;
	}
	for (f = s->families; f; f = f->next) {
		if (strcmp(f->name, name))
			continue;
		if (f->type != type) {
			errno = EEXIST;
			return NULL;
		}
		return f;
	}

	namelen = strlen(name);
	if (help)
		helplen = strlen(help) + 1;
	if (__builtin_add_overflow(sizeof(*f), namelen + 1, &size) ||
	    __builtin_add_overflow(size, helplen, &size)) {
		errno = ENOMEM;
		return NULL;
	}
	f = calloc(1, size);
	if (!f)
		return NULL;
	memcpy(f->strings, name, namelen + 1);
	f->name = f->strings;
	f->namelen = namelen;
	if (help) {
		memcpy(f->strings + namelen + 1, help, helplen);
		f->help = f->strings + namelen + 1;
	}
	f->type = type;
	if (s->families_tail)
		s->families_tail->next = f;
	else
		s->families = f;
	s->families_tail = f;
	return f;
}

int store__begin_tick(struct store *s, int64_t ts_ms)
{
	if (s->open || ts_ms <= s->last_begun_ms)
		return -EINVAL;
	s->head = s->head + 1 == s->capacity ? 0 : s->head + 1;
	s->seq++;
	s->ticks[s->head] = ts_ms;
	s->last_begun_ms = ts_ms;
	s->open = true;
	return 0;
}

static struct store_series *store__lookup(const struct store *s,
					  const struct store_family *f,
					  const char *suffix, uint64_t hash,
					  const struct label *labels, size_t n)
{
	struct store_series *ser;

	for (ser = s->buckets[bucket_of(s, hash)]; ser; ser = ser->hnext) {
		if (ser->hash == hash && ser->fam == f && ser->nlabels == n &&
		    !strcmp(ser->suffix, suffix) &&
		    labels_equal(ser->labels, labels, n))
			return ser;
	}
	return NULL;
}

/* Double the bucket array once the load factor passes 1.  Failing to grow
 * is harmless (chains get longer), so it is not reported. */
static void store__maybe_grow(struct store *s)
{
	struct store_series **nb, *ser, *next;
	size_t nn;

	if (s->nseries < s->nbuckets ||
	    __builtin_mul_overflow(s->nbuckets, 2, &nn))
		return;
	nb = calloc(nn, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (ser = s->buckets[i]; ser; ser = next) {
			size_t b = (size_t)(ser->hash & (nn - 1));

			next = ser->hnext;
			ser->hnext = nb[b];
			nb[b] = ser;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = nn;
}

/*
 * Create a series with every slot stale except the open tick's, and link
 * it into the hash table and at the tail of its family.  One allocation:
 *   struct | vals[capacity] | labels[n] | name+suffix \0 | (lname \0 lvalue \0)*
 */
static struct store_series *store__create(struct store *s,
					  struct store_family *f,
					  const char *suffix, uint64_t hash,
					  const struct label *labels, size_t n)
{
	size_t sufflen = strlen(suffix), size, off_labels, off_str, len;
	struct store_series *ser;
	double stale = stale_marker();
	char *p;

	if (__builtin_mul_overflow((size_t)s->capacity, sizeof(double), &size) ||
	    __builtin_add_overflow(size, sizeof(*ser), &off_labels) ||
	    __builtin_mul_overflow(n, sizeof(struct label), &size) ||
	    __builtin_add_overflow(off_labels, size, &off_str) ||
	    __builtin_add_overflow(off_str, f->namelen + sufflen + 1, &size))
		goto err_overflow;
	for (size_t i = 0; i < n; i++) {
		if (__builtin_add_overflow(size, strlen(labels[i].name) + 1, &size) ||
		    __builtin_add_overflow(size, strlen(labels[i].value) + 1, &size))
			goto err_overflow;
	}

	ser = malloc(size);
	if (!ser)
		return NULL;
	memset(ser, 0, sizeof(*ser));
	for (uint32_t i = 0; i < s->capacity; i++)
		ser->vals[i] = stale;
	ser->fam = f;
	ser->hash = hash;
	ser->nlabels = n;
	ser->labels = (struct label *)((char *)ser + off_labels);
	p = (char *)ser + off_str;
	ser->name = p;
	memcpy(p, f->name, f->namelen);
	ser->suffix = p + f->namelen;
	memcpy(p + f->namelen, suffix, sufflen + 1);
	p += f->namelen + sufflen + 1;
	for (size_t i = 0; i < n; i++) {
		len = strlen(labels[i].name) + 1;
		ser->labels[i].name = memcpy(p, labels[i].name, len);
		p += len;
		len = strlen(labels[i].value) + 1;
		ser->labels[i].value = memcpy(p, labels[i].value, len);
		p += len;
	}

	s->nseries++;
	store__maybe_grow(s);
	ser->hnext = s->buckets[bucket_of(s, hash)];
	s->buckets[bucket_of(s, hash)] = ser;
	ser->prev = f->tail;
	if (f->tail)
		f->tail->next = ser;
	else
		f->head = ser;
	f->tail = ser;
	return ser;

err_overflow:
	errno = ENOMEM;
	return NULL;
}

int store__append(struct store *s, struct store_family *f, const char *suffix,
		  const struct label *labels, size_t nlabels, double v)
{
	struct store_series *ser;
	uint64_t hash;

	if (!s->open || !f || !labels_valid(labels, nlabels))
		return -EINVAL;
	if (!suffix)
		suffix = "";
	/* A caller's NaN must not look like a staleness marker. */
	if (is_absent(v))
		v = NAN;

	hash = series_hash(f->name, suffix, labels, nlabels);
	ser = store__lookup(s, f, suffix, hash, labels, nlabels);
	if (!ser) {
		if (s->nseries >= s->max_series) {
			s->dropped++;
			return -ENOSPC;
		}
		ser = store__create(s, f, suffix, hash, labels, nlabels);
		if (!ser)
			return -ENOMEM;
	}
	ser->vals[s->head] = v;
	ser->last_seq = s->seq;
	return 0;
}

static void store__remove(struct store *s, struct store_series *ser)
{
	struct store_series **pp = &s->buckets[bucket_of(s, ser->hash)];
	struct store_family *f = ser->fam;

	while (*pp != ser)
		pp = &(*pp)->hnext;
	*pp = ser->hnext;
	if (ser->prev)
		ser->prev->next = ser->next;
	else
		f->head = ser->next;
	if (ser->next)
		ser->next->prev = ser->prev;
	else
		f->tail = ser->prev;
	s->nseries--;
	free(ser);
}

/*
 * The tick's slot still holds what it held `capacity` ticks ago for every
 * series not appended to, so overwrite it with a stale marker.  A series
 * whose newest sample is `capacity` or more ticks old has nothing left in
 * the ring and is freed.  Without an open tick this does nothing.
 */
void store__end_tick(struct store *s)
{
	struct store_family *f;
	struct store_series *ser, *next;
	double stale = stale_marker(), missing = missing_marker();

	if (!s->open)
		return;
	for (f = s->families; f; f = f->next) {
		/* A rule's series go stale when an evaluation leaves them
		 * out (store__append_stale), not in the ticks between
		 * evaluations. */
		double none = f->evaluated ? missing : stale;

		for (ser = f->head; ser; ser = next) {
			next = ser->next;
			if (ser->last_seq == s->seq)
				continue;
			ser->vals[s->head] = none;
			if (s->seq - ser->last_seq >= s->capacity)
				store__remove(s, ser);
		}
	}
	s->open = false;
	s->last_closed_ms = s->ticks[s->head];
}

uint32_t store__series_count(const struct store *s)
{
	return s->nseries;
}

uint64_t store__dropped_total(const struct store *s)
{
	return s->dropped;
}

uint32_t store__capacity(const struct store *s)
{
	return s->capacity;
}

/* The timestamp of the last closed tick, the one store__foreach() shows. */
int64_t store__last_tick_ms(const struct store *s)
{
	return s->last_closed_ms;
}

/*
 * While a tick is open its slot is being written, so the last closed tick
 * is the slot before it; that slot is complete for every series (appended
 * or marked stale at the end of that tick, or stale since creation).
 */
void store__foreach(const struct store *s,
		    void (*family_cb)(const char *name, enum metric_type type,
				      const char *help, void *ctx),
		    void (*series_cb)(const struct store_series_view *v,
				      void *ctx),
		    void *ctx)
{
	const struct store_family *f;
	const struct store_series *ser;
	struct store_series_view view;
	uint32_t slot;

	if (s->seq == 0 || (s->open && s->seq == 1))
		return;
	slot = s->head;
	if (s->open)
		slot = slot ? slot - 1 : s->capacity - 1;
	view.ts_ms = s->ticks[slot];

	for (f = s->families; f; f = f->next) {
		bool announced = false;

		if (f->evaluated)
			continue;
		for (ser = f->head; ser; ser = ser->next) {
			if (is_absent(ser->vals[slot]))
				continue;
			if (!announced) {
				if (family_cb)
					family_cb(f->name, f->type, f->help, ctx);
				announced = true;
			}
			if (series_cb) {
				view.name = ser->name;
				view.labels = ser->labels;
				view.nlabels = ser->nlabels;
				view.value = ser->vals[slot];
				series_cb(&view, ctx);
			}
		}
	}
}

/*
 * Find the series by its exposed name.  Any family whose name and a suffix
 * make up @name matches, so "x_sum" of family "x" is found; the hash
 * covers the concatenation, so one probe suffices.
 */
static const struct store_series *store__lookup_name(const struct store *s,
						     const char *name,
						     const struct label *labels,
						     size_t n)
{
	uint64_t hash = series_hash(name, "", labels, n);
	const struct store_series *ser;

	for (ser = s->buckets[bucket_of(s, hash)]; ser; ser = ser->hnext) {
		if (ser->hash == hash && ser->nlabels == n &&
		    !strcmp(ser->name, name) &&
		    labels_equal(ser->labels, labels, n))
			return ser;
	}
	return NULL;
}

/*
 * Oldest first over the ticks still in the ring.  The open tick's slot
 * counts only if this series was appended in it (otherwise it holds a
 * sample from `capacity` ticks ago).
 */
int store__history(const struct store *s, const char *name_with_suffix,
		   const struct label *labels, size_t nlabels,
		   void (*cb)(int64_t ts_ms, double v, void *ctx), void *ctx)
{
	const struct store_series *ser;
	uint64_t n, first;

	if (!name_with_suffix || !labels_valid(labels, nlabels))
		return -EINVAL;
	ser = store__lookup_name(s, name_with_suffix, labels, nlabels);
	if (!ser)
		return -ENOENT;
	n = s->seq < s->capacity ? s->seq : s->capacity;
	first = s->seq - n + 1;
	for (uint64_t k = first; k <= s->seq; k++) {
		uint32_t slot = (uint32_t)((k - 1) % s->capacity);

		if (k == s->seq && s->open && ser->last_seq != k)
			continue;
		if (is_absent(ser->vals[slot]))
			continue;
		if (cb)
			cb(s->ticks[slot], ser->vals[slot], ctx);
	}
	return 0;
}

bool store__is_stale(double v)
{
	return is_stale(v);
}

double store__stale_marker(void)
{
	return stale_marker();
}

/* Does the series' exposed name equal @name? */
static bool name_is(const struct store_series *ser, const char *name,
		    const char *suffix)
{
	return !name || (ser->suffix[0] == suffix[0] && strcmp(ser->suffix, suffix) == 0);
}

/* Could family @f hold a series exposed as @name (its name plus a suffix)? */
static bool family_may_hold(const struct store_family *f, const char *name)
{
	return !name || strncmp(name, f->name, f->namelen) == 0;
}

int store__select(const struct store *s, const char *name, int64_t mint,
		  int64_t maxt, store_match_fn match,
		  int (*cb)(const struct store_range *r, void *ctx), void *ctx)
{
	uint64_t n, first, lo, hi, first_in, end_in;
	int64_t *ts;
	double *vals;
	int err = 0;

	/* Every tick in the ring, the open one included: a rule evaluated
	 * during a tick reads what was appended to it so far (the probes'
	 * samples, earlier recording rules of its group), as Prometheus'
	 * rules read the scrape of their evaluation time. */
	n = s->seq < s->capacity ? s->seq : s->capacity;
	if (!n)
		return 0;
	first = s->seq - n + 1;
	/* Tick timestamps increase with the tick number: find the ticks in
	 * [mint, maxt] once, for every series. */
	lo = first;
	hi = first + n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (s->ticks[(mid - 1) % s->capacity] < mint)
			lo = mid + 1;
		else
			hi = mid;
	}
	first_in = lo;
	hi = first + n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (s->ticks[(mid - 1) % s->capacity] <= maxt)
			lo = mid + 1;
		else
			hi = mid;
	}
	end_in = lo;
	if (first_in == end_in)
		return 0;
	n = end_in - first_in;
	ts = malloc(n * sizeof(*ts));
	vals = malloc(n * sizeof(*vals));
	if (!ts || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (const struct store_family *f = s->families; f && !err; f = f->next) {
		if (!family_may_hold(f, name))
			continue;
		for (const struct store_series *ser = f->head; ser && !err; ser = ser->next) {
			struct store_range r = {
				.name = ser->name, .labels = ser->labels,
				.nlabels = ser->nlabels, .ts = ts, .vals = vals,
			};

			if (!name_is(ser, name, name ? name + f->namelen : ""))
				continue;
			if (match && !match(ser->name, ser->labels, ser->nlabels, ctx))
				continue;
			for (uint64_t k = first_in; k < end_in; k++) {
				uint32_t slot = (uint32_t)((k - 1) % s->capacity);

				/* open tick, series not appended yet: its
				 * slot still holds an old sample */
				if (k == s->seq && s->open && ser->last_seq != k)
					continue;
				if (is_missing(ser->vals[slot]))
					continue;
				ts[r.n] = s->ticks[slot];
				vals[r.n++] = ser->vals[slot];
			}
			/* Nothing but staleness in range: nothing to say. */
			for (size_t i = 0; i < r.n; i++) {
				if (!is_stale(vals[i])) {
					err = cb(&r, ctx);
					break;
				}
			}
		}
	}
out:
	free(ts);
	free(vals);
	return err;
}

void store__family_set_evaluated(struct store_family *f)
{
	f->evaluated = true;
}

int store__append_stale(struct store *s, struct store_family *f,
			const struct label *labels, size_t nlabels)
{
	int err = store__append(s, f, "", labels, nlabels, 0);
	struct store_series *ser;

	if (err)
		return err;
	ser = store__lookup(s, f, "", series_hash(f->name, "", labels, nlabels),
			    labels, nlabels);
	if (ser)
		ser->vals[s->head] = stale_marker();
	return 0;
}
