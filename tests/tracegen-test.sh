#!/usr/bin/env bash
# tracegen: generated output against the golden files; every tests/fixtures/bad-events/* file
# must be rejected with exit 1 and "FILE:LINE: error: <what its '# expect:' line says>";
# duplicate event names across files are found by --check.
. tests/tap.sh
B=${B:-build}
gen=$B/tracegen
[ -x "$gen" ] || { echo "not ok 1 - $gen not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

src=tests/fixtures/events/trace-events
"$gen" --group tests_fixtures_events --header "$tmp/trace-events.h" --include tests/fixtures/events/trace-events.h \
	--source "$tmp/trace-events.c" "$src" 2>"$tmp/err"
if [ $? = 0 ] && diff -u tests/fixtures/events/golden/trace-events.h "$tmp/trace-events.h" >"$tmp/diff" &&
   diff -u tests/fixtures/events/golden/trace-events.c "$tmp/trace-events.c" >>"$tmp/diff"; then
	tap_ok "golden output for $src"
else
	tap_fail "golden output for $src" "$(head -c 2000 "$tmp/err" "$tmp/diff")"
fi

for f in tests/fixtures/bad-events/*; do
	want=$(sed -n '1s/^# expect: //p' "$f")
	line=$(grep -vn '^#' "$f" | grep -v ':$' | tail -n 1 | cut -d: -f1)
	[ "$(basename "$f")" = duplicate-event ] && line=4
	out=$("$gen" --check "$f" 2>&1); rc=$?
	if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -qF "$f:$line: error: $want"; then
		tap_ok "bad-events/$(basename "$f") rejected at line $line"
	else
		tap_fail "bad-events/$(basename "$f") rejected at line $line" "exit $rc, got: $out; want: $f:$line: error: $want"
	fi
done

printf 'ev_a(int x) "%%d"\n' >"$tmp/a"; printf '\nev_a(int y) "%%d"\n' >"$tmp/b"
out=$("$gen" --check "$tmp/a" "$tmp/b" 2>&1); rc=$?
if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -qF "$tmp/b:2: error: duplicate event 'ev_a' (first defined at $tmp/a:1)"; then
	tap_ok "duplicate event across files"
else
	tap_fail "duplicate event across files" "exit $rc: $out"
fi

# Formats are checked by the compiler against the argument types: generate, then compile.
mkdir -p "$tmp/inc/fmt"
compile_events() {
	printf '%s\n' "$1" >"$tmp/fmt-events"
	"$gen" --group fmt --header "$tmp/inc/fmt/trace-events.h" --include fmt/trace-events.h \
		--source "$tmp/fmt.c" "$tmp/fmt-events" &&
	${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I. -I"$tmp/inc" -Wall -Wformat=2 -Werror -fsyntax-only "$tmp/fmt.c" 2>"$tmp/cc.err"
}
if compile_events 'ev_ok(uint32_t x, const char *s) "x %u s %s"'; then tap_ok "a matching format compiles"
else tap_fail "a matching format compiles" "$(head -5 "$tmp/cc.err")"; fi
if ! compile_events 'ev_bad(uint32_t x) "x %s"' && grep -q "format" "$tmp/cc.err"; then
	tap_ok "a format that does not match its arguments fails to compile"
else
	tap_fail "a format that does not match its arguments fails to compile" "$(head -5 "$tmp/cc.err")"
fi
if ! compile_events 'ev_few(uint32_t x, uint32_t y) "x %u"' && grep -q "format" "$tmp/cc.err"; then
	tap_ok "a format with too few conversions fails to compile"
else
	tap_fail "a format with too few conversions fails to compile" "$(head -5 "$tmp/cc.err")"
fi

# Every trace-events file in the tree passes, together (no duplicate names across folders).
files=$(git ls-files '*trace-events' 2>/dev/null | grep -v '^tests/fixtures/bad-events/' || true)
[ -n "$files" ] || files="tracing/trace-events $src"
if out=$("$gen" --check $files 2>&1); then tap_ok "all trace-events files valid together"; else tap_fail "all trace-events files valid together" "$out"; fi
tap_done
