# make bench (tests/bench/bench.py): the benchmark suite in QEMU, under
# -icount shift=0 by default (KVM=1: on KVM), and on the host, Delos's loader
# against glibc's dlopen on the same generated code; build/out/bench/report.md.
#
#   make bench [KVM=1]
#   make bench-report-check   report.md builds from a fixture CSV

# The same generated source (tests/loader/gen_bench_cell.py, N functions) built
# twice: as a cell is built (kernel flags, ld.lld -r, celltool prelink) for the
# loader, and as a shared object for dlopen (whose static link resolves its
# own references as the prelink does the cell's). Both without jump tables (-fno-jump-tables, as
# Linux builds its kernel for retpolines): every generated function has a
# dense switch, inlined into its callers, whose absolute jump tables gave the
# cell object 15 of its 26 relocations per function (in Delos's own cells,
# 1 of 8 placed relocations is in a jump table), where the shared object's
# relative tables need none.
DL       := $(HOUT)/dlopen
DL_FLAGS := -fno-jump-tables
DLOPEN_SIZES := 10 100 1000 4000
DLOPEN_OBJS  := $(DLOPEN_SIZES:%=$(DL)/gen_%.o)
DLOPEN_SOS   := $(DLOPEN_SIZES:%=$(DL)/gen_%.so)

$(DL)/gen_%.c: tests/loader/gen_bench_cell.py
	@mkdir -p $(@D)
	python3 $< $* > $@

$(DL)/gen_%.o: $(DL)/gen_%.c tests/bench.mk $(HOUT)/celltool
	$(CC) $(LT_KFLAGS) $(DL_FLAGS) -c $< -o $@.part
	$(LD) -r -o $@.rel $@.part
	$(HOUT)/celltool prelink --output $@ $@.rel

$(DL)/gen_%.so: $(DL)/gen_%.c tests/bench.mk
	$(HOSTCC) -O2 $(DL_FLAGS) -fPIC -shared $< -o $@

$(HOUT)/loader-vs-dlopen: tests/bench/loader_vs_dlopen.c $(LOADER_HOST_SRCS)
	@mkdir -p $(@D)
	$(HOSTCC) -std=gnu11 -O2 $(WARN) -Iinclude -I. -DDELOS_HOST -rdynamic $(filter %.c,$^) -o $@ -ldl

bench-host: $(HOUT)/loader-vs-dlopen $(DLOPEN_OBJS) $(DLOPEN_SOS)

# The report from a fixture: every row and anchor appears, the charts are drawn.
bench-report-check:
	@python3 tests/bench/report.py --check tests/bench/fixture $(OUT)/bench-report-check

TEST_SCRIPTS += bench_report_from_csv=bench-report-check
.PHONY: bench-host bench-report-check
