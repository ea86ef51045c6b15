#!/bin/sh
# reprofarm node build script: one build of one source package on this node.
#   REPROFARM_NODE=NODE REPROFARM_WORKDIR=DIR node-build.sh MODE SUITE ARCH PKG VERSION
# MODE: 1|2 (all of it), prepare1|prepare2 (take the order, download, check,
# unpack, leave PENDING.prepared), resume1|resume2 (take that marker, a rename:
# one resume only, and build), cleanup (stop that build's session and remove
# its order, pending entry, sources, tree and results). The work order's
# BACKEND says where the build runs: plain (on the node itself) or chroot (a
# fresh chroot of the suite's tarball: builder/node-chroot.sh).
# Runs on build nodes (POSIX sh, coreutils, dpkg-dev, curl or wget; never
# Node.js). The protocol it follows (work-order keys, variations, exit codes,
# layouts) is written down once, in core/protocol.ts; the work order carries
# every variation's value, which this script checks and applies, with no
# defaults of its own. When it wrote a status file it prints the results'
# SHA256SUMS on standard output. With REPROFARM_SCRIPT_SHA256 set it first
# checks that it is that version of itself and exits 99 before reading
# anything when it is not (the orchestrator then installs its copy).
set -u

EX_USAGE=2
EX_TAKEN=70
EX_E404=71
EX_MISMATCH=72
EX_FTBFS=73
EX_TIMEOUT=74
EX_ERROR=75
EX_DEPWAIT=76
EX_STALE=99

# the variations a work order gives, as V_<KEY> lines (core/protocol.ts VARIATIONS)
VARIATION_KEYS='TZ DATE LANG LC_ALL LANGUAGE TERM COLUMNS UMASK HOME PATH CAPTURE_ENVIRONMENT HOSTNAME DOMAINNAME PARALLEL BUILD_USER BINSH NICE NOCHECK KERNEL_PERSONALITY FILEORDERING BUILD_PATH'

# chroot, setpriv and mount live in /usr/sbin, which a non-root user's PATH (over ssh, say) often lacks
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export PATH

say() { printf 'node-build: %s\n' "$*" >&2; }
usage() { say "$*"; say "usage: node-build.sh 1|2|prepare1|prepare2|resume1|resume2|cleanup SUITE ARCH PKG VERSION, or chroot-update SUITE ARCH BASE MAX_AGE_S (with REPROFARM_NODE and REPROFARM_WORKDIR set)"; exit "$EX_USAGE"; }

check_self() {
	[ -n "${REPROFARM_SCRIPT_SHA256:-}" ] || return 0
	self=$(sha256sum "$0" 2>/dev/null) || exit "$EX_STALE"
	[ "${self%% *}" = "$REPROFARM_SCRIPT_SHA256" ] || exit "$EX_STALE"
}

# everything from the arguments becomes a path: only the characters Debian allows
parse_args() {
	[ $# -eq 5 ] || usage "expected 5 arguments, got $#"
	BUILD=$1 SUITE=$2 ARCH=$3 PKG=$4 VERSION=$5
	NODE=${REPROFARM_NODE:-} WORKDIR=${REPROFARM_WORKDIR:-}
	PHASE=all
	case $BUILD in
		1|2|cleanup|chroot-update) ;;
		prepare1|prepare2) PHASE=prepare BUILD=${BUILD#prepare} ;;
		resume1|resume2) PHASE=resume BUILD=${BUILD#resume} ;;
		*) usage "build number must be 1, 2, prepare1, prepare2, resume1, resume2, cleanup or chroot-update" ;;
	esac
	case $SUITE in ''|*[!a-z0-9.+-]*|[!a-z0-9]*) usage "bad suite name" ;; esac
	case $ARCH in ''|*[!a-z0-9-]*|[!a-z0-9]*) usage "bad architecture" ;; esac
	case $PKG in ''|?|*[!a-z0-9.+-]*|[!a-z0-9]*) usage "bad source package name" ;; esac
	case $VERSION in ''|*[!A-Za-z0-9.+~:-]*|[!0-9]*) usage "bad version" ;; esac
	case $NODE in ''|*[!A-Za-z0-9._-]*|[!A-Za-z0-9]*) usage "REPROFARM_NODE is missing or bad" ;; esac
	case $WORKDIR in /*) ;; *) usage "REPROFARM_WORKDIR must be an absolute path" ;; esac
	case $WORKDIR in *[!A-Za-z0-9._/+-]*|*/../*|*/..) usage "REPROFARM_WORKDIR has odd characters" ;; esac
	REL="$SUITE/$ARCH/$PKG/$VERSION"
	ORDER="$WORKDIR/reproducible-builds/$NODE/$REL"
	PENDING="$WORKDIR/reproducible-builds/pending/$REL"
	RESULTS="$WORKDIR/reproducible-results/$NODE/$REL"
	SRC="$WORKDIR/reproducible-builds/sources/$BUILD/$REL"
	V=${VERSION#*:}
	ROOT="$WORKDIR/build" PARENT='' DIR='' OWN_PARENT=no
	START=$(date +%s)
}

