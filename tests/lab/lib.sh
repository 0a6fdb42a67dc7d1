# SPDX-License-Identifier: MIT
# NAT lab library, sourced by the lab scenarios (test-*.sh) and demo.sh.
#
# Topology (every name carries the run id, default the PID, so parallel or
# aborted runs never collide; nothing is created outside these namespaces):
#
#   pub:   bridge "br0": the public segment 203.0.113.0/24 + 2001:db8::/64
#   reg:   registry, eth0 203.0.113.4 / 2001:db8::4, WireGuard 10.0.0.254
#   reg2:  second registry (only with LAB_REGISTRIES=2), 203.0.113.5 / 2001:db8::5,
#          WireGuard 10.0.0.253
#   nata:  NAT A, wan 203.0.113.10 / 2001:db8::10, lan 192.168.1.1 / 2001:db8:0:a::1
#   natb:  NAT B, wan 203.0.113.20 / 2001:db8::20, lan 192.168.2.1 / 2001:db8:0:b::1
#   alice: eth0 192.168.1.2 / 2001:db8:0:a::2 behind NAT A, WireGuard 10.0.0.1
#   bob:   eth0 192.168.2.2 / 2001:db8:0:b::2 behind NAT B, WireGuard 10.0.0.2
#
# The NATs behave like home routers (see LAB.md): IPv4 masquerade that
# rewrites UDP source ports into a range of their own (NAT A 30000-30999,
# NAT B 40000-40999, so public port != ListenPort), a forward chain that
# drops everything but established/related and LAN-originated traffic
# (IPv4 and IPv6: the IPv6 LANs are routed, not translated, behind the same
# stateful firewall), and an input hook dropping new connections on the WAN.
# "lab_nat_mode natb symmetric" switches to fully random ports per
# destination (an endpoint-dependent, "symmetric" NAT).
#
# WireGuard: userspace wireguard-go (default) or kernel devices
# (WG_IMPL=kernel, e.g. inside the qemu guest). Alice and Bob have the
# registry as a peer with endpoint and PersistentKeepalive, and each other
# with no endpoint; the registry allows only each peer's own /32.
#
# wgsd runs in reg, alice and bob from conf/registry.conf, conf/alice.conf and
# conf/bob.conf; lab_conf documents the only values the lab changes.
#
# Environment: WGSD, WGSDCTL (binaries), WGSD_SRCDIR; WG_IMPL=userspace|kernel|auto;
# LAB_ID (name suffix, default $$); LAB_REGISTRIES=1|2; LAB_V6=1 (alice and
# bob reach the registries over IPv6); LAB_CANDIDATES=none (alice and bob
# register no candidates); LAB_KEEP=1 (keep the run directory).

