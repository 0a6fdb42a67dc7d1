#!/bin/bash
# SPDX-License-Identifier: MIT
# Mesh membership (peers = auto) end to end: wireguard-go devices in
# namespaces, the wgsd registry (or, for registries that misbehave, the
# scriptable responder), and wgsd clients that add the listed peers.
# usage: members-netns.sh CASE   (mesh, nat, guard, restart, multi, corrupt, truncated, scale)
set -eu

CASE=${1:?case}
. "$WGSD_SRCDIR/tests/client/lib.sh"
need wireguard-go
need wg
need dig
NS_C="wgsdc-c-$SUF"     # carol
NS_N="wgsdc-n-$SUF"     # the link all hosts share (a bridge)
WGR="wgr$SUF"; WGA="wga$SUF"; WGB="wgb$SUF"; WGC="wgc$SUF"

# Also remove what this script adds to lib.sh's set-up.
members_cleanup() {
	local ns
	cleanup
	for ns in "$NS_C" "$NS_N" "${NS_NA:-}" "${NS_NB:-}" "${NS_NC:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
	done
	rm -f /var/run/wireguard/wgc"$SUF".sock
}
trap members_cleanup EXIT

in_c() { ip netns exec "$NS_C" "$@"; }

# One shared link (a bridge in its own namespace) with R, A, B, C on 192.0.2.0/24: .1 .2 .3 .4.
setup_lan() {
	local ns n i=0
	ip netns add "$NS_N"
	ip -n "$NS_N" link add br0 type bridge
	ip -n "$NS_N" link set br0 up
	for ns in "$NS_R" "$NS_A" "$NS_B" "$NS_C"; do
		i=$((i + 1))
		ip netns add "$ns" 2>/dev/null || true
		ip -n "$ns" link set lo up
		ip link add "m$i$SUF" netns "$ns" type veth peer name "mb$i$SUF" netns "$NS_N"
		ip -n "$NS_N" link set "mb$i$SUF" master br0 up
		ip -n "$ns" addr add "192.0.2.$i/24" dev "m$i$SUF"
		ip -n "$ns" link set "m$i$SUF" up
	done
	# bridged frames must not go through a host netfilter module's forward chain
	ip netns exec "$NS_N" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
}

# A tunnel node: node NS DEV KEYNAME TUNNEL_ADDR (the registry's peer with keepalive, unless it is R)
node() {
	local ns=$1 dev=$2 name=$3 addr=$4
	genkey "$name"
	wg_dev "$ns" "$dev" 51820 "$T/$name.key"
	ip -n "$ns" addr add "$addr/24" dev "$dev"
	if [ "$name" != reg ]; then
		ip netns exec "$ns" wg set "$dev" peer "$(cat "$T/reg.pub")" allowed-ips 10.0.0.254/32 \
			endpoint 192.0.2.1:51820 persistent-keepalive 1
	fi
}

# Registry on R: listens on its tunnel address, answers members only.
start_registry() {
	{
		echo "[daemon]"
		echo "status-socket = $T/registry.sock"
		echo "[registry]"
		echo "listen = 10.0.0.254:53"
		echo "access = peers"
		echo "[zone example.com.]"
		echo "device = $WGR"
		echo "refresh = 250ms"
	} >"$T/registry.conf"
	start_wgsd "$NS_R" registry "$T/registry.conf"
}

# Client configuration of a node: member_conf NAME DEV [EXTRA_LINES] (status socket $T/NAME.sock)
member_conf() {
	local name=$1 dev=$2 extra=${3:-}
	mkdir -p "$T/state-$name"
	{
		echo "[daemon]"
		echo "status-socket = $T/$name.sock"
		echo "state-directory = $T/state-$name"
		echo "[client $dev]"
		echo "registry = 10.0.0.254:53"
		echo "zone = example.com."
		echo "interval = 2s"
		echo "keepalive = 1"
		echo "peers = auto"
		echo "auto-allowed-ips = 10.0.0.0/24"
		echo "auto-remove-after = 6s"
		printf '%b\n' "$extra"
	} >"$T/$name.conf"
}

# Start a member's wgsd: start_member NS NAME (log $T/NAME.log)
start_member() {
	start_wgsd "$1" "$2" "$T/$2.conf"
	wait_for 30 test -S "$T/$2.sock" || fail "$2's wgsd did not start"
}

# Evaluate a Python expression on a member's client status ("s", "dev", "m" = membership): mstatus NAME EXPR
mstatus() {
	"$WGSDCTL" -s "$T/$1.sock" status --json | python3 -c 'import json, sys
s = json.load(sys.stdin)["client"]
dev = s["devices"][0]
m = dev["membership"]
def added(key):
    return [a for a in m["added"] if a["public_key"] == key]
def refused(key):
    r = [a["reason"] for a in m["refused"] if a["public_key"] == key]
    return r[0] if r else None
def peer(key):
    for p in dev["peers"]:
        if p["public_key"] == key:
            return p
    return None
v = eval(sys.argv[1])
print(v)
sys.exit(0 if v else 1)' "$2"
}

# True when a device has a peer: has_peer NS DEV KEY
has_peer() { ip netns exec "$1" wg show "$2" peers | grep -qxF -- "$3"; }

# Allowed IPs of a peer as wg shows them: allowed_of NS DEV KEY
allowed_of() { ip netns exec "$1" wg show "$2" allowed-ips | awk -v k="$3" '$1 == k { $1 = ""; sub(/^ /, ""); print }'; }

# Number of lines in a member's log matching a pattern: mlog_count NAME PATTERN
mlog_count() { grep -c -- "$2" "$T/$1.log" || true; }

# Short key as wgsd logs it (first 8 base64 characters).
short() { echo "${1:0:8}"; }

