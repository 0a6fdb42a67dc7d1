#!/bin/bash
# SPDX-License-Identifier: MIT
# DNS correctness of the registry's names against wireguard-go devices in a
# namespace, asked with dig, kdig, drill and raw packets:
#  - empty non-terminals are NODATA, names with nothing below NXDOMAIN
#    (RFC 8020): the parent of an in-zone NS name with glue, b.Z between
#    zones Z and a.b.Z, _udp.Z while peers are published; in a zone with
#    nothing published, _udp and _wireguard._udp are NXDOMAIN; NSD serving
#    the same records answers each of these names alike;
#  - the SRV target is a full, uncompressed name in the rdata (RFC 2782);
#  - a long allowed-IP list continues in allowed2=, allowed3=, ... with one
#    key per string, and a reader that keeps only the first string of each
#    key (RFC 6763 6.4) gets the whole list;
#  - peers whose endpoints no one can use (loopback, unspecified, multicast,
#    broadcast, link-local, port 0) are not published and are counted, and a
#    fixed self endpoint on loopback is left out with a log line.
set -eu
. "$(dirname "$0")/lib.sh"
reg_require

A="rna$$"
B="rnb$$"
wg_dev_start "$NS" "$A"
wg_dev_start "$NS" "$B"
(umask 077 && wg genkey >"$TMP/a.key" && wg genkey >"$TMP/b.key")
PUB_B=$(wg pubkey <"$TMP/b.key")
K1=$(rand_key)
BAD="127.0.0.1:51820 [::1]:51820 0.0.0.0:51820 [::]:51820 224.0.0.1:51820 [ff02::1]:51820
255.255.255.255:51820 240.0.0.1:51820 [fe80::1]:51820 192.0.2.9:0 [::ffff:127.0.0.1]:51820"
N_BAD=$(echo $BAD | wc -w)

