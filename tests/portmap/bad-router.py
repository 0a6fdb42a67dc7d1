#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A router that answers port-mapping requests badly, for tests/portmap.

On --addr (the router's LAN address):
  - PCP (UDP 5351, version 2): every request gets garbage back: a 7-byte
    datagram, then a well-formed MAP response carrying another nonce;
  - NAT-PMP (UDP 5351, version 0): never answered;
  - UPnP: SSDP M-SEARCH on 239.255.255.250:1900 is answered with a
    LOCATION on --http-port, whose HTTP server waits --slow seconds
    before sending a description that holds no Internet Gateway Device.
Every request is counted in --log, one line each ("pcp", "natpmp",
"ssdp", "http").
"""
import argparse
import socket
import struct
import threading
import time


def log(path, what):
    with open(path, "a") as f:
        f.write(what + "\n")


def serve_pcp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, 5351))
    while True:
        req, peer = s.recvfrom(2048)
        if not req:
            continue
        if req[0] == 2:
            log(a.log, "pcp")
            s.sendto(b"\x02\x81\x00\x00bad", peer)
            if len(req) >= 60:
                resp = bytearray(req[:60])
                resp[1] |= 0x80
                resp[24] ^= 0xFF  # another nonce
                s.sendto(bytes(resp), peer)
        else:
            log(a.log, "natpmp")


def serve_ssdp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 1900))
    mreq = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton(a.addr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    while True:
        req, peer = s.recvfrom(4096)
        if not req.startswith(b"M-SEARCH"):
            continue
        log(a.log, "ssdp")
        st = b"urn:schemas-upnp-org:device:InternetGatewayDevice:1"
        for line in req.split(b"\r\n"):
            if line.lower().startswith(b"st:"):
                st = line[3:].strip()
        resp = (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: " + st +
                b"\r\nUSN: uuid:00000000-0000-0000-0000-000000000001::" + st +
                b"\r\nEXT:\r\nSERVER: test/1.0 UPnP/1.1 bad-router/1.0\r\nLOCATION: http://" +
                a.addr.encode() + b":" + str(a.http_port).encode() + b"/rootDesc.xml\r\n\r\n")
        s.sendto(resp, peer)


def answer_http(conn, a):
    try:
        conn.recv(4096)
        log(a.log, "http")
        time.sleep(a.slow)
        body = b"<?xml version=\"1.0\"?><root><device><deviceType>urn:example:device:Toaster:1</deviceType></device></root>"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: " +
                     str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    except OSError:
        pass
    finally:
        conn.close()


def serve_http(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.http_port))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=answer_http, args=(conn, a), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--http-port", type=int, default=5000)
    ap.add_argument("--slow", type=float, default=3.0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    for f in (serve_pcp, serve_ssdp, serve_http):
        threading.Thread(target=f, args=(a,), daemon=True).start()
    time.sleep(0.2)
    open(a.ready, "w").close()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
