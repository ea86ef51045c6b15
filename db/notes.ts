/**
 * The notes tables (migration 14): the last import of a reproducible-notes
 * checkout (notes/parse.ts validates it first). An import is one transaction
 * and writes only the rows that changed: their triggers mark the package
 * pages that show them, so a render after a small notes commit stays small.
 */
import { createHash } from 'node:crypto';
import type { NoteIssue, NotesCheckout, PackageNote } from '../notes/parse.js';
import type { FarmDb } from './index.js';

export interface NotesImport {
  packages: { added: number; changed: number; removed: number; total: number };
  issues: { added: number; changed: number; removed: number; total: number };
  /** sha256 of what was imported: the same checkout imports nothing */
  hash: string;
  unchanged: boolean;
}

export interface NotesState {
  source: string;
  imported_at: string;
  hash: string;
  /** sha256 of the files' bytes as imported ('' when not known) */
  files: string;
}

interface NoteRow {
  package: string;
  version: string | null;
  issues: string;
  bugs: string;
  comments: string | null;
}

function row(n: PackageNote): NoteRow {
  return { package: n.package, version: n.version, issues: JSON.stringify(n.issues), bugs: JSON.stringify(n.bugs), comments: n.comments };
}

const same = (a: NoteRow, b: NoteRow): boolean => a.version === b.version && a.issues === b.issues && a.bugs === b.bugs && a.comments === b.comments;

export function notesHash(notes: NotesCheckout): string {
  return createHash('sha256').update(JSON.stringify(notes)).digest('hex');
}