LAB_SRCDIR=${WGSD_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# qemu-run.sh passes only WGSD_* variables into the guest: find the binaries
# in the build directory there.
if [ -n "${WGSD_BUILDDIR:-}" ]; then
	WGSD=${WGSD:-$WGSD_BUILDDIR/wgsd}
	WGSDCTL=${WGSDCTL:-$WGSD_BUILDDIR/wgsdctl}
fi
WG_IMPL=${WG_IMPL:-userspace}
LAB_ID=${LAB_ID:-$$}
LAB_REGISTRIES=${LAB_REGISTRIES:-1}
LAB_V6=${LAB_V6:-0}
# Keepalive of alice's and bob's registry peers (the example uses 25 s; short
# here so that a NAT that lost its mapping re-creates it quickly).
LAB_REG_KEEPALIVE=${LAB_REG_KEEPALIVE:-2}
LAB_PORT=51820
# Multiplies every wait limit (the qemu guest runs slower).
LAB_TIME_SCALE=${LAB_TIME_SCALE:-1}
# Python's start-up through a version-manager shim is slow: prefer Debian's.
LAB_PYTHON=$(command -v /usr/bin/python3 || command -v python3 || echo python3)

# Node -> namespace, WireGuard interface (<= 15 chars, unique across
# namespaces: wireguard-go's sockets share /var/run/wireguard).
declare -A LAB_NS LAB_DEV LAB_PUB4 LAB_PUB6 LAB_TUN LAB_KEY LAB_PID LAB_WGPID LAB_NAT_MODE LAB_PORT_MAPPING
LAB_NODES_ALL="pub reg reg2 nata natb alice bob"
for _n in $LAB_NODES_ALL; do
	LAB_NS[$_n]=wgsdlab-$LAB_ID-$_n
done
LAB_DEV[reg]=wglr$LAB_ID
LAB_DEV[reg2]=wgls$LAB_ID
LAB_DEV[alice]=wgla$LAB_ID
LAB_DEV[bob]=wglb$LAB_ID
LAB_PUB4=([reg]=203.0.113.4 [reg2]=203.0.113.5 [nata]=203.0.113.10 [natb]=203.0.113.20)
LAB_PUB6=([reg]=2001:db8::4 [reg2]=2001:db8::5 [nata]=2001:db8::10 [natb]=2001:db8::20)
LAB_TUN=([reg]=10.0.0.254 [reg2]=10.0.0.253 [alice]=10.0.0.1 [bob]=10.0.0.2)
declare -A LAB_LAN4=([alice]=192.168.1.2 [bob]=192.168.2.2)
declare -A LAB_LAN6=([alice]=2001:db8:0:a::2 [bob]=2001:db8:0:b::2)
# NAT in front of each peer, and the UDP port range it maps to.
declare -A LAB_NAT=([alice]=nata [bob]=natb)
LAB_WGARGS=()
declare -A LAB_NAT_PORTS=([nata]=30000-30999 [natb]=40000-40999)
LAB_RUN=
LAB_MS=0
LAB_CREATED=
LAB_BG=           # PIDs of further background commands, killed by lab_cleanup
LAB_T0_MS=0
LAB_FAILED=0

# Print a line prefixed with the lab tag.
lab_log()
{
	printf '[lab %6s] %s\n' "$(lab_elapsed)" "$*"
}

# Print a heading (used by the demo and the scenarios).
lab_head()
{
	printf '\n==== %s ====\n' "$*"
}

# Print an error, mark the run failed and exit 1 (cleanup runs from the trap).
lab_fail()
{
	LAB_FAILED=1
	printf '[lab %6s] FAIL: %s\n' "$(lab_elapsed)" "$*" >&2
	exit 1
}

# Exit 77 (skip) or, in CI, 1 when a prerequisite is missing.
lab_skip()
{
	echo "lab: cannot run here: $*" >&2
	if [ -n "${CI:-}" ]; then
		echo "lab: CI is set, so this is a failure" >&2
		exit 1
	fi
	exit 77
}

# Milliseconds of wall-clock time (bash's clock: no process started).
lab_now_ms()
{
	local us=${EPOCHREALTIME/[.,]/}

	echo $((us / 1000))
}

# Seconds.milliseconds since lab_init.
lab_elapsed()
{
	local ms=$(($(lab_now_ms) - LAB_T0_MS))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# Start a command in node $1's namespace in the background, output appended
# to file $2; LAB_BGPID is its PID. "ip netns exec" execs the command, so
# that is the PID of the command itself (a shell function run with & would
# fork a subshell instead, and killing it would leave the command running).
# Never call it inside $(...).
lab_bg()
{
	local node=$1 out=$2
	shift 2

	ip netns exec "${LAB_NS[$node]}" "$@" >>"$out" 2>&1 &
	LAB_BGPID=$!
}

# Run a command in a node's namespace.
lab_in()
{
	local node=$1
	shift
	ip netns exec "${LAB_NS[$node]}" "$@"
}

# Check root, tools and binaries; skip (77) outside CI when missing.
lab_require()
{
	local prog

	[ "$(id -u)" = 0 ] || lab_skip "needs root (network namespaces)"
	for prog in ip nft conntrack wg ping python3 "$@"; do
		command -v "$prog" >/dev/null || lab_skip "$prog not installed (tests/deps.sh)"
	done
	# auto: the kernel module when the host has one (loaded or loadable),
	# else wireguard-go. Checked without creating anything on the host.
	if [ "$WG_IMPL" = auto ]; then
		if [ -d /sys/module/wireguard ] || modinfo wireguard >/dev/null 2>&1; then
			WG_IMPL=kernel
		else
			WG_IMPL=userspace
		fi
	fi
	case "$WG_IMPL" in
	kernel | userspace) ;;
	*) lab_fail "WG_IMPL must be userspace, kernel or auto, not '$WG_IMPL'" ;;
	esac
	if [ "$WG_IMPL" = userspace ]; then
		command -v wireguard-go >/dev/null || lab_skip "wireguard-go not installed"
		[ -c /dev/net/tun ] || lab_skip "/dev/net/tun missing"
	fi
	[ -n "${WGSD:-}" ] && [ -x "$WGSD" ] || lab_skip "WGSD is not set to the wgsd binary (run through meson test)"
	[ -n "${WGSDCTL:-}" ] && [ -x "$WGSDCTL" ] || lab_skip "WGSDCTL is not set to the wgsdctl binary"
}

