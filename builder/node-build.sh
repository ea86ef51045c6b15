#!/bin/sh
# reprofarm node build script: one build of one source package on this node.
#   REPROFARM_NODE=NODE REPROFARM_WORKDIR=DIR node-build.sh 1|2 SUITE ARCH PKG VERSION
#   REPROFARM_NODE=NODE REPROFARM_WORKDIR=DIR node-build.sh prepare1|prepare2 SUITE ARCH PKG VERSION
#   REPROFARM_NODE=NODE REPROFARM_WORKDIR=DIR node-build.sh resume1|resume2 SUITE ARCH PKG VERSION
#   REPROFARM_NODE=NODE REPROFARM_WORKDIR=DIR node-build.sh cleanup SUITE ARCH PKG VERSION
# Runs on build nodes (POSIX sh, coreutils, dpkg-dev, curl or wget; never
# Node.js). It takes its work order at once (rename into pending/, so it is
# built only once and a stale build is visible), downloads the .dsc and its
# files, checks them against the work order and the .dsc, builds under the
# variations of this build number, and leaves artifacts, SHA256SUMS, build.log
# and a status file in reproducible-results/NODE/SUITE/ARCH/PKG/VERSION/. When it
# wrote a status file, it prints that directory's SHA256SUMS on standard output.
#
# `prepareN` does the first half only: it takes the work order, downloads,
# checks and unpacks, and leaves PENDING.prepared; `resumeN` takes that marker
# (a rename: one resume only) and does the second half. The orchestrator
# prepares build 2 while build 1 runs, so downloading and unpacking the sources
# on node 2 costs no time; the build command itself still runs after build 1.
#
# `cleanup` stops a build of that package still running on this node (every
# process of its session), and removes its work order, pending entry, sources,
# build tree and results: what an interrupted build left behind.
#
# With REPROFARM_SCRIPT_SHA256 set, the script first checks that it is that
# version of itself (the orchestrator's), and exits 99 before reading anything
# when it is not: the orchestrator then installs its copy and runs it again.
#
# Exit codes: 0 built (or cleaned, or prepared), 2 usage, 70 work order (or prepared build) missing or already taken,
# 71 source not downloadable (E404), 72 checksum mismatch (source-mismatch),
# 73 build failed (FTBFS), 74 build timed out, 75 other error, 99 stale script.
set -u

if [ -n "${REPROFARM_SCRIPT_SHA256:-}" ]; then
	self=$(sha256sum "$0" 2>/dev/null) || exit 99
	[ "${self%% *}" = "$REPROFARM_SCRIPT_SHA256" ] || exit 99
fi

EX_USAGE=2
EX_TAKEN=70
EX_E404=71
EX_MISMATCH=72
EX_FTBFS=73
EX_TIMEOUT=74
EX_ERROR=75

say() { printf 'node-build: %s\n' "$*" >&2; }
usage() { say "$*"; say "usage: node-build.sh 1|2|prepare1|prepare2|resume1|resume2|cleanup SUITE ARCH PKG VERSION (with REPROFARM_NODE and REPROFARM_WORKDIR set)"; exit "$EX_USAGE"; }

