/**
 * The maintainers table: each current source's Maintainer and Uploaders
 * (archive/maintainers.ts parses them), written by sync inside its
 * transaction, read by the site's maintainer pages and by notify's filters.
 */
import type { MaintainerInput } from '../archive/maintainers.js';
import type { FarmDb } from './index.js';

export interface MaintainerRow {
  email: string;
  name: string;
  role: 'maintainer' | 'uploader';
}

/** A package's people as one comparable text: sync rewrites a package's rows only when it changed. */
function signature(people: readonly MaintainerRow[]): string {
  return people
    .map((p) => `${p.email}\0${p.name}\0${p.role}`)
    .sort()
    .join('\n');
}

/**
 * Make a suite's rows what the index says: a package whose people changed gets
 * its rows replaced, one that left the index loses them. Packages without
 * `maintainers` (a caller that did not parse them) keep theirs. Call inside
 * applySources' transaction.
 */
export function syncMaintainers(db: FarmDb, suite: string, entries: ReadonlyMap<string, { maintainers?: readonly MaintainerInput[] }>): void {
  const sql = db.sql;
  const old = new Map<string, MaintainerRow[]>();
  for (const r of sql.prepare('SELECT package, email, name, role FROM maintainers WHERE suite = ?').iterate(suite) as Iterable<
    MaintainerRow & { package: string }
  >) {
    let l = old.get(r.package);
    if (!l) old.set(r.package, (l = []));
    l.push({ email: r.email, name: r.name, role: r.role });
  }
  const drop = sql.prepare('DELETE FROM maintainers WHERE suite = ? AND package = ?');
  const insert = sql.prepare('INSERT INTO maintainers (suite, package, email, name, role) VALUES (?, ?, ?, ?, ?)');
  for (const [name, e] of entries) {
    if (!e.maintainers) continue;
    const was = old.get(name) ?? [];
    if (signature(was) === signature(e.maintainers)) continue;
    if (was.length > 0) drop.run(suite, name);
    for (const p of e.maintainers) insert.run(suite, name, p.email, p.name, p.role);
  }
  for (const name of old.keys()) if (!entries.has(name)) drop.run(suite, name);
}

/** A package's people in a suite: the maintainer first, then the uploaders by address. */
export function maintainersOf(db: FarmDb, suite: string, pkg: string): MaintainerRow[] {
  return db.sql
    .prepare("SELECT email, name, role FROM maintainers WHERE suite = ? AND package = ? ORDER BY role = 'uploader', email")
    .all(suite, pkg) as MaintainerRow[];
}

/** The current sources a person maintains or uploads, per suite, by name. */
export function packagesOf(db: FarmDb, email: string): { suite: string; package: string; version: string; role: MaintainerRow['role'] }[] {
  return db.sql
    .prepare(
      `SELECT m.suite, m.package, s.version, m.role FROM maintainers m
      JOIN sources s ON s.suite = m.suite AND s.name = m.package AND s.removed_at IS NULL
      WHERE m.email = ? ORDER BY m.suite, m.package`,
    )
    .all(email.toLowerCase()) as { suite: string; package: string; version: string; role: MaintainerRow['role'] }[];
}
