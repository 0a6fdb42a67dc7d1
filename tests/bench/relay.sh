#!/bin/bash
# SPDX-License-Identifier: MIT
# Relay benchmark (issue 17): in the NAT lab (two cone NATs, so that the
# direct tunnel works too), the same wireguard-go pair measured direct and
# through the registry's relay, alternating, several rounds: iperf3 TCP
# throughput over the tunnel and ping round-trip times. Then, with wgsd
# pinned to CPU 0 and everything else of the lab pinned to CPU 1: the relay's
# packet rate under iperf3 UDP floods of small datagrams through the relayed
# tunnel (datagrams per second and per CPU-second of wgsd, with the CPU of
# wireguard-go to tell which side was the limit), and dnsperf against the
# registry without and during that flood, alternating. Writes
# tests/bench/RESULTS-relay.md and prints it.
#
# Usage (as root):  tests/bench/relay.sh [options]
#   --duration S   seconds per iperf3, flood and dnsperf run (default 5)
#   --rounds R     rounds of each comparison (default 3); medians reported
#   --streams N    parallel iperf3 UDP streams of the flood (default 4)
#   --len BYTES    UDP payload of the flood's datagrams (default 64)
#   --load-nice N  nice level of the load generators on CPU 1, iperf3's flood
#                  and dnsperf (default 10: the tunnel's wireguard-go, at 0,
#                  comes first, so the flood carries what the tunnel can)
#   --build DIR    build directory (default build-bench, buildtype=release)
#   --out FILE     results file (default tests/bench/RESULTS-relay.md)
# Targets from the issue: relayed throughput >= 0.8 x direct, <= 0.3 ms added
# median latency; the packet rate and DNS while relaying are measured, no target set.
# Not part of `meson test`; a missed target is marked NO in the table, not in
# the exit status.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
DURATION=5
ROUNDS=3
STREAMS=4
LEN=64
LOAD_NICE=10
BUILD=$SRC/build-bench
OUT=$HERE/RESULTS-relay.md
CMDLINE="tests/bench/relay.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--streams) STREAMS=$2; shift ;;
	--len) LEN=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--load-nice) LOAD_NICE=$2; shift ;;
	*) sed -n '14,23p' "$0"; exit 2 ;;
	esac
	shift
done
[ "$DURATION" -ge 3 ] || { echo "relay.sh: --duration must be at least 3" >&2; exit 2; }
for prog in iperf3 dnsperf taskset; do
	command -v "$prog" >/dev/null || { echo "relay.sh: $prog is missing (tests/deps.sh)" >&2; exit 1; }
done
[ "$(nproc)" -ge 2 ] || { echo "relay.sh: needs 2 CPUs (wgsd on one, the load on the other)" >&2; exit 1; }
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$SRC" --buildtype=release >/dev/null
fi
ninja -C "$BUILD" >/dev/null
export WGSD=$BUILD/wgsd WGSDCTL=$BUILD/wgsdctl WGSD_SRCDIR=$SRC
. "$SRC/tests/lab/lib.sh"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
lab_require dig iperf3 dnsperf
lab_init
lab_topology
lab_wireguard
lab_conf reg
# The relay (conf/registry.conf ends with its own [relay]: replaced), and a second DNS listener on
# the registry's public address for dnsperf (plain UDP from the public segment: the registry's own
# wireguard-go stays out of the DNS measurement).
sed -i -e '/^\[relay\]/,$d' -e "s|^listen = ${LAB_TUN[reg]}:53\$|&\\nlisten = ${LAB_PUB4[reg]}:53|" -e 's|^access = peers$|access = any|' \
	"$LAB_RUN/reg.conf"
cat >>"$LAB_RUN/reg.conf" <<CONF

[relay]
address = ${LAB_PUB4[reg]}
ports = 50000-50099
CONF
"$WGSD" -t -c "$LAB_RUN/reg.conf" >/dev/null || lab_fail "benchmark registry configuration"
lab_wgsd_start reg
DNSPERF_ADDR=203.0.113.53
lab_in pub ip addr add "$DNSPERF_ADDR/24" dev br0

