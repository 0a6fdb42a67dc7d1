#!/bin/bash
# SPDX-License-Identifier: MIT
# The client's relay hook end to end, in the NAT lab of tests/lab: alice and
# bob behind two symmetric NATs, wgsd on all three (the registry with a
# [relay] section, the clients with relay = auto, relay-after = 5s). Their
# direct endpoints get no handshake, so each asks the registry for a relay and
# writes it: ping works, both endpoints are the relay's, `wgsdctl status`
# says "relayed via", and the working relay is not overwritten by the normal
# lookup cycle after cycle (the lab's 10 s handshake-timeout calls the tunnel
# stale between rekeys). Then the registry restarts (its allocations are
# gone): the clients notice that nothing arrives, ask again, and the pair
# reconnects through a new allocation by itself.
set -eu
# The relay is the path under test: no IPv6 candidate (the lab routes IPv6) may give a direct one.
export LAB_CANDIDATES=none
. "$(dirname "$0")/../lab/lib.sh"

lab_require dig
lab_init
lab_topology
lab_nat_mode nata symmetric
lab_nat_mode natb symmetric
lab_wireguard

lab_conf reg
# conf/registry.conf ends with its own [relay]: this test sets its own.
sed -i '/^\[relay\]/,$d' "$LAB_RUN/reg.conf"
cat >>"$LAB_RUN/reg.conf" <<CONF

[relay]
address = ${LAB_PUB4[reg]}
ports = 50000-50999
CONF
for node in alice bob; do
	lab_conf "$node"
	sed -i -e '/^relay-after *=/d' -e 's/^keepalive *=.*/keepalive = 2/' -e '/^\[client /a relay-after = 5s' "$LAB_RUN/$node.conf"
	"$WGSD" -t -c "$LAB_RUN/$node.conf" || lab_fail "$node's configuration is not valid"
done
"$WGSD" -t -c "$LAB_RUN/reg.conf" || lab_fail "the registry's configuration is not valid"
LAB_START_MS=$(lab_now_ms)
for node in reg alice bob; do
	lab_wgsd_start "$node"
done

# True when node $1's endpoint for the other peer is on the relay.
on_relay()
{
	case "$(lab_endpoint "$1" "$(lab_other "$1")")" in
	"${LAB_PUB4[reg]}":5*) return 0 ;;
	*) return 1 ;;
	esac
}

# One allocation whose two learnt addresses are NAT A's and NAT B's.
relay_learnt()
{
	local a
	a=$(lab_status reg "[x['address'] for x in s['registry']['relay']['list'][0]['sides']]" 2>/dev/null) || return 1
	case "$a" in *"${LAB_PUB4[nata]}:"*"${LAB_PUB4[natb]}:"* | *"${LAB_PUB4[natb]}:"*"${LAB_PUB4[nata]}:"*) return 0 ;; esac
	return 1
}

lab_head "alice and bob end up relayed"
lab_ping_until alice "${LAB_TUN[bob]}" 150 || lab_fail "no tunnel alice -> bob within 150 s"
ms=$(($(lab_now_ms) - LAB_START_MS))
echo "alice pings bob $ms ms after the daemons started"
for node in alice bob; do
	lab_wait 20 on_relay "$node" || lab_fail "$node's endpoint for $(lab_other "$node") is not the relay: $(lab_endpoint "$node" "$(lab_other "$node")")"
	echo "$node's endpoint for $(lab_other "$node"): $(lab_endpoint "$node" "$(lab_other "$node")")"
done
lab_wait 10 relay_learnt || lab_fail "the relay did not learn both NATs' addresses"
stage=$(lab_client_peer alice bob 'p["relay"]["stage"]')
[ "$stage" = relayed ] || lab_fail "alice's status says relay stage '$stage', not relayed"
lab_ctl alice status | tee "$LAB_RUN/alice-status.txt" | grep 'relayed via' ||
	lab_fail "alice's wgsdctl status does not say 'relayed via'"
grep -q 'relayed via registry' "$LAB_RUN/wgsd-alice.log" || lab_fail "alice's log does not record the relayed endpoint"

lab_head "the working relay is kept, cycle after cycle"
CYCLES=8
u0=$(lab_client_counter alice endpoint_updates)
c0=$(lab_client_counter alice cycles)
declare -A seen_ep=()
more_cycles()
{
	seen_ep[$(lab_endpoint alice bob)]=1
	lab_ping1 alice "${LAB_TUN[bob]}" || lab_fail "the relayed tunnel dropped a ping while watched"
	[ "$(lab_client_counter alice cycles)" -ge $((c0 + CYCLES)) ]
}
lab_wait 60 more_cycles || lab_fail "alice's wgsd ran fewer than $CYCLES cycles in 60 s"
u1=$(lab_client_counter alice endpoint_updates)
echo "alice's endpoints for bob over $CYCLES cycles: ${!seen_ep[*]}; endpoint writes: $((u1 - u0))"
[ "${#seen_ep[@]}" = 1 ] || lab_fail "alice's endpoint for bob changed while relayed: ${!seen_ep[*]}"
[ "$u1" = "$u0" ] || lab_fail "alice's wgsd rewrote bob's endpoint while the relay worked"

lab_head "the registry restarts: its allocations are gone, the pair reconnects by itself"
old_ep=$(lab_endpoint alice bob)
lab_wgsd_stop reg
lab_wgsd_start reg
t0=$(lab_now_ms)
[ "$(lab_status reg 's["registry"]["relay"]["allocations"]')" = 0 ] || lab_fail "a fresh registry has allocations"
# Traffic keeps flowing meanwhile: a WireGuard that still holds a session
# starts a new handshake (the relay learns addresses only from handshakes)
# 15 s after its data goes unanswered; keepalives alone wait for the
# session's 2-minute rekey.
new_allocation()
{
	lab_ping1 alice "${LAB_TUN[bob]}" &&
		[ "$(lab_status reg 's["registry"]["relay"]["allocations"]' 2>/dev/null)" = 1 ] && relay_learnt
}
lab_wait 180 new_allocation || lab_fail "alice and bob did not reconnect through a new allocation within 180 s"
rec=$(($(lab_now_ms) - t0))
echo "reconnected $rec ms after the restart; alice's endpoint for bob: $old_ep -> $(lab_endpoint alice bob)"
on_relay alice && on_relay bob || lab_fail "after the restart the endpoints are not on the relay"
grep 'relay' "$LAB_RUN/wgsd-alice.log" | sed 's/^/  alice: /' | tail -n 8

echo "figure: relayed $ms ms after start; reconnected $rec ms after a registry restart"
echo "ok"
