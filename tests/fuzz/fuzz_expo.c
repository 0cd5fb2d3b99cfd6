// SPDX-License-Identifier: GPL-2.0
// fuzz-sources: exporters/expo.c
/*
 * Label value escaping: whatever bytes a process puts in its name, the
 * escaped value must be valid UTF-8 with no raw newline and no quote that
 * could end the label early.  When the input itself is valid UTF-8 the
 * escaping must also be lossless (unescaping gives the input back).
 *
 * The UTF-8 check here decodes code points and range-checks them, a
 * different method from the table lookup in expo.c, so a shared mistake
 * is unlikely.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode one code point; returns its length or 0 if ill-formed. */
static size_t decode(const unsigned char *p, size_t left, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int valid_utf8(const unsigned char *p, size_t len)
{
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t n = decode(p + i, len - i, &cp);

		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf b;
	char *in, *out, *back;
	size_t inlen, outlen, j = 0;
	int lossless;

	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	inlen = strlen(in);

	strbuf__init(&b);
	expo__escape_label_value(&b, in);
	out = strbuf__steal(&b, &outlen);
	if (!out)
		abort();
	if (strlen(out) != outlen)
		abort();
	if (!valid_utf8((const unsigned char *)out, outlen))
		abort();

	/* Walk the escapes: only \\ \" \n, never a raw quote or newline.
	 * What they unescape to must be the input itself when the input
	 * was valid UTF-8 (nothing was replaced). */
	lossless = valid_utf8((const unsigned char *)in, inlen);
	back = malloc(outlen + 1);
	if (!back)
		abort();
	for (size_t i = 0; i < outlen; i++) {
		char c = out[i];

		if (c == '\n' || c == '"')
			abort();
		if (c == '\\') {
			if (i + 1 >= outlen)
				abort();
			c = out[++i];
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				abort();
		}
		back[j++] = c;
	}
	back[j] = '\0';
	if (lossless && (j != inlen || memcmp(back, in, inlen)))
		abort();

	free(back);
	free(out);
	free(in);
	return 0;
}
