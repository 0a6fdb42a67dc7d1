# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Secondaries for the zone transfer tests (sourced after lib.sh): NSD, Knot
# and BIND configured as an operator would configure a secondary of wgsd
# (TSIG key, the primary to transfer from, NOTIFY allowed from it), each
# started directly in namespace $NS so that cleanup stops it, with its files
# in $TMP/<server>. Addresses and ports are arguments: sec_start_nsd ZONE
# LISTEN_IP PORT PRIMARY_IP PRIMARY_PORT KEY_NAME SECRET. Each server also
# uses LISTEN_IP as the source of its transfers and SOA queries, so wgsd's
# status tells the three apart.

# Give loopback the 127.x address a server listens on (BIND listens only on addresses interfaces
# carry); other addresses are the caller's to configure.
sec_addr() {
	case $1 in
	127.*) ip -n "$NS" addr add "$1/8" dev lo 2>/dev/null || true ;;
	esac
}

# Add a started server's PID to those cleanup stops. Servers are started
# with `ip netns exec ... &`, which execs the server, so that $! is its PID:
# through a shell function, $! was the subshell's, and the server outlived
# the test in its deleted namespace.
sec_track() {
	PIDS="$PIDS $1"
}

# NSD: request-xfr (IXFR, AXFR fallback) from the primary, allow-notify from it, no RRL (tests ask fast).
sec_start_nsd() {
	local zone=$1 ip=$2 port=$3 pip=$4 pport=$5 key=$6 secret=$7 d="$TMP/nsd"
	sec_addr "$ip"
	mkdir -p "$d"
	cat >"$d/nsd.conf" <<CONF
server:
  ip-address: $ip@$port
  port: $port
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  pidfile: "$d/nsd.pid"
  logfile: "$d/nsd.log"
  verbosity: 2
  server-count: 1
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
key:
  name: "$key"
  algorithm: hmac-sha256
  secret: "$secret"
zone:
  name: "$zone"
  zonefile: "$zone.zone"
  request-xfr: $pip@$pport $key
  allow-notify: $pip $key
  outgoing-interface: $ip
CONF
	ip netns exec "$NS" nsd -d -c "$d/nsd.conf" >"$d/stdout.log" 2>&1 &
	sec_track $!
}

# Knot: a remote with the key, an ACL for its NOTIFY, the zone as a secondary; nothing written to disk.
sec_start_knot() {
	local zone=$1 ip=$2 port=$3 pip=$4 pport=$5 key=$6 secret=$7 d="$TMP/knot"
	sec_addr "$ip"
	mkdir -p "$d/storage"
	cat >"$d/knot.conf" <<CONF
server:
  rundir: "$d"
  listen: $ip@$port
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: "$d/knot.log"
    any: info
database:
  storage: "$d/storage"
key:
  - id: $key
    algorithm: hmac-sha256
    secret: $secret
remote:
  - id: primary
    address: $pip@$pport
    via: $ip
    key: $key
acl:
  - id: from_primary
    address: $pip
    key: $key
    action: notify
template:
  - id: default
    storage: "$d/storage"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
    refresh-min-interval: 2
    retry-min-interval: 2
zone:
  - domain: $zone
    master: primary
    acl: from_primary
CONF
	ip netns exec "$NS" knotd -c "$d/knot.conf" >"$d/stdout.log" 2>&1 &
	sec_track $!
}

# BIND: type secondary, primaries with the key, allow-notify from the primary, short minimum refresh.
sec_start_bind() {
	local zone=$1 ip=$2 port=$3 pip=$4 pport=$5 key=$6 secret=$7 d="$TMP/bind"
	sec_addr "$ip"
	mkdir -p "$d"
	cat >"$d/named.conf" <<CONF
options {
	directory "$d";
	pid-file "$d/named.pid";
	listen-on port $port { $ip; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	check-names secondary ignore;   // base32 labels end in "=" (not a host name)
	min-refresh-time 1;
	min-retry-time 1;
	max-refresh-time 3600;
	max-retry-time 60;
	transfers-in 10;
	transfer-source $ip;
	session-keyfile "$d/session.key";
};
key "$key" {
	algorithm hmac-sha256;
	secret "$secret";
};
logging {
	channel main { file "$d/named.log"; severity info; print-time yes; };
	category default { main; };
	category xfer-in { main; };
	category notify { main; };
};
zone "$zone" {
	type secondary;
	primaries port $pport { $pip key "$key"; };
	allow-notify { $pip; };
	file "$d/$zone.db";
};
CONF
	ip netns exec "$NS" named -g -u root -c "$d/named.conf" >"$d/stdout.log" 2>&1 &
	sec_track $!
}

# Print the tail of each secondary's log (for failures).
sec_logs() {
	local f
	for f in "$TMP"/nsd/nsd.log "$TMP"/nsd/stdout.log "$TMP"/knot/knot.log "$TMP"/knot/stdout.log "$TMP"/bind/named.log "$TMP"/bind/stdout.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 25 "$f" >&2
	done
}

# The serial a server at IP PORT answers for ZONE's SOA (empty when none).
sec_serial() {
	in_ns "$NS" dig +norec +tries=1 +time=1 -p "$2" "@$1" "$3" SOA +short 2>/dev/null | awk '{ print $3 }'
}
