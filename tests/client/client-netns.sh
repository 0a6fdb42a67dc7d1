#!/bin/bash
# SPDX-License-Identifier: MIT
# Client role end to end: wireguard-go devices in namespaces, the wgsd
# registry (or, for misbehaving registries, the scriptable responder), and
# the client (wgsd -c; CLIENT_DRIVER=1 uses the test driver instead).
# usage: client-netns.sh CASE   (basic, two, tcp, rogue, silent, compat, many, reload, race, odd, both)
set -eu

CASE=${1:?case}
. "$WGSD_SRCDIR/tests/client/lib.sh"
need wireguard-go
need wg
need dig
trap cleanup EXIT

WGR="wgr$SUF"
WGR2="wgq$SUF"
WGA="wga$SUF"
WGB="wgb$SUF"
PEERS_JSON="$T/peers.json"
echo '{}' >"$PEERS_JSON"

# Publish a peer's endpoint at the registry: on the registry's device and in the responder's file.
# publish KEY ENDPOINT [DEVICE]
publish() {
	in_r wg set "${3:-$WGR}" peer "$1" endpoint "$2" allowed-ips "$(next_ip)/32"
	python3 - "$PEERS_JSON" "$1" "$2" <<'EOF'
import json, sys
path, key, ep = sys.argv[1:]
d = json.load(open(path))
d[key] = {"endpoint": ep}
json.dump(d, open(path, "w"))
EOF
}

IPN=0
# A fresh tunnel address for the registry's allowed IPs.
next_ip() {
	IPN=$((IPN + 1))
	echo "10.200.$((IPN / 250)).$((IPN % 250 + 1))"
}

# Base setup: R with the registry device, A with the client device.
setup_base() {
	setup_net
	genkey reg
	genkey cli
	wg_dev "$NS_R" "$WGR" 51820 "$T/reg.key"
	wg_dev "$NS_A" "$WGA" 51820 "$T/cli.key"
}

# Write the client configuration: client_conf FILE EXTRA_LINES REGISTRY...
client_conf() {
	local file=$1 extra=$2 r
	shift 2
	{
		echo "[daemon]"
		echo "status-socket = $T/client.sock"
		echo "[client $WGA]"
		for r in "$@"; do echo "registry = $r"; done
		echo "zone = example.com."
		echo "interval = 1s"
		printf '%b\n' "$extra"
	} >"$file"
}

# Short key as the client logs it (first 8 base64 characters).
short() { echo "${1:0:8}"; }

# Number of lines in the client log matching a pattern.
log_count() { grep -c -- "$1" "$T/client.log" || true; }

