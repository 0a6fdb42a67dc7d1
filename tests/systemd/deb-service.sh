#!/bin/bash
# SPDX-License-Identifier: MIT
# Guest script of systemd-deb (tests/systemd/deb-host.sh: systemd is PID 1):
# the Debian package installed with dpkg -i, under a real systemd, with
# kernel WireGuard devices and wireguard-go ones.
# - install: the unit is enabled and started, and skipped (not failed) while
#   the shipped /etc/wgsd/wgsd.conf configures nothing;
# - start: active, STATUS=, the packaged /usr/sbin/wgsd, DNS answers for both
#   backends, and as a client the endpoints of peers it shares with the
#   registry are set (kernel and wireguard-go);
# - journald priorities: info, notice, warning (a zone's device deleted) and
#   err (an invalid reload);
# - systemctl reload with a valid file (new zone, same process) and an
#   invalid one (stays active, the running configuration answers, STATUS=
#   and the journal say why);
# - sandbox from inside the service: /run and /etc read-only, /run/wgsd
#   writable, only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, no new
#   privileges, seccomp filter; systemd-analyze security <= 2.0;
# - watchdog: a stopped (SIGSTOP) process is killed and restarted;
# - a crash (SIGSEGV, SIGKILL) is restarted; systemctl stop removes the
#   status socket; apt-get purge removes everything.
# usage: deb-service.sh DEB DIR   (DIR: keys and configurations, deb-host.sh)
set -eu

# shellcheck source=guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

require_systemd
deb=${1:?usage: deb-service.sh DEB DIR}
dir=${2:?usage: deb-service.sh DEB DIR}
# shellcheck source=/dev/null
. "$dir/keys.env"
version=$(dpkg-deb -f "$deb" Version)
conf=/etc/wgsd/wgsd.conf

# The unit's main PID; fails on none.
main_pid()
{
	local p
	p=$(systemctl show -P MainPID wgsd)
	case "$p" in '' | 0) fail "wgsd has no main PID" ;; esac
	echo "$p"
}
# True when the unit is active with a main PID other than $1.
restarted_from()
{
	local p
	[ "$(systemctl show -P ActiveState wgsd)" = active ] || return 1
	p=$(systemctl show -P MainPID wgsd)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ]
}
# True when device $1's peer $2 has endpoint $3.
endpoint_is()
{
	wg show "$1" endpoints | grep -qxF "$2	$3"
}
# The unit's journal of this boot at syslog priority $1 only, messages only.
journal_prio()
{
	journalctl -b --no-pager -o cat -u wgsd -p "$1..$1"
}
# True when the unit's journal holds $2 (fixed string) at syslog priority $1.
journal_at()
{
	journal_prio "$1" | grep -qF -- "$2"
}
# True when the unit is active with main PID $1.
active_as()
{
	[ "$(systemctl show -P ActiveState wgsd)" = active ] && [ "$(systemctl show -P MainPID wgsd)" = "$1" ]
}
# A public key's DNS-SD label: base32 of its 32 bytes.
label_of()
{
	echo "$1" | base64 -d | base32 -w 0
}

step "a clean overlay: no wgsd of the host's own"
if dpkg-query -W -f='${Status}' wgsd 2>/dev/null | grep -q 'ok installed'; then
	dpkg --purge wgsd >/dev/null
fi
# A meson install on the host would shadow /usr/sbin/wgsd (the unit's
# ExecStart= looks in /usr/local/sbin first) or override the unit.
rm -rf /etc/wgsd /var/lib/wgsd /usr/local/sbin/wgsd /usr/local/bin/wgsdctl \
	/etc/systemd/system/wgsd.service /etc/systemd/system/wgsd.service.d
# man-db's trigger would re-index every manual page (minutes under TCG);
# this file is its documented switch.
rm -f /var/lib/man-db/auto-update

step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/root/dpkg.log 2>&1 || {
	cat /root/dpkg.log
	fail "dpkg -i failed"
}
[ "$(dpkg-query -W -f='${Status} ${Version}' wgsd)" = "install ok installed $version" ] ||
	fail "dpkg says: $(dpkg-query -W -f='${Status} ${Version}' wgsd)"
ok "wgsd $version installed"
[ "$(systemctl is-enabled wgsd)" = enabled ] || fail "wgsd.service is $(systemctl is-enabled wgsd), not enabled"
ok "wgsd.service enabled on installation"
# The postinst started it; the start condition skipped it.
wait_for 10 journal_at 5 "$conf configures no role" ||
	fail "the postinst's start left no 'configures no role' notice in the journal"
