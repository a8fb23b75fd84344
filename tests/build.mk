# Tests of the build itself (included by the top Makefile).
#
#   make fresh-build-check   copy the project's files into an empty folder, as a
#                            clone would hold them, run plain `make` there and
#                            check that it built build/out/delos.iso

fresh-build-check:
	tests/build/fresh_build.sh

TEST_SCRIPTS += fresh_build_makes_iso=fresh-build-check

.PHONY: fresh-build-check

# nano_core knows no cell by name: no cell name of cells.manifest in its
# sources' strings or in its image's data (tests/build/no_cell_names.py).
# Part of every build (the ISO depends on it) and a test of its own.
$(OUT)/no_cell_names.ok: tests/build/no_cell_names.py cells.manifest $(KOUT)/nano_core.elf \
		$(wildcard nano_core/*.c nano_core/*.h nano_core/*.S)
	tests/build/no_cell_names.py cells.manifest nano_core $(KOUT)/nano_core.elf
	@touch $@
ISO_EXTRA += $(OUT)/no_cell_names.ok

no-cell-names-check:
	tests/build/no_cell_names.py cells.manifest nano_core $(KOUT)/nano_core.elf

TEST_SCRIPTS += nano_core_names_no_cell=no-cell-names-check

.PHONY: no-cell-names-check
