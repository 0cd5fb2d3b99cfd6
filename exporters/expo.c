// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "expo.h"

#define STRBUF_MIN_CAP	256

/* U+FFFD REPLACEMENT CHARACTER, substituted for every byte that is not
 * part of a well-formed UTF-8 sequence. */
#define UTF8_REPLACEMENT	"\xef\xbf\xbd"

void strbuf__init(struct strbuf *b)
{
	b->buf = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

void strbuf__free(struct strbuf *b)
{
	if (!b)
		return;
	free(b->buf);
	strbuf__init(b);
}

/*
 * Forget the contents (and a previous allocation failure) but keep the
 * memory, so a buffer reused for every scrape stops allocating once it has
 * grown to the usual response size.
 */
void strbuf__reset(struct strbuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->buf)
		b->buf[0] = '\0';
}

/*
 * Make room for @extra more bytes plus the terminating NUL.  Returns false
 * (and enters the oom state) if that size overflows or cannot be
 * allocated; the existing contents are kept either way.
 */
static bool strbuf__reserve(struct strbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (__builtin_add_overflow(b->len, extra, &need) ||
	    __builtin_add_overflow(need, 1, &need))
		goto err_oom;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : STRBUF_MIN_CAP;
	while (cap < need) {
		if (__builtin_mul_overflow(cap, 2, &cap)) {
			cap = need;
			break;
		}
	}
	p = realloc(b->buf, cap);
	if (!p)
		goto err_oom;
	p[b->len] = '\0';
	b->buf = p;
	b->cap = cap;
	return true;

err_oom:
	b->oom = true;
	return false;
}

void strbuf__append(struct strbuf *b, const char *s, size_t n)
{
	if (!strbuf__reserve(b, n))
		return;
	if (n)
		memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void strbuf__puts(struct strbuf *b, const char *s)
{
	strbuf__append(b, s, strlen(s));
}

/* Format straight into the free space; if it does not fit, grow to the
 * exact size vsnprintf asked for and format again. */
void strbuf__printf(struct strbuf *b, const char *fmt, ...)
{
	size_t avail;
	va_list ap;
	int n;

	if (!strbuf__reserve(b, 0))
		return;
	avail = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, avail, fmt, ap);
	va_end(ap);
	if (n < 0) {
		/* Only an invalid format or EOVERFLOW get here; drop it. */
		b->buf[b->len] = '\0';
		return;
	}
	if ((size_t)n >= avail) {
		if (!strbuf__reserve(b, (size_t)n)) {
			b->buf[b->len] = '\0';
			return;
		}
		va_start(ap, fmt);
		vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/*
 * Hand the buffer to the caller, always NUL-terminated (an empty buffer
 * gives an allocated "").  @b is left empty and reusable in every case;
 * after an allocation failure the partial contents are freed and NULL is
 * returned with errno = ENOMEM.
 */
char *strbuf__steal(struct strbuf *b, size_t *len)
{
	char *p;

	if (!b->oom && !b->buf)
		strbuf__reserve(b, 0);
	if (b->oom) {
		strbuf__free(b);
		if (len)
			*len = 0;
		errno = ENOMEM;
		return NULL;
	}
	p = b->buf;
	if (len)
		*len = b->len;
	strbuf__init(b);
	return p;
}

const char *metric_type__name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	case METRIC_UNTYPED:
	default:
		return "untyped";
	}
}

static inline bool utf8_in(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

/*
 * Length of the well-formed UTF-8 sequence starting at @p (Unicode 15,
 * table 3-7), or 0 if there is none.  The table's second-byte ranges are
 * what exclude overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).  @p is
 * NUL-terminated and NUL is never a continuation byte, so the
 * short-circuit never reads past the end.
 */
static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (utf8_in(c, 0xc2, 0xdf))
		return utf8_in(p[1], 0x80, 0xbf) ? 2 : 0;
	if (utf8_in(c, 0xe0, 0xef)) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;

		return utf8_in(p[1], lo, hi) && utf8_in(p[2], 0x80, 0xbf) ? 3 : 0;
	}
	if (utf8_in(c, 0xf0, 0xf4)) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

		return utf8_in(p[1], lo, hi) && utf8_in(p[2], 0x80, 0xbf) &&
		       utf8_in(p[3], 0x80, 0xbf) ? 4 : 0;
	}
	return 0;
}