[ $# -eq 5 ] || usage "expected 5 arguments, got $#"
BUILD=$1 SUITE=$2 ARCH=$3 PKG=$4 VERSION=$5
NODE=${REPROFARM_NODE:-}
WORKDIR=${REPROFARM_WORKDIR:-}

# everything below becomes a path: refuse anything but the characters Debian allows
# PHASE: all (download, unpack, build), prepare (the first half), resume (the second)
PHASE=all
case $BUILD in
	1|2|cleanup) ;;
	prepare1|prepare2) PHASE=prepare BUILD=${BUILD#prepare} ;;
	resume1|resume2) PHASE=resume BUILD=${BUILD#resume} ;;
	*) usage "build number must be 1, 2, prepare1, prepare2, resume1, resume2 or cleanup" ;;
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
START=$(date +%s)
V=${VERSION#*:}

if [ "$BUILD" = cleanup ]; then
	if [ -f "$PENDING.pid" ]; then
		IFS= read -r sid < "$PENDING.pid" || sid=''
		case $sid in ''|*[!0-9]*) sid='' ;; esac
		if [ -n "$sid" ] && [ "$sid" -gt 1 ]; then
			# every process of that build's session (the build runs in its own process group under timeout)
			for st in /proc/[0-9]*/stat; do
				IFS= read -r line < "$st" 2>/dev/null || continue
				# shellcheck disable=SC2086
				set -- ${line##*) }
				pid=${st#/proc/}
				pid=${pid%/stat}
				if [ "${4:-}" = "$sid" ] && [ "$pid" != "$$" ]; then kill -KILL "$pid" 2>/dev/null; fi
			done
		fi
	fi
	rm -rf "$ORDER" "$PENDING" "$PENDING.pid" "$PENDING.prepared" "$PENDING.resumed" "$RESULTS" \
		"$WORKDIR/reproducible-builds/sources/1/$REL" "$WORKDIR/reproducible-builds/sources/2/$REL" \
		"$WORKDIR/build/1st/$PKG-$V" "$WORKDIR/build/2/$PKG-$V"
	exit 0
fi

# PROBED_*: what prepare found out about this node (resume need not ask again)
PREPARE_S=0 files='' PROBED_LOCALE='' PROBED_UNSHARE=''
if [ "$PHASE" = resume ]; then
	# 1'. take the prepared build: a rename, so that only one build ever resumes it
	if ! mv "$PENDING.prepared" "$PENDING.resumed" 2>/dev/null; then
		say "no prepared build at $PENDING.prepared (never prepared, or already resumed?)"
		exit "$EX_TAKEN"
	fi
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
			PREPARE_S=*) PREPARE_S=${line#*=} ;;
			FILES=*) files=${line#*=} ;;
			PROBED_LOCALE=yes|PROBED_LOCALE=no) PROBED_LOCALE=${line#*=} ;;
			PROBED_UNSHARE=yes|PROBED_UNSHARE=no) PROBED_UNSHARE=${line#*=} ;;
		esac
	done < "$PENDING.resumed"
	case $PREPARE_S in ''|*[!0-9]*) PREPARE_S=0 ;; esac
# 0. with REPROFARM_ORDER_STDIN=1 the work order arrives on standard input (one
# round trip less than copying it first): put it in its place, whole, first
# (read by the shell, not cat: one process less)
elif [ "${REPROFARM_ORDER_STDIN:-}" = 1 ]; then
	mkdir -p "${ORDER%/*}" "${PENDING%/*}" || exit "$EX_ERROR"
	if ! { while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done > "$ORDER.tmp.$$" && mv -f "$ORDER.tmp.$$" "$ORDER"; }; then
		rm -f "$ORDER.tmp.$$"
		exit "$EX_ERROR"
	fi
else
	mkdir -p "${PENDING%/*}" || exit "$EX_ERROR"
fi

# 1. take the work order: a rename, so that only one build ever starts from it
if [ "$PHASE" != resume ] && ! mv "$ORDER" "$PENDING" 2>/dev/null; then
	say "work order $ORDER is missing (already taken by another build?)"
	exit "$EX_TAKEN"
fi
# the session id: cleanup stops the whole build through it
read -r stat < /proc/$$/stat 2>/dev/null || stat=''
# shellcheck disable=SC2086
set -- ${stat##*) }
echo "${4:-$$}" > "$PENDING.pid"

W_SOURCE='' W_VERSION='' W_SUITE='' W_ARCH='' W_BUILD='' DSC_URL='' DSC_SHA256='' BUILD_COMMAND='' TIMEOUT='' NUM_CPU=''
# the job's own variations (V_<KEY> lines; "-" = not set by the job)
O_TZ=- O_DATE=- O_LANG=- O_LC_ALL=- O_LANGUAGE=- O_TERM=- O_COLUMNS=- O_UMASK=- O_HOME=- O_PATH=- O_CAPTURE=- O_HOST=- O_DOMAIN=- O_PARALLEL=-
while IFS= read -r line || [ -n "$line" ]; do
	val=${line#*=}
	case $line in
		V_TZ=*) O_TZ=$val ;;
		V_DATE=*) O_DATE=$val ;;
		V_LANG=*) O_LANG=$val ;;
		V_LC_ALL=*) O_LC_ALL=$val ;;
		V_LANGUAGE=*) O_LANGUAGE=$val ;;
		V_TERM=*) O_TERM=$val ;;
		V_COLUMNS=*) O_COLUMNS=$val ;;
		V_UMASK=*) O_UMASK=$val ;;
		V_HOME=*) O_HOME=$val ;;
		V_PATH=*) O_PATH=$val ;;
		V_CAPTURE_ENVIRONMENT=*) O_CAPTURE=$val ;;
		V_HOSTNAME=*) O_HOST=$val ;;
		V_DOMAINNAME=*) O_DOMAIN=$val ;;
		V_PARALLEL=*) O_PARALLEL=$val ;;
		SOURCE=*) W_SOURCE=$val ;;
		VERSION=*) W_VERSION=$val ;;
		SUITE=*) W_SUITE=$val ;;
		ARCH=*) W_ARCH=$val ;;
		BUILD=*) W_BUILD=$val ;;
		DSC_URL=*) DSC_URL=$val ;;
		DSC_SHA256=*) DSC_SHA256=$val ;;
		BUILD_COMMAND=*) BUILD_COMMAND=$val ;;
		TIMEOUT=*) TIMEOUT=$val ;;
		NUM_CPU=*) NUM_CPU=$val ;;
	esac
