#!/usr/bin/env bash
# kvmstat without a TTY over fixture trees: golden output for -1, -l, -c, --json, -f help, and
# bad input (each with its message and exit status). Needs nothing privileged.
set -u
cd "$(dirname "$0")/../.."
. tests/tap.sh
B=${B:-build}
K=$B/kvmstat
FIX=tests/fixtures
GOLD=tests/kvmstat/golden
export KVMSTAT_TIMESTAMP="2026-01-01 00:00:00"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=(-d --debugfs-root "$FIX/debugfs/host" -s 0.1)

# golden NAME CMD...: stdout must equal $GOLD/NAME (regenerate with UPDATE_GOLDEN=1)
golden() {
	local name=$1; shift
	"$@" >"$tmp/$name" 2>"$tmp/$name.err"
	local rc=$?
	[ "${UPDATE_GOLDEN:-0}" = 1 ] && cp "$tmp/$name" "$GOLD/$name"
	if [ $rc != 0 ]; then tap_fail "$name" "exit $rc: $(cat "$tmp/$name.err")"; return; fi
	if diff -u "$GOLD/$name" "$tmp/$name" >"$tmp/$name.diff"; then tap_ok "$name"
	else tap_fail "$name" "differs from $GOLD/$name: $(head -c 600 "$tmp/$name.diff")"; fi
}

# fails NAME STATUS PATTERN CMD...: exits STATUS with PATTERN on stderr, nothing on stdout
fails() {
	local name=$1 want=$2 pat=$3; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	if [ $rc != "$want" ]; then tap_fail "$name" "exit $rc, wanted $want; stderr: $(cat "$tmp/err")"
	elif ! grep -q -- "$pat" "$tmp/err"; then tap_fail "$name" "stderr lacks \"$pat\": $(cat "$tmp/err")"
	else tap_ok "$name"; fi
}

golden batch-include-past "$K" "${D[@]}" -1 -i
golden batch-relative "$K" "${D[@]}" -1 -f 'exits|tlb'
golden log "$K" "${D[@]}" -l --count 3 -i -f 'exits$|tlb'
golden csv "$K" "${D[@]}" -l -c --count 2 -f 'io_exits|mmio'
golden json "$K" "${D[@]}" --json -1 -i -f 'exits'
golden fields-debugfs "$K" -d --debugfs-root "$FIX/debugfs/host" -f help
golden fields-tracefs-vmx "$K" -t --tracefs-root "$FIX/tracefs/vmx" --proc-root "$FIX/proc/intel" -f help
golden per-vcpu "$K" "${D[@]}" --json -1 -i --vcpus -f '^(exits|io_exits)$'

# -z: no line when every delta is zero
"$K" "${D[@]}" -l -z --count 2 >"$tmp/z" 2>/dev/null
if [ ! -s "$tmp/z" ]; then tap_ok "skip-zero-records"; else tap_fail "skip-zero-records" "printed: $(cat "$tmp/z")"; fi

# -L appends; the CSV header is written only to an empty file
"$K" "${D[@]}" -L "$tmp/log.csv" -c --count 1 -f io_exits 2>/dev/null
"$K" "${D[@]}" -L "$tmp/log.csv" -c --count 1 -f io_exits 2>/dev/null
if [ "$(grep -c '^timestamp' "$tmp/log.csv")" = 1 ] && [ "$(wc -l <"$tmp/log.csv")" = 3 ]; then tap_ok "log-to-file-append"
else tap_fail "log-to-file-append" "$(cat "$tmp/log.csv")"; fi

# SIGHUP reopens the -L file (log rotation), kvmstat keeps running
"$K" "${D[@]}" -L "$tmp/rot.log" -f io_exits 2>"$tmp/rot.err" &
kpid=$!
for _ in $(seq 100); do [ -s "$tmp/rot.log" ] && break; sleep 0.05; done
mv "$tmp/rot.log" "$tmp/rot.log.1"
kill -HUP $kpid
for _ in $(seq 100); do [ -s "$tmp/rot.log" ] && break; sleep 0.05; done
if [ -s "$tmp/rot.log" ] && kill -0 $kpid 2>/dev/null; then tap_ok "sighup-reopens-log"
else tap_fail "sighup-reopens-log" "no new file after SIGHUP: $(cat "$tmp/rot.err")"; fi
kill -TERM $kpid 2>/dev/null; wait $kpid 2>/dev/null

# the source in use is named on stderr
"$K" "${D[@]}" -1 -f io_exits >/dev/null 2>"$tmp/err"
if grep -q "reading debugfs" "$tmp/err"; then tap_ok "names-source"; else tap_fail "names-source" "$(cat "$tmp/err")"; fi

# bad input
fails unknown-option 2 "unrecognized option" "$K" --bogus
fails bad-regex 2 "is not a valid regular expression" "$K" -f 'exit(('
fails delay-too-big 2 "must be <= 25.5" "$K" -s 30
fails delay-too-small 2 "must be >= 0.1" "$K" -s 0.01
fails delay-not-number 2 "must be a number" "$K" -s abc
fails csv-needs-log 2 "requires -l/--log" "$K" -c
fails skip-zero-needs-log 2 "requires -l/--log" "$K" -z
fails bad-pid 2 "not a process id" "$K" -p abc
fails missing-pid 1 "does not exist" "$K" -p 999999999 -1
fails missing-guest 1 "no guest named" "$K" -g no-such-guest-$$ -1
fails no-debugfs 1 "mount -t debugfs" "$K" -d --debugfs-root "$tmp/nothing" -1
fails no-tracefs 1 "mount -t tracefs" "$K" -t --tracefs-root "$tmp/nothing" -1
fails no-qmp 1 "QMP $tmp/none.sock" "$K" --qmp "$tmp/none.sock" -1
fails log-file-unwritable 1 "Could not open file" "$K" "${D[@]}" -L "$tmp/no/such/dir/log"
fails extra-argument 2 "unexpected argument" "$K" extra

# no permission: as an unprivileged user, tracepoints fail with a hint
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	chmod 755 "$tmp"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$K" -t -1 >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ $rc = 1 ] && grep -qE "Permission denied|not mounted|Operation not permitted" "$tmp/err"; then tap_ok "no-permission"
	else tap_fail "no-permission" "exit $rc: $(cat "$tmp/err")"; fi
else
	tap_skip "no-permission" "needs root, user nobody and setpriv to drop privileges"
fi
tap_done