# Completed cycles of a member.
cycles_of() { mstatus "$1" "dev['cycles']"; }

# The registry lists a key now (asked by alice through her tunnel: access = peers).
listed_at_registry() {
	in_a dig +time=1 +tries=1 @10.0.0.254 +short _wireguard._udp.example.com. PTR |
		cut -d. -f1 | tr -d '\n' | grep -q "$(b32 "$1")"
}

# Upper-case base32 of a base64 key (the listing's label).
b32() { python3 -c 'import base64, sys; print(base64.b32encode(base64.b64decode(sys.argv[1])).decode())' "$1"; }

# Ping between two nodes through the tunnel.
reach() { ip netns exec "$1" ping -c 1 -W 3 "$2" >/dev/null; }

# The registry, alice and bob, each with only the registry configured; both members.
setup_mesh() {
	setup_lan
	node "$NS_R" "$WGR" reg 10.0.0.254
	node "$NS_A" "$WGA" alice 10.0.0.1
	node "$NS_B" "$WGB" bob 10.0.0.2
	A=$(cat "$T/alice.pub"); B=$(cat "$T/bob.pub"); R=$(cat "$T/reg.pub")
	in_r wg set "$WGR" peer "$A" allowed-ips 10.0.0.1/32 peer "$B" allowed-ips 10.0.0.2/32
	# The registry only answers; it never forwards between peers.
	in_r sysctl -qw net.ipv4.ip_forward=0
	start_registry
	wait_for 20 listed_at_registry "$A" || fail "alice is not listed at the registry"
	wait_for 20 listed_at_registry "$B" || fail "bob is not listed at the registry"
}