done < "$PENDING"

finish_pending() {
	if [ "$BUILD" = 2 ]; then
		rm -rf "$PENDING" "$PENDING.pid" "$PENDING.resumed" "${SRC:-/nonexistent}" "${DIR:-/nonexistent}" "${PARENT:-/nonexistent}"
	else
		rm -rf "$PENDING" "$PENDING.pid" "$PENDING.resumed" "${SRC:-/nonexistent}" "${DIR:-/nonexistent}"
	fi
}
fail() { # code why
	say "$2"
	case $1 in
		"$EX_E404") token=E404 ;;
		"$EX_MISMATCH") token=source-mismatch ;;
		"$EX_FTBFS") token=FTBFS ;;
		"$EX_TIMEOUT") token=timeout ;;
		*) token=error ;;
	esac
	REASON=$2
	write_status "$1" "$token" && print_sums
	finish_pending
	exit "$1"
}

if [ "$W_SOURCE" != "$PKG" ] || [ "$W_VERSION" != "$VERSION" ] || [ "$W_SUITE" != "$SUITE" ] || [ "$W_ARCH" != "$ARCH" ] || [ "$W_BUILD" != "$BUILD" ]; then
	say "work order $PENDING does not match the arguments"
	finish_pending
	exit "$EX_USAGE"
