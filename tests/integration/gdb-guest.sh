#!/usr/bin/env bash
# Real gdb (gdb -batch -nx) against `vmscope --accel ACCEL` running the demo guest, with the
# demo's symbols: break on a function, continue, bt, info registers, print globals, x, stepi N,
# hbreak, watch/rwatch, Ctrl-C (SIGINT to gdb while the guest runs), detach and reattach,
# monitor info mem, kill, x87/SSE registers. Usage: gdb-guest.sh kvm|interp (gdb-kvm.sh and
# gdb-interp.sh).
# Skips (exit 77) with the reason when the backend, gdb or the guest is not available here.
set -u
accel=${1:?usage: gdb-guest.sh kvm|interp}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
vmscope=$B/vmscope
elf=$B/tests/guests/demo.elf

why=$(gdb_usable) || skip_all "$why"
[ -x "$vmscope" ] || skip_all "$vmscope not built"
[ -r "$elf" ] || skip_all "$elf not built (make guests)"
if [ "$accel" = kvm ]; then why=$(kvm_usable) || skip_all "$why"; fi

tmp=$(mktemp -d)
vm_pid=
cleanup() { [ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
[ -n "${GDB_TEST_KEEP:-}" ] && trap "echo kept $tmp" EXIT

# The backend must run the demo guest at all (the interpreter lands after the stub).
probe=$(timeout -k 5 20 "$vmscope" --accel "$accel" --kernel "$elf" --append "ticks=2" --serial none 2>&1 </dev/null)
st=$?
[ "$st" = 1 ] || skip_all "vmscope --accel $accel cannot run the demo guest here (exit $st): $(echo "$probe" | grep -m1 . )"

sock=$tmp/gdb.sock
# Starts vmscope in the background with the gdb stub on $sock; waits for the socket.
start_vm() {
	rm -f "$sock"
	"$vmscope" --accel "$accel" --kernel "$elf" --serial "file:$tmp/serial" --gdb "unix:$sock" "$@" \
		>"$tmp/vm.out" 2>"$tmp/vm.err" </dev/null &
	vm_pid=$!
	for _ in $(seq 1 500); do
		[ -S "$sock" ] && return 0
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 0.01
	done
	echo "vmscope did not open $sock: $(cat "$tmp/vm.err")"
	return 1
}

stop_vm() {
	[ -n "$vm_pid" ] || return 0
	kill "$vm_pid" 2>/dev/null
	wait "$vm_pid" 2>/dev/null
	vm_pid=
}

# gdb NAME CMD...: one batch session against $sock; output in $tmp/NAME.out
run_gdb() {
	local name=$1 args=()
	shift
	for c in "$@"; do args+=(-ex "$c"); done
	timeout -k 5 120 gdb -batch -nx "$elf" -ex "set pagination off" -ex "set confirm off" \
		-ex "target remote $sock" "${args[@]}" >"$tmp/$name.out" 2>&1 </dev/null
}

# expect NAME LABEL REGEX: a TAP line for whether gdb's output of session NAME matches.
expect() {
	if grep -Eq "$3" "$tmp/$1.out"; then
		tap_ok "$accel: $2"
	else
		tap_fail "$accel: $2" "no /$3/ in gdb output:"
		sed 's/^/#   /' "$tmp/$1.out" | tail -n 25
	fi
}

# ---- session 1: breakpoints, backtrace, registers, globals, memory, stepping ----
if start_vm -S --append "ticks=1000000"; then
	run_gdb s1 "break compute_something" "continue" "bt" "info registers" "print ticks" \
		"print/x &demo_result" "x/3i \$pc" "print/x \$pc" "stepi 25" "print/x \$pc" \
		"print \$pc != compute_something" "hbreak timer_handler" "delete 1" "continue" "bt 1" \
		"print ticks" "monitor info mem" "monitor help" "detach"
	expect s1 "break on a function and continue" "Breakpoint 1, compute_something \(n="
	expect s1 "bt shows the caller" "#1 .* guest_main"
	expect s1 "info registers" "^rip +0x1002d0 .*compute_something"
	expect s1 "info registers: control registers" "^cr3 +0x[0-9a-f]+"
	expect s1 "print a global" "^\\\$1 = 0$"
	expect s1 "print an address" "^\\\$2 = 0x106050"
	expect s1 "x/3i disassembles at pc" "=> 0x1002d0 <compute_something>:"
	expect s1 "stepi 25 moves within the loop" "^\\\$5 = 1$"
	expect s1 "hbreak on the timer interrupt handler" "Breakpoint 2, timer_handler"
	expect s1 "a global after the interrupt" "^\\\$6 = 0$"
	expect s1 "monitor info mem" "0000000000000000-0000000040000000 0000000040000000 urwx"
	expect s1 "monitor help" "step-irqs"
	expect s1 "detach" "Inferior 1 .* detached"

	# ---- session 2: reattach to the running guest, Ctrl-C, kill ----
	# --foreground: timeout forwards our SIGINT to gdb once (without it the whole process group
	# gets a second one, and gdb asks "not responding to interrupt requests?")
	timeout --foreground -k 5 120 gdb -batch -nx "$elf" -ex "set pagination off" -ex "target remote $sock" \
		-ex "print ticks > 0" -ex "monitor info registers" -ex "echo CONTINUE\\n" -ex "continue" -ex "print ticks > 1" \
		-ex "info threads" -ex "kill" >"$tmp/s2.out" 2>&1 </dev/null &
	gdb_pid=$!
	# handshake: gdb is about to continue, then the guest prints (it runs): now Ctrl-C
	for _ in $(seq 1 3000); do grep -q '^CONTINUE' "$tmp/s2.out" && break; sleep 0.01; done
	size=$(stat -c %s "$tmp/serial")
	for _ in $(seq 1 3000); do [ "$(stat -c %s "$tmp/serial")" != "$size" ] && break; sleep 0.01; done
	kill -INT "$gdb_pid"
	wait "$gdb_pid"
	expect s2 "reattach: the guest ran meanwhile" "^\\\$1 = 1$"
	expect s2 "monitor info registers (full state)" "^efer +0x0000000000000500"
	expect s2 "Ctrl-C stops the running guest" "Program received signal SIGINT"
	expect s2 "after Ctrl-C" "^\\\$2 = 1$"
	expect s2 "info threads" "Thread 1 .*CPU#0"
	for _ in $(seq 1 1000); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.01; done
	kill -9 "$vm_pid" 2>/dev/null	# still there after gdb's kill: reported below
	wait "$vm_pid" 2>/dev/null
	st=$?
	vm_pid=
	if [ "$st" = 0 ]; then tap_ok "$accel: kill ends vmscope (exit 0)"; else
		tap_fail "$accel: kill ends vmscope (exit 0)" "exit $st: $(cat "$tmp/vm.err")"; fi
else
	tap_fail "$accel: vmscope with --gdb starts" "$(cat "$tmp/vm.err")"
fi

# ---- session 3: watchpoints ----
if start_vm -S --append "ticks=1000000"; then
	run_gdb s3 "watch ticks" "continue" "print ticks" "delete" "rwatch ticks" "continue" "delete" \
		"awatch ticks" "continue" "detach"
	expect s3 "watch a global (write watchpoint)" "Old value = 0"
	expect s3 "watch stops after the write" "New value = 1"
	if grep -q "Could not insert hardware watchpoint 2" "$tmp/s3.out"; then
		tap_skip "$accel: rwatch" "refused here: $(grep -h -m1 'cannot set Z3' "$tmp/vm.err")"
	else
		# set, then hit: the name twice, and a "Value =" line after the hit
		expect s3 "rwatch a global (read watchpoint) fires" "^Value = [0-9]+$"
		n=$(grep -c "^Hardware read watchpoint 2: ticks" "$tmp/s3.out")
		[ "$n" = 2 ] && tap_ok "$accel: rwatch reported as a read watchpoint" ||
			tap_fail "$accel: rwatch reported as a read watchpoint" "$n matches"
		n=$(grep -c "^Hardware access (read/write) watchpoint 3: ticks" "$tmp/s3.out")
		[ "$n" = 2 ] && tap_ok "$accel: awatch (access watchpoint) fires" ||
			{ tap_fail "$accel: awatch (access watchpoint) fires" "$n matches"; sed 's/^/#   /' "$tmp/s3.out" | tail -n 12; }
	fi
	stop_vm
fi

# ---- session 4: monitor system_reset, then the guest ends while gdb waits: gdb hears the exit ----
if start_vm -S --append "ticks=3"; then
	run_gdb s4 "break timer_handler" "continue" "monitor system_reset" "maintenance flush register-cache" \
		"print/x \$pc == _start" "print ticks" "delete" "continue"
	expect s4 "monitor system_reset: back at the entry point" "^\\\$1 = 0x1$"
	expect s4 "monitor system_reset: RAM reloaded" "^\\\$2 = 0$"
	expect s4 "the guest's exit reaches gdb" "exited normally|exited with code"
	stop_vm
fi

# ---- session 5: x87/SSE registers: info registers float, $st0 and $xmm0 written and read back,
# then an fld1 patched in at the entry point, executed by the guest and seen in $st0/$st1/TOP, and
# an fldz after it: the full tag word gdb shows classifies each register (valid, zero, empty) ----
if start_vm -S --append "ticks=3"; then
	run_gdb s5 "info registers float" "set \$st0 = 2.5" "print \$st0" "set \$xmm0.v4_int32[1] = 7" \
		"print \$xmm0.v4_int32" "set {unsigned short}\$pc = 0xe8d9" "stepi" "print \$st0" "print \$st1" \
		"print/x \$fstat >> 11 & 7" \
		"set {unsigned short}\$pc = 0xeed9" "stepi" "print/x \$ftag" "kill"
	expect s5 "info registers float" "^fctrl +0x[0-9a-f]+"
	expect s5 "set and print \$st0" "^\\\$1 = 2.5$"
	expect s5 "set and print \$xmm0" "^\\\$2 = \{0, 7, 0, 0\}$"
	if [ "$accel" = kvm ] && grep -q "emulation failure" "$tmp/vm.err"; then
		tap_skip "$accel: the guest's fld1 in \$st0, \$st1 and TOP" \
			"this host's KVM cannot run it: $(grep -m1 'emulation failure' "$tmp/vm.err")"
	else
		expect s5 "the guest's fld1 in \$st0" "^\\\$3 = 1$"
		expect s5 "the value set before in \$st1" "^\\\$4 = 2.5$"
		expect s5 "TOP after the push" "^\\\$5 = 0x7$"
		expect s5 "ftag after fld1; fldz: R7 valid, R6 zero, the rest empty" "^\\\$6 = 0x1fff$"
	fi
	stop_vm
fi

tap_done
