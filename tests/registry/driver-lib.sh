# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the registry tests that run the registry glue on loopback with
# the test driver (registry-driver.c, no root): a temporary directory, a free
# port, starting the driver on a config, and reading its status.

DRIVER=${REGISTRY_DRIVER:-${WGSD_BUILDDIR:-build}/tests/registry/registry-driver}
command -v python3 >/dev/null || { [ -n "${CI:-}" ] && exit 1; exit 77; }
TMP=$(mktemp -d)
DPID=""
driver_cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$TMP"
}
trap driver_cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 50 "$TMP/driver.log" >&2 || true
	exit 1
}

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Start the driver on $TMP/reg.conf and wait (up to 5 s) until it serves.
driver_start() {
	"$DRIVER" "$TMP/reg.conf" "$TMP/status" >"$TMP/driver.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 50); do
		grep -q ready "$TMP/driver.log" && break
		sleep 0.1
	done
	grep -q ready "$TMP/driver.log" || fail "driver did not start"
}

# Print one value of the status (python expression on r) after asking the driver to write it.
status_value() {
	rm -f "$TMP/status"
	kill -USR1 "$DPID"
	for _ in $(seq 1 50); do
		[ -s "$TMP/status" ] && break
		sleep 0.1
	done
	head -n 1 "$TMP/status" | python3 -c "import json, sys; r = json.load(sys.stdin); print($1)"
}
