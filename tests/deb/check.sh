#!/bin/bash
# SPDX-License-Identifier: MIT
# deb-package: the built Debian package (WGSD_DEB, or built here with
# build.sh) passes lintian with no error and no warning, carries meson's
# project version, and holds what it must: wgsd, wgsdctl, the unit as shipped,
# the man pages, the examples as in conf/, and /etc/wgsd/wgsd.conf as its only
# conffile, which configures nothing (wgsd -t: no role; the unit's start
# condition skips it).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${WGSD_SRCDIR:-$(cd "$here/../.." && pwd)}
want_version=${WGSD_VERSION:?WGSD_VERSION: meson project version (tests/meson.build)}

# Skip outside CI, fail in CI.
missing()
{
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI is set: the package must be checked)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
for prog in dpkg-deb lintian dpkg-buildpackage; do
	command -v "$prog" >/dev/null || missing "$prog not found (tests/deps.sh installs it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wgsd-deb-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
deb=${WGSD_DEB:-}
if [ -z "$deb" ]; then
	deb=$("$here/build.sh" "$tmp/out" | tail -n 1) || exit 1
fi
[ -f "$deb" ] || {
	echo "FAIL: package '$deb' not found (WGSD_DEB)"
	exit 1
}

rc=0
# Record a failure.
bad()
{
	echo "FAIL: $*"
	rc=1
}

# lintian on the .changes when there is one (it covers the .buildinfo too).
target=$deb
[ -f "${deb%.deb}.changes" ] && target=${deb%.deb}.changes
echo "lintian $(basename "$target"):"
lintian --fail-on error,warning --display-info --tag-display-limit 0 "$target" 2>&1 |
	grep -v 'running with root privileges is not recommended' | sed 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || bad "lintian reports errors or warnings (above)"

version=$(dpkg-deb -f "$deb" Version)
[ "$version" = "$want_version" ] ||
	bad "package version $version, meson.build's project version $want_version"
src_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
[ "$src_version" = "$want_version" ] ||
	bad "debian/changelog says $src_version, meson.build's project version $want_version"
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "wgsd_${want_version}_$arch.deb" ] ||
	bad "package file $(basename "$deb"), want wgsd_${want_version}_$arch.deb"

root=$tmp/root
dpkg-deb -x "$deb" "$root" || exit 1
for f in usr/sbin/wgsd usr/bin/wgsdctl lib/systemd/system/wgsd.service etc/wgsd/wgsd.conf \
	usr/share/man/man8/wgsd.8.gz usr/share/man/man8/wgsdctl.8.gz usr/share/man/man5/wgsd.conf.5.gz \
	usr/share/doc/wgsd/copyright usr/share/doc/wgsd/README.Debian; do
	[ -f "$root/$f" ] || bad "/$f is not in the package"
done
cmp -s "$root/lib/systemd/system/wgsd.service" "$src/systemd/wgsd.service" ||
	bad "the packaged unit differs from systemd/wgsd.service"
for f in "$src"/conf/*.conf; do
	cmp -s "$root/usr/share/doc/wgsd/examples/${f##*/}" "$f" ||
		bad "/usr/share/doc/wgsd/examples/${f##*/} is missing or differs from conf/${f##*/}"
done

conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null)
[ "$conffiles" = /etc/wgsd/wgsd.conf ] || bad "conffiles: '$conffiles', want /etc/wgsd/wgsd.conf"

conf=$root/etc/wgsd/wgsd.conf
active=$(grep -nv '^[[:space:]]*\(;\|$\)' "$conf")
[ -z "$active" ] ||
	bad "the shipped wgsd.conf has $(echo "$active" | wc -l) active lines, the first: $(echo "$active" | head -n 1)"
out=$("$root/usr/sbin/wgsd" -t -c "$conf" 2>&1)
code=$?
case "$code:$out" in
1:*"no role configured"*) ;;
*) bad "wgsd -t on the shipped wgsd.conf: exit $code, '$out' (want 1, no role configured)" ;;
esac
# The unit's start condition (ExecCondition=), run on the shipped file.
cond=$(sed -n 's/^ExecCondition=//p' "$src/systemd/wgsd.service")
cond=${cond//\/etc\/wgsd\/wgsd.conf/$conf}
(eval "$cond") >/dev/null 2>&1 && bad "the unit's start condition would start wgsd with the shipped wgsd.conf"

[ $rc = 0 ] && echo "ok: $(basename "$deb"): lintian clean, version $version, contents and conffile as expected"
exit $rc
