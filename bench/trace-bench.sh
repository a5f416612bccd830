#!/usr/bin/env bash
# Tracing benchmark: tracepoint cost (bench/trace-bench.c), then the pio guest with its I/O events
# (pio_write: one event per `out`) on and off under each backend, next to QEMU TCG tracing one
# event per `out` (memory_region_ops_write, log backend to /dev/null), in the same run. Medians of 5 runs, ratios against tracing off.
set -u
B=${B:-build}
RUNS=${RUNS:-5}
ITERS=${ITERS:-20000}			# KVM: every out is a VM exit (~15-60 us here)
ITERS_INTERP=${ITERS_INTERP:-1000000}
ITERS_TCG=${ITERS_TCG:-2000000}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
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
	add "vmscope $accel, pio_write on, binary" "${vm[@]}" --trace pio_write
	add "vmscope $accel, pio_write on, binary, 64M ring" "${vm[@]}" --trace pio_write --trace ring=64M
	[ "$accel" = interp ] &&
		add "vmscope $accel, pio_write on, binary, clock_gettime" "${vm[@]}" --trace pio_write --trace clock=monotonic
	add "vmscope $accel, pio_write on, log to /dev/null" "${vm[@]}" --trace pio_write --trace-backend log --trace-log /dev/null
	add "vmscope $accel, pio_write on, ftrace" "${vm[@]}" --trace pio_write --trace-backend ftrace
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

# Wall-clock time, and CPU time of all the process's threads (perf stat task-clock) when perf
# works here: on a shared machine the CPU time is the steadier figure.
cpu_ok=0
perf stat -x, -e task-clock true >/dev/null 2>&1 && cpu_ok=1
declare -A times cpus
for r in $(seq "$RUNS"); do
	for k in "${!cmds[@]}"; do
		s=$(date +%s.%N)
		if [ "$cpu_ok" = 1 ]; then
			eval "perf stat -x, -e task-clock -o $tmp/perf ${cmds[$k]}" >/dev/null 2>&1 </dev/null
		else
			eval "${cmds[$k]}" >/dev/null 2>&1 </dev/null
		fi
		e=$(date +%s.%N)
		times[$k]+="$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", e-s}') "
		[ "$cpu_ok" = 1 ] && cpus[$k]+="$(awk -F, '/task-clock/{printf "%.1f", $1}' "$tmp/perf") "
	done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "pio guest (one out per iteration), medians of $RUNS interleaved runs; ratios to the group's first row"
printf '  %-52s %10s %7s %12s %7s\n' "" "wall" "ratio" "CPU" "ratio"
base= cbase=
for k in "${!cmds[@]}"; do
	m=$(median "${times[$k]}")
	c=$([ "$cpu_ok" = 1 ] && median "${cpus[$k]}" || echo 0)
	case ${names[$k]} in *"tracing off"*) base=$m cbase=$c ;; esac
	printf '  %-52s %9ss %7s %10sms %7s\n' "${names[$k]}" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN{printf "%.2fx", a/b}')" \
		"$c" "$(awk -v a="$c" -v b="$cbase" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "-" }')"
done
# Drops: the binary runs once more each, to show what the file holds.
for k in "${!cmds[@]}"; do
	case ${names[$k]} in *binary*)
		eval "${cmds[$k]}" >/dev/null 2>&1 </dev/null
		printf '  %-52s %s\n' "${names[$k]}:" "$("$B/vmtrace" stats "$tmp/t.vmt" 2>/dev/null | sed -n 2p)" ;;
	esac
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
