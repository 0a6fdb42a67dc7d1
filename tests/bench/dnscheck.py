#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS helpers of the benchmark harness (standard library only).

  dnscheck.py zone SERVER PORT ZONE KEYS OUT.zone
      Build an NSD zone file from the registry's own answers: SOA and NS at
      the apex, and for every key the SRV answer at B._wireguard._udp.ZONE
      with the records in its additional section (A/AAAA of B.ZONE, TXT of
      the instance). The PTR listing is the set of instances that answered;
      the instance name gets the host's address too (wgsd answers A/AAAA
      there). Fails unless every key is published.
  dnscheck.py compare SERVER1 PORT1 SERVER2 PORT2 ZONE KEYS SAMPLE
      Ask both servers the same queries (apex SOA/NS, the PTR listing when it
      fits one message, and for SAMPLE random peers SRV/TXT/A/AAAA at the
      instance and A/AAAA at the host, plus names that do not exist) and
      compare rcode, AA and the record sets of the answer section, the SOA
      of the authority section and the A/AAAA of the additional section,
      ignoring TTLs, order, letter case and TXT "seen=" strings. (NSD adds
      the apex NS to the authority section of positive answers, wgsd adds
      the instance's TXT to the additional section of SRV answers: neither
      is compared.) Exit 1 on any difference.
  dnscheck.py queries ZONE KEYS COUNT OUT
      Write a dnsperf input file of COUNT SRV queries for random peers.
  dnscheck.py latency FILE
      Read `dnsperf -v` output; print "count avg_ms p50_ms p99_ms max_ms".
"""
import base64
import random
import socket
import struct
import sys

T_A, T_NS, T_SOA, T_PTR, T_TXT, T_AAAA, T_SRV, T_OPT = 1, 2, 6, 12, 16, 28, 33, 41
TYPE_NAMES = {T_A: "A", T_NS: "NS", T_SOA: "SOA", T_PTR: "PTR", T_TXT: "TXT", T_AAAA: "AAAA", T_SRV: "SRV"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def label_of(key_b64):
    """Upper-case padded base32 label of a base64 WireGuard key."""
    return base64.b32encode(base64.b64decode(key_b64)).decode()


def encode_name(name):
    """Wire form of a presentation name."""
    out = b""
    for part in name.rstrip(".").split("."):
        if part:
            out += bytes([len(part)]) + part.encode()
    return out + b"\0"


def make_query(qid, name, qtype, edns=True):
    """A standard query with RD clear and an EDNS OPT of 1232 bytes."""
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack("!HHIH", T_OPT, 1232, 0, 0)
    return msg


def read_name(msg, pos):
    """Decode a possibly compressed name; returns (lower-case text, position after it)."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        if n == 0:
            pos += 1
            break
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
        pos += 1 + n
    return ".".join(labels) + ".", end if end is not None else pos


def rdata_text(msg, rtype, pos, rdlen):
    """Presentation text of the rdata (names lower case)."""
    rd = msg[pos:pos + rdlen]
    if rtype == T_A:
        return socket.inet_ntop(socket.AF_INET, rd)
    if rtype == T_AAAA:
        return socket.inet_ntop(socket.AF_INET6, rd)
    if rtype in (T_NS, T_PTR):
        return read_name(msg, pos)[0]
    if rtype == T_SRV:
        prio, weight, port = struct.unpack("!HHH", rd[:6])
        return "%d %d %d %s" % (prio, weight, port, read_name(msg, pos + 6)[0])
    if rtype == T_SOA:
        mname, p = read_name(msg, pos)
        rname, p = read_name(msg, p)
        return "%s %s %d %d %d %d %d" % ((mname, rname) + struct.unpack("!IIIII", msg[p:p + 20]))
    if rtype == T_TXT:
        strings, p = [], 0
        while p < len(rd):
            n = rd[p]
            strings.append(rd[p + 1:p + 1 + n].decode())
            p += 1 + n
        return " ".join('"%s"' % s for s in strings)
    return rd.hex()


