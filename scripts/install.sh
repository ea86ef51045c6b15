#!/bin/sh
# Install what reprofarm needs on a Debian machine (as root): Debian packages
# with apt-get, then the npm dependencies (which also compiles the TypeScript).
set -eu
cd "$(dirname "$0")/.."

# what the main node and the test suite use
PACKAGES="openssh-server openssh-client shellcheck pssh faketime dpkg-dev build-essential xz-utils gpg gpg-agent gpgv sqlite3 ca-certificates curl diffoscope-minimal python3-debian time jenkins-job-builder cron systemd chromium"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "reprofarm needs these Debian packages:$missing" >&2
		echo "install them as root: apt-get install --no-install-recommends$missing" >&2
		exit 1
	fi
	echo "installing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
	echo "reprofarm needs Node.js 20 or newer: apt-get install nodejs npm" >&2
	exit 1
fi

# npm ci starts from scratch (and compiles better-sqlite3): only when the lock file changed
if ! cmp -s package-lock.json node_modules/.reprofarm-installed-lock 2>/dev/null; then
	if [ -L node_modules ]; then
		# npm ci would empty the folder the link points to
		echo "install: node_modules is a link to $(readlink node_modules) whose packages do not match package-lock.json: run sh scripts/install.sh where it points" >&2
		exit 1
	fi
	npm ci --no-audit --no-fund
	cp package-lock.json node_modules/.reprofarm-installed-lock
else
	npm run --silent build
fi