direct_a=$(lab_endpoint reg alice) direct_b=$(lab_endpoint reg bob)
# Ask for the relay for the pair from node $1; prints the port.
relay_port()
{
	lab_dig "$1" +short "$(lab_b32 "$(lab_other "$1")").$(lab_b32 "$1")._relay.example.com." SRV | awk '{ print $3 }'
}
relay_a=$(relay_port alice) relay_b=$(relay_port bob)
[ -n "$relay_a" ] && [ -n "$relay_b" ] || lab_fail "no relay allocation"

# Point alice and bob at each other directly or through the relay.
use_path()
{
	if [ "$1" = direct ]; then
		lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" endpoint "$direct_b" persistent-keepalive 1
		lab_in bob wg set "${LAB_DEV[bob]}" peer "${LAB_KEY[alice]}" endpoint "$direct_a" persistent-keepalive 1
	else
		lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" endpoint "${LAB_PUB4[reg]}:$relay_a" persistent-keepalive 1
		lab_in bob wg set "${LAB_DEV[bob]}" peer "${LAB_KEY[alice]}" endpoint "${LAB_PUB4[reg]}:$relay_b" persistent-keepalive 1
	fi
	lab_ping_until alice "${LAB_TUN[bob]}" 30 || lab_fail "no tunnel on the $1 path"
	sleep 1
}

HZ=$(getconf CLK_TCK)
# CPU seconds (user + system, all threads) process $1 has used.
proc_cpu()
{
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$HZ" '{ printf "%.3f\n", ($12 + $13) / hz }'
}

# CPU seconds wgsd on the registry has used.
wgsd_cpu()
{
	proc_cpu "${LAB_PID[reg]}"
}

lab_bg bob "$LAB_RUN/iperf3-server.log" iperf3 -s -B "${LAB_TUN[bob]}"
IPERF_SERVER=$LAB_BGPID
LAB_BG="$LAB_BG $IPERF_SERVER"
sleep 0.5
declare -A tput lat
: >"$LAB_RUN/pps"
for round in $(seq "$ROUNDS"); do
	for path in direct relay; do
		use_path "$path"
		c0=$(wgsd_cpu) p0=$(lab_status reg 's["registry"]["relay"]["forwarded_packets"]')
		bps=$(lab_in alice iperf3 -c "${LAB_TUN[bob]}" -t "$DURATION" -J |
			python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))')
		c1=$(wgsd_cpu) p1=$(lab_status reg 's["registry"]["relay"]["forwarded_packets"]')
		[ "$path" = relay ] && echo "$(( p1 - p0 )) $c0 $c1" >>"$LAB_RUN/pps"
		med=$(lab_in alice ping -n -c 200 -i 0.01 "${LAB_TUN[bob]}" |
			python3 -c 'import re,sys,statistics; t=[float(m) for m in re.findall(r"time=([0-9.]+)", sys.stdin.read())]; print("%.3f" % statistics.median(t))')
		tput[$path]="${tput[$path]:-} $bps"
		lat[$path]="${lat[$path]:-} $med"
		echo "round $round $path: $((bps / 1000000)) Mbit/s, median rtt $med ms"
	done
done

# From here on the pair stays relayed, wgsd has CPU 0 and everything else the lab started has
# CPU 1: wireguard-go of alice, bob and the registry, iperf3, dnsperf. (The kernel's share of a
# datagram runs on the CPU that sends it: the relay's sends and their path through NAT B count as
# wgsd's system time on CPU 0, alice's sends up to the relay's socket run on CPU 1.)
use_path relay
taskset -a -p -c 0 "${LAB_PID[reg]}" >/dev/null
# At nice -10, so that other users' processes on this shared machine take less of wgsd's core.
for task in /proc/"${LAB_PID[reg]}"/task/*; do
	renice -n -10 -p "${task##*/}" >/dev/null
done
for node in alice bob reg; do
	taskset -a -p -c 1 "${LAB_WGPID[$node]}" >/dev/null
done
taskset -a -p -c 1 "$IPERF_SERVER" >/dev/null

# The sum of the registry's metrics whose name and labels start with $1.
relay_metric()
{
	lab_ctl reg metrics | awk -v m="$1" 'index($1, m) == 1 { t += $2 } END { printf "%.0f\n", t }'
}

# Busy, total and interrupt (hard and soft) jiffies of CPU $1 since boot (everything on it, other
# users' processes too).
cpu_jiffies()
{
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $7 + $8 }' /proc/stat
}

