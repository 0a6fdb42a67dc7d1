#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of the initramfs built by qemu-run.sh. Runs as PID 1 under busybox:
# mounts the host's / (virtio-9p, read-only) under a tmpfs overlay, makes the
# unpacked kernel's modules visible, runs the script qemu-run.sh prepared in a
# chroot, prints the exit marker and powers off. Any failure here ends without
# a marker, which qemu-run.sh reports as a failed run. With --systemd it hands
# the overlay to systemd instead (tests/systemd/guest-boot.sh).
export PATH=/bin
umask 022

/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

NEWROOT=/newroot
LOWER=/lower
RW=/rw

# Print an error and power off without an exit marker.
die()
{
	echo "wgsd-qemu-init: error: $*"
	poweroff -f
	sleep 10
	echo o >/proc/sysrq-trigger
	exit 1
}

run=
verbose=0
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case "$arg" in
	wgsd.run=*) run=${arg#wgsd.run=} ;;
	wgsd.verbose=*) verbose=${arg#wgsd.verbose=} ;;
	esac
done
[ "$verbose" = 1 ] && set -x
[ -n "$run" ] || die "no wgsd.run= on the kernel command line"

# Modules in dependency order, listed by qemu-run.sh when it built us.
while read -r mod; do
	insmod "/modules/$mod" || die "insmod $mod failed"
done </modules/order

mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose host $LOWER ||
	die "cannot mount the host's / over virtio-9p (mount_tag=host)"
[ -r "$LOWER$run/config" ] || die "$run/config is not visible in the guest"
# Sets KVER, MODDIR (host path of lib/modules/$KVER), NONCE and, with
# --systemd, SYSTEMD_BOOT (host path of tests/systemd/guest-boot.sh).
# shellcheck source=/dev/null
. "$LOWER$run/config"

# Writable root: the host's / read-only below, a tmpfs above; writes vanish
# with the guest.
mount -t tmpfs -o mode=0755 rw $RW || die "tmpfs for the overlay"
mkdir -p $RW/upper $RW/work
mount -t overlay -o lowerdir=$LOWER,upperdir=$RW/upper,workdir=$RW/work \
	overlay $NEWROOT || die "overlay root over 9p"

# The host's /lib/modules lacks this kernel; bind the unpacked tree in.
[ "$(uname -r)" = "$KVER" ] || die "booted $(uname -r), expected $KVER"
[ -d "$LOWER$MODDIR" ] || die "$MODDIR is not visible in the guest"
mkdir -p "$NEWROOT/lib/modules/$KVER" || die "mkdir /lib/modules/$KVER"
mount -o bind "$LOWER$MODDIR" "$NEWROOT/lib/modules/$KVER" || die "bind $MODDIR"

# qemu-run.sh --systemd: the host's systemd boots the overlay as PID 1 and
# runs the script as a unit (tests/systemd/guest-boot.sh; does not return).
if [ -n "${SYSTEMD_BOOT:-}" ]; then
	[ -r "$LOWER$SYSTEMD_BOOT" ] || die "$SYSTEMD_BOOT is not visible in the guest"
	# shellcheck source=/dev/null
	. "$LOWER$SYSTEMD_BOOT"
	die "$SYSTEMD_BOOT returned"
fi

mount -t proc proc $NEWROOT/proc || die "proc"
mount -t sysfs sysfs $NEWROOT/sys || die "sysfs"
mount -t devtmpfs devtmpfs $NEWROOT/dev || die "devtmpfs"
mkdir -p $NEWROOT/dev/pts $NEWROOT/dev/shm $NEWROOT/dev/net
# No udev: give tun a node so opening it autoloads the module.
[ -e $NEWROOT/dev/net/tun ] || mknod -m 0666 $NEWROOT/dev/net/tun c 10 200
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts $NEWROOT/dev/pts || die "devpts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm $NEWROOT/dev/shm || die "/dev/shm"
# /tmp stays the overlay's view of the host's /tmp (writes land in the tmpfs above),
# so a source or build tree under /tmp (a CI clone, say) is visible in the guest.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $NEWROOT/run || die "/run"
# Debian links /var/run to /run; mount a tmpfs only where it is a directory.
if [ -d $NEWROOT/var/run ] && [ ! -L $NEWROOT/var/run ]; then
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $NEWROOT/var/run || die "/var/run"
fi

mkdir -p $NEWROOT/run/wgsd-qemu
cp "$LOWER$run/run.sh" $NEWROOT/run/wgsd-qemu/run.sh || die "copy run.sh"

hostname wgsd-qemu
ip link set lo up || die "lo up"

# The kernel's request_module() helper runs /sbin/modprobe in PID 1's root,
# which is this initramfs, not the chroot: /sbin/modprobe here re-enters the
# chroot (see qemu-run.sh), so module autoloading (veth, nf_tables, ...) works.
[ "$verbose" = 1 ] && set +x
chroot $NEWROOT /bin/sh /run/wgsd-qemu/run.sh </dev/null
rc=$?

echo
echo "WGSD-QEMU-EXIT:$NONCE=$rc"
sync
poweroff -f
sleep 10
echo o >/proc/sysrq-trigger
