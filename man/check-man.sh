#!/usr/bin/env bash
# Man pages are part of the build: every page is clean under `mandoc -Tlint` (warnings and
# above; STYLE notes depend on which other manuals the host has installed), and every long
# option a program prints in --help appears in its page as ".Fl -NAME".
# Programs and their pages: one line each in the table below.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/tap.sh"
B=${B:-build}
case $B in /*) ;; *) B=$root/$B ;; esac

command -v mandoc >/dev/null || skip_all "mandoc not installed (apt-get install mandoc)"

for page in "$root"/man/*.[1-9]; do
	[ -e "$page" ] || continue
	name=${page#"$root"/}
	if out=$(mandoc -Tlint -Wwarning "$page" 2>&1) && [ -z "$out" ]; then
		tap_ok "mandoc -Tlint $name"
	else
		tap_fail "mandoc -Tlint $name" "$(echo "$out" | head -n 5 | sed '2,$s/^/# /')"
	fi
done

# program  page
programs="
vmscope man/vmscope.1
kvmstat man/kvmstat.1
vmtrace man/vmtrace.1
"
while read -r prog page; do
	[ -n "$prog" ] || continue
	if [ ! -x "$B/$prog" ]; then tap_skip "$prog --help options in $page" "$B/$prog not built"; continue; fi
	missing=
	for opt in $("$B/$prog" --help | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
		grep -qE "Fl ${opt#-}( |$)" "$root/$page" || missing="$missing $opt"	# mdoc: Fl -kernel
	done
	if [ -z "$missing" ]; then
		tap_ok "$prog --help options in $page"
	else
		tap_fail "$prog --help options in $page" "not documented:$missing"
	fi
done <<<"$programs"
tap_done