# K1: 300 allowed IPs (over 5 KB of text), IPv4 and IPv6.
ips=$(python3 -c '
print(",".join(["10.%d.%d.0/24" % (1 + i // 200, i % 200) for i in range(200)] +
               ["fd00:%x::/64" % i for i in range(100)]))')
in_ns "$NS" wg set "$A" private-key "$TMP/a.key" listen-port 51820 \
	peer "$K1" endpoint 192.0.2.1:51820 allowed-ips "$ips"
: >"$TMP/bad.keys"
for ep in $BAD; do
	k=$(rand_key)
	echo "$k" >>"$TMP/bad.keys"
	in_ns "$NS" wg set "$A" peer "$k" endpoint "$ep" allowed-ips "10.200.$(wc -l <"$TMP/bad.keys").1/32"
done
in_ns "$NS" wg set "$B" private-key "$TMP/b.key" listen-port 51999

cat >"$TMP/wgsd.conf" <<CONF
[daemon]
status-socket = $TMP/wgsd.sock

[registry]
listen = 127.0.0.1:53
access = any
ttl = 7

[zone example.com.]
device = $A
ns = ns1.dns.example.com.
ns-address = 192.0.2.53
refresh = 200ms

[zone a.b.example.com.]
device = $B
self = 127.0.0.1:51999
refresh = 200ms
CONF
wgsd_start "$TMP/wgsd.conf"

Z=example.com.
B1=$(b32_of "$K1")

# dig inside the namespace; blanks squeezed to one space.
q() {
	in_ns "$NS" dig +tries=1 +time=3 @127.0.0.1 "$@" | tr -s '[:blank:]' ' '
}

# Expect rcode $1 with no answer and the SOA of zone $2 (as the query spells it) for "$3 $4", UDP and TCP.
negative() {
	for tcp in +notcp +tcp; do
		out=$(q $tcp "$3" "$4")
		expect_in "$out" "status: $1"
		expect_in "$out" "ANSWER: 0, AUTHORITY: 1"
		expect_in "$out" "$2 7 IN SOA "
		expect_in "$out" " aa"
	done
}

echo "# empty non-terminals: NODATA with the zone's SOA; nothing below: NXDOMAIN"
[ "$(q +short ns1.dns.$Z A)" = 192.0.2.53 ] || fail "glue of the in-zone NS name"
negative NOERROR "$Z" "dns.$Z" A
negative NOERROR "Example.COM." "DNS.Example.COM." TXT
negative NXDOMAIN "$Z" "x.dns.$Z" A
negative NOERROR "$Z" "_udp.$Z" A
negative NOERROR "$Z" "_udp.$Z" PTR
negative NXDOMAIN "$Z" "x._udp.$Z" A
negative NOERROR "$Z" "b.$Z" A
negative NXDOMAIN "$Z" "x.b.$Z" A
negative NXDOMAIN "$Z" "a.$Z" A
expect_in "$(q a.b.$Z SOA)" "status: NOERROR"
# a.b.example.com. publishes nothing (no peers, self on loopback): no _udp, no _wireguard._udp.
negative NXDOMAIN "a.b.$Z" "_udp.a.b.$Z" A
negative NXDOMAIN "a.b.$Z" "_wireguard._udp.a.b.$Z" PTR
negative NXDOMAIN "a.b.$Z" "_wireguard._udp.a.b.$Z" ANY
out=$(in_ns "$NS" kdig +retry=0 @127.0.0.1 "b.$Z" A)
expect_in "$out" "status: NOERROR"
out=$(in_ns "$NS" drill "_udp.a.b.$Z" @127.0.0.1 A)
expect_in "$out" "rcode: NXDOMAIN"

echo "# NSD serving the same names as the reference: the same rcode and answer count for each"
mkdir "$TMP/nsd"
cat >"$TMP/nsd/example.com.zone" <<ZONE
\$ORIGIN example.com.
\$TTL 7
@ IN SOA ns1.dns.example.com. hostmaster.example.com. 1 1 1 3600 7
@ IN NS ns1.dns.example.com.
ns1.dns IN A 192.0.2.53
_wireguard._udp IN PTR $B1._wireguard._udp.example.com.
$B1._wireguard._udp IN SRV 0 0 51820 $B1.example.com.
$B1._wireguard._udp IN A 192.0.2.1
$B1._wireguard._udp IN TXT "txtvers=1"
$B1 IN A 192.0.2.1
ZONE
cat >"$TMP/nsd/a.b.example.com.zone" <<'ZONE'
$ORIGIN a.b.example.com.
$TTL 7
@ IN SOA ns1.a.b.example.com. hostmaster.a.b.example.com. 1 1 1 3600 7
@ IN NS ns1.a.b.example.com.
ZONE
cat >"$TMP/nsd/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@5300
  port: 5300
  username: ""
  chroot: ""
  zonesdir: "$TMP/nsd"
  database: ""
  pidfile: "$TMP/nsd/nsd.pid"
  xfrdfile: "$TMP/nsd/xfrd.state"
  zonelistfile: "$TMP/nsd/zone.list"
  logfile: "$TMP/nsd/nsd.log"
  server-count: 1
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.com.
  zonefile: example.com.zone
zone:
  name: a.b.example.com.
  zonefile: a.b.example.com.zone
CONF
# Started directly (not through in_ns, a function: its subshell would be the PID), so that cleanup stops NSD.
ip netns exec "$NS" nsd -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd/out" 2>&1 &
PIDS="$PIDS $!"
retry 50 sh -c "ip netns exec $NS dig +norec +tries=1 +time=1 -p 5300 @127.0.0.1 a.b.$Z SOA | grep -q 'status: NOERROR'" ||
	{ cat "$TMP/nsd/out" "$TMP/nsd/nsd.log" >&2; fail "NSD did not start"; }
# rcode and answer count of query "$2 $3" at port $1.
shape() {
	in_ns "$NS" dig +norec +tries=1 +time=3 -p "$1" @127.0.0.1 "$2" "$3" |
		sed -n 's/.*status: \([A-Z]*\),.*/\1/p; s/.*ANSWER: \([0-9]*\),.*/\1/p' | tr '\n' ' '
}
while read -r name type; do
	w=$(shape 53 "$name" "$type")
	n=$(shape 5300 "$name" "$type")
	[ "$w" = "$n" ] || fail "$name $type: wgsd answers [$w], NSD [$n]"
done <<NAMES
dns.$Z A
ns1.dns.$Z A
x.dns.$Z A
_udp.$Z A
_udp.$Z PTR
x._udp.$Z A
_wireguard._udp.$Z PTR
_wireguard._udp.$Z A
$B1._wireguard._udp.$Z SRV
$B1.$Z TXT
b.$Z A
x.b.$Z A
a.$Z A
nothing.$Z A
a.b.$Z SOA
_udp.a.b.$Z A
_wireguard._udp.a.b.$Z PTR
x.a.b.$Z A
NAMES

echo "# the SRV target is the full name B.Z in the rdata, no compression pointer (UDP and TCP)"
in_ns "$NS" python3 - "$B1" <<'PY' || fail "SRV target compressed"
import socket, struct, sys
b1 = sys.argv[1]
qname = b"".join(bytes([len(l)]) + l.encode() for l in (b1 + "._wireguard._udp.ExAmPle.CoM").split(".")) + b"\0"
want = bytes([len(b1)]) + b1.encode() + b"\x07ExAmPle\x03CoM\x00"
msg = struct.pack(">HHHHHH", 0x5151, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 33, 1)
def skip_name(m, off):
    while True:
        n = m[off]
        if n == 0:
            return off + 1
        if n & 0xc0 == 0xc0:
            return off + 2
        off += 1 + n
def srv_target(m):
    assert struct.unpack(">H", m[6:8])[0] == 1, "one answer expected"
    off = skip_name(m, 12) + 4
    off = skip_name(m, off)
    rtype, _, _, rdlen = struct.unpack(">HHIH", m[off:off + 10])
    assert rtype == 33, "SRV expected"
    return m[off + 16:off + 10 + rdlen]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(msg, ("127.0.0.1", 53))
udp = srv_target(s.recv(4096))
t = socket.create_connection(("127.0.0.1", 53), timeout=3)
t.sendall(struct.pack(">H", len(msg)) + msg)
buf = b""
while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
    d = t.recv(65536)
    assert d, "TCP connection closed"
    buf += d
tcp = srv_target(buf[2:])
for name, got in (("UDP", udp), ("TCP", tcp)):
    assert got == want, "%s: SRV target %r, want %r" % (name, got, want)
PY
out=$(q +noall +answer +additional "$B1._wireguard._udp.$Z" SRV)
expect_in "$out" "SRV 0 0 51820 $B1.$Z"
expect_in "$out" "$B1.$Z 7 IN A 192.0.2.1"
out=$(in_ns "$NS" kdig +retry=0 @127.0.0.1 "$B1._wireguard._udp.$Z" SRV)
expect_in "$out" "0 0 51820 ${B1%%=*}\\=\\=\\=\\=.$Z"

echo "# TXT: allowed=, allowed2=, ... one key per string; the first of each key gives the whole list"
in_ns "$NS" dig +tcp +short @127.0.0.1 "$B1._wireguard._udp.$Z" TXT >"$TMP/txt"
in_ns "$NS" wg show "$A" allowed-ips | grep -F "$K1" | cut -f2 | tr ' ' '\n' | sort >"$TMP/want"
python3 - "$TMP/txt" "$TMP/want" "$K1" <<'PY' || fail "TXT allowed-IP layout"
import re, sys
strings = re.findall(r'"([^"]*)"', open(sys.argv[1]).read())
want = open(sys.argv[2]).read().split()
first = {}
for s in strings:
    key, _, value = s.partition("=")
    assert key.lower() not in first, "key %s repeated" % key
    first[key.lower()] = value
assert strings[0] == "txtvers=1", "txtvers=1 first"
assert first["pub"] == sys.argv[3], "pub="
assert all(len(s) <= 255 for s in strings)
got, n = [], 1
while ("allowed" if n == 1 else "allowed%d" % n) in first:
    got += first["allowed" if n == 1 else "allowed%d" % n].split(",")
    n += 1
assert n > 3, "300 prefixes need several strings (%d)" % (n - 1)
assert sorted(got) == sorted(want) and len(got) == 300, "allowed IPs differ: %d read, %d on the device" % (len(got), len(want))
PY

echo "# unusable endpoints: not published, counted; a fixed self endpoint on loopback is left out"
got=$(q +short "_wireguard._udp.$Z" PTR)
[ "$got" = "$B1._wireguard._udp.$Z" ] || fail "PTR listing: [$got]"
while read -r k; do
	b=$(b32_of "$k")
	negative NXDOMAIN "$Z" "$b._wireguard._udp.$Z" SRV
	expect_in "$(q "$b.$Z" A)" "status: NXDOMAIN"
	expect_in "$(q "$b.$Z" AAAA)" "status: NXDOMAIN"
done <"$TMP/bad.keys"
negative NXDOMAIN "a.b.$Z" "$(b32_of "$PUB_B").a.b.$Z" A
[ "$(status_value 'r["zones"][0]["peers_unpublishable"]')" = "$N_BAD" ] || fail "peers_unpublishable"
[ "$(status_value 'r["zones"][0]["peers_published"]')" = 1 ] || fail "peers_published"
[ "$(status_value 'r["zones"][1]["peers_unpublishable"]')" = 1 ] || fail "self not counted"
m=$(in_ns "$NS" "$WGSDCTL" -s "$TMP/wgsd.sock" metrics)
expect_in "$m" "wgsd_zone_peers_unpublishable{zone=\"example.com.\",device=\"$A\"} $N_BAD"
expect_in "$(in_ns "$NS" "$WGSDCTL" -s "$TMP/wgsd.sock" status)" "note: $N_BAD not published"
grep -q "zone a.b.example.com.: self is not published: its endpoint is a loopback address" "$TMP/wgsd.log" ||
	fail "no log line for the unusable self endpoint"
# A peer whose endpoint becomes usable is published within a refresh, and the count follows.
in_ns "$NS" wg set "$A" peer "$(head -n 1 "$TMP/bad.keys")" endpoint 198.51.100.9:4000
retry 30 sh -c "[ \"\$(ip netns exec $NS dig +short @127.0.0.1 $(b32_of "$(head -n 1 "$TMP/bad.keys")").$Z A)\" = 198.51.100.9 ]" ||
	fail "a usable endpoint was not published"
[ "$(status_value 'r["zones"][0]["peers_unpublishable"]')" = $((N_BAD - 1)) ] || fail "count after the change"

kill -0 "$WGSD_PID" || fail "wgsd died"
echo "PASS"
