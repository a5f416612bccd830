#!/usr/bin/env bash
# The Linux bzImage loader through the vmscope command line: tiny synthetic bzImages
# (tests/linux/tiny-bzimage.S) entered at startup_64 and at the 32-bit entry check the state the
# boot protocol promises and print the command line and initrd; bad images and sizes give their
# exact message and exit status 4 (man/vmscope.1). Debian's real kernel header is checked too: the
# copy make linux-fetch cached, fetched when missing (a skip with the reason when it cannot be).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
vmscope=$B/vmscope
tiny=$B/tests/linux/tiny-bzimage.bin
tiny32=$B/tests/linux/tiny-bzimage32.bin

[ -x "$vmscope" ] || skip_all "$vmscope not built"
[ -r "$tiny" ] && [ -r "$tiny32" ] || skip_all "$tiny not built (make check builds it)"
accel=auto
if ! why=$(kvm_usable); then
	"$vmscope" --help | grep -q interp || skip_all "no accelerator: $why, and no --accel interp"
	accel=interp
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME WANT_STATUS STDERR_REGEX -- ARGS...: exit status and a stderr line; stdout in $tmp/out.
run() {
	local name=$1 want=$2 re=$3 status
	shift 4
	timeout -k 5 60 "$vmscope" --accel "$accel" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" != "$want" ]; then
		tap_fail "$name" "exit status $status, want $want; stderr: $(head -c 400 "$tmp/err")"
	elif [ -n "$re" ] && ! grep -Eq -- "$re" "$tmp/err"; then
		tap_fail "$name" "stderr does not match /$re/: $(head -c 400 "$tmp/err")"
	else
		tap_ok "$name"
	fi
}
# same_output NAME EXPECTED: $tmp/out is exactly EXPECTED (printf format).
same_output() {
	printf "$2" >"$tmp/want"
	if cmp -s "$tmp/want" "$tmp/out"; then tap_ok "$1"; else tap_fail "$1" "output: $(od -c "$tmp/out" | head -n 5)"; fi
}

# ---- good images: the guest checks its entry state and exits with 3 (status 7) ----
printf 'INITRD-OK\n' >"$tmp/initrd"
printf 'MORE\n' >"$tmp/initrd2"
run "64-bit entry: boot_params, long mode, GDT, stack" 7 "" -- -m 32 --kernel "$tiny" --initrd "$tmp/initrd" \
	--append "console=ttyS0 hello"
same_output "64-bit entry: command line and initrd reach the kernel" 'console=ttyS0 hello\nINITRD-OK\n'
run "two --initrd files are joined, 4-byte aligned" 7 "" -- -m 32 --kernel "$tiny" --initrd "$tmp/initrd2" \
	--initrd "$tmp/initrd"
same_output "joined initrd content" '\nMORE\n\0\0\0INITRD-OK\n'
run "32-bit entry without XLF_KERNEL_64" 7 "" -- -m 32 --kernel "$tiny32"
same_output "32-bit entry output" '32 '
# the same entry states under the interpreter, when the first runs were on KVM
if [ "$accel" = auto ] && "$vmscope" --help | grep -q interp; then
	accel=interp
	run "interp: 64-bit entry" 7 "" -- -m 32 --kernel "$tiny" --initrd "$tmp/initrd" --append "console=ttyS0 hello"
	same_output "interp: command line and initrd reach the kernel" 'console=ttyS0 hello\nINITRD-OK\n'
	run "interp: 32-bit entry" 7 "" -- -m 32 --kernel "$tiny32"
	accel=auto
else
	tap_skip "interp: 64-bit and 32-bit entries" "no --accel interp, or it was the only accelerator"
fi

