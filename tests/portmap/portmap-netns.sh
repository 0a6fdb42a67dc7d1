#!/bin/bash
# SPDX-License-Identifier: MIT
# Port mapping against a real router daemon (miniupnpd, nftables) in network
# namespaces; see lib.sh for the topology. One case per invocation:
#
#   pcp | natpmp | upnp | auto
#            the mapping is created with that protocol (auto: PCP, the
#            router's first), shows in miniupnpd's lease file and nftables
#            and in wgsdctl's status and metrics; a WireGuard peer on the
#            public side completes a handshake with wgsd's device through
#            the mapped endpoint; it is renewed past its 6 s lifetime; wgsd's
#            exit deletes it
#   fallback auto against a router with UPnP only: PCP and NAT-PMP fail,
#            each reported, and UPnP maps
#   restart  for PCP, NAT-PMP and UPnP in turn: the router restarts having
#            lost its mappings; the next renewal sees the reset epoch
#            (uptime for UPnP) and the mapping is back on the router
#   changes  a new listen port re-creates a UPnP mapping (the old one
#            deleted first); a reload that restarts a section keeps its
#            mapping, one that removes a section deletes that device's
#            mapping; a new listen port and a new default gateway re-create a
#            PCP mapping; port-mapping = off deletes it
#   bad      a router answering PCP with garbage, NAT-PMP never and UPnP
#            slowly with a description without IGD: each failure is
#            reported and the next protocol tried; the client's cycles and
#            status go on while the UPnP worker waits
set -u
cd "$(dirname "$0")"
. ./lib.sh

CASE=${1:?usage: portmap-netns.sh CASE}
need wireguard-go
need wg
need miniupnpd
need nft
trap cleanup EXIT

declare -A TITLE=([pcp]=PCP [natpmp]=NAT-PMP [upnp]="UPnP IGD")
# What miniupnpd writes as the lease's description for each protocol.
declare -A LEASE_DESC=([pcp]="PCP MAP" [natpmp]="NAT-PMP" [upnp]="wgsd $DEV_H")

# A router with miniupnpd, H's and P's WireGuard devices: base_setup [natpmp=yes|no]
base_setup() {
	setup_net
	start_stun
	miniupnpd_conf "${1:-yes}"
	start_miniupnpd
	setup_wireguard
}

# Map with MODE and expect protocol PROTO; check router, status, a handshake, renewals, deletion.
case_protocol() {
	local mode=$1 proto=$2 ext
	base_setup
	client_conf "$mode" 6s
	start_wgsd
	wait_for 30 pm_eval "pm['state'] == 'mapped'" || fail "$mode: no mapping"
	pm_eval "pm['protocol'] == '$proto' and pm['mode'] == '$mode'" >/dev/null || fail "$mode: mapped with $(pm_get protocol), not $proto"
	pm_eval "pm['gateway'] == '192.168.1.1' and pm['internal'] == '192.168.1.2:51820' and pm['external'].startswith('203.0.113.1:')" \
		>/dev/null || fail "$mode: status shows $(pm_get gateway) $(pm_get internal) $(pm_get external)"
	pm_eval "pm['lifetime_s'] == 6 and 0 < pm['lifetime_left_s'] <= 6 and pm['listen_port'] == 51820" >/dev/null ||
		fail "$mode: lifetime $(pm_get lifetime_s), left $(pm_get lifetime_left_s)"
	ext=$(pm_get external)
	wait_for 5 lease_has 51820 "${LEASE_DESC[$proto]}" || fail "$mode: no lease '${LEASE_DESC[$proto]}' for 192.168.1.2:51820 at the router"
	rule_has 51820 || fail "$mode: no DNAT rule at the router"
	"$WGSDCTL" -s "$T/wgsd.sock" status >"$T/status.txt" || fail "wgsdctl status failed"
	grep -q "port mapping ($mode): ${TITLE[$proto]} at 192.168.1.1[:0-9]*: $ext -> 192.168.1.2:51820, [0-9]s left" "$T/status.txt" ||
		fail "$mode: wgsdctl status: $(grep 'port mapping' "$T/status.txt")"
	"$WGSDCTL" -s "$T/wgsd.sock" metrics >"$T/metrics.txt" || fail "wgsdctl metrics failed"
	grep -q "^wgsd_client_portmap_mapped{device=\"$DEV_H\",protocol=\"$proto\"} 1$" "$T/metrics.txt" ||
		fail "$mode: metrics: $(grep portmap_mapped "$T/metrics.txt")"
	grep -q "^wgsd_client_portmap_mappings_total{device=\"$DEV_H\"} 1$" "$T/metrics.txt" || fail "$mode: mappings_total"

	handshake_through_mapping "$ext"

	# Renewed at half of each 6 s lifetime: still mapped well past the first lifetime.
	wait_for 30 pm_eval "pm['renewals'] >= 3" || fail "$mode: only $(pm_get renewals) renewals"
	pm_eval "pm['state'] in ('mapped', 'renewing') and pm['mappings'] == 1 and pm['external'] == '$ext'" >/dev/null ||
		fail "$mode: the mapping did not stay: $(pm_get state), $(pm_get mappings) mappings"
	lease_has 51820 "${LEASE_DESC[$proto]}" || fail "$mode: lease gone after renewals"
	"$WGSDCTL" -s "$T/wgsd.sock" metrics | grep -q "^wgsd_client_portmap_renewals_total{device=\"$DEV_H\"} [3-9]" ||
		fail "$mode: renewals_total"

	# wgsd stops: the mapping goes from the router.
	stop_wgsd
	grep -q "$DEV_H: port mapping $ext deleted (${TITLE[$proto]})" "$T/wgsd.log" || fail "$mode: no deletion logged"
	wait_for 5 sh -c "! grep -q ':192.168.1.2:51820:' '$T/leases' 2>/dev/null" || fail "$mode: lease still at the router after wgsd stopped"
	rule_has 51820 && fail "$mode: DNAT rule still at the router after wgsd stopped"
	grep -q "warning" "$T/wgsd.log" && fail "$mode: warnings logged"
	echo "ok: $mode mapped with $proto at $ext, renewed, reached from outside, deleted at exit"
}