[ "$(systemctl show -P ActiveState wgsd)" = inactive ] ||
	fail "unconfigured wgsd is $(systemctl show -P ActiveState wgsd), not inactive"
[ "$(systemctl show -P Result wgsd)" = exec-condition ] ||
	fail "unconfigured wgsd's result is $(systemctl show -P Result wgsd), not exec-condition"
ok "the postinst's start was skipped (ExecCondition=), with a notice (priority 5) saying why"
systemctl start wgsd || fail "systemctl start of the unconfigured wgsd failed"
! systemctl -q is-failed wgsd || fail "systemctl start failed the unconfigured unit"
[ "$(systemctl show -P ActiveState wgsd)" = inactive ] || fail "unconfigured wgsd started"
ok "systemctl start before configuring: skipped again, not failed"

step "kernel devices wg0 (3 peers), wgx0 (1), client wgc0; wireguard-go wgu0 (2), client wguc0"
ip link add wg0 type wireguard
wg set wg0 private-key "$dir/wg0.key" listen-port 51820 \
	peer "$K1" endpoint 192.0.2.1:51821 allowed-ips 10.0.0.1/32 \
	peer "$K2" endpoint 192.0.2.2:51822 allowed-ips 10.0.0.2/32 \
	peer "$K3" endpoint 192.0.2.3:51823 allowed-ips 10.0.0.3/32
ip addr add 10.0.0.254/24 dev wg0
ip link set wg0 up
ip link add wgx0 type wireguard
wg set wgx0 private-key "$dir/wgx0.key" listen-port 51840 \
	peer "$X1" endpoint 203.0.113.9:51841 allowed-ips 10.3.0.1/32
ip link add wgc0 type wireguard
wg set wgc0 private-key "$dir/wgc0.key" listen-port 51850 peer "$K1" allowed-ips 10.2.0.1/32
for dev in wgu0 wguc0; do
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$dev" >"/root/$dev.log" 2>&1 ||
		{ cat "/root/$dev.log"; fail "wireguard-go $dev did not start"; }
	wait_for 20 test -S "/run/wireguard/$dev.sock" || fail "no /run/wireguard/$dev.sock"
done
wg set wgu0 private-key "$dir/wgu0.key" listen-port 51830 \
	peer "$U1" endpoint 198.51.100.1:51831 allowed-ips 10.1.0.1/32 \
	peer "$U2" endpoint 198.51.100.2:51832 allowed-ips 10.1.0.2/32
wg set wguc0 private-key "$dir/wguc0.key" listen-port 51860 peer "$U1" allowed-ips 10.4.0.1/32

step "configure both roles; systemctl start wgsd"
install -m 0644 "$dir/wgsd.conf" "$conf"
systemctl start wgsd || fail "systemctl start wgsd failed"
[ "$(systemctl is-active wgsd)" = active ] || fail "wgsd is not active"
pid=$(main_pid)
[ "$(readlink "/proc/$pid/exe")" = /usr/sbin/wgsd ] ||
	fail "the unit runs $(readlink "/proc/$pid/exe"), not the packaged /usr/sbin/wgsd"
ok "Type=notify start: active, main PID $pid is /usr/sbin/wgsd"
wait_for 10 status_has "3 zone(s) on 1 listener(s), 2 client device(s)" ||
	fail "STATUS= is '$(systemctl show -P StatusText wgsd)'"
ok "STATUS=: $(systemctl show -P StatusText wgsd)"
wgsdctl status >/dev/null || fail "wgsdctl status on /run/wgsd/wgsd.sock"
ok "the packaged wgsdctl answers on the status socket"
wait_for 10 journal_at 6 "wgsd $version started (config $conf" ||
	fail "no start message at info priority (6)"
ok "start message at info priority (6)"

step "DNS: the registry answers for the kernel and the wireguard-go device"
wait_for 10 zone_has example.com. 3 || fail "kernel zone: $(ptr_count example.com.) PTR records, want 3"
ok "dig: 3 peers of the kernel device wg0"
wait_for 10 zone_has user.test. 2 || fail "userspace zone: $(ptr_count user.test.) PTR records, want 2"
ok "dig: 2 peers of the wireguard-go device wgu0"
a=$(dig @10.0.0.254 +tries=1 +time=3 +short "$(label_of "$K1").example.com." A)
[ "$a" = 192.0.2.1 ] || fail "A of K1's name: '$a', want 192.0.2.1"
ok "dig: K1's address record is its endpoint's address"

