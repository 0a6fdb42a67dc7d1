#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bad-packet suite against a running wgsd registry (UDP and TCP, raw bytes).

The zone lives on a wireguard-go device with two peers, so the valid query
sent after every case (PTR listing of _wireguard._udp.example.com.) gets a
real answer that is checked record by record. Each case expects one rcode
(FORMERR/NOTIMP/REFUSED/BADVERS/NXDOMAIN/NOERROR), a silent drop, or (TCP)
the connection closed; the daemon must stay up throughout.

Expected rcodes, and why:
  - shorter than a header, QR=1: dropped (nothing to answer to; answering a
    response invites loops, RFC 5452 9.1 spirit).
  - opcode other than QUERY and UPDATE (IQUERY, STATUS, NOTIFY, unassigned):
    NOTIMP (RFC 1035 4.1.1; RFC 1996 for NOTIFY), with an OPT when the query
    had one (RFC 6891 6.1.1).
  - UPDATE (candidate registration): REFUSED here, since it does not arrive
    through the zone's WireGuard interface (RFC 2136 3.3), with an OPT when
    the request had one.
  - QDCOUNT != 1, ANCOUNT != 0, NSCOUNT != 0 (no IXFR), bad names (label
    type 0x40/0x80, label > 63, name > 255, compression in the question),
    records running past the end, trailing bytes, QTYPE OPT: FORMERR
    (RFC 1035 4.1.1, RFC 6891 6.1.1).
  - OPT not owned by the root, two OPTs, OPT in answer/authority, rdlen past
    the end: FORMERR (RFC 6891 6.1.1).
  - an OPT whose options are malformed: FORMERR with an OPT in the response
    (RFC 6891 7: "If this occurs, the response MUST include an OPT record").
  - a FORMERR for a bad question or bad counts still carries an OPT when the
    query has a well-formed one and the message can be walked (names skipped,
    never followed): RFC 6891 6.1.1; when it cannot be walked, no OPT.
  - EDNS version > 0: BADVERS (16) with an OPT of version 0 (RFC 6891 6.1.3).
  - class other than IN, names outside the zone, AXFR/IXFR: REFUSED.
  - boundary cases (63-octet label, 255-octet name, unknown EDNS option,
    Z/AD/TC bits in a query, id 0 and 0xffff): answered normally.
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hlib import *  # noqa: E402,F403

ZONE = "example.com."
PORT = 53
ADDR = "127.0.0.1"
VALID_ID = 0x600D
IDLE_S = 3
MAX_CONNS = 8
DROP = "drop"


def valid_query(qid=VALID_ID):
    return query("_wireguard._udp." + ZONE, T_PTR, qid=qid)


def expected_labels(keys):
    return sorted(b32_label(k) for k in keys)


def ptr_labels(resp):
    out = []
    for rdata in resp.answers(T_PTR):
        out.append(rdata[1:1 + rdata[0]].decode())
    return sorted(out)


class Ctx:
    def __init__(self, labels):
        self.labels = labels

    def valid_ok(self, raw, qid=VALID_ID):
        """A correct answer to the valid query."""
        if not raw:
            return False
        try:
            r = Response(raw)
        except (ValueError, struct.error, IndexError):
            return False
        return (r.id == qid and r.qr and r.aa and r.rcode == NOERROR and not r.tc
                and ptr_labels(r) == self.labels)


def q_hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return header(qid, flags, qd, an, ns, ar)


SOA_Q = question(ZONE, T_SOA)


def name_of_len(total):
    """A wire name of exactly total octets ending in the zone."""
    tail = encode_name(ZONE)
    rest = total - len(tail)
    labels = b""
    while rest > 0:
        n = min(63, rest - 1)
        if rest - (n + 1) == 1:     # never leave a single octet (a label needs two)
            n -= 1
        labels += bytes([n]) + b"a" * n
        rest -= n + 1
    return labels + tail


