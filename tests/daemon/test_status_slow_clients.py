#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slow clients cannot lock the status socket: more dripping clients than the
daemon has connection slots each send one byte a second and never finish
their line; each is dropped at its deadline from accept (not reset by the
drip), after which a fresh `wgsdctl status` is answered while the drip goes on.

Runs unprivileged; the zone's device does not exist (the registry answers
SERVFAIL), which does not matter here."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

WGSD = os.environ["WGSD"]
WGSDCTL = os.environ["WGSDCTL"]
# More than the daemon's 32 slots, fewer than those plus its listen backlog (16),
# so that every client connects.
DRIPPERS = 40
DRIP_INTERVAL_S = 1.0
# Generous: the deadline is 5 s from accept; clients queued in the backlog
# get theirs once the first ones are dropped. Without a deadline the drip
# holds each slot until the 256-byte line limit, over four minutes.
BOUND_S = 60.0
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)
    else:
        print(f"ok: {what}")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status(sock):
    """Run wgsdctl status; True when the daemon answered."""
    try:
        r = subprocess.run([WGSDCTL, "-s", sock, "status"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and r.stdout.startswith("wgsd ")


def peer_closed(s):
    """True when the daemon has closed s (EOF or reset); never blocks."""
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main():
    tmp = tempfile.mkdtemp(prefix="wgsd-slow-")
    sock = os.path.join(tmp, "wgsd.sock")
    conf = os.path.join(tmp, "wgsd.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write(f"[daemon]\nstatus-socket = {sock}\n\n"
                f"[registry]\nlisten = 127.0.0.1:{port}\naccess = any\n\n"
                f"[zone example.test.]\ndevice = wgsdnone{os.getpid() % 10000}\n")
    log = open(os.path.join(tmp, "wgsd.log"), "w+")
    proc = subprocess.Popen([WGSD, "-d", "-c", conf], stderr=log)
    clients = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not status(sock):
            time.sleep(0.1)
        check(proc.poll() is None and status(sock), "daemon up and answering status")

        # A burst of connects can find the backlog full (EAGAIN) before the
        # daemon has accepted the earlier ones: retry those for a while.
        connect_end = time.monotonic() + 20
        while len(clients) < DRIPPERS and time.monotonic() < connect_end:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(sock)
            except BlockingIOError:
                c.close()
                time.sleep(0.05)
                continue
            clients.append(c)
        check(len(clients) == DRIPPERS, f"{DRIPPERS} slow clients connected")

        # A thread drips one byte (never a newline) into every open client each
        # second until the daemon has closed them all; meanwhile, once the
        # daemon has dropped some, a fresh status must get through.
        open_clients = list(clients)
        lock = threading.Lock()
        stop = threading.Event()

        def drip():
            while not stop.is_set():
                with lock:
                    for c in list(open_clients):
                        try:
                            if peer_closed(c):
                                raise ConnectionResetError
                            c.send(b"s")
                        except OSError:
                            open_clients.remove(c)
                    if not open_clients:
                        return
                stop.wait(DRIP_INTERVAL_S)

        dripper = threading.Thread(target=drip)
        dripper.start()
        answered = False
        end = time.monotonic() + BOUND_S
        try:
            while time.monotonic() < end:
                with lock:
                    n_open = len(open_clients)
                if not answered and n_open < DRIPPERS:
                    answered = status(sock)
                if answered and n_open == 0:
                    break
                time.sleep(0.2)
        finally:
            stop.set()
            dripper.join()
        check(answered, "a fresh wgsdctl status was answered while slow clients were dripping")
        check(not open_clients, f"daemon dropped every dripping client within {BOUND_S:.0f} s "
              f"({len(open_clients)} still open)")
        check(proc.poll() is None, "daemon still running")
        check(status(sock), "status answered once the slow clients are gone")
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        print("---- daemon log (last lines) ----\n" + "".join(log.readlines()[-20:]))
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