# auto against a UPnP-only router: PCP and NAT-PMP are refused, UPnP maps.
case_fallback() {
	base_setup no
	client_conf auto 6s
	start_wgsd
	wait_for 30 pm_eval "pm['state'] == 'mapped'" || fail "fallback: no mapping"
	pm_eval "pm['protocol'] == 'upnp'" >/dev/null || fail "fallback: mapped with $(pm_get protocol)"
	pm_eval "'port unreachable' in pm['errors']['pcp'] and 'port unreachable' in pm['errors']['natpmp']" >/dev/null ||
		fail "fallback: errors $(pm_get errors)"
	grep -q "port mapping with PCP failed: nothing answers PCP on the router (port unreachable); trying NAT-PMP" "$T/wgsd.log" ||
		fail "fallback: PCP failure not logged"
	grep -q "port mapping with NAT-PMP failed: .*; trying UPnP IGD" "$T/wgsd.log" || fail "fallback: NAT-PMP failure not logged"
	wait_for 5 lease_has 51820 "wgsd $DEV_H" || fail "fallback: no UPnP lease"
	"$WGSDCTL" -s "$T/wgsd.sock" metrics | grep -q "^wgsd_client_portmap_failures_total{device=\"$DEV_H\",protocol=\"pcp\"} 1$" ||
		fail "fallback: failures_total"
	stop_wgsd
	wait_for 5 sh -c "! grep -q ':192.168.1.2:51820:' '$T/leases' 2>/dev/null" || fail "fallback: lease kept after exit"
	echo "ok: auto fell back to UPnP IGD after PCP and NAT-PMP were refused"
}

