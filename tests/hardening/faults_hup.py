#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SIGHUP 1,000 times while dnsperf queries the registry.

Each SIGHUP is sent after the previous reload was seen in the status counters
(signals sent faster would merge). Valid configurations alternate the TTL,
and every 100th changes the zone's refresh (the zone restarts); every 20th
reload is an invalid configuration of one of several kinds (syntax, unknown
key, bad value, a listener that cannot be bound, so a partial apply is rolled
back) and must keep the old one serving: the next valid query is answered
with the published records, from the same listener.

dnsperf runs at a fixed rate with a 1-second timeout over the whole storm
and 2 seconds after it, then is interrupted: a query dropped during a reload
is counted as lost. Asserted: 0 lost, every response NOERROR, RSS growth
between the warm-up (first 100 reloads) and the end below 1 MiB (not in an
AddressSanitizer build, whose quarantine keeps freed memory resident)."""
import os
import signal
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlib import *  # noqa: E402,F403

ZONE = "example.com."
HUPS = int(os.environ.get("HUP_COUNT", "1000"))
WARMUP = 100
RSS_GROWTH_MAX_KIB = 1024
QPS = 10000


def conf(lab, dev, ttl, refresh_ms, extra_listen=None, broken=None):
    listens = f"listen = {PUBLIC_ADDR}:53\nlisten = 127.0.0.1:53\n"
    if extra_listen:
        listens += f"listen = {extra_listen}\n"
    text = f"""[daemon]
