#!/bin/bash
# SPDX-License-Identifier: MIT
# Candidates end to end, with real tunnels: a registry R (wgsd, wireguard-go)
# and two peers A and B with tunnels to it (wgsd client; A with interval 1h: a
# single cycle, so that what happens later is driven by address events and
# renewals; B with 1s).
#
#   A 192.0.2.2, 2001:db8::2 --veth-- R 192.0.2.1 / 203.0.113.1 --veth-- B 203.0.113.2
#   tunnels: R 10.9.0.254, A 10.9.0.1, B 10.9.0.2
#
# Checks: registration at start (LAN and IPv6, candidate-exclude), the
# published records as dig sees them, an address added and removed on A is
# registered without a client cycle (netlink), status and metrics on both
# sides, hostile UPDATEs over the network (another peer's names, the wrong
# interface, prerequisites, oversized, a flood that leaves B unaffected and
# memory bounded, rate-limited logs), and lease expiry once A stops renewing.
set -eu

. "$WGSD_SRCDIR/tests/client/lib.sh"
need wireguard-go
need wg
need dig
trap cleanup EXIT

WGR="wgr$SUF"
WGA="wga$SUF"
WGB="wgb$SUF"
SENDER="$WGSD_SRCDIR/tests/client/update-sender.py"
ZONE=example.com.

# B32 of a base64 key, as in the zone.
b32() { python3 -c 'import base64, sys; print(base64.b32encode(base64.b64decode(sys.argv[1])).decode())' "$1"; }

# dig at the registry through A's or B's tunnel: qa|qb ARGS...
qa() { in_a dig @10.9.0.254 +time=1 +tries=2 "$@"; }
qb() { in_b dig @10.9.0.254 +time=1 +tries=2 "$@"; }

# The SRV records of a peer's candidates as A sees them (one "prio weight port target" per line, sorted).
cands_of() { qa +short "$(b32 "$1")._wgcand._udp.$ZONE" SRV | sort; }

# True when A sees candidate LABEL of key KEY at ADDRESS: has_cand KEY LABEL ADDRESS
has_cand() {
	local t="$2.$(b32 "$1").$ZONE"
	cands_of "$1" | grep -q " ${t}$" || return 1
	qa +short "$t" A "$t" AAAA | grep -qx "$3"
}

# Registry status expression (Python over "s", the registry object).
reg_eval() {
	"$WGSDCTL" -s "$T/registry.sock" status --json | python3 -c 'import json, sys
s = json.load(sys.stdin)["registry"]
z = s["zones"][0]
v = eval(sys.argv[1])
print(v)
sys.exit(0 if v else 1)' "$1"
}

# Refused-update log lines of the registry.
refused_lines() { grep -c "refused .* update from" "$T/registry.log" || true; }

setup_net
ip netns add "$NS_B"
ip link add "vrb$SUF" netns "$NS_R" type veth peer name "vb$SUF" netns "$NS_B"
in_b ip link set lo up
in_r ip addr add 203.0.113.1/24 dev "vrb$SUF"
in_b ip addr add 203.0.113.2/24 dev "vb$SUF"
in_r ip link set "vrb$SUF" up
in_b ip link set "vb$SUF" up

genkey reg
genkey a
genkey b
KR=$(cat "$T/reg.pub") KA=$(cat "$T/a.pub") KB=$(cat "$T/b.pub")
wg_dev "$NS_R" "$WGR" 51820 "$T/reg.key"
wg_dev "$NS_A" "$WGA" 51821 "$T/a.key"
wg_dev "$NS_B" "$WGB" 51822 "$T/b.key"
in_r ip addr add 10.9.0.254/24 dev "$WGR"
in_a ip addr add 10.9.0.1/24 dev "$WGA"
in_b ip addr add 10.9.0.2/24 dev "$WGB"
in_r wg set "$WGR" peer "$KA" allowed-ips 10.9.0.1/32 peer "$KB" allowed-ips 10.9.0.2/32
in_a wg set "$WGA" peer "$KR" allowed-ips 10.9.0.254/32 endpoint 192.0.2.1:51820 persistent-keepalive 1 \
	peer "$KB" allowed-ips 10.9.0.2/32
in_b wg set "$WGB" peer "$KR" allowed-ips 10.9.0.254/32 endpoint 203.0.113.1:51820 persistent-keepalive 1 \
	peer "$KA" allowed-ips 10.9.0.1/32
wait_for 10 in_a ping -c 1 -W 1 10.9.0.254 || fail "no tunnel A -> R"
wait_for 10 in_b ping -c 1 -W 1 10.9.0.254 || fail "no tunnel B -> R"

