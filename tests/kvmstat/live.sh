#!/usr/bin/env bash
# kvmstat against real guests: tracepoint counts for a guest doing N port writes (QEMU, and
# vmscope when built), QMP query-stats from a real QEMU, and exact exit counts through vmscope's
# QMP socket. Skips with the reason when the host cannot (no /dev/kvm, no tracefs, no QEMU).
set -u
cd "$(dirname "$0")/../.."
. tests/tap.sh
B=${B:-build}
K=$B/kvmstat
N=5000
GUEST=$B/tests/guests/pio.mb
tmp=$(mktemp -d /tmp/kvmstat-live.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

why=$(kvm_usable) || skip_all "$why"
[ -f "$GUEST" ] || skip_all "$GUEST not built (make check builds the test guests)"

# A tiny QMP client: qmp SOCKET COMMAND-JSON... (prints each reply's "return" as JSON)
qmp() {
	python3 - "$@" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(path); break
    except OSError:
        time.sleep(0.02)
f = s.makefile("rw")
f.readline()
def call(cmd):
    f.write(cmd + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
call('{"execute": "qmp_capabilities"}')
for c in sys.argv[2:]:
    print(json.dumps(call(c)))
PY
}

# wait_for FILE TEXT: until TEXT appears in FILE (the guest's serial output), at most ~20 s
wait_for() {
	for _ in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

tracefs_ok() {
	"$K" -t -f '^kvm_pio$' -f help >/dev/null 2>"$tmp/tferr" || { head -1 "$tmp/tferr"; return 1; }
}

# ---- tracepoints: kvmstat -1 -t -p PID counts the guest's N port writes ----
# The guest starts paused (-S); kvmstat opens its counters; then "cont"; -1 prints as soon as the
# process has ended (its counts are final).
tp_qemu() {
	local sock=$tmp/tp.sock
	qemu-system-x86_64 -accel kvm -bios /usr/share/qemu/qboot.rom -kernel "$GUEST" -append "iters=$N" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-display none -serial "file:$tmp/tp.serial" -monitor none -S -qmp "unix:$sock,server=on,wait=off" \
		-name "kvmstat-live-$$" 2>/dev/null &
	local qp=$!; pids+=($qp)
	"$K" -1 -t -p $qp -s 25 -f '^kvm_pio$' >"$tmp/tp.out" 2>"$tmp/tp.err" &
	local kp=$!
	wait_for "$tmp/tp.err" "reading tracepoints"
	qmp "$sock" '{"execute": "cont"}' >/dev/null
	wait $qp; wait $kp
	local n; n=$(awk '$1 == "kvm_pio" { print $2 }' "$tmp/tp.out")
	if [ "${n:-0}" -ge $N ]; then tap_ok "tracepoints-qemu-kvm_pio ($n >= $N)"
	else tap_fail "tracepoints-qemu-kvm_pio" "kvm_pio ${n:-none} < $N: $(cat "$tmp/tp.out" "$tmp/tp.err")"; fi
}

# vmscope: the process stops itself before exec (same pid), kvmstat attaches, then SIGCONT;
# the vCPU threads vmscope creates afterwards are counted through perf inheritance.
tp_vmscope() {
	sh -c 'kill -STOP $$; exec "$@"' sh $B/vmscope --accel kvm --kernel "$GUEST" --append "iters=$N" --qmp none \
		--serial "file:$tmp/vs.serial" --name "kvmstat-live-$$" 2>"$tmp/vs.err" &
	local vp=$!; pids+=($vp)
	for _ in $(seq 200); do [ "$(awk '{ print $3 }' /proc/$vp/stat 2>/dev/null)" = T ] && break; sleep 0.01; done
	"$K" -1 -t -p $vp -s 25 -f '^kvm_pio$' >"$tmp/vt.out" 2>"$tmp/vt.err" &
	local kp=$!
	wait_for "$tmp/vt.err" "reading tracepoints"
	kill -CONT $vp
	wait $vp; wait $kp
	local n; n=$(awk '$1 == "kvm_pio" { print $2 }' "$tmp/vt.out")
	if [ "${n:-0}" -ge $N ]; then tap_ok "tracepoints-vmscope-kvm_pio ($n >= $N)"
	else tap_fail "tracepoints-vmscope-kvm_pio" "kvm_pio ${n:-none} < $N: $(cat "$tmp/vt.out" "$tmp/vt.err" "$tmp/vs.err")"; fi
}

# A vCPU thread that starts after kvmstat -p gets counters of its own: the process is stopped
# before exec (one thread), kvmstat attaches, vmscope -S creates "vcpu0" paused; once kvmstat has
# refreshed twice since (a rescan each), QMP cont runs the guest: vcpu0's own kvm_pio row has the
# N writes (before, later threads were only summed into their creator and had no vCPU rows).
tp_vmscope_late_vcpu() {
	local sock=$tmp/late.sock out=$tmp/late.json
	sh -c 'kill -STOP $$; exec "$@"' sh $B/vmscope -S --accel kvm --kernel "$GUEST" --append "iters=$N" \
		--qmp "unix:$sock" --serial "file:$tmp/late.serial" 2>"$tmp/late.err" &
	local vp=$!; pids+=($vp)
	for _ in $(seq 200); do [ "$(awk '{ print $3 }' /proc/$vp/stat 2>/dev/null)" = T ] && break; sleep 0.01; done
	"$K" --json --vcpus -t -p $vp -s 0.1 --count 600 -f '^kvm_(pio|userspace_exit)$' >"$out" 2>"$tmp/late.k.err" &
	local kp=$!; pids+=($kp)
	wait_for "$tmp/late.k.err" "reading tracepoints"
	kill -CONT $vp
	local named=
	for _ in $(seq 400); do grep -qx vcpu0 /proc/$vp/task/*/comm 2>/dev/null && { named=1; break; }; sleep 0.05; done
	local lines; lines=$(wc -l <"$out")
	for _ in $(seq 400); do [ "$(wc -l <"$out")" -ge $((lines + 2)) ] && break; sleep 0.05; done
	for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.01; done
	qmp "$sock" '{"execute": "cont"}' >/dev/null
	wait $vp
	local n=0
	for _ in $(seq 400); do
		n=$(grep -o '"name":"vcpu0/kvm_pio","total":[0-9]*' "$out" | tail -1 | sed 's/.*://')
		[ "${n:-0}" -ge $N ] && break; sleep 0.05
	done
	kill $kp 2>/dev/null; wait $kp 2>/dev/null
	if [ -z "$named" ]; then tap_fail "tracepoints-late-vcpu-thread" "no thread named vcpu0 in $vp: $(cat "$tmp/late.err")"
	elif [ "${n:-0}" -ge $N ]; then tap_ok "tracepoints-late-vcpu-thread (vcpu0/kvm_pio $n >= $N)"
	else tap_fail "tracepoints-late-vcpu-thread" "vcpu0/kvm_pio ${n:-none} < $N: $(tail -2 "$out") $(cat "$tmp/late.k.err")"; fi
}

# ---- QMP provider against a real QEMU: exits of the halted guest >= N (io_exits where the
# host counts them: the nested PVM host here counts port I/O in "exits" only) ----
qmp_qemu() {
	local sock=$tmp/q.sock
	# without isa-debug-exit the guest halts after its writes and QEMU stays up
	qemu-system-x86_64 -accel kvm -bios /usr/share/qemu/qboot.rom -kernel "$GUEST" -append "iters=$N" -display none -serial "file:$tmp/q.serial" \
		-monitor none -qmp "unix:$sock,server=on,wait=off" -name "kvmstat-qmp-$$" 2>/dev/null &
	local qp=$!; pids+=($qp)
	if ! wait_for "$tmp/q.serial" "writes of"; then tap_fail "qmp-qemu-io_exits" "guest did not finish"; return; fi
	"$K" --qmp "$sock" -1 -i -s 0.1 -f '^(io_exits|exits)$' >"$tmp/q.out" 2>"$tmp/q.err"
	local n io; n=$(awk '$1 == "exits" { print $2 }' "$tmp/q.out"); io=$(awk '$1 == "io_exits" { print $2 }' "$tmp/q.out")
	if [ "${n:-0}" -ge $N ] && { [ "${io:-0}" = 0 ] || [ "$io" -ge $N ]; }; then tap_ok "qmp-qemu-exits ($n >= $N, io_exits ${io:-0})"
	else tap_fail "qmp-qemu-exits" "exits ${n:-none} < $N: $(cat "$tmp/q.out" "$tmp/q.err")"; fi
	# -g finds the guest by its -name (QEMU itself, not a wrapper); it reads tracepoints
	local why
	if ! why=$(tracefs_ok); then tap_skip "guest-by-name" "tracepoints unavailable: $why"; return; fi
	"$K" -g "kvmstat-qmp-$$" -1 -t -s 0.1 -f '^kvm_pio$' >/dev/null 2>"$tmp/g.err"
	if grep -q "reading tracepoints" "$tmp/g.err"; then tap_ok "guest-by-name"; else tap_fail "guest-by-name" "$(cat "$tmp/g.err")"; fi
	kill $qp 2>/dev/null; wait $qp 2>/dev/null
}

# ---- vmscope's own counters through its QMP socket, exactly, under each backend ----
qmp_vmscope() {
	local accel=$1 sock=$tmp/v-$1.sock out=$tmp/v-$1.serial
	# --no-shutdown: the socket stays up after the guest's debug-exit, like QEMU's -no-shutdown
	$B/vmscope --accel "$accel" --kernel "$GUEST" --append "iters=$N" --qmp "unix:$sock" --serial "file:$out" \
		--no-shutdown 2>"$tmp/v-$accel.err" &
	local vp=$!; pids+=($vp)
	if ! wait_for "$out" "writes of"; then tap_fail "qmp-vmscope-$accel-exact" "guest did not finish: $(cat "$tmp/v-$accel.err")"; return; fi
	for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.01; done
	local state; state=$(qmp "$sock" '{"execute": "query-status"}')
	"$K" --qmp "$sock" -1 -i -s 0.1 -f '^vmscope\.' >"$tmp/v-$accel.out" 2>"$tmp/v-$accel.k.err"
	local n; n=$(awk '$1 == "vmscope.pio_unassigned_writes" { print $2 }' "$tmp/v-$accel.out")
	if [ "${n:-0}" = $N ]; then tap_ok "qmp-vmscope-$accel-exact ($n == $N)"
	else tap_fail "qmp-vmscope-$accel-exact" "port writes ${n:-none} != $N: $(cat "$tmp/v-$accel.out" "$tmp/v-$accel.k.err")"; fi
	# the guest's own I/O exits agree between the backends (kicks from the host vary; they are
	# exits_request, not compared)
	local io; io=$(awk '$1 == "vmscope.kvm_exits_io" || $1 == "vmscope.interp_pio" { print $2 }' "$tmp/v-$accel.out")
	echo "${io:-none}" >"$tmp/io-$accel"
	if [ -f "$tmp/io-kvm" ] && [ "$accel" != kvm ]; then
		if [ "$(cat "$tmp/io-kvm")" = "$io" ]; then tap_ok "qmp-vmscope-io-exits-agree (kvm == $accel == $io)"
		else tap_fail "qmp-vmscope-io-exits-agree" "kvm_exits_io $(cat "$tmp/io-kvm") != interp_pio $io"; fi
	fi
	case $state in *'"shutdown"'*) tap_ok "qmp-vmscope-$accel-no-shutdown";; *) tap_fail "qmp-vmscope-$accel-no-shutdown" "$state";; esac
	qmp "$sock" '{"execute": "quit"}' >/dev/null
	wait $vp
	if [ ! -e "$sock" ]; then tap_ok "qmp-vmscope-$accel-socket-removed"; else tap_fail "qmp-vmscope-$accel-socket-removed" "$sock left behind"; fi
}

# ---- without -p: every vmscope guest's QMP socket (here in --qmp-dir), stale ones skipped ----
qmp_discovery() {
	local run=$tmp/run; mkdir -p "$run"
	local a b d
	sh -c 'exec "$@" --qmp "unix:'"$run"'/$$.qmp"' sh $B/vmscope --accel kvm --kernel "$GUEST" --append "iters=$N" \
		--serial "file:$tmp/da.serial" --no-shutdown --name "kvmstat-disc-a" 2>"$tmp/da.err" &
	a=$!; pids+=($a)
	sh -c 'exec "$@" --qmp "unix:'"$run"'/vmscope-$$.qmp"' sh $B/vmscope --accel kvm --kernel "$GUEST" --append "iters=$N" \
		--serial "file:$tmp/db.serial" --no-shutdown --name "kvmstat-disc-b" 2>"$tmp/db.err" &
	b=$!; pids+=($b)
	sleep 0 & d=$!; wait $d	# a pid that has ended: its socket file is stale
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$run/$d.qmp"
	if ! wait_for "$tmp/da.serial" "writes of" || ! wait_for "$tmp/db.serial" "writes of"; then
		tap_fail "qmp-discovery" "guests did not finish: $(cat "$tmp/da.err" "$tmp/db.err")"; return; fi
	for _ in $(seq 200); do [ -S "$run/$a.qmp" ] && [ -S "$run/vmscope-$b.qmp" ] && break; sleep 0.01; done
	"$K" --qmp-dir "$run" -1 -i -s 0.1 -f '^vmscope\.pio_unassigned_writes$' >"$tmp/d.out" 2>"$tmp/d.err"
	local rc=$? n; n=$(awk '$1 == "vmscope.pio_unassigned_writes" { print $2 }' "$tmp/d.out")
	if [ $rc = 0 ] && [ "${n:-0}" = $((2 * N)) ] && grep -q "vmscope-qmp" "$tmp/d.err" && ! grep -q "$d" "$tmp/d.err"; then
		tap_ok "qmp-discovery-every-guest ($n == 2 x $N, stale socket skipped quietly)"
	else tap_fail "qmp-discovery-every-guest" "exit $rc, writes ${n:-none} != $((2 * N)): $(cat "$tmp/d.out" "$tmp/d.err")"; fi
	# the screen's per-guest view (key b) names each guest from its command line
	if command -v tmux >/dev/null; then
		local T="tmux -L kvmstat-live-$$" shot=""
		$T -f /dev/null new-session -d -s ui -x 120 -y 40 \
			"env TERM=xterm-256color LANG=C.UTF-8 $(realpath "$K") --qmp-dir $run -i -s 0.2; sleep 30"
		for _ in $(seq 100); do $T capture-pane -p -t ui | grep -q "kvm statistics" && break; sleep 0.05; done
		$T send-keys -t ui b
		for _ in $(seq 100); do
			shot=$($T capture-pane -p -t ui)
			grep -q "kvmstat-disc-a ($a)" <<<"$shot" && grep -q "kvmstat-disc-b ($b)" <<<"$shot" && break; sleep 0.05
		done
		$T kill-server 2>/dev/null
		if grep -q "kvmstat-disc-a ($a)" <<<"$shot" && grep -q "kvmstat-disc-b ($b)" <<<"$shot"; then
			tap_ok "qmp-discovery-guests-named"
		else tap_fail "qmp-discovery-guests-named" "$(head -20 <<<"$shot")"; fi
	else tap_skip "qmp-discovery-guests-named" "tmux not installed"; fi
	kill $a $b 2>/dev/null; wait $a $b 2>/dev/null
}

if why=$(qemu_usable); then
	if why=$(tracefs_ok); then tp_qemu; else tap_skip "tracepoints-qemu-kvm_pio" "tracepoints unavailable: $why"; fi
	qmp_qemu
else
	tap_skip "tracepoints-qemu-kvm_pio" "$why"
	tap_skip "qmp-qemu-exits" "$why"
fi
if [ -x $B/vmscope ] && $B/vmscope --help 2>&1 | grep -q -- '--qmp'; then
	if why=$(tracefs_ok); then tp_vmscope; tp_vmscope_late_vcpu
	else tap_skip "tracepoints-vmscope-kvm_pio" "tracepoints unavailable: $why"; tap_skip "tracepoints-late-vcpu-thread" "$why"; fi
	qmp_vmscope kvm
	qmp_discovery
	if $B/vmscope --help 2>&1 | grep -q interp; then qmp_vmscope interp; else tap_skip "qmp-vmscope-interp-exact" "vmscope has no interpreter backend yet (--accel interp)"; fi
else
	tap_skip "tracepoints-vmscope-kvm_pio" "vmscope with --qmp not built yet"
	tap_skip "qmp-vmscope-exact" "vmscope with --qmp not built yet"
fi
tap_done
