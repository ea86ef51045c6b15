/**
 * The real Debian archive, for the tests that need real packages (chroots,
 * real builds): its URL is read at run time from this machine's own apt
 * sources, never written into the tests. And one bookworm chroot tarball per
 * test run, shared: made once with `reprofarm chroot update` semantics (the
 * same mmdebstrap options, through node-build.sh chroot-update) under
 * /tmp/reprofarm-test-chroots, reused while younger than a day; tests put a
 * hard link (or a copy) of it into their nodes' chroots folder, with its
 * .info file.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { assembleNodeScript } from '../../builder/node-script.js';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
export const SHARED_CHROOT_DIR = '/tmp/reprofarm-test-chroots';
const MAX_AGE_MS = 86400_000;

/** The first `URIs:` of apt's deb822 sources (/etc/apt/sources.list.d/*.sources): the Debian mirror this machine uses. */
export function debianMirror(dir = '/etc/apt/sources.list.d'): string {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.sources'))
        .sort()
    : [];
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^URIs:\s*(\S+)/i.exec(line);
      if (m?.[1]) return m[1];
    }
  }
  throw new Error(`no URIs: line in ${dir}/*.sources: these tests need this machine's Debian mirror in apt's sources`);
}

/** This machine's Debian architecture. */
export function hostArch(): string {
  return spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
}

export interface SharedChroot {
  suite: string;
  arch: string;
  tarball: string;
  /** the .info file beside it (SUITE, ARCH, BASE, MIRROR, CREATED, SIZE, SHA256) */
  info: string;
}

/** made less than a day ago, by its .info file's CREATED */
function fresh(tarball: string): boolean {
  try {
    const created = /^CREATED=(\d+)$/m.exec(readFileSync(`${tarball}.info`, 'utf8'))?.[1];
    return statSync(tarball).isFile() && created !== undefined && Date.now() - Number(created) * 1000 < MAX_AGE_MS;
  } catch {
    return false;
  }
}

/** Wait for the lock (a file made with O_EXCL; a stale one, older than an hour, is taken over). */
async function withLock<T>(lock: string, fn: () => T): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 3600_000) unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * The shared bookworm chroot of this machine's architecture: made once
 * (about a minute) by node-build.sh chroot-update from the real mirror, then
 * reused by every test (and test process) while younger than a day.
 */
export async function sharedChroot(suite = 'bookworm', arch = hostArch()): Promise<SharedChroot> {
  const tarball = join(SHARED_CHROOT_DIR, 'chroots', `${suite}-${arch}.tar.zst`);
  if (arch !== hostArch()) throw new Error(`a shared chroot is of this machine's architecture (${hostArch()}), not ${arch}`);
  mkdirSync(join(SHARED_CHROOT_DIR, 'chroots'), { recursive: true });
  if (!fresh(tarball)) {
    await withLock(join(SHARED_CHROOT_DIR, `${suite}-${arch}.lock`), () => {
      if (fresh(tarball)) return;
      const script = join(SHARED_CHROOT_DIR, 'node-build.sh');
      writeFileSync(script, assembleNodeScript());
      const keyring = readFileSync(DEBIAN_KEYRING).toString('base64');
      const r = spawnSync('sh', [script, 'chroot-update', suite, arch, suite, '0'], {
        env: { ...process.env, REPROFARM_NODE: 'shared', REPROFARM_WORKDIR: SHARED_CHROOT_DIR, LC_ALL: 'C' },
        input: `MIRROR=${debianMirror()}\n${keyring}\n`,
        encoding: 'utf8',
        timeout: 900_000,
      });
      if (r.status !== 0) throw new Error(`making the shared ${suite} chroot failed (exit ${String(r.status)}): ${r.stderr.slice(-2000)}`);
    });
  }
  return { suite, arch, tarball, info: `${tarball}.info` };
}

/** Put the shared chroot into a node's workdir (a hard link, else a copy), with its .info file. */
export function installSharedChroot(c: SharedChroot, workdir: string): string {
  const dir = join(workdir, 'chroots');
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, `${c.suite}-${c.arch}.tar.zst`);
  rmSync(dest, { force: true });
  try {
    linkSync(c.tarball, dest);
  } catch {
    copyFileSync(c.tarball, dest);
  }
  rmSync(`${dest}.info`, { force: true });
  copyFileSync(c.info, `${dest}.info`);
  return dest;
}
