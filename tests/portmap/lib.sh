# SPDX-License-Identifier: MIT
# Helpers for the port-mapping tests: a home router namespace running
# miniupnpd (nftables) in front of a LAN host with wgsd's client, and a
# "public" host with a STUN responder and a WireGuard peer.
# Sourced by portmap-netns.sh; expects WGSD, WGSDCTL, WGSD_SRCDIR.
#
#   H (LAN host)  eth0 192.168.1.2/24, default via 192.168.1.1
#                 WireGuard wgph$SUF :51820 (10.77.0.1), wgpi$SUF :51822
#   G (router)    lan 192.168.1.1/24 (+ 192.168.1.254), wan 203.0.113.1/24
#                 masquerade of the LAN with random ports (a symmetric NAT:
#                 without a mapping nothing from outside gets in), forward
#                 drop but established, LAN-originated and DNATed traffic,
#                 miniupnpd's own chains in table inet filter
#   P (public)    eth0 203.0.113.2/24: STUN on :3478 (miniupnpd refuses to
#                 map while it believes its documentation-range WAN address
#                 is not public), WireGuard wgpp$SUF :51821 (10.77.0.2)

SUF=$$
NS_G="wgsdpm-$SUF-g"
NS_H="wgsdpm-$SUF-h"
NS_P="wgsdpm-$SUF-p"
DEV_H="wgph$SUF"
DEV_I="wgpi$SUF"
DEV_P="wgpp$SUF"
LAN_G=lan$SUF
WAN_G=wan$SUF
T=$(mktemp -d /tmp/wgsd-portmap-test.XXXXXX)
PIDS=()
PY=$(command -v /usr/bin/python3 || command -v python3)
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# Fail with a message and the logs.
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log "$T"/leases; do
		[ -f "$f" ] || continue
		echo "----- $f (last 40 lines)" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

# Skip (77) only outside CI when a prerequisite is missing.
need() {
	if ! command -v "$1" >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "FAIL: prerequisite $1 (or root) missing in CI" >&2
			exit 1
		fi
		echo "SKIP: needs root and $1" >&2
		exit 77
	fi
}

# Stop what we started and remove the namespaces.
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS_H" 2>/dev/null || true
	ip netns del "$NS_G" 2>/dev/null || true
	ip netns del "$NS_P" 2>/dev/null || true
	rm -f "/var/run/wireguard/$DEV_H.sock" "/var/run/wireguard/$DEV_I.sock" "/var/run/wireguard/$DEV_P.sock"
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}

# Run a command in a namespace (background processes use ip netns exec directly,
# so that $! is the process itself and not a subshell running the function).
in_g() { ip netns exec "$NS_G" "$@"; }
in_h() { ip netns exec "$NS_H" "$@"; }
in_p() { ip netns exec "$NS_P" "$@"; }

# Wait until a command succeeds: wait_for SECONDS CMD...
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# The three namespaces, addresses, routes and the router's nftables.
setup_net() {
	ip netns add "$NS_G"
	ip netns add "$NS_H"
	ip netns add "$NS_P"
	ip link add "$LAN_G" netns "$NS_G" type veth peer name eth0 netns "$NS_H"
	ip link add "$WAN_G" netns "$NS_G" type veth peer name eth0 netns "$NS_P"
	in_g ip link set lo up
	in_h ip link set lo up
	in_p ip link set lo up
	in_g ip addr add 192.168.1.1/24 dev "$LAN_G"
	in_g ip addr add 192.168.1.254/24 dev "$LAN_G"
	in_g ip addr add 203.0.113.1/24 dev "$WAN_G"
	in_g ip link set "$LAN_G" up
	in_g ip link set "$WAN_G" up
	in_h ip addr add 192.168.1.2/24 dev eth0
	in_h ip link set eth0 up
	in_h ip route add default via 192.168.1.1
	in_p ip addr add 203.0.113.2/24 dev eth0
	in_p ip link set eth0 up
	in_g sysctl -qw net.ipv4.ip_forward=1
	in_g sysctl -qw "net.ipv4.conf.$LAN_G.send_redirects=0" net.ipv4.conf.all.send_redirects=0
	# miniupnpd adds its rules to table inet filter's chains miniupnpd,
	# prerouting_miniupnpd and postrouting_miniupnpd, and creates none of them.
	in_g nft -f - <<EOF || fail "router nftables did not load"
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$WAN_G" ip saddr 192.168.1.0/24 masquerade random
	}
}
table inet home {
	chain forward_home {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "$LAN_G" accept
		ct status dnat accept
	}
	chain input_home {
		type filter hook input priority 0; policy accept;
		iifname "$WAN_G" ct state new drop
	}
}
table inet filter {
	chain miniupnpd {
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		jump miniupnpd
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump postrouting_miniupnpd
	}
}
EOF
}

