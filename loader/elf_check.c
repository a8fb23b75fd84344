/*
 * Validation of an ELF64 x86-64 relocatable object. Reads only the object,
 * allocates nothing (ldr_elf_check_links writes only the load's per-symbol
 * scratch), and on success leaves struct load pointing at verified tables:
 * every later stage may index sections, symbols, names and relocations
 * without checking bounds again.
 */
#include "loader/internal.h"
#include "loader/prelink.h"

/* True if [off, off+len) lies inside a buffer of `size` bytes. */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int check_ident(struct load *L)
{
	const unsigned char *id = L->eh->e_ident;

	if (memcmp(id, "\177ELF", 4) != 0)
		return load_err(L, LOADER_EBADELF, "bad ELF magic");
	if (id[EI_CLASS] != ELFCLASS64)
		return load_err(L, LOADER_EBADELF,
				"not a 64-bit ELF object (class %u)", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return load_err(L, LOADER_EBADELF,
				"not a little-endian ELF object (data %u)", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT || L->eh->e_version != EV_CURRENT)
		return load_err(L, LOADER_EBADELF, "bad ELF version");
	return 0;
}

static int check_header(struct load *L)
{
	const Elf64_Ehdr *eh = L->eh;

	if ((uintptr_t)L->obj % 8)
		return load_err(L, LOADER_EINVAL, "object buffer not 8-byte aligned");
	if (L->size < sizeof(Elf64_Ehdr))
		return load_err(L, LOADER_EBADELF, "truncated ELF header (%zu bytes)",
				L->size);
	int err = check_ident(L);
	if (err)
		return err;
	if (eh->e_type != ET_REL)
		return load_err(L, LOADER_EBADELF,
				"not a relocatable object (type %u)", eh->e_type);
	if (eh->e_machine != EM_X86_64)
		return load_err(L, LOADER_EBADELF, "not an x86-64 object (machine %u)",
				eh->e_machine);
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return load_err(L, LOADER_EBADELF, "bad section header size %u",
				eh->e_shentsize);
	return 0;
}

static int check_section_table(struct load *L)
{
	const Elf64_Ehdr *eh = L->eh;

	if (eh->e_shnum == 0)
		return load_err(L, eh->e_shoff ? LOADER_EUNSUPPORTED : LOADER_EBADELF,
				eh->e_shoff ? "extended section numbering not supported"
					    : "no section table");
	if (eh->e_shoff % 8 ||
	    !in_bounds(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), L->size))
		return load_err(L, LOADER_EBADELF,
				"section table (offset 0x%lx, %u entries) past end of file (0x%zx bytes)",
				(unsigned long)eh->e_shoff, eh->e_shnum, L->size);
	L->sh = (const Elf64_Shdr *)(L->obj + eh->e_shoff);
	L->shnum = eh->e_shnum;
	if (L->sh[0].sh_type != SHT_NULL)
		return load_err(L, LOADER_EBADELF, "section 0 is not null");
	if (eh->e_shstrndx == SHN_XINDEX)
		return load_err(L, LOADER_EUNSUPPORTED,
				"extended section numbering not supported");
	if (eh->e_shstrndx == 0 || eh->e_shstrndx >= L->shnum)
		return load_err(L, LOADER_EBADELF,
				"section name table index %u out of range (%u sections)",
				eh->e_shstrndx, L->shnum);
	return 0;
}

/* Checks that section `i` is a string table inside the file, ending in NUL. */
static int check_strtab(struct load *L, uint32_t i, const char *what)
{
	const Elf64_Shdr *s = &L->sh[i];

	if (s->sh_type != SHT_STRTAB)
		return load_err(L, LOADER_EBADELF, "%s (section %u) is not a string table",
				what, i);
	if (!in_bounds(s->sh_offset, s->sh_size, L->size))
		return load_err(L, LOADER_EBADELF, "%s (section %u) past end of file", what, i);
	if (s->sh_size == 0 || L->obj[s->sh_offset + s->sh_size - 1] != '\0')
		return load_err(L, LOADER_EBADELF, "%s (section %u) is not NUL-terminated",
				what, i);
	return 0;
}

static int check_names(struct load *L)
{
	uint32_t idx = L->eh->e_shstrndx;
	int err = check_strtab(L, idx, "section name table");

	if (err)
		return err;
	L->shstr = (const char *)L->obj + L->sh[idx].sh_offset;
	L->shstr_size = L->sh[idx].sh_size;
	for (uint32_t i = 0; i < L->shnum; i++)
		if (L->sh[i].sh_name >= L->shstr_size)
			return load_err(L, LOADER_EBADELF,
					"section %u: name offset 0x%x past end of .shstrtab (0x%lx)",
					i, L->sh[i].sh_name, (unsigned long)L->shstr_size);
	L->names_ok = true;
	return 0;
}

