#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A third party on the public segment, attacking relay ports (tests only).

mallory.py send HOST PORTS KIND [PUBKEY_B64 | HEXFILE]
    From one UDP socket (port 31337, IPv4 or IPv6 as HOST is), send to every port in PORTS (comma
    separated) datagrams of KIND, then listen for 2 s and print one line
    "sent N datagrams B bytes; received K datagrams L bytes". KIND:
      junk     random bytes of many sizes and every type byte 0..255
      badmac   WireGuard-shaped initiations, responses, cookies, data with
               a wrong mac1
      goodmac  initiations and responses whose mac1 is valid for PUBKEY (an
               insider who knows the receiver's public key)
      replay   the datagram(s) in HEXFILE (one hex string per line)
mallory.py sniff IFACE PORT SECONDS OUT READY
    In this namespace, capture IPv4/UDP datagrams to PORT on IFACE (AF_PACKET)
    for up to SECONDS and write the first WireGuard initiation's payload
    (148 bytes, type 1) to OUT as hex; exit 1 if none was seen. The file
    READY is created once the capture runs.
"""
import base64
import hashlib
import os
import select
import socket
import struct
import sys
import time


def mac1_key(pub):
    return hashlib.blake2s(b"mac1----" + pub).digest()


def with_mac1(msg, key):
    body = msg[:-32]
    mac = hashlib.blake2s(body, digest_size=16, key=key).digest()
    return body + mac + bytes(16)


def initiation(sender):
    return struct.pack("<I", 1) + struct.pack("<I", sender) + os.urandom(140)


def response(sender, receiver):
    return struct.pack("<I", 2) + struct.pack("<II", sender, receiver) + os.urandom(84)


def datagrams(kind, arg):
    out = []
    if kind == "junk":
        for t in range(256):
            for size in (1, 4, 32, 64, 92, 148, 200, 1400):
                out.append(bytes([t]) + os.urandom(size - 1))
    elif kind == "badmac":
        for i in range(40):
            out.append(initiation(i))
            out.append(response(i, i))
            out.append(struct.pack("<II", 3, i) + os.urandom(56))
            out.append(struct.pack("<II", 4, i) + os.urandom(8 + 16 * (i % 8 + 1)))
    elif kind == "goodmac":
        key = mac1_key(base64.b64decode(arg))
        for i in range(10):
            out.append(with_mac1(initiation(0x7000 + i), key))
            out.append(with_mac1(response(0x7100 + i, 0x7200 + i), key))
    elif kind == "replay":
        with open(arg) as f:
            out = [bytes.fromhex(line.strip()) for line in f if line.strip()]
    else:
        raise SystemExit(f"unknown kind {kind}")
    return out


def send(host, ports, kind, arg):
    v6 = ":" in host
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("::" if v6 else "0.0.0.0", 31337))
    n = b = 0
    for port in ports:
        for d in datagrams(kind, arg):
            s.sendto(d, (host, port))
            n += 1
            b += len(d)
            if n % 64 == 0:
                time.sleep(0.01)   # stay under the relay's socket buffer
    k = l = 0
    end = time.monotonic() + 2
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if r:
            d = s.recv(65536)
            k += 1
            l += len(d)
    print(f"sent {n} datagrams {b} bytes; received {k} datagrams {l} bytes")


def sniff(iface, port, seconds, out, ready):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    open(ready, "w").close()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
        if not r:
            continue
        frame = s.recv(65536)
        ip = frame[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        if len(udp) < 8 or struct.unpack("!H", udp[2:4])[0] != port:
            continue
        payload = udp[8:]
        if len(payload) == 148 and payload[0] == 1:
            with open(out, "w") as f:
                f.write(payload.hex() + "\n")
            return 0
    return 1


def main():
    if sys.argv[1] == "send":
        ports = [int(p) for p in sys.argv[3].split(",")]
        send(sys.argv[2], ports, sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
        return 0
    if sys.argv[1] == "sniff":
        return sniff(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
