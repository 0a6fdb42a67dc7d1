#!/bin/bash
# SPDX-License-Identifier: MIT
# wg layer against wireguard-go in a namespace of its own: devices with 1,
# 1,000 and 5,000 peers and one peer with 10,000 allowed IPs read back as
# `wg show DEV dump` shows them; endpoints set (IPv4, IPv6) and read back;
# an update for a removed peer does not re-create it; missing devices give
# ENODEV; a device that goes away and comes back is read again.
set -eu

: "${WGREAD:?WGREAD must point to the wgread tool}"
. "$(dirname "$0")/lib.sh"

wg_require

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

A="wg${$}a"; B="wg${$}b"; C="wg${$}c"; D="wg${$}d"; E="wg${$}e"

echo "# devices with 1, 1000, 5000 peers and one with 10000 allowed IPs"
wg_start "$A"
wg_start "$B"
wg_start "$C"
wg_start "$D"
wg_gen_conf "$TMP/a.conf" 1
wg_gen_conf "$TMP/b.conf" 1000
wg_gen_conf "$TMP/c.conf" 5000
wg_gen_conf "$TMP/d.conf" 1 0 10000
wg setconf "$A" "$TMP/a.conf"
wg setconf "$B" "$TMP/b.conf"
wg setconf "$C" "$TMP/c.conf"
wg setconf "$D" "$TMP/d.conf"

for dev in "$A" "$B" "$C" "$D"; do
	wg_compare "$dev" || fail "default backend, $dev"
	wg_compare "$dev" --backend userspace || fail "userspace backend, $dev"
done
[ "$(tail -n +2 "$TMP/got.$C" | wc -l)" -eq 5000 ] || fail "expected 5000 peers on $C"
[ "$(tail -n +2 "$TMP/got.$D" | cut -f 4 | tr ',' '\n' | wc -l)" -eq 10001 ] ||
	fail "expected 10001 allowed IPs on $D"
# The device line carries the public key derived from the private key.
[ "$(head -n 1 "$TMP/got.$A" | cut -f 2)" = "$(wg show "$A" public-key)" ] || fail "device public key"
[ "$(head -n 1 "$TMP/got.$A" | cut -f 4)" = "0x5eed" ] || fail "fwmark"
echo "ok: reads match wg show dump"

echo "# endpoint updates"
wg_start "$E"
wg_gen_conf "$TMP/e.conf" 3
wg setconf "$E" "$TMP/e.conf"
mapfile -t P < <(wg show "$E" peers | LC_ALL=C sort)
P4=${P[0]}; P6=${P[1]}; PR=${P[2]}
P4_IPS=$(wg show "$E" allowed-ips | awk -v k="$P4" '$1 == k { $1 = ""; print }')

ep() { wg show "$E" endpoints | awk -v k="$1" '$1 == k { print $2 }'; }
ka() { wg show "$E" persistent-keepalive | awk -v k="$1" '$1 == k { print $2 }'; }

"$WGREAD" "$E" set "$P4" 192.0.2.10:51820 25 || fail "set IPv4 endpoint"
[ "$(ep "$P4")" = "192.0.2.10:51820" ] || fail "IPv4 endpoint not set: $(ep "$P4")"
[ "$(ka "$P4")" = "25" ] || fail "keepalive not set: $(ka "$P4")"
"$WGREAD" --backend userspace "$E" set "$P6" "[2001:db8::10]:51821" || fail "set IPv6 endpoint"
[ "$(ep "$P6")" = "[2001:db8::10]:51821" ] || fail "IPv6 endpoint not set: $(ep "$P6")"
# Keepalive "-" and omitted leave it unchanged; endpoint "-" leaves the endpoint.
wg set "$E" peer "$P6" persistent-keepalive 7
"$WGREAD" "$E" set "$P6" "[2001:db8::11]:51822" - || fail "set IPv6 endpoint again"
[ "$(ka "$P6")" = "7" ] || fail "keepalive changed by '-': $(ka "$P6")"
"$WGREAD" "$E" set "$P6" - 0 || fail "set keepalive off"
[ "$(ka "$P6")" = "off" ] || fail "keepalive not turned off"
[ "$(ep "$P6")" = "[2001:db8::11]:51822" ] || fail "endpoint changed by '-': $(ep "$P6")"
# Family switch both ways, read back through wgread itself.
"$WGREAD" "$E" set "$P4" "[2001:db8::12]:4500" || fail "switch to IPv6"
"$WGREAD" "$E" set "$P6" 203.0.113.5:4501 || fail "switch to IPv4"
"$WGREAD" "$E" >"$TMP/e.dump"
grep -q "^$P4	(none)	\[2001:db8::12\]:4500	" "$TMP/e.dump" || fail "wgread does not show P4's new endpoint"
grep -q "^$P6	(none)	203.0.113.5:4501	" "$TMP/e.dump" || fail "wgread does not show P6's new endpoint"
wg_compare "$E" || fail "after updates"
# Allowed IPs were left alone by the updates.
[ "$(wg show "$E" allowed-ips | awk -v k="$P4" '$1 == k { $1 = ""; print }')" = "$P4_IPS" ] ||
	fail "allowed IPs of P4 changed"
