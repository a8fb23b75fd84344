#!/bin/sh
# Boots a Delos ISO in QEMU with the serial console on this terminal.
#   build/qemu.sh [UEFI=1] [KVM=1] [GDB=1] [ICOUNT=1] [ARGS="test=wx"] ISO [-- QEMU ARGS...]
# Leave QEMU with Ctrl-A X, or type `exit N` at the Delos prompt: this script
# then exits with N (QEMU's isa-debug-exit reports 2(N+1)+1, turned back here).
set -u
UEFI=""; KVM=""; GDB=""; ICOUNT=""; ARGS=""; ISO=""
while [ $# -gt 0 ]; do
	case "$1" in
	UEFI=*) UEFI="${1#UEFI=}" ;;
	KVM=*) KVM="${1#KVM=}" ;;
	GDB=*) GDB="${1#GDB=}" ;;
	ICOUNT=*) ICOUNT="${1#ICOUNT=}" ;;
	ARGS=*) ARGS="${1#ARGS=}" ;;
	--) shift; break ;;
	*) ISO="$1" ;;
	esac
	shift
done
[ -n "$ISO" ] || { echo "usage: $0 [UEFI=1] [KVM=1] [GDB=1] [ICOUNT=1] [ARGS=...] ISO" >&2; exit 2; }

set -- -m 256M -no-reboot -display none -serial mon:stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-drive file="$ISO",format=raw,if=none,id=cd,media=cdrom,readonly=on \
	-device ide-cd,drive=cd,bus=ide.1,bootindex=1 "$@"
[ -n "$UEFI" ] && set -- -bios /usr/share/ovmf/OVMF.fd "$@"
[ -n "$KVM" ] && set -- -enable-kvm -cpu host "$@"
[ -n "$ICOUNT" ] && set -- -icount shift=0 "$@"
[ -n "$GDB" ] && { set -- -s -S "$@"; echo "qemu: waiting for gdb on :1234 (gdb -x build/gdbinit)"; }
if [ -n "$ARGS" ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	# The arguments chosen here boot the default menu entry at once.
	printf 'set delos_args="%s"\nset timeout=0\n' "$ARGS" > "$dir/delos-args.cfg"
	mformat -C -i "$dir/args.img" -f 1440 :: && mcopy -i "$dir/args.img" "$dir/delos-args.cfg" ::/
	set -- -drive file="$dir/args.img",format=raw,if=none,id=args \
		-device ide-hd,drive=args,bus=ide.0 "$@"
fi
qemu-system-x86_64 "$@"
rc=$?
# isa-debug-exit: the guest writes N+1, QEMU exits with 2(N+1)+1; 1 is QEMU's own failure.
if [ $rc -ge 3 ] && [ $((rc % 2)) -eq 1 ]; then
	exit $(((rc - 3) / 2))
fi
exit $rc
