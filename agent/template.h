/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alert templates: the subset of Go's text/template that Prometheus alert
 * rules use in labels and annotations, compiled once at rule load and
 * rendered for every alert at every evaluation.
 *
 * Supported (with Prometheus' semantics):
 *   text and {{ ... }} actions, {{- / -}} whitespace trimming,
 *   comment actions (slash-star ... star-slash);
 *   $labels, $labels.name, $value, $externalLabels(.name), $externalURL,
 *   $ and .Labels(.name), .Value, .ExternalLabels(.name), .ExternalURL
 *   (Prometheus defines $labels := .Labels and so on);
 *   pipelines "a | f b", parenthesized pipelines, string ("..." and `raw`),
 *   integer, float, true/false/nil literals;
 *   if / else if / else / end; with / else / end ("." is the value);
 *   range over a map (sorted keys; "." the value; optional
 *   "$v :=" or "$k, $v :=") / else / end; variables "$x := pipeline" and
 *   "$x = pipeline" at the start of an action, scoped as in Go;
 *   functions: and or not eq ne lt le gt ge len index print printf println
 *   urlquery humanize humanize1024 humanizeDuration humanizePercentage
 *   humanizeTimestamp toUpper toLower title match reReplaceAll stripPort
 *   stripDomain safeHtml.
 * Anything else (unknown function or variable, define/template/block,
 * break/continue, unbalanced actions) is refused at
 * compile time with the byte offset of the construct in the template.
 *
 * Values are typed as in Go: a float ($value, 1.5), an int (1), a string,
 * a bool, the label maps.  Comparing an int with a float is an error in
 * Go's templates, so `gt $value 1` fails at render time and
 * `gt $value 1.0` works, as in Prometheus.  A missing label renders as ""
 * (Prometheus executes templates with missingkey=zero).  Numbers print as
 * Go's %v: shortest representation, exponent from 1e+06 and below 1e-04.
 *
 * Differences from Prometheus, by necessity: match and reReplaceAll use
 * POSIX extended regexes (regcomp), not RE2 (no \d, (?i), lazy
 * quantifiers); toUpper/toLower/title map ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic letters, other scripts are left as they
 * are; execution error messages are Go's without the template position
 * prefix; the "query" family of functions is not available.
 *
 * Golden outputs from promtool 2.42 are in tests/rules/template_golden*
 * and checked by tests/unit/test_template.c.
 */
#ifndef BPFWATCH_TEMPLATE_H
#define BPFWATCH_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "expo.h"

#define TMPL_MAX_TEXT		(64 * 1024)	/* template source bytes */
#define TMPL_MAX_NODES		4096		/* parsed nodes per template */
#define TMPL_MAX_DEPTH		64		/* nested if / parentheses */
#define TMPL_MAX_VARS		32		/* variables in scope */
#define TMPL_MAX_OUTPUT		(256 * 1024)	/* rendered bytes */
#define TMPL_MAX_STEPS		100000		/* actions executed per render */

struct tmpl;

/* What a template sees: borrowed for the duration of tmpl__render. */
struct tmpl_data {
	const struct label *labels;	/* $labels */
	size_t nlabels;
	const struct label *ext_labels;	/* $externalLabels */
	size_t next_labels;
	const char *external_url;	/* $externalURL, NULL = "" */
	double value;			/* $value */
};

/*
 * Compile @text (@len bytes).  Returns a new template (free with
 * tmpl__free) or NULL with errno set (EINVAL, ENOMEM, EFBIG), the message
 * in @err and the byte offset of the offending construct in *@err_off.
 */
struct tmpl *tmpl__compile(const char *text, size_t len, size_t *err_off,
			   char *err, size_t errlen);

/* True if @text has no action at all (renders as itself). */
bool tmpl__is_constant(const struct tmpl *t);

/*
 * Render into @out (appended).  Returns 0, or -EINVAL with the message in
 * @err when execution fails (a comparison of mismatched types, a function
 * given a value it cannot take, an output past TMPL_MAX_OUTPUT), or
 * -ENOMEM.  On error @out may hold partial output: Prometheus replaces the
 * whole result with "<error expanding template: MSG>", see
 * tmpl__expand.
 */
int tmpl__render(const struct tmpl *t, const struct tmpl_data *d,
		 struct strbuf *out, char *err, size_t errlen);

/*
 * Render the way Prometheus' rule manager does: on an execution error the
 * result is "<error expanding template: MSG>".  Returns a new string, or
 * NULL on allocation failure.
 */
char *tmpl__expand(const struct tmpl *t, const struct tmpl_data *d);

void tmpl__free(struct tmpl *t);

/*
 * Go's number formatting, exposed for tests and other users:
 * tmpl__format_float(buf, len, v, 'g', -1) is fmt's %v of a float64;
 * verb 'e', 'f' or 'g' with a precision >= 0 is %.<prec><verb>.
 * Infinities print as "+Inf" and "-Inf", NaN as "NaN".
 */
void tmpl__format_float(char *buf, size_t len, double v, char verb, int prec);

/* The humanize family; @out gets at least 64 bytes. */
void tmpl__humanize(char *out, size_t len, double v);
void tmpl__humanize1024(char *out, size_t len, double v);
void tmpl__humanize_duration(char *out, size_t len, double v);
void tmpl__humanize_percentage(char *out, size_t len, double v);

#endif /* BPFWATCH_TEMPLATE_H */
