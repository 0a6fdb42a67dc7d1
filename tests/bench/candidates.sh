#!/bin/bash
# SPDX-License-Identifier: MIT
# Candidate registration benchmark (issue 15): how many UPDATEs the registry
# absorbs while it answers queries at full rate, what they cost the queries,
# and the memory per registered candidate. Writes tests/bench/CANDIDATES.md
# and prints it.
#
#  1. In-process (bench-cand.c, one core, no sockets): updates per second
#     through registry_update_parse() + the table, bytes per candidate,
#     snapshot build with and without candidates, dns_answer() throughput at
#     the old names without/with candidates and with updates interleaved.
#  2. End to end: wgsd (registry role, pinned to one CPU) serving a
#     wireguard-go device with PEERS peers; dnsperf asks SRV of random peers
#     at full rate on a veth while a second namespace sends UPDATEs through a
#     real WireGuard tunnel (update-sender.py): none, RATE per second, and as
#     fast as the sender and the tunnel go.
#
# Usage (as root):  tests/bench/candidates.sh [--peers N] [--duration S] [--rate R]
#                   [--build DIR] [--out FILE]
# Not part of `meson test`: benchmarks never assert timings in the test suite.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PEERS=1000
DURATION=5
RATE=1000
BUILD=$SRC/build-bench
OUT=$HERE/CANDIDATES.md
CMDLINE="tests/bench/candidates.sh${*:+ $*}"

while [ $# -gt 0 ]; do
	case $1 in
	--peers) PEERS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--build) BUILD=$(realpath -m "$2"); shift ;;
	--out) OUT=$(realpath -m "$2"); shift ;;
	-h|--help) sed -n '3,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "candidates.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "candidates.sh: run as root (namespaces, wireguard-go)" >&2; exit 1; }

