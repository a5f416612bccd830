#!/usr/bin/env bash
# --clock icount: time from the instruction count. The clock guest (tests/guests/clock.c) prints
# the CMOS date, TSC, PIT and local APIC counts and timer-interrupt counts; under
# --clock icount two runs print the same bytes, the RTC starts at 2000-01-01 00:00:00 and hlt
# skips to the next timer deadline. Also the refusals: KVM, --smp 2, a bad SHIFT.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
vmscope=$B/vmscope
guest=$B/tests/guests/clock.elf
[ -x "$vmscope" ] || skip_all "$vmscope not built"
[ -r "$guest" ] || skip_all "$guest not built"
"$vmscope" --help | grep -q -- '--clock' || skip_all "vmscope has no --clock"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME ARGS...: the clock guest's serial output in $tmp/NAME, stderr in $tmp/NAME.err.
run() {
	local name=$1
	shift
	timeout -k 5 120 "$vmscope" --kernel "$guest" "$@" >"$tmp/$name" 2>"$tmp/$name.err" </dev/null
}

run a --accel interp --clock icount:1
st_a=$?
run b --accel interp --clock icount:1
st_b=$?
if [ "$st_a" = 1 ] && [ "$st_b" = 1 ]; then tap_ok "icount:1: the guest ends with status 0 twice"
else tap_fail "icount:1: the guest ends with status 0 twice" "exit statuses $st_a, $st_b: $(head -c 300 "$tmp/a.err")"; fi
if [ "$(wc -l <"$tmp/a")" = 8 ] && cmp -s "$tmp/a" "$tmp/b"; then tap_ok "icount:1: two runs print the same 8 lines"
else tap_fail "icount:1: two runs print the same 8 lines" "$(diff "$tmp/a" "$tmp/b" | head -n 6 | tr '\n' '|')"; fi
if grep -qx 'clock: rtc 2000-01-01 00:00:00 (register b 0x02)' "$tmp/a"; then tap_ok "icount: the RTC starts at 2000-01-01 00:00:00"
else tap_fail "icount: the RTC starts at 2000-01-01 00:00:00" "$(grep rtc "$tmp/a")"; fi
# Three hlts wake on three consecutive 1 kHz ticks, about 1 ms of virtual time apart.
if awk '/^clock: hlt [0-2] woke at tick [1-3], tsc \+/ { n++; t = substr($NF, 2) + 0; if (t < prev + 900000 || t > prev + 1100000) bad = 1; prev = t }
	END { exit !(n == 3 && !bad) }' prev=0 "$tmp/a"; then tap_ok "icount: hlt skips to the next timer tick (1 ms of TSC each)"
else tap_fail "icount: hlt skips to the next timer tick (1 ms of TSC each)" "$(grep hlt "$tmp/a" | tr '\n' '|')"; fi

# A larger shift makes each instruction longer: the same loop takes more TSC ticks.
run s3 --accel interp --clock icount:3
tsc() { sed -n 's/^clock: tsc across a loop: //p' "$1"; }
if [ -n "$(tsc "$tmp/a")" ] && [ -n "$(tsc "$tmp/s3")" ] && [ "$(tsc "$tmp/s3")" = $(($(tsc "$tmp/a") * 4)) ]; then
	tap_ok "icount:3 counts 4 times the TSC of icount:1 across the same loop"
else
	tap_fail "icount:3 counts 4 times the TSC of icount:1 across the same loop" "icount:1 $(tsc "$tmp/a"), icount:3 $(tsc "$tmp/s3")"
fi

# The host clock (default) still runs the guest to its end.
run host --accel interp
if [ $? = 1 ] && [ "$(wc -l <"$tmp/host")" = 8 ]; then tap_ok "--clock host: the guest runs to its end"
else tap_fail "--clock host: the guest runs to its end" "$(head -c 300 "$tmp/host.err")"; fi

# refuse NAME WANT-REGEX ARGS...: vmscope exits non-zero with a one-line reason on stderr.
refuse() {
	local name=$1 want=$2 st
	shift 2
	run refuse "$@"
	st=$?
	if [ "$st" != 0 ] && [ "$st" != 1 ] && grep -Eq -- "$want" "$tmp/refuse.err"; then tap_ok "$name"
	else tap_fail "$name" "exit $st: $(head -c 300 "$tmp/refuse.err")"; fi
}
refuse "--clock icount --accel kvm is refused" 'needs the interpreter' --accel kvm --clock icount
refuse "--clock icount --smp 2 is refused" 'one vCPU' --accel interp --smp 2 --clock icount
refuse "--clock icount:11 is refused" "--clock 'icount:11': expected host, icount or icount:SHIFT" --clock icount:11
refuse "--clock sometimes is refused" "--clock 'sometimes'" --clock sometimes
tap_done
