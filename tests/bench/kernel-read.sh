#!/bin/bash
# SPDX-License-Identifier: MIT
# Guest script (tests/kernel/qemu-run.sh) of the benchmarks: full reads of a
# kernel WireGuard device holding the peers of $WGSD_BENCH_CONF (a wg(8)
# config) through the wg layer's netlink backend, each followed by the
# snapshot build; then one dump captured as it came from the kernel, the
# daemon's parse of it replayed here, and the capture printed so that
# run.sh replays it on the host's (not emulated) CPU. Prints bench-wg's
# result lines. Needs WGSD_BENCH_WG (the bench-wg binary).
set -eu

: "${WGSD_BENCH_WG:?path of bench-wg}"
: "${WGSD_BENCH_CONF:?wg config with the peers}"
S=$$
NS="wgkb$S"
DEV="wgkb${S}k"

# Devices go with the namespace (deleting peers one by one is slow under TCG); the guest powers off after.
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
echo "# kernel device with $(grep -c '^\[Peer\]' "$WGSD_BENCH_CONF") peers"
ip -n "$NS" link add "$DEV" type wireguard
ip netns exec "$NS" wg setconf "$DEV" "$WGSD_BENCH_CONF"
ip -n "$NS" link set "$DEV" up
ip netns exec "$NS" "$WGSD_BENCH_WG" read -b kernel -n 10 "$DEV"
# The guest's /tmp is its own (writes stay in the guest).
cap=$(mktemp /tmp/wgkb-capture.XXXXXX)
ip netns exec "$NS" "$WGSD_BENCH_WG" capture "$DEV" >"$cap"
"$WGSD_BENCH_WG" replay -n 10 "$cap"
cat "$cap"
rm -f "$cap"
