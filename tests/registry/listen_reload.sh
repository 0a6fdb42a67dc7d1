#!/bin/bash
# SPDX-License-Identifier: MIT
# A reload moves a listener between the wildcard and a specific address on
# the same port (0.0.0.0:P to 127.0.0.1:P and back), on loopback with the
# registry test driver (no root): UDP and TCP answer after each move. A reload
# whose new bind fails (the test holds the address) keeps the old listener:
# it answers over UDP and TCP, its counters and open TCP connections survive,
# and the log says which address could not be bound.
set -eu
# shellcheck source=tests/registry/driver-lib.sh
. "$(dirname "$0")/driver-lib.sh"

python3 - "$DRIVER" "$TMP" "$PORT" <<'PY' || fail "listener moves on reload"
import json, os, signal, socket, struct, subprocess, sys, time
driver, tmp, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
conf, status_file, logf = tmp + "/reg.conf", tmp + "/status", tmp + "/driver.log"
failures = []

def write_conf(*listens):
    with open(conf, "w") as f:
        f.write("[registry]\naccess = any\n")
        for l in listens:
            f.write(f"listen = {l}\n")
        f.write(f"\n[zone example.com.]\ndevice = nosuch{os.getpid()}\nrefresh = 1s\n")

def query(qid):
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x06\x00\x01"

def udp_answers(addr):
    """True when a query over UDP gets its response (SERVFAIL: the device does not exist)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(query(7), (addr, port))
        r, _ = s.recvfrom(4096)
        return r[:2] == b"\x00\x07" and r[3] & 15 == 2
    except OSError:
        return False
    finally:
        s.close()

def tcp_ask(s, qid):
    """Send one query on connection s; True when its response comes back."""
    m = query(qid)
    s.settimeout(3)
    try:
        s.sendall(struct.pack(">H", len(m)) + m)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            d = s.recv(4096)
            if not d:
                return False
            buf += d
    except OSError:
        return False
    return buf[2:4] == struct.pack(">H", qid) and buf[5] & 15 == 2

def tcp_answers(addr):
    try:
        s = socket.create_connection((addr, port), timeout=3)
    except OSError:
        return False
    try:
        return tcp_ask(s, 9)
    finally:
        s.close()

def tcp_refused(addr):
    try:
        socket.create_connection((addr, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False

def log_text():
    with open(logf) as f:
        return f.read()

def reload(expect):
    """SIGHUP the driver and wait until it logs the outcome; True when it was expect ('reloaded' or 'reload:')."""
    n_ok, n_err = log_text().count("reloaded"), log_text().count("reload:")
    proc.send_signal(signal.SIGHUP)
    for _ in range(100):
        t = log_text()
        if t.count("reloaded") > n_ok or t.count("reload:") > n_err:
            return (t.count("reloaded") > n_ok) == (expect == "reloaded")
        time.sleep(0.05)
    return False

def status():
    try:
        os.unlink(status_file)
    except FileNotFoundError:
        pass
    proc.send_signal(signal.SIGUSR1)
    for _ in range(100):
        if os.path.exists(status_file):
            with open(status_file) as f:
                return json.loads(f.readline())
        time.sleep(0.05)
    raise RuntimeError("no status")

def listeners():
    return [l["address"] for l in status()["listeners"]]

def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)

def serves(addr, what):
    check(udp_answers(addr), f"{what}: UDP to {addr} answered")
    check(tcp_answers(addr), f"{what}: TCP to {addr} answered")

write_conf(f"0.0.0.0:{port}")
log = open(logf, "w")
proc = subprocess.Popen([driver, conf, status_file], stdout=log, stderr=log)
try:
    for _ in range(100):
        if "ready" in log_text():
            break
        time.sleep(0.05)
    check("ready" in log_text(), "driver started on the wildcard")
    serves("127.0.0.2", "wildcard")

    write_conf(f"127.0.0.1:{port}")
    check(reload("reloaded"), "reload from 0.0.0.0:P to 127.0.0.1:P succeeds")
    check(listeners() == [f"127.0.0.1:{port}"], "listener is 127.0.0.1:P")
    serves("127.0.0.1", "specific")
    check(tcp_refused("127.0.0.2"), "the wildcard is gone (TCP to 127.0.0.2 refused)")

    write_conf(f"0.0.0.0:{port}")
    check(reload("reloaded"), "reload from 127.0.0.1:P back to 0.0.0.0:P succeeds")
    check(listeners() == [f"0.0.0.0:{port}"], "listener is 0.0.0.0:P again")
    serves("127.0.0.1", "wildcard again")
    serves("127.0.0.2", "wildcard again")

    # Specific to wildcard while the test holds 127.0.0.2:P: the wildcard cannot be bound.
    write_conf(f"127.0.0.1:{port}")
    check(reload("reloaded"), "back to 127.0.0.1:P")
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.2", port))
    conn = socket.create_connection(("127.0.0.1", port), timeout=3)
    check(tcp_ask(conn, 11), "a TCP connection open before the failed reload is served")
    before = status()["listeners"][0]["udp"]["queries"]["SOA"]
    write_conf(f"0.0.0.0:{port}")
    check(reload("reload:"), "reload to 0.0.0.0:P fails while 127.0.0.2:P is taken")
    check(f"listen udp 0.0.0.0:{port}: Address already in use" in log_text(),
          "the log names the address that could not be bound and why")
    check(listeners() == [f"127.0.0.1:{port}"], "127.0.0.1:P kept")
    serves("127.0.0.1", "after the failed reload")
    check(tcp_ask(conn, 12), "the TCP connection open before the failed reload still answers")
    check(status()["listeners"][0]["udp"]["queries"]["SOA"] > before, "the kept listener's counters continue")
    conn.close()
    blocker.close()

    # Wildcard to specific where a second new listener cannot be bound: the wildcard comes back.
    write_conf(f"0.0.0.0:{port}")
    check(reload("reloaded"), "back to 0.0.0.0:P")
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    taken = blocker.getsockname()[1]
    write_conf(f"127.0.0.1:{port}", f"127.0.0.1:{taken}")
    check(reload("reload:"), "reload to 127.0.0.1:P plus a taken address fails")
    check(f"listen udp 127.0.0.1:{taken}: Address already in use" in log_text(), "the log names the taken address")
    check(listeners() == [f"0.0.0.0:{port}"], "0.0.0.0:P kept")
    serves("127.0.0.1", "wildcard after the failed reload")
    serves("127.0.0.2", "wildcard after the failed reload")
    blocker.close()
    check(proc.poll() is None, "driver alive")
finally:
    proc.terminate()
    proc.wait()
    log.close()
sys.exit(1 if failures else 0)
PY
echo "PASS"
