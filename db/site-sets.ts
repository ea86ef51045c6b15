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
      `SELECT s.name AS name, COALESCE(r.version, s.version) AS version, COALESCE(r.status, 'untested') AS status
      FROM sources s
      LEFT JOIN results r ON r.suite = s.suite AND r.arch = ? AND r.package = s.name
      WHERE s.suite = ? AND s.removed_at IS NULL AND s.name IN (SELECT value FROM json_each(?))
      ORDER BY s.name`,
    )
    .all(arch, suite, JSON.stringify(names)) as SetMemberRow[];
}
