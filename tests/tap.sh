# Sourced by integration test scripts: TAP output and honest skips.
#   tap_ok NAME | tap_fail NAME WHY | tap_skip NAME WHY | skip_all WHY | tap_done
_tap_n=0 _tap_failed=0
tap_ok()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
tap_fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $1"; [ $# -gt 1 ] && echo "# $2"; return 0; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
tap_check() { local name=$1; shift; if "$@"; then tap_ok "$name"; else tap_fail "$name" "command failed: $*"; fi; }
skip_all() { echo "SKIP: $1"; exit 77; }
tap_done() { echo "1..$_tap_n"; [ "$_tap_failed" = 0 ]; }
# Capability probes: print the reason and return non-zero when unusable.
kvm_usable() {
	[ -e /dev/kvm ] || { echo "/dev/kvm does not exist (no KVM module loaded)"; return 1; }
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "/dev/kvm: permission denied (add the user to group kvm)"; return 1; }
	return 0
}
qemu_usable() { command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed"; return 1; }; }
gdb_usable() { command -v gdb >/dev/null || { echo "gdb not installed"; return 1; }; }
