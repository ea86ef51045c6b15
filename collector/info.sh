#!/bin/sh
# reprofarm node information script: prints KEY=VALUE facts about this node.
# Runs on build nodes (POSIX sh; no Node.js needed), fed over SSH on stdin:
#   sh -s -- WORKDIR < info.sh
# (WORKDIR: the node's workdir, where its chroots are, under chroots/)
# A fact that is not set on the node is printed as "unset". Kept cheap: it runs
# on every node at every collection, so it reads /proc instead of forking where
# it can, and runs each program it needs with `$(exec ...)`: a command
# substitution then costs one process, not a subshell that forks again.
set -u

WORKDIR=${1:-/srv/workspace}

kv() {
	printf '%s=%s\n' "$1" "$2"
}

# the value of an environment variable, or "unset"
envfact() {
	_set=''
	eval "_set=\${$1+set}"
	if [ "$_set" = set ]; then
		eval "kv \"\$1\" \"\${$1}\""
	else
		kv "$1" unset
	fi
}

# first line of a file, or "unset" (also for Linux's "(none)": an unset domain or host name)
filefact() {
	_v='unset'
	if [ -r "$2" ]; then
		IFS= read -r _v < "$2" || true
		case $_v in ''|'(none)') _v='unset' ;; esac
	fi
	kv "$1" "$_v"
}

kv INFO_VERSION 1
# the caller's environment, before this script sets its own locale
for v in TZ TERM COLUMNS LINES LANG LC_ALL LANGUAGE SHELL USER; do
	envfact "$v"
done
# the umask builtin prints it: no subshell
printf 'UMASK='
umask
LC_ALL=C
export LC_ALL

if command -v dpkg >/dev/null 2>&1; then
	arch=$(exec dpkg --print-architecture 2>/dev/null)
	kv ARCH "${arch:-unset}"
else
	kv ARCH unset
fi
# online CPUs from a range list like "0-3,8-11" (no fork); nproc where /sys is missing
num_cpu=''
if [ -r /sys/devices/system/cpu/online ]; then
	IFS= read -r ranges < /sys/devices/system/cpu/online || ranges=''
	num_cpu=0
	old_ifs=$IFS
	IFS=,
	for r in $ranges; do
		case $r in
			*-*) num_cpu=$(( num_cpu + ${r#*-} - ${r%-*} + 1 )) ;;
			'') ;;
			*) num_cpu=$(( num_cpu + 1 )) ;;
		esac
	done
	IFS=$old_ifs
	[ "$num_cpu" -gt 0 ] || num_cpu=''
fi
if [ -z "$num_cpu" ]; then
	num_cpu=$(exec nproc 2>/dev/null)
	num_cpu=${num_cpu:-unset}
fi
kv NUM_CPU "$num_cpu"

cpu_model='unset'
if [ -r /proc/cpuinfo ]; then
	while IFS= read -r line; do
		case $line in
			"model name"*|"Model"*|"cpu model"*|"Hardware"*|"cpu	"*|"uarch"*)
				cpu_model=${line#*:}
				cpu_model=${cpu_model# }
				break
				;;
		esac
	done < /proc/cpuinfo
fi
kv CPU_MODEL "$cpu_model"

ostype='unset'
osrelease='unset'
[ -r /proc/sys/kernel/ostype ] && IFS= read -r ostype < /proc/sys/kernel/ostype
[ -r /proc/sys/kernel/osrelease ] && IFS= read -r osrelease < /proc/sys/kernel/osrelease
if [ "$ostype" = unset ]; then
	kernel=$(exec uname -sr 2>/dev/null)
	kv KERNEL "${kernel:-unset}"
else
	kv KERNEL "$ostype $osrelease"
fi
filefact KERNEL_VERSION /proc/sys/kernel/version

# one date call: ISO 8601 UTC, and seconds since the epoch (with nanoseconds on GNU)
now=$(exec date -u '+%Y-%m-%dT%H:%M:%SZ %s.%N' 2>/dev/null)
case $now in
	*' '*) ;;
	*) now='unset unset' ;;
