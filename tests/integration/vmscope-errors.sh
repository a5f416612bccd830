#!/usr/bin/env bash
# vmscope's failure paths and small features, each with its documented exit status and message
# (man/vmscope.1, EXIT STATUS): usage errors, unloadable images, -m too small, a guest that
# triple-faults (a raw binary made here with printf), raw binaries and --serial file:.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
vmscope=$B/vmscope
hello=$B/tests/guests/hello.elf

[ -x "$vmscope" ] || skip_all "$vmscope not built"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS REGEX -- ARGS...: exit status and a stderr line matching REGEX.
expect() {
	local name=$1 want=$2 re=$3 status
	shift 4
	timeout -k 5 60 "$vmscope" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" != "$want" ]; then
		tap_fail "$name" "exit status $status, want $want; stderr: $(head -c 400 "$tmp/err")"
	elif ! grep -Eq -- "$re" "$tmp/err"; then
		tap_fail "$name" "stderr does not match /$re/: $(head -c 400 "$tmp/err")"
	else
		tap_ok "$name"
	fi
}

# ---- usage (no KVM needed) ----
expect "no --kernel: usage error" 2 "--kernel FILE is required" --
expect "unknown long option" 2 "unknown option '--frobnicate'" -- --frobnicate
expect "unknown short option" 2 "unknown option '-q'" -- -q --kernel "$hello"
expect "-m 1x rejected" 2 "-m '1x'" -- -m 1x --kernel "$hello"
expect "-m 0 rejected" 2 "-m '0'" -- -m 0 --kernel "$hello"
expect "--smp 0 rejected" 2 "--smp '0'" -- --smp 0 --kernel "$hello"
expect "--accel bogus rejected" 2 "--accel 'bogus'" -- --accel bogus --kernel "$hello"
expect "--serial bogus rejected" 2 "--serial 'tty'" -- --serial tty --kernel "$hello"
expect "missing option argument" 2 "requires an argument" -- --kernel
expect "--entry without --load-addr" 2 "--entry needs --load-addr" -- --entry 0x1000 --kernel "$hello"
expect "stray argument" 2 "unexpected argument 'extra'" -- --kernel "$hello" extra
if "$vmscope" --help >"$tmp/help" 2>&1 && grep -q -- '--kernel FILE' "$tmp/help"; then
	tap_ok "--help exits 0 and lists options"
else
	tap_fail "--help exits 0 and lists options"
fi
if "$vmscope" --version | grep -Eq '^vmscope [0-9]'; then tap_ok "--version"; else tap_fail "--version"; fi

why=$(kvm_usable)
if [ -n "$why" ]; then
	echo "# the remaining tests need KVM: $why"
	for t in "missing file" "not an image" "truncated image" "-m too small" "triple fault" "triple fault: register dump" "int3 without an IDT" "raw binary" "raw binary: entry outside the image"; do
		tap_skip "$t" "$why"
	done
	tap_done; exit
fi

# ---- images ----
expect "missing file" 4 "No such file" -- --kernel "$tmp/nonexistent"
head -c 5000 /dev/urandom | tr '\0' 'x' >"$tmp/random.bin"
expect "not an image" 4 "not a Multiboot image" -- --kernel "$tmp/random.bin"
if [ -r "$hello" ]; then
	head -c 4200 "$hello" >"$tmp/truncated.elf"
	expect "truncated image" 4 "past the end of the 4200-byte image" -- --kernel "$tmp/truncated.elf"
	expect "-m too small" 4 "outside guest RAM .*try a larger -m" -- -m 1M --kernel "$hello"
else
	tap_skip "truncated image" "$hello not built"
	tap_skip "-m too small" "$hello not built"
fi

# ---- a guest that triple-faults: lidt of an empty IDT, then ud2 ----
#   0x10000: lidt [0x10010]; ud2     0x10010: limit 0, base 0
printf '\x0f\x01\x1d\x10\x00\x01\x00\x0f\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' >"$tmp/tf.bin"
expect "triple fault" 8 "vCPU 0: triple fault" -- --kernel "$tmp/tf.bin" --load-addr 0x10000
if grep -q "rip" "$tmp/err" && grep -q "cr0" "$tmp/err"; then
	tap_ok "triple fault: register dump"
else
	tap_fail "triple fault: register dump" "$(head -c 400 "$tmp/err")"
fi

# ---- int3 without an IDT: a triple fault on most hosts; on a nested PVM host KVM cannot
# emulate it and reports an internal error. Either way: its own status, a line and a dump. ----
printf '\xcc\x00\x00\x00' >"$tmp/int3.bin"
timeout -k 5 60 "$vmscope" --kernel "$tmp/int3.bin" --load-addr 0x10000 >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
if { [ "$status" = 8 ] && grep -q "triple fault" "$tmp/err"; } ||
   { [ "$status" = 10 ] && grep -q "internal error: KVM_EXIT_INTERNAL_ERROR" "$tmp/err"; }; then
	grep -q "rflags" "$tmp/err" && tap_ok "int3 without an IDT: status $status with a dump" ||
		tap_fail "int3 without an IDT" "no register dump"
else
	tap_fail "int3 without an IDT" "status $status: $(head -c 300 "$tmp/err")"
fi

# ---- a raw binary that prints "R" on COM1 and exits with 0x10 -> status 33 ----
#   mov dx, 0x3f8; mov al, 'R'; out dx, al; mov al, 10; out dx, al; mov al, 0x10; out 0xf4, al; hlt
printf '\x66\xba\xf8\x03\xb0R\xee\xb0\x0a\xee\xb0\x10\xe6\xf4\xf4' >"$tmp/raw.bin"
timeout -k 5 60 "$vmscope" --kernel "$tmp/raw.bin" --load-addr 0x200000 --serial "file:$tmp/serial.txt" >"$tmp/out" 2>&1
status=$?
if [ "$status" = 33 ] && [ "$(cat "$tmp/serial.txt")" = R ] && [ ! -s "$tmp/out" ]; then
	tap_ok "raw binary: --load-addr, --serial file:, exit status 33"
else
	tap_fail "raw binary: --load-addr, --serial file:, exit status 33" "status $status, serial '$(cat "$tmp/serial.txt" 2>/dev/null)'"
fi
expect "raw binary: entry outside the image" 4 "entry point 0x300000 is not inside" -- --kernel "$tmp/raw.bin" --load-addr 0x200000 --entry 0x300000

echo "# vmscope-errors: done"
tap_done