# every process of the session a build recorded (it runs in its own process group under timeout), then its files
cleanup_build() {
	if [ -f "$PENDING.pid" ]; then
		IFS= read -r sid < "$PENDING.pid" || sid=''
		case $sid in ''|*[!0-9]*) sid='' ;; esac
		if [ -n "$sid" ] && [ "$sid" -gt 1 ]; then
			for st in /proc/[0-9]*/stat; do
				IFS= read -r line < "$st" 2>/dev/null || continue
				# shellcheck disable=SC2086
				set -- ${line##*) }
				pid=${st#/proc/} pid=${pid%/stat}
				if [ "${4:-}" = "$sid" ] && [ "$pid" != "$$" ]; then kill -KILL "$pid" 2>/dev/null; fi
			done
		fi
	fi
	rm -rf "$ORDER" "$PENDING" "$PENDING.pid" "$PENDING.prepared" "$PENDING.resumed" "$RESULTS" \
		"$WORKDIR/reproducible-builds/sources/1/$REL" "$WORKDIR/reproducible-builds/sources/2/$REL" \
		"$WORKDIR/build/1st/$PKG-$V" "$WORKDIR/build/2/$PKG-$V"
	for b in 1 2; do
		[ -e "$WORKDIR/reproducible-builds/chroot/$b/$REL" ] && ns_rm "$WORKDIR/reproducible-builds/chroot/$b/$REL"
	done
	return 0
}

# the build path under ROOT (the BUILD_PATH variation): 1st is ROOT/1st/PKG-V, in a folder every
# such build shares; 2nd is ROOT/2/PKG-V/2nd, in a folder of the package's own (removed with it)
build_path() { # ROOT: sets P_PARENT, P_DIR, OWN_PARENT
	if [ "$O_BUILD_PATH" = 1st ]; then P_PARENT="$1/1st" P_DIR="$1/1st/$PKG-$V" OWN_PARENT=no; else P_PARENT="$1/2/$PKG-$V" P_DIR="$1/2/$PKG-$V/2nd" OWN_PARENT=yes; fi
}

# take the work order (a rename, so that only one build ever starts from it), or for resume the prepared build;
# with REPROFARM_ORDER_STDIN=1 the order arrives on standard input and is put in its place, whole, first
take_order() {
	PREPARE_S=0 FILES='' PROBED_LOCALE='' PROBED_UNSHARE=''
	if [ "$PHASE" = resume ]; then
		mv "$PENDING.prepared" "$PENDING.resumed" 2>/dev/null || { say "no prepared build at $PENDING.prepared (never prepared, or already resumed?)"; exit "$EX_TAKEN"; }
		while IFS= read -r line || [ -n "$line" ]; do
			case $line in
				PREPARE_S=*) PREPARE_S=${line#*=} ;;
				FILES=*) FILES=${line#*=} ;;
				PROBED_LOCALE=yes|PROBED_LOCALE=no) PROBED_LOCALE=${line#*=} ;;
				PROBED_UNSHARE=yes|PROBED_UNSHARE=no) PROBED_UNSHARE=${line#*=} ;;
			esac
		done < "$PENDING.resumed"
		case $PREPARE_S in ''|*[!0-9]*) PREPARE_S=0 ;; esac
		return 0
	fi
	mkdir -p "${ORDER%/*}" "${PENDING%/*}" || exit "$EX_ERROR"
	if [ "${REPROFARM_ORDER_STDIN:-}" = 1 ]; then
		# read by the shell, not cat: one process less
		if ! { while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done > "$ORDER.tmp.$$" && mv -f "$ORDER.tmp.$$" "$ORDER"; }; then
			rm -f "$ORDER.tmp.$$"
			exit "$EX_ERROR"
		fi
	fi
	mv "$ORDER" "$PENDING" 2>/dev/null || { say "work order $ORDER is missing (already taken by another build?)"; exit "$EX_TAKEN"; }
}

