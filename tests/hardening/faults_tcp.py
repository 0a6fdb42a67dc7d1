#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Faults on the TCP side of the registry.

1. The TCP connection cap held (every slot taken by a client that keeps
   querying) while a flood of new connections arrives (about FLOOD_PER_S a
   second, each sending a query): every one of them is closed at once (reset
   or EOF, no answer, no wait), the held ones keep being served, and UDP
   keeps its rate. dnsperf measures UDP QPS alternately without and with
   the cap saturated (four interleaved 2-second runs each, the best run of
   each kind compared, as outside load only ever lowers a run) and prints
   the ratio. Functional checks (no UDP query lost, every flood connection
   refused at once, held connections served) are always asserted; the rate
   target saturated >= 0.9 x unsaturated is a speed target, so, as the
   project's rule for timing goes, it is asserted only when the benchmark
   asks for it (WGSD_ASSERT_RATES=1, set by tests/bench/run.sh). The margin: the server shares the
   machine's two cores with dnsperf and the test's own clients, and single
   runs vary by 10-30 % here; a server that spins on its listener, accepts
   without bound per wakeup or serves TCP ahead of UDP loses far more than
   10 %. The flood is not pinned: the server's part of a refused connection
   (accept, reset) costs it about 20 us, the client's several times that, and
   pinned to dnsperf's CPU the flood measured mostly dnsperf's own slowdown.
2. Out of file descriptors (RLIMIT_NOFILE = 64): TCP connections use up the
   daemon's descriptors; UDP keeps answering with the real records (zone
   refreshes keep working or keep the last snapshot), and once the clients
   close, accept resumes and new TCP connections are answered."""
import os
import resource
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlib import *  # noqa: E402,F403

ZONE = "example.com."
CAP = 16
NOFILE = 64
RATIO_MIN = 0.9
RUN_S = 2
ROUNDS = 4
FLOOD_PER_S = 1000


def valid_query(qid=0x600D):
    return query("_wireguard._udp." + ZONE, T_PTR, qid=qid)


def labels_of(raw, qid=0x600D):
    try:
        r = Response(raw)
    except (ValueError, struct.error, IndexError, TypeError):
        return None
    if r.id != qid or r.rcode != NOERROR or not r.aa:
        return None
    return sorted(rd[1:1 + rd[0]].decode() for rd in r.answers(T_PTR))


def framed(m):
    return struct.pack(">H", len(m)) + m


def setup(lab, name, extra, wg_port, preexec_fn=None):
    dev = lab.ifname("hf" + name[:2])
    lab.wg_start(dev, private_key=run("wg", "genkey").strip(), listen_port=wg_port)
    keys = [rand_key() for _ in range(3)]
    args = []
    for i, k in enumerate(keys):
        args += ["peer", k, "endpoint", f"192.0.2.{i + 1}:51820", "allowed-ips", f"10.0.0.{i + 1}/32"]
    lab.wg_set(dev, *args)
    d = lab.wgsd_start(name, f"""[daemon]
