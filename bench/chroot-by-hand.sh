#!/bin/sh
# The chroot benchmark's reference: one chroot build done by hand, with the
# same commands, in the same order and with the same variations as
# builder/node-chroot.sh (and the parts of node-build.sh it uses), without
# reprofarm: no work order, no downloads (the sources are local), no status
# file or SHA256SUMS.
#   sh bench/chroot-by-hand.sh 1|2 TARBALL DSC WORKDIR OUTDIR [BUILD_COMMAND]
# Build 1 and build 2 get the default variations of core/protocol.ts with DATE
# real for both (the chroot benchmark's job sets build 2's DATE to real), and
# with FILEORDERING=native in the environment build 2 without disorderfs.
# Prints one line per step on standard output: STEP NAME MILLISECONDS.
set -u

# inside the namespaces (sh chroot-by-hand.sh __ns deps|build): the environment carries the values
ns_mounts() {
	for d in null zero full random urandom tty; do
		: > "$CROOT/dev/$d" && mount --bind "/dev/$d" "$CROOT/dev/$d" || exit 1
	done
	mkdir -p "$CROOT/dev/pts" "$CROOT/dev/shm"
	ln -sfn /proc/self/fd "$CROOT/dev/fd"
	mount -t tmpfs -o mode=1777 tmpfs "$CROOT/dev/shm" && mount -t proc proc "$CROOT/proc" || exit 1
	cp /etc/resolv.conf "$CROOT/etc/resolv.conf" 2>/dev/null || :
}
if [ "${1:-}" = __ns ]; then
	ns_mounts
	if [ "$2" = deps ]; then
		exec chroot "$CROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
			apt-get build-dep -y -q --no-install-recommends -o APT::Get::Build-Dep-Automatic=true "$IN_DIR"
	fi
	printf '%s:x:%s:%s:%s:%s:%s\n' "$BUSER" "$BUID" "$BUID" "$BGECOS" "$HOME_V" "$BSHELL" >> "$CROOT/etc/passwd"
	printf '%s:x:%s:\n' "$BUSER" "$BUID" >> "$CROOT/etc/group"
	chown -R "$BUID:$BUID" "$CROOT$IN_PARENT" || exit 1
	ln -sf "$BINSH" "$CROOT/bin/sh" || exit 1
	if [ -n "$HOST_V" ]; then
		printf '%s\n' "$HOST_V" > /proc/sys/kernel/hostname && printf '%s\n' "$DOMAIN_V" > /proc/sys/kernel/domainname || exit 1
	fi
	if [ -n "$FUSE_V" ]; then
		# through /mnt: disorderfs reads as the build user, who may not enter the workdir's folders
		mount --bind "$CROOT/build" /mnt &&
			disorderfs "$FUSE_V=yes" --multi-user=yes -o nonempty /mnt "$CROOT/build" > /dev/null || exit 1
	fi
	set -- env -i "PATH=$PATH_V" "HOME=$HOME_V" "TZ=$TZ_V" "LANG=$LANG_V" "LANGUAGE=$LANGUAGE_V" \
		"DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS_V" "NO_FAKE_STAT=1" "USER=$BUSER" "LOGNAME=$BUSER"
	[ -n "$LC_ALL_V" ] && set -- "$@" "LC_ALL=$LC_ALL_V"
	[ -n "$TERM_V" ] && set -- "$@" "TERM=$TERM_V"
	[ -n "$COLUMNS_V" ] && set -- "$@" "COLUMNS=$COLUMNS_V"
	[ -n "$CAPTURE_V" ] && set -- "$@" "CAPTURE_ENVIRONMENT=$CAPTURE_V"
	set -- "$@" nice -n "$NICE_V"
	# shellcheck disable=SC2086 # "linux64 --uname-2.6": two words
	[ -n "$PERSONALITY_V" ] && set -- "$@" $PERSONALITY_V
	# shellcheck disable=SC2016 # expanded by the build's shell
	exec chroot "$CROOT" setpriv "--reuid=$BUID" "--regid=$BUID" --clear-groups "$@" sh -c 'umask "$1"; cd "$2" || exit 75; sh -c "$3"' build "$UMASK_V" "$IN_DIR" "$BUILD_COMMAND"
fi

