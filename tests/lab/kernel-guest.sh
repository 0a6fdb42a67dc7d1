#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 6, kernel WireGuard: runs inside the qemu guest of
# tests/kernel/qemu-run.sh (Debian's kernel with its wireguard module) and
# runs lab scenarios with WG_IMPL=kernel, so wgsd uses its netlink backend.
# Usage (from meson, suite kernel): qemu-run.sh tests/lab/kernel-guest.sh [SCENARIO...]
# Default scenarios: topology direct rebind.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export WG_IMPL=kernel
# The guest is slow (TCG): give every step more time.
export LAB_TIME_SCALE=3

echo "kernel $(uname -r)"
modprobe wireguard
[ $# -gt 0 ] || set -- topology direct rebind
rc=0
for s in "$@"; do
	echo "## lab scenario $s with kernel WireGuard"
	t0=$(date +%s)
	if "$here/test-$s.sh"; then
		echo "## $s: ok ($(($(date +%s) - t0)) s)"
	else
		r=$?
		echo "## $s: FAILED (exit $r)"
		[ "$rc" != 0 ] || rc=$r
	fi
done
exit "$rc"
