#!/bin/bash
# SPDX-License-Identifier: MIT
# The relay end to end (issue 17), with wireguard-go in the NAT lab of
# tests/lab: alice and bob behind two symmetric NATs (masquerade random)
# cannot punch; each asks the registry for a relay with dig through its
# tunnel (SRV <peer>.<self>._relay.ZONE) and sets the answer as the other's
# endpoint. Checks: ping works and its bytes cross the relay; the registry's
# own WireGuard counters for alice and bob do not move with them; nobody but
# <self> gets an allocation (REFUSED); bob reaches the relay over IPv6 and
# alice over IPv4 (one allocation forwards between the families); a third
# party on the public segment
# (junk, bad mac1, valid mac1 from its own address, a replayed initiation)
# neither moves the allocation nor receives anything, and the relay never
# sends more bytes than it received; allocation exhaustion leaves the
# existing relay working; a reload that changes the rate limit keeps the
# allocations; an idle allocation is freed and its ports closed; a reload
# without [relay] turns it off.
set -eu
. "$(dirname "$0")/../lab/lib.sh"

RELAY_DIR=$(cd "$(dirname "$0")" && pwd)
RELAY_PORTS=50000-50099
ZONE=example.com.

lab_require dig ss
lab_init
lab_topology
lab_nat_mode nata symmetric
lab_nat_mode natb symmetric

# mallory: a host on the public segment that is no member of the mesh.
LAB_NS[mallory]=wgsdlab-$LAB_ID-mallory
LAB_PUB4[mallory]=203.0.113.66
LAB_PUB6[mallory]=2001:db8::66
lab_netns mallory
lab_public_port mallory eth0
lab_batch_run pub
lab_batch_run mallory

lab_wireguard
# carol: a published peer of the registry that exists only there (a third key for exhaustion).
(umask 077 && wg genkey >"$LAB_RUN/carol.key")
LAB_KEY[carol]=$(wg pubkey <"$LAB_RUN/carol.key")
lab_in reg wg set "${LAB_DEV[reg]}" peer "${LAB_KEY[carol]}" allowed-ips 10.0.0.3/32 endpoint 198.51.100.99:51820

lab_conf reg
# conf/registry.conf ends with its own [relay]: this test sets its own.
sed -i '/^\[relay\]/,$d' "$LAB_RUN/reg.conf"
cat >>"$LAB_RUN/reg.conf" <<CONF

[relay]
address = ${LAB_PUB4[reg]}
address = ${LAB_PUB6[reg]}
ports = $RELAY_PORTS
max-allocations = 2
idle-timeout = 10s
CONF
"$WGSD" -t -c "$LAB_RUN/reg.conf" || lab_fail "the relay configuration is not valid"
lab_wgsd_start reg

# Count the relay's UDP bytes in and out at the registry (amplification check).
lab_in reg nft -f - <<'NFT' || lab_fail "nft counters on reg"
table inet relaycount {
	counter relay_in { }
	counter relay_out { }
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 50000-50099 counter name relay_in
	}
	chain output {
		type filter hook output priority filter; policy accept;
		udp sport 50000-50099 counter name relay_out
	}
}
NFT

# Bytes of nft counter $1 on reg.
counter_bytes()
{
	lab_in reg nft list counter inet relaycount "$1" | sed -n 's/.*bytes \([0-9]*\).*/\1/p'
}

# Ask the registry from node $1 for a relay to peer node $2 in the name of node $3 (default $1):
# prints "STATUS PORT ADDRESS ADDRESS6" ("-" for what is absent).
relay_dig()
{
	local node=$1 peer=$2 self=${3:-$1} out status port addr addr6

	out=$(lab_dig "$node" +noall +comments +answer +additional \
		"$(lab_b32 "$peer").$(lab_b32 "$self")._relay.$ZONE" SRV 2>&1) || true
	status=$(echo "$out" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -n 1)
	port=$(echo "$out" | awk '$4 == "SRV" { print $7; exit }')
	addr=$(echo "$out" | awk '$1 == "_relay.'"$ZONE"'" && $4 == "A" { print $5; exit }')
	addr6=$(echo "$out" | awk '$1 == "_relay.'"$ZONE"'" && $4 == "AAAA" { print $5; exit }')
	echo "${status:-none} ${port:--} ${addr:--} ${addr6:--}"
}

