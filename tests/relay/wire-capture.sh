#!/bin/bash
# SPDX-License-Identifier: MIT
# relay-wire against real wireguard-go: two devices in two namespaces talk
# through udp-tap.py, which records every datagram; relay-wire-check then
# requires each to classify as a WireGuard message and each handshake
# message's mac1 to verify with the receiver's public key (and not with the
# sender's). The unit test's vectors (test-relay-wire.c) came from such a run:
# RELAY_CAPTURE_PRINT=1 prints them.
set -eu
ID=$$
NSA=wgsdrcap-$ID-a
NSB=wgsdrcap-$ID-b
DA=wgrca$ID
DB=wgrcb$ID
RUN=$(mktemp -d "${TMPDIR:-/tmp}/wgsdrcap-$ID.XXXXXX")
PIDS=

cleanup()
{
	local rc=$? p
	set +e
	for p in $PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip -n "$NSA" link del "$DA" 2>/dev/null
	ip -n "$NSB" link del "$DB" 2>/dev/null
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	if [ "$rc" != 0 ]; then
		for f in "$RUN"/*.log; do
			[ -s "$f" ] && { echo "---- $f"; tail -n 20 "$f"; }
		done >&2
	fi
	rm -rf "$RUN"
	exit "$rc"
}
trap cleanup EXIT

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
for p in ip wg wireguard-go python3 ping; do
	command -v "$p" >/dev/null || fail "$p not installed (tests/deps.sh)"
done
[ -x "${RELAY_WIRE_CHECK:-}" ] || fail "RELAY_WIRE_CHECK is not set (run through meson test)"

ip netns add "$NSA"
ip netns add "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" link add a0 type veth peer name b0 netns "$NSB"
ip -n "$NSA" addr add 192.0.2.1/24 dev a0
ip -n "$NSB" addr add 192.0.2.2/24 dev b0
ip -n "$NSA" link set a0 up
ip -n "$NSB" link set b0 up
for n in A B; do
	ns=NS$n dev=D$n
	rm -f "/var/run/wireguard/${!dev}.sock"
	ip netns exec "${!ns}" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error \
		wireguard-go -f "${!dev}" >"$RUN/${!dev}.log" 2>&1 &
	PIDS="$PIDS $!"
done
for i in $(seq 100); do
	[ -S "/var/run/wireguard/$DA.sock" ] && [ -S "/var/run/wireguard/$DB.sock" ] && break
	sleep 0.05
done
(umask 077 && wg genkey >"$RUN/a.key" && wg genkey >"$RUN/b.key")
KA=$(wg pubkey <"$RUN/a.key")
KB=$(wg pubkey <"$RUN/b.key")
# a sends to the tap's port 52001 on its own loopback, b to port 52002 across the veth.
ip netns exec "$NSA" python3 "$(dirname "$0")/udp-tap.py" 52001 52002 127.0.0.1:51001 192.0.2.2:51002 \
	"$RUN/capture.txt" >"$RUN/tap.log" 2>&1 &
PIDS="$PIDS $!"
ip netns exec "$NSA" wg set "$DA" listen-port 51001 private-key "$RUN/a.key" \
	peer "$KB" allowed-ips 10.9.0.2/32 endpoint 127.0.0.1:52001
ip netns exec "$NSB" wg set "$DB" listen-port 51002 private-key "$RUN/b.key" \
	peer "$KA" allowed-ips 10.9.0.1/32 endpoint 192.0.2.1:52002
ip -n "$NSA" addr add 10.9.0.1/24 dev "$DA"
ip -n "$NSB" addr add 10.9.0.2/24 dev "$DB"
ip -n "$NSA" link set "$DA" up
ip -n "$NSB" link set "$DB" up
ok=0
for i in $(seq 20); do
	if ip netns exec "$NSA" ping -n -c 1 -W 1 10.9.0.2 >/dev/null 2>&1; then
		ok=1
		break
	fi
done
[ "$ok" = 1 ] || fail "no ping through the tap between the two wireguard-go devices"
# A handshake initiated by b as well: b forgets its session and pings.
ip netns exec "$NSB" wg set "$DB" peer "$KA" remove
ip netns exec "$NSB" wg set "$DB" peer "$KA" allowed-ips 10.9.0.1/32 endpoint 192.0.2.1:52002
ip netns exec "$NSB" ping -n -c 1 -W 2 10.9.0.1 >/dev/null 2>&1 || true
for i in $(seq 50); do
	grep -q '^b2a 01' "$RUN/capture.txt" && grep -q '^a2b 02' "$RUN/capture.txt" && break
	sleep 0.1
done
if [ "${RELAY_CAPTURE_PRINT:-0}" = 1 ]; then
	echo "/* a = $KA, b = $KB */"
	"$RELAY_WIRE_CHECK" "$KA" "$KB" "$RUN/capture.txt" -c
fi
"$RELAY_WIRE_CHECK" "$KA" "$KB" "$RUN/capture.txt" || fail "relay-wire disagrees with wireguard-go"
grep -q '^b2a 01' "$RUN/capture.txt" || fail "no initiation from b was captured"
grep -q '^a2b 02' "$RUN/capture.txt" || fail "no response from a was captured"
echo ok
