# Tests of the build itself (included by the top Makefile).
#
#   make fresh-build-check   copy the project's files into an empty folder, as a
#                            clone would hold them, run plain `make` there and
#                            check that it built build/out/delos.iso

fresh-build-check:
	tests/build/fresh_build.sh

TEST_SCRIPTS += fresh_build_makes_iso=fresh-build-check

.PHONY: fresh-build-check
