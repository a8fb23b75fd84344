# The loader's sources, for the loader cell (cells/loader/loader.mk) and the
# host tools and tests (loader/loader.mk).
LOADER_SRCS := loader/deps.c loader/elf_check.c loader/layout.c loader/lib.c \
               loader/loader.c loader/policy.c loader/query.c loader/reloc.c \
               loader/symbols.c loader/swap.c loader/prelink.c
