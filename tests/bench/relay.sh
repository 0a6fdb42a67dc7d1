#!/bin/bash
# SPDX-License-Identifier: MIT
# Relay benchmark (issue 17): in the NAT lab (two cone NATs, so that the
# direct tunnel works too), the same wireguard-go pair measured direct and
# through the registry's relay, alternating, several rounds: iperf3 TCP
# throughput over the tunnel and ping round-trip times. Then the pair's
# WireGuard sockets are handed to bench-relay-load.c (the allocation learnt
# both sides from real handshakes; the generator sends from alice's former
# address and port, the same 5-tuple through NAT A, and a sink counts on bob's
# port), and with wgsd pinned to CPU 0 and the load on CPU 1: the relay's
# maximum packet rate on one core (unlimited generator, small and large
# datagrams), and dnsperf against the registry alone and while the generator
# relays at fixed fractions of that maximum, alternating. Writes
# tests/bench/RESULTS-relay.md and prints it.
#
# Usage (as root):  tests/bench/relay.sh [options]
#   --duration S   seconds per iperf3, generator and dnsperf run (default 5)
#   --rounds R     rounds of each comparison (default 3); medians reported
#   --sizes "L.."  datagram sizes (bytes of UDP payload, 32-1472) of the
#                  maximum-rate runs (default "64 1400"); the first is the
#                  size of the DNS-while-relaying runs
#   --fractions "P.."  relay rates of the DNS runs, in % of the maximum rate
#                  of the first size (default "25 50 75 100")
#   --load-nice N  nice level of dnsperf on CPU 1 (default 10: the generator
#                  and the sink, at 0, come first, so that the relay gets the
#                  rate asked for and dnsperf what CPU 1 has left)
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
SIZES="64 1400"
FRACTIONS="25 50 75 100"
LOAD_NICE=10
BUILD=$SRC/build-bench
OUT=$HERE/RESULTS-relay.md
CMDLINE="tests/bench/relay.sh${*:+ $*}"
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--sizes) SIZES=$2; shift ;;
	--fractions) FRACTIONS=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--load-nice) LOAD_NICE=$2; shift ;;
	*) sed -n '16,30p' "$0"; exit 2 ;;
	esac
	shift
done
[ "$DURATION" -ge 3 ] || { echo "relay.sh: --duration must be at least 3" >&2; exit 2; }
for n in $SIZES; do
	[ "$n" -ge 32 ] && [ "$n" -le 1472 ] || { echo "relay.sh: --sizes: $n is not in 32-1472" >&2; exit 2; }
done
for n in $FRACTIONS; do
	[ "$n" -ge 1 ] && [ "$n" -le 100 ] || { echo "relay.sh: --fractions: $n is not in 1-100" >&2; exit 2; }
done
[ -n "$SIZES" ] && [ -n "$FRACTIONS" ] || { echo "relay.sh: --sizes and --fractions need a value" >&2; exit 2; }
LEN=${SIZES%% *}
for prog in iperf3 dnsperf taskset; do
	command -v "$prog" >/dev/null || { echo "relay.sh: $prog is missing (tests/deps.sh)" >&2; exit 1; }
done
# Before this script pins itself to CPU 1 (nproc counts the CPUs it may use).
NCPU=$(nproc)
[ "$NCPU" -ge 2 ] || { echo "relay.sh: needs 2 CPUs (wgsd on one, the load on the other)" >&2; exit 1; }
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$SRC" --buildtype=release >/dev/null
fi
ninja -C "$BUILD" >/dev/null
# The load generator (plain libc, not part of meson: never built for tests).
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$HERE/bench-relay-load.c" -o "$BUILD/bench-relay-load" ||
	{ echo "relay.sh: building bench-relay-load failed" >&2; exit 1; }
LOAD=$BUILD/bench-relay-load
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