# the session id: cleanup stops the whole build through it
record_session() {
	read -r stat < /proc/$$/stat 2>/dev/null || stat=''
	# shellcheck disable=SC2086
	set -- ${stat##*) }
	echo "${4:-$$}" > "$PENDING.pid"
}

read_order() {
	for key in $VARIATION_KEYS; do eval "O_$key=''"; done
	W_SOURCE='' W_VERSION='' W_SUITE='' W_ARCH='' W_BUILD='' W_DSC_URL='' W_DSC_SHA256='' W_BUILD_COMMAND='' W_BACKEND='' W_TIMEOUT='' W_NUM_CPU='' W_MIN_FREE_MB=''
	while IFS= read -r line || [ -n "$line" ]; do
		key=${line%%=*} val=${line#*=}
		# each key from a fixed list before it names a variable; a value is assigned, never evaluated
		case $key in
			V_*) key=${key#V_}; case " $VARIATION_KEYS " in *" $key "*) eval "O_$key=\$val" ;; esac ;;
			SOURCE|VERSION|SUITE|ARCH|BUILD|DSC_URL|DSC_SHA256|BUILD_COMMAND|BACKEND|TIMEOUT|NUM_CPU|MIN_FREE_MB) eval "W_$key=\$val" ;;
		esac
	done < "$PENDING"
	bad_order() { say "$1"; finish_pending; exit "$EX_USAGE"; }
	if [ "$W_SOURCE" != "$PKG" ] || [ "$W_VERSION" != "$VERSION" ] || [ "$W_SUITE" != "$SUITE" ] || [ "$W_ARCH" != "$ARCH" ] || [ "$W_BUILD" != "$BUILD" ]; then
		bad_order "work order $PENDING does not match the arguments"
	fi
	DSC_URL=$W_DSC_URL DSC_SHA256=$W_DSC_SHA256 BUILD_COMMAND=$W_BUILD_COMMAND TIMEOUT=$W_TIMEOUT NUM_CPU=$W_NUM_CPU BACKEND=$W_BACKEND
	case $DSC_SHA256 in *[!0-9a-f]*|'') bad_order "work order has no valid DSC_SHA256" ;; esac
	[ ${#DSC_SHA256} -eq 64 ] || bad_order "work order has no valid DSC_SHA256"
	case $TIMEOUT in ''|*[!0-9]*) bad_order "work order has no valid TIMEOUT" ;; esac
	[ -n "$BUILD_COMMAND" ] || bad_order "work order has no BUILD_COMMAND"
	case $BACKEND in plain|chroot) ;; *) bad_order "work order BACKEND must be plain or chroot" ;; esac
	case $W_MIN_FREE_MB in ''|*[!0-9]*) bad_order "work order has no valid MIN_FREE_MB" ;; esac
	MIN_FREE_MB=$W_MIN_FREE_MB
	for key in $VARIATION_KEYS; do
		eval "val=\$O_$key"
		[ -n "$val" ] || bad_order "work order variation $key is missing"
		check_variation "$key" "$val" || bad_order "work order variation $key has a value this script does not accept"
	done
}

finish_pending() {
	rm -rf "$PENDING" "$PENDING.pid" "$PENDING.resumed" "$SRC"
	if [ "${BACKEND:-}" = chroot ]; then ns_rm "$CROOT"; return 0; fi
	rm -rf "$DIR"
	if [ "$OWN_PARENT" = yes ]; then rm -rf "$PARENT"; fi
}

