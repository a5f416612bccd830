#!/usr/bin/env bash
# The ncurses view driven through tmux: every interactive key, a prompt with bad input, a resize,
# NO_COLOR, and quitting. Runs over the debugfs fixture tree (no privileges needed).
set -u
cd "$(dirname "$0")/../.."
. tests/tap.sh
B=${B:-build}
K=$(realpath "$B/kvmstat")
FIX=$(realpath tests/fixtures)
command -v tmux >/dev/null || skip_all "tmux not installed"
n=0
T=
trap '$T kill-server 2>/dev/null' EXIT

start() {	# start [ENV=...]: kvmstat in a 120x40 pane, on a tmux server of its own
	[ -n "$T" ] && $T kill-server 2>/dev/null
	n=$((n + 1))
	T="tmux -L kvmstat-ui-$$-$n"
	$T -f /dev/null new-session -d -s ui -x 120 -y 40 \
		"env TERM=xterm-256color LANG=C.UTF-8 $* $K -d --debugfs-root $FIX/debugfs/host -i -s 0.5; sleep 30"
}
screen() { $T capture-pane -p -t ui "$@"; }
# expect NAME PATTERN: the screen shows PATTERN within ~5 s
expect() {
	for _ in $(seq 100); do screen | grep -qE -- "$2" && { tap_ok "$1"; return 0; }; sleep 0.05; done
	tap_fail "$1" "screen lacks /$2/:"; screen | sed 's/^/#   /' | head -30; return 1
}
absent() {
	for _ in $(seq 100); do screen | grep -qE -- "$2" || { tap_ok "$1"; return 0; }; sleep 0.05; done
	tap_fail "$1" "screen still shows /$2/"
}
key() { $T send-keys -t ui "$@"; }

start
expect "summary-header" "kvm statistics - summary"
expect "columns" "Event +Total +%Total +CurAvg/s +History"
expect "event-row" "^exits +1050 "
expect "total-row" "^Total exits +1050 .*counted by exits"
expect "source-named" "debugfs"
key h; expect "key-h-help" "Interactive commands reference"; key z; expect "help-closes" "kvm statistics - summary"
key o; expect "key-o-sort" "sorted by Total"
key x; expect "key-x-drilldown" "drilldown on"
key f; expect "key-f-prompt" "Show statistics for events matching a regex"
key 'exit((' Enter; expect "key-f-bad-regex" "Not a valid regular expression"
key '^io_' Enter; expect "key-f-filter" "regex filter: \\^io_"
absent "filter-hides-rows" "^halt_exits "
key c; absent "key-c-clears" "regex filter"
key b; expect "key-b-guests" "Guest Name"
expect "guest-rows" "pid 4242 +1000"
key b; expect "key-b-back" "^Event "
key v; expect "key-v-vcpus" "^vcpu0 +650"
key v; expect "key-v-back" "^exits "
key r; expect "key-r-reset" "counters reset"
expect "reset-zeroes" "^Total exits +0 "
key s; expect "key-s-prompt" "Set update interval"
key '0.01' Enter; expect "key-s-bad" "between 0.1 and 25.5"
key s; key '1' Enter; absent "key-s-ok" "Set update interval"
key g; expect "key-g-prompt" "Show statistics for specific guest or pid"
key Enter; absent "key-g-enter-exits" "Guest or pid"
key p; expect "key-p-prompt" "Guest or pid"
key 999999999 Enter; expect "key-p-bad-pid" "Not a running process"
key p; key no-such-guest Enter; expect "key-p-bad-name" "Not an active guest"
key space; expect "other-key-refreshes" "kvm statistics"
$T resize-window -t ui -x 60 -y 15
expect "resize-redraws" "^kvm statistics - summary"
w=$(screen | awk '{ if (length($0) > m) m = length($0) } END { print m }')
if [ "$w" -le 60 ]; then tap_ok "resize-fits ($w columns)"; else tap_fail "resize-fits" "$w columns"; fi
key q
absent "key-q-gone" "kvm statistics"

# colours: escape sequences with colour by default, none with NO_COLOR
start
expect "colour-start" "kvm statistics"
if screen -e | grep -qE $'\e\\[(3[0-7]|38;)'; then tap_ok "colours"; else tap_fail "colours" "no colour escapes"; fi
start NO_COLOR=1
expect "nocolor-start" "kvm statistics"
if screen -e | grep -qE $'\e\\[(3[0-7]|38;)'; then tap_fail "no-color" "colour escapes with NO_COLOR"; else tap_ok "no-color"; fi
tap_done
