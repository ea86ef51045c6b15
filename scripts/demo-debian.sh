#!/bin/sh
# The demo on real Debian packages: install everything, then run a farm of two
# local nodes on the chroot backend against the Debian mirror this machine's
# apt uses (the first URIs: of /etc/apt/sources.list.d/*.sources) with
# Debian's keyring: sync bookworm (signature checked), make the nodes' chroot
# tarballs (mmdebstrap), schedule N small real packages (default 5, at most
# 8), build them (reprofarm build local1 local2, N times: each package twice,
# in fresh chroots, Build-Depends from the mirror), render the dashboard and
# serve it on 127.0.0.1 (port $REPROFARM_DEMO_PORT, default 8080; 0 picks a
# free one). Prints how long each step took. Everything it writes is under
# ./demo-debian/ (git-ignored): the config, state, chroots and site.
# Safe to run again: the chroots are kept for chroot.max_age_days (7), the
# packages are scheduled and built again.
# $REPROFARM_DEMO_NO_SERVE=1 stops after rendering (for scripts).
#   sh scripts/demo-debian.sh [N]
set -eu
cd "$(dirname "$0")/.."

# small bookworm sources with few Build-Depends that build in a buildd chroot in about a minute here
PACKAGES="hello sl tree cowsay figlet pv ed rig"
N=${1:-5}
# shellcheck disable=SC2086 # the list is words
set -- $PACKAGES
max=$#
case $N in '' | *[!0-9]* | 0*) echo "usage: sh scripts/demo-debian.sh [N], N from 1 to $max" >&2; exit 64 ;; esac
if [ "$N" -gt "$max" ]; then echo "demo-debian: at most $max packages ($PACKAGES)" >&2; exit 64; fi
pkgs=''
i=0
for p in "$@"; do
	i=$((i + 1))
	if [ "$i" -le "$N" ]; then pkgs="$pkgs $p"; fi
done

SUMMARY=''
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# step NAME COMMAND...: run it, remember how long it took
step() {
	_name=$1
	shift
	echo "demo-debian: $_name" >&2
	_t=$(now_ms)
	_rc=0
	"$@" || _rc=$?
	_ms=$(($(now_ms) - _t))
	_s=$(printf '%d.%d s' $((_ms / 1000)) $((_ms % 1000 / 100)))
	[ "$_rc" -eq 0 ] || _s="$_s, FAILED (exit $_rc)"
	echo "demo-debian: $_name took $_s" >&2
	SUMMARY="$SUMMARY$(printf '  %-44s %s' "$_name" "$_s")
"
	return "$_rc"
}

step "install (scripts/install.sh)" sh scripts/install.sh
unset REPROFARM_CONFIG

# the mirror apt uses here, and Debian's keyring
mirror=''
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$f" | head -n 1)
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
	echo "demo-debian: no URIs: line in /etc/apt/sources.list.d/*.sources: which Debian mirror does this machine use?" >&2
	exit 1
fi
mirror=${mirror%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "demo-debian: $keyring is missing (apt-get install debian-archive-keyring)" >&2; exit 1; }
arch=$(dpkg --print-architecture)

D=demo-debian
mkdir -p "$D"
# git ignores the whole folder
[ -f "$D/.gitignore" ] || printf '*\n' > "$D/.gitignore"
cat > "$D/reprofarm.yaml.tmp" <<EOF
# written by scripts/demo-debian.sh: two local nodes on the chroot backend, Debian's mirror
state_dir: ./state
site_dir: ./public
mirror: $mirror
mirror_keyring: $keyring
suites: [bookworm]
architectures: [$arch]
schedule: { max_per_arch: 0 }
nodes:
  local1: { transport: local }
  local2: { transport: local }
jobs:
  demo_debian: { nodes: [local1, local2] }
build: { backend: chroot }
EOF
mv -f "$D/reprofarm.yaml.tmp" "$D/reprofarm.yaml"
rf() { node bin/reprofarm.js --config "$D/reprofarm.yaml" "$@"; }

t0=$(now_ms)
step "sync bookworm (signed Release, Sources)" rf sync
step "chroot update (mmdebstrap, both nodes)" rf chroot update
step "collect (node facts, chroots)" rf collect
# shellcheck disable=SC2086 # the list is words
step "schedule$pkgs" rf schedule bookworm "$arch" $pkgs
i=0
failed=0
while [ "$i" -lt "$N" ]; do
	i=$((i + 1))
	step "build $i of $N (reprofarm build local1 local2)" rf build local1 local2 || failed=$((failed + 1))
done
# shellcheck disable=SC2086 # the list is words
step "status" rf status $pkgs
step "site" rf site
ms=$(($(now_ms) - t0))
printf 'demo-debian: the steps took (the farm part %d s):\n%s' $((ms / 1000)) "$SUMMARY" >&2
[ "$failed" -eq 0 ] || echo "demo-debian: $failed build(s) did not finish (see above); the dashboard shows the rest" >&2
[ "${REPROFARM_DEMO_NO_SERVE:-}" = 1 ] && exit 0
exec node bin/reprofarm.js --config "$D/reprofarm.yaml" serve --port "${REPROFARM_DEMO_PORT:-8080}"