# The router restarts without its state: each protocol's next renewal re-creates the mapping.
case_restart() {
	local mode
	base_setup
	for mode in pcp natpmp upnp; do
		: >"$T/wgsd.log"
		client_conf "$mode" 8s
		start_wgsd
		wait_for 30 pm_eval "pm['state'] == 'mapped'" || fail "restart $mode: no mapping"
		wait_for 5 lease_has 51820 "${LEASE_DESC[$mode]}" || fail "restart $mode: no lease"
		# The epoch check (RFC 6887 8.5) allows the clocks 2 s of slack: a restart is
		# visible once the router had been up a few seconds longer than that.
		wait_for 30 pm_eval "pm['renewals'] >= 2" || fail "restart $mode: not renewed"
		stop_miniupnpd
		forget_miniupnpd_state
		start_miniupnpd
		lease_has 51820 && fail "restart $mode: the router kept the lease"
		wait_for 30 pm_eval "pm['epoch_resets'] >= 1" || fail "restart $mode: the router's restart went unnoticed"
		wait_for 10 lease_has 51820 "${LEASE_DESC[$mode]}" || fail "restart $mode: mapping not re-created at the router"
		rule_has 51820 || fail "restart $mode: no DNAT rule after the restart"
		pm_eval "pm['state'] in ('mapped', 'renewing') and pm['mappings'] == 1" >/dev/null ||
			fail "restart $mode: $(pm_get state), $(pm_get mappings) mappings"
		grep -q "the router 192.168.1.1[:0-9]* lost its state (restarted?); port mapping 203.0.113.1:[0-9]* re-created" "$T/wgsd.log" ||
			fail "restart $mode: not logged"
		stop_wgsd
		wait_for 5 sh -c "! grep -q ':192.168.1.2:51820:' '$T/leases' 2>/dev/null" || fail "restart $mode: lease kept after exit"
		echo "ok: $mode mapping re-created after the router restarted"
	done
}

# Reloads, a new listen port and a new default gateway.
case_changes() {
	base_setup
	wg_dev "$NS_H" "$DEV_I" 51822
	client_conf pcp 30s "" "[client $DEV_I]" "registry = 192.0.2.53" "zone = example.com." "interval = 1s" \
		"port-mapping = upnp"
	start_wgsd
	wait_for 30 pm_eval "pm['state'] == 'mapped' and devs['$DEV_I']['port_mapping']['state'] == 'mapped'" ||
		fail "changes: both devices not mapped"
	wait_for 5 lease_has 51820 "PCP MAP" || fail "changes: no lease for $DEV_H"
	wait_for 5 lease_has 51822 "wgsd $DEV_I" || fail "changes: no lease for $DEV_I"

	# A new listen port with UPnP: the worker deletes the old mapping before making the new one.
	in_h wg set "$DEV_I" listen-port 51824
	wait_for 20 pm_eval "devs['$DEV_I']['port_mapping']['state'] == 'mapped' and devs['$DEV_I']['port_mapping']['listen_port'] == 51824" ||
		fail "changes: UPnP not re-created for the new listen port"
	wait_for 5 lease_has 51824 "wgsd $DEV_I" || fail "changes: no UPnP lease for the new port"
	wait_for 5 sh -c "! grep -q ':192.168.1.2:51822:' '$T/leases'" || fail "changes: the old port's UPnP lease was kept"

	# A reload that restarts the first section (another interval) keeps its mapping.
	sed -i 's/^interval = 1s$/interval = 2s/' "$T/wgsd.conf"
	"$WGSDCTL" -s "$T/wgsd.sock" reload | grep -q "^ok" || fail "changes: reload failed"
	grep -q "client $DEV_H: section removed or changed, restarting it" "$T/wgsd.log" || fail "changes: section not restarted"
	pm_eval "pm['state'] == 'mapped' and pm['mappings'] == 1 and dev['interval_ms'] == 2000" >/dev/null ||
		fail "changes: mapping not kept across the section's restart"
	grep -q "$DEV_H: port mapping .* deleted" "$T/wgsd.log" && fail "changes: the restart deleted the mapping"
	lease_has 51820 "PCP MAP" || fail "changes: lease gone after the section's restart"

	# A reload that removes the second section deletes its mapping.
	sed -i "/^\[client $DEV_I\]/,\$d" "$T/wgsd.conf"
	"$WGSDCTL" -s "$T/wgsd.sock" reload | grep -q "^ok" || fail "changes: reload failed"
	wait_for 5 sh -c "! grep -q ':192.168.1.2:51824:' '$T/leases'" || fail "changes: removed section's lease kept"
	grep -q "$DEV_I: port mapping 203.0.113.1:51824 deleted (UPnP IGD)" "$T/wgsd.log" || fail "changes: deletion not logged"
	lease_has 51820 "PCP MAP" || fail "changes: the other device's lease went too"

	# A new listen port: the old mapping goes, one for the new port comes.
	in_h wg set "$DEV_H" listen-port 51823
	wait_for 15 pm_eval "pm['listen_port'] == 51823 and pm['state'] == 'mapped' and pm['internal'] == '192.168.1.2:51823'" ||
		fail "changes: not re-created for the new listen port"
	wait_for 5 lease_has 51823 "PCP MAP" || fail "changes: no lease for the new port"
	lease_has 51820 && fail "changes: the old port's lease was kept"
	grep -q "listen port changed from 51820 to 51823: re-creating the port mapping" "$T/wgsd.log" || fail "changes: not logged"

	# A new default gateway (the router's other address): re-created there.
	in_h ip route replace default via 192.168.1.254
	wait_for 15 pm_eval "pm['gateway'] == '192.168.1.254' and pm['state'] == 'mapped' and pm['server'] == '192.168.1.254'" ||
		fail "changes: not re-created at the new gateway: $(pm_get gateway) $(pm_get state)"
	grep -q "the default gateway is now 192.168.1.254: re-creating the port mapping" "$T/wgsd.log" || fail "changes: not logged"
	pm_eval "pm['mappings'] == 3" >/dev/null || fail "changes: $(pm_get mappings) mappings, expected 3"
	lease_has 51823 "PCP MAP" || fail "changes: no lease after the gateway change"

	# port-mapping = off deletes it.
	sed -i 's/^port-mapping = pcp$/port-mapping = off/' "$T/wgsd.conf"
	"$WGSDCTL" -s "$T/wgsd.sock" reload | grep -q "^ok" || fail "changes: reload failed"
	wait_for 5 sh -c "! grep -q ':192.168.1.2:5182[0-9]:' '$T/leases'" || fail "changes: lease kept with port-mapping = off"
	pm_eval "pm == {'mode': 'off'}" >/dev/null || fail "changes: status $(pm_get mode)"
	echo "ok: kept across a section restart, deleted with its section, re-created for a new port and gateway, off deletes"
}

