# SPDX-License-Identifier: MIT
# Helpers for the registry integration tests (sourced): prerequisites, one
# network namespace per run with wireguard-go devices, the real wgsd with a
# config file, and DNS clients run inside the namespace.
#
# wireguard-go's UAPI sockets live in /var/run/wireguard, shared by every
# namespace: interface names carry the PID.

WG_SOCK_DIR=/var/run/wireguard
NS="rgr$$"
NSC="rgc$$"
TMP=""
PIDS=""
DEVS=""
WGSD_PID=""
NAMESPACES=""
WGSD=${WGSD:-${WGSD_BUILDDIR:-build}/wgsd}
WGSDCTL=${WGSDCTL:-${WGSD_BUILDDIR:-build}/wgsdctl}

fail() {
	echo "FAIL: $*" >&2
	[ -n "$TMP" ] && [ -f "$TMP/wgsd.log" ] && { echo "--- wgsd log:" >&2; tail -n 30 "$TMP/wgsd.log" >&2; }
	exit 1
}

# Fail (CI) or skip (elsewhere) when something the test needs is missing.
reg_require() {
	missing=""
	[ "$(id -u)" = 0 ] || missing="$missing root"
	for p in ip wg wireguard-go dig kdig drill python3 base32 base64; do
		command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -x "$WGSD" ] || missing="$missing wgsd-binary"
	if [ -z "$missing" ] && ! ip netns add "$NS" 2>/dev/null; then
		missing="$missing network-namespaces"
	fi
	if [ -n "$missing" ]; then
		if [ -n "${CI:-}" ]; then
			echo "FAIL: missing prerequisites:$missing" >&2
			exit 1
		fi
		echo "SKIP: missing prerequisites:$missing" >&2
		exit 77
	fi
	NAMESPACES="$NS"
	TMP=$(mktemp -d)
	trap reg_cleanup EXIT
	ip -n "$NS" link set lo up
}

# Stop what we started (by PID), remove namespaces and temporary files.
reg_cleanup() {
	[ -n "$WGSD_PID" ] && kill "$WGSD_PID" 2>/dev/null
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $WGSD_PID $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	for dev in $DEVS; do
		rm -f "$WG_SOCK_DIR/$dev.sock"
	done
	for ns in $NAMESPACES; do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# A second namespace $1 (removed by cleanup) joined to $NS by a veth pair:
# $2 on $NS's side with address $3, $4 on $1's side with address $5, both up.
reg_peer_ns() {
	ip netns add "$1"
	NAMESPACES="$NAMESPACES $1"
	ip -n "$1" link set lo up
	ip link add "$2" netns "$NS" type veth peer name "$4" netns "$1"
	ip -n "$NS" addr add "$3" dev "$2"
	ip -n "$1" addr add "$5" dev "$4"
	ip -n "$NS" link set "$2" up
	ip -n "$1" link set "$4" up
}

# Run a command in namespace $1.
in_ns() {
	ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Start wireguard-go for interface $2 in namespace $1 and wait for its UAPI socket.
wg_dev_start() {
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		ip netns exec "$1" wireguard-go -f "$2" >"$TMP/$2.log" 2>&1 &
	PIDS="$PIDS $!"
	echo "$!" >"$TMP/$2.pid"
	DEVS="$DEVS $2"
	for _ in $(seq 1 100); do
		[ -S "$WG_SOCK_DIR/$2.sock" ] && ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$TMP/$2.log" >&2
	fail "wireguard-go did not create $2"
}

# Stop the wireguard-go of interface $1 and wait until its socket is gone.
wg_dev_stop() {
	kill "$(cat "$TMP/$1.pid")" 2>/dev/null || true
	for _ in $(seq 1 100); do
		[ -S "$WG_SOCK_DIR/$1.sock" ] || return 0
		sleep 0.1
	done
	fail "$1 did not go away"
}

# A random 32-byte key in base64 (any 32 bytes are a valid public key for wg set).
rand_key() {
	head -c 32 /dev/urandom | base64
}

# Base32 label (upper case, padded) of a base64 key.
b32_of() {
	echo "$1" | base64 -d | base32 -w0
}

# Start wgsd with config $1 in namespace $2 (default $NS); wait until every zone is readable.
wgsd_start() {
	conf=$1
	ns=${2:-$NS}
	ip netns exec "$ns" "$WGSD" -c "$conf" >"$TMP/wgsd.log" 2>&1 &
	WGSD_PID=$!
	wait_zones_ok "$ns" || fail "wgsd did not bring its zones up"
}

# Status JSON of the running wgsd (namespace $1, default $NS).
wgsd_status() {
	ip netns exec "${1:-$NS}" "$WGSDCTL" -s "$TMP/wgsd.sock" status --json
}

# Wait (up to 10 s) until every zone's state is "ok".
wait_zones_ok() {
	for _ in $(seq 1 100); do
		if wgsd_status "${1:-$NS}" 2>/dev/null | python3 -c '
import json, sys
z = json.load(sys.stdin)["registry"]["zones"]
sys.exit(0 if z and all(x["state"] == "ok" for x in z) else 1)' 2>/dev/null; then
			return 0
		fi
		kill -0 "$WGSD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Print one value from the registry status: a Python expression on r (the registry object).
status_value() {
	wgsd_status | python3 -c "import json, sys; r = json.load(sys.stdin)['registry']; print($1)"
}

# Retry a command (quietly) for up to $1 tenths of a second until it succeeds.
retry() {
	n=$1
	shift
	for _ in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Check that text $1 contains $2.
expect_in() {
	case "$1" in
	*"$2"*) ;;
	*) fail "expected '$2' in: $1" ;;
	esac
}

# Check that text $1 does not contain $2.
expect_not_in() {
	case "$1" in
	*"$2"*) fail "did not expect '$2' in: $1" ;;
	*) ;;
	esac
}
