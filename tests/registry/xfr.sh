#!/bin/bash
# SPDX-License-Identifier: MIT
# wgsd as the primary of NSD, Knot and BIND (Debian's), each configured as an
# operator would (TSIG key, wgsd as primary, NOTIFY allowed from it), all on
# loopback in one namespace with a wireguard-go device:
#  - after the first transfer every secondary answers every question as wgsd
#    does (xfr-compare.py: PTR, SRV, TXT, A/AAAA, SOA, NS and glue, NXDOMAIN
#    and NODATA; TTLs and seen= aside); wgsd answers its secondaries' SOA
#    queries although `access` does not admit them;
#  - a peer's endpoint changes on the device: with soa-refresh = 1h only
#    NOTIFY can make the secondaries ask, and each answers the new endpoint
#    after an IXFR of exactly that change (4 SOA + 3 removed + 3 added);
#  - a real peer C (wireguard-go in a second namespace, through the tunnel)
#    registers candidates with nsupdate: every secondary answers the
#    _wgcand names as wgsd does, after an IXFR of exactly the new records;
#    a changed candidate is an IXFR of that address; a renewal of the same
#    set moves no serial; the end of the lease (candidate-lease-max = 30s)
#    removes them from every secondary by IXFR;
#  - a restart of wgsd: the serial still grows and the secondaries follow
#    (IXFR answered with the whole zone: the history died with the process);
#  - a reload to soa-refresh = 3s: the new timers reach the secondaries (a
#    new serial although the published set did not change); then without
#    NOTIFY a change propagates by their polling alone.
# Propagation delays are printed (the benchmark measures them), not asserted.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/xfr-lib.sh"
for p in nsd knotd named; do
	if ! command -v "$p" >/dev/null; then
		[ -n "${CI:-}" ] && { echo "FAIL: $p missing (tests/deps.sh installs it)" >&2; exit 1; }
		echo "SKIP: $p missing" >&2
		exit 77
	fi
done
reg_require

Z=example.com.
DEV="wgx$$"
KEY=xfr.example.
SECRET=$(head -c 32 /dev/urandom | base64)
NSD_IP=127.0.0.11 KNOT_IP=127.0.0.12 BIND_IP=127.0.0.13 ASK_IP=127.0.0.2

wg_dev_start "$NS" "$DEV"
ip -n "$NS" link set "$DEV" up
# C: a real peer in namespace $NSC over a veth, to register candidates through the tunnel.
reg_peer_ns "$NSC" "vr$$" 198.51.100.1/24 "vc$$" 198.51.100.2/24
CDEV="wgc$$"
wg_dev_start "$NSC" "$CDEV"
(umask 077 && wg genkey >"$TMP/r.key" && wg genkey >"$TMP/c.key")
KC=$(wg pubkey <"$TMP/c.key")
K1=$(rand_key) K2=$(rand_key) K3=$(rand_key) K4=$(rand_key)
many=$(python3 -c 'print(",".join("10.77.%d.%d/32" % (i // 250, i % 250) for i in range(80)))')
in_ns "$NS" wg set "$DEV" listen-port 51820 private-key "$TMP/r.key" \
	peer "$K1" endpoint 192.0.2.1:51001 allowed-ips 10.9.0.1/32,fd00:9::1/128 \
	peer "$K2" endpoint "[2001:db8::2]:51002" allowed-ips 10.9.0.2/32 \
	peer "$K3" allowed-ips 10.9.0.3/32 \
	peer "$K4" endpoint 198.51.100.4:51004 allowed-ips "$many" \
	peer "$KC" endpoint 198.51.100.2:51821 allowed-ips 10.9.0.5/32
in_ns "$NSC" wg set "$CDEV" listen-port 51821 private-key "$TMP/c.key" \
	peer "$(wg pubkey <"$TMP/r.key")" endpoint 198.51.100.1:51820 allowed-ips 10.9.0.0/24
ip -n "$NS" addr add 10.9.0.254/24 dev "$DEV"
ip -n "$NSC" addr add 10.9.0.5/24 dev "$CDEV"
ip -n "$NSC" link set "$CDEV" up
B1=$(b32_of "$K1")
BC=$(b32_of "$KC")

