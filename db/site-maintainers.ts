/**
 * The DB's side of the maintainer pages (site/maintainer-pages.ts): every
 * person of every current source, with the source's version and its result
 * on each architecture built, in one read.
 */
import type { FarmDb } from './index.js';
import type { MaintainerRow } from './maintainers.js';

export interface MaintainerPackageRow {
  email: string;
  name: string;
  role: MaintainerRow['role'];
  suite: string;
  package: string;
  version: string;
  /** null when no architecture has a result yet */
  arch: string | null;
  status: string;
}

/** One row per person, current source and architecture with a result (one with arch null when none has). */
export function maintainerPackages(db: FarmDb): MaintainerPackageRow[] {
  return db.sql
    .prepare(
      `SELECT m.email, m.name, m.role, m.suite, m.package, s.version, r.arch, COALESCE(r.status, 'untested') AS status
      FROM maintainers m
      JOIN sources s ON s.suite = m.suite AND s.name = m.package AND s.removed_at IS NULL
      LEFT JOIN results r ON r.suite = m.suite AND r.package = m.package
      ORDER BY m.email, m.suite, m.package, r.arch`,
    )
    .all() as MaintainerPackageRow[];
}