case_basic() {
	setup_base
	setup_net_b
	genkey b
	wg_dev "$NS_B" "$WGB" 51822 "$T/b.key"
	P1=$(randkeys 1); P2=$(randkeys 1); P3=$(randkeys 1); P4=$(randkeys 1); RP=$(randkeys 1)
	B=$(cat "$T/b.pub")

	# The client's view: everything stale but B, which gets a real handshake.
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32 \
		peer "$P2" allowed-ips 10.1.0.2/32 \
		peer "$P3" allowed-ips 10.1.0.3/32 \
		peer "$P4" allowed-ips 10.1.0.4/32 endpoint 198.51.100.44:4444 \
		peer "$RP" allowed-ips 192.0.2.1/32 endpoint 192.0.2.1:51820 \
		peer "$B" allowed-ips 10.9.0.2/32 endpoint 198.51.100.2:51822
	in_b wg set "$WGB" peer "$(cat "$T/cli.pub")" allowed-ips 10.9.0.1/32 endpoint 198.51.100.1:51820
	in_a ip addr add 10.9.0.1/24 dev "$WGA"
	in_b ip addr add 10.9.0.2/24 dev "$WGB"
	in_a ping -c 1 -W 5 10.9.0.2 >/dev/null || fail "no tunnel between A and B"

	# The registry's view: where each peer is "now".
	publish "$P1" 198.51.100.11:1111
	publish "$P2" "[2001:db8:ffff::12]:1212"
	publish "$P4" 203.0.113.44:4444
	publish "$RP" 203.0.113.77:7777
	publish "$B" 203.0.113.50:5050
	registry_conf "$T/registry.conf" "$WGR" 192.0.2.1:53 "[2001:db8::1]:53"
	start_wgsd "$NS_R" registry "$T/registry.conf"
	wait_registry 192.0.2.1

	client_conf "$T/client.conf" "keepalive = 25\nexclude = $P4" 192.0.2.1:53
	start_client "$T/client.conf"

	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "stale IPv4 peer not set"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P2" "[2001:db8:ffff::12]:1212" || fail "stale IPv6 peer not set"
	wait_cycles 4 30
	[ "$(keepalive_of "$NS_A" "$WGA" "$P1")" = 25 ] || fail "keepalive not set with the endpoint"
	endpoint_is "$NS_A" "$WGA" "$P3" "(none)" || fail "unknown peer got an endpoint"
	endpoint_is "$NS_A" "$WGA" "$P4" 198.51.100.44:4444 || fail "excluded peer was touched"
	endpoint_is "$NS_A" "$WGA" "$RP" 192.0.2.1:51820 || fail "registry peer was touched"
	endpoint_is "$NS_A" "$WGA" "$B" 198.51.100.2:51822 || fail "fresh peer was touched"
	[ "$(keepalive_of "$NS_A" "$WGA" "$B")" = off ] || fail "fresh peer's keepalive was touched"

	# Each change logged once, with old and new endpoint.
	[ "$(log_count "$(short "$P1").* endpoint none -> 198.51.100.11:1111")" = 1 ] || fail "P1 change not logged exactly once"
	[ "$(log_count "endpoint .* -> ")" = 2 ] || fail "expected exactly two endpoint changes in the log"

	status_eval "peer('$P4')['class'] == 'excluded'" || fail "status: excluded"
	status_eval "peer('$RP')['class'] == 'registry'" || fail "status: registry peer"
	status_eval "peer('$B')['class'] == 'fresh' and peer('$B')['handshake_age_s'] is not None" || fail "status: fresh"
	status_eval "peer('$P1')['endpoint_set'] == '198.51.100.11:1111' and peer('$P1')['endpoint_set_at']" || fail "status: endpoint set"
	status_eval "peer('$P1')['registries'][0]['result'] == 'ok' and peer('$P1')['registries'][0]['last_query']" || fail "status: per-registry result"
	status_eval "peer('$P3')['result'] in ('unknown', 'backoff') and peer('$P3')['registries'][0]['result'] == 'nxdomain'" || fail "status: unknown peer"
	status_eval "reg('192.0.2.1:53')['reachable'] is True and reg('192.0.2.1:53')['responses'] > 0" || fail "status: registry reachable"
	status_eval "dev['endpoint_updates'] == 2" || fail "status: update count"

	# The peer moves: the client follows within the capped backoff.
	in_r wg set "$WGR" peer "$P1" endpoint 198.51.100.21:2121
	wait_for 30 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.21:2121 || fail "moved peer not followed"
	[ "$(log_count "$(short "$P1").* endpoint 198.51.100.11:1111 -> 198.51.100.21:2121")" = 1 ] || fail "move not logged once"
}

case_two() {
	setup_base
	genkey reg2
	wg_dev "$NS_R" "$WGR2" 51821 "$T/reg2.key"
	P1=$(randkeys 1); P2=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32 peer "$P2" allowed-ips 10.1.0.2/32
	# The two registries see P1 behind different public ports: an endpoint-dependent NAT.
	publish "$P1" 198.51.100.11:1111 "$WGR"
	publish "$P1" 198.51.100.11:2222 "$WGR2"
	publish "$P2" 198.51.100.12:1212 "$WGR2"
	registry_conf "$T/registry.conf" "$WGR" 192.0.2.1:53
	registry_conf "$T/registry2.conf" "$WGR2" "[2001:db8::1]:53"
	start_wgsd "$NS_R" registry "$T/registry.conf"
	start_wgsd "$NS_R" registry2 "$T/registry2.conf"
	wait_registry 192.0.2.1
	wait_registry 2001:db8::1

	# 192.0.2.9 has no host: that registry is down (silent).
	client_conf "$T/client.conf" "timeout = 300ms" 192.0.2.9:53 192.0.2.1:53 "[2001:db8::1]:53"
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P2" 198.51.100.12:1212 || fail "peer known to one registry only not set"
	wait_for 20 sh -c "ip netns exec $NS_A wg show $WGA endpoints | grep -q '$P1.*198.51.100.11:'" || fail "P1 not set"
	wait_cycles 3 30
	status_eval "peer('$P1')['nat'] == 'symmetric'" || fail "no NAT note for different ports"
	status_eval "peer('$P2')['nat'] != 'symmetric'" || fail "NAT note without reason"
	status_eval "reg('192.0.2.9:53')['reachable'] is False" || fail "down registry shown reachable"
	status_eval "reg('[2001:db8::1]:53')['reachable'] is True" || fail "IPv6 registry not reachable"
	[ "$(log_count "$(short "$P1").*endpoint-dependent")" = 1 ] || fail "NAT note not logged once"
	[ "$(log_count "registry 192.0.2.9:53 is not answering")" = 1 ] || fail "down registry not logged once"
	client_status >"$T/status.json"
	grep -q 'wgsd_client_registry_up{device="'"$WGA"'",registry="192.0.2.9:53"} 0' <(client_metrics) || fail "metrics: registry_up"
}

