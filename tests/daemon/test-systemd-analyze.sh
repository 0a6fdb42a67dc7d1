#!/bin/bash
# SPDX-License-Identifier: MIT
# The shipped unit must be rated 2.0 or lower ("OK") by systemd-analyze security.
set -eu
unit="$WGSD_SRCDIR/systemd/wgsd.service"
if ! command -v systemd-analyze >/dev/null; then
	echo "systemd-analyze not installed"
	[ -n "${CI:-}" ] && exit 1 || exit 77
fi
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
echo "$out" | tail -3
level=$(echo "$out" | sed -n 's/.*Overall exposure level for wgsd.service: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	echo "FAIL: no exposure level in systemd-analyze output"
	exit 1
fi
if ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
	echo "FAIL: exposure level $level > 2.0"
	exit 1
fi
# The unit must keep its contract: notify type, config check before start, HUP reload.
grep -q '^Type=notify' "$unit"
grep -q '^ExecStartPre=wgsd -t' "$unit"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit"
grep -q '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' "$unit"
grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE' "$unit"
# /run read-only (the API mounts would leave it writable), nothing else opened for writing.
grep -q '^ReadOnlyPaths=/run$' "$unit"
if grep -q '^ReadWritePaths=' "$unit"; then
	echo "FAIL: the unit opens paths for writing besides RuntimeDirectory="
	exit 1
fi
# peers = auto keeps its memory under StateDirectory=, the default state-directory.
grep -q '^StateDirectory=wgsd$' "$unit"
grep -q "value: '/var/lib/wgsd'" "$WGSD_SRCDIR/meson_options.txt"
echo "exposure level $level <= 2.0: ok"
