# shellcheck shell=sh disable=SC2153 # BUILD and the other capitals are node-build.sh's
# reprofarm's chroot backend, a part of node-build.sh: the installed copy of
# node-build.sh carries this file inline (builder/node-script.ts puts it in
# place of the @@NODE_CHROOT@@ line); from a checkout node-build.sh sources it.
# It only defines functions and uses node-build.sh's variables.
#
# A build gets a fresh root: the suite's tarball (made by `chroot-update`, that
# is mmdebstrap --mode=unshare --variant=buildd) unpacked under
# reproducible-builds/chroot/BUILD/..., inside a user namespace of its own
# (--map-users=auto: the user's subuid range), with mount, UTS and PID
# namespaces. There apt-get build-dep installs the Build-Depends from the
# chroot's archive, the build user goes into /etc/passwd, /bin/sh becomes dash
# or bash, and the build runs under setpriv as that user. Everything the build
# started dies with the PID namespace. Files the build user owns are the
# subuid range's on the node: they are removed inside a namespace too.

unshare_root() { unshare --user --map-users=auto --map-groups=auto --map-root-user "$@"; }

# as the namespace's root (the node user, with its subuids): for files a build user owned
ns_rm() { unshare_root rm -rf -- "$@" 2>/dev/null || rm -rf -- "$@"; }

chroot_paths() {
	CROOT="$WORKDIR/reproducible-builds/chroot/$BUILD/$REL"
	TARBALL="$WORKDIR/chroots/$SUITE-$ARCH.tar.zst"
	# the build path inside the chroot (DESIGN.md: <root> is /build)
	build_path /build
	IN_PARENT=$P_PARENT IN_DIR=$P_DIR
	PARENT="$CROOT$IN_PARENT" DIR="$CROOT$IN_DIR"
}

# what the node must have for this backend: said as a node's fault (the claim goes back), not the package's
chroot_check_node() {
	for tool in unshare setpriv tar zstd; do
		command -v "$tool" >/dev/null 2>&1 || fail "$EX_ERROR" "node: $tool is missing (reprofarm node-setup $NODE --apply installs what the chroot backend needs)"
	done
	[ -f "$TARBALL" ] || fail "$EX_ERROR" "node: no chroot for $SUITE/$ARCH at $TARBALL (run reprofarm chroot update $NODE --suite $SUITE)"
	if [ -z "$PROBED_UNSHARE" ]; then
		PROBED_UNSHARE=no
		unshare_root --mount --uts --pid --fork true 2>/dev/null && PROBED_UNSHARE=yes
	fi
	[ "$PROBED_UNSHARE" = yes ] || fail "$EX_ERROR" "node: $(id -un) cannot make a user namespace with its subuid range (needs uidmap and a line for it in /etc/subuid and /etc/subgid: reprofarm node-setup $NODE --apply)"
}

