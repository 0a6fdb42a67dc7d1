# SPDX-License-Identifier: MIT
# Connectivity matrix library (issue 14), sourced by matrix.sh after lib.sh.
#
# lib.sh builds one topology (two home NATs on a public segment). The matrix
# needs more shapes, built here from the same pieces (lab_netns, lab_batch,
# lab_public_port; WireGuard, wgsd and status helpers come from lib.sh
# unchanged):
#
#   pub   bridge br0, 203.0.113.0/24 + 2001:db8::/64; 203.0.113.2 is a STUN
#         responder in the port-mapping rows
#   reg   registry 203.0.113.4, WireGuard 10.0.0.254 (as in lib.sh)
#   cgn   carrier-grade NAT: public 203.0.113.30, inside 100.64.0.1/24
#   nata  home router A: WAN 203.0.113.10 (or 100.64.0.10 behind the CGN),
#         LAN bridge 192.168.1.1/24 (+ 2001:db8:0:a::1/64 in the dual-stack row)
#   natb  home router B: WAN 203.0.113.20 (or 100.64.0.20), LAN 192.168.2.1/24
#         (192.168.1.1/24 when both homes use the same subnet)
#   alice 192.168.1.2 behind nata; bob 192.168.2.2 behind natb, or
#         192.168.1.3 (behind nata itself, or in the other home's 192.168.1.0/24)
#
# Every router's LAN is a bridge called "lan" (a home router's built-in
# switch) and its uplink is called "wan". Rule sets: mx_nat_rules; the meter
# on the registry host: mx_meter; measurements: mx_first_replies, mx_exchange.

LAB_NS[cgn]=wgsdlab-$LAB_ID-cgn
LAB_PUB4[cgn]=203.0.113.30
LAB_PUB6[cgn]=2001:db8::30
MX_STUN4=203.0.113.2
MX_STUN_PORT=3478
# UDP port ranges each NAT maps to (public port != 51820, and a reader of
# conntrack or wg show can tell which NAT chose a port). Wide, because a
# symmetric NAT that picks, by chance, the port it already uses towards the
# registry behaves like a cone for that pair: with 10,000 ports a row with a
# symmetric NAT turns "direct" by luck once in 10,000 runs.
declare -A MX_PORTS=([nata]=30000-39999 [natb]=40000-49999 [cgn]=20000-29999)
declare -A MX_WAN4 MX_LANNET MX_GW4 MX_GW6
MX_V6=${MX_V6:-0}
# Exchange that decides the path: pings alice -> bob of this many bytes.
MX_PINGS=100
MX_PING_SIZE=1000

# Router and bridge sysctls of node $1 (see LAB.md "Harder NATs"): forward,
# send no ICMP redirects (a hairpinned packet leaves by the interface it came
# in), and keep bridged frames out of this namespace's netfilter hooks (the
# host has br_netfilter loaded: a LAN switch would otherwise pass the
# router's forward chain and its "policy drop").
mx_sysctls()
{
	local node=$1 k args=()

	args=(net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0)
	for k in iptables ip6tables arptables; do
		[ -e "/proc/sys/net/bridge/bridge-nf-call-$k" ] && args+=("net.bridge.bridge-nf-call-$k=0")
	done
	lab_in "$node" sysctl -qw "${args[@]}" >/dev/null || lab_fail "router sysctls on $node"
}

# The public segment and the registry host (namespaces only; queued ip commands).
mx_public()
{
	lab_netns pub
	lab_netns reg
	lab_batch pub link add br0 type bridge
	lab_batch pub link set br0 up
	lab_batch pub addr add "$MX_STUN4/24" dev br0
	lab_public_port reg eth0
}

