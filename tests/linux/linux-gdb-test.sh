#!/usr/bin/env bash
# linux-gdb-test.sh — make linux-check: the kallsyms-over-serial gdb recipe (README, "Linux
# guests") on Debian's kernel, which has no symbols: boot once to read start_kernel,
# do_syscall_64 and init_task from the init's /proc/kallsyms lines (nokaslr keeps them), then boot
# again stopped with a gdb server and have real gdb stop at start_kernel (hardware breakpoint),
# read init_task's memory, step, and stop at the syscall entry (software breakpoint).
# Runs against QEMU TCG (the oracle) and against vmscope --accel interp (--linux-decompress host).
# In make check: about a minute (four boots).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$root/tests/tap.sh"
. "$here/boot-lib.sh"
gdb_usable >/dev/null || skip_all "$(gdb_usable)"
if [ ! -s "$LINUX_KERNEL" ]; then
	why=$("$here/fetch-kernel.sh" "$LINUX_DIR" 2>&1 >/dev/null) || skip_all "cannot fetch Debian's kernel: $(echo "$why" | tail -n 1)"
fi
if [ ! -s "$LINUX_INITRD" ] || [ "$here/init" -nt "$LINUX_INITRD" ]; then
	why=$("$here/mkinitrd.sh" "$LINUX_INITRD" 2>&1) || skip_all "cannot build the initramfs: $why"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_listening PORT PID: until something accepts on 127.0.0.1:PORT (a handshake, bounded) or PID dies.
wait_listening() {
	for _ in $(seq 300); do
		kill -0 "$2" 2>/dev/null || return 1
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" \
			2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_line TEXT FILE PID: until FILE has a line with TEXT (bounded) or PID dies.
wait_line() {
	for _ in $(seq 300); do
		grep -qF -- "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# kallsyms LOG NAME: the address the first boot printed for NAME.
kallsyms() { tr -d '\r' <"$1" | sed -n "s/^vmscope-init: kallsyms \([0-9a-f]*\) . $2\$/\1/p" | head -n 1; }

# gdb_session LABEL PORT: the stops, against a target already listening on PORT.
gdb_session() {
	local label=$1 port=$2 out=$tmp/gdb-$1.out
	timeout -k 5 300 gdb -nx -batch \
		-ex 'set pagination off' -ex 'set confirm off' -ex 'set architecture i386:x86-64' \
		-ex "target remote 127.0.0.1:$port" \
		-ex "hbreak *0x$start_kernel" -ex continue \
		-ex 'printf "PC-AT-HBREAK %lx\n", $pc' \
		-ex "x/2gx 0x$init_task" \
		-ex stepi -ex 'printf "PC-AFTER-STEP %lx\n", $pc' \
		-ex 'delete' -ex "break *0x$do_syscall_64" -ex continue \
		-ex 'printf "PC-AT-BREAK %lx\n", $pc' \
		-ex kill >"$out" 2>&1 </dev/null
	if grep -q "^PC-AT-HBREAK $start_kernel\$" "$out"; then
		tap_ok "$label: hbreak at start_kernel (0x$start_kernel)"
	else
		tap_fail "$label: hbreak at start_kernel (0x$start_kernel)" "$(grep -v '^$' "$out" | tail -n 5 | tr '\n' '|')"
	fi
	if grep -Eq "^0x$init_task:[[:space:]]+0x[0-9a-f]{16}[[:space:]]+0x[0-9a-f]{16}" "$out"; then
		tap_ok "$label: init_task's memory readable by virtual address"
	else
		tap_fail "$label: init_task's memory readable by virtual address" "$(grep -i "0x$init_task\|cannot" "$out" | head -n 2)"
	fi
	if grep -q '^PC-AFTER-STEP ' "$out" && ! grep -q "^PC-AFTER-STEP $start_kernel\$" "$out"; then
		tap_ok "$label: stepi moves the pc"
	else
		tap_fail "$label: stepi moves the pc" "$(grep PC-AFTER-STEP "$out")"
	fi
	if grep -q "^PC-AT-BREAK $do_syscall_64\$" "$out"; then
		tap_ok "$label: software breakpoint at the syscall entry do_syscall_64"
	else
		tap_fail "$label: software breakpoint at the syscall entry do_syscall_64" "$(grep -v '^$' "$out" | tail -n 3 | tr '\n' '|')"
	fi
}

# ---- QEMU TCG: the first boot gives the addresses, the second is debugged ----
if qemu_usable >/dev/null; then
	linux_qemu_argv vmscope_kallsyms=gdb
	linux_run 300 "$tmp/qemu.log" "$tmp/qemu.err" "${qemu_argv[@]}"
	start_kernel=$(kallsyms "$tmp/qemu.log" start_kernel)
	do_syscall_64=$(kallsyms "$tmp/qemu.log" do_syscall_64)
	init_task=$(kallsyms "$tmp/qemu.log" init_task)
	if [ -n "$start_kernel" ] && [ -n "$do_syscall_64" ] && [ -n "$init_task" ]; then
		tap_ok "qemu: kallsyms over the serial console (start_kernel 0x$start_kernel)"
		port=$(free_port)
		"${qemu_argv[@]}" -S -gdb "tcp:127.0.0.1:$port" >"$tmp/qemu2.log" 2>&1 </dev/null &
		qpid=$!
		wait_listening "$port" "$qpid" || tap_fail "qemu: gdb server listening on $port"
		gdb_session qemu "$port"
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	else
		tap_fail "qemu: kallsyms over the serial console" "$(linux_stage "$tmp/qemu.log")"
	fi
else
	tap_skip "qemu: gdb recipe" "$(qemu_usable)"
fi

# ---- vmscope: the same, when it can ----
if ! "$B/vmscope" --help 2>/dev/null | grep -q -- '--gdb'; then
	tap_skip "vmscope: gdb recipe" "vmscope has no gdb server (--gdb) yet (issue 4)"
elif ! linux_have_interp; then
	tap_skip "vmscope: gdb recipe" "vmscope has no --accel interp"
else
	linux_vmscope_argv interp vmscope_kallsyms=gdb
	linux_run 900 "$tmp/vm.log" "$tmp/vm.err" "${vmscope_argv[@]}"
	if [ -z "$(kallsyms "$tmp/vm.log" start_kernel)" ]; then
		tap_fail "vmscope: kallsyms over the serial console" "$(linux_stage "$tmp/vm.log")"
	else
		start_kernel=$(kallsyms "$tmp/vm.log" start_kernel)
		do_syscall_64=$(kallsyms "$tmp/vm.log" do_syscall_64)
		init_task=$(kallsyms "$tmp/vm.log" init_task)
		tap_ok "vmscope: kallsyms over the serial console (start_kernel 0x$start_kernel)"
		linux_vmscope_argv interp
		port=$(free_port)
		"${vmscope_argv[@]}" -S --gdb "tcp:127.0.0.1:$port" >"$tmp/vm2.log" 2>&1 </dev/null &
		vpid=$!
		# Not wait_listening: a client that connects and goes again detaches, and vmscope's gdb
		# server then lets the guest run (it would be past start_kernel before gdb comes).
		wait_line "gdb server listening on 127.0.0.1:$port" "$tmp/vm2.log" "$vpid" ||
			tap_fail "vmscope: gdb server listening on $port"
		gdb_session vmscope "$port"
		kill "$vpid" 2>/dev/null
		wait "$vpid" 2>/dev/null
	fi
fi
tap_done
