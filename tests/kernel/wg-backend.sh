#!/bin/bash
# SPDX-License-Identifier: MIT
# Guest script (tests/kernel/qemu-run.sh): the wg layer's kernel backend
# (generic netlink) against real kernel WireGuard devices. Devices with 1,
# 1,000 and 5,000 peers and one peer with 10,000 allowed IPs read back by
# `wgread --backend kernel` exactly as `wg show DEV dump` shows them (the
# kernel splits such dumps over many netlink messages), also while other
# changes interrupt the dump (NLM_F_DUMP_INTR); endpoints (IPv4, IPv6)
# and keepalive set and read back; an update for a removed peer does not
# re-create it; missing and non-WireGuard devices give clear errors; auto
# picks the kernel when there is no UAPI socket; a device deleted and created
# again is read again; handshake and traffic counters of a real tunnel.
# Needs WGREAD (path of build-*/tests/wg/wgread). Runs on any host with kernel
# WireGuard too, but it creates and deletes devices: meant for the guest.
set -eu

: "${WGREAD:?WGREAD must point to the wgread tool}"

S=$$
NS="wgk-ns-$S"

# Outer part: run the test in a namespace of its own and delete that at the
# end. Deleting devices with thousands of peers one by one takes minutes
# under TCG (Linux 6.1 waits for an RCU grace period per peer); a namespace
# is torn down by the kernel in the background.
if [ "${1:-}" != --in-namespace ]; then
	[ "$(id -u)" = 0 ] || { echo "FAIL: must run as root (inside the qemu guest)" >&2; exit 1; }
	for prog in ip wg python3; do
		command -v "$prog" >/dev/null || { echo "FAIL: $prog missing" >&2; exit 1; }
	done
	ip netns add "$NS"
	rc=0
	ip netns exec "$NS" "$0" --in-namespace || rc=$?
	ip netns del "$NS"
	exit "$rc"
fi

A="wgk${S}a"; B="wgk${S}b"; C="wgk${S}c"; D="wgk${S}d"; E="wgk${S}e"
T1="wgk${S}t"; T2="wgk${S}u"
NS2="wgk-ns2-$S"
UAPI_DIR=/var/run/wireguard
step=start
START_S=$SECONDS
umask 077
TMP=$(mktemp -d)

