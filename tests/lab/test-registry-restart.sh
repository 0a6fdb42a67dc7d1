#!/bin/bash
# SPDX-License-Identifier: MIT
# Lab scenario 3, registry restart: (a) the registry's wgsd restarts, (b) the
# registry host "reboots": its WireGuard device is deleted and re-created
# with the same key and peers but no endpoints or sessions. Both times the
# alice <-> bob tunnel keeps working untouched (no endpoint rewritten, pings
# keep flowing) and discovery recovers afterwards. Prints recovery times.
set -eu
# The registry's IPv4 endpoint is the path under test: no IPv6 (or LAN) candidate may win it.
export LAB_CANDIDATES=none
. "$(dirname "$0")/lib.sh"

lab_require dig
lab_init
lab_up

# True when alice learns from the registry the endpoint she uses for bob.
discovery_ok()
{
	local got want

	got=$(lab_dig_peer alice bob)
	want=$(lab_endpoint alice bob)
	[ -n "$got" ] && [ "${got#* }:${got%% *}" = "$want" ]
}

# Fail unless endpoints and alice's and bob's endpoint writes are as before.
check_untouched()
{
	local node

	for node in alice bob; do
		[ "$(lab_endpoint "$node" "$(lab_other "$node")")" = "${ep[$node]}" ] ||
			lab_fail "$1: $node's endpoint for $(lab_other "$node") was rewritten"
		[ "$(lab_client_counter "$node" endpoint_updates)" = "${updates[$node]}" ] ||
			lab_fail "$1: $node's wgsd wrote an endpoint"
	done
	lab_ping1 alice "${LAB_TUN[bob]}" || lab_ping1 alice "${LAB_TUN[bob]}" ||
		lab_fail "$1: the direct tunnel stopped working"
	echo "$1: tunnel up, endpoints untouched (alice -> ${ep[alice]}, bob -> ${ep[bob]})"
}

lab_head "direct tunnel"
lab_wait_direct 60 || lab_fail "no direct tunnel alice -> bob within 60 s of the daemons' start"
ms=$LAB_MS
echo "direct tunnel after $ms ms"
lab_check_endpoints
lab_wait 10 discovery_ok || lab_fail "alice cannot look bob up at the registry"
declare -A ep updates
for node in alice bob; do
	ep[$node]=$(lab_endpoint "$node" "$(lab_other "$node")")
	updates[$node]=$(lab_client_counter "$node" endpoint_updates)
done
# Pings alice -> bob during both restarts, 5 per second.
lab_bg alice "$LAB_RUN/ping.out" ping -n -q -i 0.2 "${LAB_TUN[bob]}"
pinger=$LAB_BGPID
LAB_BG="$LAB_BG $pinger"

lab_head "registry daemon restart"
lab_wgsd_stop reg
echo "registry's wgsd stopped"
sleep 6
check_untouched "registry daemon down"
lab_wgsd_start reg
t0=$(lab_now_ms)
lab_wait 30 discovery_ok || lab_fail "discovery did not recover within 30 s of the registry's restart"
ms_daemon=$(($(lab_now_ms) - t0))
echo "alice looks bob up again $ms_daemon ms after the registry's wgsd restarted"
check_untouched "registry daemon restarted"

lab_head "registry reboot: WireGuard device deleted and re-created"
lab_wg_recreate reg
t0=$(lab_now_ms)
lab_in reg wg show "${LAB_DEV[reg]}" endpoints | sed 's/^/  registry peer /'
sleep 6
check_untouched "registry device re-created"
lab_wait 90 discovery_ok || lab_fail "discovery did not recover within 90 s of the registry's device re-creation"
ms_device=$(($(lab_now_ms) - t0))
echo "alice looks bob up again $ms_device ms after the registry's device was re-created"
check_untouched "registry recovered"
lab_check_registry_path

kill -INT "$pinger"
wait "$pinger" || true
tail -n 2 "$LAB_RUN/ping.out"
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$LAB_RUN/ping.out")
[ -n "$loss" ] || lab_fail "no ping statistics"
awk -v l="$loss" 'BEGIN { exit !(l <= 5) }' || lab_fail "$loss% of the pings alice -> bob were lost during the restarts"

echo "figure: discovery back $ms_daemon ms after daemon restart, $ms_device ms after device re-creation; ping loss $loss%"
echo "ok"