# A router answering garbage (PCP), nothing (NAT-PMP) and slowly without an IGD (UPnP).
case_bad() {
	local c1
	setup_net
	start_bad_router 4
	setup_wireguard
	client_conf auto 6s
	start_wgsd
	wait_for 30 pm_eval "pm['state'] == 'probing' and pm['protocol'] == 'upnp'" || fail "bad: never got to UPnP"
	# The worker waits for discovery and the slow description; the loop does not.
	c1=$(pm_eval "dev['cycles']")
	wait_for 20 pm_eval "pm['state'] == 'probing' and pm['protocol'] == 'upnp' and dev['cycles'] > $c1" ||
		fail "bad: no client cycle completed while the UPnP worker was busy"
	wait_for 30 pm_eval "pm['state'] == 'failed'" || fail "bad: not failed"
	pm_eval "'unusable answers' in pm['errors']['pcp'] and pm['errors']['natpmp'] == 'no answer from the router' and 'no UPnP Internet Gateway Device' in pm['errors']['upnp']" \
		>/dev/null || fail "bad: errors $(pm_get errors)"
	pm_eval "pm['failures'] == 3 and pm['mappings'] == 0 and pm['external'] is None" >/dev/null || fail "bad: counters"
	grep -q "warning: $DEV_H: no port mapping: PCP: [0-9]* unusable answers, none to our request; NAT-PMP: no answer from the router; UPnP IGD: no UPnP Internet Gateway Device found" \
		"$T/wgsd.log" || fail "bad: round failure not logged"
	for r in pcp natpmp ssdp http; do
		grep -qx "$r" "$T/bad.requests" || fail "bad: the router saw no $r request"
	done
	"$WGSDCTL" -s "$T/wgsd.sock" status | grep -q "port mapping (auto): FAILED at 192.168.1.1, next try in" ||
		fail "bad: wgsdctl status"
	for p in pcp natpmp upnp; do
		"$WGSDCTL" -s "$T/wgsd.sock" metrics | grep -q "^wgsd_client_portmap_failures_total{device=\"$DEV_H\",protocol=\"$p\"} 1$" ||
			fail "bad: failures_total $p"
	done
	stop_wgsd
	echo "ok: garbage, silence and a slow non-IGD each reported; the loop kept working"
}

case "$CASE" in
pcp | natpmp | upnp) case_protocol "$CASE" "$CASE" ;;
auto) case_protocol auto pcp ;;
fallback) case_fallback ;;
restart) case_restart ;;
changes) case_changes ;;
bad) case_bad ;;
*) echo "unknown case $CASE" >&2; exit 2 ;;
esac
