#!/bin/bash
# SPDX-License-Identifier: MIT
# Install every Debian 12 package wgsd needs to build, test, run the NAT lab and benchmark.
# Safe to run again: only missing packages are installed.
set -eu

packages=(
	# build
	gcc pkg-config meson ninja-build libevent-dev libmnl-dev libldns-dev libinih-dev
	# WireGuard, namespaces, NAT
	wireguard-go wireguard-tools iproute2 nftables conntrack iputils-ping procps psmisc
	# DNS clients and reference server, load generator
	dnsutils knot-dnsutils ldnsutils nsd dnsperf
	# secondaries of the zone transfer tests
	knot bind9
	# kernel WireGuard in a qemu guest
	qemu-system-x86 busybox-static kmod cpio
	# test tooling: scripts, fuzzing, leak checks, core dumps (gcore), unit hardening check, man pages
	python3 clang libclang-rt-14-dev valgrind gdb systemd man-db groff-base
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
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
