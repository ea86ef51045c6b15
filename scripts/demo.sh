#!/bin/sh
# The quick start: install everything, then run the whole farm on the embedded
# default (two local nodes on this machine with different variations, SQLite
# in ./state): a local mirror of the sample source packages in samples/,
# collect, sync, build everything scheduled, render the dashboard and serve it
# on 127.0.0.1 (port $REPROFARM_DEMO_PORT, default 8080; 0 picks a free one).
# Safe to run again: it picks up where the last run left off.
# $REPROFARM_DEMO_NO_SERVE=1 stops after rendering (for scripts).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
unset REPROFARM_CONFIG
if [ -e reprofarm.yaml ]; then
	echo "demo: ./reprofarm.yaml exists and would be used instead of the embedded default; run the demo from a clean clone" >&2
	exit 1
fi
rf() { node bin/reprofarm.js "$@"; }
t0=$(date +%s)
sh scripts/demo-mirror.sh state/mirror bookworm "$(dpkg --print-architecture)"
rf collect
rf sync
# every verdict signed: the site publishes the attestations and the public key
[ -e state/keys/signing.key ] || rf key init
# build until nothing is scheduled (every package twice, on local1 then local2)
n=0
while [ "$n" -lt 100 ]; do
	n=$((n + 1))
	out=$(rf --json build) || true
	case $out in *'"outcome": "idle"'*) break ;; esac
done
rf status
rf site
echo "demo: the farm ran in $(( $(date +%s) - t0 )) s" >&2
[ "${REPROFARM_DEMO_NO_SERVE:-}" = 1 ] && exit 0
exec node bin/reprofarm.js serve --port "${REPROFARM_DEMO_PORT:-8080}"