# Create the run directory and arm the cleanup trap.
lab_init()
{
	LAB_T0_MS=$(lab_now_ms)
	LAB_RUN=$(mktemp -d "${TMPDIR:-/tmp}/wgsdlab-$LAB_ID.XXXXXX")
	chmod 0700 "$LAB_RUN"
	trap lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	lab_log "run $LAB_ID ($WG_IMPL WireGuard), files in $LAB_RUN"
}

# True while process $1 runs (exited but not yet reaped counts as stopped).
lab_running()
{
	local pid comm state

	[ -r "/proc/$1/stat" ] || return 1
	read -r pid comm state _ <"/proc/$1/stat" 2>/dev/null || return 1
	[ "$state" != Z ]
}

# Wait up to 5 s for background process $1 to exit, then SIGKILL it.
# 0 when it exited by itself.
lab_reap()
{
	local i

	for i in $(seq 50); do
		lab_running "$1" || break
		sleep 0.1
	done
	if lab_running "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 1
	fi
	wait "$1" 2>/dev/null
	return 0
}

# Stop daemons, delete namespaces (which removes every link in them), and on
# failure print the daemons' logs. Runs from the EXIT trap.
lab_cleanup()
{
	local rc=$? node f

	trap - EXIT INT TERM
	set +e
	[ "$rc" = 0 ] || LAB_FAILED=1
	for f in $LAB_BG; do
		kill "$f" 2>/dev/null
		wait "$f" 2>/dev/null
	done
	for node in "${!LAB_PID[@]}"; do
		kill "${LAB_PID[$node]}" 2>/dev/null
	done
	for node in "${!LAB_PID[@]}"; do
		lab_reap "${LAB_PID[$node]}" || echo "lab: wgsd on $node ignored SIGTERM for 5 s, killed" >&2
	done
	if [ "$LAB_FAILED" = 1 ] && [ -n "$LAB_RUN" ]; then
		for f in "$LAB_RUN"/*.log; do
			[ -s "$f" ] || continue
			echo "---- $(basename "$f") (last 40 lines) ----" >&2
			tail -n 40 "$f" >&2
		done
		for node in reg alice bob; do
			case " $LAB_CREATED " in *" $node "*) ;; *) continue ;; esac
			echo "---- wg show on $node ----" >&2
			lab_in "$node" wg show "${LAB_DEV[$node]}" 2>&1 | sed 's/^/  /' >&2
		done
		for node in nata natb; do
			case " $LAB_CREATED " in *" $node "*) ;; *) continue ;; esac
			echo "---- UDP conntrack on $node ----" >&2
			lab_in "$node" conntrack -L -p udp 2>&1 | sed 's/^/  /' >&2
		done
	fi
	# Deleting a wireguard-go interface makes the process exit.
	for node in $LAB_CREATED; do
		[ -n "${LAB_DEV[$node]:-}" ] && ip -n "${LAB_NS[$node]}" link del "${LAB_DEV[$node]}" 2>/dev/null
	done
	for node in "${!LAB_WGPID[@]}"; do
		kill "${LAB_WGPID[$node]}" 2>/dev/null
		wait "${LAB_WGPID[$node]}" 2>/dev/null
	done
	for node in $LAB_CREATED; do
		ip netns del "${LAB_NS[$node]}" 2>/dev/null
	done
	if [ -n "$LAB_RUN" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			echo "lab: kept $LAB_RUN" >&2
		else
			rm -rf "$LAB_RUN"
		fi
	fi
	exit "$rc"
}

# Queue "ip" commands (one line, without "ip") for node $1's namespace; run
# by lab_batch_run. One "ip -batch" per namespace instead of a process per
# command: process start-up dominates under qemu's TCG.
lab_batch()
{
	local node=$1
	shift
	echo "$*" >>"$LAB_RUN/batch-$node"
}

# Run node $1's queued ip commands.
lab_batch_run()
{
	local node=$1 f=$LAB_RUN/batch-$1

	[ -s "$f" ] || return 0
	ip -n "${LAB_NS[$node]}" -batch "$f" >"$f.out" 2>&1 ||
		lab_fail "ip commands on $node failed: $(cat "$f.out")"
	rm -f "$f" "$f.out"
}

# Create the namespace of node $1.
lab_netns()
{
	local node=$1

	ip netns add "${LAB_NS[$node]}" || lab_fail "ip netns add ${LAB_NS[$node]}"
	LAB_CREATED="$LAB_CREATED $node"
	# No duplicate address detection (link-local addresses too): addresses
	# are usable at once. The NATs route.
	lab_in "$node" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
		$(case $node in nat?) echo net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ;; esac) >/dev/null ||
		lab_fail "sysctl in ${LAB_NS[$node]}"
	lab_batch "$node" link set lo up
}

# Queue the commands that attach public host $1 to the bridge with its WAN
# interface $2, addresses and IPv6 routes.
lab_public_port()
{
	local node=$1 ifname=$2

	lab_batch pub link add "$node" type veth peer name "$ifname" netns "${LAB_NS[$node]}"
	lab_batch pub link set "$node" master br0
	lab_batch pub link set "$node" up
	lab_batch "$node" link set "$ifname" up
	lab_batch "$node" addr add "${LAB_PUB4[$node]}/24" dev "$ifname"
	lab_batch "$node" addr add "${LAB_PUB6[$node]}/64" dev "$ifname" nodad
	# The peers' IPv6 LANs are routed (no NAT66) through their routers.
	[ "$node" = nata ] || lab_batch "$node" route add 2001:db8:0:a::/64 via "${LAB_PUB6[nata]}"
	[ "$node" = natb ] || lab_batch "$node" route add 2001:db8:0:b::/64 via "${LAB_PUB6[natb]}"
}

# Write NAT box $1's ruleset: masquerade mode $2 (cone: ports from its range;
# symmetric: fully random per destination) and the home-router firewall.
lab_nat_rules()
{
	local nat=$1 mode=$2 masq

	case "$mode" in
	cone) masq="masquerade to :${LAB_NAT_PORTS[$nat]}" ;;
	symmetric) masq="masquerade to :${LAB_NAT_PORTS[$nat]} random" ;;
	*) lab_fail "unknown NAT mode $mode" ;;
	esac
	lab_in "$nat" nft -f - <<EOF || lab_fail "nft ruleset on $nat"
table ip wgsdlab_nat
delete table ip wgsdlab_nat
table ip wgsdlab_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" meta l4proto udp $masq
		oifname "wan" masquerade
	}
}
table inet wgsdlab_fw
delete table inet wgsdlab_fw
table inet wgsdlab_fw {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
	}
	# Like LAB.md says: an early punch packet must not create a conntrack
	# entry on the NAT box itself, or it blocks the mapping the peer needs.
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state new drop
	}
}
EOF
	LAB_NAT_MODE[$nat]=$mode
}

# Switch NAT $1 to mode $2 (cone|symmetric), or to another port range $3.
lab_nat_mode()
{
	[ -n "${3:-}" ] && LAB_NAT_PORTS[$1]=$3
	lab_nat_rules "$1" "$2"
	lab_log "${1}: $2 NAT, UDP ports ${LAB_NAT_PORTS[$1]}"
}

# Flush NAT box $1's connection tracking (all mappings lost: rebinding).
lab_nat_flush()
{
	lab_in "$1" conntrack -F 2>/dev/null || lab_fail "conntrack -F on $1"
}

# Print the public address:port NAT $1 maps host $2's WireGuard port to
# (one line per distinct mapping found in its conntrack table).
lab_nat_mapping()
{
	local nat=$1 host=$2

	lab_in "$nat" conntrack -L -p udp -s "${LAB_LAN4[$host]}" --sport "$LAB_PORT" 2>/dev/null |
		sed -n 's/.* src=[^ ]* dst=\([^ ]*\) sport=[0-9]* dport=\([0-9]*\).*/\1:\2/p' | sort -u
}

