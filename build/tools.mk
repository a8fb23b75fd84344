# celltool, the cells.manifest check and their tests (included by the top Makefile).
#
#   make manifest-check   parse cells.manifest; fails naming the line at fault
#   make celltool-tests   build tiny cells with the kernel flags and check
#                         what celltool says about each

# celltool prelink runs the loader's own code (loader/prelink_write.c), so
# celltool links every loader source: the manifest parser and the loader's
# host build (loader/loader.mk's LOADER_HOST_SRCS, included after this file).
CELLTOOL_SRCS := build/tools/celltool.c build/tools/celltool_elf.c \
                 build/tools/celltool_exports.c build/tools/celltool_check.c \
                 build/tools/celltool_info.c build/tools/celltool_table.c \
                 build/tools/celltool_prelink.c \
                 $(wildcard loader/*.c)

# The build's celltool uses the plain tool flags; its tests run a copy built
# with the sanitizers (HCFLAGS, through the top Makefile's $(HOUT)/obj rule).
$(HOUT)/celltool-obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOSTCC) $(TOOLFLAGS) -c $< -o $@

$(HOUT)/celltool: $(patsubst %.c,$(HOUT)/celltool-obj/%.o,$(CELLTOOL_SRCS))
	$(HOSTCC) $(TOOLFLAGS) $^ -o $@ -lelf

$(HOUT)/celltool-asan: $(patsubst %.c,$(HOUT)/obj/%.o,$(CELLTOOL_SRCS))
	$(HOSTCC) $(HCFLAGS) $^ -o $@ -lelf

# The build fails on a malformed manifest, naming the line.
$(OUT)/manifest.ok: cells.manifest nano_core/exports.list $(HOUT)/celltool
	$(HOUT)/celltool manifest --exports nano_core/exports.list cells.manifest
	@touch $@

manifest-check: $(OUT)/manifest.ok

celltool-tests: $(HOUT)/celltool-asan
	python3 tests/celltool/run.py --celltool $(HOUT)/celltool-asan \
		--cc $(CC) --ld $(LD) --cflags "$(filter-out -MMD -MP,$(KCFLAGS))"

TEST_SCRIPTS       += celltool=celltool-tests
HOST_TESTS         += manifest manifest_table
test_manifest_table_SRCS := loader/manifest_table.c loader/manifest_table_write.c loader/manifest.c
test_manifest_SRCS := loader/manifest.c loader/manifest_table.c loader/manifest_table_write.c

.PHONY: manifest-check celltool-tests
