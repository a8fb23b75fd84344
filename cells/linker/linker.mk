# The loader cell (docs/loader-cell.md): loader/'s sources and its own copy of
# the string functions, all hidden but the table cells/linker/cell.c exports.
include loader/sources.mk
CELL_SRCS_linker@1   := $(LOADER_SRCS)
CELL_LIB_linker@1    := metamodules/string.c
CELL_CFLAGS_linker@1 := -fvisibility=hidden

# The image nano_core places at boot: the ISO's linker@1 object linked by
# cell-link at the first address the cell window hands out (CELL_BASE plus
# its guard page, include/delos/kernel.h; the placer checks it). It imports
# nothing, so the kernel and the test kernel boot the same image.
LOADER_PLACED_BASE := ffffffff90001000
$(OUT)/iso/boot/loader.placed: $(OUT)/iso/cells/linker@1.o $(HOUT)/cell-link
	@mkdir -p $(@D)
	$(HOUT)/cell-link $< --base $(LOADER_PLACED_BASE) --placed loader_cell_ops -o $@
	@rm -f $@.map
ISO_EXTRA += $(OUT)/iso/boot/loader.placed
