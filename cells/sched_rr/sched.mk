# Host tests of the scheduling policies (cells/sched_rr, cells/sched_prio),
# each linked with the real state_db code behind a small sdb_* shim
# (tests/host/sched_shim.h). The cells themselves are built by cells/cells.mk.
HOST_TESTS            += sched_rr sched_prio
test_sched_rr_SRCS     = cells/sched_rr/sched_rr.c $(STATEDB_SRCS)
test_sched_prio_SRCS   = cells/sched_prio/sched_prio.c $(STATEDB_SRCS)