# The proof of the issue: join a node at the registry alone, remove it there.
case_mesh() {
	setup_mesh
	member_conf alice "$WGA"
	member_conf bob "$WGB"
	start_member "$NS_A" alice
	start_member "$NS_B" bob
	wait_for 30 has_peer "$NS_A" "$WGA" "$B" || fail "alice did not add bob"
	wait_for 30 has_peer "$NS_B" "$WGB" "$A" || fail "bob did not add alice"
	[ "$(allowed_of "$NS_A" "$WGA" "$B")" = 10.0.0.2/32 ] || fail "bob's allowed IPs on alice: $(allowed_of "$NS_A" "$WGA" "$B")"
	wait_for 30 reach "$NS_A" 10.0.0.2 || fail "alice cannot reach bob"

	# Carol: one wg set at the registry; her own configuration names only the registry.
	setup_carol
	in_r wg set "$WGR" peer "$C" allowed-ips 10.0.0.3/32
	wait_for 20 listed_at_registry "$C" || fail "carol is not listed at the registry"
	local ca cb
	ca=$(cycles_of alice); cb=$(cycles_of bob)
	member_conf carol "$WGC"
	start_member "$NS_C" carol
	wait_for 30 has_peer "$NS_A" "$WGA" "$C" || fail "alice did not add carol"
	[ "$(cycles_of alice)" -le $((ca + 2)) ] || fail "alice needed more than two cycles to add carol"
	wait_for 30 has_peer "$NS_B" "$WGB" "$C" || fail "bob did not add carol"
	[ "$(cycles_of bob)" -le $((cb + 2)) ] || fail "bob needed more than two cycles to add carol"
	wait_for 30 has_peer "$NS_C" "$WGC" "$A" || fail "carol did not add alice"
	wait_for 30 has_peer "$NS_C" "$WGC" "$B" || fail "carol did not add bob"
	# All three pairs, directly: the registry does not forward, and each has the other's own address.
	for pair in "$NS_A 10.0.0.2" "$NS_A 10.0.0.3" "$NS_B 10.0.0.1" "$NS_B 10.0.0.3" "$NS_C 10.0.0.1" "$NS_C 10.0.0.2"; do
		# shellcheck disable=SC2086
		wait_for 30 reach $pair || fail "no tunnel: $pair"
	done
	endpoint_is "$NS_A" "$WGA" "$C" 192.0.2.4:51820 || fail "alice reaches carol through $(endpoint_of "$NS_A" "$WGA" "$C")"
	endpoint_is "$NS_C" "$WGC" "$B" 192.0.2.3:51820 || fail "carol reaches bob through $(endpoint_of "$NS_C" "$WGC" "$B")"
	# The peer list follows the next device reading; the membership list is at once.
	mstatus alice "len(added('$C')) == 1" || fail "alice's membership status does not list carol"
	wait_for 10 mstatus alice "peer('$C') and peer('$C')['added_by_wgsd'] and not peer('$R')['added_by_wgsd']" ||
		fail "alice's status does not show carol as added by wgsd"
	"$WGSDCTL" -s "$T/alice.sock" status | grep -q "added by wgsd" || fail "wgsdctl status does not say which peers wgsd added"
	[ "$(mlog_count alice "peer $(short "$C").* added from the registries' listing (allowed IPs 10.0.0.3/32, endpoint 192.0.2.4:51820)")" = 1 ] ||
		fail "alice's log does not show carol's addition once"

	# Carol leaves at the registry: after auto-remove-after she is gone from alice and bob, nothing else changes.
	in_a wg show "$WGA" allowed-ips | grep -v "^$C" | sort >"$T/a.before"
	in_a wg show "$WGA" persistent-keepalive | grep -v "^$C" | sort >"$T/a.ka.before"
	in_r wg set "$WGR" peer "$C" remove
	wait_for 20 mstatus alice "added('$C') and added('$C')[0]['absent_for_s'] is not None" ||
		fail "alice does not show carol's pending removal"
	mstatus alice "added('$C')[0]['remove_in_s'] is not None and added('$C')[0]['remove_in_s'] <= 6" || fail "pending removal: remove_in_s"
	wait_for 40 sh -c "! ip netns exec $NS_A wg show $WGA peers | grep -qxF -- '$C'" || fail "alice did not remove carol"
	wait_for 40 sh -c "! ip netns exec $NS_B wg show $WGB peers | grep -qxF -- '$C'" || fail "bob did not remove carol"
	grep -q "peer $(short "$C").* removed: wgsd added it and no registry has listed it for \([6-9]\|[1-9][0-9]\)s" "$T/alice.log" ||
		fail "carol was removed before auto-remove-after: $(grep removed "$T/alice.log")"
	in_a wg show "$WGA" allowed-ips | sort >"$T/a.after"
	in_a wg show "$WGA" persistent-keepalive | sort >"$T/a.ka.after"
	diff "$T/a.before" "$T/a.after" >&2 || fail "alice's other peers changed"
	diff "$T/a.ka.before" "$T/a.ka.after" >&2 || fail "alice's keepalives changed"
	reach "$NS_A" 10.0.0.2 || fail "alice and bob lost their tunnel"
	has_peer "$NS_C" "$WGC" "$A" || fail "carol lost alice (still listed)"
	mstatus alice "m['removed_total'] == 1 and m['added_total'] == 2 and not added('$C')" || fail "alice's counters"
	"$WGSDCTL" -s "$T/alice.sock" metrics | grep -q "wgsd_client_members_removed_total{device=\"$WGA\"} 1" ||
		fail "metrics: removals"
	"$WGSDCTL" -s "$T/alice.sock" metrics | grep -q "wgsd_client_members_added_total{device=\"$WGA\"} 2" ||
		fail "metrics: additions"
	# Alice's own key is always listed and never a peer of hers, nor a refusal.
	! has_peer "$NS_A" "$WGA" "$A" || fail "alice added herself"
	mstatus alice "not m['refused']" || fail "alice refused something: $(mstatus alice "m['refused']")"
}

# Carol's host and device (tunnel address 10.0.0.3), the registry as her only peer.
setup_carol() {
	node "$NS_C" "$WGC" carol 10.0.0.3
	C=$(cat "$T/carol.pub")
}

# Write the responder's peers file from "KEY JSON" lines on stdin.
peers_file() {
	python3 -c 'import json, sys
d = {}
for line in sys.stdin:
    k, _, v = line.strip().partition(" ")
    if k:
        d[k] = json.loads(v)
json.dump(d, open(sys.argv[1], "w"))' "$1"
}

# Client host A (10.0.0.1/24 on its device) and a responder host R on 192.0.2.0/24.
setup_responder_net() {
	setup_net
	genkey alice
	wg_dev "$NS_A" "$WGA" 51820 "$T/alice.key"
	in_a ip addr add 10.0.0.1/24 dev "$WGA"
	A=$(cat "$T/alice.pub")
	PEERS_JSON=$T/peers.json
}

# A client configuration against the responder(s): responder_conf EXTRA REGISTRY...
responder_conf() {
	local extra=$1 r
	shift
	mkdir -p "$T/state-alice"
	{
		echo "[daemon]"
		echo "status-socket = $T/alice.sock"
		echo "state-directory = $T/state-alice"
		echo "[client $WGA]"
		for r in "$@"; do echo "registry = $r"; done
		echo "zone = example.com."
		echo "interval = 1s"
		echo "timeout = 300ms"
		echo "keepalive = 25"
		echo "peers = auto"
		echo "auto-allowed-ips = 10.0.0.0/24"
		printf '%b\n' "$extra"
	} >"$T/alice.conf"
}

# Guard rails: what a registry publishes that must not be added, each refused and logged once;
# a peer configured by hand is never changed.
case_guard() {
	setup_responder_net
	local G O S P X N BAD H D1 D2 L1 L2 k
	G=$(randkeys 1); O=$(randkeys 1); S=$(randkeys 1); P=$(randkeys 1); X=$(randkeys 1)
	N=$(randkeys 1); BAD=$(randkeys 1); H=$(randkeys 1); L1=$(randkeys 1); L2=$(randkeys 1)
	# Two peers whose allowed IPs overlap: the one first in key order wins.
	read -r D1 D2 < <(randkeys 2 | LC_ALL=C sort | python3 -c 'import sys, base64
ks = sorted(sys.stdin.read().split(), key=lambda k: base64.b64decode(k)); print(*ks)')
	# H is configured by hand: its own allowed IPs and no keepalive.
	in_a wg set "$WGA" peer "$H" allowed-ips 10.0.0.128/25
	peers_file "$PEERS_JSON" <<EOT
$G {"endpoint": "198.51.100.10:5010", "allowed": ["10.0.0.10/32"]}
$O {"endpoint": "198.51.100.11:5011", "allowed": ["10.0.0.11/32", "10.9.9.9/32"]}
$S {"endpoint": "198.51.100.12:5012", "allowed": ["10.0.0.0/31"]}
$P {"endpoint": "198.51.100.13:5013", "allowed": ["10.0.0.130/32"]}
$X {"endpoint": "198.51.100.14:5014", "allowed": ["10.0.0.14/32"]}
$N {"endpoint": "198.51.100.15:5015", "txt": ["txtvers=1", "pub=$N"]}
$BAD {"endpoint": "198.51.100.16:5016", "txt": ["txtvers=1", "allowed=10.0.0.16/24"]}
$H {"endpoint": "198.51.100.17:5017", "allowed": ["10.0.6.0/24"]}
$A {"endpoint": "198.51.100.18:5018", "allowed": ["10.0.0.1/32"]}
$D1 {"endpoint": "198.51.100.19:5019", "allowed": ["10.0.0.40/30"]}
$D2 {"endpoint": "198.51.100.20:5020", "allowed": ["10.0.0.41/32"]}
EOT
	start_responder reg --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON"
	responder_conf "exclude = $X\nauto-max-peers = 3" 192.0.2.1:53
	start_member "$NS_A" alice
	wait_for 20 has_peer "$NS_A" "$WGA" "$G" || fail "the good peer was not added"
	wait_for 20 has_peer "$NS_A" "$WGA" "$D1" || fail "the first of two overlapping peers was not added"
	[ "$(allowed_of "$NS_A" "$WGA" "$G")" = 10.0.0.10/32 ] || fail "G's allowed IPs: $(allowed_of "$NS_A" "$WGA" "$G")"
	endpoint_is "$NS_A" "$WGA" "$G" 198.51.100.10:5010 || fail "G added without its endpoint"
	[ "$(keepalive_of "$NS_A" "$WGA" "$G")" = 25 ] || fail "G added without keepalive"
	wait_for 20 mstatus alice "refused('$D2') == 'overlaps-peer'" || fail "overlapping D2: $(mstatus alice "refused('$D2')")"
	mstatus alice "refused('$O') == 'outside-auto-allowed-ips'" || fail "O: $(mstatus alice "refused('$O')")"
	mstatus alice "refused('$S') == 'overlaps-own-address'" || fail "S: $(mstatus alice "refused('$S')")"
	mstatus alice "refused('$P') == 'overlaps-peer'" || fail "P: $(mstatus alice "refused('$P')")"
	mstatus alice "refused('$X') == 'excluded'" || fail "X: $(mstatus alice "refused('$X')")"
	mstatus alice "refused('$N') == 'no-allowed-ips'" || fail "N: $(mstatus alice "refused('$N')")"
	mstatus alice "refused('$BAD') == 'bad-allowed-ips'" || fail "BAD: $(mstatus alice "refused('$BAD')")"
	mstatus alice "refused('$A') is None and refused('$H') is None and m['listed'] == 11" || fail "own key or hand-configured peer refused"
	# The limit: two more listed peers, one fits under auto-max-peers = 3.
	python3 - "$PEERS_JSON" "$L1" "$L2" <<'EOT'
import json, sys
path, l1, l2 = sys.argv[1:]
d = json.load(open(path))
d[l1] = {"endpoint": "198.51.100.21:5021", "allowed": ["10.0.0.50/32"]}
d[l2] = {"endpoint": "198.51.100.22:5022", "allowed": ["10.0.0.51/32"]}
json.dump(d, open(path, "w"))
EOT
	wait_for 20 mstatus alice "len(m['added']) == 3" || fail "the third peer was not added"
	wait_for 20 mstatus alice "refused('$L1') == 'auto-max-peers' or refused('$L2') == 'auto-max-peers'" ||
		fail "the fourth peer was not refused for the limit"
	local c
	c=$(cycles_of alice)
	wait_for 30 sh -c "[ \$($WGSDCTL -s $T/alice.sock status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"client\"][\"devices\"][0][\"cycles\"])') -ge $((c + 4)) ]" ||
		fail "no further cycles"
	for k in "$O" "$S" "$P" "$X" "$N" "$BAD" "$D2"; do
		! has_peer "$NS_A" "$WGA" "$k" || fail "refused peer $k was added"
		[ "$(mlog_count alice "listed peer $(short "$k").* not added")" = 1 ] || fail "refusal of $k not logged exactly once"
	done
	! has_peer "$NS_A" "$WGA" "$A" || fail "alice added her own key"
	[ "$(mlog_count alice "auto-max-peers (3) reached")" = 1 ] || fail "the limit is not logged once"
	grep -q "listed peer $(short "$O").* not added: its allowed IPs are not all inside auto-allowed-ips (allowed IPs 10.0.0.11/32, 10.9.9.9/32)" "$T/alice.log" ||
		fail "the refusal does not say why and what"
	# The peer configured by hand: its endpoint follows the registry as ever, nothing else changes.
	wait_for 20 endpoint_is "$NS_A" "$WGA" "$H" 198.51.100.17:5017 || fail "hand-configured peer's endpoint not set"
	[ "$(allowed_of "$NS_A" "$WGA" "$H")" = 10.0.0.128/25 ] || fail "hand-configured peer's allowed IPs changed"
	[ "$(keepalive_of "$NS_A" "$WGA" "$H")" = off ] || fail "hand-configured peer's keepalive changed"
	mstatus alice "m['refused_total'] >= 8" || fail "refusals not counted"
	"$WGSDCTL" -s "$T/alice.sock" metrics | grep -q "wgsd_client_members_refused_total{device=\"$WGA\",reason=\"outside-auto-allowed-ips\"} 1" ||
		fail "metrics: refusal by reason"
	"$WGSDCTL" -s "$T/alice.sock" status | grep -q "listed peer .* not added: overlaps-own-address" || fail "wgsdctl status: refusals"
	# A refused peer that someone configures by hand is no longer a refusal (and stays theirs).
	in_a wg set "$WGA" peer "$O" allowed-ips 10.0.0.99/32
	wait_for 20 mstatus alice "refused('$O') is None and not added('$O')" || fail "the refusal of a peer now on the device stays"
	[ "$(allowed_of "$NS_A" "$WGA" "$O")" = 10.0.0.99/32 ] || fail "the peer configured by hand was changed"
}

# Restart keeps the memory of added peers; a hand-configured peer the registry stops listing stays.
case_restart() {
	setup_lan
	node "$NS_R" "$WGR" reg 10.0.0.254
	node "$NS_A" "$WGA" alice 10.0.0.1
	A=$(cat "$T/alice.pub")
	local B C D
	B=$(randkeys 1); C=$(randkeys 1); D=$(randkeys 1)
	# Bob, carol and dave exist at the registry only (any peer with an endpoint is listed); bob is
	# also configured by hand on alice.
	in_r wg set "$WGR" peer "$A" allowed-ips 10.0.0.1/32 \
		peer "$B" allowed-ips 10.0.0.2/32 endpoint 192.0.2.3:51820 \
		peer "$C" allowed-ips 10.0.0.3/32 endpoint 192.0.2.4:51820 \
		peer "$D" allowed-ips 10.0.0.5/32 endpoint 192.0.2.5:51820
	in_a wg set "$WGA" peer "$B" allowed-ips 10.0.0.2/32
	start_registry
	wait_for 20 listed_at_registry "$C" || fail "carol is not listed"
	member_conf alice "$WGA"
	start_member "$NS_A" alice
	wait_for 30 has_peer "$NS_A" "$WGA" "$C" || fail "alice did not add carol"
	wait_for 30 has_peer "$NS_A" "$WGA" "$D" || fail "alice did not add dave"
	wait_for 10 mstatus alice "len(m['added']) == 2" || fail "not remembered"
	# Someone changes dave by hand: from now on he is theirs.
	in_a wg set "$WGA" peer "$D" allowed-ips 10.0.0.5/32,10.0.0.6/32
	wait_for 10 mstatus alice "len(m['added']) == 1 and not added('$D')" || fail "dave, changed by hand, is still wgsd's"
	grep -q "peer $(short "$D").* has other allowed IPs now (changed by hand?); it is left alone and never removed" "$T/alice.log" ||
		fail "the change by hand is not logged"
	local added_at
	added_at=$(mstatus alice "added('$C')[0]['added_at']")
	grep -q "^peer $C $added_at 10.0.0.3/32\$" "$T/state-alice/client-$WGA.members" ||
		fail "state file: $(cat "$T/state-alice/client-$WGA.members")"
	mstatus alice "not added('$B')" || fail "bob (configured by hand) counted as added by wgsd"

	# Restart: carol is still wgsd's, with the same time of addition.
	stop alice
	start_member "$NS_A" alice
	wait_for 10 mstatus alice "len(added('$C')) == 1 and added('$C')[0]['added_at'] == $added_at" ||
		fail "the restarted client forgot carol"
	grep -q "1 peers added by wgsd earlier" "$T/alice.log" || fail "no log of the remembered peers"
	wait_for 10 mstatus alice "peer('$C') and peer('$C')['added_by_wgsd'] and peer('$B') and not peer('$B')['added_by_wgsd']" ||
		fail "status after restart"

	# All leave the registry: carol is removed, bob (by hand) and dave (changed by hand) never.
	in_r wg set "$WGR" peer "$B" remove peer "$C" remove peer "$D" remove
	wait_for 40 sh -c "! ip netns exec $NS_A wg show $WGA peers | grep -qxF -- '$C'" || fail "carol not removed after restart"
	local c
	c=$(cycles_of alice)
	wait_for 40 sh -c "[ \"\$(ip netns exec $NS_A true; $WGSDCTL -s $T/alice.sock status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"client\"][\"devices\"][0][\"cycles\"])')\" -ge $((c + 5)) ]" ||
		fail "no further cycles"
	has_peer "$NS_A" "$WGA" "$B" || fail "bob, configured by hand, was removed"
	has_peer "$NS_A" "$WGA" "$D" || fail "dave, changed by hand, was removed"
	[ "$(allowed_of "$NS_A" "$WGA" "$B")" = 10.0.0.2/32 ] || fail "bob changed"
	! grep -E "$(short "$B").* (added|removed|forgotten|left alone)" "$T/alice.log" || fail "membership touched bob"
	! grep -q "^peer " "$T/state-alice/client-$WGA.members" || fail "state file still names a peer"
}

# Several registries: added when any lists it; removed only when none has for the whole period,
# and an unreachable registry is not "absent".
case_multi() {
	setup_responder_net
	local P Q
	P=$(randkeys 1); Q=$(randkeys 1)
	peers_file "$T/one.json" <<EOT
$P {"endpoint": "198.51.100.10:5010", "allowed": ["10.0.0.10/32"]}
EOT
	peers_file "$T/two.json" <<EOT
$P {"endpoint": "198.51.100.10:5010", "allowed": ["10.0.0.10/32"]}
$Q {"endpoint": "198.51.100.11:5011", "allowed": ["10.0.0.11/32"]}
EOT
	start_responder one --listen 192.0.2.1:53 --zone example.com. --peers "$T/one.json"
	start_responder two --listen 192.0.2.3:53 --zone example.com. --peers "$T/two.json"
	responder_conf "auto-remove-after = 3s" 192.0.2.1:53 192.0.2.3:53
	start_member "$NS_A" alice
	wait_for 20 has_peer "$NS_A" "$WGA" "$P" || fail "P (listed by both) not added"
	wait_for 20 has_peer "$NS_A" "$WGA" "$Q" || fail "Q (listed by one of two) not added"
	# P leaves registry one: registry two still lists it.
	echo '{}' >"$T/one.json"
	local c
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 6))
	has_peer "$NS_A" "$WGA" "$P" || fail "P removed while a registry lists it"
	mstatus alice "added('$P')[0]['absent_for_s'] is None" || fail "P counted absent while listed"
	# Registry two goes silent: P is listed by no reachable registry, but that is not absence.
	stop two
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 8))
	has_peer "$NS_A" "$WGA" "$P" || fail "P removed while a registry was unreachable"
	has_peer "$NS_A" "$WGA" "$Q" || fail "Q removed while its registry was unreachable"
	mstatus alice "not m['listings_complete'] and added('$P')[0]['absent_for_s'] is None" ||
		fail "absence counted while a registry was unreachable"
	"$WGSDCTL" -s "$T/alice.sock" status | grep -q "registry 192.0.2.3:53: no listing" || fail "wgsdctl status: missing listing"
	# Registry two is back without P: now P goes, after the period; Q stays.
	peers_file "$T/two.json" <<EOT
