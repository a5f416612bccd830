#!/usr/bin/env bash
# linux-boot-test.sh — make linux-check: Debian's kernel boots to the busybox init and reboots
# cleanly under vmscope --accel interp. Needs the network once (the kernel package is cached in
# $B/linux/) and the interpreter; skips with the reason when either is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$root/tests/tap.sh"
. "$here/boot-lib.sh"
[ -x "$B/vmscope" ] || skip_all "$B/vmscope not built"
if [ ! -s "$LINUX_KERNEL" ]; then
	why=$("$here/fetch-kernel.sh" "$LINUX_DIR" 2>&1 >/dev/null) || skip_all "cannot fetch Debian's kernel: $(echo "$why" | tail -n 1)"
fi
[ -s "$LINUX_INITRD" ] || skip_all "$LINUX_INITRD missing (make linux-initrd)"
linux_have_interp || skip_all "vmscope has no --accel interp yet (issue 3): cannot boot Linux on this host's KVM in bounded time"
log=$(mktemp) err=$(mktemp)
trap 'rm -f "$log" "$err"' EXIT
linux_vmscope_argv interp
linux_run "${LINUX_CHECK_TIMEOUT:-900}" "$log" "$err" "${vmscope_argv[@]}"
status=$?
echo "# $(linux_stage "$log")"
sed 's/^/# stderr: /' "$err" | head -n 20
if grep -q "$LINUX_FIRST_LINE" "$log"; then tap_ok "init started"; else tap_fail "init started" "$(linux_stage "$log")"; fi
if grep -q "^Linux (none) .* x86_64" "$log"; then tap_ok "uname -a"; else tap_fail "uname -a" "no uname line"; fi
if grep -q "^MemTotal:" "$log"; then tap_ok "/proc/meminfo"; else tap_fail "/proc/meminfo" "no MemTotal line"; fi
if grep -q "$LINUX_LAST_LINE" "$log" && [ "$status" = 0 ]; then
	tap_ok "clean reboot, exit status 0"
else
	tap_fail "clean reboot, exit status 0" "exit status $status"
fi
tap_done