# From here on the pair stays relayed, and its WireGuard sockets are handed to bench-relay-load:
# alice's and bob's wireguard-go go (the tunnel ends), the generator binds alice's former address
# and port in alice's namespace and sends to alice's relay port (the same 5-tuple through NAT A,
# whose conntrack entry, refreshed by the tunnel's traffic until a moment ago, still maps it to the
# public address and port the allocation learnt from alice's verified handshake), and the sink binds
# bob's port in bob's namespace (NAT B's entry maps the relay's datagrams to it as before). The
# relay forwards them as transport data from alice's confirmed address to bob's: it cannot tell.
use_path relay
kill "$IPERF_SERVER" 2>/dev/null
wait "$IPERF_SERVER" 2>/dev/null || true
LAB_BG=${LAB_BG/ $IPERF_SERVER/}

# The address relay port side of peer node $1 has learnt ("None" when none).
learnt()
{
	lab_status reg "[x['address'] for a in s['registry']['relay']['list'] for x in a['sides'] if x['public_key'] == '${LAB_KEY[$1]}'][0]"
}

# The public address:port NAT $1 maps host $2's WireGuard port to, towards relay port $3.
nat_map()
{
	lab_in "$1" conntrack -L -p udp -s "${LAB_LAN4[$2]}" --sport "$LAB_PORT" -d "${LAB_PUB4[reg]}" --dport "$3" 2>/dev/null |
		sed -n 's/.* src=[^ ]* dst=\([^ ]*\) sport=[0-9]* dport=\([0-9]*\).*/\1:\2/p' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

learnt_a=$(learnt alice) learnt_b=$(learnt bob)
map_a=$(nat_map nata alice "$relay_a") map_b=$(nat_map natb bob "$relay_b")
echo "learnt by the relay: alice $learnt_a (NAT A maps $map_a), bob $learnt_b (NAT B maps $map_b)"
[ "$learnt_a" = "$map_a" ] && [ "$learnt_b" = "$map_b" ] ||
	lab_fail "the relay's learnt addresses ($learnt_a, $learnt_b) are not the NATs' mappings ($map_a, $map_b)"

for node in alice bob; do
	ip -n "${LAB_NS[$node]}" link del "${LAB_DEV[$node]}" || lab_fail "delete ${LAB_DEV[$node]} on $node"
	lab_reap "${LAB_WGPID[$node]}" || lab_fail "wireguard-go on $node did not exit"
	unset "LAB_WGPID[$node]"
done

# wgsd has CPU 0 and everything else the lab started has CPU 1: the registry's wireguard-go (idle
# now), the sink, the generator and dnsperf. (The kernel's share of a datagram runs on the CPU that
# sends it: the generator's sends through NAT A up to the relay's socket run on CPU 1, the relay's
# sends through NAT B up to the sink's socket on CPU 0, as wgsd's system time or interrupt time.)
taskset -a -p -c 0 "${LAB_PID[reg]}" >/dev/null
# At nice -10, so that other users' processes on this shared machine take less of wgsd's core.
for task in /proc/"${LAB_PID[reg]}"/task/*; do
	renice -n -10 -p "${task##*/}" >/dev/null
done
taskset -a -p -c 1 "${LAB_WGPID[reg]}" >/dev/null
# This script too, and so everything it starts from here on (wgsdctl, python3, awk for the
# snapshots): CPU 0 is wgsd's.
taskset -p -c 1 $$ >/dev/null
# With autogroup scheduling a nice level counts only within a session: the benchmark's session
# (wgsd, the generator, dnsperf, this script) at -10 against other users' sessions.
AUTOGROUP="not available"
if [ -w "/proc/${LAB_PID[reg]}/autogroup" ] && echo -10 >"/proc/${LAB_PID[reg]}/autogroup" 2>/dev/null; then
	AUTOGROUP=$(cat "/proc/${LAB_PID[reg]}/autogroup")
fi

