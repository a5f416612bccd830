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
linux_vmscope_argv "$accel"
cmd=("${vmscope_argv[@]}")
echo "linux-demo: ${cmd[*]}"
t0=$(date +%s%N)
LINUX_SHOW=1 linux_run "$limit" "$log" "$err" "${cmd[@]}" 2>&1
status=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -s "$err" ] && sed 's/^/linux-demo: vmscope stderr: /' "$err" | head -n 40
case $status in
124) echo "linux-demo: stopped after ${limit} s (timeout)" ;;
125) echo "linux-demo: stopped: the kernel printed a line after which it never gets further" ;;
esac
echo "linux-demo: --accel $accel, ${ms} ms, vmscope exit status $status: $(linux_stage "$log")"
if [ "$status" = 0 ] && grep -q "$LINUX_LAST_LINE" "$log"; then
	echo "linux-demo: success: Debian's kernel ran the busybox init and rebooted (vmscope exit 0)"
	exit 0
fi
echo "linux-demo: FAILED: Linux did not reach the end of its init under vmscope --accel $accel"
exit 1