# Router $1 with LAN $2 (x.y.z, the /24 it serves as x.y.z.1) behind
# upstream $3: "pub" (WAN address LAB_PUB4[$1], public) or "cgn" (WAN
# address $4 inside 100.64.0.0/24, default route to the CGN).
mx_router()
{
	local node=$1 lan=$2 up=$3 wan4=${4:-}

	lab_netns "$node"
	mx_sysctls "$node"
	lab_batch "$node" link add lan type bridge
	lab_batch "$node" link set lan up
	lab_batch "$node" addr add "$lan.1/24" dev lan
	MX_LANNET[$node]=$lan.0/24
	MX_GW4[$node]=$lan.1
	if [ "$MX_V6" = 1 ]; then
		case $node in
		nata) MX_GW6[$node]=2001:db8:0:a::1 ;;
		natb) MX_GW6[$node]=2001:db8:0:b::1 ;;
		esac
		lab_batch "$node" addr add "${MX_GW6[$node]}/64" dev lan nodad
	fi
	if [ "$up" = pub ]; then
		lab_public_port "$node" wan
		MX_WAN4[$node]=${LAB_PUB4[$node]}
	else
		lab_batch cgn link add "$node" type veth peer name wan netns "${LAB_NS[$node]}"
		lab_batch cgn link set "$node" master lan
		lab_batch cgn link set "$node" up
		lab_batch "$node" link set wan up
		lab_batch "$node" addr add "$wan4/24" dev wan
		lab_batch "$node" route add default via 100.64.0.1
		MX_WAN4[$node]=$wan4
	fi
}

# Carrier-grade NAT: public 203.0.113.30, inside 100.64.0.1/24 (RFC 6598
# shared address space) on its bridge "lan", where home routers plug in.
mx_cgn()
{
	lab_netns cgn
	mx_sysctls cgn
	lab_batch cgn link add lan type bridge
	lab_batch cgn link set lan up
	lab_batch cgn addr add 100.64.0.1/24 dev lan
	MX_LANNET[cgn]=100.64.0.0/24
	lab_public_port cgn wan
	MX_WAN4[cgn]=${LAB_PUB4[cgn]}
}

# Host $1 at address $2 on router $3's LAN.
mx_host()
{
	local node=$1 addr=$2 router=$3 v6

	lab_netns "$node"
	lab_batch "$router" link add "$node" type veth peer name eth0 netns "${LAB_NS[$node]}"
	lab_batch "$router" link set "$node" master lan
	lab_batch "$router" link set "$node" up
	lab_batch "$node" link set eth0 up
	lab_batch "$node" addr add "$addr/24" dev eth0
	lab_batch "$node" route add default via "${MX_GW4[$router]}"
	LAB_LAN4[$node]=$addr
	LAB_NAT[$node]=$router
	if [ "$MX_V6" = 1 ]; then
		v6=${MX_GW6[$router]%::1}::${addr##*.}
		lab_batch "$node" addr add "$v6/64" dev eth0 nodad
		lab_batch "$node" route add default via "${MX_GW6[$router]}"
		LAB_LAN6[$node]=$v6
	fi
}

# Run the queued ip commands in creation order (a veth is created from the
# namespace that holds its bridge end, into the other one).
mx_links()
{
	local node

	for node in pub cgn nata natb reg alice bob; do
		case " $LAB_CREATED " in *" $node "*) lab_batch_run "$node" ;; esac
	done
}

# NAT rule set of router $1. Mapping $2: "cone" or "symmetric"; $3: "hairpin"
# or "no-hairpin"; $4: optional port-mapping protocol the router speaks
# ("pcp", "natpmp", "upnp"; miniupnpd's own chains, see mx_miniupnpd).
mx_nat_rules()
{
	local node=$1 mapping=$2 hairpin=$3 portmap=${4:-} lan=${MX_LANNET[$1]} wan=${MX_WAN4[$1]}
	local random="" pmp=""

	case "$mapping" in
	cone) ;;
	symmetric) random=" random" ;;
	*) lab_fail "mx_nat_rules: unknown mapping $mapping" ;;
	esac
	case "$portmap" in
	"") ;;
	# miniupnpd answers both on 5351 when NAT-PMP is enabled: a router that
	# speaks only one of them is modelled by dropping the other's requests
	# (first payload byte: version 0 = NAT-PMP, 2 = PCP).
	pcp) pmp='iifname "lan" udp dport 5351 @th,64,8 != 2 drop' ;;
	natpmp) pmp='iifname "lan" udp dport 5351 @th,64,8 != 0 drop' ;;
	upnp) ;;
	*) lab_fail "mx_nat_rules: unknown port-mapping protocol $portmap" ;;
	esac
	lab_in "$node" nft -f - <<EOF || lab_fail "nft ruleset on $node"
