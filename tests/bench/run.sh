#!/bin/bash
# SPDX-License-Identifier: MIT
# wgsd benchmarks (issue 7): the registry against NSD at 10, 1,000 and 10,000
# peers, wgsd's memory, full device reads (userspace here, kernel in a qemu
# guest), answering while a 100 ms refresh runs, the client's cycle for
# 1,000 stale peers, and a node joining a mesh of 2,000 listed peers in one
# cycle (peers = auto). Writes tests/bench/RESULTS.md and prints it.
#
# Usage (as root, from anywhere):  tests/bench/run.sh [options]
#   --peers "10 1000 10000"   peer counts of the registry comparison
#   --duration S              seconds per throughput run (default 5; latency
#                             runs take half, at least 2)
#   --rounds R                rounds per peer count (default 5): each runs both
#                             servers, order alternating; medians reported
#   --clients C --outstanding Q   dnsperf -c and -q of the throughput runs
#                             (default 8 and 256)
#   --server-cpu PCT          CPU budget of the server under test, percent of
#                             one core (default 50; 0 = no limit), so that the
#                             server and not dnsperf is the bottleneck
#   --latency-qps QPS         offered load of the latency runs (default 10000)
#   --wg-cpu N                pin wireguard-go to CPU N (default: the server's
#                             CPU, 0), e.g. 1 to take the device's work off the
#                             server's core
#   --no-kernel               skip the kernel backend read in the qemu guest
#   --no-client               skip the client benchmarks (stale peers, mesh join)
#   --build DIR               build directory (default build-bench, configured as
#                             buildtype=release and rebuilt)
#   --out FILE                results file (default tests/bench/RESULTS.md)
# Not part of `meson test`: benchmarks never assert timings in the test suite.
# The exit status is 0 when the runs completed and the wgsd/NSD answers
# matched; targets that were missed are marked in the table, not in the status.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PEER_COUNTS="10 1000 10000"
DURATION=5
ROUNDS=5
CLIENTS=8
OUTSTANDING=256
SERVER_CPU_PCT=50
LAT_QPS=10000
DO_KERNEL=1
DO_CLIENT=1
WG_CPU=
BUILD=$SRC/build-bench
OUT=$HERE/RESULTS.md
CMDLINE="tests/bench/run.sh${*:+ $*}"

while [ $# -gt 0 ]; do
	case $1 in
	--peers) PEER_COUNTS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--clients) CLIENTS=$2; shift ;;
	--outstanding) OUTSTANDING=$2; shift ;;
	--server-cpu) SERVER_CPU_PCT=$2; shift ;;
	--latency-qps) LAT_QPS=$2; shift ;;
	--wg-cpu) WG_CPU=$2; shift ;;
	--no-kernel) DO_KERNEL=0 ;;
	--no-client) DO_CLIENT=0 ;;
	--build) BUILD=$(realpath -m "$2"); shift ;;
	--out) OUT=$(realpath -m "$2"); shift ;;
	-h|--help) sed -n '3,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (namespaces, wireguard-go, NSD on port 53)" >&2; exit 1; }

S=$$
NS="wgsdb$S"
ZONE=bench.test.
WGSD_ADDR=192.0.2.53
NSD_ADDR=192.0.2.54
TMP=$(mktemp -d /tmp/wgsd-bench.XXXXXX)
PIDS=""           # every process we started, stopped at exit
DEVS=""
NAMESPACES=""
RES="$TMP/results.tsv"

