/**
 * The DB's side of the maintainer pages (site/maintainer-pages.ts): each
 * person's current sources with the source's version and its result on each
 * architecture, for everyone (a full render) or for the people a render's
 * changes touch (an incremental one).
 */
import type { FarmDb } from './index.js';
import type { MaintainerRow } from './maintainers.js';

export interface MaintainerSourceRow {
  email: string;
  name: string;
  role: MaintainerRow['role'];
  suite: string;
  package: string;
  version: string;
  /** the result's status on each architecture asked for, in that order (null: none yet) */
  statuses: (string | null)[];
}

/**
 * One row per person and current source of `suites`, ordered by person, with its status on each
 * of `arches` (one lookup each by the results' key), read one at a time: at Debian scale that
 * is hundreds of thousands of rows, and a page is written per person. `emails`: only these
 * people; `packages`: only these sources.
 */
export function* maintainerSources(
  db: FarmDb,
  suites: readonly string[],
  arches: readonly string[],
  emails?: readonly string[],
  packages?: readonly string[],
): Generator<MaintainerSourceRow> {
  const statusOf = arches.map(() => '(SELECT r.status FROM results r WHERE r.suite = m.suite AND r.arch = ? AND r.package = m.package)').join(', ');
  const only = `${emails ? 'AND m.email IN (SELECT value FROM json_each(?))' : ''} ${packages ? 'AND m.package IN (SELECT value FROM json_each(?))' : ''}`;
  const args: unknown[] = [...arches, JSON.stringify(suites), ...(emails ? [JSON.stringify(emails)] : []), ...(packages ? [JSON.stringify(packages)] : [])];
  const rows = db.sql
    .prepare(
      `SELECT m.email, m.name, m.role, m.suite, m.package, s.version${arches.length > 0 ? `, ${statusOf}` : ''}
      FROM maintainers m
      JOIN sources s ON s.suite = m.suite AND s.name = m.package AND s.removed_at IS NULL
      WHERE m.suite IN (SELECT value FROM json_each(?)) ${only}
      ORDER BY m.email, m.suite, m.package`,
    )
    .raw(true)
    .iterate(...args) as IterableIterator<unknown[]>;
  for (const r of rows) {
    const [email, name, role, suite, pkg, version, ...statuses] = r as [string, string, MaintainerRow['role'], string, string, string, ...(string | null)[]];
    yield { email, name, role, suite, package: pkg, version, statuses };
  }
}

/**
 * The people whose pages changes seq (from, to] touch: those whose rows changed (`rows`: the
 * change log keeps the address of a row deleted) and those of a package changed (`packages`).
 */
export function touchedMaintainers(
  db: FarmDb,
  from: number,
  to: number,
  packages: ReadonlyMap<string, readonly string[]>,
): { rows: Set<string>; packages: Set<string> } {
  const rows = new Set(
    (db.sql.prepare('SELECT DISTINCT email FROM site_changes WHERE seq > ? AND seq <= ? AND email IS NOT NULL').all(from, to) as { email: string }[]).map(
      (r) => r.email,
    ),
  );
  const of = db.sql.prepare('SELECT DISTINCT email FROM maintainers WHERE suite = ? AND package IN (SELECT value FROM json_each(?))');
  const byPackage = new Set<string>();
  for (const [suite, names] of packages) for (const r of of.all(suite, JSON.stringify(names)) as { email: string }[]) byPackage.add(r.email);
  return { rows, packages: byPackage };
}
