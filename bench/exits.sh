#!/usr/bin/env bash
# Issue 2 benchmarks, vmscope side by side with QEMU and a bare KVM_RUN loop in the same run:
#   - pio and mmio exits per second: (N_big - N_small) / (t_big - t_small) per run pair, so
#     start-up cancels; the median of BENCH_RUNS pairs (default 5);
#   - hello, process start to exit: the median wall time of BENCH_HELLO_RUNS runs (default 10).
# Figures, not pass/fail. Configurations that cannot run here say why.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/tap.sh"		# kvm_usable, qemu_usable
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
RUNS=${BENCH_RUNS:-5}
HELLO_RUNS=${BENCH_HELLO_RUNS:-10}
QBOOT=/usr/share/qemu/qboot.rom
VMSCOPE=$B/vmscope
BARE=$B/bench/kvm_bare_loop

# Iterations (small, big) per accelerator class: enough that the big run dominates start-up.
declare -A N_SMALL=([kvm]=5000 [tcg]=200000 [interp]=200000)
declare -A N_BIG=([kvm]=100000 [tcg]=2000000 [interp]=4000000)

qemu_common=(-m 64 -nodefaults -no-user-config -display none -serial stdio -no-reboot
	     -device isa-debug-exit,iobase=0xf4,iosize=0x04)
qemu_cpu=()

usecs() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# cmd_CONFIG GUEST APPEND: sets cmd=(the command line that runs the guest to its end).
cmd_vmscope_kvm()      { cmd=("$VMSCOPE" --accel kvm -m 64 --kernel "$gdir/$1.elf" --append "$2"); }
cmd_vmscope_kvm_kernel_irqchip() { cmd=("$VMSCOPE" --accel kvm --kernel-irqchip on -m 64 --kernel "$gdir/$1.elf" --append "$2"); }
cmd_vmscope_interp()   { cmd=("$VMSCOPE" --accel interp -m 64 --kernel "$gdir/$1.elf" --append "$2"); }
cmd_qemu_kvm_pc()      { cmd=(qemu-system-x86_64 -accel kvm "${qemu_cpu[@]}" -M pc -bios "$QBOOT" "${qemu_common[@]}" -kernel "$gdir/$1.mb" -append "$2"); }
cmd_qemu_kvm_microvm() { cmd=(qemu-system-x86_64 -accel kvm "${qemu_cpu[@]}" -M microvm -bios "$QBOOT" "${qemu_common[@]}" -kernel "$gdir/$1.mb" -append "$2"); }
cmd_qemu_tcg_pc()      { cmd=(qemu-system-x86_64 -accel tcg -M pc -bios "$QBOOT" "${qemu_common[@]}" -kernel "$gdir/$1.mb" -append "$2"); }
cmd_qemu_tcg_microvm() { cmd=(qemu-system-x86_64 -accel tcg -M microvm -bios "$QBOOT" "${qemu_common[@]}" -kernel "$gdir/$1.mb" -append "$2"); }
cmd_bare()             { cmd=("$BARE" "$1" "${2#iters=}"); }

# Configurations as data: name, accelerator class, runner, which rows (pio/mmio/hello).
configs=(
	"bare KVM_RUN loop|kvm|cmd_bare|exits"
	"vmscope --accel kvm|kvm|cmd_vmscope_kvm|exits hello"
	"vmscope kvm --kernel-irqchip on|kvm|cmd_vmscope_kvm_kernel_irqchip|exits hello"
	"vmscope --accel interp|interp|cmd_vmscope_interp|exits hello"
	"qemu kvm -M pc -bios qboot|kvm|cmd_qemu_kvm_pc|exits hello"
	"qemu kvm -M microvm -bios qboot|kvm|cmd_qemu_kvm_microvm|exits hello"
	"qemu tcg -M pc -bios qboot|tcg|cmd_qemu_tcg_pc|exits hello"
	"qemu tcg -M microvm -bios qboot|tcg|cmd_qemu_tcg_microvm|hello"
)