lab_bg bob "$LAB_RUN/sink.log" taskset -c 1 "$LOAD" sink "${LAB_LAN4[bob]}:$LAB_PORT"
SINK=$LAB_BGPID
LAB_BG="$LAB_BG $SINK"
# Bound (after its signal handlers are set): ready for reports.
sink_bound()
{
	lab_in bob ss -Hlun "sport = :$LAB_PORT" | grep -q .
}
lab_wait 5 sink_bound || lab_fail "bench-relay-load sink did not bind ${LAB_LAN4[bob]}:$LAB_PORT"
GEN=

# Start the generator: $1 datagrams a second (0: unlimited) of $2 bytes, until gen_stop (at most
# $3 seconds), from alice's former WireGuard address and port to alice's relay port, on CPU 1 at
# nice 0, with UDP segmentation offload (the datagrams cross NAT A in buffers of up to 64 and are
# split where the relay's socket receives them: cheap for CPU 1). GEN is its PID, GEN_LOG its output.
gen_start()
{
	GEN_LOG=$LAB_RUN/gen-$((++GEN_RUNS)).log
	lab_bg alice "$GEN_LOG" taskset -c 1 "$LOAD" send -g -r "$1" -l "$2" -t "$3" \
		"${LAB_LAN4[alice]}:$LAB_PORT" "${LAB_PUB4[reg]}:$relay_a"
	GEN=$LAB_BGPID
	LAB_BG="$LAB_BG $GEN"
	# Its signal handlers are set before it binds: reports are safe once it has.
	lab_wait 5 gen_bound || lab_fail "bench-relay-load send did not bind ${LAB_LAN4[alice]}:$LAB_PORT"
}
GEN_RUNS=0

# True when the generator has bound alice's port.
gen_bound()
{
	lab_running "$GEN" || lab_fail "bench-relay-load send exited (see $GEN_LOG)"
	lab_in alice ss -Hun "sport = :$LAB_PORT" | grep -q .
}

# Stop the generator (SIGTERM: it reports and exits 0).
gen_stop()
{
	kill "$GEN" 2>/dev/null
	wait "$GEN" || lab_fail "bench-relay-load send failed (see $GEN_LOG)"
	grep -q "at=end" "$GEN_LOG" || lab_fail "bench-relay-load send did not end normally (see $GEN_LOG)"
	LAB_BG=${LAB_BG/ $GEN/}
	GEN=
}

# Ask bench-relay-load $1 (output file $2) for a report; prints its ms and datagram count ("0 0"
# without $1).
load_report()
{
	local n

	[ -n "$1" ] || { echo "0 0"; return; }
	n=$(wc -l <"$2")
	kill -USR1 "$1"
	for _ in $(seq 200); do
		[ "$(wc -l <"$2")" -gt "$n" ] && break
		sleep 0.01
	done
	[ "$(wc -l <"$2")" -gt "$n" ] || lab_fail "no report from bench-relay-load (see $2)"
	tail -n 1 "$2" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["ms"], (v["mode"] == "send" ? v["sent"] : v["received"]) }'
}

# CPU seconds of process $1, 0 without $1.
proc_cpu0()
{
	if [ -n "$1" ]; then proc_cpu "$1"; else echo 0; fi
}

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