# Build the whole network: namespaces, bridge, NATs, LANs, routes, firewall.
lab_topology()
{
	local node nat n lan6

	for node in pub reg nata natb alice bob; do
		lab_netns "$node"
	done
	[ "$LAB_REGISTRIES" = 2 ] && lab_netns reg2
	lab_batch pub link add br0 type bridge
	lab_batch pub link set br0 up
	lab_public_port reg eth0
	[ "$LAB_REGISTRIES" = 2 ] && lab_public_port reg2 eth0
	lab_public_port nata wan
	lab_public_port natb wan
	for node in alice bob; do
		nat=${LAB_NAT[$node]}
		n=1 lan6=2001:db8:0:a
		[ "$node" = bob ] && n=2 lan6=2001:db8:0:b
		lab_batch "$nat" link add lan type veth peer name eth0 netns "${LAB_NS[$node]}"
		lab_batch "$nat" link set lan up
		lab_batch "$nat" addr add "192.168.$n.1/24" dev lan
		lab_batch "$nat" addr add "$lan6::1/64" dev lan nodad
		lab_batch "$node" link set eth0 up
		lab_batch "$node" addr add "${LAB_LAN4[$node]}/24" dev eth0
		lab_batch "$node" addr add "${LAB_LAN6[$node]}/64" dev eth0 nodad
		lab_batch "$node" route add default via "192.168.$n.1"
		lab_batch "$node" route add default via "$lan6::1"
	done
	# Creating order: veths are made from pub and the NATs into the others.
	for node in pub nata natb reg reg2 alice bob; do
		[ "$node" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
		lab_batch_run "$node"
	done
	for nat in nata natb; do
		lab_nat_rules "$nat" cone
	done
	# Reachability of the public side (plain ping, no WireGuard yet).
	for node in alice bob; do
		lab_in "$node" ping -c 1 -W 2 "${LAB_PUB4[reg]}" >/dev/null ||
			lab_fail "$node cannot reach the registry's public IPv4 address"
		lab_in "$node" ping -6 -c 1 -W 2 "${LAB_PUB6[reg]}" >/dev/null ||
			lab_fail "$node cannot reach the registry's public IPv6 address"
	done
	lab_log "topology up: registry ${LAB_PUB4[reg]}, NAT A ${LAB_PUB4[nata]}, NAT B ${LAB_PUB4[natb]}"
}

# Create node $1's WireGuard device (kernel or wireguard-go).
lab_wg_create()
{
	local node=$1 dev=${LAB_DEV[$1]} i

	if [ "$WG_IMPL" = kernel ]; then
		lab_in "$node" ip link add "$dev" type wireguard || lab_fail "kernel WireGuard device on $node"
		return
	fi
	rm -f "/var/run/wireguard/$dev.sock"
	lab_bg "$node" "$LAB_RUN/wireguard-go-$node.log" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		LOG_LEVEL=error wireguard-go -f "$dev"
	LAB_WGPID[$node]=$LAB_BGPID
	for i in $(seq 100); do
		[ -S "/var/run/wireguard/$dev.sock" ] && lab_in "$node" ip link show "$dev" >/dev/null 2>&1 && return
		sleep 0.05
	done
	lab_fail "wireguard-go did not create $dev on $node"
}

# Add a peer to node $1's device: peer node $2, allowed IPs $3, endpoint $4
# (or ""), keepalive $5 (or "").
lab_wg_peer()
{
	local node=$1

	LAB_WGARGS=()
	lab_wg_peer_args "$@"
	lab_in "$node" wg set "${LAB_DEV[$node]}" "${LAB_WGARGS[@]}" || lab_fail "wg set peer $2 on $node"
}

# Append the "wg set" arguments of a peer (as lab_wg_peer) to LAB_WGARGS.
lab_wg_peer_args()
{
	local peer=$2 allowed=$3 ep=${4:-} ka=${5:-}

	LAB_WGARGS+=(peer "${LAB_KEY[$peer]}" allowed-ips "$allowed")
	[ -n "$ep" ] && LAB_WGARGS+=(endpoint "$ep")
	[ -n "$ka" ] && LAB_WGARGS+=(persistent-keepalive "$ka")
	return 0
}

# Bring up node $1's device from scratch (as wg-quick would from its
# configuration): key, port, address, peers.
lab_wg_node()
{
	local node=$1 dev=${LAB_DEV[$1]} r other

	lab_wg_create "$node"
	LAB_WGARGS=(listen-port "$LAB_PORT" private-key "$LAB_RUN/$node.key")
	case "$node" in
	reg | reg2)
		# Only each peer's own address: the registry cannot relay.
		lab_wg_peer_args "$node" alice "${LAB_TUN[alice]}/32"
		lab_wg_peer_args "$node" bob "${LAB_TUN[bob]}/32"
		;;
	alice | bob)
		for r in reg reg2; do
			[ "$r" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
			lab_wg_peer_args "$node" "$r" "${LAB_TUN[$r]}/32" "$(lab_reg_endpoint "$r")" "$LAB_REG_KEEPALIVE"
		done
		# The other peer: no endpoint, wgsd finds it.
		other=$(lab_other "$node")
		lab_wg_peer_args "$node" "$other" "${LAB_TUN[$other]}/32"
		;;
	esac
	lab_in "$node" wg set "$dev" "${LAB_WGARGS[@]}" || lab_fail "wg set on $node"
	lab_batch "$node" addr add "${LAB_TUN[$node]}/24" dev "$dev"
	lab_batch "$node" link set "$dev" up
	lab_batch_run "$node"
}