step "client role: wgsd sets the endpoints of the peers it shares with the registry"
wait_for 30 endpoint_is wgc0 "$K1" 192.0.2.1:51821 ||
	fail "wgc0 (kernel): K1's endpoint is '$(wg show wgc0 endpoints)', want 192.0.2.1:51821"
ok "kernel client device wgc0: K1's endpoint set to 192.0.2.1:51821"
wait_for 30 endpoint_is wguc0 "$U1" 198.51.100.1:51831 ||
	fail "wguc0 (wireguard-go): U1's endpoint is '$(wg show wguc0 endpoints)', want 198.51.100.1:51831"
ok "wireguard-go client device wguc0: U1's endpoint set to 198.51.100.1:51831 (UAPI under the read-only /run)"

step "journald priorities: a zone's device deleted is a warning (4)"
wait_for 10 zone_has gone.test. 1 || fail "zone gone.test.: $(ptr_count gone.test.) PTR records, want 1"
ip link del wgx0
wait_for 20 journal_at 4 "zone gone.test.:" || fail "no warning (priority 4) about zone gone.test."
ok "warning at priority 4: $(journal_prio 4 | grep -F 'zone gone.test.:' | head -n 1)"

step "systemctl reload wgsd: a valid file adds a zone"
install -m 0644 "$dir/reload.conf" "$conf"
systemctl reload wgsd || fail "systemctl reload wgsd failed"
wait_for 20 status_has "4 zone(s)" || fail "STATUS= after reload is '$(systemctl show -P StatusText wgsd)'"
wait_for 10 zone_has other.test. 3 || fail "zone added by reload: $(ptr_count other.test.) PTR records, want 3"
active_as "$pid" || fail "wgsd is not active in the same process after reload"
journal_at 6 "configuration reloaded" || fail "no 'configuration reloaded' at info priority"
ok "reload applied in the same process; dig answers the new zone; STATUS=: $(systemctl show -P StatusText wgsd)"

step "systemctl reload wgsd: an invalid file is refused, the running configuration stays"
install -m 0644 "$dir/broken.conf" "$conf"
line=$(grep -n '^refresh = soon$' "$conf" | cut -d: -f1)
systemctl reload wgsd || fail "systemctl reload wgsd (invalid file) failed"
wait_for 20 status_has "reload failed, running configuration kept" ||
	fail "STATUS= after an invalid reload is '$(systemctl show -P StatusText wgsd)'"
ok "STATUS=: $(systemctl show -P StatusText wgsd)"
wait_for 10 journal_at 3 "reload failed, keeping the running configuration: $conf:$line: [zone broken.test.] refresh" ||
	fail "no error (priority 3) naming $conf:$line"
ok "error at priority 3: $(journal_prio 3 | tail -n 1)"
active_as "$pid" || fail "wgsd is not active in the same process after an invalid reload"
zone_has other.test. 3 || fail "the running configuration's zone other.test. stopped answering"
ok "still active in the same process; the running configuration answers"
# The restarts below read the file again.
install -m 0644 "$dir/reload.conf" "$conf"

# SIGSTOP first: the watchdog takes WatchdogSec= (30 s) to fire, and the
# sandbox checks and systemd-analyze need no running process, so they fill
# the wait.
step "watchdog: SIGSTOP the main process (the checks below run meanwhile)"
kill -STOP "$pid"

