# Sourced by the tests that run the guest table (tests/guests/guests.tsv: name, append, exit
# status, expected serial output) on one emulator: kvm-guests.sh, interp-guests.sh,
# qemu-guests.sh. The sourcing script sets root (the source tree) and defines
#   run_guest NAME APPEND OUT ERR   runs one guest; its exit status is the emulator's
#   guest_ext                       elf (vmscope) or mb (QEMU's ELF32 copies)
# and may define skip_reason NAME (prints why a row cannot run here, or nothing).
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac
gdir=$B/tests/guests
tsv=$root/tests/guests/guests.tsv
# Rows that need several CPUs (the guest starts the APs itself): each runner gives them 3.
smp_tsv=$root/tests/guests/guests-smp.tsv
[ -r "$tsv" ] || skip_all "$tsv missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# Runs one row; prints nothing and returns 0 when output and status match, else says why.
check_row() {
	local name=$1 append=$2 want_status=$3 expected=$4 out=$tmp/out status
	[ -r "$gdir/$name.$guest_ext" ] || { echo "$gdir/$name.$guest_ext not built (make check builds it)"; return 1; }
	run_guest "$name" "$append" "$out" "$tmp/err" </dev/null
	status=$?
	if [ "$status" != "$want_status" ]; then
		echo "exit status $status, want $want_status; stderr: $(head -c 600 "$tmp/err")"
		return 1
	fi
	if ! cmp -s "$out" "$root/tests/guests/$expected"; then
		echo "serial output differs from tests/guests/$expected:"
		diff -u "$root/tests/guests/$expected" "$out" | head -n 20
		return 1
	fi
}

# report LABEL COMMAND...: one TAP line; the command prints why it failed.
report() {
	local label=$1 msg
	shift
	if msg=$("$@"); then
		tap_ok "$label"; passed=$((passed + 1))
	else
		tap_fail "$label" "$(echo "$msg" | sed '2,$s/^/# /')"; failed=$((failed + 1))
	fi
}

# run_table PREFIX [FILE]: every row of FILE (default: the guest table).
run_table() {
	local prefix=$1 file=${2:-$tsv} name append status expected why
	while IFS=$'\t' read -r name append status expected; do
		case $name in ''|'#'*) continue ;; esac
		why=$(declare -F skip_reason >/dev/null && skip_reason "$name")
		if [ -n "$why" ]; then tap_skip "$prefix: $name $append" "$why"; continue; fi
		report "$prefix: $name $append" check_row "$name" "$append" "$status" "$expected"
	done <"$file"
}

# The checker itself must be able to fail: a wrong status and a wrong text are both caught.
check_the_checker() {
	if ! check_row hello - 3 hello.expected >/dev/null && ! check_row hello - 1 pio.expected >/dev/null; then
		tap_ok "$1: a wrong status or wrong output is reported"; passed=$((passed + 1))
	else
		tap_fail "$1: a wrong status or wrong output is reported" "check_row accepted a mismatch"
		failed=$((failed + 1))
	fi
}

finish_table() {
	echo "# $1: $passed passed, $failed failed"
	tap_done
}
