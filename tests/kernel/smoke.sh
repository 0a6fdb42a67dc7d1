#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest script: checks that the qemu harness gives a test what it needs for
# kernel WireGuard. Run as: tests/kernel/qemu-run.sh tests/kernel/smoke.sh
# Exits 0 only if every step worked.
set -eu

ns=wgsd-smoke-$$
step=start
umask 077
tmp=$(mktemp -d)

# Report the step that failed; remove what the script created.
cleanup()
{
	rc=$?
	[ "$rc" = 0 ] || echo "FAIL: $step (exit $rc)"
	ip netns del "$ns" 2>/dev/null || true
	ip link del wgsmoke0 2>/dev/null || true
	ip link del wgsmoke1 2>/dev/null || true
	nft delete table inet wgsd_smoke 2>/dev/null || true
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

# Name the next step; printed by cleanup if it fails.
begin()
{
	step=$*
	echo "# $step"
}

begin "running on the Debian kernel, not the host's"
uname -r | grep -q -- '-amd64$'

begin "modprobe wireguard"
modprobe wireguard
grep -q '^wireguard ' /proc/modules

begin "ip link add type wireguard; wg set; wg show dump"
ip link add wgsmoke0 type wireguard
wg genkey >"$tmp/key0"
wg genkey >"$tmp/key1"
wg genkey >"$tmp/key2"
pub0=$(wg pubkey <"$tmp/key0")
pub1=$(wg pubkey <"$tmp/key1")
pub2=$(wg pubkey <"$tmp/key2")
wg set wgsmoke0 listen-port 51820 private-key "$tmp/key0" \
	peer "$pub2" allowed-ips 10.99.0.0/24 endpoint 192.0.2.99:51999 persistent-keepalive 25
wg show wgsmoke0 dump >"$tmp/dump"
cat "$tmp/dump"
# Interface line: private-key public-key listen-port fwmark.
head -n 1 "$tmp/dump" | awk -v k="$(cat "$tmp/key0")" -v p="$pub0" \
	'$1 == k && $2 == p && $3 == 51820 && $4 == "off" { ok = 1 } END { exit !ok }'
# Peer line: public-key psk endpoint allowed-ips handshake rx tx keepalive.
sed -n 2p "$tmp/dump" | awk -v p="$pub2" \
	'$1 == p && $3 == "192.0.2.99:51999" && $4 == "10.99.0.0/24" && $8 == 25 { ok = 1 } END { exit !ok }'
[ "$(wc -l <"$tmp/dump")" = 2 ]
ip link del wgsmoke0

begin "nft (nf_tables loaded on demand)"
nft add table inet wgsd_smoke
nft add chain inet wgsd_smoke input '{ type filter hook input priority 0; policy accept; }'
nft list tables | grep -q 'inet wgsd_smoke'

begin "network namespace with a veth pair"
ip netns add "$ns"
ip link add wgsmoke-veth0 type veth peer name wgsmoke-veth1
ip link set wgsmoke-veth1 netns "$ns"
ip addr add 192.0.2.1/24 dev wgsmoke-veth0
ip link set wgsmoke-veth0 up
ip -n "$ns" addr add 192.0.2.2/24 dev wgsmoke-veth1
ip -n "$ns" link set wgsmoke-veth1 up
ip -n "$ns" link set lo up
ping -c 1 -W 5 192.0.2.2 >/dev/null

begin "wireguard tunnel into the namespace"
ip link add wgsmoke0 type wireguard
wg set wgsmoke0 listen-port 51820 private-key "$tmp/key0" \
	peer "$pub1" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51821
ip addr add 10.99.0.1/24 dev wgsmoke0
ip link set wgsmoke0 up
ip -n "$ns" link add wgsmoke1 type wireguard
ip netns exec "$ns" wg set wgsmoke1 listen-port 51821 private-key "$tmp/key1" \
	peer "$pub0" allowed-ips 10.99.0.1/32 endpoint 192.0.2.1:51820
ip -n "$ns" addr add 10.99.0.2/24 dev wgsmoke1
ip -n "$ns" link set wgsmoke1 up

begin "ping through the tunnel"
ping -c 3 -i 0.2 -W 5 10.99.0.2
ip netns exec "$ns" ping -c 1 -W 5 10.99.0.1 >/dev/null

begin "handshake and traffic counted by wg"
wg show wgsmoke0 dump | sed -n 2p | awk -v p="$pub1" \
	'$1 == p && $5 > 0 && $6 > 0 && $7 > 0 { ok = 1 } END { exit !ok }'
ip netns exec "$ns" wg show wgsmoke1 latest-handshakes | awk '$2 > 0 { ok = 1 } END { exit !ok }'

step=finished
echo "# smoke: all steps passed"
