#!/bin/bash
# SPDX-License-Identifier: MIT
# Guest script (tests/kernel/qemu-run.sh): both roles of wgsd on kernel
# WireGuard devices (backend auto, so the netlink backend). Two namespaces on
# a veth: R runs the registry (zone on its wg device, answered through the
# tunnel only, access = peers), C runs the client. dig from C gets the SRV,
# A and AAAA records of R's peers, including C's own endpoint as the kernel
# learned it from the handshake; the client sets the endpoints of C's stale
# peers from the registry, follows a change, leaves an unknown peer alone;
# both daemons pick their devices up again after they are deleted and
# created anew. Needs WGSD and WGSDCTL; meant for the guest (it creates
# namespaces and devices), but runs on any host with kernel WireGuard.
set -eu

: "${WGSD:?WGSD must point to the wgsd binary}"
: "${WGSDCTL:?WGSDCTL must point to the wgsdctl binary}"

S=$$
NR="wgk-r-$S"
NC="wgk-c-$S"
WR="wgk${S}r"
WC="wgk${S}c"
Z=example.com
step=start
START_S=$SECONDS
PIDS=""
umask 077
TMP=$(mktemp -d)

# Report the failed step with the daemons' logs; stop what we started.
cleanup()
{
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "FAIL: $step (exit $rc)"
		for f in "$TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 30 lines)"
			tail -n 30 "$f"
		done
	fi
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NR" 2>/dev/null || true
	ip netns del "$NC" 2>/dev/null || true
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

# Run a command in R or C.
in_r() { ip netns exec "$NR" "$@"; }
in_c() { ip netns exec "$NC" "$@"; }

# Wait until a command succeeds: wait_for SECONDS CMD... (TCG is slow: generous limits)
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

# Base32 name of a base64 key, as the registry publishes it.
b32() { printf '%s' "$1" | base64 -d | base32 -w 0; }

# Endpoint and keepalive of a peer on C's device as wg shows them.
ep_c() { in_c wg show "$WC" endpoints | awk -v k="$1" '$1 == k { print $2 }'; }
ka_c() { in_c wg show "$WC" persistent-keepalive | awk -v k="$1" '$1 == k { print $2 }'; }
# True when C's peer $1 has endpoint $2.
ep_c_is() { [ "$(ep_c "$1")" = "$2" ]; }

# dig from C through the tunnel; +short answers.
q() { in_c dig +tries=1 +time=3 +short "@10.0.0.254" "$@"; }
# True when the registry answers the apex SOA through the tunnel.
soa_ok() { in_c dig +tries=1 +time=2 "@10.0.0.254" "$Z" SOA | grep -q 'status: NOERROR'; }
# True when the answer to "q ARGS..." (all but the last argument) equals the last argument.
q_is()
{
	local want=${*: -1}
	[ "$(q "${@:1:$#-1}")" = "$want" ]
}

# The registry's zone status: "backend state" as wgsdctl reports them.
zone_status()
{
	"$WGSDCTL" -s "$TMP/reg.sock" status --json |
		grep -o '"backend":"[a-z]*","state":"[a-z]*"' | head -n 1 | sed 's/"backend":"\([a-z]*\)","state":"\([a-z]*\)"/\1 \2/'
}
zone_status_is() { [ "$(zone_status)" = "$1" ]; }

# Create and configure R's device (with extra "wg set" arguments): make_r ARGS...
make_r()
{
	ip -n "$NR" link add "$WR" type wireguard
	in_r wg set "$WR" listen-port 51820 private-key "$TMP/r.key" \
		peer "$PUB_C" allowed-ips 10.0.0.2/32 \
		peer "$P1" allowed-ips 10.0.0.11/32 endpoint "$P1_EP" \
		peer "$P2" allowed-ips 10.0.0.12/32 endpoint "[2001:db8:ffff::12]:1212" "$@"
	ip -n "$NR" addr add 10.0.0.254/24 dev "$WR"
	ip -n "$NR" link set "$WR" up
}

# Create and configure C's device: make_c ARGS...
make_c()
{
	ip -n "$NC" link add "$WC" type wireguard
	in_c wg set "$WC" listen-port 51821 private-key "$TMP/c.key" \
		peer "$PUB_R" allowed-ips 10.0.0.254/32 endpoint 192.0.2.1:51820 \
		peer "$P1" allowed-ips 10.0.0.11/32 \
		peer "$P2" allowed-ips 10.0.0.12/32 \
		peer "$P3" allowed-ips 10.0.0.13/32 "$@"
	ip -n "$NC" addr add 10.0.0.2/24 dev "$WC"
	ip -n "$NC" link set "$WC" up
}

begin "kernel WireGuard and tools ($(uname -r))"
[ "$(id -u)" = 0 ] || fail "must run as root (inside the qemu guest)"
for prog in ip wg dig base32 base64; do
	command -v "$prog" >/dev/null || fail "$prog missing"
done
modprobe wireguard 2>/dev/null || true

begin "namespaces R and C on a veth, kernel WireGuard devices"
ip netns add "$NR"
ip netns add "$NC"
ip link add "vr$S" netns "$NR" type veth peer name "vc$S" netns "$NC"
ip -n "$NR" link set lo up
ip -n "$NC" link set lo up
ip -n "$NR" addr add 192.0.2.1/24 dev "vr$S"
ip -n "$NR" addr add 2001:db8::1/64 dev "vr$S" nodad
ip -n "$NC" addr add 192.0.2.2/24 dev "vc$S"
ip -n "$NC" addr add 2001:db8::2/64 dev "vc$S" nodad
ip -n "$NR" link set "vr$S" up
ip -n "$NC" link set "vc$S" up
wg genkey >"$TMP/r.key"
wg genkey >"$TMP/c.key"
PUB_R=$(wg pubkey <"$TMP/r.key")
PUB_C=$(wg pubkey <"$TMP/c.key")
# Peers known only by key: any 32 bytes are a valid public key.
P1=$(wg genkey); P2=$(wg genkey); P3=$(wg genkey); P4=$(wg genkey)
P1_EP=198.51.100.11:1111
make_r
make_c

begin "registry on R (device $WR, backend auto)"
cat >"$TMP/reg.conf" <<EOF
[daemon]
log-level = info
status-socket = $TMP/reg.sock

[registry]
listen = 10.0.0.254:53
access = peers

[zone $Z.]
device = $WR
refresh = 500ms
EOF
in_r "$WGSD" -c "$TMP/reg.conf" >"$TMP/reg.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 60 soa_ok || fail "registry does not answer through the tunnel"
zone_status_is "kernel ok" || fail "zone status: $(zone_status) (want kernel ok)"

begin "dig from C: SRV, A, AAAA and PTR of R's peers"
B1=$(b32 "$P1"); B2=$(b32 "$P2"); BC=$(b32 "$PUB_C")
q_is "$B1._wireguard._udp.$Z" SRV "0 0 1111 $B1.$Z." || fail "SRV of P1: $(q "$B1._wireguard._udp.$Z" SRV)"
q_is "$B1.$Z" A 198.51.100.11 || fail "A of P1: $(q "$B1.$Z" A)"
q_is "$B2._wireguard._udp.$Z" SRV "0 0 1212 $B2.$Z." || fail "SRV of P2: $(q "$B2._wireguard._udp.$Z" SRV)"
q_is "$B2.$Z" AAAA 2001:db8:ffff::12 || fail "AAAA of P2: $(q "$B2.$Z" AAAA)"
# C's endpoint is what R's kernel learned from C's handshake.
q_is "$BC.$Z" A 192.0.2.2 || fail "A of C (learned endpoint): $(q "$BC.$Z" A)"
q_is "$BC._wireguard._udp.$Z" SRV "0 0 51821 $BC.$Z." || fail "SRV of C: $(q "$BC._wireguard._udp.$Z" SRV)"
q "_wireguard._udp.$Z" PTR | sort >"$TMP/ptr"
printf '%s\n' "$B1._wireguard._udp.$Z." "$B2._wireguard._udp.$Z." "$BC._wireguard._udp.$Z." | sort >"$TMP/ptr.want"
cmp -s "$TMP/ptr" "$TMP/ptr.want" || fail "PTR listing: $(tr '\n' ' ' <"$TMP/ptr")"
[ -z "$(q "$(b32 "$P3").$Z" A)" ] || fail "an unpublished peer has an A record"

begin "client on C sets the stale peers' endpoints"
cat >"$TMP/cli.conf" <<EOF
[daemon]
log-level = info
status-socket = $TMP/cli.sock

[client $WC]
registry = 10.0.0.254:53
zone = $Z.
interval = 1s
keepalive = 25
EOF
in_c "$WGSD" -c "$TMP/cli.conf" >"$TMP/cli.log" 2>&1 &
PIDS="$PIDS $!"
wait_for 60 ep_c_is "$P1" "$P1_EP" || fail "P1's endpoint not set: $(ep_c "$P1")"
wait_for 30 ep_c_is "$P2" "[2001:db8:ffff::12]:1212" || fail "P2's IPv6 endpoint not set: $(ep_c "$P2")"
[ "$(ka_c "$P1")" = 25 ] || fail "keepalive not set with the endpoint: $(ka_c "$P1")"
# Unknown to the registry: untouched. The registry's own peer: untouched.
ep_c_is "$P3" "(none)" || fail "unknown peer got an endpoint: $(ep_c "$P3")"
ep_c_is "$PUB_R" 192.0.2.1:51820 || fail "registry peer's endpoint changed: $(ep_c "$PUB_R")"
[ "$(ka_c "$P3")" = off ] || fail "unknown peer's keepalive changed"

begin "the client follows a change at the registry"
P1_EP=198.51.100.21:2121
in_r wg set "$WR" peer "$P1" endpoint "$P1_EP"
wait_for 60 q_is "$B1.$Z" A 198.51.100.21 || fail "registry did not publish P1's new endpoint"
wait_for 60 ep_c_is "$P1" "$P1_EP" || fail "P1's new endpoint not set: $(ep_c "$P1")"

begin "devices deleted: the registry reports it, the daemons keep running"
ip -n "$NR" link del "$WR"
ip -n "$NC" link del "$WC"
# (The status names the configured backend while the zone is not readable.)
wait_for 30 zone_status_is "auto servfail" || fail "zone status with the device gone: $(zone_status)"
grep -q "zone $Z.: .*WireGuard device not found" "$TMP/reg.log" || fail "registry log does not say the device is gone"
"$WGSDCTL" -s "$TMP/cli.sock" status --json >"$TMP/cli.status" || fail "client status"
for pid in $PIDS; do
	kill -0 "$pid" || fail "a daemon exited when its device went away"
done

begin "devices created anew (a new peer P4): both roles pick them up"
make_r peer "$P4" allowed-ips 10.0.0.14/32 endpoint 203.0.113.44:4444
make_c peer "$P4" allowed-ips 10.0.0.14/32
wait_for 60 soa_ok || fail "registry does not answer through the new tunnel"
wait_for 30 zone_status_is "kernel ok" || fail "zone status: $(zone_status) (want kernel ok)"
wait_for 30 q_is "$(b32 "$P4").$Z" A 203.0.113.44 || fail "registry does not publish P4 of the new device"
wait_for 60 ep_c_is "$P4" 203.0.113.44:4444 || fail "client did not set P4 on the new device: $(ep_c "$P4")"
wait_for 30 ep_c_is "$P1" "$P1_EP" || fail "client did not set P1 on the new device: $(ep_c "$P1")"
ep_c_is "$P3" "(none)" || fail "unknown peer got an endpoint on the new device"

step=finished
echo "# registry-client: all steps passed"
