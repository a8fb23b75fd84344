#!/usr/bin/env bash
# A newcomer's first build: copy the files a clone would hold (those git
# tracks, and new ones it does not ignore) into an empty folder, type `make`
# there with no target and no inherited make flags, and check that it built
# the ISO, as the README promises.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
	tar --null -T - -cf - | tar -xf - -C "$dir"

if ! (cd "$dir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make >make.log 2>&1); then
	tail -n 30 "$dir/make.log"
	echo "fresh-build-check: plain \`make\` failed in a fresh copy (log above)"
	exit 1
fi
if [ ! -s "$dir/build/out/delos.iso" ]; then
	goal=$(cd "$dir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -pq 2>/dev/null |
		sed -n 's/^\.DEFAULT_GOAL := //p')
	echo "fresh-build-check: plain \`make\` did not build build/out/delos.iso;" \
		"its default goal is '$goal', and it ran:"
	cat "$dir/make.log"
	exit 1
fi
echo "fresh-build-check: plain \`make\` in a fresh copy built build/out/delos.iso" \
	"($(stat -c %s "$dir/build/out/delos.iso") bytes)"
