# ramfs: the logic of cells ramfs@1 and ramfs@2, tested on the host against
# the real state_db store (tests/host/test_ramfs.c). The cells themselves are
# built by cells/cells.mk: ramfs@1 from cells/ramfs, ramfs@2 from the same
# sources for layout 2 plus cells/ramfs_v2 (cells/ramfs_v2/ramfs_v2.mk).
#
#   make ramfs-v2-check   ramfs@2 exports exactly ramfs@1's symbols and its
#                         swap-in hook, and leaves no symbol of its own undefined

# Both versions link their own copy of the token metamodule.
CELL_LIB_ramfs@1 := $(CELL_LIB_TOKENS)

RAMFS_LOGIC_SRCS := cells/ramfs/names.c cells/ramfs/inode.c cells/ramfs/data.c \
                    cells/ramfs/ticket.c cells/ramfs/file.c cells/ramfs/dir.c \
                    cells/ramfs/migrate.c cells/ramfs/errors.c

HOST_TESTS      += ramfs
test_ramfs_SRCS  = $(RAMFS_LOGIC_SRCS) $(STATEDB_SRCS) $(TOKEN_SRCS)

# The exported (defined, default visibility) and the hidden undefined
# symbols of an object, one per line, sorted.
ramfs_exports = readelf -sW $(1) | awk '$$5 != "LOCAL" && $$6 == "DEFAULT" && $$7 != "UND" { print $$8 }' | sort
ramfs_missing = readelf -sW $(1) | awk '$$6 == "HIDDEN" && $$7 == "UND" { print $$8 }' | sort

ramfs-v2-check: $(OUT)/cells/ramfs@1.o $(OUT)/cells/ramfs@2.o
	@{ $(call ramfs_exports,$(OUT)/cells/ramfs@1.o); echo cell_swap_in; echo cell_swap_prepare; echo ramfs_migrate_stepwise; } | sort > $(OUT)/ramfs@1.exports
	@$(call ramfs_exports,$(OUT)/cells/ramfs@2.o) > $(OUT)/ramfs@2.exports
	@diff -u $(OUT)/ramfs@1.exports $(OUT)/ramfs@2.exports || \
		{ echo "ramfs-v2-check: ramfs@2 does not export what ramfs@1 does (+ cell_swap_in, cell_swap_prepare, ramfs_migrate_stepwise)"; exit 1; }
	@missing="$$($(call ramfs_missing,$(OUT)/cells/ramfs@2.o))"; \
	if [ -n "$$missing" ]; then \
		echo "ramfs-v2-check: ramfs@2 lacks these ramfs@1 functions (see cells/ramfs_v2/ramfs_v2.mk):"; \
		echo "$$missing"; exit 1; fi
	@echo "ramfs-v2-check: ramfs@2 exports what ramfs@1 does, and its swap-in hook; nothing missing"

TEST_SCRIPTS += ramfs_v2_in_step=ramfs-v2-check

.PHONY: ramfs-v2-check
