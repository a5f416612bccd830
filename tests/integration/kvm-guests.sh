#!/usr/bin/env bash
# Every row of tests/guests/guests.tsv (name, append, exit status, expected serial output) under
# `vmscope --accel kvm`: the serial output and the exit status must match exactly.
# Skips (exit 77) with the reason when /dev/kvm is unusable or the guests are not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
guest_ext=elf
. "$here/guest-table.sh"
vmscope=$B/vmscope

why=$(kvm_usable) || skip_all "$why"
[ -x "$vmscope" ] || skip_all "$vmscope not built"

# $irqchip: on (KVM's PIC/PIT when offered) or off (vmscope's own, injected by KVM_INTERRUPT).
irqchip=on smp=1
run_guest() {
	local args=(--accel kvm --kernel-irqchip "$irqchip" --smp "$smp" --kernel "$gdir/$1.elf")
	[ "$2" != - ] && args+=(--append "$2")
	timeout -k 5 60 "$vmscope" "${args[@]}" >"$3" 2>"$4"
}

# Guests that need a device model vmscope may not have yet (emu/dev grows): skip, saying so.
skip_reason() {
	case $1 in
	demo) nm "$B/libemu.a" 2>/dev/null | grep -q ' T emu_rtc_create$' || echo "the CMOS RTC model (emu_rtc_create) is not built yet" ;;
	gates) gates_probe ;;
	tasks) tasks_probe ;;
	esac
}

# Hardware task switches at CPL 0: this host's nested KVM stops with an emulation failure.
tasks_probe() {
	run_guest tasks - "$tmp/tasks.out" "$tmp/tasks.err" </dev/null
	if grep -q 'KVM_EXIT_INTERNAL_ERROR suberror 1 (emulation failure)' "$tmp/tasks.err"; then
		echo "this host's KVM cannot emulate a hardware task switch (KVM_EXIT_INTERNAL_ERROR, emulation failure)"
	fi
}

# This host's nested "PVM" KVM raises #UD for a far call through a call gate at CPL 3 (as it does
# for int n from CPL 3): seen, the rows skip with that reason; on any other host they must pass.
gates_probe() {
	run_guest gates - "$tmp/gates.out" "$tmp/gates.err" </dev/null
	if grep -q '^guest: unexpected exception 6 ' "$tmp/gates.out"; then
		echo "this host's KVM raises #UD for a far call through a call gate at CPL 3 (as for int n)"
	fi
}

for irqchip in on off; do
	run_table "kvm (kernel irqchip $irqchip)"
done

# With more vCPUs the boot CPU runs the guest; the others wait for a startup IPI (from KVM's
# LAPIC) or, with vmscope's own irqchip, sleep: the results must not change.
smp=3
for irqchip in on off; do
	run_table "kvm (kernel irqchip $irqchip, --smp $smp)" <(printf '%s\t%s\t%s\t%s\n' \
		hello - 1 hello.expected demo ticks=50 1 demo.expected)
done
# Guests that start the APs themselves (INIT and a startup IPI to KVM's LAPIC or to vmscope's).
for irqchip in on off; do
	run_table "kvm (kernel irqchip $irqchip, --smp $smp)" "$smp_tsv"
done
irqchip=on smp=1

check_the_checker kvm
finish_table kvm-guests
