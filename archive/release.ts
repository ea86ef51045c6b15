/**
 * The suite's Release file: fetched as InRelease (clearsigned) or Release +
 * Release.gpg, its OpenPGP signature checked with gpgv against the configured
 * keyring as apt does, and parsed. Only text that gpgv verified is used.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { field, parseDeb822Text } from './deb822.js';
import { MirrorError, type Mirror } from './mirror.js';

export interface IndexFile {
  sha256: string;
  size: number;
}

export interface Release {
  suite: string;
  codename: string;
  date: Date | null;
  validUntil: Date | null;
  architectures: string[];
  components: string[];
  /** path relative to dists/<suite>/ → checksum */
  sha256: Map<string, IndexFile>;
  /** fingerprint of the key that signed it, or null when not verified */
  signedBy: string | null;
  from: 'InRelease' | 'Release';
}

export interface ReleaseOptions {
  verify: boolean;
  keyring: string;
  now?: Date;
}

const MAX_RELEASE_BYTES = 32 * 1024 * 1024;

function gpgv(args: string[]): Promise<{ code: number | null; status: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpgv', ['--status-fd', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let status = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (status += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new MirrorError('cannot run gpgv', { cause: err, advice: 'install it: apt-get install gpgv' })));
    child.on('close', (code) => resolve({ code, status, stderr }));
  });
}

/** Strip the clearsign armour without checking it (mirror_verify: false only). */
function unclearsign(text: string): string {
  const begin = text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin === -1) return text;
  const body = text.indexOf('\n\n', begin);
  const sig = text.indexOf('\n-----BEGIN PGP SIGNATURE-----', body);
  if (body === -1 || sig === -1) throw new MirrorError('InRelease is not a well-formed clearsigned message');
  return text.slice(body + 2, sig + 1).replace(/^- /gm, '');
}

/**
 * gpgv's verdict on a Release signature from its exit code and --status-fd
 * lines: the signing key's fingerprint, or why it is refused. gpgv exits 0
 * for a good signature by an expired or revoked key too; like apt, those
 * are refused.
 */
export function judgeSignature(code: number | null, status: string): string | { why: string } {
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]+)/m.exec(status);
  if (/^\[GNUPG:\] (?:NO_PUBKEY|ERRSIG)\b/m.test(status)) return { why: 'it is signed by a key that is not in the keyring' };
  if (/^\[GNUPG:\] BADSIG\b/m.test(status)) return { why: 'the signature does not match (the file was altered)' };
  if (/^\[GNUPG:\] REVKEYSIG\b/m.test(status)) return { why: 'it is signed by a revoked key' };
  if (/^\[GNUPG:\] EXPKEYSIG\b/m.test(status)) return { why: 'it is signed by an expired key' };
  if (/^\[GNUPG:\] EXPSIG\b/m.test(status)) return { why: 'the signature has expired' };
  if (code !== 0 || !valid || !/^\[GNUPG:\] GOODSIG\b/m.test(status)) return { why: 'gpgv did not accept it' };
  return valid[1] as string;
}