# UDP receive-buffer drops in node $1's namespace.
rcvbuf_errors()
{
	lab_in "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp
}

# One line of counters for snap_delta: ms, relayed datagrams (all, from alice's side, from bob's
# side), CPU seconds of wgsd and of alice's and bob's wireguard-go, busy, total and interrupt jiffies of
# CPU 0 and 1, UDP receive-buffer drops on the registry and on bob.
snap()
{
	echo "$(lab_now_ms) $(relay_metric 'wgsd_relay_forwarded_packets_total')" \
		"$(relay_metric "wgsd_relay_allocation_packets_total{peer=\"${LAB_KEY[alice]}\"")" \
		"$(relay_metric "wgsd_relay_allocation_packets_total{peer=\"${LAB_KEY[bob]}\"")" \
		"$(wgsd_cpu) $(proc_cpu "${LAB_WGPID[alice]}") $(proc_cpu "${LAB_WGPID[bob]}")" \
		"$(cpu_jiffies 0) $(cpu_jiffies 1) $(rcvbuf_errors reg) $(rcvbuf_errors bob)"
}

# Rates between two snap lines ($1, $2) as key=value words: relayed datagrams per second (all, from
# alice, from bob), per CPU-second of wgsd, CPU % of wgsd and of the two wireguard-go, busy % of
# CPU 0 and 1, receive-buffer drops per second on the registry and on bob.
snap_delta()
{
	python3 -c '
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
d = [y - x for x, y in zip(a, b)]
dt = d[0] / 1000
pct = lambda x, t: 100 * x / t if t else 0
print("fwd=%.0f from_a=%.0f from_b=%.0f per_cpu=%s wgsd=%.0f wga=%.0f wgb=%.0f cpu0=%.0f si0=%.0f cpu1=%.0f si1=%.0f "
      "drop_reg=%.0f drop_bob=%.0f" % (
    d[1] / dt, d[2] / dt, d[3] / dt, "%.0f" % (d[1] / d[4]) if d[4] > 0 else "n/a",
    100 * d[4] / dt, 100 * d[5] / dt, 100 * d[6] / dt,
    pct(d[7], d[8]), pct(d[9], d[8]), pct(d[10], d[11]), pct(d[12], d[11]), d[13] / dt, d[14] / dt))
' "$1" "$2"
}

# Start the flood: $STREAMS iperf3 UDP streams of $LEN-byte datagrams at unlimited rate, alice to
# bob through the relayed tunnel, for $1 seconds, on CPU 1 at nice $LOAD_NICE; JSON to file $2. FLOOD
# is its PID.
flood_start()
{
	lab_bg alice "$2" taskset -c 1 nice -n "$LOAD_NICE" iperf3 -c "${LAB_TUN[bob]}" -u -b 0 -l "$LEN" -P "$STREAMS" -t "$1" -J
	FLOOD=$LAB_BGPID
	LAB_BG="$LAB_BG $FLOOD"
}

# iperf3 UDP result file $1 as key=value words: datagrams sent by alice and received by bob (as
# bob's server reported them) per second.
flood_result()
{
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print("sent=%.0f recv=%.0f" % (s["packets"] / s["seconds"], (s["packets"] - s["lost_packets"]) / s["seconds"]))
' "$1"
}

# Step 1: the packet rate, $ROUNDS floods, each measured over its middle DURATION - 2 seconds.
: >"$LAB_RUN/flood"
for round in $(seq "$ROUNDS"); do
	flood_start "$DURATION" "$LAB_RUN/flood-$round.json"
	sleep 1
	s0=$(snap)
	sleep $((DURATION - 2))
	s1=$(snap)
	wait "$FLOOD" || lab_fail "iperf3 UDP flood (see $LAB_RUN/flood-$round.json)"
	line="$(snap_delta "$s0" "$s1") $(flood_result "$LAB_RUN/flood-$round.json")"
	echo "$line" >>"$LAB_RUN/flood"
	echo "flood round $round: $line"
done

