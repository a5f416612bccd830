# Sourced by the Linux boot scripts (linux-demo.sh, linux-boot-test.sh, qemu-boot.sh,
# bench/linux-boot.sh): the shared command line, the commands, and "how far did it get".
# Expects $root (the source tree) and $B (the build directory, absolute).
LINUX_DIR=$B/linux
LINUX_KERNEL=$LINUX_DIR/vmlinuz
LINUX_INITRD=$LINUX_DIR/initrd.cpio.gz
LINUX_MEM=512
# reboot=p: init's "reboot -f" writes the reset bit of port 0xcf9 (no ACPI needed); panic=-1:
# a panic resets at once instead of hanging; no_timer_check: TCG/interpreter timing is uneven;
# nokaslr: fixed addresses for gdb (kallsyms), and the decompressor skips its CPU probe (x87).
LINUX_APPEND="console=ttyS0 reboot=p panic=-1 no_timer_check nokaslr"
# Lines after which the kernel never gets anywhere (it halts with interrupts on, for ever).
LINUX_FATAL_RE='x86/fpu: Giving up|Kernel panic - not syncing|---\[ end Kernel panic'
LINUX_FIRST_LINE="vmscope-init: started"
LINUX_LAST_LINE="vmscope-init: done, rebooting"

# Sets the array qemu_argv to the QEMU TCG command line ($1 appended to the kernel's).
linux_qemu_argv() {
	qemu_argv=(qemu-system-x86_64 -accel tcg -M pc -m "$LINUX_MEM" -nodefaults -display none -serial stdio
		   -no-reboot -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" -append "$LINUX_APPEND${1:+ $1}")
}

# linux_converse LIMIT LOG CMD...: runs CMD (a Linux boot with vmscope_shell=1) with its serial
# console in LOG; when the busybox shell's prompt appears, types LINUX_TYPE (lines) into the
# console's input, as a user would (bytes sent before the 8250 is opened are dropped, as on
# hardware). With LINUX_SHOW=1 the console is copied to stderr as it comes. Returns CMD's
# status, 124 after LIMIT seconds.
linux_converse() {
	local limit=$1 log=$2
	shift 2
	python3 - "$limit" "$log" "$@" <<'PY'
import os, select, subprocess, sys, time
limit, log, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
typed = os.environ.get('LINUX_TYPE', 'exit\n').encode()
show = os.environ.get('LINUX_SHOW') == '1'	# also copy the console to stderr as it comes
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out, sent, end = b'', False, time.time() + limit
with open(log, 'wb') as f:
    while time.time() < end:
        if not select.select([p.stdout], [], [], 0.5)[0]:
            continue
        d = os.read(p.stdout.fileno(), 65536)
        if not d:
            break
        out += d
        f.write(d)
        f.flush()
        if show:
            sys.stderr.buffer.write(d)
            sys.stderr.flush()
        if not sent and b'\n/ # ' in out:
            p.stdin.write(typed)
            p.stdin.flush()
            sent = True
try:
    sys.exit(p.wait(timeout=max(end - time.time(), 5)))	# stdout closed: it is ending
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    sys.exit(124)
PY
}
# Sets vmscope_argv to the vmscope command line with accelerator $1, --linux-decompress
# ${LINUX_DECOMPRESS:-auto} (auto, the default, is host for Debian's xz kernel: the loader
# unpacks vmlinux; guest: the kernel's own decompressor runs, 20 s more under the interpreter)
# and $2 appended to the kernel command line (vmscope_shell=1, vmscope_kallsyms=gdb: see
# tests/linux/init).
linux_vmscope_argv() {
	vmscope_argv=("$B/vmscope" --accel "$1" -m "$LINUX_MEM" --linux-decompress "${LINUX_DECOMPRESS:-auto}"
		      --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRD" --append "$LINUX_APPEND${2:+ $2}")
}

# True when this vmscope has the interpreter backend (issue 3).
linux_have_interp() { "$B/vmscope" --help 2>/dev/null | grep -q 'interp'; }

# linux_run LIMIT LOG ERR CMD...: runs CMD with stdout in LOG (also shown when LINUX_SHOW=1),
# stderr in ERR, until it exits, LIMIT seconds pass (status 124) or LOG shows a line after which
# Linux never gets anywhere (status 125). Returns CMD's status otherwise.
linux_run() {
	local limit=$1 log=$2 err=$3 pid status shown=0 deadline
	shift 3
	: >"$log"
	"$@" >"$log" 2>"$err" </dev/null &
	pid=$!
	deadline=$((SECONDS + limit))
	while kill -0 "$pid" 2>/dev/null; do
		[ "${LINUX_SHOW:-0}" = 1 ] && shown=$(linux_show_new "$log" "$shown")
		if grep -Eq "$LINUX_FATAL_RE" "$log"; then
			kill "$pid"; wait "$pid"; [ "${LINUX_SHOW:-0}" = 1 ] && linux_show_new "$log" "$shown" >/dev/null
			return 125
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then kill "$pid"; wait "$pid"; return 124; fi
		sleep 0.5
	done
	wait "$pid"
	status=$?
	[ "${LINUX_SHOW:-0}" = 1 ] && linux_show_new "$log" "$shown" >/dev/null
	return "$status"
}
# linux_show_new LOG N: shows (on stderr) the lines of LOG after the first N; prints the new count.
linux_show_new() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -gt "$2" ] && sed -n "$(($2 + 1)),${n}p" "$1" >&2
	echo "$n"
}

# linux_stage LOG: one line saying how far a boot got, from its serial output.
linux_stage() {
	local log=$1
	if grep -q "$LINUX_LAST_LINE" "$log"; then
		echo "init ran to the end and rebooted"
	elif grep -q "$LINUX_FIRST_LINE" "$log"; then
		echo "init started but did not finish: last line: $(tail -n 1 "$log")"
	elif grep -q "x86/fpu: Giving up" "$log"; then
		echo "the kernel stopped at FPU setup: $(grep -m1 'x86/fpu: Giving up' "$log" | sed 's/^\[[^]]*\] //') (CPUID without FPU/FXSR/SSE)"
	elif grep -q "Kernel panic" "$log"; then
		echo "kernel panic: $(grep -m1 'Kernel panic' "$log")"
	elif grep -q "Linux version" "$log"; then
		echo "the kernel proper booted but init never printed; last line: $(tail -n 1 "$log")"
	elif grep -q "Decompressing Linux" "$log"; then
		echo "the decompressor ran but the kernel printed nothing after it; last line: $(tail -n 1 "$log")"
	elif [ -s "$log" ]; then
		echo "some serial output, no kernel banner: $(tail -n 1 "$log")"
	else
		echo "no serial output at all: the kernel did not get as far as its decompressor's first message"
	fi
}
