#!/usr/bin/env bash
# Issue 7 benchmark: time from process start to the busybox init's first line
# ("vmscope-init: started"), Debian's kernel and the same initramfs (tests/linux), vmscope's
# interpreter next to qemu-system-x86_64 -accel tcg in the same run. Median of BENCH_LINUX_RUNS
# runs (default 3). Figures, not pass/fail: a configuration that cannot run says why.
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

log=$(mktemp) err=$(mktemp) fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'rm -f "$log" "$err" "$fifo"' EXIT

# ms_to_first_line CMD...: milliseconds until the first line appears, or "-" (never / timeout);
# the serial output stays in $log, stderr in $err.
ms_to_first_line() {
	local t0 first=- line pid
	: >"$log"
	t0=$(date +%s%N)
	timeout -k 5 "$LIMIT" "$@" >"$fifo" 2>"$err" </dev/null &
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

linux_qemu_argv
qemu_ms=-
if command -v qemu-system-x86_64 >/dev/null; then
	qemu_ms=$(run_config qemu "${qemu_argv[@]}")
fi
if linux_have_interp; then
	linux_vmscope_argv interp
	interp_ms=$(run_config interp "${vmscope_argv[@]}")
	interp_why="did not reach init ($(linux_stage "$log"); $(grep -m1 -v '^ ' "$err" | head -c 160))"
else
	interp_ms=-
	interp_why="not able to boot yet: vmscope has no --accel interp (issue 3)"
fi
printf '   %-40s %s\n' "qemu-system-x86_64 -accel tcg -M pc" \
	"$([ "$qemu_ms" = - ] && echo 'no figure (not installed or did not reach init)' || echo "${qemu_ms} ms (median of $RUNS)")"
printf '   %-40s %s\n' "vmscope --accel interp" \
	"$([ "$interp_ms" = - ] && echo "$interp_why" || echo "${interp_ms} ms (median of $RUNS)")"
if [ "$qemu_ms" != - ] && [ "$interp_ms" != - ]; then
	awk -v a="$interp_ms" -v q="$qemu_ms" 'BEGIN { printf "   ratio vmscope/QEMU TCG: %.2fx (target: at most 3x)\n", a / q }'
fi
echo "   QEMU command: ${qemu_argv[*]}"
exit 0