CGROUPS=""       # cgroup directories we created
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# Stop what we started (by PID, resumed first in case it was paused), remove namespaces, cgroups and files.
cleanup() {
	for pid in $PIDS; do
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	for dev in $DEVS; do
		rm -f "/var/run/wireguard/$dev.sock"
	done
	for ns in $NAMESPACES; do
		ip netns del "$ns" 2>/dev/null || true
	done
	for cg in $CGROUPS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$cg" 2>/dev/null && break
			sleep 0.2
		done
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# Print a progress line on stderr.
say() {
	echo "[bench $(date +%H:%M:%S)] $*" >&2
}

# Fail the benchmark.
die() {
	echo "run.sh: FAIL: $*" >&2
	exit 1
}

# Run a command in the benchmark namespace.
in_ns() {
	ip netns exec "$NS" "$@"
}

# CPU time (clock ticks, user + system) of the given PIDs; fields after the ")" of the command name.
cpu_ticks() {
	local t=0 pid v
	for pid in "$@"; do
		v=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || v=0
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# A PID and all its descendants.
proc_tree() {
	local pid=$1 child
	echo "$pid"
	for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		proc_tree "$child"
	done
}

# A field of /proc/PID/status in KiB (VmRSS, VmHWM).
proc_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Monotonic-ish milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Wait until a command succeeds, up to $1 seconds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# True when SERVER answers SOA for the zone with NOERROR.
answers_soa() {
	in_ns dig +time=1 +tries=1 +norec "@$1" -p "${2:-53}" "$ZONE" SOA | grep -q "status: NOERROR"
}

# Build wgsd (release) and the bench tool.
build() {
	say "building $BUILD (buildtype=release)"
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" "$SRC" --buildtype=release >"$TMP/meson.log" 2>&1 || { cat "$TMP/meson.log" >&2; die "meson setup"; }
	else
		meson configure "$BUILD" -Dbuildtype=release >"$TMP/meson.log" 2>&1 || { cat "$TMP/meson.log" >&2; die "meson configure"; }
	fi
	ninja -C "$BUILD" >"$TMP/ninja.log" 2>&1 || { tail -n 30 "$TMP/ninja.log" >&2; die "build"; }
	# The bench tool links the same static library as wgsd (not part of meson: never built for tests).
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter -I"$SRC/include" -I"$BUILD" \
		"$HERE/bench-wg.c" "$BUILD/libwgsd-core.a" \
		$(pkg-config --cflags --libs libevent_core libmnl ldns inih) -o "$BUILD/bench-wg" ||
		die "building bench-wg"
	WGSD=$BUILD/wgsd
	WGSDCTL=$BUILD/wgsdctl
	BENCH_WG=$BUILD/bench-wg
}

# The machine, for the results header.
describe_machine() {
	CPU_MODEL=$(lscpu | awk -F: '/^Model name/ { sub(/^ +/, "", $2); print $2; exit }')
	NCPU=$(nproc)
	KERNEL=$(uname -r)
	DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	NSD_VERSION=$(nsd -v 2>&1 | awk '/^NSD version/ { print $3; exit }')
	DNSPERF_VERSION=$(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }')
	WGSD_REV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$SRC" status --porcelain -- src include 2>/dev/null)" ]; then
		WGSD_REV="$WGSD_REV+local changes"
	fi
	if [ "$NCPU" -ge 2 ]; then
		SERVER_CPU=0
		LOAD_CPU=1
		PIN_SERVER="taskset -c $SERVER_CPU"
		PIN_LOAD="taskset -c $LOAD_CPU"
		PIN_WG=$PIN_SERVER
		PIN_NOTE="servers and wireguard-go on CPU $SERVER_CPU, dnsperf on CPU $LOAD_CPU"
		if [ -n "$WG_CPU" ]; then
			PIN_WG="taskset -c $WG_CPU"
			PIN_NOTE="servers on CPU $SERVER_CPU, wireguard-go on CPU $WG_CPU, dnsperf on CPU $LOAD_CPU"
		fi
	else
		PIN_SERVER=""
		PIN_LOAD=""
		PIN_WG=""
		PIN_NOTE="none (one CPU)"
	fi
}

# Namespace with one veth pair: addresses for wgsd and NSD (dnsperf needs a non-loopback address).
setup_ns() {
	ip netns add "$NS"
	NAMESPACES="$NS"
	in_ns ip link set lo up
	in_ns ip link add veth0 type veth peer name veth1
	in_ns ip addr add "$WGSD_ADDR/24" dev veth0
	in_ns ip addr add "$NSD_ADDR/24" dev veth0
	in_ns ip link set veth0 up
	in_ns ip link set veth1 up
}

# Start wireguard-go as interface $1 (pinned with the server) and load $2 peers; keys in $TMP/$1.keys.
wgdev_start() {
	local dev=$1 n=$2
	python3 "$HERE/gen-peers.py" "$n" "$TMP/$dev.conf" "$TMP/$dev.keys"
	# shellcheck disable=SC2086
	ip netns exec "$NS" $PIN_WG wireguard-go -f "$dev" >"$TMP/$dev.log" 2>&1 &
	PIDS="$PIDS $!"
	DEVS="$DEVS $dev"
	eval "WGPID_$dev=$!"
	wait_for 10 test -S "/var/run/wireguard/$dev.sock" || die "wireguard-go $dev did not start"
	in_ns wg setconf "$dev" "$TMP/$dev.conf"
	in_ns ip link set "$dev" up
	[ "$(in_ns wg show "$dev" peers | wc -l)" = "$n" ] || die "$dev does not hold $n peers"
}

# Stop the wireguard-go of interface $1.
wgdev_stop() {
	local pid
	eval "pid=\$WGPID_$1"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "/var/run/wireguard/$1.sock"
}

# Write a registry config: wgsd_conf FILE DEV REFRESH
wgsd_conf() {
	cat >"$1" <<EOF
[daemon]
status-socket = $TMP/wgsd.sock

[registry]
listen = $WGSD_ADDR:53
access = any

[zone $ZONE]
device = $2
backend = userspace
refresh = $3
EOF
}

# Published entries of the running registry's zone (or nothing).
wgsd_published() {
	in_ns "$WGSDCTL" -s "$TMP/wgsd.sock" status --json 2>/dev/null | python3 -c '
import json, sys
z = json.load(sys.stdin)["registry"]["zones"][0]
print(z["peers_published"] if z["state"] == "ok" else -1)'
}

# Value of a zone field of the registry's status.
wgsd_zone_field() {
	in_ns "$WGSDCTL" -s "$TMP/wgsd.sock" status --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["registry"]["zones"][0][sys.argv[1]])' "$1"
}

# True when the registry publishes exactly $1 entries.
wgsd_publishes() {
	[ "$(wgsd_published 2>/dev/null)" = "$1" ]
}

# Start wgsd (pinned) on config $1 and wait until $2 entries are published.
wgsd_start() {
	local n=$2
	# shellcheck disable=SC2086
	ip netns exec "$NS" $PIN_SERVER "$WGSD" -c "$1" >"$TMP/wgsd.log" 2>&1 &
	WGSD_PID=$!
	PIDS="$PIDS $WGSD_PID"
	wait_for 30 wgsd_publishes "$n" || { cat "$TMP/wgsd.log" >&2; die "wgsd did not publish $n entries"; }
}

# Stop wgsd.
wgsd_stop() {
	kill -CONT "$WGSD_PID" 2>/dev/null || true
	kill "$WGSD_PID" 2>/dev/null || true
	wait "$WGSD_PID" 2>/dev/null || true
}

# Start NSD (one server process, no rate limiting, pinned) on zone file $1.
nsd_start() {
	cat >"$TMP/nsd.conf" <<EOF
server:
	server-count: 1
	ip-address: $NSD_ADDR
	port: 53
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$TMP"
	database: ""
	zonelistfile: "$TMP/nsd.zonelist"
	xfrdfile: "$TMP/nsd.xfrd"
	xfrdir: "$TMP"
	pidfile: "$TMP/nsd.pid"
	logfile: "$TMP/nsd.log"
	verbosity: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "$ZONE"
	zonefile: "$1"
EOF
	nsd-checkconf "$TMP/nsd.conf" || die "nsd.conf"
	# shellcheck disable=SC2086
	ip netns exec "$NS" $PIN_SERVER nsd -d -c "$TMP/nsd.conf" >"$TMP/nsd.out" 2>&1 &
	NSD_PID=$!
	PIDS="$PIDS $NSD_PID"
	wait_for 120 answers_soa "$NSD_ADDR" || { cat "$TMP/nsd.out" "$TMP/nsd.log" >&2; die "NSD did not load the zone"; }
	PIDS="$PIDS $(proc_tree "$NSD_PID" | tr '\n' ' ')"
}

# Stop NSD.
nsd_stop() {
	local p tree
	tree=$(proc_tree "$NSD_PID")
	for p in $tree; do kill -CONT "$p" 2>/dev/null || true; done
	for p in $tree; do kill "$p" 2>/dev/null || true; done
	wait "$NSD_PID" 2>/dev/null || true
	for p in $tree; do
		wait_for 10 sh -c "! kill -0 $p" || true
	done
}

# Pause (STOP) or resume (CONT) every process of a server so only one server runs at a time.
server_signal() {
	local sig=$1 p
	shift
	for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
}

# cgroup v1 cpu and cpuacct hierarchies, when mounted: a CPU budget for the server under test and
# exact CPU accounting. Sets CG_CPU and CG_ACCT (empty when unavailable).
cg_init() {
	CG_CPU=""
	CG_ACCT=""
	if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
		CG_CPU=/sys/fs/cgroup/cpu
		CG_ACCT=/sys/fs/cgroup/cpuacct
	fi
}