echo "ok: endpoints set and read back"

echo "# update of a removed peer"
wg set "$E" peer "$PR" remove
"$WGREAD" "$E" set "$PR" 192.0.2.11:1 30 || fail "update of a removed peer should succeed quietly"
wg show "$E" peers | grep -qx "$PR" && fail "update re-created a removed peer"
[ "$(wg show "$E" peers | wc -l)" -eq 2 ] || fail "peer count changed"
echo "ok: removed peer not re-created"

echo "# peers created with allowed IPs and removed"
PN=$(wg genkey | wg pubkey)
"$WGREAD" "$E" add "$PN" 10.77.0.1/32,2001:db8:77::/64 192.0.2.77:7777 21 || fail "create a peer"
[ "$(wg show "$E" allowed-ips | awk -v k="$PN" '$1 == k { $1 = ""; print }')" = " 10.77.0.1/32 2001:db8:77::/64" ] ||
	fail "created peer's allowed IPs: $(wg show "$E" allowed-ips)"
[ "$(ep "$PN")" = "192.0.2.77:7777" ] || fail "created peer's endpoint: $(ep "$PN")"
[ "$(ka "$PN")" = "21" ] || fail "created peer's keepalive: $(ka "$PN")"
PM=$(wg genkey | wg pubkey)
"$WGREAD" --backend userspace "$E" add "$PM" 10.77.0.2/32 || fail "create a peer without endpoint"
[ "$(ep "$PM")" = "(none)" ] || fail "peer created without endpoint has one: $(ep "$PM")"
"$WGREAD" "$E" remove "$PM" || fail "remove a peer"
wg show "$E" peers | grep -qx "$PM" && fail "removed peer still there"
"$WGREAD" "$E" remove "$PM" || fail "removing a missing peer should succeed quietly"
# The other peers were left alone.
[ "$(ep "$P4")" = "[2001:db8::12]:4500" ] || fail "P4 changed by create/remove"
"$WGREAD" "$E" remove "$PN" || fail "remove the created peer"
[ "$(wg show "$E" peers | wc -l)" -eq 2 ] || fail "peer count after create and remove"
echo "ok: peers created and removed"

echo "# missing device"
for args in "" "--backend userspace" "--backend auto"; do
	# shellcheck disable=SC2086
	if "$WGREAD" $args "nosuch$$" >/dev/null 2>"$TMP/err"; then
		fail "reading a missing device succeeded ($args)"
	fi
	grep -q "nosuch$$: WireGuard device not found" "$TMP/err" || fail "unclear error ($args): $(cat "$TMP/err")"
done
if "$WGREAD" "nosuch$$" set "$P4" 192.0.2.1:1 2>"$TMP/err"; then
	fail "setting on a missing device succeeded"
fi
grep -q "WireGuard device not found" "$TMP/err" || fail "unclear set error: $(cat "$TMP/err")"
if [ ! -d /sys/module/wireguard ] && ! modprobe -n -q wireguard 2>/dev/null; then
	# No kernel WireGuard on this host: the kernel backend says so.
	if "$WGREAD" --backend kernel "$A" >/dev/null 2>"$TMP/err"; then
		fail "kernel backend read a userspace device"
	fi
	grep -q "module not loaded" "$TMP/err" || fail "kernel backend error unclear: $(cat "$TMP/err")"
fi
echo "ok: missing device reported as not found"

echo "# WGSD_UAPI_DIR override"
mkdir "$TMP/uapi"
ln -s "$WG_SOCK_DIR/$A.sock" "$TMP/uapi/alias$$.sock"
WGSD_UAPI_DIR="$TMP/uapi" "$WGREAD" "alias$$" >"$TMP/alias.dump" || fail "read through WGSD_UAPI_DIR"
cmp -s "$TMP/alias.dump" "$TMP/got.$A" || fail "alias read differs"
if WGSD_UAPI_DIR="$TMP/uapi" "$WGREAD" "$A" >/dev/null 2>&1; then
	fail "WGSD_UAPI_DIR not honoured"
fi
echo "ok: socket directory override"

echo "# device goes away and comes back"
wg_stop "$A"
if "$WGREAD" "$A" >/dev/null 2>"$TMP/err"; then
	fail "read of a stopped device succeeded"
fi
grep -q "WireGuard device not found" "$TMP/err" || fail "stopped device: $(cat "$TMP/err")"
wg_start "$A"
wg setconf "$A" "$TMP/a.conf"
wg_compare "$A" || fail "device back"
echo "ok: device picked up again"
