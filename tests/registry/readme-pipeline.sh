#!/bin/bash
# SPDX-License-Identifier: MIT
# README.md's dig pipeline, run exactly as written, prints every published key,
# one per line, as "wg show DEV peers" does: a registry with five peers on a
# wireguard-go device in a namespace, listening on 10.0.0.254:53 (the
# README's address, on the namespace's loopback), zone example.com. Both
# copies are run: the one under "Record layout" and alice's in the quick
# start. No substitution is needed: the namespace has the README's address.
set -eu
. "$(dirname "$0")/lib.sh"
reg_require

README=${WGSD_SRCDIR:-.}/README.md
[ -r "$README" ] || fail "cannot read $README"

echo "# the commands, extracted from README.md"
# The fenced block after "Anyone can debug it with `dig`:".
layout=$(awk '
	/^Anyone can debug it with `dig`:/ { seen = 1; next }
	seen && /^```/ { if (inside) exit; inside = 1; next }
	inside { print }' "$README")
# The quick start's "alice$ dig ... PTR | cut" line and its continuation lines
# (a line ending in "|" continues), prompt and indentation removed.
quick=$(awk '
	/^ *alice\$ dig .*PTR \| cut/ { take = 1; sub(/^ *alice\$ /, "") }
	take { sub(/^ +/, ""); print; if ($0 !~ /\|$/) exit }' "$README")
for cmd in "$layout" "$quick"; do
	[ -n "$cmd" ] || fail "pipeline not found in README.md (layout: [$layout], quick start: [$quick])"
	expect_in "$cmd" "@10.0.0.254 "
	expect_in "$cmd" "_wireguard._udp.example.com. PTR"
	printf '%s\n' "$cmd"
done

DEV="rgp$$"
wg_dev_start "$NS" "$DEV"
ip -n "$NS" addr add 10.0.0.254/32 dev lo
(umask 077 && wg genkey >"$TMP/dev.key")
peers=()
for i in 1 2 3 4 5; do
	peers+=(peer "$(rand_key)" endpoint "192.0.2.$i:5182$i" allowed-ips "10.0.0.$i/32")
done
in_ns "$NS" wg set "$DEV" private-key "$TMP/dev.key" listen-port 51820 "${peers[@]}"

cat >"$TMP/wgsd.conf" <<CONF
[daemon]
status-socket = $TMP/wgsd.sock

[registry]
listen = 10.0.0.254:53
access = any

[zone example.com.]
device = $DEV
backend = userspace
refresh = 200ms
CONF
wgsd_start "$TMP/wgsd.conf"

want=$(in_ns "$NS" wg show "$DEV" peers | LC_ALL=C sort)
[ "$(printf '%s\n' "$want" | wc -l)" = 5 ] || fail "expected 5 peers on $DEV: [$want]"

n=0
for cmd in "$layout" "$quick"; do
	n=$((n + 1))
	echo "# README pipeline $n = wg show $DEV peers"
	got=$(in_ns "$NS" bash -c "$cmd" 2>"$TMP/pipeline.err" | LC_ALL=C sort) || true
	[ "$got" = "$want" ] ||
		fail "README pipeline $n printed [$got] (stderr: $(cat "$TMP/pipeline.err")), wg show $DEV peers prints [$want]"
done

kill -0 "$WGSD_PID" || fail "wgsd died"
echo "PASS"