$Q {"endpoint": "198.51.100.11:5011", "allowed": ["10.0.0.11/32"]}
EOT
	start_responder two2 --listen 192.0.2.3:53 --zone example.com. --peers "$T/two.json"
	wait_for 30 sh -c "! ip netns exec $NS_A wg show $WGA peers | grep -qxF -- '$P'" || fail "P not removed once no registry lists it"
	has_peer "$NS_A" "$WGA" "$Q" || fail "Q removed"
	grep -q "peer $(short "$P").* removed: wgsd added it and no registry has listed it for [3-9]s" "$T/alice.log" ||
		fail "P removed before the period: $(grep removed "$T/alice.log")"
}

# Wait until a member completed N cycles: wait_cycles_of NAME N
wait_cycles_of() {
	wait_for 60 mstatus "$1" "dev['cycles'] >= $2" >/dev/null || fail "$1 did not complete $2 cycles"
}

# A damaged or hostile state file is refused with a clear log line and moved aside; the peers it
# names are never removed; a state file that cannot be read stops additions until it can.
case_corrupt() {
	setup_responder_net
	local G H
	G=$(randkeys 1); H=$(randkeys 1)
	in_a wg set "$WGA" peer "$H" allowed-ips 10.0.0.20/32
	peers_file "$PEERS_JSON" <<EOT
$G {"endpoint": "198.51.100.10:5010", "allowed": ["10.0.0.10/32"]}
EOT
	mkdir -p "$T/state-alice"
	# It names H as added by wgsd (with H's real allowed IPs), then turns to garbage.
	printf 'wgsd-members 1 %s\npeer %s 1700000000 10.0.0.20/32\n\001\377garbage\n' "$WGA" "$H" \
		>"$T/state-alice/client-$WGA.members"
	cp "$T/state-alice/client-$WGA.members" "$T/original"
	start_responder reg --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON"
	responder_conf "auto-remove-after = 2s" 192.0.2.1:53
	start_member "$NS_A" alice
	wait_for 20 has_peer "$NS_A" "$WGA" "$G" || fail "G not added"
	grep -q "state file $T/state-alice/client-$WGA.members, line 3: not a valid wgsd membership file; moved to $T/state-alice/client-$WGA.members.bad" "$T/alice.log" ||
		fail "no clear log line for the damaged file"
	cmp -s "$T/original" "$T/state-alice/client-$WGA.members.bad" || fail "the damaged file was not kept aside"
	wait_for 10 grep -q "^peer $G " "$T/state-alice/client-$WGA.members" || fail "no fresh state file"
	! grep -q "$H" "$T/state-alice/client-$WGA.members" || fail "the fresh state names H"
	local c
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 5))
	has_peer "$NS_A" "$WGA" "$H" || fail "H, named only by the damaged file, was removed"
	kill -0 "$PID_alice" || fail "wgsd died"

	# An unreadable state (a directory in its place): no additions until it is readable.
	stop alice
	rm -f "$T/state-alice/client-$WGA.members"
	mkdir "$T/state-alice/client-$WGA.members"
	in_a wg set "$WGA" peer "$G" remove
	start_member "$NS_A" alice
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 3))
	! has_peer "$NS_A" "$WGA" "$G" || fail "a peer was added while the state could not be read"
	mstatus alice "m['state_error'] and not m['adding']" || fail "status does not show the state error"
	[ "$(mlog_count alice "cannot read the state file")" = 1 ] || fail "state error not logged once"
	rmdir "$T/state-alice/client-$WGA.members"
	wait_for 20 has_peer "$NS_A" "$WGA" "$G" || fail "additions did not resume"
	mstatus alice "m['state_error'] is None" || fail "state error not cleared"
	grep -q "readable again" "$T/alice.log" || fail "recovery not logged"
}

