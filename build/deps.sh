#!/bin/sh
# Installs the Debian packages Delos needs to build, run and test, if any is missing.
set -e
PKGS="clang lld llvm make python3 qemu-system-x86 grub-common grub-pc-bin grub-efi-amd64-bin console-setup-linux tesseract-ocr
xorriso mtools ovmf qemu-utils libelf-dev libcriterion-dev libclang-rt-14-dev gnuplot-nox parallel gdb bear"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
