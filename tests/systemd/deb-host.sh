#!/bin/bash
# SPDX-License-Identifier: MIT
# Host side of systemd-deb: the Debian package under a real systemd. Takes the
# built package from WGSD_DEB (tests/run-all.sh builds it once per run) or
# builds it with tests/deb/build.sh, writes the WireGuard keys and wgsd
# configurations the guest needs (key generation is slow under TCG), then
# runs deb-service.sh in the guest through boot.sh.
# usage: deb-host.sh [--timeout SEC]
set -u

here=$(cd "$(dirname "$0")" && pwd)
boot_args=()
[ "${1:-}" = --timeout ] && boot_args=(--timeout "${2:?usage: deb-host.sh [--timeout SEC]}")

# Skip outside CI, fail in CI (as boot.sh does).
missing()
{
	if [ -n "${CI:-}" ]; then
		echo "FAIL: $* (CI is set: systemd tests must run)" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || missing "needs root (qemu-run.sh cache, guest runs as root)"
command -v wg >/dev/null || missing "wg not found (install wireguard-tools)"

# Under /tmp: the guest sees the host's /tmp (not /run) through its overlay.
dir=$(mktemp -d /tmp/wgsd-systemd-deb.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT

deb=${WGSD_DEB:-}
if [ -z "$deb" ]; then
	command -v dpkg-buildpackage >/dev/null || missing "dpkg-buildpackage not found (tests/deps.sh)"
	deb=$("$here/../deb/build.sh" "$dir/deb" | tail -n 1) || exit 1
fi
[ -f "$deb" ] || {
	echo "FAIL: package '$deb' not found (WGSD_DEB)" >&2
	exit 1
}
deb=$(realpath "$deb")
case "$deb" in
/run/* | /proc/* | /sys/* | /dev/*)
	echo "FAIL: $deb: the guest mounts its own /run, /proc, /sys and /dev" >&2
	exit 1
	;;
esac

# Private keys of the devices, public keys of their peers (random 32 bytes
# are valid public keys). Each client device shares one peer with a registry
# device: wgsd sets that peer's endpoint from the registry's answer.
umask 077
for dev in wg0 wgu0 wgx0 wgc0 wguc0; do
	wg genkey >"$dir/$dev.key" || exit 1
done
for name in K1 K2 K3 U1 U2 X1; do
	echo "$name=$(head -c 32 /dev/urandom | base64)"
done >"$dir/keys.env"

# A registry with a zone per device (the kernel device wg0, the wireguard-go
# device wgu0, and wgx0, which the test deletes to provoke a warning) and a
# client on a kernel and on a wireguard-go device.
cat >"$dir/wgsd.conf" <<EOF
[registry]
listen = 10.0.0.254:53
access = any

[zone example.com.]
device = wg0
backend = kernel

[zone user.test.]
device = wgu0
backend = userspace

[zone gone.test.]
device = wgx0
backend = kernel

[client wgc0]
registry = 10.0.0.254:53
zone = example.com.
backend = kernel
interval = 1s

[client wguc0]
registry = 10.0.0.254:53
zone = user.test.
backend = userspace
interval = 1s
EOF
# A reload that adds a zone, and one that breaks line 33 of the file.
{
	cat "$dir/wgsd.conf"
	printf '\n[zone other.test.]\ndevice = wg0\n'
} >"$dir/reload.conf"
{
	cat "$dir/wgsd.conf"
	printf '\n[zone broken.test.]\ndevice = wg0\nrefresh = soon\n'
} >"$dir/broken.conf"
chmod -R a+rX "$dir"

"$here/boot.sh" "${boot_args[@]}" "$here/deb-service.sh" "$deb" "$dir"
