#!/bin/bash
# SPDX-License-Identifier: MIT
# The man pages render without warnings and document every configuration key.
set -eu
cd "$WGSD_SRCDIR"
rc=0
for page in man/wgsd.8 man/wgsdctl.8 man/wgsd.conf.5; do
	warn=$(groff -ww -z -man "$page" 2>&1 || true)
	if [ -n "$warn" ]; then
		echo "FAIL: $page: groff warnings:"; echo "$warn"; rc=1
	fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
	if [ -n "$warn" ]; then
		echo "FAIL: $page: man warnings:"; echo "$warn"; rc=1
	fi
done
# Every key the parser knows appears in wgsd.conf(5) and in conf/wgsd.conf.
keys=$(grep -o 'strcmp(key, "[a-z-]*")' src/config.c | sed 's/.*"\([a-z-]*\)".*/\1/' | sort -u)
for k in $keys; do
	case $k in any|auto|daemon|registry|zone|client) continue ;; esac
	if ! grep -q "^\.BI $(echo "$k" | sed 's/-/\\\\-/g') " man/wgsd.conf.5; then
		echo "FAIL: key '$k' is not documented in man/wgsd.conf.5"; rc=1
	fi
	if ! grep -Eq "^;? ?$k *=" conf/wgsd.conf; then
		echo "FAIL: key '$k' is missing from conf/wgsd.conf"; rc=1
	fi
done
[ $rc -eq 0 ] && echo "man pages ok, $(echo "$keys" | wc -w) keys documented"
exit $rc