# A listing larger than one message (TC=1 even over TCP) or with unreadable records: what it lists
# is added, nothing is removed, and status and log say so.
case_truncated() {
	setup_responder_net
	local P L1 L2 L3
	P=$(randkeys 1); L1=$(randkeys 1); L2=$(randkeys 1); L3=$(randkeys 1)
	# P was added by wgsd earlier and is not in the first two entries of the listing.
	in_a wg set "$WGA" peer "$P" allowed-ips 10.0.0.20/32
	mkdir -p "$T/state-alice"
	printf 'wgsd-members 1 %s\npeer %s 1700000000 10.0.0.20/32\n' "$WGA" "$P" >"$T/state-alice/client-$WGA.members"
	peers_file "$PEERS_JSON" <<EOT
$L1 {"endpoint": "198.51.100.11:5011", "allowed": ["10.0.0.11/32"]}
$L2 {"endpoint": "198.51.100.12:5012", "allowed": ["10.0.0.12/32"]}
$L3 {"endpoint": "198.51.100.13:5013", "allowed": ["10.0.0.13/32"]}
$P {"endpoint": "198.51.100.20:5020", "allowed": ["10.0.0.20/32"]}
EOT
	start_responder reg --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" --listing-limit 2
	responder_conf "auto-remove-after = 2s" 192.0.2.1:53
	start_member "$NS_A" alice
	wait_for 20 has_peer "$NS_A" "$WGA" "$L1" || fail "L1 (in the truncated listing) not added"
	wait_for 20 has_peer "$NS_A" "$WGA" "$L2" || fail "L2 (in the truncated listing) not added"
	local c
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 5))
	has_peer "$NS_A" "$WGA" "$P" || fail "a peer beyond a truncated listing was removed"
	! has_peer "$NS_A" "$WGA" "$L3" || fail "L3 was added though not listed"
	grep -q "^tcp 12 " "$T/reg.queries" || fail "the listing was not asked over TCP"
	mstatus alice "m['registries'][0]['listing'] == 'truncated' and m['registries'][0]['peers'] == 2" ||
		fail "status does not show the truncated listing"
	mstatus alice "added('$P')[0]['absent_for_s'] is None" || fail "absence counted from a truncated listing"
	[ "$(mlog_count alice "lists only its first 2 peers")" = 1 ] || fail "truncation not logged once"
	"$WGSDCTL" -s "$T/alice.sock" status | grep -q "lists only its first 2 peers (truncated even over TCP)" ||
		fail "wgsdctl status: truncation"
	"$WGSDCTL" -s "$T/alice.sock" metrics | grep -q "wgsd_client_registry_listing_complete{device=\"$WGA\",registry=\"192.0.2.1:53\"} 0" ||
		fail "metrics: listing_complete"

	# Unreadable records: the same.
	stop reg
	start_responder reg2 --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON" --listing-junk
	wait_for 20 has_peer "$NS_A" "$WGA" "$L3" || fail "L3 not added from the full listing"
	echo "{}" >"$PEERS_JSON"
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 5))
	has_peer "$NS_A" "$WGA" "$P" || fail "removed from a listing with unreadable records"
	mstatus alice "m['registries'][0]['listing'] == 'partial'" || fail "status: partial listing"
	grep -q "listing has 1 unreadable records" "$T/alice.log" || fail "unreadable records not logged"
	# The registry is silent for a while, then answers the complete listing without them: now they go.
	stop reg2
	c=$(cycles_of alice)
	wait_cycles_of alice $((c + 2))
	start_responder reg3 --listen 192.0.2.1:53 --zone example.com. --peers "$PEERS_JSON"
	wait_for 30 sh -c "! ip netns exec $NS_A wg show $WGA peers | grep -qxF -- '$P'" || fail "P not removed from a complete listing"
	grep -q "lists all its peers again" "$T/alice.log" || fail "recovery of the listing not logged"
}

