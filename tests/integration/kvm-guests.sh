#!/usr/bin/env bash
# Every row of tests/guests/guests.tsv (name, append, exit status, expected serial output) under
# `vmscope --accel kvm`: the serial output and the exit status must match exactly.
# Skips (exit 77) with the reason when /dev/kvm is unusable or the guests are not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
tsv=$root/tests/guests/guests.tsv
vmscope=$B/vmscope

why=$(kvm_usable) || skip_all "$why"
[ -x "$vmscope" ] || skip_all "$vmscope not built"
[ -r "$tsv" ] || skip_all "$tsv missing"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# Runs one guest; prints nothing and returns 0 when output and status match, else says why.
# $irqchip: on (KVM's PIC/PIT when offered) or off (vmscope's own, injected by KVM_INTERRUPT).
irqchip=on smp=1
check_row() {
	local name=$1 append=$2 want_status=$3 expected=$4 out=$tmp/out status
	local args=(--accel kvm --kernel-irqchip "$irqchip" --smp "$smp" --kernel "$gdir/$name.elf")
	[ "$append" != - ] && args+=(--append "$append")
	[ -r "$gdir/$name.elf" ] || { echo "$gdir/$name.elf not built (make guests)"; return 1; }
	timeout -k 5 60 "$vmscope" "${args[@]}" >"$out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" != "$want_status" ]; then
		echo "exit status $status, want $want_status; stderr: $(head -c 600 "$tmp/err")"
		return 1
	fi
	if ! cmp -s "$out" "$root/tests/guests/$expected"; then
		echo "serial output differs from tests/guests/$expected:"
		diff -u "$root/tests/guests/$expected" "$out" | head -n 20
		return 1
	fi
}

# Guests that need a device model vmscope may not have yet (emu/dev grows): skip, saying so.
missing_device() {
	case $1 in
	demo) nm "$B/libemu.a" 2>/dev/null | grep -q ' T emu_rtc_create$' || echo "the CMOS RTC model (emu_rtc_create) is not built yet" ;;
	esac
}

for irqchip in on off; do
	while IFS=$'\t' read -r name append status expected; do
		case $name in ''|'#'*) continue ;; esac
		label="kvm (kernel irqchip $irqchip): $name $append"
		dev=$(missing_device "$name")
		if [ -n "$dev" ]; then tap_skip "$label" "$dev"; continue; fi
		if msg=$(check_row "$name" "$append" "$status" "$expected"); then
			tap_ok "$label"; passed=$((passed + 1))
		else
			tap_fail "$label" "$(echo "$msg" | sed '2,$s/^/# /')"; failed=$((failed + 1))
		fi
	done <"$tsv"
done

# With more vCPUs the boot CPU runs the guest; the others wait for a startup IPI (from KVM's
# LAPIC) or, with vmscope's own irqchip, sleep: the results must not change.
smp=3
for irqchip in on off; do
	for row in "hello	-	1	hello.expected" "demo	ticks=50	1	demo.expected"; do
		IFS=$'\t' read -r name append status expected <<<"$row"
		label="kvm (kernel irqchip $irqchip, --smp $smp): $name $append"
		dev=$(missing_device "$name")
		if [ -n "$dev" ]; then tap_skip "$label" "$dev"; continue; fi
		if msg=$(check_row "$name" "$append" "$status" "$expected"); then
			tap_ok "$label"; passed=$((passed + 1))
		else
			tap_fail "$label" "$(echo "$msg" | sed '2,$s/^/# /')"; failed=$((failed + 1))
		fi
	done
done
irqchip=on smp=1

# The checker itself must be able to fail: a wrong status and a wrong text are both caught.
if ! check_row hello - 3 hello.expected >/dev/null && ! check_row hello - 1 pio.expected >/dev/null; then
	tap_ok "kvm: a wrong status or wrong output is reported"; passed=$((passed + 1))
else
	tap_fail "kvm: a wrong status or wrong output is reported" "check_row accepted a mismatch"
	failed=$((failed + 1))
fi

echo "# kvm-guests: $passed passed, $failed failed"
tap_done
