# state_db/: the record store. Included by the top Makefile.
#
#   make state_db-kernel       compile state_db with the kernel flags into one
#                              relocatable object, build/out/kernel/state_db.o
#   make state_db-spill-check  fail if that code keeps writable static data
#                              (readelf/nm on each object, then celltool check)

STATEDB_SRCS  := state_db/crc32c.c state_db/error.c state_db/index.c state_db/read.c \
                 state_db/record.c state_db/store.c state_db/txn.c \
                 state_db/handle.c
STATEDB_KOBJS := $(patsubst %,$(KOUT)/%.o,$(STATEDB_SRCS))

$(KOUT)/state_db.o: $(STATEDB_KOBJS)
	$(LD) -r -o $@ $^

state_db-kernel: $(KOUT)/state_db.o

# The checker must itself refuse an object with .data, .bss, TLS and COMMON
# data, or a pass would prove nothing.
STATEDB_SPILL_SAMPLE := $(KOUT)/state_db-spill-sample.o

$(STATEDB_SPILL_SAMPLE): state_db/state_db.mk
	@mkdir -p $(@D)
	printf 'int d = 1; static int b; _Thread_local int t; int c;\nint *f(void) { return &b; }\n' | \
		$(CC) $(filter-out -MMD -MP -Werror,$(KCFLAGS)) -fcommon -x c -c - -o $@

state_db-spill-check: $(STATEDB_KOBJS) $(KOUT)/state_db.o $(STATEDB_SPILL_SAMPLE) $(HOUT)/celltool
	@if state_db/spill_check.sh $(STATEDB_SPILL_SAMPLE) 2>/dev/null; then \
		echo "state_db-spill-check: the checker accepted a spilling object"; exit 1; fi
	state_db/spill_check.sh $(STATEDB_KOBJS) $(KOUT)/state_db.o
	$(HOUT)/celltool check --exports nano_core/exports.list --grants core $(KOUT)/state_db.o
	@echo "state_db-spill-check: no writable static data in $(words $(STATEDB_KOBJS)) objects"

HOST_TESTS         += state_db
test_state_db_SRCS := $(STATEDB_SRCS)
TEST_SCRIPTS       += state_db_spill=state_db-spill-check

.PHONY: state_db-kernel state_db-spill-check

HOST_TESTS             += state_db_hot
test_state_db_hot_SRCS := $(STATEDB_SRCS)
