/**
 * What the notes pages (site/notes-pages.ts) read: the current results of
 * the packages that have notes, and the current FTBR and FTBFS, of one
 * suite/arch. Both are small next to its listing: a few thousand rows.
 */
import type { FarmDb } from './index.js';

export interface NotedRow {
  package: string;
  version: string;
  status: string | null;
}

/** Each current source of a suite with a note (of `only`, when given), with its result on an architecture (status null: untested). */
export function notedResults(db: FarmDb, suite: string, arch: string, only?: readonly string[]): NotedRow[] {
  const where = only ? 'WHERE n.package IN (SELECT value FROM json_each(?))' : '';
  return db.sql
    .prepare(
      `SELECT s.name AS package, COALESCE(r.version, s.version) AS version, r.status
      FROM notes n JOIN sources s ON s.suite = ? AND s.name = n.package AND s.removed_at IS NULL
      LEFT JOIN results r ON r.suite = s.suite AND r.arch = ? AND r.package = s.name
      ${where} ORDER BY s.name`,
    )
    .all(suite, arch, ...(only ? [JSON.stringify(only)] : [])) as NotedRow[];
}

export interface FailedRow {
  package: string;
  version: string;
  status: string;
  build_date: string;
}

/** A suite/arch's current FTBR and FTBFS results (of `only`, when given), by name. */
export function failedResults(db: FarmDb, suite: string, arch: string, only?: readonly string[]): FailedRow[] {
  const and = only ? 'AND r.package IN (SELECT value FROM json_each(?))' : '';
  return db.sql
    .prepare(
      `SELECT r.package, r.version, r.status, r.build_date
      FROM results r JOIN sources s ON s.suite = r.suite AND s.name = r.package AND s.removed_at IS NULL
      WHERE r.suite = ? AND r.arch = ? AND r.status IN ('FTBR', 'FTBFS') ${and} ORDER BY r.package`,
    )
    .all(suite, arch, ...(only ? [JSON.stringify(only)] : [])) as FailedRow[];
}

/** The packages whose notes name one of `issues`. */
export function packagesNaming(db: FarmDb, issues: readonly string[]): string[] {
  return db.sql
    .prepare('SELECT package FROM notes WHERE EXISTS (SELECT 1 FROM json_each(notes.issues) WHERE value IN (SELECT value FROM json_each(?))) ORDER BY package')
    .pluck()
    .all(JSON.stringify(issues)) as string[];
}
