#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A two-port UDP forwarder that records what it forwards (tests only).

udp-tap.py PORT_A PORT_B DEST_A DEST_B OUT

Datagrams arriving on port PORT_A (any IPv4 address) are sent from PORT_B to
DEST_B (IPv4:port), and those arriving on PORT_B from PORT_A to DEST_A: two
WireGuard devices whose endpoints for each other are PORT_A and PORT_B talk
through it. Every datagram is appended to OUT as one line
"a2b|b2a HEX". Runs until killed.
"""
import selectors
import socket
import sys


def tuple_of(text):
    host, port = text.rsplit(":", 1)
    return (host, int(port))


def main():
    port_a, port_b = int(sys.argv[1]), int(sys.argv[2])
    dest_a, dest_b = (tuple_of(x) for x in sys.argv[3:5])
    out = open(sys.argv[5], "a", buffering=1)
    sa = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sa.bind(("0.0.0.0", port_a))
    sb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sb.bind(("0.0.0.0", port_b))
    sel = selectors.DefaultSelector()
    sel.register(sa, selectors.EVENT_READ, ("a2b", sb, dest_b))
    sel.register(sb, selectors.EVENT_READ, ("b2a", sa, dest_a))
    while True:
        for key, _ in sel.select():
            data, _ = key.fileobj.recvfrom(65536)
            tag, to_sock, dest = key.data
            out.write(f"{tag} {data.hex()}\n")
            to_sock.sendto(data, dest)


if __name__ == "__main__":
    main()
