#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile and broken zone transfer requests against wgsd (2,000 peers on a
# wireguard-go device, loopback only), each with the answer the RFCs ask for:
#  - no key where one is needed, a source no allow-transfer line admits, a
#    valid key that is not the zone's: REFUSED;
#  - an unknown key (BADKEY), a wrong secret (BADSIG), a request signed 1000 s
#    ago or ahead (a replay outside the fudge: BADTIME): NOTAUTH with the TSIG
#    error, BADTIME signed over the request's MAC, the others unsigned; within
#    the fudge it is accepted;
#  - the same signed AXFR or IXFR again within the fudge (a replay over TCP):
#    NOTAUTH with BADTIME, counted as "replay"; a new signature of the same
#    request is answered; the same signed UDP query twice (a retransmission)
#    is answered both times;
#  - IXFR for a future serial: the current SOA alone; IXFR without the
#    client's SOA: FORMERR; AXFR of a name that is not a zone apex: NOTAUTH;
#    AXFR over UDP: NOTIMP; IXFR over UDP: the current SOA;
#  - a query pipelined behind a transfer: answered after the transfer;
#  - a transfer cut off after its first message: counted as failed, the
#    next one completes;
#  - a secondary that reads slowly: UDP queries meanwhile are all answered;
#  - 40 transfers at once that read nothing: 32 run (the rest SERVFAIL),
#    each connection's queue stays bounded and the idle timeout resets them.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
reg_require

Z=example.com.
DEV="wgh$$"
KEY=xfr.example.
SECRET=$(head -c 32 /dev/urandom | base64)
OTHER_SECRET=$(head -c 32 /dev/urandom | base64)
RAW="python3 $HERE/xfr-raw.py 127.0.0.1:53 $Z"
N=2000

# Small kernel send buffers (per namespace): a stalled transfer then fills wgsd's own queue.
in_ns "$NS" sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536"
wg_dev_start "$NS" "$DEV"
ip -n "$NS" link set "$DEV" up
ip -n "$NS" addr add 127.0.0.3/8 dev lo
ip -n "$NS" addr add 127.0.0.4/8 dev lo
python3 "$HERE/../bench/gen-peers.py" "$N" "$TMP/peers.conf"
in_ns "$NS" wg setconf "$DEV" "$TMP/peers.conf"
cat >"$TMP/wgsd.conf" <<CONF
[daemon]
status-socket = $TMP/wgsd.sock
[registry]
listen = 127.0.0.1:53
access = any
tcp-idle-timeout = 1s
tcp-max-connections = 100
[zone $Z]
device = $DEV
allow-transfer = 127.0.0.1 key $KEY
allow-transfer = 127.0.0.3
[zone other.test.]
device = $DEV
peer-transfers = no
[key $KEY]
secret = $SECRET
[key other.example.]
secret = $OTHER_SECRET
CONF
wgsd_start "$TMP/wgsd.conf"
raw() { in_ns "$NS" $RAW "$@"; }
# Records of the full zone: SOA twice, NS, and for each peer PTR, SRV, TXT and two addresses.
FULL=$((3 + 5 * N))

echo "# who may transfer"
expect_in "$(raw ask AXFR)" "rcode=REFUSED"
expect_in "$(raw ask AXFR --src 127.0.0.4)" "rcode=REFUSED"
expect_in "$(raw ask AXFR --src 127.0.0.4 --key $KEY "$SECRET")" "rcode=REFUSED answers=0 messages=1 tsig_error=0"
expect_in "$(raw ask AXFR --key other.example. "$OTHER_SECRET")" "rcode=REFUSED answers=0 messages=1 tsig_error=0"
expect_in "$(raw ask AXFR --key $KEY "$SECRET")" "rcode=NOERROR answers=$FULL"
expect_in "$(raw ask AXFR --src 127.0.0.3)" "rcode=NOERROR answers=$FULL"
out=$(in_ns "$NS" dig @127.0.0.1 other.test AXFR -y "hmac-sha256:$KEY:$SECRET")
expect_in "$out" "Transfer failed"
# dig checks the signature of the whole transfer, message by message.
out=$(in_ns "$NS" dig @127.0.0.1 "$Z" AXFR -y "hmac-sha256:$KEY:$SECRET")
expect_in "$out" "XFR size: $FULL records"
expect_not_in "$out" "tsig verify failure"

