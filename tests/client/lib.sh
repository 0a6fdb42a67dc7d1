# SPDX-License-Identifier: MIT
# Helpers for the client integration tests: namespaces, wireguard-go devices,
# the wgsd registry (or the scriptable responder), the client, status.
# Sourced by client-netns.sh; expects WGSD, WGSDCTL, WGSD_SRCDIR, WGSD_BUILDDIR.

SUF=$$
NS_R="wgsdc-r-$SUF"     # registry host
NS_A="wgsdc-a-$SUF"     # client host
NS_B="wgsdc-b-$SUF"     # a peer with a working tunnel to A
T=$(mktemp -d /tmp/wgsd-client-test.XXXXXX)
PIDS=()
RESPONDER="$WGSD_SRCDIR/tests/client/dns-responder.py"
DRIVER="${CLIENT_DRIVER_PATH:-$WGSD_BUILDDIR/tests/client/client-driver}"
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# Fail with a message.
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do
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

# Stop what we started and remove namespaces.
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	ip netns del "$NS_R" 2>/dev/null || true
	rm -f /var/run/wireguard/wg[rab]*"$SUF".sock
	if [ "${KEEP_TMP:-}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}

# Run a command in a namespace.
in_r() { ip netns exec "$NS_R" "$@"; }
in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# Wait until a command succeeds: wait_for SECONDS CMD...
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Registry host R and client host A on one link: 192.0.2.0/24 and 2001:db8::/64.
setup_net() {
	ip netns add "$NS_R"
	ip netns add "$NS_A"
	ip link add "vr$SUF" netns "$NS_R" type veth peer name "va$SUF" netns "$NS_A"
	in_r ip link set lo up
	in_a ip link set lo up
	in_r ip addr add 192.0.2.1/24 dev "vr$SUF"
	in_r ip addr add 192.0.2.3/24 dev "vr$SUF"
	in_r ip addr add 2001:db8::1/64 dev "vr$SUF" nodad
	in_a ip addr add 192.0.2.2/24 dev "va$SUF"
	in_a ip addr add 2001:db8::2/64 dev "va$SUF" nodad
	in_r ip link set "vr$SUF" up
	in_a ip link set "va$SUF" up
}

# A peer host B linked to A (198.51.100.0/24) for a real tunnel.
setup_net_b() {
	ip netns add "$NS_B"
	ip link add "vb$SUF" netns "$NS_B" type veth peer name "vab$SUF" netns "$NS_A"
	in_b ip link set lo up
	in_b ip addr add 198.51.100.2/24 dev "vb$SUF"
	in_a ip addr add 198.51.100.1/24 dev "vab$SUF"
	in_b ip link set "vb$SUF" up
	in_a ip link set "vab$SUF" up
}

# Start wireguard-go: wg_dev NS IFNAME LISTEN_PORT PRIVATE_KEY_FILE
wg_dev() {
	local ns=$1 ifname=$2 port=$3 keyfile=$4
	ip netns exec "$ns" wireguard-go -f "$ifname" >"$T/wireguard-go-$ifname.out" 2>&1 &
	PIDS+=($!)
	wait_for 10 test -S "/var/run/wireguard/$ifname.sock" || fail "wireguard-go $ifname did not start"
	ip netns exec "$ns" wg set "$ifname" listen-port "$port" private-key "$keyfile"
	ip netns exec "$ns" ip link set "$ifname" up
}

# A fresh key pair: genkey NAME -> $T/NAME.key, $T/NAME.pub
genkey() {
	(umask 077 && wg genkey >"$T/$1.key")
	wg pubkey <"$T/$1.key" >"$T/$1.pub"
}

# Random public keys (any 32 bytes are a valid peer key): randkeys N > file
randkeys() {
	python3 -c 'import base64, os, sys
for _ in range(int(sys.argv[1])): print(base64.b64encode(os.urandom(32)).decode())' "$1"
}

# Endpoint of a peer as wg shows it ("(none)" when unset): endpoint_of NS IFNAME PUBKEY
endpoint_of() {
	ip netns exec "$1" wg show "$2" endpoints | awk -v k="$3" '$1 == k { print $2 }'
}

# Keepalive of a peer: keepalive_of NS IFNAME PUBKEY
keepalive_of() {
	ip netns exec "$1" wg show "$2" persistent-keepalive | awk -v k="$3" '$1 == k { print $2 }'
}

# True when a peer's endpoint equals the expected text.
endpoint_is() {
	[ "$(endpoint_of "$1" "$2" "$3")" = "$4" ]
}

# Start wgsd in a namespace: start_wgsd NS NAME CONFFILE (log in $T/NAME.log)
start_wgsd() {
	ip netns exec "$1" "$WGSD" -d -c "$3" >"$T/$2.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$2=$!"
}

# Start the scriptable responder in R: start_responder NAME ARGS...
start_responder() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	ip netns exec "$NS_R" python3 "$RESPONDER" --ready "$T/$name.ready" --log "$T/$name.queries" "$@" >"$T/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
	wait_for 10 test -f "$T/$name.ready" || fail "responder $name did not start"
}