# The registry's public endpoint as alice and bob configure it.
lab_reg_endpoint()
{
	if [ "$LAB_V6" = 1 ]; then
		echo "[${LAB_PUB6[$1]}]:$LAB_PORT"
	else
		echo "${LAB_PUB4[$1]}:$LAB_PORT"
	fi
}

# alice <-> bob.
lab_other()
{
	[ "$1" = alice ] && echo bob || echo alice
}

# Generate keys and bring up every WireGuard device; wait until alice and bob
# have a handshake with each registry.
lab_wireguard()
{
	local node

	for node in reg reg2 alice bob; do
		[ "$node" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
		(umask 077 && wg genkey >"$LAB_RUN/$node.key")
		LAB_KEY[$node]=$(wg pubkey <"$LAB_RUN/$node.key")
	done
	for node in reg reg2 alice bob; do
		[ "$node" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
		lab_wg_node "$node"
	done
	for node in alice bob; do
		lab_wait 10 lab_ping1 "$node" "${LAB_TUN[reg]}" || lab_fail "$node has no tunnel to the registry"
		if [ "$LAB_REGISTRIES" = 2 ]; then
			lab_wait 10 lab_ping1 "$node" "${LAB_TUN[reg2]}" || lab_fail "$node has no tunnel to registry 2"
		fi
	done
	lab_log "WireGuard ($WG_IMPL) up; alice and bob reach the registry through their tunnels"
}

# Recreate a registry's WireGuard device as after a reboot: same key, port,
# address and peers, but no endpoints and no sessions.
lab_wg_recreate()
{
	local node=$1

	ip -n "${LAB_NS[$node]}" link del "${LAB_DEV[$node]}" || lab_fail "delete ${LAB_DEV[$node]}"
	if [ -n "${LAB_WGPID[$node]:-}" ]; then
		wait "${LAB_WGPID[$node]}" 2>/dev/null
		unset "LAB_WGPID[$node]"
	fi
	lab_wg_node "$node"
}

# One ping from node $1 to $2 with a one second deadline.
lab_ping1()
{
	lab_in "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1
}

# Run "$@" every 0.2 s until it succeeds or $1 seconds pass. 0 or 1.
lab_wait()
{
	local limit_ms=$(($1 * 1000 * LAB_TIME_SCALE)) start
	shift

	start=$(lab_now_ms)
	while ! "$@"; do
		[ $(($(lab_now_ms) - start)) -ge "$limit_ms" ] && return 1
		sleep 0.2
	done
	return 0
}

# Write node $1's wgsd configuration for this run into $LAB_RUN/$1.conf.
#
# The lab uses conf/registry.conf, conf/alice.conf and conf/bob.conf as they
# are, except for these values (the same for every file):
#   - status-socket: a path in the run directory;
#   - the WireGuard interface name "wg0": this run's device name;
#   - interval = 2s and handshake-timeout = 10s (instead of the documented
#     10s/135s), to keep the runs short;
#   - relay-after = 10s for alice and bob (the documented default is 30s);
#   - relay-retry = 20s for alice and bob (the documented default is 5m);
#   - port-mapping = LAB_PORT_MAPPING[node] when a scenario sets it;
#   - registry 2 (LAB_REGISTRIES=2): the commented "registry = 10.0.0.253:53"
#     line of alice.conf/bob.conf is enabled, and registry.conf is used with
#     10.0.0.254 replaced by 10.0.0.253 and its relay on 203.0.113.5.
lab_conf()
{
	local node=$1 src out=$LAB_RUN/$1.conf
	local sed_args=(-e "s|^status-socket *=.*|status-socket = $LAB_RUN/$node.sock|"
		-e "s|\\bwg0\\b|${LAB_DEV[$node]}|g"
		-e "s|^interval *= *[^ ;]*|interval = 2s|"
		-e "s|^handshake-timeout *= *[^ ;]*|handshake-timeout = 10s|")

	case "$node" in
	reg) src=$LAB_SRCDIR/conf/registry.conf ;;
	reg2)
		src=$LAB_SRCDIR/conf/registry.conf
		sed_args+=(-e "s|10\\.0\\.0\\.254|${LAB_TUN[reg2]}|g")
		sed_args+=(-e "s|^address = ${LAB_PUB4[reg]}\$|address = ${LAB_PUB4[reg2]}|")
		;;
	*) src=$LAB_SRCDIR/conf/$node.conf ;;
	esac
	[ "$LAB_REGISTRIES" = 2 ] && sed_args+=(-e "s|^; *\\(registry = ${LAB_TUN[reg2]}:53\\)|\\1|")
	sed "${sed_args[@]}" "$src" >"$out" || lab_fail "cannot write $out"
	# LAB_CANDIDATES=none: alice and bob register no candidates (the [client] section is last),
	# so that a scenario about the registry's IPv4 endpoint is not won by the IPv6 candidate.
	case "$node" in
	alice | bob)
		[ -n "${LAB_CANDIDATES:-}" ] && echo "candidates = $LAB_CANDIDATES" >>"$out"
		# A relay is asked after 10 s at a direct endpoint (documented default 30 s), as the
		# lab's other times are shortened; LAB_RELAY=off: never (a scenario about direct paths).
		echo "relay-after = 10s" >>"$out"
		# A relayed pair tries a direct path again after 20 s (documented default 5 min).
		echo "relay-retry = 20s" >>"$out"
		[ "${LAB_RELAY:-}" = off ] && echo "relay = off" >>"$out"
		;;
	esac
	# LAB_PORT_MAPPING[node]=auto|pcp|...: that node's client asks its router for a port mapping.
	[ -n "${LAB_PORT_MAPPING[$node]:-}" ] && echo "port-mapping = ${LAB_PORT_MAPPING[$node]}" >>"$out"
	"$WGSD" -t -c "$out" >/dev/null 2>"$LAB_RUN/$node.conf-check" ||
		lab_fail "$out is not valid: $(cat "$LAB_RUN/$node.conf-check")"
}