# One line of counters for snap_delta: ms; relayed datagrams (all, from alice's side, from bob's
# side); CPU seconds of wgsd, the generator and the sink; busy, total and interrupt jiffies of CPU 0
# and 1; UDP receive-buffer drops on the registry and on bob; the relay's send errors and
# unverified-source drops; the generator's ms and datagrams sent; the sink's ms and datagrams
# received.
snap()
{
	local m

	m=$(lab_ctl reg metrics)
	echo "$(lab_now_ms)" \
		"$(awk -v ka="${LAB_KEY[alice]}" -v kb="${LAB_KEY[bob]}" '
			$1 == "wgsd_relay_forwarded_packets_total" { fwd = $2 }
			index($1, "wgsd_relay_allocation_packets_total{peer=\"" ka "\"") == 1 { a += $2 }
			index($1, "wgsd_relay_allocation_packets_total{peer=\"" kb "\"") == 1 { b += $2 }
			$1 == "wgsd_relay_send_errors_total" { se = $2 }
			$1 == "wgsd_relay_dropped_total{reason=\"unverified_source\"}" { uv = $2 }
			END { printf "%.0f %.0f %.0f %.0f %.0f", fwd, a, b, se, uv }' <<<"$m")" \
		"$(wgsd_cpu) $(proc_cpu0 "$GEN") $(proc_cpu0 "$SINK")" \
		"$(cpu_jiffies 0) $(cpu_jiffies 1) $(rcvbuf_errors reg) $(rcvbuf_errors bob)" \
		"$(load_report "$GEN" "${GEN_LOG:-}") $(load_report "$SINK" "$LAB_RUN/sink.log")"
}

# Rates between two snap lines ($1, $2) as key=value words: relayed datagrams per second (all, from
# alice, from bob), per CPU-second of wgsd, CPU % of wgsd, the generator and the sink, busy and
# interrupt % of CPU 0 and 1, receive-buffer drops per second on the registry and on bob, the
# relay's send errors and unverified-source drops per second, and the generator's sent and the
# sink's received datagrams per second (each over its own clock).
snap_delta()
{
	python3 -c '
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
d = [y - x for x, y in zip(a, b)]
dt = d[0] / 1000
pct = lambda x, t: 100 * x / t if t else 0
rate = lambda n, ms: 1000 * n / ms if ms > 0 else 0
print("fwd=%.0f from_a=%.0f from_b=%.0f per_cpu=%s wgsd=%.0f gen=%.0f sink=%.0f cpu0=%.0f si0=%.0f cpu1=%.0f si1=%.0f "
      "drop_reg=%.0f drop_bob=%.0f send_err=%.0f unverified=%.0f sent=%.0f recv=%.0f" % (
    d[1] / dt, d[2] / dt, d[3] / dt, "%.0f" % (d[1] / d[6]) if d[6] > 0 else "n/a",
    100 * d[6] / dt, 100 * d[7] / dt, 100 * d[8] / dt,
    pct(d[9], d[10]), pct(d[11], d[10]), pct(d[12], d[13]), pct(d[14], d[13]),
    d[15] / dt, d[16] / dt, d[4] / dt, d[5] / dt, rate(d[18], d[17]), rate(d[20], d[19])))
' "$1" "$2"
}

