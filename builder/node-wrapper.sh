#!/bin/sh
# reprofarm node wrapper: the forced command of the main node's key on a build
# node, installed by `reprofarm node-setup NODE --apply` (root-owned, beside
# root-owned copies of info.sh and node-build.sh) and named in the build user's
# authorized_keys as
#   restrict,command="LIBDIR/node-wrapper.sh NODE WORKDIR" ssh-ed25519 AAAA...
#
# It reads $SSH_ORIGINAL_COMMAND (the main node sends shell-quoted argv joined
# with spaces) and runs only the exact command shapes reprofarm sends, each
# argument matched against a strict pattern, every path inside WORKDIR; it
# never evaluates the text it was sent. Allowed:
#   sh -s -- WORKDIR                      the info script on stdin: it must be
#                                         byte for byte the installed info.sh,
#                                         which is what runs
#   sha256sum WORKDIR/bin/reprofarm-node-build.sh
#   mkdir -p WORKDIR/bin
#   mv -f WORKDIR/bin/reprofarm-node-build.sh.tmp WORKDIR/bin/reprofarm-node-build.sh
#   env REPROFARM_NODE=NODE REPROFARM_WORKDIR=WORKDIR [REPROFARM_ORDER_STDIN=1] [REPROFARM_SCRIPT_SHA256=HEX]
#       sh WORKDIR/bin/reprofarm-node-build.sh 1|2|prepare1|prepare2|resume1|resume2|cleanup SUITE ARCH PKG VERSION
#       (or chroot-update SUITE ARCH BASE MAX_AGE_S, the mirror and keyring on stdin)
#                                         only when that file is the installed
#                                         node-build.sh, which is what runs
#   cat WORKDIR/reproducible-results/NODE/SUITE/ARCH/PKG/VERSION/SHA256SUMS
#   rm -rf PATH...                        each PATH a build's work order, pending
#                                         entry (.pid) or results directory
#   SFTP (internal-sftp or sftp-server)   sftp-server with WORKDIR as its start
#                                         directory and only the requests file
#                                         transfers need
# Anything else is refused: exit 126 and a message on stderr.
#
# Limits, honestly: sftp-server cannot confine paths (it cannot chroot), so
# SFTP reaches what the build user can reach; and node-build.sh runs the build
# command of the work order, as any build farm runs the packages' own code.
# The boundary is the build user: unprivileged, its only writable place the
# workdir (and /tmp), its home and authorized_keys owned by root.
set -u
set -f

refuse() {
	printf 'reprofarm-wrapper: refused: %s\n' "$1" >&2
	exit 126
}

