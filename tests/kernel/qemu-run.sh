#!/bin/bash
# SPDX-License-Identifier: MIT
# Run a script inside a qemu guest booted with Debian's own kernel (which has
# the wireguard module), with the host's / shared read-only and a tmpfs overlay
# on top. See tests/kernel/README.md for the interface.
#
# Usage: qemu-run.sh [--timeout SEC] [--systemd] SCRIPT [ARGS...]
#        qemu-run.sh --prepare
# --systemd boots the host's systemd as PID 1 and runs SCRIPT as a unit after
# multi-user.target (tests/systemd/guest-boot.sh, tests/systemd/README.md).
# Exit status: the script's, 1 when the guest gave none (panic, timeout,
# harness failure), 77 when a host program the harness needs is missing.
set -u
# The guest gets the caller's PATH; the host side also needs depmod/modprobe.
GUEST_PATH=$PATH
PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${WGSD_QEMU_CACHE:-/var/cache/wgsd-qemu}
KPKG_META=linux-image-amd64
# Modules the initramfs loads to mount the host's / (dependencies added).
INITRD_MODULES="virtio_pci 9pnet_virtio 9p overlay"
# Variables passed to the guest besides PATH and WGSD* (WGSD, WGSDCTL, WGSD_*).
PASSENV_DEFAULT="LANG LC_ALL ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS MALLOC_PERTURB_ MALLOC_CHECK_"

timeout_s=${WGSD_QEMU_TIMEOUT:-300}
prepare_only=0
systemd_boot=
rundir=
qemu_pid=
filter_pid=

# Print a message on stderr.
msg()
{
	printf 'qemu-run: %s\n' "$*" >&2
}

# Print an error and exit 1.
die()
{
	msg "error: $*"
	exit 1
}

# Print why the harness cannot run here and exit 77 (skip).
skip()
{
	msg "cannot run here: $*"
	exit 77
}

usage()
{
	echo "usage: qemu-run.sh [--timeout SEC] [--systemd] SCRIPT [ARGS...]" >&2
	echo "       qemu-run.sh --prepare" >&2
	exit 2
}