# Scale: 2,000 listed peers joined (added, endpoints set) in one cycle. One registry's listing holds
# about 920 peers (one DNS message), so three registries list a third each.
case_scale() {
	local n=2000 parts=3 i
	setup_net
	in_r ip addr add 192.0.2.5/24 dev "vr$SUF"
	genkey alice
	wg_dev "$NS_A" "$WGA" 51820 "$T/alice.key"
	randkeys $n >"$T/keys"
	python3 - "$T/keys" "$T" "$parts" <<'EOT'
import sys
keys = open(sys.argv[1]).read().split()
parts = int(sys.argv[3])
for p in range(parts):
    with open("%s/reg%d-peers.conf" % (sys.argv[2], p), "w") as f:
        for i, k in enumerate(keys):
            if i % parts == p:
                f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 198.51.100.%d:%d\n\n"
                        % (k, 100 + i // 65536, i // 256 % 256, i % 256, 1 + i % 250, 10000 + i))
EOT
	local addrs=(192.0.2.1 192.0.2.3 192.0.2.5) regs=()
	for i in $(seq 0 $((parts - 1))); do
		genkey "reg$i"
		wg_dev "$NS_R" "wgs$i$SUF" $((51820 + i)) "$T/reg$i.key"
		in_r wg addconf "wgs$i$SUF" "$T/reg$i-peers.conf"
		registry_conf "$T/registry$i.conf" "wgs$i$SUF" "${addrs[$i]}:53"
		start_wgsd "$NS_R" "registry$i" "$T/registry$i.conf"
		regs+=("${addrs[$i]}:53")
	done
	for i in $(seq 0 $((parts - 1))); do
		wait_registry "${addrs[$i]}"
	done
	# One cycle only: the interval is long.
	responder_conf "auto-max-peers = $n\nauto-allowed-ips = 10.100.0.0/16" "${regs[@]}"
	sed -i 's/^interval = .*/interval = 1h/; s/^timeout = .*/timeout = 2s/' "$T/alice.conf"
	start_member "$NS_A" alice
	wait_for 240 mstatus alice "dev['cycles'] >= 1" >/dev/null || fail "the first cycle did not finish"
	grep -E "warning" "$T/alice.log" | sort | uniq -c | sort -rn | head -5 >&2
	mstatus alice "dev['cycles'] == 1 and m['added_total'] == $n and m['listed'] == $n and m['listings_complete']" ||
		fail "not every listed peer joined in one cycle: $(mstatus alice "(m['added_total'], m['listed'], m['refused_total'])")"
	echo "joined $n listed peers from $parts registries in one cycle of $(mstatus alice "dev['last_cycle']['duration_ms']") ms"
	in_a wg show "$WGA" endpoints | sort >"$T/got"
	in_a wg show "$WGA" allowed-ips | sort >"$T/got-ips"
	for i in $(seq 0 $((parts - 1))); do
		in_r wg show "wgs$i$SUF" endpoints
	done | sort >"$T/want"
	for i in $(seq 0 $((parts - 1))); do
		in_r wg show "wgs$i$SUF" allowed-ips
	done | sort >"$T/want-ips"
	diff -q "$T/got" "$T/want" >/dev/null || fail "endpoints differ from the registries'"
	diff -q "$T/got-ips" "$T/want-ips" >/dev/null || fail "allowed IPs differ from the registries'"
	[ "$(grep -c '^peer ' "$T/state-alice/client-$WGA.members")" = $n ] || fail "the state file does not name every peer"
}

NS_NA="wgsdc-na-$SUF"; NS_NB="wgsdc-nb-$SUF"; NS_NC="wgsdc-nc-$SUF"

# Home router NS (LAN 192.168.N.0/24, WAN 203.0.113.N0 on the public link): a home NAT that maps
# UDP to ports of its own (3N000-3N999: public port != WireGuard's), a forward chain that lets in
# only what the LAN started, and no new connections to the router itself from the WAN.
home() {
	local nat=$1 host=$2 n=$3
	ip netns add "$nat"
	ip -n "$nat" link set lo up
	ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
	ip link add "w$n$SUF" netns "$nat" type veth peer name "pw$n$SUF" netns "$NS_N"
	ip -n "$NS_N" link set "pw$n$SUF" master br0 up
	ip -n "$nat" link set "w$n$SUF" name wan
	ip -n "$nat" addr add "203.0.113.${n}0/24" dev wan
	ip -n "$nat" link set wan up
	ip netns add "$host" 2>/dev/null || true
	ip -n "$host" link set lo up
	ip link add "l$n$SUF" netns "$nat" type veth peer name "h$n$SUF" netns "$host"
	ip -n "$nat" link set "l$n$SUF" name lan
	ip -n "$nat" addr add "192.168.$n.1/24" dev lan
	ip -n "$nat" link set lan up
	ip -n "$host" addr add "192.168.$n.2/24" dev "h$n$SUF"
	ip -n "$host" link set "h$n$SUF" up
	ip -n "$host" route add default via "192.168.$n.1"
	ip netns exec "$nat" nft -f - <<EOT || fail "nft on $nat"
table ip members_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" meta l4proto udp masquerade to :3${n}000-3${n}999
		oifname "wan" masquerade
	}
}
table inet members_fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state new drop
	}
}
EOT
}