static int check_section_type(struct load *L, uint32_t i)
{
	const Elf64_Shdr *s = &L->sh[i];

	switch (s->sh_type) {
	case SHT_REL:
		return load_sec_err(L, LOADER_EUNSUPPORTED, i, "SHT_REL relocations not supported");
	case SHT_SYMTAB_SHNDX:
		return load_sec_err(L, LOADER_EUNSUPPORTED, i,
			       "extended section numbering not supported");
	case SHT_PROGBITS:
		if (strcmp(load_sec_name(L, i), PRELINK_SECTION) != 0)
			break;
		if (L->prelink)
			return load_sec_err(L, LOADER_EBADELF, i, "more than one prelink record");
		if (s->sh_flags & SHF_ALLOC)
			return load_sec_err(L, LOADER_EBADELF, i, "prelink record is allocated");
		if (s->sh_offset % 8)
			return load_sec_err(L, LOADER_EBADELF, i, "prelink record not 8-byte aligned");
		L->prelink = i;
		return 0;
	case SHT_SYMTAB:
		if (L->symtab)
			return load_sec_err(L, LOADER_EBADELF, i, "more than one symbol table");
		L->symtab = i;
		return 0;
	}
	if ((s->sh_flags & SHF_ALLOC) && layout_classify(L, i) == SEG_NONE &&
	    s->sh_type != SHT_NOTE && s->sh_type != SHT_X86_64_UNWIND &&
	    strcmp(load_sec_name(L, i), ".eh_frame") != 0)
		return load_sec_err(L, LOADER_EUNSUPPORTED, i,
			       "unsupported allocated section type 0x%x", s->sh_type);
	return 0;
}

static int check_section(struct load *L, uint32_t i)
{
	const Elf64_Shdr *s = &L->sh[i];
	bool alloc = s->sh_flags & SHF_ALLOC;

	if (s->sh_type != SHT_NOBITS && !in_bounds(s->sh_offset, s->sh_size, L->size))
		return load_sec_err(L, LOADER_EBADELF, i,
			       "contents (offset 0x%lx, size 0x%lx) past end of file (0x%zx bytes)",
			       (unsigned long)s->sh_offset, (unsigned long)s->sh_size, L->size);
	if (s->sh_addralign > 1 && !is_pow2(s->sh_addralign))
		return load_sec_err(L, LOADER_EBADELF, i, "alignment 0x%lx is not a power of two",
			       (unsigned long)s->sh_addralign);
	if (alloc && s->sh_addralign > LOADER_PAGE_SIZE)
		return load_sec_err(L, LOADER_EUNSUPPORTED, i,
			       "alignment 0x%lx exceeds the page size",
			       (unsigned long)s->sh_addralign);
	if (alloc && s->sh_size > LOADER_MAX_CELL_BYTES)
		return load_sec_err(L, LOADER_EUNSUPPORTED, i, "size 0x%lx too large",
			       (unsigned long)s->sh_size);
	if (alloc && (s->sh_flags & SHF_WRITE) && (s->sh_flags & SHF_EXECINSTR))
		return load_sec_err(L, LOADER_EUNSUPPORTED, i, "writable and executable (W^X)");
	return check_section_type(L, i);
}

static int check_symtab(struct load *L)
{
	const Elf64_Shdr *s = &L->sh[L->symtab];

	if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_size % sizeof(Elf64_Sym) ||
	    s->sh_offset % 8)
		return load_sec_err(L, LOADER_EBADELF, L->symtab, "bad entry size or alignment");
	if (s->sh_size == 0 || s->sh_size / sizeof(Elf64_Sym) > LOADER_MAX_SYMS)
		return load_sec_err(L, LOADER_EBADELF, L->symtab, "bad size 0x%lx",
			       (unsigned long)s->sh_size);
	if (s->sh_link == 0 || s->sh_link >= L->shnum)
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "string table index %u out of range", s->sh_link);
	int err = check_strtab(L, s->sh_link, "symbol string table");
	if (err)
		return err;
	L->syms = (const Elf64_Sym *)(L->obj + s->sh_offset);
	L->nsyms = s->sh_size / sizeof(Elf64_Sym);
	L->str = (const char *)L->obj + L->sh[s->sh_link].sh_offset;
	L->str_size = L->sh[s->sh_link].sh_size;
	if (s->sh_info == 0 || s->sh_info > L->nsyms)
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "first global index %u out of range (%u symbols)",
			       s->sh_info, L->nsyms);
	L->first_global = s->sh_info;
	return 0;
}