# The registry answers on its tunnel address and, for the wrong-interface case, on its LAN address.
cat >"$T/registry.conf" <<EOF
[daemon]
status-socket = $T/registry.sock
[registry]
listen = 10.9.0.254:53
listen = 192.0.2.1:53
candidates-per-peer = 4
candidate-lease-max = 30s
[zone $ZONE]
device = $WGR
EOF
start_wgsd "$NS_R" registry "$T/registry.conf"
wait_for 15 sh -c "ip netns exec $NS_A dig @10.9.0.254 +time=1 +tries=1 $ZONE SOA | grep -q 'status: NOERROR'" ||
	fail "registry not answering through the tunnel"

for n in a b; do
	cat >"$T/client-$n.conf" <<EOF
[daemon]
status-socket = $T/client-$n.sock
[client $([ $n = a ] && echo "$WGA" || echo "$WGB")]
registry = 10.9.0.254:53
zone = $ZONE
interval = $([ $n = a ] && echo 1h || echo 1s)
keepalive = 25
candidate-exclude = 198.51.100.0/24
EOF
done
CLIENT_CONF=$T/client-a.conf
in_a ip addr add 198.51.100.7/24 dev "va$SUF"     # excluded: never registered
start_wgsd "$NS_A" client "$T/client-a.conf"
start_wgsd "$NS_B" clientb "$T/client-b.conf"
wait_for 30 test -S "$T/client-a.sock" || fail "client A did not start"

echo "== registration at start: LAN and global IPv6, with A's listen port"
wait_for 20 has_cand "$KA" lan-0 192.0.2.2 || fail "A's LAN candidate is not published"
wait_for 20 has_cand "$KA" v6-0 2001:db8::2 || fail "A's IPv6 candidate is not published"
cands_of "$KA"
[ "$(cands_of "$KA" | wc -l)" = 2 ] || fail "A has more candidates than its LAN and IPv6 addresses"
cands_of "$KA" | grep -q "^10 0 51821 lan-0\." || fail "the LAN candidate does not carry A's listen port"
! cands_of "$KA" | grep -q 198.51.100 || fail "an excluded address was registered"
wait_for 20 has_cand "$KB" lan-0 203.0.113.2 || fail "B's LAN candidate is not published"
qa +short _wgcand._udp.$ZONE PTR | grep -q "$(b32 "$KA")" || fail "the _wgcand._udp listing lacks A"
# The names clients without candidates know answer as before: one SRV, its A in additional.
[ "$(qa +short "$(b32 "$KA")._wireguard._udp.$ZONE" SRV | wc -l)" = 1 ] || fail "the old SRV changed"

echo "== status and metrics"
status_eval "dev['candidates']['registries'][0]['state'] == 'registered' and dev['candidates']['registries'][0]['registered'] == 2" ||
	fail "A's status does not show the registration"
status_eval "dev['cycles'] == 1" || fail "test setup: more than one client cycle"
reg_eval "z['candidates']['stored'] >= 3 and z['candidates']['updates']['ok'] >= 2" || fail "registry status: candidates"
"$WGSDCTL" -s "$T/client-a.sock" status | grep -q "own candidates: lan 192.0.2.2:51821, v6 \[2001:db8::2\]:51821" ||
	fail "wgsdctl status does not list A's own candidates"
"$WGSDCTL" -s "$T/client-a.sock" metrics | grep -q "wgsd_client_candidates_registered{device=\"$WGA\",registry=\"10.9.0.254:53\"} 2" ||
	fail "metrics: registered candidates"
"$WGSDCTL" -s "$T/registry.sock" metrics | grep -q "wgsd_zone_candidates{zone=\"$ZONE\",device=\"$WGR\"} [3-9]" ||
	fail "metrics: zone candidates"
# B sees A's candidates and says why it does not try them (another subnet, no IPv6 at B).
CLIENT_CONF=$T/client-b.conf
wait_for 10 status_eval "any(e['kind'] == 'lan' and e['state'] == 'skipped' and 'subnet' in e['why'] for e in peer('$KA')['candidates']['list'])" ||
	fail "B's status does not show A's LAN candidate skipped with a reason"
status_eval "any(e['kind'] == 'v6' and e['state'] == 'skipped' and 'IPv6' in e['why'] for e in peer('$KA')['candidates']['list'])" ||
	fail "B's status does not show A's IPv6 candidate skipped with a reason"
"$WGSDCTL" -s "$T/client-b.sock" status -v | grep -q "lan .*192.0.2.2:51821 .*skipped: not on a subnet of this host" ||
	fail "wgsdctl status does not show why a candidate is skipped"
CLIENT_CONF=$T/client-a.conf

