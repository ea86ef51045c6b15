#!/bin/sh
# The quick start: install everything, then run reprofarm on the embedded
# default (two local nodes on this machine, state in ./state).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install.sh
./bin/reprofarm.js collect
echo "node facts are in ./state/node-information/ and ./state/reproducible.db" >&2
