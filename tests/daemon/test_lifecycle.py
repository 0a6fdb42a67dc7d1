#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Daemon lifecycle: -t and -T, start-up notify, status socket and wgsdctl, garbage input,
SIGHUP with valid and invalid files, watchdog, SIGTERM, stale socket handling.

Runs unprivileged on loopback: the roles point at WireGuard devices that do not
exist, which the daemon must survive (the registry answers SERVFAIL)."""
import base64
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

WGSD = os.environ["WGSD"]
WGSDCTL = os.environ["WGSDCTL"]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
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


class Notify:
    """A NOTIFY_SOCKET listener, as systemd would have."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, key, timeout=10.0):
        """Wait for a datagram containing a line that starts with key; return the datagram."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(data)
            if any(line.startswith(key) for line in data.split("\n")):
                return data
        return None


def ctl(sock, *args):
    return subprocess.run([WGSDCTL, "-s", sock, *args], capture_output=True, text=True, timeout=20)


def raw_status(sock, payload, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    try:
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    s.close()
    return out


def dns_query(port, qname="example.test.", qtype=6):
    """Send one raw DNS query over UDP to 127.0.0.1:port; return the rcode or None."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("127.0.0.1", port))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        return None
    finally:
        s.close()
    if len(data) < 12 or data[:2] != b"\x12\x34":
        return None
    return data[3] & 0x0F


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# A TSIG secret that must never be shown: not by -T, the status socket or the log.
SECRET = base64.b64encode(os.urandom(32)).decode()


def config(sock, port, level="info", extra=""):
    return f"""[daemon]
log-level = {level}
status-socket = {sock}

[registry]
listen = 127.0.0.1:{port}
access = any

[zone example.test.]
device = wgsdnone{os.getpid() % 10000}
refresh = 200ms
allow-transfer = 127.0.0.0/8 key xfr.test.
notify = 127.0.0.1:9 key xfr.test.
{extra}
[key xfr.test.]
secret = {SECRET}
[client wgsdnocl{os.getpid() % 10000}]
registry = 127.0.0.1:{port}
zone = example.test.
interval = 1s
"""


