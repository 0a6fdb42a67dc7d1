#!/bin/bash
# SPDX-License-Identifier: MIT
# Transfers for the mesh itself, in two namespaces joined by a veth pair:
# host R runs wireguard-go (wgr), the wgsd registry (access = peers) and NSD
# as its TSIG secondary on another address; host A runs wireguard-go (wga)
# with a real tunnel to R, and the wgsd client.
#  - A's wgsd client, configured with NSD as its registry, sets the endpoints
#    of its stale peers from NSD's answers, and follows a peer that moves
#    (NOTIFY, IXFR, the next cycle);
#  - A, a member of the mesh, may AXFR the zone through the tunnel
#    (peer-transfers) and gets the complete listing; the same request from A
#    outside the tunnel, or with peer-transfers = no, is REFUSED.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/xfr-lib.sh"
if ! command -v nsd >/dev/null; then
	[ -n "${CI:-}" ] && { echo "FAIL: nsd missing" >&2; exit 1; }
	echo "SKIP: nsd missing" >&2
	exit 77
fi
reg_require

Z=example.com.
WGR="wgr$$" WGA="wga$$"
KEY=xfr.example.
SECRET=$(head -c 32 /dev/urandom | base64)
reg_peer_ns "$NSC" "vr$$" 192.0.2.1/24 "va$$" 192.0.2.2/24
ip -n "$NS" addr add 192.0.2.3/24 dev "vr$$"

wg genkey >"$TMP/r.key"
wg genkey >"$TMP/a.key"
RPUB=$(wg pubkey <"$TMP/r.key")
APUB=$(wg pubkey <"$TMP/a.key")
wg_dev_start "$NS" "$WGR"
wg_dev_start "$NSC" "$WGA"
in_ns "$NS" wg set "$WGR" listen-port 51820 private-key "$TMP/r.key" \
	peer "$APUB" allowed-ips 10.8.0.2/32 endpoint 192.0.2.2:51820
in_ns "$NSC" wg set "$WGA" listen-port 51820 private-key "$TMP/a.key" \
	peer "$RPUB" allowed-ips 10.8.0.1/32 endpoint 192.0.2.1:51820 persistent-keepalive 1
ip -n "$NS" addr add 10.8.0.1/24 dev "$WGR"
ip -n "$NSC" addr add 10.8.0.2/24 dev "$WGA"
ip -n "$NS" link set "$WGR" up
ip -n "$NSC" link set "$WGA" up
in_ns "$NSC" ping -c 1 -W 5 10.8.0.1 >/dev/null || fail "no tunnel between A and R"

# Two peers A knows without an endpoint, published by R.
P1=$(rand_key) P2=$(rand_key)
in_ns "$NS" wg set "$WGR" peer "$P1" endpoint 198.51.100.11:1111 allowed-ips 10.8.1.1/32 \
	peer "$P2" endpoint "[2001:db8:ffff::12]:1212" allowed-ips 10.8.1.2/32
in_ns "$NSC" wg set "$WGA" peer "$P1" allowed-ips 10.8.1.1/32 peer "$P2" allowed-ips 10.8.1.2/32

reg_conf() {   # reg_conf PEER_TRANSFERS
	cat >"$TMP/wgsd.conf" <<CONF
[daemon]
status-socket = $TMP/wgsd.sock
[registry]
listen = 10.8.0.1:53
listen = 192.0.2.1:53
access = peers
[zone $Z]
device = $WGR
refresh = 200ms
soa-refresh = 1h
peer-transfers = $1
allow-transfer = 192.0.2.3 key $KEY
notify = 192.0.2.3:53 key $KEY
[key $KEY]
secret = $SECRET
CONF
}
reg_conf yes
wgsd_start "$TMP/wgsd.conf"
sec_start_nsd "$Z" 192.0.2.3 53 192.0.2.1 53 "$KEY" "$SECRET"
retry 200 sh -c "[ -n \"\$(ip netns exec $NS dig +short @192.0.2.3 $(b32_of "$P1").$Z A)\" ]" ||
	{ sec_logs; fail "NSD did not transfer the zone"; }

echo "# a wgsd client with NSD as its registry sets its stale peers' endpoints"
cat >"$TMP/client.conf" <<CONF
[daemon]
status-socket = $TMP/client.sock
[client $WGA]
registry = 192.0.2.3:53
zone = $Z
interval = 1s
CONF
ip netns exec "$NSC" "$WGSD" -d -c "$TMP/client.conf" >"$TMP/client.log" 2>&1 &
PIDS="$PIDS $!"
endpoint_is() {
	[ "$(in_ns "$NSC" wg show "$WGA" endpoints | awk -v k="$1" '$1 == k { print $2 }')" = "$2" ]
}
retry 300 endpoint_is "$P1" 198.51.100.11:1111 || { tail -n 20 "$TMP/client.log" >&2; fail "P1 not set from NSD's answers"; }
retry 300 endpoint_is "$P2" "[2001:db8:ffff::12]:1212" || fail "P2 not set from NSD's answers"
endpoint_is "$RPUB" 192.0.2.1:51820 || fail "the registry peer was touched"
in_ns "$NS" wg set "$WGR" peer "$P1" endpoint 198.51.100.21:2121
retry 300 endpoint_is "$P1" 198.51.100.21:2121 || { sec_logs; fail "the client did not follow P1's move through NSD"; }
expect_in "$(cat "$TMP/client.log")" "198.51.100.11:1111 -> 198.51.100.21:2121"

echo "# members transfer the zone through the tunnel; not from outside it, not with peer-transfers = no"
out=$(in_ns "$NSC" dig @10.8.0.1 "$Z" AXFR 2>&1) || true
expect_in "$out" "XFR size: 18 records"   # SOA twice, NS, and five records for each of A, P1 and P2
expect_in "$out" "$(b32_of "$APUB")._wireguard._udp.$Z"
expect_in "$(in_ns "$NSC" dig @192.0.2.1 "$Z" AXFR)" "Transfer failed"
# Inside the tunnel, an IXFR for the current serial gets the SOA alone.
serial=$(in_ns "$NSC" dig +short @10.8.0.1 "$Z" SOA | awk '{ print $3 }')
expect_in "$(in_ns "$NSC" dig @10.8.0.1 "$Z" "IXFR=$serial")" "XFR size: 1 records"
[ "$(status_value "r['zones'][0]['transfers']['peers']['axfr']")" -ge 1 ] || fail "member transfers not counted"
reg_conf no
kill -HUP "$WGSD_PID"
retry 100 sh -c "ip netns exec $NSC dig @10.8.0.1 $Z AXFR | grep -q 'Transfer failed'" ||
	fail "peer-transfers = no still lets members transfer"
expect_in "$(in_ns "$NSC" dig +short @10.8.0.1 "$(b32_of "$P1").$Z" A)" "198.51.100.21"
echo "PASS"