fi
case $DSC_SHA256 in *[!0-9a-f]*|'') say "work order has no valid DSC_SHA256"; finish_pending; exit "$EX_USAGE" ;; esac
[ ${#DSC_SHA256} -eq 64 ] || { say "work order has no valid DSC_SHA256"; finish_pending; exit "$EX_USAGE"; }
case $TIMEOUT in ''|*[!0-9]*) TIMEOUT=86400 ;; esac
[ -n "$BUILD_COMMAND" ] || BUILD_COMMAND='dpkg-buildpackage -us -uc -b'

# 2. the variations of this build: applied ones as VAR_*, missing ones as NOT_APPLIED_*
VARS=''
NOT_APPLIED=''
var() { VARS="${VARS}VAR_$1=$2
"; }
not_applied() { NOT_APPLIED="${NOT_APPLIED}NOT_APPLIED_$1=$2
"; }

# the status file, then SHA256SUMS over everything in the results directory
# (END is set when the build command's end time is known: no date(1) then)
write_status() { # exit-code result
	end=${END:-$(date +%s)}
	{
		printf 'BUILD=%s\nNODE=%s\nSOURCE=%s\nVERSION=%s\nSUITE=%s\nARCH=%s\n' "$BUILD" "$NODE" "$PKG" "$VERSION" "$SUITE" "$ARCH"
		printf 'EXIT_CODE=%s\nRESULT=%s\nSTART=%s\nDURATION=%s\n' "$1" "$2" "$START" "$(( end - START + PREPARE_S ))"
		if [ -n "${BUILD_COMMAND_MS:-}" ]; then printf 'BUILD_COMMAND_MS=%s\n' "$BUILD_COMMAND_MS"; fi
		if [ -n "${REASON:-}" ]; then printf 'REASON=%s\n' "$REASON" | tr '\n' ' ' | sed 's/ $//'; echo; fi
		printf '%s%s' "$VARS" "$NOT_APPLIED"
	} > "$RESULTS/status.tmp" && mv "$RESULTS/status.tmp" "$RESULTS/status" &&
	(
		# every regular file but SHA256SUMS and *.tmp, in one pass however many a package left
		# (a link would make the main node store whatever it points to; find does not follow one)
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

ncpu=$NUM_CPU
case $ncpu in ''|*[!0-9]*) ncpu=$(nproc 2>/dev/null || echo 1) ;; esac
ROOT="$WORKDIR/build"
if [ "$BUILD" = 1 ]; then
	TZ_V='Etc/GMT+12' LANG_V='C' LC_ALL_V='' LANGUAGE_V='en_US:en' TERM_V='' COLUMNS_V=''
	UMASK_V=0022 HOME_V=/nonexistent/first-build PATH_V='/usr/sbin:/usr/bin:/sbin:/bin' CAPTURE_V=''
	HOST_V='' DOMAIN_V='' PARALLEL_V=$ncpu FAKETIME_V=''
	PARENT="$ROOT/1st"
	DIR="$PARENT/$PKG-$V"
else
	TZ_V='Etc/GMT-14' LANG_V='et_EE.UTF-8' LC_ALL_V='et_EE.UTF-8' LANGUAGE_V='et_EE:et' TERM_V='linux' COLUMNS_V='77'
	UMASK_V=0002 HOME_V=/nonexistent/second-build PATH_V='/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path'
	CAPTURE_V='I capture the environment' HOST_V='i-capture-the-hostname' DOMAIN_V='i-capture-the-domain'
	PARALLEL_V=$(( ncpu + 1 )) FAKETIME_V='+398 days +6 hours +23 minutes'
	PARENT="$ROOT/2/$PKG-$V"
	DIR="$PARENT/2nd"
fi
# the job's own variations over the defaults: each value checked again here (the main node checked them in the configuration)
bad_variation() { say "work order variation $1 has a value this script does not accept"; finish_pending; exit "$EX_USAGE"; }
no_dotdot() { case $2 in *..*) bad_variation "$1" ;; esac; }
case $O_TZ in -) ;; ''|*[!A-Za-z0-9/_+-]*) bad_variation TZ ;; *) TZ_V=$O_TZ ;; esac
case $O_DATE in -) ;; real) FAKETIME_V='' ;; ''|*[!A-Za-z0-9@:+\ -]*) bad_variation DATE ;; *) FAKETIME_V=$O_DATE ;; esac
case $O_LANG in -) ;; ''|*[!A-Za-z0-9_.@-]*) bad_variation LANG ;; *) LANG_V=$O_LANG ;; esac
case $O_LC_ALL in -) ;; unset) LC_ALL_V='' ;; ''|*[!A-Za-z0-9_.@-]*) bad_variation LC_ALL ;; *) LC_ALL_V=$O_LC_ALL ;; esac
case $O_LANGUAGE in -) ;; ''|*[!A-Za-z0-9_.@:-]*) bad_variation LANGUAGE ;; *) LANGUAGE_V=$O_LANGUAGE ;; esac
case $O_TERM in -) ;; unset) TERM_V='' ;; ''|*[!A-Za-z0-9._+-]*) bad_variation TERM ;; *) TERM_V=$O_TERM ;; esac
case $O_COLUMNS in -) ;; unset) COLUMNS_V='' ;; ''|*[!0-9]*) bad_variation COLUMNS ;; *) COLUMNS_V=$O_COLUMNS ;; esac
case $O_UMASK in -) ;; 0[0-7][0-7][0-7]) UMASK_V=$O_UMASK ;; *) bad_variation UMASK ;; esac
case $O_HOME in -) ;; /*) case $O_HOME in *[!A-Za-z0-9._/+-]*) bad_variation HOME ;; esac; no_dotdot HOME "$O_HOME"; HOME_V=$O_HOME ;; *) bad_variation HOME ;; esac
case $O_PATH in -) ;; /*) case $O_PATH in *[!A-Za-z0-9._/+:-]*) bad_variation PATH ;; esac; no_dotdot PATH "$O_PATH"; PATH_V=$O_PATH ;; *) bad_variation PATH ;; esac
case $O_CAPTURE in -) ;; unset) CAPTURE_V='' ;; ''|*[!A-Za-z0-9\ ._+-]*) bad_variation CAPTURE_ENVIRONMENT ;; *) CAPTURE_V=$O_CAPTURE ;; esac
case $O_HOST in -) ;; node) HOST_V='' ;; ''|*[!A-Za-z0-9-]*|-*) bad_variation HOSTNAME ;; *) HOST_V=$O_HOST ;; esac
case $O_DOMAIN in -) ;; node) DOMAIN_V='' ;; ''|*[!A-Za-z0-9.-]*|-*) bad_variation DOMAINNAME ;; *) DOMAIN_V=$O_DOMAIN ;; esac
case $O_PARALLEL in -) ;; node) PARALLEL_V=$ncpu ;; node+1) PARALLEL_V=$(( ncpu + 1 )) ;; ''|*[!0-9]*) bad_variation PARALLEL ;; *) PARALLEL_V=$O_PARALLEL ;; esac
# a domain name of its own needs a host name of its own too (both are set in the build's UTS namespace)
if [ -z "$HOST_V" ] && [ -n "$DOMAIN_V" ]; then
	[ -r /proc/sys/kernel/hostname ] && IFS= read -r HOST_V < /proc/sys/kernel/hostname
	[ -n "$HOST_V" ] || HOST_V=$(hostname 2>/dev/null) || HOST_V=''
fi
var TZ "$TZ_V"
var LANG "$LANG_V"
var LC_ALL "${LC_ALL_V:-unset}"
var LANGUAGE "$LANGUAGE_V"
var TERM "${TERM_V:-unset}"
var COLUMNS "${COLUMNS_V:-unset}"
var UMASK "$UMASK_V"
var HOME "$HOME_V"
var PATH "$PATH_V"
var CAPTURE_ENVIRONMENT "${CAPTURE_V:-unset}"
var BUILD_PATH "$DIR"
var PARALLEL "$PARALLEL_V"
ostype='' osrelease=''
[ -r /proc/sys/kernel/ostype ] && IFS= read -r ostype < /proc/sys/kernel/ostype
[ -r /proc/sys/kernel/osrelease ] && IFS= read -r osrelease < /proc/sys/kernel/osrelease
if [ -n "$ostype" ] && [ -n "$osrelease" ]; then
	var KERNEL "$ostype $osrelease"
else
	var KERNEL "$(uname -sr 2>/dev/null || echo unset)"
fi
var NICE 10
case $LANG_V in
	C|C.*|POSIX) ;;
	*)
		# locale -a spells UTF-8 as utf8
		case $LANG_V in
			*UTF-8*) want="${LANG_V%%UTF-8*}utf8${LANG_V#*UTF-8}" ;;
			*) want=$LANG_V ;;
		esac
		if [ -z "$PROBED_LOCALE" ]; then
			PROBED_LOCALE=no
			locale -a 2>/dev/null | grep -qx -- "$want" && PROBED_LOCALE=yes
		fi
		if [ "$PROBED_LOCALE" = no ]; then
			not_applied LOCALE "$LANG_V is not installed on this node (locale -a), programs fall back to C"
		fi
		;;
esac

# the node's host name: from /proc where there is one
node_hostname() {
	_h=''
	[ -r /proc/sys/kernel/hostname ] && IFS= read -r _h < /proc/sys/kernel/hostname
	[ -n "$_h" ] || _h=$(hostname 2>/dev/null) || _h='unset'
	printf '%s' "${_h:-unset}"
}

# hostname and domain name: both builds run in their own user and UTS namespace
# (as uid 0 inside it), so the only difference between them is the names
USE_UNSHARE=no
if [ -z "$PROBED_UNSHARE" ]; then
	PROBED_UNSHARE=no
	command -v unshare >/dev/null 2>&1 && unshare -r --uts true 2>/dev/null && PROBED_UNSHARE=yes
fi
if [ "$PROBED_UNSHARE" = yes ]; then
	USE_UNSHARE=yes
	if [ -n "$HOST_V" ]; then
		var HOSTNAME "$HOST_V"
		var DOMAINNAME "$DOMAIN_V"
	else
		var HOSTNAME "$(node_hostname)"
		domain='unset'
		[ -r /proc/sys/kernel/domainname ] && IFS= read -r domain < /proc/sys/kernel/domainname
		# Linux's "(none)" is an unset domain name, as info.sh reports it
		case $domain in ''|'(none)') domain='unset' ;; esac
		var DOMAINNAME "$domain"
	fi
else
	var HOSTNAME "$(node_hostname)"
	[ -n "$HOST_V" ] && not_applied HOSTNAME "unshare --uts is not available to this user (no user namespaces?)"
fi

USE_FAKETIME=no
if [ -n "$FAKETIME_V" ]; then
	if command -v faketime >/dev/null 2>&1; then
		USE_FAKETIME=yes
		var DATE "faketime $FAKETIME_V (NO_FAKE_STAT=1)"
	else
		var DATE 'real clock'
		not_applied DATE "faketime is not installed (apt-get install faketime)"
	fi
else
	var DATE 'real clock'
fi

# 3. sources: the .dsc must match the work order, every other file the .dsc
SRC="$WORKDIR/reproducible-builds/sources/$BUILD/$REL"
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

# the sources of this build: fetched, checked and unpacked (all but resume)
prepare_sources() {
	# results, sources and the build tree start empty (one rm, one mkdir)
	rm -rf "$RESULTS" "$SRC" "$DIR"
	mkdir -p "$RESULTS" "$SRC" "$PARENT" || exit "$EX_ERROR"

	DSC_NAME=${DSC_URL##*/}
	case $DSC_NAME in *.dsc) ;; *) fail "$EX_USAGE" "DSC_URL does not name a .dsc" ;; esac
	case $DSC_NAME in *[!A-Za-z0-9.+~_-]*) fail "$EX_USAGE" "odd .dsc file name" ;; esac
	BASE_URL=${DSC_URL%/*}
	fetch "$DSC_URL" "$SRC/$DSC_NAME" || fail "$EX_E404" "E404: cannot download $DSC_URL"
	got=$(sha256 "$SRC/$DSC_NAME")
	[ "$got" = "$DSC_SHA256" ] || fail "$EX_MISMATCH" "source-mismatch: $DSC_NAME has SHA256 $got, the work order says $DSC_SHA256"

	in_sums=no
	files=''
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
		files="$files $1:$3"
	done < "$SRC/$DSC_NAME"
	[ -n "$files" ] || fail "$EX_MISMATCH" "source-mismatch: $DSC_NAME lists no Checksums-Sha256"
	for f in $files; do
		sum=${f%%:*} name=${f#*:}
		fetch "$BASE_URL/$name" "$SRC/$name" || fail "$EX_E404" "E404: cannot download $BASE_URL/$name"
		got=$(sha256 "$SRC/$name")
		[ "$got" = "$sum" ] || fail "$EX_MISMATCH" "source-mismatch: $name has SHA256 $got, $DSC_NAME says $sum"
	done

	# 4. unpack (--no-check: every file's SHA256 was checked above, the .dsc's against the work order, which the
	# main node took from the signed Sources index; dpkg-source need not run gpgv and hash them again)
	if ! dpkg-source --no-check -x "$SRC/$DSC_NAME" "$DIR" > "$RESULTS/build.log" 2>&1; then
		fail "$EX_FTBFS" "dpkg-source -x failed"
	fi
}

if [ "$PHASE" = resume ]; then
	if [ ! -d "$DIR" ] || [ ! -d "$RESULTS" ]; then fail "$EX_ERROR" "the prepared build tree $DIR or its results directory is missing"; fi
else
	prepare_sources
fi
if [ "$PHASE" = prepare ]; then
	# what resume needs: the source files (dpkg-source leaves links to them beside the tree) and the time spent so far
	now=$(date +%s)
	{ printf 'FILES=%s\nPREPARE_S=%s\nPROBED_LOCALE=%s\nPROBED_UNSHARE=%s\n' "$files" "$(( now - START ))" "$PROBED_LOCALE" "$PROBED_UNSHARE" > "$PENDING.prepared.tmp" &&
		mv -f "$PENDING.prepared.tmp" "$PENDING.prepared"; } ||
		fail "$EX_ERROR" "cannot write $PENDING.prepared"
	exit 0
fi

# 5. build
set -- env -i "PATH=$PATH_V" "HOME=$HOME_V" "TZ=$TZ_V" "LANG=$LANG_V" "LANGUAGE=$LANGUAGE_V" \
	"DEB_BUILD_OPTIONS=parallel=$PARALLEL_V" "NO_FAKE_STAT=1" "USER=${USER:-unknown}" "LOGNAME=${LOGNAME:-unknown}"
[ -n "$LC_ALL_V" ] && set -- "$@" "LC_ALL=$LC_ALL_V"
[ -n "$TERM_V" ] && set -- "$@" "TERM=$TERM_V"
[ -n "$COLUMNS_V" ] && set -- "$@" "COLUMNS=$COLUMNS_V"
[ -n "$CAPTURE_V" ] && set -- "$@" "CAPTURE_ENVIRONMENT=$CAPTURE_V"
[ "$USE_FAKETIME" = yes ] && set -- "$@" faketime "$FAKETIME_V"
[ "$USE_UNSHARE" = yes ] && set -- "$@" unshare -r --uts
# The build command runs in a child of this small script, which then stops what the build left
# running in its process group (timeout leads the group): faketime waits for every process it
# started, so a background process left by the build would hold build 2 until its timeout.
# Its ancestors (faketime, unshare's shell, timeout) are spared.
# shellcheck disable=SC2016
set -- "$@" sh -c '
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
' build "$UMASK_V" "$HOST_V" "$DOMAIN_V" "$DIR" "$BUILD_COMMAND"
# one date(1): the log's start time and the command's start (GNU date: nanoseconds)
now=$(date -u '+%Y-%m-%dT%H:%M:%SZ %s%N')
cmd_start=${now#* }
{
	echo "reprofarm build $BUILD of $PKG $VERSION ($SUITE/$ARCH) on $NODE, started ${now%% *}"
	printf '%s' "$VARS$NOT_APPLIED"
	echo "----"
} >> "$RESULTS/build.log"
# timeout leads a process group of its own: what the build leaves running in it is stopped with it
timeout -k 30 "$TIMEOUT" nice -n 10 "$@" >> "$RESULTS/build.log" 2>&1 < /dev/null &
build_pid=$!
wait "$build_pid"
rc=$?
kill -KILL -"$build_pid" 2>/dev/null || :
cmd_end=$(date +%s%N)
# the build command's own time (GNU date: nanoseconds), apart from downloads and unpacking
case $cmd_start$cmd_end in *[!0-9]*) ;; *) BUILD_COMMAND_MS=$(( (cmd_end - cmd_start) / 1000000 )) END=$(( cmd_end / 1000000000 )) ;; esac
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	rm -rf "$DIR"
	fail "$EX_TIMEOUT" "timeout: the build took more than $TIMEOUT s"
fi
if [ "$rc" -ne 0 ]; then
	rm -rf "$DIR"
	fail "$EX_FTBFS" "FTBFS: the build exited with $rc"
fi

# 6. artifacts: what the .changes names (.deb, .udeb, .ddeb, .buildinfo), plus the .changes
changes=''
for c in "$PARENT/${PKG}_${V}_"*.changes; do
	[ -f "$c" ] && [ ! -L "$c" ] && changes=$c && break
done
[ -n "$changes" ] || fail "$EX_FTBFS" "FTBFS: the build made no ${PKG}_${V}_*.changes"
artifacts=''
in_files=no
while IFS= read -r line; do
	case $line in
		Files:*) in_files=yes; continue ;;
		' '*) ;;
		*) in_files=no; continue ;;
	esac
	[ "$in_files" = yes ] || continue
	# shellcheck disable=SC2086
	set -- $line
	name=$5
	# what the .changes lists is the package's doing: a build that lists odd, missing or linked files failed
	case $name in ''|*[!A-Za-z0-9.+~_-]*|.*) fail "$EX_FTBFS" "FTBFS: odd file name in ${changes##*/}" ;; esac
	[ -L "$PARENT/$name" ] && fail "$EX_FTBFS" "FTBFS: $name named in the .changes is a symbolic link, not a file"
	[ -f "$PARENT/$name" ] || fail "$EX_FTBFS" "FTBFS: $name named in the .changes is missing"
	artifacts="$artifacts $name"
done < "$changes"
# the .changes and every file it names, in one mv (names checked above: no blanks, no globs)
set -- "$changes"
for name in $artifacts; do set -- "$@" "$PARENT/$name"; done
mv -- "$@" "$RESULTS/" || fail "$EX_ERROR" "cannot move the artifacts into $RESULTS"
# what dpkg-source -x left beside the tree (orig tarball links), the tree, the sources
set -- "$DIR" "$SRC"
for f in $files; do set -- "$@" "$PARENT/${f#*:}"; done
[ "$BUILD" = 2 ] && set -- "$@" "$PARENT"
rm -rf -- "$@"
write_status 0 built || exit "$EX_ERROR"
print_sums
finish_pending
exit 0