fail() { # code why
	say "$2"
	case $1 in
		"$EX_E404") token=E404 ;;
		"$EX_MISMATCH") token=source-mismatch ;;
		"$EX_FTBFS") token=FTBFS ;;
		"$EX_TIMEOUT") token=timeout ;;
		"$EX_DEPWAIT") token=depwait ;;
		*) token=error ;;
	esac
	REASON=$2
	write_status "$1" "$token" && print_sums
	finish_pending
	exit "$1"
}

# the status file, then SHA256SUMS over every regular file in the results directory, in one pass
# however many a package left (a link would make the main node store whatever it points to)
write_status() { # exit-code result
	end=${END:-$(date +%s)}
	{
		printf 'BUILD=%s\nNODE=%s\nSOURCE=%s\nVERSION=%s\nSUITE=%s\nARCH=%s\n' "$BUILD" "$NODE" "$PKG" "$VERSION" "$SUITE" "$ARCH"
		printf 'EXIT_CODE=%s\nRESULT=%s\nSTART=%s\nDURATION=%s\n' "$1" "$2" "$START" "$(( end - START + PREPARE_S ))"
		if [ -n "${BUILD_COMMAND_MS:-}" ]; then printf 'BUILD_COMMAND_MS=%s\n' "$BUILD_COMMAND_MS"; fi
		if [ -n "${REASON:-}" ]; then printf 'REASON=%s\n' "$REASON" | tr '\n' ' ' | sed 's/ $//'; echo; fi
		if [ -n "${UNMET:-}" ]; then printf 'UNMET=%s\n' "$UNMET" | tr '\n' ' ' | sed 's/ $//'; echo; fi
		printf '%s%s' "$VARS" "$NOT_APPLIED"
	} > "$RESULTS/status.tmp" && mv "$RESULTS/status.tmp" "$RESULTS/status" &&
	(
		cd "$RESULTS" || exit 1
		find . ! -name . -prune -type f ! -name SHA256SUMS ! -name '*.tmp' -exec sha256sum -- {} + > SHA256SUMS.all.tmp || exit 1
		sed 's,  \./,  ,' SHA256SUMS.all.tmp | LC_ALL=C sort -k 2 > SHA256SUMS.tmp && rm -f SHA256SUMS.all.tmp && mv SHA256SUMS.tmp SHA256SUMS
	)
}

# SHA256SUMS on standard output too (nothing else goes there): the orchestrator needs no round trip to read it.
# Not a large one (a package that floods its results): the orchestrator reads that itself, within its limits.
print_sums() {
	_bytes=$(wc -c < "$RESULTS/SHA256SUMS") || return 0
	[ "$_bytes" -le 524288 ] || return 0
	while IFS= read -r _l; do printf '%s\n' "$_l"; done < "$RESULTS/SHA256SUMS"
}