# Create group $1 (in both hierarchies) with a CPU budget of $2 percent of one core (0: none).
cg_new() {
	[ -n "$CG_CPU" ] || return 0
	local d
	for d in "$CG_CPU/wgsdb$S-$1" "$CG_ACCT/wgsdb$S-$1"; do
		if [ ! -d "$d" ]; then
			mkdir "$d"
			CGROUPS="$d $CGROUPS"
		fi
	done
	if [ "$2" -gt 0 ]; then
		echo 10000 >"$CG_CPU/wgsdb$S-$1/cpu.cfs_period_us"
		echo $((100 * $2)) >"$CG_CPU/wgsdb$S-$1/cpu.cfs_quota_us"
	fi
}

# Move processes (with their threads) into group $1.
cg_add() {
	[ -n "$CG_CPU" ] || return 0
	local g=$1 p
	shift
	for p in "$@"; do
		echo "$p" >"$CG_CPU/wgsdb$S-$g/cgroup.procs" 2>/dev/null || true
		[ "$CG_ACCT" = "$CG_CPU" ] || echo "$p" >"$CG_ACCT/wgsdb$S-$g/cgroup.procs" 2>/dev/null || true
	done
}

# Periods in which group $1 was throttled by its CPU quota so far ("-" without cgroups).
cg_throttled() {
	if [ -n "$CG_CPU" ]; then awk '$1 == "nr_throttled" { print $2 }' "$CG_CPU/wgsdb$S-$1/cpu.stat"; else echo -; fi
}

# CPU time of group $1 in nanoseconds (0 without cgroups).
cg_usage() {
	if [ -n "$CG_ACCT" ]; then cat "$CG_ACCT/wgsdb$S-$1/cpuacct.usage"; else echo 0; fi
}

# Seconds of user + system time of the children of a shell, from the second line of `times`.
times_s() {
	sed -n 2p "$1" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
		printf "%.3f", t }'
}

