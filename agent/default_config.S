/* SPDX-License-Identifier: GPL-2.0 */
/* Embeds agent/default_config.yml as bw_default_config (NUL-terminated). */
	.section .rodata
	.global bw_default_config
	.type bw_default_config, @object
bw_default_config:
	.incbin "agent/default_config.yml"
	.byte 0
	.size bw_default_config, . - bw_default_config
	.section .note.GNU-stack,"",@progbits
