#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A tiny authoritative DNS responder for the client tests (stdlib only).

Serves SRV/TXT/A/AAAA for WireGuard peers the way registries of the original
CoreDNS wgsd plugin did (either record layout), and can misbehave: answer from
a wrong port or address, with a wrong ID or question, truncate over UDP, or
stay silent.

Peers come from a JSON file re-read on every query:
  {"<base64 key>": {"endpoint": "198.51.100.1:1111", "seen": 12}, ...}
A peer with "hold": "PATH" has its UDP queries answered only once PATH no
longer exists (a registry that answers late), from the file as it is then.

For mesh membership it also answers the listing (PTR of _wireguard._udp.ZONE:
every peer with an endpoint, unless "unlisted": true) and the TXT with
"allowed": ["10.0.0.3/32", ...] as one "allowed=" string, or "txt": [...]
strings as given. --listing-limit N lists only the first N peers with TC=1,
over TCP too (a listing larger than one message); --listing-junk adds a PTR
record that names no key.
"""
import argparse
import base64
import ipaddress
import json
import os
import select
import socket
import struct
import sys

T_A, T_NS, T_SOA, T_PTR, T_TXT, T_AAAA, T_SRV, T_OPT = 1, 2, 6, 12, 16, 28, 33, 41


def parse_addr(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    return host, int(port)


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def parse_query(data):
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qd != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(data):
            return None
        n = data[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(data):
            return None
        labels.append(data[pos:pos + n].decode("latin-1"))
        pos += n
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
    return qid, flags, labels, qtype, qclass


def rr(name, rtype, rdata, ttl=0):
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(strings):
    out = b""
    for s in strings:
        raw = s.encode()
        out += bytes([len(raw)]) + raw
    return out


def addr_rr(name, ip):
    a = ipaddress.ip_address(ip)
    return rr(name, T_A if a.version == 4 else T_AAAA, a.packed), a.version


def peer_txt(key, info):
    """The TXT strings of a peer."""
    if "txt" in info:
        return list(info["txt"])
    strings = ["txtvers=1", "pub=" + key]
    if "allowed" in info:
        strings.append("allowed=" + ",".join(info["allowed"]))
    if "seen" in info:
        strings.append("seen=%d" % info["seen"])
    return strings


def key_from_label(label):
    text = label.upper()
    text += "=" * ((8 - len(text) % 8) % 8)
    try:
        raw = base64.b32decode(text)
    except Exception:
        return None
    return base64.b64encode(raw).decode() if len(raw) == 32 else None


class Responder:
    def __init__(self, args):
        self.args = args
        self.held = []   # (hold path, socket, source, query)
        self.zone = args.zone.rstrip(".").lower()
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def peers(self):
        try:
            with open(self.args.peers) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def note(self, text):
        if self.log:
            self.log.write(text + "\n")

    def answer(self, q, tcp, id_delta=0, qname_override=None, tc=False):
        qid, qflags, labels, qtype, qclass = q
        qname = ".".join(labels)
        lower = [l.lower() for l in labels]
        zl = self.zone.split(".")
        answers, additional, rcode = [], [], 0
        flags = 0x8400 | (qflags & 0x0100)  # QR, AA, copy RD
        if lower[-len(zl):] != zl:
            rcode = 5  # REFUSED
        else:
            rel = lower[:-len(zl)]
            rel_orig = labels[:-len(zl)]
            peers = self.peers()
            key = key_from_label(rel[0]) if rel else None
            info = peers.get(key) if key else None
            zone_text = ".".join(labels[-len(zl):])
            if rel == ["_wireguard", "_udp"]:
                if qtype == T_PTR:
                    listed = [k for k, i in peers.items() if i.get("endpoint") and not i.get("unlisted")]
                    limit = self.args.listing_limit
                    if limit is not None and len(listed) > limit:
                        listed = listed[:limit]
                        flags |= 0x0200
                    for k in listed:
                        b = base64.b32encode(base64.b64decode(k)).decode()
                        answers.append(rr(qname, T_PTR, encode_name(b + "._wireguard._udp." + zone_text)))
                    if self.args.listing_junk:
                        answers.append(rr(qname, T_PTR, encode_name("junk._wireguard._udp." + zone_text)))
            elif key and info and rel[1:] == ["_wireguard", "_udp"] and qtype == T_TXT and len(rel) == 3:
                answers.append(rr(qname, T_TXT, txt_rdata(peer_txt(key, info))))
            elif key and info and rel[1:] == ["_wireguard", "_udp"] and qtype in (T_SRV, 255) and len(rel) == 3:
                ip, port = parse_addr(info["endpoint"])
                b = rel_orig[0] if not self.args.lower else rel_orig[0].lower()
                if self.args.layout == "short":
                    target = b + "." + zone_text
                else:
                    target = b + "._wireguard._udp." + zone_text
                answers.append(rr(qname, T_SRV, struct.pack("!HHH", 0, 0, port) + encode_name(target)))
                if not self.args.no_additional:
                    additional.append(addr_rr(target, ip)[0])
                    if not self.args.no_txt_additional:
                        additional.append(rr(qname, T_TXT, txt_rdata(peer_txt(key, info))))
            elif key and info and qtype in (T_A, T_AAAA) and (
                    (len(rel) == 1 and self.args.layout == "short") or
                    (rel[1:] == ["_wireguard", "_udp"] and self.args.layout == "service")):
                ip, _ = parse_addr(info["endpoint"])
                record, version = addr_rr(qname, ip)
                if (version == 4) == (qtype == T_A):
                    answers.append(record)
            elif not (key and info):
                rcode = 3  # NXDOMAIN
        if tc:
            flags |= 0x0200
            answers, additional = [], []
        name = qname_override if qname_override else qname
        header = struct.pack("!HHHHHH", (qid + id_delta) & 0xFFFF, flags | rcode, 1,
                             len(answers), 0, len(additional))
        return header + encode_name(name) + struct.pack("!HH", qtype, qclass) + b"".join(answers) + b"".join(additional)

    def handle_udp(self, sock, rogue_port, rogue_addr):
        data, src = sock.recvfrom(65535)
        q = parse_query(data)
        if not q:
            return
        self.note("udp %d %s" % (q[3], ".".join(q[2])))
        mode = self.args.mode
        if mode == "silent":
            return
        hold = self.hold_path(q)
        if hold and os.path.exists(hold):
            self.note("held %d %s" % (q[3], ".".join(q[2])))
            self.held.append((hold, sock, src, q))
            return
        if mode in ("rogue", "rogue-only"):
            # Every kind of forgery, each claiming a rogue endpoint.
            self.rogue_peers = True
            forged = self.forged(q)
            sock.sendto(self.with_id(forged, q[0] + 1), src)
            sock.sendto(self.answer(q, False, qname_override="x" + ".".join(q[2])), src)
            rogue_port.sendto(forged, src)
            if rogue_addr:
                rogue_addr.sendto(forged, src)
            if mode == "rogue-only":
                return
        sock.sendto(self.answer(q, False, tc=(mode == "truncate")), src)

    def hold_path(self, q):
        """The hold file of the peer a query is about, if any."""
        labels = q[2]
        key = key_from_label(labels[0].lower()) if labels else None
        info = self.peers().get(key) if key else None
        return info.get("hold") if isinstance(info, dict) else None

    def release(self):
        """Answer the held queries whose hold file is gone."""
        keep = []
        for hold, sock, src, q in self.held:
            if os.path.exists(hold):
                keep.append((hold, sock, src, q))
                continue
            sock.sendto(self.answer(q, False), src)
            self.note("released %d %s" % (q[3], ".".join(q[2])))
        self.held = keep

    def forged(self, q):
        """A well-formed matching answer pointing every peer at the rogue endpoint."""
        saved = self.args.peers
        peers = self.peers()
        forged = {k: {"endpoint": self.args.rogue_endpoint, "seen": 0} for k in peers}
        path = saved + ".forged"
        with open(path, "w") as f:
            json.dump(forged, f)
        self.args.peers = path
        try:
            return self.answer(q, False)
        finally:
            self.args.peers = saved

    @staticmethod
    def with_id(msg, qid):
        return struct.pack("!H", qid & 0xFFFF) + msg[2:]

    def handle_tcp(self, conn):
        conn.settimeout(2)
        try:
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                n = struct.unpack("!H", head)[0]
                data = b""
                while len(data) < n:
                    chunk = conn.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                q = parse_query(data)
                if not q:
                    return
                self.note("tcp %d %s" % (q[3], ".".join(q[2])))
                if self.args.mode == "silent":
                    return
                msg = self.answer(q, True)
                conn.sendall(struct.pack("!H", len(msg)) + msg)
        except OSError:
            return
        finally:
            conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="ADDR:PORT (UDP and TCP)")
    ap.add_argument("--zone", required=True)
    ap.add_argument("--peers", required=True, help="JSON file")
    ap.add_argument("--layout", choices=["short", "service"], default="short")
    ap.add_argument("--lower", action="store_true", help="lower-case base32 labels in targets")
    ap.add_argument("--no-additional", action="store_true")
    ap.add_argument("--no-txt-additional", action="store_true", help="SRV answers without the TXT")
    ap.add_argument("--listing-limit", type=int, help="list at most N peers, with TC=1 (over TCP too)")
    ap.add_argument("--listing-junk", action="store_true", help="add an unreadable PTR to the listing")
    ap.add_argument("--mode", choices=["ok", "rogue", "rogue-only", "silent", "truncate"], default="ok")
    ap.add_argument("--rogue-addr", help="another local address to forge answers from (same port)")
    ap.add_argument("--rogue-endpoint", default="203.0.113.66:6666")
    ap.add_argument("--log")
    ap.add_argument("--ready", help="file created once listening")
    args = ap.parse_args()

    host, port = parse_addr(args.listen)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp = socket.socket(fam, socket.SOCK_DGRAM)
    udp.bind((host, port))
    tcp = socket.socket(fam, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((host, port))
    tcp.listen(16)
    rogue_port = socket.socket(fam, socket.SOCK_DGRAM)
    rogue_port.bind((host, 0))
    rogue_addr = None
    if args.rogue_addr:
        rogue_addr = socket.socket(fam, socket.SOCK_DGRAM)
        rogue_addr.bind((args.rogue_addr, port))
    r = Responder(args)
    if args.ready:
        open(args.ready, "w").close()
    while True:
        rl, _, _ = select.select([udp, tcp], [], [], 0.05 if r.held else None)
        r.release()
        if udp in rl:
            r.handle_udp(udp, rogue_port, rogue_addr)
        if tcp in rl:
            conn, _ = tcp.accept()
            r.handle_tcp(conn)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
