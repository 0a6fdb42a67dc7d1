#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 0, the lab itself without wgsd: the NATs behave like home
# routers. With endpoints set by hand to what the registry sees (the NATs'
# public mappings), alice and bob punch a direct tunnel; unsolicited inbound
# traffic is dropped; a symmetric NAT maps each destination to another port.
set -eu
. "$(dirname "$0")/lib.sh"

lab_require
lab_init
lab_topology
lab_wireguard

lab_head "NAT mappings seen by the registry"
reg_alice=$(lab_endpoint reg alice)
reg_bob=$(lab_endpoint reg bob)
map_a=$(lab_nat_mapping nata alice)
map_b=$(lab_nat_mapping natb bob)
echo "registry sees alice at $reg_alice (NAT A conntrack: $map_a), bob at $reg_bob (NAT B conntrack: $map_b)"
[ "$reg_alice" = "$map_a" ] || lab_fail "registry's endpoint for alice $reg_alice is not NAT A's mapping $map_a"
[ "$reg_bob" = "$map_b" ] || lab_fail "registry's endpoint for bob $reg_bob is not NAT B's mapping $map_b"
case "$reg_bob" in
"${LAB_PUB4[natb]}":4[0-9][0-9][0-9][0-9]) ;;
*) lab_fail "bob's public endpoint $reg_bob is not NAT B's address with a port from its range" ;;
esac

lab_head "unsolicited inbound traffic is dropped"
# Alice alone sends to bob's public mapping: NAT B must not let it in.
lab_wg_peer alice bob "${LAB_TUN[bob]}/32" "$reg_bob" 1
if lab_ping1 alice "${LAB_TUN[bob]}" || lab_ping1 alice "${LAB_TUN[bob]}"; then
	lab_fail "alice reached bob before bob sent anything: NAT B lets unsolicited traffic in"
fi
echo "alice -> bob's mapping alone: no reply (NAT B dropped it)"

lab_head "hole punching with hand-set endpoints"
start=$(lab_now_ms)
lab_wg_peer bob alice "${LAB_TUN[alice]}/32" "$reg_alice" 1
lab_ping_until alice "${LAB_TUN[bob]}" 20 || lab_fail "no direct tunnel with hand-set endpoints"
ms=$LAB_MS
echo "alice -> bob direct tunnel after $ms ms"
ep=$(lab_endpoint alice bob)
[ "$ep" = "$reg_bob" ] || lab_fail "alice's endpoint for bob $ep is not NAT B's mapping $reg_bob"
echo "alice's endpoint for bob: $ep (NAT B's public mapping)"
echo "figure: hand-set punch $ms ms"

lab_head "symmetric NAT: a new mapping per destination"
lab_nat_mode natb symmetric
# True when NAT B maps bob's socket to two public ports.
two_mappings()
{
	[ "$(lab_nat_mapping natb bob | wc -l)" -ge 2 ]
}
# Bob's keepalives re-create the mappings: one towards the registry, one
# towards NAT A. A random port may repeat by chance (1 in 1000): try again.
for try in 1 2 3; do
	lab_nat_flush natb
	lab_wait 10 lab_ping1 bob "${LAB_TUN[reg]}" || lab_fail "bob lost the registry behind a symmetric NAT"
	lab_wait 5 two_mappings && break
done
n=$(lab_nat_mapping natb bob | wc -l)
lab_nat_mapping natb bob | sed 's/^/  NAT B maps bob to /'
[ "$n" -ge 2 ] || lab_fail "symmetric NAT B uses one public port for two destinations"
echo "symmetric NAT B: $n public ports for bob's one socket"
echo "ok"