fetch() { # URL DEST
	case $1 in
		file://*) cp -- "${1#file://}" "$2" 2>/dev/null ;;
		/*) cp -- "$1" "$2" 2>/dev/null ;;
		http://*|https://*)
			# wget first: it starts in half the time curl takes (libcurl links every protocol)
			if command -v wget >/dev/null 2>&1; then
				wget -q -T 900 -O "$2" -- "$1"
			elif command -v curl >/dev/null 2>&1; then
				curl -fsS --max-time 900 -o "$2" -- "$1"
			else
				say "neither curl nor wget is installed"
				return 1
			fi
			;;
		*) return 1 ;;
	esac
}
sha256() { _s=$(sha256sum -- "$1") && printf '%s' "${_s%% *}"; }

# the .dsc must match the work order, every other file the .dsc
fetch_sources() {
	rm -rf "$RESULTS" "$SRC"
	mkdir -p "$RESULTS" "$SRC" || exit "$EX_ERROR"
	DSC_NAME=${DSC_URL##*/}
	case $DSC_NAME in *.dsc) ;; *) fail "$EX_USAGE" "DSC_URL does not name a .dsc" ;; esac
	case $DSC_NAME in *[!A-Za-z0-9.+~_-]*) fail "$EX_USAGE" "odd .dsc file name" ;; esac
	BASE_URL=${DSC_URL%/*}
	fetch "$DSC_URL" "$SRC/$DSC_NAME" || fail "$EX_E404" "E404: cannot download $DSC_URL"
	got=$(sha256 "$SRC/$DSC_NAME")
	[ "$got" = "$DSC_SHA256" ] || fail "$EX_MISMATCH" "source-mismatch: $DSC_NAME has SHA256 $got, the work order says $DSC_SHA256"
	in_sums=no FILES=''
	while IFS= read -r line; do
		case $line in
			Checksums-Sha256:*) in_sums=yes; continue ;;
			' '*) ;;
			*) in_sums=no; continue ;;
		esac
		[ "$in_sums" = yes ] || continue
		# shellcheck disable=SC2086
		set -- $line
		[ $# -eq 3 ] || continue
		case $3 in ''|*[!A-Za-z0-9.+~_-]*|.*) fail "$EX_MISMATCH" "source-mismatch: odd file name in $DSC_NAME" ;; esac
		case $1 in *[!0-9a-f]*) fail "$EX_MISMATCH" "source-mismatch: bad checksum in $DSC_NAME" ;; esac
		FILES="$FILES $1:$3"
	done < "$SRC/$DSC_NAME"
	[ -n "$FILES" ] || fail "$EX_MISMATCH" "source-mismatch: $DSC_NAME lists no Checksums-Sha256"
	for f in $FILES; do
		sum=${f%%:*} name=${f#*:}
		fetch "$BASE_URL/$name" "$SRC/$name" || fail "$EX_E404" "E404: cannot download $BASE_URL/$name"
		got=$(sha256 "$SRC/$name")
		[ "$got" = "$sum" ] || fail "$EX_MISMATCH" "source-mismatch: $name has SHA256 $got, $DSC_NAME says $sum"
	done
}

unpack_sources() {
	rm -rf "$DIR"
	mkdir -p "$PARENT" || exit "$EX_ERROR"
	# --no-check: every file's SHA256 was checked above, the .dsc's against the work order, which the
	# main node took from the signed Sources index; dpkg-source need not run gpgv and hash them again
	dpkg-source --no-check -x "$SRC/$DSC_NAME" "$DIR" > "$RESULTS/build.log" 2>&1 || fail "$EX_FTBFS" "dpkg-source -x failed"
}

# what resume needs: the source files (dpkg-source leaves links to them beside the tree), the time so far, the probes
write_prepared() {
	now=$(date +%s)
	{ printf 'FILES=%s\nPREPARE_S=%s\nPROBED_LOCALE=%s\nPROBED_UNSHARE=%s\n' "$FILES" "$(( now - START ))" "$PROBED_LOCALE" "$PROBED_UNSHARE" > "$PENDING.prepared.tmp" &&
		mv -f "$PENDING.prepared.tmp" "$PENDING.prepared"; } ||
		fail "$EX_ERROR" "cannot write $PENDING.prepared"
}

# Run by the build's shell: umask, host name (plain: its own UTS namespace), the build command
# in the tree; then it stops what the build left running in its process group (timeout leads the
# group): faketime waits for every process it started, so a background process left by the
# build would hold build 2 until its timeout. Its ancestors (faketime, unshare's shell, timeout)
# are spared. Arguments: UMASK HOST DOMAIN DIR COMMAND.
# shellcheck disable=SC2016,SC2089
REAPER='
	umask "$1"
	if [ -n "$2" ]; then hostname "$2" && domainname "$3" || exit 75; fi
	cd "$4" || exit 75
	sh -c "$5"
	rc=$?
	IFS=" " read -r st < /proc/$$/stat || exit "$rc"
	# shellcheck disable=SC2086
	set -- ${st##*) }
	group=$3
	keep=" $$ "
	p=$$
	while [ "$p" -gt 1 ] && IFS=" " read -r st < "/proc/$p/stat"; do
		# shellcheck disable=SC2086
		set -- ${st##*) }
		p=$2
		keep="$keep$p "
	done
	for f in /proc/[0-9]*/stat; do
		IFS=" " read -r st < "$f" 2>/dev/null || continue
		# shellcheck disable=SC2086
		set -- ${st##*) }
		[ "$3" = "$group" ] || continue
		pid=${f#/proc/}
		pid=${pid%/stat}
		case $keep in *" $pid "*) continue ;; esac
		kill -KILL "$pid" 2>/dev/null
	done
	exit "$rc"
'

# the plain backend: the build command on the node itself, in a fresh environment under the variations
run_build() {
	set -- env -i "PATH=$PATH_V" "HOME=$HOME_V" "TZ=$TZ_V" "LANG=$LANG_V" "LANGUAGE=$LANGUAGE_V" \
		"DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS_V" "NO_FAKE_STAT=1" "USER=${USER:-unknown}" "LOGNAME=${LOGNAME:-unknown}"
	[ -n "$LC_ALL_V" ] && set -- "$@" "LC_ALL=$LC_ALL_V"
	[ -n "$TERM_V" ] && set -- "$@" "TERM=$TERM_V"
	[ -n "$COLUMNS_V" ] && set -- "$@" "COLUMNS=$COLUMNS_V"
	[ -n "$CAPTURE_V" ] && set -- "$@" "CAPTURE_ENVIRONMENT=$CAPTURE_V"
	# shellcheck disable=SC2086 # "linux64 --uname-2.6": two words
	[ -n "$PERSONALITY_V" ] && set -- "$@" $PERSONALITY_V
	[ "$USE_FAKETIME" = yes ] && set -- "$@" faketime "$FAKETIME_V"
	[ "$USE_UNSHARE" = yes ] && set -- "$@" unshare -r --uts
	set -- "$@" sh -c "$REAPER" build "$UMASK_V" "$HOST_V" "$DOMAIN_V" "$DIR" "$BUILD_COMMAND"
	log_build_start "$DIR"
	# timeout leads a process group of its own: what the build leaves running in it is stopped with it
	timeout -k 30 "$TIMEOUT" nice -n "$NICE_V" "$@" >> "$RESULTS/build.log" 2>&1 < /dev/null &
	build_pid=$!
	wait "$build_pid"
	rc=$?
	kill -KILL -"$build_pid" 2>/dev/null || :
	end_build_command "$rc"
}

# the log's head; one date(1): the log's start time and the command's start (GNU date: nanoseconds)
log_build_start() { # WHERE
	now=$(date -u '+%Y-%m-%dT%H:%M:%SZ %s%N')
	cmd_start=${now#* }
	{
		echo "reprofarm build $BUILD of $PKG $VERSION ($SUITE/$ARCH) on $NODE in $1, started ${now%% *}"
		printf '%s' "$VARS$NOT_APPLIED"
		echo "----"
	} >> "$RESULTS/build.log"
}

# the build command's own time (apart from downloads and unpacking), and what its exit code says
end_build_command() { # EXIT-CODE
	cmd_end=$(date +%s%N)
	case $cmd_start$cmd_end in *[!0-9]*) ;; *) BUILD_COMMAND_MS=$(( (cmd_end - cmd_start) / 1000000 )) END=$(( cmd_end / 1000000000 )) ;; esac
	if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then fail "$EX_TIMEOUT" "timeout: the build took more than $TIMEOUT s"; fi
	if [ "$1" -ne 0 ]; then fail "$EX_FTBFS" "FTBFS: the build exited with $1"; fi
}

# a build needs room: a full disk is the node's fault, not the package's
check_disk() {
	free_kb=$(df -Pk "$WORKDIR" 2>/dev/null | awk 'NR == 2 { print $4 }')
	case $free_kb in ''|*[!0-9]*) return 0 ;; esac
	[ "$(( free_kb / 1024 ))" -ge "$MIN_FREE_MB" ] ||
		fail "$EX_ERROR" "node: only $(( free_kb / 1024 )) MB free in $WORKDIR, a build needs $MIN_FREE_MB MB (health.min_free_disk_mb)"
}

