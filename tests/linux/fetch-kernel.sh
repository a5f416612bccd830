#!/bin/sh
# fetch-kernel.sh DIR — Debian's current linux-image-*-amd64 into DIR: resolve the version that
# the linux-image-amd64 metapackage depends on (apt-cache), `apt-get download` the .deb (kept in
# DIR as a cache) and extract boot/vmlinuz-* to DIR/vmlinuz. Exit 0, or 1 with the reason; the
# reason's first line starts "fetch-kernel:" so callers can show it.
set -eu
dir=$1
mkdir -p "$dir"
command -v apt-cache >/dev/null || { echo "fetch-kernel: apt-cache not found (not a Debian system)" >&2; exit 1; }
pkg=${LINUX_IMAGE_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-amd64\)$/\1/p' | head -n1)}
[ -n "$pkg" ] || { echo "fetch-kernel: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || { echo "fetch-kernel: no candidate version of $pkg" >&2; exit 1; }
deb="$dir/${pkg}_$(echo "$ver" | sed 's/:/%3a/')_amd64.deb"
if [ ! -s "$deb" ]; then
	echo "fetch-kernel: downloading $pkg $ver" >&2
	(cd "$dir" && apt-get download -q "$pkg=$ver" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
		{ echo "fetch-kernel: apt-get download $pkg=$ver failed (network?)" >&2; exit 1; }
	[ -s "$deb" ] || { echo "fetch-kernel: apt-get download $pkg=$ver left no $deb" >&2; exit 1; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
set -- "$tmp"/boot/vmlinuz-*
[ -s "$1" ] || { echo "fetch-kernel: $deb holds no boot/vmlinuz-*" >&2; exit 1; }
cp "$1" "$dir/vmlinuz.tmp"
mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
echo "$pkg $ver" > "$dir/vmlinuz.version"
echo "fetch-kernel: $dir/vmlinuz is $(basename "$1") ($pkg $ver)" >&2