# Quote a string for sh: 'it'\''s'.
shquote()
{
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

# Remove the per-run directory and stop qemu if it still runs.
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup()
{
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	if [ -n "$filter_pid" ]; then
		kill "$filter_pid" 2>/dev/null
		wait "$filter_pid" 2>/dev/null
	fi
	[ -n "$rundir" ] && rm -rf "$rundir"
}

# Print the kernel release of the package linux-image-amd64 depends on now.
kernel_wanted()
{
	local pkg

	if [ -n "${WGSD_QEMU_KERNEL_PKG:-}" ]; then
		pkg=$WGSD_QEMU_KERNEL_PKG
	else
		pkg=$(apt-cache depends "$KPKG_META" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
	fi
	[ -n "$pkg" ] && printf '%s\n' "${pkg#linux-image-}"
}

# Download and unpack linux-image-$1 into $CACHE/kernel-$1 (lock held).
kernel_fetch()
{
	local kver=$1 tmp

	tmp=$(mktemp -d "$CACHE/.kernel-$kver.XXXXXX") || return 1
	chmod 0755 "$tmp"
	msg "downloading linux-image-$kver into $CACHE (once)"
	if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root \
		"linux-image-$kver" >/dev/null); then
		rm -rf "$tmp"
		return 1
	fi
	if ! dpkg -x "$tmp"/linux-image-"$kver"_*.deb "$tmp/root" ||
		! [ -f "$tmp/root/boot/vmlinuz-$kver" ] ||
		! [ -d "$tmp/root/lib/modules/$kver" ] ||
		! depmod -b "$tmp/root" "$kver"; then
		msg "linux-image-$kver does not unpack to boot/vmlinuz-$kver and lib/modules/$kver"
		rm -rf "$tmp"
		return 1
	fi
	rm -f "$tmp"/*.deb
	rm -rf "$tmp/root/usr"
	rm -rf "$CACHE/kernel-$kver"
	mv "$tmp" "$CACHE/kernel-$kver"
}

# Write $2, the uncompressed ELF vmlinux inside bzImage $1 (as the kernel's
# scripts/extract-vmlinux does). qemu boots an ELF kernel through PVH, which
# skips the kernel's own decompression: that alone takes about 3 s under TCG.
vmlinux_extract()
{
	local bz=$1 out=$2 magic off dec

	for magic in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' '\x1f\x8b\x08\x00:gzip -dc'; do
		dec=${magic#*:}
		command -v "${dec%% *}" >/dev/null || continue
		for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$bz" 2>/dev/null |
			head -n 3 | cut -d: -f1); do
			tail -c +$((off + 1)) "$bz" | $dec >"$out.tmp" 2>/dev/null
			if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done
	done
	rm -f "$out.tmp"
	return 1
}

# Print the newest kernel release already unpacked in the cache.
kernel_cached()
{
	local d

	for d in "$CACHE"/kernel-*/root/boot/vmlinuz-*; do
		[ -f "$d" ] && printf '%s\n' "${d##*/vmlinuz-}"
	done | sort -V | tail -n 1
}

# Build the initramfs $2 for kernel $1 in $3 (lock held).
initrd_build()
{
	local kver=$1 out=$2 kroot=$3 stage mod path name n=0 applet

	stage=$(mktemp -d "$CACHE/.initrd.XXXXXX") || return 1
	mkdir -p "$stage"/{bin,sbin,dev,proc,sys,lower,rw,newroot,modules}
	cp /bin/busybox "$stage/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
	done
	install -m 0755 "$HERE/guest-init.sh" "$stage/init"
	# request_module() helper: modprobe inside the chroot (see guest-init.sh).
	printf '#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n' >"$stage/sbin/modprobe"
	chmod 0755 "$stage/sbin/modprobe"
	[ "$(id -u)" = 0 ] && mknod -m 0600 "$stage/dev/console" c 5 1

	: >"$stage/modules/order"
	# shellcheck disable=SC2086 # INITRD_MODULES is a list
	for path in $(modprobe -C /dev/null -d "$kroot" -S "$kver" \
		--show-depends -a $INITRD_MODULES | sed -n 's/^insmod \([^ ]*\).*/\1/p'); do
		name=${path##*/}
		name=${name%.ko*}
		grep -qx "[0-9]*-$name.ko" "$stage/modules/order" && continue
		n=$((n + 1))
		mod=$(printf '%02d-%s.ko' "$n" "$name")
		case "$path" in
		*.ko) cp "$path" "$stage/modules/$mod" ;;
		*.ko.xz) xz -dc "$path" >"$stage/modules/$mod" ;;
		*.ko.zst) zstd -qdc "$path" >"$stage/modules/$mod" ;;
		*.ko.gz) gzip -dc "$path" >"$stage/modules/$mod" ;;
		*) msg "unknown module format: $path"; rm -rf "$stage"; return 1 ;;
		esac || { rm -rf "$stage"; return 1; }
		echo "$mod" >>"$stage/modules/order"
	done
	if [ "$n" = 0 ]; then
		msg "modprobe found none of: $INITRD_MODULES"
		rm -rf "$stage"
		return 1
	fi

	if ! (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$stage.cpio"; then
		rm -rf "$stage" "$stage.cpio"
		return 1
	fi
	rm -rf "$stage"
	mv "$stage.cpio" "$out"
}

