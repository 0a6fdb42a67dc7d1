#!/bin/bash
# SPDX-License-Identifier: MIT
# Build the Debian package from this source tree as a user would from a clean
# checkout (dpkg-buildpackage -us -uc -b), in a copy so that the tree stays
# untouched. The copy holds the files git knows (tracked, and untracked but
# not ignored, so uncommitted work is built too), or the whole tree but build
# directories when it is not a git checkout.
# usage: build.sh OUTDIR   -> OUTDIR/wgsd_<version>_<arch>.deb (+ .buildinfo,
#                             .changes, build.log); prints the .deb's path last.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for prog in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v "$prog" >/dev/null || {
		echo "build.sh: $prog not found (tests/deps.sh installs it)" >&2
		exit 1
	}
done

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/wgsd-deb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/wgsd-$version
mkdir "$tree"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Deleted but still indexed files are skipped (tar would fail on them).
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$src" && tar --exclude='./build*' --exclude=./obj-* -cf - .) | tar -xf - -C "$tree"
fi

echo "build.sh: dpkg-buildpackage -us -uc -b in $tree (log: $out/build.log)" >&2
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 60 "$out/build.log" >&2
	echo "build.sh: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/wgsd_${version}_$arch.deb
[ -f "$deb" ] || {
	echo "build.sh: dpkg-buildpackage did not write $(basename "$deb")" >&2
	ls -l "$work" >&2
	exit 1
}
mv "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out/"
echo "$out/$(basename "$deb")"
