#!/bin/bash
# SPDX-License-Identifier: MIT
# Guest script (tests/systemd/boot.sh: systemd is PID 1): the shipped
# systemd/wgsd.service under a real systemd, with the built wgsd on a kernel
# WireGuard device and a wireguard-go one.
# - start: Type=notify start succeeds, the ExecStartPre check logs nothing,
#   the registry answers dig for both devices (the userspace one through
#   /run/wireguard, which the unit sees read-only);
# - sandbox, from inside the service's mount namespace: /run,
#   /run/systemd/system and /run/wireguard are read-only (wgsd runs as root:
#   a writable /run/systemd/system would let it plant a unit), /run/wgsd
#   (RuntimeDirectory=) is writable;
# - systemctl reload applies a new zone and STATUS= follows;
# - systemctl stop ends it cleanly.
set -eu

# shellcheck source=guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"

require_systemd
: "${WGSD:?}" "${WGSDCTL:?}" "${WGSD_SRCDIR:?}"
unit_src=$WGSD_SRCDIR/systemd/wgsd.service

step "install wgsd, wgsdctl and the unit as meson install does (/usr/local, unit in /etc)"
install -m 0755 "$WGSD" /usr/local/sbin/wgsd
install -m 0755 "$WGSDCTL" /usr/local/bin/wgsdctl
install -m 0644 "$unit_src" /etc/systemd/system/wgsd.service
if [ -n "${ASAN_OPTIONS:-}" ]; then
	# A sanitizer build: reports go to the journal (checked below) instead of
	# files the guest cannot hand back; LeakSanitizer needs ptrace, which the
	# unit's system call filter denies, so leaks are left to the other suites.
	mkdir -p /etc/systemd/system/wgsd.service.d
	cat >/etc/systemd/system/wgsd.service.d/sanitizer.conf <<-EOF
		[Service]
		Environment=ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
		Environment=UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	EOF
fi
systemctl daemon-reload

step "a kernel WireGuard device (3 peers) and a wireguard-go one (2 peers)"
(umask 077 && wg genkey >/root/wg0.key && wg genkey >/root/wgu0.key)
ip link add wg0 type wireguard
wg set wg0 private-key /root/wg0.key listen-port 51820 \
	peer "$(rand_key)" endpoint 192.0.2.1:51821 allowed-ips 10.0.0.1/32 \
	peer "$(rand_key)" endpoint 192.0.2.2:51822 allowed-ips 10.0.0.2/32 \
	peer "$(rand_key)" endpoint 192.0.2.3:51823 allowed-ips 10.0.0.3/32
ip addr add 10.0.0.254/24 dev wg0
ip link set wg0 up
WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go wgu0 >/root/wireguard-go.log 2>&1 ||
	{ cat /root/wireguard-go.log; fail "wireguard-go did not start"; }
wait_for 20 test -S /run/wireguard/wgu0.sock || fail "no /run/wireguard/wgu0.sock"
wg set wgu0 private-key /root/wgu0.key listen-port 51830 \
	peer "$(rand_key)" endpoint 198.51.100.1:51831 allowed-ips 10.1.0.1/32 \
	peer "$(rand_key)" endpoint 198.51.100.2:51832 allowed-ips 10.1.0.2/32

mkdir -p /etc/wgsd
write_conf()
{
	cat >/etc/wgsd/wgsd.conf <<-EOF
		[registry]
		listen = 10.0.0.254:53
		access = any

		[zone example.com.]
		device = wg0
		backend = kernel

		[zone user.test.]
		device = wgu0
		backend = userspace
	EOF
	[ "${1:-}" = reload ] && printf '\n[zone other.test.]\ndevice = wg0\n' >>/etc/wgsd/wgsd.conf
	return 0
}
write_conf

step "systemctl start wgsd"
systemctl start wgsd || fail "systemctl start wgsd failed"
[ "$(systemctl is-active wgsd)" = active ] || fail "wgsd is not active"
pid=$(systemctl show -P MainPID wgsd)
case "$pid" in '' | 0) fail "no MainPID" ;; esac
[ "$(readlink "/proc/$pid/exe")" = /usr/local/sbin/wgsd ] ||
	fail "the unit runs $(readlink "/proc/$pid/exe"), not the installed /usr/local/sbin/wgsd"
ok "Type=notify start: active, main PID $pid"
wait_for 10 zone_has example.com. 3 || fail "kernel zone: $(ptr_count example.com.) PTR records, want 3"
ok "dig: 3 peers of the kernel device"
wait_for 10 zone_has user.test. 2 || fail "userspace zone: $(ptr_count user.test.) PTR records, want 2"
ok "dig: 2 peers of the wireguard-go device (UAPI socket under the read-only /run)"
wait_for 10 status_has "2 zone(s)" || fail "STATUS= is '$(systemctl show -P StatusText wgsd)'"
ok "STATUS=: $(systemctl show -P StatusText wgsd)"
"$WGSDCTL" status >/dev/null || fail "wgsdctl status on /run/wgsd/wgsd.sock"
ok "wgsdctl status answers on the RuntimeDirectory socket"

step "the ExecStartPre check logs nothing on success"
wait_for 10 eval 'journal | grep -q "started (config /etc/wgsd/wgsd.conf"' ||
	fail "no start message in the journal"
if journal | grep -E '^\[(registry|zone|daemon)|^listen|configuration is valid'; then
	fail "wgsd -t printed the configuration into the journal (above)"
fi
ok "journal holds no configuration dump from wgsd -t"

step "sandbox, seen from inside the service's mount namespace"
[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "wgsd shares the test's mount namespace: no sandbox at all"
expect_read_only /run
mkdir -p /run/systemd/system
expect_read_only /run/systemd/system
expect_read_only /run/wireguard
expect_runtime_dir_writable
touch /run/wgsd-sandbox-probe || fail "/run is read-only outside the unit too"
rm /run/wgsd-sandbox-probe
ok "/run stays writable outside the unit"

step "systemctl reload wgsd: a third zone, STATUS= follows"
write_conf reload
systemctl reload wgsd || fail "systemctl reload wgsd failed"
wait_for 20 status_has "3 zone(s)" || fail "STATUS= after reload is '$(systemctl show -P StatusText wgsd)'"
ok "STATUS= after reload: $(systemctl show -P StatusText wgsd)"
wait_for 10 zone_has other.test. 3 || fail "zone added by reload: $(ptr_count other.test.) PTR records, want 3"
[ "$(systemctl is-active wgsd)" = active ] || fail "wgsd is not active after reload"
[ "$(systemctl show -P MainPID wgsd)" = "$pid" ] || fail "wgsd restarted on reload"
ok "reload applied in the same process; dig answers the new zone"

step "systemctl stop wgsd"
systemctl stop wgsd
[ "$(systemctl show -P Result wgsd)" = success ] || fail "stop result: $(systemctl show -P Result wgsd)"
ok "clean stop"
if journal | grep -E 'AddressSanitizer|LeakSanitizer|runtime error:'; then
	fail "sanitizer report in the journal (above)"
fi

echo "PASS: $pass checks"
