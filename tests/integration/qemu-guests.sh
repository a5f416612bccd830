#!/usr/bin/env bash
# QEMU as the oracle for the test guests: every row of tests/guests/guests.tsv
# (name, append, process exit status, expected serial output) under qemu-system-x86_64 -accel tcg
# must print exactly the expected text and exit with the expected status; the rows of
# tests/guests/guests-smp.tsv with -smp 3.
# Skips (exit 77) when QEMU is not installed or the guests are not built.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
guest_ext=mb
. "$here/guest-table.sh"

why=$(qemu_usable) || skip_all "$why"

qemu_cmd=(qemu-system-x86_64 -accel tcg -M pc -m 64 -nodefaults -no-user-config -display none
	  -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# qboot starts in a few milliseconds where SeaBIOS takes tens (and seconds under KVM).
qboot=/usr/share/qemu/qboot.rom
[ -r "$qboot" ] && qemu_cmd+=(-bios "$qboot")

smp=1
run_guest() {
	local append=$2
	[ "$append" = - ] && append=
	timeout -k 5 60 "${qemu_cmd[@]}" -smp "$smp" -kernel "$gdir/$1.mb" -append "$append" >"$3" 2>"$4"
}

run_table "qemu tcg"
smp=3
run_table "qemu tcg (-smp $smp)" "$smp_tsv"
smp=1

check_the_checker "qemu tcg"
finish_table qemu-guests
