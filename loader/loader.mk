# loader/: the run-time linker, its host tests, cell-link, the ld.lld
# comparison, the fuzzer and a link-time benchmark. Included by the top
# Makefile after its variables.
#
#   make host-tests        also builds the loader tests and cell-link
#   make loader-compare    cell-link against ld.lld on every test object
#   make fuzz [FUZZ_RUNS=N]
#   make loader-bench      host link time against object size
#   make loader-bench-check  loader-bench stops at a failed load instead of timing it
#   make loader-kernel     compile the loader with the kernel flags

# The loader proper (loader/sources.mk): freestanding, built for the kernel
# (as the loader cell, cells/loader) and the host alike.
include loader/sources.mk
LOADER_HOST_SRCS := $(LOADER_SRCS) loader/host_env.c loader/prelink_write.c

LOADER_KOBJS     := $(patsubst %,$(KOUT)/cell/linker@1/%.o,$(LOADER_SRCS))

loader-kernel: $(LOADER_KOBJS)

# Test objects, built into $(LT): r_* from assembly (one relocation kind
# each), a_* other assembly cells, k_* kernel-model C cells, h_* host-
# executable -fPIC cells; C cells go through ld.lld -r as real cells do.
LT       := $(HOUT)/loader-tests
LT_SRC   := tests/loader/cells
LT_R     := 64 32 32s pc32 plt32 pc64 gotpcrel gotpcrelx rex_gotpcrelx misc
LT_K     := hello spill common tls ports dup_a dup_b undef weak strong stackprot
LT_A     := comdat_a comdat_b
LT_H     := math user stack pie
LT_OBJS  := $(LT_R:%=$(LT)/r_%.o) $(LT_A:%=$(LT)/a_%.o) $(LT_K:%=$(LT)/k_%.o) \
            $(LT)/k_multi.o $(LT_H:%=$(LT)/h_%.o)

LT_KFLAGS := $(filter-out -MMD -MP -g,$(KCFLAGS))
LT_HFLAGS := -O2 -fPIC -ffreestanding -fno-builtin -fno-stack-protector $(WARN)

$(LT)/r_gotpcrel.o: LT_ASFLAGS := -Wa,-mrelax-relocations=no
$(LT)/k_common.part.o: LT_CFLAGS := -fcommon
$(LT)/k_stackprot.part.o: LT_CFLAGS := -fstack-protector-all -mstack-protector-guard=global
$(LT)/k_multi_a.part.o $(LT)/k_multi_b.part.o: LT_CFLAGS := -ffunction-sections -fdata-sections
$(LT)/h_stack.part.o: LT_CFLAGS := -fstack-protector-all -mstack-protector-guard=global
$(LT)/h_pie.part.o: LT_CFLAGS := -fno-pic -fPIE

$(LT)/r_%.o: $(LT_SRC)/r_%.S
	@mkdir -p $(@D)
	$(CC) --target=x86_64-unknown-none-elf $(LT_ASFLAGS) -c $< -o $@

$(LT)/a_%.o: $(LT_SRC)/a_%.S
	@mkdir -p $(@D)
	$(CC) --target=x86_64-unknown-none-elf -c $< -o $@

$(LT)/k_%.part.o: $(LT_SRC)/k_%.c
	@mkdir -p $(@D)
	$(CC) $(LT_KFLAGS) $(LT_CFLAGS) -c $< -o $@

$(LT)/h_%.part.o: $(LT_SRC)/h_%.c
	@mkdir -p $(@D)
	$(HOSTCC) $(LT_HFLAGS) $(LT_CFLAGS) -c $< -o $@

$(LT)/k_multi.o: $(LT)/k_multi_a.part.o $(LT)/k_multi_b.part.o
	$(LD) -r -o $@ $^

$(LT)/%.o: $(LT)/%.part.o
	$(LD) -r -o $@ $<

# Keep intermediate objects between runs.
.SECONDARY: $(patsubst %.o,%.part.o,$(filter $(LT)/k_% $(LT)/h_%,$(LT_OBJS))) \
            $(LT)/k_multi_a.part.o $(LT)/k_multi_b.part.o \
            $(patsubst %.c,$(HOUT)/obj/%.o,$(LOADER_HOST_SRCS) tests/loader/testlib.c)

# Host unit tests (Criterion). They read the test objects at run time.
LOADER_TESTS := loader_elf loader_reloc loader_link loader_prelink
HOST_TESTS   += $(LOADER_TESTS)
$(foreach t,$(LOADER_TESTS),$(eval test_$(t)_SRCS := $(LOADER_HOST_SRCS) tests/loader/testlib.c))

$(LOADER_TESTS:%=$(HOUT)/tests/test_%): HCFLAGS += -DLOADER_TEST_DIR='"$(abspath $(LT))"'
$(LOADER_TESTS:%=$(HOUT)/tests/test_%): | $(LT_OBJS)

