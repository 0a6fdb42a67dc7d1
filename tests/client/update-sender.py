#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Send candidate registrations (DNS UPDATE, RFC 2136, with the RFC 9664
lease option) to a registry, well-formed or hostile, and print the rcodes
of the responses (stdlib only).

  update-sender.py --server 10.9.0.254 --zone example.com. --key B64 \
      [--cand lan-0=192.168.1.2:51820 ...] [--lease 120] [--prereq] \
      [--count N | --duration S [--rate R]] [--timeout S]

--key names the peer whose names the UPDATE touches (it need not be the
sender's). --count sends N copies as fast as the socket takes them, then
collects the responses; --duration sends for S seconds, at --rate R per
second (0: as fast as it can), and also prints "sent N". Prints "rcode COUNT" lines, one per rcode seen, and
"none COUNT" for messages that got no answer.
"""
import argparse
import base64
import collections
import ipaddress
import os
import socket
import struct
import sys
import time

T_A, T_SOA, T_AAAA, T_SRV, T_OPT, T_ANY = 1, 6, 28, 33, 41, 255
C_IN, C_ANY = 1, 255


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rclass, ttl, rdata):
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def build(args, msg_id):
    b32 = base64.b32encode(base64.b64decode(args.key)).decode()
    zone = args.zone
    inst = name("%s._wgcand._udp.%s" % (b32, zone))
    updates = [rr(inst, T_ANY, C_ANY, 0, b"")]
    for c in args.cand:
        label, _, ep = c.partition("=")
        host, _, port = ep.rpartition(":")
        ip = ipaddress.ip_address(host.strip("[]"))
        target = name("%s.%s.%s" % (label, b32, zone))
        updates.append(rr(inst, T_SRV, C_IN, args.lease, struct.pack("!HHH", 0, 0, int(port)) + target))
        updates.append(rr(target, T_A if ip.version == 4 else T_AAAA, C_IN, args.lease, ip.packed))
    prereq = [rr(inst, T_ANY, C_ANY, 0, b"")] if args.prereq else []
    opt = rr(b"\0", T_OPT, 1232, 0, struct.pack("!HHI", 2, 4, args.lease))
    header = struct.pack("!HHHHHH", msg_id, 5 << 11, 1, len(prereq), len(updates), 1)
    return header + name(zone) + struct.pack("!HH", T_SOA, C_IN) + b"".join(prereq) + b"".join(updates) + opt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cand", action="append", default=[])
    ap.add_argument("--lease", type=int, default=120)
    ap.add_argument("--prereq", action="store_true")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--rate", type=float, default=0)
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect((args.server, args.port))
    base = int.from_bytes(os.urandom(2), "big")
    sent = set()
    seen = collections.Counter()
    start = time.time()
    i = 0
    while (i < args.count) if not args.duration else (time.time() - start < args.duration):
        if args.rate:
            ahead = start + i / args.rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        msg_id = (base + i) & 0xFFFF
        i += 1
        try:
            s.send(build(args, msg_id))
        except OSError:
            continue
        sent.add(msg_id)
        # Drain what came back meanwhile, so the socket buffer does not overflow.
        s.setblocking(False)
        try:
            while True:
                data = s.recv(4096)
                if len(data) >= 12:
                    rid, flags = struct.unpack("!HH", data[:4])
                    if rid in sent and flags & 0x8000:
                        sent.discard(rid)
                        seen[flags & 0xF] += 1
        except BlockingIOError:
            pass
        s.setblocking(True)
    deadline = time.time() + args.timeout
    while sent and time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        if len(data) >= 12:
            rid, flags = struct.unpack("!HH", data[:4])
            if rid in sent and flags & 0x8000:
                sent.discard(rid)
                seen[flags & 0xF] += 1
    names = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH", 10: "NOTZONE"}
    for code, n in sorted(seen.items()):
        print("%s %d" % (names.get(code, str(code)), n))
    if sent:
        print("none %d" % len(sent))
    if args.duration:
        print("sent %d" % i)
    return 0


if __name__ == "__main__":
    sys.exit(main())
