#!/bin/bash
# SPDX-License-Identifier: MIT
# Refused-query logging has a global limit, on loopback with the registry test
# driver (no root): 2,000 refused queries from 2,000 source addresses
# (127.0.0.0/8 is local) log a bounded number of lines (a burst, then one per
# second), and every query not logged is counted in the summary line.
set -eu
# shellcheck source=tests/registry/driver-lib.sh
. "$(dirname "$0")/driver-lib.sh"

cat >"$TMP/reg.conf" <<CONF
[registry]
listen = 127.0.0.1:$PORT
access = any

[zone example.com.]
device = nosuch$$
refresh = 1s
CONF
driver_start

# 2,000 queries for a name outside the zone, each from its own address; the
# flood's duration (seconds, rounded up) bounds what the limit may log.
N=2000
secs=$(python3 - "$PORT" "$N" <<'PY'
import math, socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
m = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x03foo\x04test\x00\x00\x01\x00\x01"
t0 = time.monotonic()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.%d.%d.%d" % (10 + i // 62500, (i // 250) % 250, i % 250 + 1), 0))
    s.settimeout(2)
    s.sendto(m, ("127.0.0.1", port))
    try:
        s.recv(512)
    except socket.timeout:
        pass
    s.close()
print(math.ceil(time.monotonic() - t0))
PY
)
for _ in $(seq 1 50); do
	[ "$(status_value 'r["listeners"][0]["udp"]["rcodes"]["REFUSED"]')" -ge "$N" ] && break
	sleep 0.1
done
[ "$(status_value 'r["listeners"][0]["udp"]["rcodes"]["REFUSED"]')" = "$N" ] || fail "REFUSED answers: $(status_value 'r["listeners"][0]["udp"]["rcodes"]["REFUSED"]') of $N"

# Stopping the driver writes the summary of what was not logged.
kill "$DPID"
wait "$DPID" || true
DPID=""
logged=$(grep -c 'refused UDP query from 127\.' "$TMP/driver.log" || true)
unlogged=$(sed -n 's/.*registry: \([0-9]*\) refused queries not logged.*/\1/p' "$TMP/driver.log" | awk '{ s += $1 } END { print s + 0 }')
echo "flood of $N sources in ${secs}s: $logged lines logged, $unlogged counted as not logged"
[ "$logged" -ge 10 ] || fail "the first refused queries were not logged ($logged)"
[ "$logged" -le $((10 + secs + 1)) ] || fail "$logged lines logged for $N sources in ${secs}s (limit: 10 at once, then 1/s)"
[ "$((logged + $unlogged))" = "$N" ] || fail "logged ($logged) + not logged ($unlogged) != $N"
echo "PASS"
