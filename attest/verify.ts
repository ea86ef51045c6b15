/**
 * reprofarm verify: an attestation's signature against the key it names
 * (valid when it was issued), and for a .deb its SHA256 among the subjects of
 * the attestation the site publishes for its source and version.
 */
import { execFile } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isValidSourceName, isValidVersion } from '../archive/version.js';
import { fileSha256 } from '../builder/compare.js';
import { AttestationError, checkSignature, parseEnvelope } from './dsse.js';
import { keyIdOf, parseKeyIndex, type KeyIndex } from './keys.js';
import { ATTESTATION_SITE_LAYOUT } from './site-layout.js';
import { parseStatement, type Statement } from './statement.js';

export interface Verified {
  statement: Statement;
  keyid: string;
  /** for a .deb: its SHA256 and the builds that made it */
  file?: { name: string; sha256: string; builds: number[] };
}

/** Where keys come from: one public key file (--key), or a site's keys/index.json. */
export type KeySource = { key: KeyObject } | { index: KeyIndex };

/** A file of the site: from a folder, or over http(s). Undefined when it is not there. */
export async function siteFile(site: string, rel: string): Promise<string | undefined> {
  if (/^https?:\/\//.test(site)) {
    // each segment encoded: a version's epoch colon and its plus signs reach the server as they are named
    const url = new URL(rel.split('/').map(encodeURIComponent).join('/'), site.endsWith('/') ? site : `${site}/`);
    const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (r.status === 404) return undefined;
    if (!r.ok) throw new AttestationError('not-found', `${rel} from ${site}: HTTP ${r.status}`);
    return await r.text();
  }
  try {
    return await readFile(join(site, rel), 'utf8');
  } catch {
    return undefined;
  }
}

export async function siteKeys(site: string): Promise<KeySource> {
  const text = await siteFile(site, ATTESTATION_SITE_LAYOUT.keyIndex);
  if (text === undefined) throw new AttestationError('unknown-key', `${site} publishes no ${ATTESTATION_SITE_LAYOUT.keyIndex}`);
  return { index: parseKeyIndex(text, `${site} ${ATTESTATION_SITE_LAYOUT.keyIndex}`) };
}

export function keyFromPem(pem: string, where: string): KeySource {
  try {
    return { key: createPublicKey(pem) };
  } catch {
    throw new AttestationError('malformed', `${where} is not a public key (PEM)`);
  }
}

/** One envelope (a line of .intoto.jsonl) checked: a signature by a key valid when the statement was issued. */
export function verifyEnvelope(line: string, keys: KeySource): Verified {
  const env = parseEnvelope(line);
  let bad = false;
  for (const s of env.signatures) {
    let key: KeyObject;
    let validity: { from: string; until: string | null } | undefined;
    if ('key' in keys) {
      if (s.keyid !== keyIdOf(keys.key)) continue;
      key = keys.key;
    } else {
      const e = keys.index.keys.find((k) => k.keyid === s.keyid);
      if (!e) continue;
      key = createPublicKey(e.public_key);
      validity = { from: e.valid_from, until: e.valid_until };
    }
    if (!checkSignature(env, s.sig, key)) {
      bad = true;
      continue;
    }
    const statement = parseStatement(Buffer.from(env.payload, 'base64'));
    const at = statement.predicate.issued_at;
    if (validity && (at < validity.from || (validity.until !== null && at > validity.until))) {
      throw new AttestationError('retired-key', `signed at ${at} by key ${s.keyid.slice(0, 16)}, valid from ${validity.from} until ${validity.until ?? 'now'}`);
    }
    return { statement, keyid: s.keyid };
  }
  if (bad) throw new AttestationError('bad-signature', 'the signature does not match the payload');
  throw new AttestationError('unknown-key', `signed by ${env.signatures.map((s) => s.keyid.slice(0, 16)).join(', ')}: not a key this check knows`);
}

/** The last line of an .intoto.jsonl that checks out (the newest attestation); else the last line's reason. */
export function verifyBundle(text: string, keys: KeySource, accept: (v: Verified) => boolean = () => true): Verified {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new AttestationError('malformed', 'the attestation file is empty');
  let last: unknown;
  for (const line of lines.reverse()) {
    try {
      const v = verifyEnvelope(line, keys);
      if (accept(v)) return v;
      last = new AttestationError('not-a-subject', 'the file is not a subject of the attestation');
    } catch (err) {
      last ??= err;
    }
  }
  throw last instanceof AttestationError ? last : new AttestationError('malformed', String(last));
}

/** A .deb's Package, Source, Version and Architecture, read by dpkg-deb (an argument array: no shell). */
export async function debFields(file: string): Promise<{ source: string; version: string; arch: string }> {
  let out: string;
  try {
    out = (await promisify(execFile)('dpkg-deb', ['--field', '--', file, 'Package', 'Source', 'Version', 'Architecture'], { maxBuffer: 1 << 16 })).stdout;
  } catch {
    throw new AttestationError('malformed', `${file} is not a .deb dpkg-deb can read`);
  }
  const f = new Map<string, string>();
  for (const m of out.matchAll(/^([A-Za-z-]+): (.*)$/gm)) f.set(m[1]!, m[2]!.trim());
  // Source: NAME (VERSION) when the source's version differs from the binary's
  const src = /^(\S+)(?: \((\S+)\))?$/.exec(f.get('Source') ?? f.get('Package') ?? '');
  const source = src?.[1] ?? '';
  const version = src?.[2] ?? f.get('Version') ?? '';
  if (!isValidSourceName(source) || !isValidVersion(version)) throw new AttestationError('malformed', `${file}: no valid Source and Version in its control`);
  return { source, version, arch: f.get('Architecture') ?? '' };
}

/** verify FILE.deb --site: its attestation found by source and version, in each suite given. */
export async function verifyDeb(file: string, site: string, suites: readonly string[], arches: readonly string[], keys?: KeySource): Promise<Verified> {
  const { sha256 } = await fileSha256(file);
  const { source, version, arch } = await debFields(file);
  const ks = keys ?? (await siteKeys(site));
  const name = file.slice(file.lastIndexOf('/') + 1);
  const archList = arch && arch !== 'all' ? [arch, ...arches.filter((a) => a !== arch)] : arches;
  let lastErr: AttestationError | undefined;
  for (const suite of suites) {
    for (const a of archList) {
      const text = await siteFile(site, ATTESTATION_SITE_LAYOUT.attestation(suite, a, source, version));
      if (text === undefined) continue;
      try {
        const v = verifyBundle(text, ks, (x) => x.statement.subject.some((s) => s.digest.sha256 === sha256));
        const builds = v.statement.predicate.builds.filter((b) => b.artifacts.some((x) => x.digest.sha256 === sha256)).map((b) => b.build);
        return { ...v, file: { name, sha256, builds } };
      } catch (err) {
        lastErr = err instanceof AttestationError ? err : new AttestationError('malformed', String(err));
      }
    }
  }
  if (lastErr) throw lastErr;
  throw new AttestationError('not-found', `${site} has no attestation of ${source} ${version} in ${suites.join(', ')} (${archList.join(', ')})`);
}