echo "# TSIG failures: NOTAUTH with BADKEY, BADSIG, BADTIME"
expect_in "$(raw ask AXFR --key nokey.example. "$SECRET")" "rcode=NOTAUTH answers=0 messages=1 tsig_error=17 last_type=None signed=none"
expect_in "$(raw ask AXFR --key $KEY "$OTHER_SECRET")" "rcode=NOTAUTH answers=0 messages=1 tsig_error=16 last_type=None signed=none"
# BADTIME is signed over the request's MAC (RFC 8945 5.2.3), checked here with Python's hmac.
expect_in "$(raw ask AXFR --key $KEY "$SECRET" --time-offset -1000)" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18 last_type=None signed=ok"
expect_in "$(raw ask AXFR --key $KEY "$SECRET" --time-offset 1000)" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18 last_type=None signed=ok"
expect_in "$(raw ask AXFR --key $KEY "$SECRET" --time-offset -200)" "rcode=NOERROR answers=$FULL"
expect_in "$(in_ns "$NS" dig @127.0.0.1 "$Z" SOA -y "hmac-sha256:$KEY:$OTHER_SECRET")" "BADSIG"

echo "# a replayed transfer request within the fudge: NOTAUTH with BADTIME; new signatures and UDP retransmissions pass"
out=$(raw ask AXFR --key $KEY "$SECRET" --repeat 3)
expect_in "$(echo "$out" | sed -n 1p)" "rcode=NOERROR answers=$FULL"
expect_in "$(echo "$out" | sed -n 2p)" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18 last_type=None signed=ok"
expect_in "$(echo "$out" | sed -n 3p)" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18 last_type=None signed=ok"
out=$(raw ask IXFR --serial 1 --key $KEY "$SECRET" --repeat 2)
expect_in "$(echo "$out" | sed -n 1p)" "rcode=NOERROR answers=$FULL"
expect_in "$(echo "$out" | sed -n 2p)" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18"
expect_in "$(raw ask AXFR --key $KEY "$SECRET")" "rcode=NOERROR answers=$FULL"
out=$(raw ask IXFR --serial 1 --udp --key $KEY "$SECRET" --repeat 2)
[ "$(echo "$out" | grep -c "rcode=NOERROR answers=1 messages=1 tsig_error=0")" = 2 ] ||
	fail "a retransmitted UDP query was not answered twice: $out"
expect_in "$(in_ns "$NS" "$WGSDCTL" -s "$TMP/wgsd.sock" metrics)" 'wgsd_registry_tsig_total{result="replay"} 3'
# A reload that keeps the key keeps what it accepted.
expect_in "$(raw ask AXFR --key $KEY "$SECRET" --message "$TMP/signed.msg")" "rcode=NOERROR answers=$FULL"
reloads_ok() { wgsd_status | python3 -c 'import json, sys; print(json.load(sys.stdin)["reload"]["ok"])'; }
reloads=$(reloads_ok)
kill -HUP "$WGSD_PID"
retry 100 sh -c "[ \"\$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)[\"reload\"][\"ok\"])')\" = $((reloads + 1)) ]" ||
	fail "the reload did not happen"
expect_in "$(raw ask AXFR --key $KEY "$SECRET" --message "$TMP/signed.msg")" "rcode=NOTAUTH answers=0 messages=1 tsig_error=18"

echo "# IXFR for a future serial, without the client's SOA, odd names, UDP"
serial=$(in_ns "$NS" dig +short @127.0.0.1 "$Z" SOA | awk '{ print $3 }')
expect_in "$(raw ask IXFR --serial $((serial + 1000)) --key $KEY "$SECRET")" "rcode=NOERROR answers=1 messages=1 tsig_error=0 last_type=6"
expect_in "$(raw ask IXFR --serial "$serial" --src 127.0.0.3)" "rcode=NOERROR answers=1 messages=1"
expect_in "$(raw ask IXFR --serial $((serial - 5)) --src 127.0.0.3)" "rcode=NOERROR answers=$FULL"
expect_in "$(raw ask IXFR --src 127.0.0.3)" "rcode=FORMERR"
expect_in "$(in_ns "$NS" python3 "$HERE/xfr-raw.py" 127.0.0.1:53 "_udp.$Z" ask AXFR --src 127.0.0.3)" "rcode=NOTAUTH"
expect_in "$(in_ns "$NS" python3 "$HERE/xfr-raw.py" 127.0.0.1:53 nothing.test. ask AXFR --src 127.0.0.3)" "rcode=NOTAUTH"
expect_in "$(raw ask AXFR --udp --src 127.0.0.3)" "rcode=NOTIMP"
expect_in "$(raw ask IXFR --serial 1 --udp --src 127.0.0.3)" "rcode=NOERROR answers=1 messages=1"
expect_in "$(raw ask IXFR --serial 1 --udp --key $KEY "$SECRET")" "rcode=NOERROR answers=1 messages=1 tsig_error=0"

