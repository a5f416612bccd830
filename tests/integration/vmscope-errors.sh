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
# $run: a command prefix (another user, another mount namespace), empty by default.
run=()
expect() {
	local name=$1 want=$2 re=$3 status
	shift 4
	timeout -k 5 60 "${run[@]}" "$vmscope" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
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
expect "-m 512K rejected" 2 "from 1M to 3G" -- -m 512K --kernel "$hello"
expect "-m 4G rejected" 2 "from 1M to 3G" -- -m 4G --kernel "$hello"
expect "--initrd with a raw binary" 2 "--initrd needs a Multiboot image" -- --initrd x --load-addr 0x1000 --kernel "$hello"
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

# ---- no KVM: as an unprivileged user, and with /dev/kvm hidden (both need root to arrange) ----
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! command -v unshare >/dev/null; then
	tap_skip "no permission on /dev/kvm: status 6, says why" "needs root, setpriv and unshare to arrange"
	tap_skip "no /dev/kvm: status 6, says how to load KVM" "needs root, setpriv and unshare to arrange"
else
	if [ -e /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" != 666 ] && [ -r "$hello" ] &&
	   setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$vmscope"; then
		run=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
		expect "no permission on /dev/kvm: status 6, says why" 6 "/dev/kvm: permission denied .*(run as root|add yourself)" -- \
			--accel kvm --kernel "$hello"
		run=()
	else
		tap_skip "no permission on /dev/kvm: status 6, says why" "/dev/kvm is world-usable or the build is not readable by nobody"
	fi
	run=(unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /dev && exec "$@"' sh)
	expect "no /dev/kvm: status 6, says how to load KVM" 6 "/dev/kvm does not exist: load the KVM module" -- \
		--accel kvm --kernel "$hello"
	run=()
fi

why=$(kvm_usable)
if [ -n "$why" ]; then
	echo "# the remaining tests need KVM: $why"
	for t in "missing file" "missing --initrd file" "not an image" "truncated image" "-m too small" "modules too big for RAM" "hello with two --initrd modules" "hello.elf loaded through its ELF program headers" "hello.mb loaded through its ELF program headers" "triple fault" "triple fault: register dump" "int3 without an IDT" "raw binary" "hlt with interrupts disabled" "raw binary: entry outside the image" "SIGTERM: status 143 and a message"; do
		tap_skip "$t" "$why"
	done
	tap_done; exit
fi

# ---- images ----
expect "missing file" 4 "No such file" -- --kernel "$tmp/nonexistent"
expect "missing --initrd file" 4 "nonexistent.img: No such file" -- --initrd "$tmp/nonexistent.img" --kernel "$hello"
head -c 5000 /dev/urandom | tr '\0' 'x' >"$tmp/random.bin"
expect "not an image" 4 "not a Multiboot image" -- --kernel "$tmp/random.bin"
if [ -r "$hello" ]; then
	head -c 4200 "$hello" >"$tmp/truncated.elf"
	expect "truncated image" 4 "past the end of the 4200-byte image" -- --kernel "$tmp/truncated.elf"
	expect "-m too small" 4 "outside guest RAM .*try a larger -m" -- -m 1M --kernel "$hello"
	head -c 1500000 /dev/zero >"$tmp/big.img"
	expect "modules too big for RAM" 4 "no room for the boot information and modules" -- \
		-m 2M --initrd "$tmp/big.img" --kernel "$hello"
	timeout -k 5 60 "$vmscope" -m 16M --initrd "$tmp/big.img" --initrd "$tmp/random.bin" --kernel "$hello" >"$tmp/out" 2>&1
	status=$?
	if [ "$status" = 1 ] && cmp -s "$tmp/out" "$root/tests/guests/hello.expected"; then
		tap_ok "hello with two --initrd modules"
	else
		tap_fail "hello with two --initrd modules" "status $status: $(head -c 300 "$tmp/out")"
	fi
else
	tap_skip "truncated image" "$hello not built"
	tap_skip "-m too small" "$hello not built"
	tap_skip "modules too big for RAM" "$hello not built"
	tap_skip "hello with two --initrd modules" "$hello not built"
fi

# ---- the ELF loaders end to end: hello as ELF64 (.elf) and ELF32 (.mb) with the Multiboot
# header's a.out-kludge bit cleared (checksum fixed), so the program headers are what is loaded ----
strip_aout() {
	python3 - "$1" "$2" <<-'PY'
	import struct, sys
	b = bytearray(open(sys.argv[1], "rb").read())
	for off in range(0, min(len(b), 8192) - 12, 4):
	    magic, flags = struct.unpack_from("<II", b, off)
	    if magic == 0x1BADB002:
	        flags &= ~(1 << 16)
	        struct.pack_into("<II", b, off + 4, flags, (-(magic + flags)) & 0xFFFFFFFF)
	        break
	else:
	    sys.exit("no Multiboot header")
	open(sys.argv[2], "wb").write(b)
	PY
}
for f in elf mb; do
	img=$B/tests/guests/hello.$f
	label="hello.$f loaded through its ELF program headers"
	if [ ! -r "$img" ] || ! command -v python3 >/dev/null; then tap_skip "$label" "$img or python3 missing"; continue; fi
	strip_aout "$img" "$tmp/hello-elf.$f"
	timeout -k 5 60 "$vmscope" --kernel "$tmp/hello-elf.$f" >"$tmp/out" 2>&1
	status=$?
	if [ "$status" = 1 ] && cmp -s "$tmp/out" "$root/tests/guests/hello.expected"; then
		tap_ok "$label"
	else
		tap_fail "$label" "status $status: $(head -c 300 "$tmp/out")"
	fi
done

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
# (stdout/stderr empty but for --accel auto's one line naming the backend it picked)
if [ "$status" = 33 ] && [ "$(cat "$tmp/serial.txt")" = R ] && [ -z "$(grep -v -- '--accel auto: using ' "$tmp/out")" ]; then
	tap_ok "raw binary: --load-addr, --serial file:, exit status 33"
else
	tap_fail "raw binary: --load-addr, --serial file:, exit status 33" "status $status, serial '$(cat "$tmp/serial.txt" 2>/dev/null)'"
fi
# ---- cli; hlt: nothing can ever wake the vCPU (seen when vmscope runs the PIC: KVM's own
# irqchip keeps a halted vCPU inside the kernel) ----
printf '\xfa\xf4' >"$tmp/halt.bin"
expect "hlt with interrupts disabled" 14 "hlt with interrupts disabled at rip 0x10002" -- \
	--kernel-irqchip off --kernel "$tmp/halt.bin" --load-addr 0x10000
expect "raw binary: entry outside the image" 4 "entry point 0x300000 is not inside" -- --kernel "$tmp/raw.bin" --load-addr 0x200000 --entry 0x300000

# ---- SIGTERM ends a running guest: status 128 + 15, one line ----
demo=$B/tests/guests/demo.elf
if [ -r "$demo" ]; then
	"$vmscope" --kernel "$demo" --append ticks=100000000 >"$tmp/demo.out" 2>"$tmp/demo.err" </dev/null &
	pid=$!
	# wait for the guest to be running (its first tick report), not for a time
	timeout 60 sh -c 'until grep -qs "10 ticks" "$1"; do sleep 0.05; done' sh "$tmp/demo.out"
	kill -TERM "$pid"
	wait "$pid"
	status=$?
	if [ "$status" = 143 ] && grep -q "stopped by signal Terminated" "$tmp/demo.err"; then
		tap_ok "SIGTERM: status 143 and a message"
	else
		tap_fail "SIGTERM: status 143 and a message" "status $status: $(head -c 300 "$tmp/demo.err")"
	fi
else
	tap_skip "SIGTERM: status 143 and a message" "$demo not built"
fi

echo "# vmscope-errors: done"
tap_done
