#!/bin/bash
# SPDX-License-Identifier: MIT
# Install every Debian 12 package wgsd needs to build, test, run the NAT lab and benchmark.
# Safe to run again: only missing packages are installed.
set -eu

packages=(
	# build
	gcc pkg-config meson ninja-build libevent-dev libmnl-dev libldns-dev libinih-dev libb2-dev libssl-dev
	# port mapping: NAT-PMP and UPnP IGD client libraries
	libnatpmp-dev libminiupnpc-dev
	# WireGuard, namespaces, NAT
	wireguard-go wireguard-tools iproute2 nftables conntrack iputils-ping procps psmisc
	# home routers that map ports (tests/portmap, connectivity matrix): miniupnpd, and a UPnP IGD client to check it
	miniupnpd-nftables miniupnpc
	# DNS clients and reference server, load generator
	dnsutils knot-dnsutils ldnsutils nsd dnsperf
	# secondaries of the zone transfer tests
	knot bind9
	# kernel WireGuard in a qemu guest
	qemu-system-x86 busybox-static kmod cpio
	# test tooling: scripts, fuzzing, leak checks, core dumps (gcore), unit hardening check, man pages,
	# relay benchmark (iperf3)
	python3 clang libclang-rt-14-dev valgrind gdb systemd man-db groff-base iperf3
	# the Debian package: dpkg-buildpackage, debhelper, lintian (its build
	# dependencies come from debian/control, below)
	dpkg-dev debhelper lintian
)

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (apt-get install)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package's build dependencies, as debian/control declares them (the way
# a Debian user installs them): apt-get build-dep on the source tree.
src=$(cd "$(dirname "$0")/.." && pwd)
if ! dpkg-checkbuilddeps "$src/debian/control" 2>/dev/null; then
	echo "deps.sh: installing the build dependencies of debian/control"
	apt-get update -qq
	apt-get build-dep -y -qq --no-install-recommends "$src" >/dev/null
fi
