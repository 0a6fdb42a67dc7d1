#!/bin/bash
# SPDX-License-Identifier: MIT
# Host side of a kernel test (meson suite 'kernel'): runs a guest script in
# the qemu guest of qemu-run.sh with a time limit, passing WGREAD and CI on.
# A missing prerequisite (root, qemu, busybox, ...) is a skip (77) only when
# CI is unset; with CI set it is a failure, because these tests must run there.
# usage: guest-test.sh TIMEOUT_S SCRIPT [ARGS...]
set -u

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${1:?usage: guest-test.sh TIMEOUT_S SCRIPT [ARGS...]}
script=${2:?usage: guest-test.sh TIMEOUT_S SCRIPT [ARGS...]}
shift 2

# Skip outside CI, fail in CI.
missing()
{
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI is set: kernel tests must run)" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || missing "needs root (qemu-run.sh cache, guest runs as root)"
export WGSD_QEMU_PASSENV="${WGSD_QEMU_PASSENV:-} WGREAD CI"
t0=$(date +%s%N)
"$here/qemu-run.sh" --timeout "$timeout_s" "$script" "$@"
rc=$?
echo "guest-test: $(basename "$script") exit $rc after $((($(date +%s%N) - t0) / 1000000)) ms (boot included)"
[ "$rc" = 77 ] && missing "qemu-run.sh cannot run here (see its message above)"
exit "$rc"