/*
 * Append @v escaped: backslash and newline always, double quote only when
 * @quote (label values; HELP text leaves quotes alone).  Every byte that
 * does not start a well-formed UTF-8 sequence becomes one U+FFFD, so a
 * truncated three-byte sequence gives two replacement characters.  Runs
 * of bytes that need no change are copied with one append.
 */
static void expo__escape(struct strbuf *b, const char *v, bool quote)
{
	const unsigned char *p = (const unsigned char *)v;
	const unsigned char *run = p;
	const char *rep;
	size_t n;

	while (*p) {
		if (*p < 0x80) {
			if (*p == '\\')
				rep = "\\\\";
			else if (*p == '\n')
				rep = "\\n";
			else if (*p == '"' && quote)
				rep = "\\\"";
			else {
				p++;
				continue;
			}
			n = 1;
		} else {
			n = utf8_seq_len(p);
			if (n) {
				p += n;
				continue;
			}
			rep = UTF8_REPLACEMENT;
			n = 1;
		}
		strbuf__append(b, (const char *)run, (size_t)(p - run));
		strbuf__puts(b, rep);
		p += n;
		run = p;
	}
	strbuf__append(b, (const char *)run, (size_t)(p - run));
}

void expo__escape_label_value(struct strbuf *b, const char *v)
{
	expo__escape(b, v ? v : "", true);
}

/* A NULL or empty @help omits the HELP line rather than writing one with
 * an empty docstring. */
void expo__family(struct strbuf *b, const char *name, enum metric_type type,
		  const char *help)
{
	if (help && *help) {
		strbuf__puts(b, "# HELP ");
		strbuf__puts(b, name);
		strbuf__append(b, " ", 1);
		expo__escape(b, help, false);
		strbuf__append(b, "\n", 1);
	}
	strbuf__printf(b, "# TYPE %s %s\n", name, metric_type__name(type));
}

void expo__sample(struct strbuf *b, const char *name,
		  const struct label *labels, size_t n, double value)
{
	char num[32];
	int len;

	strbuf__puts(b, name);
	if (n) {
		strbuf__append(b, "{", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				strbuf__append(b, ",", 1);
			strbuf__puts(b, labels[i].name);
			strbuf__append(b, "=\"", 2);
			expo__escape_label_value(b, labels[i].value);
			strbuf__append(b, "\"", 1);
		}
		strbuf__append(b, "}", 1);
	}
	len = expo__format_double(num, sizeof(num), value);
	strbuf__append(b, " ", 1);
	strbuf__append(b, num, (size_t)len);
	strbuf__append(b, "\n", 1);
}

/*
 * Like Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus uses,
 * except that integral values below 2^53 (all exactly representable) never
 * get an exponent.  The shortest of %.15g/%.16g/%.17g that parses back to
 * the same double is used; %.17g always does.  Negative zero prints as
 * "0".  Returns what snprintf returns (the output is truncated if @len is
 * too small; 32 always suffices).
 */
int expo__format_double(char *buf, size_t len, double v)
{
	char tmp[40];

	if (isnan(v))
		return snprintf(buf, len, "NaN");
	if (isinf(v))
		return snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	if (fabs(v) < 9007199254740992.0 && v == trunc(v))
		return snprintf(buf, len, "%lld", (long long)v);
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v) {
		snprintf(tmp, sizeof(tmp), "%.16g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof(tmp), "%.17g", v);
	}
	return snprintf(buf, len, "%s", tmp);
}

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parse an RFC 9110 qvalue ("0", "0.5", "1", "1.000") into thousandths.
 * Returns -1 if malformed.  @end receives the first byte not consumed.
 */
