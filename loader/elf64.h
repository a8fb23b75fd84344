/*
 * The subset of the ELF64 format (System V gABI and the x86-64 psABI) that the
 * loader reads. Defined here rather than taken from <elf.h> because the loader
 * is freestanding in the kernel build.
 */
#ifndef LOADER_ELF64_H
#define LOADER_ELF64_H

#include <stdint.h>

typedef struct {
	unsigned char e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
} Elf64_Ehdr;

typedef struct {
	uint32_t sh_name;
	uint32_t sh_type;
	uint64_t sh_flags;
	uint64_t sh_addr;
	uint64_t sh_offset;
	uint64_t sh_size;
	uint32_t sh_link;
	uint32_t sh_info;
	uint64_t sh_addralign;
	uint64_t sh_entsize;
} Elf64_Shdr;

typedef struct {
	uint32_t st_name;
	unsigned char st_info;
	unsigned char st_other;
	uint16_t st_shndx;
	uint64_t st_value;
	uint64_t st_size;
} Elf64_Sym;

typedef struct {
	uint64_t r_offset;
	uint64_t r_info;
	int64_t r_addend;
} Elf64_Rela;

_Static_assert(sizeof(Elf64_Ehdr) == 64, "ELF64 header is 64 bytes");
_Static_assert(sizeof(Elf64_Shdr) == 64, "ELF64 section header is 64 bytes");
_Static_assert(sizeof(Elf64_Sym) == 24, "ELF64 symbol is 24 bytes");
_Static_assert(sizeof(Elf64_Rela) == 24, "ELF64 rela is 24 bytes");

#define ELF_SYM_BIND(i)   ((i) >> 4)
#define ELF_SYM_TYPE(i)   ((i) & 0xf)
#define ELF_SYM_VIS(o)    ((o) & 0x3)
#define ELF_R_SYM(i)      ((uint32_t)((i) >> 32))
#define ELF_R_TYPE(i)     ((uint32_t)(i))

enum {
	EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6,
	ELFCLASS64 = 2, ELFDATA2LSB = 1, EV_CURRENT = 1,
	ET_REL = 1, EM_X86_64 = 62,
};

enum {
	SHN_UNDEF = 0, SHN_LORESERVE = 0xff00, SHN_ABS = 0xfff1,
	SHN_COMMON = 0xfff2, SHN_XINDEX = 0xffff,
};

enum {
	SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3,
	SHT_RELA = 4, SHT_HASH = 5, SHT_DYNAMIC = 6, SHT_NOTE = 7,
	SHT_NOBITS = 8, SHT_REL = 9, SHT_DYNSYM = 11, SHT_INIT_ARRAY = 14,
	SHT_FINI_ARRAY = 15, SHT_PREINIT_ARRAY = 16, SHT_GROUP = 17,
	SHT_SYMTAB_SHNDX = 18,
	SHT_X86_64_UNWIND = 0x70000001,
};

enum {
	SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4, SHF_MERGE = 0x10,
	SHF_STRINGS = 0x20, SHF_GROUP = 0x200, SHF_TLS = 0x400,
};

enum { GRP_COMDAT = 1 };

enum { STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2 };

enum {
	STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3,
	STT_FILE = 4, STT_COMMON = 5, STT_TLS = 6,
};

enum { STV_DEFAULT = 0, STV_INTERNAL = 1, STV_HIDDEN = 2, STV_PROTECTED = 3 };

enum {
	R_X86_64_NONE = 0, R_X86_64_64 = 1, R_X86_64_PC32 = 2,
	R_X86_64_PLT32 = 4, R_X86_64_GOTPCREL = 9, R_X86_64_32 = 10,
	R_X86_64_32S = 11, R_X86_64_16 = 12, R_X86_64_PC16 = 13,
	R_X86_64_8 = 14, R_X86_64_PC8 = 15, R_X86_64_DTPMOD64 = 16,
	R_X86_64_DTPOFF64 = 17, R_X86_64_TPOFF64 = 18, R_X86_64_TLSGD = 19,
	R_X86_64_TLSLD = 20, R_X86_64_DTPOFF32 = 21, R_X86_64_GOTTPOFF = 22,
	R_X86_64_TPOFF32 = 23, R_X86_64_PC64 = 24, R_X86_64_SIZE32 = 32,
	R_X86_64_SIZE64 = 33, R_X86_64_GOTPC32_TLSDESC = 34,
	R_X86_64_TLSDESC_CALL = 35, R_X86_64_TLSDESC = 36,
	R_X86_64_GOTPCRELX = 41, R_X86_64_REX_GOTPCRELX = 42,
	R_X86_64_NUM = 43,
};

#endif