echo "== an address change is registered at once, without a client cycle"
in_a ip addr add 192.168.77.2/24 dev "va$SUF"
wait_for 10 sh -c "ip netns exec $NS_A dig @10.9.0.254 +short $(b32 "$KA")._wgcand._udp.$ZONE SRV | grep -q lan-1" ||
	fail "the new address was not registered"
has_cand "$KA" lan-1 192.168.77.2 || has_cand "$KA" lan-0 192.168.77.2 || fail "the new address is not published"
in_a ip addr del 192.168.77.2/24 dev "va$SUF"
wait_for 10 sh -c "! ip netns exec $NS_A dig @10.9.0.254 +short $(b32 "$KA")._wgcand._udp.$ZONE SRV | grep -q lan-1" ||
	fail "the removed address is still registered"
status_eval "dev['cycles'] == 1" || fail "the changes came from client cycles, not from address events"

echo "== hostile updates"
send() { in_a python3 "$SENDER" --zone "$ZONE" "$@"; }
# Another peer's names, through the tunnel.
send --server 10.9.0.254 --key "$KB" --cand lan-0=192.0.2.66:1 | tee "$T/out" | grep -qx "REFUSED 1" || fail "an update of B's names from A was not refused: $(cat "$T/out")"
# The wrong interface: A's own names, but over the LAN instead of the tunnel.
send --server 192.0.2.1 --key "$KA" --cand lan-0=192.0.2.66:1 | grep -qx "REFUSED 1" || fail "an update over the LAN was not refused"
# A prerequisite section, and more candidates than the per-peer maximum (4).
send --server 10.9.0.254 --key "$KA" --prereq --cand lan-0=192.0.2.66:1 | grep -qx "REFUSED 1" || fail "a prerequisite was not refused"
send --server 10.9.0.254 --key "$KA" --cand lan-0=192.0.2.61:1 --cand lan-1=192.0.2.62:1 --cand lan-2=192.0.2.63:1 \
	--cand lan-3=192.0.2.64:1 --cand lan-4=192.0.2.65:1 | grep -qx "REFUSED 1" || fail "too many candidates were not refused"
has_cand "$KB" lan-0 203.0.113.2 || fail "B's candidates changed"
has_cand "$KA" lan-0 192.0.2.2 || fail "a refused update changed A's candidates"
# A flood of A's own registrations and of another peer's: B is still answered and unchanged, memory bounded.
bytes0=$(reg_eval "z['candidates']['bytes']")
lines0=$(refused_lines)
send --server 10.9.0.254 --key "$KA" --count 3000 --cand lan-0=192.0.2.2:51821 --cand lan-1=192.0.2.70:1 >"$T/flood1" &
f1=$!
send --server 10.9.0.254 --key "$KB" --count 3000 --cand lan-0=192.0.2.66:1 >"$T/flood2" &
f2=$!
for i in $(seq 20); do
	qb +short "$(b32 "$KA")._wireguard._udp.$ZONE" SRV | grep -q . || fail "B got no answer during the flood"
done
wait "$f1" "$f2"
cat "$T/flood1" "$T/flood2"
grep -q "^NOERROR" "$T/flood1" || fail "the flood of A's own updates got no NOERROR"
! grep -q "^NOERROR" "$T/flood2" || fail "an update of B's names was accepted during the flood"
wait_for 10 has_cand "$KB" lan-0 203.0.113.2 || fail "B's candidates changed during the flood"
reg_eval "z['candidates']['stored'] <= 6 and z['candidates']['bytes'] <= $bytes0 + 4096" || fail "the flood grew the table"
lines=$(refused_lines)
echo "refused-update log lines: $lines0 before the flood, $lines after"
[ $((lines - lines0)) -le 12 ] || fail "refused updates flooded the log: $((lines - lines0)) lines"
refused=$(awk '$1 == "REFUSED" { print $2 }' "$T/flood2")
reg_eval "z['candidates']['updates']['foreign-name'] >= ${refused:-1}" || fail "refused updates not counted"

echo "== leases end when renewals stop"
# A's own wgsd renews (the registry grants 30 s, renewed at 15 s); once it stops, its candidates go.
stop client
wait_for 60 sh -c "! ip netns exec $NS_A dig @10.9.0.254 +short $(b32 "$KA")._wgcand._udp.$ZONE SRV | grep -q ." ||
	fail "A's candidates outlived their lease"
has_cand "$KB" lan-0 203.0.113.2 || fail "B's renewed candidates expired"
! grep -E "WARN|warn" "$T/client.log" "$T/clientb.log" || fail "warnings in the clients' logs"
echo "ok: client candidates"
