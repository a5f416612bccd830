#!/usr/bin/env bash
# vmtrace: decoding committed fixtures with no event definitions (golden text), filters, stats,
# Perfetto JSON (python3 -m json.tool), damaged files (exit 1, the offset named), usage errors
# (exit 2), and profile: guest addresses -> function (nm) and source line (addr2line) in a test
# guest ELF through libdw, and functions through a System.map.
. tests/tap.sh
B=${B:-build}
vt=$B/vmtrace
fx=tests/fixtures/traces
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for v in v1 v2; do
	if "$vt" print "$fx/$v-all-types.vmt" >"$tmp/out" 2>"$tmp/err" && diff -u "$fx/$v-all-types.print" "$tmp/out" >"$tmp/diff"; then
		tap_ok "print $v fixture matches golden"
	else
		tap_fail "print $v fixture matches golden" "$(cat "$tmp/err" "$tmp/diff" | head -20)"
	fi
done

count() { "$vt" print "$@" "$fx/v1-all-types.vmt" | wc -l; }
[ "$(count --event 'test_i*')" = 6 ] && tap_ok "--event glob" || tap_fail "--event glob" "$(count --event 'test_i*')"
[ "$(count --event 'test_*,-test_str')" = 14 ] && tap_ok "--event exclusion" || tap_fail "--event exclusion"
[ "$(count --event '-test_u*')" = 12 ] && tap_ok "--event only exclusions" || tap_fail "--event only exclusions"
[ "$(count --vcpu 3)" = 17 ] && [ "$(count --vcpu 0)" = 0 ] && tap_ok "--vcpu" || tap_fail "--vcpu"
[ "$(count --from 117700ns --to 117.9us)" = 3 ] && tap_ok "--from/--to" || tap_fail "--from/--to" "$(count --from 117700ns --to 117.9us)"

"$vt" stats "$fx/v1-all-types.vmt" >"$tmp/stats"
if grep -q '^records: 17 in' "$tmp/stats" && grep -qE '^test_str +3 ' "$tmp/stats" && grep -q '^test_i64 .* 40ns' "$tmp/stats"; then
	tap_ok "stats counts and intervals"
else
	tap_fail "stats counts and intervals" "$(cat "$tmp/stats")"
fi

"$vt" convert --perfetto "$fx/v1-all-types.vmt" >"$tmp/p.json"
if python3 -m json.tool "$tmp/p.json" >/dev/null &&
   python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["traceEvents"]; i=[e for e in t if e["ph"]=="i"]; assert len(i)==17, len(i); assert i[12]["name"]=="test_str" and i[12]["args"]["s"]=="hello, trace"; assert i[8]["args"]["v"]==-9223372036854775808; assert i[4]["args"]["v"]=="0xffffffffffffffff"; assert any(e["ph"]=="M" and e["args"]["name"]=="vCPU 3" for e in t)' "$tmp/p.json"; then
	tap_ok "convert --perfetto: valid JSON with the expected events"
else
	tap_fail "convert --perfetto: valid JSON with the expected events"
fi

for f in bad-magic big-endian bad-desc-offset truncated; do
	"$vt" print "$fx/$f.vmt" >/dev/null 2>"$tmp/err"; rc=$?
	if [ "$rc" = 1 ] && grep -q 'offset [0-9]* (0x' "$tmp/err"; then tap_ok "damaged $f: exit 1, offset named"; else tap_fail "damaged $f: exit 1, offset named" "rc $rc: $(cat "$tmp/err")"; fi
done
printf 'hello' >"$tmp/foreign"
"$vt" stats "$tmp/foreign" 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q 'file shorter than the trace header' "$tmp/err" && tap_ok "foreign file" || tap_fail "foreign file" "$(cat "$tmp/err")"

usage() { "$vt" "$@" >/dev/null 2>&1; [ $? = 2 ]; }
if usage bogus x && usage convert "$fx/v1-all-types.vmt" && usage profile "$fx/v1-all-types.vmt" &&
   usage print --vcpu x "$fx/v1-all-types.vmt" && usage print --from 1h "$fx/v1-all-types.vmt" && usage print; then
	tap_ok "usage errors exit 2"
else
	tap_fail "usage errors exit 2"
fi

elf=$B/tests/guests/pio.elf
if [ ! -f "$elf" ] || ! command -v addr2line >/dev/null; then
	tap_skip "profile --elf" "$elf not built or addr2line missing"
else
	main=$(nm "$elf" | awk '$3=="guest_main"{print $1}')
	arg=$(nm "$elf" | awk '$3=="g_arg_u64_or"{print $1}')
	a1=$(printf '0x%x' $((0x$main + 8))); a2=$(printf '0x%x' $((0x$arg + 4)))
	$B/tests/trace-writer "$tmp/s.vmt" "$a1*7" "$a2*3" 0x10 || tap_fail "trace-writer"
	"$vt" profile "$tmp/s.vmt" --elf "$elf" >"$tmp/prof" 2>"$tmp/err"
	line1=$(addr2line -e "$elf" "$a1" | sed 's|.*/||'); line2=$(addr2line -e "$elf" "$a2" | sed 's|.*/||')
	if grep -qE "^ +7 +63.64%  guest_main$" "$tmp/prof" &&
	   grep -qE "^ +7 +63.64%  $a1 +guest_main\+0x8 +.*/$line1$" "$tmp/prof" &&
	   grep -qE "^ +3 +27.27%  $a2 +g_arg_u64_or\+0x4 +.*/$line2$" "$tmp/prof" &&
	   grep -qE "^ +1 +9.09%  0x10 +0x10 +\?\?$" "$tmp/prof"; then
		tap_ok "profile --elf: function (nm) and line (addr2line: $line1, $line2)"
	else
		tap_fail "profile --elf: function (nm) and line (addr2line: $line1, $line2)" "$(cat "$tmp/prof" "$tmp/err")"
	fi
	nm "$elf" >"$tmp/System.map"
	"$vt" profile "$tmp/s.vmt" --symbols "$tmp/System.map" >"$tmp/prof2"
	grep -qE "^ +7 +63.64%  $a1 +guest_main\+0x8 +\?\?$" "$tmp/prof2" && tap_ok "profile --symbols System.map" || tap_fail "profile --symbols System.map" "$(cat "$tmp/prof2")"
	"$vt" profile "$tmp/s.vmt" --elf "$tmp/System.map" >"$tmp/prof3" 2>"$tmp/err"
	grep -qE "^ +7 +63.64%  $a1 +guest_main\+0x8 +\?\?$" "$tmp/prof3" && grep -q "is not ELF .*: read as a System.map" "$tmp/err" &&
		tap_ok "profile --elf with a System.map falls back to it, saying so" || tap_fail "profile --elf System.map fallback" "$(cat "$tmp/err")"
	printf 'garbage\n' >"$tmp/bad.map"
	"$vt" profile "$tmp/s.vmt" --symbols "$tmp/bad.map" >/dev/null 2>"$tmp/err"; rc=$?
	[ "$rc" = 1 ] && grep -q 'bad.map:1: not a System.map line' "$tmp/err" && tap_ok "profile: bad System.map named" || tap_fail "profile: bad System.map named" "$(cat "$tmp/err")"
	"$vt" profile "$tmp/s.vmt" --elf "$fx/v1-all-types.vmt" >/dev/null 2>"$tmp/err"; rc=$?
	[ "$rc" = 1 ] && tap_ok "profile: not an ELF" || tap_fail "profile: not an ELF" "rc $rc $(cat "$tmp/err")"
fi
tap_done