/** Make the tables what `notes` says, in one transaction; `source` (the checkout's folder) and `now` are recorded. */
export function importNotes(db: FarmDb, notes: NotesCheckout, source: string, now: string, files = ''): NotesImport {
  const hash = notesHash(notes);
  return db.sql.transaction((): NotesImport => {
    const before = notesState(db);
    const issues = syncIssues(db, notes.issues);
    const packages = syncPackages(db, notes.packages);
    // an issue's description shows on the pages of its packages; an issue appearing or going
    // changes which culprit verdicts link to one: those pages are rendered again
    if (issues.touched.length > 0) markIssuePages(db, issues.touched, issues.setChanged);
    const meta = db.sql.prepare('INSERT INTO notes_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    meta.run('source', source);
    meta.run('imported_at', now);
    meta.run('hash', hash);
    meta.run('files', files);
    return {
      packages: packages.counts,
      issues: issues.counts,
      hash,
      unchanged: before?.hash === hash,
    };
  })();
}

type Counts = NotesImport['packages'];

function syncPackages(db: FarmDb, notes: readonly PackageNote[]): { counts: Counts } {
  const sql = db.sql;
  const old = new Map((sql.prepare('SELECT package, version, issues, bugs, comments FROM notes').all() as NoteRow[]).map((r) => [r.package, r]));
  const upsert = sql.prepare(
    `INSERT INTO notes (package, version, issues, bugs, comments) VALUES (@package, @version, @issues, @bugs, @comments)
    ON CONFLICT (package) DO UPDATE SET version = excluded.version, issues = excluded.issues, bugs = excluded.bugs, comments = excluded.comments`,
  );
  const counts: Counts = { added: 0, changed: 0, removed: 0, total: notes.length };
  for (const n of notes) {
    const r = row(n);
    const was = old.get(n.package);
    old.delete(n.package);
    if (was && same(was, r)) continue;
    upsert.run(r);
    if (was) counts.changed++;
    else counts.added++;
  }
  const drop = sql.prepare('DELETE FROM notes WHERE package = ?');
  for (const name of old.keys()) drop.run(name);
  counts.removed = old.size;
  return { counts };
}

function syncIssues(db: FarmDb, issues: readonly NoteIssue[]): { counts: Counts; touched: string[]; setChanged: boolean } {
  const sql = db.sql;
  const old = new Map((sql.prepare('SELECT name, description, url FROM note_issues').all() as NoteIssue[]).map((r) => [r.name, r]));
  const upsert = sql.prepare(
    `INSERT INTO note_issues (name, description, url) VALUES (@name, @description, @url)
    ON CONFLICT (name) DO UPDATE SET description = excluded.description, url = excluded.url`,
  );
  const counts: Counts = { added: 0, changed: 0, removed: 0, total: issues.length };
  const touched: string[] = [];
  for (const i of issues) {
    const was = old.get(i.name);
    old.delete(i.name);
    if (was && was.description === i.description && was.url === i.url) continue;
    upsert.run({ name: i.name, description: i.description, url: i.url });
    touched.push(i.name);
    if (was) counts.changed++;
    else counts.added++;
  }
  const drop = sql.prepare('DELETE FROM note_issues WHERE name = ?');
  for (const name of old.keys()) {
    drop.run(name);
    touched.push(name);
  }
  counts.removed = old.size;
  return { counts, touched, setChanged: counts.added + counts.removed > 0 };
}

function markIssuePages(db: FarmDb, touched: readonly string[], setChanged: boolean): void {
  db.sql
    .prepare(
      `INSERT INTO site_changes (suite, arch, package)
      SELECT s.suite, NULL, s.name FROM notes n JOIN sources s ON s.name = n.package
      WHERE EXISTS (SELECT 1 FROM json_each(n.issues) j WHERE j.value IN (SELECT value FROM json_each(?)))`,
    )
    .run(JSON.stringify(touched));
  if (setChanged) db.sql.prepare('INSERT INTO site_changes (suite, arch, package) SELECT suite, arch, package FROM culprit_searches').run();
}

export function notesState(db: FarmDb): NotesState | null {
  const rows = db.sql.prepare('SELECT key, value FROM notes_meta').all() as { key: string; value: string }[];
  const m = new Map(rows.map((r) => [r.key, r.value]));
  const hash = m.get('hash');
  return hash === undefined ? null : { source: m.get('source') ?? '', imported_at: m.get('imported_at') ?? '', hash, files: m.get('files') ?? '' };
}

/** The files hash of the last import and what notes_dir's files were on disk when it last matched (notes/import.ts filesStat), or ''. */
export function notesFilesStat(db: FarmDb): string {
  return (db.sql.prepare("SELECT value FROM notes_meta WHERE key = 'files_stat'").pluck().get() as string | undefined) ?? '';
}

export function setNotesFilesStat(db: FarmDb, stat: string): void {
  db.sql.prepare("INSERT INTO notes_meta (key, value) VALUES ('files_stat', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(stat);
}

/** A package's note as pages show it. */
export interface NoteData {
  version: string | null;
  issues: string[];
  bugs: number[];
  comments: string | null;
}

function parseList<T>(text: string, ok: (x: unknown) => x is T): T[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter(ok) : [];
  } catch {
    return [];
  }
}

export function noteOf(r: NoteRow): NoteData {
  return {
    version: r.version,
    issues: parseList(r.issues, (x): x is string => typeof x === 'string'),
    bugs: parseList(r.bugs, (x): x is number => typeof x === 'number'),
    comments: r.comments,
  };
}

/** The notes of the named packages (a JSON array of names). */
export function notesOf(db: FarmDb, namesJson: string): Map<string, NoteData> {
  const rows = db.sql
    .prepare('SELECT package, version, issues, bugs, comments FROM notes WHERE package IN (SELECT value FROM json_each(?))')
    .all(namesJson) as NoteRow[];
  return new Map(rows.map((r) => [r.package, noteOf(r)]));
}

export function allNotes(db: FarmDb): Map<string, NoteData> {
  const rows = db.sql.prepare('SELECT package, version, issues, bugs, comments FROM notes ORDER BY package').all() as NoteRow[];
  return new Map(rows.map((r) => [r.package, noteOf(r)]));
}

export function allIssues(db: FarmDb): NoteIssue[] {
  return db.sql.prepare('SELECT name, description, url FROM note_issues ORDER BY name').all() as NoteIssue[];
}
