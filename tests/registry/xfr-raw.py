#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Zone transfer requests that dig cannot make, for the hostile transfer test.

  xfr-raw.py SERVER ZONE ask TYPE [--key NAME SECRET] [--time-offset S] [--serial N] [--udp] [--src IP] [--repeat N]
      one AXFR/IXFR (optionally TSIG-signed, with the signing time moved by S
      seconds: a replayed request); prints "rcode=NAME answers=N messages=M
      tsig_error=E last_type=T" for the whole response, and for a TSIG error
      "signed=ok|bad|none" (its TSIG checked over the request's MAC); with --repeat the
      same bytes are sent N times (a new connection each over TCP: a replay),
      one line each; with --message FILE the request is read from FILE when
      it exists and written there otherwise (a replay across invocations)
  xfr-raw.py SERVER ZONE pipelined [--src IP]
      an AXFR and an SOA query on one connection at once; prints the IDs of
      the transfer's messages, then the SOA answer's ID, rcode and answers
  xfr-raw.py SERVER ZONE cut [--src IP]
      an AXFR read up to its first message, then the connection reset
  xfr-raw.py SERVER ZONE slow SECONDS [--src IP]
      an AXFR read 4 KiB at a time over about SECONDS; prints what ask prints
  xfr-raw.py SERVER ZONE stall N HOLD [--src IP]
      N AXFRs at once that read nothing for HOLD seconds; prints how many were
      answered SERVFAIL right away (too many running) and how many the server
      closed meanwhile (its idle timeout)
  xfr-raw.py SERVER ZONE udp-burst N [--src IP]
      N UDP SOA queries, 64 in flight; prints how many were answered
SERVER is IP:PORT. Only the Python standard library.
"""
import base64
import hashlib
import hmac
import random
import select
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH"}
TYPES = {"AXFR": 252, "IXFR": 251, "SOA": 6}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def request(zone, qtype, serial=None, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    ns = 1 if serial is not None else 0
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, ns, 0) + wire_name(zone) + struct.pack(">HH", TYPES[qtype], 1)
    if serial is not None:
        rdata = wire_name("ns1." + zone) + wire_name("hostmaster." + zone) + struct.pack(">IIIII", serial, 1, 1, 1, 1)
        msg += b"\xc0\x0c" + struct.pack(">HHIH", 6, 1, 0, len(rdata)) + rdata
    return msg


def sign(msg, key, secret, signed_at):
    """Append a TSIG record (RFC 8945, hmac-sha256) as a secondary would."""
    qid = struct.unpack(">H", msg[:2])[0]
    kname, alg = wire_name(key.lower()), wire_name("hmac-sha256")
    t = struct.pack(">HI", signed_at >> 32, signed_at & 0xffffffff)
    variables = kname + struct.pack(">HI", 255, 0) + alg + t + struct.pack(">HHH", 300, 0, 0)
    mac = hmac.new(base64.b64decode(secret), msg + variables, hashlib.sha256).digest()
    rdata = alg + t + struct.pack(">HH", 300, len(mac)) + mac + struct.pack(">HHH", qid, 0, 0)
    ar = struct.unpack(">H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack(">H", ar) + msg[12:] + kname + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata


def skip_name(m, pos):
    while True:
        n = m[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


def summary(m):
    """(rcode, answers, tsig error or None, type of the last answer record or None)."""
    qd, an, ns, ar = struct.unpack(">HHHH", m[4:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(m, pos) + 4
    tsig_error, last_type = None, None
    for i in range(an + ns + ar):
        pos = skip_name(m, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", m[pos:pos + 10])
        rd = m[pos + 10:pos + 10 + rdlen]
        if i < an:
            last_type = rtype
        if rtype == 250:
            p = skip_name(rd, 0) + 8
            macsize = struct.unpack(">H", rd[p:p + 2])[0]
            tsig_error = struct.unpack(">H", rd[p + 2 + macsize + 2:p + 2 + macsize + 4])[0]
        pos += 10 + rdlen
    return RCODES.get(m[3] & 15, str(m[3] & 15)), an, tsig_error, last_type


def tsig_record(m):
    """(offset of the TSIG record, owner bytes, algorithm bytes, time+fudge bytes, MAC, error+other bytes), or None."""
    qd, an, ns, ar = struct.unpack(">HHHH", m[4:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(m, pos) + 4
    for _ in range(an + ns + ar):
        start = pos
        pos = skip_name(m, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", m[pos:pos + 10])
        rd = m[pos + 10:pos + 10 + rdlen]
        if rtype == 250:
            alg_end = skip_name(rd, 0)
            macsize = struct.unpack(">H", rd[alg_end + 8:alg_end + 10])[0]
            mac = rd[alg_end + 10:alg_end + 10 + macsize]
            return start, m[start:pos], rd[:alg_end], rd[alg_end:alg_end + 8], mac, rd[alg_end + 12 + macsize:]
        pos += 10 + rdlen
    return None


def tsig_signed(response, request, secret):
    """'ok' when the response's TSIG verifies over the request's MAC (RFC 8945 4.3.3), 'bad', or 'none' (unsigned)."""
    t, q = tsig_record(response), tsig_record(request)
    if not t or not t[4]:
        return "none"
    start, owner, alg, timers, mac, tail = t
    unsigned = response[:10] + struct.pack(">H", struct.unpack(">H", response[10:12])[0] - 1) + response[12:start]
    data = struct.pack(">H", len(q[4])) + q[4] + unsigned + owner + struct.pack(">HI", 255, 0) + alg + timers + tail
    want = hmac.new(base64.b64decode(secret), data, hashlib.sha256).digest()
    return "ok" if hmac.compare_digest(want, mac) else "bad"


def connect(server, src):
    ip, port = server.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.connect((ip, int(port)))
    return s


def recv_exact(s, n, chunk=65536, delay=0.0):
    data = b""
    while len(data) < n:
        part = s.recv(min(chunk, n - len(data)))
        if not part:
            raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
        data += part
        if delay:
            time.sleep(delay)
    return data


def read_transfer(s, chunk=65536, delay=0.0):
    """Messages until the second SOA of a transfer (or one message for an error or a lone SOA)."""
    msgs, soas = [], 0
    while True:
        n = struct.unpack(">H", recv_exact(s, 2, chunk, delay))[0]
        m = recv_exact(s, n, chunk, delay)
        msgs.append(m)
        rcode, an, _, _ = summary(m)
        qd = struct.unpack(">H", m[4:6])[0]
        pos = 12
        for _ in range(qd):
            pos = skip_name(m, pos) + 4
        for _ in range(an):
            pos = skip_name(m, pos)
            rtype, _, _, rdlen = struct.unpack(">HHIH", m[pos:pos + 10])
            soas += rtype == 6
            pos += 10 + rdlen
        # The end: an error, the closing SOA, or the lone SOA of an IXFR for a current serial.
        if rcode != "NOERROR" or soas >= 2 or (len(msgs) == 1 and an == 1 and soas == 1):
            return msgs


def report(msgs, request=None, secret=None):
    rcode, _, tsig_error, _ = summary(msgs[0])
    answers = sum(summary(m)[1] for m in msgs)
    last_type = summary(msgs[-1])[3]
    line = "rcode=%s answers=%d messages=%d tsig_error=%s last_type=%s" % (rcode, answers, len(msgs), tsig_error, last_type)
    # An error answer to a signed request: is its TSIG signed over the request (BADTIME) or not (BADKEY, BADSIG)?
    if request is not None and rcode != "NOERROR" and tsig_error is not None:
        line += " signed=%s" % tsig_signed(msgs[0], request, secret)
    print(line)


def opt(args, name, default=None, n=1):
    if name not in args:
        return default
    i = args.index(name)
    return args[i + 1] if n == 1 else args[i + 1:i + 1 + n]


def main():
    server, zone, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    src = opt(args, "--src")
    if cmd == "ask":
        qtype = args[0]
        serial = opt(args, "--serial")
        msg = request(zone, qtype, int(serial) if serial is not None else None)
        key = opt(args, "--key", n=2)
        if key:
            msg = sign(msg, key[0], key[1], int(time.time()) + int(opt(args, "--time-offset", "0")))
        saved = opt(args, "--message")
        if saved:
            try:
                with open(saved, "rb") as f:
                    msg = f.read()
            except FileNotFoundError:
                with open(saved, "wb") as f:
                    f.write(msg)
        for _ in range(int(opt(args, "--repeat", "1"))):
            if "--udp" in args:
                ip, port = server.rsplit(":", 1)
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                if src:
                    u.bind((src, 0))
                u.settimeout(3)
                u.sendto(msg, (ip, int(port)))
                report([u.recv(65535)], msg if key else None, key[1] if key else None)
                u.close()
                continue
            s = connect(server, src)
            s.sendall(struct.pack(">H", len(msg)) + msg)
            report(read_transfer(s), msg if key else None, key[1] if key else None)
            s.close()
        return 0
    if cmd == "pipelined":
        # An AXFR and a SOA query sent together: the whole transfer first, then the SOA answer.
        s = connect(server, src)
        a, q = request(zone, "AXFR", qid=1), request(zone, "SOA", qid=2)
        s.sendall(struct.pack(">H", len(a)) + a + struct.pack(">H", len(q)) + q)
        msgs = read_transfer(s)
        ids = {struct.unpack(">H", m[:2])[0] for m in msgs}
        n = struct.unpack(">H", recv_exact(s, 2))[0]
        soa = recv_exact(s, n)
        print("transfer_ids=%s then id=%d rcode=%s answers=%d" % (sorted(ids), struct.unpack(">H", soa[:2])[0],
                                                                 summary(soa)[0], summary(soa)[1]))
        return 0
    if cmd == "cut":
        s = connect(server, src)
        msg = request(zone, "AXFR")
        s.sendall(struct.pack(">H", len(msg)) + msg)
        n = struct.unpack(">H", recv_exact(s, 2))[0]
        recv_exact(s, n)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        print("cut after one message of %d bytes" % n)
        return 0
    if cmd == "slow":
        seconds = float(args[0])
        s = connect(server, src)
        msg = request(zone, "AXFR")
        s.sendall(struct.pack(">H", len(msg)) + msg)
        report(read_transfer(s, chunk=4096, delay=seconds / 200))
        return 0
    if cmd == "stall":
        n, hold = int(args[0]), float(args[1])
        socks = []
        for _ in range(n):
            s = connect(server, src)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            msg = request(zone, "AXFR")
            s.sendall(struct.pack(">H", len(msg)) + msg)
            socks.append(s)
        busy = 0
        # Every connection gets a first message: a SERVFAIL alone, or a transfer's
        # first NOERROR message (a loaded machine may take a while to send them).
        deadline = time.time() + 20
        for s in socks:
            head = b""
            while len(head) < 6 and time.time() < deadline:
                s.settimeout(max(0.01, deadline - time.time()))
                try:
                    head = s.recv(2 + 12, socket.MSG_PEEK)
                except socket.timeout:
                    break
                if not head:
                    break
            if len(head) >= 6 and head[5] & 15 == 2:
                busy += 1
            s.settimeout(None)
        print("ready", flush=True)
        time.sleep(hold)
        closed = 0
        for s in socks:
            s.setblocking(False)
            try:
                while True:
                    if not s.recv(65536):
                        closed += 1
                        break
            except (BlockingIOError, ConnectionResetError) as e:
                closed += isinstance(e, ConnectionResetError)
        print("busy=%d closed=%d of %d" % (busy, closed, n))
        return 0
    if cmd == "udp-burst":
        n = int(args[0])
        ip, port = server.rsplit(":", 1)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if src:
            u.bind((src, 0))
        sent = answered = 0
        pending = set()
        deadline = time.time() + 60
        while answered + (sent - answered - len(pending)) < n and time.time() < deadline:
            while sent < n and len(pending) < 64:
                qid = sent & 0xffff
                u.sendto(request(zone, "SOA", qid=qid), (ip, int(port)))
                pending.add(qid)
                sent += 1
            r, _, _ = select.select([u], [], [], 2.0)
            if not r:
                break
            m = u.recv(65535)
            qid = struct.unpack(">H", m[:2])[0]
            if qid in pending and summary(m)[0] == "NOERROR":
                pending.discard(qid)
                answered += 1
        print("answered=%d of %d" % (answered, n))
        return 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
