# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the guest scripts of tests/systemd (sourced; bash). They report
# with "# step" and "ok:" lines and end the script on the first failure with
# the state and journal of the unit wgsd.service. Uses the caller's $pid (the
# service's main PID) where noted; counts checks in $pass.

pass=0

# Print a step heading, with the seconds since boot.
step()
{
	local up
	read -r up _ </proc/uptime
	echo "# [${up%.*} s] $*"
}

# Count and print a passed check.
ok()
{
	pass=$((pass + 1))
	echo "ok: $*"
}

# Print the unit's state and journal, then fail.
fail()
{
	echo "FAIL: $*"
	echo "--- systemctl status wgsd"
	systemctl status --no-pager --full wgsd 2>&1 | tail -n 20 || true
	echo "--- journalctl -u wgsd"
	journalctl -b --no-pager -o short-monotonic -u wgsd 2>&1 | tail -n 40 || true
	exit 1
}

# Fail unless PID 1 is systemd (the script runs through tests/systemd/boot.sh).
require_systemd()
{
	[ "$(cat /proc/1/comm)" = systemd ] || {
		echo "FAIL: PID 1 is $(cat /proc/1/comm), not systemd: run this through tests/systemd/boot.sh"
		exit 1
	}
}

# Wait up to $1 seconds until the command (the other arguments) succeeds.
wait_for()
{
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# Number of PTR records the registry at 10.0.0.254 answers for zone $1.
ptr_count()
{
	dig @10.0.0.254 +tries=1 +time=3 +short "_wireguard._udp.$1" PTR | grep -c "_wireguard._udp.$1\$"
}

# True when zone $1 publishes $2 peers.
zone_has()
{
	[ "$(ptr_count "$1")" = "$2" ]
}

# True when the unit's STATUS= text contains $1.
status_has()
{
	case "$(systemctl show -P StatusText wgsd)" in
	*"$1"*) return 0 ;;
	*) return 1 ;;
	esac
}

# A random 32-byte key in base64 (any 32 bytes are a valid public key for wg set).
rand_key()
{
	head -c 32 /dev/urandom | base64
}

# The unit's journal of this boot, messages only.
journal()
{
	journalctl -b --no-pager -o cat -u wgsd
}

# Fail unless creating a file in $1 inside the mount namespace of $pid fails
# as read-only.
# shellcheck disable=SC2154 # pid: the caller's
expect_read_only()
{
	local out
	if out=$(nsenter -t "$pid" -m touch "$1/wgsd-sandbox-probe" 2>&1); then
		nsenter -t "$pid" -m rm -f "$1/wgsd-sandbox-probe"
		fail "$1 is writable inside the unit"
	fi
	case "$out" in
	*"Read-only file system"*) ok "$1 is read-only inside the unit" ;;
	*) fail "creating a file in $1 failed, but not as read-only: $out" ;;
	esac
	[ ! -e "$1/wgsd-sandbox-probe" ] || fail "$1/wgsd-sandbox-probe appeared"
}

# Fail unless /run/wgsd (RuntimeDirectory=) is writable inside the mount
# namespace of $pid.
expect_runtime_dir_writable()
{
	nsenter -t "$pid" -m sh -c 'touch /run/wgsd/probe && rm /run/wgsd/probe' ||
		fail "/run/wgsd (RuntimeDirectory=) is not writable inside the unit"
	ok "/run/wgsd is writable inside the unit"
}