step "sandbox, seen from inside the (stopped) service"
[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "wgsd shares the test's mount namespace: no sandbox at all"
expect_read_only /run
expect_read_only /etc
expect_read_only /etc/wgsd
mkdir -p /run/systemd/system
expect_read_only /run/systemd/system
expect_runtime_dir_writable
# Field $1 of /proc/$pid/status.
proc_status()
{
	sed -n "s/^$1:[[:space:]]*//p" "/proc/$pid/status"
}
# CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12): 0x400 | 0x1000.
caps=0000000000001400
for set in CapBnd CapEff CapPrm; do
	[ "$(proc_status "$set")" = "$caps" ] ||
		fail "$set is $(proc_status "$set") ($(capsh --decode="$(proc_status "$set")" 2>/dev/null)), want $caps"
done
for set in CapInh CapAmb; do
	[ "$(proc_status "$set")" = 0000000000000000 ] || fail "$set is $(proc_status "$set"), want none"
done
ok "capabilities: bounding, effective and permitted sets are $(capsh --decode=$caps | cut -d= -f2), nothing inheritable or ambient"
[ "$(proc_status NoNewPrivs)" = 1 ] || fail "NoNewPrivs is $(proc_status NoNewPrivs)"
ok "NoNewPrivs: 1"
[ "$(proc_status Seccomp)" = 2 ] || fail "Seccomp is $(proc_status Seccomp), want 2 (filter)"
ok "Seccomp: 2 (filter)"

step "systemd-analyze security on the installed unit"
out=$(systemd-analyze security --no-pager wgsd 2>&1) || true
level=$(echo "$out" | sed -n 's/.*Overall exposure level for wgsd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || {
	echo "$out" | tail -n 5
	fail "no exposure level from systemd-analyze security wgsd"
}
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure level $level > 2.0"
ok "systemd-analyze security wgsd: $level <= 2.0"

step "watchdog: the stopped process is killed and restarted"
restarts=$(systemctl show -P NRestarts wgsd)
wait_for 90 restarted_from "$pid" || {
	kill -CONT "$pid" 2>/dev/null || true
	fail "the stopped wgsd (PID $pid) was not restarted"
}
journal | grep -qF "Watchdog timeout" || fail "no 'Watchdog timeout' from systemd in the journal"
[ "$(systemctl show -P NRestarts wgsd)" -gt "$restarts" ] || fail "NRestarts did not grow"
pid=$(main_pid)
wait_for 20 status_has "4 zone(s)" || fail "STATUS= after the watchdog restart is '$(systemctl show -P StatusText wgsd)'"
ok "watchdog timeout: restarted as PID $pid, STATUS=: $(systemctl show -P StatusText wgsd)"

for sig in SEGV KILL; do
	step "a crash (SIG$sig) is restarted (Restart=on-failure)"
	restarts=$(systemctl show -P NRestarts wgsd)
	kill -"$sig" "$pid"
	wait_for 60 restarted_from "$pid" || fail "wgsd was not restarted after SIG$sig"
	[ "$(systemctl show -P NRestarts wgsd)" -gt "$restarts" ] || fail "NRestarts did not grow after SIG$sig"
	journal | grep -q "Main process exited, code=[a-z]*, status=[0-9]*/$sig" ||
		fail "no 'Main process exited ... $sig' in the journal"
	pid=$(main_pid)
	wait_for 10 zone_has example.com. 3 || fail "no answers after the restart from SIG$sig"
	ok "SIG$sig: restarted as PID $pid, answering again"
done

step "systemctl stop wgsd"
systemctl stop wgsd
[ "$(systemctl show -P ActiveState wgsd)" = inactive ] || fail "wgsd is $(systemctl show -P ActiveState wgsd) after stop"
[ "$(systemctl show -P Result wgsd)" = success ] || fail "stop result: $(systemctl show -P Result wgsd)"
[ ! -e /run/wgsd/wgsd.sock ] || fail "/run/wgsd/wgsd.sock is still there"
! wgsdctl status >/dev/null 2>&1 || fail "wgsdctl status still answers"
ok "clean stop, the status socket is gone"

step "apt-get purge wgsd (while it runs)"
systemctl start wgsd || fail "systemctl start wgsd failed"
pid=$(main_pid)
files=$(dpkg -L wgsd)
apt-get purge -y -q -o Dpkg::Use-Pty=0 wgsd >/root/purge.log 2>&1 || {
	cat /root/purge.log
	fail "apt-get purge wgsd failed"
}
! kill -0 "$pid" 2>/dev/null || fail "wgsd (PID $pid) still runs after the purge"
if dpkg-query -W -f='${Status}' wgsd 2>/dev/null | grep -q installed; then
	fail "dpkg still knows wgsd: $(dpkg-query -W -f='${Status}' wgsd)"
fi
# Every file of the package, its own directories, the conffile's directory,
# state, runtime directory and enablement symlinks (directories it shares,
# such as /usr/sbin or /lib, a link to usr/lib, stay).
left=
for f in $files /etc/wgsd /var/lib/wgsd /run/wgsd /etc/systemd/system/multi-user.target.wants/wgsd.service \
	/var/lib/systemd/deb-systemd-helper-enabled/wgsd.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/wgsd.service; do
	if [ -d "$f" ]; then
		case "$f" in *wgsd*) ;; *) continue ;; esac
	fi
	if [ -e "$f" ] || [ -L "$f" ]; then
		left="$left $f"
	fi
done
[ -z "$left" ] || fail "left after the purge:$left"
[ "$(systemctl show -P LoadState wgsd)" = not-found ] || fail "systemd still loads wgsd.service"
ok "purged: the process, files, conffile, enablement and state are gone"

echo "PASS: $pass checks"
