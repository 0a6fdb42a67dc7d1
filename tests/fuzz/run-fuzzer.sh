#!/bin/bash
# SPDX-License-Identifier: MIT
# Run one libFuzzer target for a bounded time on a scratch copy of its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR [SECONDS]   (SECONDS defaults to $WGSD_FUZZ_SECONDS or 20)
# Exits non-zero on any finding (crash, leak, sanitizer report, timeout).
set -eu
fuzzer=$1
seeds=$2
seconds=${3:-${WGSD_FUZZ_SECONDS:-20}}
work=$(mktemp -d /tmp/wgsd-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
# New inputs go to the scratch dir (listed first); the repository's seeds are only read.
# libFuzzer exits 77 on a finding by default, which meson would count as a skip.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
if [ -n "$(ls -A "$work/artifacts")" ]; then
	echo "findings:"; ls -l "$work/artifacts"
	exit 1
fi
