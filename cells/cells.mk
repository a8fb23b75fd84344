# Cells: one relocatable object per manifest entry, built from its src= folder
# (and the shared sources its .mk names, below) with the kernel flags, merged
# with `ld.lld -r` and checked by celltool; the ISO's copy is then stripped
# of DWARF and prelinked (`celltool prelink`: the relocations between the
# cell's own sections applied for the layout the loader gives it, the
# absolute ones left as a list of fields; loader/prelink.h). Per-cell fragments (tests of a
# cell live beside it) are included before the rules.
# An entry with expect=refused must be refused by celltool (a test of the check).

# NAME@VERSION:SRC:EXPECT for every `cell` line of the manifest.
CELL_ENTRIES := $(shell awk '$$1 == "cell" { s = ""; e = "ok"; \
	for (i = 3; i <= NF; i++) { if ($$i ~ /^src=/) s = substr($$i, 5); if ($$i == "expect=refused") e = "refused" } \
	print $$2 ":" s ":" e }' cells.manifest)
CELL_OBJS := $(foreach c,$(CELL_ENTRIES),$(OUT)/iso/cells/$(word 1,$(subst :, ,$(c))).o)
CELLTOOL_CHECK := $(HOUT)/celltool check --exports nano_core/exports.list --manifest cells.manifest

# Per-cell make variables, set in the cell's own .mk (cells/NAME/*.mk):
#   CELL_SRCS_NAME@VERSION    more sources compiled as the cell's own
#   CELL_LIB_NAME@VERSION     shared library sources (metamodules/) compiled
#                             into this cell with hidden visibility: each cell
#                             links its own copy, and the copies never meet in
#                             the kernel's one namespace
#   CELL_CFLAGS_NAME@VERSION  extra compiler flags for all of the above
#   CELL_EXTRA_NAME@VERSION   objects built by the cell's own rules, linked in too
# CELL_LIB_TOKENS is the token metamodule, for the cells that seal tokens.
# Every object of a cell is built under $(KOUT)/cell/NAME@VERSION/, so one
# source can go into several cells with different flags.
CELL_LIB_TOKENS := metamodules/siphash.c metamodules/token.c metamodules/token_msg.c
# The stack-protector test cell is built with the canary (tests/cells/panicky).
CELL_CFLAGS_panicky@1 := -fstack-protector-all
# A dispatch whose IRQ entry is named otherwise (tests/qemu/test_ops.py).
CELL_CFLAGS_dispatch@9 := -Ddispatch_irq=dispatch_irq_renamed
-include $(wildcard cells/*/*.mk)

CELL_OBJCOPY := $(firstword $(shell command -v llvm-objcopy objcopy 2>/dev/null))

define cell_rule
CELL_PARTS_$(1) := $(patsubst %.c,$(KOUT)/cell/$(1)/%.c.o,$(wildcard $(2)/*.c) $(CELL_SRCS_$(1))) \
                   $(patsubst %.c,$(KOUT)/cell/$(1)/lib/%.c.o,$(CELL_LIB_$(1))) $(CELL_EXTRA_$(1))

$(KOUT)/cell/$(1)/lib/%.c.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(KCFLAGS) $(CELL_CFLAGS_$(1)) -fvisibility=hidden -c $$< -o $$@

$(KOUT)/cell/$(1)/%.c.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(KCFLAGS) $(CELL_CFLAGS_$(1)) -c $$< -o $$@

$(OUT)/cells/$(1).o: $$(CELL_PARTS_$(1)) $(HOUT)/celltool
	@mkdir -p $$(@D)
	$(LD) -r -o $$@ $$(filter %.o,$$^)
	$(if $(filter refused,$(3)),! $(CELLTOOL_CHECK) $$@,$(CELLTOOL_CHECK) $$@)

# The boot module is the object without its debug sections (gdb reads the one
# above): the loader never applies their relocations, but checks each one,
# which was a third of a reload's link time. Without an objcopy, a plain copy.
# Then it is prelinked: after the strip, which renumbers sections and
# symbols, so that the record names the symbols of the object GRUB loads.
$(OUT)/iso/cells/$(1).o: $(OUT)/cells/$(1).o $(HOUT)/celltool
	@mkdir -p $$(@D)
	$(if $(CELL_OBJCOPY),$(CELL_OBJCOPY) --strip-debug $$< $$@.part,cp $$< $$@.part)
	$(HOUT)/celltool prelink --output $$@ $$@.part
	@rm -f $$@.part
endef
.DELETE_ON_ERROR:
$(foreach c,$(CELL_ENTRIES),$(eval $(call cell_rule,$(word 1,$(subst :, ,$(c))),$(word 2,$(subst :, ,$(c))),$(word 3,$(subst :, ,$(c))))))

# The ISO's copy of a cell has no DWARF (--strip-debug keeps .symtab, which the
# loader, fault reports and `cells` use): the loader then reads and checks only
# what it links, and GRUB reads less. gdb takes the DWARF from $(OUT)/cells/.

# GRUB loads every cell object and the manifest as multiboot2 modules, each
# named by its command line (NAME@VERSION, or "manifest"): the lines replace
# grub.cfg's @modules@ marker, which ends its delos_load function.
$(OUT)/iso/boot/grub/grub.cfg: build/grub/grub.cfg cells.manifest
	@mkdir -p $(@D)
	{ sed '/^@modules@$$/,$$d' $<; \
	  echo '	module2 /manifest.bin manifest'; \
	  echo '	module2 /boot/loader.placed loader.placed'; \
	  $(foreach c,$(CELL_ENTRIES),echo '	module2 /cells/$(word 1,$(subst :, ,$(c))).o $(word 1,$(subst :, ,$(c)))';) \
	  echo '}'; } > $@

# The manifest goes in as the table celltool compiles from it, with the boot
# order read from the boot cells' objects (a dependency cycle fails the build).
$(OUT)/iso/manifest.bin: cells.manifest nano_core/exports.list $(HOUT)/celltool \
		$(patsubst $(OUT)/iso/%,$(OUT)/%,$(CELL_OBJS))
	@mkdir -p $(@D)
	$(HOUT)/celltool table --exports nano_core/exports.list --objects $(OUT) --output $@ cells.manifest

ISO_EXTRA += $(CELL_OBJS) $(OUT)/iso/manifest.bin

# A cell shares code through CELL_LIB_/CELL_SRCS_ above, never by #including
# another file's code: no cell source includes a .c or .inc file.
cells-include-check:
	@found="$$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]*\.(c|inc)[>"]' \
		$$(find cells tests/cells state_db metamodules -name '*.[ch]') /dev/null)"; \
	if [ -n "$$found" ]; then \
		echo "cells-include-check: code included instead of compiled (list it in the cell's .mk):"; \
		echo "$$found"; exit 1; fi; \
	echo "cells-include-check: no cell includes another file's code"

TEST_SCRIPTS += cells_include_no_code=cells-include-check
.PHONY: cells-include-check
