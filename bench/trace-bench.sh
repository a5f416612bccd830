#!/usr/bin/env bash
# Tracing benchmark: tracepoint cost (bench/trace-bench.c), then the pio guest with its I/O events
# on and off under each backend, next to QEMU TCG tracing one event per `out` (log backend to
# /dev/null), in the same run. Medians of 5 runs, ratios against tracing off.
set -u
B=${B:-build}
RUNS=${RUNS:-5}
ITERS=${ITERS:-100000}
"$B/bench/trace-bench" "${TMPDIR:-/tmp}" || exit 1
echo
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# median of RUNS wall-clock runs of a command, in seconds
median() {
	local t=()
	for _ in $(seq "$RUNS"); do
		local s e
		s=$(date +%s.%N); "$@" >/dev/null 2>&1 </dev/null; e=$(date +%s.%N)
		t+=("$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", e-s}')")
	done
	printf '%s\n' "${t[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "-" }'; }
row() { printf '  %-44s %9ss  %s\n' "$1" "$2" "$3"; }

guest=$B/tests/guests/pio.elf
if [ ! -x "$B/vmscope" ] || [ ! -f "$guest" ]; then
	echo "pio guest benchmark skipped: $B/vmscope or $guest not built"
	exit 0
fi
echo "pio guest, iters=$ITERS (one out per iteration), medians of $RUNS runs"
for accel in kvm interp; do
	if ! "$B/vmscope" --accel "$accel" --kernel "$guest" --append "iters=10" >/dev/null 2>&1; then
		echo "  $accel: not usable here (skipped)"; continue
	fi
	base=$(median "$B/vmscope" --accel "$accel" --kernel "$guest" --append "iters=$ITERS")
	row "vmscope $accel, tracing off" "$base" "1.00x"
	for be in binary log ftrace usdt; do
		out="$tmp/t.vmt"; extra=()
		[ "$be" = log ] && extra=(--trace file=/dev/null)
		t=$(median "$B/vmscope" --accel "$accel" --kernel "$guest" --append "iters=$ITERS" \
			--trace 'pio_*' --trace-backend "$be" --trace-file "$out" "${extra[@]}")
		row "vmscope $accel, pio_* on, $be backend" "$t" "$(ratio "$t" "$base")"
	done
done
if command -v qemu-system-x86_64 >/dev/null; then
	mb=$B/tests/guests/pio.mb
	q=(qemu-system-x86_64 -accel tcg -M pc -bios /usr/share/qemu/qboot.rom -nographic -no-reboot -kernel "$mb"
	   -append "iters=$ITERS" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -serial null -monitor none)
	qb=$(median "${q[@]}")
	row "QEMU TCG, tracing off" "$qb" "1.00x"
	qt=$(median "${q[@]}" -trace 'memory_region_ops_write' -D /dev/null)
	row "QEMU TCG, memory_region_ops_write, log" "$qt" "$(ratio "$qt" "$qb")"
else
	echo "  QEMU: qemu-system-x86_64 not installed (skipped)"
fi
