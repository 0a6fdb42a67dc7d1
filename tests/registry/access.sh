#!/bin/bash
# SPDX-License-Identifier: MIT
# access = peers: a real WireGuard peer in a second namespace asks through the
# tunnel and is answered; the same host asking over the plain veth from a
# non-peer address is refused, and so is a spoofed source that is a peer's
# allowed IP but arrives on the wrong interface. The same holds over TCP: a
# peer whose allowed IPs include 127.0.0.0/8 and ::1 does not make queries
# from loopback answered, while TCP through the tunnel (IPv4 and IPv6) is.
# Refusals are counted and logged once per source per minute. A reload to a CIDR list keeps the
# listeners (counters continue) and flips who is answered.
set -eu
. "$(dirname "$0")/lib.sh"
reg_require

VR="vr$$"
VC="vc$$"
reg_peer_ns "$NSC" "$VR" 198.51.100.1/24 "$VC" 198.51.100.2/24
# Let the spoofed packet reach the daemon: reverse-path filtering would drop it before the check we test.
in_ns "$NS" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$VR.rp_filter=0"

R="rga$$"
C="rgd$$"
wg_dev_start "$NS" "$R"
wg_dev_start "$NSC" "$C"
(umask 077 && wg genkey >"$TMP/r.key" && wg genkey >"$TMP/c.key")
PUB_R=$(wg pubkey <"$TMP/r.key")
PUB_C=$(wg pubkey <"$TMP/c.key")
K9=$(rand_key)
K7=$(rand_key)
# K7's allowed IPs hold the loopback ranges: wireguard-go adds no routes, so loopback stays loopback.
in_ns "$NS" wg set "$R" private-key "$TMP/r.key" listen-port 51820 \
	peer "$PUB_C" endpoint 198.51.100.2:51821 allowed-ips 10.0.0.1/32,fd00::1/128 \
	peer "$K9" endpoint 192.0.2.9:9999 allowed-ips 10.0.0.9/32 \
	peer "$K7" endpoint 192.0.2.7:7777 allowed-ips 127.0.0.0/8,::1/128
in_ns "$NSC" wg set "$C" private-key "$TMP/c.key" listen-port 51821 \
	peer "$PUB_R" endpoint 198.51.100.1:51820 allowed-ips 10.0.0.0/24,fd00::/64
ip -n "$NS" addr add 10.0.0.254/24 dev "$R"
ip -n "$NS" addr add fd00::254/64 dev "$R" nodad
ip -n "$NS" link set "$R" up
ip -n "$NSC" addr add 10.0.0.1/24 dev "$C"
ip -n "$NSC" addr add fd00::1/64 dev "$C" nodad
ip -n "$NSC" link set "$C" up

# Write the config with access = $1 and an optional second listen address $2.
write_conf() {
	cat >"$TMP/wgsd.conf" <<CONF
[daemon]
log-level = info
status-socket = $TMP/wgsd.sock

[registry]
listen = 0.0.0.0:53
${2:+listen = $2}
access = $1

[zone example.com.]
device = $R
refresh = ${REFRESH:-200ms}
CONF
}
write_conf peers '[::]:53'
wgsd_start "$TMP/wgsd.conf"
Z=example.com.
BC=$(b32_of "$PUB_C")
B9=$(b32_of "$K9")

# dig from the peer's namespace (blanks squeezed).
qc() {
	in_ns "$NSC" dig +tries=1 +time=2 "$@" | tr -s '[:blank:]' ' '
}

echo "# a peer asking through the tunnel is answered (UDP and TCP)"
retry 50 sh -c "ip netns exec $NSC dig +tries=1 +time=1 @10.0.0.254 $Z SOA | grep -q 'status: NOERROR'" ||
	fail "no answer through the tunnel"
out=$(qc @10.0.0.254 +short "$B9.$Z" A)
[ "$out" = 192.0.2.9 ] || fail "peer query: $out"
out=$(qc @10.0.0.254 +short "_wireguard._udp.$Z" PTR)
expect_in "$out" "$BC._wireguard._udp.$Z"
expect_in "$(qc @10.0.0.254 +tcp "$B9._wireguard._udp.$Z" SRV)" "status: NOERROR"
expect_in "$(qc @fd00::254 "$B9.$Z" A)" "status: NOERROR"
expect_in "$(qc @fd00::254 +tcp "$B9.$Z" A)" "status: NOERROR"

refused() { status_value 'r["listeners"][0]["udp"]["refused"]'; }
noerror() { status_value 'r["listeners"][0]["udp"]["rcodes"]["NOERROR"]'; }

echo "# a non-peer address on another interface is refused, and logged once per minute"
before=$(refused)
for _ in 1 2 3; do
	out=$(qc @198.51.100.1 "_wireguard._udp.$Z" PTR)
	expect_in "$out" "status: REFUSED"
	expect_in "$out" "ANSWER: 0"
