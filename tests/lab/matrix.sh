#!/bin/bash
# SPDX-License-Identifier: MIT
# Connectivity matrix (issue 14): every NAT situation people live behind, one
# row each, built fresh in network namespaces (wireguard-go, nftables NATs,
# wgsd from conf/*.conf as in the other lab scenarios), measured the same way:
#
#   path     direct / relayed / none, from where the packets of a fixed
#            exchange (100 pings of 1000 bytes alice -> bob) flowed: bob's
#            WireGuard counters for alice, the registry's WireGuard counters,
#            an nftables meter of everything else reaching the registry host
#            (a relay), the routers' hairpin counters; `wg show` endpoints
#            say which way (LAN, IPv6, public, hairpinned). Not from wgsd.
#   time     daemons' start to the first ping reply, each direction
#   bytes    through the registry's tunnel and through a relay during the
#            exchange
#   wgsd     alice's `wgsdctl status` on bob
#
# Each row carries the path expected from the code as it stands (MX_TABLE).
# The run fails when a row does worse (a regression) and when it does better
# without its expectation being raised (so the table stays true), and when a
# row cannot be set up. Times are reported, never checked.
#
# Usage: matrix.sh [--jobs N] [--out FILE] [--readme] [--wait S] [ROW...]
#   --jobs N   rows run in parallel (default 3; each is its own topology)
#   --out FILE where MATRIX.md goes (default tests/lab/MATRIX.md; only
#              written when every row ran)
#   --readme   also rewrite the table in README.md's matrix section
#   --wait S   how long a row waits for a first reply (default 40)
#   ROW...     run only these rows (names from MX_TABLE)
# Internal: matrix.sh --row NAME --result FILE runs one row.
set -eu
MX_SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# name | expected | scenario | NAT A (alice) | NAT B (bob)
# Raise "expected" when a feature improves a row (candidates, port mapping,
# relay); the order of paths is none < relayed < direct; "LOW/HIGH" marks a
# row known to race. Row 4 is relayed/direct: NAT B gives each new
# destination a random port from 10,000, and when the one it picks for bob's
# flow to alice is the port it already uses toward the registry (about 1 in
# 10,000), that is the port alice punched, NAT A lets bob in, and the pair is
# direct. Seen once (a full suite run at 2b6f974: alice's endpoint for bob
# 203.0.113.20:46032 and bob's packets from it); relayed in every other run,
# 15 of 15 in a row right after. The row log's "registry sees" line shows the
# coincidence when it happens. Rows 9a-9d raced until the relay became
# the last resort (issue 16): the client asked for a relay after relay-after
# at the registry's endpoint while the candidate walk had not reached the
# mapped candidate yet, and a mapping granted while the first candidate
# registration was in flight stayed unregistered for half a lease (9a
# relayed 3/3, 9d relayed 1/2 before). Now the relay waits until the walk
# has nothing left to try, and a changed set is registered at once:
# measured 9a-9d direct 6/6 each; 4, 5, 7 relayed and 2, 7h direct, as
# expected. Row 12 measured direct 3/3 (both sides counted the move, 7-21 s
# after NAT B changed).
MX_TABLE=(
	"cone|direct|1. two different NATs|cone|cone"
	"same-nat|direct|2. same NAT, no hairpinning|cone, no hairpinning|(alice's router)"
	"same-nat-hairpin|direct|3. same NAT with hairpinning|cone, hairpinning|(alice's router)"
	"cone-symmetric|relayed/direct|4. cone - symmetric|cone|symmetric"
	"symmetric|relayed|5. symmetric - symmetric|symmetric|symmetric"
	"double-nat|direct|6. double NAT (home NAT behind CGN)|cone behind cone CGN|cone"
	"shared-cgn|relayed|7. shared CGN, same home subnet|cone behind CGN (no hairpinning)|cone behind the same CGN"
	"shared-cgn-hairpin|direct|7h. shared CGN with hairpinning, same home subnet|cone behind CGN (hairpinning)|cone behind the same CGN"
	"dual-stack|direct|8. dual stack, IPv4 NATed, IPv6 routed|symmetric v4, firewalled v6|symmetric v4, firewalled v6"
	"portmap-pcp|direct|9a. port-mapping router: PCP|cone|symmetric + PCP (miniupnpd)"
	"portmap-natpmp|direct|9b. port-mapping router: NAT-PMP|cone|symmetric + NAT-PMP (miniupnpd)"
	"portmap-upnp|direct|9c. port-mapping router: UPnP IGD|cone|symmetric + UPnP IGD (miniupnpd)"
	"portmap-pcp-both|direct|9d. port mapping on both sides: PCP|symmetric + PCP (miniupnpd)|symmetric + PCP (miniupnpd)"
	"rebind|direct|10. NAT rebinding (mapping flushed)|cone|cone, flushed, new port range"
	"registry-down|direct|11. registry host down, tunnel up|cone|cone"
	"relay-upgrade|direct|12. relayed, then NAT B becomes endpoint-independent|cone|symmetric, then cone"
)

