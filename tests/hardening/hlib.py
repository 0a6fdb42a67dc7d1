# SPDX-License-Identifier: MIT
"""Shared helpers of the hardening tests (python3, stdlib only).

One network namespace per test (name suffixed with the PID) that this process
enters with setns(2): every socket the test opens and every program it starts
(wireguard-go, wg, wgsd, dnsperf) lives in it. The namespace has loopback and
a veth interface with 198.51.100.1/24 (dnsperf needs a non-loopback address).
wireguard-go devices carry the PID in their names (their UAPI sockets in
/var/run/wireguard are shared by all namespaces)."""
import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

WGSD = os.environ.get("WGSD") or os.path.join(os.environ.get("WGSD_BUILDDIR", "build"), "wgsd")
WGSDCTL = os.environ.get("WGSDCTL") or os.path.join(os.environ.get("WGSD_BUILDDIR", "build"), "wgsdctl")
WG_SOCK_DIR = "/var/run/wireguard"
CLONE_NEWNET = 0x40000000
PUBLIC_ADDR = "198.51.100.1"

# DNS constants
T_A, T_NS, T_SOA, T_PTR, T_TXT, T_AAAA, T_SRV, T_OPT, T_ANY = 1, 2, 6, 12, 16, 28, 33, 41, 255
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = 0, 1, 2, 3, 4, 5, 16


class Failed(Exception):
    pass


checks = 0
failures = 0


