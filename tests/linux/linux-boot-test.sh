#!/usr/bin/env bash
# linux-boot-test.sh — make check (and make linux-check): Debian's kernel boots to the busybox
# init under vmscope --accel interp, the shell on the serial console answers a command typed on
# vmscope's standard input (the 8250's receive interrupt), and init reboots cleanly (exit 0).
# The kernel is unpacked by the loader (--linux-decompress auto, the default, for Debian's xz
# kernel; LINUX_DECOMPRESS=guest runs the kernel's own decompressor, 20 s more). Needs the network once (the kernel package is cached in
# $B/linux/); skips with the reason when it cannot be fetched. Then two boots with --clock
# icount:1 must print the same bytes. About 30 s of CPU.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$root/tests/tap.sh"
. "$here/boot-lib.sh"
[ -x "$B/vmscope" ] || skip_all "$B/vmscope not built"
linux_have_interp || skip_all "vmscope has no --accel interp: cannot boot Linux on this host's KVM in bounded time"
if [ ! -s "$LINUX_KERNEL" ]; then
	why=$("$here/fetch-kernel.sh" "$LINUX_DIR" 2>&1 >/dev/null) || skip_all "cannot fetch Debian's kernel: $(echo "$why" | tail -n 1)"
fi
if [ ! -s "$LINUX_INITRD" ] || [ "$here/init" -nt "$LINUX_INITRD" ]; then
	why=$("$here/mkinitrd.sh" "$LINUX_INITRD" 2>&1) || skip_all "cannot build the initramfs: $why"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
linux_vmscope_argv interp "vmscope_shell=1"
LINUX_TYPE=$'echo typed-$((6 * 7))\ngrep -E "LOC|ttyS0" /proc/interrupts\nexit\n' linux_converse "${LINUX_CHECK_TIMEOUT:-600}" "$log" "${vmscope_argv[@]}"
status=$?
tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
echo "# $(linux_stage "$log")"
grep -E '^vmscope: ' "$log" | sed 's/^/# stderr: /' | head -n 10
check() { if grep -Eq -- "$2" "$log"; then tap_ok "$1"; else tap_fail "$1" "${3:-no line matching /$2/}"; fi; }
check "the kernel proper starts (Linux version banner)" '^\[ *[0-9.]+\] Linux version ' "$(linux_stage "$log")"
check "the TSC frequency comes from CPUID (no calibration)" 'tsc: Detected 1000\.000 MHz processor'
check "init started" "^$LINUX_FIRST_LINE" "$(linux_stage "$log")"
check "uname -a" '^Linux \(none\) .* x86_64'
check "/proc/cpuinfo names the interpreter" '^model name[[:space:]]*: vmscope x86 interpreter'
check "/proc/meminfo" '^MemTotal:'
check "the shell answers a command typed on the serial console" '^typed-42$'
check "Linux ticks on the local APIC timer (the MP table)" '^ *LOC: +[1-9][0-9]* +Local timer interrupts'
check "the serial port's interrupt comes through the I/O APIC" '^ *4: +[1-9][0-9]* +IO-APIC +4-edge +ttyS0'
if grep -q "$LINUX_LAST_LINE" "$log" && [ "$status" = 0 ]; then
	tap_ok "clean reboot, exit status 0"
else
	tap_fail "clean reboot, exit status 0" "exit status $status; last line: $(tail -n 1 "$log")"
fi

# --clock icount: two boots to the reboot print the same bytes, printk timestamps included.
icount_boot() {
	linux_vmscope_argv interp
	timeout -k 5 "${LINUX_CHECK_TIMEOUT:-600}" "${vmscope_argv[@]}" --clock icount:1 >"$1" 2>&1 </dev/null
}
icount_boot "$log.1"
st1=$?
icount_boot "$log.2"
st2=$?
if [ "$st1" = 0 ] && [ "$st2" = 0 ] && grep -q "$LINUX_LAST_LINE" "$log.1" && cmp -s "$log.1" "$log.2"; then
	tap_ok "--clock icount:1: two boots print the same $(wc -l <"$log.1") lines, timestamps included"
else
	tap_fail "--clock icount:1: two boots print the same lines" \
		"exit $st1/$st2: $(diff "$log.1" "$log.2" | head -n 4 | tr '\n' '|')"
fi
rm -f "$log.1" "$log.2"
tap_done
