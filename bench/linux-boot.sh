#!/usr/bin/env bash
# Issue 7 benchmark: time from process start to the busybox init's first line
# ("vmscope-init: started"), Debian's kernel and the same initramfs (tests/linux), vmscope's
# interpreter next to qemu-system-x86_64 -accel tcg in the same run: vmscope with the kernel's
# own decompressor (--linux-decompress guest, what QEMU runs too) and with the loader unpacking
# vmlinux (--linux-decompress host). Median of BENCH_LINUX_RUNS runs (default 3), the user+system
# CPU seconds of the last run, the load average. Then, unless BENCH_LINUX_PROFILE=0, where the
# interpreter's time goes by guest function: the RIP sampled every 1024 blocks (tracepoint
# x86_rip_sample) and vmtrace profile with every kernel symbol (read once from QEMU's boot with
# vmscope_kallsyms=all). Figures, not pass/fail: a configuration that cannot run says why.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
. "$root/tests/linux/boot-lib.sh"
RUNS=${BENCH_LINUX_RUNS:-3}
LIMIT=${BENCH_LINUX_TIMEOUT:-300}

echo "== bench/linux-boot: start to init's first line, $(cat "$LINUX_DIR/vmlinuz.version" 2>/dev/null || echo 'Debian kernel'), -m $LINUX_MEM"
if [ ! -s "$LINUX_KERNEL" ] && ! why=$("$root/tests/linux/fetch-kernel.sh" "$LINUX_DIR" 2>&1 >/dev/null); then
	echo "   skipped: cannot fetch Debian's kernel: $(echo "$why" | tail -n 1)"; exit 0
fi
if [ ! -s "$LINUX_INITRD" ] && ! "$root/tests/linux/mkinitrd.sh" "$LINUX_INITRD"; then
	echo "   skipped: cannot build the initramfs"; exit 0
fi

log=$(mktemp) err=$(mktemp) cpu=$(mktemp) fifo=$(mktemp -u) vmt=$(mktemp -u).vmt
mkfifo "$fifo"
trap 'rm -f "$log" "$err" "$cpu" "$fifo" "$vmt"' EXIT

# ms_to_first_line CMD...: milliseconds until the first line appears, or "-" (never / timeout);
# the serial output stays in $log, stderr in $err.
ms_to_first_line() {
	local t0 first=- line pid
	: >"$log"
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$cpu" timeout -k 5 "$LIMIT" "$@" >"$fifo" 2>"$err" </dev/null &
	pid=$!
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$log"
		if [ "$first" = - ] && [[ $line == *"$LINUX_FIRST_LINE"* ]]; then
			first=$(( ($(date +%s%N) - t0) / 1000000 ))
		fi
		[[ $line =~ $LINUX_FATAL_RE ]] && kill "$pid" 2>/dev/null	# it would never get further
	done <"$fifo"
	wait "$pid"
	echo "$first"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_config NAME CMD...: prints "NAME median" or the reason it has no figure.
run_config() {
	local name=$1 t times=()
	shift
	for ((i = 0; i < RUNS; i++)); do
		t=$(ms_to_first_line "$@")
		[ "$t" = - ] && { echo "-"; return; }
		times+=("$t")
	done
	median "${times[@]}"
}

# cpu_s: user+system CPU seconds of the last run.
cpu_s() { awk '{ printf "%.1f", $1 + $2 }' "$cpu" 2>/dev/null; }
# show NAME MS: one result line.
show() {
	printf '   %-52s %s\n' "$1" "$([ "$2" = - ] && echo "no figure: $3" || echo "$2 ms (median of $RUNS; last run $(cpu_s) s CPU)")"
}
ratio() { [ "$qemu_ms" != - ] && [ "$2" != - ] && awk -v a="$2" -v q="$qemu_ms" -v n="$1" 'BEGIN { printf "   ratio %s / QEMU TCG: %.2fx (target: at most 3x)\n", n, a / q }'; }

echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
linux_qemu_argv
qemu_ms=-
if command -v qemu-system-x86_64 >/dev/null; then
	qemu_ms=$(run_config qemu "${qemu_argv[@]}")
fi
show "qemu-system-x86_64 -accel tcg -M pc" "$qemu_ms" "not installed or did not reach init"
guest_ms=- host_ms=-
if linux_have_interp; then
	LINUX_DECOMPRESS=guest linux_vmscope_argv interp
	guest_ms=$(run_config interp "${vmscope_argv[@]}")
	show "vmscope --accel interp --linux-decompress guest" "$guest_ms" \
		"did not reach init ($(linux_stage "$log"); $(grep -m1 -v '^ ' "$err" | head -c 160))"
	LINUX_DECOMPRESS=host linux_vmscope_argv interp
	host_argv=("${vmscope_argv[@]}")
	host_ms=$(run_config interp "${host_argv[@]}")
	show "vmscope --accel interp (default: xz unpacked by vmscope)" "$host_ms" \
		"did not reach init ($(linux_stage "$log"); $(grep -m1 -v '^ ' "$err" | head -c 160))"
else
	echo "   vmscope: no --accel interp"
fi
ratio "vmscope (guest decompressor)" "$guest_ms"
ratio "vmscope (host unpack)" "$host_ms"
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   QEMU command: ${qemu_argv[*]}"
echo "   vmscope command: ${host_argv[*]:-}"

# ---- where the interpreter's time goes, by guest function ----
[ "${BENCH_LINUX_PROFILE:-1}" = 0 ] || [ "$host_ms" = - ] || [ ! -x "$B/vmtrace" ] && exit 0
syms=$LINUX_DIR/kallsyms
if [ ! -s "$syms" ]; then
	linux_qemu_argv vmscope_kallsyms=all
	timeout -k 5 "$LIMIT" "${qemu_argv[@]}" </dev/null 2>/dev/null | tr -d '\r' | sed -n 's/^vmscope-kallsyms: //p' >"$syms.tmp"
	[ -s "$syms.tmp" ] && mv "$syms.tmp" "$syms"
fi
[ -s "$syms" ] || { echo "   profile: no kernel symbols (QEMU could not print /proc/kallsyms)"; exit 0; }
for mode in host guest; do
	LINUX_DECOMPRESS=$mode linux_vmscope_argv interp
	timeout -k 5 "$LIMIT" "${vmscope_argv[@]}" --trace x86_rip_sample --trace-file "$vmt" </dev/null >/dev/null 2>&1
	echo "== where --linux-decompress $mode spends its time, start to reboot (RIP every 1024 blocks;"
	echo "   below 0x10000000: the decompressor, or user space once the kernel runs)"
	"$B/vmtrace" profile "$vmt" --symbols "$syms" 2>&1 | sed -n '1,/^by address/p' | grep -v '^by address' | head -n 22 | sed 's/^/   /'
done
exit 0