# Mapping (RFC 4787 section 4.1). "cone": endpoint-independent mapping
# (REQ-1): the kernel keeps an existing mapping of a LAN socket for every new
# destination while a conntrack entry of that socket exists; ports come from
# a range of this NAT's own (port assignment, section 4.2: no port
# preservation). "symmetric": "random" gives every new destination a fresh
# random port: address-and-port-dependent mapping. Only LAN sources are
# translated: the router's own traffic (miniupnpd's STUN probes) is not.
table ip wgsdlab_nat
delete table ip wgsdlab_nat
table ip wgsdlab_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr $lan meta l4proto udp masquerade to :${MX_PORTS[$node]}$random
		oifname "wan" ip saddr $lan masquerade
	}
}
# Filtering (RFC 4787 section 5): conntrack lets in only replies from the
# exact address and port a mapping was sent to: address-and-port-dependent
# filtering. Everything unsolicited is dropped, in forward and on the router
# itself (an early punch packet must not create a conntrack entry on the
# router that blocks the mapping the other side needs; see LAB.md). IPv6 is
# routed, not translated, behind the same stateful filter (RFC 6092).
table inet wgsdlab_fw
delete table inet wgsdlab_fw
table inet wgsdlab_fw {
	# LAN to LAN through the router: hairpinned (bridged LAN traffic does
	# not pass here, see mx_sysctls)
	counter hairpin { }
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "lan" oifname "lan" counter name hairpin
		ct state established,related accept
		iifname "lan" oifname "wan" accept
		# the first packet of a hairpinned flow (mx_hairpin) or of one to a
		# port mapping (miniupnpd's DNAT)
		ct status dnat accept
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state new drop
		$pmp
	}
}
EOF
	[ "$hairpin" = hairpin ] && mx_hairpin "$node" "$wan" "$lan"
	return 0
}

# Hairpinning (RFC 4787 REQ-9) on router $1 with WAN address $2 and LAN $3:
# a LAN host's packet to the router's own public address and another LAN
# host's mapped port is sent back into the LAN, to that host, with the
# sender's own public mapping as its source (so it looks like it came from
# the internet, and the answer takes the same way back). The router learns
# its mappings from its own source-NAT results as packets leave the WAN.
mx_hairpin()
{
	local node=$1 wan=$2 lan=$3

	lab_in "$node" nft -f - <<EOF || lab_fail "nft hairpin rules on $node"
table ip wgsdlab_hairpin {
	# public port -> LAN address . port, and back
	map pub2lan {
		typeof udp dport : ip daddr . udp dport
		flags dynamic, timeout
		timeout 180s
	}
	map lan2pub {
		typeof ip saddr . udp sport : ip saddr . udp sport
		flags dynamic, timeout
		timeout 180s
	}
	# after masquerade (srcnat + 10): record each UDP mapping it made
	chain learn {
		type filter hook postrouting priority srcnat + 10; policy accept;
		oifname "wan" meta l4proto udp ct status snat update @pub2lan { ct reply proto-dst : ct original ip saddr . ct original proto-src }
		oifname "wan" meta l4proto udp ct status snat update @lan2pub { ct original ip saddr . ct original proto-src : ct reply ip daddr . ct reply proto-dst }
	}
	# a LAN packet to our public address and a mapped port: to that LAN host
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "lan" ip saddr $lan ip daddr $wan meta l4proto udp dnat ip to udp dport map @pub2lan
	}
	# ... from the sender's own public mapping
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "lan" oifname "lan" ct status dnat meta l4proto udp snat ip to ip saddr . udp sport map @lan2pub
	}
}
EOF
}

# Meter on the registry host: UDP that reaches it on any port but its
# WireGuard port, or that it forwards, is what a relay there would carry.
# Its WireGuard traffic is counted by WireGuard itself (lab_transfer).
mx_meter()
{
	lab_in reg nft -f - <<EOF || lab_fail "nft meter on the registry"
table inet wgsdlab_meter {
	counter relay { }
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "eth0" meta l4proto udp udp dport != $LAB_PORT counter name relay
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "eth0" counter name relay
	}
}
EOF
}

# Print field $5 (bytes, the default, or packets) of named counter $4 in
# node $1's table $2 $3 (0 when there is no such counter).
mx_counter()
{
	lab_in "$1" nft list counter "$2" "$3" "$4" 2>/dev/null |
		awk -v f="${5:-bytes}" '{ for (i = 1; i < NF; i++) if ($i == f && !found) { print $(i + 1); found = 1 } }
			END { if (!found) print 0 }'
}