# Prometheus text of the client.
client_metrics() {
	if [ "${CLIENT_DRIVER:-}" = 1 ]; then
		client_status >/dev/null && cat "$T/client.status.metrics"
	else
		"$WGSDCTL" -s "$T/client.sock" metrics
	fi
}

# wgsd's registry never truncates an SRV answer (it drops additional data that
# does not fit, RFC 2181 9), so a responder that always sets TC=1 over UDP and
# answers over TCP stands in for a registry with oversized answers.
case_tcp() {
	setup_base
	P1=$(randkeys 1); P2=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32 peer "$P2" allowed-ips 10.1.0.2/32
	publish "$P1" 198.51.100.11:1111
	publish "$P2" "[2001:db8:ffff::12]:1212"
	start_responder trunc --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" --mode truncate
	client_conf "$T/client.conf" "" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "truncated answer not retried over TCP"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P2" "[2001:db8:ffff::12]:1212" || fail "truncated IPv6 answer not retried over TCP"
	grep -q "^tcp 33 " "$T/trunc.queries" || fail "no SRV query over TCP"
	status_eval "reg('192.0.2.1:53')['tcp_responses'] >= 2" || fail "TCP answers not counted"
}

case_rogue() {
	setup_base
	P1=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32
	publish "$P1" 198.51.100.11:1111
	# Before each real answer: wrong ID, wrong question, wrong source port, wrong source address.
	start_responder rogue --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" \
		--mode rogue --rogue-addr 192.0.2.3 --rogue-endpoint 203.0.113.66:6666
	client_conf "$T/client.conf" "" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "real answer not used"
	wait_cycles 2 20
	stop rogue
	# Forgeries only: nothing may change.
	publish "$P1" 198.51.100.21:2121
	start_responder rogue2 --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" \
		--mode rogue-only --rogue-addr 192.0.2.3 --rogue-endpoint 203.0.113.66:6666
	local c
	c=$(status_eval "dev['cycles']")
	wait_cycles $((c + 6)) 40
	grep -q "^udp 33 " "$T/rogue2.queries" || fail "test setup: the rogue responder got no query"
	endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "a forged answer changed the endpoint"
	[ "$(log_count 203.0.113.66)" = 0 ] || fail "forged endpoint appears in the log"
}

case_silent() {
	setup_base
	P1=$(randkeys 1); P2=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32 endpoint 198.51.100.44:4444 peer "$P2" allowed-ips 10.1.0.2/32
	publish "$P1" 198.51.100.11:1111
	start_responder silent --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" --mode silent
	client_conf "$T/client.conf" "timeout = 200ms" 192.0.2.1:53
	CLIENT_DEBUG=0 start_client "$T/client.conf"
	wait_cycles 8 60
	endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.44:4444 || fail "endpoint changed without an answer"
	endpoint_is "$NS_A" "$WGA" "$P2" "(none)" || fail "endpoint set without an answer"
	[ "$(log_count "192.0.2.1:53")" = 1 ] || fail "silent registry logged more than once"
	local lines
	lines=$(grep -vc -e "started" -e "^<" "$T/client.log" || true)
	[ "$lines" -le 2 ] || fail "log flood: $lines lines"
	status_eval "reg('192.0.2.1:53')['reachable'] is False and peer('$P1')['result'] in ('no-answer', 'backoff')" || fail "status of the silent registry"
	# One retry per query, no more: every name asked is asked an even number of times.
	python3 - "$T/silent.queries" <<'EOF' || fail "retry count"
import collections, sys
c = collections.Counter(l.split()[2] for l in open(sys.argv[1]) if l.startswith("udp"))
assert c and all(n % 2 == 0 for n in c.values()), c
EOF
	# Backoff: the stale peers are not asked every cycle.
	status_eval "peer('$P1')['backoff']['failures'] >= 3" || fail "no backoff"
}