# The STUN responder on P.
start_stun() {
	rm -f "$T/stun.ready"
	ip netns exec "$NS_P" "$PY" "$WGSD_SRCDIR/tests/portmap/stun.py" --listen 203.0.113.2 --ready "$T/stun.ready" >"$T/stun.log" 2>&1 &
	PIDS+=($!)
	wait_for 10 test -f "$T/stun.ready" || fail "STUN responder did not start"
}

# Write miniupnpd's configuration: miniupnpd_conf [natpmp=yes|no]. It serves both LAN
# addresses; SSDP announces the last one listed, the default gateway.
miniupnpd_conf() {
	cat >"$T/miniupnpd.conf" <<EOF
ext_ifname=$WAN_G
listening_ip=192.168.1.254/24
listening_ip=192.168.1.1/24
enable_natpmp=${1:-yes}
enable_upnp=yes
secure_mode=yes
ext_perform_stun=yes
ext_stun_host=203.0.113.2
ext_stun_port=3478
lease_file=$T/leases
uuid=3b0d6c7e-1111-4222-8333-$(printf '%012d' "$SUF")
min_lifetime=2
max_lifetime=86400
allow 1024-65535 192.168.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
}

# Start miniupnpd on G and wait until it serves PCP/NAT-PMP (or UPnP only). Its own pid
# file (the default /var/run/miniupnpd.pid would stop a second router elsewhere).
start_miniupnpd() {
	: >>"$T/miniupnpd.log"
	local mark
	mark=$(wc -l <"$T/miniupnpd.log")
	ip netns exec "$NS_G" miniupnpd -d -f "$T/miniupnpd.conf" -P "$T/miniupnpd.pid" >>"$T/miniupnpd.log" 2>&1 &
	PIDS+=($!)
	PID_miniupnpd=$!
	wait_for 20 sh -c "tail -n +$((mark + 1)) '$T/miniupnpd.log' | grep -q 'HTTP listening on port'" ||
		fail "miniupnpd did not start"
	wait_for 5 sh -c "tail -n +$((mark + 1)) '$T/miniupnpd.log' | grep -q 'Port forwarding is now enabled'" ||
		fail "miniupnpd does not forward ports (STUN?)"
}

# Stop miniupnpd (SIGTERM: it removes its rules and keeps the lease file).
stop_miniupnpd() {
	kill "$PID_miniupnpd" 2>/dev/null || true
	wait "$PID_miniupnpd" 2>/dev/null || true
}

# A router that lost everything: its lease file and rules.
forget_miniupnpd_state() {
	local c
	rm -f "$T/leases"
	for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
		in_g nft flush chain inet filter "$c"
	done
}

# Start the badly answering router of bad-router.py on G.
start_bad_router() {
	rm -f "$T/bad.ready"
	ip netns exec "$NS_G" "$PY" "$WGSD_SRCDIR/tests/portmap/bad-router.py" --addr 192.168.1.1 --slow "${1:-3}" \
		--log "$T/bad.requests" --ready "$T/bad.ready" >"$T/bad-router.log" 2>&1 &
	PIDS+=($!)
	wait_for 10 test -f "$T/bad.ready" || fail "bad router did not start"
}

# A fresh key pair: genkey NAME -> $T/NAME.key, $T/NAME.pub
genkey() {
	(umask 077 && wg genkey >"$T/$1.key")
	wg pubkey <"$T/$1.key" >"$T/$1.pub"
}

# Start wireguard-go: wg_dev NS IFNAME LISTEN_PORT KEYNAME
wg_dev() {
	local ns=$1 ifname=$2 port=$3
	ip netns exec "$ns" wireguard-go -f "$ifname" >"$T/wireguard-go-$ifname.out" 2>&1 &
	PIDS+=($!)
	wait_for 10 test -S "/var/run/wireguard/$ifname.sock" || fail "wireguard-go $ifname did not start"
	genkey "$ifname"
	ip netns exec "$ns" wg set "$ifname" listen-port "$port" private-key "$T/$ifname.key"
	ip netns exec "$ns" ip link set "$ifname" up
}

