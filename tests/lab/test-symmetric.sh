#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 4, symmetric NAT: NAT B picks a random public port for every
# destination. Two registries (the second enabled in alice.conf/bob.conf)
# then see bob at different ports. Alice's wgsd must say so for bob in
# `wgsdctl status` (NAT note "symmetric"; "consistent" for alice behind the
# cone NAT A, as seen by bob), must not flap bob's endpoint between the two
# answers (no endpoint writes over several cycles), and the registry path
# keeps working. Prints the time to the diagnosis and the writes counted.
set -eu
# The registry's IPv4 endpoint is the path under test: no IPv6 (or LAN) candidate may win it.
export LAB_CANDIDATES=none
# What is checked here is the direct path's behaviour (no flapping between the
# registries' ports); with a relay the pair would be relayed after relay-after.
export LAB_RELAY=off
export LAB_REGISTRIES=2
. "$(dirname "$0")/lib.sh"

CYCLES=5

lab_require dig
lab_init
lab_topology
lab_nat_mode natb symmetric
lab_wireguard

# True when the two registries see bob at two different ports.
two_ports()
{
	local a b
	a=$(lab_endpoint reg bob) b=$(lab_endpoint reg2 bob)
	[ -n "$a" ] && [ "$a" != "(none)" ] && [ -n "$b" ] && [ "$b" != "(none)" ] && [ "$a" != "$b" ]
}
# A random port may repeat by chance (1 in 1000): then map again.
for try in 1 2 3; do
	two_ports && break
	echo "NAT B gave bob the same port twice by chance: mapping again"
	lab_nat_flush natb
	lab_wait 10 two_ports || true
done
lab_daemons

lab_head "bob's NAT seen through two registries"
lab_nat_mapping natb bob | sed 's/^/  NAT B maps bob to /'
for r in reg reg2; do
	echo "  registry ${LAB_TUN[$r]} sees bob at $(lab_endpoint "$r" bob)"
done
[ "$(lab_endpoint reg bob)" != "$(lab_endpoint reg2 bob)" ] ||
	lab_fail "both registries see bob at the same endpoint: NAT B is not symmetric"

# True when alice's wgsd notes bob's NAT as symmetric.
alice_diagnosed()
{
	[ "$(lab_client_peer alice bob 'p["nat"]' 2>/dev/null)" = symmetric ]
}
lab_wait 30 alice_diagnosed || lab_fail "alice's wgsd did not note bob's NAT as symmetric within 30 s"
ms=$(($(lab_now_ms) - LAB_START_MS))
echo "alice's wgsd noted bob's NAT as symmetric $ms ms after the daemons started"

lab_head "no flapping over $CYCLES cycles"
# Let the cycle that made the diagnosis finish its endpoint write first.
c0=$(lab_client_counter alice cycles)
one_more_cycle()
{
	[ "$(lab_client_counter alice cycles)" -gt "$c0" ]
}
lab_wait 30 one_more_cycle || lab_fail "alice's wgsd stopped cycling"
u0=$(lab_client_counter alice endpoint_updates)
c0=$(lab_client_counter alice cycles)
declare -A seen_ep=()
# Sample alice's endpoint for bob until CYCLES more cycles have run.
more_cycles()
{
	seen_ep[$(lab_endpoint alice bob)]=1
	[ "$(lab_client_counter alice cycles)" -ge $((c0 + CYCLES)) ]
}
lab_wait 60 more_cycles || lab_fail "alice's wgsd ran fewer than $CYCLES cycles in 60 s"
u1=$(lab_client_counter alice endpoint_updates)
writes=$(grep -c 'endpoint .* -> ' "$LAB_RUN/wgsd-alice.log" || true)
echo "alice's endpoints for bob over $CYCLES cycles: ${!seen_ep[*]}"
echo "alice's wgsd endpoint writes: $u0 before, $u1 after; $writes endpoint change(s) logged in all"
[ "$u1" = "$u0" ] || lab_fail "alice's wgsd wrote bob's endpoint $((u1 - u0)) time(s) in $CYCLES cycles: flapping"
[ "${#seen_ep[@]}" = 1 ] || lab_fail "alice's endpoint for bob changed while observed: ${!seen_ep[*]}"

lab_head "diagnosis in wgsdctl status"
lab_ctl alice status | tee "$LAB_RUN/alice-status.txt"
grep -qi symmetric "$LAB_RUN/alice-status.txt" || lab_fail "alice's 'wgsdctl status' does not mention the symmetric NAT"
note=$(lab_client_peer bob alice 'p["nat"]')
echo "bob's wgsd notes alice's NAT (cone NAT A) as: $note"
[ "$note" = consistent ] || lab_fail "bob's wgsd notes alice's cone NAT as '$note', not consistent"

lab_head "the registry path keeps working"
lab_check_registry_path
got=$(lab_dig_peer alice bob)
[ -n "$got" ] || lab_fail "alice cannot look bob up at the registry"
echo "alice looks bob up: port ${got%% *} address ${got#* }"
if lab_ping1 alice "${LAB_TUN[bob]}"; then
	echo "direct tunnel alice -> bob: up (unexpected behind a symmetric NAT)"
else
	echo "direct tunnel alice -> bob: down, as expected behind a symmetric NAT"
fi

echo "figure: symmetric NAT diagnosed $ms ms after daemon start; $((u1 - u0)) endpoint writes in $CYCLES cycles, $writes in all"
echo "ok"