def parse(msg):
    """Parse a response into a dict: id, rcode, aa, tc, and records per section."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        pos = read_name(msg, pos)[1] + 4
    sections = []
    for count in (an, ns, ar):
        recs = []
        for _ in range(count):
            name, pos = read_name(msg, pos)
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
            pos += 10
            if rtype != T_OPT:
                recs.append((name, rtype, rdata_text(msg, rtype, pos, rdlen)))
            pos += rdlen
        sections.append(recs)
    return {"id": qid, "rcode": flags & 0xF, "aa": bool(flags & 0x400), "tc": bool(flags & 0x200),
            "answer": sections[0], "authority": sections[1], "additional": sections[2]}


def ask(server, port, name, qtype, tcp=False, timeout=3.0):
    """Send one query (UDP, or TCP) and return the parsed response."""
    qid = random.randrange(65536)
    q = make_query(qid, name, qtype)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    for attempt in range(3):
        try:
            if tcp:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(timeout)
                    s.connect((server, port))
                    s.sendall(struct.pack("!H", len(q)) + q)
                    buf = b""
                    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                        chunk = s.recv(65536)
                        if not chunk:
                            raise OSError("connection closed")
                        buf += chunk
                    return parse(buf[2:2 + struct.unpack("!H", buf[:2])[0]])
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(q, (server, port))
                while True:
                    data = s.recv(65535)
                    if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                        return parse(data)
        except (socket.timeout, OSError):
            if attempt == 2:
                raise
    raise OSError("no answer")


def ask_many(server, port, questions, window=64, timeout=3.0):
    """Send many UDP queries with up to `window` in flight; returns responses in question order."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    out = [None] * len(questions)
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((server, port))
        for tries in range(3):
            todo = [i for i, r in enumerate(out) if r is None]
            inflight = {}
            nxt = 0
            while nxt < len(todo) or inflight:
                while nxt < len(todo) and len(inflight) < window:
                    i = todo[nxt]
                    qid = i % 65536
                    s.send(make_query(qid, questions[i][0], questions[i][1]))
                    inflight[qid] = i
                    nxt += 1
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                qid = struct.unpack("!H", data[:2])[0]
                if qid in inflight:
                    out[inflight.pop(qid)] = parse(data)
            if all(r is not None for r in out):
                return out
    missing = sum(1 for r in out if r is None)
    raise OSError("%d of %d queries unanswered by %s:%d" % (missing, len(out), server, port))


def zone_cmd(server, port, zone, keys_path, out_path):
    """Write the NSD zone file from the registry's answers."""
    zone = zone.rstrip(".").lower() + "."
    keys = open(keys_path).read().split()
    soa = ask(server, port, zone, T_SOA)
    ns = ask(server, port, zone, T_NS)
    if soa["rcode"] or not soa["answer"] or ns["rcode"] or not ns["answer"]:
        sys.exit("zone: no SOA/NS from %s:%d" % (server, port))
    svc = "_wireguard._udp." + zone
    questions = [("%s.%s" % (label_of(k), svc), T_SRV) for k in keys]
    answers = ask_many(server, port, questions)
    lines = ["$ORIGIN %s" % zone, "$TTL 0"]
    for name, rtype, text in soa["answer"] + ns["answer"]:
        lines.append("%s IN %s %s" % (name, TYPE_NAMES[rtype], text))
    ptrs, rest = [], []
    for (qname, _), r in zip(questions, answers):
        if r["rcode"] != 0 or len(r["answer"]) != 1:
            sys.exit("zone: %s SRV: %s with %d answers" % (qname, RCODES.get(r["rcode"]), len(r["answer"])))
        name, rtype, text = r["answer"][0]
        ptrs.append("%s IN PTR %s" % (svc, name))
        rest.append("%s IN SRV %s" % (name, text))
        addrs = [rec for rec in r["additional"] if rec[1] in (T_A, T_AAAA)]
        txts = [rec for rec in r["additional"] if rec[1] == T_TXT]
        if len(addrs) != 1 or len(txts) != 1:
            sys.exit("zone: %s: additional section without one address and one TXT" % qname)
        host = text.split()[3]
        rest.append("%s IN %s %s" % (host, TYPE_NAMES[addrs[0][1]], addrs[0][2]))
        rest.append("%s IN %s %s" % (name, TYPE_NAMES[addrs[0][1]], addrs[0][2]))
        # "seen=" depends on the time of the query: the static zone leaves it out.
        txt = " ".join(s for s in txts[0][2].split(" ") if not s.startswith('"seen='))
        rest.append("%s IN TXT %s" % (name, txt))
    with open(out_path, "w") as f:
        f.write("\n".join(lines + ptrs + rest) + "\n")
    print("zone: %d entries, %d records" % (len(ptrs), len(lines) - 2 + len(ptrs) + len(rest)))


