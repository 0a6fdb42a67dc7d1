# SPDX-License-Identifier: MIT
# Helpers for the wg integration tests (sourced): prerequisites, one network
# namespace per run, wireguard-go devices in it, fast config generation.
#
# wireguard-go puts its UAPI socket in /var/run/wireguard/<ifname>.sock,
# which every namespace shares: device names carry the PID to stay unique.

WG_SOCK_DIR=/var/run/wireguard
NS="wgt$$"
TMP=""
WG_PIDS=""
WG_DEVS=""

# Fail (CI) or skip (elsewhere) when something the test needs is missing.
wg_require() {
	missing=""
	[ "$(id -u)" = 0 ] || missing="$missing root"
	for p in ip wg wireguard-go python3; do
		command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
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
	TMP=$(mktemp -d)
	trap wg_cleanup EXIT
}

# Stop our wireguard-go processes, remove the namespace and temporary files.
wg_cleanup() {
	for pid in $WG_PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $WG_PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	for dev in $WG_DEVS; do
		rm -f "$WG_SOCK_DIR/$dev.sock"
	done
	ip netns del "$NS" 2>/dev/null || true
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# Start wireguard-go for interface $1 inside the namespace and wait for its socket.
wg_start() {
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		ip netns exec "$NS" wireguard-go -f "$1" >"$TMP/$1.log" 2>&1 &
	WG_PIDS="$WG_PIDS $!"
	echo "$!" >"$TMP/$1.pid"
	WG_DEVS="$WG_DEVS $1"
	for _ in $(seq 1 100); do
		[ -S "$WG_SOCK_DIR/$1.sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: wireguard-go did not create $WG_SOCK_DIR/$1.sock" >&2
	cat "$TMP/$1.log" >&2
	exit 1
}

# Stop the wireguard-go of interface $1 (by the PID we started) and wait until its socket is gone.
wg_stop() {
	kill "$(cat "$TMP/$1.pid")"
	for _ in $(seq 1 100); do
		[ -S "$WG_SOCK_DIR/$1.sock" ] || return 0
		sleep 0.1
	done
	echo "FAIL: $1 did not go away" >&2
	exit 1
}

# Write a wg(8) config to $1 with $2 peers; peer $3 (if set) gets $4 extra /32 allowed IPs.
# Keys are random 32-byte strings (any 32 bytes are a valid public key for wg set).
wg_gen_conf() {
	python3 - "$@" <<'EOF'
import base64, os, sys
path, npeers = sys.argv[1], int(sys.argv[2])
big = int(sys.argv[3]) if len(sys.argv) > 3 else -1
nbig = int(sys.argv[4]) if len(sys.argv) > 4 else 0
key = lambda: base64.b64encode(os.urandom(32)).decode()
out = ["[Interface]", "PrivateKey = " + key(), "ListenPort = %d" % (20000 + os.getpid() % 20000), "FwMark = 0x%x" % 0x5eed]
for i in range(npeers):
    out.append("[Peer]")
    out.append("PublicKey = " + key())
    ips = ["10.%d.%d.0/24" % (i >> 8, i & 255)]
    if i % 3 == 1:
        ips.append("fd00:%x::/64" % i)
    if i == big:
        ips += ["172.%d.%d.%d/32" % (16 + (j >> 16), (j >> 8) & 255, j & 255) for j in range(nbig)]
    out.append("AllowedIPs = " + ",".join(ips))
    if i % 4 == 1:
        out.append("Endpoint = 198.51.100.%d:%d" % (i % 250 + 1, 1024 + i))
    elif i % 4 == 2:
        out.append("Endpoint = [2001:db8::%x]:%d" % (i + 1, 1024 + i))
    if i % 5 == 1:
        out.append("PersistentKeepalive = %d" % (i % 600 + 1))
open(path, "w").write("\n".join(out) + "\n")
EOF
}

# Compare `wg show $1 dump` with wgread's output: the device line without the
# private key, and the peer lines (sorted: wireguard-go lists peers in map
# order) without the preshared key column.
wg_compare() {
	dev=$1
	shift
	wg show "$dev" dump >"$TMP/want.$dev"
	"$WGREAD" "$@" "$dev" >"$TMP/got.$dev"
	head -n 1 "$TMP/want.$dev" | cut -f 2- >"$TMP/want.head"
	head -n 1 "$TMP/got.$dev" | cut -f 2- >"$TMP/got.head"
	tail -n +2 "$TMP/want.$dev" | cut -f 1,3- | LC_ALL=C sort >"$TMP/want.peers"
	tail -n +2 "$TMP/got.$dev" | cut -f 1,3- | LC_ALL=C sort >"$TMP/got.peers"
	if ! cmp -s "$TMP/want.head" "$TMP/got.head" || ! cmp -s "$TMP/want.peers" "$TMP/got.peers"; then
		echo "FAIL: wgread $* $dev differs from wg show dump:" >&2
		diff "$TMP/want.head" "$TMP/got.head" | head -n 5 >&2
		diff "$TMP/want.peers" "$TMP/got.peers" | head -n 10 >&2
		return 1
	fi
	# wgread never prints secrets.
	[ "$(head -n 1 "$TMP/got.$dev" | cut -f 1)" = "(none)" ] || { echo "FAIL: private key printed" >&2; return 1; }
	return 0
}