# Report the step that failed; remove what the script created outside its
# namespace (the devices go with the namespace).
cleanup()
{
	rc=$?
	[ "$rc" = 0 ] || echo "FAIL: $step (exit $rc)"
	ip netns del "$NS2" 2>/dev/null || true
	rm -f "$UAPI_DIR/$A.sock" "$UAPI_DIR/$A.stale"
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT

# Name the next step; printed by cleanup if it fails.
begin()
{
	step=$*
	echo "# [$((SECONDS - START_S)) s] $step"
}

# Fail the current step with a reason.
fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# Milliseconds since the epoch.
now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# Compare `wg show DEV dump` with `wgread ARGS... DEV` (run in the current
# namespace or with the given `ip netns exec NS` prefix in $IN): every column
# but the private key (device line) and the preshared key (peer lines), in
# the kernel's order (peers and allowed IPs as the dump lists them: a merge
# that reorders or loses an allowed IP shows up here).
# compare DEV [WGREAD_ARGS...]
compare()
{
	local dev=$1
	shift
	${IN:-} wg show "$dev" dump >"$TMP/want.$dev"
	${IN:-} "$WGREAD" "$@" "$dev" >"$TMP/got.$dev" || fail "wgread $* $dev failed"
	head -n 1 "$TMP/want.$dev" | cut -f 2- >"$TMP/want.cmp"
	tail -n +2 "$TMP/want.$dev" | cut -f 1,3- >>"$TMP/want.cmp"
	head -n 1 "$TMP/got.$dev" | cut -f 2- >"$TMP/got.cmp"
	tail -n +2 "$TMP/got.$dev" | cut -f 1,3- >>"$TMP/got.cmp"
	if ! cmp -s "$TMP/want.cmp" "$TMP/got.cmp"; then
		echo "wgread $* $dev differs from wg show $dev dump (< wg, > wgread):" >&2
		diff "$TMP/want.cmp" "$TMP/got.cmp" | cut -c 1-300 | head -n 12 >&2
		fail "dump mismatch on $dev"
	fi
	# wgread never prints secrets.
	[ "$(head -n 1 "$TMP/got.$dev" | cut -f 1)" = "(none)" ] || fail "private key printed for $dev"
	[ "$(tail -n +2 "$TMP/got.$dev" | cut -f 2 | sort -u | tr '\n' ' ')" = "(none) " ] ||
		[ "$(wc -l <"$TMP/got.$dev")" = 1 ] || fail "preshared key printed for $dev"
}

# Endpoint and keepalive of a peer as wg shows them.
ep() { wg show "$E" endpoints | awk -v k="$1" '$1 == k { print $2 }'; }
ka() { wg show "$E" persistent-keepalive | awk -v k="$1" '$1 == k { print $2 }'; }

# The error wgread prints for ARGS... must contain TEXT: expect_error TEXT ARGS...
expect_error()
{
	local text=$1
	shift
	if "$WGREAD" "$@" >"$TMP/out" 2>"$TMP/err"; then
		fail "wgread $* succeeded"
	fi
	grep -q -- "$text" "$TMP/err" || fail "wgread $*: expected '$text', got: $(cat "$TMP/err")"
}

begin "kernel WireGuard available ($(uname -r))"
ip link set lo up
if ! grep -q '^wireguard ' /proc/modules && [ ! -d /sys/module/wireguard ]; then
	# Not loaded yet: the generic netlink family lookup autoloads it.
	expect_error "WireGuard device not found" --backend kernel "nosuch$S"
	grep -q '^wireguard ' /proc/modules || fail "family lookup did not load the wireguard module"
fi
ip link add "$A" type wireguard || fail "no kernel WireGuard here"

begin "generate configurations"
t0=$(now_ms)
mkdir -p "$UAPI_DIR"
# One python3 run for every file (python3 takes seconds to start under TCG).
# Keys are random 32-byte strings: any is a valid peer key for the kernel.
# Also a socket file nobody listens on, for the auto backend check.
python3 -I -S - "$TMP" "$UAPI_DIR/$A.stale" <<'EOF'
import base64, os, stat, sys
d = sys.argv[1]
os.mknod(sys.argv[2], stat.S_IFSOCK | 0o600)
key = lambda: base64.b64encode(os.urandom(32)).decode()
uniq = iter(range(1 << 20))  # extra allowed IPs never repeat across peers

def peer(i, extra=0, base=0):
    """Peer i: one /24, sometimes an IPv6 /64, extra /32s and /128s, endpoint, keepalive."""
    out = ["[Peer]", "PublicKey = " + key()]
    n = base + i
    ips = ["10.%d.%d.0/24" % (n >> 8 & 255, n & 255)]
    if i % 3 == 1:
        ips.append("fd00:%x::/64" % n)
    for j in range(extra):
        c = next(uniq)
        if j % 50 == 49:
            ips.append("fd01::%x/128" % c)
        else:
            ips.append("172.%d.%d.%d/32" % (16 + (c >> 16), c >> 8 & 255, c & 255))
    out.append("AllowedIPs = " + ",".join(ips))
    if i % 4 == 1:
        out.append("Endpoint = 198.51.100.%d:%d" % (i % 250 + 1, 1024 + i))
    elif i % 4 == 2:
        out.append("Endpoint = [2001:db8::%x]:%d" % (i + 1, 1024 + i))
    if i % 5 == 1:
        out.append("PersistentKeepalive = %d" % (i % 600 + 1))
    return out

def write(name, port, fwmark, peers):
    out = ["[Interface]", "PrivateKey = " + key(), "ListenPort = %d" % port]
    if fwmark:
        out.append("FwMark = 0x%x" % fwmark)
    for p in peers:
        out += p
    open(os.path.join(d, name), "w").write("\n".join(out) + "\n")

write("a.conf", 51001, 0x5eed, [peer(1)])
write("a2.conf", 51011, 0, [peer(i, 3, 100) for i in range(4)])
# Every 7th peer carries 60 allowed IPs, so messages also split inside peers.
write("b.conf", 51002, 0x1, [peer(i, 60 if i % 7 == 3 else 0) for i in range(1000)])
c_peers = [peer(i) for i in range(5000)]
write("c.conf", 51003, 0, c_peers)
# For the concurrent-change step: 50 peers spread over the list whose
# endpoints are switched together between two values.
toggled = [p[1].split()[2] for p in c_peers[50::100]]
open(os.path.join(d, "c.toggled.keys"), "w").write("\n".join(toggled) + "\n")
for name, ep in (("x", "192.0.2.1:1"), ("y", "[2001:db8::2]:2")):
    open(os.path.join(d, "c.%s.args" % name), "w").write("".join("peer\n%s\nendpoint\n%s\n" % (k, ep) for k in toggled))
# The big peer (/24, /64 and 9998 more: 10000) sits between two small ones:
# the merge must attach the repeated key's allowed IPs to it and then start
# the next peer cleanly.
write("d.conf", 51004, 0xffffffff, [peer(0, 0, 300), peer(1, 9998, 300), peer(2, 5, 300)])
keys = [key() for _ in range(3)]
open(os.path.join(d, "e.keys"), "w").write("\n".join(keys) + "\n")
write("e.conf", 51005, 0, [["[Peer]", "PublicKey = " + k, "AllowedIPs = 10.250.%d.0/24" % n]
                           for n, k in enumerate(keys)])
EOF
echo "generated in $(($(now_ms) - t0)) ms"

begin "configure devices with 1, 1000, 5000 peers and a peer with 10000 allowed IPs"
t0=$(now_ms)
for dev in "$B" "$C" "$D" "$E"; do
	ip link add "$dev" type wireguard
done
wg setconf "$A" "$TMP/a.conf"
wg setconf "$B" "$TMP/b.conf"
wg setconf "$C" "$TMP/c.conf"
wg setconf "$D" "$TMP/d.conf"
wg setconf "$E" "$TMP/e.conf"
# A preshared key that wgread must not print.
wg genpsk >"$TMP/psk"
wg set "$A" peer "$(wg show "$A" peers)" preshared-key "$TMP/psk"
echo "configured in $(($(now_ms) - t0)) ms"

begin "wgread --backend kernel matches wg show dump"
for dev in "$A" "$B" "$C" "$D"; do
	compare "$dev" --backend kernel
done
[ "$(tail -n +2 "$TMP/got.$A" | wc -l)" -eq 1 ] || fail "expected 1 peer on $A"
[ "$(tail -n +2 "$TMP/got.$B" | wc -l)" -eq 1000 ] || fail "expected 1000 peers on $B"
[ "$(tail -n +2 "$TMP/got.$C" | wc -l)" -eq 5000 ] || fail "expected 5000 peers on $C"
[ "$(tail -n +2 "$TMP/got.$D" | wc -l)" -eq 3 ] || fail "expected 3 peers on $D"
[ "$(sed -n 3p "$TMP/got.$D" | cut -f 4 | tr ',' '\n' | wc -l)" -eq 10000 ] ||
	fail "expected 10000 allowed IPs on the second peer of $D"
[ "$(head -n 1 "$TMP/got.$A" | cut -f 2)" = "$(wg show "$A" public-key)" ] || fail "device public key"
[ "$(head -n 1 "$TMP/got.$A" | cut -f 3,4)" = "51001	0x5eed" ] || fail "listen port / fwmark of $A"
[ "$(head -n 1 "$TMP/got.$D" | cut -f 4)" = "0xffffffff" ] || fail "fwmark 0xffffffff of $D"
[ "$(head -n 1 "$TMP/got.$C" | cut -f 4)" = "off" ] || fail "fwmark off of $C"

begin "time one full read of the 5000-peer device"
t0=$(now_ms)
"$WGREAD" --backend kernel "$C" >/dev/null
t1=$(now_ms)
wg show "$C" dump >/dev/null
t2=$(now_ms)
echo "figure: wgread --backend kernel, 5000 peers: $((t1 - t0)) ms (wg show dump: $((t2 - t1)) ms; qemu TCG, process start included)"

begin "reads while endpoints change: a consistent snapshot each time"
# Every change bumps the device's generation; a dump that spans one comes
# with NLM_F_DUMP_INTR and must be restarted. Without that a read mixes the
# two states: some of the 50 switched peers with one endpoint, some with the
# other (or it stops early when its cursor peer was removed).
mapfile -t args_x <"$TMP/c.x.args"
mapfile -t args_y <"$TMP/c.y.args"
wg set "$C" "${args_x[@]}"
rm -f "$TMP/stop"
(
	while [ ! -e "$TMP/stop" ]; do
		wg set "$C" "${args_y[@]}"
		sleep 0.05
		wg set "$C" "${args_x[@]}"
		sleep 0.05
	done
) &
toggler=$!
mixed_reads=0
for i in $(seq 1 12); do
	"$WGREAD" --backend kernel "$C" >"$TMP/c.read" || { touch "$TMP/stop"; fail "read $i during changes failed"; }
	# "peers endpoints-seen": 5000 peers, the 50 switched ones all alike.
	state=$(awk 'NR == FNR { t[$1]; next }
		FNR > 1 { n++; if ($1 in t) { s++; e[$3]++ } }
		END { k = 0; for (x in e) k++; print n + 0, s + 0, k }' "$TMP/c.toggled.keys" "$TMP/c.read")
	echo "read $i: peers, switched peers, distinct endpoints among them: $state"
	[ "$state" = "5000 50 1" ] || mixed_reads=$((mixed_reads + 1))
done
touch "$TMP/stop"
wait "$toggler" || fail "changing endpoints failed"
[ "$mixed_reads" = 0 ] || fail "$mixed_reads of 12 reads during changes were no consistent snapshot"
compare "$C" --backend kernel

begin "--backend auto reads the kernel device when no UAPI socket exists"
[ ! -e "$UAPI_DIR/$A.sock" ] || fail "$UAPI_DIR/$A.sock exists before the test"
compare "$A" --backend auto
compare "$D"
# A UAPI socket file with nobody listening: auto now takes the userspace
# backend (connection refused: not found), kernel still reads the device.
mv "$UAPI_DIR/$A.stale" "$UAPI_DIR/$A.sock"
expect_error "WireGuard device not found" --backend auto "$A"
compare "$A" --backend kernel
rm -f "$UAPI_DIR/$A.sock"
compare "$A" --backend auto

begin "endpoint and keepalive updates (update-only)"
mapfile -t P <"$TMP/e.keys"
P4=${P[0]}; P6=${P[1]}; PR=${P[2]}
ips_before=$(wg show "$E" allowed-ips)
"$WGREAD" --backend kernel "$E" set "$P4" 192.0.2.10:51820 25 || fail "set IPv4 endpoint"
[ "$(ep "$P4")" = "192.0.2.10:51820" ] || fail "IPv4 endpoint not set: $(ep "$P4")"
[ "$(ka "$P4")" = "25" ] || fail "keepalive not set: $(ka "$P4")"
"$WGREAD" --backend kernel "$E" set "$P6" "[2001:db8::10]:51821" || fail "set IPv6 endpoint"
[ "$(ep "$P6")" = "[2001:db8::10]:51821" ] || fail "IPv6 endpoint not set: $(ep "$P6")"
[ "$(ka "$P6")" = "off" ] || fail "keepalive changed without being asked: $(ka "$P6")"
# Keepalive "-" leaves it unchanged; endpoint "-" leaves the endpoint.
wg set "$E" peer "$P6" persistent-keepalive 7
"$WGREAD" --backend kernel "$E" set "$P6" "[2001:db8::11]:51822" - || fail "set IPv6 endpoint again"
[ "$(ka "$P6")" = "7" ] || fail "keepalive changed by '-': $(ka "$P6")"
[ "$(ep "$P6")" = "[2001:db8::11]:51822" ] || fail "second IPv6 endpoint not set: $(ep "$P6")"
"$WGREAD" --backend kernel "$E" set "$P6" - 0 || fail "set keepalive off"
[ "$(ka "$P6")" = "off" ] || fail "keepalive not turned off: $(ka "$P6")"
[ "$(ep "$P6")" = "[2001:db8::11]:51822" ] || fail "endpoint changed by '-': $(ep "$P6")"
# Family switch both ways (auto picks the kernel), read back through wgread.
"$WGREAD" "$E" set "$P4" "[2001:db8::12]:4500" || fail "switch to IPv6"
"$WGREAD" "$E" set "$P6" 203.0.113.5:4501 || fail "switch to IPv4"
"$WGREAD" --backend kernel "$E" >"$TMP/e.dump"
grep -q "^$P4	(none)	\[2001:db8::12\]:4500	" "$TMP/e.dump" || fail "wgread does not show P4's new endpoint"
grep -q "^$P6	(none)	203.0.113.5:4501	" "$TMP/e.dump" || fail "wgread does not show P6's new endpoint"
compare "$E" --backend kernel
[ "$(wg show "$E" allowed-ips)" = "$ips_before" ] || fail "allowed IPs changed by endpoint updates"
[ "$(ep "$PR")" = "(none)" ] || fail "an untouched peer got an endpoint"

begin "an update for a removed peer does not re-create it"
wg set "$E" peer "$PR" remove
"$WGREAD" --backend kernel "$E" set "$PR" 192.0.2.11:1 30 || fail "update of a removed peer should succeed quietly"
if wg show "$E" peers | grep -qx -- "$PR"; then
	fail "update re-created a removed peer"
fi
[ "$(wg show "$E" peers | wc -l)" -eq 2 ] || fail "peer count changed"
compare "$E" --backend kernel

begin "peers created with allowed IPs and removed"
PN=$(wg genkey | wg pubkey)
"$WGREAD" --backend kernel "$E" add "$PN" 10.77.0.1/32,2001:db8:77::/64 192.0.2.77:7777 21 || fail "create a peer"
[ "$(wg show "$E" allowed-ips | awk -v k="$PN" '$1 == k { $1 = ""; print }')" = " 10.77.0.1/32 2001:db8:77::/64" ] ||
	fail "created peer's allowed IPs: $(wg show "$E" allowed-ips)"
[ "$(ep "$PN")" = "192.0.2.77:7777" ] || fail "created peer's endpoint: $(ep "$PN")"
[ "$(ka "$PN")" = "21" ] || fail "created peer's keepalive: $(ka "$PN")"
"$WGREAD" --backend kernel "$E" remove "$PN" || fail "remove the created peer"
if wg show "$E" peers | grep -qx -- "$PN"; then
	fail "removed peer still there"
fi
"$WGREAD" --backend kernel "$E" remove "$PN" || fail "removing a missing peer should succeed quietly"
[ "$(wg show "$E" peers | wc -l)" -eq 2 ] || fail "peer count after create and remove"
compare "$E" --backend kernel

begin "missing and non-WireGuard devices"
for args in "--backend kernel" "--backend auto" ""; do
	# shellcheck disable=SC2086
	expect_error "nosuch$S: WireGuard device not found" $args "nosuch$S"
done
expect_error "WireGuard device not found" --backend kernel "nosuch$S" set "$P4" 192.0.2.1:1
expect_error "WireGuard device not found" "nosuch$S" set "$P4" 192.0.2.1:1
expect_error "lo: interface is not a WireGuard device" --backend kernel lo
expect_error "interface is not a WireGuard device" --backend kernel lo set "$P4" 192.0.2.1:1

begin "a device deleted and created again is read again"
ip link del "$A"
expect_error "WireGuard device not found" --backend kernel "$A"
ip link add "$A" type wireguard
compare "$A" --backend kernel
[ "$(wc -l <"$TMP/got.$A")" = 1 ] || fail "fresh device should have no peers"
wg setconf "$A" "$TMP/a2.conf"
compare "$A" --backend kernel
compare "$A" --backend auto
[ "$(tail -n +2 "$TMP/got.$A" | wc -l)" -eq 4 ] || fail "expected 4 peers on the new $A"

begin "handshake time and traffic counters of a tunnel (device in a namespace)"
# As in the kernel's selftests: the second device is created here and moved
# into the namespace; its UDP socket stays here, so both talk over loopback.
ip netns add "$NS2"
ip link add "$T1" type wireguard
ip link add "$T2" type wireguard
ip link set "$T2" netns "$NS2"
wg genkey >"$TMP/k1"
wg genkey >"$TMP/k2"
wg set "$T1" listen-port 51101 private-key "$TMP/k1" \
	peer "$(wg pubkey <"$TMP/k2")" allowed-ips 10.99.0.2/32 endpoint 127.0.0.1:51102
ip netns exec "$NS2" wg set "$T2" listen-port 51102 private-key "$TMP/k2" \
	peer "$(wg pubkey <"$TMP/k1")" allowed-ips 10.99.0.1/32 endpoint 127.0.0.1:51101
ip addr add 10.99.0.1/24 dev "$T1"
ip -n "$NS2" addr add 10.99.0.2/24 dev "$T2"
ip -n "$NS2" link set lo up
ip link set "$T1" up
ip -n "$NS2" link set "$T2" up
ping -c 2 -i 0.2 -W 5 10.99.0.2 >/dev/null || fail "no ping through the tunnel"
# Down: no further keepalives change the counters between the two reads.
ip link set "$T1" down
ip -n "$NS2" link set "$T2" down
compare "$T1" --backend kernel
tail -n +2 "$TMP/got.$T1" | awk '$5 > 0 && $6 > 0 && $7 > 0 { ok = 1 } END { exit !ok }' ||
	fail "handshake/rx/tx not counted: $(tail -n +2 "$TMP/got.$T1")"
IN="ip netns exec $NS2" compare "$T2" --backend kernel
IN="ip netns exec $NS2" compare "$T2" --backend auto
# The namespace's device is not visible from here.
expect_error "WireGuard device not found" --backend kernel "$T2"

step=finished
echo "# wg-backend: all steps passed"
