// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "libbpf_glue.h"
#include "log.h"

static bool quiet;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours;
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		ours = LOG_DEBUG;
	else if (quiet)
		ours = LOG_DEBUG;
	else
		ours = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;
	if (ours > log_get_level())
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(ours, "libbpf: %s", line);
	return 0;
}

void libbpf_glue__init(void)
{
	libbpf_set_print(print_fn);
}

void libbpf_glue__quiet(bool q)
{
	quiet = q;
}
