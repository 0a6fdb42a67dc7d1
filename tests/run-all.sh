#!/bin/bash
# SPDX-License-Identifier: MIT
# README command 2: install what is needed, build, run every test; exit non-zero on any failure.
#
# Four passes, all but the first with meson test underneath:
#   0. the Debian package: dpkg-buildpackage -us -uc -b from a copy of the tree (tests/deb/build.sh);
#      the later passes' suite deb (lintian, contents) and systemd-deb (installed in the qemu guest
#      under systemd) test it through WGSD_DEB instead of building it again.
#   1. gcc, warnings as errors: every suite (unit, daemon, wg, registry, client, hardening, lab, kernel,
#      systemd, deb).
#   2. clang with ASan + UBSan: every suite but kernel (the qemu guest cannot hand sanitizer reports
#      back; the systemd suite looks for them in its guest's journal itself) and deb (the package holds
#      dpkg-buildpackage's own build, checked in pass 1), plus each libFuzzer target for
#      WGSD_FUZZ_SECONDS (default 20) seconds: smoke runs; fuzz longer by hand.
#      Sanitizer reports of every wgsd process go to a log directory that must stay empty.
#   3. valgrind (memcheck, leak check) over the unit tests of the gcc build.
#
# Usage: tests/run-all.sh [PASS...]   with PASS one of deb, gcc, asan, valgrind (default: all four)
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
passes=("$@")
[ ${#passes[@]} -gt 0 ] || passes=(deb gcc asan valgrind)

tests/deps.sh

total_pass=0
total_fail=0
rc=0

# Configure (or reconfigure) a build directory.
setup() {
	local dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
}

# Add a meson run's results to the totals.
count() {
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || return 0
	read -r p f < <(python3 - "$log" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    else:
        f += 1   # a skip in CI is a failure too
print(p, f)
PY
)
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

debdir=
trap '[ -z "$debdir" ] || rm -rf "$debdir"' EXIT

for pass in "${passes[@]}"; do
	case $pass in
	deb)
		echo "=== pass 0: the Debian package (dpkg-buildpackage -us -uc -b)"
		# Under /tmp: the qemu guest of systemd-deb sees the host's /tmp.
		debdir=$(mktemp -d /tmp/wgsd-deb.XXXXXX)
		if deb=$(tests/deb/build.sh "$debdir" | tail -n 1) && [ -f "$deb" ]; then
			echo "package: $deb"
			total_pass=$((total_pass + 1))
		else
			echo "FAIL: the Debian package did not build"
			deb=$debdir/not-built.deb
			rc=1
			total_fail=$((total_fail + 1))
		fi
		export WGSD_DEB=$deb
		;;
	gcc)
		echo "=== pass 1: gcc, -Werror, all suites"
		setup build-test -Dwerror=true
		meson test -C build-test --print-errorlogs --num-processes 2 || rc=1
		count build-test
		;;
	asan)
		echo "=== pass 2: clang, ASan + UBSan, all suites but kernel, fuzzers"
		san_logs=$(mktemp -d /tmp/wgsd-sanitizer.XXXXXX)
		export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$san_logs/asan"
		export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$san_logs/ubsan"
		CC=clang setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true
		meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite kernel --no-suite deb || rc=1
		count build-asan
		if [ -n "$(ls -A "$san_logs")" ]; then
			echo "FAIL: sanitizer reports:"
			for f in "$san_logs"/*; do echo "--- $f"; head -60 "$f"; done
			rc=1
			total_fail=$((total_fail + 1))
		else
			echo "sanitizers: no reports"
			total_pass=$((total_pass + 1))
		fi
		rm -rf "$san_logs"
		unset ASAN_OPTIONS UBSAN_OPTIONS
		;;
	valgrind)
		echo "=== pass 3: valgrind memcheck over the unit tests"
		setup build-test -Dwerror=true
		meson test -C build-test --print-errorlogs --num-processes 2 --suite unit \
			--timeout-multiplier 10 \
			--wrapper "valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect" \
			|| rc=1
		count build-test
		;;
	*)
		echo "unknown pass '$pass' (deb, gcc, asan, valgrind)" >&2
		exit 2
		;;
	esac
done

# One plain closing line that any CI reader understands.
echo "tests: $total_pass passed, $total_fail failed"
exit $rc