# Stop a process started by start_wgsd/start_responder: stop NAME
stop() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Wait until a registry answers SOA for the zone: wait_registry ADDR [PORT]
wait_registry() {
	wait_for 15 in_a dig +time=1 +tries=1 -p "${2:-53}" "@$1" example.com SOA +short | grep -q . ||
		wait_for 15 sh -c "ip netns exec $NS_A dig +time=1 +tries=1 -p ${2:-53} @$1 example.com SOA | grep -q 'status: NOERROR'" ||
		fail "registry $1 is not answering"
}

# Write a registry configuration: registry_conf FILE DEVICE LISTEN... (access any)
registry_conf() {
	local file=$1 dev=$2 l
	shift 2
	{
		echo "[daemon]"
		echo "status-socket = $T/$(basename "$file" .conf).sock"
		echo "[registry]"
		for l in "$@"; do echo "listen = $l"; done
		echo "access = any"
		echo "[zone example.com.]"
		echo "device = $dev"
	} >"$file"
}

# Start the client (wgsd -c, or the test driver when CLIENT_DRIVER=1): start_client CONFFILE
start_client() {
	local dflag=-d
	[ "${CLIENT_DEBUG:-1}" = 1 ] || dflag=
	if [ "${CLIENT_DRIVER:-}" = 1 ]; then
		ip netns exec "$NS_A" "$DRIVER" $dflag -c "$1" -s "$T/client.status" >"$T/client.log" 2>&1 &
	else
		ip netns exec "$NS_A" "$WGSD" $dflag -c "$1" >"$T/client.log" 2>&1 &
	fi
	PIDS+=($!)
	PID_client=$!
	CLIENT_CONF=$1
	# Status requests must not race the start-up (SIGUSR1 before the handler kills the driver).
	if [ "${CLIENT_DRIVER:-}" = 1 ]; then
		wait_for 30 grep -q "client-driver started" "$T/client.log" || fail "client did not start"
	else
		wait_for 30 test -S "$T/client.sock" || fail "client did not start"
	fi
}

# Print the client's status JSON (the "client" object).
client_status() {
	if [ "${CLIENT_DRIVER:-}" = 1 ]; then
		rm -f "$T/client.status"
		kill -USR1 "$PID_client"
		wait_for 5 test -f "$T/client.status" || return 1
		cat "$T/client.status"
	else
		local sock
		sock=$(awk -F' *= *' '$1 == "status-socket" { print $2 }' "$CLIENT_CONF")
		"$WGSDCTL" -s "$sock" status --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(json.dumps(d.get("client", d)))'
	fi
}

# Evaluate a Python expression on the client status (bound to "s"): status_eval EXPR
status_eval() {
	client_status | python3 -c 'import json, sys
s = json.load(sys.stdin)
def peer(key):
    for d in s["devices"]:
        for p in d["peers"]:
            if p["public_key"] == key:
                return p
    return None
def reg(addr):
    for d in s["devices"]:
        for r in d["registries"]:
            if r["address"] == addr:
                return r
    return None
dev = s["devices"][0]
v = eval(sys.argv[1])
print(v)
sys.exit(0 if v else 1)' "$1"
}

# Wait until at least N client cycles completed: wait_cycles N SECONDS
wait_cycles() {
	wait_for "$2" status_eval "dev['cycles'] >= $1" || fail "fewer than $1 client cycles after $2 s"
}