# Check that the relay forwards the generator's datagrams: 2 s at 2,000 a second, counted in
# totals from before it starts to after it ends; the relay must have forwarded from alice's side,
# and the sink received, at least 99 % of those sent, and no datagram may have been dropped as
# from an unverified source.
s0=$(snap)
gen_start 2000 "$LEN" 60
sleep 2
gen_stop
sleep 0.5
s1=$(snap)
check_sent=$(awk '/at=end/ { for (i = 1; i <= NF; i++) if ($i ~ /^sent=/) print substr($i, 6) }' "$GEN_LOG")
read -r check_fwd check_recv check_unverified < <(python3 -c '
import sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
print("%.0f %.0f %.0f" % (b[2] - a[2], b[20] - a[20], b[5] - a[5]))' "$s0" "$s1")
echo "check: sent $check_sent, relayed from alice's side $check_fwd, sink received $check_recv, unverified $check_unverified"
if ! python3 -c 'import sys; s, f, r, u = map(float, sys.argv[1:]); sys.exit(0 if s >= 1000 and f >= 0.99 * s and r >= 0.99 * s and u == 0 else 1)' \
	"${check_sent:-0}" "$check_fwd" "$check_recv" "$check_unverified"; then
	lab_in nata conntrack -L -p udp >&2
	lab_ctl reg status >&2
	lab_fail "the relay does not forward the generator's datagrams to the sink"
fi

# Step 1: the relay's maximum rate on one core: the generator unlimited (as fast as CPU 1 sends),
# each size per round (order alternating), DURATION seconds, measured over the middle DURATION - 2
# (its time limit only a safety net: the second snapshot stops it).
: >"$LAB_RUN/rate"
for round in $(seq "$ROUNDS"); do
	order=$SIZES
	[ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$SIZES" | tac | tr '\n' ' ')
	for size in $order; do
		gen_start 0 "$size" $((DURATION + 60))
		sleep 1
		s0=$(snap)
		sleep $((DURATION - 2))
		s1=$(snap)
		gen_stop
		line="size=$size $(snap_delta "$s0" "$s1")"
		echo "$line" >>"$LAB_RUN/rate"
		echo "max rate, round $round: $line"
	done
done

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

MAX=$(kmed "$LAB_RUN/rate" fwd "size=$LEN")
[ "$MAX" != n/a ] && [ "$MAX" -gt 0 ] || lab_fail "no maximum rate measured for $LEN-byte datagrams"

# Step 2: dnsperf at the registry's public address (SRV of alice's and bob's instances, with
# run.sh's options), alone and while the generator relays at each fraction of MAX, the order
# alternating by round.
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

# One dnsperf run on CPU 1 at nice $LOAD_NICE while the generator sends $1 % of MAX (0: no
# generator), round $2; appends a line of key=value words to $LAB_RUN/dns, the first word the load.
dns_run()
{
	local pct=$1 out=$LAB_RUN/dnsperf-$1-$2.txt s0 s1 t0 t1 target=0 name=idle

	if [ "$pct" != 0 ]; then
		target=$((MAX * pct / 100)) name=p$pct
		gen_start "$target" "$LEN" $((DURATION + 60))
		sleep 1
	fi
	s0=$(snap) t0=$(lab_now_ms)
	lab_in pub taskset -c 1 nice -n "$LOAD_NICE" bash -c 'out=$1; shift; dnsperf "$@" >"$out" 2>&1; rc=$?; times >"$out.times"; exit $rc' \
		sh "$out" -s "${LAB_PUB4[reg]}" -d "$LAB_RUN/queries.txt" -l "$DURATION" -c 8 -q 256 -T 1 -t 2 ||
		{ cat "$out" >&2; lab_fail "dnsperf"; }
	s1=$(snap) t1=$(lab_now_ms)
	[ "$pct" = 0 ] || gen_stop
	echo "$name target=$target $(awk '/Queries per second:/ { printf "qps=%.0f ", $4 } /Queries lost:/ { printf "lost=%s ", $3 }
		/Average Latency/ { printf "avg_ms=%.3f", $4 * 1000 }' "$out")" \
		"dnsperf=$(awk -v s="$(times_s "$out.times")" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", s * 1e5 / ms }')" \
		"$(snap_delta "$s0" "$s1")" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%s work=%s\n", $0, (v["wgsd"] > 0 ? sprintf("%.0f", (v["fwd"] + v["qps"]) * 100 / v["wgsd"]) : "n/a") }' |
		tee -a "$LAB_RUN/dns"
}
: >"$LAB_RUN/dns"
for round in $(seq "$ROUNDS"); do
	order="0 $FRACTIONS"
	[ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$order" | tac | tr '\n' ' ')
	for pct in $order; do
		dns_run "$pct" "$round"
	done
done
# The NAT mapping and the learnt address are still those of the start.
map_a_end=$(nat_map nata alice "$relay_a") learnt_a_end=$(learnt alice)
[ "$map_a_end" = "$map_a" ] && [ "$learnt_a_end" = "$learnt_a" ] ||
	lab_fail "NAT A's mapping or the relay's address for alice changed during the run ($map_a_end, $learnt_a_end)"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

median()
{
	python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"
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

R=$LAB_RUN/rate D=$LAB_RUN/dns
# Which core was full (busy >= 90 %) in the runs of file $1 whose first word is $2: "CPU 0",
# "CPU 1", "both" or "neither".
full()
{
	local c0 c1
	c0=$(kmed "$1" cpu0 "$2") c1=$(kmed "$1" cpu1 "$2")
	python3 -c 'import sys; a, b = (x != "n/a" and float(x) >= 90 for x in sys.argv[1:]); print("both" if a and b else "CPU 0" if a else "CPU 1" if b else "neither")' "$c0" "$c1"
}

# The rows of the maximum-rate table, one per size.
rate_rows()
{
	local size k
	for size in $SIZES; do
		k=size=$size
		echo "| $size | $(kmed "$R" sent "$k") | $(kmed "$R" fwd "$k") | $(kmed "$R" per_cpu "$k") | $(kmed "$R" wgsd "$k") % | $(kmed "$R" cpu0 "$k") % ($(kmed "$R" si0 "$k") %) | $(kmed "$R" gen "$k") % / $(kmed "$R" cpu1 "$k") % | $(kmed "$R" drop_reg "$k") | $(kmed "$R" send_err "$k") | $(kmed "$R" recv "$k") / $(kmed "$R" drop_bob "$k") | $(full "$R" "$k") |"
	done
}

# What limited the maximum-rate runs of size $1, in words.
rate_limit()
{
	local k=size=$1 c0 c1 drops
	c0=$(kmed "$R" cpu0 "$k") c1=$(kmed "$R" cpu1 "$k") drops=$(kmed "$R" drop_reg "$k")
	if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 90 and float(sys.argv[2]) > 0 else 1)' "$c0" "$drops"; then
		echo "- $1 bytes: wgsd's core was the limit: CPU 0 $c0 % busy (wgsd $(kmed "$R" wgsd "$k") %), the generator offered $(kmed "$R" sent "$k") a second, the relay forwarded $(kmed "$R" fwd "$k") and the rest overflowed its sockets' receive buffers (the kernel's count: $drops a second; with the generator's segmented buffers it can exceed offered minus relayed, see the runs below). (CPU 1: $c1 % busy, $(kmed "$R" si1 "$k") % of it interrupt work, the kernel splitting the generator's buffers and dropping the excess at the relay's sockets.)"
	elif python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 90 else 1)' "$c1"; then
		echo "- $1 bytes: the generator's core was the limit (CPU 1 $c1 % busy, CPU 0 $c0 %, no overflow at the relay's sockets): $(kmed "$R" fwd "$k") a second is below the relay's maximum; the datagrams per CPU-second of wgsd ($(kmed "$R" per_cpu "$k")) estimate it."
	else
		echo "- $1 bytes: neither core was full (CPU 0 $c0 %, CPU 1 $c1 %): other load on the machine limited the run; the datagrams per CPU-second of wgsd ($(kmed "$R" per_cpu "$k")) estimate the maximum."
	fi
}

