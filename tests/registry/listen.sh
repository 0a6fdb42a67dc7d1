#!/bin/bash
# SPDX-License-Identifier: MIT
# Default listeners on a host without IPv6 (socket(AF_INET6) failing as with
# ipv6.disable=1, through an LD_PRELOAD shim): with no "listen" configured
# wgsd warns, skips [::]:53 and serves on 0.0.0.0:53; an explicitly
# configured IPv6 listener still fails the start. With IPv6, the defaults
# open both listeners; wgsd -T prints the defaults as comments, so the
# normalized form keeps them defaults.
set -eu
. "$(dirname "$0")/lib.sh"
[ -f "${NO_IPV6_PRELOAD:-}" ] || fail "NO_IPV6_PRELOAD (the no-ipv6 shim) not set"
reg_require

DEV="rgl$$"
wg_dev_start "$NS" "$DEV"
in_ns "$NS" wg set "$DEV" private-key <(wg genkey) listen-port 51820 \
	peer "$(rand_key)" endpoint 192.0.2.1:51820 allowed-ips 10.0.0.1/32

# Write the config with the given listen lines (none: the defaults).
write_conf() {
	{
		printf '[daemon]\nstatus-socket = %s\n\n[registry]\naccess = any\n' "$TMP/wgsd.sock"
		for l in "$@"; do
			echo "listen = $l"
		done
		printf '\n[zone example.com.]\ndevice = %s\nrefresh = 200ms\n' "$DEV"
	} >"$TMP/wgsd.conf"
}

# Addresses of the open listeners, one line.
listeners() {
	status_value '" ".join(l["address"] for l in r["listeners"])'
}

# A sanitizer runtime must come first among the libraries; the shim comes before it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

echo "# no IPv6, default listeners: [::]:53 skipped with a warning, IPv4 served"
write_conf
ip netns exec "$NS" env LD_PRELOAD="$NO_IPV6_PRELOAD" "$WGSD" -c "$TMP/wgsd.conf" >"$TMP/wgsd.log" 2>&1 &
WGSD_PID=$!
wait_zones_ok || fail "wgsd did not start without IPv6"
[ "$(listeners)" = "0.0.0.0:53" ] || fail "listeners without IPv6: $(listeners)"
grep -q 'listen udp \[::\]:53: Address family not supported.*without the default IPv6 listener' "$TMP/wgsd.log" ||
	fail "no warning about the skipped IPv6 listener"
expect_in "$(in_ns "$NS" dig +tries=1 +time=3 @127.0.0.1 example.com SOA)" "status: NOERROR"
echo "# ... and a reload keeps it that way"
kill -HUP "$WGSD_PID"
retry 50 sh -c "[ \$(grep -c 'without the default IPv6 listener' '$TMP/wgsd.log') -ge 2 ]" ||
	fail "reload did not retry (and skip) the IPv6 listener"
retry 50 sh -c "grep -q 'configuration reloaded' '$TMP/wgsd.log'" || fail "reload failed without IPv6"
[ "$(listeners)" = "0.0.0.0:53" ] || fail "listeners after reload: $(listeners)"
kill "$WGSD_PID"
wait "$WGSD_PID" || true
WGSD_PID=""

echo "# no IPv6, IPv6 listener configured: the start fails"
write_conf 0.0.0.0:53 '[::]:53'
if in_ns "$NS" timeout 10 env LD_PRELOAD="$NO_IPV6_PRELOAD" "$WGSD" -c "$TMP/wgsd.conf" >"$TMP/wgsd.log" 2>&1; then
	fail "wgsd started without its configured IPv6 listener"
fi
grep -q 'listen udp \[::\]:53: Address family not supported' "$TMP/wgsd.log" || fail "no error for the IPv6 listener"

echo "# with IPv6, default listeners: both open"
write_conf
wgsd_start "$TMP/wgsd.conf"
[ "$(listeners)" = "0.0.0.0:53 [::]:53" ] || fail "default listeners: $(listeners)"
expect_not_in "$(cat "$TMP/wgsd.log")" "IPv6 listener"
expect_in "$(in_ns "$NS" dig +tries=1 +time=3 @::1 example.com SOA)" "status: NOERROR"

echo "# wgsd -T: defaults printed as comments; the normalized form has the same defaults"
"$WGSD" -T -c "$TMP/wgsd.conf" >"$TMP/norm.conf"
grep -q '^# (default) listen = \[::\]:53$' "$TMP/norm.conf" || fail "default listeners not marked in wgsd -T"
if grep -q '^listen' "$TMP/norm.conf"; then fail "default listeners written as configured ones"; fi
"$WGSD" -T -c "$TMP/norm.conf" | cmp -s - "$TMP/norm.conf" || fail "normalized form does not re-read the same"

kill -0 "$WGSD_PID" || fail "wgsd died"
echo "PASS"
