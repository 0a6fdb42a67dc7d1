#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a wg(8) configuration with N peers for the benchmarks.

Every peer has an endpoint (two in three IPv4 in 198.51.100.0/24 or
203.0.113.0/24, one in three IPv6 in 2001:db8::/32) and allowed IPs (an IPv4
/32, plus an IPv6 /128 for every second peer), so the registry publishes all
of them. Keys are random 32-byte strings: any 32 bytes are a valid public key
for wg(8). Usage: gen-peers.py N OUT.conf [KEYS.txt]
"""
import base64
import os
import sys


def main():
    n, path = int(sys.argv[1]), sys.argv[2]
    keys_path = sys.argv[3] if len(sys.argv) > 3 else None
    out = ["[Interface]", "PrivateKey = " + base64.b64encode(os.urandom(32)).decode(),
           "ListenPort = %d" % (40000 + os.getpid() % 20000)]
    keys = []
    for i in range(n):
        key = base64.b64encode(os.urandom(32)).decode()
        keys.append(key)
        ips = ["10.%d.%d.%d/32" % (64 + (i >> 16), (i >> 8) & 255, i & 255)]
        if i % 2 == 1:
            ips.append("fd00:b::%x/128" % (i + 1))
        if i % 3 == 2:
            ep = "[2001:db8:%x::%x]:%d" % (i >> 16, (i & 0xffff) + 1, 1024 + i % 60000)
        else:
            net = "198.51.100" if i % 3 == 0 else "203.0.113"
            ep = "%s.%d:%d" % (net, 1 + i % 254, 1024 + i % 60000)
        out += ["[Peer]", "PublicKey = " + key, "AllowedIPs = " + ",".join(ips), "Endpoint = " + ep]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    if keys_path:
        with open(keys_path, "w") as f:
            f.write("\n".join(keys) + "\n")


if __name__ == "__main__":
    main()