# A value from the registry's relay status (Python expression over "r").
relay_status()
{
	lab_status reg "(lambda r: ($1))(s['registry']['relay'])"
}

lab_head "alice and bob cannot punch through two symmetric NATs"
lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" endpoint "$(lab_endpoint reg bob)" persistent-keepalive 1
lab_in bob wg set "${LAB_DEV[bob]}" peer "${LAB_KEY[alice]}" endpoint "$(lab_endpoint reg alice)" persistent-keepalive 1
if lab_ping_until alice "${LAB_TUN[bob]}" 4; then
	echo "direct tunnel came up (the random NAT ports matched by chance); the relay is checked anyway"
else
	echo "no direct tunnel with each other's registry-seen endpoints, as expected"
fi

lab_head "only <self> gets a relay"
read -r st port addr <<<"$(relay_dig bob bob alice)"
echo "bob asking in alice's name: $st"
[ "$st" = REFUSED ] || lab_fail "bob got '$st' asking for a relay in alice's name, not REFUSED"
read -r st port addr <<<"$(relay_dig alice reg)"
echo "alice asking for a relay to the registry itself: $st"
[ "$st" = NXDOMAIN ] || lab_fail "a relay to the registry itself answered '$st', not NXDOMAIN"
read -r st port addr <<<"$(lab_in mallory dig @"${LAB_PUB4[reg]}" +time=1 +tries=1 +noall +comments \
	"$(lab_b32 bob).$(lab_b32 alice)._relay.$ZONE" SRV 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1 - -/p'; echo "none - -")"
echo "mallory asking from outside the tunnel: $st (the registry listens on the tunnel address only)"
[ "$st" != NOERROR ] || lab_fail "mallory got a relay"
[ "$(relay_status 'r["allocations"]')" = 0 ] || lab_fail "refused queries made an allocation"

lab_head "alice and bob ask for their relay"
read -r st pa addr_a _ <<<"$(relay_dig alice bob)"
read -r st_b pb _ addr_b <<<"$(relay_dig bob alice)"
echo "alice: $st, send to $addr_a:$pa; bob: $st_b, send to [$addr_b]:$pb (over IPv6)"
[ "$st" = NOERROR ] && [ "$st_b" = NOERROR ] || lab_fail "relay queries answered $st / $st_b"
[ "$addr_a" = "${LAB_PUB4[reg]}" ] && [ "$addr_b" = "${LAB_PUB6[reg]}" ] ||
	lab_fail "relay addresses are not ${LAB_PUB4[reg]} and ${LAB_PUB6[reg]}"
[ "$pa" != "$pb" ] || lab_fail "both sides got port $pa"
read -r st pa2 _ <<<"$(relay_dig alice bob)"
[ "$pa2" = "$pa" ] || lab_fail "asking again gave alice port $pa2 instead of $pa"

lab_head "the relay's ports have room for a burst (1 MiB buffers, as the DNS listener)"
rb=$(lab_in reg ss -Huamn "sport = :$pa" | sed -n 's/.*skmem:(r[0-9]*,rb\([0-9]*\),.*/\1/p' | head -n 1)
echo "port $pa: receive buffer ${rb:-?} bytes (the kernel doubles the request)"
[ -n "$rb" ] && [ "$rb" -ge 1048576 ] || lab_fail "relay port $pa has a receive buffer of '${rb:-?}' bytes"
[ "$(relay_status 'r["allocations"]')" = 1 ] || lab_fail "the pair has more than one allocation"

