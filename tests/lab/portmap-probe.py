#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Ask a home router for a UDP port mapping and delete it again (NAT lab).

The connectivity matrix uses it to prove that the router's miniupnpd really
maps ports with the one protocol the row says it offers, on a test port that
is not WireGuard's (so the row's outcome is not changed by the probe):

  portmap-probe.py natpmp GATEWAY CLIENT PORT   NAT-PMP (RFC 6886): external
      address, then MAP UDP PORT for 60 s, then delete it (lifetime 0)
  portmap-probe.py pcp GATEWAY CLIENT PORT      PCP (RFC 6887): MAP UDP PORT
      for 60 s, then delete it (same nonce, lifetime 0)
  portmap-probe.py silent-natpmp|silent-pcp GATEWAY CLIENT PORT
      succeeds when the router does NOT answer that protocol

CLIENT is the host's own LAN address (the socket binds to it; PCP carries it).
Prints one line per answer; exits 0 on success, 1 otherwise.
"""
import os
import socket
import struct
import sys

SERVER_PORT = 5351


def exchange(sock, gateway, request, check, tries=4, wait=0.25):
    """Send request until an answer passes check (returns it) or tries run out."""
    for attempt in range(tries):
        sock.sendto(request, (gateway, SERVER_PORT))
        sock.settimeout(wait * (attempt + 1))
        try:
            while True:
                data, src = sock.recvfrom(1100)
                if src[0] == gateway and src[1] == SERVER_PORT and check(data):
                    return data
        except socket.timeout:
            continue
    return None


def natpmp(sock, gateway, port):
    """NAT-PMP: external address, map UDP port, delete it. True on success."""
    data = exchange(sock, gateway, struct.pack("!BB", 0, 0),
                    lambda d: len(d) >= 12 and d[0] == 0 and d[1] == 128)
    if data is None:
        print("natpmp: no answer to the external address request")
        return False
    result, _epoch, ext = struct.unpack_from("!HI4s", data, 2)
    print(f"natpmp: external address {socket.inet_ntoa(ext)}, result {result}")
    if result != 0:
        return False
    for lifetime in (60, 0):
        req = struct.pack("!BBHHHI", 0, 1, 0, port, port if lifetime else 0, lifetime)
        data = exchange(sock, gateway, req,
                        lambda d: len(d) >= 16 and d[0] == 0 and d[1] == 129
                        and struct.unpack_from("!H", d, 8)[0] == port)
        if data is None:
            print(f"natpmp: no answer to the mapping request (lifetime {lifetime})")
            return False
        result, _epoch, iport, eport, life = struct.unpack_from("!HIHHI", data, 2)
        what = "mapped" if lifetime else "deleted"
        print(f"natpmp: {what} UDP {iport} -> external port {eport}, lifetime {life}, result {result}")
        if result != 0:
            return False
    return True


def pcp(sock, gateway, client, port):
    """PCP: MAP UDP port for 60 s, then delete it. True on success."""
    nonce = os.urandom(12)
    client6 = b"\0" * 10 + b"\xff\xff" + socket.inet_aton(client)
    any6 = b"\0" * 10 + b"\xff\xff" + b"\0" * 4
    for lifetime in (60, 0):
        req = struct.pack("!BBHI16s", 2, 1, 0, lifetime, client6)
        req += nonce + struct.pack("!B3xHH16s", 17, port, port if lifetime else 0, any6)
        data = exchange(sock, gateway, req,
                        lambda d: len(d) >= 60 and d[0] == 2 and d[1] == 0x81 and d[24:36] == nonce)
        if data is None:
            print(f"pcp: no answer to the MAP request (lifetime {lifetime})")
            return False
        result = data[3]
        life = struct.unpack_from("!I", data, 4)[0]
        eport = struct.unpack_from("!H", data, 42)[0]
        eaddr = socket.inet_ntoa(data[56:60])
        what = "mapped" if lifetime else "deleted"
        print(f"pcp: {what} UDP {port} -> {eaddr}:{eport}, lifetime {life}, result {result}")
        if result != 0:
            return False
    return True


def silent(sock, gateway, version):
    """True when the router answers nothing to a request of this version."""
    if version == 0:
        req = struct.pack("!BB", 0, 0)
    else:
        req = struct.pack("!BBHI16s", 2, 0, 0, 0, b"\0" * 16)  # ANNOUNCE
    data = exchange(sock, gateway, req, lambda d: True, tries=2)
    name = "natpmp" if version == 0 else "pcp"
    if data is not None:
        print(f"{name}: the router answered ({len(data)} bytes), yet it should not speak {name}")
        return False
    print(f"{name}: no answer, as expected")
    return True


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    mode, gateway, client, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((client, 0))
    if mode == "natpmp":
        ok = natpmp(sock, gateway, port)
    elif mode == "pcp":
        ok = pcp(sock, gateway, client, port)
    elif mode == "silent-natpmp":
        ok = silent(sock, gateway, 0)
    elif mode == "silent-pcp":
        ok = silent(sock, gateway, 2)
    else:
        sys.exit(__doc__)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
