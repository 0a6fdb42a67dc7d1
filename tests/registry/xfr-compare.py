#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential check of a zone served by wgsd and by its secondaries.

usage: xfr-compare.py ZONE REFERENCE SERVER... [-- NAME TYPE ...]
  REFERENCE and SERVER are IP:PORT[/SOURCE] (SOURCE: dig -b). The names are
  taken from the reference's PTR listing (every instance's SRV, TXT, A and
  AAAA, every host's A and AAAA), from its candidate listing (every
  _wgcand._udp instance's SRV, every SRV target's A and AAAA) plus the apex
  (SOA, NS), the empty non-terminal _udp, and names that do not exist; more
  NAME TYPE pairs may follow "--".

For each question every server must give the reference's rcode, AA flag and
answer RRset (names in lower case, TTLs ignored, TXT strings "seen=..."
left out: transferred data carries no "seen=", as documented), and for
negative answers the same SOA in authority. The authority of positive answers
and the additional section differ by design (NSD adds the apex NS, wgsd adds
the instance's TXT to an SRV answer) and are not compared. Prints one line per
difference and exits 1 if there is any.
"""
import re
import subprocess
import sys


def dig(server, name, qtype):
    """Ask one question; returns (rcode, aa, answer set, authority SOA set)."""
    addr, _, src = server.partition("/")
    ip, port = addr.rsplit(":", 1)
    cmd = ["dig", "+norec", "+tries=2", "+time=2", "+nocmd", "+noall", "+comments", "+answer", "+authority",
           "+edns=0", "-p", port, "@" + ip, name, qtype]
    if src:
        cmd[1:1] = ["-b", src]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"status: (\w+)", out)
    rcode = m.group(1) if m else "NO-ANSWER"
    flags = re.search(r";; flags:([^;]*);", out)
    aa = bool(flags and " aa" in flags.group(1))
    section = None
    answer, authority = set(), set()
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = answer
            continue
        if line.startswith(";; AUTHORITY SECTION"):
            section = authority
            continue
        if not line or line.startswith(";"):
            continue
        parts = line.split(None, 4)
        if len(parts) < 5 or section is None:
            continue
        owner, _ttl, cls, rtype, rdata = parts
        if rtype == "TXT":
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)
            rdata = " ".join('"%s"' % s for s in strings if not s.startswith("seen="))
        if rtype in ("PTR", "SRV", "NS", "SOA"):
            rdata = rdata.lower()
        rr = (owner.lower(), cls, rtype, rdata)
        if section is authority and rtype != "SOA":
            continue
        section.add(rr)
    return rcode, aa, frozenset(answer), frozenset(authority)


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        extra = list(zip(args[i + 1::2], args[i + 2::2]))
        args = args[:i]
    zone, ref, servers = args[0], args[1], args[2:]
    zone = zone.rstrip(".") + "."
    rc, _, listing, _ = dig(ref, "_wireguard._udp." + zone, "PTR")
    if rc != "NOERROR" or not listing:
        print("reference has no PTR listing: %s" % rc)
        return 1
    questions = [(zone, "SOA"), (zone, "NS"), ("_wireguard._udp." + zone, "PTR"), ("_udp." + zone, "A"),
                 ("nothing-here." + zone, "A"), ("a.b.c." + zone, "TXT"),
                 ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA." + zone, "A"),
                 ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA._wireguard._udp." + zone, "SRV")]
    for rr in sorted(listing):
        instance = rr[3]
        host = instance.split(".", 1)[0] + "." + zone
        questions += [(instance, t) for t in ("SRV", "TXT", "A", "AAAA")]
        questions += [(host, t) for t in ("A", "AAAA", "TXT")]
    # Candidates: the listing (NXDOMAIN while no peer has any), each instance's SRV, each target's addresses.
    questions.append(("_wgcand._udp." + zone, "PTR"))
    _, _, cands, _ = dig(ref, "_wgcand._udp." + zone, "PTR")
    for rr in sorted(cands):
        instance = rr[3]
        questions += [(instance, "SRV"), (instance, "TXT")]
        _, _, srvs, _ = dig(ref, instance, "SRV")
        for srv in sorted(srvs):
            target = srv[3].split()[3]
            questions += [(target, "A"), (target, "AAAA")]
        # A candidate label that is not registered (NXDOMAIN) and the peer's name above the targets.
        questions.append(("lan-15." + instance.split(".", 1)[0] + "." + zone, "A"))
    questions += extra
    diffs = 0
    for name, qtype in questions:
        want = dig(ref, name, qtype)
        for s in servers:
            got = dig(s, name, qtype)
            # Positive answers: rcode, AA and answer; negative ones: the authority SOA too.
            negative = not want[2]
            if got[:3] != want[:3] or (negative and got[3] != want[3]):
                diffs += 1
                print("DIFF %s %s at %s:\n  reference %s\n  got       %s" % (name, qtype, s, want, got))
    print("%d questions to %d servers, %d differences" % (len(questions), len(servers), diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