# Rank of a path for the comparison with the expectation.
mx_rank()
{
	case "$1" in
	none) echo 0 ;;
	relayed) echo 1 ;;
	direct) echo 2 ;;
	*) echo -1 ;;
	esac
}

# The MX_TABLE line of row $1 (fails when there is none).
mx_row_line()
{
	local l

	for l in "${MX_TABLE[@]}"; do
		[ "${l%%|*}" = "$1" ] && { echo "$l"; return 0; }
	done
	return 1
}

# ---------------------------------------------------------------------------
# One row (matrix.sh --row NAME --result FILE), in its own process: lib.sh's
# EXIT trap removes its namespaces whatever happens.

# Two homes on the public segment: alice behind nata, bob behind natb.
mx_two_homes()
{
	mx_public
	mx_router nata 192.168.1 pub
	mx_router natb 192.168.2 pub
	mx_host alice 192.168.1.2 nata
	mx_host bob 192.168.2.2 natb
	mx_links
}

# WireGuard, the daemons, the first replies, the exchange and the diagnosis.
mx_measure()
{
	mx_reach
	mx_meter
	lab_wireguard
	lab_daemons
	mx_first_replies "$MX_WAIT"
	mx_exchange
	MX_DIAG=$(mx_diagnosis)
}

# 1: two homes, each behind its own cone NAT.
row_cone()
{
	mx_two_homes
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb cone no-hairpin
	mx_measure
}

# Alice and bob on one LAN behind one router (nata).
mx_same_lan()
{
	mx_public
	mx_router nata 192.168.1 pub
	mx_host alice 192.168.1.2 nata
	mx_host bob 192.168.1.3 nata
	mx_links
	mx_nat_rules nata cone "$1"
	mx_measure
}
# 2: the router does not hairpin.
row_same-nat() { mx_same_lan no-hairpin; }
# 3: the router hairpins.
row_same-nat-hairpin() { mx_same_lan hairpin; }

# 4: alice behind a cone NAT, bob behind a symmetric one.
row_cone-symmetric()
{
	mx_two_homes
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb symmetric no-hairpin
	mx_measure
}

# 5: both behind symmetric NATs.
row_symmetric()
{
	mx_two_homes
	mx_nat_rules nata symmetric no-hairpin
	mx_nat_rules natb symmetric no-hairpin
	mx_measure
}

# 6: alice's home router sits behind a CGN (100.64.0.0/24 between them).
row_double-nat()
{
	mx_public
	mx_cgn
	mx_router nata 192.168.1 cgn 100.64.0.10
	mx_router natb 192.168.2 pub
	mx_host alice 192.168.1.2 nata
	mx_host bob 192.168.2.2 natb
	mx_links
	mx_nat_rules cgn cone no-hairpin
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb cone no-hairpin
	mx_measure
}

