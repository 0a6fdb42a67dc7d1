#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 5, IPv6: the public segment also carries 2001:db8::/64 and the
# home routers route (not translate) an IPv6 /64 each behind their stateful
# firewall. Alice and bob reach the registry over IPv6, so it publishes AAAA
# records; alice's wgsd sets bob's IPv6 endpoint (SRV target -> AAAA) and the
# tunnel punches through both firewalls. Prints the time to first reply.
set -eu
export LAB_V6=1
. "$(dirname "$0")/lib.sh"

lab_require dig
lab_init
lab_topology

lab_head "stateful IPv6 firewalls"
lab_in reg ping -6 -c 1 -W 1 "${LAB_LAN6[bob]}" >/dev/null 2>&1 &&
	lab_fail "the registry reached bob's IPv6 address unsolicited: NAT B's firewall lets it in"
echo "unsolicited IPv6 from the public segment to bob: dropped"
lab_in bob ping -6 -c 1 -W 2 "${LAB_PUB6[reg]}" >/dev/null || lab_fail "bob cannot reach the registry over IPv6"
echo "bob -> registry over IPv6: ok"

lab_wireguard
lab_daemons

lab_head "the registry publishes bob's IPv6 endpoint"
want="[${LAB_LAN6[bob]}]:$LAB_PORT"
[ "$(lab_endpoint reg bob)" = "$want" ] || lab_fail "the registry sees bob at $(lab_endpoint reg bob), not $want"
name="$(lab_b32 bob).example.com."
lab_dig alice +noall +answer "$(lab_b32 bob)._wireguard._udp.example.com." SRV
lab_dig alice +noall +answer "$name" AAAA
aaaa=$(lab_dig alice +short "$name" AAAA)
[ "$aaaa" = "${LAB_LAN6[bob]}" ] || lab_fail "AAAA of bob's name is '$aaaa', not ${LAB_LAN6[bob]}"
[ -z "$(lab_dig alice +short "$name" A)" ] || lab_fail "bob's name has an A record, yet his endpoint is IPv6"

lab_head "direct tunnel over IPv6"
lab_wait_direct 60 || lab_fail "no direct tunnel alice -> bob over IPv6 within 60 s of the daemons' start"
ms=$LAB_MS
echo "alice reached bob $ms ms after the daemons started"
ep=$(lab_endpoint alice bob)
echo "alice's endpoint for bob: $ep"
[ "$ep" = "$want" ] || lab_fail "alice's endpoint for bob is $ep, not $want"
ep=$(lab_endpoint bob alice)
echo "bob's endpoint for alice: $ep"
[ "$ep" = "[${LAB_LAN6[alice]}]:$LAB_PORT" ] || lab_fail "bob's endpoint for alice is $ep, not alice's IPv6 endpoint"
read -r rx0 tx0 <<<"$(lab_transfer reg bob)"
lab_in alice ping -n -q -c 50 -i 0.01 -s 1000 "${LAB_TUN[bob]}" | tail -n 2
read -r rx tx <<<"$(lab_transfer reg bob)"
echo "registry <-> bob meanwhile: $((rx - rx0 + tx - tx0)) bytes"
[ $((rx - rx0 + tx - tx0)) -lt 5000 ] || lab_fail "the pings passed the registry"

echo "figure: direct IPv6 tunnel $ms ms after daemon start"
echo "ok"
