/* SPDX-License-Identifier: GPL-2.0 */
/* Routes libbpf's own messages into our log. */
#ifndef BPFWATCH_LIBBPF_GLUE_H
#define BPFWATCH_LIBBPF_GLUE_H

#include <stdbool.h>

/* Install the print callback (idempotent). */
void libbpf_glue__init(void);
/* While quiet, libbpf warnings go to debug level: used when a failure is
 * expected (feature probing) and reported by the caller instead. */
void libbpf_glue__quiet(bool quiet);

#endif