status-socket = {lab.path(name + '.sock')}
[registry]
listen = {PUBLIC_ADDR}:53
access = any
{extra}
[zone {ZONE}]
device = {dev}
refresh = 200ms
""", preexec_fn=preexec_fn)
    return d, sorted(b32_label(k) for k in keys)


def cap_saturated_rate(lab):
    # wgsd on one CPU, dnsperf on the other, the test's clients wherever: the scheduler's
    # placement of the two otherwise changes the rate by more than the margin.
    cpus = sorted(os.sched_getaffinity(0))
    pin = len(cpus) >= 2
    d, labels = setup(lab, "cap", f"tcp-max-connections = {CAP}\ntcp-idle-timeout = 60s", 51820,
                      preexec_fn=(lambda: os.sched_setaffinity(0, {cpus[0]})) if pin else None)
    perf_cpu = cpus[1] if pin else None
    print(f"wgsd pinned to CPU {cpus[0]}, dnsperf to CPU {perf_cpu}" if pin else "one CPU: nothing pinned")
    check(labels_of(udp_exchange(PUBLIC_ADDR, 53, valid_query())) == labels, "valid UDP answer before the cap test")
    names = [("_wireguard._udp." + ZONE, "PTR"), (ZONE, "SOA"), ("nosuch." + ZONE, "A")]

    stop = threading.Event()
    held = []
    flood_res = {}

    def keep_busy():
        """Each held connection asks one query every 200 ms and reads the answer."""
        i = 0
        while not stop.is_set():
            for s in held:
                try:
                    s.sendall(framed(valid_query(i & 0xFFFF)))
                    if labels_of(tcp_read_msg(s, 2), i & 0xFFFF) == labels:
                        flood_res["held_served"] += 1
                    else:
                        flood_res["held_failed"] += 1
                except OSError:
                    flood_res["held_failed"] += 1
                i += 1
            stop.wait(0.2)

    def one_new_connection():
        """A new connection sending a query: how it ended (refused, answered, hung, failed)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((PUBLIC_ADDR, 53))
            try:
                s.sendall(framed(valid_query()))
            except (ConnectionResetError, BrokenPipeError):
                return "refused"
            return "refused" if s.recv(65536) == b"" else "answered"
        except ConnectionResetError:
            return "refused"
        except socket.timeout:
            return "hung"
        except OSError:
            return "failed"
        finally:
            s.close()

    def flood():
        """New connections at about FLOOD_PER_S a second (no catching up when behind)."""
        nxt = time.monotonic()
        while not stop.is_set():
            flood_res[one_new_connection()] += 1
            nxt += 1 / FLOOD_PER_S
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()

    def saturate():
        flood_res.clear()
        flood_res.update(refused=0, answered=0, hung=0, failed=0, held_served=0, held_failed=0)
        for _ in range(CAP):
            held.append(socket.create_connection((PUBLIC_ADDR, 53), timeout=3))
        wait_until(lambda: d.status()["registry"]["listeners"][0]["tcp_connections"] == CAP, 5)
        ts = [threading.Thread(target=keep_busy, daemon=True), threading.Thread(target=flood, daemon=True)]
        for t in ts:
            t.start()
        return ts

    def release(ts):
        stop.set()
        for t in ts:
            t.join()
        for s in held:
            s.close()
        held.clear()
        stop.clear()

    def rejected_full():
        return d.status()["registry"]["listeners"][0]["tcp_rejected_full"]

    base, sat = [], []
    for r in range(ROUNDS):
        res = dnsperf(PUBLIC_ADDR, 53, names, RUN_S, cpu=perf_cpu)
        base.append(res["qps"])
        check(res["lost"] == 0, f"round {r}: no UDP query lost without saturation ({res['lost']} lost)")
        rej0 = rejected_full()
        ts = saturate()
        st = d.status()["registry"]["listeners"][0]
        check(st["tcp_connections"] == CAP, f"round {r}: {CAP} TCP connections held ({st['tcp_connections']})")
        t0 = time.monotonic()
        res = dnsperf(PUBLIC_ADDR, 53, names, RUN_S, cpu=perf_cpu)
        sat.append(res["qps"])
        check(res["lost"] == 0, f"round {r}: no UDP query lost with the cap saturated ({res['lost']} lost)")
        st = d.status()["registry"]["listeners"][0]
        check(st["tcp_connections"] == CAP, f"round {r}: still at the cap ({st['tcp_connections']} connections)")
        release(ts)
        fr = dict(flood_res)
        elapsed = time.monotonic() - t0
        rejected = rejected_full() - rej0
        print(f"round {r}: flood of {fr['refused'] + fr['answered'] + fr['hung'] + fr['failed']} new connections "
              f"({fr['refused'] / elapsed:.0f}/s refused, {fr['answered']} answered, {fr['hung']} hung, "
              f"{fr['failed']} failed), server counted {rejected} refusals; held connections: "
              f"{fr['held_served']} queries served, {fr['held_failed']} failed")
        check(fr["answered"] == 0 and fr["hung"] == 0 and fr["failed"] == 0,
              f"round {r}: every connection over the cap closed at once without an answer")
        check(fr["refused"] >= FLOOD_PER_S * RUN_S / 10, f"round {r}: the flood kept coming ({fr['refused']} refused)")
        check(rejected >= fr["refused"], f"round {r}: refusals counted by the server ({rejected} >= {fr['refused']})")
        check(fr["held_served"] > 0 and fr["held_failed"] == 0, f"round {r}: held connections served throughout")
    # Best run of each kind: load from outside the test only lowers a run, so the best one is
    # the closest to what the server can do in that state.
    mb, ms = max(base), max(sat)
    ratio = ms / mb if mb else 0
    print(f"UDP QPS without saturation: {', '.join(f'{x:.0f}' for x in base)} (best {mb:.0f})")
    print(f"UDP QPS with the TCP cap saturated: {', '.join(f'{x:.0f}' for x in sat)} (best {ms:.0f})")
    print(f"ratio saturated/unsaturated: {ratio:.3f} (required >= {RATIO_MIN})")
    if os.environ.get("WGSD_ASSERT_RATES") == "1":
        check(ratio >= RATIO_MIN, f"UDP rate with the TCP cap saturated >= {RATIO_MIN} x without ({ratio:.3f})")
    else:
        print(f"figure: UDP rate ratio {ratio:.3f} (target >= {RATIO_MIN}; asserted by tests/bench/run.sh)")
    # Slots free again: a new connection is served.
    ok = wait_until(lambda: labels_of(tcp_exchange(PUBLIC_ADDR, 53, valid_query(), timeout=2)) == labels, 10)
    check(ok, "TCP served again after the saturation ended")
    check(d.alive(), "daemon alive after the cap test")
    d.stop()


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def out_of_fds(lab):
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))

    d, labels = setup(lab, "fds", "tcp-max-connections = 1000\ntcp-idle-timeout = 60s", 51821,
                      preexec_fn=low_limit)
    with open(f"/proc/{d.pid}/limits") as f:
        lim = [line for line in f if line.startswith("Max open files")]
    check(lim and int(lim[0].split()[3]) == NOFILE, f"daemon runs with RLIMIT_NOFILE {NOFILE}")
    base_fds = fd_count(d.pid)
    print(f"daemon descriptors at start: {base_fds} of {NOFILE}")
    conns = []
    for i in range(NOFILE + 40):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect((PUBLIC_ADDR, 53))
            conns.append(s)
        except OSError:
            s.close()
    full = wait_until(lambda: fd_count(d.pid) >= NOFILE - 1, 5)
    print(f"daemon descriptors with {len(conns)} client connections: {fd_count(d.pid)} of {NOFILE}")
    check(full, "the daemon ran out of descriptors")
    # UDP keeps serving the real records over several refresh periods (refresh = 200 ms).
    good = 0
    for i in range(20):
        if labels_of(udp_exchange(PUBLIC_ADDR, 53, valid_query(), timeout=2)) == labels:
            good += 1
        time.sleep(0.1)
    check(good == 20, f"UDP answers with the published records while out of descriptors ({good}/20)")
    check(d.alive(), "daemon alive while out of descriptors")
    # A connection accepted before the exhaustion still works.
    conns[0].sendall(framed(valid_query(7)))
    check(labels_of(tcp_read_msg(conns[0], 3), 7) == labels, "an accepted TCP connection is still served")
    for s in conns:
        s.close()
    ok = wait_until(lambda: labels_of(tcp_exchange(PUBLIC_ADDR, 53, valid_query(), timeout=2)) == labels, 10)
    check(ok, "accept resumes once descriptors are free: new TCP connection served")
    check(d.try_status() is not None, "status socket answers again")
    st = d.status()
    print(f"zone after the exhaustion: {st['registry']['zones'][0]['state']}, "
          f"read errors {st['registry']['zones'][0]['read_errors']}")
    check(st["registry"]["zones"][0]["state"] == "ok", "zone ok after descriptors are free")
    check(wait_until(lambda: fd_count(d.pid) <= base_fds + 2, 10), f"descriptors back to about {base_fds} ({fd_count(d.pid)})")
    d.stop()


def body(lab):
    cap_saturated_rate(lab)
    out_of_fds(lab)


if __name__ == "__main__":
    require("ip", "wg", "wireguard-go", "dnsperf")
    main_wrapper("ft", body)