static int check_sym_section(struct load *L, uint32_t i, const Elf64_Sym *s)
{
	uint16_t shndx = s->st_shndx;

	if (shndx == SHN_UNDEF)
		return i && (ELF_SYM_BIND(s->st_info) == STB_LOCAL || !s->st_name)
			? load_sec_err(L, LOADER_EBADELF, L->symtab,
				  "symbol %u: undefined local or unnamed symbol", i)
			: 0;
	if (shndx == SHN_ABS || shndx == SHN_COMMON)
		return 0;
	if (shndx == SHN_XINDEX)
		return load_sec_err(L, LOADER_EUNSUPPORTED, L->symtab,
			       "symbol '%s': extended section index not supported",
			       load_sym_name(L, i));
	if (shndx >= L->shnum)
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "symbol '%s': section index %u out of range (%u sections)",
			       load_sym_name(L, i), shndx, L->shnum);
	if (s->st_value > L->sh[shndx].sh_size)
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "symbol '%s': value 0x%lx past end of %s (0x%lx)",
			       load_sym_name(L, i), (unsigned long)s->st_value,
			       load_sec_name(L, shndx), (unsigned long)L->sh[shndx].sh_size);
	return 0;
}

static int check_sym_kind(struct load *L, uint32_t i, const Elf64_Sym *s)
{
	unsigned bind = ELF_SYM_BIND(s->st_info), type = ELF_SYM_TYPE(s->st_info);

	if (bind > STB_WEAK)
		return load_sec_err(L, LOADER_EUNSUPPORTED, L->symtab,
			       "symbol '%s': unsupported binding %u", load_sym_name(L, i), bind);
	if ((i < L->first_global) != (bind == STB_LOCAL))
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "symbol '%s': binding %u in the wrong part of the table",
			       load_sym_name(L, i), bind);
	if (type > STT_TLS)
		return load_sec_err(L, LOADER_EUNSUPPORTED, L->symtab,
			       "symbol '%s': unsupported type %u", load_sym_name(L, i), type);
	if (type == STT_SECTION && (s->st_shndx == SHN_UNDEF ||
				    s->st_shndx >= SHN_LORESERVE))
		return load_sec_err(L, LOADER_EBADELF, L->symtab,
			       "section symbol %u has no section", i);
	return 0;
}

/*
 * The common symbol, checked at once: its name inside the string table, a
 * binding that fits its part of the table, a type below STT_COMMON, and a
 * value inside its section, an ordinary one. Every other symbol, and every
 * fault, goes through the checks one by one (which name the fault); none of
 * these spills state. The loop keeps the tables' bounds in locals.
 */
static int check_symbols(struct load *L)
{
	const Elf64_Shdr *sh = L->sh;
	uint64_t str_size = L->str_size;
	uint32_t shnum = L->shnum, first_global = L->first_global;

	for (uint32_t i = 0; i < L->nsyms; i++) {
		const Elf64_Sym *s = &L->syms[i];
		unsigned bind = ELF_SYM_BIND(s->st_info), shndx = s->st_shndx;
		if (__builtin_expect(s->st_name < str_size && shndx - 1u < shnum - 1u &&
				     shndx < SHN_LORESERVE && ELF_SYM_TYPE(s->st_info) < STT_COMMON &&
				     bind <= STB_WEAK && (i < first_global) == (bind == STB_LOCAL) &&
				     s->st_value <= sh[shndx].sh_size && i, 1))
			continue;
		if (s->st_name >= L->str_size)
			return load_sec_err(L, LOADER_EBADELF, L->symtab,
				       "symbol %u: name offset 0x%x past end of string table (0x%lx)",
				       i, s->st_name, (unsigned long)L->str_size);
		int err = check_sym_kind(L, i, s);
		if (!err)
			err = check_sym_section(L, i, s);
		if (err)
			return err;
		L->sym_spills |= ldr_sym_spills(s);
	}
	return 0;
}

/* Names the fault of relocation j of section r (target t), which
 * relocs_survey found wrong. */