# the tarball unpacked (device nodes are bound in at build time), the sources beside the tree,
# then the Build-Depends installed: all before the build proper, so that it overlaps the other build
chroot_prepare() {
	ns_rm "$CROOT"
	PROBED_LOCALE='' LOCALE_DONE=''
	mkdir -p "$CROOT" || fail "$EX_ERROR" "node: cannot create $CROOT"
	unshare_root tar -C "$CROOT" --zstd --exclude='./dev/*' -xf "$TARBALL" 2> "$RESULTS/chroot.log" ||
		fail "$EX_ERROR" "node: the chroot $TARBALL does not unpack ($(tail -n 1 "$RESULTS/chroot.log")): run reprofarm chroot update $NODE --suite $SUITE --force"
	[ -x "$CROOT/usr/bin/apt-get" ] || fail "$EX_ERROR" "node: the chroot $TARBALL has no apt-get: run reprofarm chroot update $NODE --suite $SUITE --force"
	chroot_locale
	mkdir -p "$PARENT" || fail "$EX_ERROR" "node: cannot create $PARENT"
	dpkg-source --no-check -x "$SRC/$DSC_NAME" "$DIR" > "$RESULTS/build.log" 2>&1 || fail "$EX_FTBFS" "dpkg-source -x failed"
	export CROOT IN_DIR
	chroot_ns deps
	rm -f "$RESULTS/chroot.log"
	[ "$NS_RC" -eq 0 ] && { rm -f "$RESULTS/deps.log"; return 0; }
	# apt's own words (in English: LC_ALL=C) tell unsatisfiable dependencies from a download that failed
	if grep -qE 'has unmet dependencies|but it is not (installable|going to be installed)|Unable to satisfy|Unable to correct problems' "$RESULTS/deps.log"; then
		UNMET=$(grep -E '^ *(builddeps:[^ ]* *: *)?Depends: ' "$RESULTS/deps.log" | sed 's/^ *builddeps:[^ ]* *: *//; s/^ *Depends: //' | head -n 20 | tr '\n' ';' | sed 's/;$//; s/;/; /g' | head -c 2000)
		fail "$EX_DEPWAIT" "depwait: the Build-Depends cannot be satisfied in $SUITE: ${UNMET:-see the build log}"
	fi
	fail "$EX_ERROR" "node: installing the Build-Depends failed ($(ns_error_words)): the archive unreachable, or the chroot stale (reprofarm chroot update $NODE --suite $SUITE --force)"
}

# why a step in the namespaces failed: its own words, else apt's last error
ns_error_words() {
	if [ -f "$CROOT/.reprofarm-ns-error" ]; then head -c 300 "$CROOT/.reprofarm-ns-error"; return 0; fi
	if grep -qE '^E: ' "$RESULTS/deps.log" 2>/dev/null; then
		grep -E '^E: ' "$RESULTS/deps.log" | tail -n 2 | tr '\n' ' ' | head -c 300
	else
		tail -n 2 "$RESULTS/deps.log" 2>/dev/null | tr '\n' ' ' | head -c 300
	fi
}

# the locale: generated in the tarball by chroot update (locale-gen); probed once it is unpacked (or from the prepared marker)
chroot_locale() {
	case $LANG_V in C|C.*|POSIX) return 0 ;; esac
	[ -z "${LOCALE_DONE:-}" ] || return 0
	[ -n "$PROBED_LOCALE" ] || [ -d "$CROOT/usr/lib/locale" ] || return 0
	LOCALE_DONE=1
	case $LANG_V in *UTF-8*) want="${LANG_V%%UTF-8*}utf8${LANG_V#*UTF-8}" ;; *) want=$LANG_V ;; esac
	if [ -z "$PROBED_LOCALE" ]; then
		PROBED_LOCALE=no
		localedef --list-archive "$CROOT/usr/lib/locale/locale-archive" 2>/dev/null | grep -qix -- "$want" && PROBED_LOCALE=yes
	fi
	[ "$PROBED_LOCALE" = yes ] || not_applied LOCALE "$LANG_V is not generated in the chroot $TARBALL (chroot update generates et_EE.UTF-8 and en_US.UTF-8)"
}