# Make sure a kernel and an initramfs are in the cache; set KVER, KROOT and
# INITRD. Runs under an exclusive lock so parallel first runs do not collide.
prepare()
{
	local want sum

	mkdir -p "$CACHE/runs" || die "cannot create $CACHE (set WGSD_QEMU_CACHE)"
	exec 9>"$CACHE/lock" || die "cannot open $CACHE/lock"
	flock 9 || die "cannot lock $CACHE/lock"

	# apt-cache takes most of a second here: ask again only when the apt
	# lists changed since the last answer (or when pinned by the caller).
	if [ -n "${WGSD_QEMU_KERNEL_PKG:-}" ] || ! [ -s "$CACHE/wanted" ] ||
		[ -n "$(find /var/lib/apt/lists -maxdepth 1 -newer "$CACHE/wanted" 2>/dev/null | head -n 1)" ]; then
		want=$(kernel_wanted)
		[ -z "${WGSD_QEMU_KERNEL_PKG:-}" ] && [ -n "$want" ] && echo "$want" >"$CACHE/wanted"
	else
		want=$(cat "$CACHE/wanted")
	fi
	if [ -n "$want" ] && ! [ -f "$CACHE/kernel-$want/root/boot/vmlinuz-$want" ]; then
		kernel_fetch "$want" || msg "warning: could not fetch linux-image-$want"
	fi
	if [ -n "$want" ] && [ -f "$CACHE/kernel-$want/root/boot/vmlinuz-$want" ]; then
		KVER=$want
	else
		KVER=$(kernel_cached)
	fi
	[ -n "$KVER" ] || die "no kernel: '$KPKG_META' not resolvable with apt-cache (run apt-get update) and nothing cached in $CACHE"
	[ -n "$want" ] && [ "$want" != "$KVER" ] && msg "warning: using cached kernel $KVER instead of $want"
	KROOT=$CACHE/kernel-$KVER/root
	KERNEL=$KROOT/boot/vmlinuz-$KVER
	if [ -f "$CACHE/kernel-$KVER/vmlinux" ]; then
		KERNEL=$CACHE/kernel-$KVER/vmlinux
	elif ! [ -f "$CACHE/kernel-$KVER/vmlinux.none" ]; then
		if vmlinux_extract "$KERNEL" "$CACHE/kernel-$KVER/vmlinux"; then
			KERNEL=$CACHE/kernel-$KVER/vmlinux
		else
			msg "warning: cannot extract vmlinux from $KERNEL; booting it as is (slower)"
			: >"$CACHE/kernel-$KVER/vmlinux.none"
		fi
	fi

	sum=$(cat "$HERE/guest-init.sh" "$HERE/qemu-run.sh" /bin/busybox | sha256sum)
	sum=$(printf '%s %s %s' "${sum%% *}" "$KVER" "$INITRD_MODULES" | sha256sum)
	INITRD=$CACHE/kernel-$KVER/initrd-${sum:0:16}.cpio
	if ! [ -f "$INITRD" ]; then
		initrd_build "$KVER" "$INITRD" "$KROOT" || die "cannot build the initramfs"
	fi
	# Initramfs images of other harness versions go when unused for a day.
	touch "$INITRD"
	find "$CACHE/kernel-$KVER" -maxdepth 1 -name 'initrd-*.cpio' -mmin +1440 -delete 2>/dev/null

	# Per-run directories left behind by killed runs.
	find "$CACHE/runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null
	exec 9>&-
}

# Write $rundir/config (read by guest-init.sh) and $rundir/run.sh (the
# command run in the guest, with the environment passed through).
write_run_files()
{
	local script=$1 name nonce
	shift

	nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	NONCE=$nonce
	{
		echo "KVER=$(shquote "$KVER")"
		echo "MODDIR=$(shquote "$KROOT/lib/modules/$KVER")"
		echo "NONCE=$nonce"
		[ -n "$systemd_boot" ] && echo "SYSTEMD_BOOT=$(shquote "$systemd_boot")"
	} >"$rundir/config"

	{
		echo '#!/bin/sh'
		echo '# Generated by qemu-run.sh.'
		echo 'export HOME=/root TERM=dumb'
		echo "export PATH=$(shquote "$GUEST_PATH")"
		for name in $PASSENV_DEFAULT ${WGSD_QEMU_PASSENV:-} $(compgen -e | grep '^WGSD'); do
			[ -n "${!name+set}" ] || continue
			echo "export $name=$(shquote "${!name}")"
		done
		echo "cd $(shquote "$PWD") 2>/dev/null || cd /"
		printf 'exec %s' "$(shquote "$script")"
		for name in "$@"; do
			printf ' %s' "$(shquote "$name")"
		done
		echo
	} >"$rundir/run.sh"
}

# Read the console from the fifo: print it without CRs, store the exit code
# from the marker line in $rundir/rc.
console_filter()
{
	local line marker="WGSD-QEMU-EXIT:$NONCE=" verbose=${WGSD_QEMU_VERBOSE:-0} blank=0

	# An empty line is held back: the guest prints one before the marker in
	# case the script's output did not end with a newline.
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		case "$line" in
		*"$marker"*)
			[ -n "${line%%"$marker"*}" ] && printf '%s\n' "${line%%"$marker"*}"
			printf '%s\n' "${line#*"$marker"}" >"$rundir/rc"
			blank=0
			;;
		'')
			[ "$blank" = 1 ] && echo
			blank=1
			;;
		*)
			# After the marker only the power-off message follows.
			[ -s "$rundir/rc" ] && [ "$verbose" != 1 ] && continue
			[ "$blank" = 1 ] && echo
			blank=0
			printf '%s\n' "$line"
			;;
		esac
	done
	[ "$blank" = 1 ] && echo
	return 0
}

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout)
		[ $# -ge 2 ] || usage
		timeout_s=$2
		shift 2
		;;
	--timeout=*)
		timeout_s=${1#--timeout=}
		shift
		;;
	--prepare)
		prepare_only=1
		shift
		;;
	--systemd)
		systemd_boot=$(realpath "$HERE/../systemd/guest-boot.sh")
		shift
		;;
	--)
		shift
		break
		;;
	-*) usage ;;
	*) break ;;
	esac