# Both homes behind one CGN, both on 192.168.1.0/24: bob's LAN address is
# meaningless in alice's home (there it is nobody). $1: the CGN hairpins or not.
mx_shared_cgn()
{
	mx_public
	mx_cgn
	mx_router nata 192.168.1 cgn 100.64.0.10
	mx_router natb 192.168.1 cgn 100.64.0.20
	mx_host alice 192.168.1.2 nata
	mx_host bob 192.168.1.3 natb
	mx_links
	mx_nat_rules cgn cone "$1"
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb cone no-hairpin
	lab_in alice ping -c 1 -W 1 "${LAB_LAN4[bob]}" >/dev/null 2>&1 &&
		lab_fail "alice reaches bob's LAN address ${LAB_LAN4[bob]}: the homes are not separate"
	mx_measure
}
# 7: the CGN does not hairpin.
row_shared-cgn() { mx_shared_cgn no-hairpin; }
# 7h: the CGN hairpins.
row_shared-cgn-hairpin() { mx_shared_cgn hairpin; }

# 8: IPv4 through symmetric NATs, IPv6 routed behind stateful firewalls; alice
# and bob reach the registry over IPv4.
row_dual-stack()
{
	MX_V6=1
	mx_two_homes
	mx_nat_rules nata symmetric no-hairpin
	mx_nat_rules natb symmetric no-hairpin
	lab_in alice ping -6 -c 1 -W 2 "${LAB_PUB6[reg]}" >/dev/null || lab_fail "alice has no IPv6 route to the public segment"
	lab_in reg ping -6 -c 1 -W 1 "${LAB_LAN6[bob]}" >/dev/null 2>&1 &&
		lab_fail "unsolicited IPv6 reaches bob: NAT B's firewall lets it in"
	mx_measure
}

# Bob's router is symmetric and maps ports with protocol $1 (miniupnpd);
# with $2 = both, alice's router too.
mx_portmap()
{
	mx_two_homes
	if [ "${2:-}" = both ]; then
		mx_nat_rules nata symmetric no-hairpin "$1"
	else
		mx_nat_rules nata cone no-hairpin
	fi
	mx_nat_rules natb symmetric no-hairpin "$1"
	mx_stun
	mx_miniupnpd natb bob "$1"
	[ "${2:-}" = both ] && mx_miniupnpd nata alice "$1"
	# The client behind a mapping router asks it (auto: PCP, NAT-PMP, UPnP IGD in turn).
	LAB_PORT_MAPPING[bob]=auto
	if [ "${2:-}" = both ]; then LAB_PORT_MAPPING[alice]=auto; fi
	mx_measure
}
# 9a: bob's router speaks PCP only.
row_portmap-pcp() { mx_portmap pcp; }
# 9b: bob's router speaks NAT-PMP only.
row_portmap-natpmp() { mx_portmap natpmp; }
# 9c: bob's router speaks UPnP IGD only.
row_portmap-upnp() { mx_portmap upnp; }
# 9d: both routers symmetric, both speak PCP.
row_portmap-pcp-both() { mx_portmap pcp both; }

# 10: a direct tunnel, then NAT B loses every mapping and maps to another port
# range: time until alice reaches bob again.
row_rebind()
{
	local t0

	mx_two_homes
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb cone no-hairpin
	mx_reach
	mx_meter
	lab_wireguard
	lab_daemons
	mx_first_replies "$MX_WAIT"
	if [ "$MX_T_AB" = - ]; then
		MX_NOTE="no tunnel before the rebinding"
	else
		MX_PORTS[natb]=50000-50999
		mx_nat_rules natb cone no-hairpin
		t0=$(lab_now_ms)
		lab_nat_flush natb
		if lab_in alice ping -n -q -c 1 -i 0.2 -w 60 "${LAB_TUN[bob]}" >/dev/null 2>&1; then
			MX_NOTE="back $(mx_time $(($(lab_now_ms) - t0))) after the flush"
		else
			MX_NOTE="not back within 60 s of the flush"
		fi
	fi
	lab_log "$MX_NOTE"
	mx_exchange
	MX_DIAG=$(mx_diagnosis)
}