# One dnsperf run: perf_run N NAME ADDR ROUND MODE CGROUP PIDS_TO_RESUME...
# MODE tput: as fast as the server answers (-c CLIENTS -q OUTSTANDING); lat: fixed offered load
# (-Q LAT_QPS) with per-query latencies (-v). Appends a line to $RES:
# n name round mode qps sent lost avg_ms p99_ms server_cpu_pct dnsperf_cpu_pct tries throttled_periods
perf_run() {
	local n=$1 name=$2 addr=$3 round=$4 mode=$5 cg=$6 out args dur t0 t1 c0 c1
	shift 6
	out="$TMP/dnsperf-$n-$name-$round-$mode.txt"
	if [ "$mode" = tput ]; then
		args="-c $CLIENTS -q $OUTSTANDING"
		dur=$DURATION
	else
		args="-c $CLIENTS -q $OUTSTANDING -Q $LAT_QPS -v"
		dur=$LAT_DURATION
	fi
	local try lost_before=0 qps sent lost lat avg p99 scpu lcpu th0 th1 thr
	for try in 1 2 3; do
		server_signal CONT "$@"
		sleep 0.3
		c0=$(cg_usage "$cg")
		th0=$(cg_throttled "$cg")
		t0=$(now_ms)
		# dnsperf's own CPU time comes from `times` in the shell that ran it.
		# shellcheck disable=SC2086
		in_ns $PIN_LOAD bash -c 'out=$1; shift; dnsperf "$@" >"$out" 2>&1; rc=$?; times >"$out.times"; exit $rc' \
			sh "$out" -s "$addr" -d "$TMP/queries-$n.txt" -l "$dur" $args -T 1 -t 2 ||
			{ cat "$out" >&2; die "dnsperf against $name"; }
		t1=$(now_ms)
		c1=$(cg_usage "$cg")
		th1=$(cg_throttled "$cg")
		server_signal STOP "$@"
		qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
		sent=$(awk '/Queries sent:/ { print $3 }' "$out")
		lost=$(awk '/Queries lost:/ { print $3 }' "$out")
		scpu=$(awk -v c=$((c1 - c0)) -v ms=$((t1 - t0)) 'BEGIN { if (c > 0) printf "%.0f", c / 1e4 / ms; else print "-" }')
		lcpu=$(awk -v s="$(times_s "$out.times")" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", s * 1e5 / ms }')
		# A throughput run in which neither the server (under its budget) nor dnsperf was busy was
		# starved by other work on the machine: repeat it (same rule for both servers; its lost
		# queries still count).
		if [ "$mode" = tput ] && [ "$try" -lt 3 ] && [ "$scpu" != - ] && [ "$SERVER_CPU_PCT" -gt 0 ] &&
			[ "$scpu" -lt $((SERVER_CPU_PCT * 8 / 10)) ] && [ "$lcpu" -lt 80 ]; then
			say "  N=$n $name $mode #$round: $qps qps with server CPU $scpu %, dnsperf $lcpu %: starved by other load, repeating"
			lost_before=$((lost_before + lost))
			continue
		fi
		break
	done
	lost=$((lost + lost_before))
	if [ "$mode" = lat ]; then
		lat=$(python3 "$HERE/dnscheck.py" latency "$out")
		avg=$(echo "$lat" | cut -d' ' -f2)
		p99=$(echo "$lat" | cut -d' ' -f4)
	else
		avg=$(awk '/Average Latency/ { printf "%.3f", $4 * 1000 }' "$out")
		p99=-
	fi
	thr=-
	[ "$th0" != - ] && [ -n "$th1" ] && thr=$((th1 - th0))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$name" "$round" "$mode" "$qps" "$sent" "$lost" \
		"$avg" "$p99" "$scpu" "$lcpu" "$try" "$thr" >>"$RES"
	say "  N=$n $name $mode #$round: $qps qps, lost $lost, avg $avg ms, p99 $p99 ms, CPU server $scpu % dnsperf $lcpu %"
	rm -f "$out" "$out.times"
}

# Both runs (throughput, latency) of one server in one round.
perf_pair() {
	local n=$1 name=$2 addr=$3 round=$4 cg=$5
	shift 5
	perf_run "$n" "$name" "$addr" "$round" tput "$cg" "$@"
	perf_run "$n" "$name" "$addr" "$round" lat "$cg" "$@"
}

# Registry vs NSD at N peers; RSS and (for the largest N) the 100 ms refresh run and device reads.
bench_registry() {
	local n=$1 dev="wgb${S}n$2" wg_pid nsd_pids r
	say "N=$n: device $dev"
	wgdev_start "$dev" "$n"
	eval "wg_pid=\$WGPID_$dev"
	cg_add wg "$wg_pid"
	if [ "$n" = "$MAX_N" ]; then
		# First, on the freshly loaded device: after the query rounds wireguard-go's garbage collector
		# still works off hundreds of 3.5 MB dumps, and its read times spread from 33 to 50 ms.
		say "N=$n: full device reads (userspace backend)"
		# wireguard-go stays on the server CPU; the reader runs on the other one, as the daemon and
		# wireguard-go would on separate cores (no dnsperf runs now).
		# shellcheck disable=SC2086
		in_ns $PIN_LOAD "$BENCH_WG" read -b userspace -n 20 "$dev" >"$TMP/read-userspace.txt" || die "bench-wg read"
		cat "$TMP/read-userspace.txt" >&2
		# The device's share: the same reply received and discarded, nothing parsed.
		# shellcheck disable=SC2086
		in_ns $PIN_LOAD "$BENCH_WG" rawread -n 20 "$dev" >"$TMP/rawread-userspace.txt" || die "bench-wg rawread"
		cat "$TMP/rawread-userspace.txt" >&2
	fi
	wgsd_conf "$TMP/wgsd.conf" "$dev" 1s
	wgsd_start "$TMP/wgsd.conf" "$n"
	cg_add wgsd "$WGSD_PID"
	say "N=$n: zone file from wgsd's answers"
	in_ns python3 "$HERE/dnscheck.py" zone "$WGSD_ADDR" 53 "$ZONE" "$TMP/$dev.keys" "$TMP/bench-$n.zone" >&2 ||
		die "zone file from wgsd's answers"
	nsd_start "bench-$n.zone"
	nsd_pids=$(proc_tree "$NSD_PID" | tr '\n' ' ')
	# shellcheck disable=SC2086
	cg_add nsd $nsd_pids
	say "N=$n: comparing answers"
	in_ns python3 "$HERE/dnscheck.py" compare "$WGSD_ADDR" 53 "$NSD_ADDR" 53 "$ZONE" "$TMP/$dev.keys" 100 >"$TMP/compare.txt" ||
		{ cat "$TMP/compare.txt" >&2; die "wgsd and NSD answer differently at N=$n"; }
	COMPARE_NOTE="$COMPARE_NOTE N=$n: $(sed 's/^compare: //' "$TMP/compare.txt");"
	python3 "$HERE/dnscheck.py" queries "$ZONE" "$TMP/$dev.keys" 200000 "$TMP/queries-$n.txt"

	# One server runs at a time: the other is paused (SIGSTOP), so neither competes with the other.
	# shellcheck disable=SC2086
	server_signal STOP $nsd_pids
	server_signal STOP "$WGSD_PID"
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			perf_pair "$n" wgsd "$WGSD_ADDR" "$r" wgsd "$WGSD_PID"
			# shellcheck disable=SC2086
			perf_pair "$n" nsd "$NSD_ADDR" "$r" nsd $nsd_pids
		else
			# shellcheck disable=SC2086
			perf_pair "$n" nsd "$NSD_ADDR" "$r" nsd $nsd_pids
			perf_pair "$n" wgsd "$WGSD_ADDR" "$r" wgsd "$WGSD_PID"
		fi
	done
	server_signal CONT "$WGSD_PID"
	sleep 1.5   # at least one refresh after resuming
	printf '%s\t%s\t%s\t%s\n' "$n" "$(proc_kib "$WGSD_PID" VmRSS)" "$(proc_kib "$WGSD_PID" VmHWM)" \
		"$(proc_kib "$(proc_tree "$NSD_PID" | tail -n 1)" VmRSS)" >>"$TMP/rss.tsv"
	nsd_stop
	wgsd_stop

	if [ "$n" = "$MAX_N" ]; then
		say "N=$n: answering while refresh = 100ms"
		wgsd_conf "$TMP/wgsd.conf" "$dev" 100ms
		wgsd_start "$TMP/wgsd.conf" "$n"
		cg_add wgsd "$WGSD_PID"
		local reads0 reads1 w0 w1 t0 t1
		for r in $(seq 1 "$ROUNDS"); do
			reads0=$(wgsd_zone_field reads)
			w0=$(cg_usage wg)
			t0=$(now_ms)
			server_signal STOP "$WGSD_PID"
			perf_pair "$n" wgsd-refresh-100ms "$WGSD_ADDR" "$r" wgsd "$WGSD_PID"
			server_signal CONT "$WGSD_PID"
			reads1=$(wgsd_zone_field reads)
			w1=$(cg_usage wg)
			t1=$(now_ms)
			echo "$((reads1 - reads0)) $(awk -v c=$((w1 - w0)) -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", c / 1e4 / ms }')" \
				>>"$TMP/refresh-reads.txt"
		done
		wgsd_stop
	fi
	wgdev_stop "$dev"
}

# Kernel backend: one full read of 10,000 peers inside the qemu guest (TCG: emulated CPU).
bench_kernel() {
	say "kernel backend in the qemu guest (tests/kernel/qemu-run.sh)"
	# The guest sees the host's / but not its /tmp: the peer list goes to the build directory.
	python3 "$HERE/gen-peers.py" "$MAX_N" "$BUILD/bench-kernel-peers.conf" /dev/null
	if WGSD_BENCH_WG="$BENCH_WG" WGSD_BENCH_CONF="$BUILD/bench-kernel-peers.conf" \
		"$SRC/tests/kernel/qemu-run.sh" --timeout 300 "$HERE/kernel-read.sh" >"$TMP/kernel.txt" 2>&1; then
		KERNEL_READ=$(grep '^backend=kernel' "$TMP/kernel.txt" | tail -n 1)
		KERNEL_REPLAY_GUEST=$(grep '^replay ' "$TMP/kernel.txt" | tail -n 1)
		# The same dump parsed on the host's CPU (the load CPU: no server runs now).
		grep '^nl ' "$TMP/kernel.txt" >"$TMP/kernel-capture.txt" || true
		# shellcheck disable=SC2086
		KERNEL_REPLAY_HOST=$($PIN_LOAD "$BENCH_WG" replay -n 20 "$TMP/kernel-capture.txt" || true)
	else
		KERNEL_READ=""
		KERNEL_NOTE="qemu guest failed: $(tail -n 3 "$TMP/kernel.txt" | tr '\n' ' ')"
	fi
	rm -f "$BUILD/bench-kernel-peers.conf"
}

