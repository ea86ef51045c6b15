/**
 * A pair whose builds finished but whose recording failed (the DB busy past
 * its timeout, the disk full) is not lost: its record is kept under
 * `<state_dir>/unrecorded/SUITE/ARCH/PKG/VERSION.json`, beside the fetched
 * results it names, and the next claim of that package version records it
 * instead of building again, once the results are checked to be unchanged.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { STATUSES } from '../core/statuses.js';
import type { Claim } from '../db/archive.js';
import type { PairRecord } from '../db/builds.js';
import { fileSha256 } from './compare.js';

interface KeptRecord {
  record: PairRecord;
  /** each result directory with the SHA256 of each of its files: the results must be as they were */
  dirs: Array<{ dir: string; files: Record<string, string> }>;
}

const keptFile = STATE_LAYOUT.unrecorded;

/** Keep a record that could not be written, with the results it stands on. False when it could not be kept either. */
export async function keepUnrecorded(
  stateDir: string,
  claim: Claim,
  record: PairRecord,
  dirs: ReadonlyArray<{ dir: string; fetched: ReadonlyMap<string, string> }>,
): Promise<boolean> {
  try {
    const kept: KeptRecord = { record, dirs: dirs.map((d) => ({ dir: d.dir, files: Object.fromEntries(d.fetched) })) };
    await writeFileAtomic(keptFile(stateDir, claim), `${JSON.stringify(kept)}\n`);
    return true;
  } catch {
    return false;
  }
}

/**
 * The kept record for this claim's package version, when there is one and its
 * results are still as they were; one that is not is removed.
 */
export async function takeUnrecorded(stateDir: string, claim: Claim): Promise<PairRecord | undefined> {
  const file = keptFile(stateDir, claim);
  let kept: KeptRecord;
  try {
    kept = JSON.parse(await readFile(file, 'utf8')) as KeptRecord;
  } catch {
    return undefined;
  }
  // hashed again, every file: the rare path, and the record must stand on exactly what was compared
  const intact = await Promise.all(
    (kept.dirs ?? []).map(async (d) => {
      try {
        const names = Object.keys(d.files ?? {});
        if (names.length === 0 || (await readdir(d.dir)).length !== names.length) return false;
        for (const name of names) if ((await fileSha256(join(d.dir, name))).sha256 !== d.files[name]) return false;
        return true;
      } catch {
        return false;
      }
    }),
  );
  const r = kept.record;
  if (!r || !(STATUSES as readonly string[]).includes(r.status) || !Array.isArray(r.runs) || intact.includes(false)) {
    await dropUnrecorded(stateDir, claim);
    return undefined;
  }
  return r;
}

export async function dropUnrecorded(stateDir: string, claim: Claim): Promise<void> {
  await rm(keptFile(stateDir, claim), { force: true });
}
