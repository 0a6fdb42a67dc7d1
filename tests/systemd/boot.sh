#!/bin/bash
# SPDX-License-Identifier: MIT
# Host side of a systemd test (meson suite 'systemd'): boots the qemu guest of
# tests/kernel/qemu-run.sh with the host's own systemd as PID 1 and runs a
# guest script as a unit once the system has started (see README.md here).
# A missing prerequisite (root, qemu, systemd, ...) is a skip (77) only when CI
# is unset; with CI set it is a failure, because these tests must run there.
# usage: boot.sh [--timeout SEC] SCRIPT [ARGS...]
set -u

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${WGSD_QEMU_TIMEOUT:-240}
case "${1:-}" in
--timeout)
	timeout_s=${2:?usage: boot.sh [--timeout SEC] SCRIPT [ARGS...]}
	shift 2
	;;
esac
script=${1:?usage: boot.sh [--timeout SEC] SCRIPT [ARGS...]}
shift

# Skip outside CI, fail in CI.
missing()
{
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI is set: systemd tests must run)" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || missing "needs root (qemu-run.sh cache, guest runs as root)"
export WGSD_QEMU_PASSENV="${WGSD_QEMU_PASSENV:-} CI"
t0=$(date +%s%N)
"$here/../kernel/qemu-run.sh" --systemd --timeout "$timeout_s" "$script" "$@"
rc=$?
echo "boot.sh: $(basename "$script") exit $rc after $((($(date +%s%N) - t0) / 1000000)) ms (systemd boot included)"
[ "$rc" = 77 ] && missing "qemu-run.sh cannot run here (see its message above)"
exit "$rc"
