/**
 * What the site publishes for `reprofarm verify` (attest/site-layout.ts): each
 * package version's attestations as one .intoto.jsonl, and the farm's public
 * keys. Only public halves come from state_dir/keys: the private key is never
 * read here.
 */
import { readdirSync, statSync } from 'node:fs';
import { isValidVersion } from '../archive/version.js';
import { indexText, readKeyIndex } from '../attest/keys.js';
import { ATTESTATION_SITE_LAYOUT as L } from '../attest/site-layout.js';
import type { SiteWriter } from './writer.js';

/**
 * Write a package's attestation files, one per version; the href (from the site's root) of `current`'s.
 * Attestations are only ever added (db/attestations.ts), so a file of the same size holds the same lines
 * and is left as it is.
 */
export function publishAttestations(
  w: SiteWriter,
  suite: string,
  arch: string,
  pkg: string,
  byVersion: ReadonlyMap<string, readonly string[]> | undefined,
  current: string | null,
): string | null {
  let href: string | null = null;
  for (const [version, lines] of byVersion ?? []) {
    if (!isValidVersion(version) || lines.length === 0) continue;
    const rel = L.attestation(suite, arch, pkg, version);
    const text = `${lines.join('\n')}\n`;
    if (statSync(w.path(rel), { throwIfNoEntry: false })?.size !== Buffer.byteLength(text)) w.write(rel, text);
    if (version === current) href = [L.dir(suite, arch), encodeURIComponent(L.fileName(pkg, version))].join('/');
  }
  return href;
}

/** The package a file of an attestations folder belongs to (a source name has no `_`). */
function packageOfFile(f: string): string | undefined {
  const i = f.indexOf('_');
  return i > 0 && f.endsWith('.intoto.jsonl') ? f.slice(0, i) : undefined;
}

/** Remove the attestation files of packages for which `gone` says so (those that left the suite). */
export function removeAttestations(w: SiteWriter, suite: string, arch: string, gone: (pkg: string) => boolean): number {
  let files: string[];
  try {
    files = readdirSync(w.path(L.dir(suite, arch)));
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of files) {
    const pkg = packageOfFile(f);
    if (pkg !== undefined && gone(pkg) && w.remove(`${L.dir(suite, arch)}/${f}`)) n++;
  }
  return n;
}

/**
 * keys/index.json (every public key with its validity) and keys/reprofarm.pub (the current one), as
 * state_dir has them; none when the farm has no key. Whether the farm signs.
 */
export function publishKeys(w: SiteWriter, stateDir: string): boolean {
  const index = readKeyIndex(stateDir);
  const current = index?.keys.find((k) => k.valid_until === null);
  if (!index || !current) {
    w.remove(L.keyIndex);
    w.remove(L.publicKey);
    return false;
  }
  w.writeIfChanged(L.keyIndex, indexText(index));
  w.writeIfChanged(L.publicKey, current.public_key);
  return true;
}