# Step 2: dnsperf at the registry's public address (SRV of alice's and bob's instances, with
# run.sh's options), alone and during a flood, alternating.
echo "${LAB_KEY[alice]} ${LAB_KEY[bob]}" >"$LAB_RUN/keys"
python3 "$HERE/dnscheck.py" queries example.com. "$LAB_RUN/keys" 100000 "$LAB_RUN/queries.txt"
lab_in pub dig @"${LAB_PUB4[reg]}" +time=1 +tries=1 +short "$(lab_b32 bob)._wireguard._udp.example.com." SRV |
	grep -q . || lab_fail "no SRV answer for bob at ${LAB_PUB4[reg]}"

# Seconds of user + system time of a shell's children, from the second line of `times` in file $1.
times_s()
{
	sed -n 2p "$1" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
		printf "%.3f", t }'
}

# One dnsperf run on CPU 1 at nice $LOAD_NICE ($1: idle or flood, $2: the round); appends a line of key=value words
# to $LAB_RUN/dns.
dns_run()
{
	local out=$LAB_RUN/dnsperf-$1-$2.txt s0 s1 t0 t1
	if [ "$1" = flood ]; then
		flood_start $((DURATION + 2)) "$LAB_RUN/dnsflood-$2.json"
		sleep 1
	fi
	s0=$(snap) t0=$(lab_now_ms)
	lab_in pub taskset -c 1 nice -n "$LOAD_NICE" bash -c 'out=$1; shift; dnsperf "$@" >"$out" 2>&1; rc=$?; times >"$out.times"; exit $rc' \
		sh "$out" -s "${LAB_PUB4[reg]}" -d "$LAB_RUN/queries.txt" -l "$DURATION" -c 8 -q 256 -T 1 -t 2 ||
		{ cat "$out" >&2; lab_fail "dnsperf"; }
	s1=$(snap) t1=$(lab_now_ms)
	if [ "$1" = flood ]; then
		wait "$FLOOD" || lab_fail "iperf3 UDP flood during dnsperf"
	fi
	echo "$1 $(awk '/Queries per second:/ { printf "qps=%.0f ", $4 } /Queries lost:/ { printf "lost=%s ", $3 }
		/Average Latency/ { printf "avg_ms=%.3f", $4 * 1000 }' "$out")" \
		"dnsperf=$(awk -v s="$(times_s "$out.times")" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", s * 1e5 / ms }')" \
		"$(snap_delta "$s0" "$s1")" | tee -a "$LAB_RUN/dns"
}
: >"$LAB_RUN/dns"
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		dns_run idle "$round"
		dns_run flood "$round"
	else
		dns_run flood "$round"
		dns_run idle "$round"
	fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

median()
{
	python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"
}

# Median of key $2 over the lines of file $1 (only those whose first word is $3, when given and not
# empty), with $4 decimals (default 0); "n/a" without values.
kmed()
{
	python3 -c '
import statistics, sys
path, key = sys.argv[1], sys.argv[2]
first = sys.argv[3] if len(sys.argv) > 3 else ""
dec = int(sys.argv[4]) if len(sys.argv) > 4 else 0
vals = []
for line in open(path):
    w = line.split()
    if first and (not w or w[0] != first):
        continue
    for x in w:
        k, _, v = x.partition("=")
        if k == key and v not in ("", "n/a"):
            vals.append(float(v))
print("%.*f" % (dec, statistics.median(vals)) if vals else "n/a")
' "$@"
}

