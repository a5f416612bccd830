#!/usr/bin/env bash
# Tracing benchmark: tracepoint cost (bench/trace-bench.c), then the pio guest with its I/O events
# on and off under each backend, next to QEMU TCG tracing one event per `out` (log backend to
# /dev/null), in the same run. Medians of 5 runs, ratios against tracing off.
set -u
B=${B:-build}
RUNS=${RUNS:-5}
ITERS=${ITERS:-20000}			# KVM: every out is a VM exit (~15-60 us here)
ITERS_INTERP=${ITERS_INTERP:-1000000}
ITERS_TCG=${ITERS_TCG:-2000000}
"$B/bench/trace-bench" "${TMPDIR:-/tmp}" || exit 1
echo
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

guest=$B/tests/guests/pio.elf
if [ ! -x "$B/vmscope" ] || [ ! -f "$guest" ]; then
	echo "pio guest benchmark skipped: $B/vmscope or $guest not built"
	exit 0
fi

# Configurations are timed round-robin (run 1 of each, then run 2 of each, ...), so a change in
# the machine's load during the benchmark hits them all alike.
names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$(printf '%q ' "$@")"); }
for accel in kvm interp; do
	"$B/vmscope" --accel "$accel" --kernel "$guest" --append "iters=10" >/dev/null 2>"$tmp/err"
	if [ $? != 1 ]; then	# the pio guest ends with debug-exit status 1
		echo "$accel: not usable here (skipped): $(head -n 1 "$tmp/err")"; continue
	fi
	it=$ITERS; [ "$accel" = interp ] && it=$ITERS_INTERP
	vm=("$B/vmscope" --accel "$accel" --kernel "$guest" --append "iters=$it" --trace-file "$tmp/t.vmt")
	add "vmscope $accel iters=$it, tracing off" "${vm[@]}"
	add "vmscope $accel, pio_* on, binary" "${vm[@]}" --trace 'pio_*'
	add "vmscope $accel, pio_* on, log to /dev/null" "${vm[@]}" --trace 'pio_*' --trace-backend log --trace-log /dev/null
	add "vmscope $accel, pio_* on, ftrace" "${vm[@]}" --trace 'pio_*' --trace-backend ftrace
	add "vmscope $accel, usdt, no consumer attached" "${vm[@]}" --trace-backend usdt
done
if command -v qemu-system-x86_64 >/dev/null; then
	q=(qemu-system-x86_64 -accel tcg -M pc -bios /usr/share/qemu/qboot.rom -nographic -no-reboot
	   -kernel "$B/tests/guests/pio.mb" -append "iters=$ITERS_TCG" -device isa-debug-exit,iobase=0xf4,iosize=0x04
	   -serial null -monitor none)
	add "QEMU TCG iters=$ITERS_TCG, tracing off" "${q[@]}"
	add "QEMU TCG, memory_region_ops_write, log to /dev/null" "${q[@]}" -trace memory_region_ops_write -D /dev/null
else
	echo "QEMU: qemu-system-x86_64 not installed (skipped)"
fi

declare -A times
for r in $(seq "$RUNS"); do
	for k in "${!cmds[@]}"; do
		s=$(date +%s.%N); eval "${cmds[$k]}" >/dev/null 2>&1 </dev/null; e=$(date +%s.%N)
		times[$k]+="$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", e-s}') "
	done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "pio guest (one out per iteration), medians of $RUNS interleaved runs; ratio to the first row of its group"
base=
for k in "${!cmds[@]}"; do
	m=$(median "${times[$k]}")
	case ${names[$k]} in *"tracing off"*) base=$m ;; esac
	printf '  %-52s %9ss  %s\n' "${names[$k]}" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN{printf "%.2fx", a/b}')"
done
if [ -f "$tmp/t.vmt" ]; then
	echo "  (last trace file: $("$B/vmtrace" stats "$tmp/t.vmt" 2>/dev/null | sed -n 2p))"
fi
