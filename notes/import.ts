/**
 * A notes checkout into the DB: read and validated whole (notes/parse.ts), then
 * imported in one transaction (db/notes.ts). Used by `notes import DIR` and by
 * each `site` render when notes_dir is set.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReprofarmError } from '../core/errors.js';
import type { FarmDb } from '../db/index.js';
import { importNotes, notesFilesStat, notesState, setNotesFilesStat, type NotesImport } from '../db/notes.js';
import { formatProblems, NOTES_FILES, readNotes, type NotesProblem } from './parse.js';

/** At most this many problems are listed; past them, a count. */
const MAX_LISTED = 50;

export class NotesError extends ReprofarmError {
  override name = 'NotesError';
  constructor(
    readonly dir: string,
    readonly problems: readonly NotesProblem[],
  ) {
    const listed = formatProblems(problems.slice(0, MAX_LISTED).map((p) => ({ ...p, file: `${dir}/${p.file}` })));
    const more = problems.length > MAX_LISTED ? `\n... and ${problems.length - MAX_LISTED} more` : '';
    super(`the notes in ${dir} are not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was imported:\n${listed}${more}`, {
      advice: 'fix these lines in the checkout and import again; the notes imported before stay as they were',
    });
  }
}

/** sha256 of the checkout's two files as they are on disk ('' when one cannot be read: the parse reports it). */
function filesHash(dir: string): string {
  const h = createHash('sha256');
  try {
    for (const f of NOTES_FILES) h.update(readFileSync(join(dir, f))).update('\0');
  } catch {
    return '';
  }
  return h.digest('hex');
}

/** Reads DIR and imports it; throws NotesError (and changes nothing) when any part of it is wrong. */
export function importNotesDir(db: FarmDb, dir: string, now: string = new Date().toISOString()): NotesImport {
  const abs = resolve(dir);
  // the bytes' hash before the read: a file changed meanwhile is imported again next time
  const files = filesHash(abs);
  const { notes, problems } = readNotes(abs);
  if (problems.length > 0) throw new NotesError(abs, problems);
  return importNotes(db, notes, abs, now, files);
}

/**
 * The files' device, inode, size, modification and change times, as git's index keeps them: a
 * write, a rename over or a checkout changes one (the change time cannot be set back); '' when
 * one cannot be read.
 */
function filesStat(dir: string): string {
  try {
    return NOTES_FILES.map((f) => {
      const s = statSync(join(dir, f), { bigint: true });
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    }).join(' ');
  } catch {
    return '';
  }
}

/**
 * importNotesDir, unless DIR's files have the bytes of the last import (then null): a site render
 * reads notes_dir every time, and Debian's packages.yml is megabytes of YAML. Files whose stat is
 * the one seen when their hash last matched are not read at all.
 */
export function importNotesDirIfChanged(db: FarmDb, dir: string): NotesImport | null {
  const abs = resolve(dir);
  // taken before the hash: a file changed in between has another stat next time, and is hashed again
  const stat = filesStat(abs);
  const last = notesState(db)?.files;
  // (with the hash it was seen with: an import of another folder since changed that)
  if (stat !== '' && last && notesFilesStat(db) === `${last} ${stat}`) return null;
  const files = filesHash(abs);
  const result = files !== '' && last === files ? null : importNotesDir(db, dir);
  const now = notesState(db)?.files;
  if (stat !== '' && now) setNotesFilesStat(db, `${now} ${stat}`);
  return result;
}