def check(cond, what):
    """Count a check; print ok/FAIL. Returns cond."""
    global checks, failures
    checks += 1
    if cond:
        print(f"ok: {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr, flush=True)
    return cond


def require(*programs):
    """Root and programs present, else fail (CI) or skip (exit 77)."""
    missing = [p for p in programs if shutil.which(p) is None]
    if os.geteuid() != 0:
        missing.append("root")
    for b in (WGSD, WGSDCTL):
        if not os.access(b, os.X_OK):
            missing.append(b)
    if missing:
        if os.environ.get("CI"):
            print(f"FAIL: missing prerequisites: {' '.join(missing)}", file=sys.stderr)
            sys.exit(1)
        print(f"SKIP: missing prerequisites: {' '.join(missing)}", file=sys.stderr)
        sys.exit(77)


def run(*args, check_rc=True, **kw):
    """Run a command (in the test's namespace); return stdout text."""
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)
    if check_rc and r.returncode != 0:
        raise Failed(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def wait_until(fn, timeout, step=0.05):
    """Poll fn() until it returns a true value or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def rand_key():
    return base64.b64encode(os.urandom(32)).decode()


def b32_label(b64key):
    return base64.b32encode(base64.b64decode(b64key)).decode()


class Lab:
    """A namespace entered by this process, devices and daemons started in it, cleaned up at exit."""

    def __init__(self, tag):
        self.pid = os.getpid()
        self.tag = tag
        self.ns = f"hd{tag}{self.pid}"
        self.tmp = tempfile.mkdtemp(prefix=f"wgsd-hard-{tag}-")
        self.procs = []          # (name, Popen)
        self.devs = {}           # ifname -> Popen of wireguard-go
        self.root_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            if self.libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        try:
            run("ip", "link", "set", "lo", "up")
            # No dummy driver on every kernel: a veth pair with both ends in the namespace.
            run("ip", "link", "add", "pub0", "type", "veth", "peer", "name", "pub1")
            run("ip", "addr", "add", f"{PUBLIC_ADDR}/24", "dev", "pub0")
            run("ip", "link", "set", "pub0", "up")
            run("ip", "link", "set", "pub1", "up")
        except Failed:
            self.cleanup()
            raise

    def path(self, name):
        return os.path.join(self.tmp, name)

    def ifname(self, short):
        """A device name unique to this run (at most 15 characters)."""
        return f"{short}{self.pid}"[:15]

    # --- wireguard-go ---
    def wg_start(self, ifname, private_key=None, listen_port=None):
        """Start wireguard-go for ifname and wait for its UAPI socket; optionally set key and port."""
        env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
        log = open(self.path(f"{ifname}.wg.log"), "w")
        p = subprocess.Popen(["wireguard-go", "-f", ifname], stdout=log, stderr=log, env=env)
        self.devs[ifname] = p
        sock = os.path.join(WG_SOCK_DIR, f"{ifname}.sock")
        if not wait_until(lambda: os.path.exists(sock) and
                          subprocess.run(["ip", "link", "show", ifname], capture_output=True).returncode == 0, 10):
            raise Failed(f"wireguard-go did not create {ifname}")
        args = []
        if private_key:
            kf = self.path(f"{ifname}.key")
            fd = os.open(kf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, (private_key + "\n").encode())
            os.close(fd)
            args += ["private-key", kf]
        if listen_port:
            args += ["listen-port", str(listen_port)]
        if args:
            run("wg", "set", ifname, *args)
        run("ip", "link", "set", ifname, "up")

    def wg_stop(self, ifname):
        """Kill the device's wireguard-go and wait until the device and its socket are gone."""
        p = self.devs.pop(ifname, None)
        if p:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        sock = os.path.join(WG_SOCK_DIR, f"{ifname}.sock")
        if not wait_until(lambda: not os.path.exists(sock) and
                          subprocess.run(["ip", "link", "show", ifname], capture_output=True).returncode != 0, 10):
            raise Failed(f"{ifname} did not go away")

    def wg_set(self, ifname, *args):
        run("wg", "set", ifname, *args)

    # --- wgsd ---
    def wgsd_start(self, name, conf_text, wait_zones=True, preexec_fn=None, debug=False):
        """Write the config, start wgsd (log in tmp/NAME.log), wait for its status socket (and zones ok)."""
        conf = self.path(f"{name}.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        log = open(self.path(f"{name}.log"), "w")
        args = [WGSD, "-c", conf] + (["-d"] if debug else [])
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        self.procs.append((name, p))
        d = Daemon(self, name, p, conf, self.path(f"{name}.sock"))
        if not wait_until(lambda: d.try_status() is not None or p.poll() is not None, 15):
            raise Failed(f"wgsd {name} did not start: {d.log_tail()}")
        if p.poll() is not None:
            raise Failed(f"wgsd {name} exited: {d.log_tail()}")
        if wait_zones and not d.wait_zones_ok(15):
            raise Failed(f"wgsd {name}: zones not ok: {d.log_tail()}")
        return d

    def cleanup(self):
        for _, p in self.procs:
            if p.poll() is None:
                p.terminate()
        for _, p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        for ifname in list(self.devs):
            p = self.devs.pop(ifname)
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
            try:
                os.unlink(os.path.join(WG_SOCK_DIR, f"{ifname}.sock"))
            except OSError:
                pass
        self.libc.setns(self.root_ns, CLONE_NEWNET)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        if os.environ.get("KEEP_TMP") == "1":
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Daemon:
    def __init__(self, lab, name, proc, conf, sock):
        self.lab, self.name, self.proc, self.conf, self.sock = lab, name, proc, conf, sock
        self.pid = proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_path(self):
        return self.lab.path(f"{self.name}.log")

    def log_tail(self, n=30):
        try:
            with open(self.log_path(), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def ctl_raw(self, cmd, timeout=10):
        """Send one command to the status socket; return the reply bytes."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    return out
                out += d
        finally:
            s.close()

    def try_status(self):
        try:
            return json.loads(self.ctl_raw("status", timeout=2))
        except (OSError, ValueError):
            return None

    def status(self):
        st = self.try_status()
        if st is None:
            raise Failed(f"no status from wgsd {self.name}: {self.log_tail()}")
        return st

    def wait_zones_ok(self, timeout):
        def ok():
            st = self.try_status()
            z = st and st.get("registry") and st["registry"]["zones"]
            return bool(z) and all(x["state"] == "ok" for x in z)
        return wait_until(ok, timeout)

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def sanitized(self):
        """True when the daemon runs with AddressSanitizer (its allocator keeps freed memory)."""
        try:
            with open(f"/proc/{self.pid}/maps") as f:
                if "libasan" in f.read():
                    return True
            with open(WGSD, "rb") as f:
                return b"AddressSanitizer" in f.read()
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# --- DNS on the wire ---
def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def question(name, qtype=T_SOA, qclass=1):
    return encode_name(name) + struct.pack(">HH", qtype, qclass)


def opt_rr(udp_size=1232, ext_rcode=0, version=0, do=False, rdata=b"", owner=b"\x00"):
    return owner + struct.pack(">HHBBHH", T_OPT, udp_size, ext_rcode, version, 0x8000 if do else 0, len(rdata)) + rdata


def query(name, qtype=T_SOA, qid=0x1234, edns=False, qclass=1):
    return header(qid, ar=1 if edns else 0) + question(name, qtype, qclass) + (opt_rr() if edns else b"")


def skip_name(msg, pos):
    """Offset after a (possibly compressed) name."""
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


class Response:
    """A parsed response: id, flags, rcode (with the EDNS extended bits), counts, records."""

    def __init__(self, msg):
        self.raw = msg
        self.id, self.flags, self.qd, self.an, self.ns, self.ar = struct.unpack(">HHHHHH", msg[:12])
        self.qr = bool(self.flags & 0x8000)
        self.opcode = (self.flags >> 11) & 15
        self.aa = bool(self.flags & 0x0400)
        self.tc = bool(self.flags & 0x0200)
        self.rcode = self.flags & 15
        self.records = []        # (section, type, rdata)
        self.opt = None          # (udp_size, ext_rcode, version, flags)
        pos = 12
        for _ in range(self.qd):
            pos = skip_name(msg, pos) + 4
        for sec, count in (("an", self.an), ("ns", self.ns), ("ar", self.ar)):
            for _ in range(count):
                pos = skip_name(msg, pos)
                rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
                rdata = msg[pos + 10:pos + 10 + rdlen]
                if len(rdata) != rdlen:
                    raise ValueError("short record")
                if rtype == T_OPT:
                    self.opt = (rclass, ttl >> 24, (ttl >> 16) & 0xFF, ttl & 0xFFFF)
                    self.rcode |= (ttl >> 24) << 4
                self.records.append((sec, rtype, rdata))
                pos += 10 + rdlen
        if pos != len(msg):
            raise ValueError("trailing bytes in response")

    def answers(self, rtype):
        return [r for s, t, r in self.records if s == "an" and t == rtype]


def udp_exchange(addr, port, payload, timeout=2.0, family=socket.AF_INET):
    """Send one datagram; return the response bytes or None on timeout."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(payload, (addr, port))
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            data, _ = s.recvfrom(70000)
            return data
    except socket.timeout:
        return None
    finally:
        s.close()


def recv_exact(s, n, deadline):
    """Read exactly n bytes; None on timeout, b'' on close."""
    buf = b""
    while len(buf) < n:
        s.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            d = s.recv(n - len(buf))
        except socket.timeout:
            return None
        except ConnectionResetError:
            return b""
        if not d:
            return b""
        buf += d
    return buf


def tcp_read_msg(s, timeout):
    """Read one length-prefixed message (and nothing after it); None on timeout, b'' on close."""
    deadline = time.monotonic() + timeout
    h = recv_exact(s, 2, deadline)
    if not h:
        return h
    n = struct.unpack(">H", h)[0]
    if n == 0:
        return b"\x00"    # a zero-length message: not a valid answer (and not a close)
    return recv_exact(s, n, deadline)


def tcp_exchange(addr, port, payload, timeout=3.0, framed=True):
    """Connect, send payload (length-prefixed unless framed=False), read one message; None/b'' as above."""
    s = socket.create_connection((addr, port), timeout=timeout)
    try:
        s.sendall(struct.pack(">H", len(payload)) + payload if framed else payload)
        return tcp_read_msg(s, timeout)
    finally:
        s.close()


def closed_by_peer(s, timeout):
    """True when the server closes the connection within timeout (data is read and dropped)."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


# --- dnsperf ---
def dnsperf(server, port, names, seconds, qps=None, clients=1, outstanding=100, timeout=3, cpu=None):
    """Run dnsperf for a number of seconds (pinned to one CPU if given); return dict sent/completed/lost/qps."""
    qfile = tempfile.NamedTemporaryFile("w", delete=False, suffix=".q")
    for n, t in names:
        qfile.write(f"{n} {t}\n")
    qfile.close()
    args = ["dnsperf", "-s", server, "-p", str(port), "-d", qfile.name, "-l", str(seconds),
            "-c", str(clients), "-q", str(outstanding), "-t", str(timeout)]
    if qps:
        args += ["-Q", str(qps)]
    try:
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + timeout + 30, preexec_fn=pin)
    finally:
        os.unlink(qfile.name)
    out = r.stdout
    res = {"text": out}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Queries sent:"):
            res["sent"] = int(line.split()[2])
        elif line.startswith("Queries completed:"):
            res["completed"] = int(line.split()[2])
        elif line.startswith("Queries lost:"):
            res["lost"] = int(line.split()[2])
        elif line.startswith("Queries per second:"):
            res["qps"] = float(line.split()[3])
    if "sent" not in res or "qps" not in res:
        raise Failed(f"dnsperf output not understood (exit {r.returncode}): {out} {r.stderr}")
    return res


def finish():
    """Print the summary and exit with the result."""
    print(f"{checks - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def main_wrapper(tag, body):
    """Create the lab, run body(lab), stop the daemons, look for sanitizer reports, clean up, summarize."""
    global failures
    lab = Lab(tag)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        body(lab)
    except Failed as e:
        failures += 1
        print(f"FAIL: {e}", file=sys.stderr)
    finally:
        # Stop the daemons first: a sanitizer build reports leaks at exit.
        for name, p in lab.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for name, p in lab.procs:
            try:
                with open(lab.path(f"{name}.log"), errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            marks = [m for m in SANITIZER_MARKS if m in text]
            if marks:
                check(False, f"{name}: sanitizer report in its output ({', '.join(marks)})")
            if failures:
                tail = text.splitlines()[-25:]
                print(f"--- {name} log (last lines):\n" + "\n".join(tail), file=sys.stderr)
        lab.cleanup()
    finish()
