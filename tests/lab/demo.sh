#!/bin/bash
# SPDX-License-Identifier: MIT
# README command 1: the NAT lab for a person to watch.
#
#   sudo tests/lab/demo.sh
#
# As root on Debian 12: installs the packages wgsd needs (tests/deps.sh),
# builds into build-demo (WGSD_BUILD_DIR to change), builds the lab network
# in namespaces (a registry on 203.0.113.4, Alice behind NAT A, Bob behind
# NAT B; see tests/lab/lib.sh), starts wgsd on all three from
# conf/registry.conf, conf/alice.conf and conf/bob.conf, and shows what
# happens. Everything it creates lives in namespaces named wgsdlab-<pid>-*
# and is removed at the end, also on Ctrl-C or failure; the host's own
# interfaces and routes are never touched.
# Exit status: 0 only if Alice and Bob got a direct tunnel.
set -eu
# The walkthrough shows NAT traversal through the registry: no IPv6 (or LAN) candidate takes the path over.
export LAB_CANDIDATES=none
cd "$(dirname "$0")/../.."
src=$(pwd)
build=${WGSD_BUILD_DIR:-$src/build-demo}

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: run as root (it installs packages and creates network namespaces)" >&2
	exit 1
fi

echo "==== Installing packages (tests/deps.sh) and building into $build ===="
tests/deps.sh
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" >/dev/null
else
	meson setup "$build" >/dev/null
fi
ninja -C "$build" wgsd wgsdctl >/dev/null
echo "built $build/wgsd and $build/wgsdctl"

export WGSD=$build/wgsd WGSDCTL=$build/wgsdctl WGSD_SRCDIR=$src
# Kernel WireGuard when the host has the module, else wireguard-go.
export WG_IMPL=${WG_IMPL:-auto}
. "$src/tests/lab/lib.sh"

# Show a command as typed on node $1 (a "host" of the lab), then run it.
show()
{
	local node=$1
	shift
	printf '\n%s# %s\n' "$node" "$*"
	lab_in "$node" "$@" || true
}

# Show "wg show" on the three nodes.
show_wg()
{
	show reg wg show "${LAB_DEV[reg]}"
	show alice wg show "${LAB_DEV[alice]}"
	show bob wg show "${LAB_DEV[bob]}"
}

lab_require dig base32 base64
lab_init

lab_head "The network"
cat <<EOF
  registry  203.0.113.4 (public)                 WireGuard 10.0.0.254, wgsd registry role
     |
  public segment 203.0.113.0/24 ------------------+
     |                                            |
  NAT A 203.0.113.10 (UDP ports 30000-30999)   NAT B 203.0.113.20 (UDP ports 40000-40999)
     |                                            |
  alice 192.168.1.2, WireGuard 10.0.0.1        bob 192.168.2.2, WireGuard 10.0.0.2
  wgsd client role                             wgsd client role

Both NATs masquerade with new source ports and drop unsolicited inbound
traffic, like home routers. Alice and Bob know the registry's endpoint,
not each other's. (Namespaces: wgsdlab-$LAB_ID-*; WireGuard: $WG_IMPL.)
EOF
lab_topology
lab_wireguard

lab_head "WireGuard before wgsd: Alice and Bob have no endpoint for each other"
show_wg

lab_head "Starting wgsd on the registry, Alice and Bob"
for node in reg alice bob; do
	lab_conf "$node"
done
echo "from conf/registry.conf, conf/alice.conf and conf/bob.conf (the lab changes only the"
echo "device name, the status socket, and interval = 2s, handshake-timeout = 10s):"
grep -v '^;' "$LAB_RUN/alice.conf" | grep -v '^$' | sed 's/^/  alice.conf: /'
lab_daemons

lab_head "The registry's answers (dig from Alice, through the tunnel)"
show alice dig @"${LAB_TUN[reg]}" +noall +answer _wireguard._udp.example.com. PTR
show alice dig @"${LAB_TUN[reg]}" +noall +answer +additional "$(lab_b32 bob)._wireguard._udp.example.com." SRV

lab_head "Keys round-trip: base32 names in DNS, base64 keys in wg show"
printf '\nalice# dig @%s +short _wireguard._udp.example.com. PTR | cut -d. -f1 | base32 -d | base64\n' "${LAB_TUN[reg]}"
from_dns=$(lab_dig alice +short _wireguard._udp.example.com. PTR | cut -d. -f1 |
	while read -r b; do echo "$b" | base32 -d | base64; done | sort)
echo "$from_dns"
printf '\nregistry# wg show %s peers\n' "${LAB_DEV[reg]}"
from_wg=$(lab_in reg wg show "${LAB_DEV[reg]}" peers | sort)
echo "$from_wg"
if [ -n "$from_dns" ] && [ "$from_dns" = "$from_wg" ]; then
	echo "=> the same keys"
else
	echo "=> DIFFERENT (see above)"
fi

lab_head "Alice pings Bob directly"
if lab_wait_direct 60; then
	ms=$LAB_MS
	up=1
	echo "direct tunnel up $ms ms after wgsd started"
	show alice ping -c 3 "${LAB_TUN[bob]}"
else
	up=0
	echo "no direct tunnel within 60 s"
fi

lab_head "WireGuard after: each has the other's public NAT mapping as endpoint"
show_wg
echo
echo "NAT A maps alice to $(lab_nat_mapping nata alice | tr '\n' ' ')"
echo "NAT B maps bob to $(lab_nat_mapping natb bob | tr '\n' ' ')"

lab_head "What wgsd did (from its logs)"
grep -h 'endpoint .* -> ' "$LAB_RUN/wgsd-alice.log" | sed 's/^/  alice: /'
grep -h 'endpoint .* -> ' "$LAB_RUN/wgsd-bob.log" | sed 's/^/  bob:   /'

lab_head "wgsdctl status on Alice"
printf '\nalice# wgsdctl status\n'
lab_ctl alice status || true

lab_head "The registry relays nothing"
read -r r0 t0 <<<"$(lab_transfer reg alice)"
read -r b0 _ <<<"$(lab_transfer bob alice)"
lab_in alice ping -q -c 100 -i 0.01 -s 1000 "${LAB_TUN[bob]}" >/dev/null 2>&1 || true
read -r r1 t1 <<<"$(lab_transfer reg alice)"
read -r b1 _ <<<"$(lab_transfer bob alice)"
echo "100 pings of 1000 bytes alice -> bob: bob received $((b1 - b0)) bytes from alice;"
echo "the registry's counters for alice moved by $((r1 - r0 + t1 - t0)) bytes (keepalives and DNS only)"

lab_head "Result"
if [ "$up" = 1 ]; then
	echo "Alice and Bob found each other through the registry and talk directly (tunnel up after $ms ms)."
	echo "Cleaning up."
	exit 0
fi
echo "The direct tunnel did not come up; daemon logs follow." >&2
LAB_FAILED=1
exit 1
