#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Measurements for tests/bench/xfr.sh (standard library only; requests from tests/registry/xfr-raw.py).

  xfrbench.py axfr SERVER ZONE ROUNDS [KEY SECRET]
      ROUNDS AXFRs one after the other (signed when KEY is given); prints JSON:
      bytes and messages of one transfer (TCP framing included), records,
      and each transfer's wall time in ms from request to last byte
  xfrbench.py propagate NAME ADDRESS SERVER...
      polls every SERVER (IP:PORT) every 5 ms for NAME's A/AAAA until it
      answers ADDRESS; prints JSON: ms from the start per server (null after 60 s)
  xfrbench.py axfr-loop SERVER ZONE SECONDS PARALLEL
      PARALLEL clients doing AXFRs back to back for SECONDS; prints JSON:
      transfers completed and bytes received
"""
import importlib.util
import json
import os
import socket
import struct
import sys
import threading
import time

_spec = importlib.util.spec_from_file_location(
    "xfr_raw", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry", "xfr-raw.py"))
raw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(raw)


def one_axfr(server, zone, key=None, secret=None):
    """(ms, bytes, messages, records) of one AXFR."""
    msg = raw.request(zone, "AXFR")
    if key:
        msg = raw.sign(msg, key, secret, int(time.time()))
    t0 = time.monotonic()
    s = raw.connect(server, None)
    s.sendall(struct.pack(">H", len(msg)) + msg)
    msgs = raw.read_transfer(s)
    ms = (time.monotonic() - t0) * 1e3
    s.close()
    if raw.summary(msgs[0])[0] != "NOERROR":
        raise SystemExit("AXFR failed: %s" % raw.summary(msgs[0])[0])
    return ms, sum(len(m) + 2 for m in msgs), len(msgs), sum(raw.summary(m)[1] for m in msgs)


def answer_of(server, name):
    """The addresses in the answer to NAME A (or AAAA when the name is an IPv6 host), as text."""
    ip, port = server.rsplit(":", 1)
    out = set()
    for qtype in (1, 28):
        q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + raw.wire_name(name) + struct.pack(">HH", qtype, 1)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(0.5)
        try:
            u.sendto(q, (ip, int(port)))
            m = u.recv(4096)
        except OSError:
            continue
        finally:
            u.close()
        qd, an = struct.unpack(">HH", m[4:8])
        pos = 12
        for _ in range(qd):
            pos = raw.skip_name(m, pos) + 4
        for _ in range(an):
            pos = raw.skip_name(m, pos)
            rtype, _, _, rdlen = struct.unpack(">HHIH", m[pos:pos + 10])
            rd = m[pos + 10:pos + 10 + rdlen]
            if rtype == 1:
                out.add(socket.inet_ntop(socket.AF_INET, rd))
            elif rtype == 28:
                out.add(socket.inet_ntop(socket.AF_INET6, rd))
            pos += 10 + rdlen
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "axfr":
        server, zone, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4])
        key, secret = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
        times = []
        for _ in range(rounds):
            ms, size, messages, records = one_axfr(server, zone, key, secret)
            times.append(ms)
        print(json.dumps({"bytes": size, "messages": messages, "records": records, "ms": times}))
        return 0
    if cmd == "propagate":
        name, want, servers = sys.argv[2], sys.argv[3], sys.argv[4:]
        t0 = time.monotonic()
        done = {}
        while len(done) < len(servers) and time.monotonic() - t0 < 60:
            for s in servers:
                if s not in done and want in answer_of(s, name):
                    done[s] = (time.monotonic() - t0) * 1e3
            time.sleep(0.005)
        print(json.dumps({s: done.get(s) for s in servers}))
        return 0
    if cmd == "axfr-loop":
        server, zone, seconds, parallel = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
        counts = [0] * parallel
        sizes = [0] * parallel
        stop = time.monotonic() + seconds

        def worker(i):
            while time.monotonic() < stop:
                _, size, _, _ = one_axfr(server, zone)
                counts[i] += 1
                sizes[i] += size
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(json.dumps({"transfers": sum(counts), "bytes": sum(sizes)}))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
