#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Private keys never leave the read path.

Two wireguard-go devices with known private keys: R carries a registry zone,
C a client section whose peers the client looks up and sets (so both the
UAPI get, whose reply holds private_key=<hex>, and the set path run). One
wgsd with both roles at log level debug runs many refresh cycles and a
reload. Then the private keys are searched for, as raw bytes, base64, hex
(both cases) and base32, in
  (a) the daemon's whole output (stdout and stderr),
  (b) `wgsdctl status --json` and `wgsdctl metrics`,
  (c) the live process's memory (every readable mapping through
      /proc/PID/mem), and a core file written by gcore when it is installed.
None may be found. To show that the search can find things, the same scan
must find the base32 label of a published peer and the raw public key of a
peer the client handles, which the daemon does keep, and R's raw private key
in the memory of R's wireguard-go."""
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlib import *  # noqa: E402,F403

ZONE = "example.com."


def forms(b64key):
    raw = base64.b64decode(b64key)
    return {
        "raw": raw,
        "base64": b64key.encode(),
        "base64-unpadded": b64key.rstrip("=").encode(),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base32": base64.b32encode(raw),
    }


REGION_MAX = 1 << 30        # larger mappings are address-space reservations (ASan shadow), not data
PIECE = 64 << 20


class Memory:
    """The readable mappings of a live process, searched piece by piece (no whole copy in memory)."""

    def __init__(self, pid):
        self.pid = pid
        self.regions = []
        self.skipped = 0
        with open(f"/proc/{pid}/maps") as maps:
            for line in maps:
                m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
                if not m or m.group(3)[0] != "r" or "[vvar" in line or "[vsyscall" in line:
                    continue
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                if end - start > REGION_MAX:
                    self.skipped += 1
                    continue
                self.regions.append((start, end))
        self.size = sum(e - s for s, e in self.regions)

    def __contains__(self, needle):
        with open(f"/proc/{self.pid}/mem", "rb", 0) as mem:
            for start, end in self.regions:
                pos = start
                while pos < end:
                    n = min(PIECE + len(needle), end - pos)
                    try:
                        mem.seek(pos)
                        data = mem.read(n)
                    except (OSError, ValueError, OverflowError):
                        break
                    if needle in data:
                        return True
                    pos += PIECE
        return False


def scan(name, blob, secrets, controls=None):
    """Check that no secret form is in blob; that every control is."""
    for who, fs in secrets.items():
        for kind, needle in fs.items():
            check(needle not in blob, f"{name}: {who} private key ({kind}) not found")
    for what, needle in (controls or {}).items():
        check(needle in blob, f"{name}: control {what} found (the scan can find a key)")


def body(lab):
    R, C = lab.ifname("hkr"), lab.ifname("hkc")
    rpriv, cpriv = run("wg", "genkey").strip(), run("wg", "genkey").strip()
    p1, p2, p3 = rand_key(), rand_key(), rand_key()
    lab.wg_start(R, private_key=rpriv, listen_port=51820)
    lab.wg_set(R, "peer", p1, "endpoint", "198.51.100.11:1111", "allowed-ips", "10.0.0.1/32",
               "peer", p2, "endpoint", "198.51.100.12:1212", "allowed-ips", "10.0.0.2/32")
    lab.wg_start(C, private_key=cpriv, listen_port=51821)
    lab.wg_set(C, "peer", p1, "allowed-ips", "10.1.0.1/32", "peer", p3, "allowed-ips", "10.1.0.3/32")
    # Sanity: the devices really carry the keys we search for.
    check(run("wg", "show", R, "private-key").strip() == rpriv, "R carries the known private key")
    check(run("wg", "show", C, "private-key").strip() == cpriv, "C carries the known private key")
    d = lab.wgsd_start("keys", f"""[daemon]
log-level = debug
status-socket = {lab.path('keys.sock')}
[registry]
listen = 127.0.0.1:53
access = any
[zone {ZONE}]
device = {R}
self = auto
refresh = 100ms
[client {C}]
registry = 127.0.0.1:53
zone = {ZONE}
interval = 1s
""")

    def cycles():
        st = d.try_status()
        return st and st["client"]["devices"][0]["cycles"] >= 3 and st["registry"]["zones"][0]["reads"] >= 20
    check(wait_until(cycles, 20), "several client cycles and zone reads")
    check(wait_until(lambda: "198.51.100.11:1111" in run("wg", "show", C, "endpoints"), 10),
          "client set p1's endpoint on C (the set path ran)")
    os.kill(d.pid, signal.SIGHUP)
    check(wait_until(lambda: (d.try_status() or {}).get("reload", {}).get("ok") == 1, 10), "reload done")
    time.sleep(0.5)

    secrets = {"R": forms(rpriv), "C": forms(cpriv)}
    controls = {"base32 label of a published peer": base64.b32encode(base64.b64decode(p1)),
                "raw public key of a client peer": base64.b64decode(p3)}

    status = subprocess.run([WGSDCTL, "-s", d.sock, "status", "--json"], capture_output=True, timeout=10).stdout
    metrics = subprocess.run([WGSDCTL, "-s", d.sock, "metrics"], capture_output=True, timeout=10).stdout
    check(b'"registry"' in status and b"wgsd_zone_up" in metrics, "status and metrics read")
    scan("status --json", status, secrets, {"public key of a client peer": p3.encode()})
    scan("metrics", metrics, secrets)

    mem = Memory(d.pid)
    print(f"scanning {mem.size} bytes of the live daemon's memory "
          f"({mem.skipped} reservations over {REGION_MAX >> 20} MiB skipped)")
    check(mem.size > 100000, "memory of the daemon read")
    scan("memory", mem, secrets, controls)

    # The same scan on wireguard-go, which must hold R's private key: it finds the raw key there.
    wgmem = Memory(lab.devs[R].pid)
    check(base64.b64decode(rpriv) in wgmem, "control: the scan finds R's raw private key in wireguard-go's memory")

    if d.sanitized():
        # An ASan process maps terabytes of shadow memory: no core file of it.
        print("AddressSanitizer build: core file not written (the live memory was scanned)")
    elif shutil.which("gcore"):
        core = lab.path("core")
        r = subprocess.run(["gcore", "-o", core, str(d.pid)], capture_output=True, text=True, timeout=120)
        path = f"{core}.{d.pid}"
        if r.returncode == 0 and os.path.exists(path):
            with open(path, "rb") as f:
                blob = f.read()
            print(f"core file: {len(blob)} bytes")
            scan("core file", blob, secrets, controls)
            os.unlink(path)
        else:
            check(False, f"gcore failed: {r.stderr.strip()[-300:]}")
    else:
        print("gcore not installed: core file not checked (the live memory was)")
    check(d.alive(), "daemon still running after the scans")
    d.stop()
    with open(d.log_path(), "rb") as f:
        log = f.read()
    print(f"daemon output: {len(log)} bytes")
    check(len(log) > 200, "the daemon wrote its log")
    scan("daemon output", log, secrets)


if __name__ == "__main__":
    require("ip", "wg", "wireguard-go")
    main_wrapper("pk", body)
