#!/usr/bin/env bash
# A short, bounded libFuzzer run over the gdbstub packet layer and handlers (make fuzz runs longer).
. "$(dirname "$0")/../tap.sh"
B=${B:-build}
f=$B/fuzz/gdb_fuzz
command -v "${CLANG:-clang}" >/dev/null || skip_all "clang not installed: no libFuzzer build (apt-get install clang)"
[ -x "$f" ] || skip_all "$f not built (make check builds it when clang is installed)"
secs=${GDB_FUZZ_SECONDS:-15}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
# seeds: a typical gdb session, a run-control session with stop events, hostile framing
printf '+$qSupported:swbreak+;hwbreak+#c7+$QStartNoAckMode#b0$?#3f$g#67$m1000,40#8d' >"$corpus/session"
printf '$c#63\xfe\x13$s#73\xfe\x02\x03$vCont;s:1;c#00$Z0,1000,1#00' >"$corpus/run"
printf '$qRcmd,696e666f206d656d#00$qRcmd,696e666f207265676973746572#00' >"$corpus/monitor"
printf '$a*~*~*~#00$}#00$X1000,4:}\x03}\x04ab#00' >"$corpus/framing"
if "$f" -max_total_time="$secs" -print_final_stats=1 $(cat "$f.args") "$corpus" >"$corpus.log" 2>&1; then
	tap_ok "gdb_fuzz ran ${secs}s without a crash ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$corpus.log" | tail -1))"
else
	tap_fail "gdb_fuzz found a crash" "$(grep -m3 -E 'ERROR|SUMMARY' "$corpus.log")"
	sed 's/^/# /' "$corpus.log" | tail -40
fi
rm -f "$corpus.log"
tap_done