in0=$(counter_bytes relay_in) out0=$(counter_bytes relay_out)
read -r reg_rx_a0 reg_tx_a0 <<<"$(lab_transfer reg alice)"
read -r reg_rx_b0 reg_tx_b0 <<<"$(lab_transfer reg bob)"
lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" endpoint "${LAB_PUB4[reg]}:$pa" persistent-keepalive 2
lab_in bob wg set "${LAB_DEV[bob]}" peer "${LAB_KEY[alice]}" endpoint "[${LAB_PUB6[reg]}]:$pb" persistent-keepalive 2
lab_ping_until alice "${LAB_TUN[bob]}" 40 || lab_fail "no ping from alice to bob through the relay within 40 s"
echo "alice pings bob through the relay (first reply after $LAB_MS ms)"
lab_in alice ping -n -q -c 100 -i 0.01 -s 1200 -w 20 "${LAB_TUN[bob]}" >"$LAB_RUN/ping.txt" ||
	lab_fail "ping through the relay lost packets: $(tail -n 2 "$LAB_RUN/ping.txt")"
tail -n 2 "$LAB_RUN/ping.txt"
relayed=$(relay_status 'r["forwarded_bytes"]')
read -r reg_rx_a1 reg_tx_a1 <<<"$(lab_transfer reg alice)"
read -r reg_rx_b1 reg_tx_b1 <<<"$(lab_transfer reg bob)"
reg_moved=$(( (reg_rx_a1 - reg_rx_a0) + (reg_tx_a1 - reg_tx_a0) + (reg_rx_b1 - reg_rx_b0) + (reg_tx_b1 - reg_tx_b0) ))
echo "relayed $relayed bytes; the registry's WireGuard counters for alice and bob moved by $reg_moved bytes (keepalives)"
[ "$relayed" -ge 240000 ] || lab_fail "the relay forwarded only $relayed bytes for 200 pings of 1200 bytes"
[ "$reg_moved" -lt $((relayed / 20)) ] || lab_fail "the registry's own tunnel counters moved with the relayed traffic"
echo "alice's endpoint for bob: $(lab_endpoint alice bob); bob's for alice: $(lab_endpoint bob alice)"
[ "$(lab_endpoint alice bob)" = "${LAB_PUB4[reg]}:$pa" ] || lab_fail "alice's endpoint for bob moved away from the relay"
side_a=$(relay_status "[x['address'] for x in r['list'][0]['sides']]")
echo "the relay's learnt addresses: $side_a"

lab_head "a third party cannot hijack the allocation"
nat_a=${LAB_PUB4[nata]}: bob6="[${LAB_LAN6[bob]}]:$LAB_PORT"
case "$side_a" in *"$nat_a"*"$bob6"* | *"$bob6"*"$nat_a"*) ;; *) lab_fail "the relay learnt $side_a, not NAT A's address and bob's IPv6 one" ;; esac
# A real initiation from alice, captured at the registry, to replay.
lab_in reg python3 "$RELAY_DIR/mallory.py" sniff eth0 "$pa" 30 "$LAB_RUN/captured.hex" "$LAB_RUN/sniffing" &
sniffer=$!
sniffing()
{
	[ -e "$LAB_RUN/sniffing" ]
}
lab_wait 10 sniffing || lab_fail "the capture at the registry did not start"
lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" remove
lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" allowed-ips "${LAB_TUN[bob]}/32" \
	endpoint "${LAB_PUB4[reg]}:$pa" persistent-keepalive 2
lab_ping_until alice "${LAB_TUN[bob]}" 30 || lab_fail "alice lost the relay after re-creating bob's peer"
wait "$sniffer" || lab_fail "no initiation from alice was captured at the registry"
for kind in junk badmac "goodmac ${LAB_KEY[bob]}" "goodmac ${LAB_KEY[alice]}" "replay $LAB_RUN/captured.hex"; do
	# shellcheck disable=SC2086
	res=$(lab_in mallory python3 "$RELAY_DIR/mallory.py" send "${LAB_PUB4[reg]}" "$pa,$pb" $kind)
	case "$res" in *"received 0 datagrams"*) ;; *) lab_fail "mallory received something from the relay ($kind)" ;; esac
	res=$(lab_in mallory python3 "$RELAY_DIR/mallory.py" send "${LAB_PUB6[reg]}" "$pa,$pb" $kind)
	echo "mallory ${kind%% *}: $res"
	case "$res" in *"received 0 datagrams"*) ;; *) lab_fail "mallory received something from the relay ($kind)" ;; esac
