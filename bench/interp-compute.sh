#!/usr/bin/env bash
# The interpreter's speed on the compute guest (15 instructions per iteration) next to QEMU TCG
# (same image, same run) and vmscope --accel kvm (ring3=1: CPL3 runs natively under nested KVM),
# as guest instructions per second: (N_big - N_small) * 15 / (t_big - t_small), so start-up
# cancels; the median of BENCH_RUNS pairs (default 5), run round-robin so machine load hits every
# configuration alike. Figures, not pass/fail; a configuration that cannot run says why. The x87
# loop (fpu=1: 10 of the 15 instructions are x87) is compared with QEMU on the same loop.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/tap.sh"		# kvm_usable, qemu_usable
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
RUNS=${BENCH_RUNS:-5}
QBOOT=/usr/share/qemu/qboot.rom
VMSCOPE=$B/vmscope
INSNS=15

# name|runner|append extra|N_small|N_big
configs=(
	"vmscope --accel interp|run_interp||2000000|12000000"
	"qemu-system-x86_64 -accel tcg|run_tcg||20000000|120000000"
	"vmscope --accel kvm (ring3=1)|run_kvm|ring3=1|20000000|200000000"
	"vmscope --accel interp, x87 loop|run_interp|fpu=1|200000|1200000"
	"qemu-system-x86_64 -accel tcg, x87 loop|run_tcg|fpu=1|2000000|12000000"
	"vmscope --accel kvm (ring3=1), x87 loop|run_kvm|ring3=1 fpu=1|2000000|20000000"
)

# runner APPEND: sets cmd=(the command line)
run_interp() { cmd=("$VMSCOPE" --accel interp -m 64 --kernel "$gdir/compute.elf" --append "$1"); }
run_kvm() { cmd=("$VMSCOPE" --accel kvm -m 64 --kernel "$gdir/compute.elf" --append "$1"); }
run_tcg() {
	cmd=(qemu-system-x86_64 -accel tcg -M pc -bios "$QBOOT" -m 64 -nodefaults -no-user-config -display none
	     -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
	     -kernel "$gdir/compute.mb" -append "$1")
}

unavailable() {
	case $1 in
	vmscope*) [ -x "$VMSCOPE" ] && [ -r "$gdir/compute.elf" ] || { echo "not built"; return; } ;;
	qemu*) qemu_usable >/dev/null || { qemu_usable; return; }
	       [ -r "$QBOOT" ] && [ -r "$gdir/compute.mb" ] || { echo "$QBOOT or compute.mb missing"; return; } ;;
	esac
	case $1 in *kvm*) kvm_usable >/dev/null || kvm_usable ;; esac
}

usecs() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

time_run() {	# runner append -> microseconds or fail:STATUS
	local t0 t1 st cmd=()
	"$1" "$2"
	t0=$(usecs)
	timeout -k 5 300 "${cmd[@]}" >/dev/null 2>&1 </dev/null
	st=$?
	t1=$(usecs)
	[ "$st" = 1 ] && echo $((t1 - t0)) || echo "fail:$st"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A rates why
for ((i = 0; i < RUNS; i++)); do
	for line in "${configs[@]}"; do
		IFS='|' read -r name runner extra ns nb <<<"$line"
		((i == 0)) && why[$name]=$(unavailable "$name")
		[ -n "${why[$name]}" ] && continue
		ts=$(time_run "$runner" "iters=$ns $extra"); tb=$(time_run "$runner" "iters=$nb $extra")
		if [[ $ts == fail* || $tb == fail* ]]; then why[$name]="failed ($ts $tb)"; continue; fi
		rates[$name]+="$(awk -v n=$(((nb - ns) * INSNS)) -v t=$((tb - ts)) 'BEGIN {print (t > 0 ? n / t : "nan")}') "
	done
done

echo
echo "== compute guest: guest MIPS (median of $RUNS differential runs, $INSNS instructions per iteration)"
printf '  %-42s %12s %14s\n' configuration MIPS "vs qemu tcg"
for line in "${configs[@]}"; do
	IFS='|' read -r name runner extra ns nb <<<"$line"
	if [ -n "${why[$name]}" ]; then printf '  %-42s %s\n' "$name" "${why[$name]}"; continue; fi
	qemu="qemu-system-x86_64 -accel tcg"
	case $name in *", x87 loop") qemu+=", x87 loop" ;; esac	# each loop against QEMU on the same loop
	ref=$(printf '%s\n' ${rates[$qemu]:-} | median)
	m=$(printf '%s\n' ${rates[$name]} | median)
	printf '  %-42s %12.1f %14s\n' "$name" "$m" "$(awk -v a="$m" -v b="$ref" 'BEGIN {if (b == "nan" || b == 0) print "-"; else printf "%.3fx", a / b}')"
done
echo "  (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the machine is shared, compare ratios)"