def main():
    tmp = tempfile.mkdtemp(prefix="wgsd-life-")
    sock = os.path.join(tmp, "wgsd.sock")
    conf = os.path.join(tmp, "wgsd.conf")
    port = free_port()
    write(conf, config(sock, port))

    # -t: a valid file passes silently (ExecStartPre logs nothing on every start).
    r = subprocess.run([WGSD, "-t", "-c", conf], capture_output=True, text=True)
    check(r.returncode == 0, "-t accepts a valid file")
    check(r.stdout == "" and r.stderr == "", "-t prints nothing for a valid file")
    # -T: the same check, printing the normalized configuration.
    r = subprocess.run([WGSD, "-T", "-c", conf], capture_output=True, text=True)
    check(r.returncode == 0, "-T accepts a valid file")
    check("[zone example.test.]" in r.stdout and "access = any" in r.stdout, "-T prints the normalized configuration")
    check("[key xfr.test.]" in r.stdout and "\nsecret = (hidden)\n" in r.stdout and SECRET not in r.stdout,
          "-T prints the key without its secret")
    bad = os.path.join(tmp, "bad.conf")
    write(bad, "[daemon]\nlog-level = loud\n[client wg0]\nregistry = 10.0.0.1\nzone = x.\nfrobnicate = 1\n")
    r = subprocess.run([WGSD, "-t", "-c", bad], capture_output=True, text=True)
    check(r.returncode == 1, "-t rejects an invalid file with exit 1")
    check(f"{bad}:2:" in r.stderr and "log-level" in r.stderr, "-t names file, line and key (log-level)")
    check(f"{bad}:6:" in r.stderr and "frobnicate" in r.stderr, "-t reports every error (unknown key line 6)")
    check(r.stdout == "", "-t prints no configuration for an invalid file")
    r = subprocess.run([WGSD, "-T", "-c", bad], capture_output=True, text=True)
    check(r.returncode == 1 and f"{bad}:2:" in r.stderr and r.stdout == "", "-T rejects an invalid file like -t")
    r = subprocess.run([WGSD, "-t", "-c", os.path.join(tmp, "missing.conf")], capture_output=True, text=True)
    check(r.returncode == 1 and "cannot open" in r.stderr, "-t reports a missing file")

    # wgsdctl without a daemon: exit code 3.
    r = ctl(sock, "status")
    check(r.returncode == 3, "wgsdctl exits 3 when the daemon is unreachable")

    # A regular file at the socket path is never replaced.
    write(sock, "not a socket")
    r = subprocess.run([WGSD, "-c", conf], capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "not a socket" in r.stderr, "a non-socket file at the status path is an error")
    os.unlink(sock)
    # A stale socket (nobody listening) is replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()

    notify = Notify(os.path.join(tmp, "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    log = open(os.path.join(tmp, "wgsd.log"), "w+")
    proc = subprocess.Popen([WGSD, "-c", conf], stderr=log, env=env)
    try:
        ready = notify.wait_for("READY=1")
        check(ready is not None, "READY=1 is sent once sockets are bound")
        check(ready is not None and "STATUS=" in ready, "STATUS= accompanies READY=1")
        check(notify.wait_for("WATCHDOG=1", 3) is not None, "WATCHDOG=1 is sent when WATCHDOG_USEC is set")
        check(notify.wait_for("WATCHDOG=1", 3) is not None, "WATCHDOG=1 repeats")
        st = os.stat(sock)
        check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, "status socket has mode 0660")

        r = ctl(sock, "status", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        check(r.returncode == 0 and doc.get("version"), "status --json returns the JSON document with version")
        check(doc.get("config") == conf and "uptime_s" in doc, "status has config path and uptime")
        check(doc.get("reload", {}).get("last") is None, "no reload yet")
        check(doc.get("registry") is not None and doc.get("client") is not None, "status has both roles")
        r = ctl(sock, "status")
        check(r.returncode == 0 and r.stdout.startswith("wgsd ") and "SERVFAIL: device wgsdnone" in r.stdout
              and "client:" in r.stdout, "status prints a human-readable view")
        r = ctl(sock, "metrics")
        check(r.returncode == 0 and "wgsd_info{" in r.stdout and "# TYPE wgsd_uptime_seconds gauge" in r.stdout,
              "metrics is Prometheus text")
        r = ctl(sock, "version")
        check(r.returncode == 0 and r.stdout.startswith("wgsd "), "version")
        shown = "".join(ctl(sock, *c).stdout for c in (("status",), ("status", "--json"), ("metrics",)))
        check("example.test." in shown and SECRET not in shown, "status and metrics never show the TSIG secret")

        # Garbage on the status socket: an error line, never a crash.
        out = raw_status(sock, b"frobnicate\n")
        check(out.startswith(b"error:"), "unknown command gets an error line")
        out = raw_status(sock, bytes(range(256)) * 4)
        check(out.startswith(b"error:"), "binary junk gets an error line")
        out = raw_status(sock, b"A" * 100000)
        check(out.startswith(b"error:") and b"too long" in out, "overlong line is refused")
        raw_status(sock, b"", read=False)
        raw_status(sock, b"stat", read=False)
        check(proc.poll() is None, "daemon survives garbage")
        check(ctl(sock, "status", "--json").returncode == 0, "status still works after garbage")
        check(dns_query(port) == 2, "zone with a missing device answers SERVFAIL")

        # SIGHUP with a valid, changed file.
        write(conf, config(sock, port, level="debug"))
        notify.messages.clear()
        proc.send_signal(signal.SIGHUP)
        msg = notify.wait_for("RELOADING=1")
        check(msg is not None and "MONOTONIC_USEC=" in msg, "RELOADING=1 with MONOTONIC_USEC on reload")
        check(notify.wait_for("READY=1") is not None, "READY=1 after reload")
        doc = json.loads(ctl(sock, "status", "--json").stdout)
        check(doc["reload"]["ok"] == 1 and doc["reload"]["last"]["ok"] is True, "valid reload counted")
        check(doc["log_level"] == "debug", "reload applied the new log level")

        # SIGHUP with an invalid file: old configuration keeps serving.
        write(conf, "[registry]\nlisten = 127.0.0.1:99999\n")
        proc.send_signal(signal.SIGHUP)
        check(notify.wait_for("READY=1") is not None, "READY=1 after a failed reload too")
        doc = json.loads(ctl(sock, "status", "--json").stdout)
        last = doc["reload"]["last"]
        check(doc["reload"]["failed"] == 1 and last["ok"] is False, "failed reload counted")
        check(f"{conf}:2:" in (last["error"] or ""), "failed reload error names file and line")
        check(doc["log_level"] == "debug", "running configuration kept after a failed reload")
        check(dns_query(port) == 2, "DNS still answered after a failed reload")
        r = ctl(sock, "reload")
        check(r.returncode == 1 and "error:" in r.stderr, "wgsdctl reload reports failure with exit 1")
        write(conf, config(sock, port, level="info"))
        r = ctl(sock, "reload")
        check(r.returncode == 0 and r.stdout.startswith("ok"), "wgsdctl reload succeeds on a valid file")
        check(json.loads(ctl(sock, "status", "--json").stdout)["log_level"] == "info", "reload via wgsdctl applied")
        check(dns_query(port) == 2, "listener kept across reloads")

        # Reload through the status socket itself, moving the socket: the old one is retired
        # while the command that retires it is still answering on it.
        sock2 = os.path.join(tmp, "wgsd2.sock")
        write(conf, config(sock2, port, level="info"))
        r = ctl(sock, "reload")
        check(r.returncode == 0 and r.stdout.startswith("ok"), "reload over the socket that it moves is answered")
        check(proc.poll() is None, "daemon alive after moving its status socket")
        check(not os.path.exists(sock) and os.path.exists(sock2), "old status socket removed, new one bound")
        check(ctl(sock2, "status", "--json").returncode == 0, "status on the new socket")
        write(conf, config(sock, port, level="info"))
        r = ctl(sock2, "reload")
        check(r.returncode == 0 and os.path.exists(sock) and not os.path.exists(sock2), "and back again")

        # A second daemon on the same status socket refuses to start.
        r = subprocess.run([WGSD, "-c", conf], capture_output=True, text=True, timeout=20)
        check(r.returncode == 1 and "another wgsd" in r.stderr, "a live status socket is not taken over")

        notify.messages.clear()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        check(rc == 0, "SIGTERM exits 0")
        check(notify.wait_for("STOPPING=1", 2) is not None, "STOPPING=1 on SIGTERM")
        check(not os.path.exists(sock), "status socket removed on exit")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        text = log.read()
        print("---- daemon log ----\n" + text)
    check("Traceback" not in text, "log is clean")
    check(SECRET not in text, "the log never shows the TSIG secret (debug level included)")

    # Under journald (JOURNAL_STREAM set) every line carries a syslog priority; SIGINT stops cleanly.
    env = dict(os.environ, JOURNAL_STREAM="8:12345")
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([WGSD, "-c", conf], stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.exists(sock):
        time.sleep(0.05)
    check(os.path.exists(sock), "daemon started again")
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    check(proc.returncode == 0, "SIGINT exits 0")
    lines = [l for l in err.split("\n") if l]
    check(len(lines) >= 2 and all(l[:1] == "<" and l[2:3] == ">" for l in lines),
          "journald lines carry <N> priorities")
    check(any(l.startswith("<6>") for l in lines) and any(l.startswith("<4>") for l in lines),
          "info is <6> and warnings are <4>")
    check(not os.path.exists(sock), "status socket removed after SIGINT")
    print(f"{checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
