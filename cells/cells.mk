# Cells: one relocatable object per manifest entry, built from its src= folder
# with the kernel flags, merged with `ld.lld -r`, and checked by celltool.
# An entry with expect=refused must be refused by celltool (a test of the check).

# NAME@VERSION:SRC:EXPECT for every `cell` line of the manifest.
CELL_ENTRIES := $(shell awk '$$1 == "cell" { s = ""; e = "ok"; \
	for (i = 3; i <= NF; i++) { if ($$i ~ /^src=/) s = substr($$i, 5); if ($$i == "expect=refused") e = "refused" } \
	print $$2 ":" s ":" e }' cells.manifest)
CELL_OBJS := $(foreach c,$(CELL_ENTRIES),$(OUT)/iso/cells/$(word 1,$(subst :, ,$(c))).o)
CELLTOOL_CHECK := $(HOUT)/celltool check --exports nano_core/exports.list --manifest cells.manifest

define cell_rule
$(OUT)/cells/$(1).o: $(patsubst %.c,$(KOUT)/%.c.o,$(wildcard $(2)/*.c)) $(HOUT)/celltool
	@mkdir -p $$(@D)
	$(LD) -r -o $$@ $$(filter %.o,$$^)
	$(if $(filter refused,$(3)),! $(CELLTOOL_CHECK) $$@,$(CELLTOOL_CHECK) $$@)

$(OUT)/iso/cells/$(1).o: $(OUT)/cells/$(1).o
	@mkdir -p $$(@D)
	cp $$< $$@
endef
.DELETE_ON_ERROR:
$(foreach c,$(CELL_ENTRIES),$(eval $(call cell_rule,$(word 1,$(subst :, ,$(c))),$(word 2,$(subst :, ,$(c))),$(word 3,$(subst :, ,$(c))))))

# GRUB loads every cell object and the manifest as multiboot2 modules, each
# named by its command line (NAME@VERSION, or "manifest").
$(OUT)/iso/boot/grub/grub.cfg: build/grub/grub.cfg cells.manifest
	@mkdir -p $(@D)
	{ sed '/^boot$$/,$$d' $<; \
	  echo 'module2 /cells.manifest manifest'; \
	  $(foreach c,$(CELL_ENTRIES),echo 'module2 /cells/$(word 1,$(subst :, ,$(c))).o $(word 1,$(subst :, ,$(c)))';) \
	  echo boot; } > $@

$(OUT)/iso/cells.manifest: cells.manifest
	@mkdir -p $(@D)
	cp $< $@

ISO_EXTRA += $(CELL_OBJS) $(OUT)/iso/cells.manifest

# Per-cell make fragments (tests of a cell live beside it).
-include $(wildcard cells/*/*.mk)

# The stack-protector test cell is built with the canary (tests/cells/panicky).
$(KOUT)/tests/cells/panicky/smash.c.o: KCFLAGS += -fstack-protector-all