# cell-link: links one object at a fixed base with the loader's own code.
$(HOUT)/cell-link: build/tools/cell-link.c $(LOADER_HOST_SRCS)
	@mkdir -p $(@D)
	$(HOSTCC) $(HCFLAGS) $(filter %.c,$^) -o $@

host-tests: $(HOUT)/cell-link $(LT_OBJS)

# The ld.lld comparison runs as a script test in `make test`.
TEST_SCRIPTS += loader_lld_compare=loader-compare

loader-compare: $(HOUT)/cell-link $(LT_OBJS)
	python3 tests/loader/compare_lld.py --cell-link $(HOUT)/cell-link \
		--out $(LT)/compare $(filter-out $(LT)/k_tls.o $(LT)/k_common.o,$(LT_OBJS))

# libFuzzer over validation and linking; seeds are the test objects.
FUZZ_RUNS ?= -1
FUZZ_DIR  := $(HOUT)/fuzz

$(FUZZ_DIR)/fuzz_loader: tests/fuzz/fuzz_loader.c $(LOADER_HOST_SRCS)
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -g -O1 $(WARN) -Iinclude -I. -DDELOS_HOST \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(filter %.c,$^) -o $@

fuzz: $(FUZZ_DIR)/fuzz_loader $(LT_OBJS)
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds
	cp $(LT_OBJS) $(FUZZ_DIR)/seeds/
	$(FUZZ_DIR)/fuzz_loader -runs=$(FUZZ_RUNS) -artifact_prefix=$(FUZZ_DIR)/ \
		$(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds

# Link time against object size: generated cells of N functions, each
# calling two others and nano_core, linked by an optimized loader.
BENCH_SIZES := 10 100 1000 10000
BENCH_OBJS  := $(BENCH_SIZES:%=$(LT)/bench_%.o)

$(LT)/bench_%.c: tests/loader/gen_bench_cell.py
	@mkdir -p $(@D)
	python3 $< $* > $@

$(LT)/bench_%.o: $(LT)/bench_%.c
	$(CC) $(LT_KFLAGS) -ffunction-sections -c $< -o $@.part
	$(LD) -r -o $@ $@.part

$(HOUT)/loader-bench: tests/loader/bench.c $(LOADER_HOST_SRCS)
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -O2 $(WARN) -Iinclude -I. -DDELOS_HOST $(filter %.c,$^) -o $@

BENCH_CELLS := $(filter-out $(LT)/r_32.o $(LT)/k_spill.o $(LT)/k_common.o $(LT)/k_tls.o \
                            $(LT)/k_undef.o,$(LT_OBJS))

loader-bench: $(HOUT)/loader-bench $(BENCH_CELLS) $(BENCH_OBJS)
	$(HOUT)/loader-bench $(BENCH_CELLS) $(BENCH_OBJS)

# loader-bench times only loads that succeed: with the 3rd allocation of its
# timed loop made to fail, it must stop with status 1, naming the failed call.
loader-bench-check: $(HOUT)/loader-bench $(LT)/k_hello.o
	@$(HOUT)/loader-bench $(LT)/k_hello.o >/dev/null
	@out=$$($(HOUT)/loader-bench --fail-at 3 $(LT)/k_hello.o 2>&1); rc=$$?; \
	if [ $$rc -ne 1 ] || ! printf '%s\n' "$$out" | \
		grep -q 'k_hello.o: loader_load failed in timed round 1, iteration 1: error -8'; then \
		echo "loader-bench-check: loader-bench with a failing timed load exited $$rc, saying:"; \
		printf '%s\n' "$$out"; exit 1; fi; \
	echo "loader-bench-check: a failing timed load stops the run:"; \
	printf '%s\n' "$$out" | grep 'failed in timed'

TEST_SCRIPTS += loader_bench_stops_on_failed_load=loader-bench-check

.PHONY: loader-kernel loader-compare fuzz loader-bench loader-bench-check

# Live swap and cellrefs on the host, over the same test objects.
HOST_TESTS      += swap
test_swap_SRCS  := $(LOADER_HOST_SRCS) tests/loader/testlib.c metamodules/cellref.c \
                   tests/host/paging_host.c \
                   tests/host/irq_host.c
$(HOUT)/tests/test_swap: HCFLAGS += -DLOADER_TEST_DIR='"$(abspath $(LT))"'
$(HOUT)/tests/test_swap: | $(LT_OBJS)

# `make test` runs the fuzzer for a fixed, short number of executions.
TEST_SCRIPTS += loader_fuzz=fuzz-ci
fuzz-ci:
	$(MAKE) --no-print-directory fuzz FUZZ_RUNS=20000
.PHONY: fuzz-ci