# ---- bad images ----
head -c 1000 "$tiny" >"$tmp/trunc.bin"
run "truncated bzImage" 4 "truncated bzImage: .* the file has 1000" -- -m 32 --kernel "$tmp/trunc.bin"
head -c 600 "$tiny" >"$tmp/trunc-hdr.bin"
run "bzImage cut inside its setup header" 4 "truncated bzImage: the 600-byte file ends inside" -- -m 32 --kernel "$tmp/trunc-hdr.bin"
cp "$tiny" "$tmp/old.bin"
printf '\x04\x02' | dd of="$tmp/old.bin" bs=1 seek=$((0x206)) conv=notrunc status=none
run "boot protocol 2.04 is too old" 4 "boot protocol 2.04 is too old: vmscope needs 2.06" -- -m 32 --kernel "$tmp/old.bin"
cp "$tiny" "$tmp/noflag.bin"
printf '\0\0' | dd of="$tmp/noflag.bin" bs=1 seek=$((0x1fe)) conv=notrunc status=none
run "HdrS without the 0xaa55 boot flag" 4 "not a Linux bzImage: boot flag" -- -m 32 --kernel "$tmp/noflag.bin"
head -c 5000 /dev/urandom | tr '\0' 'x' >"$tmp/random.bin"
run "random file: neither Multiboot nor bzImage" 4 "not a Multiboot image .* nor a Linux bzImage" -- -m 32 --kernel "$tmp/random.bin"
run "kernel does not fit in -m" 4 "does not fit in 16 MiB of RAM: .*init_size.*try -m" -- -m 16 --kernel "$tiny"
truncate -s 40M "$tmp/big.img"
run "initrd larger than RAM" 4 "larger than guest RAM" -- -m 32 --kernel "$tiny" --initrd "$tmp/big.img"
truncate -s 10M "$tmp/mid.img"
run "initrd does not fit beside the kernel" 4 "initrd .* does not fit between the kernel's end 0x1800000" -- -m 32 --kernel "$tiny" --initrd "$tmp/mid.img"
long=$(head -c 3000 /dev/zero | tr '\0' 'x')
run "command line longer than cmdline_size" 4 "command line is 3000 bytes; this kernel takes at most 2047" -- -m 32 --kernel "$tiny" --append "$long"

# ---- --linux-decompress host: the loader unpacks an xz vmlinux and enters its startup_64 ----
# mkpacked OUT: tiny-bzimage with its 64-bit code (position independent) as a one-segment ELF
# vmlinux at physical 16 MiB, xz-compressed (the kernel's --check=crc32) with the size appended,
# as the bzImage payload (payload_offset/payload_length), as Linux's own build makes it.
mkpacked() {
	python3 - "$tiny" "$1" <<'PY'
import lzma, struct, sys
img = bytearray(open(sys.argv[1], 'rb').read())
setup = (img[0x1f1] + 1) * 512
code = bytes(img[setup + 0x200:])
ehdr = b'\x7fELF\x02\x01\x01' + bytes(9) + struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack('<IIQQQQQQ', 1, 5, 120, 0xffffffff81000000, 0x1000000, len(code), len(code) + 4096, 0x1000)
elf = ehdr + phdr + code
xz = lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32) + struct.pack('<I', len(elf))
kernel = img[setup:] + xz
kernel += bytes(-len(kernel) % 16)
struct.pack_into('<I', img, 0x1f4, len(kernel) // 16)
struct.pack_into('<II', img, 0x248, len(img) - setup, len(xz))
open(sys.argv[2], 'wb').write(bytes(img[:setup]) + kernel)
PY
}
if mkpacked "$tmp/packed.bin" 2>"$tmp/err"; then
	run "unpacked on the host: startup_64 of the vmlinux inside" 7 "" -- -m 32 --linux-decompress host \
		--kernel "$tmp/packed.bin" --initrd "$tmp/initrd" --append "console=ttyS0 unpacked"
	same_output "unpacked on the host: command line and initrd reach the kernel" 'console=ttyS0 unpacked\nINITRD-OK\n'
	run "the default (auto) unpacks an xz kernel on the host" 7 "" -- -m 32 --kernel "$tmp/packed.bin" \
		--append "console=ttyS0 auto"
	same_output "auto: the unpacked kernel ran" 'console=ttyS0 auto\n'
	run "--linux-decompress guest enters the compressed kernel (tiny-bzimage's own entry)" 7 "" -- -m 32 \
		--linux-decompress guest --kernel "$tmp/packed.bin" --append "console=ttyS0 guest"
	cp "$tmp/packed.bin" "$tmp/badxz.bin"
	printf 'XXXX' | dd of="$tmp/badxz.bin" bs=1 seek=$(($(stat -c %s "$tmp/badxz.bin") - 40)) conv=notrunc status=none
	run "unpacked on the host: a damaged xz stream" 4 "xz payload does not unpack" -- -m 32 --linux-decompress host \
		--kernel "$tmp/badxz.bin"
