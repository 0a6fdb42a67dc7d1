#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A minimal STUN responder (RFC 5389 Binding) for the port-mapping tests.

miniupnpd refuses to map ports when its external address is in a reserved
range (the documentation ranges the tests use) unless a STUN server tells it
that this address is what the outside sees. This answers every Binding
request with the sender's address as XOR-MAPPED-ADDRESS.
"""
import argparse
import socket
import struct

MAGIC = 0x2112A442


def answer(req, addr):
    """The Binding success response to req from addr, or None."""
    if len(req) < 20:
        return None
    mtype, _mlen, cookie = struct.unpack("!HHI", req[:8])
    if mtype != 0x0001 or cookie != MAGIC:
        return None
    txid = req[8:20]
    ip = socket.inet_aton(addr[0])
    xport = addr[1] ^ (MAGIC >> 16)
    xip = struct.unpack("!I", ip)[0] ^ MAGIC
    attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, xport, xip)
    # Some clients read MAPPED-ADDRESS only: send both.
    attr += struct.pack("!HHBBH4s", 0x0001, 8, 0, 1, addr[1], ip)
    return struct.pack("!HHI", 0x0101, len(attr), MAGIC) + txid + attr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=3478)
    ap.add_argument("--ready", help="file created once listening")
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.listen, a.port))
    if a.ready:
        open(a.ready, "w").close()
    while True:
        req, addr = s.recvfrom(2048)
        resp = answer(req, addr)
        if resp:
            s.sendto(resp, addr)


if __name__ == "__main__":
    main()