# the .changes and every file it names (.deb, .udeb, .ddeb, .buildinfo) into the results directory;
# what the .changes lists is the package's doing: a build that lists odd, missing or linked files failed
collect_results() { # [cp]: copy, for artifacts the node user cannot move (the chroot's build user owns them)
	how=${1:-mv}
	changes=''
	for c in "$PARENT/${PKG}_${V}_"*.changes; do
		[ -f "$c" ] && [ ! -L "$c" ] && changes=$c && break
	done
	[ -n "$changes" ] || fail "$EX_FTBFS" "FTBFS: the build made no ${PKG}_${V}_*.changes"
	artifacts='' in_files=no
	while IFS= read -r line; do
		case $line in
			Files:*) in_files=yes; continue ;;
			' '*) ;;
			*) in_files=no; continue ;;
		esac
		[ "$in_files" = yes ] || continue
		# shellcheck disable=SC2086
		set -- $line
		name=${5:-}
		case $name in ''|*[!A-Za-z0-9.+~_-]*|.*) fail "$EX_FTBFS" "FTBFS: odd file name in ${changes##*/}" ;; esac
		[ -L "$PARENT/$name" ] && fail "$EX_FTBFS" "FTBFS: $name named in the .changes is a symbolic link, not a file"
		[ -f "$PARENT/$name" ] || fail "$EX_FTBFS" "FTBFS: $name named in the .changes is missing"
		artifacts="$artifacts $name"
	done < "$changes"
	# one mv or cp (names checked above: no blanks, no globs); cp -P copies a link as a link, which the main node refuses
	set -- "$changes"
	for name in $artifacts; do set -- "$@" "$PARENT/$name"; done
	if [ "$how" = cp ]; then
		cp -P -- "$@" "$RESULTS/" || fail "$EX_FTBFS" "FTBFS: the artifacts cannot be copied into $RESULTS (unreadable?)"
		rm -rf -- "$SRC"
		return 0
	fi
	mv -- "$@" "$RESULTS/" || fail "$EX_ERROR" "cannot move the artifacts into $RESULTS"
	# what dpkg-source -x left beside the tree (orig tarball links), the tree, the sources
	set -- "$DIR" "$SRC"
	for f in $FILES; do set -- "$@" "$PARENT/${f#*:}"; done
	[ "$OWN_PARENT" = yes ] && set -- "$@" "$PARENT"
	rm -rf -- "$@"
}