else
	tap_fail "unpacked on the host: building the test image" "$(head -c 300 "$tmp/err")"
fi
run "--linux-decompress host: no payload in the header" 4 "payload .* is not inside the kernel" -- -m 32 \
	--linux-decompress host --kernel "$tiny"
run "--linux-decompress host: a 32-bit kernel" 4 "32-bit kernel .* cannot be entered at its 64-bit startup_64" -- \
	-m 32 --linux-decompress host --kernel "$tiny32"
run "--linux-decompress sideways is refused" 2 "--linux-decompress 'sideways': expected auto, guest or host" -- \
	--linux-decompress sideways --kernel "$tiny"

# ---- the guest's reboot: reset bit of port 0xcf9 (Linux reboot=p) ends vmscope with status 0 ----
printf '\xb0\x06\xba\xf9\x0c\x00\x00\xee\xf4' >"$tmp/reset.bin"	# mov al,6; mov edx,0xcf9; out dx,al; hlt
run "reset via port 0xcf9: exit 0 and says so" 0 "guest reset the machine \\(port 0xcf9\\)" -- -m 4 --kernel "$tmp/reset.bin" --load-addr 0x10000

# ---- the APICs: a guest using the LAPIC (IPI, timer) and the I/O APIC (PIT through a pin) ----
apic=$B/tests/linux/apic-guest.bin
# apic_run LABEL ARGS...: status 35 and the interrupts in order (self-IPI, >= 4 timer, PIT).
apic_run() {
	local label=$1 status
	shift
	timeout -k 5 60 "$vmscope" -m 32 --kernel "$apic" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" = 35 ] && grep -Eq '^IT{4,}P' "$tmp/out"; then
		tap_ok "apic-guest: $label"
	else
		tap_fail "apic-guest: $label" "status $status, output '$(head -c 40 "$tmp/out")': $(head -c 300 "$tmp/err")"
	fi
}
if [ "$accel" = auto ]; then
	apic_run "KVM's in-kernel APICs (the oracle)" --accel kvm --kernel-irqchip on
	apic_run "vmscope's APICs under KVM (--kernel-irqchip off)" --accel kvm --kernel-irqchip off
else
	tap_skip "apic-guest: KVM" "$why"
fi
if "$vmscope" --help | grep -q interp; then
	apic_run "vmscope's APICs under the interpreter" --accel interp
else
	tap_skip "apic-guest: interpreter" "no --accel interp"
fi

# ---- Debian's kernel: the copy make linux-fetch (or the boot test) cached, fetched here when
# missing (the sanitizer build reuses build/'s copy); a skip with the reason when it cannot be ----
kernel=$B/linux/vmlinuz
[ -s "$kernel" ] || [ ! -s "$root/build/linux/vmlinuz" ] || kernel=$root/build/linux/vmlinuz
if [ ! -s "$kernel" ] && ! why=$("$root/tests/linux/fetch-kernel.sh" "$B/linux" 2>&1 >/dev/null); then
	tap_skip "Debian's vmlinuz: header parsed, too large for -m 64" "cannot fetch Debian's kernel: $(echo "$why" | tail -n 1)"
else
	run "Debian's vmlinuz: header parsed, too large for -m 64" 4 "does not fit in 64 MiB of RAM: it runs at 0x1000000" -- -m 64 --kernel "$kernel"
fi
tap_done