write_conf() {   # write_conf SOA_REFRESH NOTIFY(yes/no)
	{
		printf '[daemon]\nstatus-socket = %s\n' "$TMP/wgsd.sock"
		printf '[registry]\nlisten = 127.0.0.1:53\nlisten = 10.9.0.254:53\naccess = %s\nttl = 7\n' "$ASK_IP"
		printf 'candidate-lease-max = 30s\n'
		printf '[zone %s]\ndevice = %s\nrefresh = 200ms\nself = 203.0.113.1:51820\n' "$Z" "$DEV"
		printf 'self-allowed-ips = 10.9.0.254/32\nns = ns1.%s\nns-address = 192.0.2.53\n' "$Z"
		printf 'soa-refresh = %s\nsoa-retry = 2\nallow-transfer = 127.0.0.0/8 key %s\n' "$1" "$KEY"
		if [ "$2" = yes ]; then
			printf 'notify = %s:5301 key %s\nnotify = %s:5302 key %s\nnotify = %s:5303 key %s\n' \
				"$NSD_IP" "$KEY" "$KNOT_IP" "$KEY" "$BIND_IP" "$KEY"
		fi
		printf '[key %s]\nsecret = %s\n' "$KEY" "$SECRET"
	} >"$TMP/wgsd.conf"
}
write_conf 1h yes
wgsd_start "$TMP/wgsd.conf"