case_compat() {
	setup_base
	P1=$(randkeys 1); P2=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32 peer "$P2" allowed-ips 10.1.0.2/32
	publish "$P1" 198.51.100.11:1111
	publish "$P2" "[2001:db8:ffff::12]:1212"
	# Later plugin layout, lower-case labels, no addresses in the additional section.
	start_responder compat1 --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" \
		--layout service --lower --no-additional
	client_conf "$T/client.conf" "" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "service layout, IPv4"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P2" "[2001:db8:ffff::12]:1212" || fail "service layout, IPv6"
	grep -q "^udp 28 " "$T/compat1.queries" || fail "no AAAA query for the SRV target"
	grep -q "^udp 1 " "$T/compat1.queries" || fail "no A query for the SRV target"
	stop compat1
	# First plugin layout, target B.ZONE, no additional section either.
	publish "$P1" 198.51.100.21:2121
	publish "$P2" "[2001:db8:ffff::22]:2222"
	start_responder compat2 --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" \
		--layout short --no-additional
	wait_for 30 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.21:2121 || fail "short layout, IPv4"
	wait_for 30 endpoint_is "$NS_A" "$WGA" "$P2" "[2001:db8:ffff::22]:2222" || fail "short layout, IPv6"
}

case_many() {
	local n=1000
	setup_base
	randkeys $n >"$T/keys"
	python3 - "$T/keys" "$T/reg-peers.conf" "$T/cli-peers.conf" <<'EOF'
import sys
keys = open(sys.argv[1]).read().split()
with open(sys.argv[2], "w") as r, open(sys.argv[3], "w") as c:
    for i, k in enumerate(keys):
        r.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 198.51.100.%d:%d\n\n"
                % (k, 100 + i // 65536, i // 256 % 256, i % 256, 1 + i % 250, 10000 + i))
        c.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n\n" % (k, 100 + i // 65536, i // 256 % 256, i % 256))
EOF
	in_r wg addconf "$WGR" "$T/reg-peers.conf"
	in_a wg addconf "$WGA" "$T/cli-peers.conf"
	registry_conf "$T/registry.conf" "$WGR" 192.0.2.1:53
	start_wgsd "$NS_R" registry "$T/registry.conf"
	wait_registry 192.0.2.1
	# One cycle only: the interval is long.
	client_conf "$T/client.conf" "" 192.0.2.1:53
	sed -i 's/^interval = .*/interval = 1h/' "$T/client.conf"
	start_client "$T/client.conf"
	wait_for 120 status_eval "dev['cycles'] >= 1" || fail "first cycle did not finish"
	status_eval "dev['cycles'] == 1 and dev['last_cycle']['updated'] == $n and dev['last_cycle']['candidates'] == $n" ||
		fail "not every stale peer resolved in one cycle"
	in_a wg show "$WGA" endpoints | sort >"$T/got"
	in_r wg show "$WGR" endpoints | sort >"$T/want"
	diff -q "$T/got" "$T/want" >/dev/null || fail "endpoints differ from the registry's"
}

# SIGHUP: an unchanged section keeps running with its state; a changed one restarts with the new settings.
case_reload() {
	setup_base
	P1=$(randkeys 1)
	in_a wg set "$WGA" peer "$P1" allowed-ips 10.1.0.1/32
	publish "$P1" 198.51.100.11:1111
	registry_conf "$T/registry.conf" "$WGR" 192.0.2.1:53
	start_wgsd "$NS_R" registry "$T/registry.conf"
	wait_registry 192.0.2.1
	client_conf "$T/client.conf" "" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "P1 not set"
	wait_cycles 3 20
	local c
	c=$(status_eval "dev['cycles']")
	kill -HUP "$PID_client"
	sleep 1
	status_eval "dev['cycles'] >= $c" || fail "unchanged section was restarted"
	[ "$(log_count "section removed or changed")" = 0 ] || fail "unchanged section logged a restart"
	# Now exclude P1 and move it at the registry: it must stay where it is.
	printf 'exclude = %s\n' "$P1" >>"$T/client.conf"
	kill -HUP "$PID_client"
	wait_for 10 status_eval "peer('$P1') is not None and peer('$P1')['class'] == 'excluded'" || fail "new settings not applied"
	[ "$(log_count "section removed or changed")" = 1 ] || fail "restart not logged"
	in_r wg set "$WGR" peer "$P1" endpoint 198.51.100.21:2121
	c=$(status_eval "dev['cycles']")
	wait_cycles $((c + 4)) 20
	endpoint_is "$NS_A" "$WGA" "$P1" 198.51.100.11:1111 || fail "excluded after reload but still touched"
}

# Set a field of a peer's entry in the responder's file: peer_field KEY FIELD JSON_VALUE (null deletes it)
peer_field() {
	python3 - "$PEERS_JSON" "$1" "$2" "$3" <<'EOF'
import json, sys
path, key, field, value = sys.argv[1:]
d = json.load(open(path))
v = json.loads(value)
if v is None:
    d[key].pop(field, None)
else:
    d[key][field] = v
json.dump(d, open(path, "w"))
EOF
}

# Upper-case base32 of a base64 key, as the client asks for it.
b32() { python3 -c 'import base64, sys; print(base64.b32encode(base64.b64decode(sys.argv[1])).decode())' "$1"; }

# Answers that arrive late: the peer handshaked, or was removed, while its query was in flight.
# Neither may be written over; the log and status say what happened, not "set".
case_race() {
	setup_base
	setup_net_b
	genkey b
	wg_dev "$NS_B" "$WGB" 51822 "$T/b.key"
	B=$(cat "$T/b.pub")
	P1=$(randkeys 1)
	# B is on A without an endpoint (stale: never handshaked); A is on B, also without one for now.
	in_a wg set "$WGA" peer "$B" allowed-ips 10.9.0.2/32 peer "$P1" allowed-ips 10.1.0.1/32
	in_b wg set "$WGB" peer "$(cat "$T/cli.pub")" allowed-ips 10.9.0.1/32
	in_a ip addr add 10.9.0.1/24 dev "$WGA"
	in_b ip addr add 10.9.0.2/24 dev "$WGB"
	publish "$B" 203.0.113.50:5050
	publish "$P1" 198.51.100.11:1111
	touch "$T/hold"
	peer_field "$B" hold "\"$T/hold\""
	peer_field "$P1" hold "\"$T/hold\""
	start_responder late --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON"
	# A long query timeout: the held answers must come back to the queries that asked.
	client_conf "$T/client.conf" "timeout = 20s" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 grep -q "^held 33 $(b32 "$B")" "$T/late.queries" || fail "the SRV query for B did not arrive"
	wait_for 20 grep -q "^held 33 $(b32 "$P1")" "$T/late.queries" || fail "the SRV query for P1 did not arrive"
	# While the queries wait: B reaches A (A learns B's real endpoint from the handshake), P1 is removed.
	in_b wg set "$WGB" peer "$(cat "$T/cli.pub")" endpoint 198.51.100.1:51820
	in_b ping -c 1 -W 5 10.9.0.1 >/dev/null || fail "no tunnel from B to A"
	endpoint_is "$NS_A" "$WGA" "$B" 198.51.100.2:51822 || fail "A did not learn B's endpoint from the handshake"
	in_a wg set "$WGA" peer "$P1" remove
	rm -f "$T/hold"
	wait_for 20 grep -q "^released 33 " "$T/late.queries" || fail "held answers were not sent"
	wait_for 20 status_eval "dev['writes_skipped']['fresh'] == 1 and dev['writes_skipped']['gone'] == 1" ||
		fail "status does not count the skipped writes"
	endpoint_is "$NS_A" "$WGA" "$B" 198.51.100.2:51822 || fail "a late answer overwrote the endpoint of a fresh peer"
	in_a ping -c 1 -W 5 10.9.0.2 >/dev/null || fail "the tunnel to B broke"
	! in_a wg show "$WGA" peers | grep -qF "$P1" || fail "the removed peer was re-created"
	[ "$(log_count "endpoint .* -> ")" = 0 ] || fail "a skipped write was logged as set"
	[ "$(log_count "$(short "$B").* completed a handshake meanwhile (endpoint 198.51.100.2:51822); answer 203.0.113.50:5050 not written")" = 1 ] ||
		fail "the skipped write for B is not logged once"
	[ "$(log_count "$(short "$P1").* was removed from the device meanwhile; endpoint 198.51.100.11:1111 not set")" = 1 ] ||
		fail "the removal of P1 is not logged once"
	status_eval "dev['endpoint_updates'] == 0" || fail "status counts a set"
	status_eval "peer('$B')['result'] == 'fresh'" || fail "status: B's result"
	client_metrics | grep -q 'wgsd_client_writes_skipped_total{device="'"$WGA"'",reason="gone"} 1' || fail "metrics: gone"
	"$WGSDCTL" -s "$T/client.sock" status | grep -q "writes skipped, .*: 1 fresh, 0 moved, 1 gone" || fail "wgsdctl status: skipped writes"
}

# Answered endpoints that cannot work are never written, and each is logged once.
case_odd() {
	setup_base
	in_a ip addr add 10.9.0.1/24 dev "$WGA"
	local good i k
	good=$(randkeys 1)
	in_a wg set "$WGA" peer "$good" allowed-ips 10.1.0.1/32
	publish "$good" 198.51.100.11:1111
	# What the registry claims, and why each cannot be the peer's endpoint.
	local eps=(
		"0.0.0.0:51820"            # unspecified
		"[::]:51820"
		"127.0.0.1:51820"          # loopback
		"[::1]:51820"
		"224.0.0.1:51820"          # multicast
		"[ff02::1]:51820"
		"255.255.255.255:51820"    # broadcast
		"[fe80::1]:51820"          # link-local without a scope
		"192.0.2.2:51820"          # this host's own address and WireGuard port
		"10.9.0.77:4000"           # inside the WireGuard interface's own network
		"10.1.0.1:4000"            # inside a peer's allowed IPs: loops into the tunnel
	)
	local bad=()
	i=0
	for ep in "${eps[@]}"; do
		i=$((i + 1))
		bad+=("$(randkeys 1)")
		in_a wg set "$WGA" peer "${bad[-1]}" allowed-ips "10.2.0.$i/32"
		publish "${bad[-1]}" "$ep"
	done
	start_responder odd --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON"
	client_conf "$T/client.conf" "" 192.0.2.1:53
	start_client "$T/client.conf"
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$good" 198.51.100.11:1111 || fail "the usable endpoint was not set"
	wait_cycles 6 40
	i=0
	for k in "${bad[@]}"; do
		endpoint_is "$NS_A" "$WGA" "$k" "(none)" || fail "unusable endpoint ${eps[$i]} was written"
		[ "$(log_count "$(short "$k").* cannot be used")" = 1 ] || fail "${eps[$i]}: not logged exactly once"
		i=$((i + 1))
	done
	status_eval "dev['endpoints_rejected'] >= ${#bad[@]} and dev['endpoint_updates'] == 1" || fail "status counts"
	client_metrics | grep -q 'wgsd_client_endpoints_rejected_total{device="'"$WGA"'"} [1-9]' || fail "metrics: rejected"
}

# Both roles in one process: the client's first cycle waits for its own registry's first snapshot,
# so it neither warns about SERVFAIL nor waits a whole interval for the endpoint.
case_both() {
	setup_base
	genkey reg2
	wg_dev "$NS_R" "$WGR2" 51821 "$T/reg2.key"
	P1=$(randkeys 1)
	in_r wg set "$WGR2" peer "$P1" allowed-ips 10.1.0.1/32
	publish "$P1" 198.51.100.11:1111
	# A registry device large enough that its first read and snapshot take several loop turns.
	randkeys 800 | awk '{ printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 198.51.100.9:%d\n\n", $1, 100 + int(NR / 65536), int(NR / 256) % 256, NR % 256, 10000 + NR }' >"$T/many.conf"
	in_r wg addconf "$WGR" "$T/many.conf"
	registry_conf "$T/both.conf" "$WGR" 192.0.2.1:53
	sed -i "s|^status-socket = .*|status-socket = $T/client.sock|" "$T/both.conf"
	printf '[client %s]\nregistry = 192.0.2.1:53\nzone = example.com.\ninterval = 1h\n' "$WGR2" >>"$T/both.conf"
	CLIENT_CONF=$T/both.conf
	start_wgsd "$NS_R" client "$T/both.conf"
	# One cycle only (interval 1h): the endpoint comes from the first one.
	wait_for 20 endpoint_is "$NS_R" "$WGR2" "$P1" 198.51.100.11:1111 || fail "the first cycle did not set the endpoint"
	status_eval "dev['cycles'] == 1 and dev['waiting_for_registry'] is False" || fail "status: first cycle"
	! grep -E "SERVFAIL|unusable answer|WARN|warn" "$T/client.log" || fail "warnings at start"
}

case "$CASE" in
basic|two|tcp|rogue|silent|compat|many|reload|race|odd|both) "case_$CASE" ;;
*) echo "unknown case $CASE" >&2; exit 2 ;;
esac
echo "ok: client $CASE"
