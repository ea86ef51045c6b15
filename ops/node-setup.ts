/**
 * What a build node needs, as one POSIX sh script to run as root on it: the
 * forced-command wrapper with root-owned copies of the scripts it allows, the
 * build user (a system user whose home, holding only its authorized_keys, is
 * owned by root, so that the user cannot swap the key for an unrestricted one),
 * its workdir (the one place it can write), and the main node's key restricted
 * to the wrapper. Pure: the command prints the script or runs it over SSH.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig } from '../core/config.js';
import { ReprofarmError } from '../core/errors.js';
import { projectRoot } from '../core/paths.js';
import { shQuote } from '../core/shell.js';
import { assembleNodeScript } from '../builder/node-script.js';

export const DEFAULT_LIB_DIR = '/usr/local/lib/reprofarm';
/** what the chroot backend needs on a node (README "Adding a node", docs/operations.md) */
export const CHROOT_PACKAGES = ['mmdebstrap', 'uidmap', 'faketime', 'disorderfs', 'fuse3', 'zstd'] as const;

/** POSIX sh: subid_range USER FILE USERMOD-OPTION (ops/subid-range.sh, which scripts/install.sh sources). */
export const SUBID_SH = readFileSync(join(projectRoot(), 'ops', 'subid-range.sh'), 'utf8')
  .split('\n')
  .filter((l) => !l.startsWith('#'))
  .join('\n')
  .trim();
/** what may appear in the forced command line unquoted */
export const SAFE_PATH_RE = /^\/[A-Za-z0-9._/+-]*$/;

export interface NodeSetupPlan {
  node: string;
  user: string;
  workdir: string;
  libDir: string;
  authorizedKeysLine: string;
  script: string;
}

/** The three files the wrapper needs, from this installation. */
export function wrapperFiles(): Array<{ name: string; mode: string; text: string }> {
  const root = projectRoot();
  return [
    { name: 'node-wrapper.sh', mode: '0755', text: readFileSync(join(root, 'builder', 'node-wrapper.sh'), 'utf8') },
    { name: 'info.sh', mode: '0644', text: readFileSync(join(root, 'collector', 'info.sh'), 'utf8') },
    { name: 'node-build.sh', mode: '0644', text: assembleNodeScript().toString('utf8') },
  ];
}

