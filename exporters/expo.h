/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition format 0.0.4 writer.
 *
 * A strbuf is a growable byte buffer; after an allocation failure it stays
 * in the `oom` state and further appends are ignored (callers check once
 * at the end).  Label values and HELP text are arbitrary bytes from the
 * outside world (a process may name itself anything): they are escaped
 * (backslash, double quote, newline) and invalid UTF-8 is replaced by
 * U+FFFD, so the output is always valid.
 */
#ifndef BPFWATCH_EXPO_H
#define BPFWATCH_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool oom;
};

void strbuf__init(struct strbuf *b);
void strbuf__free(struct strbuf *b);
void strbuf__reset(struct strbuf *b);			/* len = 0, keeps memory */
void strbuf__append(struct strbuf *b, const char *s, size_t n);
void strbuf__puts(struct strbuf *b, const char *s);
void strbuf__printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Detach the buffer (NUL-terminated); caller frees. NULL if oom. */
char *strbuf__steal(struct strbuf *b, size_t *len);

struct label {
	const char *name;
	const char *value;
};

enum metric_type {
	METRIC_COUNTER = 0,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
	METRIC_UNTYPED,
};

const char *metric_type__name(enum metric_type t);

/* "# HELP name help\n# TYPE name type\n" (help escaped: \\ and \n). */
void expo__family(struct strbuf *b, const char *name, enum metric_type type,
		  const char *help);
/* "name{l1="v1",...} value\n"; no braces when n == 0. */
void expo__sample(struct strbuf *b, const char *name,
		  const struct label *labels, size_t n, double value);
/* Append @v as a label value body (without quotes), escaped and UTF-8
 * sanitized. */
void expo__escape_label_value(struct strbuf *b, const char *v);
/* Format a sample value the way Prometheus does: "+Inf", "-Inf", "NaN",
 * integers without exponent up to 2^53, otherwise shortest round-trip %g.
 * Returns the length written (always < len for len >= 32). */
int expo__format_double(char *buf, size_t len, double v);

/* True if an Accept-Encoding header value allows gzip (q > 0). */
bool expo__accepts_gzip(const char *accept_encoding);
/* gzip-compress @in; returns 0 and a malloc'd *out, or -ENOMEM/-EIO. */
int expo__gzip(const void *in, size_t len, void **out, size_t *outlen);

#endif /* BPFWATCH_EXPO_H */