main() {
	# a step of a chroot build, run again inside its namespaces by unshare (node-chroot.sh)
	if [ "${1:-}" = __ns ]; then ns_main "${2:-}"; exit "$EX_USAGE"; fi
	check_self
	parse_args "$@"
	if [ "$BUILD" = cleanup ]; then cleanup_build; exit 0; fi
	if [ "$BUILD" = chroot-update ]; then chroot_update; exit 0; fi
	take_order
	record_session
	read_order
	if [ "$BACKEND" = chroot ]; then chroot_paths; else build_path "$ROOT" && PARENT=$P_PARENT DIR=$P_DIR; fi
	if [ "$PHASE" != resume ]; then
		check_disk
		[ "$BACKEND" = chroot ] && chroot_check_node
		fetch_sources
	fi
	apply_variations
	if [ "$PHASE" = resume ]; then
		{ [ -d "$DIR" ] && [ -d "$RESULTS" ]; } || fail "$EX_ERROR" "the prepared build tree $DIR or its results directory is missing"
	elif [ "$BACKEND" = chroot ]; then
		chroot_prepare
	else
		unpack_sources
	fi
	if [ "$PHASE" = prepare ]; then write_prepared; exit 0; fi
	if [ "$BACKEND" = chroot ]; then
		chroot_run_build
		chroot_collect
	else
		run_build
		collect_results
	fi
	write_status 0 built || exit "$EX_ERROR"
	print_sums
	finish_pending
	exit 0
}

# the parts in files of their own: the installed copy has them here, inline (builder/node-script.ts)
# @@INCLUDE node-variations.sh@@
# @@INCLUDE node-chroot.sh@@
if ! command -v check_variation >/dev/null 2>&1; then
	# shellcheck source=builder/node-variations.sh
	. "${0%/*}/node-variations.sh"
	# shellcheck source=builder/node-chroot.sh
	. "${0%/*}/node-chroot.sh"
fi

# sourced with REPROFARM_NODE_BUILD_LIB=1 (the protocol test calls check_variation), it only defines
[ "${REPROFARM_NODE_BUILD_LIB:-}" = 1 ] || main "$@"