# 11: a direct tunnel, then the registry's host drops off the network (its
# switch port down) for 30 s: the tunnel must stay up throughout.
row_registry-down()
{
	local out n

	mx_two_homes
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb cone no-hairpin
	mx_reach
	mx_meter
	lab_wireguard
	lab_daemons
	mx_first_replies "$MX_WAIT"
	lab_in pub ip link set reg down || lab_fail "cannot take the registry's port down"
	lab_log "registry host off the network"
	out=$(lab_in alice ping -n -q -c 150 -i 0.2 -W 1 "${LAB_TUN[bob]}" 2>&1 || true)
	n=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	MX_NOTE="${n:-0}/150 replies in 30 s without the registry"
	lab_log "$MX_NOTE"
	mx_exchange
	# The tunnel stayed up only if (nearly) every ping during the outage came back.
	[ "${n:-0}" -ge 135 ] || MX_PATH=none
	MX_DIAG=$(mx_diagnosis)
}

# Node $1's relay stage for peer $2 (wgsdctl status), "?" when unknown.
mx_relay_stage()
{
	lab_status "$1" "next(q for q in s['client']['devices'][0]['peers'] if q['public_key'] == '${LAB_KEY[$2]}')['relay']['stage']" 2>/dev/null ||
		echo "?"
}

# Node $1's count of moves from the relay to direct for peer $2 (wgsdctl status).
mx_relay_upgrades()
{
	lab_status "$1" "next(q for q in s['client']['devices'][0]['peers'] if q['public_key'] == '${LAB_KEY[$2]}')['relay']['upgrades']" 2>/dev/null ||
		echo "?"
}

# True when both sides counted a move from the relay to direct.
mx_upgrade_counted()
{
	[ "$(mx_relay_upgrades alice bob)" = 1 ] && [ "$(mx_relay_upgrades bob alice)" = 1 ]
}

# True when both sides hold the relay endpoint for each other.
mx_both_relayed()
{
	[ "$(mx_relay_stage alice bob)" = relayed ] && [ "$(mx_relay_stage bob alice)" = relayed ]
}

# True when neither side's endpoint is the relay's ($1: alice's, $2: bob's
# relay endpoints), neither wgsd is in the middle of a direct try (it could
# still write the relay back), and alice reaches bob.
mx_both_off_relay()
{
	[ "$(lab_endpoint alice bob)" != "$1" ] && [ "$(lab_endpoint bob alice)" != "$2" ] &&
		[ "$(mx_relay_stage alice bob)" != probing ] && [ "$(mx_relay_stage bob alice)" != probing ] &&
		lab_in alice ping -n -q -c 1 -W 1 "${LAB_TUN[bob]}" >/dev/null 2>&1
}

# 12: cone - symmetric until the pair is relayed (the row fails when it never
# is: that would not test the way back), then NAT B maps independently of
# the destination and loses its mappings, as a router restart would (the
# registry then sees bob's new port): the clients' direct tries (relay-retry)
# must bring the pair back to direct.
row_relay-upgrade()
{
	local t0 ra rb

	mx_two_homes
	mx_nat_rules nata cone no-hairpin
	mx_nat_rules natb symmetric no-hairpin
	mx_reach
	mx_meter
	lab_wireguard
	lab_daemons
	mx_first_replies "$MX_WAIT"
	lab_wait 60 mx_both_relayed || lab_fail "the pair was never relayed (alice: $(mx_relay_stage alice bob), bob: $(mx_relay_stage bob alice)): the upgrade is not tested"
	ra=$(lab_endpoint alice bob)
	rb=$(lab_endpoint bob alice)
	lab_log "relayed: alice -> bob via $ra, bob -> alice via $rb"
	mx_nat_rules natb cone no-hairpin
	t0=$(lab_now_ms)
	lab_nat_flush natb
	if lab_wait 120 mx_both_off_relay "$ra" "$rb"; then
		MX_NOTE="relayed first, direct $(mx_time $(($(lab_now_ms) - t0))) after NAT B became EIM"
		# For the log (the path is decided by the counters below): wgsd's own account.
		lab_wait 10 mx_upgrade_counted || true
		lab_log "wgsd: relay upgrades counted: alice $(mx_relay_upgrades alice bob), bob $(mx_relay_upgrades bob alice)"
	else
		MX_NOTE="relayed first, still relayed 120 s after NAT B became EIM"
	fi
	lab_log "$MX_NOTE"
	mx_exchange
	MX_DIAG=$(mx_diagnosis)
}