esac
kv DATETIME "${now%% *}"
kv EPOCH "${now#* }"

if [ -r /proc/sys/kernel/hostname ]; then
	filefact HOSTNAME /proc/sys/kernel/hostname
else
	host=$(exec hostname 2>/dev/null)
	kv HOSTNAME "${host:-unset}"
fi
filefact DOMAINNAME /proc/sys/kernel/domainname

os='unset'
if [ -r /etc/os-release ]; then
	while IFS= read -r line; do
		case $line in
			PRETTY_NAME=*)
				os=${line#PRETTY_NAME=}
				os=${os#\"}
				os=${os%\"}
				break
				;;
		esac
	done < /etc/os-release
fi
kv OS "$os"

# health
kv WORKDIR "$WORKDIR"
if [ -d "$WORKDIR" ]; then
	kv WORKDIR_EXISTS yes
	# available blocks, block size, free inodes, in one call
	fs=$(exec stat -f -c '%a %S %d' "$WORKDIR" 2>/dev/null)
	if [ -n "$fs" ]; then
		# shellcheck disable=SC2086
		set -- $fs
		kv DISK_FREE_KB "$(( $1 * $2 / 1024 ))"
		kv INODES_FREE "$3"
	else
		kv DISK_FREE_KB unset
		kv INODES_FREE unset
	fi
else
	kv WORKDIR_EXISTS no
	kv DISK_FREE_KB unset
	kv INODES_FREE unset
fi
if [ -d "$WORKDIR" ] && [ -w "$WORKDIR" ]; then kv WORKDIR_WRITABLE yes; else kv WORKDIR_WRITABLE no; fi
if [ -d /tmp ] && [ -w /tmp ]; then kv TMP_WRITABLE yes; else kv TMP_WRITABLE no; fi

if [ -r /proc/loadavg ]; then
	read -r l1 l5 l15 _rest < /proc/loadavg
	kv LOAD "$l1 $l5 $l15"
else
	kv LOAD unset
fi

mem_total='unset'
mem_avail='unset'
if [ -r /proc/meminfo ]; then
	while read -r key value _unit; do
		case $key in
			MemTotal:) mem_total=$value ;;
			MemAvailable:) mem_avail=$value; break ;;
		esac
	done < /proc/meminfo
fi
kv MEM_TOTAL_KB "$mem_total"
kv MEM_AVAILABLE_KB "$mem_avail"
if [ -r /proc/uptime ]; then
	read -r up _idle < /proc/uptime
	kv UPTIME_S "${up%.*}"
else
	kv UPTIME_S unset
fi

# tools the build variations need (reported, so the dashboard can say what a node lacks)
for tool in dpkg-buildpackage faketime unshare diffoscope; do
	case $tool in
		dpkg-buildpackage) key=HAVE_DPKG_BUILDPACKAGE ;;
		faketime) key=HAVE_FAKETIME ;;
		unshare) key=HAVE_UNSHARE ;;
		*) key=HAVE_DIFFOSCOPE ;;
	esac
	if command -v "$tool" >/dev/null 2>&1; then kv "$key" yes; else kv "$key" no; fi
done

# the chroot backend's tarballs (made by reprofarm chroot update), from the
# .info file beside each: SUITE-ARCH:CREATED:SIZE:SHA256, space-separated
chroots=''
for info in "$WORKDIR"/chroots/*.tar.zst.info; do
	{ [ -f "$info" ] && [ -f "${info%.info}" ]; } || continue
	name=${info##*/}
	name=${name%.tar.zst.info}
	created='' size='' sum=''
	while IFS='=' read -r key value; do
		case $key in
			CREATED) created=$value ;;
			SIZE) size=$value ;;
			SHA256) sum=$value ;;
		esac
	done < "$info"
	case $name$created$size$sum in *[!a-z0-9.+-]*|'') continue ;; esac
	{ [ -n "$created" ] && [ -n "$size" ] && [ -n "$sum" ]; } || continue
	chroots="$chroots${chroots:+ }$name:$created:$size:$sum"
done
kv CHROOTS "${chroots:-unset}"
