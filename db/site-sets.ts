/**
 * The DB's side of the package set pages (site/set-pages.ts): each current
 * source of one suite that a set names, with its version and status on one
 * architecture (untested when it has no result), in one read.
 */
import type { FarmDb } from './index.js';

export interface SetMemberRow {
  name: string;
  version: string;
  status: string;
}

/** The set's members in the suite; names not among its current sources are not returned. */
export function setMembers(db: FarmDb, suite: string, arch: string, names: readonly string[]): SetMemberRow[] {
  return db.sql
    .prepare(
      // driven by the names (a key lookup each): a set is small next to its suite
      `SELECT s.name AS name, COALESCE(r.version, s.version) AS version, COALESCE(r.status, 'untested') AS status
      FROM (SELECT DISTINCT value AS name FROM json_each(?)) j
      CROSS JOIN sources s ON s.suite = ? AND s.name = j.name AND s.removed_at IS NULL
      LEFT JOIN results r ON r.suite = s.suite AND r.arch = ? AND r.package = s.name
      ORDER BY s.name`,
    )
    .all(JSON.stringify(names), suite, arch) as SetMemberRow[];
}