def cases():
    """(name, builder(qid) -> bytes, expectation). expectation: rcode int, DROP, or a dict."""
    c = []
    for n in range(12):
        c.append((f"truncated header ({n} bytes)",
                  lambda qid, n=n: q_hdr(qid)[:n], DROP))
    c += [
        ("QDCOUNT 0", lambda qid: q_hdr(qid, qd=0), FORMERR),
        ("QDCOUNT 2 (two questions)", lambda qid: q_hdr(qid, qd=2) + SOA_Q + SOA_Q, FORMERR),
        ("QDCOUNT 2 (one question present)", lambda qid: q_hdr(qid, qd=2) + SOA_Q, FORMERR),
        ("label of 64 octets", lambda qid: q_hdr(qid) + b"\x40" + b"a" * 64 + encode_name(ZONE) + b"\x00\x06\x00\x01", FORMERR),
        ("label of 63 octets (boundary, in zone)", lambda qid: q_hdr(qid) + b"\x3f" + b"a" * 63 + encode_name(ZONE) + b"\x00\x06\x00\x01",
         {"rcode": NXDOMAIN}),
        ("name of 255 octets (boundary)", lambda qid: q_hdr(qid) + name_of_len(255) + b"\x00\x06\x00\x01", {"rcode": NXDOMAIN}),
        ("name of 256 octets", lambda qid: q_hdr(qid) + name_of_len(256) + b"\x00\x06\x00\x01", FORMERR),
        ("name of 320 octets", lambda qid: q_hdr(qid) + (b"\x3f" + b"b" * 63) * 5 + b"\x00\x00\x06\x00\x01", FORMERR),
        ("compression loop (pointer to itself)", lambda qid: q_hdr(qid) + b"\xc0\x0c\x00\x06\x00\x01", FORMERR),
        ("compression loop (two labels then back)", lambda qid: q_hdr(qid) + b"\x01a\xc0\x0c\x00\x06\x00\x01", FORMERR),
        ("forward compression pointer", lambda qid: q_hdr(qid) + b"\xc0\x12\x00\x06\x00\x01" + encode_name(ZONE), FORMERR),
        ("pointer into the header", lambda qid: q_hdr(qid) + b"\xc0\x00\x00\x06\x00\x01", FORMERR),
        ("label type 0x40 (extended)", lambda qid: q_hdr(qid) + b"\x41\x00" + encode_name(ZONE) + b"\x00\x06\x00\x01", FORMERR),
        ("label type 0x80 (reserved)", lambda qid: q_hdr(qid) + b"\x81a" + encode_name(ZONE) + b"\x00\x06\x00\x01", FORMERR),
        ("name without its root label", lambda qid: q_hdr(qid) + b"\x07example\x03com", FORMERR),
        ("question without QTYPE/QCLASS", lambda qid: q_hdr(qid) + encode_name(ZONE), FORMERR),
        ("question with half a QCLASS", lambda qid: q_hdr(qid) + encode_name(ZONE) + b"\x00\x06\x00", FORMERR),
        ("OPT owned by a non-root name", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(owner=b"\x01x\x00"), FORMERR),
        ("OPT rdlen beyond the end", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr()[:-2] + b"\x00\x20", FORMERR),
        ("OPT option length beyond its rdata", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(rdata=b"\x00\x0a\x00\x10abcd"),
         {"rcode": FORMERR, "opt": True}),
        ("OPT option header cut short", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(rdata=b"\x00\x0a\x00"),
         {"rcode": FORMERR, "opt": True}),
        ("duplicate OPT", lambda qid: q_hdr(qid, ar=2) + SOA_Q + opt_rr() + opt_rr(), FORMERR),
        ("OPT in the answer section", lambda qid: q_hdr(qid, an=1) + SOA_Q + opt_rr(), FORMERR),
        ("OPT in the authority section", lambda qid: q_hdr(qid, ns=1) + SOA_Q + opt_rr(), FORMERR),
        ("OPT in authority and additional", lambda qid: q_hdr(qid, ns=1, ar=1) + SOA_Q + opt_rr() + opt_rr(), FORMERR),
        ("EDNS version 1", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(version=1), {"rcode": BADVERS, "opt": True}),
        ("EDNS version 255 with DO", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(version=255, do=True),
         {"rcode": BADVERS, "opt": True}),
        ("EDNS with an unknown option", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(rdata=b"\xfd\xe9\x00\x03abc"),
         {"rcode": NOERROR, "opt": True, "aa": True}),
        ("EDNS payload size 0", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr(udp_size=0), {"rcode": NOERROR, "opt": True}),
        ("class CH", lambda qid: q_hdr(qid) + question(ZONE, T_SOA, 3), REFUSED),
        ("class NONE", lambda qid: q_hdr(qid) + question(ZONE, T_SOA, 254), REFUSED),
        ("class 0x1234", lambda qid: q_hdr(qid) + question(ZONE, T_SOA, 0x1234), REFUSED),
        ("QR=1 (a response)", lambda qid: q_hdr(qid, flags=0x8100) + SOA_Q, DROP),
        ("QR=1 with garbage", lambda qid: q_hdr(qid, flags=0xffff, qd=0xffff, an=0xffff) + b"\xff" * 40, DROP),
        ("opcode IQUERY", lambda qid: q_hdr(qid, flags=1 << 11) + SOA_Q, {"rcode": NOTIMP, "opcode": 1}),
        ("opcode STATUS", lambda qid: q_hdr(qid, flags=2 << 11) + SOA_Q, {"rcode": NOTIMP, "opcode": 2}),
        ("opcode 3 (unassigned)", lambda qid: q_hdr(qid, flags=3 << 11) + SOA_Q, {"rcode": NOTIMP, "opcode": 3}),
        ("opcode NOTIFY", lambda qid: q_hdr(qid, flags=4 << 11 | 0x0400, an=1) + SOA_Q +
         b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x00", {"rcode": NOTIMP, "opcode": 4}),
        ("opcode UPDATE", lambda qid: q_hdr(qid, flags=5 << 11, ns=1) + SOA_Q +
         b"\x01x\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01", {"rcode": REFUSED, "opcode": 5}),
        ("opcode NOTIFY with EDNS", lambda qid: q_hdr(qid, flags=4 << 11 | 0x0400, an=1, ar=1) + SOA_Q +
         b"\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x00" + opt_rr(), {"rcode": NOTIMP, "opcode": 4, "opt": True}),
        ("opcode UPDATE with EDNS", lambda qid: q_hdr(qid, flags=5 << 11, ar=1) + SOA_Q + opt_rr(),
         {"rcode": REFUSED, "opcode": 5, "opt": True}),
        ("opcode 15 with garbage counts", lambda qid: q_hdr(qid, flags=15 << 11, qd=7, an=9) + b"\x00" * 5,
         {"rcode": NOTIMP, "opcode": 15}),
        ("ANCOUNT 1 with an A record", lambda qid: q_hdr(qid, an=1) + SOA_Q +
         b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01", FORMERR),
        ("NSCOUNT 1 with a record (not IXFR)", lambda qid: q_hdr(qid, ns=1) + SOA_Q +
         b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01", FORMERR),
        ("ANCOUNT 0xffff without records", lambda qid: q_hdr(qid, an=0xffff) + SOA_Q, FORMERR),
        ("ARCOUNT 1 without a record", lambda qid: q_hdr(qid, ar=1) + SOA_Q, FORMERR),
        ("trailing garbage", lambda qid: q_hdr(qid) + SOA_Q + b"\xde\xad\xbe\xef", FORMERR),
        ("trailing garbage after OPT", lambda qid: q_hdr(qid, ar=1) + SOA_Q + opt_rr() + b"\x00", FORMERR),
        ("QTYPE OPT", lambda qid: q_hdr(qid) + question(ZONE, T_OPT), FORMERR),
        ("AXFR", lambda qid: q_hdr(qid) + question(ZONE, 252), REFUSED),
        ("IXFR without SOA", lambda qid: q_hdr(qid) + question(ZONE, 251), REFUSED),
        ("name outside every zone", lambda qid: q_hdr(qid) + question("example.org.", T_SOA), REFUSED),
        ("Z, AD, CD and TC bits set in a query", lambda qid: q_hdr(qid, flags=0x0370) + SOA_Q,
         {"rcode": NOERROR, "aa": True}),
        ("upper-case name", lambda qid: q_hdr(qid) + question("EXAMPLE.COM.", T_SOA), {"rcode": NOERROR, "aa": True}),
        ("all-zero 512 bytes", lambda qid: b"\x00" * 512, FORMERR),
        # RFC 6891 6.1.1/7: a bad question does not hide a well-formed OPT, when the message can be walked.
        ("QDCOUNT 0 with EDNS", lambda qid: q_hdr(qid, qd=0, ar=1) + opt_rr(), {"rcode": FORMERR, "opt": True}),
        ("QDCOUNT 2 with EDNS", lambda qid: q_hdr(qid, qd=2, ar=1) + SOA_Q + SOA_Q + opt_rr(),
         {"rcode": FORMERR, "opt": True}),
        ("compression in the question with EDNS", lambda qid: q_hdr(qid, ar=1) + b"\xc0\x0c\x00\x06\x00\x01" + opt_rr(),
         {"rcode": FORMERR, "opt": True}),
        ("ANCOUNT 1 with EDNS", lambda qid: q_hdr(qid, an=1, ar=1) + SOA_Q +
         b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01" + opt_rr(), {"rcode": FORMERR, "opt": True}),
        ("QDCOUNT 0 with an OPT option cut short", lambda qid: q_hdr(qid, qd=0, ar=1) + opt_rr(rdata=b"\x00\x0a\x00"),
         {"rcode": FORMERR, "opt": True}),
        ("label type 0x40 with EDNS (cannot be walked)", lambda qid: q_hdr(qid, ar=1) + b"\x41\x00" + encode_name(ZONE) +
         b"\x00\x06\x00\x01" + opt_rr(), {"rcode": FORMERR, "opt": False}),
        ("QDCOUNT 0 with EDNS and trailing garbage", lambda qid: q_hdr(qid, qd=0, ar=1) + opt_rr() + b"\x00",
         {"rcode": FORMERR, "opt": False}),
        ("opcode STATUS, QDCOUNT 0, with EDNS", lambda qid: q_hdr(qid, flags=2 << 11, qd=0, ar=1) + opt_rr(),
         {"rcode": NOTIMP, "opcode": 2, "opt": True}),
    ]
    return c


def judge(name, raw, exp, qid, proto):
    """Check one response against its expectation."""
    if isinstance(exp, int):
        exp = {"rcode": exp}
    if exp == DROP:
        return check(raw is None, f"[{proto}] {name}: dropped")
    if not raw:
        return check(False, f"[{proto}] {name}: expected rcode {exp['rcode']}, got no response")
    try:
        r = Response(raw)
    except (ValueError, struct.error, IndexError) as e:
        return check(False, f"[{proto}] {name}: malformed response ({e})")
    ok = r.qr and r.rcode == exp["rcode"]
    why = f"rcode {r.rcode} qr {r.qr}"
    if qid is not None and r.id != qid:
        ok, why = False, why + f" id {r.id:#x} != {qid:#x}"
    if "opt" in exp and (r.opt is not None) != exp["opt"]:
        ok, why = False, why + f" opt {'present' if r.opt else 'missing'}"
    if r.opt is not None and r.opt[2] != 0:
        ok, why = False, why + f" OPT version {r.opt[2]}"
    if "opcode" in exp and r.opcode != exp["opcode"]:
        ok, why = False, why + f" opcode {r.opcode}"
    if "aa" in exp and r.aa != exp["aa"]:
        ok, why = False, why + f" aa {r.aa}"
    return check(ok, f"[{proto}] {name}: rcode {exp['rcode']} ({why})")


def udp_case(ctx, name, payload, exp, qid):
    """Bad datagram then the valid query from the same socket; the server answers in order."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bad_resp = None
    valid = None
    try:
        s.sendto(payload, (ADDR, PORT))
        s.sendto(valid_query(), (ADDR, PORT))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and valid is None:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = s.recv(70000)
            except socket.timeout:
                break
            if len(data) >= 2 and struct.unpack(">H", data[:2])[0] == VALID_ID and valid is None:
                valid = data
            else:
                bad_resp = data
        # A late answer to the bad message still counts against a drop.
        s.settimeout(0.05)
        try:
            bad_resp = bad_resp or s.recv(70000)
        except socket.timeout:
            pass
    finally:
        s.close()
    judge(name, bad_resp, exp, qid, "udp")
    check(ctx.valid_ok(valid), f"[udp] valid query answered after: {name}")


def tcp_case(ctx, name, payload, exp, qid):
    """Bad message then the valid query on one connection (answered in order: one at a time here)."""
    s = socket.create_connection((ADDR, PORT), timeout=3)
    vq = valid_query()
    try:
        s.sendall(struct.pack(">H", len(payload)) + payload + struct.pack(">H", len(vq)) + vq)
        first = tcp_read_msg(s, 3)
        if not payload:
            # Length 0 over TCP: nothing valid can follow, the server closes.
            check(first == b"", f"[tcp] {name}: connection closed")
            valid = tcp_exchange(ADDR, PORT, vq)
        elif exp == DROP:
            judge(name, None if ctx.valid_ok(first) else (first or b"?"), exp, qid, "tcp")
            valid = first
        else:
            judge(name, first, exp, qid, "tcp")
            valid = tcp_read_msg(s, 3)
    finally:
        s.close()
    check(ctx.valid_ok(valid), f"[tcp] valid query answered after: {name}")


def after(ctx, d, what):
    """Daemon alive and a valid query answered over both transports."""
    check(d.alive(), f"daemon alive after {what}")
    check(ctx.valid_ok(udp_exchange(ADDR, PORT, valid_query())), f"[udp] valid query answered after {what}")
    check(ctx.valid_ok(tcp_exchange(ADDR, PORT, valid_query())), f"[tcp] valid query answered after {what}")


def giant_udp(ctx, d):
    # 65 KB: a valid query whose OPT carries one huge padding option (well-formed), and pure garbage.
    pad = b"\x00\x0c" + struct.pack(">H", 65000) + b"\x00" * 65000
    for name, payload in (("giant UDP datagram (65 KB, valid EDNS padding)",
                           q_hdr(0xB16, ar=1) + SOA_Q + opt_rr(rdata=pad)),
                          ("giant UDP datagram (65 KB garbage)", b"\x12\x34\x01\x00" + b"\xee" * 65000)):
        r = udp_exchange(ADDR, PORT, payload, timeout=1)
        # Dropping is what the server does for datagrams over its 4096-byte buffer; an answer must be sane.
        ok = r is None or (Response(r).rcode in (NOERROR, FORMERR))
        check(ok, f"[udp] {name}: dropped or answered sanely")
        after(ctx, d, name)


def tcp_special(ctx, d):
    # Length 0: the server closes the connection (nothing valid can follow a zero-length message).
    s = socket.create_connection((ADDR, PORT), timeout=3)
    s.sendall(b"\x00\x00" + struct.pack(">H", len(valid_query())) + valid_query())
    r = tcp_read_msg(s, 3)
    check(r == b"", "[tcp] length 0: connection closed without an answer")
    s.close()
    after(ctx, d, "TCP length 0")

    # Length prefix longer than the data, then half-close and full close.
    for how in ("shutdown", "close"):
        s = socket.create_connection((ADDR, PORT), timeout=3)
        s.sendall(b"\x01\x00" + valid_query())
        if how == "shutdown":
            s.shutdown(socket.SHUT_WR)
            check(tcp_read_msg(s, 3) == b"", "[tcp] length beyond the data, half-close: closed, no answer")
        s.close()
        after(ctx, d, f"TCP length beyond the data then {how}")

    # Length prefix alone then close; a single byte then close.
    for data in (b"\x00", b"\x00\x30"):
        s = socket.create_connection((ADDR, PORT), timeout=3)
        s.sendall(data)
        s.close()
    after(ctx, d, "TCP partial length prefix then close")

    # A 65535-byte message (valid query plus trailing bytes): FORMERR, not a crash.
    big = q_hdr(0xB16) + SOA_Q
    big += b"\xab" * (65535 - len(big))
    r = tcp_exchange(ADDR, PORT, big, timeout=5)
    judge("65535-byte message with trailing bytes", r, FORMERR, 0xB16, "tcp")
    after(ctx, d, "65535-byte TCP message")

    # Pipelining: three queries in one segment, three answers in order.
    s = socket.create_connection((ADDR, PORT), timeout=3)
    msgs = b"".join(struct.pack(">H", len(m)) + m for m in (valid_query(1), valid_query(2), valid_query(3)))
    s.sendall(msgs)
    got = [tcp_read_msg(s, 3) for _ in range(3)]
    s.close()
    check(all(ctx.valid_ok(g, i + 1) for i, g in enumerate(got)), "[tcp] three pipelined queries answered in order")

    # A query dribbled one byte per write (fast): answered.
    s = socket.create_connection((ADDR, PORT), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    m = valid_query()
    for b in struct.pack(">H", len(m)) + m:
        s.send(bytes([b]))
    check(ctx.valid_ok(tcp_read_msg(s, 3)), "[tcp] query written byte by byte answered")
    s.close()


def tcp_conns(d):
    return d.status()["registry"]["listeners"][0]["tcp_connections"]


def timeout_closes(d):
    """Connections the server closed by its timers (idle, or stalled output where counted apart)."""
    li = d.status()["registry"]["listeners"][0]
    return li["tcp_closed_idle"] + li.get("tcp_dropped_stalled", 0)


def wait_no_conns(d, timeout):
    return wait_until(lambda: tcp_conns(d) == 0, timeout)


def slowloris(ctx, d):
    """One byte per second: the server closes the connection by its idle timeout; others are served meanwhile."""
    wait_no_conns(d, 5)
    idle_before = d.status()["registry"]["listeners"][0]["tcp_closed_idle"]
    s = socket.create_connection((ADDR, PORT), timeout=3)
    m = valid_query(0x510)
    data = struct.pack(">H", len(m)) + m
    closed = False
    rounds = served = sent = 0
    # The query needs len(data) seconds at this rate; the idle timeout is IDLE_S.
    for i in range(len(data)):
        try:
            s.send(data[i:i + 1])
            sent += 1
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if closed_by_peer(s, 0.5):
            closed = True
            break
        rounds += 1
        if ctx.valid_ok(udp_exchange(ADDR, PORT, valid_query())) and ctx.valid_ok(tcp_exchange(ADDR, PORT, valid_query())):
            served += 1
        time.sleep(0.5)
    s.close()
    print(f"slowloris: {sent} of {len(data)} bytes sent before the server closed; {served}/{rounds} rounds served meanwhile")
    check(closed and sent < len(data), f"[tcp] slowloris closed by the server before its query completed ({sent}/{len(data)} bytes)")
    check(rounds >= 1 and served == rounds, f"[tcp] others served while the slow client was connected ({served}/{rounds})")
    check(d.status()["registry"]["listeners"][0]["tcp_closed_idle"] > idle_before, "[tcp] slowloris counted as an idle close")
    after(ctx, d, "slowloris")


def never_reads(ctx, d):
    """Many pipelined queries, never read: others stay served; the server drops it by its timeout."""
    wait_no_conns(d, 5)
    timed_out_before = timeout_closes(d)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((ADDR, PORT))
    s.setblocking(False)
    burst = b"".join(struct.pack(">H", len(valid_query(i))) + valid_query(i) for i in range(1, 2001))
    sent = 0
    deadline = time.monotonic() + 15
    while sent < 400 * len(burst) and time.monotonic() < deadline:
        try:
            sent += s.send(burst)
        except BlockingIOError:
            break
        except (BrokenPipeError, ConnectionResetError):
            break
    print(f"non-reading client: {sent} bytes of queries written before the server stopped reading")
    check(sent < 400 * len(burst), "[tcp] the server stops reading from a client that does not read")
    ok = 0
    for i in range(20):
        if ctx.valid_ok(udp_exchange(ADDR, PORT, valid_query())) and ctx.valid_ok(tcp_exchange(ADDR, PORT, valid_query())):
            ok += 1
    check(ok == 20, f"[tcp] others served while a client does not read ({ok}/20)")
    # Not reading from our side (reading would let the server make progress): watch its counters.
    check(wait_no_conns(d, IDLE_S * 4 + 5), "[tcp] client that never reads is dropped by the server")
    check(timeout_closes(d) > timed_out_before, "[tcp] the drop is counted (idle close or stalled drop)")
    s.close()
    after(ctx, d, "a client that never reads")


def refused_at_once(qid, timeout=1.0):
    """Connect and send a query: True when the server closes the connection (reset or EOF) within
    timeout without answering."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((ADDR, PORT))
        try:
            s.sendall(struct.pack(">H", len(valid_query(qid))) + valid_query(qid))
        except (ConnectionResetError, BrokenPipeError):
            return True
        return s.recv(65536) == b""
    except ConnectionResetError:
        return True
    except OSError:          # timeout: still open (or never accepted), or the connect failed
        return False
    finally:
        s.close()


def over_cap(ctx, d):
    """More connections than tcp-max-connections: the daemon stays up and keeps UDP; held ones are served.

    Over the cap new connections are accepted and reset at once (no answer), so clients fail
    fast; the ones under the cap keep being served, and a slot that frees serves a new one."""
    wait_no_conns(d, 5)
    held = [socket.create_connection((ADDR, PORT), timeout=3) for _ in range(MAX_CONNS)]

    def refresh_held(base):
        n = 0
        for i, s in enumerate(held):
            s.sendall(struct.pack(">H", len(valid_query(base + i))) + valid_query(base + i))
            if ctx.valid_ok(tcp_read_msg(s, 3), base + i):
                n += 1
        return n

    served = refresh_held(100)
    check(served == MAX_CONNS, f"[tcp] {MAX_CONNS} connections within the cap served ({served})")
    rejected_before = d.status()["registry"]["listeners"][0]["tcp_rejected_full"]
    extra = 3 * MAX_CONNS
    refused = sum(1 for i in range(extra) if refused_at_once(200 + i))
    check(refused == extra, f"[tcp] connections over the cap closed at once without an answer ({refused}/{extra})")
    udp_ok = sum(1 for _ in range(20) if ctx.valid_ok(udp_exchange(ADDR, PORT, valid_query())))
    check(udp_ok == 20, f"[udp] answered while TCP is over its cap ({udp_ok}/20)")
    check(refresh_held(300) == MAX_CONNS, "[tcp] held connections still served at the cap")
    check(tcp_conns(d) == MAX_CONNS, f"[tcp] open connections stay at the cap of {MAX_CONNS}")
    rejected = d.status()["registry"]["listeners"][0]["tcp_rejected_full"] - rejected_before
    check(rejected == extra, f"[tcp] refusals at the cap counted ({rejected}/{extra})")
    # One slot frees: a new connection is served (retried while the server has not yet seen the close).
    held.pop().close()
    got = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            got = tcp_exchange(ADDR, PORT, valid_query(400), timeout=3)
        except OSError:
            got = None
        if ctx.valid_ok(got, 400):
            break
        time.sleep(0.05)
    check(ctx.valid_ok(got, 400), "[tcp] a new connection is served once a slot frees")
    check(refresh_held(500) == MAX_CONNS - 1, "[tcp] the other held connections still served")
    for s in held:
        s.close()
    check(wait_no_conns(d, 5), "[tcp] connections closed by their clients are freed")
    check(d.alive(), "daemon alive after the connection flood")
    after(ctx, d, "connections beyond the cap")


def body(lab):
    dev = lab.ifname("hbp")
    lab.wg_start(dev, private_key=run("wg", "genkey").strip(), listen_port=51820)
    k1, k2 = rand_key(), rand_key()
    lab.wg_set(dev, "peer", k1, "endpoint", "192.0.2.1:51820", "allowed-ips", "10.0.0.1/32",
               "peer", k2, "endpoint", "[2001:db8::2]:51821", "allowed-ips", "10.0.0.2/32")
    d = lab.wgsd_start("reg", f"""[daemon]
status-socket = {lab.path('reg.sock')}
[registry]
listen = {ADDR}:{PORT}
access = any
tcp-max-connections = {MAX_CONNS}
tcp-idle-timeout = {IDLE_S}s
[zone {ZONE}]
device = {dev}
refresh = 500ms
""")
    ctx = Ctx(expected_labels([k1, k2]))
    check(ctx.valid_ok(udp_exchange(ADDR, PORT, valid_query())), "valid query answered before the suite (udp)")
    check(ctx.valid_ok(tcp_exchange(ADDR, PORT, valid_query())), "valid query answered before the suite (tcp)")
    cs = cases()
    print(f"{len(cs)} message cases, each over UDP and TCP")
    for i, (name, build, exp) in enumerate(cs):
        payload = build(0xBAD0 + i)
        qid = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
        udp_case(ctx, name, payload, exp, qid)
        tcp_case(ctx, name, payload, exp, qid)
        if not d.alive():
            check(False, f"daemon died at: {name}")
            return
    giant_udp(ctx, d)
    tcp_special(ctx, d)
    slowloris(ctx, d)
    never_reads(ctx, d)
    over_cap(ctx, d)
    st = d.status()["registry"]["listeners"][0]
    print(f"counters: udp {st['udp']} tcp {st['tcp']} accepted {st['tcp_accepted']} "
          f"rejected at the cap {st['tcp_rejected_full']} idle-closed {st['tcp_closed_idle']}")
    check(d.alive(), "daemon alive at the end")


if __name__ == "__main__":
    require("ip", "wg", "wireguard-go")
    main_wrapper("bp", body)
