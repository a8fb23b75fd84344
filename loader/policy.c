/*
 * The cell policy: cells spill no state. Refuses writable allocated sections
 * (unless the load allows state), COMMON symbols and thread-local storage,
 * naming every offending symbol, or the section when no symbol names it.
 * Runs after ldr_elf_check and, like it, reads only the object.
 */
#include "loader/internal.h"

struct spill {
	struct lmsg m;
	unsigned count;
};

static void spill_add(struct spill *sp, const char *what, const char *where)
{
	lmsg_printf(&sp->m, "%s'%s' (%s)", sp->count ? ", " : "", what, where);
	sp->count++;
}

static bool is_spill_section(const struct load *L, uint32_t i)
{
	const Elf64_Shdr *s = &L->sh[i];

	if (!(s->sh_flags & SHF_ALLOC) || s->sh_size == 0)
		return false;
	if (s->sh_flags & SHF_TLS)
		return true;
	return layout_classify(L, i) == SEG_DATA &&
	       !(L->args->flags & LOADER_ALLOW_STATE);
}

static bool has_common_symbols(const struct load *L)
{
	for (uint32_t k = 1; L->sym_spills && k < L->nsyms; k++)
		if (L->syms[k].st_shndx == SHN_COMMON)
			return true;
	return false;
}

/* Names the symbols defined in spilling section i, or the section itself.
 * ld.lld -r adds a "COMMON" section for COMMON symbols it keeps as such;
 * those symbols are named by spill_symbols instead. */
static void spill_section(const struct load *L, uint32_t i, struct spill *sp)
{
	unsigned before = sp->count;

	if (strcmp(load_sec_name(L, i), "COMMON") == 0 && has_common_symbols(L))
		return;

	for (uint32_t k = 1; k < L->nsyms; k++) {
		const Elf64_Sym *s = &L->syms[k];
		unsigned type = ELF_SYM_TYPE(s->st_info);
		if (s->st_shndx == i && s->st_name && type != STT_SECTION &&
		    type != STT_FILE)
			spill_add(sp, load_sym_name(L, k), load_sec_name(L, i));
	}
	if (sp->count == before)
		spill_add(sp, load_sec_name(L, i), "section");
}

/* COMMON and TLS symbols spill wherever they are defined or referenced
 * (ldr_elf_check saw whether any does: else no walk). */
static void spill_symbols(const struct load *L, struct spill *sp)
{
	for (uint32_t k = 1; L->sym_spills && k < L->nsyms; k++) {
		const Elf64_Sym *s = &L->syms[k];
		if (!ldr_sym_spills(s))
			continue;
		spill_add(sp, load_sym_name(L, k), ELF_SYM_TYPE(s->st_info) == STT_TLS &&
			  s->st_shndx != SHN_COMMON ? "TLS" : "COMMON");
	}
}

int ldr_policy_check(struct load *L)
{
	char buf[LOADER_ERR_MAX - 64];
	struct spill sp = { .count = 0 };

	lmsg_init(&sp.m, buf, sizeof(buf));
	for (uint32_t i = 1; i < L->shnum; i++)
		if (is_spill_section(L, i))
			spill_section(L, i, &sp);
	spill_symbols(L, &sp);
	if (!sp.count)
		return 0;
	return load_err(L, LOADER_ESPILL,
			"state spill: %s; cells may not keep writable static data, COMMON or TLS",
			buf);
}
