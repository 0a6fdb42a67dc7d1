#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""WireGuard devices going away under a running wgsd with both roles.

One wgsd: a registry zone on device R (wireguard-go) and a client section on
device C whose peers have no endpoint; the client asks the registry on
127.0.0.1 and sets them.
  - R deleted: the zone answers SERVFAIL, the client writes nothing; R
    recreated with the same peers: the zone answers them again.
  - C deleted: the client reports the device down and keeps running; C
    recreated (peers without endpoints): the client sets the endpoints again.
  - R replaced by a device with other peers: the published set follows (new
    peers listed, old ones NXDOMAIN), and the client does not touch C's peers
    that the registry no longer knows."""
import os
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlib import *  # noqa: E402,F403

ZONE = "example.com."


def ptr_listing():
    """Sorted labels of the PTR listing, or the rcode when not NOERROR, or None."""
    raw = udp_exchange("127.0.0.1", 53, query("_wireguard._udp." + ZONE, T_PTR))
    if not raw:
        return None
    r = Response(raw)
    if r.rcode != NOERROR:
        return r.rcode
    return sorted(rd[1:1 + rd[0]].decode() for rd in r.answers(T_PTR))


def rcode_of(name, qtype):
    raw = udp_exchange("127.0.0.1", 53, query(name, qtype))
    return Response(raw).rcode if raw else None


def endpoints(dev):
    out = run("wg", "show", dev, "endpoints", check_rc=False)
    return dict(line.split("\t") for line in out.splitlines() if "\t" in line)


def body(lab):
    R = lab.ifname("hdr")
    C = lab.ifname("hdc")
    rkey, ckey = run("wg", "genkey").strip(), run("wg", "genkey").strip()
    p1, p2, p3, p4 = (rand_key() for _ in range(4))
    ep = {p1: "198.51.100.11:1111", p2: "[2001:db8::12]:1212", p3: "203.0.113.13:1313", p4: "203.0.113.14:1414"}

    def make_r(peers):
        lab.wg_start(R, private_key=rkey, listen_port=51820)
        args = []
        for i, k in enumerate(peers):
            args += ["peer", k, "endpoint", ep[k], "allowed-ips", f"10.0.0.{i + 1}/32"]
        lab.wg_set(R, *args)

    def make_c():
        lab.wg_start(C, private_key=ckey, listen_port=51821)
        lab.wg_set(C, "peer", p1, "allowed-ips", "10.1.0.1/32", "peer", p2, "allowed-ips", "10.1.0.2/32",
                   "peer", p3, "allowed-ips", "10.1.0.3/32")

    make_r([p1, p2])
    make_c()
    d = lab.wgsd_start("both", f"""[daemon]
status-socket = {lab.path('both.sock')}
[registry]
listen = 127.0.0.1:53
access = any
[zone {ZONE}]
device = {R}
refresh = 200ms
[client {C}]
registry = 127.0.0.1:53
zone = {ZONE}
interval = 1s
""")
    old = sorted(b32_label(k) for k in (p1, p2))
    new = sorted(b32_label(k) for k in (p3, p4))
    check(ptr_listing() == old, "registry lists R's peers")

    def c_set():
        e = endpoints(C)
        return e.get(p1) == ep[p1] and e.get(p2) == ep[p2] and e.get(p3) == "(none)"
    check(wait_until(c_set, 20), "client set C's peers from the registry (unknown peer untouched)")

    def zone_state():
        st = d.try_status()
        return st and st["registry"]["zones"][0]["state"]

    def client_dev():
        st = d.try_status()
        return st and st["client"]["devices"][0]

    # --- registry device deleted and recreated ---
    lab.wg_stop(R)
    check(wait_until(lambda: zone_state() == "servfail", 10), "zone state servfail while R is gone")
    check(wait_until(lambda: ptr_listing() == SERVFAIL, 5), "registry answers SERVFAIL while R is gone")
    time.sleep(1.5)   # a client cycle against the failing registry
    e = endpoints(C)
    check(e.get(p1) == ep[p1] and e.get(p2) == ep[p2], "client kept C's endpoints while the registry fails")
    check(d.alive(), "daemon alive with R gone")
    make_r([p1, p2])
    check(wait_until(lambda: ptr_listing() == old, 10), "R recreated: zone answers its peers again")
    check(zone_state() == "ok", "zone state ok again")

    # --- client device deleted and recreated ---
    lab.wg_stop(C)
    def c_down():
        dv = client_dev()
        return dv and dv["device_error"] is not None
    check(wait_until(c_down, 10), "client reports C down (device_error in status)")
    check(f'wgsd_client_device_up{{device="{C}"}} 0' in d.ctl_raw("metrics").decode(), "metrics: client device down")
    check(d.alive() and ptr_listing() == old, "daemon alive and registry serving with C gone")
    make_c()
    check(wait_until(c_set, 20), "C recreated: client set the endpoints again")
    check(wait_until(lambda: not c_down(), 10), "client reports C up again")

    # --- registry device replaced by one with different peers ---
    lab.wg_stop(R)
    make_r([p3, p4])
    check(wait_until(lambda: ptr_listing() == new, 10), "replaced R: published set follows (new peers)")
    for k in (p1, p2):
        check(rcode_of(f"{b32_label(k)}._wireguard._udp.{ZONE}", T_SRV) == NXDOMAIN, "old peer NXDOMAIN after replacement")
    check(rcode_of(f"{b32_label(p3)}._wireguard._udp.{ZONE}", T_SRV) == NOERROR, "new peer's SRV answered")
    check(wait_until(lambda: endpoints(C).get(p3) == ep[p3], 20), "client follows: p3 now set on C")
    e = endpoints(C)
    check(e.get(p1) == ep[p1] and e.get(p2) == ep[p2], "client did not touch peers the registry no longer knows")
    m = d.ctl_raw("metrics").decode()
    check(f'wgsd_zone_peers_published{{zone="{ZONE}",device="{R}"}} 2' in m, "metrics show the new published count")
    check(d.alive(), "daemon alive at the end")
    log = open(d.log_path(), errors="replace").read()
    print("log lines about devices:\n" + "\n".join(l for l in log.splitlines() if R in l or C in l)[:3000])


if __name__ == "__main__":
    require("ip", "wg", "wireguard-go")
    main_wrapper("dv", body)