static int parse_qvalue(const char *p, const char **end)
{
	int q, scale = 100;

	if (*p != '0' && *p != '1')
		return -1;
	q = (*p++ - '0') * 1000;
	if (*p == '.') {
		p++;
		for (int i = 0; i < 3 && *p >= '0' && *p <= '9'; i++, p++) {
			q += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (q > 1000)
		return -1;
	*end = p;
	return q;
}

/*
 * Accept-Encoding: #( codings [ OWS ";" OWS "q=" qvalue ] ).  An explicit
 * "gzip" (or its alias "x-gzip") decides with its q; otherwise "*"
 * decides; otherwise gzip is not acceptable.  Tokens and the "q" name are
 * case-insensitive.  A member with a malformed q or trailing garbage is
 * ignored, so a broken header never turns compression on by accident.
 */
bool expo__accepts_gzip(const char *accept_encoding)
{
	const char *p = accept_encoding;
	int gzip_q = -1, star_q = -1;

	if (!p)
		return false;
	while (*p) {
		const char *tok;
		size_t toklen;
		bool valid = true;
		int q = 1000;

		while (is_ows(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		tok = p;
		while (*p && *p != ',' && *p != ';' && !is_ows(*p))
			p++;
		toklen = (size_t)(p - tok);
		while (is_ows(*p))
			p++;
		while (*p == ';') {
			p++;
			while (is_ows(*p))
				p++;
			if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
				int pq = parse_qvalue(p + 2, &p);

				if (pq < 0)
					valid = false;
				else
					q = pq;
				while (is_ows(*p))
					p++;
				if (*p && *p != ',' && *p != ';')
					valid = false;
			}
			/* Skip the rest of this parameter (or an unknown one). */
			while (*p && *p != ',' && *p != ';')
				p++;
		}
		if (*p && *p != ',') {
			valid = false;
			while (*p && *p != ',')
				p++;
		}
		if (!valid || !toklen)
			continue;
		if ((toklen == 4 && !strncasecmp(tok, "gzip", 4)) ||
		    (toklen == 6 && !strncasecmp(tok, "x-gzip", 6))) {
			if (q > gzip_q)
				gzip_q = q;
		} else if (toklen == 1 && *tok == '*') {
			if (q > star_q)
				star_q = q;
		}
	}
	if (gzip_q >= 0)
		return gzip_q > 0;
	return star_q > 0;
}

/*
 * One-shot gzip (RFC 1952 wrapper: windowBits 15 + 16).  The output
 * buffer starts at deflateBound(), which is enough for a single pass; it
 * grows anyway should zlib ever need more.  Input larger than a uInt is
 * fed in pieces.
 */
int expo__gzip(const void *in, size_t len, void **out, size_t *outlen)
{
	const unsigned char *src = in;
	unsigned char *buf, *nbuf;
	size_t cap, left = len, done = 0;
	z_stream zs;
	int err, zret;

	*out = NULL;
	*outlen = 0;
	memset(&zs, 0, sizeof(zs));
	zret = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			    Z_DEFAULT_STRATEGY);
	if (zret != Z_OK)
		return zret == Z_MEM_ERROR ? -ENOMEM : -EIO;

	cap = deflateBound(&zs, len);
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto err_end;
	}
	do {
		uInt chunk = left > UINT_MAX ? UINT_MAX : (uInt)left;
		size_t space;

		if (done == cap) {
			size_t ncap;

			if (__builtin_mul_overflow(cap, 2, &ncap)) {
				err = -ENOMEM;
				goto err_free;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				err = -ENOMEM;
				goto err_free;
			}
			buf = nbuf;
			cap = ncap;
		}
		space = cap - done;
		zs.next_in = (Bytef *)src;
		zs.avail_in = chunk;
		zs.next_out = buf + done;
		zs.avail_out = space > UINT_MAX ? UINT_MAX : (uInt)space;
		zret = deflate(&zs, left == chunk ? Z_FINISH : Z_NO_FLUSH);
		if (zret == Z_STREAM_ERROR) {
			err = -EIO;
			goto err_free;
		}
		src += chunk - zs.avail_in;
		left -= chunk - zs.avail_in;
		done = (size_t)(zs.next_out - buf);
	} while (zret != Z_STREAM_END);

	deflateEnd(&zs);
	*out = buf;
	*outlen = done;
	return 0;

err_free:
	free(buf);
err_end:
	deflateEnd(&zs);
	return err;
}
