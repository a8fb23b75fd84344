#!/bin/sh
# Fails, naming the object and section or symbol, if any given object holds
# writable static data: an allocated writable section of non-zero size
# (.data, .bss, .tdata, .tbss, ...) or a COMMON symbol.
#
#   state_db/spill_check.sh OBJ...
READELF=$(command -v llvm-readelf || command -v readelf) || { echo "spill-check: no readelf" >&2; exit 2; }
NM=$(command -v llvm-nm || command -v nm) || { echo "spill-check: no nm" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 OBJ..." >&2; exit 2; }
status=0
for obj in "$@"; do
	# Section lines lose their "[ N]" prefix; then $1 is the name, $5 the size, $7 the flags.
	bad=$("$READELF" -S -W "$obj" | sed -n 's/^ *\[ *[0-9]*\] //p' |
		awk '$7 ~ /W/ && $7 ~ /A/ && $5 !~ /^0+$/ { printf "%s (0x%s bytes) ", $1, $5 }')
	common=$("$NM" "$obj" | awk '$(NF-1) == "C" || $(NF-1) == "c" { printf "%s ", $NF }')
	if [ -n "$bad" ]; then
		echo "spill-check: $obj: writable section $bad" >&2
		status=1
	fi
	if [ -n "$common" ]; then
		echo "spill-check: $obj: COMMON symbol $common" >&2
		status=1
	fi
done
exit $status
