# swifi@1's site table (cells/swifi/sites.h): made from every other cell object
# of the build (those celltool accepts) and from nano_core's hot path (for the
# test-only injection into nano_core), then linked into the cell as rodata.
SWIFI_TABLE_CELLS := $(filter-out swifi@%,$(foreach c,$(CELL_ENTRIES),$(if $(filter ok,$(word 3,$(subst :, ,$(c)))),$(word 1,$(subst :, ,$(c))))))
SWIFI_CORE_FUNCS  := trap_dispatch,trap_preempt_point,time_ns

$(KOUT)/swifi/sites.bin: build/tools/swifi_sites.py $(KOUT)/nano_core.elf \
		$(patsubst %,$(OUT)/cells/%.o,$(SWIFI_TABLE_CELLS))
	@mkdir -p $(@D)
	python3 build/tools/swifi_sites.py -o $@ --core $(KOUT)/nano_core.elf:$(SWIFI_CORE_FUNCS) \
		$(foreach c,$(SWIFI_TABLE_CELLS),$(c)=$(OUT)/cells/$(c).o)

$(KOUT)/swifi/sites.o: cells/swifi/sites_blob.S $(KOUT)/swifi/sites.bin
	$(CC) $(KASFLAGS) -DSITES_BIN='"$(KOUT)/swifi/sites.bin"' -c $< -o $@

CELL_EXTRA_swifi@1 := $(KOUT)/swifi/sites.o

# Host test: the table reader and the choices, and this build's table itself.
HOST_TESTS += swifi
test_swifi_SRCS := cells/swifi/sites.c
$(HOUT)/tests/test_swifi: $(KOUT)/swifi/sites.bin

# The first seed that picks a given instruction (build/tools/swifi_seed.c): the tests
# that need one site (nano_core's known-bad case) ask it, so they follow the build.
$(HOUT)/swifi-seed: build/tools/swifi_seed.c cells/swifi/sites.c cells/swifi/sites.h
	@mkdir -p $(@D)
	$(HOSTCC) $(HCFLAGS) build/tools/swifi_seed.c cells/swifi/sites.c -o $@
host-tests: $(HOUT)/swifi-seed
