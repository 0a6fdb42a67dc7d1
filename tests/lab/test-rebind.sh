#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 2, NAT rebinding: NAT B loses every mapping (conntrack flushed)
# and maps to another port range from then on, so bob's public port changes.
# The direct tunnel comes back by itself: the registry sees bob's new port
# through his keepalive, alice's wgsd finds it and sets it. Prints the
# recovery time.
set -eu
# The registry's IPv4 endpoint is the path under test: no IPv6 (or LAN) candidate may win it.
export LAB_CANDIDATES=none
. "$(dirname "$0")/lib.sh"

lab_require dig
lab_init
lab_up

lab_head "direct tunnel before the rebinding"
lab_wait_direct 60 || lab_fail "no direct tunnel alice -> bob within 60 s of the daemons' start"
ms=$LAB_MS
echo "direct tunnel after $ms ms"
lab_check_endpoints
old=$(lab_endpoint alice bob)
updates=$(lab_client_counter alice endpoint_updates)

lab_head "NAT B rebinds: conntrack flushed, new port range"
lab_nat_mode natb cone 41000-41999
t0=$(lab_now_ms)
lab_nat_flush natb
lab_ping_until alice "${LAB_TUN[bob]}" 90 || lab_fail "the direct tunnel did not come back within 90 s"
ms=$LAB_MS
echo "alice reached bob again $ms ms after the flush"

lab_head "after the rebinding"
lab_check_endpoints
new=$(lab_endpoint alice bob)
echo "alice's endpoint for bob: $old -> $new"
[ "$new" != "$old" ] || lab_fail "bob's public endpoint did not change"
case "$new" in
"${LAB_PUB4[natb]}":41[0-9][0-9][0-9]) ;;
*) lab_fail "alice's endpoint for bob $new is not in NAT B's new port range" ;;
esac
after=$(lab_client_counter alice endpoint_updates)
echo "alice's wgsd endpoint writes: $updates before, $after after"
# NAT A drops bob's packets from the new port until alice sends there: only
# alice's wgsd can have set it.
[ "$after" -gt "$updates" ] || lab_fail "alice's wgsd did not set bob's new endpoint"
lab_check_registry_path

echo "figure: rebinding recovery $ms ms"
echo "ok"