LIB=${0%/*}
[ $# -eq 2 ] || refuse "the forced command must name NODE and WORKDIR"
NODE=$1
WORKDIR=$2
case $NODE in ''|*[!A-Za-z0-9._-]*|[!A-Za-z0-9]*) refuse "bad node name in the forced command" ;; esac
case $WORKDIR in /?*) ;; *) refuse "WORKDIR in the forced command must be an absolute path" ;; esac
case $WORKDIR in *[!A-Za-z0-9._/+-]*|*/../*|*/..|*/./*|*/.|*//*|*/) refuse "WORKDIR in the forced command has odd characters" ;; esac
WREAL=$(realpath -m -- "$WORKDIR") || refuse "cannot resolve WORKDIR"

CMD=${SSH_ORIGINAL_COMMAND-}
[ -n "$CMD" ] || refuse "no command: this key only runs reprofarm's commands (no shell)"
# one line of printable characters: no newlines, tabs or escapes
case $CMD in *[![:print:]]*) refuse "control characters in the command" ;; esac
[ ${#CMD} -le 4096 ] || refuse "command too long"

case $CMD in
	internal-sftp|/usr/lib/openssh/sftp-server|/usr/lib/sftp-server)
		exec /usr/lib/openssh/sftp-server -d "$WORKDIR" -p open,close,read,write,fstat,lstat,stat,realpath,limits
		;;
esac

# words: split on spaces only; a word is bare (the safe characters of a quoted
# argv) or wholly in single quotes with no quote inside, and once unquoted it
# may hold only those characters (and ~): nothing is ever evaluated
SCRIPT="$WORKDIR/bin/reprofarm-node-build.sh"
IFS=' '
# shellcheck disable=SC2086
set -- $CMD
words=''
for w in "$@"; do
	case $w in
		\'*\')
			w=${w#\'}
			w=${w%\'}
			;;
	esac
	case $w in
		'') refuse "an empty argument" ;;
		*[!A-Za-z0-9_@%+=:,./~-]*) refuse "characters that are not allowed in: $(printf '%s' "$w" | tr -c 'A-Za-z0-9_@%+=:,./~-' '?')" ;;
	esac
	words="$words $w"
done
# shellcheck disable=SC2086
set -- $words
IFS=' 	
'

# a path, resolved through symlinks, that lies inside the workdir
inside() {
	_r=$(realpath -m -- "$1") || return 1
	case $_r in "$WREAL"/*) return 0 ;; *) return 1 ;; esac
}
check_rel() { # SUITE ARCH PKG VERSION, as node-build.sh checks them
	case $1 in ''|*[!a-z0-9.+-]*|[!a-z0-9]*) refuse "bad suite name" ;; esac
	case $2 in ''|*[!a-z0-9-]*|[!a-z0-9]*) refuse "bad architecture" ;; esac
	case $3 in ''|?|*[!a-z0-9.+-]*|[!a-z0-9]*) refuse "bad source package name" ;; esac
	case $4 in ''|*[!A-Za-z0-9.+~:-]*|[!0-9]*) refuse "bad version" ;; esac
}
# a build's path below one of the workdir's build directories: KIND/SUITE/ARCH/PKG/VERSION[.pid]
build_path() {
	_p=$1
	case $_p in
		"$WORKDIR/reproducible-results/$NODE/"*) _rest=${_p#"$WORKDIR/reproducible-results/$NODE/"} ;;
		"$WORKDIR/reproducible-builds/$NODE/"*) _rest=${_p#"$WORKDIR/reproducible-builds/$NODE/"} ;;
		"$WORKDIR/reproducible-builds/pending/"*) _rest=${_p#"$WORKDIR/reproducible-builds/pending/"}; _rest=${_rest%.pid}; _rest=${_rest%.prepared}; _rest=${_rest%.resumed} ;;
		*) return 1 ;;
	esac
	_old_ifs=$IFS
	IFS=/
	# shellcheck disable=SC2086
	set -- $_rest
	IFS=$_old_ifs
	[ $# -eq 4 ] || return 1
	check_rel "$1" "$2" "$3" "$4"
	inside "${_p%/*}"
}

case ${1-} in
	sh)
		if ! { [ $# -eq 4 ] && [ "$2" = -s ] && [ "$3" = -- ] && [ "$4" = "$WORKDIR" ]; }; then refuse "sh runs only the info script"; fi
		[ -f "$LIB/info.sh" ] || refuse "$LIB/info.sh is not installed: run reprofarm node-setup $NODE --apply"
		# the script on stdin must be the installed one (at most 1 MiB is read)
		head -c 1048576 | cmp -s - "$LIB/info.sh" || refuse "the script on stdin is not the installed info.sh (re-run reprofarm node-setup $NODE --apply after upgrading reprofarm)"
		exec sh "$LIB/info.sh" "$WORKDIR" < /dev/null
		;;
	sha256sum)
		if ! { [ $# -eq 2 ] && [ "$2" = "$SCRIPT" ] && inside "$SCRIPT"; }; then refuse "sha256sum only of the node build script"; fi
		exec sha256sum -- "$SCRIPT"
		;;
	mkdir)
		if ! { [ $# -eq 3 ] && [ "$2" = -p ] && [ "$3" = "$WORKDIR/bin" ] && inside "$WORKDIR/bin"; }; then refuse "mkdir only of WORKDIR/bin"; fi
		exec mkdir -p -- "$WORKDIR/bin"
		;;
	mv)
		if ! { [ $# -eq 4 ] && [ "$2" = -f ] && [ "$3" = "$SCRIPT.tmp" ] && [ "$4" = "$SCRIPT" ] && inside "$SCRIPT"; }; then refuse "mv only of the node build script into place"; fi
		exec mv -f -- "$SCRIPT.tmp" "$SCRIPT"
		;;
	cat)
		[ $# -eq 2 ] || refuse "cat takes one file"
		case $2 in "$WORKDIR/reproducible-results/$NODE/"*/SHA256SUMS) ;; *) refuse "cat only of a result's SHA256SUMS" ;; esac
		if ! { build_path "${2%/SHA256SUMS}" && inside "$2"; }; then refuse "cat only of a result's SHA256SUMS inside the workdir"; fi
		exec cat -- "$2"
		;;
	rm)
		if ! { [ $# -ge 3 ] && [ "$2" = -rf ]; }; then refuse "rm only as rm -rf of a build's files"; fi
		shift 2
		for p in "$@"; do
			build_path "$p" || refuse "rm -rf only of a build's work order, pending entry or results inside the workdir"
		done
		exec rm -rf -- "$@"
		;;
	env)
		if ! { [ $# -ge 3 ] && [ "$2" = "REPROFARM_NODE=$NODE" ] && [ "$3" = "REPROFARM_WORKDIR=$WORKDIR" ]; }; then refuse "env only to run the node build script, for this node and its workdir"; fi
		shift 3
		STDIN_ORDER=''
		if [ "${1-}" = REPROFARM_ORDER_STDIN=1 ]; then
			STDIN_ORDER=1
			shift
		fi
		# the orchestrator's version of node-build.sh, which the script checks itself against
		WANT=''
		case ${1-} in
			REPROFARM_SCRIPT_SHA256=*)
				WANT=${1#REPROFARM_SCRIPT_SHA256=}
				case $WANT in *[!0-9a-f]*) refuse "REPROFARM_SCRIPT_SHA256 must be a SHA256 in hex" ;; esac
				[ ${#WANT} -eq 64 ] || refuse "REPROFARM_SCRIPT_SHA256 must be a SHA256 in hex"
				shift
				;;
		esac
		if ! { [ $# -eq 7 ] && [ "$1" = sh ] && [ "$2" = "$SCRIPT" ] && inside "$SCRIPT"; }; then refuse "env only to run the node build script"; fi
		case $3 in 1|2|prepare1|prepare2|resume1|resume2|cleanup|chroot-update) ;; *) refuse "the build mode must be 1, 2, prepare1, prepare2, resume1, resume2, cleanup or chroot-update" ;; esac
		check_rel "$4" "$5" "$6" "$7"
		[ -f "$LIB/node-build.sh" ] || refuse "$LIB/node-build.sh is not installed: run reprofarm node-setup $NODE --apply"
		# no copy in the workdir yet: "stale" (99), so that the orchestrator puts its copy there
		if [ -n "$WANT" ] && [ ! -e "$SCRIPT" ]; then exit 99; fi
		cmp -s -- "$SCRIPT" "$LIB/node-build.sh" || refuse "$SCRIPT differs from the installed node-build.sh (re-run reprofarm node-setup $NODE --apply after upgrading reprofarm)"
		shift 2
		exec env "REPROFARM_NODE=$NODE" "REPROFARM_WORKDIR=$WORKDIR" "REPROFARM_ORDER_STDIN=$STDIN_ORDER" "REPROFARM_SCRIPT_SHA256=$WANT" sh "$LIB/node-build.sh" "$@"
		;;
esac
refuse "not one of reprofarm's commands"
