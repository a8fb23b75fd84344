# Delos: a kernel made of hot-swappable cells.
#
#   make            build build/out/delos.iso
#   make run        boot it in QEMU, serial console on this terminal (UEFI=1 for OVMF, KVM=1 for KVM)
#   make test       host unit tests and QEMU tests; ends with "N passed, N failed"
#   make debug      boot QEMU stopped, waiting for gdb (see build/gdbinit)
#   make clean
#
# `make run`, `make test` and `make debug` first install missing Debian packages
# (build/deps.sh, through apt-get).

OUT      := build/out
KOUT     := $(OUT)/kernel
HOUT     := $(OUT)/host

CC       := clang
LD       := ld.lld
HOSTCC   := clang

WARN     := -Wall -Wextra -Werror
KCFLAGS  := --target=x86_64-unknown-none-elf -std=gnu11 -ffreestanding -nostdlib \
            -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -fno-omit-frame-pointer \
            -mno-omit-leaf-frame-pointer -mno-mmx -mno-sse -mno-sse2 -mno-avx -msoft-float \
            -fno-stack-protector -fno-asynchronous-unwind-tables -O2 -g $(WARN) \
            -Iinclude -I. -MMD -MP
KASFLAGS := --target=x86_64-unknown-none-elf -Iinclude -I. -g -MMD -MP
TOOLFLAGS := -std=gnu11 -g -O2 $(WARN) -Iinclude -I. -DDELOS_HOST -MMD -MP
# Host unit tests also run under AddressSanitizer and UBSan.
HCFLAGS  := $(TOOLFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all

# Host unit tests (Criterion): tests/host/test_NAME.c is linked with test_NAME_SRCS.
# Script tests: TEST_SCRIPTS += NAME=TARGET runs `make TARGET` as test NAME.
HOST_TESTS    := mb2 acpi frame heap vrange random
test_mb2_SRCS   := nano_core/mb2.c
test_acpi_SRCS  := cells/acpi_tables/acpi.c nano_core/acpi_gsi.c
test_random_SRCS := nano_core/random_mix.c metamodules/siphash.c
test_frame_SRCS := nano_core/frame.c metamodules/frame_audit.c tests/host/irq_host.c
test_heap_SRCS  := nano_core/heap.c
test_vrange_SRCS := nano_core/vrange.c
ISO_EXTRA       := $(OUT)/manifest.ok

# `make` with no target builds the ISO, whichever rule the fragments define first.
.DEFAULT_GOAL := all

# Each part adds its own rules, tests and ISO contents here.
-include $(wildcard */*.mk)

# nano_core, the hardware primitives, the manifest table reader, cellrefs and
# the string functions.
# The loader is not among them: it is a cell (docs/loader-cell.md).
KSRCS    := $(wildcard nano_core/*.c nano_core/*.S hal/*.c) loader/manifest_table.c \
            metamodules/cellref.c metamodules/siphash.c metamodules/string.c
KOBJS    := $(patsubst %,$(KOUT)/%.o,$(KSRCS))

all: $(OUT)/delos.iso

# `make CELL_WINDOW_SIZE=BYTES` builds a smaller cell window (include/delos/kernel.h);
# nano_core is rebuilt whenever the value changes.
KCFLAGS += $(if $(CELL_WINDOW_SIZE),-DCELL_WINDOW_SIZE=$(CELL_WINDOW_SIZE))
$(KOBJS): $(KOUT)/cell_window.txt
$(KOUT)/cell_window.txt: FORCE
	@mkdir -p $(@D)
	@echo '$(CELL_WINDOW_SIZE)' | cmp -s - $@ || echo '$(CELL_WINDOW_SIZE)' > $@
FORCE:

$(KOUT)/%.c.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -c $< -o $@

$(KOUT)/%.S.o: %.S
	@mkdir -p $(@D)
	$(CC) $(KASFLAGS) -c $< -o $@

# nano_core is linked twice: the first image gives the addresses from which
# ksymgen writes the symbol table; the table sits in the last segment of the
# image, so adding it moves no other symbol.
$(KOUT)/pass1.elf: $(KOBJS) $(KOUT)/ksyms-empty.o nano_core/nano_core.ld
	$(LD) -T nano_core/nano_core.ld -nostdlib -z max-page-size=4096 -o $@ $(KOBJS) $(KOUT)/ksyms-empty.o

$(KOUT)/ksyms-empty.S: $(HOUT)/ksymgen
	@mkdir -p $(@D)
	$(HOUT)/ksymgen --empty -o $@

$(KOUT)/ksyms.S: $(KOUT)/pass1.elf $(HOUT)/ksymgen nano_core/exports.list
	$(HOUT)/ksymgen --exports nano_core/exports.list -o $@ $<

$(KOUT)/ksyms.o $(KOUT)/ksyms-empty.o: %.o: %.S
	$(CC) $(KASFLAGS) -c $< -o $@

$(KOUT)/nano_core.elf: $(KOBJS) $(KOUT)/ksyms.o nano_core/nano_core.ld
	$(LD) -T nano_core/nano_core.ld -nostdlib -z max-page-size=4096 -o $@ $(KOBJS) $(KOUT)/ksyms.o
	$(HOUT)/ksymgen --verify $(KOUT)/pass1.elf $@

# The test build: the same nano_core with the tests of tests/kernel/, which GRUB
# boots instead when the kernel arguments hold test=NAME. Not the permanent image.
TOBJS    := $(KOBJS) $(KOUT)/tests/kernel/selftest.c.o \
            $(patsubst %,$(KOUT)/%.o,$(MM_AUDIT_SRCS))
$(KOUT)/test/pass1.elf: $(TOBJS) $(KOUT)/ksyms-empty.o nano_core/nano_core.ld
	@mkdir -p $(@D)
	$(LD) -T nano_core/nano_core.ld -nostdlib -z max-page-size=4096 -o $@ $(TOBJS) $(KOUT)/ksyms-empty.o

$(KOUT)/test/ksyms.S: $(KOUT)/test/pass1.elf $(HOUT)/ksymgen nano_core/exports.list
	$(HOUT)/ksymgen --exports nano_core/exports.list -o $@ $<

$(KOUT)/test/ksyms.o: %.o: %.S
	$(CC) $(KASFLAGS) -c $< -o $@

$(KOUT)/nano_core-test.elf: $(TOBJS) $(KOUT)/test/ksyms.o nano_core/nano_core.ld
	$(LD) -T nano_core/nano_core.ld -nostdlib -z max-page-size=4096 -o $@ $(TOBJS) $(KOUT)/test/ksyms.o
	$(HOUT)/ksymgen --verify $(KOUT)/test/pass1.elf $@

$(OUT)/delos.iso: $(KOUT)/nano_core.elf $(KOUT)/nano_core-test.elf $(OUT)/iso/boot/grub/grub.cfg $(ISO_EXTRA)
	cp $(KOUT)/nano_core.elf $(OUT)/iso/boot/nano_core.elf
	cp $(KOUT)/nano_core-test.elf $(OUT)/iso/boot/nano_core-test.elf
	grub-mkrescue -o $@ $(OUT)/iso 2>$(OUT)/grub-mkrescue.log || { cat $(OUT)/grub-mkrescue.log; exit 1; }

# Host tools.
$(HOUT)/ksymgen: build/tools/ksymgen.c
	@mkdir -p $(@D)
	$(HOSTCC) $(TOOLFLAGS) $< -o $@ -lelf

HOST_TEST_BINS := $(patsubst %,$(HOUT)/tests/test_%,$(HOST_TESTS))

$(HOUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOSTCC) $(HCFLAGS) -c $< -o $@

.SECONDEXPANSION:
$(HOUT)/tests/test_%: tests/host/test_%.c $$(addprefix $(HOUT)/obj/,$$(addsuffix .o,$$(basename $$(test_$$*_SRCS))))
	@mkdir -p $(@D)
	$(HOSTCC) $(HCFLAGS) $(filter %.c %.o,$^) -o $@ -lcriterion $(test_$*_LIBS)

host-tests: $(HOST_TEST_BINS)

deps:
	@build/deps.sh

QEMU_ARGS = $(if $(UEFI),UEFI=1) $(if $(KVM),KVM=1) $(if $(ICOUNT),ICOUNT=1) $(if $(ARGS),ARGS="$(ARGS)")

# These first install missing Debian packages, then build, then act.
run:
	@build/deps.sh
	@$(MAKE) --no-print-directory all
	build/qemu.sh $(QEMU_ARGS) $(OUT)/delos.iso

debug:
	@build/deps.sh
	@$(MAKE) --no-print-directory all
	build/qemu.sh $(QEMU_ARGS) GDB=1 $(OUT)/delos.iso

test:
	@build/deps.sh
	@$(MAKE) --no-print-directory all host-tests
	python3 tests/run.py -k "$(T)" --host $(HOST_TEST_BINS) $(addprefix --script ,$(TEST_SCRIPTS))

# The benchmark suite (tests/bench.mk): in deterministic guest time (QEMU -icount
# shift=0), or on KVM with KVM=1; the loader against dlopen on the host.
bench:
	@build/deps.sh
	@$(MAKE) --no-print-directory all bench-host
	python3 tests/bench/bench.py $(if $(KVM),--kvm)

compile_commands.json:
	bear -- $(MAKE) -B all host-tests

# Lines of the permanent image: every source linked into nano_core.elf, with
# the headers of nano_core, hal and the loader (issue targets: nano_core/
# <= 3,000, the image <= 6,000).
linecount:
	@echo "nano_core/:      $$(cat nano_core/* | wc -l) lines"
	@echo "permanent image: $$(cat $(sort $(KSRCS) $(wildcard nano_core/*.h hal/*.h)) | wc -l) lines"

clean:
	rm -rf $(OUT)

.PHONY: all run debug test bench deps clean linecount host-tests compile_commands.json FORCE

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
