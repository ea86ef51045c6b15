/**
 * The DB's side of breakages.html (site/breakages.ts): rows that say
 * something is wrong. Each a bounded read: an index or a small table.
 */
import type { FarmDb } from './index.js';

export interface BrokenRow {
  suite: string;
  arch: string;
  package: string;
  version: string;
  /** what the row says: when, by whom */
  detail: string;
}

/** Claims older than `before` (ISO 8601): by the index of claimed entries. */
export function oldClaims(db: FarmDb, before: string): BrokenRow[] {
  return db.sql
    .prepare(
      `SELECT suite, arch, package, version, 'claimed by ' || COALESCE(claimed_by, '?') || ' at ' || claimed_at AS detail
      FROM schedule INDEXED BY schedule_claimed WHERE claimed_at IS NOT NULL AND claimed_at < ? ORDER BY claimed_at, suite, arch, package`,
    )
    .all(before) as BrokenRow[];
}

/**
 * Results on `arches` of sources that left their suite: by the index of removed sources, each
 * looked up by the results' key (the removed sources first: the results are hundreds of thousands).
 */
export function resultsOfRemoved(db: FarmDb, arches: readonly string[]): BrokenRow[] {
  return db.sql
    .prepare(
      `SELECT r.suite, r.arch, r.package, r.version, r.status || ', left the suite at ' || s.removed_at AS detail
      FROM sources s INDEXED BY sources_removed
      CROSS JOIN results r ON r.suite = s.suite AND r.arch IN (SELECT value FROM json_each(?)) AND r.package = s.name
      WHERE s.removed_at IS NOT NULL ORDER BY r.suite, r.arch, r.package`,
    )
    .all(JSON.stringify(arches)) as BrokenRow[];
}

/** Every node the DB knows, with its last good collection. */
export function nodeCollections(db: FarmDb): { name: string; last_collected_at: string | null; health: string }[] {
  return db.sql.prepare('SELECT name, last_collected_at, health FROM nodes ORDER BY name').all() as {
    name: string;
    last_collected_at: string | null;
    health: string;
  }[];
}

/** Which (suite, arch, package, version) entries a claim holds (a work order of one is in flight, not orphaned). */
export function claimedKeys(db: FarmDb): Set<string> {
  const rows = db.sql
    .prepare(
      `SELECT suite, arch, package, version FROM schedule INDEXED BY schedule_claimed WHERE claimed_at IS NOT NULL
      UNION SELECT suite, arch, package, version FROM culprit_searches INDEXED BY culprit_searches_claimed WHERE claimed_at IS NOT NULL`,
    )
    .all() as { suite: string; arch: string; package: string; version: string }[];
  return new Set(rows.map((r) => `${r.suite}/${r.arch}/${r.package}/${r.version}`));
}
