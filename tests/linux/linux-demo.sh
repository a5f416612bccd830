#!/usr/bin/env bash
# linux-demo.sh — make linux-demo: boot Debian's kernel and the busybox initramfs with vmscope.
# Uses --accel interp when vmscope has it; otherwise, or when it cannot boot Linux yet, it says
# plainly how far the boot got and exits non-zero: no fake success.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$here/boot-lib.sh"
limit=${LINUX_DEMO_TIMEOUT:-600}
export LINUX_TYPE=${LINUX_TYPE:-$'echo "hello from the busybox shell: 6 * 7 = $((6 * 7))"\ncat /proc/interrupts\nexit\n'}
log=$(mktemp) err=$(mktemp)
trap 'rm -f "$log" "$err"' EXIT

if linux_have_interp; then
	accel=interp
else
	accel=kvm
	limit=${LINUX_DEMO_TIMEOUT:-60}
	echo "linux-demo: this vmscope has no --accel interp yet (issue 3); trying KVM for ${limit} s instead."
	echo "linux-demo: on hosts where KVM emulates guest kernel code (~1M instructions/s, see DESIGN.md)"
	echo "linux-demo: Linux does not get past its decompressor in that time."
fi
linux_vmscope_argv "$accel" "vmscope_shell=1"
cmd=("${vmscope_argv[@]}")
echo "linux-demo: ${cmd[*]}"
echo "linux-demo: vmscope unpacks the xz kernel itself (--linux-decompress auto, the default; LINUX_DECOMPRESS=guest runs the kernel's own decompressor)"
echo "linux-demo: at the shell prompt this script types: $(printf '%s' "$LINUX_TYPE" | tr '\n' ';')"
t0=$(date +%s%N)
LINUX_SHOW=1 linux_converse "$limit" "$log" "${cmd[@]}" 2>&1
status=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
tr -d '\r' <"$log" >"$err" && cp "$err" "$log"
case $status in
124) echo "linux-demo: stopped after ${limit} s (timeout)" ;;
esac
echo "linux-demo: --accel $accel, ${ms} ms, vmscope exit status $status: $(linux_stage "$log")"
if [ "$status" = 0 ] && grep -q "$LINUX_LAST_LINE" "$log" && grep -q '^hello from the busybox shell: 6 \* 7 = 42' "$log"; then
	echo "linux-demo: success: Debian's kernel ran the busybox init, its shell answered on the serial console, and it rebooted (vmscope exit 0)"
	exit 0
fi
echo "linux-demo: FAILED: Linux did not reach the end of its init under vmscope --accel $accel"
exit 1