# The rows of the DNS table: alone, then each fraction.
dns_rows()
{
	local name qps0 pct
	qps0=$(kmed "$D" qps idle)
	for name in idle $(for pct in $FRACTIONS; do echo "p$pct"; done); do
		if [ "$name" = idle ]; then
			echo -n "| none (DNS alone) | - "
		else
			echo -n "| ${name#p} % of $MAX | $(kmed "$D" target "$name") "
		fi
		echo "| $(kmed "$D" fwd "$name") | $(kmed "$D" qps "$name") ($(python3 -c 'import sys; a, b = sys.argv[1:]; print("%.2f" % (float(b) / float(a)) if "n/a" not in (a, b) and float(a) > 0 else "n/a")' "$qps0" "$(kmed "$D" qps "$name")") x) | $(kmed "$D" lost "$name") | $(kmed "$D" avg_ms "$name" 3) ms | $(kmed "$D" wgsd "$name") % | $(kmed "$D" cpu0 "$name") % ($(kmed "$D" si0 "$name") %) | $(kmed "$D" dnsperf "$name") % / $(kmed "$D" gen "$name") % / $(kmed "$D" cpu1 "$name") % | $(kmed "$D" drop_reg "$name") | $(kmed "$D" work "$name") | $(full "$D" "$name") |"
	done
}

