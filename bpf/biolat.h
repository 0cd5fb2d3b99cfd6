/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Block I/O latency: types shared by biolat.bpf.c and the agent. */
#ifndef BPFWATCH_BIOLAT_H
#define BPFWATCH_BIOLAT_H

/* Histogram key: whole-disk device (kernel dev_t encoding, major << 20 |
 * minor) and REQ_OP_* operation. */
struct bio_key {
	__u32 dev;
	__u32 op;
};

#endif /* BPFWATCH_BIOLAT_H */