# Run row $1 and write its result to file $2.
mx_row_main()
{
	local name=$1 result=$2 line

	line=$(mx_row_line "$name") || { echo "matrix: no row $name" >&2; exit 2; }
	lab_require dig miniupnpd upnpc
	lab_init
	MX_NOTE="" MX_DIAG=""
	lab_head "row $name: $(echo "$line" | cut -d'|' -f3)"
	"row_$name"
	mx_alive
	{
		echo "path=$MX_PATH"
		echo "via=$MX_VIA"
		echo "t_ab=$MX_T_AB"
		echo "t_ba=$MX_T_BA"
		echo "replies=$MX_REPLIES"
		echo "reg_bytes=$MX_REG_BYTES"
		echo "relay_bytes=$MX_RELAY_BYTES"
		echo "bob_rx=$MX_BOB_RX"
		echo "hairpin=$MX_HAIRPIN"
		echo "endpoints=$MX_ENDPOINTS"
		echo "diag=$MX_DIAG"
		echo "note=$MX_NOTE"
	} >"$result.tmp"
	mv "$result.tmp" "$result"
}

# ---------------------------------------------------------------------------
# The driver: runs rows in parallel, compares, prints and writes the table.

# Milliseconds (or "-") as the table shows them.
mx_time()
{
	case "$1" in
	- | "") echo "-" ;;
	*) printf '%d.%d s' $(($1 / 1000)) $((($1 % 1000) / 100)) ;;
	esac
}

# Bytes as the table shows them.
mx_bytes()
{
	if [ "${1:-0}" -ge 10240 ]; then
		echo "$(($1 / 1024)) KiB"
	else
		echo "${1:-0} B"
	fi
}

# Verdict of a row: ok, or why it fails. An expectation "LOW/HIGH" (e.g.
# relayed/direct) is a row whose outcome is known to depend on a race: either
# is right, worse than LOW is a regression, and HIGH every time means the race
# is gone and the expectation must be narrowed by hand.
mx_verdict()
{
	local expected=$1 achieved=$2 e a hi

	e=$(mx_rank "${expected%/*}") hi=$(mx_rank "${expected#*/}") a=$(mx_rank "$achieved")
	if [ "$a" -lt 0 ]; then
		echo "ERROR: ${achieved:-no result}"
	elif [ "$a" -lt "$e" ]; then
		echo "REGRESSION: expected $expected"
	elif [ "$a" -gt "$hi" ]; then
		echo "BETTER than expected: raise its expectation in matrix.sh"
	else
		echo ok
	fi
}


# Markdown table of the results in directory $1 for rows "$@" (after $2);
# $2: "full" (MATRIX.md) or "short" (README.md: without wgsd's diagnosis).
mx_markdown()
{
	local dir=$1 form=$2 name line title nata natb expected
	shift 2

	if [ "$form" = full ]; then
		echo "| scenario | NAT A (alice) | NAT B (bob) | expected | achieved | via | first reply a→b / b→a | bytes via registry / relay | wgsd on bob (alice's status) | note |"
		echo "|---|---|---|---|---|---|---|---|---|---|"
	else
		echo "| scenario | NAT A (alice) | NAT B (bob) | expected | achieved | via | first reply a→b / b→a | bytes via registry / relay | note |"
		echo "|---|---|---|---|---|---|---|---|---|"
	fi
	for name in "$@"; do
		line=$(mx_row_line "$name")
		IFS='|' read -r _ expected title nata natb <<<"$line"
		mx_load "$dir/$name.res"
		printf '| %s | %s | %s | %s | **%s** | %s | %s / %s | %s / %s |' \
			"$title" "$nata" "$natb" "$expected" "${R[path]:-error}" "${R[via]:--}" \
			"$(mx_time "${R[t_ab]:-}")" "$(mx_time "${R[t_ba]:-}")" \
			"$(mx_bytes "${R[reg_bytes]:-0}")" "$(mx_bytes "${R[relay_bytes]:-0}")"
		[ "$form" = full ] && printf ' %s |' "${R[diag]:--}"
		printf ' %s |\n' "${R[note]:-}"
	done
}