[ $# -ge 5 ] || { echo "usage: sh chroot-by-hand.sh 1|2 TARBALL DSC WORKDIR OUTDIR [BUILD_COMMAND]" >&2; exit 2; }
BUILD=$1 TARBALL=$2 DSC=$3 WORK=$4 OUT=$5 BUILD_COMMAND=${6:-dpkg-buildpackage -us -uc -b}
case $0 in /*) SELF=$0 ;; *) SELF=$PWD/$0 ;; esac
name=${DSC##*/} name=${name%.dsc}
PKG=${name%%_*} V=${name#*_} V=${V%-*}
ncpu=$(nproc)
if [ "$BUILD" = 1 ]; then
	IN_PARENT=/build/1st IN_DIR="/build/1st/$PKG-$V"
	TZ_V=Etc/GMT+12 LANG_V=C LC_ALL_V='' LANGUAGE_V=en_US:en TERM_V='' COLUMNS_V='' UMASK_V=0022
	HOME_V=/nonexistent/first-build PATH_V=/usr/sbin:/usr/bin:/sbin:/bin CAPTURE_V='' HOST_V='' DOMAIN_V=''
	DEB_BUILD_OPTIONS_V="parallel=$ncpu" BUSER=pbuilder1 BUID=1111 BGECOS='first user,first room,first work-phone,first home-phone'
	BSHELL=/bin/sh BINSH=dash NICE_V=10 PERSONALITY_V='' FUSE_V=''
else
	IN_PARENT="/build/2/$PKG-$V" IN_DIR="/build/2/$PKG-$V/2nd"
	TZ_V=Etc/GMT-14 LANG_V=et_EE.UTF-8 LC_ALL_V=et_EE.UTF-8 LANGUAGE_V=et_EE:et TERM_V=linux COLUMNS_V=77 UMASK_V=0002
	HOME_V=/nonexistent/second-build PATH_V=/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path CAPTURE_V='I capture the environment'
	HOST_V=i-capture-the-hostname DOMAIN_V=i-capture-the-domain DEB_BUILD_OPTIONS_V="parallel=$((ncpu + 1)) nocheck"
	BUSER=pbuilder2 BUID=2222 BGECOS='second user,second room,second work-phone,second home-phone' BSHELL=/bin/bash BINSH=bash NICE_V=11
	PERSONALITY_V='linux64 --uname-2.6' FUSE_V=''
	# as node-chroot.sh: disorderfs where FUSE works, unless $FILEORDERING is native (the job's build2 FILEORDERING: native)
	if [ "${FILEORDERING:-}" != native ] && command -v disorderfs >/dev/null 2>&1 && [ -r /dev/fuse ] && [ -w /dev/fuse ]; then
		FUSE_V=--shuffle-dirents
	fi
fi
CROOT="$WORK/chroot/$BUILD"
echo "FILEORDERING ${FUSE_V:+disorderfs }${FUSE_V:-native}"
export CROOT IN_DIR IN_PARENT BUSER BUID BGECOS BSHELL BINSH HOST_V DOMAIN_V FUSE_V PATH_V HOME_V TZ_V LANG_V LANGUAGE_V \
	DEB_BUILD_OPTIONS_V LC_ALL_V TERM_V COLUMNS_V CAPTURE_V NICE_V PERSONALITY_V UMASK_V BUILD_COMMAND

unshare_root() { unshare --user --map-users=auto --map-groups=auto --map-root-user "$@"; }
t=$(date +%s%N)
step() { now=$(date +%s%N); echo "STEP $1 $(( (now - t) / 1000000 ))"; t=$now; }
die() { echo "chroot-by-hand: build $BUILD: $*" >&2; exit 1; }

mkdir -p "$OUT" "$WORK"
unshare_root rm -rf -- "$CROOT"
mkdir -p "$CROOT" || die "cannot create $CROOT"
unshare_root tar -C "$CROOT" --zstd --exclude='./dev/*' -xf "$TARBALL" || die "tar failed"
step unpack
mkdir -p "$CROOT$IN_PARENT"
dpkg-source --no-check -x "$DSC" "$CROOT$IN_DIR" > "$OUT/build$BUILD.log" 2>&1 || die "dpkg-source -x failed"
step source
unshare_root --mount --uts --pid --fork sh "$SELF" __ns deps >> "$OUT/build$BUILD.log" 2>&1 || die "apt-get build-dep failed (see $OUT/build$BUILD.log)"
step build-dep
timeout -k 30 86400 unshare --user --map-users=auto --map-groups=auto --map-root-user --mount --uts --pid --fork sh "$SELF" __ns build >> "$OUT/build$BUILD.log" 2>&1 < /dev/null ||
	die "the build failed (see $OUT/build$BUILD.log)"
step build
mkdir -p "$OUT/$BUILD"
cp -P -- "$CROOT$IN_PARENT/${PKG}_"*.changes "$CROOT$IN_PARENT/"*.deb "$CROOT$IN_PARENT/"*.buildinfo "$OUT/$BUILD/" || die "no artifacts"
unshare_root rm -rf -- "$CROOT"
step collect