# Check that alice and bob reach the registry's public address (no WireGuard yet).
mx_reach()
{
	local node

	for node in alice bob; do
		lab_wait 5 lab_ping1 "$node" "${LAB_PUB4[reg]}" ||
			lab_fail "$node cannot reach the registry's public address"
	done
}

# STUN responder on the public segment (for miniupnpd's external address).
mx_stun()
{
	lab_bg pub "$LAB_RUN/stun.log" "$LAB_PYTHON" "$LAB_SRCDIR/tests/lab/stun-responder.py" "$MX_STUN4" "$MX_STUN_PORT"
	LAB_BG="$LAB_BG $LAB_BGPID"
	# True when the responder has bound its socket.
	mx_stun_ready() { grep -q '^ready' "$LAB_RUN/stun.log"; }
	lab_wait 10 mx_stun_ready || lab_fail "the STUN responder did not start"
}

# miniupnpd on router $1 for its LAN host $2, speaking protocol $3 (pcp,
# natpmp: both are enabled in miniupnpd, mx_nat_rules drops the other; upnp).
# Its nftables chains (it creates none itself, see LAB.md) live in their own
# table; it adds DNAT and accept rules there for each mapping. It learns its
# external address from the STUN responder (203.0.113.0/24 is reserved, and
# it refuses to map behind a "non-public" address it only reads from wan);
# for the same reason its UPnP IGD says "not connected", and a UPnP client
# must accept a reserved external address (upnpc -i).
mx_miniupnpd()
{
	local node=$1 host=$2 proto=$3 conf=$LAB_RUN/miniupnpd-$1.conf upnp=no pmp=no

	case "$proto" in
	pcp | natpmp) pmp=yes ;;
	upnp) upnp=yes ;;
	*) lab_fail "mx_miniupnpd: unknown protocol $proto" ;;
	esac
	lab_in "$node" nft -f - <<EOF || lab_fail "nft miniupnpd table on $node"
table inet wgsdlab_upnp {
	chain forward {
		type filter hook forward priority filter; policy accept;
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump postrouting_miniupnpd
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
EOF
	cat >"$conf" <<EOF
ext_ifname=wan
listening_ip=lan
port=0
enable_upnp=$upnp
enable_natpmp=$pmp
secure_mode=yes
system_uptime=yes
lease_file=$LAB_RUN/miniupnpd-$node.leases
uuid=$(cat /proc/sys/kernel/random/uuid)
ext_perform_stun=yes
ext_stun_host=$MX_STUN4
ext_stun_port=$MX_STUN_PORT
upnp_table_name=wgsdlab_upnp
upnp_nat_table_name=wgsdlab_upnp
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 ${MX_LANNET[$node]} 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
	lab_bg "$node" "$LAB_RUN/miniupnpd-$node.log" miniupnpd -d -f "$conf" -P "$LAB_RUN/miniupnpd-$node.pid"
	LAB_BG="$LAB_BG $LAB_BGPID"
	MX_UPNPD[$node]=$LAB_BGPID
	# The router answers a mapping request for a test port (not WireGuard's,
	# so the probe does not change the row) with the offered protocol, and
	# nothing with the other one.
	mx_portmap_ok()
	{
		kill -0 "${MX_UPNPD[$node]}" 2>/dev/null || lab_fail "miniupnpd on $node exited (miniupnpd-$node.log)"
		case "$proto" in
		pcp | natpmp)
			lab_in "$host" "$LAB_PYTHON" "$LAB_SRCDIR/tests/lab/portmap-probe.py" \
				"$proto" "${MX_GW4[$node]}" "${LAB_LAN4[$host]}" 5001 >>"$LAB_RUN/portmap-$node.log" 2>&1
			;;
		upnp)
			lab_in "$host" upnpc -i -a "${LAB_LAN4[$host]}" 5001 5001 UDP 60 >>"$LAB_RUN/portmap-$node.log" 2>&1 &&
				grep -q 'is redirected to internal' "$LAB_RUN/portmap-$node.log" &&
				lab_in "$host" upnpc -i -d 5001 UDP >>"$LAB_RUN/portmap-$node.log" 2>&1
			;;
		esac
	}
	lab_wait 20 mx_portmap_ok || lab_fail "miniupnpd on $node does not map a port with $proto: $(tail -n 5 "$LAB_RUN/portmap-$node.log")"
	case "$proto" in
	pcp) lab_in "$host" "$LAB_PYTHON" "$LAB_SRCDIR/tests/lab/portmap-probe.py" silent-natpmp \
		"${MX_GW4[$node]}" "${LAB_LAN4[$host]}" 5001 >>"$LAB_RUN/portmap-$node.log" 2>&1 ||
		lab_fail "the PCP-only router $node answers NAT-PMP" ;;
	natpmp) lab_in "$host" "$LAB_PYTHON" "$LAB_SRCDIR/tests/lab/portmap-probe.py" silent-pcp \
		"${MX_GW4[$node]}" "${LAB_LAN4[$host]}" 5001 >>"$LAB_RUN/portmap-$node.log" 2>&1 ||
		lab_fail "the NAT-PMP-only router $node answers PCP" ;;
	esac
	sed 's/^/  /' "$LAB_RUN/portmap-$node.log"
	lab_log "miniupnpd on $node maps ports with $proto"
}
declare -A MX_UPNPD