# Read result file $1 into the associative array R (empty when missing).
mx_load()
{
	local k v

	R=()
	[ -f "$1" ] || return 0
	while IFS='=' read -r k v; do
		R[$k]=$v
	done <"$1"
}
declare -A R

# Replace the table between the matrix markers of README.md with file $1's table.
mx_readme()
{
	local readme=$LAB_SRCDIR/README.md table=$1

	grep -q '^<!-- matrix:begin -->' "$readme" && grep -q '^<!-- matrix:end -->' "$readme" ||
		{ echo "matrix: README.md has no matrix markers" >&2; return 1; }
	awk -v t="$table" '
		/^<!-- matrix:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
		/^<!-- matrix:end -->/ { skip = 0 }
		!skip { print }' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
	echo "matrix: README.md's table updated"
}

# Run the rows (options: see the header), print the table, write MATRIX.md.
mx_driver()
{
	local jobs=3 out="" readme=0 rows=() name dir all=1 failed=0 line expected v id=0 t0
	declare -A pids=()

	while [ $# -gt 0 ]; do
		case "$1" in
		--jobs) jobs=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--readme) readme=1; shift ;;
		--wait) export MX_WAIT=$2; shift 2 ;;
		-h | --help) sed -n '2,/^set -eu/p' "$MX_SELF" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
		-*) echo "matrix: unknown option $1" >&2; exit 2 ;;
		*) mx_row_line "$1" >/dev/null || { echo "matrix: no row $1" >&2; exit 2; }
			rows+=("$1"); all=0; shift ;;
		esac
	done
	if [ "$all" = 1 ]; then
		for line in "${MX_TABLE[@]}"; do
			rows+=("${line%%|*}")
		done
	fi
	# Skip (77) or, in CI, fail here once rather than in every row.
	lab_require dig miniupnpd upnpc
	[ -n "$out" ] || out=$LAB_SRCDIR/tests/lab/MATRIX.md
	dir=$(mktemp -d "${TMPDIR:-/tmp}/wgsd-matrix.XXXXXX")
	trap 'kill ${pids[*]} 2>/dev/null; wait; rm -rf "$dir"; exit 143' INT TERM
	t0=$SECONDS
	# Rows expected to find no path wait longest: start them first.
	local order=()
	for name in "${rows[@]}"; do
		[ "$(mx_row_line "$name" | cut -d'|' -f2)" = none ] && order+=("$name")
	done
	for name in "${rows[@]}"; do
		[ "$(mx_row_line "$name" | cut -d'|' -f2)" = none ] || order+=("$name")
	done
	echo "matrix: ${#order[@]} rows, $jobs at a time; logs in $dir"
	for name in "${order[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n || true
		done
		id=$((id + 1))
		LAB_ID=m$$$(printf '%02d' "$id") "$MX_SELF" --row "$name" --result "$dir/$name.res" >"$dir/$name.log" 2>&1 &
		pids[$name]=$!
		echo "matrix: [$((SECONDS - t0))s] started $name"
	done
	for name in "${order[@]}"; do
		wait "${pids[$name]}" || true
	done
	trap - INT TERM
	echo "matrix: all rows done in $((SECONDS - t0)) s"

	echo
	printf '%-20s %-8s %-8s %-24s %-10s %-10s %-9s %-9s %s\n' row expected achieved via "a->b" "b->a" registry relay verdict
	for name in "${rows[@]}"; do
		expected=$(mx_row_line "$name" | cut -d'|' -f2)
		mx_load "$dir/$name.res"
		v=$(mx_verdict "$expected" "${R[path]:-}")
		printf '%-20s %-8s %-8s %-24s %-10s %-10s %-9s %-9s %s\n' "$name" "$expected" "${R[path]:-error}" \
			"${R[via]:--}" "$(mx_time "${R[t_ab]:-}")" "$(mx_time "${R[t_ba]:-}")" \
			"$(mx_bytes "${R[reg_bytes]:-0}")" "$(mx_bytes "${R[relay_bytes]:-0}")" "$v"
		[ -n "${R[note]:-}" ] && printf '%20s note: %s\n' "" "${R[note]}"
		[ "$v" = ok ] || failed=$((failed + 1))
	done
	for name in "${rows[@]}"; do
		expected=$(mx_row_line "$name" | cut -d'|' -f2)
		mx_load "$dir/$name.res"
		[ "$(mx_verdict "$expected" "${R[path]:-}")" = ok ] && continue
		echo
		echo "---- row $name: $(mx_verdict "$expected" "${R[path]:-}") ----"
		grep 'FAIL:' "$dir/$name.log" || true
		echo "---- row $name: its log (last 150 lines) ----"
		tail -n 150 "$dir/$name.log"
	done

	if [ "$all" = 1 ]; then
		{
			echo "# Connectivity matrix"
			echo
			echo "Generated by \`tests/lab/matrix.sh\` (meson test \`lab-matrix\`): each row is its own"
			echo "topology of network namespaces, wireguard-go and nftables NATs, with wgsd from"
			echo "\`conf/*.conf\` (client interval 2 s). \"achieved\" comes from where the packets of"
			echo "$MX_PINGS pings of $MX_PING_SIZE bytes alice → bob flowed (WireGuard and nftables counters),"
			echo "\"via\" from bob's \`wg show\` endpoint for alice; times run from the daemons' start"
			echo "(one run on a shared 2-core machine: they vary, and are never checked). A row"
			echo "that does worse or better than \"expected\" fails the test. See README.md,"
			echo "\"Connectivity matrix\", for what each NAT type does."
			echo
			mx_markdown "$dir" full "${rows[@]}"
			echo
			echo "Endpoints (\`wg show\`) after each row's exchange:"
			echo
			for name in "${rows[@]}"; do
				mx_load "$dir/$name.res"
				echo "- $name: ${R[endpoints]:-(no result)}"
			done
		} >"$out.tmp" && mv "$out.tmp" "$out"
		echo
		echo "matrix: wrote $out"
		if [ "$readme" = 1 ]; then
			mx_markdown "$dir" short "${rows[@]}" >"$dir/table.md"
			mx_readme "$dir/table.md"
		fi
	fi
	if [ "${LAB_KEEP:-0}" = 1 ]; then
		echo "matrix: kept $dir"
	else
		rm -rf "$dir"
	fi
	echo
	echo "$((${#rows[@]} - failed)) passed, $failed failed"
	[ "$failed" = 0 ]
}

MX_WAIT=${MX_WAIT:-40}
if [ "${1:-}" = --row ]; then
	[ $# = 4 ] && [ "$3" = --result ] || { echo "usage: matrix.sh --row NAME --result FILE" >&2; exit 2; }
	# At top level: their "declare -A" arrays must be global (the EXIT trap
	# that removes the namespaces reads them after mx_row_main returns).
	. "$(dirname "$MX_SELF")/lib.sh"
	. "$(dirname "$MX_SELF")/matrix-lib.sh"
	mx_row_main "$2" "$4"
else
	. "$(dirname "$MX_SELF")/lib.sh"
	. "$(dirname "$MX_SELF")/matrix-lib.sh"
	mx_driver "$@"
fi
