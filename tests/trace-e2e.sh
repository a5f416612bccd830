#!/usr/bin/env bash
# Tracing end to end, on every accelerator this host runs: the pio guest with N writes to its
# port gives exactly N pio_write records for that port on each backend (binary through vmtrace,
# log, ftrace in a private tracefs instance next to the kernel's kvm:kvm_pio, usdt through gdb's
# -probe-stap breakpoints); the Perfetto JSON of a real run parses and has the expected events;
# profile resolves the exits' RIPs to pio_loop and to addr2line's line; option errors exit 2.
. tests/tap.sh
B=${B:-build}
vm=$B/vmscope vt=$B/vmtrace guest=$B/tests/guests/pio.elf
N=500 PORT=0x80
[ -x "$vm" ] && [ -x "$vt" ] && [ -f "$guest" ] || skip_all "$vm, $vt or $guest not built"
tmp=$(mktemp -d)
inst=
cleanup() {
	if [ -n "$inst" ] && [ -d "$inst" ]; then
		echo 0 >"$inst/events/kvm/kvm_pio/enable" 2>/dev/null
		rmdir "$inst" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

accels=()
if why=$(kvm_usable); then accels+=(kvm); else tap_skip "kvm: all backends" "$why"; fi
"$vm" --accel interp --kernel "$guest" --append iters=1 >/dev/null 2>"$tmp/err"
if [ $? = 1 ]; then	# the pio guest's debug-exit status
	accels+=(interp)
else
	tap_skip "interp: all backends" "vmscope --accel interp does not run here yet: $(head -n 1 "$tmp/err")"
fi

run() { "$vm" --accel "$accel" --kernel "$guest" --append "iters=$N port=$PORT" "$@"; }

check_binary() {
	run --trace 'pio_*,vcpu_*' --trace-file "$tmp/$accel.vmt" >/dev/null 2>"$tmp/err"
	local rc=$? n
	n=$("$vt" print --event pio_write "$tmp/$accel.vmt" | grep -c "pio_write .* port $PORT size 1 ")
	if [ "$rc" = 1 ] && [ "$n" = "$N" ]; then tap_ok "$accel binary: $N pio_write records for port $PORT"
	else tap_fail "$accel binary: $N pio_write records for port $PORT" "exit $rc, $n records; $(head -3 "$tmp/err")"; fi
}

check_log() {
	run --trace pio_write --trace-backend log --trace-log "$tmp/$accel.log" >/dev/null 2>"$tmp/err"
	local rc=$? n
	n=$(grep -cE "^[0-9]+@[0-9]+\.[0-9]{6}:pio_write unassigned port $PORT size 1 " "$tmp/$accel.log")
	if [ "$rc" = 1 ] && [ "$n" = "$N" ]; then tap_ok "$accel log: $N pio_write lines for port $PORT"
	else tap_fail "$accel log: $N pio_write lines for port $PORT" "exit $rc, $n lines; $(head -3 "$tmp/err")"; fi
}

check_ftrace() {
	local root
	root=$(awk '{for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "tracefs") { print $5; exit } break }}' /proc/self/mountinfo)
	if [ -z "$root" ] || [ ! -w "$root/instances" ]; then
		tap_skip "$accel ftrace" "tracefs not mounted or $root/instances not writable (needs root)"; return
	fi
	inst=$root/instances/vmscope-e2e-$$-$accel
	if ! mkdir "$inst" 2>"$tmp/err"; then tap_skip "$accel ftrace" "cannot create a tracefs instance: $(cat "$tmp/err")"; inst=; return; fi
	local kvm_on=0
	if [ "$accel" = kvm ] && echo "port == $((PORT))" >"$inst/events/kvm/kvm_pio/filter" 2>/dev/null &&
	   echo 1 >"$inst/events/kvm/kvm_pio/enable" 2>/dev/null; then kvm_on=1; fi
	run --trace pio_write --trace-backend ftrace --trace "tracefs=$inst" >/dev/null 2>"$tmp/err"
	local rc=$? n tid k
	n=$(grep -c "tracing_mark_write: vmscope: vcpu0 pio_write unassigned port $PORT size 1 " "$inst/trace")
	if [ "$rc" = 1 ] && [ "$n" = "$N" ]; then tap_ok "$accel ftrace: $N markers in tracefs"
	else tap_fail "$accel ftrace: $N markers in tracefs" "exit $rc, $n markers; $(head -3 "$tmp/err")"; fi
	if [ "$kvm_on" = 1 ]; then
		tid=$(grep -m1 'tracing_mark_write: vmscope: vcpu0' "$inst/trace" | sed -E 's/^ *.*-([0-9]+) +\[.*/\1/')
		k=$(grep -E -- "-$tid +\[.*kvm_pio: pio_write at 0x$(printf %x $((PORT))) " "$inst/trace" | wc -l)
		if [ "$k" = "$N" ]; then tap_ok "$accel ftrace: interleaved with $N kernel kvm:kvm_pio events of the vCPU thread"
		else tap_skip "$accel ftrace: interleaved with kvm:kvm_pio" "the kernel recorded $k kvm_pio events for thread $tid, not $N"; fi
	fi
	echo 0 >"$inst/events/kvm/kvm_pio/enable" 2>/dev/null
	rmdir "$inst"; inst=
}

check_usdt() {
	gdb_usable >/dev/null || { tap_skip "$accel usdt" "gdb not installed"; return; }
	cat >"$tmp/usdt.gdb" <<-GDB
	set pagination off
	break -probe-stap vmscope:pio_write
	condition 1 \$_probe_arg1 == $((PORT))
	commands 1
	silent
	continue
	end
	run
	info breakpoints
	GDB
	timeout 300 gdb -batch -nx -x "$tmp/usdt.gdb" --args "$vm" --accel "$accel" --kernel "$guest" \
		--append "iters=$N port=$PORT" --trace-backend usdt >"$tmp/gdb.out" 2>&1
	if grep -q "breakpoint already hit $N times" "$tmp/gdb.out"; then tap_ok "$accel usdt: gdb's probe breakpoint hit $N times"
	else tap_fail "$accel usdt: gdb's probe breakpoint hit $N times" "$(grep -E 'hit|rror' "$tmp/gdb.out" | head -5)"; fi
	# Not attached and not enabled: the probes cost nothing and fire nowhere; the run still works.
	run --trace-backend usdt >/dev/null 2>&1
	[ $? = 1 ] && tap_ok "$accel usdt: runs with no consumer attached" || tap_fail "$accel usdt: runs with no consumer attached"
}

check_perfetto_profile() {
	"$vt" convert --perfetto "$tmp/$accel.vmt" >"$tmp/$accel.json"
	if python3 -m json.tool "$tmp/$accel.json" >/dev/null &&
	   python3 - "$tmp/$accel.json" "$N" "$PORT" <<-'PY'
	import json, sys
	ev = json.load(open(sys.argv[1]))["traceEvents"]
	n, port = int(sys.argv[2]), int(sys.argv[3], 0)
	w = [e for e in ev if e.get("name") == "pio_write" and e["args"]["port"] == port]
	assert len(w) == n, len(w)
	assert all(e["ph"] == "i" and e["tid"] == 0 for e in w)
	b = sum(1 for e in ev if e.get("name") == "guest" and e["ph"] == "B")
	e_ = sum(1 for e in ev if e.get("name") == "guest" and e["ph"] == "E")
	assert b >= n and b - e_ in (0, 1), (b, e_)
	PY
	then tap_ok "$accel perfetto: JSON parses, $N pio_write events, guest slices"
	else tap_fail "$accel perfetto: JSON parses, $N pio_write events, guest slices"; fi

	"$vt" profile "$tmp/$accel.vmt" --elf "$guest" >"$tmp/prof" 2>&1
	local addr want
	addr=$(awk '/^by address:/{f=1; next} f && $1 ~ /^[0-9]+$/ {print $3; exit}' "$tmp/prof")
	want=$(addr2line -e "$guest" "$addr" 2>/dev/null | sed 's|.*/||')
	if grep -qE "^ +$N +[0-9.]+%  pio_loop$" "$tmp/prof" && grep -qE "^ +$N .* $addr +pio_loop\+0x[0-9a-f]+ +.*/$want$" "$tmp/prof"; then
		tap_ok "$accel profile: the exits' RIP is pio_loop at $want"
	else
		tap_fail "$accel profile: the exits' RIP is pio_loop at $want" "$(head -12 "$tmp/prof")"
	fi
}

check_mmio() {
	local mg=$B/tests/guests/mmio.elf n
	[ -f "$mg" ] || { tap_skip "$accel mmio" "$mg not built"; return; }
	"$vm" --accel "$accel" --kernel "$mg" --append "iters=$N" --trace 'mmio_*' --trace-file "$tmp/mmio.vmt" >/dev/null 2>&1
	n=$("$vt" print --event mmio_write "$tmp/mmio.vmt" | grep -c "mmio_write .*unassigned addr 0xd0000000 size 4 ")
	[ "$n" = "$N" ] && tap_ok "$accel mmio: $N mmio_write records for 0xd0000000" || tap_fail "$accel mmio: $N mmio_write records" "$n records"
}

for accel in "${accels[@]}"; do
	check_binary
	check_mmio
	check_perfetto_profile
	check_log
	check_ftrace
	check_usdt
done

# SIGKILL: the file holds everything up to the writer's last flush (at most 100 ms old) and decodes.
if [ ${#accels[@]} -gt 0 ]; then
	accel=${accels[0]}
	"$vm" --accel "$accel" --kernel "$guest" --append "iters=1000000000 port=$PORT" --serial none \
		--trace pio_write --trace-file "$tmp/killed.vmt" >/dev/null 2>&1 &
	pid=$!
	until [ "$("$vt" print "$tmp/killed.vmt" 2>/dev/null | grep -c "port $PORT ")" -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
	done
	kill -KILL "$pid"; wait "$pid" 2>/dev/null
	n=$("$vt" print "$tmp/killed.vmt" 2>"$tmp/err" | grep -c "port $PORT ")
	# a kill in the middle of the writer's write can leave a partial last record: named, not fatal
	if [ "$n" -ge 100 ] && { [ ! -s "$tmp/err" ] || grep -q "file truncated inside a record" "$tmp/err"; }; then
		tap_ok "SIGKILL: the file decodes up to the last flush ($n records)"
	else
		tap_fail "SIGKILL: the file decodes up to the last flush" "$n records: $(cat "$tmp/err")"
	fi
fi

# gdb: `monitor trace` turns events on in a stopped guest; the stub's own packets are traced.
if ! "$vm" --help | grep -q -- '--gdb '; then
	tap_skip "gdb monitor trace" "vmscope has no --gdb option yet"
elif ! gdb_usable >/dev/null; then
	tap_skip "gdb monitor trace" "gdb not installed"
elif [ ${#accels[@]} -gt 0 ]; then
	accel=${accels[0]}
	"$vm" --accel "$accel" --kernel "$guest" --append "iters=$N port=$PORT" -S --gdb "unix:$tmp/g.sock" \
		--trace 'gdb_*' --trace-file "$tmp/gdb.vmt" >/dev/null 2>"$tmp/vm.err" &
	pid=$!
	until [ -S "$tmp/g.sock" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	timeout 120 gdb -batch -nx -ex "target remote $tmp/g.sock" -ex 'monitor trace list gdb_stop' \
		-ex 'monitor trace on pio_write' -ex 'monitor trace list pio_w*' -ex 'monitor trace bogus' -ex continue \
		"$guest" >"$tmp/gdb.out" 2>&1
	wait "$pid"
	n=$("$vt" print --event pio_write "$tmp/gdb.vmt" | grep -c "port $PORT ")
	if grep -q "^gdb_stop on" "$tmp/gdb.out" && grep -q "^pio_write on" "$tmp/gdb.out" && grep -q "usage: monitor trace" "$tmp/gdb.out" &&
	   [ "$n" = "$N" ] && "$vt" print --event gdb_packet_in "$tmp/gdb.vmt" | grep -q "<- qSupported" &&
	   "$vt" print --event gdb_packet_out "$tmp/gdb.vmt" | grep -q -- '-> \$T05' &&
	   "$vt" print --event gdb_stop "$tmp/gdb.vmt" | grep -q "reason 7"; then
		tap_ok "gdb monitor trace on/list, $N pio_write records after it, gdb packets and stops traced"
	else
		tap_fail "gdb monitor trace" "$n records; $(grep -iE 'trace|error|usage' "$tmp/gdb.out" | head -5) $(head -3 "$tmp/vm.err")"
	fi
fi

# Both backends ran the same guest: the same port I/O, in the same order, with the same values.
if [ ${#accels[@]} = 2 ]; then
	for a in kvm interp; do "$vt" print --event 'pio_*' "$tmp/$a.vmt" | awk '{$1=""; print}' >"$tmp/$a.io"; done
	if [ -s "$tmp/kvm.io" ] && diff -q "$tmp/kvm.io" "$tmp/interp.io" >/dev/null; then
		tap_ok "kvm and interp traces agree: $(wc -l <"$tmp/kvm.io") pio records, same order and values"
	else
		tap_fail "kvm and interp traces agree" "$(diff "$tmp/kvm.io" "$tmp/interp.io" | head -5)"
	fi
fi

# Interrupts: the irqs guest raises, takes and acknowledges the same interrupts on both backends.
ig=$B/tests/guests/irqs.elf
if [ ${#accels[@]} = 2 ] && [ -f "$ig" ]; then
	for a in kvm interp; do
		"$vm" --accel "$a" --kernel "$ig" --trace 'irq_*,pic_*,x86_interrupt' --trace-file "$tmp/irq-$a.vmt" >/dev/null 2>&1
		"$vt" print "$tmp/irq-$a.vmt" | awk '{print $3}' | sort | uniq -c | awk '{print $2, $1}' >"$tmp/irq-$a.count"
	done
	cnt() { awk -v e="$2" '$1 == e {print $2}' "$tmp/irq-$1.count"; }
	if [ -z "$(cnt kvm irq_deliver)" ]; then
		tap_skip "interrupts agree between kvm and interp" "KVM delivered the interrupts itself (in-kernel irqchip): no irq_deliver"
	elif [ -n "$(cnt kvm irq_set)" ] && [ "$(cnt kvm irq_set)" = "$(cnt interp irq_set)" ] &&
	     [ "$(cnt kvm pic_eoi)" = "$(cnt interp pic_eoi)" ] && [ "$(cnt kvm irq_deliver)" = "$(cnt interp x86_interrupt)" ]; then
		tap_ok "interrupts agree: $(cnt kvm irq_set) irq_set, $(cnt kvm irq_deliver) delivered, $(cnt kvm pic_eoi) EOIs on both backends"
	else
		tap_fail "interrupts agree between kvm and interp" "kvm: $(tr '\n' ' ' <"$tmp/irq-kvm.count") interp: $(tr '\n' ' ' <"$tmp/irq-interp.count")"
	fi
fi

# option errors and help
"$vm" --kernel "$guest" --trace no_such_event >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "matches no event" "$tmp/err" && tap_ok "--trace unknown pattern: exit 2" || tap_fail "--trace unknown pattern: exit 2" "$(cat "$tmp/err")"
"$vm" --kernel "$guest" --trace-backend bogus >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "unknown trace backend 'bogus'" "$tmp/err" && tap_ok "--trace-backend bogus: exit 2" || tap_fail "--trace-backend bogus: exit 2" "$(cat "$tmp/err")"
"$vm" --trace help >"$tmp/help"
[ $? = 0 ] && grep -q "^  pio_write(const char \*dev, uint16_t port, uint8_t size, uint32_t val)" "$tmp/help" && tap_ok "--trace help lists events with arguments" || tap_fail "--trace help lists events with arguments"
if [ ${#accels[@]} -gt 0 ]; then
	accel=${accels[0]}
	run --trace pio_write --trace-backend ftrace,binary --trace tracefs=/nonexistent --trace-file "$tmp/nf.vmt" >/dev/null 2>"$tmp/err"
	rc=$? n=$("$vt" print "$tmp/nf.vmt" | grep -c "port $PORT ")
	if [ "$rc" = 1 ] && [ "$n" = "$N" ] && [ "$(grep -c 'ftrace trace backend skipped: /nonexistent/trace_marker: No such file or directory' "$tmp/err")" = 1 ]; then
		tap_ok "ftrace without tracefs: one line, the other backends go on"
	else
		tap_fail "ftrace without tracefs: one line, the other backends go on" "exit $rc, $n records: $(cat "$tmp/err")"
	fi
fi
printf 'pio_write\n# comment\n-pio_read\n' >"$tmp/events"
if [ ${#accels[@]} -gt 0 ]; then
	accel=${accels[0]}
	run --trace "events=$tmp/events" --trace-file "$tmp/ev.vmt" >/dev/null 2>&1
	n=$("$vt" print --event pio_write "$tmp/ev.vmt" | grep -c "port $PORT ")
	r=$("$vt" print --event pio_read "$tmp/ev.vmt" | wc -l)
	[ "$n" = "$N" ] && [ "$r" = 0 ] && tap_ok "--trace events=FILE" || tap_fail "--trace events=FILE" "$n pio_write, $r pio_read records"
fi
tap_done
