/*
 * `celltool info`: what a cell object holds, what it offers, what it needs.
 */
#include <gelf.h>
#include <stdio.h>
#include <string.h>

#include "celltool.h"

#ifndef SHT_LLVM_ADDRSIG
#define SHT_LLVM_ADDRSIG 0x6fff4c03
#endif

static const char *section_type(uint32_t type)
{
	static char other[16];

	switch (type) {
	case SHT_NULL: return "NULL";
	case SHT_PROGBITS: return "PROGBITS";
	case SHT_SYMTAB: return "SYMTAB";
	case SHT_STRTAB: return "STRTAB";
	case SHT_RELA: return "RELA";
	case SHT_REL: return "REL";
	case SHT_NOBITS: return "NOBITS";
	case SHT_NOTE: return "NOTE";
	case SHT_GROUP: return "GROUP";
	case SHT_INIT_ARRAY: return "INIT_ARRAY";
	case SHT_FINI_ARRAY: return "FINI_ARRAY";
	case SHT_PREINIT_ARRAY: return "PREINIT_ARRAY";
	case SHT_SYMTAB_SHNDX: return "SYMTAB_SHNDX";
	case SHT_X86_64_UNWIND: return "X86_64_UNWIND";
	case SHT_LLVM_ADDRSIG: return "LLVM_ADDRSIG";
	}
	snprintf(other, sizeof other, "0x%x", type);
	return other;
}

/* readelf's letters: W write, A alloc, X exec, M merge, S strings, I info
 * link, L link order, G group, T TLS, E exclude. */
static const char *section_flags(uint64_t flags)
{
	static const struct {
		uint64_t bit;
		char letter;
	} names[] = {
		{ SHF_WRITE, 'W' }, { SHF_ALLOC, 'A' },      { SHF_EXECINSTR, 'X' },
		{ SHF_MERGE, 'M' }, { SHF_STRINGS, 'S' },    { SHF_INFO_LINK, 'I' },
		{ SHF_LINK_ORDER, 'L' }, { SHF_GROUP, 'G' }, { SHF_TLS, 'T' },
		{ SHF_EXCLUDE, 'E' },
	};
	static char text[16];
	size_t i, n = 0;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].bit)
			text[n++] = names[i].letter;
	text[n] = '\0';
	return n ? text : "-";
}

static const char *symbol_type(unsigned char type)
{
	switch (type) {
	case STT_FUNC: return "func";
	case STT_OBJECT: return "object";
	case STT_TLS: return "tls";
	case STT_NOTYPE: return "notype";
	case STT_GNU_IFUNC: return "ifunc";
	}
	return "other";
}

static const char *symbol_place(const struct ct_object *o,
				const struct ct_symbol *s)
{
	const struct ct_section *sec = ct_symbol_section(o, s);

	if (sec)
		return sec->name;
	return s->shndx == SHN_COMMON ? "COMMON" : "ABS";
}

static void print_sections(const struct ct_object *o)
{
	size_t i;
	const struct ct_section *s;

	printf("sections:\n");
	printf("  %3s %-24s %-14s %-6s %10s %6s\n", "nr", "name", "type", "flags",
	       "size", "align");
	for (i = 1; i < o->section_count; i++) {
		s = &o->sections[i];
		printf("  %3zu %-24s %-14s %-6s %10llu %6llu\n", i, s->name,
		       section_type(s->type), section_flags(s->flags),
		       (unsigned long long)s->size, (unsigned long long)s->align);
	}
}

static void print_exports(const struct ct_object *o)
{
	const struct ct_symbol *s;
	size_t i;

	printf("exports:\n");
	for (i = 0; i < o->symbol_count; i++) {
		s = &o->symbols[i];
		if (!ct_symbol_is_export(s))
			continue;
		printf("  %-32s %-16s %8llu %s%s\n", s->name, symbol_place(o, s),
		       (unsigned long long)s->size, symbol_type(s->type),
		       s->bind == STB_WEAK ? " weak" : "");
	}
}

/* The grant an import needs, "cell" if another cell must provide it. */
static const char *import_source(const struct ct_exports *x, const char *name)
{
	const char *grant = x ? ct_exports_grant(x, name) : NULL;

	if (grant)
		return grant;
	return x ? "cell" : "?";
}

static void print_imports(const struct ct_object *o, const struct ct_exports *x)
{
	const struct ct_symbol *s;
	size_t i;

	printf("imports:\n");
	for (i = 0; i < o->symbol_count; i++) {
		s = &o->symbols[i];
		if (ct_symbol_is_import(s))
			printf("  %-32s %s%s\n", s->name, import_source(x, s->name),
			       s->bind == STB_WEAK ? " (weak)" : "");
	}
}

/* Prints each grant the imports need once, in order of first use. */
static void print_needed_grants(const struct ct_object *o,
				const struct ct_exports *x)
{
	struct ct_grants seen = { .cell = o->path };
	const char *grant;
	size_t i;

	printf("grants needed:");
	for (i = 0; x && i < o->symbol_count; i++) {
		if (!ct_symbol_is_import(&o->symbols[i]))
			continue;
		grant = ct_exports_grant(x, o->symbols[i].name);
		if (!grant || ct_grants_has(&seen, grant) ||
		    seen.count == CT_GRANTS_MAX)
			continue;
		seen.names[seen.count++] = grant;
		printf(" %s", grant);
	}
	printf("%s\n", !x ? " ? (no exports list)" : seen.count ? "" : " none");
}

void ct_info(const struct ct_object *o, const struct ct_exports *x)
{
	printf("%s: ELF64 x86_64 relocatable object\n", o->path);
	print_sections(o);
	print_exports(o);
	print_imports(o, x);
	print_needed_grants(o, x);
}