# the variations only this backend applies; the others as node-build.sh applies them
chroot_variations() {
	var BUILD_PATH "$IN_DIR"
	BUSER=${O_BUILD_USER%%:*} rest=${O_BUILD_USER#*:}
	BUID=${rest%%:*} rest=${rest#*:}
	BGECOS=${rest%:*} BSHELL=${rest##*:}
	var BUILD_USER "$O_BUILD_USER"
	var BINSH "$O_BINSH"
	var HOSTNAME "${HOST_V:-$(node_hostname)}"
	[ -n "$HOST_V" ] && var DOMAINNAME "$DOMAIN_V"
	FUSE_V=''
	case $O_FILEORDERING in
		native) var FILEORDERING native ;;
		*)
			if ! command -v disorderfs >/dev/null 2>&1; then
				var FILEORDERING native
				not_applied FILEORDERING "disorderfs is not installed on this node (apt-get install disorderfs fuse3)"
			elif ! { [ -r /dev/fuse ] && [ -w /dev/fuse ]; }; then
				var FILEORDERING native
				not_applied FILEORDERING "$(id -un) cannot open /dev/fuse on this node, so disorderfs cannot mount"
			else
				FUSE_V=${O_FILEORDERING#disorderfs }
				var FILEORDERING "$O_FILEORDERING"
			fi
			;;
	esac
}

# run a step in the build's namespaces; NS_RC is its exit code
chroot_ns() { # deps|build
	NS_RC=0
	if [ "$1" = deps ]; then
		unshare_root --mount --uts --pid --fork sh "$0" __ns deps > "$RESULTS/deps.log" 2>&1 || NS_RC=$?
		cat "$RESULTS/deps.log" >> "$RESULTS/build.log"
		return 0
	fi
	# timeout runs a program, not a function: unshare_root written out
	timeout -k 30 "$TIMEOUT" unshare --user --map-users=auto --map-groups=auto --map-root-user --mount --uts --pid --fork sh "$0" __ns build >> "$RESULTS/build.log" 2>&1 < /dev/null &
	ns_pid=$!
	wait "$ns_pid" || NS_RC=$?
	kill -KILL -"$ns_pid" 2>/dev/null || :
}

# inside the namespaces: a step that cannot be set up is the node's fault, said in a file the build user cannot write
ns_fail() {
	printf '%s\n' "$1" > "$CROOT/.reprofarm-ns-error"
	exit 1
}

# inside the namespaces, as their root: /dev, /proc and name resolution for the chroot
ns_mounts() {
	for d in null zero full random urandom tty; do
		{ : > "$CROOT/dev/$d" && mount --bind "/dev/$d" "$CROOT/dev/$d"; } || ns_fail "cannot bind /dev/$d into the chroot"
	done
	mkdir -p "$CROOT/dev/pts" "$CROOT/dev/shm"
	ln -sfn /proc/self/fd "$CROOT/dev/fd"
	{ mount -t tmpfs -o mode=1777 tmpfs "$CROOT/dev/shm" && mount -t proc proc "$CROOT/proc"; } || ns_fail "cannot mount /proc or /dev/shm in the chroot"
	cp /etc/resolv.conf "$CROOT/etc/resolv.conf" 2>/dev/null || :
}

# apt-get build-dep, in English: depwait when apt says the dependencies cannot be satisfied
ns_deps() {
	ns_mounts
	if chroot "$CROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
		apt-get build-dep -y -q --no-install-recommends -o APT::Get::Build-Dep-Automatic=true "$IN_DIR"; then
		exit 0
	fi
	exit 1
}

ns_user() {
	if grep -q "^$BUSER:" "$CROOT/etc/passwd" || cut -d: -f3 "$CROOT/etc/passwd" | grep -qx "$BUID"; then
		ns_fail "the build user $BUSER or its uid $BUID is in the chroot's /etc/passwd already (BUILD_USER)"
	fi
	{ printf '%s:x:%s:%s:%s:%s:%s\n' "$BUSER" "$BUID" "$BUID" "$BGECOS" "$HOME_V" "$BSHELL" >> "$CROOT/etc/passwd" &&
		printf '%s:x:%s:\n' "$BUSER" "$BUID" >> "$CROOT/etc/group"; } || ns_fail "cannot add the build user to the chroot"
	chown -R "$BUID:$BUID" "$CROOT$IN_PARENT" || ns_fail "cannot give the build tree to uid $BUID (is it in the subuid range?)"
}

ns_build() {
	ns_mounts
	ns_user
	[ -x "$CROOT/bin/$O_BINSH" ] || ns_fail "the chroot has no /bin/$O_BINSH (BINSH)"
	ln -sf "$O_BINSH" "$CROOT/bin/sh" || ns_fail "cannot make /bin/sh $O_BINSH in the chroot"
	if [ -n "$HOST_V" ]; then
		# sethostname(2), as the namespace's root; /proc/sys/kernel/hostname stays the real root's file
		{ hostname "$HOST_V" && domainname "$DOMAIN_V"; } || ns_fail "cannot set the host name (hostname and domainname, from the hostname package)"
	fi
	if [ -n "$FUSE_V" ]; then
		# disorderfs shows the build tree in a changed order; its files stay where they are. It reads
		# them as the build user (--multi-user), so through /mnt (this mount namespace's own), not
		# through the node's workdir, whose folders that user may not enter (a home is often 0700)
		{ [ -d /mnt ] && mount --bind "$CROOT/build" /mnt &&
			disorderfs "$FUSE_V=yes" --multi-user=yes -o nonempty /mnt "$CROOT/build" > /dev/null; } || ns_fail "disorderfs could not mount the build tree"
	fi
	# the node's doing, not the package's, when the build user cannot enter its own tree
	# shellcheck disable=SC2016 # expanded by that sh
	chroot "$CROOT" setpriv "--reuid=$BUID" "--regid=$BUID" --clear-groups sh -c 'cd "$1" && ls > /dev/null' check "$IN_DIR" ||
		ns_fail "the build user (uid $BUID) cannot enter $IN_DIR in the chroot${FUSE_V:+ through disorderfs}"
	set -- env -i "PATH=$PATH_V" "HOME=$HOME_V" "TZ=$TZ_V" "LANG=$LANG_V" "LANGUAGE=$LANGUAGE_V" \
		"DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS_V" "NO_FAKE_STAT=1" "USER=$BUSER" "LOGNAME=$BUSER"
	[ -n "$LC_ALL_V" ] && set -- "$@" "LC_ALL=$LC_ALL_V"
	[ -n "$TERM_V" ] && set -- "$@" "TERM=$TERM_V"
	[ -n "$COLUMNS_V" ] && set -- "$@" "COLUMNS=$COLUMNS_V"
	[ -n "$CAPTURE_V" ] && set -- "$@" "CAPTURE_ENVIRONMENT=$CAPTURE_V"
	set -- "$@" nice -n "$NICE_V"
	# shellcheck disable=SC2086 # "linux64 --uname-2.6": two words
	[ -n "$PERSONALITY_V" ] && set -- "$@" $PERSONALITY_V
	[ "$USE_FAKETIME" = yes ] && set -- "$@" faketime "$FAKETIME_V"
	chroot "$CROOT" setpriv "--reuid=$BUID" "--regid=$BUID" --clear-groups "$@" sh -c "$REAPER" build "$UMASK_V" '' '' "$IN_DIR" "$BUILD_COMMAND"
	exit $?
}

# the chroot backend's build: prepared (unpacked, Build-Depends installed), then run in the namespaces
chroot_run_build() {
	log_build_start "a chroot of $TARBALL"
	export CROOT IN_DIR IN_PARENT BUSER BUID BGECOS BSHELL O_BINSH HOST_V DOMAIN_V FUSE_V PATH_V HOME_V TZ_V LANG_V LANGUAGE_V \
		DEB_BUILD_OPTIONS_V LC_ALL_V TERM_V COLUMNS_V CAPTURE_V NICE_V PERSONALITY_V USE_FAKETIME FAKETIME_V UMASK_V BUILD_COMMAND REAPER
	chroot_ns build
	if [ -f "$CROOT/.reprofarm-ns-error" ]; then fail "$EX_ERROR" "node: the chroot build could not be set up: $(ns_error_words)"; fi
	end_build_command "$NS_RC"
}

# the artifacts are the build user's (subuids on the node): copied, not moved, then the chroot removed
chroot_collect() {
	collect_results cp
	ns_rm "$CROOT"
}

# inside the namespaces (node-build.sh __ns STEP, run by unshare): the environment carries the values
ns_main() {
	case $1 in
		deps) ns_deps ;;
		build) ns_build ;;
		*) exit "$EX_USAGE" ;;
	esac
}