done
case "$timeout_s" in
'' | *[!0-9]*) die "--timeout wants whole seconds, not '$timeout_s'" ;;
esac
[ $prepare_only = 1 ] || [ $# -ge 1 ] || usage

for prog in qemu-system-x86_64 apt-get apt-cache dpkg depmod modprobe cpio flock timeout; do
	command -v "$prog" >/dev/null || skip "$prog not found (see tests/kernel/README.md)"
done
if [ -n "$systemd_boot" ]; then
	[ -f "$systemd_boot" ] || die "$systemd_boot is missing"
	[ -x /lib/systemd/systemd ] || skip "/lib/systemd/systemd not found (install systemd)"
fi
if ! [ -x /bin/busybox ] || ! /bin/busybox --list | grep -qx chroot; then
	skip "/bin/busybox missing (install busybox-static)"
fi
! command -v ldd >/dev/null || ! ldd /bin/busybox >/dev/null 2>&1 ||
	skip "/bin/busybox is not static (install busybox-static)"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prepare
if [ $prepare_only = 1 ]; then
	msg "ready: kernel $KVER, initramfs $INITRD"
	exit 0
fi

script=$1
shift
case "$script" in
/*) ;;
*) script=$PWD/$script ;;
esac
if ! [ -f "$script" ] || ! [ -x "$script" ]; then
	die "$script is not an executable file"
fi
case "$(realpath "$script")" in
/run/* | /proc/* | /sys/* | /dev/*)
	die "$script: the guest mounts its own /run, /proc, /sys and /dev, so it cannot see it"
	;;
esac
case "$CACHE" in
*[!A-Za-z0-9_./+-]*) die "cache path $CACHE has characters the kernel command line cannot carry" ;;
esac

rundir=$(mktemp -d "$CACHE/runs/run.XXXXXXXX") || die "cannot create a run directory in $CACHE/runs"
write_run_files "$script" "$@"
mkfifo "$rundir/console" || die "mkfifo"

if [ "${WGSD_QEMU_VERBOSE:-0}" = 1 ]; then
	klog="loglevel=7 wgsd.verbose=1"
else
	klog="quiet"
fi

# qboot prints nothing and starts faster than SeaBIOS.
bios=()
[ -f /usr/share/qemu/qboot.rom ] && bios=(-bios qboot.rom)

console_filter <"$rundir/console" &
filter_pid=$!
start_ms=$(($(date +%s%N) / 1000000))
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
	-nodefaults -no-user-config -nographic -no-reboot \
	-machine pc -accel tcg -cpu max "${bios[@]}" \
	-m "${WGSD_QEMU_MEM:-1024}" -smp "${WGSD_QEMU_SMP:-2}" \
	-serial stdio -nic none \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 $klog mitigations=off 8250.nr_uarts=1 wgsd.run=$rundir" \
	</dev/null >"$rundir/console" 2>&1 &
qemu_pid=$!
wait "$qemu_pid"
qrc=$?
qemu_pid=
wait "$filter_pid"
filter_pid=
elapsed_ms=$(($(date +%s%N) / 1000000 - start_ms))

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	die "guest timed out after $timeout_s s (--timeout)"
fi
if ! [ -s "$rundir/rc" ]; then
	die "guest ended without an exit status (qemu exit $qrc: kernel panic, init failure or qemu error; see the output above; WGSD_QEMU_VERBOSE=1 shows the kernel log)"
fi
rc=$(cat "$rundir/rc")
case "$rc" in
'' | *[!0-9]*) die "bad exit status from the guest: '$rc'" ;;
esac
[ "${WGSD_QEMU_VERBOSE:-0}" = 1 ] && msg "guest exit $rc after $elapsed_ms ms"
exit "$rc"
