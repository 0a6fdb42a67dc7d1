#!/bin/bash
# SPDX-License-Identifier: MIT
# Every example configuration in conf/ is accepted by wgsd -t, and its normalized form (wgsd -T) is too.
set -eu
rc=0
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$WGSD_SRCDIR"/conf/*.conf; do
	n=$((n + 1))
	if ! "$WGSD" -T -c "$f" >"$tmp/normalized.conf" 2>"$tmp/err"; then
		echo "FAIL: $f rejected:"; cat "$tmp/err"; rc=1; continue
	fi
	if ! "$WGSD" -t -c "$tmp/normalized.conf" >/dev/null 2>"$tmp/err"; then
		echo "FAIL: normalized form of $f rejected:"; cat "$tmp/err"; rc=1
	fi
done
[ "$n" -ge 4 ] || { echo "FAIL: expected wgsd.conf, registry.conf, alice.conf, bob.conf; found $n files"; rc=1; }
[ $rc -eq 0 ] && echo "$n example configurations accepted"
exit $rc
