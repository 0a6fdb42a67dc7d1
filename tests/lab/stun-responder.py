#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tiny STUN responder for the NAT lab (connectivity matrix, port-mapping rows).

Answers RFC 5389 Binding requests on ADDR:PORT with the request's source
address and port, as MAPPED-ADDRESS (RFC 3489, which miniupnpd reads) and
XOR-MAPPED-ADDRESS. It ignores CHANGE-REQUEST (it has one address): every
answer comes from ADDR:PORT, which a client that asked for a changed address
may take for a NAT; miniupnpd only checks that all four of its probes are
answered from the address it asked and with its own ports unchanged.
Everything else is dropped. Prints "ready" once the socket is bound.

Usage: stun-responder.py ADDR PORT
"""
import socket
import struct
import sys

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_RESPONSE = 0x0101


def answer(request, src):
    """The Binding success response to a request from src, or None."""
    if len(request) < 20:
        return None
    mtype, length, magic = struct.unpack_from("!HHI", request)
    if mtype != BINDING_REQUEST or magic != MAGIC or 20 + length > len(request):
        return None
    txid = request[8:20]
    addr = socket.inet_aton(src[0])
    port = src[1]
    mapped = struct.pack("!HHBBH4s", 0x0001, 8, 0, 1, port, addr)
    xaddr = bytes(a ^ b for a, b in zip(addr, struct.pack("!I", MAGIC)))
    xmapped = struct.pack("!HHBBH4s", 0x0020, 8, 0, 1, port ^ (MAGIC >> 16), xaddr)
    body = mapped + xmapped
    return struct.pack("!HHI", BINDING_RESPONSE, len(body), MAGIC) + txid + body


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: stun-responder.py ADDR PORT")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], int(sys.argv[2])))
    print("ready", flush=True)
    while True:
        request, src = sock.recvfrom(2048)
        response = answer(request, src)
        if response:
            sock.sendto(response, src)
            print(f"binding {src[0]}:{src[1]}", flush=True)


if __name__ == "__main__":
    main()
