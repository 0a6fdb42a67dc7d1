#!/bin/bash
# SPDX-License-Identifier: MIT
# README command 2: install what is needed, build, run every test (meson test), exit non-zero on any failure.
# Usage: tests/run-all.sh [extra meson test arguments, e.g. --suite unit]
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
build=${WGSD_BUILD_DIR:-$src/build-test}

tests/deps.sh

if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dwerror=true >/dev/null
else
	meson setup "$build" -Dwerror=true >/dev/null
fi
ninja -C "$build"

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || rc=$?

# One plain closing line that any CI reader understands.
python3 - "$build/meson-logs/testlog.json" <<'PY' || true
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