done
[ "$(refused)" = $((before + 3)) ] || fail "refused counter"
n=$(grep -c "refused UDP query from 198.51.100.2:.*access denied" "$TMP/wgsd.log" || true)
[ "$n" = 1 ] || fail "refusal logged $n times"
expect_in "$(qc @198.51.100.1 +tcp "$B9.$Z" A)" "status: REFUSED"

echo "# loopback is not the zone's interface: refused over UDP and TCP, though 127.0.0.0/8 and ::1 are a peer's"
# TCP first: each source is logged once a minute, and the TCP refusal is the line to see.
for server in 127.0.0.1 ::1; do
	for proto in +tcp +notcp; do
		out=$(in_ns "$NS" dig +tries=1 +time=2 "$proto" @"$server" "$B9.$Z" A)
		expect_in "$out" "status: REFUSED"
		expect_in "$out" "ANSWER: 0"
	done
done
grep -q "refused TCP query from 127.0.0.1:.*access denied" "$TMP/wgsd.log" || fail "TCP refusal from loopback not logged"
grep -q "refused TCP query from \[::1\]:.*access denied" "$TMP/wgsd.log" || fail "TCP refusal from ::1 not logged"

echo "# a peer's allowed IP spoofed on the wrong interface is refused"
before=$(refused)
ok_before=$(noerror)
# The REFUSED reply is routed into the tunnel and dropped there, so dig sees nothing: judge by the counters.
in_ns "$NSC" dig +tries=1 +time=1 -b 10.0.0.1 @198.51.100.1 "$B9.$Z" A >/dev/null 2>&1 || true
retry 20 sh -c "[ \"\$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[\"registry\"][\"listeners\"][0][\"udp\"][\"refused\"])')\" = $((before + 1)) ]" ||
	fail "spoofed query not refused"
[ "$(noerror)" = "$ok_before" ] || fail "spoofed query was answered"
grep -q "refused UDP query from 10.0.0.1:.*access denied" "$TMP/wgsd.log" || fail "spoofed refusal not logged"

echo "# reload to a CIDR list: listeners stay, the veth side is answered, the tunnel is not"
accepted=$(status_value 'r["listeners"][0]["tcp_accepted"]')
# The zone changes too (refresh): it restarts, answering from its previous snapshot meanwhile.
REFRESH=300ms write_conf 198.51.100.0/24 198.51.100.1:5353
kill -HUP "$WGSD_PID"
retry 50 sh -c "ip netns exec $NSC dig +tries=1 +time=1 @198.51.100.1 $Z SOA | grep -q 'status: NOERROR'" ||
	fail "CIDR access after reload"
expect_in "$(qc @10.0.0.254 "$Z" SOA)" "status: REFUSED"
[ "$(status_value 'r["access"]')" = cidr ] || fail "access mode in status"
[ "$(status_value 'r["listeners"][0]["tcp_accepted"]')" -ge "$accepted" ] || fail "listener counters reset"
[ "$(status_value 'r["listeners"][0]["udp"]["refused"]')" -ge 4 ] || fail "listener counters reset"
echo "# a wildcard listener answers from the address the query was sent to (secondary address)"
ip -n "$NS" addr add 198.51.100.99/24 dev "$VR"
out=$(qc @198.51.100.99 "$B9.$Z" A)
expect_in "$out" "status: NOERROR"
expect_not_in "$out" "unexpected source"
echo "# a listener added by the reload answers over UDP and TCP"
expect_in "$(qc @198.51.100.1 -p 5353 "$B9.$Z" A)" "status: NOERROR"
expect_in "$(qc @198.51.100.1 -p 5353 +tcp "$B9.$Z" A)" "status: NOERROR"
[ "$(status_value 'len(r["listeners"])')" = 2 ] || fail "listener count after reload"
echo "# a reload that cannot bind keeps the running configuration"
ip netns exec "$NS" python3 -c 'import socket, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.1", 5454))
print("bound", flush=True)
time.sleep(60)' >"$TMP/blocker.out" &
BLOCKER=$!
PIDS="$PIDS $BLOCKER"
retry 50 grep -q bound "$TMP/blocker.out" || fail "could not occupy port 5454"
write_conf any 198.51.100.1:5454
kill -HUP "$WGSD_PID"
retry 50 grep -q "198.51.100.1:5454" "$TMP/wgsd.log" || fail "failed reload not logged"
[ "$(status_value 'r["access"]')" = cidr ] || fail "failed reload changed the access mode"
[ "$(status_value 'len(r["listeners"])')" = 2 ] || fail "failed reload changed the listeners"
expect_in "$(qc @198.51.100.1 -p 5353 "$B9.$Z" A)" "status: NOERROR"
expect_in "$(qc @10.0.0.254 "$Z" SOA)" "status: REFUSED"
kill "$BLOCKER"

kill -0 "$WGSD_PID" || fail "wgsd died"
echo "PASS"