async function verify(
  mirror: Mirror,
  suite: string,
  keyring: string,
  files: { inRelease?: Buffer; release?: Buffer; sig?: Buffer },
): Promise<{ text: string; signer: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'reprofarm-gpgv-'));
  try {
    let res;
    let text: string;
    if (files.inRelease) {
      await writeFile(join(dir, 'InRelease'), files.inRelease);
      res = await gpgv(['--keyring', keyring, '--output', join(dir, 'verified'), join(dir, 'InRelease')]);
      text = res.code === 0 ? await readFile(join(dir, 'verified'), 'utf8') : '';
    } else {
      await writeFile(join(dir, 'Release'), files.release as Buffer);
      await writeFile(join(dir, 'Release.gpg'), files.sig as Buffer);
      res = await gpgv(['--keyring', keyring, join(dir, 'Release.gpg'), join(dir, 'Release')]);
      text = (files.release as Buffer).toString('utf8');
    }
    const verdict = judgeSignature(res.code, res.status);
    if (typeof verdict !== 'string') {
      const what = files.inRelease ? 'InRelease' : 'Release.gpg';
      const why = verdict.why;
      throw new MirrorError(
        `the signature of ${mirror.url(`dists/${suite}/${what}`)} is not valid: ${why} (${res.stderr.trim().split('\n').slice(-1)[0] ?? ''})`,
        {
          advice: `check mirror_keyring (${keyring}); a mirror you trust without signatures needs mirror_verify: false`,
        },
      );
    }
    return { text, signer: verdict };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parseDate(s: string | undefined): Date | null {
  if (!s) return null;
  const d = new Date(s.replace(/\bUTC\b/, 'GMT'));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function parseRelease(text: string, from: Release['from'], signedBy: string | null): Release {
  const [st] = parseDeb822Text(text);
  if (!st) throw new MirrorError(`${from} has no fields`);
  const sha256 = new Map<string, IndexFile>();
  for (const line of (field(st, 'SHA256') ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [sum, size, path] = parts as [string, string, string];
    if (/^[0-9a-f]{64}$/.test(sum) && /^\d+$/.test(size)) sha256.set(path, { sha256: sum, size: Number(size) });
  }
  return {
    suite: field(st, 'Suite') ?? '',
    codename: field(st, 'Codename') ?? '',
    date: parseDate(field(st, 'Date')),
    validUntil: parseDate(field(st, 'Valid-Until')),
    architectures: (field(st, 'Architectures') ?? '').split(/\s+/).filter(Boolean),
    components: (field(st, 'Components') ?? '').split(/\s+/).filter(Boolean),
    sha256,
    signedBy,
    from,
  };
}

/** Fetch, verify and parse dists/<suite>/InRelease (or Release + Release.gpg). */
export async function fetchRelease(mirror: Mirror, suite: string, opts: ReleaseOptions): Promise<{ release: Release; warnings: string[] }> {
  const warnings: string[] = [];
  const inRelease = await mirror.fetch(`dists/${suite}/InRelease`, MAX_RELEASE_BYTES);
  let release: Release;
  if (inRelease) {
    if (opts.verify) {
      const v = await verify(mirror, suite, opts.keyring, { inRelease });
      release = parseRelease(v.text, 'InRelease', v.signer);
    } else {
      release = parseRelease(unclearsign(inRelease.toString('utf8')), 'InRelease', null);
    }
  } else {
    const rel = await mirror.fetch(`dists/${suite}/Release`, MAX_RELEASE_BYTES);
    if (!rel) {
      throw new MirrorError(`${mirror.url(`dists/${suite}/`)} has neither InRelease nor Release`, {
        advice: `check the mirror URL and that suite "${suite}" exists there`,
      });
    }
    if (opts.verify) {
      const sig = await mirror.fetch(`dists/${suite}/Release.gpg`, 1024 * 1024);
      if (!sig) {
        throw new MirrorError(`${mirror.url(`dists/${suite}/Release`)} is not signed (no InRelease, no Release.gpg)`, {
          advice: 'use a signed mirror, or set mirror_verify: false if you trust this one',
        });
      }
      const v = await verify(mirror, suite, opts.keyring, { release: rel, sig });
      release = parseRelease(v.text, 'Release', v.signer);
    } else {
      release = parseRelease(rel.toString('utf8'), 'Release', null);
    }
  }
  if (!opts.verify) warnings.push(`dists/${suite}: signature not checked (mirror_verify: false)`);
  const now = opts.now ?? new Date();
  if (opts.verify && release.validUntil && release.validUntil < now) {
    throw new MirrorError(`${mirror.url(`dists/${suite}/${release.from}`)} expired on ${release.validUntil.toISOString()} (Valid-Until)`, {
      advice: 'the mirror is stale; update it or use another one',
    });
  }
  if (release.sha256.size === 0) throw new MirrorError(`${mirror.url(`dists/${suite}/${release.from}`)} lists no SHA256 checksums`);
  // a validly signed Release of another suite (an older stable, unstable...) put in this suite's place is refused
  if ((release.suite || release.codename) && suite !== release.suite && suite !== release.codename) {
    throw new MirrorError(
      `${mirror.url(`dists/${suite}/${release.from}`)} is the Release of suite "${release.suite}" (codename "${release.codename}"), not of "${suite}"`,
      {
        advice: 'the mirror serves another suite under this name: check the mirror, or name the suite as its Release does',
      },
    );
  }
  return { release, warnings };
}
