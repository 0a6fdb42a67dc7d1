#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP listener limits, on loopback with the registry test driver (no root):
# connections over the cap are refused at once (reset or EOF, no answer)
# while those under it keep being served, a new connection is served once a
# slot frees, idle connections are closed, a client that sends but never reads
# is dropped, and the listener keeps serving afterwards.
set -eu
# shellcheck source=tests/registry/driver-lib.sh
. "$(dirname "$0")/driver-lib.sh"

cat >"$TMP/reg.conf" <<CONF
[registry]
listen = 127.0.0.1:$PORT
access = any
tcp-max-connections = 2
tcp-idle-timeout = 1s

[zone example.com.]
device = nosuch$$
refresh = 1s
CONF
driver_start

python3 - "$PORT" <<'PY' || fail "TCP limits"
import socket, struct, sys, time
port = int(sys.argv[1])

def query(qid):
    m = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x06\x00\x01"
    return struct.pack(">H", len(m)) + m

def answer(s, timeout):
    s.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            d = s.recv(4096)
            if not d:
                return None
            buf += d
    except socket.timeout:
        return None
    return buf[2:]

def closed(s, timeout):
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True

def refused(s, timeout):
    """True when the server closes (reset or EOF) within timeout without sending anything."""
    s.settimeout(timeout)
    try:
        return s.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

def served(s, qid):
    s.sendall(query(qid))
    r = answer(s, 5)
    return r is not None and struct.unpack(">H", r[:2])[0] == qid and r[3] & 15 == 2

# Two connections fill the cap; both are served (SERVFAIL: the device does not exist).
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
assert served(a, 1) and served(b, 2), "served within the cap"
# A third one (the kernel completes its handshake) is refused at once, its query unanswered.
c = socket.create_connection(("127.0.0.1", port))
try:
    c.sendall(query(3))
except (ConnectionResetError, BrokenPipeError):
    pass
assert refused(c, 1), "third connection above the cap not closed at once (or answered)"
c.close()
# The two under the cap keep being served.
assert served(a, 4) and served(b, 5), "connections under the cap not served after a refusal"
# A slot frees: a new connection is served. The server sees the close a moment
# later, so a connection refused before that is retried, as a client would.
a.close()
ok = False
for i in range(50):
    c = socket.create_connection(("127.0.0.1", port))
    try:
        ok = served(c, 6)
    except (ConnectionResetError, BrokenPipeError):
        ok = False
    if ok:
        break
    c.close()
    time.sleep(0.1)
assert ok, "new connection not served after a slot freed"
# Idle connections are closed by the server.
assert closed(b, 5), "idle connection not closed"
assert closed(c, 5), "idle connection not closed"

# A client that sends many queries and never reads is dropped: once the server's
# output queue is full it stops reading, and without write progress the idle
# timeout closes the connection while the client still has not read anything.
d = socket.create_connection(("127.0.0.1", port))
d.setblocking(False)
burst = query(4) * 2000
pending = burst
deadline = time.time() + 20
while time.time() < deadline:
    try:
        n = d.send(pending)
    except (ConnectionResetError, BrokenPipeError):
        # Dropped already: on a loaded machine this loop can stall past the
        # idle timeout between two sends. The checks below still hold.
        break
    except BlockingIOError:
        # Finish the message in flight so that the stream stays well framed, then stop.
        if len(pending) % len(query(4)) == 0:
            break
        time.sleep(0.05)
        continue
    pending = pending[n:] or burst
time.sleep(4)
# Closed by the server while we read nothing: CLOSE_WAIT (its FIN) or CLOSE (its RST), not ESTABLISHED.
state = d.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[0]
assert state in (7, 8), "connection still established (state %d)" % state
d.setblocking(True)
d.settimeout(5)
got_eof = False
try:
    while True:
        x = d.recv(1 << 20)
        if not x:
            got_eof = True
            break
except ConnectionResetError:
    got_eof = True
except socket.timeout:
    pass
assert got_eof, "client that never reads was not dropped"
e = socket.create_connection(("127.0.0.1", port))
e.sendall(query(5))
r = answer(e, 5)
assert r and struct.unpack(">H", r[:2])[0] == 5, "listener not serving after the drop"
e.close()
PY

[ "$(status_value 'r["listeners"][0]["tcp_rejected_full"] >= 1')" = True ] || fail "refusal at the cap not counted"
[ "$(status_value 'r["listeners"][0]["tcp_paused"]')" = 0 ] || fail "accept paused without running out of descriptors"
grep -q "^wgsd_registry_tcp_rejected_full_total{listener=\"127.0.0.1:$PORT\"} [1-9]" "$TMP/status" ||
	fail "refusal at the cap not in the metrics"
[ "$(status_value 'r["listeners"][0]["tcp_closed_idle"] >= 2')" = True ] || fail "idle closes not counted"
[ "$(status_value 'r["listeners"][0]["tcp_dropped_stalled"]')" = 1 ] || fail "stalled client not counted"
for _ in $(seq 1 50); do
	[ "$(status_value 'r["listeners"][0]["tcp_connections"]')" = 0 ] && break
	sleep 0.1
done
[ "$(status_value 'r["listeners"][0]["tcp_connections"]')" = 0 ] || fail "connections left open"
kill -0 "$DPID" || fail "driver died"
echo "PASS"