# Client: one resolve-and-set cycle for 1,000 stale peers against a registry in another namespace.
bench_client() {
	local n=1000 nr="wgsdr$S" na="wgsda$S" devr="wgb${S}r" deva="wgb${S}a"
	say "client: $n stale peers"
	ip netns add "$nr"
	NAMESPACES="$NAMESPACES $nr"
	ip netns add "$na"
	NAMESPACES="$NAMESPACES $na"
	ip link add "vr$S" netns "$nr" type veth peer name "va$S" netns "$na"
	ip -n "$nr" link set lo up
	ip -n "$na" link set lo up
	ip -n "$nr" addr add 198.51.100.1/24 dev "vr$S"
	ip -n "$na" addr add 198.51.100.2/24 dev "va$S"
	ip -n "$nr" link set "vr$S" up
	ip -n "$na" link set "va$S" up
	python3 "$HERE/gen-peers.py" "$n" "$TMP/client-reg.conf" "$TMP/client.keys"
	# The client's device: the same peers without endpoints (stale: never a handshake).
	grep -v '^Endpoint' "$TMP/client-reg.conf" | sed '/^ListenPort/d' >"$TMP/client-dev.conf"
	ip netns exec "$nr" wireguard-go -f "$devr" >"$TMP/$devr.log" 2>&1 &
	PIDS="$PIDS $!"
	DEVS="$DEVS $devr"
	ip netns exec "$na" wireguard-go -f "$deva" >"$TMP/$deva.log" 2>&1 &
	PIDS="$PIDS $!"
	DEVS="$DEVS $deva"
	wait_for 10 test -S "/var/run/wireguard/$devr.sock" || die "wireguard-go $devr"
	wait_for 10 test -S "/var/run/wireguard/$deva.sock" || die "wireguard-go $deva"
	ip netns exec "$nr" wg setconf "$devr" "$TMP/client-reg.conf"
	ip netns exec "$nr" ip link set "$devr" up
	cat >"$TMP/reg.conf" <<EOF
[daemon]
status-socket = $TMP/reg.sock
[registry]
listen = 198.51.100.1:53
access = any
[zone $ZONE]
device = $devr
backend = userspace
EOF
	ip netns exec "$nr" "$WGSD" -c "$TMP/reg.conf" >"$TMP/reg.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 30 sh -c "ip netns exec $na dig +time=1 +tries=1 @198.51.100.1 $ZONE SOA | grep -q NOERROR" ||
		die "client registry not answering"
	cat >"$TMP/client.conf" <<EOF
[daemon]
status-socket = $TMP/client.sock
[client $deva]
backend = userspace
registry = 198.51.100.1:53
zone = $ZONE
interval = 1h
EOF
	local r pid st
	for r in $(seq 1 "$ROUNDS"); do
		# Fresh stale peers each round: the device loses every endpoint.
		ip netns exec "$na" wg setconf "$deva" "$TMP/client-dev.conf"
		[ -z "$(ip netns exec "$na" wg show "$deva" endpoints | awk '$2 != "(none)"')" ] || die "client peers not stale"
		ip netns exec "$na" "$WGSD" -c "$TMP/client.conf" >"$TMP/client.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		wait_for 60 sh -c "ip netns exec $na $WGSDCTL -s $TMP/client.sock status --json | grep -q '\"cycles\":1'" ||
			{ cat "$TMP/client.log" >&2; die "client cycle did not finish"; }
		st=$(ip netns exec "$na" "$WGSDCTL" -s "$TMP/client.sock" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["client"]["devices"][0]["last_cycle"]
print(d["duration_ms"], d["candidates"], d["updated"])')
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		local set_ok
		set_ok=$(ip netns exec "$na" wg show "$deva" endpoints | awk '$2 != "(none)"' | wc -l)
		echo "$st $set_ok" >>"$TMP/client.txt"
		say "  client round $r: duration_ms candidates updated = $st, endpoints on the device: $set_ok"
	done
	say "client: raw endpoint writes (bench-wg set, 1,000 updates)"
	ip netns exec "$na" "$BENCH_WG" set -b userspace -i 256 "$deva" "$TMP/client.keys" >"$TMP/client-set.txt" ||
		die "bench-wg set"
	cat "$TMP/client-set.txt" >&2
}

# A node joins a mesh of 2,000 listed peers in one cycle (peers = auto). One registry's listing
# holds about 920 peers (one DNS message), so three registries list a third each.
bench_join() {
	local n=2000 parts=3 nr="wgsdjr$S" na="wgsdja$S" deva="wgj${S}a" i r pid st
	local addrs=(198.51.100.1 198.51.100.3 198.51.100.5) regline=""
	say "client: joining a mesh of $n listed peers"
	ip netns add "$nr"
	NAMESPACES="$NAMESPACES $nr"
	ip netns add "$na"
	NAMESPACES="$NAMESPACES $na"
	ip link add "jr$S" netns "$nr" type veth peer name "ja$S" netns "$na"
	ip -n "$nr" link set lo up
	ip -n "$na" link set lo up
	for i in 0 1 2; do
		ip -n "$nr" addr add "${addrs[$i]}/24" dev "jr$S"
	done
	ip -n "$na" addr add 198.51.100.2/24 dev "ja$S"
	ip -n "$nr" link set "jr$S" up
	ip -n "$na" link set "ja$S" up
	python3 - "$n" "$parts" "$TMP" <<'EOT'
import base64, os, sys
n, parts, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keys = [base64.b64encode(os.urandom(32)).decode() for _ in range(n)]
for p in range(parts):
    with open("%s/join-reg%d.conf" % (d, p), "w") as f:
        f.write("[Interface]\nPrivateKey = %s\nListenPort = %d\n\n" % (base64.b64encode(os.urandom(32)).decode(), 52000 + p))
        for i, k in enumerate(keys):
            if i % parts == p:
                f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 203.0.113.%d:%d\n\n"
                        % (k, 100 + i // 65536, i // 256 % 256, i % 256, 1 + i % 250, 10000 + i))
EOT
	for i in 0 1 2; do
		local devr="wgj${S}r$i"
		ip netns exec "$nr" wireguard-go -f "$devr" >"$TMP/$devr.log" 2>&1 &
		PIDS="$PIDS $!"
		DEVS="$DEVS $devr"
		wait_for 10 test -S "/var/run/wireguard/$devr.sock" || die "wireguard-go $devr"
		ip netns exec "$nr" wg setconf "$devr" "$TMP/join-reg$i.conf"
		cat >"$TMP/join-reg$i.wgsd" <<EOF
[daemon]
status-socket = $TMP/join-reg$i.sock
[registry]
listen = ${addrs[$i]}:53
access = any
[zone $ZONE]
device = $devr
backend = userspace
EOF
		ip netns exec "$nr" "$WGSD" -c "$TMP/join-reg$i.wgsd" >"$TMP/join-reg$i.log" 2>&1 &
		PIDS="$PIDS $!"
		wait_for 30 sh -c "ip netns exec $na dig +time=1 +tries=1 @${addrs[$i]} $ZONE SOA | grep -q NOERROR" ||
			die "join registry $i not answering"
		regline="${regline}registry = ${addrs[$i]}:53
"
	done
	ip netns exec "$na" wireguard-go -f "$deva" >"$TMP/$deva.log" 2>&1 &
	PIDS="$PIDS $!"
	DEVS="$DEVS $deva"
	wait_for 10 test -S "/var/run/wireguard/$deva.sock" || die "wireguard-go $deva"
	for r in $(seq 1 "$ROUNDS"); do
		# A fresh node each round: no peers, no memory.
		ip netns exec "$na" wg setconf "$deva" /dev/null
		rm -rf "$TMP/join-state"
		cat >"$TMP/join.conf" <<EOF
[daemon]
status-socket = $TMP/join.sock
state-directory = $TMP/join-state
[client $deva]
backend = userspace
${regline}zone = $ZONE
interval = 1h
peers = auto
auto-allowed-ips = 10.100.0.0/16
auto-max-peers = $n
EOF
		ip netns exec "$na" "$WGSD" -c "$TMP/join.conf" >"$TMP/join.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		wait_for 120 sh -c "ip netns exec $na $WGSDCTL -s $TMP/join.sock status --json | grep -q '\"cycles\":1'" ||
			{ cat "$TMP/join.log" >&2; die "join cycle did not finish"; }
		st=$(ip netns exec "$na" "$WGSDCTL" -s "$TMP/join.sock" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["client"]["devices"][0]
print(d["last_cycle"]["duration_ms"], d["membership"]["listed"], d["membership"]["added_total"])')
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		local on_dev with_ep
		on_dev=$(ip netns exec "$na" wg show "$deva" peers | wc -l)
		with_ep=$(ip netns exec "$na" wg show "$deva" endpoints | awk '$2 != "(none)"' | wc -l)
		echo "$st $on_dev $with_ep" >>"$TMP/join.txt"
		say "  join round $r: duration_ms listed added = $st, peers on the device: $on_dev, with endpoint: $with_ep"
	done
}

# Median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# Median of column $4 of $RES for rows with n=$1, name=$2, mode=$3.
res_median() {
	awk -F'\t' -v n="$1" -v s="$2" -v m="$3" -v c="$4" '$1 == n && $2 == s && $4 == m && $c != "-" { print $c }' "$RES" | median
}

# Sum of column $4 for rows with n=$1, name=$2, mode=$3.
res_sum() {
	awk -F'\t' -v n="$1" -v s="$2" -v m="$3" -v c="$4" '$1 == n && $2 == s && $4 == m { t += $c } END { print t + 0 }' "$RES"
}

# Largest value of column $4 for rows with n=$1, name=$2, mode=$3.
res_max() {
	awk -F'\t' -v n="$1" -v s="$2" -v m="$3" -v c="$4" '$1 == n && $2 == s && $4 == m && $c != "-" && $c > x { x = $c } END { print x + 0 }' "$RES"
}

# Field $2 (key=value) of a bench-wg line $1.
kv() {
	echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# "yes" or "**NO**" for A OP B (>= or <=).
check() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (a == "-" || a == "") { print "-"; exit }
		ok = (op == ">=") ? (a + 0 >= b + 0) : (a + 0 <= b + 0)
		print ok ? "yes" : "**NO**" }'
}

# a / b with two decimals ("-" when b is 0 or missing).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else print "-" }'
}

# KiB to MiB with one decimal.
mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# Server CPU microseconds per answered query from CPU percent and QPS.
us_per_query() {
	awk -v c="$1" -v q="$2" 'BEGIN { if (c != "-" && q + 0 > 0) printf "%.1f", c * 1e4 / q; else print "-" }'
}

# Write the Markdown report.
report() {
	local n qw qn lw ln cw cn ok budget
	if [ -n "$CG_CPU" ] && [ "$SERVER_CPU_PCT" -gt 0 ]; then
		budget="$SERVER_CPU_PCT % of one core (cgroup cpu quota, 10 ms period)"
	elif [ -n "$CG_CPU" ]; then
		budget="none (--server-cpu 0)"
	else
		budget="none (no cgroup v1 cpu hierarchy): dnsperf may be the bottleneck"
	fi
	{
		echo "# wgsd benchmark results"
		echo
		echo "Generated by \`$CMDLINE\` (as root); do not edit by hand. What the harness does and what"
		echo "was tried to meet the targets: [README.md](README.md)."
		echo
		echo "| Machine and setup | |"
		echo "| --- | --- |"
		echo "| CPU | $CPU_MODEL, $NCPU cores |"
		echo "| Kernel | $KERNEL |"
		echo "| Date | $DATE |"
		echo "| Load average at start / end | $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews absolute numbers; ratios come from alternating runs) |"
		echo "| wgsd | $WGSD_REV, buildtype=release |"
		echo "| NSD | $NSD_VERSION: server-count 1, rrl-ratelimit 0, rrl-whitelist-ratelimit 0, zone file made from wgsd's answers |"
		echo "| Load | dnsperf $DNSPERF_VERSION, SRV queries for random peers, -T 1; throughput runs -c $CLIENTS -q $OUTSTANDING for $DURATION s; latency runs -Q $LAT_QPS for $LAT_DURATION s |"
		echo "| Pinning | ${PIN_NOTE} |"
		echo "| Server CPU budget | $budget |"
		echo
		echo "## Registry vs NSD"
		echo
		echo "Medians of $ROUNDS rounds; each round runs both servers one after the other (order alternating),"
		echo "the idle one paused. Lost = sum over all runs. Throughput runs repeated because other load starved"
		echo "them: $(awk -F'\t' '$12 > 1' "$RES" | wc -l) (see the last table). Answers checked equal first:$COMPARE_NOTE"
		echo
		echo "| Peers | wgsd QPS | NSD QPS | wgsd/NSD (per round) | lost wgsd / NSD | server CPU µs per query wgsd / NSD | latency at $LAT_QPS QPS, avg / p99 ms, wgsd | NSD | dnsperf CPU % (max) | target: ≥ 1.0, 0 lost |"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
		for n in $PEER_COUNTS; do
			qw=$(res_median "$n" wgsd tput 5)
			qn=$(res_median "$n" nsd tput 5)
			lw=$(($(res_sum "$n" wgsd tput 7) + $(res_sum "$n" wgsd lat 7)))
			ln=$(($(res_sum "$n" nsd tput 7) + $(res_sum "$n" nsd lat 7)))
			cw=$(us_per_query "$(res_median "$n" wgsd tput 10)" "$qw")
			cn=$(us_per_query "$(res_median "$n" nsd tput 10)" "$qn")
			# Ratio of each round's pair: how much the comparison moved between rounds.
			local rr
			rr=$(awk -F'\t' -v n="$n" '$1 == n && $4 == "tput" && $2 == "wgsd" { w[$3] = $5 }
				$1 == n && $4 == "tput" && $2 == "nsd" { d[$3] = $5 }
				END { lo = 1e9; hi = 0; for (r in w) if (d[r] > 0) { x = w[r] / d[r]; if (x < lo) lo = x; if (x > hi) hi = x }
					if (hi > 0) printf "%.2f-%.2f", lo, hi; else print "-" }' "$RES")
			ok=$(check "$(ratio "$qw" "$qn")" ">=" 1.0)
			[ "$lw" = 0 ] || ok="**NO** (lost)"
			echo "| $n | $qw | $qn | $(ratio "$qw" "$qn") ($rr) | $lw / $ln | $cw / $cn | $(res_median "$n" wgsd lat 8) / $(res_median "$n" wgsd lat 9) | $(res_median "$n" nsd lat 8) / $(res_median "$n" nsd lat 9) | $(res_max "$n" wgsd tput 11) / $(res_max "$n" nsd tput 11) | $ok |"
		done
		echo
		echo "## Scaling, memory, device reads, refresh, client"
		echo
		echo "| Measurement | Result | Target | Met |"
		echo "| --- | --- | --- | --- |"
		local qlo qhi flat
		qlo=$(res_median "$MIN_N" wgsd tput 5)
		qhi=$(res_median "$MAX_N" wgsd tput 5)
		flat=$(ratio "$qhi" "$qlo")
		echo "| wgsd QPS at $MAX_N / at $MIN_N peers | $qhi / $qlo = $flat | ≥ 0.9 | $(check "$flat" ">=" 0.9) |"
		local rss hwm nsdrss
		while IFS=$'\t' read -r n rss hwm nsdrss; do
			if [ "$n" = "$MAX_N" ]; then
				echo "| wgsd RSS at $n peers (peak) | $(mib "$rss") MiB ($(mib "$hwm") MiB); NSD server process $(mib "$nsdrss") MiB | ≤ 16 MiB | $(check "$(mib "$hwm")" "<=" 16) |"
			else
				echo "| wgsd RSS at $n peers (peak) | $(mib "$rss") MiB ($(mib "$hwm") MiB); NSD server process $(mib "$nsdrss") MiB | | |"
			fi
		done <"$TMP/rss.tsv"
		local rd raw
		rd=$(cat "$TMP/read-userspace.txt" 2>/dev/null || true)
		raw=$(cat "$TMP/rawread-userspace.txt" 2>/dev/null || true)
		if [ -n "$rd" ]; then
			echo "| One full read of $MAX_N peers, userspace backend (wireguard-go), + snapshot build; median of $(kv "$rd" reads) | $(kv "$rd" total_ms_median) ms (read $(kv "$rd" read_ms_median) ms, fastest $(kv "$rd" read_ms_min) ms; snapshot $(kv "$rd" zone_ms_median) ms) | ≤ 50 ms | $(check "$(kv "$rd" total_ms_median)" "<=" 50) |"
			if [ -n "$raw" ]; then
				local extra
				extra=$(awk -v r="$(kv "$rd" read_ms_median)" -v w="$(kv "$raw" raw_ms_median)" 'BEGIN { printf "%.1f", r - w }')
				echo "| The device's share of that read: wireguard-go's $(kv "$raw" bytes)-byte reply received and discarded, nothing parsed (bench-wg rawread, right after); median of $(kv "$raw" reads) | $(kv "$raw" raw_ms_median) ms (fastest $(kv "$raw" raw_ms_min) ms): wgsd's parse adds $extra ms to it, the snapshot build $(kv "$rd" zone_ms_median) ms | | |"
			fi
			echo "| Longest loop turn during those reads: the longest a query could wait (CPU time between two runs of a timer that fires every turn; wall time incl. preemption) | $(kv "$rd" max_turn_cpu_ms) ms ($(kv "$rd" max_turn_wall_ms) ms); the build ran in $(kv "$rd" zone_turns_median) turns of ≤ $(kv "$rd" slice_us) µs | its slice | |"
			echo "| Peak memory of a read + snapshot (RSS growth; process peak) | $(kv "$rd" peak_rss_growth_kib) KiB ($(kv "$rd" peak_rss_kib) KiB) | | |"
		fi
		if [ "$DO_KERNEL" = 1 ]; then
			if [ -n "${KERNEL_READ:-}" ]; then
				local kg="$KERNEL_READ" pg="${KERNEL_REPLAY_GUEST:-}" ph="${KERNEL_REPLAY_HOST:-}" kgen="" est=""
				echo "| One full read of $MAX_N peers, kernel backend (netlink), in the qemu guest (TCG: emulated CPU, no KVM here); median of $(kv "$kg" reads) | $(kv "$kg" total_ms_median) ms in the guest (read $(kv "$kg" read_ms_median) ms, snapshot $(kv "$kg" zone_ms_median) ms, longest loop turn $(kv "$kg" max_turn_cpu_ms) ms CPU, RSS growth $(kv "$kg" peak_rss_growth_kib) KiB) | | |"
				if [ -n "$pg" ] && [ -n "$ph" ]; then
					# The kernel's share of a guest read: the read minus wgsd's parse of the same dump in the guest.
					kgen=$(awk -v r="$(kv "$kg" read_ms_median)" -v p="$(kv "$pg" parse_ms_median)" 'BEGIN { printf "%.1f", (r > p ? r - p : 0) }')
					# Native estimate: wgsd's work measured on the host, the kernel's guest time scaled by the
					# emulation factor that the same parse shows (guest time / host time).
					est=$(awk -v ph="$(kv "$ph" parse_ms_median)" -v zh="$(kv "$ph" zone_ms_median)" -v pg="$(kv "$pg" parse_ms_median)" -v k="$kgen" \
						'BEGIN { if (pg > 0) printf "%.1f", ph + zh + k * ph / pg }')
					echo "| Kernel backend, $MAX_N peers: wgsd's own work, measured on the host by replaying a dump captured from the guest's kernel device ($(kv "$ph" datagrams) datagrams, $(kv "$ph" bytes) bytes); median of $(kv "$ph" reads) | parse $(kv "$ph" parse_ms_median) ms (longest loop turn of $(kv "$ph" turn_datagrams) datagrams: $(kv "$ph" parse_turn_max_ms) ms) + snapshot build $(kv "$ph" zone_ms_median) ms CPU | | |"
					echo "| Kernel backend, $MAX_N peers: the kernel's dump, measurable only in the TCG guest | $kgen ms there (read $(kv "$kg" read_ms_median) ms minus wgsd's parse of the same dump in the guest, $(kv "$pg" parse_ms_median) ms) | | |"
					echo "| One full read of $MAX_N peers, kernel backend, native estimate: wgsd's part measured on the host + the kernel's guest time × the emulation factor of the same parse ($(kv "$ph" parse_ms_median) / $(kv "$pg" parse_ms_median)) | $est ms | ≤ 50 ms | $(check "$est" "<=" 50) (the kernel's part estimated) |"
				fi
			else
				echo "| One full read, kernel backend | not measured: ${KERNEL_NOTE:-no result} | ≤ 50 ms | - |"
			fi
		fi
		if [ -s "$TMP/refresh-reads.txt" ]; then
			local qr
			qr=$(res_median "$MAX_N" wgsd-refresh-100ms tput 5)
			echo "| wgsd QPS at $MAX_N peers while refresh = 100ms (device reads per round: $(awk '{ print $1 }' "$TMP/refresh-reads.txt" | tr '\n' ' ')) | $qr = $(ratio "$qr" "$qhi") × refresh 1s; latency at $LAT_QPS QPS avg / p99 $(res_median "$MAX_N" wgsd-refresh-100ms lat 8) / $(res_median "$MAX_N" wgsd-refresh-100ms lat 9) ms; lost $(($(res_sum "$MAX_N" wgsd-refresh-100ms tput 7) + $(res_sum "$MAX_N" wgsd-refresh-100ms lat 7))); wireguard-go CPU $(awk '{ print $2 }' "$TMP/refresh-reads.txt" | median) % (outside the budget) | | |"
		fi
		if [ -s "$TMP/client.txt" ]; then
			local cyc upd setline
			cyc=$(awk '{ print $1 }' "$TMP/client.txt" | median)
			upd=$(awk '{ print $3 }' "$TMP/client.txt" | median)
			setline=$(cat "$TMP/client-set.txt")
			echo "| Client: one resolve-and-set cycle, 1,000 stale peers, registry in the next namespace (median of $ROUNDS; ms: $(awk '{ print $1 }' "$TMP/client.txt" | tr '\n' ' ')) | $cyc ms, $upd endpoints set ($(awk -v u="$upd" -v c="$cyc" 'BEGIN { printf "%.0f", c ? u * 1000 / c : 0 }') per s within the cycle) | ≤ 1000 ms | $(check "$cyc" "<=" 1000) |"
			echo "| Client: raw endpoint writes to wireguard-go (bench-wg set, $(kv "$setline" inflight) in flight) | $(kv "$setline" writes_per_s) writes/s ($(kv "$setline" writes) in $(kv "$setline" wall_ms) ms) | | |"
		fi
		if [ -s "$TMP/join.txt" ]; then
			local jc ja jd
			jc=$(awk '{ print $1 }' "$TMP/join.txt" | median)
			ja=$(awk '{ print $3 }' "$TMP/join.txt" | median)
			jd=$(awk '{ print $5 }' "$TMP/join.txt" | median)
			echo "| Client, peers = auto: a new node joins a mesh of 2,000 listed peers (three registries of ~667: one listing holds ~920) in one cycle, each added with its allowed IPs and endpoint (median of $ROUNDS; ms: $(awk '{ print $1 }' "$TMP/join.txt" | tr '\n' ' ')) | $jc ms, $ja added, $jd with endpoint | all in one cycle | $(check "$ja" ">=" 2000) |"
		fi
		echo
		echo "## All dnsperf runs"
		echo
		echo "Tries > 1: earlier tries were starved by other load (server below 80 % of its budget and dnsperf"
		echo "below 80 %) and repeated; Sent is the last try's, Lost counts every try."
		echo
		echo "| Peers | Server | Round | Run | QPS | Sent | Lost | avg ms | p99 ms | server CPU % | dnsperf CPU % | Tries | throttled 10 ms periods |"
		echo "| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$RES"
	} >"$OUT"
}

LAT_DURATION=$(( DURATION / 2 > 2 ? DURATION / 2 : 2 ))
describe_machine
cg_init
cg_new wgsd "$SERVER_CPU_PCT"
cg_new nsd "$SERVER_CPU_PCT"
cg_new wg 0
[ -x "$SRC/tests/deps.sh" ] && { "$SRC/tests/deps.sh" >&2 || die "tests/deps.sh"; }
build
setup_ns
: >"$RES"
: >"$TMP/rss.tsv"
COMPARE_NOTE=""
MIN_N=$(echo "$PEER_COUNTS" | tr ' ' '\n' | sort -n | head -n 1)
MAX_N=$(echo "$PEER_COUNTS" | tr ' ' '\n' | sort -n | tail -n 1)
i=0
for n in $PEER_COUNTS; do
	i=$((i + 1))
	bench_registry "$n" "$i"
done
[ "$DO_KERNEL" = 1 ] && bench_kernel
[ "$DO_CLIENT" = 1 ] && bench_client
[ "$DO_CLIENT" = 1 ] && bench_join
report
# Issue 8's speed target: UDP rate with the TCP cap saturated by a connection flood >= 0.9 x without.
# The hardening test measures it; here it is asserted (WGSD_ASSERT_RATES=1) and recorded.
flood_log=$TMP/faults_tcp.log
if WGSD="$BUILD/wgsd" WGSDCTL="$BUILD/wgsdctl" WGSD_ASSERT_RATES=1 \
	python3 "$SRC/tests/hardening/faults_tcp.py" >"$flood_log" 2>&1; then
	flood_ok=yes
else
	flood_ok=NO
fi
{
	echo
	echo "## UDP rate with the TCP connection cap saturated (issue 8)"
	echo
	echo "\`WGSD_ASSERT_RATES=1 tests/hardening/faults_tcp.py\` (best of 4 interleaved 2 s dnsperf runs each):"
	echo
	echo '```'
	grep -E "^UDP QPS|^ratio" "$flood_log" || echo "(no figures: see the log)"
	echo '```'
	echo
	echo "Target ratio >= 0.9 met: $flood_ok"
} >>"$OUT"
cat "$OUT"
