#!/bin/bash
# SPDX-License-Identifier: MIT
# meson install puts the binaries, unit, example configuration and man pages in place.
set -eu
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$WGSD_BUILDDIR" --no-rebuild --quiet --destdir "$dest" >/dev/null
rc=0
for f in sbin/wgsd bin/wgsdctl etc/wgsd/wgsd.conf lib/systemd/system/wgsd.service \
	share/man/man8/wgsd.8 share/man/man8/wgsdctl.8 share/man/man5/wgsd.conf.5; do
	if ! find "$dest" -path "*/$f" | grep -q .; then
		echo "FAIL: $f not installed"; rc=1
	fi
done
wgsd=$(find "$dest" -path '*/sbin/wgsd' | head -n 1)
conf=$(find "$dest" -path '*/etc/wgsd/wgsd.conf' | head -n 1)
if [ -n "$wgsd" ] && [ -n "$conf" ] && ! "$wgsd" -t -c "$conf" >/dev/null 2>&1; then
	echo "FAIL: the installed wgsd rejects the installed example configuration"; rc=1
fi
[ $rc -eq 0 ] && echo "installed: $(find "$dest" -type f | wc -l) files"
exit $rc
