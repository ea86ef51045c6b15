/**
 * The DB's side of the maintainer pages (site/maintainer-pages.ts): each
 * person's current sources with the source's version and its result on an
 * architecture, for everyone (a full render) or for the people a render's
 * changes touch (an incremental one).
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
  /** null when this architecture has no result yet */
  arch: string | null;
  status: string;
}

/**
 * One row per person and current source, with its result on `arch` (the join names the
 * architecture: results' key is suite, arch, package). `emails`: only these people.
 */
export function maintainerPackages(db: FarmDb, arch: string, emails?: readonly string[]): MaintainerPackageRow[] {
  const only = emails ? 'WHERE m.email IN (SELECT value FROM json_each(?))' : '';
  const args: unknown[] = emails ? [arch, JSON.stringify(emails)] : [arch];
  return db.sql
    .prepare(
      `SELECT m.email, m.name, m.role, m.suite, m.package, s.version, r.arch, COALESCE(r.status, 'untested') AS status
      FROM maintainers m
      JOIN sources s ON s.suite = m.suite AND s.name = m.package AND s.removed_at IS NULL
      LEFT JOIN results r ON r.suite = m.suite AND r.arch = ? AND r.package = m.package
      ${only} ORDER BY m.email, m.suite, m.package`,
    )
    .all(...args) as MaintainerPackageRow[];
}

/**
 * The people whose pages changes seq (from, to] touch: those whose rows changed (the change
 * log keeps the address of a row deleted) and those of every package changed.
 */
export function touchedMaintainers(db: FarmDb, from: number, to: number, packages: ReadonlyMap<string, readonly string[]>): string[] {
  const out = new Set(
    (db.sql.prepare('SELECT DISTINCT email FROM site_changes WHERE seq > ? AND seq <= ? AND email IS NOT NULL').all(from, to) as { email: string }[]).map(
      (r) => r.email,
    ),
  );
  const of = db.sql.prepare('SELECT DISTINCT email FROM maintainers WHERE suite = ? AND package IN (SELECT value FROM json_each(?))');
  for (const [suite, names] of packages) for (const r of of.all(suite, JSON.stringify(names)) as { email: string }[]) out.add(r.email);
  return [...out].sort();
}