# A sentence on the DNS runs at the highest fraction: the relay's share and DNS's, from the medians.
dns_summary()
{
	local top=p${FRACTIONS##* }
	python3 -c '
import sys
qi, qt, asked, fwd, c0 = sys.argv[1:6]
if "n/a" in (qi, qt, asked, fwd, c0):
    sys.exit(0)
qi, qt, asked, fwd, c0 = map(float, (qi, qt, asked, fwd, c0))
print("At %s %% of the maximum (%.0f datagrams a second asked) the relay forwarded %.0f a second (%.0f %% of those asked) "
      "and wgsd answered %.0f queries a second (%.0f %% of its rate alone), CPU 0 %.0f %% busy." % (
      sys.argv[6], asked, fwd, 100 * fwd / asked if asked else 0, qt, 100 * qt / qi if qi else 0, c0))
' "$(kmed "$D" qps idle)" "$(kmed "$D" qps "$top")" "$(kmed "$D" target "$top")" "$(kmed "$D" fwd "$top")" "$(kmed "$D" cpu0 "$top")" "${top#p}"
}

cat >"$OUT" <<MD
# Relay benchmark

\`$CMDLINE\`, $(date -u '+%Y-%m-%d %H:%M UTC'), $NCPU CPUs, load average $LOAD_START at the
start and $LOAD_END at the end (other users share this machine), wireguard-go on both peers, two
cone NATs (nftables masquerade) in network namespaces, wgsd built with buildtype=release. Medians
of $ROUNDS rounds in each comparison; the compared runs alternate.

## Relayed against direct

Nothing pinned: both peers' wireguard-go, iperf3, the NATs and the relay share the $NCPU cores.

| measure | direct | relayed | target | met |
| --- | --- | --- | --- | --- |
| iperf3 TCP throughput over the tunnel | $(python3 -c "print('%.0f' % ($td / 1e6))") Mbit/s | $(python3 -c "print('%.0f' % ($tr / 1e6))") Mbit/s ($ratio x) | >= 0.8 x direct | $ok_t |
| ping median round trip | $ld ms | $lr ms (+$added ms) | <= +0.3 ms | $ok_l |
| relay: datagrams per CPU-second of wgsd (during iperf3 TCP) | | $pps | | |

Every datagram crosses the registry's namespace twice (alice -> relay, relay -> bob): the
throughput of both paths is bounded by wireguard-go's CPU, so the ratio says more than the
numbers.

## The load for the next two parts

The relayed pair's allocation learnt both sides from real handshakes (alice's address
$learnt_a, NAT A's mapping of alice's port $LAB_PORT; bob's $learnt_b). Then alice's and bob's
wireguard-go were stopped and their sockets handed to \`bench-relay-load\` (tests/bench/bench-relay-load.c):
the generator binds alice's former address and port (${LAB_LAN4[alice]}:$LAB_PORT) and sends
WireGuard-shaped transport data (type 4, a receiver index and a counter, zero padding) to alice's
relay port at a given rate (token bucket, bursts of a millisecond's worth) or unlimited, with UDP
segmentation offload (\`-g\`: up to 64 datagrams per send cross NAT A as one buffer and are split
into separate datagrams on delivery to the relay's socket, so that the generator costs CPU 1
little per datagram and leaves it to dnsperf); NAT A's conntrack
entry for that 5-tuple, kept alive by the tunnel until then and by the generator after, maps it
to the same public address and port, so the relay forwards it as data from alice's confirmed
address; a sink on bob's former port counts what arrives through NAT B. Checked before measuring:
2 s at 2,000 a second, the generator sent $check_sent datagrams, the relay forwarded $check_fwd from
alice's side, the sink received $check_recv, none dropped as from an unverified source; after
the last run NAT A's mapping and the relay's address for alice were unchanged. No WireGuard
cryptography runs any more: the measured load is the relay's own work (receive, classify, check
the source, send, and the kernel's path through NAT B to the sink).

What ran where: wgsd pinned to CPU 0 at nice -10 (this machine is shared: other users' processes
can still run there; the benchmark's scheduler autogroup: $AUTOGROUP); on CPU 1 the generator and the sink at nice 0, dnsperf at nice $LOAD_NICE,
and the registry's own wireguard-go (idle). The kernel's work for a datagram runs on the CPU that
sends it: the generator's path through NAT A up to the relay's socket is CPU 1's, the relay's path
through NAT B up to the sink's socket is CPU 0's (charged to wgsd as system time or counted as
interrupt time). Relayed datagrams from wgsd's metrics (\`wgsd_relay_forwarded_packets_total\`),
the generator's and the sink's counts from their own reports over the same window, CPU from /proc
(each process's user + system time; each CPU's busy time with its share of interrupt work, which
includes other users' processes), UDP receive-buffer drops from /proc/net/snmp in the registry's
namespace (the relay's sockets; and the DNS socket in the next part) and in bob's (the sink's).
A core counts as full at >= 90 % busy.

## Relay packet rate on one core

The generator unlimited (\`-r 0\`: as fast as CPU 1 sends), ${DURATION}s per run, measured over the
middle $((DURATION - 2))s, each size once per round. No target is set for it.

| datagram bytes | offered /s | relayed /s | relayed per CPU-second of wgsd | wgsd CPU | CPU 0 busy (interrupts) | CPU 1: generator / busy | relay socket drops /s | relay send errors /s | sink received /s / its drops /s | full core |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(rate_rows)

$(for size in $SIZES; do rate_limit "$size"; done)

## DNS while relaying

dnsperf (SRV of alice's and bob's instances, \`-c 8 -q 256 -T 1 -t 2\` as in run.sh, ${DURATION}s)
on CPU 1 at nice $LOAD_NICE from the public segment, at the registry's public address (plain UDP: a
second \`listen\` and \`access = any\`), alone and while the generator relays $LEN-byte datagrams at
fixed rates, fractions of the maximum above ($MAX a second), in alternating order; wgsd answers and
relays in one event loop on CPU 0. The generator and the sink come first on CPU 1 (nice 0): the
generator keeps its rate; dnsperf gets what CPU 1 has left. No target is set for it (README: 100,000 queries a second from
one core).

| relay load | asked /s | relayed /s | queries /s (vs alone) | lost | avg latency | wgsd CPU | CPU 0 busy (interrupts) | CPU 1: dnsperf / generator / busy | registry socket drops /s | relayed + answered per CPU-second of wgsd | full core |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(dns_rows)

How to read it: dnsperf keeps up to 256 queries in flight and sends the next when an answer comes
back, so a busy wgsd shows as fewer queries a second and a longer latency rather than as lost
queries. While CPU 0 is not full, wgsd answers as fast as dnsperf asks and the queries a second
are dnsperf's (on CPU 1, behind the generator and the sink); once CPU 0 is full, queries and
relayed datagrams share wgsd's core: what the relay takes, DNS loses, and what DNS takes, the relay
loses (relayed below asked, the excess dropped at the relay's sockets). The "full core" column
says which core was full in each run; "relayed + answered per CPU-second of wgsd" is the loop's
whole work for its CPU time.
$(dns_summary)

Every run (rates per second, CPU in % of one core; "size=": the maximum-rate runs, "idle" and
"pN": the dnsperf runs alone and at N % of the maximum):

\`\`\`
$(cat "$R")
$(cat "$D")
\`\`\`
MD
cat "$OUT"
