#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 1, direct tunnel: from the start of the three daemons, alice
# reaches bob's tunnel address directly through both NATs; each one's
# endpoint for the other is the other NAT's public mapping; 200 KB of pings
# do not pass the registry (its transfer counters for alice and bob barely
# move while bob's counters for alice grow by the whole volume).
set -eu
# The registry's IPv4 endpoint is the path under test: no IPv6 (or LAN) candidate may win it.
export LAB_CANDIDATES=none
. "$(dirname "$0")/lib.sh"

PINGS=200
PING_SIZE=1000

lab_require dig
lab_init
lab_up

# The registry reports the backend it uses: the one this run set out to test.
backend=$(lab_status reg "s['registry']['zones'][0]['backend']")
echo "registry's wgsd reads its device through the $backend backend"
[ "$backend" = "$WG_IMPL" ] || lab_fail "the registry uses the $backend backend, not $WG_IMPL"

lab_head "direct tunnel alice -> bob"
lab_wait_direct 60 || lab_fail "no direct tunnel alice -> bob within 60 s of the daemons' start"
ms=$LAB_MS
echo "alice reached bob (${LAB_TUN[bob]}) $ms ms after the daemons started"
lab_in bob ping -n -c 1 -W 2 "${LAB_TUN[alice]}" >/dev/null || lab_fail "bob cannot reach alice"
lab_check_endpoints
updates=$(lab_client_counter alice endpoint_updates)
[ "$updates" -ge 1 ] || lab_fail "alice's wgsd reports no endpoint update, yet the tunnel is up"
echo "alice's wgsd set $updates endpoint(s)"

lab_head "the registry relays nothing"
read -r reg_a_rx reg_a_tx <<<"$(lab_transfer reg alice)"
read -r reg_b_rx reg_b_tx <<<"$(lab_transfer reg bob)"
read -r bob_a_rx bob_a_tx <<<"$(lab_transfer bob alice)"
out=$(lab_in alice ping -n -q -c "$PINGS" -i 0.01 -s "$PING_SIZE" -W 2 "${LAB_TUN[bob]}") ||
	lab_fail "pings alice -> bob lost: $out"
echo "$out" | tail -n 2
received=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ "${received:-0}" -ge $((PINGS * 95 / 100)) ] || lab_fail "only ${received:-0} of $PINGS pings came back"
volume=$((received * PING_SIZE))
read -r rx tx <<<"$(lab_transfer reg alice)"
reg_a=$((rx - reg_a_rx + tx - reg_a_tx))
read -r rx tx <<<"$(lab_transfer reg bob)"
reg_b=$((rx - reg_b_rx + tx - reg_b_tx))
read -r rx tx <<<"$(lab_transfer bob alice)"
direct=$((rx - bob_a_rx))
echo "ping volume each way: $volume bytes"
echo "bob received from alice directly: $direct bytes"
echo "registry <-> alice meanwhile: $reg_a bytes, registry <-> bob: $reg_b bytes"
[ "$direct" -ge "$volume" ] || lab_fail "bob's counters for alice grew by $direct < $volume bytes: the pings did not go direct"
[ "$reg_a" -lt $((volume / 10)) ] || lab_fail "the registry's counters for alice grew by $reg_a bytes: traffic passed the registry"
[ "$reg_b" -lt $((volume / 10)) ] || lab_fail "the registry's counters for bob grew by $reg_b bytes: traffic passed the registry"

echo "figure: direct tunnel $ms ms after daemon start"
echo "ok"