status-socket = {lab.path('hup.sock')}
[registry]
{listens}access = any
ttl = {ttl}
[zone {ZONE}]
device = {dev}
refresh = {refresh_ms}ms
"""
    if broken == "syntax":
        text += "[zone example.net.\ndevice = x\n"
    elif broken == "unknown-key":
        text += "no-such-key = 1\n"
    elif broken == "bad-value":
        text = text.replace(f"ttl = {ttl}", "ttl = -5")
    elif broken == "bad-zone":
        text += "[zone ..bad..]\ndevice = x\n"
    return text


def write_atomic(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def valid_answer(labels, raw):
    try:
        r = Response(raw)
    except (ValueError, struct.error, IndexError, TypeError):
        return False
    return r.rcode == NOERROR and r.aa and sorted(rd[1:1 + rd[0]].decode() for rd in r.answers(T_PTR)) == labels


def body(lab):
    dev = lab.ifname("hhu")
    lab.wg_start(dev, private_key=run("wg", "genkey").strip(), listen_port=51820)
    keys = [rand_key() for _ in range(4)]
    args = []
    for i, k in enumerate(keys):
        args += ["peer", k, "endpoint", f"192.0.2.{i + 1}:51820", "allowed-ips", f"10.0.0.{i + 1}/32"]
    lab.wg_set(dev, *args)
    labels = sorted(b32_label(k) for k in keys)
    d = lab.wgsd_start("hup", conf(lab, dev, 7, 200))
    vq = query("_wireguard._udp." + ZONE, T_PTR)
    check(valid_answer(labels, udp_exchange("127.0.0.1", 53, vq)), "valid answer before the storm")

    qfile = lab.path("queries.txt")
    with open(qfile, "w") as f:
        f.write(f"_wireguard._udp.{ZONE} PTR\n{ZONE} SOA\n{ZONE} NS\n")
    perf_out = open(lab.path("dnsperf.out"), "w")
    perf = subprocess.Popen(["dnsperf", "-s", PUBLIC_ADDR, "-p", "53", "-d", qfile, "-l", "600",
                             "-Q", str(QPS), "-t", "1", "-c", "1", "-q", "50"],
                            stdout=perf_out, stderr=subprocess.STDOUT)
    lab.procs.append(("dnsperf", perf))
    time.sleep(0.5)

    kinds = ["syntax", "unknown-key", "bad-value", "bad-zone", "bind"]
    n_bad = 0
    bad_ok = 0
    stuck = 0
    rss_warm = None
    t0 = time.monotonic()
    for i in range(1, HUPS + 1):
        st = d.status()["reload"]
        ok0, failed0 = st["ok"], st["failed"]
        broken = kinds[(i // 20) % len(kinds)] if i % 20 == 0 else None
        if broken == "bind":
            # 192.0.2.99 is not an address of this namespace: the new listener cannot bind.
            text = conf(lab, dev, 9, 200, extra_listen="192.0.2.99:53")
        else:
            text = conf(lab, dev, 7 + i % 2, 200 if (i // 100) % 2 == 0 else 300, broken=broken)
        write_atomic(d.conf, text)
        os.kill(d.pid, signal.SIGHUP)

        def seen():
            s = d.try_status()
            return s and (s["reload"]["ok"] > ok0 or s["reload"]["failed"] > failed0) and s
        s = wait_until(seen, 5, step=0.002)
        if not s:
            stuck += 1
            continue
        if broken:
            n_bad += 1
            if s["reload"]["failed"] == failed0 + 1 and valid_answer(labels, udp_exchange("127.0.0.1", 53, vq)):
                bad_ok += 1
            else:
                print(f"reload {i} ({broken}): failed {s['reload']['failed']} (was {failed0}), "
                      f"last {s['reload']['last']}", file=sys.stderr)
        if i == WARMUP:
            rss_warm = d.rss_kib()
    dt = time.monotonic() - t0
    rss_end = d.rss_kib()
    # Let every query sent during the storm complete or time out (-t 1), then stop dnsperf.
    time.sleep(2)
    perf.send_signal(signal.SIGINT)
    perf.wait(30)
    perf_out.close()
    with open(lab.path("dnsperf.out")) as f:
        out = f.read()
    stats = {}
    for line in out.splitlines():
        line = line.strip()
        for key in ("Queries sent:", "Queries completed:", "Queries lost:", "Queries interrupted:"):
            if line.startswith(key):
                stats[key.split()[1].rstrip(":")] = int(line.split()[2])
        if line.startswith("Response codes:"):
            stats["rcodes"] = line.split(":", 1)[1].strip()
    st = d.status()
    print(f"{HUPS} SIGHUPs in {dt:.1f} s: reloads ok {st['reload']['ok']}, failed {st['reload']['failed']}")
    print(f"dnsperf at {QPS} qps: {stats}")
    print(f"RSS after {WARMUP} reloads: {rss_warm} KiB, after {HUPS}: {rss_end} KiB, growth {rss_end - rss_warm} KiB")
    check(stuck == 0, f"every SIGHUP led to a reload ({stuck} without)")
    check(st["reload"]["ok"] == HUPS - HUPS // 20 and st["reload"]["failed"] == HUPS // 20,
          f"{HUPS - HUPS // 20} reloads ok and {HUPS // 20} failed")
    check(n_bad == HUPS // 20 and bad_ok == n_bad, f"invalid configs kept the old one serving ({bad_ok}/{n_bad})")
    check(stats.get("sent", 0) > QPS * dt * 0.5, f"dnsperf ran during the whole storm ({stats.get('sent')} queries)")
    check(stats.get("lost") == 0, f"0 lost queries ({stats.get('lost')})")
    check(stats.get("completed", 0) + stats.get("interrupted", 0) == stats.get("sent"),
          "every query completed (interrupted ones were sent in the last moment)")
    rc = stats.get("rcodes", "")
    check(rc.startswith("NOERROR") and "," not in rc, f"every response NOERROR ({rc})")
    if d.sanitized():
        # ASan's quarantine holds freed memory (up to 256 MiB): RSS says nothing there; LSan checks leaks.
        print("AddressSanitizer build: RSS bound not asserted")
    else:
        check(rss_end - rss_warm < RSS_GROWTH_MAX_KIB, f"RSS growth {rss_end - rss_warm} KiB < {RSS_GROWTH_MAX_KIB} KiB")
    check(d.alive() and valid_answer(labels, udp_exchange("127.0.0.1", 53, vq)), "daemon alive and answering at the end")


if __name__ == "__main__":
    require("ip", "wg", "wireguard-go", "dnsperf")
    main_wrapper("hu", body)