/** "ssh-ed25519 AAAA..." without a comment, or a reason it is not a public key line. */
export function publicKeyBlob(text: string): string {
  const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com) ([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(text.trim());
  if (!m)
    throw new ReprofarmError('the public key is not an OpenSSH public key line', {
      advice: "check the identity file's .pub file, or make it: ssh-keygen -y -f IDENTITY > IDENTITY.pub",
    });
  return `${m[1]} ${m[2]}`;
}

export function nodeSetupPlan(
  node: NodeConfig,
  publicKey: string,
  opts: { libDir?: string; comment?: string; files?: Array<{ name: string; mode: string; text: string }> } = {},
): NodeSetupPlan {
  if (node.transport === 'local') {
    throw new ReprofarmError(`${node.name} is a local node: it runs as this user on this machine, with no SSH key to restrict`, {
      advice: 'node-setup is for ssh nodes',
    });
  }
  const libDir = opts.libDir ?? DEFAULT_LIB_DIR;
  if (!SAFE_PATH_RE.test(libDir) || /(^|\/)\.\.?(\/|$)/.test(libDir)) {
    throw new ReprofarmError(`--lib-dir ${libDir}: use an absolute path of letters, digits and . _ / + - (it goes into the forced command)`);
  }
  const blob = publicKeyBlob(publicKey);
  const comment = (opts.comment ?? 'reprofarm').replace(/[^A-Za-z0-9@._-]/g, '_');
  const line = `restrict,command="${libDir}/node-wrapper.sh ${node.name} ${node.workdir}" ${blob} ${comment}`;
  const files = opts.files ?? wrapperFiles();
  const install = files.map((f) => {
    let end = `REPROFARM_FILE_END_${randomBytes(8).toString('hex')}`;
    while (f.text.split('\n').includes(end)) end = `REPROFARM_FILE_END_${randomBytes(8).toString('hex')}`;
    const text = f.text.endsWith('\n') ? f.text : `${f.text}\n`;
    return [
      `cat > "$LIB/${f.name}.tmp" <<'${end}'`,
      `${text}${end}`,
      `chown root:root "$LIB/${f.name}.tmp"`,
      `chmod ${f.mode} "$LIB/${f.name}.tmp"`,
      `mv -f "$LIB/${f.name}.tmp" "$LIB/${f.name}"`,
    ].join('\n');
  });
  const script = `#!/bin/sh
# reprofarm node set-up for ${node.name}: run as root on the node
# (reprofarm node-setup ${node.name} --apply does it over SSH). Safe to run again.
set -eu
NODE=${shQuote(node.name)}
BUILD_USER=${shQuote(node.user)}
WORKDIR=${shQuote(node.workdir)}
LIB=${shQuote(libDir)}
KEY_BLOB=${shQuote(blob)}
KEY_LINE=${shQuote(line)}
say() { printf 'node-setup %s: %s\\n' "$NODE" "$*"; }
[ "$(id -u)" = 0 ] || { say "run this as root (or through sudo)" >&2; exit 1; }
for tool in useradd getent install; do
	command -v "$tool" >/dev/null 2>&1 || { say "$tool is missing (apt-get install passwd coreutils libc-bin)" >&2; exit 1; }
done

# 1. the forced-command wrapper and the two scripts it runs, owned by root
install -d -o root -g root -m 0755 "$LIB"
${install.join('\n')}
say "installed $LIB/node-wrapper.sh, info.sh and node-build.sh"

# 2. the build user: a system user whose home (only its authorized_keys) is root's
if ! getent passwd "$BUILD_USER" >/dev/null; then
	install -d -o root -g root -m 0755 "$LIB/home" "$LIB/home/$BUILD_USER"
	useradd --system --no-create-home --home-dir "$LIB/home/$BUILD_USER" --shell /bin/sh "$BUILD_USER"
	# "*": no password; a locked account ("!") is refused even key logins when sshd runs without PAM
	usermod -p '*' "$BUILD_USER"
	say "created the build user $BUILD_USER (home $LIB/home/$BUILD_USER, owned by root)"
fi
HOME_DIR=$(getent passwd "$BUILD_USER" | cut -d: -f6)
[ -n "$HOME_DIR" ] && [ -d "$HOME_DIR" ] || { say "the home directory of $BUILD_USER ($HOME_DIR) is missing" >&2; exit 1; }
if [ "$(stat -c %u "$HOME_DIR")" != 0 ]; then
	say "warning: $BUILD_USER owns its home $HOME_DIR: it could replace its authorized_keys and drop the forced command; for a strict set-up give it a root-owned home (usermod -d) or use a new user"
fi

# 3. the workdir: the one place the build user writes
mkdir -p "$(dirname "$WORKDIR")"
install -d -o "$BUILD_USER" -g "$(id -gn "$BUILD_USER")" -m 0755 "$WORKDIR"
chown "$BUILD_USER:$(id -gn "$BUILD_USER")" "$WORKDIR"
say "workdir $WORKDIR belongs to $BUILD_USER"

# 4. the main node's key, allowed only the wrapper (restrict: no shell, no pty, no forwarding)
[ -d "$HOME_DIR/.ssh" ] || install -d -o root -g root -m 0755 "$HOME_DIR/.ssh"
AK="$HOME_DIR/.ssh/authorized_keys"
touch "$AK"
{ grep -v -F -- "$KEY_BLOB" "$AK" || true; printf '%s\\n' "$KEY_LINE"; } > "$AK.tmp"
chown "$(stat -c %u:%g "$AK")" "$AK.tmp"
chmod 0644 "$AK.tmp"
mv -f "$AK.tmp" "$AK"
say "$AK: the main node's key runs only $LIB/node-wrapper.sh"

# 5. what the chroot backend needs: mmdebstrap (the tarballs), uidmap and a subuid range
# (user namespaces without privileges), faketime, disorderfs with FUSE, zstd
missing=''
for p in ${CHROOT_PACKAGES.join(' ')}; do
	dpkg-query -W -f '\${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	{ apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; }; } ||
		{ say "apt-get could not install$missing, which the chroot backend needs" >&2; exit 1; }
fi
${SUBID_SH}
subid_range "$BUILD_USER" /etc/subuid --add-subuids
subid_range "$BUILD_USER" /etc/subgid --add-subgids
say "done"
`;
  return { node: node.name, user: node.user, workdir: node.workdir, libDir, authorizedKeysLine: line, script };
}