def normalize(r):
    """What must be equal between the two servers' answers."""
    def recs(section, types=None):
        out = set()
        for name, rtype, text in r[section]:
            if types and rtype not in types:
                continue
            if rtype == T_TXT:
                text = " ".join(s for s in text.split(" ") if not s.startswith('"seen='))
            out.add((name, rtype, text))
        return sorted(out)
    return {"rcode": RCODES.get(r["rcode"], r["rcode"]), "aa": r["aa"], "answer": recs("answer"),
            "authority SOA": recs("authority", (T_SOA,)), "additional A/AAAA": recs("additional", (T_A, T_AAAA))}


def compare_cmd(s1, p1, s2, p2, zone, keys_path, sample):
    """Compare the two servers on a sample of queries."""
    zone = zone.rstrip(".").lower() + "."
    keys = open(keys_path).read().split()
    svc = "_wireguard._udp." + zone
    rng = random.Random(7)
    questions = [(zone, T_SOA), (zone, T_NS), (zone, T_A), ("_udp." + zone, T_PTR),
                 ("ns1." + zone, T_A), ("nope." + zone, T_SRV)]
    tcp_questions = []
    if len(keys) * 71 + 100 < 65535:
        tcp_questions.append((svc, T_PTR))
    for k in rng.sample(keys, min(sample, len(keys))):
        b = label_of(k)
        for qtype in (T_SRV, T_TXT, T_A, T_AAAA):
            questions.append(("%s.%s" % (b, svc), qtype))
        for qtype in (T_A, T_AAAA, T_TXT):
            questions.append(("%s.%s" % (b, zone), qtype))
        # Unpadded spelling is wgsd-only (NSD has no such name): not compared.
    fake = base64.b32encode(bytes(rng.randrange(256) for _ in range(32))).decode()
    questions.append(("%s.%s" % (fake, svc), T_SRV))
    a1 = ask_many(s1, p1, questions)
    a2 = ask_many(s2, p2, questions)
    for q in tcp_questions:
        a1.append(ask(s1, p1, q[0], q[1], tcp=True))
        a2.append(ask(s2, p2, q[0], q[1], tcp=True))
    bad = 0
    for (name, qtype), r1, r2 in zip(questions + tcp_questions, a1, a2):
        n1, n2 = normalize(r1), normalize(r2)
        if n1 != n2:
            bad += 1
            if bad <= 5:
                print("DIFFERENT: %s %s" % (name, TYPE_NAMES.get(qtype, qtype)))
                for k in n1:
                    if n1[k] != n2[k]:
                        print("  %s: %s:%d %s" % (k, s1, p1, n1[k]))
                        print("  %s: %s:%d %s" % (k, s2, p2, n2[k]))
    total = len(questions) + len(tcp_questions)
    print("compare: %d queries, %d different" % (total, bad))
    sys.exit(1 if bad else 0)


def queries_cmd(zone, keys_path, count, out_path):
    """dnsperf input: SRV queries for random peers."""
    zone = zone.rstrip(".") + "."
    labels = [label_of(k) for k in open(keys_path).read().split()]
    rng = random.Random(11)
    with open(out_path, "w") as f:
        for _ in range(count):
            f.write("%s._wireguard._udp.%s SRV\n" % (rng.choice(labels), zone))


def latency_cmd(path):
    """Latency statistics from dnsperf -v lines ("> RCODE NAME TYPE SECONDS")."""
    lat = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                parts = line.split()
                try:
                    lat.append(float(parts[-1]))
                except ValueError:
                    pass
    if not lat:
        print("0 0 0 0 0")
        return
    lat.sort()
    n = len(lat)
    pick = lambda q: lat[min(n - 1, int(q * n))] * 1000
    print("%d %.3f %.3f %.3f %.3f" % (n, sum(lat) / n * 1000, pick(0.5), pick(0.99), lat[-1] * 1000))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "zone":
        zone_cmd(args[0], int(args[1]), args[2], args[3], args[4])
    elif cmd == "compare":
        compare_cmd(args[0], int(args[1]), args[2], int(args[3]), args[4], args[5], int(args[6]))
    elif cmd == "queries":
        queries_cmd(args[0], args[1], int(args[2]), args[3])
    elif cmd == "latency":
        latency_cmd(args[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
