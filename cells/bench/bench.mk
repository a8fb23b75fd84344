# bench@1 seals and opens tokens with its own copy of the token metamodule;
# bench_peer@1 shares only cells/bench/callee.h (the xcall loop) with it.
CELL_LIB_bench@1 := $(CELL_LIB_TOKENS)

# The generated cells of the link benchmark (about 1, 10 and 100 KB objects),
# written at build time by tests/bench/gen/gen_cell.py.
BENCH_GEN_KB := 1 10 100
$(foreach k,$(BENCH_GEN_KB),$(eval CELL_SRCS_bench_gen$(k)@1 := $(OUT)/gen/bench_gen$(k).c))

$(OUT)/gen/bench_gen%.c: tests/bench/gen/gen_cell.py
	@mkdir -p $(@D)
	python3 $< bench_gen$* $* > $@