# Start wgsd on node $1 (in the foreground, in the background of this shell)
# and wait for its status socket.
lab_wgsd_start()
{
	local node=$1 sock=$LAB_RUN/$1.sock

	[ -f "$LAB_RUN/$node.conf" ] || lab_conf "$node"
	lab_bg "$node" "$LAB_RUN/wgsd-$node.log" "$WGSD" -d -c "$LAB_RUN/$node.conf"
	LAB_PID[$node]=$LAB_BGPID
	lab_wait 10 lab_ctl_ok "$node" || lab_fail "wgsd on $node did not open its status socket"
}

# True when node $1's wgsd answers on its status socket.
lab_ctl_ok()
{
	kill -0 "${LAB_PID[$1]}" 2>/dev/null || lab_fail "wgsd on $1 exited (see wgsd-$1.log)"
	"$WGSDCTL" -s "$LAB_RUN/$1.sock" version >/dev/null 2>&1
}

# Stop wgsd on node $1 (SIGTERM, it must exit 0).
lab_wgsd_stop()
{
	local node=$1 rc=0 i

	kill "${LAB_PID[$node]}" 2>/dev/null
	for i in $(seq 50); do
		lab_running "${LAB_PID[$node]}" || break
		sleep 0.1
	done
	lab_running "${LAB_PID[$node]}" && lab_fail "wgsd on $node did not stop within 5 s of SIGTERM"
	wait "${LAB_PID[$node]}" || rc=$?
	unset "LAB_PID[$node]"
	[ "$rc" = 0 ] || lab_fail "wgsd on $node exited with $rc on SIGTERM"
}