# Start pings alice -> bob and bob -> alice when the daemons start; wait until
# each got its first reply or $1 seconds passed. MX_T_AB / MX_T_BA: the
# milliseconds from the daemons' start, or "-" for no reply.
mx_first_replies()
{
	local limit=$1 pa pb now

	lab_bg alice /dev/null ping -n -q -c 1 -i 0.2 -w "$limit" "${LAB_TUN[bob]}"
	pa=$LAB_BGPID
	lab_bg bob /dev/null ping -n -q -c 1 -i 0.2 -w "$limit" "${LAB_TUN[alice]}"
	pb=$LAB_BGPID
	LAB_BG="$LAB_BG $pa $pb"
	MX_T_AB="" MX_T_BA=""
	while [ -z "$MX_T_AB" ] || [ -z "$MX_T_BA" ]; do
		now=$(($(lab_now_ms) - LAB_START_MS))
		if [ -z "$MX_T_AB" ] && ! lab_running "$pa"; then
			wait "$pa" && MX_T_AB=$now || MX_T_AB=-
		fi
		if [ -z "$MX_T_BA" ] && ! lab_running "$pb"; then
			wait "$pb" && MX_T_BA=$now || MX_T_BA=-
		fi
		sleep 0.05
	done
	lab_log "first reply alice -> bob: $MX_T_AB ms, bob -> alice: $MX_T_BA ms after the daemons started"
}

# The fixed exchange that decides the path: MX_PINGS pings of MX_PING_SIZE
# bytes alice -> bob, with every counter that could carry them read before
# and after. Sets MX_REPLIES, MX_REG_BYTES (registry's WireGuard counters for
# alice and bob), MX_RELAY_BYTES (mx_meter), MX_BOB_RX (bob's WireGuard
# counter for alice), MX_HAIRPIN (packets hairpinned by any router), MX_PATH
# and MX_VIA.
mx_exchange()
{
	local a0 b0 r0 h0 x0 out rx tx volume ra rb n

	read -r rx tx <<<"$(lab_transfer reg alice)"
	a0=$((rx + tx))
	read -r rx tx <<<"$(lab_transfer reg bob)"
	b0=$((rx + tx))
	read -r x0 tx <<<"$(lab_transfer bob alice)"
	r0=$(mx_counter reg inet wgsdlab_meter relay)
	h0=$(mx_hairpins)
	out=$(lab_in alice ping -n -q -c "$MX_PINGS" -i 0.01 -s "$MX_PING_SIZE" -W 2 "${LAB_TUN[bob]}" 2>&1 || true)
	MX_REPLIES=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	MX_REPLIES=${MX_REPLIES:-0}
	read -r rx tx <<<"$(lab_transfer reg alice)"
	ra=$((rx + tx - a0))
	read -r rx tx <<<"$(lab_transfer reg bob)"
	rb=$((rx + tx - b0))
	MX_REG_BYTES=$((ra + rb))
	read -r rx tx <<<"$(lab_transfer bob alice)"
	MX_BOB_RX=$((rx - x0))
	MX_RELAY_BYTES=$(($(mx_counter reg inet wgsdlab_meter relay) - r0))
	MX_HAIRPIN=$(($(mx_hairpins) - h0))
	volume=$((MX_PINGS * MX_PING_SIZE))
	# direct: (nearly) every ping answered, bob's device received the volume
	# from alice's key, and neither the registry's tunnel nor anything else
	# on the registry host carried it. relayed: the volume crossed the
	# registry host outside its WireGuard port. Anything else is reported as
	# it is and fails the row.
	MX_ENDPOINTS="alice->bob $(lab_endpoint alice bob), bob->alice $(lab_endpoint bob alice)"
	if [ "$MX_REPLIES" -lt $((MX_PINGS * 9 / 10)) ]; then
		MX_PATH=none
	elif [ "$MX_RELAY_BYTES" -ge "$volume" ] && [ "$MX_REG_BYTES" -lt $((volume / 10)) ]; then
		MX_PATH=relayed
	elif [ "$MX_BOB_RX" -ge "$volume" ] && [ "$MX_REG_BYTES" -lt $((volume / 10)) ] &&
		[ "$MX_RELAY_BYTES" -lt $((volume / 10)) ]; then
		MX_PATH=direct
	else
		MX_PATH=unexplained
	fi
	MX_VIA=$(mx_via)
	n=$(echo "$out" | grep transmitted || echo "no ping statistics")
	lab_log "exchange: $n"
	lab_log "path $MX_PATH ($MX_VIA): bob got $MX_BOB_RX B from alice, registry tunnel $MX_REG_BYTES B, relay $MX_RELAY_BYTES B, hairpinned $MX_HAIRPIN packets; $MX_ENDPOINTS"
	# What the registry sees: against the endpoints above, it tells whether a
	# symmetric NAT happened to give both destinations the same port.
	lab_log "registry sees alice at $(lab_endpoint reg alice), bob at $(lab_endpoint reg bob)"
}