echo "# a query pipelined behind a transfer is answered after its last message"
expect_in "$(raw pipelined --src 127.0.0.3)" "transfer_ids=[1] then id=2 rcode=NOERROR answers=1"

echo "# a transfer cut off midway is counted; the next one completes"
failures() {
	status_value "[s for s in r['zones'][0]['transfers']['secondaries'] if s['address'] == '$1'][0]['transfers']['failures']"
}
before=$(failures 127.0.0.3)
raw cut --src 127.0.0.3 >/dev/null
retry 50 sh -c "[ \"\$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json | python3 -c \"import json,sys; print([s for s in json.load(sys.stdin)['registry']['zones'][0]['transfers']['secondaries'] if s['address'] == '127.0.0.3'][0]['transfers']['failures'])\")\" -gt $before ]" ||
	fail "the cut transfer was not counted as failed"
[ "$(status_value "r['zones'][0]['transfers']['active']")" = 0 ] || fail "a cut transfer stays active"
expect_in "$(raw ask AXFR --src 127.0.0.3)" "rcode=NOERROR answers=$FULL"

echo "# a slow reader: queries are answered meanwhile"
raw slow 4 --src 127.0.0.3 >"$TMP/slow.out" &
SLOW=$!
retry 30 sh -c "ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json | grep -q '\"active\":1'" ||
	fail "the slow transfer is not running"
out=$(raw udp-burst 20000 --src 127.0.0.4)
expect_in "$out" "answered=20000 of 20000"
[ "$(status_value "r['zones'][0]['transfers']['active']")" = 1 ] || fail "the slow transfer ended before the queries did"
wait "$SLOW" || fail "slow reader failed: $(cat "$TMP/slow.out")"
expect_in "$(cat "$TMP/slow.out")" "rcode=NOERROR answers=$FULL"

echo "# 40 stalled transfers: at most 32 run, bounded queues, the idle timeout resets them"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$WGSD_PID/status"; }
rss0=$(rss)
raw stall 40 4 --src 127.0.0.3 >"$TMP/stall.out" &
STALL=$!
# Once every connection had its first message, the 32 transfers fill their queues and stop.
retry 200 grep -q ready "$TMP/stall.out" || fail "the stalled connections got no first message"
retry 100 sh -c "[ \"\$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json | python3 -c \"import json,sys; print(json.load(sys.stdin)['registry']['listeners'][0]['tcp_queued_bytes'] >= 32 * 65536)\")\" = True ]" || true
rss1=$(rss)
queued=$(status_value "r['listeners'][0]['tcp_queued_bytes']")
wait "$STALL"
expect_in "$(cat "$TMP/stall.out")" "busy=8 "
# Each stalled connection holds at most 64 KiB and one message (16 KiB and its framing) in wgsd.
[ "$queued" -le $((32 * (65536 + 16386))) ] || fail "$queued bytes queued for 32 stalled transfers"
[ "$queued" -ge $((32 * 65536)) ] || fail "only $queued bytes queued: were the transfers stalled?"
retry 50 sh -c "[ \"\$(ip netns exec $NS $WGSDCTL -s $TMP/wgsd.sock status --json | python3 -c \"import json,sys; print(json.load(sys.stdin)['registry']['zones'][0]['transfers']['active'])\")\" = 0 ]" ||
	fail "stalled transfers were not dropped by the idle timeout"
stalled=$(status_value "r['listeners'][0]['tcp_dropped_stalled']")
[ "$stalled" -ge 32 ] || fail "expected at least 32 stalled connections reset, got $stalled"
expect_in "$(raw ask AXFR --src 127.0.0.3)" "rcode=NOERROR answers=$FULL"
echo "32 stalled transfers: $queued bytes queued in wgsd, RSS grew by $((rss1 - rss0)) KiB"
echo "PASS"