# node-build.sh chroot-update SUITE ARCH BASE MAX_AGE_S, MIRROR=URL then the keyring (base64) on
# standard input: make the suite's tarball with mmdebstrap (BASE's packages, SUITE's too for an
# overlay), its Release files checked against the keyring, unless the one there is younger than
# MAX_AGE_S. Written beside the old one and renamed into place: a build in progress keeps the old
# file. Prints the tarball's facts (the .info file beside it): SUITE ARCH BASE MIRROR CREATED SIZE SHA256.
chroot_update() {
	BASE=$PKG MAX_AGE_S=$VERSION
	case $MAX_AGE_S in *[!0-9]*) usage "the maximum age must be a number of seconds" ;; esac
	CDIR="$WORKDIR/chroots" TARBALL="$WORKDIR/chroots/$SUITE-$ARCH.tar.zst"
	INFO="$TARBALL.info" NEW="$CDIR/.new-$SUITE-$ARCH.tar.zst"
	IFS= read -r line || line=''
	case $line in MIRROR=*) MIRROR=${line#MIRROR=} ;; *) usage "standard input must start with MIRROR=URL" ;; esac
	case $MIRROR in http://?*|https://?*|file:///?*) ;; *) usage "MIRROR must be an http://, https:// or file:/// URL" ;; esac
	case $MIRROR in *[!A-Za-z0-9._~:/?=\&%+@-]*) usage "MIRROR has characters a URL of a mirror does not need" ;; esac
	command -v mmdebstrap >/dev/null 2>&1 || { say "mmdebstrap is missing (reprofarm node-setup $NODE --apply installs what the chroot backend needs)"; exit "$EX_ERROR"; }
	mkdir -p "$CDIR" || exit "$EX_ERROR"
	{ base64 -d > "$CDIR/keyring.gpg.tmp" && [ -s "$CDIR/keyring.gpg.tmp" ] && mv -f "$CDIR/keyring.gpg.tmp" "$CDIR/keyring.gpg"; } ||
		{ rm -f "$CDIR/keyring.gpg.tmp"; usage "the keyring on standard input is not base64, or empty"; }
	if [ -f "$TARBALL" ] && [ -f "$INFO" ]; then
		created=$(sed -n 's/^CREATED=\([0-9][0-9]*\)$/\1/p' "$INFO")
		if [ -n "$created" ] && [ $(( $(date +%s) - created )) -lt "$MAX_AGE_S" ]; then
			echo FRESH=1
			cat "$INFO"
			exit 0
		fi
	fi
	# the locales the LANG variation uses; the lists kept, so that builds need no apt-get update
	# shellcheck disable=SC2016
	hook='printf "et_EE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n" > "$1/etc/locale.gen" && chroot "$1" locale-gen'
	set -- mmdebstrap --mode=unshare --variant=buildd "--architectures=$ARCH" --include=fakeroot,faketime,locales \
		--skip=cleanup/apt/lists "--keyring=$CDIR/keyring.gpg" "--customize-hook=$hook" "$BASE" "$NEW" "deb $MIRROR $BASE main"
	[ "$BASE" = "$SUITE" ] || set -- "$@" "deb $MIRROR $SUITE main"
	rm -f "$NEW"
	if ! "$@" > "$CDIR/$SUITE-$ARCH.log" 2>&1; then
		rm -f "$NEW"
		say "mmdebstrap failed for $SUITE/$ARCH from $MIRROR (is the mirror reachable, and its Release signed by the keyring?):"
		grep -E '^(E|W): ' "$CDIR/$SUITE-$ARCH.log" | tail -n 5 >&2
		exit "$EX_ERROR"
	fi
	sum=$(sha256 "$NEW") && size=$(stat -c %s "$NEW") || exit "$EX_ERROR"
	printf 'SUITE=%s\nARCH=%s\nBASE=%s\nMIRROR=%s\nCREATED=%s\nSIZE=%s\nSHA256=%s\n' "$SUITE" "$ARCH" "$BASE" "$MIRROR" "$(date +%s)" "$size" "$sum" > "$INFO.tmp" &&
		mv -f "$NEW" "$TARBALL" && mv -f "$INFO.tmp" "$INFO" || exit "$EX_ERROR"
	cat "$INFO"
}