# shellcheck disable=SC2086
td=$(median ${tput[direct]}) tr=$(median ${tput[relay]}) ld=$(median ${lat[direct]}) lr=$(median ${lat[relay]})
ratio=$(python3 -c "print('%.2f' % ($tr / $td))")
added=$(python3 -c "print('%.3f' % ($lr - $ld))")
pps=$(python3 -c '
import sys
pk = cpu = 0.0
for line in open(sys.argv[1]):
    p, c0, c1 = line.split()
    pk += float(p); cpu += float(c1) - float(c0)
print("%.0f" % (pk / cpu) if cpu > 0 else "n/a")' "$LAB_RUN/pps")
ok_t=$(python3 -c "print('yes' if $tr >= 0.8 * $td else 'NO')")
ok_l=$(python3 -c "print('yes' if $lr - $ld <= 0.3 else 'NO')")

F=$LAB_RUN/flood D=$LAB_RUN/dns
f_wgsd=$(kmed "$F" wgsd) f_wga=$(kmed "$F" wga) f_wgb=$(kmed "$F" wgb) f_cpu1=$(kmed "$F" cpu1)
f_fwd=$(kmed "$F" fwd) f_per_cpu=$(kmed "$F" per_cpu) f_drop=$(kmed "$F" drop_reg)
# Which side limited the flood: wgsd's core or the load's.
if [ "${f_wgsd/n\/a/0}" -ge 90 ]; then
	limit="the relay: wgsd kept its core busy (${f_wgsd} %)."
elif [ "${f_cpu1/n\/a/0}" -ge 90 ]; then
	limit="the load's core, not the relay: CPU 1 was ${f_cpu1} % busy (wireguard-go ${f_wga} % on alice and ${f_wgb} % on bob, the rest iperf3 and the kernel) while wgsd used ${f_wgsd} % of CPU 0. The relay's capacity on one core is about its datagrams per CPU-second, which this load could not reach."
else
	limit="neither core was full (wgsd ${f_wgsd} %, CPU 1 ${f_cpu1} %): other load on the machine or iperf3's pacing limited the flood."
fi
# Datagrams the registry's kernel dropped for a full receive buffer, in % of those relayed.
f_drop_pct=$(python3 -c 'import sys; f, d = sys.argv[1:]; print("%.1f" % (100 * float(d) / float(f)) if "n/a" not in (f, d) and float(f) > 0 else "0")' "$f_fwd" "$f_drop")
if python3 -c "import sys; sys.exit(0 if $f_drop_pct >= 1 else 1)"; then
	limit="$limit Still, the relay's sockets overflowed: the registry's kernel dropped $f_drop datagrams a second ($f_drop_pct % of those relayed) for a full receive buffer, so wgsd, below a full core on average, did not always get to them in time (CPU 0 also ran interrupt work and other users' processes: $(kmed "$F" cpu0) % busy with wgsd at $f_wgsd %; the relay's sockets keep the kernel's default receive buffer)."
fi
cross="Cross-check: wgsd relayed $(kmed "$F" from_a) datagrams a second from alice's side; bob's iperf3 received $(kmed "$F" recv) and bob's kernel dropped $(kmed "$F" drop_bob) for a full receive buffer (wireguard-go on bob did not keep up). Alice's iperf3 sent $(kmed "$F" sent): the rest was lost before the relay, in alice's tunnel or at the relay's sockets."
qps_i=$(kmed "$D" qps idle) qps_f=$(kmed "$D" qps flood)
qratio=$(python3 -c "print('%.2f' % ($qps_f / $qps_i) if $qps_i > 0 else 'n/a')")
d_wgsd=$(kmed "$D" wgsd flood)
if [ "${d_wgsd/n\/a/0}" -ge 90 ]; then
	dns_limit="During the flood wgsd's core was full ($d_wgsd %): the queries a second lost are the relay's cost."
else
	dns_limit="wgsd used $d_wgsd % of its core during the flood runs (answering and relaying), so it was not the limit: the queries per second measure how much of CPU 1 dnsperf got, and this machine has no third core for the load. Alone, dnsperf did not fill wgsd's core either ($(kmed "$D" wgsd idle) %)."
fi

cat >"$OUT" <<MD
# Relay benchmark

\`$CMDLINE\`, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $LOAD_START at the
start and $LOAD_END at the end (other users share this machine), wireguard-go on both peers, two
cone NATs (nftables masquerade) in network namespaces, wgsd built with buildtype=release. Medians
of $ROUNDS rounds in each comparison; the compared runs alternate.

## Relayed against direct

Nothing pinned: both peers' wireguard-go, iperf3, the NATs and the relay share the $(nproc) cores.

| measure | direct | relayed | target | met |
| --- | --- | --- | --- | --- |
| iperf3 TCP throughput over the tunnel | $(python3 -c "print('%.0f' % ($td / 1e6))") Mbit/s | $(python3 -c "print('%.0f' % ($tr / 1e6))") Mbit/s ($ratio x) | >= 0.8 x direct | $ok_t |
| ping median round trip | $ld ms | $lr ms (+$added ms) | <= +0.3 ms | $ok_l |
| relay: datagrams per CPU-second of wgsd (during iperf3 TCP) | | $pps | | |

Every datagram crosses the registry's namespace twice (alice -> relay, relay -> bob): the
throughput of both paths is bounded by wireguard-go's CPU, so the ratio says more than the
numbers.

## Relay packet rate on one core

What ran where: wgsd pinned to CPU 0 at nice -10 (this machine is shared: other users' processes
can still run there); on CPU 1, wireguard-go of alice, bob and the registry at nice 0, and the
load at nice $LOAD_NICE: iperf3 (client on alice, server on bob) and, in the next part, dnsperf.
The load: iperf3 UDP at unlimited rate, \`-u -b 0 -l $LEN -P $STREAMS\`, alice -> bob through the
relayed tunnel, ${DURATION}s per round, measured over the middle $((DURATION - 2))s. Relayed datagrams
from wgsd's metrics (\`wgsd_relay_forwarded_packets_total\`, and
\`wgsd_relay_allocation_packets_total\` per side: alice's side carries the flood, bob's only
keepalives); CPU from /proc: user + system time of each process (the relay's sends through NAT B
up to bob's socket are kernel work charged to wgsd), and each CPU's busy time with its share of
interrupt work (hard and soft, not charged to any process). No target is set for it.

| measure | median |
| --- | --- |
| datagrams relayed per second (both sides) | $f_fwd |
| of which from alice's side / from bob's side | $(kmed "$F" from_a) / $(kmed "$F" from_b) |
| datagrams relayed per CPU-second of wgsd | $f_per_cpu ($(python3 -c 'import sys; print("%.1f" % (1e6 / float(sys.argv[1])) if sys.argv[1] != "n/a" else "n/a")' "$f_per_cpu") us each) |
| iperf3 datagrams sent by alice / received by bob, per second | $(kmed "$F" sent) / $(kmed "$F" recv) |
| CPU: wgsd / wireguard-go alice / wireguard-go bob | $f_wgsd % / $f_wga % / $f_wgb % |
| busy: CPU 0 (of it interrupts) / CPU 1 (of it interrupts) | $(kmed "$F" cpu0) % ($(kmed "$F" si0) %) / $f_cpu1 % ($(kmed "$F" si1) %) |
| UDP receive-buffer drops per second: registry / bob | $f_drop / $(kmed "$F" drop_bob) |

Limit: $limit

$cross

## DNS while relaying

dnsperf (SRV of alice's and bob's instances, \`-c 8 -q 256 -T 1 -t 2\` as in run.sh, ${DURATION}s)
on CPU 1 at nice $LOAD_NICE from the public segment, at the registry's public address (plain UDP: a
second \`listen\` and \`access = any\`), alone and during the flood above, alternating; wgsd
answers and relays in one event loop on CPU 0. During the flood dnsperf shares CPU 1 with the
flood's iperf3 (same nice level) and the tunnel's wireguard-go (before them): the flood keeps its
rate, and dnsperf gets what CPU 1 has left. No target is set for it (README: 100,000
queries a second from one core).

| measure | no relay load | during the flood |
| --- | --- | --- |
| queries per second | $qps_i | $qps_f ($qratio x) |
| queries lost (of the run) | $(kmed "$D" lost idle) | $(kmed "$D" lost flood) |
| average latency | $(kmed "$D" avg_ms idle 3) ms | $(kmed "$D" avg_ms flood 3) ms |
| datagrams relayed per second during the run | $(kmed "$D" fwd idle) | $(kmed "$D" fwd flood) |
| CPU: wgsd / dnsperf | $(kmed "$D" wgsd idle) % / $(kmed "$D" dnsperf idle) % | $(kmed "$D" wgsd flood) % / $(kmed "$D" dnsperf flood) % |
| busy: CPU 0 (of it interrupts) / CPU 1 (of it interrupts) | $(kmed "$D" cpu0 idle) % ($(kmed "$D" si0 idle) %) / $(kmed "$D" cpu1 idle) % ($(kmed "$D" si1 idle) %) | $(kmed "$D" cpu0 flood) % ($(kmed "$D" si0 flood) %) / $(kmed "$D" cpu1 flood) % ($(kmed "$D" si1 flood) %) |

$dns_limit

Every run (rates per second, CPU in % of one core; "rate": the floods of the packet rate part,
"idle" and "flood": the dnsperf runs):

\`\`\`
$(sed 's/^/rate /' "$F")
$(cat "$D")
\`\`\`
MD
cat "$OUT"
