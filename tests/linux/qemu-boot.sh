#!/usr/bin/env bash
# qemu-boot.sh — boot Debian's kernel and the demo initramfs under QEMU TCG (the oracle for
# make linux-demo, and the reference of bench/linux-boot.sh). Prints the serial console and the
# time from start to init's first line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$here/boot-lib.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-boot: qemu-system-x86_64 not installed"; exit 1; }
for f in "$LINUX_KERNEL" "$LINUX_INITRD"; do
	[ -r "$f" ] || { echo "qemu-boot: $f missing: make linux-fetch linux-initrd"; exit 1; }
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
linux_qemu_argv
echo "qemu-boot: ${qemu_argv[*]}"
t0=$(date +%s%N)
first=
while IFS= read -r line; do
	printf '%s\n' "$line" | tee -a "$log"
	if [ -z "$first" ] && [[ $line == *"$LINUX_FIRST_LINE"* ]]; then
		first=$(( ($(date +%s%N) - t0) / 1000000 ))
	fi
done < <(timeout 300 "${qemu_argv[@]}" 2>&1)
echo "qemu-boot: $(linux_stage "$log")"
[ -n "$first" ] && echo "qemu-boot: init's first line after ${first} ms"
grep -q "$LINUX_LAST_LINE" "$log"