# wgsdctl against node $1's daemon.
lab_ctl()
{
	local node=$1
	shift
	"$WGSDCTL" -s "$LAB_RUN/$node.sock" "$@"
}

# Print a value from node $1's status JSON: $2 is a Python expression over
# "s" (the document), e.g. 's["client"]["devices"][0]["endpoint_updates"]'.
lab_status()
{
	local node=$1 expr=$2

	lab_ctl "$node" status --json 2>/dev/null | "$LAB_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
' "$expr"
}

# Print node $1's endpoint for peer node $2 (from wg show), "(none)" if unset.
lab_endpoint()
{
	lab_in "$1" wg show "${LAB_DEV[$1]}" endpoints | awk -v k="${LAB_KEY[$2]}" '$1 == k { print $2 }'
}

# Print "rx tx" bytes of node $1's peer node $2.
lab_transfer()
{
	lab_in "$1" wg show "${LAB_DEV[$1]}" transfer | awk -v k="${LAB_KEY[$2]}" '$1 == k { print $2, $3 }'
}

# Print the unix time of node $1's latest handshake with peer node $2 (0: none).
lab_handshake()
{
	lab_in "$1" wg show "${LAB_DEV[$1]}" latest-handshakes | awk -v k="${LAB_KEY[$2]}" '$1 == k { print $2 }'
}

# Wait up to $3 seconds for node $1 to get a ping reply from $2; LAB_MS is
# the milliseconds it took. 0 or 1. (A global, not printed: waits must not
# run in $(...), where bash would not stop them on Ctrl-C.)
lab_ping_until()
{
	local node=$1 dst=$2 limit_ms=$(($3 * 1000 * LAB_TIME_SCALE)) start now

	start=$(lab_now_ms)
	while :; do
		if lab_ping1 "$node" "$dst"; then
			LAB_MS=$(($(lab_now_ms) - start))
			return 0
		fi
		now=$(lab_now_ms)
		[ $((now - start)) -ge "$limit_ms" ] && return 1
	done
}

