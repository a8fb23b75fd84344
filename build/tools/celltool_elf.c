/*
 * Reads an ELF64 x86_64 relocatable object into struct ct_object through
 * libelf, so the checks and the report never touch libelf themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "celltool.h"

static int bad(const char *path, const char *cause)
{
	fprintf(stderr, "celltool: %s: %s\n", path, cause);
	return -1;
}

static int bad_elf(const char *path)
{
	fprintf(stderr, "celltool: %s: %s\n", path, elf_errmsg(-1));
	return -1;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* Refuses anything but an ELF64 little-endian x86_64 relocatable object. */
static int check_header(Elf *elf, const char *path)
{
	GElf_Ehdr eh;

	if (elf_kind(elf) != ELF_K_ELF)
		return bad(path, "not an ELF file");
	if (!gelf_getehdr(elf, &eh))
		return bad_elf(path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return bad(path, "not a little-endian ELF64 object");
	if (eh.e_type != ET_REL)
		return bad(path, "not a relocatable object (ET_REL)");
	if (eh.e_machine != EM_X86_64)
		return bad(path, "not an x86_64 object");
	return 0;
}

static int read_sections(Elf *elf, struct ct_object *o)
{
	size_t count, strndx, i;
	Elf_Scn *scn;
	GElf_Shdr sh;

	if (elf_getshdrnum(elf, &count) || elf_getshdrstrndx(elf, &strndx))
		return bad_elf(o->path);
	o->sections = calloc(count ? count : 1, sizeof *o->sections);
	o->section_count = count;
	for (i = 1; i < count; i++) {
		scn = elf_getscn(elf, i);
		if (!scn || !gelf_getshdr(scn, &sh))
			return bad_elf(o->path);
		o->sections[i] = (struct ct_section){
			.name = dup_or_empty(elf_strptr(elf, strndx, sh.sh_name)),
			.type = sh.sh_type,
			.flags = sh.sh_flags,
			.size = sh.sh_size,
			.align = sh.sh_addralign,
		};
	}
	o->sections[0].name = strdup("");
	return 0;
}

/* Finds the symbol table and, if present, its extended index table. */
static Elf_Scn *find_symtab(Elf *elf, Elf_Data **xndx, GElf_Shdr *symsh)
{
	Elf_Scn *scn = NULL, *symtab = NULL;
	GElf_Shdr sh;

	*xndx = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			*symsh = sh;
		} else if (sh.sh_type == SHT_SYMTAB_SHNDX) {
			*xndx = elf_getdata(scn, NULL);
		}
	}
	return symtab;
}

static int read_symbols(Elf *elf, struct ct_object *o)
{
	Elf_Data *data, *xndx;
	GElf_Shdr sh;
	Elf_Scn *scn = find_symtab(elf, &xndx, &sh);
	GElf_Sym sym;
	Elf32_Word ext;
	size_t count, i;

	if (!scn)
		return 0; /* an object without symbols has nothing to check */
	data = elf_getdata(scn, NULL);
	if (!data || sh.sh_entsize == 0)
		return bad_elf(o->path);
	count = sh.sh_size / sh.sh_entsize;
	o->symbols = calloc(count ? count : 1, sizeof *o->symbols);
	for (i = 1; i < count; i++) {
		if (!gelf_getsymshndx(data, xndx, (int)i, &sym, &ext))
			return bad_elf(o->path);
		o->symbols[o->symbol_count++] = (struct ct_symbol){
			.name = dup_or_empty(elf_strptr(elf, sh.sh_link, sym.st_name)),
			.type = GELF_ST_TYPE(sym.st_info),
			.bind = GELF_ST_BIND(sym.st_info),
			.shndx = sym.st_shndx == SHN_XINDEX ? ext : sym.st_shndx,
			.size = sym.st_size,
		};
	}
	return 0;
}

int ct_object_load(struct ct_object *o, const char *path)
{
	Elf *elf;
	int fd, rc;

	*o = (struct ct_object){ .path = path };
	if (elf_version(EV_CURRENT) == EV_NONE)
		return bad(path, "libelf is too old");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return bad(path, strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		close(fd);
		return bad_elf(path);
	}
	rc = check_header(elf, path);
	if (rc == 0)
		rc = read_sections(elf, o);
	if (rc == 0)
		rc = read_symbols(elf, o);
	elf_end(elf);
	close(fd);
	if (rc)
		ct_object_free(o);
	return rc;
}

void ct_object_free(struct ct_object *o)
{
	size_t i;

	for (i = 0; i < o->section_count; i++)
		free(o->sections[i].name);
	for (i = 0; i < o->symbol_count; i++)
		free(o->symbols[i].name);
	free(o->sections);
	free(o->symbols);
	*o = (struct ct_object){ .path = o->path };
}

const struct ct_section *ct_symbol_section(const struct ct_object *o,
					   const struct ct_symbol *s)
{
	if (s->shndx == SHN_UNDEF || s->shndx == SHN_ABS ||
	    s->shndx == SHN_COMMON || s->shndx >= o->section_count)
		return NULL;
	return &o->sections[s->shndx];
}

bool ct_symbol_is_import(const struct ct_symbol *s)
{
	return s->shndx == SHN_UNDEF && s->name[0] && s->bind != STB_LOCAL;
}

bool ct_symbol_is_export(const struct ct_symbol *s)
{
	return s->shndx != SHN_UNDEF && s->name[0] &&
	       (s->bind == STB_GLOBAL || s->bind == STB_WEAK) &&
	       s->type != STT_SECTION && s->type != STT_FILE;
}
