// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "usdt_notes.h"

#define NT_STAPSDT 3

/* Parse one note descriptor: 3 addresses (pc, base, semaphore), then
 * provider, name and args, each NUL-terminated. */
static int parse_desc(const char *desc, size_t len, bool is64,
		      struct usdt_note *n)
{
	size_t asz = is64 ? 8 : 4, off = 3 * asz;
	const char *end = desc + len, *p;

	if (len < off + 3)
		return -EINVAL;
	if (is64) {
		uint64_t a[3];

		memcpy(a, desc, sizeof(a));
		n->pc = a[0];
		n->semaphore = a[2];
	} else {
		uint32_t a[3];

		memcpy(a, desc, sizeof(a));
		n->pc = a[0];
		n->semaphore = a[2];
	}
	p = desc + off;
	n->provider = p;
	p = memchr(p, '\0', (size_t)(end - p));
	if (!p++ || p >= end)
		return -EINVAL;
	n->name = p;
	p = memchr(p, '\0', (size_t)(end - p));
	if (!p++ || p >= end)
		return -EINVAL;
	n->args = p;
	if (!memchr(p, '\0', (size_t)(end - p)))
		return -EINVAL;
	return 0;
}

int usdt_notes__foreach(const char *path,
			int (*cb)(const struct usdt_note *n, void *ctx), void *ctx)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd, ret = 0;
	bool is64;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		ret = -ENOEXEC;
		goto out;
	}
	is64 = gelf_getclass(elf) == ELFCLASS64;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off, next;
		const char *sname;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt") != 0)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && !ret &&
		       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			struct usdt_note n;

			off = next;
			if (nh.n_type != NT_STAPSDT || nh.n_namesz != 8 ||
			    memcmp((char *)data->d_buf + name_off, "stapsdt", 8))
				continue;
			if (parse_desc((char *)data->d_buf + desc_off, nh.n_descsz, is64, &n))
				continue;
			ret = cb(&n, ctx);
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret;
}