# Why a configuration cannot run here, or nothing.
unavailable() {
	local name=$1 class=$2 why
	case $name in
	vmscope*) [ -x "$VMSCOPE" ] || { echo "not built ($VMSCOPE)"; return; } ;;
	bare*) [ -x "$BARE" ] || { echo "not built ($BARE)"; return; } ;;
	qemu*) why=$(qemu_usable) || { echo "$why"; return; }
	       [ -r "$QBOOT" ] || { echo "$QBOOT missing"; return; } ;;
	esac
	case $name in
	*kernel-irqchip*) "$VMSCOPE" --help 2>&1 | grep -q -- --kernel-irqchip || { echo "no --kernel-irqchip in vmscope --help"; return; } ;;
	*interp*) "$VMSCOPE" --help 2>&1 | grep -q interp || { echo "not offered by vmscope --help yet"; return; } ;;
	esac
	if [ "$class" = kvm ]; then why=$(kvm_usable) || { echo "$why"; return; }; fi
}

# time_run CMD_FN GUEST APPEND: microseconds for one run, or "fail:STATUS" when it did not end
# as it should (status 1 from a guest's debug-exit 0; 0 from the bare loop).
time_run() {
	local t0 t1 st want=1 cmd=()
	"$1" "$2" "$3"
	[ "$1" = cmd_bare ] && want=0
	t0=$(usecs)
	timeout -k 5 120 "${cmd[@]}" >/dev/null 2>&1 </dev/null
	st=$?
	t1=$(usecs)
	if [ "$st" != "$want" ]; then echo "fail:$st"; else echo $((t1 - t0)); fi
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
fmt_rate() { awk -v r="$1" 'BEGIN {if (r == "nan") print "-"; else printf "%\047.0f", r}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.2fx", a / b}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.1f%%", 100 * a / b}'; }

# One differential pair: exits/s, or "fail:STATUS".
exit_rate_once() {
	local runner=$1 guest=$2 class=$3 ns=${N_SMALL[$3]} nb=${N_BIG[$3]} ts tb
	ts=$(time_run "$runner" "$guest" "iters=$ns"); [[ $ts == fail* ]] && { echo "$ts"; return; }
	tb=$(time_run "$runner" "$guest" "iters=$nb"); [[ $tb == fail* ]] && { echo "$tb"; return; }
	awk -v n=$((nb - ns)) -v t=$((tb - ts)) 'BEGIN {print (t > 0 ? n / (t / 1e6) : "nan")}'
}

# -cpu host fails on some hosts (QEMU 7.2 asserts on MSR 0x10a under the PVM host): first that works.
probe_qemu_cpu() {
	local cpu t
	qemu_usable >/dev/null && kvm_usable >/dev/null && [ -r "$QBOOT" ] || return 0
	for cpu in "-cpu host" "-cpu host,-arch-capabilities" ""; do
		read -r -a qemu_cpu <<<"$cpu"
		t=$(time_run cmd_qemu_kvm_pc hello "")
		if [[ $t != fail* ]]; then
			echo "qemu kvm: ${cpu:-default cpu}"
			return
		fi
	done
	echo "qemu kvm: no -cpu option works here"
}

declare -A RESULT WHY
# Measures every configuration first, then prints, so each row can be compared with any other.
bench_exits() {
	local guest=$1 line name class runner rows why r ref bare i
	declare -A rates=()
	# Round-robin over the configurations, so drift on a shared machine hits them all alike.
	for ((i = 0; i < RUNS; i++)); do
		for line in "${configs[@]}"; do
			IFS='|' read -r name class runner rows <<<"$line"
			[[ $rows == *exits* ]] || continue
			if ((i == 0)); then
				why=$(unavailable "$name" "$class")
				[ -n "$why" ] && WHY[$guest/$name]=$why
			fi
			[ -n "${WHY[$guest/$name]:-}" ] && continue
			r=$(exit_rate_once "$runner" "$guest" "$class")
			if [[ $r == fail* ]]; then WHY[$guest/$name]="failed (exit status ${r#fail:})"; continue; fi
			rates[$name]+="$r "
		done
	done
	for line in "${configs[@]}"; do
		IFS='|' read -r name class runner rows <<<"$line"
		RESULT[$guest/$name]=nan
		[ -n "${rates[$name]:-}" ] && [ -z "${WHY[$guest/$name]:-}" ] && \
			RESULT[$guest/$name]=$(printf '%s\n' ${rates[$name]} | median)
	done
	echo
	echo "== $guest: exits per second (median of $RUNS differential runs; kvm ${N_SMALL[kvm]}/${N_BIG[kvm]}," \
	     "tcg ${N_SMALL[tcg]}/${N_BIG[tcg]}, interp ${N_SMALL[interp]}/${N_BIG[interp]} iterations, CPL0)"
	printf '  %-34s %14s %16s %10s\n' configuration "exits/s" "vs qemu kvm pc" "vs bare"
	ref=${RESULT[$guest/qemu kvm -M pc -bios qboot]}
	for line in "${configs[@]}"; do
		IFS='|' read -r name class runner rows <<<"$line"
		[[ $rows == *exits* ]] || continue
		if [ -n "${WHY[$guest/$name]:-}" ]; then printf '  %-34s %s\n' "$name" "${WHY[$guest/$name]}"; continue; fi
		r=${RESULT[$guest/$name]}
		bare=${RESULT[$guest/bare KVM_RUN loop]}
		[ "$class" = kvm ] || bare=nan		# the bare loop is the limit for KVM only
		printf '  %-34s %14s %16s %10s\n' "$name" "$(fmt_rate "$r")" "$(ratio "$r" "$ref")" "$(pct "$r" "$bare")"
	done
}

bench_hello() {
	local line name class runner rows why t i best=nan
	declare -A times=() hwhy=() HELLO=()
	for ((i = 0; i < HELLO_RUNS; i++)); do		# round-robin, as for the exits
		for line in "${configs[@]}"; do
			IFS='|' read -r name class runner rows <<<"$line"
			[[ $rows == *hello* ]] || continue
			if ((i == 0)); then
				why=$(unavailable "$name" "$class")
				[ -n "$why" ] && hwhy[$name]=$why
			fi
			[ -n "${hwhy[$name]:-}" ] && continue
			t=$(time_run "$runner" hello "")
			if [[ $t == fail* ]]; then hwhy[$name]="failed (exit status ${t#fail:})"; continue; fi
			times[$name]+="$t "
		done
	done
	echo
	echo "== hello: process start to exit, ms (median of $HELLO_RUNS runs)"
	for line in "${configs[@]}"; do
		IFS='|' read -r name class runner rows <<<"$line"
		[[ $rows == *hello* ]] || continue
		if [ -n "${hwhy[$name]:-}" ]; then printf '  %-34s %s\n' "$name" "${hwhy[$name]}"; continue; fi
		HELLO[$name]=$(printf '%s\n' ${times[$name]} | median | awk '{printf "%.1f", $1 / 1000}')
		[[ $name == qemu* ]] && best=$(awk -v a="$best" -v b="${HELLO[$name]}" 'BEGIN {print (a == "nan" || b < a) ? b : a}')
		printf '  %-34s %10s ms\n' "$name" "${HELLO[$name]}"
	done
	for name in "vmscope --accel kvm" "vmscope kvm --kernel-irqchip on" "vmscope --accel interp"; do
		[ -n "${HELLO[$name]:-}" ] || continue
		printf '  %s / fastest qemu: %s (target: at most 0.20x)\n' "$name" "$(ratio "${HELLO[$name]}" "$best")"
	done
}

echo "vmscope benchmarks (issue 2) — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
[ -r "$gdir/pio.mb" ] || { echo "guests not built: make guests"; exit 1; }
probe_qemu_cpu
bench_exits pio
bench_exits mmio
bench_hello
# Why start-up costs what it does: a bare VM's creation and teardown, with and without KVM's irqchip.
echo
echo "== KVM VM create / teardown (one vCPU; median of 5): the floor under start-to-exit"
if why=$(kvm_usable); then
	if [ -x "$B/bench/kvm_vm_cost" ]; then "$B/bench/kvm_vm_cost" 5; else echo "  $B/bench/kvm_vm_cost not built"; fi
else
	echo "  $why"
fi
# The target of issue 2: vmscope at least QEMU's rate and within 5% of the bare loop.
echo
for g in pio mmio; do
	v=${RESULT[$g/vmscope --accel kvm]:-nan}
	printf '%s: vmscope kvm %s of the bare loop, %s of qemu kvm pc (target: >= 95%% and >= 1.00x)\n' \
		"$g" "$(pct "$v" "${RESULT[$g/bare KVM_RUN loop]:-nan}")" "$(ratio "$v" "${RESULT[$g/qemu kvm -M pc -bios qboot]:-nan}")"
done
