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

# Sets the array qemu_argv to the QEMU TCG command line.
linux_qemu_argv() {
	qemu_argv=(qemu-system-x86_64 -accel tcg -M pc -m "$LINUX_MEM" -nodefaults -display none -serial stdio
		   -no-reboot -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" -append "$LINUX_APPEND")
}
# Sets vmscope_argv to the vmscope command line with accelerator $1.
linux_vmscope_argv() {
	vmscope_argv=("$B/vmscope" --accel "$1" -m "$LINUX_MEM" --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRD"
		      --append "$LINUX_APPEND")
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