# The same proof across three home NATs: the registry on the public link, alice, bob and carol
# each behind their own NAT; every pair ends up with a direct tunnel through both NATs.
case_nat() {
	need nft
	ip netns add "$NS_N"
	ip -n "$NS_N" link set lo up
	ip -n "$NS_N" link add br0 type bridge
	ip -n "$NS_N" link set br0 up
	ip netns exec "$NS_N" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
	ip netns add "$NS_R"
	ip -n "$NS_R" link set lo up
	ip link add "pr$SUF" netns "$NS_R" type veth peer name "pp$SUF" netns "$NS_N"
	ip -n "$NS_N" link set "pp$SUF" master br0 up
	ip -n "$NS_R" addr add 203.0.113.4/24 dev "pr$SUF"
	ip -n "$NS_R" link set "pr$SUF" up
	home "$NS_NA" "$NS_A" 1
	home "$NS_NB" "$NS_B" 2
	home "$NS_NC" "$NS_C" 3
	in_a ping -c 1 -W 2 203.0.113.4 >/dev/null || fail "alice cannot reach the registry's public address"
	genkey reg
	wg_dev "$NS_R" "$WGR" 51820 "$T/reg.key"
	ip -n "$NS_R" addr add 10.0.0.254/24 dev "$WGR"
	local name ns dev addr
	for name in alice bob carol; do
		case $name in
		alice) ns=$NS_A dev=$WGA addr=10.0.0.1 ;;
		bob) ns=$NS_B dev=$WGB addr=10.0.0.2 ;;
		carol) ns=$NS_C dev=$WGC addr=10.0.0.3 ;;
		esac
		genkey "$name"
		wg_dev "$ns" "$dev" 51820 "$T/$name.key"
		ip -n "$ns" addr add "$addr/24" dev "$dev"
		ip netns exec "$ns" wg set "$dev" peer "$(cat "$T/reg.pub")" allowed-ips 10.0.0.254/32 \
			endpoint 203.0.113.4:51820 persistent-keepalive 1
	done
	A=$(cat "$T/alice.pub"); B=$(cat "$T/bob.pub"); C=$(cat "$T/carol.pub")
	in_r wg set "$WGR" peer "$A" allowed-ips 10.0.0.1/32 peer "$B" allowed-ips 10.0.0.2/32
	start_registry
	wait_for 20 listed_at_registry "$B" || fail "bob is not listed at the registry"
	member_conf alice "$WGA"
	member_conf bob "$WGB"
	start_member "$NS_A" alice
	start_member "$NS_B" bob
	# Carol joins: one wg set at the registry, her configuration names only the registry.
	in_r wg set "$WGR" peer "$C" allowed-ips 10.0.0.3/32
	member_conf carol "$WGC"
	start_member "$NS_C" carol
	wait_for 30 listed_at_registry "$C" || fail "carol is not listed at the registry"
	local pair
	for pair in "$NS_A 10.0.0.2" "$NS_A 10.0.0.3" "$NS_B 10.0.0.1" "$NS_B 10.0.0.3" "$NS_C 10.0.0.1" "$NS_C 10.0.0.2"; do
		# shellcheck disable=SC2086
		wait_for 60 reach $pair || fail "no tunnel through the NATs: $pair"
	done
	# Each talks to the others' public NAT mappings (the registry does not forward).
	endpoint_of "$NS_A" "$WGA" "$B" | grep -q '^203\.0\.113\.20:32[0-9][0-9][0-9]$' || fail "alice reaches bob through $(endpoint_of "$NS_A" "$WGA" "$B")"
	endpoint_of "$NS_A" "$WGA" "$C" | grep -q '^203\.0\.113\.30:33[0-9][0-9][0-9]$' || fail "alice reaches carol through $(endpoint_of "$NS_A" "$WGA" "$C")"
	endpoint_of "$NS_C" "$WGC" "$B" | grep -q '^203\.0\.113\.20:32[0-9][0-9][0-9]$' || fail "carol reaches bob through $(endpoint_of "$NS_C" "$WGC" "$B")"
	in_r sysctl -n net.ipv4.ip_forward | grep -qx 0 || fail "the registry forwards"
}

case "$CASE" in
mesh|nat|guard|restart|multi|corrupt|truncated|scale) "case_$CASE" ;;
*) echo "unknown case $CASE" >&2; exit 2 ;;
esac
echo "ok: members $CASE"
