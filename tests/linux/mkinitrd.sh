#!/bin/sh
# mkinitrd.sh OUT.cpio.gz — a busybox-static initramfs (cpio newc, gzip) whose /init
# (tests/linux/init) prints uname -a and a few lines of /proc, then powers off.
set -eu
out=$1
here=$(dirname "$0")
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "mkinitrd: $busybox not found: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	{ echo "mkinitrd: $busybox is not statically linked: apt-get install busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# No /dev/console node (that needs mknod as root): the kernel's built-in initramfs has one and
# ours is unpacked on top of it.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.cpio.tmp"
gzip -9n < "$out.cpio.tmp" > "$out.tmp"
rm -f "$out.cpio.tmp"
mv "$out.tmp" "$out"