static int check_rela(struct load *L, uint32_t r, uint32_t t, uint32_t j)
{
	const Elf64_Rela *rel = (const Elf64_Rela *)(L->obj + L->sh[r].sh_offset) + j;
	uint32_t type = ELF_R_TYPE(rel->r_info), symi = ELF_R_SYM(rel->r_info);
	unsigned width = reloc_width(type);
	bool alloc = L->sh[t].sh_flags & SHF_ALLOC;

	if (symi >= L->nsyms)
		return load_sec_err(L, LOADER_EBADELF, r,
			       "relocation %u: symbol index %u out of range (%u symbols)",
			       j, symi, L->nsyms);
	if (!width && alloc && type != R_X86_64_NONE && type < R_X86_64_NUM)
		return load_sec_err(L, LOADER_EUNSUPPORTED, r,
				    "relocation %u: unsupported relocation type %s", j,
				    loader_reloc_name(type));
	if (!width && alloc && type != R_X86_64_NONE)
		return load_sec_err(L, LOADER_EUNSUPPORTED, r,
				    "relocation %u: unknown relocation type %u", j, type);
	if (!in_bounds(rel->r_offset, width ? width : 1, L->sh[t].sh_size))
		return load_sec_err(L, LOADER_EBADELF, r,
			       "relocation offset 0x%lx past end of %s (0x%lx)",
			       (unsigned long)rel->r_offset, load_sec_name(L, t),
			       (unsigned long)L->sh[t].sh_size);
	return 0;
}

static int check_rela_section(struct load *L, uint32_t r)
{
	const Elf64_Shdr *s = &L->sh[r];
	uint32_t t = s->sh_info;

	if (s->sh_entsize != sizeof(Elf64_Rela) || s->sh_size % sizeof(Elf64_Rela) ||
	    s->sh_offset % 8)
		return load_sec_err(L, LOADER_EBADELF, r, "bad entry size or alignment");
	if (!L->symtab || s->sh_link != L->symtab)
		return load_sec_err(L, LOADER_EBADELF, r,
			       "symbol table index %u is not the symbol table", s->sh_link);
	if (t == 0 || t >= L->shnum)
		return load_sec_err(L, LOADER_EBADELF, r, "target section %u out of range", t);
	if (L->sh[t].sh_type == SHT_NOBITS || L->sh[t].sh_type == SHT_RELA ||
	    L->sh[t].sh_type == SHT_SYMTAB || L->sh[t].sh_type == SHT_STRTAB)
		return load_sec_err(L, LOADER_EBADELF, r, "cannot relocate %s", load_sec_name(L, t));
	bool alloc = L->sh[t].sh_flags & SHF_ALLOC;
	uint32_t j = relocs_survey(L, r, t, alloc, alloc && layout_classify(L, t) != SEG_NONE);
	return j < s->sh_size / sizeof(Elf64_Rela) ? check_rela(L, r, t, j) : 0;
}

static int check_group(struct load *L, uint32_t g)
{
	const Elf64_Shdr *s = &L->sh[g];
	const uint32_t *w = (const uint32_t *)(L->obj + s->sh_offset);

	if (s->sh_entsize != 4 || s->sh_size < 4 || s->sh_size % 4 || s->sh_offset % 4)
		return load_sec_err(L, LOADER_EBADELF, g, "bad group section size");
	if (!L->symtab || s->sh_link != L->symtab || s->sh_info >= L->nsyms)
		return load_sec_err(L, LOADER_EBADELF, g, "bad group signature symbol");
	for (uint64_t k = 1; k < s->sh_size / 4; k++)
		if (w[k] == 0 || w[k] >= L->shnum || w[k] == g)
			return load_sec_err(L, LOADER_EBADELF, g,
				       "member section index %u out of range", w[k]);
	return 0;
}

int ldr_elf_check(struct load *L)
{
	L->eh = (const Elf64_Ehdr *)L->obj;
	int err = check_header(L);
	if (!err)
		err = check_section_table(L);
	if (!err)
		err = check_names(L);
	for (uint32_t i = 1; !err && i < L->shnum; i++)
		err = check_section(L, i);
	if (!err && L->symtab)
		err = check_symtab(L);
	if (!err)
		err = check_symbols(L);
	return err;
}

/* The relocation and group sections, after ldr_elf_check: what relocs_survey
 * notes goes into L->res. */
int ldr_elf_check_links(struct load *L)
{
	int err = 0;

	for (uint32_t i = 1; !err && i < L->shnum; i++) {
		if (L->sh[i].sh_type == SHT_RELA)
			err = check_rela_section(L, i);
		else if (L->sh[i].sh_type == SHT_GROUP)
			err = check_group(L, i);
	}
	return err;
}
