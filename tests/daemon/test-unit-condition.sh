#!/bin/bash
# SPDX-License-Identifier: MIT
# The unit's start condition (ExecCondition=) skips wgsd only while its file
# configures no role: every example in conf/ and any [registry] or
# [client DEVICE] section starts it (the file check of ExecStartPre= decides
# then), and so does a missing file (ExecStartPre= fails on it); a file of
# comments or an empty one skips it, with a notice.
set -u
unit="$WGSD_SRCDIR/systemd/wgsd.service"
cond=$(sed -n 's/^ExecCondition=//p' "$unit")
if [ -z "$cond" ] || [ "$(printf '%s\n' "$cond" | wc -l)" != 1 ]; then
	echo "FAIL: want exactly one ExecCondition= in $unit, found: '$cond'"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

# Run the condition on file $2 and compare its exit status with $1 (0 start, 1 skip).
expect()
{
	local want=$1 file=$2 got out
	out=$(eval "${cond//\/etc\/wgsd\/wgsd.conf/$file}" 2>&1)
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: condition on ${file#"$tmp"/}: exit $got, want $want"
		rc=1
	elif [ "$want" = 1 ] && [ "${out#<5>}" = "$out" ]; then
		echo "FAIL: skipping ${file#"$tmp"/} without a notice ('$out')"
		rc=1
	fi
}

for f in "$WGSD_SRCDIR"/conf/*.conf; do
	expect 0 "$f"
done
printf '[registry]\nlisten = 10.0.0.254:53\n[zone example.com.]\ndevice = wg0\n' >"$tmp/registry"
expect 0 "$tmp/registry"
printf '[client wg0]\nregistry = 10.0.0.254\nzone = example.com.\n' >"$tmp/client"
expect 0 "$tmp/client"
printf '; comment\n  [registry] ; indented\n' >"$tmp/indented"
expect 0 "$tmp/indented"
# A misspelt role section still starts: ExecStartPre= then fails loudly.
printf '[registryy]\n' >"$tmp/misspelt"
expect 0 "$tmp/misspelt"
printf '; nothing configured\n;[registry]\n;[client wg0]\n\n[daemon]\nlog-level = debug\n' >"$tmp/comments"
expect 1 "$tmp/comments"
: >"$tmp/empty"
expect 1 "$tmp/empty"
expect 0 "$tmp/missing"
[ $rc = 0 ] && echo "ExecCondition: starts on every example and on a role, skips otherwise"
exit $rc
