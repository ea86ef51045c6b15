#!/bin/sh
# Install what reprofarm needs on a Debian machine (as root): Debian packages
# with apt-get, then the npm dependencies (which also compiles the TypeScript).
set -eu
cd "$(dirname "$0")/.."

# what the main node and the test suite use
PACKAGES="openssh-server openssh-client shellcheck pssh faketime dpkg-dev build-essential xz-utils gpg gpg-agent gpgv sqlite3 ca-certificates curl diffoscope-minimal python3-debian time jenkins-job-builder cron systemd chromium"
# the chroot backend on the embedded default's local nodes (ops/node-setup.ts CHROOT_PACKAGES for other nodes),
# the locales the LOCALE variation uses, and sbuild for comparing with Debian's own builds
PACKAGES="$PACKAGES mmdebstrap uidmap disorderfs fuse3 zstd locales sbuild"

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

say() { printf 'install: %s\n' "$*" >&2; }

# the embedded default's local nodes run as this user: the chroot backend's user
# namespaces need a range of subordinate ids for it (root has none by default)
# shellcheck source=ops/subid-range.sh
. ops/subid-range.sh
me=$(id -un)
if [ "$(id -u)" = 0 ]; then
	subid_range "$me" /etc/subuid --add-subuids
	subid_range "$me" /etc/subgid --add-subgids
elif ! grep -q "^$me:" /etc/subuid 2>/dev/null || ! grep -q "^$me:" /etc/subgid 2>/dev/null; then
	say "warning: $me has no subordinate ids in /etc/subuid and /etc/subgid: the chroot backend needs them (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $me)"
fi

# the locales of the LOCALE variation (et_EE.UTF-8 for build 2, en_US.UTF-8 as the usual one), so that plain builds apply it
want_locales="et_EE.UTF-8 en_US.UTF-8"
have=$(locale -a 2>/dev/null | tr '[:upper:]' '[:lower:]')
gen=''
for l in $want_locales; do
	lc=$(printf '%s' "$l" | sed 's/UTF-8$/utf8/' | tr '[:upper:]' '[:lower:]')
	printf '%s\n' "$have" | grep -qx -- "$lc" || gen="$gen $l"
done
if [ -n "$gen" ]; then
	if [ "$(id -u)" = 0 ] && command -v locale-gen >/dev/null 2>&1; then
		for l in $gen; do
			# enabled in /etc/locale.gen (uncommented, or added), then generated
			if grep -q "^# *$l UTF-8\$" /etc/locale.gen 2>/dev/null; then
				sed -i "s/^# *$l UTF-8\$/$l UTF-8/" /etc/locale.gen
			elif ! grep -q "^$l UTF-8\$" /etc/locale.gen 2>/dev/null; then
				printf '%s UTF-8\n' "$l" >> /etc/locale.gen
			fi
		done
		say "generating the locales$gen"
		locale-gen >/dev/null
	else
		say "warning: the locales$gen are missing: plain builds cannot apply the LOCALE variation (as root: enable them in /etc/locale.gen, then locale-gen)"
	fi
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