# Packets hairpinned by the routers in this topology (sum of their counters).
mx_hairpins()
{
	local node sum=0

	for node in nata natb cgn; do
		case " $LAB_CREATED " in *" $node "*) ;; *) continue ;; esac
		sum=$((sum + $(mx_counter "$node" inet wgsdlab_fw hairpin packets)))
	done
	echo "$sum"
}

# Fail when a process the row depends on has died (a crashed wgsd must not
# pass for a row that finds no path).
mx_alive()
{
	local node

	for node in "${!LAB_PID[@]}"; do
		kill -0 "${LAB_PID[$node]}" 2>/dev/null || lab_fail "wgsd on $node exited during the row (wgsd-$node.log)"
	done
	for node in "${!LAB_WGPID[@]}"; do
		kill -0 "${LAB_WGPID[$node]}" 2>/dev/null || lab_fail "wireguard-go on $node exited during the row"
	done
	for node in "${!MX_UPNPD[@]}"; do
		kill -0 "${MX_UPNPD[$node]}" 2>/dev/null || lab_fail "miniupnpd on $node exited during the row"
	done
}

# Which way bob's endpoint for alice points: a short label for the table.
mx_via()
{
	local ep

	case "$MX_PATH" in
	none) echo "-"; return ;;
	relayed) echo "relay"; return ;;
	esac
	ep=$(lab_endpoint bob alice)
	case "$ep" in
	\[*) echo "IPv6" ;;
	192.168.*) echo "LAN" ;;
	100.6[4-9].* | 100.[7-9][0-9].* | 100.1[01][0-9].* | 100.12[0-7].*) echo "CGN inside" ;;
	*)
		if [ "$MX_HAIRPIN" -gt 0 ]; then
			echo "public IPv4, hairpinned"
		else
			echo "public IPv4"
		fi
		;;
	esac
}

# wgsd's own diagnosis of bob, as alice's `wgsdctl status` shows it: class,
# last result, NAT note, and the registry's reachability when it is not.
mx_diagnosis()
{
	lab_status alice "(lambda d, p: ', '.join(x for x in [
	str(p.get('class', '?')),
	'last result ' + str(p.get('result', '-')),
	'NAT ' + str(p.get('nat', '?')),
	'' if all(r.get('reachable', True) for r in d.get('registries', [])) else 'registry unreachable',
	] if x))(s['client']['devices'][0], next(q for q in s['client']['devices'][0]['peers'] if q['public_key'] == '${LAB_KEY[bob]}'))" 2>/dev/null ||
		echo "(no status)"
}
