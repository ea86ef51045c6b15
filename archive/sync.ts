/**
 * `reprofarm sync`: per suite, fetch and verify the Release file, stream the
 * Sources index, then record sources, NFU/blacklisted statuses and the
 * schedule in one transaction. A suite that fails is reported and leaves the
 * DB as it was; the other suites still sync.
 */
import type { Config } from '../core/config.js';
import { createHash } from 'node:crypto';
import { applySources, noteReleaseSeen, refillSchedule, releaseSeen, syncState, type SuiteSyncSummary } from '../db/archive.js';
import type { FarmDb } from '../db/index.js';
import { appliesTo } from './arch.js';
import type { Deb822Problem } from './deb822.js';
import { MirrorError, openMirror } from './mirror.js';
import { fetchRelease } from './release.js';
import { chooseSourcesFile, readSources } from './sources.js';

export interface SuiteSyncResult {
  suite: string;
  ok: boolean;
  error: unknown;
  summary: SuiteSyncSummary | null;
  /** the first problems (at most MAX_PROBLEMS) */
  problems: Deb822Problem[];
  /** how many problems there were in all */
  problemCount: number;
  warnings: string[];
  file: string | null;
  bytes: number;
  /** the index had not changed since the last sync, so it was not read again */
  unchanged: boolean;
  durationMs: number;
}

export type SyncEvent = { type: 'suite-start'; suite: string } | { type: 'suite-done'; result: SuiteSyncResult };

export async function sync(
  config: Config,
  db: FarmDb,
  suites: readonly string[],
  opts: { now?: () => Date; onEvent?: (e: SyncEvent) => void } = {},
): Promise<SuiteSyncResult[]> {
  const mirror = openMirror(config.mirror);
  const results: SuiteSyncResult[] = [];
  for (const suite of suites.length > 0 ? suites : config.suites) {
    const t0 = performance.now();
    opts.onEvent?.({ type: 'suite-start', suite });
    const r: SuiteSyncResult = {
      suite,
      ok: false,
      error: null,
      summary: null,
      problems: [],
      problemCount: 0,
      warnings: [],
      file: null,
      bytes: 0,
      unchanged: false,
      durationMs: 0,
    };
    try {
      const { release, warnings } = await fetchRelease(mirror, suite, { verify: config.mirrorVerify, keyring: config.mirrorKeyring });
      r.warnings.push(...warnings);
      const seen = releaseSeen(db, suite);
      if (release.date && seen && seen.mirror === config.mirror && release.date.getTime() < Date.parse(seen.date)) {
        throw new MirrorError(
          `${mirror.url(`dists/${suite}/${release.from}`)} is dated ${release.date.toISOString()}, older than the Release of the last sync from this mirror (${seen.date}): the mirror went back in time, or serves an old signed Release again`,
          {
            advice: 'wait until the mirror is current again, or use another mirror (a new mirror URL starts afresh)',
          },
        );
      }
      const missing = config.architectures.filter((a) => release.architectures.length > 0 && !release.architectures.includes(a));
      if (missing.length > 0)
        r.warnings.push(`dists/${suite}: the Release file does not list ${missing.join(', ')} (it lists ${release.architectures.join(' ')})`);
      const chosen = chooseSourcesFile(suite, release);
      const settingsHash = createHash('sha256')
        .update(JSON.stringify([config.architectures, [...config.blacklist].sort()]))
        .digest('hex');
      const prev = syncState(db, suite);
      const now = opts.now?.() ?? new Date();
      r.file = chosen.file;
      if (prev && prev.sourcesFile === chosen.file && prev.sourcesSha256 === chosen.sha256 && prev.settingsHash === settingsHash) {
        // the signed Release file vouches for the same index as last time
        r.unchanged = true;
        r.summary = refillSchedule(db, suite, config.architectures, config.schedule, now);
      } else {
        const index = await readSources(mirror, suite, release, config.sync);
        r.problems = index.problems;
        r.problemCount = index.problemCount;
        r.bytes = index.bytes;
        r.summary = applySources(db, suite, config.architectures, index.entries, {
          now,
          blacklist: config.blacklist,
          policy: config.schedule,
          appliesTo,
          state: { sourcesFile: chosen.file, sourcesSha256: chosen.sha256, settingsHash },
        });
      }
      if (release.date) noteReleaseSeen(db, suite, config.mirror, release.date);
      r.ok = true;
    } catch (err) {
      r.error = err;
    }
    r.durationMs = performance.now() - t0;
    opts.onEvent?.({ type: 'suite-done', result: r });
    results.push(r);
  }
  return results;
}
