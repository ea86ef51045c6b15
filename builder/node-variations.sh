# shellcheck shell=sh disable=SC2034 # the variables are node-build.sh's
# reprofarm's variations, a part of node-build.sh (the installed copy carries
# this file inline; from a checkout node-build.sh sources it): each work-order
# value checked (check_variation: the same patterns as core/protocol.ts), then
# turned into what the build gets, each recorded as VAR_<KEY> (applied) or
# NOT_APPLIED_<KEY> with the reason. Only defines functions; uses node-build.sh's
# variables.

# 0 when VALUE is one this script accepts for variation KEY (core/protocol.ts has the same as regular expressions)
check_variation() { # KEY VALUE
	case $1 in
		TZ) case $2 in ''|*[!A-Za-z0-9/_+-]*) return 1 ;; esac ;;
		DATE) case $2 in ''|*[!A-Za-z0-9@:+\ -]*) return 1 ;; esac ;;
		LANG|LC_ALL) case $2 in ''|*[!A-Za-z0-9_.@-]*) return 1 ;; esac ;;
		LANGUAGE) case $2 in ''|*[!A-Za-z0-9_.@:-]*) return 1 ;; esac ;;
		TERM) case $2 in ''|*[!A-Za-z0-9._+-]*) return 1 ;; esac ;;
		COLUMNS) case $2 in unset) ;; ''|*[!0-9]*|0*) return 1 ;; esac ;;
		UMASK) case $2 in 0[0-7][0-7][0-7]) ;; *) return 1 ;; esac ;;
		HOME) case $2 in /*) case $2 in *[!A-Za-z0-9._/+-]*|*..*) return 1 ;; esac ;; *) return 1 ;; esac ;;
		PATH) case $2 in /*) case $2 in *[!A-Za-z0-9._/+:-]*|*..*) return 1 ;; esac ;; *) return 1 ;; esac ;;
		CAPTURE_ENVIRONMENT) case $2 in ''|*[!A-Za-z0-9\ ._+-]*) return 1 ;; esac ;;
		HOSTNAME) case $2 in ''|*[!A-Za-z0-9-]*|-*) return 1 ;; esac ;;
		DOMAINNAME) case $2 in ''|*[!A-Za-z0-9.-]*|-*) return 1 ;; esac ;;
		PARALLEL) case $2 in node|node+1) ;; ''|*[!0-9]*|0*) return 1 ;; esac ;;
		BUILD_USER) check_build_user "$2" || return 1 ;;
		BINSH) case $2 in dash|bash) ;; *) return 1 ;; esac ;;
		NICE) case $2 in [0-9]|1[0-9]) ;; *) return 1 ;; esac ;;
		NOCHECK) case $2 in unset|nocheck) ;; *) return 1 ;; esac ;;
		KERNEL_PERSONALITY) case $2 in native|linux32|linux64|'linux32 --uname-2.6'|'linux64 --uname-2.6') ;; *) return 1 ;; esac ;;
		FILEORDERING) case $2 in native|'disorderfs --shuffle-dirents'|'disorderfs --reverse-dirents') ;; *) return 1 ;; esac ;;
		BUILD_PATH) case $2 in 1st|2nd) ;; *) return 1 ;; esac ;;
		*) return 1 ;;
	esac
	return 0
}

# NAME:UID:GECOS:SHELL: they go into the chroot's /etc/passwd
check_build_user() {
	case $1 in *:*:*:*:*) return 1 ;; *:*:*:*) ;; *) return 1 ;; esac
	_n=${1%%:*} _r=${1#*:}
	_u=${_r%%:*} _r=${_r#*:}
	_g=${_r%:*} _s=${_r##*:}
	case $_n in ''|[!a-z_]*|*[!a-z0-9_-]*) return 1 ;; esac
	[ ${#_n} -le 32 ] || return 1
	case $_u in [1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9]) ;; *) return 1 ;; esac
	case $_g in *[!A-Za-z0-9\ ,.-]*) return 1 ;; esac
	case $_s in /*) case $_s in *[!A-Za-z0-9._/-]*|*..*) return 1 ;; esac ;; *) return 1 ;; esac
	return 0
}

# the node's host name: from /proc where there is one
node_hostname() {
	_h=''
	[ -r /proc/sys/kernel/hostname ] && IFS= read -r _h < /proc/sys/kernel/hostname
	[ -n "$_h" ] || _h=$(hostname 2>/dev/null) || _h='unset'
	printf '%s' "${_h:-unset}"
}

VARS='' NOT_APPLIED=''
var() { VARS="${VARS}VAR_$1=$2
"; }
not_applied() { NOT_APPLIED="${NOT_APPLIED}NOT_APPLIED_$1=$2
"; }

# the work order's values as the build gets them, each recorded as VAR_* (or NOT_APPLIED_* with the reason)
apply_variations() {
	ncpu=$NUM_CPU
	case $ncpu in ''|*[!0-9]*) ncpu=$(nproc 2>/dev/null || echo 1) ;; esac
	TZ_V=$O_TZ LANG_V=$O_LANG LANGUAGE_V=$O_LANGUAGE UMASK_V=$O_UMASK HOME_V=$O_HOME PATH_V=$O_PATH
	# "unset" leaves the variable out of the build's environment
	LC_ALL_V=$O_LC_ALL TERM_V=$O_TERM COLUMNS_V=$O_COLUMNS CAPTURE_V=$O_CAPTURE_ENVIRONMENT
	[ "$LC_ALL_V" = unset ] && LC_ALL_V=''
	[ "$TERM_V" = unset ] && TERM_V=''
	[ "$COLUMNS_V" = unset ] && COLUMNS_V=''
	[ "$CAPTURE_V" = unset ] && CAPTURE_V=''
	case $O_DATE in real) FAKETIME_V='' ;; *) FAKETIME_V=$O_DATE ;; esac
	case $O_HOSTNAME in node) HOST_V='' ;; *) HOST_V=$O_HOSTNAME ;; esac
	case $O_DOMAINNAME in node) DOMAIN_V='' ;; *) DOMAIN_V=$O_DOMAINNAME ;; esac
	case $O_PARALLEL in node) PARALLEL_V=$ncpu ;; node+1) PARALLEL_V=$(( ncpu + 1 )) ;; *) PARALLEL_V=$O_PARALLEL ;; esac
	# a domain name of its own needs a host name of its own too (both are set in the build's UTS namespace)
	if [ -z "$HOST_V" ] && [ -n "$DOMAIN_V" ]; then HOST_V=$(node_hostname); fi
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
	var PARALLEL "$PARALLEL_V"
	ostype='' osrelease=''
	[ -r /proc/sys/kernel/ostype ] && IFS= read -r ostype < /proc/sys/kernel/ostype
	[ -r /proc/sys/kernel/osrelease ] && IFS= read -r osrelease < /proc/sys/kernel/osrelease
	if [ -n "$ostype" ] && [ -n "$osrelease" ]; then var KERNEL "$ostype $osrelease"; else var KERNEL "$(uname -sr 2>/dev/null || echo unset)"; fi
	NICE_V=$O_NICE
	var NICE "$NICE_V"
	DEB_BUILD_OPTIONS_V="parallel=$PARALLEL_V"
	[ "$O_NOCHECK" = nocheck ] && DEB_BUILD_OPTIONS_V="$DEB_BUILD_OPTIONS_V nocheck"
	var NOCHECK "$O_NOCHECK"
	apply_personality
	apply_date
	if [ "$BACKEND" = chroot ]; then
		chroot_variations
		chroot_locale
		return 0
	fi
	var BUILD_PATH "$DIR"
	apply_locale
	apply_names
	plain_only_variations
}

# setarch's personality (linux64 --uname-2.6: a 2.6 kernel version), with util-linux on the node (or in the chroot)
apply_personality() {
	PERSONALITY_V=''
	case $O_KERNEL_PERSONALITY in native) var KERNEL_PERSONALITY native; return 0 ;; esac
	if [ "$BACKEND" = chroot ] || command -v "${O_KERNEL_PERSONALITY%% *}" >/dev/null 2>&1; then
		PERSONALITY_V=$O_KERNEL_PERSONALITY
		var KERNEL_PERSONALITY "$O_KERNEL_PERSONALITY"
	else
		var KERNEL_PERSONALITY native
		not_applied KERNEL_PERSONALITY "${O_KERNEL_PERSONALITY%% *} (util-linux's setarch) is not installed on this node"
	fi
}

# what the plain backend, on the node itself, cannot change: recorded as it is, with why
plain_only_variations() {
	var BUILD_USER "$(id -un 2>/dev/null || echo unknown):$(id -u)"
	[ "${O_BUILD_USER%%:*}" = "$(id -un 2>/dev/null)" ] || not_applied BUILD_USER "the plain backend builds as the node's user (build.backend: chroot varies it)"
	binsh=$(readlink -f /bin/sh 2>/dev/null) || binsh=/bin/sh
	binsh=${binsh##*/}
	var BINSH "$binsh"
	[ "$binsh" = "$O_BINSH" ] || not_applied BINSH "the plain backend uses the node's /bin/sh, $binsh (build.backend: chroot varies it)"
	var FILEORDERING native
	[ "$O_FILEORDERING" = native ] || not_applied FILEORDERING "the plain backend does not mount disorderfs over the build tree (build.backend: chroot does, where FUSE works)"
}