# The reference answers as wgsd serves them, asked from the address access admits.
wgsd_serial() {
	in_ns "$NS" dig +short -b "$ASK_IP" @127.0.0.1 "$Z" SOA | awk '{ print $3 }'
}
# Wait (up to $1 tenths of a second) until every secondary serves wgsd's current serial.
all_caught_up() {
	local s n k b
	s=$(wgsd_serial)
	n=$(sec_serial "$NSD_IP" 5301 "$Z")
	k=$(sec_serial "$KNOT_IP" 5302 "$Z")
	b=$(sec_serial "$BIND_IP" 5303 "$Z")
	[ -n "$s" ] && [ "$n" = "$s" ] && [ "$k" = "$s" ] && [ "$b" = "$s" ]
}
xfail() {
	sec_logs
	fail "$@"
}
# True when every secondary acknowledged serial $1 and its last transfer was a complete IXFR of $2 records.
last_ixfr_is() {
	wgsd_status | python3 -c '
import json, sys
z = json.load(sys.stdin)["registry"]["zones"][0]["transfers"]
want, serial, records = sys.argv[1:4], int(sys.argv[4]), int(sys.argv[5])
secs = {s["address"]: s for s in z["secondaries"]}
for ip in want:
    s = secs[ip]
    last = s["transfers"]["last"]
    assert s["notify_state"]["acked_serial"] == serial, (ip, s["notify_state"])
    assert last["serial"] == serial and last["complete"], (ip, last)
    # The change alone: the current SOA twice, the old and new SOA, the records out and in.
    assert last["type"] == "IXFR" and last["records"] == records, (ip, last)
    print("%s: IXFR of %d records, %d bytes in %d message(s)" % (ip, last["records"], last["bytes"], last["messages"]))
assert z["ixfr_history"] >= 1
' "$NSD_IP" "$KNOT_IP" "$BIND_IP" "$1" "$2"
}
# Every secondary answers every question as wgsd does (xfr-compare.py); $1 says when.
compare_all() {
	in_ns "$NS" python3 "$HERE/xfr-compare.py" "$Z" "127.0.0.1:53/$ASK_IP" "$NSD_IP:5301" "$KNOT_IP:5302" \
		"$BIND_IP:5303" >"$TMP/compare.out" || { cat "$TMP/compare.out" >&2; xfail "secondaries answer differently $1"; }
	tail -n 1 "$TMP/compare.out"
}
# Register C's candidates through the tunnel, replacing its set: register_c "LABEL TYPE ADDRESS PORT"...
register_c() {
	local c label type addr port
	{
		printf 'server 10.9.0.254 53\nlocal 10.9.0.5\ncheck-names off\nzone %s\nupdate delete %s._wgcand._udp.%s\n' "$Z" "$BC" "$Z"
		for c in "$@"; do
			read -r label type addr port <<<"$c"
			printf 'update add %s._wgcand._udp.%s 60 SRV 0 0 %s %s.%s.%s\n' "$BC" "$Z" "$port" "$label" "$BC" "$Z"
			printf 'update add %s.%s.%s 60 %s %s\n' "$label" "$BC" "$Z" "$type" "$addr"
		done
		printf 'send\n'
	} | in_ns "$NSC" nsupdate -t 5 || fail "nsupdate from C failed"
}
# Wait until every secondary's answer to NAME TYPE has a line WANT (compared in lower case), for
# up to TENTHS tenths of a second (default 200), WHY saying what a failure means (default: NOTIFY
# failed): wait_secondaries NAME TYPE WANT WHAT [TENTHS [WHY]].
wait_secondaries() {
	local s ip rest port name want tenths=${5:-200} why=${6:-soa-refresh is 1h: NOTIFY failed}
	want=$(echo "$3" | tr A-Z a-z)
	start=$(date +%s%N)
	for s in "$NSD_IP:5301:NSD" "$KNOT_IP:5302:Knot" "$BIND_IP:5303:BIND"; do
		ip=${s%%:*} rest=${s#*:} port=${rest%%:*} name=${s##*:}
		retry "$tenths" sh -c "ip netns exec $NS dig +short -p $port @$ip '$1' $2 | tr A-Z a-z | grep -qxF '$want'" ||
			xfail "$name does not answer $4 within $((tenths / 10)) s ($why)"
		echo "$name answers $4 $(( ($(date +%s%N) - start) / 1000000 )) ms after the change"
	done
}

sec_start_nsd "$Z" "$NSD_IP" 5301 127.0.0.1 53 "$KEY" "$SECRET"
sec_start_knot "$Z" "$KNOT_IP" 5302 127.0.0.1 53 "$KEY" "$SECRET"
sec_start_bind "$Z" "$BIND_IP" 5303 127.0.0.1 53 "$KEY" "$SECRET"
retry 300 all_caught_up || xfail "the secondaries did not transfer the zone (wgsd $(wgsd_serial))"

echo "# after the first transfer, every secondary answers as wgsd does"
in_ns "$NS" python3 "$HERE/xfr-compare.py" "$Z" "127.0.0.1:53/$ASK_IP" "$NSD_IP:5301" "$KNOT_IP:5302" "$BIND_IP:5303" \
	-- "ns1.$Z" A "ns1.$Z" AAAA "$B1._wireguard._udp.$Z" NS >"$TMP/compare.out" ||
	{ cat "$TMP/compare.out" >&2; xfail "secondaries answer differently"; }
tail -n 1 "$TMP/compare.out"
# seen= is in wgsd's own answers only (self says seen=0; the peers here never had a handshake).
BS=$(b32_of "$(in_ns "$NS" wg show "$DEV" public-key)")
expect_in "$(in_ns "$NS" dig +short -b "$ASK_IP" @127.0.0.1 "$BS._wireguard._udp.$Z" TXT)" '"seen=0"'
expect_not_in "$(in_ns "$NS" dig +short -p 5301 @"$NSD_IP" "$BS._wireguard._udp.$Z" TXT)" 'seen='
expect_in "$(in_ns "$NS" dig +short -p 5303 @"$BIND_IP" "$BS._wireguard._udp.$Z" TXT)" '"allowed=10.9.0.254/32"'
expect_in "$(in_ns "$NS" dig +short -p 5302 @"$KNOT_IP" "$B1._wireguard._udp.$Z" TXT)" '"allowed=10.9.0.1/32,fd00:9::1/128"'
# The secondaries' SOA checks went through although access = $ASK_IP: nothing was refused to them.
expect_not_in "$(cat "$TMP/wgsd.log")" "refused UDP query from $NSD_IP"
expect_not_in "$(cat "$TMP/wgsd.log")" "refused UDP query from $KNOT_IP"
expect_not_in "$(cat "$TMP/wgsd.log")" "refused UDP query from $BIND_IP"

echo "# a changed endpoint reaches every secondary by NOTIFY and an IXFR of that change alone"
serial0=$(wgsd_serial)
start=$(date +%s%N)
in_ns "$NS" wg set "$DEV" peer "$K1" endpoint 203.0.113.77:7777
for s in "$NSD_IP:5301:NSD" "$KNOT_IP:5302:Knot" "$BIND_IP:5303:BIND"; do
	ip=${s%%:*} rest=${s#*:} port=${rest%%:*} name=${s##*:}
	retry 200 sh -c "ip netns exec $NS dig +short -p $port @$ip $B1.$Z A | grep -qx 203.0.113.77" ||
		xfail "$name did not get the new endpoint within 20 s (soa-refresh is 1h: NOTIFY failed)"
	echo "$name answers the new endpoint $(( ($(date +%s%N) - start) / 1000000 )) ms after the change"
	# Names in rdata in any case (NSD answers the SRV target in the case it first stored that name in).
	expect_in "$(in_ns "$NS" dig +short -p "$port" @"$ip" "$B1._wireguard._udp.$Z" SRV | tr A-Z a-z)" \
		"0 0 7777 $(echo "$B1.$Z" | tr A-Z a-z)"
done
serial1=$(wgsd_serial)
[ "$serial1" != "$serial0" ] || fail "the serial did not change"
last_ixfr_is "$serial1" 10 || xfail "transfer status"

echo "# C registers candidates through the tunnel: every secondary answers them as wgsd does, after an IXFR of them alone"
retry 100 in_ns "$NSC" ping -c 1 -W 1 10.9.0.254 || fail "no tunnel from C to the registry"
serial0=$(wgsd_serial)
register_c "lan-0 A 192.168.7.2 51821" "v6-0 AAAA 2001:db8:7::2 51821"
wait_secondaries "$BC._wgcand._udp.$Z" SRV "20 0 51821 v6-0.$BC.$Z" "C's candidates"
compare_all "with candidates"
serial1=$(wgsd_serial)
[ "$serial1" != "$serial0" ] || fail "registering candidates did not change the serial"
# The PTR of _wgcand._udp, two SRV, an A and an AAAA.
last_ixfr_is "$serial1" $((4 + 5)) || xfail "transfer status after registering candidates"

echo "# a changed candidate address is an IXFR of that address"
register_c "lan-0 A 192.168.7.3 51821" "v6-0 AAAA 2001:db8:7::2 51821"
wait_secondaries "lan-0.$BC.$Z" A 192.168.7.3 "the changed candidate"
serial2=$(wgsd_serial)
last_ixfr_is "$serial2" $((4 + 2)) || xfail "transfer status after a changed candidate"
compare_all "after a changed candidate"

echo "# a renewal of the same candidates moves no serial"
reads0=$(status_value "r['zones'][0]['reads']")
register_c "lan-0 A 192.168.7.3 51821" "v6-0 AAAA 2001:db8:7::2 51821"
# Two device reads later the snapshot built after the renewal is out.
retry 100 sh -c "[ \$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json |
	python3 -c \"import json, sys; print(json.load(sys.stdin)['registry']['zones'][0]['reads'])\") -ge $((reads0 + 2)) ]" ||
	fail "the zone was not read again after the renewal"
[ "$(wgsd_serial)" = "$serial2" ] || fail "a renewal of the same candidates changed the serial"
[ "$(status_value "r['zones'][0]['candidates']['published']")" = 2 ] || fail "C's candidates are not published"

echo "# the end of the lease (candidate-lease-max = 30s) removes them from every secondary by IXFR"
for s in "$NSD_IP:5301:NSD" "$KNOT_IP:5302:Knot" "$BIND_IP:5303:BIND"; do
	ip=${s%%:*} rest=${s#*:} port=${rest%%:*} name=${s##*:}
	retry 600 sh -c "ip netns exec $NS dig -p $port @$ip _wgcand._udp.$Z PTR | grep -q 'status: NXDOMAIN'" ||
		xfail "$name still has candidates 60 s after the lease ended"
done
serial3=$(wgsd_serial)
last_ixfr_is "$serial3" $((4 + 5)) || xfail "transfer status after the lease ended"
compare_all "after the lease ended"

echo "# after a restart the serial still grows and the secondaries follow (whole zone: no history yet)"
kill "$WGSD_PID"
wait "$WGSD_PID" 2>/dev/null || true
sleep 1.1   # the new serial comes from the clock: a later second than the last change
wgsd_start "$TMP/wgsd.conf"
retry 300 all_caught_up || xfail "the secondaries did not follow the restarted primary"
serial4=$(wgsd_serial)
[ "$serial4" -gt "$serial3" ] || fail "serial went from $serial3 to $serial4 across a restart"
python3 -c 'import json, sys
z = json.load(sys.stdin)["registry"]["zones"][0]["transfers"]
kinds = sorted(s["transfers"]["last"]["type"] for s in z["secondaries"] if s["transfers"]["last"])
assert len(kinds) == 3 and all(k in ("AXFR", "IXFR-AXFR") for k in kinds), kinds' <<<"$(wgsd_status)" ||
	fail "expected whole-zone transfers after the restart"

echo "# a reload to soa-refresh = 3s: the new SOA timers come with a new serial"
write_conf 3s yes
kill -HUP "$WGSD_PID"
for p in "$NSD_IP 5301" "$KNOT_IP 5302" "$BIND_IP 5303"; do
	set -- $p
	retry 300 sh -c "ip netns exec $NS dig +short -p $2 @$1 $Z SOA | grep -q ' 3 2 604800 7\$'" ||
		xfail "$1 did not get the new SOA timers"
done

echo "# without NOTIFY: a reload and then a change propagate by the secondaries' polling alone"
write_conf 3s no
kill -HUP "$WGSD_PID"
retry 300 all_caught_up || xfail "the secondaries did not poll the reloaded zone"
in_ns "$NS" wg set "$DEV" peer "$K2" endpoint "[2001:db8::22]:52222"
B2=$(b32_of "$K2")
wait_secondaries "$B2.$Z" AAAA 2001:db8::22 "the change, by polling," 300 "soa-refresh 3s: polling failed"
in_ns "$NS" python3 "$HERE/xfr-compare.py" "$Z" "127.0.0.1:53/$ASK_IP" "$NSD_IP:5301" "$KNOT_IP:5302" "$BIND_IP:5303" \
	>"$TMP/compare.out" || { cat "$TMP/compare.out" >&2; xfail "secondaries answer differently after polling"; }
wgsd_status | python3 -c 'import json, sys
secs = json.load(sys.stdin)["registry"]["zones"][0]["transfers"]["secondaries"]
assert len(secs) == 3 and all(s["notify"] is None for s in secs), secs' || fail "status after the reload removed notify"
echo "PASS"