# Start wgsd on the registries, alice and bob; LAB_START_MS is when.
lab_daemons()
{
	local node

	for node in reg reg2 alice bob; do
		[ "$node" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
		lab_conf "$node"
	done
	LAB_START_MS=$(lab_now_ms)
	for node in reg reg2 alice bob; do
		[ "$node" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
		lab_wgsd_start "$node"
	done
	lab_log "wgsd running on the registry, alice and bob"
}

# Everything up to running daemons: topology, WireGuard, wgsd on all nodes.
lab_up()
{
	lab_topology
	lab_wireguard
	lab_daemons
}

# Print field $3 (Python expression over "p") of node $1's client status for
# peer node $2, e.g. 'p["nat"]'.
lab_client_peer()
{
	lab_status "$1" "(lambda p: ($3))(next(q for q in s['client']['devices'][0]['peers'] if q['public_key'] == '${LAB_KEY[$2]}'))"
}

# Print node $1's client counter $2 (endpoint_updates or cycles), from the
# metrics (cheaper than parsing the status JSON).
lab_client_counter()
{
	lab_ctl "$1" metrics 2>/dev/null |
		awk -v m="wgsd_client_${2}_total" -v d="device=\"${LAB_DEV[$1]}\"" \
			'index($0, m "{") == 1 && index($0, d) { print $2; found = 1 } END { if (!found) print "none" }'
}

# Print the zone label of peer node $1's key: upper-case padded base32.
lab_b32()
{
	echo "${LAB_KEY[$1]}" | base64 -d | base32 -w 0
}

# dig from node $1 at the registry (through the tunnel), extra arguments follow.
lab_dig()
{
	local node=$1
	shift
	lab_in "$node" dig @"${LAB_TUN[reg]}" +time=1 +tries=1 "$@"
}

# Print "port address" of peer node $2 as node $1 learns it from the registry
# (SRV, then A or AAAA of its target); empty when the registry does not know it.
lab_dig_peer()
{
	local node=$1 peer=$2 srv target port addr

	srv=$(lab_dig "$node" +short "$(lab_b32 "$peer")._wireguard._udp.example.com." SRV 2>/dev/null | head -n 1)
	[ -n "$srv" ] || return 0
	port=$(echo "$srv" | awk '{ print $3 }')
	target=$(echo "$srv" | awk '{ print $4 }')
	addr=$(lab_dig "$node" +short "$target" A 2>/dev/null | head -n 1)
	[ -n "$addr" ] || addr=$(lab_dig "$node" +short "$target" AAAA 2>/dev/null | head -n 1)
	echo "$port $addr"
}

# Wait up to $1 seconds for the direct tunnel alice -> bob; LAB_MS is the
# milliseconds since the daemons started. 0 or 1.
lab_wait_direct()
{
	lab_ping_until alice "${LAB_TUN[bob]}" "$1" || return 1
	LAB_MS=$(($(lab_now_ms) - LAB_START_MS))
}

# Check that alice's endpoint for bob is NAT B's public mapping of bob's
# WireGuard port, and the other way round. Prints both.
lab_check_endpoints()
{
	local node nat ep map

	for node in alice bob; do
		nat=${LAB_NAT[$(lab_other "$node")]}
		ep=$(lab_endpoint "$node" "$(lab_other "$node")")
		map=$(lab_nat_mapping "$nat" "$(lab_other "$node")")
		nat="NAT ${nat#nat}"
		nat=${nat^^}
		echo "$node's endpoint for $(lab_other "$node"): $ep; $nat's mapping: $map"
		[ "$(echo "$map" | wc -l)" = 1 ] || lab_fail "$nat maps $(lab_other "$node") to more than one port: $map"
		[ "$ep" = "$map" ] || lab_fail "$node's endpoint $ep is not $nat's public mapping $map"
	done
}

# Ping the registries from alice and bob through their tunnels.
lab_check_registry_path()
{
	local node r

	for node in alice bob; do
		for r in reg reg2; do
			[ "$r" = reg2 ] && [ "$LAB_REGISTRIES" != 2 ] && continue
			lab_wait 10 lab_ping1 "$node" "${LAB_TUN[$r]}" ||
				lab_fail "$node cannot reach $r (${LAB_TUN[$r]}) through the tunnel"
		done
	done
}
