#!/bin/sh
# Make the quick start's local Debian mirror from the sample source packages in
# samples/: each built with dpkg-source, indexed with dpkg-scansources, and a
# Release file signed (InRelease) with a throwaway key whose public keyring is
# written beside it. Replaces OUTDIR whole (built beside it, then renamed).
#   usage: sh scripts/demo-mirror.sh OUTDIR [SUITE] [ARCH...]
set -eu
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [SUITE] [ARCH...]" >&2; exit 64; }
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
suite=${2:-bookworm}
shift
[ $# -gt 0 ] && shift
arches=${*:-$(dpkg --print-architecture)}
case $suite in ''|*[!a-z0-9.+-]*) echo "demo-mirror: bad suite name: $suite" >&2; exit 64 ;; esac
for tool in dpkg-source dpkg-scansources gpg xz gzip sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || { echo "demo-mirror: $tool is missing: run sh scripts/install.sh" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")"
tmp="$out.tmp-$$"
work=$(mktemp -d)
trap 'rm -rf "$work" "$tmp"' EXIT
mkdir -p "$tmp/dists/$suite/main/source"
n=0
for d in "$root"/samples/*/; do
	name=$(basename "$d")
	n=$((n + 1))
	cp -R "$d" "$work/$name"
	(cd "$work" && dpkg-source -b "$name" >/dev/null)
	pool="pool/main/$(printf %s "$name" | cut -c1)/$name"
	mkdir -p "$tmp/$pool"
	mv "$work/${name}_"* "$tmp/$pool/"
done
(cd "$tmp" && dpkg-scansources pool /dev/null > "dists/$suite/main/source/Sources" 2>/dev/null)
xz -k -9 "$tmp/dists/$suite/main/source/Sources"
gzip -k -n -9 "$tmp/dists/$suite/main/source/Sources"
{
	echo 'Origin: reprofarm demo'
	echo 'Label: reprofarm demo mirror'
	echo "Suite: $suite"
	echo "Codename: $suite"
	echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
	echo "Architectures: $arches"
	echo 'Components: main'
	echo 'Description: the sample source packages of reprofarm quick start'
	echo 'SHA256:'
	for f in main/source/Sources main/source/Sources.xz main/source/Sources.gz; do
		p="$tmp/dists/$suite/$f"
		printf ' %s %16s %s\n' "$(sha256sum "$p" | cut -d' ' -f1)" "$(wc -c < "$p" | tr -d ' ')" "$f"
	done
} > "$tmp/dists/$suite/Release"
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'reprofarm demo archive <demo@reprofarm.invalid>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --yes --digest-algo SHA256 --clearsign -o "$tmp/dists/$suite/InRelease" "$tmp/dists/$suite/Release"
gpg --batch --quiet --export > "$tmp/demo-archive-keyring.gpg"
gpgconf --kill all 2>/dev/null || true
rm -rf "$out.old"
[ -e "$out" ] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
echo "demo mirror: $n source packages in $out (suite $suite)"