# H's WireGuard device with the public peer P configured on both sides; P gets no endpoint yet.
setup_wireguard() {
	wg_dev "$NS_H" "$DEV_H" 51820
	wg_dev "$NS_P" "$DEV_P" 51821
	in_h ip addr add 10.77.0.1/24 dev "$DEV_H"
	in_p ip addr add 10.77.0.2/24 dev "$DEV_P"
	in_h wg set "$DEV_H" peer "$(cat "$T/$DEV_P.pub")" allowed-ips 10.77.0.2/32
	in_p wg set "$DEV_P" peer "$(cat "$T/$DEV_H.pub")" allowed-ips 10.77.0.1/32
}

# Write wgsd's configuration: client_conf MODE LIFETIME [extra lines for the first section]
# (the peer P is excluded: the client must not ask the absent registry about it).
client_conf() {
	local mode=$1 life=$2
	shift 2
	{
		echo "[daemon]"
		echo "status-socket = $T/wgsd.sock"
		echo "[client $DEV_H]"
		echo "registry = 192.0.2.53"
		echo "zone = example.com."
		echo "interval = 1s"
		echo "exclude = $(cat "$T/$DEV_P.pub")"
		echo "port-mapping = $mode"
		echo "port-mapping-lifetime = $life"
		for l in "$@"; do echo "$l"; done
	} >"$T/wgsd.conf"
}

# Start wgsd on H.
start_wgsd() {
	ip netns exec "$NS_H" "$WGSD" -d -c "$T/wgsd.conf" >>"$T/wgsd.log" 2>&1 &
	PIDS+=($!)
	PID_wgsd=$!
	wait_for 20 test -S "$T/wgsd.sock" || fail "wgsd did not start"
}

# Stop wgsd with SIGTERM; it must exit cleanly (status 0: no sanitizer abort either).
stop_wgsd() {
	local rc=0
	kill "$PID_wgsd" 2>/dev/null || true
	wait "$PID_wgsd" 2>/dev/null || rc=$?
	[ "$rc" -eq 0 ] || fail "wgsd exited with status $rc"
}

# Evaluate a Python expression on H's first device's port_mapping status ("pm"; "dev", "devs" too).
pm_eval() {
	"$WGSDCTL" -s "$T/wgsd.sock" status --json 2>/dev/null | "$PY" -c 'import json, sys
s = json.load(sys.stdin)["client"]
devs = {d["device"]: d for d in s["devices"]}
dev = s["devices"][0]
pm = dev["port_mapping"]
v = eval(sys.argv[1])
print(v)
sys.exit(0 if v else 1)' "$1"
}

# Print a field of the first device's port_mapping status.
pm_get() {
	"$WGSDCTL" -s "$T/wgsd.sock" status --json | "$PY" -c 'import json, sys
print(json.load(sys.stdin)["client"]["devices"][0]["port_mapping"][sys.argv[1]])' "$1"
}

# True when miniupnpd's lease file holds a UDP mapping to LAN port PORT: lease_has PORT [DESC]
lease_has() {
	grep -q "^UDP:[0-9]*:192.168.1.2:$1:[0-9]*:${2:-}" "$T/leases" 2>/dev/null
}

# True when miniupnpd's DNAT rule for LAN port PORT is in the router's nftables.
rule_has() {
	in_g nft list chain inet filter prerouting_miniupnpd | grep -q "dnat ip to 192.168.1.2:$1"
}

# P sends to the mapped endpoint: its tunnel to H completes a handshake through the router.
handshake_through_mapping() {
	local ext=$1 t0
	in_p wg set "$DEV_P" peer "$(cat "$T/$DEV_H.pub")" endpoint "$ext" persistent-keepalive 1
	wait_for 15 sh -c "ip netns exec $NS_P wg show $DEV_P latest-handshakes | awk '{ exit !(\$2 > 0) }'" ||
		fail "no handshake from the public side through $ext"
	in_p ping -c 1 -W 2 10.77.0.1 >/dev/null || fail "no ping through the tunnel over $ext"
	# H learnt P's real address from the authenticated packets: they came in from outside.
	t0=$(in_h wg show "$DEV_H" endpoints | awk '{ print $2 }')
	[ "$t0" = "203.0.113.2:51821" ] || fail "H sees P at $t0, not 203.0.113.2:51821"
	in_p wg set "$DEV_P" peer "$(cat "$T/$DEV_H.pub")" persistent-keepalive 0
}