S=$$
NS="wgsdcb$S"
NS_S="wgsdcs$S"
DEV_R="wgcbr$S"
DEV_S="wgcbs$S"
ZONE=bench.test.
TMP=$(mktemp -d /tmp/wgsd-bench-cand.XXXXXX)
PIDS=""
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# Stop what we started, remove namespaces and files.
cleanup() {
	for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
	for pid in $PIDS; do wait "$pid" 2>/dev/null || true; done
	rm -f "/var/run/wireguard/$DEV_R.sock" "/var/run/wireguard/$DEV_S.sock"
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$NS_S" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# Progress on stderr.
say() { echo "bench-cand: $*" >&2; }
# Fail.
die() { say "FAILED: $*"; exit 1; }

say "building (release) in $BUILD"
[ -d "$BUILD" ] || meson setup "$BUILD" "$SRC" --buildtype=release >/dev/null || die "meson setup"
ninja -C "$BUILD" >/dev/null || die "ninja"
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter -I"$SRC/include" -I"$BUILD" \
	"$HERE/bench-cand.c" "$BUILD/libwgsd-core.a" $(pkg-config --cflags --libs libevent_core libmnl ldns inih) \
	-o "$BUILD/bench-cand" || die "building bench-cand"

say "in-process: 10,000 peers, 4 candidates each"
"$BUILD/bench-cand" 10000 4 "$DURATION" >"$TMP/inproc.txt" || die "bench-cand"
cat "$TMP/inproc.txt" >&2
# Value of key $1 in the in-process results.
iv() { tr ' ' '\n' <"$TMP/inproc.txt" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

say "end to end: $PEERS peers, wgsd on CPU 0"
ip netns add "$NS"
ip netns add "$NS_S"
ip -n "$NS" link set lo up
ip -n "$NS_S" link set lo up
ip link add vq$S netns "$NS" type veth peer name vp$S netns "$NS"
ip -n "$NS" addr add 192.0.2.53/24 dev vq$S
ip -n "$NS" addr add 192.0.2.54/24 dev vp$S
ip -n "$NS" link set vq$S up
ip -n "$NS" link set vp$S up
ip link add vt$S netns "$NS" type veth peer name vs$S netns "$NS_S"
ip -n "$NS" addr add 198.51.100.1/24 dev vt$S
ip -n "$NS_S" addr add 198.51.100.2/24 dev vs$S
ip -n "$NS" link set vt$S up
ip -n "$NS_S" link set vs$S up
python3 "$HERE/gen-peers.py" "$PEERS" "$TMP/peers.conf" "$TMP/keys.txt"
(umask 077 && wg genkey >"$TMP/r.key" && wg genkey >"$TMP/s.key")
KR=$(wg pubkey <"$TMP/r.key") KS=$(wg pubkey <"$TMP/s.key")
ip netns exec "$NS" taskset -c 1 wireguard-go -f "$DEV_R" >"$TMP/wg-r.log" 2>&1 &
PIDS="$PIDS $!"
ip netns exec "$NS_S" taskset -c 1 wireguard-go -f "$DEV_S" >"$TMP/wg-s.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do
	[ -S "/var/run/wireguard/$DEV_R.sock" ] && [ -S "/var/run/wireguard/$DEV_S.sock" ] && break
	sleep 0.05
done
ip netns exec "$NS" wg setconf "$DEV_R" "$TMP/peers.conf" || die "wg setconf"
ip netns exec "$NS" wg set "$DEV_R" listen-port 51820 private-key "$TMP/r.key" peer "$KS" allowed-ips 10.200.255.1/32
ip netns exec "$NS_S" wg set "$DEV_S" private-key "$TMP/s.key" peer "$KR" allowed-ips 10.200.0.254/32 \
	endpoint 198.51.100.1:51820 persistent-keepalive 1
ip -n "$NS" addr add 10.200.0.254/16 dev "$DEV_R"
ip -n "$NS_S" addr add 10.200.255.1/32 dev "$DEV_S"
ip -n "$NS" link set "$DEV_R" up
ip -n "$NS_S" link set "$DEV_S" up
ip -n "$NS_S" route add 10.200.0.254/32 dev "$DEV_S"
cat >"$TMP/wgsd.conf" <<EOF
[daemon]
log-level = warning
status-socket = $TMP/wgsd.sock
[registry]
listen = 192.0.2.53:53
listen = 10.200.0.254:53
access = any
[zone $ZONE]
device = $DEV_R
backend = userspace
EOF
ip netns exec "$NS" taskset -c 0 "$BUILD/wgsd" -c "$TMP/wgsd.conf" >"$TMP/wgsd.log" 2>&1 &
WGSD_PID=$!
PIDS="$PIDS $WGSD_PID"
for _ in $(seq 100); do
	ip netns exec "$NS" dig @192.0.2.53 +time=1 +tries=1 +short "$ZONE" SOA 2>/dev/null | grep -q . && break
	sleep 0.1
done
ip netns exec "$NS_S" ping -c 1 -W 2 10.200.0.254 >/dev/null || die "no tunnel to the registry"
python3 "$HERE/dnscheck.py" queries "$ZONE" "$TMP/keys.txt" 10000 "$TMP/queries.txt" ||
	die "query file"

# CPU time of wgsd so far (clock ticks, user + system).
wgsd_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$WGSD_PID/stat"; }

# One run: dnsperf for DURATION s while the sender sends at rate $1 ("-": no sender, 0: flat out).
# Prints "qps updates_ok_per_s updates_sent_per_s wgsd_cpu_percent".
run() {
	local rate=$1 qps ok=0 sent=0 t0 t1
	t0=$(wgsd_ticks)
	if [ "$rate" != - ]; then
		ip netns exec "$NS_S" taskset -c 1 python3 "$SRC/tests/client/update-sender.py" --server 10.200.0.254 \
			--zone "$ZONE" --key "$KS" --cand lan-0=192.168.1.2:51820 --cand v6-0=[2001:db8::2]:51820 \
			--duration "$DURATION" --rate "$rate" --timeout 1 >"$TMP/sender.txt" 2>&1 &
		spid=$!
	fi
	ip netns exec "$NS" taskset -c 1 dnsperf -s 192.0.2.53 -d "$TMP/queries.txt" -l "$DURATION" -c 8 -q 256 \
		>"$TMP/dnsperf.txt" 2>&1 || die "dnsperf: $(tail -3 "$TMP/dnsperf.txt")"
	qps=$(awk '/Queries per second/ { printf "%.0f", $4 }' "$TMP/dnsperf.txt")
	if [ "$rate" != - ]; then
		wait "$spid" || die "update-sender: $(cat "$TMP/sender.txt")"
		ok=$(awk '$1 == "NOERROR" { print $2 }' "$TMP/sender.txt")
		sent=$(awk '$1 == "sent" { print $2 }' "$TMP/sender.txt")
	fi
	t1=$(wgsd_ticks)
	echo "$qps $((${ok:-0} / DURATION)) $((${sent:-0} / DURATION)) $(((t1 - t0) * 100 / $(getconf CLK_TCK) / DURATION))"
}
say "queries alone"
read -r q0 _ _ c0 <<<"$(run -)"
say "queries + $RATE updates/s"
read -r q1 u1 s1 c1 <<<"$(run "$RATE")"
say "queries + updates as fast as they go"
read -r q2 u2 s2 c2 <<<"$(run 0)"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$WGSD_PID/status")
ok=$(ip netns exec "$NS" "$BUILD/wgsdctl" -s "$TMP/wgsd.sock" status --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["registry"]["zones"][0]["candidates"]["updates"]["ok"])')

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.1f %%", (a - b) * 100 / b; else print "-" }'; }
{
	echo "# Candidate registration: benchmark results"
	echo
	echo "Written by \`$CMDLINE\` on $(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
	echo "Numbers from one run on a shared machine: they vary; no test checks them."
	echo
	echo "## In-process (one core, no sockets; bench-cand.c)"
	echo
	echo "10,000 peers, 4 candidates each; an UPDATE of $(iv update_bytes) bytes (zone \`bench.test.\`)."
	echo
	echo "| measure | value |"
	echo "|---|---|"
	echo "| UPDATEs absorbed (parse, authorize, store, reply) | $(iv updates_per_s) per second ($(iv us_per_update) µs each) |"
	echo "| table bytes per candidate (cand_store_bytes) | $(iv table_bytes_per_candidate) |"
	echo "| RSS growth per candidate while filling | $(iv rss_growth_per_candidate) bytes |"
	echo "| snapshot bytes per published candidate | $(iv snapshot_bytes_per_candidate) |"
	echo "| snapshot build without / with 40,000 candidates | $(iv build_ms_without) / $(iv build_ms_with) ms |"
	echo "| answers/s at the old names, no candidates | $(iv qps_old_names_without) |"
	echo "| answers/s at the old names, candidates published | $(iv qps_old_names_with) |"
	echo "| ... with one UPDATE per 100 queries | $(iv qps_with_1pct_updates) |"
	echo "| ... with one UPDATE per 10 queries | $(iv qps_with_10pct_updates) |"
	echo "| answers/s at the candidate names (4 SRV + 4 A) | $(iv qps_candidate_names) |"
	echo
	echo "## End to end ($PEERS peers, wgsd pinned to CPU 0; dnsperf, wireguard-go and the sender share CPU 1)"
	echo
	echo "dnsperf asks SRV of random peers (-c 8 -q 256, $DURATION s per run) over a veth; UPDATEs come"
	echo "through a real WireGuard tunnel (wireguard-go) from one peer, each replacing its 2 candidates."
	echo
	echo "| updates offered | queries/s | change | updates answered NOERROR /s | updates sent /s | wgsd CPU |"
	echo "|---|---|---|---|---|---|"
	echo "| none | $q0 | | | | $c0 % |"
	echo "| $RATE/s | $q1 | $(pct "$q1" "$q0") | $u1 | $s1 | $c1 % |"
	echo "| as fast as they go | $q2 | $(pct "$q2" "$q0") | $u2 | $s2 | $c2 % |"
	echo
	echo "wgsd's RSS at the end: ${rss:-?} KiB; UPDATEs accepted in all: $ok. dnsperf, both wireguard-go"
	echo "devices and the sender (Python) share CPU 1: when wgsd's CPU stays below 100 %, the drop in"
	echo "queries/s is dnsperf losing that CPU to the sender and the tunnel, not wgsd's work, and those"
	echo "also bound the flat-out update rate (wgsd alone absorbs the in-process rate above)."
} >"$OUT"
cat "$OUT"
