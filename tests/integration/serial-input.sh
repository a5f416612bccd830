#!/usr/bin/env bash
# COM1 receive path end to end: the echo guest reads bytes from the UART (polling LSR, or woken
# by IRQ 4 through the PIC) and prints them upper-cased. Each backend available here gets the
# input two ways: already waiting in a pipe, and written only after the guest has printed its
# prompt (a handshake: the guest is then asleep in hlt or polling when the bytes arrive).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
vmscope=$B/vmscope
qboot=/usr/share/qemu/qboot.rom
input='hello, world'
want='echo: HELLO, WORLD'

[ -r "$gdir/echo.elf" ] || skip_all "$gdir/echo.elf not built (make guests)"

# backend name -> command prefix (the guest and its arguments are appended).
declare -A backends=()
if qemu_usable >/dev/null; then
	q=(qemu-system-x86_64 -accel tcg -M pc -m 64 -nodefaults -no-user-config -display none -serial stdio
	   -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
	[ -r "$qboot" ] && q+=(-bios "$qboot")
	backends[qemu-tcg]="${q[*]} -kernel $gdir/echo.mb -append"
else
	tap_skip "qemu tcg" "$(qemu_usable)"
fi
if [ ! -x "$vmscope" ]; then
	tap_skip "vmscope" "$vmscope not built"
else
	if why=$(kvm_usable); then
		backends[vmscope-kvm]="$vmscope --accel kvm --kernel $gdir/echo.elf --append"
		# vmscope's own PIC (IRQ 4 injected with KVM_INTERRUPT) instead of KVM's
		"$vmscope" --help 2>&1 | grep -q -- --kernel-irqchip && \
			backends[vmscope-kvm-own-pic]="$vmscope --accel kvm --kernel-irqchip off --kernel $gdir/echo.elf --append"
	else
		tap_skip "vmscope kvm" "$why"
	fi
	if "$vmscope" --help 2>&1 | grep -q interp; then
		backends[vmscope-interp]="$vmscope --accel interp --kernel $gdir/echo.elf --append"
	else
		tap_skip "vmscope interp" "vmscope --help does not offer --accel interp yet"
	fi
fi

check_piped() {
	local prefix=$1 args=$2 out st
	out=$(printf '%s' "$input" | timeout -k 5 60 $prefix "$args" 2>&1)
	st=$?
	[ "$st" = 1 ] && [ "$out" = "$want" ] || { echo "status $st, output: $out"; return 1; }
}

check_handshake() {
	local prefix=$1 args=$2 prompt rest st
	coproc GUEST { timeout -k 5 60 $prefix "$args" 2>&1; }
	local pid=$GUEST_PID
	if ! read -r -N 6 -t 60 prompt <&"${GUEST[0]}" || [ "$prompt" != "echo: " ]; then
		kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		echo "no prompt (got '$prompt')"; return 1
	fi
	printf '%s' "$input" >&"${GUEST[1]}"
	read -r -t 60 rest <&"${GUEST[0]}"
	wait "$pid"
	st=$?
	[ "$st" = 1 ] && [ "$prompt$rest" = "$want" ] || { echo "status $st, output: $prompt$rest"; return 1; }
}

for b in $(printf '%s\n' "${!backends[@]}" | sort); do
	for irq in 0 1; do
		for how in piped handshake; do
			label="$b: echo irq=$irq, input $how"
			if msg=$(check_$how "${backends[$b]}" "n=${#input} irq=$irq"); then
				tap_ok "$label"
			else
				tap_fail "$label" "$msg"
			fi
		done
	done
	out=$(timeout -k 5 60 ${backends[$b]} "n=0" </dev/null 2>&1); st=$?
	if [ "$st" = 5 ] && [ "$out" = "echo: want n=1..4096 irq=0|1" ]; then
		tap_ok "$b: echo n=0 is refused with status 5"
	else
		tap_fail "$b: echo n=0 is refused with status 5" "status $st, output: $out"
	fi
done
tap_done