apply_locale() {
	case $LANG_V in C|C.*|POSIX) return 0 ;; esac
	# locale -a spells UTF-8 as utf8
	case $LANG_V in *UTF-8*) want="${LANG_V%%UTF-8*}utf8${LANG_V#*UTF-8}" ;; *) want=$LANG_V ;; esac
	if [ -z "$PROBED_LOCALE" ]; then
		PROBED_LOCALE=no
		locale -a 2>/dev/null | grep -qx -- "$want" && PROBED_LOCALE=yes
	fi
	[ "$PROBED_LOCALE" = yes ] || not_applied LOCALE "$LANG_V is not installed on this node (locale -a), programs fall back to C"
}

# hostname and domain name: both builds run in their own user and UTS namespace
# (as uid 0 inside it), so the only difference between them is the names
apply_names() {
	USE_UNSHARE=no
	if [ -z "$PROBED_UNSHARE" ]; then
		PROBED_UNSHARE=no
		command -v unshare >/dev/null 2>&1 && unshare -r --uts true 2>/dev/null && PROBED_UNSHARE=yes
	fi
	if [ "$PROBED_UNSHARE" = no ]; then
		var HOSTNAME "$(node_hostname)"
		[ -n "$HOST_V" ] && not_applied HOSTNAME "unshare --uts is not available to this user (no user namespaces?)"
		return 0
	fi
	USE_UNSHARE=yes
	if [ -n "$HOST_V" ]; then
		var HOSTNAME "$HOST_V"
		var DOMAINNAME "$DOMAIN_V"
		return 0
	fi
	var HOSTNAME "$(node_hostname)"
	domain='unset'
	[ -r /proc/sys/kernel/domainname ] && IFS= read -r domain < /proc/sys/kernel/domainname
	# Linux's "(none)" is an unset domain name, as info.sh reports it
	case $domain in ''|'(none)') domain='unset' ;; esac
	var DOMAINNAME "$domain"
}

apply_date() {
	USE_FAKETIME=no
	if [ -z "$FAKETIME_V" ]; then var DATE 'real clock'; return 0; fi
	if command -v faketime >/dev/null 2>&1; then
		USE_FAKETIME=yes
		var DATE "faketime $FAKETIME_V (NO_FAKE_STAT=1)"
	else
		var DATE 'real clock'
		not_applied DATE "faketime is not installed (apt-get install faketime)"
	fi
}