done
side_a2=$(relay_status "[x['address'] for x in r['list'][0]['sides']]")
echo "the relay's learnt addresses now: $side_a2"
[ "$side_a2" = "$side_a" ] || lab_fail "mallory moved the allocation: $side_a -> $side_a2"
lab_ping_until alice "${LAB_TUN[bob]}" 10 || lab_fail "the relay stopped working after mallory's attempts"
dropped=$(relay_status 'r["dropped"]')
echo "dropped: $dropped"
for reason in not_wireguard bad_mac1 unverified_source; do
	[ "$(relay_status "r['dropped']['$reason']")" -gt 0 ] || lab_fail "no datagram was dropped as $reason"
done
in1=$(counter_bytes relay_in) out1=$(counter_bytes relay_out)
echo "relay ports: $((in1 - in0)) bytes in, $((out1 - out0)) bytes out (IP and UDP headers included)"
[ $((out1 - out0)) -le $((in1 - in0)) ] || lab_fail "the relay sent more bytes than it received"

lab_head "exhaustion: others keep their relay"
read -r st _ _ <<<"$(relay_dig alice carol)"
echo "alice <-> carol: $st"
[ "$st" = NOERROR ] || lab_fail "a second allocation was refused ($st)"
read -r st _ _ <<<"$(relay_dig bob carol)"
echo "bob <-> carol with max-allocations = 2: $st"
[ "$st" = SERVFAIL ] || lab_fail "a third allocation answered $st, not SERVFAIL"
read -r st pa3 _ <<<"$(relay_dig alice bob)"
[ "$st" = NOERROR ] && [ "$pa3" = "$pa" ] || lab_fail "the existing pair lost its relay ($st, port $pa3)"
lab_ping_until alice "${LAB_TUN[bob]}" 10 || lab_fail "the existing relay stopped working"
echo "alice <-> bob keeps port $pa and works"

lab_head "a reload with another rate limit keeps the allocations"
echo "rate-limit = 100M" >>"$LAB_RUN/reg.conf"
lab_ctl reg reload >/dev/null || lab_fail "reload with a rate limit failed"
[ "$(relay_status 'r["rate_limit_bps"]')" = 100000000 ] || lab_fail "the rate limit was not applied"
[ "$(relay_status 'r["allocations"]')" = 2 ] || lab_fail "a rate-limit reload dropped allocations"
lab_ping_until alice "${LAB_TUN[bob]}" 10 || lab_fail "the relay stopped working after the reload"
echo "rate limit 100 MB/s applied, $(relay_status 'r["allocations"]') allocations kept, ping ok"

lab_head "idle allocations are freed"
lab_in alice wg set "${LAB_DEV[alice]}" peer "${LAB_KEY[bob]}" remove
lab_in bob wg set "${LAB_DEV[bob]}" peer "${LAB_KEY[alice]}" remove
no_allocations()
{
	[ "$(relay_status 'r["allocations"]')" = 0 ]
}
lab_wait 60 no_allocations || lab_fail "allocations were not freed after the traffic stopped"
echo "freed: $(relay_status 'r["allocations_freed_idle"]') allocation(s)"
lab_in reg ss -Hlun | grep -q ":5000[0-9]\b\|:500[1-9][0-9]\b" && lab_fail "relay ports are still open: $(lab_in reg ss -Hlun)"
echo "no relay port open any more"
grep 'relay: allocation' "$LAB_RUN/wgsd-reg.log" | sed 's/^/  log: /'
lab_ctl reg metrics | grep '^wgsd_relay_' | grep -v '_allocation_' | sed 's/^/  /'

lab_head "a reload without [relay] turns the relay off"
sed -i '/^\[relay\]/,$d' "$LAB_RUN/reg.conf"
lab_ctl reg reload >/dev/null || lab_fail "reload without [relay] failed"
[ "$(lab_status reg 's["registry"]["relay"]')" = None ] || lab_fail "the relay is still on after the reload"
read -r st _ _ _ <<<"$(relay_dig alice bob)"
echo "relay query without a relay: $st"
[ "$st" = NXDOMAIN ] || lab_fail "a relay query without [relay] answered $st, not NXDOMAIN"

echo "figure: relay up after $LAB_MS ms of pinging; $relayed bytes relayed; registry tunnel counters moved $reg_moved bytes"
echo "ok"
