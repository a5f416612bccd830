#!/usr/bin/env bash
# QEMU as the oracle for the test guests: every row of tests/guests/guests.tsv
# (name, append, process exit status, expected serial output) under qemu-system-x86_64 -accel tcg
# must print exactly the expected text and exit with the expected status.
# Skips (exit 77) when QEMU is not installed or the guests are not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
tsv=$root/tests/guests/guests.tsv

why=$(qemu_usable) || skip_all "$why"
[ -r "$tsv" ] || skip_all "$tsv missing"

qemu_cmd=(qemu-system-x86_64 -accel tcg -M pc -m 64 -nodefaults -no-user-config -display none
	  -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# qboot starts in a few milliseconds where SeaBIOS takes tens (and seconds under KVM).
qboot=/usr/share/qemu/qboot.rom
[ -r "$qboot" ] && qemu_cmd+=(-bios "$qboot")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# Runs one guest; prints nothing and returns 0 when output and status match, else says why.
check_row() {
	local name=$1 append=$2 want_status=$3 expected=$4 out=$tmp/out status
	[ "$append" = - ] && append=
	[ -r "$gdir/$name.mb" ] || { echo "$gdir/$name.mb not built (make guests)"; return 1; }
	timeout -k 5 60 "${qemu_cmd[@]}" -kernel "$gdir/$name.mb" -append "$append" >"$out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" != "$want_status" ]; then
		echo "exit status $status, want $want_status; stderr: $(head -c 300 "$tmp/err")"
		return 1
	fi
	if ! cmp -s "$out" "$root/tests/guests/$expected"; then
		echo "serial output differs from tests/guests/$expected:"
		diff -u "$root/tests/guests/$expected" "$out" | head -n 20
		return 1
	fi
}

while IFS=$'\t' read -r name append status expected; do
	case $name in ''|'#'*) continue ;; esac
	label="qemu tcg: $name $append"
	if msg=$(check_row "$name" "$append" "$status" "$expected"); then
		tap_ok "$label"; passed=$((passed + 1))
	else
		tap_fail "$label" "$(echo "$msg" | sed '2,$s/^/# /')"; failed=$((failed + 1))
	fi
done <"$tsv"

# The checker itself must be able to fail: a wrong status and a wrong text are both caught.
if ! check_row hello - 3 hello.expected >/dev/null && ! check_row hello - 1 pio.expected >/dev/null; then
	tap_ok "qemu tcg: a wrong status or wrong output is reported"; passed=$((passed + 1))
else
	tap_fail "qemu tcg: a wrong status or wrong output is reported" "check_row accepted a mismatch"
	failed=$((failed + 1))
fi

echo "# qemu-guests: $passed passed, $failed failed"
tap_done
